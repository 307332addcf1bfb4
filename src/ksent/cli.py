"""`ksent train | evaluate | predict | explain | data stats | info`: thin typed wrappers over the Python API.

Results go to stdout, everything else (progress, notices, errors) to stderr.
"""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ksent.config import PRESETS
from ksent.errors import KsentError

PRESET_HELP = f"Preset ({', '.join(PRESETS)}) or a JSON config file."

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
Int8 = Annotated[
    bool,
    typer.Option(
        "--int8", help="Run an export's int8 copy (`ksent export --int8`; the bundled model has one): faster, ~0.1 pt."
    ),
]
Model = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="A model folder written by `ksent train`, or an export by `ksent export` (default: the model bundled "
        "with ksent; its export where torch is not installed).",
        show_default=False,
    ),
]
Limit = Annotated[int | None, typer.Option("--limit", help="Use only the first N rows (quick runs).", min=1)]
AnalyserThreads = Annotated[
    int | None,
    typer.Option(
        "--analyser-threads",
        help="Threads of the morphological analyser (default: $KSENT_WORKERS, else the CPUs this process may use).",
        min=1,
        show_default=False,
    ),
]
OldWorkers = Annotated[  # --workers until the release after next; its meaning was the command's own
    int | None, typer.Option("--workers", min=1, hidden=True, show_default=False)
]
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Do not read or write ksent's caches (tokens; a teacher's answers).")
]


def _renamed(new: str, value, old_value):
    """The value of option `new`, or of the old `--workers` spelling with a one-line notice on stderr."""
    if old_value is None:
        return value
    if value is not None:
        raise KsentError(f"--workers is the old name of {new}; give only {new}")
    print(f"warning: --workers is deprecated and will be removed in the next release; use {new}", file=sys.stderr)
    return old_value


