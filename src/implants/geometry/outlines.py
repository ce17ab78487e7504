"""Closed 2D outlines (footprints, windows) as (N, 2) arrays in mm, counter-clockwise. Numpy only.

x is the first column (antero-posterior in the patient frame), y the second (medio-lateral).
"""

from __future__ import annotations

import numpy as np


def rounded_rectangle(depth_mm: float, width_mm: float, radius_mm: float, per_corner: int = 8) -> np.ndarray:
    """Rectangle of ``depth_mm`` (x) × ``width_mm`` (y) centred on the origin with corner radius."""
    r = min(radius_mm, depth_mm / 2 - 1e-3, width_mm / 2 - 1e-3)
    hx, hy = depth_mm / 2 - r, width_mm / 2 - r
    points = []
    for (cx, cy), start in (((hx, hy), 0), ((-hx, hy), 90), ((-hx, -hy), 180), ((hx, -hy), 270)):
        t = np.radians(np.linspace(start, start + 90, per_corner))
        points.append(np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)]))
    return np.vstack(points)


def rounded_rectangle_area(depth_mm: float, width_mm: float, radius_mm: float) -> float:
    """Exact area of :func:`rounded_rectangle`'s true shape (mm²)."""
    r = min(radius_mm, depth_mm / 2, width_mm / 2)
    return depth_mm * width_mm - (4 - np.pi) * r * r


def kidney(depth_mm: float, width_mm: float, posterior_recess_mm: float, n: int = 48) -> np.ndarray:
    """ALIF footprint: convex anterior edge, posterior edge recessed by ``posterior_recess_mm``
    at the midline (the shape of a lumbar endplate), centred on its bounding box."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = depth_mm / 2 * np.cos(t)
    y = width_mm / 2 * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** 0.6
    recess = posterior_recess_mm * np.exp(-((y / (0.35 * width_mm)) ** 2)) * (x < 0)
    x = np.where(x < 0, x * 0.85 + recess, x * 0.85)
    return np.column_stack([x - (x.max() + x.min()) / 2, y]) * [depth_mm / np.ptp(x), 1.0]


def bullet(length_mm: float, width_mm: float, nose_mm: float, n: int = 25) -> np.ndarray:
    """Straight cage with an elliptic nose of length ``nose_mm`` at −x (the insertion end),
    long axis along x, centred on its bounding box."""
    hw, hl = width_mm / 2, length_mm / 2
    t = np.linspace(np.pi / 2, 3 * np.pi / 2, n)
    nose = np.column_stack([-hl + nose_mm + nose_mm * np.cos(t), hw * np.sin(t)])
    back = np.array([[hl - 0.5, -hw], [hl, -hw + 0.5], [hl, hw - 0.5], [hl - 0.5, hw]])
    return np.vstack([back, nose])


def banana(chord_mm: float, thickness_mm: float, sagitta_mm: float, n: int = 24) -> np.ndarray:
    """TLIF banana: a curved strip of ``thickness_mm`` whose centre line is an arc of chord
    ``chord_mm`` along y bulging anteriorly (+x) by ``sagitta_mm``; rounded ends."""
    radius = (chord_mm ** 2 / 4 + sagitta_mm ** 2) / (2 * sagitta_mm)
    centre_x = sagitta_mm - radius
    half = np.arcsin(chord_mm / 2 / radius)
    t = np.linspace(-half, half, n)
    outer = np.column_stack([centre_x + (radius + thickness_mm / 2) * np.cos(t),
                             (radius + thickness_mm / 2) * np.sin(t)])
    inner = np.column_stack([centre_x + (radius - thickness_mm / 2) * np.cos(t[::-1]),
                             (radius - thickness_mm / 2) * np.sin(t[::-1])])
    cap = np.linspace(0, np.pi, 9)[1:-1]

    def end(angle: float, start: float) -> np.ndarray:
        cx, cy = centre_x + radius * np.cos(angle), radius * np.sin(angle)
        phi = angle + start + cap
        return np.column_stack([cx + thickness_mm / 2 * np.cos(phi), cy + thickness_mm / 2 * np.sin(phi)])

    outline = np.vstack([outer, end(half, 0.0), inner, end(-half, np.pi)])
    return outline - [(outline[:, 0].max() + outline[:, 0].min()) / 2, 0.0]


def rotate(outline: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate an outline about the origin (counter-clockwise seen from +z)."""
    a = np.radians(angle_deg)
    return outline @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])


def inset(outline: np.ndarray, distance_mm: float) -> np.ndarray:
    """Counter-clockwise outline moved inwards by ``distance_mm`` (each vertex along the bisector
    of its two edge normals, mitred; for small distances against the outline's radii)."""
    edges = np.roll(outline, -1, axis=0) - outline
    normals = np.column_stack([edges[:, 1], -edges[:, 0]]) / np.linalg.norm(edges, axis=1)[:, None]  # outward
    before = np.roll(normals, 1, axis=0)
    bisector = normals + before
    bisector /= np.linalg.norm(bisector, axis=1)[:, None]
    miter = distance_mm / np.clip((bisector * normals).sum(axis=1), 0.3, None)
    return outline - bisector * miter[:, None]


def polygon_area(outline: np.ndarray) -> float:
    """Shoelace area (mm²) of a closed outline."""
    x, y = outline[:, 0], outline[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def contains(outline: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test for (M, 2) points: a point is inside when a ray towards −x
    crosses the outline an odd number of times (an edge counts for y in [its lower y, its upper y)).
    The points are sorted by y once, so each edge tests only those in its band of y."""
    points = np.atleast_2d(points)
    order = np.argsort(points[:, 1], kind="stable")
    xs, ys = points[order, 0], points[order, 1]
    x0, y0 = outline[:, 0], outline[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    lo = np.searchsorted(ys, np.minimum(y0, y1))
    hi = np.searchsorted(ys, np.maximum(y0, y1))
    odd = np.zeros(len(points), bool)
    for k in np.flatnonzero(hi > lo):
        band = slice(lo[k], hi[k])
        odd[band] ^= xs[band] < (x1[k] - x0[k]) * (ys[band] - y0[k]) / (y1[k] - y0[k]) + x0[k]
    inside = np.zeros(len(points), bool)
    inside[order] = odd
    return inside


def min_distance_to_edges(outline: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance (mm) from each of (M, 2) points to the nearest outline edge (one edge at a time:
    no (M, N) temporaries)."""
    p = np.atleast_2d(points)
    px, py = p[:, 0], p[:, 1]
    nearest = np.full(len(p), np.inf)
    for (ax, ay), (bx, by) in zip(outline, np.roll(outline, -1, axis=0)):
        abx, aby = bx - ax, by - ay
        length2 = max(abx * abx + aby * aby, 1e-300)  # zero-length edges: t = 0, the vertex itself
        t = np.clip(((px - ax) * abx + (py - ay) * aby) / length2, 0, 1)
        dx, dy = ax + t * abx - px, ay + t * aby - py
        np.minimum(nearest, np.sqrt(dx * dx + dy * dy), out=nearest)
    return nearest
