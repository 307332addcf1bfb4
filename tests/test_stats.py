"""Corpus statistics on a small hand-made file whose every number was worked out by hand."""

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ksent.cli import app
from ksent.config import Config
from ksent.data import read_labelled
from ksent.errors import KsentError
from ksent.stats import DROP_REASONS, corpus_stats, format_table, log_odds_z

runner = CliRunner()

# line: document, label. Comments: what the training filter does with the row.
TRAIN = [
    ("좋다 최고 최고", 1),  # 2  kept
    ("별로 최악", 0),  # 3  kept
    ("", 0),  # 4  empty document
    ("좋다 최고 최고", 1),  # 5  duplicate of line 2, same label
    ("좋다 최고 최고", 0),  # 6  duplicate of line 2, other label
    ("!!! 10", 1),  # 7  empty after Hangul-only cleaning
    ("재밌다 좋다 좋다 좋다", 1),  # 8  kept
    ("최악 지루 별로", 0),  # 9  kept
    ("good 좋다", 1),  # 10 kept, cleaned to "좋다"
    ("ㅋㅋ", 0),  # 11 its only token is seen once: no tokens left at min_count 2 without OOV
    ("!!! 10", 0),  # 12 duplicate of line 7 (counted as a duplicate: that reason comes first), other label
]
TEST = [
    ("최고 좋다 최고 영화", 1),  # 2
    ("별로 지루 지루", 0),  # 3
    ("재밌다 ㅋㅋ 새말", 1),  # 4
    ("", 0),  # 5
]
# Whitespace tokens keep the hand count independent of any morphological analyser.
CFG = Config(min_count=2, oov=False, max_len=2)


def whitespace(texts):
    return [t.split() for t in texts]


def write_tsv(path, rows):
    path.write_text("id\tdocument\tlabel\n" + "".join(f"{i}\t{d}\t{y}\n" for i, (d, y) in enumerate(rows, 1)), "utf-8")
    return path


@pytest.fixture
def files(hangul_root):
    return write_tsv(hangul_root / "작은 학습.tsv", TRAIN), write_tsv(hangul_root / "작은 평가.tsv", TEST)


@pytest.fixture
def stats(files):
    train, test = (read_labelled(f) for f in files)
    return corpus_stats({"train": train, "test": test}, whitespace, CFG, top_min_count=2)


def test_rows_labels_and_every_drop_reason(stats):
    tr, te = stats["splits"]["train"], stats["splits"]["test"]
    assert (tr["rows"], te["rows"]) == (11, 4)
    assert tr["labels"] == {"0": 6, "1": 5} and te["labels"] == {"0": 2, "1": 2}
    assert list(tr["dropped"]) == list(DROP_REASONS)  # every reason has a count, zero or not
    assert tr["dropped"] == {
        "empty document": 1,
        "duplicate document": 3,
        "empty after Hangul-only cleaning": 1,
        "no tokens left after stopword/rare-word removal": 1,
    }
    assert tr["kept"] == 5 and tr["conflicting_duplicates"] == 2
    assert tr["example_lines"] == {
        "empty document": [4],
        "duplicate document": [5, 6, 12],
        "empty after Hangul-only cleaning": [7],
        "no tokens left after stopword/rare-word removal": [11],
    }
    # the test file, as if it were the training file: its own vocabulary at min_count 2 is {최고, 지루}
    assert te["dropped"] == dict(zip(DROP_REASONS, (1, 0, 0, 1), strict=True)) and te["kept"] == 2
    assert te["conflicting_duplicates"] == 0
    for s in (tr, te):
        assert sum(s["dropped"].values()) + s["kept"] == s["rows"]


