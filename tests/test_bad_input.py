"""Bad-input matrix for the command line and the API (robustness issue, item 2).

Every row: one clear line (on stderr for the CLI, the exception message for the API), the
documented exit code (3 bad parameters or input file, 4 kernel failure, 5 checks failed,
6 export failed), no traceback, no partial file, and a previous good build left byte-identical.
Types and fields are discovered from the registry and each type's JSON Schema.

Read-only output folders: tests run as root, where file modes do not block writes. Covered:
an output "folder" that is a file, a folder under a file, a folder to create under sysfs
(mkdir EPERM), an existing sysfs folder where files cannot be created (EACCES, found only when
writing), a read-only bind mount and a full (64 KiB tmpfs) file system when ``mount`` is
permitted (else the sysfs folder and an injected ENOSPC stand in), and injected failures of
fsync/rename in the middle of the atomic group.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import subprocess
import uuid
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

import implants
from implants import ExportError, ParameterError
from implants.writers import atomic
from implants.writers.meshes import stl_bytes
from implants.params import validate

TYPES = implants.type_ids()
runner = CliRunner()


# ---------------------------------------------------------------- helpers

def _options(prop: dict) -> list[dict]:
    return prop.get("anyOf", [prop])


@cache
def schema(type_id: str) -> dict:
    return implants.get(type_id).params.model_json_schema()


def fields_of_kind(type_id: str, kind: str) -> list[tuple[str, dict]]:
    """(name, option) of every field accepting JSON-Schema ``kind`` (number/integer/boolean)."""
    out = []
    for name, prop in schema(type_id)["properties"].items():
        for option in _options(prop):
            if option.get("type") == kind:
                out.append((name, option))
                break
    return out


def positive_number_field(type_id: str) -> tuple[str, float, float]:
    """A bounded number field whose minimum is > 0 (so 0 and negatives are out of range)."""
    props = schema(type_id)["properties"]
    for name, option in fields_of_kind(type_id, "number"):
        nullable = any(o.get("type") == "null" for o in _options(props[name]))
        if not nullable and option.get("minimum", 0) > 0 and "maximum" in option:
            return name, option["minimum"], option["maximum"]
    raise AssertionError(f"{type_id}: no bounded positive number field")


def enum_field(type_id: str) -> tuple[str, list[str]]:
    defs = schema(type_id).get("$defs", {})
    for name, prop in schema(type_id)["properties"].items():
        for option in _options(prop):
            if "$ref" in option:
                return name, defs[option["$ref"].split("/")[-1]]["enum"]
    raise AssertionError(f"{type_id}: no enum field")


def cli(*args: str):
    return runner.invoke(implants_app(), list(args))


def implants_app():
    from implants.cli import app

    return app


def assert_one_line(result, code: int, *needles: str) -> str:
    """Exit ``code``, exactly one line on stderr naming ``needles``, nothing on stdout, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout.strip() == "", result.stdout
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def assert_no_leftovers(folder: Path) -> None:
    if folder.exists():
        hidden = [p.name for p in folder.iterdir() if p.name.startswith(".")]
        assert not hidden, f"temporary files left behind: {hidden}"


# ---------------------------------------------------------------- parameter values (CLI --set and API)

#: (row, YAML text for --set, Python value for the API, expected words in the message)
BAD_VALUES = [
    ("non-numeric", "abc", "abc", "valid number"),
    ("nan", ".nan", math.nan, "finite number"),
    ("nan-text", "nan", "nan", "finite number"),
    ("inf", ".inf", math.inf, "finite number"),
    ("minus-inf", "-.inf", -math.inf, "finite number"),
    ("overflow", "1e400", "1e400", "finite number"),
    ("negative", "-1", -1.0, "greater than or equal"),
    ("zero", "0", 0, "greater than or equal"),
    ("huge", "1e300", 1e300, "less than or equal"),
    ("list", "[1, 2]", [1, 2], "valid number"),
    ("mapping", "{a: 1}", {"a": 1}, "valid number"),
    ("null", "null", None, "valid number"),
    ("empty", "", "", "valid number"),
    ("boolean", "true", True, "not true/false"),
]


