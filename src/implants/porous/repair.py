"""Removal of the near-zero-area triangles a manifold3d boolean leaves, keeping a closed
oriented 2-manifold (layer: porous).

Where the lattice surface crosses the body's surface, an edge of one mesh passes within
nanometres of a vertex or an edge of the other and the intersection makes needles and specks
(measured on the lumbar ALIF cage, gyroid-skeletal 0.65 / 0.5 mm: 8 of 2.77 M triangles below
:data:`~implants.tolerances.DEGENERATE_AREA_MM2`, 1e-11 to 1e-10 mm², shortest edges 6e-9 to
1e-5 mm, all within 3 µm of the envelope). manifold3d's own clean-up (tolerance ≈ 2e-6 mm there)
and ``Manifold.simplify`` (tried up to 1e-4 mm, 5 s) leave needles whose short edge lies on the
crease between the two input meshes, so the exporter's zero-area check refused the porous meshes.

:func:`collapse_degenerate` removes them with two local operations that keep the mesh
closed and manifold:

* **edge collapse** when the triangle's shortest edge is at most ``max_collapse_mm`` (tiny
  triangles and needles): one end moves onto the other (a vertex moves by at most that
  length), the two triangles on the edge disappear; done only when the link condition holds
  (the two ends share exactly the two opposite vertices) and no surviving triangle flips;
* **edge flip** otherwise (caps: three distinct, nearly collinear vertices): the triangle and
  its neighbour across the longest edge become two triangles through the middle vertex (no
  vertex moves).

Both only reuse existing vertex positions, so the result has the same (float32) coordinates
as the boolean's output.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .. import tolerances

#: Triangles below this area (mm²) are removed: ten times the exporter's zero-area bound, so a
#: triangle just above it after the cleaning cannot fall under it when the check re-evaluates
#: the area (different summation order).
CLEAN_AREA_MM2 = 10 * tolerances.DEGENERATE_AREA_MM2
#: Longest edge (mm) collapsed to remove a tiny triangle or a needle: a vertex moves at most
#: this far (1 µm, far below the lattice's 0.05 mm surface error); longer degenerate
#: triangles are caps and are flipped instead.
MAX_COLLAPSE_MM = 1e-3
#: Passes of the local repair (each pass works on the triangles degenerate at its start).
MAX_PASSES = 8


def triangle_areas(vertices: np.ndarray, faces: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Areas (float64) of the triangles, in chunks (a few MB of temporaries at a time)."""
    if len(faces) <= chunk:
        tri = vertices[faces].astype(np.float64)
        return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    out = np.empty(len(faces))
    xyz = [np.ascontiguousarray(vertices[:, k], dtype=np.float64) for k in range(3)]
    for s in range(0, len(faces), chunk):
        f = faces[s:s + chunk]
        (ax, bx, cx), (ay, by, cy), (az, bz, cz) = ((x[f[:, 0]], x[f[:, 1]], x[f[:, 2]]) for x in xyz)
        bx -= ax; by -= ay; bz -= az  # noqa: E702
        cx -= ax; cy -= ay; cz -= az  # noqa: E702
        nx, ny, nz = by * cz - bz * cy, bz * cx - bx * cz, bx * cy - by * cx
        out[s:s + chunk] = 0.5 * np.sqrt(nx * nx + ny * ny + nz * nz)
    return out


def _normal(vertices: np.ndarray, face) -> np.ndarray:
    a, b, c = vertices[face[0]], vertices[face[1]], vertices[face[2]]
    return np.cross(b - a, c - a)


