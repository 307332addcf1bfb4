"""Keras Tokenizer / pad_sequences semantics on hand-worked examples.

Keras: Tokenizer().fit_on_texts([["b","a","a"],["c","b","a"],["d"]]).word_index
== {"a": 1, "b": 2, "c": 3, "d": 4}  (count desc, ties by first appearance; 0 reserved)
"""

import numpy as np
import pytest

from ksent.errors import KsentError
from ksent.text.vocab import OOV_TOKEN, Vocab, pad_sequences

DOCS = [["b", "a", "a"], ["c", "b", "a"], ["d"]]


def test_index_by_descending_count_ties_by_first_appearance():
    v = Vocab.fit(DOCS)
    assert v.index == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert len(v) == 5  # + padding id 0
    assert v.encode(["d", "a", "zzz"]) == [4, 1]  # no OOV token: unknown words vanish (Keras default)


def test_oov_token_takes_id_1():
    v = Vocab.fit(DOCS, oov=True)
    assert v.index == {OOV_TOKEN: 1, "a": 2, "b": 3, "c": 4, "d": 5}
    assert v.encode(["zzz", "a"]) == [1, 2]


def test_min_count_is_keras_num_words_cut():
    # Keras: Tokenizer(num_words=3) keeps ids < 3, i.e. words with count >= 2 here.
    v = Vocab.fit(DOCS, min_count=2)
    assert v.words == ["a", "b"]
    assert v.encode(["c", "a", "b", "d"]) == [1, 2]
    v = Vocab.fit(DOCS, min_count=2, oov=True)
    assert v.encode(["c", "a", "b", "d"]) == [1, 2, 3, 1]


def test_lowercases_like_keras():
    v = Vocab.fit([["A", "a", "B"]])
    assert v.index == {"a": 1, "b": 2}
    assert v.encode(["B"]) == [2]


def test_pad_sequences_pre_is_default():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(pad_sequences(seqs, 3), [[1, 2, 3], [0, 0, 4], [0, 0, 0], [7, 8, 9]])


def test_pad_sequences_post():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    out = pad_sequences(seqs, 3, padding="post", truncating="post")
    np.testing.assert_array_equal(out, [[1, 2, 3], [4, 0, 0], [0, 0, 0], [5, 6, 7]])
    assert out.dtype == np.int64


def test_pad_sequences_rejects_bad_mode():
    with pytest.raises(KsentError, match="pre' or 'post"):
        pad_sequences([[1]], 3, padding="middle")


def test_encode_all_equals_encode_per_doc():
    docs = [["b", "A", "zzz"], [], ["a", "a", "Z", "c"]]
    for oov in (False, True):
        v = Vocab.fit(DOCS + [["Z"]], oov=oov)
        assert v.encode_all(docs) == [v.encode(d) for d in docs]
