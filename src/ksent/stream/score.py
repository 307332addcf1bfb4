"""The driver: `score_file` reads an input a chunk at a time, scores it and writes or emits it."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ksent.errors import KsentError
from ksent.predict import THRESHOLD
from ksent.progress import bar, notice
from ksent.stream import resume as resuming
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
    resumed: int = 0  # rows scored by an earlier, stopped run this one continued

    @property
    def rate(self) -> float:
        """Rows per second of this run (not counting the rows of the run it resumed)."""
        return (self.scored - self.resumed) / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        where = f" -> {self.out}" if self.out else ""
        took = f"in {self.seconds:.1f} s ({self.rate:,.0f} rows/s)"
        if self.resumed:
            took = f"({self.resumed:,} before resuming; the rest {took})"
        text = f"scored {self.scored:,} rows of {self.source}{where} {took}"
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
    resume: bool = False,
) -> Summary:
    """Score every row of `source` with the fitted classifier `clf`, a chunk at a time.

    `out`: the file to write (format from its extension or `out_fmt`); with None, each chunk's
    `Prediction` records go to `emit(records)` instead (what `ksent predict` prints).
    `source` may be an open binary stream (stdin) of txt/tsv/csv/jsonl when `fmt` is given.
    `resume`: continue a run to the same `out` that stopped (crash, Ctrl-C, SIGKILL) from its last
    complete chunk (`ksent.stream.resume`); the result equals an uninterrupted run's, byte for byte.
    """
    if on_error not in ("raise", "skip"):
        raise KsentError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if chunk_rows < 1:
        raise KsentError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if out is None and emit is None:
        raise KsentError("give an output file (out) or a function for the records (emit)")
    is_path = isinstance(source, str | Path)
    if resume and (out is None or not is_path):
        raise KsentError("resuming needs an input file and an output file (--file and --out), not stdin or stdout")
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
            options = {"format": fmt, "text_col": text_col, "out_format": out_fmt, "prefix": prefix}
            options |= {"on_error": on_error, "chunk_rows": chunk_rows}
            identity = {
                "source": name,
                "input": resuming.file_identity(path) if is_path else None,
                "model": resuming.model_identity(clf),
                "options": options,
            }
            partial = resuming.Partial(out, out_fmt, identity)
            _score_to(clf, rows, partial, resume, is_path, new, summary, on_error, progress, started)
    summary.seconds = time.perf_counter() - started
    if progress or summary.skipped:  # skipped rows are always reported
        notice(summary.describe())
    return summary


def _score_to(clf, rows: Input, partial, resume, resumable, new, summary, on_error, progress, started) -> None:
    """Score `rows` into `partial` (a `ksent.stream.resume.Partial`) chunk by chunk, each recorded in
    its manifest once written; at the end the partial becomes the output."""
    said = partial.start(resume)
    if said and progress:
        notice(said)
    done = partial.progress
    summary.scored, summary.skipped, summary.resumed = done.scored, done.skipped, done.scored
    summary.first_skipped = list(done.first_skipped)
    writer = WRITERS[partial.out_fmt](partial.target(), rows.header, new, summary.source, partial.fresh)

    def chunk_done(chunks: int) -> None:
        done.chunks, done.scored, done.skipped = chunks, summary.scored, summary.skipped
        done.first_skipped = list(summary.first_skipped)
        partial.commit(len(writer.parts) if partial.folder else 0)

    take = lambda chunk, records: writer.write(chunk, *_scores(records))  # noqa: E731
    try:
        _score(clf, rows, take, summary, on_error, progress, started, done.chunks, chunk_done)
        partial.finish(getattr(writer, "join", None))
    except KsentError:  # the input needs fixing (a bad row, nothing to score): nothing worth resuming
        partial.discard()
        raise
    except BaseException:  # a crash, Ctrl-C: what is written stays, for --resume
        partial.close()
        if not resumable:
            partial.discard()
        elif summary.scored:
            notice(
                f"stopped after {summary.scored:,} rows of {summary.source}; run the same command with --resume "
                "to continue from there"
            )
        raise


def _scores(records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, P(positive), token counts) of a chunk's `Prediction` records, as the writers take them."""
    p = np.fromiter((r.p_positive for r in records), np.float64, len(records))
    n = np.fromiter((r.n_tokens for r in records), np.int64, len(records))
    return (p >= THRESHOLD).astype(np.int8), p, n


def _score(
    clf,
    rows: Input,
    take: Callable,
    summary: Summary,
    on_error: str,
    progress: bool,
    started: float,
    skip: int = 0,
    chunk_done: Callable[[int], None] | None = None,
) -> None:
    """Score `rows` chunk by chunk, handing each chunk and its records to `take`; count bad rows in
    `summary`, or stop at the first with `on_error="raise"`. The first `skip` chunks were scored by a
    run this one resumes: read past, not scored. `chunk_done(k)` runs once the k-th chunk is taken."""
    with bar("scoring", rows.total or 0, progress and rows.total is not None, counts=rows.counts_rows) as advance:
        seen = 0
        for k, (pos, chunk, bad) in enumerate(rows.chunks, start=1):
            if k <= skip:
                advance(pos - seen, info="skipping what was scored before")
                seen = pos
                continue
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
            if chunk_done is not None:
                chunk_done(k)
            rate = (summary.scored - summary.resumed) / max(time.perf_counter() - started, 1e-9)
            advance(pos - seen, info=f"{summary.scored:,} rows · {rate:,.0f} rows/s")
            seen = pos
    if summary.scored == 0:  # nothing to write: never replace `out` with an empty file
        raise KsentError(
            f"{summary.source} has no rows to score" + (f": {summary.describe()}" if summary.skipped else "")
        )
