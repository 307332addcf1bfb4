"""Headless plotting with Hangul that renders: matplotlib figures drawn with NanumGothic.

The font comes from the `koreanize-matplotlib` package, which ships NanumGothic (SIL OFL).
Only its font files are used: importing that package would change global matplotlib settings.

No global side effects: figures are `matplotlib.figure.Figure` objects (no pyplot, no backend
switch, nothing left open), and the font applies only while ksent builds and saves its own figures
(`korean_fonts()`), so a notebook user's plots look the same before and after ksent draws.
"""

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from ksent.errors import KsentError

FONT_FAMILY = "NanumGothic"


@cache
def korean_font_files() -> tuple[Path, ...]:
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise KsentError("Hangul plots need the NanumGothic font: pip install koreanize-matplotlib")
    files = sorted(Path(next(iter(spec.submodule_search_locations)), "fonts").glob("NanumGothic*.ttf"))
    if not files:
        raise KsentError("koreanize-matplotlib is installed but ships no NanumGothic*.ttf; reinstall it")
    return tuple(files)


@contextmanager
def korean_fonts() -> Iterator[None]:
    """NanumGothic for the figures built and saved inside this block, and only for them."""
    import matplotlib
    from matplotlib import font_manager

    if FONT_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        for f in korean_font_files():
            font_manager.fontManager.addfont(str(f))  # makes the font known; changes no setting
    # NanumGothic has no U+2212 minus sign: ASCII hyphens for negative numbers
    with matplotlib.rc_context({"font.family": FONT_FAMILY, "axes.unicode_minus": False}):
        yield


