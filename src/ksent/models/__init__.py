"""Models, built from the config in one place.

Every model maps padded ids (B, T) to logits (B,) and offers what `ksent explain` opens up:
`members()`, the LSTM classifiers whose mean logit is the model's, each with `embed`, `lstm`
(an `nn.LSTM`), `readout`, `feature_units` and `head` (see `ksent.models.lstm`), and what it reads:
`reads` ("tokens", "syllables" or "pieces") and `columns` (its slice of the ids; None: all of them).
"""

from torch import nn

from ksent.config import READOUTS, Config
from ksent.models.ensemble import Ensemble
from ksent.models.lstm import LSTMClassifier

ARCHITECTURES = {"lstm": LSTMClassifier}


def member_views(cfg: Config) -> list[tuple[str, slice]]:
    """What each member reads, in order: ("tokens", its columns) for the `members` token LSTMs, then
    ("syllables", its columns) for the `syllable_members`, then ("pieces", its columns) for the
    `piece_members`. The ids a model reads are the padded tokens (max_len columns), followed, with
    syllable members, by the padded syllables, then, with piece members, by the padded pieces."""
    tokens, syllables = slice(0, cfg.max_len), slice(cfg.max_len, cfg.max_len + cfg.syllable_max_len)
    start = syllables.stop if cfg.syllable_members else tokens.stop
    pieces = slice(start, start + cfg.piece_max_len)
    views = [("tokens", tokens)] * cfg.members + [("syllables", syllables)] * cfg.syllable_members
    return views + [("pieces", pieces)] * cfg.piece_members


def build_model(cfg: Config, vocab_size: int, syllable_vocab_size: int = 0, piece_vocab_size: int = 0) -> nn.Module:
    """A freshly initialised model of the config's architecture (an `Ensemble` of `cfg.members` of
    them, of `cfg.syllable_members` over `syllable_vocab_size` syllable ids and of `cfg.piece_members`
    over `piece_vocab_size` piece ids)."""
    try:
        cls = ARCHITECTURES[cfg.architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {cfg.architecture!r}; expected one of {list(ARCHITECTURES)}") from None
    views = member_views(cfg)
    if len(views) == 1:
        return cls(vocab_size, cfg)
    if cfg.syllable_members and syllable_vocab_size < 2:
        raise ValueError("syllable members need the syllable vocabulary's size (padding and <OOV> at least)")
    if cfg.piece_members and piece_vocab_size < 2:
        raise ValueError("piece members need the piece vocabulary's size (padding and <OOV> at least)")
    sizes = {"tokens": vocab_size, "syllables": syllable_vocab_size, "pieces": piece_vocab_size}
    nets = []
    for reads, columns in views:
        net = cls(sizes[reads], cfg)
        net.reads, net.columns = reads, columns
        nets.append(net)
    return Ensemble(nets)


__all__ = ["ARCHITECTURES", "READOUTS", "Ensemble", "LSTMClassifier", "build_model", "member_views"]
