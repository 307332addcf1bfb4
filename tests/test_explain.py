"""`ksent explain`: the stepwise LSTM equals nn.LSTM, and the evidence does what it claims."""

import doctest
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import ksent
from ksent import explain as explain_module
from ksent.cli import app
from ksent.config import Config
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError
from ksent.explain import SIGNALS, analyse, lstm_steps, plot, table
from ksent.models import LSTMClassifier
from ksent.train import fit
from ksent.text.vocab import OOV_TOKEN, Vocab, pad_sequences

N_TRAIN, N_EXPLAIN = 8000, 150
VARIANTS = [(1, False), (2, False), (1, True), (2, True)]  # (num_layers, bidirectional): all ksent can train
runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Small batches throughout: one thread is as fast, and far faster when the machine is busy."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def trained(nsmc_dir, tmp_path_factory):
    """The default config on 8,000 NSMC training rows, 3 epochs; saved under a Hangul path."""
    train = read_labelled(nsmc_path("train", nsmc_dir)).head(N_TRAIN)
    clf = ksent.SentimentClassifier(Config(epochs=3), device="cpu", cache=False).fit_labelled(train)
    out = tmp_path_factory.mktemp("m") / "설명 모델"
    clf.save(out)
    return clf, out


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


def p_pos(model: LSTMClassifier, ids: list[list[int]], cfg: Config) -> np.ndarray:
    """P(positive) straight from the model: independent of ksent.explain."""
    x = torch.from_numpy(pad_sequences(ids, cfg.max_len, cfg.padding, cfg.truncating))
    with torch.no_grad():
        return torch.sigmoid(model(x).double()).numpy()


# --- the stepwise LSTM reproduces nn.LSTM -------------------------------------------------------


@torch.no_grad()
def max_diff(trace, lstm, x) -> float:
    out, (h_n, c_n) = lstm(x)
    return max(float((a - b).abs().max()) for a, b in ((trace.output, out), (trace.h_n, h_n), (trace.c_n, c_n)))


@pytest.mark.parametrize("layers,bi", VARIANTS)
def test_stepwise_equals_nn_lstm_random_weights(layers, bi):
    torch.manual_seed(layers * 10 + bi)
    cfg = Config(num_layers=layers, bidirectional=bi, dropout=0.3)  # dropout acts only in training
    model = LSTMClassifier(500, cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)  # random weights and biases, gates far from 0.5
    x = model.embedding(torch.randint(0, 500, (4, cfg.max_len)))  # (B, T, E), ksent's real sizes
    trace = lstm_steps(model.lstm, x)
    assert tuple(trace.cell.shape) == (layers, 2 if bi else 1, 4, cfg.max_len, cfg.hidden)
    assert max_diff(trace, model.lstm, x) <= 1e-5
    # the equations the trace claims, checked on its own values (backward: the previous step is t + 1)
    zero = torch.zeros_like(trace.cell[:, :1, :, :1])
    c_prev = torch.cat([zero, trace.cell[:, :1, :, :-1]], dim=3)
    if bi:
        c_prev = torch.cat([c_prev, torch.cat([trace.cell[:, 1:, :, 1:], zero], dim=3)], dim=1)
    c = trace.forget_gate * c_prev + trace.input_gate * trace.candidate
    assert torch.allclose(c, trace.cell, atol=1e-6)
    assert torch.allclose(trace.output_gate * trace.cell.tanh(), trace.hidden, atol=1e-6)
    assert trace.input_gate.min() >= 0 and trace.forget_gate.max() <= 1 and trace.candidate.abs().max() <= 1


def test_stepwise_handles_time_major_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, num_layers=2, bidirectional=True)  # batch_first=False
    x = torch.randn(7, 3, 6)  # (T, B, E)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x)
    trace = lstm_steps(lstm, x)
    assert (trace.output - out.transpose(0, 1)).abs().max() <= 1e-5  # the trace is always batch-first
    assert (trace.h_n - h_n).abs().max() <= 1e-5 and (trace.c_n - c_n).abs().max() <= 1e-5


def test_stepwise_equals_trained_model(trained, test_texts):
    clf, _ = trained
    ids = torch.from_numpy(clf.encode(test_texts[:300]))
    with torch.no_grad():
        x = clf.model.embedding(ids)
        trace = lstm_steps(clf.model.lstm, x)
        assert max_diff(trace, clf.model.lstm, x) <= 1e-5
        logits = clf.model.head(trace.output[:, -1]).squeeze(-1)
        assert (logits - clf.model(ids)).abs().max() <= 1e-5


@pytest.fixture(scope="module")
def variant_data(trained, nsmc_dir):
    clf, _ = trained
    rows = read_labelled(nsmc_path("train", nsmc_dir)).head(1200)
    return clf.encode(rows.texts), np.asarray(rows.labels), len(clf.vocab)


