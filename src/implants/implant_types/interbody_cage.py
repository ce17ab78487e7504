"""Type 4, ``interbody-cage``: congruent interbody implant (review refs [11–13,15,16,28,37,40]).

A cage placed in the disc space whose upper and lower faces follow the endplates (flat, or
congruent to a synthetic domed endplate), with a preset lordotic (sagittal) and coronal
angle, graft window(s), optional serrations, optional integrated screw channels into the
adjacent bodies or an anterior flange with screws.

Placement: origin at the centre of the disc space (mid-height, at the centre of the
endplates); +x anterior, +y patient-left, +z superior. ``height_mm`` is the cage height at
the origin (excluding teeth); the upper face rises anteriorly by the lordotic angle and to the
left by the coronal angle, each face taking half of the angle.

This module is the type's entry (layer: implant_types): parameters, ``derive``, ``build``, presets and
``TEMPLATE``; the bearing faces and measured angles of a built cage are in ``interbody_cage_bearing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Callable

import numpy as np
from pydantic import Field, model_validator

from ..errors import GeometryError, ParameterError
from ..geometry import outlines
from ..geometry.frames import direction_from_angles
from ..geometry.synthetic_endplate import APEX_FRACTION, CONCAVITY_MM, ENDPLATE_SIZE_MM, SyntheticEndplate
from ..model import Feature, Implant, Template
from ..params import EndplateShape, ImplantParams, Region, require

if TYPE_CHECKING:
    import cadquery as cq

TYPE_ID = "interbody-cage"
#: Thinnest wall left between a graft window and the outline (mm).
MIN_WALL_MM = 1.0
#: Serrations end this far inside the outline (mm): a flat land along the rim, as on machined
#: cages, and no sub-mm² sliver faces where ridges would meet rounded corners.
TEETH_INSET_MM = 0.3
#: Fraction of a pitch by which the serration crests are shifted off round coordinates.
TEETH_PHASE = 0.382
#: Lowest serration height (mm): 1e-127 mm teeth broke the kernel (issue 9); 0 means none.
MIN_TEETH_MM = 0.2


class Footprint(str, Enum):
    """Footprint shape by surgical approach."""

    BOX = "box"          # ACDF, PLIF, LLIF: rounded rectangle
    KIDNEY = "kidney"    # ALIF: convex anterior, recessed posterior edge
    BULLET = "bullet"    # TLIF/PLIF straight cage with an insertion nose at −x
    BANANA = "banana"    # TLIF curved cage placed along the anterior rim


#: Regions with synthetic endplate morphometry (``geometry.synthetic_endplate``): the cage's choices.
CageRegion = Enum("CageRegion", {r.name: r.value for r in Region if r.value in ENDPLATE_SIZE_MM}, type=str)
CageRegion.__doc__ = "Spinal region of a cage, one with synthetic endplate sizes and concavities."


class CageParams(ImplantParams):
    """Parameters of the interbody cage (mm, deg)."""

    region: CageRegion = Field(CageRegion.LUMBAR, description="Spinal region; sets synthetic endplate size and concavities")
    footprint: Footprint = Field(Footprint.KIDNEY, description="Footprint shape for the approach")
    depth_mm: float = Field(28.0, ge=8.0, le=60.0, description="Footprint extent antero-posterior (x) before rotation")
    width_mm: float = Field(38.0, ge=8.0, le=60.0, description="Footprint extent medio-lateral (y) before rotation")
    corner_radius_mm: float = Field(2.0, ge=0.0, le=10.0, description="Corner radius of box footprints")
    footprint_rotation_deg: float = Field(0.0, ge=-60.0, le=60.0, description="Axial rotation of the footprint (oblique TLIF)")
    height_mm: float = Field(12.0, ge=4.0, le=20.0, description="Cage height at the disc-space centre, without teeth")
    lordosis_deg: float = Field(8.0, ge=0.0, le=20.0, description="Sagittal (lordotic) angle between upper and lower faces")
    coronal_deg: float = Field(0.0, ge=-10.0, le=10.0, description="Coronal angle between the faces (positive: left side taller)")
    graft_windows: int = Field(1, ge=0, le=2, description="Number of vertical graft windows (two sit side by side in y)")
    window_depth_mm: float = Field(12.0, ge=2.0, le=50.0, description="Graft window extent in x")
    window_width_mm: float = Field(10.0, ge=2.0, le=50.0, description="Graft window extent in y (each window)")
    window_strut_mm: float = Field(3.0, ge=1.0, le=10.0, description="Strut between two graft windows")
    teeth_height_mm: float = Field(0.0, ge=0.0, le=1.5, description="Serration height on flat bearing faces (0: none)")
    teeth_pitch_mm: float = Field(2.0, ge=1.0, le=5.0, description="Serration pitch along x")
    endplate: EndplateShape = Field(EndplateShape.SYNTHETIC, description="Bearing faces flat or congruent to a synthetic domed endplate")
    superior_concavity_mm: float | None = Field(None, ge=0.0, le=4.0, description="Dome of the upper face = concavity of the upper vertebra's inferior endplate (default by region)")
    inferior_concavity_mm: float | None = Field(None, ge=0.0, le=4.0, description="Dome of the lower face = concavity of the lower vertebra's superior endplate (default by region)")
    apex_x_mm: float | None = Field(None, ge=-15.0, le=15.0, description="Concavity apex position along x (default by region: posterior half)")
    screw_count: int = Field(0, ge=0, le=4, description="Integrated screw channels through the anterior wall (alternating cranial/caudal)")
    screw_diameter_mm: float = Field(4.0, ge=2.5, le=6.5, description="Screw channel diameter")
    screw_angle_deg: float = Field(35.0, ge=15.0, le=55.0, description="Cranial/caudal inclination of the screw channels")
    screw_medial_deg: float = Field(5.0, ge=0.0, le=20.0, description="Medial convergence of the screw channels")
    flange: bool = Field(False, description="Anterior flange (plate) with one screw into each adjacent body")
    flange_extension_mm: float = Field(8.0, ge=4.0, le=15.0, description="Flange extension above and below the cage")
    flange_thickness_mm: float = Field(3.0, ge=1.5, le=5.0, description="Flange thickness (x)")

    @model_validator(mode="after")
    def _rules(self) -> "CageParams":
        geometry = derive(self)
        require(geometry.windows_fit,
                f"graft window {self.window_depth_mm} x {self.window_width_mm} mm "
                f"(window_depth_mm x window_width_mm, {self.graft_windows} window(s)) does not fit inside the "
                f"{self.footprint.value} footprint {self.depth_mm} x {self.width_mm} mm with {MIN_WALL_MM} mm walls")
        require(geometry.min_height_mm >= 3.0,
                f"height_mm = {self.height_mm} with lordosis_deg = {self.lordosis_deg} and coronal_deg = "
                f"{self.coronal_deg} leaves {geometry.min_height_mm:.1f} mm at the thinnest edge (allowed >= 3 mm)")
        require(self.teeth_height_mm == 0 or self.teeth_height_mm >= MIN_TEETH_MM,
                f"teeth_height_mm = {self.teeth_height_mm}: use 0 (no serrations) or at least {MIN_TEETH_MM} mm "
                f"(allowed 0 or {MIN_TEETH_MM} to 1.5)")
        require(self.teeth_height_mm == 0 or self.endplate is EndplateShape.FLAT,
                "teeth_height_mm must be 0 with endplate = synthetic (congruent faces carry no serrations)")
        apex_limit = SyntheticEndplate.MAX_APEX_FRACTION * ENDPLATE_SIZE_MM[self.region.value][0] / 2
        require(self.apex_x_mm is None or abs(self.apex_x_mm) <= apex_limit,
                f"apex_x_mm = {self.apex_x_mm} lies outside the dome of a {self.region.value} endplate "
                f"(allowed -{apex_limit:.1f} to {apex_limit:.1f} mm)")
        require(self.screw_count == 0 or self.footprint_rotation_deg == 0,
                f"integrated screws enter through the anterior wall of a cage square to the midline: "
                f"screw_count = {self.screw_count} needs footprint_rotation_deg = 0 (got {self.footprint_rotation_deg})")
        require(not (self.flange and self.screw_count),
                "flange and screw_count are alternatives: set screw_count = 0 for the flange variant")
        require(self.footprint is not Footprint.BOX or self.corner_radius_mm <= 0.4 * min(self.depth_mm, self.width_mm),
                f"corner_radius_mm = {self.corner_radius_mm} leaves no straight side on a {self.depth_mm} x "
                f"{self.width_mm} mm box (allowed 0 to {0.4 * min(self.depth_mm, self.width_mm):.1f} mm)")
        require(self.footprint is not Footprint.KIDNEY or self.width_mm >= 1.2 * self.depth_mm,
                f"the kidney footprint is wider than deep: width_mm = {self.width_mm} must be at least "
                f"1.2 x depth_mm = {1.2 * self.depth_mm:.1f} mm")
        require(self.footprint is not Footprint.BANANA or self.depth_mm <= 0.5 * self.width_mm,
                f"the banana footprint is a curved strip: depth_mm = {self.depth_mm} (its thickness) must be at "
                f"most 0.5 x width_mm = {0.5 * self.width_mm:.1f} mm")
        require(self.footprint is not Footprint.BANANA or self.graft_windows <= 1,
                "graft_windows must be 0 or 1 for the banana footprint")
        return self


@dataclass(frozen=True)
class CageGeometry:
    """The numbers of a cage (numpy only): outline, windows, faces and screw axes."""

    outline: np.ndarray
    smooth_outline: bool
    windows: tuple[tuple[float, float], ...]  # window centres (x, y)
    windows_fit: bool
    upper: Callable[[np.ndarray, np.ndarray], np.ndarray]
    lower: Callable[[np.ndarray, np.ndarray], np.ndarray]
    superior_endplate: SyntheticEndplate | None
    inferior_endplate: SyntheticEndplate | None
    min_height_mm: float
    screws: tuple[tuple[np.ndarray, np.ndarray], ...]  # (entry, unit direction)
    front_x_mm: float
    front_y_mm: float  # y of the most anterior point of the outline: where a flange attaches


def _outline(p: CageParams) -> tuple[np.ndarray, bool]:
    if p.footprint is Footprint.BOX:
        shape, smooth = outlines.rounded_rectangle(p.depth_mm, p.width_mm, p.corner_radius_mm), False
    elif p.footprint is Footprint.KIDNEY:
        shape, smooth = outlines.kidney(p.depth_mm, p.width_mm, 0.1 * p.depth_mm), True
    elif p.footprint is Footprint.BULLET:
        shape, smooth = outlines.bullet(p.depth_mm, p.width_mm, min(0.3 * p.depth_mm, 6.0)), False
    else:
        shape, smooth = outlines.banana(p.width_mm, p.depth_mm, 0.18 * p.width_mm), False
    return outlines.rotate(shape, p.footprint_rotation_deg), smooth


def _window_centres(p: CageParams, outline: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Window centres before the footprint rotation (mm); a banana's window sits on its centre line."""
    if p.graft_windows == 0:
        return ()
    if p.footprint is Footprint.BANANA:
        return ((float(outline[:, 0].max()) - p.depth_mm / 2, 0.0),)
    if p.graft_windows == 1:
        return ((0.0, 0.0),)
    offset = (p.window_width_mm + p.window_strut_mm) / 2
    return ((0.0, offset), (0.0, -offset))


