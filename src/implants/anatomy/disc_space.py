"""The disc space between two adjacent vertebrae (patient frame: +x anterior, +y left, +z superior)
(layer: anatomy).

From the upper vertebra's inferior endplate and the lower vertebra's superior endplate:

* a **disc-space frame**: z along the bisector of the two endplate normals (pointing cranially),
  x towards anterior, y = z × x (patient-left); origin at mid-height of the disc above the
  midpoint of the two endplate centroids: the origin of ``interbody-cage``;
* the endplate surfaces as height fields ``upper_z(x, y)`` and ``lower_z(x, y)`` in that frame,
  the disc height at the centre, the current sagittal angle (positive = lordotic, the disc is
  taller anteriorly) and coronal angle (positive = taller on the left), from the mean planes;
* the usable footprint: the region inside both endplate rims shrunk by ``margin_mm``.

Overlapping vertebrae (no gap over the shared endplate area) and vertebrae too far apart for a
cage are :class:`ParameterError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.local_frame import Frame
from .endplates import Endplate, extract_endplate

#: Largest disc height (mm) at the centre for which a cage makes sense (tallest lumbar cages ~20 mm).
MAX_DISC_HEIGHT_MM = 25.0
#: Largest offset (fraction of the smaller endplate depth) between the endplate centres seen along z.
MAX_CENTRE_OFFSET = 0.5
#: Angles (deg) sampled around the footprint.
FOOTPRINT_POINTS = 96


@dataclass(frozen=True, eq=False)
class DiscSpace:
    """A disc space; lengths mm, angles deg; ``frame`` maps disc-space coordinates to the patient frame."""

    upper: Endplate                 # inferior endplate of the upper vertebra
    lower: Endplate                 # superior endplate of the lower vertebra
    frame: Frame
    height_mm: float                # at the origin (the centre)
    sagittal_deg: float             # + lordotic (anterior taller)
    coronal_deg: float              # + taller on the left
    footprint: np.ndarray           # (N, 2) usable footprint in the disc frame (x, y), counter-clockwise
    margin_mm: float
    min_gap_mm: float               # smallest height over the footprint
    info: dict = field(default_factory=dict)

    def upper_z(self, x, y) -> np.ndarray:
        """Disc-frame z of the upper vertebra's inferior endplate above disc-frame (x, y)."""
        return _surface_z(self.upper, self.frame, x, y)

    def lower_z(self, x, y) -> np.ndarray:
        """Disc-frame z of the lower vertebra's superior endplate below disc-frame (x, y)."""
        return _surface_z(self.lower, self.frame, x, y)

    def height(self, x, y) -> np.ndarray:
        """Disc height (mm) along the disc-frame z at (x, y)."""
        return self.upper_z(x, y) - self.lower_z(x, y)

    @property
    def footprint_area_mm2(self) -> float:
        return outlines.polygon_area(self.footprint)

    def summary(self) -> dict:
        return {"height_mm": round(self.height_mm, 2), "sagittal_deg": round(self.sagittal_deg, 2),
                "coronal_deg": round(self.coronal_deg, 2), "footprint_area_mm2": round(self.footprint_area_mm2, 1),
                "footprint_size_mm": [round(float(np.ptp(self.footprint[:, 0])), 1),
                                      round(float(np.ptp(self.footprint[:, 1])), 1)],
                "min_gap_mm": round(self.min_gap_mm, 2), "margin_mm": self.margin_mm,
                "origin": [round(float(v), 2) for v in self.frame.origin]}


