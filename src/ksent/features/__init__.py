"""The ways a model reads a review, and the one place that knows how their ids are laid out.

Each way of reading is a featurizer (`ksent.features.base.Featurizer`): analyser tokens
(`Tokens`, every model's first block), syllables (`Syllables`) and subword pieces (`Pieces`).
A `FeatureSet` holds a model's featurizers in order, concatenates their blocks of ids into one
array (N, total width) and is the only owner of each block's columns, as scikit-learn's
ColumnTransformer owns its output slices. Ensemble members each read one block.

A new way of reading is one file: subclass `Featurizer`, decorate it with `@register`, and name
its kind in a config's `views` (`{"jamo": {"members": 1, "max_len": 200}}`: its members, then
its own options). Its state is saved in its own section of vocab.json: no format change.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ksent.config import Config
from ksent.errors import KsentError
from ksent.features.base import QUIET, Featurizer, Run
from ksent.features.pieces import Pieces
from ksent.features.syllables import Syllables
from ksent.features.tokens import Tokens
from ksent.text.tokenizers import analyses_shared

FEATURIZERS: dict[str, type[Featurizer]] = {}
# their members are counted by their own config fields
BUILT_IN = {"tokens": "members", "syllables": "syllable_members", "pieces": "piece_members"}
# what a view's section says besides the featurizer's own options (`Config.views`)
SECTION_KEYS = ("members", "votes")


def register(cls: type[Featurizer]) -> type[Featurizer]:
    """Make a featurizer class available to configs under its `kind` (a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Featurizer) and cls.kind):
        raise KsentError(f"register takes a Featurizer subclass with a `kind`, got {cls!r}")
    if FEATURIZERS.get(cls.kind, cls) is not cls:
        raise KsentError(f"a featurizer of kind {cls.kind!r} is registered already ({FEATURIZERS[cls.kind].__name__})")
    FEATURIZERS[cls.kind] = cls
    return cls


for _cls in (Tokens, Syllables, Pieces):
    register(_cls)

# Views shipped with ksent, each registering itself as any outside featurizer would (named in `views`).
from ksent.features import chargrams, jamo, words  # noqa: E402, F401


@dataclass
class Block:
    featurizer: Featurizer
    columns: slice  # its columns in the feature set's ids
    members: int  # ensemble members that read it
    votes: bool = True  # False: its members only teach the born-again members (`Config.views`)


