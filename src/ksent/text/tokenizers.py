"""Morphological analysis: one small interface over Okt (the seed's) and Kiwi (the default).

`tokenize(texts, name)` deduplicates, runs the backend (in parallel), caches the result on disk
keyed by the exact texts + backend + version, and returns one token list per input text.
`tokenize(texts, name, spans=True)` runs the same analysis and returns `Token`s that also carry
where each token came from in the analysed text (what `ksent explain` and the server show).
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, partial
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ksent import atomic
from ksent.errors import KsentError
from ksent.progress import bar
from ksent.runtime import default_workers

BACKENDS = ("kiwi", "okt", "subword")
_SHARED: ContextVar[dict | None] = ContextVar("ksent_shared_analyses", default=None)
CACHE_FORMAT = 2


class Token(NamedTuple):
    """A token and its span: `text[start:end]` is the surface it was analysed from (None if unknown)."""

    form: str  # what the vocabulary sees: Kiwi lemma for verbs/adjectives, Okt stem
    start: int | None
    end: int | None


def package_version(name: str) -> str:
    """The installed version of package `name` (its import name is its distribution's here), or "missing".

    Read from the package's `__version__` (which ksent imports anyway to use it) rather than from
    importlib.metadata, whose import alone costs a cold `ksent predict` 20-70 ms."""
    import importlib

    try:
        found = getattr(importlib.import_module(name), "__version__", None)
    except ImportError:
        return "missing"
    if isinstance(found, str):
        return found
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


# --- Okt: konlpy's Open Korean Text, morphs(stem=True) as the seed calls it ---------------------


def okt():
    """The process's one Okt analyser (konlpy starts the JVM on first use)."""
    try:
        import konlpy.tag  # noqa: F401
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
    return _okt_instance()


@cache
def _okt_instance():
    from konlpy.tag import Okt

    return Okt()


def _okt_words(analyser, text: str, tags: bool) -> list[str]:
    if tags:
        return [f"{w}/{t}" for w, t in analyser.pos(text, stem=True)]
    return analyser.morphs(text, stem=True)


def _okt_chunk(texts: list[str], tags: bool = False) -> list[list[str]]:
    analyser = okt()
    return [_okt_words(analyser, t, tags) for t in texts]


def _okt_spans(text: str, tags: bool = False) -> list[Token]:
    """Okt gives no offsets: its unstemmed morphs are the surfaces (stemming rewrites a token's text,
    never the token count), found left to right in the text."""
    analyser = okt()
    words, surfaces = _okt_words(analyser, text, tags), analyser.morphs(text)
    if len(surfaces) != len(words):
        return [Token(w, None, None) for w in words]
    out, cursor = [], 0
    for w, surface in zip(words, surfaces, strict=True):
        i = text.find(surface, cursor) if surface else -1
        if i < 0:
            out.append(Token(w, None, None))
        else:
            out.append(Token(w, i, i + len(surface)))
            cursor = i + len(surface)
    return out


OKT_POOL_MIN_TEXTS = 5000  # below this, starting one JVM per worker process costs more than it saves


def _run_okt(texts: list[str], workers: int, advance: Callable, spans: bool = False, tags: bool = False) -> list:
    if spans:
        return [_okt_spans(t, tags) for t in texts]
    chunk = 1000
    chunks = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    if workers <= 1 or len(texts) < OKT_POOL_MIN_TEXTS:
        out = []
        for c in chunks:
            out.extend(_okt_chunk(c, tags))
            advance(len(c))
        return out
    okt()  # fail here, with a clear message, rather than inside a worker
    out = []
    # One JVM per process; spawn (not fork) because a JVM does not survive fork.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=okt) as pool:
        for c, toks in zip(chunks, pool.map(partial(_okt_chunk, tags=tags), chunks), strict=True):
            out.extend(toks)
            advance(len(c))
    return out


# --- Kiwi: kiwipiepy, no Java; verbs and adjectives as lemmas, like Okt's stem=True -------------

_LEMMA_TAGS = ("VV", "VA", "VX")


def kiwi_words(tokens, tags: bool = False) -> list[str]:
    """Kiwi tokens -> the strings ksent uses: lemmas for verbs/adjectives (재밌 -> 재밌다), forms otherwise;
    with `tags`, each form with its part-of-speech tag instead (재밌/VA, 점/NNB, 10/SN)."""
    if tags:
        return [f"{t.form}/{t.tag}" for t in tokens]
    return [t.lemma if t.tag.startswith(_LEMMA_TAGS) else t.form for t in tokens]


def kiwi_spans(tokens, tags: bool = False) -> list[Token]:
    """`kiwi_words` with Kiwi's own character offsets."""
    return [Token(w, t.start, t.start + t.len) for w, t in zip(kiwi_words(tokens, tags), tokens, strict=True)]


@cache
def kiwi(workers: int = 1):
    """One Kiwi per worker count, loaded once per process (loading its model takes ~1-2 s)."""
    try:
        from kiwipiepy import Kiwi
    except ImportError:
        raise KsentError("the 'kiwi' tokenizer needs kiwipiepy: pip install 'ksent[kiwi]'") from None

    return Kiwi(num_workers=max(workers, 1))


def _run_kiwi(texts: list[str], workers: int, advance: Callable, spans: bool = False, tags: bool = False) -> list:
    out = []
    convert = kiwi_spans if spans else kiwi_words
    for tokens in kiwi(workers).tokenize(texts):  # an iterable runs on the worker threads, in order
        out.append(convert(tokens, tags))
        if len(out) % 1000 == 0:
            advance(1000)
    advance(len(out) % 1000)
    return out


# --- subword: a byte-pair encoding learnt from the training texts (Hugging Face `tokenizers`) -----
# No analyser at all: whitespace-separated words split into frequent pieces, each word's first piece
# marked with "▁". The pieces are learnt by `fit_subword` and stored with the model (vocab.json), so
# this backend needs that model: `tokenize(..., subword=model_json)`.

SUBWORD_UNKNOWN = "<unk>"  # a character never seen in training (the vocabulary maps it to <OOV>)


def fit_subword(texts: Sequence[str], vocab_size: int, cache: Path | None = None) -> str:
    """Learn a BPE of `vocab_size` pieces from `texts`; returns the tokenizer as JSON (`tokenizer.json`'s format).

    Whitespace runs count as one space and case is folded, so "GOOD  영화" and "good 영화" read alike.
    Learning is deterministic, so with a `cache` folder the result is kept there, keyed by the texts,
    the size and the `tokenizers` version.
    """
    if cache is not None:
        key = _cache_key(texts, f"{backend_id('subword')}/pieces{vocab_size}")
        path = cache / f"pieces-{key[:32]}.json"
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
            if obj.get("key") == key and isinstance(obj.get("model"), str):
                return obj["model"]
        except (OSError, ValueError, AttributeError):
            pass  # missing, corrupt or foreign: learn again
        model = fit_subword(texts, vocab_size)
        atomic.write_text(path, json.dumps({"key": key, "model": model}, ensure_ascii=False))
        return model
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=SUBWORD_UNKNOWN))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip(), normalizers.Lowercase()]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[SUBWORD_UNKNOWN], show_progress=False)
    tok.train_from_iterator(texts, trainer, length=len(texts))
    return tok.to_str()


