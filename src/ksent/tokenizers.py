"""Morphological analysis: one small interface over Okt (the seed's) and Kiwi (the default).

`tokenize(texts, name)` deduplicates, runs the backend (in parallel), caches the result on disk
keyed by the exact texts + backend + version, and returns one token list per input text.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from multiprocessing import get_context
from pathlib import Path

from ksent import atomic
from ksent.errors import KsentError
from ksent.progress import bar

BACKENDS = ("kiwi", "okt")
CACHE_FORMAT = 1


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


# --- Okt: konlpy's Open Korean Text, morphs(stem=True) as the seed calls it ---------------------


def _okt():
    try:
        from konlpy.tag import Okt
    except ImportError:
        raise KsentError(
            "the 'okt' tokenizer needs konlpy and Java: pip install 'ksent[okt]' and a Java runtime "
            "(e.g. apt-get install default-jre), or use the default 'kiwi' tokenizer"
        ) from None
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise KsentError(
            "the 'okt' tokenizer needs a Java runtime and none was found (no java on PATH, no JAVA_HOME); "
            "install one (e.g. apt-get install default-jre) or use the default 'kiwi' tokenizer"
        )
    return Okt()


_worker_okt = None


def _okt_init() -> None:
    global _worker_okt
    _worker_okt = _okt()


def _okt_chunk(texts: list[str]) -> list[list[str]]:
    return [_worker_okt.morphs(t, stem=True) for t in texts]


def _run_okt(texts: list[str], workers: int, advance: Callable) -> list[list[str]]:
    chunk = 1000
    chunks = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    if workers <= 1 or len(chunks) <= 1:
        okt, out = _okt(), []
        for c in chunks:
            out.extend(okt.morphs(t, stem=True) for t in c)
            advance(len(c))
        return out
    _okt()  # fail here, with a clear message, rather than inside a worker
    out = []
    # One JVM per process; spawn (not fork) because a JVM does not survive fork.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_okt_init) as pool:
        for c, toks in zip(chunks, pool.map(_okt_chunk, chunks), strict=True):
            out.extend(toks)
            advance(len(c))
    return out


# --- Kiwi: kiwipiepy, no Java; verbs and adjectives as lemmas, like Okt's stem=True -------------

_LEMMA_TAGS = ("VV", "VA", "VX")


def _kiwi_tokens(tokens) -> list[str]:
    return [t.lemma if t.tag.startswith(_LEMMA_TAGS) else t.form for t in tokens]


def _run_kiwi(texts: list[str], workers: int, advance: Callable) -> list[list[str]]:
    from kiwipiepy import Kiwi

    kiwi = Kiwi(num_workers=max(workers, 1))
    out = []
    for tokens in kiwi.tokenize(texts):  # an iterable runs on the worker threads, in order
        out.append(_kiwi_tokens(tokens))
        if len(out) % 1000 == 0:
            advance(1000)
    advance(len(out) % 1000)
    return out


_RUNNERS = {"okt": _run_okt, "kiwi": _run_kiwi}
_PACKAGES = {"okt": "konlpy", "kiwi": "kiwipiepy"}


def backend_id(name: str) -> str:
    """Backend plus the versions that decide its output: part of every cache key."""
    if name not in BACKENDS:
        raise KsentError(f"unknown tokenizer {name!r}; choose one of {', '.join(BACKENDS)}")
    extra = f"+model{_pkg_version('kiwipiepy_model')}" if name == "kiwi" else ""
    return f"{name}:{_pkg_version(_PACKAGES[name])}{extra}"


# --- the cache: content-addressed, atomic, verified on read -------------------------------------


def _cache_key(texts: Sequence[str], bid: str) -> str:
    h = hashlib.sha256(f"ksent-tokens/{CACHE_FORMAT}/{bid}\n".encode())
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()


def _cache_read(path: Path, key: str, n: int) -> list[list[str]] | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        tokens = obj["tokens"]
        if obj.get("key") != key or len(tokens) != n:
            return None
        return tokens
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, corrupt or foreign: rebuild


def tokenize(
    texts: Sequence[str],
    name: str = "kiwi",
    workers: int | None = None,
    cache: Path | None = None,
    progress: bool = True,
) -> list[list[str]]:
    """Morphemes for each text, in order. Duplicate texts are analysed once.

    `cache` is a folder for the content-addressed token cache (None: no caching).
    """
    bid = backend_id(name)
    unique = list(dict.fromkeys(texts))
    key = _cache_key(unique, bid)
    path = cache / f"tokens-{key[:32]}.json" if cache is not None else None
    toks = _cache_read(path, key, len(unique)) if path is not None else None
    if toks is None:
        workers = workers or os.cpu_count() or 1
        with bar(f"tokenizing ({name})", len(unique), progress) as advance:
            toks = _RUNNERS[name](unique, workers, advance)
        if path is not None:
            atomic.write_text(path, json.dumps({"key": key, "backend": bid, "tokens": toks}, ensure_ascii=False))
    index = dict(zip(unique, range(len(unique)), strict=True))
    return [toks[index[t]] for t in texts]
