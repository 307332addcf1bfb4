"""Which model a path names, and loading it: a model folder on torch (`ksent.classifier`), an export
on ONNX Runtime (`ksent.exported`), or with no path the bundled model, on torch where torch is
installed, else its export. `ksent.load` is `load`; nothing here imports torch unless it loads a
model folder.
"""

import importlib.util
from pathlib import Path

from ksent.errors import KsentError


def has_torch() -> bool:
    """Whether torch is installed (found, not imported: importing it takes seconds)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def need_torch(path: str | Path | None) -> None:
    """Raise a one-line KsentError if the model folder `path` cannot run here: torch is not installed."""
    if not has_torch():
        raise KsentError(
            f"{path if path is not None else 'the bundled model folder'} is a model folder (ksent train): it runs "
            "on torch, which is not installed: pip install 'ksent[train]', or `ksent export` it where torch is"
        )


def locate(path: str | Path | None, int8: bool = False) -> tuple[Path | None, bool]:
    """Where `load` reads a model from (None: the bundled model folder), and whether it is an export.
    A model folder that cannot load here (missing, asked for int8, no torch) ends in a one-line error."""
    from ksent.exported import BUNDLED_EXPORT, is_export

    if path is None and (int8 or not has_torch()):
        return BUNDLED_EXPORT, True
    if path is not None and is_export(path):
        return Path(path), True
    if int8:
        raise KsentError(f"int8 runs an export's quantized copy; {path} is a model folder: `ksent export --int8` it")
    if path is not None and not Path(path).is_dir():
        raise KsentError(f"model folder not found: {path} (train one with `ksent train --out {path}`)")
    need_torch(path)
    return (None if path is None else Path(path)), False


def load(
    path: str | Path | None = None,
    device: str = "auto",
    progress: bool = False,
    workers: int | None = None,
    int8: bool = False,
    threads: int | None = None,
):
    """Load a model: a folder written by `ksent train` / `SentimentClassifier.save` (a
    `SentimentClassifier`, on torch), an export written by `ksent export` (an `ExportedClassifier`,
    on ONNX Runtime, without torch; `int8`: its quantized copy; `threads`: ONNX Runtime's), or with
    no path the model bundled with ksent: on torch where torch is installed, else its export, which
    answers the same.
    See `ksent.classifier.load` and `ksent.exported.ExportedClassifier`."""
    from ksent.exported import ExportedClassifier

    path, exported = locate(path, int8)
    if exported:
        return ExportedClassifier(path, int8=int8, threads=threads, workers=workers)
    from ksent.classifier import load as load_trained

    return load_trained(path, device=device, progress=progress, workers=workers)
