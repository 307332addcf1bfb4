"""Syllables: every character of the (cleaned, if `clean`) review, whitespace as "▁".

A view the token members lack: no analyser decides where a word ends, so its errors differ from
theirs and an ensemble's mean gains (docs/benchmarks.md).
"""

import re
from collections.abc import Mapping, Sequence

from ksent.config import Config
from ksent.features.base import Featurizer, Run
from ksent.text.clean import clean_hangul, clean_with_offsets
from ksent.text.tokenizers import Token

SPACE = "▁"  # what a syllable member reads for whitespace
_WHITESPACE = re.compile(r"\s")


def syllables(text: str, clean: bool = True) -> list[str]:
    """What a syllable member reads: every character of the (cleaned) text, whitespace as "▁".

    >>> syllables("꿀잼 ㅋㅋ!", clean=False)
    ['꿀', '잼', '▁', 'ㅋ', 'ㅋ', '!']
    """
    return list(_WHITESPACE.sub(SPACE, clean_hangul(text) if clean else text))


class Syllables(Featurizer):
    kind = "syllables"

    def __init__(self, cfg: Config, options: Mapping | None = None):
        super().__init__(cfg, {"max_len": cfg.syllable_max_len, "epochs": cfg.syllable_epochs or cfg.epochs})
        self.clean = cfg.clean

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        return [syllables(t, self.clean) for t in texts]

    def units(self, text: str) -> list[Token]:
        chars, where = clean_with_offsets(text) if self.clean else (text, range(len(text)))
        return [Token(SPACE if c.isspace() else c, where[k], where[k] + 1) for k, c in enumerate(chars)]
