"""Loading labelled reviews: the NSMC files (local copy or verified download) and any TSV/CSV.

Reading (`ksent.delimited`, a row at a time) is strict: a malformed row stops with the file, the
line and the fix. Rows are only ever dropped from *training* data, and every drop is counted with
its reason.
"""

import hashlib
import os
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ksent import atomic, delimited
from ksent.errors import KsentError
from ksent.progress import notice
from ksent.text.clean import clean_hangul

NSMC_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
NSMC_FILES = {  # split -> (file name, sha256 of the official file)
    "train": ("ratings_train.txt", "e03b7d14e9e41be8d464a28057cd25d7396c53e67aa7fd5f7e552c59b0ee2940"),
    "test": ("ratings_test.txt", "8ac9f64052f11dbf6ae0acb5e038f03d90a76f0eda7820cfb3a92d02edfcebda"),
}


def cache_dir() -> Path:
    """Where ksent keeps downloads and caches: $KSENT_CACHE_DIR, else the user's cache dir."""
    if env := os.environ.get("KSENT_CACHE_DIR"):
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ksent"))


# --- getting the NSMC files -------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, dest: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` through a temp file in the same folder, verify, then rename.

    A crash or a checksum mismatch never leaves a file at `dest`.
    """
    h = hashlib.sha256()
    try:
        with atomic.replacing(dest) as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
            if h.hexdigest() != sha256:
                raise KsentError(
                    f"downloaded {url} but its sha256 is {h.hexdigest()}, expected {sha256}; "
                    "the file is corrupt or has changed upstream. Nothing was saved"
                )
    except OSError as e:
        raise KsentError(
            f"could not download {url}: {e}. Download it by hand and pass its folder with "
            "--data-dir DIR (or set KSENT_DATA_DIR)"
        ) from None
    return dest


def nsmc_path(split: str, data_dir: str | Path | None = None) -> Path:
    """Path to an NSMC split file.

    Looks in `data_dir`, else $KSENT_DATA_DIR; with neither, uses (and if needed downloads and
    verifies) a copy in the ksent cache dir.
    """
    if split not in NSMC_FILES:
        raise KsentError(f"unknown NSMC split {split!r}; expected one of {sorted(NSMC_FILES)}")
    name, sha = NSMC_FILES[split]
    given = data_dir if data_dir is not None else os.environ.get("KSENT_DATA_DIR") or None
    if given is not None:
        path = Path(given) / name
        if not path.is_file():
            src = "--data-dir" if data_dir is not None else "KSENT_DATA_DIR"
            raise KsentError(
                f"{path} not found: {src} must be a folder holding the NSMC files "
                f"{NSMC_FILES['train'][0]} and {NSMC_FILES['test'][0]}; "
                "leave it unset to download them"
            )
        return path
    path = cache_dir() / "nsmc" / name
    if not path.is_file():
        notice(f"downloading {NSMC_URL + name} -> {path}")
        download(NSMC_URL + name, path, sha)
    return path


# --- reading labelled files ---------------------------------------------------------------------


@dataclass
class Labelled:
    """Reviews read from one file, in file order. `lines[i]` is the 1-based line of row i."""

    path: Path
    texts: list[str]
    labels: list[int]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int) -> "Labelled":
        return Labelled(self.path, self.texts[:n], self.labels[:n], self.lines[:n])


def read_labelled(
    path: str | Path, text_col: str = "document", label_col: str = "label", delimiter: str | None = None
) -> Labelled:
    """Read a file with a header row, a text column and a 0/1 label column (see `ksent.delimited`).

    The delimiter is a tab for .txt/.tsv files and a comma for .csv unless given.
    Empty texts are kept (as ""); deciding what to drop is the caller's job.
    """
    path = Path(path)
    if delimiter is None:
        delimiter = "," if path.suffix.lower() == ".csv" else delimited.TAB
    texts, labels, lines = [], [], []
    with delimited.open_file(path) as f:
        table = delimited.Table(f, path, delimiter)
        header = table.header
        for col, flag in ((text_col, "--text-col"), (label_col, "--label-col")):
            if col not in header:
                raise KsentError(
                    f"{path}:1: no column named {col!r} in the header {header} ({table.separator}-separated); "
                    f"name the right column with {flag}"
                )
        ti, li = header.index(text_col), header.index(label_col)
        for row in table:
            if isinstance(row, delimited.BadBytes):
                raise KsentError(
                    f"{path}:{row.offset_line}: byte offset {row.offset} ({row.byte!r}) is not valid UTF-8; "
                    "re-save the file as UTF-8 (e.g. iconv -f cp949 -t utf-8)"
                )
            if isinstance(row, delimited.BadRow):
                raise KsentError(f"{path}:{row.line}: {row.reason}; fix or remove this row")
            label = row.fields[li].strip()
            if label not in ("0", "1"):
                raise KsentError(
                    f"{path}:{row.line}: label {row.fields[li]!r} in column {label_col!r} is not 0 or 1; "
                    "ksent expects binary labels (0 = negative, 1 = positive)"
                )
            texts.append(row.fields[ti])
            labels.append(int(label))
            lines.append(row.line)
    if not texts:
        raise KsentError(f"{path} has a header but no rows")
    return Labelled(path, texts, labels, lines)


# --- what training keeps ------------------------------------------------------------------------


# Why a training row is dropped: the one definition, in the order the filters apply. The strings
# are the keys of metrics.json's data.dropped and of `ksent data stats`.
EMPTY = "empty document"
DUPLICATE = "duplicate document"
EMPTY_AFTER_CLEANING = "empty after Hangul-only cleaning"
NO_TOKENS = "no tokens left after stopword/rare-word removal"
DROP_REASONS = (EMPTY, DUPLICATE, EMPTY_AFTER_CLEANING, NO_TOKENS)


@dataclass
class DropReport:
    """Rows removed from training data, by reason, with a few example line numbers each."""

    total: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)

    def drop(self, reason: str, line: int) -> None:
        if reason not in DROP_REASONS:
            raise ValueError(f"unknown drop reason {reason!r}; expected one of {DROP_REASONS}")
        self.dropped[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 5:
            ex.append(line)

    def to_dict(self) -> dict:
        dropped = {reason: self.dropped[reason] for reason in DROP_REASONS}  # zeros too: every reason is a key
        return {"total": self.total, "kept": self.kept, "dropped": dropped, "example_lines": self.examples}

    def summary(self) -> str:
        parts = ", ".join(f"{self.dropped[r]:,} {r}" for r in DROP_REASONS if self.dropped[r]) or "nothing"
        return f"kept {self.kept:,} of {self.total:,} rows; dropped {parts}"


def fingerprint(data: Labelled) -> str:
    """A SHA-256 of the rows' contents (line, label, text, in order): two runs trained on the same rows
    have the same one, whatever the file was called; a shuffled or edited file of the same length does not."""
    h = hashlib.sha256()
    for line, label, text in zip(data.lines, data.labels, data.texts, strict=True):
        h.update(f"{line}\t{label}\t{text}\n".encode())
    return h.hexdigest()


def clean_training(data: Labelled, clean: bool = True) -> tuple[Labelled, DropReport]:
    """The seed's training-set filtering, done so that it really happens and is accounted for:
    drop empty documents, then duplicate documents (first one kept), then drop what Hangul-only
    cleaning (if `clean`) would leave empty. The rows kept keep their texts as written: cleaning
    them is the featurizers' job."""
    report = DropReport(total=len(data))
    seen: set[str] = set()
    texts, labels, lines = [], [], []
    for text, label, line in zip(data.texts, data.labels, data.lines, strict=True):
        if text == "":  # what pandas reads as NaN and the seed's dropna removes
            report.drop(EMPTY, line)
            continue
        if text in seen:
            report.drop(DUPLICATE, line)
            continue
        seen.add(text)
        cleaned = clean_hangul(text) if clean else text
        if not cleaned.strip():
            report.drop(EMPTY_AFTER_CLEANING, line)
            continue
        texts.append(text)
        labels.append(label)
        lines.append(line)
    report.kept = len(texts)
    return Labelled(data.path, texts, labels, lines), report
