"""The speed benchmark in CI-sized mode: every part runs and reports; no timing is asserted."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ksent.train import bf16_runs

ROOT = Path(__file__).resolve().parents[1]


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
    np.savez(c, val=np.zeros(4), y_val=y[::-1], test=np.zeros(4), y_test=y)
    with pytest.raises(SystemExit, match="same validation and test rows"):
        members.ensemble_accuracy([a, c])


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


def test_members_train_a_syllable_member(nsmc_dir, hangul_root):
    """members.py --syllables prepares as ksent does for a syllable member and trains on those columns."""
    from ksent.config import Config
    from ksent.data import nsmc_path
    from ksent.features import FeatureSet

    data = hangul_root / "작은 NSMC"
    data.mkdir()
    for split, n in (("train", 1500), ("test", 300)):
        lines = nsmc_path(split, nsmc_dir).read_text(encoding="utf-8").splitlines(keepends=True)[: n + 1]
        (data / f"ratings_{split}.txt").write_text("".join(lines), encoding="utf-8")
    out = hangul_root / "실험"
    sets = ["epochs=2", "syllable_epochs=1", "hidden=8", "embed_dim=8", "syllable_max_len=40"]
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "members.py"), "train", "--name", "음절", "--syllables",
         "--data-dir", str(data), "--out", str(out), *(a for s in sets for a in ("--set", s))],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
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
    out = tmp_path / "증류.jsonl"
    small = "epochs=1,hidden=8,embed_dim=8,subword_vocab=500"
    args = ["--teacher", str(folder), "--limit", "8000", "--out", str(out)]  # the fixture's rows
    args += [
        "--variant",
        f"distill=0.5,augment=0,{small}",
        "--variant",
        f"distill=0.8,{small}",
    ]  # the preset: augment=1
    env = {**os.environ, "KSENT_DATA_DIR": str(nsmc_dir)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "distill.py"), *args], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["variant"].split(",")[0] for row in rows] == ["distill=0.5", "distill=0.8"]
    assert rows[0]["augmented_rows"] == 0 < rows[1]["augmented_rows"]
    assert all(0.5 < row["val_accuracy"] <= 1 and 0 < row["test_accuracy"] <= 1 for row in rows)
