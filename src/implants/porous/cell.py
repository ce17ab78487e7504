"""One meshed unit cell per (lattice type, porosity, samples per cell), computed once and cached
(layer: porous).

The fine grid of a lattice zone is aligned to the cell lattice (origin on a cell corner, step
``cell / n``), so its samples repeat the unit cell's exactly: the zone's field is the unit
cell's field *tiled* (an index gather, no trigonometry per voxel), every marching-cubes
vertex in the pure lattice has the same cell-local position as a vertex of the unit cell's
own marching cubes, and the Newton snap onto the exact iso-surface (for TPMS followed by a
balance of the chords about it, :func:`balance_chords`) is done once on the unit cell and
looked up (:meth:`UnitCell.snap`) instead of per vertex of the zone.

The unit cell also decides how coarse the grid may be (:func:`choose_n`): the smallest ``n``
whose periodic unit-cell mesh has the exact surface's topology (Euler characteristic equal
to that of a fine reference mesh, so marching cubes neither pinches struts nor opens walls)
and whose surface error after the snap is within the target (:data:`WALL_SAMPLES` samples
across the thinnest wall at least).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import manifold3d as m3d
import numpy as np
from skimage.measure import marching_cubes as skimage_marching_cubes

from . import calibration, fields
from .measure import percolation_diameter, rasterise
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
    snapped: np.ndarray     # (k, 3) cell-local positions moved onto the exact surface (TPMS: chords balanced)
    error: float            # max distance (cell units) of vertices, centroids and edge midpoints to it
    triangles: int          # triangles of one cell's marching cubes
    error_on_surface: float  # the same with the vertices on the exact surface (before the chord balance)

    def snap(self, verts: np.ndarray, origin: np.ndarray, cell: float) -> int:
        """Move zone vertices (mm, in place) that match a unit-cell vertex to its snapped
        position (on the exact surface; TPMS: chords balanced); ``origin`` is a cell corner.
        Returns how many moved."""
        local = (verts - origin) / cell
        keys = _keys(local, self.n)
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        hit = self.keys[pos] == keys
        delta = self.snapped[pos[hit]] - local[hit]
        delta -= np.rint(delta)  # a vertex on a cell face may sit on either side
        verts[hit] += (delta * cell).astype(verts.dtype)
        return int(hit.sum())


#: Sweeps of :func:`balance_chords` and the share of the correction applied per sweep.
BALANCE_SWEEPS = 20
BALANCE_DAMPING = 0.5


def _chord_samples(pos: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Centroids then the three edge midpoints of the triangles (4 T, 3), cell units, triangles
    straddling the periodic boundary unwrapped."""
    tri = pos[faces]
    tri = tri - np.rint(tri - tri[:, :1])
    return np.concatenate([tri.mean(axis=1), 0.5 * (tri[:, 0] + tri[:, 1]), 0.5 * (tri[:, 1] + tri[:, 2]),
                           0.5 * (tri[:, 2] + tri[:, 0])])


