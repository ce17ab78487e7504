"""The porous body out of the intersection of the lattice with the envelope (layer: porous).

The manifold3d intersection of the body with the lattice keeps the body's exact outer surfaces.
Loose fragments of lattice cut off at the boundary are dropped (connected components of the
triangle graph; components of negative volume are closed pore cavities sealed by a wall skin,
not bodies); the near-zero-area triangles the intersection leaves where the two surfaces cross
within microns of each other's vertices are removed by edge collapses / flips (:mod:`.repair`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import manifold3d as m3d
import numpy as np
import trimesh
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import GeometryError
from .meshing import LATTICE_FACE_ID, signed_volumes
from .repair import collapse_degenerate

#: Fragments smaller than this fraction of the largest body are dropped (loose bits of
#: lattice cut off by the outer surface); larger extra bodies are an error.
FRAGMENT_FRACTION = 0.01


@dataclass
class PorousBody:
    """The largest body of the intersection and what was removed to get it."""

    mesh: trimesh.Trimesh
    from_lattice: np.ndarray          # per triangle of ``mesh``: it comes from the lattice surface
    volume_mm3: float                 # of the largest body (before the degenerate-triangle repair)
    fragments_mm3: list[float]        # volumes of the dropped fragments
    closed_cavities: int
    repaired: dict[str, int]          # counts of :func:`.repair.collapse_degenerate`


def largest_body(result: m3d.Manifold, timings: dict[str, float]) -> PorousBody:
    """The largest body of the boolean ``result`` as a trimesh (fragments dropped, degenerate
    triangles repaired); the lattice's triangles carry ``face_id`` :data:`.meshing.LATTICE_FACE_ID`.
    GeometryError when an extra body is larger than :data:`FRAGMENT_FRACTION` of the largest.
    Records ``repair_s`` and ``fragments_s`` in ``timings``."""
    t1 = time.perf_counter()
    fm = result.to_mesh()
    vout = np.asarray(fm.vert_properties)[:, :3].astype(np.float64)
    fout = np.asarray(fm.tri_verts, dtype=np.int64)
    # bodies by connected components of the triangle graph (cheaper than Manifold.decompose)
    nv = len(vout)
    graph = coo_matrix((np.ones(2 * len(fout), dtype=np.int8),
                        (np.concatenate([fout[:, 0], fout[:, 1]]), np.concatenate([fout[:, 1], fout[:, 2]]))),
                       shape=(nv, nv))
    n_comp, label = connected_components(graph, directed=False)
    del graph
    tri_label = label[fout[:, 0]]
    tri_vol = signed_volumes(vout, fout)
    volumes = np.bincount(tri_label, weights=tri_vol, minlength=n_comp)
    cavities = int((volumes < 0).sum())
    positive = np.flatnonzero(volumes > 0)
    main = positive[np.argmax(volumes[positive])]
    small = [int(i) for i in positive if i != main]
    dropped = [float(volumes[i]) for i in small]
    if dropped and max(dropped) > FRAGMENT_FRACTION * volumes[main]:
        raise GeometryError(f"lattice split the body into {len(positive)} parts (largest extra {max(dropped):.1f} mm³)")
    keep_tri = ~np.isin(tri_label, small) if small else np.ones(len(fout), dtype=bool)
    volume = float(tri_vol[keep_tri].sum())
    from_lattice = np.asarray(fm.face_id) == LATTICE_FACE_ID
    del fm
    fout, from_lattice = fout[keep_tri], from_lattice[keep_tri]
    # the intersection leaves needles and specks (1e-11 mm²) where the lattice crosses the
    # body's surface next to its vertices/edges: collapse or flip them (same coordinates)
    t2 = time.perf_counter()
    fout, kept, repaired = collapse_degenerate(vout, fout)
    from_lattice = from_lattice[kept]
    timings["repair_s"] = time.perf_counter() - t2
    used = np.zeros(nv, dtype=bool)
    used[fout.ravel()] = True
    remap = np.cumsum(used) - 1
    mesh = trimesh.Trimesh(vertices=vout[used], faces=remap[fout], process=False, validate=False)
    timings["fragments_s"] = time.perf_counter() - t1
    return PorousBody(mesh, from_lattice, volume, dropped, cavities, repaired)
