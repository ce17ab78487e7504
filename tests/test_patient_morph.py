"""Synthetic patients as meshes (anatomy.patient_morph): closed single shells, every field measured
back on the morphed meshes with extract_endplate and disc_space within the issue's tolerance (fixed
seeds, lumbar and cervical: all; C5 is a morphed packaged C6), the end stretch, the placement and
disc_pose, the rigid move equivariant; and `implants anatomy patient` (files or one error line)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from implants.anatomy.disc_space import disc_pose, disc_space
from implants.anatomy.endplates import extract_endplate
from implants.anatomy.morph import ThinPlateMap, fold_report, landmark_morph
from implants.anatomy.patient import Patient
from implants.anatomy.patient_landmarks import endplate_measures
from implants.anatomy.patient_morph import (
    MORPHED_FROM,
    TOLERANCES,
    base_vertebra,
    moved_endplate,
    placement,
)
from implants.anatomy.patient_segment import (
    PatientSegment,
    measure_segment,
    patient_segment,
)
from implants.errors import ParameterError


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


def test_thin_plate_map_is_the_landmark_morph_as_one_operator():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=10.0)
    rng = np.random.default_rng(4)
    source = sphere.vertices[rng.choice(len(sphere.vertices), 30, replace=False)]
    target = source * [1.1, 0.9, 1.0] + rng.normal(scale=0.5, size=source.shape)
    spline = ThinPlateMap(source, sphere.vertices)
    assert np.allclose(spline.moved(target), landmark_morph(sphere, source, target).mesh.vertices, atol=1e-8)
    assert np.allclose(ThinPlateMap(source, source).moved(target), target, atol=1e-9)  # interpolates
    affine = source @ np.diag([1.2, 0.8, 1.0]) + [1.0, 2.0, 3.0]  # an affine target is met exactly everywhere
    assert np.allclose(spline.moved(affine), sphere.vertices @ np.diag([1.2, 0.8, 1.0]) + [1.0, 2.0, 3.0])
    with pytest.raises(ParameterError, match="^source_landmarks: the points lie in one plane"):
        ThinPlateMap(source * [1.0, 1.0, 0.0], sphere.vertices)
    with pytest.raises(ParameterError, match="^target_landmarks: 29 points for 30 source_landmarks"):
        spline.moved(target[:-1])


def test_end_stretch_scales_one_end_in_the_endplate_plane_and_leaves_the_other():
    base = base_vertebra("C6")
    frame, half = base.arch_frame, base.inferior.centroid @ base.axis - base.superior.centroid @ base.axis
    vertices = np.asarray(base.mesh.vertices)
    same = base.rescaled(vertices, {"superior": np.ones(2), "inferior": np.ones(2)}, abs(half) / 2)
    assert np.allclose(same, vertices, atol=1e-9)
    stretched = frame.to_local(base.rescaled(vertices, {"superior": np.array([1.1, 0.9]), "inferior": np.ones(2)},
                                             abs(half) / 2))
    before = frame.to_local(vertices)
    assert np.allclose(stretched[:, 2], before[:, 2], atol=1e-9)  # in the plane only
    top = before[:, 2] > 0.5 * abs(half) / 2                       # fully stretched there
    assert np.allclose(stretched[top, :2] - base.end_boxes["superior"],
                       (before[top, :2] - base.end_boxes["superior"]) * [1.1, 0.9], atol=1e-9)
    bottom = before[:, 2] < -0.3 * abs(half) / 2                   # the other end untouched
    assert bottom.sum() > 100 and np.allclose(stretched[bottom], before[bottom], atol=1e-9)


def test_placement_gives_the_requested_disc_and_disc_pose_is_disc_space_without_footprint():
    patient = Patient.of("cervical", disc_sagittal_deg=4.0, disc_coronal_deg=-1.5)
    upper, lower = base_vertebra("C5").inferior, base_vertebra("C6").superior
    matrix = placement(patient, upper, lower)
    placed = moved_endplate(upper, matrix[:3, :3], matrix[:3, 3])
    disc = disc_space(placed, lower)
    assert disc.height_mm == pytest.approx(patient.disc_height_mm, abs=0.1 * TOLERANCES["disc_height_mm"])
    assert disc.sagittal_deg == pytest.approx(4.0, abs=0.05) and disc.coronal_deg == pytest.approx(-1.5, abs=0.05)
    frame, height, sagittal, coronal = disc_pose(placed, lower)
    assert (height, sagittal, coronal) == (disc.height_mm, disc.sagittal_deg, disc.coronal_deg)
    assert np.allclose(frame.matrix, disc.frame.matrix)


def _measured_errors(patient: Patient) -> tuple[PatientSegment, dict[str, float]]:
    segment = patient_segment(patient)
    measured = segment.measured()
    return segment, {k: measured[k] - v for k, v in patient.model_dump().items() if k in measured}


def _tolerance(name: str) -> float:
    """The issue's tolerance of a measured-back field (mm, deg)."""
    if name.startswith("disc_"):
        return TOLERANCES[name]
    if name.endswith("body_height_mm"):
        return TOLERANCES["body_height_mm"]
    return TOLERANCES[name.split("_", 2)[2]]  # upper_superior_width_mm → width_mm


