"""Readers of files to score: each opens an input, says its columns and gives its rows in chunks.

Text formats are read a line (or a CSV record) at a time; Parquet a row group batch at a time.
A row that cannot be scored travels as a `BadRow` with the chunk it was met in.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ksent import delimited
from ksent.delimited import BadRow
from ksent.errors import KsentError

FORMATS = {".txt": "txt", ".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
TEXT_COLUMNS = ("text", "document", "review")  # tried in this order when no text column is named


def file_format(path: Path, fmt: str | None = None) -> str:
    """The format `fmt` names, checked, or the one `path`'s extension says."""
    if fmt is not None:
        if fmt not in FORMATS.values():
            raise KsentError(f"unknown format {fmt!r}; expected one of {sorted(set(FORMATS.values()))}")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise KsentError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; "
            f"use one of {', '.join(FORMATS)} or pass --format"
        ) from None


def text_column(header: list[str], text_col: str | None, path: Path) -> int:
    """Index of the column holding the reviews: `text_col`, else the first of TEXT_COLUMNS present."""
    if text_col is not None:
        if text_col not in header:
            raise KsentError(f"{path}:1: no column named {text_col!r} in the header {header}; name it with --text-col")
        return header.index(text_col)
    for name in TEXT_COLUMNS:
        if name in header:
            return header.index(name)
    raise KsentError(f"{path}:1: which column holds the reviews? The header is {header}; name it with --text-col")


@dataclass
class Chunk:
    """Rows of the input in file order: `lines[i]` is the 1-based line (a row number for Parquet)."""

    lines: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rows: list = field(default_factory=list)  # list of field lists (txt/tsv/csv) or dicts (jsonl); Parquet: a table


@dataclass
class Input:
    """An input opened for scoring. `chunks` yields (progress so far, Chunk, the BadRows met with it);
    progress and `total` count bytes of a text file, rows of a Parquet file (`counts_rows`)."""

    header: list[str]
    chunks: Iterator[tuple[int, Chunk, list[BadRow]]]
    total: int | None  # None for a stream: its size is unknown
    counts_rows: bool = False


@contextmanager
def open_input(source: Path | BinaryIO, fmt: str, text_col: str | None, chunk_rows: int) -> Iterator[Input]:
    """Open `source` (a path, or an open binary stream of a text format) and read its header;
    the file is closed on leaving (a stream is left open: it is the caller's)."""
    if fmt == "parquet":
        if not isinstance(source, Path):
            raise KsentError("Parquet is read from a file, not a stream")
        yield _parquet(source, text_col, chunk_rows)
        return
    path = source if isinstance(source, Path) else Path(getattr(source, "name", "<stdin>"))
    f = delimited.open_file(source) if isinstance(source, Path) else source
    try:
        header, rows = ROW_READERS[fmt](f, path, text_col)
        total = path.stat().st_size if isinstance(source, Path) else None
        yield Input(header, _chunks(rows, chunk_rows), total)
    finally:
        if isinstance(source, Path):
            f.close()


# --- text formats: (header, rows), rows yielding (bytes read so far, (line, text, fields) or BadRow) ----

Rows = Iterator[tuple[int, tuple[int, str, list] | BadRow]]


def _txt(f: BinaryIO, path: Path, text_col: str | None) -> tuple[list[str], Rows]:
    lines = delimited.Lines(f)

    def rows() -> Rows:
        for i, text, bad in lines:
            yield lines.pos, bad if bad is not None else (i, text, [text])

    return ["text"], rows()


def _table(delimiter: str):
    def read(f: BinaryIO, path: Path, text_col: str | None) -> tuple[list[str], Rows]:
        table = delimited.Table(f, path, delimiter)
        header = _unique(table.header, path)
        ti = text_column(header, text_col, path)

        def rows() -> Rows:
            for row in table:
                yield table.pos, row if isinstance(row, BadRow) else (row.line, row.fields[ti], row.fields)

        return header, rows()

    return read


def _unique(header: list[str], path: Path) -> list[str]:
    # the output holds the input's columns by name (JSON keys, Parquet fields): each needs its own
    if dup := sorted({h for h in header if header.count(h) > 1}):
        raise KsentError(f"{path}:1: the header names {dup} more than once; give every column its own name")
    return header


