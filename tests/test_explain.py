"""`ksent explain`: the stepwise LSTM equals nn.LSTM, explain reads exactly what the model reads,
works through the model interface for every variant and an ensemble, and the evidence does what it claims."""

import doctest
import io
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import ksent
from ksent import explain as explain_module
from ksent.cli import app
from ksent.config import READOUTS, Config
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError
from ksent.explain import SIGNALS, explain_review, lstm_steps, plot, table
from ksent.explain import steps as steps_module
from ksent.explain.views import PER_ROW
from ksent.features import FeatureSet, Run
from ksent.features import tokens as tokens_module
from ksent.features.tokens import STATUS
from ksent.models import LSTMClassifier, NetSpec
from ksent.text.tokenizers import provenance
from ksent.text.vocab import OOV_TOKEN, Vocab, pad_sequences
from ksent.train import fit, single

N_EXPLAIN = 150
VARIANTS = [(1, False), (2, False), (1, True), (2, True)]  # (num_layers, bidirectional): all ksent can train
runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Small batches throughout: one thread is as fast, and far faster when the machine is busy.
    (The test sets this for itself; ksent.explain never touches process-wide thread settings.)"""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def test_texts(nsmc_dir):
    return read_labelled(nsmc_path("test", nsmc_dir)).head(1000).texts


@pytest.fixture(scope="module")
def explained(trained, test_texts):
    """Explanations of NSMC test reviews that give the model at least two tokens."""
    clf, _ = trained
    out = []
    for text in test_texts[:N_EXPLAIN]:
        try:
            out.append(clf.explain(text))
        except KsentError:  # no token reaches the model (e.g. a review of only digits)
            continue
    return [ex for ex in out if len(ex.fed) >= 2]


def net(vocab_size: int, cfg: Config) -> LSTMClassifier:
    return LSTMClassifier(NetSpec.from_config(cfg, vocab_size))


def reading(cfg: Config, vocab: Vocab) -> FeatureSet:
    """The feature set of a token-only model over `vocab`."""
    features = FeatureSet.from_config(cfg)
    features.tokens.vocab = vocab
    return features


def model_tokens(texts: list[str], cfg: Config) -> list[list[str]]:
    return FeatureSet.from_config(cfg).tokens.read(texts, Run())


def p_pos(model: nn.Module, ids: list[list[int]], cfg: Config) -> np.ndarray:
    """P(positive) straight from the model: independent of ksent.explain."""
    x = torch.from_numpy(pad_sequences(ids, cfg.max_len, cfg.padding, cfg.truncating))
    with torch.no_grad():
        return torch.sigmoid(model(x).double()).numpy()


def randomise(model: nn.Module, std: float = 0.3) -> nn.Module:
    """Random weights and biases: gates far from 0.5, members that differ."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, std)
    return model.eval()


# --- the stepwise LSTM reproduces nn.LSTM -------------------------------------------------------


@torch.no_grad()
def max_diff(trace, lstm, x) -> float:
    """Largest difference between the numpy trace and nn.LSTM's own (fused) outputs."""
    out, (h_n, c_n) = lstm(x)
    pairs = ((trace.output, out), (trace.h_n, h_n), (trace.c_n, c_n))
    return max(float(np.abs(a - b.numpy()).max()) for a, b in pairs)


@pytest.mark.parametrize("layers,bi", VARIANTS)
def test_stepwise_equals_nn_lstm_random_weights(layers, bi):
    torch.manual_seed(layers * 10 + bi)
    cfg = Config(num_layers=layers, bidirectional=bi, dropout=0.3)  # dropout acts only in training
    model = randomise(net(500, cfg))
    x = model.embed(torch.randint(0, 500, (4, cfg.max_len)))  # (B, T, E), ksent's real sizes
    trace = lstm_steps(model.lstm, x)
    assert tuple(trace.cell.shape) == (layers, 2 if bi else 1, 4, cfg.max_len, cfg.hidden)
    # these random weights drive cells to |c| ~ 9, where float32 itself (nn.LSTM's) is off by ~1e-5:
    # the bound is relative to the largest cell
    assert max_diff(trace, model.lstm, x) <= 1e-5 * max(1.0, float(np.abs(trace.cell).max()))
    # the equations the trace claims, checked on its own values (backward: the previous step is t + 1)
    zero = np.zeros_like(trace.cell[:, :1, :, :1])
    c_prev = np.concatenate([zero, trace.cell[:, :1, :, :-1]], axis=3)
    if bi:
        c_prev = np.concatenate([c_prev, np.concatenate([trace.cell[:, 1:, :, 1:], zero], axis=3)], axis=1)
    c = trace.forget_gate * c_prev + trace.input_gate * trace.candidate
    np.testing.assert_allclose(c, trace.cell, atol=1e-6)
    np.testing.assert_allclose(trace.output_gate * np.tanh(trace.cell), trace.hidden, atol=1e-6)
    assert trace.input_gate.min() >= 0 and trace.forget_gate.max() <= 1 and np.abs(trace.candidate).max() <= 1


