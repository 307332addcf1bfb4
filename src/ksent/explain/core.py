"""Open the LSTM: gates, cell state and hidden state at every step, and per-token evidence.

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

`explain_review(model, vocab, cfg, text)` follows one review through the whole pipeline: which tokens
the analyser produced and where they are in the text, which of them reach the model (stopwords,
unknown words and words beyond `max_len` do not), the gate values at every step, and evidence:

    evidence(token) = P(predicted label | review) - P(predicted label | review without that token)

computed by deleting the token's id and re-padding, exactly as if the analyser had never produced
it. Positive evidence supports the predicted label; negative evidence argues against it. Why this
method (and not gradients) is argued in docs/explain.md.

The input is pre-padded (Keras' `pad_sequences`): a 5-token review becomes 25 padding steps
(id 0, whose embedding is trained) and then the 5 tokens. The LSTM runs over the padding too, so
the state that reaches the first token is not zero; the trace keeps every step, padding included,
and the summaries (table, heatmap) show the real tokens and report the padding separately.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ksent.config import Config
from ksent.errors import KsentError
from ksent.text import clean_hangul
from ksent.text.vocab import OOV_TOKEN, Vocab, pad_sequences

SIGNALS = ("input_gate", "forget_gate", "candidate", "output_gate", "cell", "hidden")
DIRECTIONS = ("forward", "backward")
METHOD = (
    "leave-one-out: evidence = P(predicted label | review) - P(predicted label | review with this token deleted "
    "and the rest re-padded); > 0 supports the prediction, < 0 argues against it"
)
# Why a token does not reach the model (Token.status).
STATUS = {
    "input": "fed to the model",
    "oov": f"fed to the model as {OOV_TOKEN} (rare or unseen in training)",
    "unknown": "not in the vocabulary and this model has no OOV id: dropped, as the seed's Tokenizer drops it",
    "stopword": "in the config's stopword list: removed before the model",
    "truncated": "beyond max_len: cut off (truncating='pre' keeps the last max_len tokens)",
}


# --- the LSTM, one step at a time --------------------------------------------------------------


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

    `x` is (B, T, input_size) if `lstm.batch_first` else (T, B, input_size). Dropout between
    layers is not applied (it only acts in training): compare with `lstm.eval()`.

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


# --- text -> tokens with character spans --------------------------------------------------------

_KEPT = re.compile("[ㄱ-ㅎㅏ-ㅣ가-힣 ]")  # the characters clean_hangul keeps


def _clean_with_offsets(text: str, clean: bool) -> tuple[str, list[int] | None]:
    """The text the analyser sees, and for each of its characters the index in `text`."""
    if not clean:
        return text, list(range(len(text)))
    kept = [i for i, ch in enumerate(text) if _KEPT.fullmatch(ch)]
    while kept and text[kept[0]] == " ":  # clean_hangul strips leading spaces
        kept.pop(0)
    cleaned = "".join(text[i] for i in kept)
    if cleaned != clean_hangul(text):  # the cleaning changed and this mirror did not: no spans, same tokens
        return clean_hangul(text), None
    return cleaned, kept


def _spans_in_order(text: str, surfaces: list[str]) -> list[tuple[int, int] | None]:
    """Find each surface form after the previous one; None where it cannot be found."""
    out, cursor = [], 0
    for s in surfaces:
        i = text.find(s, cursor) if s else -1
        if i < 0:
            out.append(None)
            continue
        out.append((i, i + len(s)))
        cursor = i + len(s)
    return out


def analyse(text: str, cfg: Config) -> list[tuple[str, int | None, int | None]]:
    """(token, start, end) for every token the config's analyser produces, stopwords included.

    The token strings are the ones `SentimentClassifier.tokens` uses (Kiwi lemmas / Okt stems);
    `text[start:end]` is the surface they came from, or None where no span can be given.

    >>> analyse("영화 10점!! 재밌었다", Config(tokenizer="kiwi"))
    [('영화', 0, 2), ('점', 5, 6), ('재밌다', 9, 11), ('었', 11, 12), ('다', 12, 13)]
    """
    from ksent.text.tokenizers import kiwi, kiwi_words, okt

    cleaned, where = _clean_with_offsets(text, cfg.clean)
    if cfg.tokenizer == "kiwi":
        toks = kiwi(1).tokenize(cleaned)
        words = kiwi_words(toks)
        spans = [(t.start, t.start + t.len) for t in toks]
    else:
        analyser = okt()
        words = analyser.morphs(cleaned, stem=True)
        surfaces = analyser.morphs(cleaned)  # Okt stems token by token, so the two lists pair up
        spans = _spans_in_order(cleaned, surfaces) if len(surfaces) == len(words) else [None] * len(words)
    out = []
    for w, span in zip(words, spans, strict=True):
        if span is None or where is None or not (0 <= span[0] < span[1] <= len(cleaned)):
            out.append((w, None, None))
        else:  # back to the user's text: map the first and last character through the cleaning
            out.append((w, where[span[0]], where[span[1] - 1] + 1))
    return out


# --- the explanation ---------------------------------------------------------------------------


@dataclass
class Token:
    """One token of the review, whether or not it reached the model."""

    text: str  # as the model's vocabulary sees it (Kiwi lemma / Okt stem)
    start: int | None  # character span in the review: review[start:end] is where it came from
    end: int | None
    status: str  # one of STATUS: input, oov, unknown, stopword, truncated
    id: int | None = None  # vocabulary id fed to the model (1 is <OOV> when the model has one)
    step: int | None = None  # time step in the padded input, 0 .. max_len-1
    evidence: float | None = None  # P(pred | review) - P(pred | review without it); None if not fed
    p_positive_without: float | None = None  # P(positive) with this token deleted
    p_positive_after: float | None = None  # P(positive) of the review cut right after this token


@dataclass
class Explanation:
    """What the model did with one review. Arrays are (layers, directions, max_len, hidden),
    indexed by time step (`Token.step`); steps not held by a token are padding."""

    text: str
    p_positive: float
    tokens: list[Token]
    padding_steps: int
    config: Config
    input_gate: np.ndarray
    forget_gate: np.ndarray
    candidate: np.ndarray
    output_gate: np.ndarray
    cell: np.ndarray
    hidden: np.ndarray
    head_weight: np.ndarray  # (D*H,) the Dense layer's weights
    head_bias: float
    method: str = METHOD
    classes: tuple[str, str] = field(default=("negative", "positive"))

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
    def final_state(self) -> np.ndarray:
        """(D*H,) what the head reads: the top layer's forward state at the last step, backward at step 0."""
        top = self.hidden[-1]
        return np.concatenate([top[d, -1 if d == 0 else 0] for d in range(top.shape[0])])

    @property
    def unit_contributions(self) -> np.ndarray:
        """(D*H,) each hidden unit's share of the logit: logit = contributions.sum() + head_bias."""
        return self.head_weight * self.final_state

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
        the first token; the backward direction reads it last, so this is the state the head reads.
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
        contrib = self.unit_contributions
        return {
            "text": self.text,
            "label": self.label,
            "sentiment": self.sentiment,
            "p_positive": _r(self.p_positive),
            "evidence_method": self.method,
            "model": {
                "config": cfg.name,
                "tokenizer": cfg.tokenizer,
                "num_layers": cfg.num_layers,
                "bidirectional": cfg.bidirectional,
                "hidden": cfg.hidden,
                "max_len": cfg.max_len,
                "padding": cfg.padding,
                "oov": cfg.oov,
            },
            "padding_steps": self.padding_steps,
            "padding_state_cell_norm": {k: _r(v) for k, v in self.padding_state().items()},
            "tokens": tokens,
            "head": {
                "bias": _r(self.head_bias),
                "logit": _r(float(contrib.sum()) + self.head_bias),
                "unit_contributions": _rl(contrib),
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


def _pad(seqs: list[list[int]], cfg: Config) -> np.ndarray:
    return pad_sequences(seqs, cfg.max_len, cfg.padding, cfg.truncating)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny ops (a batch of one, one step at a time) gain nothing from intra-op threads and, on a busy
    machine, lose a lot: each op waits for every thread to get a core (measured 50x slower on 2 busy cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@torch.no_grad()
def _p_positive(model: nn.Module, x: np.ndarray) -> np.ndarray:
    dev = next(model.parameters()).device
    logits = model(torch.from_numpy(x).to(dev)).double().cpu().numpy()
    return 1.0 / (1.0 + np.exp(-logits))


@torch.no_grad()
def explain_review(model: nn.Module, vocab: Vocab, cfg: Config, text: str) -> Explanation:
    """Explain one review with a trained `LSTMClassifier`, its vocabulary and its config."""
    if not isinstance(text, str):
        raise KsentError(f"explain takes one review as a str, got {type(text).__name__}")
    if not text.strip():
        raise KsentError("nothing to explain: the review is empty; pass the text of one review")
    model.eval()

    # 1. tokens, their spans, and which of them become ids
    stop = frozenset(cfg.stopwords)
    tokens = []
    for w, start, end in analyse(text, cfg):
        if w in stop:
            tokens.append(Token(w, start, end, "stopword"))
        elif (i := vocab.index.get(w.lower())) is not None:
            tokens.append(Token(w, start, end, "oov" if vocab.oov and i == 1 else "input", id=i))
        elif vocab.oov:
            tokens.append(Token(w, start, end, "oov", id=1))
        else:
            tokens.append(Token(w, start, end, "unknown"))
    with_id = [t for t in tokens if t.id is not None]
    ids = [t.id for t in with_id]
    n_fed = min(len(ids), cfg.max_len)
    fed = with_id[-n_fed:] if cfg.truncating == "pre" else with_id[:n_fed]
    for t in with_id:
        if not any(t is f for f in fed):
            t.status, t.id = "truncated", None
    if not fed:
        reasons = sorted({t.status for t in tokens})
        why = f"its tokens are all {', '.join(reasons)}" if tokens else "nothing is left after cleaning"
        raise KsentError(
            f"nothing to explain: no token of {text!r} reaches the model ({why}); "
            f"it sees only padding, as for any such text"
        )
    padding = cfg.max_len - n_fed
    first = padding if cfg.padding == "pre" else 0
    for k, t in enumerate(fed):
        t.step = first + k

    # 2. the review, each leave-one-out variant and each prefix, in one batch
    order = [k for k, t in enumerate(with_id) if t.step is not None]  # positions of fed tokens in `ids`
    variants = [ids] + [ids[:k] + ids[k + 1 :] for k in order] + [ids[: k + 1] for k in order]
    x = _pad(variants, cfg)
    with _one_thread():
        p = _p_positive(model, x)
    p_full, p_without, p_after = p[0], p[1 : 1 + len(order)], p[1 + len(order) :]
    sign = 1.0 if p_full >= 0.5 else -1.0  # evidence is for the predicted label
    for t, pw, pa in zip(fed, p_without, p_after, strict=True):
        t.p_positive_without, t.p_positive_after = float(pw), float(pa)
        t.evidence = float(sign * (p_full - pw))

    # 3. the LSTM step by step on the review itself
    dev = next(model.parameters()).device
    with _one_thread():
        trace = lstm_steps(model.lstm, model.embedding(torch.from_numpy(x[:1]).to(dev)))
    arrays = {name: getattr(trace, name)[:, :, 0].float().cpu().numpy() for name in SIGNALS}
    return Explanation(
        text=text,
        p_positive=float(p_full),
        tokens=tokens,
        padding_steps=padding,
        config=cfg,
        head_weight=model.head.weight[0].float().cpu().numpy(),
        head_bias=float(model.head.bias[0]),
        **arrays,
    )


# --- views: a terminal table and a heatmap -------------------------------------------------------


def table(ex: Explanation, layer: int = -1):
    """A rich Table: one row per token the analyser produced, in text order."""
    from rich.table import Table

    n_layers = ex.cell.shape[0]
    lyr = layer % n_layers
    tab = Table(
        title=f"P(positive) = {ex.p_positive:.4f} → {ex.sentiment} ({ex.label})",
        caption=_caption(ex, lyr),
        caption_justify="left",
    )
    tab.add_column("token")
    tab.add_column("text")
    tab.add_column("evidence", justify="right")
    tab.add_column("P(pos) after", justify="right")
    bi = len(ex.directions) > 1
    for d in ex.directions:
        tag = {"forward": " fwd", "backward": " bwd"}[d] if bi else ""
        for name in ("i", "f", "o", "|c|"):
            tab.add_column(f"{name}{tag}", justify="right")
    summary = dict(zip([t.step for t in ex.fed], ex.summary(layer), strict=True))
    for t in ex.tokens:
        surface = ex.text[t.start : t.end] if t.start is not None else "?"
        shown = t.text + (f" ({OOV_TOKEN})" if t.status == "oov" else "")
        if t.step is None:
            tab.add_row(shown, surface, f"[dim]{t.status}[/dim]", *[""] * (1 + 4 * len(ex.directions)), style="dim")
            continue
        colour = "green" if t.evidence > 0 else "red"
        cells = [f"[{colour}]{t.evidence:+.3f}[/{colour}]", f"{t.p_positive_after:.3f}"]
        for d in ex.directions:
            s = summary[t.step][d]
            cells += [f"{s['input_gate_mean']:.2f}", f"{s['forget_gate_mean']:.2f}", f"{s['output_gate_mean']:.2f}"]
            cells.append(f"{s['cell_norm']:.2f}")
        tab.add_row(shown, surface, *cells)
    return tab


def _caption(ex: Explanation, layer: int) -> str:
    n_layers = ex.cell.shape[0]
    pre = ex.config.padding == "pre"
    lines = [
        f"evidence: P({ex.sentiment}) minus P({ex.sentiment}) with the token deleted; > 0 supports the prediction",
        "i, f, o: mean input, forget, output gate over the hidden units; |c|: cell-state norm"
        + (f" (layer {layer + 1} of {n_layers})" if n_layers > 1 else ""),
    ]
    if ex.padding_steps:
        state = ex.padding_state(layer)
        pad = f"{ex.padding_steps} padding steps {'before the first' if pre else 'after the last'} token, not shown"
        if "forward" in state and pre:
            pad += f"; the forward direction enters the first token with |c| = {state['forward']:.2f}"
        if "backward" in state and pre:
            pad += f"; the backward direction reads the padding last and hands the head |c| = {state['backward']:.2f}"
        lines.append(pad)
    return "\n".join(lines)


def plot(ex: Explanation, path: str | Path, layer: int = -1, units: int = 8) -> Path:
    """Write a heatmap PNG: the fed tokens (columns) against evidence, P(positive) so far, the mean
    gates, the cell-state norm, and the cell values of the `units` units the head weighs most."""
    from ksent.plots import pyplot

    plt = pyplot()
    fed = ex.fed
    n, steps, dirs = len(fed), [t.step for t in fed], ex.directions
    n_layers = ex.cell.shape[0]
    lyr = layer % n_layers
    tag = (lambda d: f" ({d})") if len(dirs) > 1 else (lambda d: "")
    labels = []
    for t in fed:
        surface = ex.text[t.start : t.end] if t.start is not None else None
        extra = [f"({surface})"] if surface and surface != t.text else []
        labels.append("\n".join([t.text, *extra, *(["OOV"] if t.status == "oov" else [])]))

    evidence = np.array([[t.evidence for t in fed]])
    after = np.array([[t.p_positive_after for t in fed]])
    gate_names = ("input_gate", "forget_gate", "output_gate")
    gates = np.array([getattr(ex, g)[lyr, d, steps].mean(-1) for d in range(len(dirs)) for g in gate_names])
    gate_rows = [f"{g.replace('_', ' ')}{tag(d)}" for d in dirs for g in gate_names]
    norms = np.array([np.linalg.norm(ex.cell[lyr, d, steps], axis=-1) for d in range(len(dirs))])
    contrib = ex.unit_contributions  # the head reads the top layer
    H = ex.cell.shape[-1]
    top = np.argsort(-np.abs(contrib))[:units]
    memory = np.array([ex.cell[-1, u // H, steps, u % H] for u in top])
    memory_rows = [f"unit {u % H}{tag(dirs[u // H])}: {contrib[u]:+.2f}" for u in top]

    lim = max(float(np.abs(evidence).max()), 1e-6)
    mlim = max(float(np.abs(memory).max()), 1e-6)
    of_layer = f", layer {lyr + 1} of {n_layers}" if n_layers > 1 else ""
    panels = [  # (values, row labels, colour map, range, number format, title)
        (evidence, ["evidence"], "PiYG", (-lim, lim), ".2f", f"evidence for {ex.sentiment!r}: P drop when deleted"),
        (after, ["P(positive)"], "RdBu", (0.0, 1.0), ".2f", "P(positive) if the review ended after this token"),
        (gates, gate_rows, "viridis", (0.0, 1.0), ".2f", f"gates, mean over the {H} hidden units{of_layer}"),
        (
            norms,
            [f"|c|{tag(d)}" for d in dirs],
            "magma",
            (0.0, max(float(norms.max()), 1e-6)),
            ".1f",
            f"cell state (long-term memory): norm{of_layer}",
        ),
        (
            memory,
            memory_rows,
            "PuOr",
            (-mlim, mlim),
            ".2f",
            "cell value of the units the head weighs most (row: unit, its share of the logit)",
        ),
    ]
    heights = [len(p[1]) + 0.6 for p in panels]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(max(8.0, 0.9 * n + 4.0), 2.0 + 0.45 * sum(heights)),
        height_ratios=heights,
        layout="constrained",
    )
    for ax, (data, rows, cmap, (lo, hi), fmt, title) in zip(axes, panels, strict=True):
        im = ax.imshow(data, aspect="auto", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_yticks(range(len(rows)), rows, fontsize=9)
        ax.set_xticks(range(n), labels if ax is axes[-1] else [""] * n, fontsize=11)
        ax.set_title(title, fontsize=10, loc="left")
        for (r, c), v in np.ndenumerate(data):
            red, green, blue, _ = im.cmap(im.norm(v))
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.55
            ax.text(c, r, format(v, fmt), ha="center", va="center", fontsize=8, color="black" if light else "white")
        fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01)
    where = "before" if ex.config.padding == "pre" else "after"
    shown = ex.text if len(ex.text) <= 70 else ex.text[:67] + "..."
    fig.suptitle(
        f"{shown}\nP(positive) = {ex.p_positive:.3f}: {ex.sentiment}. "
        f"Columns: the {n} tokens the model reads; {ex.padding_steps} padding steps {where} them not shown",
        fontsize=11,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path
