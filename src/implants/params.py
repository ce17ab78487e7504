"""Shared parameter types and the base configuration of every template's parameter model (layer: params).

Units are in the field names (``_mm``, ``_deg``); bounds, defaults and a one-line
description are on every field, so the CLI, the docs and JSON Schema read them.
"""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from typing import Any, Mapping, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from .errors import ParameterError

NOT_A_MEDICAL_DEVICE = (
    "NOT A MEDICAL DEVICE. Illustrative model for teaching, printed demonstrators and "
    "design exploration only; not for clinical use, diagnosis or surgical planning."
)


class Material(str, Enum):
    """Implant material; density in g/cm³ from SPEC.md §2."""

    TI6AL4V = "ti6al4v"
    PEEK = "peek"

    @property
    def density_g_cm3(self) -> float:
        return {"ti6al4v": 4.43, "peek": 1.30}[self.value]

    @property
    def min_wall_mm(self) -> float:
        """Thinnest wall printable in this material (mm): laser-melted Ti vs. extruded PEEK."""
        return {"ti6al4v": 0.3, "peek": 0.8}[self.value]


class Side(str, Enum):
    """Patient side: left is +y in the patient frame."""

    LEFT = "left"
    RIGHT = "right"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LEFT else -1


class Region(str, Enum):
    """Spinal region of a template's size defaults (endplate morphometry, level heights)."""

    CERVICAL = "cervical"
    THORACIC = "thoracic"
    LUMBAR = "lumbar"


class EndplateShape(str, Enum):
    """Shape of a bearing face against a vertebral endplate (not the endplate of a bone mesh,
    ``anatomy.endplates.Endplate``): flat, or congruent to a synthetic domed endplate
    (``geometry.synthetic_endplate``, SPEC.md §3)."""

    FLAT = "flat"
    SYNTHETIC = "synthetic"


class ImplantParams(BaseModel):
    """Base of every template's parameters: frozen, unknown keys rejected, JSON-able."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True,
                              use_enum_values=False, allow_inf_nan=False)

    material: Material = Field(Material.TI6AL4V, description="Implant material: Ti-6Al-4V (4.43 g/cm³) or PEEK (1.30 g/cm³)")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse true/false where a number is expected (pydantic would read it as 1 or 0)."""
        if isinstance(value, bool):
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is not bool and bool not in get_args(annotation):
                raise ValueError("expected a number, not true/false")
        return value

    def params_hash(self) -> str:
        """Short stable hash of the parameters (used in file names)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _field_range(model: type[BaseModel], field: str) -> str:
    info = model.model_fields.get(field)
    if info is None:
        return ""
    low = high = None
    for meta in info.metadata:
        low = getattr(meta, "ge", getattr(meta, "gt", low))
        high = getattr(meta, "le", getattr(meta, "lt", high))
    unit = unit_of(field)
    if low is not None or high is not None:
        return f" (allowed {low if low is not None else '-inf'} to {high if high is not None else 'inf'}{' ' + unit if unit else ''})"
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return f" (allowed: {', '.join(m.value for m in annotation)})"
    return ""


def unit_of(field: str) -> str:
    """Unit of a parameter from its name suffix (``_mm`` → mm, ``_deg`` → deg)."""
    for suffix, unit in (("_mm2", "mm²"), ("_mm", "mm"), ("_deg", "deg"), ("_pct", "%")):
        if field.endswith(suffix):
            return unit
    return ""


def format_validation_error(model: type[BaseModel], error: ValidationError) -> str:
    """One line naming every bad field, its value and its allowed range."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "parameters"
        value = item.get("input")
        shown = "" if isinstance(value, Mapping) else f" = {value!r}"
        if item["type"] == "extra_forbidden":
            parts.append(f"unknown parameter '{field}' (see `implants show {getattr(model, 'type_id', '')}`)".replace(" ``", ""))
            continue
        msg = item["msg"].removeprefix("Value error, ")
        parts.append(f"{field}{shown}: {msg}{_field_range(model, field.split('.')[0])}")
    return "; ".join(parts)


def validate(model: type[ImplantParams], values: Mapping[str, Any]) -> ImplantParams:
    """Build a parameter model, turning pydantic's error into one clear :class:`ParameterError`."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        raise ParameterError(format_validation_error(model, error)) from None


def require(condition: bool, message: str) -> None:
    """Raise a cross-field rule violation (used in model validators)."""
    if not condition:
        raise ValueError(message)

