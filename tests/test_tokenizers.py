import json
import sys
from importlib.metadata import version

import pytest

from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError
from ksent.runtime import available_cpus
from ksent.text import SEED_STOPWORDS, Token, clean_hangul, remove_stopwords, tokenizers
from ksent.text.tokenizers import (
    _LEMMA_TAGS,
    _pack,
    _unpack,
    fit_subword,
    kiwi,
    okt,
    provenance,
    provenance_differences,
    tokenize,
)


def test_kiwi_lemmatises_verbs_like_okt_stem():
    (toks,) = tokenize(["영화가 정말 재밌었다"], "kiwi", progress=False)
    assert toks[:3] == ["영화", "가", "정말"] and "재밌다" in toks


def test_duplicates_analysed_once_and_order_kept():
    out = tokenize(["좋다", "", "별로다", "좋다"], "kiwi", progress=False)
    assert out[0] == out[3] and out[1] == [] and out[2] != out[0]


def test_cache_hit_and_corrupt_cache_rebuilt(hangul_root):
    cache = hangul_root / "토큰 캐시"
    texts = ["배우 연기가 좋다", "스토리가 지루하다"]
    first = tokenize(texts, "kiwi", cache=cache, progress=False)
    (f,) = cache.glob("tokens-*.json")
    obj = json.loads(f.read_text(encoding="utf-8"))
    obj["docs"][0] = "가짜"  # a cache file is only trusted if its key matches the content
    f.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    assert tokenize(texts, "kiwi", cache=cache, progress=False)[0] == ["가짜"]  # key matches: served from cache
    f.write_text('{"key": "', encoding="utf-8")  # truncated: corrupt
    assert tokenize(texts, "kiwi", cache=cache, progress=False) == first
    assert _unpack(json.loads(f.read_text(encoding="utf-8"))["docs"]) == first  # rewritten whole
    obj["key"] = "stale"
    f.write_text(json.dumps(obj), encoding="utf-8")
    assert tokenize(texts, "kiwi", cache=cache, progress=False) == first


def test_unknown_backend():
    with pytest.raises(KsentError, match="unknown tokenizer 'mecab'"):
        tokenize(["좋다"], "mecab")


def test_okt_matches_the_seed():
    pytest.importorskip("konlpy")
    text = clean_hangul("아 더빙.. 진짜 짜증나네요 목소리")
    (toks,) = tokenize([text], "okt", workers=1, progress=False)
    assert remove_stopwords(toks, frozenset(SEED_STOPWORDS)) == ["아", "더빙", "진짜", "짜증나다", "목소리"]


def test_okt_in_parallel_equals_serial(monkeypatch):
    pytest.importorskip("konlpy")
    pools = []

    import concurrent.futures

    class Pool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)  # the Okt pool imports it when it starts
    monkeypatch.setattr(tokenizers, "OKT_POOL_MIN_TEXTS", 1000)  # a pool of JVMs for a test-sized input
    texts = [
        f"이 영화 {i}번째 보는데 정말 재밌다" if i % 2 else f"최악이다 {i}점도 아깝다" for i in range(1200)
    ]  # two chunks
    serial = tokenize(texts, "okt", workers=1, progress=False)
    assert pools == []
    assert tokenize(texts, "okt", workers=2, progress=False) == serial
    assert pools == [(2,)]


def test_okt_without_konlpy_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "konlpy.tag", None)
    with pytest.raises(KsentError, match=r"pip install 'ksent\[okt\]'"):
        tokenize(["좋다"], "okt", progress=False)


def test_okt_without_java_says_what_to_install(monkeypatch):
    pytest.importorskip("konlpy")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(KsentError, match="needs a Java runtime"):
        tokenize(["좋다"], "okt", progress=False)


def test_cache_packing_round_trips():
    docs = [["영화", "좋다"], [], ["a b", "c"], ["", "x"], ["하나"]]
    packed = _pack(docs)
    assert packed[0] == "영화 좋다" and packed[2] == ["a b", "c"] and packed[3] == ["", "x"]
    assert _unpack(json.loads(json.dumps(packed))) == docs


