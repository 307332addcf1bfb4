"""`ksent export` and the torch-free runtime: every kind of model answers as it did on torch, the
runtime never imports torch, and a damaged export is refused with one line."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import ksent
from ksent.cli import app
from ksent.config import Config, resolve
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError
from ksent.export import export
from ksent.exported import ExportedClassifier

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
runner = CliRunner()
EDGE = ["", "!!!", "ㅋㅋㅋ", "👍 최고", "10점 만점에 1점. 연기는 좋았지만 스토리가 너무 지루했다"]
TINY = ["epochs=1", "hidden=8", "embed_dim=8"]
KINDS = {  # every kind of model ksent trains, small: what each reads and how its LSTM runs differ
    "seed": ("seed", []),  # Okt tokens, pre-padded, unpacked, the last state
    "default": ("default", []),  # Kiwi tokens, the same network
    "best": (  # an ensemble: bidirectional two-layer packed members over tokens, syllables, pieces and
        "best",  # jamo, and linear members over character n-grams and word n-grams
        ["members=1", "syllable_members=1", "syllable_epochs=1", "piece_members=1", "num_layers=2", "combine=mean"]
        + ["born_again=0", "distill=0", "augment=0"]
        + [
            'views={"jamo": {"members": 1, "max_len": 120, "epochs": 1}, "chargrams": {"members": 1}, '
            '"words": {"members": 1}}'
        ],
    ),
    "fast": ("fast", ["subword_vocab=800"]),  # one packed LSTM over subword pieces, max + mean pooled
    "weighted": (  # `best`'s kind of model: weights, a born-again member, a linear view that only taught it
        "best",
        ["members=2", "syllable_members=0", "piece_members=0", "combine=fitted", "augment=1"]
        + ['views={"words": {"votes": false}}'],
    ),
}
WEIGHTS = ([0.8, -0.3, 0.5], 0.25)  # the weighted kind's, whatever its fit chose: the graph must carry them


@pytest.fixture(scope="module")
def reviews(nsmc_dir):
    return read_labelled(nsmc_path("test", nsmc_dir)).texts[:300] + EDGE


@pytest.fixture(scope="module")
def models(nsmc_dir, tmp_path_factory):
    """kind -> (trained classifier, its export folder)."""
    train = read_labelled(nsmc_path("train", nsmc_dir)).head(800)
    root = tmp_path_factory.mktemp("내보내기")
    out = {}
    for kind, (preset, over) in KINDS.items():
        if kind == "seed":
            pytest.importorskip("konlpy")
        clf = ksent.SentimentClassifier(resolve(preset, TINY + over), device="cpu").fit_labelled(train)
        if kind == "weighted":
            clf.model_.set_weights(*WEIGHTS)
        clf.save(root / f"{kind} 모델")
        out[kind] = (clf, export(root / f"{kind} 모델", root / f"{kind} 내보냄", int8=True))
    return out


@pytest.mark.parametrize("kind", list(KINDS))
def test_export_answers_as_torch_does(models, reviews, kind):
    clf, folder = models[kind]
    ex = ksent.load(folder)
    assert isinstance(ex, ExportedClassifier)
    torch_p = clf.predict_proba(reviews)[:, 1]
    np.testing.assert_allclose(ex.predict_proba(reviews)[:, 1], torch_p, rtol=0, atol=1e-5)
    assert [r.n_tokens for r in ex.predict_records(reviews)] == [r.n_tokens for r in clf.predict_records(reviews)]
    assert ex(EDGE[-1])[0]["label"] == clf(EDGE[-1])[0]["label"]
    q = ExportedClassifier(folder, int8=True)
    assert (folder / "model.int8.onnx").stat().st_size < (folder / "model.onnx").stat().st_size
    assert np.abs(q.predict_proba(reviews)[:, 1] - torch_p).max() < 0.05  # int8: close, not equal


def test_bundled_model_exports_and_answers_the_same(reviews, tmp_path):
    out = tmp_path / "번들"
    r = runner.invoke(app, ["export", "--out", str(out), "--int8"])
    assert r.exit_code == 0, r.output
    assert "model.onnx" in r.output and "model.int8.onnx" in r.output
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert meta["format"] == "ksent-export" and meta["source"] == "bundled" and len(meta["members"]) == 1
    torch_p = ksent.load(device="cpu").predict_proba(reviews)[:, 1]
    np.testing.assert_allclose(ksent.load(out).predict_proba(reviews)[:, 1], torch_p, rtol=0, atol=1e-5)


def test_an_export_of_format_1_still_loads(models, reviews, tmp_path):
    """Format 1 kept learnt subword models as JSON objects; format 2 keeps the tokenizer's own text
    (a cold start skips re-encoding it). Both answer alike."""
    clf, folder = models["fast"]
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    assert isinstance(vocab["features"][0]["subword"], str)  # format 2
    old = tmp_path / "형식 1"
    shutil.copytree(folder, old)
    (old / "vocab.json").write_text(json.dumps({"features": clf.features_.state()}), encoding="utf-8")
    meta = json.loads((old / "config.json").read_text(encoding="utf-8"))
    (old / "config.json").write_text(json.dumps({**meta, "format_version": 1}), encoding="utf-8")
    assert isinstance(json.loads((old / "vocab.json").read_text())["features"][0]["subword"], dict)
    np.testing.assert_array_equal(ksent.load(old).predict_proba(reviews), ksent.load(folder).predict_proba(reviews))


@pytest.mark.parametrize("kind", list(KINDS))
def test_explain_on_an_export_equals_explain_on_torch(models, reviews, kind):
    """The export's weights, stepped in numpy, give torch's explanation: every gate, cell and hidden
    state, the head's contributions, P(positive) and each token's evidence (to 1e-5)."""
    from ksent.explain import SIGNALS

    clf, folder = models[kind]
    ex, shown = ksent.load(folder), 0
    for text in reviews[:25] + EDGE[1:]:
        try:
            want = clf.explain(text)
        except KsentError as refused:  # no token reaches the model: the export says the same
            with pytest.raises(KsentError, match="nothing to explain") as too:
                ex.explain(text)
            assert str(too.value) == str(refused)
            continue
        got, shown = ex.explain(text), shown + 1
        for name in (*SIGNALS, "features", "contributions"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=1e-5, err_msg=name)
        assert [(t.text, t.status, t.step) for t in got.tokens] == [(t.text, t.status, t.step) for t in want.tokens]
        np.testing.assert_allclose([t.evidence for t in got.fed], [t.evidence for t in want.fed], atol=1e-5)
        assert abs(got.p_positive - want.p_positive) <= 1e-5 and abs(got.member_logit - want.member_logit) <= 1e-5
        assert got.member_weight == pytest.approx(want.member_weight) and got.n_members == want.n_members
    assert shown >= 20
    # the trace is nn.LSTM's own computation, not only the same numpy code run twice
    import torch

    net = clf.model_.members()[0]
    review = clf.encode([reviews[0]])
    review = review if net.columns is None else review[:, net.columns]
    got = ex.explain(reviews[0])
    with torch.no_grad():
        out, _ = net.lstm(net.embed(torch.from_numpy(review[:, : got.cell.shape[2]])))
    top = np.concatenate(list(got.hidden[-1]), axis=-1)  # (T, D*H)
    np.testing.assert_allclose(top, out[0].numpy(), atol=1e-5)
    for k, net in enumerate(clf.model_.members()[1:], 1):  # the other members, per their own units
        if not hasattr(net, "lstm"):  # a linear member: no gates, said alike on both
            with pytest.raises(KsentError, match=f"member {k} is a linear model .* no gates"):
                ex.explain(reviews[0], member=k)
            continue
        want, got = clf.explain(reviews[0], member=k), ex.explain(reviews[0], member=k)
        assert got.reads == want.reads == net.reads and len(got.fed) > 1
        assert net.reads != "tokens" or kind == "weighted"  # `best`'s other members read other units
        assert got.member_weight == pytest.approx(want.member_weight) == clf.model_.member_weights()[k]
        assert [(t.text, t.start, t.step) for t in got.fed] == [(t.text, t.start, t.step) for t in want.fed]
        for name in (*SIGNALS, "contributions"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=1e-5, err_msg=name)
        np.testing.assert_allclose([t.evidence for t in got.fed], [t.evidence for t in want.fed], atol=1e-5)


def _without_torch(args: list[str], cwd) -> subprocess.CompletedProcess:
    """Run a Python command where `import torch` fails, as on an install without it."""
    block = cwd / "torch 없음"
    block.mkdir(exist_ok=True)
    (block / "sitecustomize.py").write_text(  # found by no finder, as where it is not installed
        "import importlib.abc, sys\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoTorch())\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(block)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_the_runtime_never_imports_torch(models, tmp_path):
    clf, folder = models["fast"]
    code = (
        "import sys, ksent\n"
        f"clf = ksent.load({str(folder)!r})\n"
        "print(clf.predict(['연기도 좋고 스토리도 최고', '시간이 아깝다']).tolist(), 'torch' in sys.modules)\n"
    )
    r = _without_torch(["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{clf.predict(['연기도 좋고 스토리도 최고', '시간이 아깝다']).tolist()} False"
    texts = tmp_path / "리뷰.txt"
    texts.write_text("연기도 좋고 스토리도 최고\n시간이 아깝다\n", encoding="utf-8")
    r = _without_torch(["-m", "ksent", "predict", "--model", str(folder), "--file", str(texts), "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    got = [json.loads(line)["p_positive"] for line in r.stdout.splitlines()]
    np.testing.assert_allclose(
        got, clf.predict_proba(texts.read_text(encoding="utf-8").split("\n")[:2])[:, 1], atol=1e-5
    )
    (tmp_path / "torch 없음" / "onnxruntime.py").write_text(
        "raise ImportError('no onnxruntime here')\n", encoding="utf-8"
    )
    r = _without_torch(["-m", "ksent", "predict", "--model", str(folder), "좋다"], tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == (
        f"error: {folder} is an export: running it needs onnxruntime, which ksent installs: pip install onnxruntime"
    )
    r = _without_torch(["-m", "ksent", "predict", "--model", str(tmp_path / "없는 모델"), "좋다"], tmp_path)
    assert r.returncode == 2 and "model folder not found" in r.stderr
    r = _without_torch(["-m", "ksent", "predict", "--model", str(folder.parent / "fast 모델"), "좋다"], tmp_path)
    assert r.returncode == 2 and "is a model folder (ksent train): it runs on torch, which is not installed" in r.stderr
    r = _without_torch(["-m", "ksent", "export", "--out", str(tmp_path / "x")], tmp_path)
    assert r.returncode == 2 and "ksent export needs torch" in r.stderr and "Traceback" not in r.stderr


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Exit code and stderr of `ksent ARGS`, run as the console script runs it."""
    from ksent.cli import main

    monkeypatch.setattr(sys, "argv", ["ksent", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, capsys.readouterr().err


def _damaged(folder, tmp_path, name):
    copy = tmp_path / name
    shutil.copytree(folder, copy)
    return copy


def test_damaged_exports_are_refused_with_one_line(models, tmp_path, monkeypatch, capsys):
    _, folder = models["fast"]
    _, other = models["default"]
    cases = []
    newer = _damaged(folder, tmp_path, "새 형식")
    meta = json.loads((newer / "config.json").read_text(encoding="utf-8"))
    (newer / "config.json").write_text(json.dumps({**meta, "format_version": 99}), encoding="utf-8")
    cases.append((newer, "is export format 99; this ksent reads 1, 2"))
    truncated = _damaged(folder, tmp_path, "잘린 그래프")
    data = (truncated / "model.onnx").read_bytes()
    (truncated / "model.onnx").write_bytes(data[: len(data) // 2])
    cases.append((truncated, "model.onnx cannot be loaded"))
    swapped = _damaged(folder, tmp_path, "다른 어휘")
    shutil.copy(other / "vocab.json", swapped / "vocab.json")
    cases.append((swapped, "vocab.json has no subword model"))  # another kind of model's vocabulary
    cases.append((tmp_path / "없는 폴더", "folder not found"))  # (ksent.load cannot tell it was to be an export)
    no_graph = _damaged(folder, tmp_path, "그래프 없음")
    (no_graph / "model.onnx").unlink()
    cases.append((no_graph, "model.onnx cannot be loaded"))
    for path, message in cases:
        with pytest.raises(KsentError, match=message):
            ExportedClassifier(path)
        out = tmp_path / f"{path.name}.tsv"
        source = tmp_path / "리뷰.txt"
        source.write_text("좋다\n", encoding="utf-8")
        code, err = _cli(monkeypatch, capsys, "predict", "--model", str(path), "--file", str(source), "--out", str(out))
        assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1, (path, err)
        assert not out.exists()
    # a vocabulary of the same kind (subword pieces) from another model: its size is not the graph's
    bundled = export(None, tmp_path / "번들")
    resized = _damaged(folder, tmp_path, "크기가 다른 어휘")
    shutil.copy(bundled / "vocab.json", resized / "vocab.json")
    with pytest.raises(
        KsentError, match=r"vocab.json: the tokens vocabulary has \d+ ids but the graph's embedding \d+"
    ):
        ExportedClassifier(resized)
    with pytest.raises(KsentError, match="has no model.int8.onnx"):
        plain = _damaged(folder, tmp_path, "int8 없음")
        meta = json.loads((plain / "config.json").read_text(encoding="utf-8"))
        (plain / "config.json").write_text(json.dumps({**meta, "files": ["model.onnx"]}), encoding="utf-8")
        ExportedClassifier(plain, int8=True)


def test_export_refuses_an_out_that_is_not_a_ksent_folder(tmp_path, monkeypatch, capsys):
    taken = tmp_path / "사진"
    taken.mkdir()
    (taken / "a.jpg").write_bytes(b"x")
    code, err = _cli(monkeypatch, capsys, "export", "--out", str(taken))
    assert code == 2 and "is not a ksent folder" in err
    assert sorted(p.name for p in taken.iterdir()) == ["a.jpg"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_trained_folder_still_loads_on_torch(trained):
    _, out = trained
    assert type(ksent.load(out, device="cpu")).__name__ == "SentimentClassifier"
    from ksent import SentimentClassifier

    assert SentimentClassifier is ksent.SentimentClassifier


def test_evaluate_reads_an_export(models, nsmc_dir):
    _, folder = models["fast"]
    args = ["evaluate", "--data-dir", str(nsmc_dir), "--limit", "300", "--json"]
    r = runner.invoke(app, [*args, "--model", str(folder)])
    assert r.exit_code == 0, r.output
    on_export = json.loads(r.stdout)
    saved = folder.parent / "fast 모델"
    on_torch = json.loads(runner.invoke(app, [*args, "--model", str(saved), "--device", "cpu"]).stdout)
    assert on_export["accuracy"] == on_torch["accuracy"] and on_export["n"] == 300
    assert on_export["confusion_matrix"] == on_torch["confusion_matrix"]


def test_an_export_warns_when_its_tokenizer_is_not_the_installed_one(models, tmp_path):
    from ksent.text.tokenizers import TokenizerMismatchWarning

    _, folder = models["fast"]
    other = _damaged(folder, tmp_path, "다른 토크나이저")
    meta = json.loads((other / "config.json").read_text(encoding="utf-8"))
    meta["tokenizer"]["packages"]["tokenizers"] = "0.0.1"
    (other / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.warns(TokenizerMismatchWarning, match="tokenizers 0.0.1 when trained"):
        ExportedClassifier(other)


def test_int8_runs_the_bundled_export_and_is_refused_for_a_model_folder(models, monkeypatch, capsys):
    from ksent.exported import BUNDLED_EXPORT

    r = runner.invoke(app, ["predict", "--int8", "--json", *EDGE[-2:]])
    assert r.exit_code == 0, r.output
    got = [json.loads(line)["p_positive"] for line in r.stdout.splitlines()]
    want = ExportedClassifier(BUNDLED_EXPORT, int8=True).predict_proba(EDGE[-2:])[:, 1]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert isinstance(ksent.load(int8=True), ExportedClassifier) and ksent.load(int8=True).int8
    saved = models["fast"][1].parent / "fast 모델"
    code, err = _cli(monkeypatch, capsys, "predict", "--model", str(saved), "--int8", "좋다")
    assert code == 2 and "is a model folder: `ksent export --int8` it" in err and err.count("\n") == 1
    code, err = _cli(monkeypatch, capsys, "serve", "--model", str(saved), "--int8")
    assert code == 2 and "is a model folder: `ksent export --int8` it" in err and err.count("\n") == 1
    export_folder = models["fast"][1]
    for args in (["--int8"], ["--model", str(export_folder)]):
        code, err = _cli(monkeypatch, capsys, "predict", "--engine", "ray", "--file", "x.txt", "--out", "y", *args)
        assert code == 2 and "--engine ray runs model folders (torch) for now" in err


def test_the_bundled_export_is_the_export_of_the_bundled_model(reviews):
    """src/ksent/bundled_onnx is `ksent export --int8` of src/ksent/bundled (made again when it changes)."""
    from ksent.classifier import BUNDLED
    from ksent.exported import BUNDLED_EXPORT

    shipped = json.loads((BUNDLED_EXPORT / "vocab.json").read_text(encoding="utf-8"))
    folder = ksent.load(BUNDLED, device="cpu")
    assert shipped["features"] == folder.features_.state(readable=False)
    meta = json.loads((BUNDLED_EXPORT / "config.json").read_text(encoding="utf-8"))
    # the same config, fields added since the export at their defaults (as loading reads it)
    assert Config.from_dict(meta["config"]) == folder.config_ and meta["files"] == ["model.onnx", "model.int8.onnx"]
    got = ksent.load(BUNDLED_EXPORT).predict_proba(reviews)[:, 1]
    np.testing.assert_allclose(got, folder.predict_proba(reviews)[:, 1], rtol=0, atol=1e-5)
