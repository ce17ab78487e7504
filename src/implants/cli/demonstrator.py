"""``implants demonstrator`` (layer: cli): a printable teaching demonstrator of an implant with its
vertebrae on a labelled base. The demonstrator package (CAD kernel, trimesh) is imported inside
the verb, so that ``implants --help`` loads none of it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ParameterError
from ..registry import get
from .inputs import parse_assignments
from .output import busy, console, emit_json, new_table, to_stderr


def demonstrator(
    type_id: str = typer.Argument(..., metavar="TYPE", help="Implant type id (see `implants list`)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Named preset (default: the type's default)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Parameter override key=value (repeatable)."),
    scale: float = typer.Option(1.0, "--scale", help="Uniform print scale (2 = 2:1, e.g. for cervical implants)."),
    vertebrae: str = typer.Option("packaged", "--vertebrae",
                                  help="'packaged' (the scene's real bones) or comma-separated meshes U.stl,L.stl,... "
                                       "(cranial first)."),
    bed: str = typer.Option("220x220", "--bed", help="Build plate size WxH in mm."),
    clearance: float = typer.Option(0.2, "--clearance", help="Peg/socket clearance (mm)."),
    no_pictures: bool = typer.Option(False, "--no-pictures", help="Skip the PNGs."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the demonstrator summary as JSON."),
) -> None:
    """Printable teaching demonstrator: the implant, its vertebrae and a labelled base as one coloured 3MF
    plate, one STL per part and pictures. Not a medical device."""
    from ..demonstrator import build_demonstrator, write_demonstrator

    template = get(type_id)
    try:
        bed_mm = tuple(float(v) for v in bed.lower().split("x"))
    except ValueError:
        bed_mm = ()
    if len(bed_mm) != 2:
        raise ParameterError(f"--bed {bed!r}: expected WxH in mm, e.g. 220x220")
    meshes = None if vertebrae.strip().lower() == "packaged" else [Path(v.strip()) for v in vertebrae.split(",") if v.strip()]
    params = template.make_params(preset, **parse_assignments(set_))
    with busy(f"building the {type_id} demonstrator…", quiet=as_json):
        implant = template.make(params, preset)
        demo = build_demonstrator(implant, scale=scale, vertebrae=meshes, clearance_mm=clearance, bed_mm=bed_mm)
        paths = write_demonstrator(demo, out, pictures=not no_pictures)
    summary = demo.summary()
    if as_json:
        emit_json(summary | {"files": {k: str(v) for k, v in paths.items()}})
    else:
        table = new_table(f"{type_id} demonstrator, scale {scale:g}, bed {bed_mm[0]:g} × {bed_mm[1]:g} mm "
                          f"(not a medical device)",
                          ("part", "role", "volume mm³", "print size mm", "overhang >45° mm²", "notes"))
        for part in summary["parts"]:
            table.add_row(part["name"], part["role"], f"{part['volume_mm3']:.0f}",
                          " × ".join(f"{v:.0f}" for v in part["print_size_mm"]), f"{part['overhang_mm2']:.0f}",
                          "; ".join(part["notes"]))
        console.print(table)
        for note in demo.notes:
            console.print(f"  note: {note}", markup=False)
        for path in paths.values():
            console.print(f"  {path}")
    for message in demo.printability["messages"]:
        to_stderr(f"printability at scale {scale:g}: {message}")
