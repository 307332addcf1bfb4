"""The driver: `score_file` reads an input a chunk at a time, scores it and writes or emits it."""

import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ksent import atomic
from ksent.errors import KsentError
from ksent.predict import THRESHOLD
from ksent.progress import bar, notice
from ksent.stream.readers import FORMATS, Input, file_format, open_input
from ksent.stream.writers import OUT_FORMATS, WRITERS

NEW_COLUMNS = ("label", "p_positive", "n_tokens")
CHUNK_ROWS = 20_000
SHOWN_ERRORS = 5


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
    emit: Callable | None = None,
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
    is_path = isinstance(source, str | Path)
    name = str(source) if is_path else getattr(source, "name", "<stdin>")
    path = Path(name)
    fmt = file_format(path, fmt)
    if out is not None:
        out = Path(out)
        out_fmt = out_fmt or FORMATS.get(out.suffix.lower())
        if out_fmt not in OUT_FORMATS:
            raise KsentError(f"{out}: write .tsv, .csv, .jsonl or .parquet (or pass the output format)")
        if is_path and out.resolve() == path.resolve():
            raise KsentError(f"--out {out} is the input file; write the scores to another file")
    summary = Summary(name, None if out is None else str(out))
    started = time.perf_counter()
    with open_input(path if is_path else source, fmt, text_col, chunk_rows) as rows:
        new = [prefix + c for c in NEW_COLUMNS]
        if out is None:
            _score(clf, rows, lambda chunk, records: emit(records), summary, on_error, progress, started)
        else:
            if clash := [c for c in new if c in rows.header]:
                raise KsentError(
                    f"{name} already has column(s) {clash}; pass --prefix (e.g. --prefix pred_) to name the new ones"
                )
            # the writer closes (Parquet's footer) before the temp file replaces `out`, or is removed on an error
            with atomic.replacing(out) as f, closing(WRITERS[out_fmt](f, rows.header, new, name)) as writer:
                take = lambda chunk, records: writer.write(chunk, *_scores(records))  # noqa: E731
                _score(clf, rows, take, summary, on_error, progress, started)
    summary.seconds = time.perf_counter() - started
    if progress or summary.skipped:  # skipped rows are always reported
        notice(summary.describe())
    return summary


def _scores(records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, P(positive), token counts) of a chunk's `Prediction` records, as the writers take them."""
    p = np.fromiter((r.p_positive for r in records), np.float64, len(records))
    n = np.fromiter((r.n_tokens for r in records), np.int64, len(records))
    return (p >= THRESHOLD).astype(np.int8), p, n


def _score(clf, rows: Input, take: Callable, summary: Summary, on_error: str, progress: bool, started: float) -> None:
    """Score `rows` chunk by chunk, handing each chunk and its records to `take`; count bad rows in
    `summary`, or stop at the first with `on_error="raise"`."""
    with bar("scoring", rows.total or 0, progress and rows.total is not None, counts=rows.counts_rows) as advance:
        seen = 0
        for pos, chunk, bad in rows.chunks:
            for b in bad:
                if on_error == "raise":
                    raise KsentError(
                        f"{summary.source}:{b.line}: {b.reason}. Fix the row, or pass --on-error skip to skip and "
                        "count bad rows"
                    )
                summary.skipped += 1
                if len(summary.first_skipped) < SHOWN_ERRORS:
                    summary.first_skipped.append((b.line, b.reason))
            if chunk.texts:
                take(chunk, clf.predict_records(chunk.texts))
                summary.scored += len(chunk.texts)
            rate = summary.scored / max(time.perf_counter() - started, 1e-9)
            advance(pos - seen, info=f"{summary.scored:,} rows · {rate:,.0f} rows/s")
            seen = pos
    if summary.scored == 0:  # nothing to write: never replace `out` with an empty file
        raise KsentError(
            f"{summary.source} has no rows to score" + (f": {summary.describe()}" if summary.skipped else "")
        )
