"""The pipeline for one review (`analyse`, `token_fates`) agrees with the corpus path (`model_tokens`, `encode`)."""

import re

import numpy as np
import pytest

from ksent.config import Config
from ksent.data import nsmc_path, read_labelled
from ksent.text import SEED_STOPWORDS, Vocab, clean_hangul, remove_stopwords, tokenize
from ksent.text.pipeline import STATUS, analyse, encode, model_tokens, token_fates

NOT_KEPT = re.compile("[^ㄱ-ㅎㅏ-ㅣ가-힣 ]")
N_VOCAB, N_DOCS = 4000, 3000


@pytest.mark.parametrize(
    "text",
    ["영화 10점!! 재밌었다", "   ...진짜 최고ㅋㅋ 10/10", "GOOD 배우 연기 good 좋았다!!", "재10밌다", "!!!", ""],
)
def test_analyse_spans_point_into_the_original_text(text):
    cfg = Config(tokenizer="kiwi")
    tokens = analyse(text, cfg)
    (expected,) = model_tokens([text], Config(tokenizer="kiwi", stopwords=[]))
    assert [t.form for t in tokens] == expected  # stopwords still in
    cleaned = clean_hangul(text)
    (in_cleaned,) = tokenize([cleaned], "kiwi", progress=False, spans=True)
    for t, c in zip(tokens, in_cleaned, strict=True):
        if c.start == c.end:
            assert t.start is None  # Kiwi's zero-width morphemes have no span
            continue
        # the original span is the cleaned span with what cleaning removed put back
        assert NOT_KEPT.sub("", text[t.start : t.end]) == cleaned[c.start : c.end], (text, t, c)
        assert text[t.start] == cleaned[c.start] and text[t.end - 1] == cleaned[c.end - 1]


def test_analyse_hand_worked():
    cfg = Config(tokenizer="kiwi")
    assert [tuple(t) for t in analyse("영화 10점!! 재밌었다", cfg)] == [
        ("영화", 0, 2),
        ("점", 5, 6),
        ("재밌다", 9, 11),
        ("었", 11, 12),
        ("다", 12, 13),
    ]
    assert [tuple(t) for t in analyse("  ^^ 최고", cfg)] == [("최고", 5, 7)]
    assert analyse("10/10!!", cfg) == []


def test_analyse_with_tags():
    cfg = Config(tokenizer="kiwi", tags=True, stopwords=[])
    text = "영화 10점!! 재밌었다"
    tokens = analyse(text, cfg)
    assert [t.form for t in tokens] == model_tokens([text], cfg)[0]
    assert [(t.form, text[t.start : t.end]) for t in tokens][:2] == [("영화/NNG", "영화"), ("점/NNG", "점")]


def test_analyse_without_cleaning_uses_the_text_as_is():
    cfg = Config(tokenizer="kiwi", clean=False)
    text = "영화 10점!! 재밌었다"
    tokens = analyse(text, cfg)
    assert [t.form for t in tokens] == model_tokens([text], Config(tokenizer="kiwi", clean=False, stopwords=[]))[0]
    assert ("10", 3, 5) in [tuple(t) for t in tokens]
    assert text[tokens[0].start : tokens[0].end] == "영화"


def test_analyse_okt_maps_into_the_original_text():
    pytest.importorskip("konlpy")
    text = "아 더빙.. 진짜 짜증나네요 목소리"
    tokens = analyse(text, Config(tokenizer="okt"))
    assert [t.form for t in tokens] == model_tokens([text], Config(tokenizer="okt", stopwords=[]))[0]
    spans = {t.form: text[t.start : t.end] for t in tokens}
    assert spans["더빙"] == "더빙" and spans["짜증나다"] == "짜증나네요" and spans["목소리"] == "목소리"


def test_analyse_on_nsmc_reviews(nsmc_dir):
    texts = read_labelled(nsmc_path("test", nsmc_dir)).texts[:300]
    cfg = Config(tokenizer="kiwi")
    before_stopwords = model_tokens(texts, Config(tokenizer="kiwi", stopwords=[]))
    for text, forms in zip(texts, before_stopwords, strict=True):
        tokens = analyse(text, cfg)
        assert [t.form for t in tokens] == forms, text
        for t in tokens:
            if t.start is not None:
                piece = text[t.start : t.end]
                assert piece and NOT_KEPT.match(piece[0]) is None and NOT_KEPT.match(piece[-1]) is None, (text, t)


