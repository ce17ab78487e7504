"""``implants check FILE`` (layer: checks): the checks of any mesh file (STL, 3MF, OBJ, PLY,
GLB, glTF, OFF; read by :func:`implants.checks.meshfile.read_mesh`), also ones this project did
not make, or of a STEP file; optional contact area against an endplate mesh.

When the file has a manifest beside it (``<stem>.manifest.json``, as the exporter writes),
its number of bodies is the expected one and its bearing footprints give the contact
percentage of the footprint.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table

from .. import tolerances
from ..errors import ParameterError
from ..writers.manifest import jsonable
from ..writers.settings import checked_deflection
from ..writers.step import read_step
from ..writers.tessellate import tessellate
from .contact import ContactResult, contact_area
from .mesh import check_mesh, check_mesh_volume
from .meshfile import MESH_FORMATS, read_mesh
from .step import check_step

if TYPE_CHECKING:
    import trimesh

#: Extensions of the STEP files :func:`check_file` reads (the rest are mesh files).
STEP_FORMATS = (".step", ".stp")


def _sibling_manifest(path: Path) -> dict[str, Any] | None:
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    candidate = path.with_name(f"{stem}.manifest.json")
    if not candidate.is_file():
        return None
    try:
        data = json.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check_file`: ``ok`` when every required check passes."""

    path: Path
    format: str
    checks: dict[str, Any]
    contact: ContactResult | None = None
    endplate: Path | str | None = None
    footprint_surface: str | None = None
    manifest: Path | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(group.get("ok", True) for group in self.checks.values() if isinstance(group, dict))

    @property
    def failed(self) -> list[str]:
        return [f"{name}.{item}" for name, group in self.checks.items() if isinstance(group, dict)
                for item in group.get("failed", [])]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": str(self.path), "format": self.format, "ok": self.ok, "failed": self.failed,
                               "checks": self.checks}
        if self.manifest is not None:
            out["manifest"] = str(self.manifest)
        if self.contact is not None:
            out["contact"] = {**self.contact.to_json(), "endplate": str(self.endplate),
                              "bearing_surface": self.footprint_surface}
        if self.notes:
            out["notes"] = list(self.notes)
        return jsonable(out)

    def rows(self) -> list[tuple[str, str, str]]:
        """(check, result, detail) rows of the readable table."""
        def verdict(value: bool) -> str:
            return "pass" if value else "FAIL"

        rows: list[tuple[str, str, str]] = []
        mesh = self.checks.get("mesh", {})
        if mesh:
            rows.append(("triangles / vertices", "", f"{mesh['triangles']} / {mesh['vertices']}"))
            rows.append(("watertight", verdict(mesh["watertight"]), ""))
            rows.append(("consistent winding", verdict(mesh["winding_consistent"]), ""))
            volume = mesh["volume_mm3"]
            rows.append(("positive volume", verdict(mesh["positive_volume"]),
                         "" if volume is None else f"{volume:.3f} mm³"))
            expected = mesh["expected_bodies"]
            rows.append(("bodies", verdict(mesh["bodies_ok"]),
                         f"{mesh['bodies']}" + ("" if expected is None else f" (expected {expected})")))
            rows.append(("manifold (manifold3d)", verdict(mesh["manifold"]), mesh["manifold_status"]))
            rows.append(("surface area", "", f"{mesh['area_mm2']:.2f} mm²"))
            if mesh["degenerate_triangles"]:
                rows.append(("zero-area triangles", "warn", str(mesh["degenerate_triangles"])))
        volume = self.checks.get("volume")
        if volume:
            rows.append(("mesh vs B-rep volume", verdict(volume["volume_matches_brep"]),
                         f"Δ {volume['volume_difference_mm3']} mm³ ≤ {volume['volume_bound_mm3']:.3f}"))
        step = self.checks.get("step")
        if step:
            rows.append(("STEP valid solid(s)", verdict(step["step_valid"]), f"{step['step_solids']} solid(s)"))
            if step.get("step_volume_mm3") is not None:
                rows.append(("STEP volume", verdict(step["step_volume_ok"]), f"{step['step_volume_mm3']:.3f} mm³"))
        if self.contact is not None:
            c = self.contact
            rows.append(("contact area", "", f"{c.area_mm2:.2f} mm² within {c.tolerance_mm} mm"))
            if c.pct_footprint is not None:
                rows.append(("contact / footprint", "", f"{c.pct_footprint:.1f} % of {c.footprint_mm2:.2f} mm²"
                             + (f" ({self.footprint_surface})" if self.footprint_surface else "")))
            rows.append(("contact / endplate", "", f"{c.pct_endplate:.2f} % of {c.endplate_area_mm2:.2f} mm²"))
            if c.max_penetration_mm is not None:
                rows.append(("max penetration", "", f"{c.max_penetration_mm:.3f} mm"))
        return rows

    def table(self) -> Table:
        """A rich table for the command line."""
        table = Table(title=f"{self.path.name}: {'all checks pass' if self.ok else 'CHECKS FAILED'}")
        table.add_column("check")
        table.add_column("result")
        table.add_column("detail")
        for check, result, detail in self.rows():
            style = "red" if result == "FAIL" else ("yellow" if result == "warn" else None)
            table.add_row(check, result, detail, style=style)
        return table


