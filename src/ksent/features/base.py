"""What every featurizer is: one way of reading a review, as a block of ids of fixed width.

A featurizer fits on training texts (learns its vocabulary), encodes texts to padded ids
(N, width), tells which units a review is read as with their character spans in the review itself
(`units`: what explain shows and deletes), and saves and loads its own state (`state` /
`load_state`, a JSON-ready dict). It knows nothing of the other blocks: the `FeatureSet`
(`ksent.features`) concatenates them and owns their columns. A new way of reading is one subclass
in one file, registered with `ksent.features.register`.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np

from ksent.config import Config
from ksent.errors import KsentError
from ksent.runtime import gc_paused
from ksent.text.clean import is_stopword
from ksent.text.tokenizers import Token, subword_ids
from ksent.text.vocab import OOV_TOKEN, Vocab, first_step, kept_part, pad_flat, pad_sequences

# From this many texts on, subword blocks encode from the tokenizer's ids (`_pad_subword`); below it,
# looking a few pieces up by string beats building the id map (16k entries: ~30 ms, once).
IDS_MIN_TEXTS = 64

# What happened to a unit (a token, a syllable, a piece) on its way to the model (`TokenFate.status`).
STATUS = {
    "input": "fed to the model",
    "oov": f"fed to the model as {OOV_TOKEN} (rare or unseen in training)",
    "unknown": "not in the vocabulary and this model has no OOV id: dropped, as the seed's Tokenizer drops it",
    "stopword": "in the config's stopword list: removed before the model",
    "truncated": "beyond max_len: cut off (truncating='pre' keeps the last max_len tokens)",
}


class TokenFate(NamedTuple):
    status: str  # a key of STATUS
    id: int | None  # the vocabulary id fed to the model (None if it was not fed)
    step: int | None  # the time step in the padded input, 0 .. width-1


@dataclass(frozen=True)
class Run:
    """How to run a featurizer, not what it learns: analyser threads, a token cache, progress bars."""

    workers: int | None = None
    cache: Path | None = None
    progress: bool = False


QUIET = Run()  # the default: the analyser's default threads, no cache, no progress bars


class Featurizer:
    """Base class: a vocabulary (`vocab`) over the units `read` returns, padded to `width` columns.

    Subclasses set `kind` and implement `read` (texts -> units) and `units` (one text -> units with
    spans); the rest (fit, encode, deletion variants for explain, state) is shared. `options` is the
    kind's section of the config (`Config.views[kind]`); the built-in kinds read config fields.
    """

    kind: ClassVar[str] = ""
    network: ClassVar[str] = "lstm"  # the kind of member that reads this block (ksent.models.NETWORKS)
    oov = True  # unseen units read as <OOV> (id 1)
    stopwords: frozenset[str] = frozenset()  # units removed before the vocabulary (the token block's)
    # the options a config's section may set (besides "members"): each a whole number >= 1, or true/false
    OPTIONS: ClassVar[tuple[str, ...]] = ("max_len", "epochs", "min_count")
    FLAGS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: Config, options: Mapping | None = None):
        self.options = dict(options or {})
        for key, value in self.options.items():
            if key not in self.OPTIONS + self.FLAGS:
                raise KsentError(
                    f"config {cfg.name!r}: the {self.kind!r} view has no option {key!r} "
                    f"(its options: members, {', '.join(self.OPTIONS + self.FLAGS)})"
                )
            if key in self.FLAGS:
                if not isinstance(value, bool):
                    raise KsentError(f"config {cfg.name!r}: the {self.kind!r} view's {key} must be true or false")
            elif not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise KsentError(f"config {cfg.name!r}: the {self.kind!r} view's {key} must be a whole number >= 1")
        self.width = int(self.options.get("max_len", cfg.max_len))
        self.padding, self.truncating = cfg.padding, cfg.truncating
        self.min_count = int(self.options.get("min_count", cfg.min_count))
        self.vocab: Vocab | None = None
        self._map: tuple | None = None  # (vocabulary, subword model, tokenizer id -> vocabulary id), for `_pad_subword`

    # -- what a subclass says --------------------------------------------------------------------

    def read(self, texts: Sequence[str], run: Run) -> list[list[str]]:
        """The units each text is read as, in order (what the vocabulary counts and looks up)."""
        raise NotImplementedError

    def units(self, text: str) -> list[Token]:
        """One review's units (the forms `read` gives), each with its span in `text` itself
        (`text[start:end]`; None where it cannot be placed)."""
        raise NotImplementedError

    def learn(self, texts: Sequence[str], run: Run) -> None:
        """Anything learnt before the units can be read (a subword model); nothing by default."""

    def epochs(self, cfg: Config) -> int:
        """How many epochs a member reading this block trains for."""
        return int(self.options.get("epochs", cfg.epochs))

    def packages(self) -> dict[str, str]:
        """Packages whose version decides this block's ids (recorded in the model's provenance)."""
        return {}

    # -- shared ----------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Embedding rows a member reading this block needs (padding id 0 included)."""
        return len(self._fitted())

    def fit(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        """Learn the vocabulary from training texts (units seen `min_count` times) and return their ids."""
        self.learn(texts, run)
        docs = self.read(texts, run)
        self.vocab = Vocab.fit(docs, min_count=self.min_count, oov=self.oov)
        return self._pad_docs(docs)

    def encode(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        """Texts -> padded ids (N, width); a text with no known unit is all padding."""
        self._fitted()
        return self._pad_docs(self.read(texts, run))

    def pad(self, seqs: Sequence[Sequence[int]]) -> np.ndarray:
        return pad_sequences(seqs, self.width, self.padding, self.truncating)

    def variants(self, text: str, fed: Sequence[Token]) -> np.ndarray:
        """This block for the variants explain scores, in order: the review; the review without
        each fed token of another block (this block's units that overlap its span deleted); the
        review cut right after each fed token (the units that start before its end). A unit or
        token without a span is never deleted; stopwords are removed, as `read` removes them."""
        units = self.units(text)
        stop = is_stopword([u.form for u in units], self.stopwords)
        units = [u for u, s in zip(units, stop, strict=True) if not s]
        ids = self._fitted().lookup([u.form for u in units])
        spans = [(u.start, u.end) if u.start is not None else None for u in units]
        without, after, end = [], [], 0
        for t in fed:
            if t.start is None or t.end is None:
                without.append(ids)
            else:
                apart = [s is None or s[1] <= t.start or s[0] >= t.end for s in spans]
                without.append([i for i, keep in zip(ids, apart, strict=True) if keep])
                end = max(end, t.end)
            after.append([i for i, s in zip(ids, spans, strict=True) if s is None or s[0] < end])
        rows = [ids, *without, *after]
        return self.pad([[i for i in row if i is not None] for row in rows])

    def fates(self, forms: Sequence[str]) -> list[TokenFate]:
        """What the pipeline does with each of one review's units (`units`' forms, stopwords still
        in), by the rules `read` and `encode` apply: stopwords, vocabulary lookup, truncation, padding."""
        vocab = self._fitted()
        stop = is_stopword(forms, self.stopwords)
        kept = [k for k, s in enumerate(stop) if not s]
        ids = vocab.lookup([forms[k] for k in kept])
        with_id = [(k, i) for k, i in zip(kept, ids, strict=True) if i is not None]
        fed = with_id[kept_part(len(with_id), self.width, self.truncating)]
        first = first_step(len(fed), self.width, self.padding)
        fates: list[TokenFate] = [TokenFate("stopword", None, None)] * len(forms)
        for k, i in zip(kept, ids, strict=True):
            fates[k] = TokenFate("unknown" if i is None else "truncated", None, None)
        for step, (k, i) in enumerate(fed, first):
            fates[k] = TokenFate("oov" if vocab.oov and i == 1 else "input", i, step)
        return fates

    def state(self, readable: bool = True) -> dict:
        """What `load_state` needs, as JSON-ready data (the vocabulary). `readable`: a learnt model
        as a JSON object a person can read (model folders), else as its library's own text (exports)."""
        return {"words": self._fitted().words}

    def load_state(self, state: dict, source: str) -> None:
        if not isinstance(state.get("words"), list):
            raise KsentError(f"{source}: the {self.kind!r} block has no word list; the model folder is damaged")
        self.vocab = Vocab(words=state["words"], oov=self.oov)

    @staticmethod
    def _learnt(value) -> str:
        """A learnt subword model from vocab.json as the text the tokenizer reads: exports keep that
        text (read as is: a quicker cold start), model folders a JSON object (written back)."""
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def _pad_docs(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        with gc_paused():
            ids = self._fitted().encode_all(docs)
        return self.pad(ids)

    def _pad_subword(self, texts: Sequence[str], model: str) -> np.ndarray:
        """`encode` for a block of subword pieces, ids straight from the tokenizer: each piece's id
        is mapped to the vocabulary's in one indexing and padded in numpy (the same ids as looking
        up the pieces' strings, several times faster from IDS_MIN_TEXTS texts on)."""
        pieces, flat, lengths = subword_ids(texts, model)
        vocab = self._fitted()
        if self._map is None or self._map[0] is not vocab or self._map[1] != model:
            self._map = (vocab, model, vocab.id_map(pieces))
        ids = self._map[2][flat]
        if not vocab.oov:  # no OOV id: an unknown piece is deleted, as `Vocab.encode` deletes it
            known = ids >= 0
            lengths = np.bincount(np.repeat(np.arange(len(lengths)), lengths)[known], minlength=len(lengths))
            ids = ids[known]
        return pad_flat(ids, lengths, self.width, self.padding, self.truncating)

    def _fitted(self) -> Vocab:
        if self.vocab is None:
            raise KsentError(f"the {self.kind!r} featurizer has no vocabulary yet: fit it on training texts first")
        return self.vocab
