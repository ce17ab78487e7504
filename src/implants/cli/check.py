"""``implants check`` (layer: cli): the checks of mesh and STEP files, optionally with the contact
area against an endplate (a mesh file or a packaged level). The checks and the anatomy are
imported inside the verb, so that ``implants --help`` loads neither the kernel nor trimesh."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import tolerances
from .inputs import checked_tolerance
from .output import console, emit_json


def check(
    files: list[Path] = typer.Argument(..., metavar="FILE", help="Mesh files to check (STL, 3MF, OBJ, PLY, GLB, "
                                       "STEP); several give one table and, with --json, one list."),
    endplate: Optional[Path] = typer.Option(None, "--endplate", help="Endplate mesh (or packaged level) for the contact area."),
    tolerance: float = typer.Option(tolerances.CONTACT_TOLERANCE_MM, "--tolerance",
                                    help="Contact distance tolerance (mm)."),
    bodies: Optional[int] = typer.Option(None, "--bodies", help="Expected number of bodies."),
    as_json: bool = typer.Option(False, "--json", help="Output JSON."),
) -> None:
    """Check meshes: watertight, winding, volume, bodies, manifold; contact area against an endplate
    (a mesh file or a packaged level such as mean-L5)."""
    checked_tolerance(tolerance)
    from ..anatomy.packaged import is_packaged, load
    from ..checks.report import check_file, reports_table

    bone = load(str(endplate)) if is_packaged(endplate) else endplate
    reports = [check_file(file, endplate=bone, tolerance_mm=tolerance, expected_bodies=bodies) for file in files]
    if as_json:
        emit_json(reports[0].to_json() if len(reports) == 1 else [r.to_json() for r in reports])
    else:
        console.print(reports[0].table() if len(reports) == 1 else reports_table(reports))
    if not all(r.ok for r in reports):
        raise typer.Exit(5)