@pytest.mark.parametrize("row,text,value,words", BAD_VALUES, ids=[r[0] for r in BAD_VALUES])
@pytest.mark.parametrize("type_id", TYPES)
def test_cli_bad_number(tmp_path, type_id, row, text, value, words):
    name, low, high = positive_number_field(type_id)
    out = tmp_path / "out"
    result = cli("build", type_id, "--set", f"{name}={text}", "--out", str(out))
    line = assert_one_line(result, 3, name, words)
    assert f"allowed {low} to {high}" in line  # the message gives the range
    assert not out.exists()


@pytest.mark.parametrize("row,text,value,words", BAD_VALUES, ids=[r[0] for r in BAD_VALUES])
@pytest.mark.parametrize("type_id", TYPES)
def test_api_bad_number(type_id, row, text, value, words):
    name, low, high = positive_number_field(type_id)
    with pytest.raises(ParameterError, match=name) as caught:
        implants.build(type_id, **{name: value})
    message = str(caught.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize("type_id", TYPES)
def test_wrong_types_for_integer_boolean_and_enum_fields(tmp_path, type_id):
    rows = []
    for name, option in fields_of_kind(type_id, "integer")[:1]:
        rows.append((name, "2.5", 2.5, "integer"))
    for name, option in fields_of_kind(type_id, "boolean")[:1]:
        # true/false stay valid where a boolean is expected (only numbers refuse them)
        assert getattr(validate(implants.get(type_id).params, {name: True}), name) is True
        rows.append((name, "maybe", "maybe", "boolean"))
        rows.append((name, "7", 7, "boolean"))
    name, allowed = enum_field(type_id)
    rows.append((name, "unobtanium", "unobtanium", allowed[0]))
    for name, text, value, words in rows:
        result = cli("build", type_id, "--set", f"{name}={text}", "--out", str(tmp_path / "out"))
        assert_one_line(result, 3, name)
        with pytest.raises(ParameterError, match=name) as caught:
            implants.build(type_id, **{name: value})
        assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("type_id", TYPES)
def test_unknown_key_preset_and_type(tmp_path, type_id):
    out = tmp_path / "out"
    assert_one_line(cli("build", type_id, "--set", "colour=red", "--out", str(out)), 3, "unknown parameter 'colour'")
    with pytest.raises(ParameterError, match="unknown parameter 'colour'"):
        implants.build(type_id, colour="red")
    assert_one_line(cli("build", type_id, "--preset", "no-such-preset", "--out", str(out)), 3, "no-such-preset",
                    implants.get(type_id).default_preset)
    with pytest.raises(ParameterError, match="no-such-preset"):
        implants.build(type_id, preset="no-such-preset")
    assert_one_line(cli("build", type_id + "-x", "--out", str(out)), 3, "unknown implant type")
    with pytest.raises(ParameterError, match="unknown implant type"):
        implants.get(type_id + "-x")
    assert not out.exists()


def test_bad_build_options(tmp_path):
    out = tmp_path / "out"
    type_id = TYPES[0]
    for args, needle in [(("--format", "obj"), "allowed formats"), (("--format", ","), "allowed formats"),
                         (("--deflection", "0"), "--deflection"), (("--deflection", "nan"), "--deflection"),
                         (("--deflection", "-1"), "--deflection"), (("--deflection", "1e9"), "--deflection"),
                         (("--set", "=3"), "--set expects key=value")]:
        assert_one_line(cli("build", type_id, *args, "--out", str(out)), 3, needle)
    # an option value of the wrong type is a usage error (exit 2), reported by click without a traceback
    result = cli("build", type_id, "--deflection", "abc", "--out", str(out))
    assert result.exit_code == 2 and "Traceback" not in result.output and "--deflection" in result.output
    assert not out.exists()


# ---------------------------------------------------------------- parameter files

def _deep_json() -> str:
    return "[" * 100_000 + "]" * 100_000


#: (row, file name, content (None: a directory), expected words)
PARAM_FILES = [
    ("directory", "params.yaml", None, "not a file"),
    ("missing", "absent.yaml", "<missing>", "does not exist"),
    ("yaml-unclosed", "params.yaml", "height_mm: [1, 2\n", "malformed"),
    ("yaml-tab-indent", "params.yaml", "a:\n\t- b\n", "malformed"),
    ("yaml-python-tag", "params.yaml", "x: !!python/object/apply:os.system ['true']\n", "malformed"),
    ("yaml-binary", "params.yaml", bytes(range(256)) * 4, "malformed"),
    ("yaml-list", "params.yaml", "- just\n- a list\n", "must hold a mapping"),
    ("yaml-scalar", "params.yml", "42\n", "must hold a mapping"),
    ("yaml-empty", "params.yaml", "", "must hold a mapping"),
    ("yaml-number-key", "params.yaml", "1: 2\n", "names must be text"),
    ("yaml-null-key", "params.yaml", "null: 2\n", "names must be text"),
    ("json-unquoted", "params.json", "{height_mm: 3", "malformed"),
    ("json-empty", "params.json", "", "malformed"),
    ("json-trailing-comma", "params.json", '{"a": 1,}', "malformed"),
    ("json-bom", "params.json", b'\xef\xbb\xbf{"a": 1}', "malformed"),
    ("json-deep-nesting", "params.json", _deep_json(), "malformed"),
    ("json-array", "params.json", "[1, 2]", "must hold a mapping"),
    ("toml-double-equals", "params.toml", "height_mm = = 3", "malformed"),
    ("toml-duplicate-key", "params.toml", "a = 3\na = 4\n", "malformed"),
    ("toml-unclosed-string", "params.toml", 'a = "abc\n', "malformed"),
]


@pytest.mark.parametrize("row,name,content,words", PARAM_FILES, ids=[r[0] for r in PARAM_FILES])
def test_malformed_parameter_files(tmp_path, row, name, content, words):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content != "<missing>":
        path.write_text(content)
    out = tmp_path / "out"
    for type_id in TYPES:
        assert_one_line(cli("build", type_id, "--params", str(path), "--out", str(out)), 3, str(path), words)
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
@pytest.mark.parametrize("type_id", TYPES)
def test_well_formed_files_with_bad_values(tmp_path, type_id, suffix):
    """Each format reaches validation: unknown keys, wrong types and NaN in a file are named."""
    name, low, high = positive_number_field(type_id)
    texts = {
        ".yaml": [(f"{name}: abc\n", name), (f"{name}: .nan\n", name), ("colour: red\n", "colour"),
                  (f"{name}: -5\n", name)],
        ".json": [(json.dumps({name: "abc"}), name), (f'{{"{name}": NaN}}', name), ('{"colour": "red"}', "colour"),
                  (json.dumps({name: 1e300}), name)],
        ".toml": [(f'{name} = "abc"\n', name), (f"{name} = nan\n", name), ('colour = "red"\n', "colour"),
                  (f"{name} = 0\n", name)],
    }[suffix]
    for text, needle in texts:
        path = tmp_path / f"params{suffix}"
        path.write_text(text)
        assert_one_line(cli("build", type_id, "--params", str(path), "--out", str(tmp_path / "out")), 3, needle)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- mesh files for `implants check`

def _box_stl(path: Path, extents=(10.0, 10.0, 10.0)) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=extents)
    path.write_bytes(stl_bytes(box))
    return box


