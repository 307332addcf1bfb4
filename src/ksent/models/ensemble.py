"""An ensemble of LSTM classifiers: the mean of their logits.

Each member is a full `LSTMClassifier` over the same ids, trained on its own seed; averaging
logits (not probabilities) keeps the model one logit, so metrics, thresholds and `explain`'s
evidence treat it like any single model, and `explain --member K` opens one member's gates.
"""

import torch
from torch import nn

from ksent.models.lstm import LSTMClassifier


class Ensemble(nn.Module):
    def __init__(self, members: list[LSTMClassifier]):
        super().__init__()
        self.nets = nn.ModuleList(members)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> mean logit over the members (B,)."""
        return torch.stack([net(ids) for net in self.nets]).mean(dim=0)

    def members(self) -> list[LSTMClassifier]:
        return list(self.nets)
