"""Text -> model input: cleaning (`clean`), morphological analysis (`tokenizers`), ids and padding
(`vocab`), and the pipeline that chains them for a config (`pipeline`)."""

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
