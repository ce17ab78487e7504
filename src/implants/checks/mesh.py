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
        return {"manifold_status": "Empty", "manifold_volume_mm3": 0.0, "manifold_bodies": 0}
    solid = manifold3d.Manifold(manifold3d.Mesh64(vert_properties=vertices, tri_verts=faces))
    status = solid.status()
    ok = status == manifold3d.Error.NoError
    return {
        "manifold_status": status.name,
        "manifold_volume_mm3": float(solid.volume()) if ok else 0.0,
        "manifold_bodies": len(solid.decompose()) if ok else 0,
    }


def _shells(mesh: trimesh.Trimesh) -> tuple[int, int]:
    """Bodies (closed shells enclosing positive volume) and cavities (inward-facing shells,
    e.g. sealed pores of a lattice) of a mesh, from its connected components."""
    labels = connected_component_labels(mesh.face_adjacency, node_count=len(mesh.faces))
    tris = np.asarray(mesh.triangles)
    signed = np.einsum("ij,ij->i", tris[:, 0], np.cross(tris[:, 1], tris[:, 2])) / 6.0
    volumes = np.bincount(labels, weights=signed)
    return int((volumes > 0).sum()), int((volumes < 0).sum())


def check_mesh(mesh: trimesh.Trimesh, expected_bodies: int | None = 1) -> dict[str, Any]:
    """Watertight, consistently wound, positive volume, ``expected_bodies`` bodies (None: any),
    accepted by manifold3d with the same volume. Returns the measured values and verdicts."""
    faces = np.asarray(mesh.faces)
    result: dict[str, Any] = {
        "triangles": int(len(faces)),
        "vertices": int(len(mesh.vertices)),
    }
    if len(faces):
        areas = mesh.area_faces
        result["area_mm2"] = float(areas.sum())
        result["degenerate_triangles"] = int((areas < tolerances.DEGENERATE_AREA_MM2).sum())
        watertight = bool(mesh.is_watertight)
        winding = bool(mesh.is_winding_consistent)
        volume = float(mesh.volume) if watertight and winding else float("nan")
        bodies, cavities = _shells(mesh)
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
