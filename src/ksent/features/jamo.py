"""Jamo (자모): every Hangul syllable read as its letters, initial, medial and final (한 -> ᄒ ᅡ ᆫ).

The third view of the word / syllable / phoneme LSTM ensemble of Oh, Kim & Kim (Journal of KIISE
46(1), 2019). A syllable member sees 재밌 and 재밋 as unrelated characters; a jamo member sees
them share all but one letter, so typos, dropped final consonants and contracted endings
(-ㅂ니다, -ㅆ다) look alike. Initial and final consonants stay distinct letters (ᄀ vs ᆨ: the
decomposition Unicode defines, NFD), so syllable boundaries need no marker. Other characters
(digits, Latin, emoji, stand-alone ㅋ/ㅠ) are read as they are and whitespace as "▁", as a syllable
member reads them. Options (`views={"jamo": {...}}`): members, max_len (letters; default 300),
epochs, min_count.
"""

import unicodedata
from collections.abc import Mapping, Sequence

from ksent.config import Config
from ksent.features import register
from ksent.features.base import Featurizer, Run
from ksent.features.syllables import SPACE
from ksent.text.clean import clean_hangul, clean_with_offsets
from ksent.text.tokenizers import Token

MAX_LEN = 300  # letters: NSMC's reviews (at most 140 characters) are ~2.3 letters per character


def letters(char: str) -> str:
    """One character as a jamo member reads it: a Hangul syllable's letters, whitespace "▁", anything
    else itself.

    >>> [letters(c) for c in "한 값!"]
    ['한', '▁', '값', '!']
    """
    if "\uac00" <= char <= "\ud7a3":
        return unicodedata.normalize("NFD", char)
    return SPACE if char.isspace() else char


def jamo(text: str, clean: bool = True) -> list[str]:
    """What a jamo member reads: the letters of the (cleaned) text, in order.

    >>> jamo("꿀잼 ㅋㅋ", clean=False)
    ['ᄁ', 'ᅮ', 'ᆯ', 'ᄌ', 'ᅢ', 'ᆷ', '▁', 'ㅋ', 'ㅋ']
    """
    return [j for c in (clean_hangul(text) if clean else text) for j in letters(c)]


@register
class Jamo(Featurizer):
    kind = "jamo"

    def __init__(self, cfg: Config, options: Mapping | None = None):
        super().__init__(cfg, {"max_len": MAX_LEN, **(options or {})})
        self.clean = cfg.clean

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        return [jamo(t, self.clean) for t in texts]

    def units(self, text: str) -> list[Token]:
        """Each letter, spanning the character it came from (a syllable's letters share its span)."""
        chars, where = clean_with_offsets(text) if self.clean else (text, range(len(text)))
        return [Token(j, where[k], where[k] + 1) for k, c in enumerate(chars) for j in letters(c)]
