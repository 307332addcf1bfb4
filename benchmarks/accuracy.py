"""Train a config on the full NSMC train file and score it on all 50,000 test reviews.

    python benchmarks/accuracy.py --config seed --out runs/seed

Reads NSMC from --data-dir or $KSENT_DATA_DIR. Uses a fresh token cache so tokenization time is
cold. Prints a JSON summary and writes it to OUT/benchmark.json.
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from ksent.classifier import SentimentClassifier
from ksent.config import resolve
from ksent.data import nsmc_path, read_labelled
from ksent.metrics import classification_report


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="default")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()

    cfg = resolve(args.config, args.overrides)
    train = read_labelled(nsmc_path("train", args.data_dir))
    test = read_labelled(nsmc_path("test", args.data_dir))
    with tempfile.TemporaryDirectory() as cache:
        clf = SentimentClassifier(cfg, device="cpu", progress=True, cache=Path(cache))
        t0 = time.perf_counter()
        clf.fit_labelled(train)
        fit_s = time.perf_counter() - t0
        train_s = sum(e["seconds"] for e in clf.metrics_["training"]["epochs"])
        t0 = time.perf_counter()
        probs = clf.predict_proba(test.texts)[:, 1]
        predict_s = time.perf_counter() - t0
    report = classification_report(test.labels, probs)
    clf.metrics_["test"] = report
    clf.save(args.out, report=True)
    summary = {
        "config": cfg.name,
        "test_accuracy": report["accuracy"],
        "test_n": report["n"],
        "roc_auc": report["roc_auc"],
        "best_epoch": clf.metrics_["training"]["best_epoch"],
        "epochs_run": len(clf.metrics_["training"]["epochs"]),
        "best_val_accuracy": clf.metrics_["training"]["best_val_accuracy"],
        "train_kept": clf.metrics_["data"]["kept"],
        "vocab_size": clf.metrics_["vocab_size"],
        "fit_seconds": round(fit_s, 1),
        "training_seconds": round(train_s, 1),
        "preprocess_seconds": round(fit_s - train_s, 1),
        "test_predict_seconds": round(predict_s, 1),
        "machine": f"{os.cpu_count()} cores, {cpu_name()}, CPU only, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }
    (args.out / "benchmark.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
