"""A model opened up as numpy arrays: what explain steps through, whether the model runs on torch
or was exported to ONNX (`ksent export`), so explain needs no torch.

`OpenMember` is one LSTM classifier of a model (its embedding, LSTM weights, readout and head),
`OpenLinear` a linear member (its n-gram weights: no gates); `OpenModel` is the whole model's
P(positive) and its members.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ksent.config import feature_units
from ksent.explain.steps import LSTMTrace, LSTMWeights, lstm_steps


@dataclass
class OpenMember:
    """One LSTM classifier as numpy arrays: ids -> embedding -> LSTM -> readout -> head."""

    network: ClassVar[str] = "lstm"
    reads: str  # the featurizer kind it reads: "tokens", "syllables", "pieces"
    pack: bool  # reads only the real tokens (post-padded), not the padding
    columns: slice | None  # its block of the model's ids; None: all of them
    readout: str  # one of config.READOUTS
    embedding: np.ndarray  # (V, E)
    lstm: LSTMWeights
    head_weight: np.ndarray  # (F,)
    head_bias: float

    @classmethod
    def from_net(cls, net) -> "OpenMember":
        """The arrays of a torch `LSTMClassifier` (ksent.models.lstm)."""
        head = net.head.weight.detach().float().cpu().numpy()[0]
        return cls(
            net.reads,
            net.pack,
            net.columns,
            net.readout_kind,
            net.embedding.weight.detach().float().cpu().numpy(),
            LSTMWeights.from_torch(net.lstm),
            head,
            float(net.head.bias.detach()[0]),
        )

    def own_columns(self, ids: np.ndarray) -> np.ndarray:
        return ids if self.columns is None else ids[:, self.columns]

    def feature_units(self) -> list[tuple[str, int, int]]:
        return feature_units(self.readout, 2 if self.lstm.bidirectional else 1, self.lstm.hidden)

    def trace(self, ids: np.ndarray) -> LSTMTrace:
        """The LSTM step by step on the member's own ids (B, T). A packed member reads its real
        tokens only: give it exactly those (as `explain_review` does), not padded rows."""
        return lstm_steps(self.lstm, self.embedding[ids])

    def features(self, outputs: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The top layer's outputs (B, T, D*H) -> the head's features (B, F), as the model's readout
        (ksent.models.lstm.LSTMClassifier.readout) computes them."""
        h = self.lstm.hidden
        if self.readout == "last":
            if self.pack:  # each review's own last token (post-padded: at length - 1)
                last = np.maximum((ids != 0).sum(axis=1), 1) - 1
                forward = outputs[np.arange(len(ids)), last, :h]
            else:
                forward = outputs[:, -1, :h]
            if not self.lstm.bidirectional:
                return forward
            return np.concatenate([forward, outputs[:, 0, h:]], axis=-1)  # backward: after reading back to t=0
        real = (ids != 0)[..., None]  # (B, T, 1): padding never counts in a pool
        pooled = []
        if self.readout in ("max", "max_mean"):
            top = np.where(real, outputs, -np.inf).max(axis=1)
            pooled.append(np.where(real.any(axis=1), top, 0.0))  # all-padding rows: 0
        if self.readout in ("mean", "max_mean"):
            pooled.append((outputs * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1))
        return np.concatenate(pooled, axis=-1)


@dataclass
class OpenLinear:
    """A linear member (`ksent.models.linear`) as numpy arrays: a weight and an idf per n-gram id.
    Nothing runs in steps, so explain shows no gates for it; its weights are what it decided by."""

    network: ClassVar[str] = "linear"
    pack: ClassVar[bool] = False
    reads: str
    columns: slice | None
    weight: np.ndarray  # (V,)
    idf: np.ndarray  # (V,): 0 for padding
    bias: float

    @classmethod
    def from_net(cls, net) -> "OpenLinear":
        def arr(t) -> np.ndarray:
            return t.detach().float().cpu().numpy()

        return cls(net.reads, net.columns, arr(net.weight), arr(net.idf), float(net.bias.detach()[0]))

    def own_columns(self, ids: np.ndarray) -> np.ndarray:
        return ids if self.columns is None else ids[:, self.columns]

    def logit(self, ids: np.ndarray) -> np.ndarray:
        """Its logits (B,) for its own ids (B, T), as its forward pass computes them."""
        v = self.idf[ids]
        v = v / np.maximum(np.sqrt((v * v).sum(axis=1, keepdims=True)), 1e-12)
        return (self.weight[ids] * v).sum(axis=1) + self.bias


def open_member(net) -> "OpenMember | OpenLinear":
    """A torch member of `ksent.models` as arrays, by its network."""
    return OpenLinear.from_net(net) if net.spec.network == "linear" else OpenMember.from_net(net)


@dataclass
class OpenModel:
    """A whole model for explain: its members as arrays, and its P(positive) for padded ids (N, W)."""

    members: list[OpenMember | OpenLinear]
    p_positive: Callable[[np.ndarray], np.ndarray]
    weights: list[float] | None = None  # each member's weight in the model's logit (None: the mean's)

    def member_weight(self, k: int) -> float:
        return 1.0 / len(self.members) if self.weights is None else self.weights[k]

    @classmethod
    def from_torch(cls, model) -> "OpenModel":
        """A torch model of `ksent.models` (an `LSTMClassifier` or an `Ensemble`)."""
        from ksent.models.inference import predict_proba_ids

        weights = model.member_weights() if hasattr(model, "member_weights") else None
        return cls([open_member(net) for net in model.members()], lambda x: predict_proba_ids(model, x), weights)
