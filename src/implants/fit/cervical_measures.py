"""Bone contact measures of the fitted upper-cervical implants (layer: fit): contact of a named face
with its bone, penetration into each bone with the screw paths (channel walls) left out, and the
saddle-to-arch gap of the docking implant. Meshes and implants in the patient frame, mm.

Penetration outside the screw paths: the implant's triangles within :data:`SCREW_MARGIN_MM` of a
screw axis (beyond its radius) are removed from the tessellation; the remaining, open mesh is then
measured by the sampled contact pass and a containment test of its vertices
(:func:`~implants.checks.contact.contact_area`).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import trimesh

from .. import tolerances
from ..errors import GeometryError
from ..model import Implant
from ..checks.contact import ContactResult, contact_area
from ..pipeline import footprints_of
from ..writers.tessellate import feature_mask, tessellate
from ..implant_types.upper_cervical_docking import groove_chord_mm

#: Implant triangles closer than this (mm) to a screw axis (beyond its radius) are screw path.
SCREW_MARGIN_MM = 0.5


def _screw_mask(mesh: trimesh.Trimesh, implant: Implant) -> np.ndarray:
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


def _bone_contact(tess_mesh: trimesh.Trimesh, bone: trimesh.Trimesh, exclude: np.ndarray,
                  tolerance_mm: float) -> tuple[ContactResult, float]:
    """contact_area of the implant mesh against a bone, screw-path triangles left out of the
    penetration (they are removed from the mesh, which is then open: the penetration is taken from
    the sampled contact pass and from a containment test of the remaining vertices)."""
    result = contact_area(tess_mesh, bone, tolerance_mm=tolerance_mm)
    depth = float(result.max_penetration_mm or 0.0)
    if exclude.any() and depth > 0:
        kept = tess_mesh.submesh([np.flatnonzero(~exclude)], append=True)
        depth = float(contact_area(kept, bone, tolerance_mm=tolerance_mm).max_penetration_mm or 0.0)
    return result, depth


def with_measures(implant: Implant, report: dict, timings: dict, t0: float,
                  measures: Callable[[], dict] | None) -> tuple[Implant, dict]:
    """``(implant, report)`` with the measurements (``measures()``, timed) and the timings (s,
    rounded; ``total_s`` since ``t0``, ``time.perf_counter``) added to ``report``."""
    if measures is not None:
        t = time.perf_counter()
        report.update(measures())
        timings["measure_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    report["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    return implant, report


def _face_points(faces, deflection: float = 0.02) -> np.ndarray:
    """Tessellation vertices (N, 3) of the B-rep ``faces`` (chord deflection ``deflection`` mm)."""
    pts = []
    for f in faces:
        vertices, _ = f.tessellate(deflection, 0.1)
        pts += [(v.x, v.y, v.z) for v in vertices]
    return np.array(pts, float)


def docking_measures(implant: Implant, c3: trimesh.Trimesh, c1: trimesh.Trimesh, tolerance_mm: float) -> dict:
    """Docking implant: C3 contact of ``contact.inferior`` (mm², % of its face area, % of its
    projected footprint), the saddle-to-arch gap (exact signed distances from points on the built
    groove faces to the C1 mesh: over the groove's width at the midline and over the whole groove),
    the deepest penetration into C3 and into C1 outside the screw paths."""
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


def template_measures(implant: Implant, c1: trimesh.Trimesh, c2: trimesh.Trimesh, tolerance_mm: float) -> dict:
    """Transarticular template: contact of ``contact.arch`` with C1 (mm²) and penetrations into C1
    and C2 outside the guide bores."""
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
