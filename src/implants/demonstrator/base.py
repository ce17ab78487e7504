"""The base of a demonstrator (layer: demonstrator): a plate under the whole scene with the posts and
pegs on it and an embossed label (type, preset, scale, key dimensions, NOT A MEDICAL DEVICE) on a strip
in front. Millimetres at print scale, patient frame with +z up; the plate's top is at ``base_top``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import cadquery as cq
import numpy as np
import trimesh

from ..registry import get
from ..writers.tessellate import tessellate
from . import meshops
from .model import Part
from .post_sites import POST_D_MM

if TYPE_CHECKING:
    from ..model import Implant

BASE_THICKNESS_MM = 5.0
BASE_GAP_MM = 6.0          # base top below the lowest point of the scene
BASE_MARGIN_MM = 6.0
LABEL_EMBOSS_MM = 0.8
LABEL_FONT_MM = 4.5
LABEL_MIN_FONT_MM = 3.0
#: line pitch of the label as a multiple of the font size
LABEL_LINE_PITCH = 1.45
#: a character's mean width as a fraction of the font size (CadQuery's bundled font)
LABEL_CHAR_WIDTH = 0.62


def label_lines(implant: Implant, scale: float) -> list[str]:
    """The label: the type's title, type / preset / scale, up to four mm/deg parameters, the disclaimer."""
    template = get(implant.type_id)
    values = implant.params.model_dump(mode="json")
    keys = [k for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
            and k.endswith(("_mm", "_deg"))][:4]

    def fmt(k):
        unit = "mm" if k.endswith("_mm") else "deg"
        return f"{k.rsplit('_', 1)[0].replace('_', ' ')} {values[k]:g} {unit}"
    ratio = f"{scale:g}:1" if scale >= 1 else f"1:{1 / scale:g}"
    return [f"{template.title}"[:60], f"{implant.type_id} / {implant.preset or template.default_preset} / scale {ratio}",
            ", ".join(fmt(k) for k in keys[:2]), ", ".join(fmt(k) for k in keys[2:4]), "NOT A MEDICAL DEVICE"]


def _text_mesh(lines: list[str], x0: float, y_top: float, z0: float, font: float) -> trimesh.Trimesh:
    """Embossed text lines (CadQuery's bundled font) as one mesh; top-left at (x0, y_top)."""
    meshes = []
    for k, line in enumerate(l for l in lines if l):
        y = y_top - (k + 1) * font * LABEL_LINE_PITCH
        shape = cq.Workplane("XY").text(line, font, LABEL_EMBOSS_MM + 0.3, halign="left", valign="bottom").val()
        m = tessellate(shape, 0.03).mesh
        m.apply_translation((x0, y, z0 - 0.3))
        meshes.append(m)
    return trimesh.util.concatenate(meshes)


def _text_width(lines: list[str], font: float) -> float:
    return max(len(l) for l in lines) * LABEL_CHAR_WIDTH * font


def base_part(scene: Sequence[trimesh.Trimesh], feet: Sequence[np.ndarray], posts: Sequence[trimesh.Trimesh],
              base_top: float, lines: list[str]) -> Part:
    """The base under the ``scene`` meshes and the posts' ``feet`` (points on its top), with the ``posts``
    (and pegs) united and ``lines`` embossed; the font shrinks (down to :data:`LABEL_MIN_FONT_MM`) or the
    plate widens until the label fits."""
    lo = np.min([m.bounds[0] for m in scene], axis=0)[:2] - BASE_MARGIN_MM
    hi = np.max([m.bounds[1] for m in scene], axis=0)[:2] + BASE_MARGIN_MM
    for foot in feet:  # a tilted post crosses the plate's thickness beside its foot
        reach = POST_D_MM / 2 + BASE_THICKNESS_MM + BASE_MARGIN_MM
        lo = np.minimum(lo, foot[:2] - reach)
        hi = np.maximum(hi, foot[:2] + reach)
    font = LABEL_FONT_MM
    width_needed = _text_width(lines, font) + 2 * BASE_MARGIN_MM
    if width_needed > hi[0] - lo[0]:
        font = max(LABEL_MIN_FONT_MM, font * (hi[0] - lo[0]) / width_needed)
        width_needed = _text_width(lines, font) + 2 * BASE_MARGIN_MM
        if width_needed > hi[0] - lo[0]:
            extra = width_needed - (hi[0] - lo[0])
            lo[0] -= extra / 2
            hi[0] += extra / 2
    strip = len(lines) * font * LABEL_LINE_PITCH + 2 * BASE_MARGIN_MM / 1.5
    lo[1] -= strip
    size = hi - lo
    centre_xy = ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2)
    plate = trimesh.creation.box(extents=(size[0], size[1], BASE_THICKNESS_MM))
    plate.apply_translation((*centre_xy, base_top - BASE_THICKNESS_MM / 2))
    text = _text_mesh(lines, lo[0] + BASE_MARGIN_MM, lo[1] + strip - BASE_MARGIN_MM / 3, base_top, font)
    mesh = meshops.boolean(plate, add=[text, *posts])
    # trim what the posts' feet leave under the plate
    floor = trimesh.creation.box(extents=(size[0] + 4 * POST_D_MM, size[1] + 4 * POST_D_MM, 2 * POST_D_MM + 20))
    floor.apply_translation((*centre_xy, base_top - BASE_THICKNESS_MM - POST_D_MM - 10))
    mesh = meshops.boolean(mesh, cut=[floor])
    return Part("base", "base", mesh, notes=[f"label font {font:.1f} mm, emboss {LABEL_EMBOSS_MM} mm"])
