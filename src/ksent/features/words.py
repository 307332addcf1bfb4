"""Word n-grams: the review as the set of its analyser tokens and their runs of two and three, read by
a linear member.

The tokens block's analysis (the config's tokenizer, tags, cleaning and stopwords: "영화/NNG",
"재밌/VA"), each token and each run of up to `n` neighbouring tokens ("재밌/VA 었/EP 다/EF") listed
once, in the order they first appear (post-padded); n-grams seen in fewer than `min_count` training
reviews are left out (no OOV id). A linear member (`ksent.models.linear`, TF-IDF weights and logistic
regression) over these sees phrases the character n-grams split ("안 재밌" as two morphemes in a row,
whatever the spacing) and errs differently again from both the LSTMs and the character n-grams: beside
them it is what lifted the `teacher` preset (docs/benchmarks.md#words-view). The analysis is the
tokens block's: a feature set's blocks share one per call (`ksent.text.tokenizers.analyses_shared`), so
the analyser runs once for both.

Options (`views={"words": {...}}`): members, n (the longest run; default 3), max_len (n-grams kept per
review; default 400), min_count (default 2).
"""

from collections.abc import Mapping, Sequence

import numpy as np

from ksent.config import Config
from ksent.features import register
from ksent.features.base import QUIET, Run
from ksent.features.chargrams import Chargrams, known_ids, unique
from ksent.features.tokens import Tokens
from ksent.text.clean import is_stopword
from ksent.text.tokenizers import Token

MAX_LEN = 400
MIN_COUNT = 2
N = 3
SEP = " "  # between the tokens of an n-gram (an analyser's forms hold no space)


def ngrams(tokens: Sequence[str], n: int = N) -> list[str]:
    """Each token and each run of up to `n` neighbouring tokens, once, in the order they first appear.

    >>> ngrams(["안/MAG", "재밌/VA", "다/EF"], 2)
    ['안/MAG', '재밌/VA', '다/EF', '안/MAG 재밌/VA', '재밌/VA 다/EF']
    """
    return unique(runs(tokens, n))


def runs(tokens: Sequence[str], n: int = N) -> list[str]:
    """`ngrams` with repeats, in the same order."""
    return [SEP.join(tokens[i : i + k]) for k in range(1, n + 1) for i in range(len(tokens) - k + 1)]


@register
class Words(Tokens):
    kind = "words"
    network = "linear"
    OPTIONS = ("max_len", "min_count", "n")

    def __init__(self, cfg: Config, options: Mapping | None = None):
        super().__init__(cfg, {"max_len": MAX_LEN, "min_count": MIN_COUNT, "n": N, **(options or {})})
        self.n = int(self.options["n"])
        self.oov = False  # as TF-IDF: an n-gram outside the vocabulary weighs nothing
        self.padding = self.truncating = "post"  # a set, not a sequence: keep the first max_len

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        return [ngrams(doc, self.n) for doc in super().read(texts, run)]

    def encode(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        # the ids `Featurizer.encode` gives (never the subword ids path of Tokens), in one pass per row;
        # each n-gram lowercased as the vocabulary's words are
        docs = super().read(texts, run)
        rows = (map(str.lower, runs(doc, self.n)) for doc in docs)
        return known_ids(rows, self._fitted().index, self.width, self.padding, self.truncating)

    def units(self, text: str, workers: int | None = 1) -> list[Token]:
        """Each n-gram of the review's tokens (stopwords removed first, as `read` removes them),
        spanning its first token's start to its last token's end (None where a token has no span)."""
        tokens = super().units(text, workers)
        stop = is_stopword([t.form for t in tokens], self.stopwords)
        tokens = [t for t, s in zip(tokens, stop, strict=True) if not s]
        out, seen = [], set()
        for k in range(1, self.n + 1):
            for i in range(len(tokens) - k + 1):
                run = tokens[i : i + k]
                form = SEP.join(t.form for t in run)
                if form in seen:
                    continue
                seen.add(form)
                placed = all(t.start is not None for t in run)
                out.append(Token(form, run[0].start if placed else None, run[-1].end if placed else None))
        return out

    # a set of n-grams read by a linear member, as the character n-grams are: padded and fitted alike
    pad = Chargrams.pad
    epochs = Chargrams.epochs
