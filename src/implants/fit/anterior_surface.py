"""Anterior plate contoured to a measured anterior surface: from a list of points or from vertebra meshes.

Patient frame, mm: +x anterior, +y patient-left, +z superior.

* :func:`read_points` — a point list from a CSV/TXT (x, y, z per row, comma or whitespace separated,
  an optional header line), JSON (``[[x, y, z], ...]`` or ``{"points": [...]}``) or NPY (N × 3) file.
* :func:`fit_surface` — the smooth surface through the points under the plate: the plate frame's normal
  is the least-squares plane normal of the points under the plate (turned anteriorly), ``u`` the
  superior direction in that plane, ``v = normal × u`` (patient-right for an upright plate). The
  surface ``w = S(u, v)`` is a bicubic tensor-product B-spline fitted by penalised least squares
  (P-spline: knots every :data:`KNOT_MM`, second-difference penalty of weight ``smoothing``; the
  penalty bridges holes in the data, e.g. the disc space, by the smoothest surface), then moved out
  along the normal until no point under the plate lies in front of it (``seat``: noise or a coarse
  fit never puts the plate into bone). Input rejected with :class:`ParameterError`: fewer than
  :data:`MIN_POINTS` points, NaN/inf, a wrong shape, or points that do not cover the plate outline
  (every place of the outline within :data:`COVER_MM` of a point, in the surface's plane).
* :func:`anterior_points` — the anterior surface of one or more vertebra meshes seen from the front:
  rays cast posteriorly (−x) on a :data:`RAY_SPACING_MM` grid over the plate's span, the first hit
  kept when its triangle faces anteriorly (normal within :data:`FACING_DEG` of +x).
* :func:`plate_on_points` / :func:`fit_anterior_plate` — the ``anterior-plate`` built on those surfaces
  (``anterior_plate.build(params, surface=...)``); the mesh fit reports the gap between the plate's
  bone-facing face and the bone (mean, p90, max), the plate's deepest penetration into bone and which
  screw axes enter bone (:func:`fit_report`).

Plate placement on meshes: the plate's centre (its origin, see ``templates.anterior_plate``) sits on
the midline (centre of the meshes' left–right extent) at the mean height of the disc levels between
consecutive vertebrae (a two-level subaxial plate then has its hole rows on the two bodies), or at
``centre_yz``; on a point list it sits at the centre of the points' (y, z) extent unless given.

Measured (tests/test_anterior_surface.py): points sampled on a cylinder of radius 20 mm (upright or
leaning 20°) give a plate whose bone-facing face lies within 0.002 mm of the cylinder. On the real
C2 and C3 (``shared/anatomy``, LPS), a two-level plate: 8146 ray hits, 725 rejected as lying behind
the front surface, rms residual 0.17 mm, seated 0.11 mm off the most prominent point; gap from the
plate's bone-facing face to the bone mean 0.29, median 0.16, p90 0.79, max 1.82 mm over the whole
face, p90 0.34 mm over the bodies (more than 3 mm from the disc level: the plate bridges the C2/C3
disc space, where the C2 lip and the C3 rim leave up to ~1.4 mm under it); deepest penetration into
bone 0.05 mm; all 4 screw axes meet bone right behind the 2 mm plate. About 1 s for the fit (after
the imports), 5 s for the B-rep, 7 s for the report on one shared core.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.frames import unit
from ..anatomy.meshes import input_record

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant
    from ..implant_types.anterior_plate import PlateParams

#: Fewest points accepted (a bicubic patch needs 16; a plate needs a surface, not a curve).
MIN_POINTS = 25
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
#: Spacing (mm) of the rays cast onto the meshes' anterior surface, and their margin beyond the plate.
RAY_SPACING_MM = 0.3
RAY_MARGIN_MM = 3.0
#: A ray's first hit is anterior surface when its triangle's normal is within this angle of +x (deg).
FACING_DEG = 70.0
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
#: Face points within this distance (mm, in z) of a disc level bridge the disc space (left out of
#: the gap over the vertebral bodies).
DISC_BAND_MM = 3.0
#: Screw axes "enter bone" when their ray meets bone within this distance (mm) of the plate's back.
SCREW_REACH_MM = 3.0


# ----------------------------------------------------------------------------------------------
# reading points
# ----------------------------------------------------------------------------------------------

def read_points(path: str | Path) -> np.ndarray:
    """(N, 3) points (mm, patient frame) from a CSV/TXT, JSON or NPY file; :class:`ParameterError`
    naming the file for a missing, empty or malformed one."""
    p = Path(path)
    what = f"surface points file {str(p)!r}"
    if not p.is_file():
        raise ParameterError(f"{what} does not exist or is not a file")
    if p.stat().st_size == 0:
        raise ParameterError(f"{what} is empty (expected x, y, z rows in mm)")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(p, allow_pickle=False)
        elif suffix == ".json":
            raw = json.loads(p.read_text())
            if isinstance(raw, dict):
                if "points" not in raw:
                    raise ValueError('a JSON object must hold "points": [[x, y, z], ...]')
                raw = raw["points"]
            data = np.asarray(raw, dtype=float)
        elif suffix in (".csv", ".txt", ".xyz"):
            data = _read_table(p)
        else:
            raise ParameterError(f"{what}: extension {p.suffix!r} not supported (use .csv, .txt, .xyz, .json or .npy)")
    except ParameterError:
        raise
    except Exception as exc:  # numpy/json raise many types for garbage
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParameterError(f"{what} is malformed: {first}") from None
    return check_points(data, what)


def _read_table(p: Path) -> np.ndarray:
    lines = [ln.strip() for ln in p.read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise ValueError("no data rows")
    rows = []
    for i, line in enumerate(lines):
        cells = [c for c in line.replace(",", " ").replace(";", " ").split() if c]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if i == 0:
                continue  # header
            raise ValueError(f"row {i + 1} is not numeric: {line[:40]!r}") from None
    if not rows:
        raise ValueError("no numeric rows")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"rows have different numbers of values ({sorted(widths)})")
    return np.asarray(rows, float)


def check_points(data: Any, what: str = "surface points") -> np.ndarray:
    """``data`` as finite (N, 3) points with N ≥ :data:`MIN_POINTS`, else :class:`ParameterError`."""
    try:
        pts = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{what}: expected an (N, 3) array of x, y, z in mm") from None
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ParameterError(f"{what}: expected N rows of 3 values (x, y, z in mm), got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(pts), axis=1))[0])
        raise ParameterError(f"{what}: row {bad + 1} holds NaN or infinite coordinates (all x, y, z must be numbers)")
    if len(pts) < MIN_POINTS:
        raise ParameterError(f"{what}: {len(pts)} points, at least {MIN_POINTS} needed to fit a surface under the plate")
    return pts


# ----------------------------------------------------------------------------------------------
# the fitted surface
# ----------------------------------------------------------------------------------------------

def _clamped_knots(lo: float, hi: float, spacing: float) -> np.ndarray:
    n = max(1, int(np.ceil((hi - lo) / spacing)))
    inner = np.linspace(lo, hi, n + 1)
    return np.concatenate([[lo] * 3, inner, [hi] * 3])


def _basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    from scipy.interpolate import BSpline

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
        from ..geometry.plates import surface_normal

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
    from scipy import sparse

    nu, nv = shape
    weighted = sparse.diags(weights) @ design
    normal_eq = (weighted.T @ design).toarray()
    d_u, d_v = np.diff(np.eye(nu), 2, axis=0), np.diff(np.eye(nv), 2, axis=0)
    penalty = np.kron(d_u.T @ d_u, np.eye(nv)) + np.kron(np.eye(nu), d_v.T @ d_v)
    lam = smoothing * float(np.trace(normal_eq)) / (nu * nv) + 1e-9
    from scipy.linalg import cho_factor, cho_solve

    return cho_solve(cho_factor(normal_eq + lam * penalty), weighted.T @ w).reshape(nu, nv)


def _robust_fit(local: np.ndarray, ku: np.ndarray, kv: np.ndarray, smoothing: float,
                envelope: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """P-spline fit that drops points lying more than :data:`REJECT_MM` behind it (bone seen through a
    gap, e.g. deeper structures beside a vertebral body) and, with ``envelope``, weighs the points
    behind it by :data:`BEHIND_WEIGHT` (asymmetric least squares: a rigid plate rests on the most
    prominent bone, so the surface hugs the points from the front), refitted until the kept set settles."""
    from scipy import sparse

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
    from scipy.spatial import cKDTree

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
    from ..geometry.plates import SurfaceFrame

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


# ----------------------------------------------------------------------------------------------
# anterior surface of vertebra meshes
# ----------------------------------------------------------------------------------------------

def _meshes(meshes, axes) -> list["trimesh.Trimesh"]:
    import trimesh

    from ..anatomy.meshes import load_mesh

    if isinstance(meshes, (str, Path, trimesh.Trimesh)):
        meshes = [meshes]
    out = []
    for m in meshes:
        if isinstance(m, trimesh.Trimesh):
            if len(m.faces) == 0:
                raise ParameterError("vertebra mesh: the mesh has no triangles")
            out.append(m)
        elif isinstance(m, (str, Path)):
            out.append(load_mesh(m, axes))
        else:
            raise ParameterError(f"vertebra mesh: expected a mesh file path or a trimesh.Trimesh, got {type(m).__name__}")
    if not out:
        raise ParameterError("vertebra mesh: give at least one vertebra mesh")
    return sorted(out, key=lambda m: float(m.bounds[:, 2].mean()))


def disc_levels(meshes: Sequence["trimesh.Trimesh"]) -> list[float]:
    """Heights (z, mm) of the disc levels between consecutive ``meshes`` (see :func:`plate_centre`)."""
    return plate_centre(meshes, levels=True)[2]


def plate_centre(meshes: Sequence["trimesh.Trimesh"], levels: bool = False):
    """(y, z) of a plate centre on ``meshes`` (sorted caudal to cranial): the midline, at the mean
    height of the disc levels (midway between a vertebra's anterior top and the next one's anterior
    bottom, taken within 4 mm of the midline and 5 mm of the front); one mesh: its anterior mid-height."""
    lo = min(float(m.bounds[0, 1]) for m in meshes)
    hi = max(float(m.bounds[1, 1]) for m in meshes)
    y0 = (lo + hi) / 2

    def front_band(m):
        v = m.vertices[np.abs(m.vertices[:, 1] - y0) < 4.0]
        if not len(v):
            raise ParameterError("vertebra mesh: no surface near the midline (is the mesh in the patient frame? see --axes)")
        return v[v[:, 0] > v[:, 0].max() - 5.0]

    bands = [front_band(m) for m in meshes]
    discs = [float((a[:, 2].max() + b[:, 2].min()) / 2) for a, b in zip(bands, bands[1:])]
    z0 = float(np.mean(discs)) if discs else float((bands[0][:, 2].min() + bands[0][:, 2].max()) / 2)
    return (y0, z0, discs) if levels else (y0, z0)


def anterior_points(meshes, outline_yz: np.ndarray, centre_yz: Sequence[float], *, axes: str = "ALS",
                    spacing_mm: float = RAY_SPACING_MM) -> np.ndarray:
    """Anterior surface points of ``meshes`` (patient frame) over the plate outline (placed at
    ``centre_yz``) grown by :data:`RAY_MARGIN_MM`: first hits of rays cast along −x whose triangle
    faces anteriorly (normal within :data:`FACING_DEG` of +x)."""
    import trimesh

    ms = _meshes(meshes, axes)
    union = trimesh.util.concatenate(ms)
    yz = outline_yz + np.asarray(centre_yz, float)
    lo, hi = yz.min(axis=0) - RAY_MARGIN_MM, yz.max(axis=0) + RAY_MARGIN_MM
    gy, gz = np.meshgrid(np.arange(lo[0], hi[0] + 1e-9, spacing_mm), np.arange(lo[1], hi[1] + 1e-9, spacing_mm))
    n = gy.size
    x_start = float(union.bounds[1, 0]) + 10.0
    origins = np.column_stack([np.full(n, x_start), gy.ravel(), gz.ravel()])
    directions = np.tile([-1.0, 0.0, 0.0], (n, 1))
    locations, ray_ids, tri_ids = union.ray.intersects_location(origins, directions, multiple_hits=False)
    facing = union.face_normals[tri_ids, 0] > np.cos(np.radians(FACING_DEG))
    return locations[facing]


# ----------------------------------------------------------------------------------------------
# plates
# ----------------------------------------------------------------------------------------------

def _params(params) -> "PlateParams":
    from ..implant_types.anterior_plate import PlateParams

    if params is None:
        return PlateParams()
    if isinstance(params, PlateParams):
        return params
    if isinstance(params, dict):
        from ..params import validate

        return validate(PlateParams, params)
    raise ParameterError(f"anterior plate parameters: expected PlateParams or a dict, got {type(params).__name__}")


def plate_on_points(points, params=None, *, centre_yz: Sequence[float] | None = None,
                    smoothing: float = SMOOTHING, what: str | None = None) -> "Implant":
    """``anterior-plate`` contoured to the surface through ``points`` ((N, 3) array or a file path)."""
    from dataclasses import replace

    from ..implant_types.anterior_plate import build, derive

    t0 = time.perf_counter()
    source = Path(points).name if isinstance(points, (str, Path)) else None
    if isinstance(points, (str, Path)):
        what = what or f"surface points file {str(points)!r}"
        points = read_points(points)
    what = what or "surface points"
    points = check_points(points, what)
    p = _params(params)
    g = derive(p)
    surface = fit_surface(points, g.outline_yz, centre_yz=centre_yz, smoothing=smoothing, what=what)
    t1 = time.perf_counter()
    implant = build(p, surface=surface)
    metrics = dict(implant.metrics)
    metrics["surface"] = {**surface.info, "fit_s": round(t1 - t0, 3), "build_s": round(time.perf_counter() - t1, 3)}
    digest = hashlib.sha256(np.ascontiguousarray(points, np.float64).tobytes()).hexdigest()
    inputs = {"surface_points": {"file": source, "points": len(points), "sha256": digest},
              "centre_yz_mm": None if centre_yz is None else [float(c) for c in centre_yz], "smoothing": smoothing}
    return replace(implant, metrics=metrics, inputs=inputs)


def fit_anterior_plate(meshes, params=None, *, axes: str = "ALS", centre_yz: Sequence[float] | None = None,
                       smoothing: float = SMOOTHING, report: bool = True) -> "Implant":
    """``anterior-plate`` contoured to the anterior surface of ``meshes`` (paths or trimesh, patient
    frame after ``axes``); ``params`` default: a subaxial plate with one level per mesh. With
    ``report`` the fit figures (:func:`fit_report`) are in ``metrics["fit"]``."""
    from dataclasses import replace

    from ..implant_types.anterior_plate import derive

    t0 = time.perf_counter()
    ms = _meshes(meshes, axes)
    if params is None:
        params = {"layout": "subaxial", "levels": min(max(len(ms), 2), 6)}
    p = _params(params)
    centre = plate_centre(ms) if centre_yz is None else tuple(float(c) for c in centre_yz)
    g = derive(p)
    pts = anterior_points(ms, g.outline_yz, centre)
    what = f"anterior surface of {len(ms)} vertebra mesh{'es' if len(ms) > 1 else ''}"
    implant = plate_on_points(pts, p, centre_yz=centre, smoothing=smoothing, what=what)
    metrics = dict(implant.metrics)
    metrics["surface"]["rays_s"] = round(time.perf_counter() - t0 - metrics["surface"]["fit_s"]
                                         - metrics["surface"]["build_s"], 3)
    if report:
        t1 = time.perf_counter()
        metrics["fit"] = fit_report(implant, ms, disc_levels_z=disc_levels(ms))
        metrics["fit"]["report_s"] = round(time.perf_counter() - t1, 3)
    metrics["surface"]["total_s"] = round(time.perf_counter() - t0, 3)
    records = [input_record(m, axes) for m in (meshes if isinstance(meshes, (list, tuple)) else [meshes])]
    inputs = {"vertebrae": records, "centre_yz_mm": None if centre_yz is None else list(centre), "smoothing": smoothing}
    return replace(implant, metrics=metrics, inputs=inputs)


def posterior_face_points(implant: "Implant", spacing_mm: float = 0.3) -> np.ndarray:
    """Points on the plate's bone-facing faces (``contact.posterior``), about ``spacing_mm`` apart."""
    import trimesh

    pts = []
    for face in implant.features["contact.posterior"].faces:
        vertices, triangles = face.tessellate(0.01, 0.1)
        v = np.array([(q.x, q.y, q.z) for q in vertices])
        mesh = trimesh.Trimesh(v, np.asarray(triangles), process=False)
        dense, _ = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, max_edge=spacing_mm, max_iter=20)
        pts.append(dense)
    return np.vstack(pts)


