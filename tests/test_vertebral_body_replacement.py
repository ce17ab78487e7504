"""Vertebral body replacement (type 5): volume formula, placement, heights, options, keyed two-piece, bad input."""

from __future__ import annotations

from functools import cache

import cadquery as cq
import numpy as np
import pytest

import implants
from implants import ParameterError
from implants.geometry.outlines import rounded_rectangle_area
from implants.implant_types.vertebral_body_replacement import PRESETS, REGIONS, VBRParams, build, derive

TYPE = "vertebral-body-replacement"


@cache
def built(preset: str = "cervical-1-level", **overrides):
    return implants.build(TYPE, preset=preset, **overrides)


FLAT = dict(endplate="flat", screw_fixation="none", footprint="box", depth_mm=14.0, width_mm=16.0,
            corner_radius_mm=3.0, column_inset_mm=1.0, platform_thickness_mm=3.0, graft_channel_mm=6.0,
            lordosis_deg=8.0)


def _inside(shape, point) -> bool:
    return shape.isInside(cq.Vector(*map(float, point)), 1e-4)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_builds_valid_solids(preset):
    vbr = built(preset)
    assert vbr.shape.isValid()
    assert vbr.bodies == (2 if vbr.params.two_piece else 1)
    assert vbr.features["contact.superior"].faces and vbr.features["contact.inferior"].faces
    assert vbr.features["graft_channel"].diameter_mm > 0


def test_flat_column_volume_matches_formula():
    """Platforms (full footprint, t thick) + inset core − a vertical cylinder through the whole height;
    the tilted planes pass through the footprint centre so the lordosis does not change the volume."""
    vbr = built(**FLAT)
    h = vbr.metrics["height_mm"]
    assert h == pytest.approx(14.0 + 2 * 5.0)
    full = rounded_rectangle_area(14.0, 16.0, 3.0)
    core = rounded_rectangle_area(12.0, 14.0, 2.0)
    expected = core * (h - 6.0) + full * 6.0 - np.pi * 3.0 ** 2 * h
    assert vbr.volume_mm3() == pytest.approx(expected, rel=1e-6)


def test_flat_column_bounding_box_follows_documented_placement():
    vbr = built(**FLAT)
    bb = vbr.shape.BoundingBox()
    rise = np.tan(np.radians(4.0)) * 7.0
    assert (bb.xmin, bb.xmax) == pytest.approx((-7.0, 7.0), abs=1e-3)
    assert (bb.ymin, bb.ymax) == pytest.approx((-8.0, 8.0), abs=1e-3)
    assert (bb.zmin, bb.zmax) == pytest.approx((-12.0 - rise, 12.0 + rise), abs=1e-3)


@pytest.mark.parametrize("region, levels", [("cervical", 6), ("thoracic", 3), ("lumbar", 5)])
def test_height_spans_the_replaced_bodies_and_discs(region, levels):
    p = implants.get(TYPE).make_params(region=region, levels=levels)
    r = REGIONS[region]
    assert derive(p).height_mm == pytest.approx(levels * r.body_height + (levels + 1) * r.disc_height)


def test_yang_c3_t1_preset_spans_six_levels():
    vbr = built("yang-c3-t1")
    assert vbr.metrics["levels"] == 6
    assert vbr.metrics["height_mm"] == pytest.approx(6 * 14.3 + 7 * 5.0)
    bb = vbr.shape.BoundingBox()
    assert bb.zlen > 6 * 14.3 + 7 * 5.0


def test_congruent_platforms_follow_the_synthetic_dome_and_a_plugged_in_field():
    vbr = built("cervical-zero-profile")
    g = derive(vbr.params)
    assert g.superior_endplate.concavity_mm == pytest.approx(REGIONS["cervical"].concavity[1])
    for name, field in (("contact.superior", g.upper), ("contact.inferior", g.lower)):
        pts = np.vstack([[v.toTuple() for v in f.tessellate(0.02, 0.2)[0]] for f in vbr.features[name].faces])
        assert np.abs(pts[:, 2] - field(pts[:, 0], pts[:, 1])).max() < 0.01, name

    def tilted_bowl(x, y):  # a "fitted" endplate: any recess with the signature of SyntheticEndplate.recess
        return 1.2 - 0.004 * (x + 1.0) ** 2 - 0.003 * y ** 2 + 0.02 * y

    custom = build(vbr.params, superior_recess=tilted_bowl)
    gc = derive(vbr.params, superior_recess=tilted_bowl)
    pts = np.vstack([[v.toTuple() for v in f.tessellate(0.02, 0.2)[0]] for f in custom.features["contact.superior"].faces])
    plane = gc.upper_plane(pts[:, 0], pts[:, 1])
    assert np.abs(pts[:, 2] - plane - tilted_bowl(pts[:, 0], pts[:, 1])).max() < 0.01


