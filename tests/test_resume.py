"""Resumable training (ksent.checkpoint): a run stopped after any finished epoch, SIGKILL included,
resumes to the same model bytes as a run never stopped; members already done are not trained again;
the teacher's answers are kept; another run's checkpoint is refused in one line, before any work."""

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import ksent
from ksent import checkpoint, train
from ksent.checkpoint import Checkpoint, Slot
from ksent.cli import main
from ksent.config import resolve
from ksent.data import read_labelled
from ksent.errors import KsentError
from ksent.models import NetSpec

TINY = ["epochs=2", "hidden=16", "embed_dim=16", "subword_vocab=800", "bf16=false"]
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread, here and in the subprocesses: on a busy machine two threads spend their time
    waiting on each other. (A resumed run matches an unbroken one at any thread count that both use.)"""
    was = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(was)


def _rows(nsmc_dir: Path, folder: Path, n: int) -> Path:
    """The first `n` NSMC training rows as a file of their own."""
    path = folder / "리뷰 파일.tsv"
    folder.mkdir(parents=True, exist_ok=True)
    lines = (nsmc_dir / "ratings_train.txt").read_text(encoding="utf-8").split("\n")[: n + 1]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _parts(saved: Path) -> list[str]:
    """What a checkpoint folder holds (parts being written have hidden temporary names)."""
    return sorted(p.name for p in saved.iterdir() if not p.name.startswith(".")) if saved.is_dir() else []


def _figures(metrics: dict):
    """metrics.json without what differs between two runs of the same training: timings and resumption."""
    if isinstance(metrics, dict):
        drop = ("seconds", "teacher_seconds", "resumed_after_epoch")
        return {k: _figures(v) for k, v in metrics.items() if k not in drop}
    if isinstance(metrics, list):
        return [_figures(v) for v in metrics]
    return metrics


class Stopped(Exception):
    """Raised right after a chosen epoch is checkpointed: the run is cut off there."""


def _stop_after(monkeypatch, member: int, epoch: int) -> None:
    real = Slot.save

    def save(self, at, *args, **kwargs):
        real(self, at, *args, **kwargs)
        if (self.k, at) == (member, epoch):
            raise Stopped

    monkeypatch.setattr(Slot, "save", save)


# --- the real thing: ksent train killed with SIGKILL --------------------------------------------------


def test_a_run_killed_mid_epoch_resumes_to_the_same_model_bytes(nsmc_dir, hangul_root):
    """`ksent train` SIGKILLed during member 1's second epoch, then run again with --resume, writes the
    model.safetensors an uninterrupted run writes, byte for byte, and the same metrics (timings aside)."""
    folder = hangul_root / "재개"
    data = _rows(nsmc_dir, folder, 2500)  # an epoch takes about a second: the kill lands inside one
    sets = [a for s in [*TINY, "members=2"] for a in ("--set", s)]

    def command(out: Path, *more: str) -> list[str]:
        args = ["train", "--config", "fast", "--train", str(data), "--out", str(out), "--device", "cpu"]
        return [sys.executable, "-m", "ksent", *args, "--no-cache", *sets, *more]

    whole = folder / "한 번에"  # the run never stopped, beside the others (each has one thread)
    whole_log, log = folder / "whole.log", folder / "killed.log"
    out = folder / "끊긴 모델"
    saved = checkpoint.beside(out)
    assert saved == folder / ".끊긴 모델.checkpoint"
    expected = ["checkpoint.json", "inputs.json", "member-1.epoch-1"]
    with open(whole_log, "w") as whole_err, open(log, "w") as err:
        unbroken = subprocess.Popen(command(whole), stdout=subprocess.DEVNULL, stderr=whole_err, env=ONE_THREAD)
        proc = subprocess.Popen(command(out), stdout=subprocess.DEVNULL, stderr=err, env=ONE_THREAD)
        try:
            deadline = time.monotonic() + 300
            while _parts(saved) != expected:  # epoch 1 saved, epoch 2 under way
                assert proc.poll() is None, f"ksent train ended before the kill: {log.read_text(encoding='utf-8')}"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL
            assert _parts(saved) == expected and not out.exists()  # killed inside epoch 2: nothing more saved

            r = subprocess.run(command(out, "--resume"), capture_output=True, text=True, env=ONE_THREAD)
            assert r.returncode == 0, r.stderr
            assert unbroken.wait(timeout=300) == 0, whole_log.read_text(encoding="utf-8")
        finally:  # a failed test leaves no training behind
            for running in (unbroken, proc):
                if running.poll() is None:
                    running.kill()
                    running.wait()
    assert not checkpoint.beside(whole).exists()  # removed once the model folder is written
    assert "resuming from the checkpoint" in r.stderr
    assert "member 1/2 (tokens): epoch 1 from the checkpoint (to continue)" in r.stderr
    assert "member 1/2 (tokens): epoch 1:" not in r.stderr and "member 1/2 (tokens): epoch 2:" in r.stderr
    assert (out / "model.safetensors").read_bytes() == (whole / "model.safetensors").read_bytes()
    resumed, fresh = (json.loads((d / "metrics.json").read_text(encoding="utf-8")) for d in (out, whole))
    assert [m.get("resumed_after_epoch") for m in resumed["training"]["members"]] == [1, None]
    assert _figures(resumed) == _figures(fresh)
    assert not saved.exists()


# --- the loop's state, in process ---------------------------------------------------------------------


def _signal_task(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Rows of noise ids (3-29) of every length, one of them the label's signal (2: positive, 1: negative)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    x = np.zeros((n, 10), dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(1, 11))
        x[i, :k] = rng.integers(3, 30, k)
        x[i, rng.integers(k)] = 1 + y[i]
    return x, y


def _fit(cfg, x, y, members, path: Path | None, resume: bool = False):
    saved = None if path is None else Checkpoint.open(path, {"config": cfg.to_dict()}, resume)
    return train.fit(cfg, x, y, members, "cpu", False, checkpoint=saved)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sb = b.state_dict()
    return all(torch.equal(v, sb[k]) for k, v in a.state_dict().items())


def test_an_ensemble_resumes_each_member_where_it_stopped(tmp_path, monkeypatch):
    """`best`'s recipe (AdamW, one-cycle schedule, dropout: every piece of state there is), two members.
    Stopped after member 1's first epoch, or once member 1 is done, the resumed run ends with the same
    weights and history as one never stopped; a member that was done is loaded, not trained again."""
    over = ["hidden=8", "embed_dim=8", "members=2", "syllable_members=0", "lr=0.01", "bf16=false", "epochs=2"]
    cfg = resolve("best", over)
    members = [train.Member(NetSpec.from_config(cfg, 30), 2, seed) for seed in (42, 43)]
    x, y = _signal_task()
    whole, fresh = _fit(cfg, x, y, members, None)
    n_train = fresh["n_train"]
    per_epoch = train._n_batches(n_train, cfg, (x[:n_train] != 0).sum(axis=1))
    steps = []
    real_step = train.train_step
    monkeypatch.setattr(train, "train_step", lambda *a: steps.append(1) or real_step(*a))

    for k, (member, epoch) in enumerate([(1, 1), (1, 2)]):
        path = tmp_path / f"checkpoint {k}"
        with monkeypatch.context() as m:
            _stop_after(m, member, epoch)
            with pytest.raises(Stopped):
                _fit(cfg, x, y, members, path)
        assert _parts(path) == ["checkpoint.json", "inputs.json", f"member-1.epoch-{epoch}"]
        steps.clear()
        model, history = _fit(cfg, x, y, members, path, resume=True)
        assert _same_weights(model, whole)
        assert _figures(history) == _figures(fresh)
        assert [h.get("resumed_after_epoch") for h in history["members"]] == [epoch, None]
        assert len(steps) == (4 - epoch) * per_epoch  # only the epochs left of the four were trained
    # a member that is done keeps its kept weights and history only
    state = json.loads((path / "member-1.epoch-2" / "state.json").read_text(encoding="utf-8"))
    assert state["finished"] and "optimizer" not in state and len(state["history"]) == 2


def test_a_lone_member_resumes_and_other_arrays_are_refused(tmp_path, monkeypatch):
    cfg = resolve("best", ["hidden=8", "embed_dim=8", "members=1", "syllable_members=0", "bf16=false", "epochs=2"])
    x, y = _signal_task()
    members = train.single(cfg, 30)
    whole, fresh = _fit(cfg, x, y, members, None)
    with monkeypatch.context() as m:
        _stop_after(m, 1, 1)
        with pytest.raises(Stopped):
            _fit(cfg, x, y, members, tmp_path / "ck")
    other = x.copy()
    other[0, 0] = 29
    with pytest.raises(KsentError, match="the ids this run trains on differ from the checkpoint's"):
        _fit(cfg, other, y, members, tmp_path / "ck", resume=True)
    model, history = _fit(cfg, x, y, members, tmp_path / "ck", resume=True)
    assert _same_weights(model, whole) and _figures(history) == _figures(fresh)
    assert history["resumed_after_epoch"] == 1


# --- the command line: refusals, replacing, nothing to resume ----------------------------------------------


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Exit code and stderr of `ksent ARGS`, run as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["ksent", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, capsys.readouterr().err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_another_runs_checkpoint_is_refused_in_one_line(nsmc_dir, hangul_root, monkeypatch, capsys):
    folder = hangul_root / "거절"
    data = _rows(nsmc_dir, folder, 400)
    out = folder / "모델"
    saved = checkpoint.beside(out)
    cfg = resolve("fast", TINY)
    rows = read_labelled(data)
    ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(rows, checkpoint=saved)  # left for the caller
    before = _snapshot(saved)
    assert "member-1.epoch-2" in _parts(saved)
    base = ["train", "--config", "fast", "--train", str(data), "--out", str(out), "--device", "cpu", "--no-cache"]
    sets = [a for s in TINY for a in ("--set", s)]
    cases = {
        "config: epochs 2 there, 3 here": [*sets, "--set", "epochs=3"],
        "config: embed_dim 16 there, 8 here; hidden 16 there, 8 here": [
            *sets,
            "--set",
            "hidden=8",
            "--set",
            "embed_dim=8",
        ],
        "training rows: 리뷰 파일.tsv (400 rows) there, 리뷰 파일.tsv (300 rows) here": [*sets, "--limit", "300"],
    }
    for why, more in cases.items():
        code, err = _cli(monkeypatch, capsys, *base, *more, "--resume")
        assert code == 2 and len(err.splitlines()) == 1, err
        assert err.startswith(f"error: {saved} is the checkpoint of another run ({why})"), err
        assert err.rstrip().endswith("train with --restart to start over (that discards it), or remove it"), err
        code, err = _cli(monkeypatch, capsys, *base, *more)  # without --resume: refused too, and says why
        assert code == 2 and f"holds the checkpoint of another run ({why}): --restart (restart=True)" in err, err
    lines = data.read_text(encoding="utf-8").split("\n")
    head, label = lines[5].rsplit("\t", 1)
    lines[5] = f"{head}\t{1 - int(label)}"
    data.write_text("\n".join(lines), encoding="utf-8")  # one label flipped: same name, same length
    code, err = _cli(monkeypatch, capsys, *base, *sets, "--resume")
    assert code == 2 and "(training rows: 리뷰 파일.tsv (400 rows) with other contents)" in err, err
    assert _snapshot(saved) == before and not out.exists()  # refused before any work: nothing written

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:  # Ctrl-C says where the epochs are and how to go on
        m.setattr(ksent.SentimentClassifier, "fit_labelled", interrupted)
        m.setattr(sys, "argv", ["ksent", *base, *sets, "--resume"])
        with pytest.raises(SystemExit) as stop:
            main()
        assert stop.value.code == 130  # as click ends on Ctrl-C
    assert (
        capsys.readouterr().err
        == f"stopped: {saved} keeps the finished epochs; the same command with --resume continues\n"
    )
    with monkeypatch.context() as m:  # stopped under --restart: --resume goes in its place, not beside it
        m.setattr(ksent.SentimentClassifier, "fit_labelled", interrupted)
        m.setattr(sys, "argv", ["ksent", *base, *sets, "--restart"])
        with pytest.raises(SystemExit):
            main()
    assert "the same command with --resume instead of --restart continues" in capsys.readouterr().err

    # a rerun that forgot --resume is refused before any work: the epochs are not lost
    code, err = _cli(monkeypatch, capsys, *base, *sets)
    assert code == 2 and "holds the checkpoint of another run (training rows: 리뷰 파일.tsv (400 rows) with" in err, err
    assert _snapshot(saved) == before and not out.exists()
    code, err = _cli(monkeypatch, capsys, *base, *sets, "--resume", "--restart")
    assert code == 2 and "choose one" in err and _snapshot(saved) == before
    # --restart discards it and trains from the start, and the checkpoint goes once the model is saved
    monkeypatch.setattr(sys, "argv", ["ksent", *base, *sets, "--restart"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code in (0, None)
    assert "restart: discarding the checkpoint at" in capsys.readouterr().err
    assert (out / "model.safetensors").is_file() and not saved.exists()


def test_a_checkpoint_without_work_is_replaced_and_one_with_work_refused(tmp_path):
    """A run that failed before its first epoch leaves only whose run it is: the next run replaces it.
    One that holds an epoch (or the teacher's answers) is kept until --resume or --restart says."""
    bare = tmp_path / "체크포인트"
    checkpoint.Checkpoint.open(bare, {"config": {"epochs": 1}})
    checkpoint.Checkpoint.open(bare, {"config": {"epochs": 2}})  # nothing to lose: replaced
    assert json.loads((bare / "checkpoint.json").read_text(encoding="utf-8"))["config"] == {"epochs": 2}
    (bare / "teacher").mkdir()
    with pytest.raises(KsentError, match=r"another run \(config: epochs 2 there, 3 here\): --restart"):
        checkpoint.Checkpoint.open(bare, {"config": {"epochs": 3}})
    assert (bare / "teacher").is_dir()
    checkpoint.Checkpoint.open(bare, {"config": {"epochs": 3}}, restart=True)
    assert not (bare / "teacher").exists()


def test_a_checkpoint_from_before_a_config_field_resumes_when_the_field_is_at_its_default(tmp_path):
    """A field added to Config after a checkpoint was written (e.g. `combine`) means its default there."""
    saved = tmp_path / "옛 체크포인트"
    checkpoint.Checkpoint.open(saved, {"config": {"epochs": 3}})
    (saved / "teacher").mkdir()  # work worth keeping
    checkpoint.Checkpoint.open(saved, {"config": {"epochs": 3, "combine": "mean"}}, resume=True)
    with pytest.raises(KsentError, match=r"config: combine \"mean\" there, \"fitted\" here"):
        checkpoint.Checkpoint.open(saved, {"config": {"epochs": 3, "combine": "fitted"}}, resume=True)


def test_resume_with_no_checkpoint_starts_from_the_beginning(nsmc_dir, tmp_path, capsys):
    cfg = resolve("fast", [*TINY, "epochs=1"])
    rows = read_labelled(_rows(nsmc_dir, tmp_path, 300))
    clf = ksent.SentimentClassifier(cfg, device="cpu", progress=True)
    clf.fit(rows.texts, rows.labels, checkpoint=tmp_path / "ck", resume=True)
    assert "resume: there is no checkpoint at" in capsys.readouterr().err
    assert "resumed_after_epoch" not in clf.metrics_["training"]
    assert _parts(tmp_path / "ck") == ["checkpoint.json", "inputs.json", "member-1.epoch-1"]
    with pytest.raises(KsentError, match="resume=True needs checkpoint=FOLDER"):
        ksent.SentimentClassifier(cfg, device="cpu").fit(rows.texts, rows.labels, resume=True)
    # fit leaves the checkpoint for its caller: the same run again without resume is refused, not redone
    before = _snapshot(tmp_path / "ck")
    again = ksent.SentimentClassifier(cfg, device="cpu")
    with pytest.raises(KsentError, match="checkpoint of this same run: --resume \\(resume=True\\) continues it"):
        again.fit(rows.texts, rows.labels, checkpoint=tmp_path / "ck")
    with pytest.raises(KsentError, match="choose one"):
        again.fit(rows.texts, rows.labels, checkpoint=tmp_path / "ck", resume=True, restart=True)
    assert _snapshot(tmp_path / "ck") == before
    again.fit(rows.texts, rows.labels, checkpoint=tmp_path / "ck", restart=True)  # discarded, trained afresh
    assert _parts(tmp_path / "ck") == ["checkpoint.json", "inputs.json", "member-1.epoch-1"]
    np.testing.assert_array_equal(again.predict_proba(rows.texts[:20]), clf.predict_proba(rows.texts[:20]))


# --- a student: the teacher's answers are kept ---------------------------------------------------------------


def test_a_resumed_student_reuses_the_teachers_answers(nsmc_dir, hangul_root, monkeypatch):
    from ksent import distill

    rows = read_labelled(_rows(nsmc_dir, hangul_root / "학생", 400))
    teacher = ksent.SentimentClassifier(resolve("fast", TINY), device="cpu").fit_labelled(rows)
    student = resolve("distilled", TINY)
    whole = ksent.SentimentClassifier(student, device="cpu", teacher=teacher).fit_labelled(rows)
    path = hangul_root / "학생" / "ck"
    with monkeypatch.context() as m:
        _stop_after(m, 1, 1)
        with pytest.raises(Stopped):
            ksent.SentimentClassifier(student, device="cpu", teacher=teacher).fit_labelled(rows, checkpoint=path)
    assert "teacher" in _parts(path)

    def asked(*args, **kwargs):
        raise AssertionError("the teacher was asked again")

    monkeypatch.setattr(distill, "teach", asked)
    clf = ksent.SentimentClassifier(student, device="cpu", teacher=teacher)
    clf.fit_labelled(rows, checkpoint=path, resume=True)
    assert _same_weights(clf.model_, whole.model_)
    assert _figures(clf.metrics_) == _figures(whole.metrics_)
    # another teacher's checkpoint is refused
    other = copy.deepcopy(teacher)
    with torch.no_grad():
        next(other.model_.parameters())[0, 0] += 0.01  # any change in its weights
    with pytest.raises(KsentError, match=r"is the checkpoint of another run \(teacher: another model\)"):
        ksent.SentimentClassifier(student, device="cpu", teacher=other).fit_labelled(rows, checkpoint=path, resume=True)


def test_a_linear_member_is_saved_once_fitted_and_loaded_on_resume(tmp_path, monkeypatch):
    """A linear member (one L-BFGS fit, no epochs) is checkpointed as finished: a run stopped in the
    LSTM member after it resumes without fitting it again, to the weights of a run never stopped."""
    cfg = resolve("best", ["hidden=8", "embed_dim=8", "bf16=false", "epochs=2"])
    linear = NetSpec(30, reads="chargrams", network="linear")
    members = [train.Member(linear, 1, 42), train.Member(NetSpec.from_config(cfg, 30), 2, 43)]
    x, y = _signal_task()
    whole, fresh = _fit(cfg, x, y, members, None)
    assert fresh["members"][0]["best_val_accuracy"] > 0.9  # the signal id is one weight away
    path = tmp_path / "선형 체크포인트"
    with monkeypatch.context() as m:
        _stop_after(m, 2, 1)
        with pytest.raises(Stopped):
            _fit(cfg, x, y, members, path)
    assert _parts(path) == ["checkpoint.json", "inputs.json", "member-1.epoch-1", "member-2.epoch-1"]
    fits = []
    monkeypatch.setattr(torch.optim.LBFGS, "step", lambda *a, **k: fits.append(1))
    model, history = _fit(cfg, x, y, members, path, resume=True)
    assert not fits and _same_weights(model, whole)
    assert _figures(history) == _figures(fresh)
    assert [h.get("resumed_after_epoch") for h in history["members"]] == [1, 1]
