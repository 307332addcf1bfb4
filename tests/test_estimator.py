"""SentimentClassifier follows the scikit-learn estimator contract; model folders record their tokenizer."""

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

import ksent
from ksent import artifacts
from ksent.classifier import TokenizerMismatchWarning
from ksent.config import Config
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError

TINY = Config(epochs=1, hidden=8, embed_dim=8, min_count=2)


@pytest.fixture(scope="module")
def small(nsmc_dir):
    return read_labelled(nsmc_path("train", nsmc_dir)).head(800)


def test_init_stores_params_and_does_no_work():
    clf = ksent.SentimentClassifier("no-such-config", device="cpu")  # validated in fit, not here
    assert clf.get_params() == {
        "config": "no-such-config",
        "device": "cpu",
        "progress": False,
        "cache": None,
        "workers": None,
        "teacher": None,
    }
    assert not any(k.endswith("_") for k in vars(clf))
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    with pytest.raises(KsentError, match="neither a preset"):
        clf.fit(["좋다", "싫다"], [1, 0])
    assert clf.set_params(config="default", workers=1) is clf and clf.workers == 1
    with pytest.raises(KsentError, match="no parameter 'epochs'"):
        clf.set_params(epochs=3)


def test_clone_and_check_is_fitted(trained):
    clf, _ = trained
    check_is_fitted(clf)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and copy is not clf
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert list(clf.classes_) == [0, 1] and clf.config_.name == "default" and len(clf.vocab_) > 1000


def test_cross_val_score_and_grid_search(small):
    texts, labels = small.texts, np.array(small.labels)
    scores = cross_val_score(ksent.SentimentClassifier(TINY, device="cpu"), texts, labels, cv=2)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()
    grid_configs = [TINY, Config(epochs=1, hidden=4, embed_dim=4, min_count=2)]
    grid = GridSearchCV(ksent.SentimentClassifier(device="cpu"), {"config": grid_configs}, cv=2).fit(texts, labels)
    # Each fold's score, worked out by hand: a fresh classifier of that config fitted on the fold's
    # training rows (training is reproducible on a CPU), its accuracy on the held-out rows by numpy.
    folds = list(StratifiedKFold(2).split(texts, labels))  # what cv=2 means for a classifier
    by_hand = np.array(
        [
            [
                np.mean(
                    ksent.SentimentClassifier(cfg, device="cpu")
                    .fit([texts[i] for i in tr], labels[tr])
                    .predict([texts[i] for i in te])
                    == labels[te]
                )
                for tr, te in folds
            ]
            for cfg in grid_configs
        ]
    )
    np.testing.assert_array_equal(scores, by_hand[0])
    for k in range(2):
        np.testing.assert_array_equal(grid.cv_results_[f"split{k}_test_score"], by_hand[:, k])
    best = int(np.argmax(by_hand.mean(axis=1)))
    assert grid.best_params_["config"] is grid_configs[best] and grid.best_score_ == by_hand[best].mean()
    # refit on every row: the same model as fitting that config directly
    direct = ksent.SentimentClassifier(grid_configs[best], device="cpu").fit(texts, labels)
    np.testing.assert_array_equal(grid.predict_proba(texts[:50]), direct.predict_proba(texts[:50]))


def test_fitting_never_edits_the_config_parameter(small):
    cfg = Config(epochs=1, hidden=8, embed_dim=8)
    clf = ksent.SentimentClassifier(cfg, device="cpu").fit(small.texts[:300], small.labels[:300])
    assert clf.config is cfg and clf.config_ == cfg and clf.config_ is not cfg


def test_prepare_never_refits_the_vocabulary(trained, small, tmp_path):
    _, out = trained
    loaded = ksent.load(out, device="cpu")
    words = list(loaded.vocab_.words)
    x, y, report = loaded.prepare(small)
    assert loaded.vocab_.words == words  # the vocabulary still matches the embedding
    assert x.max() < loaded.model_.embedding.num_embeddings and len(x) == len(y) == report.kept
    with pytest.raises(KsentError, match="no vocabulary yet"):
        ksent.SentimentClassifier().prepare(small)


