"""Process-level resources, shared safely: how many CPUs this process may use, a pause of the
cycle collector that concurrent callers can nest, and the fault handlers a JVM needs kept."""

import ctypes
import gc
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ksent.errors import KsentError


def _cgroup_cpu_limit() -> int | None:
    """CPUs allowed by a cgroup v2 quota (containers started with --cpus), or None if unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask and cgroup quota, not the machine's core count.

    >>> available_cpus() >= 1
    True
    """
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        n = os.process_cpu_count() or 1
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    return min(n, limit) if limit else n


def default_workers(workers: int | None = None) -> int:
    """Analyser workers for one call: `workers` if given, else $KSENT_WORKERS, else the CPUs this
    process may use. Several ksent processes on one machine should each set a share."""
    if workers is None:
        env = os.environ.get("KSENT_WORKERS")
        if env:
            try:
                workers = int(env)
            except ValueError:
                raise KsentError(f"KSENT_WORKERS={env!r}: expected a whole number of workers (e.g. 2)") from None
        else:
            workers = available_cpus()
    if workers < 1:
        raise KsentError(f"workers must be at least 1, got {workers}")
    return workers


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector while millions of small token lists are built: they hold no cycles,
    and in a process that already holds many objects each collection walks all of them
    (see the warm-preprocessing row in docs/benchmarks.md).

    Reference-counted, so concurrent or nested callers are safe: the collector is paused by the
    first one in and restored (to what it was then) by the last one out.
    """
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


# The C-level handlers of the signals a JVM raises on purpose (its JIT's implicit null checks and
# safepoint polls fault, and its own SIGSEGV handler turns that into normal control flow).
FAULT_SIGNALS = tuple(getattr(signal, n) for n in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE") if hasattr(signal, n))
_SIGACTION_BYTES = 512  # more than any libc's struct sigaction (glibc x86-64: 152); kept opaque


def _sigactions() -> dict[int, bytes] | None:
    """Each fault signal's installed `struct sigaction`, as opaque bytes; None where libc has no sigaction."""
    try:
        sigaction = ctypes.CDLL(None).sigaction
    except (OSError, AttributeError, TypeError):  # no libc sigaction (Windows: CDLL(None) is a TypeError)
        return None
    state = {}
    for sig in FAULT_SIGNALS:
        buf = ctypes.create_string_buffer(_SIGACTION_BYTES)
        if sigaction(sig, None, buf) != 0:
            return None
        state[sig] = buf.raw
    return state


def fault_handlers() -> dict[int, int] | None:
    """The address of each fault signal's handler (0: the default action); None where unknown.
    (The handler is the first member of `struct sigaction` in glibc, musl and macOS.)"""
    state = _sigactions()
    if state is None:
        return None
    return {sig: int.from_bytes(raw[: ctypes.sizeof(ctypes.c_void_p)], sys.byteorder) for sig, raw in state.items()}


@contextmanager
def fault_handlers_kept() -> Iterator[None]:
    """Give the fault signals back the handlers they had on entry.

    Ray's core worker installs its own SIGSEGV/SIGBUS handlers on `ray.init` and leaves the default
    action after `ray.shutdown`. In a process that runs a JVM (the Okt analyser, through JPype), the
    JVM's next deliberate fault then kills the process silently (exit 139): seen in CI, the first
    Okt test after the Ray tests. Python's `signal` module cannot see these C handlers, so they
    are saved and restored whole through libc's sigaction.
    """
    state = _sigactions()
    try:
        yield
    finally:
        if state is not None:
            sigaction = ctypes.CDLL(None).sigaction
            for sig, raw in state.items():
                sigaction(sig, ctypes.create_string_buffer(raw, _SIGACTION_BYTES), None)  # the whole struct back