def _windows_fit(p: CageParams, outline: np.ndarray, centres) -> bool:
    for cx, cy in centres:
        corners = outlines.rounded_rectangle(p.window_depth_mm, p.window_width_mm, min(1.5, p.window_depth_mm / 3))
        corners = outlines.rotate(corners, p.footprint_rotation_deg) + [cx, cy]
        if not outlines.contains(outline, corners).all():
            return False
        if outlines.min_distance_to_edges(outline, corners).min() < MIN_WALL_MM:
            return False
    return True


def endplates(p: CageParams) -> tuple[SyntheticEndplate | None, SyntheticEndplate | None]:
    """Synthetic endplates the cage bears on: (upper vertebra's inferior, lower vertebra's superior)."""
    if p.endplate is EndplateShape.FLAT:
        return None, None
    depth, width = ENDPLATE_SIZE_MM[p.region.value]
    superior_ep, inferior_ep = CONCAVITY_MM[p.region.value]
    apex = p.apex_x_mm if p.apex_x_mm is not None else APEX_FRACTION[p.region.value] * depth / 2
    upper = SyntheticEndplate(depth, width, p.superior_concavity_mm if p.superior_concavity_mm is not None else inferior_ep, apex)
    lower = SyntheticEndplate(depth, width, p.inferior_concavity_mm if p.inferior_concavity_mm is not None else superior_ep, apex)
    return upper, lower


