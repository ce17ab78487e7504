"""Interbody cage (type 4): geometry against formulas, placement, features, angles, bad input."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from pydantic import ValidationError

import implants
from implants import ParameterError
from implants.geometry.outlines import rounded_rectangle_area
from implants.implant_types.interbody_cage import PRESETS, CageParams, derive

TEMPLATE = implants.get("interbody-cage")


@cache
def built(preset: str, **overrides):
    return implants.build("interbody-cage", preset=preset, **overrides)


FLAT_BOX = dict(footprint="box", endplate="flat", depth_mm=24.0, width_mm=30.0, corner_radius_mm=3.0,
                height_mm=11.0, lordosis_deg=10.0, coronal_deg=0.0, graft_windows=1, window_depth_mm=10.0,
                window_width_mm=12.0, teeth_height_mm=0.0)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_builds_one_valid_solid_at_the_requested_angles(preset):
    cage = built(preset)
    assert cage.shape.isValid()
    assert cage.bodies == 1
    angles = cage.metrics["segmental_angle_deg"]
    assert angles["sagittal_measured"] == pytest.approx(cage.params.lordosis_deg, abs=0.5)
    assert angles["coronal_measured"] == pytest.approx(cage.params.coronal_deg, abs=0.5)
    assert cage.features["contact.superior"].faces and cage.features["contact.inferior"].faces


def test_flat_wedge_volume_matches_formula():
    """A linear wedge over a footprint centred on the origin has volume = net area × centre height."""
    cage = built("lumbar-llif", **FLAT_BOX)
    window_r = min(1.5, FLAT_BOX["window_depth_mm"] / 3)
    net_area = (rounded_rectangle_area(24.0, 30.0, 3.0) - rounded_rectangle_area(10.0, 12.0, window_r))
    assert cage.volume_mm3() == pytest.approx(net_area * 11.0, rel=1e-6)


def test_flat_wedge_bounding_box_follows_documented_placement():
    cage = built("lumbar-llif", **FLAT_BOX)
    bb = cage.shape.BoundingBox()
    rise = np.tan(np.radians(5.0)) * 12.0  # half the lordosis on each face over half the depth
    assert (bb.xmin, bb.xmax) == pytest.approx((-12.0, 12.0), abs=1e-3)
    assert (bb.ymin, bb.ymax) == pytest.approx((-15.0, 15.0), abs=1e-3)
    assert (bb.zmin, bb.zmax) == pytest.approx((-5.5 - rise, 5.5 + rise), abs=1e-3)


def test_coronal_angle_raises_the_left_side():
    cage = built("lumbar-llif", **{**FLAT_BOX, "coronal_deg": 6.0})
    assert cage.metrics["segmental_angle_deg"]["coronal_measured"] == pytest.approx(6.0, abs=0.5)
    top = np.vstack([[v.toTuple() for v in f.tessellate(0.05, 0.2)[0]]
                     for f in cage.features["contact.superior"].faces])
    (_, slope_x, slope_y), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(top)), top[:, :2]]), top[:, 2],
                                                 rcond=None)
    assert slope_y == pytest.approx(np.tan(np.radians(3.0)), abs=1e-4)  # left (+y) is taller
    assert slope_x == pytest.approx(np.tan(np.radians(5.0)), abs=1e-4)


def test_congruent_faces_follow_the_synthetic_dome():
    cage = built("lumbar-alif")
    geometry = derive(cage.params)
    for name, field in (("contact.superior", geometry.upper), ("contact.inferior", geometry.lower)):
        vertices = np.vstack([[v.toTuple() for v in f.tessellate(0.02, 0.2)[0]]
                              for f in cage.features[name].faces])
        error = vertices[:, 2] - field(vertices[:, 0], vertices[:, 1])
        assert np.abs(error).max() < 0.01, name
    # the dome rises above the plane through the rim: apex height ≈ concavity
    assert geometry.superior_endplate.concavity_mm == pytest.approx(0.7)
    assert geometry.inferior_endplate.concavity_mm == pytest.approx(1.5)


def test_serrations_sit_on_the_faces_and_keep_the_angle():
    plain = built("lumbar-plif", teeth_height_mm=0.0)
    toothed = built("lumbar-plif")
    assert toothed.volume_mm3() > plain.volume_mm3()
    bb_plain, bb_teeth = plain.shape.BoundingBox(), toothed.shape.BoundingBox()
    assert bb_teeth.zmax - bb_plain.zmax == pytest.approx(0.6, abs=0.05)
    assert len(toothed.features["contact.superior"].faces) > 5


@pytest.mark.parametrize("preset,count", [("lumbar-alif-screws", 3), ("cervical-acdf-screws", 2),
                                          ("lumbar-alif-flange", 2)])
def test_screw_channels_are_published_and_open(preset, count):
    import cadquery as cq

    cage = built(preset)
    screws = [cage.features[f"screw.{i}"] for i in range(1, count + 1)]
    assert f"screw.{count + 1}" not in cage.features
    for i, screw in enumerate(screws):
        direction = np.array(screw.direction)
        assert direction[0] < 0, "screws are driven posteriorly from the anterior side"
        assert np.linalg.norm(direction) == pytest.approx(1.0)
        # a point on the axis inside the channel is not inside the material
        probe = np.array(screw.origin) + direction * 2.0
        assert not cage.shape.isInside(cq.Vector(*probe)), screw.name
    ups = [np.sign(s.direction[2]) for s in screws]
    assert 1 in ups and -1 in ups, "channels go into both adjacent bodies"


def test_graft_windows_are_through_holes():
    import cadquery as cq

    cage = built("lumbar-alif")
    for name in ("graft_window.1", "graft_window.2"):
        window = cage.features[name]
        x, y = window.origin[:2]
        assert not cage.shape.isInside(cq.Vector(x, y, 0.0)), name
    assert "graft_window.3" not in cage.features


def test_flange_reaches_both_vertebral_bodies():
    cage = built("lumbar-alif-flange")
    bb = cage.shape.BoundingBox()
    assert bb.zmax > 12.0 / 2 + 8.0 - 0.5 and bb.zmin < -(12.0 / 2 + 8.0) + 2.0
    assert bb.xmax == pytest.approx(14.0 + 3.0, abs=0.2)


def test_material_changes_mass_not_geometry():
    ti = built("cervical-acdf")
    assert ti.mass_g()["ti6al4v"] == pytest.approx(ti.volume_mm3() * 4.43e-3, abs=1e-4)
    assert ti.mass_g()["peek"] == pytest.approx(ti.volume_mm3() * 1.30e-3, abs=1e-4)


@pytest.mark.parametrize("field,value", [
    ("height_mm", -1.0), ("height_mm", 3.0), ("height_mm", 25.0), ("lordosis_deg", 21.0), ("lordosis_deg", -1.0),
    ("coronal_deg", 11.0), ("depth_mm", 7.0), ("width_mm", 61.0), ("graft_windows", 3), ("screw_count", 5),
    ("screw_diameter_mm", 7.0), ("teeth_height_mm", 2.0), ("corner_radius_mm", -0.5),
    ("footprint", "hexagon"), ("material", "steel"), ("height_mm", float("nan")), ("height_mm", "tall"),
])
def test_out_of_range_values_name_the_field(field, value):
    with pytest.raises(ParameterError, match=field):
        TEMPLATE.make_params(**{field: value})


def test_window_larger_than_footprint_is_rejected():
    with pytest.raises(ParameterError, match="window_depth_mm x window_width_mm"):
        TEMPLATE.make_params("cervical-acdf", window_depth_mm=20.0, window_width_mm=20.0)


def test_unknown_parameter_and_preset_are_rejected():
    with pytest.raises(ParameterError, match="unknown parameter 'colour'"):
        TEMPLATE.make_params(colour="red")
    with pytest.raises(ParameterError, match="preset 'nope'"):
        TEMPLATE.make_params("nope")


def test_cross_field_rules():
    with pytest.raises(ParameterError, match="thinnest edge"):
        TEMPLATE.make_params("lumbar-llif", height_mm=4.0, lordosis_deg=20.0)
    with pytest.raises(ParameterError, match="teeth_height_mm"):
        TEMPLATE.make_params("lumbar-alif", teeth_height_mm=0.5)
    with pytest.raises(ParameterError, match="apex_x_mm"):
        TEMPLATE.make_params("cervical-acdf", apex_x_mm=5.0)


def test_parameters_are_frozen_and_round_trip():
    params = TEMPLATE.make_params()
    assert CageParams.model_validate_json(params.model_dump_json()) == params
    with pytest.raises(ValidationError, match="frozen"):
        params.height_mm = 3.0


def test_regression_thick_banana_is_rejected_not_a_kernel_failure():
    """Found by the robustness sampling: a banana thicker than half its chord used to give 3 solids."""
    with pytest.raises(ParameterError, match="depth_mm"):
        implants.build("interbody-cage", preset="lumbar-plif", footprint="banana", coronal_deg=6.8)


def test_public_api_names_survive_subpackage_imports():
    import implants.implant_types.interbody_cage  # noqa: F401  subpackages no longer share a public name
    import implants.pipeline  # noqa: F401
    import implants.writers.manifest  # noqa: F401

    assert [t.type_id for t in implants.templates()] == implants.type_ids()
    assert callable(implants.export)


def test_regression_flange_on_an_oblique_footprint_is_one_solid():
    """Found by the robustness sampling: the flange was centred on y = 0, off a rotated bullet's front."""
    cage = built("lumbar-alif-flange", footprint="bullet", depth_mm=28.0, width_mm=32.0, graft_windows=0,
                 footprint_rotation_deg=-17.8, endplate="flat", teeth_height_mm=0.56, teeth_pitch_mm=1.0,
                 height_mm=6.5, lordosis_deg=3.0, flange_extension_mm=4.0)
    assert cage.bodies == 1 and cage.shape.isValid()