def test_lengths(stats):
    tr, te = stats["splits"]["train"], stats["splits"]["test"]
    # characters: 8 5 0 8 8 6 12 8 7 2 6 -> sorted 0 2 5 6 6 7 8 8 8 8 12
    assert tr["chars"] == {"mean": 6.363636, "median": 7.0, "p95": 10.0, "p99": 11.6, "max": 12}
    # tokens: 3 2 0 3 3 0 4 3 1 1 0 -> sorted 0 0 0 1 1 2 3 3 3 3 4
    assert tr["tokens"] == {"mean": 1.818182, "median": 2.0, "p95": 3.5, "p99": 3.9, "max": 4}
    assert tr["token_length_counts"] == [3, 2, 1, 4, 1]
    assert te["chars"] == {"mean": 7.0, "median": 8.5, "p95": 10.7, "p99": 10.94, "max": 11}
    assert te["tokens"] == {"mean": 2.5, "median": 3.0, "p95": 3.85, "p99": 3.97, "max": 4}
    assert te["token_length_counts"] == [1, 0, 0, 2, 1]
    # max_len 2 cuts id sequences, not token lists: "최악 지루 별로" has 3 tokens but 2 ids (지루 is rare)
    assert tr["truncated"] == 4  # lines 2, 5, 6 (좋다 최고 최고) and 8 (좋다 좋다 좋다)
    assert te["truncated"] == 1  # 최고 좋다 최고 (영화 is unknown to the train vocabulary)


def test_vocab_and_oov(stats):
    # train's kept rows: 좋다 5, 최고 2, 별로 2, 최악 2, 재밌다 1, 지루 1, ㅋㅋ 1
    # test tokens (10): 최고 좋다 최고 영화 | 별로 지루 지루 | 재밌다 ㅋㅋ 새말
    assert stats["vocab"] == [
        {"min_count": 1, "size": 7, "oov_rate": {"test": 0.2}},  # 영화, 새말
        {"min_count": 2, "size": 4, "oov_rate": {"test": 0.6}},  # + 지루 x2, 재밌다, ㅋㅋ
        {"min_count": 3, "size": 1, "oov_rate": {"test": 0.9}},  # all but 좋다
        {"min_count": 5, "size": 1, "oov_rate": {"test": 0.9}},
        {"min_count": 10, "size": 0, "oov_rate": {"test": 1.0}},
    ]


def test_characteristic_tokens(stats):
    # label 1: 좋다 5, 최고 2, 재밌다 1 (n1 = 8); label 0: 별로 2, 최악 2, 지루 1, ㅋㅋ 1 (n0 = 6)
    # 좋다: delta = log(10/12) - log(5/15) = log 2.5, z = log 2.5 / sqrt(1/10 + 1/5) = 1.67292
    # 최고: delta = log(4/18) - log(2/18) = log 2, z = log 2 / sqrt(1/4 + 1/2) = 0.80038
    # 별로, 최악: delta = log(2/20) - log(4/16) = log 0.4, z = -1.05804 (tie: ordered by the token)
    top = stats["characteristic_tokens"]
    assert top["min_count"] == 2 and "Monroe" in top["method"]
    assert top["1"] == [
        {"token": "좋다", "z": 1.6729, "count_0": 0, "count_1": 5},
        {"token": "최고", "z": 0.8004, "count_0": 0, "count_1": 2},
    ]
    assert top["0"] == [
        {"token": "별로", "z": -1.058, "count_0": 2, "count_1": 0},
        {"token": "최악", "z": -1.058, "count_0": 2, "count_1": 0},
    ]


def test_log_odds_is_antisymmetric_and_count_aware():
    from collections import Counter

    a, b = Counter({"x": 30, "y": 3, "z": 10}), Counter({"x": 10, "y": 1, "z": 10})
    za, zb = log_odds_z(a, b), log_odds_z(b, a)
    assert all(za[w] == pytest.approx(-zb[w]) for w in za)
    assert abs(za["x"]) > abs(za["y"])  # same 3:1 ratio, ten times the evidence


