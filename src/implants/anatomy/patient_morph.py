"""A synthetic patient as meshes: the packaged vertebrae of a segment deformed to a
:class:`~.patient.Patient` and placed around the requested disc, then measured back (layer: anatomy).

Frames: the packaged level's patient frame (+x anterior, +y patient-left, +z superior, mm);
each endplate's local frame is the one :func:`~.endplates.extract_endplate` reports (x anterior,
y patient-left, z along the mean normal towards patient +z).

**Morph** (:func:`morph_vertebra`): one thin-plate-spline space deformation of the whole
vertebra (:class:`~.morph.ThinPlateMap`: its source landmarks depend only on the base vertebra,
so the spline is one linear operator built once per level and a morph is one matrix product),
driven by the endplate landmarks of :mod:`.patient_landmarks` (rim scaled to the requested width
and depth, the wall under it, the bone just outside it, a surface grid on *ruler − bowl*), a
ring midway between the endplates and 40 arch points moved by the body's mean change (posterior
wall shift, mean width scale, height scale), so the arch follows without bending. The superior
and inferior landmarks are shifted along the body axis so the rim-to-rim body height is the
requested one; then the endplate surfaces are projected onto *ruler − bowl* vertex by vertex
(:meth:`~.patient_landmarks.EndplateTarget.project_band`): the spline alone leaves the base
bone's finer relief (mean-L5's posterolateral corner hollow).

**Fitting** (:func:`fitted_vertebra`): the morphed endplates are extracted and measured and the
requests corrected (regula falsi per measure) until they measure back within tolerance.

**Placement** (:func:`patient_segment`): the lower vertebra stays where it is; a first morph of
the upper one gives its pose (rotations about the disc-space frame's y and x axes, a shift along
its z, until :func:`~.disc_space.disc_space` of the facing endplates, moved rigidly, gives the
requested disc height, sagittal and coronal angle); the upper vertebra is fitted in that pose
(the extraction is not exactly equivariant, so it is measured where it will be) and placed by a
last small correction. **Measured back** (:func:`measure_segment`): a fresh extraction of all
four endplates on the final meshes, in the field names of :class:`~.patient.Patient`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np
import trimesh

from ..errors import ParameterError
from ..geometry.frames import rotation_matrix
from ..geometry.local_frame import Frame
from . import packaged
from .disc_space import DiscSpace, disc_space
from .endplates import Endplate, extract_endplate
from .morph import ThinPlateMap
from .patient import SIDES, Patient
from .patient_landmarks import EndplateSource, EndplateTarget, endplate_source

#: Arch (posterior elements) landmarks per vertebra.
ARCH_POINTS = 40
#: Most iterations of the rigid placement of the upper vertebra (it stops once within a tenth of
#: the tolerances).
PLACEMENT_STEPS = 5
#: The placement starts this much (mm) further from the lower vertebra than its starting pose.
START_CLEARANCE_MM = 4.0


@dataclass(frozen=True, eq=False)
class BaseVertebra:
    """A packaged vertebra, its two extracted endplates (patient frame) and, built once, what
    every morph of it reuses: the endplates' landmarks and bands, the source landmarks
    (superior, inferior, mid-body ring, arch) and the thin-plate-spline operator at its vertices."""

    level: str
    mesh: trimesh.Trimesh
    superior: Endplate
    inferior: Endplate

    @cached_property
    def sources(self) -> dict[str, EndplateSource]:
        return {side: endplate_source(getattr(self, side), self.mesh.vertices, self.mesh.faces) for side in SIDES}

    @cached_property
    def axis(self) -> np.ndarray:
        return body_axis(self.superior, self.inferior)

    @cached_property
    def below(self) -> np.ndarray:
        """For each superior rim landmark, the inferior one below it (nearest across the body axis)."""
        across = np.eye(3) - np.outer(self.axis, self.axis)
        sup, inf = (self._rim_landmarks(side) for side in SIDES)
        return np.argmin(np.linalg.norm((sup[:, None] - inf[None]) @ across, axis=2), axis=1)

    def _rim_landmarks(self, side: str) -> np.ndarray:
        source = self.sources[side]
        return source.endplate.frame.to_patient(source.source_landmarks()[: len(source.ring)])

    @cached_property
    def arch_frame(self) -> Frame:
        """The superior endplate's axes at the body centre (the arch moves in it)."""
        return Frame((self.superior.centroid + self.inferior.centroid) / 2, self.superior.frame.axes)

    @cached_property
    def arch(self) -> np.ndarray:
        """ARCH_POINTS vertices of the posterior elements, 5 mm or more behind the body's posterior
        rim (local to :attr:`arch_frame`)."""
        local = self.superior.frame.to_local(self.mesh.vertices)
        posterior = float(self.superior.outline_local[:, 0].min()) - 5.0
        behind = np.flatnonzero(local[:, 0] < posterior)
        order = behind[np.argsort(local[behind, 0] * 1000 + local[behind, 1])]  # deterministic spread
        return self.arch_frame.to_local(self.mesh.vertices[order[np.linspace(0, len(order) - 1,
                                                                             ARCH_POINTS).astype(int)]])

    @cached_property
    def source_landmarks(self) -> np.ndarray:
        """Superior, inferior, mid-body ring and arch landmarks (patient frame), the order of
        :func:`morph_vertebra`'s targets."""
        ends = [self.sources[side].endplate.frame.to_patient(self.sources[side].source_landmarks()) for side in SIDES]
        mid = (self._rim_landmarks("superior") + self._rim_landmarks("inferior")[self.below]) / 2
        return np.vstack([*ends, mid, self.arch_frame.to_patient(self.arch)])

    @cached_property
    def spline(self) -> ThinPlateMap:
        """The thin-plate spline of :attr:`source_landmarks` at the mesh vertices (and the landmarks)."""
        return ThinPlateMap(self.source_landmarks, np.vstack([self.mesh.vertices, self.source_landmarks]))


