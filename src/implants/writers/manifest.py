"""The manifest written beside every export (``<type>-<params hash>.manifest.json``; layer: writers).

It records what was built (type, preset, parameters after defaults), by what (package
version), the not-a-medical-device statement, the number of bodies, masses, named
features, the template's metrics, the tessellation settings (the chord deflection actually
used, and the requested one when the mesher had to refine), every check result and the
sha256 of each file. ``created`` is the only time stamp of an export.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .. import tolerances
from ..params import NOT_A_MEDICAL_DEVICE
from ..version import __version__

if TYPE_CHECKING:
    from ..model import Implant

#: Manifest layout version (bump when keys change meaning).
MANIFEST_VERSION = 1


#: The frame of a part built from parameters alone.
PATIENT_FRAME = {"name": "patient", "axes": "+x anterior, +y patient-left, +z superior", "units": "mm"}


def design_hash(implant: "Implant", lattice: Any = None) -> str:
    """12 hex digits that change with everything that changes the exported geometry: the
    parameters and, when present, the geometric inputs (:attr:`Implant.inputs`: mesh sha256,
    axes, planned angles, output frame...) and the lattice settings. A part built from
    parameters alone keeps its parameter hash."""
    if not implant.inputs and lattice is None:
        return implant.params.params_hash()
    design = {"params": implant.params.params_hash(), "inputs": jsonable(implant.inputs),
              "lattice": None if lattice is None else lattice.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(design, sort_keys=True).encode()).hexdigest()[:12]


def base_name(implant: "Implant", lattice: Any = None) -> str:
    """``<type>-<design hash>``: the stem of every file of an export (deterministic)."""
    return f"{implant.type_id}-{design_hash(implant, lattice)}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jsonable(value: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, enums, paths, tuples and NaN (→ None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int)):
        return value
    return str(value)


def build_manifest(implant: "Implant", files: Mapping[str, bytes], checks: Mapping[str, Any],
                   tessellation: Mapping[str, Any], created: datetime | None = None,
                   lattice: Any = None) -> dict[str, Any]:
    """The manifest dict; ``files`` maps format (``"stl"``...) to the bytes written under
    ``<type>-<design hash>.<format>``; ``tessellation`` holds ``deflection_mm`` (the one used,
    mm), ``triangles``, ``vertices``, ``holes_filled`` and, when the mesher refined, the
    ``requested_deflection_mm``."""
    digest = design_hash(implant, lattice)
    stem = f"{implant.type_id}-{digest}"
    inputs = {k: v for k, v in implant.inputs.items() if k != "frame"}
    created = created or datetime.now(timezone.utc)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "type": implant.type_id,
        "preset": implant.preset,
        "parameters": implant.params.model_dump(mode="json"),
        "params_hash": implant.params.params_hash(),
        "design_hash": digest,
        "inputs": inputs,
        "package": "spine-implants",
        "version": __version__,
        "not_a_medical_device": NOT_A_MEDICAL_DEVICE,
        "units": "mm",
        "frame": implant.inputs.get("frame", PATIENT_FRAME),
        "bodies": implant.bodies,
        "parts": sorted(implant.parts),
        "volume_mm3": round(implant.volume_mm3(), 4),
        "material": implant.params.material.value,
        "mass_g": implant.mass_g(),
        "features": {name: feature.to_json() for name, feature in sorted(implant.features.items())},
        "metrics": dict(implant.metrics),
        "tessellation": {"deflection_mm": tessellation["deflection_mm"],
                         **({"requested_deflection_mm": tessellation["requested_deflection_mm"]}
                            if "requested_deflection_mm" in tessellation else {}),
                         "angular_deflection_rad": tolerances.ANGULAR_DEFLECTION_RAD,
                         "triangles": tessellation.get("triangles"), "vertices": tessellation.get("vertices"),
                         "holes_filled": tessellation.get("holes_filled", 0)},
        "checks": dict(checks),
        "files": {fmt: {"name": f"{stem}.{fmt}", "sha256": sha256(data), "bytes": len(data)}
                  for fmt, data in files.items()},
        "created": created.isoformat(timespec="seconds"),
    }
    return jsonable(manifest)


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as UTF-8 JSON (2-space indent, trailing newline)."""
    return (json.dumps(jsonable(manifest), indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
