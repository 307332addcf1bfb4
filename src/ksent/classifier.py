"""The public Python API: a scikit-learn estimator over the whole pipeline.

>>> import ksent
>>> clf = ksent.load("runs/default")                          # doctest: +SKIP
>>> clf.predict(["정말 재밌어요", "최악의 영화"])               # doctest: +SKIP
array([1, 0])
>>> clf(["정말 재밌어요"])                                      # doctest: +SKIP
[{'label': 'positive', 'score': 0.97...}]

It follows the estimator contract, so `sklearn.base.clone`, `GridSearchCV` and
`cross_val_score` work (scikit-learn itself is optional): `__init__` only stores its
parameters, `fit` returns `self`, and what fitting learns ends in `_` (`config_`, `features_`,
`model_`, `metrics_`, `classes_`).
"""

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ksent import artifacts, combine, distill
from ksent.checkpoint import Checkpoint, digest, identity
from ksent.config import Config, resolve
from ksent.data import NO_TOKENS, DropReport, Labelled, cache_dir, clean_training, fingerprint
from ksent.errors import KsentError
from ksent.features import FeatureSet, Run
from ksent.metrics import classification_report
from ksent.models import Ensemble, build_model
from ksent.models.inference import evaluate_logits, member_logits, model_device, p_positive, resolve_device
from ksent.predict import Predicting, check_texts
from ksent.progress import bar, notice
from ksent.text.tokenizers import (  # noqa: F401  (TokenizerMismatchWarning: its old home was here)
    TokenizerMismatchWarning,
    model_provenance,
    warn_if_tokenizer_differs,
)
from ksent.text.vocab import Vocab
from ksent.train import Member, fit, loss_accuracy, members_of, split

CACHE_MIN_TEXTS = 5000  # token cache only for corpus-sized inputs (training, evaluation)
MEMBER_HISTORY = ("epochs", "best_epoch", "best_val_accuracy", "seconds", "seed", "resumed_after_epoch")
PARAMS = ("config", "device", "progress", "cache", "workers", "teacher")