def test_stepwise_handles_time_major_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, num_layers=2, bidirectional=True)  # batch_first=False
    x = torch.randn(7, 3, 6)  # (T, B, E)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x)
    trace = lstm_steps(lstm, x)
    assert np.abs(trace.output - out.transpose(0, 1).numpy()).max() <= 1e-5  # the trace is always batch-first
    assert np.abs(trace.h_n - h_n.numpy()).max() <= 1e-5 and np.abs(trace.c_n - c_n.numpy()).max() <= 1e-5


def test_stepwise_equals_trained_model(trained, test_texts):
    clf, _ = trained
    ids = torch.from_numpy(clf.encode(test_texts[:300]))
    (member,) = clf.model_.members()
    with torch.no_grad():
        x = member.embed(ids)
        trace = lstm_steps(member.lstm, x)
        assert max_diff(trace, member.lstm, x) <= 1e-5
        logits = member.head(torch.from_numpy(trace.output[:, -1]).float()).squeeze(
            -1
        )  # the default readout: the last step
        assert (logits - clf.model_(ids)).abs().max() <= 1e-5


@pytest.fixture(scope="module")
def variant_data(trained, nsmc_dir):
    clf, _ = trained
    rows = read_labelled(nsmc_path("train", nsmc_dir)).head(1200)
    return clf.encode(rows.texts), np.asarray(rows.labels), len(clf.vocab_)


@pytest.mark.parametrize("layers,bi", VARIANTS[1:])  # (1, uni) is the `trained` model above
def test_stepwise_equals_trained_variants(layers, bi, variant_data):
    x_ids, y, vocab_size = variant_data
    cfg = Config(num_layers=layers, bidirectional=bi, hidden=32, embed_dim=16, epochs=1, dropout=0.2)
    model, _ = fit(cfg, x_ids, y, single(cfg, vocab_size), "cpu", progress=False)
    model.eval()
    ids = torch.from_numpy(x_ids[:200])
    with torch.no_grad():
        x = model.embed(ids)
        trace = lstm_steps(model.lstm, x)
        assert max_diff(trace, model.lstm, x) <= 1e-5
        h = cfg.hidden
        out = torch.from_numpy(trace.output).float()
        last = torch.cat([out[:, -1, :h], out[:, 0, h:]], -1) if bi else out[:, -1]
        assert (model.head(last).squeeze(-1) - model(ids)).abs().max() <= 1e-5


# --- every model shape, through the model interface ---------------------------------------------


@pytest.fixture(scope="module")
def small_vocab(nsmc_dir):
    """A vocabulary of real NSMC tokens, and reviews with several of them: for untrained variant models."""
    cfg = Config()
    train = read_labelled(nsmc_path("train", nsmc_dir)).head(400).texts
    vocab = Vocab.fit(model_tokens(train, cfg), min_count=2, oov=True)
    reviews = [t for t in read_labelled(nsmc_path("test", nsmc_dir)).head(40).texts if len(t) > 25][:4]
    return vocab, reviews


def expected_features(ex, lstm_out: torch.Tensor, ids: np.ndarray) -> np.ndarray:
    """Each feature recomputed from nn.LSTM's own output and `feature_units`' description of it."""
    H = ex.cell.shape[-1]
    out = lstm_out[0].numpy()  # (T, D*H)
    real = ids != 0
    values = []
    for part, d, u in ex.feature_units:
        column = out[:, d * H + u]
        if part == "last":
            values.append(column[-1] if d == 0 else column[0])  # forward ends at T-1, backward at 0
        elif part == "mean":
            values.append(column[real].mean())
        else:
            values.append(column[real].max())
    return np.array(values)


