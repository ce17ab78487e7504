"""The keep field of a lattice zone (layer: porous): where the body stays solid.

On the coarse grid (:mod:`.grid`) a voxel image of the body (``Manifold.slice`` rasterised)
gives the signed depth below the outer surface (Euclidean distance transforms). With the
channel axes and the feature faces it makes the *keep* field (mm), negative where the body
stays solid: the outer wall of a core zone except where the nearest surface is open to bone
(``contact.*`` faces, graft-window walls), the skin around screw/guide/docking features, and
everything but the bearing layer for zone=bearing. Distances to faces come from distance
transforms of dense point samples of the faces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from ..errors import ParameterError
from .grid import ZoneGrids
from .measure import rasterise
from .params import LatticeParams, Zone

if TYPE_CHECKING:
    import manifold3d as m3d
    import trimesh

    from ..model import Implant

#: "Far" (mm): the keep value of nodes no rule forces solid, and the distance to an empty sample.
FAR_MM = np.float32(1e3)


@dataclass
class KeepField:
    """The coarse-grid fields of a zone (mm) and the features that shaped them."""

    keep: np.ndarray          # negative where the body stays solid
    signed: np.ndarray        # signed depth below the body's surface (> 0 inside)
    cut: np.ndarray           # > 0 beyond two coarse steps outside the body
    pure_node: np.ndarray     # nodes whose whole neighbourhood is pure lattice, inside the body
    open_surfaces: list[str] = field(default_factory=list)  # where the lattice runs out to the surface
    skin_features: list[str] = field(default_factory=list)  # features kept in a solid skin


def subdivision_points(tri: np.ndarray, n: int) -> np.ndarray:
    """Points of the barycentric grid with ``n`` steps per edge on each triangle of ``tri`` (T, 3, 3)."""
    u, w = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    mask = (u + w) <= 1
    bary = np.stack([1 - u[mask] - w[mask], u[mask], w[mask]], axis=1)
    return np.einsum("bk,tkj->tbj", bary, tri).reshape(-1, 3)


def _subdivisions(tri: np.ndarray, spacing: float) -> np.ndarray:
    """Steps per edge that bring each triangle's longest edge to ``spacing`` (at least 1)."""
    edge = np.max(np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2), axis=1)
    return np.maximum(1, np.ceil(edge / spacing).astype(int))


def face_points(faces: Any, spacing: float) -> np.ndarray:
    """Points on B-rep faces (tessellated finely, big triangles filled to ``spacing`` mm) for
    distance queries."""
    pts = []
    for face in faces:
        verts, tris = face.tessellate(spacing * 0.2, 0.2)
        v = np.array([(p.x, p.y, p.z) for p in verts])
        t = np.asarray(tris, dtype=np.int64)
        if len(t) == 0:
            continue
        tri = v[t]
        pts.append(v)
        k = _subdivisions(tri, spacing)
        for n in np.unique(k):
            sel = tri[k == n]
            pts.append(sel.mean(axis=1) if n <= 1 else subdivision_points(sel, n))
    return np.concatenate(pts) if pts else np.zeros((0, 3))


def window_wall_points(mesh: "trimesh.Trimesh", implant: "Implant", spacing: float) -> np.ndarray:
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
    k = _subdivisions(sel, spacing)
    for n in np.unique(k[k > 1]):
        pts.append(subdivision_points(sel[k == n], n))
    return np.concatenate(pts)


def _segment_distance(points: np.ndarray, a: np.ndarray, d: np.ndarray, length: float) -> np.ndarray:
    """Distance of points to the segment from ``a`` along the unit vector ``d`` for ``length``."""
    rel = points - a
    t = np.clip(rel @ d, 0.0, length)
    return np.linalg.norm(rel - t[:, None] * d, axis=1)


def distance_to_points(points: np.ndarray, lo: np.ndarray, hc: float, shape: tuple[int, ...]) -> np.ndarray:
    """Distance (mm) of the coarse grid nodes ``lo + i hc`` to a dense point sample of a surface
    (the nearest node holding a point, exact distance transform: error ≤ ~hc / 2)."""
    idx = np.rint((points - lo) / hc).astype(np.int64)
    ok = np.all((idx >= 0) & (idx < np.asarray(shape)), axis=1)
    mask = np.ones(shape, dtype=bool)
    mask[tuple(idx[ok].T)] = False
    if mask.all():
        return np.full(shape, FAR_MM)
    return ndimage.distance_transform_edt(mask).astype(np.float32) * np.float32(hc)


