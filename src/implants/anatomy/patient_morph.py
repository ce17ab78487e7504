"""A synthetic patient's vertebrae: a packaged vertebra deformed to a :class:`~.patient.Patient`'s
endplates and body height, fitted until it measures back, and the rigid placement of the upper
vertebra of a segment over the lower (layer: anatomy).

Frames: the packaged level's patient frame (+x anterior, +y patient-left, +z superior, mm);
each endplate's local frame is the one :func:`~.endplates.extract_endplate` reports (x anterior,
y patient-left, z along the mean normal towards patient +z).

**Base** (:func:`base_vertebra`): the packaged level, except the C5 of a cervical patient, which is
the packaged C6 morphed (:data:`MORPHED_FROM`; docs/patients.md): the labels, file names and
columns say C5 and the requests are C5's, only the starting mesh is C6's.

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
requests corrected (regula falsi per measure) until they measure back within tolerance: the
concavities and the body height by re-morphing, the widths and depths by a smooth stretch of each
end of the body in the endplate plane (:meth:`BaseVertebra.rescaled`), which moves the extracted
rim in proportion where re-morphing the rim landmarks reshapes it.

**Placement** (:func:`placement`): rotations about the disc-space frame's y and x axes and a
shift along its z, until :func:`~.disc_space.disc_space` of the facing endplates, moved rigidly,
gives the requested disc height and angles; :mod:`.patient_segment` places and measures the pair.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np
import trimesh

from ..errors import ParameterError
from ..geometry.frames import angle_between_deg, rotation_matrix
from ..geometry.local_frame import Frame
from . import packaged
from .disc_space import disc_pose
from .endplates import UPRIGHT_DEG, Endplate, extract_endplate
from .morph import ThinPlateMap, smoothstep
from .patient import SIDES, Patient
from .patient_landmarks import (
    EndplateSource,
    EndplateTarget,
    body_axis,
    body_height,
    endplate_measures,
    endplate_source,
)

#: Arch (posterior elements) landmarks per vertebra.
ARCH_POINTS = 40
#: Most iterations of the rigid placement of the upper vertebra (it stops once within a tenth of
#: the tolerances).
PLACEMENT_STEPS = 5
#: The placement starts this much (mm) further from the lower vertebra than its starting pose.
START_CLEARANCE_MM = 4.0
#: The width/depth stretch of an endplate (:meth:`BaseVertebra.rescaled`) ramps from none to full
#: between these heights (fractions of the half body height from the body centre towards it).
END_SCALE_RAMP = (-0.3, 0.5)


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
    def end_boxes(self) -> dict[str, np.ndarray]:
        """Per endplate, its outline's box centre (x, y in :attr:`arch_frame`, mm; :meth:`rescaled`)."""
        rims = {side: self.arch_frame.to_local(getattr(self, side).outline)[:, :2] for side in SIDES}
        return {side: (rim.min(axis=0) + rim.max(axis=0)) / 2 for side, rim in rims.items()}

    def rescaled(self, vertices: np.ndarray, scales: dict[str, np.ndarray], half_height_mm: float) -> np.ndarray:
        """``vertices`` (patient frame, mm) of a morph of this vertebra stretched in the endplate plane
        (:attr:`arch_frame` x, y) by ``scales[side]`` = (AP, ML) factors about each endplate's box
        centre, in full from :data:`END_SCALE_RAMP` [1] × ``half_height_mm`` towards that end, none
        beyond [0]: smooth, no fold for factors near 1, every rim vertex moved in proportion."""
        local = self.arch_frame.to_local(vertices)
        t = local[:, 2] / half_height_mm
        change = np.zeros((len(local), 2))
        for side, sign in zip(SIDES, (1.0, -1.0)):
            weight = smoothstep(sign * t, *END_SCALE_RAMP)
            change += (local[:, :2] - self.end_boxes[side]) * (np.asarray(scales[side]) - 1.0) * weight[:, None]
        local[:, :2] += change
        return self.arch_frame.to_patient(local)

    @cached_property
    def spline(self) -> ThinPlateMap:
        """The thin-plate spline of :attr:`source_landmarks` at the mesh vertices (and the landmarks)."""
        return ThinPlateMap(self.source_landmarks, np.vstack([self.mesh.vertices, self.source_landmarks]))


#: Levels morphed from another packaged level: the packaged C5's superior endplate is a dozen large
#: triangles whose extraction takes in the uncinate bases (21 mm wide with them, ~14.5 mm without,
#: nothing between), too coarse to be morphed to a measured size; C6, a subaxial vertebra of the
#: same shape, extracts cleanly (docs/patients.md).
MORPHED_FROM = {"C5": "C6"}


