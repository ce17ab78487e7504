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
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np
from pydantic import Field, model_validator

from ..geometry.synthetic_endplate import SyntheticEndplate
from ..errors import GeometryError
from ..geometry import outlines
from ..geometry.frames import direction_from_angles, unit
from ..model import Implant, Template
from ..params import ImplantParams, require

if TYPE_CHECKING:
    import cadquery as cq

TYPE_ID = "vertebral-body-replacement"
Recess = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RegionSize:
    """Size defaults of one region (mm, deg)."""

    endplate_depth: float
    endplate_width: float
    body_height: float
    disc_height: float
    max_levels: int
    concavity: tuple[float, float]  # (superior endplate, inferior endplate) of a vertebra
    apex_fraction: float
    lordosis_per_segment: float
    graft_channel: float
    screw: float
    flange_extension: float
    pedicle_screw: float
    pedicle_medial: float
    rod: float
    rod_spacing: float
    rod_offset: float


#: Region → size defaults. Cervical up to six levels (C3–T1, Yang et al. [34]); lumbar L1–L5.
REGIONS: dict[str, RegionSize] = {
    "cervical": RegionSize(16.0, 18.0, 14.0, 5.0, 6, (1.0, 2.4), -0.3, 3.0, 7.0, 3.5, 8.0, 3.5, 40.0, 3.5, 36.0, 20.0),
    "thoracic": RegionSize(27.0, 31.0, 20.0, 5.0, 6, (1.2, 1.0), -0.2, -4.0, 12.0, 4.5, 10.0, 5.0, 10.0, 5.5, 40.0, 28.0),
    "lumbar": RegionSize(35.0, 50.0, 27.0, 10.0, 5, (1.5, 0.7), -0.1, 8.0, 16.0, 5.5, 12.0, 6.5, 15.0, 5.5, 50.0, 35.0),
}

#: Footprint as a fraction of the endplate (the platform stays inside the cortical rim).
FOOTPRINT_FRACTION = 0.85
#: Thinnest wall round the graft channel and the keys (mm).
MIN_WALL_MM = 1.5
#: Wall round pedicle holes and clamp bores (mm).
BOSS_WALL_MM = 2.0
#: Corner radii and column insets below this are built as 0 (a 1e-6 mm fillet made an invalid
#: solid, a 2e-16 mm inset a broken ring cut; issue 9) (mm).
MIN_CORNER_RADIUS_MM = MIN_INSET_MM = 0.01
#: Wall of a wire eyelet (mm).
EYELET_WALL_MM = 1.5
#: Wall round the hinge pin bore of a clamp knuckle (mm).
KNUCKLE_WALL_MM = 2.5


class Region(str, Enum):
    CERVICAL = "cervical"
    THORACIC = "thoracic"
    LUMBAR = "lumbar"


class Footprint(str, Enum):
    BOX = "box"        # rounded rectangle (cervical bodies)
    KIDNEY = "kidney"  # recessed posterior wall (thoracic, lumbar bodies)


class Endplate(str, Enum):
    FLAT = "flat"
    SYNTHETIC = "synthetic"


class ScrewFixation(str, Enum):
    NONE = "none"
    FLANGE = "flange"
    ZERO_PROFILE = "zero-profile"


class Joint(str, Enum):
    DOVETAIL = "dovetail"
    TONGUE = "tongue"


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
    endplate: Endplate = Field(Endplate.SYNTHETIC, description="End platforms flat or congruent to a synthetic domed endplate")
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
    r = REGIONS[p.region.value]
    return (p.depth_mm if p.depth_mm is not None else round(FOOTPRINT_FRACTION * r.endplate_depth, 2),
            p.width_mm if p.width_mm is not None else round(FOOTPRINT_FRACTION * r.endplate_width, 2))


