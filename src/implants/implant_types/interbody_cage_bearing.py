"""Bearing faces of a built interbody cage and the segmental angles measured on them (layer: implant_types).

After every boolean, the faces that bear on bone are picked from the B-rep by their distance to the
height field they were cut to (flat faces, domes, or the teeth crests above them); the sagittal and
coronal angles between the two bearing faces are fitted to points on them. Millimetres and degrees;
frame of ``interbody_cage`` (origin at the disc-space centre, +x anterior, +y left, +z superior).

Imports the CAD kernel: ``interbody_cage.build_from_geometry`` imports this module when it builds.
"""

from __future__ import annotations

from typing import Callable

import cadquery as cq
import numpy as np

from ..geometry.columns import face_points
from ..geometry.synthetic_endplate import SyntheticEndplate

#: Height field z = f(x, y) of a bearing face (mm).
Field = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: A point lies on a bearing surface when within this distance of its height field (mm):
#: above the B-spline fit error (< 1e-3 mm) and far below any step between faces.
ON_SURFACE_MM = 0.01


def offset_from(field: Field, pts: np.ndarray, sign: int) -> np.ndarray:
    """Outward height of points above (sign +1) or below (−1) a height field (mm)."""
    return sign * (pts[:, 2] - field(pts[:, 0], pts[:, 1]))


def bearing_faces(shape: cq.Shape, field: Field, teeth_mm: float, sign: int) -> tuple[cq.Face, ...]:
    """Faces facing outward (normal within 60° of ±z) lying between the height field and
    the teeth crests: the bearing surface, without channel walls or flange faces."""
    picked = []
    for face in shape.Faces():
        if sign * face.normalAt().z < 0.5:
            continue
        offset = offset_from(field, face_points(face), sign)
        if offset.size and offset.min() > -ON_SURFACE_MM and offset.max() < teeth_mm + ON_SURFACE_MM:
            picked.append(face)
    return tuple(picked)


def crest_points(faces, field: Field, teeth_mm: float, sign: int) -> np.ndarray:
    """Points of the bearing faces that touch bone first (the teeth crests, or the whole face)."""
    pts = np.vstack([face_points(f) for f in faces])
    return pts[offset_from(field, pts, sign) > teeth_mm - ON_SURFACE_MM]


def measured_angles_deg(points_upper: np.ndarray, points_lower: np.ndarray,
                        superior_endplate: SyntheticEndplate | None,
                        inferior_endplate: SyntheticEndplate | None) -> tuple[float, float]:
    """Sagittal and coronal angle (deg) between the bearing faces, measured from points on them.

    Each face is fitted by least squares with z = a + b·x + c·y (+ d·dome(x, y) when the face is
    congruent to a known synthetic endplate, so the dome does not bias the plane)."""
    slopes = []
    for pts, ep in ((points_upper, superior_endplate), (points_lower, inferior_endplate)):
        columns = [np.ones(len(pts)), pts[:, 0], pts[:, 1]]
        if ep is not None:
            columns.append(ep.recess(pts[:, 0], pts[:, 1]))
        coef, *_ = np.linalg.lstsq(np.column_stack(columns), pts[:, 2], rcond=None)
        slopes.append(coef[1:3])
    (bu, cu), (bl, cl) = slopes
    sagittal = np.degrees(np.arctan(bu) - np.arctan(bl))
    coronal = np.degrees(np.arctan(cu) - np.arctan(cl))
    return float(sagittal), float(coronal)
