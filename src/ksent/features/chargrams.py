"""Character n-grams: the review as the set of its 1- to 4-character pieces, read by a linear member.

The view of the character TF-IDF + logistic regression baseline (scikit-learn's `char_wb`
analyser): the raw review lowercased, each whitespace-separated word padded with a space on each
side (" 꿀잼 "), and every 1- to 4-gram inside a padded word; a word shorter than n gives itself
once. Its errors differ most from the LSTMs' (docs/benchmarks.md#views-amd), so a teacher gains
most from it. A review's block lists each n-gram it holds once (the order they first appear, post-
padded); n-grams seen in fewer than `min_count` training reviews are left out (no OOV id).

The members that read this block are linear (`ksent.models.linear`), not LSTMs: the block is what
they weigh, not a sequence. Options (`views={"chargrams": {...}}`): members, max_len (n-grams kept
per review; default 400, NSMC's 99th percentile is about 350), min_count (default 2).
"""

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ksent.config import Config
from ksent.features import register
from ksent.features.base import QUIET, Featurizer, Run
from ksent.runtime import gc_paused
from ksent.text.tokenizers import Token
from ksent.text.vocab import pad_sequences

MAX_LEN = 400
MIN_COUNT = 2
NGRAMS = (1, 4)
_WORD = re.compile(r"\S+")


def ngrams(text: str) -> list[Token]:
    """Every character n-gram of `text` as scikit-learn's `char_wb` analyser makes them, in order,
    each with its span in `text` (the padding spaces are not part of the text).

    >>> [(t.form, t.start, t.end) for t in ngrams("꿀잼")][:4]
    [(' ', 0, 0), ('꿀', 0, 1), ('잼', 1, 2), (' ', 2, 2)]
    """
    out = []
    for word in _WORD.finditer(text):
        # w[k] is text[base + k] inside the word (where lowercasing keeps its length, as for Hangul)
        w, base = f" {word.group().lower()} ", word.start() - 1
        lo, hi = word.start(), word.end()
        for n in range(NGRAMS[0], NGRAMS[1] + 1):
            last = max(len(w) - n, 0)  # a padded word shorter than n gives itself, once
            for k in range(last + 1):
                start, end = min(max(base + k, lo), hi), max(min(base + k + n, hi), lo)
                out.append(Token(w[k : k + n], start, end))
            if last == 0:
                break
    return out


def forms(text: str) -> list[str]:
    """The n-grams of `ngrams(text)`, each once, without their spans: what a block holds, made about
    three times as fast (a teacher reads every perturbed copy a student learns from)."""
    return unique(grams(text))


def grams(text: str) -> list[str]:
    """The n-grams of `ngrams(text)`, repeats included, without their spans (lowercase already)."""
    out: list[str] = []
    for word in _WORD.finditer(text):
        w = f" {word.group().lower()} "
        for n in range(NGRAMS[0], NGRAMS[1] + 1):
            if len(w) <= n:  # a padded word no longer than n gives itself, once
                out.append(w)
                break
            out += [w[k : k + n] for k in range(len(w) - n + 1)]
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
    OPTIONS = ("max_len", "min_count")

    def __init__(self, cfg: Config, options: Mapping | None = None):
        super().__init__(cfg, {"max_len": MAX_LEN, "min_count": MIN_COUNT, **(options or {})})
        self.padding = self.truncating = "post"  # a set, not a sequence: keep the first max_len

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        return [forms(text) for text in texts]

    def encode(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        # the ids `Featurizer.encode` gives (the test says so), about twice as fast: a teacher reads ~1 M copies
        return known_ids(map(grams, texts), self._fitted().index, self.width, self.padding, self.truncating)

    def units(self, text: str) -> list[Token]:
        return ngrams(text)

    def pad(self, seqs: Sequence[Sequence[int]]) -> np.ndarray:
        # explain's variants delete units one occurrence at a time: an n-gram counts once per row
        return pad_sequences([unique(s) for s in seqs], self.width, self.padding, self.truncating)

    def epochs(self, cfg: Config) -> int:
        return 1  # a linear member is fitted once, to convergence (ksent.train)
