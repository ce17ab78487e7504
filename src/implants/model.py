"""The result of a template: a B-rep shape with named features and metadata.

Composition, not inheritance: an :class:`Implant` holds a CadQuery shape, it is not one.
Coordinates are in the patient frame: +x anterior, +y patient-left, +z superior (mm).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from .params import ImplantParams

if TYPE_CHECKING:  # the kernel is imported only when something is built
    import cadquery as cq


@dataclass(frozen=True)
class Feature:
    """A named feature that tests, checks and the manifest read.

    ``kind`` is ``"surface"`` (bearing or docking faces, held in ``faces``), ``"channel"``
    (screw channel or guide bore: ``origin`` at the entry, unit ``direction`` pointing
    into the bone, ``diameter_mm`` and ``length_mm`` through the implant) or ``"point"``.
    """

    name: str
    kind: str
    origin: tuple[float, float, float]
    direction: tuple[float, float, float] | None = None
    diameter_mm: float | None = None
    length_mm: float | None = None
    faces: tuple["cq.Face", ...] = field(default=(), repr=False, compare=False)
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.direction is not None:
            d = np.asarray(self.direction, float)
            object.__setattr__(self, "direction", tuple(float(v) for v in d / np.linalg.norm(d)))
        object.__setattr__(self, "origin", tuple(float(v) for v in self.origin))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "origin_mm": [round(v, 4) for v in self.origin]}
        if self.direction is not None:
            out["direction"] = [round(v, 6) for v in self.direction]
        if self.diameter_mm is not None:
            out["diameter_mm"] = round(self.diameter_mm, 4)
        if self.length_mm is not None:
            out["length_mm"] = round(self.length_mm, 4)
        if self.faces:
            out["faces"] = len(self.faces)
        out.update(self.info)
        return out


@dataclass(frozen=True)
class Implant:
    """A built implant: ``shape`` (a CadQuery Solid or Compound), named ``features``,
    the ``params`` it was built from and ``metrics`` the template computed (e.g. the
    segmental angle it imposes). ``parts`` names the bodies of a multi-body implant."""

    type_id: str
    params: ImplantParams
    shape: "cq.Shape"
    features: Mapping[str, Feature]
    preset: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    parts: Mapping[str, "cq.Shape"] = field(default_factory=dict)
    #: Geometric inputs beyond the parameters (meshes with their sha256, axes, planned angles,
    #: surface points, the output frame): they enter the file names and the manifest.
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bodies(self) -> int:
        """Number of solids the implant is made of."""
        return len(self.shape.Solids())

    @property
    def workplane(self) -> "cq.Workplane":
        """The shape on a CadQuery Workplane, to continue modelling on it."""
        import cadquery as cq

        return cq.Workplane("XY").add(self.shape)

    def volume_mm3(self) -> float:
        return float(self.shape.Volume())

    def transformed(self, matrix: Any) -> "Implant":
        """A copy moved by the 4×4 rigid transform ``matrix`` (mm; acts on column vectors):
        shape, parts, feature faces, origins and directions. A reflection is refused (it
        would turn the solid inside out)."""
        import cadquery as cq
        from OCP.BRepBuilderAPI import BRepBuilderAPI_Transform
        from OCP.gp import gp_Trsf

        m = np.asarray(matrix, float)
        rotation = m[:3, :3]
        if m.shape != (4, 4) or not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9) \
                or np.linalg.det(rotation) < 0:
            raise ValueError("transformed: expected a 4x4 rigid transform (rotation and translation)")
        trsf = gp_Trsf()
        trsf.SetValues(*(float(v) for v in m[:3].ravel()))

        def move(shape: "cq.Shape") -> "cq.Shape":
            return cq.Shape.cast(BRepBuilderAPI_Transform(shape.wrapped, trsf, True).Shape())

        shape = move(self.shape)
        before, after = self.shape.Faces(), shape.Faces()
        features = {}
        for name, f in self.features.items():
            faces = tuple(after[next(i for i, b in enumerate(before) if b.isSame(face))] for face in f.faces)
            origin = rotation @ np.asarray(f.origin) + m[:3, 3]
            direction = None if f.direction is None else tuple(rotation @ np.asarray(f.direction))
            features[name] = Feature(f.name, f.kind, tuple(origin), direction, f.diameter_mm, f.length_mm, faces,
                                     dict(f.info))
        return replace(self, shape=shape, features=features, parts={k: move(v) for k, v in self.parts.items()})

    def mass_g(self) -> dict[str, float]:
        """Mass in grams for each material (density g/cm³ × volume mm³ / 1000)."""
        from .params import Material

        volume = self.volume_mm3()
        return {m.value: round(volume * m.density_g_cm3 / 1000.0, 4) for m in Material}


@dataclass(frozen=True)
class Template:
    """One implant type: its parameter model, named presets and build function."""

    type_id: str
    title: str
    review_wording: str
    description: str
    params: type[ImplantParams]
    presets: Mapping[str, Mapping[str, Any]]
    build: Callable[[ImplantParams], Implant]
    default_preset: str

    def make(self, params: ImplantParams, preset: str | None = None) -> Implant:
        """Build ``params`` (labelled with ``preset``, default: the type's default preset). The
        library's error contract: a kernel exception on accepted parameters becomes a
        :class:`GeometryError` naming the type and the parameters (a bug to report)."""
        from .errors import kernel_guard

        implant = kernel_guard(f"{self.type_id} failed in the CAD kernel", self.build, params,
                               context=f" for parameters {params.model_dump(mode='json')}")
        return replace(implant, preset=preset or self.default_preset)

    def make_params(self, preset: str | None = None, **overrides: Any) -> ImplantParams:
        """Parameters from a preset (default preset if None) with overrides, validated."""
        from .errors import ParameterError
        from .params import validate

        name = preset or self.default_preset
        if name not in self.presets:
            raise ParameterError(
                f"preset '{name}' is not a preset of {self.type_id} (allowed: {', '.join(self.presets)})"
            )
        return validate(self.params, {**self.presets[name], **overrides})
