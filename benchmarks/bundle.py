"""Make the bundled model from a trained folder: float16 weights into src/ksent/bundled, scored on
all 50,000 NSMC test reviews (and on the first 2,000, the sample tests/test_bundled.py checks), and
its export (float32 and int8) into src/ksent/bundled_onnx, which the runtime install runs.

    ksent train --config distilled --teacher runs/teacher --set seed=44 --out runs/bundle
    python benchmarks/bundle.py runs/bundle
    python benchmarks/bundle.py runs/bundle --out /tmp/bundle --limit 300   # a check that it all runs

The test metrics go into the bundled metrics.json (what `GET /v1/model` shows); docs/model-card.md
quotes the printed figures. --out writes the float16 folder elsewhere, and its export beside it as
OUT_onnx (the package's own folders are left as they are); --limit N scores only the first N test
reviews.
"""

import argparse
import json
from pathlib import Path

import ksent
from ksent.classifier import BUNDLED
from ksent.data import nsmc_path, read_labelled
from ksent.export import export
from ksent.exported import BUNDLED_EXPORT
from ksent.metrics import classification_report

SAMPLE = 2000  # the first test reviews tests/test_bundled.py scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="A folder written by `ksent train`.")
    ap.add_argument("--out", type=Path, default=BUNDLED, help="Where the float16 folder goes (default: the package's).")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None, help="Score only the first N test reviews.")
    args = ap.parse_args()

    test = read_labelled(nsmc_path("test", args.data_dir)).head(args.limit)
    source = ksent.load(args.model, device="cpu")
    full = classification_report(test.labels, source.predict_proba(test.texts)[:, 1])
    source.save(args.out, half=True)
    half = ksent.load(args.out, device="cpu")  # the float16 weights, as users will load them
    p = half.predict_proba(test.texts)[:, 1]
    report = classification_report(test.labels, p)
    sample = classification_report(test.labels[:SAMPLE], p[:SAMPLE])
    rows = f"all {len(test):,} reviews" if args.limit is None else f"the first {len(test):,} reviews"
    half.metrics_["test"] = {"data": f"{test.path.name} ({rows})", "weights": "float16", **report}
    train_file = half.metrics_["data"]["train_file"]  # this machine's path: only the name means anything to users
    half.metrics_["data"]["train_file"] = Path(train_file).name
    half.save(args.out, half=True)  # same float16 values, now with the test metrics
    ours = args.out.resolve() == BUNDLED.resolve()  # the package's folder: its export is the package's too
    beside = args.out.with_name(f"{args.out.name}_onnx")
    exported = export(None if ours else args.out, BUNDLED_EXPORT if ours else beside, int8=True)
    print(
        json.dumps(
            {
                "source": str(args.model),
                "out": str(args.out),
                "export": str(exported),
                "test_n": report["n"],
                "test_accuracy_float32": full["accuracy"],
                "test_accuracy_float16": report["accuracy"],
                "roc_auc_float16": report["roc_auc"],
                f"sample_first_{SAMPLE}_accuracy_float16": sample["accuracy"],
                "bytes": {p.name: p.stat().st_size for p in sorted(args.out.iterdir())},
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
