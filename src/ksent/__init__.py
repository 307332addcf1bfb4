"""ksent: Korean review sentiment with an LSTM you can open up.

`import ksent` does not import torch: `SentimentClassifier` (training, and models loaded from a
`ksent train` folder) brings it in when first used, so an exported model (`ksent export`) answers
through ONNX Runtime on an install without torch (`pip install ksent`; training is `ksent[train]`).
"""

from ksent._version import __version__
from ksent.config import Config
from ksent.errors import KsentError
from ksent.loading import load

__all__ = ["Config", "KsentError", "SentimentClassifier", "load", "__version__"]


def __getattr__(name: str):
    if name == "SentimentClassifier":  # imported on first use: it brings torch
        from ksent.classifier import SentimentClassifier

        return SentimentClassifier
    raise AttributeError(f"module 'ksent' has no attribute {name!r}")
