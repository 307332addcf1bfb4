"""Streaming `predict --file`: every format in and out, chunk by chunk, bad rows stopped or counted,
and no output file unless every row was scored."""

import csv
import io
import json
import sys

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


def _crash_on_commit(monkeypatch, at: int) -> None:
    """Make the `at`-th chunk's commit fail: its rows are in the partial output, the manifest does
    not count them (a crash between writing a chunk and recording it)."""
    from ksent.stream.resume import Partial

    real, calls = Partial.commit, []

    def commit(self, written):
        calls.append(1)
        if len(calls) == at:
            raise RuntimeError("killed")
        return real(self, written)

    monkeypatch.setattr(Partial, "commit", commit)


@pytest.mark.parametrize("dst", ["tsv", "csv", "jsonl", "parquet"])
def test_a_crash_keeps_what_was_scored_and_resume_ends_byte_equal(trained, hangul_root, monkeypatch, dst):
    clf, _ = trained
    folder = hangul_root / f"재개-{dst}"
    folder.mkdir()
    inp = _write(folder / "입력.tsv", _rows(), "tsv")  # 21 rows: five chunks of 5
    ref, out = folder / f"한번에.{dst}", folder / f"중단.{dst}"
    score_file(clf, inp, ref, chunk_rows=5, progress=False)
    with monkeypatch.context() as m:
        _crash_on_commit(m, 3)
        with pytest.raises(RuntimeError):
            score_file(clf, inp, out, chunk_rows=5, progress=False)
    assert not out.exists()  # nothing under the real name until every row is scored
    manifest = json.loads((folder / f".중단.{dst}.resume.json").read_text(encoding="utf-8"))
    assert (manifest["progress"]["chunks"], manifest["progress"]["scored"]) == (2, 10)
    scored = []
    with monkeypatch.context() as m:
        m.setattr(
            clf, "predict_records", lambda texts: scored.append(len(texts)) or type(clf).predict_records(clf, texts)
        )
        s = score_file(clf, inp, out, chunk_rows=5, progress=False, resume=True)
    assert scored == [5, 5, 1]  # chunks 3 to 5 only: the first two were not scored again
    assert (s.scored, s.resumed) == (21, 10)
    assert out.read_bytes() == ref.read_bytes()  # the third chunk, written but not recorded, was cut off
    assert sorted(p.name for p in folder.iterdir()) == sorted([inp.name, ref.name, out.name])  # no state left


def test_resume_refuses_another_input_model_or_options(trained, hangul_root, monkeypatch):
    import ksent

    clf, _ = trained
    folder = hangul_root / "재개 거부"
    folder.mkdir()
    inp = _write(folder / "입력.tsv", _rows(), "tsv")
    out = folder / "점수.jsonl"
    with monkeypatch.context() as m:
        _crash_on_commit(m, 2)
        with pytest.raises(RuntimeError):
            score_file(clf, inp, out, chunk_rows=5, progress=False)
    state = sorted(p.name for p in folder.iterdir())
    with pytest.raises(KsentError, match=r"was made with chunk_rows=5; resume with the same options"):
        score_file(clf, inp, out, chunk_rows=4, progress=False, resume=True)
    with pytest.raises(KsentError, match=r"was made with prefix=''"):
        score_file(clf, inp, out, chunk_rows=5, prefix="p_", progress=False, resume=True)
    with pytest.raises(KsentError, match=r"used another model"):
        score_file(ksent.load(), inp, out, chunk_rows=5, progress=False, resume=True)
    with open(inp, "a", encoding="utf-8") as f:
        f.write("99\t새로 온 리뷰\t출처1\n")
    with pytest.raises(KsentError, match=r"입력\.tsv has changed since the unfinished run of .*점수\.jsonl began"):
        score_file(clf, inp, out, chunk_rows=5, progress=False, resume=True)
    assert sorted(p.name for p in folder.iterdir()) == state  # refused: the unfinished run is kept as it was
    # without --resume the run starts over, and ends as a run that never stopped
    score_file(clf, inp, out, chunk_rows=5, progress=False)
    score_file(clf, inp, folder / "참고.jsonl", chunk_rows=5, progress=False)
    assert out.read_bytes() == (folder / "참고.jsonl").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == ["입력.tsv", "점수.jsonl", "참고.jsonl"]
    with pytest.raises(KsentError, match="resuming needs an input file and an output file"):
        score_file(clf, io.BytesIO(b"text\n"), out, fmt="txt", progress=False, resume=True)


