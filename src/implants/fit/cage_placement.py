"""Footprint and placement of an interbody cage fitted in a real disc space (layer: fit).

Frames: meshes in the patient frame (+x anterior, +y left, +z superior, mm). The **cage frame** is
the disc-space frame (:mod:`implants.anatomy.disc_space`: z along the bisector of the endplate
normals, x anterior, origin at mid-disc height over the endplate centres) moved in its own x-y
plane to the cage centre, the centroid of the usable footprint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.local_frame import Frame
from ..anatomy.disc_space import DiscSpace
from ..implant_types.interbody_cage import TEMPLATE, CageGeometry, CageParams, derive
from .facing_surface import Field
from .footprint import PLANE_GRID_MM, footprint_grid, polygon_centroid
from .inputs import Anatomy, anatomy


def default_params(disc: DiscSpace) -> CageParams:
    """A cage for this disc space: the ALIF (lumbar) or ACDF (cervical) preset, its footprint
    scaled down in 0.5 mm steps until it lies inside the usable footprint."""
    depth = float(np.ptp(disc.footprint[:, 0]))
    preset = "cervical-acdf" if depth < 22.0 else "lumbar-alif"
    base = dict(TEMPLATE.presets[preset])
    centre = polygon_centroid(disc.footprint)
    for scale in np.arange(1.0, 0.2, -0.02):
        trial = dict(base, depth_mm=max(8.0, round(base["depth_mm"] * scale * 2) / 2),
                     width_mm=max(8.0, round(base["width_mm"] * scale * 2) / 2),
                     window_depth_mm=max(2.0, round(base["window_depth_mm"] * scale * 2) / 2),
                     window_width_mm=max(2.0, round(base["window_width_mm"] * scale * 2) / 2))
        try:
            p = TEMPLATE.make_params(preset, **trial)
        except ParameterError:
            continue
        if _fits(p, disc, centre):
            return p
    raise ParameterError(f"disc space: the usable footprint ({disc.footprint_area_mm2:.0f} mm²) holds no "
                         f"{preset} cage of depth_mm/width_mm >= 8 mm")


def _fits(p: CageParams, disc: DiscSpace, centre: np.ndarray) -> bool:
    outline = derive(p).outline + centre
    return bool(outlines.contains(disc.footprint, outline).all())


def bearing_region(p: CageParams, g: CageGeometry, spacing: float = PLANE_GRID_MM) -> np.ndarray:
    """Grid points (cage frame) of the footprint without the graft windows."""
    pts = footprint_grid(g.outline, spacing)
    keep = np.ones(len(pts), bool)
    for cx, cy in g.windows:
        w = outlines.rotate(outlines.rounded_rectangle(p.window_depth_mm, p.window_width_mm,
                                                       min(1.5, p.window_depth_mm / 3)), p.footprint_rotation_deg)
        keep &= ~outlines.contains(w + [cx, cy], pts)
    return pts[keep]


def place_cage(upper: Any, lower: Any, params: CageParams | None, axes: str | np.ndarray, margin_mm: float
               ) -> tuple[Anatomy, CageParams, CageGeometry, np.ndarray, Frame, Field, Field]:
    """The anatomy (``upper`` may be an :class:`Anatomy`, then ``lower`` is ignored), the cage's
    parameters (``params`` or :func:`default_params`; serrations off: they ride on planar faces of
    the synthetic cage only) and derived geometry, the cage centre (disc frame, mm), the cage frame,
    and the upper and lower endplate surfaces as z over cage-frame (x, y)."""
    anat = upper if isinstance(upper, Anatomy) else anatomy(upper, lower, axes, margin_mm)
    disc = anat.disc
    if params is None:
        params = default_params(disc)
    elif not isinstance(params, CageParams):
        raise ParameterError(f"params: expected CageParams, got {type(params).__name__}")
    if params.teeth_height_mm:
        params = params.model_copy(update={"teeth_height_mm": 0.0})
    centre = polygon_centroid(disc.footprint)
    g = derive(params)
    if not outlines.contains(disc.footprint, g.outline + centre).all():
        size = (float(np.ptp(disc.footprint[:, 0])), float(np.ptp(disc.footprint[:, 1])))
        raise ParameterError(
            f"depth_mm = {params.depth_mm}, width_mm = {params.width_mm}: the {params.footprint.value} footprint "
            f"does not fit inside the usable disc footprint ({size[0]:.1f} x {size[1]:.1f} mm, "
            f"{disc.footprint_area_mm2:.0f} mm², {disc.margin_mm} mm inside the endplate rims)")
    frame = disc.frame.moved_to((centre[0], centre[1], 0.0))

    def disc_upper(x, y):
        return disc.upper_z(np.asarray(x) + centre[0], np.asarray(y) + centre[1])

    def disc_lower(x, y):
        return disc.lower_z(np.asarray(x) + centre[0], np.asarray(y) + centre[1])

    return anat, params, g, centre, frame, disc_upper, disc_lower
