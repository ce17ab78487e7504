"""Implicit fields of the lattices, vectorised with numpy (no per-point Python callbacks)
(layer: porous).

Convention: a field ``f`` is negative in the solid. TPMS fields are written in cell
units (period 1); strut fields are distances in cell units. ``raw`` is the bare
surface function (g for the gyroid, d for the diamond, distance to the strut axes
for strut lattices) and the solid is

* sheet TPMS: ``|raw| <= iso``
* skeletal TPMS: ``raw <= iso``
* strut lattice: ``raw <= iso`` (``iso`` is then the strut radius in cell units)
"""

from __future__ import annotations

import numpy as np

from .params import LatticeType

TWO_PI = 2.0 * np.pi


def raw_grid(kind: LatticeType, ax: np.ndarray, ay: np.ndarray, az: np.ndarray) -> np.ndarray:
    """``raw`` on the grid ax × ay × az (cell units), float32, shape (nx, ny, nz).

    TPMS use separable products of 1-D sines and cosines (a few array operations per
    voxel); strut lattices use the distance to their axes."""
    ax, ay, az = (np.asarray(a, dtype=np.float64) for a in (ax, ay, az))
    if kind.is_tpms:
        sx, cx = np.sin(TWO_PI * ax).astype(np.float32), np.cos(TWO_PI * ax).astype(np.float32)
        sy, cy = np.sin(TWO_PI * ay).astype(np.float32), np.cos(TWO_PI * ay).astype(np.float32)
        sz, cz = np.sin(TWO_PI * az).astype(np.float32), np.cos(TWO_PI * az).astype(np.float32)
        X, Y, Z = np.s_[:, None, None], np.s_[None, :, None], np.s_[None, None, :]
        if kind in (LatticeType.GYROID_SHEET, LatticeType.GYROID_SKELETAL):
            out = sx[X] * cy[Y] + sy[Y] * cz[Z]
            out += sz[Z] * cx[X]
            return out
        out = (sx[X] * sy[Y]) * sz[Z]
        out += (sx[X] * cy[Y]) * cz[Z]
        out += (cx[X] * sy[Y]) * cz[Z]
        out += (cx[X] * cy[Y]) * sz[Z]
        return out
    gx, gy, gz = np.meshgrid(ax, ay, az, indexing="ij", sparse=True)
    return raw_points(kind, np.broadcast_arrays(gx, gy, gz)).astype(np.float32)


def raw_points(kind: LatticeType, p) -> np.ndarray:
    """``raw`` at points (cell units); ``p`` is (3, ...) or a sequence of three arrays."""
    x, y, z = (np.asarray(c, dtype=np.float64) for c in p)
    if kind in (LatticeType.GYROID_SHEET, LatticeType.GYROID_SKELETAL):
        u, v, w = TWO_PI * x, TWO_PI * y, TWO_PI * z
        return np.sin(u) * np.cos(v) + np.sin(v) * np.cos(w) + np.sin(w) * np.cos(u)
    if kind in (LatticeType.DIAMOND_SHEET, LatticeType.DIAMOND_SKELETAL):
        u, v, w = TWO_PI * x, TWO_PI * y, TWO_PI * z
        su, cu, sv, cv, sw, cw = np.sin(u), np.cos(u), np.sin(v), np.cos(v), np.sin(w), np.cos(w)
        return su * sv * sw + su * cv * cw + cu * sv * cw + cu * cv * sw
    # strut lattices: periodic coordinates in [0, 1)
    fx, fy, fz = x - np.floor(x), y - np.floor(y), z - np.floor(z)
    if kind is LatticeType.CUBIC:
        dx, dy, dz = np.minimum(fx, 1 - fx), np.minimum(fy, 1 - fy), np.minimum(fz, 1 - fz)
        return np.sqrt(np.minimum(np.minimum(dy * dy + dz * dz, dx * dx + dz * dz), dx * dx + dy * dy))
    # BCC: the four body diagonals of the cell (each through the centre); within a cell the
    # nearest strut is one of them (struts of neighbouring cells meet only at the corners).
    best = None
    q = np.stack([fx, fy, fz])
    for d in ((1, 1, 1), (-1, 1, 1), (1, -1, 1), (1, 1, -1)):
        dv = np.asarray(d, float) / np.sqrt(3.0)
        start = np.array([0.0 if c > 0 else 1.0 for c in d])
        rel = q - start.reshape(3, *([1] * (q.ndim - 1)))
        t = np.clip(np.tensordot(dv, rel, axes=1), 0.0, np.sqrt(3.0))
        diff = rel - dv.reshape(3, *([1] * (q.ndim - 1))) * t
        dist = np.sqrt((diff * diff).sum(axis=0))
        best = dist if best is None else np.minimum(best, dist)
    return best


def raw_gradient(kind: LatticeType, p) -> np.ndarray:
    """Gradient of ``raw`` (cell units) at points, shape (3, ...); central differences."""
    p = np.asarray(p, dtype=np.float64)
    eps = 1e-5
    out = np.empty_like(p)
    for i in range(3):
        a, b = p.copy(), p.copy()
        a[i] += eps
        b[i] -= eps
        out[i] = (raw_points(kind, a) - raw_points(kind, b)) / (2 * eps)
    return out


def solid_field(kind: LatticeType, raw: np.ndarray, iso: float) -> np.ndarray:
    """Field negative in the solid from ``raw`` (in place where possible)."""
    if kind.is_sheet:
        # g² − t²: smooth across the mid-surface (|g| − t has a kink there that linear
        # interpolation would misplace in thin sheets)
        raw *= raw
        raw -= np.float32(iso * iso)
        return raw
    raw -= np.float32(iso)
    return raw


def signed_offset(kind: LatticeType, p: np.ndarray, iso: float) -> tuple[np.ndarray, np.ndarray]:
    """First-order signed distance (cell units) of points (3, n) to the lattice surface,
    positive in the void, and the unit outward normal there (3, n): the solid's excess
    ``raw − iso`` (``|raw| − iso`` for sheets) over |∇raw|."""
    raw = raw_points(kind, p)
    grad = raw_gradient(kind, p)
    norm = np.maximum(np.sqrt((grad * grad).sum(axis=0)), 1e-9)
    if kind.is_sheet:
        return (np.abs(raw) - iso) / norm, grad * (np.where(raw >= 0, 1.0, -1.0) / norm)
    return (raw - iso) / norm, grad / norm


def surface_distance(kind: LatticeType, p: np.ndarray, iso: float) -> np.ndarray:
    """First-order distance (cell units) of points to the lattice surface: |f|/|∇f|."""
    return np.abs(signed_offset(kind, p, iso)[0])


def project(kind: LatticeType, p: np.ndarray, iso: float, steps: int = 2, max_step: float = 0.02) -> np.ndarray:
    """Newton steps moving points (3, n) onto the exact iso-surface (cell units)."""
    p = np.array(p, dtype=np.float64)
    for _ in range(steps):
        raw = raw_points(kind, p)
        grad = raw_gradient(kind, p)
        level = np.where(raw >= 0, iso, -iso) if kind.is_sheet else iso
        g2 = np.maximum((grad * grad).sum(axis=0), 1e-12)
        step = (raw - level) / g2
        # never move a vertex further than ``max_step`` per step (guards saddles, where ∇f → 0)
        move = grad * step
        norm = np.maximum(np.sqrt((move * move).sum(axis=0)), 1e-12)
        p -= move * np.minimum(1.0, max_step / norm)
    return p
