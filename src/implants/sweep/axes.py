"""Spec pieces shared by the implant sweeps (:mod:`.spec`) and the population sweeps
(:mod:`.patient_spec`) (layer: sweep): the values a sweep axis takes (an explicit list or a
:class:`Range`: start, stop and a step or a number of points) and a load case (:class:`LoadFields`)."""

from __future__ import annotations

from typing import Any, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class StrictModel(BaseModel):
    """A frozen pydantic model refusing unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LoadFields(StrictModel):
    """A load case of the contact-pressure check (elastic foundation, :mod:`implants.checks.pressure`):
    axial force (N, compressive) along the implant's axis towards the bone, flexion–extension and
    lateral-bending moments (N·m)."""

    force_n: float = Field(1000.0, gt=0, le=10_000)
    moment_fe_nm: float = Field(0.0, ge=-50, le=50)
    moment_lb_nm: float = Field(0.0, ge=-50, le=50)


class Range(StrictModel):
    """Values from ``start`` to ``stop`` (included) by ``step``, or ``num`` evenly spaced values."""

    start: float
    stop: float
    step: float | None = Field(None, gt=0)
    num: int | None = Field(None, ge=1, le=100_000)

    @model_validator(mode="after")
    def _one_of(self) -> "Range":
        if self.step is not None and self.num is not None:
            raise ValueError("give either step or num, not both")
        return self

    def values(self) -> list[float]:
        lo, hi = self.start, self.stop
        if self.num is not None:
            return [float(v) for v in np.round(np.linspace(lo, hi, self.num), 9)]
        if self.step is None:
            raise ValueError("a range needs step or num (or use it with sample:)")
        n = int(np.floor(abs(hi - lo) / self.step + 1e-9)) + 1
        sign = 1.0 if hi >= lo else -1.0
        return [float(round(lo + sign * i * self.step, 9)) for i in range(n)]


AxisValues = Union[list[Any], Range]


def axis_values(axis: AxisValues) -> list[Any]:
    """Every value of an axis, in order."""
    return list(axis) if isinstance(axis, list) else axis.values()
