"""An ensemble of LSTM classifiers: the mean of their logits, or their weighted sum.

Each member is a full `LSTMClassifier` trained on its own seed, reading its own columns of the
ids (`columns`: its block, from the model's `ksent.features.FeatureSet`); combining logits (not
probabilities) keeps the model one logit, so metrics, thresholds and `explain`'s evidence treat it
like any single model, and `explain --member K` opens one member's gates. A config with
`combine="fitted"` makes a weighted ensemble: a weight per member and a bias, buffers saved with the
weights (`weights`, `bias`) and fitted on the validation rows (`ksent.combine`).
"""

import numpy as np
import torch
from torch import nn

from ksent.models.lstm import LSTMClassifier


def own_columns(net: LSTMClassifier, ids):
    """The part of a model's ids (tensor or array, (B, T)) that one of its members reads."""
    return ids if net.columns is None else ids[:, net.columns]


class Ensemble(nn.Module):
    def __init__(self, members: list[LSTMClassifier], weighted: bool = False):
        super().__init__()
        self.nets = nn.ModuleList(members)
        self.weighted = weighted
        if weighted:  # the mean until `set_weights`: 1/K each, no bias
            self.register_buffer("weights", torch.full((len(members),), 1.0 / len(members)))
            self.register_buffer("bias", torch.zeros(1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> the members' combined logit (B,), each member on its own columns."""
        logits = torch.stack([net(own_columns(net, ids)).float() for net in self.nets])
        if not self.weighted:
            return logits.mean(dim=0)
        return (logits * self.weights[:, None]).sum(dim=0) + self.bias

    def combine(self, logits: np.ndarray) -> np.ndarray:
        """The members' logits (K, N) -> the model's (N,), as `forward` combines them."""
        if not self.weighted:
            return np.mean(logits, axis=0, dtype=np.float32)
        w = self.weights.detach().float().cpu().numpy()
        return (np.tensordot(w, logits, axes=1) + float(self.bias)).astype(np.float32)

    def set_weights(self, weights, bias: float) -> None:
        if not self.weighted:
            raise ValueError("a mean ensemble has no weights: build it with weighted=True")
        self.weights.copy_(torch.as_tensor(np.asarray(weights, dtype=np.float32)))
        self.bias.fill_(float(bias))

    def member_weights(self) -> list[float]:
        """Each member's weight in the model's logit (1/K each for a mean ensemble)."""
        if not self.weighted:
            return [1.0 / len(self.nets)] * len(self.nets)
        return [float(v) for v in self.weights.detach().float().cpu()]

    def members(self) -> list[LSTMClassifier]:
        return list(self.nets)