def _gap_stats(gaps: np.ndarray) -> dict:
    if not len(gaps):
        return {"points": 0}
    return {"mean_mm": round(float(gaps.mean()), 4), "median_mm": round(float(np.median(gaps)), 4),
            "p90_mm": round(float(np.percentile(gaps, 90)), 4), "max_mm": round(float(gaps.max()), 4),
            "within_0_5_mm_pct": round(100 * float((gaps <= 0.5).mean()), 2),
            "within_1_mm_pct": round(100 * float((gaps <= 1.0).mean()), 2), "points": int(len(gaps))}


def fit_report(implant: "Implant", meshes, disc_levels_z: Sequence[float] = (), *, spacing_mm: float = 0.3) -> dict:
    """Gap and penetration of the plate's bone-facing face against the bone, and the screws.

    * gap: distance (mm) from points on ``contact.posterior`` (``spacing_mm`` apart) to the nearest
      bone surface (all meshes): mean, median, p90, max and the share within 0.5 / 1 mm, over the
      whole face (``gap``) and over the vertebral bodies only (``gap_bodies``: face points more than
      :data:`DISC_BAND_MM` from a disc level in z, where the plate bridges the disc space);
    * penetration: the deepest point of the plate inside any bone (mm): the face points and the
      vertices of the tessellated plate (0.01 mm deflection) tested against the closed meshes;
    * screws: per screw, the distance from its entry to the first bone along its axis; a screw
      enters bone when that is within the plate thickness + :data:`SCREW_REACH_MM`.
    """
    import trimesh

    from ..writers.tessellate import tessellate

    ms = _meshes(meshes, "ALS")
    face_pts = posterior_face_points(implant, spacing_mm)
    gaps = np.full(len(face_pts), np.inf)
    depth = 0.0
    plate_mesh = tessellate(implant.shape, 0.01).mesh
    probe = np.vstack([face_pts, plate_mesh.vertices])
    for m in ms:
        sd = trimesh.proximity.signed_distance(m, probe)  # > 0 inside the bone
        gaps = np.minimum(gaps, np.abs(sd[:len(face_pts)]))
        depth = max(depth, float(sd.max()))
    body = np.ones(len(face_pts), bool)
    for z in disc_levels_z:
        body &= np.abs(face_pts[:, 2] - z) > DISC_BAND_MM
    union = trimesh.util.concatenate(ms)
    thickness = float(implant.params.thickness_mm)
    screws = {}
    for name, f in implant.features.items():
        if f.kind != "channel":
            continue
        loc, _, _ = union.ray.intersects_location([f.origin], [f.direction], multiple_hits=False)
        dist = float(np.linalg.norm(loc[0] - np.asarray(f.origin))) if len(loc) else None
        screws[name] = {"bone_at_mm": None if dist is None else round(dist, 3),
                        "enters_bone": dist is not None and dist <= thickness + SCREW_REACH_MM}
    return {"gap": _gap_stats(gaps), "gap_bodies": _gap_stats(gaps[body]),
            "disc_levels_z_mm": [round(float(z), 3) for z in disc_levels_z], "disc_band_mm": DISC_BAND_MM,
            "penetration_mm": round(max(depth, 0.0), 4),
            "screws": screws, "screws_in_bone": int(sum(s["enters_bone"] for s in screws.values())),
            "screw_count": len(screws)}
