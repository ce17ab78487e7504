"""Type 6, ``anterior-plate``: individual anterior cervical plate contoured to a curved anterior surface
(review refs [30, 38]).

A plate of constant thickness whose bone-facing face lies on a curved anterior surface of the spine:
sagittal curvature (lordosis, radius ``sagittal_radius_mm``), coronal curvature of the vertebral bodies
(radius ``coronal_radius_mm``) and, for a scoliotic (Klippel-Feil-like) spine [38], a lateral bend of the
spinal axis (``scoliosis_radius_mm``) with an axial twist. Screw holes sit on each vertebra with an
angulation set per hole. Layouts:

- ``transoral-c1c2``: after transoral odontoidectomy, a plate screwed to the C2 body and the C1 lateral
  masses, no posterior system [30];
- ``transoral-c1c3-support``: the same team's plate for wider resection (C1 articular surfaces, C2 and the
  C3 body top), screwed to the C1 lateral masses and the C3 body, with a supporting element behind it that
  bears between the C1 articular surfaces and the C3 body [30];
- ``subaxial``: a multi-level subaxial plate, two screws per vertebra, ``levels`` vertebrae [38].

Screw angulation per hole, in the surgeon's frame: cranial tilt above the axial plane and medial
convergence from the sagittal plane (negative: lateral), screws heading posteriorly.

Bone surface (patient frame): x = S(y, z) = −(z²)/(2·R_s) − (y − c(z))²/(2·R_c) + tan(τ(z))·(y − c(z)),
where c(z) = z²/(2·R_l) is the lateral bend and τ(z) = twist·z/L the axial twist (L the plate length).
Placement: origin on that surface (x = S(0, 0) = 0) at z = 0: midway between the top and bottom hole rows
of a subaxial plate; 10 mm below the C1 lateral-mass holes for the transoral layouts (C2 holes at z = −10,
C3 holes at z = −27); +x anterior (the plate lies in S ≤ x ≤ S + thickness), +y patient-left, +z superior.
The plate spans z from ``bottom_mm`` to ``top_mm`` (metrics); each hole's entry is on the plate's outer face.

Measured surfaces: ``build(params, surface=...)`` contours the same outline and holes to a fitted
surface (``fit.anterior_surface``: a list of points, or the anterior surface of vertebra meshes;
CLI ``--surface-points`` / ``--vertebra``). The plate is then placed in the surface's frame (origin on
the surface at the plate centre, w along the mean normal of the surface under the plate, u superior,
v = w × u), and the per-hole angles are measured in that frame (−w for −x, u for +z).

Layer: implant_types (the type's parameters, ``derive``, ``build``, presets and ``TEMPLATE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from ..geometry import outlines, plates
from ..geometry.frames import direction_from_angles
from ..model import Feature, Implant, Template
from ..params import ImplantParams, require

TYPE_ID = "anterior-plate"
#: Smallest bridge of plate material between a hole and the plate edge (mm).
MIN_EDGE_MM = 1.0
#: One cervical motion segment (vertebral body + disc) along the spine (mm).
LEVEL_PITCH_MM = 17.0
#: Largest distance (mm) between a fitted plate's built bone-facing face (a B-spline interpolating the
#: fitted surface) and that surface when the face is picked; the outer face lies a thickness away.
FITTED_FACE_TOL_MM = 0.1

Angle = Annotated[float, Field(ge=-45.0, le=45.0)]


class Layout(str, Enum):
    TRANSORAL_C1C2 = "transoral-c1c2"
    TRANSORAL_C1C3_SUPPORT = "transoral-c1c3-support"
    SUBAXIAL = "subaxial"


class PlateParams(ImplantParams):
    """Parameters of the anterior plate (mm, deg)."""

    layout: Layout = Field(Layout.SUBAXIAL, description="Plate layout: transoral-c1c2, transoral-c1c3-support or subaxial")
    levels: int = Field(3, ge=2, le=6, description="Vertebrae spanned by a subaxial plate (two screws each)")
    thickness_mm: float = Field(2.0, ge=1.2, le=4.0, description="Plate thickness")
    sagittal_radius_mm: float = Field(150.0, ge=40.0, le=2000.0, description="Sagittal radius of the anterior surface (lordosis; 2000 ≈ straight)")
    coronal_radius_mm: float = Field(22.0, ge=10.0, le=200.0, description="Coronal (axial-plane) radius of the anterior body surface")
    scoliosis_radius_mm: float | None = Field(None, ge=40.0, le=2000.0, description="Radius of the lateral bend of the spinal axis (None: straight; Klippel-Feil scoliosis)")
    scoliosis_side: int = Field(1, ge=-1, le=1, description="Convexity of the lateral bend: +1 towards patient-left, -1 right")
    twist_deg: float = Field(0.0, ge=-30.0, le=30.0, description="Axial twist of the surface over the plate length (scoliotic rotation)")
    hole_diameter_mm: float = Field(4.0, ge=2.5, le=5.5, description="Screw hole diameter")
    hole_spacing_mm: float = Field(11.0, ge=6.0, le=20.0, description="Distance between the two holes of a subaxial level / the C2 or C3 body holes")
    lateral_mass_spacing_mm: float = Field(30.0, ge=18.0, le=44.0, description="Distance between the two C1 lateral mass holes (transoral layouts)")
    width_mm: float = Field(18.0, ge=8.0, le=30.0, description="Plate width at the body holes")
    waist_mm: float = Field(11.0, ge=6.0, le=30.0, description="Plate width between levels (subaxial) / along the stem (transoral)")
    head_width_mm: float = Field(42.0, ge=24.0, le=56.0, description="Width of the transoral plate's top across the C1 lateral masses")
    end_margin_mm: float = Field(5.5, ge=3.0, le=10.0, description="Plate length beyond the outermost hole centres")
    screw_cranial_deg: tuple[Angle, ...] | None = Field(None, description="Cranial tilt of each screw above the axial plane (deg), one per hole (default: outer rows point 12 away from the plate centre)")
    screw_medial_deg: tuple[Angle, ...] | None = Field(None, description="Medial convergence of each screw from the sagittal plane (deg), one per hole (default 6; C1 lateral-mass holes -10: lateral)")
    support_depth_mm: float = Field(12.0, ge=6.0, le=20.0, description="AP depth of the supporting element behind the plate (transoral-c1c3-support)")
    support_width_mm: float = Field(12.0, ge=6.0, le=20.0, description="Width of the supporting column (y)")
    support_top_width_mm: float = Field(34.0, ge=12.0, le=50.0, description="Width of the support's top under both C1 articular surfaces")

    @model_validator(mode="after")
    def _rules(self) -> "PlateParams":
        g = derive(self)
        n = len(g.holes)
        for name in ("screw_cranial_deg", "screw_medial_deg"):
            value = getattr(self, name)
            require(value is None or len(value) == n,
                    f"{name} has {len(value) if value is not None else 0} angles but the {self.layout.value} plate has "
                    f"{n} holes (give one angle per hole)")
        require(g.min_edge_mm >= MIN_EDGE_MM,
                f"a screw hole of hole_diameter_mm = {self.hole_diameter_mm} lies {g.min_edge_mm:.2f} mm from the plate "
                f"edge (allowed >= {MIN_EDGE_MM} mm): widen width_mm / head_width_mm or reduce hole_spacing_mm / "
                f"lateral_mass_spacing_mm")
        half_width = max(self.width_mm, self.head_width_mm if self.layout is not Layout.SUBAXIAL else 0) / 2
        require(half_width < 0.9 * self.coronal_radius_mm,
                f"the plate (half width {half_width} mm) wraps too far round coronal_radius_mm = {self.coronal_radius_mm} "
                "(allowed half width < 0.9 × radius)")
        require(self.waist_mm <= self.width_mm, f"waist_mm = {self.waist_mm} is wider than width_mm = {self.width_mm}")
        return self


@dataclass(frozen=True)
class PlateGeometry:
    """The numbers of a plate (numpy only)."""

    outline_yz: np.ndarray                    # closed outline in (y, z)
    holes: tuple[tuple[float, float, str], ...]   # (y, z, target) of each hole centre
    min_edge_mm: float
    bottom_mm: float
    top_mm: float
    length_mm: float
    support_box: tuple[float, float, float, float] | None   # (z_bottom, z_top, depth, width) of the support


def _centre_line(p: PlateParams, z):
    if p.scoliosis_radius_mm is None:
        return 0.0 * np.asarray(z, float)
    return p.scoliosis_side * np.asarray(z, float) ** 2 / (2 * p.scoliosis_radius_mm)


def bone_surface(p: PlateParams, length_mm: float):
    """x = S(y, z) of the anterior bone surface (see the module docstring)."""
    def surface(y, z):
        y, z = np.asarray(y, float), np.asarray(z, float)
        c = _centre_line(p, z)
        tau = np.radians(p.twist_deg) * z / max(length_mm, 1.0)
        return -z * z / (2 * p.sagittal_radius_mm) - (y - c) ** 2 / (2 * p.coronal_radius_mm) + np.tan(tau) * (y - c)
    return surface


def _stations(p: PlateParams):
    """Plate width stations (z, width) and holes (dy from the axis, z, target) by layout."""
    m = p.end_margin_mm
    if p.layout is Layout.SUBAXIAL:
        zs = [(i - (p.levels - 1) / 2) * LEVEL_PITCH_MM for i in range(p.levels)]
        holes = [(s * p.hole_spacing_mm / 2, z, f"level {i + 1}") for i, z in enumerate(zs) for s in (1, -1)]
        pad = p.hole_diameter_mm / 2 + 2.0  # full width this far around each row of holes
        stations = [(zs[0] - m, p.width_mm)]
        for a, b in zip(zs, zs[1:]):
            stations += [(a + pad, p.width_mm), ((a + b) / 2, p.waist_mm), (b - pad, p.width_mm)]
        stations += [(zs[-1] + m, p.width_mm)]
        return stations, holes, None
    # transoral layouts: C1 lateral masses at the top, C2 (or C3) body at the bottom
    c1_z = 10.0
    body_z = -10.0 if p.layout is Layout.TRANSORAL_C1C2 else -10.0 - LEVEL_PITCH_MM
    holes = [(s * p.lateral_mass_spacing_mm / 2, c1_z, "c1 lateral mass") for s in (1, -1)]
    target = "c2 body" if p.layout is Layout.TRANSORAL_C1C2 else "c3 body"
    holes += [(s * p.hole_spacing_mm / 2, body_z, target) for s in (1, -1)]
    pad = p.hole_diameter_mm / 2 + 2.0
    stations = [(body_z - m, p.width_mm), (body_z + pad, p.width_mm), (body_z + 0.5 * (c1_z - body_z), p.waist_mm),
                (c1_z - pad - 1.0, p.head_width_mm), (c1_z + m, p.head_width_mm)]
    support = None
    if p.layout is Layout.TRANSORAL_C1C3_SUPPORT:
        # between the C1 articular surfaces (3 mm below the C1 holes) and the C3 body top (6 mm above its holes)
        support = (body_z + 6.0, c1_z - 3.0, p.support_depth_mm, p.support_width_mm)
    return stations, holes, support


def _outline(p: PlateParams, stations) -> np.ndarray:
    """Closed (y, z) outline: widths interpolated between stations, following the lateral bend,
    corners softened by Chaikin subdivision (a smooth spline passes through the result)."""
    zs = np.array([s[0] for s in stations])
    ws = np.array([s[1] for s in stations])
    z = np.linspace(zs[0], zs[-1], 24)
    half = np.interp(z, zs, ws) / 2
    c = _centre_line(p, z)
    poly = np.vstack([np.column_stack([c - half, z]), np.column_stack([c + half, z])[::-1]])
    for _ in range(3):
        q = np.roll(poly, -1, axis=0)
        poly = np.vstack([np.column_stack([0.75 * poly + 0.25 * q]), np.column_stack([0.25 * poly + 0.75 * q])])
        poly = poly.reshape(2, -1, 2).transpose(1, 0, 2).reshape(-1, 2)
    return poly[::6]


def derive(p: PlateParams) -> PlateGeometry:
    """Outline, hole centres and their distance to the plate edge, support element box."""
    stations, holes_axis, support = _stations(p)
    outline = _outline(p, stations)
    holes = tuple((float(dy + _centre_line(p, z)), float(z), t) for dy, z, t in holes_axis)
    centres = np.array([(y, z) for y, z, _ in holes])
    inside = outlines.contains(outline, centres)
    edge = outlines.min_distance_to_edges(outline, centres) - p.hole_diameter_mm / 2
    min_edge = float(edge.min()) if inside.all() else -1.0
    bottom, top = float(outline[:, 1].min()), float(outline[:, 1].max())
    return PlateGeometry(outline, holes, min_edge, bottom, top, top - bottom, support)


def _default_angles(p: PlateParams, g: PlateGeometry) -> tuple[list[float], list[float]]:
    zs = [z for _, z, _ in g.holes]
    mid = (max(zs) + min(zs)) / 2
    cranial = [12.0 * np.sign(z - mid) if abs(z - mid) > 1e-6 and (z in (max(zs), min(zs))) else 0.0 for z in zs]
    medial = [-10.0 if t == "c1 lateral mass" else 6.0 for _, _, t in g.holes]
    return cranial, medial


def plate_frame() -> plates.SurfaceFrame:
    return plates.SurfaceFrame()  # u = +z, v = −y, w = +x


def _fitted_direction(cranial_deg: float, medial_deg: float, side: int) -> np.ndarray:
    """Local (u, v, w) screw direction on a fitted surface: today's angles with the plate frame in place
    of the patient axes (−w, the fitted surface's mean normal, for −x; u for +z; −v for +y): on an
    upright surface facing +x it is exactly ``direction_from_angles(cranial, medial, base=−x)``."""
    d = direction_from_angles(cranial_deg, medial_deg, base=(-1.0, 0.0, 0.0), side=side)
    return np.array([d[2], -d[1], d[0]])


def screw_axes(p: PlateParams, g: PlateGeometry, surface=None):
    """(entry on the outer face, unit direction into bone) per hole, patient frame.

    ``surface``: a fitted surface (``fit.surface_fit.FittedSurface``: ``frame`` and
    ``w = surface(u, v)``) instead of the parametric one; the angles are then measured in the plate's
    frame, whose normal is the fitted surface's mean normal under the plate (:func:`_fitted_direction`)."""
    cranial, medial = _default_angles(p, g)
    cranial = list(p.screw_cranial_deg) if p.screw_cranial_deg is not None else cranial
    medial = list(p.screw_medial_deg) if p.screw_medial_deg is not None else medial
    if surface is not None:
        frame, local = surface.frame, surface
    else:
        bone = bone_surface(p, g.length_mm)
        frame = plate_frame()

        def local(u, v):  # w = S(y = −v, z = u)
            return bone(-np.asarray(v, float), u)

    axes = []
    for (y, z, _), cr, me in zip(g.holes, cranial, medial, strict=True):
        u, v = z, -y
        side = 1 if y - float(_centre_line(p, z)) > 0 else -1
        entry_local = np.array([u, v, float(local(np.array([u]), np.array([v]))[0]) + p.thickness_mm])
        if surface is not None:
            direction = frame.vector_to_patient(_fitted_direction(cr, me, side))
        else:
            direction = direction_from_angles(cr, me, base=(-1.0, 0.0, 0.0), side=side)
        axes.append((frame.to_patient(entry_local), direction, cr, me))
    return axes, local


def build(p: PlateParams, surface=None) -> Implant:
    """Build the plate B-rep with its named features.

    ``surface``: contour the plate to a fitted anterior surface (``fit.surface_fit.fit_surface``;
    its frame places the plate in the patient frame) instead of the parametric curvature."""
    from ..geometry import solids  # the kernel only when building: `implants list` imports this module

    g = derive(p)
    axes, local = screw_axes(p, g, surface)
    frame = plate_frame() if surface is None else surface.frame
    outline_uv = np.column_stack([g.outline_yz[:, 1], -g.outline_yz[:, 0]])
    if surface is None:
        plate = plates.contoured_plate(outline_uv, local, p.thickness_mm, frame, smooth=False, samples=25)
    else:

        plate = plates.contoured_plate(outline_uv, local, p.thickness_mm, frame, smooth=False, samples=plates.FITTED_FACE_SAMPLES,
                                       method="interpolate")
    parts = [plate]
    if g.support_box is not None:
        parts += _support(p, g, local, frame, fitted=surface is not None)
    shape = solids.single_solid(solids.fuse_all(parts), "plate")
    tools = [solids.channel(entry, d, p.hole_diameter_mm, p.thickness_mm * 3) for entry, d, _, _ in axes]
    shape = solids.single_solid(solids.cut_all(shape, tools), TYPE_ID)

    features = {}
    for i, ((entry, d, cr, me), (_, _, target)) in enumerate(zip(axes, g.holes), 1):
        features[f"screw.{i}"] = Feature(f"screw.{i}", "channel", tuple(entry), tuple(d), diameter_mm=p.hole_diameter_mm,
                                         length_mm=p.thickness_mm, info={"target": target, "cranial_deg": cr, "medial_deg": me})
    tol = 0.01 if surface is None else FITTED_FACE_TOL_MM
    back = tuple(f for f in shape.Faces() if _on_surface(f, local, frame, tol))
    origin = tuple(float(c) for c in frame.origin)
    normal = tuple(float(-c) for c in frame.normal)
    features["contact.posterior"] = Feature("contact.posterior", "surface", origin, normal, faces=back)
    if g.support_box is not None:
        z0, z1, _, _ = g.support_box
        up = np.asarray(frame.u_dir, float)
        base = float(np.dot(np.asarray(frame.origin, float), up))

        def height(f):
            return float(np.dot(np.array(f.Center().toTuple()), up)) - base

        bearing = tuple(f for f in shape.Faces() if abs(abs(float(np.dot(f.normalAt().toTuple(), up))) - 1) < 1e-6
                        and (abs(height(f) - z0) < 1e-6 or abs(height(f) - z1) < 1e-6))
        top = frame.to_patient(np.array([z1, 0.0, 0.0]))
        features["support"] = Feature("support", "surface", tuple(float(c) for c in top), tuple(float(c) for c in up),
                                      faces=bearing,
                                      info={"bottom_z_mm": z0, "top_z_mm": z1, "between": "c1 articular surfaces and c3 body"})
    metrics = {"bottom_mm": round(g.bottom_mm, 3), "top_mm": round(g.top_mm, 3), "length_mm": round(g.length_mm, 3),
               "holes": len(g.holes), "min_hole_edge_mm": round(g.min_edge_mm, 3)}
    return Implant(TYPE_ID, p, shape, features, metrics=metrics)


def _support(p: PlateParams, g: PlateGeometry, local, frame, *, fitted: bool) -> list:
    """The supporting element (column and top bar) behind the plate, built in the plate's local frame
    (u = z, v = −y, w along the normal) and centred on the plate's centre line. The column's front
    is the plate's mid-surface (w = back + thickness/2), so it joins the plate along a parallel face:
    a flat front crossed a gently curved plate at a grazing angle (mesh not watertight), and one
    reaching only the deepest back point missed a curved plate (two solids; issue 9)."""
    import cadquery as cq

    from ..geometry import solids

    z0, z1, depth, width = g.support_box
    vc = -float(_centre_line(p, (z0 + z1) / 2))
    gu, gv = np.meshgrid(np.linspace(z0, z1, 17), np.linspace(vc - width / 2, vc + width / 2, 9))
    back = local(gu, gv)
    w0 = float(back.min()) - depth - p.thickness_mm / 2
    w_top = float(back.max()) + p.thickness_mm + 1.0
    column = cq.Solid.makeBox(z1 - z0, width, w_top - w0, cq.Vector(z0, vc - width / 2, w0))
    mid = solids.height_field_face(lambda u, v: local(u, v) + p.thickness_mm / 2, (z0 - 2.0, z1 + 2.0),
                                   (vc - width / 2 - 2.0, vc + width / 2 + 2.0),
                                   method="interpolate" if fitted else "approx")
    column = solids.single_solid(column.intersect(solids.half_space(mid, ((z0 + z1) / 2, vc, w0 - 1e3))),
                                 "support column")
    top_bar = cq.Solid.makeBox(4.0, p.support_top_width_mm, depth * 0.8,
                               cq.Vector(z1 - 4.0, vc - p.support_top_width_mm / 2, w0))
    return [column.moved(frame.location()), top_bar.moved(frame.location())]


def _on_surface(face, local, frame, tol: float = 0.01) -> bool:
    vertices, _ = face.tessellate(0.05, 0.2)
    pts = np.array([(v.x, v.y, v.z) for v in vertices]) - np.asarray(frame.origin)
    loc = pts @ frame.matrix()
    return bool(np.all(np.abs(loc[:, 2] - local(loc[:, 0], loc[:, 1])) < tol))


PRESETS = {
    "subaxial-3-level": dict(layout="subaxial", levels=3),
    "subaxial-5-level": dict(layout="subaxial", levels=5),
    "klippel-feil-scoliotic": dict(layout="subaxial", levels=4, scoliosis_radius_mm=70.0, twist_deg=15.0,
                                   sagittal_radius_mm=300.0),
    "transoral-c1c2": dict(layout="transoral-c1c2", coronal_radius_mm=26.0, hole_spacing_mm=10.0, width_mm=17.0,
                           waist_mm=12.0),
    "transoral-c1c3-support": dict(layout="transoral-c1c3-support", coronal_radius_mm=26.0, hole_spacing_mm=10.0,
                                   width_mm=16.0, waist_mm=12.0, thickness_mm=2.5),
}

TEMPLATE = Template(
    type_id=TYPE_ID,
    title="Individual anterior cervical plate",
    review_wording="individual anterior plates [30,38]",
    description=("A plate contoured to a curved anterior surface (sagittal and coronal curvature, optionally a "
                 "scoliotic bend and twist as in Klippel-Feil syndrome) with screw holes whose angulation is set per "
                 "hole: transoral C1 lateral masses + C2 body plate, the same with a supporting element between the "
                 "C1 articular surfaces and the C3 body, or a multi-level subaxial plate."),
    params=PlateParams,
    presets=PRESETS,
    build=build,
    default_preset="subaxial-3-level",
)
