"""Text -> what the model reads, for a config: cleaning, analysis, stopwords, ids, padding.

The pipeline's rules live here once. `model_tokens` and `encode` serve whole corpora;
`analyse` and `token_fates` follow one review through the same functions and say, for every
token the analyser produced, where it is in the user's text and what became of it.
"""

import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ksent.config import Config
from ksent.errors import KsentError
from ksent.runtime import gc_paused
from ksent.text.clean import clean_hangul, clean_with_offsets, is_stopword, remove_stopwords
from ksent.text.tokenizers import Token, fit_subword, tokenize
from ksent.text.vocab import OOV_TOKEN, Vocab, first_step, kept_part, pad_sequences

_WHITESPACE = re.compile(r"\s")

# What happened to a token on its way to the model (`TokenFate.status`).
STATUS = {
    "input": "fed to the model",
    "oov": f"fed to the model as {OOV_TOKEN} (rare or unseen in training)",
    "unknown": "not in the vocabulary and this model has no OOV id: dropped, as the seed's Tokenizer drops it",
    "stopword": "in the config's stopword list: removed before the model",
    "truncated": "beyond max_len: cut off (truncating='pre' keeps the last max_len tokens)",
}


def model_tokens(
    texts: Sequence[str],
    cfg: Config,
    cache: Path | None = None,
    workers: int | None = None,
    progress: bool = False,
    subword: str | None = None,
) -> list[list[str]]:
    """Cleaned, analysed and stopword-filtered tokens, one list per text (`subword`: the learnt
    model a "subword" config needs, `Vocab.subword`)."""
    cleaned = [clean_hangul(t) for t in texts] if cfg.clean else list(texts)
    with gc_paused():
        docs = tokenize(
            cleaned, cfg.tokenizer, workers=workers, cache=cache, progress=progress, tags=cfg.tags, subword=subword
        )
        stop = frozenset(cfg.stopwords)
        return [remove_stopwords(d, stop) for d in docs] if stop else docs


def fit_pieces(texts: Sequence[str], cfg: Config, cache: Path | None = None) -> str:
    """A "subword" config's pieces, learnt from training texts as `model_tokens` will feed them
    (cleaned if `cfg.clean`): the model JSON that `Vocab.subword` keeps (kept in `cache` if given)."""
    return fit_subword([clean_hangul(t) for t in texts] if cfg.clean else list(texts), cfg.subword_vocab, cache)


def encode(docs: Sequence[Sequence[str]], vocab: Vocab, cfg: Config, texts: Sequence[str] | None = None) -> np.ndarray:
    """Token lists -> padded ids (N, max_len); a document with no known token is all padding.

    With syllable members (`cfg.syllable_members`), the texts' syllable ids follow as a second
    block: (N, max_len + syllable_max_len); with piece members, their piece ids follow as the last
    block (piece_max_len columns). Each member reads its own columns (`ksent.models`)."""
    with gc_paused():
        ids = vocab.encode_all(docs)
    blocks = [pad_sequences(ids, cfg.max_len, cfg.padding, cfg.truncating)]
    if cfg.syllable_members:
        if texts is None or vocab.syllables is None:
            raise KsentError("this config has syllable members: encode needs the texts and a vocabulary with syllables")
        blocks.append(encode_syllables(texts, vocab.syllables, cfg))
    if cfg.piece_members:
        if texts is None or vocab.pieces is None:
            raise KsentError("this config has piece members: encode needs the texts and a vocabulary with pieces")
        blocks.append(encode_pieces(texts, vocab.pieces, cfg))
    return blocks[0] if len(blocks) == 1 else np.hstack(blocks)


SPACE = "▁"  # what a syllable member reads for whitespace


def syllables(text: str, cfg: Config) -> list[str]:
    """What a syllable member reads: every character of the (cleaned, if `cfg.clean`) text, each
    whitespace character as "▁".

    >>> syllables("꿀잼 ㅋㅋ!", Config(clean=False))
    ['꿀', '잼', '▁', 'ㅋ', 'ㅋ', '!']
    """
    return list(_WHITESPACE.sub(SPACE, clean_hangul(text) if cfg.clean else text))


