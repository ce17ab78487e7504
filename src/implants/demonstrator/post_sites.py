"""Where a post from the base can hold a part (layer: demonstrator): lines along a (possibly tilted) post
axis from the base plate that reach the part first, under bone thick enough for the peg's socket, clear
of the other parts and posts; a tilted post becomes a dogleg (vertical column, tilted arm) where that
clears everything. Millimetres at print scale, patient frame with +z up; a post axis points up into
the part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import trimesh

from . import meshops

POST_D_MM = 7.0
PEG_LENGTH_MM = 6.0
#: post axis tilts tried (degrees from vertical) when no vertical line reaches a part; ≤ 40° keeps the
#: post's underside printable (overhang limit 45°)
POST_TILTS_DEG = (0.0, 20.0, 32.0, 40.0)
POST_AZIMUTHS = 12
#: two posts' axes (and a dogleg's column) stay this far apart (mm)
POST_SPACING_MM = POST_D_MM + 2.0
#: a dogleg's tilted arm lengths tried (mm), shortest first
ELBOW_ARMS_MM = (12.0, 20.0, 30.0, 45.0, 65.0, 90.0)
#: the second post of a vertebra: each mm away from its body centre costs this many mm of spread
#: (keeps it on the body or the arch next to it, not on a spinous or transverse process tip)
SECOND_POST_REACH_WEIGHT = 0.6

Segment = tuple[np.ndarray, np.ndarray]


@dataclass
class PostSite:
    """A post under a part. ``rot`` is the 3×3 world → post frame rotation (rows u, v, axis); (``u``,
    ``v``) the axis' place in that frame; ``entry`` (along the axis) where the axis enters the part,
    ``contact`` where the post's disc first touches it, ``thick`` the bone depth above ``entry``;
    ``crossing`` the length of other bones the post passes through (through a hole); ``bottom`` and
    ``foot`` the axis' points on the base's top and at the part; ``elbow`` the dogleg's bend, if any;
    ``segments`` the post's axis pieces (bottom to top)."""

    u: float
    v: float
    entry: float
    contact: float
    thick: float
    crossing: float
    rot: np.ndarray
    bottom: np.ndarray
    foot: np.ndarray
    length: float
    elbow: np.ndarray | None = None
    segments: list[Segment] = field(default_factory=list)

    @property
    def axis(self) -> np.ndarray:
        return self.rot[2]

    def point(self, du: float, dv: float, along: float) -> np.ndarray:
        """The world point at (``u`` + ``du``, ``v`` + ``dv``, ``along``) in the post frame."""
        return self.rot.T @ np.array([self.u + du, self.v + dv, along])

    @property
    def tilt_deg(self) -> float:
        return math.degrees(math.acos(min(1.0, float(self.rot[2][2]))))


def post_directions() -> list[np.ndarray]:
    """Unit post axes (pointing up into the part): vertical first, then more and more tilted."""
    out = [np.array([0.0, 0.0, 1.0])]
    for tilt in POST_TILTS_DEG[1:]:
        t = math.radians(tilt)
        for k in range(POST_AZIMUTHS):
            a = 2 * math.pi * k / POST_AZIMUTHS
            out.append(np.array([math.sin(t) * math.cos(a), math.sin(t) * math.sin(a), math.cos(t)]))
    return out


