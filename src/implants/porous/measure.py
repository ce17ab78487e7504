"""Pore size and wall thickness measured on voxel images (scipy distance transforms), and the
voxel image of a manifold3d solid (layer: porous).

**Pore size** here is the *percolation* (throat) diameter: the diameter of the largest sphere
that can travel through the connected pore space from one face of the sample to the
opposite one. It is found by bisection on the radius ``r``: the sphere centres allowed are
the pore voxels whose Euclidean distance to the nearest solid voxel is ≥ ``r``
(``distance_transform_edt``); the sphere passes if one connected component of them
(6-connectivity) touches both faces along some axis. The distance runs from a voxel centre
to the nearest solid voxel centre while the surface lies on average half a voxel nearer, so
the diameter is ``2 r − h`` (h the voxel size). The largest inscribed sphere (the widest
point of a channel, ``2 max(EDT) − h``) is reported alongside.

**Minimum wall**: the same measure on the solid phase (the thinnest neck on the best path
through the struts; by the symmetry of the unit cells every neck is equivalent) for
skeletal and strut lattices; sheets use ``2 t / max|∇g|`` on the mid-surface (calibration).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _spans(labels: np.ndarray) -> bool:
    """Whether one labelled component touches two opposite faces of the image."""
    for axis in range(3):
        lo = np.unique(np.take(labels, 0, axis=axis))
        hi = np.unique(np.take(labels, -1, axis=axis))
        common = np.intersect1d(lo, hi)
        if np.any(common > 0):
            return True
    return False


def percolation_diameter(phase: np.ndarray, h: float, iterations: int = 14) -> tuple[float, float]:
    """(throat diameter, largest inscribed diameter) of the True phase of a voxel image (mm)."""
    dist = ndimage.distance_transform_edt(phase).astype(np.float32)
    top = float(dist.max())
    if top == 0:
        return 0.0, 0.0
    lo, hi = 0.0, top
    labels_of = lambda r: ndimage.label(dist >= r)[0]  # noqa: E731
    if not _spans(labels_of(1.0)):
        return 0.0, max(0.0, (2 * top - 1) * h)
    lo = 1.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if _spans(labels_of(mid)):
            lo = mid
        else:
            hi = mid
        if hi - lo < 0.02:
            break
    return max(0.0, (2 * lo - 1) * h), max(0.0, (2 * top - 1) * h)


def rasterise(manifold, lo: np.ndarray, h: float, shape: tuple[int, int, int]) -> np.ndarray:
    """Inside mask of a manifold3d ``Manifold`` on voxel centres ``lo + (i + ½) h``,
    from cross-sections (``Manifold.slice``) filled with the even-odd rule: a voxel is inside
    when an odd number of section edges cross its row (constant x) below its centre (scanline
    crossings of every edge, counted and summed with numpy; no per-polygon fill)."""
    nx, ny, nz = shape
    starts, ends, layers = [], [], []
    for k in range(nz):
        for poly in manifold.slice(lo[2] + (k + 0.5) * h).to_polygons():
            if len(poly) < 3:
                continue
            starts.append(poly)
            ends.append(np.roll(poly, -1, axis=0))
            layers.append(np.full(len(poly), k, dtype=np.int64))
    out = np.zeros(shape, dtype=bool)
    if not starts:
        return out
    p, q, layer = np.concatenate(starts), np.concatenate(ends), np.concatenate(layers)
    # rows i (x_i = lo_x + (i + ½) h) an edge crosses, half-open in x so that a vertex counts once
    xp, xq = (p[:, 0] - lo[0]) / h - 0.5, (q[:, 0] - lo[0]) / h - 0.5
    first = np.clip(np.ceil(np.minimum(xp, xq)), 0, nx).astype(np.int64)
    stop = np.clip(np.ceil(np.maximum(xp, xq)), 0, nx).astype(np.int64)
    count = stop - first
    edge = np.repeat(np.arange(len(p)), count)
    row = first[edge] + (np.arange(len(edge)) - np.repeat(np.cumsum(count) - count, count))
    t = (row - xp[edge]) / (xq[edge] - xp[edge])
    y = (p[edge, 1] - lo[1]) / h - 0.5 + t * ((q[edge, 1] - p[edge, 1]) / h)
    # the crossing toggles every voxel centre above it: voxel j >= floor(y) + 1
    column = np.clip(np.floor(y).astype(np.int64) + 1, 0, ny)
    toggles = np.zeros((nx, ny + 1, nz), dtype=np.uint8)
    np.add.at(toggles, (row, column, layer[edge]), 1)
    out[:] = (np.cumsum(toggles[:, :ny], axis=1, dtype=np.uint8) & 1).astype(bool)
    return out
