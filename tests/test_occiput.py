"""The packaged occiput C0 (issue 16): a closed skull base in the cervical set's frame whose condyles
rest on the real C1's superior facets, with an open foramen magnum and a clivus of published size
and direction (implants.anatomy.occiput)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from implants.anatomy.occiput import DIMENSIONS, c1_superior_facets, landmarks
from implants.anatomy.packaged import LEVELS, catalogue, load


@pytest.fixture(scope="module")
def c0():
    return load("C0")


@pytest.fixture(scope="module")
def c1():
    return load("C1")


@pytest.fixture(scope="module")
def marks():
    return landmarks()


def test_c0_is_first_in_the_catalogue_with_its_description():
    assert list(LEVELS)[:2] == ["C0", "C1"]
    row = catalogue()[0]
    assert row["level"] == "C0"
    assert row["description"] == "occiput (skull base: condyles, foramen magnum, clivus)"
    assert row["source"] == "occiput-parametric" and row["triangles"] > 10000


def test_c0_is_one_closed_outward_shell(c0):
    assert c0.is_watertight and c0.is_winding_consistent
    assert c0.body_count == 1
    assert 40_000 < c0.volume < 120_000  # mm³: a skull base, not a cap or a block


def test_every_dimension_names_its_source():
    for name, dim in DIMENSIONS.items():
        assert dim.value > 0 and dim.unit in ("mm", "deg") and len(dim.source) > 20, name


def test_c1_superior_facets_match_published_condyle_size(c1):
    """The real C1's facets are the sockets of the condyles: ~23.5 × 11.4 mm, long axes converging
    anteriorly at ~32° to the sagittal plane (DIMENSIONS)."""
    for facet in c1_superior_facets(c1).values():
        assert facet.length_mm == pytest.approx(DIMENSIONS["condyle_length"].value, abs=3.0)
        assert facet.width_mm == pytest.approx(DIMENSIONS["condyle_width"].value, abs=2.0)
        assert facet.axis_angle_deg == pytest.approx(DIMENSIONS["condyle_axis_angle"].value, abs=4.0)
        assert facet.normal[2] > 0.5 and -np.sign(facet.centroid[1]) * facet.normal[1] > 0.3  # up and medial


def test_condyles_rest_on_c1_facets_without_penetration(c0, c1):
    for facet in c1_superior_facets(c1).values():
        points = c1.triangles_center[facet.faces]
        inside_c0 = trimesh.proximity.signed_distance(c0, points)  # positive inside C0
        assert -inside_c0.max() <= 0.5        # the facet touches the condyle (gap ≤ 0.5 mm)
        assert inside_c0.max() <= 0.5         # and does not enter it by more than 0.5 mm
        assert np.mean(-inside_c0 < 0.5) > 0.3  # congruent: a third of the facet within 0.5 mm
        near = c0.vertices[np.linalg.norm(c0.vertices - facet.centroid, axis=1) < 15.0]
        assert trimesh.proximity.signed_distance(c1, near).max() <= 0.5  # condyle not inside C1
        # the condyle's articular surface faces down and laterally
        close = np.linalg.norm(c0.triangles_center - facet.centroid, axis=1) < 6.0
        normal = c0.face_normals[close].mean(axis=0)
        assert normal[2] < -0.4 and np.sign(facet.centroid[1]) * normal[1] > 0.2


def test_foramen_magnum_is_open_with_published_size(c0, marks):
    centre, up = marks["foramen_centre"], marks["foramen_normal"]
    rays = c0.ray.intersects_any(np.array([centre - 60 * up, centre + 60 * up]), np.array([up, -up]))
    assert not rays.any()  # a ray along the foramen's axis passes through
    extent = {}
    for axis in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)):
        directions = np.array([axis, np.negative(axis)])
        hits, index, _ = c0.ray.intersects_location(np.array([centre, centre]), directions)
        extent[axis] = sum(np.linalg.norm(hits[index == i] - centre, axis=1).min() for i in (0, 1))
    assert extent[(1.0, 0.0, 0.0)] == pytest.approx(DIMENSIONS["foramen_magnum_length"].value, abs=1.5)
    assert extent[(0.0, 1.0, 0.0)] == pytest.approx(DIMENSIONS["foramen_magnum_width"].value, abs=1.5)


def test_clivus_rises_anterosuperiorly_from_the_basion(c0, marks):
    """The clivus's endocranial surface, found by rays cast forwards in the mid-sagittal plane from
    behind the basion, is a line at the published angle to the foramen plane, as long as published."""
    basion = marks["basion"]
    heights = np.arange(4.0, 40.0, 2.0)
    origins = np.array([[basion[0] - 10.0, 0.0, basion[2] + h] for h in heights])
    hits, _, _ = c0.ray.intersects_location(origins, np.tile([1.0, 0.0, 0.0], (len(origins), 1)),
                                                multiple_hits=False)
    xz = hits[:, [0, 2]] - basion[[0, 2]]
    assert len(xz) >= 12  # bone in front of the cranial cavity over most of the clivus's height
    slope = np.polyfit(xz[:, 1], xz[:, 0], 1)[0]  # x per z along the surface
    angle = np.degrees(np.arctan2(1.0, slope))
    assert angle == pytest.approx(DIMENSIONS["clivus_to_foramen_plane"].value, abs=4.0)
    apex = hits[np.argmax(hits[:, 2])]
    assert np.linalg.norm(apex - basion) == pytest.approx(DIMENSIONS["clivus_length"].value, abs=6.0)


def test_basion_lies_above_the_dens_at_the_design_interval(marks):
    dens_tip = load("C2").vertices[np.argmax(load("C2").vertices[:, 2])]
    gap = np.linalg.norm(marks["basion"] - dens_tip)
    assert gap == pytest.approx(DIMENSIONS["basion_dens_interval"].value, abs=0.5)
    assert marks["basion"][2] > dens_tip[2]
