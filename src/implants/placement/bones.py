"""The real bones of the scenes and their body frames (layer: placement).

Every bone of a scene is a packaged mesh (:func:`implants.anatomy.packaged.load`: the cervical
set C1–C7, the Visible Human lumbosacral set L1–L5 + sacrum + pelvis, the generated thoracic
levels, the occiput when packaged) placed by a **pose of its body frame**: ``place(level, pose)``
moves the mesh so that its body frame lands on the 4×4 ``pose``.

Body frame of a level (4×4, in the mesh's own packaged coordinates; patient axes, mm):

* a vertebra with two endplates (C3–C7, T1–T12, L1–L5): origin midway between the area centroids
  of its superior and inferior endplates (:func:`implants.anatomy.spine.endplate_pose`: the poses
  stored with the packaged data, found on the mesh only when a bone's data changed),
  z along the bisector of their outward normals (cranial), x towards patient-anterior made
  orthogonal to z;
* a vertebra with one endplate: C2 (the dens stands on its superior end) and the sacrum (S1 is
  fused to S2; its endplate is the S1 surface under L5): that endplate's frame moved into the bone
  by half the body height of the neighbouring level of the same set (C3, L5), measured on its endplates;
* a bone without a body (C1, C0, the pelvis): origin at the centre of its bounding box, the
  packaged axes.

Bones of one source share one frame, so :func:`place_with` keeps their anatomical relation
(C1–C2, C2–C7, L4–S1 with the pelvis) when one of them is posed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import trimesh

from ..anatomy import packaged
from ..anatomy.spine import endplate_pose as stored_endplate_pose
from ..errors import ParameterError

#: levels with one endplate → (that endplate, the neighbour whose body height they take)
ONE_ENDPLATE = {"C2": ("inferior", "C3"), "sacrum": ("superior", "L5")}
#: bones without a vertebral body: their frame is the centre of their box, packaged axes
NO_BODY = ("C0", "C1", "pelvis")


@dataclass
class Bone:
    """A bone mesh in the scene (patient frame, mm): its packaged name, opacity (faint = osteolytic
    or resected) and ``frame``, the 4×4 pose of its body frame in the scene (see the module docstring:
    origin at the body centre, z along the body's axis, x anterior)."""

    name: str
    mesh: trimesh.Trimesh
    opacity: float = 1.0
    frame: np.ndarray = field(default_factory=lambda: np.eye(4))

    def move(self, transform: np.ndarray) -> None:
        """Move the bone (mesh and frame) by the 4×4 ``transform``."""
        self.mesh.apply_transform(transform)
        self.frame = transform @ self.frame

    def shift(self, offset) -> None:
        """Translate the bone (mesh and frame) by ``offset`` (mm)."""
        self.move(translation(*offset))


def is_available(level: str) -> bool:
    """True when ``level`` is a packaged bone (the thoracic levels and C0 are added by their own modules)."""
    return level in packaged.LEVELS


@cache
def native_mesh(level: str) -> trimesh.Trimesh:
    """The packaged mesh of ``level`` (cached: callers copy it before moving it)."""
    return packaged.load(level)


def frame_matrix(origin, up, anterior=(1.0, 0.0, 0.0)) -> np.ndarray:
    """4×4 frame: origin ``origin``, z = ``up``, x = ``anterior`` made orthogonal to z, y = z × x."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    ant = np.asarray(anterior, float)
    ant = ant - up * (ant @ up)
    ant /= np.linalg.norm(ant)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = ant, np.cross(up, ant), up, origin
    return m


@cache
def endplate_frame(level: str, end: str) -> np.ndarray:
    """4×4 frame of the ``end`` endplate of ``level`` in packaged coordinates: origin its area centroid,
    z cranial (its outward normal for a superior endplate, the opposite for an inferior one), x anterior
    (from the stored endplate poses, :func:`implants.anatomy.spine.endplate_pose`)."""
    pose = stored_endplate_pose(level, end)
    return frame_matrix(pose.centre, pose.up)


@cache
def body_frame(level: str) -> np.ndarray:
    """4×4 body frame of ``level`` in packaged coordinates (see the module docstring)."""
    if level in NO_BODY:
        m = np.eye(4)
        m[:3, 3] = native_mesh(level).bounds.mean(axis=0)
        return m
    if level in ONE_ENDPLATE:
        end, neighbour = ONE_ENDPLATE[level]
        frame = endplate_frame(level, end)
        half = body_height_mm(neighbour) / 2
        return frame @ translation(0.0, 0.0, half if end == "inferior" else -half)
    sup, inf = endplate_frame(level, "superior"), endplate_frame(level, "inferior")
    return frame_matrix((sup[:3, 3] + inf[:3, 3]) / 2, sup[:3, 2] + inf[:3, 2])


def body_height_mm(level: str) -> float:
    """Distance (mm) between the endplate centroids of ``level``."""
    return float(np.linalg.norm(endplate_frame(level, "superior")[:3, 3] - endplate_frame(level, "inferior")[:3, 3]))


@cache
def anterior_reach_mm(level: str) -> float:
    """Distance (mm) from the body frame's origin of ``level`` forward (its x axis) to the anterior
    surface of the body (a ray on the packaged mesh); 0 when the ray meets nothing."""
    frame = body_frame(level)
    hits, _, _ = native_mesh(level).ray.intersects_location([frame[:3, 3]], [frame[:3, 0]], multiple_hits=False)
    return float((hits[0] - frame[:3, 3]) @ frame[:3, 0]) if len(hits) else 0.0


def translation(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    """4×4 translation by (``x``, ``y``, ``z``) mm."""
    m = np.eye(4)
    m[:3, 3] = x, y, z
    return m


def place(level: str, pose: np.ndarray, opacity: float = 1.0) -> Bone:
    """The packaged bone ``level`` moved so that its body frame lands on the 4×4 ``pose``;
    ParameterError when the level is not packaged."""
    if not is_available(level):
        raise ParameterError(f"scene: bone {level!r} is not in the packaged anatomy (implants anatomy list)")
    mesh = native_mesh(level).copy()
    mesh.apply_transform(pose @ np.linalg.inv(body_frame(level)))
    return Bone(level, mesh, opacity, np.array(pose, float))


def place_with(levels, reference: str, pose: np.ndarray, opacity: float = 1.0) -> list[Bone]:
    """``levels`` of the reference's source in their packaged (anatomical) relation, moved together
    so that the body frame of ``reference`` lands on ``pose``."""
    move = pose @ np.linalg.inv(body_frame(reference))
    return [place(level, move @ body_frame(level), opacity) for level in levels]


def endplate_pose(level: str, frame: np.ndarray, end: str) -> np.ndarray:
    """Body pose of ``level`` that puts its ``end`` endplate frame (:func:`endplate_frame`) on the 4×4 ``frame``."""
    return frame @ np.linalg.inv(endplate_frame(level, end)) @ body_frame(level)
