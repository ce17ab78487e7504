"""How well an implant is seated on the bones of its scene (layer: placement): per bone, the area of
implant surface within :data:`~implants.tolerances.CONTACT_TOLERANCE_MM` (0.25 mm) of the bone and the
deepest penetration of the implant into it (:func:`implants.checks.contact.contact_area`; the packaged
bones are closed meshes, so the penetration is signed). Patient frame, mm, mm².

The implant mesh is the placement tessellation (:data:`~implants.placement.poses.PLACEMENT_DEFLECTION_MM`)
moved by the layout's implant transform; faint (resected/osteolytic) bones are drawn for context and
are not measured.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .. import tolerances
from ..checks.contact import contact_area
from .poses import SceneLayout, implant_mesh

if TYPE_CHECKING:
    from ..model import Implant


def seat_report(implant: "Implant", layout: SceneLayout,
                tolerance_mm: float = tolerances.CONTACT_TOLERANCE_MM) -> dict:
    """``{"bones": {name: {"contact_mm2", "penetration_mm"}}, "contact_mm2", "penetration_mm",
    "tolerance_mm", "seconds"}``: contact and deepest penetration per opaque bone of ``layout``, their
    sum and maximum, and the time taken (s)."""
    t0 = time.perf_counter()
    mesh = implant_mesh(implant)
    mesh.apply_transform(layout.implant_transform)
    bones = {}
    for bone in layout.bones:
        if bone.opacity < 1.0:
            continue
        result = contact_area(mesh, bone.mesh, tolerance_mm=tolerance_mm)
        bones[bone.name] = {"contact_mm2": round(float(result.area_mm2), 1),
                            "penetration_mm": round(float(result.max_penetration_mm or 0.0), 3)}
    return {"bones": bones, "contact_mm2": round(sum(b["contact_mm2"] for b in bones.values()), 1),
            "penetration_mm": max((b["penetration_mm"] for b in bones.values()), default=0.0),
            "tolerance_mm": tolerance_mm, "seconds": round(time.perf_counter() - t0, 2)}


def caption(report: dict) -> str:
    """One line for a scene caption: contact area and deepest penetration."""
    return (f"contact {report['contact_mm2']:.0f} mm² within {report['tolerance_mm']} mm, "
            f"deepest penetration {report['penetration_mm']:.2f} mm")
