"""The whole spine, occiput to pelvis, assembled from the packaged bones on a parametric sagittal
curve (layer: anatomy).

:func:`assemble` places every packaged bone of :data:`SPINE_LEVELS` (C0, C1 … C7, T1 … T12,
L1 … L5, sacrum, pelvis) in one frame: the frame of the Visible Human lumbosacral set (patient
frame: mm, +x anterior, +y left, +z superior), so the sacrum and the pelvis stay exactly where
that set has them. Going up from the sacrum, each bone is placed on the one below by their
endplates (:func:`implants.anatomy.endplates.extract_endplate`: centre and normal; the S1
endplate is the sacrum's surface under L5's inferior endplate): every disc has a height (the
distance between the endplate centres along the bisector of their normals) and a sagittal angle
(lordosis positive: the disc opens anteriorly). C1 and C0 move with C2 (the cervical set and the
occiput built on its C1 are already in anatomical position).

Each region's Cobb angle (:class:`SpineCurve`) is the sum of its bodies' own wedge angles
(fixed by the meshes) and its discs' angles. Within a real set (C2–C7 of the cone-beam-CT
subject, L1–S1 of the Visible Human) the discs keep their natural angles and heights and share
the difference between the requested and the natural total equally, so the natural curve is
reproduced exactly when asked for (:func:`natural_curve`). The thoracic discs (levels from
different frames) share the requested kyphosis less the thoracic bodies' wedges equally; the
junction discs C7/T1 and T12/L1 are parallel (0°, the neutral thoracolumbar junction of
DeWald 1992) with the thoracic disc height.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import trimesh
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.frames import rotation_matrix, unit
from .endplates import extract_endplate
from .packaged import data_file, load, sha256

CERVICAL = ("C2", "C3", "C4", "C5", "C6", "C7")
THORACIC = tuple(f"T{i}" for i in range(1, 13))
LUMBAR = ("L1", "L2", "L3", "L4", "L5", "sacrum")
#: Every bone of the assembled spine, cranial to caudal.
SPINE_LEVELS = ("C0", "C1") + CERVICAL + THORACIC + LUMBAR + ("pelvis",)
#: Bones that move rigidly with another (the set's own anatomical position is kept).
RIDES_ON = {"C0": "C2", "C1": "C2", "pelvis": "sacrum"}
#: The real sets whose bones share one frame: adjacent bones keep their natural relative pose.
REAL_SETS = (frozenset(CERVICAL), frozenset(LUMBAR))
#: Each region's Cobb angle: (lower endplate, upper endplate, +1 for a lordosis or −1 for a kyphosis).
COBB_ENDPLATES = {"cervical_lordosis_deg": (("C7", "inferior"), ("C2", "inferior"), 1.0),
                  "thoracic_kyphosis_deg": (("T12", "inferior"), ("T1", "superior"), -1.0),
                  "lumbar_lordosis_deg": (("sacrum", "superior"), ("L1", "superior"), 1.0)}
#: Endplate poses of the packaged bones with the fingerprints of their data, written by
#: ``tools/spine_endplates.py`` (finding 47 endplates takes ~15 s; reading them, milliseconds).
STORED_POSES = "spine_endplates.npz"


class SpineCurve(BaseModel):
    """The sagittal curve of the assembled spine: regional Cobb angles (deg) and disc heights (mm).

    Defaults are published means of asymptomatic adults (sources in docs/anatomy.md): cervical
    lordosis C2–C7 15° and thoracic kyphosis T1–T12 40° (AO Surgery Reference, "Sagittal spinal
    alignment"), lumbar lordosis 50° (49.8 ± 11.2° standing, 627 volunteers, Asian Spine J 2019,
    PMC6680033; it suits the Visible Human sacrum's 34° slope: the head stays over the pelvis).
    A disc height of ``None`` keeps the real set's own discs (cervical 1.4–4.5 mm, lumbar 8.2–11.7 mm)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    cervical_lordosis_deg: float = Field(15.0, ge=-20.0, le=50.0,
                                         description="C2–C7 Cobb angle, C2 to C7 inferior endplates (deg)")
    thoracic_kyphosis_deg: float = Field(40.0, ge=0.0, le=80.0,
                                         description="T1–T12 Cobb angle, T1 superior to T12 inferior endplate (deg)")
    lumbar_lordosis_deg: float = Field(50.0, ge=10.0, le=80.0,
                                       description="L1–S1 Cobb angle, L1 superior to S1 endplate (deg)")
    cervical_disc_height_mm: float | None = Field(None, ge=1.0, le=10.0,
                                                     description="C2/C3 … C6/C7 disc height; None: the real discs")
    thoracic_disc_height_mm: float = Field(7.0, ge=2.0, le=12.0,
                                           description="T1/T2 … T11/T12 (and C7/T1, T12/L1) disc height at the "
                                                       "centre (Kunkel et al. 2011: 4.5–7.2 mm, centre ~23 % more)")
    lumbar_disc_height_mm: float | None = Field(None, ge=4.0, le=18.0,
                                                   description="L1/L2 … L5/S1 disc height; None: the real discs")