def balance_chords(kind: LatticeType, iso: float, pos: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Vertices (k, 3, cell units) moved along the surface normal so that the mesh straddles the
    exact surface instead of lying on one side of it. With the vertices on the surface every chord
    sags to one side (the solid loses volume on convex parts, the throats narrow); each sweep moves
    a vertex by half the mid-range of the signed offsets of itself and of the centroids and edge
    midpoints of its triangles, which lowers the largest offset (measured on the unit cells: skeletal
    gyroid 65 % at 4 samples per 0.98 mm cell 0.042 -> 0.036 mm, diamond-skeletal 65 % at 8 per
    1.27 mm 0.052 -> 0.034 mm, sheet gyroid 60 % at 12 per 3.13 mm 0.037 -> 0.026 mm)."""
    pos = pos.copy()
    corners = faces.ravel()
    for _ in range(BALANCE_SWEEPS):
        offset, _ = fields.signed_offset(kind, _chord_samples(pos, faces).T, iso)
        offset = offset.reshape(4, len(faces))
        own, normal = fields.signed_offset(kind, pos.T, iso)
        high, low = own.copy(), own.copy()
        np.maximum.at(high, corners, np.repeat(offset.max(axis=0), 3))
        np.minimum.at(low, corners, np.repeat(offset.min(axis=0), 3))
        pos -= (normal * (BALANCE_DAMPING * 0.5 * (high + low))).T
    return pos % 1.0


def _build(kind: LatticeType, iso: float, n: int) -> UnitCell:
    """Mesh the unit cell at ``iso``, snap its vertices (TPMS: and balance the chords,
    :func:`balance_chords`; strut lattices calibrate the meshed volume instead, :func:`unit_cell`)
    and measure its surface error at the vertices, centroids and edge midpoints."""
    verts, faces = _periodic_mc(kind, iso, n)
    keys = _keys(verts, n)
    uniq, first = np.unique(keys, return_index=True)
    local = verts[first] % 1.0
    snapped = fields.project(kind, local.T, iso, steps=4, max_step=0.5 / n).T
    faces_u = np.searchsorted(uniq, keys)[faces]

    def largest_offset(pos: np.ndarray) -> float:
        samples = np.concatenate([pos, _chord_samples(pos, faces_u)])
        return float(fields.surface_distance(kind, samples.T, iso).max())

    on_surface = largest_offset(snapped)
    if kind.is_tpms:
        snapped = balance_chords(kind, iso, snapped, faces_u)
    return UnitCell(kind, iso, n, uniq, snapped, largest_offset(snapped), len(faces), on_surface)


@lru_cache(maxsize=64)
def analytic_cell(kind: LatticeType, porosity: float, n: int) -> UnitCell:
    """The unit cell meshed at the analytic iso value (field quantile, :func:`calibration.iso_for`)."""
    return _build(kind, calibration.iso_for(kind, porosity), n)


def meshed_block(uc: UnitCell, cells: int) -> m3d.Manifold:
    """The unit cell as meshed in a zone (marching cubes at ``uc.n`` samples per cell, vertices
    snapped), tiled ``cells`` times along each axis from the origin (cell units), closed by one
    sample of void at the block's faces: cut the part wanted from inside it."""
    n = uc.n
    f = off_level(cell_field(uc.kind, uc.iso, n))
    idx = np.arange(cells * n + 1) % n
    big = f[np.ix_(idx, idx, idx)]
    big[[0, -1], :, :] = big[:, [0, -1], :] = big[:, :, [0, -1]] = 1.0
    verts, faces = marching_cubes(big, np.zeros(3), 1.0 / n)
    uc.snap(verts, np.zeros(3), 1.0)
    return to_manifold(verts, faces)


def meshed_solid_fraction(uc: UnitCell) -> float:
    """Solid fraction of the unit cell *as meshed* (:func:`meshed_block`): volume of exactly one
    period, a unit cube cut from the middle of the block tiled 2 × 2 × 2."""
    return float((meshed_block(uc, 2) ^ m3d.Manifold.cube((1.0, 1.0, 1.0)).translate((0.5, 0.5, 0.5))).volume())


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


#: Block of the pore measure on a skeletal TPMS cell (cell units): lower corner, edge and cells meshed
#: (two cells cut from the middle of three: the calibration's block shifted by half a period).
PORE_BLOCK = (0.5, 2.0, 3)


def _throat(kind: LatticeType, porosity: float, solid_at: Callable[[float, float, int], np.ndarray]) -> float:
    """Pore throat (cell units) of the :data:`PORE_BLOCK` whose solid voxels
    ``solid_at(lower corner, voxel, count)`` gives, voxels of :func:`.calibration.measure_voxel`."""
    lo, size, _ = PORE_BLOCK
    h = calibration.measure_voxel(kind, porosity)
    return percolation_diameter(~solid_at(lo, h, int(np.ceil(size / h))), h)[0]


@lru_cache(maxsize=64)
def analytic_throat(kind: LatticeType, porosity: float) -> float:
    """Pore throat (cell units) of the exact surface at the analytic iso value, measured on the
    block and voxels of :func:`meshed_pore_factor`."""
    iso = calibration.iso_for(kind, porosity)

    def solid_at(lo: float, h: float, voxels: int) -> np.ndarray:
        a = lo + (np.arange(voxels) + 0.5) * h
        return fields.solid_field(kind, fields.raw_grid(kind, a, a, a), iso) <= 0

    return _throat(kind, porosity, solid_at)


@lru_cache(maxsize=64)
def meshed_pore_factor(kind: LatticeType, porosity: float, n: int) -> float:
    """Pore throat of the skeletal TPMS unit cell *as meshed* at ``n`` samples per cell (:func:`unit_cell`,
    :func:`meshed_block`) over that of the exact surface (:func:`analytic_throat`), both measured
    as a result's pore is (:func:`.measure.percolation_diameter` of the rasterised solid, same
    block and voxels), so that the voxel measure's own bias cancels. The coarse grids' chords
    narrow the throats (measured, skeletal gyroid 65 % at 4 samples per cell: 0.958, at 6: 1.000);
    :func:`.lattice.meshed_cell` divides the cell by it."""
    lo, size, cells = PORE_BLOCK
    block = meshed_block(unit_cell(kind, porosity, n), cells) ^ m3d.Manifold.cube((size,) * 3).translate((lo,) * 3)
    meshed = _throat(kind, porosity, lambda corner, h, voxels: rasterise(block, np.full(3, corner), h, (voxels,) * 3))
    return meshed / analytic_throat(kind, porosity)


@lru_cache(maxsize=64)
def reference_euler(kind: LatticeType, porosity: float) -> int:
    """Euler characteristic of the unit cell on the fine reference grid (the exact topology)."""
    return euler_characteristic(kind, calibration.iso_for(kind, porosity), REFERENCE_N)


#: Fewest grid samples across the thinnest wall/strut the search starts from (:func:`choose_n`).
WALL_SAMPLES = 1.25


@lru_cache(maxsize=256)
def choose_n(kind: LatticeType, porosity: float, cell_mm: float, error_mm: float, n_min: int = 4,
             n_max: int = 48, on_surface_mm: float = np.inf) -> int:
    """Smallest samples-per-cell with the right topology, surface error ≤ ``error_mm`` and, with
    the vertices on the exact surface (no chord balance), ≤ ``on_surface_mm``: the balance lowers
    the error of a grid but does not make one acceptable (measured, diamond-skeletal 65 % at 8
    samples per 1.27 mm cell: 0.052 mm on the surface, 0.034 mm balanced, yet 0.056 mm on a
    10 mm cube after the boolean, and a pore throat 0.044 mm narrower than at 9)."""
    iso = calibration.iso_for(kind, porosity)
    ref = reference_euler(kind, porosity)
    wall = calibration.ratios(kind, porosity)["wall"]
    # at least WALL_SAMPLES samples across the thinnest wall/strut; the topology check rejects
    # the grids that pinch a wall or a strut
    n = max(n_min, int(np.ceil(WALL_SAMPLES / wall)))
    while n < n_max:
        uc = analytic_cell(kind, porosity, n)
        if (euler_characteristic(kind, iso, n) == ref and uc.error * cell_mm <= error_mm
                and uc.error_on_surface * cell_mm <= on_surface_mm):
            return n
        n += 1
    return n_max