class FeatureSet:
    """A model's featurizers in block order; `encode` concatenates their ids. While a model trains,
    the blocks of views that only teach come last (`n_voting`: how many blocks come before them)."""

    def __init__(self, featurizers: Sequence[Featurizer], members: Sequence[int], n_voting: int | None = None):
        self.blocks: list[Block] = []
        n_voting = len(featurizers) if n_voting is None else n_voting
        start = 0
        for k, (f, n) in enumerate(zip(featurizers, members, strict=True)):
            self.blocks.append(Block(f, slice(start, start + f.width), n, votes=k < n_voting))
            start += f.width
        self.width = start

    def voting(self) -> "FeatureSet":
        """The blocks a trained model keeps: these featurizers (fitted), without those that only taught.
        Their columns are the first `width` of this set's ids."""
        kept = [b for b in self.blocks if b.votes]
        return FeatureSet([b.featurizer for b in kept], [b.members for b in kept])

    @classmethod
    def from_config(cls, cfg: Config, teaching: bool = False) -> "FeatureSet":
        """The unfitted featurizers a config asks for: tokens, then syllables and pieces if it has
        such members, then each kind its `views` names, in that order. With `teaching` (training), also
        the views that only teach ("votes": false), after all the others: a model leaves them out
        (`voting`), so the columns of the blocks it keeps are the same with or without them."""
        counts = [("tokens", cfg.members, {}), ("syllables", cfg.syllable_members, {})]
        counts.append(("pieces", cfg.piece_members, {}))
        teachers = []
        for kind, section in cfg.views.items():
            if kind in BUILT_IN:
                raise KsentError(f"config {cfg.name!r}: views cannot name {kind!r}; set {BUILT_IN[kind]} instead")
            if kind not in FEATURIZERS:
                raise KsentError(
                    f"config {cfg.name!r}: views names {kind!r}, which is not a registered featurizer "
                    f"(registered: {', '.join(FEATURIZERS)}); import the module that registers it first"
                )
            options = {k: v for k, v in section.items() if k not in SECTION_KEYS}
            entry = (kind, int(section.get("members", 1)), options)
            if section.get("votes", True) is False:
                teachers.append(entry)
            else:
                counts.append(entry)
        n_voting = sum(1 for kind, n, _ in counts if n or kind == "tokens")
        kept = [
            (kind, n, options) for kind, n, options in counts + (teachers if teaching else []) if n or kind == "tokens"
        ]
        featurizers = [FEATURIZERS[kind](cfg, options) for kind, _, options in kept]
        return cls(featurizers, [n for _, n, _ in kept], n_voting)

    # -- the layout, known here only ---------------------------------------------------------

    @property
    def tokens(self) -> Tokens:
        """The analyser-token block every model has (what `n_tokens` counts and explain follows)."""
        return self.blocks[0].featurizer  # type: ignore[return-value]

    def block(self, x: np.ndarray, kind: str) -> np.ndarray:
        """One kind's columns of the ids."""
        return x[:, self.columns(kind)]

    def columns(self, kind: str) -> slice:
        return self.block_of(kind).columns

    def block_of(self, kind: str) -> Block:
        for b in self.blocks:
            if b.featurizer.kind == kind:
                return b
        raise KsentError(f"this model reads no {kind!r} block (it reads {', '.join(self.kinds())})")

    def kinds(self) -> list[str]:
        return [b.featurizer.kind for b in self.blocks]

    def member_blocks(self) -> list[Block]:
        """The block each ensemble member reads, in member order (a block's members together)."""
        return [b for b in self.blocks for _ in range(b.members)]

    def n_tokens(self, x: np.ndarray) -> np.ndarray:
        """Tokens the model read per row (N,): the token block's non-padding ids."""
        return (self.block(x, "tokens") != 0).sum(axis=1)

    # -- fit / encode ------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        """Fit every featurizer on the training texts; their ids, concatenated (N, width)."""
        with analyses_shared():  # blocks that read the same analysis (tokens, words) make it once
            return self._joined([b.featurizer.fit(texts, run) for b in self.blocks])

    def encode(self, texts: Sequence[str], run: Run = QUIET) -> np.ndarray:
        with analyses_shared():
            return self._joined([b.featurizer.encode(texts, run) for b in self.blocks])

    def variants(self, text: str, fed, ids: np.ndarray, kind: str = "tokens") -> np.ndarray:
        """Explain's variants of one review: `kind`'s block given (`ids`, its units deleted one by
        one), each other block's own (its units over each deleted unit's span deleted)."""
        return self._joined(
            [ids if b.featurizer.kind == kind else b.featurizer.variants(text, fed) for b in self.blocks]
        )

    def _joined(self, parts: list[np.ndarray]) -> np.ndarray:
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    # -- what it needs besides --------------------------------------------------------------

    def packages(self) -> dict[str, str]:
        """Packages whose versions decide the ids (the model's provenance)."""
        out: dict[str, str] = {}
        for b in self.blocks:
            out.update(b.featurizer.packages())
        return out

    def state(self, readable: bool = True) -> list[dict]:
        """Each block's own state, in order (vocab.json's "features"); `readable=False`: learnt models
        as the text their library reads (an export's, quicker to load), not as JSON objects."""
        return [{"kind": b.featurizer.kind, **b.featurizer.state(readable)} for b in self.blocks]

    def load_state(self, states: list, source: str) -> "FeatureSet":
        kinds = [s.get("kind") if isinstance(s, dict) else None for s in states]
        if kinds != self.kinds():
            raise KsentError(f"{source} holds blocks {kinds}, but the config reads {self.kinds()}")
        for b, s in zip(self.blocks, states, strict=True):
            b.featurizer.load_state(s, source)
        return self


__all__ = [
    "BUILT_IN",
    "FEATURIZERS",
    "Block",
    "FeatureSet",
    "Featurizer",
    "Pieces",
    "Run",
    "Syllables",
    "Tokens",
    "register",
]
