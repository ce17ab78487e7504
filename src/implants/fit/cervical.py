"""Upper-cervical implants fitted to real C1, C2 and C3 meshes (patient frame, mm).

:func:`fit_docking_implant` — ``upper-cervical-docking`` (saddle) between C3 and C1, C2 resected:

* **Implant frame**: the frame of the extracted C3 superior endplate (:func:`.endplates.extract_endplate`:
  z along its mean normal, x anterior) moved in its plane to the centroid of the endplate outline. The
  body stands perpendicular on the endplate; the saddle's torus axis is that z.
* **Lower face**: the endplate's smooth height field over the footprint, moved off the bone by the
  deepest point of the real surface (C3's facing triangles subdivided to 0.25 mm) that would otherwise
  penetrate it, and built as an interpolating B-spline (``build(lower_field=...)``).
* **Saddle** (default ``saddle="fitted"``, ``saddle_profile = fitted``): patient-specific. Rays cast
  along the implant's +z from a 0.1 mm grid over the footprint's box to their first hit on the C1
  mesh give the arch's underside as seen from the body; the saddle surface is that underside
  ``saddle_clearance_mm`` (default 0.12) below it (the hits eroded by a ball of that radius: a normal
  offset, so steep flanks keep the clearance too), held 1 mm above the horns (seat +
  ``saddle_depth_mm``, default 3) where the rays miss the arch or hit it higher. ``height_mm`` is its
  lowest point over the footprint. The template builds it as an interpolating degree-3 B-spline face
  (``build(saddle_field=...)``) and cuts the body's top down to it: the groove is the negative of the
  real arch, whose underside is W-shaped along the groove (no revolved groove fits it).
* **Analytic saddle** (``saddle="analytic"``): the C1 surface above the footprint (subdivided to 0.25 mm) in the implant frame; a grid
  search over the groove's cross-section ``saddle_profile`` (round: radius ``arch_radius_mm`` 2.5–7;
  v: tip radius 1–2 mm, ``saddle_v_angle_deg`` 70–120, depth 1.5–4 mm: the real arch's lower border
  is a ~90° v with a sharp tip, so the v wins), the lean of the v groove's axis ``saddle_tilt_deg``
  (0–30°: the groove bottom rises towards the sides like the arch's lower border), the arch's axial curvature
  ``arch_curve_radius_mm``, the groove depth and its AP position ``saddle_offset_x_mm``: for each, the
  seat height is the highest at which no arch point lies inside the implant (closed form per point:
  the material surface under the groove, the points turned about the groove's axis into its midline
  cross-section), and the candidate with the smallest 90th percentile of the gap between the groove
  and the arch over the whole groove wins (ties: the mean gap).
  ``height_mm`` is that seat.
* **Report**: C3 contact of ``contact.inferior`` (mm², % of its face area, % of its projected
  footprint), the saddle-to-arch gap (exact distances from points on the built groove faces to the C1
  mesh: over the groove's width at the midline and over the whole groove), the deepest penetration
  of the implant into C3 and into C1 (``checks.contact``, closed meshes) with the screw channels'
  walls left out, timings.

:func:`fit_transarticular_template` — ``c1c2-transarticular-template`` on C1 and C2:

* the C1–C2 joints (C1 inferior / C2 superior articular surfaces closer than 3 mm), one per side;
* the screw entries: from each joint centre back along the Magerl trajectory to where the line leaves
  C2's posterior surface; the template origin is their midpoint and ``entry_spacing_mm`` their distance;
* the arch plate: C1's posterior arch at the midline (posterior-most surface), its axial curvature
  fitted over the plate's width, the plate moved onto the bone along x until no arch point lies
  inside it (it rests on the arch); the C2 spinous pad likewise dropped onto the spinous process;
  the tube stand-off grown until the tubes clear C2;
* report: contact of ``contact.arch`` with C1 (mm²), the deepest penetration into C1 and into C2,
  how far each guide axis passes from its joint centre, timings.

Approximate: the C1 mesh is coarse (~5k triangles, edges ~1.5 mm), so the arch's cross-section near
its lowest point is a polygon; the analytic groove only approximates it, the fitted groove follows its
facets (smoothed by the B-spline); the gap figures are distances to that polygonal surface.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import tolerances
from ..errors import GeometryError, ParameterError
from ..anatomy.endplates import Frame
from .facing_surface import dense_points, facing_points
from .column import _centroid, _mesh

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

#: Spacing (mm) of the samples the interpolating B-spline lower face goes through.
FACE_SPACING_MM = 0.6
#: Largest distance (mm) between the built lower face and its field when the faces are picked
#: (measured on the real C3: the interpolated face stays within 0.07 mm of the field).
FACE_TOL_MM = 0.1
#: Implant triangles closer than this (mm) to a screw axis (beyond its radius) are screw path.
SCREW_MARGIN_MM = 0.5
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
#: Distance (mm) under which the C1 and C2 articular surfaces belong to the C1–C2 joint.
JOINT_GAP_MM = 3.0


def _move(shape, features: dict, frame: Frame):
    """Shape and features moved from ``frame`` into the patient frame."""
    import cadquery as cq
    from OCP.BRepBuilderAPI import BRepBuilderAPI_Transform
    from OCP.gp import gp_Trsf

    from ..model import Feature

    trsf = gp_Trsf()
    trsf.SetValues(*(float(v) for v in frame.matrix[:3].ravel()))
    moved = cq.Shape.cast(BRepBuilderAPI_Transform(shape.wrapped, trsf, True).Shape())
    before, after = shape.Faces(), moved.Faces()
    if len(before) != len(after):
        raise GeometryError("fitted implant: the transform into the patient frame changed the faces")
    out = {}
    for name, f in features.items():
        faces = tuple(after[next(i for i, b in enumerate(before) if b.isSame(face))] for face in f.faces)
        origin = frame.to_patient(np.array([f.origin], float))[0]
        direction = None if f.direction is None else tuple(float(v) for v in np.asarray(f.direction, float) @ frame.axes)
        out[name] = Feature(f.name, f.kind, tuple(float(v) for v in origin), direction, f.diameter_mm,
                            f.length_mm, faces, dict(f.info))
    return moved, out


def _screw_mask(mesh: "trimesh.Trimesh", implant: "Implant") -> np.ndarray:
    """Triangles of the tessellated implant lying on a screw path (channel walls)."""
    c = mesh.triangles_center
    mask = np.zeros(len(c), bool)
    for f in implant.features.values():
        if f.kind != "channel" or f.diameter_mm is None:
            continue
        o, d = np.asarray(f.origin, float), np.asarray(f.direction, float)
        rel = c - o
        radial = np.linalg.norm(rel - np.outer(rel @ d, d), axis=1)
        mask |= radial <= f.diameter_mm / 2 + SCREW_MARGIN_MM
    return mask


def _bone_contact(tess_mesh: "trimesh.Trimesh", bone: "trimesh.Trimesh", exclude: np.ndarray,
                  tolerance_mm: float):
    """contact_area of the implant mesh against a bone, screw-path triangles left out of the
    penetration (they are removed from the mesh, which is then open: the penetration is taken from
    the sampled contact pass and from a containment test of the remaining vertices)."""
    from ..checks.contact import contact_area

    result = contact_area(tess_mesh, bone, tolerance_mm=tolerance_mm)
    depth = float(result.max_penetration_mm or 0.0)
    if exclude.any() and depth > 0:
        kept = tess_mesh.submesh([np.flatnonzero(~exclude)], append=True)
        depth = float(contact_area(kept, bone, tolerance_mm=tolerance_mm).max_penetration_mm or 0.0)
    return result, depth


# ----------------------------------------------------------------------------------------------
# docking implant
# ----------------------------------------------------------------------------------------------

def _unrevolve(pts: np.ndarray, x0: float, zs: float, rc: float, tilt_deg: float) -> np.ndarray:
    """(x, z) of points turned about the saddle's revolution axis (``plates.v_saddle_tool``: seat at
    (x0, 0, zs), ring radius rc, axis leaning ``tilt_deg`` anteriorly) into the midline plane y = 0,
    where the groove's cross-section is drawn."""
    t = np.radians(tilt_deg)
    n = np.array([np.sin(t), 0.0, np.cos(t)])
    e1 = np.array([np.cos(t), 0.0, -np.sin(t)])
    axis = np.array([x0, 0.0, zs]) - rc * e1
    rel = pts - axis
    zeta = rel @ n
    rho = np.linalg.norm(rel - np.outer(zeta, n), axis=1)
    q = axis + np.outer(rho, e1) + np.outer(zeta, n)
    return q[:, [0, 2]]