@pytest.mark.parametrize("layers,bi", VARIANTS[1:])  # (1, uni) is the `trained` model above
def test_stepwise_equals_trained_variants(layers, bi, variant_data):
    x_ids, y, vocab_size = variant_data
    cfg = Config(num_layers=layers, bidirectional=bi, hidden=32, embed_dim=16, epochs=1, dropout=0.2)
    model, _ = fit(cfg, x_ids, y, vocab_size, "cpu", progress=False)
    model.eval()
    ids = torch.from_numpy(x_ids[:200])
    with torch.no_grad():
        x = model.embedding(ids)
        trace = lstm_steps(model.lstm, x)
        assert max_diff(trace, model.lstm, x) <= 1e-5
        h = cfg.hidden
        last = torch.cat([trace.output[:, -1, :h], trace.output[:, 0, h:]], -1) if bi else trace.output[:, -1]
        assert (model.head(last).squeeze(-1) - model(ids)).abs().max() <= 1e-5


# --- the explanation agrees with the pipeline ---------------------------------------------------


def test_explanation_agrees_with_predict_and_tokens(trained, explained):
    clf, _ = trained
    assert len(explained) > 100
    texts = [ex.text for ex in explained]
    np.testing.assert_allclose([ex.p_positive for ex in explained], clf.predict_proba(texts)[:, 1], atol=1e-6)
    pipeline = clf.tokens(texts)
    for ex, toks in zip(explained, pipeline, strict=True):
        assert [t.text for t in ex.tokens if t.status != "stopword"] == toks, ex.text
        ids = clf.vocab.encode(toks)[-clf.config.max_len :]
        assert [t.id for t in ex.fed] == ids
        assert ex.padding_steps == clf.config.max_len - len(ids)
        assert [t.step for t in ex.fed] == list(range(ex.padding_steps, clf.config.max_len))
        for t in ex.tokens:  # spans point at the user's own characters
            if t.start is not None:
                assert 0 <= t.start < t.end <= len(ex.text) and ex.text[t.start : t.end].strip()


def test_explanation_trace_is_the_models_computation(trained, explained):
    clf, _ = trained
    ex = explained[0]
    L, D, T, H = ex.cell.shape
    assert (L, D, T, H) == (1, 1, clf.config.max_len, clf.config.hidden)
    assert all(getattr(ex, s).shape == (L, D, T, H) for s in SIGNALS)
    c_prev = np.concatenate([np.zeros((L, D, 1, H), np.float32), ex.cell[:, :, :-1]], axis=2)
    np.testing.assert_allclose(ex.forget_gate * c_prev + ex.input_gate * ex.candidate, ex.cell, atol=1e-6)
    logit = ex.unit_contributions.sum() + ex.head_bias
    assert abs(1 / (1 + np.exp(-logit)) - ex.p_positive) < 1e-5


def test_spans_statuses_and_truncation(trained):
    clf, _ = trained
    text = "이 영화 10점!! 진짜 재밌었다 ㅋㅋ BUT 결말은 별로"
    got = [(w, text[s:e] if s is not None else None) for w, s, e in analyse(text, clf.config)]
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
    assert len(ex.fed) == clf.config.max_len and ex.padding_steps == 0
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
    with pytest.raises(KsentError, match="not trained yet"):
        ksent.SentimentClassifier().explain("좋다")


# --- the evidence does what it claims -----------------------------------------------------------


def test_deleting_the_top_evidence_token_lowers_the_predicted_probability(trained, explained):
    """Checked with the pipeline's own tokens and the model directly, not through ksent.explain."""
    clf, _ = trained
    checked = {0: 0, 1: 0}
    pipeline = clf.tokens([ex.text for ex in explained])
    for ex, toks in zip(explained, pipeline, strict=True):
        top = max(ex.fed, key=lambda t: t.evidence)
        if top.evidence <= 0:
            continue  # no token supports the prediction; nothing to delete
        ids = clf.vocab.encode(toks)  # all of them: deleting one lets a truncated one back in
        k = len(ids) - len(ex.fed) + ex.fed.index(top)
        full, without = p_pos(clf.model, [ids, ids[:k] + ids[k + 1 :]], clf.config)
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
        full, top, random = p_pos(clf.model, variants, clf.config) * (1 if ex.label else -1)
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
    clf.vocab = Vocab.fit(clf.tokens(texts), min_count=2, oov=False)
    torch.manual_seed(0)
    clf.model = LSTMClassifier(len(clf.vocab), clf.config).eval()
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
    model = LSTMClassifier(len(vocab), cfg).eval()
    ex = explain_module.explain_review(model, vocab, cfg, "영화 최고 근데 배우 지루하다")
    assert ex.directions == ("forward", "backward") and ex.cell.shape == (2, 2, 30, 16)
    assert set(ex.summary()[0]) == {"forward", "backward"} and set(ex.padding_state()) == {"forward", "backward"}
    d = ex.to_dict()
    assert np.asarray(d["trace"]["hidden"]).shape == (2, 2, 30, 16) and len(d["head"]["unit_contributions"]) == 32
    assert [t.status for t in ex.fed] == ["input", "input", "oov", "input", "input", "oov", "oov"]
    text = table(ex)
    assert [c.header for c in text.columns][-8:] == [
        f"{s}{d}" for d in (" fwd", " bwd") for s in ("i", "f", "o", "|c|")
    ]
    path = plot(ex, hangul_root / "양방향.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_docstring_examples():
    assert doctest.testmod(explain_module).failed == 0
