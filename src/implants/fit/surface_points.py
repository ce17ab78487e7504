"""Surface points read from a file or given as an array (layer: fit): (N, 3) x, y, z in mm, patient
frame (+x anterior, +y patient-left, +z superior), for the contoured anterior plate.

:func:`read_points` reads a CSV/TXT/XYZ (x, y, z per row, comma, semicolon or whitespace separated, an
optional header line, ``#`` comments), JSON (``[[x, y, z], ...]`` or ``{"points": [...]}``) or NPY
(N × 3) file; :func:`check_points` rejects a wrong shape, NaN/inf and fewer than :data:`MIN_POINTS`
points with a :class:`~implants.errors.ParameterError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError

#: Fewest points accepted (a bicubic patch needs 16; a plate needs a surface, not a curve).
MIN_POINTS = 25


def read_points(path: str | Path) -> np.ndarray:
    """(N, 3) points (mm, patient frame) from a CSV/TXT, JSON or NPY file; :class:`ParameterError`
    naming the file for a missing, empty or malformed one."""
    p = Path(path)
    what = f"surface points file {str(p)!r}"
    if not p.is_file():
        raise ParameterError(f"{what} does not exist or is not a file")
    if p.stat().st_size == 0:
        raise ParameterError(f"{what} is empty (expected x, y, z rows in mm)")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(p, allow_pickle=False)
        elif suffix == ".json":
            raw = json.loads(p.read_text())
            if isinstance(raw, dict):
                if "points" not in raw:
                    raise ValueError('a JSON object must hold "points": [[x, y, z], ...]')
                raw = raw["points"]
            data = np.asarray(raw, dtype=float)
        elif suffix in (".csv", ".txt", ".xyz"):
            data = _read_table(p)
        else:
            raise ParameterError(f"{what}: extension {p.suffix!r} not supported (use .csv, .txt, .xyz, .json or .npy)")
    except ParameterError:
        raise
    except Exception as exc:  # numpy/json raise many types for garbage
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParameterError(f"{what} is malformed: {first}") from None
    return check_points(data, what)


def _read_table(p: Path) -> np.ndarray:
    lines = [ln.strip() for ln in p.read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise ValueError("no data rows")
    rows = []
    for i, line in enumerate(lines):
        cells = [c for c in line.replace(",", " ").replace(";", " ").split() if c]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if i == 0:
                continue  # header
            raise ValueError(f"row {i + 1} is not numeric: {line[:40]!r}") from None
    if not rows:
        raise ValueError("no numeric rows")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"rows have different numbers of values ({sorted(widths)})")
    return np.asarray(rows, float)


def check_points(data: Any, what: str = "surface points") -> np.ndarray:
    """``data`` as finite (N, 3) points with N ≥ :data:`MIN_POINTS`, else :class:`ParameterError`."""
    try:
        pts = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{what}: expected an (N, 3) array of x, y, z in mm") from None
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ParameterError(f"{what}: expected N rows of 3 values (x, y, z in mm), got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(pts), axis=1))[0])
        raise ParameterError(f"{what}: row {bad + 1} holds NaN or infinite coordinates (all x, y, z must be numbers)")
    if len(pts) < MIN_POINTS:
        raise ParameterError(f"{what}: {len(pts)} points, at least {MIN_POINTS} needed to fit a surface under the plate")
    return pts
