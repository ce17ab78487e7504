"""The landmarks and the surface projection that deform one endplate of a packaged vertebra to a
requested shape, and the measures of an extracted endplate and body the morph is fitted to
(:func:`endplate_measures`, :func:`body_height`) (layer: anatomy); used by :mod:`.patient_morph`.

Every quantity is in the base endplate's local frame (the one :func:`~.endplates.extract_endplate`
reports: x anterior, y patient-left, z along the mean normal towards patient +z; mm) and
depends only on the base vertebra, so :func:`endplate_source` runs once per packaged level:

* **rim**: every :data:`RIM_STEP`-th point of the extracted outline, and the same points
  :data:`WALL_DEPTH_MM` inside the bone (the wall under the rim follows the rim);
* **surface**: a grid and two inset rings inside the rim, on the base height field;
* **band**: the mesh vertices of the endplate surface and the bone just under it (their depth
  under the base surface, their distance inside the rim and a weight 0…1).

For a request (width, depth, concavity, apex) the rim is scaled about the outline's box centre
to the requested extents, and the surface goes onto *ruler − bowl*: the ruler is the base
endplate's convex hull on the disc side (what the concavity is measured against), the bowl a
smooth cap ``c (1 − ρ²)²`` of the requested depth ``c`` with its top at the requested apex
(ρ = 0) vanishing on the rim (ρ = 1, along rays from the apex). The thin-plate spline through
the landmarks carries the bulk of the change; it cannot remove the base bone's relief finer than
the landmark spacing (a hollow between grid points survives it), so :func:`project_band` then
moves every band vertex along the local z by the remaining difference to *ruler − bowl*, fully
on the surface and fading to nothing :data:`BAND_DEPTH_MM` into the bone and near the rim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from ..geometry import outlines
from .endplates import Endplate, hull_top
from .morph import smoothstep

#: Rim landmarks per endplate (every n-th of the outline's 96 points).
RIM_STEP = 4
#: Depth (mm, along the endplate normal into the bone) of the wall landmarks under the rim.
WALL_DEPTH_MM = 3.0
#: Surface landmarks: grid spacing as a fraction of the endplate's smaller extent.
GRID_FRACTION = 1 / 7
#: Inset rings of surface landmarks: their distances inside the rim, fractions of the smaller
#: extent (they hold the band next to the rim, corners and notches included, on the ruler).
INSET_FRACTIONS = (0.06, 0.12)
#: Outer landmarks: their distance outside the rim, a fraction of the smaller extent; they keep
#: the step from the rim to the bone beside it (the slope the extraction's rim is found by).
OUTER_FRACTION = 0.06
#: The projection fades from full (on the surface) to none this deep (mm) under the base surface.
BAND_DEPTH_MM = 4.0
#: ... and from none on the rim to full this far inside it (fractions of the smaller extent: the
#: concavity is measured from 0.12 inside, endplates.RIM_BAND).
BAND_RIM_FRACTIONS = (0.02, 0.09)


@dataclass(frozen=True, eq=False)
class EndplateSource:
    """One base endplate's landmarks and band (local frame, mm; see the module docstring)."""

    endplate: Endplate
    ring: np.ndarray            # (K, 2) rim landmarks
    ring_z: np.ndarray          # (K,) their heights
    outer: np.ndarray           # (O, 2) landmarks just outside the rim (on the bone seen from the disc)
    outer_z: np.ndarray         # (O,) their heights
    outer_of: np.ndarray        # (O,) the rim landmark each lies outside of
    surface: np.ndarray         # (S, 2) surface landmarks
    surface_z: np.ndarray       # (S,) their heights on the base field
    band: np.ndarray            # (B,) indices of the band's mesh vertices
    band_xy: np.ndarray         # (B, 2) their local x, y
    band_depth: np.ndarray      # (B,) their depth under the base surface (mm, ≥ −1)
    band_inside: np.ndarray     # (B,) weight 0…1 of the full projection: 0 on the rim, 1 inside
    band_fade: np.ndarray       # (B,) weight 0…1 with depth: 1 on the surface, 0 deep in the bone
    surface_ruler: np.ndarray   # (S,) the ruler's height over the surface landmarks
    band_ruler: np.ndarray      # (B,) the ruler's height over the band's vertices

    @property
    def into_bone(self) -> float:
        """Local z direction into the bone: −1 under a superior endplate, +1 over an inferior."""
        return -1.0 if self.endplate.side == "superior" else 1.0

    def source_landmarks(self) -> np.ndarray:
        """(2K + O + S, 3) rim, wall, outer and surface landmarks (local frame)."""
        return np.vstack([np.column_stack([self.ring, self.ring_z]),
                          np.column_stack([self.ring, self.ring_z + self.into_bone * WALL_DEPTH_MM]),
                          np.column_stack([self.outer, self.outer_z]),
                          np.column_stack([self.surface, self.surface_z])])


