"""The ``patient:`` block of a sweep spec (layer: sweep): which synthetic patients
(:class:`~implants.anatomy.patient.Patient`) a population sweep runs over, and the stock-cage rule
its comparator follows. Everything is checked when the spec is read::

    patient:
      region: lumbar                  # lumbar (L4/L5, ALIF cage) or cervical (C5/C6, ACDF cage)
      sample: {n: 100, seed: 1}       # n patients drawn from the population (optional)
      fields: {disc_coronal_deg: 0}   # fixed patient fields (every patient; overrides the draw)
      axes:                           # patient fields varied like implant axes (product)
        disc_height_mm: {start: 9, stop: 12, step: 1.5}
        disc_sagittal_deg: [8, 12, 16]
      stock: {lordosis_set_deg: [6, 12, 18], distraction_mm: 1.0}   # the stock comparator's sizing
      tolerance_mm: 0.25              # contact tolerance
      load: {force_n: 1000}           # optional: contact pressure on both cages (pressure columns)
      meshes: false                   # also write each patient's bones and both cages as STL

Without ``sample`` the population means are the base patient. An unknown field, a value outside
its bounds or an impossible combination (``Patient``'s cross-field rules) is a
:class:`~implants.errors.ParameterError` naming the field and its allowed range.
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import Field, model_validator

from ..anatomy.patient import Patient, model_for
from ..errors import ParameterError
from ..tolerances import CONTACT_TOLERANCE_MM
from .axes import AxisValues, LoadFields, Range, StrictModel, axis_values

#: The interbody-cage preset of each region's population sweep.
REGION_PRESETS = {"lumbar": "lumbar-alif", "cervical": "cervical-acdf"}


class PatientSample(StrictModel):
    """``n`` patients drawn reproducibly from the region's population with ``seed``."""

    n: int = Field(..., ge=1, le=100_000)
    seed: int = Field(0, ge=0)


class StockRule(StrictModel):
    """How the stock comparator is sized (:mod:`implants.fit.stock_cage`): the lordosis set (deg;
    default: the region's stock set) and the allowed posterior over-height (mm)."""

    lordosis_set_deg: list[float] | None = Field(None, min_length=1)
    distraction_mm: float = Field(1.0, ge=0.0, le=4.0)

    @model_validator(mode="after")
    def _angles(self) -> "StockRule":
        for angle in self.lordosis_set_deg or ():
            if not 0.0 <= angle <= 20.0:
                raise ValueError(f"lordosis_set_deg: {angle} is outside the cage's 0 to 20 deg")
        return self


class PatientBlock(StrictModel):
    """The patients of a population sweep (see the module docstring)."""

    region: Literal["lumbar", "cervical"] = "lumbar"
    sample: PatientSample | None = None
    fields: dict[str, float] = Field(default_factory=dict)
    axes: dict[str, AxisValues] = Field(default_factory=dict)
    stock: StockRule = Field(default_factory=StockRule)
    tolerance_mm: float = Field(CONTACT_TOLERANCE_MM, gt=0, le=5)
    load: LoadFields | None = None
    meshes: bool = False

    @property
    def preset(self) -> str:
        return REGION_PRESETS[self.region]

    @model_validator(mode="after")
    def _check(self) -> "PatientBlock":
        """An unknown field, a value out of bounds, or an impossible combination of the fixed
        fields with any one axis value (the other fields at the population means) is refused."""
        known = list(model_for(self.region).model_fields)
        for where, names in (("fields", self.fields), ("axes", self.axes)):
            for name in names:
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    hint = f"did you mean '{close[0]}'? " if close else ""
                    raise ValueError(f"{where}.{name}: not a field of a {self.region} patient ({hint}fields: "
                                     f"{', '.join(known)})")
        for name, axis in self.axes.items():
            if isinstance(axis, Range) and axis.step is None and axis.num is None:
                raise ValueError(f"axes.{name}: a range needs step or num")
            values = axis_values(axis)
            if not values:
                raise ValueError(f"axes.{name}: no values")
            for value in values:
                checked(self.region, {**self.fields, name: value}, f"axes.{name}")
        checked(self.region, dict(self.fields), "fields")
        return self


def checked(region: str, values: dict[str, float], where: str) -> Patient:
    """``Patient.of(region, **values)``, its error prefixed by ``where``."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{where}: {name} = {value!r} is not a number")
    try:
        return Patient.of(region, **values)
    except ParameterError as error:
        raise ParameterError(f"{where}: {error}") from None
