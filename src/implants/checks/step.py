"""STEP re-read check (layer: checks): the file re-imports as valid solid(s) with the B-rep volume (±0.5 %)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import tolerances
from ..errors import ParameterError
from ..writers.step import is_valid, read_step, read_step_bytes


def check_step(step: bytes | str | os.PathLike, expected_volume_mm3: float | None = None,
               expected_bodies: int | None = 1) -> dict[str, Any]:
    """Re-read STEP (bytes or a path): every solid valid (BRepCheck_Analyzer), the number of
    solids, and the volume within :data:`tolerances.STEP_VOLUME_REL_TOL` of ``expected_volume_mm3``."""
    try:
        shape = read_step_bytes(step) if isinstance(step, (bytes, bytearray)) else read_step(Path(step))
    except ParameterError as error:
        result = {"step_readable": False, "step_error": str(error), "step_solids": 0, "step_valid": False,
                  "step_volume_mm3": None, "step_bodies_ok": False, "step_volume_ok": False}
        result["ok"] = False
        result["failed"] = ["step_readable"]
        return result
    solids = shape.Solids()
    volume = float(sum(s.Volume() for s in solids))
    result: dict[str, Any] = {
        "step_readable": True,
        "step_solids": len(solids),
        "step_valid": bool(solids) and all(is_valid(s) for s in solids),
        "step_volume_mm3": volume,
        "expected_volume_mm3": None if expected_volume_mm3 is None else float(expected_volume_mm3),
        "step_volume_rel_tol": tolerances.STEP_VOLUME_REL_TOL,
    }
    result["step_bodies_ok"] = expected_bodies is None or len(solids) == expected_bodies
    if expected_volume_mm3 is None:
        result["step_volume_ok"] = volume > 0
        result["step_volume_rel_error"] = None
    else:
        rel = abs(volume - expected_volume_mm3) / abs(expected_volume_mm3) if expected_volume_mm3 else float("inf")
        result["step_volume_rel_error"] = rel
        result["step_volume_ok"] = bool(rel <= tolerances.STEP_VOLUME_REL_TOL)
    failed = [name for name in ("step_readable", "step_valid", "step_bodies_ok", "step_volume_ok") if not result[name]]
    result["ok"] = not failed
    result["failed"] = failed
    return result
