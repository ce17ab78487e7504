"""Where a sweep's variants run (layer: sweep): a local pool of persistent worker processes
(default) or a Dask cluster. Both yield one row per task as each finishes.

* Local: one single-process ``ProcessPoolExecutor`` per worker slot, started from a fork server
  that has imported the kernel and everything the exporter and the checks import
  (:data:`~implants.sweep.worker.WORKER_MODULES`), so the ~2 s of imports is paid once (not once
  per variant, nor once per worker); workers are warmed up in parallel before the first
  variant. A variant that overruns the time limit is stopped by killing exactly its worker,
  which is then replaced; the other workers keep running.
* Dask (``scheduler="tcp://host:8786"`` or a ``distributed.Client``): the same tasks are
  submitted to the cluster, at most as many at once as it has threads, so the time limit counts
  from the start of each variant. A Dask worker thread cannot be killed: an overrun variant is
  recorded as a timeout and its future cancelled. The output folder must be visible to the
  workers (a shared file system).
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Iterator

from ..errors import ParameterError
from .worker import WORKER_MODULES, run_variant, warm_up

#: Time allowed for a new worker to start and import the kernel (s).
WORKER_START_TIMEOUT_S = 180.0


def worker_context():
    """The fork-server context every worker process starts from (``WORKER_MODULES`` preloaded)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    return context


def kill_executor(executor) -> None:
    """Kill a process pool's worker processes at once (a hung kernel call never returns) and drop
    the pool without waiting."""
    for process in list(getattr(executor, "_processes", {}).values()):
        try:
            process.kill()
            process.join(5)
        except (OSError, ValueError, AttributeError):
            pass
    executor.shutdown(wait=False, cancel_futures=True)


class _Slot:
    """One persistent worker process (a one-process executor) that can be killed and replaced."""

    def __init__(self, context) -> None:
        self.executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
        self.future = self.executor.submit(warm_up)
        self.deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        self.task: dict[str, Any] | None = None
        self.ready = False

    def submit(self, task: dict[str, Any], timeout: float) -> None:
        self.task = task
        self.future = self.executor.submit(run_variant, task)
        self.deadline = time.monotonic() + timeout

    def kill(self) -> None:
        kill_executor(self.executor)


def _failed(task: dict[str, Any], status: str, message: str, seconds: float | None = None) -> dict[str, Any]:
    """The row of a task that gave no row of its own (timed out, or its worker died)."""
    return {"index": task["index"], "variant": task["name"], "key": task["key"], "status": status,
            "error": message, "total_s": None if seconds is None else round(seconds, 4)}


def run_local(tasks: list[dict[str, Any]], workers: int, timeout: float) -> Iterator[dict[str, Any]]:
    """Run tasks on ``workers`` persistent processes; yield one row per task as each finishes."""
    # the fork server imports the kernel once; every worker (and every replacement) forks from it
    context = worker_context()
    pending = deque(tasks)
    slots = [_Slot(context) for _ in range(max(1, min(workers, len(tasks))))]
    try:
        while pending or any(s.task is not None for s in slots):
            for slot in slots:
                if slot.ready and slot.task is None and pending:
                    slot.submit(pending.popleft(), timeout)
            busy = [s for s in slots if not s.ready or s.task is not None]
            nearest = min(s.deadline for s in busy) - time.monotonic()
            wait([s.future for s in busy], timeout=max(0.0, min(nearest, 1.0)), return_when=FIRST_COMPLETED)
            now = time.monotonic()
            for i, slot in enumerate(slots):
                if not slot.ready:  # warming up
                    if slot.future.done():
                        slot.future.result()  # a worker that cannot start is a real error
                        slot.ready = True
                    elif now > slot.deadline:
                        raise ParameterError(f"a sweep worker did not start within {WORKER_START_TIMEOUT_S:.0f} s")
                    continue
                if slot.task is None:
                    continue
                task = slot.task
                if slot.future.done():
                    try:
                        row = slot.future.result()
                    except Exception as error:  # the worker process died (crash, out of memory)
                        row = _failed(task, "failed", f"worker died: {type(error).__name__}: {error}")
                        slot.kill()
                        slots[i] = slot = _Slot(context)
                    slot.task = None
                    yield row
                elif now > slot.deadline:
                    slot.kill()
                    slots[i] = _Slot(context)
                    yield _failed(task, "timeout", f"stopped after the time limit of {timeout:g} s", timeout)
    finally:
        for slot in slots:
            if slot.task is not None or not slot.ready:
                slot.kill()
            else:
                slot.executor.shutdown(wait=True)


def run_dask(tasks: list[dict[str, Any]], scheduler: Any, timeout: float) -> Iterator[dict[str, Any]]:
    """Run tasks on a Dask distributed cluster (address or Client); yield rows as they finish."""
    try:  # an optional dependency (extra "sweep"), needed by this function only
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs Dask: pip install 'spine-implants[sweep]'") from None

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, set_as_default=False)
    try:
        capacity = max(1, sum(client.nthreads().values()))
        pending = deque(tasks)
        running: dict[Any, tuple[dict[str, Any], float]] = {}
        while pending or running:
            while pending and len(running) < capacity:
                task = pending.popleft()
                future = client.submit(run_variant, task, pure=False, key=f"implants-{task['name']}-{time.time_ns()}")
                running[future] = (task, time.monotonic() + timeout)
            time.sleep(0.05)
            now = time.monotonic()
            for future, (task, deadline) in list(running.items()):
                if future.done():
                    del running[future]
                    try:
                        yield future.result()
                    except Exception as error:
                        yield _failed(task, "failed", f"dask: {type(error).__name__}: {error}")
                elif now > deadline:
                    del running[future]
                    future.cancel()
                    yield _failed(task, "timeout", f"stopped after the time limit of {timeout:g} s", timeout)
    finally:
        if client is not scheduler:
            client.close()