# --- spans, provenance, workers -----------------------------------------------------------------

N_KIWI, N_OKT = 400, 100


@pytest.fixture(scope="module")
def reviews(nsmc_dir) -> list[str]:
    """Cleaned NSMC test reviews, as the pipeline hands them to the analyser."""
    return [clean_hangul(t) for t in read_labelled(nsmc_path("test", nsmc_dir)).texts[:N_KIWI]]


def test_kiwi_spans_same_forms_and_kiwis_own_offsets(reviews):
    with_spans = tokenize(reviews, "kiwi", progress=False, spans=True)
    assert [[t.form for t in d] for d in with_spans] == tokenize(reviews, "kiwi", progress=False)
    checked = 0
    for text, toks, ktoks in zip(reviews, with_spans, kiwi(1).tokenize(reviews), strict=True):
        assert [(t.start, t.end) for t in toks] == [(k.start, k.start + k.len) for k in ktoks], text
        for i, (t, k) in enumerate(zip(toks, ktoks, strict=True)):
            assert 0 <= t.start <= t.end <= len(text)
            if k.tag.startswith(_LEMMA_TAGS) or t.start == t.end:
                continue
            if any(j != i and u.start < t.end and t.start < u.end for j, u in enumerate(toks)):
                continue  # a contraction (한 = 하 + ᆫ): several morphemes share one surface
            surface = text[t.start : t.end]
            # Kiwi restores endings, particles and pronouns to their base form (았 -> 었, 내 -> 나);
            # everything else it reads off the text as written (names may gain spaces: 마틴 스콜세지)
            if not k.tag.startswith(("E", "J", "NP")):
                assert surface.replace(" ", "") == t.form.replace(" ", ""), (text, t, k.tag)
                checked += 1
    assert checked > 5 * len(reviews)


def test_okt_spans_are_the_unstemmed_morphs(reviews):
    pytest.importorskip("konlpy")
    texts = reviews[:N_OKT]
    with_spans = tokenize(texts, "okt", workers=1, progress=False, spans=True)
    assert [[t.form for t in d] for d in with_spans] == tokenize(texts, "okt", workers=1, progress=False)
    given = total = 0
    for text, toks in zip(texts, with_spans, strict=True):
        surfaces = okt().morphs(text)
        assert len(surfaces) == len(toks)
        end = 0
        for t, surface in zip(toks, surfaces, strict=True):
            total += 1
            if t.start is not None:
                given += 1
                assert text[t.start : t.end] == surface, (text, t)
                assert t.start >= end  # found left to right, never overlapping
                end = t.end
    assert given > 0.95 * total


def test_spans_of_duplicates_and_empty_texts():
    out = tokenize(["좋다", "", "좋다"], "kiwi", progress=False, spans=True)
    assert out[0] == out[2] and out[1] == [] and all(isinstance(t, Token) for t in out[0])


def test_provenance_records_the_installed_analysers():
    kiwi_p = provenance("kiwi")
    assert kiwi_p["backend"] == "kiwi"
    assert kiwi_p["packages"] == {p: version(p) for p in ("kiwipiepy", "kiwipiepy_model")}
    assert kiwi_p["options"]["lemma_tags"] == list(_LEMMA_TAGS)
    okt_p = provenance("okt")
    assert okt_p["backend"] == "okt" and set(okt_p["packages"]) == {"konlpy"}
    assert json.loads(json.dumps(kiwi_p)) == kiwi_p  # recorded in config.json as is
    with pytest.raises(KsentError, match="unknown tokenizer 'mecab'"):
        provenance("mecab")


def test_provenance_differences():
    now = provenance("kiwi")
    assert provenance_differences(now, now) == []
    assert provenance_differences(json.loads(json.dumps(now)), now) == []
    old = json.loads(json.dumps(now))
    old["packages"]["kiwipiepy"] = "0.1.0"
    old["options"]["lemma_tags"] = ["VV"]
    assert provenance_differences(old, now) == [
        f"kiwipiepy 0.1.0 when trained, {now['packages']['kiwipiepy']} here",
        f"analyser option lemma_tags=['VV'] when trained, {now['options']['lemma_tags']!r} here",
    ]
    # a package the model was trained with that is gone here; an older record without the section
    assert provenance_differences({"packages": {"konlpy": "0.6.0"}}, now) == ["konlpy 0.6.0 when trained, missing here"]
    assert provenance_differences({}, now) == []


