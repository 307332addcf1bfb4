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
"""

import glob
import os
import shutil
import tempfile
from pathlib import Path

from ksent import atomic, delimited
from ksent.errors import KsentError
from ksent.runtime import available_cpus, fault_handlers_kept
from ksent.stream import FORMATS, NEW_COLUMNS, file_format, text_column

BLOCK_BYTES = int(os.environ.get("KSENT_RAY_BLOCK_BYTES", 4 << 20))


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

        if self.text_col not in batch.column_names:
            raise KsentError(f"no column named {self.text_col!r} in {batch.column_names}; name it with text_col")
        if clash := [c for c in self.names if c in batch.column_names]:
            raise KsentError(f"the data already has column(s) {clash}; pass a prefix (e.g. 'pred_')")
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


def predict(
    dataset,
    model: str | Path | None = None,
    text_col: str = "text",
    prefix: str = "",
    batch_size: int = 4096,
    concurrency: int = 1,
    num_cpus: int = 1,
):
    """`dataset` (a `ray.data.Dataset`) with `label`, `p_positive` and `n_tokens` columns added.

    `model`: a model folder every node can read (default: the bundled model). `concurrency`
    actors, each with `num_cpus` CPUs (its analyser and torch threads). Lazy, like every Ray
    Data transform: nothing runs until the result is consumed or written.
    """
    ray = _ray()
    if concurrency < 1 or num_cpus < 1 or batch_size < 1:
        raise KsentError("concurrency, num_cpus and batch_size must each be at least 1")
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


def read(pattern: str, fmt: str | None = None, text_col: str | None = None):
    """(`ray.data.Dataset` over the files `pattern` names — a local glob, or a remote file/folder —,
    the text column). Without `text_col`, the first of text/document/review in a local file's header."""
    ray = _ray()
    import pyarrow as pa
    import pyarrow.csv as pacsv

    paths = _paths(pattern)
    free = {"num_cpus": 0}  # the model actors hold the CPUs; reading must not wait for them
    first = Path(paths[0] if isinstance(paths, list) else pattern.rstrip("/"))
    fmt = file_format(first, fmt) if fmt or first.suffix.lower() in FORMATS else "parquet"
    header = _header(first, fmt) if isinstance(paths, list) else None
    if text_col is None:
        text_col = "text" if header is None or fmt == "txt" else header[text_column(header, None, first)]
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


def _header(path: Path, fmt: str) -> list[str] | None:
    """Column names of a local file, read on the driver (None for formats without a header line)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).schema_arrow.names
    if fmt not in ("tsv", "csv"):
        return None
    return delimited.read_header(path, delimited.TAB if fmt == "tsv" else ",")


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
    ds, text_col = read(pattern, fmt, text_col)
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


def _cause(e: BaseException) -> str:
    """The innermost message of a Ray error chain (a KsentError from a batch, usually)."""
    while True:
        inner = getattr(e, "cause", None) or e.__cause__
        if inner is None or inner is e:
            break
        e = inner
    text = str(e).strip().splitlines()
    return text[-1] if text else type(e).__name__
