"""ksent: Korean review sentiment with an LSTM you can open up."""

from ksent._version import __version__

from ksent.classifier import SentimentClassifier, load  # noqa: E402
from ksent.config import Config  # noqa: E402
from ksent.errors import KsentError  # noqa: E402

__all__ = ["Config", "KsentError", "SentimentClassifier", "load", "__version__"]
