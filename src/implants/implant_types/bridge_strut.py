"""Type 7, ``bridge-strut``: bridge-like anterior implant (review refs [9,46], Willemsen et al.).

Restores anterior load bearing over many osteolytic vertebral bodies (neurofibromatosis,
Gorham's disease; C7–T10 reported) after posterior stabilisation: a **column that follows the
spinal curve** through the anterior column, with a **contact platform** at each end, one bearing
on the inferior endplate of the superior unaffected vertebra and one on the superior endplate of
the inferior unaffected vertebra, each fixed by **screws** into that vertebral body through a
flange lying on the body's anterior (or lateral) surface.

The curve is either a circular arc (``curve_radius_mm``; the default bends towards +x, i.e. a
kyphosis) whose length is the bridged span computed from the level heights, or a list of points
(``path_points_mm``) through the anterior column. The cross-section is round, oval or a rounded
rectangle (``section``).

Placement: origin at the centre of the inferior contact face (the centre of the superior
endplate of the inferior unaffected vertebra, T11 by default); that vertebra's axis is +z, +x
anterior, +y patient-left. With ``path_points_mm`` the points are shifted so the first one sits
at the origin; the inferior platform is normal to the path's first tangent.

Level heights (``LEVELS``): rounded adult vertebral body heights, endplate depths and widths and
disc heights within the ranges of published morphometry (e.g. Panjabi et al., Spine 1991;16:888
and 1992;17:299 for the cervical and thoracic spine). They are illustrative defaults, not patient
data; ``span_mm`` overrides the computed span.

This module is the type's entry (layer: implant_types): parameters, ``derive``, ``build``, presets and
``TEMPLATE``; the end frames and the record of derived numbers are in ``bridge_strut_geometry``.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from ..geometry import paths
from ..geometry.frames import unit
from ..geometry.paths import Section
from ..model import Feature, Implant, Template
from ..params import ImplantParams, require
from .bridge_strut_geometry import BridgeGeometry, EndFrame, minimal_rotation

if TYPE_CHECKING:
    import cadquery as cq

TYPE_ID = "bridge-strut"

#: Vertebra → (body height, endplate depth AP, endplate width ML, height of the disc below it), mm.
#: Rounded adult values (see the module docstring); the disc below L5 is the L5–S1 disc.
LEVELS: dict[str, tuple[float, float, float, float]] = {
    "C3": (14.0, 16.0, 17.0, 5.0), "C4": (14.0, 16.0, 18.0, 5.0), "C5": (13.5, 16.0, 19.0, 5.0),
    "C6": (13.5, 17.0, 21.0, 5.0), "C7": (15.0, 17.0, 23.0, 4.5), "T1": (16.0, 17.0, 25.0, 4.0),
    "T2": (17.0, 18.0, 25.0, 4.0), "T3": (17.5, 20.0, 25.0, 4.0), "T4": (18.0, 22.0, 26.0, 4.5),
    "T5": (18.5, 24.0, 27.0, 4.5), "T6": (19.0, 25.0, 29.0, 5.0), "T7": (19.5, 27.0, 31.0, 5.0),
    "T8": (20.0, 28.0, 32.0, 5.0), "T9": (20.5, 29.0, 34.0, 5.5), "T10": (21.5, 30.0, 36.0, 5.5),
    "T11": (22.5, 31.0, 39.0, 6.0), "T12": (23.5, 32.0, 42.0, 7.0), "L1": (25.0, 33.0, 44.0, 9.0),
    "L2": (26.0, 34.0, 46.0, 10.0), "L3": (27.0, 35.0, 48.0, 10.0), "L4": (27.0, 35.0, 50.0, 11.0),
    "L5": (26.0, 35.0, 51.0, 11.0),
}
LEVEL_NAMES = tuple(LEVELS)

Level = Enum("Level", {name: name for name in LEVEL_NAMES}, type=str)
Level.__doc__ = "Vertebral level (C3 to L5)."


class FixationSide(str, Enum):
    """Surface of the fixation vertebrae on which the screw flanges lie (the approach side)."""

    ANTERIOR = "anterior"
    LEFT = "left"
    RIGHT = "right"


#: Most levels a bridge may span (C7–T10 is 11; the table allows longer).
MAX_BRIDGED_LEVELS = 16


class BridgeStrutParams(ImplantParams):
    """Parameters of the bridge strut (mm, deg)."""

    bridged_from: Level = Field(Level.C7, description="Most superior bridged (osteolytic) vertebra; the upper platform bears on the inferior endplate of the vertebra above it")
    bridged_to: Level = Field(Level.T10, description="Most inferior bridged vertebra; the lower platform bears on the superior endplate of the vertebra below it")
    span_mm: float | None = Field(None, ge=20.0, le=600.0, description="Endplate-to-endplate length along the path (default: sum of bridged body and disc heights)")
    curve_radius_mm: float = Field(300.0, ge=60.0, le=5000.0, description="Radius of the kyphotic arc the column follows (centre anterior, +x)")
    path_points_mm: tuple[tuple[float, float, float], ...] | None = Field(None, min_length=2, max_length=64, description="Centre line through the anterior column from the inferior to the superior contact centre (overrides the arc)")
    section: Section = Field(Section.ROUND, description="Cross-section of the column")
    section_width_mm: float = Field(12.0, ge=4.0, le=30.0, description="Column width (medio-lateral; the diameter of a round section)")
    section_depth_mm: float = Field(10.0, ge=4.0, le=30.0, description="Column depth (antero-posterior) of oval and rounded-rectangle sections")
    section_corner_radius_mm: float = Field(2.5, ge=0.0, le=10.0, description="Corner radius of the rounded-rectangle section")
    platform_thickness_mm: float = Field(4.0, ge=2.0, le=10.0, description="Thickness of each contact platform")
    platform_fraction: float = Field(0.85, ge=0.5, le=1.0, description="Platform size as a fraction of the endplate depth and width")
    screws_per_platform: int = Field(2, ge=0, le=3, description="Screws through each platform's flange into the vertebral body (0: no flange)")
    screw_diameter_mm: float = Field(4.0, ge=2.5, le=6.5, description="Screw channel diameter")
    screw_convergence_deg: float = Field(10.0, ge=0.0, le=30.0, description="Convergence of the outer screws towards the body's centre")
    fixation_side: FixationSide = Field(FixationSide.ANTERIOR, description="Body surface the screw flanges lie on")
    flange_height_mm: float = Field(11.0, ge=6.0, le=25.0, description="Flange extension along the fixation vertebra beyond the bearing face")
    flange_thickness_mm: float = Field(3.0, ge=1.5, le=6.0, description="Flange thickness")
    flange_width_mm: float = Field(15.0, ge=6.0, le=40.0, description="Flange width across the body surface")

    @model_validator(mode="after")
    def _rules(self) -> "BridgeStrutParams":
        i, j = LEVEL_NAMES.index(self.bridged_from.value), LEVEL_NAMES.index(self.bridged_to.value)
        require(i <= j, f"bridged_from = {self.bridged_from.value} must be at or above bridged_to = {self.bridged_to.value}")
        require(0 < i and j < len(LEVEL_NAMES) - 1,
                f"bridged_from/bridged_to = {self.bridged_from.value}-{self.bridged_to.value} need an unaffected vertebra above "
                f"and below within {LEVEL_NAMES[0]}-{LEVEL_NAMES[-1]} (allowed bridged_from {LEVEL_NAMES[1]} to "
                f"{LEVEL_NAMES[-2]}, bridged_to {LEVEL_NAMES[1]} to {LEVEL_NAMES[-2]})")
        require(j - i + 1 <= MAX_BRIDGED_LEVELS,
                f"bridged_from-bridged_to spans {j - i + 1} levels (allowed 1 to {MAX_BRIDGED_LEVELS})")
        span = span_length(self)
        require(self.path_points_mm is not None or span - 2 * self.platform_thickness_mm >= 10.0,
                f"span_mm = {span:.1f} leaves under 10 mm of column between the platforms "
                f"(allowed >= 2 x platform_thickness_mm + 10 = {2 * self.platform_thickness_mm + 10:.1f} mm)")
        g = derive(self)
        half_w, half_d = self.section_width_mm / 2, self._depth() / 2
        require(self.section_width_mm <= min(g.platform_sizes[0][1], g.platform_sizes[1][1]) - 2.0
                and self._depth() <= min(g.platform_sizes[0][0], g.platform_sizes[1][0]) - 2.0,
                f"section_width_mm x section_depth_mm = {self.section_width_mm} x {self._depth()} mm does not fit on the "
                f"platforms ({g.platform_sizes[1][0]:.1f} x {g.platform_sizes[1][1]:.1f} mm superior, "
                f"{g.platform_sizes[0][0]:.1f} x {g.platform_sizes[0][1]:.1f} mm inferior) with 1 mm margins")
        if self.path_points_mm is None:
            require(g.kyphosis_deg <= 150.0,
                    f"curve_radius_mm = {self.curve_radius_mm} over a span of {g.path_length_mm:.0f} mm bends the column by "
                    f"{g.kyphosis_deg:.0f} deg (allowed <= 150 deg: the path would fold back on itself)")
            require(self.curve_radius_mm >= 1.5 * max(half_w, half_d) + 1e-9,
                    f"curve_radius_mm = {self.curve_radius_mm} is tighter than the section allows (>= 1.5 x half its size)")
        else:
            pts = np.asarray(self.path_points_mm, float)
            problem = paths.fold_problem(g.centre_line, max(half_w, half_d))
            require(problem is None, f"path_points_mm: {problem}")
            ends = np.linalg.norm(pts[1] - pts[0]), np.linalg.norm(pts[-1] - pts[-2])
            require(min(ends) > 2 * self.platform_thickness_mm,
                    f"path_points_mm: the first and last segments ({min(ends):.1f} mm) must be longer than "
                    f"2 x platform_thickness_mm = {2 * self.platform_thickness_mm} mm")
        if self.screws_per_platform:
            needed = self.screws_per_platform * (self.screw_diameter_mm + 2.0)
            require(self.flange_width_mm >= needed,
                    f"flange_width_mm = {self.flange_width_mm} is too narrow for screws_per_platform = "
                    f"{self.screws_per_platform} of screw_diameter_mm = {self.screw_diameter_mm} (allowed >= {needed:.1f} mm)")
            require(self.flange_height_mm >= self.screw_diameter_mm + 4.0,
                    f"flange_height_mm = {self.flange_height_mm} leaves no wall around screw_diameter_mm = "
                    f"{self.screw_diameter_mm} (allowed >= {self.screw_diameter_mm + 4.0} mm)")
            shortest = min(g.fixation_heights)
            require(self.flange_height_mm <= 0.85 * shortest,
                    f"flange_height_mm = {self.flange_height_mm} is longer than the fixation vertebra's body allows "
                    f"(allowed <= {0.85 * shortest:.1f} mm, 85 % of its {shortest} mm height)")
        return self

    def _depth(self) -> float:
        return self.section_width_mm if self.section is Section.ROUND else self.section_depth_mm


def span_length(p: BridgeStrutParams) -> float:
    """Endplate-to-endplate length (mm): bridged body heights plus the discs above, between and below."""
    if p.span_mm is not None:
        return p.span_mm
    i, j = LEVEL_NAMES.index(p.bridged_from.value), LEVEL_NAMES.index(p.bridged_to.value)
    bodies = sum(LEVELS[n][0] for n in LEVEL_NAMES[i:j + 1])
    discs = sum(LEVELS[n][3] for n in LEVEL_NAMES[i - 1:j + 1])  # disc below each vertebra from the one above
    return float(bodies + discs)


def derive(p: BridgeStrutParams) -> BridgeGeometry:
    """Centre line, end frames, platform sizes and screw axes (numpy only)."""
    i, j = LEVEL_NAMES.index(p.bridged_from.value), LEVEL_NAMES.index(p.bridged_to.value)
    i, j = max(i, 1), min(max(j, i), len(LEVEL_NAMES) - 2)  # validator reports bad spans
    sup_level, inf_level = LEVEL_NAMES[i - 1], LEVEL_NAMES[j + 1]
    if p.path_points_mm is None:
        # straight through each platform's thickness, a circular arc between the platforms
        t = p.platform_thickness_mm
        inner = span_length(p) - 2 * t
        n = max(9, int(np.ceil(inner / 5.0)) + 1)
        bend = paths.arc_points(p.curve_radius_mm, np.degrees(inner / p.curve_radius_mm), n, start=(0.0, 0.0, t))
        a = inner / p.curve_radius_mm
        t0, t1 = np.array([0.0, 0.0, 1.0]), np.array([np.sin(a), 0.0, np.cos(a)])
        line = np.vstack([[0.0, 0.0, 0.0], bend, bend[-1] + t * t1])
        arc = True
    else:
        pts = np.asarray(p.path_points_mm, float)
        line = paths.catmull_rom(pts - pts[0], step_mm=3.0)
        t0, t1 = unit(line[1] - line[0]), unit(line[-1] - line[-2])
        arc = False
    ant0 = np.array([1.0, 0.0, 0.0]) - np.dot([1.0, 0.0, 0.0], t0) * t0
    if np.linalg.norm(ant0) < 1e-6:
        ant0 = np.array([0.0, 0.0, -1.0])
    ant0 = unit(ant0)
    ant1 = minimal_rotation(t0, t1) @ ant0
    inferior = EndFrame(line[0], t0, ant0, +1)
    superior = EndFrame(line[-1], t1, ant1, -1)
    if arc:  # the arc's own turn (arccos of the end tangents would wrap beyond 180°)
        kyphosis = float(np.degrees((span_length(p) - 2 * p.platform_thickness_mm) / p.curve_radius_mm))
    else:
        kyphosis = float(np.degrees(np.arccos(np.clip(np.dot(t0, t1), -1, 1))))
    sizes = []
    for level in (inf_level, sup_level):
        _, depth, width, _ = LEVELS[level]
        sizes.append((p.platform_fraction * depth, p.platform_fraction * width))
    outward = {"anterior": np.array([1.0, 0.0, 0.0]), "left": np.array([0.0, 1.0, 0.0]),
               "right": np.array([0.0, -1.0, 0.0])}[p.fixation_side.value]
    across = np.array([-outward[1], outward[0], 0.0])
    screws = []
    for end, frame, level in (("inferior", inferior, inf_level), ("superior", superior, sup_level)):
        _, depth, width, _ = LEVELS[level]
        half = depth / 2 if p.fixation_side is FixationSide.ANTERIOR else width / 2
        k = p.screws_per_platform
        spacing = p.flange_width_mm / max(k, 1)
        for s in range(k):
            offset = (s - (k - 1) / 2) * spacing
            local_entry = outward * (half + p.flange_thickness_mm) + across * offset \
                + np.array([0.0, 0.0, -frame.sign * p.flange_height_mm / 2])
            c = np.radians(p.screw_convergence_deg) * (np.sign(-offset) if abs(offset) > 1e-9 else 0.0)
            local_dir = -outward * np.cos(c) + across * np.sin(c)
            entry = frame.to_global(local_entry)
            direction = frame.to_global(local_dir) - frame.centre
            screws.append((entry, unit(direction), end))
    length = span_length(p) if arc else paths.polyline_length(line)
    return BridgeGeometry(line, length, kyphosis, arc,
                          inferior, superior, (sizes[0], sizes[1]), (inf_level, sup_level),
                          (LEVELS[inf_level][0], LEVELS[sup_level][0]),
                          ((LEVELS[inf_level][1], LEVELS[inf_level][2]), (LEVELS[sup_level][1], LEVELS[sup_level][2])),
                          tuple(screws), (outward, outward))


def _transform(shape: "cq.Shape", frame: EndFrame) -> "cq.Shape":
    """Move a shape built in canonical coordinates (see :meth:`EndFrame.to_global`) into place."""
    import cadquery as cq

    plane = cq.Plane(origin=cq.Vector(*frame.centre), xDir=cq.Vector(*frame.anterior), normal=cq.Vector(*frame.up))
    return shape.moved(cq.Location(plane))


def _end_block(p: BridgeStrutParams, g: BridgeGeometry, which: int) -> "cq.Shape":
    """Platform (+ flange) of one end in canonical coordinates: bearing face at z = 0, implant on
    the side ``sign``·z > 0, flange reaching ``flange_height_mm`` into the fixation vertebra's side."""
    from ..geometry import solids

    frame = (g.inferior, g.superior)[which]
    depth, width = g.platform_sizes[which]
    end_depth, end_width = g.endplate_sizes[which]
    s, t = frame.sign, p.platform_thickness_mm
    z0, z1 = min(0.0, s * t), max(0.0, s * t)
    parts = [solids.rounded_box(depth, width, 0.3 * min(depth, width), z0, z1)]
    if p.screws_per_platform:
        out = g.flange_out[which]
        anterior = p.fixation_side is FixationSide.ANTERIOR
        half_platform = (depth if anterior else width) / 2
        half_body = (end_depth if anterior else end_width) / 2
        tf, wf = p.flange_thickness_mm, p.flange_width_mm
        # bridge from inside the platform out to the body surface, in the platform's thickness
        reach = half_body + tf - (half_platform - 1.0)
        centre = out * (half_platform - 1.0 + reach / 2)
        size = (reach, wf) if anterior else (wf, reach)
        parts.append(solids.rounded_box(*size, 1.0, z0, z1, centre=(centre[0], centre[1])))
        # the leg on the body surface, from the platform's far face into the vertebra's side
        centre = out * (half_body + tf / 2)
        size = (tf, wf) if anterior else (wf, tf)
        lz0, lz1 = (min(s * t, -s * p.flange_height_mm), max(s * t, -s * p.flange_height_mm))
        parts.append(solids.rounded_box(*size, 1.0, lz0, lz1, centre=(centre[0], centre[1])))
    return solids.fuse_all(parts)


