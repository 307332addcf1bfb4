import json
import sys

import pytest

from ksent.errors import KsentError
from ksent.text import SEED_STOPWORDS, clean_hangul, remove_stopwords
from ksent.text.tokenizers import _pack, _unpack, tokenize


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


def test_okt_in_parallel_equals_serial():
    pytest.importorskip("konlpy")
    texts = [
        f"이 영화 {i}번째 보는데 정말 재밌다" if i % 2 else f"최악이다 {i}점도 아깝다" for i in range(1200)
    ]  # two chunks
    assert tokenize(texts, "okt", workers=2, progress=False) == tokenize(texts, "okt", workers=1, progress=False)


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
