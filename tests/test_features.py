"""The featurizers: the token reader for one review (`Tokens.units`, `Tokens.fates`) agrees with its
corpus path (`Tokens.read`, `Tokens.encode`); syllables, jamo and their spans agree; the feature set owns
the layout; a featurizer registered from outside the package trains, saves, loads and explains."""

import dataclasses
import re
import unicodedata

import numpy as np
import pytest

from ksent.config import Config
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError
from ksent.features import FeatureSet, Featurizer, Run, Tokens, register
from ksent.features.syllables import syllables
from ksent.features.tokens import STATUS
from ksent.text import SEED_STOPWORDS, Token, Vocab, clean_hangul, remove_stopwords, tokenize

NOT_KEPT = re.compile("[^ㄱ-ㅎㅏ-ㅣ가-힣 ]")
N_VOCAB, N_DOCS = 4000, 3000


def analyse(text: str, cfg: Config):
    return Tokens(cfg).units(text)


def model_tokens(texts: list[str], cfg: Config) -> list[list[str]]:
    return Tokens(cfg).read(texts, Run())


def with_vocab(cfg: Config, vocab: Vocab) -> Tokens:
    reader = Tokens(cfg)
    reader.vocab = vocab
    return reader


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
    reader = with_vocab(cfg, vocab)
    rows = reader.encode(texts)
    seen = set()
    for doc_forms, row in zip(forms, rows, strict=True):
        fates = reader.fates(doc_forms)
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
    fates = with_vocab(Config(max_len=2), v).fates(forms)
    assert [(f.status, f.id, f.step) for f in fates] == [
        ("truncated", None, None),
        ("stopword", None, None),
        ("oov", 1, 0),
        ("input", 3, 1),
    ]
    fates = with_vocab(Config(max_len=4, padding="post", oov=False), Vocab(["영화", "최고"], oov=False)).fates(forms)
    assert [(f.status, f.id, f.step) for f in fates] == [
        ("input", 1, 0),
        ("stopword", None, None),
        ("unknown", None, None),
        ("input", 2, 1),
    ]
    assert "는" in SEED_STOPWORDS


@pytest.mark.parametrize("overrides", [dict(oov=True), dict(oov=False, padding="pre", truncating="post", max_len=8)])
def test_subword_ids_straight_from_the_tokenizer_are_the_pieces_looked_up(nsmc_dir, overrides):
    """Subword blocks encode from the tokenizer's ids (`_pad_subword`): exactly the ids of looking up
    the pieces' strings (`Featurizer.encode`), for the tokens featurizer and for piece members."""
    from ksent.features import Pieces

    train = read_labelled(nsmc_path("train", nsmc_dir)).texts[:2000]
    test = read_labelled(nsmc_path("test", nsmc_dir)).texts[:2000]
    test += ["", "  ", "👍👍 최고", "ㅋ" * 300, "UNSEEN 漢字 ÆØ", "\u200b"]
    cfg = Config(tokenizer="subword", subword_vocab=600, min_count=3, **overrides).validate()
    for block in (Tokens(cfg), Pieces(cfg)):
        block.fit(train, Run())
        got = block.encode(test, Run())
        np.testing.assert_array_equal(got, Featurizer.encode(block, test, Run()))
        assert got.shape == (len(test), block.width) and (got != 0).any()


@pytest.mark.parametrize("clean", [True, False])
@pytest.mark.parametrize("text", ["영화 10점!! 재밌었다", "  꿀잼\t최고 ", "GOOD 배우\n", "", "!!!"])
def test_syllables_and_their_offsets_agree(text, clean):
    from ksent.features import Syllables

    units = Syllables(Config(clean=clean)).units(text)
    assert [u.form for u in units] == syllables(text, clean)
    for u in units:  # each points at its own character in the user's text
        assert u.form == ("▁" if text[u.start].isspace() else text[u.start]) and u.end == u.start + 1
    if not clean:
        assert "".join(syllables(text, clean)) == re.sub(r"\s", "▁", text)


