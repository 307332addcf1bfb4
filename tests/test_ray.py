"""Ray Data: the scores equal one process's `predict_proba`, rows and extra columns kept, on a
simulated two-node cluster (two raylets, one CPU each); a killed actor loses no row; a failing
batch, or a file the job would fail on, says what failed in ksent's one line."""

import os
import signal
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")  # the `ray` extra; .ci/run installs it, so CI runs these
from ray.cluster_utils import Cluster  # noqa: E402

import ksent.ray  # noqa: E402
from ksent.cli import app, main  # noqa: E402
from ksent.errors import KsentError  # noqa: E402
from ksent.runtime import fault_handlers, fault_handlers_kept  # noqa: E402

TEXTS = [
    "정말 재밌어요",
    "최악의 영화",
    "",
    "10점 만점에 1점",
    "배우들 연기가 좋았다",
    "지루하고 길다",
    "ㅋㅋ 꿀잼",
] * 4


@pytest.fixture(scope="module")
def cluster():
    # Ray swaps the process's SIGSEGV handler on init and leaves none after shutdown; the JVM that
    # Okt tests started in this process then dies on its next deliberate fault (CI: exit 139).
    with fault_handlers_kept():
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        c.add_node(num_cpus=1)
        ray.init(address=c.address, logging_level="ERROR", log_to_driver=False)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    yield c
    with fault_handlers_kept():
        ray.shutdown()
        c.shutdown()


def test_ray_leaves_the_fault_handlers_as_they_were(cluster):
    before = fault_handlers()
    assert before is not None and all(before.values())  # Linux; pytest's faulthandler (or a JVM's) is installed
    with fault_handlers_kept():
        ray.shutdown()
        assert fault_handlers()[signal.SIGSEGV] == 0  # what Ray leaves unguarded: the default action, fatal to a JVM
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        assert fault_handlers() != before  # Ray's own handlers
    assert fault_handlers() == before


def test_ray_scores_equal_one_process(trained, cluster):
    clf, model = trained
    rows = [{"id": i, "text": t, "shop": f"가게{i % 3}"} for i, t in enumerate(TEXTS)]
    ds = ksent.ray.predict(ray.data.from_items(rows), model=model, batch_size=5, concurrency=2)
    got = ds.to_pandas()
    assert got["id"].tolist() == list(range(len(TEXTS)))  # row order kept
    assert got["shop"].tolist() == [r["shop"] for r in rows] and got["text"].tolist() == TEXTS
    want = clf.predict_proba(TEXTS)[:, 1]
    np.testing.assert_allclose(got["p_positive"].to_numpy(), want, atol=1e-6)
    assert got["label"].tolist() == (want >= 0.5).astype(int).tolist()
    # counted by hand: 정말 재밌다 어요; 최악 [의] 영화; none; 점 만점 [에] 점; 배우 [들] 연기 [가] 좋다 었 다;
    # 지루 하 고 길다 다; ㅋㅋ 꿀 잼 (Kiwi lemmas of the Hangul-only text, the seed's stopwords out)
    assert got["n_tokens"].tolist() == [3, 2, 0, 3, 5, 5, 3] * 4


def _scorer_processes(cluster, busy: str = ".submit") -> list[int]:
    """PIDs of this cluster's Scorer actors that took a batch (Ray titles the process
    ray::MapWorker(MapBatches(Scorer)).submit from its first), found as children of the cluster's
    raylets (Linux /proc; another Ray on the machine is not ours to kill)."""
    raylets = {n.all_processes["raylet"][0].process.pid for n in cluster.list_all_nodes()}
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            title = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode(errors="replace")
            parent = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if parent in raylets and title.startswith("ray::MapWorker(") and "Scorer)" in title and busy in title:
            found.append(int(pid))
    return found


def test_a_killed_actor_costs_no_row(trained, cluster, nsmc_dir):
    from ksent.data import nsmc_path, read_labelled

    clf, model = trained
    texts = read_labelled(nsmc_path("test", nsmc_dir)).texts[:1000]  # seconds of work after the kill
    rows = [{"id": i, "text": t} for i, t in enumerate(texts)]
    ds = ksent.ray.predict(ray.data.from_items(rows, override_num_blocks=40), model=model, batch_size=25, concurrency=2)
    received, killed = [0], []

    def kill_one_actor() -> None:  # SIGKILL: no clean-up, as when a node's process is OOM-killed
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for pid in _scorer_processes(cluster):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue  # ended since it was listed: not a kill
                killed.append((pid, received[0]))
                break
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_actor)
    killer.start()
    tables = []
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            tables.append(batch)
            received[0] += batch.num_rows
    finally:
        killed.append(None)  # stops the thread if the job failed before it killed
        killer.join()
    assert killed[0] is not None, "no Scorer actor was found to kill"
    _, rows_then = killed[0]
    assert rows_then < len(texts) / 2  # killed mid-job, with most of the rows still to score
    got = pa.concat_tables(tables)
    assert got.column("id").to_pylist() == list(range(len(texts)))  # every row once, in order
    np.testing.assert_allclose(got.column("p_positive").to_numpy(), clf.predict_proba(texts)[:, 1], atol=1e-6)