class SentimentClassifier(Predicting):
    """Korean review sentiment: text -> tokens -> ids -> LSTM -> P(positive).

    Parameters (all stored as given; nothing happens until `fit`):
      config: a preset name ("seed", "default"), a JSON config file, or a `Config`.
      device: "auto" (CUDA when present), "cpu" or "cuda".
      progress: progress bars and notices on stderr.
      cache: token cache for corpus-sized inputs, and a teacher's answers: None/False off, True the
        ksent cache folder ($KSENT_CACHE_DIR or the user cache), or a folder.
      workers: analyser workers; None means $KSENT_WORKERS, else the CPUs this process may use.
      teacher: for configs with `distill`/`augment`: a model folder or fitted classifier trained on
        the same file, whose answers the training targets learn from (`ksent.distill`). Not for
        cross-validation: the teacher must have learnt from exactly the rows `fit` receives.

    `classes_` is [0, 1]: 0 = negative, 1 = positive, the columns of `predict_proba`.
    """

    def __init__(
        self,
        config: Config | str = "default",
        device: str = "auto",
        progress: bool = False,
        cache: Path | str | bool | None = None,
        workers: int | None = None,
        teacher: "str | Path | SentimentClassifier | None" = None,
    ):
        self.config = config
        self.device = device
        self.progress = progress
        self.cache = cache
        self.workers = workers
        self.teacher = teacher

    # -- the estimator contract ------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in PARAMS}

    def set_params(self, **params) -> "SentimentClassifier":
        for name, value in params.items():
            if name not in PARAMS:
                raise KsentError(f"SentimentClassifier has no parameter {name!r}; parameters: {', '.join(PARAMS)}")
            setattr(self, name, value)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=False),
            input_tags=InputTags(one_d_array=True, two_d_array=False, string=True),
            non_deterministic=self.device != "cpu",  # CUDA kernels may differ run to run
        )

    def __repr__(self) -> str:
        defaults = {
            "config": "default",
            "device": "auto",
            "progress": False,
            "cache": None,
            "workers": None,
            "teacher": None,
        }
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in PARAMS if getattr(self, k) != defaults[k])
        return f"SentimentClassifier({shown})"

    def _config(self) -> Config:
        """The fitted config, or the one the `config` parameter names."""
        if hasattr(self, "config_"):
            return self.config_
        if isinstance(self.config, Config):
            return Config.from_dict(self.config.to_dict())  # a validated copy: fitting never edits the parameter
        return resolve(self.config)

    # -- text -> ids --------------------------------------------------------------------------

    def _cache_folder(self, kind: str) -> Path | None:
        """Where the `kind` cache ("tokens", "answers") lives: None when off; with cache=True the ksent
        cache's folder of that kind, else the folder the user gave (kinds differ by file name)."""
        if not self.cache:
            return None
        return cache_dir() / kind if self.cache is True else Path(self.cache)

    def _cache_dir(self, n_texts: int) -> Path | None:
        if n_texts < CACHE_MIN_TEXTS:
            return None  # a few predictions: reading/writing a cache file costs more than it saves
        return self._cache_folder("tokens")

    def _run(self, n_texts: int) -> Run:
        return Run(workers=self.workers, cache=self._cache_dir(n_texts), progress=self.progress)

    @property
    def vocab_(self) -> Vocab:
        """The token vocabulary (the first block's; `features_` holds every block's)."""
        if not hasattr(self, "features_"):
            raise AttributeError("vocab_")  # unfitted: as scikit-learn's fitted attributes, absent
        return self.features_.tokens.vocab

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Cleaned, analysed and stopword-filtered tokens, one list per text: what the token block
        reads (a "subword" config splits with the pieces its training learnt)."""
        tokens = self.features_.tokens if hasattr(self, "features_") else FeatureSet.from_config(self._config()).tokens
        return tokens.read(texts, self._run(len(texts)))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Padded ids (N, width) for any texts, empty ones included (all padding): each block of the
        feature set side by side (`features_.columns(kind)` says where)."""
        if not hasattr(self, "features_"):
            raise KsentError("no vocabulary yet: call fit(texts, labels) or fit_prepare(data), or ksent.load(DIR)")
        return self.features_.encode(texts, self._run(len(texts)))

    # -- training data ------------------------------------------------------------------------

    def _rows(self, x: np.ndarray, kept: Labelled, report: DropReport) -> tuple[np.ndarray, np.ndarray, Labelled]:
        """The rows of `x` with at least one token id, their labels, and those rows as `Labelled`
        (texts as written, file lines); the others are dropped and counted in `report`."""
        fed = self.features_.n_tokens(x) > 0
        for i in np.flatnonzero(~fed):
            report.drop(NO_TOKENS, kept.lines[i])
        keep = np.flatnonzero(fed)
        report.kept = len(keep)
        texts, labels, lines = ([values[i] for i in keep] for values in (kept.texts, kept.labels, kept.lines))
        rows = Labelled(kept.path, texts, labels, lines)
        return x[keep], np.asarray(rows.labels, dtype=np.int64), rows

    def fit_prepare(self, data: Labelled) -> tuple[np.ndarray, np.ndarray, DropReport]:
        """Fit the featurizers on training rows and return their padded ids (N, width), labels (N,)
        and the report of every dropped row (as `fit_transform` fits and transforms). The ids include
        the blocks of views that only teach ("votes": false), last: `fit` leaves them out of its model."""
        x, y, report, _ = self._fit_rows(data)
        return x, y, report

    def _fit_rows(self, data: Labelled) -> tuple[np.ndarray, np.ndarray, DropReport, Labelled]:
        self.config_ = cfg = self._config()
        kept, report = clean_training(data, clean=cfg.clean)
        # the views that only teach too: they are dropped once the born-again members have learnt
        self.features_ = FeatureSet.from_config(cfg, teaching=True)
        # Vocabularies over all training rows (validation included), as the seed's Tokenizer does.
        x = self.features_.fit(kept.texts, self._run(len(kept.texts)))
        x, y, rows = self._rows(x, kept, report)
        return x, y, report, rows

    def prepare(self, data: Labelled) -> tuple[np.ndarray, np.ndarray, DropReport]:
        """Labelled rows -> padded ids and labels with the featurizers already fitted or loaded;
        filtered as training filters (never refits: the ids match the model's embeddings)."""
        if not hasattr(self, "features_"):
            raise KsentError("no vocabulary yet: call fit_prepare(data) or fit(...) first, or ksent.load(DIR)")
        kept, report = clean_training(data, clean=self._config().clean)
        x, y, _ = self._rows(self.encode(kept.texts), kept, report)
        return x, y, report

    # -- fit / predict ------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        checkpoint: str | Path | None = None,
        resume: bool = False,
        restart: bool = False,
    ) -> "SentimentClassifier":
        """Train on raw reviews and 0/1 labels; rows are filtered as the seed filters them.

        `checkpoint`: a folder to save every finished epoch to (and a distilled config's teacher
        answers), left in place for the caller to remove once the model is saved
        (`ksent.checkpoint.remove`). With `resume`, training continues from the checkpoint there if
        it is of this run (same config, rows, teacher and device; refused otherwise), and starts from
        the beginning if there is none; on CPU it ends with the same weights as a run never stopped.
        With `restart`, a checkpoint there is discarded first; with neither, one there is refused."""
        texts = check_texts(texts)
        y = np.asarray(labels)
        if len(y) != len(texts):
            raise KsentError(f"got {len(texts)} texts but {len(y)} labels; they must pair up")
        if not np.isin(y, (0, 1)).all():
            raise KsentError(f"labels must be 0 or 1, found {sorted(set(np.unique(y).tolist()) - {0, 1})[:5]}")
        data = Labelled(Path("<fit>"), texts, y.astype(int).tolist(), list(range(1, len(texts) + 1)))
        return self.fit_labelled(data, checkpoint, resume, restart)

    def fit_labelled(
        self, data: Labelled, checkpoint: str | Path | None = None, resume: bool = False, restart: bool = False
    ) -> "SentimentClassifier":
        """`fit` on rows read from a labelled file (`ksent.data.read_labelled`)."""
        for name in ("config_", "features_", "model_", "metrics_", "validation_"):  # a refit starts clean
            self.__dict__.pop(name, None)
        cfg = self._config()
        if cfg.born_again and self.teacher is not None:
            raise KsentError(
                f"config {cfg.name!r} has born_again={cfg.born_again}: its distill and augment teach the born-again "
                "members with this run's own members' answers, so a teacher would not be used; drop the teacher "
                "(--teacher), or set born_again=0 to learn from it"
            )
        learns_from_teacher = bool(cfg.distill or cfg.augment) and not cfg.born_again
        if learns_from_teacher != (self.teacher is not None):
            raise KsentError(
                f"config {cfg.name!r} (distill={cfg.distill}, augment={cfg.augment}) learns from a teacher: pass "
                "teacher= (ksent train --teacher DIR), a model trained on the same file, e.g. with --config teacher"
                if learns_from_teacher
                else f"a teacher was given but config {cfg.name!r} has distill=0 and augment=0: it would not be used"
            )
        teacher = None
        if learns_from_teacher:  # checked before any work: a wrong teacher fails in seconds
            teacher = _load_teacher(self.teacher, self.device, self.workers, self.progress)
            distill.check_teacher(teacher, data, cfg)
        saved = None
        if checkpoint is not None:  # so is another run's checkpoint
            taught_by = None if teacher is None else digest(teacher.model_.state_dict())
            run = identity(cfg, data, str(resolve_device(self.device)), taught_by)
            saved = Checkpoint.open(checkpoint, run, resume, self.progress, restart)
        elif resume or restart:
            which = "resume" if resume else "restart"
            raise KsentError(f"{which}=True needs checkpoint=FOLDER, the checkpoint it acts on")
        x, y, report, rows = self._fit_rows(data)
        lines = rows.lines
        if self.progress:
            notice(f"{data.path}: {report.summary()}")
        targets = n_val = taught = None
        first_val_line = lines[split(len(lines), cfg.val_split)[0]]  # the file line validation starts at
        if teacher is not None:
            distill.check_validation_rows(teacher, first_val_line)

            def encode(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
                x = self.encode(texts)
                return x, self.features_.n_tokens(x) > 0

            answers = saved.answers(x, y) if saved is not None else None
            if answers is None:
                kept = self._cache_folder("answers")
                answers = distill.teach(cfg, encode, teacher, rows.texts, x, y, self.progress, kept)
                if saved is not None:
                    saved.save_answers(x, y, answers)
            elif self.progress:
                notice(f"the teacher's answers: from the checkpoint {saved.path}")
            x, y, targets, n_val, taught = answers
        members = members_of(cfg, self.features_)
        first = [m for m in members if not m.born_again]
        model, history = fit(cfg, x, y, first, self.device, self.progress, targets, n_val, saved)
        if taught:
            history["teacher"] = taught
        if cfg.born_again:
            model, history = self._born_again(model, history, x, y, rows, members[len(first) :], saved)
            self.features_ = self.features_.voting()  # the model reads these blocks only: the first columns
            x = x[:, : self.features_.width]
        if cfg.combine == "fitted":
            model, history = _weigh(model, history, x, y, self.progress)
        # The last n_val rows are the validation split: their scores under the kept weights go into
        # metrics.json and the run's plots (the test set is never looked at during training).
        y_val = y[len(y) - history["n_val"] :]
        self.validation_ = (y_val, p_positive(evaluate_logits(model, x[len(x) - len(y_val) :])))
        self.metrics_ = {
            "data": {
                "train_file": str(data.path),
                "fingerprint": fingerprint(data),
                **report.to_dict(),
                "first_validation_line": first_val_line,
            },
            "vocab_size": self.features_.tokens.vocab_size,
            "vocab_sizes": {b.featurizer.kind: b.featurizer.vocab_size for b in self.features_.blocks},
            "training": history,
            "validation": classification_report(*self.validation_),
        }
        self.tokenizer_ = model_provenance(cfg.tokenizer, self.features_.packages())
        self.classes_ = np.array([0, 1])
        self.model_ = model
        return self

    def _born_again(self, model, history: dict, x, y, rows: Labelled, taught: list[Member], saved):
        """The born-again members (`cfg.born_again`): each a token member learning from the ensemble of
        the members trained so far, exactly as `ksent train --teacher` would teach it with that ensemble
        saved as the teacher (its answers on the training rows and on the perturbed copies of its seed,
        `ksent.distill.teach`); then all of them averaged, but for the members of views that only teach
        ("votes": false), which leave the model here. Returns the model and its history."""
        cfg, tokens = self.config_, self.features_.blocks[0]
        teacher = SentimentClassifier(cfg, self.device, False, self.cache, self.workers)
        teacher.config_, teacher.features_, teacher.model_ = cfg, self.features_, model
        teacher.classes_ = np.array([0, 1])
        first = model.members() if isinstance(model, Ensemble) else [model]
        if "members" in history:
            histories = history["members"]
        else:  # one member before: its history is the run's
            histories = [{**{k: history[k] for k in MEMBER_HISTORY if k in history}, "reads": tokens.featurizer.kind}]
        x_tokens = np.ascontiguousarray(x[:, tokens.columns])

        def encode(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            ids = tokens.featurizer.encode(texts, self._run(len(texts)))
            return ids, (ids != 0).sum(axis=1) > 0

        @functools.cache
        def rows_answered() -> np.ndarray | None:
            """The teacher's answers on the training rows from the ids already made (its members read x), in
            the slices `distill.ask` reads their texts in: the same batches, so the same answers. Made once,
            and only for a stage whose answers are not in its checkpoint."""
            if not cfg.distill:
                return None
            return distill.ask_ids(model, x[: split(len(x), cfg.val_split)[0]])

        nets = []
        for j, member in enumerate(taught):
            if self.progress:
                notice(f"born-again member {j + 1}/{len(taught)}: a token member taught by the {len(first)} above")
            own = dataclasses.replace(cfg, seed=member.seed)  # its copies and its weights: this seed's
            stage = saved.stage(f"born-again-{j + 1}") if saved is not None else None
            answers = stage.answers(x_tokens, y) if stage is not None else None
            if answers is None:
                kept = self._cache_folder("answers")
                p_rows = rows_answered()
                answers = distill.teach(own, encode, teacher, rows.texts, x_tokens, y, self.progress, kept, p_rows)
                if stage is not None:
                    stage.save_answers(x_tokens, y, answers)
            xs, ys, targets, n_val, info = answers
            net, h = fit(own, xs, ys, [member], self.device, self.progress, targets, n_val, stage)
            nets.append(net)
            histories.append(
                {**{k: h[k] for k in MEMBER_HISTORY if k in h}, "reads": tokens.featurizer.kind, "born_again": info}
            )
        ensemble = Ensemble(first + nets).eval()
        n_val = history["n_val"]
        y_val = y[len(y) - n_val :]
        z = member_logits(ensemble, x[len(x) - n_val :])  # each member scored once, for both figures below
        val_loss, val_acc = loss_accuracy(ensemble.combine(z), y_val)
        if self.progress:
            notice(f"ensemble of {len(first) + len(nets)}: val_loss {val_loss:.4f} val_acc {val_acc:.4f}")
        before = {"members": len(first), "best_val_accuracy": history["best_val_accuracy"]}
        # the members of views that only teach ("votes": false) are last among the first; they leave here
        n_voting = sum(b.members for b in self.features_.blocks if b.votes)
        if n_voting < len(first):
            ensemble = Ensemble(first[:n_voting] + nets).eval()
            kept = [*range(n_voting), *range(len(first), len(first) + len(nets))]
            val_loss, val_acc = loss_accuracy(ensemble.combine(z[kept]), y_val)
            if self.progress:
                notice(
                    f"without the {len(first) - n_voting} that only taught: {n_voting + len(nets)} members, "
                    f"val_loss {val_loss:.4f} val_acc {val_acc:.4f}"
                )
            before["voting_members"] = n_voting  # of before["members"]: the others only taught
            before["teaching_members"] = histories[n_voting : len(first)]
            histories = histories[:n_voting] + histories[len(first) :]
        history = {**history, "best_val_accuracy": val_acc, "val_loss": val_loss, "members": histories}
        history["before_born_again"] = before
        history["seconds"] = sum(h["seconds"] for h in histories) + sum(
            h["seconds"] for h in before.get("teaching_members", [])
        )
        return ensemble, history

    def _p_positive(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """P(positive) (N,) and the padded ids the model read (N, max_len + any syllable block)."""
        texts = check_texts(texts)
        self._check_fitted()
        x = self.encode(texts)
        # a bar: a teacher's members answer a million copies for minutes after the tokenizing bar ends
        with bar("scoring", len(x) * len(self.model_.members()), self.progress) as advance:
            return p_positive(evaluate_logits(self.model_, x, advance=advance)), x

    def explain(self, text: str, member: int = 0):
        """One review opened up: tokens with spans and evidence, gates and cell state at every step.

        See `ksent.explain.Explanation` (`.to_dict()` for JSON, `ksent.explain.plot` for a heatmap).
        """
        from ksent.explain import explain_review

        self._check_fitted()
        return explain_review(self.model_, self.features_, self.config_, text, member=member)

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | Path, report: bool = False, half: bool = False) -> Path:
        """Write the model folder. With `report`, also the run's plots (learning curves; confusion
        matrix, ROC curve and score histogram on the validation split) and report.html, written
        into the folder before it is renamed into place; needs a model fitted in this session.
        With `half`, the weights are stored as float16 (half the size; loaded back as float32)."""
        self._check_fitted()
        extra = None
        if report:
            if not hasattr(self, "validation_"):
                raise KsentError("report=True needs the validation scores that fit() keeps; a loaded model has none")
            from ksent.report import write_run_report

            def extra(folder: Path) -> None:
                write_run_report(folder, self.metrics_, self.config_, *self.validation_)

        return artifacts.save(
            path,
            self.model_.state_dict(),
            self.config_,
            self.features_,
            self.metrics_,
            self.tokenizer_,
            extra=extra,
            half=half,
        )

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise KsentError("this classifier is not trained yet: call fit(texts, labels) or ksent.load(DIR)")


def _weigh(model: Ensemble, history: dict, x: np.ndarray, y: np.ndarray, progress: bool) -> tuple[Ensemble, dict]:
    """The ensemble with a weight per member and a bias fitted on the validation rows (`ksent.combine`:
    the mean's when the fitted ones do not beat it out of fold). Its history gains `combine`, the choice."""
    n_val = history["n_val"]
    x_val, y_val = x[len(x) - n_val :], y[len(y) - n_val :]
    z = member_logits(model, x_val)  # (members, rows): scored once, for the fit and the in-sample figure
    weights, report = combine.fit(z.T, y_val)
    weighted = Ensemble(model.members(), weighted=True).to(model_device(model)).eval()
    weighted.set_weights(weights.weights, weights.bias)
    val_loss, report["val_accuracy_in_sample"] = loss_accuracy(weighted.combine(z), y_val)
    # the weights were fitted on these rows: the accuracy to compare with other models is out of fold
    val_acc = report["val_accuracy_out_of_fold"][report["chosen"]]
    if progress:
        oof = report["val_accuracy_out_of_fold"]
        why = report.get("why") or f"validation out of fold: fitted {oof['fitted']:.4f}, mean {oof['mean']:.4f}"
        notice(
            f"members' weights: {report['chosen']} ({why}); weights {', '.join(f'{w:.3f}' for w in report['weights'])}"
        )
    return weighted, {**history, "best_val_accuracy": val_acc, "val_loss": val_loss, "combine": report}


def _load_teacher(teacher, device: str, workers: int | None, progress: bool = False) -> "SentimentClassifier":
    """A fitted classifier, or a model folder loaded as one."""
    if isinstance(teacher, SentimentClassifier):
        teacher._check_fitted()
        return teacher
    if isinstance(teacher, str | Path):
        return load(teacher, device=device, workers=workers, progress=progress)
    raise KsentError(f"teacher must be a model folder or a fitted SentimentClassifier, got {type(teacher).__name__}")


BUNDLED = Path(__file__).with_name("bundled")  # the model that ships inside the package (docs/model-card.md)


def load(path: str | Path | None = None, device: str = "auto", progress: bool = False, workers: int | None = None):
    """Load a model folder written by `ksent train` / `SentimentClassifier.save`; with no path, the
    model that ships inside the package (see docs/model-card.md), so ksent answers without training.

    Warns (`TokenizerMismatchWarning`) when the installed analyser differs from the one the model
    was trained with: its tokens, and so its accuracy, may differ from the recorded figures.
    """
    if path is None:
        if not (BUNDLED / "config.json").is_file():
            raise KsentError(f"this ksent installation has no bundled model ({BUNDLED} is missing); pass --model DIR")
        path = BUNDLED
    state, cfg, features, metrics, tokenizer = artifacts.load(path)
    warn_if_tokenizer_differs(path, tokenizer, cfg.tokenizer, features.packages())
    clf = SentimentClassifier(cfg, device=device, progress=progress, workers=workers)
    model = build_model([m.spec for m in members_of(cfg, features)], cfg.architecture, cfg.combine == "fitted")
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise KsentError(f"{path}: weights do not match config.json/vocab.json ({str(e).splitlines()[0]})") from None
    clf.config_, clf.features_, clf.metrics_ = cfg, features, metrics
    clf.tokenizer_ = tokenizer  # None for a folder written before ksent recorded it
    clf.classes_ = np.array([0, 1])
    clf.model_ = model.to(resolve_device(device)).eval()
    return clf
