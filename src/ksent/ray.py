"""Batch scoring on Ray Data, for more reviews than one machine should score (`pip install 'ksent[ray]'`).

>>> import ray, ksent.ray                                                   # doctest: +SKIP
>>> ds = ray.data.read_parquet("s3://bucket/reviews/")                      # doctest: +SKIP
>>> scored = ksent.ray.predict(ds, text_col="review")                        # doctest: +SKIP
>>> scored.write_datasink(ksent.ray.parquet_sink("s3://bucket/scores/"))    # doctest: +SKIP

Each Ray actor loads the model and the analyser once and scores batch after batch
(`map_batches` with a callable class). The scores are those of `SentimentClassifier.predict_proba`
in one process, row for row. Ray keeps the input's row order only when the dataset context asks
for it (`ray.data.DataContext.get_current().execution_options.preserve_order = True`), and then
only up to the writer: Ray's own `write_parquet` hands each file's batches to pyarrow's
multi-threaded `write_dataset` without `preserve_order`, which swaps batches inside a file
(measured: 68,928 of 1,000,000 rows out of place). `parquet_sink` writes each block in order; the
CLI (`ksent predict --engine ray`) sets `preserve_order` and uses it. The model folder must be
readable at the same path on every node (the bundled model always is). See docs/scale.md.

A lost worker costs time, not rows: a scoring actor whose process dies (killed, out of memory, its
node gone) is restarted, model and all, and the batches it held are scored again, each row once in
the output. At most `RESTARTS` times per actor and per batch (`max_restarts`, `max_task_retries`;
3, or `KSENT_RAY_RESTARTS`): Ray Data's own default is forever, which turns a batch that kills its
process every time into a job that never ends. A batch that raises (a `KsentError`: a null text)
is never retried, as scoring it again would fail again: Ray Data retries only system errors unless
its `DataContext` says otherwise (`actor_task_retry_on_errors`, `retried_map_errors`: leave them
off). `score_files` stops with ksent's own message, not Ray's wrapping of it, and checks what it can
before any actor starts: the text column, and the new columns' names against every local file's
header, with the local engine's words.
"""

import glob
import inspect
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from ksent import atomic
from ksent.errors import KsentError
from ksent.runtime import available_cpus, fault_handlers_kept
from ksent.stream import FORMATS, NEW_COLUMNS, file_format, text_column
from ksent.stream.readers import open_input

BLOCK_BYTES = int(os.environ.get("KSENT_RAY_BLOCK_BYTES", 4 << 20))
RESTARTS = int(os.environ.get("KSENT_RAY_RESTARTS", 3))  # per actor and per batch: see the module's docstring


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the extra's point
    except ImportError:
        raise KsentError("the Ray engine needs Ray Data: pip install 'ksent[ray]'") from None
    return ray


class Scorer:
    """The callable class each Ray actor builds once: model + analyser, then one call per batch."""

    def __init__(self, model: str | None, text_col: str, prefix: str, threads: int):
        import torch

        from ksent.classifier import load  # here, not at the top: the driver needs no torch

        torch.set_num_threads(threads)  # one actor per CPU it asked Ray for, no oversubscription
        self.clf = load(model, workers=threads)
        self.text_col, self.names = text_col, [prefix + c for c in NEW_COLUMNS]

    def __call__(self, batch):
        import numpy as np
        import pyarrow as pa

        _check_columns(batch.column_names, self.text_col, self.names)
        texts = batch.column(self.text_col).to_pylist()
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            i = bad[0]
            shown = {k: v for k, v in batch.slice(i, 1).to_pylist()[0].items() if k != self.text_col}
            raise KsentError(
                f"{len(bad)} of {len(texts)} rows in a batch have no text in {self.text_col!r} "
                f"(the first: {texts[i]!r}, row {shown}); filter or fill them before scoring"
            )
        records = self.clf.predict_records(texts)
        p = np.fromiter((r.p_positive for r in records), np.float32, len(records))
        values = (
            np.fromiter((r.label for r in records), np.int8, len(records)),
            p,
            np.fromiter((r.n_tokens for r in records), np.int32, len(records)),
        )
        for name, v in zip(self.names, values, strict=True):
            batch = batch.append_column(name, pa.array(v))
        return batch


