"""Parametric illustrative vertebrae C1–L5 and S1, and stacked segments (SPEC.md §3). manifold3d + trimesh.

ILLUSTRATIVE ONLY: shapes read as a vertebra of their region in a picture (body with concave
endplates, pedicles, laminae, spinous and transverse processes, articular processes; C1 an
atlas ring with lateral masses and anterior arch; C2 with the dens); the dimensions are typical
adult values, not a patient. Every mesh is watertight (manifold booleans).

Frame of one vertebra: patient frame (+x anterior, +y left, +z superior), origin at the centre
of the vertebral body (mid-height, on the axis of the endplate ellipse); the superior endplate
rim lies at z = +height/2 and its centre is recessed by the superior concavity, the inferior
one mirrored. C1 has no body: its origin is the centre of the ring at mid-height of the
lateral masses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from ..errors import ParameterError
from ..geometry.frames import rotation_matrix
from ..geometry.synthetic_endplate import APEX_FRACTION, SyntheticEndplate

#: Levels, cranial to caudal.
LEVELS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
          "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")


@dataclass(frozen=True)
class LevelDims:
    """Typical adult body size of one level (mm) and its endplate concavities (mm)."""

    depth_mm: float          # body AP depth (endplate)
    width_mm: float          # body ML width (endplate)
    height_mm: float         # body height at the rim
    superior_concavity_mm: float
    inferior_concavity_mm: float
    disc_below_mm: float     # disc height at the centre below this level
    angle_below_deg: float   # segmental angle of the disc below (+ lordotic, − kyphotic)

    region: str = "lumbar"   # cervical, thoracic, lumbar, sacral


def _dims(level: str) -> LevelDims:
    i = LEVELS.index(level)
    if level in ("C1", "C2") or i <= 6:        # cervical: SPEC §3 superior 0.9–1.2, inferior 2.1–2.7
        k = max(i - 2, 0) / 4
        return LevelDims(15 + 2 * k, 17 + 5 * k, 14.0, 0.9 + 0.3 * k, 2.1 + 0.6 * k, 5.0, 5.0, "cervical")
    if i <= 18:                                 # thoracic T1–T12 (no SPEC figure: between the two regions)
        k = (i - 7) / 11
        return LevelDims(19 + 13 * k, 26 + 16 * k, 16 + 8 * k, 1.2, 1.0, 4.5 + 2.5 * k, -4.0 + 3 * k, "thoracic")
    if level == "S1":
        return LevelDims(35, 50, 30, 1.5, 0.0, 0.0, 0.0, "sacral")
    k = (i - 19) / 4                            # lumbar L1–L5: cranial ~1.5, caudal ~0.7
    return LevelDims(32 + 3 * k, 42 + 8 * k, 25 + 2 * k, 1.5, 0.7, 9.0 + 2 * k, (3.0, 5.0, 7.0, 10.0, 15.0)[i - 19], "lumbar")


def dims(level: str) -> LevelDims:
    """Dimensions of ``level`` (one of :data:`LEVELS`)."""
    if level not in LEVELS:
        raise ParameterError(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    return _dims(level)


def endplates(level: str) -> tuple[SyntheticEndplate, SyntheticEndplate]:
    """(superior, inferior) synthetic endplates of ``level``'s body (apex in the posterior half)."""
    d = dims(level)
    region = "cervical" if d.region == "cervical" else "lumbar"
    apex = APEX_FRACTION[region] * d.depth_mm / 2
    return (SyntheticEndplate(d.depth_mm, d.width_mm, d.superior_concavity_mm, apex),
            SyntheticEndplate(d.depth_mm, d.width_mm, d.inferior_concavity_mm, apex))


# --- manifold helpers -------------------------------------------------------------------------

def _m():
    import manifold3d

    return manifold3d


def _rod(a, b, r_a: float, r_b: float | None = None):
    """Convex hull of two spheres: a tapered rod from ``a`` to ``b``."""
    m = _m().Manifold
    r_b = r_a if r_b is None else r_b
    return m.batch_hull([m.sphere(r_a, 16).translate(tuple(map(float, a))),
                         m.sphere(r_b, 16).translate(tuple(map(float, b)))])


def _ellipsoid(centre, radii):
    return _m().Manifold.sphere(1.0, 24).scale(tuple(map(float, radii))).translate(tuple(map(float, centre)))


