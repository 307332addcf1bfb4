import math

import pytest
import torch

from ksent.config import PRESETS, Config, resolve
from ksent.errors import KsentError
from ksent.models import LSTMClassifier


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
    m = LSTMClassifier(5000, PRESETS["seed"])
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
    m = LSTMClassifier(50, cfg)
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
