"""One tessellation of a B-rep with an absolute chord deflection in mm (layer: writers).

The shape is copied before meshing (OCCT caches triangulations on the shape, and a
cached mesh made with other settings would be reused silently), meshed with an
**absolute** chord deflection and :data:`~implants.tolerances.ANGULAR_DEFLECTION_RAD`,
then read face by face: reversed faces flip their winding and face locations are applied;
:func:`~implants.writers.mesh_repair.repair_triangulation` then merges the vertices along
shared edges, drops degenerate (zero-area) triangles (ARCHITECTURE.md pitfalls) and closes
the few tiny holes OCCT leaves in sliver faces. Every triangle keeps the index of the B-rep
face it came from, in ``shape.Faces()`` order, so named surface features can be
mapped onto the mesh (:func:`feature_mask`). The requested deflection is checked (and
defaulted) by :func:`~implants.writers.settings.checked_deflection`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh
from OCP.BRep import BRep_Tool
from OCP.BRepBuilderAPI import BRepBuilderAPI_Copy
from OCP.BRepMesh import BRepMesh_IncrementalMesh
from OCP.BRepTools import BRepTools
from OCP.TopAbs import TopAbs_FACE, TopAbs_REVERSED
from OCP.TopExp import TopExp
from OCP.TopLoc import TopLoc_Location
from OCP.TopoDS import TopoDS
from OCP.TopTools import TopTools_IndexedMapOfShape

from .. import tolerances
from ..errors import GeometryError
from .mesh_repair import repair_triangulation
from .settings import checked_deflection

if TYPE_CHECKING:
    import cadquery as cq

    from ..model import Feature


@dataclass(frozen=True)
class Tessellation:
    """A triangle mesh of a B-rep: ``mesh`` (mm), ``face_index`` (per triangle, the
    index of its B-rep face in ``shape.Faces()`` order), the ``deflection_mm`` used and the
    number of small mesher holes that were closed (``holes_filled``)."""

    mesh: "trimesh.Trimesh"
    face_index: np.ndarray
    deflection_mm: float
    holes_filled: int = 0


def _face_map(shape: Any):
    """Indexed map of the faces of ``shape`` (the same order as CadQuery's ``Faces()``)."""
    face_map = TopTools_IndexedMapOfShape()
    TopExp.MapShapes_s(shape, TopAbs_FACE, face_map)
    return face_map


def _wrapped(shape: Any) -> Any:
    return getattr(shape, "wrapped", shape)


def raw_triangulation(shape: "cq.Shape", deflection_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """OCCT's triangulation of a copy of ``shape``, face by face, before any cleaning:
    (vertices, triangles, face index, deflection used). Reversed faces are flipped, locations applied."""
    requested = checked_deflection(deflection_mm)
    original = _wrapped(shape)
    if original is None or original.IsNull():
        raise GeometryError("tessellation: the shape is empty")
    copy = BRepBuilderAPI_Copy(original, True, False).Shape()
    used = _mesh_every_face(copy, requested)
    face_map = _face_map(copy)
    if face_map.Extent() != _face_map(original).Extent():
        raise GeometryError("tessellation: copied shape has a different number of faces")

    all_vertices: list[np.ndarray] = []
    all_faces: list[np.ndarray] = []
    all_index: list[np.ndarray] = []
    offset = 0
    for i in range(1, face_map.Extent() + 1):
        face = TopoDS.Face_s(face_map.FindKey(i))
        location = TopLoc_Location()
        triangulation = BRep_Tool.Triangulation_s(face, location)
        if triangulation is None:
            raise GeometryError(f"tessellation: face {i - 1} has no triangulation")
        transform = location.Transformation()
        nodes = np.empty((triangulation.NbNodes(), 3))
        for j in range(triangulation.NbNodes()):
            p = triangulation.Node(j + 1).Transformed(transform)
            nodes[j] = (p.X(), p.Y(), p.Z())
        tris = np.empty((triangulation.NbTriangles(), 3), dtype=np.int64)
        for j in range(triangulation.NbTriangles()):
            tris[j] = triangulation.Triangle(j + 1).Get()
        tris -= 1
        if face.Orientation() == TopAbs_REVERSED:
            tris = tris[:, [0, 2, 1]]
        all_vertices.append(nodes)
        all_faces.append(tris + offset)
        all_index.append(np.full(len(tris), i - 1, dtype=np.int64))
        offset += len(nodes)
    if not all_faces or offset == 0:
        raise GeometryError("tessellation produced no triangles")
    return np.concatenate(all_vertices), np.concatenate(all_faces), np.concatenate(all_index), used


#: Finer deflections (fractions of the requested one) tried when OCCT's mesher leaves a face
#: without triangles: it gives up on some sub-mm² B-spline slivers (serrations meeting a
#: filleted corner) at one deflection and meshes them at a finer one. The whole shape is
#: re-meshed, so shared edges stay conforming; the deflection used is recorded.
_RETRY_FRACTIONS = (1.0, 0.25, 0.05)


def _mesh_every_face(shape, deflection_mm: float) -> float:
    """Mesh ``shape`` in place; returns the deflection (mm) at which every face got triangles."""
    face_map = _face_map(shape)
    for fraction in _RETRY_FRACTIONS:
        used = deflection_mm * fraction
        BRepTools.Clean_s(shape)
        mesher = BRepMesh_IncrementalMesh(shape, used, False, float(tolerances.ANGULAR_DEFLECTION_RAD), False)
        if not mesher.IsDone():
            raise GeometryError(f"tessellation failed (deflection {used} mm)")
        if all(BRep_Tool.Triangulation_s(TopoDS.Face_s(face_map.FindKey(i)), TopLoc_Location()) is not None
               for i in range(1, face_map.Extent() + 1)):
            return used
    return used


def tessellate(shape: "cq.Shape", deflection_mm: float | None = None) -> Tessellation:
    """Mesh ``shape`` (a copy of it) with an absolute chord deflection (mm; None:
    :data:`~implants.tolerances.DEFAULT_DEFLECTION_MM`); see the module docstring. The
    Tessellation records the deflection actually used (finer when the mesher needed it)."""
    vertices, faces, face_index, used = raw_triangulation(shape, deflection_mm)
    vertices, faces, face_index, holes = repair_triangulation(vertices, faces, face_index)
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False, validate=False)
    face_index.setflags(write=False)
    return Tessellation(mesh=mesh, face_index=face_index, deflection_mm=float(used), holes_filled=holes)


def face_indices(shape: "cq.Shape", faces: Any) -> np.ndarray:
    """Indices (in ``shape.Faces()`` order) of ``faces`` (matched with IsSame: same
    underlying face and location, any orientation); GeometryError if one is not found."""
    face_map = _face_map(_wrapped(shape))
    out = []
    for face in faces:
        k = face_map.FindIndex(_wrapped(face))
        if k == 0:
            raise GeometryError("feature face is not a face of the shape (select faces after all booleans)")
        out.append(k - 1)
    return np.asarray(out, dtype=np.int64)


def feature_mask(tess: Tessellation, shape: "cq.Shape", feature: "Feature") -> np.ndarray:
    """Boolean mask of the triangles of ``tess`` that belong to a surface feature's faces."""
    if feature.kind != "surface" or not feature.faces:
        raise GeometryError(f"feature {feature.name!r} is not a surface feature with faces")
    return np.isin(tess.face_index, face_indices(shape, feature.faces))
