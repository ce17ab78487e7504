"""Sweep specs (layer: sweep): a type, a base (preset + parameters) and parameter axes, expanded
into variants.

A spec is YAML (or a dict), validated by pydantic::

    type: interbody-cage            # a registered type id, or "package.module:ATTRIBUTE" (a Template)
    preset: lumbar-alif             # base preset (default: the type's default preset)
    params: {footprint: kidney}     # base parameter overrides
    axes:                           # one entry per varied parameter
      lordosis_deg: [4, 8, 12]                    # a list of values
      height_mm: {start: 10, stop: 14, step: 2}   # a range, stop included: 10, 12, 14
      width_mm: {start: 30, stop: 40, num: 3}     # a grid of num evenly spaced values: 30, 35, 40
    combine: product                # product (every combination) or zip (axes of equal length)
    sample: {method: lhs, count: 20, seed: 1}     # optional: random or Latin hypercube sampling instead
    points: [{height_mm: 10}, {height_mm: 12, lordosis_deg: 6}]  # or: an explicit list of variants
    outputs: {formats: [stl], pictures: false}
    metrics: {checks: true, mass: true, contact: {endplate: L5.stl, tolerance_mm: 0.25}}
    # contact may add  load: {force_n: 1000, moment_fe_nm: 0, moment_lb_nm: 0, seat: true}  (pressure_* columns)
    timeout_s: 120                  # per-variant time limit

With ``sample``, each axis gives the sampled domain: a range/grid is continuous between start and
stop (snapped to ``step`` when given), a list is sampled as a categorical set.

Every variant's parameters are validated before anything is built (:func:`expand`): an invalid
variant becomes a :class:`Variant` with ``error`` set, reported and written as a failed row.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from .. import tolerances
from ..anatomy.packaged import is_packaged
from ..errors import ImplantError, ParameterError
from ..registry import get
from ..writers.settings import FORMATS, checked_deflection
from .axes import AxisValues, LoadFields, Range, StrictModel as _Strict, axis_values as _axis_values
from .patient_spec import REGION_PRESETS, PatientBlock


class Sample(_Strict):
    """Sample ``count`` variants at random or by Latin hypercube, reproducibly from ``seed``."""

    method: Literal["random", "lhs"] = "lhs"
    count: int = Field(..., ge=1, le=100_000)
    seed: int = 0


class Load(LoadFields):
    """Opt-in contact pressure under a load case (:class:`LoadFields`; the force along the implant's
    +z towards the endplate); ``seat``: each variant is first moved along +z onto the endplate
    (variants are placed by a nominal frame)."""

    seat: bool = True                 # move each variant along +z onto the endplate before loading


class Contact(_Strict):
    """Contact area of the implant against an endplate mesh (path relative to the spec file, or
    a packaged level name such as ``mean-L5``: ``implants anatomy list``).

    ``transform``: optional 4×4 matrix (rows) applied to the mesh to bring it into the implant's
    frame, e.g. the inverse of a disc-space frame (the cage's origin is the disc-space centre).
    ``load``: adds the contact pressure on that endplate (``pressure_*`` columns)."""

    endplate: str
    tolerance_mm: float = Field(tolerances.CONTACT_TOLERANCE_MM, gt=0, le=5)
    transform: list[list[float]] | None = None
    load: Load | None = None

    @model_validator(mode="after")
    def _matrix(self) -> "Contact":
        if self.transform is not None:
            m = np.asarray(self.transform, float)
            if m.shape != (4, 4) or not np.allclose(m[3], [0, 0, 0, 1]) or abs(np.linalg.det(m[:3, :3])) < 1e-9:
                raise ValueError("contact.transform must be a 4x4 affine matrix (last row 0 0 0 1, invertible)")
        return self


class Outputs(_Strict):
    """What each variant writes; ``deflection_mm``: chord deflection of its meshes (mm; None: the default)."""

    formats: list[Literal[FORMATS]] = Field(default_factory=lambda: ["step", "stl"], min_length=1)
    pictures: bool = False
    deflection_mm: float | None = None

    @field_validator("deflection_mm")
    @classmethod
    def _deflection(cls, value: float | None) -> float | None:
        return None if value is None else checked_deflection(value, "deflection_mm")


class Metrics(_Strict):
    checks: bool = True
    mass: bool = True
    contact: Contact | None = None


class SweepSpec(_Strict):
    """A parameter sweep of one implant type (see the module docstring)."""

    type: str
    preset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    axes: dict[str, AxisValues] = Field(default_factory=dict)
    points: list[dict[str, Any]] | None = None
    combine: Literal["product", "zip"] = "product"
    sample: Sample | None = None
    outputs: Outputs = Field(default_factory=Outputs)
    metrics: Metrics = Field(default_factory=Metrics)
    timeout_s: float = Field(300.0, gt=0, le=86_400)
    name: str | None = None
    patient: PatientBlock | None = None   # a population sweep (:mod:`.patient_spec`)

    @model_validator(mode="before")
    @classmethod
    def _patient_preset(cls, data: Any) -> Any:
        """A population sweep's preset defaults to its region's cage (lumbar-alif, cervical-acdf)."""
        if isinstance(data, dict) and isinstance(data.get("patient"), dict) and data.get("preset") is None:
            region = data["patient"].get("region", "lumbar")
            return {**data, "preset": REGION_PRESETS.get(region)}
        return data

    @model_validator(mode="after")
    def _axes(self) -> "SweepSpec":
        if self.patient is not None and self.type != "interbody-cage":
            raise ValueError(f"type = {self.type}: a patient sweep fits interbody-cage only")
        if self.points is not None and (self.axes or self.sample is not None):
            raise ValueError("give either points (an explicit list of variants) or axes/sample, not both")
        for key, axis in self.axes.items():
            if isinstance(axis, list) and not axis:
                raise ValueError(f"axis '{key}' has no values")
            if isinstance(axis, Range) and self.sample is None and axis.step is None and axis.num is None:
                raise ValueError(f"axis '{key}': a range needs step or num unless the spec samples")
        if self.combine == "zip" and self.sample is None:
            lengths = {k: len(_axis_values(a)) for k, a in self.axes.items()}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"combine: zip needs axes of equal length, got {lengths}")
        return self

    def resolve_paths(self, base: Path) -> "SweepSpec":
        """Make the contact endplate path absolute, relative to ``base`` (the spec's folder)."""
        contact = self.metrics.contact
        if contact is None or Path(contact.endplate).is_absolute():
            return self
        if is_packaged(contact.endplate, base):
            return self
        path = (base / contact.endplate).resolve()
        metrics = self.metrics.model_copy(update={"contact": contact.model_copy(update={"endplate": str(path)})})
        return self.model_copy(update={"metrics": metrics})


def _pydantic_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "spec"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def load_spec(source: str | Path | dict[str, Any] | SweepSpec) -> SweepSpec:
    """A :class:`SweepSpec` from a YAML/JSON file, a dict or a spec; ParameterError if invalid."""
    if isinstance(source, SweepSpec):
        return source
    base = Path.cwd()
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ParameterError(f"sweep spec '{path}' does not exist or is not a file")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise ParameterError(f"sweep spec '{path}' is malformed: {str(error).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ParameterError(f"sweep spec '{path}' must hold a mapping (type, axes, ...)")
        base = path.resolve().parent
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as error:
        raise ParameterError(f"invalid sweep spec: {_pydantic_message(error)}") from None
    return spec.resolve_paths(base)


def resolve_template(type_ref: str):
    """The Template of a registered type id, or of ``module:ATTRIBUTE`` (a user template)."""
    if ":" in type_ref:
        module, _, attr = type_ref.partition(":")
        try:
            template = getattr(import_module(module), attr)
        except (ImportError, AttributeError) as error:
            raise ParameterError(f"type '{type_ref}': cannot import the template ({error})") from None
        return template
    return get(type_ref)


def _sample_points(spec: SweepSpec) -> list[dict[str, Any]]:
    sample = spec.sample
    assert sample is not None
    names = list(spec.axes)
    rng = np.random.default_rng(sample.seed)
    if sample.method == "lhs":
        from scipy.stats import qmc  # scipy.stats is slow to import and needed by this sampler only

        unit = qmc.LatinHypercube(d=max(len(names), 1), seed=rng).random(sample.count)
    else:
        unit = rng.random((sample.count, max(len(names), 1)))
    points = []
    for row in unit:
        point = {}
        for j, name in enumerate(names):
            axis = spec.axes[name]
            u = float(row[j])
            if isinstance(axis, list):
                point[name] = axis[min(int(u * len(axis)), len(axis) - 1)]
            elif axis.num is not None:  # a grid: sample its points as categories
                values = axis.values()
                point[name] = values[min(int(u * len(values)), len(values) - 1)]
            else:
                value = axis.start + u * (axis.stop - axis.start)
                if axis.step is not None:
                    value = axis.start + round((value - axis.start) / axis.step) * axis.step
                point[name] = float(round(value, 9))
        points.append(point)
    return points


def axis_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The varied parameters of every variant, in order."""
    if spec.points is not None:
        return [dict(p) for p in spec.points]
    if spec.sample is not None:
        return _sample_points(spec)
    names = list(spec.axes)
    columns = [_axis_values(spec.axes[n]) for n in names]
    if not names:
        return [{}]
    combos = zip(*columns) if spec.combine == "zip" else itertools.product(*columns)
    return [dict(zip(names, combo)) for combo in combos]


def stable_hash(data: Any, length: int = 12) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Variant:
    """One point of a sweep: its index, varied values, full validated parameters (or the error)."""

    index: int
    values: dict[str, Any]
    params: dict[str, Any] | None       # full parameters (JSON), None if invalid
    error: str | None = None
    key: str = ""                        # hash of parameters + outputs + metrics: the resume key
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def name(self) -> str:
        return f"v{self.index:04d}-{self.key[:8]}"


def expand(spec: SweepSpec) -> list[Variant]:
    """Every variant of ``spec`` with its parameters validated (nothing is built)."""
    template = resolve_template(spec.type)
    preset = spec.preset or template.default_preset
    try:
        template.make_params(preset, **spec.params)  # the base must be valid on its own
    except ImplantError as error:
        raise ParameterError(f"sweep base ({spec.type}, preset {preset}, params {spec.params}): {error}") from None
    settings = {"type": spec.type, "preset": preset, "outputs": spec.outputs.model_dump(mode="json"),
                "metrics": spec.metrics.model_dump(mode="json")}
    variants = []
    for index, values in enumerate(axis_points(spec)):
        try:
            params = template.make_params(preset, **{**spec.params, **values}).model_dump(mode="json")
            error = None
        except ImplantError as exc:
            params, error = None, str(exc)
        key = stable_hash({**settings, "params": params if params is not None else values})
        variants.append(Variant(index=index, values=values, params=params, error=error, key=key))
    return variants
