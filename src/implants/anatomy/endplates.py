"""Endplate extraction from a vertebra mesh in the patient frame (+x anterior, +y left, +z superior)
(layer: anatomy).

The superior (inferior) endplate is the end surface of the vertebral body facing the disc above
(below). It is found in four steps, numpy/scipy/trimesh only:

1. **Candidates**: faces whose outward normal is within 50° of the vertebra's up direction (+z
   by default) for the superior side, of its opposite for the inferior side, grouped into smooth
   patches (edge-adjacent, dihedral angle below 30°).
2. **Body patch**: the posterior elements, facets and processes are lateral or posterior of the
   body, so among the patches near the midline (centroid within the middle 40 % of the
   vertebra's width) whose area is at least 30 % of the largest such patch, the most anterior
   one is the body's end surface.
3. **Growing and trimming**: from that patch, faces are grown over edge-adjacent neighbours
   whose normal stays within :data:`RIM_ANGLE_DEG` of the patch's mean normal (re-estimated
   twice): the rounded rim, rim osteophytes that curl over the edge, and the body's walls fall
   outside. Holes (foramina, noise) inside the outer rim loop are filled with the faces that lie
   on the fitted surface.
4. **Measures** in a local frame (origin at the area centroid, z along the mean normal oriented
   towards patient +z, x towards anterior): outline (outer rim loop), area, a smooth height
   field z = f(x, y) (:class:`~.height_field.HeightField`: a smoothing bicubic spline over
   binned vertices, empty nodes filled harmonically), concavity depth as the largest
   gap between the surface and a ruler resting on it (its convex hull on the disc side) and the
   apex, the deepest point.

The result moves with the mesh: every quantity is computed from the geometry, not from fixed
coordinates, as long as the vertebral body is roughly upright (its axis within
:data:`UPRIGHT_DEG` of the patient's +z) or an up direction is given (``up``: e.g. the packaged
frame's +z carried by the rotation that posed the vertebra). A synthetic C5 placed on its C6 leans
25–37°; with patient +z its uncinate processes and facets won the seed patch in some of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import trimesh
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.frames import unit
from ..geometry.local_frame import Frame
from .height_field import HeightField

if TYPE_CHECKING:
    import cadquery as cq

#: Lean (deg) of the body axis from the up direction up to which the extraction is reliable.
UPRIGHT_DEG = 30.0
#: Largest angle (deg) between a candidate face's normal and the up direction (or its opposite).
CANDIDATE_ANGLE_DEG = 50.0
#: Largest dihedral angle (deg) between two faces of one smooth candidate patch.
PATCH_CREASE_DEG = 30.0
#: Largest angle (deg) between an endplate face's normal and the endplate's mean normal:
#: the rounded rim beyond it belongs to the body wall (cortical ring), not the bearing surface.
RIM_ANGLE_DEG = 40.0
#: Radius of the 2D opening that cuts the endplate free of pedicle tops, transverse processes
#: and other narrow bridges, as a fraction of the square root of the body patch's area
#: (≈ 6 mm on a lumbar body, ≈ 2.5 mm on a cervical one).
OPENING_FRACTION = 0.15
#: Smallest endplate area (mm²): below it the patch is a process tip, not a body (C2's dens, C1).
MIN_AREA_MM2 = 80.0
#: Smallest ratio of the outline's short to long extent: an endplate is compact, an arch is not.
MIN_ASPECT = 0.4
#: Vertices whose normal is within this angle (deg) of the mean normal carry the height field.
FIT_ANGLE_DEG = 25.0
#: The height field covers the rim's box grown by this fraction of its size on each side.
FIELD_MARGIN = 0.3
#: Concavity is measured at least this fraction of the endplate's smaller extent inside the rim.
RIM_BAND = 0.12
#: Points on the outline returned (resampled evenly by arc length).
OUTLINE_POINTS = 96


@dataclass(frozen=True, eq=False)
class Endplate:
    """One endplate of a vertebra (mm, patient frame unless stated ``local``).

    ``normal`` points out of the bone into the disc (+z-ish for a superior endplate).
    ``frame`` is the local frame of ``height``: z along the mean normal oriented towards
    patient +z, x towards anterior, y = z × x (patient-left); ``height(x, y)`` is the
    endplate surface z in that frame; the bone lies at smaller z for a superior endplate and
    at larger z for an inferior one.
    """

    side: str                       # "superior" or "inferior"
    mesh: trimesh.Trimesh           # the endplate region (patient frame)
    outline: np.ndarray             # (N, 3) rim polygon, patient frame, closed implicitly
    outline_local: np.ndarray       # (N, 2) the same in the local frame (x, y), counter-clockwise
    area_mm2: float                 # surface area of the region
    projected_area_mm2: float       # area inside the outline, on the mean plane
    concavity_mm: float             # deepest gap below a ruler resting on the endplate
    apex: np.ndarray                # deepest point (patient frame)
    centroid: np.ndarray            # area centroid of the region (patient frame)
    normal: np.ndarray              # unit mean normal, out of the bone
    frame: Frame
    height: HeightField
    fit_rms_mm: float               # rms of the height field's residuals at the region's vertices
    info: dict = field(default_factory=dict)

    @property
    def apex_local(self) -> np.ndarray:
        return self.frame.to_local(self.apex[None])[0]

    @cached_property
    def size_mm(self) -> tuple[float, float]:
        """Extent of the outline along local x (AP depth) and y (ML width)."""
        return float(np.ptp(self.outline_local[:, 0])), float(np.ptp(self.outline_local[:, 1]))

    def height_patient(self, x, y) -> np.ndarray:
        """Patient z of the endplate surface above patient (x, y) (fixed-point steps along patient z)."""
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        pts = np.column_stack([x.ravel(), y.ravel(), np.full(x.size, self.centroid[2])])
        up_local = self.frame.axes[:, 2]  # patient +z in local coordinates
        for _ in range(8):
            loc = self.frame.to_local(pts)
            pts[:, 2] += (self.height(loc[:, 0], loc[:, 1]) - loc[:, 2]) / up_local[2]
        return pts[:, 2].reshape(x.shape)

    def bspline_face(self, margin_mm: float = 2.0, samples: int = 0) -> "cq.Face":
        """Degree-3 B-spline face of the height field over the outline's box (+ ``margin_mm``),
        placed in the patient frame (for congruent cage surfaces).

        By default the face *is* the height field's bicubic spline (same knots, poles at the
        Greville abscissae: exact); ``samples`` > 0 instead interpolates that many samples per
        side with ``geometry.solids.height_field_face``.
        """
        import cadquery as cq
        from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeFace, BRepBuilderAPI_Transform
        from OCP.gp import gp_Trsf

        lo = np.maximum(self.outline_local.min(axis=0) - margin_mm, self.height.lo)
        hi = np.minimum(self.outline_local.max(axis=0) + margin_mm, self.height.hi)
        from ..geometry.solids import grid_spline_surface, height_field_face

        if samples > 0:
            face = height_field_face(self.height, (lo[0], hi[0]), (lo[1], hi[1]), samples, method="interpolate")
        else:
            surface = grid_spline_surface(self.height)
            face = cq.Face(BRepBuilderAPI_MakeFace(surface, float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]),
                                                   1e-7).Face())
        trsf = gp_Trsf()
        trsf.SetValues(*(float(v) for v in self.frame.matrix[:3].ravel()))
        return cq.Face(BRepBuilderAPI_Transform(face.wrapped, trsf, True).Shape())

    def summary(self) -> dict:
        return {"side": self.side, "area_mm2": round(self.area_mm2, 1),
                "projected_area_mm2": round(self.projected_area_mm2, 1),
                "concavity_mm": round(self.concavity_mm, 2), "apex": [round(v, 2) for v in self.apex],
                "apex_local": [round(v, 2) for v in self.apex_local],
                "size_mm": [round(v, 1) for v in self.size_mm], "fit_rms_mm": round(self.fit_rms_mm, 3),
                "normal": [round(v, 4) for v in self.normal]}


def _components(mesh: trimesh.Trimesh, mask: np.ndarray, crease_deg: float) -> np.ndarray:
    """Labels of the edge-connected components of the faces in ``mask`` (−1 outside it)."""
    adj = mesh.face_adjacency
    ok = mask[adj[:, 0]] & mask[adj[:, 1]] & (mesh.face_adjacency_angles < np.radians(crease_deg))
    a = adj[ok]
    n = len(mesh.faces)
    graph = coo_matrix((np.ones(len(a)), (a[:, 0], a[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.where(mask, labels, -1)


def _seed_patch(mesh: trimesh.Trimesh, up: np.ndarray, side: str) -> np.ndarray:
    """Boolean face mask of the body's ``side`` end patch, facing ``up`` (steps 1–2)."""
    normals, areas, centres = mesh.face_normals, mesh.area_faces, mesh.triangles_center
    labels = _components(mesh, normals @ up > np.cos(np.radians(CANDIDATE_ANGLE_DEG)), PATCH_CREASE_DEG)
    valid = labels >= 0
    count = labels.max() + 1 if valid.any() else 0
    if count == 0:
        raise ParameterError(f"endplate: no surface of the vertebra faces the {side} disc")
    patch_area = np.bincount(labels[valid], weights=areas[valid], minlength=count)
    weighted = np.zeros((count, 3))
    np.add.at(weighted, labels[valid], centres[valid] * areas[valid, None])
    patch_centre = weighted / np.maximum(patch_area, 1e-12)[:, None]
    y_lo, y_hi = mesh.bounds[:, 1]
    mid, half = (y_lo + y_hi) / 2, (y_hi - y_lo) / 2
    midline = np.abs(patch_centre[:, 1] - mid) < 0.4 * half
    if not midline.any():
        raise ParameterError("endplate: no surface near the midline faces the disc (is the mesh in the patient frame?)")
    big = midline & (patch_area >= 0.3 * patch_area[midline].max())
    best = np.flatnonzero(big)[np.argmax(patch_centre[big, 0])]
    return labels == best