def _revolve(xz: np.ndarray, ys: np.ndarray, x0: float, zs: float, rc: float, tilt_deg: float) -> np.ndarray:
    """Points of the midline cross-section ``xz`` (x, z) turned about the saddle's axis to each y of ``ys``."""
    t = np.radians(tilt_deg)
    n = np.array([np.sin(t), 0.0, np.cos(t)])
    e1 = np.array([np.cos(t), 0.0, -np.sin(t)])
    axis = np.array([x0, 0.0, zs]) - rc * e1
    rel = np.column_stack([xz[:, 0], np.zeros(len(xz)), xz[:, 1]]) - axis
    zeta = rel @ n
    rho = rel @ e1
    out = []
    for y in ys:
        phi = np.arcsin(np.clip(y / rho, -1.0, 1.0))
        out.append(axis + np.outer(rho * np.cos(phi), e1) + np.outer(rho * np.sin(phi), [0.0, 1.0, 0.0])
                   + np.outer(zeta, n))
    return np.vstack(out)


def _saddle_search(arch: np.ndarray, outline: np.ndarray, depth_mm: float, width_mm: float):
    """Grid search of the saddle (see the module docstring). ``arch``: C1 points (implant frame) above
    the footprint. Returns dict(r, rc, d, x0, seat, gap_mid_max, gap_mean)."""
    from scipy.spatial import cKDTree

    from ..geometry import outlines
    from ..implant_types.upper_cervical_docking import MIN_WALL_MM, groove_chord, groove_height

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


