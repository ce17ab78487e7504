"""A stock (serial) interbody cage sized the way a surgeon sizes one, seated in a real disc space
(layer: fit): the comparator of the congruent cage in the patient sweeps.

Frames: meshes in the patient frame (+x anterior, +y left, +z superior, mm); the cage is built in
the cage frame (:mod:`.cage_placement`) and moved into the patient frame like the congruent cage.

**Sizing** (:func:`stock_size`): from a stock set of lordosis angles (:data:`STOCK_LORDOSIS_DEG`,
per region) the one nearest the disc's current sagittal angle (least-squares planes of the two
endplate surfaces over the footprint; a tie takes the smaller); then the tallest nominal height
in whole millimetres (:data:`STOCK_HEIGHT_STEP_MM`, within the template's 4–20 mm) whose
**posterior** height (the wedge at the footprint's posterior edge) does not exceed the posterior
disc height plus :data:`DISTRACTION_MM`: the trial-and-feel sizing that stops at a snug fit
without over-distracting the posterior disc.

**Seating** (:func:`stock_cage`): a rigid vertebra loaded axially through the cage centre tips on
a flat face until it rests on three points: the facet of the convex hull of its endplate surface
(over the footprint) that lies over the centre (:func:`rest_plane`). The cage's lower face lies on
the lower vertebra's rest facet; its upper face is that plane tilted by the stock lordosis (0°
coronal) at the stock height over the centre; the upper vertebra is moved rigidly (rotated and
shifted) until its own rest facet lies on the upper face. Neither bone is deformed, so the flat
faces touch where the bone surface is within the contact tolerance of those planes. The faces are
:class:`~.cage_fields.PlaneField` fields, built as planar faces (:mod:`.cage_build`), and a sweep seats
the stock cage on the :class:`~.cage_fields.CageSite` of the congruent cage, so placement and
endplate fields are fitted once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from ..errors import ParameterError
from ..geometry.frames import rotation_matrix
from ..implant_types.interbody_cage import CageParams
from ..model import Implant
from ..params import validate
from ..tolerances import CONTACT_TOLERANCE_MM
from .cage_build import build_cage
from .cage_contact import CageContact, cage_contact
from .cage_fields import CageSite, PlaneField, cage_site, field_angles
from .inputs import Anatomy

#: Stock lordosis angles (deg) per cage region: typical ALIF and ACDF cage sets.
STOCK_LORDOSIS_DEG = {"lumbar": (6.0, 12.0, 18.0), "cervical": (0.0, 6.0, 12.0)}
#: Stock cage heights come in whole millimetres.
STOCK_HEIGHT_STEP_MM = 1.0
#: How much taller than the posterior disc height a surgeon lets the cage's posterior wall be (mm).
DISTRACTION_MM = 1.0
#: Template bounds of ``height_mm`` (mm).
HEIGHT_BOUNDS_MM = (4.0, 20.0)


@dataclass(frozen=True, eq=False)
class StockSeating:
    """A stock cage seated in a disc space: the cage, the segment with the upper vertebra moved onto
    it (patient frame), its contact, the sizing and the segment's sagittal angle before/after (deg)."""

    implant: Implant
    seated: Anatomy                  # the lower vertebra and the upper one resting on the cage
    contact: CageContact
    height_mm: float                 # stock nominal height (at the centre)
    lordosis_deg: float              # stock lordosis
    distraction_mm: float            # stock height minus the gap between the rest facets at the centre
    press_mm: float                  # deepest reach of the upper face into the unmoved upper vertebra
    segment_sagittal_before_deg: float
    segment_sagittal_after_deg: float


def stock_size(current_sagittal_deg: float, posterior_gap_mm: float, posterior_x_mm: float, region: str,
               lordosis_set: tuple[float, ...] | None = None, distraction_mm: float = DISTRACTION_MM
               ) -> tuple[float, float]:
    """(height_mm, lordosis_deg) of the stock cage (see the module docstring): ``posterior_gap_mm``
    is the disc height at the footprint's posterior edge, ``posterior_x_mm`` (< 0) that edge's x
    from the cage centre."""
    options = tuple(lordosis_set or STOCK_LORDOSIS_DEG[region])
    lordosis = min(sorted(options), key=lambda a: abs(a - current_sagittal_deg))
    allowed = posterior_gap_mm + distraction_mm - math.tan(math.radians(lordosis)) * posterior_x_mm
    height = math.floor(allowed / STOCK_HEIGHT_STEP_MM + 1e-9) * STOCK_HEIGHT_STEP_MM
    return float(min(max(height, HEIGHT_BOUNDS_MM[0]), HEIGHT_BOUNDS_MM[1])), float(lordosis)


