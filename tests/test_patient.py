"""Synthetic patient model (anatomy.patient): population means as defaults, bounds and the
cross-field rule as ParameterError naming the field, reproducible correlated sampling."""

from __future__ import annotations

import numpy as np
import pytest

from implants.anatomy.patient import (
    MIN_RIM_GAP_MM,
    MODELS,
    POPULATION,
    Patient,
    correlation_matrix,
    population_table,
)
from implants.errors import ParameterError


@pytest.mark.parametrize("region", ["lumbar", "cervical"])
def test_defaults_are_the_population_means(region):
    patient = Patient.of(region)
    assert patient.region == region
    for name, measure in POPULATION[region].items():
        assert getattr(patient, name) == measure.mean
        assert measure.low < measure.mean < measure.high
        assert measure.status in ("published", "estimate") and measure.source


def test_every_field_is_documented_with_unit_and_source():
    rows = population_table("lumbar")
    assert {r["field"] for r in rows} == set(MODELS["lumbar"].model_fields)
    assert all(r["unit"] in ("mm", "deg", "%") for r in rows)
    published = {r["field"] for r in rows if r["status"] == "published"}
    assert "upper_inferior_concavity_mm" in published and "region_lordosis_deg" in published
    assert "Wang" in MODELS["lumbar"].model_fields["upper_inferior_concavity_mm"].description


@pytest.mark.parametrize("field, value", [("disc_height_mm", 4.0), ("upper_inferior_width_mm", 99.0),
                                          ("lower_superior_concavity_mm", -1.0), ("disc_sagittal_deg", 40.0)])
def test_out_of_range_names_the_field_and_range(field, value):
    with pytest.raises(ParameterError, match=rf"^{field} = {value}: .*\(allowed .* to .*\)"):
        Patient.of("lumbar", **{field: value})


def test_overlapping_endplates_are_refused_with_the_smallest_height():
    # 6 mm centre height - 1.5 - 0.7 concavity - half depth x tan 12 deg leaves less than the rim gap
    with pytest.raises(ParameterError, match=r"^disc_height_mm = 6\.0: the endplate rims would overlap.*allowed 6\.8"):
        Patient.of("lumbar", disc_height_mm=6.0)
    taken = 1.5 + 0.7 + 0.5 * 34.5 * np.tan(np.radians(12.0))
    assert Patient.of("lumbar", disc_height_mm=round(taken + MIN_RIM_GAP_MM + 0.01, 2)).disc_height_mm > 0


def test_unknown_region_field_and_sizes():
    with pytest.raises(ParameterError, match="region = 'thoracic': allowed lumbar, cervical"):
        Patient.of("thoracic")
    with pytest.raises(ParameterError, match="unknown parameter 'shoe_size_mm'"):
        Patient.of("lumbar", shoe_size_mm=42)
    with pytest.raises(ParameterError, match="n = 0"):
        Patient.sample(0, 1)
    with pytest.raises(ParameterError, match="seed = -1"):
        Patient.sample(3, -1)


def test_sampling_is_reproducible_within_bounds_and_rules():
    first, again, other = Patient.sample(50, 11, "cervical"), Patient.sample(50, 11, "cervical"), Patient.sample(50, 12, "cervical")
    assert [p.model_dump() for p in first] == [p.model_dump() for p in again]
    assert [p.model_dump() for p in first] != [p.model_dump() for p in other]
    for patient in first:
        assert type(patient) is MODELS["cervical"]
        for name, m in POPULATION["cervical"].items():
            assert m.low <= getattr(patient, name) <= m.high


def test_sampled_population_has_the_documented_means_and_correlations():
    patients = Patient.sample(3000, 5, "lumbar")
    names = list(POPULATION["lumbar"])
    data = np.array([[getattr(p, n) for n in names] for p in patients])
    corr = np.corrcoef(data.T)
    want = correlation_matrix("lumbar")
    i = {n: k for k, n in enumerate(names)}
    # assumed size factor, assumed segment/lordosis coupling, published absence of height/lordosis correlation
    assert corr[i["upper_inferior_width_mm"], i["lower_superior_depth_mm"]] == pytest.approx(0.7, abs=0.06)
    assert corr[i["disc_sagittal_deg"], i["region_lordosis_deg"]] == pytest.approx(0.5, abs=0.06)
    # (the overlap rule drops short discs with large angles: a small induced coupling, measured 0.07)
    assert corr[i["disc_height_mm"], i["region_lordosis_deg"]] == pytest.approx(0.0, abs=0.1)
    assert np.all(np.linalg.eigvalsh(want) > 0)
    # truncation and the overlap rule shift the means only a little
    assert data[:, i["lower_superior_depth_mm"]].mean() == pytest.approx(35.7, abs=0.3)
    assert data[:, i["region_lordosis_deg"]].mean() == pytest.approx(49.8, abs=1.0)
