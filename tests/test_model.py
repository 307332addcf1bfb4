import math

import pytest
import torch

from ksent.config import PRESETS, Config, resolve
from ksent.errors import KsentError
from ksent.models import LSTMClassifier, NetSpec


def test_seed_preset_is_the_seed():
    c = PRESETS["seed"]
    assert (c.tokenizer, c.max_len, c.embed_dim, c.hidden, c.num_layers, c.bidirectional) == (
        "okt",
        30,
        100,
        128,
        1,
        False,
    )
    assert (c.lr, c.adam_eps, c.batch_size, c.epochs, c.val_split, c.patience) == (1e-3, 1e-7, 64, 15, 0.2, 4)
    assert (c.min_count, c.oov, c.padding, c.truncating) == (3, False, "pre", "pre")


def test_keras_initialisation():
    torch.manual_seed(0)
    m = LSTMClassifier(NetSpec.from_config(PRESETS["seed"], 5000))
    assert m.embedding.weight.abs().max() <= 0.05
    w_ih, w_hh = m.lstm.weight_ih_l0, m.lstm.weight_hh_l0  # (512, 100), (512, 128)
    assert w_ih.abs().max() <= math.sqrt(6 / (100 + 512))  # Glorot-uniform limit of Keras' (100, 512) kernel
    assert torch.allclose(w_hh.T @ w_hh, torch.eye(128), atol=1e-5)  # orthogonal
    b = m.lstm.bias_ih_l0
    assert torch.equal(b[128:256], torch.ones(128)) and b[:128].abs().sum() == 0 and b[256:].abs().sum() == 0
    assert m.lstm.bias_hh_l0.abs().sum() == 0 and m.head.bias.abs().sum() == 0


@pytest.mark.parametrize("layers,bi", [(1, False), (2, False), (1, True), (2, True)])
def test_forward_shapes(layers, bi):
    cfg = Config(num_layers=layers, bidirectional=bi, hidden=16, embed_dim=8)
    m = LSTMClassifier(NetSpec.from_config(cfg, 50))
    assert m(torch.randint(0, 50, (3, 7))).shape == (3,)


def test_overrides_are_typed_and_checked():
    c = resolve("seed", ["epochs=3", "bidirectional=true", "lr=0.01", "stopwords=영화,정말"])
    assert (c.epochs, c.bidirectional, c.lr, c.stopwords, c.name) == (3, True, 0.01, ["영화", "정말"], "seed")
    assert PRESETS["seed"].epochs == 15  # presets are not mutated
    with pytest.raises(KsentError, match="expected a value of type int"):
        resolve("seed", ["epochs=many"])
    with pytest.raises(KsentError, match="KEY=VALUE"):
        resolve("seed", ["nosuchkey=1"])
    with pytest.raises(KsentError, match="val_split"):
        resolve("seed", ["val_split=1.5"])
    with pytest.raises(KsentError, match="neither a preset"):
        resolve("nosuch")


def test_models_are_built_from_the_config_in_one_place():
    from ksent.models import build_model

    m = build_model([NetSpec.from_config(Config(hidden=8, embed_dim=4), 30)])
    assert isinstance(m, LSTMClassifier) and m.members() == [m]
    with pytest.raises(KsentError, match="architecture must be one of"):
        resolve("default", ["architecture=transformer"])
    with pytest.raises(KsentError, match="readout must be one of"):
        resolve("default", ["readout=attention"])


@pytest.mark.parametrize("readout", ["last", "mean", "max", "max_mean"])
@pytest.mark.parametrize("bi", [False, True])
def test_readouts(readout, bi):
    """Pooled readouts pool over the steps that hold real tokens only; "last" is Keras' last state."""
    torch.manual_seed(0)
    cfg = Config(hidden=6, embed_dim=4, bidirectional=bi, readout=readout)
    m = LSTMClassifier(NetSpec.from_config(cfg, 20)).eval()
    d = 2 if bi else 1
    assert len(m.feature_units()) == m.head.in_features == 6 * d * (2 if readout == "max_mean" else 1)
    ids = torch.tensor([[0, 0, 0, 5, 7, 9], [3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        out, _ = m.lstm(m.embed(ids))
        feats = m.readout(out, ids)
        assert torch.allclose(m(ids), m.logit(feats))
        real = out[0, 3:]  # the first row's three real steps
        if readout == "mean":
            assert torch.allclose(feats[0], real.mean(0), atol=1e-6)
        if readout == "max":
            assert torch.allclose(feats[0], real.amax(0), atol=1e-6)
            assert torch.equal(feats[2], torch.zeros_like(feats[2]))  # all padding: no evidence, zeros
        if readout == "max_mean":
            assert torch.allclose(feats[0], torch.cat([real.amax(0), real.mean(0)]), atol=1e-6)
        if readout == "last":
            h = cfg.hidden
            assert torch.allclose(feats[:, :h], out[:, -1, :h])
            if bi:
                assert torch.allclose(feats[:, h:], out[:, 0, h:])
