"""Contact pressure of a rigid implant on a bone under a load case: an elastic-foundation check
(layer: checks).

Method (bed of springs; Blankevoort et al. 1991, J Biomech 24:1019; Bei & Fregly 2004, Med Eng
Phys 26:777): the implant is rigid; the bone's surface layer is an elastic foundation of
independent springs of stiffness ``k`` (MPa/mm). The bearing triangles of the implant that face
the bone along the load axis are refined to edges of at most ``spacing_mm`` and become the
springs; each spring's initial gap is measured along the load axis (:mod:`.axial_gaps`), and
the rigid approach and two tilts of the implant that balance the axial force and the two
moments are solved for (:mod:`.pressure_solver`). Pressures act on the triangles' areas
projected on the plane normal to the load axis.

Foundation (:class:`Foundation`): the bony endplate over cancellous bone, two elastic layers in
series, each of stiffness ``(1 − ν) E / ((1 + ν)(1 − 2ν) h)`` (a thin layer in confined
compression, the elastic-foundation stiffness of Bei & Fregly 2004). Defaults, as parameters:
bony endplate E = 1000 MPa, h = 0.5 mm; cancellous bone E = 100 MPa, common values of lumbar
finite-element models (e.g. Polikeit et al. 2003, Eur Spine J 12:413; measured vertebral
trabecular moduli are 291 ± 113 MPa, Kopperdahl & Keaveny 1998, J Biomech 31:601), over an
effective depth of 10 mm (a modelling choice: the depth over which the load spreads into the
body; docs/load-transfer.md shows how the results move with it); ν = 0.3.

Load (:class:`LoadCase`): the axial force (N) along the load axis, applied at the area centroid
of the bearing springs, plus a flexion–extension moment (N·m; positive = flexion, moves the
centre of pressure anterior, +x) and a lateral-bending moment (N·m; positive = bending to the
patient's left, moves it to +y). Defaults 1000 N lumbar, 150 N cervical: see docs/load-transfer.md.

Frames: meshes in one frame (mm; the patient frame +x anterior, +y left, +z superior for the
load axis default +z). Pressures in MPa (N/mm²).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import trimesh
from scipy import ndimage

from ..errors import ParameterError
from ..tolerances import CONTACT_TOLERANCE_MM
from .axial_gaps import axial_gaps, plane_basis
from .pressure_solver import solve_equilibrium

#: Default axial force (N) of a lumbar and of a cervical load case (see docs/load-transfer.md).
LUMBAR_FORCE_N = 1000.0
CERVICAL_FORCE_N = 150.0
NAMED_FORCES_N = {"lumbar": LUMBAR_FORCE_N, "cervical": CERVICAL_FORCE_N}
#: Largest accepted force (N) and moment (N·m): above the highest in-vivo spinal loads reported
#: (a few kN when lifting); a larger figure is a typing error, not a load case.
MAX_FORCE_N = 10_000.0
MAX_MOMENT_NM = 50.0
#: A triangle is a spring when its normal is within this angle (deg) of the direction to the bone.
BEARING_ANGLE_DEG = 60.0
#: Rays start this far (mm) behind each spring, so penetration up to this depth is measured.
BACK_MM = 3.0
#: Default largest spring edge (mm).
SPACING_MM = 0.5
#: The rim: the band of the bearing footprint within RIM_WIDTH_MM (mm) of its outer edge, narrowed to
#: RIM_FRACTION of the footprint's inscribed radius on small footprints (a cervical cage of 8 × 9 mm
#: would otherwise be all rim).
RIM_WIDTH_MM = 3.0
RIM_FRACTION = 0.25


def _finite(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{what} = {value!r}: not a number") from None
    if not math.isfinite(number):
        raise ParameterError(f"{what} = {value!r}: must be a finite number")
    return number


@dataclass(frozen=True)
class LoadCase:
    """Axial force (N) and moments (N·m, see the module docstring for their signs). ``seat``: move
    the implant along the load axis onto the bone first (for an implant placed in a nominal frame,
    e.g. in a sweep), instead of requiring it to touch within the contact tolerance."""

    force_n: float = LUMBAR_FORCE_N
    moment_fe_nm: float = 0.0
    moment_lb_nm: float = 0.0
    seat: bool = False

    def __post_init__(self) -> None:
        force = _finite(self.force_n, "load force")
        if not 0 < force <= MAX_FORCE_N:
            raise ParameterError(f"load force = {self.force_n} N: allowed above 0 up to {MAX_FORCE_N:g} N "
                                 "(a compressive force along the load axis)")
        for name, value in (("flexion-extension moment", self.moment_fe_nm),
                            ("lateral-bending moment", self.moment_lb_nm)):
            if abs(_finite(value, name)) > MAX_MOMENT_NM:
                raise ParameterError(f"{name} = {value} N·m: allowed -{MAX_MOMENT_NM:g} to {MAX_MOMENT_NM:g} N·m")

    def offset_mm(self) -> np.ndarray:
        """Shift (mm) of the centre of pressure the moments ask for: (anterior, left) = M / F."""
        return 1000.0 * np.array([self.moment_fe_nm, self.moment_lb_nm], dtype=np.float64) / self.force_n

    def to_json(self) -> dict[str, float | bool]:
        return {"force_n": float(self.force_n), "moment_fe_nm": float(self.moment_fe_nm),
                "moment_lb_nm": float(self.moment_lb_nm), "seat": bool(self.seat)}


def load_case(force: float | str | dict | LoadCase = LUMBAR_FORCE_N, moment_fe_nm: float = 0.0,
              moment_lb_nm: float = 0.0) -> LoadCase:
    """A :class:`LoadCase` from a force in N, a number as text, ``"lumbar"`` / ``"cervical"``, or a
    dict of :class:`LoadCase` fields (then the moment arguments are ignored)."""
    if isinstance(force, LoadCase):
        return force
    if isinstance(force, dict):
        unknown = sorted(set(force) - {"force_n", "moment_fe_nm", "moment_lb_nm", "seat"})
        if unknown:
            raise ParameterError(f"load: unknown field(s) {', '.join(unknown)} (allowed: force_n, moment_fe_nm, "
                                 "moment_lb_nm, seat)")
        return LoadCase(**force)
    if isinstance(force, str) and force.strip().lower() in NAMED_FORCES_N:
        force = NAMED_FORCES_N[force.strip().lower()]
    elif isinstance(force, str):
        try:
            force = float(force)
        except ValueError:
            raise ParameterError(f"load = {force!r}: give a force in N or one of {', '.join(NAMED_FORCES_N)}") from None
    return LoadCase(force, moment_fe_nm, moment_lb_nm)


@dataclass(frozen=True)
class Foundation:
    """The bone's surface layer as an elastic foundation: bony endplate over cancellous bone."""

    endplate_modulus_mpa: float = 1000.0
    endplate_thickness_mm: float = 0.5
    cancellous_modulus_mpa: float = 100.0
    cancellous_thickness_mm: float = 10.0
    poisson: float = 0.3

    def __post_init__(self) -> None:
        for name in ("endplate_modulus_mpa", "cancellous_modulus_mpa"):
            if not 0 < _finite(getattr(self, name), name) <= 50_000:
                raise ParameterError(f"{name} = {getattr(self, name)}: allowed above 0 up to 50000 MPa")
        for name in ("endplate_thickness_mm", "cancellous_thickness_mm"):
            if not 0 <= _finite(getattr(self, name), name) <= 100:
                raise ParameterError(f"{name} = {getattr(self, name)}: allowed 0 to 100 mm")
        if self.endplate_thickness_mm + self.cancellous_thickness_mm <= 0:
            raise ParameterError("foundation: the endplate and cancellous thicknesses are both 0 mm")
        if not 0 <= _finite(self.poisson, "poisson") < 0.49:
            raise ParameterError(f"poisson = {self.poisson}: allowed 0 to 0.49")

    @property
    def stiffness_mpa_per_mm(self) -> float:
        """Spring stiffness k (MPa/mm): the two layers in series."""
        nu = self.poisson
        confined = (1 + nu) * (1 - 2 * nu) / (1 - nu)   # h / (E k) of one layer
        return 1.0 / (confined * (self.endplate_thickness_mm / self.endplate_modulus_mpa
                                  + self.cancellous_thickness_mm / self.cancellous_modulus_mpa))

    def to_json(self) -> dict[str, float]:
        return {"endplate_modulus_mpa": self.endplate_modulus_mpa, "endplate_thickness_mm": self.endplate_thickness_mm,
                "cancellous_modulus_mpa": self.cancellous_modulus_mpa,
                "cancellous_thickness_mm": self.cancellous_thickness_mm, "poisson": self.poisson,
                "stiffness_mpa_per_mm": round(self.stiffness_mpa_per_mm, 4)}