@dataclass(frozen=True)
class EndplatePose:
    """An endplate reduced to its centre (mm) and the unit vector pointing cranially along its normal."""

    centre: np.ndarray
    up: np.ndarray

    def moved(self, transform: np.ndarray) -> EndplatePose:
        return EndplatePose(transform[:3, :3] @ self.centre + transform[:3, 3], transform[:3, :3] @ self.up)

    @property
    def sagittal_deg(self) -> float:
        """Tilt of ``up`` from +z towards anterior (+x), deg."""
        return float(np.degrees(np.arctan2(self.up[0], self.up[2])))


@dataclass(frozen=True)
class PlacedBone:
    """One bone of the assembled spine: its mesh and endplates in the assembled frame and the
    4×4 transform from its packaged frame."""

    name: str
    mesh: trimesh.Trimesh
    transform: np.ndarray
    superior: EndplatePose | None
    inferior: EndplatePose | None


@dataclass(frozen=True)
class Disc:
    """A disc space of the assembled spine: the bones above and below, angle (deg) and height (mm)."""

    upper: str
    lower: str
    angle_deg: float
    height_mm: float


@dataclass(frozen=True)
class Spine:
    """The assembled spine: bones cranial to caudal, discs cranial to caudal, the curve asked for."""

    curve: SpineCurve
    bones: tuple[PlacedBone, ...]
    discs: tuple[Disc, ...]

    def bone(self, name: str) -> PlacedBone:
        """The placed bone ``name``; ParameterError if it was not assembled."""
        for bone in self.bones:
            if bone.name == name:
                return bone
        raise ParameterError(f"spine level {name!r} was not assembled (assembled: {', '.join(b.name for b in self.bones)})")


def pose_inputs(name: str, side: str) -> tuple[str, ...]:
    """Packaged bones whose data an endplate pose is computed from (S1 needs L5 too)."""
    return ("sacrum", "L5") if (name, side) == ("sacrum", "superior") else (name,)


def pose_fingerprint(name: str, side: str) -> str:
    """sha256 over the data files of :func:`pose_inputs`: a stored pose is valid while it matches."""
    return hashlib.sha256("".join(sha256(n) for n in pose_inputs(name, side)).encode()).hexdigest()


@lru_cache(maxsize=1)
def _stored_poses() -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    path = data_file("sacrum").parent / STORED_POSES
    if not path.is_file():
        return {}
    with np.load(path) as data:
        return {str(k): (str(f), c, u) for k, f, c, u in zip(data["keys"], data["fingerprints"], data["centres"],
                                                             data["ups"])}


def computed_pose(name: str, side: str) -> EndplatePose:
    """The ``side`` endplate of a packaged bone in its packaged frame, found on its mesh."""
    if (name, side) == ("sacrum", "superior"):
        return _s1_endplate()
    endplate = extract_endplate(load(name), side)
    return EndplatePose(endplate.centroid, endplate.normal if side == "superior" else -endplate.normal)


