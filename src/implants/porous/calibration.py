"""Calibration of the lattices, measured on the analytic fields (never assumed) (layer: porous).

For each lattice type and porosity: the iso value giving that porosity (an exact quantile of
the field sampled on a periodic grid of one unit cell, i.e. the limit of a bisection on the
solid fraction), and the pore throat and minimum wall as fractions of the cell size, measured
with :mod:`implants.porous.measure` on the periodic cell tiled 2 × 2 × 2. The throat and wall
ratios are tabulated in :data:`TABLE` (run ``python -m implants.porous.calibration`` to
recompute it, ~2 min) and interpolated linearly in porosity; the iso value is computed on
demand and cached.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from . import fields
from .measure import percolation_diameter
from .params import LatticeType

#: Grid of one unit cell used for the iso value (points per cell side): the quantile of
#: 96³ samples fixes the solid fraction to better than 0.1 percentage point.
ISO_GRID = 96
#: Grid for the tabulated throat/wall ratios (per cell side): throats of 0.3 cell are
#: ≥ 19 voxels, walls of 0.06 cell ≥ 4 voxels.
RATIO_GRID = 64
POROSITIES = (0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85)


def _cell_axis(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


@cache
def _sorted_raw(kind: LatticeType) -> np.ndarray:
    a = _cell_axis(ISO_GRID)
    raw = fields.raw_grid(kind, a, a, a).ravel()
    if kind.is_sheet:
        raw = np.abs(raw)
    return np.sort(raw)


@cache
def iso_for(kind: LatticeType, porosity: float) -> float:
    """Iso value (cell units) whose solid fraction is ``1 − porosity`` on the unit cell."""
    values = _sorted_raw(kind)
    return float(np.quantile(values, 1.0 - porosity))


def solid_fraction(kind: LatticeType, iso: float) -> float:
    values = _sorted_raw(kind)
    return float(np.searchsorted(values, iso) / len(values))


def _min_sheet_wall(kind: LatticeType, iso: float) -> float:
    """Thinnest sheet (cell units): 2 t / max |∇raw| over the mid-surface raw = 0."""
    n = 64
    a = _cell_axis(n)
    raw = fields.raw_grid(kind, a, a, a)
    idx = np.argwhere(np.abs(raw) < 0.05)
    p = (idx.T + 0.5) / n
    p = fields.project(kind, p, 0.0, steps=3)
    grad = np.linalg.norm(fields.raw_gradient(kind, p), axis=0)
    return float(2 * iso / grad.max())


def measure_ratios(kind: LatticeType, porosity: float, n: int = RATIO_GRID) -> dict[str, float]:
    """Pore throat and minimum wall as fractions of the cell size."""
    iso = iso_for(kind, porosity)
    a = _cell_axis(n)
    raw = fields.raw_grid(kind, a, a, a)
    solid = np.abs(raw) <= iso if kind.is_sheet else raw <= iso
    tiled = np.tile(solid, (2, 2, 2))
    throat, _ = percolation_diameter(~tiled, 1.0 / n)
    if kind.is_sheet:
        wall = _min_sheet_wall(kind, iso)
    elif kind.is_tpms:
        wall, _ = percolation_diameter(tiled, 1.0 / n)
    else:
        wall = 2 * iso  # strut diameter (nodes are thicker)
    return {"pore": throat, "wall": wall}


def ratios(kind: LatticeType, porosity: float) -> dict[str, float]:
    """Tabulated ratios (cell units) interpolated at ``porosity``."""
    table = TABLE[kind.value]
    return {key: float(np.interp(porosity, POROSITIES, [row[key] for row in table]))
            for key in ("pore", "wall")}


def measure_voxel(kind: LatticeType, porosity: float) -> float:
    """Voxel (cell units) of the pore and wall measure on a result (:func:`.assess.pore_sizes`)
    and on the meshed unit cell (:func:`.cell.meshed_pore_factor`): a sixteenth of the calibrated
    throat, at most 1/24 of the cell."""
    return min(ratios(kind, porosity)["pore"] / 16.0, 1.0 / 24.0)


def _compute_table() -> dict[str, list[dict[str, float]]]:
    return {kind.value: [{k: round(v, 4) for k, v in measure_ratios(kind, p).items()} for p in POROSITIES]
            for kind in LatticeType}


# fmt: off
#: Measured by ``_compute_table()`` (RATIO_GRID = 64): per type, one row per POROSITIES entry.
TABLE: dict[str, list[dict[str, float]]] = {'gyroid': [{'pore': 0.2363, 'wall': 0.1546},
            {'pore': 0.2546, 'wall': 0.1409},
            {'pore': 0.269, 'wall': 0.1273},
            {'pore': 0.2872, 'wall': 0.1135},
            {'pore': 0.3075, 'wall': 0.0993},
            {'pore': 0.3209, 'wall': 0.0855},
            {'pore': 0.3393, 'wall': 0.0712},
            {'pore': 0.3567, 'wall': 0.057},
            {'pore': 0.3709, 'wall': 0.0427}],
 'gyroid-skeletal': [{'pore': 0.3819, 'wall': 0.4447},
                     {'pore': 0.4171, 'wall': 0.4171},
                     {'pore': 0.4447, 'wall': 0.3819},
                     {'pore': 0.4715, 'wall': 0.3567},
                     {'pore': 0.5078, 'wall': 0.3209},
                     {'pore': 0.5307, 'wall': 0.2872},
                     {'pore': 0.562, 'wall': 0.2546},
                     {'pore': 0.5979, 'wall': 0.2138},
                     {'pore': 0.6338, 'wall': 0.1716}],
 'diamond': [{'pore': 0.1526, 'wall': 0.1226},
             {'pore': 0.1691, 'wall': 0.1118},
             {'pore': 0.1865, 'wall': 0.1006},
             {'pore': 0.203, 'wall': 0.0895},
             {'pore': 0.2138, 'wall': 0.0782},
             {'pore': 0.2283, 'wall': 0.0671},
             {'pore': 0.2438, 'wall': 0.0563},
             {'pore': 0.2602, 'wall': 0.0445},
             {'pore': 0.274, 'wall': 0.0336}],
 'diamond-skeletal': [{'pore': 0.2855, 'wall': 0.3419},
                      {'pore': 0.3163, 'wall': 0.3163},
                      {'pore': 0.3419, 'wall': 0.2855},
                      {'pore': 0.3668, 'wall': 0.2602},
                      {'pore': 0.3929, 'wall': 0.2283},
                      {'pore': 0.4182, 'wall': 0.203},
                      {'pore': 0.4436, 'wall': 0.1691},
                      {'pore': 0.4693, 'wall': 0.1373},
                      {'pore': 0.5081, 'wall': 0.097}],
 'cubic': [{'pore': 0.3903, 'wall': 0.6047},
           {'pore': 0.4218, 'wall': 0.5669},
           {'pore': 0.4528, 'wall': 0.5305},
           {'pore': 0.4843, 'wall': 0.4897},
           {'pore': 0.5466, 'wall': 0.4509},
           {'pore': 0.5777, 'wall': 0.4127},
           {'pore': 0.6089, 'wall': 0.3683},
           {'pore': 0.6714, 'wall': 0.3244},
           {'pore': 0.7027, 'wall': 0.2768}],
 'bcc': [{'pore': 0.2725, 'wall': 0.3978},
         {'pore': 0.3164, 'wall': 0.3707},
         {'pore': 0.3379, 'wall': 0.3474},
         {'pore': 0.3607, 'wall': 0.3232},
         {'pore': 0.3817, 'wall': 0.2966},
         {'pore': 0.4044, 'wall': 0.2673},
         {'pore': 0.4486, 'wall': 0.2412},
         {'pore': 0.47, 'wall': 0.2125},
         {'pore': 0.4929, 'wall': 0.18}]}
# fmt: on

if __name__ == "__main__":  # pragma: no cover - regenerates TABLE
    import pprint
    import time

    t0 = time.time()
    pprint.pprint(_compute_table(), width=140, sort_dicts=False)
    print(f"# {time.time() - t0:.1f} s")
