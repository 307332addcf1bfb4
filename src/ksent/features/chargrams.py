"""Character n-grams: the review as the set of its 1- to 4-character pieces (by default), read by a
linear member.

The view of the character TF-IDF + logistic regression baseline (scikit-learn's `char_wb`
analyser): the raw review lowercased, each whitespace-separated word padded with a space on each
side (" 꿀잼 "), and every 1- to 4-gram (by default) inside a padded word; a word shorter than n
gives itself once. Its errors differ most from the LSTMs' (docs/benchmarks.md#views-amd), so a teacher gains
most from it. A review's block lists each n-gram it holds once (the order they first appear, post-
padded); n-grams seen in fewer than `min_count` training reviews are left out (no OOV id).

With `across` (scikit-learn's `char` analyser), the n-grams run over the whole review, spaces
included ("안 재", "재밌" in "안 재밌"; each run of two or more whitespace characters read as one
space): phrases whatever the spacing, which `char_wb` splits at each space
(docs/benchmarks.md#chargrams-across has the runs).

The members that read this block are linear (`ksent.models.linear`), not LSTMs: the block is what
they weigh, not a sequence. Options (`views={"chargrams": {...}}`): members, max_len (n-grams kept
per review; default 400, NSMC's 99th percentile is about 350 for 1- to 4-grams inside words, 465 for
2- to 6-grams across them, at most 648), min_count (default 2), min_n and max_n (the n-grams' lengths;
default 1 and 4), across (default false).
"""

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ksent.config import Config
from ksent.errors import KsentError
from ksent.features import register
from ksent.features.base import QUIET, Featurizer, Run
from ksent.runtime import gc_paused
from ksent.text.tokenizers import Token
from ksent.text.vocab import pad_sequences

MAX_LEN = 400
MIN_COUNT = 2
NGRAMS = (1, 4)
_WORD = re.compile(r"\S+")
_SPACES = re.compile(r"\s\s+")  # what scikit-learn's `char` analyser reads as one space


def ngrams(text: str, n: tuple[int, int] = NGRAMS, across: bool = False) -> list[Token]:
    """Every character n-gram of `text` as scikit-learn's `char_wb` analyser makes them (`char` with
    `across`), in order, each with its span in `text` (the padding spaces are not part of the text).

    >>> [(t.form, t.start, t.end) for t in ngrams("꿀잼")][:4]
    [(' ', 0, 0), ('꿀', 0, 1), ('잼', 1, 2), (' ', 2, 2)]
    >>> [(t.form, t.start, t.end) for t in ngrams("안  재밌", (3, 3), across=True)]
    [('안 재', 0, 4), (' 재밌', 1, 5)]
    """
    if across:
        joined, starts, ends = _joined(text)
        return [
            Token(joined[k : k + m], starts[k], ends[k + m - 1])
            for m in range(n[0], n[1] + 1)
            for k in range(len(joined) - m + 1)
        ]
    out = []
    for word in _WORD.finditer(text):
        # w[k] is text[base + k] inside the word (where lowercasing keeps its length, as for Hangul)
        w, base = f" {word.group().lower()} ", word.start() - 1
        lo, hi = word.start(), word.end()
        for m in range(n[0], n[1] + 1):
            last = max(len(w) - m, 0)  # a padded word shorter than m gives itself, once
            for k in range(last + 1):
                start, end = min(max(base + k, lo), hi), max(min(base + k + m, hi), lo)
                out.append(Token(w[k : k + m], start, end))
            if last == 0:
                break
    return out


def _joined(text: str) -> tuple[str, list[int], list[int]]:
    """`text` as the `char` analyser reads it (lowercased, each run of whitespace characters one space),
    with the span in `text` each of its characters comes from (a run's space spans the run; a character
    whose lowercase is longer, as İ's, gives each of its characters its own span)."""
    low, parts, starts, ends, last = text.lower(), [], [], [], 0
    src = [i for i, c in enumerate(text) for _ in c.lower()]  # low[j] comes from text[src[j]]
    for run in _SPACES.finditer(low):
        parts += [low[last : run.start()], " "]
        starts += [*src[last : run.start()], src[run.start()]]
        ends += [*(i + 1 for i in src[last : run.start()]), src[run.end() - 1] + 1]
        last = run.end()
    parts.append(low[last:])
    starts += src[last:]
    ends += (i + 1 for i in src[last:])
    return "".join(parts), starts, ends


