"""Meshes of lattice fields (layer: porous): marching cubes of a sampled field that is negative
in the solid, outward orientation, signed volumes and the manifold3d solids the booleans use.
"""

from __future__ import annotations

import manifold3d as m3d
import numpy as np
from skimage.measure import marching_cubes as skimage_marching_cubes

from ..errors import GeometryError

#: Field value given to samples exactly on the level (0): such a sample makes marching cubes emit
#: several coincident vertices (and open edges), so it is moved just into the void.
OFF_LEVEL = np.float32(1e-6)


def off_level(field: np.ndarray) -> np.ndarray:
    """Move the samples of ``field`` that lie exactly on the level 0 to :data:`OFF_LEVEL` (in place)."""
    field[field == 0.0] = OFF_LEVEL
    return field


def signed_volumes(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Signed volume of the tetrahedron (origin, triangle) per triangle; their sum over a closed
    outward mesh is its volume (units³ of the vertices)."""
    tri = vertices[faces]
    return np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0


def marching_cubes(field: np.ndarray, origin: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) of the level 0 of ``field`` sampled at ``origin + i h`` (mm), oriented
    with outward normals (the solid is the negative side). Samples on the level are moved off it
    (:func:`off_level`, in place)."""
    off_level(field)
    # dropping degenerate triangles would open holes: they are kept
    verts, faces, _, _ = skimage_marching_cubes(field, level=0.0, spacing=(h, h, h), allow_degenerate=True)
    verts = verts.astype(np.float64) + origin
    # skimage orients triangles towards increasing field values; our solid is the negative
    # side, so the outward normal points to increasing values — check and flip if needed
    if signed_volumes(verts, faces).sum() < 0:
        faces = faces[:, ::-1]
    return verts, np.ascontiguousarray(faces)


def to_manifold(vertices: np.ndarray, faces: np.ndarray) -> m3d.Manifold:
    """A manifold3d solid of a closed oriented mesh (float32 vertices); GeometryError if
    manifold3d rejects it."""
    mesh = m3d.Mesh(vert_properties=np.ascontiguousarray(vertices, dtype=np.float32),
                    tri_verts=np.ascontiguousarray(faces, dtype=np.uint32))
    man = m3d.Manifold(mesh)
    if man.status() != m3d.Error.NoError:
        raise GeometryError(f"lattice: manifold3d rejected a mesh ({man.status()})")
    return man