def _version(value: bool) -> None:
    if value:
        from ksent._version import __version__

        print(f"ksent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print ksent's version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Korean review sentiment with an LSTM."""


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write (replaced atomically).")],
    config: Annotated[str, typer.Option("--config", "-c", help=PRESET_HELP)] = "default",
    data_dir: DataDir = None,
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Train on this labelled TSV/CSV instead of NSMC's ratings_train.txt.")
    ] = None,
    text_col: TextCol = "document",
    label_col: LabelCol = "label",
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a config field: KEY=VALUE (e.g. --set epochs=3). Repeatable. A list is comma-separated "
            "or JSON (--set stopwords=[] for none); views is a JSON object.",
        ),
    ] = None,
    stopwords: Annotated[
        Path | None, typer.Option("--stopwords", help="Stopword file, one per line (default: the seed's list).")
    ] = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            "--teacher",
            help="A model folder trained on the same file, for configs that learn from one (distilled): "
            "its answers join the labels in the training targets.",
        ),
    ] = None,
    limit: Limit = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted run from its checkpoint (.OUT.checkpoint beside --out, saved after every "
            "epoch): with the same config, data, teacher and device it ends with the same model; another run's "
            "checkpoint is refused. With none there, training starts from the beginning.",
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Discard the checkpoint of an earlier run at .OUT.checkpoint and train from the start (without "
            "--resume or --restart, a checkpoint there is refused, so a rerun cannot lose its epochs).",
        ),
    ] = False,
    device: Device = "auto",
    analyser_threads: AnalyserThreads = None,
    workers: OldWorkers = None,
    no_cache: NoCache = False,
) -> None:
    """Train a model and save it as a folder (model.safetensors, config.json, vocab.json, metrics.json).

    The folder also gets learning_curves.png, confusion_matrix.png, roc_curve.png and
    score_histogram.png (on the validation split) and report.html, which shows them all. Every
    finished epoch is checkpointed in .OUT.checkpoint beside it (removed once the model is saved),
    from which --resume continues a run that was stopped.
    """
    from ksent import checkpoint
    from ksent.classifier import SentimentClassifier
    from ksent.config import resolve
    from ksent.data import nsmc_path, read_labelled
    from ksent.text import read_stopwords

    threads = _renamed("--analyser-threads", analyser_threads, workers)
    if resume and restart:
        raise KsentError("--resume continues a checkpoint and --restart discards it: choose one")
    cfg = resolve(config, overrides)
    if stopwords is not None:
        cfg.stopwords = list(read_stopwords(stopwords))
    data = read_labelled(train_file or nsmc_path("train", data_dir), text_col, label_col)
    if limit:
        data = data.head(limit)
    clf = SentimentClassifier(cfg, device=device, progress=True, cache=not no_cache, workers=threads, teacher=teacher)
    saved = checkpoint.beside(out)
    try:
        clf.fit_labelled(data, checkpoint=saved, resume=resume, restart=restart)
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM (main's handler)
        if (saved / "checkpoint.json").is_file():
            how = "with --resume instead of --restart" if restart else "with --resume"
            said = f"stopped: {saved} keeps the finished epochs; the same command {how} continues"
            print(said, file=sys.stderr)
        raise
    clf.save(out, report=True)
    checkpoint.remove(saved)  # only now: until the model folder is written, the checkpoint is the run
    t = clf.metrics_["training"]
    print(f"saved {out} (best epoch {t['best_epoch']}, validation accuracy {t['best_val_accuracy']:.4f})")


@app.command()
def evaluate(
    model: Model = None,
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
    analyser_threads: AnalyserThreads = None,
    workers: OldWorkers = None,
    no_cache: NoCache = False,
    int8: Int8 = False,
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
    from ksent.predict import evaluation, format_evaluation

    threads = _renamed("--analyser-threads", analyser_threads, workers)
    from ksent.exported import ExportedClassifier

    clf = ksent.load(model, device=device, progress=not as_json, workers=threads, int8=int8)
    if not isinstance(clf, ExportedClassifier):  # an export keeps no token cache
        clf.set_params(cache=not no_cache)
    labelled = read_labelled(data or nsmc_path("test", data_dir), text_col, label_col)
    if limit:
        labelled = labelled.head(limit)
    p_positive = clf.predict_proba(labelled.texts)[:, 1]
    name = str(model) if model is not None else "bundled"
    report = evaluation(labelled.labels, p_positive, str(labelled.path), name)
    if out is not None:
        from ksent.report import write_eval_report

        written = write_eval_report(out, report, labelled.labels, p_positive, str(labelled.path), name)
        print(f"wrote {', '.join(p.name for p in written)} to {out}", file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False) if as_json else format_evaluation(report))


@app.command()
def predict(
    model: Model = None,
    texts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Reviews to classify. With none and no --file, reads one review per line from stdin.",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            help="Reviews to score, streamed a chunk at a time: .txt (one review per line), .tsv, .csv, .jsonl or "
            ".parquet (with a header/keys; see --text-col). With --engine ray: a glob or a remote folder.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the input's columns plus label, p_positive and n_tokens to this .tsv/.csv/.jsonl/.parquet "
            "file (atomically) instead of printing. With --engine ray: a new folder.",
            show_default=False,
        ),
    ] = None,
    text_col: Annotated[
        str | None,
        typer.Option(
            "--text-col", help="The column holding the reviews (default: text, document or review, the first present)."
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="Input format when the extension does not say: txt, tsv, csv, jsonl, parquet."),
    ] = None,
    prefix: Annotated[
        str,
        typer.Option("--prefix", help="Put this in front of the new columns' names (when the input has a 'label')."),
    ] = "",
    on_error: Annotated[
        str,
        typer.Option(
            "--on-error",
            help="A bad row (not UTF-8, wrong fields, null text): raise (stop with its file and line) or skip "
            "(skip it, count it, report the first lines at the end).",
        ),
    ] = "raise",
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", help="Rows scored at a time (memory is bounded by one chunk).", min=1)
    ] = 20_000,
    engine: Annotated[
        str, typer.Option("--engine", help="local (this process) or ray (Ray Data; RAY_ADDRESS names a cluster).")
    ] = "local",
    out_format: Annotated[
        str | None,
        typer.Option(
            "--out-format",
            help="Output format when --out's extension does not say: tsv, csv, jsonl, parquet. With --engine ray: "
            "the format of the files in the --out folder (default parquet).",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", help="With --engine ray: model actors, each with --cpus-per-actor CPUs (1).", min=1
        ),
    ] = 1,
    cpus_per_actor: Annotated[
        int | None,
        typer.Option(
            "--cpus-per-actor",
            help="With --engine ray: CPUs Ray gives each model actor, its analyser and torch threads (1).",
            min=1,
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object per review (JSON Lines): text, label, sentiment, score (confidence of the "
            "label), p_positive, n_tokens (tokens the model read; 0 = nothing to read).",
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue a run to the same --out that stopped (crash, Ctrl-C, a lost machine) from its last "
            "complete chunk; the file ends byte for byte as an unstopped run's. Same --file (unchanged), model and "
            "options, or it is refused.",
        ),
    ] = False,
    device: Device = "auto",
    int8: Int8 = False,
    analyser_threads: AnalyserThreads = None,
    workers: OldWorkers = None,  # with --engine ray it counted each actor's CPUs
) -> None:
    """Label (0 negative / 1 positive), its name and P(positive) for each review; or score a whole file."""
    import ksent
    from ksent.predict import format_prediction

    if engine not in ("local", "ray"):
        raise KsentError(f"--engine must be local or ray, got {engine!r}")
    if on_error not in ("raise", "skip"):
        raise KsentError(f"--on-error must be raise or skip, got {on_error!r}")
    if out is not None and texts:
        raise KsentError("--out writes the scores of a --file; put the reviews in a file, or leave --out off")
    if out is not None and as_json:
        raise KsentError("--json is for printed records; with --out the format comes from the file name (.jsonl)")
    if resume and (file is None or out is None):
        raise KsentError("--resume continues a --file scored into an --out file; give both")
    if resume and engine == "ray":
        raise KsentError("--resume is for the local engine; on Ray a lost worker's batches are retried by Ray")
    if engine == "ray":
        if analyser_threads is not None:
            raise KsentError("with --engine ray each actor's threads are its CPUs: use --cpus-per-actor")
        cpus_per_actor = _renamed("--cpus-per-actor", cpus_per_actor, workers)
        if file is None or out is None:
            raise KsentError("--engine ray needs --file (a glob or a remote folder) and --out (a new folder)")
        if on_error != "raise":
            raise KsentError("--on-error skip is for the local engine; on Ray a bad row fails the job with its reason")
        from ksent.exported import is_export

        if int8 or (model is not None and is_export(model)):
            raise KsentError("--engine ray runs model folders (torch) for now; score an export with the local engine")
        from ksent.ray import score_files

        score_files(
            file,
            str(out),
            model,
            text_col,
            fmt,
            out_format or "parquet",
            prefix,
            concurrency,
            num_cpus=cpus_per_actor or 1,
            batch_size=min(chunk_rows, 4096),
        )
        print(f"wrote {out}", file=sys.stderr)
        return

    def show(records) -> None:
        for record in records:
            print(json.dumps(record.to_dict(), ensure_ascii=False) if as_json else format_prediction(record))

    if cpus_per_actor is not None:
        raise KsentError("--cpus-per-actor is for --engine ray; here the analyser's threads are --analyser-threads")
    clf = ksent.load(model, device=device, workers=_renamed("--analyser-threads", analyser_threads, workers), int8=int8)
    if texts:
        show(clf.predict_records(texts))
    if file is None and texts:
        return
    if file is None and sys.stdin.isatty():
        raise KsentError("no reviews given: pass TEXT arguments, --file FILE, or pipe reviews on stdin")
    from ksent.stream import score_file  # here: reviews given as arguments start sooner without it

    source = sys.stdin.buffer if file is None else file
    if file is None and fmt is None:
        fmt = "txt"
    score_file(
        clf,
        source,
        out,
        text_col=text_col,
        fmt=fmt,
        out_fmt=out_format,
        prefix=prefix,
        on_error=on_error,
        chunk_rows=chunk_rows,
        progress=out is not None,  # printed records are the progress otherwise
        emit=None if out is not None else show,
        resume=resume,
    )


