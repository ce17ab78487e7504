"""Baseline for ``bench_contact.py``: the contact-area method of ``implants.checks.contact`` between
the R-tree method (``contact_rtree_baseline.py``) and the corner-distance refinement (issue 18),
kept as the yardstick: libigl's AABB tree queried at the centroid of every node, a node decided
by its centroid's distance ± its circumradius, halved by longest-edge bisection down to the
sample spacing where the centroid decides; deep penetration from a k-d tree bound and a
containment test. Same inputs; not used by the library.
"""

from __future__ import annotations

import numpy as np
import trimesh
from contact_rtree_baseline import inside_beyond_tolerance  # beside this file

from implants import tolerances
from implants.checks.closest_point import ClosestPointTree
from implants.checks.contact import ContactResult


def bisect_once(tris: np.ndarray) -> np.ndarray:
    """Halve each triangle (n, 3, 3) at the midpoint of its longest edge: (2n, 3, 3), the
    halves of i at 2i and 2i + 1, orientation kept. Repeated, it keeps the shapes bounded
    (a sliver's long side is what gets cut)."""
    edges = np.linalg.norm(tris[:, [1, 2, 0]] - tris, axis=2)  # v0v1, v1v2, v2v0
    order = (np.arange(3)[None, :] + edges.argmax(axis=1)[:, None]) % 3  # longest edge becomes v0v1
    tris = np.take_along_axis(tris, order[:, :, None], axis=1)
    mid = 0.5 * (tris[:, 0] + tris[:, 1])
    first = np.stack([tris[:, 0], mid, tris[:, 2]], axis=1)
    second = np.stack([mid, tris[:, 1], tris[:, 2]], axis=1)
    return np.stack([first, second], axis=1).reshape(-1, 3, 3)


def contact_area_centroid(implant_mesh: trimesh.Trimesh, endplate_mesh: trimesh.Trimesh,
                 tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM, footprint_mm2: float | None = None,
                 spacing_mm: float = tolerances.CONTACT_SAMPLE_SPACING_MM) -> ContactResult:
    """Area (mm²) of ``implant_mesh`` surface within ``tolerance_mm`` of ``endplate_mesh`` as
    ``implants.checks.contact`` measured it before the corner-distance refinement (issue 18)."""
    implant, endplate = implant_mesh, endplate_mesh
    tol = float(tolerance_mm)
    imp_tris = np.asarray(implant.vertices, dtype=np.float64)[np.asarray(implant.faces)]
    ep_vertices = np.asarray(endplate.vertices, dtype=np.float64)
    closed = bool(endplate.is_watertight and endplate.is_winding_consistent)
    outward = -1.0 if closed and endplate.volume < 0 else 1.0  # an inverted mesh's normals point in
    tree = ClosestPointTree(ep_vertices, np.asarray(endplate.faces))

    # 1. the first nodes: implant triangles whose box meets the endplate's box grown by tol
    lo, hi = imp_tris.min(axis=1), imp_tris.max(axis=1)
    ep_lo, ep_hi = ep_vertices.min(axis=0) - tol, ep_vertices.max(axis=0) + tol
    parent = np.flatnonzero(np.all((hi >= ep_lo) & (lo <= ep_hi), axis=1))
    nodes = imp_tris[parent]
    triangle_area = np.zeros(len(imp_tris))
    reachable = np.zeros(len(imp_tris), dtype=bool)
    evaluated = 0
    max_depth = 0.0
    # 2. adaptive refinement: the distance to a mesh is 1-Lipschitz, so a node whose centroid
    #    lies within tol − r (r: its circumradius) is wholly in contact and one farther than
    #    tol + r wholly out; the others are halved (longest-edge bisection) down to sides of
    #    the sample spacing, where the centroid decides
    while len(nodes):
        centroid = nodes.mean(axis=1)
        radius = np.linalg.norm(nodes - centroid[:, None, :], axis=2).max(axis=1)
        longest = np.linalg.norm(nodes[:, [1, 2, 0]] - nodes, axis=2).max(axis=1)
        d2, tri, closest = tree.nearest(centroid)
        dist = np.sqrt(d2)
        evaluated += len(nodes)
        final = longest <= spacing_mm * (1 + 1e-9)
        inside_tol = dist <= tol
        contact = (dist + radius <= tol) | (final & inside_tol)
        decided = contact | (dist - radius > tol) | final
        reachable[parent[dist - radius <= tol]] = True
        area = 0.5 * np.linalg.norm(np.cross(nodes[:, 1] - nodes[:, 0], nodes[:, 2] - nodes[:, 0]), axis=1)
        np.add.at(triangle_area, parent[contact], area[contact])
        if closed:  # only a centroid deeper than the deepest so far can change the figure
            check = np.flatnonzero(inside_tol & (dist > max_depth))
            sunk = check[tree.side(centroid[check], tri[check], closest[check]) * outward < 0]
            if len(sunk):
                max_depth = max(max_depth, float(dist[sunk].max()))
        open_nodes = np.flatnonzero(~decided)
        nodes = bisect_once(nodes[open_nodes])
        parent = np.repeat(parent[open_nodes], 2)
    if closed:
        max_depth = max(max_depth, _deep_penetration(implant, endplate, tree, tol))
    return ContactResult.of_triangles(triangle_area, tol, endplate, max_depth if closed else None, reachable.sum(),
                                      evaluated, footprint_mm2)


def _deep_penetration(implant: trimesh.Trimesh, endplate: trimesh.Trimesh, tree: ClosestPointTree, tol: float) -> float:
    """Deepest implant vertex inside the closed endplate mesh (mm), 0 if none is inside."""
    inside, _ = inside_beyond_tolerance(implant, endplate, tree.vertices, tol)
    if not len(inside):
        return 0.0
    d2, _, _ = tree.nearest(inside)
    return float(np.sqrt(d2.max()))