def _body(d: LevelDims, sup: SyntheticEndplate, inf: SyntheticEndplate):
    """Elliptic cylinder body whose end caps are recessed by the synthetic endplates."""
    m = _m().Manifold
    h = d.height_mm
    body = m.cylinder(h, 1.0, 1.0, 64).translate((0.0, 0.0, -h / 2)).scale((d.depth_mm / 2, d.width_mm / 2, 1.0))
    body = body.refine_to_length(max(d.depth_mm / 16, 0.6))

    def warp(v):
        x, y, z = v[:, 0], v[:, 1], v[:, 2]
        top = z > h / 2 - 1e-6
        bottom = z < -h / 2 + 1e-6
        out = v.copy()
        out[top, 2] -= np.clip(sup.recess(x[top], y[top]), 0.0, None)
        out[bottom, 2] += np.clip(inf.recess(x[bottom], y[bottom]), 0.0, None)
        return out

    return body.warp_batch(lambda v: warp(np.asarray(v, float)))


def _posterior(d: LevelDims, region: str):
    """Pedicles, laminae, spinous and transverse processes, articular processes (−x is posterior)."""
    a, b, h = d.depth_mm / 2, d.width_mm / 2, d.height_mm
    s = d.depth_mm / 35.0                          # lumbar-relative scale
    parts = []
    ped_r = {"cervical": 2.5, "thoracic": 3.5, "lumbar": 4.5}[region] * max(s, 0.7)
    ped_y = b * (0.62 if region != "cervical" else 0.75)
    ped_len = {"cervical": 6.0, "thoracic": 9.0, "lumbar": 11.0}[region]
    z_ped = 0.2 * h
    canal = {"cervical": 11.0, "thoracic": 8.0, "lumbar": 10.0}[region]   # canal half-width-ish
    for side in (1, -1):
        root = np.array([-a * 0.85, side * ped_y, z_ped])
        end = root + [-ped_len, side * (1.5 if region == "lumbar" else 0.5), 0.0]
        parts.append(_rod(root, end, ped_r))                                    # pedicle
        mid = np.array([end[0] - canal * 1.1, 0.0, z_ped - 0.15 * h])
        parts.append(_rod(end, mid, ped_r * 0.8, ped_r * 0.9))                  # lamina
        # transverse process
        if region == "lumbar":
            tp = end + [2.0, side * (b * 0.75), 0.0]
        elif region == "thoracic":
            tp = end + [-8.0 * s - 3.0, side * (b * 0.9), 2.0]
        else:
            tp = end + [4.0, side * 7.5, -1.0]
        parts.append(_rod(end, tp, ped_r * 0.7, ped_r * 0.5))
        # superior and inferior articular processes with a facet pad; cervical ones stand on the
        # lateral masses, about 15 mm from the midline (articular pillars lateral to the pedicles)
        pillar = side * (7.0 if region == "cervical" else 0.0)
        sap_top = end + [-1.0, side * 1.0 + pillar, 0.55 * h]
        parts.append(_rod(end, sap_top, ped_r * 0.8))
        parts.append(_ellipsoid(sap_top, (ped_r * 1.2, ped_r * 0.6 if region == "lumbar" else ped_r * 1.2, ped_r * 0.5)))
        iap = end + [-canal * 0.55, side * -1.0 + pillar, -0.75 * h]
        parts.append(_rod(end, iap, ped_r * 0.75))
        parts.append(_ellipsoid(iap, (ped_r * 1.1, ped_r * 0.6 if region == "lumbar" else ped_r * 1.1, ped_r * 0.5)))
    mid = np.array([-a * 0.85 - ped_len - canal * 1.1, 0.0, z_ped - 0.15 * h])
    if region == "lumbar":
        tip = mid + [-22.0 * s, 0.0, -4.0]
        parts.append(_m().Manifold.batch_hull([_ellipsoid(mid, (3, 2.5, 6)), _ellipsoid(tip, (3, 2.5, 8))]))
    elif region == "thoracic":
        tip = mid + [-18.0 * s, 0.0, -20.0 * s]
        parts.append(_rod(mid, tip, 3.0, 2.0))
    else:
        tip = mid + [-10.0, 0.0, -3.0]
        parts.append(_rod(mid, tip, 2.5, 2.0))
        for side in (1, -1):                                                    # bifid tip
            parts.append(_ellipsoid(tip + [-1.0, side * 2.5, 0.0], (2.5, 2.0, 2.5)))
    return parts


