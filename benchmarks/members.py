"""Ensemble experiments for issue #9: train single LSTMs once, keep their logits, combine later.

    python benchmarks/members.py train --name m128-s42 --seed 42 --out runs/exp
    python benchmarks/members.py train --name h192-s42 --seed 42 --set hidden=192 --out runs/exp
    python benchmarks/members.py combine runs/exp/m128-s42.npz runs/exp/h192-s42.npz
    python benchmarks/members.py table runs/exp/ab-base-s4?.npz runs/exp/ab-clean-s4?.npz
    python benchmarks/members.py linear --name lin-s42 --out runs/exp
    python benchmarks/members.py unpack runs/best3/seed-42 --name b42 --out runs/exp
    python benchmarks/members.py before-born-again runs/teacher-ba44 --out runs/teacher-first44
    python benchmarks/members.py grid --group tok runs/exp/b42-tokens0.npz runs/exp/b42-tokens1.npz \
        --group syl runs/exp/b42-syllables0.npz --extra runs/exp/t42-chargrams0.npz
    python benchmarks/members.py combine runs/exp/tok-s42.npz+runs/exp/syl-s44.npz runs/exp/lin-s42.npz \
        --against runs/exp/tok-s42.npz

`train` prepares NSMC as `--config best` does (one token cache under OUT, so only the first run
pays for tokenizing), trains ONE member with the given seed and overrides, and saves its
validation and test logits with its timings to OUT/NAME.npz. The member reads the tokens, or with
`--reads syllables|pieces|jamo` (`--syllables`: the same as `--reads syllables`) that block of a
model prepared with one such member, as `ksent.train.members_of` makes it: the feature set's
columns, the block's own epochs (`syllable_epochs`, when set, for syllables; a view's `epochs`
option, e.g. `--set 'views={"jamo": {"epochs": 6}}'`). `combine` averages the logits of
the given members and prints validation and test accuracy of the mean, and of each member alone,
where the members agree (the share of rows every one gets right, every one gets wrong, which no
average of them gets, and split, with how many of those the mean wins), the mean's
behavioural-suite pass rates per category (runs that saved the suite's logits), and with
`--against` a paired comparison (McNemar, bootstrap interval) of the mean with another ensemble's
mean (with `--fitted` too, also of the two weighed by their own fitted weights, on test); with `--fitted`,
also the weights and bias `combine="fitted"` fits on the validation rows (`ksent.combine`), whether it
would keep them (they beat the mean out of fold there) or the mean, and the members so weighed on
test (the fitted weights, whichever it would keep). `linear` saves
the linear baseline as a member, fitted on the members' training rows (`--words N`: over the word
1..N-grams of the config's tokens, the `words` view's n-grams, instead of character n-grams).
`unpack` reads a trained model folder and saves each of its members as a member file
(NAME-READSk.npz, e.g. b42-tokens0.npz), scored on the validation rows that model held out: models
of one config and data share those rows, so members of several seeds' models can be recombined.
`before-born-again` saves a model trained with `born_again` as the model of its other members
alone (its config with born_again=0, distill=0, augment=0): the teacher that run's born-again
members learnt from, to teach other students side by side with the whole model.
`grid` tries every mix of the first k members of each `--group` (the order given) and prints a
table sorted by validation accuracy, with the members' summed training time; with `--extra`, each
mix also with that member added as one more vote, and as half the vote (the mix weighed as one).
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

sys.path.insert(0, str(Path(__file__).parent))
import behaviour  # noqa: E402
from baseline import linear_pipeline  # noqa: E402
from machine import cpu_name  # noqa: E402

from ksent import atomic  # noqa: E402
from ksent import combine as combine_weights  # noqa: E402
from ksent.classifier import SentimentClassifier  # noqa: E402
from ksent.config import Config, resolve  # noqa: E402
from ksent.data import nsmc_path, read_labelled  # noqa: E402
from ksent.features import BUILT_IN, FEATURIZERS  # noqa: E402
from ksent.metrics import classification_report, paired_comparison  # noqa: E402
from ksent.models.inference import evaluate_logits, p_positive  # noqa: E402
from ksent.train import Member, fit, members_of, split  # noqa: E402

SUITE_TEXTS = [r["text"] for r in behaviour.load()]


def prepared(cfg: Config, reads: str, seed: int) -> Config:
    """`cfg` as a model with one token member and, unless `reads` is "tokens", one member of that
    kind: what `train` prepares the rows with, so that its block is fitted as that model's is. A view
    (`jamo`) keeps its section of the config's `views`, if it has one, for its options."""
    counts = {field: int(kind in ("tokens", reads)) for kind, field in BUILT_IN.items()}
    own = {k: v for k, v in cfg.views.get(reads, {}).items() if k != "votes"}  # it votes: it is the model
    views = {} if reads in BUILT_IN else {reads: {**own, "members": 1}}
    # one member is trained: nothing to weigh (combine="fitted" needs an ensemble), none born again
    alone = {"combine": "mean", "born_again": 0, "distill": 0.0, "augment": 0}
    return dataclasses.replace(cfg, **counts, views=views, seed=seed, **alone).validate()


