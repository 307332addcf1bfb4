"""CPU counting that respects affinity and cgroup quotas, and a gc pause that concurrent callers share."""

import gc
import os
import random
import subprocess
import sys
import threading
from contextlib import ExitStack

import pytest

from ksent import runtime
from ksent.errors import KsentError
from ksent.runtime import available_cpus, default_workers, gc_paused

needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this platform")


@needs_affinity
def test_available_cpus_is_the_affinity_mask_without_a_quota(monkeypatch):
    monkeypatch.setattr(runtime, "_cgroup_cpu_limit", lambda: None)
    assert available_cpus() == len(os.sched_getaffinity(0))
    monkeypatch.setattr(runtime, "_cgroup_cpu_limit", lambda: 1)
    assert available_cpus() == 1
    monkeypatch.setattr(runtime, "_cgroup_cpu_limit", lambda: 10_000)
    assert available_cpus() == len(os.sched_getaffinity(0))  # a quota above the mask changes nothing


@needs_affinity
def test_available_cpus_follows_a_restricted_affinity():
    """In a child process, so this one keeps its CPUs."""
    code = (
        "import os; from ksent.runtime import available_cpus; "
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); print(available_cpus())"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(r.stdout) == 1
    assert available_cpus() == min(len(os.sched_getaffinity(0)), runtime._cgroup_cpu_limit() or 10**6)


@pytest.mark.parametrize(
    "cpu_max, limit",
    [
        ("max 100000", None),
        ("200000 100000", 2),
        ("150000 100000", 2),  # 1.5 CPUs: round up
        ("50000 100000", 1),
        ("junk", None),
        (None, None),  # no cgroup v2 file
    ],
)
def test_cgroup_quota_parsing(tmp_path, monkeypatch, cpu_max, limit):
    f = tmp_path / "cpu.max"
    if cpu_max is not None:
        f.write_text(cpu_max + "\n")
    monkeypatch.setattr(runtime, "Path", lambda _: f)
    assert runtime._cgroup_cpu_limit() == limit


def test_default_workers(monkeypatch):
    monkeypatch.delenv("KSENT_WORKERS", raising=False)
    assert default_workers() == available_cpus()
    assert default_workers(3) == 3
    monkeypatch.setenv("KSENT_WORKERS", "5")
    assert (default_workers(), default_workers(2)) == (5, 2)
    monkeypatch.setenv("KSENT_WORKERS", "")  # set but empty: as if unset
    assert default_workers() == available_cpus()
    monkeypatch.setenv("KSENT_WORKERS", "auto")
    with pytest.raises(KsentError, match=r"^KSENT_WORKERS='auto': expected a whole number"):
        default_workers()
    with pytest.raises(KsentError, match="at least 1"):
        default_workers(0)


# --- gc_paused ------------------------------------------------------------------------------------

N_THREADS = 8


@pytest.fixture(params=[True, False], ids=["gc-on", "gc-off"])
def gc_before(request):
    was = gc.isenabled()
    gc.enable() if request.param else gc.disable()
    yield request.param
    gc.enable() if was else gc.disable()


def run_script(script: list[tuple[int, str]]) -> list[tuple[int, bool]]:
    """Threads 0..7 each enter and leave `gc_paused()` in the order `script` gives ((thread, "in"|"out"));
    returns (holders inside, gc.isenabled()) after every step. Each thread stays inside the block,
    blocked, until told to leave, so the holders really overlap."""
    go = [threading.Semaphore(0) for _ in range(N_THREADS)]
    done = threading.Semaphore(0)
    inside_enabled: list[bool] = []
    start = threading.Barrier(N_THREADS + 1)

    def holder(i: int) -> None:
        start.wait()
        go[i].acquire()
        with gc_paused():
            inside_enabled.append(gc.isenabled())
            done.release()
            go[i].acquire()
        done.release()

    threads = [threading.Thread(target=holder, args=(i,)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    start.wait()
    states, inside = [], 0
    for i, kind in script:
        go[i].release()
        assert done.acquire(timeout=10), "a holder did not move"
        inside += 1 if kind == "in" else -1
        states.append((inside, gc.isenabled()))
    for t in threads:
        t.join(10)
    assert not any(inside_enabled)
    return states


def random_script(rng: random.Random) -> list[tuple[int, str]]:
    """Each thread enters once and leaves once, in a random interleaving."""
    waiting, inside, script = list(range(N_THREADS)), [], []
    while waiting or inside:
        if waiting and (not inside or rng.random() < 0.5):
            i = waiting.pop(rng.randrange(len(waiting)))
            inside.append(i)
            script.append((i, "in"))
        else:
            script.append((inside.pop(rng.randrange(len(inside))), "out"))
    return script


SCRIPTS = {
    "fifo": [(i, "in") for i in range(N_THREADS)] + [(i, "out") for i in range(N_THREADS)],
    "lifo": [(i, "in") for i in range(N_THREADS)] + [(i, "out") for i in reversed(range(N_THREADS))],
    # a relay: the pause is always held by someone, never by the same thread throughout
    "relay": [(0, "in")] + [x for i in range(1, N_THREADS) for x in ((i, "in"), (i - 1, "out"))] + [(7, "out")],
    # pairs: the last one out of each pair restores, the next pair pauses again
    "pairs": [x for i in range(0, N_THREADS, 2) for x in ((i, "in"), (i + 1, "in"), (i, "out"), (i + 1, "out"))],
    **{f"random{k}": random_script(random.Random(k)) for k in range(12)},
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_gc_paused_shared_by_eight_threads(gc_before, name):
    states = run_script(SCRIPTS[name])
    for inside, enabled in states:
        assert enabled == (gc_before if inside == 0 else False), (name, inside, enabled)
    assert states[-1][0] == 0 and gc.isenabled() == gc_before


def test_gc_paused_under_contention(gc_before):
    """Many quick entries and exits at once: never enabled inside, and restored at the end."""
    start, errors = threading.Barrier(N_THREADS), []

    def hammer() -> None:
        start.wait()
        for _ in range(2000):
            with gc_paused():
                if gc.isenabled():
                    errors.append("enabled inside")
                with gc_paused():  # nested in one thread too
                    pass

    threads = [threading.Thread(target=hammer) for _ in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and gc.isenabled() == gc_before


def test_gc_paused_restores_after_an_exception(gc_before):
    with pytest.raises(ValueError), ExitStack() as stack:
        stack.enter_context(gc_paused())
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled() == gc_before
