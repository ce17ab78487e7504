"""The saddle of the fitted upper-cervical docking implant under the real C1 anterior arch
(layer: fit), in the implant frame (:mod:`.cervical_docking`: z along the C3 endplate normal, x
anterior, mm).

* :func:`fitted_saddle` (patient-specific): rays cast along the implant's +z from a grid
  :data:`RAY_SPACING_MM` apart over the footprint's box to their first hit on the C1 mesh give the
  arch's underside as seen from the body; the saddle surface is that underside ``clearance_mm``
  below it (the hits eroded by a ball of that radius: a normal offset, so steep flanks keep the
  clearance too), held :data:`SADDLE_LIFT_MM` above the horns (seat + ``saddle_depth_mm``) where the
  rays miss the arch or hit it higher. The seat is its lowest point over the footprint. The
  groove is the negative of the real arch, whose underside is W-shaped along the groove (no
  revolved groove fits it).
* :func:`saddle_search` (analytic): a grid search over the groove's cross-section ``saddle_profile``
  (round: radius ``arch_radius_mm`` 2.5–7; v: tip radius 1–2 mm, ``saddle_v_angle_deg`` 70–120,
  depth 1.5–4 mm: the real arch's lower border is a ~90° v with a sharp tip, so the v wins), the
  lean of the v groove's axis ``saddle_tilt_deg`` (0–30°: the groove bottom rises towards the sides
  like the arch's lower border), the arch's axial curvature ``arch_curve_radius_mm``, the groove
  depth and its AP position ``saddle_offset_x_mm``: for each, the seat height is the highest at
  which no arch point lies inside the implant (closed form per point: the material surface under
  the groove, the points turned about the groove's axis into its midline cross-section), and the
  candidate with the smallest 90th percentile of the gap between the groove and the arch over the
  whole groove wins (ties: the mean gap).
"""

from __future__ import annotations

import numpy as np
import trimesh
from scipy.interpolate import RegularGridInterpolator
from scipy.spatial import cKDTree

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.local_frame import Frame
from ..implant_types.upper_cervical_docking import MIN_WALL_MM, groove_chord, groove_height

#: Fitted saddle: spacing (mm) of the rays cast up to the C1 arch, their grid's margin around the
#: footprint (covers the saddle face's box, ``upper_cervical_docking.build``: 1 mm), the default
#: clearance below the arch (mm) and how far above the horns the field is held where the rays miss
#: the arch or hit it higher (mm: the field then crosses the horns' plane at a clean angle).
#: Clearance measured on the real C1: with 0.1 mm the B-spline through the 0.4 mm samples touches
#: the arch (deepest point 0.4 µm inside it, on a steep flank); with 0.12 mm every point of the built
#: groove stays 0.036 mm or more off the arch, gap mean 0.11 mm, 90th percentile 0.12 mm.
RAY_SPACING_MM = 0.1
RAY_MARGIN_MM = 1.5
SADDLE_CLEARANCE_MM = 0.12
SADDLE_LIFT_MM = 1.0


def _saddle_axis(x0: float, zs: float, rc: float, tilt_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The saddle's revolution axis (``plates.v_saddle_tool``: seat at (x0, 0, zs), ring radius rc,
    axis leaning ``tilt_deg`` anteriorly): its direction ``n``, the radial direction ``e1`` of the
    midline plane y = 0 and the point ``axis`` on it in that plane."""
    t = np.radians(tilt_deg)
    n = np.array([np.sin(t), 0.0, np.cos(t)])
    e1 = np.array([np.cos(t), 0.0, -np.sin(t)])
    return n, e1, np.array([x0, 0.0, zs]) - rc * e1


def _unrevolve(pts: np.ndarray, x0: float, zs: float, rc: float, tilt_deg: float) -> np.ndarray:
    """(x, z) of points turned about the saddle's revolution axis (:func:`_saddle_axis`) into the
    midline plane y = 0, where the groove's cross-section is drawn."""
    n, e1, axis = _saddle_axis(x0, zs, rc, tilt_deg)
    rel = pts - axis
    zeta = rel @ n
    rho = np.linalg.norm(rel - np.outer(zeta, n), axis=1)
    q = axis + np.outer(rho, e1) + np.outer(zeta, n)
    return q[:, [0, 2]]


