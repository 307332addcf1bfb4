"""Subword pieces: BPE pieces (`subword_vocab` of them) learnt from the training texts, as the
"subword" tokenizer learns them, read beside an analyser's tokens by piece members.
"""

import json
from collections.abc import Mapping, Sequence

import numpy as np

from ksent.config import Config
from ksent.errors import KsentError
from ksent.features.base import IDS_MIN_TEXTS, QUIET, Featurizer, Run
from ksent.features.tokens import cleaned, spans_through_cleaning
from ksent.progress import bar
from ksent.text.tokenizers import Token, fit_subword, provenance, tokenize


class Pieces(Featurizer):
    kind = "pieces"

    def __init__(self, cfg: Config, options: Mapping | None = None):
        super().__init__(cfg, {"max_len": cfg.piece_max_len})
        self.clean, self.subword_vocab = cfg.clean, cfg.subword_vocab
        self.subword: str | None = None  # the learnt pieces (Hugging Face tokenizer JSON)

    def learn(self, texts: Sequence[str], run: Run) -> None:
        with bar("learning subword pieces", 1, run.progress) as advance:
            self.subword = fit_subword(cleaned(texts, self.clean), self.subword_vocab, run.cache)
            advance(1)

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        return tokenize(cleaned(texts, self.clean), "subword", progress=False, subword=self.subword)

    def encode(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        if len(texts) < IDS_MIN_TEXTS:
            return super().encode(texts, run)
        self._fitted()
        return self._pad_subword(cleaned(texts, self.clean), self.subword)

    def units(self, text: str) -> list[Token]:
        def split(clean_text: str) -> list[Token]:
            return tokenize([clean_text], "subword", 1, progress=False, spans=True, subword=self.subword)[0]

        return spans_through_cleaning(text, self.clean, split)

    def packages(self) -> dict[str, str]:
        return provenance("subword")["packages"]

    def state(self, readable: bool = True) -> dict:
        subword = json.loads(self.subword or "null") if readable else self.subword
        return {"words": self._fitted().words, "subword": subword}

    def load_state(self, state: dict, source: str) -> None:
        super().load_state(state, source)
        if not state.get("subword"):
            raise KsentError(f"{source} has no pieces, but the config has piece members")
        self.subword = self._learnt(state["subword"])
