"""The fast paths of issue 18 give the answers of the slow ones: the 3MF number text, the one-sort
watertight/winding/body test of the mesh checks, the remembered B-rep validity and the parallel
``implants demo``."""

from __future__ import annotations

import json

import cadquery as cq
import numpy as np
import pytest
import trimesh
from OCP.BRepCheck import BRepCheck_Analyzer
from typer.testing import CliRunner

from implants.checks.mesh import check_mesh, closed_oriented_components
from implants.geometry import validity
from implants.writers.meshes import model_xml, number_text
from implants.writers.tessellate import tessellate


def test_number_text_is_the_repr_of_every_value():
    awkward = np.array([0.1, -0.0, 1e-17, -123456.789, 2.0 ** -30, 1 / 3, 12.345600128173828,
                        float(np.float32(7.3)), 5e-324, 1e22])
    assert number_text(awkward) == [repr(float(v)) for v in awkward]


def test_3mf_vertices_read_back_exactly():
    mesh = tessellate(cq.Workplane().box(20, 30, 10).edges().fillet(2).val(), 0.05).mesh
    text = model_xml(mesh).decode()
    coords = [float(part.split('"')[1]) for line in text.splitlines() if "<vertex " in line
              for part in line.split()[1:4]]
    assert np.array_equal(np.reshape(coords, (-1, 3)), mesh.vertices)  # one body: vertex order kept


def _trimesh_verdict(mesh: trimesh.Trimesh) -> tuple[bool, bool]:
    return bool(mesh.is_watertight), bool(mesh.is_winding_consistent)


def test_one_sort_agrees_with_trimesh_on_closed_open_and_flipped_meshes():
    box = trimesh.creation.box((2, 3, 4))
    far = trimesh.creation.icosphere(2, radius=1.0)
    far.apply_translation((10, 0, 0))
    pair = trimesh.util.concatenate([box, far])
    labels = closed_oriented_components(np.asarray(pair.faces, np.int64), len(pair.vertices))
    assert labels is not None and len(np.unique(labels)) == 2
    assert np.array_equal(labels == labels[0], np.arange(len(pair.faces)) < len(box.faces))

    opened = trimesh.Trimesh(box.vertices, box.faces[1:], process=False)
    flipped_faces = np.array(box.faces)
    flipped_faces[0] = flipped_faces[0][::-1]
    flipped = trimesh.Trimesh(box.vertices, flipped_faces, process=False)
    for mesh in (opened, flipped):
        assert closed_oriented_components(np.asarray(mesh.faces, np.int64), len(mesh.vertices)) is None
        result = check_mesh(mesh)
        assert (result["watertight"], result["winding_consistent"]) == _trimesh_verdict(mesh)
        assert not result["ok"]


def test_check_mesh_volume_area_bodies_and_cavities_match_formulas():
    outer = trimesh.creation.box((4, 4, 4))
    inner = trimesh.creation.box((2, 2, 2))
    inner.invert()                                          # a sealed cavity
    hollow = trimesh.util.concatenate([outer, inner])
    result = check_mesh(hollow)
    assert result["volume_mm3"] == pytest.approx(64 - 8, rel=1e-12)
    assert result["area_mm2"] == pytest.approx(6 * 16 + 6 * 4, rel=1e-12)
    assert (result["bodies"], result["cavities"]) == (1, 1)
    assert result["manifold_volume_mm3"] == pytest.approx(56, rel=1e-9) and result["ok"]


def test_validity_is_analysed_once_per_shape_and_kept_apart_for_moved_copies(monkeypatch):
    solid = cq.Solid.makeBox(3, 4, 5)
    moved = solid.moved(cq.Location(cq.Vector(1, 0, 0)))
    calls = []
    real = validity.BRepCheck_Analyzer

    def counting(shape):
        calls.append(shape)
        return real(shape)

    monkeypatch.setattr(validity, "BRepCheck_Analyzer", counting)
    assert validity.is_valid(solid) and validity.is_valid(cq.Shape.cast(solid.wrapped))
    assert validity.is_valid(solid.Solids()[0])                # a new wrapper of the same shape
    assert len(calls) == 1
    assert validity.is_valid(moved) and len(calls) == 2       # another location: analysed
    assert validity.is_valid(solid) == bool(BRepCheck_Analyzer(solid.wrapped).IsValid())


def test_validity_cache_keeps_only_the_latest_shapes():
    shapes = [cq.Solid.makeBox(1 + i, 1, 1) for i in range(validity.CACHE_SIZE + 5)]
    for shape in shapes:
        assert validity.is_valid(shape)
    assert len(validity._answers) == validity.CACHE_SIZE
    assert any(known[0].IsEqual(shapes[-1].wrapped) for known in validity._answers.values())
    assert not any(known[0].IsEqual(shapes[0].wrapped) for known in validity._answers.values())


@pytest.mark.slow
def test_demo_in_two_workers_writes_every_type_checked(tmp_path):
    from implants.cli import app
    from implants.registry import templates

    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--workers", "2", "--json"])
    assert result.exit_code == 0, result.output
    manifests = json.loads(result.stdout)
    assert [m["type"] for m in manifests] == [t.type_id for t in templates()]
    for manifest in manifests:
        folder = tmp_path / manifest["type"]
        assert manifest["checks"]["ok"]
        assert sorted(p.suffix for p in folder.iterdir()) == [".3mf", ".glb", ".json", ".png", ".step", ".stl"]
