"""Type 1, ``upper-cervical-docking``: anterior upper cervical implant with a docking site for C1 or C0
(review refs [8,10,18,21–25,27,28,32,33]).

A prismatic body that replaces the resected C2 (and/or C1) and stands on the superior endplate of the
lower vertebra (C3 by default; C4, C5 or T1 when the resection extends into the subaxial spine: the body
grows by one level pitch per extra level), fixed by two oblique screws through its anterior face into the
lower vertebral body, and carrying at its top one docking variant:

- ``saddle``: a saddle-shaped notch (a groove revolved about a vertical axis: concave across the arch,
  following its curve along it) that seats under the C1 anterior arch [18, 21]; its cross-section is
  ``round`` (a torus, radius ``arch_radius_mm``) or ``v`` (two flanks ``saddle_v_angle_deg`` apart
  joined by a tip rounded with ``arch_radius_mm``: the underside of an arch that is thinner at its
  lower border, as measured on the real C1) or ``fitted``: a patient-specific groove, the measured
  underside of the arch itself handed to ``build(saddle_field=...)`` as a height field z = f(x, y)
  (``anatomy.fit_cervical`` casts rays up to the C1 mesh and offsets the hits by a clearance); the
  body top stays at the horns (``height_mm + saddle_depth_mm``) wherever the field is higher;
- ``t-expansion``: a T-shaped crossbar with two screw holes onto the anterior surface of the C1 lateral
  masses [8, 10, 22–25, 32];
- ``c0-plate``: after removal of C1, a docking plate with two screw holes aimed at the clivus [28] or a
  crossbar with two screws into the occipital condyles [23];
- ``lateral-mass``: the minimal variant, a unilateral prosthesis of one C1 lateral mass [8] standing on the
  C2 superior articular facet (``lower_vertebra = c2``) with a spherical socket for the occipital condyle.

Placement: origin at the centre of the lower vertebra's superior endplate, in the plane of its rim
(the lower face of the body dips below z = 0 into the concave endplate when ``endplate = synthetic``);
+x anterior, +y patient-left, +z superior. The body is centred on the origin in x and y; ``height_mm``
is the height of the docking seat (groove bottom / body top) above z = 0. For ``lateral-mass`` the origin
is on the midline at the level of the C2 superior facets and the column stands at y = ±``lateral_offset_mm``.

This module is the type's entry (layer: implant_types): parameters, ``derive``, ``build``, presets and
``TEMPLATE``; the option enums, the groove cross-section and the screw axes are in
``upper_cervical_docking_geometry``, the B-rep of the docking variants in ``upper_cervical_docking_solids``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
from pydantic import Field, model_validator

from ..errors import ParameterError
from ..geometry import outlines, plates
from ..geometry.frames import direction_from_angles
from ..geometry.synthetic_endplate import APEX_FRACTION, CONCAVITY_MM, ENDPLATE_SIZE_MM, SyntheticEndplate
from ..model import Feature, Implant, Template
from ..params import EndplateShape, ImplantParams, Side, require
from .upper_cervical_docking_geometry import (
    C0Target, Docking, DockingGeometry, LowerVertebra, SaddleProfile, Surface, clivus_screws, condyle_screws,
    crossbar_screws, fitted_saddle_samples, groove_chord, groove_height)

TYPE_ID = "upper-cervical-docking"

#: Thinnest wall left around a screw channel or a groove (mm).
MIN_WALL_MM = 1.0
#: Smallest groove radius of a round saddle profile (mm): the C1 anterior arch is 3–5 mm thick in adults.
MIN_ROUND_ARCH_RADIUS_MM = 2.5
#: Levels between the lower vertebra and C2 that the body replaces in addition to C2 (C3 → 0).
EXTRA_LEVELS = {"c2": 0, "c3": 0, "c4": 1, "c5": 2, "t1": 5}
#: Height from the C3 superior endplate to the underside of the C1 anterior arch after C2 resection (mm):
#: C2/C3 disc (~4 mm) + C2 body to the arch (~18 mm); the real C1–C3 meshes give 21–23 mm.
C1_SEAT_ABOVE_C3_MM = 22.0
#: One cervical motion segment: body (~13 mm) + disc (~4 mm).
LEVEL_PITCH_MM = 17.0
#: Extra height to reach the skull base after removal of C1 (mm): the basion lies ~10 mm above the arch.
C0_EXTRA_MM = 10.0
#: Height of a C1 lateral mass between the C2 facet and the occipital condyle (mm).
LATERAL_MASS_HEIGHT_MM = 16.0
#: Allowed deviation of ``height_mm`` from the anatomical default before it "cannot reach" its target.
HEIGHT_TOLERANCE = 0.3


class DockingParams(ImplantParams):
    """Parameters of the upper cervical docking implant (mm, deg)."""

    docking: Docking = Field(Docking.SADDLE, description="Docking variant at the top: saddle, t-expansion, c0-plate or lateral-mass")
    lower_vertebra: LowerVertebra = Field(LowerVertebra.C3, description="Vertebra the base stands on (c2 only for lateral-mass; c4, c5, t1 for longer reconstructions)")
    height_mm: float | None = Field(None, ge=8.0, le=140.0, description="Height of the docking seat above the lower endplate rim (default from the levels spanned and the docking)")
    depth_mm: float = Field(14.0, ge=8.0, le=24.0, description="Body extent antero-posterior (x)")
    width_mm: float = Field(16.0, ge=8.0, le=26.0, description="Body extent medio-lateral (y)")
    corner_radius_mm: float = Field(2.5, ge=0.0, le=6.0, description="Corner radius of the body footprint")
    endplate: EndplateShape = Field(EndplateShape.SYNTHETIC, description="Lower face flat or congruent to a synthetic domed superior endplate")
    inferior_concavity_mm: float | None = Field(None, ge=0.0, le=3.0, description="Dome of the lower face = concavity of the lower superior endplate (default cervical 1.0)")
    screw_diameter_mm: float = Field(3.5, ge=2.5, le=4.5, description="Diameter of the two base screws into the lower vertebral body")
    screw_caudal_deg: float = Field(40.0, ge=20.0, le=60.0, description="Caudal inclination of the base screws below the horizontal")
    screw_convergence_deg: float = Field(10.0, ge=0.0, le=25.0, description="Medial convergence of the base screws")
    screw_spacing_mm: float = Field(8.0, ge=4.0, le=20.0, description="Distance between the two base screw entries (y)")
    screw_entry_height_mm: float = Field(6.0, ge=3.0, le=15.0, description="Height of the base screw entries on the anterior face above z = 0")
    # saddle
    arch_radius_mm: float = Field(4.5, ge=1.0, le=7.0, description="Radius of the saddle groove (C1 anterior arch cross-section + clearance; at least 2.5 for the round profile), or of the rounded tip of the v profile")
    arch_curve_radius_mm: float = Field(20.0, ge=10.0, le=60.0, description="Axial-plane curvature radius of the C1 anterior arch the saddle follows")
    saddle_depth_mm: float = Field(3.0, ge=1.0, le=6.0, description="Depth of the saddle notch (horn height above the groove bottom)")
    saddle_offset_x_mm: float = Field(0.0, ge=-4.0, le=4.0, description="AP position of the groove bottom relative to the body centre")
    saddle_profile: SaddleProfile = Field(SaddleProfile.ROUND, description="Cross-section of the saddle groove: round (circular arc), v (two straight flanks with a rounded tip) or fitted (patient-specific groove from a measured C1 arch, needs build(saddle_field=...))")
    saddle_v_angle_deg: float = Field(90.0, ge=50.0, le=140.0, description="Included angle between the flanks of the v saddle profile")
    saddle_tilt_deg: float = Field(0.0, ge=0.0, le=40.0, description="Anterior lean of the saddle's revolution axis: the groove bottom rises towards the body's sides like the lower border of the arch (v profile; the cross-section stays upright at the midline)")
    # T-expansion
    t_span_mm: float = Field(40.0, ge=24.0, le=60.0, description="Total width of the T crossbar across the C1 lateral masses")
    t_height_mm: float = Field(10.0, ge=6.0, le=18.0, description="Height of the T crossbar above the body top")
    t_thickness_mm: float = Field(3.5, ge=2.0, le=6.0, description="AP thickness of the T crossbar")
    lateral_screw_spacing_mm: float = Field(30.0, ge=16.0, le=50.0, description="Distance between the two C1 lateral mass screws (t-expansion) or condyle screws (c0-plate)")
    lateral_screw_diameter_mm: float = Field(3.5, ge=2.5, le=4.5, description="Diameter of the docking screws (C1 lateral masses, clivus or condyles)")
    lateral_screw_cranial_deg: float = Field(10.0, ge=-20.0, le=45.0, description="Cranial tilt of the docking screws from their plate normal")
    lateral_screw_divergence_deg: float = Field(10.0, ge=-20.0, le=30.0, description="Lateral divergence of the docking screws (negative: convergence)")
    # C0
    c0_target: C0Target = Field(C0Target.CLIVUS, description="C0 docking aimed at the clivus (tilted plate) or the occipital condyles (crossbar)")
    c0_plate_tilt_deg: float = Field(30.0, ge=0.0, le=60.0, description="Posterior lean of the clivus plate from vertical (clivus slope)")
    c0_plate_height_mm: float = Field(12.0, ge=6.0, le=20.0, description="Height of the clivus plate / condyle crossbar AP depth")
    c0_plate_width_mm: float = Field(20.0, ge=10.0, le=50.0, description="Width of the clivus plate (y); the condyle crossbar uses t_span_mm")
    c0_plate_thickness_mm: float = Field(3.0, ge=2.0, le=6.0, description="Thickness of the clivus plate / condyle crossbar")
    c0_screw_spacing_mm: float = Field(10.0, ge=5.0, le=30.0, description="Distance between the two clivus screws (y)")
    # lateral mass
    side: Side = Field(Side.LEFT, description="Side of the lateral-mass prosthesis")
    lateral_offset_mm: float = Field(20.0, ge=12.0, le=30.0, description="Distance of the lateral-mass column from the midline (y)")
    facet_slope_deg: float = Field(15.0, ge=0.0, le=35.0, description="Coronal slope of the C2 superior facet the column stands on (down laterally)")
    condyle_radius_mm: float = Field(10.0, ge=6.0, le=25.0, description="Radius of the spherical socket for the occipital condyle")
    cup_depth_mm: float = Field(1.5, ge=0.5, le=5.0, description="Depth of the condyle socket")

    @model_validator(mode="after")
    def _rules(self) -> "DockingParams":
        lm = self.docking is Docking.LATERAL_MASS
        require(lm == (self.lower_vertebra is LowerVertebra.C2),
                f"lower_vertebra = {self.lower_vertebra.value} with docking = {self.docking.value}: the lateral-mass "
                "prosthesis stands on c2 and every other docking on c3, c4, c5 or t1")
        default = default_height_mm(self.docking, self.lower_vertebra)
        if self.height_mm is not None:
            low, high = default * (1 - HEIGHT_TOLERANCE), default * (1 + HEIGHT_TOLERANCE)
            require(low <= self.height_mm <= high,
                    f"height_mm = {self.height_mm} cannot reach the docking target of {self.docking.value} from "
                    f"lower_vertebra = {self.lower_vertebra.value} (allowed {low:.1f} to {high:.1f} mm)")
        g = derive(self)
        require(g.screw_exit_x_mm > -self.depth_mm / 2 + MIN_WALL_MM,
                f"base screws leave through the posterior face: screw_entry_height_mm = {self.screw_entry_height_mm} "
                f"with screw_caudal_deg = {self.screw_caudal_deg} travels too far for depth_mm = {self.depth_mm}")
        require(self.screw_spacing_mm + self.screw_diameter_mm + 2 * MIN_WALL_MM <= g.width_mm,
                f"screw_spacing_mm = {self.screw_spacing_mm} + screw_diameter_mm = {self.screw_diameter_mm} leaves "
                f"< {MIN_WALL_MM} mm side walls in a {g.width_mm} mm wide body (width_mm)")
        require(self.screw_entry_height_mm + self.screw_diameter_mm / 2 + MIN_WALL_MM <= g.seat_z_mm,
                f"screw_entry_height_mm = {self.screw_entry_height_mm} is above the body top at {g.seat_z_mm:.1f} mm")
        if self.docking is Docking.SADDLE and self.saddle_profile is SaddleProfile.ROUND:
            require(self.arch_radius_mm >= MIN_ROUND_ARCH_RADIUS_MM,
                    f"arch_radius_mm = {self.arch_radius_mm} below {MIN_ROUND_ARCH_RADIUS_MM} mm for saddle_profile = "
                    "round (smaller radii only as the tip of the v profile)")
            require(self.saddle_depth_mm <= self.arch_radius_mm,
                    f"saddle_depth_mm = {self.saddle_depth_mm} deeper than arch_radius_mm = {self.arch_radius_mm}: the "
                    "arch could not be seated from above")
        if self.docking is Docking.SADDLE:
            require(self.saddle_tilt_deg == 0.0 or self.saddle_profile is SaddleProfile.V,
                    f"saddle_tilt_deg = {self.saddle_tilt_deg} needs saddle_profile = v (the round groove is a torus "
                    "about a vertical axis; the fitted groove follows the arch itself)")
        if self.docking is Docking.SADDLE and self.saddle_profile is not SaddleProfile.FITTED:
            front = self.saddle_offset_x_mm + g.groove_chord_mm / 2
            back = self.saddle_offset_x_mm - g.groove_chord_mm / 2 - g.groove_sagitta_mm
            require(front <= self.depth_mm / 2 - MIN_WALL_MM and back >= -self.depth_mm / 2 + MIN_WALL_MM,
                    f"saddle groove {g.groove_chord_mm:.1f} mm wide, curving back {g.groove_sagitta_mm:.1f} mm at the "
                    f"sides (arch_radius_mm, saddle_depth_mm, saddle_v_angle_deg, saddle_offset_x_mm, arch_curve_radius_mm) does not fit "
                    f"in depth_mm = {self.depth_mm} with {MIN_WALL_MM} mm horns")
        if self.docking is Docking.T_EXPANSION:
            require(self.lateral_screw_spacing_mm + self.lateral_screw_diameter_mm + 2 * MIN_WALL_MM <= self.t_span_mm,
                    f"lateral_screw_spacing_mm = {self.lateral_screw_spacing_mm} does not fit in t_span_mm = "
                    f"{self.t_span_mm} with {MIN_WALL_MM} mm edges")
            require(self.lateral_screw_diameter_mm + 2 * MIN_WALL_MM <= self.t_height_mm,
                    f"lateral_screw_diameter_mm = {self.lateral_screw_diameter_mm} too large for t_height_mm = {self.t_height_mm}")
        if self.docking is Docking.C0_PLATE:
            if self.c0_target is C0Target.CLIVUS:
                require(self.c0_screw_spacing_mm + self.lateral_screw_diameter_mm + 2 * MIN_WALL_MM <= self.c0_plate_width_mm,
                        f"c0_screw_spacing_mm = {self.c0_screw_spacing_mm} does not fit in c0_plate_width_mm = "
                        f"{self.c0_plate_width_mm} with {MIN_WALL_MM} mm edges")
            else:
                require(self.lateral_screw_spacing_mm + self.lateral_screw_diameter_mm + 2 * MIN_WALL_MM <= self.t_span_mm,
                        f"lateral_screw_spacing_mm = {self.lateral_screw_spacing_mm} does not fit in t_span_mm = "
                        f"{self.t_span_mm} with {MIN_WALL_MM} mm edges")
            require(self.lateral_screw_diameter_mm + 2 * MIN_WALL_MM <= self.c0_plate_height_mm,
                    f"lateral_screw_diameter_mm = {self.lateral_screw_diameter_mm} too large for c0_plate_height_mm = "
                    f"{self.c0_plate_height_mm}")
        if lm:
            require(self.cup_depth_mm < self.condyle_radius_mm and g.cup_chord_mm + 2 * MIN_WALL_MM <= min(self.depth_mm, self.width_mm),
                    f"condyle socket (condyle_radius_mm = {self.condyle_radius_mm}, cup_depth_mm = {self.cup_depth_mm}) "
                    f"is {g.cup_chord_mm:.1f} mm wide: it must fit in depth_mm and width_mm with {MIN_WALL_MM} mm rims")
            require(self.lateral_offset_mm >= self.width_mm / 2,
                    f"lateral_offset_mm = {self.lateral_offset_mm} puts the column across the midline (>= width_mm / 2 = {self.width_mm / 2})")
        return self


def default_height_mm(docking: Docking, lower: LowerVertebra) -> float:
    """Anatomical default height of the docking seat above the lower endplate (mm)."""
    if docking is Docking.LATERAL_MASS:
        return LATERAL_MASS_HEIGHT_MM
    height = C1_SEAT_ABOVE_C3_MM + LEVEL_PITCH_MM * EXTRA_LEVELS[lower.value]
    return height + (C0_EXTRA_MM if docking is Docking.C0_PLATE else 0.0)


def groove_profile(p: DockingParams) -> Callable[[np.ndarray], np.ndarray]:
    """Height of the saddle's material surface above the groove bottom as a function of the
    horizontal distance ``h`` across the groove (from its bottom line), capped at the horns
    (``saddle_depth_mm``): a circular arc (round) or a rounded tip continued by straight flanks (v);
    see :func:`~.upper_cervical_docking_geometry.groove_height`."""
    return groove_height(p.saddle_profile.value, p.arch_radius_mm, p.saddle_depth_mm, p.saddle_v_angle_deg)


def groove_chord_mm(p: DockingParams) -> float:
    """Width of the saddle groove at the horns (mm)."""
    return groove_chord(p.saddle_profile.value, p.arch_radius_mm, p.saddle_depth_mm, p.saddle_v_angle_deg)


def derive(p: DockingParams) -> DockingGeometry:
    """Compute the implant's numbers: footprint, lower face, seat height, screw axes."""
    lm = p.docking is Docking.LATERAL_MASS
    seat = p.height_mm if p.height_mm is not None else default_height_mm(p.docking, p.lower_vertebra)
    cy = p.side.sign * p.lateral_offset_mm if lm else 0.0
    outline = outlines.rounded_rectangle(p.depth_mm, p.width_mm, p.corner_radius_mm) + [0.0, cy]
    endplate = None
    if lm:
        slope = np.tan(np.radians(p.facet_slope_deg)) * p.side.sign

        def lower(x, y):  # C2 superior facet: slopes down laterally, z = 0 at the column centre
            return -slope * (np.asarray(y, float) - cy) + 0.0 * np.asarray(x, float)
    elif p.endplate is EndplateShape.SYNTHETIC:
        depth, width = ENDPLATE_SIZE_MM["cervical"]
        conc = p.inferior_concavity_mm if p.inferior_concavity_mm is not None else CONCAVITY_MM["cervical"][0]
        endplate = SyntheticEndplate(depth, width, conc, APEX_FRACTION["cervical"] * depth / 2)

        def lower(x, y):
            return -endplate.recess(x, y)
    else:
        def lower(x, y):
            return 0.0 * np.asarray(x, float)

    screws = []
    for s in (1, -1):  # left, right
        direction = direction_from_angles(-p.screw_caudal_deg, p.screw_convergence_deg, base=(-1, 0, 0), side=s)
        entry = np.array([p.depth_mm / 2, cy + s * p.screw_spacing_mm / 2, p.screw_entry_height_mm])
        screws.append((entry, direction))
    travel = p.screw_entry_height_mm / np.tan(np.radians(p.screw_caudal_deg))
    exit_x = p.depth_mm / 2 - travel * np.cos(np.radians(p.screw_convergence_deg))

    chord = groove_chord_mm(p)
    top = seat + (p.saddle_depth_mm if p.docking is Docking.SADDLE else 0.0)
    seat_point = np.array([p.saddle_offset_x_mm if p.docking is Docking.SADDLE else 0.0, cy, seat])

    if p.docking is Docking.T_EXPANSION:
        docking_screws = crossbar_screws(p.depth_mm / 2, seat + p.t_height_mm / 2, p.lateral_screw_spacing_mm,
                                         p.lateral_screw_cranial_deg, p.lateral_screw_divergence_deg)
    elif p.docking is Docking.C0_PLATE and p.c0_target is C0Target.CLIVUS:
        docking_screws = clivus_screws(p.depth_mm / 2, seat, p.c0_plate_tilt_deg, p.c0_plate_height_mm,
                                       p.c0_screw_spacing_mm, p.lateral_screw_cranial_deg,
                                       p.lateral_screw_divergence_deg)
    elif p.docking is Docking.C0_PLATE:
        docking_screws = condyle_screws(seat, p.lateral_screw_spacing_mm, p.lateral_screw_cranial_deg,
                                        p.lateral_screw_divergence_deg)
    else:
        docking_screws = ()

    cup_centre, cup_chord = None, 0.0
    if lm:
        R, h = p.condyle_radius_mm, p.cup_depth_mm
        cup_centre = np.array([0.0, cy, seat + R - h])
        cup_chord = 2 * np.sqrt(max(R * R - (R - h) ** 2, 0.0))
    Rc, hw = p.arch_curve_radius_mm, p.width_mm / 2
    sagitta = Rc - np.sqrt(max(Rc * Rc - hw * hw, 0.0))
    return DockingGeometry(outline, cy, p.width_mm, seat, top, lower, endplate, tuple(screws), float(exit_x),
                           docking_screws, float(chord), float(sagitta), seat_point, cup_centre, float(cup_chord))


