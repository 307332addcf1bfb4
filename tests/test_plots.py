"""Plots: Hangul renders on the bundled font (no missing glyphs), bars are named by label value, and
drawing leaves matplotlib's global state (rcParams, backend, pyplot) as it was."""

import contextlib
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from ksent import plots
from ksent.data import nsmc_path, read_labelled
from ksent.stats import label_counts

ROOT = Path(__file__).resolve().parents[1]

GLYPH_MISSING = re.compile(r"Glyph \d+ .*missing from font")
HANGUL = "한글 리뷰: 연기도 좋고 스토리도 최고 ㅋㅋ ㅠㅠ ㅂ니다 ★♥ 0 = 부정 (negative)"
TOP = {  # z and counts as ksent.stats.characteristic_tokens gives them; ᆸ is a final-consonant jamo
    "0": [
        {"token": "아깝다", "z": -31.6, "count_0": 4103, "count_1": 318},
        {"token": "ㅡㅡ", "z": -20.0, "count_0": 9, "count_1": 1},
    ],
    "1": [
        {"token": "최고", "z": 39.5, "count_0": 488, "count_1": 5858},
        {"token": "ᆸ니다", "z": 20.0, "count_0": 2, "count_1": 5},
    ],
}
EPOCHS = [
    {"epoch": e, "loss": 0.5 / e, "accuracy": 0.7 + e / 50, "val_loss": 0.4 + e / 100, "val_accuracy": 0.8}
    for e in (1, 2, 3)
]


