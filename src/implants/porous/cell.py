"""One meshed unit cell per (lattice type, porosity, samples per cell), computed once and cached
(layer: porous).

The fine grid of a lattice zone is aligned to the cell lattice (origin on a cell corner, step
``cell / n``), so its samples repeat the unit cell's exactly: the zone's field is the unit
cell's field *tiled* (an index gather, no trigonometry per voxel), every marching-cubes
vertex in the pure lattice has the same cell-local position as a vertex of the unit cell's
own marching cubes, and the Newton snap onto the exact iso-surface is done once on the unit
cell and looked up (:meth:`UnitCell.snap`) instead of per vertex of the zone.

The unit cell also decides how coarse the grid may be (:func:`choose_n`): the smallest ``n``
whose periodic unit-cell mesh has the exact surface's topology (Euler characteristic equal
to that of a fine reference mesh, so marching cubes neither pinches struts nor opens walls)
and whose surface error after the snap is within the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import manifold3d as m3d
import numpy as np
from skimage.measure import marching_cubes as skimage_marching_cubes

from . import calibration, fields
from .meshing import marching_cubes, off_level, to_manifold
from .params import LatticeType

#: Sub-voxel quantum of the vertex keys (a vertex lies on a grid edge: two coordinates are
#: exact multiples of the step, the third a fraction of it).
QUANTUM = 1024
#: Fine reference grid (per cell side) for the topology check.
REFERENCE_N = 36


def cell_field(kind: LatticeType, iso: float, n: int) -> np.ndarray:
    """Field (negative in the solid, cell units) on the n × n × n periodic samples i / n."""
    a = np.arange(n) / n
    return fields.solid_field(kind, fields.raw_grid(kind, a, a, a), iso)


def _keys(local: np.ndarray, n: int) -> np.ndarray:
    """Integer keys of cell-local positions (cell units, any cell: reduced modulo 1)."""
    period = n * QUANTUM
    q = np.rint(np.asarray(local, dtype=np.float64) * period).astype(np.int64) % period
    return (q[:, 0] * period + q[:, 1]) * period + q[:, 2]


def _periodic_mc(kind: LatticeType, iso: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) of marching cubes on one period (``n + 1`` samples per side, cell units,
    open at the cell faces, triangles as skimage orients them)."""
    f = off_level(cell_field(kind, iso, n))
    idx = np.arange(n + 1) % n
    big = f[np.ix_(idx, idx, idx)]
    verts, faces, _, _ = skimage_marching_cubes(big, level=0.0, spacing=(1.0 / n,) * 3, allow_degenerate=True)
    return verts.astype(np.float64), faces


