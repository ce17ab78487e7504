"""One configurator build, run inside a worker process (layer: serve).

:func:`build_job` validates the parameters, builds the implant, exports it with the project's
export pipeline (STEP, STL, 3MF, GLB and the manifest: the same checked files ``implants build``
writes) into ``<output>/<design hash>/``, and adds the viewer's GLB (``view.glb``, or
``view-situ.glb`` with the bones of the type's placement rule). Its summary is written last, as
``build.json`` / ``build-situ.json`` together with the view (one atomic group write), so a folder
holding one is a finished build: the server's cache on disk. Importing this module loads the CAD kernel (the workers preload it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping

import cadquery  # noqa: F401  (loaded once in the fork server, so that every worker starts warm)

from ..pipeline import export
from ..registry import get
from ..writers.atomic import write_files
from .display import view_scene


def summary_name(in_situ: bool) -> str:
    """File name of a finished build's summary in its folder."""
    return "build-situ.json" if in_situ else "build.json"


def view_name(in_situ: bool) -> str:
    """File name of the viewer's GLB in a build folder."""
    return "view-situ.glb" if in_situ else "view.glb"


def build_job(output: str, type_id: str, preset: str | None, values: Mapping[str, Any], in_situ: bool) -> dict[str, Any]:
    """Build, export and draw one parameter set; returns the summary (also written to the folder):
    ``key`` (design hash), ``stem``, ``files`` (format → file name, plus ``manifest``), ``view``,
    ``manifest``, ``in_situ`` (report or None) and ``seconds`` (build, export, view; wall time).
    Raises the library's errors (ParameterError, GeometryError, CheckError, ExportError)."""
    started = time.perf_counter()
    template = get(type_id)
    params = template.make_params(preset, **values)
    implant = template.make(params, preset)
    built = time.perf_counter()
    key = params.params_hash()
    folder = Path(output) / key
    result = export(implant, folder)
    exported = time.perf_counter()
    if result.manifest["design_hash"] != key:  # a parameter-only part is named by its parameter hash
        raise RuntimeError(f"design hash {result.manifest['design_hash']} != parameter hash {key}")
    glb, report = view_scene(implant, in_situ)
    summary = {
        "key": key, "type": type_id, "preset": implant.preset,
        "files": {fmt: path.name for fmt, path in result.paths.items()},
        "view": view_name(in_situ), "manifest": result.manifest, "in_situ": report,
        "seconds": {"build": round(built - started, 3), "export": round(exported - built, 3),
                    "view": round(time.perf_counter() - exported, 3)},
    }
    write_files(folder, {view_name(in_situ): glb, summary_name(in_situ): json.dumps(summary, indent=1).encode("utf-8")})
    return summary
