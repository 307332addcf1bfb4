from ksent.text import SEED_STOPWORDS, clean_hangul, read_stopwords, remove_stopwords


def test_clean_really_removes_non_hangul():
    # The seed's str.replace("[^ㄱ-ㅎㅏ-ㅣ가-힣 ]", "") is a no-op on pandas >= 2; ours must clean.
    assert clean_hangul("너무재밓었다그래서보는것을추천한다 10/10!!") == "너무재밓었다그래서보는것을추천한다 "
    assert clean_hangul("GOOD 최고의 movie~ ㅋㅋㅠㅠ") == "최고의  ㅋㅋㅠㅠ"
    assert clean_hangul("...!!!") == ""
    assert clean_hangul("   앞 공백") == "앞 공백"


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


def test_read_stopwords_file(hangul_root):
    f = hangul_root / "불용어.txt"
    f.write_text("# 주석\n영화\n\n  정말 \n", encoding="utf-8")
    assert read_stopwords(f) == ("영화", "정말")