def the_member(cfg: Config, features, reads: str) -> Member:
    """The network a `cfg` model trains on the `reads` block, as `members_of` makes it (its spec,
    columns and epochs), with the config's own seed."""
    member = next(m for m in members_of(cfg, features) if m.spec.reads == reads)
    return dataclasses.replace(member, seed=cfg.seed)


def train(args) -> None:
    reads = "syllables" if args.syllables else args.reads
    cfg = prepared(resolve(args.config, args.overrides), reads, args.seed)
    train_rows = read_labelled(nsmc_path("train", args.data_dir))
    test_rows = read_labelled(nsmc_path("test", args.data_dir))
    clf = SentimentClassifier(cfg, device="cpu", progress=True, cache=args.out / "tokens")
    t0 = time.perf_counter()
    x, y, _ = clf.fit_prepare(train_rows)
    prep_s = time.perf_counter() - t0
    member = the_member(cfg, clf.features_, reads)
    model, history = fit(cfg, x, y, [member], "cpu", progress=True)  # it reads its own columns of x
    n_train = history["n_train"]
    val = evaluate_logits(model, x[n_train:])
    x_test = clf.encode(test_rows.texts)
    t0 = time.perf_counter()
    test = evaluate_logits(model, x_test)
    model_s = time.perf_counter() - t0
    suite = evaluate_logits(model, clf.encode(SUITE_TEXTS))
    columns = member.spec.columns
    meta = {
        "config": cfg.to_dict(),
        "member": {
            "reads": reads,
            "columns": None if columns is None else [columns.start, columns.stop],
            "vocab_size": member.spec.vocab_size,
            "epochs": member.epochs,
        },
        "cpu": cpu_name(),
        "prepare_seconds": round(prep_s, 1),
        "train_seconds": round(history["seconds"], 1),
        "epoch_seconds": [round(e["seconds"], 1) for e in history["epochs"]],
        "val_accuracy": [round(e["val_accuracy"], 5) for e in history["epochs"]],
        "best_epoch": history["best_epoch"],
        "test_model_reviews_per_s": round(len(x_test) / model_s),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    save(args.out, args.name, val, y[n_train:], test, test_rows.labels, meta, suite)


def linear(args) -> None:
    """The linear baseline (benchmarks/baseline.py) as a member: trained on exactly the training rows a
    member of this config trains on (the same kept rows, the same validation rows held out), its
    logit (the decision function) saved as a member's."""
    cfg = prepared(resolve(args.config, args.overrides), "tokens", args.seed)
    train_rows = read_labelled(nsmc_path("train", args.data_dir))
    test_rows = read_labelled(nsmc_path("test", args.data_dir))
    clf = SentimentClassifier(cfg, device="cpu", progress=True, cache=args.out / "tokens")
    t0 = time.perf_counter()
    x, y, _, rows = clf._fit_rows(train_rows)  # the kept rows, in the order the members split them
    prep_s = time.perf_counter() - t0
    n_train, _ = split(len(x), cfg.val_split)
    if args.words:  # the `words` view's n-grams of the config's tokens (what `views={"words": ...}` reads)
        from functools import partial

        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from ksent.features.words import ngrams

        analyzer = partial(ngrams, n=args.words)
        pipe = make_pipeline(
            TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=args.min_df),
            LogisticRegression(C=4, max_iter=1000),
        )
        read = clf.tokens
        reads = f"linear (word 1-{args.words}-gram TF-IDF + logistic regression, C=4)"
    else:
        lo, hi = args.ngrams
        if not 1 <= lo <= hi:
            raise SystemExit(f"--ngrams {lo} {hi}: the lengths must be 1 <= LO <= HI")
        jamo = args.analyzer == "jamo"  # char_wb n-grams over each syllable's letters (ksent.features.jamo)
        pipe = linear_pipeline(args.binary, args.min_df, "char_wb" if jamo else args.analyzer, (lo, hi))
        read = list
        if jamo:
            from ksent.features.jamo import letters

            def read(texts):
                return ["".join(letters(c) if not c.isspace() else c for c in t) for t in texts]

        reads = f"linear ({args.analyzer} {lo}-{hi}-gram TF-IDF + logistic regression, C=4)"
    docs = read(rows.texts)
    t0 = time.perf_counter()
    pipe.fit(docs[:n_train], y[:n_train])
    train_s = time.perf_counter() - t0
    val = pipe.decision_function(docs[n_train:]).astype(np.float32)
    suite = pipe.decision_function(read(SUITE_TEXTS)).astype(np.float32)
    t0 = time.perf_counter()
    test = pipe.decision_function(read(test_rows.texts)).astype(np.float32)
    test_s = time.perf_counter() - t0
    meta = {
        "config": cfg.to_dict(),
        "member": {
            "reads": reads,
            "binary": args.binary,
            "min_df": args.min_df,
            "features": len(pipe[0].vocabulary_),
            "ngrams_per_review": np.percentile(np.diff(pipe[0].transform(docs).indptr), [50, 99, 100]).tolist(),
        },
        "cpu": cpu_name(),
        "prepare_seconds": round(prep_s, 1),
        "train_seconds": round(train_s, 1),
        "epoch_seconds": [],
        "test_model_reviews_per_s": round(len(test) / test_s),
        "parameters": int(pipe[-1].coef_.size + 1),
    }
    save(args.out, args.name, val, y[n_train:], test, test_rows.labels, meta, suite)


