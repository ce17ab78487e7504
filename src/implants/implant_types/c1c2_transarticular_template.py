"""Type 2, ``c1c2-transarticular-template``: implantable guide for C1–C2 transarticular (Magerl)
arthrodesis (review refs [14, 17]).

A frame fixed by screws to the posterior arch of the atlas, resting on the posterior structures, that
carries two cylindrical guide tubes on the transarticular trajectories: each tube's bore is the screw
diameter plus a clearance and its axis runs from the screw entry on the C2 inferior articular process
through the C1–C2 joint into the C1 lateral mass. An optional pad rests on the C2 spinous process: a
template resting on the lamina alone rotates about the arch (published lesson), a third support stops it.

Trajectory angles: ``sagittal_deg`` is the elevation of the screw above the axial (horizontal) plane,
``medial_deg`` its turn towards the midline within the axial plane (screw heading anteriorly).

Placement: origin on the midline at the height of the two screw entry points, midway between them;
the entries are at (0, ±``entry_spacing_mm``/2, 0) on the posterior surface of the C2 inferior articular
processes; +x anterior, +y patient-left, +z superior. The C1 posterior arch's posterior surface lies at
x = ``arch_offset_x_mm`` (negative: posterior), centred at z = ``arch_offset_z_mm``; defaults are measured
on the adult C1–C2 meshes in ``anatomy/`` (entry ~3 mm above the C2–C3 facet, 13 mm from the midline).

Layer: implant_types (the type's parameters, ``derive``, ``build``, presets and ``TEMPLATE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from ..errors import GeometryError
from ..geometry import outlines, plates
from ..geometry.frames import direction_from_angles, unit
from ..model import Feature, Implant, Template
from ..params import ImplantParams, require

TYPE_ID = "c1c2-transarticular-template"
#: Thinnest wall around a hole in the arch plate or pad (mm).
MIN_WALL_MM = 1.0
#: Least gap between a leg's round end and an arch screw hole in the plate (mm).
LEG_HOLE_GAP_MM = 0.1


class TransarticularParams(ImplantParams):
    """Parameters of the C1–C2 transarticular template (mm, deg)."""

    screw_diameter_mm: float = Field(3.5, ge=2.5, le=4.5, description="Transarticular screw diameter")
    clearance_mm: float = Field(0.3, ge=0.0, le=1.0, description="Diametral clearance of the guide bore over the screw")
    bore_diameter_mm: float | None = Field(None, ge=2.0, le=6.0, description="Guide bore diameter (default screw_diameter_mm + clearance_mm)")
    sagittal_deg: float = Field(57.0, ge=35.0, le=75.0, description="Trajectory elevation above the axial plane (Magerl ~57)")
    medial_deg: float = Field(8.0, ge=-5.0, le=20.0, description="Trajectory turn towards the midline in the axial plane")
    screw_length_mm: float = Field(39.0, ge=25.0, le=50.0, description="Screw length from the entry into the C1 lateral mass")
    entry_spacing_mm: float = Field(26.0, ge=16.0, le=40.0, description="Distance between the two screw entry points (y)")
    tube_length_mm: float = Field(10.0, ge=4.0, le=25.0, description="Length of each guide tube")
    tube_wall_mm: float = Field(1.5, ge=0.8, le=3.0, description="Wall thickness of the guide tubes")
    tube_standoff_mm: float = Field(2.0, ge=0.0, le=10.0, description="Gap between the tube tip and the entry point along the axis")
    arch_offset_x_mm: float = Field(-14.0, ge=-30.0, le=-5.0, description="x of the C1 posterior arch's posterior surface at the midline")
    arch_offset_z_mm: float = Field(21.0, ge=10.0, le=35.0, description="z of the centre of the C1 posterior arch above the entries")
    arch_curve_radius_mm: float = Field(20.0, ge=10.0, le=80.0, description="Axial-plane curvature radius of the posterior arch the plate follows")
    arch_plate_width_mm: float = Field(30.0, ge=12.0, le=50.0, description="Width (y) of the plate on the posterior arch")
    arch_plate_height_mm: float = Field(8.0, ge=5.0, le=14.0, description="Height (z) of the plate on the posterior arch")
    plate_thickness_mm: float = Field(3.0, ge=1.5, le=5.0, description="Thickness of the arch plate and of the spinous pad")
    arch_screw_count: int = Field(2, ge=1, le=4, description="Fixation screws into the posterior arch")
    arch_screw_spacing_mm: float = Field(16.0, ge=4.0, le=40.0, description="Distance between the outermost arch fixation screws")
    arch_screw_diameter_mm: float = Field(2.0, ge=1.5, le=3.5, description="Arch fixation screw diameter")
    leg_diameter_mm: float = Field(4.0, ge=2.5, le=6.0, description="Diameter of the legs joining the tubes to the arch plate")
    spinous_pad: bool = Field(True, description="Pad resting on the C2 spinous process (rotational stability)")
    pad_x_mm: float = Field(-12.0, ge=-30.0, le=-3.0, description="x of the pad centre on the C2 spinous process")
    pad_z_mm: float = Field(9.0, ge=0.0, le=20.0, description="z of the pad's bone-facing face at its centre")
    pad_length_mm: float = Field(10.0, ge=5.0, le=20.0, description="Pad extent along the spinous process (x)")
    pad_width_mm: float = Field(8.0, ge=4.0, le=16.0, description="Pad extent across the spinous process (y)")
    pad_tilt_deg: float = Field(15.0, ge=-10.0, le=45.0, description="Pad slope, face dropping posteriorly like the spinous process")

    @model_validator(mode="after")
    def _rules(self) -> "TransarticularParams":
        bore = self.bore
        require(bore >= self.screw_diameter_mm,
                f"bore_diameter_mm = {bore} is smaller than screw_diameter_mm = {self.screw_diameter_mm} "
                "(allowed >= screw_diameter_mm)")
        span = self.arch_screw_spacing_mm if self.arch_screw_count > 1 else 0.0
        require(span + self.arch_screw_diameter_mm + 2 * MIN_WALL_MM <= self.arch_plate_width_mm,
                f"arch_screw_spacing_mm = {self.arch_screw_spacing_mm} with arch_screw_diameter_mm = "
                f"{self.arch_screw_diameter_mm} leaves < {MIN_WALL_MM} mm to the edge of arch_plate_width_mm = "
                f"{self.arch_plate_width_mm}")
        if self.arch_screw_count > 1:
            pitch = self.arch_screw_spacing_mm / (self.arch_screw_count - 1)
            require(pitch >= self.arch_screw_diameter_mm + MIN_WALL_MM,
                    f"arch_screw_spacing_mm = {self.arch_screw_spacing_mm} for arch_screw_count = {self.arch_screw_count} "
                    f"puts the arch screws {pitch:.2f} mm apart: holes of arch_screw_diameter_mm = "
                    f"{self.arch_screw_diameter_mm} need >= {self.arch_screw_diameter_mm + MIN_WALL_MM:.2f} mm "
                    f"(diameter + {MIN_WALL_MM} mm wall)")
        require(self.arch_screw_diameter_mm + 2 * MIN_WALL_MM <= self.arch_plate_height_mm,
                f"arch_screw_diameter_mm = {self.arch_screw_diameter_mm} too large for arch_plate_height_mm = "
                f"{self.arch_plate_height_mm} with {MIN_WALL_MM} mm edges")
        require(self.arch_plate_width_mm / 2 < 0.9 * self.arch_curve_radius_mm,
                f"arch_plate_width_mm = {self.arch_plate_width_mm} wraps too far round arch_curve_radius_mm = "
                f"{self.arch_curve_radius_mm} (allowed width < 1.8 × radius)")
        require(self.arch_offset_z_mm - self.arch_plate_height_mm / 2 > self.pad_z_mm + self.plate_thickness_mm
                or not self.spinous_pad,
                f"pad_z_mm = {self.pad_z_mm} reaches the arch plate at arch_offset_z_mm = {self.arch_offset_z_mm}")
        # the round leg end must keep clear of the arch screw holes (in the plate's u = z, v = y):
        # a 5.9 mm leg end grazing a 3.5 mm hole left an invalid solid (issue 9)
        g = derive(self)
        need = self.leg_diameter_mm / 2 + self.arch_screw_diameter_mm / 2 + LEG_HOLE_GAP_MM
        for _, end in g.leg_ends.values():
            for entry, _ in g.arch_screws:
                gap = float(np.hypot(end[2] - entry[2], end[1] - entry[1]))
                require(gap >= need,
                        f"leg_diameter_mm = {self.leg_diameter_mm} puts the leg end {gap:.2f} mm from an arch screw hole "
                        f"(arch_screw_diameter_mm = {self.arch_screw_diameter_mm}, arch_screw_spacing_mm = "
                        f"{self.arch_screw_spacing_mm}, arch_plate_height_mm = {self.arch_plate_height_mm}; allowed >= "
                        f"{need:.2f} mm: leg and hole radii + {LEG_HOLE_GAP_MM} mm)")
        return self

    @property
    def bore(self) -> float:
        return self.bore_diameter_mm if self.bore_diameter_mm is not None else self.screw_diameter_mm + self.clearance_mm


@dataclass(frozen=True)
class TemplateGeometry:
    """The numbers of the template (numpy only)."""

    entries: dict[str, np.ndarray]        # side name → entry point on C2
    directions: dict[str, np.ndarray]     # side name → unit screw direction (into the bone)
    tips: dict[str, np.ndarray]           # tube end nearest to the bone
    targets: dict[str, np.ndarray]        # screw tip in the C1 lateral mass
    arch_screws: tuple[tuple[np.ndarray, np.ndarray], ...]
    leg_ends: dict[str, tuple[np.ndarray, np.ndarray]]
    bore_mm: float


def arch_surface(p: TransarticularParams):
    """Posterior surface of the C1 arch in the plate's local frame (w outward = posterior)."""
    R = p.arch_curve_radius_mm
    # beyond |v| = 0.95 R the circle goes on along its tangent: the plate stays within 0.9 R, but
    # the height field is sampled 2 mm past it, where a plain circle gave NaN and a broken face (issue 9)
    v_max = 0.95 * R

    def surface(u, v):
        v = np.asarray(v, float)
        vc = np.clip(v, -v_max, v_max)
        root = np.sqrt(R * R - vc * vc)
        return -(R - root) - vc / root * (v - vc) + 0.0 * np.asarray(u, float)
    return surface