def test_table_shows_everything(stats):
    table = format_table(stats)
    for text in [
        "rows",
        "label 0 (negative)",
        "6 (54.5%)",
        "duplicate document",
        "of which with the other label",
        "empty after Hangul-only cleaning",
        "no tokens left after stopword/rare-word removal",
        "longer than max_len 2",
        "min_count 2 (config)",
        "60.00%",
        "1 positive: 좋다 +1.7, 최고 +0.8",
        "0 negative: 별로 -1.1, 최악 -1.1",
    ]:
        assert text in table, text


# --- the command ---------------------------------------------------------------------------------


def test_cli_stats_json_and_plots(files, hangul_root):
    out = hangul_root / "통계 출력"
    args = ["data", "stats", "--data", str(files[0]), "--data", str(files[1]), "--out", str(out), "--json"]
    r = runner.invoke(app, [*args, "--set", "min_count=2", "--set", "oov=false", "--set", "max_len=2"])
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)
    assert list(stats["splits"]) == ["작은 학습.tsv", "작은 평가.tsv"] and stats["config"]["tokenizer"] == "kiwi"
    tr = stats["splits"]["작은 학습.tsv"]
    # what does not depend on the tokenizer is exactly the hand count
    assert tr["rows"] == 11 and tr["labels"] == {"0": 6, "1": 5} and tr["conflicting_duplicates"] == 2
    assert [tr["dropped"][r] for r in DROP_REASONS[:3]] == [1, 3, 1]
    assert tr["chars"] == {"mean": 6.363636, "median": 7.0, "p95": 10.0, "p99": 11.6, "max": 12}
    assert sorted(p.name for p in out.iterdir()) == [
        "label_distribution.png",
        "stats.json",
        "token_lengths.png",
        "top_tokens.png",
    ]
    assert json.loads((out / "stats.json").read_text("utf-8")) == stats
    assert all((out / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in ("label_distribution.png", "top_tokens.png"))


def test_cli_stats_with_subword_pieces_learnt_from_the_first_file(files):
    args = ["data", "stats", "--data", str(files[0]), "--data", str(files[1]), "--json", "--tokenizer", "subword"]
    r = runner.invoke(app, [*args, "--set", "subword_vocab=100", "--set", "min_count=1", "--set", "stopwords=[]"])
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)
    assert stats["config"]["tokenizer"] == "subword"
    tr = stats["splits"]["작은 학습.tsv"]
    assert tr["rows"] == 11 and [tr["dropped"][r] for r in DROP_REASONS[:3]] == [1, 3, 1]
    assert tr["tokens"]["max"] >= 3  # "재밌다 좋다 좋다 좋다": at least one piece per word


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "id\tdocument\tlabel\n1\t좋다\t1\n2\t탭이\t하나 더\t0\n",
            r"bad.tsv:3: expected 3 tab-separated fields .* found 4",
        ),
        ("id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\t5\n", r"bad.tsv:3: label '5' in column 'label' is not 0 or 1"),
        ("id\ttext\tlabel\n1\t좋다\t1\n", r"bad.tsv:1: no column named 'document' .*--text-col"),
        ("id\tdocument\ty\n1\t좋다\t1\n", r"bad.tsv:1: no column named 'label' .*--label-col"),
        (b"id\tdocument\tlabel\n1\t\xba\xb0\xb7\xce\t0\n", r"bad.tsv:2: byte offset 20 .* not valid UTF-8"),
    ],
    ids=["field-count", "label", "text-column", "label-column", "encoding"],
)
def test_cli_stats_stops_on_bad_input(hangul_root, content, expected):
    bad = hangul_root / "bad.tsv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    r = runner.invoke(app, ["data", "stats", "--data", str(bad)])
    assert isinstance(r.exception, KsentError)
    assert re.search(expected, str(r.exception)), str(r.exception)


def test_cli_stats_error_is_one_line(hangul_root):
    bad = hangul_root / "나쁜 통계.tsv"
    bad.write_text("id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "ksent", "data", "stats", "--data", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
    assert "나쁜 통계.tsv:3: expected 3 tab-separated fields (id, document, label), found 2" in r.stderr
