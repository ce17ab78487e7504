"""In-situ teaching scenes: each implant type in place on the vertebrae it fits (review Figs. 4–11).

A scene is the implant (titanium colour) plus bone meshes (ivory; bridged osteolytic or
resected levels drawn faint), exported as a GLB (``trimesh.Scene`` with PBR materials) and a
PNG. Placement per type is a small table, :data:`SCENE_RULES`: type id → function
``(implant) -> SceneLayout`` giving the vertebrae (with their patient-frame placement) and the
4×4 transform of the implant. A type without a rule is shown alone with a note saying so.

Vertebrae come from :mod:`implants.anatomy.synthetic` when it offers ``vertebra_mesh(level)``
(a trimesh with the origin at the centre of the superior endplate, +x anterior, +z superior);
otherwise from simple placeholder vertebrae built here (body + pedicles, lamina, spinous and
transverse processes). Real meshes in ``../shared/anatomy`` can be used for the lumbar cage
with ``real_anatomy`` (a folder), only as an option: nothing here needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .pictures import BONE_COLOUR, MeshItem, colour_for, implant_items, render_items

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

#: level → (body height, endplate depth AP, endplate width ML, disc height below), mm; rounded adult values
#: (thoracolumbar values as in templates/bridge_strut.LEVELS; C1/C2/S1 approximate).
LEVELS: dict[str, tuple[float, float, float, float]] = {
    "C2": (15.0, 15.0, 16.0, 5.0),
    "C3": (14.0, 16.0, 17.0, 5.0), "C4": (14.0, 16.0, 18.0, 5.0), "C5": (13.5, 16.0, 19.0, 5.0),
    "C6": (13.5, 17.0, 21.0, 5.0), "C7": (15.0, 17.0, 23.0, 4.5), "T1": (16.0, 17.0, 25.0, 4.0),
    "T2": (17.0, 18.0, 25.0, 4.0), "T3": (17.5, 20.0, 25.0, 4.0), "T4": (18.0, 22.0, 26.0, 4.5),
    "T5": (18.5, 24.0, 27.0, 4.5), "T6": (19.0, 25.0, 29.0, 5.0), "T7": (19.5, 27.0, 31.0, 5.0),
    "T8": (20.0, 28.0, 32.0, 5.0), "T9": (20.5, 29.0, 34.0, 5.5), "T10": (21.5, 30.0, 36.0, 5.5),
    "T11": (22.5, 31.0, 39.0, 6.0), "T12": (23.5, 32.0, 42.0, 7.0), "L1": (25.0, 33.0, 44.0, 9.0),
    "L2": (26.0, 34.0, 46.0, 10.0), "L3": (27.0, 35.0, 48.0, 10.0), "L4": (27.0, 35.0, 50.0, 11.0),
    "L5": (26.0, 35.0, 51.0, 11.0), "S1": (30.0, 36.0, 50.0, 0.0),
}
ORDER = tuple(LEVELS)
RESECTED_OPACITY = 0.35
SCENE_DEFLECTION_MM = 0.1


@dataclass
class Bone:
    """A bone mesh in the patient frame, its level name and opacity (faint = osteolytic/resected)."""

    name: str
    mesh: "trimesh.Trimesh"
    opacity: float = 1.0


@dataclass
class SceneLayout:
    """What a scene rule returns: bones, the implant's 4×4 transform and a note for the caption."""

    bones: list[Bone]
    implant_transform: np.ndarray = field(default_factory=lambda: np.eye(4))
    note: str = ""
    figure: str = ""


@dataclass
class SceneResult:
    type_id: str
    glb: Path | None
    png: Path | None
    note: str
    figure: str
    has_rule: bool


# ----------------------------------------------------------------------------- bones


