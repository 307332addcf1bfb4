"""Open the LSTM: gates, cell state and hidden state at every step, and per-token evidence.

- `steps`: `lstm_steps`, the LSTM's equations run one step at a time in numpy with a trained LSTM's
  weights, keeping every intermediate (`LSTMTrace`); the equations are in its docstring.
- `member`: `OpenModel` / `OpenMember` / `OpenLinear`, a model as numpy arrays (from torch, or from
  an export).
- `review`: `explain_review(model, features, cfg, text, member=0)`, one review through the model
  pipeline's own tokens and rules, leave-one-out evidence from the whole model, and one member's
  LSTM step by step with its own readout and head.
- `explanation`: `Explanation` (what came out, per `Token`) and its JSON form, `to_dict()`.
- `views`: `table` (a rich table for the terminal) and `plot` (a heatmap PNG).

Works on a model's arrays (`OpenModel`: each member's embedding, LSTM, readout and head), so
stacked, bidirectional, pooled and ensembled models explain alike, on torch or exported.
"""

from ksent.explain.explanation import Explanation, Token
from ksent.explain.member import OpenLinear, OpenMember, OpenModel
from ksent.explain.review import METHOD, explain_review
from ksent.explain.steps import DIRECTIONS, SIGNALS, LSTMTrace, LSTMWeights, lstm_steps
from ksent.explain.views import plot, table

__all__ = [
    "DIRECTIONS",
    "METHOD",
    "SIGNALS",
    "Explanation",
    "LSTMTrace",
    "LSTMWeights",
    "OpenLinear",
    "OpenMember",
    "OpenModel",
    "Token",
    "explain_review",
    "lstm_steps",
    "plot",
    "table",
]
