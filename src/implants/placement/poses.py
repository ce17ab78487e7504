"""Placement building blocks (layer: placement): what a rule returns (:class:`SceneLayout`), the
implant's coarse meshes, and moving bones along an axis until they touch the implant (ray casting)
or clear it, so that the contact faces touch bone without interpenetration. The bones and their
body frames are in :mod:`implants.placement.bones`; the per-type rules built from them in
:mod:`implants.placement.rules`. Frame: patient (+x anterior, +y patient-left, +z superior), mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from ..writers.tessellate import feature_mask, tessellate
from .bones import Bone

if TYPE_CHECKING:
    from ..model import Implant

#: opacity of osteolytic or resected bones (drawn faint)
RESECTED_OPACITY = 0.35
#: coarse tessellation used only to place bones against the implant
PLACEMENT_DEFLECTION_MM = 0.25


@dataclass
class SceneLayout:
    """What a scene rule returns: bones (each with its body frame), the implant's 4×4 transform, a note
    for the caption, the review figure, the default picture view and the bones the picture frames
    (``focus``; empty: all)."""

    bones: list[Bone]
    implant_transform: np.ndarray = field(default_factory=lambda: np.eye(4))
    note: str = ""
    figure: str = ""
    view: str = "iso"  # default picture view (posterior implants: "posterior-iso")
    focus: tuple[str, ...] = ()


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


def clear(bones: list[Bone], fixed: trimesh.Trimesh, direction) -> float:
    """Move ``bones`` together along ``direction`` by the deepest point of ``fixed`` inside any of them
    (a flange lying slightly inside the body's anterior surface); returns the distance (mm)."""
    t = 0.0
    for bone in bones:
        inside = fixed.vertices[bone.mesh.contains(fixed.vertices)]
        if len(inside):
            t = max(t, float(trimesh.proximity.signed_distance(bone.mesh, inside).max()))
    if t > 0:
        d = np.asarray(direction, float)
        for bone in bones:
            bone.shift(t * d / np.linalg.norm(d))
    return t


def first_hit(target: trimesh.Trimesh, origins: np.ndarray, direction: np.ndarray) -> float:
    """Shortest distance (mm) from ``origins`` along the unit ``direction`` to ``target``; +inf when
    no ray hits it ahead (a hit within 1e-9 mm behind an origin counts as touching)."""
    hits, index, _ = target.ray.intersects_location(origins, np.tile(direction, (len(origins), 1)),
                                                    multiple_hits=False)
    distances = (hits - origins[index]) @ direction
    return float(distances[distances > -1e-9].min(initial=np.inf))


def settle(moving: list[Bone], fixed: trimesh.Trimesh, direction, gap_mm: float = 0.0) -> float:
    """Translate the bones of ``moving`` together along ``direction`` until they touch ``fixed`` (leaving
    ``gap_mm``); returns the distance moved (0 when nothing lies ahead). They must start apart."""
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    mover = trimesh.util.concatenate([bone.mesh for bone in moving])
    t = min(first_hit(fixed, mover.vertices, d), first_hit(mover, fixed.vertices, -d))
    if not np.isfinite(t):
        return 0.0
    t -= gap_mm
    for bone in moving:
        bone.shift(t * d)
    return t


def approach(moving: list[Bone], fixed: trimesh.Trimesh, direction, gap_mm: float = 0.0) -> float:
    """Back the bones of ``moving`` off along −``direction`` until they lie wholly behind ``fixed``, then
    :func:`settle` them onto it; returns the net distance moved along ``direction`` (mm; negative: backed off).
    Unlike :func:`settle`, the bones may start inside the implant."""
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    ahead = max(float((bone.mesh.vertices @ d).max()) for bone in moving)
    back = ahead - float((fixed.vertices @ d).min()) + 1.0
    for bone in moving:
        bone.shift(-back * d)
    return settle(moving, fixed, d, gap_mm) - back