def collapse_degenerate(vertices: np.ndarray, faces: np.ndarray, min_area: float = CLEAN_AREA_MM2,
                        max_collapse_mm: float = MAX_COLLAPSE_MM) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Remove triangles of area < ``min_area`` from a closed manifold mesh.

    Returns ``(faces, kept, stats)``: the surviving faces (rows of the input, some with new
    vertex indices) and which input rows survive (``kept``: per-triangle data follows with
    ``data[kept]``), and the counts ``{"degenerate", "collapsed", "flipped", "remaining"}``.
    Vertices are not changed (some become unused). The areas of the whole mesh are computed
    once; later passes only look at the triangles the repairs touched."""
    faces = np.array(faces, dtype=np.int64, copy=True)
    alive = np.ones(len(faces), dtype=bool)
    bad = np.flatnonzero(triangle_areas(vertices, faces) < min_area)
    stats = {"degenerate": int(len(bad)), "collapsed": 0, "flipped": 0, "remaining": 0}
    for _ in range(MAX_PASSES):
        if len(bad) == 0:
            break
        touched = _repair_pass(vertices, faces, alive, bad, min_area, max_collapse_mm, stats)
        suspect = np.union1d(bad, np.fromiter(touched, dtype=np.int64, count=len(touched)))
        suspect = suspect[alive[suspect]]
        bad = suspect[triangle_areas(vertices, faces[suspect]) < min_area]
        if not touched:
            break
    stats["remaining"] = int(len(bad))
    return faces[alive], alive, stats


def _repair_pass(vertices, faces, alive, bad, min_area, max_collapse_mm, stats) -> set[int]:
    """One pass over the triangles ``bad``, on the patch of triangles within two rings of them.
    Returns the triangles it changed."""
    mark = np.zeros(int(faces.max()) + 1, dtype=bool)
    mark[faces[bad]] = True
    t1 = np.flatnonzero(alive & mark[faces].any(axis=1))
    v1 = np.unique(faces[t1])
    mark[v1] = True
    t2 = np.flatnonzero(alive & mark[faces].any(axis=1))
    # stars (incident triangles) are complete for the vertices of v1
    star: dict[int, set[int]] = defaultdict(set)
    for t, face in zip(t2.tolist(), faces[t2].tolist()):
        for v in face:
            star[v].add(t)
    known = set(v1.tolist())
    touched: set[int] = set()
    for t in bad.tolist():
        if not alive[t]:
            continue
        face = faces[t].tolist()
        if not all(v in known for v in face):
            continue
        if float(np.linalg.norm(_normal(vertices, face))) * 0.5 >= min_area:
            continue  # no longer degenerate (a neighbour's repair changed it)
        pts = vertices[face]
        lengths = np.linalg.norm(pts[[1, 2, 0]] - pts, axis=1)  # edge k runs face[k] -> face[k+1]
        changed: set[int] = set()
        if lengths.min() <= max_collapse_mm:  # a speck or a needle: collapse a short edge
            for k in np.argsort(lengths, kind="stable").tolist():
                if lengths[k] > max_collapse_mm:
                    break
                changed = _collapse(vertices, faces, alive, star, face[k], face[(k + 1) % 3], min_area)
                if changed:
                    stats["collapsed"] += 1
                    break
        else:  # a cap: flip its longest edge
            k = int(np.argmax(lengths))
            changed = _flip(faces, star, t, face[k], face[(k + 1) % 3], face[(k + 2) % 3])
            stats["flipped"] += bool(changed)
        touched |= changed
    return touched


def _collapse(vertices, faces, alive, star, u: int, v: int, min_area: float) -> set[int]:
    """Collapse the edge (u, v): one end is removed, its triangles take the other end.
    Returns the triangles that changed (empty: not possible here)."""
    shared = star[u] & star[v]
    if len(shared) != 2:
        return set()
    opposite = set()
    for t in shared:
        opposite.update(faces[t].tolist())
    opposite -= {u, v}
    if len(opposite) != 2:
        return set()
    ring_u = {w for t in star[u] for w in faces[t].tolist()} - {u}
    ring_v = {w for t in star[v] for w in faces[t].tolist()} - {v}
    if ring_u & ring_v != opposite:
        return set()  # link condition: collapsing would pinch the surface
    if len(ring_u | ring_v) <= 3:
        return set()  # a tetrahedron-like closed bit: nothing manifold remains
    for keep, gone in ((min(u, v), max(u, v)), (max(u, v), min(u, v))):
        moved = [t for t in star[gone] if t not in shared]
        ok = True
        for t in moved:
            old = faces[t]
            new = np.where(old == gone, keep, old)
            n_old, n_new = _normal(vertices, old), _normal(vertices, new)
            # a surviving triangle must not turn over (tiny ones may: they are repaired next)
            if 0.5 * np.linalg.norm(n_new) >= min_area and float(n_old @ n_new) <= 0.0:
                ok = False
                break
        if not ok:
            continue
        for t in shared:
            alive[t] = False
            for w in faces[t].tolist():
                star[w].discard(t)
        for t in moved:
            faces[t][faces[t] == gone] = keep
            star[keep].add(t)
        star[gone] = set()
        return set(moved) | shared
    return set()


def _flip(faces, star, t: int, u: int, v: int, mid: int) -> set[int]:
    """Flip the edge (u, v) of the cap ``t`` = (u, v, mid) with its neighbour (v, u, w).
    Returns the two triangles (empty: not possible here)."""
    across = [s for s in star[u] & star[v] if s != t]
    if len(across) != 1:
        return set()
    nb = across[0]
    x, y, z = faces[nb].tolist()
    order = {(x, y): z, (y, z): x, (z, x): y}
    if (v, u) not in order:
        return set()
    w = order[(v, u)]
    if w == mid or any(w in faces[s] for s in star[mid]):
        return set()  # the edge (mid, w) exists already
    faces[t] = (v, mid, w)
    faces[nb] = (mid, u, w)
    star[v].discard(nb)
    star[u].discard(t)
    star[mid].add(nb)
    star[w].add(t)
    return {t, nb}
