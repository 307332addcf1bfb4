"""An ensemble of LSTM classifiers: the mean of their logits.

Each member is a full `LSTMClassifier` trained on its own seed, reading its own columns of the
ids (`columns`: its block, from the model's `ksent.features.FeatureSet`); averaging
logits (not probabilities) keeps the model one logit, so metrics, thresholds and `explain`'s
evidence treat it like any single model, and `explain --member K` opens one member's gates.
"""

import torch
from torch import nn

from ksent.models.lstm import LSTMClassifier


def own_columns(net: LSTMClassifier, ids):
    """The part of a model's ids (tensor or array, (B, T)) that one of its members reads."""
    return ids if net.columns is None else ids[:, net.columns]


class Ensemble(nn.Module):
    def __init__(self, members: list[LSTMClassifier]):
        super().__init__()
        self.nets = nn.ModuleList(members)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> mean logit over the members (B,), each member on its own columns."""
        return torch.stack([net(own_columns(net, ids)) for net in self.nets]).mean(dim=0)

    def members(self) -> list[LSTMClassifier]:
        return list(self.nets)
