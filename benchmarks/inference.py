"""End-to-end inference of model folders, side by side: NSMC test texts in, P(positive) out.

    python benchmarks/inference.py runs/default runs/best-syl/seed-142
    python benchmarks/inference.py runs/default runs/fast --baseline
    python benchmarks/inference.py runs/default runs/best-syl/seed-142 --parts

Each model scores all 50,000 test reviews with `predict_proba` (cleaning, the analyser, ids and
the model; no token cache), in alternating rounds so that every model sees the same machine
state. Prints each model's median rate over the rounds and its ratio to the first model's. With
--baseline, the linear baseline (char TF-IDF + logistic regression, trained here on the train
file) takes its turn in every round too, and each rate is also given as a ratio to it. With
--parts, each ksent model's time is also split, in alternating rounds of their own: preparation
(`encode`: cleaning, the analyser, ids) and the model alone on those ids, in float32 and under
bfloat16 autocast (not an option of ksent: measured to see what it would buy; skipped where the CPU
cannot run an LSTM under it), with the number of answers bf16 changes. The members column counts
each model's members by the block they read (tokens, syllables, pieces, ...).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from baseline import linear_pipeline  # noqa: E402
from machine import describe, timed  # noqa: E402

import ksent  # noqa: E402
from ksent.data import nsmc_path, read_labelled  # noqa: E402
from ksent.models.inference import evaluate_logits  # noqa: E402
from ksent.train import bf16_runs  # noqa: E402


def members(clf) -> str:
    """A model's members by the block each reads, from its feature set: "3 tokens + 1 syllables"."""
    return " + ".join(f"{b.members} {b.featurizer.kind}" for b in clf.features_.blocks if b.members)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path, help="Model folders (the first is the reference).")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--baseline", action="store_true", help="Time the linear baseline in every round too.")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N test (and train) reviews: a smoke test.")
    ap.add_argument("--parts", action="store_true", help="Also time preparation and the model apart (float32, bf16).")
    args = ap.parse_args()
    texts = read_labelled(nsmc_path("test", args.data_dir)).head(args.limit).texts
    clfs = [ksent.load(m, device="cpu") for m in args.models]
    if args.baseline:
        train = read_labelled(nsmc_path("train", args.data_dir)).head(args.limit)
        clfs.append(linear_pipeline().fit(train.texts, train.labels))
    for clf in clfs:
        clf.predict_proba(texts[:1000])  # warm-up: the analyser's and PyTorch's first calls
    rates: list[list[float]] = [[] for _ in clfs]
    for _ in range(args.rounds):
        for k, clf in enumerate(clfs):
            _, seconds = timed(clf.predict_proba, texts)
            rates[k].append(len(texts) / seconds)
    print(f"{time.strftime('%Y-%m-%d')}, {describe()}, {len(texts):,} test reviews, {args.rounds} rounds")
    lin = statistics.median(rates[-1]) if args.baseline else None
    extra = " vs the linear baseline |" if lin else ""
    print(f"| model | config | members | reviews/s (median) | rounds | vs the first |{extra}")
    print("|---|---|---|---|---|---|" + ("---|" if lin else ""))
    ref = statistics.median(rates[0])
    names = [f"`{p}`" for p in args.models] + (["linear baseline"] if lin else [])
    for name, clf, r in zip(names, clfs, rates, strict=True):
        rate, shown = statistics.median(r), ", ".join(f"{x:,.0f}" for x in r)
        if hasattr(clf, "config_"):
            what = f"`{clf.config_.name}` ({clf.config_.tokenizer}) | {members(clf)}"
        else:
            what = "char 1-4-gram TF-IDF + LR | —"
        vs_lin = f" {rate / lin:.2f}× |" if lin else ""
        print(f"| {name} | {what} | {rate:,.0f} | {shown} | {rate / ref:.2f}× |{vs_lin}")
    if args.parts:
        print_parts(args.models, clfs[: len(args.models)], texts, args.rounds)


def print_parts(names: list[Path], clfs: list, texts: list[str], rounds: int) -> None:
    """Preparation and model rates of each model, median over alternating rounds."""
    parts = ("prepare", "float32", "bf16") if bf16_runs("cpu") else ("prepare", "float32")
    seconds: list[dict[str, list[float]]] = [{part: [] for part in parts} for _ in clfs]
    flips: list[int | str] = ["—"] * len(clfs)  # where bf16 cannot run here
    for _ in range(rounds):
        for k, clf in enumerate(clfs):
            x, s = timed(clf.encode, texts)
            seconds[k]["prepare"].append(s)
            fp32, s = timed(evaluate_logits, clf.model_, x)
            seconds[k]["float32"].append(s)
            if "bf16" in parts:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    bf16, s = timed(evaluate_logits, clf.model_, x)
                seconds[k]["bf16"].append(s)
                flips[k] = int(((fp32 >= 0) != (bf16 >= 0)).sum())
    print(f"\nParts, median of {rounds} rounds, reviews/s (seconds for {len(texts):,} reviews):")
    print("| model | preparation (analyser, ids) | model, float32 | model, bf16 autocast | answers bf16 flips |")
    print("|---|---|---|---|---|")
    for name, secs, flipped in zip(names, seconds, flips, strict=True):
        cells = []
        for part in ("prepare", "float32", "bf16"):
            med = statistics.median(secs[part]) if part in secs else None
            cells.append("— (this CPU cannot)" if med is None else f"{len(texts) / med:,.0f} ({med:.1f} s)")
        print(f"| `{name}` | {' | '.join(cells)} | {flipped} |")


if __name__ == "__main__":
    main()