def _xmax(shape) -> float:
    """Most anterior point of a shape (from a fine tessellation; BoundingBox pads by its tolerance)."""
    vertices, _ = shape.tessellate(0.005, 0.1)
    return max(v.x for v in vertices)


def test_zero_profile_has_nothing_proud_of_the_column_and_flange_does():
    zero, flange = built("cervical-zero-profile"), built("cervical-1-level")
    g = derive(zero.params)
    assert _xmax(zero.shape) == pytest.approx(g.front_x, abs=0.02)
    assert _xmax(flange.shape) == pytest.approx(
        REGIONS["cervical"].endplate_depth / 2 + flange.params.flange_thickness_mm, abs=0.02)


@pytest.mark.parametrize("preset", ["cervical-zero-profile", "cervical-1-level"])
def test_screw_channels_aim_into_the_adjacent_bodies_and_are_open(preset):
    vbr = built(preset)
    screws = [f for n, f in vbr.features.items() if n.startswith("screw.")]
    assert len(screws) == 4
    for s in screws:
        d = np.asarray(s.direction)
        up = 1 if s.info["end"] == "superior" else -1
        assert d[0] < 0 and up * d[2] > 0  # posterior, towards the adjacent body
        assert s.diameter_mm == pytest.approx(REGIONS["cervical"].screw)
        # the axis is empty just inside the entry and at mid-length, material lies beside it
        for t in (0.3, 0.5 * s.length_mm):
            assert not _inside(vbr.shape, np.asarray(s.origin) + t * d)
    zero = [np.asarray(f.direction) for n, f in built("cervical-zero-profile").features.items() if n.startswith("screw.")]
    assert all(abs(np.degrees(np.arcsin(abs(d[2])))) == pytest.approx(40.0, abs=1e-6) for d in zero)


def test_pedicle_holes_one_per_side_and_level():
    vbr = built("thoracic-pedicle-holes")
    holes = [f for n, f in vbr.features.items() if n.startswith("pedicle_hole.")]
    assert len(holes) == 2 * vbr.params.levels == vbr.metrics["pedicle_hole_count"]
    assert {f.info["side"] for f in holes} == {"left", "right"}
    for f in holes:
        d = np.asarray(f.direction)
        assert d[0] > 0 and abs(d[2]) < 1e-9  # from posterior, aimed anteriorly in the axial plane
        assert np.sign(f.origin[1]) == -np.sign(d[1])  # converging medially
        assert f.diameter_mm == pytest.approx(REGIONS["thoracic"].pedicle_screw)
        mid = np.asarray(f.origin) + d * f.length_mm / 2
        assert not _inside(vbr.shape, mid)
        assert _inside(vbr.shape, mid + np.array([0, 0, f.diameter_mm / 2 + 0.5]))


def test_rod_clamp_bore_is_rod_plus_clearance_with_a_hinge_pin():
    vbr = built("thoracic-rod-clamps")
    p = vbr.params
    for side in ("left", "right"):
        clamp = vbr.features[f"rod_clamp.{side}"]
        bore = REGIONS["thoracic"].rod + p.rod_clearance_mm
        assert clamp.diameter_mm == pytest.approx(bore)
        c = np.asarray(clamp.origin) + [0, 0, clamp.length_mm / 2]
        assert not _inside(vbr.shape, c)
        assert not _inside(vbr.shape, c + [bore / 2 - 0.05, 0, 0])
        assert _inside(vbr.shape, c + [bore / 2 + 0.1, 0, 0])     # ring wall just outside the bore
        assert abs(c[1]) == pytest.approx(REGIONS["thoracic"].rod_spacing / 2)
        hinge = vbr.features[f"hinge.{side}"]
        h = np.asarray(hinge.origin) + [0, 0, hinge.length_mm / 2]
        assert not _inside(vbr.shape, h)
        assert _inside(vbr.shape, h + [0, 0, 0] + np.array([p.hinge_pin_mm / 2 + 0.2, 0, 0]))


