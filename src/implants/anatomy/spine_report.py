"""What an assembled spine (:mod:`implants.anatomy.spine`) reports and writes: the regional Cobb
angles measured on the placed endplates, the overlap between adjacent bones, the placed frames as
JSON-able data and the bones as STL or GLB bytes (layer: anatomy). Assembled frame: patient
frame, mm, +x anterior, +y left, +z superior."""

from __future__ import annotations

import numpy as np
import trimesh

from ..porous.meshing import to_manifold
from .spine import Spine, cobb_angles


def measured_curve(spine: Spine) -> dict[str, float]:
    """Cobb angles (deg) measured on the placed endplates: cervical lordosis (C2 to C7 inferior
    endplates), thoracic kyphosis (T1 superior to T12 inferior), lumbar lordosis (L1 superior to S1)."""
    return cobb_angles(lambda name, side: getattr(spine.bone(name), side))


def overlap(a: trimesh.Trimesh, b: trimesh.Trimesh) -> tuple[float, float]:
    """Volume (mm³) of the intersection of two closed meshes and its depth (mm): the largest
    distance from a point of one surface inside the other to that other's surface."""
    common = to_manifold(np.asarray(a.vertices), np.asarray(a.faces)) ^ to_manifold(np.asarray(b.vertices),
                                                                                   np.asarray(b.faces))
    volume = float(common.volume())
    if volume <= 0.0:
        return 0.0, 0.0
    points = np.asarray(common.to_mesh().vert_properties)[:, :3].astype(float)
    depth = np.maximum(trimesh.proximity.closest_point(a, points)[1], trimesh.proximity.closest_point(b, points)[1])
    return volume, float(depth.max())


def adjacent_overlaps(spine: Spine) -> list[dict]:
    """Overlap (volume mm³, depth mm) of every pair of bones next to each other in the spine
    (C0/C1 … L5/sacrum, sacrum/pelvis)."""
    rows = []
    for upper, lower in zip(spine.bones, spine.bones[1:]):
        volume, depth = overlap(upper.mesh, lower.mesh)
        rows.append({"upper": upper.name, "lower": lower.name, "volume_mm3": round(volume, 1),
                     "depth_mm": round(depth, 2)})
    return rows


def bone_files(spine: Spine, file_format: str) -> dict[str, bytes]:
    """The bones as files: ``<level>.stl`` each (binary, mm) for ``"stl"``, or one ``spine.glb`` with a
    node per bone (named by its level) for ``"glb"``."""
    if file_format == "stl":
        return {f"{b.name}.stl": trimesh.exchange.stl.export_stl(b.mesh) for b in spine.bones}
    scene = trimesh.Scene()
    for b in spine.bones:
        scene.add_geometry(b.mesh, node_name=b.name, geom_name=b.name)
    return {"spine.glb": scene.export(file_type="glb")}


def frames_json(spine: Spine) -> dict:
    """The curve asked for, the curve measured, every disc and every bone's transform and endplates."""
    def pose(p):
        return None if p is None else {"centre_mm": np.round(p.centre, 3).tolist(), "up": np.round(p.up, 5).tolist(),
                                       "sagittal_deg": round(p.sagittal_deg, 3)}
    return {
        "frame": "patient frame of the Visible Human lumbosacral set: mm, +x anterior, +y left, +z superior",
        "curve": spine.curve.model_dump(mode="json"),
        "measured": {k: round(v, 3) for k, v in measured_curve(spine).items()},
        "discs": [{"upper": d.upper, "lower": d.lower, "angle_deg": round(d.angle_deg, 3),
                   "height_mm": round(d.height_mm, 3)} for d in spine.discs],
        "bones": [{"name": b.name, "transform": np.round(b.transform, 6).tolist(), "superior": pose(b.superior),
                   "inferior": pose(b.inferior)} for b in spine.bones],
    }
