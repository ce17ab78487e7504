"""The smooth height field of an endplate surface, z = f(x, y) in the endplate's local frame
(layer: anatomy), and its exact OCCT B-spline surface. mm.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import lil_matrix
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
        a = lil_matrix((len(unknown), len(unknown)))
        rhs = np.zeros(len(unknown))
        for row, node in enumerate(unknown):
            i, j = divmod(node, ny)
            nbrs = [(i + di) * ny + (j + dj) for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))
                    if 0 <= i + di < nx and 0 <= j + dj < ny]
            a[row, row] = len(nbrs)
            for nb in nbrs:
                if known[nb]:
                    rhs[row] += z[nb]
                else:
                    a[row, index[nb]] = -1.0
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

    def occ_surface(self):
        """The field as an OCCT ``Geom_BSplineSurface`` (u = x, v = y, degree 3, exact: the
        x and y poles sit at the Greville abscissae, the z poles are the spline coefficients)."""
        from OCP.Geom import Geom_BSplineSurface
        from OCP.gp import gp_Pnt
        from OCP.TColgp import TColgp_Array2OfPnt
        from OCP.TColStd import TColStd_Array1OfInteger, TColStd_Array1OfReal

        full_x, full_y = self.spline.get_knots()  # full knot vectors (end knots repeated 4 times)
        coeffs = self.spline.get_coeffs()
        kx = ky = 3
        nx, ny = len(full_x) - kx - 1, len(full_y) - ky - 1
        gx = np.array([full_x[i + 1:i + kx + 1].mean() for i in range(nx)])
        gy = np.array([full_y[j + 1:j + ky + 1].mean() for j in range(ny)])
        c = coeffs.reshape(nx, ny)
        poles = TColgp_Array2OfPnt(1, nx, 1, ny)
        for i in range(nx):
            for j in range(ny):
                poles.SetValue(i + 1, j + 1, gp_Pnt(float(gx[i]), float(gy[j]), float(c[i, j])))

        def knots(full):
            values, counts = np.unique(full, return_counts=True)
            k = TColStd_Array1OfReal(1, len(values))
            m = TColStd_Array1OfInteger(1, len(values))
            for n, (v, cnt) in enumerate(zip(values, counts)):
                k.SetValue(n + 1, float(v))
                m.SetValue(n + 1, int(cnt))
            return k, m

        (ukn, umu), (vkn, vmu) = knots(full_x), knots(full_y)
        return Geom_BSplineSurface(poles, ukn, vkn, umu, vmu, kx, ky)