def test_wire_eyelets_four_lateral_bores():
    vbr = built("thoracic-wire-eyelets")
    eyes = [f for n, f in vbr.features.items() if n.startswith("eyelet.")]
    assert len(eyes) == 4
    for f in eyes:
        c = np.asarray(f.origin) + [0, 0, f.length_mm / 2]
        assert f.diameter_mm == pytest.approx(vbr.params.wire_hole_mm)
        assert not _inside(vbr.shape, c)
        assert _inside(vbr.shape, c + np.sign(c[1]) * np.array([0, f.diameter_mm / 2 + 0.7, 0]))


def test_two_piece_halves_do_not_overlap_reassemble_and_interlock():
    two = built("lumbar-two-piece")
    one = built("lumbar-two-piece", two_piece=False)
    left, right = two.parts["left"], two.parts["right"]
    assert left.isValid() and right.isValid()
    assert two.params.joint_clearance_mm == pytest.approx(0.1)  # default: a printable gap
    assert left.intersect(right).Volume() == pytest.approx(0.0, abs=1e-6)
    assert left.Volume() + right.Volume() == pytest.approx(one.volume_mm3(), rel=5e-3)  # issue 5: within 0.5 %
    assert left.BoundingBox().ymin < -1.0  # the keys reach into the right half
    tight = built("lumbar-two-piece", joint_clearance_mm=0.02)  # the smallest gap: the halves are nearly the one piece
    assert tight.parts["left"].Volume() + tight.parts["right"].Volume() == pytest.approx(one.volume_mm3(), rel=1e-3)
    # dovetail: blocked against sliding apart (y) and along x; free only along z (the assembly direction)
    for shift in ((0, 0.3, 0), (0.3, 0, 0), (-0.3, 0, 0)):
        moved = left.translate(cq.Vector(*shift))
        assert moved.intersect(right).Volume() > 0.01, shift
    assert two.features["joint.key.1"].info["joint"] == "dovetail"


def test_tongue_and_groove_with_clearance_leaves_a_gap():
    two = built("lumbar-two-piece", joint="tongue", joint_clearance_mm=0.2)
    left, right = two.parts["left"], two.parts["right"]
    assert left.intersect(right).Volume() == pytest.approx(0.0, abs=1e-6)
    assert left.translate(cq.Vector(0, 0.15, 0)).intersect(right).Volume() == pytest.approx(0.0, abs=1e-6)
    assert left.translate(cq.Vector(0.5, 0, 0)).intersect(right).Volume() > 0.01  # the tongue locks x


def _bounds(field: str):
    info = VBRParams.model_fields[field]
    low = high = None
    for meta in info.metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


BOUNDED = [f for f in VBRParams.model_fields if any(b is not None for b in _bounds(f))]


@pytest.mark.parametrize("field", BOUNDED)
def test_every_bound_is_enforced(field):
    low, high = _bounds(field)
    step = 1 if VBRParams.model_fields[field].annotation is int else 0.01
    for value in ([low - step] if low is not None else []) + ([high + step] if high is not None else []):
        with pytest.raises(ParameterError, match=field):
            implants.get(TYPE).make_params(**{field: value})


@pytest.mark.parametrize("overrides, field", [
    (dict(region="lumbar", levels=6), "levels"),
    (dict(graft_channel_mm=12.0), "graft_channel_mm"),
    (dict(two_piece=True, screw_fixation="flange"), "two_piece"),
    (dict(pedicle_holes=True, rod_clamps=True), "pedicle_holes"),
    (dict(depth_mm=30.0), "depth_mm"),
    (dict(height_mm=10.0, lordosis_deg=30.0), "height_mm"),
    (dict(region="sacral"), "region"),
])
def test_invalid_combinations_name_the_parameters(overrides, field):
    with pytest.raises(ParameterError, match=field):
        implants.get(TYPE).make_params(**overrides)


def test_export_two_piece_passes_every_check(tmp_path):
    result = implants.export(built("lumbar-two-piece"), tmp_path)
    assert result.manifest["checks"]["ok"] is True
    assert result.manifest["bodies"] == 2
    assert {"step", "stl"} <= set(result.paths)


def test_pedicle_wings_must_fit_each_level():
    """Wings taller than a level overlapped and stood proud of the end faces (issue 9)."""
    template = implants.get("vertebral-body-replacement")
    with pytest.raises(ParameterError, match="pedicle_holes"):
        template.make_params("thoracic-pedicle-holes", height_mm=20.0, platform_thickness_mm=1.5)
    assert template.make_params("thoracic-pedicle-holes", height_mm=20.0, pedicle_holes=False).height_mm == 20.0