def test_model_folder_records_the_tokenizer_and_warns_on_mismatch(trained, tmp_path):
    _, out = trained
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))
    tok = meta["tokenizer"]
    assert tok["backend"] == "kiwi" and set(tok["packages"]) == {"kiwipiepy", "kiwipiepy_model"}
    assert meta["format_version"] == artifacts.FORMAT_VERSION and meta["config"]["readout"] == "last"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same environment: no warning
        ksent.load(out, device="cpu")
    other = tmp_path / "다른 환경"
    shutil.copytree(out, other)
    tok["packages"]["kiwipiepy"] = "0.1.0"
    (other / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.warns(TokenizerMismatchWarning, match="kiwipiepy 0.1.0 when trained"):
        ksent.load(other, device="cpu")


def test_version_1_model_folders_still_load(trained, tmp_path):
    """A folder from ksent 0.1 (format 1: no tokenizer record, no architecture/readout keys)."""
    clf, out = trained
    old = tmp_path / "옛 모델"
    shutil.copytree(out, old)
    meta = json.loads((old / "config.json").read_text(encoding="utf-8"))
    meta["format_version"] = 1
    del meta["tokenizer"], meta["config"]["architecture"], meta["config"]["readout"], meta["config"]["views"]
    (old / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    (tokens,) = json.loads((old / "vocab.json").read_text(encoding="utf-8"))["features"]
    words = {"oov": tokens["oov"], "words": tokens["words"]}  # format 1's vocab.json: one vocabulary
    (old / "vocab.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    texts = ["재밌다", "지루하다"]
    np.testing.assert_array_equal(ksent.load(old, device="cpu").predict_proba(texts), clf.predict_proba(texts))


def test_version_and_info_commands():
    r = subprocess.run([sys.executable, "-m", "ksent", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"ksent {ksent.__version__}"
    r = subprocess.run([sys.executable, "-m", "ksent", "info", "--json"], capture_output=True, text=True)
    info = json.loads(r.stdout)
    assert info["ksent"] == ksent.__version__ and info["cpus_available"] >= 1 and info["kiwipiepy"] != "missing"
    assert info["device"] in ("cpu", "cuda")


# --- scikit-learn's own estimator checks ---------------------------------------------------------

_SPARSE = "a sparse matrix is not a list of texts: refused as 'text 0 is ...', not in scikit-learn's words"
_LABELS = "labels must be 0 or 1: its y of 3 classes is refused as such ('labels must be 0 or 1, found [2]')"
CHECKS_THAT_DO_NOT_APPLY = {
    # ksent reads texts: checks of numeric-array validation have nothing to validate
    "check_n_features_in": "texts have no feature count: no n_features_in_",
    "check_n_features_in_after_fitting": "texts have no feature count: no n_features_in_",
    "check_complex_data": "complex numbers written out are text; an array of them is refused as 'not str'",
    "check_dtype_object": "an object array of numbers is not texts: refused as 'text 0 is ndarray, expected str'",
    "check_estimators_nan_inf": "'nan' and 'inf' written out are words, valid in a review",
    "check_estimators_empty_data_messages": "0 columns is 0 words a row: refused as 'need at least 2 usable rows'",
    "check_fit2d_predict1d": "1-D input is a list of texts: numbers in it are refused as 'not str', not 'Reshape'",
    "check_fit2d_1sample": "one row cannot be split for validation: 'need at least 2 usable training rows'",
    "check_estimator_sparse_tag": _SPARSE,
    "check_estimator_sparse_array": _SPARSE,
    "check_estimator_sparse_matrix": _SPARSE,
    "check_classifiers_train": "its accuracy bar is for numeric features; numbers as words, one tiny epoch: chance",
    # binary by definition: 0 negative, 1 positive
    "check_estimators_dtypes": _LABELS,
    "check_fit2d_1feature": _LABELS,
    "check_classifier_data_not_an_array": _LABELS,
    "check_classifiers_classes": "labels must be 0 or 1: string and 3-class labels are refused",
    "check_classifier_not_supporting_multiclass": "multi-class y refused as 'labels must be 0 or 1, found [2]'",
    "check_classifiers_regression_target": "a continuous y is refused as 'labels must be 0 or 1', without 'continuous'",
    "check_classifiers_one_label": "one class trains like two (no error to raise); one tiny epoch need not say it",
    # ksent's own choices and gaps (left as they are; each fails with an error, never a wrong model)
    "check_fit_score_takes_y": "fit and score take (texts, labels), not (X, y); positional calls work alike",
    "check_estimators_unfitted": "predict before fit raises KsentError (a ValueError), not NotFittedError",
    "check_supervised_y_2d": "a (n, 1) column of labels is not flattened: training fails inside torch",
    "check_requires_y_none": "fit(X, None) raises TypeError (len() of None), not a ValueError naming y",
}


class _ReadsNumbers(ksent.SentimentClassifier):
    """SentimentClassifier as scikit-learn's checks can call it: they build numeric X and ksent reads
    texts, so each numeric row is written out as words ("f0=0.25 f1=-1.50") and passed on; anything
    else (texts, lists, sparse matrices) goes through unchanged. Nothing else differs."""

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags

        tags = super().__sklearn_tags__()
        tags.input_tags = InputTags(two_d_array=True)  # else the checks skip it: they only make numbers
        return tags

    @staticmethod
    def _texts(x):
        a = None if hasattr(x, "tocsr") else np.asarray(x)
        if a is None or a.ndim != 2 or a.dtype.kind not in "biuf":
            return x
        return [" ".join(f"f{j}={v:.2f}" for j, v in enumerate(row)) for row in a]

    def __repr__(self) -> str:  # the checks' test ids: SentimentClassifier's would spell out the whole config
        return "SentimentClassifier(tiny)"

    def fit(self, texts, labels):
        return super().fit(self._texts(texts), labels)

    def predict_proba(self, texts):
        return super().predict_proba(self._texts(texts))

    def predict(self, texts):
        return super().predict(self._texts(texts))

    def score(self, texts, labels):
        return super().score(self._texts(texts), labels)


# No analyser: subword pieces learnt from the rows themselves, so the ~60 checks take seconds.
CHECKED = _ReadsNumbers(
    Config(tokenizer="subword", subword_vocab=100, clean=False, stopwords=[], min_count=1, epochs=1, hidden=4),
    device="cpu",
)


@parametrize_with_checks([CHECKED], expected_failed_checks=lambda _: CHECKS_THAT_DO_NOT_APPLY)
def test_scikit_learn_estimator_checks(estimator, check):
    """Cloning, parameters, repr, pickling, fit returning self and leaving its parameters alone, the
    same answers whatever the order or company of the rows, refitting: scikit-learn's own checks."""
    check(estimator)
