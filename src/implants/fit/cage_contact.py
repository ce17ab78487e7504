"""Contact of fitted interbody cages with the vertebrae (layer: fit): per cage, the area of each
bearing face within a tolerance of its vertebra (mm², % of the face, of its footprint and of the
endplate) and the penetration; and the record comparing the congruent with the flat cage.

Each face is measured on its own triangles only (the ``contact.superior`` triangles against the
upper vertebra, ``contact.inferior`` against the lower): the side walls and the opposite face do
not bear on that vertebra, and refining them along the face's edge took most of the measure
(lumbar congruent cage: 0.10 → 0.02 s CPU per face, the same areas). The penetration is that of
the bearing face: a side wall reaching deeper at the face's edge no longer counts (a cervical stock
cage: 0.0092 mm on its face, 0.015 mm with the wall).

Meshes and cages in the patient frame (+x anterior, +y left, +z superior, mm).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import trimesh

from ..checks.contact import contact_area
from ..checks.footprint import footprint_area
from ..geometry.local_frame import Frame
from ..model import Implant
from ..tolerances import CONTACT_TOLERANCE_MM
from ..writers.tessellate import feature_mask, tessellate
from .inputs import Anatomy

#: Chord deflection (mm) of the tessellation used for contact measures.
CONTACT_DEFLECTION_MM = 0.01


@dataclass(frozen=True, eq=False)
class CageContact:
    """One cage's contact with both vertebrae (patient frame meshes, per-triangle contact)."""

    implant: Implant
    mesh: trimesh.Trimesh
    masks: dict                      # "superior"/"inferior" → bool mask of bearing triangles
    results: dict                    # "superior"/"inferior" → ContactResult of that face against its
                                     # vertebra (per-triangle areas indexed like ``mesh.faces``)
    figures: dict                    # "superior"/"inferior" → dict of figures


@dataclass(frozen=True, eq=False)
class Comparison:
    """Congruent vs flat cage in one disc space."""

    anatomy: Anatomy
    congruent: CageContact
    flat: CageContact
    tolerance_mm: float
    frame: Frame                     # the cage frame (for the map)

    def to_json(self) -> dict:
        def ratio(a: float, b: float) -> float | None:
            return None if b <= 0 else round(a / b, 2)

        out: dict[str, Any] = {
            "tolerance_mm": self.tolerance_mm,
            "disc_space": self.anatomy.disc.summary(),
            "params": self.congruent.implant.params.model_dump(mode="json"),
            "endplate_area_mm2": {"superior": round(self.anatomy.disc.upper.area_mm2, 1),
                                  "inferior": round(self.anatomy.disc.lower.area_mm2, 1)},
        }
        for name, cage in (("congruent", self.congruent), ("flat", self.flat)):
            total = sum(f["contact_area_mm2"] for f in cage.figures.values())
            out[name] = {**cage.figures, "contact_area_mm2": round(total, 2),
                         "segmental_angle_deg": cage.implant.metrics["segmental_angle_deg"],
                         "height_at_centre_mm": cage.implant.metrics["height_at_centre_mm"],
                         "build_s": cage.implant.metrics["build_s"], "measure_s": cage.figures["superior"]["measure_s"]}
        out["ratio_congruent_to_flat"] = {
            side: ratio(self.congruent.figures[side]["contact_area_mm2"], self.flat.figures[side]["contact_area_mm2"])
            for side in ("superior", "inferior")}
        out["ratio_congruent_to_flat"]["total"] = ratio(out["congruent"]["contact_area_mm2"],
                                                        out["flat"]["contact_area_mm2"])
        out["note"] = ("contact = bearing-face area within tolerance_mm of the vertebra mesh; cadaver reference "
                       "(Sci Rep 2022;12:12505): ~100 mm² patient-specific vs ~55-58 mm² stock lumbar cages")
        return out


def cage_contact(implant: Implant, anat: Anatomy, tolerance_mm: float = CONTACT_TOLERANCE_MM,
                 deflection_mm: float = CONTACT_DEFLECTION_MM) -> CageContact:
    """Contact of a cage (patient frame) with the upper and lower vertebra: area of each bearing
    face within ``tolerance_mm`` (mm², % of its footprint, % of the endplate) and the deepest
    penetration of that face into its vertebra (mm)."""
    tess = tessellate(implant.shape, deflection_mm)
    mesh = tess.mesh
    masks, results, figures = {}, {}, {}
    for side, feature, vertebra, endplate in (("superior", "contact.superior", anat.upper_mesh, anat.disc.upper),
                                             ("inferior", "contact.inferior", anat.lower_mesh, anat.disc.lower)):
        started = time.perf_counter()
        mask = feature_mask(tess, implant.shape, implant.features[feature])
        face = np.flatnonzero(mask)
        result = contact_area(mesh.submesh([face], append=True), vertebra, tolerance_mm)
        per_triangle = np.zeros(len(mesh.faces))
        per_triangle[face] = result.triangle_area_mm2
        result = replace(result, triangle_area_mm2=per_triangle)
        area = result.area_mm2
        bearing = float(mesh.area_faces[mask].sum())
        foot = footprint_area(mesh, mask)
        masks[side], results[side] = mask, result
        figures[side] = {
            "contact_area_mm2": round(area, 2), "bearing_area_mm2": round(bearing, 2),
            "pct_bearing": round(100 * area / bearing, 2), "footprint_mm2": round(foot, 2),
            "pct_footprint": round(100 * area / foot, 2), "endplate_area_mm2": round(endplate.area_mm2, 1),
            "pct_endplate": round(100 * area / endplate.area_mm2, 2),
            "max_penetration_mm": round(float(result.max_penetration_mm or 0.0), 4),
            "measure_s": round(time.perf_counter() - started, 2)}
    return CageContact(implant, mesh, masks, results, figures)
