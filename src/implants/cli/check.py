"""``implants check`` (layer: cli): the checks of mesh and STEP files, optionally with the contact
area against an endplate (a mesh file or a packaged level) and, with ``--load``, the contact
pressure under a load case (pressure map PNG, coloured GLB and JSON record with ``--pressure-out``).
The checks and the anatomy are imported inside the verb, so that ``implants --help`` loads neither
the kernel nor trimesh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .. import tolerances
from ..errors import ParameterError
from .inputs import checked_tolerance
from .output import console, emit_json, new_table


def check(
    files: list[Path] = typer.Argument(..., metavar="FILE", help="Mesh files to check (STL, 3MF, OBJ, PLY, GLB, "
                                       "STEP); several give one table and, with --json, one list."),
    endplate: Optional[Path] = typer.Option(None, "--endplate", help="Endplate mesh (or packaged level) for the contact area."),
    tolerance: float = typer.Option(tolerances.CONTACT_TOLERANCE_MM, "--tolerance",
                                    help="Contact distance tolerance (mm)."),
    bodies: Optional[int] = typer.Option(None, "--bodies", help="Expected number of bodies."),
    load_force: Optional[str] = typer.Option(None, "--load", help="Axial force (N) along +z pressing the implant "
                                             "on the endplate, or lumbar (1000 N) / cervical (150 N): adds the "
                                             "contact pressure (elastic foundation)."),
    moment_fe: float = typer.Option(0.0, "--moment-fe", help="Flexion(+)/extension(-) moment (N·m) with --load."),
    moment_lb: float = typer.Option(0.0, "--moment-lb", help="Lateral-bending moment (N·m, + to the patient's "
                                    "left) with --load."),
    pressure_out: Optional[Path] = typer.Option(None, "--pressure-out", help="Folder for the pressure map (PNG), "
                                                "the coloured implant (GLB) and the record (JSON) of each file."),
    as_json: bool = typer.Option(False, "--json", help="Output JSON."),
) -> None:
    """Check meshes: watertight, winding, volume, bodies, manifold; contact area against an endplate
    (a mesh file or a packaged level such as mean-L5); with --load, the contact pressure on it."""
    checked_tolerance(tolerance)
    if load_force is None and (moment_fe or moment_lb or pressure_out is not None):
        raise ParameterError("--moment-fe, --moment-lb and --pressure-out need --load (the axial force, N)")
    if load_force is not None and endplate is None:
        raise ParameterError("--load needs --endplate: a load with no contact (give the bone it presses on)")
    from ..anatomy.packaged import is_packaged, load
    from ..checks.pressure import load_case
    from ..checks.report import check_file, reports_table

    load_c = None if load_force is None else load_case(load_force, moment_fe, moment_lb)
    bone = load(str(endplate)) if is_packaged(endplate) else endplate
    reports = [check_file(file, endplate=bone, tolerance_mm=tolerance, expected_bodies=bodies) for file in files]
    pressures = [] if load_c is None else _pressures(files, bone, load_c, tolerance, pressure_out)
    if as_json:
        out = [r.to_json() for r in reports]
        for item, (face, _) in zip(out, pressures):
            item["pressure"] = face.to_json()
        emit_json(out[0] if len(out) == 1 else out)
    else:
        console.print(reports[0].table() if len(reports) == 1 else reports_table(reports))
        from ..checks.pressure_report import pressure_rows

        for file, (face, written) in zip(files, pressures):
            table = new_table(f"{file.name}: contact pressure (elastic foundation; not a medical device)",
                              ("figure", "value"))
            for row in pressure_rows(face):
                table.add_row(*row)
            console.print(table)
            for path in written:
                console.print(f"  {path}")
    if not all(r.ok for r in reports):
        raise typer.Exit(5)


def _pressures(files: list[Path], bone, load_case, tolerance: float, out: Optional[Path]) -> list:
    """(pressure, written paths) per file; every solve and picture is made before anything is written."""
    from ..checks.pressure_report import bone_mesh, file_pressure, pressure_record
    from ..render.pressure_map import Panel, endplate_outline, pressure_glb, pressure_map_png
    from ..writers.atomic import write_files

    bone_m = bone_mesh(bone)
    solved = [file_pressure(file, bone_m, load_case, tolerance_mm=tolerance) for file in files]
    if out is None:
        return [(face, []) for _, face in solved]
    payload: dict[str, bytes] = {}
    names: list[list[str]] = []
    bone_name = bone_m.metadata.get("name", bone)
    outline = endplate_outline(bone_m, solved[0][1])
    for file, (mesh, face) in zip(files, solved):
        stem = file.name[: -len(file.suffix)] if file.suffix else file.name
        title = f"{file.name} on {bone_name}: {load_case.force_n:g} N"
        record = pressure_record(face, file, bone_name)
        files_of = {f"{stem}.pressure.png": pressure_map_png([Panel(f"{face.face} face", face, outline)], title),
                    f"{stem}.pressure.glb": pressure_glb(mesh, [face], [bone_m]),
                    f"{stem}.pressure.json": (json.dumps(record, indent=2) + "\n").encode()}
        payload.update(files_of)
        names.append(list(files_of))
    written = write_files(out, payload)
    return [(face, [written[name] for name in group]) for (_, face), group in zip(solved, names)]
