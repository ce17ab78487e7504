"""Contact pressure outputs: ``implants check --load`` (table, JSON, PNG/GLB/JSON files, one-line
errors with nothing written), the export manifest's ``checks.pressure``, the sweep spec's opt-in
``load`` block and the pictures (colour bar range, coloured GLB)."""

from __future__ import annotations

import io
import json

import matplotlib
import numpy as np
import pytest
import trimesh
from PIL import Image
from typer.testing import CliRunner

import implants
from implants import ParameterError
from implants.checks.pressure import LoadCase, pressure_on_bone
from implants.cli import app
from implants.render.pressure_map import COLOUR_MAP, Panel, pressure_glb, pressure_map_png
from implants.sweep.spec import load_spec

runner = CliRunner()


def _files(tmp_path, lift: float = 0.0):
    """A 20 × 10 mm punch (bottom at z = lift) and a flat slab (top at z = 0) as STL files."""
    punch = trimesh.creation.box((20.0, 10.0, 5.0))
    punch.apply_translation((0, 0, 2.5 + lift))
    slab = trimesh.creation.box((80.0, 80.0, 10.0))
    slab.apply_translation((0, 0, -5.0))
    punch.export(tmp_path / "punch.stl")
    slab.export(tmp_path / "slab.stl")
    return tmp_path / "punch.stl", tmp_path / "slab.stl"


def test_check_load_json_gives_the_punch_pressure(tmp_path):
    punch, slab = _files(tmp_path)
    result = runner.invoke(app, ["check", str(punch), "--endplate", str(slab), "--load", "1000", "--moment-fe", "1",
                                 "--json"])
    assert result.exit_code == 0, result.output
    pressure = json.loads(result.stdout)["pressure"]
    assert pressure["load"] == {"force_n": 1000.0, "moment_fe_nm": 1.0, "moment_lb_nm": 0.0, "seat": False}
    assert pressure["face"] == "inferior"
    # p = F/A + M x / I: peak at the anterior edge minus half a spring: 5 + 1000 × 10 / 6666.7 = 6.5 MPa
    assert pressure["peak_mpa"] == pytest.approx(6.5, rel=0.01)
    assert pressure["mean_mpa"] == pytest.approx(5.0, rel=1e-6)
    assert pressure["cop_offset_mm"]["anterior"] == pytest.approx(1.0, abs=1e-3)