def test_integrated_screws_need_a_straight_cage():
    with pytest.raises(ParameterError, match="footprint_rotation_deg"):
        TEMPLATE.make_params("lumbar-alif-screws", footprint_rotation_deg=10.0)


def test_regression_serrations_on_a_tilted_oblique_box_mesh_watertight():
    """Found by the robustness sampling: OCCT left sub-mm² serration slivers unmeshed."""
    from implants.checks.mesh import check_mesh
    from implants.writers.tessellate import tessellate

    cage = built("lumbar-plif", corner_radius_mm=2.5, coronal_deg=9.4, footprint_rotation_deg=10.7)
    assert check_mesh(tessellate(cage.shape).mesh)["ok"]


def test_corner_radius_must_leave_straight_sides():
    with pytest.raises(ParameterError, match="corner_radius_mm"):
        TEMPLATE.make_params("lumbar-plif", corner_radius_mm=4.5)


def test_teeth_are_none_or_at_least_the_minimum_height():
    """Serrations of 1e-127 mm broke the kernel (issue 9): 0 or at least MIN_TEETH_MM."""
    from implants.implant_types.interbody_cage import MIN_TEETH_MM

    with pytest.raises(ParameterError, match="teeth_height_mm"):
        TEMPLATE.make_params("lumbar-plif", teeth_height_mm=1e-127)
    with pytest.raises(ParameterError, match="teeth_height_mm"):
        TEMPLATE.make_params("lumbar-plif", teeth_height_mm=MIN_TEETH_MM / 2)
    assert TEMPLATE.make_params("lumbar-plif", teeth_height_mm=MIN_TEETH_MM).teeth_height_mm == MIN_TEETH_MM
    assert TEMPLATE.make_params("lumbar-plif", teeth_height_mm=0.0).teeth_height_mm == 0.0


def test_flat_faces_are_exact_planes_with_the_volume_of_their_spline_approximation():
    """Flat bearing faces are built as planes (fast booleans, issue 18): the same solid as the
    B-spline approximation of those planes, to 1e-6 of its volume and area."""
    from implants.implant_types.interbody_cage import build_from_geometry

    params = TEMPLATE.make_params("lumbar-plif")
    cage = built("lumbar-plif")
    for name in ("contact.superior", "contact.inferior"):
        assert {face.geomType() for face in cage.features[name].faces} == {"PLANE"}, name
    spline = build_from_geometry(params, derive(params), clip_method="approximate")
    assert "BSPLINE" in {face.geomType() for face in spline.features["contact.superior"].faces}
    assert cage.volume_mm3() == pytest.approx(spline.volume_mm3(), rel=1e-6)
    assert cage.shape.Area() == pytest.approx(spline.shape.Area(), rel=1e-6)