def syllables_with_offsets(text: str, cfg: Config) -> list[tuple[str, int]]:
    """`syllables(text, cfg)`, each with its position in `text` itself (through the cleaning)."""
    cleaned, where = clean_with_offsets(text) if cfg.clean else (text, range(len(text)))
    return [(SPACE if c.isspace() else c, where[k]) for k, c in enumerate(cleaned)]


def encode_syllables(texts: Sequence[str], syllable_vocab: Vocab, cfg: Config) -> np.ndarray:
    """Texts -> padded syllable ids (N, syllable_max_len)."""
    with gc_paused():
        ids = syllable_vocab.encode_all(syllables(t, cfg) for t in texts)
    return pad_sequences(ids, cfg.syllable_max_len, cfg.padding, cfg.truncating)


def pieces(texts: Sequence[str], subword: str, cfg: Config) -> list[list[str]]:
    """What a piece member reads: each (cleaned, if `cfg.clean`) text split into the learnt pieces
    (`subword`: `Vocab.pieces.subword`), as a "subword" config's tokenizer splits it."""
    cleaned = [clean_hangul(t) for t in texts] if cfg.clean else list(texts)
    return tokenize(cleaned, "subword", progress=False, subword=subword)


def encode_pieces(texts: Sequence[str], piece_vocab: Vocab, cfg: Config) -> np.ndarray:
    """Texts -> padded piece ids (N, piece_max_len)."""
    with gc_paused():
        ids = piece_vocab.encode_all(pieces(texts, piece_vocab.subword, cfg))
    return pad_sequences(ids, cfg.piece_max_len, cfg.padding, cfg.truncating)


def analyse(text: str, cfg: Config, workers: int | None = None, subword: str | None = None) -> list[Token]:
    """Every token the config's analyser produces for `text`, stopwords included, each with its
    span in `text` itself (through the cleaning): `text[t.start:t.end]` is where it came from.

    The forms are exactly those `model_tokens` gives before stopword removal.

    >>> [(t.form, t.start, t.end) for t in analyse("영화 10점!! 재밌었다", Config(tokenizer="kiwi"))]
    [('영화', 0, 2), ('점', 5, 6), ('재밌다', 9, 11), ('었', 11, 12), ('다', 12, 13)]
    """
    if cfg.clean:
        cleaned, where = clean_with_offsets(text)
    else:
        cleaned, where = text, range(len(text))
    out = []
    analysed = tokenize([cleaned], cfg.tokenizer, workers, progress=False, spans=True, tags=cfg.tags, subword=subword)
    for t in analysed[0]:
        if t.start is None or not (0 <= t.start < t.end <= len(cleaned)):
            out.append(Token(t.form, None, None))
        else:  # map the first and last character back through the cleaning
            out.append(Token(t.form, where[t.start], where[t.end - 1] + 1))
    return out


class TokenFate(NamedTuple):
    status: str  # a key of STATUS
    id: int | None  # the vocabulary id fed to the model (None if it was not fed)
    step: int | None  # the time step in the padded input, 0 .. max_len-1


def token_fates(forms: Sequence[str], vocab: Vocab, cfg: Config) -> list[TokenFate]:
    """What the pipeline does with each of one document's tokens (stopwords still in), by the same
    rules `model_tokens` and `encode` apply: stopwords, vocabulary lookup, truncation, padding.

    >>> v = Vocab(["<OOV>", "영화", "최고"], oov=True)
    >>> [f.status for f in token_fates(["영화", "는", "정말", "최고"], v, Config(max_len=2))]
    ['truncated', 'stopword', 'oov', 'input']
    """
    stop = is_stopword(forms, frozenset(cfg.stopwords))
    kept = [k for k, s in enumerate(stop) if not s]
    ids = vocab.lookup([forms[k] for k in kept])
    with_id = [(k, i) for k, i in zip(kept, ids, strict=True) if i is not None]
    fed = with_id[kept_part(len(with_id), cfg.max_len, cfg.truncating)]
    first = first_step(len(fed), cfg.max_len, cfg.padding)
    fates: list[TokenFate] = [TokenFate("stopword", None, None)] * len(forms)
    for k, i in zip(kept, ids, strict=True):
        fates[k] = TokenFate("unknown" if i is None else "truncated", None, None)
    for step, (k, i) in enumerate(fed, first):
        fates[k] = TokenFate("oov" if vocab.oov and i == 1 else "input", i, step)
    return fates
