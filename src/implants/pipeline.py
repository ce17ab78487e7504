"""Export an implant (layer: pipeline): one tessellation, checks, STEP/STL/3MF/GLB and the
manifest, atomically.

Everything is built in memory first; the files are written (atomically, as a group) only
when every required check passes, so the file that is checked is the file that ships and a
failed export leaves nothing behind. The manifest records the chord deflection the mesher
actually used (and the requested one when it had to refine).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
import trimesh

from . import tolerances
from .checks import mesh as mesh_checks
from .checks.contact import contact_area
from .checks.footprint import footprint_area, mean_plane
from .checks.meshfile import read_mesh
from .checks.pressure import load_case
from .checks.pressure_report import pressure_check
from .checks.step import check_step
from .errors import CheckError, ExportError, GeometryError, ParameterError
from .params import Material
from .porous.lattice import apply_lattice
from .writers.atomic import write_files
from .writers.manifest import base_name, build_manifest, manifest_bytes
from .writers.meshes import glb_bytes, stl_bytes, threemf_bytes
from .writers.settings import FORMATS, checked_deflection
from .writers.step import is_valid, step_bytes
from .writers.tessellate import Tessellation, feature_mask, tessellate

if TYPE_CHECKING:
    from .model import Implant


@dataclass(frozen=True)
class ExportResult:
    """Where the files went (format → path, plus ``"manifest"``) and the manifest dict."""

    paths: dict[str, Path]
    manifest: dict[str, Any]


def _formats(formats: Iterable[str]) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    chosen = []
    for fmt in formats:
        fmt = str(fmt).strip().lower().lstrip(".")
        if fmt not in FORMATS:
            raise ParameterError(f"format {fmt!r} is not supported (allowed: {', '.join(FORMATS)})")
        if fmt not in chosen:
            chosen.append(fmt)
    if not chosen:
        raise ParameterError(f"no export format given (allowed: {', '.join(FORMATS)})")
    return tuple(f for f in FORMATS if f in chosen)


def _precheck_dir(out_dir: Path) -> None:
    """Fail fast (before any work) on an output folder that cannot be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"output folder {str(out_dir)!r} is a file, not a folder")
    if out_dir.is_dir() and not os.access(out_dir, os.W_OK | os.X_OK):
        raise ExportError(f"output folder {str(out_dir)!r} is not writable")