def keep_field(body: "m3d.Manifold", mesh: "trimesh.Trimesh", implant: "Implant", params: LatticeParams,
               grid: ZoneGrids, timings: dict[str, float], started: float) -> KeepField:
    """The keep field of the zone ``params.zone`` in the body (its manifold and mesh).

    Records ``keep_grid_s``, ``keep_open_s`` and ``keep_s`` in ``timings``, counted from
    ``started`` (``time.perf_counter()`` at the start of the lattice). ParameterError for
    zone=bearing on a type without ``contact.*`` surfaces."""
    lo, hc = grid.lo, grid.hc
    inside = rasterise(body, lo - 0.5 * hc, hc, grid.coarse_shape)
    depth = ndimage.distance_transform_edt(inside).astype(np.float32) * hc - 0.5 * hc      # > 0 inside
    outside_dist = ndimage.distance_transform_edt(~inside).astype(np.float32) * hc - 0.5 * hc
    signed = np.where(inside, depth, -outside_dist)        # signed depth below the surface
    del depth, outside_dist
    keep = np.full(inside.shape, FAR_MM, dtype=np.float32)
    near = np.flatnonzero(signed.ravel() > -2 * hc)
    pts = grid.coarse_nodes()[near]
    contact = [f for nm, f in implant.features.items() if nm.startswith("contact.") and f.faces]
    contact_pts: list[np.ndarray] = []
    open_names: list[str] = []
    timings["keep_grid_s"] = time.perf_counter() - started
    if params.zone in (Zone.CORE, Zone.BEARING):
        # solid outer wall, except where the nearest surface is open to bone (contact.* faces,
        # graft-window walls): there the lattice runs out to the surface
        contact_pts = [face_points(f.faces, hc * 0.5) for f in contact]
        open_pts = list(contact_pts)
        window_pts = window_wall_points(mesh, implant, hc * 0.5)
        if len(window_pts):
            open_pts.append(window_pts)
        open_names = [f.name for f in contact] + sorted(nm for nm in implant.features if nm.startswith("graft_window."))
        wall = signed.ravel()[near] - params.wall_mm
        if open_pts and params.wall_mm > 0:
            d_open = distance_to_points(np.concatenate(open_pts), lo, hc, keep.shape).ravel()[near]
            is_open = d_open <= np.maximum(signed.ravel()[near], 0.0) + 0.75 * hc
            wall[is_open] = FAR_MM
        keep.ravel()[near] = np.minimum(keep.ravel()[near], wall)
    timings["keep_open_s"] = time.perf_counter() - started - timings["keep_grid_s"]
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
            fp = face_points(feature.faces, hc * 0.5)
            dist = distance_to_points(fp, lo, hc, keep.shape).ravel()[near]
            keep.ravel()[near] = np.minimum(keep.ravel()[near], dist - params.skin_mm)
            skins.append(feature.name)
    if params.zone is Zone.BEARING:
        if not contact:
            raise ParameterError(f"zone = bearing: {implant.type_id} has no contact.* surfaces (use core or whole)")
        dist = distance_to_points(np.concatenate(contact_pts), lo, hc, keep.shape).ravel()[near]
        keep.ravel()[near] = np.minimum(keep.ravel()[near], params.bearing_depth_mm - dist)
    del pts
    cut = -signed - 2 * hc                                  # > 0 beyond 2 coarse steps outside the body
    # coarse nodes whose whole neighbourhood is pure lattice (no keep blend, inside the body):
    # keep jumps (open surface next to a wall) make single-node tests unreliable
    pure_node = (ndimage.minimum_filter(keep, size=3) > 2 * hc) & (ndimage.minimum_filter(signed, size=3) > 2 * hc)
    timings["keep_s"] = time.perf_counter() - started
    return KeepField(keep, signed, cut, pure_node, open_names, skins)
