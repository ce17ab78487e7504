"""Pictures of demonstrators (layer: demonstrator): the assembled demonstrator (implant, bones,
posts and base as they stand on the desk, not the print layout) and the contact sheet of the eight
types' assembled demonstrators, drawn with the render layer's helpers. Patient frame, mm.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..placement.rules import FIGURES
from ..render.pictures import DEFAULT_SIZE, MeshItem, render_items
from ..render.sheets import CELL_SIZE, SheetCell, contact_sheet
from .build import build_demonstrator
from .model import Demonstrator

if TYPE_CHECKING:
    from ..model import Implant

#: scales tried, largest first, for a sheet's demonstrator to keep every bone on the default bed
SHEET_SCALES = (1.0, 0.75, 0.5)


def assembled_items(demo: Demonstrator) -> list[MeshItem]:
    """The parts in their assembled pose, coloured by role (the dowels of split bones are inside them)."""
    return [MeshItem(p.mesh, p.rgb) for p in demo.parts if p.role != "pin"]


def render_assembled(demo: Demonstrator, out: Path, size: tuple[int, int] = DEFAULT_SIZE,
                     title: str | None = None) -> Path:
    """The assembled demonstrator from its scene's view (isometric; from behind for posterior
    implants), as the PNG ``out``."""
    return render_items(assembled_items(demo), out, view=demo.view, size=size,
                        title=title or f"{demo.type_id} demonstrator (assembled)")


def demonstrator_caption(demo: Demonstrator) -> str:
    """One line on what the demonstrator holds: its bones (levels), how many parts print, the scale."""
    bones = sorted({p.name.removeprefix("bone.").split(".")[0] for p in demo.parts if p.role == "bone"})
    left_out = f" ({', '.join(n.removeprefix('bone.') for n in demo.left_out)} left out)" if demo.left_out else ""
    return f"{', '.join(bones) or 'no bone'}{left_out}; {len(demo.parts)} printed parts, scale {demo.scale:g}"


def whole_demonstrator(implant: Implant, scales: Sequence[float] = SHEET_SCALES) -> Demonstrator:
    """The demonstrator at the largest of ``scales`` at which every bone of the scene fits the default
    bed (the smallest scale's, bones left out, when none does)."""
    demo = None
    for scale in scales:
        demo = build_demonstrator(implant, scale=scale)
        if not demo.left_out:
            break
    return demo


def demonstrator_sheet(type_ids: Sequence[str], out: Path, cols: int = 4) -> Path:
    """The assembled demonstrator of each type's default preset (at the largest of :data:`SHEET_SCALES`
    that keeps every bone) on one sheet, captioned with the type, the review figure and its bones."""
    from ..registry import get

    cells = []
    with tempfile.TemporaryDirectory() as work:
        for type_id in type_ids:
            template = get(type_id)
            demo = whole_demonstrator(template.make(template.make_params(None), template.default_preset))
            png = render_assembled(demo, Path(work) / f"{type_id}.png", size=CELL_SIZE)
            figure = FIGURES.get(type_id, "")
            cells.append(SheetCell(png, f"{type_id} ({figure})" if figure else type_id, demonstrator_caption(demo)))
        return contact_sheet(cells, out, "Printable demonstrators, assembled (default presets; "
                                         "not a medical device)", cols)