@dataclass(frozen=True)
class VBRGeometry:
    """The numbers of a body replacement (numpy only)."""

    region: RegionSize
    footprint: Footprint
    depth: float
    width: float
    outline: np.ndarray          # footprint (xy)
    inset_outline: np.ndarray    # column between the platforms
    smooth: bool
    height_mm: float
    lordosis_deg: float
    upper: Recess                # end-face height fields z = f(x, y)
    lower: Recess
    upper_plane: Recess          # the same without the domes (platform undersides)
    lower_plane: Recess
    superior_endplate: SyntheticEndplate | None
    inferior_endplate: SyntheticEndplate | None
    min_height_mm: float
    channel_mm: float
    channel_x: float
    channel_wall_mm: float
    front_x: float               # most anterior point of the footprint
    back_x: float
    screws: tuple[tuple[str, np.ndarray, np.ndarray], ...]  # (end, entry, direction)
    screw_diameter: float
    flange_extension: float
    level_centres_z: tuple[float, ...]
    pedicle: tuple[tuple[int, int, np.ndarray, np.ndarray], ...]  # (level, side, wing centre, direction)
    pedicle_diameter: float
    eyelets: tuple[tuple[np.ndarray, int], ...]  # (centre, side)
    rod_diameter: float
    rod_bore: float
    rod_spacing: float
    rod_offset: float
    clamps: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (side, knuckle centre xy, rod centre xy)
    keys: tuple[float, ...]      # x centres of the keys on the split plane
    key_size: tuple[float, float, float]  # neck, head, depth
    keys_fit: bool
    key_walls: tuple[float, float]


def _front_x(outline: np.ndarray, y: float, front: bool = True) -> float:
    """x where the line at ``y`` crosses the outline, the most anterior (or posterior) crossing."""
    x0, y0 = outline[:, 0], outline[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    hit = (y0 - y) * (y1 - y) <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y1 != y0, (y - y0) / (y1 - y0), 0.0)
    xs = (x0 + t * (x1 - x0))[hit]
    return float(xs.max() if front else xs.min())


def endplates(p: VBRParams) -> tuple[SyntheticEndplate | None, SyntheticEndplate | None]:
    """Synthetic endplates the platforms bear on: (inferior endplate above, superior endplate below)."""
    if p.endplate is Endplate.FLAT:
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
    if kind is Footprint.BOX:
        outline = outlines.rounded_rectangle(depth, width, _corner_radius(p))
        inset = outlines.rounded_rectangle(depth - 2 * i, width - 2 * i, _corner_radius(p, i))
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
    channel_x = 0.0 if kind is Footprint.BOX else 0.5 * (_front_x(inset, 0.0) + _front_x(inset, 0.0, False))
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
                    xf = _front_x(outline, y)
                    z_rim = float((upper if up > 0 else lower)(np.array(xf), np.array(y)))
                    entry = np.array([xf, y, z_rim - up * (p.platform_thickness_mm + 0.6 * screw_d)])
                    direction = direction_from_angles(up * p.screw_angle_deg, conv, base=(-1, 0, 0), side=side)
                screws.append((end, entry, direction))

    # replaced level centres, bottom to top
    step = height / p.levels
    centres = tuple(float(-height / 2 + (k + 0.5) * step) for k in range(p.levels))

    # pedicle-screw wings: at the posterolateral corners, on the pedicle axis (posterior entry, aimed anteromedially)
    ped_d = p.pedicle_screw_diameter_mm if p.pedicle_screw_diameter_mm is not None else r.pedicle_screw
    medial = p.pedicle_medial_deg if p.pedicle_medial_deg is not None else r.pedicle_medial
    pedicle = []
    if p.pedicle_holes:
        boss_r = ped_d / 2 + BOSS_WALL_MM
        for k, z in enumerate(centres):
            for side in (1, -1):
                corner = inset[np.argmax(-inset[:, 0] + side * inset[:, 1])]
                out = unit((-1.0, side, 0.0))
                centre = np.array([corner[0], corner[1], z]) + out * (boss_r - 1.5)
                direction = direction_from_angles(0.0, medial, base=(1, 0, 0), side=side)
                pedicle.append((k + 1, side, centre, direction))

    eyelets = []
    if p.wire_eyelets:
        eye_r = p.wire_hole_mm / 2 + EYELET_WALL_MM
        for side in (1, -1):
            y_side = _front_x(inset[:, ::-1], channel_x, front=side > 0)  # lateral wall at the channel's x
            for up in (1, -1):
                plane = upper_plane if up > 0 else lower_plane
                z = float(plane(np.array(channel_x), 0.0)) - up * (p.platform_thickness_mm + eye_r + 2.0)
                eyelets.append((np.array([channel_x, y_side + side * (p.wire_hole_mm / 2 + 0.6), z]), side))

    rod_d = p.rod_diameter_mm if p.rod_diameter_mm is not None else r.rod
    spacing = p.rod_spacing_mm if p.rod_spacing_mm is not None else r.rod_spacing
    offset = p.rod_offset_mm if p.rod_offset_mm is not None else r.rod_offset
    clamps = []
    if p.rod_clamps:
        for side in (1, -1):
            corner = inset[np.argmax(-inset[:, 0] + side * inset[:, 1])]
            knuckle = np.array(corner) + unit((-1.0, side)) * (p.hinge_pin_mm / 2 + 0.8)
            clamps.append((side, knuckle, np.array([back - offset, side * spacing / 2])))

    # keys of the two-piece joint: in the anterior and posterior walls on the split plane
    front0, back0 = _front_x(inset, 0.0), _front_x(inset, 0.0, False)
    walls = ((front0 - (channel_x + channel / 2), (channel_x - channel / 2) - back0) if channel > 0
             else (front0 - back0, 0.0))
    key_wall = max(min(walls[0], walls[1]) if channel > 0 else walls[0], 0.1)
    head = min(0.5 * key_wall, 4.0)
    neck, key_depth = 0.6 * head, min(0.5 * head + 0.5, 2.5)
    if channel > 0:
        key_x = (channel_x + channel / 2 + walls[0] / 2, channel_x - channel / 2 - walls[1] / 2)
    else:
        key_x = (front0 - walls[0] / 4, back0 + walls[0] / 4)
    keys_fit = min(walls[0], walls[1] if channel > 0 else walls[0]) >= 2 * MIN_WALL_MM + 1.0

    return VBRGeometry(r, kind, depth, width, outline, inset, smooth, float(height), float(lordosis), upper, lower,
                       upper_plane, lower_plane, up_ep if superior_recess is None else None,
                       low_ep if inferior_recess is None else None, float(heights.min()), float(channel),
                       float(channel_x), wall, front, back, tuple(screws),
                       float(screw_d), float(ext), centres, tuple(pedicle), float(ped_d), tuple(eyelets),
                       float(rod_d), float(rod_d + p.rod_clearance_mm), float(spacing), float(offset), tuple(clamps),
                       key_x, (neck, head, key_depth), bool(keys_fit), (float(walls[0]), float(walls[1])))


