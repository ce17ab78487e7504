"""Placement building blocks (layer: placement): bones and their poses, the implant's coarse
meshes, and moving bones along an axis until they touch the implant (ray casting) or clear it,
so that the contact faces touch bone without interpenetration. The per-type rules built from
them are in :mod:`implants.placement.rules`.

Vertebrae are the illustrative ones of :mod:`implants.anatomy.synthetic` (``vertebra(level)``,
origin at the body centre); the ilium is a proxy sheet (:func:`iliac_wing`). Frame: patient
(+x anterior, +y patient-left, +z superior), mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from ..anatomy import synthetic
from ..writers.tessellate import feature_mask, tessellate

if TYPE_CHECKING:
    from ..model import Implant

#: opacity of osteolytic or resected bones (drawn faint)
RESECTED_OPACITY = 0.35
#: coarse tessellation used only to place bones against the implant
PLACEMENT_DEFLECTION_MM = 0.25


@dataclass
class Bone:
    """A bone mesh in the patient frame, its level name and opacity (faint = osteolytic/resected)."""

    name: str
    mesh: trimesh.Trimesh
    opacity: float = 1.0


@dataclass
class SceneLayout:
    """What a scene rule returns: bones, the implant's 4×4 transform and a note for the caption."""

    bones: list[Bone]
    implant_transform: np.ndarray = field(default_factory=lambda: np.eye(4))
    note: str = ""
    figure: str = ""
    view: str = "iso"  # default picture view (posterior implants: "posterior-iso")


# ----------------------------------------------------------------------------- bones and poses


@cache
def synthetic_vertebra(level: str) -> trimesh.Trimesh:
    """The synthetic vertebra of ``level`` (origin at the body centre), built once per level:
    callers copy it before moving it."""
    return synthetic.vertebra(level)