@cache
def _subword_tokenizer(model: str):
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_str(model)
    except Exception as e:  # tokenizers raises its own exception types for a damaged model
        raise KsentError(f"the subword model cannot be read ({e}); the model folder is damaged") from None


def subword_ids(texts: Sequence[str], model: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The pieces of `texts` as the tokenizer's own ids, without Python strings: (the pieces, indexed
    by id; every text's ids end to end, int64; each text's count). What `tokenize` gives as strings."""
    tok = _subword_tokenizer(model)
    encodings = tok.encode_batch_fast(list(texts), add_special_tokens=False)  # no offsets: not needed here
    lengths = np.fromiter(map(len, encodings), np.int64, len(encodings))
    flat = np.fromiter(chain.from_iterable(e.ids for e in encodings), np.int64, int(lengths.sum()))
    return _subword_pieces(model), flat, lengths


@cache
def _subword_pieces(model: str) -> list[str]:
    vocab = _subword_tokenizer(model).get_vocab()
    pieces = [""] * len(vocab)
    for piece, i in vocab.items():
        pieces[i] = piece
    return pieces


def _subword_token(form: str, text: str, start: int, end: int) -> Token:
    """A piece with its span, without the space its "▁" stands for. A lone "▁" spans the space it
    stands for, or nothing when it marks the text's first word (no character of the text is it)."""
    if form == "▁":
        return Token(form, start, end) if text[start:end].isspace() else Token(form, None, None)
    while start < end - 1 and text[start].isspace():
        start += 1
    return Token(form, start, end)


