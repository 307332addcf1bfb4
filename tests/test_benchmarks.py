"""The speed benchmark in CI-sized mode: every part runs and reports; no timing is asserted."""

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ksent
from ksent.data import nsmc_path, read_labelled
from ksent.train import bf16_runs

ROOT = Path(__file__).resolve().parents[1]


def evaluated(model: Path, data_dir: Path, limit: int) -> dict:
    """`ksent evaluate --json` of a model folder on the first `limit` NSMC test reviews: the package's own figures."""
    from typer.testing import CliRunner

    from ksent.cli import app

    args = ["evaluate", "-m", str(model), "--data-dir", str(data_dir), "--limit", str(limit)]
    r = CliRunner().invoke(app, [*args, "--json", "--device", "cpu", "--no-cache"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_speed_benchmark_smoke(nsmc_dir, hangul_root):
    out = hangul_root / "벤치마크" / "speed"
    env = {**os.environ, "KSENT_DATA_DIR": str(nsmc_dir)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--smoke", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    raw = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    rows, targets = raw["rows"], raw["targets"]
    sections = {x["section"] for x in rows}
    assert sections == {"tokenize", "preprocess", "train", "inference"}
    assert all(x["value"] > 0 for x in rows if x["unit"] in ("reviews/s", "s", "samples/s", "ms"))
    # issue #12's targets, each with its measured ratio and a verdict (met / not met / only reported)
    assert len(targets) == 6 and all(t["met"] in (True, False, None) and t["measured"] for t in targets)
    assert any("linear baseline" in t["target"] for t in targets)
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    # two tables: header + one row per measurement, header + one row per target
    assert table.count("\n| ") == len(rows) + 1 + len(targets) + 1


def test_members_combine_averages_logits(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import members

    y = np.array([1, 1, 0, 0])
    # each member gets one row wrong, a different one; their mean logit gets all four right
    a = tmp_path / "a.npz"
    b = tmp_path / "b.npz"
    c = tmp_path / "c.npz"
    np.savez(a, val=np.array([2.0, -1.0, -2.0, -2.0]), y_val=y, test=np.array([2.0, 2.0, 1.0, -2.0]), y_test=y)
    np.savez(b, val=np.array([-1.0, 2.0, -2.0, -2.0]), y_val=y, test=np.array([2.0, 2.0, -2.0, 1.0]), y_test=y)
    assert members.acc(np.load(a)["val"], y) == 0.75
    assert members.ensemble_accuracy([a, b]) == (1.0, 1.0)
    # "a+b" is one sub-ensemble, weighing as much as d: d (all wrong) outvotes it, not a and b apart
    d = tmp_path / "d.npz"
    np.savez(d, val=np.array([-0.7, -0.7, 0.7, 0.7]), y_val=y, test=np.array([-0.7, -0.7, 0.7, 0.7]), y_test=y)
    assert members.ensemble_accuracy([a, b, d]) == (1.0, 1.0)
    assert members.ensemble_accuracy([f"{a}+{b}", d]) == (0.5, 0.5)
    # where members agree: a and b each miss one validation row, a different one, and their mean wins both
    assert members.agreement([a, b], "val") == (
        "every member right 50.00%, every one wrong 0.00%, split 50.00% (the mean right on 2 of 2: 100.0%)"
    )
    e = tmp_path / "e.npz"  # wrong on test row 2 as a is, right elsewhere: row 2 is lost to every mix
    np.savez(e, val=np.array([1.0, 1.0, -1.0, -1.0]), y_val=y, test=np.array([1.0, 1.0, 1.0, -1.0]), y_test=y)
    assert members.agreement([a, e], "test") == "every member right 75.00%, every one wrong 25.00%, split 0.00%"
    assert members.agreement(
        [f"{a}+{b}", e], "test"
    ) == (  # a+b is one member, right on all four rows; e outvotes it on row 2
        "every member right 75.00%, every one wrong 0.00%, split 25.00% (the mean right on 0 of 1: 0.0%)"
    )
    np.savez(c, val=np.zeros(4), y_val=y[::-1], test=np.zeros(4), y_test=y)
    with pytest.raises(SystemExit, match="same validation and test rows"):
        members.ensemble_accuracy([a, c])


def test_members_combine_fits_weights_on_validation_rows_only(tmp_path, capsys, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import members

    rng = np.random.default_rng(0)
    y_val, y_test = rng.integers(0, 2, 600), rng.integers(0, 2, 600)
    good, loud = tmp_path / "좋은.npz", tmp_path / "시끄러운.npz"  # one member knows, the other is loud noise
    meta = json.dumps({"train_seconds": 1.0, "epoch_seconds": [1.0]})
    np.savez(good, val=2.0 * (2 * y_val - 1) + rng.normal(0, 1.5, 600), y_val=y_val,
             test=2.0 * (2 * y_test - 1) + rng.normal(0, 1.5, 600), y_test=y_test, meta=meta)  # fmt: skip
    np.savez(loud, val=rng.normal(0, 6, 600), y_val=y_val, test=rng.normal(0, 6, 600), y_test=y_test, meta=meta)
    weighted = members.fitted_logits([good, loud])
    report = weighted.pop("report")
    assert report["chosen"] == "fitted" and abs(report["fitted_weights"][1]) < 0.05 < report["fitted_weights"][0]
    mean = members.mean_logits([good, loud])
    assert members.acc(weighted["test"], y_test) > members.acc(mean["test"], y_test) + 0.05
    monkeypatch.setattr(sys, "argv", ["members.py", "combine", str(good), str(loud), "--fitted"])
    members.main()
    out = capsys.readouterr().out
    assert "fitted weights               fitted (validation out of fold: fitted 0.9" in out
    assert "as fitted vs the mean        test +" in out
    # against another ensemble, each weighed by its own fitted weights: the same two members compare equal
    argv = ["members.py", "combine", str(good), str(loud), "--fitted", "--against", f"{loud}+{good}"]
    monkeypatch.setattr(sys, "argv", argv)
    members.main()
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("as fitted vs those fitted"))
    assert "test +0.00 points" in line and "only these right 0, only those 0" in line


def test_members_table_groups_seeds_and_compares_with_the_first_group(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import members

    y = np.array([1, 1, 0, 0])
    right, one_wrong = np.array([1.0, 1.0, -1.0, -1.0]), np.array([-1.0, 1.0, -1.0, -1.0])

    def run(name: str, seed: int, val: np.ndarray, test: np.ndarray) -> Path:
        meta = {"config": {"seed": seed}, "parameters": 10, "train_seconds": 2.0 * seed}
        np.savez(tmp_path / f"{name}-s{seed}.npz", val=val, y_val=y, test=test, y_test=y, meta=json.dumps(meta))
        return tmp_path / f"{name}-s{seed}.npz"

    files = [run("기준", 1, right, right), run("기준", 2, right, one_wrong), run("ab-x", 1, one_wrong, one_wrong)]
    members.table(argparse.Namespace(files=files))
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert [r[:4] for r in rows] == [["| 기준", "1, 2", "10", "3"], ["| ab-x", "1", "10", "2"]]
    assert rows[0][4:] == ["1.0000 ± 0.0000", "+0.00", "0.8750 ± 0.1250", "+0.00 |"]
    assert rows[1][4:] == ["0.7500 ± 0.0000", "-25.00", "0.7500 ± 0.0000", "-12.50 |"]


def test_members_grid_tries_every_mix_of_the_first_k_of_each_group(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import members

    y = np.array([1, 1, 0, 0])

    def member(name: str, val: list[float], seconds: float) -> str:
        meta = {"train_seconds": seconds}
        v = np.array(val)
        np.savez(tmp_path / f"{name}.npz", val=v, y_val=y, test=v, y_test=y, meta=json.dumps(meta))
        return str(tmp_path / f"{name}.npz")

    # t1 misses row 1, t2 row 0; together right. s1 is all wrong, and weighs 3 votes' worth
    t1, t2 = member("t1", [2, -1, -2, -2], 10), member("t2", [-1, 2, -2, -2], 20)
    s1, extra = member("s1", [-3, -3, 3, 3], 5), member("선형", [1, 1, -1, -1], 1)
    members.grid(argparse.Namespace(group=[["tok", t1, t2], ["syl", s1]], extra=extra))
    rows = [line.strip("| ").split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert len(rows) == 5 * 3  # (3 × 2 − 1) mixes, each alone, with the extra, with it as half the vote
    by_name = {r[0]: r[1:] for r in rows}
    assert by_name["tok ×2"] == ["2", "30", "1.0000", "1.0000"]
    assert by_name["tok ×2 + syl ×1"] == ["3", "35", "0.5000", "0.5000"]  # s1 outvotes them on rows 0, 1
    assert by_name["tok ×1 + 선형 (half the vote)"] == ["2", "11", "1.0000", "1.0000"]
    assert "syl ×1 + tok ×1" not in by_name and "tok ×1 + syl ×1" in by_name  # groups in the order given
    vals = [float(r[3]) for r in rows]
    assert vals == sorted(vals, reverse=True)  # sorted by validation accuracy


@pytest.fixture(scope="module")
def small_nsmc(nsmc_dir, hangul_root) -> Path:
    """The first 1,500 train and 300 test rows of NSMC, as a data folder."""
    data = hangul_root / "작은 NSMC"
    data.mkdir(exist_ok=True)
    for split, n in (("train", 1500), ("test", 300)):
        lines = nsmc_path(split, nsmc_dir).read_text(encoding="utf-8").splitlines(keepends=True)[: n + 1]
        (data / f"ratings_{split}.txt").write_text("".join(lines), encoding="utf-8")
    return data


def members_py(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "members.py"), *args], capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_members_train_a_syllable_member(small_nsmc, hangul_root):
    """members.py --syllables prepares as ksent does for a syllable member and trains on those columns."""
    from ksent.config import Config
    from ksent.features import FeatureSet

    data = small_nsmc
    out = hangul_root / "실험"
    sets = ["epochs=2", "syllable_epochs=1", "hidden=8", "embed_dim=8", "syllable_max_len=40"]
    r = members_py("train", "--name", "음절", "--syllables", "--data-dir", str(data), "--out", str(out),
                   *(a for s in sets for a in ("--set", s)))  # fmt: skip
    run = np.load(out / "음절.npz")
    meta = json.loads(str(run["meta"]))
    cfg = Config.from_dict(meta["config"])
    assert cfg.syllable_members == 1 and cfg.piece_members == 0  # prepared as a model with one syllable member
    # the member read the syllable block's columns of the feature set, whatever else it holds
    columns = FeatureSet.from_config(cfg).columns("syllables")
    assert meta["member"] == {"reads": "syllables", "columns": [columns.start, columns.stop],
                              "vocab_size": meta["member"]["vocab_size"], "epochs": 1}  # fmt: skip
    assert columns.stop - columns.start == 40 and len(meta["epoch_seconds"]) == 1  # its block's width and epochs
    assert len(run["test"]) == 300 and len(run["val"]) == len(run["y_val"]) > 0
    assert json.loads(r.stdout.splitlines()[-1])["name"] == "음절"  # stdout: the result line


def test_members_a_jamo_member_and_the_linear_baseline_on_the_members_split(small_nsmc, hangul_root):
    """A view's member (jamo) and the linear baseline as a member: the same validation rows as a token
    member's, so that `combine` can average them and compare ensembles row by row."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from baseline import linear_pipeline

    from ksent.classifier import SentimentClassifier
    from ksent.config import resolve
    from ksent.train import split

    out = hangul_root / "자모 실험"
    tiny = ("--set", "epochs=1", "--set", "hidden=8", "--set", "embed_dim=8")
    common = ("--data-dir", str(small_nsmc), "--out", str(out))
    members_py("train", "--name", "토큰", *tiny, *common)
    members_py("train", "--name", "자모", "--reads", "jamo", *tiny, "--set", 'views={"jamo": {"max_len": 50}}', *common)
    members_py("linear", "--name", "선형", *common)
    tok, jamo, lin = (np.load(out / f"{n}.npz") for n in ("토큰", "자모", "선형"))
    assert (
        json.loads(str(jamo["meta"]))["member"]["columns"][1] - json.loads(str(jamo["meta"]))["member"]["columns"][0]
        == 50
    )
    for run in (tok, jamo, lin):
        assert len(run["suite"]) == len(behaviour_texts())  # each member's logits on the behavioural suite
    for run in (jamo, lin):
        np.testing.assert_array_equal(run["y_val"], tok["y_val"])
        np.testing.assert_array_equal(run["y_test"], tok["y_test"])
    # the linear member is the baseline pipeline fitted on the members' training rows, its logit saved
    clf = SentimentClassifier(resolve("best", ["members=1", "syllable_members=0", "views={}"]), device="cpu")
    x, y, _, rows = clf._fit_rows(read_labelled(small_nsmc / "ratings_train.txt"))
    n_train, n_val = split(len(x), 0.1)
    pipe = linear_pipeline().fit(rows.texts[:n_train], y[:n_train])
    np.testing.assert_allclose(lin["val"], pipe.decision_function(rows.texts[n_train:]), rtol=1e-5, atol=1e-5)
    assert len(lin["val"]) == n_val and len(lin["test"]) == 300
    # --words 2: the same over the word 1-2-grams of the config's tokens (the `words` view's n-grams)
    members_py("linear", "--name", "단어", "--words", "2", *common)
    words = np.load(out / "단어.npz")
    assert json.loads(str(words["meta"]))["member"]["reads"].startswith("linear (word 1-2-gram")
    np.testing.assert_array_equal(words["y_val"], tok["y_val"])
    assert not np.allclose(words["val"], lin["val"], atol=1e-3)  # another view, other logits
    # --analyzer char --ngrams 2 5: the baseline's pipeline over n-grams across the spaces between words
    members_py("linear", "--name", "문자", "--analyzer", "char", "--ngrams", "2", "5", *common)
    chars = np.load(out / "문자.npz")
    assert json.loads(str(chars["meta"]))["member"]["reads"].startswith("linear (char 2-5-gram")
    across = linear_pipeline(analyzer="char", ngrams=(2, 5)).fit(rows.texts[:n_train], y[:n_train])
    np.testing.assert_allclose(chars["val"], across.decision_function(rows.texts[n_train:]), rtol=1e-5, atol=1e-5)

    r = members_py(
        "combine", f"{out / '토큰.npz'}+{out / '자모.npz'}", str(out / "선형.npz"), "--against", str(out / "토큰.npz")
    )
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["토큰", "자모", "선형"] and lines[3].startswith("mean of 2")
    assert lines[4].startswith("agreement val") and lines[5].startswith("agreement test")  # 2 members: tok+jamo, linear
    assert all("every member right" in line and "every one wrong" in line for line in lines[4:6])
    assert lines[6].startswith("behaviour") and "double negation" in lines[6]  # the mean's suite, per category
    assert "val" in lines[7] and "test" in lines[8] and all("McNemar p = " in line for line in lines[7:9])


def test_inference_benchmark_times_models_and_the_baseline_side_by_side(trained, nsmc_dir):
    _, folder = trained
    env = {**os.environ, "KSENT_DATA_DIR": str(nsmc_dir)}
    args = [str(folder), str(folder), "--baseline", "--rounds", "1", "--limit", "300", "--parts"]
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "inference.py"), *args], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    whole, parts = r.stdout.split("\nParts, median of 1 rounds")
    rows = [line for line in whole.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    assert len(rows) == 3 and rows[-1].startswith("| linear baseline | char 1-4-gram TF-IDF + LR")
    assert all(row.count("|") == 8 and "`default` (kiwi) | 1 tokens |" in row for row in rows[:2])
    assert "300 test reviews, 1 rounds" in r.stdout
    split = [line for line in parts.splitlines() if line.startswith(f"| `{folder}`")]
    assert len(split) == 2  # the ksent models only: the baseline has no parts
    for row in split:
        prepare, fp32, bf16, flips = (cell.strip() for cell in row.split("|")[2:6])
        assert prepare.endswith(" s)") and fp32.endswith(" s)")
        if bf16_runs("cpu"):
            assert bf16.endswith(" s)") and 0 <= int(flips) <= 300
        else:  # oneDNN cannot run an LSTM under bfloat16 autocast here (AVX2-only CPUs)
            assert bf16 == "— (this CPU cannot)" and flips == "—"


def test_inference_benchmark_counts_members_by_the_block_they_read():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import inference

    from ksent.config import Config
    from ksent.features import FeatureSet

    clf = argparse.Namespace(features_=FeatureSet.from_config(Config(members=2, syllable_members=1, piece_members=1)))
    assert inference.members(clf) == "2 tokens + 1 syllables + 1 pieces"


def test_distill_benchmark_trains_each_variant_with_one_teacher(trained, nsmc_dir, tmp_path):
    _, folder = trained
    out, kept = tmp_path / "증류.jsonl", tmp_path / "학생"
    small = "epochs=1,hidden=8,embed_dim=8,subword_vocab=500"
    args = ["--teacher", str(folder), "--limit", "8000", "--out", str(out), "--save", str(kept)]  # the fixture's rows
    args += [
        "--variant",
        f"distill=0.5,augment=0,{small}",
        "--variant",
        f"distill=0.8,augment=1,{small}",
    ]
    env = {**os.environ, "KSENT_DATA_DIR": str(nsmc_dir)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "distill.py"), *args], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["variant"].split(",")[0] for row in rows] == ["distill=0.5", "distill=0.8"]
    assert rows[0]["augmented_rows"] == 0 < rows[1]["augmented_rows"]
    for k, row in enumerate(rows, 1):
        assert row["saved"] == str(kept / f"variant-{k}")
        metrics = json.loads((kept / f"variant-{k}" / "metrics.json").read_text(encoding="utf-8"))
        assert row["val_accuracy"] == metrics["training"]["best_val_accuracy"] > 0.5  # chance is ~0.5
        assert round(row["val_accuracy"], 4) == max(row["val_by_epoch"])  # the kept epoch is the best one
        # the figure is what ksent's own evaluate gives for the kept student on the same rows
        assert row["test_accuracy"] == evaluated(kept / f"variant-{k}", nsmc_dir, 8000)["accuracy"]


def test_answer_memory_benchmark_answers_the_copies_a_student_would(trained, nsmc_dir):
    """answer_memory.py: the first N copies a student of seed 42 makes, answered by the teacher in chunks;
    the answers are the model's own, and the peak is the process's."""
    from ksent.data import clean_training
    from ksent.distill import perturbed_rounds

    _, folder = trained
    r = bench("answer_memory.py", "--teacher", str(folder), "--copies", "300", "--chunk", "128", nsmc_dir=nsmc_dir)
    row = json.loads(r.stdout.strip().splitlines()[-1])
    assert row["copies"] == 300 and row["chunk"] == 128 and row["peak_mib"] >= row["peak_mib_before"] > 0
    texts = clean_training(read_labelled(nsmc_path("train", nsmc_dir)), clean=False)[0].texts
    copies = perturbed_rounds(texts, 1, seed=42)[0][:300]
    p = ksent.load(folder, device="cpu").predict_proba(copies)[:, 1]
    assert row["mean_p"] == pytest.approx(float(p.mean()), abs=2e-6)


def test_answer_speed_benchmark_gives_the_same_ids_and_answers_both_ways(nsmc_dir, tmp_path):
    """answer_speed.py: a born-again member's copies and training rows answered the way before and the
    shared way, and each n-gram block encoded by the general path and by its one pass; the script itself
    refuses ids that differ, and the answers agree."""
    from ksent import SentimentClassifier
    from ksent.config import Config

    cfg = Config(epochs=1, views={"chargrams": {"members": 1}, "words": {"members": 1}})
    train = read_labelled(nsmc_path("train", nsmc_dir)).head(1500)
    folder = SentimentClassifier(cfg, device="cpu").fit_labelled(train).save(tmp_path / "교사")
    r = bench("answer_speed.py", "--teacher", str(folder), "--copies", "300", "--rows", "200", nsmc_dir=nsmc_dir)
    row = json.loads(r.stdout.strip().splitlines()[-1])
    assert row["copies"] == 300 and row["rows"] == 200 and row["members"] == 3
    assert row["max_answer_difference"] < 1e-5
    assert row["copies_speedup"] > 0 and row["rows_speedup"] > 0
    assert set(row["ngram_blocks"]) == {"chargrams", "words"}  # each timed both ways, the same ids


# -- the scripts behind the headline figures, each in its small mode: real output, checked against the package --


def bench(script: str, *args: str, nsmc_dir: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """benchmarks/SCRIPT run as a user runs it (its own process), NSMC from the shared copy."""
    env = {**os.environ, "KSENT_DATA_DIR": str(nsmc_dir)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def check_behaviour(res: dict, predicted: list[int] | None = None) -> None:
    """A behavioural result is the suite's: every category, rates that agree with the failures listed,
    and (given the labels a model predicts for the suite's reviews) exactly that model's failures."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import behaviour

    suite = behaviour.load()
    assert res["n"] == len(suite) == 540  # 54 per category
    categories = {r["category"] for r in suite}
    assert set(res["pass_rate"]) == categories | {"overall"}
    for c in categories:
        total = sum(r["category"] == c for r in suite)
        failed = sum(f["category"] == c for f in res["failures"])
        assert res["pass_rate"][c] == (total - failed) / total, c
    assert res["pass_rate"]["overall"] == (len(suite) - len(res["failures"])) / len(suite)
    assert all((f["p_positive"] >= 0.5) != (f["label"] == 1) for f in res["failures"])  # each one is a miss
    if predicted is not None:
        missed = [r["text"] for r, p in zip(suite, predicted, strict=True) if p != r["label"]]
        assert [f["text"] for f in res["failures"]] == missed


def test_accuracy_benchmark_smoke(nsmc_dir, hangul_root):
    import ksent
    from ksent.metrics import classification_report
    from ksent.models.inference import evaluate_logits, p_positive

    out, n = hangul_root / "정확도", 1000
    sets = ["epochs=1", "hidden=8", "embed_dim=8", "syllable_members=1", "syllable_max_len=40"]
    sets += ["born_again=1", "augment=1"]  # a third member, taught by the first two
    bench("accuracy.py", "--config", "default", "--limit", str(n), "--out", str(out),
          *(a for s in sets for a in ("--set", s)), nsmc_dir=nsmc_dir)  # fmt: skip
    summary = json.loads((out / "benchmark.json").read_text(encoding="utf-8"))
    (run,) = summary["runs"]
    # the test figures are what ksent's own evaluate gives for the saved model on the same rows
    package = evaluated(out, nsmc_dir, n)
    assert run["test_n"] == package["n"] == n
    assert (run["test_accuracy"], run["roc_auc"]) == (package["accuracy"], package["roc_auc"])
    assert summary["test_accuracy_mean"] == run["test_accuracy"] and summary["test_accuracy_std"] == 0
    clf = ksent.load(out, device="cpu")
    assert clf.metrics_["test"]["accuracy"] == run["test_accuracy"]  # recorded in the folder too
    assert run["parameters"] == sum(p.numel() for p in clf.model_.parameters())
    assert run["model_bytes"] == sum(
        (out / f).stat().st_size for f in ("model.safetensors", "vocab.json", "config.json")
    )
    assert run["train_kept"] == clf.metrics_["data"]["kept"] and run["epochs_run"] == run["best_epoch"] == 1
    # each member alone: what it answers for the test rows through its own columns of the model's ids
    test = read_labelled(nsmc_path("test", nsmc_dir)).head(n)
    x = clf.encode(test.texts)
    members = [(m["reads"], m["seed"], m["born_again"]) for m in run["members"]]
    assert members == [("tokens", 42, False), ("syllables", 43, False), ("tokens", 42, True)]
    for m, net in zip(run["members"], clf.model_.members(), strict=True):
        assert m["test_accuracy"] == classification_report(test.labels, p_positive(evaluate_logits(net, x)))["accuracy"]
    # the model before its born-again member, on the same rows; saved alone by members.py, it is that model
    first = members_py("before-born-again", str(out), "--out", str(hangul_root / "정확도-처음"))
    assert "the first 2 members" in first.stdout
    before = ksent.load(hangul_root / "정확도-처음", device="cpu")
    assert before.config_.born_again == 0 and len(before.model_.members()) == 2
    p_before = before.predict_proba(test.texts)[:, 1]
    assert run["before_born_again"]["test_accuracy"] == classification_report(test.labels, p_before)["accuracy"]
    vs = run["before_born_again"]["after_minus_before"]
    assert vs["accuracy_a"] == run["test_accuracy"] and vs["accuracy_b"] == run["before_born_again"]["test_accuracy"]
    check_behaviour(run["behaviour"], list(clf.predict(behaviour_texts())))
    base = summary["baseline"]
    (tn, fp), (fn, tp) = base["test"]["confusion_matrix"]
    assert base["test"]["n"] == tn + fp + fn + tp == n and base["test"]["accuracy"] == (tn + tp) / n
    check_behaviour(base["behaviour"])
    # the paired comparison is of these two models' answers on the same test rows
    vs = run["vs_baseline"]
    assert vs["n"] == n and vs["accuracy_a"] == run["test_accuracy"] and vs["accuracy_b"] == base["test"]["accuracy"]
    assert vs["a_minus_b"] == pytest.approx((vs["only_a_right"] - vs["only_b_right"]) / n * 100)
    assert vs["ci95"][0] <= vs["a_minus_b"] <= vs["ci95"][1] and 0 <= vs["mcnemar_p"] <= 1


def behaviour_texts() -> list[str]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import behaviour

    return [r["text"] for r in behaviour.load()]


def test_bundle_benchmark_smoke(trained, nsmc_dir, hangul_root):
    from safetensors import safe_open

    from ksent.classifier import BUNDLED

    _, folder = trained
    from ksent.exported import BUNDLED_EXPORT

    shipped = {(p.parent.name, p.name): p.read_bytes() for p in [*BUNDLED.iterdir(), *BUNDLED_EXPORT.iterdir()]}
    out, n = hangul_root / "번들", 300
    r = bench("bundle.py", str(folder), "--out", str(out), "--limit", str(n), nsmc_dir=nsmc_dir)
    res = json.loads(r.stdout)
    now = {(p.parent.name, p.name): p.read_bytes() for p in [*BUNDLED.iterdir(), *BUNDLED_EXPORT.iterdir()]}
    assert now == shipped  # --out: the package's folders untouched
    assert res["test_n"] == n and res["out"] == str(out)
    assert res["test_accuracy_float32"] == evaluated(folder, nsmc_dir, n)["accuracy"]
    half = evaluated(out, nsmc_dir, n)  # the float16 folder, as users load it
    assert (res["test_accuracy_float16"], res["roc_auc_float16"]) == (half["accuracy"], half["roc_auc"])
    assert res["sample_first_2000_accuracy_float16"] == half["accuracy"]  # 300 rows: the sample is all of them
    assert res["bytes"] == {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    with safe_open(out / "model.safetensors", "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["test"]["data"] == f"ratings_test.txt (the first {n} reviews)" and metrics["test"]["n"] == n
    assert metrics["test"]["weights"] == "float16" and metrics["test"]["accuracy"] == half["accuracy"]
    assert metrics["data"]["train_file"] == "ratings_train.txt"  # the name only, not this machine's path
    # and its export beside it, which answers as the float16 folder does (the package's is left alone)
    from ksent.exported import ExportedClassifier

    assert res["export"] == str(out.with_name("번들_onnx")) and (BUNDLED_EXPORT / "model.onnx").is_file()
    assert evaluated(Path(res["export"]), nsmc_dir, n)["accuracy"] == half["accuracy"]
    assert ExportedClassifier(Path(res["export"]), int8=True).int8


def test_the_behaviour_suite_is_big_enough_to_compare_and_none_of_it_is_nsmc(nsmc_dir):
    """Issue #23: at least 50 hand-written reviews per category, both labels in each, none of them an
    NSMC review (compared without whitespace: a model must not have trained on the suite)."""
    import re

    import behaviour

    suite = behaviour.load()
    per = {c: [r["label"] for r in suite if r["category"] == c] for c in dict.fromkeys(r["category"] for r in suite)}
    assert len(per) == 10 and all(len(labels) >= 50 and 0.4 <= np.mean(labels) <= 0.6 for labels in per.values())
    squeeze = re.compile(r"\s+")
    texts = [squeeze.sub("", r["text"]) for r in suite]
    assert len(set(texts)) == len(texts)  # no review twice
    nsmc = set()
    for part in ("train", "test"):
        nsmc.update(squeeze.sub("", t) for t in read_labelled(nsmc_path(part, nsmc_dir)).texts)
    assert [r["text"] for r, t in zip(suite, texts, strict=True) if t in nsmc] == []


def test_behaviour_benchmark_smoke(trained, nsmc_dir, hangul_root):
    import ksent

    _, folder = trained
    out = hangul_root / "행동" / "behaviour.json"
    r = bench("behaviour.py", "--model", str(folder), "--out", str(out), nsmc_dir=nsmc_dir)
    (res,) = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(r.stdout) == [res] and res["model"] == str(folder)
    clf = ksent.load(folder, device="cpu")
    check_behaviour(res, list(clf.predict(behaviour_texts())))
    p = dict(zip(behaviour_texts(), clf.predict_proba(behaviour_texts())[:, 1], strict=True))
    assert all(f["p_positive"] == round(float(p[f["text"]]), 4) for f in res["failures"])


def test_load_benchmark_smoke(nsmc_dir, hangul_root):
    out = hangul_root / "부하.json"
    bench("load.py", "--smoke", "--out", str(out), nsmc_dir=nsmc_dir)
    res = json.loads(out.read_text(encoding="utf-8"))
    single, batch = res["single"], res["batch"]
    assert res["model"] == "bundled" and single["clients"] == 2 and batch["clients"] == 1 and batch["batch_size"] == 16
    for phase, per_request in ((single, 1), (batch, 16)):
        assert phase["requests"] > 0 and phase["errors"] == 0
        assert phase["reviews"] == per_request * phase["requests"]  # every request answered in full
        assert phase["p50_ms"] <= phase["p95_ms"] <= phase["p99_ms"] <= phase["max_ms"]
    assert single["reviews_per_s"] == single["requests_per_s"]
    in_process = res["in_process_predict_proba"]
    assert in_process["main_thread"]["batches"] >= 1 and in_process["worker_thread"]["batches"] >= 1
    best = max(in_process[k]["reviews_per_s"] for k in ("main_thread", "worker_thread"))
    assert res["batch_vs_in_process"] == round(batch["reviews_per_s"] / best, 3)
    # the server answers as predict_proba does in a process of its own
    assert res["answers"]["reviews"] == 16 and res["answers"]["labels_differ"] == 0
    assert res["answers"]["max_abs_diff_p_positive"] < 1e-5


def test_scale_benchmark_smoke(nsmc_dir, hangul_root):
    import pyarrow.parquet as pq

    import ksent

    out, rows = hangul_root / "규모", 1500
    r = bench("scale.py", "stream", "--rows", str(rows), "--out", str(out), nsmc_dir=nsmc_dir)
    res = json.loads((out / "stream.json").read_text(encoding="utf-8"))
    assert json.loads(r.stdout) == res and res["rows"] == rows and res["model"] == "bundled"
    run = res["runs"]["one_process"]
    assert run["rows_per_s"] == round(rows / run["seconds"]) and "--file" in run["command"]
    # the input: NSMC's reviews in file order, numbered; the scores: the bundled model's, row by row
    source = read_labelled(out / f"nsmc-x{rows}.tsv")
    assert source.texts == read_labelled(nsmc_path("train", nsmc_dir)).head(rows).texts
    scores = pq.read_table(out / f"scores-x{rows}.parquet")
    assert scores.column("id").to_pylist() == [str(i) for i in range(rows)]  # TSV columns stay text
    p = ksent.load(device="cpu").predict_proba(source.texts)[:, 1]
    np.testing.assert_allclose(scores.column("pred_p_positive").to_numpy(), p, atol=1e-6)


def test_scale_compare_finds_rows_out_of_place(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import scale

    def table(ids, p):
        return pa.table({"id": pa.array(ids, pa.int64()), "pred_p_positive": pa.array(p, pa.float64())})

    pq.write_table(table([0, 1, 2, 3], [0.1, 0.2, 0.3, 0.4]), tmp_path / "local.parquet")
    (tmp_path / "ray").mkdir()  # two files, the second batch's rows swapped, one score off by 0.05
    pq.write_table(table([0, 1], [0.1, 0.2]), tmp_path / "ray" / "a.parquet")
    pq.write_table(table([3, 2], [0.4, 0.35]), tmp_path / "ray" / "b.parquet")
    got = scale.compare(tmp_path / "local.parquet", tmp_path / "ray")
    assert got == {
        "same_rows": True,
        "same_order": False,
        "rows_out_of_place": 2,
        "max_abs_diff_by_id": got["max_abs_diff_by_id"],
    }
    assert got["max_abs_diff_by_id"] == pytest.approx(0.05)


def test_ray_order_benchmark_smoke(nsmc_dir, hangul_root):
    pytest.importorskip("ray", reason="ray_order.py needs Ray: pip install 'ksent[ray]'")
    out, rows = hangul_root / "레이 순서", 5000
    args = ["--rows", str(rows), "--runs", "1", "--busy", "0.01", "--batch-size", "500", "--sink", "ksent"]
    r = bench("ray_order.py", *args, "--out", str(out), nsmc_dir=nsmc_dir)
    res = json.loads((out / "ray_order.json").read_text(encoding="utf-8"))
    assert res["rows"] == rows and res["sink"] == "ksent" and len(res["runs"]) == 1
    # every row written once, in id order: ksent's Parquet sink keeps the order Ray Data hands it (docs/scale.md)
    assert res["runs"] == [{"rows_written": rows, "out_of_place": 0}]
    assert "run 1: 0 rows out of place" in r.stdout.splitlines()


def test_onnx_export_benchmark_smoke(nsmc_dir, hangul_root):
    pytest.importorskip("onnxruntime")
    from ksent.classifier import BUNDLED

    out = hangul_root / "내보내기 벤치" / "export"
    bench("onnx_export.py", "--smoke", "--out", str(out), nsmc_dir=nsmc_dir)
    res = json.loads(out.with_name("export.json").read_text(encoding="utf-8"))
    assert res["n"] == 2000 and res["max_abs_diff_float32"] < 1e-5 and 0 <= res["int8_flips"] < 20
    torch_acc = evaluated(BUNDLED, nsmc_dir, 2000)["accuracy"]  # the package's own figure on the same rows
    assert res["accuracy"]["torch"] == torch_acc == res["accuracy"]["onnx float32"]
    assert abs(res["accuracy"]["onnx int8"] - torch_acc) <= res["int8_flips"] / 2000 + 1e-9
    assert set(res["reviews_per_s"]) == {"torch", "onnx float32", "onnx int8", "linear baseline"}
    assert res["model_mb"]["onnx int8"] < res["model_mb"]["onnx float32"] and set(res["cold_s"]) == {
        "torch",
        "onnx float32",
    }


def test_onnx_export_kinds_smoke(nsmc_dir, hangul_root):
    pytest.importorskip("onnxruntime")
    out = hangul_root / "종류별 내보내기"
    r = bench("onnx_export.py", "--kinds", "fast,default", "--kind-rows", "600", "--smoke", "--out", str(out),
              nsmc_dir=nsmc_dir)  # fmt: skip
    res = json.loads((out / "kinds.json").read_text(encoding="utf-8"))
    assert {k: res[k]["members"] for k in ("fast", "default")} == {"fast": 1, "default": 1}
    assert all(res[k]["max_abs_diff"] < 1e-5 and res[k]["flips"] == 0 for k in ("fast", "default"))
    assert "| default | 1 |" in r.stdout


@pytest.mark.skipif(not os.environ.get("KSENT_RUNTIME_PYTHON"), reason="needs a runtime install (.ci/run makes one)")
def test_runtime_benchmark_smoke(nsmc_dir, hangul_root):
    """runtime.py on installs that exist (--reuse): the runtime one of .ci/run and this one for training."""
    work = hangul_root / "설치들"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "bare")], check=True)
    runtime = Path(os.environ["KSENT_RUNTIME_PYTHON"]).parents[1]
    for name, target in (("core", runtime), ("runtime", runtime), ("train", Path(sys.prefix))):
        (work / name).symlink_to(target, target_is_directory=True)
    r = bench("runtime.py", "--work", str(work), "--reuse", "--smoke", "--clients", "2", nsmc_dir=nsmc_dir)
    res = json.loads((work / "runtime.json").read_text(encoding="utf-8"))
    assert res["venv_mb"]["core"] > res["venv_mb"]["bare"] > 0 and set(res["cold_s"]) == {"runtime", "train"}
    assert all(run["errors"] == 0 and run["requests"] > 0 for runs in res["serve"].values() for run in runs)
    assert "| runtime: pip install ksent |" in r.stdout


def test_soak_benchmark_smoke(nsmc_dir, hangul_root):
    out = hangul_root / "오래 부하.json"
    bench("soak.py", "--smoke", "--out", str(out), nsmc_dir=nsmc_dir)
    res = json.loads(out.read_text(encoding="utf-8"))
    soak, burst = res["soak"], res["burst"]
    assert res["model"] == "bundled" and res["max_queue"] == 4 and soak["clients"] == 2
    assert soak["requests"] > 0 and soak["errors"] == 0 and soak["statuses"] == {"200": soak["requests"]}
    assert sum(soak["by_kind"].values()) == soak["requests"] and all(soak["by_kind"].values())
    assert soak["rss_mb"]["after_warmup"] > 50 and soak["rss_mb"]["max"] >= soak["rss_mb"]["last"]
    # the burst: 4 x the queue, every request answered (200, or 503 with Retry-After), none lost or hung
    assert burst["requests"] == 16 and burst["answered"] == 16 and burst["lost"] == burst["hung"] == 0
    refused = burst["statuses"].get("503", 0)
    assert burst["refused_with_retry_after"] == burst["refused_overloaded"] == refused


def test_members_unpack_saves_each_member_of_a_model_on_its_validation_rows(small_nsmc, hangul_root):
    """`unpack` splits a trained ensemble into member files: their mean logit is the model's on the
    test reviews, and the validation rows are the ones the model held out (its labels, in order)."""
    from ksent.classifier import SentimentClassifier
    from ksent.config import resolve
    from ksent.models.inference import evaluate_logits
    from ksent.train import split

    over = ["hidden=8", "embed_dim=8", "epochs=1", "members=2", "syllable_members=1", "syllable_epochs=1"]
    over += ["piece_members=0", "bf16=false", "views={}", "born_again=0", "distill=0", "augment=0", "combine=mean"]
    rows = read_labelled(small_nsmc / "ratings_train.txt")
    clf = SentimentClassifier(resolve("best", over), device="cpu").fit_labelled(rows)
    model_dir = clf.save(hangul_root / "풀 모델")
    out = hangul_root / "풀린 멤버"
    members_py("unpack", str(model_dir), "--name", "풀", "--out", str(out), "--data-dir", str(small_nsmc))
    files = [out / f"풀-{name}.npz" for name in ("tokens0", "tokens1", "syllables0")]
    parts = [np.load(f) for f in files]
    test = read_labelled(small_nsmc / "ratings_test.txt")
    whole = evaluate_logits(clf.model_, clf.encode(test.texts))
    np.testing.assert_allclose(np.mean([p["test"] for p in parts], axis=0), whole, atol=1e-5)
    x, y, _ = clf.prepare(rows)
    n_train, n_val = split(len(x), clf.config_.val_split)
    for p in parts:
        np.testing.assert_array_equal(p["y_val"], y[n_train:])
        assert len(p["val"]) == n_val and len(p["suite"]) == len(behaviour_texts())
    seeds = [json.loads(str(p["meta"]))["member"]["seed"] for p in parts]
    assert seeds == [42, 43, 44]
    # the token members differ: each file holds its own member, not the ensemble's mean
    assert not np.allclose(parts[0]["test"], parts[1]["test"])


def test_an_interrupted_accuracy_run_resumes_where_it_stopped(nsmc_dir, hangul_root, monkeypatch, capsys):
    """accuracy.py cut off in seed 43 keeps seed 42 and the baseline in benchmark.json; a rerun without
    --resume is refused before any work; --resume keeps seed 42 as it was (also when cut off again) and
    continues seed 43 from its last checkpointed epoch, then completes the file."""
    from ksent.checkpoint import Slot

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import accuracy

    monkeypatch.setenv("KSENT_DATA_DIR", str(nsmc_dir))
    out = hangul_root / "정확도-재개"
    sets = [a for s in ["epochs=3", "patience=9", "hidden=8", "embed_dim=8"] for a in ("--set", s)]
    command = ["accuracy.py", "--config", "default", "--limit", "600", "--seeds", "42,43", "--out", str(out), *sets]

    class Stopped(Exception):
        pass

    def run(*more: str, stop_at: int | None = None, kill: bool = False) -> None:
        """accuracy.py with these arguments; with `stop_at`, it dies once seed 43 has saved that epoch
        (`kill`: by SIGTERM, as `kill` or a job scheduler stops it)."""
        real = Slot.save

        def save(self, at, *args, **kwargs):
            real(self, at, *args, **kwargs)
            if "seed-43" in self.root.name and at == stop_at:
                if kill:
                    os.kill(os.getpid(), signal.SIGTERM)
                raise Stopped

        with monkeypatch.context() as m:
            m.setattr(Slot, "save", save)
            m.setattr(sys, "argv", [*command, *more])
            accuracy.main()

    def written() -> dict:
        return json.loads((out / "benchmark.json").read_text(encoding="utf-8"))

    with pytest.raises(Stopped):
        run(stop_at=1)
    cut = written()
    assert cut["complete"] is False and [r["seed"] for r in cut["runs"]] == [42]
    assert cut["baseline"]["test"]["n"] == 600 and not (out / "seed-43").exists()
    assert (out / ".seed-43.checkpoint" / "member-1.epoch-1").exists()
    kept = (out / "seed-42" / "model.safetensors").stat().st_mtime_ns

    with pytest.raises(SystemExit, match="holds an interrupted run"):  # forgot --resume: refused, nothing lost
        run()
    assert written() == cut and (out / ".seed-43.checkpoint" / "member-1.epoch-1").exists()
    with pytest.raises(SystemExit):
        run("--resume", "--restart")
    assert "choose one" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", [*command[: -len(sets)], "--set", "epochs=4", *sets[2:], "--resume"])
    with pytest.raises(SystemExit, match="from another command"):  # another command's file is not mixed in
        accuracy.main()

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):  # killed, one epoch further: seed 42 is still there
        run("--resume", stop_at=2, kill=True)
    assert signal.getsignal(signal.SIGTERM) is before  # accuracy.py's handler is gone with it
    assert "keeps the finished epochs; the same command with --resume continues" in capsys.readouterr().err
    again = written()
    assert again["complete"] is False and again["runs"] == cut["runs"]
    run("--resume")
    err = capsys.readouterr().err
    assert "seed 42: kept from" in err and "resuming from the checkpoint" in err
    done = written()
    assert done["complete"] is True and [r["seed"] for r in done["runs"]] == [42, 43]
    assert done["runs"][0] == cut["runs"][0]  # seed 42 as it was, its folder untouched
    assert (out / "seed-42" / "model.safetensors").stat().st_mtime_ns == kept
    resumed = done["runs"][1]
    assert resumed["resumed"].startswith("after epoch 2") and "resumed" not in done["runs"][0]
    assert resumed["preprocess_seconds"] is None  # this process did not prepare what the first one did
    assert not (out / ".seed-43.checkpoint").exists()  # removed once the run is in benchmark.json
    metrics = json.loads((out / "seed-43" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["training"]["resumed_after_epoch"] == 2 and resumed["epochs_run"] == 3
    assert resumed["test_accuracy"] == evaluated(out / "seed-43", nsmc_dir, 600)["accuracy"]
    mean = (resumed["test_accuracy"] + cut["runs"][0]["test_accuracy"]) / 2
    assert done["test_accuracy_mean"] == pytest.approx(mean)
    run("--resume")  # a finished run: nothing to do, the file as it was
    assert written() == done and "finished already" in capsys.readouterr().err
