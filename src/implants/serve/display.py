"""The configurator's 3D view (layer: serve): the implant as a GLB for ``<model-viewer>``, with its
contact/docking faces in orange and its screw (red) and guide (blue) axes as thin cylinders,
optionally in situ on the vertebrae of its placement rule, with the measured contact and
penetration against each bone.

The view is a picture, not a deliverable: the files users download come from the export pipeline.
Coordinates are the patient frame (mm; +x anterior, +y patient-left, +z superior) turned to glTF's
+y up with :data:`implants.render.scenes.PATIENT_TO_GLTF`; colours are those of the pictures
(:mod:`implants.render.items`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh
from trimesh.visual import TextureVisuals
from trimesh.visual.material import PBRMaterial

from ..checks.contact import contact_area
from ..render.items import BONE_COLOUR, CONTACT_COLOUR, implant_items
from ..render.scenes import PATIENT_TO_GLTF, scene_items

if TYPE_CHECKING:
    from ..model import Implant

#: chord deflection (mm) of the implant mesh in the view: fine enough to read, cheap to send
VIEW_DEFLECTION_MM = 0.05


def _material(rgb, opacity: float = 1.0, metallic: float = 0.0) -> PBRMaterial:
    """A glTF PBR material of colour ``rgb`` (0..1), blended when translucent."""
    colour = [int(round(c * 255)) for c in rgb] + [int(round(opacity * 255))]
    return PBRMaterial(baseColorFactor=colour, metallicFactor=metallic, roughnessFactor=0.45,
                       alphaMode="BLEND" if opacity < 1 else "OPAQUE", doubleSided=opacity < 1)


def _add(scene: trimesh.Scene, mesh: trimesh.Trimesh, name: str, material: PBRMaterial) -> None:
    mesh = mesh.copy()
    mesh.visual = TextureVisuals(material=material)
    scene.add_geometry(mesh, geom_name=name, node_name=name)


def view_scene(implant: "Implant", in_situ: bool = False) -> tuple[bytes, dict[str, Any] | None]:
    """(GLB bytes, in-situ report or None). The report holds the layout's ``note`` and review
    ``figure``, whether the type ``has_rule``, and per opaque bone its contact area (mm², within
    the project's contact tolerance) and maximum penetration (mm, None for an open bone mesh)
    measured on the view mesh."""
    report = None
    bones, names = [], []
    if in_situ:
        layout, has_rule, items, axes, bones = scene_items(implant, highlight=True, deflection_mm=VIEW_DEFLECTION_MM)
        names = [bone.name for bone in layout.bones]
        report = {"note": layout.note, "figure": layout.figure, "has_rule": has_rule, "contact": []}
    else:
        items, axes = implant_items(implant, highlight=True, deflection_mm=VIEW_DEFLECTION_MM)
    scene = trimesh.Scene()
    for index, item in enumerate(items):
        contact = (np.zeros(len(item.mesh.faces), bool) if item.face_colours is None else
                   np.all(np.isclose(item.face_colours, CONTACT_COLOUR), axis=1))
        body = item.mesh.submesh([np.flatnonzero(~contact)], append=True)
        _add(scene, body, f"{implant.type_id}.{index}", _material(item.colour, metallic=0.5))
        if contact.any():
            faces = item.mesh.submesh([np.flatnonzero(contact)], append=True)
            _add(scene, faces, f"contact.{index}", _material(CONTACT_COLOUR))
    for index, axis in enumerate(axes):
        cylinder = trimesh.creation.cylinder(radius=axis.radius_mm, segment=np.array([axis.start, axis.end], float),
                                             sections=12)
        _add(scene, cylinder, f"axis.{index}", _material(axis.colour))
    implant_mesh = trimesh.util.concatenate([item.mesh for item in items])
    for name, bone in zip(names, bones):
        _add(scene, bone.mesh, f"bone.{name}", _material(BONE_COLOUR, bone.opacity))
        if bone.opacity >= 1.0:
            measured = contact_area(implant_mesh, bone.mesh)
            report["contact"].append({"bone": name, "contact_area_mm2": round(measured.area_mm2, 1),
                                      "max_penetration_mm": None if measured.max_penetration_mm is None
                                      else round(measured.max_penetration_mm, 3)})
    scene.apply_transform(PATIENT_TO_GLTF)
    return scene.export(file_type="glb"), report