def _prism(g: VBRGeometry, p: VBRParams, inset: bool, span: float) -> "cq.Solid":
    """Vertical prism over the footprint (or the inset column outline); box footprints exact."""
    from ..geometry import solids

    if g.footprint is Footprint.BOX:
        i = _inset(p) if inset else 0.0
        return solids.rounded_box(g.depth - 2 * i, g.width - 2 * i, _corner_radius(p, i), -span, span)
    return solids.prism(g.inset_outline if inset else g.outline, -span, span, g.smooth)


def _column(g: VBRGeometry, p: VBRParams, span: float, clip_method: str = "approx",
            clip_samples: int = 21) -> "cq.Shape":
    """Column with its end platforms: the footprint prism between the end faces, minus a ring
    round the inset column between the platforms (cut by analytic planes: a fast boolean)."""
    import cadquery as cq

    from ..geometry import columns, solids

    full = solids.clip_between(_prism(g, p, False, span), g.lower, g.upper, samples=clip_samples, method=clip_method)
    if _inset(p) == 0:
        return full
    t = p.platform_thickness_mm
    big = 2 * (g.depth + g.width)
    outside = cq.Solid.makeBox(big, big, 2 * span, cq.Vector(-big / 2, -big / 2, -span)).cut(_prism(g, p, True, span))
    slope = np.tan(np.radians(g.lordosis_deg) / 2)
    ring = columns.clip_planes(outside, -g.height_mm / 2 + t, g.height_mm / 2 - t, slope)
    return solids.single_solid(full.cut(ring).clean(), "column")


def _flanges(g: VBRGeometry, p: VBRParams) -> list:
    """Anterior flange at each end: a plate on the adjacent body's anterior surface (x = endplate
    half-depth) joined to the column's anterior wall below the end face by a connector."""
    from ..geometry import solids

    e = g.region.endplate_depth / 2
    fw = min(max(0.6 * g.width, 2 * (g.screw_diameter + 3.0)), g.width)
    ys = np.array([-fw / 2, 0.0, fw / 2])
    x_back = min(_front_x(g.outline, float(y)) for y in np.clip(ys, -g.width / 2 + 0.5, g.width / 2 - 0.5)) - 1.5
    overlap = p.platform_thickness_mm + 3.0
    shapes = []
    for up, plane, face in ((1, g.upper_plane, g.upper), (-1, g.lower_plane, g.lower)):
        rim = float(plane(np.array(e), np.array(0.0)))
        z_end = rim + up * g.flange_extension
        z_in = rim - up * overlap
        shapes.append(solids.rounded_box(p.flange_thickness_mm, fw, 1.0, min(z_end, z_in), max(z_end, z_in),
                                         centre=(e + p.flange_thickness_mm / 2, 0.0)))
        xs = np.array([x_back, e])
        ends = [float(f(xs[i:i + 1], np.array([y]))[0]) for f in (plane, face) for i in range(2) for y in ys]
        z_top = (min(ends) - 0.3) if up > 0 else (max(ends) + 0.3)
        lo, hi = sorted((z_in, z_top))
        shapes.append(solids.rounded_box(e - x_back + 0.5, fw, 0.0, lo, hi, centre=((x_back + e + 0.5) / 2, 0.0)))
    return shapes