@pytest.mark.parametrize("clean", [True, False])
@pytest.mark.parametrize("text", ["영화 10점!! 재밌었다", "  꿀잼\t최고 ", "GOOD 배우\n", "", "!!!", "ㅋㅋ 값짐 👍"])
def test_jamo_and_their_offsets_agree(text, clean):
    from ksent.features.jamo import Jamo, jamo

    units = Jamo(Config(clean=clean)).units(text)
    assert [u.form for u in units] == jamo(text, clean)
    for u in units:  # each letter points at the character it came from, in the user's text
        assert u.end == u.start + 1 and u.form in unicodedata.normalize("NFD", text[u.start]) + "▁"
    # the letters compose back into the syllables a syllable member reads
    assert unicodedata.normalize("NFC", "".join(jamo(text, clean))) == "".join(syllables(text, clean))


def test_jamo_hand_worked():
    from ksent.features.jamo import jamo

    # initial and final consonants are different letters (ᄀ U+1100 vs ᆨ U+11A8), so 각 is not ambiguous
    assert jamo("각", clean=False) == ["\u1100", "\u1161", "\u11a8"]
    assert jamo("값 10!", clean=False) == ["ᄀ", "ᅡ", "ᆹ", "▁", "1", "0", "!"]
    assert jamo("값 10!") == ["ᄀ", "ᅡ", "ᆹ", "▁"]  # the seed's cleaning keeps Hangul and spaces only
    # a typo shares all but one letter with the word: what a syllable member cannot see
    right, typo = jamo("재밌다", clean=False), jamo("재밋다", clean=False)
    assert len(right) == len(typo) and sum(a != b for a, b in zip(right, typo, strict=True)) == 1


def test_a_view_refuses_options_it_does_not_have():
    with pytest.raises(KsentError, match=r"the 'jamo' view has no option 'maxlen' \(its options: members, max_len"):
        FeatureSet.from_config(Config(views={"jamo": {"maxlen": 200}}))
    for bad in (0, -3, 2.5, True, "200"):
        with pytest.raises(KsentError, match="the 'jamo' view's max_len must be a whole number >= 1"):
            FeatureSet.from_config(Config(views={"jamo": {"max_len": bad}}))
    reader = FeatureSet.from_config(Config(views={"jamo": {"max_len": 200, "epochs": 2}})).blocks[1].featurizer
    assert reader.width == 200 and reader.epochs(Config()) == 2


# --- the feature set and a featurizer from outside the package ----------------------------------