def _frame_along(direction: np.ndarray) -> np.ndarray:
    """3×3 rotation whose rows are (u, v, d): world → a frame whose z is ``direction``."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(helper, d)
    u /= np.linalg.norm(u)
    return np.vstack([u, np.cross(d, u), d])


def segment_distance(a0, a1, b0, b1, n: int = 24) -> float:
    """Approximate distance (mm) between segments a0–a1 and b0–b1 (``n`` samples on each)."""
    t = np.linspace(0, 1, n)[:, None]
    pa = a0 + t * (a1 - a0)
    pb = b0 + t * (b1 - b0)
    return float(np.min(np.linalg.norm(pa[:, None, :] - pb[None, :, :], axis=2)))


def _clear_of_posts(a0, a1, posts: Sequence[Segment]) -> bool:
    return all(segment_distance(a0, a1, p0, p1) >= POST_SPACING_MM for p0, p1 in posts)


def _ring_offsets(radius: float, n: int) -> np.ndarray:
    """The centre and ``n`` points on a circle of ``radius`` (2D offsets)."""
    return np.vstack([[0, 0], [[radius * math.cos(a), radius * math.sin(a)]
                               for a in np.linspace(0, 2 * np.pi, n, endpoint=False)]])


class _LineProbe:
    """Lines along ``rot``'s axis from below everything, at (u, v) places of the post frame: where they
    meet ``part`` and whether another part (``others``) comes first or ``passable`` parts are crossed."""

    def __init__(self, part: trimesh.Trimesh, others: Sequence[trimesh.Trimesh],
                 passable: Sequence[trimesh.Trimesh], rot: np.ndarray, margin: float):
        self.part, self.passable, self.rot = part, passable, rot
        pv = self._local(part)
        self.lo, self.hi = pv.min(axis=0), pv.max(axis=0)
        # rays start on the base plane's side: below everything in the rotated frame
        self.z_start = min([float(pv[:, 2].min())]
                           + [float(self._local(o)[:, 2].min()) for o in [*others, *passable]]) - 1.0
        self.relevant = []
        for other in others:
            olo, ohi = self._local(other).min(axis=0), self._local(other).max(axis=0)
            if not (np.any(olo[:2] > self.hi[:2] + margin) or np.any(ohi[:2] < self.lo[:2] - margin)
                    or olo[2] > self.hi[2]):
                self.relevant.append(other)

    def _local(self, mesh: trimesh.Trimesh) -> np.ndarray:
        return mesh.vertices @ self.rot.T

    def hits(self, mesh: trimesh.Trimesh, uv: np.ndarray) -> list[np.ndarray]:
        """Sorted positions along the axis where the lines at ``uv`` cross ``mesh``."""
        origins = np.column_stack([uv, np.full(len(uv), self.z_start)]) @ self.rot
        return [self.z_start + t for t in meshops.line_hits(mesh, origins, self.rot[2])]

    def clear(self, uv: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """(own hits, blocked, crossing) of the lines at ``uv``."""
        own = self.hits(self.part, uv)
        mine = np.array([zs[0] if len(zs) else np.inf for zs in own])
        blocked = np.array([len(zs) < 2 for zs in own])
        crossing = np.zeros(len(uv))
        for other in self.relevant:
            for k, zs in enumerate(self.hits(other, uv)):
                if len(zs) and zs[0] < mine[k]:
                    blocked[k] = True
        for other in self.passable:
            for k, zs in enumerate(self.hits(other, uv)):
                below = zs[zs < mine[k]]
                if len(below) % 2 == 1:   # the part would sit inside or touch the other one
                    blocked[k] = True
                elif len(below):
                    crossing[k] += float(np.sum(below[1::2] - below[0::2]))
        return own, blocked, crossing


def _candidate_sites(probe: _LineProbe, base_top: float, posts: Sequence[Segment], strict: bool) -> list[PostSite]:
    """Every grid place whose post disc reaches the part first, under bone thick (and, ``strict``,
    walled all round) enough for the peg's socket, with the post clear of ``posts``."""
    rot, d = probe.rot, probe.rot[2]
    lo, hi = probe.lo, probe.hi
    step = max(1.5, max(hi[0] - lo[0], hi[1] - lo[1]) / 28)
    gx, gy = np.meshgrid(np.arange(lo[0] + step / 2, hi[0], step), np.arange(lo[1] + step / 2, hi[1], step))
    centres = np.column_stack([gx.ravel(), gy.ravel()])
    ring = POST_D_MM / 2 + 1.0
    offsets = np.vstack([_ring_offsets(ring, 8),
                         [[0.5 * ring * math.cos(a), 0.5 * ring * math.sin(a)] for a in (0, np.pi / 2, np.pi, 1.5 * np.pi)]])
    n_off = len(offsets)
    # centre lines first; the post's disc only where the centre line is clear
    own_c, blocked_c, _ = probe.clear(centres)
    ok = ~blocked_c & np.array([len(zs) >= 2 and zs[1] - zs[0] >= PEG_LENGTH_MM + 1.5 for zs in own_c], bool)
    centres = centres[ok]
    if not len(centres):
        return []
    samples = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    own, blocked, crossing = probe.clear(samples)
    inner_idx = [i for i in range(n_off) if np.hypot(*offsets[i]) < ring * 0.6]
    sites = []
    for c in range(len(centres)):
        idx = range(c * n_off, (c + 1) * n_off)
        if any(blocked[k] or len(own[k]) < 2 for k in idx):
            continue
        entry = own[c * n_off][0]
        exit_inner = min(own[c * n_off + i][1] for i in inner_idx)
        if exit_inner - entry < PEG_LENGTH_MM + 1.5:
            continue
        # the socket is walled all round: bone at the disc's rim up to beyond the peg's end
        walled = [own[k][0] <= entry + 2.5 and own[k][1] >= entry + PEG_LENGTH_MM + 1.0 for k in idx]
        if strict and (not all(walled[i] for i in inner_idx) or sum(walled) < n_off - 2):
            continue
        contact = min(own[k][0] for k in idx)
        # where the post's axis meets the base's top (a vertical post: straight below)
        foot = rot.T @ np.array([centres[c, 0], centres[c, 1], contact])
        t_base = (foot[2] - base_top) / d[2]
        bottom = foot - t_base * d
        if not _clear_of_posts(bottom, foot, posts):
            continue
        sites.append(PostSite(float(centres[c, 0]), float(centres[c, 1]), float(entry), float(contact),
                              float(exit_inner - entry), float(max(crossing[k] for k in idx)), rot,
                              bottom, foot, float(np.linalg.norm(foot - bottom))))
    return sites


