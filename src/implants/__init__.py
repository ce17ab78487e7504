"""spine-implants: parametric models of patient-specific spinal implants.

NOT A MEDICAL DEVICE: models for teaching, printed demonstrators and design exploration.

Public API::

    import implants
    cage = implants.build("interbody-cage", preset="lumbar-alif", lordosis_deg=12)
    result = implants.export(cage, "out/")
    report = implants.check("out/interbody-cage-....stl")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CheckError, ExportError, GeometryError, ImplantError, ParameterError
from .params import NOT_A_MEDICAL_DEVICE
from .registry import get, templates, type_ids
from .version import __version__

if TYPE_CHECKING:
    from .model import Implant


__all__ = [
    "NOT_A_MEDICAL_DEVICE", "CheckError", "ExportError", "GeometryError", "ImplantError",
    "ParameterError", "build", "check", "export", "get", "templates", "type_ids", "__version__",
]


def build(type_id: str, preset: str | None = None, **params: Any) -> "Implant":
    """Build an implant of ``type_id`` from a preset (default: the type's default) and overrides.
    Raises :class:`ParameterError` for bad parameters and :class:`GeometryError` when the CAD
    kernel fails on accepted ones, never a raw kernel exception."""
    template = get(type_id)
    return template.make(template.make_params(preset, **params), preset)


def export(implant: "Implant", out_dir: Any, picture: bool = False, **options: Any):
    """Export an implant (STEP, STL, 3MF, GLB, manifest; ``picture``: an isometric PNG beside
    them): see :func:`implants.pipeline.export` for the options."""
    from .pipeline import export as _export

    if picture:
        from .render.pictures import implant_png

        options["picture"] = implant_png
    return _export(implant, out_dir, **options)


def check(path: Any, **options: Any):
    """Check a mesh file: see :func:`implants.checks.report.check_file`."""
    from .checks.report import check_file

    return check_file(path, **options)
