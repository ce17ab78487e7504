"""A small search over a bone's pose that seats it best on an implant (layer: placement).

Some implant faces are not congruent with the real bone they meet (a domed base on a saddle-shaped
cervical endplate, a round saddle groove under an oval C1 arch, a plate on three bodies of one
lordotic neck): the pose that a rule derives from the template's origin then touches at a point.
:func:`seat_search` turns the bones about a pivot (the contact point) within stated anatomical
limits, and shifts them across the approach direction when asked, brings them onto the implant
along that direction (as :func:`~.poses.approach`: backed off, then moved until rays meet) and keeps
the pose with the largest contact, penalised by any penetration deeper than the contact tolerance.
A trial moves no mesh: points spread over the implant's surface (:data:`SAMPLE_SPACING_MM`) are
taken into each bone's packaged coordinates, where an exact closest-point tree of the bone is built
once (:class:`~implants.checks.closest_point.ClosestPointTree`): the area the points within the contact tolerance stand for, the depth of those
inside (the seating report, :mod:`.seating`, then measures the chosen pose exactly). The search is
a pattern search: from the rule's pose, each degree of freedom is tried one step either way, the
best improvement is taken, the steps are halved when none improves (a few dozen trials; a pose
already tried is not measured again). Patient frame, mm, degrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import trimesh

from .. import tolerances
from ..checks.closest_point import ClosestPointTree
from ..geometry.frames import rotation_matrix
from .bones import Bone, body_frame, native_mesh, translation
from .poses import first_hit

#: spacing (mm) of the implant surface points measured during the search (one per spacing²)
SAMPLE_SPACING_MM = 0.3
#: only the implant surface within this distance (mm) of the bones in the rule's pose is measured:
#: the searched motions (a few degrees about the contact, a few mm) bring no farther surface into contact
NEAR_MM = 6.0
#: the deepest penetration a trial may have (mm): a point this deep lies within the contact tolerance
PENETRATION_LIMIT_MM = tolerances.CONTACT_TOLERANCE_MM
#: score lost per mm of penetration beyond the limit (a pose deeper in bone must touch far more to win)
PENETRATION_PENALTY = 1000.0
#: halvings of the steps before the search stops
REFINEMENTS = 2


@dataclass(frozen=True)
class Freedom:
    """One degree of freedom of the search: a rotation (deg) about ``axis`` through the pivot, or a
    translation (mm) along ``axis`` (``turn=False``), within ±``limit`` in steps of ``step``."""

    axis: tuple[float, float, float]
    limit: float
    step: float
    turn: bool = True


def rotation_about(pivot, axis, angle_deg: float) -> np.ndarray:
    """4×4 rotation of ``angle_deg`` about ``axis`` through ``pivot``."""
    m = np.eye(4)
    m[:3, :3] = rotation_matrix(axis, angle_deg)
    return translation(*pivot) @ m @ translation(*(-np.asarray(pivot, float)))


def pose_change(freedoms: Sequence[Freedom], values: Sequence[float], pivot) -> np.ndarray:
    """4×4 motion of the searched values: the translations, then the rotations about the moved pivot."""
    shift = sum((np.asarray(f.axis, float) * v for f, v in zip(freedoms, values) if not f.turn), np.zeros(3))
    m = translation(*shift)
    for f, v in zip(freedoms, values):
        if f.turn and v:
            m = rotation_about(np.asarray(pivot, float) + shift, f.axis, v) @ m
    return m


@cache
def native_tree(level: str) -> ClosestPointTree:
    """The exact closest-point tree of the packaged ``level`` in its own coordinates (built once per
    level and kept: the packaged meshes never move)."""
    mesh = native_mesh(level)
    return ClosestPointTree(mesh.vertices, mesh.faces)


def native_gaps(level: str, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (mm) of ``points`` (in ``level``'s packaged coordinates) to its surface and whether
    each lies inside (behind the closest face's plane; near an edge or corner this sign can err,
    where :meth:`ClosestPointTree.side` would not, but with that sign the search moves the anterior
    plate off C4: kept as measured; the seating report measures the chosen pose exactly)."""
    tree = native_tree(level)
    d2, tri, closest = tree.nearest(points)
    return np.sqrt(d2), np.einsum("ij,ij->i", points - closest, tree.normal[tri]) < 0


def surface_samples(mesh: trimesh.Trimesh, spacing_mm: float = SAMPLE_SPACING_MM) -> tuple[np.ndarray, np.ndarray]:
    """Points spread over ``mesh``'s surface, about one per ``spacing_mm``² (seeded: the same points
    every time), and the area (mm²) each stands for."""
    count = max(1, int(mesh.area / spacing_mm ** 2))
    points, _ = trimesh.sample.sample_surface(mesh, count, seed=0)
    return np.asarray(points), np.full(count, mesh.area / count)


