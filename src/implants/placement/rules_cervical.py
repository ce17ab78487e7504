"""Scene rules of the cervical implants (layer: placement): the upper cervical docking implant (Fig. 4),
the C1–C2 transarticular template (Fig. 5), the distraction spacers (Fig. 7) and the anterior plate
(Fig. 9), on the packaged cervical set (C1–C7 of one adult, in their anatomical relation; :mod:`.bones`).

Stacked segments (C1–C2, C1–C3, C4–C6 ...) keep the set's own relation (:func:`~.bones.place_with`)
and are moved together; the templates whose frame is the patient frame (transarticular template,
anterior plate) keep the set's orientation, the implants standing on an endplate are posed on it.
Implant frame = scene frame; patient axes, mm.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from ..geometry.frames import rotation_matrix
from .bones import (
    Bone,
    body_frame,
    endplate_frame,
    endplate_pose,
    frame_matrix,
    is_available,
    native_mesh,
    place,
    place_with,
    translation,
)
from .poses import RESECTED_OPACITY, SceneLayout, approach, contact_mesh, implant_mesh
from .rules_column import DISC_FREEDOMS, between, face_ups
from .search import Freedom, measured_areas, seat_search

if TYPE_CHECKING:
    from ..model import Implant

#: C1's anterior arch: the C1 vertices within this distance (mm) of the midline, in the anterior quarter
ARCH_HALF_WIDTH_MM = 4.0
#: the segment under an anterior plate: turned about the plate's centre (sagittal ±10°: the segment's
#: lordosis against the plate's contour; coronal and axial ±4°) and moved ±4 mm cranio-caudally
PLATE_FREEDOMS = (Freedom((0, 1, 0), 10.0, 4.0), Freedom((1, 0, 0), 4.0, 2.0), Freedom((0, 0, 1), 4.0, 2.0),
                  Freedom((0, 0, 1), 4.0, 2.0, turn=False))
#: the facet joint: the lower vertebra's surface within this distance (mm) of the upper one (packaged relation)
FACET_GAP_MM = 2.0
#: a facet spacer farther than this (mm) from the real joint is said so in the note
FACET_MISS_MM = 3.0
#: the lower vertebra under a docking implant's base: tilted about the base centre (sagittal ±8°,
#: coronal ±6°: the fused C2–C3 segment's range is ~10° flexion-extension, White & Panjabi) and moved
#: ±3 mm AP and ±2 mm sideways (the base stays on the endplate, 15–17 mm deep and wide)
BASE_FREEDOMS = (Freedom((0, 1, 0), 8.0, 4.0), Freedom((1, 0, 0), 6.0, 3.0),
                 Freedom((1, 0, 0), 3.0, 1.5, turn=False), Freedom((0, 1, 0), 2.0, 1.0, turn=False))
#: C1 over the saddle: turned about the arch bottom (sagittal ±12°: C1's tilt to the C3 endplate varies
#: by about that with head posture; axial ±8°, coronal ±4°) and moved ±2 mm AP (within the groove)
ARCH_FREEDOMS = (Freedom((0, 1, 0), 12.0, 4.0), Freedom((0, 0, 1), 8.0, 4.0), Freedom((1, 0, 0), 4.0, 2.0),
                 Freedom((1, 0, 0), 2.0, 1.0, turn=False))


def _value(field) -> str:
    return getattr(field, "value", str(field))


def _local_points(bone: Bone, points: np.ndarray) -> np.ndarray:
    """``points`` (scene frame) in the bone's body frame."""
    inv = np.linalg.inv(bone.frame)
    return points @ inv[:3, :3].T + inv[:3, 3]


def _anterior_arch_bottom(c1: Bone) -> np.ndarray:
    """Scene point under the middle of C1's anterior arch (its lowest point near the midline, anterior quarter)."""
    local = _local_points(c1, c1.mesh.vertices)
    x0, x1 = local[:, 0].min(), local[:, 0].max()
    arch = (np.abs(local[:, 1]) < ARCH_HALF_WIDTH_MM) & (local[:, 0] > x1 - 0.25 * (x1 - x0))
    return c1.mesh.vertices[arch][np.argmin(c1.mesh.vertices[arch][:, 2])]


