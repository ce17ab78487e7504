"""Builders for columns, wedge spacers and their attachments (CadQuery).

Shared by the distraction spacer (type 3) and the vertebral body replacement (type 5):
wedges placed in an oblique local frame, end-platform columns clipped between two height
fields, bars between two points, bosses with bores, split clamps and the keyed left/right
split of a body into two interlocking pieces. All lengths mm, patient frame
(+x anterior, +y left, +z superior).
"""

from __future__ import annotations

from typing import Callable, Sequence

import cadquery as cq
import numpy as np

from . import solids
from ..errors import GeometryError

HeightField = Callable[[np.ndarray, np.ndarray], np.ndarray]


def in_frame(shape: cq.Shape, origin: Sequence[float], x_dir: Sequence[float], normal: Sequence[float]) -> cq.Shape:
    """``shape`` built in a local frame (local x, local z) moved so that the local origin sits at
    ``origin``, local +x along ``x_dir`` and local +z along ``normal`` (patient frame)."""
    plane = cq.Plane(origin=tuple(map(float, origin)), xDir=tuple(map(float, x_dir)), normal=tuple(map(float, normal)))
    return shape.moved(cq.Location(plane))


def wedge(outline: np.ndarray, lower: HeightField, upper: HeightField, *, smooth: bool = False,
          half_span_mm: float = 50.0, what: str = "wedge") -> cq.Solid:
    """Vertical prism over ``outline`` (xy, mm) cut between the height fields ``lower`` and ``upper``."""
    body = solids.prism(outline, -half_span_mm, half_span_mm, smooth)
    return solids.single_solid(solids.clip_between(body, lower, upper), what)


def box_wedge(depth_mm: float, width_mm: float, radius_mm: float, lower: HeightField, upper: HeightField,
              *, half_span_mm: float = 50.0, what: str = "wedge") -> cq.Solid:
    """Wedge over an exact rounded rectangle centred on the origin (volume formulas stay exact)."""
    body = solids.rounded_box(depth_mm, width_mm, radius_mm, -half_span_mm, half_span_mm)
    return solids.single_solid(solids.clip_between(body, lower, upper), what)


def bar(p0: Sequence[float], p1: Sequence[float], width_mm: float, z_min: float, z_max: float) -> cq.Solid:
    """Vertical prism over the rectangle of ``width_mm`` joining the xy points ``p0`` and ``p1``."""
    a, b = np.asarray(p0[:2], float), np.asarray(p1[:2], float)
    t = b - a
    if np.linalg.norm(t) < 1e-6:
        raise GeometryError("bar: the two end points coincide")
    n = np.array([-t[1], t[0]]) / np.linalg.norm(t) * width_mm / 2
    return solids.prism(np.array([a - n, b - n, b + n, a + n]), z_min, z_max)


