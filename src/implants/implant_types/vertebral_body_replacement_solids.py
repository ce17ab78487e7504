"""B-rep parts of the vertebral body replacement (layer: implant_types): the column with its end
platforms, the anterior flanges and a hinged rod clamp, made with CadQuery from the derived numbers
(:class:`~.vertebral_body_replacement_geometry.VBRGeometry`; mm, frame of ``vertebral_body_replacement``).

Imports the CAD kernel: ``vertebral_body_replacement.build`` imports this module when it builds, so
``implants list`` stays kernel-free.
"""

from __future__ import annotations

import cadquery as cq
import numpy as np

from ..geometry import columns, solids
from .vertebral_body_replacement_geometry import BOSS_WALL_MM, KNUCKLE_WALL_MM, Footprint, VBRGeometry, crossing_x


def footprint_prism(g: VBRGeometry, inset: bool, span: float) -> cq.Solid:
    """Vertical prism from −``span`` to ``span`` over the footprint (or the inset column outline);
    box footprints with exact circular corners."""
    if g.footprint is Footprint.BOX:
        i = g.inset if inset else 0.0
        radius = g.inset_corner_radius if inset else g.corner_radius
        return solids.rounded_box(g.depth - 2 * i, g.width - 2 * i, radius, -span, span)
    return solids.prism(g.inset_outline if inset else g.outline, -span, span, g.smooth)


def column(g: VBRGeometry, platform_thickness_mm: float, span: float, clip_method: str = "approx",
           clip_samples: int = 21) -> cq.Shape:
    """Column with its end platforms: the footprint prism between the end faces, minus a ring
    round the inset column between the platforms (cut by analytic planes: a fast boolean)."""
    full = solids.clip_between(footprint_prism(g, False, span), g.lower, g.upper, samples=clip_samples,
                               method=clip_method)
    if g.inset == 0:
        return full
    t = platform_thickness_mm
    big = 2 * (g.depth + g.width)
    outside = cq.Solid.makeBox(big, big, 2 * span, cq.Vector(-big / 2, -big / 2, -span)).cut(footprint_prism(g, True, span))
    slope = np.tan(np.radians(g.lordosis_deg) / 2)
    ring = columns.clip_planes(outside, -g.height_mm / 2 + t, g.height_mm / 2 - t, slope)
    return solids.single_solid(full.cut(ring).clean(), "column")


def flanges(g: VBRGeometry, platform_thickness_mm: float, flange_thickness_mm: float) -> list[cq.Solid]:
    """Anterior flange at each end: a plate on the adjacent body's anterior surface (x = endplate
    half-depth) joined to the column's anterior wall below the end face by a connector."""
    e = g.region.endplate_depth / 2
    fw = min(max(0.6 * g.width, 2 * (g.screw_diameter + 3.0)), g.width)
    ys = np.array([-fw / 2, 0.0, fw / 2])
    x_back = min(crossing_x(g.outline, float(y)) for y in np.clip(ys, -g.width / 2 + 0.5, g.width / 2 - 0.5)) - 1.5
    overlap = platform_thickness_mm + 3.0
    shapes = []
    for up, plane, face in ((1, g.upper_plane, g.upper), (-1, g.lower_plane, g.lower)):
        rim = float(plane(np.array(e), np.array(0.0)))
        z_end = rim + up * g.flange_extension
        z_in = rim - up * overlap
        shapes.append(solids.rounded_box(flange_thickness_mm, fw, 1.0, min(z_end, z_in), max(z_end, z_in),
                                         centre=(e + flange_thickness_mm / 2, 0.0)))
        xs = np.array([x_back, e])
        ends = [float(f(xs[i:i + 1], np.array([y]))[0]) for f in (plane, face) for i in range(2) for y in ys]
        z_top = (min(ends) - 0.3) if up > 0 else (max(ends) + 0.3)
        lo, hi = sorted((z_in, z_top))
        shapes.append(solids.rounded_box(e - x_back + 0.5, fw, 0.0, lo, hi, centre=((x_back + e + 0.5) / 2, 0.0)))
    return shapes


def rod_clamp(g: VBRGeometry, hinge_pin_mm: float, knuckle: np.ndarray,
              rod: np.ndarray) -> tuple[list[cq.Solid], list[cq.Solid], float]:
    """One hinged rod clamp: knuckle (hinge pin bore), arm, split ring round the rod bore and a
    lug with the clamp-screw bore, centred on z = 0. Returns (bodies, cutting tools, clamp height)."""
    hc = min(10.0, 0.5 * g.height_mm)
    k_d = hinge_pin_mm + 2 * KNUCKLE_WALL_MM
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
    pin = solids.cylinder((knuckle[0], knuckle[1], -hc / 2 - 1), (0, 0, 1), hinge_pin_mm, hc + 2)
    return [knuckle_body, arm, ring, lug], [ring_tool, clamp_screw, pin], hc
