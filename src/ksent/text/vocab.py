"""Tokens -> ids, with the semantics of Keras' `Tokenizer` and `pad_sequences`.

Keras details kept on purpose (the `seed` config depends on them):
- ids are ranks by descending count, ties broken by first appearance; 0 is never a word id;
- with an OOV token it takes id 1 and unknown/rare words map to it; without one they vanish;
- tokens are lower-cased (Keras `lower=True`);
- padding and truncation happen at the front ('pre') unless asked otherwise.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from ksent.errors import KsentError

OOV_TOKEN = "<OOV>"


@dataclass
class Vocab:
    """`words[i - 1]` has id i; with `oov`, words[0] is OOV_TOKEN (id 1). One vocabulary of one
    featurizer (`ksent.features`), which keeps whatever else it learnt beside it."""

    words: list[str]
    oov: bool

    @classmethod
    def fit(
        cls, docs: Iterable[Sequence[str]], min_count: int = 1, oov: bool = False, max_size: int | None = None
    ) -> "Vocab":
        """Count tokens and keep those seen at least `min_count` times (at most `max_size`)."""
        counts = Counter(map(str.lower, chain.from_iterable(docs)))
        # Counter keeps first-appearance order and sorted() is stable: Keras' tie-breaking.
        ranked = [w for w, c in sorted(counts.items(), key=lambda wc: wc[1], reverse=True) if c >= min_count]
        if max_size is not None:
            ranked = ranked[:max_size]
        return cls(([OOV_TOKEN] if oov else []) + ranked, oov)

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words, 1)}

    def __len__(self) -> int:
        """Embedding rows needed: the word ids plus padding id 0."""
        return len(self.words) + 1

    def lookup(self, doc: Sequence[str]) -> list[int | None]:
        """The id of each token: its rank, 1 (OOV) if unknown and the vocabulary has an OOV id,
        else None (the token is deleted, as the seed's Tokenizer deletes it)."""
        get, oov = self.index.get, 1 if self.oov else None
        return [get(t.lower(), oov) for t in doc]

    def encode(self, doc: Sequence[str]) -> list[int]:
        return [i for i in self.lookup(doc) if i is not None]

    def encode_all(self, docs: Iterable[Sequence[str]]) -> list[list[int]]:
        """`encode` for many docs; each distinct token is lower-cased and looked up once."""
        get, oov = self.index.get, 1 if self.oov else None

        class Lookup(dict):
            def __missing__(self, token: str) -> int | None:
                self[token] = i = get(token.lower(), oov)
                return i

        ids = Lookup().__getitem__
        if self.oov:
            return [list(map(ids, d)) for d in docs]
        return [[i for i in map(ids, d) if i is not None] for d in docs]

    def id_map(self, units: Sequence[str]) -> np.ndarray:
        """`units` (a tokenizer's pieces, by the tokenizer's id) -> this vocabulary's ids, as `lookup`
        gives them, with -1 where `lookup` gives None: ids of the tokenizer become ids of the model
        in one indexing."""
        get, oov = self.index.get, 1 if self.oov else -1
        return np.fromiter((get(u.lower(), oov) for u in units), np.int64, len(units))


def pad_flat(
    flat: np.ndarray, lengths: np.ndarray, maxlen: int, padding: str = "pre", truncating: str = "pre", value: int = 0
) -> np.ndarray:
    """`pad_sequences` for sequences given end to end (`flat`, each `lengths` long), vectorised: each
    keeps `kept_part` of its ids, from step `first_step` on.

    >>> pad_flat(np.array([5, 6, 7, 8, 9, 4]), np.array([5, 0, 1]), 3, padding="post").tolist()
    [[7, 8, 9], [0, 0, 0], [4, 0, 0]]
    """
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise KsentError(f"padding and truncating must be 'pre' or 'post', got {padding!r}, {truncating!r}")
    if maxlen < 1:
        raise KsentError(f"max_len must be at least 1, got {maxlen}")
    kept = np.minimum(lengths, maxlen)
    starts = np.cumsum(lengths) - lengths  # where each sequence begins in `flat`
    src = starts + (lengths - kept if truncating == "pre" else 0)  # its first kept id
    dst = maxlen - kept if padding == "pre" else np.zeros_like(kept)  # the step that id lands on
    k = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)  # position among the kept
    out = np.full((len(lengths), maxlen), value, dtype=np.int64)
    rows = np.arange(len(lengths)) * maxlen
    out.reshape(-1)[np.repeat(rows + dst, kept) + k] = flat[np.repeat(src, kept) + k]
    return out


def kept_part(n: int, maxlen: int, truncating: str = "pre") -> slice:
    """Which of a sequence's `n` ids survive truncation to `maxlen` ('pre' keeps the last ones).

    >>> kept_part(5, 3, "pre"), kept_part(5, 3, "post"), kept_part(2, 3)
    (slice(2, 5, None), slice(0, 3, None), slice(0, 2, None))
    """
    if n <= maxlen:
        return slice(0, n)
    return slice(n - maxlen, n) if truncating == "pre" else slice(0, maxlen)


def first_step(n: int, maxlen: int, padding: str = "pre") -> int:
    """The time step that the first of `n` (<= maxlen) kept ids lands on after padding."""
    return maxlen - n if padding == "pre" else 0


def pad_sequences(
    seqs: Sequence[Sequence[int]], maxlen: int, padding: str = "pre", truncating: str = "pre", value: int = 0
) -> np.ndarray:
    """Keras `pad_sequences`: an int64 array of shape (len(seqs), maxlen)."""
    lengths = np.fromiter(map(len, seqs), np.int64, len(seqs))
    flat = np.fromiter(chain.from_iterable(seqs), np.int64, int(lengths.sum()))
    return pad_flat(flat, lengths, maxlen, padding, truncating, value)