def derive(p: CageParams) -> CageGeometry:
    """Compute the cage's numbers: outline, windows, bearing height fields, screw axes."""
    outline, smooth = _outline(p)
    unrotated = outlines.rotate(outline, -p.footprint_rotation_deg)
    centres = tuple(tuple(float(v) for v in outlines.rotate(np.array([c]), p.footprint_rotation_deg)[0])
                    for c in _window_centres(p, unrotated))
    upper_ep, lower_ep = endplates(p)
    ts, tc = np.tan(np.radians(p.lordosis_deg) / 2), np.tan(np.radians(p.coronal_deg) / 2)

    def upper(x, y):
        dome = upper_ep.recess(x, y) if upper_ep else 0.0
        return p.height_mm / 2 + ts * np.asarray(x) + tc * np.asarray(y) + dome

    def lower(x, y):
        dome = lower_ep.recess(x, y) if lower_ep else 0.0
        return -p.height_mm / 2 - ts * np.asarray(x) - tc * np.asarray(y) - dome

    heights = upper(outline[:, 0], outline[:, 1]) - lower(outline[:, 0], outline[:, 1])
    front_x = float(outline[:, 0].max())
    front_y = float(outline[np.argmax(outline[:, 0]), 1])
    screws = []
    for i in range(p.screw_count):
        up = 1 if i % 2 == 0 else -1
        y = (i - (p.screw_count - 1) / 2) * min(p.width_mm / max(p.screw_count, 1), 10.0)
        side = 1 if y >= 0 else -1
        direction = direction_from_angles(up * p.screw_angle_deg, p.screw_medial_deg, base=(-1, 0, 0), side=side)
        entry = np.array([front_x, y, up * p.height_mm / 6])
        screws.append((entry, direction))
    return CageGeometry(outline, smooth, centres, _windows_fit(p, outline, centres), upper, lower,
                        upper_ep, lower_ep, float(heights.min()), tuple(screws), front_x, front_y)