def test_check_pressure_out_writes_map_glb_and_record(tmp_path):
    punch, slab = _files(tmp_path)
    out = tmp_path / "maps"
    result = runner.invoke(app, ["check", str(punch), "--endplate", str(slab), "--load", "lumbar",
                                 "--pressure-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "peak pressure" in result.output and "5.000 MPa" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["punch.pressure.glb", "punch.pressure.json", "punch.pressure.png"]
    record = json.loads((out / "punch.pressure.json").read_text())
    assert record["load"]["force_n"] == 1000.0 and record["peak_mpa"] == pytest.approx(5.0)
    assert record["foundation"]["stiffness_mpa_per_mm"] > 0
    assert Image.open(out / "punch.pressure.png").size[0] > 400
    scene = trimesh.load(out / "punch.pressure.glb")
    assert set(scene.geometry) == {"pressure.inferior", "implant", "bone.1"}


@pytest.mark.parametrize("args, message", [
    (["--load", "-5"], "load force = -5.0 N: allowed above 0"),
    (["--load", "20000"], "load force = 20000.0 N: allowed above 0 up to 10000 N"),
    (["--load", "1000", "--moment-lb", "99"], "lateral-bending moment = 99.0"),
    (["--load", "a lot"], "load = 'a lot': give a force in N"),
    (["--moment-fe", "5"], "need --load"),
    (["--load", "1000", "--no-endplate"], "--load needs --endplate: a load with no contact"),
    (["--load", "1000", "--lift"], "the implant does not touch the bone: its nearest bearing triangle is 3.00 mm"),
])
def test_bad_load_is_one_line_exit_3_and_nothing_written(tmp_path, args, message):
    punch, slab = _files(tmp_path, lift=3.0 if "--lift" in args else 0.0)
    out = tmp_path / "maps"
    endplate = [] if "--no-endplate" in args else ["--endplate", str(slab)]
    extra = [a for a in args if a not in ("--no-endplate", "--lift")]
    result = runner.invoke(app, ["check", str(punch), *endplate, *extra, "--pressure-out", str(out)])
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not out.exists()


def test_export_manifest_records_load_case_and_pressure(tmp_path):
    cage = implants.build("interbody-cage", preset="cervical-acdf")
    slab = trimesh.creation.box((80.0, 80.0, 10.0))
    slab.apply_translation((0, 0, cage.shape.BoundingBox().zmin - 5.0 - 2.0))  # 2 mm below the cage
    with pytest.raises(ParameterError, match="does not touch the bone"):
        implants.export(cage, tmp_path / "a", formats=["stl"], endplate=slab, load=150.0, tolerance_mm=0.5)
    with pytest.raises(ParameterError, match="load with no contact"):
        implants.export(cage, tmp_path / "b", formats=["stl"], load="cervical")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    result = implants.export(cage, tmp_path / "c", formats=["stl"], endplate=slab, tolerance_mm=0.5,
                             load={"force_n": 150.0, "seat": True})
    pressure = result.manifest["checks"]["pressure"]
    assert pressure["load"] == {"force_n": 150.0, "moment_fe_nm": 0.0, "moment_lb_nm": 0.0, "seat": True}
    assert 2.0 <= pressure["seat_shift_mm"] < 2.2  # the lowest spring centroid sits just above the lowest vertex
    assert pressure["mean_mpa"] * pressure["loaded_area_mm2"] == pytest.approx(150.0, rel=1e-3)
    assert pressure["peak_mpa"] >= pressure["p95_mpa"] >= pressure["mean_mpa"] * 0.5
    assert json.loads(result.paths["manifest"].read_text())["checks"]["pressure"]["face"] == "inferior"


def test_sweep_spec_load_block_is_opt_in_and_validated():
    base = {"type": "interbody-cage", "metrics": {"contact": {"endplate": "mean-L5"}}}
    assert load_spec(base).metrics.contact.load is None
    spec = load_spec({**base, "metrics": {"contact": {"endplate": "mean-L5", "load": {"force_n": 800}}}})
    assert spec.metrics.contact.load.model_dump() == {"force_n": 800.0, "moment_fe_nm": 0.0, "moment_lb_nm": 0.0,
                                                       "seat": True}
    with pytest.raises(ParameterError, match="metrics.contact.load.force_n"):
        load_spec({**base, "metrics": {"contact": {"endplate": "mean-L5", "load": {"force_n": -1}}}})


def test_map_colour_scale_and_glb_colours():
    punch = trimesh.creation.box((20.0, 10.0, 5.0))
    punch.apply_translation((0, 0, 2.5))
    slab = trimesh.creation.box((80.0, 80.0, 10.0))
    slab.apply_translation((0, 0, -5.0))
    face = pressure_on_bone(punch, slab, LoadCase(1000.0, 5.0))  # lifts off: part of the face unloaded
    png = Image.open(io.BytesIO(pressure_map_png([Panel("inferior face", face)], "test")))
    assert png.size == (int(110 * (4.6 + 1.2)), int(110 * (4.4 + 1.0)))
    scene = trimesh.load(io.BytesIO(pressure_glb(punch, [face], [slab], vmax_mpa=face.peak_mpa)), file_type="glb")
    springs = scene.geometry["pressure.inferior"]
    colours = springs.visual.vertex_colors[::3, :3].astype(float)
    peak = np.round(255 * np.array(matplotlib.colormaps[COLOUR_MAP](1.0)[:3]))
    assert np.abs(colours[np.argmax(face.pressure_mpa)] - peak).max() <= 1
    assert (colours[face.pressure_mpa == 0] == 217).all()      # unloaded: light grey #d9d9d9
