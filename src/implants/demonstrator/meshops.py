"""Small mesh helpers for the demonstrator (layer: demonstrator): manifold3d booleans on trimesh meshes,
cylinders, ray hits, print orientation by least overhang. Millimetres; +z is up (the print's up once
oriented)."""

from __future__ import annotations

import math
from typing import Iterable

import manifold3d
import numpy as np
import trimesh

from ..errors import GeometryError

#: Overhang limit: a downward-facing facet steeper than this from the vertical needs support.
OVERHANG_DEG = 45.0
#: Facets this close to the bed (mm) rest on it and need no support.
BED_CONTACT_MM = 0.3


def to_manifold(mesh: trimesh.Trimesh) -> manifold3d.Manifold:
    """``mesh`` as a manifold3d solid; GeometryError when it is not closed."""
    solid = manifold3d.Manifold(manifold3d.Mesh64(vert_properties=np.ascontiguousarray(mesh.vertices, np.float64),
                                                  tri_verts=np.ascontiguousarray(mesh.faces, np.uint64)))
    if solid.status() != manifold3d.Error.NoError:
        raise GeometryError(f"mesh is not a closed manifold ({solid.status().name})")
    return solid


def from_manifold(solid: manifold3d.Manifold) -> trimesh.Trimesh:
    """A manifold3d solid as a (processed) trimesh mesh."""
    out = solid.to_mesh64() if hasattr(solid, "to_mesh64") else solid.to_mesh()
    return trimesh.Trimesh(np.asarray(out.vert_properties)[:, :3].astype(float), np.asarray(out.tri_verts, np.int64),
                           process=True)


def boolean(base: trimesh.Trimesh, add: Iterable[trimesh.Trimesh] = (),
            cut: Iterable[trimesh.Trimesh] = ()) -> trimesh.Trimesh:
    """``base`` ∪ ``add`` − ``cut`` with manifold3d."""
    solid = to_manifold(base)
    adds = [to_manifold(m) for m in add]
    if adds:
        solid = manifold3d.Manifold.batch_boolean([solid, *adds], manifold3d.OpType.Add)
    cuts = [to_manifold(m) for m in cut]
    if cuts:
        solid = solid - manifold3d.Manifold.batch_boolean(cuts, manifold3d.OpType.Add)
    return from_manifold(solid)


def largest_body(mesh: trimesh.Trimesh) -> tuple[trimesh.Trimesh, int]:
    """The largest body of ``mesh`` by volume and how many bodies were dropped."""
    bodies = to_manifold(mesh).decompose()
    if len(bodies) <= 1:
        return mesh, 0
    best = max(bodies, key=lambda b: b.volume())
    return from_manifold(best), len(bodies) - 1


def union(meshes: Iterable[trimesh.Trimesh]) -> manifold3d.Manifold:
    """The union of ``meshes`` as one manifold3d solid."""
    return manifold3d.Manifold.batch_boolean([to_manifold(m) for m in meshes], manifold3d.OpType.Add)


def rod(radius: float, start, end, sections: int = 32) -> trimesh.Trimesh:
    """A cylinder of ``radius`` (mm) whose axis runs from point ``start`` to point ``end``."""
    return trimesh.creation.cylinder(radius=radius, segment=[start, end], sections=sections)


def cylinder(radius: float, z0: float, z1: float, x: float = 0.0, y: float = 0.0,
             sections: int = 32) -> trimesh.Trimesh:
    """A vertical cylinder of ``radius`` (mm) on the axis (``x``, ``y``) from z = ``z0`` to ``z1``."""
    return rod(radius, (x, y, z0), (x, y, z1), sections)


def line_hits(mesh: trimesh.Trimesh, origins: np.ndarray, direction) -> list[np.ndarray]:
    """Sorted distances along the unit ``direction`` of the crossings of rays from ``origins`` with ``mesh``."""
    origins = np.asarray(origins, float).reshape(-1, 3)
    out: list[np.ndarray] = [np.empty(0) for _ in range(len(origins))]
    if not len(origins):
        return out
    directions = np.tile(np.asarray(direction, float), (len(origins), 1))
    locations, ray_index, _ = mesh.ray.intersects_location(origins, directions, multiple_hits=True)
    if len(ray_index):
        t = np.einsum("ij,ij->i", locations - origins[ray_index], directions[ray_index])
        order = np.lexsort((t, ray_index))
        ray_index, t = ray_index[order], t[order]
        bounds = np.searchsorted(ray_index, np.arange(len(origins) + 1))
        for k in range(len(origins)):
            ts = t[bounds[k]:bounds[k + 1]]
            if len(ts):
                keep = np.concatenate([[True], np.diff(ts) > 1e-6])  # an edge hit counts once
                out[k] = ts[keep]
    return out


