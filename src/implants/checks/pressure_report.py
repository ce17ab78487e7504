"""``implants check FILE --endplate MESH --load N`` (layer: checks): the pressure check of a file,
its readable rows and its JSON record (load case, foundation, results).

A mesh file is read as it is; a STEP file is tessellated at the default chord deflection. The
load axis is the files' +z (patient superior when the files are in the patient frame); the API
(:func:`implants.checks.pressure.pressure_on_bone`) takes any axis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trimesh

from ..errors import ParameterError
from ..tolerances import CONTACT_TOLERANCE_MM
from ..writers.settings import checked_deflection
from ..writers.step import read_step
from ..writers.tessellate import tessellate
from .meshfile import read_mesh
from .pressure import FacePressure, Foundation, LoadCase, load_case, pressure_on_bone
from .report import STEP_FORMATS


def file_mesh(path: str | os.PathLike) -> trimesh.Trimesh:
    """The mesh of a mesh file, or the tessellation of a STEP file (default deflection)."""
    p = Path(path)
    if p.suffix.lower() not in STEP_FORMATS:
        return read_mesh(p)
    if not p.is_file():
        raise ParameterError(f"file {str(p)!r} does not exist")
    return tessellate(read_step(p), checked_deflection(None)).mesh


def bone_mesh(bone: str | os.PathLike | trimesh.Trimesh) -> trimesh.Trimesh:
    """The bone: a mesh as it is, or a mesh file read as the endplate."""
    return bone if isinstance(bone, trimesh.Trimesh) else read_mesh(bone, "endplate")


def file_pressure(path: str | os.PathLike, bone: trimesh.Trimesh, load: LoadCase, foundation: Foundation | None = None,
                  tolerance_mm: float = CONTACT_TOLERANCE_MM) -> tuple[trimesh.Trimesh, FacePressure]:
    """The mesh of ``path`` and its pressure on ``bone`` along +z (the side found automatically)."""
    mesh = file_mesh(path)
    return mesh, pressure_on_bone(mesh, bone, load, foundation, tolerance_mm=tolerance_mm)


def pressure_check(mesh: trimesh.Trimesh, endplate: Any, load: Any,
                   tolerance_mm: float = CONTACT_TOLERANCE_MM) -> dict[str, Any]:
    """The manifest's ``checks.pressure``: the load case, the foundation and the figures of the
    pressure of ``mesh`` on ``endplate`` (a mesh or a mesh file) along +z."""
    if endplate is None:
        raise ParameterError("load with no contact: a pressure check needs the endplate the implant presses on")
    face = pressure_on_bone(mesh, bone_mesh(endplate), load_case(load), tolerance_mm=tolerance_mm)
    return face.to_json()


def pressure_rows(face: FacePressure) -> list[tuple[str, str]]:
    """(figure, value) rows of the readable table."""
    f, load = face.figures, face.load
    cop = f["cop_offset_mm"]
    return [
        ("load case", f"{load.force_n:g} N, flexion-extension {load.moment_fe_nm:g} N·m, "
                      f"lateral bending {load.moment_lb_nm:g} N·m"),
        ("foundation k", f"{face.foundation.stiffness_mpa_per_mm:.2f} MPa/mm"),
        ("bearing face", f"{face.face} ({f['springs']} springs, {f['bearing_area_mm2']:.1f} mm² projected)"),
        ("peak pressure", f"{f['peak_mpa']:.3f} MPa"),
        ("95th percentile", f"{f['p95_mpa']:.3f} MPa"),
        ("mean pressure", f"{f['mean_mpa']:.3f} MPa"),
        ("loaded area", f"{f['loaded_area_mm2']:.1f} mm² ({f['pct_loaded']:.1f} % of the bearing face)"),
        ("centre of pressure", f"{cop['anterior']:+.2f} mm anterior, {cop['left']:+.2f} mm left of the face centroid"),
        ("rim / centre share", f"{100 * f['rim_share']:.1f} % / {100 * f['centre_share']:.1f} % of the load "
                               f"(rim: {f['rim_width_mm']:g} mm band, {100 * f['rim_area_share']:.0f} % of the area)"),
        ("approach", f"{f['approach_mm']:.4f} mm"),
    ]


def pressure_record(face: FacePressure, file: str | os.PathLike, bone: Any) -> dict[str, Any]:
    """JSON record of one file's pressure check (with the files it used)."""
    return {"file": str(file), "endplate": str(bone), **face.to_json(),
            "method": "elastic foundation (bed of springs), rigid implant: docs/load-transfer.md",
            "note": "not a medical device"}
