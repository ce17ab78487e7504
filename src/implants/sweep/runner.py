"""Run a sweep: a local pool of persistent worker processes (default) or a Dask cluster.

* Local: one single-process ``ProcessPoolExecutor`` per worker slot, started from a fork server
  that has imported the kernel and everything the exporter and the checks import (``WORKER_MODULES``),
  so the ~2 s of imports is paid once (not once per variant, nor once per worker); workers are
  warmed up in parallel before the first variant. Each worker runs OCCT on one thread
  (``single_threaded_kernel``): one variant per core is the parallelism, and OCCT's own thread
  pool only burnt CPU there (measured: a lumbar cage build took 0.70 s CPU for 0.52 s wall with
  the default pool, 0.50 s CPU and wall with one thread), so two workers slowed each other down,
  and a variant that overruns the time limit is stopped by killing exactly its worker, which is
  then replaced; the other workers keep running.
* Dask (``scheduler="tcp://host:8786"`` or a ``distributed.Client``): the same tasks are
  submitted to the cluster, at most as many at once as it has threads, so the time limit counts
  from the start of each variant. A Dask worker thread cannot be killed: an overrun variant is
  recorded as a timeout and its future cancelled. The output folder must be visible to the
  workers (a shared file system).

Results are appended to ``DIR/results.jsonl`` as each variant finishes (flushed and fsynced).
A rerun reuses every recorded variant whose key (hash of its full parameters, outputs and
metrics settings) matches and whose output manifest still exists; an interrupted sweep thus
continues with nothing lost or duplicated. ``DIR/results.csv`` and ``DIR/results.parquet`` hold
one row per variant at the end.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..errors import ImplantError, ParameterError
from .spec import SweepSpec, Variant, expand, load_spec, resolve_template

if TYPE_CHECKING:
    import pandas as pd

RESULTS_JSONL = "results.jsonl"
RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
VARIANTS_DIR = "variants"
#: Time allowed for a new worker to start and import the kernel (s).
WORKER_START_TIMEOUT_S = 180.0
#: Leading columns of the results table, in order.
LEAD_COLUMNS = ("index", "variant", "status", "error", "reused")
TIMING_COLUMNS = ("build_s", "export_s", "metrics_s", "total_s")


# --------------------------------------------------------------------------- worker side

_CACHE: dict[Any, Any] = {}


#: Imported by the fork server once and inherited by every worker: the kernel, the exporter and
#: the libraries (declared dependencies only) the first export and checks would otherwise import
#: lazily (~2 s in all).
WORKER_MODULES = ("cadquery", "implants.pipeline", "implants.checks.mesh", "implants.checks.step",
                  "implants.checks.footprint", "implants.sweep.runner", "trimesh", "manifold3d", "scipy.spatial",
                  "scipy.sparse.csgraph", "networkx", "rtree", "PIL.Image", "lxml.etree")


def single_threaded_kernel() -> int:
    """Make OCCT's default thread pool (booleans, meshing) use one thread in this process, unless
    something already created it; return the pool's thread count."""
    from OCP.OSD import OSD_ThreadPool

    return OSD_ThreadPool.DefaultPool_s(1).NbThreads()


def warm_up() -> dict[str, int]:
    """Import ``WORKER_MODULES`` (a no-op when the fork server did) and set OCCT to one thread in
    this worker; return the worker's pid and OCCT thread count."""
    import importlib

    for module in WORKER_MODULES:
        importlib.import_module(module)
    return {"pid": os.getpid(), "occt_threads": single_threaded_kernel()}


def _endplate(path: str, transform: list[list[float]] | None = None):
    """The endplate mesh (loaded once per worker), moved into the implant frame by ``transform``."""
    key = ("endplate", path, json.dumps(transform))
    if key not in _CACHE:
        from ..anatomy.packaged import is_packaged, load
        from ..checks.report import load_mesh

        mesh = load(path) if not Path(path).exists() and is_packaged(path) else load_mesh(path, "endplate")
        if transform is not None:
            import numpy as np

            mesh = mesh.copy()
            mesh.apply_transform(np.asarray(transform, float))
        _CACHE[key] = mesh
    return _CACHE[key]


