"""Body replacement with end platforms fitted to real vertebrae: lumbar mean L3 and L5 with L4
removed (issue 5: >= 90 % of each end-platform face within 0.25 mm of its endplate)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from implants.anatomy.endplates import extract_endplate
from implants.fit.column import fit_body_replacement
from implants.anatomy.meshes import load_mesh
from implants.errors import ParameterError
from implants.implant_types.vertebral_body_replacement import VBRParams


@pytest.fixture(scope="module")
def meshes(anatomy_dir):
    return (load_mesh(anatomy_dir / "lumbar_mean_L3_mm.stl"), load_mesh(anatomy_dir / "lumbar_mean_L5_mm.stl"))


@pytest.fixture(scope="module")
def fitted(meshes):
    started = time.perf_counter()
    implant, report = fit_body_replacement(*meshes)
    report["wall_s"] = time.perf_counter() - started
    return implant, report


@pytest.mark.parametrize("end", ["superior", "inferior"])
def test_end_platforms_lie_on_the_endplates(fitted, end):
    _, report = fitted
    e = report["ends"][end]
    print(end, e, report["timings_s"])
    assert e["tolerance_mm"] == 0.25
    assert e["pct_face"] >= 90.0
    assert e["pct_footprint"] >= 90.0
    assert e["contact_mm2"] >= 0.9 * e["face_area_mm2"]
    assert e["face_area_mm2"] > 500.0  # a lumbar end platform, not a sliver
    assert e["max_penetration_mm"] is not None and e["max_penetration_mm"] <= 0.1


def test_solid_is_valid_and_one_body(fitted):
    implant, report = fitted
    assert implant.shape.isValid()
    assert implant.bodies == 1
    assert implant.type_id == "vertebral-body-replacement"
    assert report["region"] == "lumbar" and report["levels"] == 1
    for name in ("contact.superior", "contact.inferior", "graft_channel"):
        assert name in implant.features
    assert implant.features["contact.superior"].faces and implant.features["contact.inferior"].faces


def test_column_spans_the_corpectomy_gap(fitted, meshes):
    """The column axis runs along the gap: a ray from the column origin along the axis meets L3
    (upwards) and L5 (downwards); the distance between the hits is the gap the column fills."""
    implant, report = fitted
    upper, lower = meshes
    frame = np.array(report["column_frame_matrix"])
    origin, axis = frame[:3, 3], frame[:3, 2]
    assert np.allclose(axis, report["axis"], atol=1e-5)
    hits = []
    for mesh, direction in ((upper, axis), (lower, -axis)):
        loc, _, _ = mesh.ray.intersects_location([origin], [direction])
        hits.append(loc[np.argmin(np.linalg.norm(loc - origin, axis=1))])
    gap = float(np.linalg.norm(hits[0] - hits[1]))
    assert abs(gap - report["gap_at_axis_mm"]) < 0.3
    # the axis bisects the two endplate normals (L5's superior endplate is tilted ~20 deg forward)
    n_up, n_lo = extract_endplate(upper, "inferior").normal, extract_endplate(lower, "superior").normal
    a_up = np.degrees(np.arccos(np.clip(axis @ -n_up, -1, 1)))
    a_lo = np.degrees(np.arccos(np.clip(axis @ n_lo, -1, 1)))
    assert abs(a_up - a_lo) < 0.01 and 5.0 < a_up + a_lo < 40.0
    # at the axis the column is as tall as the gap (template height between the mean planes)
    assert 35.0 < report["height_mm"] < 50.0 and 5.0 < report["lordosis_deg"] < 30.0


def test_exports_through_the_pipeline(fitted, meshes, tmp_path):
    from implants.pipeline import export

    implant, report = fitted
    result = export(implant, tmp_path, formats=("step", "stl"), endplate=meshes[0])
    checks = result.manifest["checks"]
    assert checks["ok"], checks["failed"]
    assert result.manifest["bodies"] == 1
    contact = checks["contact"]
    assert contact["bearing_surface"] == "contact.superior"
    foot = checks["footprint"]["contact.superior"]["area_mm2"]
    assert contact["bearing_contact_mm2"] >= 0.9 * checks["footprint"]["contact.superior"]["surface_area_mm2"]
    assert abs(foot - report["ends"]["superior"]["footprint_mm2"]) < 0.5
    assert result.paths["stl"].exists() and result.paths["step"].exists()


def test_bad_input(meshes):
    upper, lower = meshes
    with pytest.raises(ParameterError, match="params"):
        fit_body_replacement(upper, lower, params={"region": "lumbar"})
    with pytest.raises(ParameterError, match="depth_mm x width_mm"):
        fit_body_replacement(upper, lower, params=VBRParams(region="lumbar", depth_mm=36.0, width_mm=50.0))
    with pytest.raises(ParameterError, match="overlap"):  # swapped: L5 given as the upper vertebra
        fit_body_replacement(lower, upper)
    with pytest.raises(ParameterError, match="upper vertebra"):
        fit_body_replacement(42, lower)
