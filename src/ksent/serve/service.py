"""The loaded model behind the API, and the one thread that runs it.

Why one thread: the analysers are not guaranteed thread-safe (a Kiwi object is shared per process by
`ksent.text.tokenizers.kiwi`; konlpy's Okt drives one JVM), and neither is calling one torch module
from several threads at once. So every model call, prediction and explanation alike, runs on one
dedicated worker thread, in arrival order: calls are serialized by construction, not by a lock that
a future endpoint could forget to take. The event loop only queues a job and awaits its future, so
it never blocks on the model and keeps accepting (and rejecting) requests meanwhile.

Why micro-batching: one `predict_records` call on 8 reviews costs little more than on 1 (the
analyser and the LSTM both work per batch), so prediction jobs that wait in the queue together, or
arrive within `batch_wait_ms` of the first, are joined into one call and the records split back.
Each review is scored on its own row of the batch, so batching changes no result (beyond float
rounding in the last bits). Explanations run alone: each is a few dozen model calls already.

Why a bound: a queue without one turns a burst into minutes of latency for everybody and memory
without limit. At most `max_queue` requests are in (queued or being answered); one more is refused
at once (`Overloaded`: 503 with Retry-After), and a request that waits longer than `timeout_s` is
answered 504 (`TimedOut`) and, if the model has not started it, never run.
"""

import asyncio
import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ksent.errors import KsentError
from ksent.predict import Prediction
from ksent.serve.settings import Settings

log = logging.getLogger("ksent.serve")

_STOP = object()


class Overloaded(Exception):
    """`max_queue` requests are in already: this one is refused; retrying after `retry_after` s may pass."""

    def __init__(self, pending: int, retry_after: int):
        super().__init__(f"{pending} requests are being answered or waiting")
        self.pending, self.retry_after = pending, retry_after


class TimedOut(Exception):
    """The model did not answer within the request's time limit."""

    def __init__(self, seconds: float):
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


class Stopped(Exception):
    """The model's worker thread is not running (it failed at start-up, or stopped)."""


@dataclass
class _Job:
    kind: str  # "predict" or "explain"
    payload: Any  # list[str] for predict, str for explain
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future = field(repr=False)
    abandoned: bool = False  # set by the event loop (timed out, client gone): the worker skips it


def load_classifier(settings: Settings):
    """The model the settings name (`ksent.load`: a model folder on torch, an export on ONNX Runtime);
    `model=None` is the bundled model."""
    from ksent.loading import load

    t = settings.threads
    return load(settings.model, device=settings.device, workers=t, int8=settings.int8, threads=t)


