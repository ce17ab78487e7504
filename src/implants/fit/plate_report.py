"""How a contoured anterior plate sits on the bone (layer: fit): the gap between its bone-facing
face and the vertebra meshes, its deepest penetration into bone and which screw axes enter bone.
Patient frame, mm.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import trimesh

from ..model import Implant
from ..writers.tessellate import tessellate
from .inputs import vertebra_meshes

#: Face points within this distance (mm, in z) of a disc level bridge the disc space (left out of
#: the gap over the vertebral bodies).
DISC_BAND_MM = 3.0
#: Screw axes "enter bone" when their ray meets bone within this distance (mm) of the plate's back.
SCREW_REACH_MM = 3.0


def posterior_face_points(implant: Implant, spacing_mm: float = 0.3) -> np.ndarray:
    """Points on the plate's bone-facing faces (``contact.posterior``), about ``spacing_mm`` apart."""
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


def fit_report(implant: Implant, meshes: Any, disc_levels_z: Sequence[float] = (), *, spacing_mm: float = 0.3) -> dict:
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
    ms = vertebra_meshes(meshes)
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
