"""One prediction path: the record the CLI prints is the one the API returns; stdout carries results only."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import ksent
from ksent.cli import app
from ksent.predict import Prediction, format_prediction

runner = CliRunner()
TEXTS = ["연기도 좋고 스토리도 최고", "시간이 아깝다 최악", "", "!!!", "This movie is great"]


def test_prediction_records_match_predict_proba(trained):
    clf, _ = trained
    records = clf.predict_records(TEXTS)
    p = clf.predict_proba(TEXTS)[:, 1]
    assert [r.text for r in records] == TEXTS
    np.testing.assert_allclose([r.p_positive for r in records], p)
    assert [r.label for r in records] == clf.predict(TEXTS).tolist()
    for r in records:
        assert r.sentiment == ("negative", "positive")[r.label]
        assert r.score == pytest.approx(max(r.p_positive, 1 - r.p_positive)) and r.score >= 0.5
    # tokens the model read, counted by hand (Kiwi lemmas, the seed's stopwords out, every other token
    # fed: unseen ones as <OOV>): 연기 [도] 좋다 고 스토리 [도] 최고; 시간 [이] 아깝다 다 최악; none for
    # inputs that Hangul-only cleaning empties
    assert [r.n_tokens for r in records] == [5, 4, 0, 0, 0]
    assert [r.n_tokens for r in clf.predict_records(["영화 " * 40, "의 가 이"])] == [30, 0]  # max_len; stopwords only
    assert records[0].label == 1 and records[1].label == 0


def test_classifier_is_callable_like_a_pipeline(trained):
    clf, _ = trained
    out = clf(TEXTS[:2])
    assert [set(d) for d in out] == [{"label", "score"}] * 2
    assert [d["label"] for d in out] == ["positive", "negative"]
    assert clf(TEXTS[0]) == out[:1]  # one string is one review, as in transformers' pipeline


def test_cli_predict_prints_the_record(trained):
    clf, out = trained
    r = runner.invoke(app, ["predict", "-m", str(out), "--json", *TEXTS[:2]])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows == [rec.to_dict() for rec in clf.predict_records(TEXTS[:2])]
    assert set(rows[0]) == {"text", "label", "sentiment", "score", "p_positive", "n_tokens"}
    r = runner.invoke(app, ["predict", "-m", str(out), *TEXTS[:2]])
    assert r.stdout.splitlines() == [format_prediction(rec) for rec in clf.predict_records(TEXTS[:2])]


def test_record_rounding_and_confidence():
    p = Prediction("별로", 0, 0.1234567891, 2)
    assert p.to_dict() == {
        "text": "별로",
        "label": 0,
        "sentiment": "negative",
        "score": 0.876543,
        "p_positive": 0.123457,
        "n_tokens": 2,
    }
    assert p.as_pipeline() == {"label": "negative", "score": pytest.approx(0.8765432109)}


def test_library_writes_nothing_to_stdout(nsmc_dir, capsys):
    from ksent.config import Config
    from ksent.data import nsmc_path, read_labelled

    train = read_labelled(nsmc_path("train", nsmc_dir)).head(600)
    clf = ksent.SentimentClassifier(Config(epochs=1, hidden=8, embed_dim=8), device="cpu", progress=True)
    clf.fit_labelled(train).predict(train.texts[:10])
    out, err = capsys.readouterr()
    assert out == "" and "dropped" in err  # the drop summary is a notice, on stderr


def test_first_run_download_keeps_json_stdout_pure(trained, nsmc_dir, hangul_root, monkeypatch):
    """`ksent evaluate --json` on a fresh machine downloads the test file first: the notice goes to
    stderr and stdout is one JSON object. The official address is replaced by the local copy."""
    import ksent.data

    monkeypatch.delenv("KSENT_DATA_DIR", raising=False)
    monkeypatch.setenv("KSENT_CACHE_DIR", str(hangul_root / "첫 실행 캐시"))
    monkeypatch.setattr(ksent.data, "NSMC_URL", nsmc_dir.resolve().as_uri() + "/")
    _, out = trained
    r = runner.invoke(app, ["evaluate", "-m", str(out), "--json", "--limit", "200"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n"] == 200  # the whole of stdout parses
    assert "downloading" in r.stderr
    assert (hangul_root / "첫 실행 캐시" / "nsmc" / "ratings_test.txt").is_file()


def test_scoring_shows_a_bar_over_every_member(nsmc_dir, monkeypatch):
    """With progress on, scoring after the tokenizing bar has its own bar (a teacher's members answer
    a million copies for minutes): N × members reviews in all, every one counted once; the answers
    are the ones scored without it."""
    from contextlib import contextmanager

    import ksent.classifier
    from ksent.config import Config
    from ksent.data import nsmc_path, read_labelled

    train = read_labelled(nsmc_path("train", nsmc_dir)).head(600)
    cfg = Config(epochs=1, hidden=8, embed_dim=8, members=2, syllable_members=1, syllable_epochs=1)
    clf = ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(train)
    texts = train.texts[:300] + ["", "ㅋㅋㅋ"]
    quiet = clf.predict_proba(texts)
    bars = []

    @contextmanager
    def recorded(description, total, enabled=True, counts=True):
        seen = {"description": description, "total": total, "enabled": enabled, "advanced": 0}
        bars.append(seen)

        def advance(n=1, **kw):
            seen["advanced"] += n

        yield advance

    monkeypatch.setattr(ksent.classifier, "bar", recorded)
    shown = clf.set_params(progress=True).predict_proba(texts)
    scoring = [b for b in bars if b["description"] == "scoring"]
    assert scoring == [{"description": "scoring", "total": 3 * len(texts), "enabled": True, "advanced": 3 * len(texts)}]
    np.testing.assert_array_equal(shown, quiet)