def upper_cervical_docking(implant: "Implant") -> SceneLayout:
    """Fig. 4: body replacing C2 standing on the superior endplate of C3 (or C4, C5, T1), its docking site
    under the C1 anterior arch (saddle), the T crossbar in front of C1, or the clivus plate against C0;
    C1 keeps its anatomical relation to the lower vertebra (cervical set) and is moved onto the implant."""
    p = implant.params
    docking = _value(p.docking)
    lower = _value(p.lower_vertebra).upper()
    seat = float(implant.metrics.get("seat_height_mm", p.height_mm or 20.0))
    mesh = implant_mesh(implant)
    if docking == "lateral-mass":
        return _lateral_mass(implant, mesh)
    base = place(lower, endplate_pose(lower, np.eye(4), "superior"))
    approach([base], mesh, (0, 0, 1))
    bottom = (0.0, 0.0, float(mesh.bounds[0, 2]))
    (base,), _ = seat_search([base], mesh, (0, 0, 1), bottom, BASE_FREEDOMS)
    bones = [base]
    note = f"standing on {lower} (C2 resected)"
    c1_pose = (base.frame @ np.linalg.inv(body_frame(lower)) @ body_frame("C1") if base.name.startswith("C")
               else frame_matrix((0, 0, 0), (0, 0, 1)))
    c1 = place("C1", c1_pose)
    if docking == "c0-plate":
        if is_available("C0"):
            c0 = place_with(["C0"], "C1", c1.frame)[0]
            _over(c0, _anterior_arch_bottom(c1), (0.0, 0.0, seat + 15.0))
            approach([c0], mesh, (0, 0, -1))
            bones.append(c0)
            note += "; C1 removed, the plate docks on C0"
        else:
            note += "; C1 removed, docking on C0 (occiput not packaged)"
        return SceneLayout(bones, note=note, figure="Fig. 4")
    if docking == "t-expansion":  # C1 behind the crossbar, resting on the body
        _over(c1, _anterior_arch_bottom(c1), (float(p.saddle_offset_x_mm) - 25.0, 0.0, seat + 2.0))
        approach([c1], mesh, (1, 0, 0))
        approach([c1], mesh, (0, 0, -1))
        note += ", T crossbar on the anterior surface of C1"
    else:
        arch = _anterior_arch_bottom(c1)
        _over(c1, arch, (float(p.saddle_offset_x_mm), 0.0, seat + 5.0))
        approach([c1], mesh, (0, 0, -1))
        (c1,), turned = seat_search([c1], mesh, (0, 0, -1), _anterior_arch_bottom(c1), ARCH_FREEDOMS)
        note += (", docked under the C1 anterior arch (C1 turned {:+.0f}° sagittal, {:+.0f}° axial, "
                 "{:+.0f}° coronal, {:+.1f} mm AP to seat)").format(*turned)
    bones.append(c1)
    return SceneLayout(bones, note=note, figure="Fig. 4")


def _over(bone: Bone, point: np.ndarray, target) -> None:
    """Translate ``bone`` so that its scene ``point`` lands on ``target``."""
    bone.shift(np.asarray(target, float) - point)


def _lateral_mass(implant: "Implant", mesh: trimesh.Trimesh) -> SceneLayout:
    """The lateral-mass prosthesis standing on C2's superior facet; C1 (whose lateral mass it replaces)
    drawn faint in its anatomical relation to C2."""
    p = implant.params
    side = 1.0 if _value(p.side) == "left" else -1.0
    c2, c1 = place_with(["C2", "C1"], "C2", frame_matrix((0, 0, 0), (0, 0, 1)))
    v = c2.mesh.vertices
    facet = v[(side * v[:, 1] > 8.0) & (c2.mesh.vertex_normals[:, 2] > 0.7)]
    top = facet[facet[:, 2] > np.percentile(facet[:, 2], 70)].mean(axis=0)
    for bone in (c2, c1):
        bone.shift((-top[0], side * float(p.lateral_offset_mm) - top[1], -5.0 - top[2]))
    approach([c2, c1], contact_mesh(implant, "contact.inferior"), (0, 0, 1))
    c1.opacity = RESECTED_OPACITY
    return SceneLayout([c2, c1], note=f"C1 lateral-mass prosthesis on the {_value(p.side)} C2 superior facet "
                                      "(C1 faint: its lateral mass is replaced)", figure="Fig. 4")


