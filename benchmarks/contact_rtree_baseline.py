"""Baseline for ``bench_contact.py``: the contact-area method that ``implants.checks.contact``
used before libigl's AABB tree (issue 18), kept (same logic) as the yardstick: an R-tree of the
endplate triangles' boxes gives each implant triangle its candidate endplate triangles
(``Index.intersection_v``), and vectorised numpy point-triangle distances to those candidates
drive an adaptive refinement of the implant triangles (split in four, decided at centroids).
Same inputs; not used by the library.
"""

from __future__ import annotations

import numpy as np
import trimesh
from rtree import index as rtree_index
from scipy.spatial import cKDTree

from implants import tolerances
from implants.checks.contact import ContactResult

#: Chunk size (mm) of the first refinement level (rounded up to the sample spacing × 2^k):
#: small enough that a chunk has few candidate endplate triangles, large enough that the
#: R-tree is queried few times.
CHUNK_MM = 1.0
#: Point-triangle pairs evaluated per vectorised batch (~20 temporaries of 8 bytes each: ~65 MB).
MAX_PAIRS = 400_000
#: Two distances closer than this (mm²) reach the same closest feature (edge or vertex
#: shared by triangles): their normals are summed into the pseudo-normal.
_SAME_DISTANCE_MM2 = 1e-10


def bisect_long_triangles(tris: np.ndarray, parent: np.ndarray, max_edge: float) -> tuple[np.ndarray, np.ndarray]:
    """Split triangles (n, 3, 3) by longest-edge bisection until no edge exceeds ``max_edge``.
    Orientation is kept; ``parent`` follows the pieces."""
    done_t, done_p = [], []
    while len(tris):
        edges = np.linalg.norm(tris[:, [1, 2, 0]] - tris, axis=2)  # v0v1, v1v2, v2v0
        longest = edges.argmax(axis=1)
        ok = edges[np.arange(len(tris)), longest] <= max_edge
        done_t.append(tris[ok])
        done_p.append(parent[ok])
        tris, parent, longest = tris[~ok], parent[~ok], longest[~ok]
        if not len(tris):
            break
        order = (np.arange(3)[None, :] + longest[:, None]) % 3  # longest edge becomes v0v1
        tris = np.take_along_axis(tris, order[:, :, None], axis=1)
        mid = 0.5 * (tris[:, 0] + tris[:, 1])
        first = np.stack([tris[:, 0], mid, tris[:, 2]], axis=1)
        second = np.stack([mid, tris[:, 1], tris[:, 2]], axis=1)
        tris = np.concatenate([first, second])
        parent = np.concatenate([parent, parent])
    return np.concatenate(done_t), np.concatenate(done_p)


