"""What a demonstrator is made of (layer: demonstrator): its printed parts, the peg-in-socket joints
between them and the whole set with its summary. All lengths in mm at print scale; part meshes in the
patient frame (+z up) as assembled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import trimesh

from ..params import NOT_A_MEDICAL_DEVICE

#: part colours (sRGB 0..255): bone ivory, implant titanium, base slate
COLOURS = {"bone": (237, 227, 199), "implant": (179, 189, 204), "base": (70, 90, 120), "pin": (70, 90, 120)}


@dataclass
class Part:
    """One printed part: ``mesh`` in the assembled pose, ``print_mesh`` oriented for printing (on z = 0,
    centred), ``plate_mesh`` at its place on the build plate. ``print_down`` is the unit direction
    (assembled frame) that should face the bed when printed, if any (a cut half: its cut face)."""

    name: str
    role: str                      # bone, implant, base, pin
    mesh: trimesh.Trimesh
    print_transform: np.ndarray = field(default_factory=lambda: np.eye(4))
    overhang_mm2: float = 0.0
    overhang_fraction: float = 0.0
    plate_xy: tuple[float, float] = (0.0, 0.0)
    notes: list[str] = field(default_factory=list)
    print_down: tuple[float, float, float] | None = None

    @property
    def print_mesh(self) -> trimesh.Trimesh:
        m = self.mesh.copy()
        m.apply_transform(self.print_transform)
        return m

    @property
    def plate_mesh(self) -> trimesh.Trimesh:
        m = self.print_mesh
        m.apply_translation((*self.plate_xy, 0.0))
        return m

    @property
    def colour(self) -> tuple[int, int, int]:
        return COLOURS[self.role]

    @property
    def rgb(self) -> tuple[float, float, float]:
        """The part's colour as RGB fractions (0..1), for pictures."""
        r, g, b = self.colour
        return r / 255, g / 255, b / 255


@dataclass
class Joint:
    """A peg in a socket: the point on the peg's axis at its end (``peg_top``), the unit axis (up into
    the part), the peg and socket radii (mm); the socket's roof lies ``clearance`` further along."""

    part: str
    peg_top: tuple[float, float, float]
    axis: tuple[float, float, float]
    peg_radius_mm: float
    socket_radius_mm: float

    @property
    def tilt_deg(self) -> float:
        return float(np.degrees(np.arccos(np.clip(self.axis[2], -1.0, 1.0))))


@dataclass
class Demonstrator:
    """The parts of one demonstrator laid out on a ``bed_mm`` plate, their joints, the base's label lines,
    the printability report of the implant at ``scale``, timings (s), notes on what was adapted and the
    bones of the scene left out to fit the bed."""

    type_id: str
    preset: str | None
    scale: float
    parts: list[Part]
    joints: list[Joint]
    bed_mm: tuple[float, float]
    clearance_mm: float
    label: list[str]
    printability: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)   # bones of the scene left out to fit the bed
    view: str = "iso"                                    # the picture view that shows the implant best

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def summary(self) -> dict[str, Any]:
        return {
            "type": self.type_id, "preset": self.preset, "scale": self.scale, "bed_mm": list(self.bed_mm),
            "clearance_mm": self.clearance_mm, "label": self.label,
            "parts": [{"name": p.name, "role": p.role, "volume_mm3": round(float(p.mesh.volume), 2),
                       "overhang_mm2": round(p.overhang_mm2, 1), "overhang_fraction": round(p.overhang_fraction, 3),
                       "plate_xy_mm": [round(v, 2) for v in p.plate_xy],
                       "print_size_mm": [round(float(v), 2) for v in p.print_mesh.extents], "notes": p.notes}
                      for p in self.parts],
            "printability": self.printability, "seconds": self.seconds, "notes": self.notes, "left_out": self.left_out,
            "disclaimer": NOT_A_MEDICAL_DEVICE,
        }