@lru_cache(maxsize=8)
def base_vertebra(level: str) -> BaseVertebra:
    """The packaged ``level`` with its endplates (extracted once per process; its landmarks and
    spline operator are built on first use)."""
    mesh = packaged.load(level)
    return BaseVertebra(level, mesh, extract_endplate(mesh, "superior"), extract_endplate(mesh, "inferior"))


def endplate_measures(endplate: Endplate) -> dict[str, float]:
    """width_mm, depth_mm, concavity_mm, apex_ap_pct (behind the anterior rim, % of depth) and
    apex_lr_pct (left of the middle, % of width) of an extracted endplate."""
    rim = endplate.outline_local
    lo, hi = rim.min(axis=0), rim.max(axis=0)
    depth, width = hi - lo
    apex = endplate.apex_local
    return {"width_mm": float(width), "depth_mm": float(depth), "concavity_mm": float(endplate.concavity_mm),
            "apex_ap_pct": float(100 * (hi[0] - apex[0]) / depth),
            "apex_lr_pct": float(100 * (apex[1] - (lo[1] + hi[1]) / 2) / width)}


def body_axis(superior: Endplate, inferior: Endplate) -> np.ndarray:
    """Unit body axis (towards superior) from the two endplate normals."""
    axis = superior.normal - inferior.normal
    return axis / np.linalg.norm(axis)


def body_height(superior: Endplate, inferior: Endplate) -> float:
    """Mean rim-to-rim height (mm) of a vertebral body along its axis."""
    return float((superior.outline.mean(axis=0) - inferior.outline.mean(axis=0)) @ body_axis(superior, inferior))


