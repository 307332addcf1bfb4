"""The public Python API: a scikit-learn-style classifier over the whole pipeline.

>>> import ksent
>>> clf = ksent.load("runs/default")                          # doctest: +SKIP
>>> clf.predict(["정말 재밌어요", "최악의 영화"])               # doctest: +SKIP
array([1, 0])
"""

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ksent import artifacts
from ksent.config import Config, resolve
from ksent.data import DropReport, Labelled, cache_dir, clean_training
from ksent.errors import KsentError
from ksent.explain import Explanation, explain_review
from ksent.metrics import classification_report
from ksent.models import LSTMClassifier
from ksent.text import clean_hangul, remove_stopwords
from ksent.text.tokenizers import tokenize
from ksent.train import evaluate_logits, fit, resolve_device
from ksent.text.vocab import Vocab, pad_sequences

CACHE_MIN_TEXTS = 5000  # token cache only for corpus-sized inputs (training, evaluation)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cycle collector while millions of small token lists are built: they hold no cycles,
    and in a process that already holds many objects each collection walks all of them
    (see the warm-preprocessing row in docs/benchmarks.md)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise KsentError("expected a list of texts, got a single string; wrap it: [text]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise KsentError(f"text {i} is {type(t).__name__}, expected str")
    return texts


class SentimentClassifier:
    """Korean review sentiment: text -> tokens -> ids -> LSTM -> P(positive).

    `classes_` is [0, 1]: 0 = negative, 1 = positive, the columns of `predict_proba`.
    """

    classes_ = np.array([0, 1])

    def __init__(
        self,
        config: Config | str = "default",
        device: str = "auto",
        progress: bool = False,
        cache: Path | None | bool = True,
    ):
        self.config = resolve(config) if isinstance(config, str) else config.validate()
        self.device = device
        self.progress = progress
        self.cache = cache
        self.vocab: Vocab | None = None
        self.model: LSTMClassifier | None = None
        self.metrics: dict = {}
        self.validation_: tuple[np.ndarray, np.ndarray] | None = None  # (labels, P(positive)), set by fit

    # -- text -> ids --------------------------------------------------------------------------

    def _cache_dir(self, n_texts: int) -> Path | None:
        if n_texts < CACHE_MIN_TEXTS:
            return None  # a few predictions: reading/writing a cache file costs more than it saves
        if self.cache is True:
            return cache_dir() / "tokens"
        return self.cache or None

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Cleaned, analysed and stopword-filtered tokens, one list per text."""
        cfg = self.config
        cleaned = [clean_hangul(t) for t in texts] if cfg.clean else list(texts)
        docs = tokenize(cleaned, cfg.tokenizer, cache=self._cache_dir(len(cleaned)), progress=self.progress)
        stop = frozenset(cfg.stopwords)
        return [remove_stopwords(d, stop) for d in docs]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Padded ids (N, max_len) for any texts, empty ones included (all padding)."""
        if self.vocab is None:
            raise KsentError("no vocabulary yet: call fit(texts, labels) or prepare(data), or ksent.load(DIR)")
        with _gc_paused():
            ids = self.vocab.encode_all(self.tokens(texts))
        return pad_sequences(ids, self.config.max_len, self.config.padding, self.config.truncating)

    # -- fit / predict ------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> "SentimentClassifier":
        """Train on raw reviews and 0/1 labels; rows are filtered as the seed filters them."""
        texts = _check_texts(texts)
        y = np.asarray(labels)
        if len(y) != len(texts):
            raise KsentError(f"got {len(texts)} texts but {len(y)} labels; they must pair up")
        if not np.isin(y, (0, 1)).all():
            raise KsentError(f"labels must be 0 or 1, found {sorted(set(np.unique(y).tolist()) - {0, 1})[:5]}")
        data = Labelled(Path("<fit>"), texts, y.astype(int).tolist(), list(range(1, len(texts) + 1)))
        return self.fit_labelled(data)

    def prepare(self, data: Labelled) -> tuple[np.ndarray, np.ndarray, DropReport]:
        """Training rows -> padded ids (N, max_len) and labels (N,), fitting the vocabulary on the way.

        Rows are filtered as the seed filters them; the report counts every dropped row by reason.
        """
        cfg = self.config
        kept, report = clean_training(data, clean=cfg.clean)
        with _gc_paused():
            docs = self.tokens(kept.texts)
            # Vocabulary over all training rows (validation included), as the seed's Tokenizer does.
            self.vocab = Vocab.fit(docs, min_count=cfg.min_count, oov=cfg.oov)
            ids = self.vocab.encode_all(docs)
        keep = []
        for i, seq in enumerate(ids):
            if seq:
                keep.append(i)
            else:
                report.drop("no tokens left after stopword/rare-word removal", kept.lines[i])
        report.kept = len(keep)
        x = pad_sequences([ids[i] for i in keep], cfg.max_len, cfg.padding, cfg.truncating)
        y = np.asarray([kept.labels[i] for i in keep], dtype=np.int64)
        return x, y, report

    def fit_labelled(self, data: Labelled) -> "SentimentClassifier":
        cfg = self.config
        x, y, report = self.prepare(data)
        if self.progress:
            print(f"{data.path}: {report.summary()}")
        self.model, history = fit(cfg, x, y, len(self.vocab), self.device, self.progress)
        # The last n_val rows are the validation split: their scores under the kept weights go into
        # metrics.json and the run's plots (the test set is never looked at during training).
        y_val = y[len(y) - history["n_val"] :]
        logits = evaluate_logits(self.model, x[len(x) - len(y_val) :], next(self.model.parameters()).device)
        self.validation_ = (y_val, 1.0 / (1.0 + np.exp(-logits.astype(np.float64))))
        self.metrics = {
            "data": {"train_file": str(data.path), **report.to_dict()},
            "vocab_size": len(self.vocab),
            "training": history,
            "validation": classification_report(*self.validation_),
        }
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, 2) probabilities [P(negative), P(positive)]."""
        texts = _check_texts(texts)
        self._check_fitted()
        logits = evaluate_logits(self.model, self.encode(texts), next(self.model.parameters()).device)
        p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        return np.stack([1.0 - p, p], axis=1)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(texts)[:, 1] >= 0.5).astype(np.int64)

    def explain(self, text: str) -> Explanation:
        """One review opened up: tokens with spans and evidence, gates and cell state at every step.

        See `ksent.explain.Explanation` (`.to_dict()` for JSON, `ksent.explain.plot` for a heatmap).
        """
        self._check_fitted()
        return explain_review(self.model, self.vocab, self.config, text)

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | Path, report: bool = False) -> Path:
        """Write the model folder. With `report`, also the run's plots (learning curves; confusion
        matrix, ROC curve and score histogram on the validation split) and report.html, written
        into the folder before it is renamed into place; needs a model fitted in this session."""
        self._check_fitted()
        extra = None
        if report:
            if self.validation_ is None:
                raise KsentError("report=True needs the validation scores that fit() keeps; a loaded model has none")
            from ksent.report import write_run_report

            def extra(folder: Path) -> None:
                write_run_report(folder, self.metrics, self.config, *self.validation_)

        return artifacts.save(path, self.model.state_dict(), self.config, self.vocab, self.metrics, extra=extra)

    def _check_fitted(self) -> None:
        if self.model is None or self.vocab is None:
            raise KsentError("this classifier is not trained yet: call fit(texts, labels) or ksent.load(DIR)")


def load(path: str | Path, device: str = "auto", progress: bool = False) -> SentimentClassifier:
    """Load a model folder written by `ksent train` / `SentimentClassifier.save`."""
    state, cfg, vocab, metrics = artifacts.load(path)
    clf = SentimentClassifier(cfg, device=device, progress=progress)
    model = LSTMClassifier(len(vocab), cfg)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise KsentError(f"{path}: weights do not match config.json/vocab.json ({str(e).splitlines()[0]})") from None
    clf.model = model.to(resolve_device(device)).eval()
    clf.vocab, clf.metrics = vocab, metrics
    return clf
