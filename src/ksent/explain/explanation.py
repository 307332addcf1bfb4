"""What the model did with one review: `Explanation`, its summaries, and its JSON form (`to_dict`)."""

from dataclasses import dataclass, field

import numpy as np

from ksent.config import Config
from ksent.explain.steps import DIRECTIONS, SIGNALS

# what one step of a member of each kind reads (its featurizer's kind -> a word for the unit)
UNIT = {
    "tokens": "token",
    "syllables": "character",
    "pieces": "piece",
    "jamo": "letter",
    "chargrams": "character n-gram",
    "words": "word n-gram",
}


@dataclass
class Token:
    """One token of the review, whether or not it reached the model: the pipeline's token, its fate
    (`ksent.features.tokens.Tokens.fates`) and, if it was fed, its evidence."""

    text: str  # as the model's vocabulary sees it (Kiwi lemma / Okt stem)
    start: int | None  # character span in the review: review[start:end] is where it came from
    end: int | None
    status: str  # a key of ksent.features.tokens.STATUS: input, oov, unknown, stopword, truncated
    id: int | None = None  # vocabulary id fed to the model (1 is <OOV> when the model has one)
    step: int | None = None  # time step in the padded input, 0 .. max_len-1
    evidence: float | None = None  # P(pred | review) - P(pred | review without it); None if not fed
    p_positive_without: float | None = None  # P(positive) with this token deleted
    p_positive_after: float | None = None  # P(positive) of the review cut right after this token