def _outer_ring(endplate: Endplate, vertices: np.ndarray, faces: np.ndarray, ring: np.ndarray,
                offset: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points ``offset`` outside the rim landmarks on the bone surface nearest the disc (the rim's
    roll-off, or an uncinate process rising beside a cervical endplate), where there is bone."""
    local = trimesh.Trimesh(endplate.frame.to_local(vertices), faces, process=False)
    towards_disc = 1.0 if endplate.side == "superior" else -1.0
    xy = ring + offset
    start = np.column_stack([xy, np.full(len(xy), towards_disc * (np.abs(local.vertices[:, 2]).max() + 10.0))])
    hits, rays, _ = local.ray.intersects_location(start, np.tile([0.0, 0.0, -towards_disc], (len(xy), 1)))
    z = np.full(len(xy), -np.inf)
    np.maximum.at(z, rays, towards_disc * hits[:, 2])       # the first surface seen from the disc
    z = towards_disc * z
    # bone there, and not deeper than the wall landmarks (beyond an overhanging rim lip the
    # line meets the body's waist far from the rim: no landmark)
    found = np.isfinite(z) & (towards_disc * (endplate.height(ring[:, 0], ring[:, 1]) - z) <= WALL_DEPTH_MM)
    return xy[found], z[found], np.flatnonzero(found)


def endplate_source(endplate: Endplate, vertices: np.ndarray, faces: np.ndarray) -> EndplateSource:
    """The landmarks and band of a base ``endplate`` of the mesh with ``vertices`` and ``faces``
    (patient frame)."""
    rim = endplate.outline_local
    lo, hi = rim.min(axis=0), rim.max(axis=0)
    small = float(min(hi - lo))
    centre = (lo + hi) / 2
    ring = rim[::RIM_STEP]
    step = GRID_FRACTION * small
    gx, gy = np.meshgrid(np.arange(lo[0] + step / 2, hi[0], step), np.arange(lo[1] + step / 2, hi[1], step))
    inward = (centre - ring) / np.linalg.norm(centre - ring, axis=1)[:, None]
    surface = np.vstack([np.column_stack([gx.ravel(), gy.ravel()]),
                         *(ring + inward * fraction * small for fraction in INSET_FRACTIONS)])
    surface = surface[outlines.contains(rim, surface)]
    surface = surface[outlines.min_distance_to_edges(rim, surface) >= 0.5 * min(INSET_FRACTIONS) * small]

    into_bone = -1.0 if endplate.side == "superior" else 1.0
    outer, outer_z, outer_of = _outer_ring(endplate, vertices, faces, ring, -inward * OUTER_FRACTION * small)
    local = endplate.frame.to_local(vertices)
    depth = into_bone * (local[:, 2] - endplate.height(local[:, 0], local[:, 1]))
    # the endplate's own vertices are on the surface (the smoothed field can miss them by tenths)
    own = np.zeros(len(vertices), bool)
    own[cKDTree(vertices).query(endplate.mesh.vertices)[1]] = True
    depth[own] = 0.0
    near = (depth > -1.0) & (depth < BAND_DEPTH_MM)
    near[near] = own[near] | outlines.contains(rim, local[near, :2])
    band = np.flatnonzero(near)
    inside = np.where(outlines.contains(rim, local[band, :2]), outlines.min_distance_to_edges(rim, local[band, :2]), 0.0)
    top = hull_top(endplate.frame.to_local(endplate.mesh.vertices) * [1.0, 1.0, -into_bone])
    return EndplateSource(endplate, ring, endplate.height(ring[:, 0], ring[:, 1]), outer, outer_z, outer_of, surface,
                          endplate.height(surface[:, 0], surface[:, 1]), band, local[band, :2], depth[band],
                          smoothstep(inside, *(f * small for f in BAND_RIM_FRACTIONS)),
                          smoothstep(depth[band], BAND_DEPTH_MM, 0.5), -into_bone * top(surface),
                          -into_bone * top(local[band, :2]))


def ray_fraction(rim: np.ndarray, apex: np.ndarray, points: np.ndarray) -> np.ndarray:
    """ρ of each point: its distance from ``apex`` over the distance from ``apex`` to the rim
    polygon along the same ray (0 at the apex, 1 on the rim)."""
    d = points - apex
    a, b = rim, np.roll(rim, -1, axis=0)
    e = b - a
    w = a - apex
    denom = d[:, None, 0] * e[None, :, 1] - d[:, None, 1] * e[None, :, 0]
    safe = np.where(np.abs(denom) < 1e-12, np.nan, denom)
    t = (w[None, :, 0] * e[None, :, 1] - w[None, :, 1] * e[None, :, 0]) / safe   # along the ray
    s = (w[None, :, 0] * d[:, None, 1] - w[None, :, 1] * d[:, None, 0]) / safe   # along the edge
    t = np.where((s >= 0) & (s <= 1) & (t > 1e-9), t, np.inf)
    with np.errstate(divide="ignore"):
        return 1.0 / t.min(axis=1)


class EndplateTarget:
    """Where the landmarks and band of ``source`` go for the requested ``want`` (width_mm,
    depth_mm, concavity_mm, apex_ap_pct, apex_lr_pct), all moved by ``shift`` (local frame, mm)."""

    def __init__(self, source: EndplateSource, want: dict[str, float], shift: np.ndarray):
        rim = source.endplate.outline_local
        lo, hi = rim.min(axis=0), rim.max(axis=0)
        self.source, self.want, self.shift = source, want, np.asarray(shift, float)
        self.centre = (lo + hi) / 2
        self.scale = np.array([want["depth_mm"], want["width_mm"]]) / (hi - lo)
        self.rim = self.scaled(rim)
        new_lo, new_hi = self.rim.min(axis=0), self.rim.max(axis=0)
        self.apex = np.array([new_hi[0] - want["apex_ap_pct"] / 100 * (new_hi[0] - new_lo[0]),
                              (new_lo[1] + new_hi[1]) / 2 + want["apex_lr_pct"] / 100 * (new_hi[1] - new_lo[1])])

    def scaled(self, xy: np.ndarray) -> np.ndarray:
        """Base local x, y scaled about the rim's box centre to the requested extents."""
        return self.centre + (xy - self.centre) * self.scale

    def surface_z(self, xy: np.ndarray, ruler: np.ndarray) -> np.ndarray:
        """Requested surface height over base local ``xy`` (before the scaling) where the ruler
        is at ``ruler``: ruler − bowl."""
        rho = np.clip(ray_fraction(self.rim, self.apex, self.scaled(xy)), 0.0, 1.0)
        return ruler + self.source.into_bone * self.want["concavity_mm"] * (1.0 - rho ** 2) ** 2

    def landmarks(self) -> np.ndarray:
        """(2K + S, 3) targets of :meth:`EndplateSource.source_landmarks` (local frame)."""
        src = self.source
        ring = self.scaled(src.ring)
        ring_z = src.ring_z
        return self.shift + np.vstack([
            np.column_stack([ring, ring_z]),
            np.column_stack([ring, ring_z + src.into_bone * WALL_DEPTH_MM]),
            np.column_stack([ring[src.outer_of] + src.outer - src.ring[src.outer_of], src.outer_z]),
            np.column_stack([self.scaled(src.surface), self.surface_z(src.surface, src.surface_ruler)])])

    def project_band(self, vertices: np.ndarray) -> None:
        """Move the band's vertices of the morphed mesh (patient frame, changed in place) along
        the base local z: inside, onto the requested surface; near the rim, only down (into the
        bone) where the spline lifted them above the ruler (they would lift the ruler); both
        fading with depth (see the module docstring)."""
        src = self.source
        frame = src.endplate.frame
        z = frame.to_local(vertices[src.band])[:, 2]
        surface_now = z - src.into_bone * src.band_depth        # the surface above/below each vertex
        wanted = self.surface_z(src.band_xy, src.band_ruler) + self.shift[2]
        above_ruler = np.maximum(0.0, src.into_bone * (src.band_ruler + self.shift[2] - surface_now))
        move = src.band_inside * (wanted - surface_now) + (1.0 - src.band_inside) * src.into_bone * above_ruler
        vertices[src.band] += (move * src.band_fade)[:, None] * frame.axes[2]


def endplate_measures(endplate: Endplate) -> dict[str, float]:
    """width_mm, depth_mm (the outline's extents, :attr:`~.endplates.Endplate.size_mm`),
    concavity_mm, apex_ap_pct (behind the anterior rim, % of depth) and apex_lr_pct (left of the
    middle, % of width) of an extracted endplate."""
    depth, width = endplate.size_mm
    rim = endplate.outline_local
    apex = endplate.apex_local
    return {"width_mm": width, "depth_mm": depth, "concavity_mm": float(endplate.concavity_mm),
            "apex_ap_pct": float(100 * (rim[:, 0].max() - apex[0]) / depth),
            "apex_lr_pct": float(100 * (apex[1] - (rim[:, 1].min() + rim[:, 1].max()) / 2) / width)}


def body_axis(superior: Endplate, inferior: Endplate) -> np.ndarray:
    """Unit body axis (towards superior) from the two endplate normals."""
    axis = superior.normal - inferior.normal
    return axis / np.linalg.norm(axis)


def body_height(superior: Endplate, inferior: Endplate) -> float:
    """Mean rim-to-rim height (mm) of a vertebral body along its axis."""
    return float((superior.outline.mean(axis=0) - inferior.outline.mean(axis=0)) @ body_axis(superior, inferior))