def plate_frame(p: TransarticularParams) -> plates.SurfaceFrame:
    return plates.SurfaceFrame(origin=(p.arch_offset_x_mm, 0.0, p.arch_offset_z_mm), u_dir=(0.0, 0.0, 1.0),
                        normal=(-1.0, 0.0, 0.0))


def derive(p: TransarticularParams) -> TemplateGeometry:
    """Entry points, trajectories, tube tips, arch screws and leg end points."""
    entries, directions, tips, targets, legs = {}, {}, {}, {}, {}
    frame, surface = plate_frame(p), arch_surface(p)
    half = p.arch_plate_width_mm / 2
    for name, s in (("left", 1), ("right", -1)):
        d = direction_from_angles(p.sagittal_deg, p.medial_deg, base=(1.0, 0.0, 0.0), side=s)
        e = np.array([0.0, s * p.entry_spacing_mm / 2, 0.0])
        entries[name], directions[name] = e, d
        tips[name] = e - d * p.tube_standoff_mm
        targets[name] = e + d * p.screw_length_mm
        # leg: from the tube's far half to the lateral lower part of the arch plate
        start = tips[name] - d * (0.6 * p.tube_length_mm)
        v = float(np.clip(start[1], -(half - p.leg_diameter_mm), half - p.leg_diameter_mm))
        # the leg end's sphere reaches 0.1 x leg diameter below the plate's lower edge (a sphere
        # tangent to the edge face broke the fuse: two solids, issue 9; one sunk into the plate came
        # within 0.01 mm of the arch screw holes) and stays at least 0.1 x leg diameter behind the face
        # on the bone (w = 0), so it never bulges through the resting face
        u = -p.arch_plate_height_mm / 2 + 0.4 * p.leg_diameter_mm
        w = max(p.plate_thickness_mm / 2, 0.6 * p.leg_diameter_mm)
        if abs(w - p.plate_thickness_mm) < 0.1 * p.leg_diameter_mm:  # the leg's end disc on the back face
            w = p.plate_thickness_mm + 0.1 * p.leg_diameter_mm       # broke the fuse (invalid solid)
        end = frame.to_patient([u, v, float(surface(np.array([u]), np.array([v]))[0]) + w])
        legs[name] = (start, end)
    screws = []
    n = p.arch_screw_count
    for i in range(n):
        v = 0.0 if n == 1 else -p.arch_screw_spacing_mm / 2 + i * p.arch_screw_spacing_mm / (n - 1)
        w = float(surface(np.array([0.0]), np.array([v]))[0]) + p.plate_thickness_mm
        entry = frame.to_patient([0.0, v, w])
        direction = frame.vector_to_patient(plates.screw_direction(surface, 0.0, v, 0.0, 0.0))
        screws.append((entry, unit(direction)))
    return TemplateGeometry(entries, directions, tips, targets, tuple(screws), legs, p.bore)


