"""GPU timing: the seed config's training epoch and batch inference on CUDA, next to this machine's CPU.

    python benchmarks/gpu.py --data-dir ../shared/data/nsmc
    python benchmarks/gpu.py --devices cpu --limit 2000 --epochs 1    # no GPU: a check that the rest runs

Tokenizes with Kiwi (a GPU machine may have no Java); the model and training are the seed
config's (`ksent.train.fit` of the members its fitted feature set gives). Prints one JSON object
with the card's name; exits with a message if CUDA is asked for and there is no GPU.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ksent.classifier import SentimentClassifier
from ksent.config import resolve
from ksent.data import nsmc_path, read_labelled
from ksent.models.inference import evaluate_logits
from ksent.train import fit, members_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--devices", default="cuda,cpu", help="Comma-separated, timed in this order (cuda, cpu).")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N train and test rows.")
    args = ap.parse_args()
    devices = args.devices.split(",")
    if "cuda" in devices and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU visible to PyTorch: nothing to time")
    cfg = resolve("seed", ["tokenizer=kiwi", f"epochs={args.epochs}", "patience=100"])
    clf = SentimentClassifier(cfg, device="cpu", cache=False)
    x, y, _ = clf.fit_prepare(read_labelled(nsmc_path("train", args.data_dir)).head(args.limit))
    x_test = clf.encode(read_labelled(nsmc_path("test", args.data_dir)).head(args.limit).texts)
    card = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    result = {"card": card, "torch": torch.__version__, "n_train_rows": len(x)}
    for device in devices:
        epochs = args.epochs if device == "cuda" else 1
        run_cfg = resolve("seed", ["tokenizer=kiwi", f"epochs={epochs}", "patience=100"])
        model, hist = fit(run_cfg, x, y, members_of(run_cfg, clf.features_), device, False)
        ep = [e["seconds"] for e in hist["epochs"]]
        dev = torch.device(device)
        evaluate_logits(model, x_test[:2048], dev)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        evaluate_logits(model, x_test, dev, batch=4096)
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter() - t0
        result[device] = {
            "epoch_seconds": ep,
            "epoch_seconds_median_after_first": float(np.median(ep[1:] if len(ep) > 1 else ep)),
            "model_inference_reviews_per_s (padded ids in, no tokenization)": len(x_test) / t,
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