def _revolve(xz: np.ndarray, ys: np.ndarray, x0: float, zs: float, rc: float, tilt_deg: float) -> np.ndarray:
    """Points of the midline cross-section ``xz`` (x, z) turned about the saddle's axis to each y of ``ys``."""
    n, e1, axis = _saddle_axis(x0, zs, rc, tilt_deg)
    rel = np.column_stack([xz[:, 0], np.zeros(len(xz)), xz[:, 1]]) - axis
    zeta = rel @ n
    rho = rel @ e1
    out = []
    for y in ys:
        phi = np.arcsin(np.clip(y / rho, -1.0, 1.0))
        out.append(axis + np.outer(rho * np.cos(phi), e1) + np.outer(rho * np.sin(phi), [0.0, 1.0, 0.0])
                   + np.outer(zeta, n))
    return np.vstack(out)


def saddle_search(arch: np.ndarray, outline: np.ndarray, depth_mm: float, width_mm: float) -> dict:
    """Grid search of the analytic saddle (see the module docstring). ``arch``: C1 points (implant
    frame) above the footprint. Returns dict(profile, r, rc, d, angle, tilt, x0, seat, gap_mid_max,
    gap_mean, gap_p90, key)."""
    over = arch[outlines.contains(outline, arch[:, :2])]
    if len(over) < 16:
        raise ParameterError("C1 mesh: no anterior arch above the docking body's footprint")
    tree = cKDTree(arch)
    best = None
    hw = width_mm / 2
    # the arch's lowest line: per slice across y, the x of the lowest point; x = a + b·y² gives the
    # axial-plane curvature radius 1 / (2|b|) and the bottom's AP position a
    rows = []
    for y in np.linspace(-hw + 0.5, hw - 0.5, 9):
        sl = over[np.abs(over[:, 1] - y) < 0.5]
        if len(sl):
            rows.append((y, sl[np.argmin(sl[:, 2]), 0]))
    rows = np.array(rows)
    (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(rows)), rows[:, 0] ** 2]), rows[:, 1], rcond=None)
    rc0 = float(np.clip(1.0 / (2 * max(-b, 1e-6)), 10.0, 60.0))
    shapes = [("round", float(r), float(d), 90.0, 0.0) for r in np.arange(2.5, 7.01, 0.25)
              for d in np.arange(1.0, min(r, 4.0) + 1e-9, 0.5)]
    shapes += [("v", float(r), float(d), float(a), 0.0) for r in (1.0, 1.5, 2.0) for a in np.arange(70.0, 120.1, 10.0)
               for d in np.arange(1.5, 4.01, 0.5)]
    shapes += [("v", float(r), float(d), float(a), float(tilt)) for tilt in (10.0, 20.0, 30.0) for r in (1.0, 1.5)
               for a in (80.0, 90.0, 100.0) for d in (1.5, 2.0, 2.5, 3.0)]
    ys = np.linspace(-hw + 1.0, hw - 1.0, 7)
    # only the arch's underside can bind the seat: points higher than the horns (+ the rise of a
    # leaning groove at the sides) never touch the material
    low = over[over[:, 2] < over[:, 2].min() + 4.0 + 3.0]
    z_low = float(low[:, 2].min())
    turned: dict = {}
    for rc in sorted({float(np.clip(rc0 * k, 10.0, 60.0)) for k in (0.7, 1.0, 1.4)}):
        sag = rc - np.sqrt(max(rc * rc - hw * hw, 0.0))
        for profile, r, d, angle, tilt in shapes:
            height = groove_height(profile, r, d, angle)
            chord = groove_chord(profile, r, d, angle)
            t = np.linspace(-chord / 2, chord / 2, 9)
            zt = height(t)
            for x0 in np.clip(np.round(a * 4) / 4 + np.arange(-1.5, 1.51, 0.25), -4.0, 4.0):
                if x0 + chord / 2 > depth_mm / 2 - MIN_WALL_MM or x0 - chord / 2 - sag < -depth_mm / 2 + MIN_WALL_MM:
                    continue
                # seat: the highest groove bottom with no arch point inside the material (a few passes:
                # with a leaning axis the turned points move slightly with the seat)
                # (turned about the axis of a groove seated at the arch's lowest point z_low: with a
                # leaning axis the seat found is then off by a second-order amount, redone exactly below)
                key_q = (float(x0), rc, tilt)
                if key_q not in turned:
                    turned[key_q] = _unrevolve(low, x0, z_low, rc, tilt)
                q = turned[key_q]
                seat = z_low + float(np.min(q[:, 1] - z_low - height(q[:, 0] - x0)))
                # groove surface samples across the chord at the midline and over the whole groove
                mid = np.column_stack([x0 + t, np.zeros_like(t), seat + zt])
                gm, _ = tree.query(mid)
                allp = _revolve(np.column_stack([x0 + t, seat + zt]), ys, x0, seat, rc, tilt)
                ga, _ = tree.query(allp)
                key = (round(float(np.percentile(ga, 90)), 3), float(ga.mean()))
                if best is None or key < best["key"]:
                    best = dict(key=key, profile=profile, r=r, rc=rc, d=d, angle=angle, tilt=tilt, x0=float(x0),
                                seat=seat, gap_mid_max=float(gm.max()), gap_mean=float(ga.mean()),
                                gap_p90=float(np.percentile(ga, 90)))
    if best["tilt"]:  # the exact seat of the chosen leaning groove: no arch point inside the material
        height = groove_height(best["profile"], best["r"], best["d"], best["angle"])
        seat = best["seat"]
        for _ in range(4):
            q = _unrevolve(low, best["x0"], seat, best["rc"], best["tilt"])
            step = float(np.min(q[:, 1] - seat - height(q[:, 0] - best["x0"])))
            seat += step
            if abs(step) < 1e-6:
                break
        best["seat"] = seat
    return best



