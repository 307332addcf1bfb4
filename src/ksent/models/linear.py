"""A linear member: logistic regression over a review's character n-grams, TF-IDF weighted.

The character TF-IDF + logistic regression baseline as one member of an ensemble: it reads a block
of n-gram ids (`ksent.features.chargrams`: each n-gram of the review once, padding 0) and computes

    logit = sum_j w[id_j] * idf[id_j] / sqrt(sum_j idf[id_j]^2) + b

the weights of scikit-learn's binary TF-IDF (each n-gram counts once, rows L2-normalised), with
idf[i] = ln((1 + n) / (1 + df[i])) + 1 from the n-gram's document frequency df in the n training
rows (`set_idf`, at training), and idf[0] = 0 so padding weighs nothing. `ksent.train` fits it by
full-batch L-BFGS on scikit-learn's objective, 0.5 * |w|^2 + C * sum of log losses (C = `C`),
to convergence: its errors differ most from the LSTMs' (docs/benchmarks.md#views-amd), which is
what it brings to a teacher.
"""

import numpy as np
import torch
from torch import nn

from ksent.models.lstm import NetSpec

C = 4.0  # inverse regularisation strength, as the baseline's LogisticRegression(C=4)


class LinearClassifier(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        self.spec = spec
        self.reads, self.columns = spec.reads, spec.columns
        self.pack = False  # a set of n-grams: nothing is read in order
        self.weight = nn.Parameter(torch.zeros(spec.vocab_size))  # (V,): one weight per n-gram
        self.bias = nn.Parameter(torch.zeros(1))
        idf = torch.ones(spec.vocab_size)
        idf[0] = 0.0
        self.register_buffer("idf", idf)  # saved with the weights: the model folder holds it

    @torch.no_grad()
    def set_idf(self, ids: np.ndarray) -> None:
        """Inverse document frequencies from the training rows' ids (N, T), each n-gram once per row."""
        df = np.bincount(ids.ravel(), minlength=len(self.idf))[: len(self.idf)].astype(np.float64)
        idf = np.log((1 + len(ids)) / (1 + df)) + 1
        idf[0] = 0.0
        self.idf.copy_(torch.from_numpy(idf))

    def values(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> each n-gram's TF-IDF value in its row (B, T), rows of unit length (0 for padding)."""
        v = self.idf[ids]
        return v / v.square().sum(dim=1, keepdim=True).sqrt().clamp(min=1e-12)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> logits (B,)."""
        return (self.weight[ids] * self.values(ids)).sum(dim=1) + self.bias

    def members(self) -> list["LinearClassifier"]:
        return [self]