def _check_columns(names: list[str], text_col: str, new: list[str]) -> None:
    if text_col not in names:
        raise KsentError(f"no column named {text_col!r} in {names}; name it with text_col")
    if clash := [c for c in new if c in names]:
        raise KsentError(f"the data already has column(s) {clash}; pass a prefix (e.g. 'pred_')")


def predict(
    dataset,
    model: str | Path | None = None,
    text_col: str = "text",
    prefix: str = "",
    batch_size: int = 4096,
    concurrency: int = 1,
    num_cpus: int = 1,
    max_restarts: int = RESTARTS,
):
    """`dataset` (a `ray.data.Dataset`) with `label`, `p_positive` and `n_tokens` columns added.

    `model`: a model folder every node can read (default: the bundled model). `concurrency`
    actors, each with `num_cpus` CPUs (its analyser and torch threads). An actor whose process
    dies is restarted and its batches scored again, at most `max_restarts` times (-1: forever).
    Lazy, like every Ray Data transform: nothing runs until the result is consumed or written;
    the columns are checked now when Ray already knows the schema, else in the first batch.
    """
    ray = _ray()
    if concurrency < 1 or num_cpus < 1 or batch_size < 1:
        raise KsentError("concurrency, num_cpus and batch_size must each be at least 1")
    if max_restarts < -1:
        raise KsentError(f"max_restarts must be -1 (forever) or more, got {max_restarts}")
    if (schema := dataset.schema(fetch_if_missing=False)) is not None:  # known without reading anything
        _check_columns(list(schema.names), text_col, [prefix + c for c in NEW_COLUMNS])
    restarts = {}
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(dataset.map_batches).parameters.values()):
        # A dead actor's process is started again and the batches it held re-run there. A batch's own
        # error (a KsentError) is no system error: Ray Data does not retry it. Ray 2.60 deprecates these
        # `**ray_remote_args` (its named parameters have no restarts) and 2.64 removes them; Ray's own
        # default is then left: restarts and retries without end.
        restarts = {"max_restarts": max_restarts, "max_task_retries": max_restarts}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return dataset.map_batches(
            Scorer,
            fn_constructor_kwargs={
                "model": None if model is None else str(Path(model).resolve()),
                "text_col": text_col,
                "prefix": prefix,
                "threads": num_cpus,
            },
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_cpus=num_cpus,
            **restarts,
        )


def parquet_sink(path: str, compression: str = "zstd"):
    """A Ray Data datasink writing one Parquet file per block, rows in block order
    (`dataset.write_datasink(parquet_sink(folder))`); files sort by name in dataset order.

    Ray's `write_parquet` may reorder rows inside a file (see the module's docstring)."""
    _ray()
    import pyarrow.parquet as pq
    from ray.data.datasource import BlockBasedFileDatasink

    class ParquetSink(BlockBasedFileDatasink):
        def write_block_to_file(self, block, file) -> None:
            pq.write_table(block.to_arrow(), file, compression=compression)  # one thread, in order

    return ParquetSink(path, file_format="parquet")


def _paths(pattern: str) -> list[str] | str:
    if "://" in pattern:
        return pattern  # a remote file or folder: Ray's readers list it (no glob patterns there)
    paths = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
    if not paths:
        raise KsentError(f"no file matches {pattern!r}")
    return paths


def read(pattern: str, fmt: str | None = None, text_col: str | None = None, prefix: str | None = None):
    """(`ray.data.Dataset` over the files `pattern` names — a local glob, or a remote file/folder —,
    the text column). Without `text_col`, the first of text/document/review in a local file's header.

    Local files are checked on the driver first, as the local engine checks them and with its
    messages: a readable header naming the text column and, given `prefix`, none of the names
    the new columns will take."""
    return _read(*_inputs(pattern, fmt, text_col, prefix))