def euler_characteristic(kind: LatticeType, iso: float, n: int) -> int:
    """V − E + F of the periodic unit-cell surface (vertices identified modulo the cell)."""
    verts, faces = _periodic_mc(kind, iso, n)
    keys = _keys(verts, n)
    uniq, inv = np.unique(keys, return_inverse=True)
    f = inv[faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    n_edges = len(np.unique(edges[:, 0] * len(uniq) + edges[:, 1]))
    return int(len(uniq) - n_edges + len(f))


@dataclass(frozen=True)
class UnitCell:
    """A unit cell meshed at ``n`` samples per side, its vertex keys and their snapped positions."""

    kind: LatticeType
    iso: float
    n: int
    keys: np.ndarray        # sorted vertex keys of the unit cell's marching cubes
    snapped: np.ndarray     # (k, 3) cell-local positions moved onto the exact surface
    error: float            # max distance (cell units) of triangle centroids / edge midpoints after the snap
    triangles: int          # triangles of one cell's marching cubes

    def snap(self, verts: np.ndarray, origin: np.ndarray, cell: float) -> int:
        """Move zone vertices (mm, in place) that match a unit-cell vertex onto the exact
        surface; ``origin`` is a cell corner. Returns how many moved."""
        local = (verts - origin) / cell
        keys = _keys(local, self.n)
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        hit = self.keys[pos] == keys
        delta = self.snapped[pos[hit]] - local[hit]
        delta -= np.rint(delta)  # a vertex on a cell face may sit on either side
        verts[hit] += (delta * cell).astype(verts.dtype)
        return int(hit.sum())


def _build(kind: LatticeType, iso: float, n: int) -> UnitCell:
    """Mesh the unit cell at ``iso``, snap its vertices and measure its surface error."""
    verts, faces = _periodic_mc(kind, iso, n)
    keys = _keys(verts, n)
    uniq, first = np.unique(keys, return_index=True)
    local = verts[first] % 1.0
    snapped = fields.project(kind, local.T, iso, steps=4, max_step=0.5 / n).T
    # surface error of the snapped unit cell: centroids and edge midpoints
    pos = snapped[np.searchsorted(uniq, keys)]
    tri = pos[faces]
    # unwrap triangles straddling the periodic boundary
    tri = tri - np.rint(tri - tri[:, :1])
    samples = np.concatenate([tri.mean(axis=1), 0.5 * (tri[:, 0] + tri[:, 1]), 0.5 * (tri[:, 1] + tri[:, 2]),
                              0.5 * (tri[:, 2] + tri[:, 0])])
    err = float(fields.surface_distance(kind, samples.T, iso).max())
    return UnitCell(kind, iso, n, uniq, snapped, err, len(faces))


@lru_cache(maxsize=64)
def analytic_cell(kind: LatticeType, porosity: float, n: int) -> UnitCell:
    """The unit cell meshed at the analytic iso value (field quantile, :func:`calibration.iso_for`)."""
    return _build(kind, calibration.iso_for(kind, porosity), n)


def meshed_solid_fraction(uc: UnitCell) -> float:
    """Solid fraction of the unit cell *as meshed*: marching cubes at ``uc.n`` samples per cell,
    vertices snapped as in a zone, volume of exactly one period (the field tiled 2 × 2 × 2,
    intersected with a unit cube inside it by manifold3d)."""
    n = uc.n
    f = off_level(cell_field(uc.kind, uc.iso, n))
    idx = np.arange(2 * n + 1) % n
    big = f[np.ix_(idx, idx, idx)]
    big[[0, -1], :, :] = big[:, [0, -1], :] = big[:, :, [0, -1]] = 1.0
    verts, faces = marching_cubes(big, np.zeros(3), 1.0 / n)
    uc.snap(verts, np.zeros(3), 1.0)
    man = to_manifold(verts, faces)
    return float((man ^ m3d.Manifold.cube((1.0, 1.0, 1.0)).translate((0.5, 0.5, 0.5))).volume())


#: Meshed-cell calibration: stop when the meshed solid fraction is this close to the target.
MESH_CALIBRATION_TOL = 2e-4


@lru_cache(maxsize=64)
def unit_cell(kind: LatticeType, porosity: float, n: int) -> UnitCell:
    """The unit cell used to build a zone at ``n`` samples per cell.

    TPMS: meshed at the analytic iso value. Strut lattices: the iso value (strut radius) is
    calibrated on the *meshed* cell (secant on :func:`meshed_solid_fraction`), because chords
    of the convex struts and the blends at the nodes make the marching-cubes volume depart from
    the field quantile at these samplings (measured, bcc at 0.50: meshed porosity 0.531 at
    n = 8, 0.521 at n = 12, 0.512 at n = 16 for the quantile iso)."""
    base = analytic_cell(kind, porosity, n)
    if kind.is_tpms:
        return base
    target = 1.0 - porosity
    x0, f0 = base.iso, meshed_solid_fraction(base) - target
    if abs(f0) <= MESH_CALIBRATION_TOL:
        return base
    # solid fraction of a strut lattice grows roughly as iso² (cylinders): first step from that
    x1 = x0 * np.sqrt(target / (target + f0))
    best = (abs(f0), base)
    for _ in range(8):
        uc = _build(kind, float(x1), n)
        f1 = meshed_solid_fraction(uc) - target
        if abs(f1) < best[0]:
            best = (abs(f1), uc)
        if abs(f1) <= MESH_CALIBRATION_TOL or f1 == f0:
            break
        x0, f0, x1 = x1, f1, x1 - f1 * (x1 - x0) / (f1 - f0)
    return best[1]


@lru_cache(maxsize=64)
def reference_euler(kind: LatticeType, porosity: float) -> int:
    """Euler characteristic of the unit cell on the fine reference grid (the exact topology)."""
    return euler_characteristic(kind, calibration.iso_for(kind, porosity), REFERENCE_N)


@lru_cache(maxsize=256)
def choose_n(kind: LatticeType, porosity: float, cell_mm: float, error_mm: float, n_min: int = 5,
             n_max: int = 48) -> int:
    """Smallest samples-per-cell with the right topology and surface error ≤ ``error_mm``."""
    iso = calibration.iso_for(kind, porosity)
    ref = reference_euler(kind, porosity)
    wall = calibration.ratios(kind, porosity)["wall"]
    # at least ~1.6 samples across the thinnest wall/strut (topology is checked as well)
    n = max(n_min, int(np.ceil(1.6 / wall)))
    while n < n_max:
        if euler_characteristic(kind, iso, n) == ref and analytic_cell(kind, porosity, n).error * cell_mm <= error_mm:
            return n
        n += 1
    return n_max
