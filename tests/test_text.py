import re

import pytest

from ksent.data import nsmc_path, read_labelled
from ksent.text import SEED_STOPWORDS, clean_hangul, clean_with_offsets, read_stopwords, remove_stopwords
from ksent.text.clean import hangul_runs, is_stopword

NOT_KEPT = re.compile("[^ㄱ-ㅎㅏ-ㅣ가-힣 ]")


def seed_clean(text: str) -> str:
    """The classic chapter's two steps, written independently: drop non-Hangul, then leading spaces."""
    return NOT_KEPT.sub("", text).lstrip(" ")


def test_clean_really_removes_non_hangul():
    # The seed's str.replace("[^ㄱ-ㅎㅏ-ㅣ가-힣 ]", "") is a no-op on pandas >= 2; ours must clean.
    assert clean_hangul("너무재밓었다그래서보는것을추천한다 10/10!!") == "너무재밓었다그래서보는것을추천한다 "
    assert clean_hangul("GOOD 최고의 movie~ ㅋㅋㅠㅠ") == "최고의  ㅋㅋㅠㅠ"
    assert clean_hangul("...!!!") == ""
    assert clean_hangul("   앞 공백") == "앞 공백"


@pytest.mark.parametrize(
    "text, cleaned, offsets",
    [
        ("", "", []),
        ("...!!! 10/10 GOOD", "", []),  # nothing Hangul
        ("     ", "", []),  # only spaces: all leading
        ("   앞 공백", "앞 공백", [3, 4, 5, 6]),
        ("!! 좋다", "좋다", [3, 4]),  # the space became leading once "!!" went
        (" 1 2 좋아", "좋아", [5, 6]),  # leading spaces spread over several kept runs
        ("좋아 10 최고", "좋아  최고", [0, 1, 2, 5, 6, 7]),  # inner spaces stay
        ("10점 좋아!", "점 좋아", [2, 3, 4, 5]),
        ("ㅋㅋ\tㅠㅠ\n", "ㅋㅋㅠㅠ", [0, 1, 3, 4]),  # tabs and newlines are not kept spaces
    ],
)
def test_clean_with_offsets_hand_cases(text, cleaned, offsets):
    assert clean_with_offsets(text) == (cleaned, offsets)
    assert clean_hangul(text) == cleaned == seed_clean(text)
    assert "".join(text[s:e] for s, e in hangul_runs(text)) == cleaned


def test_clean_with_offsets_on_every_nsmc_test_review(nsmc_dir):
    texts = read_labelled(nsmc_path("test", nsmc_dir)).texts
    assert len(texts) == 50_000
    for n, t in enumerate(texts):
        cleaned, offsets = clean_with_offsets(t)
        assert cleaned == clean_hangul(t) == seed_clean(t), (n, t)
        assert len(offsets) == len(cleaned), (n, t)
        assert all(t[i] == c for i, c in zip(offsets, cleaned, strict=True)), (n, t)
        assert all(a < b for a, b in zip(offsets, offsets[1:], strict=False)), (n, t)  # in order, each char once


def test_seed_stopwords_verbatim():
    assert SEED_STOPWORDS == (
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
    assert remove_stopwords(["영화", "가", "좋다", "하다"], frozenset(SEED_STOPWORDS)) == ["영화", "좋다"]


def test_is_stopword_is_the_rule_remove_stopwords_applies():
    tokens = ["영화", "가", "가다", "하다", "", "의"]
    stop = frozenset(SEED_STOPWORDS)
    assert is_stopword(tokens, stop) == [False, True, False, True, False, True]  # exact match, not prefix
    assert remove_stopwords(tokens, stop) == [
        t for t, s in zip(tokens, is_stopword(tokens, stop), strict=True) if not s
    ]


def test_read_stopwords_file(hangul_root):
    f = hangul_root / "불용어.txt"
    f.write_text("# 주석\n영화\n\n  정말 \n", encoding="utf-8")
    assert read_stopwords(f) == ("영화", "정말")