def _grow(mesh: trimesh.Trimesh, seed: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Faces edge-connected to ``seed`` whose normals are within RIM_ANGLE_DEG of ``normal``."""
    ok = mesh.face_normals @ normal > np.cos(np.radians(RIM_ANGLE_DEG))
    labels = _components(mesh, ok | seed, 89.0)
    keep = np.unique(labels[seed & ok])
    keep = keep[keep >= 0]
    if len(keep) == 0:
        return seed
    # the component(s) holding most of the seed's area
    seed_area = np.array([mesh.area_faces[seed & (labels == k)].sum() for k in keep])
    return np.isin(labels, keep[seed_area >= 0.1 * seed_area.max()])


def _open_region(mesh: trimesh.Trimesh, region: np.ndarray, seed: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Keep the faces of ``region`` inside its 2D morphological opening (projected on the plane
    normal to ``normal``) that overlaps the seed patch most: narrow bridges and the structures
    beyond them (pedicle tops, transverse processes, lateral masses) are dropped."""
    seed_area = mesh.area_faces[seed].sum()
    radius = OPENING_FRACTION * np.sqrt(seed_area)
    cell = radius / 8.0
    frame = _frame(mesh.triangles_center[seed].mean(axis=0), normal)
    tri = frame.to_local(mesh.triangles[region].reshape(-1, 3)).reshape(-1, 3, 3)[:, :, :2]
    longest = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max()
    k = int(min(np.ceil(longest / cell) + 1, 40))
    u, v = np.meshgrid(np.linspace(0, 1, k + 1), np.linspace(0, 1, k + 1))
    keep = (u + v) <= 1.0
    bary = np.column_stack([1 - u[keep] - v[keep], u[keep], v[keep]])
    pts = np.einsum("bk,nkd->nbd", bary, tri).reshape(-1, 2)
    lo = pts.min(axis=0) - 2 * radius
    shape = np.ceil((pts.max(axis=0) + 2 * radius - lo) / cell).astype(int) + 1
    grid = np.zeros(shape, bool)
    ij = np.floor((pts - lo) / cell).astype(int)
    grid[ij[:, 0], ij[:, 1]] = True
    grid = ndimage.binary_fill_holes(ndimage.binary_closing(grid, iterations=2))
    r = int(round(radius / cell))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    opened = ndimage.binary_opening(grid, structure=(xx * xx + yy * yy) <= r * r)
    labels, count = ndimage.label(opened)
    if count == 0:
        return region
    centres = frame.to_local(mesh.triangles_center)[:, :2]
    cij = np.clip(np.floor((centres - lo) / cell).astype(int), 0, np.array(shape) - 1)
    face_label = labels[cij[:, 0], cij[:, 1]]
    overlap = np.bincount(face_label[seed & region], weights=mesh.area_faces[seed & region], minlength=count + 1)
    overlap[0] = 0.0
    if overlap.max() <= 0:
        return region
    return region & (face_label == int(np.argmax(overlap)))


def _mean_normal(mesh: trimesh.Trimesh, mask: np.ndarray) -> np.ndarray:
    n = (mesh.face_normals[mask] * mesh.area_faces[mask, None]).sum(axis=0)
    return n / np.linalg.norm(n)


def _frame(centroid: np.ndarray, normal: np.ndarray) -> Frame:
    ez = normal if normal[2] >= 0 else -normal
    ex = np.array([1.0, 0.0, 0.0]) - ez[0] * ez
    ex /= np.linalg.norm(ex)
    return Frame(centroid, np.array([ex, np.cross(ez, ex), ez]))


def _outer_loop(sub: trimesh.Trimesh, frame: Frame) -> np.ndarray:
    """The boundary loop of ``sub`` enclosing the largest area on the local plane (local 2D)."""
    edges = sub.edges_sorted
    boundary = edges[trimesh.grouping.group_rows(edges, require_count=1)]
    if len(boundary) < 3:
        raise ParameterError("endplate: the endplate region has no rim (is the vertebra mesh closed?)")
    best, best_area = None, -1.0
    for loop in _loops(boundary):
        pts = frame.to_local(sub.vertices[loop])[:, :2]
        area = outlines.polygon_area(pts)
        if area > best_area:
            best, best_area = pts, area
    return best


def _loops(edges: np.ndarray) -> list[np.ndarray]:
    """Chain boundary edges into vertex loops (pinch vertices split greedily)."""
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(int(a), []).append(int(b))
        neighbours.setdefault(int(b), []).append(int(a))
    used: set[tuple[int, int]] = set()
    loops = []
    for a, b in edges:
        key = (min(a, b), max(a, b))
        if key in used:
            continue
        used.add(key)
        loop, cur = [int(a)], int(b)
        while cur != loop[0]:
            loop.append(cur)
            nxt = [n for n in neighbours[cur] if (min(cur, n), max(cur, n)) not in used]
            if not nxt:
                break
            used.add((min(cur, nxt[0]), max(cur, nxt[0])))
            cur = nxt[0]
        if len(loop) >= 3:
            loops.append(np.array(loop))
    return loops


def _resample(poly: np.ndarray, n: int) -> np.ndarray:
    """Closed polygon resampled to ``n`` points evenly spaced by arc length, counter-clockwise."""
    if np.dot(poly[:, 0], np.roll(poly[:, 1], -1)) - np.dot(poly[:, 1], np.roll(poly[:, 0], -1)) < 0:
        poly = poly[::-1]
    closed = np.vstack([poly, poly[:1]])
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))])
    t = np.linspace(0.0, s[-1], n, endpoint=False)
    return np.column_stack([np.interp(t, s, closed[:, 0]), np.interp(t, s, closed[:, 1])])


