"""The smooth height field of an endplate surface, z = f(x, y) in the endplate's local frame
(layer: anatomy), and its exact OCCT B-spline surface. mm.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

from ..errors import ParameterError
from ..geometry.grid_surface import GridSpline, node_means, regular_grid

#: Fewest grid nodes holding data for a surface fit (a bicubic patch has 16 coefficients).
MIN_NODES = 16


def harmonic_fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` (nx, ny) with the nodes not ``known`` replaced by the solution of the discrete
    Laplace equation with the known nodes fixed: smooth, and bounded by the data (no overshoot)."""
    nx, ny = values.shape
    z, known = values.ravel().copy(), known.ravel()
    unknown = np.flatnonzero(~known)
    if len(unknown):
        index = -np.ones(nx * ny, int)
        index[unknown] = np.arange(len(unknown))
        i, j = np.divmod(unknown, ny)
        diagonal = np.zeros(len(unknown))
        rhs = np.zeros(len(unknown))
        rows, cols = [], []
        for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            inside = (0 <= i + di) & (i + di < nx) & (0 <= j + dj) & (j + dj < ny)
            row = np.flatnonzero(inside)
            nb = (i[row] + di) * ny + (j[row] + dj)
            diagonal[row] += 1.0
            np.add.at(rhs, row[known[nb]], z[nb[known[nb]]])
            rows.append(row[~known[nb]])
            cols.append(index[nb[~known[nb]]])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        n = len(unknown)
        a = coo_matrix((np.concatenate([diagonal, -np.ones(len(rows))]),
                        (np.concatenate([np.arange(n), rows]), np.concatenate([np.arange(n), cols]))), shape=(n, n))
        z[unknown] = spsolve(a.tocsr(), rhs)
    return z.reshape(nx, ny)


class HeightField(GridSpline):
    """Smooth z = f(x, y) (mm) in a local frame from scattered points.

    The points are averaged on a regular grid of ``cell_mm`` over the box ``lo``–``hi``; empty
    nodes (holes, and everything beyond the data) are filled harmonically (:func:`harmonic_fill`);
    a smoothing bicubic spline (scipy ``RectBivariateSpline``) goes through the grid. The
    field is C², so a degree-3 B-spline face (``geometry.solids.height_field_face``) reproduces it.
    Outside the box it is continued as a constant along x and y.
    """

    def __init__(self, xyz: np.ndarray, cell_mm: float, lo, hi, smoothing_mm: float = 0.02):
        xyz = np.asarray(xyz, float)
        xs, ys = regular_grid(lo, hi, cell_mm)
        means, counts = node_means(xyz, xs, ys)
        known = counts > 0
        if known.sum() < MIN_NODES:
            raise ParameterError("endplate: too few points to fit a surface")
        self.points = xyz
        super().__init__(xs, ys, harmonic_fill(means, known), smoothing=known.sum() * smoothing_mm ** 2)

    def residuals(self, xyz: np.ndarray) -> np.ndarray:
        xyz = np.asarray(xyz, float)
        return xyz[:, 2] - self(xyz[:, 0], xyz[:, 1])
