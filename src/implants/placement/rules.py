"""Where each implant type sits against which bones (layer: placement): one rule per type, the
review figure it illustrates, and :func:`layout_for`. Used by the in-situ scenes (render) and the
printable demonstrators.

A rule ``(implant) -> SceneLayout`` gives the bones (patient frame) and the implant's 4×4
transform: it places the vertebrae roughly from the template's documented origin, then
:func:`~implants.placement.poses.settle` moves them along their axis until they touch the implant
or its bearing faces. The monolithic scene adds thin curved ilium proxies. The lumbar cage also has
a rule on real meshes (``anatomy_dir``, a folder holding the mean-shape L4 and L5).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from ..anatomy.endplates import extract_endplate
from ..anatomy.meshes import load_mesh
from ..anatomy.synthetic import LEVELS as SPINE
from ..anatomy.synthetic import dims, segment
from ..implant_types import bridge_strut
from .poses import (RESECTED_OPACITY, Bone, SceneLayout, clear, contact_mesh, endplate_pose, frame_matrix, iliac_wing,
                    implant_mesh, place, settle, translation)

if TYPE_CHECKING:
    from ..model import Implant

#: the vertebrae of a disc space start this far (mm) off the implant's faces, then settle onto them
START_GAP_MM = 4.0


def _rot_y(deg: float) -> np.ndarray:
    """3×3 rotation by ``deg`` about +y (patient-left)."""
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def _lordotic_ups(angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) face normals of an implant whose faces open anteriorly by ``angle_deg``."""
    half = math.radians(angle_deg / 2)
    return np.array([math.sin(half), 0, math.cos(half)]), np.array([-math.sin(half), 0, math.cos(half)])


def _between(implant: "Implant", upper: str, lower: str, height: float, up_lower: np.ndarray, up_upper: np.ndarray,
             fixed: trimesh.Trimesh | None = None) -> list[Bone]:
    """[upper, lower] vertebrae: their axes along ``up_upper`` / ``up_lower``, started
    :data:`START_GAP_MM` off the implant (its faces ``height`` apart at the origin) and brought along
    their axes onto it (onto ``fixed`` when given, e.g. only the bearing faces)."""
    gap = START_GAP_MM
    lo = place(lower, endplate_pose(lower, frame_matrix((0, 0, -height / 2 - gap), up_lower, (1, 0, 0)), "superior"))
    hi = place(upper, endplate_pose(upper, frame_matrix((0, 0, height / 2 + gap), up_upper, (1, 0, 0)), "inferior"))
    fixed = implant_mesh(implant) if fixed is None else fixed
    settle([lo.mesh], fixed, up_lower)
    settle([hi.mesh], fixed, -up_upper)
    return [hi, lo]


def _interbody_cage(implant: "Implant") -> SceneLayout:
    """Fig. 6: congruent cage in the L4–L5 disc space (C5–C6 for cervical presets); lordosis opens anteriorly."""
    p = implant.params
    region = getattr(getattr(p, "region", None), "value", "lumbar")
    upper, lower = ("C5", "C6") if region == "cervical" else ("L4", "L5")
    bones = _between(implant, upper, lower, p.height_mm, *_lordotic_ups(getattr(p, "lordosis_deg", 0.0)))
    return SceneLayout(bones, note=f"{upper}–{lower} disc space", figure="Fig. 6")


def _vertebral_body_replacement(implant: "Implant") -> SceneLayout:
    """Fig. 8: column after corpectomy between the vertebra above and below; the removed bodies are omitted."""
    p = implant.params
    region = getattr(p.region, "value", str(p.region))
    n = int(p.levels)
    first = SPINE.index({"cervical": "C5", "thoracic": "T7", "lumbar": "L2"}.get(region, "C5"))
    first = max(1, min(first, len(SPINE) - 1 - n))
    removed = SPINE[first:first + n]
    upper, lower = SPINE[first - 1], SPINE[first + n]
    height = float(implant.metrics.get("height_mm", p.height_mm or 0.0))
    angle = float(implant.metrics.get("lordosis_deg", p.lordosis_deg or 0.0))
    bones = _between(implant, upper, lower, height, *_lordotic_ups(angle), fixed=contact_mesh(implant))
    if getattr(p.screw_fixation, "value", str(p.screw_fixation)) == "flange":
        whole = implant_mesh(implant)
        for bone in bones:  # flanges on the anterior surfaces: bodies slide back behind them
            clear(bone, whole, (-1, 0, 0))
    gone = removed[0] if n == 1 else f"{removed[0]}–{removed[-1]}"
    return SceneLayout(bones, note=f"{gone} body removed (corpectomy): column from {upper} to {lower}",
                       figure="Fig. 8")


