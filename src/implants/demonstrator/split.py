"""Splitting a vertebra that prints badly in one piece (layer: demonstrator): two halves cut on its
transverse mid-plane that print cut face down, keyed by two dowels of different diameters (separate
pin parts) so the halves go together one way only. Millimetres at print scale, patient frame.
"""

from __future__ import annotations

import numpy as np

from . import meshops
from .model import Part

#: a bone whose best orientation leaves more overhang than this fraction of its area is split
SPLIT_OVERHANG_FRACTION = 0.12
DOWEL_D_MM = (4.0, 3.0)    # two diameters: the halves fit one way only
DOWEL_DEPTH_MM = 5.0


def split_bone(part: Part, frame: np.ndarray, clearance: float) -> list[Part]:
    """Split a bone on its transverse mid-plane (``frame``'s origin, normal = its z; 4×4 body-centre
    frame) with two dowel holes of different diameters (``clearance`` mm radial and at the ends);
    returns the two halves (superior, inferior; each with its cut face as ``print_down``) and the two
    dowel pins."""
    origin, normal = frame[:3, 3], frame[:3, 2] / np.linalg.norm(frame[:3, 2])
    x_axis = frame[:3, 0] / np.linalg.norm(frame[:3, 0])
    y_axis = np.cross(normal, x_axis)
    size = part.mesh.extents
    spots = [origin + 0.18 * size.min() * x_axis + 0.2 * size.min() * y_axis,
             origin + 0.18 * size.min() * x_axis - 0.25 * size.min() * y_axis]
    holes, pins = [], []
    for d, p in zip(DOWEL_D_MM, spots):
        r_hole = d / 2 + clearance
        holes.append(meshops.rod(r_hole, p - normal * (DOWEL_DEPTH_MM + clearance),
                                 p + normal * (DOWEL_DEPTH_MM + clearance)))
        pins.append(meshops.rod(d / 2, p - normal * DOWEL_DEPTH_MM, p + normal * DOWEL_DEPTH_MM))
    cut = meshops.boolean(part.mesh, cut=holes)
    solid = meshops.to_manifold(cut)
    # the transverse plane nearest the body's mid-height that leaves each half in one piece
    centre = float(origin @ normal)
    height = float(np.ptp(part.mesh.vertices @ normal))
    upper = lower = None
    for shift in sorted(np.linspace(-0.35, 0.35, 15) * height, key=abs):
        upper, lower = solid.split_by_plane(tuple(map(float, normal)), centre + float(shift))
        if len(upper.decompose()) == 1 and len(lower.decompose()) == 1:
            break
    out = []
    for tag, half, down in (("superior", upper, -normal), ("inferior", lower, normal)):
        mesh, dropped = meshops.largest_body(meshops.from_manifold(half))
        p = Part(f"{part.name}.{tag}", "bone", mesh, notes=[f"half of {part.name}, cut face down"],
                 print_down=tuple(map(float, down)))
        if dropped:
            p.notes.append(f"{dropped} small fragment(s) dropped")
        out.append(p)
    for d, pin in zip(DOWEL_D_MM, pins):
        out.append(Part(f"{part.name}.dowel_{d:g}mm", "pin", pin, notes=[f"dowel Ø{d:g} mm keying {part.name}"]))
    return out