def _column(p: BridgeStrutParams, g: BridgeGeometry) -> "cq.Solid":
    """The column swept along the centre line, starting and ending half a platform deep inside
    the platforms (so it fuses with volume overlap, not face contact)."""
    half = p.platform_thickness_mm / 2
    if g.arc:
        inner = (g.path_length_mm - 2 * p.platform_thickness_mm) / p.curve_radius_mm
        start = g.inferior.centre + 2 * half * g.inferior.up
        wire = paths.arc_wire(start, g.inferior.up, (1, 0, 0), p.curve_radius_mm, np.degrees(inner),
                              lead_in_mm=half, lead_out_mm=half)
        binormal = (0.0, 1.0, 0.0)
        origin = start - half * g.inferior.up
    else:
        line = g.centre_line
        a = g.inferior.centre + half * g.inferior.up
        b = g.superior.centre - half * g.superior.up
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
        keep = (s > 2 * half) & (s < s[-1] - 2 * half)
        pts = np.vstack([a, line[keep], b])
        wire = paths.spline_wire(pts)
        centred = line - line.mean(axis=0)
        normal = np.linalg.svd(centred)[2][-1]
        planar = np.abs(centred @ normal).max() < 1e-6
        binormal = normal if planar else None
        origin = a
    profile = paths.profile_wire(p.section, p.section_width_mm, p._depth(), p.section_corner_radius_mm,
                                 origin, g.inferior.up, g.inferior.left)
    return paths.sweep(profile, wire, binormal=binormal, what="bridge column")