def _run_subword(texts: list[str], model: str, spans: bool = False) -> list:
    tok = _subword_tokenizer(model)
    encodings = tok.encode_batch(texts, add_special_tokens=False)  # Rust threads (RAYON_NUM_THREADS)
    if not spans:
        return [e.tokens for e in encodings]
    return [
        [_subword_token(form, text, s, e) for form, (s, e) in zip(enc.tokens, enc.offsets, strict=True)]
        for text, enc in zip(texts, encodings, strict=True)
    ]


_RUNNERS = {"okt": _run_okt, "kiwi": _run_kiwi}
_PACKAGES = {"okt": "konlpy", "kiwi": "kiwipiepy", "subword": "tokenizers"}


def backend_id(name: str, tags: bool = False) -> str:
    """Backend plus the versions and options that decide its output: part of every cache key."""
    if name not in BACKENDS:
        raise KsentError(f"unknown tokenizer {name!r}; choose one of {', '.join(BACKENDS)}")
    from ksent._version import __version__

    extra = f"+model{package_version('kiwipiepy_model')}+lemmas{'/'.join(_LEMMA_TAGS)}" if name == "kiwi" else ""
    return f"ksent{__version__}/{name}:{package_version(_PACKAGES[name])}{extra}{'+tags' if tags else ''}"


