"""Ray Data: the scores equal one process's `predict_proba`, rows and extra columns kept, on a
simulated two-node cluster (two raylets, one CPU each), and a failing batch says what failed."""

import os
import signal

import numpy as np
import pyarrow.dataset as pads
import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")  # the `ray` extra; .ci/run installs it, so CI runs these
from ray.cluster_utils import Cluster  # noqa: E402

import ksent.ray  # noqa: E402
from ksent.cli import app  # noqa: E402
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


def test_a_failing_batch_is_a_clear_error(trained, cluster):
    _, model = trained
    rows = [{"id": 1, "text": "좋다"}, {"id": 2, "text": None}]
    ds = ksent.ray.predict(ray.data.from_items(rows), model=model)
    with pytest.raises(Exception, match=r"1 of 2 rows in a batch have no text in 'text'.*'id': 2"):
        ds.materialize()


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
