"""Issue 18 speed paths of the export and the demo: the picture beside the files is drawn from the
export's own tessellation (the shape is not meshed a second time), and ``implants demo`` knows the
cost of every registered type to hand out the longest first."""

from __future__ import annotations

import numpy as np
import pytest

import implants
from implants.errors import GeometryError
from implants.pipeline import export
from implants.render import items
from implants.render.pictures import implant_png, png_pixels


def test_the_picture_is_drawn_from_the_export_mesh_not_a_second_tessellation(tmp_path, monkeypatch):
    cage = implants.build("interbody-cage", "cervical-acdf")
    drawn = []

    def no_second_meshing(*args, **kwargs):
        raise GeometryError("the picture meshed the shape again")

    def recording_items(implant, highlight=False, transform=None, deflection_mm=0.05, tessellation=None):
        drawn.append(tessellation)
        return original(implant, highlight, transform, deflection_mm, tessellation)

    original = items.implant_items
    monkeypatch.setattr(items, "tessellate", no_second_meshing)
    monkeypatch.setattr("implants.render.pictures.implant_items", recording_items)
    result = export(cage, tmp_path, formats=("stl",), picture=implant_png)
    assert len(drawn) == 1 and len(drawn[0].mesh.faces) == result.manifest["tessellation"]["triangles"]
    pixels = png_pixels(result.paths["png"])
    assert pixels.shape[:2] == (600, 800)
    assert len(np.unique(pixels[..., :3].reshape(-1, 3), axis=0)) > 50  # an implant, not a blank page


def test_without_a_tessellation_the_picture_meshes_the_shape_itself(monkeypatch):
    cage = implants.build("interbody-cage", "cervical-acdf")

    def no_meshing(*args, **kwargs):
        raise GeometryError("meshed")

    monkeypatch.setattr(items, "tessellate", no_meshing)
    with pytest.raises(GeometryError, match="meshed"):
        implant_png(cage)


def test_the_demo_knows_the_cost_of_every_registered_type():
    from implants.cli.build import DEMO_SECONDS

    assert set(DEMO_SECONDS) == {template.type_id for template in implants.templates()}
    assert all(0 < seconds < 10 for seconds in DEMO_SECONDS.values())
