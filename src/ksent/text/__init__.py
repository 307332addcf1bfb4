"""Pure text functions: cleaning (`clean`), morphological analysis (`tokenizers`), ids and padding
(`vocab`). Nothing here knows a config or a model: `ksent.features` chains them into the ways a
model reads a review."""

import importlib

_HOME = {  # name -> its module: imported on first use (`ksent.config` needs only clean's stopwords)
    **dict.fromkeys(
        ("SEED_STOPWORDS", "clean_hangul", "clean_with_offsets", "read_stopwords", "remove_stopwords"), "clean"
    ),
    **dict.fromkeys(("Token", "tokenize"), "tokenizers"),
    **dict.fromkeys(("OOV_TOKEN", "Vocab", "pad_sequences"), "vocab"),
}

__all__ = [
    "OOV_TOKEN",
    "SEED_STOPWORDS",
    "Token",
    "Vocab",
    "clean_hangul",
    "clean_with_offsets",
    "pad_sequences",
    "read_stopwords",
    "remove_stopwords",
    "tokenize",
]


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"ksent.text.{_HOME[name]}"), name)
    raise AttributeError(f"module 'ksent.text' has no attribute {name!r}")
