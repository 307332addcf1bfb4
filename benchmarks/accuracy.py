"""Train a config on the full NSMC train file and score it on all 50,000 test reviews, beside the
linear baseline (character 1-4-gram TF-IDF + logistic regression) trained and scored in the same run.

    python benchmarks/accuracy.py --config seed --out runs/seed
    python benchmarks/accuracy.py --config best --seeds 42,43,44 --out runs/best
    python benchmarks/accuracy.py --config distilled --teacher 'runs/best/seed-{seed}' --seeds 42,43,44 --out runs/d
    python benchmarks/accuracy.py --config default --limit 1000 --set epochs=1 --out /tmp/acc   # a smoke run

Each seed trains from scratch into OUT/seed-N (OUT itself with one seed). Reads NSMC from
--data-dir or $KSENT_DATA_DIR; uses a fresh token cache so tokenization time is cold. Per run:
validation and test accuracy, parameters, size on disk, wall time to train (tokenization
included), end-to-end inference rate on the test reviews, and the behavioural suite's pass rates
(benchmarks/behaviour.tsv), and a paired comparison with the baseline on the same test reviews
(`vs_baseline`: the difference in points with a bootstrap 95 % interval, McNemar's p); an ensemble
also reports each member alone. Prints a JSON summary
and writes it to OUT/benchmark.json. --baseline-only runs just the baseline. A config that learns
from a teacher (`distilled`) takes --teacher, a folder ({seed} is replaced by each run's seed); its
wall time to train includes the teacher's answers, not the teacher's own training. --limit N reads
only the first N train and test rows (the baseline's too): a check that it all runs, not a figure.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import behaviour  # noqa: E402
from baseline import linear_pipeline  # noqa: E402
from machine import cpu_name  # noqa: E402

from ksent.classifier import SentimentClassifier  # noqa: E402
from ksent.config import resolve  # noqa: E402
from ksent.data import nsmc_path, read_labelled  # noqa: E402
from ksent.metrics import classification_report, paired_comparison  # noqa: E402
from ksent.models import Ensemble  # noqa: E402
from ksent.models.inference import evaluate_logits, p_positive  # noqa: E402


def linear_baseline(train, test) -> tuple[dict, np.ndarray]:
    """The one-minute alternative of issue #9 (benchmarks/baseline.py), trained and scored here; its
    summary and P(positive) of each test review."""
    pipe = linear_pipeline()
    t0 = time.perf_counter()
    pipe.fit(train.texts, train.labels)  # every training row, as published
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = pipe.predict_proba(test.texts)[:, 1]
    predict_s = time.perf_counter() - t0
    return {
        "name": "char 1-4-gram TF-IDF + logistic regression (C=4)",
        "test": classification_report(test.labels, p),
        "fit_seconds": round(fit_s, 1),
        "predict_reviews_per_s": round(len(test) / predict_s),
        "behaviour": behaviour.pass_rates(lambda texts: pipe.predict_proba(texts)[:, 1]),
    }, p


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.name in ("model.safetensors", "vocab.json", "config.json"))


def one_run(cfg, train, test, out: Path, teacher: str | None = None) -> tuple[dict, np.ndarray]:
    """Train, save and score one config: its summary and P(positive) of each test review."""
    with tempfile.TemporaryDirectory() as cache:
        clf = SentimentClassifier(cfg, device="cpu", progress=True, cache=Path(cache), teacher=teacher)
        t0 = time.perf_counter()
        clf.fit_labelled(train)
        fit_s = time.perf_counter() - t0
        clf.set_params(cache=None)  # inference below is cold: no token cache
        t0 = time.perf_counter()
        probs = clf.predict_proba(test.texts)[:, 1]
        predict_s = time.perf_counter() - t0
    t = clf.metrics_["training"]
    report = classification_report(test.labels, probs)
    clf.metrics_["test"] = report
    clf.save(out, report=True)
    summary = {
        "config": cfg.name,
        "seed": cfg.seed,
        "test_accuracy": report["accuracy"],
        "test_n": report["n"],
        "roc_auc": report["roc_auc"],
        "best_val_accuracy": t["best_val_accuracy"],
        "best_epoch": t["best_epoch"],
        "epochs_run": len(t["epochs"]),
        "train_kept": clf.metrics_["data"]["kept"],
        "vocab_size": clf.metrics_["vocab_size"],
        "parameters": sum(p.numel() for p in clf.model_.parameters()),
        "model_bytes": folder_bytes(out),
        "fit_seconds": round(fit_s, 1),
        "training_seconds": round(t.get("seconds", sum(e["seconds"] for e in t["epochs"])), 1),
        "preprocess_seconds": round(fit_s - t.get("seconds", sum(e["seconds"] for e in t["epochs"])), 1),
        **({"teacher": {"model": teacher, **t["teacher"]}} if teacher else {}),
        "test_predict_seconds": round(predict_s, 1),
        "predict_reviews_per_s": round(len(test) / predict_s),
        "behaviour": behaviour.pass_rates(lambda texts: clf.predict_proba(texts)[:, 1]),
    }
    if isinstance(clf.model_, Ensemble):  # each member alone, on the same test ids (each reads its own columns)
        x = clf.encode(test.texts)
        summary["members"] = [
            {
                "seed": h["seed"],
                "reads": h["reads"],
                "born_again": "born_again" in h,
                "best_val_accuracy": h["best_val_accuracy"],
                "test_accuracy": classification_report(test.labels, p_positive(evaluate_logits(net, x)))["accuracy"],
            }
            for net, h in zip(clf.model_.members(), t["members"], strict=True)
        ]
        first = [net for net, h in zip(clf.model_.members(), t["members"], strict=True) if "born_again" not in h]
        if len(first) < len(t["members"]):  # the model before its born-again members, on the same test reviews
            p_first = p_positive(evaluate_logits(Ensemble(first), x))
            summary["before_born_again"] = {
                **t["before_born_again"],
                "test_accuracy": classification_report(test.labels, p_first)["accuracy"],
                "after_minus_before": paired_comparison(test.labels, probs >= 0.5, p_first >= 0.5),
            }
    return summary, probs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="default")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--seeds", default=None, help="Comma-separated seeds, one training each (default: the config's).")
    ap.add_argument("--teacher", default=None, help="Teacher folder for distilled configs; {seed}: the run's seed.")
    ap.add_argument("--baseline-only", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N train and test rows: a smoke run.")
    args = ap.parse_args()

    train = read_labelled(nsmc_path("train", args.data_dir)).head(args.limit)
    test = read_labelled(nsmc_path("test", args.data_dir)).head(args.limit)
    runs, probs = [], []
    if not args.baseline_only:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [None]
        for seed in seeds:
            cfg = resolve(args.config, args.overrides + ([f"seed={seed}"] if seed is not None else []))
            out = args.out / f"seed-{seed}" if len(seeds) > 1 else args.out
            teacher = args.teacher.replace("{seed}", str(cfg.seed)) if args.teacher else None
            run, p = one_run(cfg, train, test, out, teacher)
            runs.append(run)
            probs.append(p)
    baseline, p_baseline = linear_baseline(train, test)
    for run, p in zip(runs, probs, strict=True):  # row by row, on the same test reviews (McNemar, bootstrap)
        run["vs_baseline"] = paired_comparison(test.labels, p >= 0.5, p_baseline >= 0.5)
    summary = {
        "runs": runs,
        "baseline": baseline,
        "machine": f"{os.cpu_count()} cores, {cpu_name()}, CPU only, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }
    if runs:
        acc = np.array([r["test_accuracy"] for r in runs])
        summary["test_accuracy_mean"], summary["test_accuracy_std"] = float(acc.mean()), float(acc.std(ddof=0))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
