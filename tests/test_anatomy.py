"""Anatomy: vertebra mesh loading, endplate extraction on every shared mesh, disc space, the synthetic endplate sheet.

Figures checked against the anatomy MANIFEST (disc gaps, concavity; the meshes are packaged) and against independent
measures (ray casts through the meshes, the real conforming C2/C3 disc and VerSe end caps).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import trimesh

from implants.anatomy import packaged
from implants.anatomy.disc_space import disc_space
from implants.anatomy.endplates import extract_endplate
from implants.anatomy.meshes import axes_matrix, load_mesh
from implants.errors import ParameterError
from implants.geometry import outlines
from implants.geometry.frames import rotation_matrix
from implants.geometry.synthetic_endplate import APEX_FRACTION, SyntheticEndplate

from anatomy_files import ANATOMY  # the real meshes, made from the repository's data
from synthetic_endplates import synthetic_endplate_mesh

AXES = {"lumbar": "ALS", "cervical": "LPS", "verse004": "LAS"}  # verse004: raw voxel axes, see MANIFEST

#: (file stem, side) for every shared vertebra with an endplate on that side.
ENDPLATES = [(f"lumbar_mean_L{i}", s) for i in range(2, 6) for s in ("superior", "inferior")] + [
    ("lumbar_vhm_L4_body_flat", "superior"), ("lumbar_vhm_L4_body_flat", "inferior"),
    ("lumbar_vhm_L5_body_flat", "superior"), ("lumbar_vhm_L5_body_flat", "inferior"),
    ("cervical_c2", "inferior"), ("cervical_c3", "superior"), ("cervical_c3", "inferior"),
    ("verse004_L2", "superior"), ("verse004_L2", "inferior")]


@cache
def mesh(stem: str) -> trimesh.Trimesh:
    return load_mesh(ANATOMY / f"{stem}_mm.stl", AXES[stem.split("_")[0]])


@cache
def endplate(stem: str, side: str):
    return extract_endplate(mesh(stem), side)


@cache
def space(upper: str, lower: str):
    return disc_space(endplate(upper, "inferior"), endplate(lower, "superior"))


# --- loading ------------------------------------------------------------------------------------

def test_cervical_axes_place_the_body_anteriorly():
    raw = trimesh.load(ANATOMY / "cervical_c3_mm.stl")
    placed = mesh("cervical_c3")
    # LPS: mesh −y is anterior → patient +x is −(mesh y); volume and winding kept
    assert np.allclose(placed.bounds[:, 0], sorted(-raw.bounds[:, 1]))
    assert placed.volume == pytest.approx(raw.volume, rel=1e-9)
    ep = endplate("cervical_c3", "superior")
    assert ep.centroid[0] > placed.bounds[:, 0].mean()      # the body is in the anterior half


def test_mirror_axes_keep_outward_winding():
    m = load_mesh(ANATOMY / "cervical_c3_mm.stl", "RPS")
    assert m.is_watertight and m.volume > 0
    assert np.linalg.det(axes_matrix("RPS")) < 0


def test_obj_triangle_soup_is_merged(tmp_path):
    box = trimesh.creation.box((10, 20, 30))
    soup = box.triangles.reshape(-1, 3)
    lines = [f"v {x} {y} {z}" for x, y, z in soup] + [f"f {3 * i + 1} {3 * i + 2} {3 * i + 3}" for i in range(len(box.faces))]
    path = tmp_path / "soup.obj"
    path.write_text("\n".join(lines))
    m = load_mesh(path)
    assert len(m.vertices) == 8 and m.is_watertight
    assert m.volume == pytest.approx(6000.0)


@pytest.mark.parametrize("content, match", [(b"", "empty"), (b"solid nothing\nendsolid nothing\n", "no triangles"),
                                            (b"\x00\x01garbage" * 10, "mesh file")])
def test_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.stl"
    path.write_bytes(content)
    with pytest.raises(ParameterError, match=match):
        load_mesh(path)


def test_open_missing_and_unknown_files(tmp_path):
    box = trimesh.creation.box((5, 5, 5))
    box.update_faces(np.arange(len(box.faces) - 1))
    box.export(tmp_path / "open.stl")
    with pytest.raises(ParameterError, match="not closed"):
        load_mesh(tmp_path / "open.stl")
    with pytest.raises(ParameterError, match="does not exist"):
        load_mesh(tmp_path / "missing.stl")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ParameterError, match="extension"):
        load_mesh(tmp_path / "a.txt")


@pytest.mark.parametrize("axes", ["XYZ", "AAS", "AL", np.eye(3) * 2, np.ones((2, 3))])
def test_bad_axes(axes):
    with pytest.raises(ParameterError, match="axes"):
        axes_matrix(axes)


# --- endplates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("stem, side", ENDPLATES)
def test_endplate_on_every_shared_mesh(stem, side):
    ep = endplate(stem, side)
    m = mesh(stem)
    cervical = stem.startswith("cervical")
    lo, hi = (150, 450) if cervical else (1100, 2000)
    assert lo < ep.projected_area_mm2 < hi
    assert ep.projected_area_mm2 < ep.area_mm2 < 1.2 * ep.projected_area_mm2
    depth, width = ep.size_mm
    assert (14 < depth < 22 and 16 < width < 30) if cervical else (30 < depth < 42 and 40 < width < 58)
    # faces the disc: the normal points out of the bone, along ±z (C3 superior is tilted ~20°, L5 ~25°)
    assert ep.normal[2] * (1 if side == "superior" else -1) > 0.85
    # the endplate is the body's end: it is the extreme surface along the normal at its centroid
    probe = ep.frame.to_patient(np.array([[0.0, 0.0, 0.0]]))[0] + ep.normal * 50
    hits, _, _ = m.ray.intersects_location([probe], [-ep.normal])
    first = hits[np.argmin(np.linalg.norm(hits - probe, axis=1))]
    assert np.linalg.norm(first - ep.centroid) < 3.0
    # apex inside the rim, on the surface; smooth field close to the mesh
    assert outlines.contains(ep.outline_local, ep.apex_local[None, :2])[0]
    assert ep.fit_rms_mm < 0.1
    assert 0.0 <= ep.concavity_mm < 4.0


@pytest.mark.parametrize("stem", ["lumbar_vhm_L4_body_flat", "lumbar_vhm_L5_body_flat"])
def test_flat_endplate_control_has_no_concavity(stem):
    for side in ("superior", "inferior"):
        assert endplate(stem, side).concavity_mm < 0.1


def test_concave_lumbar_endplates():
    # MANIFEST: peak-to-valley 1.5–1.8 mm; ruler depth measured here 1.7–2.9 mm
    for i in range(2, 6):
        for side in ("superior", "inferior"):
            assert 1.2 < endplate(f"lumbar_mean_L{i}", side).concavity_mm < 3.2


def test_endplate_moves_with_the_mesh():
    rot = rotation_matrix((1.0, 0.5, 0.2), 12.0)
    shift = np.array([30.0, -20.0, 15.0])
    t = np.eye(4)
    t[:3, :3], t[:3, 3] = rot, shift
    moved = mesh("lumbar_mean_L4").copy()
    moved.apply_transform(t)
    a, b = endplate("lumbar_mean_L4", "superior"), extract_endplate(moved, "superior")
    assert np.linalg.norm(rot @ a.centroid + shift - b.centroid) < 1.0
    assert np.degrees(np.arccos(np.clip((rot @ a.normal) @ b.normal, -1, 1))) < 2.0
    assert b.area_mm2 == pytest.approx(a.area_mm2, rel=0.02)
    assert b.concavity_mm == pytest.approx(a.concavity_mm, abs=0.2)
    assert np.linalg.norm(rot @ a.apex + shift - b.apex) < 3.0


def test_endplate_of_a_turned_vertebra_with_its_up_direction():
    # a synthetic C5 sits on its C6 leaning ~34° further forward than its packaged frame: with the
    # packaged +z turned by that pose as ``up`` the extraction finds the same endplate as unturned
    base = packaged.load("C6")
    turn = np.eye(4)
    turn[:3, :3] = rotation_matrix((0.0, 1.0, 0.0), 34.0)
    turned = base.copy()
    turned.apply_transform(turn)
    for side in ("superior", "inferior"):
        a, b = extract_endplate(base, side), extract_endplate(turned, side, up=turn[:3, 2] * 5.0)
        assert b.size_mm == pytest.approx(a.size_mm, abs=0.3)
        assert b.concavity_mm == pytest.approx(a.concavity_mm, abs=0.2)
        assert b.area_mm2 == pytest.approx(a.area_mm2, rel=0.02)
        assert np.linalg.norm(turn[:3, :3] @ a.centroid - b.centroid) < 0.5
        assert (turn[:3, :3] @ a.normal) @ b.normal > np.cos(np.radians(1.0))


@pytest.mark.parametrize("up", [(0.0, 0.0, 0.0), (0.0, np.nan, 1.0), (0.0, 1.0)])
def test_bad_up_direction(up):
    with pytest.raises(ParameterError, match=r"^up: .* must be three finite numbers, not all zero"):
        extract_endplate(packaged.load("C6"), "superior", up=up)


def test_no_endplate_on_the_superior_side_of_c2():
    with pytest.raises(ParameterError, match="no superior endplate"):
        extract_endplate(mesh("cervical_c2"), "superior")
    with pytest.raises(ParameterError, match="side"):
        extract_endplate(mesh("cervical_c2"), "top")


def test_conforming_disc_lies_on_the_extracted_c2_c3_endplates():
    """Ground truth: the real C2/C3 disc; its vertices touching C3 (C2) fall inside the extracted
    superior (inferior) endplate's rim and on its height field."""
    disc = load_mesh(ANATOMY / "cervical_c2c3disc_mm.stl", "LPS")
    for stem, side in (("cervical_c3", "superior"), ("cervical_c2", "inferior")):
        ep = endplate(stem, side)
        _, dist, _ = trimesh.proximity.closest_point(mesh(stem), disc.vertices)
        touching = disc.vertices[dist < 0.2]
        local = ep.frame.to_local(touching)
        inside = outlines.contains(ep.outline_local, local[:, :2])
        assert len(touching) > 50 and inside.mean() > 0.9
        assert np.median(np.abs(ep.height(local[inside, 0], local[inside, 1]) - local[inside, 2])) < 0.3