def glyph_warnings(fig) -> list[str]:
    """Render the figure with Agg, outside `korean_fonts()`, and return matplotlib's missing-glyph warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FigureCanvasAgg(fig).draw()
    return [str(w.message) for w in caught if GLYPH_MISSING.search(str(w.message))]


def hangul_text_figure():
    fig = plots.new_figure()
    fig.text(0.05, 0.5, HANGUL)
    return fig


def every_figure():
    """One figure of each kind ksent draws (explain's heatmap is tested with explain)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.6 + rng.random(400) * 0.5, 0, 1)
    yield plots.label_distribution({"학습": {0: 3, 1: 5}, "평가": {"0": 2, "1": 2}})
    yield plots.token_length_histogram({"train": [1, 5, 9, 3, 1], "test": [0, 2, 4, 1]}, 3, {"train": 1, "test": 1})
    yield plots.top_tokens(TOP, "로그 오즈비")
    yield plots.learning_curves(EPOCHS, 2)
    yield plots.learning_curves(
        EPOCHS, 2, [{"epochs": EPOCHS, "best_epoch": 3}, {"epochs": EPOCHS[:2], "best_epoch": 1, "reads": "syllables"}]
    )
    yield plots.confusion_matrix([[40, 10], [5, 45]], "검증 세트")
    yield plots.roc(y, p, "검증 세트")
    yield plots.score_histogram(y, p, "검증 세트")
    with plots.korean_fonts():  # built inside, yielded (and drawn by the caller) outside
        fig, ax = plots.subplots(figsize=(6, 2))
        ax.set_title(HANGUL)
        text_fig = hangul_text_figure()
    yield text_fig
    yield fig


def test_hangul_renders_in_every_plot():
    for i, fig in enumerate(every_figure()):
        assert glyph_warnings(fig) == [], f"figure {i} of every_figure()"
        fonts = {
            font_manager.findfont(t.get_fontproperties(), fallback_to_default=False)
            for t in fig.findobj(Text)
            if t.get_text()
        }
        assert fonts and all(re.search(r"NanumGothic\w*\.ttf$", f) for f in fonts), (i, fonts)


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # those of tight_layout while building
def test_glyph_check_catches_figures_drawn_without_korean_fonts(monkeypatch):
    """The checks above fail when korean_fonts() is not applied: matplotlib's default font has no Hangul."""
    assert glyph_warnings(hangul_text_figure())  # built outside korean_fonts()
    monkeypatch.setattr(plots, "korean_fonts", contextlib.nullcontext)  # the figure functions' decorator
    assert glyph_warnings(plots.label_distribution({"학습": {0: 3, 1: 5}}))
    assert glyph_warnings(plots.top_tokens(TOP))


def test_korean_fonts_is_undone_on_exit():
    before = (matplotlib.rcParams["font.family"], matplotlib.rcParams["axes.unicode_minus"])
    with plots.korean_fonts():
        assert matplotlib.rcParams["font.family"] == [plots.FONT_FAMILY]
        assert matplotlib.rcParams["axes.unicode_minus"] is False
    assert (matplotlib.rcParams["font.family"], matplotlib.rcParams["axes.unicode_minus"]) == before


def test_drawing_leaves_matplotlib_global_state_alone(hangul_root):
    backend = matplotlib.get_backend()  # may choose the backend (and import pyplot) itself: before the snapshot
    rc = dict(matplotlib.rcParams.copy())
    for i, fig in enumerate(every_figure()):
        plots.save_png(fig, hangul_root / "전역 상태" / f"{i}.png")
    assert dict(matplotlib.rcParams.copy()) == rc
    assert matplotlib.get_backend() == backend


def test_ksent_never_imports_pyplot(hangul_root):
    """In a fresh process (this one may have pyplot from elsewhere): draw and save every kind of figure,
    and pyplot was never imported, the backend never chosen, no rcParam changed."""
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path

        import matplotlib
        from matplotlib import rcsetup

        rc = dict(matplotlib.rcParams.copy())
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_plots import every_figure
        from ksent import plots

        for i, fig in enumerate(every_figure()):
            plots.save_png(fig, Path({str(hangul_root / "새 프로세스")!r}) / f"{{i}}.png")
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        assert dict.__getitem__(matplotlib.rcParams, "backend") is rcsetup._auto_backend_sentinel, "backend chosen"
        assert dict(matplotlib.rcParams.copy()) == rc, "rcParams changed"
        print(i + 1)
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["10"]
    assert len(list((hangul_root / "새 프로세스").glob("*.png"))) == 10


def test_save_png_is_a_png(hangul_root):
    path = plots.save_png(plots.label_distribution({"학습": {0: 3, 1: 5}}), hangul_root / "레이블 그림" / "레이블.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["레이블.png"]  # no temp file left


def bars(ax) -> tuple[list[float], list[int], list[str], list[str]]:
    """(bar centres, heights, tick labels, the numbers written on the bars) of one panel."""
    centres = [p.get_x() + p.get_width() / 2 for p in ax.patches]
    heights = [int(p.get_height()) for p in ax.patches]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    written = [t.get_text() for t in ax.texts]
    return centres, heights, ticks, written


def test_label_chart_matches_the_nsmc_readme(nsmc_dir):
    counts = {split: label_counts(read_labelled(nsmc_path(split, nsmc_dir)).labels) for split in ("train", "test")}
    fig = plots.label_distribution(counts)
    train, test = fig.axes
    # ../shared/data/nsmc/README.md: train 75,173 negative / 74,827 positive; test 24,827 / 25,173
    names = ["0 = 부정 (negative)", "1 = 긍정 (positive)"]
    assert bars(train) == ([0, 1], [75_173, 74_827], names, ["75,173", "74,827"])
    assert bars(test) == ([0, 1], [24_827, 25_173], names, ["24,827", "25,173"])
    assert train.get_title() == "train: 150,000 reviews" and test.get_title() == "test: 50,000 reviews"


def test_label_chart_names_bars_by_value_not_by_count_order():
    """The seed drew value_counts() (sorted by count) under the names ['Negative', 'Positive']."""
    by_count = {1: 90, 0: 10}  # what value_counts() returns when positives are the majority
    fig = plots.label_distribution({"split": by_count})
    assert bars(fig.axes[0]) == ([0, 1], [10, 90], ["0 = 부정 (negative)", "1 = 긍정 (positive)"], ["10", "90"])


def test_token_length_histogram_marks_the_cut():
    fig = plots.token_length_histogram({"train": [1, 2, 3, 4, 5]}, 2, {"train": 12})
    ax = fig.axes[0]
    (cut,) = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert list(cut.get_xdata()) == [2.5, 2.5]  # between 2 tokens (kept whole) and 3 (cut)
    assert ax.get_legend().get_texts()[0].get_text() == "train: 12 (80.0%) longer than 2"
    np.testing.assert_allclose(ax.patches[0].get_data().values, [100 / 15, 200 / 15, 300 / 15, 400 / 15, 500 / 15])


def test_learning_curves_of_a_taught_model_say_what_train_was_scored_against():
    fig = plots.learning_curves(EPOCHS, 2, taught=True)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[:2] == ["train (teacher's targets)", "validation"]
    assert [t.get_text() for t in plots.learning_curves(EPOCHS, 2).axes[0].get_legend().get_texts()][0] == "train"


def test_learning_curves_of_an_ensemble_show_every_member():
    born = {"epochs": EPOCHS[:2], "best_epoch": 2, "born_again": {"teacher_config": "best", "distill": 0.8}}
    members = [{"epochs": EPOCHS, "best_epoch": 3}, {"epochs": EPOCHS[:2], "best_epoch": 1, "reads": "syllables"}, born]
    fig = plots.learning_curves(EPOCHS, 3, members)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels == [
        "member 1 (tokens): train",
        "member 1 (tokens): validation",
        "member 2 (syllables): train",
        "member 2 (syllables): validation",
        "member 3 (tokens, born again): train",  # taught by the members before it
        "member 3 (tokens, born again): validation",
    ]
    val_acc = [line.get_ydata() for line in fig.axes[1].get_lines() if line.get_label().endswith("validation")]
    assert [len(v) for v in val_acc] == [3, 2, 2]  # each member's own epochs
    assert "3 members" in fig._suptitle.get_text()
    # seven members (the teacher's): seven colours, and the legend beside the curves, not over them
    fig = plots.learning_curves(EPOCHS, 3, [{"epochs": EPOCHS, "best_epoch": 3}] * 7)
    colours = [line.get_color() for line in fig.axes[1].get_lines() if line.get_label().endswith("validation")]
    assert len(colours) == 7 and len(set(colours)) == 7
    fig.canvas.draw()
    legend = fig.axes[1].get_legend()
    assert fig.axes[0].get_legend() is None and legend.get_window_extent().x0 >= fig.axes[1].get_window_extent().x1