def _flatten(prefix: str, data: Any, out: dict[str, Any]) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(data, bool) or data is None or isinstance(data, (int, float, str)):
        if not (isinstance(data, str) and len(data) > 200):
            out[prefix] = data


def _export(implant, out_dir: Path, task: dict[str, Any]):
    from ..pipeline import export

    kwargs: dict[str, Any] = {"formats": tuple(task["formats"])}
    if task.get("deflection_mm") is not None:
        kwargs["deflection_mm"] = task["deflection_mm"]
    contact = task.get("contact")
    if contact:
        kwargs["endplate"] = _endplate(contact["endplate"], contact.get("transform"))
        kwargs["tolerance_mm"] = contact["tolerance_mm"]
    return export(implant, out_dir, **kwargs)


def run_variant(task: dict[str, Any]) -> dict[str, Any]:
    """Build, export and measure one variant; never raises: failures come back as a row."""
    start = time.perf_counter()
    row: dict[str, Any] = {"index": task["index"], "variant": task["name"], "key": task["key"],
                           "status": "ok", "error": None, "worker": f"{os.uname().nodename}:{os.getpid()}"}
    root = Path(task["root"])
    out_dir = root / task["rel_dir"]
    stage = "build"
    try:
        single_threaded_kernel()  # also on Dask workers, which never run warm_up
        template = resolve_template(task["type"])
        from ..params import validate

        params = validate(template.params, task["params"])
        implant = template.make(params, task.get("preset"))
        built = time.perf_counter()
        row["build_s"] = round(built - start, 4)
        stage = "export"
        result = _export(implant, out_dir, task)
        exported = time.perf_counter()
        row["export_s"] = round(exported - built, 4)
        stage = "metrics"
        manifest = result.manifest
        metrics: dict[str, Any] = {"bodies": manifest.get("bodies", implant.bodies),
                                   "brep_volume_mm3": round(implant.volume_mm3(), 4)}
        if task.get("mass", True):
            for material, grams in (manifest.get("mass_g") or implant.mass_g()).items():
                metrics[f"mass_{material}_g"] = grams
        checks = manifest.get("checks") or {}
        if task.get("checks", True):
            metrics["checks_ok"] = checks.get("ok")
            metrics["volume_mm3"] = (checks.get("mesh") or {}).get("volume_mm3")
            flat: dict[str, Any] = {}
            _flatten("check", checks, flat)
            metrics.update(flat)
        contact = checks.get("contact")
        if isinstance(contact, dict):  # the headline contact figures as plain columns
            for name in ("contact_area_mm2", "pct_footprint", "pct_endplate", "max_penetration_mm"):
                if name in contact:
                    metrics[name if name.startswith("contact_") else f"contact_{name}"] = contact[name]
        for name, value in (implant.metrics or {}).items():
            _flatten(f"template.{name}", value, metrics)
        if task.get("pictures"):
            from ..render.pictures import picture_for_manifest

            row["path_png"] = os.path.relpath(picture_for_manifest(implant, out_dir), root)
        row.update(metrics)
        for ext, path in result.paths.items():
            row[f"path_{ext}"] = os.path.relpath(path, root)
        row["metrics_s"] = round(time.perf_counter() - exported, 4)
    except Exception as error:  # recorded, not fatal
        row["status"] = "failed"
        message = str(error) if isinstance(error, ImplantError) else f"{type(error).__name__}: {error}"
        row["error"] = f"{stage}: {message}"
    row["total_s"] = round(time.perf_counter() - start, 4)
    return row


# --------------------------------------------------------------------------- local pool

def worker_context():
    """The fork-server context every worker process starts from (``WORKER_MODULES`` preloaded)."""
    import multiprocessing

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
        from concurrent.futures import ProcessPoolExecutor

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
    return {"index": task["index"], "variant": task["name"], "key": task["key"], "status": status,
            "error": message, "total_s": None if seconds is None else round(seconds, 4)}