def test_verse_caps_lie_on_the_extracted_endplates():
    """Ground truth: the VerSe PMMA end caps moulded on the L2 endplates."""
    for cap, side in (("verse004_L2_cap_a", "inferior"), ("verse004_L2_cap_b", "superior")):
        c = load_mesh(ANATOMY / f"{cap}_mm.stl", "LAS")
        ep = endplate("verse004_L2", side)
        _, dist, _ = trimesh.proximity.closest_point(mesh("verse004_L2"), c.vertices)
        local = ep.frame.to_local(c.vertices[dist < 0.5])
        inside = outlines.contains(ep.outline_local, local[:, :2])
        assert inside.mean() > 0.8
        assert np.median(np.abs(ep.height(local[inside, 0], local[inside, 1]) - local[inside, 2])) < 0.5


def test_bspline_face_follows_the_height_field():
    ep = endplate("lumbar_mean_L3", "inferior")
    face = ep.bspline_face()
    assert face.isValid()
    xs = np.linspace(-10, 10, 5)
    for x in xs:
        for y in xs:
            p = ep.frame.to_patient(np.array([[x, y, float(ep.height(x, y))]]))[0]
            import cadquery as cq

            assert cq.Vertex.makeVertex(*p).distance(face) < 1e-4  # the face is the field itself