def test_a_failing_batch_is_a_clear_error(trained, cluster):
    _, model = trained
    rows = [{"id": 1, "text": "좋다"}, {"id": 2, "text": None}]
    ds = ksent.ray.predict(ray.data.from_items(rows), model=model)
    with pytest.raises(Exception, match=r"1 of 2 rows in a batch have no text in 'text'.*'id': 2") as failed:
        ds.materialize()
    # Ray's wrapping, unwrapped: ksent's own line, not Ray's "UDF failed" and advice on retries
    assert ksent.ray._cause(failed.value) == (
        "1 of 2 rows in a batch have no text in 'text' (the first: None, row {'id': 2}); "
        "filter or fill them before scoring"
    )


def test_columns_ray_knows_are_checked_before_any_actor_starts(cluster):
    ds = ray.data.from_items([{"id": 1, "review": "좋다", "label": 1}])
    with pytest.raises(KsentError, match=r"no column named 'text' in \['id', 'review', 'label'\]"):
        ksent.ray.predict(ds)
    with pytest.raises(KsentError, match=r"already has column\(s\) \['label'\]; pass a prefix"):
        ksent.ray.predict(ds, text_col="review")
    ksent.ray.predict(ds, text_col="review", prefix="pred_")  # lazy: nothing runs


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, list[str]]:
    """Exit code and stderr lines of `ksent ARGS`, run as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["ksent", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, capsys.readouterr().err.splitlines()


def test_cli_ray_engine_refuses_a_file_it_would_fail_on_before_starting(cluster, hangul_root, monkeypatch, capsys):
    source = hangul_root / "리뷰.parquet"
    pq.write_table(pa.table({"id": [1, 2], "document": ["좋다", "싫다"], "label": [1, 0]}), source)
    out = hangul_root / "점수"

    def started(*args, **kwargs):
        raise AssertionError("Ray was asked to read the file")

    monkeypatch.setattr(ksent.ray, "_read", started)  # every check below comes before it
    code, err = _cli(monkeypatch, capsys, "predict", "--engine", "ray", "--file", str(source), "--out", str(out))
    assert code == 2 and err == [  # the local engine's words (ksent.stream.score_file)
        f"error: {source} already has column(s) ['label']; pass --prefix (e.g. --prefix pred_) to name the new ones"
    ]
    code, err = _cli(
        monkeypatch, capsys, "predict", "--engine", "ray", "-f", str(source), "-o", str(out), "--text-col", "review"
    )
    header = "['id', 'document', 'label']"
    assert code == 2 and err == [
        f"error: {source}:1: no column named 'review' in the header {header}; name it with --text-col"
    ]
    assert not out.exists()


def test_cli_ray_engine_reports_a_failing_batch_in_ksents_words(trained, cluster, hangul_root, monkeypatch, capsys):
    _, model = trained
    source = hangul_root / "빈 리뷰.parquet"
    pq.write_table(pa.table({"id": [1, 2], "document": ["좋다", None]}), source)
    out = hangul_root / "빈 점수"
    code, err = _cli(
        monkeypatch, capsys, "predict", "-m", str(model), "--engine", "ray", "-f", str(source), "-o", str(out)
    )
    assert code == 2 and err[-1] == (
        f"error: scoring {source} failed: 1 of 2 rows in a batch have no text in 'document' "
        "(the first: None, row {'id': 2}); filter or fill them before scoring"
    )
    assert not out.exists() and not [p for p in hangul_root.iterdir() if p.name.startswith(".빈 점수")]


def test_cli_ray_engine_reads_a_glob_and_writes_a_folder(trained, cluster, hangul_root):
    clf, model = trained
    folder = hangul_root / "레이 입력"
    folder.mkdir()
    halves = [TEXTS[:14], TEXTS[14:]]
    for k, part in enumerate(halves):
        lines = "".join(f"{k}{i:02d}\t{t}\t{k}\n" for i, t in enumerate(part))
        (folder / f"part-{k}.tsv").write_text("id\tdocument\tlabel\n" + lines, encoding="utf-8")
    out = hangul_root / "레이 결과"
    args = ["predict", "-m", str(model), "--engine", "ray", "--file", str(folder / "part-*.tsv"), "--out", str(out)]
    r = CliRunner().invoke(app, [*args, "--prefix", "pred_", "--concurrency", "2"])  # finds "document" itself
    assert r.exit_code == 0, r.output
    table = pads.dataset(out).to_table()
    files = sorted(os.listdir(out))
    assert files and all(f.endswith(".parquet") for f in files)
    assert table.column("document").to_pylist() == TEXTS  # both files, in order, "10" still text
    np.testing.assert_allclose(table.column("pred_p_positive").to_numpy(), clf.predict_proba(TEXTS)[:, 1], atol=1e-6)
    assert table.column("label").to_pylist() == ["0"] * 14 + ["1"] * 14  # the input's columns kept, as text
    assert table.column("id").to_pylist()[:2] == ["000", "001"]  # as the local engine writes them
    assert not [p for p in hangul_root.iterdir() if p.name.startswith(".레이 결과")]  # no temp folder left
    r = CliRunner().invoke(app, [*args, "--text-col", "document", "--prefix", "pred_"])
    assert r.exit_code != 0 and "exists" in str(r.exception)  # never writes into an existing folder
