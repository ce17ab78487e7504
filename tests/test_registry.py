"""The registry holds exactly the eight types of SPEC.md §2, and each one's default model
exports through the whole pipeline with every required check passing."""

from __future__ import annotations

import pytest

import implants
from implants.params import NOT_A_MEDICAL_DEVICE

SPEC_TYPES = ["upper-cervical-docking", "c1c2-transarticular-template", "distraction-spacer", "interbody-cage",
              "vertebral-body-replacement", "anterior-plate", "bridge-strut", "monolithic"]


def test_exactly_the_eight_spec_types_in_spec_order():
    assert implants.type_ids() == SPEC_TYPES


@pytest.mark.parametrize("type_id", SPEC_TYPES)
def test_template_declares_itself(type_id):
    template = implants.get(type_id)
    assert template.type_id == type_id
    assert template.default_preset in template.presets
    assert template.title and template.review_wording and len(template.description) > 40
    for name, field in template.params.model_fields.items():
        assert field.description, f"{type_id}.{name} has no description"
    assert template.params.model_config["frozen"] and template.params.model_config["extra"] == "forbid"


@pytest.mark.parametrize("type_id", SPEC_TYPES)
def test_default_model_exports_with_every_check_passing(type_id, tmp_path):
    implant = implants.build(type_id)
    result = implants.export(implant, tmp_path)
    manifest = result.manifest
    assert manifest["checks"]["ok"], manifest["checks"]
    assert manifest["not_a_medical_device"] == NOT_A_MEDICAL_DEVICE
    assert manifest["bodies"] == implant.bodies
    assert set(result.paths) >= {"step", "stl", "3mf", "glb"}
    for path in result.paths.values():
        assert path.is_file() and path.stat().st_size > 0
        assert path.name.startswith(f"{type_id}-{implant.params.params_hash()}")
    assert set(manifest["features"]) == set(implant.features)
    mesh_volume = manifest["checks"]["mesh"]["volume_mm3"]
    assert mesh_volume == pytest.approx(implant.volume_mm3(), rel=5e-3)