def fitted_saddle(c1: trimesh.Trimesh, frame: Frame, outline: np.ndarray, arch: np.ndarray,
                  depth_mm: float, clearance_mm: float) -> dict:
    """The patient-specific saddle (see the module docstring): rays cast along the implant's +z from
    a grid :data:`RAY_SPACING_MM` apart over the footprint's box (+ :data:`RAY_MARGIN_MM`) to their
    first hit on C1; the surface ``clearance_mm`` below the arch (the hits eroded by a ball of that
    radius rolled along their underside); the seat = its lowest point over the footprint; held at
    :data:`SADDLE_LIFT_MM` above the horns (seat + ``depth_mm``) where the rays miss the arch or hit
    it higher. Returns dict(field (callable, bilinear on the grid), seat, x0, y0, hits, rays, grid)."""
    lo, hi = outline.min(axis=0) - RAY_MARGIN_MM, outline.max(axis=0) + RAY_MARGIN_MM
    xs = np.arange(lo[0], hi[0] + RAY_SPACING_MM / 2, RAY_SPACING_MM)
    ys = np.arange(lo[1], hi[1] + RAY_SPACING_MM / 2, RAY_SPACING_MM)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    z0 = float(arch[:, 2].min()) - 5.0
    origins = frame.to_patient(np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, z0)]))
    up = np.tile(frame.axes[2], (len(origins), 1))
    locations, index, _ = c1.ray.intersects_location(origins, up, multiple_hits=True)
    first = np.full(gx.size, np.inf)
    np.minimum.at(first, index, (locations - origins[index]) @ frame.axes[2])
    hit = (z0 + first).reshape(gx.shape)
    # ball erosion: lowest point of a ball of radius clearance_mm touching the hits from below, at every node
    k = int(np.floor(clearance_mm / RAY_SPACING_MM + 1e-9))
    field = hit - clearance_mm
    padded = np.pad(hit, k, constant_values=np.inf)
    for i in range(-k, k + 1):
        for j in range(-k, k + 1):
            rho = RAY_SPACING_MM * np.hypot(i, j)
            if (i or j) and rho <= clearance_mm + 1e-9:
                shifted = padded[k + i:k + i + gx.shape[0], k + j:k + j + gx.shape[1]]
                field = np.minimum(field, shifted - np.sqrt(max(clearance_mm ** 2 - rho ** 2, 0.0)))
    inside = outlines.contains(outline, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    if not np.isfinite(field[inside]).any():
        raise ParameterError("C1 mesh: no anterior arch above the docking body's footprint")
    k_low = int(np.argmin(np.where(inside, field, np.inf)))
    seat = float(field.ravel()[k_low])
    field = np.minimum(field, seat + depth_mm + SADDLE_LIFT_MM)
    interp = RegularGridInterpolator((xs, ys), field, method="linear")

    def surface(x, y):
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        q = np.column_stack([np.clip(x.ravel(), xs[0], xs[-1]), np.clip(y.ravel(), ys[0], ys[-1])])
        return interp(q).reshape(x.shape)

    return dict(field=surface, seat=seat, x0=float(gx.ravel()[k_low]), y0=float(gy.ravel()[k_low]),
                hits=int(np.isfinite(hit).sum()), rays=int(gx.size), grid=(xs, ys, field))


