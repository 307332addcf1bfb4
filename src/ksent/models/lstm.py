"""The seed's model, Embedding(V, 100) -> LSTM(128) -> Dense(1, sigmoid), in PyTorch, and its variants.

Initialised as Keras initialises it, so the `seed` config trains like the seed:
embeddings U(-0.05, 0.05); LSTM input kernels Glorot-uniform, recurrent kernels orthogonal,
biases zero except the forget gate's (1, Keras' unit_forget_bias); Dense Glorot-uniform, bias 0.
PyTorch orders the gates i, f, g, o (Keras: i, f, c, o) and has two bias vectors where Keras has
one, so the forget bias of 1 goes in `bias_ih` only.

Variants, all from the config: stacked (`num_layers`), bidirectional, and the readout that turns
the LSTM's outputs into the head's features (`readout`):
- "last": the state after the last step (forward) and after reading back to step 0 (backward),
  what Keras' LSTM returns; padding steps are read like any other, as in the seed;
- "mean", "max", "max_mean": pooled over the real tokens only (padding masked out).
With `pack` (post-padded ids) the LSTM reads only the real tokens, as packed sequences: padding
never reaches a state, so a review scores the same whatever it is batched or padded with, and
"last" means each review's own last token. Regularisation for training: `token_dropout` (a
token's whole embedding zeroed) and `head_dropout` (on the features).
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ksent.config import READOUTS, Config, feature_units


@dataclass(frozen=True)
class NetSpec:
    """What one member is built from: its sizes, its variant, and what it reads (`reads`: a featurizer
    kind; `columns`: its block of the model's ids, None for all of them); an LSTM classifier unless
    `network` names another (the one its featurizer's block is read by)."""

    vocab_size: int
    embed_dim: int = 100
    hidden: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    token_dropout: float = 0.0
    head_dropout: float = 0.0
    pack: bool = False
    readout: str = "last"
    reads: str = "tokens"
    columns: slice | None = None
    network: str = "lstm"  # which network it builds (ksent.models.NETWORKS); "linear" uses vocab_size only

    @classmethod
    def from_config(
        cls, cfg: Config, vocab_size: int, reads: str = "tokens", columns: slice | None = None, network: str = "lstm"
    ):
        """The network part of a run config, for a member over `vocab_size` ids."""
        return cls(
            vocab_size,
            cfg.embed_dim,
            cfg.hidden,
            cfg.num_layers,
            cfg.bidirectional,
            cfg.dropout,
            cfg.token_dropout,
            cfg.head_dropout,
            cfg.pack,
            cfg.readout,
            reads,
            columns,
            network,
        )


class LSTMClassifier(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        if spec.readout not in READOUTS:
            raise ValueError(f"unknown readout {spec.readout!r}; expected one of {READOUTS}")
        self.spec = spec
        self.readout_kind = spec.readout
        self.reads, self.columns = spec.reads, spec.columns
        self.pack = spec.pack
        self.token_dropout = spec.token_dropout
        self.head_dropout = nn.Dropout(spec.head_dropout)
        self.embedding = nn.Embedding(spec.vocab_size, spec.embed_dim)  # id 0 (padding) is trained, as in Keras
        self.lstm = nn.LSTM(
            spec.embed_dim,
            spec.hidden,
            num_layers=spec.num_layers,
            bidirectional=spec.bidirectional,
            dropout=spec.dropout if spec.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(len(self.feature_units()), 1)
        self.keras_init()

    @torch.no_grad()
    def keras_init(self) -> None:
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        h = self.lstm.hidden_size
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p)  # (4H, in): fan_in=in, fan_out=4H, as Keras' (in, 4H) kernel
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(p)
            elif name.startswith("bias_ih"):
                p.zero_()
                p[h : 2 * h] = 1.0  # forget gate
            else:
                p.zero_()
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    # --- the parts, each usable on its own (ksent.explain runs the LSTM step by step in between) ---

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> embeddings (B, T, E); in training, whole tokens dropped at `token_dropout`."""
        x = self.embedding(ids)
        if self.training and self.token_dropout:
            keep = torch.rand(ids.shape, device=ids.device) >= self.token_dropout
            x = x * keep.unsqueeze(-1) / (1.0 - self.token_dropout)
        return x

    def run(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The LSTM over embeddings (B, T, E) -> the top layer's outputs (B, T, D*H). Packed: only
        the real tokens are read and padding steps output zeros."""
        if not self.pack:
            return self.lstm(x)[0]
        lengths = (ids != 0).sum(dim=1).clamp(min=1).cpu()  # an all-padding row reads one padding step
        if bool((lengths == ids.shape[1]).all()):  # no padding in this batch: the same computation, unpacked
            return self.lstm(x)[0]  # (faster on CPU: oneDNN's fused LSTM takes only unpacked input)
        out, _ = self.lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])[0]

    def feature_units(self) -> list[tuple[str, int, int]]:
        """What each of the head's input features is: (readout part, direction, hidden unit)."""
        return feature_units(self.readout_kind, 2 if self.lstm.bidirectional else 1, self.lstm.hidden_size)

    def readout(self, outputs: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The top layer's outputs (B, T, D*H) -> the head's features (B, F), in `feature_units` order."""
        if self.readout_kind == "last":
            h = self.lstm.hidden_size
            if self.pack:  # each review's own last token (post-padded: at length - 1)
                last = (ids != 0).sum(dim=1).clamp(min=1) - 1
                forward = outputs[torch.arange(len(ids), device=ids.device), last, :h]
            else:
                forward = outputs[:, -1, :h]
            if not self.lstm.bidirectional:
                return forward
            # backward direction: the state after reading back to t=0
            return torch.cat([forward, outputs[:, 0, h:]], dim=-1)
        real = (ids != 0).unsqueeze(-1)  # (B, T, 1): padding never counts in a pool
        pooled = []
        if self.readout_kind in ("max", "max_mean"):
            top = outputs.masked_fill(~real, float("-inf")).amax(dim=1)
            pooled.append(torch.where(real.any(dim=1), top, torch.zeros_like(top)))  # all-padding rows: 0
        if self.readout_kind in ("mean", "max_mean"):
            pooled.append((outputs * real).sum(dim=1) / real.sum(dim=1).clamp(min=1))
        return torch.cat(pooled, dim=-1)

    def logit(self, features: torch.Tensor) -> torch.Tensor:
        """Features (B, F) -> logits (B,): P(positive) = sigmoid(logit)."""
        return self.head(self.head_dropout(features)).squeeze(-1)

    def classify(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Embeddings (B, T, E) of `ids` (B, T) -> logits (B,): all but the lookup (adversarial
        training pushes the embeddings in between)."""
        return self.logit(self.readout(self.run(x, ids), ids))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> logits (B,)."""
        return self.classify(self.embed(ids), ids)

    def members(self) -> list["LSTMClassifier"]:
        """The LSTMs whose combined logit this model outputs: just itself (an ensemble lists several)."""
        return [self]
