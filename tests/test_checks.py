"""Checks: mesh checks, mesh vs B-rep volume, STEP re-read, footprint, contact area (against
known areas), penetration and the file report. Shapes built directly with CadQuery; one
contact test on the packaged real cervical meshes."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import cadquery as cq
import numpy as np
import pytest
import trimesh

from implants import ParameterError
from implants.checks.contact import contact_area
from implants.checks.footprint import footprint_area, mean_plane
from implants.checks.mesh import check_mesh, check_mesh_volume
from implants.checks.meshfile import read_mesh as load_mesh
from implants.checks.report import check_file
from implants.checks.step import check_step
from implants.writers.meshes import stl_bytes, threemf_bytes
from implants.writers.step import step_bytes
from implants.writers.tessellate import tessellate

from anatomy_files import ANATOMY  # the real meshes, made from the repository's data

TOL = 0.25


@cache
def mesh_of(name: str) -> trimesh.Trimesh:
    shapes = {
        "box": lambda: cq.Solid.makeBox(20, 10, 4, cq.Vector(-10, -5, 0)),
        "filleted_box": lambda: cq.Workplane().box(20, 30, 10).edges().fillet(2).val(),
        "cylinder": lambda: cq.Solid.makeCylinder(5, 20),
    }
    return tessellate(shapes[name](), 0.01).mesh


def plate(z0: float = 0.0, size=(20.0, 10.0, 2.0)) -> trimesh.Trimesh:
    """A box plate (x, y centred) whose inferior face is at z0: the implant in contact tests."""
    return tessellate(cq.Solid.makeBox(*size, cq.Vector(-size[0] / 2, -size[1] / 2, z0))).mesh


@cache
def slab() -> trimesh.Trimesh:
    """Closed endplate: a 60 x 60 x 5 slab whose superior face is the plane z = 0, finely meshed."""
    s = trimesh.creation.box(extents=(60, 60, 5))
    s.apply_translation((0, 0, -2.5))
    return s.subdivide().subdivide().subdivide()


# ---------------------------------------------------------------- mesh checks


@pytest.mark.parametrize("name,volume", [("box", 800.0), ("filleted_box", None), ("cylinder", np.pi * 25 * 20)])
def test_tessellated_solids_pass_every_mesh_check(name, volume):
    result = check_mesh(mesh_of(name))
    assert result["ok"] and result["failed"] == []
    assert result["watertight"] and result["winding_consistent"] and result["manifold"]
    assert result["bodies"] == 1 and result["manifold_status"] == "NoError"
    assert result["manifold_volume_mm3"] == pytest.approx(result["volume_mm3"], rel=1e-9)
    if volume is not None:
        assert result["volume_mm3"] == pytest.approx(volume, rel=2e-3)
    json.dumps(result)  # JSON-able as it is


def test_open_mesh_is_not_watertight_and_not_manifold():
    closed = mesh_of("box")
    opened = trimesh.Trimesh(closed.vertices, closed.faces[:-1], process=False)
    result = check_mesh(opened)
    assert not result["ok"]
    assert {"watertight", "manifold", "positive_volume"} <= set(result["failed"])
    assert result["volume_mm3"] is None


def test_inverted_mesh_has_negative_volume():
    inverted = mesh_of("box").copy()
    inverted.invert()
    result = check_mesh(inverted)
    assert result["failed"] == ["positive_volume", "bodies_ok"]
    assert (result["bodies"], result["cavities"]) == (0, 1)  # an inside-out shell encloses nothing
    assert result["volume_mm3"] == pytest.approx(-800.0)


def test_sealed_cavity_is_not_a_body():
    outer = mesh_of("box")
    cavity = outer.copy()
    cavity.apply_scale(0.5)
    cavity.apply_translation(outer.centroid - cavity.centroid)
    cavity.invert()
    hollow = trimesh.util.concatenate([outer, cavity])
    result = check_mesh(hollow)
    assert (result["bodies"], result["cavities"]) == (1, 1)
    assert result["volume_mm3"] == pytest.approx(800.0 * (1 - 0.125))


def test_body_count_against_expectation():
    two = trimesh.util.concatenate([mesh_of("box"), mesh_of("box").copy().apply_translation((50, 0, 0))])
    assert check_mesh(two, expected_bodies=1)["failed"] == ["bodies_ok"]
    assert check_mesh(two, expected_bodies=2)["ok"]
    assert check_mesh(two, expected_bodies=None)["ok"]


def test_edge_shared_by_four_triangles_fails_manifold():
    a = trimesh.creation.box(extents=(1, 1, 1))
    b = trimesh.creation.box(extents=(1, 1, 1))
    b.apply_translation((1, 1, 0))  # touches a along one edge only
    both = trimesh.util.concatenate([a, b])
    both.merge_vertices()
    result = check_mesh(both, expected_bodies=None)
    assert not result["manifold"] and not result["ok"]


def test_zero_area_triangle_is_a_warning():
    m = mesh_of("box")
    faces = np.vstack([m.faces, [[0, 0, 1]]])
    result = check_mesh(trimesh.Trimesh(m.vertices, faces, process=False))
    assert result["degenerate_triangles"] == 1 and result["warnings"]


def test_mesh_volume_against_brep_volume_within_the_deflection_bound():
    sphere = cq.Solid.makeSphere(10)
    for deflection in (0.2, 0.02):
        mesh = tessellate(sphere, deflection).mesh
        result = check_mesh_volume(mesh.volume, sphere.Volume(), mesh.area, deflection)
        assert result["ok"] and result["volume_difference_mm3"] <= result["volume_bound_mm3"]
    wrong = check_mesh_volume(mesh.volume, sphere.Volume() * 1.01, mesh.area, 0.02)
    assert not wrong["ok"] and wrong["failed"] == ["volume_matches_brep"]


# ---------------------------------------------------------------- STEP re-read


def test_step_reread_volume_and_bodies():
    cylinder = cq.Solid.makeCylinder(5, 20)
    data = step_bytes(cylinder)
    good = check_step(data, cylinder.Volume(), 1)
    assert good["ok"] and good["step_volume_rel_error"] < 1e-6 and good["step_solids"] == 1
    assert check_step(data, cylinder.Volume() * 1.01, 1)["failed"] == ["step_volume_ok"]
    assert check_step(data, cylinder.Volume(), 2)["failed"] == ["step_bodies_ok"]
    garbage = check_step(b"ISO-10303-21; nothing", 1.0, 1)
    assert not garbage["ok"] and garbage["failed"] == ["step_readable"]


# ---------------------------------------------------------------- footprint


def test_footprint_of_a_flat_face_is_its_area():
    m = plate()
    top = m.face_normals[:, 2] > 0.99
    assert footprint_area(m, top) == pytest.approx(200.0)
    centroid, normal = mean_plane(m, top)
    assert np.allclose(normal, [0, 0, 1]) and np.allclose(centroid, [0, 0, 2])


def test_footprint_of_a_dome_is_the_disc_under_it():
    # hemisphere of radius 10: its curved face projects onto a disc of area pi r^2
    dome = cq.Solid.makeSphere(10, angleDegrees1=0, angleDegrees2=90)
    tess = tessellate(dome, 0.005)
    curved = [k for k, f in enumerate(dome.Faces()) if f.geomType() == "SPHERE"]
    mask = np.isin(tess.face_index, curved)
    assert footprint_area(tess.mesh, mask) == pytest.approx(np.pi * 100, rel=2e-3)


def test_footprint_of_nothing_or_opposite_faces_is_a_parameter_error():
    m = plate()
    with pytest.raises(ParameterError, match="no triangles"):
        footprint_area(m, np.zeros(len(m.faces), bool))
    with pytest.raises(ParameterError, match="opposite"):
        footprint_area(m, np.abs(m.face_normals[:, 2]) > 0.99)


# ---------------------------------------------------------------- contact area


def test_plate_lying_on_a_plane_touches_with_its_whole_face():
    implant = plate(0.1)
    result = contact_area(implant, slab(), TOL, footprint_mm2=200.0)
    bottom = implant.face_normals[:, 2] < -0.99
    assert result.triangle_area_mm2[bottom].sum() == pytest.approx(200.0, rel=0.01)
    # plus the side walls up to z = 0.25: perimeter 60 mm x 0.15 mm
    assert result.area_mm2 == pytest.approx(200.0 + 60 * 0.15, rel=0.01)
    assert result.pct_footprint == pytest.approx(100 * result.area_mm2 / 200.0)
    assert result.pct_endplate == pytest.approx(100 * result.area_mm2 / slab().area)
    assert result.endplate_closed and result.max_penetration_mm == 0.0


def test_plate_beyond_the_tolerance_does_not_touch():
    result = contact_area(plate(0.3), slab(), TOL)
    assert result.area_mm2 == 0.0 and result.pct_endplate == 0.0


def test_tilted_plate_touches_along_a_known_strip():
    # rise 1 mm per 10 mm along x: the inferior face is within 0.25 mm for 0.25 / sin(a) mm
    angle = np.arctan(0.1)
    implant = plate().copy()
    implant.apply_translation((10, 0, 0))
    implant.apply_transform(trimesh.transformations.rotation_matrix(-angle, (0, 1, 0)))
    result = contact_area(implant, slab(), TOL)
    bottom = implant.face_normals @ np.array([np.sin(angle), 0, -np.cos(angle)]) > 0.99
    strip = 10.0 * TOL / np.sin(angle)
    assert result.triangle_area_mm2[bottom].sum() == pytest.approx(strip, rel=0.01)


def test_flat_plate_on_a_sphere_cap_touches_a_disc():
    # sphere of radius R under a plate at gap g: within tol where sqrt(r^2 + R^2) - R <= tol
    radius, gap = 20.0, 0.05
    cap = cq.Solid.makeSphere(radius).intersect(cq.Solid.makeBox(30, 30, 6, cq.Vector(-15, -15, radius - 6)))
    endplate = tessellate(cap, 0.003).mesh  # chords sag ≤ 3 µm: ~0.4 % less area than the true sphere
    implant = plate(radius + gap, size=(20.0, 20.0, 2.0))
    result = contact_area(implant, endplate, TOL)
    disc = np.pi * ((radius + TOL) ** 2 - (radius + gap) ** 2)
    assert result.area_mm2 == pytest.approx(disc, rel=0.01)


def test_penetration_into_a_closed_endplate_is_measured():
    shallow = contact_area(plate(-0.1), slab(), TOL)
    assert shallow.max_penetration_mm == pytest.approx(0.1, abs=1e-6)
    deep = contact_area(plate(-1.0), slab(), TOL)
    assert deep.max_penetration_mm == pytest.approx(1.0, abs=1e-6)
    # walls inside and outside the slab within 0.25 mm of its top: 2 x 0.25 x 60 mm
    assert deep.area_mm2 == pytest.approx(2 * TOL * 60, rel=0.01)


def test_open_endplate_surface_has_no_penetration_figure():
    top_only = slab().submesh([np.flatnonzero(slab().face_normals[:, 2] > 0.99)], append=True)
    result = contact_area(plate(-0.1), top_only, TOL)
    assert not result.endplate_closed and result.max_penetration_mm is None
    assert result.area_mm2 == pytest.approx(200.0 + 60 * 0.35, rel=0.01)


def test_contact_result_json_and_bad_input():
    result = contact_area(plate(0.1), slab(), TOL, footprint_mm2=200.0)
    data = json.loads(json.dumps(result.to_json()))
    assert data["contact_area_mm2"] == pytest.approx(result.area_mm2, abs=1e-3)
    with pytest.raises(ParameterError, match="tolerance"):
        contact_area(plate(), slab(), 0.0)
    with pytest.raises(ParameterError, match="endplate mesh"):
        contact_area(plate(), "not a mesh")


def test_real_disc_rests_on_the_c3_superior_endplate():
    disc = load_mesh(ANATOMY / "cervical_c2c3disc_mm.stl")
    c3 = load_mesh(ANATOMY / "cervical_c3_mm.stl")
    result = contact_area(disc, c3, TOL)
    lower = disc.face_normals[:, 2] < -0.5
    upper = disc.face_normals[:, 2] > 0.5
    lower_contact = result.triangle_area_mm2[lower].sum()
    # the disc's lower face conforms to C3: most of it is within 0.25 mm, its upper face is not
    assert lower_contact > 0.8 * disc.area_faces[lower].sum()
    assert result.triangle_area_mm2[upper].sum() < 0.01 * disc.area_faces[upper].sum()
    assert result.endplate_closed and result.max_penetration_mm < 0.5


# ---------------------------------------------------------------- file report


def test_check_file_on_a_good_stl_and_its_table(tmp_path):
    path = tmp_path / "part.stl"
    path.write_bytes(stl_bytes(mesh_of("filleted_box")))
    report = check_file(path)
    assert report.ok and report.failed == []
    data = json.loads(json.dumps(report.to_json()))
    assert data["ok"] and data["checks"]["mesh"]["watertight"]
    rows = {r[0]: r[1] for r in report.rows()}
    assert rows["watertight"] == "pass" and rows["manifold (manifold3d)"] == "pass"
    assert report.table().row_count == len(report.rows())


def test_check_file_reports_an_open_foreign_mesh(tmp_path):
    opened = trimesh.Trimesh(mesh_of("box").vertices, mesh_of("box").faces[:-2], process=False)
    path = tmp_path / "open.ply"
    opened.export(path)
    report = check_file(path)
    assert not report.ok and "mesh.watertight" in report.failed
    assert {r[0]: r[1] for r in report.rows()}["watertight"] == "FAIL"


def test_check_file_with_endplate_and_3mf(tmp_path):
    path = tmp_path / "plate.3mf"
    path.write_bytes(threemf_bytes(plate(0.1)))
    endplate = tmp_path / "slab.stl"
    endplate.write_bytes(stl_bytes(slab()))
    report = check_file(path, endplate=endplate, footprint_mm2=200.0, expected_bodies=1)
    assert report.ok and report.format == "3mf"
    assert report.contact.area_mm2 == pytest.approx(209.0, rel=0.01)
    assert report.to_json()["contact"]["pct_footprint"] == pytest.approx(104.5, rel=0.01)


def test_check_file_of_a_step_file(tmp_path):
    path = tmp_path / "part.step"
    path.write_bytes(step_bytes(cq.Solid.makeCylinder(5, 20)))
    report = check_file(path, expected_bodies=1)
    assert report.ok and report.format == "step"
    assert report.checks["step"]["step_volume_mm3"] == pytest.approx(np.pi * 500)


def test_check_file_bad_files_are_parameter_errors(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        check_file(tmp_path / "missing.stl")
    empty = tmp_path / "empty.stl"
    empty.write_bytes(b"")
    with pytest.raises(ParameterError, match="is empty"):
        check_file(empty)
    junk = tmp_path / "junk.stl"
    junk.write_bytes(b"\x00\x01 this is not a mesh at all" * 3)
    with pytest.raises(ParameterError, match="junk.stl"):
        check_file(junk)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ParameterError, match="unsupported format"):
        check_file(text)
    good = tmp_path / "good.stl"
    good.write_bytes(stl_bytes(mesh_of("box")))
    with pytest.raises(ParameterError, match="endplate file"):
        check_file(good, endplate=tmp_path / "missing-endplate.stl")
