"""Figures measured on a finished lattice zone (layer: porous): porosity of the zone, pore and
wall throats on a sample block, and the surface error of the lattice triangles.

* porosity = 1 − lattice volume / zone volume, where the zone is the body less its forced solid
  (the keep field's negative part, meshed and intersected with the body);
* pore size = throat diameter from a distance transform of a voxelised sample block of the
  result where the zone is deepest (:func:`.measure.percolation_diameter`), wall likewise on the
  solid phase;
* surface error: first-order distance to the exact surface of a sample of the triangles that
  come from the lattice mesh (manifold3d provenance), away from wall/skin blends.
"""

from __future__ import annotations

from dataclasses import dataclass

import manifold3d as m3d
import numpy as np

from . import fields
from .cell import UnitCell
from .envelope import PorousBody
from .grid import ZoneGrids
from .keep import KeepField
from .measure import percolation_diameter, rasterise
from .meshing import marching_cubes, to_manifold
from .params import LatticeType
from .tiling import PHASE_TYPES

#: Triangles sampled for the surface-error figure (the error is periodic: a sample suffices).
ERROR_SAMPLES = 100_000


@dataclass(frozen=True)
class ZoneVolumes:
    """Volumes (mm³) of a zone and its porosity (void fraction)."""

    zone_mm3: float           # the body less its forced solid
    lattice_mm3: float        # the solid of the porous body within the zone
    porosity: float


@dataclass(frozen=True)
class PoreSizes:
    """Throats (mm) measured on a voxelised block of the result, and its voxel size (mm)."""

    pore_mm: float            # largest sphere passing through the pores
    inscribed_mm: float       # largest sphere inside the pores
    wall_mm: float            # largest sphere passing through the solid
    voxel_mm: float


def zone_volumes(body: m3d.Manifold, body_volume: float, keep: KeepField, grid: ZoneGrids,
                 porous_volume: float) -> ZoneVolumes:
    """Zone and lattice volumes and the porosity of a porous body of ``porous_volume`` mm³."""
    forced_field = np.maximum(keep.keep, keep.cut)
    if np.any(forced_field < 0):
        kverts, kfaces = marching_cubes(forced_field, grid.lo, grid.hc)
        forced = (body ^ to_manifold(kverts, kfaces)).volume()
    else:
        forced = 0.0
    del forced_field
    zone_volume = body_volume - forced
    lattice_volume = porous_volume - forced
    porosity = 1.0 - lattice_volume / zone_volume if zone_volume > 0 else float("nan")
    return ZoneVolumes(zone_volume, lattice_volume, porosity)


def pore_sizes(result: m3d.Manifold, keep: KeepField, grid: ZoneGrids, kind: LatticeType, origin: np.ndarray,
               cell: float, voxel_mm: float) -> PoreSizes:
    """Pore and wall throats on a block of the boolean ``result`` (up to 2.5 cells wide) centred
    where the zone is deepest; voxels of ``voxel_mm`` (:func:`.calibration.measure_voxel`)."""
    zone_depth = np.minimum(keep.keep, keep.signed)
    centre_idx = np.unravel_index(np.argmax(zone_depth), zone_depth.shape)
    centre = grid.lo + grid.hc * np.asarray(centre_idx)
    if kind in PHASE_TYPES:
        # on a node of the shifted lattice (as the calibration's cell-aligned blocks): a block
        # face that cuts the struts at an arbitrary phase lets a sphere run along the cut struts
        centre = origin + np.rint((centre - origin) / cell) * cell
    half = min(1.25 * cell, max(float(zone_depth.max()), 0.5 * cell))
    nb = int(np.ceil(2 * half / voxel_mm))
    blo = centre - half
    # (the pore block is cut from the boolean result: dropped fragments lie at the surface, not here)
    block = result ^ m3d.Manifold.cube((nb * voxel_mm,) * 3).translate(tuple(blo))
    solid_img = rasterise(block, blo, voxel_mm, (nb, nb, nb))
    pore, inscribed = percolation_diameter(~solid_img, voxel_mm)
    wall, _ = percolation_diameter(solid_img, voxel_mm)
    return PoreSizes(pore, inscribed, wall, voxel_mm)


def surface_error(porous: PorousBody, keep: KeepField, grid: ZoneGrids, uc: UnitCell, origin: np.ndarray,
                  cell: float) -> np.ndarray:
    """Distances (mm) to the exact lattice surface of the centroids and an edge midpoint of up
    to :data:`ERROR_SAMPLES` lattice triangles (seeded sample) whose three vertices lie in the
    pure lattice: nearest coarse node away from the forced solid and from the body's surface
    (wall/skin blends and the cut at the surface are not lattice). ``[0]`` when there are none."""
    mesh = porous.mesh
    pure_v = keep.pure_node.ravel()[grid.nearest_coarse(mesh.vertices)]
    candidates = np.flatnonzero(porous.from_lattice & pure_v[mesh.faces].all(axis=1))
    rng = np.random.default_rng(0)
    sample = rng.choice(candidates, size=min(len(candidates), ERROR_SAMPLES), replace=False)
    tri = mesh.vertices[mesh.faces[sample]]
    samples = np.concatenate([tri.mean(axis=1), 0.5 * (tri[:, 0] + tri[:, 1])])
    err = fields.surface_distance(uc.kind, (samples - origin).T / cell, uc.iso) * cell
    return err if len(err) else np.zeros(1)