def measured_angles_deg(direction) -> tuple[float, float]:
    """(sagittal elevation, medial turn) of a screw direction, medial measured towards the midline
    for a left (+y) screw when the direction's y is negative."""
    d = unit(direction)
    return float(np.degrees(np.arcsin(d[2]))), float(np.degrees(np.arctan2(abs(d[1]), d[0])) * (1 if d[1] <= 0 else -1))


def build(p: TransarticularParams) -> Implant:
    """Build the template B-rep with its named features."""
    import cadquery as cq  # the kernel only when building: `implants list` imports this module

    from ..geometry import solids

    g = derive(p)
    frame, surface = plate_frame(p), arch_surface(p)
    outline = outlines.rounded_rectangle(p.arch_plate_height_mm, p.arch_plate_width_mm, 2.0)
    parts = [plates.contoured_plate(outline, surface, p.plate_thickness_mm, frame)]
    bores = {}
    for name in ("left", "right"):
        tube, bore = plates.guide_tube(g.tips[name], g.directions[name], g.bore_mm, p.tube_wall_mm, p.tube_length_mm)
        parts.append(tube)
        bores[name] = bore
        start, end = g.leg_ends[name]
        parts.append(solids.cylinder(start, end - start, p.leg_diameter_mm, float(np.linalg.norm(end - start))))
        parts.append(cq.Solid.makeSphere(p.leg_diameter_mm / 2, cq.Vector(*end), angleDegrees1=-90, angleDegrees2=90))
    pad_faces_centre = None
    if p.spinous_pad:
        pad, stem, pad_faces_centre = _pad(p)
        parts += [pad, stem]
    shape = solids.single_solid(solids.fuse_all(parts), "template frame")
    tools = list(bores.values())
    for entry, direction in g.arch_screws:
        tools.append(solids.channel(entry, direction, p.arch_screw_diameter_mm, p.plate_thickness_mm + 1.0))
    shape = solids.single_solid(solids.cut_all(shape, tools), TYPE_ID)

    features, metrics = {}, {}
    for name in ("left", "right"):
        d = g.directions[name]
        sag, med = measured_angles_deg(d * np.array([1, 1 if name == "left" else -1, 1]))
        measured = _measured_axis(shape, g.bore_mm, g.entries[name], d)
        msag, mmed = measured_angles_deg(measured * np.array([1, 1 if name == "left" else -1, 1]))
        features[f"guide.{name}"] = Feature(
            f"guide.{name}", "channel", tuple(g.entries[name]), tuple(d), diameter_mm=g.bore_mm,
            length_mm=p.screw_length_mm,
            info={"screw_diameter_mm": p.screw_diameter_mm, "tube_tip_mm": [round(v, 4) for v in g.tips[name]],
                  "tube_length_mm": p.tube_length_mm, "target_mm": [round(v, 4) for v in g.targets[name]],
                  "sagittal_deg": round(sag, 4), "medial_deg": round(med, 4)})
        metrics[f"guide_{name}_measured_deg"] = {"sagittal": round(msag, 4), "medial": round(mmed, 4)}
    for i, (entry, direction) in enumerate(g.arch_screws, 1):
        features[f"fixation.{i}"] = Feature(f"fixation.{i}", "channel", tuple(entry), tuple(direction),
                                            diameter_mm=p.arch_screw_diameter_mm, length_mm=p.plate_thickness_mm,
                                            info={"target": "c1 posterior arch"})
    arch_faces = tuple(f for f in shape.Faces() if f.normalAt().x > 0.5 and _near_surface(f, frame, surface, 0.0))
    features["contact.arch"] = Feature("contact.arch", "surface", (p.arch_offset_x_mm, 0.0, p.arch_offset_z_mm),
                                       (1, 0, 0), faces=arch_faces)
    if p.spinous_pad:
        faces = tuple(f for f in shape.Faces() if f.normalAt().z < -0.5
                      and abs(f.Center().x - pad_faces_centre[0]) < p.pad_length_mm / 2
                      and abs(f.Center().z - pad_faces_centre[2]) < 1.0)
        features["pad.c2"] = Feature("pad.c2", "surface", tuple(pad_faces_centre), (0, 0, -1), faces=faces,
                                     info={"rests_on": "c2 spinous process"})
    metrics["bore_diameter_mm"] = round(g.bore_mm, 4)
    return Implant(TYPE_ID, p, shape, features, metrics=metrics)


