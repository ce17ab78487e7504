"""What the user gives the command line (layer: cli): parameter files, ``--set key=value`` pairs,
``--format`` lists, the contact tolerance and the cage parameters of an anatomical cage.
Each bad input is a :class:`~implants.errors.ParameterError` that names the option."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Optional

import yaml

from ..errors import ParameterError
from ..params import ImplantParams
from ..registry import get
from ..writers.settings import FORMATS


def read_parameter_file(path: Path) -> dict[str, Any]:
    """Parameters from a YAML, JSON or TOML file (by extension); ParameterError if unreadable."""
    if not path.is_file():
        raise ParameterError(f"parameter file '{path}' does not exist or is not a file")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (ValueError, RecursionError, yaml.YAMLError) as error:  # RecursionError: absurdly deep nesting
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ParameterError(f"parameter file '{path}' is malformed: {first}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file '{path}' must hold a mapping of parameter: value")
    bad_keys = [key for key in data if not isinstance(key, str)]
    if bad_keys:
        raise ParameterError(f"parameter file '{path}': parameter names must be text, got {bad_keys[0]!r}")
    return data


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as YAML scalars (12 → int, 1.5 → float, true → bool)."""
    values = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--set expects key=value, got '{item}'")
        try:
            values[key.strip()] = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            values[key.strip()] = raw
    return values


def parse_formats(text: str) -> tuple[str, ...]:
    """The formats of a ``--format`` list (``step,stl``), in the order given."""
    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ParameterError(f"--format {text!r}: allowed formats are {', '.join(FORMATS)}")
    return chosen


def checked_tolerance(tolerance: float) -> float:
    """A ``--tolerance`` (contact distance, mm) in (0, 5]."""
    if not 0.0 < tolerance <= 5.0:
        raise ParameterError(f"--tolerance = {tolerance}: allowed 0 to 5 mm")
    return tolerance


def anatomical_cage_params(preset: Optional[str], overrides: dict[str, Any]) -> ImplantParams | None:
    """Cage parameters for an anatomical cage: None (sized to the disc space) unless a preset or
    overrides are given."""
    if preset is None and not overrides:
        return None
    return get("interbody-cage").make_params(preset, **overrides)
