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

`readers` open the inputs (TSV and CSV through `ksent.delimited`), `writers` hold one class per
output format, and `score` is the driver, `score_file`.
"""

from ksent.delimited import BadRow
from ksent.stream.readers import FORMATS, TEXT_COLUMNS, Chunk, file_format, text_column
from ksent.stream.score import CHUNK_ROWS, NEW_COLUMNS, Summary, score_file
from ksent.stream.writers import OUT_FORMATS, WRITERS

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "NEW_COLUMNS",
    "OUT_FORMATS",
    "TEXT_COLUMNS",
    "WRITERS",
    "BadRow",
    "Chunk",
    "Summary",
    "file_format",
    "score_file",
    "text_column",
]
