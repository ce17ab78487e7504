"""Mesh checks (layer: checks): watertight, consistent winding, positive volume, number of bodies, strict
manifold (manifold3d round trip) and mesh volume against the B-rep volume.

Every check function returns a plain JSON-able dict with the measured values, one boolean
per check and ``ok`` / ``failed`` (names of the failed checks), so results can go straight
into the manifest and the CLI table.
"""

from __future__ import annotations

from typing import Any

import manifold3d
import numpy as np
import trimesh
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from trimesh.graph import connected_component_labels

from .. import tolerances

#: The manifold3d round trip must give the same volume within this relative bound:
#: its float64 mesh is the same triangles, so only summation round-off differs.
MANIFOLD_VOLUME_REL_TOL = 1e-6


#: Checks a mesh must pass (names of booleans in :func:`check_mesh`'s result).
REQUIRED_MESH_CHECKS = ["watertight", "winding_consistent", "positive_volume", "bodies_ok", "manifold"]


def _finish(result: dict[str, Any], names: list[str]) -> dict[str, Any]:
    failed = [name for name in names if not result[name]]
    result["ok"] = not failed
    result["failed"] = failed
    return result


def manifold_round_trip(mesh: trimesh.Trimesh) -> dict[str, Any]:
    """Build a ``manifold3d.Manifold`` from the mesh arrays as they are (no merging):
    it refuses anything that is not a closed oriented 2-manifold."""
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.uint64)
    if len(faces) == 0:
        return {"manifold_status": "Empty", "manifold_volume_mm3": 0.0}
    solid = manifold3d.Manifold(manifold3d.Mesh64(vert_properties=vertices, tri_verts=faces))
    status = solid.status()
    ok = status == manifold3d.Error.NoError
    return {
        "manifold_status": status.name,
        "manifold_volume_mm3": float(solid.volume()) if ok else 0.0,
    }  # (its bodies are the mesh's bodies + cavities, counted from the edges: no decompose())


def _shells(labels: np.ndarray, signed: np.ndarray) -> tuple[int, int]:
    """Bodies (closed shells enclosing positive volume) and cavities (inward-facing shells,
    e.g. sealed pores of a lattice) from the component label and signed volume of each triangle."""
    volumes = np.bincount(labels, weights=signed)
    return int((volumes > 0).sum()), int((volumes < 0).sum())


def closed_oriented_components(faces: np.ndarray, n_vertices: int) -> np.ndarray | None:
    """Edge-connected component label per triangle when every edge is shared by exactly two
    triangles that run it in opposite directions (watertight and consistently wound, as trimesh
    defines them); None otherwise. One sort of the edges answers both and pairs the triangles."""
    start = faces.ravel()
    end = faces[:, [1, 2, 0]].ravel()
    undirected = np.minimum(start, end) * np.int64(n_vertices) + np.maximum(start, end)
    order = np.argsort(undirected)
    key = undirected[order]
    first, second = order[0::2], order[1::2]
    if len(order) % 2 or not np.array_equal(key[0::2], key[1::2]) or bool((key[2::2] == key[1:-1:2]).any()):
        return None                                     # an edge not shared by exactly two triangles
    if not np.array_equal(start[first], end[second]):
        return None                                     # two triangles run an edge the same way
    graph = coo_matrix((np.ones(len(first), dtype=np.int8), (first // 3, second // 3)), shape=(len(faces),) * 2)
    return connected_components(graph, directed=False)[1]


def check_mesh(mesh: trimesh.Trimesh, expected_bodies: int | None = 1) -> dict[str, Any]:
    """Watertight, consistently wound, positive volume, ``expected_bodies`` bodies (None: any),
    accepted by manifold3d with the same volume. Returns the measured values and verdicts."""
    faces = np.asarray(mesh.faces)
    result: dict[str, Any] = {
        "triangles": int(len(faces)),
        "vertices": int(len(mesh.vertices)),
    }
    if len(faces):
        faces = faces.astype(np.int64, copy=False)
        tri = np.asarray(mesh.vertices, dtype=np.float64)[faces]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # twice the area vector
        areas = 0.5 * np.linalg.norm(normal, axis=1)
        signed = np.einsum("ij,ij->i", tri[:, 0], normal) / 6.0        # = a·(b×c)/6 per triangle
        del tri, normal
        result["area_mm2"] = float(areas.sum())
        result["degenerate_triangles"] = int((areas < tolerances.DEGENERATE_AREA_MM2).sum())
        labels = closed_oriented_components(faces, len(mesh.vertices))
        if labels is None:  # trimesh tells which of the two fails
            watertight = bool(mesh.is_watertight)
            winding = bool(mesh.is_winding_consistent)
            labels = connected_component_labels(mesh.face_adjacency, node_count=len(faces))
        else:
            watertight = winding = True
        volume = float(signed.sum()) if watertight and winding else float("nan")
        bodies, cavities = _shells(labels, signed)
        result["cavities"] = cavities
    else:
        result["area_mm2"] = 0.0
        result["degenerate_triangles"] = 0
        watertight = winding = False
        volume = float("nan")
        bodies = 0
    result.update(watertight=watertight, winding_consistent=winding)
    result["volume_mm3"] = None if np.isnan(volume) else volume
    result["positive_volume"] = bool(volume > 0)
    result["bodies"] = bodies
    result["expected_bodies"] = expected_bodies
    result["bodies_ok"] = expected_bodies is None or bodies == expected_bodies
    result.update(manifold_round_trip(mesh))
    manifold_ok = result["manifold_status"] == "NoError" and not np.isnan(volume)
    if manifold_ok:
        manifold_ok = abs(result["manifold_volume_mm3"] - volume) <= MANIFOLD_VOLUME_REL_TOL * abs(volume) + 1e-9
    result["manifold"] = bool(manifold_ok)
    result["no_degenerate_triangles"] = result["degenerate_triangles"] == 0
    # zero-area triangles are reported (they trouble lib3mf and slicers) but do not fail a
    # foreign mesh that is otherwise a closed manifold; the exporter never writes any
    result["warnings"] = [] if result["no_degenerate_triangles"] else [
        f"{result['degenerate_triangles']} zero-area triangles"]
    return _finish(result, REQUIRED_MESH_CHECKS)


def check_mesh_volume(mesh_volume_mm3: float | None, brep_volume_mm3: float, area_mm2: float,
                      deflection_mm: float) -> dict[str, Any]:
    """Mesh volume against the B-rep volume within :func:`tolerances.mesh_volume_tolerance`
    (watertightness does not reveal a coarse tessellation)."""
    bound = float(tolerances.mesh_volume_tolerance(float(area_mm2), float(deflection_mm)))
    if mesh_volume_mm3 is None:
        diff = float("inf")
    else:
        diff = abs(float(mesh_volume_mm3) - float(brep_volume_mm3))
    result = {
        "mesh_volume_mm3": None if mesh_volume_mm3 is None else float(mesh_volume_mm3),
        "brep_volume_mm3": float(brep_volume_mm3),
        "volume_difference_mm3": diff if np.isfinite(diff) else None,
        "volume_difference_rel": diff / abs(brep_volume_mm3) if np.isfinite(diff) and brep_volume_mm3 else None,
        "volume_bound_mm3": bound,
        "volume_matches_brep": bool(diff <= bound),
    }
    return _finish(result, ["volume_matches_brep"])
