"""Explicit registry of the implant templates (SPEC.md §2).

Modules are imported on first use, and template modules import the CAD kernel only
inside ``build()``, so ``implants list`` and ``implants --help`` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import ParameterError
from .model import Template
from .params import unit_of

#: type id → module holding ``TEMPLATE``, in the order of SPEC.md §2.
TEMPLATE_MODULES: dict[str, str] = {
    "upper-cervical-docking": "implants.implant_types.upper_cervical_docking",
    "c1c2-transarticular-template": "implants.implant_types.c1c2_transarticular_template",
    "distraction-spacer": "implants.implant_types.distraction_spacer",
    "interbody-cage": "implants.implant_types.interbody_cage",
    "vertebral-body-replacement": "implants.implant_types.vertebral_body_replacement",
    "anterior-plate": "implants.implant_types.anterior_plate",
    "bridge-strut": "implants.implant_types.bridge_strut",
    "monolithic": "implants.implant_types.monolithic",
}


def type_ids() -> list[str]:
    """Registered type ids in SPEC.md order."""
    return list(TEMPLATE_MODULES)


def get(type_id: str) -> Template:
    """The template of ``type_id``; a :class:`ParameterError` lists the known ids otherwise."""
    module = TEMPLATE_MODULES.get(type_id)
    if module is None:
        raise ParameterError(f"unknown implant type '{type_id}' (allowed: {', '.join(TEMPLATE_MODULES)})")
    return import_module(module).TEMPLATE


def templates() -> list[Template]:
    """Every registered template."""
    return [get(type_id) for type_id in TEMPLATE_MODULES]


def parameter_rows(type_id: str) -> list[dict[str, Any]]:
    """Name, unit, default, range and description of every parameter of a type."""
    schema = get(type_id).params.model_json_schema()
    rows = []
    for name, prop in schema["properties"].items():
        options = prop.get("anyOf", [prop])
        low = next((o["minimum"] for o in options if "minimum" in o), None)
        high = next((o["maximum"] for o in options if "maximum" in o), None)
        ref = next((o["$ref"] for o in options if "$ref" in o), None)
        allowed = (f"{low} to {high}" if low is not None or high is not None
                   else ", ".join(schema["$defs"][ref.split("/")[-1]]["enum"]) if ref else prop.get("type", ""))
        rows.append({"name": name, "unit": unit_of(name), "default": prop.get("default"), "range": allowed,
                     "description": prop.get("description", "")})
    return rows