def post_sites(part: trimesh.Trimesh, others: Sequence[trimesh.Trimesh], base_top: float,
               direction=(0.0, 0.0, 1.0), passable: Sequence[trimesh.Trimesh] = (),
               posts: Sequence[Segment] = (), strict: bool = True, centre=None) -> list[PostSite]:
    """Up to two post sites under ``part`` along the unit axis ``direction`` (up, into the part): lines
    along it from the base reach ``part`` first over the post's disc (``passable`` parts may be crossed,
    through a hole, at a cost), the bone is thick enough for the peg's socket, the post keeps clear of
    the existing ``posts`` (axis segments); far apart for stability. The first site is sought near
    ``centre`` (a vertebra's body centre; default the part's centre of mass)."""
    rot = _frame_along(direction)
    probe = _LineProbe(part, others, passable, rot, POST_D_MM / 2 + 1.0)
    sites = _candidate_sites(probe, base_top, posts, strict)
    if not sites:
        return []
    uv = np.array([[s.u, s.v] for s in sites])
    centroid = (rot @ (part.centroid if centre is None else np.asarray(centre, float)))[:2]
    cost = np.array([s.crossing for s in sites])
    # first post: near the centre (a vertebra's body, not its arch or a process tip), where the bone is
    # thick and little else is crossed; second: far from it among the cheap ones (and not near the other
    # posts), with a given centre also not far from that (on the body rather than a process tip)
    reach = np.linalg.norm(uv - centroid, axis=1)
    score = reach - 0.2 * np.array([s.thick for s in sites]) + 2.0 * cost
    first = int(np.argmin(score))
    chosen = [sites[first]]
    dist = np.linalg.norm(uv - uv[first], axis=1)
    f = sites[first]
    clear = np.array([segment_distance(f.bottom, f.foot, s.bottom, s.foot) >= POST_SPACING_MM for s in sites])
    if np.any(clear & (dist >= POST_D_MM + 3.0)):
        spread = dist - 2.0 * cost - (SECOND_POST_REACH_WEIGHT * reach if centre is not None else 0.0)
        chosen.append(sites[int(np.argmax(np.where(clear & (dist >= POST_D_MM + 3.0), spread, -np.inf)))])
    return chosen


def bend_into_dogleg(site: PostSite, meshes: Sequence[trimesh.Trimesh], base_top: float,
                     posts: Sequence[Segment]) -> None:
    """Shorten a tilted post into a dogleg: the tilted arm from the part only as long as needed for a
    vertical column from its lower end down to the base to clear every part and post (keeps the base
    small under tall scenes). Sets ``site.segments`` and, for a dogleg, ``site.elbow`` and ``site.bottom``."""
    d = site.axis
    site.segments = [(site.bottom, site.foot)]
    if d[2] > 0.999:
        return
    ring = POST_D_MM / 2 + 1.0
    disc = _ring_offsets(ring, 12)
    for arm in ELBOW_ARMS_MM:
        if arm >= site.length - 5.0:
            return
        elbow = site.foot - arm * d
        xy = elbow[:2] + disc
        clear = not any(len(zs) and zs[0] < elbow[2] + ring
                        for mesh in meshes for zs in meshops.vertical_hits(mesh, xy, base_top - 1.0))
        column = (np.array([elbow[0], elbow[1], base_top]), elbow)
        if clear and _clear_of_posts(*column, posts):
            site.elbow = elbow
            site.segments = [column, (elbow, site.foot)]
            site.bottom = column[0]
            return