def _jsonl(f: BinaryIO, path: Path, text_col: str | None) -> tuple[list[str], Rows]:
    """The first object's keys name the columns; bad lines before it are reported after it."""
    lines = delimited.Lines(f)
    numbered = iter(lines)  # one pass: the loop below and `rows` share it
    early: list[tuple[int, BadRow]] = []
    first: tuple[int, dict] | None = None
    for i, line, bad in numbered:
        row = bad if bad is not None else _json_object(i, line)
        if isinstance(row, BadRow):
            early.append((lines.pos, row))
            continue
        first = (i, row)
        break
    if first is None:
        where = f" (line {early[0][1].line}: {early[0][1].reason})" if early else ""
        raise KsentError(f"{path} has no JSON object to read the column names from{where}")
    i, obj = first
    header = list(obj)
    try:
        ti = text_column(header, text_col, path)
    except KsentError as e:
        raise KsentError(str(e).replace(f"{path}:1:", f"{path}:{i}: the first object's keys:", 1)) from None

    def row(i: int, obj: dict) -> tuple[int, str, list] | BadRow:
        extra = [k for k in obj if k not in header]
        text = obj.get(header[ti])
        if extra:
            return BadRow(i, f"keys {extra} are not in the first object's keys {header}")
        if not isinstance(text, str):
            what = "missing" if header[ti] not in obj else "null" if text is None else type(text).__name__
            return BadRow(i, f"the text {header[ti]!r} is {what}; expected a string")
        return i, text, [obj.get(k) for k in header]

    def rows() -> Rows:
        yield from early
        yield lines.pos, row(i, obj)
        for j, line, bad in numbered:
            parsed = bad if bad is not None else _json_object(j, line)
            yield lines.pos, parsed if isinstance(parsed, BadRow) else row(j, parsed)

    return header, rows()


def _json_object(i: int, line: str) -> dict | BadRow:
    if not line.strip():
        return BadRow(i, "empty line; expected a JSON object")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return BadRow(i, f"not valid JSON ({e.msg} at column {e.colno})")
    if not isinstance(obj, dict):
        return BadRow(i, f"expected a JSON object, found {type(obj).__name__}")
    if "\\u" in line and not _utf8(json.dumps(obj, ensure_ascii=False)):
        return BadRow(i, "a \\u escape names half of a character (a lone surrogate)")
    return obj


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


ROW_READERS = {"txt": _txt, "tsv": _table(delimited.TAB), "csv": _table(","), "jsonl": _jsonl}


def _chunks(rows: Rows, chunk_rows: int) -> Iterator[tuple[int, Chunk, list[BadRow]]]:
    """Group a reader's rows into chunks; BadRows travel with the chunk they were met in."""
    chunk, bad, pos = Chunk(), [], 0
    for pos, item in rows:
        if isinstance(item, BadRow):
            bad.append(item)
            if len(bad) >= chunk_rows:  # a file of bad rows is bounded too
                yield pos, chunk, bad
                chunk, bad = Chunk(), []
            continue
        line, text, row = item
        chunk.lines.append(line)
        chunk.texts.append(text)
        chunk.rows.append(row)
        if len(chunk.texts) >= chunk_rows:
            yield pos, chunk, bad
            chunk, bad = Chunk(), []
    if chunk.texts or bad:
        yield pos, chunk, bad


# --- Parquet -----------------------------------------------------------------------------------


def _parquet(path: Path, text_col: str | None, chunk_rows: int) -> Input:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise KsentError("reading Parquet needs pyarrow: pip install 'ksent[parquet]'") from None
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise KsentError(f"{path}: not a readable Parquet file ({e})") from None
    header = pf.schema_arrow.names
    ti = text_column(header, text_col, path)
    kind = pf.schema_arrow.field(ti).type
    if not pa.types.is_string(kind) and not pa.types.is_large_string(kind):
        raise KsentError(f"{path}: column {header[ti]!r} is {kind}, expected strings")

    def chunks() -> Iterator[tuple[int, Chunk, list[BadRow]]]:
        done = 0
        for batch in pf.iter_batches(batch_size=chunk_rows):
            texts = batch.column(ti).to_pylist()
            nulls = [k for k, t in enumerate(texts) if t is None]
            bad = [BadRow(done + k + 1, f"the text {header[ti]!r} is null; expected a string") for k in nulls]
            table = pa.Table.from_batches([batch])
            if nulls:
                table = table.filter(pa.array([t is not None for t in texts]))
            lines = [done + k + 1 for k, t in enumerate(texts) if t is not None]
            done += batch.num_rows
            yield done, Chunk(lines, [t for t in texts if t is not None], table), bad

    return Input(header, chunks(), pf.metadata.num_rows, counts_rows=True)