def _extrude(outline: np.ndarray, z0: float, z1: float):
    """Closed prism of a star-shaped (about its centroid) counter-clockwise outline."""
    import trimesh

    n = len(outline)
    centre = outline.mean(axis=0)
    bottom = np.column_stack([outline, np.full(n, z0)])
    top = np.column_stack([outline, np.full(n, z1)])
    vertices = np.vstack([bottom, top, [[*centre, z0], [*centre, z1]]])
    cb, ct = 2 * n, 2 * n + 1
    faces = []
    for i in range(n):
        j = (i + 1) % n
        faces += [[i, j, n + j], [i, n + j, n + i], [cb, j, i], [ct, n + i, n + j]]
    mesh = trimesh.Trimesh(vertices, np.asarray(faces), process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _body_outline(depth: float, width: float, n: int = 48) -> np.ndarray:
    """Vertebral body cross-section: an ellipse flattened posteriorly (the spinal canal side)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = 0.5 * depth * np.cos(t)
    y = 0.5 * width * np.sin(t)
    x = np.where(x < 0, x * (0.75 + 0.25 * np.abs(np.sin(t)) ** 3), x)
    return np.column_stack([x, y])


def _box(extents, centre, rotation_y_deg: float = 0.0):
    import trimesh

    transform = trimesh.transformations.rotation_matrix(math.radians(rotation_y_deg), [0, 1, 0])
    transform[:3, 3] = centre
    return trimesh.creation.box(extents=extents, transform=transform)


def _rod(p0, p1, radius: float):
    import trimesh

    return trimesh.creation.cylinder(radius=radius, segment=[p0, p1], sections=16)


def placeholder_vertebra(level: str) -> "trimesh.Trimesh":
    """A simple recognisable vertebra (mesh, mm): origin at the centre of the superior endplate, body
    below it (z from −height to 0), +x anterior, posterior elements at −x."""
    import trimesh

    if level == "C1":
        return placeholder_atlas()
    height, depth, width, _ = LEVELS[level]
    body = _extrude(_body_outline(depth, width), -height, 0.0)
    scale = depth / 35.0
    canal = max(12.0, 0.55 * width)
    mid = -0.45 * height
    back = -depth / 2
    ped_len = 0.35 * depth
    ped_r = max(2.0, 0.11 * height)
    parts = [body]
    for s in (-1, 1):
        y = s * canal / 2
        parts.append(_rod((back + 2, y, mid), (back - ped_len, y, mid), ped_r))  # pedicle
        # lamina towards the midline
        parts.append(_rod((back - ped_len, y, mid), (back - ped_len - 0.45 * canal, s * 2.0, mid - 0.1 * height),
                          ped_r * 0.9))
        # transverse process
        parts.append(_rod((back - ped_len, y, mid), (back - ped_len - 4 * scale, s * (canal / 2 + 0.45 * width), mid),
                          ped_r * 0.7))
    tip = (back - ped_len - 0.45 * canal, 0.0, mid - 0.1 * height)
    parts.append(_rod(tip, (tip[0] - 0.9 * depth, 0.0, tip[2] - 0.6 * height), ped_r))  # spinous process
    return trimesh.util.concatenate(parts)


def placeholder_atlas() -> "trimesh.Trimesh":
    """C1: a ring (anterior and posterior arch) with two lateral masses; origin at the centre of the
    anterior arch, ring behind it (−x)."""
    import trimesh

    ring_ap, ring_ml, arch_r = 22.0, 28.0, 3.5
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    centre = np.array([-ring_ap / 2, 0.0, 0.0])
    pts = np.column_stack([centre[0] + ring_ap / 2 * np.cos(t), ring_ml / 2 * np.sin(t), np.zeros_like(t)])
    parts = [_rod(pts[i], pts[(i + 1) % len(pts)], arch_r) for i in range(len(pts))]
    parts += [trimesh.creation.icosphere(subdivisions=2, radius=arch_r).apply_translation(p) for p in pts]
    for s in (-1, 1):
        parts.append(_box((14.0, 10.0, 12.0), (centre[0] + 2.0, s * (ring_ml / 2 + 1.0), -1.0)))
        parts.append(_rod((centre[0] + 2.0, s * (ring_ml / 2 + 5), 0), (centre[0] - 2.0, s * (ring_ml / 2 + 16), 0),
                          2.5))  # transverse process
    return trimesh.util.concatenate(parts)


def vertebra_mesh(level: str) -> "trimesh.Trimesh":
    """The synthetic vertebra of ``level`` if the anatomy package offers one, else a placeholder."""
    try:
        from ..anatomy import synthetic  # type: ignore[attr-defined]

        make = getattr(synthetic, "vertebra_mesh", None)
        if make is not None:
            mesh = make(level)
            if mesh is not None and len(mesh.faces):
                return mesh
    except (ImportError, KeyError, ValueError):
        pass
    return placeholder_vertebra(level)


def frame_matrix(centre, up, anterior) -> np.ndarray:
    """4×4 transform of a frame (origin ``centre``, z = ``up``, x = ``anterior`` made orthogonal)."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    ant = np.asarray(anterior, float)
    ant = ant - up * (ant @ up)
    ant /= np.linalg.norm(ant)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = ant, np.cross(up, ant), up, centre
    return m


def place(level: str, transform: np.ndarray, opacity: float = 1.0, scale: float = 1.0) -> Bone:
    """A vertebra whose superior endplate frame is ``transform`` (scaled about its body centre if ``scale`` < 1)."""
    mesh = vertebra_mesh(level).copy()
    if scale != 1.0:
        mesh.apply_translation((0, 0, LEVELS.get(level, (20,))[0] / 2))
        mesh.apply_scale(scale)
        mesh.apply_translation((0, 0, -LEVELS.get(level, (20,))[0] / 2))
    mesh.apply_transform(transform)
    return Bone(level, mesh, opacity)


def _rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


# ----------------------------------------------------------------------------- rules


def _interbody_cage(implant: "Implant") -> SceneLayout:
    """Fig. 6: congruent cage in the L4–L5 disc space (C5–C6 for cervical presets); lordosis opens anteriorly."""
    p = implant.params
    region = getattr(getattr(p, "region", None), "value", "lumbar")
    upper, lower = ("C5", "C6") if region == "cervical" else ("L4", "L5")
    h = p.height_mm
    half = math.radians(getattr(p, "lordosis_deg", 0.0) / 2)
    up_lower = np.array([math.sin(half), 0, math.cos(half)])
    up_upper = np.array([-math.sin(half), 0, math.cos(half)])
    lower_frame = frame_matrix((0, 0, -h / 2), up_lower, (1, 0, 0))
    upper_frame = frame_matrix(np.array([0, 0, h / 2]) + LEVELS[upper][0] * up_upper, up_upper, (1, 0, 0))
    return SceneLayout([place(upper, upper_frame), place(lower, lower_frame)],
                       note=f"{upper}–{lower} disc space", figure="Fig. 6")


def _upper_cervical_docking(implant: "Implant") -> SceneLayout:
    """Fig. 4: body replacing C2 standing on C3 (or lower), docked under the C1 anterior arch."""
    p = implant.params
    docking = getattr(p.docking, "value", str(p.docking))
    lower = getattr(p.lower_vertebra, "value", str(p.lower_vertebra)).upper()
    seat = float(implant.metrics.get("seat_height_mm", p.height_mm or 20.0))
    bones = [place(lower, np.eye(4))]
    note = f"standing on {lower}"
    if docking == "lateral-mass":
        c1 = frame_matrix((10.0, 0, seat + 2.0), (0, 0, 1), (1, 0, 0))
        bones.append(place("C1", c1))
        return SceneLayout(bones, note="C1 lateral-mass prosthesis on the C2 facet", figure="Fig. 4")
    start = ORDER.index(lower) if lower in ORDER else len(ORDER)
    for level in ORDER[:start]:  # resected levels between C2 and the lower vertebra: faint
        if level.startswith("C") and level != "C1":
            break
    if docking == "c0-plate":
        note += "; C1 removed, docking on C0 (skull base not drawn)"
    else:
        arch_x = float(getattr(p, "saddle_offset_x_mm", 0.0))
        arch_z = seat + float(getattr(p, "arch_radius_mm", 4.5)) - 0.5
        if docking == "t-expansion":
            arch_z = seat + float(getattr(p, "t_height_mm", 10.0)) * 0.6
            arch_x += 4.0
        bones.append(place("C1", frame_matrix((arch_x, 0, arch_z), (0, 0, 1), (1, 0, 0))))
        note += ", docked to C1"
    return SceneLayout(bones, note=note + " (C2 body resected)", figure="Fig. 4")


def _bridge_strut(implant: "Implant") -> SceneLayout:
    """Fig. 10: strut over an osteolytic kyphotic span, platforms on the unaffected vertebrae above and below."""
    from ..templates import bridge_strut

    p = implant.params
    g = bridge_strut.derive(p)
    inf_level, sup_level = g.fixation_levels
    bones = [place(inf_level, frame_matrix(g.inferior.centre, g.inferior.up, g.inferior.anterior))]
    sup_origin = g.superior.centre + LEVELS[sup_level][0] * g.superior.up
    bones.append(place(sup_level, frame_matrix(sup_origin, g.superior.up, g.superior.anterior)))
    i, j = ORDER.index(sup_level), ORDER.index(inf_level)
    bridged = ORDER[i + 1:j]
    line = g.centre_line
    cum = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    # walk up from the inferior fixation vertebra: disc, body, disc, ...
    s = LEVELS[bridged[-1]][3] if bridged else 0.0
    for level in reversed(bridged):
        height = LEVELS[level][0]
        s_top = s + height
        k = int(np.clip(np.searchsorted(cum, s_top), 1, len(line) - 1))
        tangent = line[k] - line[k - 1]
        centre = line[k] - np.array([0.35 * LEVELS[level][1], 0, 0]) * 0.0
        bones.append(place(level, frame_matrix(centre, tangent, (1, 0, 0)), opacity=RESECTED_OPACITY, scale=0.75))
        above = ORDER[ORDER.index(level) - 1]
        s = s_top + LEVELS[above][3]
    return SceneLayout(bones, note=f"{bridged[0]}–{bridged[-1]} osteolytic (faint), fixed to {sup_level} and {inf_level}"
                       if bridged else f"fixed to {sup_level} and {inf_level}", figure="Fig. 10")


#: type id → scene rule. Add a line per type; a type without one is shown alone with a note.
SCENE_RULES: dict[str, Callable[["Implant"], SceneLayout]] = {
    "upper-cervical-docking": _upper_cervical_docking,
    "interbody-cage": _interbody_cage,
    "bridge-strut": _bridge_strut,
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
    from ..anatomy.endplates import extract_endplate
    from ..anatomy.meshes import load_mesh

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


#: type id → scene rule on real meshes from a folder like ``../shared/anatomy`` (optional).
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


# ----------------------------------------------------------------------------- output


def _material(rgb, opacity: float = 1.0, metallic: float = 0.0, roughness: float = 0.6):
    from trimesh.visual.material import PBRMaterial

    colour = [int(round(c * 255)) for c in rgb] + [int(round(opacity * 255))]
    return PBRMaterial(baseColorFactor=colour, metallicFactor=metallic, roughnessFactor=roughness,
                       alphaMode="BLEND" if opacity < 1 else "OPAQUE", doubleSided=opacity < 1)


def scene_items(implant: "Implant", highlight: bool = False, deflection_mm: float = SCENE_DEFLECTION_MM,
                anatomy_dir: Path | None = None):
    """(layout, has_rule, implant MeshItems, axes, bone MeshItems) of the in-situ scene."""
    layout, has_rule = layout_for(implant, anatomy_dir)
    items, axes = implant_items(implant, highlight, transform=layout.implant_transform, deflection_mm=deflection_mm)
    bones = [MeshItem(b.mesh, BONE_COLOUR, opacity=b.opacity) for b in layout.bones]
    return layout, has_rule, items, axes, bones


def build_scene(implant: "Implant", deflection_mm: float = SCENE_DEFLECTION_MM, anatomy_dir: Path | None = None):
    """(trimesh.Scene, layout, has_rule): implant + bones with PBR materials, ready for GLB."""
    import trimesh
    from trimesh.visual import TextureVisuals

    layout, has_rule, items, _, bones = scene_items(implant, False, deflection_mm, anatomy_dir)
    scene = trimesh.Scene()
    for item in items:
        mesh = item.mesh.copy()
        mesh.visual = TextureVisuals(material=_material(colour_for(implant), metallic=0.6, roughness=0.35))
        scene.add_geometry(mesh, geom_name=implant.type_id, node_name=implant.type_id)
    for bone in layout.bones:
        mesh = bone.mesh.copy()
        mesh.visual = TextureVisuals(material=_material(BONE_COLOUR, bone.opacity))
        scene.add_geometry(mesh, geom_name=f"bone.{bone.name}", node_name=f"bone.{bone.name}")
    # glTF is +y up: patient +z superior → +y, +y patient-left → −z (+x anterior stays +x)
    scene.apply_transform(np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], float))
    return scene, layout, has_rule


def write_scene(implant: "Implant", out_dir: Path, view: str = "iso", size=(800, 600),
                png: bool = True, glb: bool = True, anatomy_dir: Path | None = None) -> SceneResult:
    """Write ``<type>_scene.glb`` and ``<type>_scene.png`` into ``out_dir`` (real meshes from
    ``anatomy_dir`` where a rule exists, see :data:`REAL_SCENE_RULES`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scene, layout, has_rule = build_scene(implant, anatomy_dir=anatomy_dir)
    glb_path = png_path = None
    if glb:
        glb_path = out_dir / f"{implant.type_id}_scene.glb"
        glb_path.write_bytes(scene.export(file_type="glb"))
    if png:
        _, _, items, axes, bones = scene_items(implant, highlight=True, anatomy_dir=anatomy_dir)
        png_path = out_dir / f"{implant.type_id}_scene.png"
        title = f"{implant.type_id} in situ" + (f" ({layout.figure})" if layout.figure else "")
        render_items(bones + items, png_path, view=view, axes=axes, size=size, title=title)
    return SceneResult(implant.type_id, glb_path, png_path, layout.note, layout.figure, has_rule)
