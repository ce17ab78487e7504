"""The lattice surface of a zone (layer: porous): the unit cell's field tiled over the fine grid,
combined with the keep field, meshed once by marching cubes and snapped onto the exact surface.

The fine grid is aligned to the cell lattice (:mod:`.grid`), so its field is the unit cell's
field tiled (an index gather, no trigonometry per voxel); it is combined with the keep field
(``min``) and cut off just outside the body. Pure-lattice vertices take the Newton snap computed
once on the unit cell (:meth:`.cell.UnitCell.snap`, a key lookup). Strut lattices are shifted
so that the zone's solid fraction matches the cell's (:func:`lattice_phase`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import cell as unitcell
from .grid import ZoneGrids
from .keep import KeepField
from .measure import rasterise
from .meshing import marching_cubes, off_level
from .params import LatticeType

if TYPE_CHECKING:
    import manifold3d as m3d

#: Lattices whose phase is chosen per zone (:func:`lattice_phase`). The solid fraction of a strut
#: lattice varies strongly from plane to plane (cubic at 50 %: 0.81 in a node plane, 0.25 mid-cell),
#: so where a zone ends inside a cell its porosity depends on where the cells are cut (measured,
#: 10 mm cube, 8.4 cells of cubic at 50 %: 0.461 with a cell corner at the origin).
PHASE_TYPES = (LatticeType.CUBIC, LatticeType.BCC)


@dataclass(frozen=True)
class LatticePlacement:
    """Where the lattice of a zone sits and how it was meshed."""

    origin: np.ndarray               # a cell corner of the (shifted) lattice (mm)
    phase: np.ndarray                # shift of the lattice in fine-grid steps per axis
    phase_deviation: float | None    # remaining solid-fraction deviation (phase types only)
    vertices_snapped: int            # marching-cubes vertices moved onto the exact surface


def lattice_phase(zone: np.ndarray, solid: np.ndarray) -> tuple[np.ndarray, float]:
    """Shift of the lattice (in fine-grid steps, per axis) that makes the zone's sampled solid
    fraction closest to the unit cell's, and the remaining deviation (fraction of the zone).

    ``zone`` is the zone mask on the fine grid (node ``i``), ``solid`` the unit cell's solid
    mask on its ``n³`` samples; with shift ``o`` node ``i`` takes the cell sample ``(i + o) mod n``.
    Folding the zone modulo ``n`` (count of zone nodes per cell residue) turns the zone's solid
    count for every shift into one circular cross-correlation on the ``n³`` torus (FFT)."""
    n = solid.shape[0]
    pad = [(0, (-k) % n) for k in zone.shape]
    z = np.pad(zone, pad)
    folded = z.reshape(z.shape[0] // n, n, z.shape[1] // n, n, z.shape[2] // n, n).sum(axis=(0, 2, 4), dtype=np.float64)
    total = folded.sum()
    if total == 0:
        return np.zeros(3, dtype=np.int64), 0.0
    counts = np.fft.irfftn(np.conj(np.fft.rfftn(folded)) * np.fft.rfftn(solid.astype(np.float64)), s=solid.shape, axes=(0, 1, 2))
    dev = counts / total - solid.mean()
    best = np.unravel_index(int(np.argmin(np.abs(dev))), dev.shape)
    return np.asarray(best, dtype=np.int64), float(dev[best])


def cell_field_mm(uc: unitcell.UnitCell, cell: float) -> np.ndarray:
    """The unit cell's field on its ``n³`` samples scaled to roughly mm (so that ``min``/``max``
    with the keep field are balanced), samples on the level moved off it."""
    cf = unitcell.cell_field(uc.kind, uc.iso, uc.n)
    if uc.kind.is_tpms:
        cf /= np.float32((2 * np.pi / cell) * (2 * uc.iso if uc.kind.is_sheet else 1.0) * 1.2)
    else:
        cf *= np.float32(cell)
    return off_level(cf)


def lattice_surface(uc: unitcell.UnitCell, cell: float, grid: ZoneGrids, keep: KeepField, body: "m3d.Manifold",
                    timings: dict[str, float]) -> tuple[np.ndarray, np.ndarray, LatticePlacement]:
    """(vertices, faces, placement) of the zone's lattice surface (mm, outward), cut off just
    outside the body; records ``phase_s`` (phase types), ``field_s``, ``marching_cubes_s`` and
    ``project_s`` in ``timings``."""
    t1 = time.perf_counter()
    n, h = uc.n, grid.h
    cf = cell_field_mm(uc, cell)
    keep_f = grid.upsample(keep.keep)
    phase, phase_dev = np.zeros(3, dtype=np.int64), None
    if uc.kind in PHASE_TYPES:
        t2 = time.perf_counter()
        zone_f = rasterise(body, grid.lo - 0.5 * h, h, grid.fine_shape)
        zone_f &= keep_f > 0
        phase, phase_dev = lattice_phase(zone_f, cf < 0)
        del zone_f
        timings["phase_s"] = time.perf_counter() - t2
    origin = grid.lo - phase * h                             # a cell corner of the (shifted) lattice
    field = cf[np.ix_(*((np.arange(k) + phase[a]) % n for a, k in enumerate(grid.fine_shape)))]
    np.minimum(field, keep_f, out=field)
    del keep_f
    np.maximum(field, grid.upsample(keep.cut), out=field)
    field[[0, -1], :, :] = field[:, [0, -1], :] = field[:, :, [0, -1]] = 1.0
    timings["field_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    verts, faces = marching_cubes(field, grid.lo, h)
    del field
    timings["marching_cubes_s"] = time.perf_counter() - t1

    # snap pure-lattice vertices onto the exact surface (looked up on the unit cell)
    t1 = time.perf_counter()
    pure = np.flatnonzero(keep.pure_node.ravel()[grid.nearest_coarse(verts)])
    sub = verts[pure]
    snapped = uc.snap(sub, origin, cell)
    verts[pure] = sub
    timings["project_s"] = time.perf_counter() - t1
    return verts, faces, LatticePlacement(origin, phase, phase_dev, snapped)
