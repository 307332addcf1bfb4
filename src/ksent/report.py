"""Plots of a run and one self-contained `report.html` that shows them with the metrics.

The page embeds every PNG as a base64 `data:` URI and its CSS inline: it opens offline, from any
folder, with no CDN or other network access.
"""

import base64
import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ksent import atomic, plots
from ksent.config import Config
from ksent.data import DROP_REASONS
from ksent.metrics import classification_report

REPORT = "report.html"
METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc")

_CSS = """
body { font-family: "NanumGothic", "Malgun Gothic", "Apple SD Gothic Neo", "Noto Sans CJK KR", sans-serif;
       max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.93em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
figure { margin: 1.2em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; } .note { color: #555; font-size: 0.9em; }
"""


UNITS = {"syllables": "syllable", "pieces": "piece"}


def _block_sizes(metrics: dict) -> dict[str, int]:
    """Each block's vocabulary size but the tokens' (older metrics name the syllables' and pieces' alone)."""
    if "vocab_sizes" in metrics:
        return {k: n for k, n in metrics["vocab_sizes"].items() if k != "tokens"}
    legacy = {"syllables": "syllable_vocab_size", "pieces": "piece_vocab_size"}
    return {kind: metrics[key] for kind, key in legacy.items() if key in metrics}


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, list):
        return ", ".join(map(str, v)) if len(v) <= 30 else f"{len(v)} items: {', '.join(map(str, v[:30]))}, ..."
    return str(v)


