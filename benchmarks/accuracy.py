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

Nothing finished is lost: the baseline runs first, OUT/benchmark.json is rewritten (atomically)
after it and after every seed ("complete": false until the last), and each seed's training keeps a
checkpoint beside its folder (.FOLDER.checkpoint: every finished epoch, a teacher's answers). After
a crash or Ctrl-C, the same command with --resume keeps the seeds already in benchmark.json, continues
the interrupted one from its last epoch and trains the rest; a resumed run says so ("resumed"), as its
timings then cover only this process's part. Without --resume, a checkpoint that holds work is refused;
--restart discards it.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import behaviour  # noqa: E402
from baseline import linear_pipeline  # noqa: E402
from machine import cpu_name  # noqa: E402

from ksent import atomic, checkpoint  # noqa: E402
from ksent.classifier import SentimentClassifier  # noqa: E402
from ksent.config import Config, resolve  # noqa: E402
from ksent.data import fingerprint, nsmc_path, read_labelled  # noqa: E402
from ksent.errors import KsentError  # noqa: E402
from ksent.metrics import classification_report, paired_comparison  # noqa: E402
from ksent.models import Ensemble  # noqa: E402
from ksent.models.inference import member_logits, p_positive  # noqa: E402


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


def one_run(
    cfg, train, test, out: Path, teacher: str | None, resume: bool, restart: bool, after_save: Callable[[], None]
) -> tuple[dict, np.ndarray]:
    """Train, save and score one config: its summary and P(positive) of each test review. Every finished
    epoch is checkpointed beside `out` (`resume`: continue from there; `restart`: discard one there);
    the caller removes the checkpoint once the run is in benchmark.json. `after_save` runs as soon as the
    model folder is written (with one seed the folder is OUT, and saving it replaces benchmark.json)."""
    saved = checkpoint.beside(out)
    with tempfile.TemporaryDirectory() as cache:
        clf = SentimentClassifier(cfg, device="cpu", progress=True, cache=Path(cache), teacher=teacher)
        t0 = time.perf_counter()
        try:
            clf.fit_labelled(train, checkpoint=saved, resume=resume, restart=restart)
        except KeyboardInterrupt:
            if saved.is_dir() and checkpoint.holds_work(saved):
                how = "with --resume instead of --restart" if restart else "with --resume"
                print(f"stopped: {saved} keeps the finished epochs; the same command {how} continues", file=sys.stderr)
            raise
        except KsentError as e:  # another run's checkpoint: ksent train's advice does not fit this script
            raise SystemExit(
                f"{e}\naccuracy.py: remove {saved} to train seed {cfg.seed} from the start, then rerun with --resume "
                "(the seeds already finished are kept)"
            ) from None
        fit_s = time.perf_counter() - t0
        clf.set_params(cache=None)  # inference below is cold: no token cache
        t0 = time.perf_counter()
        probs = clf.predict_proba(test.texts)[:, 1]
        predict_s = time.perf_counter() - t0
    t = clf.metrics_["training"]
    report = classification_report(test.labels, probs)
    clf.metrics_["test"] = report
    clf.save(out, report=True)
    after_save()
    histories = [t, *t.get("members", [])]
    resumed = [h["resumed_after_epoch"] for h in histories if "resumed_after_epoch" in h]
    epochs_s = t.get("seconds", sum(e["seconds"] for e in t["epochs"]))  # every epoch's, a resumed run's too
    summary = {
        "config": cfg.name,
        "seed": cfg.seed,
        "config_values": cfg.to_dict(),
        **(
            {"resumed": f"after epoch {max(resumed)}: fit_seconds is this process's part, training_seconds all epochs'"}
            if resumed
            else {}
        ),
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
        "training_seconds": round(epochs_s, 1),
        "preprocess_seconds": None if resumed else round(fit_s - epochs_s, 1),
        **({"teacher": {"model": teacher, **t["teacher"]}} if teacher else {}),
        "test_predict_seconds": round(predict_s, 1),
        "predict_reviews_per_s": round(len(test) / predict_s),
        "behaviour": behaviour.pass_rates(lambda texts: clf.predict_proba(texts)[:, 1]),
    }
    if isinstance(clf.model_, Ensemble):  # each member alone, on the same test ids (each reads its own columns)
        z = member_logits(clf.model_, clf.encode(test.texts))  # (members, reviews)
        summary["members"] = [
            {
                "seed": h["seed"],
                "reads": h["reads"],
                "born_again": "born_again" in h,
                "best_val_accuracy": h["best_val_accuracy"],
                "test_accuracy": classification_report(test.labels, p_positive(zk))["accuracy"],
            }
            for zk, h in zip(z, t["members"], strict=True)
        ]
        if clf.model_.weighted:  # weights fitted on validation (ksent.combine) beside the members' plain mean
            p_mean = p_positive(z.mean(axis=0))
            summary["combine"] = {
                **t["combine"],
                "mean_test_accuracy": classification_report(test.labels, p_mean)["accuracy"],
                "model_minus_mean": paired_comparison(test.labels, probs >= 0.5, p_mean >= 0.5),
            }
        first = [k for k, h in enumerate(t["members"]) if "born_again" not in h]
        if len(first) < len(t["members"]):  # the model before its born-again members (their mean), same reviews
            p_first = p_positive(z[first].mean(axis=0))
            # the first members the model keeps (`voting_members` of `members` where views only taught)
            before = {k: v for k, v in t["before_born_again"].items() if k != "teaching_members"}
            before["teaching_members"] = [
                {"reads": h["reads"], "best_val_accuracy": h["best_val_accuracy"]}
                for h in t["before_born_again"].get("teaching_members", [])
            ]
            summary["before_born_again"] = {
                **before,
                "test_accuracy": classification_report(test.labels, p_first)["accuracy"],
                "after_minus_before": paired_comparison(test.labels, probs >= 0.5, p_first >= 0.5),
            }
    return summary, probs


def main() -> None:
    # `kill` and job schedulers stop with SIGTERM: stop as Ctrl-C does (the checkpoint says where to resume)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        benchmark()
    finally:  # a caller that runs main() in its own process (tests) gets its handler back
        signal.signal(signal.SIGTERM, previous)


def benchmark() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="default")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--seeds", default=None, help="Comma-separated seeds, one training each (default: the config's).")
    ap.add_argument("--teacher", default=None, help="Teacher folder for distilled configs; {seed}: the run's seed.")
    ap.add_argument("--baseline-only", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N train and test rows: a smoke run.")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="Go on with an interrupted run of the same command: keep the seeds OUT/benchmark.json holds, "
        "continue the interrupted seed from its checkpoint, train the rest.",
    )
    ap.add_argument(
        "--restart",
        action="store_true",
        help="Start over: discard the checkpoints an interrupted run left beside the seeds' folders.",
    )
    args = ap.parse_args()
    if args.resume and args.restart:
        ap.error("--resume continues an interrupted run and --restart discards it: choose one")
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [None]
    if len(set(seeds)) < len(seeds):
        ap.error(f"--seeds {args.seeds}: each seed once (they share a folder)")

    train = read_labelled(nsmc_path("train", args.data_dir)).head(args.limit)
    test = read_labelled(nsmc_path("test", args.data_dir)).head(args.limit)
    command = {
        **{k: getattr(args, k) for k in ("config", "overrides", "seeds", "teacher", "baseline_only", "limit")},
        "train": {"file": str(train.path), "rows": fingerprint(train)},
        "test": {"file": str(test.path), "rows": fingerprint(test)},
    }
    command = json.loads(json.dumps(command))  # as benchmark.json holds it, so that the two compare equal
    path = args.out / "benchmark.json"
    sets = [args.overrides + ([f"seed={s}"] if s is not None else []) for s in seeds]
    configs = [] if args.baseline_only else [resolve(args.config, one) for one in sets]
    folders = {cfg.seed: args.out / f"seed-{cfg.seed}" if len(configs) > 1 else args.out for cfg in configs}
    before = earlier(path, folders, args.resume, args.restart)
    if before.get("complete") and before.get("command") == command and args.resume:
        print(f"{path}: this command finished already; nothing to resume", file=sys.stderr)
        print(json.dumps(before, indent=1, ensure_ascii=False))
        return
    done = finished(path, before, command, configs, folders) if args.resume else {}
    if args.restart:
        for folder in folders.values():
            checkpoint.remove(checkpoint.beside(folder))

    # the baseline first: each run is compared with it as soon as it ends, and benchmark.json keeps both
    baseline, p_baseline = linear_baseline(train, test)
    summary = {
        "command": command,
        "complete": False,
        "runs": [],
        "baseline": baseline,
        "machine": f"{os.cpu_count()} cores, {cpu_name()}, CPU only, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for cfg in configs:
        out = folders[cfg.seed]
        if cfg.seed in done:  # finished in an earlier run: kept (and its checkpoint, if one was left, removed)
            summary["runs"].append(done[cfg.seed])
            checkpoint.remove(checkpoint.beside(out))
            print(f"seed {cfg.seed}: kept from {path} (finished in an earlier run)", file=sys.stderr)
            continue
        write_summary(path, summary)  # the baseline and the seeds so far, before this one's hours
        teacher = args.teacher.replace("{seed}", str(cfg.seed)) if args.teacher else None
        run, p = one_run(
            cfg, train, test, out, teacher, args.resume, args.restart, lambda: write_summary(path, summary)
        )
        # row by row, on the same test reviews (McNemar, bootstrap); the rate beside this process's baseline
        run["vs_baseline"] = paired_comparison(test.labels, p >= 0.5, p_baseline >= 0.5)
        run["baseline_predict_reviews_per_s"] = baseline["predict_reviews_per_s"]
        run["predict_rate_vs_baseline"] = round(run["predict_reviews_per_s"] / baseline["predict_reviews_per_s"], 3)
        summary["runs"].append(run)
        write_summary(path, summary)
        checkpoint.remove(checkpoint.beside(out))  # only now: until the run is in benchmark.json, it is the run
    runs = summary["runs"]
    if runs:
        acc = np.array([r["test_accuracy"] for r in runs])
        summary["test_accuracy_mean"], summary["test_accuracy_std"] = float(acc.mean()), float(acc.std(ddof=0))
    summary["complete"] = True
    write_summary(path, summary)
    print(json.dumps(summary, indent=1, ensure_ascii=False))


def write_summary(path: Path, summary: dict) -> None:
    """benchmark.json, replaced whole (a crash leaves the last one written, never half a file)."""
    atomic.write_text(path, json.dumps(summary, indent=1, ensure_ascii=False))


def earlier(path: Path, folders: dict[int, Path], resume: bool, restart: bool) -> dict:
    """What an earlier run left in OUT: its benchmark.json ({} if none). Without --resume or --restart, an
    interrupted run (benchmark.json not complete, or a seed's checkpoint holding epochs) is refused
    before any work, so that a rerun that forgot --resume cannot lose its finished seeds."""
    before = {}
    if path.is_file():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: cannot read it ({e}); move it away to start over") from None
    if resume or restart:
        return before
    working = [str(c) for c in map(checkpoint.beside, folders.values()) if c.is_dir() and checkpoint.holds_work(c)]
    if before.get("complete") is False or working:
        left = f"{path} of an unfinished run" if before.get("complete") is False else f"checkpoints {working}"
        raise SystemExit(
            f"{path.parent} holds an interrupted run ({left}): --resume goes on with it (its finished seeds "
            "kept), --restart starts over (its checkpoints discarded)"
        )
    return before


def finished(path: Path, before: dict, command: dict, configs: list, folders: dict[int, Path]) -> dict[int, dict]:
    """The runs an earlier, interrupted run of the same command finished, by seed: those in its
    benchmark.json with the same config values whose model folder is there. Another command's file (or
    one from before accuracy.py could resume) is refused, not mixed in."""
    if not before:
        return {}
    if "command" not in before:
        raise SystemExit(
            f"{path} was written by an accuracy.py that could not resume: move it away, or use another --out"
        )
    if before["command"] != command:
        raise SystemExit(
            f"{path} is from another command or data ({before['command']}; this one: {command}): "
            "run that command with --resume, or use another --out"
        )
    values = {cfg.seed: json.loads(json.dumps(cfg.to_dict())) for cfg in configs}
    defaults = json.loads(json.dumps(Config().to_dict()))  # fields a finished run predates: their defaults
    return {
        r["seed"]: r
        for r in before["runs"]
        if {**defaults, **r.get("config_values", {})} == values.get(r["seed"])
        and (folders[r["seed"]] / "model.safetensors").is_file()
    }


if __name__ == "__main__":
    main()
