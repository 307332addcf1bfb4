"""Run configuration: one plain dataclass, saved inside every model folder.

`seed` is the seed document's pipeline as the classic NSMC chapter completes it. `default` is
the same model fed by Kiwi morphemes, with an OOV id so unseen words still count.
"""

import dataclasses
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ksent.errors import KsentError
from ksent.text.clean import SEED_STOPWORDS

ARCHITECTURES = ("lstm",)
READOUTS = ("last", "mean", "max", "max_mean")
COMBINES = ("mean", "fitted")  # ksent.combine: how an ensemble's members make one logit
AUGMENT_RECIPES = ("drop_crop", "mask_swap_ngram")  # ksent.distill: how a perturbed copy is made
DISTILL_LOSSES = ("soft", "logits")  # ksent.train.target_loss
READOUT_PARTS = {"last": ("last",), "mean": ("mean",), "max": ("max",), "max_mean": ("max", "mean")}


def feature_units(readout: str, directions: int, hidden: int) -> list[tuple[str, int, int]]:
    """What each input feature of an LSTM's head is: (readout part, direction, hidden unit)."""
    return [(p, d, u) for p in READOUT_PARTS[readout] for d in range(directions) for u in range(hidden)]


@dataclass
class Config:
    name: str = "default"
    # text -> tokens
    tokenizer: str = "kiwi"  # "kiwi" | "okt" | "subword" (pieces learnt from the training texts, no analyser)
    subword_vocab: int = 16000  # "subword": how many pieces to learn
    clean: bool = True  # the seed's Hangul-only cleaning
    tags: bool = False  # each token carries its part-of-speech tag ("점/NNB"); off: Kiwi lemmas / Okt stems
    stopwords: list[str] = field(default_factory=lambda: list(SEED_STOPWORDS))
    # tokens -> ids
    min_count: int = 3  # the classic chapter drops words seen fewer than 3 times
    oov: bool = True  # map rare/unseen words to an OOV id instead of deleting them
    max_len: int = 30
    padding: str = "pre"
    truncating: str = "pre"
    # model (built by ksent.models.build_model)
    architecture: str = "lstm"  # one of ARCHITECTURES
    readout: str = "last"  # one of READOUTS: "last" is Keras' (the state after the last step)
    embed_dim: int = 100
    hidden: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0  # between stacked LSTM layers
    token_dropout: float = 0.0  # training only: each token's embedding is zeroed with this probability
    head_dropout: float = 0.0  # training only: dropout on the features the head reads
    pack: bool = False  # the LSTM reads only real tokens (packed sequences; needs padding="post")
    members: int = 1  # an ensemble: this many LSTMs (seeds seed, seed+1, ...), their logits combined (`combine`)
    # ensemble members that read syllables (every character of the text, spaces as "▁") instead of tokens
    syllable_members: int = 0
    syllable_max_len: int = 150  # characters a syllable member reads (truncated as `truncating` says)
    syllable_epochs: int = 0  # a syllable member's epochs (0: `epochs`)
    # ensemble members that read subword pieces (`subword_vocab` BPE pieces learnt from the training
    # texts, as the "subword" tokenizer's) beside an analyser's tokens: the same recipe, their own ids
    piece_members: int = 0
    piece_max_len: int = 96  # pieces a piece member reads
    # members over other registered featurizers (`ksent.features.register`), each kind with its own
    # section: {"jamo": {"members": 1, "max_len": 200}} ("members", default 1; "votes", default true;
    # the rest the kind's options). A view with "votes": false only teaches: its members learn as the
    # others do, join the ensemble the born-again members learn from, and are then left out of the
    # model (neither kept nor read when it predicts); it needs born_again >= 1.
    views: dict[str, dict] = field(default_factory=dict)
    # training (Keras defaults where the seed relies on them)
    optimizer: str = "adam"  # "adam" | "adamw" (decoupled weight decay)
    lr: float = 1e-3  # with schedule="onecycle", the peak
    adam_eps: float = 1e-7
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant" | "onecycle" (warm up to lr over 25% of the steps, then anneal)
    grad_clip: float = 0.0  # clip the gradient norm to this (0: off)
    # training only (Miyato et al. 2017): each batch's loss again with every review's embeddings pushed,
    # by this share of their norm, the way that raises its loss most; the two losses added (0: off)
    adversarial: float = 0.0
    bucket: bool = False  # each batch holds reviews of one length (with pack: no padding step at all)
    bf16: bool = False  # training's forward pass under bfloat16 autocast (fast on CPUs with AMX or AVX-512 bf16)
    batch_size: int = 64
    epochs: int = 15
    val_split: float = 0.2  # the last 20% of the cleaned training rows, as Keras' validation_split
    patience: int = 4  # early stopping on validation loss
    seed: int = 42
    # learning from a teacher model trained on the same file (ksent.distill; both need one at training)
    distill: float = 0.0  # the teacher's P(positive) weighs this much in each training target (0: labels only)
    augment: int = 0  # perturbed copies of each training review, labelled by the teacher alone
    augment_recipe: str = "drop_crop"  # how a copy is made: "drop_crop" | "mask_swap_ngram" (ksent.distill)
    # what the network's logit is trained towards: "soft" (binary cross-entropy against the target, a label or
    # the teacher's blend) | "logits" (squared distance to the target's logit, Tang et al. 2019; LSTM members)
    distill_loss: str = "soft"
    # born again (Furlanello et al. 2018, arXiv 1805.04770): once the members above are trained, this many
    # more token members (seeds seed, seed+1, ...), each learning from their ensemble as a student learns
    # from a teacher (`distill` and `augment` above; no --teacher), then joining it. The ensemble then
    # combines all of them (`combine`); each born-again member learns from the others' mean.
    born_again: int = 0
    # how an ensemble's members make one logit (ksent.combine): "mean" | "fitted" (a weight per member and a
    # bias, fitted on the validation rows once every member is trained; kept only if they beat the mean there
    # out of fold)
    combine: str = "mean"

    def validate(self) -> "Config":
        checks = [
            (self.tokenizer in ("kiwi", "okt", "subword"), "tokenizer must be 'kiwi', 'okt' or 'subword'"),
            (self.subword_vocab >= 100, "subword_vocab must be >= 100"),
            (not (self.tokenizer == "subword" and self.tags), "the 'subword' tokenizer has no tags: set tags=false"),
            (self.architecture in ARCHITECTURES, f"architecture must be one of {', '.join(ARCHITECTURES)}"),
            (self.readout in READOUTS, f"readout must be one of {', '.join(READOUTS)}"),
            (self.min_count >= 1, "min_count must be >= 1"),
            (self.max_len >= 1, "max_len must be >= 1"),
            (
                self.padding in ("pre", "post") and self.truncating in ("pre", "post"),
                "padding and truncating must be 'pre' or 'post'",
            ),
            (
                min(self.embed_dim, self.hidden, self.num_layers, self.batch_size, self.epochs) >= 1,
                "embed_dim, hidden, num_layers, batch_size and epochs must be >= 1",
            ),
            (0.0 < self.val_split < 1.0, "val_split must be between 0 and 1 (exclusive)"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (self.lr > 0 and self.adam_eps > 0, "lr and adam_eps must be > 0"),
            (self.patience >= 1, "patience must be >= 1"),
            (
                0.0 <= self.token_dropout < 1.0 and 0.0 <= self.head_dropout < 1.0,
                "token_dropout and head_dropout must be in [0, 1)",
            ),
            (not self.pack or self.padding == "post", "pack needs padding='post' (the real tokens first)"),
            (not self.bucket or self.pack, "bucket needs pack (batches are cut to their longest review)"),
            (self.members >= 1, "members must be >= 1"),
            (
                self.syllable_members >= 0 and self.syllable_max_len >= 1 and self.syllable_epochs >= 0,
                "syllable_members and syllable_epochs must be >= 0, syllable_max_len >= 1",
            ),
            (self.piece_members >= 0 and self.piece_max_len >= 1, "piece_members must be >= 0, piece_max_len >= 1"),
            (
                not self.piece_members or self.tokenizer != "subword",
                "piece_members read pieces beside an analyser's tokens; a 'subword' config's tokens are pieces already",
            ),
            (
                isinstance(self.views, dict)
                and all(isinstance(v, dict) and _count(v.get("members", 1)) for v in self.views.values()),
                'views must map a featurizer kind to its section, e.g. {"jamo": {"members": 1}} (members >= 0)',
            ),
            (
                not isinstance(self.views, dict)
                or all(isinstance(v.get("votes", True), bool) for v in self.views.values() if isinstance(v, dict)),
                'a view\'s "votes" must be true or false (false: its members only teach the born-again members)',
            ),
            (
                self.born_again or not self.teaching_views(),
                f"the views {self.teaching_views()} have votes=false: their members only teach the born-again "
                "members, and this config has none; set born_again >= 1 (with distill and/or augment), or drop "
                '"votes": false',
            ),
            (self.optimizer in ("adam", "adamw"), "optimizer must be 'adam' or 'adamw'"),
            (self.schedule in ("constant", "onecycle"), "schedule must be 'constant' or 'onecycle'"),
            (self.weight_decay >= 0 and self.grad_clip >= 0, "weight_decay and grad_clip must be >= 0"),
            (0.0 <= self.adversarial < 1.0, "adversarial must be in [0, 1) (a share of the embeddings' norm)"),
            (0.0 <= self.distill <= 1.0 and self.augment >= 0, "distill must be in [0, 1] and augment >= 0"),
            (self.born_again >= 0, "born_again must be >= 0"),
            (self.distill_loss in DISTILL_LOSSES, f"distill_loss must be one of {', '.join(DISTILL_LOSSES)}"),
            (
                not self.born_again or self.distill or self.augment,
                "born_again members learn from the other members' answers: set distill and/or augment "
                "(e.g. distill=0.8, augment=8)",
            ),
            (self.combine in COMBINES, f"combine must be one of {', '.join(COMBINES)}"),
            (
                self.combine == "mean" or self.n_members() > 1,
                "combine='fitted' weighs an ensemble's members, and this config trains one network: "
                "add members (members, syllable_members, piece_members, views, born_again) or set combine=mean",
            ),
            (
                self.augment_recipe in AUGMENT_RECIPES,
                f"augment_recipe must be one of {', '.join(AUGMENT_RECIPES)}",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise KsentError(f"config {self.name!r}: {msg}")
        return self

    def teaching_views(self) -> list[str]:
        """The views whose members only teach the born-again members ("votes": false)."""
        sections = self.views.items() if isinstance(self.views, dict) else ()
        return [
            kind
            for kind, v in sections
            if isinstance(v, dict) and v.get("votes", True) is False and v.get("members", 1) != 0
        ]

    def n_members(self) -> int:
        """How many networks the model has (an ensemble when more than one): a teaching view's are not kept."""
        sections = self.views.values() if isinstance(self.views, dict) else ()
        counts = [v.get("members", 1) for v in sections if isinstance(v, dict) and v.get("votes", True) is not False]
        views = sum(n for n in counts if _count(n))
        return self.members + self.syllable_members + self.piece_members + views + self.born_again

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "Config":
        """A config from JSON-like data; each value is type-checked against its field first."""
        if not isinstance(d, dict):
            raise KsentError(f"{source}: expected a JSON object of config keys, got {type(d).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise KsentError(f"{source}: unknown config keys {unknown}; known keys: {', '.join(sorted(known))}")
        for key, value in d.items():
            _check_type(known[key], value, source)
        return cls(**d).validate()


def _kind(f: dataclasses.Field) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _check_type(f: dataclasses.Field, value, source: str) -> None:
    kind = _kind(f)
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind.startswith("list"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        kind = "list of strings"
    elif kind.startswith("dict"):
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, dict) for k, v in value.items())
        kind = "JSON object of sections"
    else:
        ok = isinstance(value, str)
    if not ok:
        wanted, got = _ARTICLE.get(kind, "a " + kind), json.dumps(value, ensure_ascii=False)
        raise KsentError(f"{source}: {f.name!r} must be {wanted}, got {got}")


def _count(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


_ARTICLE = {"int": "a whole number (int)", "float": "a number", "bool": "true or false", "str": "a string"}


# The LSTM recipe `best`, `teacher` and `fast` share: every character kept, Kiwi morphemes with their
# tags, packed bidirectional LSTMs pooled over their tokens, regularised, one-cycle trained (batches of
# one length, bf16 forward), two of them beside one that reads syllables and one that reads BPE pieces:
# each view errs differently. docs/benchmarks.md has the runs that chose each part (on the validation
# split).
_LSTMS = Config(
    name="best",
    clean=False,
    tags=True,
    stopwords=[],
    min_count=2,
    max_len=80,
    padding="post",
    readout="max_mean",
    embed_dim=128,
    hidden=128,
    bidirectional=True,
    token_dropout=0.25,
    head_dropout=0.3,
    pack=True,
    members=2,
    syllable_members=1,
    syllable_epochs=6,
    piece_members=1,
    optimizer="adamw",
    lr=3e-3,
    weight_decay=0.01,
    schedule="onecycle",
    grad_clip=1.0,
    bucket=True,
    bf16=True,
    batch_size=128,
    epochs=4,
    val_split=0.1,
)
# The two linear views (ksent.models.linear): character 2- to 6-grams across the spaces between words
# and word n-grams (the analyser's tokens and their runs of two and three). They err differently from
# every LSTM (docs/benchmarks.md#views-amd, #words-view, #chargrams-across).
_LINEAR_VIEWS = {
    "chargrams": {"members": 1, "across": True, "min_n": 2, "max_n": 6, "max_len": 650},
    "words": {"members": 1},
}
PRESETS = {
    "seed": Config(name="seed", tokenizer="okt", oov=False),
    "default": Config(name="default"),
    # The recipe's four LSTMs (the syllable member for 4 epochs) and the two linear views, which only
    # teach: then one more Kiwi BiLSTM born again from those six (taught by their answers on the
    # training rows and 4 perturbed copies of each), the linear members left out, and the five LSTMs
    # weighed by weights fitted on the validation rows (ksent.combine). All LSTMs, in 18-19 minutes on
    # 2 cores with AVX-512 (docs/benchmarks.md#best-teaching has the runs that chose it).
    "best": dataclasses.replace(
        _LSTMS,
        syllable_epochs=4,
        views={kind: {**section, "votes": False} for kind, section in _LINEAR_VIEWS.items()},
        distill=0.8,
        augment=4,
        born_again=1,
        combine="fitted",
    ),
}
# The strongest model ksent trains, to teach the shipped one (`ksent train --config distilled --teacher
# runs/teacher`): the recipe's four LSTMs and the two linear views as members, then one more Kiwi
# BiLSTM born again from those six (taught by their answers on the training rows and 8 perturbed copies
# of each, as `distilled` is taught), the seven logits weighed by weights fitted on the validation rows
# (ksent.combine; the mean where those do not beat it out of fold). The born-again member was the first
# that moved the ensemble (docs/benchmarks.md#born-again, #combine-fitted, #words-view and
# #chargrams-across have the runs that chose them).
PRESETS["teacher"] = dataclasses.replace(
    _LSTMS,
    name="teacher",
    views=_LINEAR_VIEWS,
    distill=0.8,
    augment=8,
    born_again=1,
    combine="fitted",
)
# No analyser: BPE pieces learnt from the training texts, read left to right by one LSTM trained as
# `best`'s are. Several times faster to prepare and to predict than any Kiwi config, for some
# accuracy (docs/benchmarks.md: 16,000 pieces and one direction were chosen on the validation split).
PRESETS["fast"] = dataclasses.replace(
    _LSTMS,
    name="fast",
    tokenizer="subword",
    tags=False,
    max_len=96,
    bidirectional=False,
    members=1,
    syllable_members=0,
    piece_members=0,
)
# `fast`'s pieces read by a smaller LSTM in both directions, taught by a stronger model (`ksent train
# --config distilled --teacher runs/teacher`): each training target is 0.2 x the label + 0.8 x the
# teacher's P(positive), and each training review gives eight perturbed copies that the teacher alone
# labels (ksent.distill). Two directions of 64 units cost fewer multiplications per piece than `fast`'s
# one of 128 and predict as fast or faster; docs/benchmarks.md has the runs that chose it on the
# validation split (8 copies over 1 and 2; two directions of 64 over one of 128 and two of 128). The
# bundled model is one.
PRESETS["distilled"] = dataclasses.replace(
    PRESETS["fast"], name="distilled", distill=0.8, augment=8, bidirectional=True, hidden=64
)


_WANTED = {
    "list": 'a list of strings: comma-separated (영화,정말), or JSON (["영화", "정말"]; [] or nothing for none)',
    "dict": 'a JSON object of sections (e.g. {"jamo": {"members": 1}})',
}


def _parse(f: dataclasses.Field, raw: str):
    """One `--set KEY=VALUE` value as its field's type. A list is comma-separated words, or a JSON
    list when it starts with "[" (so `stopwords=[]` is no stopwords, not the word "[]")."""
    kind = _kind(f)
    try:
        if kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("list"):
            if not raw.lstrip().startswith("["):
                return [w for w in raw.split(",") if w]
            value = json.loads(raw)
            if not (isinstance(value, list) and all(isinstance(w, str) for w in value)):
                raise ValueError
            return value
        if kind.startswith("dict"):
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError
            return value
        return raw
    except ValueError:  # json.JSONDecodeError is one
        wanted = _WANTED.get(kind.partition("[")[0], f"a value of type {kind}")
        raise KsentError(f"--set {f.name}={raw}: expected {wanted}") from None


def resolve(config: str, overrides: list[str] | None = None) -> Config:
    """A preset name or a JSON config file, then `key=value` overrides."""
    if config in PRESETS:
        cfg = Config.from_dict(PRESETS[config].to_dict())  # a deep copy
    else:
        path = Path(config)
        if not path.is_file():
            raise KsentError(f"config {config!r} is neither a preset ({', '.join(PRESETS)}) nor a JSON file")
        try:
            cfg = Config.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))
        except UnicodeDecodeError as e:
            raise KsentError(f"{path}: byte {e.start} is not UTF-8; save the config as UTF-8") from None
        except json.JSONDecodeError as e:
            raise KsentError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    by_name = {f.name: f for f in fields(Config)}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or key not in by_name:
            raise KsentError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(by_name)}")
        setattr(cfg, key, _parse(by_name[key], raw))
    return cfg.validate()
