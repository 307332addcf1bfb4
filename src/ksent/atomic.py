"""Atomic writes: a temp file in the destination's folder, then a rename over the real name.

A crash mid-write leaves at most a hidden `.NAME.*.tmp` file, never a half-written file that loads.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (mkstemp's files are 0600)."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode an ordinary new folder gets under the current umask (mkdtemp's are 0700)."""
    return 0o777 & ~_umask()


@contextmanager
def replacing(path: str | Path) -> Iterator[BinaryIO]:
    """Write `path` through a binary temp file; it replaces `path` only if the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with replacing(path) as f:
        f.write(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj) -> None:
    """JSON (UTF-8, Hangul as written) into a file of a folder being built by `replacing_folder`."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def replacing_folder(path: str | Path) -> Iterator[Path]:
    """Build a folder in a temp folder beside `path`; it replaces `path` (a folder) only if the block
    ends without error, so a crash never leaves a half-written folder under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        yield tmp
        for f in tmp.iterdir():
            os.chmod(f, file_mode())  # mkdtemp and some writers create private files; a model is shared
        os.chmod(tmp, dir_mode())
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
