"""The one prediction record, and the evaluation report: what the CLI prints, and what a server or a
batch job returns, all built here.

A `Prediction` carries the label (0 negative, 1 positive) and its name, the confidence of that
label (`score`, as Hugging Face's `pipeline("sentiment-analysis")` gives it), P(positive), and how
many tokens the model read: 0 means the review gave it nothing to read (empty, or nothing left
after cleaning), so its answer is the model's answer to padding alone, not evidence.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ksent.errors import KsentError
from ksent.metrics import classification_report

LABEL_NAMES = ("negative", "positive")
THRESHOLD = 0.5  # label 1 when P(positive) >= THRESHOLD


def p_positive(logits: np.ndarray) -> np.ndarray:
    """P(positive) (float64) from logits."""
    return 1.0 / (1.0 + np.exp(-np.asarray(logits).astype(np.float64)))


def length_batches(x: np.ndarray, batch: int) -> Iterator[tuple[np.ndarray, int]]:
    """(rows, width) batches of padded ids `x` (N, T), each of reviews of one length, `width` that
    length (at least 1): how a packed model reads them with no padding at all."""
    lengths = (x != 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(lengths[order]) != 0])  # first row of each length
    for group in np.split(order, starts[1:]):
        width = max(int(lengths[group[0]]), 1)
        for i in range(0, len(group), batch):
            yield group[i : i + batch], width


class Predicting:
    """The prediction API both kinds of loaded model share (`SentimentClassifier` on torch,
    `ksent.exported.ExportedClassifier` on ONNX Runtime): each gives `_p_positive(texts)` ->
    (P(positive) (N,), the padded ids read (N, width)) and `features_`."""

    def _p_positive(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, 2) probabilities [P(negative), P(positive)]."""
        p, _ = self._p_positive(texts)
        return np.stack([1.0 - p, p], axis=1)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(texts)[:, 1] >= THRESHOLD).astype(np.int64)

    def predict_records(self, texts: Sequence[str]) -> list["Prediction"]:
        """One `Prediction` per text: label, its name, its confidence, P(positive), tokens read."""
        texts = check_texts(texts)
        p, x = self._p_positive(texts)
        return predictions(texts, p, self.features_.n_tokens(x))

    def __call__(self, texts: str | Sequence[str]) -> list[dict]:
        """Hugging Face `pipeline("sentiment-analysis")` style: [{"label": "positive", "score": 0.97}]."""
        return [r.as_pipeline() for r in self.predict_records([texts] if isinstance(texts, str) else texts)]

    def score(self, texts: Sequence[str], labels: Sequence[int]) -> float:
        """Accuracy on labelled texts (what `cross_val_score` and `GridSearchCV` maximise)."""
        return float((self.predict(texts) == np.asarray(labels)).mean())


def check_texts(texts) -> list[str]:
    """The texts as a list, or a `KsentError` that says what was passed instead."""
    if isinstance(texts, str):
        raise KsentError("expected a list of texts, got a single string; wrap it: [text]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise KsentError(f"text {i} is {type(t).__name__}, expected str")
    return texts


@dataclass(frozen=True)
class Prediction:
    text: str
    label: int  # 0 = negative, 1 = positive
    p_positive: float
    n_tokens: int  # tokens the model read (after cleaning, stopwords, vocabulary, max_len)

    @property
    def sentiment(self) -> str:
        """The label's name: "negative" or "positive"."""
        return LABEL_NAMES[self.label]

    @property
    def score(self) -> float:
        """The model's confidence in its label: P(positive) for a positive label, else P(negative)."""
        return self.p_positive if self.label == 1 else 1.0 - self.p_positive

    def to_dict(self, digits: int = 6) -> dict:
        """The JSON record of `ksent predict --json` (and of the server and batch jobs to come)."""
        return {
            "text": self.text,
            "label": self.label,
            "sentiment": self.sentiment,
            "score": round(self.score, digits),
            "p_positive": round(self.p_positive, digits),
            "n_tokens": self.n_tokens,
        }

    def as_pipeline(self) -> dict:
        """Hugging Face pipeline shape: {"label": "positive", "score": 0.97}."""
        return {"label": self.sentiment, "score": self.score}


def predictions(texts: Sequence[str], p_positive: np.ndarray, n_tokens: np.ndarray) -> list[Prediction]:
    """Records from P(positive) (N,) and how many tokens the model read of each (N,), as
    `ksent.models.inference` and the feature set (`FeatureSet.n_tokens`) give them.

    >>> predictions(["좋다"], np.array([0.2]), np.array([1]))[0].to_dict()
    {'text': '좋다', 'label': 0, 'sentiment': 'negative', 'score': 0.8, 'p_positive': 0.2, 'n_tokens': 1}
    """
    return [
        Prediction(text, int(p >= THRESHOLD), float(p), int(n))
        for text, p, n in zip(texts, np.asarray(p_positive, dtype=np.float64), n_tokens, strict=True)
    ]


def evaluation(labels: Sequence[int], p_positive: np.ndarray, data: str, model: str) -> dict:
    """The report of `ksent evaluate`: which model, which file, and every metric over every row."""
    return {"model": model, "data": data, **classification_report(labels, p_positive, THRESHOLD)}


def format_evaluation(report: dict) -> str:
    """The report as the table `ksent evaluate` prints."""
    (tn, fp), (fn, tp) = report["confusion_matrix"]
    lines = [f"{report['data']}: {report['n']:,} reviews, every one predicted"]
    lines += [f"  {k:<10} {report[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")]
    lines += [
        "  confusion matrix (rows: true, columns: predicted)",
        "              neg     pos",
        f"  neg  {tn:>8,}{fp:>8,}",
        f"  pos  {fn:>8,}{tp:>8,}",
    ]
    return "\n".join(lines)


def format_prediction(p: Prediction) -> str:
    """One line of `ksent predict`: label, name, P(positive), text (tab-separated)."""
    return f"{p.label}\t{p.sentiment}\t{p.p_positive:.4f}\t{p.text}"
