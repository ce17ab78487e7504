"""Repair of a raw triangulation (layer: writers): what OCCT's mesher leaves, made a clean
closed mesh. numpy and scipy only; the meshing itself is :mod:`implants.writers.tessellate`.

Coincident vertices along shared edges are merged, zero-area triangles are dropped (collinear
slivers are collapsed first, so the mesh stays closed: ARCHITECTURE.md pitfalls), the few tiny
holes OCCT leaves in sliver faces are closed, and unused vertices are removed. Every triangle
keeps the index of the B-rep face it came from.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .. import tolerances


def merge_vertices(vertices: np.ndarray, faces: np.ndarray,
                   tolerance: float = tolerances.MERGE_TOLERANCE_MM) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices closer than ``tolerance`` (mm); each cluster keeps its first vertex.

    Deterministic: clusters are the connected components of the "closer than" graph and
    keep the position of their lowest-index vertex, in first-appearance order.
    """
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


def repair_triangulation(vertices: np.ndarray, faces: np.ndarray, face_index: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A raw triangulation (vertices in mm, triangles, B-rep face index per triangle) made clean:
    vertices merged, slivers collapsed, zero-area triangles dropped, small holes filled, unused
    vertices removed (order kept). Returns vertices, faces, face index and the number of holes filled."""
    vertices, faces = merge_vertices(vertices, faces)
    faces, face_index = _collapse_slivers(vertices, faces, face_index, tolerances.DEGENERATE_AREA_MM2)
    keep = clean_triangles(vertices, faces)
    faces, face_index = faces[keep], face_index[keep]
    faces, face_index, holes = fill_small_holes(vertices, faces, face_index)
    used = np.zeros(len(vertices), dtype=bool)
    used[faces.ravel()] = True
    remap = np.cumsum(used) - 1
    return vertices[used], remap[faces], face_index, holes
