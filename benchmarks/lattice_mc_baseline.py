"""The straightforward lattice, the side-by-side baseline of ``bench_lattice`` (issue 18): the
lattice field sampled on a plain grid over the body's bounding box, marching cubes (no tiling, no
snapping, no keep field), one manifold3d mesh boolean with the body and its largest part kept.

The grid step is chosen for the same surface error as the project's lattice
(:data:`implants.porous.lattice.SURFACE_ERROR_MM`, measured on two cells: the step shrinks by
steps of 0.85 until the marching-cubes vertices of the cell lie within it), so the two are
compared at equal accuracy.
"""

from __future__ import annotations

import time

import numpy as np

from implants.porous import cell as unitcell
from implants.porous import fields
from implants.porous.lattice import SURFACE_ERROR_MM, cell_size, samples_per_cell
from implants.porous.meshing import marching_cubes, to_manifold
from implants.porous.params import LatticeParams


def _field(kind, iso: float, cell: float, lo: np.ndarray, h: float, shape: tuple[int, ...]) -> np.ndarray:
    axes = [(lo[i] + h * np.arange(shape[i])) / cell for i in range(3)]
    return fields.solid_field(kind, fields.raw_grid(kind, *axes), iso)


def surface_error_at(kind, iso: float, cell: float, h: float) -> float:
    """Largest distance (mm) to the exact surface of the triangle centroids and edge midpoints of
    the marching cubes of a 2-cell block at step ``h`` (first order, the points the project's
    ``surface_error_max_mm`` samples)."""
    n = int(np.ceil(2 * cell / h)) + 1
    verts, faces = marching_cubes(_field(kind, iso, cell, np.zeros(3), h, (n,) * 3), np.zeros(3), h)
    tri = verts[faces]
    points = np.concatenate([tri.mean(axis=1), 0.5 * (tri[:, 0] + tri[:, 1])])
    return float((fields.surface_distance(kind, (points / cell).T, iso) * cell).max())


def step_for_error(kind, iso: float, cell: float, h: float, target: float = SURFACE_ERROR_MM) -> tuple[float, float]:
    """(step, error): the largest step ``h · 0.85^k`` whose error is within ``target``."""
    err = surface_error_at(kind, iso, cell, h)
    while err > target and h > cell / 64:
        h *= 0.85
        err = surface_error_at(kind, iso, cell, h)
    return h, err


def straightforward_lattice(vertices: np.ndarray, faces: np.ndarray, params: LatticeParams) -> dict:
    """Time (s) and size of the straightforward lattice of ``params`` in the body mesh, by step."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cell, _, _ = cell_size(params)
    n = samples_per_cell(params, cell)
    uc = unitcell.unit_cell(params.type, params.porosity, n)
    h, err = step_for_error(params.type, uc.iso, cell, cell / n)
    timings["choose_step_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    body = to_manifold(vertices, faces)
    lo_b, hi_b = np.asarray(body.bounding_box()[:3]), np.asarray(body.bounding_box()[3:])
    lo = lo_b - 2 * h
    shape = tuple(int(k) for k in np.ceil((hi_b + 2 * h - lo) / h).astype(int) + 1)
    field = _field(params.type, uc.iso, cell, lo, h, shape)
    field[[0, -1], :, :] = field[:, [0, -1], :] = field[:, :, [0, -1]] = 1.0
    timings["field_s"] = time.perf_counter() - t
    t = time.perf_counter()
    verts, tris = marching_cubes(field, lo, h)
    del field
    timings["marching_cubes_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lattice = to_manifold(verts, tris)
    n_tri = len(tris)
    del verts, tris
    timings["to_manifold_s"] = time.perf_counter() - t
    t = time.perf_counter()
    result = body ^ lattice
    result.num_tri()
    timings["intersect_s"] = time.perf_counter() - t
    t = time.perf_counter()
    parts = result.decompose()
    largest = max(parts, key=lambda p: p.volume())
    mesh = largest.to_mesh()
    timings["largest_body_s"] = time.perf_counter() - t
    return {"step_mm": round(h, 4), "unit_cell_error_mm": round(err, 4), "lattice_triangles": n_tri,
            "triangles": len(np.asarray(mesh.tri_verts)), "volume_mm3": round(largest.volume(), 2),
            "timings_s": {k: round(v, 3) for k, v in timings.items()}, "seconds": round(time.perf_counter() - t0, 3)}

