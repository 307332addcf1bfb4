"""GPU timing: the seed config's training epoch and batch inference on CUDA, next to this machine's CPU.

    python benchmarks/gpu.py --data-dir ../shared/data/nsmc

Tokenizes with Kiwi (a GPU machine may have no Java); the model and training are the seed
config's. Prints one JSON object with the card's name; exits with a message if there is no GPU.
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
from ksent.train import evaluate_logits, fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU visible to PyTorch: nothing to time")
    cfg = resolve("seed", ["tokenizer=kiwi", f"epochs={args.epochs}", "patience=100"])
    clf = SentimentClassifier(cfg, device="cuda", cache=False)
    x, y, _ = clf.fit_prepare(read_labelled(nsmc_path("train", args.data_dir)))
    x_test = clf.encode(read_labelled(nsmc_path("test", args.data_dir)).texts)
    result = {"card": torch.cuda.get_device_name(0), "torch": torch.__version__, "n_train_rows": len(x)}
    for device in ("cuda", "cpu"):
        epochs = args.epochs if device == "cuda" else 1
        model, hist = fit(resolve("seed", [f"epochs={epochs}", "patience=100"]), x, y, len(clf.vocab_), device, False)
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