@app.command()
def explain(
    text: Annotated[str, typer.Argument(help="One review (quote it).", show_default=False)],
    model: Model = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object with everything: tokens, evidence, every gate value.")
    ] = False,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also draw a heatmap (tokens × gate signals) to this PNG file.")
    ] = None,
    member: Annotated[
        int,
        typer.Option(
            "--member",
            help="For an ensemble: which member's gates to show (0-based), per unit it reads: a syllable member's "
            "per character, a piece member's per piece; a linear member has none.",
            min=0,
        ),
    ] = 0,
    device: Device = "auto",
) -> None:
    """Open the LSTM on one review: per-token evidence, gates and cell state at every token."""
    import ksent
    from ksent.explain import plot, table

    ex = ksent.load(model, device=device).explain(text, member=member)
    if png is not None:
        plot(ex, png)
        print(f"wrote {png}", file=sys.stderr)
    if as_json:
        print(json.dumps(ex.to_dict(), ensure_ascii=False))
    else:
        from rich.console import Console

        Console().print(table(ex))


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Export folder to write (replaced atomically).")],
    model: Model = None,
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write model.int8.onnx (ONNX Runtime's dynamic int8 quantization).")
    ] = False,
) -> None:
    """Export a model to ONNX: a folder that `ksent predict --model` and `ksent.load` run without torch."""
    from ksent.export import describe
    from ksent.export import export as export_model

    written = export_model(model, out, int8=int8)
    print(f"wrote {written}: {describe(written)}", file=sys.stderr)