def reports_table(reports: list[CheckReport]) -> Table:
    """One row per checked file (a kit, a print set): the main figures and the verdict."""
    passed = sum(r.ok for r in reports)
    table = Table(title=f"{len(reports)} files: {passed} pass, {len(reports) - passed} FAIL")
    for column in ("file", "triangles", "volume mm³", "bodies", "watertight", "manifold", "contact mm²", "result"):
        table.add_column(column, no_wrap=column == "file")
    for r in reports:
        mesh = r.checks.get("mesh", {})
        volume = mesh.get("volume_mm3")
        table.add_row(r.path.name, str(mesh.get("triangles", "")), "" if volume is None else f"{volume:.1f}",
                      str(mesh.get("bodies", "")), "yes" if mesh.get("watertight") else "NO",
                      "yes" if mesh.get("manifold") else "NO",
                      "" if r.contact is None else f"{r.contact.area_mm2:.1f}",
                      "pass" if r.ok else "FAIL: " + ", ".join(r.failed), style=None if r.ok else "red")
    return table


def check_file(path: str | os.PathLike, endplate: Any = None, tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM,
               expected_bodies: int | None = None, footprint_mm2: float | None = None,
               deflection_mm: float | None = None) -> CheckReport:
    """Check a mesh (or STEP) file; ``endplate`` (a mesh file or trimesh mesh) adds the contact
    area within ``tolerance_mm``. ``expected_bodies`` None: from a sibling manifest if any,
    else any number of bodies is accepted. ``deflection_mm``: chord deflection (mm) of the
    tessellation of a STEP file (None: the default of :func:`~implants.writers.settings.checked_deflection`)."""
    p = Path(path)
    if expected_bodies is not None and expected_bodies < 1:
        raise ParameterError(f"expected bodies = {expected_bodies}: must be at least 1")
    if not tolerance_mm > 0:
        raise ParameterError(f"tolerance = {tolerance_mm!r}: must be > 0 mm")
    manifest = _sibling_manifest(p) if p.is_file() else None
    notes: list[str] = []
    if expected_bodies is None and manifest is not None and isinstance(manifest.get("bodies"), int):
        expected_bodies = manifest["bodies"]
        notes.append(f"expected bodies from {p.stem}.manifest.json")
    checks: dict[str, Any] = {}
    if p.suffix.lower() in STEP_FORMATS:
        deflection_mm = checked_deflection(deflection_mm)
        if not p.is_file():
            raise ParameterError(f"file {str(p)!r} does not exist")
        checks["step"] = check_step(p, None, expected_bodies)
        if not checks["step"]["step_readable"]:
            raise ParameterError(checks["step"]["step_error"])
        shape = read_step(p)
        mesh = tessellate(shape, deflection_mm).mesh
        checks["mesh"] = check_mesh(mesh, expected_bodies)
        checks["volume"] = check_mesh_volume(checks["mesh"]["volume_mm3"], checks["step"]["step_volume_mm3"],
                                             checks["mesh"]["area_mm2"], deflection_mm)
        fmt = "step"
    else:
        mesh = read_mesh(p)
        checks["mesh"] = check_mesh(mesh, expected_bodies)
        fmt = MESH_FORMATS[p.suffix.lower()]
    contact = None
    endplate_path = None
    surface = None
    if endplate is not None:
        if isinstance(endplate, (str, os.PathLike)):
            endplate_path = Path(endplate)
            endplate_mesh = read_mesh(endplate_path, "endplate")
        else:
            endplate_mesh = endplate
            endplate_path = endplate.metadata.get("name")  # e.g. a packaged level
        contact = contact_area(mesh, endplate_mesh, tolerance_mm=tolerance_mm, footprint_mm2=footprint_mm2)
        if footprint_mm2 is None and manifest is not None:
            contact, surface = _footprint_from_manifest(contact, mesh, manifest)
    return CheckReport(path=p, format=fmt, checks=checks, contact=contact, endplate=endplate_path,
                       footprint_surface=surface, manifest=p.with_name(f"{p.stem}.manifest.json") if manifest else None,
                       notes=tuple(notes))


def _footprint_from_manifest(contact: ContactResult, mesh: "trimesh.Trimesh", manifest: dict[str, Any]
                             ) -> tuple[ContactResult, str | None]:
    """Use the footprint of the manifest's bearing surface nearest to the contact patch."""
    footprints = (manifest.get("checks") or {}).get("footprint") or {}
    if not footprints or contact.area_mm2 <= 0:
        return contact, None
    weights = contact.triangle_area_mm2
    patch = (mesh.triangles_center * weights[:, None]).sum(axis=0) / weights.sum()
    best, best_d = None, np.inf
    for name, item in footprints.items():
        try:
            d = float(np.linalg.norm(np.asarray(item["centroid_mm"], float) - patch))
        except (KeyError, TypeError, ValueError):
            continue
        if d < best_d:
            best, best_d = name, d
    if best is None:
        return contact, None
    return contact.with_footprint(float(footprints[best]["area_mm2"])), best