def hull_top(xyz: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The ruler resting on the points (z up): a function of (N, 2) x, y (mm) giving the z of
    their upper convex hull there (the lowest of the upper facet planes)."""
    hull = ConvexHull(xyz)
    eq = hull.equations[hull.equations[:, 2] > 1e-9]  # upper facets: a x + b y + c z + d = 0, c > 0

    def top(xy: np.ndarray) -> np.ndarray:
        return (-(xy @ eq[:, :2].T + eq[:, 3]) / eq[:, 2]).min(axis=1)

    return top


def _ruler_gap(xyz: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Gap (≥ 0) below the upper convex hull of all the points (z up) of each point ``where`` is
    true; 0 elsewhere."""
    gap = np.zeros(len(xyz))
    gap[where] = np.clip(hull_top(xyz)(xyz[where, :2]) - xyz[where, 2], 0.0, None)
    return gap


def _surface_fit(sub: trimesh.Trimesh, local_v: np.ndarray, rim: np.ndarray, frame: Frame,
                 cell: float) -> HeightField:
    """Height field of the endplate from its vertices where the surface is within FIT_ANGLE_DEG
    of the mean plane (the rim roll-off left out), over the rim's box grown by FIELD_MARGIN."""
    on_plate = np.abs(sub.vertex_normals @ frame.axes[2]) > np.cos(np.radians(FIT_ANGLE_DEG))
    data = local_v[on_plate] if on_plate.sum() >= 20 else local_v
    lo, hi = rim.min(axis=0), rim.max(axis=0)
    grow = FIELD_MARGIN * (hi - lo)
    return HeightField(data, cell, lo - grow, hi + grow)


def extract_endplate(mesh: trimesh.Trimesh, side: str = "superior", up=(0.0, 0.0, 1.0)) -> Endplate:
    """The ``side`` ("superior" or "inferior") endplate of a vertebra mesh in the patient frame.
    ``up``: the vertebra's up direction (patient frame, any length; default +z), for a vertebra
    turned more than ~30° from its own frame (module docstring).

    :class:`ParameterError` when no vertebral body end surface is found (e.g. the superior side of
    C2, whose dens and facets are not an endplate, or C1, which has no body).
    """
    if side not in ("superior", "inferior"):
        raise ParameterError(f"side: {side!r} must be 'superior' or 'inferior'")
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ParameterError("mesh: expected a non-empty trimesh.Trimesh (use anatomy.meshes.load_mesh)")
    up = np.asarray(up, float)
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) == 0:
        raise ParameterError(f"up: {up.tolist()} must be three finite numbers, not all zero")
    up = unit(up) * (1.0 if side == "superior" else -1.0)
    seed = _seed_patch(mesh, up, side)
    region = seed
    normal = _mean_normal(mesh, region)
    for _ in range(3):
        region = _open_region(mesh, _grow(mesh, region, normal), seed, normal)
        normal = _mean_normal(mesh, region)

    areas = mesh.area_faces
    centroid = (mesh.triangles_center[region] * areas[region, None]).sum(axis=0) / areas[region].sum()
    frame = _frame(centroid, normal)
    sign = 1.0 if side == "superior" else -1.0  # disc side along local z
    cell = max(0.3, np.sqrt(areas[region].sum()) / 40.0)
    sub = mesh.submesh([np.flatnonzero(region)], append=True)
    rim = _outer_loop(sub, frame)
    fit = _surface_fit(sub, frame.to_local(sub.vertices), rim, frame, cell)

    # fill holes: faces inside the rim, facing the disc, lying on the fitted surface
    local_c = frame.to_local(mesh.triangles_center)
    inside = outlines.contains(rim, local_c[:, :2])
    near = np.zeros(len(mesh.faces), bool)
    near[inside] = np.abs(fit.residuals(local_c[inside])) < max(1.0, 2 * cell)
    region = region | (inside & near & (mesh.face_normals @ normal > 0.0))
    sub = mesh.submesh([np.flatnonzero(region)], append=True)
    rim = _resample(_outer_loop(sub, frame), OUTLINE_POINTS)
    local_v = frame.to_local(sub.vertices)
    fit = _surface_fit(sub, local_v, rim, frame, cell)
    on_plate = np.abs(sub.vertex_normals @ frame.axes[2]) > np.cos(np.radians(FIT_ANGLE_DEG))
    rms = float(np.sqrt(np.mean(fit.residuals(local_v[on_plate]) ** 2)))

    area = float(sub.area)
    projected = outlines.polygon_area(rim)
    depth, width = np.ptp(rim[:, 0]), np.ptp(rim[:, 1])
    if area < MIN_AREA_MM2 or min(depth, width) / max(depth, width) < MIN_ASPECT:
        raise ParameterError(
            f"endplate: no {side} endplate found (best candidate {area:.0f} mm², {depth:.1f} x {width:.1f} mm; "
            f"an endplate has at least {MIN_AREA_MM2:.0f} mm² and a short/long extent of at least {MIN_ASPECT})")

    # concavity: ruler resting on the disc side (sign flips the inferior endplate upside down)
    # measured away from the rim roll-off (a kidney-shaped rim would otherwise bridge its notch)
    interior = outlines.contains(rim, local_v[:, :2])
    interior[interior] = outlines.min_distance_to_edges(rim, local_v[interior, :2]) >= RIM_BAND * min(depth, width)
    if not interior.any():
        interior[:] = True
    gap = _ruler_gap(local_v * [1.0, 1.0, sign], interior)
    deepest = gap >= 0.9 * gap.max() if gap.max() > 0 else interior
    apex_local = local_v[deepest].mean(axis=0)
    apex_local[2] = fit(apex_local[0], apex_local[1])
    apex = frame.to_patient(apex_local[None])[0]
    rim_z = fit(rim[:, 0], rim[:, 1])
    outline3 = frame.to_patient(np.column_stack([rim, rim_z]))
    return Endplate(side, sub, outline3, rim, area, projected, float(gap.max()), apex, centroid,
                    normal * (1.0 if normal @ up > 0 else -1.0), frame, fit, rms,
                    {"faces": int(region.sum()), "cell_mm": cell})
