"""ksent: Korean review sentiment with an LSTM you can open up."""

from ksent._version import __version__
from ksent.classifier import SentimentClassifier, load
from ksent.config import Config
from ksent.errors import KsentError

__all__ = ["Config", "KsentError", "SentimentClassifier", "load", "__version__"]
