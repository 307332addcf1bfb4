"""The run's plots and report.html: written with the model folder (atomically), self-contained."""

import base64
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ksent
from ksent import artifacts
from ksent.cli import app
from ksent.errors import KsentError

RUN_PLOTS = ("confusion_matrix.png", "learning_curves.png", "roc_curve.png", "score_histogram.png")
SCORE_PLOTS = ("confusion_matrix.png", "roc_curve.png", "score_histogram.png")
runner = CliRunner()


def assert_self_contained(folder: Path, pngs) -> str:
    """report.html opens offline: UTF-8, no network reference, every plot inlined."""
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page
    assert not re.search(r"(?i)https?:|//cdn|<script|<link|@import|url\(", page)
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    for name in pngs:
        assert base64.b64encode((folder / name).read_bytes()).decode() in page, name
    assert len(sources) == len(pngs)
    return page


@pytest.fixture(scope="module")
def fitted(trained):
    return trained[0]


def test_save_with_report_writes_plots_and_html(fitted, hangul_root):
    out = fitted.save(hangul_root / "보고서 모델", report=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([*artifacts.FILES, *RUN_PLOTS, "report.html"])
    page = assert_self_contained(out, RUN_PLOTS)
    val = fitted.metrics_["validation"]
    y_val, p_val = fitted.validation_
    # the validation metrics are those of the kept weights, on the last n_val cleaned rows
    assert val["n"] == len(y_val) == len(p_val) == fitted.metrics_["training"]["n_val"]
    assert val["accuracy"] == pytest.approx(fitted.metrics_["training"]["best_val_accuracy"], abs=1e-9)
    assert f"<td>{val['accuracy']:.4f}</td>" in page and "validation split" in page
    assert ksent.load(out, device="cpu").vocab_.words == fitted.vocab_.words  # extra files do not disturb loading
    assert json.loads((out / "metrics.json").read_text("utf-8"))["validation"] == val


def test_report_failure_leaves_no_half_written_folder(fitted, hangul_root, monkeypatch):
    import ksent.report

    def boom(*a, **k):
        raise OSError("disk full while drawing")

    root = hangul_root / "실패"
    old = fitted.save(root / "있던 모델")
    before = sorted(p.name for p in old.iterdir())
    monkeypatch.setattr(ksent.report, "write_run_report", boom)
    for target in (root / "새 모델", old):
        with pytest.raises(OSError, match="disk full"):
            fitted.save(target, report=True)
    assert sorted(p.name for p in root.iterdir()) == ["있던 모델"]  # nothing new, no temp folder
    assert sorted(p.name for p in old.iterdir()) == before


def test_loaded_model_has_no_validation_scores(fitted, hangul_root):
    out = fitted.save(hangul_root / "다시 읽은 모델")
    with pytest.raises(KsentError, match="report=True needs the validation scores"):
        ksent.load(out, device="cpu").save(hangul_root / "복사본", report=True)


def test_cli_train_and_evaluate_write_reports(nsmc_dir, hangul_root):
    model = hangul_root / "명령 모델"
    args = ["train", "--data-dir", str(nsmc_dir), "--out", str(model), "--limit", "1500", "--device", "cpu"]
    r = runner.invoke(app, [*args, "--set", "epochs=1", "--set", "hidden=16", "--set", "embed_dim=16", "--no-cache"])
    assert r.exit_code == 0, r.output
    assert_self_contained(model, RUN_PLOTS)
    out = hangul_root / "평가 보고서"
    r = runner.invoke(
        app, ["evaluate", "-m", str(model), "--data-dir", str(nsmc_dir), "--limit", "300", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*SCORE_PLOTS, "report.html"])
    page = assert_self_contained(out, SCORE_PLOTS)
    assert "ratings_test.txt, 300 reviews" in page