@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("layers,bi", VARIANTS)
def test_explain_every_variant_and_readout(layers, bi, readout, small_vocab):
    vocab, reviews = small_vocab
    cfg = Config(num_layers=layers, bidirectional=bi, readout=readout, hidden=16, embed_dim=8)
    torch.manual_seed(100 * layers + 10 * bi + READOUTS.index(readout))
    model = randomise(net(len(vocab), cfg))
    for text in reviews:
        ex = explain_review(model, reading(cfg, vocab), cfg, text)
        # what the model reads, computed without ksent.explain
        ids = pad_sequences([vocab.encode(model_tokens([text], cfg)[0])], cfg.max_len, cfg.padding, cfg.truncating)
        x = torch.from_numpy(ids)
        with torch.no_grad():
            logit = float(model(x)[0])
            out, (h_n, c_n) = model.lstm(model.embed(x))
        assert abs(ex.member_logit - logit) <= 1e-5  # contributions.sum() + bias is the model's logit
        assert abs(ex.p_positive - 1 / (1 + np.exp(-logit))) <= 1e-6
        # the trace is nn.LSTM's computation: top-layer outputs and every layer's final cell state
        D, T = 2 if bi else 1, cfg.max_len
        assert ex.cell.shape == (layers, D, T, cfg.hidden) and ex.directions == ("forward", "backward")[:D]
        np.testing.assert_allclose(np.concatenate(list(ex.hidden[-1]), axis=-1), out[0].numpy(), atol=1e-5)
        ends = np.stack([ex.cell[lyr, d, -1 if d == 0 else 0] for lyr in range(layers) for d in range(D)])
        np.testing.assert_allclose(ends, c_n[:, 0].numpy(), atol=1e-5)
        # the head's features, unit by unit, and their shares of the logit
        assert len(ex.feature_units) == len(ex.features) == len(ex.contributions) == model.head.in_features
        assert ex.readout == readout
        np.testing.assert_allclose(ex.features, expected_features(ex, out, ids[0]), atol=1e-5)
        np.testing.assert_allclose(ex.contributions, model.head.weight[0].detach().numpy() * ex.features, atol=1e-6)
        d = ex.to_dict()
        assert d["model"]["readout"] == d["head"]["readout"] == readout and d["model"]["members"] == 1
        assert len(d["head"]["unit_contributions"]) == len(d["head"]["feature_units"]) == len(ex.features)
        assert abs(sum(d["head"]["unit_contributions"]) + d["head"]["bias"] - d["head"]["logit"]) < 1e-4


def test_explain_post_padding_and_truncation(small_vocab):
    vocab, reviews = small_vocab
    shape = dict(num_layers=2, bidirectional=True, readout="max_mean", hidden=8, embed_dim=8)
    cfg = Config(max_len=6, padding="post", truncating="post", **shape)
    torch.manual_seed(3)
    model = randomise(net(len(vocab), cfg))
    for text in reviews + ["영화 최고"]:
        ex = explain_review(model, reading(cfg, vocab), cfg, text)
        ids = vocab.encode(model_tokens([text], cfg)[0])
        assert [t.id for t in ex.fed] == ids[: cfg.max_len]  # truncating='post' keeps the first ones
        assert [t.step for t in ex.fed] == list(range(len(ex.fed)))  # padding='post': tokens first
        assert abs(ex.p_positive - p_pos(model, [ids], cfg)[0]) < 1e-6
        x = torch.from_numpy(pad_sequences([ids], cfg.max_len, cfg.padding, cfg.truncating))
        with torch.no_grad():
            assert abs(ex.member_logit - float(model(x)[0])) <= 1e-5


class TwoLSTMs(nn.Module):
    """A test ensemble: the mean logit of two differently shaped LSTM classifiers."""

    def __init__(self, vocab_size: int, cfgs: list[Config]):
        super().__init__()
        self.parts = nn.ModuleList(net(vocab_size, c) for c in cfgs)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(ids) for m in self.parts]).mean(dim=0)

    def members(self) -> list[LSTMClassifier]:
        return list(self.parts)


def test_explain_an_ensemble(small_vocab, hangul_root):
    vocab, reviews = small_vocab
    cfgs = [
        Config(hidden=16, embed_dim=8),
        Config(num_layers=2, bidirectional=True, readout="max_mean", hidden=12, embed_dim=8),
    ]
    torch.manual_seed(7)
    model = randomise(TwoLSTMs(len(vocab), cfgs))
    cfg = cfgs[0]  # the pipeline's settings (tokenizer, max_len, padding) are shared by the members
    text = reviews[0]
    ids = vocab.encode(model_tokens([text], cfg)[0])
    assert len(ids) <= cfg.max_len  # no truncation: deleting a token below is deleting it from what is read
    x = torch.from_numpy(pad_sequences([ids], cfg.max_len, cfg.padding, cfg.truncating))
    with torch.no_grad():
        member_logits = [float(m(x)[0]) for m in model.members()]
    shown = [explain_review(model, reading(cfg, vocab), cfg, text, member=k) for k in (0, 1)]
    for k, (ex, mcfg, net) in enumerate(zip(shown, cfgs, model.members(), strict=True)):
        assert (ex.member, ex.n_members) == (k, 2)
        # P and evidence are the ensemble's, the same whichever member is shown
        assert abs(ex.p_positive - p_pos(model, [ids], cfg)[0]) < 1e-6
        fed = ex.fed
        full = p_pos(model, [ids], cfg)[0]
        for j, t in enumerate(fed):
            without = p_pos(model, [ids[:j] + ids[j + 1 :]], cfg)[0]
            assert abs(t.evidence - (full - without) * (1 if ex.label else -1)) < 1e-6
        assert [t.evidence for t in fed] == [t.evidence for t in shown[0].fed]
        # gates, trace and head are the chosen member's
        D = 2 if mcfg.bidirectional else 1
        assert ex.cell.shape == (mcfg.num_layers, D, cfg.max_len, mcfg.hidden) and ex.readout == mcfg.readout
        trace = lstm_steps(net.lstm, net.embed(x))
        np.testing.assert_allclose(ex.forget_gate, trace.forget_gate[:, :, 0], atol=1e-6)
        assert abs(ex.member_logit - member_logits[k]) <= 1e-5
        d = ex.to_dict()
        assert (d["model"]["members"], d["model"]["member"]) == (2, k) and d["head"]["readout"] == mcfg.readout
        assert "ensemble member" in table(ex).caption
        assert plot(ex, hangul_root / f"앙상블 {k}.png").read_bytes()[:4] == b"\x89PNG"
    ensemble_logit = np.log(shown[0].p_positive / (1 - shown[0].p_positive))
    assert abs(np.mean([ex.member_logit for ex in shown]) - ensemble_logit) < 1e-4  # the mean of the members
    with pytest.raises(KsentError, match="no member 2"):
        explain_review(model, reading(cfg, vocab), cfg, text, member=2)