def morph_vertebra(level: str, superior: dict[str, float], inferior: dict[str, float],
                   body_height_mm: float) -> tuple[trimesh.Trimesh, float]:
    """The packaged ``level`` deformed to the requested endplates (each a dict as
    :meth:`~.patient.Patient.endplate`) and body height; returns the mesh and the largest
    landmark residual (mm)."""
    base = base_vertebra(level)
    wants = {"superior": superior, "inferior": inferior}
    n_ring = len(base.sources["superior"].ring)
    rims = {side: base.sources[side].endplate.frame.to_patient(
        EndplateTarget(base.sources[side], wants[side], np.zeros(3)).landmarks()[:n_ring]) for side in SIDES}
    achieved = float((rims["superior"].mean(axis=0) - rims["inferior"].mean(axis=0)) @ base.axis)
    shift = (body_height_mm - achieved) / 2
    targets = {side: EndplateTarget(base.sources[side], wants[side],
                                    base.sources[side].endplate.frame.axes @ (sign * shift * base.axis))
               for side, sign in zip(SIDES, (1.0, -1.0))}
    ends = [base.sources[side].endplate.frame.to_patient(targets[side].landmarks()) for side in SIDES]
    mid = (ends[0][:n_ring] + ends[1][:n_ring][base.below]) / 2
    # arch: posterior wall shift, mean width scale, height scale (about the body centre)
    old = [endplate_measures(getattr(base, side)) for side in SIDES]
    width_scale = np.mean([wants[s]["width_mm"] / o["width_mm"] for s, o in zip(SIDES, old)])
    wall_shift = np.mean([(wants[s]["depth_mm"] - o["depth_mm"]) / 2 for s, o in zip(SIDES, old)])
    height_scale = body_height_mm / body_height(base.superior, base.inferior)
    arch = base.arch_frame.to_patient(base.arch * [1.0, width_scale, height_scale] - [wall_shift, 0.0, 0.0])
    target = np.vstack([*ends, mid, arch])
    moved = base.spline.moved(target)
    vertices, at_landmarks = moved[: len(base.mesh.vertices)], moved[len(base.mesh.vertices):]
    for side in SIDES:
        targets[side].project_band(vertices)
    residual = float(np.linalg.norm(at_landmarks - target, axis=1).max())
    return trimesh.Trimesh(vertices, base.mesh.faces, process=False), residual


def moved_endplate(endplate: Endplate, rotation: np.ndarray, translation: np.ndarray) -> Endplate:
    """``endplate`` moved rigidly (x → R x + t, patient frame); its local shape is unchanged."""
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    return replace(endplate, mesh=endplate.mesh.copy().apply_transform(matrix),
                   outline=endplate.outline @ rotation.T + translation,
                   apex=rotation @ endplate.apex + translation, centroid=rotation @ endplate.centroid + translation,
                   normal=rotation @ endplate.normal,
                   frame=Frame(rotation @ endplate.frame.origin + translation, endplate.frame.axes @ rotation.T))


#: Measured-back tolerances (mm, deg; apex in % of the endplate extent) the corrections aim at.
TOLERANCES = {"width_mm": 0.3, "depth_mm": 0.3, "concavity_mm": 0.2, "body_height_mm": 0.3, "apex_ap_pct": 5.0,
              "apex_lr_pct": 5.0, "disc_height_mm": 0.3, "disc_sagittal_deg": 0.5, "disc_coronal_deg": 0.5}
#: Endplate measures the corrections chase (the apex is not: its measure is the mean of the
#: near-deepest points, which jumps between separate hollows when the concavity is shallow).
CORRECTED = ("width_mm", "depth_mm", "concavity_mm")
#: A fit is good enough when every chased measure is within this fraction of its tolerance.
GOOD_ENOUGH = 0.7
#: Largest change of a request by the corrections, a fraction of the wanted value.
MAX_ASK_CHANGE = 0.25
#: In choosing the best step, a measure off by more than this many tolerances counts as this many.
HOPELESS = 3.0
#: Largest number of re-morphs of a vertebra with its requested values corrected by the measured error.
CORRECTIONS = 4


def _next_ask(ask: float, error: float, brackets: dict[str, tuple[float, float]]) -> float:
    """The next request for one measure (regula falsi): ``error`` = wanted − measured for the
    request ``ask``; once requests on both sides of the wanted value are known, interpolate
    between the nearest two (the measure can jump where faces enter or leave the extracted
    endplate, so a full step would swing across the jump for ever), else step by the error."""
    side = "low" if error > 0 else "high"
    if side not in brackets or abs(error) < abs(brackets[side][1]):
        brackets[side] = (ask, error)
    if "low" in brackets and "high" in brackets:
        (a0, e0), (a1, e1) = brackets["low"], brackets["high"]
        return a0 + e0 * (a1 - a0) / (e0 - e1)
    return ask + error