def _inputs(
    pattern: str, fmt: str | None, text_col: str | None, prefix: str | None
) -> tuple[list[str] | str, str, list[str] | None, str]:
    """(paths, format, the first file's columns (None for a remote input), text column), each
    local file's header read and checked here, on the driver, before Ray starts anything."""
    paths = _paths(pattern)
    first = Path(paths[0] if isinstance(paths, list) else pattern.rstrip("/"))
    fmt = file_format(first, fmt) if fmt or first.suffix.lower() in FORMATS else "parquet"
    header = None
    for path in map(Path, paths if isinstance(paths, list) else []):
        names, col = _columns(path, fmt, text_col)
        if header is None:
            header, text_col = names, col  # every other file must name the first file's text column
        if prefix is not None and (clash := [prefix + c for c in NEW_COLUMNS if prefix + c in names]):
            # the local engine's words (ksent.stream.score), so both engines say the same
            raise KsentError(
                f"{path} already has column(s) {clash}; pass --prefix (e.g. --prefix pred_) to name the new ones"
            )
    return paths, fmt, header, text_col or "text"


def _read(paths: list[str] | str, fmt: str, header: list[str] | None, text_col: str):
    ray = _ray()
    import pyarrow as pa
    import pyarrow.csv as pacsv

    free = {"num_cpus": 0}  # the model actors hold the CPUs; reading must not wait for them
    # every column of a text file stays text, as the local engine writes it ("007" stays "007")
    strings = pacsv.ConvertOptions(column_types={c: pa.string() for c in header or [text_col]})
    if fmt == "parquet":
        return ray.data.read_parquet(paths, **free), text_col
    if fmt == "csv":
        opts = pacsv.ParseOptions(newlines_in_values=True)  # a quoted review may span lines
        return ray.data.read_csv(paths, parse_options=opts, convert_options=strings, **free), text_col
    if fmt == "tsv":  # as NSMC is written: tabs, no quoting
        opts = pacsv.ParseOptions(delimiter="\t", quote_char=False)
        return ray.data.read_csv(paths, parse_options=opts, convert_options=strings, **free), text_col
    if fmt == "jsonl":
        return ray.data.read_json(paths, lines=True, **free), text_col
    ds = ray.data.read_text(paths, drop_empty_lines=False, **free)  # one review per line, column "text"
    return (ds if text_col == "text" else ds.rename_columns({"text": text_col})), text_col


def _columns(path: Path, fmt: str, text_col: str | None) -> tuple[list[str], str]:
    """(column names, text column) of a local file, read on the driver by the local engine's reader
    (header only), so that a missing text column or a bad header stops with its message."""
    if fmt == "txt":
        return [text_col or "text"], text_col or "text"  # Ray's read_text names the one column "text"
    with open_input(path, fmt, text_col, chunk_rows=1) as rows:
        header = rows.header
    return header, header[text_column(header, text_col, path)]