def build(p: DockingParams, lower_field: Surface | None = None, saddle_field: Surface | None = None, *,
          clip_method: str = "approx", clip_samples: int = 21, face_tol_mm: float = 0.01,
          saddle_spacing_mm: float = 0.4) -> Implant:
    """Build the docking implant B-rep with its named features. ``lower_field``: optional lower face
    z = f(x, y) (e.g. a real endplate's height field, see ``anatomy.fit_cervical``) replacing the flat
    or synthetic one; ``clip_method`` / ``clip_samples``: how that face is made (``solids.clip_between``;
    ``"interpolate"`` for fitted fields); ``face_tol_mm``: largest distance of the picked
    ``contact.inferior`` faces from the field. ``saddle_field``: the material surface z = f(x, y) of a
    ``saddle_profile = fitted`` groove (required by it, refused by the others; e.g. the measured
    underside of the C1 arch less a clearance, see ``anatomy.fit_cervical``): the body top is cut down
    to it wherever it lies below the horns at ``height_mm + saddle_depth_mm``; its lowest point over
    the footprint must be the seat ``height_mm`` (within ``FITTED_SEAT_TOL_MM``). It is built as an
    interpolating degree-3 B-spline through samples ``saddle_spacing_mm`` apart (``plates.fitted_saddle_tool``)."""
    from ..geometry import columns, solids  # the kernel only when building: `implants list` imports this module
    from .upper_cervical_docking_solids import clivus_plate, condyle_crossbar, docking_faces, t_crossbar

    fitted = p.docking is Docking.SADDLE and p.saddle_profile is SaddleProfile.FITTED
    if fitted and saddle_field is None:
        raise ParameterError("saddle_profile = fitted needs a saddle_field (the measured arch underside, "
                             "build(p, saddle_field=...), e.g. from anatomy.fit_cervical.fit_docking_implant)")
    if saddle_field is not None and not fitted:
        raise ParameterError(f"saddle_field is only used by docking = saddle with saddle_profile = fitted (got "
                             f"docking = {p.docking.value}, saddle_profile = {p.saddle_profile.value})")
    g = derive(p)
    saddle_box = None
    if fitted:
        saddle_box, seat_xy = fitted_saddle_samples(g, saddle_field, saddle_spacing_mm)
        g = dataclasses.replace(g, seat_point=np.array([seat_xy[0], seat_xy[1], g.seat_z_mm]))
    if lower_field is not None:
        g = dataclasses.replace(g, lower=lower_field, endplate=None)
    span = g.top_z_mm + 20.0
    body = solids.prism(g.outline, -20.0, span, False)
    body = solids.clip_between(body, g.lower, lambda x, y: g.top_z_mm + 0.0 * np.asarray(x, float),
                               samples=clip_samples, method=clip_method)
    parts, tools, features = [body], [], {}
    seat = g.seat_z_mm
    front = p.depth_mm / 2

    if p.docking is Docking.T_EXPANSION:
        parts.append(t_crossbar(front, seat, p.t_thickness_mm, p.t_span_mm, p.t_height_mm))
    elif p.docking is Docking.C0_PLATE and p.c0_target is C0Target.CLIVUS:
        parts.append(clivus_plate(front, seat, p.c0_plate_thickness_mm, p.c0_plate_width_mm, p.c0_plate_height_mm,
                                  p.c0_plate_tilt_deg))
    elif p.docking is Docking.C0_PLATE:  # the body ends under the crossbar
        parts.append(condyle_crossbar(seat, p.c0_plate_height_mm, p.t_span_mm, p.c0_plate_thickness_mm))
    shape = solids.single_solid(solids.fuse_all(parts), "docking body")

    if fitted:
        tools.append(plates.fitted_saddle_tool(saddle_field, *saddle_box))
    elif p.docking is Docking.SADDLE:
        if p.saddle_profile is SaddleProfile.V:
            tools.append(plates.v_saddle_tool(g.seat_point, p.arch_radius_mm, p.saddle_v_angle_deg,
                                              p.saddle_depth_mm + 2.0, p.arch_curve_radius_mm,
                                              tilt_deg=p.saddle_tilt_deg))
        else:
            tools.append(plates.saddle_tool(g.seat_point, p.arch_radius_mm, p.arch_curve_radius_mm))
    if p.docking is Docking.LATERAL_MASS:
        tools.append(plates.cup_tool(g.cup_centre, p.condyle_radius_mm))

    for i, (entry, direction) in enumerate(g.screws, 1):
        through = p.screw_entry_height_mm / np.sin(np.radians(p.screw_caudal_deg)) + 2.0
        tools.append(solids.channel(entry, direction, p.screw_diameter_mm, through))
        features[f"screw.{i}"] = Feature(f"screw.{i}", "channel", tuple(entry), tuple(direction),
                                         diameter_mm=p.screw_diameter_mm, length_mm=through,
                                         info={"target": f"{p.lower_vertebra.value} body"})
    target = {"t-expansion": "c1 lateral mass", "c0-plate": f"occipital {p.c0_target.value}"}.get(p.docking.value)
    for j, (entry, direction) in enumerate(g.docking_screws, len(g.screws) + 1):
        through = 3.0 * max(p.t_thickness_mm, p.c0_plate_thickness_mm) + 10.0
        tools.append(solids.channel(entry - direction * through / 2, direction, p.lateral_screw_diameter_mm, through))
        features[f"screw.{j}"] = Feature(f"screw.{j}", "channel", tuple(entry), tuple(direction),
                                         diameter_mm=p.lateral_screw_diameter_mm, length_mm=through,
                                         info={"target": target})
    shape = solids.single_solid(solids.cut_all(shape, tools), TYPE_ID)

    lower_faces = columns.faces_on_field(shape, g.lower, -1, tol_mm=face_tol_mm)
    features["contact.inferior"] = Feature("contact.inferior", "surface",
                                           (0.0, g.centre_y_mm, float(g.lower(np.array([0.0]), np.array([g.centre_y_mm]))[0])),
                                           (0, 0, -1), faces=lower_faces,
                                           info={"bears_on": f"{p.lower_vertebra.value} superior "
                                                 + ("facet" if p.docking is Docking.LATERAL_MASS else "endplate")})
    dock_name, dock_faces, dock_dir = docking_faces(shape, g, p.docking, p.saddle_profile, p.c0_target,
                                                    front - p.t_thickness_mm, p.c0_plate_tilt_deg,
                                                    seat + p.c0_plate_thickness_mm)
    features[dock_name] = Feature(dock_name, "surface", tuple(g.seat_point), dock_dir, faces=dock_faces,
                                  info={"variant": p.docking.value, **_docking_info(p)})
    metrics = {"seat_height_mm": round(seat, 3), "levels_spanned": 1 + EXTRA_LEVELS[p.lower_vertebra.value]
               if p.docking is not Docking.LATERAL_MASS else 0, "lower_vertebra": p.lower_vertebra.value,
               "docking": p.docking.value}
    return Implant(TYPE_ID, p, shape, features, metrics=metrics)


