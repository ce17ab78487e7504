"""Contact sheets (layer: render): several pictures on one PNG grid, each with a caption, and the
sheet of the eight in-situ scenes (``implants render TYPE --scene``, default presets).

The grid is drawn with matplotlib (headless backend, imported inside the functions); the cells
are PNG files rendered by :mod:`implants.render.pictures`, cropped of their title strip.
"""

from __future__ import annotations

import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

#: one cell of a sheet (pixels); the scene pictures are rendered at this size
CELL_SIZE = (640, 480)
#: fraction of a picture's height cut at the top (its title line) and at the bottom (its caption)
TITLE_STRIP = 0.07
#: characters per caption line
CAPTION_WIDTH = 46


@dataclass
class SheetCell:
    """A picture and its caption: a bold first line (``heading``) and a smaller ``note``."""

    picture: Path
    heading: str
    note: str = ""


def contact_sheet(cells: Sequence[SheetCell], out: Path, title: str, cols: int = 4) -> Path:
    """The ``cells`` on a grid of ``cols`` columns under ``title``, written as the PNG ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    rows = (len(cells) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 3.6, rows * 3.4), dpi=110, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, cell in zip(axes.flat, cells):
        with Image.open(cell.picture) as image:
            rgb = image.convert("RGB")
        w, h = rgb.size
        ax.imshow(rgb.crop((0, int(TITLE_STRIP * h), w, int((1 - TITLE_STRIP) * h))))
        ax.set_title(cell.heading, fontsize=9, fontweight="bold", pad=3)
        note = textwrap.fill(cell.note, CAPTION_WIDTH)
        ax.text(0.5, -0.02, note, transform=ax.transAxes, ha="center", va="top", fontsize=7, color="0.25")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(h_pad=2.2)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def scene_sheet(type_ids: Sequence[str], out: Path, cols: int = 4) -> Path:
    """The in-situ scene of each type's default preset (its layout's view, as ``implants render TYPE
    --scene`` draws it) on one sheet, captioned with the type, the review figure and the layout's note."""
    from ..registry import get
    from .scenes import write_scene

    cells = []
    with tempfile.TemporaryDirectory() as work:
        for type_id in type_ids:
            template = get(type_id)
            implant = template.make(template.make_params(None), template.default_preset)
            result = write_scene(implant, Path(work), size=CELL_SIZE, glb=False)
            cells.append(SheetCell(result.png, f"{type_id} ({result.figure})" if result.figure else type_id,
                                   result.note))
        return contact_sheet(cells, out, "The eight implant types in situ on real vertebrae (default presets; "
                                         "not a medical device)", cols)
