"""The model that ships inside the package: it loads with no path, matches its own config and
vocabulary, and scores a fixed sample of NSMC test reviews at the rate docs/model-card.md states."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
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


def test_bundled_model_scores_the_documented_sample(nsmc_dir):
    """The card states the accuracy on the first 2,000 test reviews; the shipped weights reproduce it."""
    stated = float(re.search(r"first 2,000 test reviews: \*\*([0-9.]+) %\*\*", CARD.read_text(encoding="utf-8"))[1])
    sample = read_labelled(nsmc_path("test", nsmc_dir)).head(2000)
    acc = classification_report(sample.labels, ksent.load(device="cpu").predict_proba(sample.texts)[:, 1])["accuracy"]
    assert abs(100 * acc - stated) < 0.051, (acc, stated)


def test_cli_answers_without_training_or_model():
    r = subprocess.run(
        [sys.executable, "-m", "ksent", "predict", "--json", "연기가 정말 좋았어요", "시간이 아까운 최악의 영화"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["sentiment"] for row in rows] == ["positive", "negative"]
    assert np.all([0.5 <= row["score"] <= 1 for row in rows])
