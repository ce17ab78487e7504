"""Command line: verbs, JSON output, exit codes, one-line errors, no partial files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from implants.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_help_and_list_do_not_import_the_kernel():
    code = ("import sys; from typer.testing import CliRunner; from implants.cli import app; "
            "r = CliRunner().invoke(app, ['list']); assert r.exit_code == 0, r.output; "
            "assert 'cadquery' not in sys.modules and 'OCP' not in sys.modules, 'kernel imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    done = subprocess.run([sys.executable, "-m", "implants.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "NOT A MEDICAL DEVICE" in done.stdout


def test_list_json_gives_types_with_presets():
    result = run("list", "--json")
    assert result.exit_code == 0
    rows = {row["type"]: row for row in json.loads(result.stdout)}
    assert "interbody-cage" in rows
    assert "lumbar-alif" in rows["interbody-cage"]["presets"]


def test_show_json_gives_schema_with_bounds_and_presets():
    result = run("show", "interbody-cage", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    height = data["schema"]["properties"]["height_mm"]
    assert (height["minimum"], height["maximum"], height["default"]) == (4.0, 20.0, 12.0)
    assert "cervical-acdf" in data["presets"]


def test_show_table_lists_units_and_ranges():
    result = run("show", "interbody-cage")
    assert result.exit_code == 0
    assert "height_mm" in result.stdout and "4.0 to 20.0" in result.stdout


@pytest.mark.parametrize("args,code,needle", [
    (("show", "no-such-type"), 3, "unknown implant type 'no-such-type'"),
    (("build", "no-such-type"), 3, "unknown implant type"),
    (("build", "interbody-cage", "--set", "height_mm=-2"), 3, "height_mm = -2"),
    (("build", "interbody-cage", "--set", "lordosis_deg=45"), 3, "lordosis_deg = 45"),
    (("build", "interbody-cage", "--set", "colour=red"), 3, "unknown parameter 'colour'"),
    (("build", "interbody-cage", "--set", "height_mm"), 3, "--set expects key=value"),
    (("build", "interbody-cage", "--preset", "cervical-acdf", "--set", "window_depth_mm=30",
      "--set", "window_width_mm=30"), 3, "does not fit inside"),
    (("build", "interbody-cage", "--format", "obj"), 3, "allowed formats"),
    (("build", "interbody-cage", "--deflection", "0"), 3, "--deflection"),
    (("build", "interbody-cage", "--params", "missing.yaml"), 3, "does not exist"),
    (("check", "missing.stl"), 3, "missing.stl"),
    (("frobnicate",), 2, ""),
])
def test_bad_input_gives_one_line_and_exit_code(tmp_path, args, code, needle):
    out = tmp_path / "out"
    result = runner.invoke(app, [*args, *(["--out", str(out)] if args[0] == "build" else [])])
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    if code == 3:
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("suffix,text", [(".yaml", "height_mm: [1, 2\n"), (".json", "{height_mm: 3"),
                                         (".toml", "height_mm = = 3"), (".yaml", "- just\n- a list\n")])
def test_malformed_parameter_files_are_rejected(tmp_path, suffix, text):
    path = tmp_path / f"params{suffix}"
    path.write_text(text)
    result = run("build", "interbody-cage", "--params", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 3
    assert str(path) in result.output
    assert not (tmp_path / "out").exists()


def test_check_several_files_gives_one_table_and_one_json_list(tmp_path):
    """Bug: `implants check a.stl b.stl` was a usage error; a kit or a print set is checked in one call."""
    import trimesh

    from implants.writers.meshes import stl_bytes

    box = trimesh.creation.box(extents=(10.0, 20.0, 5.0))
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=4.0)
    open_box = trimesh.Trimesh(box.vertices, box.faces[:-2], process=False)
    for name, mesh in (("box.stl", box), ("sphere.stl", sphere), ("open.stl", open_box)):
        (tmp_path / name).write_bytes(stl_bytes(mesh))
    good = [str(tmp_path / n) for n in ("box.stl", "sphere.stl")]
    result = run("check", *good, "--json")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [r["file"] for r in reports] == good and all(r["ok"] for r in reports)
    assert reports[0]["checks"]["mesh"]["volume_mm3"] == pytest.approx(1000.0, rel=1e-9)
    assert reports[1]["checks"]["mesh"]["volume_mm3"] == pytest.approx(sphere.volume, rel=1e-6)  # float32 STL
    table = run("check", *good, str(tmp_path / "open.stl"))
    assert table.exit_code == 5  # one failing file fails the call
    assert "3 files: 2 pass, 1 FAIL" in table.stdout and "open.stl" in table.stdout
    missing = run("check", good[0], str(tmp_path / "absent.stl"))
    assert missing.exit_code == 3 and "absent.stl" in missing.output
