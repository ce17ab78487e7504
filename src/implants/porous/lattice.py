"""Lattice zones on the mesh side (layer: porous): one meshed unit cell tiled over the zone +
manifold3d booleans; :func:`apply_lattice` runs the steps below (all lengths mm).

1. cell size from the requested pore (or cell) size and porosity through the measured
   calibration (:mod:`.calibration`); the thinnest wall is checked against the printable
   limit (``min_wall_mm`` or the material's) and a :class:`ParameterError` names the fields;
2. samples per cell ``n`` from the unit cell (:mod:`.cell`): the coarsest grid whose periodic
   marching cubes has the exact surface's topology and a snapped surface error within budget;
   a requested pore of a skeletal TPMS then scales the cell by the throat lost to the chords of
   the meshed cell (:func:`meshed_cell`); the coarse and fine grids of the zone follow (:mod:`.grid`);
3. the *keep* field on the coarse grid, negative where the body stays solid: outer wall,
   feature skins, bearing layer (:mod:`.keep`);
4. the unit cell's field tiled over the fine grid, combined with the keep field, meshed once by
   marching cubes and snapped onto the exact surface (:mod:`.tiling`);
5. one manifold3d intersection with the body mesh keeps its exact outer surfaces; loose
   fragments are dropped and near-zero-area triangles repaired (:mod:`.envelope`);
6. porosity, pore and wall throats and the surface error are measured on the result
   (:mod:`.assess`).

The STEP export stays the solid envelope; only STL/3MF/GLB carry the lattice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GeometryError, ParameterError
from . import calibration
from . import cell as unitcell
from .assess import pore_sizes, surface_error, zone_volumes
from .envelope import largest_body
from .grid import zone_grids
from .keep import keep_field
from .meshing import LATTICE_FACE_ID, to_manifold
from .params import LatticeParams, Zone
from .tiling import lattice_surface

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

#: Target surface error of the lattice (mm): the issue's 0.05 mm.
SURFACE_ERROR_MM = 0.05
#: Share of the surface-error target given to the unit cell when choosing the grid step.
ERROR_BUDGET = 0.8
#: Share of the target the unit cell must meet with its vertices on the exact surface, before the
#: chord balance (:func:`.cell.choose_n`). Read off the measured unit cells: it keeps the skeletal
#: gyroid 65 % at 4 samples per cell (0.042 mm on the surface) and sends diamond-skeletal 50 % back
#: to 9 (0.045 mm at 8, whose pore throat measured 0.07 mm narrow on a 10 mm cube).
ON_SURFACE_BUDGET = 0.9
#: The same for strut lattices (see :func:`samples_per_cell`).
STRUT_ERROR_BUDGET = 0.4
#: Printable strut/wall limit (mm) when neither the parameters nor the material give one.
DEFAULT_MIN_WALL_MM = 0.3


def cell_size(params: LatticeParams) -> tuple[float, float, float]:
    """(cell, expected pore, thinnest wall) in mm for the parameters (calibrated ratios)."""
    ratios = calibration.ratios(params.type, params.porosity)
    cell = params.cell_mm if params.cell_mm is not None else params.pore_mm / ratios["pore"]
    return cell, ratios["pore"] * cell, ratios["wall"] * cell


def check_printable(params: LatticeParams, min_wall: float) -> tuple[float, float, float]:
    """Cell size, pore and wall; ParameterError if the thinnest wall is below ``min_wall``."""
    cell, pore, wall = cell_size(params)
    if wall < min_wall - 1e-9:
        ratios = calibration.ratios(params.type, params.porosity)
        need_pore = min_wall / ratios["wall"] * ratios["pore"]
        hint = (f"at porosity {params.porosity:.2f} pore_mm must be >= {need_pore:.2f} mm"
                + (" (above the 0.9 mm bound: lower the porosity or choose another type)" if need_pore > 0.9 else ""))
        what = f"cell_mm = {params.cell_mm}" if params.cell_mm is not None else f"pore_mm = {params.pore_mm}"
        raise ParameterError(
            f"lattice type = {params.type.value}, porosity = {params.porosity}, {what}: thinnest wall "
            f"{wall:.3f} mm is below the printable limit min_wall_mm = {min_wall} mm; {hint}")
    if pore > 0 and params.cell_mm is not None and not 0.3 - 1e-9 <= pore <= 0.9 + 1e-9:
        raise ParameterError(f"cell_mm = {params.cell_mm}: gives pore {pore:.3f} mm outside pore_mm 0.3 to 0.9 mm")
    return cell, pore, wall


def samples_per_cell(params: LatticeParams, cell: float) -> int:
    """Samples per cell side ``n`` of the fine grid: from ``voxel_mm`` when given, else the
    coarsest the unit cell allows (:func:`.cell.choose_n`) within the surface-error budget."""
    if params.voxel_mm:
        return max(4, int(round(cell / params.voxel_mm)))
    if params.type.is_tpms:
        return unitcell.choose_n(params.type, params.porosity, round(cell, 6), ERROR_BUDGET * SURFACE_ERROR_MM,
                                 on_surface_mm=ON_SURFACE_BUDGET * SURFACE_ERROR_MM)
    # strut lattices are convex almost everywhere: chords lose solid on every triangle,
    # so the porosity drifts up with the chord error (measured: bcc +4.6 points at n = 8);
    # a tighter error budget and a finer floor keep it within ~1 point
    return unitcell.choose_n(params.type, params.porosity, round(cell, 6), STRUT_ERROR_BUDGET * SURFACE_ERROR_MM,
                             n_min=12, n_max=16)


#: Rounds of :func:`meshed_cell` (cell size and samples per cell chosen in turn).
MESHED_CELL_ROUNDS = 3


def meshed_cell(params: LatticeParams, cell: float) -> tuple[float, int]:
    """(cell mm, samples per cell) of the zone from the calibrated ``cell`` (:func:`cell_size`).
    With ``cell_mm`` given, for strut lattices (iso value calibrated on the meshed cell) and for
    sheets (≥ 10 samples per cell; on the 10 mm cube their pores measured within 0.031 mm of
    0.5 mm, while a block measure of their two labyrinths depends on its phase and costs up to
    5 s): that cell and its :func:`samples_per_cell`. Skeletal TPMS with ``pore_mm``: the cell
    scaled so that the cell *as meshed* at those samples has the calibrated pore
    (:func:`.cell.meshed_pore_factor`): the coarse grids' chords narrow the throats (skeletal
    gyroid 65 % at 4 samples per cell by 4 %). The samples per cell follow the cell (the error
    budget is in mm), so the two are chosen in turn until the samples stop changing; where they
    alternate the finer grid is kept, which meets the budget at the smaller of the two cells."""
    n = samples_per_cell(params, cell)
    if params.cell_mm is not None or not params.type.is_tpms or params.type.is_sheet:
        return cell, n
    base, tried = cell, set()
    for _ in range(MESHED_CELL_ROUNDS):
        tried.add(n)
        cell = base / unitcell.meshed_pore_factor(params.type, params.porosity, n)
        needed = samples_per_cell(params, cell)
        if needed == n or (needed < n and needed in tried):
            return cell, n
        n = needed
    return cell, n


def apply_lattice(mesh: "trimesh.Trimesh", implant: "Implant", params: LatticeParams
                  ) -> tuple["trimesh.Trimesh", dict[str, Any]]:
    """Replace the body of ``mesh`` (the implant's tessellation) by a lattice zone.

    Returns the porous mesh and the measured figures (for the manifest)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    material = getattr(implant.params, "material", None)
    limit = params.min_wall_mm if params.min_wall_mm is not None else (
        material.min_wall_mm if material else DEFAULT_MIN_WALL_MM)
    cell, pore_expected, _ = check_printable(params, limit)
    kind = params.type

    body = to_manifold(np.asarray(mesh.vertices), np.asarray(mesh.faces))
    body_volume = body.volume()
    if body_volume <= 0:
        raise GeometryError("lattice: the body mesh has no volume")
    t1 = time.perf_counter()
    cell, n = meshed_cell(params, cell)
    timings["cell_s"] = time.perf_counter() - t1
    wall_expected = calibration.ratios(kind, params.porosity)["wall"] * cell
    uc = unitcell.unit_cell(kind, params.porosity, n)  # strut lattices: iso calibrated on the meshed cell at this n
    grid = zone_grids(np.asarray(body.bounding_box(), float), cell, n)
    keep = keep_field(body, mesh, implant, params, grid, timings, t0)
    verts, faces, placement = lattice_surface(uc, cell, grid, keep, body, timings)

    t1 = time.perf_counter()
    lattice = to_manifold(verts, faces, face_id=LATTICE_FACE_ID)
    n_lattice_tri = len(faces)
    del verts, faces
    timings["to_manifold_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    result = body ^ lattice
    result.num_tri()  # forces the lazy boolean
    del lattice
    timings["intersect_s"] = time.perf_counter() - t1
    porous = largest_body(result, timings)

    t1 = time.perf_counter()
    volumes = zone_volumes(body, body_volume, keep, grid, porous.volume_mm3)
    pores = pore_sizes(result, keep, grid, kind, placement.origin, cell,
                       cell * calibration.measure_voxel(kind, params.porosity))
    timings["measure_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    err = surface_error(porous, keep, grid, uc, placement.origin, cell)
    timings["output_s"] = time.perf_counter() - t1

    figures = {
        "type": kind.value, "zone": params.zone.value,
        "porosity_requested": params.porosity, "porosity_measured": round(float(volumes.porosity), 4),
        "pore_requested_mm": round(pore_expected if params.cell_mm else params.pore_mm, 4),
        "pore_measured_mm": round(pores.pore_mm, 4),
        "pore_definition": "throat: largest sphere passing through the pores (distance transform of a voxelised sample block)",
        "largest_inscribed_sphere_mm": round(pores.inscribed_mm, 4),
        "cell_mm": round(cell, 4), "iso": round(uc.iso, 5), "samples_per_cell": n,
        "lattice_phase_mm": [round(float(v), 4) for v in placement.phase * grid.h],
        "phase_solid_deviation": None if placement.phase_deviation is None else round(placement.phase_deviation, 4),
        "min_wall_calibrated_mm": round(wall_expected, 4), "wall_throat_measured_mm": round(pores.wall_mm, 4),
        "min_wall_limit_mm": limit, "skin_mm": params.skin_mm,
        "wall_mm": params.wall_mm if params.zone in (Zone.CORE, Zone.BEARING) else 0.0,
        "open_surfaces": keep.open_surfaces,
        "skin_features": keep.skin_features, "zone_volume_mm3": round(volumes.zone_mm3, 2),
        "lattice_volume_mm3": round(volumes.lattice_mm3, 2),
        "volume_mm3": round(porous.volume_mm3, 2), "voxel_mm": round(grid.h, 4), "sample_voxel_mm": round(pores.voxel_mm, 4),
        "surface_error_max_mm": round(float(err.max()), 4),
        "surface_error_p99_mm": round(float(np.quantile(err, 0.99)), 4),
        "surface_error_samples": int(len(err)),
        "unit_cell_surface_error_mm": round(uc.error * cell, 4),
        "vertices_snapped": placement.vertices_snapped, "lattice_triangles": n_lattice_tri,
        "degenerate_triangles_repaired": porous.repaired,
        "triangles": int(len(porous.mesh.faces)), "bodies": 1, "fragments_dropped": len(porous.fragments_mm3),
        "closed_cavities": porous.closed_cavities,
        "fragments_dropped_mm3": round(float(sum(porous.fragments_mm3)), 3),
        "step": "STEP holds the solid envelope; the lattice is only in STL/3MF/GLB",
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "time_s": round(time.perf_counter() - t0, 3),
    }
    return porous.mesh, figures
