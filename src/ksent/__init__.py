"""ksent: Korean review sentiment with an LSTM you can open up."""

__version__ = "0.1.0"

from ksent.classifier import SentimentClassifier, load  # noqa: E402
from ksent.config import Config  # noqa: E402
from ksent.errors import KsentError  # noqa: E402

__all__ = ["Config", "KsentError", "SentimentClassifier", "load", "__version__"]