def test_explain_sets_no_process_wide_thread_count(small_vocab, monkeypatch):
    """Concurrent callers in one process must not race on torch's thread settings: explain leaves them alone."""
    vocab, reviews = small_vocab
    cfg = Config(bidirectional=True, hidden=8, embed_dim=8)
    model = randomise(net(len(vocab), cfg))
    before = torch.get_num_threads()

    def refuse(*args):
        raise AssertionError("ksent.explain changed a process-wide thread setting")

    monkeypatch.setattr(torch, "set_num_threads", refuse)
    monkeypatch.setattr(torch, "set_num_interop_threads", refuse)
    ex = explain_review(model, reading(cfg, vocab), cfg, reviews[0])
    assert ex.fed and torch.get_num_threads() == before


# --- the explanation agrees with the pipeline ---------------------------------------------------


def test_explanation_agrees_with_predict_and_tokens(trained, explained):
    clf, _ = trained
    cfg = clf.config_
    assert len(explained) > 100
    texts = [ex.text for ex in explained]
    np.testing.assert_allclose([ex.p_positive for ex in explained], clf.predict_proba(texts)[:, 1], atol=1e-6)
    pipeline_tokens = clf.tokens(texts)
    encoded = clf.encode(texts)
    for ex, toks, row in zip(explained, pipeline_tokens, encoded, strict=True):
        assert [t.text for t in ex.tokens if t.status != "stopword"] == toks, ex.text
        assert all(t.status in STATUS for t in ex.tokens)
        # the fed tokens, in step order, are the pipeline's tokens after the vocabulary and truncation
        known = [w for w, i in zip(toks, clf.vocab_.lookup(toks), strict=True) if i is not None]
        assert [t.text for t in ex.fed] == known[-cfg.max_len :]
        assert [t.id for t in ex.fed] == clf.vocab_.encode(toks)[-cfg.max_len :]
        assert ex.padding_steps == cfg.max_len - len(ex.fed)
        assert [t.step for t in ex.fed] == list(range(ex.padding_steps, cfg.max_len))
        assert row[[t.step for t in ex.fed]].tolist() == [t.id for t in ex.fed] and not row[: ex.padding_steps].any()


def choseong(ch: str) -> int | None:
    """The initial consonant of a Hangul syllable (None for anything else)."""
    return (ord(ch) - 0xAC00) // 588 if "가" <= ch <= "힣" else None


def test_spans_point_into_the_original_text(explained):
    """Spans are in the user's text, in order, on the characters the token came from. Kiwi's forms are not
    always its surfaces (lemmas: 재밌 -> 재밌다; contractions: 줬 -> 주 + 었, both on 줬), so: the surface is the
    form, or starts with the same initial consonant, or shares the previous token's syllable."""
    n = agree = n_tokens = 0
    for ex in explained:
        prev_end = -1
        spans = [t for t in ex.tokens if t.start is not None]  # Kiwi's zero-length tokens have none
        n_tokens += len(ex.tokens)
        assert [t.start for t in spans] == sorted(t.start for t in spans), ex.text
        for t in spans:
            surface = ex.text[t.start : t.end]
            assert 0 <= t.start < t.end <= len(ex.text) and surface.strip()
            assert choseong(surface[0]) is not None or "ㄱ" <= surface[0] <= "ㅣ", surface  # cleaning keeps Hangul
            n += 1
            same_sound = choseong(surface[0]) is not None and choseong(surface[0]) == choseong(t.text[0])
            agree += surface == t.text or same_sound or t.start < prev_end
            prev_end = max(prev_end, t.end)
    assert n > 1000 and n >= 0.97 * n_tokens and agree >= 0.99 * n, (agree, n, n_tokens)