def forms(text: str, n: tuple[int, int] = NGRAMS, across: bool = False) -> list[str]:
    """The n-grams of `ngrams(text)`, each once, without their spans: what a block holds, made about
    three times as fast (a teacher reads every perturbed copy a student learns from)."""
    return unique(grams(text, n, across))


def grams(text: str, n: tuple[int, int] = NGRAMS, across: bool = False) -> list[str]:
    """The n-grams of `ngrams(text)`, repeats included, without their spans (lowercase already)."""
    if across:
        s = _SPACES.sub(" ", text.lower())
        return [s[k : k + m] for m in range(n[0], n[1] + 1) for k in range(len(s) - m + 1)]
    out: list[str] = []
    for word in _WORD.finditer(text):
        w = f" {word.group().lower()} "
        for m in range(n[0], n[1] + 1):
            if len(w) <= m:  # a padded word no longer than m gives itself, once
                out.append(w)
                break
            out += [w[k : k + m] for k in range(len(w) - m + 1)]
    return out


def known_ids(
    units: Iterable[Iterable[str]], index: Mapping[str, int], width: int, padding: str, truncating: str
) -> np.ndarray:
    """Each row's units as the ids `index` gives them, each id once where it first appears, unknown units
    left out, padded and cut to `width`: a linear block's `encode` in one pass per row (no list of unique
    strings, no second pass to drop repeats). The units must be lowercase already, as the vocabulary's
    words are (`Vocab.lookup` lowercases them first; lowercasing a lowercased string changes nothing)."""
    get, rows = index.get, []
    with gc_paused():
        for row in units:
            ids = dict.fromkeys(map(get, row))
            ids.pop(None, None)
            rows.append(ids)  # a dict iterates its keys in insertion order: the ids as they first appear
        return pad_sequences(rows, width, padding, truncating)


def unique(forms: Sequence) -> list:
    """Each item once, where it first appears."""
    return list(dict.fromkeys(forms))


@register
class Chargrams(Featurizer):
    kind = "chargrams"
    network = "linear"
    oov = False  # as TF-IDF: an n-gram outside the vocabulary weighs nothing
    OPTIONS = ("max_len", "min_count", "min_n", "max_n")
    FLAGS = ("across",)

    def __init__(self, cfg: Config, options: Mapping | None = None):
        defaults = {"max_len": MAX_LEN, "min_count": MIN_COUNT, "min_n": NGRAMS[0], "max_n": NGRAMS[1]}
        super().__init__(cfg, {**defaults, "across": False, **(options or {})})
        self.n = (int(self.options["min_n"]), int(self.options["max_n"]))
        self.across = bool(self.options["across"])
        if self.n[0] > self.n[1]:
            raise KsentError(
                f"config {cfg.name!r}: the 'chargrams' view's min_n ({self.n[0]}) is above its max_n ({self.n[1]}; "
                f"default {NGRAMS[1]}): set max_n too"
            )
        self.padding = self.truncating = "post"  # a set, not a sequence: keep the first max_len

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        return [forms(text, self.n, self.across) for text in texts]

    def encode(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        # the ids `Featurizer.encode` gives (the test says so), about twice as fast: a teacher reads ~1 M copies
        rows = (grams(text, self.n, self.across) for text in texts)
        return known_ids(rows, self._fitted().index, self.width, self.padding, self.truncating)

    def units(self, text: str) -> list[Token]:
        return ngrams(text, self.n, self.across)

    def pad(self, seqs: Sequence[Sequence[int]]) -> np.ndarray:
        # explain's variants delete units one occurrence at a time: an n-gram counts once per row
        return pad_sequences([unique(s) for s in seqs], self.width, self.padding, self.truncating)

    def epochs(self, cfg: Config) -> int:
        return 1  # a linear member is fitted once, to convergence (ksent.train)
