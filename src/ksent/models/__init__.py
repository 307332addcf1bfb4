"""Models, built from small specs (`NetSpec`: sizes, variant, and the block of ids each reads).

Every model maps padded ids (B, T) to logits (B,) and offers what `ksent explain` opens up:
`members()`, the classifiers whose mean (or weighted) logit is the model's (LSTMs, and linear members over
character n-grams: `ksent.models.linear`), each LSTM with `embed`, `lstm` (an `nn.LSTM`),
`readout`, `feature_units` and `head` (see `ksent.models.lstm`), and each member what it reads:
`reads` (a featurizer kind: "tokens", "syllables", "pieces", ...) and `columns` (its block of the
ids, from the model's `ksent.features.FeatureSet`; None: all of them). `ksent.models.inference`
turns ids into logits.
"""

from collections.abc import Sequence

from torch import nn

from ksent.config import READOUTS
from ksent.models.ensemble import Ensemble
from ksent.models.linear import LinearClassifier
from ksent.models.lstm import LSTMClassifier, NetSpec

# A spec's `network` names one: its featurizer's (`Featurizer.network`); a config's `architecture`
# (config.ARCHITECTURES) is the LSTM's.
NETWORKS = {"lstm": LSTMClassifier, "linear": LinearClassifier}


def build_model(specs: Sequence[NetSpec], architecture: str = "lstm", weighted: bool = False) -> nn.Module:
    """A freshly initialised model: one network for one spec, else an `Ensemble` of them (`weighted`:
    with a weight per member and a bias, `ksent.combine`; the mean's until they are set)."""
    if architecture != "lstm":
        raise ValueError(f"unknown architecture {architecture!r}; expected 'lstm'")
    if not specs:
        raise ValueError("a model needs at least one network spec")
    for spec in specs:
        if spec.reads != "tokens" and spec.vocab_size < 2:
            raise ValueError(f"a member reading {spec.reads} needs its vocabulary's size (padding and one id at least)")
        if spec.network not in NETWORKS:
            raise ValueError(f"unknown network {spec.network!r}; expected one of {list(NETWORKS)}")
    nets = [NETWORKS[spec.network](spec) for spec in specs]
    return nets[0] if len(nets) == 1 else Ensemble(nets, weighted)


__all__ = ["NETWORKS", "READOUTS", "Ensemble", "LSTMClassifier", "LinearClassifier", "NetSpec", "build_model"]
