"""Generated thoracic levels T1–T12 (implants.anatomy.thoracic, packaged as T<i>.npz) and the
landmark morph they are made with (implants.anatomy.morph).

The packaged meshes are measured back: closed single shells without crossing triangles, endplate
depth/width (extract_endplate) and body height against the morphometry table, spinous processes
overlapping the level below mid-thoracically, articular facets turned towards the coronal plane,
costal facets as dimples where the table puts them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import trimesh

from implants.anatomy import load, morph
from implants.anatomy.endplates import extract_endplate
from implants.anatomy.morphometry import (
    COSTAL_FACETS,
    TABLE,
    THORACIC_LEVELS,
    dimensions,
)
from implants.anatomy.thoracic import build_level, facet_normals
from implants.checks.mesh import check_mesh
from implants.errors import ParameterError

MID_THORACIC = ("T4", "T5", "T6", "T7", "T8", "T9")


@cache
def _level(name: str) -> trimesh.Trimesh:
    return load(name)


def _posterior_wall_x(mesh: trimesh.Trimesh) -> float:
    """Posterior body wall in the midline: the front of the largest gap (the canal) in x."""
    v = mesh.vertices
    midline = np.sort(v[(np.abs(v[:, 1]) < 2.5) & (np.abs(v[:, 2]) < 4) & (v[:, 0] < 0), 0])
    gap = int(np.argmax(np.diff(midline)))
    return float(midline[gap + 1])


@pytest.mark.parametrize("name", THORACIC_LEVELS)
def test_closed_single_shell_without_folds(name):
    mesh = _level(name)
    checks = check_mesh(mesh)
    assert checks["ok"], checks["failed"]
    assert checks["bodies"] == 1 and checks["volume_mm3"] > 0
    assert 6000 <= checks["triangles"] <= 10000
    assert morph.fold_report(mesh) == 0


@pytest.mark.parametrize("name", THORACIC_LEVELS)
def test_endplates_and_body_height_match_the_table(name):
    mesh, d = _level(name), dimensions(name)
    superior, inferior = extract_endplate(mesh, "superior"), extract_endplate(mesh, "inferior")
    for plate, suffix in ((superior, "upper"), (inferior, "lower")):
        depth, width = plate.size_mm
        assert depth == pytest.approx(d[f"endplate_depth_{suffix}"], abs=1.5)
        assert width == pytest.approx(d[f"endplate_width_{suffix}"], abs=1.5)
    height = superior.centroid[2] - inferior.centroid[2]
    assert height == pytest.approx((d["body_height_anterior"] + d["body_height_posterior"]) / 2, abs=1.5)
    # level frame: body centre at the origin, body axis along +z
    assert np.linalg.norm((superior.centroid + inferior.centroid)[:2] / 2) < 2.0
    assert superior.normal[2] > 0.95 and inferior.normal[2] < -0.95


def _spinous_tip(mesh: trimesh.Trimesh, d: dict) -> tuple[np.ndarray, np.ndarray]:
    v = mesh.vertices
    canal_wall = np.array([_posterior_wall_x(mesh) - d["canal_depth"], 0.0, 0.0])
    behind = v[(v[:, 0] < canal_wall[0]) & (np.abs(v[:, 1]) < 6)]
    return canal_wall, behind[np.argmax(np.linalg.norm(behind - canal_wall, axis=1))]


@pytest.mark.parametrize("name", THORACIC_LEVELS)
def test_spinous_process_length(name):
    d = dimensions(name)
    canal_wall, tip = _spinous_tip(_level(name), d)
    assert np.linalg.norm(tip - canal_wall) == pytest.approx(d["spinous_length"], rel=0.12)


@pytest.mark.parametrize("name", MID_THORACIC)
def test_mid_thoracic_spinous_tip_overlaps_the_level_below(name):
    mesh = _level(name)
    _, tip = _spinous_tip(mesh, dimensions(name))
    assert tip[2] < extract_endplate(mesh, "inferior").centroid[2] - 3.0


def test_spinous_processes_steepest_mid_thoracic():
    drops = {}
    for name in ("T1", "T7", "T12"):
        mesh = _level(name)
        canal_wall, tip = _spinous_tip(mesh, dimensions(name))
        drops[name] = np.degrees(np.arctan2(canal_wall[2] - tip[2], canal_wall[0] - tip[0]))
    assert drops["T7"] > drops["T1"] + 15 and drops["T7"] > drops["T12"] + 15


def _from_coronal_deg(normal: np.ndarray, facing: float) -> float:
    """Angle (deg) between a facet plane and the coronal plane in the transverse view, for a facet
    whose normal should face ``facing`` (+1 anterior, -1 posterior); 90 if it faces sideways."""
    return float(np.degrees(np.arctan2(abs(normal[1]), facing * normal[0])))


@pytest.mark.parametrize("name", THORACIC_LEVELS)
def test_articular_facets_in_the_thoracic_orientation(name):
    normals = facet_normals(_level(name))
    template = facet_normals(load("L1"))  # not in the level frame, but L1 stands upright: same transverse view
    for side in ("left", "right"):
        assert _from_coronal_deg(template[f"superior_{side}"], -1.0) > 70  # lumbar: near-sagittal
        assert _from_coronal_deg(normals[f"superior_{side}"], -1.0) < 40  # thoracic: facing posteriorly
        assert normals[f"superior_{side}"][2] > 0.3                       # ... and upwards
        inferior = _from_coronal_deg(normals[f"inferior_{side}"], 1.0)
        if name == "T12":  # the thoracolumbar transition: lumbar-type inferior facets
            assert inferior > 70
        else:
            assert inferior < 25 and normals[f"inferior_{side}"][2] < 0


def _facet_depths(name: str) -> tuple[trimesh.Trimesh, np.ndarray]:
    """The packaged level and how far each vertex lies inside the same level built without
    costal facets (mm, positive inwards along the vertex normal)."""
    mesh = _level(name)
    plain = build_level(name, costal_facets=False)
    inward = np.einsum("ij,ij->i", plain.vertices - mesh.vertices, plain.vertex_normals)
    return plain, inward


def _deepest_near(plain: trimesh.Trimesh, inward: np.ndarray, x: float, z: float, radius: float) -> float:
    deepest = []
    for lateral in (1.0, -1.0):
        hits, _, _ = plain.ray.intersects_location([[x, 0.0, z]], [[0.0, lateral, 0.0]])
        hit = hits[np.argmin(np.abs(hits[:, 1]))]
        near = np.linalg.norm(plain.vertices - hit, axis=1) < radius
        deepest.append(float(inward[near].max()))
    return min(deepest)


@pytest.mark.parametrize("name", ["T2", "T6", "T9"])
def test_demifacets_at_both_posterolateral_margins(name):
    d = dimensions(name)
    plain, inward = _facet_depths(name)
    height = d["body_height_posterior"]
    x = _posterior_wall_x(plain) + 0.18 * (d["endplate_depth_upper"] + d["endplate_depth_lower"]) / 2
    assert COSTAL_FACETS[name]["body_superior"] == COSTAL_FACETS[name]["body_inferior"] == "demi"
    for sign in (1.0, -1.0):
        assert _deepest_near(plain, inward, x, sign * 0.38 * height, 0.15 * height) > 1.5
    # at the front of the body there is no facet: the surface is where the template puts it
    assert _deepest_near(plain, inward, x + 0.6 * d["endplate_depth_upper"], 0.0, 0.15 * height) < 0.3


def test_t11_has_one_whole_facet_and_no_inferior_demifacet():
    d = dimensions("T11")
    plain, inward = _facet_depths("T11")
    height = d["body_height_posterior"]
    wall = _posterior_wall_x(plain)
    assert _deepest_near(plain, inward, wall + 1.5, 0.05 * height, 0.2 * height) > 1.5
    x = wall + 0.18 * (d["endplate_depth_upper"] + d["endplate_depth_lower"]) / 2
    assert _deepest_near(plain, inward, x, -0.38 * height, 0.12 * height) < 0.3


def test_transverse_costal_facets_only_t1_to_t10():
    assert all(COSTAL_FACETS[f"T{i}"]["transverse"] for i in range(1, 11))
    assert not COSTAL_FACETS["T11"]["transverse"] and not COSTAL_FACETS["T12"]["transverse"]


def test_table_records_unit_source_and_published_anchors():
    for dim in TABLE.values():
        assert len(dim.values) == 12 and dim.unit in ("mm", "deg") and dim.basis
        assert dim.status in ("estimate", "published")
        for level, (value, source) in dim.anchors.items():
            assert dim.at(level) == pytest.approx(value, abs=0.05) and source
    with pytest.raises(ParameterError, match="T13"):
        dimensions("T13")


# ----------------------------------------------------------------------------- the morph


def _box() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=3, radius=10.0)


def _landmarks() -> np.ndarray:
    return np.random.default_rng(7).uniform(-12, 12, size=(20, 3))


def test_identity_landmarks_give_the_identity():
    mesh = _box()
    result = morph.landmark_morph(mesh, _landmarks(), _landmarks())
    assert np.abs(result.mesh.vertices - mesh.vertices).max() < 1e-9
    assert result.max_residual_mm < 1e-9


def test_affine_landmarks_reproduce_the_affine():
    mesh = _box()
    matrix = np.array([[1.2, 0.1, 0.0], [0.0, 0.8, 0.2], [0.05, 0.0, 1.1]])
    shift = np.array([3.0, -2.0, 5.0])
    source = _landmarks()
    result = morph.landmark_morph(mesh, source, source @ matrix.T + shift)
    assert np.abs(result.mesh.vertices - (mesh.vertices @ matrix.T + shift)).max() < 1e-6
    assert result.mesh.is_watertight and result.mesh.volume == pytest.approx(mesh.volume * np.linalg.det(matrix),
                                                                              rel=1e-6)


def test_twist_keeps_distance_from_axis_and_volume():
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=10.0)
    moved = morph.twist(mesh.vertices, (0, 0, 0), (0, 0, 1), 90.0, radius_mm=3.0, falloff_mm=6.0,
                        start_mm=-5.0, full_mm=5.0)
    assert np.allclose(np.linalg.norm(moved[:, :2], axis=1), np.linalg.norm(mesh.vertices[:, :2], axis=1))
    assert np.allclose(moved[:, 2], mesh.vertices[:, 2])
    top = np.argmax(mesh.vertices[:, 2] - 10 * np.linalg.norm(mesh.vertices[:, :2], axis=1))  # on the axis, top
    assert np.allclose(moved[top], mesh.vertices[top], atol=1e-9)
    rho = np.linalg.norm(mesh.vertices[:, :2], axis=1)
    ring = np.flatnonzero((mesh.vertices[:, 2] > 6) & (rho > 0.5) & (rho < 3))
    angles = np.degrees(np.arctan2(moved[ring, 1], moved[ring, 0]) - np.arctan2(*mesh.vertices[ring][:, [1, 0]].T))
    assert np.allclose((angles + 180) % 360 - 180, 90.0)
    twisted = trimesh.Trimesh(moved, mesh.faces, process=False)
    assert twisted.volume == pytest.approx(mesh.volume, rel=0.01) and morph.fold_report(twisted) == 0
    with pytest.raises(ParameterError, match="falloff"):
        morph.twist(mesh.vertices, (0, 0, 0), (0, 0, 1), 90.0, 3.0, 0.0, -5.0, 5.0)


@pytest.mark.parametrize("source, target, field", [
    (np.zeros((5, 2)), np.zeros((5, 2)), "source_landmarks"),
    (np.eye(4, 3), np.eye(3), "target_landmarks"),
    (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], float), np.zeros((4, 3)), "source_landmarks"),
    (np.eye(4, 3), np.full((4, 3), np.nan), "target_landmarks"),
])
def test_bad_landmarks_raise_naming_the_field(source, target, field):
    with pytest.raises(ParameterError, match=field):
        morph.landmark_morph(_box(), source, target)