def measured_areas(implant: trimesh.Trimesh, bones: Sequence[Bone]) -> list[float]:
    """Contact area (mm²) of ``implant`` with each of ``bones`` (packaged, rigidly placed), as the search
    measures it (:data:`SAMPLE_SPACING_MM`)."""
    points, weights = surface_samples(implant)
    areas = []
    for bone in bones:
        inv = np.linalg.inv(bone.frame @ np.linalg.inv(body_frame(bone.name)))
        gap, _ = native_gaps(bone.name, points @ inv[:3, :3].T + inv[:3, 3])
        areas.append(float(weights[gap <= tolerances.CONTACT_TOLERANCE_MM].sum()))
    return areas


def _settle_distance(placements: list[np.ndarray], levels: list[str], implant: trimesh.Trimesh, d: np.ndarray) -> float:
    """How far (mm) bones at ``placements`` (4×4, scene ← packaged) move along ``d`` before touching
    ``implant``: rays from the bones' vertices and, in each bone's own coordinates (its ray tree is
    built once), from the implant's vertices backwards, as :func:`~.poses.settle`; +inf when nothing lies ahead."""
    best = np.inf
    for m, level in zip(placements, levels):
        bone = native_mesh(level)
        best = min(best, first_hit(implant, bone.vertices @ m[:3, :3].T + m[:3, 3], d))
        inv = np.linalg.inv(m)
        best = min(best, first_hit(bone, implant.vertices @ inv[:3, :3].T + inv[:3, 3], -(inv[:3, :3] @ d)))
    return best


def seat_search(moving: list[Bone], implant: trimesh.Trimesh, direction, pivot, freedoms: Sequence[Freedom],
                score: Callable[[list[float]], float] = sum) -> tuple[list[Bone], np.ndarray]:
    """``moving`` turned and shifted within ``freedoms`` about ``pivot`` and brought along ``direction``
    onto ``implant`` so that ``score`` of the contact areas of the ``moving`` bones, less :data:`PENETRATION_PENALTY` per mm of penetration beyond
    :data:`PENETRATION_LIMIT_MM`, is largest; the
    rule's own pose (all values 0) is the start and wins ties. Returns the moved copies and the
    values found (deg or mm, in the order of ``freedoms``)."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    levels = [b.name for b in moving]
    placements = [b.frame @ np.linalg.inv(body_frame(b.name)) for b in moving]
    tol = tolerances.CONTACT_TOLERANCE_MM
    points, weights = surface_samples(implant)
    near = np.zeros(len(points), bool)
    for level, m in zip(levels, placements):
        inv = np.linalg.inv(m)
        near |= native_gaps(level, points @ inv[:3, :3].T + inv[:3, 3])[0] < NEAR_MM
    points, weights = points[near], weights[near]

    tried: dict[tuple[float, ...], tuple[float, np.ndarray]] = {}

    def trial(values) -> tuple[float, np.ndarray]:
        key = tuple(np.round(values, 9))
        if key not in tried:
            tried[key] = measure(values)
        return tried[key]

    def measure(values) -> tuple[float, np.ndarray]:
        change = pose_change(freedoms, values, pivot)
        moved = [change @ m for m in placements]
        ahead = max(float(((native_mesh(lv).vertices @ m[:3, :3].T + m[:3, 3]) @ d).max()) for lv, m in zip(levels, moved))
        back = ahead - float((implant.vertices @ d).min()) + 1.0
        moved = [translation(*(-back * d)) @ m for m in moved]
        t = _settle_distance(moved, levels, implant, d)
        if not np.isfinite(t):
            return -np.inf, change
        change = translation(*((t - back) * d)) @ change
        areas, deepest = [], 0.0
        for level, m in zip(levels, moved):
            inv = np.linalg.inv(translation(*(t * d)) @ m)
            gap, inside = native_gaps(level, points @ inv[:3, :3].T + inv[:3, 3])
            areas.append(float(weights[gap <= tol].sum()))
            deepest = max(deepest, float(gap[inside].max(initial=0.0)))
        return score(areas) - PENETRATION_PENALTY * max(0.0, deepest - PENETRATION_LIMIT_MM), change

    values = np.zeros(len(freedoms))
    best, change = trial(values)
    steps = np.array([f.step for f in freedoms])
    limits = np.array([f.limit for f in freedoms])
    for _ in range(REFINEMENTS + 1):
        while True:
            found = None
            for i in range(len(freedoms)):
                for sign in (1.0, -1.0):
                    candidate = values.copy()
                    candidate[i] += sign * steps[i]
                    if abs(candidate[i]) > limits[i] + 1e-9:
                        continue
                    value, trial_change = trial(candidate)
                    if value > best + 1e-6 and (found is None or value > found[0]):
                        found = (value, candidate, trial_change)
            if found is None:
                break
            best, values, change = found
        steps = steps / 2
    bones = [Bone(b.name, b.mesh.copy(), b.opacity, b.frame.copy()) for b in moving]
    for bone in bones:
        bone.move(change)
    return bones, values
