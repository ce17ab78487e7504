"""In-situ teaching scenes (layer: render): each implant type in place on the vertebrae it fits
(review Figs. 4–11), as a GLB and a PNG.

Where each type sits (which bones, the implant's transform, the caption note and figure) is
decided by the rules of :mod:`implants.placement.rules` (real packaged bones); this module only
draws the result: the implant (titanium or PEEK colour) plus the bones of its layout (ivory; bridged
osteolytic or resected levels drawn faint), exported as a GLB (``trimesh.Scene`` with PBR materials,
glTF +y up) and rendered as a PNG (:mod:`implants.render.pictures`). :func:`write_scene` also measures
how the implant is seated (:func:`implants.placement.seating.seat_report`: contact area and deepest
penetration per bone) and adds it to the caption note. A type without a placement rule is shown
alone with a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import trimesh
from trimesh.visual import TextureVisuals
from trimesh.visual.material import PBRMaterial

from ..placement.poses import SceneLayout
from ..placement.rules import layout_for
from ..placement.seating import caption, seat_report
from .items import BONE_COLOUR, MeshItem, colour_for, implant_items
from .pictures import DEFAULT_SIZE, render_items

if TYPE_CHECKING:
    from ..model import Implant

#: chord deflection (mm) of the implant mesh in scenes
SCENE_DEFLECTION_MM = 0.1
#: patient frame → glTF (+y up): +z superior → +y, +y patient-left → −z, +x anterior stays +x
PATIENT_TO_GLTF = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], float)


@dataclass
class SceneResult:
    """What :func:`write_scene` wrote (``None``: not asked for), the caption note (the layout's note and
    the seating figures), the review figure, whether the type has a placement rule and the seating
    report (:func:`implants.placement.seating.seat_report`; empty without a rule)."""

    type_id: str
    glb: Path | None
    png: Path | None
    note: str
    figure: str
    has_rule: bool
    seating: dict


def _material(rgb, opacity: float = 1.0, metallic: float = 0.0, roughness: float = 0.6) -> PBRMaterial:
    """A glTF PBR material of colour ``rgb`` (0..1); blended and double-sided when translucent."""
    colour = [int(round(c * 255)) for c in rgb] + [int(round(opacity * 255))]
    return PBRMaterial(baseColorFactor=colour, metallicFactor=metallic, roughnessFactor=roughness,
                       alphaMode="BLEND" if opacity < 1 else "OPAQUE", doubleSided=opacity < 1)


def scene_items(implant: "Implant", highlight: bool = False, deflection_mm: float = SCENE_DEFLECTION_MM,
                layout: tuple[SceneLayout, bool] | None = None):
    """(layout, has_rule, implant MeshItems, axes, bone MeshItems) of the in-situ scene (of ``layout``,
    a :func:`~implants.placement.rules.layout_for` result, when given)."""
    layout, has_rule = layout or layout_for(implant)
    items, axes = implant_items(implant, highlight, transform=layout.implant_transform, deflection_mm=deflection_mm)
    bones = [MeshItem(b.mesh, BONE_COLOUR, opacity=b.opacity, framed=not layout.focus or b.name in layout.focus)
             for b in layout.bones]
    return layout, has_rule, items, axes, bones


def build_scene(implant: "Implant", deflection_mm: float = SCENE_DEFLECTION_MM,
                layout: tuple[SceneLayout, bool] | None = None):
    """(trimesh.Scene, layout, has_rule): implant + bones with PBR materials, ready for GLB."""
    layout, has_rule, items, _, _ = scene_items(implant, False, deflection_mm, layout)
    scene = trimesh.Scene()
    for item in items:
        mesh = item.mesh.copy()
        mesh.visual = TextureVisuals(material=_material(colour_for(implant), metallic=0.6, roughness=0.35))
        scene.add_geometry(mesh, geom_name=implant.type_id, node_name=implant.type_id)
    for bone in layout.bones:
        mesh = bone.mesh.copy()
        mesh.visual = TextureVisuals(material=_material(BONE_COLOUR, bone.opacity))
        scene.add_geometry(mesh, geom_name=f"bone.{bone.name}", node_name=f"bone.{bone.name}")
    scene.apply_transform(PATIENT_TO_GLTF)
    return scene, layout, has_rule


def write_scene(implant: "Implant", out_dir: Path, view: str | None = None, size=DEFAULT_SIZE,
                png: bool = True, glb: bool = True) -> SceneResult:
    """Write ``<type>_scene.glb`` and ``<type>_scene.png`` into ``out_dir``; ``view`` defaults to the layout's."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    placed = layout_for(implant)
    scene, layout, has_rule = build_scene(implant, layout=placed)
    seating = seat_report(implant, layout) if has_rule else {}
    note = f"{layout.note}; {caption(seating)}" if seating else layout.note
    glb_path = png_path = None
    if glb:
        glb_path = out_dir / f"{implant.type_id}_scene.glb"
        glb_path.write_bytes(scene.export(file_type="glb"))
    if png:
        _, _, items, axes, bones = scene_items(implant, highlight=True, layout=placed)
        png_path = out_dir / f"{implant.type_id}_scene.png"
        title = f"{implant.type_id} in situ" + (f" ({layout.figure})" if layout.figure else "")
        render_items(bones + items, png_path, view=view or layout.view, axes=axes, size=size, title=title)
    return SceneResult(implant.type_id, glb_path, png_path, note, layout.figure, has_rule, seating)