def boss(centre: Sequence[float], direction: Sequence[float], outer_mm: float, length_mm: float) -> cq.Solid:
    """Cylindrical boss of diameter ``outer_mm`` centred on ``centre`` along ``direction``."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    return solids.cylinder(np.asarray(centre, float) - d * length_mm / 2, d, outer_mm, length_mm)


def split_ring(centre_xy: Sequence[float], bore_mm: float, wall_mm: float, z_min: float, z_max: float,
               slit_mm: float, slit_direction_xy: Sequence[float]) -> tuple[cq.Solid, cq.Solid]:
    """A clamp ring round a vertical bore: (ring body, cutting tool of bore + slit). The slit
    opens the ring towards ``slit_direction_xy`` so a clamp screw can close it on a rod."""
    c = np.asarray(centre_xy, float)
    ring = solids.cylinder((c[0], c[1], z_min), (0, 0, 1), bore_mm + 2 * wall_mm, z_max - z_min)
    bore = solids.cylinder((c[0], c[1], z_min - 1), (0, 0, 1), bore_mm, z_max - z_min + 2)
    d = np.asarray(slit_direction_xy, float) / np.linalg.norm(slit_direction_xy)
    slit = bar(c, c + d * (bore_mm / 2 + wall_mm + 1.0), slit_mm, z_min - 1, z_max + 1)
    return ring, bore.fuse(slit).clean()


def key_outline(kind: str, x_centre: float, neck_mm: float, head_mm: float, depth_mm: float,
                grow_mm: float = 0.0) -> np.ndarray:
    """Cross-section (xy) of a key that stands on the plane y = 0 and reaches ``depth_mm`` into
    y < 0: a tongue (rectangle ``neck_mm`` wide) or a dovetail (``neck_mm`` at y = 0 widening to
    ``head_mm`` at y = −depth). ``grow_mm`` enlarges it on every side (the socket's clearance);
    the outline starts 1 mm inside y > 0 so it overlaps the half it belongs to."""
    head = neck_mm if kind == "tongue" else head_mm
    n, h, d, g = neck_mm / 2 + grow_mm, head / 2 + grow_mm, depth_mm + grow_mm, 1.0
    return np.array([[x_centre - n, g], [x_centre - n, 0.0], [x_centre - h, -d],
                     [x_centre + h, -d], [x_centre + n, 0.0], [x_centre + n, g]])


def keyed_split(body: cq.Shape, keys: Sequence[np.ndarray], z_range: tuple[float, float],
                clearance_mm: float = 0.0, sockets: Sequence[np.ndarray] | None = None) -> tuple[cq.Solid, cq.Solid]:
    """Split ``body`` at the mid-sagittal plane y = 0 into a left (+y) and a right piece that
    interlock: each outline of ``keys`` (xy, see :func:`key_outline`) is a prism running the whole
    height that belongs to the left piece and sits in a socket of the right piece. With
    ``clearance_mm`` > 0 the right piece is cut back by the clearance (give the grown key
    outlines in ``sockets``), so the pieces never overlap. Returns (left, right)."""
    bb = body.BoundingBox()
    z0, z1 = z_range
    big = 4 * max(bb.xlen, bb.ylen, bb.zlen) + 100

    def tool(outlines, shift):
        half = cq.Solid.makeBox(big, big, z1 - z0, cq.Vector(-big / 2, -shift, z0))
        return solids.fuse_all([half] + [solids.prism(o, z0, z1) for o in outlines])

    left = solids.single_solid(body.intersect(tool(keys, 0.0)), "left piece")
    right_tool = tool(sockets if sockets is not None else keys, clearance_mm)
    right = solids.single_solid(body.cut(right_tool), "right piece")
    return left, right


def column_between(outline: np.ndarray, lower: HeightField, upper: HeightField, *, smooth: bool,
                   half_span_mm: float) -> cq.Solid:
    """Column over ``outline`` whose end faces follow the height fields (flat, domed or fitted)."""
    return wedge(outline, lower, upper, smooth=smooth, half_span_mm=half_span_mm, what="column")


def elliptic_wedge(length_mm: float, width_mm: float, lower: HeightField, upper: HeightField,
                   *, half_span_mm: float = 50.0, what: str = "elliptic wedge") -> cq.Solid:
    """Wedge over an exact ellipse (x extent ``length_mm``, y extent ``width_mm``) centred on the origin."""
    face = cq.Face.makeFromWires(cq.Wire.makeEllipse(length_mm / 2, width_mm / 2, cq.Vector(0, 0, -half_span_mm),
                                                     cq.Vector(0, 0, 1), cq.Vector(1, 0, 0)))
    body = cq.Solid.extrudeLinear(face, cq.Vector(0, 0, 2 * half_span_mm))
    return solids.single_solid(solids.clip_between(body, lower, upper), what)


def frame_matrix(x_dir: Sequence[float], normal: Sequence[float]) -> np.ndarray:
    """Rotation whose columns are the local x, y, z axes of :func:`in_frame` in the patient frame."""
    z = np.asarray(normal, float) / np.linalg.norm(normal)
    x = np.asarray(x_dir, float) - np.dot(x_dir, z) * z
    x /= np.linalg.norm(x)
    return np.column_stack([x, np.cross(z, x), z])


def face_points(face: cq.Face, tolerance_mm: float = 0.05) -> np.ndarray:
    """Points on a B-rep face (its tessellation vertices), patient frame; shape (n, 3), n may be 0."""
    vertices, _ = face.tessellate(tolerance_mm, 0.2)
    return np.array([(v.x, v.y, v.z) for v in vertices]).reshape(-1, 3)


def faces_on_field(shape: cq.Shape, field: HeightField, sign: int, *, origin=(0.0, 0.0, 0.0),
                   rotation: np.ndarray | None = None, tol_mm: float = 0.01) -> tuple[cq.Face, ...]:
    """Faces of ``shape`` lying on the height field z = ``field``(x, y) of a local frame
    (``origin``, ``rotation`` from :func:`frame_matrix`; default the patient frame) whose
    outward normal points to ``sign`` (+1 up, −1 down) in that frame: the bearing faces after
    every boolean."""
    r = np.eye(3) if rotation is None else rotation
    picked = []
    for face in shape.Faces():
        n = r.T @ np.asarray(face.normalAt().toTuple())
        if sign * n[2] < 0.5:
            continue
        pts = (face_points(face) - np.asarray(origin, float)) @ r
        if np.abs(pts[:, 2] - field(pts[:, 0], pts[:, 1])).max() < tol_mm:
            picked.append(face)
    return tuple(picked)


def clip_planes(body: cq.Shape, z_lower: float, z_upper: float, slope_x: float = 0.0) -> cq.Shape:
    """``body`` between two analytic planes z = z_upper + slope_x·x and z = z_lower − slope_x·x
    (a sagittal wedge; exact planes keep the booleans fast, unlike B-spline height fields)."""
    top = cq.Face.makePlane(None, None, cq.Vector(0, 0, z_upper), cq.Vector(-slope_x, 0, 1))
    bottom = cq.Face.makePlane(None, None, cq.Vector(0, 0, z_lower), cq.Vector(slope_x, 0, 1))
    return body.intersect(solids.half_space(top, (0, 0, z_lower - 1e3))).intersect(
        solids.half_space(bottom, (0, 0, z_upper + 1e3)))