# --- disc space ---------------------------------------------------------------------------------

@pytest.mark.parametrize("upper, lower, height, lo_deg, hi_deg", [
    ("lumbar_mean_L3", "lumbar_mean_L4", (8.3, 9.8), 3.0, 12.0),
    ("lumbar_mean_L4", "lumbar_mean_L5", (7.8, 9.3), 3.0, 14.0),
    ("cervical_c2", "cervical_c3", (1.4, 5.4), 0.0, 15.0)])
def test_disc_space(upper, lower, height, lo_deg, hi_deg):
    d = space(upper, lower)
    assert height[0] < d.height_mm < height[1]
    assert lo_deg < d.sagittal_deg < hi_deg and abs(d.coronal_deg) < 2.0
    assert 0 < d.min_gap_mm <= d.height_mm
    # independent: ray casts from the origin along ±z of the disc frame hit the two vertebrae
    origin, ez = d.frame.origin, d.frame.axes[2]
    up, _, _ = mesh(upper).ray.intersects_location([origin], [ez])
    down, _, _ = mesh(lower).ray.intersects_location([origin], [-ez])
    measured = np.linalg.norm(up - origin, axis=1).min() + np.linalg.norm(down - origin, axis=1).min()
    assert measured == pytest.approx(d.height_mm, abs=0.3)
    # the footprint lies inside both rims with the margin
    for ep in (d.upper, d.lower):
        rim = d.frame.to_local(ep.outline)[:, :2]
        assert outlines.contains(rim, d.footprint).all()
        assert outlines.min_distance_to_edges(rim, d.footprint).min() > d.margin_mm - 0.3
    assert d.footprint_area_mm2 < min(d.upper.projected_area_mm2, d.lower.projected_area_mm2)