def _disc(z: float, radius: float = 15.0, tilt: float = 0.0) -> trimesh.Trimesh:
    """An open triangulated disc (an endplate-like surface patch) at height z, optionally tilted about y."""
    angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    rings = [np.zeros((1, 2))] + [r * np.column_stack([np.cos(angles), np.sin(angles)])
                                  for r in np.linspace(radius / 8, radius, 8)]
    xy = np.vstack(rings)
    faces = []
    for k in range(48):
        faces.append([0, 1 + k, 1 + (k + 1) % 48])
    for ring in range(7):
        a, b = 1 + ring * 48, 1 + (ring + 1) * 48
        for k in range(48):
            k1 = (k + 1) % 48
            faces += [[a + k, b + k, b + k1], [a + k, b + k1, a + k1]]
    vertices = np.column_stack([xy, z + tilt * xy[:, 0]])
    return trimesh.Trimesh(vertices, np.array(faces), process=False)


#: (row, file name, content (None: a directory, "<missing>": no file), expected words)
BAD_MESHES = [
    ("missing", "absent.stl", "<missing>", "does not exist"),
    ("directory", "folder.stl", None, "is not a file"),
    ("empty", "empty.stl", b"", "is empty"),
    ("text-as-stl", "notes.stl", b"this is not a mesh\n", "holds no triangles"),
    ("random-stl", "random.stl", bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
     "holds no triangles"),
    ("truncated-stl", "truncated.stl", "<truncated>", "holds no triangles"),
    ("nan-vertices", "nan.stl", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex nan 0 0\nvertex 1 0 0\n"
     b"vertex 0 1 0\nendloop\nendfacet\nendsolid x\n", "non-finite"),
    ("random-3mf", "random.3mf", b"PK\x03\x04 not really a zip", "not a readable 3MF"),
    ("random-ply", "random.ply", b"\x00\x01garbage", "not a readable PLY"),
    ("random-glb", "random.glb", b"glTF garbage", "not a readable GLB"),
    ("random-obj", "random.obj", b"\x00\x01\x02", "holds no triangles"),
    ("short-off", "short.off", b"OFF\n3 1 0\n0 0 0\n1 0 0\n", "not a readable OFF"),
    ("unsupported-suffix", "mesh.txt", b"solid\n", "unsupported format"),
    ("text-as-step", "part.step", b"hello\n", "could not be read as STEP"),
    ("empty-step", "empty.step", b"", "could not be read as STEP"),
]


