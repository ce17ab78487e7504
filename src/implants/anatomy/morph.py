"""Smooth space deformations of closed bone meshes: landmark thin-plate splines and region bends
(layer: anatomy).

A deformation moves the vertices and keeps the triangles, so a closed, consistently wound mesh
stays closed and wound the same way; what can go wrong is a fold (the surface passing through
itself, or turning inside out), which :func:`fold_report` detects after the fact.

- :func:`landmark_morph`: the thin-plate-spline (TPS) space deformation that carries ``source``
  landmarks (N×3, mm) exactly (``smoothing=0``) or nearly onto ``target`` landmarks and moves
  every other point smoothly (minimum bending energy); an affine landmark set gives that affine
  map exactly. Residuals at the landmarks are reported. Used to build the generated thoracic
  levels from a real template.
- :class:`ThinPlateMap`: the same spline for fixed source landmarks and fixed points as one
  linear operator, so one mesh is morphed to many targets by a matrix product each (the
  synthetic patients of :mod:`.patient_morph`).
- :func:`bend`: rotate a soft region (per-vertex weight 0…1) about an axis, the angle growing with
  the weight: a spinous or transverse process tilted at its root.
- :func:`twist`: rotate what lies near an axis by an angle that depends only on the distance from
  the axis and the position along it, a one-to-one map of space for any angle (an articular
  process turned about its own long axis without folding).
- :func:`dimple`: push the surface inwards in a smooth cap (a shallow articular facet).
- :func:`smoothstep`: the weight ramp the region helpers use.

Coordinates are whatever frame the mesh is in (mm); nothing here assumes the patient frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from ..errors import ParameterError


@dataclass(frozen=True)
class MorphResult:
    """A deformed mesh and how well the deformation met its landmarks."""

    mesh: trimesh.Trimesh
    residuals_mm: np.ndarray  # (N,) distance between each moved source landmark and its target

    @property
    def max_residual_mm(self) -> float:
        return float(self.residuals_mm.max()) if len(self.residuals_mm) else 0.0


def _points(name: str, value, columns: int = 3) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim != 2 or array.shape[1] != columns:
        raise ParameterError(f"{name}: expected an (N, {columns}) array of points in mm, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ParameterError(f"{name}: every coordinate must be a finite number (mm)")
    return array


def _source_landmarks(value) -> np.ndarray:
    """Validated source landmarks: N ≥ 4 points (mm), not in one plane, no two at one place."""
    source = _points("source_landmarks", value)
    if len(source) < 4:
        raise ParameterError(f"source_landmarks: {len(source)} points; at least 4 (not coplanar) are needed")
    centred = source - source.mean(axis=0)
    if np.linalg.matrix_rank(centred, tol=1e-6 * max(1.0, float(np.abs(centred).max()))) < 3:
        raise ParameterError("source_landmarks: the points lie in one plane or line; a 3D deformation needs "
                             "at least 4 points not in one plane")
    if len(np.unique(np.round(source, 9), axis=0)) < len(source):
        raise ParameterError("source_landmarks: two landmarks are at the same place")
    return source


def _target_landmarks(source: np.ndarray, value) -> np.ndarray:
    """Validated target landmarks: one finite point (mm) per source landmark."""
    target = _points("target_landmarks", value)
    if source.shape != target.shape:
        raise ParameterError(f"target_landmarks: {len(target)} points for {len(source)} source_landmarks; "
                             "give one target per source landmark")
    return target


def landmark_morph(mesh: trimesh.Trimesh, source_landmarks, target_landmarks, smoothing: float = 0.0) -> MorphResult:
    """Deform ``mesh`` by the thin-plate spline that maps ``source_landmarks`` onto
    ``target_landmarks`` (both N×3, mm, N ≥ 4 and not all in one plane).

    ``smoothing`` ≥ 0 trades exactness at the landmarks for a smoother map (0: interpolate).
    The result keeps the triangles of ``mesh``; its residuals are measured at the landmarks.
    ParameterError names the field that is wrong."""
    source = _source_landmarks(source_landmarks)
    target = _target_landmarks(source, target_landmarks)
    if not (np.isfinite(smoothing) and smoothing >= 0):
        raise ParameterError(f"smoothing = {smoothing}: allowed ≥ 0")
    spline = RBFInterpolator(source, target - source, kernel="thin_plate_spline", smoothing=smoothing, degree=1)
    vertices = np.asarray(mesh.vertices, float)
    moved = vertices + spline(vertices)
    residuals = np.linalg.norm(source + spline(source) - target, axis=1)
    return MorphResult(trimesh.Trimesh(moved, np.asarray(mesh.faces), process=False), residuals)


class ThinPlateMap:
    """The thin-plate-spline deformation of fixed ``source_landmarks`` (N×3, mm) evaluated at fixed
    ``points`` (M×3, mm), as one linear operator: for any targets, the moved points are
    ``points + operator @ (target − source)`` (the same interpolating spline with a linear part as
    :func:`landmark_morph` with ``smoothing=0``, up to rounding). Built once (O(M N) memory), it
    morphs the same mesh to many landmark targets with one matrix product each."""

    def __init__(self, source_landmarks, points):
        self.source = _source_landmarks(source_landmarks)
        self.points = _points("points", points)
        centre = self.source.mean(axis=0)
        scale = float(np.abs(self.source - centre).max())
        n = len(self.source)
        system = np.zeros((n + 4, n + 4))
        system[:n, :n] = _thin_plate_kernel(self.source, self.source, scale)
        system[:n, n:] = _linear_basis(self.source, centre, scale)
        system[n:, :n] = system[:n, n:].T
        # kernel and linear part at the points times the inverse system's first n columns
        evaluation = np.hstack([_thin_plate_kernel(self.points, self.source, scale),
                                _linear_basis(self.points, centre, scale)])
        self.operator = evaluation @ np.linalg.solve(system, np.vstack([np.eye(n), np.zeros((4, n))]))

    def moved(self, target_landmarks) -> np.ndarray:
        """The points (M×3, mm) moved by the spline that carries the source landmarks onto
        ``target_landmarks`` (N×3, mm)."""
        target = _target_landmarks(self.source, target_landmarks)
        return self.points + self.operator @ (target - self.source)


def _thin_plate_kernel(points: np.ndarray, centres: np.ndarray, scale: float) -> np.ndarray:
    """r² log r between points and centres (distances over ``scale``; any scale gives the same
    spline, it only keeps the numbers near 1)."""
    r = cdist(points, centres) / scale
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, r * r * np.log(r), 0.0)


def _linear_basis(points: np.ndarray, centre: np.ndarray, scale: float) -> np.ndarray:
    """[1, x, y, z] of the points, centred and scaled (the spline's affine part)."""
    return np.hstack([np.ones((len(points), 1)), (points - centre) / scale])


def smoothstep(value, start: float, end: float) -> np.ndarray:
    """0 below ``start``, 1 beyond ``end``, a C¹ cubic ramp between (``start`` > ``end`` ramps down)."""
    t = np.clip((np.asarray(value, float) - start) / (end - start), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bend(vertices: np.ndarray, weights: np.ndarray, centre, axis, angle_deg: float) -> np.ndarray:
    """Rotate each vertex about the axis through ``centre`` by ``angle_deg`` × its weight.

    Weights that rise smoothly from 0 at a process's root to 1 along it tilt the process without
    tearing it from the rest of the bone."""
    vertices = _points("vertices", vertices)
    weights = np.asarray(weights, float)
    if weights.shape != (len(vertices),):
        raise ParameterError(f"weights: one weight per vertex expected ({len(vertices)}), got {weights.shape}")
    centre = np.asarray(centre, float)
    moved = vertices.copy()
    active = weights > 0
    if not active.any():
        return moved
    angles = np.radians(angle_deg * weights[active])
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    p = vertices[active] - centre
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    # Rodrigues' rotation, one angle per vertex
    rotated = p * cos + np.cross(k, p) * sin + np.outer(p @ k, k) * (1.0 - cos)
    moved[active] = rotated + centre
    return moved


def twist(vertices: np.ndarray, centre, axis, angle_deg: float, radius_mm: float, falloff_mm: float,
          start_mm: float, full_mm: float) -> np.ndarray:
    """Rotate each vertex about the axis through ``centre`` by ``angle_deg`` × w, where w is 1
    within ``radius_mm`` of the axis and falls smoothly to 0 at ``radius_mm + falloff_mm``, times
    a ramp along the axis from 0 at ``start_mm`` to 1 at ``full_mm`` (axial coordinates measured
    from ``centre``; ``full_mm`` < ``start_mm`` ramps the other way).

    The distance from the axis and the axial coordinate are unchanged and the angle about the
    axis shifts by a function of those two only, so the map is one-to-one for any angle: it cannot
    fold space (a surface can still fold if its triangles are coarse against the twist gradient,
    which :func:`fold_report` detects)."""
    if radius_mm < 0 or falloff_mm <= 0 or start_mm == full_mm:
        raise ParameterError(f"twist radius {radius_mm} mm / falloff {falloff_mm} mm / ramp {start_mm}→{full_mm} mm: "
                             "radius ≥ 0, falloff > 0, start ≠ full")
    vertices = _points("vertices", vertices)
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    offset = vertices - np.asarray(centre, float)
    along = offset @ k
    rho = np.linalg.norm(offset - np.outer(along, k), axis=1)
    weights = smoothstep(rho, radius_mm + falloff_mm, radius_mm) * smoothstep(along, start_mm, full_mm)
    return bend(vertices, weights, centre, k, angle_deg)


def dimple(mesh: trimesh.Trimesh, centre, radius_mm: float, depth_mm: float) -> np.ndarray:
    """Vertices of ``mesh`` pushed inwards (against their normals) in a smooth cap of
    ``radius_mm`` around ``centre`` (the surface point nearest to it), ``depth_mm`` deep at the
    middle: a shallow joint facet. Returns the new vertices."""
    if radius_mm <= 0 or depth_mm < 0:
        raise ParameterError(f"dimple radius {radius_mm} mm / depth {depth_mm} mm: radius > 0, depth ≥ 0")
    vertices = np.asarray(mesh.vertices, float)
    nearest = vertices[np.argmin(np.linalg.norm(vertices - np.asarray(centre, float), axis=1))]
    distance = np.linalg.norm(vertices - nearest, axis=1)
    inside = distance < radius_mm
    normal = mesh.vertex_normals[inside].mean(axis=0)
    normal /= np.linalg.norm(normal)
    profile = (1.0 - (distance[inside] / radius_mm) ** 2) ** 2
    moved = vertices.copy()
    moved[inside] -= normal * (depth_mm * profile)[:, None]
    return moved


def _segment_hits(p0, p1, a, b, c) -> np.ndarray:
    """Vectorised: does segment p0→p1 cross triangle abc (strictly inside both)?"""
    eps = 1e-9
    e1, e2, d = b - a, c - a, p1 - p0
    h = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, h)
    ok = np.abs(det) > eps
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = p0 - a
    u = inv * np.einsum("ij,ij->i", s, h)
    q = np.cross(s, e1)
    v = inv * np.einsum("ij,ij->i", d, q)
    t = inv * np.einsum("ij,ij->i", e2, q)
    return ok & (u > eps) & (v > eps) & (u + v < 1 - eps) & (t > eps) & (t < 1 - eps)


def fold_report(mesh: trimesh.Trimesh) -> int:
    """Number of pairs of triangles that cross each other without sharing a vertex (0 for a
    surface without self-intersections). Candidate pairs come from a k-d tree on the triangle
    centroids; each pair is tested edge against triangle both ways."""
    triangles = np.asarray(mesh.triangles, float)
    faces = np.asarray(mesh.faces)
    centroids = triangles.mean(axis=1)
    radius = np.linalg.norm(triangles - centroids[:, None], axis=2).max(axis=1)
    typical = float(np.percentile(radius, 99))
    tree = cKDTree(centroids)
    pairs = [tree.query_pairs(2.0 * typical, output_type="ndarray").reshape(-1, 2)]
    for big in np.flatnonzero(radius > typical):  # the few large triangles: their own reach
        near = np.asarray(tree.query_ball_point(centroids[big], radius[big] + radius.max()), int)
        pairs.append(np.column_stack([np.full(len(near), big), near]))
    pairs = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if not len(pairs):
        return 0
    shared = (faces[pairs[:, 0]][:, :, None] == faces[pairs[:, 1]][:, None, :]).any(axis=(1, 2))
    pairs = pairs[~shared]
    crossing = np.zeros(len(pairs), bool)
    for first, second in ((0, 1), (1, 0)):
        tri_a, tri_b = triangles[pairs[:, first]], triangles[pairs[:, second]]
        for i, j in ((0, 1), (1, 2), (2, 0)):
            crossing |= _segment_hits(tri_a[:, i], tri_a[:, j], tri_b[:, 0], tri_b[:, 1], tri_b[:, 2])
    return int(crossing.sum())
