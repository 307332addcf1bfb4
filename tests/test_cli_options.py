"""Options say what they count: --analyser-threads, serve --processes, predict --cpus-per-actor;
the old --workers still works for one release, meaning what it meant for its command, with a
one-line notice on stderr."""

import os

import pytest
from typer.testing import CliRunner

import ksent
import ksent.classifier
from ksent.cli import app
from ksent.errors import KsentError

runner = CliRunner()


class Stop(Exception):
    """Raised by the spies once they have seen the count: the command need not run further."""


@pytest.fixture
def seen(monkeypatch):
    """The `workers=` that the commands hand to `ksent.load` and `SentimentClassifier`."""
    got = []

    def spy(*args, workers=None, **kwargs):
        got.append(workers)
        raise Stop

    monkeypatch.setattr(ksent, "load", spy)
    monkeypatch.setattr(ksent.classifier, "SentimentClassifier", spy)
    return got


@pytest.fixture
def labelled(hangul_root):
    path = hangul_root / "옵션 이름.tsv"
    path.write_text("id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\t0\n", encoding="utf-8")
    return path


COMMANDS = {
    "train": lambda f, tmp: ["train", "--train", str(f), "--out", str(tmp / "모델")],
    "evaluate": lambda f, tmp: ["evaluate", "--data", str(f)],
    "predict": lambda f, tmp: ["predict", "좋다"],
    "data stats": lambda f, tmp: ["data", "stats", "--data", str(f)],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_analyser_threads_and_the_old_workers(command, seen, labelled, hangul_root):
    args = COMMANDS[command](labelled, hangul_root)
    r = runner.invoke(app, [*args, "--analyser-threads", "3"])
    assert isinstance(r.exception, Stop) and seen == [3]
    assert "deprecated" not in r.stderr
    r = runner.invoke(app, [*args, "--workers", "2"])
    assert isinstance(r.exception, Stop) and seen == [3, 2]
    (notice,) = r.stderr.splitlines()
    assert "--workers is deprecated" in notice and "use --analyser-threads" in notice
    r = runner.invoke(app, [*args, "--workers", "2", "--analyser-threads", "3"])
    assert isinstance(r.exception, KsentError) and "give only --analyser-threads" in str(r.exception)
    shown = runner.invoke(app, [*command.split(), "--help"]).stdout
    assert "--analyser-threads" in shown and "--workers" not in shown  # the old name is hidden


def test_predict_on_ray_counts_cpus_per_actor(monkeypatch, hangul_root):
    import ksent.ray

    got = []
    monkeypatch.setattr(ksent.ray, "score_files", lambda *a, num_cpus, **kw: got.append(num_cpus))
    args = ["predict", "--engine", "ray", "--file", str(hangul_root / "*.tsv"), "--out", str(hangul_root / "점수")]
    r = runner.invoke(app, [*args, "--cpus-per-actor", "4", "--concurrency", "2"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*args, "--workers", "3"])  # on Ray, --workers counted each actor's CPUs
    assert r.exit_code == 0, r.output
    assert "--workers is deprecated" in r.stderr and "use --cpus-per-actor" in r.stderr
    r = runner.invoke(app, args)
    assert got == [4, 3, 1]
    r = runner.invoke(app, [*args, "--analyser-threads", "2"])
    assert isinstance(r.exception, KsentError) and "--cpus-per-actor" in str(r.exception)
    r = runner.invoke(app, ["predict", "--cpus-per-actor", "2", "좋다"])
    assert isinstance(r.exception, KsentError) and "--cpus-per-actor is for --engine ray" in str(r.exception)


def test_serve_counts_processes(monkeypatch):
    uvicorn = pytest.importorskip("uvicorn")
    got = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, workers, **kw: got.append(workers))
    monkeypatch.setattr(os, "environ", dict(os.environ))  # serve hands its settings to its workers there
    assert runner.invoke(app, ["serve", "--processes", "2"]).exit_code == 0
    r = runner.invoke(app, ["serve", "--workers", "3"])  # serve's --workers counted server processes
    assert r.exit_code == 0, r.output
    assert "--workers is deprecated" in r.stderr and "use --processes" in r.stderr
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert got == [2, 3, 1]