@dataclass
class Explanation:
    """What the model did with one review.

    `p_positive` and the evidence are the whole model's (every member of an ensemble). The trace and
    the head are one member's (`member`, of `n_members`): trace arrays are (layers, directions,
    max_len, hidden), indexed by time step (`Token.step`); steps not held by a token are padding.
    """

    text: str
    p_positive: float
    tokens: list[Token]
    padding_steps: int
    config: Config
    method: str  # how evidence was computed
    input_gate: np.ndarray
    forget_gate: np.ndarray
    candidate: np.ndarray
    output_gate: np.ndarray
    cell: np.ndarray
    hidden: np.ndarray
    features: np.ndarray  # (F,) what the member's head reads: its readout of the top layer's outputs
    feature_units: list[tuple[str, int, int]]  # per feature: (readout part, direction, hidden unit)
    contributions: np.ndarray  # (F,) head weight * feature: member_logit = contributions.sum() + head_bias
    head_bias: float
    member: int = 0  # which member the trace and head belong to
    n_members: int = 1
    member_weight: float = 1.0  # its weight in the model's logit (1/n_members in a mean ensemble)
    reads: str = "tokens"  # what that member reads (its featurizer's kind): `tokens` are those units
    width: int | None = None  # steps that member reads at most (None: the config's max_len)
    classes: tuple[str, str] = field(default=("negative", "positive"))

    @property
    def unit(self) -> str:
        """What one step of the shown member reads: "token", "character", "piece", ..."""
        return UNIT.get(self.reads, f"{self.reads} unit")

    @property
    def label(self) -> int:
        return int(self.p_positive >= 0.5)

    @property
    def sentiment(self) -> str:
        return self.classes[self.label]

    @property
    def fed(self) -> list[Token]:
        """The tokens the model read, in step order."""
        return sorted((t for t in self.tokens if t.step is not None), key=lambda t: t.step)

    @property
    def directions(self) -> tuple[str, ...]:
        return DIRECTIONS[: self.cell.shape[1]]

    @property
    def readout(self) -> str:
        """How the shown member's head reads the LSTM ("last", "mean", "max", "max_mean"): its features' parts."""
        return "_".join(dict.fromkeys(part for part, _, _ in self.feature_units))

    @property
    def member_logit(self) -> float:
        """The shown member's logit; a single model's is the model's (an ensemble combines its members':
        their mean, or `member_weight` times each summed with a bias)."""
        return float(self.contributions.sum()) + self.head_bias

    def summary(self, layer: int = -1) -> list[dict]:
        """Per fed token and direction: mean input/forget/output gate over units, cell and hidden norms."""
        rows = []
        for t in self.fed:
            row = {}
            for d, name in enumerate(self.directions):
                row[name] = {
                    "input_gate_mean": float(self.input_gate[layer, d, t.step].mean()),
                    "forget_gate_mean": float(self.forget_gate[layer, d, t.step].mean()),
                    "output_gate_mean": float(self.output_gate[layer, d, t.step].mean()),
                    "cell_norm": float(np.linalg.norm(self.cell[layer, d, t.step])),
                    "hidden_norm": float(np.linalg.norm(self.hidden[layer, d, t.step])),
                }
            rows.append(row)
        return rows

    def padding_state(self, layer: int = -1) -> dict[str, float]:
        """Cell norm per direction right after it has read the padding.

        Pre-padding: the forward direction reads the padding first, so this is the state entering
        the first token; the backward direction reads it last, so with the "last" readout this is
        the state the head reads (pooled readouts leave padding steps out of the pool).
        """
        if not self.padding_steps:
            return {}
        T, P = self.cell.shape[2], self.padding_steps
        after = (
            {"forward": P - 1, "backward": 0} if self.config.padding == "pre" else {"forward": T - 1, "backward": T - P}
        )
        return {d: float(np.linalg.norm(self.cell[layer, k, after[d]])) for k, d in enumerate(self.directions)}

    def to_dict(self) -> dict:
        """Everything, as JSON-ready Python objects (floats rounded to 6 decimals)."""
        cfg = self.config
        summary = iter(self.summary())
        tokens = []
        for t in self.tokens:
            tokens.append(
                {
                    "text": t.text,
                    "surface": self.text[t.start : t.end] if t.start is not None else None,
                    "start": t.start,
                    "end": t.end,
                    "status": t.status,
                    "id": t.id,
                    "step": t.step,
                    "evidence": _r(t.evidence),
                    "p_positive_without": _r(t.p_positive_without),
                    "p_positive_after": _r(t.p_positive_after),
                    # top layer, mean over hidden units
                    "gates": {d: {k: _r(v) for k, v in s.items()} for d, s in next(summary).items()}
                    if t.step is not None
                    else None,
                }
            )
        by_step = {t.step: t.text for t in self.tokens if t.step is not None}
        return {
            "text": self.text,
            "label": self.label,
            "sentiment": self.sentiment,
            "p_positive": _r(self.p_positive),
            "evidence_method": self.method,
            "model": {
                "config": cfg.name,
                "architecture": cfg.architecture,
                "tokenizer": cfg.tokenizer,
                "num_layers": cfg.num_layers,
                "bidirectional": cfg.bidirectional,
                "hidden": cfg.hidden,
                "readout": cfg.readout,
                "max_len": cfg.max_len if self.width is None else self.width,
                "padding": cfg.padding,
                "oov": cfg.oov,
                "members": self.n_members,
                "member": self.member,  # the member whose trace and head are shown
                "member_weight": _r(self.member_weight),  # its weight in the model's logit
                "reads": self.reads,  # the units that member reads: "tokens" lists them
            },
            "padding_steps": self.padding_steps,
            "padding_state_cell_norm": {k: _r(v) for k, v in self.padding_state().items()},
            "tokens": tokens,
            "head": {  # the shown member's: logit = sum(unit_contributions) + bias
                "readout": self.readout,
                "bias": _r(self.head_bias),
                "logit": _r(self.member_logit),
                "unit_contributions": _rl(self.contributions),  # one per feature, in feature_units order
                "features": _rl(self.features),
                "feature_units": [[part, DIRECTIONS[d], u] for part, d, u in self.feature_units],
            },
            "trace": {
                "axes": ["layer", "direction", "step", "unit"],
                "directions": list(self.directions),
                "steps": [by_step.get(s, "<pad>") for s in range(self.cell.shape[2])],
                **{name: _rl(getattr(self, name)) for name in SIGNALS},
            },
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _rl(a: np.ndarray) -> list:
    return np.round(a.astype(np.float64), 6).tolist()
