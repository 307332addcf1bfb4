"""The training loop, Keras `model.fit` semantics without Keras.

Validation = the last `val_split` of the rows (Keras' validation_split, which does not shuffle
first); training rows are reshuffled every epoch; early stopping watches validation loss
(patience `cfg.patience`); the weights kept are those of the epoch with the best validation
accuracy (Keras' ModelCheckpoint(monitor='val_acc', save_best_only=True)).
"""

import copy
import time

import numpy as np
import torch
from torch import nn

from ksent.config import Config
from ksent.errors import KsentError
from ksent.models import build_model
from ksent.progress import bar, console


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise KsentError("--device cuda was asked for but PyTorch sees no CUDA GPU; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise KsentError(f"--device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


@torch.inference_mode()
def evaluate_logits(model: nn.Module, x: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    model.eval()
    out = [model(torch.from_numpy(x[i : i + batch]).to(device)).float().cpu() for i in range(0, len(x), batch)]
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def _loss_acc(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    t = torch.from_numpy(logits)
    loss = nn.functional.binary_cross_entropy_with_logits(t, torch.from_numpy(y).float()).item()
    return loss, float(((logits >= 0) == (y == 1)).mean())


def fit(
    cfg: Config, x: np.ndarray, y: np.ndarray, vocab_size: int, device: str = "auto", progress: bool = True
) -> tuple[nn.Module, dict]:
    """Train on padded ids `x` (N, T) and 0/1 labels `y` (N,). Returns the best model and its history."""
    dev = resolve_device(device)
    n_val = int(len(x) * cfg.val_split)
    n_train = len(x) - n_val
    if n_train < 1 or n_val < 1:
        raise KsentError(f"need at least 2 usable training rows for a {cfg.val_split} validation split, got {len(x)}")
    x_tr, y_tr, x_val, y_val = x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build_model(cfg, vocab_size).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=cfg.adam_eps)
    loss_fn = nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr).float()

    history: list[dict] = []
    best_acc, best_state, best_epoch = -1.0, None, 0
    best_loss, wait = float("inf"), 0
    steps = (n_train + cfg.batch_size - 1) // cfg.batch_size
    for epoch in range(1, cfg.epochs + 1):
        # 1. one pass over the shuffled training rows
        model.train()
        t0, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        perm = torch.from_numpy(rng.permutation(n_train))
        with bar(f"epoch {epoch}/{cfg.epochs}", steps, progress) as advance:
            for i in range(0, n_train, cfg.batch_size):
                idx = perm[i : i + cfg.batch_size]
                xb, yb = xt[idx].to(dev), yt[idx].to(dev)
                logits = model(xb)  # (B,)
                loss = loss_fn(logits, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += loss.item() * len(idx)
                correct += int(((logits.detach() >= 0) == (yb == 1)).sum())
                seen += len(idx)
                advance(1, info=f"loss {loss_sum / seen:.4f} acc {correct / seen:.4f}")
        # 2. validation
        val_loss, val_acc = _loss_acc(evaluate_logits(model, x_val, dev), y_val)
        seconds = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "loss": loss_sum / seen,
                "accuracy": correct / seen,
                "val_loss": val_loss,
                "val_accuracy": val_acc,
                "seconds": seconds,
            }
        )
        note = ""
        # 3. checkpoint on validation accuracy
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = copy.deepcopy(model.state_dict())
            note = "  (best so far: kept)"
        if progress:
            console.print(
                f"epoch {epoch}: loss {loss_sum / seen:.4f} acc {correct / seen:.4f} "
                f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} [{seconds:.1f}s]{note}",
                soft_wrap=True,
            )
        # 4. early stopping on validation loss
        if val_loss < best_loss:
            best_loss, wait = val_loss, 0
        else:
            wait += 1
            if wait >= cfg.patience:
                if progress:
                    console.print(f"early stop: validation loss has not improved for {cfg.patience} epochs")
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, {
        "epochs": history,
        "best_epoch": best_epoch,
        "best_val_accuracy": best_acc,
        "n_train": n_train,
        "n_val": n_val,
        "device": str(dev),
    }
