"""The LSTM one step at a time, in numpy, with every intermediate kept.

An LSTM keeps two vectors per direction, updated once per token x_t (PyTorch's equations):

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)   input gate: how much of the candidate enters the cell
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)   forget gate: how much of the old cell is kept
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg) candidate: what could be written
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)   output gate: how much of the cell is shown
    c_t = f_t * c_{t-1} + i_t * g_t                    cell state: the long-term memory
    h_t = o_t * tanh(c_t)                              hidden state: what the next step (and the head) read

`lstm_steps` runs exactly these equations with a trained LSTM's own weights (`LSTMWeights`, in
PyTorch's layout: the four gates' rows stacked i, f, g, o) and keeps every intermediate. It needs
only numpy, so an exported model (`ksent export`) opens up without torch; it reproduces
`nn.LSTM`'s outputs to float32 rounding, for every layer and direction.
"""

from dataclasses import dataclass

import numpy as np

SIGNALS = ("input_gate", "forget_gate", "candidate", "output_gate", "cell", "hidden")
DIRECTIONS = ("forward", "backward")
DTYPE = np.float64  # the equations in double precision: the trace is nearer the exact values than any float32 kernel


@dataclass
class LSTMWeights:
    """An LSTM's weights: `cells[layer][direction]` = (w_ih (4H, in), w_hh (4H, H), bias (4H,)),
    float32, gates stacked i, f, g, o as PyTorch does; `bias` is b_ih + b_hh."""

    cells: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]]

    @property
    def hidden(self) -> int:
        return self.cells[0][0][1].shape[1]

    @property
    def bidirectional(self) -> bool:
        return len(self.cells[0]) == 2

    @classmethod
    def from_torch(cls, lstm) -> "LSTMWeights":
        """The weights of an `nn.LSTM` (batch-first or not)."""
        if lstm.proj_size:
            raise ValueError("lstm_steps does not support nn.LSTM(proj_size > 0); ksent never builds one")

        def get(name: str) -> np.ndarray:
            return getattr(lstm, name).detach().float().cpu().numpy()

        cells = []
        for layer in range(lstm.num_layers):
            row = []
            for d in range(2 if lstm.bidirectional else 1):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh = get("weight_ih" + sfx), get("weight_hh" + sfx)
                bias = get("bias_ih" + sfx) + get("bias_hh" + sfx) if lstm.bias else np.zeros(len(w_ih), np.float32)
                row.append((w_ih, w_hh, bias))
            cells.append(row)
        return cls(cells)


@dataclass
class LSTMTrace:
    """Every intermediate of an LSTM run. Each field is (layers, directions, B, T, H), numpy float64.

    Indexed by position in the input: for the backward direction, step t holds the state after it
    has read positions T-1 down to t, so its final state is at t = 0.
    """

    input_gate: np.ndarray
    forget_gate: np.ndarray
    candidate: np.ndarray
    output_gate: np.ndarray
    cell: np.ndarray
    hidden: np.ndarray

    @property
    def output(self) -> np.ndarray:
        """(B, T, D*H): the last layer's hidden states, directions concatenated, as `nn.LSTM` returns."""
        return np.concatenate(list(self.hidden[-1]), axis=-1)

    def _final(self, x: np.ndarray) -> np.ndarray:
        # forward direction ends at t = T-1, backward at t = 0; (L*D, B, H) like nn.LSTM's h_n
        return np.stack([x[layer, d, :, -1 if d == 0 else 0] for layer in range(x.shape[0]) for d in range(x.shape[1])])

    @property
    def h_n(self) -> np.ndarray:
        return self._final(self.hidden)

    @property
    def c_n(self) -> np.ndarray:
        return self._final(self.cell)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * z) + 1.0)  # never overflows, unlike 1 / (1 + exp(-z))


def lstm_steps(lstm, x) -> LSTMTrace:
    """Run an LSTM (`LSTMWeights`, or an `nn.LSTM`) on `x` step by step from a zero state, keeping
    the gates, cell and hidden state.

    `x` (numpy or a torch tensor) is (B, T, input_size), or (T, B, input_size) for an `nn.LSTM`
    that is not batch-first; the trace is always batch-first. Dropout between layers is not applied
    (it only acts in training): compare with `lstm.eval()`.

    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    >>> x = torch.randn(2, 5, 3)
    >>> trace = lstm_steps(lstm, x)
    >>> tuple(trace.input_gate.shape)  # (layers, directions, B, T, H)
    (2, 2, 2, 5, 4)
    >>> out, (h_n, c_n) = lstm(x)
    >>> out, c_n = out.detach().numpy(), c_n.detach().numpy()
    >>> bool(abs(trace.output - out).max() < 1e-5 and abs(trace.c_n - c_n).max() < 1e-5)
    True
    """
    if not isinstance(x, np.ndarray):  # a torch tensor
        x = x.detach().float().cpu().numpy()
    if not isinstance(lstm, LSTMWeights):
        if not lstm.batch_first:
            x = np.swapaxes(x, 0, 1)
        lstm = LSTMWeights.from_torch(lstm)
    x = np.asarray(x, dtype=DTYPE)
    B, T, _ = x.shape
    L, D, H = len(lstm.cells), len(lstm.cells[0]), lstm.hidden
    trace = LSTMTrace(*(np.zeros((L, D, B, T, H), DTYPE) for _ in SIGNALS))
    inp = x  # (B, T, in)
    for layer, row in enumerate(lstm.cells):
        for d, (w_ih, w_hh, bias) in enumerate(row):
            zx = inp @ w_ih.T + bias  # (B, T, 4H): the input's share of all four gates, every step at once
            h = c = np.zeros((B, H), DTYPE)
            for t in range(T) if d == 0 else reversed(range(T)):
                z = zx[:, t] + h @ w_hh.T  # (B, 4H)
                i, f, g, o = np.split(z, 4, axis=-1)  # PyTorch's gate order: input, forget, candidate, output
                i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
                c = f * c + i * g
                h = o * np.tanh(c)
                for name, v in zip(SIGNALS, (i, f, g, o, c, h), strict=True):
                    getattr(trace, name)[layer, d, :, t] = v
        inp = np.concatenate(list(trace.hidden[layer]), axis=-1)  # (B, T, D*H): the next layer's input
    return trace
