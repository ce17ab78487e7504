"""The assembled spine C0–pelvis (issue 16, implants.anatomy.spine): the placement rule on endplates,
the curve parameters and their bounds, the assembled bones (order, closed, curve measured on the
placed endplates, real sets kept at their natural curve, lumbar change local to the lumbar spine,
overlaps) and ``implants anatomy spine`` (files, JSON, bad input)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from implants.anatomy.endplates import extract_endplate
from implants.anatomy.packaged import data_file
from implants.anatomy.spine import (SPINE_LEVELS, STORED_POSES, EndplatePose, SpineCurve, assemble, computed_pose,
                                    natural_curve, place_on, pose_fingerprint)
from implants.anatomy.spine_report import adjacent_overlaps, measured_curve
from implants.cli import app
from implants.errors import ParameterError
from implants.params import validate


def _pose(centre, tilt_deg):
    t = np.radians(tilt_deg)
    return EndplatePose(np.asarray(centre, float), np.array([np.sin(t), 0.0, np.cos(t)]))


@pytest.mark.parametrize("angle, height", [(0.0, 5.0), (12.0, 8.0), (-7.0, 3.0)])
def test_place_on_makes_the_asked_angle_and_height(angle, height):
    lower = _pose([10.0, 0.0, 100.0], 20.0)
    upper_own = _pose([-3.0, 0.0, -15.0], -5.0)
    transform = place_on(lower, upper_own, None, angle, height)
    upper = upper_own.moved(transform)
    assert lower.sagittal_deg - upper.sagittal_deg == pytest.approx(angle, abs=1e-9)
    bisector = (lower.up + upper.up) / np.linalg.norm(lower.up + upper.up)
    assert (upper.centre - lower.centre) @ bisector == pytest.approx(height, abs=1e-9)
    assert np.allclose(transform[:3, :3] @ transform[:3, :3].T, np.eye(3))  # rigid


def test_place_on_keeps_a_natural_pose_at_its_natural_angle_and_height():
    lower = _pose([0.0, 0.0, 0.0], 10.0)
    upper_own = _pose([2.0, 0.5, 9.0], 3.0)  # natural: 7° lordotic, centre offset 2 mm anteriorly
    assert np.allclose(place_on(lower, upper_own, np.eye(4), 7.0, None), np.eye(4))


@pytest.mark.parametrize("field, value, allowed", [("lumbar_lordosis_deg", 95, "10.0 to 80.0"),
                                                   ("thoracic_kyphosis_deg", -5, "0.0 to 80.0"),
                                                   ("cervical_lordosis_deg", 70, "-20.0 to 50.0"),
                                                   ("thoracic_disc_height_mm", 0.5, "2.0 to 12.0")])
def test_curve_out_of_range_is_a_parameter_error_naming_the_range(field, value, allowed):
    with pytest.raises(ParameterError, match=f"{field}.*allowed {allowed}"):
        validate(SpineCurve, {field: value})


def test_stored_endplate_poses_are_current():
    """Every stored pose still matches its bone's data (else assembling finds them again, slowly)."""
    with np.load(data_file("sacrum").parent / STORED_POSES) as data:
        stale = [str(k) for k, f in zip(data["keys"], data["fingerprints"]) if f != pose_fingerprint(*str(k).split(":"))]
    assert stale == [], "rerun tools/spine_endplates.py"


def test_unknown_level_is_refused_before_any_work():
    with pytest.raises(ParameterError, match="'T13'"):
        assemble(levels=("T12", "T13"))


@pytest.mark.parametrize("args, message", [(["--lumbar-lordosis", "120"], "--lumbar-lordosis = 120.0.*allowed 10.0 to 80.0 deg"),
                                           (["--thoracic-kyphosis", "-1"], "--thoracic-kyphosis.*allowed 0.0 to 80.0"),
                                           (["--format", "obj"], "--format 'obj': allowed stl, glb")])
def test_cli_bad_input_is_one_line_exit_3_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "spine"
    result = CliRunner().invoke(app, ["anatomy", "spine", "--out", str(out), *args])
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1
    assert re.search(message, result.output)
    assert not out.exists()


# ----------------------------------------------------------------------------- the assembled spine


@pytest.fixture(scope="module")
def spine():
    return assemble()


def test_every_level_present_in_order_and_closed(spine):
    assert [b.name for b in spine.bones] == list(SPINE_LEVELS)
    assert SPINE_LEVELS[0] == "C0" and SPINE_LEVELS[-1] == "pelvis" and len(SPINE_LEVELS) == 27
    for bone in spine.bones:
        assert bone.mesh.is_watertight and bone.mesh.body_count == 1, bone.name


def test_bodies_stack_from_the_pelvis_to_the_skull(spine):
    heights = [np.mean([p.centre[2] for p in (b.superior, b.inferior) if p is not None]) for b in spine.bones
               if b.superior is not None or b.inferior is not None]
    assert np.all(np.diff(heights) < -10.0)  # C2 … sacrum, each body at least 10 mm below the one above
    centroid = {b.name: b.mesh.centroid for b in spine.bones}
    assert centroid["C0"][2] > centroid["C1"][2] > centroid["C2"][2]
    assert 550.0 < centroid["C0"][2] - spine.bone("sacrum").superior.centre[2] < 750.0  # S1 to skull base