def _docking_info(p: DockingParams) -> dict:
    """What the docking surface records about its variant (feature info)."""
    if p.docking is Docking.SADDLE and p.saddle_profile is SaddleProfile.FITTED:
        return {"profile": "fitted", "saddle_depth_mm": p.saddle_depth_mm}
    if p.docking is Docking.SADDLE:
        return {"arch_radius_mm": p.arch_radius_mm, "arch_curve_radius_mm": p.arch_curve_radius_mm,
                "profile": p.saddle_profile.value, "tilt_deg": p.saddle_tilt_deg}
    if p.docking is Docking.LATERAL_MASS:
        return {"condyle_radius_mm": p.condyle_radius_mm, "side": p.side.value}
    if p.docking is Docking.T_EXPANSION:
        return {"screws": 2}
    if p.c0_target is C0Target.CLIVUS:
        return {"target": "clivus", "screws": 2}
    return {"target": "occipital condyles", "screws": 2}


PRESETS = {
    "c1-saddle": dict(docking="saddle", lower_vertebra="c3"),
    "c1-saddle-c4": dict(docking="saddle", lower_vertebra="c4", depth_mm=15.0, width_mm=17.0),
    "c1-t-expansion": dict(docking="t-expansion", lower_vertebra="c3"),
    "c1-t-expansion-c5": dict(docking="t-expansion", lower_vertebra="c5", depth_mm=15.0, width_mm=17.0),
    "c0-clivus": dict(docking="c0-plate", c0_target="clivus", lower_vertebra="c3"),
    "c0-condyles": dict(docking="c0-plate", c0_target="condyles", lower_vertebra="c3", t_span_mm=34.0,
                        lateral_screw_spacing_mm=24.0, lateral_screw_cranial_deg=10.0, lateral_screw_divergence_deg=10.0),
    "c0-clivus-t1": dict(docking="c0-plate", c0_target="clivus", lower_vertebra="t1", depth_mm=16.0, width_mm=18.0),
    "lateral-mass-left": dict(docking="lateral-mass", lower_vertebra="c2", side="left", depth_mm=14.0, width_mm=13.0,
                              corner_radius_mm=3.0, screw_spacing_mm=5.0, screw_diameter_mm=3.0),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Anterior upper cervical implant with a C1/C0 docking site",
    review_wording="anterior upper cervical implants with docking sites for C0 or C1 [8,10,18,21–25,27,28,32,33]",
    description=("A prismatic body replacing C2 (and/or C1) that stands on the superior endplate of C3 (C4, C5 or T1 "
                 "for longer reconstructions), fixed by two screws into that body, carrying at its top a saddle notch "
                 "under the C1 anterior arch, a T-shaped expansion screwed to the C1 lateral masses, a C0 plate with "
                 "screws into the clivus or the occipital condyles, or (minimal variant) a unilateral C1 lateral-mass "
                 "prosthesis."),
    params=DockingParams,
    presets=PRESETS,
    build=build,
    default_preset="c1-saddle",
)
