"""Binary classification metrics, positive class = 1. Plain numpy, no extra dependency."""

import math

import numpy as np


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve = P(score of a random positive > a random negative), ties count 1/2."""
    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score)[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # average ranks over ties (1-based)
    _, first, counts = np.unique(s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_report(y_true, prob_pos, threshold: float = 0.5) -> dict:
    y = np.asarray(y_true).astype(int)
    p = np.asarray(prob_pos, dtype=np.float64)
    pred = (p >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(y),
        "accuracy": (tp + tn) / len(y) if len(y) else float("nan"),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(y, p),
        "confusion_matrix": [[tn, fp], [fn, tp]],  # rows: true 0/1, columns: predicted 0/1
    }


def roc_curve(y, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct score used as threshold (predict 1 if score >= t).

    Starts at (0, 0) with threshold +inf and ends at (1, 1); the trapezoid area under it is `roc_auc`.

    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each run of equal scores
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    return np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos], np.r_[np.inf, s[last]]


def paired_comparison(y_true, pred_a, pred_b, rounds: int = 2000, seed: int = 0) -> dict:
    """Whether model A's accuracy differs from B's on the same rows: McNemar's test on the rows only
    one of them gets right (exact binomial below 50 such rows, continuity-corrected chi-square above),
    and a bootstrap 95 % interval of the difference (rows resampled with replacement, `rounds` times).
    A difference is "real" here when p < 0.05 and the interval excludes 0; `a_minus_b` is in points."""
    y, pred_a, pred_b = (np.asarray(v).astype(int) for v in (y_true, pred_a, pred_b))
    if not (len(y) == len(pred_a) == len(pred_b)) or not len(y):
        raise ValueError(f"expected the same non-empty rows for both models: {len(y)}, {len(pred_a)}, {len(pred_b)}")
    right_a, right_b = pred_a == y, pred_b == y
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    n = only_a + only_b
    if n == 0:
        p = 1.0
    elif n < 50:  # exact: two-sided binomial tail of the smaller count under p = 1/2
        k = min(only_a, only_b)
        p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)
    else:
        chi2 = (abs(only_a - only_b) - 1) ** 2 / n
        p = math.erfc(math.sqrt(chi2 / 2))  # the chi-square(1) tail
    # resampling rows is drawing how many of them are +1 (only A right), -1 (only B) and 0: a multinomial
    counts = np.random.default_rng(seed).multinomial(len(y), [only_a / len(y), only_b / len(y), 1 - n / len(y)], rounds)
    low, high = np.percentile((counts[:, 0] - counts[:, 1]) / len(y), [2.5, 97.5])
    return {
        "n": len(y),
        "accuracy_a": float(right_a.mean()),
        "accuracy_b": float(right_b.mean()),
        "a_minus_b": round((only_a - only_b) / len(y) * 100, 3),
        "ci95": [round(float(low) * 100, 3), round(float(high) * 100, 3)],
        "only_a_right": only_a,
        "only_b_right": only_b,
        "mcnemar_p": p,
    }