def new_figure(**kwargs):
    """A figure that belongs to no pyplot state (rendered by Agg when saved). Build it, and save it,
    inside `korean_fonts()`: text objects take their font when they are created."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


# --- figures ---------------------------------------------------------------------------------------
# Each function returns a matplotlib Figure (so tests can read the drawn data back); `save_png`
# writes it. Colours: label 0 (negative) red, label 1 (positive) blue, everywhere.

LABEL_COLORS = {0: "#c44e52", 1: "#4c72b0"}
LABEL_TICKS = {0: "0 = 부정 (negative)", 1: "1 = 긍정 (positive)"}
SPLIT_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#8172b3")
# an ensemble's members, one colour each (SPLIT_COLORS first; ten before any repeats, as `teacher` has seven)
MEMBER_COLORS = (*SPLIT_COLORS, "#c44e52", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")


def subplots(*args, figsize: tuple[float, float], layout: str | None = None, **kwargs):
    """`pyplot.subplots` without pyplot: (figure, axes) of a `new_figure`."""
    fig = new_figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(*args, **kwargs)


def drawn_in_korean(make):
    """Decorator: build the figure inside `korean_fonts()`."""
    from functools import wraps

    @wraps(make)
    def wrapper(*args, **kwargs):
        with korean_fonts():
            return make(*args, **kwargs)

    return wrapper


def save_png(fig, path: str | Path, dpi: int = 100) -> Path:
    """Write `fig` as a PNG atomically (temp file in the same folder, then rename)."""
    from ksent import atomic

    with korean_fonts(), atomic.replacing(path) as f:
        fig.savefig(f, format="png", dpi=dpi)
    return Path(path)


def _thousands(ax, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = getattr(ax, f"{axis}axis")
    target.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # counts: no 0.5 ticks
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


@drawn_in_korean
def label_distribution(counts: dict[str, dict]):
    """Bars of rows per label, one panel per split. Each bar stands at its label's value and is
    named by it (the seed named `value_counts()` bars by position, i.e. by count order), with the
    count written on it. `counts`: {split: {label: rows}} (int or str labels)."""
    fig, axes = subplots(1, len(counts), figsize=(0.6 + 4.4 * len(counts), 4.4), squeeze=False)
    for ax, (split, by_label) in zip(axes[0], counts.items(), strict=True):
        by_label = {int(k): int(v) for k, v in by_label.items()}
        labels = sorted(by_label)
        heights = [by_label[k] for k in labels]
        bars = ax.bar(labels, heights, width=0.6, color=[LABEL_COLORS.get(k, "gray") for k in labels])
        ax.bar_label(bars, labels=[f"{h:,}" for h in heights], padding=3)
        ax.set_xticks(labels, [LABEL_TICKS.get(k, str(k)) for k in labels])
        ax.set_xlim(min(labels) - 0.6, max(labels) + 0.6)
        ax.margins(y=0.12)
        ax.set_title(f"{split}: {sum(heights):,} reviews")
        ax.set_ylabel("reviews")
        _thousands(ax)
    fig.suptitle("레이블 분포 · label distribution")
    fig.tight_layout()
    return fig


@drawn_in_korean
def token_length_histogram(length_counts: dict[str, list[int]], max_len: int, truncated: dict[str, int] | None = None):
    """Share of reviews by number of tokens, one outline per split, with the max_len cut marked.
    `length_counts`: {split: counts}, counts[i] = reviews with i tokens."""
    import numpy as np

    fig, ax = subplots(figsize=(9, 4.4))
    for i, (split, counts) in enumerate(length_counts.items()):
        c = np.asarray(counts, dtype=np.float64)
        share = 100 * c / c.sum()
        label = split
        if truncated is not None and split in truncated:
            label += f": {truncated[split]:,} ({100 * truncated[split] / c.sum():.1f}%) longer than {max_len}"
        ax.stairs(share, np.arange(len(c) + 1) - 0.5, color=SPLIT_COLORS[i % len(SPLIT_COLORS)], lw=1.6, label=label)
    ax.axvline(max_len + 0.5, color="black", ls="--", lw=1.2)
    ax.annotate(
        f"max_len = {max_len}: longer reviews are cut",
        xy=(max_len + 0.5, 0.97),
        xycoords=("data", "axes fraction"),
        xytext=(6, 0),
        textcoords="offset points",
        va="top",
    )
    ax.set_xlabel("tokens per review (after cleaning and stopword removal)")
    ax.set_ylabel("% of reviews")
    ax.set_xlim(left=-0.5)
    ax.legend(loc="center right")
    ax.set_title("리뷰 길이 · review length in tokens")
    fig.tight_layout()
    return fig


@drawn_in_korean
def top_tokens(top: dict, method: str = "", k: int = 15):
    """Horizontal bars of the tokens most characteristic of each label (by |z|), strongest on top.
    `top`: {label: [{"token", "z", "count_0", "count_1"}, ...]} as `ksent.stats.characteristic_tokens`."""
    fig, axes = subplots(1, 2, figsize=(11, 0.9 + 0.34 * k), squeeze=False)
    for ax, label in zip(axes[0], (0, 1), strict=True):
        rows = list(top.get(label, top.get(str(label), [])))[:k][::-1]
        ax.barh(range(len(rows)), [abs(r["z"]) for r in rows], color=LABEL_COLORS[label])
        ax.set_yticks(range(len(rows)), [f"{r['token']}  ({r['count_0']:,}/{r['count_1']:,})" for r in rows])
        ax.set_title(LABEL_TICKS[label])
        ax.set_xlabel("|z| of the log-odds ratio")
    fig.suptitle(f"레이블별 특징 토큰 · most characteristic tokens (counts: negative/positive){chr(10) + method}")
    fig.tight_layout()
    return fig


def _reads(member: dict) -> str:
    """What a member reads, and whether it was born again (taught by the members before it)."""
    reads = member.get("reads", "tokens")
    return f"{reads}, born again" if member.get("born_again") else reads


@drawn_in_korean
def learning_curves(
    epochs: list[dict], best_epoch: int | None = None, members: list[dict] | None = None, taught: bool = False
):
    """Training and validation loss and accuracy per epoch (`metrics.json` training.epochs). For an
    ensemble, `members` (training.members): one colour per member, each with its kept epoch ringed.
    `taught`: the model learnt from a teacher, so its training rows were scored against the teacher's
    blended targets (and included the teacher's copies); the legend says so."""
    train = "train (teacher's targets)" if taught else "train"
    runs = [("", epochs, best_epoch)]
    if members:
        runs = [(f"{k + 1} ({_reads(m)})", m["epochs"], m["best_epoch"]) for k, m in enumerate(members)]
    fig, axes = subplots(1, 2, figsize=(14, 4.2) if members else (11, 4.2))
    for ax, key, name in zip(axes, ("loss", "accuracy"), ("loss (binary cross-entropy)", "accuracy"), strict=True):
        for k, (who, run, best) in enumerate(runs):
            x = [e["epoch"] for e in run]
            train_color, val_color = (MEMBER_COLORS[k % len(MEMBER_COLORS)],) * 2 if members else SPLIT_COLORS[:2]
            prefix = f"member {who}: " if members else ""
            ax.plot(x, [e[key] for e in run], "o--" if members else "o-", color=train_color, label=f"{prefix}{train}")
            ax.plot(x, [e[f"val_{key}"] for e in run], "o-", color=val_color, label=f"{prefix}validation")
            if best is not None and members:
                ax.plot(best, run[best - 1][f"val_{key}"], "o", ms=11, mfc="none", mec="black")
            elif best is not None:
                ax.axvline(best, color="gray", ls="--", lw=1, label=f"kept: epoch {best}")
        ax.set_xlabel("epoch")
        ax.set_xticks(sorted({e["epoch"] for _, run, _ in runs for e in run}))
        ax.set_title(name)
        if not members:
            ax.legend()
        elif key == "accuracy":  # one legend for both panels, beside them: over the curves it hid them
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    title = "학습 곡선 · learning curves"
    if members:
        title += f" — {len(members)} members (dashed: train, solid: validation; ringed: the epoch each keeps)"
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@drawn_in_korean
def confusion_matrix(cm, title: str = ""):
    """2x2 counts (rows: true label, columns: predicted), with each cell's share of its row."""
    import numpy as np

    cm = np.asarray(cm)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = subplots(figsize=(5.6, 4.8))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (r, c), n in np.ndenumerate(cm):
        ax.text(
            c,
            r,
            f"{n:,}\n{100 * share[r, c]:.1f}%",
            ha="center",
            va="center",
            fontsize=12,
            color="white" if share[r, c] > 0.6 else "black",
        )
    ticks = [LABEL_TICKS[0], LABEL_TICKS[1]]
    ax.set_xticks([0, 1], ticks)
    ax.set_yticks([0, 1], ticks, rotation=90, va="center")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"혼동 행렬 · confusion matrix\n{title}")
    fig.tight_layout()
    return fig