def unpack(args) -> None:
    import ksent

    clf = ksent.load(args.model, device="cpu")
    cfg = clf.config_
    train_rows = read_labelled(nsmc_path("train", args.data_dir))
    test_rows = read_labelled(nsmc_path("test", args.data_dir))
    x, y, _ = clf.prepare(train_rows)  # the kept rows in training order: the last val_split validated
    n_train, _ = split(len(x), cfg.val_split)
    x_test, x_suite = clf.encode(test_rows.texts), clf.encode(SUITE_TEXTS)
    seen: dict[str, int] = {}
    training = clf.metrics_["training"]
    histories = training.get("members") or [training]  # a one-LSTM model's history is the run's
    for net, h in zip(clf.model_.members(), histories, strict=True):
        k = seen[net.reads] = seen.get(net.reads, -1) + 1
        meta = {
            "config": cfg.to_dict(),
            "member": {"reads": net.reads, "seed": h["seed"], "from": str(args.model)},
            "cpu": cpu_name(),
            "train_seconds": h["seconds"],
            "epoch_seconds": [round(e["seconds"], 1) for e in h["epochs"]],
            "parameters": sum(p.numel() for p in net.parameters()),
        }
        val, test, suite = (evaluate_logits(net, ids) for ids in (x[n_train:], x_test, x_suite))
        save(args.out, f"{args.name}-{net.reads}{k}", val, y[n_train:], test, test_rows.labels, meta, suite)


def before_born_again(args) -> None:
    import ksent
    from ksent.models import Ensemble

    clf = ksent.load(args.model, device="cpu")
    training = clf.metrics_["training"]
    histories = training.get("members") or []
    first = [net for net, h in zip(clf.model_.members(), histories, strict=True) if "born_again" not in h]
    if len(first) == len(histories) or len(first) < 2:
        raise SystemExit(f"{args.model}: not an ensemble with born-again members")
    before = training["before_born_again"]
    if before.get("teaching_members"):  # views with "votes": false taught the born-again members, then left
        raise SystemExit(f"{args.model}: the members that only taught its born-again members were not kept")
    # the first members' mean: weights fitted for all of them (combine="fitted") do not hold for fewer
    clf.config_ = dataclasses.replace(clf.config_, born_again=0, distill=0.0, augment=0, combine="mean").validate()
    clf.model_ = Ensemble(first).eval()
    kept = {**training, "members": histories[: len(first)], "best_val_accuracy": before["best_val_accuracy"]}
    kept.pop("combine", None)
    clf.metrics_ = {**clf.metrics_, "training": kept, "made_by": f"members.py before-born-again {args.model}"}
    clf.save(args.out)
    print(f"{args.out}: the first {len(first)} members of {args.model} (val. acc. {before['best_val_accuracy']:.4f})")


