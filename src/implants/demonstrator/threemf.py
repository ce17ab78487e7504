"""3MF of a demonstrator plate (layer: demonstrator): one object per part, coloured with core-spec
``basematerials`` (bone, implant, base, pin), millimetres, parts at their plate positions (vertices
baked, identity build items). Deterministic; reuses the strict writer's package parts from
:mod:`implants.writers.meshes`."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape, quoteattr

from ..params import NOT_A_MEDICAL_DEVICE
from ..writers.meshes import CORE_NS, package_3mf
from ..writers.meshes import model_xml as core_model_xml
from .model import COLOURS, Demonstrator

MATERIAL_ORDER = ("bone", "implant", "base", "pin")


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(c):02X}" for c in rgb) + "FF"


def model_xml(demo: Demonstrator) -> bytes:
    """The 3D model part (XML) of the demonstrator's 3MF package."""
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<model unit="millimeter" xml:lang="en-US" xmlns="{CORE_NS}">\n')
    out.write(f' <metadata name="Title">{escape(demo.type_id)} demonstrator</metadata>\n')
    out.write(' <metadata name="Application">spine-implants</metadata>\n')
    out.write(f' <metadata name="Description">{escape(NOT_A_MEDICAL_DEVICE)}</metadata>\n')
    out.write(" <resources>\n  <basematerials id=\"1\">\n")
    for role in MATERIAL_ORDER:
        out.write(f'   <base name="{role}" displaycolor="{_hex(COLOURS[role])}"/>\n')
    out.write("  </basematerials>\n")
    for k, part in enumerate(demo.parts, start=2):
        # the geometry as the strict single-mesh writer makes it (one body per part)
        single = core_model_xml(part.plate_mesh, part.name).decode("utf-8")
        mesh_xml = single[single.index("   <mesh>"):single.index("   </mesh>") + len("   </mesh>\n")]
        out.write(f'  <object id="{k}" type="model" name={quoteattr(part.name)} pid="1" '
                  f'pindex="{MATERIAL_ORDER.index(part.role)}">\n')
        out.write(mesh_xml)
        out.write("  </object>\n")
    out.write(" </resources>\n <build>\n")
    for k in range(2, len(demo.parts) + 2):
        out.write(f'  <item objectid="{k}"/>\n')
    out.write(" </build>\n</model>\n")
    return out.getvalue().encode("utf-8")


def demonstrator_3mf(demo: Demonstrator) -> bytes:
    """The demonstrator's parts as one coloured 3MF package."""
    return package_3mf(model_xml(demo))