@lru_cache(maxsize=8)
def base_vertebra(level: str) -> BaseVertebra:
    """The packaged ``level`` (or the level it is :data:`MORPHED_FROM`) with its endplates (extracted
    once per process; its landmarks and spline operator are built on first use)."""
    mesh = packaged.load(MORPHED_FROM.get(level, level))
    return BaseVertebra(level, mesh, extract_endplate(mesh, "superior"), extract_endplate(mesh, "inferior"))


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
RESHAPED = ("concavity_mm",)  # corrected by re-morphing (widths, depths: BaseVertebra.rescaled)
#: A fit is good enough when every chased measure is within this fraction of its tolerance (the
#: kept step is not moved after it is measured, so what it measures is what is measured back).
GOOD_ENOUGH = 0.9
#: Largest change of a request by the corrections, a fraction of the wanted value.
MAX_ASK_CHANGE = 0.25
#: In choosing the best step, a measure off by more than this many tolerances counts as this many.
HOPELESS = 3.0
#: The disc measures (fields ``disc_<name>``) the upper vertebra is placed to, and their tolerances.
DISC_MEASURES = ("height_mm", "sagittal_deg", "coronal_deg")
DISC_TOLERANCES = np.array([TOLERANCES[f"disc_{name}"] for name in DISC_MEASURES])
#: Most corrections of a vertebra; fewer after PATIENCE steps in a row that did not beat the best.
CORRECTIONS, PATIENCE = 4, 3
IDENTITY = np.eye(4)
#: A packaged vertebra's up direction in its own frame (the endplate extraction's default).
UP = np.array([0.0, 0.0, 1.0])


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


def leans(base: BaseVertebra, pose: np.ndarray) -> bool:
    """Whether ``base`` moved by ``pose`` (4×4) leans beyond :data:`~.endplates.UPRIGHT_DEG` (a
    synthetic C5 placed on its C6 leans 25–37°; lumbar vertebrae stay within ~15°)."""
    return angle_between_deg(pose[:3, :3] @ base.axis, UP) > UPRIGHT_DEG


def extraction_up(pose: np.ndarray, leaning: bool) -> np.ndarray:
    """The up direction to extract a vertebra's endplates with: patient +z (the default, as the base
    was extracted), or for a ``leaning`` vertebra (:func:`leans` in the pose its fit starts from,
    decided once by the caller so the extraction does not switch between steps) the base's +z turned
    by ``pose``."""
    return pose[:3, :3] @ UP if leaning else UP


