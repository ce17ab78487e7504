"""Points on the bone surface that faces an implant's bearing face, for seating fitted faces
(layer: fit).

Shared by the congruent cage (:mod:`.cage_fields`), the fitted body replacement
(:mod:`.column`) and the cervical fits (:mod:`.cervical_docking`, :mod:`.transarticular`).
Coordinates are in the implant's local frame (``Frame.to_local``), z along the bearing direction, mm.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import trimesh

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.local_frame import Frame

Field = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Largest spacing (mm) of the points taken on the bone's facing triangles: coarse meshes have
#: 1.5 mm edges, so corners alone would miss the bumps between them.
DENSE_MM = 0.25
#: Triangles whose normal is within this angle (deg) of the local z face the implant (the body
#: walls and the rim roll-off are steeper).
FACING_DEG = 45.0
#: Surface within this distance (mm, along z) of the endplate field bears on the implant.
SURFACE_BAND_MM = 3.0


def dense_points(mesh: trimesh.Trimesh, frame: Frame, keep: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Points (local frame) covering the triangles for which ``keep(triangle_vertices_local)`` is
    true, subdivided to :data:`DENSE_MM`."""
    v = frame.to_local(mesh.vertices)
    selected = np.flatnonzero(keep(v[mesh.faces]))
    if not len(selected):
        return np.zeros((0, 3))
    used, inverse = np.unique(mesh.faces[selected], return_inverse=True)
    pts, _ = trimesh.remesh.subdivide_to_size(v[used], inverse.reshape(-1, 3), max_edge=DENSE_MM, max_iter=20)
    return pts


def facing_points(mesh: trimesh.Trimesh, frame: Frame, field: Field, outline: np.ndarray, *,
                  grow_mm: float = 1.0, clip_to_outline: bool = True) -> np.ndarray:
    """Points of the bone surface facing the implant over ``outline`` (grown by ``grow_mm``): the
    triangles near ``field`` whose normals lie within :data:`FACING_DEG` of ±z; only the points
    inside the outline when ``clip_to_outline``, else inside its grown box."""
    lo, hi = outline.min(axis=0) - grow_mm, outline.max(axis=0) + grow_mm
    facing = np.abs(mesh.face_normals @ frame.axes[2]) > np.cos(np.radians(FACING_DEG))
    edge = float(np.median(mesh.edges_unique_length))

    def keep(tri: np.ndarray) -> np.ndarray:
        c = tri.mean(axis=1)
        in_box = np.all((tri[:, :, :2].max(axis=1) > lo) & (tri[:, :, :2].min(axis=1) < hi), axis=1)
        return facing & in_box & (np.abs(c[:, 2] - field(c[:, 0], c[:, 1])) < SURFACE_BAND_MM + edge)

    pts = dense_points(mesh, frame, keep)
    if clip_to_outline:
        return pts[outlines.contains(outline, pts[:, :2])]
    return pts[np.all((pts[:, :2] > lo) & (pts[:, :2] < hi), axis=1)]


def seat(field: Field, points: np.ndarray, sign: int, what: str, min_points: int = 3) -> tuple[float, np.ndarray]:
    """How far ``field`` must move away from the bone to touch ``points`` without penetrating,
    and the gaps (mm) left at the points after that move.

    ``sign`` +1: the bone lies above the field (upper vertebra), −1: below. Returns ``depth``,
    the deepest penetration before the shift (the field moves by ``-sign * depth``)."""
    if len(points) < min_points:
        raise ParameterError(f"vertebra mesh: too few surface points over the {what} to fit a bearing surface")
    gap = sign * (points[:, 2] - field(points[:, 0], points[:, 1]))  # > 0: bone beyond the field
    depth = float(max(0.0, -gap.min()))
    return depth, gap + depth
