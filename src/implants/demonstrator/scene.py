"""The implant and the real vertebrae it fits, in the in-situ pose at print scale (layer: demonstrator).

The in-situ placement rules of :mod:`implants.placement.rules` give which bones (the packaged real
meshes of :mod:`implants.anatomy.packaged`), where, and the implant's transform. Each scene bone is
printed as it is (it must be closed), or replaced by a user mesh (``--vertebrae``) centred on it.
A bone larger than any vertebra (the pelvis, the sacrum) is cropped to the implant's box grown by
:data:`CROP_MARGIN_MM`; the pieces left (e.g. the two iliac wings of the pelvis) become separate
parts. Faint (resected/osteolytic) bones of a scene are left out. Bones that touch at a facet joint
are cut where they overlap (the bone placed first keeps its shape), and the implant is subtracted
from the bones, so it sits in its imprint and is located by it. Each bone's body-centre frame (z
along its axis, x anterior) is the placement's (``Bone.frame``, from its endplates).
All meshes in the patient frame (+x anterior, +y left, +z superior), mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import trimesh

from ..checks.meshfile import read_mesh
from ..errors import GeometryError, ParameterError
from ..placement.bones import frame_matrix
from ..placement.rules import layout_for
from ..writers.tessellate import tessellate
from . import meshops

if TYPE_CHECKING:
    from ..model import Implant
    from ..placement.bones import Bone

#: a bone whose largest extent exceeds this (mm, before scaling) is no single vertebra (pelvis, sacrum):
#: it is cropped to the implant's neighbourhood
CROP_ABOVE_MM = 120.0
#: the crop box: the implant's bounding box grown by this on every side (mm, before scaling)
CROP_MARGIN_MM = 15.0
#: a piece of a cropped or cut bone smaller than this fraction of the largest piece is dropped
SMALL_PIECE_FRACTION = 0.05


@dataclass
class Scene:
    """Implant part name → mesh, bone part name (``bone.<level>``) → mesh, the 4×4 frame of each bone's
    body centre (z along its axis, x anterior) and the implant's centre, all at print scale; notes and
    the view that shows the implant best."""

    implants: dict[str, trimesh.Trimesh]
    bones: dict[str, trimesh.Trimesh]
    frames: dict[str, np.ndarray]
    implant_centre: np.ndarray
    notes: list[str] = field(default_factory=list)
    view: str = "iso"   # the layout's picture view (posterior implants: "posterior-iso")


def implant_meshes(implant: Implant, deflection_mm: float = 0.1) -> dict[str, trimesh.Trimesh]:
    """Implant part name → watertight mesh (one per body of a multi-body implant), in the implant's frame."""
    shapes = dict(implant.parts) if implant.parts else {"implant": implant.shape}
    out = {}
    for name, shape in shapes.items():
        key = "implant" if name == "implant" else f"implant.{name}"
        out[key] = tessellate(shape, deflection_mm).mesh
    return out


def user_bone(path: Path, target: trimesh.Trimesh) -> trimesh.Trimesh:
    """The watertight mesh file at ``path`` centred on ``target``'s box; ParameterError if it is open."""
    mesh = read_mesh(Path(path))
    if not mesh.is_watertight:
        raise ParameterError(f"--vertebrae: mesh '{path}' is not watertight (a printed part must be closed)")
    mesh.apply_translation(target.bounds.mean(axis=0) - mesh.bounds.mean(axis=0))
    return mesh


def _pieces(mesh: trimesh.Trimesh) -> list[trimesh.Trimesh]:
    """The bodies of ``mesh`` that are not small fragments, largest first."""
    bodies = sorted(meshops.to_manifold(mesh).decompose(), key=lambda b: -b.volume())
    keep = [b for b in bodies if b.volume() >= SMALL_PIECE_FRACTION * bodies[0].volume()]
    return [meshops.from_manifold(b) for b in keep]