def vertical_hits(mesh: trimesh.Trimesh, xy: np.ndarray, z_start: float) -> list[np.ndarray]:
    """Sorted z of the crossings of upward vertical rays from ``(x, y, z_start)`` with ``mesh``."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    origins = np.column_stack([xy, np.full(len(xy), z_start)])
    return [z_start + t for t in line_hits(mesh, origins, (0.0, 0.0, 1.0))]


def candidate_downs() -> np.ndarray:
    """26 unit directions (faces, edges and corners of a cube) tried as the 'down' of a print."""
    dirs = [np.array(v, float) for v in np.ndindex(3, 3, 3)]
    dirs = [d - 1 for d in dirs if np.any(d != 1)]
    return np.array([d / np.linalg.norm(d) for d in dirs])


def rotation_to_down(direction: np.ndarray) -> np.ndarray:
    """4×4 rotation taking unit ``direction`` to −z."""
    return trimesh.geometry.align_vectors(np.asarray(direction, float), [0.0, 0.0, -1.0])


def overhang_area(mesh: trimesh.Trimesh, limit_deg: float = OVERHANG_DEG) -> float:
    """Area (mm²) of the downward facets steeper than ``limit_deg`` from the vertical that do not rest
    on the bed (the plane z = min z)."""
    normals = mesh.face_normals
    areas = mesh.area_faces
    z_min = mesh.bounds[0, 2]
    tri_z = mesh.vertices[mesh.faces][:, :, 2]
    on_bed = tri_z.max(axis=1) <= z_min + BED_CONTACT_MM
    down = normals[:, 2] < -math.cos(math.radians(limit_deg))
    return float(areas[down & ~on_bed].sum())


def orient_for_print(mesh: trimesh.Trimesh, bed_xy: tuple[float, float] | None = None,
                     preferred: np.ndarray | None = None) -> tuple[np.ndarray, float, dict[str, float]]:
    """(4×4 transform, overhang mm², {candidate label: overhang}) of the candidate orientation with the
    least overhang area (ties: lower height). The transform puts the part on z = 0, centred in x/y,
    turned about z to its smallest footprint rectangle. Orientations whose footprint does not fit
    ``bed_xy`` are skipped while one fits."""
    downs = candidate_downs() if preferred is None else np.vstack([preferred, candidate_downs()])
    results = []
    for d in downs:
        rot = rotation_to_down(d)
        moved = mesh.copy()
        moved.apply_transform(rot)
        area = overhang_area(moved)
        footprint_transform, rect = trimesh.bounds.oriented_bounds_2D(moved.vertices[:, :2])
        fits = bed_xy is None or (sorted(rect)[0] <= min(bed_xy) and sorted(rect)[1] <= max(bed_xy))
        results.append((not fits, round(area, 1), float(np.ptp(moved.vertices[:, 2])), d, rot, footprint_transform))
    results.sort(key=lambda r: (r[0], r[1], r[2]))
    _, area, _, d, rot, foot = results[0]
    turn = np.eye(4)
    turn[:2, :2] = foot[:2, :2]
    transform = turn @ rot
    moved = mesh.copy()
    moved.apply_transform(transform)
    table = {",".join(f"{v:+.2f}" for v in r[3]): r[1] for r in results}
    return centre_on_bed(moved) @ transform, overhang_area(moved), table


def centre_on_bed(mesh: trimesh.Trimesh) -> np.ndarray:
    """4×4 translation putting ``mesh`` on z = 0, its bounding box centred on x = y = 0."""
    lo, hi = mesh.bounds
    shift = np.eye(4)
    shift[:3, 3] = [-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]]
    return shift
