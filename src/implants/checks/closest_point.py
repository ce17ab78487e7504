"""Exact closest points on a triangle mesh and the side of the mesh a point lies on (layer: checks).

:class:`ClosestPointTree` holds a mesh's triangles in libigl's AABB tree (a bounding-volume
hierarchy answering exact point-triangle closest-point queries in C++) and signs a distance with
the pseudo-normal of the closest feature (Bærentzen & Aanæs 2005: exact for a closed, consistently
wound mesh): the face normal where the closest point lies inside a triangle, the sum of the two
face normals on an edge, the angle-weighted vertex normal at a vertex. Used by the contact check
(:mod:`implants.checks.contact`); any caller that needs exact distances or inside/outside of a
closed mesh near its surface can use it (coordinates in the mesh's own frame, mm).
"""

from __future__ import annotations

import igl
import numpy as np

#: A closest point whose barycentric coordinate is below this lies on the triangle's edge
#: (one coordinate) or at its corner (two): the pseudo-normal there sums the neighbours.
_BORDER_BARY = 1e-9


class ClosestPointTree:
    """The triangles ``faces`` (m, 3) of ``vertices`` (n, 3) in libigl's AABB tree. ``faces`` may be
    a subset of a mesh's triangles; a pseudo-normal is then that of the subset (the same as the whole
    mesh's wherever every triangle touching the closest point is in the subset)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        self.vertices = np.ascontiguousarray(vertices, dtype=np.float64)
        self.faces = np.ascontiguousarray(faces, dtype=np.int64)
        self.tree = igl.AABB()
        self.tree.init(self.vertices, self.faces)
        tris = self.vertices[self.faces]
        self.a = tris[:, 0]
        self.ab = tris[:, 1] - tris[:, 0]
        self.ac = tris[:, 2] - tris[:, 0]
        normal = np.cross(self.ab, self.ac)
        self.normal = normal / np.maximum(np.linalg.norm(normal, axis=1), 1e-300)[:, None]
        self._adjacent: np.ndarray | None = None
        self._vertex_normal: np.ndarray | None = None

    def nearest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Squared distance (mm²), closest triangle (row of ``faces``) and closest point of each of
        ``points`` (k, 3): exact."""
        if not len(points):
            return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, 3))
        return self.tree.squared_distance(self.vertices, self.faces, np.ascontiguousarray(points, dtype=np.float64))

    def side(self, points: np.ndarray, tri: np.ndarray, closest: np.ndarray) -> np.ndarray:
        """(point − closest point) · pseudo-normal (mm): > 0 on the side the normals point to
        (outside of a closed, outward-wound mesh), < 0 behind it; ``tri`` and ``closest`` as
        :meth:`nearest` returns them."""
        rel = closest - self.a[tri]
        ab, ac = self.ab[tri], self.ac[tri]
        d00, d01, d11 = (np.einsum("ij,ij->i", x, y) for x, y in ((ab, ab), (ab, ac), (ac, ac)))
        d20, d21 = np.einsum("ij,ij->i", rel, ab), np.einsum("ij,ij->i", rel, ac)
        denom = np.maximum(d00 * d11 - d01 ** 2, 1e-300)
        bary = np.empty((len(tri), 3))
        bary[:, 1] = (d11 * d20 - d01 * d21) / denom
        bary[:, 2] = (d00 * d21 - d01 * d20) / denom
        bary[:, 0] = 1.0 - bary[:, 1] - bary[:, 2]
        on_border = bary < _BORDER_BARY
        normal = self.normal[tri].copy()
        edge = np.flatnonzero(on_border.sum(axis=1) == 1)
        if len(edge):  # on the edge opposite the corner with the zero coordinate
            if self._adjacent is None:
                self._adjacent, _ = igl.triangle_triangle_adjacency(self.faces)
            corner = on_border[edge].argmax(axis=1)
            other = self._adjacent[tri[edge], (corner + 1) % 3]
            normal[edge] += np.where(other[:, None] >= 0, self.normal[np.maximum(other, 0)], 0.0)
        vertex = np.flatnonzero(on_border.sum(axis=1) >= 2)
        if len(vertex):  # at the corner with the largest coordinate
            if self._vertex_normal is None:
                self._vertex_normal = igl.per_vertex_normals(self.vertices, self.faces,
                                                             igl.PER_VERTEX_NORMALS_WEIGHTING_TYPE_ANGLE)
            corner = bary[vertex].argmax(axis=1)
            normal[vertex] = self._vertex_normal[self.faces[tri[vertex], corner]]
        return np.einsum("ij,ij->i", points - closest, normal)
