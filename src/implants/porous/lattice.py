"""Lattice zones on the mesh side: marching cubes of a vectorised field + manifold3d booleans.

Pipeline of :func:`apply_lattice` (all lengths mm):

1. cell size from the requested pore (or cell) size and porosity through the measured
   calibration (:mod:`.calibration`); the thinnest wall is checked against the printable
   limit (``min_wall_mm`` or the material's) and a :class:`ParameterError` names the fields;
2. a coarse voxel image of the body (``Manifold.slice`` rasterised) gives the depth below the
   outer surface (Euclidean distance transform); with the channel axes and the contact faces it
   makes the *keep* field, negative where the body stays solid (outer wall of a core zone, skin
   around screw/guide/docking features, everything but the bearing layer for zone=bearing);
3. the lattice field (separable sines for TPMS, distances to strut axes) is evaluated on a
   fine grid spanning the body's bounding box only, combined with the keep field
   (``min``) and cut off just outside the body, then meshed once by marching cubes
   (scikit-image); vertices on the lattice surface take two Newton steps onto the exact
   iso-surface;
4. one manifold3d intersection with the body mesh keeps its exact outer surfaces; loose
   fragments cut off at the boundary are dropped (counted in the figures);
5. porosity (1 − lattice volume / zone volume) and pore size (throat diameter from a
   distance transform of a voxelised sample block of the final mesh, see :mod:`.measure`)
   are measured on the result.

The STEP export stays the solid envelope; only STL/3MF/GLB carry the lattice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GeometryError, ParameterError
from . import calibration, fields
from .measure import percolation_diameter, rasterise
from .params import LatticeParams, LatticeType, Zone

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

#: Target surface error of the lattice (mm): the issue's 0.05 mm.
SURFACE_ERROR_MM = 0.05
#: Largest coarse-grid step for the keep field (mm): wall/skin boundaries follow it to ~¼ step.
COARSE_STEP_MM = 0.25
#: Fine grid step as a fraction of the thinnest wall: ≥ 2.5 samples across a wall keep
#: marching cubes from opening holes in it.
WALL_SAMPLES = 2.5
#: Fragments smaller than this fraction of the largest body are dropped (loose bits of
#: lattice cut off by the outer surface); larger extra bodies are an error.
FRAGMENT_FRACTION = 0.01
#: Snap lattice vertices onto the exact iso-surface after marching cubes.
PROJECT = True


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


def _upsample(coarse: np.ndarray, m: int, shape: tuple[int, int, int]) -> np.ndarray:
    """Trilinear refinement of a grid by an integer factor (shared first sample)."""
    out = coarse
    for axis, n in enumerate(shape):
        i = np.arange(n)
        k = np.minimum(i // m, out.shape[axis] - 2)
        w = ((i - k * m) / m).astype(np.float32)
        a = np.take(out, k, axis=axis)
        b = np.take(out, k + 1, axis=axis)
        wshape = [1, 1, 1]
        wshape[axis] = n
        w = w.reshape(wshape)
        out = a + (b - a) * w
    return out.astype(np.float32, copy=False)


def _segment_distance(points: np.ndarray, a: np.ndarray, d: np.ndarray, length: float) -> np.ndarray:
    rel = points - a
    t = np.clip(rel @ d, 0.0, length)
    return np.linalg.norm(rel - t[:, None] * d, axis=1)


def _face_points(faces: Any, spacing: float) -> np.ndarray:
    """Points on B-rep faces (tessellated finely) for distance queries."""
    pts = []
    for face in faces:
        verts, tris = face.tessellate(spacing * 0.2, 0.2)
        v = np.array([(p.x, p.y, p.z) for p in verts])
        t = np.asarray(tris, dtype=np.int64)
        if len(t) == 0:
            continue
        tri = v[t]
        pts.append(v)
        # add points inside big triangles until the spacing is met
        edge = np.max(np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2), axis=1)
        k = np.maximum(1, np.ceil(edge / spacing).astype(int))
        for n in np.unique(k):
            sel = tri[k == n]
            if n <= 1:
                pts.append(sel.mean(axis=1))
                continue
            u, w = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
            mask = (u + w) <= 1
            bary = np.stack([1 - u[mask] - w[mask], u[mask], w[mask]], axis=1)
            pts.append(np.einsum("bk,tkj->tbj", bary, sel).reshape(-1, 3))
    return np.concatenate(pts) if pts else np.zeros((0, 3))


def _to_manifold(vertices: np.ndarray, faces: np.ndarray):
    import manifold3d as m3d

    mesh = m3d.Mesh(vert_properties=np.ascontiguousarray(vertices, dtype=np.float32),
                    tri_verts=np.ascontiguousarray(faces, dtype=np.uint32))
    man = m3d.Manifold(mesh)
    if man.status() != m3d.Error.NoError:
        raise GeometryError(f"lattice: manifold3d rejected a mesh ({man.status()})")
    return man


def _from_manifold(man) -> "trimesh.Trimesh":
    import trimesh

    mesh = man.to_mesh()
    return trimesh.Trimesh(vertices=np.asarray(mesh.vert_properties)[:, :3].astype(np.float64),
                           faces=np.asarray(mesh.tri_verts, dtype=np.int64), process=False)


def _marching_cubes(field: np.ndarray, origin: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    from skimage.measure import marching_cubes

    # a sample exactly on the level gives several coincident vertices (and open edges)
    field[field == 0.0] = np.float32(1e-6)
    verts, faces, _, _ = marching_cubes(field, level=0.0, spacing=(h, h, h), allow_degenerate=True)  # dropping them opens holes
    verts = verts.astype(np.float64) + origin
    # skimage orients triangles towards increasing field values; our solid is the negative
    # side, so the outward normal points to increasing values — check and flip if needed
    tri = verts[faces]
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0
    if signed < 0:
        faces = faces[:, ::-1]
    return verts, np.ascontiguousarray(faces)


def apply_lattice(mesh: "trimesh.Trimesh", implant: "Implant", params: LatticeParams
                  ) -> tuple["trimesh.Trimesh", dict[str, Any]]:
    """Replace the body of ``mesh`` (the implant's tessellation) by a lattice zone.

    Returns the porous mesh and the measured figures (for the manifest)."""
    from scipy import ndimage

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    material = getattr(implant.params, "material", None)
    limit = params.min_wall_mm if params.min_wall_mm is not None else (material.min_wall_mm if material else 0.3)
    cell, pore_expected, wall_expected = check_printable(params, limit)
    kind = params.type
    porosity = params.porosity
    iso = calibration.iso_for(kind, porosity)

    body = _to_manifold(np.asarray(mesh.vertices), np.asarray(mesh.faces))
    body_volume = body.volume()
    if body_volume <= 0:
        raise GeometryError("lattice: the body mesh has no volume")

    # --- grids -----------------------------------------------------------------------
    h = params.voxel_mm or min(wall_expected / WALL_SAMPLES, cell / 8.0,
                               0.2 * np.sqrt(cell))  # chord error h²κ/8 ≤ 0.05 with κ ≈ 2.5·2π/L
    m = max(1, int(np.floor(COARSE_STEP_MM / h)))
    hc = m * h
    lo_b, hi_b = (np.asarray(b, float) for b in body.bounding_box()[:3]), None
    bb = np.asarray(body.bounding_box(), float)
    lo_b, hi_b = bb[:3], bb[3:]
    pad = 3 * hc
    lo = lo_b - pad
    nc = np.ceil((hi_b + pad - lo) / hc).astype(int) + 1
    nf = (nc - 1) * m + 1
    shape_f = tuple(int(v) for v in nf)

    # --- coarse keep field (negative = forced solid) -----------------------------------
    inside = rasterise(body, lo - 0.5 * hc, hc, tuple(int(v) for v in nc))
    depth = ndimage.distance_transform_edt(inside).astype(np.float32) * hc - 0.5 * hc      # > 0 inside
    outside_dist = ndimage.distance_transform_edt(~inside).astype(np.float32) * hc - 0.5 * hc
    signed = np.where(inside, depth, -outside_dist)        # signed depth below the surface
    big = np.float32(1e3)
    keep = np.full(inside.shape, big, dtype=np.float32)
    if params.zone is Zone.CORE:
        keep = np.minimum(keep, signed - params.wall_mm)
    ax = [lo[i] + hc * np.arange(nc[i]) for i in range(3)]
    gx, gy, gz = np.meshgrid(*ax, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
    near = (signed.ravel() > -2 * hc)
    skins = []
    for feature in implant.features.values():
        if feature.kind == "channel" and feature.diameter_mm and feature.direction is not None:
            d = np.asarray(feature.direction)
            length = (feature.length_mm or 1e3) + 2.0
            a = np.asarray(feature.origin) - d * 1.0
            dist = np.full(len(pts), big, dtype=np.float32)
            dist[near] = _segment_distance(pts[near], a, d, length)
            keep = np.minimum(keep, (dist - (feature.diameter_mm / 2 + params.skin_mm)).reshape(keep.shape))
            skins.append(feature.name)
        elif feature.kind == "surface" and feature.faces and feature.name.split(".")[0] in ("docking", "guide"):
            from scipy.spatial import cKDTree

            fp = _face_points(feature.faces, hc * 0.5)
            dist = np.full(len(pts), big, dtype=np.float32)
            dist[near] = cKDTree(fp).query(pts[near], distance_upper_bound=params.skin_mm + 2 * hc)[0]
            dist[~np.isfinite(dist)] = big
            keep = np.minimum(keep, (dist - params.skin_mm).reshape(keep.shape))
            skins.append(feature.name)
    if params.zone is Zone.BEARING:
        from scipy.spatial import cKDTree

        contact = [f for n, f in implant.features.items() if n.startswith("contact.") and f.faces]
        if not contact:
            raise ParameterError(f"zone = bearing: {implant.type_id} has no contact.* surfaces (use core or whole)")
        fp = np.concatenate([_face_points(f.faces, hc * 0.5) for f in contact])
        sel = near & (signed.ravel() < params.bearing_depth_mm + 2 * hc)
        dist = np.full(len(pts), big, dtype=np.float32)
        dist[sel] = cKDTree(fp).query(pts[sel], distance_upper_bound=params.bearing_depth_mm + 2 * hc)[0]
        dist[~np.isfinite(dist)] = big
        keep = np.minimum(keep, (params.bearing_depth_mm - dist).reshape(keep.shape))
    del gx, gy, gz, pts
    cut = -signed - 2 * hc                                  # > 0 beyond 2 coarse steps outside the body
    timings["keep_s"] = time.perf_counter() - t0

    # --- fine lattice field, one marching cubes ------------------------------------------
    t1 = time.perf_counter()
    axes = [(lo[i] + h * np.arange(shape_f[i])) / cell for i in range(3)]
    field = fields.solid_field(kind, fields.raw_grid(kind, *axes), iso)
    if kind.is_tpms:  # scale to roughly mm so that min/max with the keep field are balanced
        grad_scale = np.float32((2 * np.pi / cell) * (2 * iso if kind.is_sheet else 1.0) * 1.2)
        field /= grad_scale
    else:
        field *= np.float32(cell)
    np.minimum(field, _upsample(keep, m, shape_f), out=field)
    np.maximum(field, _upsample(cut, m, shape_f), out=field)
    field[[0, -1], :, :] = field[:, [0, -1], :] = field[:, :, [0, -1]] = 1.0
    timings["field_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    verts, faces = _marching_cubes(field, lo, h)
    del field
    timings["marching_cubes_s"] = time.perf_counter() - t1

    # --- snap lattice vertices onto the exact surface -------------------------------------
    t1 = time.perf_counter()
    coords = ((verts - lo) / hc).T
    keep_v = ndimage.map_coordinates(keep, coords, order=1, mode="nearest")
    cut_v = ndimage.map_coordinates(cut, coords, order=1, mode="nearest")
    on_lattice = (keep_v > 1.5 * h) & (cut_v < -1.5 * h)
    p = verts[on_lattice].T / cell
    if PROJECT:
        verts[on_lattice] = (fields.project(kind, p, iso, steps=3, max_step=0.5 * h / cell) * cell).T
    timings["project_s"] = time.perf_counter() - t1

    # --- booleans --------------------------------------------------------------------------
    import manifold3d as m3d

    t1 = time.perf_counter()
    lattice = _to_manifold(verts, faces)
    timings["to_manifold_s"] = time.perf_counter() - t1
    result = body ^ lattice
    result.num_tri()  # forces the lazy boolean
    timings["intersect_s"] = time.perf_counter() - t1
    pieces = result.decompose()
    volumes = np.array([pc.volume() for pc in pieces])
    # negative pieces are closed pore cavities of the body (sealed by a wall skin), not bodies
    cavities = int((volumes < 0).sum())
    positive = np.flatnonzero(volumes > 0)
    main = positive[np.argmax(volumes[positive])]
    small = [i for i in positive if i != main]
    dropped = [float(volumes[i]) for i in small]
    if dropped and max(dropped) > FRAGMENT_FRACTION * volumes[main]:
        raise GeometryError(f"lattice split the body into {len(positive)} parts (largest extra {max(dropped):.1f} mm³)")
    final = result - m3d.Manifold.compose([pieces[i] for i in small]) if small else result
    timings["boolean_s"] = time.perf_counter() - t1

    # --- measure -------------------------------------------------------------------------------
    t1 = time.perf_counter()
    final_volume = final.volume()
    kverts, kfaces = _marching_cubes(np.maximum(keep, cut), lo, hc) if np.any(np.maximum(keep, cut) < 0) else (None, None)
    forced = (body ^ _to_manifold(kverts, kfaces)).volume() if kverts is not None else 0.0
    zone_volume = body_volume - forced
    lattice_volume = final_volume - forced
    porosity_measured = 1.0 - lattice_volume / zone_volume if zone_volume > 0 else float("nan")

    # pore size on a sample block of the final mesh centred where the zone is deepest
    zone_depth = np.minimum(keep, signed)
    centre_idx = np.unravel_index(np.argmax(zone_depth), zone_depth.shape)
    centre = lo + hc * np.asarray(centre_idx)
    half = min(1.25 * cell, max(float(zone_depth.max()), 0.5 * cell))
    hm = min(pore_expected / 16.0, cell / 24.0)
    nb = int(np.ceil(2 * half / hm))
    blo = centre - half
    block = final ^ m3d.Manifold.cube((nb * hm,) * 3).translate(tuple(blo))
    solid_img = rasterise(block, blo, hm, (nb, nb, nb))
    pore_measured, inscribed = percolation_diameter(~solid_img, hm)
    wall_measured, _ = percolation_diameter(solid_img, hm)
    timings["measure_s"] = time.perf_counter() - t1

    # surface error of the lattice triangles (centroids and edge midpoints, mm)
    out = _from_manifold(final)
    tri = out.vertices[out.faces]
    samples = np.concatenate([tri.mean(axis=1), 0.5 * (tri[:, 0] + tri[:, 1])])
    s_coords = ((samples - lo) / hc).T
    s_keep = ndimage.map_coordinates(keep, s_coords, order=1, mode="nearest")
    s_cut = ndimage.map_coordinates(cut, s_coords, order=1, mode="nearest")
    lattice_samples = samples[(s_keep > 2 * hc) & (s_cut < -2 * hc)]
    lattice_samples = lattice_samples[fields.surface_distance(kind, lattice_samples.T / cell, iso) * cell < 2 * h]
    err = fields.surface_distance(kind, lattice_samples.T / cell, iso) * cell if len(lattice_samples) else np.zeros(1)

    figures = {
        "type": kind.value, "zone": params.zone.value,
        "porosity_requested": porosity, "porosity_measured": round(float(porosity_measured), 4),
        "pore_requested_mm": round(pore_expected if params.cell_mm else params.pore_mm, 4),
        "pore_measured_mm": round(pore_measured, 4),
        "pore_definition": "throat: largest sphere passing through the pores (distance transform of a voxelised sample block)",
        "largest_inscribed_sphere_mm": round(inscribed, 4),
        "cell_mm": round(cell, 4), "iso": round(iso, 5),
        "min_wall_calibrated_mm": round(wall_expected, 4), "wall_throat_measured_mm": round(wall_measured, 4),
        "min_wall_limit_mm": limit, "skin_mm": params.skin_mm, "wall_mm": params.wall_mm if params.zone is Zone.CORE else 0.0,
        "skin_features": skins, "zone_volume_mm3": round(zone_volume, 2), "lattice_volume_mm3": round(lattice_volume, 2),
        "volume_mm3": round(final_volume, 2), "voxel_mm": round(h, 4), "sample_voxel_mm": round(hm, 4),
        "surface_error_max_mm": round(float(err.max()), 4),
        "surface_error_p99_mm": round(float(np.quantile(err, 0.99)), 4),
        "triangles": int(len(out.faces)), "bodies": 1, "fragments_dropped": len(dropped), "closed_cavities": cavities,
        "fragments_dropped_mm3": round(float(sum(dropped)), 3),
        "step": "STEP holds the solid envelope; the lattice is only in STL/3MF/GLB",
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "time_s": round(time.perf_counter() - t0, 3),
    }
    return out, figures
