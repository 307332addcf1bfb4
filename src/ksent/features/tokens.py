"""Analyser tokens: the seed's way of reading a review, and the block every model has.

Cleaning (the seed's Hangul-only, if `clean`), analysis (Okt, Kiwi, or learnt subword pieces for a
"subword" config), stopword removal, then Keras' Tokenizer semantics (`ksent.text.vocab`): ranks by
count, `min_count`, an optional OOV id, padded and truncated to `max_len`. Beyond the shared
featurizer, its stopwords are a fate of their own (`fates`): explain shows it.
"""

import json
from collections.abc import Mapping, Sequence

import numpy as np

from ksent.config import Config
from ksent.errors import KsentError
from ksent.features.base import IDS_MIN_TEXTS, QUIET, STATUS, Featurizer, Run, TokenFate
from ksent.progress import bar
from ksent.runtime import gc_paused
from ksent.text.clean import clean_hangul, clean_with_offsets, remove_stopwords
from ksent.text.tokenizers import Token, fit_subword, provenance, tokenize


def cleaned(texts: Sequence[str], clean: bool) -> list[str]:
    return [clean_hangul(t) for t in texts] if clean else list(texts)


def spans_through_cleaning(text: str, clean: bool, analyse) -> list[Token]:
    """`analyse(cleaned text)`'s tokens with spans mapped back to `text` itself (through the cleaning)."""
    clean_text, where = clean_with_offsets(text) if clean else (text, range(len(text)))
    out = []
    for t in analyse(clean_text):
        if t.start is None or not (0 <= t.start < t.end <= len(clean_text)):
            out.append(Token(t.form, None, None))
        else:  # the first and last character, back through the cleaning
            out.append(Token(t.form, where[t.start], where[t.end - 1] + 1))
    return out


class Tokens(Featurizer):
    kind = "tokens"

    def __init__(self, cfg: Config, options: Mapping | None = None):
        super().__init__(cfg, options)
        self.tokenizer, self.tags, self.clean = cfg.tokenizer, cfg.tags, cfg.clean
        self.stopwords = frozenset(cfg.stopwords)
        self.oov = cfg.oov  # Keras' Tokenizer without oov_token deletes unknown words
        self.subword_vocab = cfg.subword_vocab
        self.subword: str | None = None  # a "subword" config's learnt pieces (tokenizer JSON)

    def learn(self, texts: Sequence[str], run: Run) -> None:
        if self.tokenizer == "subword":  # the pieces are learnt from the rows the vocabulary is fitted on
            with bar("learning subword pieces", 1, run.progress) as advance:
                self.subword = fit_subword(cleaned(texts, self.clean), self.subword_vocab, run.cache)
                advance(1)

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        """Cleaned, analysed and stopword-filtered tokens, one list per text."""
        with gc_paused():
            docs = tokenize(
                cleaned(texts, self.clean),
                self.tokenizer,
                workers=run.workers,
                cache=run.cache,
                progress=run.progress,
                tags=self.tags,
                subword=self.subword,
            )
            return [remove_stopwords(d, self.stopwords) for d in docs] if self.stopwords else docs

    def encode(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        if self.tokenizer == "subword" and not self.stopwords and len(texts) >= IDS_MIN_TEXTS:
            self._fitted()
            return self._pad_subword(cleaned(texts, self.clean), self.subword)
        return super().encode(texts, run)

    def units(self, text: str, workers: int | None = 1) -> list[Token]:
        """Every token the analyser produces for `text`, stopwords included, each with its span in
        `text` itself: the forms `read` gives before stopword removal."""

        def analyse(clean_text: str) -> list[Token]:
            return tokenize(
                [clean_text], self.tokenizer, workers, progress=False, spans=True, tags=self.tags, subword=self.subword
            )[0]

        return spans_through_cleaning(text, self.clean, analyse)

    def packages(self) -> dict[str, str]:
        return provenance(self.tokenizer)["packages"]

    def state(self, readable: bool = True) -> dict:
        vocab = self._fitted()
        learnt = {"subword": json.loads(self.subword) if readable else self.subword} if self.subword else {}
        return {"words": vocab.words, "oov": vocab.oov, **learnt}

    def load_state(self, state: dict, source: str) -> None:
        self.oov = bool(state.get("oov", self.oov))
        super().load_state(state, source)  # the vocabulary, with that OOV rule
        self.subword = self._learnt(state["subword"]) if "subword" in state else None
        if self.tokenizer == "subword" and self.subword is None:
            raise KsentError(f"{source} has no subword model, but the config's tokenizer is 'subword'")


__all__ = ["STATUS", "TokenFate", "Tokens", "cleaned", "spans_through_cleaning"]
