"""Gaps along one axis between points and a bone mesh: parallel rays, first hit (layer: checks).

The elastic-foundation pressure solver (:mod:`.pressure`) needs, for every spring (a bearing
triangle of the implant), the initial gap to the bone *along the load axis*. All those rays are
parallel, so the query is two-dimensional: project the bone triangles onto the plane normal to
the axis, bin them in a uniform grid, and for every point test the few triangles of its cell
(exact 2-D barycentric containment, the hit interpolated along the axis). Only bone triangles
whose outward normal faces the incoming ray count (the first surface met from outside).

This is this module's own query, deliberately independent of :mod:`.contact` (whose BVH
distance queries answer a different question): numpy only, no Embree; a 100k-point query
against a 50k-triangle bone takes ~0.1 s here (``benchmarks/bench_pressure.py``).
"""

from __future__ import annotations

import numpy as np
import trimesh

#: Barycentric slack: a point on a shared edge counts in both triangles (the nearer hit wins).
_EDGE_SLACK = 1e-9
#: Point-triangle pairs tested per vectorised batch (~15 float64 temporaries each: ~50 MB).
_PAIRS_PER_BATCH = 400_000


def plane_basis(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ``axis`` and two unit vectors spanning the plane normal to it: ``e1`` is patient +x
    (anterior) projected onto that plane (+y if the axis is along x), ``e2 = axis × e1`` (patient
    left for an axis near +z)."""
    up = np.asarray(axis, dtype=np.float64)
    up = up / np.linalg.norm(up)
    ref = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = ref - up * (ref @ up)
    e1 /= np.linalg.norm(e1)
    return up, e1, np.cross(up, e1)


def axial_gaps(points: np.ndarray, bone: trimesh.Trimesh, direction: np.ndarray, back_mm: float) -> np.ndarray:
    """Distance (mm) from each point along ``direction`` to the first bone surface facing it.

    Each ray starts ``back_mm`` behind its point, so a point up to ``back_mm`` inside the bone
    gets a negative gap (penetration); ``inf`` where the ray meets no bone surface. A closed bone
    mesh with inward normals (negative volume) is handled as if it were outward."""
    s, e1, e2 = plane_basis(direction)
    pts = np.asarray(points, dtype=np.float64)
    gaps = np.full(len(pts), np.inf)
    if not len(pts):
        return gaps
    faces = np.asarray(bone.faces)
    inward = bone.is_watertight and bone.is_winding_consistent and bone.volume < 0
    along = np.asarray(bone.face_normals) @ s
    faces = faces[(along > 0) if inward else (along < 0)]
    vertices = np.asarray(bone.vertices, dtype=np.float64)
    basis = np.stack([e1, e2], axis=1)
    q2 = pts @ basis
    qw = pts @ s - back_mm
    t2 = (vertices @ basis)[faces]          # (m, 3, 2)
    tw = (vertices @ s)[faces]              # (m, 3)
    lo, hi = t2.min(axis=1), t2.max(axis=1)
    keep = (tw.max(axis=1) >= qw.min()) & np.all(hi >= q2.min(axis=0), axis=1) & np.all(lo <= q2.max(axis=0), axis=1)
    if not keep.any():
        return gaps
    t2, tw, lo, hi = t2[keep], tw[keep], lo[keep], hi[keep]
    cell_of, starts, members = _grid(q2, lo, hi)
    a = t2[:, 0]
    v0, v1 = t2[:, 1] - a, t2[:, 2] - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    ok = np.abs(det) > 1e-14 * np.maximum(np.abs(v0).sum(1), np.abs(v1).sum(1)) ** 2
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    wa, dwb, dwc = tw[:, 0], tw[:, 1] - tw[:, 0], tw[:, 2] - tw[:, 0]
    counts = starts[cell_of + 1] - starts[cell_of]
    # batches of points whose candidate pairs fit in memory
    cum = np.cumsum(counts)
    first = 0
    while first < len(pts):
        last = int(np.searchsorted(cum, (cum[first - 1] if first else 0) + _PAIRS_PER_BATCH, side="right"))
        last = max(last, first + 1)
        block = np.arange(first, last)
        sizes = counts[first:last]
        owner = np.repeat(np.arange(len(block)), sizes)
        offset = np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        tri = members[starts[cell_of[block]][owner] + offset]
        q = block[owner]
        d = q2[q] - a[tri]
        l1 = (d[:, 0] * v1[tri, 1] - d[:, 1] * v1[tri, 0]) * inv[tri]
        l2 = (v0[tri, 0] * d[:, 1] - v0[tri, 1] * d[:, 0]) * inv[tri]
        hit = ok[tri] & (l1 >= -_EDGE_SLACK) & (l2 >= -_EDGE_SLACK) & (l1 + l2 <= 1 + _EDGE_SLACK)
        t = wa[tri] + l1 * dwb[tri] + l2 * dwc[tri] - qw[q]
        hit &= t >= 0
        best = np.full(len(block), np.inf)
        np.minimum.at(best, owner[hit], t[hit])
        gaps[block] = best - back_mm
        first = last
    return gaps


def _grid(q2: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A uniform 2-D grid over the query points (cells about the median triangle size): the
    cell of every point and the triangles overlapping each cell (CSR: ``members[starts[c]:starts[c + 1]]``)."""
    extent = hi - lo
    size = float(np.median(extent.max(axis=1)))
    qlo, qhi = q2.min(axis=0), q2.max(axis=0)
    span = np.maximum(qhi - qlo, 1e-9)
    size = max(size, float(span.max()) / 2048.0, 1e-6)
    nx, ny = (np.floor(span / size).astype(np.int64) + 1)
    ix0 = np.clip(np.floor((lo[:, 0] - qlo[0]) / size).astype(np.int64), 0, nx - 1)
    ix1 = np.clip(np.floor((hi[:, 0] - qlo[0]) / size).astype(np.int64), 0, nx - 1)
    iy0 = np.clip(np.floor((lo[:, 1] - qlo[1]) / size).astype(np.int64), 0, ny - 1)
    iy1 = np.clip(np.floor((hi[:, 1] - qlo[1]) / size).astype(np.int64), 0, ny - 1)
    wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
    count = wx * wy
    tri = np.repeat(np.arange(len(lo)), count)
    k = np.arange(len(tri)) - np.repeat(np.cumsum(count) - count, count)
    cells = (ix0[tri] + k % wx[tri]) * ny + iy0[tri] + k // wx[tri]
    order = np.argsort(cells, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(cells, minlength=int(nx * ny)))])
    cx = np.floor((q2[:, 0] - qlo[0]) / size).astype(np.int64)
    cy = np.floor((q2[:, 1] - qlo[1]) / size).astype(np.int64)
    cell_of = np.clip(cx, 0, nx - 1) * ny + np.clip(cy, 0, ny - 1)
    return cell_of, starts, tri[order]
