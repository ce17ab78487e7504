"""Meshes of lattice fields (layer: porous): marching cubes of a sampled field that is negative
in the solid, outward orientation, signed volumes and the manifold3d solids the booleans use.
"""

from __future__ import annotations

import manifold3d as m3d
import numpy as np
from skimage.measure import marching_cubes as skimage_marching_cubes

from ..errors import GeometryError

#: ``face_id`` of the lattice's triangles in manifold3d (read as int32, so below 2³¹; the body's
#: own face ids count its triangles). Tagging the import replaces ``Manifold.as_original``, which
#: regroups every triangle into faces (measured: 2.0 s for a 3.3 M-triangle lattice, more than
#: the intersection with the body).
LATTICE_FACE_ID = 1 << 30
#: Field value given to samples exactly on the level (0): such a sample makes marching cubes emit
#: several coincident vertices (and open edges), so it is moved just into the void.
OFF_LEVEL = np.float32(1e-6)


def off_level(field: np.ndarray) -> np.ndarray:
    """Move the samples of ``field`` that lie exactly on the level 0 to :data:`OFF_LEVEL` (in place)."""
    field[field == 0.0] = OFF_LEVEL
    return field


def signed_volumes(vertices: np.ndarray, faces: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Signed volume of the tetrahedron (origin, triangle) per triangle; their sum over a closed
    outward mesh is its volume (units³ of the vertices). Triple products written out per
    coordinate, in chunks (a third faster than ``np.cross`` on millions of triangles)."""
    out = np.empty(len(faces))
    x, y, z = (np.ascontiguousarray(vertices[:, k], dtype=np.float64) for k in range(3))
    for s in range(0, len(faces), chunk):
        a, b, c = (faces[s:s + chunk, k] for k in range(3))
        bx, by, bz, cx, cy, cz = x[b], y[b], z[b], x[c], y[c], z[c]
        out[s:s + chunk] = (x[a] * (by * cz - bz * cy) + y[a] * (bz * cx - bx * cz) + z[a] * (bx * cy - by * cx)) / 6.0
    return out


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


def to_manifold(vertices: np.ndarray, faces: np.ndarray, face_id: int | None = None) -> m3d.Manifold:
    """A manifold3d solid of a closed oriented mesh (float32 vertices); GeometryError if
    manifold3d rejects it. ``face_id`` tags every triangle (manifold3d carries it through
    booleans: the provenance of the result's triangles without ``as_original``)."""
    tags = {} if face_id is None else {"face_id": np.full(len(faces), face_id, dtype=np.uint32)}
    mesh = m3d.Mesh(vert_properties=np.ascontiguousarray(vertices, dtype=np.float32),
                    tri_verts=np.ascontiguousarray(faces, dtype=np.uint32), **tags)
    man = m3d.Manifold(mesh)
    if man.status() != m3d.Error.NoError:
        raise GeometryError(f"lattice: manifold3d rejected a mesh ({man.status()})")
    return man
