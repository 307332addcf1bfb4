"""Pure text functions: the seed's Hangul-only cleaning and its stopword list."""

import re
from collections.abc import Iterable
from pathlib import Path

from ksent.errors import KsentError

# The seed's stopwords, verbatim.
SEED_STOPWORDS: tuple[str, ...] = (
    "의",
    "가",
    "이",
    "은",
    "들",
    "는",
    "좀",
    "잘",
    "걍",
    "과",
    "도",
    "를",
    "으로",
    "자",
    "에",
    "와",
    "한",
    "하다",
)

# The seed keeps Hangul jamo, Hangul syllables and spaces. It wrote this as
# `str.replace("[^ㄱ-ㅎㅏ-ㅣ가-힣 ]", "")`, which on pandas >= 2 is a literal (non-regex)
# replace and so changes nothing; here the pattern is really applied.
_NOT_HANGUL = re.compile("[^ㄱ-ㅎㅏ-ㅣ가-힣 ]")
_LEADING_SPACES = re.compile("^ +")


def clean_hangul(text: str) -> str:
    """Keep only Hangul and spaces, then strip leading spaces (as the classic NSMC chapter does).

    >>> clean_hangul("아 더빙.. 진짜 짜증나네요 목소리!! 10점 ㅋㅋ")
    '아 더빙 진짜 짜증나네요 목소리 점 ㅋㅋ'
    """
    return _LEADING_SPACES.sub("", _NOT_HANGUL.sub("", text))


def remove_stopwords(tokens: Iterable[str], stopwords: frozenset[str]) -> list[str]:
    return [t for t in tokens if t not in stopwords]


def read_stopwords(path: str | Path) -> tuple[str, ...]:
    """One stopword per line; blank lines and lines starting with '#' are ignored."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise KsentError(f"stopword file not found: {path} (expected one word per line, UTF-8)") from None
    except UnicodeDecodeError as e:
        raise KsentError(f"{path}: byte {e.start} is not UTF-8; save the stopword file as UTF-8") from None
    return tuple(w.strip() for w in lines if w.strip() and not w.lstrip().startswith("#"))
