"""A picture of a whole spine: lateral and anterior views side by side, the bones coloured by
region (layer: render). Mesh vertices in the patient frame (mm, +x anterior, +y left, +z superior).

The two views are rendered with :func:`implants.render.pictures.render_items` (VTK off-screen,
orthographic cameras, scale bars) and joined into one PNG.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .items import BONE_COLOUR, MeshItem
from .pictures import png_pixels, render_items

if TYPE_CHECKING:
    import trimesh

#: RGB (0..1) per region: bone ivory shifted slightly so the regions read apart.
REGION_COLOURS = {"occiput": (0.86, 0.80, 0.70), "cervical": (0.80, 0.86, 0.93), "thoracic": BONE_COLOUR,
                  "lumbar": (0.86, 0.90, 0.78), "pelvic": (0.90, 0.82, 0.76)}
#: Pixels of one view (width, height): a spine is tall.
VIEW_SIZE = (620, 1240)


def region_of(name: str) -> str:
    """Region of a spine level name: C0 → occiput, C1–C7 → cervical, T → thoracic, L → lumbar, else pelvic."""
    if name == "C0":
        return "occiput"
    return {"C": "cervical", "T": "thoracic", "L": "lumbar"}.get(name[:1], "pelvic")


def render_spine(bones: Sequence[tuple[str, "trimesh.Trimesh"]], out: Path, title: str | None = None,
                 size: tuple[int, int] = VIEW_SIZE) -> Path:
    """Lateral (from the left) and anterior views of ``(level name, mesh)`` pairs side by side in the PNG ``out``."""
    import matplotlib.image

    items = [MeshItem(mesh, REGION_COLOURS[region_of(name)]) for name, mesh in bones]
    with tempfile.TemporaryDirectory() as folder:
        views = [png_pixels(render_items(items, Path(folder) / f"{view}.png", view=view, size=size,
                                         title=title if view == "lateral" else None, caption=view == "anterior"))
                 for view in ("lateral", "anterior")]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(out, np.hstack([v[:, :, :3] for v in views]))
    return out
