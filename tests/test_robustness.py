"""Property-based robustness across every registered template (issue: robustness).

Parameters drawn across each type's declared envelope (from its JSON Schema) either build a
valid, watertight solid with the expected number of bodies, or are rejected by validation
with a ParameterError. Anything else (kernel exception, invalid solid, GeometryError) is a bug.
CI tier: 25 derandomized samples per type; the slow tier draws 300.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import implants
from implants import ParameterError
from implants.checks.mesh import check_mesh
from implants.export.tessellate import tessellate
from implants.tolerances import DEFAULT_DEFLECTION_MM

TYPES = implants.type_ids()
#: The export default: the mesh that is checked is the mesh that ships.
DEFLECTION_MM = DEFAULT_DEFLECTION_MM


def _value_strategy(prop: dict, defs: dict):
    options = prop.get("anyOf", [prop])
    choices = []
    for option in options:
        if "$ref" in option:
            choices.append(st.sampled_from(defs[option["$ref"].split("/")[-1]]["enum"]))
        elif "enum" in option:
            choices.append(st.sampled_from(option["enum"]))
        elif option.get("type") == "boolean":
            choices.append(st.booleans())
        elif option.get("type") == "integer":
            choices.append(st.integers(int(option.get("minimum", 0)), int(option.get("maximum", 10))))
        elif option.get("type") == "number":
            low, high = option.get("minimum", -1e3), option.get("maximum", 1e3)
            choices.append(st.floats(low, high, allow_nan=False, allow_infinity=False))
        elif option.get("type") == "null":
            choices.append(st.none())
    return st.one_of(choices) if choices else None


def parameter_overrides(type_id: str):
    """A strategy of dicts overriding a random subset of a type's parameters within their bounds."""
    template = implants.get(type_id)
    schema = template.params.model_json_schema()
    fields = {}
    for name, prop in schema["properties"].items():
        strategy = _value_strategy(prop, schema.get("$defs", {}))
        if strategy is not None:
            fields[name] = strategy
    preset = st.sampled_from(list(template.presets))
    return st.tuples(preset, st.fixed_dictionaries({}, optional=fields))


def check_sample(type_id: str, preset: str, overrides: dict) -> str:
    template = implants.get(type_id)
    try:
        params = template.make_params(preset, **overrides)
        implant = template.build(params)
    except ParameterError:  # validation, or a combination the template proves impossible (names the fields)
        return "rejected"
    assert implant.shape.isValid(), f"invalid solid for {params.model_dump(mode='json')}"
    expected = implant.bodies
    assert expected == max(1, len(implant.parts)), f"unexpected body count for {params.model_dump(mode='json')}"
    report = check_mesh(tessellate(implant.shape, DEFLECTION_MM).mesh, expected_bodies=expected)
    assert report["watertight"] and report["winding_consistent"], params.model_dump(mode="json")
    assert report["volume_mm3"] > 0 and math.isfinite(report["volume_mm3"])
    return "built"


def _property_test(samples: int):
    @pytest.mark.parametrize("type_id", TYPES)
    def test(type_id):
        @settings(max_examples=samples, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(parameter_overrides(type_id))
        def sample(drawn):
            preset, overrides = drawn
            check_sample(type_id, preset, overrides)

        sample()

    return test


test_envelope_builds_or_rejects = _property_test(25)
test_envelope_builds_or_rejects_slow = pytest.mark.slow(_property_test(300))
