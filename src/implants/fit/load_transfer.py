"""Load transfer of fitted interbody cages (layer: fit): endplate contact pressure of the congruent
and the flat cage of the same footprint in one real disc space, under one load case.

Both cages are built on one placement and endplate fit as for the contact comparison (:mod:`.congruence`: same footprint, same
anatomy), tessellated once, and each bearing face (``contact.superior`` against the upper
vertebra, ``contact.inferior`` against the lower) is solved on its own with the elastic-foundation
check (:func:`implants.checks.pressure.pressure_on_bone`): in series, each interface carries the
whole load. The load axis is the cage frame's z (the disc-space normal); the moments keep their
patient-frame meaning (flexion moves the centre of pressure anterior). Meshes in the patient
frame (+x anterior, +y left, +z superior, mm); pressures in MPa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh

from ..checks.pressure import FacePressure, Foundation, LoadCase, load_case, pressure_on_bone
from ..implant_types.interbody_cage import CageParams
from ..model import Implant
from ..tolerances import CONTACT_TOLERANCE_MM
from ..writers.tessellate import feature_mask, tessellate
from .cage_contact import CONTACT_DEFLECTION_MM, CageContact
from .cage_fields import cage_site
from .cage_placement import default_params
from .congruence import congruent_cage, flat_cage
from .inputs import Anatomy, anatomy

#: The figures whose flat / congruent ratio the comparison reports.
RATIO_FIGURES = ("peak_mpa", "p95_mpa", "mean_mpa")


@dataclass(frozen=True, eq=False)
class CagePressure:
    """One cage (patient frame), its tessellation and the pressure on each bearing face."""

    implant: Implant
    mesh: trimesh.Trimesh
    faces: dict[str, FacePressure]       # "superior" (on the upper vertebra) / "inferior" (on the lower)


@dataclass(frozen=True, eq=False)
class PressureComparison:
    """Congruent vs flat cage in one disc space under one load case."""

    anatomy: Anatomy
    congruent: CagePressure
    flat: CagePressure
    load: LoadCase
    foundation: Foundation
    axis: np.ndarray                     # the load axis (cage frame z, patient frame)

    def outline(self, side: str) -> np.ndarray:
        """The endplate rim (N, 3, patient frame) a face bears on: the upper vertebra's inferior
        endplate for the superior face, the lower vertebra's superior endplate for the inferior."""
        return (self.anatomy.disc.upper if side == "superior" else self.anatomy.disc.lower).outline

    def ratios(self) -> dict[str, dict[str, float | None]]:
        """flat / congruent of the peak, 95th-percentile and mean pressure, per face."""
        out: dict[str, dict[str, float | None]] = {}
        for side in ("superior", "inferior"):
            c, f = self.congruent.faces[side].figures, self.flat.faces[side].figures
            out[side] = {name: (round(f[name] / c[name], 3) if c[name] > 0 else None) for name in RATIO_FIGURES}
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "load": self.load.to_json(), "foundation": self.foundation.to_json(),
            "load_axis": [round(float(v), 6) for v in self.axis],
            "disc_space": self.anatomy.disc.summary(),
            "params": self.congruent.implant.params.model_dump(mode="json"),
            "congruent": {side: face.figures for side, face in self.congruent.faces.items()},
            "flat": {side: face.figures for side, face in self.flat.faces.items()},
            "ratio_flat_to_congruent": self.ratios(),
            "note": "elastic-foundation (bed-of-springs) model, rigid cage: see docs/load-transfer.md; "
                    "not a medical device",
        }


def cage_pressure(implant: Implant, anat: Anatomy, load: LoadCase, foundation: Foundation, axis: np.ndarray,
                  tolerance_mm: float = CONTACT_TOLERANCE_MM, contact: CageContact | None = None) -> CagePressure:
    """Pressure on both bearing faces of a cage (patient frame) between the two vertebrae of ``anat``;
    ``contact``: the cage's contact measure (:func:`.cage_contact.cage_contact`), whose mesh and bearing
    masks are used instead of a second tessellation."""
    if contact is None:
        tess = tessellate(implant.shape, CONTACT_DEFLECTION_MM)
        mesh = tess.mesh
        masks = {side: feature_mask(tess, implant.shape, implant.features[f"contact.{side}"])
                 for side in ("superior", "inferior")}
    else:
        mesh, masks = contact.mesh, contact.masks
    faces = {side: pressure_on_bone(mesh, bone, load, foundation, axis=axis, toward=toward, mask=masks[side],
                                    tolerance_mm=tolerance_mm)
             for side, toward, bone in (("superior", "up", anat.upper_mesh), ("inferior", "down", anat.lower_mesh))}
    return CagePressure(implant, mesh, faces)


def compare_pressure(upper: Any, lower: Any = None, params: CageParams | None = None,
                     load: LoadCase | float | str = "lumbar", foundation: Foundation | None = None, *,
                     axes: str | np.ndarray = "ALS", margin_mm: float = 2.0) -> PressureComparison:
    """Build the congruent and the flat cage of the same footprint between ``upper`` and ``lower``
    (mesh files, packaged level names, meshes or an :class:`~.inputs.Anatomy`) and solve the
    pressure on their four bearing faces under ``load`` (N, ``"lumbar"``, ``"cervical"`` or a
    :class:`LoadCase`). The load is checked before anything is built."""
    load = load_case(load)
    foundation = foundation if foundation is not None else Foundation()
    anat = upper if isinstance(upper, Anatomy) else anatomy(upper, lower, axes, margin_mm)
    if params is None:
        params = default_params(anat.disc)
    site = cage_site(anat, None, params, axes, margin_mm)  # placement and endplate fields, shared
    axis = np.asarray(site.frame.matrix, dtype=np.float64)[:3, 2]
    congruent = cage_pressure(congruent_cage(site), anat, load, foundation, axis)
    flat = cage_pressure(flat_cage(site), anat, load, foundation, axis)
    return PressureComparison(anat, congruent, flat, load, foundation, axis)