def test_one_run_per_output_at_a_time(trained, hangul_root, monkeypatch):
    """A second run to the same --out while one is writing it would share (and break) its partial file."""
    clf, _ = trained
    inp = _write(hangul_root / "동시.tsv", _rows(), "tsv")
    out = hangul_root / "동시 점수.csv"
    second = []
    real = clf.predict_records

    def meanwhile(texts):  # the first run, mid-file, sees a second one start
        if not second:
            with pytest.raises(KsentError, match=r"another run is writing .*동시 점수\.csv right now"):
                score_file(clf, inp, out, chunk_rows=5, progress=False)
            second.append(1)
        return real(texts)

    monkeypatch.setattr(clf, "predict_records", meanwhile)
    score_file(clf, inp, out, chunk_rows=5, progress=False)
    monkeypatch.undo()
    assert second and _read(out) == _read(score_file_ref(clf, inp, hangul_root / "동시 참고.csv"))


def score_file_ref(clf, inp, out):
    score_file(clf, inp, out, chunk_rows=5, progress=False)
    return out


def test_bad_input_leaves_nothing_to_resume(trained, hangul_root):
    clf, _ = trained
    inp = hangul_root / "나쁜 줄.jsonl"
    inp.write_text('{"text": "좋다"}\n' * 6 + "not json\n", encoding="utf-8")
    with pytest.raises(KsentError, match=r"나쁜 줄\.jsonl:7"):
        score_file(clf, inp, hangul_root / "나쁜 줄 점수.csv", chunk_rows=2, progress=False)
    assert not list(hangul_root.glob("*나쁜 줄 점수*"))  # the input needs fixing: no partial output kept


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


def _killed_mid_file(cmd: list[str], manifest, chunks: int, sig: int):
    """Run `cmd`, send `sig` once its manifest records `chunks` chunks; return (returncode, stderr)."""
    import subprocess
    import time

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(manifest.read_text(encoding="utf-8"))["progress"]["chunks"] >= chunks:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("dst", ["tsv", "csv", "jsonl", "parquet"])
def test_sigkill_mid_file_then_resume_equals_an_unstopped_run(trained, hangul_root, nsmc_dir, dst):
    """The real thing: `ksent predict --file --out` killed with SIGKILL mid-file (no handler runs),
    then `--resume`: the file equals an uninterrupted run's, byte for byte."""
    import signal
    import subprocess
    import sys

    from ksent.data import nsmc_path

    clf, model = trained
    folder = hangul_root / f"강제 종료 {dst}"
    folder.mkdir()
    inp = folder / "리뷰 1500.tsv"  # NSMC's own layout: id, document, label (so the new columns need a prefix)
    with open(nsmc_path("test", nsmc_dir), encoding="utf-8") as f:
        inp.write_text("".join(next(f) for _ in range(1501)), encoding="utf-8")
    ref, out = folder / f"한번에.{dst}", folder / f"점수.{dst}"
    score_file(clf, inp, ref, chunk_rows=100, prefix="pred_", progress=False)
    cmd = [sys.executable, "-m", "ksent", "predict", "-m", str(model), "--file", str(inp), "--out", str(out)]
    cmd += ["--chunk-rows", "100", "--prefix", "pred_"]
    code, _ = _killed_mid_file(cmd, folder / f".점수.{dst}.resume.json", 3, signal.SIGKILL)
    assert code == -signal.SIGKILL and not out.exists(), "the run ended before it was killed: nothing was tested"
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr and "before resuming" in done.stderr
    assert out.read_bytes() == ref.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted([inp.name, ref.name, out.name])


def test_sigterm_mid_file_keeps_the_run_for_resume(trained, hangul_root):
    import signal

    _, model = trained
    folder = hangul_root / "종료"
    folder.mkdir()
    inp = folder / "긴 입력.txt"
    inp.write_text("정말 재밌어요 배우들 연기가 좋았다\n" * 200_000, encoding="utf-8")
    out = folder / "점수.jsonl"
    cmd = [sys.executable, "-m", "ksent", "predict", "-m", str(model), "--file", str(inp), "--out", str(out)]
    code, err = _killed_mid_file([*cmd, "--chunk-rows", "500"], folder / ".점수.jsonl.resume.json", 1, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM
    assert "run the same command with --resume" in err
    kept = [inp.name, ".점수.jsonl.partial", ".점수.jsonl.resume.json", ".점수.jsonl.lock"]  # the lock: released
    assert sorted(p.name for p in folder.iterdir()) == sorted(kept)