def _footprint(rim: np.ndarray, base: dict, user: bool):
    """Docking parameters whose body footprint lies inside the endplate rim (``rim``: outline in the
    implant frame) and the AP shift of the body centre. Given parameters are kept (only the body is
    moved AP, -2 to +1 mm); otherwise the default body is shrunk (corner radius first, then depth and
    width) until it fits."""
    from ..geometry import outlines
    from ..params import validate
    from ..implant_types.upper_cervical_docking import DockingParams, derive

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


def _fitted_saddle(c1: "trimesh.Trimesh", frame: Frame, outline: np.ndarray, arch: np.ndarray,
                   depth_mm: float, clearance_mm: float) -> dict:
    """The patient-specific saddle (see the module docstring): rays cast along the implant's +z from
    a grid :data:`RAY_SPACING_MM` apart over the footprint's box (+ :data:`RAY_MARGIN_MM`) to their
    first hit on C1; the surface ``clearance_mm`` below the arch (the hits eroded by a ball of that
    radius rolled along their underside); the seat = its lowest point over the footprint; held at
    :data:`SADDLE_LIFT_MM` above the horns (seat + ``depth_mm``) where the rays miss the arch or hit
    it higher. Returns dict(field (callable, bilinear on the grid), seat, x0, y0, hits, rays, grid)."""
    from scipy.interpolate import RegularGridInterpolator

    from ..geometry import outlines

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


