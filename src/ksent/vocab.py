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
    """`words[i - 1]` has id i; with `oov`, words[0] is OOV_TOKEN (id 1)."""

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

    def encode(self, doc: Sequence[str]) -> list[int]:
        get = self.index.get
        if self.oov:
            return [get(t.lower(), 1) for t in doc]
        return [i for t in doc if (i := get(t.lower())) is not None]

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


def pad_sequences(
    seqs: Sequence[Sequence[int]], maxlen: int, padding: str = "pre", truncating: str = "pre", value: int = 0
) -> np.ndarray:
    """Keras `pad_sequences`: an int64 array of shape (len(seqs), maxlen)."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise KsentError(f"padding and truncating must be 'pre' or 'post', got {padding!r}, {truncating!r}")
    if maxlen < 1:
        raise KsentError(f"max_len must be at least 1, got {maxlen}")
    out = np.full((len(seqs), maxlen), value, dtype=np.int64)
    for row, s in enumerate(seqs):
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if not len(s):
            continue
        if padding == "pre":
            out[row, maxlen - len(s) :] = s
        else:
            out[row, : len(s)] = s
    return out