def _upper_cervical_docking(implant: "Implant") -> SceneLayout:
    """Fig. 4: body replacing C2 standing on C3 (or lower), docked under the C1 anterior arch."""
    p = implant.params
    docking = getattr(p.docking, "value", str(p.docking))
    lower = getattr(p.lower_vertebra, "value", str(p.lower_vertebra)).upper()
    seat = float(implant.metrics.get("seat_height_mm", p.height_mm or 20.0))
    mesh = implant_mesh(implant)
    base = place(lower, endplate_pose(lower, translation(z=-3.0), "superior"))
    if docking != "lateral-mass":  # onto the bearing face (C3's uncinate processes touch its lateral edges)
        settle([base.mesh], contact_mesh(implant, "contact.inferior"), (0, 0, 1))
    bones = [base]
    if docking == "lateral-mass":
        bones.append(place("C1", translation(10.0, 0, seat + 6.0)))
        return SceneLayout(bones, note="C1 lateral-mass prosthesis on the C2 facet", figure="Fig. 4")
    note = f"standing on {lower}"
    if docking == "c0-plate":
        note += "; C1 removed, docking on C0 (skull base not drawn)"
    elif docking == "t-expansion":
        bones.append(place("C1", translation(float(p.saddle_offset_x_mm) - 6.0, 0, seat + p.t_height_mm * 0.6)))
        note += ", T crossbar on the C1 lateral masses"
    else:
        # C1's anterior arch (synthetic atlas: arch centre ~17 mm anterior of the ring centre) over the groove
        c1 = place("C1", translation(float(p.saddle_offset_x_mm) - 17.0, 0, seat + 12.0))
        settle([c1.mesh], mesh, (0, 0, -1))
        bones.append(c1)
        note += ", docked under the C1 anterior arch"
    return SceneLayout(bones, note=note + " (C2 resected)", figure="Fig. 4")


def _transarticular_template(implant: "Implant") -> SceneLayout:
    """Fig. 5: template on the posterior arches of C1 and C2, guide tubes on the C1–C2 transarticular
    trajectories. C1–C2 stacked as in :func:`~implants.anatomy.synthetic.segment`, C1's posterior arch brought
    to the template's arch offset, then moved back (−x) until the bone touches the template."""
    p = implant.params
    seg = segment("C1", "C2")
    c1_pose, c2_pose = seg.poses
    # synthetic atlas: posterior surface of the posterior tubercle 30 mm behind the ring centre
    shift = translation(p.arch_offset_x_mm + 30.0 + 6.0, 0.0, p.arch_offset_z_mm - c1_pose[2, 3])
    bones = [place("C1", shift @ c1_pose), place("C2", shift @ c2_pose)]
    moved = settle([bones[0].mesh], implant_mesh(implant), (-1, 0, 0))  # the frame rests on C1's arch
    bones[1].mesh.apply_translation((-moved, 0.0, 0.0))                  # C2 keeps its place below C1
    return SceneLayout(bones, note="on the posterior arch of C1 and C2 (guide tubes on the Magerl trajectories)",
                       figure="Fig. 5", view="posterior-iso")


def _distraction_spacer(implant: "Implant") -> SceneLayout:
    """Fig. 7: unilateral interbody and facet spacers on the concave side of a cervical level; the upper
    vertebra tilted by the coronal angle (concave side opened)."""
    p = implant.params
    upper, lower = getattr(p.level, "value", str(p.level)).split("-")
    side = 1.0 if getattr(p.side, "value", str(p.side)) == "left" else -1.0
    a = math.radians(p.coronal_deg / 2)
    up_upper = np.array([0.0, -side * math.sin(a), math.cos(a)])
    up_lower = np.array([0.0, side * math.sin(a), math.cos(a)])
    bones = _between(implant, upper, lower, p.distraction_height_mm, up_lower, up_upper)
    return SceneLayout(bones, note=f"{upper}–{lower}, {'left' if side > 0 else 'right'} (concave) side distracted",
                       figure="Fig. 7")