def run_local(tasks: list[dict[str, Any]], workers: int, timeout: float) -> Iterator[dict[str, Any]]:
    """Run tasks on ``workers`` persistent processes; yield one row per task as each finishes."""
    from concurrent.futures import FIRST_COMPLETED, wait

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


# --------------------------------------------------------------------------- Dask

def run_dask(tasks: list[dict[str, Any]], scheduler: Any, timeout: float) -> Iterator[dict[str, Any]]:
    """Run tasks on a Dask distributed cluster (address or Client); yield rows as they finish."""
    try:
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


# --------------------------------------------------------------------------- results

def read_rows(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of a results.jsonl by key (last wins); a torn last line is ignored."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "key" in row:
            rows[row["key"]] = row
    return rows


class _Journal:
    """Append-only JSON lines, each flushed and fsynced as soon as it is written."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "a+b")
        self.file.seek(0, os.SEEK_END)
        if self.file.tell():  # a run killed mid-line leaves a torn line: start on a fresh one
            self.file.seek(-1, os.SEEK_END)
            if self.file.read(1) != b"\n":
                self.file.write(b"\n")

    def append(self, row: dict[str, Any]) -> None:
        self.file.write((json.dumps(row, default=str) + "\n").encode())
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def _reusable(row: dict[str, Any] | None, variant: Variant, root: Path, retry_failed: bool) -> bool:
    if row is None:
        return False
    if row.get("status") == "invalid":
        return not variant.ok
    if row.get("status") != "ok":
        return not retry_failed
    manifest = row.get("path_manifest")
    if not manifest or not (root / manifest).is_file():
        return False
    if any(not (root / v).is_file() for k, v in row.items() if k.startswith("path_") and v):
        return False
    try:
            recorded = json.loads((root / manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    # the manifest's parameter hash must be this variant's (ImplantParams.params_hash of the same JSON)
    from .spec import stable_hash

    return variant.params is not None and recorded.get("params_hash") == stable_hash(variant.params)


def _task(spec: SweepSpec, variant: Variant, root: Path, preset: str) -> dict[str, Any]:
    contact = spec.metrics.contact
    return {"index": variant.index, "name": variant.name, "key": variant.key, "type": spec.type, "preset": preset,
            "params": variant.params, "root": str(root), "rel_dir": f"{VARIANTS_DIR}/{variant.name}",
            "formats": list(spec.outputs.formats), "pictures": spec.outputs.pictures,
            "deflection_mm": spec.outputs.deflection_mm, "checks": spec.metrics.checks, "mass": spec.metrics.mass,
            "contact": None if contact is None else contact.model_dump()}


def results_table(variants: list[Variant], rows: dict[str, dict[str, Any]]) -> "pd.DataFrame":
    """One row per variant: lead columns, parameters, metrics, timings, output paths."""
    import pandas as pd

    records = []
    param_names: list[str] = []
    for variant in variants:
        row = dict(rows.get(variant.key) or {"status": "missing"})
        params = variant.params if variant.params is not None else variant.values
        for name in params:
            if name not in param_names:
                param_names.append(name)
        record = {"index": variant.index, "variant": variant.name, "status": row.get("status"),
                  "error": row.get("error"), "reused": bool(row.get("reused", False))}
        record.update(params)
        record.update({k: v for k, v in row.items() if k not in record and k not in ("key", "index", "variant")})
        record["key"] = variant.key
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    rest = [c for c in frame.columns if c not in LEAD_COLUMNS and c not in param_names]
    paths = [c for c in rest if c.startswith("path_")]
    timings = [c for c in rest if c in TIMING_COLUMNS]
    metrics = [c for c in rest if c not in paths and c not in timings and c not in ("key", "worker")]
    order = [*LEAD_COLUMNS, *param_names, *metrics, *timings, *paths, "worker", "key"]
    return frame[[c for c in order if c in frame.columns]]


def write_table(frame: "pd.DataFrame", root: Path) -> None:
    """results.csv and results.parquet, each written atomically."""
    csv_tmp = root / f".{RESULTS_CSV}.tmp"
    frame.to_csv(csv_tmp, index=False)
    os.replace(csv_tmp, root / RESULTS_CSV)
    parquet_tmp = root / f".{RESULTS_PARQUET}.tmp"
    try:
        frame.to_parquet(parquet_tmp, index=False)
    except Exception:  # mixed-type object columns: store them as text
        safe = frame.copy()
        for column in safe.columns[safe.dtypes == object]:
            safe[column] = safe[column].map(lambda v: None if v is None else str(v))
        safe.to_parquet(parquet_tmp, index=False)
    os.replace(parquet_tmp, root / RESULTS_PARQUET)


def _progress(total: int, done: int, enabled: bool):
    from contextlib import nullcontext

    if not enabled:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("– variants/min" if speed is None else f"{speed * 60:.1f} variants/min")

    return Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))


def run_sweep(spec: str | Path | dict[str, Any] | SweepSpec, out_dir: str | Path, workers: int | None = None,
              scheduler: Any = None, timeout: float | None = None, progress: bool = False,
              retry_failed: bool = False, on_row: Callable[[dict[str, Any]], None] | None = None) -> "pd.DataFrame":
    """Run a sweep into ``out_dir`` and return its results table (one row per variant).

    ``workers``: local processes (default: CPU count); ``scheduler``: a Dask scheduler address or
    ``distributed.Client`` instead of the local pool; ``timeout``: per-variant time limit in
    seconds (default: the spec's ``timeout_s``); ``retry_failed``: rebuild variants recorded as
    failed or timed out (they are kept otherwise). Column ``reused`` is True for variants taken
    from a previous run.
    """
    spec = load_spec(spec)
    if workers is not None and not 1 <= workers <= 256:
        raise ParameterError(f"--workers = {workers}: allowed 1 to 256")
    limit = float(timeout if timeout is not None else spec.timeout_s)
    if not limit > 0:
        raise ParameterError(f"--timeout = {timeout}: must be > 0 s")
    variants = expand(spec)  # every variant validated before anything is built
    root = Path(out_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "sweep.json").write_text(json.dumps(spec.model_dump(mode="json"), indent=2))
    preset = spec.preset or resolve_template(spec.type).default_preset
    journal_path = root / RESULTS_JSONL
    previous = read_rows(journal_path)
    rows: dict[str, dict[str, Any]] = {}
    journal = _Journal(journal_path)
    try:
        todo = []
        for variant in variants:
            old = previous.get(variant.key)
            if _reusable(old, variant, root, retry_failed):
                rows[variant.key] = {**old, "reused": True}
            elif not variant.ok:
                row = {"index": variant.index, "variant": variant.name, "key": variant.key, "status": "invalid",
                       "error": variant.error}
                journal.append(row)
                rows[variant.key] = row
            else:
                todo.append(_task(spec, variant, root, preset))
        with _progress(len(variants), len(variants) - len(todo), progress) as bar:
            task_id = bar.add_task("sweep", total=len(todo)) if bar is not None else None
            if todo:
                stream = (run_dask(todo, scheduler, limit) if scheduler is not None
                          else run_local(todo, workers or os.cpu_count() or 1, limit))
                for row in stream:
                    journal.append(row)
                    rows[row["key"]] = row
                    if bar is not None:
                        bar.advance(task_id)
                    if on_row is not None:
                        on_row(row)
    finally:
        journal.close()
        frame = results_table(variants, rows)
        write_table(frame, root)
    return frame


def summary(frame: "pd.DataFrame") -> dict[str, int]:
    """Counts of variants by status, and how many were reused from a previous run."""
    counts = {str(k): int(v) for k, v in frame["status"].value_counts().items()}
    counts["reused"] = int(frame["reused"].sum())
    counts["total"] = int(len(frame))
    return counts
