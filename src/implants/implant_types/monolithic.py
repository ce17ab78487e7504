"""Type 8, ``monolithic``: "monolithic" implants reproducing serial devices without connecting
nodes (review refs [42,43]).

One continuous body along a preset 3D rod path, with **branches** ending in screw-head seats
or a **hook**, replacing a bulky or failed assembly of serial rods and connectors.

Variants (``variant``):

* ``lumbosacral-revision`` (Thayaparan et al. [43]): revision of the lumbosacral junction where
  S1 screws were impossible and an anterior approach contraindicated. A lower support base of one
  sacral (S2) and two iliac screws per side: the rod runs down from the lumbar screw heads (a plain
  rod for the existing tulips) to a ring seat on the S2 screw, with one branch to each iliac screw
  ending in a ring seat. One implant per side (the review's "implants ... representing a rod of a
  preset configuration with branches for each of the iliac screws"); build ``side=left`` and
  ``side=right`` for a bilateral construct (there is no cross-link).
* ``iliac-hook`` (Li et al. [42]): the iliac hook and the distal segment of a rib-to-pelvis
  distraction system in one low-profile piece with no parallel connector: a rod from the
  distraction system's distal end down to a flat hook that straddles the iliac crest.

Seats are rings around the screw axis (``seat_outer_diameter_mm`` × ``seat_height_mm``) with a
through bore (``seat_bore_mm``) for the shank and a spherical cup (``seat_head_diameter_mm``) at
the top in which the screw head sits. A seat's named point (``seat.N`` origin) is the centre of
the ring's top face, on the screw axis, where the head's centre sits; the axis points into bone.

Placement: origin on the midline (y = 0) on the dorsal surface of the sacrum at the S1 level,
+x anterior, +y patient-left, +z cranial; a right-side implant mirrors y.

Layer: implant_types (the type's parameters, ``derive``, ``build``, presets and ``TEMPLATE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from ..geometry import paths
from ..geometry.frames import direction_from_angles, unit
from ..model import Feature, Implant, Template
from ..params import ImplantParams, Side, require

if TYPE_CHECKING:
    import cadquery as cq

TYPE_ID = "monolithic"


class Variant(str, Enum):
    """Which serial assembly the one-piece implant replaces."""

    LUMBOSACRAL = "lumbosacral-revision"
    ILIAC_HOOK = "iliac-hook"


class MonolithicParams(ImplantParams):
    """Parameters of the monolithic implant (mm, deg)."""

    variant: Variant = Field(Variant.LUMBOSACRAL, description="Lumbosacral revision rod with S2 and iliac seats [43], or iliac hook + distal distraction segment [42]")
    side: Side = Field(Side.LEFT, description="Patient side of the implant (right mirrors y)")
    rod_diameter_mm: float = Field(5.5, ge=3.5, le=7.0, description="Main rod diameter")
    rod_cranial_mm: float = Field(80.0, ge=20.0, le=200.0, description="How far the rod reaches cranially of S1 (lumbar screw heads) or of the iliac crest (distraction segment)")
    branch_diameter_mm: float = Field(5.0, ge=3.0, le=7.0, description="Branch diameter (below the rod's, so branches start inside the rod)")
    seat_outer_diameter_mm: float = Field(14.0, ge=8.0, le=20.0, description="Outer diameter of a ring seat")
    seat_height_mm: float = Field(9.0, ge=5.0, le=15.0, description="Height of a ring seat along the screw axis")
    seat_bore_mm: float = Field(7.5, ge=3.0, le=9.0, description="Bore of a ring seat (screw shank + clearance)")
    seat_head_diameter_mm: float = Field(10.0, ge=5.0, le=14.0, description="Diameter of the spherical cup for the screw head")
    s2_lateral_mm: float = Field(22.0, ge=12.0, le=40.0, description="S2 screw head distance from the midline")
    s2_z_mm: float = Field(-25.0, ge=-45.0, le=-10.0, description="S2 screw head height (below S1: negative)")
    s2_caudal_deg: float = Field(20.0, ge=0.0, le=45.0, description="Caudal inclination of the S2 (alar) screw")
    s2_lateral_deg: float = Field(35.0, ge=0.0, le=50.0, description="Lateral angulation of the S2 (alar) screw")
    iliac_lateral_mm: float = Field(40.0, ge=20.0, le=70.0, description="Iliac screw heads' distance from the midline (at the posterior superior iliac spine)")
    iliac_z_mm: float = Field(-5.0, ge=-40.0, le=20.0, description="Height of the upper iliac screw head")
    iliac_spacing_mm: float = Field(18.0, ge=10.0, le=40.0, description="Vertical spacing of the two iliac screw heads")
    iliac_dorsal_mm: float = Field(12.0, ge=0.0, le=30.0, description="How far the iliac screw heads lie dorsal of the sacral surface")
    iliac_caudal_deg: float = Field(25.0, ge=0.0, le=50.0, description="Caudal inclination of the iliac screws (towards the anterior inferior iliac spine)")
    iliac_lateral_deg: float = Field(35.0, ge=10.0, le=60.0, description="Lateral angulation of the iliac screws")
    branch_rise_mm: float = Field(12.0, ge=4.0, le=30.0, description="How far above its seat a branch leaves the rod")
    crest_lateral_mm: float = Field(38.0, ge=20.0, le=80.0, description="Iliac crest (hook throat centre) distance from the midline")
    crest_z_mm: float = Field(10.0, ge=-30.0, le=60.0, description="Height of the top of the iliac crest under the hook")
    hook_throat_mm: float = Field(7.0, ge=3.0, le=15.0, description="Hook throat width (iliac crest thickness it straddles)")
    hook_thickness_mm: float = Field(4.0, ge=2.0, le=8.0, description="Hook blade thickness (radial)")
    hook_width_mm: float = Field(8.0, ge=4.0, le=15.0, description="Hook blade width along the crest (antero-posterior)")
    hook_leg_mm: float = Field(6.0, ge=0.0, le=20.0, description="Straight legs of the hook below the throat centre")

    @model_validator(mode="after")
    def _rules(self) -> "MonolithicParams":
        require(self.branch_diameter_mm <= self.rod_diameter_mm - 0.3,
                f"branch_diameter_mm = {self.branch_diameter_mm} must be at least 0.3 mm below rod_diameter_mm = "
                f"{self.rod_diameter_mm} (allowed <= {self.rod_diameter_mm - 0.3:.1f} mm)")
        require(self.seat_head_diameter_mm >= self.seat_bore_mm + 1.0,
                f"seat_head_diameter_mm = {self.seat_head_diameter_mm} must exceed seat_bore_mm = {self.seat_bore_mm} "
                f"by 1 mm so the head bears on the cup (allowed >= {self.seat_bore_mm + 1.0} mm)")
        require(self.seat_outer_diameter_mm >= self.seat_head_diameter_mm + 2.0,
                f"seat_outer_diameter_mm = {self.seat_outer_diameter_mm} leaves under 1 mm wall around "
                f"seat_head_diameter_mm = {self.seat_head_diameter_mm} (allowed >= {self.seat_head_diameter_mm + 2.0} mm)")
        require(self.seat_height_mm >= max(self.seat_head_diameter_mm / 2 + 1.5, self.rod_diameter_mm + 2.0),
                f"seat_height_mm = {self.seat_height_mm} is too low for the cup and the rod entering it "
                f"(allowed >= {max(self.seat_head_diameter_mm / 2 + 1.5, self.rod_diameter_mm + 2.0):.1f} mm)")
        g = derive(self)
        problem = paths.fold_problem(g.rod, self.rod_diameter_mm / 2)
        require(problem is None, f"rod path (rod_cranial_mm, s2_*, crest_*): {problem}")
        for i, seat in enumerate(g.seats, 1):
            if seat.branch is None:
                continue
            clearance = np.linalg.norm(g.rod - seat.centre, axis=1).min()
            need = self.seat_outer_diameter_mm / 2 + self.rod_diameter_mm / 2 + 1.0
            require(clearance >= need,
                    f"seat.{i} ({seat.screw}) lies inside the rod: its ring is {clearance:.1f} mm from the rod axis "
                    f"(allowed >= {need:.1f} mm; move it with iliac_lateral_mm, iliac_dorsal_mm or s2_lateral_mm)")
            problem = paths.fold_problem(seat.branch, self.branch_diameter_mm / 2)
            require(problem is None, f"branch to seat.{i} ({seat.screw}; branch_rise_mm, iliac_*): {problem}")
        for i, a in enumerate(g.seats):
            for j, b in enumerate(g.seats[i + 1:], i + 2):
                gap = np.linalg.norm(a.centre - b.centre)
                require(gap >= self.seat_outer_diameter_mm + 1.0,
                        f"seat.{i + 1} and seat.{j} overlap ({gap:.1f} mm apart, allowed >= "
                        f"{self.seat_outer_diameter_mm + 1.0:.1f} mm: iliac_spacing_mm, s2_z_mm, seat_outer_diameter_mm)")
        if self.variant is Variant.LUMBOSACRAL:
            require(self.iliac_z_mm - self.iliac_spacing_mm + self.branch_rise_mm < self.rod_cranial_mm - 10
                    and self.s2_z_mm < self.iliac_z_mm - self.iliac_spacing_mm + self.branch_rise_mm - 3,
                    "branches must leave the rod between its cranial end and the S2 seat (iliac_z_mm, iliac_spacing_mm, "
                    "branch_rise_mm, s2_z_mm, rod_cranial_mm)")
        return self


@dataclass(frozen=True)
class Seat:
    """A screw-head seat: ``point`` = centre of the ring's top face (head centre) on the screw axis,
    ``axis`` into bone, ``centre`` = mid-height on the axis (where the rod or branch enters)."""

    screw: str
    point: np.ndarray
    axis: np.ndarray
    centre: np.ndarray
    branch: np.ndarray | None  # dense branch centre line from the rod to ``centre`` (None: the rod ends here)


@dataclass(frozen=True)
class MonolithicGeometry:
    rod: np.ndarray                 # dense rod centre line, cranial end first
    rod_end_tangent: np.ndarray
    seats: tuple[Seat, ...]
    hook_centre: np.ndarray | None  # throat centre (top of the iliac crest)
    hook_lateral: np.ndarray | None  # unit vector from the medial to the lateral leg


def _perp(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``v`` with its component along ``axis`` removed, normalised."""
    return unit(v - np.dot(v, axis) * axis)


