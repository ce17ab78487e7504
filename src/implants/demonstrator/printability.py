"""Printability of an implant at a demonstrator scale (layer: demonstrator); FDM defaults: walls ≥ 0.8 mm,
holes ≥ 1.5 mm.

Holes: every named channel feature's diameter × scale against the minimum hole. Walls: the local
thickness sampled by casting a ray from points on the surface inwards (along −normal) to the
opposite surface; the thinnest samples × scale against the minimum wall, each reported with the
nearest named feature so the message says where. Rays that end on a face at a steep angle to them
(grazing a sharp or re-entrant edge) measure no wall, and only clusters of thin samples (an area,
not a point) are reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.spatial import cKDTree

from .scene import implant_meshes

if TYPE_CHECKING:
    from ..model import Implant

MIN_WALL_MM = 0.8
MIN_HOLE_MM = 1.5
WALL_SAMPLES = 3000
#: the far side of a wall: its normal within ~60° of the ray (cos)
OPPOSITE_COS = 0.5
#: a thin wall is an area: a thin sample counts when this many thin samples (itself included) lie
#: within 3 × the minimum wall (printed mm, the same radius as the taper test) of it
CLUSTER_MIN = 4
#: a thin sample with at least this fraction of samples thicker than twice the minimum wall within
#: 3 × the minimum wall is the tapering rim of an edge, not a wall
TAPER_FRACTION = 0.25


def wall_thickness_samples(mesh, samples: int = WALL_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(points, thickness mm) at up to ``samples`` area-weighted surface points of ``mesh``."""
    rng = np.random.default_rng(seed)
    areas = mesh.area_faces
    faces = rng.choice(len(areas), size=min(samples, len(areas) * 4), p=areas / areas.sum())
    tri = mesh.vertices[mesh.faces[faces]]
    u, v = rng.random(len(faces)), rng.random(len(faces))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    points = tri[:, 0] + u[:, None] * (tri[:, 1] - tri[:, 0]) + v[:, None] * (tri[:, 2] - tri[:, 0])
    inward = -mesh.face_normals[faces]
    origins = points + inward * 1e-4
    locations, ray_index, hit_tri = mesh.ray.intersects_location(origins, inward, multiple_hits=False)
    thickness = np.full(len(points), np.inf)
    # a wall's far side faces away from the near side (its outward normal along the ray); a ray grazing
    # a sharp or re-entrant edge ends on a face at a steep angle to it: not a wall, no thickness
    facing = np.einsum("ij,ij->i", mesh.face_normals[hit_tri], inward[ray_index]) > OPPOSITE_COS
    ok = (hit_tri != faces[ray_index]) & facing
    d = np.linalg.norm(locations[ok] - origins[ray_index[ok]], axis=1)
    np.minimum.at(thickness, ray_index[ok], d)
    return points, thickness


def _nearest_feature(implant: Implant, point: np.ndarray) -> str:
    best, name = np.inf, "the body"
    for feature in implant.features.values():
        if feature.origin is None:
            continue
        d = float(np.linalg.norm(np.asarray(feature.origin, float) - point))
        if d < best:
            best, name = d, feature.name
    return name


def printability_check(implant: Implant, scale: float, min_wall_mm: float = MIN_WALL_MM,
                       min_hole_mm: float = MIN_HOLE_MM) -> dict[str, Any]:
    """Holes and walls of ``implant`` at ``scale``; ``messages`` name every feature that would vanish
    (hole closes) or fuse (wall too thin). ``ok`` is False when there is any."""
    messages: list[str] = []
    holes = []
    for feature in implant.features.values():
        if feature.kind != "channel" or not feature.diameter_mm:
            continue
        printed = feature.diameter_mm * scale
        holes.append({"feature": feature.name, "diameter_mm": feature.diameter_mm, "printed_mm": round(printed, 3),
                      "ok": printed >= min_hole_mm})
        if printed < min_hole_mm:
            messages.append(f"hole {feature.name}: Ø{feature.diameter_mm:g} mm × {scale:g} = Ø{printed:.2f} mm "
                            f"< {min_hole_mm:g} mm: it would vanish (close up) in print")
    walls = []
    thin_count = 0
    for name, mesh in implant_meshes(implant, deflection_mm=0.05).items():
        points, thickness = wall_thickness_samples(mesh)
        finite = np.isfinite(thickness)
        if not finite.any():
            continue
        printed = thickness * scale
        thin = finite & (printed < min_wall_mm)
        if thin.any():
            # a wall is an area of thin samples; isolated ones (edge noise) and the tapering rim of a
            # sharp edge (thickness growing fast away from it: many thick samples close by) are not walls
            idx = np.flatnonzero(thin)
            radius = 3.0 * min_wall_mm / scale
            near = cKDTree(points).query_ball_point(points[idx], radius)
            for k, neighbours in zip(idx, near):
                values = printed[neighbours]
                n_thin = int(np.sum(thin[neighbours]))
                thick = float(np.mean(values > 2.0 * min_wall_mm))
                if n_thin < CLUSTER_MIN or thick >= TAPER_FRACTION:
                    thin[k] = False
        thin_count += int(thin.sum())
        p5 = float(np.percentile(printed[finite], 5))
        walls.append({"part": name, "min_printed_mm": round(float(printed[finite].min()), 3),
                      "p5_printed_mm": round(p5, 3), "thin_samples": int(thin.sum()), "samples": int(finite.sum())})
        # a wall fuses/vanishes only where several samples agree (a single grazing ray at an edge is noise)
        if thin.sum() >= CLUSTER_MIN:
            near: dict[str, float] = {}
            for k in np.flatnonzero(thin):
                feat = _nearest_feature(implant, points[k])
                near[feat] = min(near.get(feat, np.inf), float(printed[k]))
            listed = ", ".join(f"near {f} ({v:.2f} mm)" for f, v in sorted(near.items(), key=lambda kv: kv[1])[:4])
            messages.append(f"wall of {name}: {int(thin.sum())} of {int(finite.sum())} sampled points thinner than "
                            f"{min_wall_mm:g} mm at scale {scale:g}, {listed}: would not print or would fuse")
    return {"scale": scale, "min_wall_mm": min_wall_mm, "min_hole_mm": min_hole_mm, "holes": holes, "walls": walls,
            "messages": messages, "ok": not messages}
