"""Resumable scoring: what `score_file` keeps beside `--out` while it runs, so that a run stopped by a
crash, Ctrl-C or a lost machine continues from its last complete chunk (`resume=True`).

Beside OUT, hidden (and .OUT.lock, held while a run lasts: one run per output at a time):
  .OUT.partial         the rows written so far: the output file itself for tsv/csv/jsonl (cut back to
                       the last complete chunk on resuming), a folder of one file per chunk for Parquet
  .OUT.resume.json     the manifest: which input, model and options, and how far (chunks read, bytes
                       or parts written, rows scored and skipped), replaced atomically after each chunk

The output is written only through the partial, so a resumed run ends with the same bytes as one that
never stopped. A manifest that names another input (size, modification time, its first and last MiB),
model or options is refused: mixing two runs' rows would be wrong without anyone seeing it. When the
run ends, the partial becomes OUT (renamed over it) and the manifest is removed.
"""

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from ksent import atomic
from ksent.errors import KsentError

VERSION = 1
EDGE_BYTES = 1 << 20  # the input's first and last MiB are hashed: a whole file of gigabytes would take long


def paths(out: Path) -> tuple[Path, Path]:
    """(the partial output, the manifest) of a run writing `out`."""
    return out.with_name(f".{out.name}.partial"), out.with_name(f".{out.name}.resume.json")


def file_identity(path: Path) -> dict:
    """What tells a changed input apart: size, modification time and a hash of its first and last MiB."""
    st = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(EDGE_BYTES))
        if st.st_size > EDGE_BYTES:
            f.seek(max(EDGE_BYTES, st.st_size - EDGE_BYTES))
            h.update(f.read())
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "edges_sha256": h.hexdigest()}


