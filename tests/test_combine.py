"""An ensemble's members combined by weights fitted on the validation rows (`combine="fitted"`,
`ksent.combine`): the fit, the choice against the mean, and the weights carried by the model folder,
`explain` and the config's checks."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import ksent
from ksent import combine
from ksent.config import Config, resolve
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError
from ksent.models import NetSpec, build_model
from ksent.models.inference import evaluate_logits, member_logits


def test_fitted_weights_lean_on_the_member_that_knows_and_beat_the_mean():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    sign = 2 * y - 1
    good = 2.0 * sign + rng.normal(0, 1.5, len(y))  # right about 91 % of the time
    weak = 0.5 * sign + rng.normal(0, 1.5, len(y))  # about 63 %
    noise = rng.normal(0, 6.0, len(y))  # knows nothing, and loudly: it drowns the mean
    weights, report = combine.fit(np.stack([good, weak, noise], axis=1), y)
    assert report["chosen"] == "fitted"
    assert abs(weights.weights[2]) < 0.05 < weights.weights[1] < weights.weights[0]
    oof = report["val_accuracy_out_of_fold"]
    assert oof["fitted"] > oof["mean"] + 0.05 and report["n_val"] == 3000 and report["folds"] == combine.FOLDS
    assert report["weights"] == pytest.approx(weights.weights.tolist(), abs=1e-6)
    assert combine.accuracy(weights.logit(np.stack([good, weak, noise], axis=1)), y) > 0.88


def test_the_mean_is_kept_when_the_fitted_weights_do_not_beat_it_out_of_fold():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    z = (2 * y - 1) * (1.0 + rng.random(len(y)))  # never near 0: no weighting or bias can move an answer
    z[rng.random(len(y)) < 0.2] *= -1  # 20 % wrong, whatever the weights
    weights, report = combine.fit(np.stack([z, z, z], axis=1), y)
    assert report["chosen"] == "mean" and report["weights"] == pytest.approx([1 / 3] * 3) and report["bias"] == 0
    assert weights.weights.tolist() == pytest.approx([1 / 3] * 3) and weights.bias == 0
    assert report["val_accuracy_out_of_fold"]["fitted"] == report["val_accuracy_out_of_fold"]["mean"]
    # too few rows of one label to fit and check weights: the mean, and why (never an error after training)
    few, report = combine.fit(np.ones((50, 2)), np.r_[np.ones(46), np.zeros(4)])
    assert report["chosen"] == "mean" and few.weights.tolist() == [0.5, 0.5] and "4 validation rows" in report["why"]


def test_a_weighted_ensemble_is_its_members_weighted_sum_and_its_mean_until_weighed():
    torch.manual_seed(0)
    specs = [NetSpec.from_config(Config(hidden=8, embed_dim=4), 30) for _ in range(3)]
    plain, weighted = build_model(specs), build_model(specs, weighted=True)
    weighted.load_state_dict({**plain.state_dict(), "weights": weighted.weights, "bias": weighted.bias})
    assert "weights" not in plain.state_dict()  # a mean ensemble's file is as before
    x = torch.randint(1, 30, (5, 12))
    torch.testing.assert_close(weighted(x), plain(x))  # 1/K each and no bias: the mean
    weighted.set_weights([0.5, -0.25, 2.0], 0.75)
    z = torch.stack([net(x) for net in plain.members()])
    want = 0.5 * z[0] - 0.25 * z[1] + 2.0 * z[2] + 0.75
    torch.testing.assert_close(weighted(x), want)
    ids = x.numpy()
    np.testing.assert_allclose(evaluate_logits(weighted, ids), want.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(member_logits(weighted, ids), z.detach().numpy(), atol=1e-6)
    assert weighted.member_weights() == [0.5, -0.25, 2.0] and plain.member_weights() == [1 / 3] * 3
    with pytest.raises(ValueError, match="weighted=True"):
        plain.set_weights([1, 1, 1], 0)


def test_combine_is_checked_in_the_config():
    with pytest.raises(KsentError, match="combine must be one of mean, fitted"):
        resolve("best", ["combine=vote"])
    with pytest.raises(KsentError, match="combine='fitted' weighs an ensemble's members, and this config trains one"):
        resolve("default", ["combine=fitted"])
    cfg = resolve("default", ["combine=fitted", 'views={"chargrams": {"members": 1}}'])
    assert cfg.n_members() == 2 and resolve("teacher").n_members() == 7


@pytest.fixture(scope="module")
def fitted(nsmc_dir, tmp_path_factory):
    """A small ensemble with fitted weights (two token members and a linear one), saved."""
    rows = read_labelled(nsmc_path("train", nsmc_dir)).head(1500)
    cfg = resolve(
        "best",
        ["members=2", "syllable_members=0", "piece_members=0", "epochs=1", "hidden=8", "embed_dim=8"]
        + ['views={"chargrams": {"members": 1}}', "combine=fitted", "born_again=0", "distill=0", "augment=0"],
    )
    clf = ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(rows)
    return clf, clf.save(tmp_path_factory.mktemp("가중") / "가중 앙상블")


def test_training_fits_the_weights_on_validation_and_the_folder_keeps_them(fitted):
    clf, folder = fitted
    report = clf.metrics_["training"]["combine"]
    assert report["chosen"] in ("fitted", "mean") and report["n_val"] == clf.metrics_["training"]["n_val"]
    assert clf.model_.member_weights() == pytest.approx(report["weights"], abs=1e-6)
    if report["chosen"] == "fitted":
        assert report["weights"] == report["fitted_weights"]
    state = load_file(folder / "model.safetensors")
    assert state["weights"].tolist() == pytest.approx(report["weights"], abs=1e-6)
    assert json.loads((folder / "config.json").read_text(encoding="utf-8"))["config"]["combine"] == "fitted"
    # the validation accuracy recorded is out of fold (the weights were fitted on those rows); in sample beside it
    y_val, p_val = clf.validation_
    assert report["val_accuracy_in_sample"] == pytest.approx(((p_val >= 0.5) == (y_val == 1)).mean())
    assert clf.metrics_["training"]["best_val_accuracy"] == report["val_accuracy_out_of_fold"][report["chosen"]]
    texts = ["연기도 좋고 스토리도 최고", "시간 아깝다 최악", "", "10점 만점에 1점"]
    loaded = ksent.load(folder, device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))


def test_other_weights_change_the_answers_and_explain_shows_each_members_weight(fitted, nsmc_dir):
    clf, folder = fitted
    texts = read_labelled(nsmc_path("test", nsmc_dir)).texts[:200]
    x = clf.encode(texts)
    z = member_logits(clf.model_, x)
    other = ksent.load(folder, device="cpu")
    other.model_.set_weights([2.0, -1.0, 0.5], 0.5)
    np.testing.assert_allclose(evaluate_logits(other.model_, x), 2.0 * z[0] - z[1] + 0.5 * z[2] + 0.5, atol=1e-5)
    ex = other.explain("연기도 좋고 스토리도 최고", member=1)
    assert ex.member_weight == -1.0 and ex.to_dict()["model"]["member_weight"] == -1.0
    assert ex.p_positive == pytest.approx(float(other.predict_proba(["연기도 좋고 스토리도 최고"])[0, 1]), abs=1e-6)
    from ksent.explain.views import _whose

    assert _whose(ex).endswith("weight -1.000")
    shown = _whose(clf.explain("연기도 좋고 스토리도 최고", member=0))  # the trained model's weights
    assert ("weight" in shown) == (clf.metrics_["training"]["combine"]["chosen"] == "fitted")


def test_a_fitted_folder_without_its_weights_is_refused(fitted, tmp_path):
    _, folder = fitted
    import shutil

    broken = tmp_path / "무게 없음"
    shutil.copytree(folder, broken)
    state = load_file(broken / "model.safetensors")
    del state["weights"]
    save_file(state, broken / "model.safetensors")
    with pytest.raises(KsentError, match="weights do not match config.json"):
        ksent.load(broken, device="cpu")
