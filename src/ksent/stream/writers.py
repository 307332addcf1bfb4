"""Writers of scored files: one class per output format, each given chunks of input rows and their
scores and writing the input's columns followed by the new ones."""

import csv
import io
import json
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ksent.errors import KsentError
from ksent.stream.readers import Chunk


class Writer:
    """Writes (input columns + `new` columns) to the binary file `f`; `source` names the input in errors.
    `fresh=False`: `f` already holds the rows of an earlier, stopped run (no header again)."""

    def __init__(self, f: BinaryIO, header: list[str], new: list[str], source: str, fresh: bool = True):
        self.f, self.columns, self.new, self.source = f, header + new, new, source

    def write(self, chunk: Chunk, labels: np.ndarray, p: np.ndarray, n: np.ndarray) -> None:
        raise NotImplementedError

    @staticmethod
    def rows(chunk: Chunk, labels, p, n) -> list[list]:
        """The chunk's input rows, each followed by its label, P(positive) (6 decimals) and token count."""
        old = chunk.rows if isinstance(chunk.rows, list) else list(zip(*chunk.rows.to_pydict().values(), strict=True))
        return [[*r, int(lab), round(float(q), 6), int(k)] for r, lab, q, k in zip(old, labels, p, n, strict=True)]


class _LineWriter(Writer):
    """A text format of one header line, then one line per row (`_lines` writes them)."""

    def __init__(self, f: BinaryIO, header: list[str], new: list[str], source: str, fresh: bool = True):
        super().__init__(f, header, new, source, fresh)
        if fresh:
            self._lines([self.columns])

    def write(self, chunk: Chunk, labels, p, n) -> None:
        self._lines(self.rows(chunk, labels, p, n))

    def _lines(self, rows) -> None:
        raise NotImplementedError


class TsvWriter(_LineWriter):
    """Tab-separated, no quoting (as NSMC is written): a value holding a tab or a line break is an error."""

    def _lines(self, rows) -> None:
        buf = io.StringIO()
        for row in rows:
            cells = ["" if v is None else str(v) for v in row]
            if any("\t" in c or "\n" in c or "\r" in c for c in cells):
                raise KsentError(
                    f"{self.source}: a value holds a tab or a line break, which a TSV without quoting cannot "
                    f"hold: {row!r}; write .csv, .jsonl or .parquet instead"
                )
            buf.write("\t".join(cells) + "\n")
        self.f.write(buf.getvalue().encode("utf-8"))


class CsvWriter(_LineWriter):
    """Comma-separated with the csv module's quoting, "\\n" line ends."""

    def _lines(self, rows) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self.f.write(buf.getvalue().encode("utf-8"))


class JsonlWriter(Writer):
    """One JSON object per row, keys in column order, Hangul as is."""

    def write(self, chunk: Chunk, labels, p, n) -> None:
        objs = (dict(zip(self.columns, r, strict=True)) for r in self.rows(chunk, labels, p, n))
        self.f.write("".join(json.dumps(o, ensure_ascii=False, default=str) + "\n" for o in objs).encode("utf-8"))


class ParquetWriter(Writer):
    """One Parquet file per chunk (zstd) in the folder `f` names, joined into one file, a row group per
    chunk, by `join`. Files per chunk so that a run stopped between chunks resumes from the last one
    written (a Parquet file cannot be appended to: its footer comes last). The schema is fixed by the
    first chunk (int8 label, float32 P(positive), int32 token count) and read back from it on resuming."""

    def __init__(self, f: Path, header: list[str], new: list[str], source: str, fresh: bool = True):
        super().__init__(f, header, new, source, fresh)
        self.folder, self.schema = Path(f), None
        self.parts = sorted(self.folder.glob("*.parquet"))
        if self.parts:
            self.schema = _read(self.parts[0], lambda pq: pq.read_schema(self.parts[0]))

    def write(self, chunk: Chunk, labels, p, n) -> None:
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
            if self.schema is None:
                # a column that is null in the whole first chunk would fix the type to null: make it text
                fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
                self.schema = pa.schema(fields)
            table = table.cast(self.schema, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError) as e:
            raise KsentError(
                f"{self.source}: the rows of lines {chunk.lines[0]}–{chunk.lines[-1]} do not fit one Parquet type per "
                f"column ({e}); write JSON Lines instead (--out FILE.jsonl)"
            ) from None
        part = self.folder / f"{len(self.parts):08d}.parquet"
        tmp = part.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pq.write_table(table, f, compression="zstd")
            f.flush()
            os.fsync(f.fileno())  # on disk before the manifest counts it (the caller commits after this)
        os.replace(tmp, part)  # a part under its name is whole
        self.parts.append(part)

    def join(self, f: BinaryIO) -> None:
        """Write the parts, in order, into `f` as one Parquet file."""
        import pyarrow.parquet as pq

        if not self.parts:
            return
        with pq.ParquetWriter(f, self.schema, compression="zstd") as out:
            for part in self.parts:
                out.write_table(_read(part, lambda pq, part=part: pq.read_table(part, schema=self.schema)))


def _read(part: Path, read):
    """`read(pyarrow.parquet)` on a part written by an earlier run; a damaged one is one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return read(pq)
    except (OSError, pa.ArrowException) as e:
        raise KsentError(
            f"{part} (a part of an unfinished run) cannot be read ({e}); run without --resume to score from the start"
        ) from None


WRITERS: dict[str, type[Writer]] = {"tsv": TsvWriter, "csv": CsvWriter, "jsonl": JsonlWriter, "parquet": ParquetWriter}
OUT_FORMATS = tuple(WRITERS)