def model_identity(clf) -> str:
    """A hash of what makes the model's answers: its kind, config, validation metrics (unique to one
    training run), its device and, for an export, whether its int8 graph runs."""
    described = {
        "kind": type(clf).__name__,
        "config": clf.config_.to_dict() if hasattr(clf, "config_") else None,
        "metrics": (getattr(clf, "metrics_", None) or {}).get("validation"),
        "int8": getattr(clf, "int8", None),
        "device": str(getattr(clf, "device", None)),  # another device may round the 6th decimal otherwise
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Progress:
    """How far a run got: input chunks read, output bytes (text formats) or parts (Parquet) written,
    rows scored and skipped (with the first lines and reasons)."""

    chunks: int = 0
    written: int = 0
    scored: int = 0
    skipped: int = 0
    first_skipped: list[tuple[int, str]] = field(default_factory=list)


class Partial:
    """The partial output and manifest of one run writing `out` (see the module's docstring)."""

    def __init__(self, out: Path, out_fmt: str, identity: dict):
        self.out, self.out_fmt, self.identity = out, out_fmt, identity
        self.path, self.manifest = paths(out)
        self.lock_path = out.with_name(f".{out.name}.lock")
        self.progress = Progress()
        self.f: BinaryIO | None = None
        self._lock_file: BinaryIO | None = None

    @property
    def folder(self) -> bool:
        return self.out_fmt == "parquet"

    def start(self, resume: bool) -> str | None:
        """Open the partial output: continue a stopped run (`resume`) or begin anew. Returns a line for
        the user when there was something to say (what was resumed or discarded)."""
        self._lock()
        try:
            return self._start(resume)
        except BaseException:
            self.close()
            raise

    def _start(self, resume: bool) -> str | None:
        found = self._read_manifest(resume)
        said = None
        if found is not None and resume:
            self._check(found)
            got = found["progress"]
            self.progress = Progress(**{**got, "first_skipped": [tuple(x) for x in got["first_skipped"]]})
            said = f"resuming {self.out}: {self.progress.scored:,} rows were scored before it stopped"
        elif found is not None:
            n = found["progress"]["scored"]
            said = f"starting {self.out} over: an unfinished run's {n:,} scored rows are discarded (--resume continues)"
        elif resume:
            said = f"no unfinished run of {self.out} to resume: starting from the first row"
        if self.fresh:
            self._remove_partial()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if self.folder:
            self.path.mkdir(exist_ok=True)
            for part in self.path.iterdir():  # parts or temp files written after the last complete chunk
                if not (part.suffix == ".parquet" and part.stem.isdigit() and int(part.stem) < self.progress.written):
                    part.unlink()
        else:
            self.f = open(self.path, "wb" if self.fresh else "r+b")  # noqa: SIM115 - closed by finish/close
            self.f.truncate(self.progress.written)
            self.f.seek(self.progress.written)
        self._write_manifest()
        return said

    @property
    def fresh(self) -> bool:
        return self.progress.chunks == 0

    def target(self):
        """What the writer writes to: the open partial file, or the Parquet parts' folder."""
        return self.path if self.folder else self.f

    def commit(self, written: int) -> None:
        """A chunk is complete: make its rows durable, then record it (in that order, so a manifest never
        counts rows that a crash could lose)."""
        if self.f is not None:
            self.f.flush()
            os.fsync(self.f.fileno())
            written = self.f.tell()
        self.progress.written = written
        self._write_manifest()

    def finish(self, join=None) -> None:
        """The run is complete: the partial becomes `out`; no state is left."""
        if self.folder:
            with atomic.replacing(self.out) as f:
                join(f)
        else:
            self.f.close()
            os.chmod(self.path, atomic.file_mode())
            os.replace(self.path, self.out)
        self.discard()  # nothing left but OUT

    def discard(self) -> None:
        """Remove the partial output and the manifest (a run that cannot be resumed), then the lock."""
        self._remove_partial()
        self.manifest.unlink(missing_ok=True)
        self.lock_path.unlink(missing_ok=True)  # still held: no other run took it meanwhile
        self.close()

    def close(self) -> None:
        """Close the partial output and let the output go (what is written stays, for --resume)."""
        if self.f is not None and not self.f.closed:
            self.f.close()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    # --- the manifest -------------------------------------------------------------------------------

    def _read_manifest(self, resume: bool) -> dict | None:
        """The manifest of an unfinished run, if any. One that cannot be resumed (damaged, of another
        format version, its partial output gone) stops `--resume` in one line; a fresh run replaces it."""
        if not self.manifest.is_file():
            return None
        problem = None
        try:
            found = json.loads(self.manifest.read_text(encoding="utf-8"))
            found["progress"]["chunks"]  # noqa: B018 - the shape is checked here
        except (OSError, ValueError, KeyError, TypeError):
            found, problem = None, "is damaged"
        else:
            if found.get("version") != VERSION:
                problem = "is from another ksent version"
            elif found["progress"]["chunks"] and not self.path.exists():
                problem = f"names rows in {self.path.name}, which is gone"
        if problem is None:
            return found
        if resume:
            raise KsentError(f"{self.manifest} {problem}: run without --resume to score {self.out} from the start")
        return None  # replaced by this run's

    def _check(self, found: dict) -> None:
        """Refuse to continue a run made of another input, model or options."""
        old, new = found["identity"], self.identity
        if old["input"] != new["input"]:
            raise KsentError(
                f"{new['source']} has changed since the unfinished run of {self.out} began (size, time or content); "
                "run without --resume to score it from the start"
            )
        if old["model"] != new["model"]:
            raise KsentError(
                f"the unfinished run of {self.out} used another model; resume with that model, or run without --resume"
            )
        changed = sorted(k for k in new["options"] if old["options"].get(k) != new["options"][k])
        if changed:
            was = ", ".join(f"{k}={old['options'].get(k)!r}" for k in changed)
            raise KsentError(
                f"the unfinished run of {self.out} was made with {was}; resume with the same options, or run without "
                "--resume"
            )

    def _lock(self) -> None:
        """One run per output at a time: a second run writing the same OUT would share its partial file
        (and remove it, or rename the other's half-written file over OUT). An advisory lock on a file
        beside OUT, held while the run lasts; the system releases it when the process ends, however."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.lock_path, "a+b")  # noqa: SIM115 - held until close()
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(self._lock_file.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            self._lock_file = None
            raise KsentError(
                f"another run is writing {self.out} right now; wait for it, or write to another --out"
            ) from None

    def _write_manifest(self) -> None:
        body = {"version": VERSION, "out": str(self.out), "identity": self.identity, "progress": asdict(self.progress)}
        atomic.write_text(self.manifest, json.dumps(body, ensure_ascii=False, indent=1))

    def _remove_partial(self) -> None:
        if self.path.is_dir():
            shutil.rmtree(self.path)
        elif self.path.exists():
            self.path.unlink()