def _anterior_plate(implant: "Implant") -> SceneLayout:
    """Fig. 9: plate on the anterior surface of the cervical bodies it spans; the stacked segment (with its
    lordosis) is brought forward (+x) until it touches the plate's bone face."""
    p = implant.params
    layout = getattr(p.layout, "value", str(p.layout))
    if layout == "subaxial":
        n = int(p.levels)
        top = SPINE[max(2, 5 - (n + 1) // 2)]
        spanned = SPINE[SPINE.index(top):SPINE.index(top) + n]
        centre_level = spanned[(n - 1) // 2]
        seg = segment(spanned[0], spanned[-1])
        ref = seg.poses[spanned.index(centre_level)]
        z0 = 0.0 if n % 2 else -(dims(centre_level).height_mm + dims(centre_level).disc_below_mm) / 2
        note = f"on the anterior surface of {spanned[0]}–{spanned[-1]}"
    else:
        spanned = ("C1", "C2", "C3")
        seg = segment("C1", "C3")
        ref = seg.poses[1]
        z0 = 10.0 - 2.0  # C2 holes 10 mm below the origin
        note = "transoral: C1 lateral masses to the C2/C3 body (dens removed not drawn)"
    depth = dims(spanned[len(spanned) // 2] if layout == "subaxial" else "C2").depth_mm
    shift = translation(-depth / 2 - 6.0 - ref[0, 3], -ref[1, 3], z0 - ref[2, 3])
    mesh, face = implant_mesh(implant), contact_mesh(implant, "contact.posterior")
    best = None
    for tilt in np.arange(-12.0, 12.1, 2.0):  # sagittal tilt of the segment that lays the plate on most bodies
        turn = np.eye(4)
        turn[:3, :3] = _rot_y(tilt)
        bones = [place(level, turn @ shift @ pose) for level, pose in zip(seg.levels, seg.poses)]
        settle([b.mesh for b in bones], mesh, (1, 0, 0))
        combined = trimesh.util.concatenate([b.mesh for b in bones])
        origins = face.triangles_center[::4]
        hits, index, _ = combined.ray.intersects_location(origins, np.tile([-1.0, 0, 0], (len(origins), 1)),
                                                          multiple_hits=False)
        gaps = np.full(len(origins), 20.0)  # a point with no bone behind it counts as far
        gaps[index] = np.minimum(origins[index, 0] - hits[:, 0], 20.0)
        score = float(np.median(gaps))
        if best is None or score < best[0]:
            best = (score, bones)
    return SceneLayout(best[1], note=note, figure="Fig. 9")


def _bridge_strut(implant: "Implant") -> SceneLayout:
    """Fig. 10: strut over an osteolytic kyphotic span, platforms on the unaffected vertebrae above and below."""
    p = implant.params
    g = bridge_strut.derive(p)
    inf_level, sup_level = g.fixation_levels
    mesh = implant_mesh(implant)
    gap = 3.0
    inf = place(inf_level, endplate_pose(inf_level, frame_matrix(g.inferior.centre - gap * g.inferior.up,
                                                                 g.inferior.up, g.inferior.anterior), "superior"))
    sup = place(sup_level, endplate_pose(sup_level, frame_matrix(g.superior.centre + gap * g.superior.up,
                                                                 g.superior.up, g.superior.anterior), "inferior"))
    settle([inf.mesh], mesh, g.inferior.up)
    settle([sup.mesh], mesh, -g.superior.up)
    bones = [sup, inf]
    i, j = SPINE.index(sup_level), SPINE.index(inf_level)
    bridged = SPINE[i + 1:j]
    line = g.centre_line
    cum = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    total = sum(dims(lv).height_mm + dims(lv).disc_below_mm for lv in bridged) + dims(sup_level).disc_below_mm
    scale_s = cum[-1] / total  # spread the faint bodies evenly along the strut
    s = dims(bridged[-1]).disc_below_mm * scale_s if bridged else 0.0
    for level in reversed(bridged):
        mid = s + dims(level).height_mm * scale_s / 2
        k = int(np.clip(np.searchsorted(cum, mid), 1, len(line) - 1))
        tangent = line[k] - line[k - 1]
        # the strut runs through the anterior column: the faint body sits just behind it
        centre = line[k] - 0.15 * dims(level).depth_mm * frame_matrix((0, 0, 0), tangent, (1, 0, 0))[:3, 0]
        bones.append(place(level, frame_matrix(centre, tangent, (1, 0, 0)), opacity=RESECTED_OPACITY, scale=0.75))
        above = SPINE[SPINE.index(level) - 1]
        s += (dims(level).height_mm + dims(above).disc_below_mm) * scale_s
    return SceneLayout(bones, note=f"{bridged[0]}–{bridged[-1]} osteolytic (faint), fixed to {sup_level} and {inf_level}"
                       if bridged else f"fixed to {sup_level} and {inf_level}", figure="Fig. 10")


def _monolithic(implant: "Implant") -> SceneLayout:
    """Fig. 11: lumbosacral-iliac construct on L4–S1 with both ilia (proxy wings, the anatomy has no pelvis);
    the iliac-hook variant on the same pelvis."""
    seg = segment("L4", "S1")
    # template origin: dorsal surface of the sacrum on the midline at S1 (synthetic S1: median crest 36 mm
    # behind the body centre)
    shift = translation(36.0, 0.0, 0.0)
    bones = [place(level, shift @ pose) for level, pose in zip(seg.levels, seg.poses)]
    p = implant.params
    variant = getattr(p.variant, "value", str(p.variant))
    psis = None
    if variant == "lumbosacral-revision":  # the wing's posterior edge where the iliac screws enter
        iliac = [f for f in implant.features.values() if f.name.startswith("seat.") and abs(f.origin[1]) > 30]
        if iliac:
            f = max(iliac, key=lambda f: f.origin[2])
            psis = np.asarray(f.origin) + p.seat_height_mm * np.asarray(f.direction)
            psis[2] = -8.0
    for name, s in (("left", 1), ("right", -1)):
        mirrored = None if psis is None else psis * [1, s * np.sign(psis[1]), 1]
        bones.append(Bone(f"ilium.{name}", iliac_wing(s, mirrored)))
    mesh = implant_mesh(implant)
    for bone in bones:  # the construct lies on the dorsal surfaces: push any bone it cuts forwards
        clear(bone, mesh, (1.0, 0.0, 0.0))
    note = "L4–S1 with ilium proxies: " + ("S2 and two iliac screw seats" if variant == "lumbosacral-revision"
                                            else "hook on the iliac crest")
    return SceneLayout(bones, note=note, figure="Fig. 11", view="posterior-iso")


#: type id → scene rule. Add a line per type; a type without one is shown alone with a note.
SCENE_RULES: dict[str, Callable[["Implant"], SceneLayout]] = {
    "upper-cervical-docking": _upper_cervical_docking,
    "c1c2-transarticular-template": _transarticular_template,
    "distraction-spacer": _distraction_spacer,
    "interbody-cage": _interbody_cage,
    "vertebral-body-replacement": _vertebral_body_replacement,
    "anterior-plate": _anterior_plate,
    "bridge-strut": _bridge_strut,
    "monolithic": _monolithic,
}

#: the review's figure per type (for captions), SPEC.md order
FIGURES = {
    "upper-cervical-docking": "Fig. 4", "c1c2-transarticular-template": "Fig. 5", "interbody-cage": "Fig. 6",
    "distraction-spacer": "Fig. 7", "vertebral-body-replacement": "Fig. 8", "anterior-plate": "Fig. 9",
    "bridge-strut": "Fig. 10", "monolithic": "Fig. 11",
}


def _interbody_cage_real(implant: "Implant", anatomy_dir: Path) -> SceneLayout:
    """Fig. 6 on real meshes: the mean-shape L4 and L5 (``lumbar_mean_L4_mm.stl``, ``..._L5_mm.stl``, patient
    frame), moved apart along z so that their endplate centroids touch the cage faces (the cage distracts the
    disc space; the real L4/L5 gap is ~8.5 mm)."""
    p = implant.params
    if getattr(getattr(p, "region", None), "value", "lumbar") != "lumbar":
        return _interbody_cage(implant)
    l4 = load_mesh(Path(anatomy_dir) / "lumbar_mean_L4_mm.stl")
    l5 = load_mesh(Path(anatomy_dir) / "lumbar_mean_L5_mm.stl")
    upper = extract_endplate(l4, "inferior").centroid
    lower = extract_endplate(l5, "superior").centroid
    centre_xy = (upper[:2] + lower[:2]) / 2
    l4.apply_translation((-centre_xy[0], -centre_xy[1], p.height_mm / 2 - upper[2]))
    l5.apply_translation((-centre_xy[0], -centre_xy[1], -p.height_mm / 2 - lower[2]))
    return SceneLayout([Bone("L4", l4), Bone("L5", l5)], note="L4–L5 disc space (real mean-shape meshes, "
                       "Clouthier et al. 2023, MIT)", figure="Fig. 6")


#: type id → scene rule on real meshes from a folder holding lumbar_mean_L4_mm.stl and lumbar_mean_L5_mm.stl (optional).
REAL_SCENE_RULES: dict[str, Callable[["Implant", Path], SceneLayout]] = {
    "interbody-cage": _interbody_cage_real,
}


def layout_for(implant: "Implant", anatomy_dir: Path | None = None) -> tuple[SceneLayout, bool]:
    """The scene layout of an implant and whether its type has a rule; with ``anatomy_dir`` the real
    meshes are used where a rule for them exists."""
    if anatomy_dir is not None and implant.type_id in REAL_SCENE_RULES:
        layout = REAL_SCENE_RULES[implant.type_id](implant, Path(anatomy_dir))
        layout.figure = layout.figure or FIGURES.get(implant.type_id, "")
        return layout, True
    rule = SCENE_RULES.get(implant.type_id)
    if rule is None:
        return SceneLayout([], note=f"no in-situ scene rule for {implant.type_id} yet: implant shown alone",
                           figure=FIGURES.get(implant.type_id, "")), False
    layout = rule(implant)
    layout.figure = layout.figure or FIGURES.get(implant.type_id, "")
    return layout, True
