"""Scene rules of the implants that bear on endplates or lie on the lumbosacral spine (layer: placement):
the interbody cage (Fig. 6), the vertebral body replacement (Fig. 8), the bridge strut (Fig. 10) and
the monolithic lumbosacral construct (Fig. 11), on the packaged real bones (:mod:`.bones`).

Disc-space implants (:func:`between`): the lower vertebra's superior endplate frame and the upper
vertebra's inferior endplate frame are put on the implant's lower and upper faces (each tilted by half
the implant's sagittal and coronal angles), keeping the two endplates' anatomical offset when both
bones come from one source, then each bone is brought along its axis onto the implant
(:func:`~.poses.approach`) and seated within a few degrees and millimetres of that pose where it touches
most (:func:`~.search.seat_search`): the faces touch the endplates without interpenetration. Implant frame =
scene frame (the implant transform is the identity); patient axes, mm.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from ..anatomy import packaged
from ..implant_types import bridge_strut
from .bones import (
    Bone,
    anterior_reach_mm,
    body_frame,
    body_height_mm,
    endplate_frame,
    endplate_pose,
    frame_matrix,
    is_available,
    place,
    place_with,
    translation,
)
from .poses import (
    RESECTED_OPACITY,
    SceneLayout,
    approach,
    clear,
    contact_mesh,
    implant_mesh,
)
from .search import Freedom, seat_search

if TYPE_CHECKING:
    from ..model import Implant

#: cranial to caudal: the levels the scenes use (cervical set, generated thoracic levels, VHM lumbar set)
SPINE = (*(f"C{i}" for i in range(1, 8)), *(f"T{i}" for i in range(1, 13)), *(f"L{i}" for i in range(1, 6)))


#: each vertebra on a disc-space implant's face: turned about the face centre (±4° sagittal, ±3°
#: coronal: a face seats within a few degrees of its planned angle, as a cage settles into the endplate)
#: and moved ±2 mm AP and ±1.5 mm sideways (the cage's position on the endplate) to seat it best
DISC_FREEDOMS = (Freedom((0, 1, 0), 4.0, 2.0), Freedom((1, 0, 0), 3.0, 1.5),
                 Freedom((1, 0, 0), 2.0, 1.0, turn=False), Freedom((0, 1, 0), 1.5, 0.75, turn=False))


def face_ups(sagittal_deg: float, coronal_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) upward normals of an implant's faces that open anteriorly by ``sagittal_deg`` and
    to the left by ``coronal_deg`` (each face takes half of each angle)."""
    s, c = math.tan(math.radians(sagittal_deg / 2)), math.tan(math.radians(coronal_deg / 2))
    lower, upper = np.array([s, c, 1.0]), np.array([-s, -c, 1.0])
    return lower / np.linalg.norm(lower), upper / np.linalg.norm(upper)


def native_offset(upper: str, lower: str) -> np.ndarray:
    """(x, y) offset (mm) of ``upper``'s inferior endplate centroid from ``lower``'s superior one, in the
    lower endplate's frame, when both are of one source (their anatomical relation); else (0, 0)."""
    if packaged.LEVELS[upper].source != packaged.LEVELS[lower].source:
        return np.zeros(2)
    lo = endplate_frame(lower, "superior")
    return (np.linalg.inv(lo) @ endplate_frame(upper, "inferior")[:, 3])[:2]


def between(upper: str, lower: str, height_mm: float, ups: tuple[np.ndarray, np.ndarray],
            fixed: trimesh.Trimesh) -> list[Bone]:
    """[upper, lower] vertebrae on the faces of an implant ``height_mm`` tall at its origin whose faces
    have the upward normals ``ups`` = (lower, upper), brought along their axes onto ``fixed``. A level
    that is not packaged (yet) is left out."""
    up_lower, up_upper = ups
    both = is_available(upper) and is_available(lower)
    dx, dy = native_offset(upper, lower) / 2 if both else (0.0, 0.0)
    bones = []
    for level, end, sign, up in ((upper, "inferior", 1.0, up_upper), (lower, "superior", -1.0, up_lower)):
        if is_available(level):
            frame = frame_matrix((sign * dx, sign * dy, sign * height_mm / 2), up)
            bone = place(level, endplate_pose(level, frame, end))
            approach([bone], fixed, -sign * up)
            (bone,), _ = seat_search([bone], fixed, -sign * up, frame[:3, 3], DISC_FREEDOMS)
            bones.append(bone)
    return bones


def interbody_cage(implant: "Implant") -> SceneLayout:
    """Fig. 6: congruent cage between the Visible Human L4 and L5 endplates (C5–C6 of the cervical set
    for cervical presets); the cage's lordosis and coronal angle open the disc space."""
    p = implant.params
    region = getattr(getattr(p, "region", None), "value", "lumbar")
    upper, lower = ("C5", "C6") if region == "cervical" else ("L4", "L5")
    ups = face_ups(getattr(p, "lordosis_deg", 0.0), getattr(p, "coronal_deg", 0.0))
    bones = between(upper, lower, p.height_mm, ups, implant_mesh(implant))
    return SceneLayout(bones, note=f"{upper}–{lower} disc space", figure="Fig. 6")


