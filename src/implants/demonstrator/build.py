"""Building a demonstrator (layer: demonstrator): implant + vertebrae in the in-situ pose, a base with
posts, pegs and a label, each part oriented for printing and laid out on the build plate.

The steps, each in its own module (all in mm at print scale, patient frame, +z up):
:mod:`~implants.demonstrator.scene` the implant and its imprinted vertebrae in the in-situ pose;
:mod:`~implants.demonstrator.posts` posts from the base under each vertebra (under the implant when
there is none) whose pegs enter sockets with ``clearance_mm`` radial and end gap;
:mod:`~implants.demonstrator.base` the plate under the whole scene with the label;
:mod:`~implants.demonstrator.orient` each part turned for the least overhang beyond 45°, vertebrae that
print badly in one piece split into keyed halves (:mod:`~implants.demonstrator.split`);
:mod:`~implants.demonstrator.pack` the parts laid out on the bed. When they do not fit, the bones
farthest from the implant are left out, one (left/right pair) at a time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import trimesh

from ..errors import ExportError, ParameterError
from .base import BASE_GAP_MM, base_part, label_lines
from .model import Demonstrator, Joint, Part
from .orient import orient_parts
from .pack import DoesNotFit, pack
from .posts import support_parts
from .printability import printability_check
from .scene import in_situ_scene

if TYPE_CHECKING:
    from ..model import Implant


def _check_inputs(scale: float, clearance_mm: float, bed_mm: tuple[float, float]) -> None:
    if not 0.1 <= scale <= 10.0:
        raise ParameterError(f"--scale = {scale}: allowed 0.1 to 10")
    if not 0.0 <= clearance_mm <= 1.0:
        raise ParameterError(f"clearance_mm = {clearance_mm}: allowed 0 to 1 mm")
    if not (50 <= bed_mm[0] <= 1000 and 50 <= bed_mm[1] <= 1000):
        raise ParameterError(f"--bed {bed_mm[0]:g}x{bed_mm[1]:g}: allowed 50 to 1000 mm per side")


def _assemble(implant: Implant, implants: dict[str, trimesh.Trimesh], bones: dict[str, trimesh.Trimesh],
              frames: dict[str, np.ndarray], *, scale: float, clearance_mm: float, bed_mm: tuple[float, float],
              split: bool | None, notes: list[str], seconds: dict[str, float]) -> tuple[list[Part], list[Joint], list[str]]:
    """(parts laid out on the bed, joints, label lines) of the scene ``implants`` + ``bones`` (their
    dicts get the cut meshes); DoesNotFit when the parts do not fit the bed."""
    t_posts = time.perf_counter()
    scene = list(implants.values()) + list(bones.values())
    base_top = min(m.bounds[0, 2] for m in scene) - BASE_GAP_MM
    supports = support_parts(implants, bones, base_top, clearance_mm, notes,
                             {name: frame[:3, 3] for name, frame in frames.items()})
    seconds["posts"] = time.perf_counter() - t_posts
    t_base = time.perf_counter()
    lines = label_lines(implant, scale)
    base = base_part(scene, supports.feet, supports.add, base_top, lines)
    seconds["base"] = time.perf_counter() - t_base
    parts = [Part(name, "implant", m) for name, m in implants.items()]
    parts += [Part(name, "bone", m) for name, m in bones.items()]
    parts.append(base)
    t_orient = time.perf_counter()
    parts = orient_parts(parts, frames, supports.joints, bed_mm, clearance_mm, split)
    seconds["orient"] = time.perf_counter() - t_orient
    pack(parts, bed_mm)
    return parts, supports.joints, lines


def _farthest_bones(bones: dict[str, trimesh.Trimesh], centre: np.ndarray) -> list[str]:
    """The bone farthest from ``centre`` (with its left/right partner: one wing alone keeps the plate as wide)."""
    groups: dict[str, list[str]] = {}
    for n in bones:
        groups.setdefault(n.removesuffix(".left").removesuffix(".right"), []).append(n)
    return max(groups.values(), key=lambda g: max(float(np.linalg.norm(bones[n].centroid - centre)) for n in g))


def build_demonstrator(implant: Implant, scale: float = 1.0, vertebrae: Sequence[Path] | None = None,
                       clearance_mm: float = 0.2, bed_mm: tuple[float, float] = (220.0, 220.0),
                       split: bool | None = None) -> Demonstrator:
    """All parts of the demonstrator of ``implant`` at ``scale``, laid out on a ``bed_mm`` plate; see the
    module docstring. ``vertebrae``: user meshes, one per vertebra of the scene. ``split=None`` splits
    the vertebrae whose overhang exceeds :data:`~implants.demonstrator.split.SPLIT_OVERHANG_FRACTION` of
    their area. ParameterError for bad inputs, ExportError when no layout fits the bed."""
    _check_inputs(scale, clearance_mm, bed_mm)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    scene = in_situ_scene(implant, scale, vertebrae)
    seconds["anatomy"] = time.perf_counter() - t0
    notes = list(scene.notes)
    bones = dict(scene.bones)
    dropped: list[str] = []
    while True:
        attempt_notes: list[str] = []
        try:
            parts, joints, lines = _assemble(implant, dict(scene.implants), dict(bones), scene.frames, scale=scale,
                                             clearance_mm=clearance_mm, bed_mm=bed_mm, split=split,
                                             notes=attempt_notes, seconds=seconds)
            break
        except DoesNotFit as error:
            if len(bones) <= 1:
                raise ExportError(str(error)) from None
            far = _farthest_bones(bones, scene.implant_centre)
            if len(far) == len(bones):
                raise ExportError(str(error)) from None
            for n in far:
                del bones[n]
            dropped.extend(far)
    notes += attempt_notes
    if dropped:
        notes.append(f"left out {', '.join(dropped)} (farthest from the implant): with them the parts do not fit "
                     f"the {bed_mm[0]:g} × {bed_mm[1]:g} mm bed at scale {scale:g} (use a larger --bed to keep them)")
    demo = Demonstrator(implant.type_id, implant.preset, scale, parts, joints, tuple(bed_mm), clearance_mm, lines,
                        printability_check(implant, scale), seconds, notes, dropped, scene.view)
    seconds["total"] = time.perf_counter() - t0
    return demo
