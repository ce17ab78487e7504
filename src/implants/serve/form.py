"""The configurator's form (layer: serve): a type's parameters as form fields, and the range of
each field that is valid given the other current values, found with the parameter validator alone.

Most combinations inside the declared bounds are refused by the cross-field rules of the parameter
models, so a bare slider over the declared bounds would mostly lead to errors. :func:`valid_ranges`
holds every other field at its current value and asks the pydantic model (never the CAD kernel)
which values of one field pass: a coarse grid over the declared bounds, then bisection at the
edges of the valid run around the current value to :data:`RESOLUTION` of the declared span.
Enums and booleans list which choices pass. Units follow the field names (``_mm``, ``_deg``).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from pydantic import ValidationError

from ..params import ImplantParams, unit_of
from ..registry import get

#: Grid points over the declared bounds (the current value is added).
GRID_POINTS = 9
#: Bisection stops when the bracket is narrower than this fraction of the declared span.
RESOLUTION = 1 / 400
#: Integer fields with at most this many values are enumerated, not bisected.
MAX_ENUMERATED_INTEGERS = 60


def field_specs(type_id: str) -> list[dict[str, Any]]:
    """Form fields of a type, in declaration order: ``name``, ``kind`` (number, integer, enum,
    boolean, json), ``nullable`` (None means "by the template's default rule"), ``unit``,
    ``description``, ``default``, declared ``minimum``/``maximum`` and enum ``options``."""
    schema = get(type_id).params.model_json_schema()
    definitions = schema.get("$defs", {})
    fields = []
    for name, prop in schema["properties"].items():
        options = prop.get("anyOf", [prop])
        nullable = any(o.get("type") == "null" for o in options)
        concrete = [o for o in options if o.get("type") != "null"]
        spec: dict[str, Any] = {"name": name, "unit": unit_of(name), "description": prop.get("description", ""),
                                "default": prop.get("default"), "nullable": nullable}
        ref = next((o["$ref"] for o in concrete if "$ref" in o), None)
        kind = concrete[0].get("type") if concrete else None
        if ref is not None:
            spec.update(kind="enum", options=list(definitions[ref.split("/")[-1]]["enum"]))
        elif kind in ("number", "integer"):
            low = next((o.get("minimum", o.get("exclusiveMinimum")) for o in concrete
                        if "minimum" in o or "exclusiveMinimum" in o), None)
            high = next((o.get("maximum", o.get("exclusiveMaximum")) for o in concrete
                         if "maximum" in o or "exclusiveMaximum" in o), None)
            spec.update(kind=kind, minimum=low, maximum=high)
        elif kind == "boolean":
            spec.update(kind="boolean")
        else:  # lists of points and other structured values: edited as JSON text
            spec.update(kind="json")
        fields.append(spec)
    return fields


def _passes(model: type[ImplantParams], values: Mapping[str, Any], name: str, value: Any) -> bool:
    try:
        model.model_validate({**values, name: value})
    except ValidationError:
        return False
    return True


def _edge(model, values, name, good: float, bad: float, tolerance: float, integer: bool) -> float:
    """Bisect between a passing and a failing value of ``name``; returns the last passing value."""
    while abs(bad - good) > tolerance:
        middle = (good + bad) / 2
        if integer:
            middle = math.floor(middle) if good < bad else math.ceil(middle)
            if middle in (good, bad):
                break
        if _passes(model, values, name, middle):
            good = middle
        else:
            bad = middle
    return good


def _inward(value: float, span: float, up: bool) -> float:
    """``value`` rounded to the resolution's decimals, towards the inside of the interval (up for a
    lower bound, down for an upper one), so the shown bound still passes."""
    decimals = max(0, math.ceil(-math.log10(span * RESOLUTION))) if span > 0 else 3
    scale = 10 ** decimals
    scaled = round(value * scale, 6)
    return (math.ceil(scaled) if up else math.floor(scaled)) / scale


def numeric_range(model: type[ImplantParams], values: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """The valid interval of one numeric field, the others held at ``values``: ``min``/``max``
    (None when no value passes), ``current_valid`` and ``split`` (passing values also exist
    outside the interval, e.g. "0 or at least 0.2")."""
    name, low, high = spec["name"], spec.get("minimum"), spec.get("maximum")
    integer = spec["kind"] == "integer"
    if low is None or high is None:
        return {"min": low, "max": high, "current_valid": None, "split": False}
    current = values.get(name)
    if integer and high - low <= MAX_ENUMERATED_INTEGERS:
        grid = list(range(int(low), int(high) + 1))
    else:
        grid = sorted({low + (high - low) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)} |
                      ({current} if isinstance(current, (int, float)) and low <= current <= high else set()))
        if integer:
            grid = sorted({int(round(v)) for v in grid})
    ok = [_passes(model, values, name, v) for v in grid]
    runs, start = [], None
    for i, passed in enumerate(ok + [False]):
        if passed and start is None:
            start = i
        elif not passed and start is not None:
            runs.append((start, i - 1))
            start = None
    current_valid = isinstance(current, (int, float)) and _passes(model, values, name, current)
    if not runs:
        return {"min": None, "max": None, "current_valid": current_valid, "split": False}
    target = current if isinstance(current, (int, float)) else (low + high) / 2
    first, last = min(runs, key=lambda r: 0.0 if grid[r[0]] <= target <= grid[r[1]]
                      else min(abs(grid[r[0]] - target), abs(grid[r[1]] - target)))
    tolerance = 1 if integer else (high - low) * RESOLUTION
    lower = grid[first] if first == 0 else _edge(model, values, name, grid[first], grid[first - 1], tolerance, integer)
    upper = grid[last] if last == len(grid) - 1 else _edge(model, values, name, grid[last], grid[last + 1],
                                                             tolerance, integer)
    if not integer:
        lower, upper = _inward(lower, high - low, True), _inward(upper, high - low, False)
    return {"min": lower, "max": upper, "current_valid": current_valid, "split": len(runs) > 1}


def valid_ranges(type_id: str, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For every field of ``type_id``: the values that pass validation when only that field
    changes. Numbers: see :func:`numeric_range` (plus ``null_valid`` for nullable fields);
    enums and booleans: ``valid`` maps each choice to whether it passes. ``values`` are the
    current parameter values (all fields, JSON types); no kernel is called."""
    model = get(type_id).params
    out: dict[str, dict[str, Any]] = {}
    for spec in field_specs(type_id):
        name = spec["name"]
        if spec["kind"] in ("number", "integer"):
            entry = numeric_range(model, values, spec)
            if spec["nullable"]:
                entry["null_valid"] = _passes(model, values, name, None)
        elif spec["kind"] == "enum":
            entry = {"valid": {option: _passes(model, values, name, option) for option in spec["options"]}}
        elif spec["kind"] == "boolean":
            entry = {"valid": {str(flag).lower(): _passes(model, values, name, flag) for flag in (False, True)}}
        else:
            entry = {}
        out[name] = entry
    return out
