"""ksent: Korean review sentiment with an LSTM you can open up.

`import ksent` does not import torch: `SentimentClassifier` (training, and models loaded from a
`ksent train` folder) brings it in when first used, so an exported model (`ksent export`) answers
through ONNX Runtime on an install without torch.
"""

from pathlib import Path

from ksent._version import __version__
from ksent.config import Config
from ksent.errors import KsentError

__all__ = ["Config", "KsentError", "SentimentClassifier", "load", "__version__"]


def load(path: str | Path | None = None, device: str = "auto", progress: bool = False, workers: int | None = None):
    """Load a model: a folder written by `ksent train` / `SentimentClassifier.save` (a
    `SentimentClassifier`, on torch), an export written by `ksent export` (an `ExportedClassifier`,
    on ONNX Runtime, without torch), or with no path the model bundled with ksent.
    See `ksent.classifier.load` and `ksent.exported.ExportedClassifier`."""
    from ksent.exported import ExportedClassifier, is_export

    if path is not None and is_export(path):
        return ExportedClassifier(path, workers=workers)
    from ksent.classifier import load as load_trained

    return load_trained(path, device=device, progress=progress, workers=workers)


def __getattr__(name: str):
    if name == "SentimentClassifier":  # imported on first use: it brings torch
        from ksent.classifier import SentimentClassifier

        return SentimentClassifier
    raise AttributeError(f"module 'ksent' has no attribute {name!r}")