@app.command()
def serve(
    model: Model = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on: this machine only unless told (no authentication).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port.", min=1, max=65535)] = 8000,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            help="Server processes (uvicorn workers), each with its own copy of the model and its share of the "
            "CPUs (1).",
            min=1,
            show_default=False,
        ),
    ] = None,
    device: Device = "auto",
    int8: Int8 = False,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="KSENT_API_KEY",
            help="Every /v1 request must send Authorization: Bearer KEY (the page asks for it). Prefer the "
            "KSENT_API_KEY variable: a command line is visible to other users of the machine.",
            show_default=False,
        ),
    ] = None,
    no_api_key: Annotated[
        bool,
        typer.Option(
            "--no-api-key",
            help="Listen on a non-loopback --host without a key: anyone who reaches the port may use the API.",
        ),
    ] = False,
    max_queue: Annotated[
        int | None,
        typer.Option(
            "--max-queue",
            help="Requests admitted at once per process (64); one more gets 503 with Retry-After.",
            min=1,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds a request may wait for the model, queue included (30); then 504.",
            min=0.001,
            show_default=False,
        ),
    ] = None,
    root_path: Annotated[
        str,
        typer.Option(
            "--root-path",
            help="The path prefix a reverse proxy serves ksent under (e.g. /ksent; the proxy forwards requests "
            "without it): the page, its assets, its API calls and /docs then resolve under it.",
        ),
    ] = "",
    workers: OldWorkers = None,  # it counted server processes
) -> None:
    """Serve a model over HTTP: a JSON API and a web page in Korean.

    POST /v1/predict {"texts": [...]} gives the records of `ksent predict --json`; POST /v1/explain
    {"text": "..."} those of `ksent explain --json`; GET /v1/model describes the model; /docs has the
    OpenAPI documentation; / is the page. The model loads once, at start-up. Other settings come from
    KSENT_SERVE_* variables (see ksent.serve.settings); analyser threads from KSENT_WORKERS.
    """
    import dataclasses
    import os

    processes = _renamed("--processes", processes, workers) or 1
    if root_path and (not root_path.startswith("/") or "//" in root_path or any(c in root_path for c in '?#"<>')):
        raise KsentError(f"--root-path is a URL path such as /ksent, got {root_path!r}")

    try:
        import uvicorn

        from ksent.serve.settings import Settings
    except ImportError as e:
        raise KsentError(
            f"ksent serve needs the serve extra ({e.name} is missing): pip install 'ksent[serve]'"
        ) from None
    from ksent.loading import locate
    from ksent.runtime import available_cpus

    # Read here (JSON and weights, no analyser), so that a missing or damaged model ends in one line
    # rather than in a worker's start-up traceback.
    settings = Settings.from_env()
    if api_key is not None and no_api_key:
        raise KsentError(
            "--no-api-key, but a key is set (--api-key, or the KSENT_API_KEY variable): drop one of the two"
        )
    settings = dataclasses.replace(
        settings,
        api_key=api_key if api_key is not None else settings.api_key,  # '' is refused, not 'no key'
        max_queue=max_queue or settings.max_queue,
        timeout_s=timeout or settings.timeout_s,
    )
    if not _loopback(host) and settings.api_key is None and not no_api_key:
        raise KsentError(
            f"--host {host} is reachable from other machines and no API key is set: anyone who reaches port "
            f"{port} could use the API. Set one (KSENT_API_KEY=$(openssl rand -hex 32), or --api-key), or pass "
            "--no-api-key to serve it open"
        )
    int8 = int8 or settings.int8  # --int8, else KSENT_SERVE_INT8
    where, exported = locate(model, int8)
    if exported:
        from ksent.exported import ExportedClassifier

        ExportedClassifier(where, int8=int8)
    else:
        from ksent import artifacts
        from ksent.classifier import BUNDLED

        if where is None and not (BUNDLED / "config.json").is_file():
            raise KsentError(f"this ksent installation has no bundled model ({BUNDLED} is missing); pass --model DIR")
        artifacts.load(where if where is not None else BUNDLED)
    # Several processes share the CPUs: each gets its share of torch and analyser threads.
    threads = max(1, available_cpus() // processes) if processes > 1 else None
    settings = dataclasses.replace(
        settings, model=model.resolve() if model else None, device=device, int8=int8, threads=threads
    )
    os.environ.update(settings.to_env())  # each worker process builds its app from these (the key too)
    if not _loopback(host) and settings.api_key is None:
        print(
            f"warning: listening on {host} without an API key: anyone who can reach this port can use the API",
            file=sys.stderr,
        )
    import copy

    # uvicorn logs requests to stdout by default; ksent keeps stdout for results, so logs go to stderr
    logging = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logging["handlers"]["access"]["stream"] = "ext://sys.stderr"
    uvicorn.run(
        "ksent.serve.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_config=logging,
        root_path=root_path.rstrip("/"),
        # uvicorn kills a worker process that does not answer its ping within this many seconds. A worker
        # importing torch and loading a model holds the GIL for seconds at a time; at uvicorn's default (5)
        # a busy 2-core machine saw a loading worker killed and restarted ("Child process died").
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


WORKER_HEALTHCHECK_S = 60


def _loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


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
    config: Annotated[str, typer.Option("--config", "-c", help=PRESET_HELP)] = "default",
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", help="kiwi, okt or subword (default: the config's).", show_default=False),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a config field: KEY=VALUE (e.g. --set max_len=40). Repeatable. A list is comma-separated "
            "or JSON (--set stopwords=[] for none); views is a JSON object.",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Characteristic tokens to show per label.", min=1)] = 15,
    top_min_count: Annotated[
        int, typer.Option("--top-min-count", help="Only tokens seen at least this often can be characteristic.", min=1)
    ] = 10,
    limit: Limit = None,
    analyser_threads: AnalyserThreads = None,
    workers: OldWorkers = None,
    no_cache: NoCache = False,
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

    threads = _renamed("--analyser-threads", analyser_threads, workers)
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
    clf = SentimentClassifier(cfg, progress=not as_json, cache=not no_cache, workers=threads)
    tokens = clf.tokens
    if cfg.tokenizer == "subword":  # pieces learnt from the first file's kept rows, as training learns them
        from ksent.data import clean_training
        from ksent.features import FeatureSet, Run

        reader = FeatureSet.from_config(cfg).tokens
        reader.learn(clean_training(next(iter(splits.values())), clean=cfg.clean)[0].texts, Run())

        def tokens(texts):
            return reader.read(texts, clf._run(len(texts)))

    stats = corpus_stats(splits, tokens, cfg, top_k=top, top_min_count=top_min_count)
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


@app.command()
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of lines.")] = False,
) -> None:
    """Versions of ksent, Python, PyTorch, ONNX Runtime and the analysers, and the device and CPUs ksent would use."""
    import platform

    import ksent
    from ksent.loading import has_torch
    from ksent.runtime import available_cpus, default_workers
    from ksent.text.tokenizers import package_version, provenance

    torch = None
    if has_torch():  # an install without torch (the runtime) runs exports on ONNX Runtime
        import torch
    cuda = torch is not None and torch.cuda.is_available()
    facts = {
        "ksent": ksent.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__ if torch is not None else None,
        "onnxruntime": package_version("onnxruntime"),
        **{pkg: ver for name in ("kiwi", "okt", "subword") for pkg, ver in provenance(name)["packages"].items()},
        "device": "cuda" if cuda else "cpu",
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "cpus_available": available_cpus(),
        "analyser_workers": default_workers(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "platform": platform.platform(),
    }
    if as_json:
        print(json.dumps(facts, ensure_ascii=False))
    else:
        for key, value in facts.items():
            print(f"{key:<17} {value if value is not None else '-'}")


# the packages of ksent[train] that the core install lacks, and what a command that needs one says
TRAINING = {
    "torch": "this needs ksent's training install: pip install 'ksent[train]'",
    "safetensors": "this needs ksent's training install: pip install 'ksent[train]'",
    "matplotlib": "plots need matplotlib and the Hangul font: pip install matplotlib koreanize-matplotlib "
    "(both come with ksent[train])",
}


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: temp files of unfinished writes are removed


def main() -> None:
    import signal

    previous = signal.signal(signal.SIGTERM, _terminated)  # `kill` and job schedulers stop with SIGTERM
    try:
        app()
    except KsentError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except ModuleNotFoundError as e:  # a command of the training install run on the runtime one
        if e.name not in TRAINING:
            raise
        print(f"error: {e.name} is not installed: {TRAINING[e.name]}", file=sys.stderr)
        sys.exit(2)
    finally:  # a caller that runs main() in its own process (tests, embedding) gets its handler back
        signal.signal(signal.SIGTERM, previous)
