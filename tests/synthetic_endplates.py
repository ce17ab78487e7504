"""Test helper: a fine triangulated sheet over a synthetic domed endplate
(:class:`implants.geometry.synthetic_endplate.SyntheticEndplate`), the analytic surface the congruent
cage is checked against."""

from __future__ import annotations

import numpy as np
import trimesh
from scipy.spatial import Delaunay

from implants.geometry.synthetic_endplate import SyntheticEndplate


def synthetic_endplate_mesh(endplate: SyntheticEndplate, superior: bool, z0: float = 0.0,
                            spacing_mm: float = 0.5) -> trimesh.Trimesh:
    """Open sheet over the endplate ellipse: the rim at z = ``z0``, recessed into the bone (downwards for a
    ``superior`` endplate, upwards for an inferior one); normals point out of the bone, into the disc."""
    a, b = endplate.depth_mm / 2, endplate.width_mm / 2
    rings = max(int(np.ceil(max(a, b) / spacing_mm)), 4)
    pts = [np.zeros((1, 2))]
    for k in range(1, rings + 1):
        f = k / rings
        n = max(int(np.ceil(2 * np.pi * f * max(a, b) / spacing_mm)), 6)
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        pts.append(np.column_stack([f * a * np.cos(t), f * b * np.sin(t)]))
    xy = np.vstack(pts)
    tri = Delaunay(xy).simplices
    z = np.clip(endplate.recess(xy[:, 0], xy[:, 1]), 0, None)
    vertices = np.column_stack([xy, z0 - z if superior else z0 + z])
    up = trimesh.Trimesh(vertices, tri, process=False).face_normals[:, 2].mean() > 0
    return trimesh.Trimesh(vertices, tri if up == superior else tri[:, ::-1], process=False)