def fitted_vertebra(level: str, superior: dict[str, float], inferior: dict[str, float], body_height_mm: float,
                    pose: np.ndarray | None = None, placed_on: tuple[Patient, Endplate] | None = None,
                    leaning: bool = False) -> tuple[trimesh.Trimesh, dict[str, Endplate], float, np.ndarray]:
    """:func:`morph_vertebra`, moved by ``pose`` (4×4, patient frame; default none), measured in
    that pose and corrected (module docstring; :func:`_next_ask`; after a step with worse endplates
    or body than the best one's, halfway back to its requests; a worse disc alone is re-placed) until
    every measure is within :data:`GOOD_ENOUGH` of its tolerance, or nothing changes, or after
    :data:`CORRECTIONS` steps or :data:`PATIENCE`; the best step wins.
    ``placed_on`` (patient, the lower vertebra's superior endplate): the disc counts as a measure
    too, and after each step the pose is corrected by :func:`placement`.
    The endplates are extracted with :func:`extraction_up` of each step's pose and ``leaning``
    (:func:`leans` of the starting pose, decided by the caller). Returns the posed mesh,
    its extracted endplates, the landmark residual and the pose (4×4; identity without ``pose``)."""
    wanted = {**{(side, k): v for side, values in zip(SIDES, (superior, inferior)) for k, v in values.items()},
              ("body", "height_mm"): body_height_mm}
    asked = dict(wanted)
    brackets: dict[tuple[str, str], dict] = {key: {} for key in wanted}
    steps: list[tuple[np.ndarray, trimesh.Trimesh, dict[str, Endplate], float, dict, np.ndarray]] = []
    base, reshaped, hopeless, frozen = base_vertebra(level), None, set(), set()
    pose = IDENTITY if pose is None else pose
    for _ in range(CORRECTIONS + 1):
        shape = tuple(asked[side, k] for side in SIDES for k in RESHAPED) + (asked["body", "height_mm"],)
        if shape != reshaped:  # widths and depths alone need no re-morph, only a new stretch
            reshaped = shape
            morphed, residual = morph_vertebra(level, superior | {k: asked["superior", k] for k in RESHAPED},
                                               inferior | {k: asked["inferior", k] for k in RESHAPED},
                                               asked["body", "height_mm"])
        scales = {side: np.array([asked[side, k] / wanted[side, k] for k in ("depth_mm", "width_mm")])
                  for side in SIDES}
        mesh = trimesh.Trimesh(base.rescaled(morphed.vertices, scales, asked["body", "height_mm"] / 2),
                               morphed.faces, process=False)
        mesh.apply_transform(pose)
        try:
            found = {side: extract_endplate(mesh, side, extraction_up(pose, leaning)) for side in SIDES}
        except ParameterError:
            if not steps:
                raise
            break  # a correction went too far for the extraction: keep the best so far
        measured = {(side, k): v for side in SIDES for k, v in endplate_measures(found[side]).items()}
        measured["body", "height_mm"] = body_height(found["superior"], found["inferior"])
        chased = [key for key in wanted if key[1] in CORRECTED or key[0] == "body"]
        errors = np.array([abs(wanted[key] - measured[key]) / TOLERANCES[f"{key[0]}_{key[1]}" if key[0] == "body"
                                                                          else key[1]] for key in chased])
        if placed_on is not None:  # the disc this pose gives counts too; the next step is placed anew
            patient, lower = placed_on
            disc_misses = np.abs(disc_errors(patient, found["inferior"], lower)[1]) / DISC_TOLERANCES
            errors = np.append(errors, disc_misses)
            correction = IDENTITY if (disc_misses <= 0.1).all() else placement(patient, found["inferior"], lower,
                                                                               np.eye(4))
        # a measure beyond HOPELESS twice in a row is out of the morph's reach: its request stays (chasing it
        # distorts the bone until the extraction fails); an endplate whose extent is out of reach is not the
        # endplate, so none of its measures, nor the body height, decide any more
        frozen |= hopeless & (hopeless := {key for key, error in zip(chased, errors) if error > HOPELESS})
        lost = {key[0] for key in frozen if key[1] in ("width_mm", "depth_mm")}
        counted = np.array([key[0] not in lost and not (lost and key[0] == "body") for key in chased]
                           + [True] * (len(errors) - len(chased)))
        steps.append((errors, mesh, found, residual, dict(asked), pose.copy()))
        shapes = [e[:len(chased)][counted[:len(chased)]] for e, *_ in steps]
        ranks = [(int(np.sum(e[len(chased):] > 1.0)), int(np.sum(shape > 1.0)),
                  float(np.sum(np.clip(shape, GOOD_ENOUGH, HOPELESS) ** 2))) for (e, *_), shape in zip(steps, shapes)]
        best = steps[(best_index := min(range(len(steps)), key=ranks.__getitem__))]  # disc, fewest out, squares
        since_best = len(steps) - 1 - best_index
        if errors[counted].max() <= GOOD_ENOUGH or since_best == PATIENCE:
            break
        before = dict(asked)
        for key, error in zip(chased, errors[:len(chased)]):  # never more than MAX_ASK_CHANGE from the wanted value
            if ranks[-1][1:] > ranks[best_index][1:]:  # a worse shape than the best step's (a jump, not a slope;
                asked[key] = (asked[key] + best[4][key]) / 2  # a worse disc alone is re-placed): halfway back
            elif error > GOOD_ENOUGH and key not in frozen:
                reach = MAX_ASK_CHANGE * abs(wanted[key])
                asked[key] = float(np.clip(_next_ask(asked[key], wanted[key] - measured[key], brackets[key]),
                                           wanted[key] - reach, wanted[key] + reach))
        for side in SIDES:
            asked[side, "concavity_mm"] = max(asked[side, "concavity_mm"], 0.05)
        if asked == before and (placed_on is None or correction is IDENTITY):
            break  # nothing left to change: the next step would repeat this one
        if placed_on is not None:  # a new body height moves the inferior end by half its change: lift by that
            pose = correction @ pose
            pose[:3, 3] += pose[:3, :3] @ base.axis * (asked["body", "height_mm"] - before["body", "height_mm"]) / 2
    return best[1], best[2], best[3], best[5]


def disc_errors(patient: Patient, upper: Endplate, lower: Endplate) -> tuple[Frame, np.ndarray]:
    """The disc frame of the endplates and the patient's :data:`DISC_MEASURES` minus theirs (mm, deg)."""
    frame, *measures = disc_pose(upper, lower)
    return frame, np.array([getattr(patient, f"disc_{name}") for name in DISC_MEASURES]) - measures


def placement(patient: Patient, upper: Endplate, lower: Endplate, pose: np.ndarray | None = None) -> np.ndarray:
    """The rigid move (4×4, patient frame) of the upper vertebra, whose inferior endplate is
    ``upper``, that gives the disc over ``lower`` the patient's height and angles within a tenth
    of the tolerances. Starts from ``pose`` (default: the endplates' centroids the disc height
    apart) lifted by :data:`START_CLEARANCE_MM` and turns about the disc-space axes, the endplate
    moved rigidly (no re-extraction)."""
    if pose is None:
        pose = np.eye(4)
        pose[:3, 3] = lower.centroid + lower.normal * patient.disc_height_mm - upper.centroid
    rotation, translation = pose[:3, :3], pose[:3, 3] + lower.normal * START_CLEARANCE_MM
    for _ in range(PLACEMENT_STEPS + 1):
        frame, (height, sagittal, coronal) = disc_errors(patient, moved_endplate(upper, rotation, translation), lower)
        if (np.abs([height, sagittal, coronal]) <= 0.1 * DISC_TOLERANCES).all():
            break
        turn = rotation_matrix(frame.axes[1], -sagittal) @ rotation_matrix(frame.axes[0], coronal)
        rotation = turn @ rotation
        translation = turn @ (translation - frame.origin) + frame.origin + frame.axes[2] * height
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    return matrix
