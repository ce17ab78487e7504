"""The smooth anterior surface under a plate, fitted to surface points (layer: fit). Patient frame,
mm: +x anterior, +y patient-left, +z superior.

:func:`fit_surface`: the plate frame's normal is the least-squares plane normal of the points under
the plate (turned anteriorly), ``u`` the superior direction in that plane, ``v = normal × u``
(patient-right for an upright plate). The surface ``w = S(u, v)`` is a bicubic tensor-product
B-spline fitted by penalised least squares (P-spline: knots every :data:`KNOT_MM`, second-difference
penalty of weight ``smoothing``; the penalty bridges holes in the data, e.g. the disc space, by the
smoothest surface), then moved out along the normal until no point under the plate lies in front of
it (``seat``: noise or a coarse fit never puts the plate into bone). Input rejected with
:class:`~implants.errors.ParameterError`: fewer than :data:`~.surface_points.MIN_POINTS` points,
NaN/inf, a wrong shape, or points that do not cover the plate outline (every place of the outline
within :data:`COVER_MM` of a point, in the surface's plane).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import sparse
from scipy.interpolate import BSpline
from scipy.linalg import cho_factor, cho_solve
from scipy.spatial import cKDTree

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.frames import unit
from ..geometry.plates import SurfaceFrame, surface_normal
from .surface_points import MIN_POINTS, check_points

#: Every place of the plate outline must lie within this distance (mm, in the surface's plane) of a
#: point: the fit may bridge a disc space (C2/C3 seen from the front: ≤ 3 mm) but not invent bone.
COVER_MM = 4.0
#: Knot spacing of the fitted B-spline (mm): finer than a vertebral body's curvature (radius ≥ 10 mm),
#: coarser than a real mesh's triangles (1.2–1.6 mm edges for the cervical meshes).
KNOT_MM = 2.0
#: Default weight of the second-difference penalty, relative to the mean diagonal of the normal
#: equations (0: pure least squares; larger: stiffer).
SMOOTHING = 1e-3
#: Margin (mm) of the fitted domain around the plate outline's box (``contoured_plate`` samples the
#: surface 2 mm beyond it).
DOMAIN_MARGIN_MM = 3.0
#: Points lying more than this (mm) behind the fitted surface are not the front surface (rejected).
REJECT_MM = 1.5
#: Weight of the points behind the surface in the envelope fit (those in front weigh 1), and the
#: most refits of the robust fit.
BEHIND_WEIGHT = 0.02
#: Points this close (mm) behind the surface count as on it (their weight no longer flips).
ON_SURFACE_MM = 0.01
ROBUST_ITERATIONS = 15
#: Largest tilt (deg) of the fitted plate normal from +x (an anterior plate faces anteriorly).
MAX_TILT_DEG = 45.0


def _clamped_knots(lo: float, hi: float, spacing: float) -> np.ndarray:
    n = max(1, int(np.ceil((hi - lo) / spacing)))
    inner = np.linspace(lo, hi, n + 1)
    return np.concatenate([[lo] * 3, inner, [hi] * 3])


def _basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, float).ravel(), knots[0], knots[-1])
    return BSpline.design_matrix(x, knots, 3).toarray()


@dataclass(frozen=True)
class FittedSurface:
    """A fitted anterior surface: ``frame`` (``plates.SurfaceFrame``, origin on the surface at the plate
    centre) and the bicubic B-spline ``w = S(u, v)`` (local mm; ``S(0, 0) = 0``)."""

    frame: Any
    knots_u: np.ndarray
    knots_v: np.ndarray
    coefficients: np.ndarray
    offset: float
    info: dict = field(default_factory=dict)

    def __call__(self, u, v) -> np.ndarray:
        u, v = np.asarray(u, float), np.asarray(v, float)
        shape = np.broadcast(u, v).shape
        uu, vv = np.broadcast_to(u, shape).ravel(), np.broadcast_to(v, shape).ravel()
        bu, bv = _basis(uu, self.knots_u), _basis(vv, self.knots_v)
        w = np.einsum("ni,ij,nj->n", bu, self.coefficients, bv) + self.offset
        return w.reshape(shape)

    def normal_local(self, u: float, v: float) -> np.ndarray:
        return surface_normal(self, u, v)

    def to_local(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, float) - np.asarray(self.frame.origin, float)) @ self.frame.matrix()


def _plane_normal(points: np.ndarray) -> np.ndarray:
    """Unit normal (turned to +x) of the least-squares plane x = a + b·y + c·z through ``points``."""
    design = np.column_stack([np.ones(len(points)), points[:, 1], points[:, 2]])
    (_, b, c), *_ = np.linalg.lstsq(design, points[:, 0], rcond=None)
    return unit(np.array([1.0, -b, -c]))


def _cover_samples(outline_uv: np.ndarray, step: float = 1.0) -> np.ndarray:
    lo, hi = outline_uv.min(axis=0), outline_uv.max(axis=0)
    gu, gv = np.meshgrid(np.arange(lo[0], hi[0] + step, step), np.arange(lo[1], hi[1] + step, step))
    grid = np.column_stack([gu.ravel(), gv.ravel()])
    return np.vstack([grid[outlines.contains(outline_uv, grid)], outline_uv])


def _design(local: np.ndarray, ku: np.ndarray, kv: np.ndarray) -> np.ndarray:
    """Tensor-product design matrix (N, nu·nv) of the bicubic B-spline at the (u, v) of ``local``."""
    bu, bv = _basis(local[:, 0], ku), _basis(local[:, 1], kv)
    return (bu[:, :, None] * bv[:, None, :]).reshape(len(local), -1)


def _pspline(design: np.ndarray, w: np.ndarray, shape: tuple[int, int], smoothing: float,
             weights: np.ndarray) -> np.ndarray:
    """Coefficients ``shape`` = (nu, nv) of the penalised, weighted least-squares B-spline fit of ``w``."""
    nu, nv = shape
    weighted = sparse.diags(weights) @ design
    normal_eq = (weighted.T @ design).toarray()
    d_u, d_v = np.diff(np.eye(nu), 2, axis=0), np.diff(np.eye(nv), 2, axis=0)
    penalty = np.kron(d_u.T @ d_u, np.eye(nv)) + np.kron(np.eye(nu), d_v.T @ d_v)
    lam = smoothing * float(np.trace(normal_eq)) / (nu * nv) + 1e-9
    return cho_solve(cho_factor(normal_eq + lam * penalty), weighted.T @ w).reshape(nu, nv)


def _robust_fit(local: np.ndarray, ku: np.ndarray, kv: np.ndarray, smoothing: float,
                envelope: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """P-spline fit that drops points lying more than :data:`REJECT_MM` behind it (bone seen through a
    gap, e.g. deeper structures beside a vertebral body) and, with ``envelope``, weighs the points
    behind it by :data:`BEHIND_WEIGHT` (asymmetric least squares: a rigid plate rests on the most
    prominent bone, so the surface hugs the points from the front), refitted until the kept set settles."""
    shape = (len(ku) - 4, len(kv) - 4)
    design = sparse.csr_matrix(_design(local, ku, kv))  # 16 non-zeros a row
    keep = np.ones(len(local), bool)
    weights = np.ones(len(local))
    for _ in range(ROBUST_ITERATIONS):
        if keep.sum() < MIN_POINTS:
            raise ParameterError(f"surface points: only {int(keep.sum())} points lie on a smooth front surface "
                                 f"(at least {MIN_POINTS} needed)")
        coef = _pspline(design[keep], local[keep, 2], shape, smoothing, weights[keep])
        r = local[:, 2] - design @ coef.ravel()
        new = r > -REJECT_MM
        new_w = np.where(r >= -ON_SURFACE_MM, 1.0, BEHIND_WEIGHT) if envelope else weights
        changed = np.count_nonzero(new != keep) + np.count_nonzero(new_w != weights)
        if changed <= 1e-3 * len(local):  # settled (a handful of points flip on the surface itself)
            keep, weights = new, new_w
            break
        keep, weights = new, new_w
    return coef, keep


def _check_cover(local: np.ndarray, outline_uv: np.ndarray, frame, what: str, lo, hi, centre) -> float:
    """Largest distance (mm, in the surface's plane) from the plate outline to a point; ParameterError
    above :data:`COVER_MM`."""
    probe = _cover_samples(outline_uv)
    dist, _ = cKDTree(local[:, :2]).query(probe)
    if dist.max() > COVER_MM:
        worst = probe[np.argmax(dist)]
        yz = frame.to_patient(np.array([[worst[0], worst[1], 0.0]]))[0]
        raise ParameterError(
            f"{what}: the points do not cover the plate outline: the outline at y = {yz[1]:.1f}, z = {yz[2]:.1f} mm is "
            f"{dist.max():.1f} mm from the nearest surface point (needed: every part of the outline within {COVER_MM} mm "
            f"of a point; the points span y {lo[0]:.1f}..{hi[0]:.1f}, z {lo[1]:.1f}..{hi[1]:.1f} mm; the plate is "
            f"centred at y = {centre[0]:.1f}, z = {centre[1]:.1f} mm)")
    return float(dist.max())


def fit_surface(points: np.ndarray, outline_yz: np.ndarray, *, centre_yz: Sequence[float] | None = None,
                smoothing: float = SMOOTHING, seat: bool = True, what: str = "surface points") -> FittedSurface:
    """The smooth surface under a plate of outline ``outline_yz`` (the template's (y, z) outline around
    its origin) placed with its origin at ``centre_yz`` (default: centre of the points' y, z extent);
    see the module docstring. ``what`` names the input in error messages."""
    pts = check_points(points, what)
    if not (np.isfinite(smoothing) and 0 <= smoothing <= 1e3):
        raise ParameterError(f"smoothing = {smoothing!r}: allowed 0 to 1000")
    lo, hi = pts[:, 1:].min(axis=0), pts[:, 1:].max(axis=0)
    centre = (lo + hi) / 2 if centre_yz is None else np.asarray(centre_yz, float)
    if centre.shape != (2,) or not np.all(np.isfinite(centre)):
        raise ParameterError(f"centre_yz = {centre_yz!r}: expected two numbers (y, z in mm)")
    # 1. plane of the points under the plate → frame
    rel_yz = outline_yz + centre
    ext_lo, ext_hi = rel_yz.min(axis=0) - 2.0, rel_yz.max(axis=0) + 2.0
    under = pts[np.all((pts[:, 1:] >= ext_lo) & (pts[:, 1:] <= ext_hi), axis=1)]
    if len(under) < MIN_POINTS:
        raise ParameterError(
            f"{what}: {len(under)} points lie under the plate (y {ext_lo[0]:.1f}..{ext_hi[0]:.1f}, z {ext_lo[1]:.1f}.."
            f"{ext_hi[1]:.1f} mm; the points span y {lo[0]:.1f}..{hi[0]:.1f}, z {lo[1]:.1f}..{hi[1]:.1f} mm): at least "
            f"{MIN_POINTS} needed covering the plate outline")
    outline_uv = np.column_stack([outline_yz[:, 1], -outline_yz[:, 0]])  # template (u, v) = (z, −y)
    blo, bhi = outline_uv.min(axis=0) - DOMAIN_MARGIN_MM, outline_uv.max(axis=0) + DOMAIN_MARGIN_MM
    ku, kv = _clamped_knots(blo[0], bhi[0], KNOT_MM), _clamped_knots(blo[1], bhi[1], KNOT_MM)

    def frame_for(normal, origin_pts):
        u_dir = unit(np.array([0.0, 0.0, 1.0]) - normal[2] * normal)
        x0 = float(np.median(origin_pts[:, 0]))
        return SurfaceFrame(origin=(x0, float(centre[0]), float(centre[1])), u_dir=tuple(u_dir), normal=tuple(normal))

    # 1. robust fit with the plate facing +x, then again in the frame of the inliers' plane
    frame = frame_for(np.array([1.0, 0.0, 0.0]), under)
    local = (pts - np.asarray(frame.origin)) @ frame.matrix()
    _check_cover(local, outline_uv, frame, what, lo, hi, centre)  # cheap: before fitting
    inside = np.all((local[:, :2] >= blo - 1.0) & (local[:, :2] <= bhi + 1.0), axis=1)
    coef, keep = _robust_fit(local[inside], ku, kv, smoothing)
    inliers = pts[inside][keep]
    normal = _plane_normal(inliers)
    tilt = float(np.degrees(np.arccos(np.clip(normal[0], -1, 1))))
    if tilt > MAX_TILT_DEG:
        raise ParameterError(f"{what}: the surface under the plate faces {tilt:.0f} deg away from anterior (+x); "
                             f"an anterior plate needs a surface facing anteriorly (allowed <= {MAX_TILT_DEG:.0f} deg)")
    frame = frame_for(normal, inliers)
    local = (pts - np.asarray(frame.origin)) @ frame.matrix()
    inside = np.all((local[:, :2] >= blo - 1.0) & (local[:, :2] <= bhi + 1.0), axis=1)
    coef, keep = _robust_fit(local[inside], ku, kv, smoothing)
    fit_pts = local[inside][keep]
    surface = FittedSurface(frame, ku, kv, coef, 0.0)
    residual = fit_pts[:, 2] - surface(fit_pts[:, 0], fit_pts[:, 1])
    # 2. coverage of the outline by the surface points kept
    cover = _check_cover(fit_pts, outline_uv, frame, what, lo, hi, centre)
    # 3. seat: no kept point under the outline in front of the surface
    on_plate = outlines.contains(outline_uv, fit_pts[:, :2])
    lift = float(max(0.0, residual[on_plate].max())) if seat and on_plate.any() else 0.0
    # 4. origin on the surface at the plate centre
    w0 = float(surface(np.array([0.0]), np.array([0.0]))[0]) + lift
    frame = SurfaceFrame(origin=tuple(np.asarray(frame.origin) + w0 * np.asarray(frame.normal)), u_dir=frame.u_dir,
                         normal=frame.normal)
    info = {"source": what, "points": int(len(pts)), "points_fitted": int(len(fit_pts)),
            "points_rejected": int(inside.sum() - len(fit_pts)),
            "points_under_plate": int(on_plate.sum()), "normal": [round(float(c), 6) for c in normal],
            "tilt_deg": round(tilt, 3), "knot_mm": KNOT_MM, "smoothing": smoothing,
            "rms_residual_mm": round(float(np.sqrt(np.mean(residual ** 2))), 4),
            "max_residual_mm": round(float(np.abs(residual).max()), 4), "seat_lift_mm": round(lift, 4),
            "cover_max_mm": round(cover, 3), "centre_yz": [round(float(c), 4) for c in centre]}
    return FittedSurface(frame, ku, kv, coef, lift - w0, info)
