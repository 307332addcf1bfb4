"""Streaming `predict --file`: every format in and out, chunk by chunk, bad rows stopped or counted,
and no output file unless every row was scored."""

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ksent.cli import app
from ksent.errors import KsentError
from ksent.stream import score_file

TEXTS = [
    "정말 재밌어요",
    "최악의 영화",
    "",
    "10점 만점에 1점",
    "배우들 연기가 좋았다",
    "지루하고 길다",
    "ㅋㅋ 꿀잼",
] * 3
# the tokens the suite's model reads in each, counted by hand (Kiwi lemmas of the Hangul-only text, the
# seed's stopwords out): 정말 재밌다 어요; 최악 [의] 영화; none; 점 만점 [에] 점; 배우 [들] 연기 [가] 좋다 었 다;
# 지루 하 고 길다 다; ㅋㅋ 꿀 잼
N_TOKENS = [3, 2, 0, 3, 5, 5, 3]


def _rows(n: int | None = None):
    return [{"id": str(i), "text": t, "source": f"출처{i % 2}"} for i, t in enumerate(TEXTS[:n])]


def _write(path, rows, fmt):
    if fmt == "txt":
        path.write_text("".join(r["text"] + "\n" for r in rows), encoding="utf-8")
    elif fmt == "tsv":
        path.write_text(
            "id\ttext\tsource\n" + "".join(f"{r['id']}\t{r['text']}\t{r['source']}\n" for r in rows), "utf-8"
        )
    elif fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, ["id", "text", "source"])
            w.writeheader()
            w.writerows(rows)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=4)
    return path


def _read(path):
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ","))


@pytest.mark.parametrize(
    "src,dst", [("tsv", "parquet"), ("csv", "jsonl"), ("jsonl", "csv"), ("parquet", "tsv"), ("txt", "jsonl")]
)
def test_every_format_scores_like_predict_proba_in_order(trained, hangul_root, src, dst):
    clf, _ = trained
    folder = hangul_root / f"스트림-{src}-{dst}"
    folder.mkdir()
    inp = _write(folder / f"리뷰.{src}", _rows(), src)
    out = folder / f"점수.{dst}"
    summary = score_file(clf, inp, out, chunk_rows=4, progress=False)  # 21 rows: six chunks
    got = _read(out)
    assert summary.scored == len(TEXTS) and summary.skipped == 0 and len(got) == len(TEXTS)
    want = clf.predict_proba(TEXTS)[:, 1]
    assert [r["text"] for r in got] == TEXTS  # order kept, texts unchanged (the empty one too)
    np.testing.assert_allclose([float(r["p_positive"]) for r in got], want, atol=1e-6)
    assert [int(r["label"]) for r in got] == (want >= 0.5).astype(int).tolist()
    assert [int(r["n_tokens"]) for r in got] == N_TOKENS * 3
    if src != "txt":  # the input's other columns are carried beside the scores
        assert [(str(r["id"]), r["source"]) for r in got] == [(r["id"], r["source"]) for r in _rows()]
    assert sorted(p.name for p in folder.iterdir()) == sorted([inp.name, out.name])  # no temp file left


def test_memory_is_bounded_by_one_chunk(trained, hangul_root):
    clf, _ = trained
    seen = []

    class Spy:
        def predict_records(self, texts):
            seen.append(len(texts))
            return clf.predict_records(texts)

    inp = _write(hangul_root / "청크.tsv", _rows(), "tsv")
    score_file(Spy(), inp, hangul_root / "청크.jsonl", chunk_rows=5, progress=False)
    assert seen == [5, 5, 5, 5, 1]


