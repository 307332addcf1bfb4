"""Make the bundled model from a trained folder: float16 weights into src/ksent/bundled, scored on
all 50,000 NSMC test reviews (and on the first 2,000, the sample tests/test_bundled.py checks).

    ksent train --config best --set members=1 --set hidden=192 --set val_split=0.2 --out runs/bundle
    python benchmarks/bundle.py runs/bundle

The test metrics go into the bundled metrics.json (what `GET /v1/model` shows); docs/model-card.md
quotes the printed figures.
"""

import argparse
import json
from pathlib import Path

import ksent
from ksent.classifier import BUNDLED
from ksent.data import nsmc_path, read_labelled
from ksent.metrics import classification_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="A folder written by `ksent train`.")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()

    test = read_labelled(nsmc_path("test", args.data_dir))
    source = ksent.load(args.model, device="cpu")
    full = classification_report(test.labels, source.predict_proba(test.texts)[:, 1])
    source.save(BUNDLED, half=True)
    half = ksent.load(device="cpu")  # the float16 weights, as users will load them
    p = half.predict_proba(test.texts)[:, 1]
    report = classification_report(test.labels, p)
    sample = classification_report(test.labels[:2000], p[:2000])
    half.metrics_["test"] = {"data": "ratings_test.txt (all 50,000 reviews)", "weights": "float16", **report}
    train_file = half.metrics_["data"]["train_file"]  # this machine's path: only the name means anything to users
    half.metrics_["data"]["train_file"] = Path(train_file).name
    half.save(BUNDLED, half=True)  # same float16 values, now with the test metrics
    print(
        json.dumps(
            {
                "source": str(args.model),
                "test_accuracy_float32": full["accuracy"],
                "test_accuracy_float16": report["accuracy"],
                "roc_auc_float16": report["roc_auc"],
                "sample_first_2000_accuracy_float16": sample["accuracy"],
                "bytes": {p.name: p.stat().st_size for p in sorted(BUNDLED.iterdir())},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
