"""Scoring a file of any size on one machine: read a chunk, score it, write it, forget it.

Memory is bounded by one chunk (`chunk_rows` rows: their texts, tokens and padded ids) plus the
model, whatever the size of the file. Formats, chosen by file extension (or `fmt`):

  txt      one review per line, no header (the column is called "text")
  tsv      header row, tab-separated, no quoting (as NSMC is written)
  csv      header row, comma-separated, standard quoting
  jsonl    one JSON object per line
  parquet  any Parquet file (read a row group batch at a time; needs pyarrow)

Every input column is carried to the output beside `label`, `p_positive` and `n_tokens` (with
`prefix` in front of those names when the input already uses them). The output is written through
a temp file that replaces `out` only when every row is scored: a crash leaves no file that looks
complete. A bad row (bytes that are not UTF-8, a wrong number of fields, a line that is not a
JSON object, a missing or null text) stops the run with its file and line, or, with
`on_error="skip"`, is skipped, counted and reported (`Summary`). Nothing is dropped silently.
"""

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ksent import atomic
from ksent.errors import KsentError
from ksent.predict import THRESHOLD
from ksent.progress import bar, notice

FORMATS = {".txt": "txt", ".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
OUT_FORMATS = ("tsv", "csv", "jsonl", "parquet")
NEW_COLUMNS = ("label", "p_positive", "n_tokens")
TEXT_COLUMNS = ("text", "document", "review")  # tried in this order when no text column is named
CHUNK_ROWS = 20_000
SHOWN_ERRORS = 5


def file_format(path: Path, fmt: str | None = None) -> str:
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


class BadRow(Exception):
    """A row that cannot be scored: raised by the readers, stopped on or skipped by `score_file`."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


@dataclass
class Chunk:
    """Rows of the input in file order: `lines[i]` is the 1-based line (a row number for Parquet)."""

    lines: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rows: list = field(default_factory=list)  # list of field lists (txt/tsv/csv) or dicts (jsonl); Parquet: a table


# --- readers: first (header, index of the text column), then for each row (bytes read so far,
# (line, text, fields) or BadRow) ------------------------------------------------------------------


def _lines(f: BinaryIO, path: Path, start: int = 1) -> Iterator[tuple[int, int, str | BadRow]]:
    """(line number, bytes read, decoded line without its newline, or BadRow if it is not UTF-8)."""
    pos = 0
    for i, raw in enumerate(f, start):
        pos += len(raw)
        if i == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield i, pos, BadRow(i, f"byte {e.start} of the line ({raw[e.start : e.start + 1]!r}) is not UTF-8")
            continue
        yield i, pos, line.removesuffix("\n").removesuffix("\r")


def _pick_text_col(header: list[str], text_col: str | None, path: Path) -> int:
    if text_col is not None:
        if text_col not in header:
            raise KsentError(f"{path}:1: no column named {text_col!r} in the header {header}; name it with --text-col")
        return header.index(text_col)
    for name in TEXT_COLUMNS:
        if name in header:
            return header.index(name)
    raise KsentError(f"{path}:1: which column holds the reviews? The header is {header}; name it with --text-col")


def _read_txt(f: BinaryIO, path: Path, text_col: str | None):
    yield ["text"], None
    for i, pos, line in _lines(f, path):
        yield pos, line if isinstance(line, BadRow) else (i, line, [line])


def _read_tsv(f: BinaryIO, path: Path, text_col: str | None):
    lines = _lines(f, path)
    first = next(lines, None)
    if first is None:
        raise KsentError(f"{path} is empty; expected a header row naming the text column")
    if isinstance(first[2], BadRow):
        raise KsentError(f"{path}:1: the header is not UTF-8; re-save the file as UTF-8")
    header = _check_header([h.strip() for h in first[2].split("\t")], path)
    ti = _pick_text_col(header, text_col, path)
    yield header, ti
    for i, pos, line in lines:
        if isinstance(line, BadRow):
            yield pos, line
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            yield (
                pos,
                BadRow(i, f"expected {len(header)} tab-separated fields ({', '.join(header)}), found {len(fields)}"),
            )
        else:
            yield pos, (i, fields[ti], fields)


def _read_csv(f: BinaryIO, path: Path, text_col: str | None):
    # Bytes that are not UTF-8 pass through as surrogates so the csv module keeps its quote state
    # (dropping a line inside a quoted review would merge the rows after it); a record holding
    # one is a bad row. strict=True makes an unterminated quote an error, not a silent merge.
    phys: list[int] = []  # physical line numbers of the lines the csv reader has taken, from `base`
    base, pos = 0, 0

    def decoded() -> Iterator[str]:
        nonlocal pos
        for i, raw in enumerate(f, 1):
            pos += len(raw)
            phys.append(i)
            if i == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            yield raw.decode("utf-8", "surrogateescape").removesuffix("\n").removesuffix("\r") + "\n"

    def span() -> tuple[int, int]:  # lines of the record the reader just gave; forget older lines
        nonlocal base, phys
        taken = reader.line_num - base
        first, last = (phys[0], phys[max(taken - 1, 0)]) if phys else (0, 0)
        phys, base = phys[taken:], reader.line_num
        return first, last

    def where(first: int, last: int) -> str:
        return "" if first == last else f" (the record runs to line {last})"

    reader = csv.reader(decoded(), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise KsentError(f"{path}:1: malformed CSV header ({e})") from None
    if header is None:
        raise KsentError(f"{path} is empty; expected a header row naming the text column")
    if not _utf8(header):
        raise KsentError(f"{path}:1: the header is not UTF-8; re-save the file as UTF-8")
    span()
    header = _check_header([h.strip() for h in header], path)
    ti = _pick_text_col(header, text_col, path)
    yield header, ti
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            first, last = span()
            yield pos, BadRow(first, f"malformed CSV ({e}){where(first, last)}")
            continue
        first, last = span()
        if not _utf8(fields):
            yield pos, BadRow(first, f"bytes that are not UTF-8{where(first, last)}")
        elif len(fields) != len(header):
            n = len(header)
            yield pos, BadRow(first, f"expected {n} comma-separated fields ({', '.join(header)}), found {len(fields)}")
        else:
            yield pos, (first, fields[ti], fields)


def _utf8(fields: list[str]) -> bool:
    try:
        for x in fields:
            x.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_header(header: list[str], path: Path) -> list[str]:
    if dup := sorted({h for h in header if header.count(h) > 1}):
        raise KsentError(f"{path}:1: the header names {dup} more than once; give every column its own name")
    return header


def _read_jsonl(f: BinaryIO, path: Path, text_col: str | None):
    header, ti = None, None
    early: list[tuple[int, BadRow]] = []  # bad lines before the first object, reported after the header

    def bad(pos: int, row: BadRow) -> list:
        if header is None:  # nothing may come before the header: hold it until then
            early.append((pos, row))
            return []
        return [(pos, row)]

    for i, pos, line in _lines(f, path):
        if isinstance(line, BadRow):
            yield from bad(pos, line)
            continue
        if not line.strip():
            yield from bad(pos, BadRow(i, "empty line; expected a JSON object"))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield from bad(pos, BadRow(i, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(obj, dict):
            yield from bad(pos, BadRow(i, f"expected a JSON object, found {type(obj).__name__}"))
            continue
        if "\\u" in line and not _utf8([json.dumps(obj, ensure_ascii=False)]):
            yield from bad(pos, BadRow(i, "a \\u escape names half of a character (a lone surrogate)"))
            continue
        if header is None:  # the first object's keys name the columns
            header = list(obj)
            try:
                ti = _pick_text_col(header, text_col, path)
            except KsentError as e:
                raise KsentError(str(e).replace(f"{path}:1:", f"{path}:{i}: the first object's keys:", 1)) from None
            yield header, ti
            yield from early
        extra = [k for k in obj if k not in header]
        text = obj.get(header[ti])
        if extra:
            yield pos, BadRow(i, f"keys {extra} are not in the first object's keys {header}")
        elif not isinstance(text, str):
            what = "missing" if header[ti] not in obj else "null" if text is None else type(text).__name__
            yield pos, BadRow(i, f"the text {header[ti]!r} is {what}; expected a string")
        else:
            yield pos, (i, text, [obj.get(k) for k in header])
    if header is None:
        where = f" (line {early[0][1].line}: {early[0][1].reason})" if early else ""
        raise KsentError(f"{path} has no JSON object to read the column names from{where}")


READERS = {"txt": _read_txt, "tsv": _read_tsv, "csv": _read_csv, "jsonl": _read_jsonl}


def _chunks(items, chunk_rows: int) -> Iterator[tuple[int, Chunk, list[BadRow]]]:
    """Group a reader's rows into chunks; BadRows travel with the chunk they were met in."""
    chunk, bad, pos = Chunk(), [], 0
    for pos, item in items:
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


def _parquet_chunks(path: Path, text_col: str | None, chunk_rows: int):
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
    ti = _pick_text_col(header, text_col, path)
    if not pa.types.is_string(pf.schema_arrow.field(ti).type) and not pa.types.is_large_string(
        pf.schema_arrow.field(ti).type
    ):
        raise KsentError(f"{path}: column {header[ti]!r} is {pf.schema_arrow.field(ti).type}, expected strings")
    yield header, ti, pf.metadata.num_rows
    done = 0
    for batch in pf.iter_batches(batch_size=chunk_rows):
        texts = batch.column(ti).to_pylist()
        nulls = [k for k, t in enumerate(texts) if t is None]
        bad = [BadRow(done + k + 1, f"the text {header[ti]!r} is null; expected a string") for k in nulls]
        table = pa.Table.from_batches([batch])
        if nulls:
            keep = pa.array([t is not None for t in texts])
            table = table.filter(keep)
        lines = [done + k + 1 for k, t in enumerate(texts) if t is not None]
        done += batch.num_rows
        yield done, Chunk(lines, [t for t in texts if t is not None], table), bad


# --- writers -----------------------------------------------------------------------------------


class _Writer:
    """Writes chunks of (input columns + new columns) to a binary file in one output format."""

    def __init__(self, f: BinaryIO, fmt: str, header: list[str], new: list[str], source: str):
        self.f, self.fmt, self.columns, self.new, self.source = f, fmt, header + new, new, source
        self.schema, self.parquet = None, None
        if fmt in ("tsv", "csv"):
            self._table_row([self.columns])

    def _table_row(self, rows) -> None:
        buf = io.StringIO()
        if self.fmt == "csv":
            csv.writer(buf, lineterminator="\n").writerows(rows)
        else:
            for row in rows:
                cells = ["" if v is None else str(v) for v in row]
                if any("\t" in c or "\n" in c or "\r" in c for c in cells):
                    raise KsentError(
                        f"{self.source}: a value holds a tab or a line break, which a TSV without quoting cannot "
                        f"hold: {row!r}; write .csv, .jsonl or .parquet instead"
                    )
                buf.write("\t".join(cells) + "\n")
        self.f.write(buf.getvalue().encode("utf-8"))

    def write(self, chunk: Chunk, labels, p, n) -> None:
        if self.fmt == "parquet":
            return self._write_parquet(chunk, labels, p, n)
        old = chunk.rows if isinstance(chunk.rows, list) else list(zip(*chunk.rows.to_pydict().values(), strict=True))
        rows = [[*r, int(lab), round(float(q), 6), int(k)] for r, lab, q, k in zip(old, labels, p, n, strict=True)]
        if self.fmt == "jsonl":
            objs = (dict(zip(self.columns, r, strict=True)) for r in rows)
            self.f.write("".join(json.dumps(o, ensure_ascii=False, default=str) + "\n" for o in objs).encode("utf-8"))
        else:
            self._table_row(rows)

    def _write_parquet(self, chunk: Chunk, labels, p, n) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            if isinstance(chunk.rows, list):
                old = self.columns[: -len(self.new)]
                table = pa.table({c: [r[k] for r in chunk.rows] for k, c in enumerate(old)})
            else:
                table = chunk.rows
            new = (np.asarray(labels, dtype=np.int8), np.asarray(p, dtype=np.float32), np.asarray(n, dtype=np.int32))
            for name, values in zip(self.new, new, strict=True):
                table = table.append_column(name, pa.array(values))
            if self.parquet is None:
                # a column that is null in the whole first chunk would fix the type to null: make it text
                fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
                self.schema = pa.schema(fields)
                self.parquet = pq.ParquetWriter(self.f, self.schema, compression="zstd")
            table = table.cast(self.schema, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError) as e:
            raise KsentError(
                f"{self.source}: the rows of lines {chunk.lines[0]}–{chunk.lines[-1]} do not fit one Parquet type per "
                f"column ({e}); write JSON Lines instead (--out FILE.jsonl)"
            ) from None
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.fmt == "parquet" and self.parquet is not None:
            self.parquet.close()


# --- the job -----------------------------------------------------------------------------------


@dataclass
class Summary:
    """What `score_file` did: rows scored, rows skipped (with their lines and reasons), time."""

    source: str
    out: str | None
    scored: int = 0
    skipped: int = 0
    first_skipped: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        where = f" -> {self.out}" if self.out else ""
        text = f"scored {self.scored:,} rows of {self.source}{where} in {self.seconds:.1f} s ({self.rate:,.0f} rows/s)"
        if self.skipped:
            shown = "; ".join(f"line {line}: {reason}" for line, reason in self.first_skipped)
            more = ", …" if self.skipped > len(self.first_skipped) else ""
            text += f"; skipped {self.skipped:,} bad rows ({shown}{more})"
        return text


def score_file(
    clf,
    source: str | Path | BinaryIO,
    out: str | Path | None = None,
    *,
    text_col: str | None = None,
    fmt: str | None = None,
    out_fmt: str | None = None,
    prefix: str = "",
    on_error: str = "raise",
    chunk_rows: int = CHUNK_ROWS,
    progress: bool = True,
    emit=None,
) -> Summary:
    """Score every row of `source` with the fitted classifier `clf`, a chunk at a time.

    `out`: the file to write (format from its extension or `out_fmt`); with None, each chunk's
    `Prediction` records go to `emit(records)` instead (what `ksent predict` prints).
    `source` may be an open binary stream (stdin) of txt/tsv/csv/jsonl when `fmt` is given.
    """
    if on_error not in ("raise", "skip"):
        raise KsentError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if chunk_rows < 1:
        raise KsentError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if out is None and emit is None:
        raise KsentError("give an output file (out) or a function for the records (emit)")
    stream = not isinstance(source, str | Path)
    name = getattr(source, "name", "<stdin>") if stream else str(source)
    path = Path(name)
    fmt = file_format(path, fmt)
    if out is not None:
        out = Path(out)
        out_fmt = out_fmt or FORMATS.get(out.suffix.lower())
        if out_fmt not in OUT_FORMATS:
            raise KsentError(f"{out}: write .tsv, .csv, .jsonl or .parquet (or pass the output format)")
        if not stream and out.resolve() == path.resolve():
            raise KsentError(f"--out {out} is the input file; write the scores to another file")
    summary = Summary(name, None if out is None else str(out))
    started = time.perf_counter()

    if fmt == "parquet":
        if stream:
            raise KsentError("Parquet is read from a file, not a stream")
        items = _parquet_chunks(path, text_col, chunk_rows)
        header, ti, total = next(items)
        chunks = items
    else:
        if not stream and not path.is_file():
            raise KsentError(f"file not found: {path}" if not path.exists() else f"{path} is not a file")
        f = source if stream else open(path, "rb")  # noqa: SIM115 - closed below, or by the finally further on
        try:
            rows = READERS[fmt](f, path, text_col)
            header, ti = next(rows)
        except BaseException:
            if not stream:
                f.close()
            raise
        total = None if stream else path.stat().st_size
        chunks = _chunks(rows, chunk_rows)
    new = [prefix + c for c in NEW_COLUMNS]
    if out is not None and (clash := [c for c in new if c in header]):
        if fmt != "parquet" and not stream:
            f.close()
        raise KsentError(
            f"{name} already has column(s) {clash}; pass --prefix (e.g. --prefix pred_) to name the new ones"
        )

    def run(writer: _Writer | None) -> None:
        with bar("scoring", total or 0, progress and total is not None, counts=fmt == "parquet") as advance:
            seen = 0
            for pos, chunk, bad in chunks:
                for b in bad:
                    if on_error == "raise":
                        raise KsentError(
                            f"{name}:{b.line}: {b.reason}. Fix the row, or pass --on-error skip to skip and count "
                            "bad rows"
                        )
                    summary.skipped += 1
                    if len(summary.first_skipped) < SHOWN_ERRORS:
                        summary.first_skipped.append((b.line, b.reason))
                if chunk.texts:
                    records = clf.predict_records(chunk.texts)
                    if writer is None:
                        emit(records)
                    else:
                        p = np.fromiter((r.p_positive for r in records), np.float64, len(records))
                        n = np.fromiter((r.n_tokens for r in records), np.int64, len(records))
                        writer.write(chunk, (p >= THRESHOLD).astype(np.int8), p, n)
                    summary.scored += len(chunk.texts)
                rate = summary.scored / max(time.perf_counter() - started, 1e-9)
                advance(pos - seen, info=f"{summary.scored:,} rows · {rate:,.0f} rows/s")
                seen = pos
        if summary.scored == 0:  # nothing to write: never replace `out` with an empty file
            raise KsentError(f"{name} has no rows to score" + (f": {summary.describe()}" if summary.skipped else ""))

    try:
        if out is None:
            run(None)
        else:
            with atomic.replacing(out) as fo:
                writer = _Writer(fo, out_fmt, header, new, name)
                try:
                    run(writer)
                finally:
                    writer.close()  # Parquet's footer; on an error the temp file is removed anyway
    finally:
        if fmt != "parquet" and not stream:
            f.close()
    summary.seconds = time.perf_counter() - started
    if progress or summary.skipped:  # skipped rows are always reported
        notice(summary.describe())
    return summary
