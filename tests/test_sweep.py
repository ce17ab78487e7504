"""Sweeps and kits: spec expansion, local pool, invalid variants, time limit, resume, Dask, kit, CLI."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from implants.errors import ParameterError
from implants.sweep.results import RESULTS_JSONL, read_rows
from implants.sweep.runner import run_sweep
from implants.sweep.spec import expand, load_spec

SPEC = {
    "type": "interbody-cage",
    "preset": "lumbar-alif",
    "axes": {"height_mm": [10.0, 12.0, 25.0], "lordosis_deg": [4.0, 8.0]},  # 25 mm is out of range
    "outputs": {"formats": ["stl"]},
    "timeout_s": 120,
}
#: Columns that legitimately differ between two runs of the same variant.
VOLATILE = {"reused", "worker", "build_s", "export_s", "metrics_s", "total_s"}


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, pd.DataFrame, float]:
    out = tmp_path_factory.mktemp("sweep") / "run"
    start = time.perf_counter()
    frame = run_sweep(SPEC, out, workers=2)
    return out, frame, time.perf_counter() - start


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in frame.columns if c not in VOLATILE]].reset_index(drop=True)


# --------------------------------------------------------------------------- spec

def test_spec_ranges_grids_zip_and_sampling():
    ranged = expand(load_spec({"type": "interbody-cage", "axes": {
        "height_mm": {"start": 10, "stop": 14, "step": 2}, "width_mm": {"start": 30, "stop": 40, "num": 3}}}))
    assert [(v.values["height_mm"], v.values["width_mm"]) for v in ranged] == [
        (h, w) for h in (10.0, 12.0, 14.0) for w in (30.0, 35.0, 40.0)]
    zipped = expand(load_spec({"type": "interbody-cage", "combine": "zip",
                               "axes": {"height_mm": [10, 12], "lordosis_deg": [4, 8]}}))
    assert [v.values for v in zipped] == [{"height_mm": 10, "lordosis_deg": 4}, {"height_mm": 12, "lordosis_deg": 8}]
    lhs = expand(load_spec({"type": "interbody-cage", "sample": {"method": "lhs", "count": 10, "seed": 3},
                            "axes": {"height_mm": {"start": 8, "stop": 18}, "footprint": ["box", "kidney"]}}))
    heights = np.array([v.values["height_mm"] for v in lhs])
    # Latin hypercube: exactly one sample in each of the 10 equal strata of the range
    assert sorted(np.floor((heights - 8.0) / 1.0).astype(int)) == list(range(10))
    assert {v.values["footprint"] for v in lhs} == {"box", "kidney"}
    again = expand(load_spec({"type": "interbody-cage", "sample": {"method": "lhs", "count": 10, "seed": 3},
                              "axes": {"height_mm": {"start": 8, "stop": 18}, "footprint": ["box", "kidney"]}}))
    assert [v.key for v in again] == [v.key for v in lhs]  # seeded: reproducible
    random = expand(load_spec({"type": "interbody-cage", "sample": {"method": "random", "count": 7},
                               "axes": {"lordosis_deg": {"start": 0, "stop": 12, "step": 2}}}))
    assert len(random) == 7 and all(v.values["lordosis_deg"] in range(0, 13, 2) for v in random)


@pytest.mark.parametrize("bad, match", [
    ({"type": "no-such-type"}, "unknown implant type"),
    ({"type": "interbody-cage", "combine": "zip", "axes": {"height_mm": [10, 12], "lordosis_deg": [4]}}, "equal length"),
    ({"type": "interbody-cage", "axes": {"height_mm": []}}, "no values"),
    ({"type": "interbody-cage", "outputs": {"formats": ["obj"]}}, "formats"),
    ({"type": "interbody-cage", "params": {"height_mm": 99}}, "height_mm"),
    ({"type": "interbody-cage", "unknown_key": 1}, "unknown_key"),
])
def test_bad_spec_is_a_parameter_error(bad, match, tmp_path):
    with pytest.raises(ParameterError, match=match):
        run_sweep(bad, tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / RESULTS_JSONL).exists()


# --------------------------------------------------------------------------- local pool

def test_sweep_rows_metrics_and_invalid_variants(first_run):
    out, frame, _ = first_run
    assert len(frame) == 6
    assert list(frame["index"]) == list(range(6))
    invalid = frame[frame["height_mm"] == 25.0]
    assert (invalid["status"] == "invalid").all()
    assert invalid["error"].str.contains("height_mm = 25.0").all() and invalid["error"].str.contains("20.0").all()
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == 4 and ok["checks_ok"].all() and (ok["bodies"] == 1).all()
    # the mesh volume matches the B-rep volume, and mass follows the densities
    assert np.allclose(ok["volume_mm3"], ok["brep_volume_mm3"], rtol=0.02)
    assert np.allclose(ok["mass_ti6al4v_g"] / ok["mass_peek_g"], 4.43 / 1.30, rtol=1e-3)
    # at equal lordosis the taller cage is bigger by about the footprint area × 2 mm
    flat = ok[ok["lordosis_deg"] == 4.0].set_index("height_mm")["brep_volume_mm3"]
    assert flat[12.0] > flat[10.0]
    for _, row in ok.iterrows():
        assert (out / row["path_stl"]).is_file() and (out / row["path_manifest"]).is_file()
        assert row["build_s"] > 0 and row["total_s"] >= row["build_s"]
    on_disk = pd.read_parquet(out / "results.parquet")
    assert len(on_disk) == 6 and set(frame.columns) <= set(on_disk.columns)
    assert len(pd.read_csv(out / "results.csv")) == 6
    assert len(read_rows(out / RESULTS_JSONL)) == 6


def test_rerun_of_finished_sweep_builds_nothing(first_run, tmp_path):
    out, frame, first_seconds = first_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    lines_before = (copy / RESULTS_JSONL).read_text().count("\n")
    start = time.perf_counter()
    again = run_sweep(SPEC, copy, workers=2)
    seconds = time.perf_counter() - start
    assert again["reused"].all()
    assert (copy / RESULTS_JSONL).read_text().count("\n") == lines_before  # nothing appended
    assert seconds < 0.1 * first_seconds, (seconds, first_seconds)
    pd.testing.assert_frame_equal(_stable(again), _stable(frame))


def test_interrupted_sweep_resumes_with_only_the_remaining_variants(first_run, tmp_path):
    out, frame, _ = first_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    journal = copy / RESULTS_JSONL
    lines = journal.read_text().splitlines()
    ok_lines = [line for line in lines if json.loads(line)["status"] == "ok"]
    # as if killed after two variants were recorded, in the middle of writing the third line
    journal.write_text("\n".join(ok_lines[:2]) + "\n" + ok_lines[2][: len(ok_lines[2]) // 2])
    # and one finished variant whose output was deleted afterwards must be rebuilt too
    gone = json.loads(ok_lines[1])
    (copy / gone["path_manifest"]).unlink()
    built: list[str] = []
    resumed = run_sweep(SPEC, copy, workers=2, on_row=lambda row: built.append(row["variant"]))
    first_two = {json.loads(line)["variant"] for line in ok_lines[:2]}
    expected = (set(frame.loc[frame["status"] == "ok", "variant"]) - first_two) | {gone["variant"]}
    assert set(built) == expected and len(built) == len(expected) == 3
    assert int(resumed["reused"].sum()) == 1
    pd.testing.assert_frame_equal(_stable(resumed), _stable(frame))
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines() if line.startswith("{")
            and line.endswith("}")]
    assert len(set(keys)) == 6  # every variant recorded; the torn line is ignored


def test_hang_is_stopped_by_the_time_limit_and_the_worker_replaced(tmp_path):
    # a user template given as module:attribute (tests/sweep_hang_template.py, importable by the workers)
    spec = {"type": "sweep_hang_template:TEMPLATE", "points": [{"hang": False}, {"hang": True}, {"size_mm": 7.0}],
            "outputs": {"formats": ["stl"]}}
    start = time.perf_counter()
    frame = run_sweep(spec, tmp_path / "hang", workers=1, timeout=6.0)
    assert time.perf_counter() - start < 60
    assert list(frame["status"]) == ["ok", "timeout", "ok"], frame[["status", "error", "total_s"]].to_string()
    assert "time limit of 6 s" in frame.loc[1, "error"]
    assert frame.loc[2, "volume_mm3"] == pytest.approx(343.0, rel=1e-6)  # built by the replacement worker
    assert frame.loc[0, "worker"] != frame.loc[2, "worker"]


def test_workers_warm_up_with_a_single_threaded_kernel():
    """Each pool worker imports everything the exporter needs and runs OCCT on one thread
    (parallelism is one variant per core); checked in a fresh process, whose pool is not created yet."""
    import subprocess
    import sys

    code = ("import json, sys; from implants.sweep.worker import warm_up, WORKER_MODULES; "
            "info = warm_up(); print(json.dumps({**info, 'missing': [m for m in WORKER_MODULES if m not in sys.modules]}))")
    info = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                     text=True).stdout.strip().splitlines()[-1])
    assert info["occt_threads"] == 1
    assert info["missing"] == []


# --------------------------------------------------------------------------- Dask

def test_dask_scheduler_gives_the_same_table(first_run, tmp_path):
    from distributed import Client, LocalCluster

    _, frame, _ = first_run
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        on_dask = run_sweep(SPEC, tmp_path / "dask", scheduler=cluster.scheduler_address)
        assert client.status == "running"
    pd.testing.assert_frame_equal(_stable(on_dask), _stable(frame))


# --------------------------------------------------------------------------- kit

def test_kit_three_heights_by_three_footprints(tmp_path):
    from implants.sweep.kit import make_kit
    from implants.render.pictures import png_pixels

    table = make_kit("interbody-cage", ["height_mm=-2:+2:2", "depth_mm+width_mm=-3:+3:3"], tmp_path / "kit",
                     preset="lumbar-alif", formats=("stl",), workers=2)
    assert len(table) == 9 and (table["status"] == "ok").all()
    nominal = table[table["nominal"]]
    assert len(nominal) == 1
    assert nominal.iloc[0][["height_mm", "depth_mm", "width_mm"]].tolist() == [12.0, 28.0, 38.0]
    assert sorted(set(table["height_mm"])) == [10.0, 12.0, 14.0]
    assert sorted(set(zip(table["depth_mm"], table["width_mm"]))) == [(25.0, 35.0), (28.0, 38.0), (31.0, 41.0)]
    # taller and larger is heavier
    by_size = table.set_index(["height_mm", "depth_mm"])["brep_volume_mm3"]
    assert by_size[(14.0, 28.0)] > by_size[(12.0, 28.0)] > by_size[(10.0, 28.0)]
    assert by_size[(12.0, 31.0)] > by_size[(12.0, 28.0)] > by_size[(12.0, 25.0)]
    assert "height 12 mm" in nominal.iloc[0]["label"]
    on_disk = pd.read_csv(tmp_path / "kit" / "kit.csv")
    assert len(on_disk) == 9 and on_disk["nominal"].sum() == 1
    pixels = png_pixels(tmp_path / "kit" / "kit.png")
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    # the nominal variant is drawn in orange, the others in grey
    rgb = pixels[..., :3].astype(int)
    orange = (rgb[..., 0] > 200) & (rgb[..., 1] > 100) & (rgb[..., 1] < 190) & (rgb[..., 2] < 120)
    assert orange.sum() > 2000


def test_kit_rejects_bad_vary(tmp_path):
    from implants.sweep.kit import make_kit

    with pytest.raises(ParameterError, match="unknown parameter"):
        make_kit("interbody-cage", ["height=-1:+1:1"], tmp_path / "k")
    with pytest.raises(ParameterError, match="from:to:step"):
        make_kit("interbody-cage", ["height_mm=-1:+1"], tmp_path / "k")
    with pytest.raises(ParameterError, match="--vary expects"):
        make_kit("interbody-cage", ["height_mm"], tmp_path / "k")


# --------------------------------------------------------------------------- CLI

def test_cli_sweep_rerun_and_plot(first_run, tmp_path):
    from implants.cli import app

    out, _, _ = first_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    spec_file = tmp_path / "spec.yaml"
    import yaml

    spec_file.write_text(yaml.safe_dump(SPEC))
    runner = CliRunner()
    result = runner.invoke(app, ["sweep", str(spec_file), "--out", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["ok"] == 4 and counts["invalid"] == 2 and counts["reused"] == 6
    png = tmp_path / "plot.png"
    result = runner.invoke(app, ["sweep-plot", str(copy / "results.parquet"), "--metric", "volume_mm3",
                                 "--x", "height_mm", "--y", "lordosis_deg", "--out", str(png)])
    assert result.exit_code == 0, result.output
    assert png.is_file() and png.stat().st_size > 10_000
    result = runner.invoke(app, ["sweep-plot", str(copy), "--metric", "nope", "--x", "height_mm", "--out", str(png)])
    assert result.exit_code == 3 and "nope" in result.output and "Traceback" not in result.output


def test_cli_sweep_in_which_every_variant_fails_exits_non_zero(tmp_path):
    """Bug: a sweep whose endplate file was missing failed every variant and still exited 0."""
    import yaml

    from implants.cli import app

    runner = CliRunner()
    failing = {**SPEC, "axes": {"height_mm": [10.0, 12.0]}, "metrics": {"contact": {"endplate": "missing.stl"}}}
    spec_file = tmp_path / "failing.yaml"
    spec_file.write_text(yaml.safe_dump(failing))
    result = runner.invoke(app, ["sweep", str(spec_file), "--out", str(tmp_path / "a"), "--workers", "1"])
    assert result.exit_code == 4, result.output
    assert "every variant of the sweep failed (2 of 2)" in result.stderr and "missing.stl" in result.stderr
    invalid = {**SPEC, "axes": {"height_mm": [25.0, 30.0]}}
    spec_file.write_text(yaml.safe_dump(invalid))
    result = runner.invoke(app, ["sweep", str(spec_file), "--out", str(tmp_path / "b"), "--workers", "1"])
    assert result.exit_code == 3 and "every variant of the sweep failed" in result.stderr


def test_contact_endplate_may_be_a_packaged_level(tmp_path):
    spec = load_spec({**SPEC, "metrics": {"contact": {"endplate": "mean-L5"}}}).resolve_paths(tmp_path)
    assert spec.metrics.contact.endplate == "mean-L5"
    spec = load_spec({**SPEC, "metrics": {"contact": {"endplate": "L5.stl"}}}).resolve_paths(tmp_path)
    assert spec.metrics.contact.endplate == str(Path.cwd() / "L5.stl")  # a file name stays a path
