"""The footprint of a fitted implant in its local frame (layer: fit): its centroid, a grid of
points over it, least-squares planes of height fields over those points, and the samples of the
interpolating B-spline faces built over it. numpy; mm.
"""

from __future__ import annotations

import numpy as np

from ..geometry import outlines
from .facing_surface import Field

#: Grid spacing (mm) of the plane fits over a footprint.
PLANE_GRID_MM = 0.5


def polygon_centroid(poly: np.ndarray) -> np.ndarray:
    """Area centroid (x, y) of the closed polygon ``poly`` (N, 2), mm."""
    x, y = poly[:, 0], poly[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    a = cross.sum() / 2
    return np.array([((x + xn) * cross).sum() / (6 * a), ((y + yn) * cross).sum() / (6 * a)])


def footprint_grid(outline: np.ndarray, spacing: float = PLANE_GRID_MM) -> np.ndarray:
    """Points (N, 2) of a grid ``spacing`` apart (cell centres of the outline's box) inside ``outline``."""
    xs = np.arange(outline[:, 0].min() + spacing / 2, outline[:, 0].max(), spacing)
    ys = np.arange(outline[:, 1].min() + spacing / 2, outline[:, 1].max(), spacing)
    pts = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    return pts[outlines.contains(outline, pts)]


def face_samples(outline: np.ndarray, spacing_mm: float, most: int = 101) -> int:
    """Samples per side (21 to ``most``) of an interpolating B-spline face over the outline's box
    grown by 2 mm on each side (the template's clip box), about ``spacing_mm`` apart."""
    span = float(np.ptp(outline, axis=0).max()) + 4.0
    return int(np.clip(np.ceil(span / spacing_mm) + 1, 21, most))


def plane_fit(field: Field, pts: np.ndarray) -> np.ndarray:
    """Least-squares plane (a, b, c) of z = field over ``pts``: z ≈ a + b·x + c·y."""
    z = field(pts[:, 0], pts[:, 1])
    coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(pts)), pts]), z, rcond=None)
    return coef
