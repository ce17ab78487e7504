"""Fitted parts: the file name changes with every geometric input, the manifest records the inputs,
and a part fitted to mesh files is written in the frame of those files (issue 14, items 3 and 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from implants.fit.congruence import congruent_cage
from implants.anatomy.meshes import axes_matrix, export_level, in_mesh_frame, input_record
from implants.cli import app
from implants.errors import ParameterError
from implants.writers.manifest import base_name, design_hash
from implants.params import validate
from implants.porous.params import LatticeParams
from implants.registry import get

CAGE = get("interbody-cage")
#: One set of cage parameters for the parametric and the fitted builds (fits the C2/C3 and C3/C4 disc spaces).
CERVICAL = dict(depth_mm=8.0, width_mm=9.0, height_mm=6.0)


def _manifests(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.manifest.json"))}


@pytest.fixture(scope="module")
def lps_files(tmp_path_factory) -> Path:
    """C2, C3 and C4 written as a CT segmentation would be: DICOM LPS axes."""
    folder = tmp_path_factory.mktemp("lps")
    for name in ("C2", "C3", "C4"):
        export_level(name, folder, "LPS")
    return folder


def test_parametric_name_is_the_parameter_hash():
    params = CAGE.make_params("cervical-acdf")
    implant = type("Stub", (), {"type_id": "interbody-cage", "params": params, "inputs": {}})()
    assert design_hash(implant) == params.params_hash()
    lattice = validate(LatticeParams, {"type": "gyroid-skeletal", "porosity": 0.65, "pore_mm": 0.5})
    other = validate(LatticeParams, {"type": "gyroid-skeletal", "porosity": 0.70, "pore_mm": 0.5})
    names = {base_name(implant), base_name(implant, lattice), base_name(implant, other)}
    assert len(names) == 3  # a porous export never overwrites the solid one, nor another porosity


def test_input_record_fingerprints_contents_not_names(lps_files, tmp_path):
    record = input_record(lps_files / "C2.stl", "LPS")
    assert record["file"] == "C2.stl" and record["axes"] == "LPS" and len(record["sha256"]) == 64
    renamed = tmp_path / "C3.stl"
    renamed.write_bytes((lps_files / "C2.stl").read_bytes())
    assert input_record(renamed, "LPS")["sha256"] == record["sha256"]
    assert input_record(lps_files / "C3.stl", "LPS")["sha256"] != record["sha256"]
    packaged = input_record("C2")
    assert packaged["packaged"] == "C2" and packaged["axes"] == "ALS"


def test_fits_to_different_meshes_get_different_names(lps_files):
    params = CAGE.make_params("cervical-acdf", **CERVICAL)
    c23 = congruent_cage(lps_files / "C2.stl", lps_files / "C3.stl", params, axes="LPS")
    c34 = congruent_cage(lps_files / "C3.stl", lps_files / "C4.stl", params, axes="LPS")
    planned = congruent_cage(lps_files / "C2.stl", lps_files / "C3.stl", params, axes="LPS", target_sagittal_deg=4.0)
    assert c23.params.params_hash() == c34.params.params_hash() == params.params_hash()
    names = {base_name(c23), base_name(c34), base_name(planned), f"interbody-cage-{params.params_hash()}"}
    assert len(names) == 4
    assert c23.inputs["upper_vertebra"]["file"] == "C2.stl" and c34.inputs["upper_vertebra"]["file"] == "C3.stl"
    assert planned.inputs["target_sagittal_deg"] == 4.0


def test_fitted_cage_overlays_the_input_meshes_and_names_its_frame(lps_files, tmp_path):
    """Bug: a cage fitted to LPS meshes was written in the patient frame, ~40 mm away from them."""
    runner = CliRunner()
    args = ["build", "interbody-cage", "--upper-vertebra", str(lps_files / "C2.stl"), "--lower-vertebra",
            str(lps_files / "C3.stl"), "--axes", "LPS", "--no-picture", "--format", "stl", "--json"]
    mesh_frame = runner.invoke(app, args + ["--out", str(tmp_path / "mesh")])
    assert mesh_frame.exit_code == 0, mesh_frame.output
    patient = runner.invoke(app, args + ["--frame", "patient", "--out", str(tmp_path / "patient")])
    assert patient.exit_code == 0, patient.output
    (m_name, m), = _manifests(tmp_path / "mesh").items()
    (p_name, p), = _manifests(tmp_path / "patient").items()
    assert m_name != p_name
    assert m["frame"]["axes"] == "LPS" and p["frame"]["name"] == "patient"
    transform = np.array(m["frame"]["from_patient"])
    assert np.allclose(transform[:3, :3], axes_matrix("LPS")) and np.allclose(transform[:3, 3], 0)
    cage = trimesh.load(next((tmp_path / "mesh").glob("*.stl")))
    cage_patient = trimesh.load(next((tmp_path / "patient").glob("*.stl")))
    assert np.allclose(cage.vertices, cage_patient.vertices @ axes_matrix("LPS").T, atol=1e-3)
    upper, lower = (trimesh.load(lps_files / f"{n}.stl") for n in ("C2", "C3"))
    # the cage sits between the two bodies, in the files' own coordinates
    bones = np.vstack([upper.bounds, lower.bounds])
    assert np.all(cage.bounds[0] >= bones.min(axis=0)) and np.all(cage.bounds[1] <= bones.max(axis=0))
    assert cage.bounds[0, 2] >= lower.bounds[0, 2] and cage.bounds[1, 2] <= upper.bounds[1, 2]
    for name in ("upper_vertebra", "lower_vertebra"):
        assert m["inputs"][name]["sha256"] == input_record(lps_files / f"{'C2' if name[0] == 'u' else 'C3'}.stl")["sha256"]
    # features move with the part: the superior contact face's centre is in the files' frame too
    origin = np.array(m["features"]["contact.superior"]["origin_mm"])
    assert np.allclose(origin, axes_matrix("LPS") @ np.array(p["features"]["contact.superior"]["origin_mm"]), atol=1e-3)


def test_parametric_and_fitted_builds_share_a_folder(lps_files, tmp_path):
    """Bug: a fitted cage with the default's parameters overwrote the parametric cage."""
    runner = CliRunner()
    sets = [a for k, v in CERVICAL.items() for a in ("--set", f"{k}={v}")]
    common = ["--preset", "cervical-acdf", *sets, "--no-picture", "--format", "stl", "--out", str(tmp_path)]
    assert runner.invoke(app, ["build", "interbody-cage", *common]).exit_code == 0
    fitted = runner.invoke(app, ["build", "interbody-cage", "--upper-vertebra", str(lps_files / "C2.stl"),
                                 "--lower-vertebra", str(lps_files / "C3.stl"), "--axes", "LPS", *common])
    assert fitted.exit_code == 0, fitted.output
    manifests = _manifests(tmp_path)
    assert len(manifests) == 2 and len(list(tmp_path.glob("*.stl"))) == 2
    volumes = sorted(m["volume_mm3"] for m in manifests.values())
    assert volumes[0] != pytest.approx(volumes[1], rel=1e-3)
    assert sorted(bool(m["inputs"]) for m in manifests.values()) == [False, True]


def test_packaged_levels_take_no_axes():
    with pytest.raises(ParameterError, match="axes: packaged level 'C2'"):
        congruent_cage("C2", "C3", axes="LPS")


def test_mirror_axes_cannot_hold_a_part(lps_files):
    params = CAGE.make_params("cervical-acdf", **CERVICAL)
    cage = congruent_cage(lps_files / "C2.stl", lps_files / "C3.stl", params, axes="LPS")
    with pytest.raises(ParameterError, match="mirror of the patient frame"):
        in_mesh_frame(cage, "RPS")
    assert in_mesh_frame(cage, "ALS") is cage
