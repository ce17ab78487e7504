"""The worker side of a sweep (layer: sweep): build, export and measure one variant, in a pool
process or on a Dask worker.

A worker runs OCCT on one thread (:func:`single_threaded_kernel`): one variant per core is the
parallelism, and OCCT's own thread pool only burnt CPU there (measured: a lumbar cage build
took 0.70 s CPU for 0.52 s wall with the default pool, 0.50 s CPU and wall with one thread), so
two workers slowed each other down. :func:`run_variant` never raises: a failure comes back as a
row with ``status`` ``"failed"`` and the stage that failed.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from OCP.OSD import OSD_ThreadPool

from ..anatomy.packaged import is_packaged, load
from ..checks.meshfile import read_mesh
from ..params import validate
from ..pipeline import ExportResult, export
from ..render.pictures import picture_for_manifest
from .patient_worker import run_patient
from .rows import new_row, record_failure
from .spec import resolve_template

#: Imported by the fork server once and inherited by every worker: the kernel, the exporter and
#: the libraries (declared dependencies only) the first export and checks would otherwise import
#: lazily (~2 s in all).
WORKER_MODULES = ("cadquery", "implants.pipeline", "implants.checks.mesh", "implants.checks.step",
                  "implants.checks.footprint", "implants.sweep.worker", "trimesh", "manifold3d", "scipy.spatial",
                  "scipy.sparse.csgraph", "networkx", "rtree", "PIL.Image", "lxml.etree")

#: Endplate meshes already loaded in this worker, by (path, transform).
_ENDPLATES: dict[tuple[str, str], trimesh.Trimesh] = {}


def single_threaded_kernel() -> int:
    """Make OCCT's default thread pool (booleans, meshing) use one thread in this process, unless
    something already created it; return the pool's thread count."""
    return OSD_ThreadPool.DefaultPool_s(1).NbThreads()


def warm_up() -> dict[str, int]:
    """Import ``WORKER_MODULES`` (a no-op when the fork server did) and set OCCT to one thread in
    this worker; return the worker's pid and OCCT thread count."""
    for module in WORKER_MODULES:
        importlib.import_module(module)
    return {"pid": os.getpid(), "occt_threads": single_threaded_kernel()}


def _endplate(path: str, transform: list[list[float]] | None = None) -> trimesh.Trimesh:
    """The endplate mesh (loaded once per worker), moved into the implant frame by ``transform``."""
    key = (path, json.dumps(transform))
    if key not in _ENDPLATES:
        mesh = load(path) if is_packaged(path) else read_mesh(path, "endplate")
        if transform is not None:
            mesh = mesh.copy()
            mesh.apply_transform(np.asarray(transform, float))
        _ENDPLATES[key] = mesh
    return _ENDPLATES[key]


def _flatten(prefix: str, data: Any, out: dict[str, Any]) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(data, bool) or data is None or isinstance(data, (int, float, str)):
        if not (isinstance(data, str) and len(data) > 200):
            out[prefix] = data


def _export(implant, out_dir: Path, task: dict[str, Any]) -> ExportResult:
    kwargs: dict[str, Any] = {}
    contact = task.get("contact")
    if contact:
        kwargs["endplate"] = _endplate(contact["endplate"], contact.get("transform"))
        kwargs["tolerance_mm"] = contact["tolerance_mm"]
        kwargs["load"] = contact.get("load")
    return export(implant, out_dir, formats=tuple(task["formats"]), deflection_mm=task.get("deflection_mm"), **kwargs)


def _metrics(implant, manifest: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """The columns one variant adds to the results table: bodies, volumes, masses, flattened
    checks (``check.*``), the headline contact and pressure figures and the template's metrics (``template.*``)."""
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
    pressure = checks.get("pressure")
    if isinstance(pressure, dict):  # the headline pressure figures as plain columns
        for name in ("peak_mpa", "p95_mpa", "mean_mpa", "loaded_area_mm2", "rim_share"):
            metrics[f"pressure_{name}"] = pressure.get(name)
    for name, value in (implant.metrics or {}).items():
        _flatten(f"template.{name}", value, metrics)
    return metrics


def run_variant(task: dict[str, Any]) -> dict[str, Any]:
    """Build, export and measure one variant; never raises: failures come back as a row."""
    if task.get("patient"):  # a population sweep's variant: one synthetic patient
        single_threaded_kernel()
        return run_patient(task)
    start = time.perf_counter()
    row = new_row(task)
    root = Path(task["root"])
    out_dir = root / task["rel_dir"]
    stage = "build"
    try:
        single_threaded_kernel()  # also on Dask workers, which never run warm_up
        template = resolve_template(task["type"])
        params = validate(template.params, task["params"])
        implant = template.make(params, task.get("preset"))
        built = time.perf_counter()
        row["build_s"] = round(built - start, 4)
        stage = "export"
        result = _export(implant, out_dir, task)
        exported = time.perf_counter()
        row["export_s"] = round(exported - built, 4)
        stage = "metrics"
        metrics = _metrics(implant, result.manifest, task)
        if task.get("pictures"):
            row["path_png"] = os.path.relpath(picture_for_manifest(implant, out_dir), root)
        row.update(metrics)
        for ext, path in result.paths.items():
            row[f"path_{ext}"] = os.path.relpath(path, root)
        row["metrics_s"] = round(time.perf_counter() - exported, 4)
    except Exception as error:  # recorded, not fatal
        record_failure(row, stage, error)
    row["total_s"] = round(time.perf_counter() - start, 4)
    return row