def test_disc_space_errors():
    upper = mesh("lumbar_mean_L3")
    lower = mesh("lumbar_mean_L4")
    for shift, match in (((0, 0, 12.0), "overlap"), ((0, 0, -30.0), "too far"), ((0, 40.0, 0), "not adjacent")):
        moved = lower.copy()
        moved.apply_translation(shift)
        with pytest.raises(ParameterError, match=match):
            disc_space(endplate("lumbar_mean_L3", "inferior"), extract_endplate(moved, "superior"))
    with pytest.raises(ParameterError, match="margin_mm"):
        disc_space(upper, lower, margin_mm=30.0)
    with pytest.raises(ParameterError, match="inferior"):
        disc_space(endplate("lumbar_mean_L3", "superior"), endplate("lumbar_mean_L4", "superior"))


# --- synthetic endplate sheet (test helper for the congruent-cage checks) -----------------------

def test_synthetic_endplate_mesh():
    ep = SyntheticEndplate(34.0, 46.0, 1.5, APEX_FRACTION["lumbar"] * 17.0)
    m = synthetic_endplate_mesh(ep, superior=True, z0=5.0)
    assert m.vertices[:, 2].max() == pytest.approx(5.0)
    assert m.vertices[:, 2].min() == pytest.approx(5.0 - ep.concavity_mm, abs=0.02)
    assert m.face_normals[:, 2].mean() > 0.9
    assert m.area == pytest.approx(np.pi * ep.depth_mm * ep.width_mm / 4, rel=0.02)
    low = m.vertices[np.argmin(m.vertices[:, 2])]
    assert np.hypot(low[0] - ep.apex_x_mm, low[1]) < 1.0
    cervical = SyntheticEndplate(16.0, 19.5, 2.4, APEX_FRACTION["cervical"] * 8.0)
    inf = synthetic_endplate_mesh(cervical, superior=False, z0=-2.0)
    assert inf.vertices[:, 2].max() == pytest.approx(-2.0 + cervical.concavity_mm, abs=0.02)
    assert inf.face_normals[:, 2].mean() < -0.9
