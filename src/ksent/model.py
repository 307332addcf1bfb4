"""The seed's model: Embedding(V, 100) -> LSTM(128) -> Dense(1, sigmoid), in PyTorch.

Initialised as Keras initialises it, so the `seed` config trains like the seed:
embeddings U(-0.05, 0.05); LSTM input kernels Glorot-uniform, recurrent kernels orthogonal,
biases zero except the forget gate's (1, Keras' unit_forget_bias); Dense Glorot-uniform, bias 0.
PyTorch orders the gates i, f, g, o (Keras: i, f, c, o) and has two bias vectors where Keras has
one, so the forget bias of 1 goes in `bias_ih` only.
"""

import torch
from torch import nn

from ksent.config import Config


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size: int, cfg: Config):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, cfg.embed_dim)  # id 0 (padding) is trained, as in Keras
        self.lstm = nn.LSTM(
            cfg.embed_dim,
            cfg.hidden,
            num_layers=cfg.num_layers,
            bidirectional=cfg.bidirectional,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(cfg.hidden * (2 if cfg.bidirectional else 1), 1)
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

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> logits (B,). The last time step's hidden state, as Keras' LSTM returns."""
        x = self.embedding(ids)  # (B, T, E)
        out, _ = self.lstm(x)  # (B, T, H * directions)
        if self.lstm.bidirectional:
            h = self.lstm.hidden_size
            # forward direction: state after the last token; backward: state after reading back to t=0
            last = torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=-1)
        else:
            last = out[:, -1]
        return self.head(last).squeeze(-1)
