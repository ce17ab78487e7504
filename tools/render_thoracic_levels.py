"""Draw docs/images/thoracic_levels.png: the generated thoracic levels T1–T12 from the left, from
above and from behind (rows T1–T6 and T7–T12 in each panel).

Developer tool, not part of the product: run it after ``tools/generate_thoracic.py``::

    .venv/bin/python tools/render_thoracic_levels.py

The picture is quantised to 48 colours to stay under 150 KB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from implants.anatomy import load
from implants.render import views
from implants.render.pictures import render_meshes

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "thoracic_levels.png"
BONE = (0.93, 0.87, 0.72)
PANEL = (800, 270)
#: view → (patient axis along a row, axis down the panel, sign that moves a column to the right)
PANELS = {"lateral": (0, 2, -1.0), "superior": (1, 0, -1.0), "posterior": (1, 2, -1.0)}


def main() -> None:
    views.VIEWS.setdefault("posterior", ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)))  # straight from behind
    sheet = Image.new("RGB", (PANEL[0], PANEL[1] * len(PANELS)), "white")
    for row, (view, (across, down, sign)) in enumerate(PANELS.items()):
        meshes = []
        for i in range(12):
            mesh = load(f"T{i + 1}").copy()
            shift = np.zeros(3)
            shift[across] = sign * (i % 6) * 70.0
            shift[down] = -(i // 6) * 85.0
            mesh.apply_translation(shift)
            meshes.append((mesh, BONE))
        panel = OUT.with_name(f"_thoracic_{view}.png")
        render_meshes(meshes, panel, view=view, size=PANEL, title="T1-T6 top row, T7-T12 second row")
        sheet.paste(Image.open(panel).convert("RGB"), (0, PANEL[1] * row))
        panel.unlink()
    sheet.quantize(colors=48, method=Image.Quantize.MEDIANCUT).save(OUT, optimize=True)
    print(f"{OUT} {OUT.stat().st_size / 1000:.0f} KB")


if __name__ == "__main__":
    main()