def transarticular_template(implant: "Implant") -> SceneLayout:
    """Fig. 5: template on the posterior arches of C1 and C2 (cervical set, their own relation and axes:
    the template's defaults were measured on them), C1's posterior arch brought to the template's arch
    offset, then both moved back (−x) onto the template."""
    p = implant.params
    c1, c2 = place_with(["C1", "C2"], "C1", body_frame("C1"))
    v = c1.mesh.vertices
    mid = v[np.abs(v[:, 1]) < 1.5]
    back = mid[mid[:, 0] < mid[:, 0].min() + 3.0]
    point = np.array([back[:, 0].min(), 0.0, 0.5 * (back[:, 2].min() + back[:, 2].max())])
    for bone in (c1, c2):
        _over(bone, point, (float(p.arch_offset_x_mm) + 6.0, 0.0, float(p.arch_offset_z_mm)))
    approach([c1, c2], contact_mesh(implant, "contact.arch"), (-1, 0, 0))
    return SceneLayout([c1, c2], note="on the posterior arch of C1 and C2 (guide tubes on the Magerl trajectories)",
                       figure="Fig. 5", view="posterior-iso")


def distraction_spacer(implant: "Implant") -> SceneLayout:
    """Fig. 7: unilateral interbody and facet spacers on the concave side of a cervical level: the level's
    endplates on the interbody spacer's faces, the upper vertebra tilted by the coronal angle."""
    p = implant.params
    upper, lower = _value(p.level).split("-")
    side = 1.0 if _value(p.side) == "left" else -1.0
    bones = between(upper, lower, p.distraction_height_mm, face_ups(0.0, side * p.coronal_deg),
                    contact_mesh(implant, "contact.interbody"))
    whole = implant_mesh(implant)
    approach(bones[:1], whole, (0, 0, -1))  # the upper vertebra rests on whichever spacer it meets first
    top = np.asarray(implant.features["interbody.centre"].origin) + (0.0, 0.0, p.distraction_height_mm / 2)
    bones[:1], _ = seat_search(bones[:1], whole, (0, 0, -1), top, DISC_FREEDOMS)
    note = f"{upper}–{lower}, {_value(p.side)} (concave) side distracted"
    if len(bones) == 2:
        joint = facet_joint(upper, lower, side, bones[1])
        facet = np.asarray(implant.features["facet.centre"].origin)
        miss = float(np.linalg.norm(joint - facet))
        if miss > FACET_MISS_MM:
            note += (f"; the facet spacer lies {miss:.0f} mm from the real {upper}/{lower} facet joint (at "
                     f"x {joint[0]:.0f}, y {joint[1]:.0f}, z {joint[2]:.0f} mm: facet_x_mm, facet_y_mm, facet_z_mm)")
    return SceneLayout(bones, note=note, figure="Fig. 7")


@cache
def _packaged_facet_joint(upper: str, lower: str, side: float) -> np.ndarray:
    """:func:`facet_joint` in ``lower``'s packaged coordinates (mm; cached: the packaged meshes never move)."""
    up, low = native_mesh(upper), native_mesh(lower)
    gap, _ = cKDTree(up.vertices).query(low.vertices)
    own = endplate_frame(lower, "superior")
    local = low.vertices @ np.linalg.inv(own)[:3, :3].T + np.linalg.inv(own)[:3, 3]
    return low.vertices[(gap < FACET_GAP_MM) & (side * local[:, 1] > 8.0) & (local[:, 0] < -9.0)].mean(axis=0)