def _teeth(p: CageParams, g: CageGeometry, top: bool) -> "cq.Solid":
    """Serrations of one face as one swept sawtooth profile (not one boolean per ridge), laid on
    the flat tilted face; the saw's vertical flank faces anteriorly against expulsion."""
    import cadquery as cq

    half = max(np.ptp(g.outline[:, 0]), np.ptp(g.outline[:, 1])) / 2 + p.teeth_pitch_mm
    n = int(np.ceil(2 * half / p.teeth_pitch_mm))
    # crests at (k + TEETH_PHASE) x pitch, not on round numbers where the window walls and rounded
    # corners also sit: a crest flank touching a window corner made a non-manifold edge (issue 9)
    start = -half + TEETH_PHASE * p.teeth_pitch_mm
    pts = [(start, -0.01)]
    for i in range(n):
        x0 = start + i * p.teeth_pitch_mm
        pts += [(x0 + p.teeth_pitch_mm, p.teeth_height_mm), (x0 + p.teeth_pitch_mm, 0.0)]
    pts += [(pts[-1][0], -0.01)]
    saw = cq.Workplane("XZ").polyline(pts).close().extrude(half, both=True)
    # the ridges stop short of the side walls: no sliver faces where they would meet the corners
    ridges = saw.val().intersect(_footprint_prism(p, g, p.teeth_height_mm + 1, inset_mm=TEETH_INSET_MM))
    ts = np.degrees(np.arctan(np.tan(np.radians(p.lordosis_deg) / 2)))
    tc = np.degrees(np.arctan(np.tan(np.radians(p.coronal_deg) / 2)))
    if not top:
        ridges = ridges.mirror("XY")
        ts, tc = -ts, -tc
    z = p.height_mm / 2 if top else -p.height_mm / 2
    return ridges.rotate(cq.Vector(), cq.Vector(0, 1, 0), -ts).rotate(cq.Vector(), cq.Vector(1, 0, 0), tc).translate((0, 0, z))


