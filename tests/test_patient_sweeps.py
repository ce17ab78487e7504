"""Population sweeps (issue 17 part 3): the ``patient:`` block of a sweep spec, its expansion, the
stock-cage sizing and seating rule, and (slow tier) a two-patient lumbar sweep end to end: rows
with requested and measured-back values, the summary plot, resume and Dask."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from implants.anatomy.patient import POPULATION, Patient
from implants.errors import GeometryError, ParameterError
from implants.fit.cage_fields import PlaneField, shifted
from implants.fit.stock_cage import rest_plane, stock_size
from implants.sweep.patients import expand_patients, population
from implants.sweep.results import RESULTS_JSONL
from implants.sweep.rows import new_row, record_failure
from implants.sweep.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"type": "interbody-cage", "patient": {"region": "lumbar", "sample": {"n": 2, "seed": 1}, "load": {"force_n": 1000}},
         "timeout_s": 600}
#: Columns that legitimately differ between two runs of the same patient.
VOLATILE = {"reused", "worker"}


def _spec(**patient) -> dict:
    return {"type": "interbody-cage", "patient": patient}


# --------------------------------------------------------------------------- spec and expansion

@pytest.mark.parametrize("patient, match", [
    ({"fields": {"disc_hight_mm": 10}}, (r"patient: fields\.disc_hight_mm: not a field of a lumbar patient "
                                         r"\(did you mean 'disc_height_mm'")),
    ({"axes": {"disc_height_mm": [10, 30]}}, r"axes\.disc_height_mm: disc_height_mm = 30.*allowed 5\.0 to 16\.0 mm"),
    ({"region": "cervical", "fields": {"disc_sagittal_deg": 40}}, r"disc_sagittal_deg = 40.*allowed -10\.0 to 15\.0"),
    ({"fields": {"disc_height_mm": 5.5, "upper_inferior_concavity_mm": 3.0}},
     r"disc_height_mm = 5\.5: the endplate rims would overlap.*allowed 8\.37 to 16\.0 mm"),
    ({"region": "thoracic"}, r"patient\.region: Input should be 'lumbar' or 'cervical'"),
    ({"sample": {"n": 0, "seed": 1}}, r"patient\.sample\.n"),
    ({"stock": {"lordosis_set_deg": [6, 25]}}, r"lordosis_set_deg: 25\.0 is outside the cage's 0 to 20 deg"),
    ({"axes": {"disc_height_mm": {"start": 9, "stop": 12}}}, r"axes\.disc_height_mm: a range needs step or num"),
    ({"load": {"force_n": -5}}, r"patient\.load\.force_n"),
    ({"load": {"force_n": 1000, "moment_fe_nm": 80}}, r"patient\.load\.moment_fe_nm"),
])
def test_bad_patient_input_is_refused_when_the_spec_is_read(patient, match):
    with pytest.raises(ParameterError, match=match):
        load_spec(_spec(**patient))


def test_a_patient_sweep_fits_interbody_cages_only():
    with pytest.raises(ParameterError, match="type = anterior-plate: a patient sweep fits interbody-cage only"):
        load_spec({"type": "anterior-plate", "patient": {"region": "cervical"}})


def test_cli_refuses_bad_patient_input_with_one_line_and_no_files(tmp_path):
    from implants.cli import app

    spec = tmp_path / "bad.yaml"
    spec.write_text("type: interbody-cage\npatient: {region: lumbar, fields: {disc_height_mm: 30}}\n")
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "disc_height_mm = 30" in lines[0] and "allowed 5.0 to 16.0 mm" in lines[0]
    assert not (tmp_path / "out").exists()


def test_region_sets_the_preset_and_sample_crossed_with_patient_and_cage_axes():
    spec = load_spec(_spec(region="cervical", sample={"n": 3, "seed": 4}, fields={"disc_coronal_deg": 0.0},
                           axes={"lower_body_height_mm": [13.0, 15.0]}) | {"axes": {"graft_windows": [0, 1]}})
    assert spec.preset == "cervical-acdf"
    variants = expand_patients(spec)
    assert len(variants) == 3 * 2 * 2 and [v.index for v in variants] == list(range(12))
    drawn = Patient.sample(3, 4, "cervical")
    for v in variants:
        p = v.params
        assert p["region"] == "cervical" and p["patient.disc_coronal_deg"] == 0.0
        assert p["patient.upper_body_height_mm"] == drawn[p["patient_id"] // 2].upper_body_height_mm  # 2 per draw
        assert p["patient.lower_body_height_mm"] in (13.0, 15.0) and p["graft_windows"] in (0, 1)
    assert len({v.key for v in variants}) == 12
    assert [v.key for v in expand_patients(spec)] == [v.key for v in variants]   # reproducible resume keys


def test_without_sample_the_base_patient_is_the_population_mean():
    (patient,) = population(load_spec(_spec(region="lumbar", fields={"disc_height_mm": 11.0})))
    means = {k: m.mean for k, m in POPULATION["lumbar"].items()}
    assert patient == {**means, "disc_height_mm": 11.0}


def test_a_fixed_field_that_breaks_a_sampled_patient_stops_the_sweep():
    spec = load_spec(_spec(sample={"n": 40, "seed": 1}, fields={"disc_height_mm": 8.0}))
    with pytest.raises(ParameterError, match=r"patient \d+ of sample seed 1: disc_height_mm = 8\.0: the endplate "
                                             r"rims would overlap"):
        expand_patients(spec)


def test_a_cage_parameter_out_of_range_is_an_invalid_row_not_a_refusal():
    variants = expand_patients(load_spec(_spec(sample={"n": 1, "seed": 1}) | {"axes": {"graft_windows": [1, 5]}}))
    assert [v.ok for v in variants] == [True, False]
    assert "graft_windows" in variants[1].error


# --------------------------------------------------------------------------- stock sizing and seating

def test_stock_size_takes_the_nearest_lordosis_and_the_tallest_height_that_fits_posteriorly():
    # disc at 10.4 deg: nearest of 6/12/18 is 12; posterior gap 9.3 mm at x = -12 mm, 1 mm distraction:
    # posterior wall H - 12 tan(12 deg) = H - 2.551 <= 10.3  ->  H = 12 mm (12.851 floored)
    assert stock_size(10.4, 9.3, -12.0, "lumbar") == (12.0, 12.0)
    assert stock_size(9.0, 9.3, -12.0, "lumbar") == (11.0, 6.0)       # tie 6 / 12: the smaller; 11.56 floored
    assert stock_size(3.0, 4.0, -6.0, "cervical", distraction_mm=0.5) == (4.0, 0.0)
    assert stock_size(3.0, 1.0, -6.0, "cervical") == (4.0, 0.0)        # never below the template's 4 mm
    assert stock_size(20.0, 30.0, -14.0, "lumbar") == (20.0, 18.0)     # nor above 20 mm


def test_a_flat_face_rests_on_the_hull_facet_over_the_centre():
    rng = np.random.default_rng(3)
    xy = rng.uniform(-10, 10, (4000, 2))
    # a bowl under a flat face: rests on its rim, the plane z = 0.5 + 0.1 x over the square
    bowl = 0.5 + 0.1 * xy[:, 0] - 1.5 * (1 - (xy[:, 0] / 10) ** 2) * (1 - (xy[:, 1] / 10) ** 2)
    corners = np.array([[-10, -10], [-10, 10], [10, -10], [10, 10]], float)
    pts = np.column_stack([np.vstack([xy, corners]), np.append(bowl, 0.5 + 0.1 * corners[:, 0])])
    a, b, c = rest_plane(pts, below=True).coefficients
    assert abs(a - 0.5) < 1e-6 and abs(b - 0.1) < 1e-6 and abs(c) < 1e-6
    assert np.all(pts[:, 2] <= a + b * pts[:, 0] + c * pts[:, 1] + 1e-9)     # nothing above the face
    # the same bone above the face (mirrored): rests on the bottom facet
    a2, b2, _ = rest_plane(pts * [1, 1, -1], below=False).coefficients
    assert abs(a2 + 0.5) < 1e-6 and abs(b2 + 0.1) < 1e-6



def test_a_plane_field_is_a_height_field_and_stays_a_plane_when_shifted():
    plane = PlaneField(2.0, 0.1, -0.05)
    x, y = np.array([0.0, 10.0, -4.0]), np.array([0.0, 2.0, 8.0])
    assert np.allclose(plane(x, y), 2.0 + 0.1 * x - 0.05 * y)
    moved = shifted(plane, -1.5)            # a stock face seated 1.5 mm lower: still a plane (built planar)
    assert isinstance(moved, PlaneField) and np.allclose(moved.coefficients, [0.5, 0.1, -0.05])
    assert np.allclose(moved(x, y), plane(x, y) - 1.5)


def test_a_failed_row_names_the_stage_on_one_line():
    row = new_row({"index": 3, "name": "v3", "key": "k"})
    assert row["status"] == "ok" and row["error"] is None and row["index"] == 3 and ":" in row["worker"]
    record_failure(row, "stock cage", GeometryError("cage: the kernel failed\nsecond line"))
    assert row["status"] == "failed" and row["error"] == "stock cage: cage: the kernel failed"
    record_failure(row, "morph", ValueError("bad\nvalue"))
    assert row["error"] == "morph: ValueError: bad"

# --------------------------------------------------------------------------- end to end (slow)

@pytest.fixture(scope="module")
def lumbar_run(tmp_path_factory):
    from implants.sweep.runner import run_sweep

    out = tmp_path_factory.mktemp("patients") / "run"
    return out, run_sweep(SMALL, out, workers=2)


def _cut_copy(out: Path, folder: Path, cut) -> tuple[Path, list[str]]:
    """Copy a finished run to ``folder`` and replace its journal by ``cut(rows)``; the journal path
    and its original rows."""
    shutil.copytree(out, folder)
    journal = folder / RESULTS_JSONL
    rows = journal.read_text().splitlines()
    journal.write_text(cut(rows))
    return journal, rows


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in frame.columns if c not in VOLATILE]].reset_index(drop=True)


@pytest.mark.slow
def test_two_lumbar_patients_congruent_against_stock(lumbar_run):
    out, frame = lumbar_run
    assert list(frame["status"]) == ["ok", "ok"], list(frame["error"])
    drawn = Patient.sample(2, 1, "lumbar")
    for (_, row), patient in zip(frame.iterrows(), drawn):
        assert row["patient.disc_height_mm"] == patient.disc_height_mm
        assert abs(row["measured.disc_height_mm"] - patient.disc_height_mm) < 0.3
        assert abs(row["measured.disc_sagittal_deg"] - patient.disc_sagittal_deg) < 0.5
        assert row["congruent_contact_pct_footprint"] > 90          # congruent: the whole face bears
        assert row["congruent_contact_mm2"] > row["stock_contact_mm2"] > 0
        assert row["contact_ratio"] == pytest.approx(row["congruent_contact_mm2"] / row["stock_contact_mm2"], 1e-3)
        assert max(row["congruent_max_penetration_mm"], row["stock_max_penetration_mm"]) < 0.05
        assert abs(row["congruent_sagittal_measured_deg"] - row["congruent_sagittal_planned_deg"]) < 0.5
        assert abs(row["stock_sagittal_measured_deg"] - row["stock_lordosis_deg"]) < 0.5
        assert row["stock_lordosis_deg"] in (6.0, 12.0, 18.0) and float(row["stock_nominal_height_mm"]).is_integer()
        assert (out / row["path_manifest"]).is_file()
        # under 1000 N the flat stock faces, bearing near the rim, carry a higher peak than the congruent ones
        assert row["stock_peak_mpa"] > row["congruent_peak_mpa"] > 1000 / row["congruent_loaded_area_mm2"] * 0.5
        assert row["peak_ratio"] == pytest.approx(row["stock_peak_mpa"] / row["congruent_peak_mpa"], 1e-3)
        assert row["stock_rim_share"] > row["congruent_rim_share"]
    assert (out / "summary.png").stat().st_size > 10_000
    assert len(pd.read_parquet(out / "results.parquet")) == 2


@pytest.mark.slow
def test_interrupted_population_sweep_resumes_with_nothing_lost_or_duplicated(lumbar_run, tmp_path):
    from implants.sweep.runner import run_sweep

    out, frame = lumbar_run
    copy = tmp_path / "copy"
    # killed while writing the second row
    journal, (first, second) = _cut_copy(out, copy, lambda rows: rows[0] + "\n" + rows[1][: len(rows[1]) // 2])
    built: list[str] = []
    resumed = run_sweep(SMALL, copy, workers=1, on_row=lambda row: built.append(row["variant"]))
    assert built == [json.loads(second)["variant"]]
    assert int(resumed["reused"].sum()) == 1
    pd.testing.assert_frame_equal(_stable(resumed).drop(columns=[c for c in resumed if c.endswith("_s")]),
                                  _stable(frame).drop(columns=[c for c in frame if c.endswith("_s")]))
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines() if line.endswith("}")]
    assert sorted(keys) == sorted(frame["key"])


@pytest.mark.slow
def test_population_sweep_on_dask_gives_the_same_rows(lumbar_run, tmp_path):
    from distributed import LocalCluster

    from implants.sweep.runner import run_sweep

    out, frame = lumbar_run
    copy = tmp_path / "dask"
    _, (kept, _) = _cut_copy(out, copy, lambda rows: rows[0] + "\n")   # the first to finish; the other runs on Dask
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp",
                      dashboard_address=None) as cluster:
        on_dask = run_sweep(SMALL, copy, scheduler=cluster.scheduler_address)
    reused = [index == json.loads(kept)["index"] for index in on_dask["index"]]
    assert list(on_dask["status"]) == ["ok", "ok"] and list(on_dask["reused"]) == reused and sum(reused) == 1
    measured = [c for c in frame.columns if c.startswith(("measured.", "congruent_contact", "stock_contact"))]
    pd.testing.assert_frame_equal(on_dask[measured], frame[measured])


@pytest.mark.parametrize("name, region, count", [("patients_alif_l4l5.yaml", "lumbar", 100),
                                                 ("patients_acdf_c5c6.yaml", "cervical", 50),
                                                 ("patients_alif_l4l5_small.yaml", "lumbar", 6)])
def test_example_population_specs_expand_without_building(name, region, count):
    spec = load_spec(ROOT / "examples" / name)
    variants = expand_patients(spec)
    assert spec.patient.region == region and spec.preset == {"lumbar": "lumbar-alif", "cervical": "cervical-acdf"}[region]
    assert len(variants) == count and all(v.ok for v in variants)
