"""Footprint area of bearing faces (layer: checks): their area projected on their mean plane (SPEC.md §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:
    import trimesh


def mean_plane(mesh: "trimesh.Trimesh", triangle_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted mean plane of the selected triangles: (centroid, unit normal)."""
    mask = np.asarray(triangle_mask)
    if mask.dtype == bool and len(mask) != len(mesh.faces):
        raise ParameterError(f"triangle mask has {len(mask)} entries for {len(mesh.faces)} triangles")
    areas = mesh.area_faces[mask]
    if not len(areas) or areas.sum() <= 0:
        raise ParameterError("footprint: no triangles selected")
    weighted = (mesh.face_normals[mask] * areas[:, None]).sum(axis=0)
    length = np.linalg.norm(weighted)
    if length <= 1e-12 * areas.sum():
        raise ParameterError("footprint: the selected triangles face opposite ways (no mean plane)")
    centroid = (mesh.triangles_center[mask] * areas[:, None]).sum(axis=0) / areas.sum()
    return centroid, weighted / length


def footprint_area(mesh: "trimesh.Trimesh", triangle_mask: np.ndarray) -> float:
    """Area (mm²) of the selected triangles projected on their area-weighted mean plane.

    Projection of a triangle of area A and unit normal n on a plane of normal N has area
    A·(n·N); parts facing away (n·N < 0, folds) are subtracted, as their shadow overlaps.
    """
    _, normal = mean_plane(mesh, triangle_mask)
    mask = np.asarray(triangle_mask)
    cosines = mesh.face_normals[mask] @ normal
    return float((mesh.area_faces[mask] * cosines).sum())
