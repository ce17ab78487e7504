"""Rigid body on an elastic foundation: the equilibrium of force and two moments (layer: checks).

The bed-of-springs (Winkler, elastic-foundation) contact model used in joint-contact analysis
(Blankevoort et al. 1991, J Biomech 24:1019; Bei & Fregly 2004, Med Eng Phys 26:777): every
spring ``i`` (a bearing triangle of projected area ``A_i`` at in-plane position ``(u_i, v_i)``,
mm, initial gap ``g_i`` along the load axis) carries the pressure

    p_i = k · max(0, δ + a·u_i + b·v_i − g_i)            (MPa; k in MPa/mm = N/mm³)

for the rigid approach ``δ`` (mm) and small tilts ``a``, ``b`` (slopes, mm/mm) of the implant.
Equilibrium with the axial force ``F`` (N) acting at the in-plane point ``e = (e_u, e_v)`` (mm;
the moments are ``F·e``):

    Σ p_i A_i = F,   Σ p_i A_i u_i = F e_u,   Σ p_i A_i v_i = F e_v.

These are the stationarity conditions of the convex, C¹, piecewise-quadratic potential
``Φ = Σ k A_i / 2 · max(0, d_i)² − F (δ + a e_u + b e_v)``; :func:`solve_equilibrium` minimises
it by Newton's method (Hessian over the springs in contact) with a backtracking line search,
which converges from any start when ``e`` lies strictly inside the convex hull of the springs
(otherwise no equilibrium exists: the implant would tip over its edge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from ..errors import ParameterError

#: Relative residual (of F, and of F × the footprint's size for the moments) at which Newton stops.
RESIDUAL_TOLERANCE = 1e-10
#: Newton iterations before giving up (measured: 4-15 on cages, punches and spheres).
MAX_ITERATIONS = 100
#: Weight of the all-springs Hessian added to the contact Hessian, so that a step is defined
#: while fewer than three non-collinear springs touch (relative; too small to bias the solution,
#: which depends on the gradient only).
_REGULARISATION = 1e-9


@dataclass(frozen=True)
class Equilibrium:
    """Solution of :func:`solve_equilibrium` (mm, MPa)."""

    approach_mm: float            # δ: rigid approach along the load axis at the load point
    slope_u: float                # a: tilt (mm/mm) along u
    slope_v: float                # b: tilt (mm/mm) along v
    pressure_mpa: np.ndarray      # p_i per spring
    iterations: int
    force_residual_n: float


def hull_margin_mm(uv: np.ndarray, point: np.ndarray) -> float:
    """Signed distance (mm) of ``point`` inside the convex hull of ``uv`` (negative: outside);
    ``-inf`` when the points span no area (all on a line)."""
    try:
        hull = ConvexHull(uv)
    except (QhullError, ValueError):
        return -np.inf
    return float(-(hull.equations[:, :2] @ point + hull.equations[:, 2]).max())


def solve_equilibrium(area_mm2: np.ndarray, uv_mm: np.ndarray, gaps_mm: np.ndarray, stiffness_mpa_per_mm: float,
                      force_n: float, load_point_mm: np.ndarray) -> Equilibrium:
    """Pressures of the springs (see the module docstring) under ``force_n`` applied at
    ``load_point_mm`` (in the (u, v) plane). Raises :class:`ParameterError` when the load point
    is not strictly inside the springs' convex hull (no equilibrium)."""
    area = np.asarray(area_mm2, dtype=np.float64)
    gaps = np.asarray(gaps_mm, dtype=np.float64)
    e = np.asarray(load_point_mm, dtype=np.float64)
    uv = np.asarray(uv_mm, dtype=np.float64) - e          # moments about the load point vanish
    k = float(stiffness_mpa_per_mm)
    margin = hull_margin_mm(uv + e, e)
    if not margin > 0:
        where = "on a line" if margin == -np.inf else f"{-margin:.2f} mm outside the bearing footprint"
        raise ParameterError(f"load: the centre of pressure the moments ask for lies {where}: no equilibrium "
                             "(the implant would tip over its edge); reduce the moments")
    weight = k * area
    basis = np.column_stack([np.ones(len(uv)), uv])       # (n, 3): [1, u, v]
    size = float(np.ptp(uv, axis=0).max())
    scale = np.array([1.0, size, size])
    h_all = (basis * weight[:, None]).T @ basis
    x = np.array([float(gaps.min()) + force_n / weight.sum(), 0.0, 0.0])

    def potential(y: np.ndarray) -> float:
        d = np.maximum(basis @ y - gaps, 0.0)
        return float(0.5 * (weight * d * d).sum() - force_n * y[0])

    phi = potential(x)
    for iteration in range(1, MAX_ITERATIONS + 1):
        d = basis @ x - gaps
        on = d > 0
        p = np.where(on, d, 0.0) * weight
        grad = basis.T @ p - np.array([force_n, 0.0, 0.0])
        if np.all(np.abs(grad) <= RESIDUAL_TOLERANCE * force_n * scale):
            break
        hess = (basis[on] * weight[on, None]).T @ basis[on] + _REGULARISATION * h_all
        step = -np.linalg.solve(hess, grad)
        t = 1.0
        # a descent below phi's floating-point resolution cannot be judged: the whole Newton step is
        # taken (backtracking there stalled a congruent mean-L4/L5 face at 1.1e-10 F for 100 iterations)
        judged = phi + 1e-4 * (grad @ step) != phi
        while True:  # Armijo backtracking on the convex potential
            trial = x + t * step
            phi_trial = potential(trial)
            if not judged or phi_trial <= phi + 1e-4 * t * (grad @ step) or t < 1e-12:
                break
            t *= 0.5
        x, phi = trial, phi_trial
    else:
        raise ParameterError(f"load: the equilibrium did not converge in {MAX_ITERATIONS} iterations "
                             f"(force residual {abs(grad[0]):.3g} N)")
    d = basis @ x - gaps
    pressure = k * np.maximum(d, 0.0)
    return Equilibrium(float(x[0]), float(x[1]), float(x[2]), pressure, iteration,
                       float(abs((pressure * area).sum() - force_n)))
