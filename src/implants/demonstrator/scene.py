"""The implant and the vertebrae it fits, in the in-situ pose at print scale (layer: demonstrator).

The in-situ placement rules of :mod:`implants.placement.rules` give which vertebrae, where, and the
implant's transform. A scene bone that is a watertight synthetic vertebra (the rules place those) is
used as it is; any other scene bone is replaced by the synthetic vertebra of its level centred on
it, or by a user mesh (``--vertebrae``) centred on that. Faint (resected/osteolytic) bones of a scene
are left out. The implant is subtracted from the bones, so it sits in its imprint and is located by it.
All meshes in the patient frame (+x anterior, +y left, +z superior), mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import trimesh

from ..anatomy import synthetic
from ..checks.meshfile import read_mesh
from ..errors import ParameterError
from ..placement.rules import layout_for
from ..writers.tessellate import tessellate
from . import meshops

if TYPE_CHECKING:
    from ..model import Implant
    from ..placement.poses import Bone


@dataclass
class Scene:
    """Implant part name → mesh, bone part name (``bone.<level>``) → mesh, the 4×4 frame of each bone's
    body centre (z along its axis) and the implant's centre, all at print scale."""

    implants: dict[str, trimesh.Trimesh]
    bones: dict[str, trimesh.Trimesh]
    frames: dict[str, np.ndarray]
    implant_centre: np.ndarray
    notes: list[str] = field(default_factory=list)


def implant_meshes(implant: Implant, deflection_mm: float = 0.1) -> dict[str, trimesh.Trimesh]:
    """Implant part name → watertight mesh (one per body of a multi-body implant), in the implant's frame."""
    shapes = dict(implant.parts) if implant.parts else {"implant": implant.shape}
    out = {}
    for name, shape in shapes.items():
        key = "implant" if name == "implant" else f"implant.{name}"
        out[key] = tessellate(shape, deflection_mm).mesh
    return out


def _affine_fit(ref: trimesh.Trimesh, mesh: trimesh.Trimesh) -> np.ndarray | None:
    """The 4×4 affine map taking ``ref``'s vertices onto ``mesh``'s (same vertex order), or None."""
    if len(ref.vertices) != len(mesh.vertices):
        return None
    a = np.column_stack([ref.vertices, np.ones(len(ref.vertices))])
    sol, *_ = np.linalg.lstsq(a, mesh.vertices, rcond=None)
    if np.abs(a @ sol - mesh.vertices).max() > 1e-3:
        return None
    t = np.eye(4)
    t[:3, :] = sol.T
    return t


def _frame_of_synthetic(bone: Bone) -> np.ndarray | None:
    """The 4×4 placement of a scene bone that already is the synthetic vertebra of its level."""
    try:
        ref = synthetic.vertebra(bone.name)
    except Exception:  # noqa: BLE001 - not a level of the synthetic anatomy (e.g. an ilium proxy)
        return None
    return _affine_fit(ref, bone.mesh)


def _centre_frame(centre) -> np.ndarray:
    frame = np.eye(4)
    frame[:3, 3] = centre
    return frame


def synthetic_bone(bone: Bone) -> tuple[trimesh.Trimesh, np.ndarray]:
    """(mesh, 4×4 frame of its body centre) of a scene bone: the bone itself when it is one watertight
    body (the frame recovered from its synthetic vertebra, else at its box centre, e.g. an ilium proxy),
    otherwise the synthetic vertebra of its level centred on the scene bone's box."""
    if bone.mesh.is_watertight and bone.mesh.body_count == 1:
        frame = _frame_of_synthetic(bone)
        if frame is None:
            frame = _centre_frame(bone.mesh.bounds.mean(axis=0))
        return bone.mesh.copy(), frame
    mesh = synthetic.vertebra(bone.name)
    frame = _centre_frame(bone.mesh.bounds.mean(axis=0) - mesh.bounds.mean(axis=0))
    mesh.apply_transform(frame)
    return mesh, frame


def user_bone(path: Path, target: trimesh.Trimesh) -> trimesh.Trimesh:
    """The watertight mesh file at ``path`` centred on ``target``'s box; ParameterError if it is open."""
    mesh = read_mesh(Path(path))
    if not mesh.is_watertight:
        raise ParameterError(f"--vertebrae: mesh '{path}' is not watertight (a printed part must be closed)")
    mesh.apply_translation(target.bounds.mean(axis=0) - mesh.bounds.mean(axis=0))
    return mesh


def in_situ_scene(implant: Implant, scale: float, vertebrae: Sequence[Path] | None = None) -> Scene:
    """The implant and its (imprinted) vertebrae in the in-situ pose, scaled by ``scale``; the notes say
    what was left out or cut. ParameterError when ``vertebrae`` does not give one mesh per scene bone."""
    notes: list[str] = []
    layout, has_rule = layout_for(implant)
    if not has_rule:
        notes.append(layout.note)
    implants = implant_meshes(implant)
    for mesh in implants.values():
        mesh.apply_transform(layout.implant_transform)
    implant_centre = np.mean([m.centroid for m in implants.values()], axis=0)
    bones_in = [b for b in layout.bones if b.opacity >= 1.0]
    if len(bones_in) < len(layout.bones):
        notes.append(f"{len(layout.bones) - len(bones_in)} resected/osteolytic level(s) of the scene left out")
    if vertebrae and len(vertebrae) != len(bones_in):
        raise ParameterError(f"--vertebrae: {implant.type_id} fits {len(bones_in)} vertebra(e) "
                             f"({', '.join(b.name for b in bones_in) or 'none: no in-situ rule'}); "
                             f"{len(vertebrae)} mesh(es) given")
    bones: dict[str, trimesh.Trimesh] = {}
    frames: dict[str, np.ndarray] = {}
    for k, bone in enumerate(bones_in):
        synth, frame = synthetic_bone(bone)
        mesh = user_bone(vertebrae[k], synth) if vertebrae else synth
        # imprint: the implant sits in the bone; bones of the scene that touch (facet joints) are cut
        # where they overlap, the bone placed earlier keeps its shape
        overlap = [m for m in bones.values()
                   if (meshops.to_manifold(m) ^ meshops.to_manifold(mesh)).volume() > 1e-6]
        if overlap:
            notes.append(f"bone.{bone.name}: cut where it overlaps the vertebra above (facet joint)")
        mesh = meshops.boolean(mesh, cut=list(implants.values()) + overlap)
        mesh, dropped = meshops.largest_body(mesh)
        bones[f"bone.{bone.name}"] = mesh
        frames[f"bone.{bone.name}"] = frame
        if dropped:
            notes.append(f"bone.{bone.name}: {dropped} fragment(s) cut off by the implant dropped")
    s = np.diag([scale, scale, scale, 1.0])
    for mesh in list(implants.values()) + list(bones.values()):
        mesh.apply_transform(s)
    frames = {name: s @ frame for name, frame in frames.items()}
    return Scene(implants, bones, frames, implant_centre * scale, notes)
