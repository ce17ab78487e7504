"""Print orientation of every demonstrator part (layer: demonstrator): the candidate with the least
overhang beyond 45° (a cut half: its cut face down unless another candidate is clearly better); a
vertebra that would need too much support is split first (:mod:`implants.demonstrator.split`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import meshops
from .model import Joint, Part
from .split import SPLIT_OVERHANG_FRACTION, split_bone

#: a cut half prints cut face down unless another candidate saves more overhang than this fraction of its area
PREFER_CUT_FACE_FRACTION = 0.05


def orient_part(part: Part, bed_mm: tuple[float, float]) -> None:
    """Set ``part``'s print transform (on z = 0, centred, footprint fitting ``bed_mm`` where one does)
    and its overhang (mm², fraction of its area)."""
    preferred = None if part.print_down is None else np.array(part.print_down)
    transform, area, _ = meshops.orient_for_print(part.mesh, bed_mm, preferred)
    if preferred is not None:
        down = meshops.rotation_to_down(preferred)
        moved = part.mesh.copy()
        moved.apply_transform(down)
        cut_area = meshops.overhang_area(moved)
        if cut_area <= area + PREFER_CUT_FACE_FRACTION * part.mesh.area:
            transform, area = meshops.centre_on_bed(moved) @ down, cut_area
    part.print_transform = transform
    part.overhang_mm2 = float(area)
    part.overhang_fraction = float(area / part.mesh.area)


def orient_parts(parts: Sequence[Part], frames: dict[str, np.ndarray], joints: Sequence[Joint],
                 bed_mm: tuple[float, float], clearance_mm: float, split: bool | None) -> list[Part]:
    """Every part oriented for print; a bone split into halves and dowels (:func:`split_bone` on its
    body-centre ``frames`` entry) when ``split`` is True, or when it is None and the bone's overhang
    exceeds :data:`SPLIT_OVERHANG_FRACTION`. A split bone's joints move to the half nearest each peg's end."""
    out: list[Part] = []
    for part in parts:
        orient_part(part, bed_mm)
        if part.role != "bone" or split is False or not (split or part.overhang_fraction > SPLIT_OVERHANG_FRACTION):
            out.append(part)
            continue
        pieces = split_bone(part, frames[part.name], clearance_mm)
        for piece in pieces:
            orient_part(piece, bed_mm)
        halves = [piece for piece in pieces if piece.role == "bone"]
        for joint in joints:  # the socket is in the half nearest the peg's end
            if joint.part == part.name:
                gaps = [float(h.mesh.nearest.on_surface([joint.peg_top])[1][0]) for h in halves]
                joint.part = halves[int(np.argmin(gaps))].name
        pieces[0].notes.append(f"{part.name} split: one piece would need {part.overhang_mm2:.0f} mm² of "
                               f"support ({part.overhang_fraction:.0%} of its area)")
        out += pieces
    return out
