"""Ensemble experiments for issue #9: train single LSTMs once, keep their logits, combine later.

    python benchmarks/members.py train --name m128-s42 --seed 42 --out runs/exp
    python benchmarks/members.py train --name h192-s42 --seed 42 --set hidden=192 --out runs/exp
    python benchmarks/members.py combine runs/exp/m128-s42.npz runs/exp/h192-s42.npz
    python benchmarks/members.py table runs/exp/ab-base-s4?.npz runs/exp/ab-clean-s4?.npz

`train` prepares NSMC as `--config best` does (one token cache under OUT, so only the first run
pays for tokenizing), trains ONE member (members=1) with the given seed and overrides, and saves
its validation and test logits with its timings to OUT/NAME.npz. `combine` averages the logits of
the given members and prints validation and test accuracy of the mean, and of each member alone.
`table` groups runs by name without their "-sSEED" suffix and prints, per group, the mean ± std
over its seeds of validation and test accuracy, each as a difference from the first group too (an
ablation table: the first group is the reference), with parameters and training time.
Choose on validation (the last val_split of the kept training rows); the test column is the
final number, not a selection signal.
"""

import argparse
import dataclasses
import io
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import cpu_name  # noqa: E402

from ksent import atomic  # noqa: E402
from ksent.classifier import SentimentClassifier  # noqa: E402
from ksent.config import resolve  # noqa: E402
from ksent.data import nsmc_path, read_labelled  # noqa: E402
from ksent.train import evaluate_logits, fit  # noqa: E402


def train(args) -> None:
    cfg = resolve(args.config, args.overrides)
    cfg = dataclasses.replace(cfg, members=1, syllable_members=0, piece_members=0, seed=args.seed)
    train_rows = read_labelled(nsmc_path("train", args.data_dir))
    test_rows = read_labelled(nsmc_path("test", args.data_dir))
    # --syllables: prepare as a model with one syllable member does, and keep only the syllable block
    prep = dataclasses.replace(cfg, syllable_members=1) if args.syllables else cfg
    clf = SentimentClassifier(prep, device="cpu", progress=True, cache=args.out / "tokens")
    t0 = time.perf_counter()
    x, y, _ = clf.fit_prepare(train_rows)
    columns, vocab_size = slice(0, cfg.max_len), len(clf.vocab_)
    if args.syllables:  # the member is then trained as `best`'s syllable member is: on those columns alone
        columns, vocab_size = slice(cfg.max_len, None), len(clf.vocab_.syllables)
        cfg = dataclasses.replace(cfg, max_len=cfg.syllable_max_len)
    x = x[:, columns]
    prep_s = time.perf_counter() - t0
    model, history = fit(cfg, x, y, vocab_size, "cpu", progress=True)
    n_train = history["n_train"]
    cpu = torch.device("cpu")
    val = evaluate_logits(model, x[n_train:], cpu)
    x_test = clf.encode(test_rows.texts)[:, columns]
    t0 = time.perf_counter()
    test = evaluate_logits(model, x_test, cpu)
    model_s = time.perf_counter() - t0
    meta = {
        "config": cfg.to_dict(),
        "cpu": cpu_name(),
        "prepare_seconds": round(prep_s, 1),
        "train_seconds": round(history["seconds"], 1),
        "epoch_seconds": [round(e["seconds"], 1) for e in history["epochs"]],
        "val_accuracy": [round(e["val_accuracy"], 5) for e in history["epochs"]],
        "best_epoch": history["best_epoch"],
        "test_model_reviews_per_s": round(len(x_test) / model_s),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    buf = io.BytesIO()  # written whole, then renamed into place: a crash leaves no half file
    np.savez(buf, val=val, y_val=y[n_train:], test=test, y_test=np.asarray(test_rows.labels), meta=json.dumps(meta))
    args.out.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(args.out / f"{args.name}.npz", buf.getvalue())
    print(json.dumps({"name": args.name, **meta, "val": acc(val, y[n_train:]), "test": acc(test, test_rows.labels)}))


def acc(logits: np.ndarray, y) -> float:
    return round(float(((logits >= 0) == (np.asarray(y) == 1)).mean()), 5)


def ensemble_accuracy(files: list[Path]) -> tuple[float, float]:
    """Validation and test accuracy of the members' mean logit (members of one split only)."""
    runs = [np.load(p) for p in files]
    for r in runs[1:]:
        if not (np.array_equal(r["y_val"], runs[0]["y_val"]) and np.array_equal(r["y_test"], runs[0]["y_test"])):
            raise SystemExit("these members were not scored on the same validation and test rows")
    val = np.mean([r["val"] for r in runs], axis=0)
    test = np.mean([r["test"] for r in runs], axis=0)
    return acc(val, runs[0]["y_val"]), acc(test, runs[0]["y_test"])


def combine(args) -> None:
    for p in args.files:
        r = np.load(p)
        meta = json.loads(str(r["meta"]))
        print(
            f"{Path(p).stem:28s} val {acc(r['val'], r['y_val']):.5f}  test {acc(r['test'], r['y_test']):.5f}  "
            f"train {meta['train_seconds']:.0f}s epochs {meta['epoch_seconds']}"
        )
    val, test = ensemble_accuracy(args.files)
    print(f"{'mean of ' + str(len(args.files)):28s} val {val:.5f}  test {test:.5f}")


def table(args) -> None:
    groups: dict[str, list[dict]] = {}
    for p in args.files:
        r = np.load(p)
        meta = json.loads(str(r["meta"]))
        name = re.sub(r"-s\d+$", "", Path(p).stem)
        groups.setdefault(name, []).append(
            {"val": acc(r["val"], r["y_val"]), "test": acc(r["test"], r["y_test"]), **meta}
        )
    print("| runs | seeds | parameters | training s | val. acc. | Δ val. (points) | test acc. | Δ test (points) |")
    print("|---|---|---|---|---|---|---|---|")
    ref = None
    for name, runs in groups.items():
        val, test = (np.array([run[k] for run in runs]) for k in ("val", "test"))
        ref = ref or (val.mean(), test.mean())
        cells = [name, ", ".join(str(run["config"]["seed"]) for run in runs), f"{runs[0]['parameters']:,}"]
        cells.append(f"{np.mean([run['train_seconds'] for run in runs]):.0f}")
        for a, r in ((val, ref[0]), (test, ref[1])):
            cells += [f"{a.mean():.4f} ± {a.std():.4f}", f"{(a.mean() - r) * 100:+.2f}"]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--name", required=True)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--config", default="best")
    t.add_argument("--set", dest="overrides", action="append", default=[])
    t.add_argument("--syllables", action="store_true", help="Read syllables, not the config's tokens.")
    t.add_argument("--out", type=Path, default=Path("runs/exp"))
    t.add_argument("--data-dir", type=Path, default=None)
    c = sub.add_parser("combine")
    c.add_argument("files", nargs="+")
    tb = sub.add_parser("table")
    tb.add_argument("files", nargs="+", help="Runs NAME-sSEED.npz; the first group is the reference.")
    args = ap.parse_args()
    {"train": train, "combine": combine, "table": table}[args.cmd](args)


if __name__ == "__main__":
    main()