def build(p: CageParams) -> Implant:
    """Build the cage B-rep with its named features. Flat bearing faces are first tried as exact
    planes (``clip_method="plane"``): the same faces as their B-spline approximation (volume, area
    and bounding box within 3e-9 relative) and 3 to 4 times faster in the serration and window
    booleans (TLIF banana cage 1.83 → 0.65 CPU s, issue 18); where the kernel leaves that solid
    invalid (a serration crest at a rotated window, issue 9 sample) the B-spline faces are used.
    The finished solid is analysed afresh, after the bearing faces were found: their per-face
    meshes (``face_points``) make ``BRepCheck_Analyzer`` reject that sample's plane solid (without
    the meshes, ``BRepTools.Clean``, it is valid and meshes watertight), while the answer
    ``geometry.validity`` remembered from before the meshing is valid; all 45 presets pass afresh."""
    g = derive(p)
    if p.endplate is EndplateShape.FLAT:
        try:
            cage = build_from_geometry(p, g, clip_method="plane")
        except GeometryError:
            cage = None
        if cage is not None and cage.shape.isValid():
            return cage
    return build_from_geometry(p, g)


def build_from_geometry(p: CageParams, g: CageGeometry, clip_method: str = "approximate",
                        clip_samples: int = 21) -> Implant:
    """Build a cage from derived numbers; callers may replace ``g.upper``/``g.lower`` with
    other height fields (e.g. fitted to real endplates, ``clip_method="interpolate"`` with
    ``clip_samples`` per side dense enough that the B-spline follows the field within 0.01 mm)."""
    import cadquery as cq  # the kernel only when building: `implants list` imports this module

    from ..geometry import solids
    from .interbody_cage_bearing import bearing_faces, crest_points, measured_angles_deg

    span = p.height_mm + 40.0
    body = solids.clip_between(_footprint_prism(p, g, span), g.lower, g.upper, method=clip_method,
                               samples=clip_samples)
    if p.teeth_height_mm > 0:
        body = solids.single_solid(solids.fuse_all([body, _teeth(p, g, True), _teeth(p, g, False)]), "serrated cage")

    tools, features = [], {}
    for i, (cx, cy) in enumerate(g.windows, 1):
        window = solids.rounded_box(p.window_depth_mm, p.window_width_mm, min(1.5, p.window_depth_mm / 3),
                                    -span, span).rotate(cq.Vector(), cq.Vector(0, 0, 1), p.footprint_rotation_deg)
        tools.append(window.translate((cx, cy, 0)))
        features[f"graft_window.{i}"] = Feature(f"graft_window.{i}", "channel", (cx, cy, -span), (0, 0, 1),
                                                info={"depth_mm": p.window_depth_mm, "width_mm": p.window_width_mm})
    screws = list(g.screws)
    if p.flange:
        flange, flange_screws = _flange(p, g)
        body = solids.single_solid(solids.fuse_all([body, flange]), "cage with flange")
        screws = flange_screws
    for i, (entry, direction) in enumerate(screws, 1):
        through = 3 * p.height_mm
        tools.append(solids.channel(entry, direction, p.screw_diameter_mm, through))
        features[f"screw.{i}"] = Feature(f"screw.{i}", "channel", tuple(entry), tuple(direction),
                                         diameter_mm=p.screw_diameter_mm, length_mm=through)
    cut = solids.cut_all(body, tools)
    if len(cut.Solids()) > 1:
        raise ParameterError(
            f"graft windows (window_depth_mm = {p.window_depth_mm}, window_width_mm = {p.window_width_mm}) and screw "
            f"channels (screw_count = {len(screws)}, screw_diameter_mm = {p.screw_diameter_mm}) cut the cage into "
            f"{len(cut.Solids())} pieces: make the windows or the screws smaller")
    shape = solids.single_solid(cut, TYPE_ID)

    upper_faces = bearing_faces(shape, g.upper, p.teeth_height_mm, +1)
    lower_faces = bearing_faces(shape, g.lower, p.teeth_height_mm, -1)
    features["contact.superior"] = Feature("contact.superior", "surface", (0, 0, p.height_mm / 2), (0, 0, 1),
                                           faces=upper_faces)
    features["contact.inferior"] = Feature("contact.inferior", "surface", (0, 0, -p.height_mm / 2), (0, 0, -1),
                                           faces=lower_faces)
    sagittal, coronal = measured_angles_deg(crest_points(upper_faces, g.upper, p.teeth_height_mm, +1),
                                            crest_points(lower_faces, g.lower, p.teeth_height_mm, -1),
                                            g.superior_endplate, g.inferior_endplate)
    metrics = {"segmental_angle_deg": {"sagittal_requested": p.lordosis_deg, "sagittal_measured": round(sagittal, 3),
                                       "coronal_requested": p.coronal_deg, "coronal_measured": round(coronal, 3)},
               "min_height_mm": round(g.min_height_mm, 3)}
    return Implant(TYPE_ID, p, shape, features, metrics=metrics)


