"""Distillation experiments (the `distilled` preset): students of one teacher with one seed, in
several settings, each scored on the validation split (what chooses) and on the test set (recorded,
never used to choose).

    python benchmarks/distill.py --teacher runs/best-syl/seed-42 --seed 42 --out runs/exp-distill/choices.jsonl \\
        --variant distill=0.5,epochs=4 --variant distill=0.5,epochs=4,augment=1 --variant distill=0.5,epochs=6

Each variant is `distilled` with its `key=value` overrides, trained through the public API
(`SentimentClassifier(cfg, teacher=...)`). The teacher is loaded once and its answers are kept by
text across variants, so the first variant pays for them and the others do not: a variant's time is
its own tokenizing and training. One JSON line per variant is appended to --out; with --save DIR,
each student is kept too, as DIR/variant-K (K = 1, 2, ... in the order given).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import cpu_name  # noqa: E402

import ksent  # noqa: E402
from ksent.classifier import SentimentClassifier  # noqa: E402
from ksent.config import resolve  # noqa: E402
from ksent.data import nsmc_path, read_labelled  # noqa: E402
from ksent.metrics import classification_report  # noqa: E402


def remembering(teacher: SentimentClassifier) -> SentimentClassifier:
    """`teacher`, answering each distinct text once for all the variants."""
    answered: dict[str, float] = {}
    ask = teacher.predict_proba

    def predict_proba(texts):
        new = [t for t in dict.fromkeys(texts) if t not in answered]
        if new:
            answered.update(zip(new, ask(new)[:, 1].tolist(), strict=True))
        p = np.array([answered[t] for t in texts])
        return np.stack([1 - p, p], axis=1)

    teacher.predict_proba = predict_proba
    return teacher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", type=Path, required=True, help="A model folder trained on the NSMC train file.")
    ap.add_argument("--variant", action="append", required=True, help="Comma-separated KEY=VALUE overrides.")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, required=True, help="JSON lines file to append to.")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None, help="First N train and test rows (the teacher's too).")
    ap.add_argument("--save", type=Path, default=None, help="Keep each student as SAVE/variant-K.")
    args = ap.parse_args()

    train = read_labelled(nsmc_path("train", args.data_dir))
    test = read_labelled(nsmc_path("test", args.data_dir))
    if args.limit:
        train, test = train.head(args.limit), test.head(args.limit)
    teacher = remembering(ksent.load(args.teacher, device="cpu"))
    machine = f"{os.cpu_count()} cores, {cpu_name()}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    for k, variant in enumerate(args.variant, 1):
        cfg = resolve("distilled", [*variant.split(","), f"seed={args.seed}"])
        t0 = time.perf_counter()
        clf = SentimentClassifier(cfg, device="cpu", progress=True, teacher=teacher).fit_labelled(train)
        wall = time.perf_counter() - t0
        t = clf.metrics_["training"]
        p = clf.predict_proba(test.texts)[:, 1]
        row = {
            "variant": variant,
            "seed": args.seed,
            "teacher": str(args.teacher),
            "val_accuracy": t["best_val_accuracy"],
            "best_epoch": t["best_epoch"],
            "val_by_epoch": [round(e["val_accuracy"], 4) for e in t["epochs"]],
            "epoch_seconds": [round(e["seconds"]) for e in t["epochs"]],
            "augmented_rows": t["teacher"].get("augmented_rows", 0),
            "teacher_seconds": t["teacher"]["teacher_seconds"],
            "wall_seconds": round(wall),
            "test_accuracy": classification_report(test.labels, p)["accuracy"],
            "machine": machine,
            "date": time.strftime("%Y-%m-%d"),
        }
        if args.save:
            row["saved"] = str(clf.save(args.save / f"variant-{k}"))
        print(json.dumps(row), flush=True)
        with args.out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