class _Triangles:
    """Per-triangle constants of the endplate for vectorised point-triangle distances."""

    def __init__(self, tris: np.ndarray) -> None:
        self.a = tris[:, 0]
        self.ab = tris[:, 1] - tris[:, 0]
        self.ac = tris[:, 2] - tris[:, 0]
        self.d00 = np.einsum("ij,ij->i", self.ab, self.ab)
        self.d01 = np.einsum("ij,ij->i", self.ab, self.ac)
        self.d11 = np.einsum("ij,ij->i", self.ac, self.ac)
        normal = np.cross(self.ab, self.ac)
        length = np.linalg.norm(normal, axis=1)
        self.degenerate = length <= 1e-14 * np.maximum(self.d00, self.d11)
        self.normal = normal / np.where(self.degenerate, 1.0, length)[:, None]
        self.denom = np.where(self.degenerate, 1.0, self.d00 * self.d11 - self.d01 ** 2)

    def distances(self, points: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Squared distance and signed plane distance from ``points`` (E, S, 3) to triangles
        ``tri`` (E,): exact (projection inside the triangle, else the nearest edge)."""
        a, ab, ac, normal = self.a[tri], self.ab[tri], self.ac[tri], self.normal[tri]
        wx = points[..., 0] - a[:, 0:1]
        wy = points[..., 1] - a[:, 1:2]
        wz = points[..., 2] - a[:, 2:3]
        d20 = wx * ab[:, 0:1] + wy * ab[:, 1:2] + wz * ab[:, 2:3]
        d21 = wx * ac[:, 0:1] + wy * ac[:, 1:2] + wz * ac[:, 2:3]
        plane = wx * normal[:, 0:1] + wy * normal[:, 1:2] + wz * normal[:, 2:3]
        ww = wx * wx + wy * wy + wz * wz
        del wx, wy, wz
        d00, d01, d11 = self.d00[tri][:, None], self.d01[tri][:, None], self.d11[tri][:, None]
        inv = (1.0 / self.denom[tri])[:, None]
        v = (d11 * d20 - d01 * d21) * inv
        u = (d00 * d21 - d01 * d20) * inv
        inside = (v >= 0) & (u >= 0) & (u + v <= 1) & ~self.degenerate[tri][:, None]
        del u, v
        # edge a→b
        t = np.clip(d20 * (1.0 / np.maximum(d00, 1e-300)), 0.0, 1.0)
        best = ww - t * (2 * d20 - t * d00)
        # edge a→c
        t = np.clip(d21 * (1.0 / np.maximum(d11, 1e-300)), 0.0, 1.0)
        np.minimum(best, ww - t * (2 * d21 - t * d11), out=best)
        # edge b→c: p − b = w − ab, bc = ac − ab
        d22 = d00 + d11 - 2 * d01  # |bc|²
        wb_bc = (d21 - d20) - (d01 - d00)
        t = np.clip(wb_bc * (1.0 / np.maximum(d22, 1e-300)), 0.0, 1.0)
        np.minimum(best, (ww - 2 * d20 + d00) - t * (2 * wb_bc - t * d22), out=best)
        d2 = np.where(inside, plane * plane, best)
        np.maximum(d2, 0.0, out=d2)
        return d2, plane


def _rtree(mins: np.ndarray, maxs: np.ndarray):
    props = rtree_index.Property()
    props.dimension = 3
    # smaller nodes than the default 100 answer bulk queries ~25 % faster here
    props.leaf_capacity = 32
    props.index_capacity = 32
    return rtree_index.Index((np.arange(len(mins), dtype=np.int64), np.ascontiguousarray(mins),
                        np.ascontiguousarray(maxs)), properties=props)


def _query(index, mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bulk box query: (ids of hits, count per box) as int64 arrays."""
    ids, counts = index.intersection_v(np.ascontiguousarray(mins, dtype=np.float64),
                                       np.ascontiguousarray(maxs, dtype=np.float64))
    return ids.astype(np.int64, copy=False), counts.astype(np.int64, copy=False)


def _nearest_distances(points: np.ndarray, tris: _Triangles, tree_vertices, index, vertices: np.ndarray
                       ) -> np.ndarray:
    """Exact distance (mm) from each point to the endplate surface (used for the few
    implant vertices found inside the endplate, deeper than the tolerance)."""
    out = np.empty(len(points))
    bound, _ = tree_vertices.query(points)  # distance to the nearest vertex: an upper bound
    for start in range(0, len(points), 256):
        p = points[start:start + 256]
        r = bound[start:start + 256][:, None] + 1e-9
        ids, counts = _query(index, p - r, p + r)
        owner = np.repeat(np.arange(len(p)), counts)
        d2 = np.full(len(p), np.inf)
        for s in range(0, len(ids), MAX_PAIRS):
            sl = slice(s, s + MAX_PAIRS)
            dd, _ = tris.distances(p[owner[sl]][:, None, :], ids[sl])
            np.minimum.at(d2, owner[sl], dd[:, 0])
        out[start:start + 256] = np.sqrt(d2)
    return out


def _gather_blocks(offsets: np.ndarray, blocks: np.ndarray, repeat: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the entries of ``blocks`` (block b spans offsets[b]:offsets[b+1]), each
    block repeated ``repeat`` times in a row, and the new owner of every position
    (block j's r-th copy is owner j * repeat + r): vectorised, grouped by owner."""
    sizes = np.repeat(offsets[blocks + 1] - offsets[blocks], repeat)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(len(owner)) - first[owner] + offsets[blocks][owner // repeat]
    return position, owner


def split_in_four(tris: np.ndarray) -> np.ndarray:
    """Midpoint subdivision: each triangle (n, 3, 3) into 4 (4n, 3, 3), children of i at 4i..4i+3."""
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    ab, bc, ca = 0.5 * (a + b), 0.5 * (b + c), 0.5 * (c + a)
    return np.stack([np.stack([a, ab, ca], 1), np.stack([ab, b, bc], 1),
                     np.stack([ca, bc, c], 1), np.stack([ab, bc, ca], 1)], axis=1).reshape(-1, 3, 3)


def _pair_distances(tris: _Triangles, points: np.ndarray, owner: np.ndarray, tri: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Squared distance and signed plane distance of points[owner] to triangles ``tri`` (batched)."""
    d2 = np.empty(len(owner))
    plane = np.empty(len(owner))
    for s in range(0, len(owner), MAX_PAIRS):
        sl = slice(s, s + MAX_PAIRS)
        dd, pp = tris.distances(points[owner[sl]][:, None, :], tri[sl])
        d2[sl], plane[sl] = dd[:, 0], pp[:, 0]
    return d2, plane


def contact_area_rtree(implant_mesh: trimesh.Trimesh, endplate_mesh: trimesh.Trimesh,
                 tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM, footprint_mm2: float | None = None,
                 spacing_mm: float = tolerances.CONTACT_SAMPLE_SPACING_MM) -> ContactResult:
    """Area (mm²) of ``implant_mesh`` surface within ``tolerance_mm`` of ``endplate_mesh``,
    as % of ``footprint_mm2`` (if given) and of the endplate mesh area; see the module docstring."""
    implant, endplate = implant_mesh, endplate_mesh
    tol = float(tolerance_mm)
    imp_tris = np.asarray(implant.vertices, dtype=np.float64)[np.asarray(implant.faces)]
    ep_vertices = np.asarray(endplate.vertices, dtype=np.float64)
    ep_tris = ep_vertices[np.asarray(endplate.faces)]
    closed = bool(endplate.is_watertight and endplate.is_winding_consistent)
    outward = -1.0 if closed and endplate.volume < 0 else 1.0  # an inverted mesh's normals point in
    tris = _Triangles(ep_tris)
    index = _rtree(ep_tris.min(axis=1) - tol, ep_tris.max(axis=1) + tol)

    triangle_area = np.zeros(len(imp_tris))
    evaluated = 0
    max_depth = 0.0
    # 1. implant triangles that can come within tol, with their candidate endplate triangles
    lo, hi = imp_tris.min(axis=1), imp_tris.max(axis=1)
    ep_lo, ep_hi = ep_tris.min(axis=(0, 1)) - tol, ep_tris.max(axis=(0, 1)) + tol
    near_box = np.flatnonzero(np.all((hi >= ep_lo) & (lo <= ep_hi), axis=1))  # cheap first cut
    counts = np.zeros(len(imp_tris), dtype=np.int64)
    box_ids, counts[near_box] = _query(index, lo[near_box], hi[near_box])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    ids = box_ids  # grouped by triangle in index order, as offsets expects
    candidates = np.flatnonzero(counts > 0)
    # 2. nodes of the first level: candidate triangles no longer than the chunk size keep their
    #    candidates; longer ones are bisected into chunks that are queried again
    chunk_size = spacing_mm * 2.0 ** max(0, int(np.ceil(np.log2(CHUNK_MM / spacing_mm))))
    edge = np.linalg.norm(imp_tris[candidates][:, [1, 2, 0]] - imp_tris[candidates], axis=2).max(axis=1)
    small = candidates[edge <= chunk_size]
    large = candidates[edge > chunk_size]
    position, owner = _gather_blocks(offsets, small)
    node_tris, node_parent, entry_owner, entry_tri = [imp_tris[small]], [small], [owner], [ids[position]]
    if len(large):
        chunks, parent = bisect_long_triangles(imp_tris[large], large, chunk_size)
        c_ids, c_counts = _query(index, chunks.min(axis=1), chunks.max(axis=1))
        node_tris.append(chunks)
        node_parent.append(parent)
        entry_owner.append(np.repeat(np.arange(len(chunks)), c_counts) + len(small))
        entry_tri.append(c_ids)
    nodes = np.concatenate(node_tris)
    parent = np.concatenate(node_parent)
    e_owner = np.concatenate(entry_owner)
    e_tri = np.concatenate(entry_tri)
    # 3. adaptive refinement: the distance to a mesh is 1-Lipschitz, so a node whose centroid
    #    lies within tol − r (r: its circumradius) is wholly in contact and one farther than
    #    tol + r wholly out; the others are split in 4 (keeping the candidates that can still be
    #    within tol) down to the sample spacing, where the centroid decides
    while len(nodes):
        counts = np.bincount(e_owner, minlength=len(nodes))
        has = counts > 0
        if not has.all():  # nodes without candidates are out
            keep = np.flatnonzero(has)
            remap = np.cumsum(has) - 1
            nodes, parent, counts = nodes[keep], parent[keep], counts[keep]
            e_owner = remap[e_owner]
            if not len(nodes):
                break
        centroid = nodes.mean(axis=1)
        radius = np.linalg.norm(nodes - centroid[:, None, :], axis=2).max(axis=1)
        longest = np.linalg.norm(nodes[:, [1, 2, 0]] - nodes, axis=2).max(axis=1)
        d2e, plane = _pair_distances(tris, centroid, e_owner, e_tri)
        evaluated += len(nodes)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        best = np.minimum.reduceat(d2e, starts)
        dist = np.sqrt(best)
        final = longest <= spacing_mm * (1 + 1e-9)
        inside_tol = dist <= tol
        contact = (dist + radius <= tol) | (final & inside_tol)
        decided = contact | (dist - radius > tol) | final
        area = 0.5 * np.linalg.norm(np.cross(nodes[:, 1] - nodes[:, 0], nodes[:, 2] - nodes[:, 0]), axis=1)
        np.add.at(triangle_area, parent[contact], area[contact])
        if closed:
            near = d2e <= best[e_owner] + _SAME_DISTANCE_MM2
            side = np.add.reduceat(np.where(near, plane, 0.0), starts) * outward
            sunk = inside_tol & (side < 0)
            if sunk.any():
                max_depth = max(max_depth, float(dist[sunk].max()))
        # children of the undecided nodes inherit the candidates that can still be within tol
        open_nodes = np.flatnonzero(~decided)
        if not len(open_nodes):
            break
        useful = (~decided[e_owner]) & (np.sqrt(d2e) <= tol + radius[e_owner] + 1e-9)
        e_tri_kept = e_tri[useful]
        kept_owner = e_owner[useful]
        new_id = np.full(len(nodes), -1)
        new_id[open_nodes] = np.arange(len(open_nodes))
        kept_counts = np.bincount(new_id[kept_owner], minlength=len(open_nodes))
        kept_offsets = np.concatenate([[0], np.cumsum(kept_counts)])
        position, e_owner = _gather_blocks(kept_offsets, np.arange(len(open_nodes)), repeat=4)
        e_tri = e_tri_kept[position]
        nodes = split_in_four(nodes[open_nodes])
        parent = np.repeat(parent[open_nodes], 4)
    if closed:
        max_depth = max(max_depth, _deep_penetration(implant, endplate, tris, index, ep_vertices, tol))
    return ContactResult.of_triangles(triangle_area, tol, endplate, max_depth if closed else None, len(candidates),
                                      evaluated, footprint_mm2)


def inside_beyond_tolerance(implant: trimesh.Trimesh, endplate: trimesh.Trimesh, ep_vertices: np.ndarray,
                            tol: float) -> tuple[np.ndarray, cKDTree | None]:
    """The implant vertices inside the closed endplate mesh and farther than ``tol`` from every
    endplate vertex (those nearer are at most tol deep: the sampled pass covers them), and the
    endplate vertices' k-d tree (None when no vertex lies in the endplate's box)."""
    vertices = np.asarray(implant.vertices, dtype=np.float64)
    lo, hi = endplate.bounds
    in_box = np.flatnonzero(np.all((vertices >= lo) & (vertices <= hi), axis=1))
    if not len(in_box):
        return np.zeros((0, 3)), None
    tree = cKDTree(ep_vertices)
    bound, _ = tree.query(vertices[in_box])
    deep = in_box[bound > tol]
    return vertices[deep[endplate.contains(vertices[deep])]] if len(deep) else np.zeros((0, 3)), tree


def _deep_penetration(implant: trimesh.Trimesh, endplate: trimesh.Trimesh, tris: _Triangles, index,
                      ep_vertices: np.ndarray, tol: float) -> float:
    """Deepest implant vertex inside the closed endplate mesh (mm), 0 if none is inside."""
    inside, tree = inside_beyond_tolerance(implant, endplate, ep_vertices, tol)
    if not len(inside):
        return 0.0
    return float(_nearest_distances(inside, tris, tree, index, ep_vertices).max())