def fit_docking_implant(c3_mesh: Any, c1_mesh: Any, params=None, *, measure: bool = True,
                        tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM,
                        press_fit_mm: float = 0.0, saddle: str = "fitted",
                        saddle_clearance_mm: float = SADDLE_CLEARANCE_MM) -> tuple["Implant", dict]:
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
    from ..model import Implant
    from ..params import validate
    from ..implant_types.upper_cervical_docking import DockingParams, build, derive
    from ..anatomy.endplates import extract_endplate

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    (c3, c1), base = _inputs(params, DockingParams, (c3_mesh, "C3 mesh"), (c1_mesh, "C1 mesh"))
    if params is not None and params.docking.value != "saddle":
        raise ParameterError(f"docking = {params.docking.value}: the anatomy fit seats the saddle variant")
    if params is not None and params.lower_vertebra.value != "c3":
        raise ParameterError(f"lower_vertebra = {params.lower_vertebra.value}: the anatomy fit stands on c3")
    ep = extract_endplate(c3, "superior")
    centre = _centroid(ep.outline_local)
    frame = Frame(ep.frame.to_patient(np.array([[centre[0], centre[1], 0.0]]))[0], ep.frame.axes)
    timings["endplate_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    trial, shift_x = _footprint(ep.outline_local - centre, base, user=params is not None)
    centre = centre + [shift_x, 0.0]
    frame = Frame(ep.frame.to_patient(np.array([[centre[0], centre[1], 0.0]]))[0], ep.frame.axes)
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
        fit = _fitted_saddle(c1, frame, outline, arch, trial.saddle_depth_mm, saddle_clearance_mm)
        fit["seat"] += press_fit_mm
        measured = fit["field"]
        saddle_field = measured if press_fit_mm == 0.0 else (lambda x, y: measured(x, y) + press_fit_mm)

        over = {"saddle_profile": "fitted", "saddle_depth_mm": trial.saddle_depth_mm, "saddle_tilt_deg": 0.0,
                "saddle_offset_x_mm": float(np.clip(round(fit["x0"], 3), -4.0, 4.0))}
    else:
        fit = _saddle_search(arch, outline, trial.depth_mm, trial.width_mm)
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
    span = float(np.ptp(outline, axis=0).max()) + 4.0
    samples = int(np.clip(np.ceil(span / FACE_SPACING_MM) + 1, 21, 101))
    t = time.perf_counter()
    try:
        local = build(p, lower, saddle_field, clip_method="interpolate", clip_samples=samples, face_tol_mm=FACE_TOL_MM)
    except (ParameterError, GeometryError):
        raise
    except Exception as error:  # the kernel failing on accepted input is a geometry failure
        raise GeometryError(f"fitted docking implant: the CAD kernel failed ({type(error).__name__}: {error})") from error
    shape, features = _move(local.shape, local.features, frame)
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
    implant = Implant(local.type_id, p, shape, features, preset="anatomy-fitted", metrics=metrics, parts={})
    measures = (lambda: _docking_measures(implant, c3, c1, tolerance_mm)) if measure else None
    return _finish(implant, report, timings, t0, measures)


def _inputs(params, params_class: type, *meshes: tuple[Any, str]) -> tuple[list, dict]:
    """The fit's meshes (each ``(mesh or path, name)``, loaded) and the user's parameters as a dict
    (``params`` must be a ``params_class`` or None)."""
    if params is not None and not isinstance(params, params_class):
        raise ParameterError(f"params: expected {params_class.__name__}, got {type(params).__name__}")
    return [_mesh(mesh, name) for mesh, name in meshes], (params.model_dump() if params is not None else {})


def _finish(implant: "Implant", report: dict, timings: dict, t0: float, measures: Callable[[], dict] | None):
    """Add the measurements (``measures()``, timed) and the rounded timings to ``report``."""
    if measures is not None:
        t = time.perf_counter()
        report.update(measures())
        timings["measure_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    report["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    return implant, report


def _face_points(faces, deflection: float = 0.02) -> np.ndarray:
    pts = []
    for f in faces:
        vertices, _ = f.tessellate(deflection, 0.1)
        pts += [(v.x, v.y, v.z) for v in vertices]
    return np.array(pts, float)


def _docking_measures(implant: "Implant", c3: "trimesh.Trimesh", c1: "trimesh.Trimesh", tolerance_mm: float) -> dict:
    """C3 contact of the lower face, saddle-to-arch gaps, penetrations outside the screw paths."""
    import trimesh

    from ..pipeline import footprints_of
    from ..writers.tessellate import tessellate
    from ..implant_types.upper_cervical_docking import groove_chord_mm

    tess = tessellate(implant.shape, tolerances.DEFAULT_DEFLECTION_MM)
    mesh = tess.mesh
    footprints, masks = footprints_of(implant, tess)
    if "contact.inferior" not in masks:
        raise GeometryError("fitted docking implant: no triangles for contact.inferior")
    screws = _screw_mask(mesh, implant)
    res3, pen3 = _bone_contact(mesh, c3, screws, tolerance_mm)
    res1, pen1 = _bone_contact(mesh, c1, screws, tolerance_mm)
    mask = masks["contact.inferior"]
    fp = footprints["contact.inferior"]
    touching = float(res3.triangle_area_mm2[mask].sum())
    projected = float((res3.triangle_area_mm2[mask] * (mesh.face_normals[mask] @ np.asarray(fp["normal"]))).sum())
    # saddle: exact distances from points on the built groove faces to the C1 mesh
    groove = _face_points(implant.features["docking.c1"].faces)
    axes = np.asarray(implant.metrics["frame_matrix"], float)[:3, :3]
    origin = np.asarray(implant.metrics["frame_matrix"], float)[:3, 3]
    local = (groove - origin) @ axes
    p = implant.params
    x0 = p.saddle_offset_x_mm
    # the groove's width at the midline: points within 0.5 mm of y = 0
    mid = np.abs(local[:, 1]) < 0.5
    inner = np.abs(local[:, 1]) <= p.width_mm / 2 - 1.0
    if p.saddle_profile.value == "fitted":  # the groove's AP width at the midline, read off its faces
        chord = float(np.ptp(local[mid, 0])) if mid.any() else 0.0
    else:
        chord = groove_chord_mm(p)
    _, dist, _ = trimesh.proximity.closest_point(c1, groove)
    inside = c1.contains(groove)
    signed = np.where(inside, -dist, dist)
    return {
        "c3": {"contact_mm2": round(touching, 2), "face_area_mm2": round(fp["surface_area_mm2"], 2),
               "pct_face": round(100 * touching / fp["surface_area_mm2"], 2),
               "contact_projected_mm2": round(projected, 2), "footprint_mm2": round(fp["area_mm2"], 2),
               "pct_footprint": round(100 * projected / fp["area_mm2"], 2),
               "contact_all_faces_mm2": round(res3.area_mm2, 2), "max_penetration_mm": round(pen3, 4),
               "max_penetration_incl_screw_paths_mm": round(float(res3.max_penetration_mm or 0.0), 4)},
        "c1": {"contact_mm2": round(res1.area_mm2, 2), "max_penetration_mm": round(pen1, 4)},
        "saddle_gap_mm": {"midline_max": round(float(signed[mid].max()), 4),
                          "midline_mean": round(float(signed[mid].mean()), 4),
                          "midline_min": round(float(signed[mid].min()), 4),
                          "groove_min": round(float(signed[inner].min()), 4),
                          "groove_mean": round(float(signed[inner].mean()), 4),
                          "groove_p90": round(float(np.percentile(signed[inner], 90)), 4),
                          "groove_max": round(float(signed[inner].max()), 4),
                          "midline_points": int(mid.sum()), "groove_points": int(inner.sum()),
                          "groove_chord_mm": round(chord, 3)},
        "max_penetration_mm": round(max(pen3, pen1), 4),
        "tolerance_mm": tolerance_mm,
        "groove_centre_x_mm": x0,
    }


# ----------------------------------------------------------------------------------------------
# transarticular template
# ----------------------------------------------------------------------------------------------

def _joints(c1: "trimesh.Trimesh", c2: "trimesh.Trimesh") -> dict[str, np.ndarray]:
    """Centre of each lateral C1–C2 joint: C1 vertices within JOINT_GAP_MM of C2, more than 6 mm
    from the midline (the median atlanto-dental joint left out), averaged per side."""
    import trimesh

    _, dist, _ = trimesh.proximity.closest_point(c2, c1.vertices)
    out = {}
    for name, s in (("left", 1), ("right", -1)):
        sel = (dist < JOINT_GAP_MM) & (s * c1.vertices[:, 1] > 6.0)
        if sel.sum() < 3:
            raise ParameterError(f"C1/C2 meshes: no {name} C1–C2 joint (C1 within {JOINT_GAP_MM} mm of C2)")
        out[name] = c1.vertices[sel].mean(axis=0)
    return out


def fit_transarticular_template(c1_mesh: Any, c2_mesh: Any, params=None, *, measure: bool = True,
                                tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM) -> tuple["Implant", dict]:
    """A ``c1c2-transarticular-template`` resting on the real C1 posterior arch with its guide axes
    through the C1–C2 joints (see the module docstring). ``params``: optional
    :class:`TransarticularParams` (trajectory angles, bore, plate size ...); the entry spacing, the arch
    offsets and curvature, the pad position and the tube stand-off are fitted. Returns the implant in
    the patient frame (axes unchanged, origin moved) and a report."""
    from ..geometry.frames import direction_from_angles
    from ..model import Implant
    from ..params import validate
    from ..implant_types.c1c2_transarticular_template import TransarticularParams, arch_surface, build, derive

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    (c1, c2), base = _inputs(params, TransarticularParams, (c1_mesh, "C1 mesh"), (c2_mesh, "C2 mesh"))
    p0 = validate(TransarticularParams, base)
    joints = _joints(c1, c2)
    entries = {}
    for name, s in (("left", 1), ("right", -1)):
        d = direction_from_angles(p0.sagittal_deg, p0.medial_deg, base=(1.0, 0.0, 0.0), side=s)
        hits, _, _ = c2.ray.intersects_location([joints[name]], [-d])
        if not len(hits):
            raise ParameterError(f"C2 mesh: the {name} trajectory from the C1–C2 joint does not leave C2 posteriorly")
        entries[name] = hits[np.argmax((joints[name] - hits) @ d)]
    origin = 0.5 * (entries["left"] + entries["right"])
    spacing = float(np.clip(entries["left"][1] - entries["right"][1], 16.0, 40.0))
    frame = Frame(origin, np.eye(3))
    v1 = c1.vertices - origin
    # posterior arch at the midline: the posterior-most C1 surface, its vertical centre
    mid = v1[np.abs(v1[:, 1]) < 1.5]
    post = mid[mid[:, 0] < mid[:, 0].mean()]
    back = post[post[:, 0] < post[:, 0].min() + 3.0]
    ax, az = float(post[:, 0].min()), float(0.5 * (back[:, 2].min() + back[:, 2].max()))
    # axial curvature of the arch's posterior surface over the plate's width
    half = p0.arch_plate_width_mm / 2
    rows = []
    for y in np.linspace(-half, half, 11):
        sl = v1[(np.abs(v1[:, 1] - y) < 1.0) & (np.abs(v1[:, 2] - az) < p0.arch_plate_height_mm / 2) & (v1[:, 0] < ax + 15)]
        if len(sl):
            rows.append((y, sl[:, 0].min()))
    rows = np.array(rows)
    (_, b), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(rows)), rows[:, 0] ** 2]), rows[:, 1], rcond=None)
    radius = float(np.clip(1.0 / (2 * max(b, 1e-6)), half / 0.9 + 0.5, 80.0))
    over = {"entry_spacing_mm": round(spacing, 4), "arch_offset_x_mm": round(ax, 4), "arch_offset_z_mm": round(az, 4),
            "arch_curve_radius_mm": round(radius, 3)}
    p = validate(TransarticularParams, {**base, **over})
    # rest the plate on the arch: move it along its normal (−x) until no arch point is inside it
    arch = dense_points(c1, frame, lambda tri: (tri[:, :, 0].min(axis=1) < ax + 15) & (np.abs(tri[:, :, 1]).min(axis=1) < half + 1)
                  & (np.abs(tri[:, :, 2] - az).min(axis=1) < p.arch_plate_height_mm / 2 + 1))
    u, v, w = arch[:, 2] - az, -arch[:, 1], -(arch[:, 0] - ax)
    inside = (np.abs(u) <= p.arch_plate_height_mm / 2) & (np.abs(v) <= half)
    shift = float(np.max(w[inside] - arch_surface(p)(u[inside], v[inside])))
    over["arch_offset_x_mm"] = round(ax - shift, 4)
    if p.spinous_pad:  # the pad dropped onto the C2 spinous process under the arch plate
        c2pts = dense_points(c2, frame, lambda tri: np.abs(tri[:, :, 1]).min(axis=1) < p.pad_width_mm / 2 + 1)
        px = over["arch_offset_x_mm"] + 2.0
        under = c2pts[(np.abs(c2pts[:, 0] - px) <= p.pad_length_mm / 2) & (np.abs(c2pts[:, 1]) <= p.pad_width_mm / 2)
                      & (c2pts[:, 2] < az - p.arch_plate_height_mm / 2)]
        if len(under) > 8:
            slope = np.polyfit(under[:, 0], under[:, 2], 1)[0]
            tilt = float(np.clip(np.degrees(np.arctan(-slope)), -10.0, 45.0))
            pz = float(np.max(under[:, 2] + (under[:, 0] - px) * np.tan(np.radians(tilt))))
            over.update(pad_x_mm=round(px, 4), pad_z_mm=round(pz, 4), pad_tilt_deg=round(tilt, 3))
    p = validate(TransarticularParams, {**base, **over})
    # tube stand-off: the smallest (0.25 mm steps) at which neither bone enters a tube
    g = derive(p)
    reach = p.tube_length_mm + 10.0 + p.bore / 2 + p.tube_wall_mm + 2.0

    def near_tubes(tri):
        c = tri.mean(axis=1)
        return np.min([np.linalg.norm(c - e, axis=1) for e in g.entries.values()], axis=0) < reach

    bone = np.vstack([dense_points(c2, frame, near_tubes), arch])
    outer = p.bore / 2 + p.tube_wall_mm
    standoff = p.tube_standoff_mm
    for standoff in np.arange(p.tube_standoff_mm, 10.001, 0.25):
        clear = True
        for name in ("left", "right"):
            d = g.directions[name]
            rel = bone - (g.entries[name] - d * standoff)
            along = rel @ d
            radial = np.linalg.norm(rel - np.outer(along, d), axis=1)
            clear &= not np.any((along <= 0.1) & (along >= -p.tube_length_mm - 0.1) & (radial <= outer + 0.1))
        if clear:
            break
    p = validate(TransarticularParams, {**base, **over, "tube_standoff_mm": round(float(standoff), 3)})
    timings["fit_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    local = build(p)
    shape, features = _move(local.shape, local.features, frame)
    timings["build_s"] = time.perf_counter() - t
    g = derive(p)
    miss = {}
    for name in ("left", "right"):
        rel = joints[name] - origin - g.entries[name]
        d = g.directions[name]
        miss[name] = round(float(np.linalg.norm(rel - (rel @ d) * d)), 3)
    report: dict[str, Any] = {
        "origin_mm": [round(float(c), 3) for c in origin],
        "joint_centres_mm": {k: [round(float(c), 3) for c in j] for k, j in joints.items()},
        "guide_axis_to_joint_mm": miss,
        "fitted": {k: getattr(p, k) for k in (*over, "tube_standoff_mm")},
        "plate_shift_mm": round(shift, 4),
    }
    implant = Implant(local.type_id, p, shape, features, preset="anatomy-fitted",
                      metrics={**local.metrics, "frame_matrix": frame.matrix.tolist()}, parts={})
    measures = (lambda: _template_measures(implant, c1, c2, tolerance_mm)) if measure else None
    return _finish(implant, report, timings, t0, measures)


def _template_measures(implant: "Implant", c1: "trimesh.Trimesh", c2: "trimesh.Trimesh", tolerance_mm: float) -> dict:
    """Contact of ``contact.arch`` with C1 and penetrations into C1 and C2 outside the guide bores."""
    from ..writers.tessellate import feature_mask, tessellate

    tess = tessellate(implant.shape, tolerances.DEFAULT_DEFLECTION_MM)
    mesh = tess.mesh
    bores = _screw_mask(mesh, implant)
    r1, pen1 = _bone_contact(mesh, c1, bores, tolerance_mm)
    r2, pen2 = _bone_contact(mesh, c2, bores, tolerance_mm)
    mask = feature_mask(tess, implant.shape, implant.features["contact.arch"])
    out = {"c1": {"arch_contact_mm2": round(float(r1.triangle_area_mm2[mask].sum()), 3),
                  "arch_face_mm2": round(float(mesh.area_faces[mask].sum()), 2),
                  "contact_mm2": round(r1.area_mm2, 3), "max_penetration_mm": round(pen1, 4)},
           "c2": {"contact_mm2": round(r2.area_mm2, 3), "max_penetration_mm": round(pen2, 4)},
           "tolerance_mm": tolerance_mm}
    if "pad.c2" in implant.features and implant.features["pad.c2"].faces:
        pad = feature_mask(tess, implant.shape, implant.features["pad.c2"])
        out["c2"]["pad_contact_mm2"] = round(float(r2.triangle_area_mm2[pad].sum()), 3)
    return out