def _bad_tsv(path):
    lines = [b"id\ttext\tsource", "1\t좋다\ta".encode(), b"2\t\xff\xfe bad\ta", b"3\tonly two", "4\t별로\tb".encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_bad_rows_stop_with_file_and_line_and_leave_no_output(trained, hangul_root):
    clf, _ = trained
    inp, out = _bad_tsv(hangul_root / "나쁜 행.tsv"), hangul_root / "나쁜 점수.parquet"
    with pytest.raises(KsentError, match=r"나쁜 행\.tsv:3: byte 2 of the line .* is not UTF-8.*--on-error skip"):
        score_file(clf, inp, out, progress=False)
    assert not out.exists() and not list(hangul_root.glob(".나쁜 점수*"))


def test_skip_counts_bad_rows_and_reports_their_lines(trained, hangul_root):
    clf, _ = trained
    inp, out = _bad_tsv(hangul_root / "건너뛸 행.tsv"), hangul_root / "건너뛴 점수.jsonl"
    s = score_file(clf, inp, out, on_error="skip", progress=False)
    assert (s.scored, s.skipped) == (2, 2)
    assert [line for line, _ in s.first_skipped] == [3, 4]
    assert "expected 3 tab-separated fields" in s.first_skipped[1][1]
    assert "skipped 2 bad rows (line 3:" in s.describe()
    assert [r["text"] for r in _read(out)] == ["좋다", "별로"]


def test_csv_line_numbers_count_quoted_line_breaks(trained, hangul_root):
    clf, _ = trained
    inp = hangul_root / "여러 줄.csv"
    inp.write_text('id,text\n1,"첫 줄\n둘째 줄"\n2,좋다,extra\n3,"별로"\n', encoding="utf-8")
    s = score_file(clf, inp, hangul_root / "여러 줄.jsonl", on_error="skip", progress=False)
    assert (s.scored, s.skipped, s.first_skipped[0][0]) == (2, 1, 4)
    assert [r["text"] for r in _read(hangul_root / "여러 줄.jsonl")] == ["첫 줄\n둘째 줄", "별로"]


def test_csv_bad_bytes_and_quotes_never_merge_rows(trained, hangul_root):
    clf, _ = trained
    inp = hangul_root / "깨진 인용.csv"
    inp.write_bytes(
        b'id,text\n1,"\xea\xb0\x80\n\xff"\n2,\xec\xa2\x8b\xeb\x8b\xa4\n3,\xff\n4,"a\nb"\n5,"unterminated\n6,x\n'
    )
    s = score_file(clf, inp, hangul_root / "깨진 인용.jsonl", on_error="skip", progress=False)
    got = _read(hangul_root / "깨진 인용.jsonl")
    assert [r["id"] for r in got] == ["2", "4"] and got[0]["text"] == "좋다"
    assert [line for line, _ in s.first_skipped] == [2, 5, 8]
    assert "not UTF-8 (the record runs to line 3)" in s.first_skipped[0][1]
    assert "malformed CSV" in s.first_skipped[2][1]


def test_nothing_scored_writes_nothing(trained, hangul_root):
    clf, _ = trained
    inp, out = hangul_root / "전부 나쁨.tsv", hangul_root / "전부 나쁨.parquet"
    inp.write_bytes(b"id\ttext\n1\n2\n")
    with pytest.raises(KsentError, match=r"has no rows to score: .*skipped 2 bad rows"):
        score_file(clf, inp, out, on_error="skip", progress=False)
    assert not out.exists()
    dup = hangul_root / "중복 열.tsv"
    dup.write_text("text\ttext\n좋다\t별로\n", encoding="utf-8")
    with pytest.raises(KsentError, match=r"중복 열\.tsv:1: the header names \['text'\] more than once"):
        score_file(clf, dup, hangul_root / "o.jsonl", progress=False)


def test_jsonl_bad_rows(trained, hangul_root):
    clf, _ = trained
    inp = hangul_root / "나쁜.jsonl"
    inp.write_text(
        "\n".join(
            [
                '{"text": "좋다", "n": 1}',
                '{"text": null, "n": 2}',
                '{"n": 3}',
                "[1]",
                "{oops",
                '{"text": "싫다", "m": 1}',
                '{"text": "반쪽 \\ud83d", "n": 8}',
            ]
        )
        + '\n{"text": "별로", "n": 7}\n',
        encoding="utf-8",
    )
    s = score_file(clf, inp, hangul_root / "나쁜 결과.jsonl", on_error="skip", progress=False)
    assert (s.scored, s.skipped) == (2, 6)
    reasons = dict(s.first_skipped)
    assert "is null" in reasons[2] and "is missing" in reasons[3] and "JSON object" in reasons[4]
    assert "not valid JSON" in reasons[5]
    with pytest.raises(KsentError, match=r"나쁜\.jsonl:2: the text 'text' is null"):
        score_file(clf, inp, hangul_root / "x.jsonl", progress=False)


def test_parquet_null_texts_name_their_row(trained, hangul_root):
    clf, _ = trained
    inp = hangul_root / "널.parquet"
    pq.write_table(pa.table({"text": ["좋다", None, "별로"], "n": [1, 2, 3]}), inp)
    with pytest.raises(KsentError, match=r"널\.parquet:2: the text 'text' is null"):
        score_file(clf, inp, hangul_root / "널 결과.parquet", progress=False)
    s = score_file(clf, inp, hangul_root / "널 결과.parquet", on_error="skip", progress=False)
    assert (s.scored, s.skipped) == (2, 1)
    assert pq.read_table(hangul_root / "널 결과.parquet").column("n").to_pylist() == [1, 3]


def test_a_crash_mid_file_leaves_no_output(trained, hangul_root):
    clf, _ = trained
    calls = []

    class Crashes:
        def predict_records(self, texts):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("killed")
            return clf.predict_records(texts)

    inp, out = _write(hangul_root / "중단.tsv", _rows(), "tsv"), hangul_root / "중단.parquet"
    with pytest.raises(RuntimeError):
        score_file(Crashes(), inp, out, chunk_rows=5, progress=False)
    assert not out.exists() and not list(hangul_root.glob(".중단*"))


def test_input_errors_say_what_to_fix(trained, hangul_root):
    clf, _ = trained
    inp = _write(hangul_root / "열.tsv", _rows(3), "tsv")
    with pytest.raises(KsentError, match=r"열\.tsv:1: no column named 'review'.*--text-col"):
        score_file(clf, inp, hangul_root / "o.jsonl", text_col="review", progress=False)
    labelled = hangul_root / "라벨.tsv"
    labelled.write_text("document\tlabel\n좋다\t1\n", encoding="utf-8")
    with pytest.raises(KsentError, match=r"already has column\(s\) \['label'\].*--prefix"):
        score_file(clf, labelled, hangul_root / "o.jsonl", progress=False)
    score_file(clf, labelled, hangul_root / "o.jsonl", prefix="pred_", progress=False)
    assert set(_read(hangul_root / "o.jsonl")[0]) == {
        "document",
        "label",
        "pred_label",
        "pred_p_positive",
        "pred_n_tokens",
    }
    with pytest.raises(KsentError, match="cannot hold"):  # a line break cannot live in a TSV without quoting
        score_file(clf, _write(hangul_root / "줄바꿈.jsonl", [{"text": "a\nb"}], "jsonl"), hangul_root / "o.tsv")
    with pytest.raises(KsentError, match="extension"):
        score_file(clf, hangul_root / "x.xlsx", hangul_root / "o.tsv")


def test_cli_streams_files_and_stdin(trained, hangul_root):
    clf, model = trained
    inp = _write(hangul_root / "명령.csv", _rows(), "csv")
    out = hangul_root / "명령 결과.parquet"
    r = CliRunner().invoke(
        app, ["predict", "-m", str(model), "--file", str(inp), "--out", str(out), "--chunk-rows", "6"]
    )
    assert r.exit_code == 0, r.output
    assert "scored 21 rows" in r.stderr and r.stdout == ""
    np.testing.assert_allclose(
        pq.read_table(out).column("p_positive").to_numpy(), clf.predict_proba(TEXTS)[:, 1], atol=1e-6
    )
    r = CliRunner().invoke(
        app, ["predict", "-m", str(model), "--json"], input=io.StringIO("좋아요\n\n별로에요\n").read()
    )
    assert [json.loads(line)["text"] for line in r.stdout.splitlines()] == ["좋아요", "", "별로에요"]
    for wrong, says in (
        (["--file", str(inp), "--on-error", "maybe"], "--on-error must be raise or skip"),
        (["--out", str(out), "좋다"], "--out writes the scores of a --file"),
        (["--file", str(inp), "--out", str(out), "--json"], "--json is for printed records"),
        (["--engine", "ray", "--file", str(inp)], "--engine ray needs --file"),
    ):
        r = CliRunner().invoke(app, ["predict", "-m", str(model), *wrong])
        assert r.exit_code != 0 and says in str(r.exception)


@pytest.mark.parametrize("fmt", ["txt", "tsv", "csv", "jsonl", "parquet"])
def test_cli_format_names_what_the_extension_does_not(trained, hangul_root, fmt):
    """`predict --file F --format FMT`: a file whose name says nothing is read as FMT, row by row."""
    clf, model = trained
    folder = hangul_root / f"형식 {fmt}"
    folder.mkdir()
    inp = _write(folder / "리뷰 내보내기.dat", _rows(7), fmt)
    args = ["predict", "-m", str(model), "--file", str(inp), "--json", "--chunk-rows", "3"]
    r = CliRunner().invoke(app, [*args, "--format", fmt])
    assert r.exit_code == 0, r.output
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(g["text"], g["n_tokens"]) for g in got] == list(zip(TEXTS[:7], N_TOKENS, strict=True))
    assert got == [rec.to_dict() for rec in clf.predict_records(TEXTS[:7])]
    r = CliRunner().invoke(app, args)  # without it, the name says nothing: refused, saying what to pass
    assert isinstance(r.exception, KsentError) and "cannot tell the format from the extension '.dat'" in str(
        r.exception
    )
    assert "--format" in str(r.exception) and r.stdout == ""


def test_sigterm_mid_file_leaves_no_temp_file(trained, hangul_root):
    import signal
    import subprocess
    import sys
    import time

    _, model = trained
    folder = hangul_root / "종료"
    folder.mkdir()
    inp = folder / "긴 입력.txt"
    inp.write_text("정말 재밌어요 배우들 연기가 좋았다\n" * 200_000, encoding="utf-8")
    out = folder / "점수.jsonl"
    cmd = [sys.executable, "-m", "ksent", "predict", "-m", str(model), "--file", str(inp), "--out", str(out)]
    proc = subprocess.Popen([*cmd, "--chunk-rows", "500"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(folder.glob(".점수.jsonl.*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the temp output exists: the run is mid-file
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert sorted(p.name for p in folder.iterdir()) == [inp.name]
