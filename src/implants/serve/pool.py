"""Worker processes for the configurator's builds, each build under a time limit (layer: serve).

A build calls the CAD kernel, which can hang or crash on odd input; the server must not. Each of
``size`` long-lived worker processes runs one job at a time; the event loop waits for its answer
on the process's pipe without blocking. A job that passes ``time_limit_s`` has its worker killed
and replaced (from a fork server that preloaded the kernel, so a new worker is ready in well under
a second), and :class:`BuildTimeout` is raised; a worker that dies is replaced the same way.
Jobs are ``(function, *args)`` with picklable functions (module-level names).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Callable

#: modules every worker imports once, in the fork server (the kernel and the export pipeline)
PRELOAD = ("implants.serve.builds",)


class BuildTimeout(Exception):
    """A job ran longer than the pool's time limit; its worker was killed and replaced."""


class WorkerDied(Exception):
    """A worker process ended while running a job (e.g. the kernel crashed); it was replaced."""


def _serve_jobs(connection: Connection) -> None:
    """Worker main loop: receive ``(function, args)``, send back ``("ok", result)`` or ``("error", exception)``."""
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("ok", function(*args))
        except Exception as error:  # every error goes back to the server, which maps it to HTTP
            answer = ("error", error)
        try:
            connection.send(answer)
        except Exception as error:  # an unpicklable result or exception: say what it was
            connection.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))


@dataclass
class _Worker:
    process: Any
    connection: Connection


class WorkerPool:
    """``size`` worker processes; :meth:`run` one job with the time limit (s). Start with
    :meth:`start` and stop with :meth:`close` (both from the event loop's thread)."""

    def __init__(self, size: int = 1, time_limit_s: float = 60.0) -> None:
        self.size = max(1, int(size))
        self.time_limit_s = float(time_limit_s)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(PRELOAD))
        self._idle: asyncio.Queue[_Worker] | None = None
        self._workers: list[_Worker] = []
        self.restarts = 0

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve_jobs, args=(child,), daemon=True, name="implants-serve-worker")
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers.append(worker)
        return worker

    def start(self) -> None:
        self._idle = asyncio.Queue()
        for _ in range(self.size):
            self._idle.put_nowait(self._spawn())

    @property
    def busy(self) -> int:
        """Workers running a job now."""
        return self.size - (self._idle.qsize() if self._idle else 0)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.connection.close()
        self._workers.remove(worker)
        self.restarts += 1
        return self._spawn()

    async def _answer(self, worker: _Worker) -> Any:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        descriptor = worker.connection.fileno()
        loop.add_reader(descriptor, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(descriptor)
        return worker.connection.recv()

    async def run(self, function: Callable[..., Any], *args: Any, on_start: Callable[[], Any] | None = None) -> Any:
        """``function(*args)`` in a worker (``on_start()`` is called when a worker takes it; until
        then, cancelling drops the job); its exception is re-raised here. Raises
        :class:`BuildTimeout` past the time limit, :class:`WorkerDied` if the worker ended."""
        assert self._idle is not None, "WorkerPool.start() first"
        worker = await self._idle.get()
        if on_start is not None:
            on_start()
        try:
            worker.connection.send((function, args))
            status, value = await asyncio.wait_for(self._answer(worker), self.time_limit_s)
        except asyncio.TimeoutError:
            worker = self._replace(worker)
            raise BuildTimeout(f"the build took longer than the time limit of {self.time_limit_s:g} s "
                               "and was stopped") from None
        except (EOFError, OSError, BrokenPipeError):
            worker = self._replace(worker)
            raise WorkerDied("the build worker ended unexpectedly (the kernel may have crashed); "
                             "it was restarted") from None
        except BaseException:  # cancelled while the job runs: the answer would arrive out of turn
            worker = self._replace(worker)
            raise
        finally:
            self._idle.put_nowait(worker)
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop every worker (kill: a build in progress is abandoned)."""
        for worker in list(self._workers):
            worker.process.kill()
            worker.process.join(timeout=5)
            worker.connection.close()
        self._workers.clear()
