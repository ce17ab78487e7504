"""Population sweeps (layer: sweep): a sweep spec with a ``patient:`` block
(:mod:`.patient_spec`) expanded into variants, one per patient × implant point.

The patients are the sampled population (``sample: {n, seed}``) or the population means, each
with the fixed ``fields`` and crossed (product) with the patient ``axes``; the implant points are
the spec's ``axes``/``points``/``sample`` of cage parameters, crossed with every patient. A
variant's parameters hold ``patient_id`` (its place in the population), ``region``, the requested
patient fields as ``patient.<field>`` and the cage parameter overrides by name; its key hashes
them with the sweep's settings, so a rerun reuses exactly the patients already done.

Every patient is validated here, before anything is built or written: one that breaks a bound or
a cross-field rule (a fixed field applied to a sampled patient included) stops the sweep with a
:class:`~implants.errors.ParameterError` naming the patient and the field. A cage parameter
combination the template refuses becomes an ``invalid`` row, as in any sweep.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..anatomy.patient import Patient
from ..errors import ImplantError, ParameterError
from .axes import axis_values
from .patient_spec import checked
from .patient_worker import PATIENT_PREFIX
from .spec import SweepSpec, Variant, axis_points, resolve_template, stable_hash


def population(spec: SweepSpec) -> list[dict[str, float]]:
    """The requested fields of every patient of the sweep (validated), in order."""
    block = spec.patient
    if block is None:
        raise ParameterError("the sweep spec has no patient: block")
    if block.sample is not None:
        bases = [p.model_dump() for p in Patient.sample(block.sample.n, block.sample.seed, block.region)]
    else:
        bases = [{}]
    names = list(block.axes)
    combos = list(itertools.product(*(axis_values(block.axes[n]) for n in names)))
    patients = []
    for number, base in enumerate(bases):
        for combo in combos:
            values = {**base, **block.fields, **dict(zip(names, combo))}
            where = f"patient {number}" + (f" of sample seed {block.sample.seed}" if block.sample else "")
            patients.append(checked(block.region, values, where).model_dump())
    return patients


def expand_patients(spec: SweepSpec) -> list[Variant]:
    """Every variant of a population sweep (nothing is built; see the module docstring)."""
    block = spec.patient
    patients = population(spec)
    template = resolve_template(spec.type)
    preset = spec.preset or block.preset
    try:
        template.make_params(preset, **spec.params)
    except ImplantError as error:
        raise ParameterError(f"sweep base ({spec.type}, preset {preset}, params {spec.params}): {error}") from None
    settings = {"type": spec.type, "preset": preset, "patient": block.model_dump(mode="json", exclude={"sample"})}
    variants = []
    points = axis_points(spec)
    for number, fields in enumerate(patients):
        for point in points:
            overrides = {**spec.params, **point}
            try:
                template.make_params(preset, **overrides)
                error = None
            except ImplantError as exc:
                error = str(exc)
            params: dict[str, Any] = {"patient_id": number, "region": block.region,
                                      **{f"{PATIENT_PREFIX}{k}": v for k, v in fields.items()}, **overrides}
            key = stable_hash({**settings, "params": params})
            variants.append(Variant(index=len(variants), values={"patient_id": number, **point},
                                    params=params if error is None else None, error=error, key=key))
    return variants
