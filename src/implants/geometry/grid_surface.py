"""Height fields z = f(x, y) on a regular grid (layer: geometry): scattered points binned to
the grid's nodes, and the bicubic spline through the node values. numpy/scipy only; mm.

Shared by the endplate height field (:mod:`implants.anatomy.height_field`, smoothing spline
over harmonically filled nodes) and the bearing-surface fields of the fitted cage
(:mod:`implants.fit.cage_fields`, interpolating spline over cell means).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RectBivariateSpline


def regular_grid(lo, hi, cell_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates (x, y) of the regular grid over the box ``lo``–``hi`` (mm) whose spacing
    is at most ``cell_mm``: the box's corners are nodes."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    nx, ny = (np.ceil((hi - lo) / cell_mm).astype(int) + 1)
    return np.linspace(lo[0], hi[0], nx), np.linspace(lo[1], hi[1], ny)


def node_means(points: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean z of the ``points`` (N, 3) nearest each node of the grid ``xs`` × ``ys`` (points off
    the grid are left out): ``(means, counts)``, both (len(xs), len(ys)); 0 where no point lies."""
    nx, ny = len(xs), len(ys)
    ij = np.rint((points[:, :2] - [xs[0], ys[0]]) / [xs[1] - xs[0], ys[1] - ys[0]]).astype(int)
    ok = (ij[:, 0] >= 0) & (ij[:, 0] < nx) & (ij[:, 1] >= 0) & (ij[:, 1] < ny)
    flat = ij[ok, 0] * ny + ij[ok, 1]
    total = np.bincount(flat, weights=points[ok, 2], minlength=nx * ny)
    count = np.bincount(flat, minlength=nx * ny)
    means = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return means.reshape(nx, ny), count.reshape(nx, ny)


class GridSpline:
    """z = f(x, y) (mm): the bicubic spline (scipy ``RectBivariateSpline``, smoothing factor
    ``smoothing``; 0 interpolates) through the node values ``grid`` of ``xs`` × ``ys``,
    continued as a constant along x and y outside the grid's box, plus a constant ``offset``."""

    offset = 0.0  # mm, set by :meth:`shifted`

    def __init__(self, xs: np.ndarray, ys: np.ndarray, grid: np.ndarray, smoothing: float = 0.0):
        self.lo, self.hi = np.array([xs[0], ys[0]], float), np.array([xs[-1], ys[-1]], float)
        self.spline = RectBivariateSpline(xs, ys, grid, kx=3, ky=3, s=smoothing)

    def __call__(self, x, y) -> np.ndarray:
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        xc = np.clip(x.ravel(), self.lo[0], self.hi[0])
        yc = np.clip(y.ravel(), self.lo[1], self.hi[1])
        return self.spline.ev(xc, yc).reshape(x.shape) + self.offset

    def shifted(self, dz: float) -> GridSpline:
        """The same surface moved by ``dz`` (mm) along z (shares the spline)."""
        moved = object.__new__(GridSpline)
        moved.lo, moved.hi, moved.spline, moved.offset = self.lo, self.hi, self.spline, self.offset + float(dz)
        return moved

    def control_net(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The spline inside the grid's box as a bicubic B-spline surface (x, y, z)(u, v) = (u, v, f):
        ``(knots_x, knots_y, poles)``, knots with their end multiplicity 4, poles (nx, ny, 3) at the
        Greville abscissae (a B-spline reproduces x = u exactly with those) and the coefficients."""
        tx, ty, c = self.spline.tck
        nx, ny = len(tx) - 4, len(ty) - 4
        gx = (tx[1:nx + 1] + tx[2:nx + 2] + tx[3:nx + 3]) / 3
        gy = (ty[1:ny + 1] + ty[2:ny + 2] + ty[3:ny + 3]) / 3
        px, py = np.meshgrid(gx, gy, indexing="ij")
        return tx, ty, np.stack([px, py, c.reshape(nx, ny) + self.offset], axis=-1)