@lru_cache(maxsize=None)
def endplate_pose(name: str, side: str) -> EndplatePose:
    """The ``side`` endplate of a packaged bone in its packaged frame: the stored pose while the
    bone's data is unchanged (:data:`STORED_POSES`), else :func:`computed_pose` (cached per process)."""
    stored = _stored_poses().get(f"{name}:{side}")
    if stored is not None and stored[0] == pose_fingerprint(name, side):
        return EndplatePose(np.asarray(stored[1], float), np.asarray(stored[2], float))
    return computed_pose(name, side)


def _s1_endplate() -> EndplatePose:
    """The sacrum's S1 endplate: its faces under L5's inferior endplate (same frame), facing it;
    area-weighted centre and normal. (The endplate finder, made for upright bodies, takes the
    sacral alae along with S1 at the sacrum's ~34° slope.)"""
    sacrum, l5 = load("sacrum"), extract_endplate(load("L5"), "inferior")
    local = l5.frame.to_local(sacrum.triangles_center)
    faces = (outlines.contains(l5.outline_local, local[:, :2]) & (sacrum.face_normals @ -l5.normal > 0.5)
             & (local[:, 2] < 0) & (local[:, 2] > -30.0))
    area = sacrum.area_faces[faces]
    return EndplatePose((sacrum.triangles_center[faces] * area[:, None]).sum(axis=0) / area.sum(),
                        unit((sacrum.face_normals[faces] * area[:, None]).sum(axis=0)))


def lordosis(lower: EndplatePose, upper: EndplatePose) -> float:
    """Sagittal angle (deg) between a lower and an upper endplate, lordosis positive."""
    return lower.sagittal_deg - upper.sagittal_deg


def disc_height(lower: EndplatePose, upper: EndplatePose) -> float:
    """Distance (mm) between two facing endplates' centres along the bisector of their normals."""
    return float((upper.centre - lower.centre) @ unit(lower.up + upper.up))


def _same_set(upper: str, lower: str) -> bool:
    return any(upper in s and lower in s for s in REAL_SETS)


def _body_wedges(names) -> float:
    return sum(lordosis(endplate_pose(n, "inferior"), endplate_pose(n, "superior")) for n in names)


def natural_disc_angles() -> dict[tuple[str, str], float]:
    """Natural angle (deg, lordosis positive) of every disc within a real set, keyed (upper, lower)."""
    pairs = list(zip(CERVICAL, CERVICAL[1:])) + list(zip(LUMBAR, LUMBAR[1:]))
    return {(u, l): lordosis(endplate_pose(l, "superior"), endplate_pose(u, "inferior")) for u, l in pairs}


def cobb_angles(pose_of) -> dict[str, float]:
    """Each region's Cobb angle (deg, :data:`COBB_ENDPLATES`) from ``pose_of(name, side)`` → EndplatePose."""
    return {key: sign * lordosis(pose_of(*lower), pose_of(*upper))
            for key, (lower, upper, sign) in COBB_ENDPLATES.items()}


def natural_curve() -> dict[str, float]:
    """The real sets' own Cobb angles (deg): cervical C2–C7 lordosis and lumbar L1–S1 lordosis."""
    angles = cobb_angles(endplate_pose)
    return {key: angles[key] for key in ("cervical_lordosis_deg", "lumbar_lordosis_deg")}


def disc_plan(curve: SpineCurve) -> list[tuple[str, str, float, float | None]]:
    """(upper, lower, angle deg, height mm or None for natural) of every disc, caudal to cranial."""
    natural, totals = natural_disc_angles(), natural_curve()
    plan = []
    for names, target, key, height in (
            (LUMBAR, curve.lumbar_lordosis_deg, "lumbar_lordosis_deg", curve.lumbar_disc_height_mm),
            (CERVICAL, curve.cervical_lordosis_deg, "cervical_lordosis_deg", curve.cervical_disc_height_mm)):
        pairs = list(zip(names, names[1:]))
        share = (target - totals[key]) / len(pairs)
        plan.append([(u, l, natural[(u, l)] + share, height) for u, l in pairs])
    thoracic_pairs = list(zip(THORACIC, THORACIC[1:]))
    share = (-curve.thoracic_kyphosis_deg - _body_wedges(THORACIC)) / len(thoracic_pairs)
    thoracic = [(u, l, share, curve.thoracic_disc_height_mm) for u, l in thoracic_pairs]
    lumbar, cervical = plan
    junction = curve.thoracic_disc_height_mm
    return (lumbar[::-1] + [("T12", "L1", 0.0, junction)] + thoracic[::-1] + [("C7", "T1", 0.0, junction)]
            + cervical[::-1])