# --- token_fates == encode ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(nsmc_dir):
    """tags -> (test reviews, their tokens before stopword removal, tokens of train reviews to fit a vocabulary)."""
    train = read_labelled(nsmc_path("train", nsmc_dir)).texts[:N_VOCAB]
    test = read_labelled(nsmc_path("test", nsmc_dir)).texts[:N_DOCS]
    cleaned = [clean_hangul(t) for t in test]
    memo = {}

    def get(tags: bool):
        if tags not in memo:
            fit_docs = model_tokens(train, Config(tokenizer="kiwi", tags=tags))
            memo[tags] = test, tokenize(cleaned, "kiwi", progress=False, tags=tags), fit_docs
        return memo[tags]

    return get


CONFIGS = [
    dict(oov=True),
    dict(oov=False),
    dict(oov=True, max_len=8),
    dict(oov=False, max_len=8, truncating="post"),
    dict(oov=True, max_len=8, padding="post"),
    dict(oov=False, max_len=8, padding="post", truncating="post"),
    dict(oov=True, max_len=3, truncating="post", stopwords=["영화", "이", "다"]),
    dict(oov=True, max_len=8, padding="post", tags=True, stopwords=["영화/NNG", "이/JKS"]),
]


@pytest.mark.parametrize("overrides", CONFIGS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_token_fates_reproduce_encode(corpus, overrides):
    cfg = Config(tokenizer="kiwi", **overrides).validate()
    texts, forms, fit_docs = corpus(cfg.tags)
    vocab = Vocab.fit(fit_docs, min_count=cfg.min_count, oov=cfg.oov)
    stop = frozenset(cfg.stopwords)
    docs = [remove_stopwords(f, stop) for f in forms]
    assert docs == model_tokens(texts, cfg)  # the corpus path sees the same tokens
    rows = encode(docs, vocab, cfg)
    seen = set()
    for doc_forms, row in zip(forms, rows, strict=True):
        fates = token_fates(doc_forms, vocab, cfg)
        assert len(fates) == len(doc_forms)
        placed = np.zeros(cfg.max_len, dtype=np.int64)
        steps = [f.step for f in fates if f.step is not None]
        assert len(steps) == len(set(steps)) <= cfg.max_len
        for form, f in zip(doc_forms, fates, strict=True):
            seen.add(f.status)
            assert f.status in STATUS
            assert (f.status == "stopword") == (form in stop)
            assert (f.step is None) == (f.id is None) == (f.status not in ("input", "oov"))
            if f.step is not None:
                placed[f.step] = f.id
                assert (f.status == "oov") == (vocab.oov and f.id == 1)
        np.testing.assert_array_equal(placed, row, err_msg=" ".join(doc_forms))
        n_with_id = sum(i is not None for i in vocab.lookup([t for t in doc_forms if t not in stop]))
        assert sum(f.status == "truncated" for f in fates) == max(0, n_with_id - cfg.max_len)
    expected = {"input", "stopword", "oov" if cfg.oov else "unknown"} | ({"truncated"} if cfg.max_len < 30 else set())
    assert expected <= seen, seen  # every rule the config implies was exercised


def test_token_fates_hand_worked():
    v = Vocab(["<OOV>", "영화", "최고"], oov=True)
    forms = ["영화", "는", "정말", "최고"]
    fates = token_fates(forms, v, Config(max_len=2))
    assert [(f.status, f.id, f.step) for f in fates] == [
        ("truncated", None, None),
        ("stopword", None, None),
        ("oov", 1, 0),
        ("input", 3, 1),
    ]
    fates = token_fates(forms, Vocab(["영화", "최고"], oov=False), Config(max_len=4, padding="post", oov=False))
    assert [(f.status, f.id, f.step) for f in fates] == [
        ("input", 1, 0),
        ("stopword", None, None),
        ("unknown", None, None),
        ("input", 2, 1),
    ]
    assert "는" in SEED_STOPWORDS


@pytest.mark.parametrize("clean", [True, False])
@pytest.mark.parametrize("text", ["영화 10점!! 재밌었다", "  꿀잼\t최고 ", "GOOD 배우\n", "", "!!!"])
def test_syllables_and_their_offsets_agree(text, clean):
    from ksent.text.pipeline import syllables, syllables_with_offsets

    cfg = Config(clean=clean)
    chars = syllables_with_offsets(text, cfg)
    assert [c for c, _ in chars] == syllables(text, cfg)
    for c, pos in chars:  # each points at its own character in the user's text
        assert c == ("▁" if text[pos].isspace() else text[pos])
    if not clean:
        assert "".join(syllables(text, cfg)) == re.sub(r"\s", "▁", text)
