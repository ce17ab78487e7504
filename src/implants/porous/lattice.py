"""Lattice zones on the mesh side: one meshed unit cell tiled over the zone + manifold3d booleans.

Pipeline of :func:`apply_lattice` (all lengths mm):

1. cell size from the requested pore (or cell) size and porosity through the measured
   calibration (:mod:`.calibration`); the thinnest wall is checked against the printable
   limit (``min_wall_mm`` or the material's) and a :class:`ParameterError` names the fields;
2. samples per cell ``n`` from the unit cell (:mod:`.cell`): the coarsest grid whose periodic
   marching cubes has the exact surface's topology and a snapped surface error within budget;
3. a coarse voxel image of the body (``Manifold.slice`` rasterised) gives the depth below the
   outer surface (Euclidean distance transform); with the channel axes and the contact faces it
   makes the *keep* field, negative where the body stays solid: the outer wall of a core zone
   except where the nearest surface is open to bone (``contact.*`` faces, graft-window walls),
   the skin around screw/guide/docking features, everything but the bearing layer for
   zone=bearing (distances to faces by distance transforms of rasterised face samples);
4. the fine grid is aligned to the cell lattice, so its field is the unit cell's field tiled
   (an index gather), combined with the keep field (``min``) and cut off just outside the
   body, then meshed once by marching cubes (scikit-image); pure-lattice vertices take the
   Newton snap computed once on the unit cell (a key lookup);
5. one manifold3d intersection with the body mesh keeps its exact outer surfaces; loose
   fragments cut off at the boundary are dropped (connected components of the triangle graph);
   the near-zero-area triangles the intersection leaves where the two surfaces cross within
   microns of each other's vertices are removed by edge collapses / flips (:mod:`.repair`);
6. porosity (1 − lattice volume / zone volume) and pore size (throat diameter from a
   distance transform of a voxelised sample block of the result, see :mod:`.measure`) are
   measured; the surface error is measured on a sample of the triangles that come from the
   lattice mesh (manifold3d provenance) away from blends.

The STEP export stays the solid envelope; only STL/3MF/GLB carry the lattice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GeometryError, ParameterError
from . import calibration, fields
from . import cell as unitcell
from .measure import percolation_diameter, rasterise
from .params import LatticeParams, LatticeType, Zone
from .repair import collapse_degenerate

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

#: Target surface error of the lattice (mm): the issue's 0.05 mm.
SURFACE_ERROR_MM = 0.05
#: Largest coarse-grid step for the keep field (mm): wall/skin boundaries follow it to ~¼ step.
COARSE_STEP_MM = 0.3
#: Fine grid step as a fraction of the thinnest wall: ≥ 2.5 samples across a wall keep
#: marching cubes from opening holes in it.
WALL_SAMPLES = 2.5
#: Fragments smaller than this fraction of the largest body are dropped (loose bits of
#: lattice cut off by the outer surface); larger extra bodies are an error.
FRAGMENT_FRACTION = 0.01
#: Snap lattice vertices onto the exact iso-surface after marching cubes.
PROJECT = True
#: Share of the surface-error target given to the unit cell when choosing the grid step.
ERROR_BUDGET = 0.8
#: The same for strut lattices (see apply_lattice).
STRUT_ERROR_BUDGET = 0.4
#: Lattices whose phase is chosen per zone (:func:`lattice_phase`). The solid fraction of a strut
#: lattice varies strongly from plane to plane (cubic at 50 %: 0.81 in a node plane, 0.25 mid-cell),
#: so where a zone ends inside a cell its porosity depends on where the cells are cut (measured,
#: 10 mm cube, 8.4 cells of cubic at 50 %: 0.461 with a cell corner at the origin).
PHASE_TYPES = (LatticeType.CUBIC, LatticeType.BCC)
#: Triangles sampled for the surface-error figure (the error is periodic: a sample suffices).
ERROR_SAMPLES = 100_000


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


def _distance_to_points(points: np.ndarray, lo: np.ndarray, hc: float, shape: tuple[int, ...]) -> np.ndarray:
    """Distance (mm) of the coarse grid nodes ``lo + i hc`` to a dense point sample of a surface
    (the nearest node holding a point, exact distance transform: error ≤ ~hc / 2)."""
    from scipy import ndimage

    idx = np.rint((points - lo) / hc).astype(np.int64)
    ok = np.all((idx >= 0) & (idx < np.asarray(shape)), axis=1)
    mask = np.ones(shape, dtype=bool)
    mask[tuple(idx[ok].T)] = False
    if mask.all():
        return np.full(shape, np.float32(1e3))
    return ndimage.distance_transform_edt(mask).astype(np.float32) * np.float32(hc)


def _window_wall_points(mesh: "trimesh.Trimesh", implant: "Implant", spacing: float) -> np.ndarray:
    """Points on the walls of the graft windows (body-mesh triangles around each
    ``graft_window.*`` axis whose outward normal is horizontal to the axis and faces it)."""
    windows = [f for n, f in implant.features.items() if n.startswith("graft_window.") and f.direction is not None]
    if not windows:
        return np.zeros((0, 3))
    verts = np.asarray(mesh.vertices)
    faces = np.asarray(mesh.faces)
    tri = verts[faces]
    centroid = tri.mean(axis=1)
    normal = np.asarray(mesh.face_normals)
    chosen = np.zeros(len(faces), dtype=bool)
    for w in windows:
        d = np.asarray(w.direction, float)
        rel = centroid - np.asarray(w.origin, float)
        radial = rel - np.outer(rel @ d, d)
        dist = np.linalg.norm(radial, axis=1)
        depth, width = w.info.get("depth_mm"), w.info.get("width_mm")
        reach = 0.5 * np.hypot(depth, width) + 0.2 if depth and width else np.inf
        towards = -np.einsum("ij,ij->i", normal, radial) > 0.5 * dist   # normal points at the axis
        chosen |= (np.abs(normal @ d) < 0.3) & towards & (dist <= reach)
    if not chosen.any():
        return np.zeros((0, 3))
    sel = tri[chosen]
    pts = [sel.reshape(-1, 3), sel.mean(axis=1)]
    edge = np.max(np.linalg.norm(sel - np.roll(sel, 1, axis=1), axis=2), axis=1)
    k = np.maximum(1, np.ceil(edge / spacing).astype(int))
    for n in np.unique(k[k > 1]):
        u, v = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
        mask = (u + v) <= 1
        bary = np.stack([1 - u[mask] - v[mask], u[mask], v[mask]], axis=1)
        pts.append(np.einsum("bk,tkj->tbj", bary, sel[k == n]).reshape(-1, 3))
    return np.concatenate(pts)


def apply_lattice(mesh: "trimesh.Trimesh", implant: "Implant", params: LatticeParams
                  ) -> tuple["trimesh.Trimesh", dict[str, Any]]:
    """Replace the body of ``mesh`` (the implant's tessellation) by a lattice zone.

    Returns the porous mesh and the measured figures (for the manifest)."""
    import trimesh
    from scipy import ndimage

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    material = getattr(implant.params, "material", None)
    limit = params.min_wall_mm if params.min_wall_mm is not None else (material.min_wall_mm if material else 0.3)
    cell, pore_expected, wall_expected = check_printable(params, limit)
    kind = params.type
    porosity = params.porosity

    body = _to_manifold(np.asarray(mesh.vertices), np.asarray(mesh.faces))
    body_volume = body.volume()
    if body_volume <= 0:
        raise GeometryError("lattice: the body mesh has no volume")

    # --- grids: the fine grid is aligned to the cell lattice (step cell / n) ----------------
    if params.voxel_mm:
        n = max(4, int(round(cell / params.voxel_mm)))
    else:
        if kind.is_tpms:
            n = unitcell.choose_n(kind, porosity, round(cell, 6), ERROR_BUDGET * SURFACE_ERROR_MM)
        else:
            # strut lattices are convex almost everywhere: chords lose solid on every triangle,
            # so the porosity drifts up with the chord error (measured: bcc +4.6 points at n = 8);
            # a tighter error budget and a finer floor keep it within ~1 point
            n = unitcell.choose_n(kind, porosity, round(cell, 6), STRUT_ERROR_BUDGET * SURFACE_ERROR_MM,
                                  n_min=12, n_max=16)
    uc = unitcell.unit_cell(kind, porosity, n)
    iso = uc.iso  # strut lattices: calibrated on the meshed unit cell at this n
    h = cell / n
    m = max(1, int(round(COARSE_STEP_MM / h)))
    hc = m * h
    bb = np.asarray(body.bounding_box(), float)
    lo_b, hi_b = bb[:3], bb[3:]
    pad = 3 * hc
    lo = np.floor((lo_b - pad) / cell) * cell          # a cell corner
    nc = np.ceil((hi_b + pad - lo) / hc).astype(int) + 1
    nf = (nc - 1) * m + 1
    shape_f = tuple(int(v) for v in nf)

    # --- coarse keep field (negative = forced solid) -----------------------------------
    inside = rasterise(body, lo - 0.5 * hc, hc, tuple(int(v) for v in nc))
    depth = ndimage.distance_transform_edt(inside).astype(np.float32) * hc - 0.5 * hc      # > 0 inside
    outside_dist = ndimage.distance_transform_edt(~inside).astype(np.float32) * hc - 0.5 * hc
    signed = np.where(inside, depth, -outside_dist)        # signed depth below the surface
    del depth, outside_dist
    big = np.float32(1e3)
    keep = np.full(inside.shape, big, dtype=np.float32)
    ax = [lo[i] + hc * np.arange(nc[i]) for i in range(3)]
    near = np.flatnonzero(signed.ravel() > -2 * hc)
    pts = np.stack(np.meshgrid(*ax, indexing="ij"), axis=-1).reshape(-1, 3)[near]
    open_names: list[str] = []
    timings["keep_grid_s"] = time.perf_counter() - t0
    if params.zone in (Zone.CORE, Zone.BEARING):
        # solid outer wall, except where the nearest surface is open to bone (contact.* faces,
        # graft-window walls): there the lattice runs out to the surface
        contact = [f for nm, f in implant.features.items() if nm.startswith("contact.") and f.faces]
        open_pts = [_face_points(f.faces, hc * 0.5) for f in contact]
        window_pts = _window_wall_points(mesh, implant, hc * 0.5)
        if len(window_pts):
            open_pts.append(window_pts)
        open_names = [f.name for f in contact] + sorted(nm for nm in implant.features if nm.startswith("graft_window."))
        wall = signed.ravel()[near] - params.wall_mm
        if open_pts and params.wall_mm > 0:
            d_open = _distance_to_points(np.concatenate(open_pts), lo, hc, keep.shape).ravel()[near]
            is_open = d_open <= np.maximum(signed.ravel()[near], 0.0) + 0.75 * hc
            wall[is_open] = big
        keep.ravel()[near] = np.minimum(keep.ravel()[near], wall)
    timings["keep_open_s"] = time.perf_counter() - t0 - timings["keep_grid_s"]
    skins = []
    for feature in implant.features.values():
        if feature.kind == "channel" and feature.diameter_mm and feature.direction is not None:
            d = np.asarray(feature.direction)
            length = (feature.length_mm or 1e3) + 2.0
            a = np.asarray(feature.origin) - d * 1.0
            dist = _segment_distance(pts, a, d, length) - (feature.diameter_mm / 2 + params.skin_mm)
            keep.ravel()[near] = np.minimum(keep.ravel()[near], dist)
            skins.append(feature.name)
        elif feature.kind == "surface" and feature.faces and feature.name.split(".")[0] in ("docking", "guide"):
            fp = _face_points(feature.faces, hc * 0.5)
            dist = _distance_to_points(fp, lo, hc, keep.shape).ravel()[near]
            keep.ravel()[near] = np.minimum(keep.ravel()[near], dist - params.skin_mm)
            skins.append(feature.name)
    if params.zone is Zone.BEARING:
        contact = [f for nm, f in implant.features.items() if nm.startswith("contact.") and f.faces]
        if not contact:
            raise ParameterError(f"zone = bearing: {implant.type_id} has no contact.* surfaces (use core or whole)")
        fp = np.concatenate([_face_points(f.faces, hc * 0.5) for f in contact])
        dist = _distance_to_points(fp, lo, hc, keep.shape).ravel()[near]
        keep.ravel()[near] = np.minimum(keep.ravel()[near], params.bearing_depth_mm - dist)
    del pts
    cut = -signed - 2 * hc                                  # > 0 beyond 2 coarse steps outside the body
    # coarse nodes whose whole neighbourhood is pure lattice (no keep blend, inside the body):
    # keep jumps (open surface next to a wall) make single-node tests unreliable
    pure_node = (ndimage.minimum_filter(keep, size=3) > 2 * hc) & (ndimage.minimum_filter(signed, size=3) > 2 * hc)
    timings["keep_s"] = time.perf_counter() - t0

    # --- fine lattice field: the unit cell's field tiled, one marching cubes --------------------
    t1 = time.perf_counter()
    cf = unitcell.cell_field(kind, iso, n)
    if kind.is_tpms:  # scale to roughly mm so that min/max with the keep field are balanced
        cf /= np.float32((2 * np.pi / cell) * (2 * iso if kind.is_sheet else 1.0) * 1.2)
    else:
        cf *= np.float32(cell)
    cf[cf == 0.0] = np.float32(1e-6)  # a sample exactly on the level gives coincident vertices
    keep_f = _upsample(keep, m, shape_f)
    phase, phase_dev = np.zeros(3, dtype=np.int64), None
    if kind in PHASE_TYPES:
        t2 = time.perf_counter()
        zone_f = rasterise(body, lo - 0.5 * h, h, shape_f)
        zone_f &= keep_f > 0
        phase, phase_dev = lattice_phase(zone_f, cf < 0)
        del zone_f
        timings["phase_s"] = time.perf_counter() - t2
    origin = lo - phase * h                                  # a cell corner of the (shifted) lattice
    field = cf[np.ix_(*((np.arange(k) + phase[a]) % n for a, k in enumerate(shape_f)))]
    np.minimum(field, keep_f, out=field)
    del keep_f
    np.maximum(field, _upsample(cut, m, shape_f), out=field)
    field[[0, -1], :, :] = field[:, [0, -1], :] = field[:, :, [0, -1]] = 1.0
    timings["field_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    verts, faces = _marching_cubes(field, lo, h)
    del field
    timings["marching_cubes_s"] = time.perf_counter() - t1

    # --- snap pure-lattice vertices onto the exact surface (looked up on the unit cell) ------
    t1 = time.perf_counter()
    ci = np.clip(np.rint((verts - lo) / hc).astype(np.int64), 0, np.asarray(keep.shape) - 1)
    flat = np.ravel_multi_index(ci.T, keep.shape)
    pure = np.flatnonzero(pure_node.ravel()[flat])
    del ci, flat
    if PROJECT:
        sub = verts[pure]
        snapped = uc.snap(sub, origin, cell)
        verts[pure] = sub
    else:
        snapped = 0
    timings["project_s"] = time.perf_counter() - t1

    # --- booleans --------------------------------------------------------------------------
    import manifold3d as m3d

    t1 = time.perf_counter()
    lattice = _to_manifold(verts, faces).as_original()
    lattice_id = lattice.original_id()
    n_lattice_tri = len(faces)
    del verts, faces
    timings["to_manifold_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    result = body ^ lattice
    result.num_tri()  # forces the lazy boolean
    del lattice
    timings["intersect_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    fm = result.to_mesh()
    vout = np.asarray(fm.vert_properties)[:, :3].astype(np.float64)
    fout = np.asarray(fm.tri_verts, dtype=np.int64)
    # bodies by connected components of the triangle graph (cheaper than Manifold.decompose);
    # negative ones are closed pore cavities of the body (sealed by a wall skin), not bodies
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nv = len(vout)
    graph = coo_matrix((np.ones(2 * len(fout), dtype=np.int8),
                        (np.concatenate([fout[:, 0], fout[:, 1]]), np.concatenate([fout[:, 1], fout[:, 2]]))),
                       shape=(nv, nv))
    n_comp, label = connected_components(graph, directed=False)
    del graph
    tri_label = label[fout[:, 0]]
    tri = vout[fout]
    tri_vol = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    del tri
    volumes = np.bincount(tri_label, weights=tri_vol, minlength=n_comp)
    cavities = int((volumes < 0).sum())
    positive = np.flatnonzero(volumes > 0)
    main = positive[np.argmax(volumes[positive])]
    small = [int(i) for i in positive if i != main]
    dropped = [float(volumes[i]) for i in small]
    if dropped and max(dropped) > FRAGMENT_FRACTION * volumes[main]:
        raise GeometryError(f"lattice split the body into {len(positive)} parts (largest extra {max(dropped):.1f} mm³)")
    keep_tri = ~np.isin(tri_label, small) if small else np.ones(len(fout), dtype=bool)
    final_volume = float(tri_vol[keep_tri].sum())
    from_lattice = np.zeros(len(fout), dtype=bool)
    runs = np.asarray(fm.run_index, dtype=np.int64) // 3
    for k, rid in enumerate(np.asarray(fm.run_original_id)):
        if rid == lattice_id:
            from_lattice[runs[k]:runs[k + 1]] = True
    del fm
    fout, from_lattice = fout[keep_tri], from_lattice[keep_tri]
    # the intersection leaves needles and specks (1e-11 mm²) where the lattice crosses the
    # body's surface next to its vertices/edges: collapse or flip them (same coordinates)
    t2 = time.perf_counter()
    fout, kept, repaired = collapse_degenerate(vout, fout)
    from_lattice = from_lattice[kept]
    timings["repair_s"] = time.perf_counter() - t2
    used = np.zeros(nv, dtype=bool)
    used[fout.ravel()] = True
    remap = np.cumsum(used) - 1
    out = trimesh.Trimesh(vertices=vout[used], faces=remap[fout], process=False, validate=False)
    timings["fragments_s"] = time.perf_counter() - t1

    # --- measure -------------------------------------------------------------------------------
    t1 = time.perf_counter()
    forced_field = np.maximum(keep, cut)
    if np.any(forced_field < 0):
        kverts, kfaces = _marching_cubes(forced_field, lo, hc)
        forced = (body ^ _to_manifold(kverts, kfaces)).volume()
    else:
        forced = 0.0
    del forced_field
    zone_volume = body_volume - forced
    lattice_volume = final_volume - forced
    porosity_measured = 1.0 - lattice_volume / zone_volume if zone_volume > 0 else float("nan")

    # pore size on a sample block of the final mesh centred where the zone is deepest
    zone_depth = np.minimum(keep, signed)
    centre_idx = np.unravel_index(np.argmax(zone_depth), zone_depth.shape)
    centre = lo + hc * np.asarray(centre_idx)
    if kind in PHASE_TYPES:
        # on a node of the shifted lattice (as the calibration's cell-aligned blocks): a block
        # face that cuts the struts at an arbitrary phase lets a sphere run along the cut struts
        centre = origin + np.rint((centre - origin) / cell) * cell
    half = min(1.25 * cell, max(float(zone_depth.max()), 0.5 * cell))
    hm = min(pore_expected / 16.0, cell / 24.0)
    nb = int(np.ceil(2 * half / hm))
    blo = centre - half
    # (the pore block is cut from the boolean result: dropped fragments lie at the surface, not here)
    block = result ^ m3d.Manifold.cube((nb * hm,) * 3).translate(tuple(blo))
    solid_img = rasterise(block, blo, hm, (nb, nb, nb))
    pore_measured, inscribed = percolation_diameter(~solid_img, hm)
    wall_measured, _ = percolation_diameter(solid_img, hm)
    timings["measure_s"] = time.perf_counter() - t1

    # the surface error of the lattice on a sample of triangles that come from the lattice
    # mesh (manifold3d keeps their provenance) ...
    t1 = time.perf_counter()
    # ... whose three vertices lie in the pure lattice: nearest coarse node away from the forced
    # solid and from the body's surface (wall/skin blends and the cut at the surface are not lattice)
    ci = np.clip(np.rint((out.vertices - lo) / hc).astype(np.int64), 0, np.asarray(keep.shape) - 1)
    flat = np.ravel_multi_index(ci.T, keep.shape)
    pure_v = pure_node.ravel()[flat]
    del ci, flat
    candidates = np.flatnonzero(from_lattice & pure_v[out.faces].all(axis=1))
    rng = np.random.default_rng(0)
    sample = rng.choice(candidates, size=min(len(candidates), ERROR_SAMPLES), replace=False)
    tri = out.vertices[out.faces[sample]]
    samples = np.concatenate([tri.mean(axis=1), 0.5 * (tri[:, 0] + tri[:, 1])])
    err = fields.surface_distance(kind, (samples - origin).T / cell, iso) * cell
    if len(err) == 0:
        err = np.zeros(1)
    timings["output_s"] = time.perf_counter() - t1

    figures = {
        "type": kind.value, "zone": params.zone.value,
        "porosity_requested": porosity, "porosity_measured": round(float(porosity_measured), 4),
        "pore_requested_mm": round(pore_expected if params.cell_mm else params.pore_mm, 4),
        "pore_measured_mm": round(pore_measured, 4),
        "pore_definition": "throat: largest sphere passing through the pores (distance transform of a voxelised sample block)",
        "largest_inscribed_sphere_mm": round(inscribed, 4),
        "cell_mm": round(cell, 4), "iso": round(iso, 5), "samples_per_cell": n,
        "lattice_phase_mm": [round(float(v), 4) for v in phase * h],
        "phase_solid_deviation": None if phase_dev is None else round(phase_dev, 4),
        "min_wall_calibrated_mm": round(wall_expected, 4), "wall_throat_measured_mm": round(wall_measured, 4),
        "min_wall_limit_mm": limit, "skin_mm": params.skin_mm,
        "wall_mm": params.wall_mm if params.zone in (Zone.CORE, Zone.BEARING) else 0.0,
        "open_surfaces": open_names,
        "skin_features": skins, "zone_volume_mm3": round(zone_volume, 2), "lattice_volume_mm3": round(lattice_volume, 2),
        "volume_mm3": round(final_volume, 2), "voxel_mm": round(h, 4), "sample_voxel_mm": round(hm, 4),
        "surface_error_max_mm": round(float(err.max()), 4),
        "surface_error_p99_mm": round(float(np.quantile(err, 0.99)), 4),
        "surface_error_samples": int(len(err)),
        "unit_cell_surface_error_mm": round(uc.error * cell, 4),
        "vertices_snapped": snapped, "lattice_triangles": n_lattice_tri,
        "degenerate_triangles_repaired": repaired,
        "triangles": int(len(out.faces)), "bodies": 1, "fragments_dropped": len(dropped), "closed_cavities": cavities,
        "fragments_dropped_mm3": round(float(sum(dropped)), 3),
        "step": "STEP holds the solid envelope; the lattice is only in STL/3MF/GLB",
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "time_s": round(time.perf_counter() - t0, 3),
    }
    return out, figures