def rest_plane(points: np.ndarray, below: bool) -> PlaneField:
    """The plane on which a rigid bone with surface ``points`` (cage frame,
    over the footprint) rests when loaded along z through (0, 0): the convex-hull facet over the
    origin, on the hull's top (``below``: the bone lies below the face) or bottom."""
    try:
        hull = ConvexHull(points)
    except QhullError:
        raise ParameterError("vertebra mesh: its endplate surface over the cage footprint is degenerate") from None
    normals, offsets = hull.equations[:, :3], hull.equations[:, 3]
    facing = normals[:, 2] > 1e-6 if below else normals[:, 2] < -1e-6
    best, best_distance = None, np.inf
    for i in np.flatnonzero(facing):
        tri = points[hull.simplices[i], :2]
        distance = _outside(tri, np.zeros(2))
        if distance < best_distance:
            best, best_distance = i, distance
    if best is None:
        raise ParameterError("vertebra mesh: no endplate surface to rest a flat cage face on")
    n, d = normals[best], offsets[best]
    return PlaneField(float(-d / n[2]), float(-n[0] / n[2]), float(-n[1] / n[2]))


def _outside(tri: np.ndarray, point: np.ndarray) -> float:
    """0 when ``point`` lies in the triangle (x, y), else how far outside (largest edge excess, mm)."""
    excess = 0.0
    for k in range(3):
        a, b, c = tri[k], tri[(k + 1) % 3], tri[(k + 2) % 3]
        edge = b - a
        normal = np.array([edge[1], -edge[0]])
        if normal @ (c - a) > 0:
            normal = -normal
        length = float(np.linalg.norm(normal)) or 1.0
        excess = max(excess, float(normal @ (point - a)) / length)
    return excess


def _plane_rotation(src: PlaneField, dst: PlaneField) -> np.ndarray:
    """4×4 rigid motion (cage frame) putting plane ``src`` onto plane ``dst``: the smallest
    rotation of its normal, about the plane's point over the origin, then a shift along z."""
    ns, nd = (np.array([-p.b, -p.c, 1.0]) for p in (src, dst))
    axis = np.cross(ns, nd)
    angle = math.degrees(math.atan2(float(np.linalg.norm(axis)), float(ns @ nd)))
    rotation = rotation_matrix(axis, angle) if angle > 1e-12 else np.eye(3)
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = np.array([0.0, 0.0, dst.a]) - rotation @ np.array([0.0, 0.0, src.a])
    return m


def _sagittal(points_upper: np.ndarray, points_lower: np.ndarray, region: np.ndarray) -> float:
    """Sagittal angle (deg) between the least-squares planes of two point sets over ``region``'s box."""
    slopes = []
    for pts in (points_upper, points_lower):
        inside = np.all((pts[:, :2] >= region.min(axis=0)) & (pts[:, :2] <= region.max(axis=0)), axis=1)
        q = pts[inside]
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(q)), q[:, :2]]), q[:, 2], rcond=None)
        slopes.append(coef[1])
    return float(np.degrees(np.arctan(slopes[0]) - np.arctan(slopes[1])))


def stock_cage(anat: Anatomy | CageSite, params: CageParams | None, region: str,
               tolerance_mm: float = CONTACT_TOLERANCE_MM, *, lordosis_set: tuple[float, ...] | None = None,
               distraction_mm: float = DISTRACTION_MM) -> StockSeating:
    """The stock cage of ``params``' footprint, sized and seated (module docstring), and its contact.
    ``anat`` may be the :class:`~.cage_fields.CageSite` the congruent cage was built on (then
    ``params`` is ignored): the placement and endplate fields are not computed again."""
    started = time.perf_counter()
    site = cage_site(anat, None, params)
    anat, p, g, centre, frame = site.anat, site.params, site.geometry, site.centre, site.frame
    fu, fl, pu, pl, region_pts = site.upper, site.lower, site.upper_points, site.lower_points, site.region
    current = field_angles(fu, fl, region_pts)
    x_post = float(g.outline[:, 0].min())
    posterior_gap = float(fu(np.array(x_post), np.array(0.0)) - fl(np.array(x_post), np.array(0.0)))
    height, lordosis = stock_size(current[0], posterior_gap, x_post, region, lordosis_set, distraction_mm)
    pu_over, pl_over = site.upper_over, site.lower_over
    lower_rest, upper_rest = rest_plane(pl_over, below=True), rest_plane(pu_over, below=False)
    tilt = math.atan(lower_rest.b) + math.radians(lordosis)
    upper_face = PlaneField(lower_rest.a + height, math.tan(tilt), lower_rest.c)
    press = float(max(0.0, np.max(upper_face(pu_over[:, 0], pu_over[:, 1]) - pu_over[:, 2])))
    move = _plane_rotation(upper_rest, upper_face)
    moved = frame.matrix @ move @ np.linalg.inv(frame.matrix)
    upper_mesh = anat.upper_mesh.copy()
    upper_mesh.apply_transform(moved)
    pu_moved = pu @ move[:3, :3].T + move[:3, 3]
    after = _sagittal(pu_moved, pl, region_pts)
    stock = validate(CageParams, {**p.model_dump(mode="json"), "height_mm": height, "lordosis_deg": lordosis})
    implant = build_cage(anat, stock, g, centre, frame, upper_face, lower_rest, region_pts, current,
                         (lordosis, 0.0), (lordosis, 0.0), {"kind": "stock"}, started)
    seated = Anatomy(upper_mesh, anat.lower_mesh, anat.disc)
    return StockSeating(implant, seated, cage_contact(implant, seated, tolerance_mm), height, lordosis,
                        round(height - (upper_rest.a - lower_rest.a), 3), round(press, 3),
                        round(current[0], 3), round(after, 3))