def derive(p: MonolithicParams) -> MonolithicGeometry:
    """Rod and branch centre lines, seats and hook placement (numpy only)."""
    s = p.side.sign
    half = p.seat_height_mm / 2
    if p.variant is Variant.LUMBOSACRAL:
        s2_axis = direction_from_angles(-p.s2_caudal_deg, -p.s2_lateral_deg, base=(1, 0, 0), side=s)
        s2_point = np.array([-6.0, s * p.s2_lateral_mm, p.s2_z_mm])
        s2_centre = s2_point + half * s2_axis
        top = p.rod_cranial_mm
        control = [(6.0, s * 24.0, top)]
        if top > 45.0:
            control.append((2.0, s * 23.0, 32.0))
        control.append((0.0, s * 22.0, 5.0))
        down = _perp(s2_centre - np.asarray(control[-1]), s2_axis)
        control += [tuple(s2_centre - 12.0 * down), tuple(s2_centre)]
        rod = paths.catmull_rom(control, step_mm=2.0)
        seats = [Seat("S2", s2_point, s2_axis, s2_centre, None)]
        iliac_axis = direction_from_angles(-p.iliac_caudal_deg, -p.iliac_lateral_deg, base=(1, 0, 0), side=s)
        for k, z in enumerate((p.iliac_z_mm, p.iliac_z_mm - p.iliac_spacing_mm)):
            point = np.array([-p.iliac_dorsal_mm, s * p.iliac_lateral_mm, z])
            centre = point + half * iliac_axis
            start = _rod_point_at_z(rod, z + p.branch_rise_mm)
            arrive = _perp(centre - start, iliac_axis)
            approach = min(8.0, 0.3 * np.linalg.norm(centre - start))
            branch = paths.catmull_rom([start, centre - approach * arrive, centre], step_mm=1.5)
            seats.append(Seat(f"iliac {('upper', 'lower')[k]}", point, iliac_axis, centre, branch))
        return MonolithicGeometry(rod, down, tuple(seats), None, None)
    lateral = np.array([0.0, float(s), 0.0])
    centre_radius = p.hook_throat_mm / 2 + p.hook_thickness_mm / 2
    crest = np.array([-6.0, s * p.crest_lateral_mm, p.crest_z_mm])
    apex = crest + np.array([0.0, 0.0, centre_radius])
    top = p.crest_z_mm + p.rod_cranial_mm
    control = [(-10.0, s * 26.0, top), (-10.0, s * 27.0, top - 0.35 * p.rod_cranial_mm),
               tuple(apex + [0.0, 0.0, min(15.0, 0.3 * p.rod_cranial_mm)]), tuple(apex)]
    rod = paths.catmull_rom(control, step_mm=2.0)
    return MonolithicGeometry(rod, np.array([0.0, 0.0, -1.0]), (), crest, lateral)