def _footprint_prism(p: CageParams, g: CageGeometry, half_height: float, inset_mm: float = 0.0) -> "cq.Solid":
    """Vertical prism over the footprint, optionally shrunk by ``inset_mm``; box footprints get
    exact circular corners."""
    import cadquery as cq

    from ..geometry import solids

    if p.footprint is not Footprint.BOX:
        outline = outlines.inset(g.outline, inset_mm) if inset_mm else g.outline
        return solids.prism(outline, -half_height, half_height, g.smooth_outline)
    box = solids.rounded_box(p.depth_mm - 2 * inset_mm, p.width_mm - 2 * inset_mm,
                             max(p.corner_radius_mm - inset_mm, 0.0), -half_height, half_height)
    return box.rotate(cq.Vector(), cq.Vector(0, 0, 1), p.footprint_rotation_deg)


def _flange(p: CageParams, g: CageGeometry) -> tuple["cq.Solid", list]:
    """Anterior flange: a plate on the anterior surfaces of both adjacent bodies, with one screw
    hole into each, screws angled 10° away from the disc."""
    from ..geometry import solids

    width = 0.5 * p.width_mm
    at_front = (np.array([g.front_x_mm]), np.array([g.front_y_mm]))
    top = float(g.upper(*at_front)[0]) + p.flange_extension_mm
    bottom = float(g.lower(*at_front)[0]) - p.flange_extension_mm
    x0 = g.front_x_mm - 1.0  # embedded 1 mm in the cage's anterior wall so the two fuse
    plate = solids.rounded_box(p.flange_thickness_mm + 1.0, width, 2.0, bottom, top,
                               centre=(x0 + (p.flange_thickness_mm + 1.0) / 2, g.front_y_mm))
    front = x0 + p.flange_thickness_mm + 1.0
    screws = []
    for z, up in ((top - p.flange_extension_mm / 2, 1), (bottom + p.flange_extension_mm / 2, -1)):
        direction = direction_from_angles(up * 10.0, 0.0, base=(-1, 0, 0))
        screws.append((np.array([front, g.front_y_mm, z]), direction))
    return plate, screws


