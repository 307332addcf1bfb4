"""Inference: padded ids -> logits -> P(positive), for any model `ksent.models` builds.

What the classifier, the server, batch scoring, training's validation and the benchmarks all call.
"""

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ksent.errors import KsentError
from ksent.models.ensemble import own_columns
from ksent.predict import length_batches, p_positive


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise KsentError("--device cuda was asked for but PyTorch sees no CUDA GPU; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise KsentError(f"--device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _packed(model: nn.Module) -> bool:
    return all(getattr(net, "pack", False) for net in model.members())


@torch.inference_mode()
def evaluate_logits(
    model: nn.Module,
    x: np.ndarray,
    device: torch.device | None = None,
    batch: int = 256,
    advance: Callable[[int], None] | None = None,
):
    """Logits (N,) for padded ids (N, T). A packed model scores reviews of equal length together,
    cut to that length: no padding at all, so the LSTM runs unpacked (the fast path) with exactly
    the packed result. Any other model: in the given order, at full width. `device`: the model's.
    `advance(n)` is told of every n reviews a member has scored (N × members in all: a progress bar)."""
    model.eval()
    device = model_device(model) if device is None else device
    if not len(x):
        return np.zeros(0, dtype=np.float32)
    nets = model.members()
    if len(nets) > 1:  # an ensemble: each member on its own columns, then combined as its forward (or averaged)
        logits = member_logits(model, x, device, batch, advance)
        return model.combine(logits) if hasattr(model, "combine") else np.mean(logits, axis=0, dtype=np.float32)
    x = own_columns(model, x)
    out = np.empty(len(x), dtype=np.float32)
    if not _packed(model):
        for i in range(0, len(x), batch):
            out[i : i + batch] = model(torch.from_numpy(x[i : i + batch]).to(device)).float().cpu().numpy()
            if advance is not None:
                advance(min(batch, len(x) - i))
        return out
    for rows, width in length_batches(x, batch):
        out[rows] = model(torch.from_numpy(x[rows, :width]).to(device)).float().cpu().numpy()
        if advance is not None:
            advance(len(rows))
    return out


def member_logits(model: nn.Module, x: np.ndarray, device=None, batch: int = 256, advance=None) -> np.ndarray:
    """Each member's logits (K, N) for padded ids (N, T): what an ensemble combines."""
    return np.stack([evaluate_logits(net, x, device, batch, advance) for net in model.members()])


def predict_proba_ids(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """P(positive) (N,) for padded ids (N, T), on the model's own device."""
    return p_positive(evaluate_logits(model, x))