def _write_mesh_row(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif content == "<truncated>":
        data = stl_bytes(trimesh.creation.icosphere(2, 5.0))
        path.write_bytes(data[: len(data) // 2])
    elif content != "<missing>":
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("row,name,content,words", BAD_MESHES, ids=[r[0] for r in BAD_MESHES])
def test_check_rejects_bad_mesh_files(tmp_path, row, name, content, words):
    path = _write_mesh_row(tmp_path, name, content)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_one_line(cli("check", str(path)), 3, name, words)
    with pytest.raises(ParameterError, match=words):
        implants.check(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written beside the input


@pytest.mark.parametrize("row,name,content,words",
                         [r for r in BAD_MESHES if not r[1].endswith(".step")],
                         ids=[r[0] for r in BAD_MESHES if not r[1].endswith(".step")])
def test_check_rejects_bad_endplate_files(tmp_path, row, name, content, words):
    implant = tmp_path / "implant.stl"
    _box_stl(implant)
    path = _write_mesh_row(tmp_path, name, content)
    line = assert_one_line(cli("check", str(implant), "--endplate", str(path)), 3, name, words)
    assert line.startswith("error: endplate file")
    with pytest.raises(ParameterError, match="endplate file"):
        implants.check(implant, endplate=path)


def test_check_bad_options(tmp_path):
    implant = tmp_path / "implant.stl"
    _box_stl(implant)
    for args, needle in [(("--tolerance", "nan"), "--tolerance"), (("--tolerance", "0"), "--tolerance"),
                         (("--tolerance", "-1"), "--tolerance"), (("--tolerance", "inf"), "--tolerance"),
                         (("--bodies", "0"), "expected bodies")]:
        assert_one_line(cli("check", str(implant), *args), 3, needle)
    result = cli("check", str(implant), "--bodies", "two")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_open_endplate_gives_a_contact_area(tmp_path):
    """An endplate is an open surface patch: the check measures contact, no error."""
    implant = tmp_path / "implant.stl"
    _box_stl(implant)  # 10 mm cube centred on the origin: its inferior face (100 mm²) lies at z = -5
    endplate = tmp_path / "endplate.stl"
    endplate.write_bytes(stl_bytes(_disc(-5.0)))
    result = cli("check", str(implant), "--endplate", str(endplate), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["checks"]["mesh"]["watertight"]
    # the inferior face (100 mm²) plus the 0.25 mm strip of the side walls within the tolerance (40 mm × 0.25 mm)
    assert data["contact"]["contact_area_mm2"] == pytest.approx(100.0 + 40.0 * 0.25, rel=0.02)


def test_self_intersecting_endplate_gives_a_contact_area(tmp_path):
    """Two crossing surface sheets (self-intersecting): contact still measured, no error."""
    implant = tmp_path / "implant.stl"
    _box_stl(implant)
    crossing = trimesh.util.concatenate([_disc(-5.0), _disc(-5.0, tilt=0.4)])
    endplate = tmp_path / "crossing.stl"
    endplate.write_bytes(stl_bytes(crossing))
    result = cli("check", str(implant), "--endplate", str(endplate), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # at least the flat sheet's 110 mm² (face + wall strip), plus the band where the tilted sheet cuts the box
    assert 110.0 * 0.98 <= data["contact"]["contact_area_mm2"] <= 200.0
    assert "Traceback" not in result.output


def test_degenerate_endplate_and_open_implant(tmp_path):
    implant = tmp_path / "implant.stl"
    _box_stl(implant)
    sliver = tmp_path / "sliver.stl"
    sliver.write_bytes(stl_bytes(trimesh.Trimesh(np.array([[0, 0, -5.0], [1, 0, -5], [2, 0, -5]]),
                                                 np.array([[0, 1, 2]]), process=False)))
    result = cli("check", str(implant), "--endplate", str(sliver), "--json")
    # a zero-area triangle is a 2 mm segment on the inferior face: only the band within 0.25 mm of it counts
    assert result.exit_code == 0 and 0 < json.loads(result.stdout)["contact"]["contact_area_mm2"] < 2 * 0.5 + 0.3
    # an open implant mesh is not bad input but a failed check: exit 5 with the failing row
    box = trimesh.creation.box(extents=(10, 10, 10))
    open_box = tmp_path / "open.stl"
    open_box.write_bytes(stl_bytes(trimesh.Trimesh(box.vertices, box.faces[:-2], process=False)))
    result = cli("check", str(open_box), "--json")
    assert result.exit_code == 5 and "Traceback" not in result.output
    assert json.loads(result.stdout)["checks"]["mesh"]["watertight"] is False
    with pytest.raises(ParameterError, match="endplate"):
        implants.check(implant, endplate=tmp_path / "absent.stl")


def test_huge_mesh_is_checked(tmp_path):
    """A 1.3 M-triangle sphere: checked in one pass (about 10 s), volume as the mesh's own."""
    sphere = trimesh.creation.icosphere(subdivisions=8, radius=20.0)
    assert len(sphere.faces) == 1_310_720
    path = tmp_path / "huge.stl"
    path.write_bytes(stl_bytes(sphere))
    result = cli("check", str(path), "--json")
    assert result.exit_code == 0, result.output
    mesh = json.loads(result.stdout)["checks"]["mesh"]
    assert mesh["triangles"] == 1_310_720 and mesh["watertight"] and mesh["bodies"] == 1
    assert mesh["volume_mm3"] == pytest.approx(sphere.volume, rel=1e-5)
    assert mesh["volume_mm3"] == pytest.approx(4 / 3 * math.pi * 20.0 ** 3, rel=2e-4)


# ---------------------------------------------------------------- output folders

FAST = ("interbody-cage", "cervical-acdf")


@pytest.fixture(scope="module")
def implant():
    return implants.build(FAST[0], preset=FAST[1])


@pytest.fixture(scope="module")
def other_implant():
    return implants.build(FAST[0], preset=FAST[1], height_mm=7.0)


@pytest.fixture()
def previous(tmp_path, implant):
    """A folder holding a good previous build, and its bytes."""
    out = tmp_path / "previous"
    implants.export(implant, out)
    return out, snapshot(out)


def _try_mount(args: list[str], target: Path) -> bool:
    if shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", *args, str(target)], capture_output=True)
    return done.returncode == 0


def _umount(target: Path) -> None:
    subprocess.run(["umount", str(target)], capture_output=True)


@pytest.fixture()
def readonly_dir(tmp_path):
    """A read-only folder: a read-only bind mount where mounting is allowed, else an existing
    sysfs folder (root may not create files there)."""
    target = tmp_path / "ro"
    target.mkdir()
    if _try_mount(["--bind", "-o", "ro", str(target)], target):
        try:
            yield target, "not writable"
        finally:
            _umount(target)
    else:
        yield Path("/sys/kernel"), "Permission denied"


def test_output_folder_is_a_file(tmp_path, implant):
    out = tmp_path / "out"
    out.write_text("keep me")
    with pytest.raises(ExportError, match="is a file") as caught:
        implants.export(implant, out)
    assert "\n" not in str(caught.value) and caught.value.exit_code == 6
    assert_one_line(cli("build", *FAST[:1], "--preset", FAST[1], "--out", str(out)), 6, "is a file")
    assert out.read_text() == "keep me"


def test_output_folder_under_a_file(tmp_path, implant):
    parent = tmp_path / "file"
    parent.write_text("keep me")
    with pytest.raises(ExportError, match="cannot create output folder"):
        implants.export(implant, parent / "out")
    assert parent.read_text() == "keep me"


def test_output_folder_that_cannot_be_created(implant):
    target = Path("/sys") / f"implants-{uuid.uuid4().hex}"
    with pytest.raises(ExportError, match="cannot create output folder"):
        implants.export(implant, target)
    assert not target.exists()


def test_read_only_output_folder(implant, readonly_dir):
    folder, words = readonly_dir
    before = sorted(os.listdir(folder))
    with pytest.raises(ExportError, match=words) as caught:
        implants.export(implant, folder)
    assert "\n" not in str(caught.value)
    assert sorted(os.listdir(folder)) == before


def test_read_only_output_folder_cli(readonly_dir):
    folder, words = readonly_dir
    before = sorted(os.listdir(folder))
    assert_one_line(cli("build", FAST[0], "--preset", FAST[1], "--format", "stl", "--out", str(folder)), 6, words)
    assert sorted(os.listdir(folder)) == before


def test_full_file_system_leaves_nothing(tmp_path, implant):
    """ENOSPC while writing: a real 64 KiB tmpfs when mounting is allowed, else an injected fsync failure."""
    target = tmp_path / "tiny"
    target.mkdir()
    mounted = _try_mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs"], target)
    try:
        if mounted:
            with pytest.raises(ExportError, match="No space left"):
                implants.export(implant, target)
        else:
            def full(fd):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(atomic.os, "fsync", full)
                with pytest.raises(ExportError, match="No space left"):
                    implants.export(implant, target)
        assert os.listdir(target) == []
    finally:
        if mounted:
            _umount(target)


def test_a_folder_named_like_an_output_file(tmp_path, implant):
    out = tmp_path / "out"
    out.mkdir()
    from implants.writers.manifest import base_name

    (out / f"{base_name(implant)}.stl").mkdir()
    with pytest.raises(ExportError, match="a folder of that name exists"):
        implants.export(implant, out)
    assert os.listdir(out) == [f"{base_name(implant)}.stl"]  # no STEP or manifest renamed in before it


# ---------------------------------------------------------------- a previous good build is never damaged

def _fail_on_call(n: int, real):
    calls = {"n": 0}

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(src, dst)

    return replace


@pytest.mark.parametrize("failing_rename", [1, 2, 4])
@pytest.mark.parametrize("same_parameters", [True, False], ids=["same-params", "other-params"])
def test_rename_failure_midway_restores_previous_build(previous, implant, other_implant, failing_rename,
                                                       same_parameters):
    out, before = previous
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic.os, "replace", _fail_on_call(failing_rename, os.replace))
        with pytest.raises(ExportError, match="Input/output error"):
            implants.export(implant if same_parameters else other_implant, out)
    assert snapshot(out) == before
    assert_no_leftovers(out)


def test_write_failure_keeps_previous_build(previous, implant):
    out, before = previous

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic.os, "fsync", full)
        with pytest.raises(ExportError, match="No space left"):
            implants.export(implant, out)
    assert snapshot(out) == before
    assert_no_leftovers(out)


def test_bad_parameters_keep_previous_build(previous):
    out, before = previous
    name, low, high = positive_number_field(FAST[0])
    assert_one_line(cli("build", FAST[0], "--preset", FAST[1], "--set", f"{name}=-1", "--out", str(out)), 3, name)
    assert_one_line(cli("build", FAST[0], "--preset", FAST[1], "--format", "obj", "--out", str(out)), 3, "formats")
    assert snapshot(out) == before


def test_kernel_failure_keeps_previous_build(previous, monkeypatch):
    """A kernel exception on accepted parameters: exit 4, one line, nothing written."""
    out, before = previous
    import dataclasses
    import importlib

    from implants.registry import TEMPLATE_MODULES

    module = importlib.import_module(TEMPLATE_MODULES[FAST[0]])

    def crash(params):
        raise RuntimeError("Standard_ConstructionError")

    monkeypatch.setattr(module, "TEMPLATE", dataclasses.replace(module.TEMPLATE, build=crash))
    line = assert_one_line(cli("build", FAST[0], "--preset", FAST[1], "--out", str(out)), 4,
                           "failed in the CAD kernel", "Standard_ConstructionError")
    assert FAST[0] in line
    assert snapshot(out) == before


def test_successful_rebuild_of_other_parameters_adds_files(previous, other_implant):
    out, before = previous
    result = implants.export(other_implant, out)
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {p.name for p in result.paths.values()}
