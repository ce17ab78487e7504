"""The inputs of the fits (layer: fit): vertebra meshes given as files, packaged level names or
``trimesh.Trimesh`` objects, placed in the patient frame (+x anterior, +y left, +z superior, mm);
the two vertebrae around a disc space; the records of the inputs for file names and manifests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh

from ..errors import ParameterError
from ..params import ImplantParams
from ..anatomy.disc_space import DiscSpace, disc_space
from ..anatomy.meshes import PATIENT_AXES, input_record, load_mesh, require_closed_mesh, to_patient_frame


def vertebra_mesh(source: Any, what: str, axes: str | np.ndarray = PATIENT_AXES) -> trimesh.Trimesh:
    """A vertebra mesh in the patient frame: a file or packaged level read with ``axes``
    (:func:`~implants.anatomy.meshes.load_mesh`), or a non-empty ``trimesh.Trimesh`` taken as it
    is (already in the patient frame). :class:`ParameterError` naming ``what`` otherwise."""
    if isinstance(source, trimesh.Trimesh):
        if len(source.faces) == 0:
            raise ParameterError(f"{what}: the mesh has no triangles")
        return source
    if isinstance(source, (str, os.PathLike)):
        return load_mesh(source, axes)
    raise ParameterError(f"{what}: expected a mesh file path or a trimesh.Trimesh, got {type(source).__name__}")


def closed_vertebra_mesh(source: Any, axes: str | np.ndarray, what: str) -> trimesh.Trimesh:
    """Like :func:`vertebra_mesh`, but a ``trimesh.Trimesh`` too must be closed and is
    re-expressed from ``axes`` into the patient frame (a copy)."""
    if isinstance(source, trimesh.Trimesh):
        mesh = vertebra_mesh(source, what)
        require_closed_mesh(mesh, what)
        return to_patient_frame(mesh, axes)
    return vertebra_mesh(source, what, axes)


def vertebra_meshes(meshes: Any, axes: str | np.ndarray = PATIENT_AXES) -> list[trimesh.Trimesh]:
    """One or more vertebra meshes (see :func:`vertebra_mesh`), sorted caudal to cranial by the
    middle of their z extent."""
    if isinstance(meshes, (str, os.PathLike, trimesh.Trimesh)):
        meshes = [meshes]
    out = [vertebra_mesh(m, "vertebra mesh", axes) for m in meshes]
    if not out:
        raise ParameterError("vertebra mesh: give at least one vertebra mesh")
    return sorted(out, key=lambda m: float(m.bounds[:, 2].mean()))


def meshes_and_params(params: ImplantParams | None, params_class: type,
                      *meshes: tuple[Any, str]) -> tuple[list[trimesh.Trimesh], dict]:
    """The fit's meshes (each ``(mesh or path, name)``, loaded in the patient frame) and the user's
    parameters as a dict (``params`` must be a ``params_class`` or None)."""
    if params is not None and not isinstance(params, params_class):
        raise ParameterError(f"params: expected {params_class.__name__}, got {type(params).__name__}")
    return [vertebra_mesh(mesh, name) for mesh, name in meshes], (params.model_dump() if params is not None else {})


@dataclass(frozen=True, eq=False)
class Anatomy:
    """Two adjacent vertebrae (patient frame) and their disc space."""

    upper_mesh: trimesh.Trimesh
    lower_mesh: trimesh.Trimesh
    disc: DiscSpace


def anatomy(upper: Any, lower: Any, axes: str | np.ndarray = "ALS", margin_mm: float = 2.0) -> Anatomy:
    """Load (or accept) the two vertebrae and find their disc space (ParameterError on bad input)."""
    up = closed_vertebra_mesh(upper, axes, "upper vertebra")
    lo = closed_vertebra_mesh(lower, axes, "lower vertebra")
    return Anatomy(up, lo, disc_space(up, lo, margin_mm=margin_mm))


def disc_inputs(upper: Any, lower: Any, axes: str | np.ndarray, margin_mm: float, **planned: float | None) -> dict:
    """The geometric inputs of a fit in a disc space (file names, sha256, axes, margin, planned
    angles); ``upper`` may be an :class:`Anatomy` (its meshes are in the patient frame)."""
    if isinstance(upper, Anatomy):
        upper, lower, axes = upper.upper_mesh, upper.lower_mesh, PATIENT_AXES
    return {"upper_vertebra": input_record(upper, axes), "lower_vertebra": input_record(lower, axes),
            "margin_mm": float(margin_mm), **planned}