def test_explain_analyses_the_review_once(trained, monkeypatch):
    """The tokens come from one run of the pipeline's analyser, not from a second analysis of explain's own."""
    clf, _ = trained
    calls = []
    real = tokens_module.tokenize

    def counting(texts, *args, **kwargs):
        calls.append((list(texts), kwargs.get("spans")))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(tokens_module, "tokenize", counting)
    clf.explain("배우들 연기는 최고였다. 근데 스토리가 너무 지루하다")
    assert len(calls) == 1 and calls[0][1] is True


def test_explanation_trace_is_the_models_computation(trained, explained):
    clf, _ = trained
    ex = explained[0]
    L, D, T, H = ex.cell.shape
    assert (L, D, T, H) == (1, 1, clf.config_.max_len, clf.config_.hidden)
    assert all(getattr(ex, s).shape == (L, D, T, H) for s in SIGNALS)
    c_prev = np.concatenate([np.zeros((L, D, 1, H), np.float32), ex.cell[:, :, :-1]], axis=2)
    np.testing.assert_allclose(ex.forget_gate * c_prev + ex.input_gate * ex.candidate, ex.cell, atol=1e-6)
    np.testing.assert_allclose(ex.features, ex.hidden[-1, 0, -1], atol=1e-6)  # readout "last": the final state
    assert abs(1 / (1 + np.exp(-ex.member_logit)) - ex.p_positive) < 1e-5


def test_spans_statuses_and_truncation(trained):
    clf, _ = trained
    text = "이 영화 10점!! 진짜 재밌었다 ㅋㅋ BUT 결말은 별로"
    got = [(t.form, text[t.start : t.end] if t.start is not None else None) for t in clf.features_.tokens.units(text)]
    assert ("영화", "영화") in got and ("재밌다", "재밌") in got and ("결말", "결말") in got and ("점", "점") in got
    ex = clf.explain(text)
    by_text = {t.text: t for t in ex.tokens}
    assert by_text["이"].status == "stopword" and by_text["이"].evidence is None and by_text["이"].step is None
    assert by_text["영화"].status == "input" and (by_text["영화"].start, by_text["영화"].end) == (2, 4)
    assert by_text["재밌다"].start == text.index("재밌")
    assert all(t.evidence is None for t in ex.tokens if t.step is None)

    oov = clf.explain("뷁뷁뷁쀍 영화 최고")
    assert "oov" in {t.status for t in oov.tokens} and all(t.id == 1 for t in oov.tokens if t.status == "oov")

    long = " ".join(["영화"] * 10 + ["정말", "재밌다", "배우"] * 10)  # more than max_len tokens
    ex = clf.explain(long)
    assert len(ex.fed) == clf.config_.max_len and ex.padding_steps == 0
    assert [t.status for t in ex.tokens[:10]] == ["truncated"] * 10  # truncating='pre' drops the front
    assert abs(ex.p_positive - clf.predict_proba([long])[0, 1]) < 1e-6


def test_user_mistakes_raise_ksent_error(trained):
    clf, _ = trained
    with pytest.raises(KsentError, match="review is empty"):
        clf.explain("   ")
    with pytest.raises(KsentError, match="no token .* reaches the model"):
        clf.explain("!!! 123")
    with pytest.raises(KsentError, match="as a str"):
        clf.explain(["좋다"])
    with pytest.raises(KsentError, match="no member 1"):
        clf.explain("좋다", member=1)
    with pytest.raises(KsentError, match="not trained yet"):
        ksent.SentimentClassifier().explain("좋다")


# --- the evidence does what it claims -----------------------------------------------------------


def test_deleting_the_top_evidence_token_lowers_the_predicted_probability(trained, explained):
    """Checked with the pipeline's own tokens and the model directly, not through ksent.explain."""
    clf, _ = trained
    checked = {0: 0, 1: 0}
    pipeline_tokens = clf.tokens([ex.text for ex in explained])
    for ex, toks in zip(explained, pipeline_tokens, strict=True):
        top = max(ex.fed, key=lambda t: t.evidence)
        if top.evidence <= 0:
            continue  # no token supports the prediction; nothing to delete
        ids = clf.vocab_.encode(toks)  # all of them: deleting one lets a truncated one back in
        k = len(ids) - len(ex.fed) + ex.fed.index(top)
        full, without = p_pos(clf.model_, [ids, ids[:k] + ids[k + 1 :]], clf.config_)
        if ex.label == 1:
            assert without < full, ex.text  # deleting the best evidence for 'positive' lowers P(positive)
        else:
            assert without > full, ex.text  # ... and for 'negative' raises it
        assert abs((full - without) * (1 if ex.label else -1) - top.evidence) < 1e-6
        checked[ex.label] += 1
    assert checked[0] > 30 and checked[1] > 30, checked


