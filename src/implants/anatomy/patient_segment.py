"""A synthetic patient as meshes: the two vertebrae of a segment morphed to a
:class:`~.patient.Patient` (:mod:`.patient_morph`), placed around the requested disc and measured
back (layer: anatomy). Frames and units as in :mod:`.patient_morph` (patient frame, mm).

**Placement** (:func:`patient_segment`): the lower vertebra stays where it is; a first morph of
the upper one gives its pose (:func:`~.patient_morph.placement`); the upper vertebra is fitted
from that pose, re-placed after every step (and lifted by half a requested body-height change,
which moves its inferior end by that much), and kept in the pose it was measured in (the
extraction is not exactly equivariant: a small final re-placement once changed mean-L4's
superior depth by 0.7 mm). **Measured back** (:func:`measure_segment`): all four endplates
extracted on the final meshes (the lower ones reused from the fit: same mesh, deterministic
extraction), in :class:`~.patient.Patient`'s names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from .disc_space import DiscSpace, disc_space
from .endplates import Endplate, extract_endplate
from .patient import SIDES, Patient
from .patient_landmarks import body_height, endplate_measures
from .patient_morph import (
    DISC_TOLERANCES,
    IDENTITY,
    UP,
    base_vertebra,
    disc_errors,
    extraction_up,
    fitted_vertebra,
    leans,
    morph_vertebra,
    placement,
)


@dataclass(frozen=True, eq=False)
class PatientSegment:
    """A patient's two vertebrae (patient frame, mm) placed around the requested disc."""

    patient: Patient
    upper_mesh: trimesh.Trimesh
    lower_mesh: trimesh.Trimesh
    disc: DiscSpace                 # from the facing endplates of the final meshes
    max_residual_mm: float          # largest landmark residual of the two morphs
    lower_endplates: dict[str, Endplate]  # extracted from lower_mesh as it is (for measure_segment)
    ups: tuple[np.ndarray, np.ndarray]  # extraction_up of the upper's, the lower's pose

    def measured(self) -> dict[str, float]:
        """:func:`measure_segment` of the two meshes with their up directions."""
        return measure_segment(self.upper_mesh, self.lower_mesh, self.lower_endplates, self.ups)


def patient_segment(patient: Patient) -> PatientSegment:
    """Morph the region's two packaged vertebrae to ``patient`` and place the upper one so the
    disc has the requested height and angles (see the module docstring): the lower vertebra is
    fitted where it is; a first morph of the upper one gives its pose, from which it is fitted and
    placed together (measured where it stays; re-placed rigidly only if no step had the disc right)."""
    (upper_level, lower_level) = patient.levels
    wants = {vertebra: (patient.endplate(vertebra, "superior"), patient.endplate(vertebra, "inferior"),
                        getattr(patient, f"{vertebra}_body_height_mm")) for vertebra in ("upper", "lower")}
    lower, lower_endplates, lower_residual, _ = fitted_vertebra(lower_level, *wants["lower"])
    first, _ = morph_vertebra(upper_level, *wants["upper"])
    pose = placement(patient, extract_endplate(first, "inferior"), lower_endplates["superior"])
    leaning = leans(base_vertebra(upper_level), pose)
    upper, upper_endplates, upper_residual, upper_pose = fitted_vertebra(
        upper_level, *wants["upper"], pose=pose, placed_on=(patient, lower_endplates["superior"]), leaning=leaning)
    if (np.abs(disc_errors(patient, upper_endplates["inferior"], lower_endplates["superior"])[1]) > DISC_TOLERANCES).any():
        move = placement(patient, upper_endplates["inferior"], lower_endplates["superior"], IDENTITY)
        upper.apply_transform(move)
        upper_pose = move @ upper_pose
        upper_endplates = {"inferior": extract_endplate(upper, "inferior", extraction_up(upper_pose, leaning))}
    disc = disc_space(upper_endplates["inferior"], lower_endplates["superior"])
    return PatientSegment(patient, upper, lower, disc, float(max(upper_residual, lower_residual)), lower_endplates,
                          (extraction_up(upper_pose, leaning), UP))  # the lower one is not moved


def measure_segment(upper_mesh: trimesh.Trimesh, lower_mesh: trimesh.Trimesh,
                    lower_endplates: dict[str, Endplate] | None = None,
                    ups: tuple = (UP, UP)) -> dict[str, float]:
    """Every :class:`~.patient.Patient` field except ``region_lordosis_deg``, measured on the meshes
    (fresh endplate extractions with the up directions ``ups``, upper then lower, as
    :attr:`PatientSegment.ups`; and their disc space).
    ``lower_endplates`` (superior, inferior): the extractions of ``lower_mesh`` as it is, if already
    made (:attr:`PatientSegment.lower_endplates`; the extraction is deterministic, so they are the
    fresh ones)."""
    values: dict[str, float] = {}
    endplates = {("lower", side): plate for side, plate in (lower_endplates or {}).items()}
    for vertebra, mesh, up in (("upper", upper_mesh, ups[0]), ("lower", lower_mesh, ups[1])):
        for side in SIDES:
            if (vertebra, side) not in endplates:
                endplates[vertebra, side] = extract_endplate(mesh, side, up)
            values.update({f"{vertebra}_{side}_{k}": v for k, v in endplate_measures(endplates[vertebra, side]).items()})
        values[f"{vertebra}_body_height_mm"] = body_height(endplates[vertebra, "superior"],
                                                            endplates[vertebra, "inferior"])
    disc = disc_space(endplates["upper", "inferior"], endplates["lower", "superior"])
    values.update(disc_height_mm=disc.height_mm, disc_sagittal_deg=disc.sagittal_deg,
                  disc_coronal_deg=disc.coronal_deg)
    return values
