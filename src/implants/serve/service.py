"""The configurator's build service (layer: serve): request models, the build cache keyed by the
design hash, one build per parameter set at a time, and the valid-range cache.

A build request is validated here first (the parameter model, no kernel: a bad value never
reaches a worker). Its design hash (for a part built from parameters alone, the parameter hash:
:func:`implants.writers.manifest.design_hash`) names its folder under the output folder; a finished
build is answered from memory or from its ``build.json`` on disk without a worker. Identical
requests arriving together share one build. A request whose client went away stops waiting, and
its build is dropped if no worker has started it (the page sends a newer one instead).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..registry import get
from .builds import build_job, summary_name
from .form import valid_ranges
from .pool import WorkerPool

#: distinct builds queued or running at once; more get 429
MAX_PENDING_BUILDS = 8
#: finished builds and range answers kept in memory
CACHE_ENTRIES = 256


class BuildRequest(BaseModel):
    """A parameter set to build: type id, preset (None: the type's default), parameter overrides
    (JSON values; validated by the type's parameter model) and whether to show it in situ."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(..., max_length=64, examples=["interbody-cage"])
    preset: str | None = Field(None, max_length=64, examples=["lumbar-alif"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"lordosis_deg": 14}])
    in_situ: bool = False


class RangesRequest(BaseModel):
    """The current values of a type's form (missing fields: the type's defaults)."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(..., max_length=64, examples=["interbody-cage"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"lordosis_deg": 14}])


class ServerBusy(Exception):
    """Too many distinct builds are waiting."""


class ClientGone(Exception):
    """The client closed the connection while its build waited."""


class _Lru(OrderedDict):
    def remember(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE_ENTRIES:
            self.popitem(last=False)
        return value


class BuildService:
    """Builds under ``output`` with a :class:`WorkerPool` of ``workers`` processes."""

    def __init__(self, output: Path, workers: int = 1, time_limit_s: float = 60.0) -> None:
        self.output = Path(output).resolve()
        self.pool = WorkerPool(workers, time_limit_s)
        self._builds = _Lru()
        self._ranges = _Lru()
        self._pending: dict[tuple[str, bool], dict[str, Any]] = {}

    def start(self) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        self.pool.start()

    def close(self) -> None:
        self.pool.close()

    async def ranges(self, type_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """:func:`~implants.serve.form.valid_ranges`, cached, in a thread (the loop stays free)."""
        key = (type_id, json.dumps(values, sort_keys=True, default=str))
        if key not in self._ranges:
            self._ranges.remember(key, await run_in_threadpool(valid_ranges, type_id, values))
        return self._ranges[key]

    def _finished(self, key: str, in_situ: bool, type_id: str) -> dict[str, Any] | None:
        summary = self._builds.get((key, in_situ))
        if summary is None:
            path = self.output / key / summary_name(in_situ)
            if path.is_file():
                summary = self._builds.remember((key, in_situ), json.loads(path.read_text(encoding="utf-8")))
        return summary if summary is not None and summary["type"] == type_id else None

    def _answer(self, summary: dict[str, Any], cached: bool, started: float) -> dict[str, Any]:
        key = summary["key"]
        return {"key": key, "type": summary["type"], "preset": summary["preset"], "cached": cached,
                "server_ms": round((time.perf_counter() - started) * 1000, 1), "seconds": summary["seconds"],
                "files": {fmt: f"/api/files/{key}/{name}" for fmt, name in summary["files"].items()},
                "view": f"/api/files/{key}/{summary['view']}?download=false",
                "manifest": summary["manifest"], "in_situ": summary["in_situ"]}

    async def build(self, request: BuildRequest, is_disconnected: Callable[[], Awaitable[bool]]) -> dict[str, Any]:
        """The answer for ``request``: from the cache, or after a worker built it. Raises the
        library's errors, :class:`ServerBusy`, :class:`ClientGone` and the pool's."""
        started = time.perf_counter()
        template = get(request.type)
        params = template.make_params(request.preset, **request.params)  # ParameterError before any work
        key, in_situ = params.params_hash(), request.in_situ
        summary = self._finished(key, in_situ, request.type)
        if summary is not None:
            return self._answer(summary, True, started)
        pending = self._pending.get((key, in_situ))
        if pending is None:
            if len(self._pending) >= MAX_PENDING_BUILDS:
                raise ServerBusy(f"{MAX_PENDING_BUILDS} builds are waiting; try again in a moment")
            pending = {"waiters": 0, "started": False}
            pending["task"] = asyncio.ensure_future(self.pool.run(
                build_job, str(self.output), request.type, request.preset, params.model_dump(mode="json"), in_situ,
                on_start=lambda: pending.update(started=True)))
            pending["task"].add_done_callback(lambda _: self._pending.pop((key, in_situ), None))
            self._pending[(key, in_situ)] = pending
        pending["waiters"] += 1
        task = pending["task"]
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=0.2)
                if not task.done() and await is_disconnected():
                    if pending["waiters"] == 1 and not pending["started"]:
                        task.cancel()
                    raise ClientGone()
        finally:
            pending["waiters"] -= 1
        summary = self._builds.remember((key, in_situ), task.result())
        return self._answer(summary, False, started)

    def file(self, key: str, name: str) -> Path | None:
        """The path of ``name`` in the finished build ``key`` (a name that build listed), else None."""
        allowed = set()
        for in_situ in (False, True):
            path = self.output / key / summary_name(in_situ)
            if (key, in_situ) in self._builds or path.is_file():
                summary = self._builds.get((key, in_situ)) or json.loads(path.read_text(encoding="utf-8"))
                allowed |= set(summary["files"].values()) | {summary["view"]}
        if name not in allowed:
            return None
        path = (self.output / key / name).resolve()
        return path if path.parent == self.output / key and path.is_file() else None
