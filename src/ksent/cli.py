"""`ksent train | evaluate | predict | explain | data stats`: thin typed wrappers over the Python API."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ksent.errors import KsentError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Korean review sentiment with an LSTM.")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder with the NSMC files (default: $KSENT_DATA_DIR, else download to the ksent cache).",
        show_default=False,
    ),
]
TextCol = Annotated[str, typer.Option("--text-col", help="Name of the text column in --train/--data files.")]
LabelCol = Annotated[str, typer.Option("--label-col", help="Name of the 0/1 label column in --train/--data files.")]
Device = Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")]
Model = Annotated[Path, typer.Option("--model", "-m", help="A model folder written by `ksent train`.")]
Limit = Annotated[int | None, typer.Option("--limit", help="Use only the first N rows (quick runs).", min=1)]


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write (replaced atomically).")],
    config: Annotated[
        str, typer.Option("--config", "-c", help="Preset (seed, default) or a JSON config file.")
    ] = "default",
    data_dir: DataDir = None,
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Train on this labelled TSV/CSV instead of NSMC's ratings_train.txt.")
    ] = None,
    text_col: TextCol = "document",
    label_col: LabelCol = "label",
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config field: KEY=VALUE (e.g. --set epochs=3). Repeatable."),
    ] = None,
    stopwords: Annotated[
        Path | None, typer.Option("--stopwords", help="Stopword file, one per line (default: the seed's list).")
    ] = None,
    limit: Limit = None,
    device: Device = "auto",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the token cache.")] = False,
) -> None:
    """Train a model and save it as a folder (model.safetensors, config.json, vocab.json, metrics.json).

    The folder also gets learning_curves.png, confusion_matrix.png, roc_curve.png and
    score_histogram.png (on the validation split) and report.html, which shows them all.
    """
    from ksent.classifier import SentimentClassifier
    from ksent.config import resolve
    from ksent.data import nsmc_path, read_labelled
    from ksent.text import read_stopwords

    cfg = resolve(config, overrides)
    if stopwords is not None:
        cfg.stopwords = list(read_stopwords(stopwords))
    data = read_labelled(train_file or nsmc_path("train", data_dir), text_col, label_col)
    if limit:
        data = data.head(limit)
    clf = SentimentClassifier(cfg, device=device, progress=True, cache=not no_cache)
    clf.fit_labelled(data)
    clf.save(out, report=True)
    t = clf.metrics["training"]
    print(f"saved {out} (best epoch {t['best_epoch']}, validation accuracy {t['best_val_accuracy']:.4f})")


@app.command()
def evaluate(
    model: Model,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="A labelled TSV/CSV to score (default: the full NSMC test set, every review)."),
    ] = None,
    data_dir: DataDir = None,
    text_col: TextCol = "document",
    label_col: LabelCol = "label",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    limit: Limit = None,
    device: Device = "auto",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Also write confusion_matrix.png, roc_curve.png, score_histogram.png and report.html here.",
        ),
    ] = None,
) -> None:
    """Accuracy, precision, recall, F1, ROC-AUC and confusion matrix on every row of a labelled file."""
    import ksent
    from ksent.data import nsmc_path, read_labelled
    from ksent.metrics import classification_report

    clf = ksent.load(model, device=device, progress=not as_json)
    labelled = read_labelled(data or nsmc_path("test", data_dir), text_col, label_col)
    if limit:
        labelled = labelled.head(limit)
    p_positive = clf.predict_proba(labelled.texts)[:, 1]
    report = {
        "model": str(model),
        "data": str(labelled.path),
        **classification_report(labelled.labels, p_positive),
    }
    if out is not None:
        from ksent.report import write_eval_report

        written = write_eval_report(out, report, labelled.labels, p_positive, str(labelled.path), str(model))
        print(f"wrote {', '.join(p.name for p in written)} to {out}", file=sys.stderr)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    (tn, fp), (fn, tp) = report["confusion_matrix"]
    print(f"{labelled.path}: {report['n']:,} reviews, every one predicted")
    for k in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        print(f"  {k:<10} {report[k]:.4f}")
    print("  confusion matrix (rows: true, columns: predicted)\n              neg     pos")
    print(f"  neg  {tn:>8,}{fp:>8,}\n  pos  {fn:>8,}{tp:>8,}")


@app.command()
def predict(
    model: Model,
    texts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Reviews to classify. With none and no --file, reads one review per line from stdin.",
            show_default=False,
        ),
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="UTF-8 file, one review per line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per review (JSON Lines).")] = False,
    device: Device = "auto",
) -> None:
    """Label (0 negative / 1 positive) and P(positive) for each review."""
    import ksent

    items = list(texts or [])
    if file is not None:
        try:
            items += file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise KsentError(f"file not found: {file}") from None
        except UnicodeDecodeError as e:
            raise KsentError(f"{file}: byte {e.start} is not UTF-8; save the file as UTF-8") from None
    if not texts and file is None:
        if sys.stdin.isatty():
            raise KsentError("no reviews given: pass TEXT arguments, --file FILE, or pipe reviews on stdin")
        items = sys.stdin.read().splitlines()
    if not items:
        raise KsentError("no reviews to classify (the input was empty)")
    clf = ksent.load(model, device=device)
    probs = clf.predict_proba(items)[:, 1]
    for text, p in zip(items, probs, strict=True):
        label = int(p >= 0.5)
        if as_json:
            print(
                json.dumps(
                    {
                        "text": text,
                        "label": label,
                        "sentiment": ("negative", "positive")[label],
                        "p_positive": round(float(p), 6),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            print(f"{label}\t{('negative', 'positive')[label]}\t{p:.4f}\t{text}")


@app.command()
def explain(
    model: Model,
    text: Annotated[str, typer.Argument(help="One review (quote it).", show_default=False)],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object with everything: tokens, evidence, every gate value.")
    ] = False,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also draw a heatmap (tokens × gate signals) to this PNG file.")
    ] = None,
    device: Device = "auto",
) -> None:
    """Open the LSTM on one review: per-token evidence, gates and cell state at every token."""
    import ksent
    from ksent.explain import plot, table

    ex = ksent.load(model, device=device).explain(text)
    if png is not None:
        plot(ex, png)
        print(f"wrote {png}", file=sys.stderr)
    if as_json:
        print(json.dumps(ex.to_dict(), ensure_ascii=False))
    else:
        from rich.console import Console

        Console().print(table(ex))


# --- ksent data ... ------------------------------------------------------------------------------

data_app = typer.Typer(no_args_is_help=True, help="Look at labelled data: statistics and plots.")
app.add_typer(data_app, name="data")


@data_app.command("stats")
def data_stats(
    data_dir: DataDir = None,
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            help="A labelled TSV/CSV instead of the NSMC train and test files. Repeatable: the first file "
            "is the reference whose vocabulary the others' OOV rate and truncation are measured against.",
        ),
    ] = None,
    text_col: TextCol = "document",
    label_col: LabelCol = "label",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for stats.json and the plots label_distribution.png, token_lengths.png, top_tokens.png.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    config: Annotated[
        str, typer.Option("--config", "-c", help="Preset (seed, default) or a JSON config file.")
    ] = "default",
    tokenizer: Annotated[
        str | None, typer.Option("--tokenizer", help="kiwi or okt (default: the config's).", show_default=False)
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config field: KEY=VALUE (e.g. --set max_len=40). Repeatable."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Characteristic tokens to show per label.", min=1)] = 15,
    top_min_count: Annotated[
        int, typer.Option("--top-min-count", help="Only tokens seen at least this often can be characteristic.", min=1)
    ] = 10,
    limit: Limit = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the token cache.")] = False,
) -> None:
    """Corpus statistics and plots of labelled reviews (default: NSMC train and test).

    Rows, label counts, what training would drop and why, lengths in characters and tokens, max_len
    truncation, vocabulary size and OOV rate by minimum count, and the tokens most characteristic of
    each label: weighted log-odds ratio with an informative Dirichlet prior (Monroe et al. 2008).
    Tokens are the model's: the config's cleaning, tokenizer and stopwords.
    """
    from ksent.classifier import SentimentClassifier
    from ksent.config import resolve
    from ksent.data import nsmc_path, read_labelled
    from ksent.stats import corpus_stats, format_table

    cfg = resolve(config, [*(overrides or []), *([f"tokenizer={tokenizer}"] if tokenizer else [])])
    if data:
        splits = {}
        for path in data:
            name = path.name if path.name not in splits else str(path)
            splits[name] = read_labelled(path, text_col, label_col)
    else:
        splits = {split: read_labelled(nsmc_path(split, data_dir)) for split in ("train", "test")}
    if limit:
        splits = {name: d.head(limit) for name, d in splits.items()}
    clf = SentimentClassifier(cfg, progress=not as_json, cache=not no_cache)
    stats = corpus_stats(splits, clf.tokens, cfg, top_k=top, top_min_count=top_min_count)
    if out is not None:
        from ksent import atomic
        from ksent.report import write_data_plots

        out.mkdir(parents=True, exist_ok=True)
        written = write_data_plots(out, stats)
        written.append(atomic.write_text(out / "stats.json", json.dumps(stats, ensure_ascii=False, indent=1)))
        print(f"wrote {', '.join(p.name for p in written)} to {out}", file=sys.stderr)
    if as_json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        print(format_table(stats))


def main() -> None:
    try:
        app()
    except KsentError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
