"""Type 5, ``vertebral-body-replacement``: congruent body-replacing implant (review refs [6,7,10,19,20,26,29,31,34–36,41,44,45]).

Reconstructs one to six adjacent vertebral bodies after corpectomy (tumour, myelopathy, failed
revision, fracture): a **column** from the inferior endplate of the vertebra above the defect to
the superior endplate of the vertebra below, with **end platforms** that are flat or congruent to
a domed endplate, a central vertical **graft channel**, and the options the review lists for
fixation and for commutation with a posterior construct:

* ``screw_fixation = "flange"``: an anterior flange at each end lying on the anterior surface of the
  adjacent body, with screw channels into it [26,29,34,44,45];
* ``screw_fixation = "zero-profile"``: screw channels from the anterior face of the column through
  its end platforms into the adjacent bodies, nothing proud of the anterior column [41];
* ``pedicle_holes``: a wing (boss) at each posterolateral corner of every replaced level with a hole
  on the pedicle axis for a serial transpedicular screw [7,19,35];
* ``wire_eyelets``: eyelets on both lateral faces near each end for wire fixation [24,31];
* ``rod_clamps``: hinged clamps for the posterior rods (rod diameter + clearance bore, split ring with
  a clamp-screw bore, hinge knuckle with a pin bore) [20];
* ``two_piece``: a left/right split at the mid-sagittal plane for a posterior approach [7], with a
  keyed joint (dovetail or tongue-and-groove running the full height) so the pieces align, the
  alignment the published two-piece design lacked.

Region presets (``REGIONS``: cervical, thoracic, lumbar) set the size: endplate depth and width,
body and disc heights, graft channel, screw and rod sizes, the segmental lordosis (thoracic:
kyphosis). Rounded adult values within published morphometry (e.g. Panjabi et al., Spine
1991;16:861 and 1992;17:299); illustrative defaults, not patient data.

Placement: origin at the mid-height of the column on the axis of the endplates (the centre of
the defect); +x anterior, +y patient-left, +z superior. ``height_mm`` (default: levels × body height
+ (levels + 1) × disc height) is the distance between the end faces at the origin's x, y before
the domes; the end faces tilt by half of ``lordosis_deg`` each (anterior taller for lordosis).

End platforms take a height field per end with the signature of
``SyntheticEndplate.recess(x, y)`` (recess depth in mm, positive into the bone, in this frame):
``build(params, superior_recess=f, inferior_recess=g)`` replaces the synthetic dome of that end,
so a fit to a real vertebra mesh plugs in without changing the template.

The type's entry (layer: implant_types); region sizes, limits and attachment positions are in
``vertebral_body_replacement_geometry``, the B-rep parts in ``vertebral_body_replacement_solids``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from pydantic import Field, model_validator

from ..errors import GeometryError
from ..geometry import outlines
from ..geometry.frames import direction_from_angles
from ..geometry.synthetic_endplate import SyntheticEndplate
from ..model import Feature, Implant, Template
from ..params import EndplateShape, ImplantParams, Region, require
from .vertebral_body_replacement_geometry import (
    BOSS_WALL_MM, EYELET_WALL_MM, FOOTPRINT_FRACTION, MIN_CORNER_RADIUS_MM, MIN_INSET_MM, MIN_WALL_MM, REGIONS,
    Footprint, Joint, Recess, ScrewFixation, VBRGeometry, clamp_positions, crossing_x, eyelet_centres, joint_keys,
    pedicle_wings)

TYPE_ID = "vertebral-body-replacement"


class VBRParams(ImplantParams):
    """Parameters of the vertebral body replacement (mm, deg)."""

    region: Region = Field(Region.CERVICAL, description="Spinal region; sets the size defaults (REGIONS)")
    levels: int = Field(1, ge=1, le=6, description="Number of vertebral bodies replaced (cervical and thoracic up to 6, lumbar up to 5)")
    height_mm: Optional[float] = Field(None, ge=10.0, le=200.0, description="End-to-end height at the axis (default: levels x body + (levels + 1) x disc height)")
    body_height_mm: Optional[float] = Field(None, ge=8.0, le=35.0, description="Height of one replaced body (default by region)")
    disc_height_mm: Optional[float] = Field(None, ge=2.0, le=16.0, description="Height of one resected disc (default by region)")
    footprint: Optional[Footprint] = Field(None, description="Column cross-section: box (default cervical) or kidney (thoracic, lumbar)")
    depth_mm: Optional[float] = Field(None, ge=8.0, le=50.0, description="Footprint antero-posterior (default 0.85 x endplate depth)")
    width_mm: Optional[float] = Field(None, ge=8.0, le=60.0, description="Footprint medio-lateral (default 0.85 x endplate width)")
    corner_radius_mm: float = Field(3.0, ge=0.0, le=10.0, description="Corner radius of the box footprint")
    platform_thickness_mm: float = Field(3.0, ge=1.5, le=8.0, description="Thickness of each end platform at its rim")
    column_inset_mm: float = Field(1.0, ge=0.0, le=5.0, description="Inset of the column between the platforms (0: straight prism)")
    lordosis_deg: Optional[float] = Field(None, ge=-40.0, le=40.0, description="Sagittal angle between the end faces, positive = lordosis (default: region value x (levels + 1))")
    endplate: EndplateShape = Field(EndplateShape.SYNTHETIC, description="End platforms flat or congruent to a synthetic domed endplate")
    superior_concavity_mm: Optional[float] = Field(None, ge=0.0, le=4.0, description="Dome of the upper face = concavity of the inferior endplate above (default by region)")
    inferior_concavity_mm: Optional[float] = Field(None, ge=0.0, le=4.0, description="Dome of the lower face = concavity of the superior endplate below (default by region)")
    graft_channel_mm: Optional[float] = Field(None, ge=0.0, le=30.0, description="Diameter of the central vertical graft channel (0: none; default by region)")
    screw_fixation: ScrewFixation = Field(ScrewFixation.NONE, description="Screws into the bodies above and below: none, anterior flange, or zero-profile channels through the platforms")
    screws_per_end: int = Field(2, ge=1, le=2, description="Screws into each adjacent body")
    screw_diameter_mm: Optional[float] = Field(None, ge=2.5, le=7.0, description="Screw channel diameter (default by region)")
    screw_angle_deg: float = Field(40.0, ge=20.0, le=60.0, description="Cranial/caudal inclination of zero-profile screws (flange screws: 10 deg)")
    screw_convergence_deg: float = Field(5.0, ge=0.0, le=20.0, description="Medial convergence of the screws")
    flange_thickness_mm: float = Field(2.5, ge=1.5, le=5.0, description="Anterior flange thickness")
    flange_extension_mm: Optional[float] = Field(None, ge=5.0, le=20.0, description="Flange extension over the adjacent body (default by region)")
    pedicle_holes: bool = Field(False, description="Posterolateral wings with holes for serial pedicle screws, left and right at every replaced level")
    pedicle_screw_diameter_mm: Optional[float] = Field(None, ge=3.0, le=8.0, description="Pedicle screw hole diameter (default by region)")
    pedicle_medial_deg: Optional[float] = Field(None, ge=0.0, le=50.0, description="Medial angle of the pedicle axis (default by region)")
    wire_eyelets: bool = Field(False, description="Eyelets on both lateral faces near each end for wire fixation (4 in all)")
    wire_hole_mm: float = Field(1.8, ge=0.8, le=3.0, description="Eyelet bore for the cerclage wire")
    rod_clamps: bool = Field(False, description="Hinged clamps (left, right) joining the column to the posterior rods")
    rod_diameter_mm: Optional[float] = Field(None, ge=3.0, le=6.5, description="Posterior rod diameter (default by region)")
    rod_clearance_mm: float = Field(0.2, ge=0.0, le=0.6, description="Clamp bore = rod diameter + this clearance")
    rod_spacing_mm: Optional[float] = Field(None, ge=20.0, le=70.0, description="Distance between the two posterior rods (default by region)")
    rod_offset_mm: Optional[float] = Field(None, ge=10.0, le=60.0, description="Distance from the posterior wall of the column back to the rod axes (default by region)")
    hinge_pin_mm: float = Field(2.0, ge=1.0, le=4.0, description="Hinge pin bore of the clamp knuckle")
    two_piece: bool = Field(False, description="Left/right halves for a posterior approach, joined by a keyed joint")
    joint: Joint = Field(Joint.DOVETAIL, description="Keyed joint between the halves: dovetail (interlocks) or tongue-and-groove")
    joint_clearance_mm: float = Field(0.1, ge=0.02, le=0.3, description="Gap left between the halves and round the keys (at least 0.02: touching halves do not mesh as two watertight bodies)")

    @model_validator(mode="after")
    def _rules(self) -> "VBRParams":
        r = REGIONS[self.region.value]
        require(self.levels <= r.max_levels,
                f"levels = {self.levels} is more than the {self.region.value} region allows (allowed 1 to {r.max_levels})")
        depth, width = footprint_size(self)
        ep_d, ep_w = r.endplate_depth, r.endplate_width
        require(depth <= ep_d * 1.1 and width <= ep_w * 1.1,
                f"depth_mm x width_mm = {depth} x {width} overhangs the {self.region.value} endplate "
                f"({ep_d} x {ep_w} mm; allowed up to 1.1 x)")
        require(self.column_inset_mm <= min(depth, width) / 4,
                f"column_inset_mm = {self.column_inset_mm} is more than a quarter of the footprint (allowed <= {min(depth, width) / 4:.1f} mm)")
        g = derive(self)
        require(g.min_height_mm >= 2 * self.platform_thickness_mm + 2.0,
                f"height_mm {g.height_mm:.1f} with lordosis_deg = {g.lordosis_deg:.1f} leaves {g.min_height_mm:.1f} mm at "
                f"the shortest edge (allowed >= 2 x platform_thickness_mm + 2 = {2 * self.platform_thickness_mm + 2:.1f} mm)")
        require(g.channel_wall_mm >= MIN_WALL_MM,
                f"graft_channel_mm = {g.channel_mm} leaves a {g.channel_wall_mm:.1f} mm wall in a {depth:.1f} x {width:.1f} mm "
                f"column with column_inset_mm = {self.column_inset_mm} (allowed >= {MIN_WALL_MM} mm)")
        require(not (self.two_piece and self.screw_fixation is ScrewFixation.FLANGE),
                "two_piece (posterior approach) cannot carry screw_fixation = flange (anterior): use none or zero-profile")
        if self.two_piece:
            require(g.keys_fit, f"two_piece: the walls in front of and behind graft_channel_mm = {g.channel_mm} "
                                f"({g.key_walls[0]:.1f} and {g.key_walls[1]:.1f} mm) are too thin for the keys "
                                f"(allowed >= {2 * MIN_WALL_MM + 1.0:.1f} mm)")
        if self.pedicle_holes:
            boss = g.pedicle_diameter + 2 * BOSS_WALL_MM
            need = boss + 2 * self.platform_thickness_mm
            require(g.min_height_mm / self.levels >= need,
                    f"pedicle_holes: {self.levels} level(s) in height_mm {g.height_mm:.1f} (shortest edge "
                    f"{g.min_height_mm:.1f} mm) leave {g.min_height_mm / self.levels:.1f} mm per level for a "
                    f"{boss:.1f} mm wing round pedicle_screw_diameter_mm = {g.pedicle_diameter} (allowed >= wing + "
                    f"2 x platform_thickness_mm = {need:.1f} mm per level)")
        require(not (self.pedicle_holes and self.rod_clamps),
                "pedicle_holes and rod_clamps are alternative links to the posterior construct: choose one")
        return self


def _corner_radius(p: VBRParams, inset: float = 0.0) -> float:
    """Corner radius of the box footprint (or of the column inset by ``inset``); radii below
    ``MIN_CORNER_RADIUS_MM`` are 0 (sharp)."""
    r = max(p.corner_radius_mm - inset, 0.0)
    return r if r >= MIN_CORNER_RADIUS_MM else 0.0


def _inset(p: VBRParams) -> float:
    """Column inset; insets below ``MIN_INSET_MM`` are 0 (a straight prism)."""
    return p.column_inset_mm if p.column_inset_mm >= MIN_INSET_MM else 0.0


def footprint_size(p: VBRParams) -> tuple[float, float]:
    """Footprint (depth, width) in mm: as given, or ``FOOTPRINT_FRACTION`` of the region's endplate."""
    r = REGIONS[p.region.value]
    return (p.depth_mm if p.depth_mm is not None else round(FOOTPRINT_FRACTION * r.endplate_depth, 2),
            p.width_mm if p.width_mm is not None else round(FOOTPRINT_FRACTION * r.endplate_width, 2))


