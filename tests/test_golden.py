"""Every preset of every type still builds the geometry recorded in tests/golden/ (see record.py there):
a restructuring must not change it; an intended change regenerates the files on purpose."""

from __future__ import annotations

import json

import pytest

from golden.record import all_presets, path_of, record

REL = 1e-6


@pytest.mark.parametrize("type_id, preset", all_presets(), ids=lambda v: v)
def test_preset_matches_its_golden_record(type_id, preset):
    golden = json.loads(path_of(type_id, preset).read_text())
    now = record(type_id, preset)
    for key in ("params_hash", "file_stem", "bodies", "parts", "checks"):
        assert now[key] == golden[key], key
    assert now["volume_mm3"] == pytest.approx(golden["volume_mm3"], rel=REL)
    assert now["area_mm2"] == pytest.approx(golden["area_mm2"], rel=REL)
    for corner_now, corner in zip(now["bbox_mm"], golden["bbox_mm"]):
        assert corner_now == pytest.approx(corner, abs=1e-6)
    assert sorted(now["features"]) == sorted(golden["features"])
    for name, feature in golden["features"].items():
        assert now["features"][name]["kind"] == feature["kind"], name
        for key in ("origin_mm", "direction", "diameter_mm", "length_mm"):
            assert now["features"][name].get(key) == pytest.approx(feature.get(key), abs=1e-4), f"{name}.{key}"


def test_every_preset_has_a_golden_record_and_no_stale_ones():
    recorded = {(p.parent.name, p.stem) for p in path_of("x", "y").parent.parent.glob("*/*.json")}
    assert recorded == set(all_presets())
