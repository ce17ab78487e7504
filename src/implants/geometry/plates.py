"""Shared builders for plates, docking seats and guide tubes (CadQuery; numpy helpers first).

- :class:`SurfaceFrame` and :func:`contoured_plate`: a plate of constant thickness lying on a curved
  bone surface given as a height field ``w = surface(u, v)`` in a local frame (u, v in the surface,
  w along the outward normal, i.e. away from the bone), moved into the patient frame.
- :func:`screw_direction`: per-hole screw angulation measured from the local surface normal.
- :func:`saddle_tool`: toroidal groove (a real saddle: concave across, curved along) that seats a
  round bony bar such as the C1 anterior arch.
- :func:`v_saddle_tool`: the same groove with a v cross-section (straight flanks, rounded tip).
- :func:`fitted_saddle_tool`: a patient-specific groove, the half-space above a measured height field.
- :func:`guide_tube`: a cylindrical drill/screw guide and its bore tool on a trajectory.
- :func:`cup_tool`: a spherical socket (e.g. for an occipital condyle).

Lengths mm, angles deg, patient frame +x anterior, +y patient-left, +z superior.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .frames import unit

if TYPE_CHECKING:
    import cadquery as cq

Surface = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Step of the central differences that estimate surface normals (mm): small against any
#: curvature radius of a bone surface (> 10 mm) and large against float round-off.
_DIFF_STEP_MM = 1e-3


@dataclass(frozen=True)
class SurfaceFrame:
    """Local frame of a plate: ``u_dir`` and ``v_dir = normal × u_dir`` span the surface,
    ``normal`` points away from the bone. Local (u, v, w) maps to ``origin + u·u_dir + v·v_dir + w·normal``.

    The default frame is an anterior plate: u superior (+z), w anterior (+x), so v = −y (patient-right).
    """

    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    u_dir: tuple[float, float, float] = (0.0, 0.0, 1.0)
    normal: tuple[float, float, float] = (1.0, 0.0, 0.0)

    @property
    def v_dir(self) -> np.ndarray:
        return unit(np.cross(self.normal, self.u_dir))

    def matrix(self) -> np.ndarray:
        """3×3 matrix whose columns are u_dir, v_dir, normal (local → patient rotation)."""
        return np.column_stack([unit(self.u_dir), self.v_dir, unit(self.normal)])

    def to_patient(self, points) -> np.ndarray:
        """Local (…, 3) points (u, v, w) → patient coordinates."""
        pts = np.asarray(points, float)
        return pts @ self.matrix().T + np.asarray(self.origin, float)

    def vector_to_patient(self, vectors) -> np.ndarray:
        return np.asarray(vectors, float) @ self.matrix().T

    def location(self) -> "cq.Location":
        import cadquery as cq

        plane = cq.Plane(cq.Vector(*self.origin), xDir=cq.Vector(*unit(self.u_dir)),
                         normal=cq.Vector(*unit(self.normal)))
        return cq.Location(plane)


def surface_normal(surface: Surface, u: float, v: float) -> np.ndarray:
    """Unit outward normal (local u, v, w) of the height field ``w = surface(u, v)`` at (u, v)."""
    h = _DIFF_STEP_MM
    su = (surface(np.array([u + h]), np.array([v]))[0] - surface(np.array([u - h]), np.array([v]))[0]) / (2 * h)
    sv = (surface(np.array([u]), np.array([v + h]))[0] - surface(np.array([u]), np.array([v - h]))[0]) / (2 * h)
    return unit((-su, -sv, 1.0))


def screw_direction(surface: Surface, u: float, v: float, tilt_u_deg: float, tilt_v_deg: float) -> np.ndarray:
    """Local unit direction of a screw driven into the bone at (u, v).

    Without tilt the screw runs along the inward normal; ``tilt_u_deg`` turns it towards +u
    (e.g. cranially for an anterior plate) and ``tilt_v_deg`` towards +v, each angle measured
    from the normal in its own plane (d ∝ −n + tan(tilt_u)·t_u + tan(tilt_v)·t_v)."""
    n = surface_normal(surface, u, v)
    e_u = np.array([1.0, 0.0, 0.0])
    t_u = unit(e_u - np.dot(e_u, n) * n)  # surface tangent along u
    t_v = unit(np.cross(n, t_u))
    return unit(-n + np.tan(np.radians(tilt_u_deg)) * t_u + np.tan(np.radians(tilt_v_deg)) * t_v)


#: Samples per side of the interpolated B-spline faces of a plate on a fitted surface.
FITTED_FACE_SAMPLES = 41


def contoured_plate(outline_uv: np.ndarray, surface: Surface, thickness_mm: float, frame: SurfaceFrame,
                    *, smooth: bool = False, samples: int = 21, method: str = "approx") -> "cq.Solid":
    """Plate over the closed (N, 2) ``outline_uv`` lying on ``surface`` (its bone-facing face is
    the surface itself, its outer face the surface shifted by ``thickness_mm`` along w), moved into
    the patient frame by ``frame``. The thickness is measured along w (≈ normal for gentle curvature).
    ``method`` as in ``solids.height_field_face`` ("interpolate" for fitted, measured surfaces)."""
    from .solids import clip_between, prism

    w = surface(outline_uv[:, 0], outline_uv[:, 1])
    span = float(np.ptp(w)) + thickness_mm + 20.0
    body = prism(outline_uv, float(w.min()) - span, float(w.max()) + span, smooth)
    plate = clip_between(body, surface, lambda u, v: surface(u, v) + thickness_mm, samples=samples, method=method)
    return plate.moved(frame.location())


def saddle_tool(seat: Sequence[float], tube_radius_mm: float, ring_radius_mm: float | None,
                outward: Sequence[float] = (1.0, 0.0, 0.0), length_mm: float = 80.0) -> "cq.Solid":
    """Cutting tool of a saddle that seats a round bar (e.g. the C1 anterior arch) from below.

    The bar's cross-section is a circle of ``tube_radius_mm``; its lowest point is ``seat``. The bar
    curves in the horizontal plane with radius ``ring_radius_mm`` around a vertical axis lying
    ``ring_radius_mm`` behind the seat (opposite to ``outward``): the tool is a torus, the seat is
    concave across the bar and follows its curve along it. ``ring_radius_mm = None`` gives a straight
    bar (a cylinder of ``length_mm`` perpendicular to ``outward``)."""
    import cadquery as cq

    out = unit((outward[0], outward[1], 0.0))
    centre = np.asarray(seat, float) + np.array([0.0, 0.0, tube_radius_mm])
    if ring_radius_mm is None:
        along = np.cross((0.0, 0.0, 1.0), out)
        start = centre - along * length_mm / 2
        return cq.Solid.makeCylinder(tube_radius_mm, length_mm, cq.Vector(*start), cq.Vector(*along))
    ring_centre = centre - out * ring_radius_mm
    return cq.Solid.makeTorus(ring_radius_mm, tube_radius_mm, cq.Vector(*ring_centre), cq.Vector(0, 0, 1))


def v_saddle_tool(seat: Sequence[float], tip_radius_mm: float, angle_deg: float, height_mm: float,
                  ring_radius_mm: float, outward: Sequence[float] = (1.0, 0.0, 0.0),
                  tilt_deg: float = 0.0) -> "cq.Solid":
    """Cutting tool of a saddle whose cross-section is a v: two straight flanks ``angle_deg`` apart
    (included angle) joined at the bottom by a tip arc of ``tip_radius_mm`` whose lowest point is
    ``seat``; the flanks run ``height_mm`` up from the seat. Revolved about a vertical axis lying
    ``ring_radius_mm`` behind the seat (like :func:`saddle_tool`): the faces are a torus (tip) and two
    cones (flanks). ``tilt_deg`` leans the revolution axis towards ``outward`` (the ring's plane then
    rises away from the seat: the groove bottom climbs towards the sides); the cross-section through
    the seat stays upright. Axis: through ``seat - ring_radius_mm·e1`` along ``n``, with
    n = cos(tilt)·z + sin(tilt)·out and e1 = cos(tilt)·out − sin(tilt)·z."""
    import cadquery as cq

    out = unit((outward[0], outward[1], 0.0))
    seat = np.asarray(seat, float)
    t = np.radians(tilt_deg)
    n = np.cos(t) * np.array([0.0, 0.0, 1.0]) + np.sin(t) * out
    e1 = np.cos(t) * out - np.sin(t) * np.array([0.0, 0.0, 1.0])
    axis_point = seat - e1 * ring_radius_mm
    half = np.radians(angle_deg) / 2
    r = tip_radius_mm
    h_t, z_t = r * np.cos(half), r * (1 - np.sin(half))
    reach = min(h_t + (height_mm - z_t) * np.tan(half), 0.95 * ring_radius_mm)
    top = z_t + (reach - h_t) / np.tan(half)

    def at(h, z):  # profile point: h across the groove (+ outward), z above the seat
        return cq.Vector(*(seat + out * h + np.array([0.0, 0.0, z])))

    edges = [cq.Edge.makeThreePointArc(at(-h_t, z_t), at(0.0, 0.0), at(h_t, z_t)),
             cq.Edge.makeLine(at(h_t, z_t), at(reach, top)),
             cq.Edge.makeLine(at(reach, top), at(-reach, top)),
             cq.Edge.makeLine(at(-reach, top), at(-h_t, z_t))]
    face = cq.Face.makeFromWires(cq.Wire.assembleEdges(edges))
    return cq.Solid.revolve(face, 360.0, cq.Vector(*axis_point), cq.Vector(*(axis_point + n)))


def fitted_saddle_tool(field: Surface, x_range: tuple[float, float], y_range: tuple[float, float],
                       samples: int) -> "cq.Solid":
    """Cutting tool of a patient-specific saddle: everything above the surface z = ``field(x, y)``
    (e.g. the measured underside of the C1 anterior arch less a clearance) over the rectangle
    ``x_range`` × ``y_range``, the surface built as an interpolating degree-3 B-spline through
    ``samples`` × ``samples`` points (``solids.height_field_face(method="interpolate")``). Cut from a
    body whose top lies at the horns: the groove is left where the field is lower."""
    from .solids import half_space, height_field_face

    face = height_field_face(field, x_range, y_range, samples, method="interpolate")
    centre = (0.5 * (x_range[0] + x_range[1]), 0.5 * (y_range[0] + y_range[1]))
    z = float(np.asarray(field(np.array([centre[0]]), np.array([centre[1]])), float).ravel()[0])
    return half_space(face, (centre[0], centre[1], z + 1e3))


def guide_tube(tip: Sequence[float], direction: Sequence[float], bore_mm: float, wall_mm: float,
               length_mm: float, overshoot_mm: float = 5.0) -> tuple["cq.Solid", "cq.Solid"]:
    """A cylindrical guide ending at ``tip`` (the end nearest the bone) and extending ``length_mm``
    back against ``direction``; returns (outer tube solid, bore cutting tool open at both ends)."""
    from .solids import cylinder

    d = unit(direction)
    tip = np.asarray(tip, float)
    outer = cylinder(tip - d * length_mm, d, bore_mm + 2 * wall_mm, length_mm)
    bore = cylinder(tip - d * (length_mm + overshoot_mm), d, bore_mm, length_mm + 2 * overshoot_mm)
    return outer, bore


def cup_tool(centre: Sequence[float], radius_mm: float) -> "cq.Solid":
    """Sphere cutting a spherical socket of ``radius_mm`` centred on ``centre``."""
    import cadquery as cq

    return cq.Solid.makeSphere(radius_mm, cq.Vector(*map(float, centre)), angleDegrees1=-90, angleDegrees2=90)


def cylinder_axis_from_faces(faces, radius_mm: float | None = None,
                             tol_mm: float = 1e-3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(point on axis, unit axis direction, radius) of every cylindrical face in ``faces``, read from
    the B-rep surface geometry (optionally only those of ``radius_mm`` within ``tol_mm``)."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.GeomAbs import GeomAbs_Cylinder

    found = []
    for face in faces:
        adaptor = BRepAdaptor_Surface(face.wrapped)
        if adaptor.GetType() != GeomAbs_Cylinder:
            continue
        cyl = adaptor.Cylinder()
        r = cyl.Radius()
        if radius_mm is not None and abs(r - radius_mm) > tol_mm:
            continue
        axis = cyl.Axis()
        p, d = axis.Location(), axis.Direction()
        found.append((np.array([p.X(), p.Y(), p.Z()]), np.array([d.X(), d.Y(), d.Z()]), r))
    return found