def grid(args) -> None:
    import itertools

    groups = {name: files for name, *files in args.group}
    seconds = {f: json.loads(str(np.load(f)["meta"]))["train_seconds"] for fs in groups.values() for f in fs}
    extra = json.loads(str(np.load(args.extra)["meta"]))["train_seconds"] if args.extra else 0.0
    rows = []
    for counts in itertools.product(*(range(len(fs) + 1) for fs in groups.values())):
        mix = [f for k, fs in zip(counts, groups.values(), strict=True) for f in fs[:k]]
        if not mix:
            continue
        name = " + ".join(f"{g} ×{k}" for g, k in zip(groups, counts, strict=True) if k)
        t = sum(seconds[f] for f in mix)
        rows.append((name, len(mix), t, *ensemble_accuracy(mix)))
        if args.extra:
            rows.append(
                (f"{name} + {Path(args.extra).stem}", len(mix) + 1, t + extra, *ensemble_accuracy(mix + [args.extra]))
            )
            rows.append(
                (
                    f"{name} + {Path(args.extra).stem} (half the vote)",
                    len(mix) + 1,
                    t + extra,
                    *ensemble_accuracy(["+".join(mix), args.extra]),
                )
            )
    print("| mix | members | members' training s | val. acc. | test acc. |")
    print("|---|---|---|---|---|")
    for name, n, t, val, test in sorted(rows, key=lambda r: (-r[3], r[2])):
        print(f"| {name} | {n} | {t:.0f} | {val:.4f} | {test:.4f} |")


def save(out: Path, name: str, val, y_val, test, y_test, meta: dict, suite) -> None:
    """One member's logits on the validation rows, the test rows and the behavioural suite."""
    buf = io.BytesIO()  # written whole, then renamed into place: a crash leaves no half file
    np.savez(buf, val=val, y_val=y_val, test=test, y_test=np.asarray(y_test), suite=suite, meta=json.dumps(meta))
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out / f"{name}.npz", buf.getvalue())
    print(json.dumps({"name": name, **meta, "val": acc(val, y_val), "test": acc(test, y_test)}, ensure_ascii=False))


def acc(logits: np.ndarray, y) -> float:
    return round(classification_report(y, p_positive(logits))["accuracy"], 5)


def mean_logits(files: list) -> dict[str, np.ndarray]:
    """The members' mean logit on the validation and test rows, with their labels (members of one
    split only). A file argument "a.npz+b.npz" is a sub-ensemble: averaged first, then weighed as one."""
    parts = [mean_logits(str(f).split("+")) if "+" in str(f) else dict(np.load(f)) for f in files]
    for r in parts[1:]:
        if not (np.array_equal(r["y_val"], parts[0]["y_val"]) and np.array_equal(r["y_test"], parts[0]["y_test"])):
            raise SystemExit("these members were not scored on the same validation and test rows")
    keys = ("val", "test", "suite") if all("suite" in r for r in parts) else ("val", "test")  # older runs: no suite
    out = {k: np.mean([r[k] for r in parts], axis=0) for k in keys}
    return {**out, "y_val": parts[0]["y_val"], "y_test": parts[0]["y_test"]}


def fitted_logits(files: list) -> dict:
    """The members' logits combined by weights fitted on the validation rows (`ksent.combine.fit`, as a
    model with combine="fitted" fits them; each file argument one member, "a+b" averaged first), on
    every split, with the fit's report. The fitted weights are applied even when the fit would keep the
    mean (the report says which it chose)."""
    parts = [mean_logits([f]) for f in files]
    keys = [k for k in ("val", "test", "suite") if all(k in r for r in parts)]
    _, report = combine_weights.fit(np.stack([r["val"] for r in parts], axis=1), parts[0]["y_val"])
    w, b = np.asarray(report["fitted_weights"], dtype=np.float32), report["fitted_bias"]
    return {k: np.stack([r[k] for r in parts], axis=1) @ w + b for k in keys} | {"report": report}