def _atlas():
    """C1: ring with anterior arch and tubercle, lateral masses with facets, posterior arch, TPs."""
    mf = _m()
    m = mf.Manifold
    h = 8.0
    outer = m.cylinder(h, 1.0, 1.0, 64).translate((0, 0, -h / 2)).scale((23.0, 22.0, 1.0))
    inner = m.cylinder(h + 2, 1.0, 1.0, 64).translate((0, 0, -h / 2 - 1)).scale((18.0, 15.0, 1.0))
    ring = (outer - inner).translate((-4.0, 0.0, 0.0))
    parts = [ring, _ellipsoid((19.5, 0.0, 0.0), (3.5, 6.0, 6.0))]               # anterior tubercle
    for side in (1, -1):
        parts.append(_ellipsoid((3.0, side * 14.0, 0.0), (9.0, 6.5, 8.0)))      # lateral mass
        parts.append(_rod((3.0, side * 18.0, 0.0), (0.0, side * 38.0, -1.0), 3.5, 3.0))  # TP
    parts.append(_ellipsoid((-27.0, 0.0, 0.0), (3.0, 5.0, 4.5)))                # posterior tubercle
    return m.batch_boolean(parts, mf.OpType.Add)


def _sacrum(d: LevelDims, sup: SyntheticEndplate, inf: SyntheticEndplate):
    """S1 body continued by a wedge-shaped sacrum with alae and superior articular processes."""
    mf = _m()
    m = mf.Manifold
    body = _body(d, sup, inf)
    lower = _ellipsoid((-12.0, 0.0, -d.height_mm / 2 - 25.0), (10.0, 22.0, 6.0))
    wedge = m.batch_hull([m.cylinder(2.0, 1.0, 1.0, 48).translate((0, 0, -d.height_mm / 2 + 2))
                          .scale((d.depth_mm / 2 * 0.95, d.width_mm / 2 * 0.95, 1.0)), lower])
    parts = [body, wedge]
    for side in (1, -1):
        parts.append(m.batch_hull([_ellipsoid((-5.0, side * 22.0, d.height_mm / 2 - 6), (10, 8, 5)),
                                   _ellipsoid((-10.0, side * 48.0, d.height_mm / 2 - 10), (9, 6, 8)),
                                   _ellipsoid((-14.0, side * 30.0, -d.height_mm / 2 - 12), (8, 8, 8))]))  # ala
        parts.append(_rod((-d.depth_mm / 2 - 3, side * 17.0, d.height_mm / 2 - 6),
                          (-d.depth_mm / 2 - 6, side * 19.0, d.height_mm / 2 + 6), 4.0))  # superior facet
    crest = (-d.depth_mm / 2 - 15, 0.0, 0.0)
    for side in (1, -1):
        base = (-d.depth_mm / 2 - 3, side * 17.0, d.height_mm / 2 - 6)
        parts.append(_rod((-d.depth_mm / 2 + 3, side * 12.0, d.height_mm / 2 - 8), base, 4.0))  # pedicle
        parts.append(_rod(base, crest, 3.5))                                                   # lamina
    parts.append(_rod(crest, (-d.depth_mm / 2 - 16, 0.0, -d.height_mm / 2 - 20), 3.0))          # median crest
    return m.batch_boolean(parts, mf.OpType.Add)


def _to_trimesh(manifold) -> trimesh.Trimesh:
    mesh = manifold.to_mesh()
    return trimesh.Trimesh(np.asarray(mesh.vert_properties)[:, :3].astype(float), np.asarray(mesh.tri_verts),
                           process=True)


def vertebra(level: str) -> trimesh.Trimesh:
    """Watertight illustrative vertebra of ``level`` in its own frame (see the module docstring)."""
    d = dims(level)
    mf = _m()
    if level == "C1":
        return _to_trimesh(_atlas())
    sup, inf = endplates(level)
    if level == "S1":
        return _to_trimesh(_sacrum(d, sup, inf))
    parts = [_body(d, sup, inf)] + _posterior(d, d.region)
    if level == "C2":
        top = d.height_mm / 2
        parts.append(_rod((1.0, 0.0, top - 2.0), (1.0, 0.0, top + 13.0), 5.0, 4.0))           # dens
        for side in (1, -1):                                                                # superior facets
            parts.append(_ellipsoid((-1.0, side * 10.5, top - 1.0), (7.0, 6.0, 3.0)))
    elif d.region == "cervical":
        for side in (1, -1):                                                                # uncinate processes
            parts.append(_ellipsoid((-1.0, side * (d.width_mm / 2 - 1.2), d.height_mm / 2 - 0.5), (5.0, 1.3, 1.8)))
    return _to_trimesh(mf.Manifold.batch_boolean(parts, mf.OpType.Add))