@dataclass(frozen=True, eq=False)
class FacePressure:
    """Pressure on one bearing face of the implant (springs: refined bearing triangles)."""

    face: str                      # "superior" (bone above) or "inferior" (bone below)
    load: LoadCase
    foundation: Foundation
    axis: np.ndarray               # unit load axis ("up"); the plane basis e1 (anterior), e2 (left)
    basis: np.ndarray              # (2, 3): e1, e2
    triangles: np.ndarray          # (n, 3, 3) springs, mm
    parent: np.ndarray             # (n,) index of the implant triangle each spring comes from
    area_mm2: np.ndarray           # (n,) projected areas
    gap_mm: np.ndarray             # (n,) initial gaps along the load axis (negative: penetration)
    pressure_mpa: np.ndarray       # (n,)
    rim: np.ndarray                # (n,) bool: within rim_width_mm of the footprint's outer edge
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_mpa(self) -> float:
        return float(self.pressure_mpa.max())

    def to_json(self) -> dict[str, Any]:
        return {"face": self.face, "load": self.load.to_json(), "foundation": self.foundation.to_json(),
                "load_axis": [round(float(v), 6) for v in self.axis], **self.figures}


def _percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted percentile (the smallest value with at least ``q`` % of the weight at or below it)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cum, q / 100.0 * cum[-1]), len(values) - 1)])


