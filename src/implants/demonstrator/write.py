"""Writing a demonstrator (layer: demonstrator): the coloured 3MF plate, one STL per part in its print
orientation, the JSON summary (written atomically as one group) and pictures of the assembly and the plate.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import trimesh

from ..render.pictures import MeshItem, render_items
from ..writers.atomic import write_files
from ..writers.meshes import stl_bytes
from .model import Demonstrator
from .pictures import render_assembled
from .threemf import demonstrator_3mf

#: the bed drawn under the plate picture (light grey, 0..1)
BED_RGB = (0.92, 0.92, 0.92)


def write_demonstrator(demo: Demonstrator, out_dir: Path, pictures: bool = True) -> dict[str, Path]:
    """Write ``<type>_demonstrator.3mf``, one STL per part (print orientation), ``<type>_assembled.png``,
    ``<type>_plate.png`` and ``<type>_demonstrator.json``; returns name → path."""
    t0 = time.perf_counter()
    stem = f"{demo.type_id}_demonstrator"
    files = {f"{stem}.3mf": demonstrator_3mf(demo)}
    for part in demo.parts:
        files[f"{stem}_{part.name}.stl"] = stl_bytes(part.print_mesh, header=f"spine-implants {part.name} mm")
    files[f"{stem}.json"] = json.dumps(demo.summary(), indent=2).encode()
    paths = write_files(out_dir, files)
    if pictures:
        out = Path(out_dir)
        render_assembled(demo, out / f"{demo.type_id}_assembled.png")
        w, h = demo.bed_mm
        bed = trimesh.creation.box(extents=(w, h, 0.5))
        bed.apply_translation((w / 2, h / 2, -0.3))
        render_items([MeshItem(bed, BED_RGB)] + [MeshItem(p.plate_mesh, p.rgb) for p in demo.parts],
                     out / f"{demo.type_id}_plate.png", view="iso", title=f"build plate {w:g} × {h:g} mm")
        paths["assembled.png"] = out / f"{demo.type_id}_assembled.png"
        paths["plate.png"] = out / f"{demo.type_id}_plate.png"
    demo.seconds["write"] = time.perf_counter() - t0
    return paths