def table(rows: Iterable[Sequence], header: Sequence[str] | None = None) -> str:
    """An HTML table; cells are escaped and numbers formatted."""
    head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{_e(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def figure(png: Path, caption: str) -> str:
    """An <img> with the PNG inlined as a data: URI."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
        f"<figcaption>{_e(png.name)}: {_e(caption)}</figcaption></figure>"
    )


def page(title: str, body: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n{body}\n<p class='note'>written by ksent, {stamp}</p>\n</body>\n</html>\n"
    )


# --- scored data: confusion matrix, ROC, score histogram --------------------------------------------


def score_plots(folder: Path, y, p_positive, what: str) -> list[tuple[Path, str]]:
    """Confusion matrix, ROC curve and score histogram of one scored set; `what` names it in titles."""
    y, p = np.asarray(y), np.asarray(p_positive, dtype=np.float64)
    cm = classification_report(y, p)["confusion_matrix"]
    return [
        (
            plots.save_png(plots.confusion_matrix(cm, what), folder / "confusion_matrix.png"),
            f"confusion matrix, {what}",
        ),
        (plots.save_png(plots.roc(y, p, what), folder / "roc_curve.png"), f"ROC curve, {what}"),
        (plots.save_png(plots.score_histogram(y, p, what), folder / "score_histogram.png"), f"P(positive), {what}"),
    ]


def _metrics_table(rep: dict) -> str:
    (tn, fp), (fn, tp) = rep["confusion_matrix"]
    rows = [(k, rep[k]) for k in METRIC_NAMES] + [
        ("reviews", rep["n"]),
        ("true negatives / false positives", f"{tn:,} / {fp:,}"),
        ("false negatives / true positives", f"{fn:,} / {tp:,}"),
    ]
    return table(rows, ("metric", "value"))


# --- after `ksent train` -----------------------------------------------------------------------------


def write_run_report(folder: str | Path, metrics: dict, cfg: Config, y_val, p_val) -> list[Path]:
    """Plots of a training run and report.html, into `folder` (the model folder being written).

    The confusion matrix, ROC curve and score histogram use the validation split (the last
    `val_split` of the cleaned training rows), scored by the weights that were kept.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    t = metrics["training"]
    members = t.get("members")
    kept = f"an ensemble of {len(members)}, each at its best epoch" if members else f"best epoch {t['best_epoch']}"
    what = f"validation split, {len(y_val):,} reviews ({kept})"
    curves = plots.save_png(
        plots.learning_curves(t["epochs"], t["best_epoch"], members, taught="teacher" in t),
        folder / "learning_curves.png",
    )
    figs = [(curves, "training and validation loss and accuracy per epoch")] + score_plots(folder, y_val, p_val, what)
    val = metrics.get("validation") or classification_report(y_val, p_val)
    d = metrics["data"]
    run = [
        ("config", cfg.name),
        ("tokenizer", cfg.tokenizer),
        ("train file", d["train_file"]),
        ("rows read", d["total"]),
        *((f"dropped: {reason}", d["dropped"][reason]) for reason in DROP_REASONS),
        ("rows kept", d["kept"]),
        ("training / validation rows", f"{t['n_train']:,} / {t['n_val']:,}"),
        *((("validation from file line", d["first_validation_line"]),) if "first_validation_line" in d else ()),
        ("vocabulary size (embedding rows)", metrics["vocab_size"]),
        *((f"{UNITS.get(kind, kind)} vocabulary size", n) for kind, n in _block_sizes(metrics).items()),
        ("epochs run", ", ".join(str(len(m["epochs"])) for m in members) if members else len(t["epochs"])),
        ("best epoch (weights kept)", ", ".join(str(m["best_epoch"]) for m in members) if members else t["best_epoch"]),
        ("device", t.get("device", "")),
        *((("ensemble members", len(t["members"])),) if "members" in t else ()),
        ("training time (s)", f"{t.get('seconds', sum(e.get('seconds', 0.0) for e in t['epochs'])):,.1f}"),
    ]
    epochs = [
        (k, e["epoch"], e["loss"], e["accuracy"], e["val_loss"], e["val_accuracy"], f"{e.get('seconds', 0.0):.1f}")
        for k, run in enumerate([m["epochs"] for m in members] if members else [t["epochs"]], 1)
        for e in run
    ]
    body = "\n".join(
        [
            f"<h2>Validation metrics</h2><p class='note'>{_e(what)}; threshold P(positive) &ge; 0.5. "
            "The test set is not used in training: score it with <code>ksent evaluate</code>.</p>",
            _metrics_table(val),
            "<h2>Run</h2>",
            table(run),
            "<h2>Epochs</h2>",
            table(epochs, ("member", "epoch", "loss", "accuracy", "val loss", "val accuracy", "seconds")),
            "<h2>Plots</h2>",
            *(figure(png, caption) for png, caption in figs),
            "<h2>Config</h2>",
            table(cfg.to_dict().items(), ("field", "value")),
        ]
    )
    html_path = atomic.write_text(folder / REPORT, page(f"ksent training run: {cfg.name}", body))
    return [png for png, _ in figs] + [html_path]


# --- after `ksent evaluate --out` ------------------------------------------------------------------


def write_eval_report(folder: str | Path, rep: dict, y, p_positive, data: str, model: str) -> list[Path]:
    """Confusion matrix, ROC curve, score histogram and report.html for one scored file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    what = f"{Path(data).name}, {len(y):,} reviews"
    figs = score_plots(folder, y, p_positive, what)
    body = "\n".join(
        [
            f"<p class='note'>model {_e(model)}; data {_e(data)}; every row scored, threshold P(positive) &ge; 0.5</p>",
            "<h2>Metrics</h2>",
            _metrics_table(rep),
            "<h2>Plots</h2>",
            *(figure(png, caption) for png, caption in figs),
        ]
    )
    html_path = atomic.write_text(folder / REPORT, page(f"ksent evaluation: {Path(data).name}", body))
    return [png for png, _ in figs] + [html_path]


# --- `ksent data stats --out` ------------------------------------------------------------------------


def write_data_plots(folder: str | Path, stats: dict) -> list[Path]:
    """label_distribution.png, token_lengths.png and top_tokens.png from `ksent.stats.corpus_stats`."""
    folder = Path(folder)
    splits = stats["splits"]
    top = stats["characteristic_tokens"]
    return [
        plots.save_png(
            plots.label_distribution({n: s["labels"] for n, s in splits.items()}), folder / "label_distribution.png"
        ),
        plots.save_png(
            plots.token_length_histogram(
                {n: s["token_length_counts"] for n, s in splits.items()},
                stats["config"]["max_len"],
                {n: s["truncated"] for n, s in splits.items()},
            ),
            folder / "token_lengths.png",
        ),
        plots.save_png(
            plots.top_tokens(top, f"{top['method']}; {stats['reference']}, tokens seen ≥ {top['min_count']} times"),
            folder / "top_tokens.png",
        ),
    ]