def fitted_vertebra(level: str, superior: dict[str, float], inferior: dict[str, float], body_height_mm: float,
                    pose: np.ndarray | None = None) -> tuple[trimesh.Trimesh, dict[str, Endplate], float]:
    """:func:`morph_vertebra`, moved by ``pose`` (4×4, patient frame; default none), then measure
    the morphed endplates in that pose and re-morph with corrected requests (:func:`_next_ask`;
    the extraction's rim responds differently from the landmarks, and it is not exactly
    equivariant, hence the measuring in the final pose) until every measure is within
    :data:`GOOD_ENOUGH` of its tolerance or after :data:`CORRECTIONS` steps; the best step wins.
    Returns the posed mesh, its extracted endplates and the landmark residual."""
    wanted = {**{(side, k): v for side, values in zip(SIDES, (superior, inferior)) for k, v in values.items()},
              ("body", "height_mm"): body_height_mm}
    asked = dict(wanted)
    brackets: dict[tuple[str, str], dict] = {key: {} for key in wanted}
    best: tuple[float, trimesh.Trimesh, dict[str, Endplate], float] | None = None
    for _ in range(CORRECTIONS + 1):
        requests = {side: {k: asked[side, k] for k in superior} for side in SIDES}
        mesh, residual = morph_vertebra(level, requests["superior"], requests["inferior"], asked["body", "height_mm"])
        if pose is not None:
            mesh.apply_transform(pose)
        try:
            found = {side: extract_endplate(mesh, side) for side in SIDES}
        except ParameterError:
            if best is None:
                raise
            break  # a correction went too far for the extraction: keep the best so far
        measured = {(side, k): v for side in SIDES for k, v in endplate_measures(found[side]).items()}
        measured["body", "height_mm"] = body_height(found["superior"], found["inferior"])
        chased = [key for key in wanted if key[1] in CORRECTED or key[0] == "body"]
        errors = np.array([abs(wanted[key] - measured[key]) / TOLERANCES[f"{key[0]}_{key[1]}" if key[0] == "body"
                                                                          else key[1]] for key in chased])
        # every measure counts until good enough; one the morph cannot reach (beyond HOPELESS) does not decide
        score = float(np.sum(np.clip(errors, GOOD_ENOUGH, HOPELESS) ** 2))
        if best is None or score < best[0]:
            best = (score, mesh, found, residual)
        if errors.max() <= GOOD_ENOUGH:
            break
        for key in chased:  # never more than MAX_ASK_CHANGE from the wanted value (a jump is not a slope)
            reach = MAX_ASK_CHANGE * abs(wanted[key])
            asked[key] = float(np.clip(_next_ask(asked[key], wanted[key] - measured[key], brackets[key]),
                                       wanted[key] - reach, wanted[key] + reach))
        for side in SIDES:
            asked[side, "concavity_mm"] = max(asked[side, "concavity_mm"], 0.05)
    return best[1], best[2], best[3]


@dataclass(frozen=True, eq=False)
class PatientSegment:
    """A patient's two vertebrae (patient frame, mm) placed around the requested disc."""

    patient: Patient
    upper_mesh: trimesh.Trimesh
    lower_mesh: trimesh.Trimesh
    disc: DiscSpace                 # from the facing endplates of the final meshes
    max_residual_mm: float          # largest landmark residual of the two morphs


def _placed(patient: Patient, disc: DiscSpace) -> bool:
    """Whether ``disc`` has the patient's disc height and angles within a tenth of the tolerances."""
    return all(abs(getattr(patient, f"disc_{name}") - getattr(disc, name)) <= 0.1 * TOLERANCES[f"disc_{name}"]
               for name in ("height_mm", "sagittal_deg", "coronal_deg"))


