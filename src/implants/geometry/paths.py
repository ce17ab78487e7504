"""Paths in space and sweeps of a cross-section along them (rods, struts, branches, hooks).

Two halves:

* numpy only (safe to import from a template's ``derive()``): :func:`arc_points`,
  :func:`catmull_rom`, :func:`polyline_length`, :func:`unit_tangents`, :func:`bend_radii`,
  :func:`fold_problem` (a path that folds back or bends tighter than its tube);
* CadQuery / OCP (imported inside the functions): :func:`profile_wire`, :func:`spline_wire`,
  :func:`arc_wire`, :func:`sweep` (a profile swept along a wire with a chosen trihedron law and
  fallbacks for tight curves), :func:`tube` (round sweep through points in one call).

All lengths mm, patient frame (+x anterior, +y left, +z superior).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .frames import unit

if TYPE_CHECKING:
    import cadquery as cq


#: Largest relative difference between a sweep's volume and section area × path length (Pappus–
#: Guldin) before the sweep counts as broken: the corrected-Frenet law on some approximated
#: splines gave solids 0.4-18 % off whose booleans then failed silently (measured); exact sweeps
#: agree to 1e-9, but good sweeps of long approximated rods come out 1-4e-4 off with every law
#: agreeing with the others to 5e-5 (measured on monolithic rods, issue 9), hence 1e-3.
VOLUME_REL_TOL = 1e-3


#: Straight leads shorter than this are left out of :func:`arc_wire`: a lead of 1e-89 mm (a drawn
#: parameter) made a degenerate edge and the sweep raised StdFail_NotDone (issue 9).
MIN_LEAD_MM = 1e-3


class Section(str, Enum):
    """Cross-section of a swept body."""

    ROUND = "round"                  # circle of diameter = width
    OVAL = "oval"                    # ellipse width (along the binormal) × depth (along the normal)
    ROUNDED_RECTANGLE = "rounded-rectangle"


def section_area(kind: Section | str, width_mm: float, depth_mm: float, corner_radius_mm: float = 0.0) -> float:
    """Exact area (mm²) of a cross-section (for Pappus-type volume checks)."""
    kind = Section(kind)
    if kind is Section.ROUND:
        return float(np.pi * width_mm ** 2 / 4)
    if kind is Section.OVAL:
        return float(np.pi * width_mm * depth_mm / 4)
    r = min(corner_radius_mm, width_mm / 2, depth_mm / 2)
    return float(width_mm * depth_mm - (4 - np.pi) * r * r)


# ----------------------------------------------------------------------------- numpy half


def arc_points(radius_mm: float, angle_deg: float, n: int = 33, start=(0.0, 0.0, 0.0),
               tangent=(0.0, 0.0, 1.0), toward=(1.0, 0.0, 0.0)) -> np.ndarray:
    """``n`` points on a circular arc of ``radius_mm`` turning by ``angle_deg``, leaving ``start``
    along ``tangent`` and bending towards ``toward`` (made perpendicular to the tangent)."""
    t = unit(tangent)
    k = np.asarray(toward, float)
    k = unit(k - np.dot(k, t) * t)
    a = np.radians(np.linspace(0.0, angle_deg, n))[:, None]
    return np.asarray(start, float) + radius_mm * (np.sin(a) * t + (1 - np.cos(a)) * k)


def catmull_rom(points: Sequence[Sequence[float]], step_mm: float = 2.0) -> np.ndarray:
    """A smooth curve through ``points`` (centripetal Catmull-Rom, no overshoot or cusps),
    sampled about every ``step_mm``; the given points are kept exactly."""
    p = np.asarray(points, float)
    if len(p) < 3:
        length = np.linalg.norm(p[-1] - p[0])
        n = max(2, int(np.ceil(length / step_mm)) + 1)
        return p[0] + np.linspace(0, 1, n)[:, None] * (p[-1] - p[0])
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = [p[:1]]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        t0 = 0.0
        t1 = t0 + np.linalg.norm(p1 - p0) ** 0.5
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5
        n = max(2, int(np.ceil(np.linalg.norm(p2 - p1) / step_mm)))
        t = np.linspace(t1, t2, n + 1)[1:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    return np.vstack(out)


def polyline_length(points: np.ndarray) -> float:
    """Length (mm) of the polyline through ``points``."""
    return float(np.linalg.norm(np.diff(np.asarray(points, float), axis=0), axis=1).sum())


def unit_tangents(points: np.ndarray) -> np.ndarray:
    """Unit tangent at every point (central differences, one-sided at the ends)."""
    p = np.asarray(points, float)
    return np.array([unit(v) for v in np.gradient(p, axis=0)])


def bend_radii(points: np.ndarray) -> np.ndarray:
    """Radius (mm) of the circle through each triple of consecutive points (inf where straight)."""
    p = np.asarray(points, float)
    a, b, c = p[:-2], p[1:-1], p[2:]
    ab, bc, ca = (np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1), np.linalg.norm(a - c, axis=1))
    cross = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    with np.errstate(divide="ignore"):
        return np.where(cross > 1e-12, ab * bc * ca / (2 * np.maximum(cross, 1e-300)), np.inf)


def fold_problem(points: np.ndarray, tube_half_mm: float, ignore_end_mm: float = 0.0) -> str | None:
    """Why a tube of half-size ``tube_half_mm`` swept along ``points`` would not be a clean solid,
    or None: a turn of more than 90° between neighbouring segments, a bend radius under
    1.2 × the half-size (the inner wall would fold), or two parts of the path farther apart along
    the path than π × half-size but closer in space than 2.2 × half-size (the tube touches itself)."""
    p = np.asarray(points, float)
    seg = np.diff(p, axis=0)
    lengths = np.linalg.norm(seg, axis=1)
    if np.any(lengths < 1e-9):
        return "two consecutive path points coincide"
    d = seg / lengths[:, None]
    cos_turn = (d[:-1] * d[1:]).sum(axis=1)
    if np.any(cos_turn < 0):
        return f"the path folds back on itself (turn of {np.degrees(np.arccos(cos_turn.min())):.0f}° between points)"
    radii = bend_radii(p)
    if len(radii) and radii.min() < 1.2 * tube_half_mm:
        return (f"the path bends with radius {radii.min():.1f} mm, tighter than the tube allows "
                f"(>= {1.2 * tube_half_mm:.1f} mm)")
    s = np.concatenate([[0.0], np.cumsum(lengths)])
    gap = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1)
    along = np.abs(s[:, None] - s[None, :])
    close = (along > np.pi * tube_half_mm + 2 * lengths.max()) & (gap < 2.2 * tube_half_mm)
    if np.any(close):
        i, j = np.argwhere(close)[0]
        return (f"the path comes back within {gap[i, j]:.1f} mm of itself (points {i} and {j}), "
                f"less than the tube width {2 * tube_half_mm:.1f} mm allows")
    return None


# ----------------------------------------------------------------------------- kernel half


def _vec(v) -> "cq.Vector":
    import cadquery as cq

    return cq.Vector(*map(float, v))


def profile_wire(kind: Section | str, width_mm: float, depth_mm: float, corner_radius_mm: float,
                 centre, normal, width_dir) -> "cq.Wire":
    """Closed cross-section wire centred on ``centre`` in the plane normal to ``normal``:
    ``width_mm`` along ``width_dir`` (made perpendicular to ``normal``), ``depth_mm`` across."""
    import cadquery as cq

    n = unit(normal)
    u = np.asarray(width_dir, float)
    u = unit(u - np.dot(u, n) * n)
    v = np.cross(n, u)
    kind = Section(kind)
    c = np.asarray(centre, float)
    if kind is Section.ROUND:
        return cq.Wire.makeCircle(width_mm / 2, _vec(c), _vec(n))
    if kind is Section.OVAL:
        if abs(width_mm - depth_mm) < 1e-9:
            return cq.Wire.makeCircle(width_mm / 2, _vec(c), _vec(n))
        major, minor, xdir = (width_mm, depth_mm, u) if width_mm > depth_mm else (depth_mm, width_mm, v)
        edge = cq.Edge.makeEllipse(major / 2, minor / 2, _vec(c), _vec(n), _vec(xdir))
        return cq.Wire.assembleEdges([edge])
    r = min(corner_radius_mm, width_mm / 2 - 1e-3, depth_mm / 2 - 1e-3)
    plane = cq.Plane(origin=_vec(c), xDir=_vec(u), normal=_vec(n))
    sketch = cq.Workplane(plane).rect(width_mm, depth_mm)
    wire = sketch.val()
    if r >= 0.01:  # tinier corner fillets fail in the kernel (a 2e-308 mm radius, issue 9): sharp
        face = cq.Face.makeFromWires(wire)
        wire = cq.Wire(face.fillet2D(r, face.Vertices()).outerWire().wrapped)
    return wire


def spline_wire(points: np.ndarray, tolerance_mm: float = 0.01) -> "cq.Wire":
    """One smooth B-spline edge (degree 3-5) through ``points`` within ``tolerance_mm``.

    Approximated, not interpolated: interpolating densely sampled points gives a spline with a
    knot per point whose swept surface made OCCT booleans fail silently (an empty common with a
    slab through the rod, measured); the approximation has a handful of knots and sweeps cleanly.
    The end tangents are those of the points (shape them with the points, e.g. a control point
    on the wanted tangent before the end).
    """
    import cadquery as cq

    pts = [_vec(p) for p in np.asarray(points, float)]
    if len(pts) == 2:
        return cq.Wire.assembleEdges([cq.Edge.makeLine(*pts)])
    if len(pts) == 3:
        return cq.Wire.assembleEdges([cq.Edge.makeSpline(pts)])
    edge = cq.Edge.makeSplineApprox(pts, tol=tolerance_mm, minDeg=3, maxDeg=5)
    return cq.Wire.assembleEdges([edge])


def arc_wire(start, tangent, toward, radius_mm: float, angle_deg: float, lead_in_mm: float = 0.0,
             lead_out_mm: float = 0.0) -> "cq.Wire":
    """An exact circular arc (see :func:`arc_points`) with optional straight lead-in before
    ``start`` and lead-out after the arc end, tangent-continuous (a G1 wire)."""
    import cadquery as cq

    t = unit(tangent)
    p = arc_points(radius_mm, angle_deg, 3, start, t, toward)
    edges = []
    if lead_in_mm > MIN_LEAD_MM:
        edges.append(cq.Edge.makeLine(_vec(p[0] - lead_in_mm * t), _vec(p[0])))
    edges.append(cq.Edge.makeThreePointArc(_vec(p[0]), _vec(p[1]), _vec(p[2])))
    if lead_out_mm > MIN_LEAD_MM:
        end_t = unit(edges[-1].tangentAt(1.0).toTuple())
        edges.append(cq.Edge.makeLine(_vec(p[2]), _vec(p[2] + lead_out_mm * end_t)))
    return cq.Wire.assembleEdges(edges)


def sweep(profile: "cq.Wire", path: "cq.Wire", binormal=None, what: str = "swept body",
          laws: tuple[str, ...] = ("corrected-frenet", "frenet", "discrete")) -> "cq.Solid":
    """Sweep a closed ``profile`` (placed at the start of ``path``, in the plane normal to it)
    along ``path`` into one valid solid.

    Trihedron law: a fixed ``binormal`` keeps a non-round section upright along a planar path
    (e.g. the sagittal plane: binormal = +y); otherwise the corrected Frenet law (no twist, no
    flip on straight parts). Round transitions join G1 corners. If the kernel's result is not one
    valid solid whose volume equals section area × path length (:data:`VOLUME_REL_TOL`), the sweep
    is retried with the Frenet law, then with the discrete trihedron (robust on tight, nearly-kinked
    curves); :class:`GeometryError` if every law fails. ``laws``: the order tried after the
    binormal law (from "corrected-frenet", "frenet", "discrete").
    """
    from OCP.BRepBuilderAPI import BRepBuilderAPI_TransitionMode
    from OCP.BRepOffsetAPI import BRepOffsetAPI_MakePipeShell
    from OCP.gp import gp_Dir
    import cadquery as cq

    from ..errors import GeometryError

    laws = (["binormal"] if binormal is not None else []) + list(laws)
    # A tube that does not touch itself has volume = section area × path length (Pappus–Guldin),
    # whatever the trihedron law: a kernel result off by more than this is a broken sweep.
    expected = cq.Face.makeFromWires(profile).Area() * path.Length()
    failures = []
    for law in laws:
        try:
            builder = BRepOffsetAPI_MakePipeShell(path.wrapped)
            if law == "binormal":
                builder.SetMode(gp_Dir(*map(float, unit(binormal))))
            elif law == "corrected-frenet":
                builder.SetMode(False)
            elif law == "frenet":
                builder.SetMode(True)
            else:
                builder.SetDiscreteMode()
            builder.SetTransitionMode(BRepBuilderAPI_TransitionMode.BRepBuilderAPI_RoundCorner)
            builder.Add(profile.wrapped, False, False)
            builder.Build()
            if not builder.IsDone():
                failures.append(f"{law}: not done")
                continue
            builder.MakeSolid()
            shape = cq.Shape.cast(builder.Shape())
            solids = shape.Solids()
            if len(solids) != 1 or not solids[0].isValid():
                failures.append(f"{law}: {len(solids)} solid(s)")
                continue
            volume = solids[0].Volume()
            if abs(volume - expected) > VOLUME_REL_TOL * expected:
                failures.append(f"{law}: volume {volume:.1f} mm³ != section × length {expected:.1f} mm³")
                continue
            return solids[0]
        except Exception as error:  # OCCT raises Standard_Failure subclasses
            failures.append(f"{law}: {type(error).__name__}")
    raise GeometryError(f"{what}: sweep failed ({'; '.join(failures)})")


def tube(points: np.ndarray, diameter_mm: float, what: str = "tube") -> "cq.Solid":
    """Round rod of ``diameter_mm`` along a smooth spline through ``points`` (see :func:`spline_wire`).

    The discrete trihedron is tried first (a round section does not care about twist): it gives a
    light surface (~50 poles, degree 8) where the Frenet laws gave 400-900 poles of degree 11, on
    which OCCT's booleans found no intersection with a branch (the monolithic body came out as
    three solids) and its mesher never finished a face trimmed by the iliac hook (issue 9)."""
    pts = np.asarray(points, float)
    path = spline_wire(pts)
    start_dir = unit(path.tangentAt(0.0).toTuple())
    helper = np.array([1.0, 0.0, 0.0]) if abs(start_dir[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    profile = profile_wire(Section.ROUND, diameter_mm, diameter_mm, 0.0, pts[0], start_dir, helper)
    return sweep(profile, path, what=what, laws=("discrete", "corrected-frenet", "frenet"))
