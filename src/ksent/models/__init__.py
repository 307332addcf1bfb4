"""Models, built from the config in one place.

Every model maps padded ids (B, T) to logits (B,) and offers what `ksent explain` opens up:
`members()`, the LSTM classifiers whose mean logit is the model's, each with `embed`, `lstm`
(an `nn.LSTM`), `readout`, `feature_units` and `head` (see `ksent.models.lstm`).
"""

from torch import nn

from ksent.config import READOUTS, Config
from ksent.models.ensemble import Ensemble
from ksent.models.lstm import LSTMClassifier

ARCHITECTURES = {"lstm": LSTMClassifier}


def build_model(cfg: Config, vocab_size: int) -> nn.Module:
    """A freshly initialised model of the config's architecture (an `Ensemble` of `cfg.members` of them)."""
    try:
        cls = ARCHITECTURES[cfg.architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {cfg.architecture!r}; expected one of {list(ARCHITECTURES)}") from None
    if cfg.members == 1:
        return cls(vocab_size, cfg)
    return Ensemble([cls(vocab_size, cfg) for _ in range(cfg.members)])


__all__ = ["ARCHITECTURES", "READOUTS", "Ensemble", "LSTMClassifier", "build_model"]