def placement(patient: Patient, upper: Endplate, lower: Endplate, pose: np.ndarray | None = None
              ) -> tuple[np.ndarray, DiscSpace]:
    """The rigid move (4×4, patient frame) of the upper vertebra, whose inferior endplate is
    ``upper``, that gives the disc over ``lower`` the patient's height and angles, and that disc
    space. Starts from ``pose`` (default: the endplates' centroids the disc height apart) lifted
    by :data:`START_CLEARANCE_MM` and turns about the disc-space axes, the endplate moved rigidly
    (no re-extraction)."""
    if pose is None:
        pose = np.eye(4)
        pose[:3, 3] = lower.centroid + lower.normal * patient.disc_height_mm - upper.centroid
    # lifted clear first: a start where the vertebrae overlap has no disc space to measure
    rotation, translation = pose[:3, :3], pose[:3, 3] + lower.normal * START_CLEARANCE_MM
    disc = disc_space(moved_endplate(upper, rotation, translation), lower)
    for _ in range(PLACEMENT_STEPS):
        if _placed(patient, disc):
            break
        turn = (rotation_matrix(disc.frame.axes[1], -(patient.disc_sagittal_deg - disc.sagittal_deg))
                @ rotation_matrix(disc.frame.axes[0], patient.disc_coronal_deg - disc.coronal_deg))
        pivot = disc.frame.origin
        rotation = turn @ rotation
        translation = turn @ (translation - pivot) + pivot
        translation = translation + disc.frame.axes[2] * (patient.disc_height_mm - disc.height_mm)
        disc = disc_space(moved_endplate(upper, rotation, translation), lower)
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    return matrix, disc


def patient_segment(patient: Patient) -> PatientSegment:
    """Morph the region's two packaged vertebrae to ``patient`` and place the upper one so the
    disc has the requested height and angles (see the module docstring): the lower vertebra is
    fitted where it is; a first morph of the upper one gives its pose, in which it is then fitted
    (measured) and finally placed by a small rigid correction."""
    (upper_level, lower_level), wants = patient.levels, {}
    for vertebra in ("upper", "lower"):
        wants[vertebra] = (patient.endplate(vertebra, "superior"), patient.endplate(vertebra, "inferior"),
                           getattr(patient, f"{vertebra}_body_height_mm"))
    lower, lower_endplates, lower_residual = fitted_vertebra(lower_level, *wants["lower"])
    first, _ = morph_vertebra(upper_level, *wants["upper"])
    pose, _ = placement(patient, extract_endplate(first, "inferior"), lower_endplates["superior"])
    upper, upper_endplates, upper_residual = fitted_vertebra(upper_level, *wants["upper"], pose=pose)
    correction, disc = placement(patient, upper_endplates["inferior"], lower_endplates["superior"], np.eye(4))
    upper.apply_transform(correction)
    return PatientSegment(patient, upper, lower, disc, float(max(upper_residual, lower_residual)))


def measure_segment(upper_mesh: trimesh.Trimesh, lower_mesh: trimesh.Trimesh) -> dict[str, float]:
    """Every :class:`~.patient.Patient` field except ``region_lordosis_deg``, measured on the meshes
    (four fresh endplate extractions and their disc space)."""
    values: dict[str, float] = {}
    endplates = {}
    for vertebra, mesh in (("upper", upper_mesh), ("lower", lower_mesh)):
        for side in SIDES:
            endplates[vertebra, side] = extract_endplate(mesh, side)
            values.update({f"{vertebra}_{side}_{k}": v for k, v in endplate_measures(endplates[vertebra, side]).items()})
        values[f"{vertebra}_body_height_mm"] = body_height(endplates[vertebra, "superior"],
                                                            endplates[vertebra, "inferior"])
    disc = disc_space(endplates["upper", "inferior"], endplates["lower", "superior"])
    values.update(disc_height_mm=disc.height_mm, disc_sagittal_deg=disc.sagittal_deg,
                  disc_coronal_deg=disc.coronal_deg)
    return values