def _clamp(g: VBRGeometry, p: VBRParams, side: int, knuckle, rod) -> tuple[list, list, dict]:
    """One hinged rod clamp: knuckle (hinge pin bore), arm, split ring round the rod bore and a
    lug with the clamp-screw bore. Returns (bodies, cutting tools, feature data)."""
    from ..geometry import columns, solids

    hc = min(10.0, 0.5 * g.height_mm)
    k_d = p.hinge_pin_mm + 2 * KNUCKLE_WALL_MM
    ring_wall = BOSS_WALL_MM
    lug_len = g.rod_bore / 2 + ring_wall + 3.0
    back = np.array([-1.0, 0.0])
    knuckle_body = solids.cylinder((knuckle[0], knuckle[1], -hc / 2), (0, 0, 1), k_d, hc)
    arm = columns.bar(knuckle, rod, 0.6 * k_d, -0.35 * hc, 0.35 * hc)
    ring, ring_tool = columns.split_ring(rod, g.rod_bore, ring_wall, -hc / 2, hc / 2, 1.0, back)
    lug = columns.bar(rod, rod + back * lug_len, g.rod_bore + 2 * ring_wall, -hc / 2, hc / 2)
    screw_x = rod[0] - (g.rod_bore / 2 + ring_wall + 1.5)
    width = g.rod_bore + 2 * ring_wall + 2
    clamp_screw = solids.cylinder((screw_x, rod[1] - width / 2, 0.0), (0, 1, 0), 2.0, width)
    pin = solids.cylinder((knuckle[0], knuckle[1], -hc / 2 - 1), (0, 0, 1), p.hinge_pin_mm, hc + 2)
    data = {"hc": hc, "clamp_screw": (screw_x, rod[1] - width / 2)}
    return [knuckle_body, arm, ring, lug], [ring_tool, clamp_screw, pin], data


def build(p: VBRParams, superior_recess: Recess | None = None, inferior_recess: Recess | None = None, *,
          clip_method: str = "approx", clip_samples: int = 21, face_tol_mm: float = 0.01) -> Implant:
    """Build the body replacement. ``superior_recess`` / ``inferior_recess``: optional end-face
    height fields (signature of ``SyntheticEndplate.recess``) replacing the synthetic domes.
    ``clip_method`` / ``clip_samples``: how the end faces are made (``solids.clip_between``;
    ``"interpolate"`` for fields fitted to real endplates); ``face_tol_mm``: largest distance
    of a bearing face from its field when the ``contact.*`` faces are picked."""
    import cadquery as cq

    from ..geometry import columns, solids
    from ..model import Feature

    g = derive(p, superior_recess, inferior_recess)
    span = g.height_mm / 2 + abs(np.tan(np.radians(g.lordosis_deg) / 2)) * g.depth + 20.0
    bodies = [_column(g, p, span, clip_method, clip_samples)]
    tools, features = [], {}

    if p.screw_fixation is ScrewFixation.FLANGE:
        bodies += _flanges(g, p)
    for k, (_, _, centre, direction) in enumerate(g.pedicle, 1):
        bodies.append(columns.boss(centre, direction, g.pedicle_diameter + 2 * BOSS_WALL_MM, 3 * g.pedicle_diameter))
    for centre, _ in g.eyelets:
        eye_d = p.wire_hole_mm + 2 * EYELET_WALL_MM
        bodies.append(solids.cylinder(centre - [0, 0, eye_d / 2], (0, 0, 1), eye_d, eye_d))
    clamp_data = []
    for side, knuckle, rod in g.clamps:
        parts, cut, data = _clamp(g, p, side, knuckle, rod)
        bodies += parts
        tools += cut
        clamp_data.append((side, knuckle, rod, data))
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
    for side, knuckle, rod, data in clamp_data:
        name = "left" if side > 0 else "right"
        hc = data["hc"]
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