def test_kiwi_worker_counts_give_the_same_tokens(reviews):
    one = tokenize(reviews, "kiwi", workers=1, progress=False)
    assert tokenize(reviews, "kiwi", workers=2, progress=False) == one
    assert [[t.form for t in d] for d in tokenize(reviews, "kiwi", workers=2, progress=False, spans=True)] == one


@pytest.fixture
def runner_workers(monkeypatch):
    """The worker count each tokenize call hands its backend."""
    seen = []
    real = tokenizers._RUNNERS["kiwi"]

    def spy(texts, workers, advance, **kwargs):
        seen.append(workers)
        return real(texts, workers, advance, **kwargs)

    monkeypatch.setitem(tokenizers._RUNNERS, "kiwi", spy)
    return seen


def test_tokenize_honours_workers_and_ksent_workers(monkeypatch, runner_workers):
    monkeypatch.delenv("KSENT_WORKERS", raising=False)
    tokenize(["좋다"], "kiwi", progress=False)
    monkeypatch.setenv("KSENT_WORKERS", "3")
    tokenize(["좋다"], "kiwi", progress=False)
    tokenize(["좋다"], "kiwi", progress=False, spans=True)
    tokenize(["좋다"], "kiwi", workers=2, progress=False)  # an explicit count wins over the variable
    assert runner_workers == [available_cpus(), 3, 3, 2]


@pytest.mark.parametrize("value", ["two", "1.5", "0", "-2"])
def test_bad_ksent_workers_is_a_clear_error(monkeypatch, runner_workers, value):
    monkeypatch.setenv("KSENT_WORKERS", value)
    with pytest.raises(KsentError) as e:
        tokenize(["좋다"], "kiwi", progress=False)
    assert "\n" not in str(e.value)
    assert ("KSENT_WORKERS" in str(e.value)) if value in ("two", "1.5") else ("at least 1" in str(e.value))
    assert runner_workers == []
    assert len(tokenize(["좋다"], "kiwi", workers=1, progress=False)) == 1  # not consulted when given
    assert runner_workers == [1]


# --- subword: pieces learnt from the training texts ----------------------------------------------


@pytest.fixture(scope="module")
def pieces_model(nsmc_dir) -> str:
    return fit_subword(read_labelled(nsmc_path("train", nsmc_dir)).texts[:3000], 4000)


def test_subword_learning_is_deterministic_and_sized(nsmc_dir, pieces_model):
    texts = read_labelled(nsmc_path("train", nsmc_dir)).texts[:3000]
    assert fit_subword(texts, 4000) == pieces_model
    learnt = json.loads(pieces_model)["model"]["vocab"]  # every character seen, then the merged pieces
    assert len(learnt) == 4000 and learnt["<unk>"] == 0 and "▁영화" in learnt


def test_subword_pieces_and_their_spans(nsmc_dir, pieces_model):
    texts = read_labelled(nsmc_path("test", nsmc_dir)).texts[:300] + ["", "  GOOD   영화 👍  ", "good 영화 👍"]
    plain = tokenize(texts, "subword", progress=False, subword=pieces_model)
    with_spans = tokenize(texts, "subword", progress=False, spans=True, subword=pieces_model)
    assert [[t.form for t in d] for d in with_spans] == plain
    assert plain[-3] == [] and plain[-2] == plain[-1]  # whitespace runs read as one space, case folded
    assert "▁영화" in plain[-1] and plain[-1][-1] == "<unk>"  # 👍: a character the training texts never had
    for text, toks in zip(texts, with_spans, strict=True):
        end = 0
        for t in toks:
            if t.start is None:  # only the "▁" that marks the first word: no character stands for it
                assert t.form == "▁" and t is toks[0]
                continue
            assert end <= t.start < t.end <= len(text)  # left to right, never overlapping
            if t.form != "<unk>":  # the piece is the text it spans, "▁" for the space before a word
                assert t.form.lstrip("▁") == text[t.start : t.end].lower().strip() or t.form == "▁"
            end = t.end


