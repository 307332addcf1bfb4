"""End-to-end inference of model folders, side by side: NSMC test texts in, P(positive) out.

    python benchmarks/inference.py runs/default runs/best-syl/seed-142

Each model scores all 50,000 test reviews with `predict_proba` (cleaning, the analyser, ids and
the model; no token cache), in alternating rounds so that every model sees the same machine
state. Prints each model's median rate over the rounds and its ratio to the first model's.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe  # noqa: E402

import ksent  # noqa: E402
from ksent.data import nsmc_path, read_labelled  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path, help="Model folders (the first is the reference).")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    texts = read_labelled(nsmc_path("test", args.data_dir)).texts
    clfs = [ksent.load(m, device="cpu") for m in args.models]
    for clf in clfs:
        clf.predict_proba(texts[:1000])  # warm-up: the analyser's and PyTorch's first calls
    rates: list[list[float]] = [[] for _ in clfs]
    for _ in range(args.rounds):
        for k, clf in enumerate(clfs):
            t0 = time.perf_counter()
            clf.predict_proba(texts)
            rates[k].append(len(texts) / (time.perf_counter() - t0))
    print(f"{time.strftime('%Y-%m-%d')}, {describe()}, {len(texts):,} test reviews, {args.rounds} rounds")
    print("| model | config | members | reviews/s (median) | rounds | vs the first |")
    print("|---|---|---|---|---|---|")
    ref = statistics.median(rates[0])
    for path, clf, r in zip(args.models, clfs, rates, strict=True):
        cfg, rate = clf.config_, statistics.median(r)
        members = f"{cfg.members} + {cfg.syllable_members} syllable" if cfg.syllable_members else str(cfg.members)
        shown = ", ".join(f"{x:,.0f}" for x in r)
        print(f"| `{path}` | `{cfg.name}` | {members} | {rate:,.0f} | {shown} | {rate / ref:.2f}× |")


if __name__ == "__main__":
    main()