class Words(Featurizer):
    """A toy way of reading a review, defined here and nowhere in the package: its whitespace words."""

    kind = "test_words"

    def read(self, texts, run):
        return [t.split() for t in texts]

    def units(self, text):
        return [Token(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]


register(Words)


def test_feature_set_owns_the_layout():
    cfg = Config(syllable_members=1, syllable_max_len=40, piece_members=2, piece_max_len=20)
    features = FeatureSet.from_config(cfg)
    assert [(b.featurizer.kind, b.columns, b.members) for b in features.blocks] == [
        ("tokens", slice(0, 30), 1),
        ("syllables", slice(30, 70), 1),
        ("pieces", slice(70, 90), 2),
    ]
    assert features.width == 90 and features.columns("pieces") == slice(70, 90)
    assert [b.featurizer.kind for b in features.member_blocks()] == ["tokens", "syllables", "pieces", "pieces"]
    x = np.arange(2 * 90).reshape(2, 90)
    np.testing.assert_array_equal(features.block(x, "syllables"), x[:, 30:70])
    with pytest.raises(KsentError, match="reads no 'test_words' block"):
        features.columns("test_words")
    with pytest.raises(KsentError, match="views names 'nope', which is not a registered featurizer"):
        FeatureSet.from_config(Config(views={"nope": {"members": 1}}))
    # each built-in kind is counted by the config field the message names (one a user can --set)
    for kind, field in (("syllables", "syllable_members"), ("pieces", "piece_members"), ("tokens", "members")):
        assert field in {f.name for f in dataclasses.fields(Config)}
        with pytest.raises(KsentError, match=f"views cannot name '{kind}'; set {field} instead"):
            FeatureSet.from_config(Config(views={kind: {}}))
    with pytest.raises(KsentError, match="registered already"):
        register(type("Other", (Featurizer,), {"kind": "test_words"}))
    with pytest.raises(KsentError, match="views must map a featurizer kind to its section"):
        Config(views={"test_words": {"members": -1}}).validate()


def test_a_featurizer_registered_from_a_test_trains_saves_loads_predicts_and_explains(nsmc_dir, hangul_root):
    """The toy featurizer above (no package file names it) beside a token member: its own block, its
    own member, its state in its own section of vocab.json, and explain deletes its units with a token."""
    import json

    import torch

    import ksent
    from ksent.models.inference import evaluate_logits

    train = read_labelled(nsmc_path("train", nsmc_dir)).head(1500)
    cfg = Config(epochs=2, hidden=8, embed_dim=8, views={"test_words": {"members": 1, "max_len": 12, "epochs": 1}})
    clf = ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(train)
    assert clf.features_.kinds() == ["tokens", "test_words"]
    assert [(m["reads"], len(m["epochs"])) for m in clf.metrics_["training"]["members"]] == [
        ("tokens", 2),
        ("test_words", 1),
    ]
    tokens, words = clf.model_.members()
    reader = clf.features_.blocks[1].featurizer
    assert words.embedding.num_embeddings == reader.vocab_size == clf.metrics_["vocab_sizes"]["test_words"] > 100
    texts = ["정말 재밌는 영화 최고", "시간 아깝다 최악", "", "연기 " * 20]
    x = clf.encode(texts)
    assert x.shape == (4, 30 + 12) and not x[2].any() and (x[3, 30:] != 0).all()  # 20 words truncated to 12
    assert x[1, 30:].tolist()[-3:] == reader.vocab.encode(["시간", "아깝다", "최악"])  # pre-padded words
    shuffled = x.copy()
    shuffled[:, 30:] = np.roll(shuffled[:, 30:], 1, axis=0)  # other words: only the words member moves
    np.testing.assert_array_equal(evaluate_logits(tokens, shuffled), evaluate_logits(tokens, x))
    assert not np.allclose(evaluate_logits(words, shuffled), evaluate_logits(words, x))

    out = clf.save(hangul_root / "단어 모델")
    sections = json.loads((out / "vocab.json").read_text(encoding="utf-8"))["features"]
    assert [s["kind"] for s in sections] == ["tokens", "test_words"] and sections[1]["words"] == reader.vocab.words
    again = ksent.load(out, device="cpu")
    np.testing.assert_array_equal(again.predict_proba(texts), clf.predict_proba(texts))

    text = "배우들 연기가 정말 좋았다"
    ex = again.explain(text)
    assert ex.p_positive == pytest.approx(again.predict_proba([text])[0, 1], abs=1e-6)
    # a token's evidence: the model without it, its words-block units (those over its span) deleted too
    first = ex.fed[0]
    kept_words = [w for w in re.finditer(r"\S+", text) if w.end() <= first.start or w.start() >= first.end]
    row = np.hstack(
        [
            again.features_.tokens.pad([[t.id for t in ex.fed[1:]]]),
            reader.pad([reader.vocab.encode([w.group() for w in kept_words])]),
        ]
    )
    with torch.no_grad():
        p_without = float(torch.sigmoid(again.model_(torch.from_numpy(row)))[0])
    assert first.evidence == pytest.approx((ex.p_positive - p_without) * (1 if ex.label else -1), abs=1e-6)
    # the words member's own gates, one step per word it reads
    shown = again.explain(text, member=1)
    assert shown.reads == "test_words" and [t.text for t in shown.fed] == text.split()
    assert [text[t.start : t.end] for t in shown.fed] == text.split()
    with torch.no_grad():
        assert shown.member_logit == pytest.approx(
            float(words(torch.from_numpy(again.encode([text])[:, 30:]))[0]), abs=1e-5
        )
    assert shown.p_positive == ex.p_positive


def test_a_jamo_member_trains_saves_loads_and_its_letters_go_with_a_token_in_explain(nsmc_dir, hangul_root):
    """The jamo view shipped with ksent, named in `views` as any registered featurizer is."""
    import json

    import ksent
    from ksent.features.jamo import Jamo, jamo

    train = read_labelled(nsmc_path("train", nsmc_dir)).head(1500)
    cfg = Config(epochs=1, hidden=8, embed_dim=8, views={"jamo": {"members": 1, "max_len": 40}})
    clf = ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(train)
    reader = clf.features_.blocks[1].featurizer
    assert isinstance(reader, Jamo) and clf.features_.kinds() == ["tokens", "jamo"]
    assert clf.model_.members()[1].embedding.num_embeddings == reader.vocab_size  # Hangul letters: dozens, not 11k
    assert 60 < reader.vocab_size < 400
    x = clf.encode(["재밌다", "ㅋ" * 100])
    letters = reader.vocab.encode(jamo("재밌다"))  # ᄌ ᅢ ᄆ ᅵ ᆻ ᄃ ᅡ, pre-padded as the config pads
    assert x.shape == (2, 30 + 40) and len(letters) == 7 and x[0, 30:].tolist() == [0] * 33 + letters
    assert (x[1, 30:] != 0).all()  # 100 letters cut to 40

    out = clf.save(hangul_root / "자모 모델")
    sections = json.loads((out / "vocab.json").read_text(encoding="utf-8"))["features"]
    assert [s["kind"] for s in sections] == ["tokens", "jamo"] and sections[1]["words"] == reader.vocab.words
    again = ksent.load(out, device="cpu")
    texts = ["정말 재밌는 영화 최고", "시간 아깝다 최악", ""]
    np.testing.assert_array_equal(again.predict_proba(texts), clf.predict_proba(texts))
    ex = again.explain("배우들 연기가 정말 좋았다")  # evidence: each token deleted with the letters under it
    assert ex.fed and all(t.evidence is not None for t in ex.fed)
    letters = again.explain("배우들 연기가 정말 좋았다", member=1)  # the jamo member's gates, per letter
    assert letters.reads == "jamo" and letters.unit == "letter" and letters.p_positive == ex.p_positive
    assert [t.text for t in letters.fed] == jamo("배우들 연기가 정말 좋았다")  # 31 letters: ㅂ ㅐ ㅇ ㅜ ...
    assert letters.cell.shape[2] == 40 and letters.padding_steps == 40 - 31  # pre-padded, as the block is


# --- character n-grams and the linear member that reads them --------------------------------------

CHARGRAM_TEXTS = ["꿀잼", "정말  재밌는 영화!! 최고 ㅋㅋ", "A b", "10점 만점에 1점.", " 앞뒤\t공백 ", "", "👍👍 최고"]


@pytest.mark.parametrize("n", [(1, 4), (2, 5), (3, 3)])
@pytest.mark.parametrize("text", CHARGRAM_TEXTS + ["a\tb  c\n\nd", "안  재밌"])
def test_chargrams_are_scikit_learns_char_wb_ngrams_each_with_its_span(text, n):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ksent.features.chargrams import forms, ngrams, unique

    units = ngrams(text, n)
    assert [u.form for u in units] == TfidfVectorizer(analyzer="char_wb", ngram_range=n).build_analyzer()(text)
    assert forms(text, n) == unique(u.form for u in units)  # the block's fast path reads the same n-grams
    for u in units:  # each n-gram's span is its characters in the review, without the padding spaces
        assert text[u.start : u.end].lower() == u.form.strip()


@pytest.mark.parametrize("n", [(1, 4), (2, 5), (3, 3)])
@pytest.mark.parametrize("text", CHARGRAM_TEXTS + ["a\tb  c\n\nd", "안  재밌", "ab İ  cd", "İİ  ab"])
def test_chargrams_across_words_are_scikit_learns_char_ngrams_each_with_its_span(text, n):
    """`across`: scikit-learn's `char` analyser (n-grams over the whole review, each run of two or more
    whitespace characters one space); each n-gram spans the characters it was read from, a collapsed run
    of spaces included."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ksent.features.chargrams import forms, ngrams, unique

    units = ngrams(text, n, across=True)
    assert [u.form for u in units] == TfidfVectorizer(analyzer="char", ngram_range=n).build_analyzer()(text)
    assert forms(text, n, across=True) == unique(u.form for u in units)
    for u in units:  # (İ lowercases to two characters: each n-gram holding one of them spans the İ)
        assert u.form in re.sub(r"\s\s+", " ", text[u.start : u.end].lower()) and u.start < u.end


def test_chargrams_across_words_see_a_phrase_whatever_its_spacing():
    features = FeatureSet.from_config(Config(views={"chargrams": {"min_count": 1, "across": True, "min_n": 3}}))
    reader = features.blocks[1].featurizer
    reader.fit(["안 재밌다", "안재밌다"])
    assert "안 재" in reader.vocab.words and "안재밌" in reader.vocab.words and "재밌다" in reader.vocab.words
    assert all(len(w) >= 3 for w in reader.vocab.words)
    # explain deletes the n-grams that overlap a token's span: those over 안 go, the rest stay; every
    # n-gram here touches 재밌다
    rows = reader.variants("안 재밌다", [Token("안", 0, 1), Token("재밌다", 2, 5)])
    ids = reader.vocab.lookup
    whole, kept = ids(["안 재", " 재밌", "재밌다", "안 재밌", " 재밌다"]), ids([" 재밌", "재밌다", " 재밌다"])
    np.testing.assert_array_equal(rows[:3], reader.pad([whole, kept, []]))
    for bad, message in [
        ({"across": 1}, "across must be true or false"),
        ({"min_n": 5}, r"min_n \(5\) is above its max_n \(4; default 4\): set max_n too"),
        ({"min_n": 0}, "min_n must be a whole number >= 1"),
    ]:
        with pytest.raises(KsentError, match=message):
            FeatureSet.from_config(Config(views={"chargrams": bad}))


def test_a_chargrams_block_lists_each_known_ngram_once():
    reader = FeatureSet.from_config(Config(views={"chargrams": {"max_len": 12, "min_count": 2}})).blocks[1].featurizer
    with pytest.raises(KsentError, match=r"the 'chargrams' view has no option 'epochs' \(its options: members, max_"):
        FeatureSet.from_config(Config(views={"chargrams": {"epochs": 3}}))
    x = reader.fit(["좋아 좋아", "좋다", "별로"])
    # kept: n-grams in two reviews or more, each counted once per review (" " is in all three)
    assert reader.vocab.words == [" ", "좋", " 좋"] and reader.network == "linear" and not reader.oov
    assert x.tolist() == [[1, 2, 3] + [0] * 9, [1, 2, 3] + [0] * 9, [1] + [0] * 11]
    # explain deletes the n-grams under a token: the rest stay, each once
    assert reader.variants("좋아 좋아", [Token("좋아", 0, 2)]).tolist()[1] == [1, 2, 3] + [0] * 9
    full, only_space = [1, 2, 3] + [0] * 9, [1] + [0] * 11
    assert reader.variants("별로 좋아", [Token("좋아", 3, 5)]).tolist() == [full, only_space, full]


def test_the_tokens_and_words_blocks_analyse_each_text_once(monkeypatch):
    from ksent.text import tokenizers

    calls = []
    real = tokenizers._RUNNERS["kiwi"]

    def counting(texts, *args, **kwargs):
        calls.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setitem(tokenizers._RUNNERS, "kiwi", counting)
    features = FeatureSet.from_config(Config(min_count=1, views={"words": {"members": 1, "min_count": 1}}))
    features.fit(["정말 재밌다", "너무 지루하다", "정말 재밌다"])
    assert calls == [2]  # two distinct texts, analysed once for both blocks
    x = features.encode(["정말 지루하다", "재밌다"])
    assert calls == [2, 2]
    # the same ids as each block reading on its own (each analysing again)
    alone = [b.featurizer.encode(["정말 지루하다", "재밌다"], Run()) for b in features.blocks]
    np.testing.assert_array_equal(x, np.hstack(alone))
    assert calls == [2, 2, 2, 2]


@pytest.mark.parametrize("kind", ["chargrams", "chargrams-across", "words"])
def test_a_linear_member_is_scikit_learns_logistic_regression_on_binary_tfidf(nsmc_dir, kind):
    """Fitted by ksent.train (its idf from the training rows, L-BFGS), a linear member answers as
    scikit-learn's LogisticRegression(C=4) on a binary TfidfVectorizer over the same n-grams does
    (char_wb 1-4 for character n-grams; the tokens' runs of one to three for word n-grams): the same
    objective, solved."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from ksent.features.words import ngrams
    from ksent.models.inference import predict_proba_ids
    from ksent.train import fit, members_of

    data = read_labelled(nsmc_path("train", nsmc_dir)).head(3000)
    texts, y = list(data.texts), np.asarray(data.labels)
    across = kind == "chargrams-across"
    section = {"members": 1, "across": True, "min_n": 2, "max_n": 5, "max_len": 520} if across else {"members": 1}
    cfg = Config(views={kind.split("-")[0]: section})
    features = FeatureSet.from_config(cfg)
    x = features.fit(texts)
    reader = features.blocks[1].featurizer
    assert (x[:, features.columns(reader.kind)] != 0).sum(axis=1).max() < reader.width  # nothing cut
    model, history = fit(cfg, x, y, members_of(cfg, features)[1:], device="cpu", progress=False)
    n = history["n_train"]
    vocabulary = {w: i for i, w in enumerate(reader.vocab.words)}
    if kind.startswith("chargrams"):
        docs, analyzer = texts, {"analyzer": "char" if across else "char_wb", "ngram_range": reader.n}
    else:
        docs, analyzer = Tokens(cfg).read(texts, Run()), {"analyzer": ngrams}
    tfidf = TfidfVectorizer(**analyzer, binary=True, vocabulary=vocabulary)
    lr = LogisticRegression(C=4, tol=1e-8, max_iter=10_000).fit(tfidf.fit_transform(docs[:n]), y[:n])
    want = lr.predict_proba(tfidf.transform(docs))[:, 1]
    np.testing.assert_allclose(predict_proba_ids(model, x), want, rtol=0, atol=2e-3)
    assert history["best_val_accuracy"] == pytest.approx(((want[n:] >= 0.5) == (y[n:] == 1)).mean(), abs=0.002)


# --- word n-grams: the analyser's tokens and their runs, read by a linear member ---------------------


WORD_TEXTS = ["영화 정말 재밌다 정말 재밌다", "  안 재밌어요 ㅠㅠ\t최고 ", "GOOD 배우 good", "", "!!!"]


@pytest.mark.parametrize("stopwords", [[], ["영화", "정말"]])
@pytest.mark.parametrize("text", WORD_TEXTS)
def test_word_ngrams_are_runs_of_the_tokens_each_once_with_its_span(text, stopwords):
    from ksent.features.words import SEP, Words, ngrams

    cfg = Config(tags=False, clean=False, stopwords=stopwords)
    reader, tokens = Words(cfg, {"n": 3}), Tokens(cfg).units(text)
    kept = [t for t in tokens if t.form not in stopwords]
    units = reader.units(text)
    # the block's corpus path reads the same n-grams, and they are the tokens' runs of one to three
    assert [u.form for u in units] == reader.read([text], Run())[0] == ngrams([t.form for t in kept], 3)
    assert len({u.form for u in units}) == len(units)  # each once
    for u in units:  # its span runs from its first token's start to its last token's end
        forms = u.form.split(SEP)
        i = next(i for i in range(len(kept)) if [t.form for t in kept[i : i + len(forms)]] == forms)
        assert (u.start, u.end) == (kept[i].start, kept[i + len(forms) - 1].end)
        assert not set(forms) & set(stopwords)


def test_a_words_block_lists_each_known_ngram_once():
    from collections import Counter

    from ksent.features.words import ngrams

    with pytest.raises(KsentError, match=r"the 'words' view has no option 'epochs' \(its options: members, max_"):
        FeatureSet.from_config(Config(views={"words": {"epochs": 3}}))
    features = FeatureSet.from_config(Config(tags=False, views={"words": {"n": 2, "max_len": 8, "min_count": 2}}))
    reader = features.blocks[1].featurizer
    texts = ["정말 좋아 정말 좋아", "정말 좋아", "별로 안 좋아", "안 좋아"]
    x = reader.fit(texts)
    docs = Tokens(Config(tags=False)).read(texts, Run())
    df = Counter(g for d in docs for g in set(ngrams(d, 2)))
    assert sorted(reader.vocab.words) == sorted(g for g, n in df.items() if n >= 2)  # document frequency >= 2
    assert reader.network == "linear" and not reader.oov and reader.epochs(Config(epochs=9)) == 1
    for row, doc in zip(x.tolist(), docs, strict=True):  # each known n-gram once, in order, post-padded
        want = [reader.vocab.words.index(g) + 1 for g in ngrams(doc, 2) if df[g] >= 2]
        assert row == want + [0] * (8 - len(want))


@pytest.mark.parametrize("kind", ["chargrams", "chargrams-across", "words"])
def test_a_linear_blocks_encode_gives_the_ids_of_the_general_path(nsmc_dir, kind):
    """The n-gram blocks encode in one pass per row (`known_ids`); the ids are those the general path
    gives (units listed once, looked up lowercased, unknown ones left out, post-padded and cut), on NSMC
    reviews, on rows longer than the block (cut after max_len), and on letters whose lowercase is
    special (Greek final sigma, Turkish dotted I, German sharp s, Latin case pairs)."""
    texts = list(read_labelled(nsmc_path("train", nsmc_dir)).head(1200).texts)
    tricky = ["ΟΔΟΣ ΣΑΣ οδος", "İstanbul ISTANBUL istanbul", "STRASSE Straße ẞ", "GOOD good Good 배우", "", "  "]
    section = {"members": 1, "max_len": 60, "min_count": 1}
    if kind == "chargrams-across":
        section |= {"across": True, "min_n": 2, "max_n": 5}
    features = FeatureSet.from_config(Config(tags=True, views={kind.split("-")[0]: section}))
    features.fit(texts + tricky)
    reader = features.blocks[1].featurizer
    probe = texts[:300] + tricky + [" ".join(texts[:40])]  # the last one holds far more than 60 n-grams
    fast = reader.encode(probe, Run())
    np.testing.assert_array_equal(fast, Featurizer.encode(reader, probe, Run()))
    assert (fast[-1] != 0).all()  # cut at max_len
    # the character path looks its n-grams up without lowercasing them again: lowercase is a fixed point
    letters = "".join(map(chr, range(0x110000)))
    assert all(c.lower().lower() == c.lower() for c in letters) and letters.lower().lower() == letters.lower()
    assert (fast[len(texts[:300]) : -1] != 0).sum() > 0  # the tricky rows hold known n-grams


def test_a_model_with_a_linear_member_trains_saves_loads_and_explains(nsmc_dir, hangul_root):
    import ksent

    train = read_labelled(nsmc_path("train", nsmc_dir)).head(1500)
    cfg = Config(epochs=1, hidden=8, embed_dim=8, views={"chargrams": {"members": 1}, "words": {"members": 1}})
    clf = ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(train)
    assert clf.features_.kinds() == ["tokens", "chargrams", "words"]
    for k in (1, 2):  # a linear member over each n-gram block
        linear = clf.model_.members()[k]
        assert linear.weight.shape == (clf.features_.blocks[k].featurizer.vocab_size,) and linear.idf[0] == 0
        assert clf.metrics_["training"]["members"][k]["epochs"][0]["lbfgs_steps"] > 0
    again = ksent.load(clf.save(hangul_root / "선형 모델"), device="cpu")
    texts = ["정말 재밌는 영화 최고", "시간 아깝다 최악", ""]
    np.testing.assert_array_equal(again.predict_proba(texts), clf.predict_proba(texts))
    ex = again.explain("배우들 연기가 정말 좋았다")  # evidence: each token deleted with the n-grams under it
    assert ex.fed and all(t.evidence is not None for t in ex.fed)
    with pytest.raises(KsentError, match="member 1 is a linear model over character n-grams: it has no gates"):
        again.explain("배우들 연기가 정말 좋았다", member=1)
    with pytest.raises(KsentError, match="member 2 is a linear model over word n-grams: it has no gates"):
        again.explain("배우들 연기가 정말 좋았다", member=2)
    # deleting a token deletes every word n-gram it is part of: the words member alone moves with it
    words = again.features_.block_of("words").featurizer
    full, without = words.variants("정말 좋았다", [Token("정말", 0, 2)])[:2]
    alone = words.encode(["좋았다"])[0]
    assert set(without[without != 0].tolist()) == set(alone[alone != 0].tolist()) != set()
    assert (full != 0).sum() > (without != 0).sum()  # the n-grams with 정말 in them are gone