def translation(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    """4×4 translation by (``x``, ``y``, ``z``) mm."""
    m = np.eye(4)
    m[:3, 3] = x, y, z
    return m


def frame_matrix(centre, up, anterior) -> np.ndarray:
    """4×4 transform of a frame (origin ``centre``, z = ``up``, x = ``anterior`` made orthogonal)."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    ant = np.asarray(anterior, float)
    ant = ant - up * (ant @ up)
    ant /= np.linalg.norm(ant)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = ant, np.cross(up, ant), up, centre
    return m


def place(level: str, pose: np.ndarray, opacity: float = 1.0, scale: float = 1.0) -> Bone:
    """The synthetic vertebra of ``level`` (:func:`implants.anatomy.synthetic.vertebra`, origin at the body
    centre) moved by the 4×4 ``pose`` (scaled about its body centre by ``scale`` first)."""
    mesh = synthetic_vertebra(level).copy()
    if scale != 1.0:
        mesh.apply_scale(scale)
    mesh.apply_transform(pose)
    return Bone(level, mesh, opacity)


def endplate_pose(level: str, frame: np.ndarray, end: str) -> np.ndarray:
    """Pose of ``level`` whose ``end`` ("superior" or "inferior") endplate rim centre sits at the origin of the
    4×4 ``frame`` (frame z = the vertebra's axis)."""
    h = synthetic.dims(level).height_mm
    return frame @ translation(z=-h / 2 if end == "superior" else h / 2)


# ----------------------------------------------------------------------------- against the implant


def implant_mesh(implant: "Implant") -> trimesh.Trimesh:
    """A coarse mesh of the implant for placing bones against it."""
    return tessellate(implant.shape, PLACEMENT_DEFLECTION_MM).mesh


def contact_mesh(implant: "Implant", prefix: str = "contact") -> trimesh.Trimesh:
    """The triangles of the implant's surface features named ``prefix…`` (coarse; for placing bones)."""
    tess = tessellate(implant.shape, PLACEMENT_DEFLECTION_MM)
    mesh = tess.mesh
    mask = np.zeros(len(mesh.faces), bool)
    for feature in implant.features.values():
        if feature.kind == "surface" and feature.faces and feature.name.startswith(prefix):
            mask |= feature_mask(tess, implant.shape, feature)
    return mesh.submesh([np.flatnonzero(mask)], append=True)


def clear(bone: Bone, fixed: trimesh.Trimesh, direction) -> float:
    """Move ``bone`` along ``direction`` by the deepest point of ``fixed`` inside it (a flange lying slightly
    inside the body's anterior surface); returns the distance."""
    inside = fixed.vertices[bone.mesh.contains(fixed.vertices)]
    t = float(max(trimesh.proximity.signed_distance(bone.mesh, inside).max(), 0.0)) if len(inside) else 0.0
    if t > 0:
        bone.mesh.apply_translation(t * np.asarray(direction, float) / np.linalg.norm(direction))
    return t


def settle(moving: list[trimesh.Trimesh], fixed: trimesh.Trimesh, direction, gap_mm: float = 0.0) -> float:
    """Translate the meshes of ``moving`` together along ``direction`` until they touch ``fixed`` (leaving
    ``gap_mm``); returns the distance moved (0 when nothing lies ahead). The meshes must start apart."""
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    mover = trimesh.util.concatenate(list(moving))
    hits = []
    for source, target, sign in ((mover, fixed, 1.0), (fixed, mover, -1.0)):
        origins = source.vertices
        rays = np.tile(d * sign, (len(origins), 1))
        locations, index, _ = target.ray.intersects_location(origins, rays, multiple_hits=False)
        if len(index):
            hits.append(np.einsum("ij,ij->i", locations - origins[index], rays[index]))
    if not hits:
        return 0.0
    distances = np.concatenate(hits)
    distances = distances[distances > -1e-9]
    if not len(distances):
        return 0.0
    t = float(distances.min()) - gap_mm
    for mesh in moving:
        mesh.apply_translation(t * d)
    return t


# ----------------------------------------------------------------------------- ilium proxy


def iliac_wing(side: int, psis=None) -> trimesh.Trimesh:
    """Proxy of one ilium (the anatomy package has no pelvis): a thin curved plate whose posterior edge runs
    down through ``psis`` (the posterior superior iliac spine, where the iliac screws enter) and which runs
    antero-laterally and flares, in the frame of the ``monolithic`` template (origin on the dorsal sacral
    surface at S1, +x anterior). Closed (watertight) sheet mesh."""
    psis = np.array([-5.0, side * 45.0, -8.0]) if psis is None else np.asarray(psis, float)
    along = np.array([math.cos(math.radians(35)), side * math.sin(math.radians(35)), 0.0])
    outward = np.array([-along[1], along[0], 0.0]) * side  # lateral normal of the wing
    outward *= np.sign(outward[1]) * side
    nu, nv, thickness = 24, 16, 7.0
    u = np.linspace(1.0, 100.0, nu)
    v = np.linspace(-55.0, 40.0, nv)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    crest = 35.0 - 0.004 * (uu - 45.0) ** 2               # rounded iliac crest
    notch = -50.0 + 0.3 * uu                               # lower edge rising anteriorly (sciatic notch)
    top = notch + (vv - v[0]) / (v[-1] - v[0]) * (crest - notch)
    flare = 8.0 * np.sin(np.clip((uu - 1.0) / 99.0, 0, 1) * math.pi) * ((top + 55.0) / 95.0)  # fossa bulge
    mid = (psis + uu[..., None] * along + top[..., None] * np.array([0.0, 0.0, 1.0])
           + (flare + 0.25 * np.clip(-top, 0, None))[..., None] * outward)
    outer = mid + thickness / 2 * outward
    inner = mid - thickness / 2 * outward
    n = nu * nv
    vertices = np.vstack([outer.reshape(-1, 3), inner.reshape(-1, 3)])
    idx = np.arange(n).reshape(nu, nv)
    faces = []
    for i in range(nu - 1):
        for j in range(nv - 1):
            a, b, c, e = idx[i, j], idx[i + 1, j], idx[i + 1, j + 1], idx[i, j + 1]
            faces += [[a, b, c], [a, c, e], [n + a, n + c, n + b], [n + a, n + e, n + c]]
    ring = list(idx[:, 0]) + list(idx[-1, 1:]) + list(idx[::-1, -1][1:]) + list(idx[0, ::-1][1:-1])
    for k in range(len(ring)):
        a, b = ring[k], ring[(k + 1) % len(ring)]
        faces += [[a, n + b, b], [a, n + a, n + b]]
    mesh = trimesh.Trimesh(vertices, np.asarray(faces), process=True)
    trimesh.repair.fix_normals(mesh)
    return mesh
