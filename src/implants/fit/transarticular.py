"""The ``c1c2-transarticular-template`` fitted to real C1 and C2 meshes (layer: fit). Meshes in the
patient frame (+x anterior, +y left, +z superior, mm); the template keeps the patient axes, its
origin moved to the midpoint of the two screw entries.

* the C1–C2 joints (C1 inferior / C2 superior articular surfaces closer than :data:`JOINT_GAP_MM`),
  one per side;
* the screw entries: from each joint centre back along the Magerl trajectory to where the line leaves
  C2's posterior surface; the template origin is their midpoint and ``entry_spacing_mm`` their distance;
* the arch plate: C1's posterior arch at the midline (posterior-most surface), its axial curvature
  fitted over the plate's width, the plate moved onto the bone along x until no arch point lies
  inside it (it rests on the arch); the C2 spinous pad likewise dropped onto the spinous process;
  the tube stand-off grown until the tubes clear C2;
* report: contact of ``contact.arch`` with C1 (mm²), the deepest penetration into C1 and into C2
  (:func:`.cervical_measures.template_measures`), how far each guide axis passes from its joint
  centre, timings.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import trimesh

from .. import tolerances
from ..errors import ParameterError
from ..geometry.frames import direction_from_angles
from ..geometry.local_frame import Frame
from ..model import Implant
from ..params import validate
from ..implant_types.c1c2_transarticular_template import TransarticularParams, arch_surface, build, derive
from .cervical_measures import template_measures, with_measures
from .facing_surface import dense_points
from .inputs import meshes_and_params

#: Distance (mm) under which the C1 and C2 articular surfaces belong to the C1–C2 joint.
JOINT_GAP_MM = 3.0


def _joints(c1: trimesh.Trimesh, c2: trimesh.Trimesh) -> dict[str, np.ndarray]:
    """Centre of each lateral C1–C2 joint: C1 vertices within JOINT_GAP_MM of C2, more than 6 mm
    from the midline (the median atlanto-dental joint left out), averaged per side."""
    _, dist, _ = trimesh.proximity.closest_point(c2, c1.vertices)
    out = {}
    for name, s in (("left", 1), ("right", -1)):
        sel = (dist < JOINT_GAP_MM) & (s * c1.vertices[:, 1] > 6.0)
        if sel.sum() < 3:
            raise ParameterError(f"C1/C2 meshes: no {name} C1–C2 joint (C1 within {JOINT_GAP_MM} mm of C2)")
        out[name] = c1.vertices[sel].mean(axis=0)
    return out


def fit_transarticular_template(c1_mesh: Any, c2_mesh: Any, params=None, *, measure: bool = True,
                                tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM) -> tuple[Implant, dict]:
    """A ``c1c2-transarticular-template`` resting on the real C1 posterior arch with its guide axes
    through the C1–C2 joints (see the module docstring). ``params``: optional
    :class:`TransarticularParams` (trajectory angles, bore, plate size ...); the entry spacing, the arch
    offsets and curvature, the pad position and the tube stand-off are fitted. Returns the implant in
    the patient frame (axes unchanged, origin moved) and a report."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    (c1, c2), base = meshes_and_params(params, TransarticularParams, (c1_mesh, "C1 mesh"), (c2_mesh, "C2 mesh"))
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
    moved = local.transformed(frame.matrix)
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
    implant = Implant(local.type_id, p, moved.shape, moved.features, preset="anatomy-fitted",
                      metrics={**local.metrics, "frame_matrix": frame.matrix.tolist()}, parts={})
    measures = (lambda: template_measures(implant, c1, c2, tolerance_mm)) if measure else None
    return with_measures(implant, report, timings, t0, measures)