def _translation(offset: np.ndarray) -> np.ndarray:
    transform = np.eye(4)
    transform[:3, 3] = offset
    return transform


def _rotation_about(point: np.ndarray, angle_deg: float) -> np.ndarray:
    """4×4 rotation about the patient y axis through ``point`` (positive tilts +z towards +x)."""
    rotation = np.eye(4)
    rotation[:3, :3] = rotation_matrix((0.0, 1.0, 0.0), angle_deg)
    return _translation(point) @ rotation @ _translation(-point)


def place_on(lower: EndplatePose, upper_own: EndplatePose, base: np.ndarray | None, angle_deg: float,
             height_mm: float | None) -> np.ndarray:
    """Transform of the upper bone so that its inferior endplate (``upper_own``, in its packaged
    frame) makes ``angle_deg`` (lordosis positive) with the lower bone's superior endplate
    ``lower`` (assembled frame), ``height_mm`` away along the bisector of their normals.

    ``base`` is the upper bone's natural pose (same set) or None: then it starts parallel and
    centred over ``lower``. Any other offset of the natural pose is kept; ``height_mm`` None
    keeps the natural height."""
    if base is None:
        turn = _rotation_about(np.zeros(3), lower.sagittal_deg - upper_own.sagittal_deg)
        base = _translation(lower.centre + lower.up * (height_mm or 0.0)) @ turn @ _translation(-upper_own.centre)
    upper = upper_own.moved(base)
    height = disc_height(lower, upper) if height_mm is None else height_mm
    turned = _rotation_about((lower.centre + upper.centre) / 2, lordosis(lower, upper) - angle_deg) @ base
    upper = upper_own.moved(turned)
    return _translation(unit(lower.up + upper.up) * (height - disc_height(lower, upper))) @ turned


def assemble(curve: SpineCurve | None = None, levels=SPINE_LEVELS) -> Spine:
    """The spine on ``curve`` (default: published means), bones of ``levels`` (default: all of
    :data:`SPINE_LEVELS`, cranial to caudal) in the assembled frame (Visible Human lumbosacral set's)."""
    curve = curve or SpineCurve()
    unknown = [name for name in levels if name not in SPINE_LEVELS]
    if unknown:
        raise ParameterError(f"spine levels {', '.join(map(repr, unknown))}: allowed {', '.join(SPINE_LEVELS)}")
    transforms = {"sacrum": np.eye(4)}
    discs = []
    for upper, lower, angle, height in disc_plan(curve):
        lower_pose = endplate_pose(lower, "superior").moved(transforms[lower])
        base = transforms[lower] if _same_set(upper, lower) else None
        transforms[upper] = place_on(lower_pose, endplate_pose(upper, "inferior"), base, angle, height)
        upper_pose = endplate_pose(upper, "inferior").moved(transforms[upper])
        discs.append(Disc(upper, lower, lordosis(lower_pose, upper_pose), disc_height(lower_pose, upper_pose)))
    for rider, carrier in RIDES_ON.items():
        transforms[rider] = transforms[carrier]
    bones = []
    for name in (n for n in SPINE_LEVELS if n in levels):
        mesh = load(name)
        mesh.apply_transform(transforms[name])
        sides = {side: endplate_pose(name, side).moved(transforms[name]) if has_endplate(name, side) else None
                 for side in ("superior", "inferior")}
        bones.append(PlacedBone(name, mesh, transforms[name], sides["superior"], sides["inferior"]))
    return Spine(curve, tuple(bones), tuple(discs[::-1]))


def has_endplate(name: str, side: str) -> bool:
    """Whether a spine bone has a vertebral body endplate on ``side``: C0, C1, the pelvis, C2's top
    (the dens) and the sacrum's bottom have none."""
    return name not in ("C0", "C1", "pelvis") and (name, side) not in (("C2", "superior"), ("sacrum", "inferior"))