def _surface_z(endplate: Endplate, frame: Frame, x, y) -> np.ndarray:
    """z (in ``frame``) where the line through frame (x, y) along frame z meets the endplate's field."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    pts = np.column_stack([x.ravel(), y.ravel(), np.zeros(x.size)])
    # frame z expressed in the endplate's local frame
    direction = endplate.frame.axes @ frame.axes[2]
    base = endplate.frame.to_local(frame.to_patient(pts))
    t = np.zeros(x.size)
    for _ in range(8):
        loc = base + t[:, None] * direction
        t += (endplate.height(loc[:, 0], loc[:, 1]) - loc[:, 2]) / direction[2]
    return t.reshape(x.shape)


def _slopes(normal: np.ndarray, frame: Frame) -> tuple[float, float]:
    """Slopes dz/dx, dz/dy (disc frame) of the plane with ``normal`` (patient frame)."""
    n = frame.axes @ normal
    return -n[0] / n[2], -n[1] / n[2]


def _footprint(rims: list[np.ndarray], margin_mm: float) -> np.ndarray:
    """Star-shaped region about the origin inside every rim, at least ``margin_mm`` from each rim."""
    angles = np.linspace(0.0, 2 * np.pi, FOOTPRINT_POINTS, endpoint=False)
    reach = max(float(np.linalg.norm(r, axis=1).max()) for r in rims)
    radii = np.arange(0.0, reach + 0.2, 0.2)
    dirs = np.column_stack([np.cos(angles), np.sin(angles)])
    pts = (radii[None, :, None] * dirs[:, None, :]).reshape(-1, 2)
    ok = np.ones(len(pts), bool)
    for rim in rims:
        inside = outlines.contains(rim, pts)
        inside[inside] = outlines.min_distance_to_edges(rim, pts[inside]) >= margin_mm
        ok &= inside
    ok = ok.reshape(len(angles), len(radii))
    # along each ray, keep the first run of good points from the centre
    first_bad = np.where(~ok, np.arange(len(radii))[None, :], len(radii)).min(axis=1)
    r = radii[np.maximum(first_bad - 1, 0)]
    if (first_bad == 0).any() or r.min() <= 0:
        raise ParameterError(f"margin_mm: {margin_mm} mm leaves no footprint inside the endplate rims")
    return dirs * r[:, None]


def disc_pose(up: Endplate, lo: Endplate) -> tuple[Frame, float, float, float]:
    """The disc-space frame (origin midway between the two surfaces at the centre), the height
    there (mm) and the sagittal and coronal angles (deg) between the upper vertebra's inferior
    endplate ``up`` and the lower's superior ``lo``, without the footprint or the overlap checks
    of :func:`disc_space` (cheap: for placing a vertebra step by step)."""
    ez = lo.normal - up.normal  # both out of the bone: lower's points up, upper's down
    ez /= np.linalg.norm(ez)
    ex = np.array([1.0, 0.0, 0.0]) - ez[0] * ez
    ex /= np.linalg.norm(ex)
    axes = np.array([ex, np.cross(ez, ex), ez])
    centre = (up.centroid + lo.centroid) / 2
    frame0 = Frame(centre, axes)
    offset = axes @ (up.centroid - lo.centroid)
    depth = min(up.size_mm[0], lo.size_mm[0])
    if np.hypot(offset[0], offset[1]) > MAX_CENTRE_OFFSET * depth:
        raise ParameterError(f"disc space: the endplates are offset by {np.hypot(offset[0], offset[1]):.1f} mm "
                             f"(more than {MAX_CENTRE_OFFSET} of the endplate depth {depth:.1f} mm): not adjacent vertebrae")
    z_up = float(_surface_z(up, frame0, 0.0, 0.0))
    z_lo = float(_surface_z(lo, frame0, 0.0, 0.0))
    frame = frame0.moved_to((0.0, 0.0, (z_up + z_lo) / 2))
    (bu, cu), (bl, cl) = _slopes(up.normal, frame), _slopes(lo.normal, frame)
    return (frame, z_up - z_lo, float(np.degrees(np.arctan(bu) - np.arctan(bl))),
            float(np.degrees(np.arctan(cu) - np.arctan(cl))))


def disc_space(upper: trimesh.Trimesh | Endplate, lower: trimesh.Trimesh | Endplate, *, margin_mm: float = 2.0,
               max_height_mm: float = MAX_DISC_HEIGHT_MM) -> DiscSpace:
    """The disc space between the ``upper`` and ``lower`` vertebra (meshes in the patient frame,
    or their already extracted inferior/superior endplates)."""
    if not 0.0 <= margin_mm <= 10.0:
        raise ParameterError(f"margin_mm: {margin_mm} is outside 0–10 mm")
    up = upper if isinstance(upper, Endplate) else extract_endplate(upper, "inferior")
    lo = lower if isinstance(lower, Endplate) else extract_endplate(lower, "superior")
    if up.side != "inferior" or lo.side != "superior":
        raise ParameterError("disc space: needs the upper vertebra's inferior and the lower vertebra's superior endplate")
    frame, height, sagittal, coronal = disc_pose(up, lo)
    if height <= 0:
        raise ParameterError(f"disc space: the vertebrae overlap (disc height at the centre {height:.2f} mm; "
                             "the upper vertebra's inferior endplate must lie above the lower's superior endplate)")
    if height > max_height_mm:
        raise ParameterError(f"disc space: the vertebrae are {height:.1f} mm apart at the centre, more than "
                             f"max_height_mm = {max_height_mm} mm: too far apart for a cage")
    rims = [frame.to_local(ep.outline)[:, :2] for ep in (up, lo)]
    foot = _footprint(rims, margin_mm)
    space = DiscSpace(up, lo, frame, height, 0.0, 0.0, foot, margin_mm, 0.0)
    gx, gy = np.meshgrid(np.linspace(-1, 1, 15), np.linspace(-1, 1, 15))
    probe = np.column_stack([gx.ravel() * np.abs(foot[:, 0]).max(), gy.ravel() * np.abs(foot[:, 1]).max()])
    probe = np.vstack([probe[outlines.contains(foot, probe)], foot])
    gap = float(space.height(probe[:, 0], probe[:, 1]).min())
    if gap <= 0:
        raise ParameterError(f"disc space: the vertebrae overlap inside the footprint (smallest gap {gap:.2f} mm)")
    return DiscSpace(up, lo, frame, float(height), sagittal, coronal, foot, float(margin_mm), gap)
