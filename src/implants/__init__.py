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

if TYPE_CHECKING:
    from .model import Implant

__version__ = "0.1.0"

__all__ = [
    "NOT_A_MEDICAL_DEVICE", "CheckError", "ExportError", "GeometryError", "ImplantError",
    "ParameterError", "build", "check", "export", "get", "templates", "type_ids", "__version__",
]


def build(type_id: str, preset: str | None = None, **params: Any) -> "Implant":
    """Build an implant of ``type_id`` from a preset (default: the type's default) and overrides."""
    template = get(type_id)
    implant = template.build(template.make_params(preset, **params))
    from dataclasses import replace

    return replace(implant, preset=preset or template.default_preset)


def export(implant: "Implant", out_dir: Any, **options: Any):
    """Export an implant (STEP, STL, 3MF, GLB, manifest): see :func:`implants.export.pipeline.export`."""
    from .export.pipeline import export as _export

    return _export(implant, out_dir, **options)


def check(path: Any, **options: Any):
    """Check a mesh file: see :func:`implants.checks.report.check_file`."""
    from .checks.report import check_file

    return check_file(path, **options)