def _assert_closed_single_shells(segment: PatientSegment) -> None:
    assert segment.max_residual_mm < 1e-6
    for mesh in (segment.upper_mesh, segment.lower_mesh):
        assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
        assert len(mesh.split(only_watertight=False)) == 1


def test_lumbar_corner_hollow_patient_measures_back():
    # seed 1 patient 10: mean-L5's posterolateral corner hollow used to survive the morph (0.89 mm
    # measured for 0.39 mm asked, apex in the corner) and the vertebrae then overlapped
    patient = Patient.sample(20, 1, "lumbar")[10]
    segment, errors = _measured_errors(patient)
    _assert_closed_single_shells(segment)
    assert fold_report(segment.lower_mesh) == 0
    for name, error in errors.items():
        if not name.endswith("_pct"):
            assert abs(error) <= _tolerance(name), (name, error)
    # the lower vertebra's endplates from the fit are the fresh extraction of the final mesh
    assert measure_segment(segment.upper_mesh, segment.lower_mesh, ups=segment.ups) == segment.measured()
    assert abs(errors["lower_superior_apex_ap_pct"]) <= 5.0 and abs(errors["lower_superior_apex_lr_pct"]) <= 5.0


@pytest.mark.slow
def test_lumbar_population_measures_back_within_the_issue_tolerances():
    for patient in Patient.sample(6, 2, "lumbar"):
        segment, errors = _measured_errors(patient)
        _assert_closed_single_shells(segment)
        for name, error in errors.items():
            if not name.endswith("_pct"):
                assert abs(error) <= _tolerance(name), (name, error)


def test_a_cervical_c5_is_morphed_from_the_packaged_c6_and_keeps_its_label():
    # the packaged C5's superior endplate is too coarse to be morphed to a measured size (docs/patients.md)
    assert MORPHED_FROM == {"C5": "C6"}
    c5, c6 = base_vertebra("C5"), base_vertebra("C6")
    assert c5.level == "C5" and np.array_equal(c5.mesh.vertices, c6.mesh.vertices)
    assert endplate_measures(c5.superior) == endplate_measures(c6.superior)


@pytest.mark.slow
def test_cervical_population_measures_back_within_the_issue_tolerances():
    # seed 1: all 17 fields (the packaged C5 missed its superior endplate by up to 4.6 mm and its body
    # height by 2.2 mm); fresh populations miss C5's superior endplate in 4 of 60 (docs/patients.md)
    for patient in Patient.sample(6, 1, "cervical"):
        segment, errors = _measured_errors(patient)
        _assert_closed_single_shells(segment)
        checked = [name for name in errors if not name.endswith("_pct")]
        assert len(checked) == 17
        for name in checked:
            assert abs(errors[name]) <= _tolerance(name), (name, errors[name])


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