def _rod_point_at_z(rod: np.ndarray, z: float) -> np.ndarray:
    """Point of the (cranio-caudally monotonic) rod centre line at height ``z``."""
    order = np.argsort(rod[:, 2])
    zs = rod[order, 2]
    z = float(np.clip(z, zs[0], zs[-1]))
    return np.array([np.interp(z, zs, rod[order, k]) for k in range(3)])


def build(p: MonolithicParams) -> Implant:
    """Build the one-piece implant B-rep with its named features."""
    import cadquery as cq  # the kernel only when building: `implants list` imports this module

    from ..geometry import solids

    g = derive(p)
    parts = [paths.tube(g.rod, p.rod_diameter_mm, what="rod")]
    features = {}
    for i, seat in enumerate(g.seats, 1):
        if seat.branch is not None:
            parts.append(paths.tube(seat.branch, p.branch_diameter_mm, what=f"branch to seat.{i}"))
        parts.append(solids.cylinder(seat.point, seat.axis, p.seat_outer_diameter_mm, p.seat_height_mm))
    if g.hook_centre is not None:
        parts.append(_hook(p, g))
    body = solids.single_solid(solids.fuse_all(parts), "monolithic body")
    tools = []
    for seat in g.seats:
        tools.append(solids.channel(seat.point, seat.axis, p.seat_bore_mm, p.seat_height_mm))
        tools.append(cq.Solid.makeSphere(p.seat_head_diameter_mm / 2, cq.Vector(*seat.point), angleDegrees1=-90,
                                         angleDegrees2=90))
    shape = solids.single_solid(solids.cut_all(body, tools), TYPE_ID)

    branch_no = 0
    for i, seat in enumerate(g.seats, 1):
        features[f"seat.{i}"] = Feature(f"seat.{i}", "channel", tuple(seat.point), tuple(seat.axis),
                                        diameter_mm=p.seat_bore_mm, length_mm=p.seat_height_mm,
                                        info={"screw": seat.screw, "head_diameter_mm": p.seat_head_diameter_mm,
                                              "outer_diameter_mm": p.seat_outer_diameter_mm,
                                              "on": "rod end" if seat.branch is None else "branch"})
        if seat.branch is not None:
            branch_no += 1
            b = seat.branch
            features[f"branch.{branch_no}"] = Feature(
                f"branch.{branch_no}", "point", tuple(b[0]), tuple(b[1] - b[0]), diameter_mm=p.branch_diameter_mm,
                length_mm=paths.polyline_length(b), info={"to": f"seat.{i}"})
    features["rod"] = Feature("rod", "point", tuple(g.rod[0]), tuple(g.rod[1] - g.rod[0]),
                              diameter_mm=p.rod_diameter_mm, length_mm=paths.polyline_length(g.rod),
                              info={"points_mm": [[round(float(v), 3) for v in q] for q in g.rod[::3]] +
                                    [[round(float(v), 3) for v in g.rod[-1]]],
                                    "branches": branch_no})
    if g.hook_centre is not None:
        features["hook"] = Feature("hook", "point", tuple(g.hook_centre), (0.0, 0.0, -1.0),
                                   diameter_mm=p.hook_throat_mm,
                                   info={"opening": "caudal", "straddles": "iliac crest",
                                         "lateral": [float(v) for v in g.hook_lateral],
                                         "leg_mm": p.hook_leg_mm, "blade_width_mm": p.hook_width_mm,
                                         "blade_thickness_mm": p.hook_thickness_mm})
    metrics = {"branches": branch_no, "seats": len(g.seats),
               "rod_length_mm": round(paths.polyline_length(g.rod), 2), "variant": p.variant.value}
    return Implant(TYPE_ID, p, shape, features, metrics=metrics)


