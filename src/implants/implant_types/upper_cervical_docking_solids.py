"""B-rep parts of the upper cervical docking implant (layer: implant_types): the T crossbar, the
clivus plate and the condyle crossbar on top of the body, and the docking surface picked from the
finished solid by the shape of its faces. Millimetres and degrees; frame of ``upper_cervical_docking``.

Imports the CAD kernel: ``upper_cervical_docking.build`` imports this module when it builds, so
``implants list`` stays kernel-free.
"""

from __future__ import annotations

import cadquery as cq
import numpy as np
from OCP.BRepAdaptor import BRepAdaptor_Surface
from OCP.GeomAbs import GeomAbs_BSplineSurface, GeomAbs_Cone, GeomAbs_Sphere, GeomAbs_Torus

from .upper_cervical_docking_geometry import C0Target, Docking, DockingGeometry, SaddleProfile


def round_vertical(box: cq.Solid, radius: float, axis: str) -> cq.Solid:
    """Fillet the four edges of ``box`` parallel to ``axis`` (its thickness direction)."""
    index = {"x": 0, "y": 1, "z": 2}[axis]
    edges = [e for e in box.Edges() if abs(e.tangentAt(0).toTuple()[index]) > 0.99]
    return box.fillet(radius, edges) if radius > 0 else box


def t_crossbar(front_x: float, seat_z: float, thickness_mm: float, span_mm: float, height_mm: float) -> cq.Solid:
    """T crossbar across the C1 lateral masses: flush with the anterior face (x = ``front_x``),
    rising ``height_mm`` above the body top at ``seat_z`` and reaching into the body to fuse."""
    overlap = min(4.0, seat_z / 2)
    bar = cq.Solid.makeBox(thickness_mm, span_mm, height_mm + overlap,
                           cq.Vector(front_x - thickness_mm, -span_mm / 2, seat_z - overlap))
    return round_vertical(bar, min(3.0, height_mm / 3), axis="x")


def clivus_plate(front_x: float, seat_z: float, thickness_mm: float, width_mm: float, height_mm: float,
                 tilt_deg: float) -> cq.Solid:
    """Plate on the clivus: standing on the anterior top edge of the body (``front_x``, ``seat_z``),
    leaning back by ``tilt_deg`` from vertical, its foot reaching 3 mm into the body."""
    plate = cq.Solid.makeBox(thickness_mm, width_mm, height_mm + 3.0, cq.Vector(-thickness_mm, -width_mm / 2, -3.0))
    plate = round_vertical(plate, 3.0, axis="x")
    return plate.rotate(cq.Vector(), cq.Vector(0, 1, 0), tilt_deg).translate((front_x, 0, seat_z))


def condyle_crossbar(seat_z: float, depth_mm: float, span_mm: float, thickness_mm: float) -> cq.Solid:
    """Crossbar under the occipital condyles lying on the body top at ``seat_z``."""
    bar = cq.Solid.makeBox(depth_mm, span_mm, thickness_mm, cq.Vector(-depth_mm / 2, -span_mm / 2, seat_z - 0.0))
    return round_vertical(bar, min(4.0, depth_mm / 3), axis="z")


def _surface_kind(face: cq.Face):
    return BRepAdaptor_Surface(face.wrapped).GetType()


def docking_faces(shape: cq.Shape, g: DockingGeometry, docking: Docking, profile: SaddleProfile,
                  c0_target: C0Target, crossbar_back_x: float, plate_tilt_deg: float,
                  crossbar_top_z: float) -> tuple[str, tuple[cq.Face, ...], tuple[float, float, float]]:
    """Name the docking surface after all booleans: (feature name, faces, outward direction).
    ``crossbar_back_x``: the posterior face of the T crossbar; ``plate_tilt_deg``: the clivus plate's
    lean; ``crossbar_top_z``: the top of the condyle crossbar."""
    if docking is Docking.SADDLE and profile is SaddleProfile.FITTED:
        # the fitted groove: the upward B-spline faces between the seat and the horns (the lower face
        # lies far below the seat, the flat horns at the body top are B-spline planes at top_z)
        faces = tuple(f for f in shape.Faces() if _surface_kind(f) == GeomAbs_BSplineSurface
                      and f.normalAt().z > 0 and f.BoundingBox().zmin > g.seat_z_mm - 1.0
                      and f.BoundingBox().zmin < g.top_z_mm - 1e-3)
        return "docking.c1", faces, (0, 0, 1)
    if docking is Docking.SADDLE:
        kinds = (GeomAbs_Torus, GeomAbs_Cone) if profile is SaddleProfile.V else (GeomAbs_Torus,)
        faces = tuple(f for f in shape.Faces() if _surface_kind(f) in kinds and f.Center().z > g.seat_z_mm - 1e-3)
        return "docking.c1", faces, (0, 0, 1)
    if docking is Docking.LATERAL_MASS:
        faces = tuple(f for f in shape.Faces() if _surface_kind(f) == GeomAbs_Sphere)
        return "docking.c0", faces, (0, 0, 1)
    if docking is Docking.T_EXPANSION:
        faces = tuple(f for f in shape.Faces() if f.normalAt().x < -0.99 and abs(f.Center().x - crossbar_back_x) < 1e-3
                      and f.Center().z > g.seat_z_mm)
        return "docking.c1", faces, (-1, 0, 0)
    if c0_target is C0Target.CLIVUS:
        tilt = np.radians(plate_tilt_deg)
        inner = np.array([-np.cos(tilt), 0.0, np.sin(tilt)])
        faces = tuple(f for f in shape.Faces() if np.dot(f.normalAt().toTuple(), inner) > 0.99
                      and f.Center().z > g.seat_z_mm)
        return "docking.c0", faces, tuple(-inner)
    faces = tuple(f for f in shape.Faces() if f.normalAt().z > 0.99 and abs(f.Center().z - crossbar_top_z) < 1e-3)
    return "docking.c0", faces, (0, 0, 1)
