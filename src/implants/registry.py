"""Explicit registry of the implant templates (SPEC.md §2).

Modules are imported on first use, and template modules import the CAD kernel only
inside ``build()``, so ``implants list`` and ``implants --help`` stay fast.
"""

from __future__ import annotations

from importlib import import_module

from .errors import ParameterError
from .model import Template

#: type id → module holding ``TEMPLATE``, in the order of SPEC.md §2.
TEMPLATE_MODULES: dict[str, str] = {
    "upper-cervical-docking": "implants.templates.upper_cervical_docking",
    "c1c2-transarticular-template": "implants.templates.c1c2_transarticular_template",
    "distraction-spacer": "implants.templates.distraction_spacer",
    "interbody-cage": "implants.templates.interbody_cage",
    "vertebral-body-replacement": "implants.templates.vertebral_body_replacement",
    "anterior-plate": "implants.templates.anterior_plate",
    "bridge-strut": "implants.templates.bridge_strut",
    "monolithic": "implants.templates.monolithic",
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
