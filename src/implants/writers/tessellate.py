"""One tessellation of a B-rep with an absolute chord deflection (mm).

The shape is copied before meshing (OCCT caches triangulations on the shape, and a
cached mesh made with other settings would be reused silently), meshed with an
**absolute** chord deflection and :data:`~implants.tolerances.ANGULAR_DEFLECTION_RAD`,
then read face by face: reversed faces flip their winding, face locations are applied,
coincident vertices along shared edges are merged, degenerate (zero-area) triangles
are dropped (ARCHITECTURE.md pitfalls) and the few tiny holes OCCT leaves in sliver faces
are closed. Every triangle keeps the index of the B-rep
face it came from, in ``shape.Faces()`` order, so named surface features can be
mapped onto the mesh (:func:`feature_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tolerances
from ..errors import GeometryError

if TYPE_CHECKING:
    import cadquery as cq
    import trimesh

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
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp
    from OCP.TopTools import TopTools_IndexedMapOfShape

    face_map = TopTools_IndexedMapOfShape()
    TopExp.MapShapes_s(shape, TopAbs_FACE, face_map)
    return face_map


def _wrapped(shape: Any) -> Any:
    return getattr(shape, "wrapped", shape)


def merge_vertices(vertices: np.ndarray, faces: np.ndarray,
                   tolerance: float = tolerances.MERGE_TOLERANCE_MM) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices closer than ``tolerance`` (mm); each cluster keeps its first vertex.

    Deterministic: clusters are the connected components of the "closer than" graph and
    keep the position of their lowest-index vertex, in first-appearance order.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(vertices)
    if n == 0:
        return vertices.reshape(0, 3), faces.reshape(0, 3)
    pairs = cKDTree(vertices).query_pairs(tolerance, output_type="ndarray")
    if len(pairs) == 0:
        return vertices, faces
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # renumber clusters by their first vertex so the output order is stable
    first = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    order = np.argsort(first, kind="stable")
    new_id = np.empty_like(order)
    new_id[order] = np.arange(len(order))
    return vertices[first[order]], new_id[labels][faces]


def clean_triangles(vertices: np.ndarray, faces: np.ndarray,
                    min_area: float = tolerances.DEGENERATE_AREA_MM2) -> np.ndarray:
    """Boolean mask of the triangles to keep: three distinct vertices and area ≥ ``min_area``.

    A zero-area triangle whose three vertices are distinct but collinear cannot simply be
    dropped (its long edge is shared with a neighbour): :func:`_collapse_slivers` handles
    those first by splitting the neighbour.
    """
    distinct = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    return distinct & (area >= min_area)


def _collapse_slivers(vertices: np.ndarray, faces: np.ndarray, face_index: np.ndarray,
                      min_area: float) -> tuple[np.ndarray, np.ndarray]:
    """Remove zero-area triangles with three distinct (collinear) vertices without opening
    the mesh: the neighbour across the sliver's longest edge is split at the sliver's middle
    vertex, then the sliver is dropped. Returns new faces and face_index."""
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    distinct = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    slivers = np.flatnonzero(distinct & (area < min_area))
    if len(slivers) == 0:
        return faces, face_index
    faces = [list(f) for f in faces]
    face_index = list(face_index)
    keep = [True] * len(faces)
    # directed edge -> triangle
    edge_owner: dict[tuple[int, int], int] = {}
    for t, (a, b, c) in enumerate(faces):
        for e in ((a, b), (b, c), (c, a)):
            edge_owner[e] = t
    for s in slivers:
        a, b, c = faces[s]
        pts = vertices[[a, b, c]]
        lengths = [np.linalg.norm(pts[1] - pts[0]), np.linalg.norm(pts[2] - pts[1]), np.linalg.norm(pts[0] - pts[2])]
        k = int(np.argmax(lengths))
        (u, v), mid = [((a, b), c), ((b, c), a), ((c, a), b)][k]
        nb = edge_owner.get((v, u))
        if nb is None or not keep[nb] or nb == s:
            continue
        x, y, z = faces[nb]
        # rotate the neighbour so that it reads (v, u, w)
        rot = {(x, y): (x, y, z), (y, z): (y, z, x), (z, x): (z, x, y)}
        _, _, w = rot[(v, u)]
        keep[s] = False
        faces[nb] = [v, mid, w]
        faces.append([mid, u, w])
        face_index.append(face_index[nb])
        keep.append(True)
        for e in ((v, mid), (mid, w), (w, v)):
            edge_owner[e] = nb
        for e in ((mid, u), (u, w), (w, mid)):
            edge_owner[e] = len(faces) - 1
    mask = np.array(keep)
    return np.asarray(faces, dtype=np.int64)[mask], np.asarray(face_index, dtype=np.int64)[mask]


def raw_triangulation(shape: "cq.Shape", deflection_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """OCCT's triangulation of a copy of ``shape``, face by face, before any cleaning:
    (vertices, triangles, face index, deflection used). Reversed faces are flipped, locations applied."""
    from OCP.BRep import BRep_Tool
    from OCP.BRepBuilderAPI import BRepBuilderAPI_Copy
    from OCP.TopAbs import TopAbs_REVERSED
    from OCP.TopLoc import TopLoc_Location
    from OCP.TopoDS import TopoDS

    if not (isinstance(deflection_mm, (int, float)) and deflection_mm > 0):
        from ..errors import ParameterError

        raise ParameterError(f"deflection = {deflection_mm!r}: must be > 0 mm")
    original = _wrapped(shape)
    if original is None or original.IsNull():
        raise GeometryError("tessellation: the shape is empty")
    copy = BRepBuilderAPI_Copy(original, True, False).Shape()
    deflection_mm = _mesh_every_face(copy, float(deflection_mm))
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
    return np.concatenate(all_vertices), np.concatenate(all_faces), np.concatenate(all_index), deflection_mm


def boundary_loops(faces: np.ndarray) -> tuple[list[list[int]], int]:
    """Closed loops of the directed edges used by one triangle only (the mesh's holes), and
    the number of such edges that do not form simple loops."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])

    key = np.sort(directed, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    open_mask = counts[inverse.ravel()] == 1
    open_edges = directed[open_mask]
    nxt: dict[int, list[int]] = {}
    for a, b in open_edges.tolist():
        nxt.setdefault(a, []).append(b)
    loops, used, stray = [], set(), 0
    for a, b in open_edges.tolist():
        if (a, b) in used:
            continue
        loop, cur, ok = [a], b, True
        used.add((a, b))
        while cur != a:
            if len(nxt.get(cur, ())) != 1 or cur in loop or len(loop) > 10_000:
                ok = False
                break
            loop.append(cur)
            step = nxt[cur][0]
            used.add((cur, step))
            cur = step
        if ok:
            loops.append(loop)
        else:
            stray += len(loop)

    return loops, stray


def _zip_polygon(points: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangulate a small closed polygon (n, 3) by repeatedly cutting off the corner whose
    new diagonal is shortest; triangles follow the polygon's order. For the thin sliver
    holes this zips the two long sides together (ear clipping in a best-fit plane fails on
    them: their projection is nearly degenerate)."""
    remaining = list(range(len(points)))
    out = []
    while len(remaining) > 3:
        m = len(remaining)
        idx = np.array(remaining)
        diagonals = np.linalg.norm(points[idx[np.arange(m) - 1]] - points[idx[(np.arange(m) + 1) % m]], axis=1)
        k = int(np.argmin(diagonals))
        out.append((remaining[k - 1], remaining[k], remaining[(k + 1) % m]))
        remaining.pop(k)
    out.append(tuple(remaining))
    return out


def fill_small_holes(vertices: np.ndarray, faces: np.ndarray, face_index: np.ndarray,
                     max_perimeter_mm: float = tolerances.HOLE_FILL_MAX_PERIMETER_MM
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """Close the small holes OCCT's mesher leaves in very thin faces (see
    :data:`~implants.tolerances.HOLE_FILL_MAX_PERIMETER_MM`): each boundary loop shorter than
    ``max_perimeter_mm`` is triangulated (shortest diagonals first, winding matching its neighbours) and
    takes the B-rep face index of the triangle along its first edge. Returns the new faces,
    face indices and the number of holes filled."""
    loops, _ = boundary_loops(faces)
    if not loops:
        return faces, face_index, 0
    edge_face = {}
    for t, (a, b, c) in enumerate(faces.tolist()):
        edge_face[(a, b)] = edge_face[(b, c)] = edge_face[(c, a)] = t
    new_faces, new_index, filled = [], [], 0
    for loop in loops:
        pts = vertices[loop]
        perimeter = np.linalg.norm(np.roll(pts, -1, axis=0) - pts, axis=1).sum()
        if perimeter > max_perimeter_mm:
            continue
        patch = list(reversed(loop))  # the patch runs each open edge the other way
        triangles = _zip_polygon(vertices[patch])
        owner = face_index[edge_face[(loop[0], loop[1])]]
        new_faces.extend([patch[a], patch[b], patch[c]] for a, b, c in triangles)
        new_index.extend([owner] * len(triangles))
        filled += 1
    if not new_faces:
        return faces, face_index, 0
    return (np.vstack([faces, np.asarray(new_faces, dtype=np.int64)]),
            np.concatenate([face_index, np.asarray(new_index, dtype=np.int64)]), filled)


#: Finer deflections (fractions of the requested one) tried when OCCT's mesher leaves a face
#: without triangles: it gives up on some sub-mm² B-spline slivers (serrations meeting a
#: filleted corner) at one deflection and meshes them at a finer one. The whole shape is
#: re-meshed, so shared edges stay conforming; the deflection used is recorded.
_RETRY_FRACTIONS = (1.0, 0.25, 0.05)


def _mesh_every_face(shape, deflection_mm: float) -> float:
    """Mesh ``shape`` in place; returns the deflection (mm) at which every face got triangles."""
    from OCP.BRep import BRep_Tool
    from OCP.BRepMesh import BRepMesh_IncrementalMesh
    from OCP.BRepTools import BRepTools
    from OCP.TopLoc import TopLoc_Location
    from OCP.TopoDS import TopoDS

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


def tessellate(shape: "cq.Shape", deflection_mm: float = tolerances.DEFAULT_DEFLECTION_MM) -> Tessellation:
    """Mesh ``shape`` (a copy of it) with an absolute chord deflection; see the module docstring."""
    import trimesh

    vertices, faces, face_index, deflection_mm = raw_triangulation(shape, deflection_mm)
    vertices, faces = merge_vertices(vertices, faces)
    faces, face_index = _collapse_slivers(vertices, faces, face_index, tolerances.DEGENERATE_AREA_MM2)
    keep = clean_triangles(vertices, faces)
    faces, face_index = faces[keep], face_index[keep]
    faces, face_index, holes = fill_small_holes(vertices, faces, face_index)
    # drop vertices no triangle uses, keeping order
    used = np.zeros(len(vertices), dtype=bool)
    used[faces.ravel()] = True
    remap = np.cumsum(used) - 1
    vertices, faces = vertices[used], remap[faces]
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False, validate=False)
    face_index.setflags(write=False)
    return Tessellation(mesh=mesh, face_index=face_index, deflection_mm=float(deflection_mm), holes_filled=holes)


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
