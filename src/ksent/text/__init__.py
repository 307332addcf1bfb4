"""Pure text functions: cleaning (`clean`), morphological analysis (`tokenizers`), ids and padding
(`vocab`). Nothing here knows a config or a model: `ksent.features` chains them into the ways a
model reads a review."""

from ksent.text.clean import SEED_STOPWORDS, clean_hangul, clean_with_offsets, read_stopwords, remove_stopwords
from ksent.text.tokenizers import Token, tokenize
from ksent.text.vocab import OOV_TOKEN, Vocab, pad_sequences

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
