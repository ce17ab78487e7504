"""Distraction spacer pair (type 3): two bodies, volumes against formulas, placement, facet geometry, bad input."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

import implants
from implants import ParameterError
from implants.geometry.frames import angle_between_deg
from implants.geometry.outlines import rounded_rectangle_area
from implants.implant_types.distraction_spacer import PRESETS, WINDOW_WALL_MM, DistractionSpacerParams, derive

TYPE = "distraction-spacer"


@cache
def built(preset: str = "c4-c5-left", **overrides):
    return implants.build(TYPE, preset=preset, **overrides)


FLAT = dict(facet_dome_mm=0.0)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_builds_two_valid_separate_bodies(preset):
    pair = built(preset)
    assert pair.shape.isValid()
    assert pair.bodies == 2
    assert set(pair.parts) == {"facet", "interbody"}
    for part in pair.parts.values():
        assert part.isValid() and len(part.Solids()) == 1
    assert pair.parts["facet"].intersect(pair.parts["interbody"]).Volume() == pytest.approx(0.0, abs=1e-9)
    assert sum(p.Volume() for p in pair.parts.values()) == pytest.approx(pair.volume_mm3(), rel=1e-6)
    for name in ("contact.facet.superior", "contact.facet.inferior", "contact.interbody.superior",
                 "contact.interbody.inferior"):
        assert pair.features[name].faces, name


def test_interbody_volume_is_net_area_times_centre_height():
    pair = built()
    p = pair.params
    wd, ww = p.interbody_depth_mm - 2 * WINDOW_WALL_MM, p.interbody_width_mm - 2 * WINDOW_WALL_MM
    net = rounded_rectangle_area(p.interbody_depth_mm, p.interbody_width_mm, p.corner_radius_mm) - \
        rounded_rectangle_area(wd, ww, min(1.0, min(wd, ww) / 3))
    assert pair.parts["interbody"].Volume() == pytest.approx(net * p.distraction_height_mm, rel=1e-6)


def test_facet_volume_is_ellipse_times_thickness_plus_domes():
    """Linear wedge over an ellipse: π·a·b·t; each dome of height c adds π·a·b·c/2 (paraboloid cap)."""
    for overrides in (FLAT, {}):
        pair = built(**overrides)
        p, g = pair.params, derive(pair.params)
        a, b = p.facet_length_mm / 2, p.facet_width_mm / 2
        expected = np.pi * a * b * (g.facet_thickness_mm + p.facet_dome_mm)
        assert pair.parts["facet"].Volume() == pytest.approx(expected, rel=2e-4)


def test_interbody_bounding_box_follows_documented_placement():
    for preset in ("c4-c5-left", "c5-c6-right"):
        pair = built(preset)
        p, g = pair.params, derive(pair.params)
        s = p.side.sign
        bb = pair.parts["interbody"].BoundingBox()
        y0 = s * p.interbody_offset_mm if p.interbody_offset_mm is not None else s * g.endplate[1] / 4
        rise = np.tan(np.radians(p.coronal_deg) / 2) * p.interbody_width_mm / 2
        assert (bb.xmin, bb.xmax) == pytest.approx((-p.interbody_depth_mm / 2, p.interbody_depth_mm / 2), abs=1e-3)
        assert (bb.ymin, bb.ymax) == pytest.approx((y0 - p.interbody_width_mm / 2, y0 + p.interbody_width_mm / 2),
                                                   abs=1e-3)
        assert (bb.zmin, bb.zmax) == pytest.approx((-p.distraction_height_mm / 2 - rise,
                                                    p.distraction_height_mm / 2 + rise), abs=1e-3)
        # the facet spacer sits on the same (concave) side, behind the vertebral body
        fb = pair.parts["facet"].BoundingBox()
        assert s * fb.ymin > 0 and s * fb.ymax > 0
        assert fb.xmax < -g.endplate[0] / 2


def test_concave_side_is_taller_laterally_and_right_mirrors_left():
    left, right = built("c4-c5-left"), built("c4-c5-left", side="right")
    for pair, s in ((left, 1), (right, -1)):
        top = np.vstack([[v.toTuple() for v in f.tessellate(0.05, 0.2)[0]]
                         for f in pair.features["contact.interbody.superior"].faces])
        (_, _, slope_y), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(top)), top[:, :2]]), top[:, 2], rcond=None)
        assert s * slope_y == pytest.approx(np.tan(np.radians(3.0)), abs=1e-4)  # half of 6° per face
    assert left.volume_mm3() == pytest.approx(right.volume_mm3(), rel=1e-6)
    bl, br = left.parts["facet"].BoundingBox(), right.parts["facet"].BoundingBox()
    assert (bl.ymin, bl.ymax) == pytest.approx((-br.ymax, -br.ymin), abs=1e-3)


def test_facet_faces_lie_in_the_oblique_joint_plane():
    pair = built(**FLAT)
    p, g = pair.params, derive(pair.params)
    joint_normal = np.asarray(pair.features["facet.centre"].info["joint_normal"])
    assert angle_between_deg(joint_normal, (0, 0, 1)) == pytest.approx(p.facet_angle_deg, abs=1e-6)
    assert joint_normal[0] < 0  # the superior articular facet faces up and back
    for name, sign in (("contact.facet.superior", 1), ("contact.facet.inferior", -1)):
        feature = pair.features[name]
        normals = [np.asarray(f.normalAt().toTuple()) for f in feature.faces]
        for n in normals:
            assert angle_between_deg(n, feature.direction) < 0.05
        # each face is tilted from the joint plane by half the coronal angle
        assert angle_between_deg(feature.direction, sign * joint_normal) == pytest.approx(p.coronal_deg / 2, abs=1e-6)
    # thickness normal to the joint = vertical gap at the facet × cos(facet angle)
    gap = p.distraction_height_mm + 2 * np.tan(np.radians(p.coronal_deg) / 2) * (g.facet_centre[1] - g.interbody_centre[1])
    assert pair.metrics["facet_thickness_mm"] == pytest.approx(gap * np.cos(np.radians(45.0)), abs=1e-3)
    sup = np.asarray(pair.features["contact.facet.superior"].origin)
    inf = np.asarray(pair.features["contact.facet.inferior"].origin)
    assert np.dot(sup - inf, joint_normal) == pytest.approx(g.facet_thickness_mm, abs=1e-5)


def test_interbody_feature_axes():
    pair = built()
    up, down = pair.features["contact.interbody.superior"], pair.features["contact.interbody.inferior"]
    assert up.direction[2] > 0.99 and down.direction[2] < -0.99
    assert up.origin[2] - down.origin[2] == pytest.approx(pair.params.distraction_height_mm)
    assert pair.features["graft_window"].direction == (0.0, 0.0, 1.0)


def _bounds(field: str):
    info = DistractionSpacerParams.model_fields[field]
    low = high = None
    for meta in info.metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


BOUNDED = [f for f in DistractionSpacerParams.model_fields if any(_bounds(f))]


@pytest.mark.parametrize("field", BOUNDED)
def test_every_bound_is_enforced(field):
    low, high = _bounds(field)
    for value in ([low - 0.01] if low is not None else []) + ([high + 0.01] if high is not None else []):
        with pytest.raises(ParameterError, match=field):
            implants.get(TYPE).make_params(**{field: value})


@pytest.mark.parametrize("field, value", [("side", "up"), ("level", "C1-C2"), ("material", "steel")])
def test_bad_choices_are_named(field, value):
    with pytest.raises(ParameterError, match=field):
        implants.get(TYPE).make_params(**{field: value})


@pytest.mark.parametrize("overrides, field", [
    (dict(distraction_height_mm=11.0, interbody_width_mm=6.0), "distraction_height_mm"),  # taller than footprint
    (dict(distraction_height_mm=3.0, coronal_deg=15.0, interbody_width_mm=12.0), "distraction_height_mm"),
    (dict(facet_thickness_mm=9.5, facet_width_mm=7.0), "facet_thickness_mm"),
    (dict(facet_x_mm=-10.0), "facet_x_mm"),
])
def test_cross_field_rules_name_the_parameters(overrides, field):
    with pytest.raises(ParameterError, match=field):
        implants.get(TYPE).make_params(**overrides)


def test_export_of_the_pair_passes_every_check(tmp_path):
    result = implants.export(built(), tmp_path)
    assert result.manifest["checks"]["ok"] is True
    assert result.manifest["bodies"] == 2
    assert result.manifest["checks"]["mesh"]["volume_mm3"] == pytest.approx(built().volume_mm3(), rel=5e-3)