def _crop(name: str, mesh: trimesh.Trimesh, box: np.ndarray, notes: list[str]) -> dict[str, trimesh.Trimesh]:
    """``mesh`` cut to the axis-aligned ``box`` (2×3, mm), as ``bone.<name>`` or, when it falls into a
    left and a right piece, ``bone.<name>.left`` / ``.right``."""
    crop = trimesh.creation.box(bounds=box)
    pieces = _pieces(meshops.from_manifold(meshops.to_manifold(mesh) ^ meshops.to_manifold(crop)))
    size = " × ".join(f"{v:.0f}" for v in np.ptp(box, axis=0))
    notes.append(f"bone.{name}: cropped to a {size} mm box around the implant ({CROP_MARGIN_MM:g} mm margin) "
                 f"and the vertebrae next to it, {len(pieces)} piece(s) kept")
    if len(pieces) == 2 and np.prod([p.centroid[1] for p in pieces]) < 0:
        return {f"bone.{name}.{'left' if p.centroid[1] > 0 else 'right'}": p for p in pieces}
    return {f"bone.{name}": pieces[0]}


def _scene_bones(bones_in: Sequence[Bone], vertebrae: Sequence[Path] | None, implant_box: np.ndarray,
                 notes: list[str]) -> tuple[dict[str, trimesh.Trimesh], dict[str, np.ndarray]]:
    """Part name → bone mesh (closed, cropped where big) and part name → body-centre frame. The crop
    box holds the implant grown by :data:`CROP_MARGIN_MM` and the vertebrae that are not cropped (so
    the cropped sacrum keeps the S1 body under L5)."""
    bones: dict[str, trimesh.Trimesh] = {}
    frames: dict[str, np.ndarray] = {}
    crop_box = np.array([implant_box[0] - CROP_MARGIN_MM, implant_box[1] + CROP_MARGIN_MM])
    for bone in bones_in:
        if np.ptp(bone.mesh.vertices, axis=0).max() <= CROP_ABOVE_MM:
            lo, hi = bone.mesh.bounds
            crop_box = np.array([np.minimum(crop_box[0], lo), np.maximum(crop_box[1], hi)])
    for k, bone in enumerate(bones_in):
        frame = np.asarray(bone.frame, float)
        if vertebrae:  # the user's mesh takes the scene bone's place and body frame
            mesh = user_bone(vertebrae[k], bone.mesh)
        elif bone.mesh.is_watertight and bone.mesh.body_count == 1:
            mesh = bone.mesh.copy()
        else:
            raise GeometryError(f"demonstrator: scene bone {bone.name} is not one closed body")
        if np.ptp(mesh.vertices, axis=0).max() > CROP_ABOVE_MM:
            for name, piece in _crop(bone.name, mesh, crop_box, notes).items():
                bones[name] = piece
                frames[name] = frame_matrix(piece.bounds.mean(axis=0), frame[:3, 2], frame[:3, 0])
        else:
            bones[f"bone.{bone.name}"] = mesh
            frames[f"bone.{bone.name}"] = frame
    return bones, frames


def in_situ_scene(implant: Implant, scale: float, vertebrae: Sequence[Path] | None = None) -> Scene:
    """The implant and its (imprinted) bones in the in-situ pose, scaled by ``scale``; the notes say
    what was left out, cropped or cut. ParameterError when ``vertebrae`` does not give one mesh per
    scene bone."""
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
    implant_box = np.array([np.min([m.bounds[0] for m in implants.values()], axis=0),
                            np.max([m.bounds[1] for m in implants.values()], axis=0)])
    raw, frames = _scene_bones(bones_in, vertebrae, implant_box, notes)
    implant_solid = meshops.union(implants.values())
    bones: dict[str, trimesh.Trimesh] = {}
    placed = None  # the union of the bones placed so far
    for name, mesh in raw.items():
        # imprint: the implant sits in the bone; a bone that overlaps one placed earlier (a facet joint)
        # is cut where they overlap, the earlier one keeps its shape
        solid = meshops.to_manifold(mesh) - implant_solid
        if placed is not None and (placed ^ solid).volume() > 1e-6:
            notes.append(f"{name}: cut where it overlaps a bone next to it (facet or sacroiliac joint)")
            solid = solid - placed
        pieces = _pieces(meshops.from_manifold(solid))
        bodies = len(solid.decompose())
        if bodies > 1:
            notes.append(f"{name}: {bodies - 1} fragment(s) cut off by the implant or a joint dropped")
        bones[name] = pieces[0]
        placed = meshops.to_manifold(pieces[0]) if placed is None else placed + meshops.to_manifold(pieces[0])
    s = np.diag([scale, scale, scale, 1.0])
    for mesh in list(implants.values()) + list(bones.values()):
        mesh.apply_transform(s)
    frames = {name: s @ frame for name, frame in frames.items() if name in bones}
    return Scene(implants, bones, frames, implant_centre * scale, notes, layout.view)
