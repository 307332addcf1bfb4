"""SentimentClassifier follows the scikit-learn estimator contract; model folders record their tokenizer."""

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.validation import check_is_fitted

import ksent
from ksent import artifacts
from ksent.classifier import TokenizerMismatchWarning
from ksent.config import Config
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError

TINY = Config(epochs=1, hidden=8, embed_dim=8, min_count=2)


@pytest.fixture(scope="module")
def small(nsmc_dir):
    return read_labelled(nsmc_path("train", nsmc_dir)).head(800)


def test_init_stores_params_and_does_no_work():
    clf = ksent.SentimentClassifier("no-such-config", device="cpu")  # validated in fit, not here
    assert clf.get_params() == {
        "config": "no-such-config",
        "device": "cpu",
        "progress": False,
        "cache": None,
        "workers": None,
        "teacher": None,
    }
    assert not any(k.endswith("_") for k in vars(clf))
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    with pytest.raises(KsentError, match="neither a preset"):
        clf.fit(["좋다", "싫다"], [1, 0])
    assert clf.set_params(config="default", workers=1) is clf and clf.workers == 1
    with pytest.raises(KsentError, match="no parameter 'epochs'"):
        clf.set_params(epochs=3)


def test_clone_and_check_is_fitted(trained):
    clf, _ = trained
    check_is_fitted(clf)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and copy is not clf
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert list(clf.classes_) == [0, 1] and clf.config_.name == "default" and len(clf.vocab_) > 1000


def test_cross_val_score_and_grid_search(small):
    scores = cross_val_score(ksent.SentimentClassifier(TINY, device="cpu"), small.texts, np.array(small.labels), cv=2)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()
    grid = GridSearchCV(
        ksent.SentimentClassifier(device="cpu"),
        {"config": [TINY, Config(epochs=1, hidden=4, embed_dim=4, min_count=2)]},
        cv=2,
    ).fit(small.texts, np.array(small.labels))
    assert grid.best_params_["config"] in (grid.param_grid["config"]) and hasattr(grid.best_estimator_, "model_")
    assert grid.best_estimator_.score(small.texts[:50], small.labels[:50]) == pytest.approx(
        float((grid.best_estimator_.predict(small.texts[:50]) == np.array(small.labels[:50])).mean())
    )


def test_fitting_never_edits_the_config_parameter(small):
    cfg = Config(epochs=1, hidden=8, embed_dim=8)
    clf = ksent.SentimentClassifier(cfg, device="cpu").fit(small.texts[:300], small.labels[:300])
    assert clf.config is cfg and clf.config_ == cfg and clf.config_ is not cfg


def test_prepare_never_refits_the_vocabulary(trained, small, tmp_path):
    _, out = trained
    loaded = ksent.load(out, device="cpu")
    words = list(loaded.vocab_.words)
    x, y, report = loaded.prepare(small)
    assert loaded.vocab_.words == words  # the vocabulary still matches the embedding
    assert x.max() < loaded.model_.embedding.num_embeddings and len(x) == len(y) == report.kept
    with pytest.raises(KsentError, match="no vocabulary yet"):
        ksent.SentimentClassifier().prepare(small)


def test_model_folder_records_the_tokenizer_and_warns_on_mismatch(trained, tmp_path):
    _, out = trained
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))
    tok = meta["tokenizer"]
    assert tok["backend"] == "kiwi" and set(tok["packages"]) == {"kiwipiepy", "kiwipiepy_model"}
    assert meta["format_version"] == artifacts.FORMAT_VERSION and meta["config"]["readout"] == "last"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same environment: no warning
        ksent.load(out, device="cpu")
    other = tmp_path / "다른 환경"
    shutil.copytree(out, other)
    tok["packages"]["kiwipiepy"] = "0.1.0"
    (other / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.warns(TokenizerMismatchWarning, match="kiwipiepy 0.1.0 when trained"):
        ksent.load(other, device="cpu")


def test_version_1_model_folders_still_load(trained, tmp_path):
    """A folder from ksent 0.1 (format 1: no tokenizer record, no architecture/readout keys)."""
    clf, out = trained
    old = tmp_path / "옛 모델"
    shutil.copytree(out, old)
    meta = json.loads((old / "config.json").read_text(encoding="utf-8"))
    meta["format_version"] = 1
    del meta["tokenizer"], meta["config"]["architecture"], meta["config"]["readout"], meta["config"]["views"]
    (old / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    (tokens,) = json.loads((old / "vocab.json").read_text(encoding="utf-8"))["features"]
    words = {"oov": tokens["oov"], "words": tokens["words"]}  # format 1's vocab.json: one vocabulary
    (old / "vocab.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    texts = ["재밌다", "지루하다"]
    np.testing.assert_array_equal(ksent.load(old, device="cpu").predict_proba(texts), clf.predict_proba(texts))


def test_version_and_info_commands():
    r = subprocess.run([sys.executable, "-m", "ksent", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"ksent {ksent.__version__}"
    r = subprocess.run([sys.executable, "-m", "ksent", "info", "--json"], capture_output=True, text=True)
    info = json.loads(r.stdout)
    assert info["ksent"] == ksent.__version__ and info["cpus_available"] >= 1 and info["kiwipiepy"] != "missing"
    assert info["device"] in ("cpu", "cuda")