PRESETS = {
    "lumbar-alif": dict(region="lumbar", footprint="kidney", depth_mm=28.0, width_mm=38.0, height_mm=12.0,
                        lordosis_deg=12.0, graft_windows=2, window_depth_mm=12.0, window_width_mm=11.0),
    "lumbar-alif-flange": dict(region="lumbar", footprint="kidney", depth_mm=28.0, width_mm=38.0, height_mm=12.0,
                               lordosis_deg=12.0, graft_windows=2, window_depth_mm=12.0, window_width_mm=11.0,
                               flange=True, screw_diameter_mm=5.5),
    "lumbar-alif-screws": dict(region="lumbar", footprint="kidney", depth_mm=28.0, width_mm=38.0, height_mm=12.0,
                               lordosis_deg=12.0, graft_windows=2, window_depth_mm=10.0, window_width_mm=10.0,
                               screw_count=3, screw_diameter_mm=5.0, screw_angle_deg=40.0),
    "lumbar-tlif-bullet": dict(region="lumbar", footprint="bullet", depth_mm=28.0, width_mm=10.0, height_mm=10.0,
                               lordosis_deg=6.0, footprint_rotation_deg=30.0, graft_windows=1, window_depth_mm=12.0,
                               window_width_mm=5.0, endplate="flat", teeth_height_mm=0.6),
    "lumbar-tlif-banana": dict(region="lumbar", footprint="banana", depth_mm=10.0, width_mm=30.0, height_mm=10.0,
                               lordosis_deg=8.0, graft_windows=1, window_depth_mm=4.5, window_width_mm=6.0,
                               endplate="flat", teeth_height_mm=0.6),
    "lumbar-plif": dict(region="lumbar", footprint="box", depth_mm=25.0, width_mm=10.0, height_mm=10.0,
                        lordosis_deg=4.0, graft_windows=1, window_depth_mm=12.0, window_width_mm=5.0,
                        endplate="flat", teeth_height_mm=0.6),
    "lumbar-llif": dict(region="lumbar", footprint="box", depth_mm=20.0, width_mm=50.0, height_mm=10.0,
                        lordosis_deg=6.0, graft_windows=2, window_depth_mm=12.0, window_width_mm=18.0,
                        corner_radius_mm=3.0),
    "cervical-acdf": dict(region="cervical", footprint="box", depth_mm=12.0, width_mm=14.0, height_mm=6.0,
                          lordosis_deg=6.0, graft_windows=1, window_depth_mm=6.0, window_width_mm=7.0),
    "cervical-acdf-screws": dict(region="cervical", footprint="box", depth_mm=12.0, width_mm=14.0, height_mm=6.0,
                                 lordosis_deg=6.0, graft_windows=1, window_depth_mm=5.0, window_width_mm=6.0,
                                 screw_count=2, screw_diameter_mm=3.0, screw_angle_deg=40.0),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Congruent interbody cage",
    review_wording="congruent interbody implants [11–13,15,16,28,37,40]",
    description=("A cage in the disc space whose upper and lower faces follow the endplates, for congruent contact "
                 "(less subsidence) and a preset lordotic and coronal angle that corrects sagittal and frontal "
                 "balance; footprints for ACDF, ALIF, TLIF, PLIF and LLIF; graft windows; optional integrated screw "
                 "channels or an anterior flange."),
    params=CageParams,
    presets=PRESETS,
    build=build,
    default_preset="lumbar-alif",
)