def footprints_of(implant: "Implant", tess: Tessellation) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Footprint area of every bearing surface (``contact.*`` surface features)."""
    out: dict[str, Any] = {}
    masks: dict[str, np.ndarray] = {}
    for name, feature in sorted(implant.features.items()):
        if feature.kind != "surface" or not feature.faces or not name.startswith("contact."):
            continue
        mask = feature_mask(tess, implant.shape, feature)
        if not mask.any():
            continue
        centroid, normal = mean_plane(tess.mesh, mask)
        out[name] = {"area_mm2": round(footprint_area(tess.mesh, mask), 3),
                     "surface_area_mm2": round(float(tess.mesh.area_faces[mask].sum()), 3),
                     "centroid_mm": [round(float(v), 4) for v in centroid],
                     "normal": [round(float(v), 6) for v in normal]}
        masks[name] = mask
    return out, masks


def _contact(mesh: trimesh.Trimesh, endplate: Any, tolerance_mm: float, footprints: dict[str, Any],
             masks: dict[str, np.ndarray]) -> dict[str, Any]:
    """Contact against an endplate, as % of the footprint of the bearing surface that touches it."""
    endplate_mesh = endplate if not isinstance(endplate, (str, os.PathLike)) else read_mesh(endplate, "endplate")
    result = contact_area(mesh, endplate_mesh, tolerance_mm=tolerance_mm)
    surface = None
    if masks:  # the bearing surface carrying most of the contact
        surface = max(masks, key=lambda name: result.triangle_area_mm2[masks[name]].sum())
        if result.triangle_area_mm2[masks[surface]].sum() <= 0:
            surface = None
    if surface is not None:
        result = result.with_footprint(footprints[surface]["area_mm2"])
    out = result.to_json()
    out["bearing_surface"] = surface
    if surface is not None:
        out["bearing_contact_mm2"] = round(float(result.triangle_area_mm2[masks[surface]].sum()), 3)
    return out


def export(implant: "Implant", out_dir: str | os.PathLike, formats: Iterable[str] = FORMATS,
           deflection_mm: float | None = None, endplate: Any = None,
           tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM,
           picture: "Callable[[Implant, Tessellation], bytes] | None" = None,
           lattice: Any = None, load: Any = None) -> ExportResult:
    """Tessellate once, check, and write ``<type>-<hash>.<ext>`` for each format plus
    ``<type>-<hash>.manifest.json`` into ``out_dir``.

    ``deflection_mm``: absolute chord deflection of the one tessellation (mm; None: the default
    of :func:`~implants.writers.settings.checked_deflection`).
    ``endplate`` (a trimesh mesh or a mesh file) adds the contact-area check against it;
    ``picture`` (a function (implant, tessellation) → PNG bytes, e.g.
    :func:`implants.render.pictures.implant_png`) adds ``<type>-<hash>.png``, drawn from the one
    tessellation of the solid (not meshed again); the pipeline renders nothing itself (rendering
    is a higher layer).
    ``lattice`` (:class:`implants.porous.LatticeParams`) turns a zone of the meshes into a porous
    lattice: STL/3MF/GLB carry it and are checked; the STEP stays the solid envelope; the
    measured porosity and pore size go in the manifest under ``lattice``.
    ``load`` (N, ``"lumbar"``, a dict of :class:`~implants.checks.pressure.LoadCase` fields) with
    ``endplate`` adds the contact pressure along +z under that load (``checks.pressure``).
    Raises :class:`CheckError` (nothing written) when a required check fails,
    :class:`ExportError` when the folder cannot be written, :class:`GeometryError` when the
    B-rep is invalid.
    """
    chosen = _formats(formats)
    deflection_mm = checked_deflection(deflection_mm)
    load = None if load is None else load_case(load)
    out = Path(out_dir)
    _precheck_dir(out)
    if not is_valid(implant.shape):
        raise GeometryError(f"{implant.type_id}: the B-rep is not valid (BRepCheck_Analyzer); nothing exported")

    tess = tessellate(implant.shape, deflection_mm)
    mesh = tess.mesh
    brep_volume = implant.volume_mm3()
    checks: dict[str, Any] = {}
    lattice_figures = None
    if lattice is not None:
        envelope = mesh_checks.check_mesh(mesh, expected_bodies=implant.bodies)
        checks["envelope_volume"] = mesh_checks.check_mesh_volume(envelope["volume_mm3"], brep_volume,
                                                                  envelope["area_mm2"], deflection_mm)
        mesh, lattice_figures = apply_lattice(mesh, implant, lattice)
    checks["mesh"] = mesh_checks.check_mesh(mesh, expected_bodies=implant.bodies)
    checks["volume"] = (checks.pop("envelope_volume") if lattice is not None else
                        mesh_checks.check_mesh_volume(checks["mesh"]["volume_mm3"], brep_volume,
                                                      checks["mesh"]["area_mm2"], deflection_mm))
    data: dict[str, bytes] = {}
    if "step" in chosen:
        data["step"] = step_bytes(implant.shape, implant.type_id)
        checks["step"] = check_step(data["step"], brep_volume, implant.bodies)
    footprints, masks = footprints_of(implant, tess)
    checks["footprint"] = footprints
    if endplate is not None:
        checks["contact"] = _contact(mesh, endplate, tolerance_mm, footprints, masks)
    if load is not None:
        checks["pressure"] = pressure_check(mesh, endplate, load, tolerance_mm)
    required = {"mesh": checks["mesh"]["ok"], "degenerate": checks["mesh"]["degenerate_triangles"] == 0,
                "volume": checks["volume"]["ok"]}
    if "step" in checks:
        required["step"] = checks["step"]["ok"]
    failed = [f"{group}.{name}" for group in ("mesh", "volume", "step") if group in checks
              for name in checks[group]["failed"]]
    if not required["degenerate"]:
        failed.append("mesh.no_degenerate_triangles")
    checks["ok"] = all(required.values())
    checks["failed"] = failed
    if not checks["ok"]:
        raise CheckError(f"{implant.type_id}: required checks failed ({', '.join(failed)}); nothing written")

    name = implant.type_id
    if "stl" in chosen:
        data["stl"] = stl_bytes(mesh, header=f"{name} (spine-implants, mm) - not a medical device")
    if "3mf" in chosen:
        data["3mf"] = threemf_bytes(mesh, name)
    if "glb" in chosen:
        data["glb"] = glb_bytes(mesh, name)
    data = {fmt: data[fmt] for fmt in chosen}
    if picture is not None:
        data["png"] = picture(implant, tess)
    if lattice_figures is not None:
        checks["lattice"] = lattice_figures
    tessellation = {"deflection_mm": tess.deflection_mm, "triangles": len(mesh.faces), "vertices": len(mesh.vertices),
                    "holes_filled": tess.holes_filled}
    if tess.deflection_mm != deflection_mm:  # the mesher refined to give every face triangles
        tessellation["requested_deflection_mm"] = deflection_mm
    manifest = build_manifest(implant, data, checks, tessellation, lattice=lattice)
    if lattice_figures is not None:  # the porous meshes weigh less than the solid envelope
        manifest["mass_g"] = {m.value: round(checks["mesh"]["volume_mm3"] * m.density_g_cm3 / 1000.0, 4)
                              for m in Material}
        manifest["lattice"] = {"step": "solid envelope (the lattice is in STL/3MF/GLB only)",
                               "parameters": lattice.model_dump(mode="json")}
    stem = base_name(implant, lattice)
    files = {f"{stem}.{fmt}": payload for fmt, payload in data.items()}
    files[f"{stem}.manifest.json"] = manifest_bytes(manifest)
    written = write_files(out, files)
    paths = {fmt: written[f"{stem}.{fmt}"] for fmt in data}
    paths["manifest"] = written[f"{stem}.manifest.json"]
    return ExportResult(paths=paths, manifest=manifest)
