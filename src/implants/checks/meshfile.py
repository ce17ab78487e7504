"""The one reader of mesh files (layer: checks): STL, 3MF, OBJ, PLY, GLB, glTF and OFF, in mm.

:func:`read_mesh` gives the triangles of a file as they are stored (coincident vertices
merged, since an STL is a triangle soup, but nothing repaired: the checks must see the file
as it is), and one :class:`ParameterError` naming the file for every way a file can be bad.
Callers that need more (vertebra meshes: cleaned, closed, in the patient frame) build on it
(:func:`implants.anatomy.meshes.load_mesh`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import trimesh

from ..errors import ParameterError
from ..writers.mesh_repair import merge_vertices

#: Mesh formats by file extension (trimesh reader names).
MESH_FORMATS = {".stl": "stl", ".3mf": "3mf", ".obj": "obj", ".ply": "ply", ".glb": "glb", ".gltf": "gltf",
                ".off": "off"}


def read_mesh(path: str | os.PathLike, what: str = "mesh") -> trimesh.Trimesh:
    """Read a mesh file as one triangle mesh (mm), merging coincident vertices but repairing
    nothing else.

    A missing, empty, unreadable or non-mesh file, or one with an extension not in
    :data:`MESH_FORMATS`, is a :class:`ParameterError` that starts ``"<what> file '<path>'"``.
    """
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"{what} file {str(p)!r} does not exist")
    if not p.is_file():
        raise ParameterError(f"{what} file {str(p)!r} is not a file")
    suffix = p.suffix.lower()
    if suffix not in MESH_FORMATS:
        raise ParameterError(f"{what} file {str(p)!r}: unsupported format, extension {suffix or '(none)'!r} "
                             f"(allowed: {', '.join(MESH_FORMATS)})")
    if p.stat().st_size == 0:
        raise ParameterError(f"{what} file {str(p)!r} is empty")
    try:
        loaded = trimesh.load(str(p), file_type=MESH_FORMATS[suffix], force="mesh", process=False)
    except Exception as error:  # the readers raise anything from ValueError to struct.error
        raise ParameterError(f"{what} file {str(p)!r} is not a readable {suffix[1:].upper()} mesh "
                             f"({type(error).__name__}: {error})") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ParameterError(f"{what} file {str(p)!r} holds no triangles")
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    if not np.all(np.isfinite(vertices)):
        raise ParameterError(f"{what} file {str(p)!r} has non-finite vertex coordinates")
    vertices, faces = merge_vertices(vertices, np.asarray(loaded.faces, dtype=np.int64))
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False, validate=False)