def refine_triangles(tris: np.ndarray, max_edge: float) -> tuple[np.ndarray, np.ndarray]:
    """Bisect the longest edge of every triangle (n, 3, 3) until no edge exceeds ``max_edge``;
    returns the pieces and the index of the triangle each came from (slivers split along their
    length only, so the count grows with length / ``max_edge``, not its square)."""
    parent = np.arange(len(tris))
    done_t, done_p = [], []
    while len(tris):
        edges = np.linalg.norm(tris[:, [1, 2, 0]] - tris, axis=2)
        longest = edges.argmax(axis=1)
        ok = edges[np.arange(len(tris)), longest] <= max_edge
        done_t.append(tris[ok])
        done_p.append(parent[ok])
        tris, parent, longest = tris[~ok], parent[~ok], longest[~ok]
        order = (np.arange(3)[None, :] + longest[:, None]) % 3      # longest edge becomes v0 → v1
        tris = np.take_along_axis(tris, order[:, :, None], axis=1)
        mid = 0.5 * (tris[:, 0] + tris[:, 1])
        tris = np.concatenate([np.stack([tris[:, 0], mid, tris[:, 2]], 1), np.stack([mid, tris[:, 1], tris[:, 2]], 1)])
        parent = np.concatenate([parent, parent])
    return np.concatenate(done_t), np.concatenate(done_p)


def _outer_distance(uv: np.ndarray, pixel: float) -> np.ndarray:
    """Distance (mm, ± one pixel) from each point to the outer edge of the footprint the points
    cover: points rasterised at ``pixel`` mm, gaps closed, holes (graft windows) filled."""
    lo = uv.min(axis=0) - 3 * pixel
    idx = np.floor((uv - lo) / pixel).astype(np.int64)
    grid = np.zeros(tuple(idx.max(axis=0) + 4), dtype=bool)
    grid[idx[:, 0], idx[:, 1]] = True
    grid = ndimage.binary_fill_holes(ndimage.binary_closing(grid, iterations=2))
    return ndimage.distance_transform_edt(grid)[idx[:, 0], idx[:, 1]] * pixel