class ModelService:
    """Owns the classifier and its worker thread; `await predict(texts)` / `await explain(text)`."""

    def __init__(
        self,
        clf,
        name: str,
        batch_wait_ms: float = 2.0,
        max_batch_texts: int = 512,
        max_queue: int = 64,
        timeout_s: float = 30.0,
    ):
        self.clf = clf
        self.name = name
        self.batch_wait = max(batch_wait_ms, 0.0) / 1000
        self.max_batch_texts = max_batch_texts
        self.max_queue, self.timeout = max_queue, timeout_s
        self._pending = 0  # requests admitted and not yet answered or skipped by the worker
        self._lock = threading.Lock()  # for _pending: the event loop adds, the worker takes away
        self._job_seconds = 0.05  # a running mean of the model's time per request (for Retry-After)
        self._stopped = False  # the worker has ended: no job is taken any more (under _lock)
        self._held: _Job | None = None  # a job taken from the queue that did not fit the last batch
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ksent-model", daemon=True)
        self._boot: Callable[[], bool] | None = None  # run first on the worker thread (see `load`)
        self._on_torch = False  # the model runs on torch (not an export on ONNX Runtime): see `load`

    @classmethod
    def load(cls, settings: Settings) -> "ModelService":
        """Load the model (blocking: seconds) and warm it up, both on the worker thread itself.

        Every torch call happens on that one thread: torch's OpenMP pool belongs to the thread that
        first runs an op, and a second pool (loading on one thread, predicting on another) keeps its
        idle threads spinning against the first on a small machine (measured on 2 cores: batch
        scoring 3.7x slower on the second thread than on the first).
        """
        name = settings.model.name if settings.model is not None else "bundled"
        service = cls(
            None, name, settings.batch_wait_ms, settings.max_batch_texts, settings.max_queue, settings.timeout_s
        )
        ready: queue.SimpleQueue = queue.SimpleQueue()
        from ksent.loading import locate

        service._on_torch = not locate(settings.model, settings.int8)[1]

        def boot() -> bool:
            try:
                if settings.threads and service._on_torch:  # before torch runs an op
                    import torch

                    torch.set_num_threads(settings.threads)
                service.clf = load_classifier(settings)
                service._warm_up()
            except BaseException as e:  # handed to the caller of load(), which raises it
                ready.put(e)
                return False
            ready.put(None)
            return True

        service._boot = boot
        service.start()
        error = ready.get()
        if error is not None:
            service._thread.join()
            raise error
        return service

    def start(self) -> "ModelService":
        """Start the worker thread; requests may come from now on."""
        self._thread.start()
        return self

    def _warm_up(self) -> None:
        # The first call loads the analyser (1-2 s, one instance for batches and one for single
        # reviews); pay that at start-up, not on the first request.
        self.clf.predict_records(["정말 재미있는 영화였어요"])
        try:
            self.clf.explain("정말 재미있는 영화였어요")
        except KsentError:
            pass  # a vocabulary without these words: the analyser is loaded all the same

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued jobs, then stop the worker thread."""
        if self._thread.is_alive():
            self._jobs.put(_STOP)
            self._thread.join(timeout)

    # -- called on the event loop -------------------------------------------------------------

    async def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return await self._submit("predict", list(texts))

    async def explain(self, text: str):
        return await self._submit("explain", text)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def pending(self) -> int:
        return self._pending

    async def _submit(self, kind: str, payload: Any):
        with self._lock:
            if self._stopped or not self._thread.is_alive():
                raise Stopped("the model worker is not running")
            if self._pending >= self.max_queue:
                wait = math.ceil(min(self.timeout, self._pending * self._job_seconds))
                raise Overloaded(self._pending, max(1, wait))
            self._pending += 1
        loop = asyncio.get_running_loop()
        job = _Job(kind, payload, loop, loop.create_future())
        self._jobs.put(job)
        try:
            # shield: a timeout or a client gone must not cancel the future the worker will resolve
            return await asyncio.wait_for(asyncio.shield(job.future), self.timeout)
        except (TimeoutError, asyncio.TimeoutError):  # two classes before Python 3.11
            raise TimedOut(self.timeout) from None
        finally:
            if not job.future.done():
                job.abandoned = True

    def _release(self, n: int) -> None:
        with self._lock:
            self._pending -= n

    # -- the worker thread --------------------------------------------------------------------

    def _run(self) -> None:
        with _without_onednn() if self._on_torch else contextlib.nullcontext():
            self._work()

    def _work(self) -> None:
        if self._boot is not None and not self._boot():
            return
        try:
            self._serve()
        except BaseException:  # not an Exception (SystemExit, ...): the thread ends; say so, fail what waits
            log.critical("the model worker stopped", exc_info=True)
            with self._lock:
                self._stopped = True  # from now on _submit refuses: nothing more enters the queue
            waiting = [self._held] if self._held is not None else []
            while True:
                try:
                    waiting.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            for job in waiting:
                if job is not _STOP:
                    self._hand([job], [None], Stopped("the model worker has stopped"))

    def _serve(self) -> None:  # a job taken from the queue that did not fit the last batch
        while True:
            job = self._held if self._held is not None else self._jobs.get()
            self._held = None
            if job is _STOP:
                return
            if job.abandoned:  # timed out or its client left while it waited: nobody to answer
                self._release(1)
                continue
            if job.kind == "explain":
                self._finish([job], lambda text=job.payload: [self.clf.explain(text)])
                continue
            batch, n = [job], len(job.payload)
            deadline = time.monotonic() + self.batch_wait
            while n < self.max_batch_texts:
                wait = deadline - time.monotonic()
                try:
                    nxt = self._jobs.get(timeout=wait) if wait > 0 else self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is not _STOP and nxt.abandoned:
                    self._release(1)
                    continue
                if nxt is _STOP or nxt.kind != "predict" or n + len(nxt.payload) > self.max_batch_texts:
                    self._held = nxt
                    break
                batch.append(nxt)
                n += len(nxt.payload)
            self._serve_predictions(batch)

    def _serve_predictions(self, batch: list[_Job]) -> None:
        if len(batch) > 1:
            started = time.perf_counter()
            try:
                results = self._predict(batch)
            except Exception:
                # Something in one request broke the joint call: each alone, so only that one fails.
                for job in batch:
                    self._finish([job], lambda j=job: self._predict([j]))
                return
            except BaseException:  # the thread ends (see _run): the whole batch learns it now
                self._hand(batch, [None] * len(batch), Stopped("the model worker has stopped"))
                raise
            self._finish(batch, lambda: results, time.perf_counter() - started)
        else:
            self._finish(batch, lambda: self._predict(batch))

    def _predict(self, batch: list[_Job]) -> list[list[Prediction]]:
        records = self.clf.predict_records([t for job in batch for t in job.payload])
        out, i = [], 0
        for job in batch:
            out.append(records[i : i + len(job.payload)])
            i += len(job.payload)
        return out

    def _finish(self, jobs: list[_Job], compute: Callable[[], list], seconds: float = 0.0) -> None:
        """Run `compute` (the jobs' results, in order) and hand each job its result or the error."""
        started = time.perf_counter() - seconds
        try:
            results, error = compute(), None
        except Exception as e:  # handed to the request that asked; the thread lives on
            if not isinstance(e, KsentError):
                log.exception("model call failed")
            results, error = [None] * len(jobs), e
        except BaseException:  # the thread ends (see _run): these requests learn it now, not at their time limit
            self._hand(jobs, [None] * len(jobs), Stopped("the model worker has stopped"))
            raise
        per_job = (time.perf_counter() - started) / len(jobs)
        self._job_seconds = 0.9 * self._job_seconds + 0.1 * per_job
        self._hand(jobs, results, error)

    def _hand(self, jobs: list[_Job], results: list, error: BaseException | None) -> None:
        """Count the jobs done and hand each its result (or the error) on its event loop."""
        self._release(len(jobs))
        answers: dict[asyncio.AbstractEventLoop, list] = {}  # one wake-up per event loop, not per job
        for job, result in zip(jobs, results, strict=True):
            if not job.abandoned:  # else its request was answered already (504) or its client left
                answers.setdefault(job.loop, []).append((job, result))
        for loop, answered in answers.items():
            try:
                loop.call_soon_threadsafe(_resolve_all, answered, error)
            except RuntimeError:
                pass  # that event loop has closed: nobody is waiting


@contextlib.contextmanager
def _without_onednn() -> Iterator[None]:
    """PyTorch's own LSTM instead of oneDNN's while the server's worker runs a torch model.

    oneDNN's fused LSTM keeps compiled state for every (rows, length) shape it has run, up to 1,024
    shapes: a server meets new shapes for hours and its memory grows with them (docs/benchmarks.md
    #soak: +5.98 % in 10 minutes on oneDNN, +3.23 % without). PyTorch's LSTM keeps nothing per shape,
    at a slightly slower call. The switch is global in torch, so it is put back when the worker ends
    (tests run servers inside a bigger process).
    """
    import torch

    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def _resolve_all(answered: list[tuple[_Job, Any]], error: BaseException | None) -> None:
    """On the jobs' event loop, where `abandoned` is set: nobody awaits an abandoned job's future."""
    for job, result in answered:
        future = job.future
        if future.done() or job.abandoned:
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
