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
_KEPT_RUNS = re.compile("[ㄱ-ㅎㅏ-ㅣ가-힣 ]+")


def hangul_runs(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of `text` that Hangul-only cleaning keeps, leading spaces stripped.

    The one definition of the cleaning: `clean_hangul` joins these spans, `clean_with_offsets`
    also maps each kept character back to its place in `text`.

    >>> hangul_runs("  10점 좋아!")
    [(4, 8)]
    """
    runs = [m.span() for m in _KEPT_RUNS.finditer(text)]
    while runs:  # the classic chapter strips leading spaces after cleaning
        start, end = runs[0]
        lead = len(text[start:end]) - len(text[start:end].lstrip(" "))
        if lead < end - start:
            runs[0] = (start + lead, end)
            break
        runs.pop(0)
    return runs


def clean_hangul(text: str) -> str:
    """Keep only Hangul and spaces, then strip leading spaces (as the classic NSMC chapter does).

    >>> clean_hangul("아 더빙.. 진짜 짜증나네요 목소리!! 10점 ㅋㅋ")
    '아 더빙 진짜 짜증나네요 목소리 점 ㅋㅋ'
    """
    return "".join(text[s:e] for s, e in hangul_runs(text))


def clean_with_offsets(text: str) -> tuple[str, list[int]]:
    """`clean_hangul(text)` and, for each of its characters, the index in `text` it came from.

    >>> clean_with_offsets("10점 좋아!")
    ('점 좋아', [2, 3, 4, 5])
    """
    runs = hangul_runs(text)
    return "".join(text[s:e] for s, e in runs), [i for s, e in runs for i in range(s, e)]


def is_stopword(tokens: Iterable[str], stopwords: frozenset[str]) -> list[bool]:
    """For each token, whether the stopword rule removes it (exact match, as the seed compares)."""
    return [t in stopwords for t in tokens]


def remove_stopwords(tokens: Iterable[str], stopwords: frozenset[str]) -> list[str]:
    return [t for t in tokens if t not in stopwords]  # the rule of is_stopword, inlined: it runs per token


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