def build(p: BridgeStrutParams) -> Implant:
    """Build the bridge strut B-rep with its named features."""
    from ..geometry import solids  # the kernel only when building: `implants list` imports this module

    g = derive(p)
    column = _column(p, g)
    ends = [_transform(_end_block(p, g, k), (g.inferior, g.superior)[k]) for k in (0, 1)]
    body = solids.single_solid(solids.fuse_all([column, *ends]), "bridge strut")
    tools, features = [], {}
    for n, (entry, direction, end) in enumerate(g.screws, 1):
        length = p.flange_thickness_mm / abs(np.cos(np.radians(p.screw_convergence_deg))) if p.screw_convergence_deg else p.flange_thickness_mm
        tools.append(solids.channel(entry, direction, p.screw_diameter_mm, length))
        features[f"screw.{n}"] = Feature(f"screw.{n}", "channel", tuple(entry), tuple(direction),
                                         diameter_mm=p.screw_diameter_mm, length_mm=length,
                                         info={"end": end, "vertebra": g.fixation_levels[0 if end == "inferior" else 1]})
    shape = solids.single_solid(solids.cut_all(body, tools), TYPE_ID)

    for name, frame, level in (("contact.inferior", g.inferior, g.fixation_levels[0]),
                               ("contact.superior", g.superior, g.fixation_levels[1])):
        normal = frame.outward
        faces = tuple(f for f in shape.Faces() if f.geomType() == "PLANE"
                      and np.dot(f.normalAt().toTuple(), normal) > 0.999
                      and abs(np.dot(np.asarray(f.Center().toTuple()) - frame.centre, normal)) < 1e-3)
        features[name] = Feature(name, "surface", tuple(frame.centre), tuple(normal), faces=faces,
                                 info={"vertebra": level, "endplate": "superior" if frame.sign > 0 else "inferior"})
    features["path"] = Feature("path", "point", tuple(g.inferior.centre), tuple(g.inferior.up),
                               length_mm=g.path_length_mm,
                               info={"points_mm": [[round(float(v), 3) for v in q] for q in g.centre_line],
                                     "radius_mm": p.curve_radius_mm if g.arc else None,
                                     "kyphosis_deg": round(g.kyphosis_deg, 4)})
    metrics = {"path_length_mm": round(g.path_length_mm, 3), "kyphosis_deg": round(g.kyphosis_deg, 3),
               "fixation_levels": {"superior": g.fixation_levels[1], "inferior": g.fixation_levels[0]},
               "bridged_levels": f"{p.bridged_from.value}-{p.bridged_to.value}"}
    return Implant(TYPE_ID, p, shape, features, metrics=metrics)


