"""The LSTM one step at a time, with every intermediate kept.

An LSTM keeps two vectors per direction, updated once per token x_t (PyTorch's equations):

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)   input gate: how much of the candidate enters the cell
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)   forget gate: how much of the old cell is kept
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg) candidate: what could be written
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)   output gate: how much of the cell is shown
    c_t = f_t * c_{t-1} + i_t * g_t                    cell state: the long-term memory
    h_t = o_t * tanh(c_t)                              hidden state: what the next step (and the head) read

`lstm_steps` runs exactly these equations with a trained `nn.LSTM`'s own weights (PyTorch stacks
the four gates' rows in the order i, f, g, o) and keeps every intermediate. It reproduces
`nn.LSTM`'s outputs to float32 rounding, for every layer and direction.
"""

from dataclasses import dataclass

import torch
from torch import nn

SIGNALS = ("input_gate", "forget_gate", "candidate", "output_gate", "cell", "hidden")
DIRECTIONS = ("forward", "backward")


@dataclass
class LSTMTrace:
    """Every intermediate of an `nn.LSTM` run. Each field is (layers, directions, B, T, H).

    Indexed by position in the input: for the backward direction, step t holds the state after it
    has read positions T-1 down to t, so its final state is at t = 0.
    """

    input_gate: torch.Tensor
    forget_gate: torch.Tensor
    candidate: torch.Tensor
    output_gate: torch.Tensor
    cell: torch.Tensor
    hidden: torch.Tensor

    @property
    def output(self) -> torch.Tensor:
        """(B, T, D*H): the last layer's hidden states, directions concatenated, as `nn.LSTM` returns."""
        top = self.hidden[-1]  # (D, B, T, H)
        return torch.cat(list(top), dim=-1)

    def _final(self, x: torch.Tensor) -> torch.Tensor:
        # forward direction ends at t = T-1, backward at t = 0; (L*D, B, H) like nn.LSTM's h_n
        ends = [x[layer, d, :, -1 if d == 0 else 0] for layer in range(x.shape[0]) for d in range(x.shape[1])]
        return torch.stack(ends)

    @property
    def h_n(self) -> torch.Tensor:
        return self._final(self.hidden)

    @property
    def c_n(self) -> torch.Tensor:
        return self._final(self.cell)


@torch.no_grad()
def lstm_steps(lstm: nn.LSTM, x: torch.Tensor) -> LSTMTrace:
    """Run `lstm` on `x` step by step from a zero state, keeping the gates, cell and hidden state.

    `x` is (B, T, input_size) if `lstm.batch_first` else (T, B, input_size); the trace is always
    batch-first. Dropout between layers is not applied (it only acts in training): compare with
    `lstm.eval()`.

    >>> lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    >>> x = torch.randn(2, 5, 3)
    >>> trace = lstm_steps(lstm, x)
    >>> tuple(trace.input_gate.shape)  # (layers, directions, B, T, H)
    (2, 2, 2, 5, 4)
    >>> out, (h_n, c_n) = lstm(x)
    >>> bool((trace.output - out).abs().max() < 1e-5 and (trace.c_n - c_n).abs().max() < 1e-5)
    True
    """
    if lstm.proj_size:
        raise ValueError("lstm_steps does not support nn.LSTM(proj_size > 0); ksent never builds one")
    if not lstm.batch_first:
        x = x.transpose(0, 1)
    B, T, _ = x.shape
    L, D, H = lstm.num_layers, 2 if lstm.bidirectional else 1, lstm.hidden_size
    trace = LSTMTrace(*(x.new_zeros(L, D, B, T, H) for _ in SIGNALS))
    inp = x  # (B, T, in)
    for layer in range(L):
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(lstm, "weight_ih" + sfx), getattr(lstm, "weight_hh" + sfx)  # (4H, in), (4H, H)
            zx = inp @ w_ih.T  # (B, T, 4H): the input's share of all four gates, every step at once
            if lstm.bias:
                zx = zx + getattr(lstm, "bias_ih" + sfx) + getattr(lstm, "bias_hh" + sfx)
            h = c = x.new_zeros(B, H)
            for t in range(T) if d == 0 else reversed(range(T)):
                z = zx[:, t] + h @ w_hh.T  # (B, 4H)
                i, f, g, o = z.chunk(4, dim=-1)  # PyTorch's gate order: input, forget, candidate, output
                i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
                c = f * c + i * g
                h = o * c.tanh()
                for name, v in zip(SIGNALS, (i, f, g, o, c, h), strict=True):
                    getattr(trace, name)[layer, d, :, t] = v
        inp = torch.cat(list(trace.hidden[layer]), dim=-1)  # (B, T, D*H): the next layer's input
    return trace
