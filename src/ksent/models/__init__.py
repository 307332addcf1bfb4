"""Models, built from small specs (`NetSpec`: sizes, variant, and the block of ids each reads).

Every model maps padded ids (B, T) to logits (B,) and offers what `ksent explain` opens up:
`members()`, the LSTM classifiers whose mean logit is the model's, each with `embed`, `lstm`
(an `nn.LSTM`), `readout`, `feature_units` and `head` (see `ksent.models.lstm`), and what it reads:
`reads` (a featurizer kind: "tokens", "syllables", "pieces", ...) and `columns` (its block of the
ids, from the model's `ksent.features.FeatureSet`; None: all of them). `ksent.models.inference`
turns ids into logits.
"""

from collections.abc import Sequence

from torch import nn

from ksent.config import READOUTS
from ksent.models.ensemble import Ensemble
from ksent.models.lstm import LSTMClassifier, NetSpec

NETWORKS = {"lstm": LSTMClassifier}  # a config's `architecture` names one (config.ARCHITECTURES)


def build_model(specs: Sequence[NetSpec], architecture: str = "lstm") -> nn.Module:
    """A freshly initialised model: one network for one spec, else an `Ensemble` of them."""
    try:
        cls = NETWORKS[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {list(NETWORKS)}") from None
    if not specs:
        raise ValueError("a model needs at least one network spec")
    for spec in specs:
        if spec.reads != "tokens" and spec.vocab_size < 2:
            raise ValueError(f"a member reading {spec.reads} needs its vocabulary's size (padding and one id at least)")
    nets = [cls(spec) for spec in specs]
    return nets[0] if len(nets) == 1 else Ensemble(nets)


__all__ = ["NETWORKS", "READOUTS", "Ensemble", "LSTMClassifier", "NetSpec", "build_model"]
