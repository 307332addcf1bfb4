"""How an ensemble's members are combined: their mean logit, or weights fitted on the validation rows.

Members that read different views err differently and are not equally good (a syllable member is
1-2 points under a token member), so the plain mean is not the best mix. `fit` learns one weight per
member and a bias by logistic regression over the members' validation logits (stacking, Wolpert
1992), a little L2 pull towards the mean's weights keeping it well posed when members agree. The
weights are kept only when they beat the mean out of fold: each of `FOLDS` strided parts of the
validation rows is scored with weights fitted on the others, and the accuracy over all of them is
compared with the mean's. The test file is never looked at; the members' epochs were chosen on the
same rows, which is why the comparison is out of fold.
"""

from dataclasses import dataclass

import numpy as np
import torch

FOLDS = 5
L2 = 1e-3  # per row of the mean loss: a pull towards 1/K each, small next to 14,000 validation rows


@dataclass
class Weights:
    """One weight per member and a bias: the model's logit is `logits @ weights + bias`."""

    weights: np.ndarray  # (K,) float32
    bias: float

    @classmethod
    def mean(cls, k: int) -> "Weights":
        return cls(np.full(k, 1.0 / k, dtype=np.float32), 0.0)

    def logit(self, logits: np.ndarray) -> np.ndarray:
        """(N, K) members' logits -> (N,) the model's."""
        return (logits @ self.weights + self.bias).astype(np.float32)


def _fit(logits: np.ndarray, y: np.ndarray) -> Weights:
    """Logistic regression of `y` on the members' logits (N, K), L2 towards the mean's weights."""
    k = logits.shape[1]
    z = torch.from_numpy(np.asarray(logits, dtype=np.float64))
    t = torch.from_numpy(np.asarray(y, dtype=np.float64))
    prior = torch.full((k,), 1.0 / k, dtype=torch.float64)
    w = prior.clone().requires_grad_(True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=200, tolerance_grad=1e-10, line_search_fn="strong_wolfe")

    def loss():
        opt.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, t) + L2 * ((w - prior) ** 2).sum()
        value.backward()
        return value

    opt.step(loss)
    return Weights(w.detach().numpy().astype(np.float32), float(b.detach()))


def accuracy(logit: np.ndarray, y: np.ndarray) -> float:
    return float(((logit >= 0) == (np.asarray(y) == 1)).mean())


def fit(logits: np.ndarray, y: np.ndarray) -> tuple[Weights, dict]:
    """Weights for members' validation logits (N, K) and labels (N,): the fitted ones when they beat the
    mean out of fold, else the mean's. Returns them and a report of the choice (for metrics.json). Too few
    validation rows to fit and check weights (fewer than `FOLDS` of either label): the mean, and the
    report says why (training never fails at its last step over this)."""
    logits = np.asarray(logits, dtype=np.float32)
    y = np.asarray(y)
    n, k = logits.shape
    mean = Weights.mean(k)
    fewest = min(int((y == 1).sum()), int((y == 0).sum()))
    if fewest < FOLDS:
        return mean, {
            "chosen": "mean",
            "why": f"{fewest} validation rows of one label: weights need at least {FOLDS} of each to be fitted and "
            "checked out of fold",
            "weights": [round(float(v), 6) for v in mean.weights],
            "bias": 0.0,
            "val_accuracy_out_of_fold": {"mean": accuracy(mean.logit(logits), y), "fitted": None},
            "folds": FOLDS,
            "n_val": int(n),
        }
    out_of_fold = np.empty(n, dtype=np.float32)
    for fold in range(FOLDS):
        held = np.arange(fold, n, FOLDS)
        rest = np.setdiff1d(np.arange(n), held)
        out_of_fold[held] = _fit(logits[rest], y[rest]).logit(logits[held])
    fitted = _fit(logits, y)
    scores = {"mean": accuracy(mean.logit(logits), y), "fitted": accuracy(out_of_fold, y)}
    chosen = "fitted" if scores["fitted"] > scores["mean"] else "mean"
    weights = fitted if chosen == "fitted" else mean
    report = {
        "chosen": chosen,
        "weights": [round(float(v), 6) for v in weights.weights],
        "bias": round(weights.bias, 6),
        "fitted_weights": [round(float(v), 6) for v in fitted.weights],
        "fitted_bias": round(fitted.bias, 6),
        "val_accuracy_out_of_fold": scores,
        "folds": FOLDS,
        "n_val": int(n),
    }
    return weights, report
