"""What a picture draws (layer: render): the colours, mesh items and feature axes of a picture,
and an implant turned into them with the export pipeline's tessellation.

Colours are RGB fractions (0..1); lengths are mm in the patient frame (+x anterior,
+y patient-left, +z superior). No VTK here: :mod:`implants.render.actors` draws these items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..writers.tessellate import Tessellation, feature_mask, tessellate

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

#: RGB colours (0..1)
IMPLANT_COLOUR = (0.70, 0.74, 0.80)     # titanium grey-blue
PEEK_COLOUR = (0.85, 0.80, 0.66)        # PEEK beige
BONE_COLOUR = (0.93, 0.89, 0.78)        # bone ivory
CONTACT_COLOUR = (0.95, 0.55, 0.15)     # contact faces: orange
CHANNEL_COLOUR = (0.80, 0.10, 0.10)     # screw axes: red
GUIDE_COLOUR = (0.10, 0.45, 0.85)       # guide axes: blue

#: chord deflection (mm) of the implant meshes in pictures
PICTURE_DEFLECTION_MM = 0.05


@dataclass
class Axis:
    """A line drawn as a thin cylinder (screw or guide axis): from ``start`` to ``end`` (mm)."""

    start: Sequence[float]
    end: Sequence[float]
    colour: tuple[float, float, float] = CHANNEL_COLOUR
    radius_mm: float = 0.4


@dataclass
class MeshItem:
    """A mesh to draw: one colour, or per-face colours (``face_colours`` N×3, 0..1); ``framed``: the
    camera frames it (False: drawn, but the picture may crop it, e.g. the far ends of a pelvis)."""

    mesh: "trimesh.Trimesh"
    colour: tuple[float, float, float] = IMPLANT_COLOUR
    face_colours: np.ndarray | None = None
    opacity: float = 1.0
    framed: bool = True


def mesh_of_shape(shape: Any, deflection_mm: float = PICTURE_DEFLECTION_MM) -> tuple["trimesh.Trimesh", np.ndarray]:
    """(trimesh, B-rep face index per triangle) of a CadQuery shape, with the export pipeline's
    tessellation (:func:`implants.writers.tessellate.tessellate`)."""
    tess = tessellate(shape, deflection_mm)
    return tess.mesh, np.asarray(tess.face_index)


def colour_for(implant: "Implant") -> tuple[float, float, float]:
    """The implant's picture colour: PEEK beige for PEEK, titanium grey-blue otherwise."""
    material = getattr(getattr(implant.params, "material", None), "value", "")
    return PEEK_COLOUR if material == "peek" else IMPLANT_COLOUR


def implant_items(implant: "Implant", highlight: bool = False, transform: np.ndarray | None = None,
                  deflection_mm: float = PICTURE_DEFLECTION_MM,
                  tessellation: "Tessellation | None" = None) -> tuple[list[MeshItem], list[Axis]]:
    """Mesh items and feature axes of an implant (optionally moved by a 4×4 ``transform``).

    ``highlight`` colours the ``contact.*``/``docking.*`` faces and adds an axis per screw, guide,
    channel or wire feature. ``tessellation``: a mesh of ``implant.shape`` already made (the
    export's), drawn instead of meshing the shape again at ``deflection_mm``."""
    tess = tessellation if tessellation is not None else tessellate(implant.shape, deflection_mm)
    mesh = tess.mesh
    base = colour_for(implant)
    face_colours = None
    axes: list[Axis] = []
    if highlight:
        face_colours = np.tile(np.asarray(base, float), (len(mesh.faces), 1))
        for feature in implant.features.values():
            if feature.kind == "surface" and feature.faces and feature.name.startswith(("contact", "docking")):
                try:
                    face_colours[feature_mask(tess, implant.shape, feature)] = CONTACT_COLOUR
                except Exception:  # a feature that cannot be mapped is drawn in the base colour
                    continue
        axes = _feature_axes(implant)
    if transform is not None:
        mesh = mesh.copy()
        mesh.apply_transform(transform)
        for axis in axes:
            axis.start = _moved(transform, axis.start)
            axis.end = _moved(transform, axis.end)
    return [MeshItem(mesh, base, face_colours)], axes


def _feature_axes(implant: "Implant") -> list[Axis]:
    """An axis per screw/guide/channel/wire feature: from 2 mm before its origin to its length
    (at least 20 mm) along it; guides blue, the others red."""
    axes = []
    for feature in implant.features.values():
        if feature.kind != "channel" or feature.direction is None:
            continue
        if not feature.name.startswith(("screw", "guide", "channel", "k_wire", "wire")):
            continue
        length = max(feature.length_mm or 0.0, 20.0)
        origin = np.asarray(feature.origin)
        direction = np.asarray(feature.direction)
        colour = GUIDE_COLOUR if feature.name.startswith("guide") else CHANNEL_COLOUR
        axes.append(Axis(origin - 2.0 * direction, origin + length * direction, colour,
                         max(0.25, 0.12 * (feature.diameter_mm or 3.0))))
    return axes


def _moved(transform: np.ndarray, point: Sequence[float]) -> np.ndarray:
    """``point`` (mm) moved by the 4×4 ``transform``."""
    p = np.append(np.asarray(point, float), 1.0)
    return (transform @ p)[:3]