def test_deleting_the_token_from_the_text_itself(trained, explained):
    """Cut the top token's characters out of the review: where the analyser then sees the same tokens
    minus that one, predict() on the cut text gives exactly `p_positive_without`, and P(predicted) drops."""
    clf, _ = trained
    cases = []
    for ex in explained:
        top = max(ex.fed, key=lambda t: t.evidence)
        if top.evidence > 0 and top.start is not None:
            cases.append((ex, top, ex.text[: top.start] + ex.text[top.end :]))
    cut_tokens = clf.tokens([cut for _, _, cut in cases])
    same = []
    for (ex, top, cut), toks in zip(cases, cut_tokens, strict=True):
        if toks == [t.text for t in ex.tokens if t.status != "stopword" and t is not top]:
            same.append((ex, top, cut))
    assert len(same) >= 40, len(same)
    p_cut = clf.predict_proba([cut for _, _, cut in same])[:, 1]
    for (ex, top, cut), p in zip(same, p_cut, strict=True):
        assert abs(p - top.p_positive_without) < 1e-6, cut
        assert (ex.p_positive - p) * (1 if ex.label else -1) > 0, cut


def test_evidence_ranks_tokens_better_than_chance(trained, explained):
    """Deleting the 3 tokens with the most evidence, together, moves P(predicted) more than 3 random ones."""
    clf, _ = trained
    rng = np.random.default_rng(0)
    drop_top, drop_random = [], []
    for ex in explained:
        if len(ex.fed) < 6:
            continue
        ids = [t.id for t in ex.fed]
        order = np.argsort([-t.evidence for t in ex.fed])
        rand = rng.choice(len(ids), 3, replace=False)
        variants = [ids] + [[i for k, i in enumerate(ids) if k not in set(sel[:3])] for sel in (order, rand)]
        full, top, random = p_pos(clf.model_, variants, clf.config_) * (1 if ex.label else -1)
        drop_top.append(full - top)
        drop_random.append(full - random)
    assert len(drop_top) >= 30
    assert np.mean(drop_top) > 2 * np.mean(drop_random) and np.mean(drop_top) > 0.2, (
        np.mean(drop_top),
        np.mean(drop_random),
    )


# --- views: JSON, table, heatmap; the CLI ---------------------------------------------------------