def endplates(p: VBRParams) -> tuple[SyntheticEndplate | None, SyntheticEndplate | None]:
    """Synthetic endplates the platforms bear on: (inferior endplate above, superior endplate below)."""
    if p.endplate is EndplateShape.FLAT:
        return None, None
    r = REGIONS[p.region.value]
    apex = r.apex_fraction * r.endplate_depth / 2
    sup_ep, inf_ep = r.concavity
    upper = SyntheticEndplate(r.endplate_depth, r.endplate_width,
                              p.superior_concavity_mm if p.superior_concavity_mm is not None else inf_ep, apex)
    lower = SyntheticEndplate(r.endplate_depth, r.endplate_width,
                              p.inferior_concavity_mm if p.inferior_concavity_mm is not None else sup_ep, apex)
    return upper, lower


def derive(p: VBRParams, superior_recess: Recess | None = None, inferior_recess: Recess | None = None) -> VBRGeometry:
    """Compute the column's numbers. ``superior_recess`` / ``inferior_recess`` (signature of
    ``SyntheticEndplate.recess``) replace the synthetic dome of that end (e.g. a real endplate fit)."""
    r = REGIONS[p.region.value]
    depth, width = footprint_size(p)
    kind = p.footprint or (Footprint.BOX if p.region is Region.CERVICAL else Footprint.KIDNEY)
    i = _inset(p)
    radius, inset_radius = _corner_radius(p), _corner_radius(p, i)
    if kind is Footprint.BOX:
        outline = outlines.rounded_rectangle(depth, width, radius)
        inset = outlines.rounded_rectangle(depth - 2 * i, width - 2 * i, inset_radius)
        smooth = False
    else:
        # a fine polygon, not a periodic spline: OCCT's volume of spline-sided prisms clipped by
        # B-spline faces is off by up to 0.7 % (measured), which the STEP/mesh volume check would flag
        outline = outlines.kidney(depth, width, 0.1 * depth, n=96)
        inset = outline * [(depth - 2 * i) / depth, (width - 2 * i) / width]
        smooth = False
    body_h = p.body_height_mm if p.body_height_mm is not None else r.body_height
    disc_h = p.disc_height_mm if p.disc_height_mm is not None else r.disc_height
    height = p.height_mm if p.height_mm is not None else p.levels * body_h + (p.levels + 1) * disc_h
    lordosis = p.lordosis_deg if p.lordosis_deg is not None else float(np.clip(r.lordosis_per_segment * (p.levels + 1), -40, 40))
    up_ep, low_ep = endplates(p)
    up_dome = superior_recess or (up_ep.recess if up_ep else None)
    low_dome = inferior_recess or (low_ep.recess if low_ep else None)
    ts = np.tan(np.radians(lordosis) / 2)

    def upper_plane(x, y):
        return height / 2 + ts * np.asarray(x, float) + 0 * np.asarray(y, float)

    def lower_plane(x, y):
        return -height / 2 - ts * np.asarray(x, float) + 0 * np.asarray(y, float)

    def upper(x, y):
        return upper_plane(x, y) + (up_dome(x, y) if up_dome else 0.0)

    def lower(x, y):
        return lower_plane(x, y) - (low_dome(x, y) if low_dome else 0.0)

    heights = upper_plane(outline[:, 0], outline[:, 1]) - lower_plane(outline[:, 0], outline[:, 1])
    front, back = float(outline[:, 0].max()), float(outline[:, 0].min())
    channel = p.graft_channel_mm if p.graft_channel_mm is not None else r.graft_channel
    channel_x = 0.0 if kind is Footprint.BOX else 0.5 * (crossing_x(inset, 0.0) + crossing_x(inset, 0.0, False))
    if channel > 0:
        ring = np.column_stack([channel_x + channel / 2 * np.cos(np.linspace(0, 2 * np.pi, 72)),
                                channel / 2 * np.sin(np.linspace(0, 2 * np.pi, 72))])
        inside = outlines.contains(inset, ring).all()
        wall = float(outlines.min_distance_to_edges(inset, ring).min()) if inside else 0.0
    else:
        wall = float("inf")

    # screws into the adjacent bodies
    screw_d = p.screw_diameter_mm if p.screw_diameter_mm is not None else r.screw
    ext = p.flange_extension_mm if p.flange_extension_mm is not None else r.flange_extension
    screws = []
    if p.screw_fixation is not ScrewFixation.NONE:
        ys = [0.0] if p.screws_per_end == 1 else [-min(0.2 * width, 6.0), min(0.2 * width, 6.0)]
        for end, up in (("superior", 1), ("inferior", -1)):
            for y in ys:
                side = 1 if y >= 0 else -1
                conv = p.screw_convergence_deg if y != 0 else 0.0
                if p.screw_fixation is ScrewFixation.FLANGE:
                    x_entry = r.endplate_depth / 2 + p.flange_thickness_mm
                    z_rim = float((upper_plane if up > 0 else lower_plane)(np.array(r.endplate_depth / 2), 0.0))
                    entry = np.array([x_entry, y, z_rim + up * ext / 2])
                    direction = direction_from_angles(up * 10.0, conv, base=(-1, 0, 0), side=side)
                else:
                    xf = crossing_x(outline, y)
                    z_rim = float((upper if up > 0 else lower)(np.array(xf), np.array(y)))
                    entry = np.array([xf, y, z_rim - up * (p.platform_thickness_mm + 0.6 * screw_d)])
                    direction = direction_from_angles(up * p.screw_angle_deg, conv, base=(-1, 0, 0), side=side)
                screws.append((end, entry, direction))

    # replaced level centres, bottom to top
    step = height / p.levels
    centres = tuple(float(-height / 2 + (k + 0.5) * step) for k in range(p.levels))

    ped_d = p.pedicle_screw_diameter_mm if p.pedicle_screw_diameter_mm is not None else r.pedicle_screw
    medial = p.pedicle_medial_deg if p.pedicle_medial_deg is not None else r.pedicle_medial
    pedicle = pedicle_wings(inset, centres, ped_d, medial) if p.pedicle_holes else ()
    eyelets = (eyelet_centres(inset, channel_x, p.wire_hole_mm, p.platform_thickness_mm, upper_plane, lower_plane)
               if p.wire_eyelets else ())
    rod_d = p.rod_diameter_mm if p.rod_diameter_mm is not None else r.rod
    spacing = p.rod_spacing_mm if p.rod_spacing_mm is not None else r.rod_spacing
    offset = p.rod_offset_mm if p.rod_offset_mm is not None else r.rod_offset
    clamps = clamp_positions(inset, p.hinge_pin_mm, back, offset, spacing) if p.rod_clamps else ()
    keys, key_size, keys_fit, key_walls = joint_keys(inset, channel, channel_x)

    return VBRGeometry(r, kind, depth, width, outline, inset, smooth, i, radius, inset_radius, float(height),
                       float(lordosis), upper, lower, upper_plane, lower_plane,
                       up_ep if superior_recess is None else None, low_ep if inferior_recess is None else None,
                       float(heights.min()), float(channel), float(channel_x), wall, front, back, tuple(screws),
                       float(screw_d), float(ext), centres, pedicle, float(ped_d), eyelets,
                       float(rod_d), float(rod_d + p.rod_clearance_mm), float(spacing), float(offset), clamps,
                       keys, key_size, keys_fit, key_walls)