def test_measured_curve_matches_the_request(spine):
    for key, value in measured_curve(spine).items():
        assert value == pytest.approx(getattr(spine.curve, key), abs=1.0), key
    for disc in spine.discs:
        assert disc.height_mm > 1.0, (disc.upper, disc.lower)
    # the endplates found again on the placed meshes agree with the placed ones
    for name in ("L1", "T6", "C7"):
        bone = spine.bone(name)
        found = extract_endplate(bone.mesh, "inferior")
        assert np.degrees(np.arccos(np.clip(-found.normal @ bone.inferior.up, -1, 1))) < 1.0, name


def test_natural_curve_keeps_the_real_sets_as_they_are():
    natural = natural_curve()
    spine = assemble(SpineCurve(**natural), levels=("C2", "C3", "C7", "L1", "L5", "sacrum", "pelvis"))
    transform = {b.name: b.transform for b in spine.bones}
    for a, b in (("C2", "C3"), ("C3", "C7"), ("L1", "L5"), ("L5", "sacrum"), ("sacrum", "pelvis")):
        assert np.allclose(transform[a], transform[b], atol=1e-9), (a, b)
    assert np.allclose(transform["sacrum"], np.eye(4))
    assert 15.0 < natural["cervical_lordosis_deg"] < 30.0 and 40.0 < natural["lumbar_lordosis_deg"] < 55.0


def test_changing_lumbar_lordosis_changes_only_the_lumbar_spine(spine):
    other = assemble(spine.curve.model_copy(update={"lumbar_lordosis_deg": 65.0}))
    assert measured_curve(other)["lumbar_lordosis_deg"] == pytest.approx(65.0, abs=1.0)
    for key in ("cervical_lordosis_deg", "thoracic_kyphosis_deg"):
        assert measured_curve(other)[key] == pytest.approx(measured_curve(spine)[key], abs=1e-6)
    names = [b.name for b in spine.bones]
    relative = {}
    for s in (spine, other):
        t = {b.name: b.transform for b in s.bones}
        relative[id(s)] = [np.linalg.inv(t[lo]) @ t[up] for up, lo in zip(names, names[1:])]
    changed = [f"{up}/{lo}" for up, lo, a, b in zip(names, names[1:], relative[id(spine)], relative[id(other)])
               if not np.allclose(a, b, atol=1e-6)]
    assert changed == ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/sacrum"]


def test_adjacent_overlaps_stay_at_the_facet_joints(spine):
    """Measured at the defaults: C0–C7 and C7/T1 do not overlap; thoracic neighbours overlap by less
    than 100 mm³ and lumbar ones about as much as the Visible Human set does in its own position
    (240–640 mm³ per pair, both facet joints; the sacroiliac joints ~4.6 cm³)."""
    rows = {(r["upper"], r["lower"]): r for r in adjacent_overlaps(spine)}
    names = [b.name for b in spine.bones]
    for pair in zip(names[:8], names[1:9]):  # C0/C1 … C7/T1
        assert rows[pair]["volume_mm3"] < 1.0, pair
    for pair in zip(names[8:19], names[9:20]):  # T1/T2 … T11/T12
        assert rows[pair]["volume_mm3"] < 100.0 and rows[pair]["depth_mm"] < 2.0, pair
    for pair in zip(names[19:25], names[20:26]):  # T12/L1 … L5/sacrum
        assert rows[pair]["volume_mm3"] < 700.0 and rows[pair]["depth_mm"] < 4.0, pair


@pytest.mark.slow
def test_stored_endplate_poses_equal_the_ones_found_on_the_meshes():
    with np.load(data_file("sacrum").parent / STORED_POSES) as data:
        keys, fingerprints, centres, ups = data["keys"], data["fingerprints"], data["centres"], data["ups"]
    assert len(keys) == 46
    for key, fingerprint, centre, up in zip(keys, fingerprints, centres, ups):
        name, side = str(key).split(":")
        assert fingerprint == pose_fingerprint(name, side), f"{key}: rerun tools/spine_endplates.py"
        pose = computed_pose(name, side)
        assert np.allclose(pose.centre, centre, atol=1e-6) and np.allclose(pose.up, up, atol=1e-9), key


@pytest.mark.slow
def test_cli_writes_bones_frames_and_picture(tmp_path):
    out = tmp_path / "spine"
    result = CliRunner().invoke(app, ["anatomy", "spine", "--out", str(out), "--lumbar-lordosis", "55",
                                      "--format", "glb", "--picture"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["spine.glb", "spine.png", "spine_frames.json"]
    data = json.loads((out / "spine_frames.json").read_text())
    assert data["measured"]["lumbar_lordosis_deg"] == pytest.approx(55.0, abs=1.0)
    assert [b["name"] for b in data["bones"]] == list(SPINE_LEVELS)
    import trimesh

    scene = trimesh.load(out / "spine.glb")
    assert set(scene.geometry) == set(SPINE_LEVELS)
    stl = tmp_path / "stl"
    assert CliRunner().invoke(app, ["anatomy", "spine", "--out", str(stl)]).exit_code == 0
    assert sorted(p.stem for p in stl.glob("*.stl")) == sorted(SPINE_LEVELS)