def _pad(p: TransarticularParams):
    """Pad on the C2 spinous process (tilted plate) and the stem joining it to the arch plate."""
    import cadquery as cq

    from ..geometry import solids

    pad = solids.rounded_box(p.pad_length_mm, p.pad_width_mm, 2.0, 0.0, p.plate_thickness_mm)
    pad = pad.rotate(cq.Vector(), cq.Vector(0, 1, 0), p.pad_tilt_deg).translate((p.pad_x_mm, 0.0, p.pad_z_mm))
    top = np.array([p.pad_x_mm, 0.0, p.pad_z_mm + p.plate_thickness_mm / 2])
    plate_bottom = np.array([p.arch_offset_x_mm - p.plate_thickness_mm / 2, 0.0,
                             p.arch_offset_z_mm - p.arch_plate_height_mm / 2 + 1.0])
    stem = solids.cylinder(top, plate_bottom - top, p.leg_diameter_mm, float(np.linalg.norm(plate_bottom - top)))
    return pad, stem, np.array([p.pad_x_mm, 0.0, p.pad_z_mm])


def _near_surface(face, frame, surface, offset: float) -> bool:
    """True when every tessellation vertex of ``face`` lies on the arch surface (+offset) within 0.01 mm."""
    vertices, _ = face.tessellate(0.05, 0.2)
    pts = np.array([(v.x, v.y, v.z) for v in vertices]) - np.asarray(frame.origin)
    local = pts @ frame.matrix()
    return bool(np.all(np.abs(local[:, 2] - surface(local[:, 0], local[:, 1]) - offset) < 0.01))


