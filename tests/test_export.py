"""Export: tessellation (absolute deflection, face index, cleaning), STEP, STL/3MF/GLB, atomic
writes, manifest and the pipeline. Shapes are built directly with CadQuery."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from datetime import datetime
from functools import cache
from pathlib import Path

import cadquery as cq
import numpy as np
import pytest
import trimesh
from pydantic import Field

import implants
from implants import CheckError, ExportError, GeometryError, ParameterError
from implants.writers import atomic
from implants.writers.meshes import glb_bytes, load_mesh_bytes, stl_bytes, threemf_bytes
from implants.pipeline import export
from implants.writers.step import is_valid, read_step, read_step_bytes, step_bytes
from implants.writers.mesh_repair import _collapse_slivers, clean_triangles, merge_vertices
from implants.writers.tessellate import feature_mask, raw_triangulation, tessellate
from implants.model import Feature, Implant
from implants.params import NOT_A_MEDICAL_DEVICE, ImplantParams


# ---------------------------------------------------------------- shapes built directly


@cache
def box() -> cq.Solid:
    return cq.Solid.makeBox(20, 10, 4, cq.Vector(-10, -5, 0))


@cache
def filleted_box() -> cq.Solid:
    return cq.Workplane().box(20, 30, 10).edges().fillet(2).val()


@cache
def cylinder() -> cq.Solid:
    return cq.Solid.makeCylinder(5, 20)


@cache
def two_boxes() -> cq.Compound:
    return cq.Compound.makeCompound([cq.Solid.makeBox(5, 5, 5), cq.Solid.makeBox(5, 5, 5, cq.Vector(10, 0, 0))])


class BoxParams(ImplantParams):
    length_mm: float = Field(20.0, ge=1.0, le=100.0, description="x extent")


def box_implant(shape: cq.Shape | None = None, length_mm: float = 20.0) -> Implant:
    """A test implant: a filleted plate with named bearing faces (top and bottom)."""
    params = BoxParams(length_mm=length_mm)
    shape = shape if shape is not None else (
        cq.Workplane().box(length_mm, 10, 4).edges("|Z").fillet(2).val().translate(cq.Vector(0, 0, 2)))
    top = tuple(f for f in shape.Faces() if f.normalAt(f.Center()).z > 0.99)
    bottom = tuple(f for f in shape.Faces() if f.normalAt(f.Center()).z < -0.99)
    features = {"contact.superior": Feature("contact.superior", "surface", (0, 0, 4), (0, 0, 1), faces=top),
                "contact.inferior": Feature("contact.inferior", "surface", (0, 0, 0), (0, 0, -1), faces=bottom),
                "screw.1": Feature("screw.1", "channel", (0, 0, 4), (0, 0, -1), diameter_mm=3.0, length_mm=4.0)}
    return Implant(type_id="test-plate", params=params, shape=shape, features=features, preset="nominal",
                   metrics={"segmental_angle_deg": np.float64(0.0)})


# ---------------------------------------------------------------- tessellation


def test_box_tessellates_to_twelve_triangles_with_each_face_indexed():
    tess = tessellate(box())
    mesh = tess.mesh
    assert len(mesh.faces) == 12 and len(mesh.vertices) == 8
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(800.0, rel=1e-12)
    assert sorted(np.bincount(tess.face_index).tolist()) == [2] * 6
    # every triangle's normal equals the outward normal of its B-rep face: orientation honoured
    faces = box().Faces()
    for k, face in enumerate(faces):
        n = face.normalAt(face.Center()).toTuple()
        assert np.allclose(mesh.face_normals[tess.face_index == k], n, atol=1e-9)


def test_box_has_reversed_faces_so_the_winding_test_means_something():
    from OCP.TopAbs import TopAbs_REVERSED

    assert any(f.wrapped.Orientation() == TopAbs_REVERSED for f in box().Faces())


def test_filleted_box_raw_mesh_has_zero_area_triangles_and_the_cleaned_one_none():
    vertices, faces, _, used = raw_triangulation(filleted_box(), 0.02)
    assert used == 0.02
    merged_v, merged_f = merge_vertices(vertices, faces)
    assert (~clean_triangles(merged_v, merged_f)).sum() > 0  # the pitfall is real here
    mesh = tessellate(filleted_box(), 0.02).mesh
    assert mesh.area_faces.min() > 1e-10
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.body_count == 1


def test_curved_face_triangles_point_along_the_surface_normal():
    tess = tessellate(cylinder(), 0.01)
    side = [k for k, f in enumerate(cylinder().Faces()) if f.geomType() == "CYLINDER"][0]
    mask = tess.face_index == side
    centres = tess.mesh.triangles_center[mask]
    radial = centres.copy()
    radial[:, 2] = 0
    radial /= np.linalg.norm(radial, axis=1, keepdims=True)
    assert np.all(np.einsum("ij,ij->i", tess.mesh.face_normals[mask], radial) > 0.99)


@pytest.mark.parametrize("deflection", [0.1, 0.01])
def test_sphere_volume_error_stays_within_the_deflection_bound(deflection):
    sphere = cq.Solid.makeSphere(10)
    tess = tessellate(sphere, deflection)
    error = sphere.Volume() - tess.mesh.volume
    assert 0 < error <= tess.mesh.area * deflection  # chords lie inside a convex surface
    assert tess.deflection_mm == deflection


def test_finer_deflection_gives_a_closer_volume_and_does_not_touch_the_original():
    from OCP.BRep import BRep_Tool
    from OCP.TopLoc import TopLoc_Location

    sphere = cq.Solid.makeSphere(10)
    coarse = sphere.Volume() - tessellate(sphere, 0.1).mesh.volume
    fine = sphere.Volume() - tessellate(sphere, 0.005).mesh.volume
    assert fine < coarse / 5
    assert all(BRep_Tool.Triangulation_s(f.wrapped, TopLoc_Location()) is None for f in sphere.Faces())


def test_located_shape_is_meshed_where_it_is():
    moved = box().moved(cq.Location(cq.Vector(100, -50, 7)))
    mesh = tessellate(moved).mesh
    assert np.allclose(mesh.bounds, [[90, -55, 7], [110, -45, 11]])


def test_compound_of_two_solids_gives_two_bodies_and_indexes_all_faces():
    tess = tessellate(two_boxes())
    assert tess.mesh.body_count == 2 and tess.mesh.is_watertight
    assert sorted(set(tess.face_index.tolist())) == list(range(12))
    assert tess.mesh.volume == pytest.approx(250.0)


def test_feature_mask_selects_the_feature_triangles_only():
    implant = box_implant()
    tess = tessellate(implant.shape)
    top = feature_mask(tess, implant.shape, implant.features["contact.superior"])
    assert top.any()
    assert np.allclose(tess.mesh.face_normals[top], [0, 0, 1])
    assert tess.mesh.area_faces[top].sum() == pytest.approx(implant.features["contact.superior"].faces[0].Area(), rel=1e-3)
    bottom = feature_mask(tess, implant.shape, implant.features["contact.inferior"])
    assert not (top & bottom).any()


def test_feature_mask_rejects_foreign_faces_and_channel_features():
    implant = box_implant()
    tess = tessellate(implant.shape)
    foreign = Feature("contact.x", "surface", (0, 0, 0), faces=(box().Faces()[0],))
    with pytest.raises(GeometryError, match="not a face of the shape"):
        feature_mask(tess, implant.shape, foreign)
    with pytest.raises(GeometryError, match="screw.1"):
        feature_mask(tess, implant.shape, implant.features["screw.1"])


def test_sliver_between_two_triangles_is_collapsed_without_opening_the_mesh():
    # a closed tetrahedron-like mesh where edge a-b carries a zero-area sliver (a, b, m)
    v = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2], [1, 0, 0]], float)  # m = 4 on a-b
    a, b, c, d, m = range(5)
    faces = np.array([[a, m, c], [m, b, c],    # bottom-ish triangle a-b-c split at m
                      [a, b, m],               # the sliver
                      [b, a, d], [b, d, c], [c, d, a]])
    faces = np.where(np.arange(3)[None, :] == 0, faces, faces)  # (no-op, keeps shape)
    mesh = trimesh.Trimesh(v, faces, process=False)
    assert not mesh.is_watertight or mesh.area_faces.min() == 0
    new_faces, new_index = _collapse_slivers(v, faces, np.arange(len(faces)), 1e-10)
    fixed = trimesh.Trimesh(v, new_faces, process=False)
    assert fixed.area_faces.min() > 0
    assert fixed.is_watertight and fixed.is_winding_consistent
    assert len(new_index) == len(new_faces)


def test_bad_deflection_is_a_parameter_error():
    with pytest.raises(ParameterError, match="deflection"):
        tessellate(box(), 0.0)


# ---------------------------------------------------------------- STEP


def test_step_round_trip_keeps_volume_and_is_deterministic():
    data = step_bytes(filleted_box(), "test")
    assert data == step_bytes(filleted_box(), "test")
    assert b"'2000-01-01T00:00:00'" in data and b"PRODUCT('test','test'" in data
    back = read_step_bytes(data)
    assert len(back.Solids()) == 1 and is_valid(back)
    assert back.Volume() == pytest.approx(filleted_box().Volume(), rel=1e-6)


def test_step_of_a_compound_rereads_two_solids(tmp_path):
    path = tmp_path / "two.step"
    path.write_bytes(step_bytes(two_boxes()))
    back = read_step(path)
    assert len(back.Solids()) == 2 and back.Volume() == pytest.approx(250.0)


def test_invalid_brep_is_refused_before_export():
    open_solid = cq.Solid.makeSolid(cq.Shell.makeShell(box().Faces()[:5]))
    assert not is_valid(open_solid)
    with pytest.raises(GeometryError, match="not valid"):
        step_bytes(open_solid)


def test_read_step_of_missing_or_garbage_file_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        read_step(tmp_path / "none.step")
    bad = tmp_path / "bad.step"
    bad.write_text("not a step file")
    with pytest.raises(ParameterError, match="bad.step"):
        read_step(bad)


# ---------------------------------------------------------------- STL, 3MF, GLB


@pytest.mark.parametrize("shape", ["filleted_box", "two_boxes"])
@pytest.mark.parametrize("fmt,writer", [("stl", stl_bytes), ("3mf", threemf_bytes), ("glb", glb_bytes)])
def test_mesh_files_load_back_closed_with_the_same_volume(shape, fmt, writer):
    mesh = tessellate({"filleted_box": filleted_box, "two_boxes": two_boxes}[shape]()).mesh
    data = writer(mesh)
    assert data == writer(mesh)  # deterministic bytes
    back = load_mesh_bytes(data, fmt)
    assert back.is_watertight and back.is_winding_consistent
    assert back.body_count == mesh.body_count
    assert back.volume == pytest.approx(mesh.volume, rel=1e-6)


def test_binary_stl_layout():
    mesh = tessellate(box()).mesh
    data = stl_bytes(mesh, header="solid-looking header")
    assert len(data) == 84 + 50 * 12
    assert not data[:5].lower().startswith(b"solid")  # would read as ASCII STL
    assert int.from_bytes(data[80:84], "little") == 12


def test_3mf_is_core_spec_millimetre_with_one_object_per_body_and_fixed_zip_times():
    data = threemf_bytes(tessellate(two_boxes()).mesh, "pair")
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["[Content_Types].xml", "_rels/.rels", "3D/3dmodel.model"]
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    from lxml import etree

    root = etree.fromstring(archive.read("3D/3dmodel.model"))
    ns = {"m": "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"}
    assert root.get("unit") == "millimeter"
    objects = root.findall("m:resources/m:object", ns)
    assert [o.get("name") for o in objects] == ["pair body 1", "pair body 2"]
    assert len(root.findall("m:build/m:item", ns)) == 2
    # only core attributes: no foreign-namespace attribute (what lib3mf's strict reader refuses)
    for element in root.iter():
        assert all(not k.startswith("{") or k.startswith("{http://www.w3.org/XML/1998/namespace}")
                   for k in element.attrib)
    for obj in objects:
        n_vertices = len(obj.findall("m:mesh/m:vertices/m:vertex", ns))
        indices = [int(t.get(k)) for t in obj.findall("m:mesh/m:triangles/m:triangle", ns) for k in ("v1", "v2", "v3")]
        assert min(indices) == 0 and max(indices) == n_vertices - 1
    rels = etree.fromstring(archive.read("_rels/.rels"))
    assert rels[0].get("Target") == "/3D/3dmodel.model"


# ---------------------------------------------------------------- atomic writes


def test_write_files_writes_all_and_leaves_no_temporaries(tmp_path):
    out = tmp_path / "new" / "folder"
    paths = atomic.write_files(out, {"a.txt": b"A", "b.txt": b"B"})
    assert {p.name: p.read_bytes() for p in paths.values()} == {"a.txt": b"A", "b.txt": b"B"}
    assert sorted(os.listdir(out)) == ["a.txt", "b.txt"]


def test_failure_while_writing_leaves_nothing_and_keeps_the_existing_file(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_bytes(b"old")
    real = tempfile.mkstemp
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", failing)
    with pytest.raises(ExportError, match="No space left"):
        atomic.write_files(tmp_path, {"a.txt": b"new", "b.txt": b"B"})
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"old"


def test_output_folder_that_is_a_file_is_an_export_error(tmp_path):
    target = tmp_path / "out"
    target.write_text("I am a file")
    with pytest.raises(ExportError, match="is a file"):
        atomic.write_files(target, {"a.txt": b"A"})
    assert target.read_text() == "I am a file"


def test_read_only_output_folder_is_an_export_error(tmp_path, monkeypatch):
    # root ignores permission bits, so the read-only answer of the OS is simulated
    monkeypatch.setattr(atomic.os, "access", lambda path, mode: False)
    with pytest.raises(ExportError, match="not writable"):
        atomic.write_files(tmp_path, {"a.txt": b"A"})

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.undo()
    monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    with pytest.raises(ExportError, match="Permission denied"):
        atomic.write_files(tmp_path, {"a.txt": b"A"})
    assert os.listdir(tmp_path) == []


def test_file_names_must_be_plain(tmp_path):
    with pytest.raises(ExportError, match="invalid output file name"):
        atomic.write_files(tmp_path, {"../escape.txt": b"x"})


# ---------------------------------------------------------------- pipeline and manifest


@cache
def exported_plate() -> tuple[Path, object]:
    out = Path(tempfile.mkdtemp(prefix="export-test-"))
    return out, export(box_implant(), out)


def test_export_writes_every_format_and_the_manifest_with_hashed_names():
    out, result = exported_plate()
    stem = f"test-plate-{BoxParams().params_hash()}"
    assert {k: p.name for k, p in result.paths.items()} == {
        "step": f"{stem}.step", "stl": f"{stem}.stl", "3mf": f"{stem}.3mf", "glb": f"{stem}.glb",
        "manifest": f"{stem}.manifest.json"}
    assert sorted(os.listdir(out)) == sorted(p.name for p in result.paths.values())
    assert json.loads(result.paths["manifest"].read_text()) == result.manifest


def test_manifest_records_what_was_built_and_the_file_hashes():
    _, result = exported_plate()
    m = result.manifest
    implant = box_implant()
    assert m["type"] == "test-plate" and m["preset"] == "nominal"
    assert m["parameters"] == {"material": "ti6al4v", "length_mm": 20.0}
    assert m["version"] == implants.__version__
    assert m["not_a_medical_device"] == NOT_A_MEDICAL_DEVICE
    assert m["bodies"] == 1
    volume = implant.volume_mm3()
    assert m["mass_g"]["ti6al4v"] == pytest.approx(volume * 4.43 / 1000, rel=1e-4)
    assert m["mass_g"]["peek"] == pytest.approx(volume * 1.30 / 1000, rel=1e-4)
    assert m["features"]["screw.1"] == implant.features["screw.1"].to_json()
    assert m["features"]["contact.superior"]["faces"] == 1
    assert m["metrics"] == {"segmental_angle_deg": 0.0}
    assert m["tessellation"]["deflection_mm"] == implants.tolerances.DEFAULT_DEFLECTION_MM
    assert m["checks"]["ok"] is True and m["checks"]["failed"] == []
    for fmt in ("step", "stl", "3mf", "glb"):
        data = result.paths[fmt].read_bytes()
        assert m["files"][fmt] == {"name": result.paths[fmt].name, "sha256": hashlib.sha256(data).hexdigest(),
                                   "bytes": len(data)}
    assert datetime.fromisoformat(m["created"]).tzinfo is not None


def test_manifest_records_the_deflection_the_mesher_used_after_refining(tmp_path, monkeypatch):
    """When OCCT's mesher leaves a face without triangles, tessellate() re-meshes the whole shape
    finer (writers/tessellate.py, _mesh_every_face): the manifest must record the deflection the
    mesh was made with, and the requested one beside it (it recorded the requested one only)."""
    from OCP.BRepTools import BRepTools
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer

    from implants.writers import tessellate as tessellation

    requested = 0.05
    occt_mesher = tessellation.BRepMesh_IncrementalMesh

    def mesher_leaving_a_face_unmeshed_at_the_requested_deflection(shape, deflection, *args):
        mesher = occt_mesher(shape, deflection, *args)
        if deflection >= requested:
            BRepTools.Clean_s(TopExp_Explorer(shape, TopAbs_FACE).Current())
        return mesher

    monkeypatch.setattr(tessellation, "BRepMesh_IncrementalMesh",
                        mesher_leaving_a_face_unmeshed_at_the_requested_deflection)
    tess = tessellate(box_implant().shape, requested)
    assert tess.deflection_mm < requested  # refined
    manifest = export(box_implant(), tmp_path, formats=("stl",), deflection_mm=requested).manifest
    assert manifest["tessellation"]["deflection_mm"] == tess.deflection_mm
    assert manifest["tessellation"]["requested_deflection_mm"] == requested
    assert manifest["tessellation"]["triangles"] == len(tess.mesh.faces)


def test_exported_checks_hold_for_the_written_files():
    _, result = exported_plate()
    checks = result.manifest["checks"]
    volume = box_implant().volume_mm3()
    assert checks["mesh"]["watertight"] and checks["mesh"]["manifold"] and checks["mesh"]["bodies"] == 1
    assert checks["step"]["step_volume_mm3"] == pytest.approx(volume, rel=0.005)
    # footprint of the bearing faces: the filleted 20 x 10 rectangle
    plate_area = 20 * 10 - (4 - np.pi) * 2 ** 2
    assert checks["footprint"]["contact.superior"]["area_mm2"] == pytest.approx(plate_area, rel=1e-3)
    for fmt in ("stl", "3mf", "glb"):
        back = load_mesh_bytes(result.paths[fmt].read_bytes(), fmt)
        assert back.is_watertight and back.volume == pytest.approx(checks["mesh"]["volume_mm3"], rel=1e-6)
    assert read_step(result.paths["step"]).Volume() == pytest.approx(volume, rel=0.005)


def test_export_is_deterministic_except_the_manifest_time(tmp_path):
    _, first = exported_plate()
    second = export(box_implant(), tmp_path)
    for fmt in ("step", "stl", "3mf", "glb"):
        assert first.paths[fmt].read_bytes() == second.paths[fmt].read_bytes()
    a = {k: v for k, v in first.manifest.items() if k != "created"}
    b = {k: v for k, v in second.manifest.items() if k != "created"}
    assert a == b


def test_other_parameters_give_other_file_names(tmp_path):
    result = export(box_implant(length_mm=30.0), tmp_path, formats=("stl",))
    assert result.paths["stl"].name == f"test-plate-{BoxParams(length_mm=30.0).params_hash()}.stl"
    assert result.paths["stl"].name != exported_plate()[1].paths["stl"].name
    assert set(result.paths) == {"stl", "manifest"} and "step" not in result.manifest["checks"]


def test_failed_required_check_raises_and_writes_nothing(tmp_path, monkeypatch):
    from implants.checks import mesh as mesh_checks

    real = mesh_checks.check_mesh

    def broken(mesh, expected_bodies=1):
        result = real(mesh, expected_bodies)
        result.update(watertight=False, ok=False, failed=["watertight"])
        return result

    monkeypatch.setattr(mesh_checks, "check_mesh", broken)
    out = tmp_path / "out"
    with pytest.raises(CheckError, match="mesh.watertight"):
        export(box_implant(), out)
    assert not out.exists() or os.listdir(out) == []


def test_export_into_a_file_or_with_unknown_format_fails_cleanly(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export(box_implant(), target)
    with pytest.raises(ParameterError, match="'obj' is not supported"):
        export(box_implant(), tmp_path / "o", formats=("stl", "obj"))
    assert not (tmp_path / "o").exists()


def test_existing_files_are_replaced_whole(tmp_path):
    stem = f"test-plate-{BoxParams().params_hash()}"
    (tmp_path / f"{stem}.stl").write_bytes(b"old junk")
    result = export(box_implant(), tmp_path, formats=("stl",))
    assert result.paths["stl"].read_bytes() == exported_plate()[1].paths["stl"].read_bytes()


def test_export_with_an_endplate_reports_contact_on_the_bearing_face(tmp_path):
    slab = trimesh.creation.box(extents=(60, 60, 5))
    slab.apply_translation((0, 0, -2.5 - 0.1))  # 0.1 mm below the plate's inferior face
    result = export(box_implant(), tmp_path, formats=("stl",), endplate=slab)
    contact = result.manifest["checks"]["contact"]
    assert contact["bearing_surface"] == "contact.inferior"
    plate_area = 20 * 10 - (4 - np.pi) * 2 ** 2
    assert contact["bearing_contact_mm2"] == pytest.approx(plate_area, rel=0.01)
    assert contact["pct_footprint"] == pytest.approx(100.0 * contact["contact_area_mm2"] / plate_area, rel=1e-3)
    assert contact["max_penetration_mm"] == 0.0


def test_two_body_implant_exports_two_bodies(tmp_path):
    implant = Implant(type_id="test-pair", params=BoxParams(), shape=two_boxes(), features={})
    result = export(implant, tmp_path)
    assert result.manifest["bodies"] == 2 and result.manifest["checks"]["ok"]
    assert result.manifest["checks"]["step"]["step_solids"] == 2
    scene = trimesh.load(result.paths["3mf"])
    assert len(scene.geometry) == 2


def test_public_api_delegates_to_the_pipeline(tmp_path):
    result = implants.export(box_implant(), tmp_path, formats=("stl",))
    assert result.paths["stl"].is_file()
    report = implants.check(result.paths["stl"])
    assert report.ok and report.checks["mesh"]["expected_bodies"] == 1


# ---------------------------------------------------------------- small mesher holes


def test_small_holes_are_closed_with_matching_winding_and_large_ones_left():
    from implants.writers.mesh_repair import boundary_loops, fill_small_holes

    sphere = tessellate(cq.Solid.makeSphere(1.0), 0.01).mesh
    faces = np.asarray(sphere.faces)
    index = np.zeros(len(faces), dtype=np.int64)
    holed = np.delete(faces, [0], axis=0)  # one small triangular hole
    assert len(boundary_loops(holed)[0]) == 1
    closed, new_index, filled = fill_small_holes(sphere.vertices, holed, index[1:], max_perimeter_mm=2.0)
    assert filled == 1 and len(new_index) == len(closed)
    fixed = trimesh.Trimesh(sphere.vertices, closed, process=False)
    assert fixed.is_watertight and fixed.is_winding_consistent
    _, _, none = fill_small_holes(sphere.vertices, holed, index[1:], max_perimeter_mm=1e-3)
    assert none == 0


def test_thin_sliver_hole_is_zipped_shut():
    from collections import Counter

    from implants.writers.mesh_repair import _zip_polygon

    # an out-and-back loop along an arc, 6 µm wide: its projection is nearly degenerate
    t = np.linspace(0, 1, 5)
    out = np.column_stack([t, 0.2 * t ** 2, np.zeros(5)])
    back = out[::-1][1:-1] + [0, 0.006, 0]
    polygon = np.vstack([out, back])
    n = len(polygon)
    triangles = _zip_polygon(polygon)
    assert len(triangles) == n - 2
    directed = Counter((a, b) for tri in triangles for a, b in zip(tri, tri[1:] + tri[:1]))
    boundary = {(i, (i + 1) % n) for i in range(n)}
    assert all(directed[e] == 1 for e in boundary)  # winding follows the polygon
    inner = [e for e in directed if e not in boundary]
    assert all(directed[(b, a)] == 1 for a, b in inner)  # a consistent disc
    # diagonals cross the sliver (short), not along it (a fan would reach 1 mm)
    assert max(np.linalg.norm(polygon[a] - polygon[b]) for a, b in inner) < 0.3


def test_cage_plif_preset_exports_closed_without_hole_filling(tmp_path):
    """The serrated PLIF cage once left OCCT's mesher a 6 µm sliver (a hole to fill); the
    serrations now stop short of the rim, so the mesh is closed as meshed."""
    cage = implants.build("interbody-cage", preset="lumbar-plif")
    result = export(cage, tmp_path, formats=("step", "stl"))
    checks = result.manifest["checks"]
    assert checks["ok"] and checks["mesh"]["watertight"] and checks["mesh"]["manifold"]
    assert result.manifest["tessellation"]["holes_filled"] == 0
    assert checks["volume"]["volume_difference_rel"] < 1e-3
    assert checks["step"]["step_volume_rel_error"] < 0.005


@pytest.mark.slow
@pytest.mark.parametrize("preset", list(implants.get("interbody-cage").presets))
def test_every_cage_preset_exports_clean(preset, tmp_path):
    cage = implants.build("interbody-cage", preset=preset)
    result = export(cage, tmp_path)
    checks = result.manifest["checks"]
    assert checks["ok"], checks["failed"]
    assert checks["mesh"]["watertight"] and checks["mesh"]["winding_consistent"] and checks["mesh"]["manifold"]
    assert checks["mesh"]["bodies"] == 1
    assert checks["step"]["step_volume_rel_error"] < 0.005
    for fmt in ("stl", "3mf", "glb"):
        back = load_mesh_bytes(result.paths[fmt].read_bytes(), fmt)
        assert back.is_watertight and back.volume == pytest.approx(checks["mesh"]["volume_mm3"], rel=1e-6)
