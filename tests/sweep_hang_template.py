"""A tiny template for tests/test_sweep.py: a cube, or (``hang=True``) a build that never returns,
to test the sweep's per-variant time limit. Referenced from a sweep spec as
``type: "sweep_hang_template:TEMPLATE"`` (a user template given as module:attribute)."""

from __future__ import annotations

import time

from pydantic import Field

from implants.model import Implant, Template
from implants.params import ImplantParams


class HangParams(ImplantParams):
    size_mm: float = Field(5.0, ge=1.0, le=20.0, description="Cube edge")
    hang: bool = Field(False, description="Sleep instead of building (time-limit test)")


def build(params: HangParams) -> Implant:
    if params.hang:
        time.sleep(3600)
    import cadquery as cq

    shape = cq.Solid.makeBox(params.size_mm, params.size_mm, params.size_mm)
    return Implant(type_id="test-hang", params=params, shape=shape, features={})


TEMPLATE = Template(type_id="test-hang", title="Test cube", review_wording="", description="test only",
                    params=HangParams, presets={"cube": {}}, build=build, default_preset="cube")