def facet_joint(upper: str, lower: str, side: float, lower_bone: Bone) -> np.ndarray:
    """Scene point (mm) of the real facet joint between ``upper`` and ``lower`` on ``side`` (+1 left):
    the centre of the ``lower`` surface within :data:`FACET_GAP_MM` of ``upper`` in their packaged
    relation, behind the body and more than 8 mm from the midline, carried with ``lower_bone``."""
    move = lower_bone.frame @ np.linalg.inv(body_frame(lower))
    return move[:3, :3] @ _packaged_facet_joint(upper, lower, side) + move[:3, 3]


def anterior_plate(implant: "Implant") -> SceneLayout:
    """Fig. 9: plate on the anterior surface of the cervical bodies it spans (cervical set, own relation),
    the segment turned about the left-right axis so that the plate lies on most bodies, then brought
    forward (+x) onto the plate's bone face."""
    p = implant.params
    if _value(p.layout) == "subaxial":
        n = int(p.levels)
        first = max(3, 6 - (n + 1) // 2)
        spanned = [f"C{i}" for i in range(first, first + n)] if first + n <= 8 else [f"C{i}" for i in range(8 - n, 8)]
        note = f"on the anterior surface of {spanned[0]}–{spanned[-1]}"
        anchors = [spanned[0], spanned[-1]]
    else:
        spanned = ["C1", "C2", "C3"]
        note = "transoral: C1 lateral masses to the C2/C3 body (the dens, removed, still drawn)"
        anchors = ["C1", "C2"]
    bones = place_with(spanned, spanned[0], body_frame(spanned[0]))
    centres = {b.name: b.frame[:3, 3] for b in bones}
    # the plate's origin midway between its end hole rows: the end bodies' centres (subaxial); the C1
    # lateral masses 10 mm above it and the C2 body 10 mm below (transoral)
    a, b = centres[anchors[0]], centres[anchors[-1]]
    origin, axis = (a + b) / 2, a - b
    mesh, face = implant_mesh(implant), contact_mesh(implant, "contact.posterior")
    best = None
    for tilt in np.arange(-8.0, 8.1, 2.0):
        turn = np.eye(4)
        turn[:3, :3] = rotation_matrix((0.0, 1.0, 0.0), tilt) @ _upright(axis)
        move = turn @ translation(*(-origin))
        trial = [Bone(x.name, x.mesh.copy(), x.opacity, x.frame.copy()) for x in bones]
        for bone in trial:
            bone.move(move)
            bone.shift((-30.0, 0.0, 0.0))
        approach(trial, mesh, (1, 0, 0))
        score = _median_gap(face, trial)
        if best is None or score < best[0]:
            best = (score, trial)
    seated, _ = seat_search(best[1], mesh, (1, 0, 0), (0.0, 0.0, 0.0), PLATE_FREEDOMS, score=_spread)
    areas = [round(a) for a in measured_areas(mesh, seated)]
    if sum(a > 1 for a in areas) < 2:
        note += (f" (the preset's plate, curved for a straighter neck, meets only one of these bodies: "
                 f"contact {'/'.join(map(str, areas))} mm²)")
    return SceneLayout(seated, note=note, figure="Fig. 9")


def _spread(areas: list[float]) -> float:
    """Score of a plate's contact: the sum of the square roots of the areas per body (mm), so that
    touching two bodies beats touching one body with the same total."""
    return float(np.sqrt(np.maximum(areas, 0.0)).sum())


def _upright(axis: np.ndarray) -> np.ndarray:
    """3×3 rotation about the left-right axis (y) that turns ``axis`` (its x, z) onto +z."""
    angle = math.degrees(math.atan2(axis[0], axis[2]))
    return rotation_matrix((0.0, 1.0, 0.0), -angle)


def _median_gap(face: trimesh.Trimesh, bones: list[Bone]) -> float:
    """Median distance (mm, capped at 20) behind the plate's bone face to the bones along −x."""
    combined = trimesh.util.concatenate([b.mesh for b in bones])
    origins = face.triangles_center[::4]
    hits, index, _ = combined.ray.intersects_location(origins, np.tile([-1.0, 0, 0], (len(origins), 1)),
                                                      multiple_hits=False)
    gaps = np.full(len(origins), 20.0)
    gaps[index] = np.minimum(origins[index, 0] - hits[:, 0], 20.0)
    return float(np.median(gaps))

