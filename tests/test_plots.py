"""Plots: Hangul renders on the bundled font (no missing glyphs), and bars are named by label value."""

import re
import warnings

import numpy as np
from matplotlib import font_manager

from ksent import plots
from ksent.data import nsmc_path, read_labelled
from ksent.stats import label_counts

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
    """Draw the figure and return matplotlib's missing-glyph warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plots.pyplot().close(fig)
    return [str(w.message) for w in caught if GLYPH_MISSING.search(str(w.message))]


def every_figure():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.6 + rng.random(400) * 0.5, 0, 1)
    yield plots.label_distribution({"학습": {0: 3, 1: 5}, "평가": {"0": 2, "1": 2}})
    yield plots.token_length_histogram({"train": [1, 5, 9, 3, 1], "test": [0, 2, 4, 1]}, 3, {"train": 1, "test": 1})
    yield plots.top_tokens(TOP, "로그 오즈비")
    yield plots.learning_curves(EPOCHS, 2)
    yield plots.confusion_matrix([[40, 10], [5, 45]], "검증 세트")
    yield plots.roc(y, p, "검증 세트")
    yield plots.score_histogram(y, p, "검증 세트")
    fig = plots.pyplot().figure()
    fig.text(0.05, 0.5, HANGUL)
    yield fig


def test_hangul_renders_in_every_plot():
    plt = plots.pyplot()
    assert plt.get_backend().lower() == "agg"
    used = font_manager.findfont(
        font_manager.FontProperties(family=plt.rcParams["font.family"]), fallback_to_default=False
    )
    assert used.endswith("NanumGothic.ttf"), used
    for i, fig in enumerate(every_figure()):
        assert glyph_warnings(fig) == [], f"figure {i} of every_figure()"


def test_glyph_check_catches_a_font_without_hangul():
    """The check above would fail on a machine where Hangul falls back to a Latin-only font."""
    plt = plots.pyplot()
    with plt.rc_context({"font.family": "DejaVu Sans"}):
        fig = plt.figure()
        fig.text(0.05, 0.5, HANGUL)
        assert glyph_warnings(fig)


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
    plots.pyplot().close(fig)


def test_label_chart_names_bars_by_value_not_by_count_order():
    """The seed drew value_counts() (sorted by count) under the names ['Negative', 'Positive']."""
    by_count = {1: 90, 0: 10}  # what value_counts() returns when positives are the majority
    fig = plots.label_distribution({"split": by_count})
    assert bars(fig.axes[0]) == ([0, 1], [10, 90], ["0 = 부정 (negative)", "1 = 긍정 (positive)"], ["10", "90"])
    plots.pyplot().close(fig)


def test_token_length_histogram_marks_the_cut():
    fig = plots.token_length_histogram({"train": [1, 2, 3, 4, 5]}, 2, {"train": 12})
    ax = fig.axes[0]
    (cut,) = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert list(cut.get_xdata()) == [2.5, 2.5]  # between 2 tokens (kept whole) and 3 (cut)
    assert ax.get_legend().get_texts()[0].get_text() == "train: 12 (80.0%) longer than 2"
    np.testing.assert_allclose(ax.patches[0].get_data().values, [100 / 15, 200 / 15, 300 / 15, 400 / 15, 500 / 15])
    plots.pyplot().close(fig)
