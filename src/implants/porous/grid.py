"""The two grids of a lattice zone (layer: porous): a coarse grid for the keep field and a fine
grid aligned to the cell lattice for the lattice field, sharing their first node.

The first node is a cell corner, the fine step is ``cell / n`` (``n`` samples per cell), so the
fine samples repeat the unit cell's exactly (:mod:`.cell`); the coarse step is an integer
multiple ``m`` of it, about :data:`COARSE_STEP_MM`. Lengths in mm, patient frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest coarse-grid step for the keep field (mm): wall/skin boundaries follow it to ~¼ step.
COARSE_STEP_MM = 0.3


@dataclass(frozen=True)
class ZoneGrids:
    """Node ``i`` of the fine grid is ``lo + i h``, of the coarse grid ``lo + i m h``."""

    lo: np.ndarray                          # first node (mm): a cell corner
    h: float                                # fine step (mm)
    m: int                                  # fine steps per coarse step
    coarse_shape: tuple[int, int, int]
    fine_shape: tuple[int, int, int]

    @property
    def hc(self) -> float:
        """Coarse step (mm)."""
        return self.m * self.h

    def coarse_nodes(self) -> np.ndarray:
        """(N, 3) coordinates (mm) of the coarse nodes, in C order of :attr:`coarse_shape`."""
        axes = [self.lo[i] + self.hc * np.arange(self.coarse_shape[i]) for i in range(3)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)

    def nearest_coarse(self, points: np.ndarray) -> np.ndarray:
        """Flat index of the coarse node nearest to each point (clipped to the grid)."""
        ci = np.clip(np.rint((points - self.lo) / self.hc).astype(np.int64), 0, np.asarray(self.coarse_shape) - 1)
        return np.ravel_multi_index(ci.T, self.coarse_shape)

    def upsample(self, coarse: np.ndarray) -> np.ndarray:
        """A coarse-grid field refined trilinearly onto the fine grid (float32)."""
        out = coarse
        for axis, n in enumerate(self.fine_shape):
            i = np.arange(n)
            k = np.minimum(i // self.m, out.shape[axis] - 2)
            w = ((i - k * self.m) / self.m).astype(np.float32)
            a = np.take(out, k, axis=axis)
            b = np.take(out, k + 1, axis=axis)
            wshape = [1, 1, 1]
            wshape[axis] = n
            w = w.reshape(wshape)
            out = a + (b - a) * w
        return out.astype(np.float32, copy=False)


def zone_grids(bounds: np.ndarray, cell: float, n: int) -> ZoneGrids:
    """The grids over the body's bounding box ``bounds`` (xmin, ymin, zmin, xmax, ymax, zmax, mm)
    padded by three coarse steps, for cells of ``cell`` mm sampled ``n`` times per side."""
    h = cell / n
    m = max(1, int(round(COARSE_STEP_MM / h)))
    hc = m * h
    lo_b, hi_b = bounds[:3], bounds[3:]
    pad = 3 * hc
    lo = np.floor((lo_b - pad) / cell) * cell          # a cell corner
    nc = np.ceil((hi_b + pad - lo) / hc).astype(int) + 1
    nf = (nc - 1) * m + 1
    return ZoneGrids(lo, h, m, tuple(int(v) for v in nc), tuple(int(v) for v in nf))
