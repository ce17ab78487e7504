"""The B-rep of an interbody cage between two fitted bearing fields (layer: fit).

The template (``interbody_cage.build_from_geometry``) builds the cage in the cage frame
(:mod:`.cage_placement`) with its bearing faces made from the fields (``clip_between``): a fitted
endplate field (a grid spline) as its own bicubic B-spline, exactly; two planes
(:class:`~.cage_fields.PlaneField`: the stock cage, the flat cage of ``contact-compare``) as planar
faces; any other field as the degree-3 B-spline interpolating samples of it (the planned
correction's rotated field). The finished implant is moved
into the patient frame (+x anterior, +y left, +z superior, mm), between the meshes. Its metrics give the segmental
angles (current, target, planned, measured on the built faces), heights and the cage frame.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..errors import ParameterError, kernel_guard
from ..geometry.grid_surface import GridSpline
from ..geometry.local_frame import Frame
from ..model import Implant
from ..implant_types.interbody_cage import TYPE_ID, CageGeometry, CageParams, build_from_geometry
from .cage_fields import PlaneField, fit_cell, plane_angles
from .facing_surface import Field
from .footprint import face_samples
from .inputs import Anatomy

#: Smallest cage thickness (mm) anywhere over the footprint.
MIN_THICKNESS_MM = 0.5
#: Spacing of the samples the bearing B-spline faces interpolate (``clip_between``), × the fit's cell:
#: 0.6 × cell keeps the B-spline within ~0.01 mm of the field (measured on L4/L5: 0.007 mm at
#: 0.68 × cell; 0.07 mm at 1.4 × cell).
FACE_SPACING = 0.6


def build_cage(anat: Anatomy, p: CageParams, g: CageGeometry, centre: np.ndarray, frame: Frame, upper: Field,
               lower: Field, region: np.ndarray, current, target, planned, info: dict, started: float) -> Implant:
    """The cage between the ``upper`` and ``lower`` fields (cage frame) in the patient frame, its
    metrics recording the ``current``, ``target`` and ``planned`` (sagittal, coronal) angles (deg),
    ``info`` and the time since ``started`` (``time.perf_counter``); how the faces are built
    follows the fields' types (:func:`_clip_method`)."""
    thickness = upper(region[:, 0], region[:, 1]) - lower(region[:, 0], region[:, 1])
    edge = upper(g.outline[:, 0], g.outline[:, 1]) - lower(g.outline[:, 0], g.outline[:, 1])
    thinnest = float(min(thickness.min(), edge.min()))
    if thinnest < MIN_THICKNESS_MM:
        raise ParameterError(f"disc space: the cage would be {thinnest:.2f} mm thin somewhere over the footprint "
                             f"(at least {MIN_THICKNESS_MM} mm): the vertebrae touch or overlap there; "
                             "choose a smaller footprint (depth_mm, width_mm)")
    geometry = replace(g, upper=upper, lower=lower, superior_endplate=None, inferior_endplate=None,
                       min_height_mm=thinnest)
    samples = face_samples(g.outline, FACE_SPACING * fit_cell(g.outline), most=81)
    local = kernel_guard("congruent cage: the CAD kernel failed", build_from_geometry, p, geometry,
                         clip_method=_clip_method(upper, lower), clip_samples=samples)
    moved = local.transformed(frame.matrix)
    measured = _face_angles(local)
    metrics = {
        "segmental_angle_deg": {
            "sagittal_current": round(current[0], 3), "coronal_current": round(current[1], 3),
            "sagittal_target": None if target[0] is None else float(target[0]),
            "coronal_target": None if target[1] is None else float(target[1]),
            "sagittal_planned": round(planned[0], 3), "coronal_planned": round(planned[1], 3),
            "sagittal_measured": round(measured[0], 3), "coronal_measured": round(measured[1], 3)},
        "height_at_centre_mm": round(float(upper(0.0, 0.0) - lower(0.0, 0.0)), 3),
        "min_height_mm": round(thinnest, 3),
        "max_height_mm": round(float(max(thickness.max(), edge.max())), 3),
        "cage_centre_disc_mm": [round(float(v), 3) for v in centre],
        "cage_frame_matrix": [[round(float(v), 6) for v in row] for row in (frame.matrix)],
        "disc_space": anat.disc.summary(),
        "build_s": round(time.perf_counter() - started, 2),
        **info,
    }
    return Implant(TYPE_ID, p, moved.shape, moved.features, preset=f"anatomy-{info['kind']}", metrics=metrics,
                   parts={})


def _clip_method(upper: Field, lower: Field) -> str:
    """How the bearing faces are built (``solids.height_field_face``): two :class:`PlaneField` fields
    as planar faces (exact, and each boolean takes milliseconds instead of a B-spline's tenths of
    a second); fields that are grid splines (the fitted, seated endplate fields) as their own
    B-splines, exactly; others (e.g. a field rotated by a planned correction) interpolated through samples."""
    if isinstance(upper, PlaneField) and isinstance(lower, PlaneField):
        return "plane"
    return "bspline" if isinstance(upper, GridSpline) and isinstance(lower, GridSpline) else "interpolate"


def _face_angles(local: Implant) -> tuple[float, float]:
    """Sagittal/coronal angle from plane fits of the built bearing faces (cage frame), each
    face sampled by its tessellation, triangles weighted by their projected area."""
    planes = []
    for name in ("contact.superior", "contact.inferior"):
        tris = []
        for face in local.features[name].faces:
            vertices, triangles = face.tessellate(0.005, 0.1)
            v = np.array([(q.x, q.y, q.z) for q in vertices])
            tris.append(v[np.asarray(triangles)])
        t = np.concatenate(tris)
        c = t.mean(axis=1)
        e1, e2 = t[:, 1, :2] - t[:, 0, :2], t[:, 2, :2] - t[:, 0, :2]
        w = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        sw = np.sqrt(w)
        a = np.column_stack([np.ones(len(c)), c[:, 0], c[:, 1]]) * sw[:, None]
        coef, *_ = np.linalg.lstsq(a, c[:, 2] * sw, rcond=None)
        planes.append(coef)
    return plane_angles(planes[0], planes[1])