def build(p: VBRParams, superior_recess: Recess | None = None, inferior_recess: Recess | None = None, *,
          clip_method: str = "approx", clip_samples: int = 21, face_tol_mm: float = 0.01) -> Implant:
    """Build the body replacement. ``superior_recess`` / ``inferior_recess``: optional end-face
    height fields (signature of ``SyntheticEndplate.recess``) replacing the synthetic domes.
    ``clip_method`` / ``clip_samples``: how the end faces are made (``solids.clip_between``;
    ``"interpolate"`` for fields fitted to real endplates); ``face_tol_mm``: largest distance
    of a bearing face from its field when the ``contact.*`` faces are picked."""
    import cadquery as cq  # the kernel only when building: `implants list` imports this module

    from ..geometry import columns, solids
    from .vertebral_body_replacement_solids import column, flanges, rod_clamp

    g = derive(p, superior_recess, inferior_recess)
    span = g.height_mm / 2 + abs(np.tan(np.radians(g.lordosis_deg) / 2)) * g.depth + 20.0
    bodies = [column(g, p.platform_thickness_mm, span, clip_method, clip_samples)]
    tools, features = [], {}

    if p.screw_fixation is ScrewFixation.FLANGE:
        bodies += flanges(g, p.platform_thickness_mm, p.flange_thickness_mm)
    for _, _, centre, direction in g.pedicle:
        bodies.append(columns.boss(centre, direction, g.pedicle_diameter + 2 * BOSS_WALL_MM, 3 * g.pedicle_diameter))
    for centre, _ in g.eyelets:
        eye_d = p.wire_hole_mm + 2 * EYELET_WALL_MM
        bodies.append(solids.cylinder(centre - [0, 0, eye_d / 2], (0, 0, 1), eye_d, eye_d))
    clamp_heights = []
    for _, knuckle, rod in g.clamps:
        clamp_bodies, clamp_tools, height = rod_clamp(g, p.hinge_pin_mm, knuckle, rod)
        bodies += clamp_bodies
        tools += clamp_tools
        clamp_heights.append(height)
    body = solids.single_solid(solids.fuse_all(bodies), "column with attachments")

    if g.channel_mm > 0:
        tools.append(solids.cylinder((g.channel_x, 0, -span), (0, 0, 1), g.channel_mm, 2 * span))
        z0 = float(g.lower(np.array(g.channel_x), np.array(0.0)))
        z1 = float(g.upper(np.array(g.channel_x), np.array(0.0)))
        features["graft_channel"] = Feature("graft_channel", "channel", (g.channel_x, 0.0, z0), (0, 0, 1),
                                            diameter_mm=g.channel_mm, length_mm=z1 - z0)
    for k, (end, entry, direction) in enumerate(g.screws, 1):
        if p.screw_fixation is ScrewFixation.FLANGE:
            length = p.flange_thickness_mm / abs(direction[0])
        else:
            length = (p.platform_thickness_mm + 0.6 * g.screw_diameter) / abs(direction[2]) + 2.0
        tools.append(solids.channel(entry, direction, g.screw_diameter, length))
        features[f"screw.{k}"] = Feature(f"screw.{k}", "channel", tuple(entry), tuple(direction),
                                         diameter_mm=g.screw_diameter, length_mm=length, info={"end": end})
    for k, (level, side, centre, direction) in enumerate(g.pedicle, 1):
        length = 3 * g.pedicle_diameter
        entry = centre - direction * length / 2
        tools.append(solids.channel(entry, direction, g.pedicle_diameter, length, overshoot_mm=3.0))
        features[f"pedicle_hole.{k}"] = Feature(f"pedicle_hole.{k}", "channel", tuple(entry), tuple(direction),
                                                diameter_mm=g.pedicle_diameter, length_mm=length,
                                                info={"level": level, "side": "left" if side > 0 else "right"})
    for k, (centre, side) in enumerate(g.eyelets, 1):
        eye_d = p.wire_hole_mm + 2 * EYELET_WALL_MM
        tools.append(solids.cylinder(centre - [0, 0, eye_d], (0, 0, 1), p.wire_hole_mm, 2 * eye_d))
        features[f"eyelet.{k}"] = Feature(f"eyelet.{k}", "channel", tuple(centre - [0, 0, eye_d / 2]), (0, 0, 1),
                                          diameter_mm=p.wire_hole_mm, length_mm=eye_d,
                                          info={"side": "left" if side > 0 else "right"})
    for (side, knuckle, rod), hc in zip(g.clamps, clamp_heights):
        name = "left" if side > 0 else "right"
        features[f"rod_clamp.{name}"] = Feature(f"rod_clamp.{name}", "channel", (rod[0], rod[1], -hc / 2), (0, 0, 1),
                                                diameter_mm=g.rod_bore, length_mm=hc,
                                                info={"rod_diameter_mm": g.rod_diameter,
                                                      "clearance_mm": p.rod_clearance_mm})
        features[f"hinge.{name}"] = Feature(f"hinge.{name}", "channel", (knuckle[0], knuckle[1], -hc / 2), (0, 0, 1),
                                            diameter_mm=p.hinge_pin_mm, length_mm=hc)
    shape = solids.single_solid(solids.cut_all(body, tools), TYPE_ID)

    parts = {}
    if p.two_piece:
        neck, head, depth = g.key_size
        kind = p.joint.value
        keys = [columns.key_outline(kind, x, neck, head, depth) for x in g.keys]
        sockets = [columns.key_outline(kind, x, neck, head, depth, p.joint_clearance_mm) for x in g.keys]
        left, right = columns.keyed_split(shape, keys, (-span, span), p.joint_clearance_mm, sockets)
        parts = {"left": left, "right": right}
        shape = cq.Compound.makeCompound([left, right])
        for k, x in enumerate(g.keys, 1):
            features[f"joint.key.{k}"] = Feature(f"joint.key.{k}", "point", (x, 0.0, 0.0), (0, -1, 0),
                                                 info={"joint": kind, "neck_mm": round(neck, 3),
                                                       "head_mm": round(head if kind == "dovetail" else neck, 3),
                                                       "depth_mm": round(depth, 3),
                                                       "clearance_mm": p.joint_clearance_mm})

    top = columns.faces_on_field(shape, g.upper, +1, tol_mm=face_tol_mm)
    bottom = columns.faces_on_field(shape, g.lower, -1, tol_mm=face_tol_mm)
    if not top or not bottom:
        raise GeometryError(f"{TYPE_ID}: end platform faces not found after the booleans")
    ts = np.tan(np.radians(g.lordosis_deg) / 2)
    features["contact.superior"] = Feature("contact.superior", "surface", (0, 0, g.height_mm / 2), (-ts, 0, 1), faces=top)
    features["contact.inferior"] = Feature("contact.inferior", "surface", (0, 0, -g.height_mm / 2), (-ts, 0, -1),
                                           faces=bottom)
    bb = shape.BoundingBox()
    metrics = {
        "region": p.region.value, "levels": p.levels, "height_mm": round(g.height_mm, 3),
        "lordosis_deg": round(g.lordosis_deg, 3), "footprint_mm": [g.depth, g.width],
        "column_front_x_mm": round(g.front_x, 3),
        "anterior_profile_mm": round(bb.xmax - g.region.endplate_depth / 2, 3),
        "proud_of_column_mm": round(bb.xmax - g.front_x, 3),
        "pedicle_hole_count": len(g.pedicle), "screw_count": len(g.screws),
    }
    if parts:
        metrics["part_volumes_mm3"] = {k: round(v.Volume(), 3) for k, v in parts.items()}
    return Implant(TYPE_ID, p, shape, features, metrics=metrics, parts=parts)