def provenance(name: str) -> dict:
    """What decides this backend's tokens, recorded in every model folder and compared on load."""
    if name not in BACKENDS:
        raise KsentError(f"unknown tokenizer {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "kiwi":
        return {
            "backend": "kiwi",
            "packages": {p: package_version(p) for p in ("kiwipiepy", "kiwipiepy_model")},
            "options": {"lemma_tags": list(_LEMMA_TAGS), "call": "Kiwi().tokenize(text)"},
        }
    if name == "subword":
        return {
            "backend": "subword",
            "packages": {"tokenizers": package_version("tokenizers")},
            "options": {"call": "Tokenizer(BPE).encode_batch(texts)", "model": "vocab.json subword"},
        }
    return {
        "backend": "okt",
        "packages": {"konlpy": package_version("konlpy")},
        "options": {"call": "Okt().morphs(text, stem=True)"},
    }


def model_provenance(name: str, packages: dict[str, str]) -> dict:
    """What decides a model's input: backend `name`'s provenance, and every package its blocks' ids
    depend on (`packages`)."""
    recorded = provenance(name)
    recorded["packages"] = {**recorded["packages"], **packages}
    return recorded


class TokenizerMismatchWarning(UserWarning):
    """The analyser that produced a model's training tokens differs from the one installed now."""


def warn_if_tokenizer_differs(path, recorded: dict | None, name: str, packages: dict[str, str]) -> None:
    """Warn (`TokenizerMismatchWarning`) when the model at `path`, trained with the `recorded`
    provenance, would now read through another analyser (backend `name`; `packages`: every other
    package its ids depend on): its tokens, and so its accuracy, may differ from its figures."""
    if recorded is None:  # a folder written before ksent recorded it
        return
    if diff := provenance_differences(recorded, model_provenance(name, packages)):
        import warnings

        warnings.warn(
            f"{path}: the tokenizer differs from the one this model was trained with ({'; '.join(diff)}); "
            "its tokens and accuracy may differ. Install the recorded versions or retrain",
            TokenizerMismatchWarning,
            stacklevel=3,
        )


def provenance_differences(saved: dict, current: dict) -> list[str]:
    """Human-readable differences between a model's recorded tokenizer and this environment's.

    >>> provenance_differences({"packages": {"kiwipiepy": "0.24.1"}}, {"packages": {"kiwipiepy": "0.25.0"}})
    ['kiwipiepy 0.24.1 when trained, 0.25.0 here']
    """
    out = []
    for pkg, was in saved.get("packages", {}).items():
        now = current.get("packages", {}).get(pkg, "missing")
        if was != now:
            out.append(f"{pkg} {was} when trained, {now} here")
    for key, was in saved.get("options", {}).items():
        now = current.get("options", {}).get(key)
        if was != now:
            out.append(f"analyser option {key}={was!r} when trained, {now!r} here")
    return out


# --- the cache: content-addressed, atomic, verified on read -------------------------------------


def _cache_key(texts: Sequence[str], bid: str) -> str:
    h = hashlib.sha256(f"ksent-tokens/{CACHE_FORMAT}/{bid}\n".encode())
    h.update("\0".join(texts).encode())
    return h.hexdigest()


# On disk a document's tokens are one space-joined string (JSON decodes one string per document
# much faster than one per token); the rare document with a space inside a token stays a list.
def _pack(docs: list[list[str]]) -> list:
    return [d if any(" " in t or not t for t in d) else " ".join(d) for d in docs]


def _unpack(docs: list) -> list[list[str]]:
    return [(d.split(" ") if d else []) if isinstance(d, str) else d for d in docs]


def _cache_read(path: Path, key: str, n: int) -> list[list[str]] | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        docs = obj["docs"]
        if obj.get("key") != key or len(docs) != n:
            return None
        return _unpack(docs)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, corrupt or foreign: rebuild


@contextmanager
def analyses_shared() -> Iterator[dict]:
    """Inside, every `tokenize` call that can be cached (not `spans`; "subword" with a cache folder) also
    keeps its analyses in one memo (yielded), and reuses one made there for the same texts and backend:
    a feature set's blocks that read the same analysis (tokens, words), or two models that read the same
    texts with the same analyser (a born-again member and the ensemble that teaches it), analyse them
    once between them. Nested inside another, it joins the outer one's memo (what the outer scope made
    stays usable, and the outer scope decides when it is dropped)."""
    outer = _SHARED.get()
    if outer is not None:
        yield outer
        return
    memo: dict = {}
    token = _SHARED.set(memo)
    try:
        yield memo
    finally:
        _SHARED.reset(token)


def tokenize(
    texts: Sequence[str],
    name: str = "kiwi",
    workers: int | None = None,
    cache: Path | None = None,
    progress: bool = True,
    spans: bool = False,
    tags: bool = False,
    subword: str | None = None,
) -> list[list[str]] | list[list[Token]]:
    """Morphemes (or subword pieces) for each text, in order. Duplicate texts are analysed once.

    `workers`: analyser processes (Okt) or threads (Kiwi); default `ksent.runtime.default_workers()`.
    `cache` is a folder for the content-addressed token cache (None: no caching).
    With `spans`, each token is a `Token(form, start, end)` with its span in its text (never cached).
    With `tags`, each form carries its part-of-speech tag ("점/NNB").
    `subword`: the learnt model the "subword" backend needs (`fit_subword`); its pieces are cached
    under that model's hash.
    Inside `analyses_shared()`, an analysis made or read is kept in its memo, and one there is reused.
    """
    bid = backend_id(name, tags)
    if name == "subword":
        if subword is None:
            raise KsentError("the 'subword' tokenizer needs its learnt model: fit one (ksent train) or load a model")
        if tags:
            raise KsentError("the 'subword' tokenizer has no part-of-speech tags; set tags=false")
        if spans or cache is None:
            return _run_subword(list(texts), subword, spans=spans)
        bid += "+model" + hashlib.sha256(subword.encode()).hexdigest()[:16]

        def run(unique: list[str], advance) -> list[list[str]]:
            docs = _run_subword(unique, subword)
            advance(len(unique))
            return docs
    else:
        workers = default_workers(workers)
        if spans:
            unique = list(dict.fromkeys(texts))
            toks = _RUNNERS[name](unique, workers, lambda n=1, **kw: None, spans=True, tags=tags)
            by_text = dict(zip(unique, toks, strict=True))
            return [by_text[t] for t in texts]

        def run(unique: list[str], advance) -> list[list[str]]:
            return _RUNNERS[name](unique, workers, advance, tags=tags)

    unique = list(dict.fromkeys(texts))
    key = _cache_key(unique, bid)
    path = cache / f"tokens-{key[:32]}.json" if cache is not None else None
    memo = _SHARED.get()
    toks = memo.get(key) if memo is not None else None
    if toks is None and path is not None:
        toks = _cache_read(path, key, len(unique))
    if toks is None:
        with bar(f"tokenizing ({name})", len(unique), progress) as advance:
            toks = run(unique, advance)
        if path is not None:
            obj = {"key": key, "backend": bid, "docs": _pack(toks)}
            atomic.write_text(path, json.dumps(obj, ensure_ascii=False))
    if memo is not None:
        memo[key] = toks
    index = dict(zip(unique, range(len(unique)), strict=True))
    return [toks[index[t]] for t in texts]