def score_files(
    pattern: str,
    out: str,
    model: str | Path | None = None,
    text_col: str | None = None,
    fmt: str | None = None,
    out_fmt: str = "parquet",
    prefix: str = "",
    concurrency: int = 1,
    num_cpus: int = 1,
    batch_size: int = 4096,
) -> str:
    """Read `pattern`, score it, write `out` (a folder of Parquet/CSV/JSON files, in input order).

    A local `out` is written into a temp folder beside it and renamed into place when every row
    is written; it must not exist yet."""
    ray = _ray()
    if out_fmt not in ("parquet", "csv", "jsonl"):
        raise KsentError(f"--out-format must be parquet, csv or jsonl for the Ray engine, got {out_fmt!r}")
    local = "://" not in out
    if os.environ.get("RAY_ADDRESS") and (local or "://" not in pattern):
        raise KsentError(
            "on a Ray cluster, --file and --out must be URIs every node reaches (s3://, gs://, abfs://, ...): "
            "a local path exists on this machine only, and rows written on other nodes would be lost"
        )
    if local and os.path.exists(out):
        raise KsentError(f"{out} exists; the Ray engine writes a new folder: remove it or choose another --out")
    inputs = _inputs(pattern, fmt, text_col, prefix)  # before Ray's start-up (seconds): a wrong column stops now
    # ray.init replaces the process's fault handlers: a JVM already running here (Okt) needs its own back
    with fault_handlers_kept():
        if not ray.is_initialized() and os.environ.get("RAY_ADDRESS"):
            ray.init(logging_level="ERROR", log_to_driver=False)  # join the cluster RAY_ADDRESS names
        elif not ray.is_initialized():
            # A local Ray on this machine: one logical CPU more than it has, so the tasks that list,
            # read and write files never wait behind model actors that hold every CPU.
            ray.init(num_cpus=available_cpus() + 1, logging_level="ERROR", log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    # Blocks of at most a few MiB: a file read as one big block would go to one actor, however many wait.
    ctx.target_max_block_size = min(ctx.target_max_block_size or BLOCK_BYTES, BLOCK_BYTES)
    ds, text_col = _read(*inputs)
    ds = predict(ds, model, text_col, prefix, batch_size, concurrency, num_cpus)
    target = tempfile.mkdtemp(dir=Path(out).resolve().parent, prefix=f".{Path(out).name}.") if local else out
    try:
        write = {
            "parquet": lambda t, **kw: ds.write_datasink(parquet_sink(t), **kw),
            "csv": ds.write_csv,
            "jsonl": ds.write_json,
        }[out_fmt]
        try:
            write(target, ray_remote_args={"num_cpus": 0})  # as reading: never wait for the actors' CPUs
        except Exception as e:  # Ray wraps a failing batch; show its cause, not Ray's stack
            raise KsentError(f"scoring {pattern} failed: {_cause(e)}") from None
        if local:
            os.chmod(target, atomic.dir_mode())
            os.replace(target, out)
    finally:
        if local and os.path.exists(target):
            shutil.rmtree(target)
    return out


# How Python prints a chained exception; Ray's RayTaskError carries the worker's traceback as this text.
_CHAINED = "The above exception was the direct cause of the following exception:"
_KSENT = f"{KsentError.__module__}.{KsentError.__qualname__}: "


def _cause(e: BaseException) -> str:
    """The message to show for a failed Ray job: ksent's own when a batch raised a KsentError.

    Ray Data wraps an exception raised in a batch in a UserCodeException (its message: "UDF
    failed to process a data block" and advice on retries), and Ray ships that to the driver
    inside a RayTaskError without its `__cause__` (pickling drops it): the KsentError survives
    only as text, in the worker's traceback that the RayTaskError prints. Another error in a
    batch: its last line there ("ValueError: ..."); anything else: the first line of the
    innermost error (Ray appends its advice on the lines after)."""
    from ray.exceptions import RayTaskError

    chain: list[BaseException] = []
    while e is not None and all(e is not c for c in chain):
        chain.append(e)
        e = getattr(e, "cause", None) or e.__cause__
    for link in reversed(chain):  # a KsentError that travelled as itself (raise_original_map_exception)
        if isinstance(link, KsentError) and not isinstance(link, RayTaskError):
            return str(link).strip().split("\n")[0]
    for link in chain:
        if not isinstance(link, RayTaskError):
            continue
        # the last line of each of the worker's chained exceptions, the batch's own first
        last = [b.strip().splitlines()[-1] for b in str(link).split(_CHAINED) if b.strip()]
        if raised := [line.removeprefix(_KSENT) for line in last if line.startswith(_KSENT)]:
            return raised[-1]  # the KsentError the batch raised, after any it was raised from
        if last:
            return last[0]
    text = str(chain[-1]).strip().splitlines()
    return text[0] if text else type(chain[-1]).__name__