@dataclass(frozen=True, eq=False)
class Segment:
    """Stacked vertebrae (cranial to caudal) placed in the patient frame, with their poses."""

    levels: tuple[str, ...]
    meshes: tuple[trimesh.Trimesh, ...]
    poses: tuple[np.ndarray, ...]         # 4x4 vertebra frame → patient frame
    disc_heights_mm: tuple[float, ...]    # at the centre, between consecutive levels
    angles_deg: tuple[float, ...]         # segmental angles (+ lordotic)

    def scene(self) -> trimesh.Scene:
        return trimesh.Scene({lvl: m for lvl, m in zip(self.levels, self.meshes)})

    def combined(self) -> trimesh.Trimesh:
        return trimesh.util.concatenate(list(self.meshes))


def segment(top: str, bottom: str, *, angle_scale: float = 1.0, disc_scale: float = 1.0) -> Segment:
    """Vertebrae ``top`` to ``bottom`` (inclusive, cranial to caudal) stacked with disc gaps and
    the regional curve (cervical/lumbar lordosis, thoracic kyphosis, scaled by ``angle_scale``).
    The lowest vertebra sits at the origin; each disc opens about its centre."""
    for name, lvl in (("top", top), ("bottom", bottom)):
        if lvl not in LEVELS:
            raise ParameterError(f"{name}: {lvl!r} is not one of {', '.join(LEVELS)}")
    i0, i1 = LEVELS.index(top), LEVELS.index(bottom)
    if i1 <= i0:
        raise ParameterError(f"bottom: {bottom!r} must be caudal to top {top!r}")
    if not (0.0 <= angle_scale <= 3.0 and 0.3 <= disc_scale <= 3.0):
        raise ParameterError("angle_scale must be within 0–3 and disc_scale within 0.3–3")
    levels = LEVELS[i0:i1 + 1]
    pose = np.eye(4)
    poses, heights, angles = [pose], [], []
    for lvl_below, lvl in zip(levels[::-1][:-1], levels[::-1][1:]):
        below, above = dims(lvl_below), dims(lvl)
        step = np.eye(4)
        if lvl == "C1":                     # no disc: the lateral masses sit on C2's superior facets
            disc, angle = 2.0 * disc_scale, 0.0
            step[:3, 3] = [0.0, 0.0, below.height_mm / 2 + 2.0 + disc + 8.0]
        else:
            disc, angle = above.disc_below_mm * disc_scale, above.angle_below_deg * angle_scale
            gap_centre = np.array([0.0, 0.0, below.height_mm / 2 + disc / 2])
            step[:3, :3] = rotation_matrix((0.0, 1.0, 0.0), -angle)
            step[:3, 3] = gap_centre + step[:3, :3] @ np.array([0.0, 0.0, disc / 2 + above.height_mm / 2])
        pose = pose @ step
        poses.append(pose)
        heights.append(disc)
        angles.append(angle)
    meshes = []
    for lvl, p in zip(levels[::-1], poses):
        m = vertebra(lvl)
        m.apply_transform(p)
        meshes.append(m)
    return Segment(levels, tuple(meshes[::-1]), tuple(poses[::-1]), tuple(heights[::-1]), tuple(angles[::-1]))


def synthetic_endplate_mesh(endplate: SyntheticEndplate, superior: bool, z0: float = 0.0,
                            spacing_mm: float = 0.5) -> trimesh.Trimesh:
    """Fine triangulated endplate surface (open sheet) over the endplate ellipse: the rim at
    z = ``z0``, recessed into the bone (downwards for a ``superior`` endplate, upwards for an
    inferior one). Normals point out of the bone, into the disc."""
    from scipy.spatial import Delaunay

    if spacing_mm <= 0 or spacing_mm > 5:
        raise ParameterError(f"spacing_mm: {spacing_mm} is outside (0, 5] mm")
    a, b = endplate.depth_mm / 2, endplate.width_mm / 2
    rings = max(int(np.ceil(max(a, b) / spacing_mm)), 4)
    pts = [np.zeros((1, 2))]
    for k in range(1, rings + 1):
        f = k / rings
        n = max(int(np.ceil(2 * np.pi * f * max(a, b) / spacing_mm)), 6)
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        pts.append(np.column_stack([f * a * np.cos(t), f * b * np.sin(t)]))
    xy = np.vstack(pts)
    tri = Delaunay(xy).simplices
    z = endplate.recess(xy[:, 0], xy[:, 1])
    z = z0 - np.clip(z, 0, None) if superior else z0 + np.clip(z, 0, None)
    vertices = np.column_stack([xy, z])
    up = trimesh.Trimesh(vertices, tri, process=False).face_normals[:, 2].mean() > 0
    return trimesh.Trimesh(vertices, tri if up == superior else tri[:, ::-1], process=False)
