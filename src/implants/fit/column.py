"""A ``vertebral-body-replacement`` with end platforms fitted to two real vertebrae (corpectomy)
(layer: fit).

The column spans the corpectomy gap from the **inferior endplate of the vertebra above** the
removed bodies to the **superior endplate of the vertebra below** (e.g. L3 and L5 with L4
removed). Meshes in the patient frame (+x anterior, +y left, +z superior, mm).

**Column frame**: the frame of :func:`.disc_space.disc_space` for the two facing endplates
(z along the bisector of the endplate normals, x anterior; the disc space is only allowed to be
as tall as the template's ``height_mm`` bound), moved in its x-y plane to the centroid of the
usable footprint (inside both endplate rims by ``margin_mm``) and along z to the middle of the
gap there. The column axis is that z: along the corpectomy gap.

**End faces**: the extracted endplates' smooth height fields (:func:`.endplates.extract_endplate`)
expressed in the column frame (:meth:`.disc_space.DiscSpace.upper_z` / ``lower_z``), each moved
away from the bone by the deepest point of the real surface (the facing triangles subdivided to
:data:`~implants.fit.facing_surface.DENSE_MM`) that would otherwise penetrate it. The template's ``height_mm`` and
``lordosis_deg`` are the least-squares planes of the two faces over the footprint (height between
them at the axis, sagittal angle between them); the rest of each face (dome, coronal tilt) goes
to the template as the ``superior_recess`` / ``inferior_recess`` of that end, so the built end
face *is* the fitted field (interpolating degree-3 B-spline, ``clip_between(method="interpolate")``).
The finished solid is moved into the patient frame, between the meshes.

The report gives per end the contact of the end-platform faces (``contact.superior`` against the
upper vertebra, ``contact.inferior`` against the lower), measured as the export pipeline does:
the implant tessellated, the faces' triangles picked by :func:`~implants.writers.tessellate.feature_mask`,
the footprint their area projected on their mean plane (:mod:`implants.checks.footprint`),
:func:`~implants.checks.contact.contact_area` against the whole vertebra mesh (the end face's
triangles' share of it) and the deepest penetration of the implant into that vertebra.

Measured on the lumbar mean L3/L5 (L4 removed): footprint 26 x 37.5 mm, height 41.8 mm,
lordosis 15.9 deg; the fields are moved 0.13/0.14 mm off the bone to stop penetrating, so
~100 % of each end face lies within 0.25 mm but only 20 %/7 % within 0.1 mm. A refit of the
field to the dense surface points (cell 0.7 mm) seats at 0.02–0.05 mm, but its finer
B-spline end faces made the booleans run for over ten minutes: not used.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import trimesh

from .. import tolerances
from ..errors import GeometryError, ParameterError, kernel_guard
from ..geometry import outlines
from ..model import Implant
from ..params import validate
from ..anatomy.disc_space import DiscSpace, disc_space
from ..anatomy.endplates import extract_endplate
from ..checks.contact import contact_area
from ..pipeline import footprints_of
from ..writers.tessellate import tessellate
from ..implant_types.vertebral_body_replacement import (REGIONS, TYPE_ID, VBRParams, build, derive,
                                                        footprint_size)
from .facing_surface import facing_points, seat
from .footprint import face_samples, footprint_grid, plane_fit, polygon_centroid
from .inputs import vertebra_mesh

#: Spacing (mm) of the samples the interpolating B-spline end faces go through. On the lumbar
#: mean L3/L5 fields (cell ~1 mm) the face stays within ~0.01 mm of the field (measured).
FACE_SPACING_MM = 0.6
#: Largest distance (mm) between a built end face and its field when the faces are picked.
FACE_TOL_MM = 0.02
#: Footprint scale steps tried (from the region's default footprint down) until it fits.
SCALES = np.arange(1.0, 0.39, -0.02)


def _region(depth_mm: float) -> str:
    """Template region for an endplate of this antero-posterior depth (mm)."""
    return "cervical" if depth_mm < 22.0 else "thoracic" if depth_mm < 33.0 else "lumbar"


def _params(params: VBRParams | None, disc: DiscSpace, centre: np.ndarray, extra: dict) -> VBRParams:
    """The template parameters: the given ones (or the region's defaults with the footprint
    scaled down until it lies inside the usable footprint) with ``extra`` (height, lordosis)."""

    def fits(p: VBRParams) -> bool:
        return bool(outlines.contains(disc.footprint, derive(p).outline + centre).all())

    if params is not None:
        if not isinstance(params, VBRParams):
            raise ParameterError(f"params: expected VBRParams, got {type(params).__name__}")
        p = validate(VBRParams, {**params.model_dump(), **extra})
        if not fits(p):
            d, w = footprint_size(p)
            size = np.ptp(disc.footprint, axis=0)
            raise ParameterError(f"depth_mm x width_mm = {d} x {w}: the footprint does not fit inside the usable "
                                 f"footprint between the endplates ({size[0]:.1f} x {size[1]:.1f} mm, "
                                 f"{disc.margin_mm} mm inside the rims)")
        return p
    region = _region(min(disc.upper.size_mm[0], disc.lower.size_mm[0]))
    base = validate(VBRParams, {"region": region, **extra})
    d0, w0 = footprint_size(base)
    r = REGIONS[region]
    for scale in SCALES:
        try:
            p = validate(VBRParams, {"region": region, "depth_mm": max(8.0, round(d0 * scale * 2) / 2),
                                     "width_mm": max(8.0, round(w0 * scale * 2) / 2),
                                     "graft_channel_mm": round(r.graft_channel * min(1.0, scale * 1.1), 1), **extra})
        except ParameterError:
            continue
        if fits(p):
            return p
    raise ParameterError(f"the usable footprint between the endplates ({disc.footprint_area_mm2:.0f} mm²) holds no "
                         f"{region} column footprint of depth_mm/width_mm >= 8 mm")


def end_contact(implant: Implant, upper_mesh: trimesh.Trimesh, lower_mesh: trimesh.Trimesh,
                tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM,
                deflection_mm: float = tolerances.DEFAULT_DEFLECTION_MM) -> dict:
    """Per end: end-platform face area within ``tolerance_mm`` of its vertebra (mm², % of the
    face's surface area) and that contact projected on the face's mean plane (% of the
    footprint, computed as the export pipeline does), and the deepest penetration of the
    implant into that vertebra (mm)."""
    tess = tessellate(implant.shape, deflection_mm)
    footprints, masks = footprints_of(implant, tess)
    out = {}
    for end, mesh in (("superior", upper_mesh), ("inferior", lower_mesh)):
        name = f"contact.{end}"
        if name not in masks:
            raise GeometryError(f"fitted column: no triangles for {name}")
        mask = masks[name]
        result = contact_area(tess.mesh, mesh, tolerance_mm=tolerance_mm)
        touching = float(result.triangle_area_mm2[mask].sum())
        # the same contact projected on the face's mean plane, like the footprint itself
        cosines = tess.mesh.face_normals[mask] @ np.asarray(footprints[name]["normal"])
        projected = float((result.triangle_area_mm2[mask] * cosines).sum())
        face = footprints[name]["surface_area_mm2"]
        foot = footprints[name]["area_mm2"]
        out[end] = {"contact_mm2": round(touching, 2), "face_area_mm2": round(face, 2),
                    "pct_face": round(100.0 * touching / face, 2),
                    "contact_projected_mm2": round(projected, 2), "footprint_mm2": round(foot, 2),
                    "pct_footprint": round(100.0 * projected / foot, 2),
                    "max_penetration_mm": None if result.max_penetration_mm is None
                    else round(float(result.max_penetration_mm), 4),
                    "tolerance_mm": tolerance_mm}
    return out


def fit_body_replacement(upper_mesh: Any, lower_mesh: Any, params: VBRParams | None = None, *,
                         margin_mm: float = 2.0, measure: bool = True,
                         tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM) -> tuple[Implant, dict]:
    """A ``vertebral-body-replacement`` between ``upper_mesh`` (the vertebra above the defect:
    its inferior endplate) and ``lower_mesh`` (below: its superior endplate), meshes or mesh
    files in the patient frame, with end platforms fitted to both endplates.

    ``params``: template parameters (footprint, levels, graft channel, fixation options ...);
    ``height_mm`` and ``lordosis_deg`` are replaced by the gap's. Default: the region's
    defaults with the footprint scaled to the usable footprint. Returns the implant in the
    patient frame and a report (column frame, height, angles, seating, per-end contact when
    ``measure``, wall timings per step and total CPU time in s).
    """
    timings: dict[str, float] = {}
    t0, cpu0 = time.perf_counter(), time.process_time()
    up_mesh, lo_mesh = vertebra_mesh(upper_mesh, "upper vertebra"), vertebra_mesh(lower_mesh, "lower vertebra")
    up_ep, lo_ep = extract_endplate(up_mesh, "inferior"), extract_endplate(lo_mesh, "superior")
    disc = disc_space(up_ep, lo_ep, margin_mm=margin_mm, max_height_mm=200.0)
    timings["endplates_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    centre = polygon_centroid(disc.footprint)
    zc = 0.5 * float(disc.upper_z(centre[0], centre[1]) + disc.lower_z(centre[0], centre[1]))
    frame = disc.frame.moved_to((centre[0], centre[1], zc))

    def upper0(x, y):
        return disc.upper_z(np.asarray(x) + centre[0], np.asarray(y) + centre[1]) - zc

    def lower0(x, y):
        return disc.lower_z(np.asarray(x) + centre[0], np.asarray(y) + centre[1]) - zc

    # footprint first (height and lordosis do not change it), then the fields over it
    gap = float(upper0(0.0, 0.0) - lower0(0.0, 0.0))
    trial = _params(params, disc, centre, {"height_mm": float(np.clip(gap, 10.0, 200.0)), "lordosis_deg": 0.0})
    outline = derive(trial).outline
    pu = facing_points(up_mesh, frame, upper0, outline)
    pl = facing_points(lo_mesh, frame, lower0, outline)
    du, gaps_u = seat(upper0, pu, +1, "column footprint", min_points=16)
    dl, gaps_l = seat(lower0, pl, -1, "column footprint", min_points=16)

    def upper(x, y):
        return upper0(x, y) - du

    def lower(x, y):
        return lower0(x, y) + dl

    grid = footprint_grid(outline)
    au, bu, _ = plane_fit(upper, grid)
    al, bl, _ = plane_fit(lower, grid)
    height = au - al
    lordosis = float(np.degrees(np.arctan(bu) - np.arctan(bl)))
    shift = (au + al) / 2  # centre the planes on the origin: the template's end planes are ±height/2
    frame = frame.moved_to((0.0, 0.0, shift))
    if not 10.0 <= height <= 200.0 or abs(lordosis) > 40.0:
        raise ParameterError(f"the gap between the endplates is {height:.1f} mm at the axis with a sagittal angle of "
                             f"{lordosis:.1f} deg: the column allows height_mm 10 to 200 and lordosis_deg -40 to 40")
    p = _params(params, disc, centre, {"height_mm": round(float(height), 6), "lordosis_deg": round(lordosis, 6)})
    g = derive(p)
    ts = np.tan(np.radians(g.lordosis_deg) / 2)

    def sup_recess(x, y):  # the template adds it to its upper plane height/2 + ts·x
        return upper(x, y) - shift - (g.height_mm / 2 + ts * np.asarray(x, float))

    def inf_recess(x, y):  # the template subtracts it from its lower plane −height/2 − ts·x
        return (-g.height_mm / 2 - ts * np.asarray(x, float)) - (lower(x, y) - shift)

    samples = face_samples(g.outline, FACE_SPACING_MM)
    timings["fit_s"] = time.perf_counter() - t

    t = time.perf_counter()
    local = kernel_guard("fitted column: the CAD kernel failed", build, p, sup_recess, inf_recess,
                         clip_method="interpolate", clip_samples=samples, face_tol_mm=FACE_TOL_MM)
    moved = local.transformed(frame.matrix)
    timings["build_s"] = time.perf_counter() - t

    report: dict[str, Any] = {
        "height_mm": round(g.height_mm, 3), "lordosis_deg": round(g.lordosis_deg, 3),
        "gap_at_axis_mm": round(float(upper(0.0, 0.0) - lower(0.0, 0.0)), 3),
        "footprint_mm": [p.depth_mm, p.width_mm], "region": p.region.value, "levels": p.levels,
        "column_frame_matrix": [[round(float(v), 6) for v in row] for row in frame.matrix],
        "axis": [round(float(v), 6) for v in frame.axes[2]],
        "seat_shift_mm": {"superior": round(du, 4), "inferior": round(dl, 4)},
        "fit_gap_p95_mm": {"superior": round(float(np.percentile(gaps_u, 95)), 4),
                           "inferior": round(float(np.percentile(gaps_l, 95)), 4)},
        "surface_points": {"superior": int(len(pu)), "inferior": int(len(pl))},
        "face_samples": samples,
        "disc_space": disc.summary(),
    }
    metrics = {**local.metrics, **{k: report[k] for k in ("gap_at_axis_mm", "seat_shift_mm", "axis")},
               "column_frame_matrix": report["column_frame_matrix"]}
    implant = Implant(TYPE_ID, p, moved.shape, moved.features, preset="anatomy-fitted", metrics=metrics, parts={})
    if measure:
        t = time.perf_counter()
        report["ends"] = end_contact(implant, up_mesh, lo_mesh, tolerance_mm)
        timings["contact_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    timings["total_cpu_s"] = time.process_time() - cpu0  # wall times grow when the machine is shared
    report["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    return implant, report
