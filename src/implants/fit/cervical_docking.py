"""The ``upper-cervical-docking`` (saddle) implant fitted between real C3 and C1 meshes, C2 resected
(layer: fit). Meshes in the patient frame (+x anterior, +y left, +z superior, mm).

* **Implant frame**: the frame of the extracted C3 superior endplate (:func:`~implants.anatomy.endplates.extract_endplate`:
  z along its mean normal, x anterior) moved in its plane to the centroid of the endplate outline. The
  body stands perpendicular on the endplate; the saddle's torus axis is that z.
* **Lower face**: the endplate's smooth height field over the footprint, moved off the bone by the
  deepest point of the real surface (C3's facing triangles subdivided to 0.25 mm) that would otherwise
  penetrate it, and built as an interpolating B-spline (``build(lower_field=...)``).
* **Saddle** (default ``saddle="fitted"``, ``saddle_profile = fitted``): patient-specific, the arch's
  measured underside ``saddle_clearance_mm`` (default 0.12) below it (:func:`.docking_saddle.fitted_saddle`);
  ``height_mm`` is its lowest point over the footprint. The template builds it as an interpolating
  degree-3 B-spline face (``build(saddle_field=...)``) and cuts the body's top down to it.
  **Analytic saddle** (``saddle="analytic"``): the best round or v groove of a grid search
  (:func:`.docking_saddle.saddle_search`); ``height_mm`` is its seat.
* **Report**: C3 contact of ``contact.inferior``, the saddle-to-arch gap, the deepest penetration
  of the implant into C3 and into C1 with the screw channels' walls left out
  (:func:`.cervical_measures.docking_measures`), timings.

Approximate: the C1 mesh is coarse (~5k triangles, edges ~1.5 mm), so the arch's cross-section near
its lowest point is a polygon; the analytic groove only approximates it, the fitted groove follows its
facets (smoothed by the B-spline); the gap figures are distances to that polygonal surface.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import tolerances
from ..errors import ParameterError, kernel_guard
from ..geometry import outlines
from ..model import Implant
from ..params import validate
from ..anatomy.endplates import extract_endplate
from ..implant_types.upper_cervical_docking import DockingParams, build, derive
from .cervical_measures import docking_measures, with_measures
from .docking_saddle import RAY_SPACING_MM, SADDLE_CLEARANCE_MM, fitted_saddle, saddle_search
from .facing_surface import dense_points, facing_points
from .footprint import face_samples, polygon_centroid
from .inputs import meshes_and_params

#: Spacing (mm) of the samples the interpolating B-spline lower face goes through.
FACE_SPACING_MM = 0.6
#: Largest distance (mm) between the built lower face and its field when the faces are picked
#: (measured on the real C3: the interpolated face stays within 0.07 mm of the field).
FACE_TOL_MM = 0.1


def _footprint(rim: np.ndarray, base: dict, user: bool) -> tuple[DockingParams, float]:
    """Docking parameters whose body footprint lies inside the endplate rim (``rim``: outline in the
    implant frame) and the AP shift of the body centre. Given parameters are kept (only the body is
    moved AP, -2 to +1 mm); otherwise the default body is shrunk (corner radius first, then depth and
    width) until it fits."""
    fixed = {"docking": "saddle", "lower_vertebra": "c3", "height_mm": None, "endplate": "flat"}
    shifts = np.arange(0.0, -2.01, -0.25).tolist() + [0.25, 0.5, 0.75, 1.0]
    if user:
        candidates = [base]
    else:
        candidates = [{**base, "depth_mm": d, "width_mm": w, "corner_radius_mm": r}
                      for d in np.arange(14.0, 9.99, -0.5) for w in np.arange(16.0, 13.49, -0.5)
                      for r in (2.5, 3.5, 4.5, 5.5, 6.0)]
        candidates.sort(key=lambda c: -(c["depth_mm"] * c["width_mm"] - (4 - np.pi) * c["corner_radius_mm"] ** 2))
    for cand in candidates:
        try:
            p = validate(DockingParams, {**cand, **fixed})
        except ParameterError:
            if user:
                raise
            continue
        outline = derive(p).outline
        for dx in shifts:
            if outlines.contains(rim, outline + [dx, 0.0]).all():
                return p, dx
    size = np.ptp(rim, axis=0)
    raise ParameterError(f"the docking body's footprint (depth_mm, width_mm, corner_radius_mm) does not fit inside the "
                         f"C3 superior endplate ({size[0]:.1f} x {size[1]:.1f} mm)")


def fit_docking_implant(c3_mesh: Any, c1_mesh: Any, params=None, *, measure: bool = True,
                        tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM,
                        press_fit_mm: float = 0.0, saddle: str = "fitted",
                        saddle_clearance_mm: float = SADDLE_CLEARANCE_MM) -> tuple[Implant, dict]:
    """An ``upper-cervical-docking`` saddle implant standing on the real C3 superior endplate and
    seating under the real C1 anterior arch (C2 resected). Meshes (or mesh files) in the patient
    frame. ``saddle``: ``"fitted"`` (default: the patient-specific groove, the arch's measured
    underside ``saddle_clearance_mm`` (0–0.5) below it, ``saddle_profile = fitted``) or ``"analytic"``
    (the grid search of a round or v groove). ``press_fit_mm`` (0–0.3): the saddle is raised this
    much above the contact seat, so its groove presses that deep (less the clearance, when fitted)
    into the arch where they touch (default 0: no arch point inside).
    ``params``: optional :class:`DockingParams` (footprint, screws ...; docking must be
    ``saddle`` on ``c3``); the lower face, ``height_mm`` and the saddle's ``arch_radius_mm``,
    ``arch_curve_radius_mm``, ``saddle_depth_mm``, ``saddle_offset_x_mm`` are fitted. Returns the
    implant in the patient frame and a report (see the module docstring)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    (c3, c1), base = meshes_and_params(params, DockingParams, (c3_mesh, "C3 mesh"), (c1_mesh, "C1 mesh"))
    if params is not None and params.docking.value != "saddle":
        raise ParameterError(f"docking = {params.docking.value}: the anatomy fit seats the saddle variant")
    if params is not None and params.lower_vertebra.value != "c3":
        raise ParameterError(f"lower_vertebra = {params.lower_vertebra.value}: the anatomy fit stands on c3")
    ep = extract_endplate(c3, "superior")
    centre = polygon_centroid(ep.outline_local)
    frame = ep.frame.moved_to((centre[0], centre[1], 0.0))
    timings["endplate_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    trial, shift_x = _footprint(ep.outline_local - centre, base, user=params is not None)
    centre = centre + [shift_x, 0.0]
    frame = ep.frame.moved_to((centre[0], centre[1], 0.0))
    outline = derive(trial).outline

    def field0(x, y):
        return ep.height(np.asarray(x, float) + centre[0], np.asarray(y, float) + centre[1])

    pts = facing_points(c3, frame, field0, outline)
    if len(pts) < 16:
        raise ParameterError("C3 mesh: too few surface points under the docking body's footprint")
    gaps = pts[:, 2] - field0(pts[:, 0], pts[:, 1])  # bone below the field: >= 0 once seated
    shift = float(max(0.0, gaps.max()))
    gaps = shift - gaps

    def lower(x, y):
        return field0(x, y) + shift

    lo, hi = outline.min(axis=0) - 1.0, outline.max(axis=0) + 1.0
    arch = dense_points(c1, frame, lambda tri: np.all((tri[:, :, :2].max(axis=1) > lo) & (tri[:, :, :2].min(axis=1) < hi),
                                                 axis=1))
    if not 0.0 <= press_fit_mm <= 0.3:
        raise ParameterError(f"press_fit_mm = {press_fit_mm} outside 0 to 0.3 mm")
    if saddle not in ("fitted", "analytic"):
        raise ParameterError(f"saddle = {saddle!r}: expected 'fitted' or 'analytic'")
    if not 0.0 <= saddle_clearance_mm <= 0.5:
        raise ParameterError(f"saddle_clearance_mm = {saddle_clearance_mm} outside 0 to 0.5 mm")
    saddle_field = None
    if saddle == "fitted":
        fit = fitted_saddle(c1, frame, outline, arch, trial.saddle_depth_mm, saddle_clearance_mm)
        fit["seat"] += press_fit_mm
        measured = fit["field"]
        saddle_field = measured if press_fit_mm == 0.0 else (lambda x, y: measured(x, y) + press_fit_mm)

        over = {"saddle_profile": "fitted", "saddle_depth_mm": trial.saddle_depth_mm, "saddle_tilt_deg": 0.0,
                "saddle_offset_x_mm": float(np.clip(round(fit["x0"], 3), -4.0, 4.0))}
    else:
        fit = saddle_search(arch, outline, trial.depth_mm, trial.width_mm)
        fit["seat"] += press_fit_mm
        over = {"arch_radius_mm": fit["r"], "arch_curve_radius_mm": fit["rc"], "saddle_depth_mm": fit["d"],
                "saddle_offset_x_mm": fit["x0"], "saddle_profile": fit["profile"], "saddle_v_angle_deg": fit["angle"],
                "saddle_tilt_deg": fit["tilt"]}
    timings["fit_s"] = time.perf_counter() - t

    over = {"docking": "saddle", "lower_vertebra": "c3", "endplate": "flat", "height_mm": round(fit["seat"], 6),
            **over}
    try:
        p = validate(DockingParams, {**base, **over})
    except ParameterError as error:
        raise ParameterError(f"the C1 arch is {fit['seat']:.1f} mm above the C3 endplate: {error}") from error
    samples = face_samples(outline, FACE_SPACING_MM)
    t = time.perf_counter()
    local = kernel_guard("fitted docking implant: the CAD kernel failed", build, p, lower, saddle_field,
                         clip_method="interpolate", clip_samples=samples, face_tol_mm=FACE_TOL_MM)
    moved = local.transformed(frame.matrix)
    timings["build_s"] = time.perf_counter() - t

    report: dict[str, Any] = {
        "frame_matrix": [[round(float(v), 6) for v in row] for row in frame.matrix],
        "axis": [round(float(v), 6) for v in frame.axes[2]],
        "seat_height_mm": round(fit["seat"], 3), "press_fit_mm": press_fit_mm,
        "lower_face_shift_mm": round(shift, 4),
        "lower_fit_gap_p95_mm": round(float(np.percentile(gaps, 95)), 4),
        "saddle": ({"profile": "fitted", "clearance_mm": saddle_clearance_mm, "saddle_depth_mm": p.saddle_depth_mm,
                    "seat_xy_mm": [round(fit["x0"], 3), round(fit["y0"], 3)], "rays": fit["rays"],
                    "ray_hits": fit["hits"], "ray_spacing_mm": RAY_SPACING_MM}
                   if saddle == "fitted" else
                   {"profile": fit["profile"], "v_angle_deg": fit["angle"], "tilt_deg": fit["tilt"], "arch_radius_mm": fit["r"], "arch_curve_radius_mm": fit["rc"], "saddle_depth_mm": fit["d"],
                    "saddle_offset_x_mm": fit["x0"], "search_gap_mid_max_mm": round(fit["gap_mid_max"], 3),
                    "search_gap_mean_mm": round(fit["gap_mean"], 3),
                    "search_gap_p90_mm": round(fit["gap_p90"], 3)}),
        "footprint_mm": [p.depth_mm, p.width_mm], "face_samples": samples,
        "endplate": ep.summary(),
    }
    metrics = {**local.metrics, "frame_matrix": report["frame_matrix"]}
    implant = Implant(local.type_id, p, moved.shape, moved.features, preset="anatomy-fitted", metrics=metrics,
                      parts={})
    measures = (lambda: docking_measures(implant, c3, c1, tolerance_mm)) if measure else None
    return with_measures(implant, report, timings, t0, measures)
