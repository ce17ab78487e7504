"""Type 3, ``distraction-spacer``: unilateral distraction spacers (review ref [39], Li et al. 2023).

Congenital cervical scoliosis from a hemivertebra treated without resecting it (which risks the
vertebral artery): the concave side of the level is distracted and held open by a **pair** of
patient-specific titanium wedge spacers, one between the articular facets and one between the
vertebral bodies, backed by a transpedicular construct and an anterior plate.

* **Interbody spacer**: a unilateral wedge in the concave half of the disc space, rounded-box
  footprint with a graft window; ``distraction_height_mm`` at its centre, the coronal angle
  ``coronal_deg`` between its faces (taller laterally, on the concave side).
* **Facet spacer**: an oval wedge in the facet joint of the same side, its faces lying on the
  articular surfaces: the joint plane is inclined ``facet_angle_deg`` (about 45° in the subaxial
  cervical spine) to the axial plane, rising anteriorly (the superior articular facet of the lower
  vertebra faces up and back), with a shallow dome (``facet_dome_mm``) on each face for the gently
  curved articular surfaces. Its thickness follows from the same distraction: the upper vertebra
  tilts by the coronal angle about the convex side, so the vertical gap at the facet is the
  interbody gap extrapolated laterally to the facet, and the thickness normal to the joint plane
  is that gap × cos(facet angle) (``facet_thickness_mm`` overrides it).

Placement: origin at the centre of the disc space of the level (mid-height, centre of the
endplates); +x anterior, +y patient-left, +z superior. ``side`` is the concave side; the
interbody spacer is centred at y = ±``interbody_offset_mm``, the facet spacer at
(``facet_x_mm``, ±``facet_y_mm``, ``facet_z_mm``). Default sizes by level (``LEVELS``): rounded adult
cervical endplate depth and width (Panjabi et al., Spine 1991;16:861) and lateral-mass positions;
illustrative defaults, not patient data.

Multi-body by design: ``Implant.shape`` is a compound of the two solids and
``Implant.parts`` = {"facet": ..., "interbody": ...} so each exports alone.

Layer: implant_types (the type's parameters, ``derive``, ``build``, presets and ``TEMPLATE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

import numpy as np
from pydantic import Field, model_validator

from ..errors import GeometryError
from ..geometry.synthetic_endplate import SyntheticEndplate
from ..model import Feature, Implant, Template
from ..params import ImplantParams, Side, require

TYPE_ID = "distraction-spacer"

#: Level → (endplate depth AP, endplate width ML) of the lower vertebra, mm (rounded adult values).
LEVELS: dict[str, tuple[float, float]] = {
    "C2-C3": (15.5, 16.0), "C3-C4": (16.0, 17.0), "C4-C5": (16.0, 18.0), "C5-C6": (16.0, 19.0),
    "C6-C7": (17.0, 21.0), "C7-T1": (17.0, 23.0),
}
Level = Enum("Level", {name.replace("-", "_"): name for name in LEVELS}, type=str)
Level.__doc__ = "Cervical motion segment (C2-C3 to C7-T1)."

#: Thinnest edge of either spacer (mm): below this a printed titanium wedge chips on insertion.
MIN_EDGE_MM = 1.5
#: Wall left round the graft window of the interbody spacer (mm).
WINDOW_WALL_MM = 1.5
#: Lateral mass centre: this far lateral to the endplate rim (mm) ...
FACET_LATERAL_MM = 10.0
#: ... and this far posterior to the posterior wall of the body (pedicle + half a lateral mass), mm.
FACET_POSTERIOR_MM = 13.0


class DistractionSpacerParams(ImplantParams):
    """Parameters of the pair of unilateral distraction spacers (mm, deg)."""

    level: Level = Field(Level.C4_C5, description="Cervical motion segment; sets default sizes and facet position")
    side: Side = Field(Side.LEFT, description="Concave side of the deformity, where both spacers sit")
    distraction_height_mm: float = Field(6.0, ge=3.0, le=12.0, description="Height of the interbody spacer at its centre (the distracted disc height)")
    coronal_deg: float = Field(6.0, ge=0.0, le=15.0, description="Coronal wedge angle between the spacer faces (taller laterally)")
    interbody_depth_mm: float = Field(12.0, ge=6.0, le=20.0, description="Interbody spacer footprint antero-posterior (x)")
    interbody_width_mm: float = Field(8.0, ge=4.0, le=14.0, description="Interbody spacer footprint medio-lateral (y)")
    interbody_offset_mm: float | None = Field(None, ge=0.0, le=12.0, description="Lateral distance of the interbody spacer centre from the midline (default: a quarter of the endplate width)")
    corner_radius_mm: float = Field(1.5, ge=0.0, le=5.0, description="Corner radius of the interbody footprint")
    graft_window: bool = Field(True, description="Vertical graft window through the interbody spacer")
    facet_angle_deg: float = Field(45.0, ge=20.0, le=70.0, description="Inclination of the facet joint plane to the axial plane (rising anteriorly)")
    facet_length_mm: float = Field(10.0, ge=5.0, le=16.0, description="Facet spacer extent along the joint slope (sagittal)")
    facet_width_mm: float = Field(9.0, ge=5.0, le=15.0, description="Facet spacer extent medio-lateral")
    facet_thickness_mm: float | None = Field(None, ge=1.5, le=10.0, description="Facet spacer thickness normal to the joint at its centre (default: from the distraction)")
    facet_dome_mm: float = Field(0.3, ge=0.0, le=1.0, description="Dome of each facet spacer face (the curvature of the articular surfaces)")
    facet_x_mm: float | None = Field(None, ge=-40.0, le=-10.0, description="Facet joint centre, antero-posterior (default: behind the body by pedicle + half a lateral mass)")
    facet_y_mm: float | None = Field(None, ge=8.0, le=35.0, description="Facet joint centre, lateral distance from the midline (default by level)")
    facet_z_mm: float = Field(0.0, ge=-10.0, le=10.0, description="Facet joint centre height above the disc-space centre")

    @model_validator(mode="after")
    def _rules(self) -> "DistractionSpacerParams":
        g = derive(self)
        require(g.interbody_max_height_mm <= min(self.interbody_depth_mm, self.interbody_width_mm),
                f"distraction_height_mm = {self.distraction_height_mm} with coronal_deg = {self.coronal_deg} makes the "
                f"interbody spacer {g.interbody_max_height_mm:.1f} mm tall at its lateral edge, taller than its "
                f"footprint allows (interbody_depth_mm x interbody_width_mm = {self.interbody_depth_mm} x "
                f"{self.interbody_width_mm}: allowed <= {min(self.interbody_depth_mm, self.interbody_width_mm)} mm)")
        require(g.interbody_min_height_mm >= MIN_EDGE_MM,
                f"distraction_height_mm = {self.distraction_height_mm} with coronal_deg = {self.coronal_deg} leaves "
                f"{g.interbody_min_height_mm:.2f} mm at the medial edge of the interbody spacer (allowed >= {MIN_EDGE_MM} mm)")
        require(g.facet_max_thickness_mm <= min(self.facet_length_mm, self.facet_width_mm),
                f"facet spacer {g.facet_max_thickness_mm:.1f} mm thick (distraction_height_mm / facet_thickness_mm) is "
                f"taller than its footprint allows (facet_length_mm x facet_width_mm = {self.facet_length_mm} x "
                f"{self.facet_width_mm}: allowed <= {min(self.facet_length_mm, self.facet_width_mm)} mm)")
        require(g.facet_min_thickness_mm >= MIN_EDGE_MM,
                f"facet spacer thickness at its medial edge {g.facet_min_thickness_mm:.2f} mm (facet_thickness_mm, "
                f"coronal_deg) is below {MIN_EDGE_MM} mm")
        tip = g.facet_centre[0] + g.facet_x_dir[0] * self.facet_length_mm / 2
        require(tip <= -g.endplate[0] / 2,
                f"facet_x_mm = {g.facet_centre[0]:.1f} with facet_length_mm = {self.facet_length_mm} puts the anterior "
                f"tip of the facet spacer at x = {tip:.1f} mm, inside the vertebral body (allowed <= "
                f"{-g.endplate[0] / 2:.1f} mm, the posterior wall)")
        return self


@dataclass(frozen=True)
class SpacerGeometry:
    """The numbers of the spacer pair (numpy only)."""

    sign: int
    endplate: tuple[float, float]
    interbody_centre: np.ndarray
    interbody_upper: Callable[[np.ndarray, np.ndarray], np.ndarray]  # local to the interbody centre
    interbody_lower: Callable[[np.ndarray, np.ndarray], np.ndarray]
    interbody_min_height_mm: float
    interbody_max_height_mm: float
    window: tuple[float, float] | None  # (depth, width) of the graft window
    facet_centre: np.ndarray
    facet_x_dir: np.ndarray   # local x: up the joint slope (anterior and superior)
    facet_normal: np.ndarray  # local z: normal of the joint plane (up and back)
    facet_vertical_gap_mm: float
    facet_thickness_mm: float
    facet_upper: Callable[[np.ndarray, np.ndarray], np.ndarray]  # in the facet frame
    facet_lower: Callable[[np.ndarray, np.ndarray], np.ndarray]
    facet_min_thickness_mm: float
    facet_max_thickness_mm: float

    def gap_mm(self, y: float, half_tan: float, height: float) -> float:
        return height + 2 * half_tan * self.sign * (y - self.interbody_centre[1])


def derive(p: DistractionSpacerParams) -> SpacerGeometry:
    """Compute positions, face height fields and thicknesses of both spacers."""
    s = p.side.sign
    depth, width = LEVELS[p.level.value]
    offset = p.interbody_offset_mm if p.interbody_offset_mm is not None else width / 4
    centre_b = np.array([0.0, s * offset, 0.0])
    t = np.tan(np.radians(p.coronal_deg) / 2)
    h = p.distraction_height_mm

    def ib_upper(x, y):
        return h / 2 + t * s * np.asarray(y) + 0 * np.asarray(x)

    def ib_lower(x, y):
        return -h / 2 - t * s * np.asarray(y) + 0 * np.asarray(x)

    half_w = p.interbody_width_mm / 2
    ib_min, ib_max = h - 2 * t * half_w, h + 2 * t * half_w
    win_d, win_w = p.interbody_depth_mm - 2 * WINDOW_WALL_MM, p.interbody_width_mm - 2 * WINDOW_WALL_MM
    window = (win_d, win_w) if p.graft_window and min(win_d, win_w) >= 2.0 else None

    fx = p.facet_x_mm if p.facet_x_mm is not None else -(depth / 2 + FACET_POSTERIOR_MM)
    fy = p.facet_y_mm if p.facet_y_mm is not None else width / 2 + FACET_LATERAL_MM
    centre_f = np.array([fx, s * fy, p.facet_z_mm])
    a = np.radians(p.facet_angle_deg)
    x_dir = np.array([np.cos(a), 0.0, np.sin(a)])
    normal = np.array([-np.sin(a), 0.0, np.cos(a)])
    vertical_gap = h + 2 * t * s * (centre_f[1] - centre_b[1])
    thickness = p.facet_thickness_mm if p.facet_thickness_mm is not None else vertical_gap * np.cos(a)
    dome = SyntheticEndplate(p.facet_length_mm, p.facet_width_mm, p.facet_dome_mm)

    def f_upper(u, v):
        return thickness / 2 + t * s * np.asarray(v) + dome.recess(u, v)

    def f_lower(u, v):
        return -thickness / 2 - t * s * np.asarray(v) - dome.recess(u, v)

    fw = p.facet_width_mm / 2
    return SpacerGeometry(s, (depth, width), centre_b, ib_upper, ib_lower, float(ib_min), float(ib_max), window,
                          centre_f, x_dir, normal, float(vertical_gap), float(thickness), f_upper, f_lower,
                          float(thickness - 2 * t * fw), float(thickness + 2 * t * fw + 2 * p.facet_dome_mm))


def build(p: DistractionSpacerParams) -> Implant:
    """Build the two spacers (a compound of two solids) with their named features."""
    import cadquery as cq  # the kernel only when building: `implants list` imports this module

    from ..geometry import columns, solids

    g = derive(p)
    span = p.distraction_height_mm + 30.0
    interbody = columns.box_wedge(p.interbody_depth_mm, p.interbody_width_mm, p.corner_radius_mm,
                                  g.interbody_lower, g.interbody_upper, half_span_mm=span, what="interbody spacer")
    features = {}
    if g.window:
        tool = solids.rounded_box(g.window[0], g.window[1], min(1.0, min(g.window) / 3), -span, span)
        interbody = solids.single_solid(solids.cut_all(interbody, [tool]), "interbody spacer with window")
        features["graft_window"] = Feature("graft_window", "channel", tuple(g.interbody_centre + [0, 0, -span]),
                                           (0, 0, 1), info={"depth_mm": g.window[0], "width_mm": g.window[1]})
    interbody = interbody.translate(cq.Vector(*g.interbody_centre))

    facet = columns.elliptic_wedge(p.facet_length_mm, p.facet_width_mm, g.facet_lower, g.facet_upper,
                                   half_span_mm=span, what="facet spacer")
    facet = columns.in_frame(facet, g.facet_centre, g.facet_x_dir, g.facet_normal)
    if not facet.isValid():
        raise GeometryError("facet spacer: invalid after placement")

    rot = columns.frame_matrix(g.facet_x_dir, g.facet_normal)
    t = np.tan(np.radians(p.coronal_deg) / 2)
    s = g.sign

    def ib_field(f):
        return lambda x, y: f(x, y - g.interbody_centre[1])

    ib_up = columns.faces_on_field(interbody, ib_field(g.interbody_upper), +1)
    ib_down = columns.faces_on_field(interbody, ib_field(g.interbody_lower), -1)
    f_up = columns.faces_on_field(facet, g.facet_upper, +1, origin=g.facet_centre, rotation=rot)
    f_down = columns.faces_on_field(facet, g.facet_lower, -1, origin=g.facet_centre, rotation=rot)
    h = p.distraction_height_mm
    features.update({
        "contact.interbody.superior": Feature("contact.interbody.superior", "surface",
                                              tuple(g.interbody_centre + [0, 0, h / 2]), (0, -t * s, 1), faces=ib_up),
        "contact.interbody.inferior": Feature("contact.interbody.inferior", "surface",
                                              tuple(g.interbody_centre - [0, 0, h / 2]), (0, -t * s, -1), faces=ib_down),
        "contact.facet.superior": Feature("contact.facet.superior", "surface",
                                          tuple(g.facet_centre + rot @ [0, 0, g.facet_thickness_mm / 2 + p.facet_dome_mm]),
                                          tuple(rot @ [0, -t * s, 1]), faces=f_up),
        "contact.facet.inferior": Feature("contact.facet.inferior", "surface",
                                          tuple(g.facet_centre - rot @ [0, 0, g.facet_thickness_mm / 2 + p.facet_dome_mm]),
                                          tuple(rot @ [0, -t * s, -1]), faces=f_down),
        "interbody.centre": Feature("interbody.centre", "point", tuple(g.interbody_centre)),
        "facet.centre": Feature("facet.centre", "point", tuple(g.facet_centre),
                                info={"joint_normal": [round(float(v), 6) for v in g.facet_normal]}),
    })
    shape = cq.Compound.makeCompound([facet, interbody])
    metrics = {
        "side": p.side.value, "level": p.level.value,
        "interbody_height_mm": {"centre": h, "lateral": round(g.interbody_max_height_mm, 3),
                                "medial": round(g.interbody_min_height_mm, 3)},
        "facet_vertical_gap_mm": round(g.facet_vertical_gap_mm, 3),
        "facet_thickness_mm": round(g.facet_thickness_mm, 3),
        "coronal_angle_deg": p.coronal_deg,
        "volume_mm3": {"facet": round(facet.Volume(), 3), "interbody": round(interbody.Volume(), 3)},
    }
    return Implant(TYPE_ID, p, shape, features, metrics=metrics, parts={"facet": facet, "interbody": interbody})


PRESETS = {
    "c4-c5-left": dict(level="C4-C5", side="left"),
    "c5-c6-right": dict(level="C5-C6", side="right", distraction_height_mm=6.5, coronal_deg=8.0),
    "c3-c4-left-small": dict(level="C3-C4", side="left", distraction_height_mm=5.0, coronal_deg=5.0,
                             interbody_depth_mm=11.0, interbody_width_mm=7.0, facet_length_mm=9.0, facet_width_mm=8.0),
    "c6-c7-right-large": dict(level="C6-C7", side="right", distraction_height_mm=8.0, coronal_deg=10.0,
                              interbody_depth_mm=14.0, interbody_width_mm=9.0, facet_length_mm=11.0,
                              facet_width_mm=10.0),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Unilateral distraction spacers (facet + interbody pair)",
    review_wording="unilateral distraction spacers [39]",
    description=("A pair of wedge spacers for the concave side of a cervical hemivertebra deformity, distracting that "
                 "side instead of resecting the hemivertebra: one between the articular facets, shaped to the oblique "
                 "facet joint, one between the vertebral bodies; distraction height, coronal wedge angle, footprints "
                 "and side. Two bodies, exported together and each alone."),
    params=DistractionSpacerParams,
    presets=PRESETS,
    build=build,
    default_preset="c4-c5-left",
)
