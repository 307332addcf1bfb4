"""The model that ships inside the package: it loads with no path, matches its own config and
vocabulary, and scores a fixed sample of NSMC test reviews at the rate docs/model-card.md states."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

import ksent
from ksent.classifier import BUNDLED
from ksent.config import Config
from ksent.data import nsmc_path, read_labelled
from ksent.metrics import classification_report

CARD = Path(__file__).resolve().parents[1] / "docs" / "model-card.md"


def test_bundled_model_loads_without_a_path_and_matches_itself():
    clf = ksent.load(device="cpu")
    meta = json.loads((BUNDLED / "config.json").read_text(encoding="utf-8"))
    loaded = clf.config_.to_dict()
    assert {k: loaded[k] for k in meta["config"]} == meta["config"] and clf.config_.name == "distilled"
    # keys newer than the file (training options added since) take their defaults
    assert all(loaded[k] == v for k, v in Config().to_dict().items() if k not in meta["config"])
    assert clf.model_.embedding.num_embeddings == len(clf.vocab_)  # vocabulary and weights belong together
    with safe_open(BUNDLED / "model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}  # half on disk
    size = sum(p.stat().st_size for p in BUNDLED.iterdir())
    assert size <= 12_000_000, size
    assert meta["tokenizer"]["backend"] == "subword" and clf.features_.tokens.subword  # its pieces travel with it


@pytest.fixture(scope="module")
def whole_test_set(nsmc_dir):
    """All 50,000 NSMC test reviews with the bundled model's P(positive) for each (seconds: no analyser)."""
    rows = read_labelled(nsmc_path("test", nsmc_dir))
    return np.array(rows.labels), ksent.load(device="cpu").predict_proba(rows.texts)[:, 1]


def test_bundled_model_scores_the_documented_sample(whole_test_set):
    """The card states the accuracy on the first 2,000 test reviews; the shipped weights reproduce it."""
    stated = float(re.search(r"first 2,000 test reviews: \*\*([0-9.]+) %\*\*", CARD.read_text(encoding="utf-8"))[1])
    labels, p = whole_test_set
    acc = classification_report(labels[:2000], p[:2000])["accuracy"]
    assert abs(100 * acc - stated) < 0.051, (acc, stated)


def test_bundled_metrics_are_its_scores_on_the_whole_test_set(whole_test_set):
    """metrics.json's test figures, recomputed from the shipped weights on every test review: the
    counts exactly, and the card's headline figure is theirs."""
    from sklearn.metrics import roc_auc_score

    recorded = json.loads((BUNDLED / "metrics.json").read_text(encoding="utf-8"))["test"]
    labels, p = whole_test_set
    predicted = (p >= 0.5).astype(int)
    assert len(labels) == recorded["n"] == 50_000  # every review predicted, the empty ones too
    matrix = [[int(((labels == t) & (predicted == q)).sum()) for q in (0, 1)] for t in (0, 1)]
    assert matrix == recorded["confusion_matrix"] == [[22116, 2711], [3349, 21824]]
    assert (predicted == labels).sum() / len(labels) == recorded["accuracy"] == 0.8788
    assert roc_auc_score(labels, p) == pytest.approx(recorded["roc_auc"], abs=1e-6)
    assert "All 50,000 NSMC test reviews (every one predicted, empty ones included): **87.88 %**" in CARD.read_text(
        encoding="utf-8"
    )


def test_cli_answers_without_training_or_model():
    r = subprocess.run(
        [sys.executable, "-m", "ksent", "predict", "--json", "연기가 정말 좋았어요", "시간이 아까운 최악의 영화"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["sentiment"] for row in rows] == ["positive", "negative"]
    # the records the library gives (the README shows the first: 0.980592), confident on reviews this clear
    want = [r.to_dict() for r in ksent.load(device="cpu").predict_records([row["text"] for row in rows])]
    assert [{**row, "score": None, "p_positive": None} for row in rows] == [
        {**w, "score": None, "p_positive": None} for w in want
    ]
    np.testing.assert_allclose([row["p_positive"] for row in rows], [w["p_positive"] for w in want], atol=2e-6)
    assert [row["score"] for row in rows] == pytest.approx([0.980592, 0.998992], abs=1e-3)