def _hook(p: MonolithicParams, g: MonolithicGeometry) -> "cq.Solid":
    """Flat hook straddling the iliac crest: a rounded-rectangle blade swept along a half circle
    over the crest (in the coronal plane) with straight legs on both sides."""
    r = p.hook_throat_mm / 2 + p.hook_thickness_mm / 2
    start = g.hook_centre - r * g.hook_lateral
    up = np.array([0.0, 0.0, 1.0])
    wire = paths.arc_wire(start, up, g.hook_lateral, r, 180.0, lead_in_mm=p.hook_leg_mm, lead_out_mm=p.hook_leg_mm)
    origin = start - p.hook_leg_mm * up if p.hook_leg_mm > paths.MIN_LEAD_MM else start
    profile = paths.profile_wire(paths.Section.ROUNDED_RECTANGLE, p.hook_width_mm, p.hook_thickness_mm,
                                 min(1.5, p.hook_thickness_mm / 2 - 0.2), origin, up, (1.0, 0.0, 0.0))
    return paths.sweep(profile, wire, binormal=(1.0, 0.0, 0.0), what="iliac hook")


PRESETS = {
    "lumbosacral-revision-left": dict(variant="lumbosacral-revision", side="left"),
    "lumbosacral-revision-right": dict(variant="lumbosacral-revision", side="right"),
    "iliac-hook-infant": dict(variant="iliac-hook", side="left", rod_diameter_mm=4.5, branch_diameter_mm=4.0,
                              rod_cranial_mm=70.0, crest_lateral_mm=38.0, crest_z_mm=10.0, hook_throat_mm=6.0,
                              hook_thickness_mm=3.5, hook_width_mm=7.0, hook_leg_mm=5.0),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Monolithic rod with branches",
    review_wording='"monolithic" implants reproducing serial devices without connecting nodes [42,43]',
    description=("One continuous low-profile body along a preset rod path with branches ending in screw-head seats "
                 "or a hook, replacing serial rods and connectors: a lumbosacral revision rod with an S2 seat and "
                 "branches to two iliac screws per side [43]; an iliac hook joined to the distal segment of a "
                 "rib-to-pelvis distraction system without a connector [42]."),
    params=MonolithicParams,
    presets=PRESETS,
    build=build,
    default_preset="lumbosacral-revision-left",
)