def _springs(implant: trimesh.Trimesh, bone: trimesh.Trimesh, up: np.ndarray, toward: str,
             mask: np.ndarray | None, back_mm: float,
             spacing_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The springs: the implant triangles facing the bone, refined to edges ≤ ``spacing_mm``
    (:func:`refine_triangles`) before any gap is measured, so a large flat triangle counts where its
    pieces lie over the bone, not where its centroid does. Returns the pieces with a finite gap
    (n, 3, 3), the implant triangle each came from, their gaps (mm; rays from ``back_mm`` behind)
    and the direction to the bone; ``toward`` "auto" picks the side on which the implant comes
    nearest (judged on ~2000 pieces per side)."""
    vertices = np.asarray(implant.vertices, dtype=np.float64)
    faces = np.asarray(implant.faces)
    normals = np.asarray(implant.face_normals)
    sides = []
    for sign in {"up": [1.0], "down": [-1.0], "auto": [1.0, -1.0]}[toward]:
        facing = normals @ (sign * up) >= math.cos(math.radians(BEARING_ANGLE_DEG))
        ids = np.flatnonzero(facing if mask is None else facing & mask)
        if len(ids):
            tris, parent = refine_triangles(vertices[faces[ids]], spacing_mm)
            sides.append((sign * up, tris, ids[parent]))
    if len(sides) == 2:
        nearest = [axial_gaps(tris[:: max(1, len(tris) // 2000)].mean(axis=1), bone, s, back_mm).min()
                   for s, tris, _ in sides]
        if np.isfinite(nearest).any():
            sides = [sides[int(np.argmin(nearest))]]
    for s, tris, parent in sides:
        gaps = axial_gaps(tris.mean(axis=1), bone, s, back_mm)
        over = np.isfinite(gaps)
        if over.any():
            return tris[over], parent[over], gaps[over], s
    raise ParameterError("load with no contact: no triangle of the implant faces the bone along the load axis "
                         "(check that the implant sits on the bone, in the same frame and axes)")


def pressure_on_bone(implant: trimesh.Trimesh, bone: trimesh.Trimesh, load: LoadCase | float | str = LUMBAR_FORCE_N,
                     foundation: Foundation | None = None, *, axis: Any = (0.0, 0.0, 1.0), toward: str = "auto",
                     mask: np.ndarray | None = None, tolerance_mm: float = CONTACT_TOLERANCE_MM,
                     spacing_mm: float = SPACING_MM, rim_width_mm: float = RIM_WIDTH_MM) -> FacePressure:
    """Pressure (MPa) of ``implant`` on ``bone`` under ``load`` (see the module docstring).

    ``axis``: the load axis (the force pushes the implant along it towards the bone); ``toward``
    ``"up"`` / ``"down"`` / ``"auto"``: on which side of the implant along ``axis`` the bone is;
    ``mask``: only these implant triangles may bear (e.g. a ``contact.inferior`` feature);
    ``tolerance_mm``: the implant must come within it of the bone (else it does not touch);
    ``spacing_mm``: largest spring edge; ``rim_width_mm``: width of the rim band of the footprint
    (at most :data:`RIM_FRACTION` of its inscribed radius).
    Raises :class:`ParameterError` (one line) on bad input, no contact or no equilibrium."""
    started = time.perf_counter()
    load = load_case(load)
    foundation = foundation if foundation is not None else Foundation()
    for what, mesh in (("implant mesh", implant), ("bone mesh", bone)):
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            raise ParameterError(f"{what}: expected a triangle mesh with triangles")
    if toward not in ("auto", "up", "down"):
        raise ParameterError(f"toward = {toward!r}: allowed auto, up, down")
    for what, value in (("tolerance_mm", tolerance_mm), ("spacing_mm", spacing_mm), ("rim_width_mm", rim_width_mm)):
        if not 0 < _finite(value, what) <= 50:
            raise ParameterError(f"{what} = {value}: allowed above 0 up to 50 mm")
    axis_v = np.asarray(axis, dtype=np.float64).reshape(-1)
    if axis_v.shape != (3,) or not np.all(np.isfinite(axis_v)) or np.linalg.norm(axis_v) < 1e-9:
        raise ParameterError(f"load axis = {axis!r}: expected a non-zero 3-vector")
    up, e1, e2 = plane_basis(axis_v)
    if mask is not None and np.asarray(mask).shape != (len(implant.faces),):
        raise ParameterError(f"mask: expected {len(implant.faces)} booleans, one per implant triangle")
    # seated: rays from behind the whole implant, so that any penetration is measured
    back = BACK_MM + (float(np.ptp(implant.vertices @ up)) if load.seat else 0.0)
    tris, parent, gaps, s = _springs(implant, bone, up, toward, None if mask is None else np.asarray(mask, bool),
                                     back, spacing_mm)
    nearest = float(gaps.min())
    if nearest > tolerance_mm and not load.seat:
        raise ParameterError(f"the implant does not touch the bone: its nearest bearing triangle is {nearest:.2f} mm "
                             f"away along the load axis (contact within {tolerance_mm} mm); seat it on the bone "
                             "or check the frame and axes of the files")
    centres = tris.mean(axis=1)
    seat_shift = float(gaps.min()) if load.seat else 0.0
    gaps = gaps - seat_shift
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    area = 0.5 * np.abs(normal @ up)
    uv = centres @ np.stack([e1, e2], axis=1)
    centroid = (uv * area[:, None]).sum(axis=0) / area.sum()
    target = centroid + load.offset_mm()
    k = foundation.stiffness_mpa_per_mm
    eq = solve_equilibrium(area, uv, gaps, k, load.force_n, target)
    pressure = eq.pressure_mpa
    inside = _outer_distance(uv, min(spacing_mm, 0.25))
    rim_width = min(float(rim_width_mm), RIM_FRACTION * float(inside.max()))
    rim = inside <= rim_width
    loaded = pressure > 0
    force = float((pressure * area).sum())
    cop_uv = (uv * (pressure * area)[:, None]).sum(axis=0) / force
    height = float((centres @ up * pressure * area).sum() / force)
    cop = cop_uv[0] * e1 + cop_uv[1] * e2 + height * up
    figures = {
        "peak_mpa": round(float(pressure.max()), 4),
        "mean_mpa": round(force / float(area[loaded].sum()), 4),
        "p95_mpa": round(_percentile(pressure[loaded], area[loaded], 95.0), 4),
        "loaded_area_mm2": round(float(area[loaded].sum()), 3),
        "bearing_area_mm2": round(float(area.sum()), 3),
        "pct_loaded": round(100.0 * float(area[loaded].sum() / area.sum()), 2),
        "centre_of_pressure_mm": [round(float(v), 3) for v in cop],
        "cop_offset_mm": {"anterior": round(float(cop_uv[0] - centroid[0]), 3),
                          "left": round(float(cop_uv[1] - centroid[1]), 3)},
        "rim_share": round(float((pressure * area)[rim].sum()) / force, 4),
        "centre_share": round(float((pressure * area)[~rim].sum()) / force, 4),
        "rim_area_share": round(float(area[rim].sum() / area.sum()), 4),
        "rim_width_mm": round(rim_width, 3),
        "approach_mm": round(eq.approach_mm, 5),
        "approach_slope_deg": {"anterior": round(math.degrees(math.atan(eq.slope_u)), 4),
                               "left": round(math.degrees(math.atan(eq.slope_v)), 4)},
        "min_gap_mm": round(float(gaps.min()), 4),
        "seat_shift_mm": round(seat_shift, 4),
        "springs": int(len(area)),
        "iterations": eq.iterations,
        "solve_s": round(time.perf_counter() - started, 4),
    }
    return FacePressure("superior" if s @ up > 0 else "inferior", load, foundation, up, np.stack([e1, e2]), tris,
                        parent, area, gaps, pressure, rim, figures)