def test_subword_pieces_and_tokens_are_cached(nsmc_dir, pieces_model, tmp_path, monkeypatch):
    """Learnt pieces are kept by texts + size, tokens by texts + the learnt model's hash; a damaged
    file is learnt again; a cache hit runs neither the trainer nor the tokenizer."""
    from ksent.text import tokenizers

    texts = read_labelled(nsmc_path("train", nsmc_dir)).texts[:3000]
    assert fit_subword(texts, 4000, cache=tmp_path) == pieces_model  # learnt, then written
    (saved,) = tmp_path.glob("pieces-*.json")
    first = tokenize(texts[:500], "subword", progress=False, cache=tmp_path, subword=pieces_model)
    assert len(list(tmp_path.glob("tokens-*.json"))) == 1
    other = fit_subword(texts[:1000], 500)
    tokenize(texts[:500], "subword", progress=False, cache=tmp_path, subword=other)  # another model: its own file
    assert len(list(tmp_path.glob("tokens-*.json"))) == 2

    def refuse(*a, **kw):
        raise AssertionError("ran although cached")

    with monkeypatch.context() as m:
        m.setattr(tokenizers, "_run_subword", refuse)
        m.setattr("tokenizers.trainers.BpeTrainer", refuse)  # what learning would call
        assert fit_subword(texts, 4000, cache=tmp_path) == pieces_model
        assert tokenize(texts[:500], "subword", progress=False, cache=tmp_path, subword=pieces_model) == first
    saved.write_text("{not json", encoding="utf-8")
    assert fit_subword(texts, 4000, cache=tmp_path) == pieces_model  # learnt again, and rewritten
    assert json.loads(saved.read_text(encoding="utf-8"))["model"] == pieces_model


def test_subword_needs_its_model_and_has_no_tags(pieces_model):
    with pytest.raises(KsentError, match="needs its learnt model"):
        tokenize(["좋다"], "subword", progress=False)
    with pytest.raises(KsentError, match="no part-of-speech tags"):
        tokenize(["좋다"], "subword", progress=False, tags=True, subword=pieces_model)
    with pytest.raises(KsentError, match="subword model cannot be read"):
        tokenize(["좋다"], "subword", progress=False, subword='{"model": 1}')
    assert provenance("subword")["packages"] == {"tokenizers": version("tokenizers")}


def test_calls_inside_analyses_shared_analyse_the_same_texts_once(monkeypatch):
    """Inside `analyses_shared()` a second call over the same texts and backend reuses the first one's
    analysis (a born-again member and its teaching ensemble); other texts, another backend (tags) and
    calls after the block analyse again, and the tokens are those of an unshared call."""
    calls = []
    real = tokenizers._RUNNERS["kiwi"]

    def counting(texts, *args, **kwargs):
        calls.append(list(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setitem(tokenizers._RUNNERS, "kiwi", counting)
    texts = ["연기가 정말 좋았어요", "시간이 아깝다", "연기가 정말 좋았어요"]
    alone = tokenizers.tokenize(texts, "kiwi", progress=False)
    calls.clear()
    with tokenizers.analyses_shared() as memo:
        assert tokenizers.tokenize(texts, "kiwi", progress=False) == alone
        with tokenizers.analyses_shared() as inner:  # nested: the outer memo, not one of its own
            assert inner is memo and tokenizers.tokenize(texts, "kiwi", progress=False) == alone
        assert len(calls) == 1 and len(memo) == 1
        tokenizers.tokenize(texts[:1], "kiwi", progress=False)  # other texts
        tokenizers.tokenize(texts, "kiwi", progress=False, tags=True)  # another backend
        assert len(calls) == 3
    tokenizers.tokenize(texts, "kiwi", progress=False)
    assert len(calls) == 4  # the shared memo lived for the block only