PRESETS = {
    # Willemsen et al.'s longest reconstruction: osteolysis C7–T10, fixed to C6 and T11.
    "cervicothoracic-c7-t10": dict(bridged_from="C7", bridged_to="T10", curve_radius_mm=300.0),
    "thoracic-t5-t9-oval": dict(bridged_from="T5", bridged_to="T9", curve_radius_mm=250.0, section="oval",
                                section_width_mm=14.0, section_depth_mm=10.0, screw_diameter_mm=5.0),
    "thoracolumbar-t11-l2-lateral": dict(bridged_from="T11", bridged_to="L2", curve_radius_mm=400.0,
                                         section="rounded-rectangle", section_width_mm=16.0, section_depth_mm=12.0,
                                         fixation_side="left", screw_diameter_mm=5.5, flange_width_mm=20.0,
                                         flange_height_mm=14.0),
    "thoracic-points": dict(bridged_from="T3", bridged_to="T8",
                            path_points_mm=((0.0, 0.0, 0.0), (3.0, 0.0, 40.0), (12.0, 0.0, 80.0), (26.0, 0.0, 118.0),
                                            (44.0, 0.0, 150.0))),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Bridge-like anterior strut",
    review_wording="bridge-like anterior implants [9,46]",
    description=("A column through the anterior column that follows the spinal (kyphotic) curve over many osteolytic "
                 "levels (neurofibromatosis, Gorham's disease; C7–T10 reported), with contact platforms on the "
                 "endplates of the unaffected vertebrae above and below, fixed by screws into their bodies."),
    params=BridgeStrutParams,
    presets=PRESETS,
    build=build,
    default_preset="cervicothoracic-c7-t10",
)