def _measured_axis(shape, bore_mm: float, entry: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Axis direction of the built bore (from its cylindrical B-rep face) nearest to ``entry``."""
    best = None
    for point, axis, _ in plates.cylinder_axis_from_faces(shape.Faces(), bore_mm / 2):
        axis = axis if np.dot(axis, direction) > 0 else -axis
        offset = entry - point
        dist = np.linalg.norm(offset - np.dot(offset, axis) * axis)
        if best is None or dist < best[0]:
            best = (dist, axis)
    if best is None or best[0] > 0.05:
        raise GeometryError("guide bore not found on the built template")
    return best[1]


PRESETS = {
    "magerl": dict(),
    "magerl-small": dict(entry_spacing_mm=22.0, screw_length_mm=34.0, sagittal_deg=55.0, arch_plate_width_mm=26.0,
                         arch_screw_spacing_mm=14.0, arch_offset_x_mm=-12.0, arch_offset_z_mm=18.0, pad_z_mm=7.0),
    "magerl-steep": dict(sagittal_deg=65.0, medial_deg=5.0, screw_length_mm=42.0),
    "lamina-only": dict(spinous_pad=False),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Implant-template for C1–C2 transarticular arthrodesis",
    review_wording="implant-template for transarticular arthrodesis of C1–C2 [14,17]",
    description=("A frame fixed by screws to the posterior arch of the atlas, resting on the posterior structures "
                 "(optional pad on the C2 spinous process), carrying two cylindrical guide tubes on the Magerl "
                 "transarticular trajectories: an implantable navigation template."),
    params=TransarticularParams,
    presets=PRESETS,
    build=build,
    default_preset="magerl",
)
