"""Keras Tokenizer / pad_sequences semantics on hand-worked examples.

Keras: Tokenizer().fit_on_texts([["b","a","a"],["c","b","a"],["d"]]).word_index
== {"a": 1, "b": 2, "c": 3, "d": 4}  (count desc, ties by first appearance; 0 reserved)
"""

import numpy as np
import pytest

from ksent.errors import KsentError
from ksent.text.vocab import OOV_TOKEN, Vocab, first_step, kept_part, pad_flat, pad_sequences

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


def test_lookup_marks_what_encode_deletes():
    v = Vocab.fit(DOCS)
    assert v.lookup(["d", "A", "zzz", "", "b"]) == [4, 1, None, None, 2]
    assert Vocab.fit(DOCS, oov=True).lookup(["d", "A", "zzz", "", "b"]) == [5, 2, 1, 1, 3]
    docs = [["b", "A", "zzz"], [], ["a", "a", "Z", "c"], ["q", "r"]]
    for oov in (False, True):
        v = Vocab.fit(DOCS + [["Z"]], oov=oov)
        for d in docs:
            ids = v.lookup(d)
            assert len(ids) == len(d)  # one entry per token, in order
            assert v.encode(d) == [i for i in ids if i is not None]
            assert (None in ids) == (not oov and any(t.lower() not in v.index for t in d))


# Keras' pad_sequences, hand-worked: keep x[-maxlen:] ('pre') or x[:maxlen] ('post'), then pad
# in front ('pre') or behind ('post').
KERAS_CASES = [  # (n ids, maxlen, truncating, padding) -> (kept slice, first step)
    ((5, 3, "pre", "pre"), (slice(2, 5), 0)),
    ((5, 3, "post", "pre"), (slice(0, 3), 0)),
    ((5, 3, "post", "post"), (slice(0, 3), 0)),
    ((3, 3, "pre", "pre"), (slice(0, 3), 0)),
    ((1, 3, "pre", "pre"), (slice(0, 1), 2)),
    ((1, 3, "pre", "post"), (slice(0, 1), 0)),
    ((0, 3, "pre", "pre"), (slice(0, 0), 3)),
]


@pytest.mark.parametrize("case, expected", KERAS_CASES)
def test_kept_part_and_first_step_hand_worked(case, expected):
    n, maxlen, truncating, padding = case
    kept = kept_part(n, maxlen, truncating)
    assert (kept, first_step(len(range(n)[kept]), maxlen, padding)) == expected


def test_kept_part_and_first_step_place_ids_as_pad_sequences_does():
    """The steps these two give are where pad_sequences puts each id (what `ksent explain` relies on)."""
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    for padding in ("pre", "post"):
        for truncating in ("pre", "post"):
            out = pad_sequences(seqs, 3, padding, truncating)
            for row, s in zip(out, seqs, strict=True):
                kept = s[kept_part(len(s), 3, truncating)]
                placed = np.zeros(3, dtype=np.int64)
                placed[first_step(len(kept), 3, padding) :][: len(kept)] = kept
                np.testing.assert_array_equal(row, placed)
    # and the hand-worked rows: pre/pre drops 5, 6 and pads [4] in front; post/post the reverse
    np.testing.assert_array_equal(pad_sequences(seqs, 3)[1:], [[0, 0, 4], [0, 0, 0], [7, 8, 9]])
    np.testing.assert_array_equal(pad_sequences(seqs, 3, "post", "post")[1:], [[4, 0, 0], [0, 0, 0], [5, 6, 7]])
    np.testing.assert_array_equal(pad_sequences(seqs, 3, "pre", "post")[1:], [[0, 0, 4], [0, 0, 0], [5, 6, 7]])
    np.testing.assert_array_equal(pad_sequences(seqs, 3, "post", "pre")[1:], [[4, 0, 0], [0, 0, 0], [7, 8, 9]])


def test_pad_sequences_rejects_max_len_below_one():
    with pytest.raises(KsentError, match="max_len must be at least 1"):
        pad_sequences([[1]], 0)


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_flat_and_pad_sequences_keep_and_place_as_kept_part_and_first_step_say(padding, truncating):
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 12, 400)  # empty, shorter than, equal to and longer than maxlen
    flat = rng.integers(1, 500, int(lengths.sum()))
    seqs = np.split(flat, np.cumsum(lengths)[:-1])
    want = np.zeros((len(seqs), 6), dtype=np.int64)  # row by row, by the rules explain's fates use
    for row, seq in enumerate(seqs):
        kept = seq[kept_part(len(seq), 6, truncating)]
        start = first_step(len(kept), 6, padding)
        want[row, start : start + len(kept)] = kept
    np.testing.assert_array_equal(pad_flat(flat, lengths, 6, padding, truncating), want)
    np.testing.assert_array_equal(pad_sequences([s.tolist() for s in seqs], 6, padding, truncating), want)


def test_id_map_gives_lookups_ids_by_unit():
    units = ["영화", "<unk>", "GOOD", "없는말"]
    for oov in (True, False):
        vocab = Vocab.fit([["영화", "good", "영화"]], oov=oov)
        expected = [-1 if i is None else i for i in vocab.lookup(units)]
        assert vocab.id_map(units).tolist() == expected