PRESETS = {
    "cervical-1-level": dict(region="cervical", levels=1, screw_fixation="flange"),
    "cervical-zero-profile": dict(region="cervical", levels=1, screw_fixation="zero-profile"),
    "yang-c3-t1": dict(region="cervical", levels=6, screw_fixation="flange", lordosis_deg=15.0,
                       body_height_mm=14.3, disc_height_mm=5.0),
    "thoracic-wire-eyelets": dict(region="thoracic", levels=1, wire_eyelets=True),
    "thoracic-pedicle-holes": dict(region="thoracic", levels=2, pedicle_holes=True),
    "thoracic-rod-clamps": dict(region="thoracic", levels=1, rod_clamps=True),
    "lumbar-1-level": dict(region="lumbar", levels=1, screw_fixation="flange"),
    "lumbar-two-piece": dict(region="lumbar", levels=1, two_piece=True, pedicle_holes=True),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Congruent vertebral body replacement",
    review_wording="congruent body-replacing implants [6,7,10,19,20,26,29,31,34–36,41,44,45]",
    description=("A column replacing 1 to 6 vertebral bodies after corpectomy, with end platforms congruent to the "
                 "adjacent endplates and a central graft channel; options: screws into the bodies above and below "
                 "(anterior flange or zero-profile), wings with holes for serial pedicle screws, eyelets for wire "
                 "fixation, hinged clamps for the posterior rods, and a left/right two-piece split with a keyed "
                 "joint for a posterior approach. Region presets set the size; Yang et al. reconstructed C3-T1."),
    params=VBRParams,
    presets=PRESETS,
    build=build,
    default_preset="cervical-1-level",
)
