"""Reading delimited text files, streamed: NSMC's TSV and any CSV, a row at a time with its line.

The one reader of such files: `ksent.data` (labelled files for training and evaluation),
`ksent.stream` (files to score, of any size; `ksent.ray` checks its inputs' headers through it) use it.

  TSV  a tab between fields and no quoting, exactly as NSMC was written (a `"` is text)
  CSV  the usual quoting (a quoted field may hold commas and line breaks); any delimiter but a tab

Lines end at "\\n" (a "\\r" before it is dropped); a byte-order mark at the start is skipped.
Memory is one record, whatever the size of the file. A row that cannot be read is yielded as a
`BadRow` with its line and reason, and the caller decides: stop (training data) or skip and count
(scoring). A file that has no usable header stops at once with its file, line and fix.
"""

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ksent.errors import KsentError

TAB = "\t"
BOM = b"\xef\xbb\xbf"


class BadRow(Exception):
    """A row that cannot be read or scored: yielded by the readers (never raised by them); `line` is
    1-based (a row number for Parquet)."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


class BadBytes(BadRow):
    """A row holding bytes that are not UTF-8: `offset` is the first such byte's offset in the file,
    `offset_line` the line it is on (a quoted CSV record may span lines)."""

    def __init__(self, line: int, reason: str, offset: int, offset_line: int, byte: bytes):
        super().__init__(line, reason)
        self.offset, self.offset_line, self.byte = offset, offset_line, byte


class Row(NamedTuple):
    line: int  # 1-based line the row starts on
    fields: list[str]


def open_file(path: Path) -> BinaryIO:
    """`path` opened for binary reading, or a KsentError saying why it cannot be."""
    if not path.is_file():
        if not path.exists():
            raise KsentError(f"file not found: {path}")
        raise KsentError(f"{path} is {'a folder' if path.is_dir() else 'not a regular file'}; expected a file to read")
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as e:
        raise KsentError(f"cannot read {path}: {e.strerror}") from None


class Lines:
    """The lines of a binary file, decoded, without their line break: (line number, text, BadBytes or
    None). A line that is not UTF-8 comes with its bad bytes as surrogates (so a CSV parser keeps its
    quote state) and a BadBytes. `pos` is the number of bytes read so far (for progress bars)."""

    def __init__(self, f: BinaryIO):
        self.f, self.pos = f, 0

    def __iter__(self) -> Iterator[tuple[int, str, BadBytes | None]]:
        for i, raw in enumerate(self.f, 1):
            start = self.pos
            self.pos += len(raw)
            if i == 1 and raw.startswith(BOM):
                raw, start = raw[len(BOM) :], start + len(BOM)
            raw = raw.removesuffix(b"\n").removesuffix(b"\r")
            try:
                text, bad = raw.decode("utf-8"), None
            except UnicodeDecodeError as e:
                byte = raw[e.start : e.start + 1]
                text = raw.decode("utf-8", "surrogateescape")
                bad = BadBytes(i, f"byte {e.start} of the line ({byte!r}) is not UTF-8", start + e.start, i, byte)
            yield i, text, bad


def separator_name(delimiter: str) -> str:
    return "tab" if delimiter == TAB else repr(delimiter)


class Table:
    """A delimited file with a header row. Reading the header happens here (an empty file or an
    unreadable header is a KsentError); iterating gives a `Row` or a `BadRow` for each record after it,
    in file order. Header names are stripped of surrounding spaces; every row must have as many fields."""

    def __init__(self, f: BinaryIO, path: Path, delimiter: str = TAB):
        self.path, self.delimiter, self.separator = path, delimiter, separator_name(delimiter)
        self.lines = Lines(f)
        self._records = self._tsv() if delimiter == TAB else self._csv()
        first = next(self._records, None)
        if first is None:
            raise KsentError(f"{path} is empty; expected a header row naming its columns")
        if isinstance(first, BadBytes):
            raise KsentError(
                f"{path}:{first.offset_line}: the header is not UTF-8 (byte offset {first.offset}, {first.byte!r}); "
                "re-save the file as UTF-8 (e.g. iconv -f cp949 -t utf-8)"
            )
        if isinstance(first, BadRow):
            raise KsentError(f"{path}:{first.line}: the header cannot be read: {first.reason}")
        self.header = [h.strip() for h in first.fields]

    @property
    def pos(self) -> int:
        """Bytes read so far."""
        return self.lines.pos

    def __iter__(self) -> Iterator[Row | BadRow]:
        n = len(self.header)
        for row in self._records:
            if isinstance(row, BadRow) or len(row.fields) == n:
                yield row
            else:
                yield BadRow(
                    row.line,
                    f"expected {n} {self.separator}-separated fields ({', '.join(self.header)}), "
                    f"found {len(row.fields)}",
                )

    def _tsv(self) -> Iterator[Row | BadRow]:
        for i, text, bad in self.lines:
            yield bad if bad is not None else Row(i, text.split(TAB))

    def _csv(self) -> Iterator[Row | BadRow]:
        # Bytes that are not UTF-8 reach the csv module as surrogates, so it keeps its quote state
        # (dropping a line inside a quoted review would merge the rows after it); the record holding
        # them is a BadBytes. strict=True makes an unterminated quote an error, not a silent merge.
        taken: list[tuple[int, BadBytes | None]] = []  # the lines the csv reader has read, not yet given out
        base = 0  # reader.line_num when `taken` was last emptied

        def feed() -> Iterator[str]:
            for i, text, bad in self.lines:
                taken.append((i, bad))
                yield text + "\n"

        def span() -> tuple[int, int, BadBytes | None]:  # the record just read: first line, last line, bad bytes
            nonlocal base, taken
            k = reader.line_num - base  # the csv reader counts the lines it is fed: k == len(taken)
            mine, taken, base = taken[:k], taken[k:], reader.line_num
            if not mine:
                return 0, 0, None
            return mine[0][0], mine[-1][0], next((b for _, b in mine if b is not None), None)

        reader = csv.reader(feed(), delimiter=self.delimiter, strict=True)
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                first, last, _ = span()
                yield BadRow(first, f"malformed CSV ({e}){_runs_to(first, last)}")
                continue
            first, last, bad = span()
            if bad is not None:
                reason = f"bytes that are not UTF-8{_runs_to(first, last)}"
                yield BadBytes(first, reason, bad.offset, bad.offset_line, bad.byte)
            else:
                yield Row(first, fields)


def _runs_to(first: int, last: int) -> str:
    return "" if first == last else f" (the record runs to line {last})"


def read_header(path: Path, delimiter: str = TAB) -> list[str]:
    """The column names of a delimited file (its first record), read without reading further."""
    with open_file(path) as f:
        return Table(f, path, delimiter).header