def ensemble_accuracy(files: list) -> tuple[float, float]:
    """Validation and test accuracy of the members' mean logit."""
    m = mean_logits(files)
    return acc(m["val"], m["y_val"]), acc(m["test"], m["y_test"])


def agreement(files: list, split_name: str) -> str:
    """Where the members (each file argument one, "a+b" averaged first) agree on one split: the share of
    rows every one gets right, every one gets wrong (no weighted average of them gets those), and split,
    with how many of the split ones their mean gets right. Says how much room a weighting has."""
    parts = [mean_logits([f]) for f in files]
    y = parts[0][f"y_{split_name}"]
    right = np.array([(r[split_name] >= 0) == (y == 1) for r in parts])  # (members, rows)
    every, none = right.all(axis=0), ~right.any(axis=0)
    split = ~every & ~none
    m = mean_logits(files)
    won = ((m[split_name] >= 0) == (y == 1))[split]
    n = len(y)
    said = (
        f"every member right {every.sum() / n:.2%}, every one wrong {none.sum() / n:.2%}, split {split.sum() / n:.2%}"
    )
    return said + (f" (the mean right on {won.sum():,} of {split.sum():,}: {won.mean():.1%})" if split.any() else "")


def combine(args) -> None:
    for p in dict.fromkeys(f for arg in args.files + (args.against or []) for f in arg.split("+")):
        r = np.load(p)
        meta = json.loads(str(r["meta"]))
        print(
            f"{Path(p).stem:28s} val {acc(r['val'], r['y_val']):.5f}  test {acc(r['test'], r['y_test']):.5f}  "
            f"train {meta['train_seconds']:.0f}s epochs {meta['epoch_seconds']}"
        )
    val, test = ensemble_accuracy(args.files)
    print(f"{'mean of ' + str(len(args.files)):28s} val {val:.5f}  test {test:.5f}")
    mean = mean_logits(args.files)
    if len(args.files) > 1:
        for split_name in ("val", "test"):
            print(f"{'agreement ' + split_name:28s} {agreement(args.files, split_name)}")
    if "suite" in mean:  # the behavioural suite, per category (benchmarks/behaviour.tsv)
        rates = behaviour.pass_rates(lambda _: 1 / (1 + np.exp(-mean["suite"])))["pass_rate"]
        print(f"{'behaviour':28s} " + "  ".join(f"{c} {r:.2f}" for c, r in rates.items()))
    if args.fitted and len(args.files) > 1:  # weights fitted on validation, as combine="fitted" trains them
        weighted = fitted_logits(args.files)
        report = weighted.pop("report")
        oof = report["val_accuracy_out_of_fold"]
        print(
            f"{'fitted weights':28s} {report['chosen']} (validation out of fold: fitted {oof['fitted']:.5f}, mean "
            f"{oof['mean']:.5f}); weights {', '.join(f'{w:.3f}' for w in report['fitted_weights'])}, "
            f"bias {report['fitted_bias']:+.3f}"
        )
        print(f"{'as fitted':28s} val {acc(weighted['val'], mean['y_val']):.5f} (in sample)  "
              f"test {acc(weighted['test'], mean['y_test']):.5f}")  # fmt: skip
        y = mean["y_test"]
        cmp = paired_comparison(y, weighted["test"] >= 0, mean["test"] >= 0)
        print(
            f"{'as fitted vs the mean':28s} test {cmp['a_minus_b']:+.2f} points (95 % CI {cmp['ci95'][0]:+.2f} to "
            f"{cmp['ci95'][1]:+.2f}; McNemar p = {cmp['mcnemar_p']:.3g})"
        )
        if "suite" in weighted:
            rates = behaviour.pass_rates(lambda _: 1 / (1 + np.exp(-weighted["suite"])))["pass_rate"]
            print(f"{'behaviour, as fitted':28s} " + "  ".join(f"{c} {r:.2f}" for c, r in rates.items()))
    if args.against and args.fitted and len(args.files) > 1:  # the two as `combine="fitted"` would weigh them
        those = fitted_logits([f for arg in args.against for f in arg.split("+")])
        those.pop("report")
        y = mean["y_test"]
        cmp = paired_comparison(y, weighted["test"] >= 0, those["test"] >= 0)
        print(
            f"{'as fitted vs those fitted':28s} test {cmp['a_minus_b']:+.2f} points (95 % CI {cmp['ci95'][0]:+.2f} to "
            f"{cmp['ci95'][1]:+.2f}; only these right {cmp['only_a_right']}, only those {cmp['only_b_right']}; "
            f"McNemar p = {cmp['mcnemar_p']:.3g})"
        )
    if args.against:  # a paired comparison of the means, row by row, on each split
        a, b = mean_logits(args.files), mean_logits(args.against)
        for split_name in ("val", "test"):
            y = a[f"y_{split_name}"]
            cmp = paired_comparison(y, a[split_name] >= 0, b[split_name] >= 0)
            print(
                f"{'vs ' + ' '.join(args.against):28s} {split_name:4s} {cmp['a_minus_b']:+.2f} points "
                f"(95 % CI {cmp['ci95'][0]:+.2f} to {cmp['ci95'][1]:+.2f}; only these right {cmp['only_a_right']}, "
                f"only those {cmp['only_b_right']}; McNemar p = {cmp['mcnemar_p']:.3g})"
            )


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
    t.add_argument("--reads", choices=tuple(FEATURIZERS), default="tokens", help="The block the member reads.")
    t.add_argument("--syllables", action="store_true", help="The same as --reads syllables.")
    t.add_argument("--out", type=Path, default=Path("runs/exp"))
    t.add_argument("--data-dir", type=Path, default=None)
    c = sub.add_parser("combine")
    c.add_argument("files", nargs="+", help="Members (NAME.npz), or sub-ensembles a.npz+b.npz weighed as one.")
    c.add_argument("--against", nargs="+", help="Another ensemble: a paired comparison with it on each split.")
    c.add_argument(
        "--fitted",
        action="store_true",
        help="Also weights fitted on the validation rows (ksent.combine, as combine=fitted): the choice against "
        "the mean out of fold, the weights, test accuracy and a paired comparison with the mean.",
    )
    li = sub.add_parser("linear")
    li.add_argument("--name", required=True)
    li.add_argument("--seed", type=int, default=42)
    li.add_argument("--config", default="best")
    li.add_argument("--set", dest="overrides", action="append", default=[])
    li.add_argument("--binary", action="store_true", help="Count each n-gram once per review (TF 1).")
    li.add_argument("--min-df", type=int, default=1, help="Leave out n-grams in fewer training reviews.")
    li.add_argument(
        "--words", type=int, default=0, help="N: word 1..N-grams of the config's tokens (the words view), not chars."
    )
    li.add_argument(
        "--analyzer",
        choices=("char_wb", "char", "jamo"),
        default="char_wb",
        help="Character n-grams inside words (the baseline's), across spaces too, or inside words over "
        "each syllable's letters (jamo).",
    )
    li.add_argument("--ngrams", type=int, nargs=2, default=(1, 4), metavar=("LO", "HI"), help="n-gram lengths.")
    li.add_argument("--out", type=Path, default=Path("runs/exp"))
    li.add_argument("--data-dir", type=Path, default=None)
    u = sub.add_parser("unpack")
    u.add_argument("model", type=Path, help="A trained model folder (an ensemble's members are saved one by one).")
    u.add_argument("--name", required=True, help="Prefix of the member files.")
    u.add_argument("--out", type=Path, default=Path("runs/exp"))
    u.add_argument("--data-dir", type=Path, default=None)
    bb = sub.add_parser("before-born-again")
    bb.add_argument("model", type=Path, help="A model folder trained with born_again >= 1.")
    bb.add_argument("--out", type=Path, required=True, help="Where the model of its other members is saved.")
    g = sub.add_parser("grid")
    g.add_argument("--group", nargs="+", action="append", required=True, help="NAME FILE...: members of one kind.")
    g.add_argument("--extra", help="A member tried with every mix, as one vote and as half the vote.")
    tb = sub.add_parser("table")
    tb.add_argument("files", nargs="+", help="Runs NAME-sSEED.npz; the first group is the reference.")
    args = ap.parse_args()
    commands = {"train": train, "linear": linear, "combine": combine, "unpack": unpack, "grid": grid, "table": table}
    commands["before-born-again"] = before_born_again
    commands[args.cmd](args)


if __name__ == "__main__":
    main()