@drawn_in_korean
def roc(y, p_positive, title: str = ""):
    """ROC curve with its AUC and the point the 0.5 threshold picks."""
    import numpy as np

    from ksent.metrics import roc_auc, roc_curve

    fpr, tpr, thr = roc_curve(y, p_positive)
    fig, ax = subplots(figsize=(5.2, 5.0))
    ax.plot(fpr, tpr, color=SPLIT_COLORS[0], lw=1.8, label=f"AUC = {roc_auc(y, p_positive):.4f}")
    ax.plot([0, 1], [0, 1], color="gray", ls=":", lw=1, label="chance")
    i = int(np.flatnonzero(thr >= 0.5)[-1]) if (thr >= 0.5).any() else 0
    ax.plot(fpr[i], tpr[i], "o", color="black", label=f"threshold 0.5: FPR {fpr[i]:.3f}, TPR {tpr[i]:.3f}")
    ax.set_xlabel("false positive rate (negatives called positive)")
    ax.set_ylabel("true positive rate (positives found)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.legend(loc="lower right")
    ax.set_title(f"ROC 곡선 · ROC curve\n{title}")
    fig.tight_layout()
    return fig


@drawn_in_korean
def score_histogram(y, p_positive, title: str = "", bins: int = 50):
    """How P(positive) is spread for the reviews of each true label; the 0.5 threshold marked."""
    import numpy as np

    y, p = np.asarray(y), np.asarray(p_positive, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig, ax = subplots(figsize=(8, 4.4))
    for label in (0, 1):
        counts, _ = np.histogram(p[y == label], bins=edges)
        ax.stairs(
            counts,
            edges,
            fill=True,
            alpha=0.45,
            color=LABEL_COLORS[label],
            label=f"true {LABEL_TICKS[label]}: {int((y == label).sum()):,}",
        )
    ax.axvline(0.5, color="black", ls="--", lw=1, label="threshold 0.5")
    ax.set_xlabel("P(positive)")
    ax.set_ylabel("reviews")
    ax.set_xlim(0, 1)
    _thousands(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(0.09, 0.98))  # clear of the peaks at 0 and 1 and of the 0.5 line
    ax.set_title(f"점수 분포 · score histogram by true label\n{title}")
    fig.tight_layout()
    return fig