#: first removed level of a vertebral body replacement per region
VBR_FIRST = {"cervical": "C5", "thoracic": "T7", "lumbar": "L2"}


def vertebral_body_replacement(implant: "Implant") -> SceneLayout:
    """Fig. 8: column after corpectomy between the vertebra above and below; the removed levels are omitted.
    Flanges lie on the anterior surfaces: the bodies slide back (−x) behind them."""
    p = implant.params
    region = getattr(p.region, "value", str(p.region))
    n = int(p.levels)
    first = SPINE.index(VBR_FIRST.get(region, "C5"))
    first = max(1, min(first, len(SPINE) - 1 - n))
    removed = SPINE[first:first + n]
    upper, lower = SPINE[first - 1], SPINE[first + n]
    height = float(implant.metrics.get("height_mm", p.height_mm or 0.0))
    angle = float(implant.metrics.get("lordosis_deg", p.lordosis_deg or 0.0))
    bones = between(upper, lower, height, face_ups(angle), contact_mesh(implant))
    if getattr(p.screw_fixation, "value", str(p.screw_fixation)) == "flange":
        whole = implant_mesh(implant)
        for bone in bones:
            clear([bone], whole, (-1, 0, 0))
    gone = removed[0] if n == 1 else f"{removed[0]}–{removed[-1]}"
    return SceneLayout(bones, note=f"{gone} body removed (corpectomy): column from {upper} to {lower}",
                       figure="Fig. 8")


def bridge_strut_rule(implant: "Implant") -> SceneLayout:
    """Fig. 10: strut over an osteolytic kyphotic span, platforms on the endplates of the unaffected
    vertebrae above and below; the bridged levels drawn faint along the strut, spaced by their heights."""
    g = bridge_strut.derive(implant.params)
    inf_level, sup_level = g.fixation_levels
    mesh = implant_mesh(implant)
    bones = []
    for level, end, sign, frame in ((sup_level, "inferior", -1.0, g.superior), (inf_level, "superior", 1.0, g.inferior)):
        if is_available(level):
            bone = place(level, endplate_pose(level, frame_matrix(frame.centre, frame.up, frame.anterior), end))
            approach([bone], mesh, sign * frame.up)
            bones.append(bone)
    bridged = [lv for lv in SPINE[SPINE.index(sup_level) + 1:SPINE.index(inf_level)] if is_available(lv)]
    bones += _along(g.centre_line, bridged)
    span = f"{bridged[0]}–{bridged[-1]} osteolytic (faint), " if bridged else ""
    return SceneLayout(bones, note=f"{span}fixed to {sup_level} and {inf_level}", figure="Fig. 10")


def _along(line: np.ndarray, levels: list[str]) -> list[Bone]:
    """Faint ``levels`` (cranial first) along the strut's centre ``line`` (inferior end first), each
    body centre on the line set back by half its anterior reach (about a quarter of its depth: the
    strut runs through the anterior column), spaced by their body heights scaled to the line's length."""
    if not levels:
        return []
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    heights = np.array([body_height_mm(lv) for lv in reversed(levels)])
    pitch = cum[-1] / len(levels)
    bones = []
    for k, level in enumerate(reversed(levels)):
        s = (k + 0.5) * pitch
        i = int(np.clip(np.searchsorted(cum, s), 1, len(line) - 1))
        tangent = line[i] - line[i - 1]
        centre = line[i - 1] + (s - cum[i - 1]) / max(cum[i] - cum[i - 1], 1e-9) * tangent
        pose = frame_matrix(centre, tangent)
        bone = place(level, pose @ translation(-0.5 * anterior_reach_mm(level)), RESECTED_OPACITY)
        scale = min(1.0, 0.9 * pitch / heights[k])  # faint bodies must not overlap where the span is short
        bone.mesh.apply_transform(bone.frame @ np.diag([scale, scale, scale, 1.0]) @ np.linalg.inv(bone.frame))
        bones.append(bone)
    return bones


def monolithic(implant: "Implant") -> SceneLayout:
    """Fig. 11: lumbosacral-iliac construct on the Visible Human L4, L5, sacrum and pelvis in their
    anatomical relation (patient axes kept): the template's origin on the dorsal sacral surface at the
    S1 level on the midline; the construct lies on the dorsal surfaces, the bones brought back onto it."""
    bones = place_with(("L4", "L5", "sacrum", "pelvis"), "sacrum", body_frame("sacrum"))
    sacrum = bones[2].mesh
    z = body_frame("sacrum")[2, 3]
    hits, _, _ = sacrum.ray.intersects_location([[sacrum.bounds[0, 0] - 10.0, 0.0, z]], [[1.0, 0.0, 0.0]],
                                                 multiple_hits=False)
    for bone in bones:
        bone.shift(-hits[0])
    approach(bones, implant_mesh(implant), (-1.0, 0.0, 0.0))
    variant = getattr(implant.params.variant, "value", str(implant.params.variant))
    note = "L4–sacrum and pelvis: " + ("S2 and two iliac screw seats" if variant == "lumbosacral-revision"
                                       else "hook on the iliac crest")
    return SceneLayout(bones, note=note, figure="Fig. 11", view="posterior-iso", focus=("L4", "L5"))