def test_cli_explain_table_json_png(trained, hangul_root):
    _, out = trained
    text = "배우들 연기는 최고였다. 근데 스토리가 너무 지루하다"
    r = runner.invoke(app, ["explain", "-m", str(out), text])
    assert r.exit_code == 0, r.output
    assert "P(positive)" in r.stdout and "지루하다" in r.stdout and "padding steps" in r.stdout
    png = hangul_root / "그림" / "설명.png"
    r = runner.invoke(app, ["explain", "-m", str(out), "--json", "--png", str(png), text])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert "지루하다" in r.stdout  # ensure_ascii=False: Hangul as is
    assert d["text"] == text and d["sentiment"] in ("negative", "positive") and 0 <= d["p_positive"] <= 1
    assert d["trace"]["axes"] == ["layer", "direction", "step", "unit"]
    assert np.asarray(d["trace"]["forget_gate"]).shape == (1, 1, 30, 128)
    fed = [t for t in d["tokens"] if t["step"] is not None]
    assert d["padding_steps"] == 30 - len(fed) and all(d["trace"]["steps"][t["step"]] == t["text"] for t in fed)
    assert set(fed[0]["gates"]["forward"]) == {
        "input_gate_mean",
        "forget_gate_mean",
        "output_gate_mean",
        "cell_norm",
        "hidden_norm",
    }
    assert all(text[t["start"] : t["end"]] == t["surface"] for t in d["tokens"] if t["start"] is not None)
    assert (d["model"]["readout"], d["model"]["members"], d["model"]["member"]) == ("last", 1, 0)
    assert d["head"]["feature_units"][:2] == [["last", "forward", 0], ["last", "forward", 1]]
    assert len(d["head"]["features"]) == len(d["head"]["unit_contributions"]) == 128
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_cli_explain_errors_are_one_line(trained):
    _, out = trained
    r = subprocess.run([sys.executable, "-m", "ksent", "explain", "-m", str(out), ""], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: nothing to explain") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_seed_config_with_okt(hangul_root, nsmc_dir):
    """An Okt (`seed` config) model, untrained weights: spans from Okt, unknown words dropped (no OOV id)."""
    pytest.importorskip("konlpy")
    texts = read_labelled(nsmc_path("train", nsmc_dir)).head(150).texts
    clf = ksent.SentimentClassifier("seed", device="cpu", cache=False)
    clf.config_ = cfg = clf._config()
    clf.features_ = reading(cfg, Vocab.fit(clf.tokens(texts), min_count=2, oov=False))
    torch.manual_seed(0)
    clf.model_ = net(len(clf.vocab_), cfg).eval()
    clf.metrics_, clf.tokenizer_ = {}, provenance(cfg.tokenizer)
    out = clf.save(hangul_root / "seed 모델")
    text = "아 더빙.. 진짜 짜증나네요 목소리 뷁뷁"
    ex = ksent.load(out, device="cpu").explain(text)
    assert [t.text for t in ex.tokens if t.status != "stopword"] == clf.tokens([text])[0]
    assert abs(ex.p_positive - clf.predict_proba([text])[0, 1]) < 1e-6
    surface = {t.text: text[t.start : t.end] for t in ex.tokens if t.start is not None}
    assert surface["짜증나다"] == "짜증나네요" and surface["더빙"] == "더빙"
    assert "unknown" in {t.status for t in ex.tokens} and "oov" not in {t.status for t in ex.tokens}
    r = runner.invoke(app, ["explain", "-m", str(out), "--json", text])
    assert r.exit_code == 0 and json.loads(r.stdout)["model"]["tokenizer"] == "okt"


def test_heatmap_for_stacked_bidirectional(hangul_root):
    torch.manual_seed(0)
    cfg = Config(num_layers=2, bidirectional=True, hidden=16, embed_dim=8)
    vocab = Vocab([OOV_TOKEN, "영화", "최고", "지루", "배우"], oov=True)
    model = net(len(vocab), cfg).eval()
    ex = explain_module.explain_review(model, reading(cfg, vocab), cfg, "영화 최고 근데 배우 지루하다")
    assert ex.directions == ("forward", "backward") and ex.cell.shape == (2, 2, 30, 16)
    assert set(ex.summary()[0]) == {"forward", "backward"} and set(ex.padding_state()) == {"forward", "backward"}
    d = ex.to_dict()
    assert np.asarray(d["trace"]["hidden"]).shape == (2, 2, 30, 16) and len(d["head"]["unit_contributions"]) == 32
    assert [t.status for t in ex.fed] == ["input", "input", "oov", "input", "input", "oov", "oov"]
    text = table(ex)
    assert [c.header for c in text.columns][-4:] == ["i", "f", "o", "|c|"]  # one set: a line per direction
    assert "hands the head" in text.caption  # the "last" readout reads the backward state after the padding
    assert "right-to-left" in text.caption
    cells = [[str(c) for c in col._cells] for col in text.columns]
    rows = list(zip(*cells, strict=True))
    assert len(rows) == 2 * len(ex.fed) + sum(t.step is None for t in ex.tokens)
    summary, lines, k = ex.summary(), iter(rows), 0
    for t in ex.tokens:  # each fed token: its forward line, then its backward line
        forward = next(lines)
        assert forward[0].startswith(t.text)
        if t.step is None:
            continue
        backward = next(lines)
        assert forward[3].endswith("→") and backward[:4] == ("", "", "", "←")
        k += 1
        for line, d in ((forward, "forward"), (backward, "backward")):
            want = [
                summary[k - 1][d][g] for g in ("input_gate_mean", "forget_gate_mean", "output_gate_mean", "cell_norm")
            ]
            assert [float(v) for v in line[4:]] == pytest.approx(want, abs=0.006)
    from rich.console import Console

    console = Console(width=80, record=True, file=io.StringIO())
    console.print(text)
    assert "…" not in console.export_text()  # fits an 80-column terminal: nothing cut
    path = plot(ex, hangul_root / "양방향.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_heatmap_rows_name_pooled_features(hangul_root):
    """max_mean: two features can read one unit; the heatmap's rows say which part each is, and the
    values drawn are that unit's cell state."""
    torch.manual_seed(1)
    cfg = Config(num_layers=2, bidirectional=True, readout="max_mean", hidden=4, embed_dim=8)
    vocab = Vocab([OOV_TOKEN, "영화", "최고", "지루", "배우"], oov=True)
    model = randomise(net(len(vocab), cfg))
    ex = explain_review(model, reading(cfg, vocab), cfg, "영화 최고 근데 배우 지루하다")
    assert "hands the head" not in table(ex).caption  # pooled readouts leave the padding out
    fig_rows = []
    from ksent import plots

    real_save = plots.save_png

    def keep(fig, path, **kw):
        fig_rows.append([t.get_text() for t in fig.axes[4].get_yticklabels()])  # the fifth panel (colorbars follow)
        return real_save(fig, path, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "save_png", keep)
        plot(ex, hangul_root / "풀링.png", units=16)
    rows = fig_rows[0]
    assert len(rows) == 16 and all(r.startswith(("max of unit", "mean of unit")) for r in rows)
    assert {r.split(":")[0].split(" of ", 1)[1] for r in rows} == {
        f"unit {u} ({d})" for d in ("forward", "backward") for u in range(4)
    }


def test_docstring_examples():
    for module in (explain_module, steps_module):
        assert doctest.testmod(module).failed == 0


def test_explain_a_packed_ensemble_of_the_best_preset(small_vocab, tmp_path):
    """`best` builds a packed Ensemble (token members, a syllable member and a piece member): explain
    shows every member, each per the units it reads (tokens, characters, pieces), reads the real
    units only (no padding steps), each member's trace and head reproduce that member's own logit,
    and the evidence is the whole model's (syllables and pieces included)."""
    from ksent.config import resolve
    from ksent.explain import plot, table
    from ksent.models import Ensemble, build_model
    from ksent.train import members_of

    _, reviews = small_vocab
    cfg = resolve("best", ["hidden=8", "embed_dim=8"])
    features = FeatureSet.from_config(cfg)
    features.fit(reviews * 2)  # best's min_count is 2: every token and character of the reviews
    torch.manual_seed(11)
    model = randomise(build_model([m.spec for m in members_of(cfg, features)]))
    kinds = [net.reads for net in model.members()]
    # `best`'s LSTMs and its born-again token member (its linear views only teach: not in the model)
    expected = ["tokens"] * cfg.members + ["syllables", "pieces"] + ["tokens"] * cfg.born_again
    assert isinstance(model, Ensemble) and kinds == expected and cfg.born_again == 1
    text = reviews[1]
    x = torch.from_numpy(features.encode([text]))
    with torch.no_grad():
        p_model = float(torch.sigmoid(model(x))[0])
    for k, net in enumerate(model.members()):
        ex = explain_review(model, features, cfg, text, member=k)
        own = x[:, net.columns]
        n = int((own != 0).sum())  # post-padded: the member's real units first
        assert (
            ex.reads == net.reads
            and ex.unit == {"tokens": "token", "syllables": "character", "pieces": "piece"}[net.reads]
        )
        assert ex.padding_steps == 0 and ex.cell.shape[2] == n == len(ex.fed)
        assert [t.id for t in ex.fed] == own[0, :n].tolist()  # the units shown are the ids the member reads
        for t in ex.fed:  # each unit is where it says in the review
            assert t.start is not None and text[t.start : t.end]
        with torch.no_grad():
            assert abs(ex.member_logit - float(net(own)[0])) <= 1e-5
            assert abs(ex.p_positive - p_model) <= 1e-6
            out, _ = net.lstm(net.embed(own[:, :n]))
        np.testing.assert_allclose(np.concatenate(list(ex.hidden[-1]), axis=-1), out[0].numpy(), atol=1e-5)
        # the evidence of a unit is the whole model without it (every block's units over its span deleted)
        first, ids = ex.fed[0], own[0, :n].tolist()
        block = features.block_of(net.reads).featurizer
        rows = features.variants(text, [first], block.pad([ids, ids[1:], ids[:1]]), net.reads)
        with torch.no_grad():
            p_without = float(torch.sigmoid(model(torch.from_numpy(rows[1:2])))[0])
        assert abs(first.p_positive_without - p_without) <= 1e-6
        assert f"ensemble member {k} of {len(kinds)}" in "\n".join(str(c) for c in [table(ex).caption])
        assert ex.to_dict()["model"]["reads"] == net.reads
    # the pictures, per unit: a syllable member's heatmap has one column per character
    ex = explain_review(model, features, cfg, text, member=kinds.index("syllables"))
    short = plot(ex, tmp_path / "음절.png").read_bytes()
    assert table(ex).columns[0].header == "character"
    # a long review wraps: the panels again under one another, PER_ROW characters a row, not one wide strip
    long = " ".join([text] * (1 + 2 * PER_ROW // len(text)))
    ex = explain_review(model, features, cfg, long, member=kinds.index("syllables"))
    n, titles = len(ex.fed), []
    from ksent import plots

    real_save = plots.save_png

    def keep(fig, path, **kw):
        titles.extend(ax.get_title(loc="left") for ax in fig.axes)
        return real_save(fig, path, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "save_png", keep)
        wrapped = plot(ex, tmp_path / "긴 음절.png").read_bytes()
    assert n > 2 * PER_ROW and sum(f"characters {2 * PER_ROW + 1}–" in t for t in titles) == 5
    (width, height), dpi = _png_size(wrapped), 110
    assert width <= (0.9 * PER_ROW + 4) * dpi < (0.9 * n + 4) * dpi / 2  # unwrapped, it was 0.9 inch a column
    assert height > 2 * _png_size(short)[1]


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_heatmap_of_subword_pieces_has_every_glyph(hangul_root):
    """The bundled model reads subword pieces marked "▁" (U+2581), a glyph NanumGothic lacks: the
    heatmap's labels draw it as "_", so no character is a box."""
    import warnings

    ex = ksent.load(device="cpu").explain("배우들 연기는 좋았지만 스토리가 너무 지루했다")
    assert any(t.text.startswith("▁") for t in ex.fed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plot(ex, hangul_root / "조각 그림.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
