"""Demonstrator parts: implant + vertebrae in the in-situ pose, a base with posts, pegs and a label.

Pose: the in-situ scene rules of :mod:`implants.render.scenes` (which vertebrae, where, the implant
transform) are reused; their placeholder vertebrae are replaced by the watertight synthetic
vertebrae of :mod:`implants.anatomy.synthetic` (or user meshes), aligned on the endplate that faces
the implant. Faint (resected/osteolytic) bones of a scene are left out. The implant is subtracted
from the bones, so it sits in its imprint and is located by it.

Assembly (all in mm at print scale, patient frame, +z up): the base is a plate under the whole
scene; each vertebra stands on two posts from the base whose pegs (Ø :data:`PEG_D_MM`) enter
sockets in the bone with ``clearance_mm`` radial and end gap. A type without a scene rule stands
alone on posts with the sockets in the implant. Each part is then oriented for printing (the
candidate with the least overhang beyond 45°) and laid out on the plate (shelf packing).

Large-overhang vertebrae are split on their transverse mid-plane into two halves that print
cut-face down, keyed by two dowels of different diameters (separate pin parts), so the halves go
together one way only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ExportError, ParameterError
from ..params import NOT_A_MEDICAL_DEVICE
from . import meshops

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

POST_D_MM = 7.0
PEG_D_MM = 4.0
PEG_LENGTH_MM = 6.0
BASE_THICKNESS_MM = 5.0
BASE_GAP_MM = 6.0          # base top below the lowest point of the scene
BASE_MARGIN_MM = 6.0
LABEL_EMBOSS_MM = 0.8
LABEL_FONT_MM = 4.5
LABEL_MIN_FONT_MM = 3.0
PLATE_SPACING_MM = 5.0
#: a bone whose best orientation leaves more overhang than this fraction of its area is split
SPLIT_OVERHANG_FRACTION = 0.12
DOWEL_D_MM = (4.0, 3.0)    # two diameters: the halves fit one way only
DOWEL_DEPTH_MM = 5.0

#: part colours (sRGB 0..255): bone ivory, implant titanium, base slate
COLOURS = {"bone": (237, 227, 199), "implant": (179, 189, 204), "base": (70, 90, 120), "pin": (70, 90, 120)}


class _DoesNotFit(ExportError):
    """The parts do not fit the bed (the builder may leave a bone out and try again)."""


@dataclass
class Part:
    """One printed part: ``mesh`` in the assembled pose, ``print_mesh`` oriented for printing (on z = 0,
    centred), ``plate_mesh`` at its place on the build plate."""

    name: str
    role: str                      # bone, implant, base, pin
    mesh: "trimesh.Trimesh"
    print_transform: np.ndarray = field(default_factory=lambda: np.eye(4))
    overhang_mm2: float = 0.0
    overhang_fraction: float = 0.0
    plate_xy: tuple[float, float] = (0.0, 0.0)
    notes: list[str] = field(default_factory=list)

    @property
    def print_mesh(self) -> "trimesh.Trimesh":
        m = self.mesh.copy()
        m.apply_transform(self.print_transform)
        return m

    @property
    def plate_mesh(self) -> "trimesh.Trimesh":
        m = self.print_mesh
        m.apply_translation((*self.plate_xy, 0.0))
        return m

    @property
    def colour(self) -> tuple[int, int, int]:
        return COLOURS[self.role]


@dataclass
class Joint:
    """A peg in a socket: the point on the peg's axis at its end (``peg_top``), the unit axis (up into
    the part), the peg and socket radii (mm); the socket's roof lies ``clearance`` further along."""

    part: str
    peg_top: tuple[float, float, float]
    axis: tuple[float, float, float]
    peg_radius_mm: float
    socket_radius_mm: float

    @property
    def tilt_deg(self) -> float:
        return float(np.degrees(np.arccos(np.clip(self.axis[2], -1.0, 1.0))))


@dataclass
class Demonstrator:
    type_id: str
    preset: str | None
    scale: float
    parts: list[Part]
    joints: list[Joint]
    bed_mm: tuple[float, float]
    clearance_mm: float
    label: list[str]
    printability: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def summary(self) -> dict[str, Any]:
        return {
            "type": self.type_id, "preset": self.preset, "scale": self.scale, "bed_mm": list(self.bed_mm),
            "clearance_mm": self.clearance_mm, "label": self.label,
            "parts": [{"name": p.name, "role": p.role, "volume_mm3": round(float(p.mesh.volume), 2),
                       "overhang_mm2": round(p.overhang_mm2, 1), "overhang_fraction": round(p.overhang_fraction, 3),
                       "plate_xy_mm": [round(v, 2) for v in p.plate_xy],
                       "print_size_mm": [round(float(v), 2) for v in p.print_mesh.extents], "notes": p.notes}
                      for p in self.parts],
            "printability": self.printability, "seconds": self.seconds, "notes": self.notes,
            "disclaimer": NOT_A_MEDICAL_DEVICE,
        }


# ----------------------------------------------------------------------------- anatomy


def _affine_fit(ref: "trimesh.Trimesh", mesh: "trimesh.Trimesh") -> np.ndarray | None:
    """The 4×4 affine map taking ``ref``'s vertices onto ``mesh``'s (same vertex order), or None."""
    if len(ref.vertices) != len(mesh.vertices):
        return None
    a = np.column_stack([ref.vertices, np.ones(len(ref.vertices))])
    sol, *_ = np.linalg.lstsq(a, mesh.vertices, rcond=None)
    if np.abs(a @ sol - mesh.vertices).max() > 1e-3:
        return None
    t = np.eye(4)
    t[:3, :] = sol.T
    return t


def _recover_transform(bone) -> np.ndarray | None:
    """The 4×4 (affine) placement of a scene bone, recovered from its placeholder mesh."""
    try:
        from ..render.scenes import vertebra_mesh

        ref = vertebra_mesh(bone.name)
    except Exception:  # noqa: BLE001 - a level (or a scene module) that cannot rebuild it
        return None
    return _affine_fit(ref, bone.mesh)


def _frame_of_synthetic(bone) -> np.ndarray | None:
    """The 4×4 placement of a scene bone that already is the synthetic vertebra of its level."""
    from ..anatomy import synthetic

    try:
        ref = synthetic.vertebra(bone.name)
    except Exception:  # noqa: BLE001 - not a level of the synthetic anatomy
        return None
    return _affine_fit(ref, bone.mesh)


def _synthetic_bone(bone, implant_centre: np.ndarray) -> tuple["trimesh.Trimesh", np.ndarray]:
    """(mesh, 4×4 frame of its body centre): the synthetic vertebra at a scene bone's place, aligned on
    the endplate facing the implant. A scene bone that already is a watertight synthetic vertebra is
    used as it is."""
    from ..anatomy import synthetic

    if bone.mesh.is_watertight and bone.mesh.body_count == 1:
        frame = _frame_of_synthetic(bone)
        if frame is None:  # a closed bone that is not a synthetic vertebra (e.g. an ilium proxy)
            frame = np.eye(4)
            frame[:3, 3] = bone.mesh.bounds.mean(axis=0)
        return bone.mesh.copy(), frame
    try:
        from ..render.scenes import LEVELS as SCENE_LEVELS, vertebra_mesh
    except ImportError:
        SCENE_LEVELS, vertebra_mesh = {}, None
    t = _recover_transform(bone) if vertebra_mesh is not None else None
    mesh = synthetic.vertebra(bone.name)
    if t is None:  # unknown placement: centre the synthetic bone on the scene bone
        frame = np.eye(4)
        frame[:3, 3] = bone.mesh.bounds.mean(axis=0) - mesh.bounds.mean(axis=0)
        mesh.apply_transform(frame)
        return mesh, frame
    local = np.eye(4)
    if bone.name in SCENE_LEVELS and bone.name != "C1":
        h_syn = synthetic.dims(bone.name).height_mm
        h_ph = SCENE_LEVELS[bone.name][0]
        up = t[:3, 2] / np.linalg.norm(t[:3, 2])
        above = float((bone.mesh.bounds.mean(axis=0) - implant_centre) @ up) > 0
        local[2, 3] = h_syn / 2 - h_ph if above else -h_syn / 2
    else:  # C1 and others: match the placeholder's box centre in the local frame
        ref = vertebra_mesh(bone.name)
        local[:3, 3] = ref.bounds.mean(axis=0) - mesh.bounds.mean(axis=0)
    mesh.apply_transform(t @ local)
    return mesh, t @ local


def _user_bone(path: Path, target: "trimesh.Trimesh") -> "trimesh.Trimesh":
    from ..render.pictures import load_mesh_file

    mesh = load_mesh_file(Path(path))
    if not mesh.is_watertight:
        raise ParameterError(f"--vertebrae: mesh '{path}' is not watertight (a printed part must be closed)")
    mesh.apply_translation(target.bounds.mean(axis=0) - mesh.bounds.mean(axis=0))
    return mesh


def implant_meshes(implant: "Implant", deflection_mm: float = 0.1) -> dict[str, "trimesh.Trimesh"]:
    """Implant part name → watertight mesh (one per body of a multi-body implant)."""
    from ..writers.tessellate import tessellate

    shapes = dict(implant.parts) if implant.parts else {"implant": implant.shape}
    out = {}
    for name, shape in shapes.items():
        key = "implant" if name == "implant" else f"implant.{name}"
        out[key] = tessellate(shape, deflection_mm).mesh
    return out


# ----------------------------------------------------------------------------- posts

#: post axis tilts tried (degrees from vertical) when no vertical line reaches a part; ≤ 40° keeps the
#: post's underside printable (overhang limit 45°)
POST_TILTS_DEG = (0.0, 20.0, 32.0, 40.0)
POST_AZIMUTHS = 12
#: a part found only one post site gets two pegs of this diameter, this far apart, on the post's top
#: (a keyed joint: the part cannot spin about the post)
TWIN_PEG_D_MM = 3.0
TWIN_PEG_OFFSET_MM = 2.0
#: a post passing close by another part cuts it this far around (the line search samples the disc)
POST_KEEPOUT_MM = 0.5


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


def _segment_distance(a0, a1, b0, b1, n: int = 24) -> float:
    """Approximate distance between two segments (sampled)."""
    t = np.linspace(0, 1, n)[:, None]
    pa = a0 + t * (a1 - a0)
    pb = b0 + t * (b1 - b0)
    return float(np.min(np.linalg.norm(pa[:, None, :] - pb[None, :, :], axis=2)))


def _post_sites(part: "trimesh.Trimesh", others: Sequence["trimesh.Trimesh"], base_top: float,
                direction=(0.0, 0.0, 1.0), passable: Sequence["trimesh.Trimesh"] = (),
                posts: Sequence[tuple[np.ndarray, np.ndarray]] = (), strict: bool = True) -> list[dict[str, Any]]:
    """Up to two post sites under ``part`` along the unit axis ``direction`` (up, into the part): lines
    along it from the base reach ``part`` first over the post's disc (``passable`` parts may be crossed,
    through a hole, at a cost), the bone is thick enough for the peg's socket, the post keeps clear of
    the existing ``posts`` (segments); far apart for stability."""
    rot = _frame_along(direction)
    d = rot[2]
    local = lambda m: (m.vertices @ rot.T)  # noqa: E731
    pv = local(part)
    lo, hi = pv.min(axis=0), pv.max(axis=0)
    step = max(1.5, max(hi[0] - lo[0], hi[1] - lo[1]) / 28)
    gx, gy = np.meshgrid(np.arange(lo[0] + step / 2, hi[0], step), np.arange(lo[1] + step / 2, hi[1], step))
    centres = np.column_stack([gx.ravel(), gy.ravel()])
    ring = POST_D_MM / 2 + 1.0
    offsets = np.vstack([[0, 0], [[ring * math.cos(a), ring * math.sin(a)] for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)],
                         [[0.5 * ring * math.cos(a), 0.5 * ring * math.sin(a)] for a in (0, np.pi / 2, np.pi, 1.5 * np.pi)]])
    n_off = len(offsets)
    # rays start on the base plane's side: below everything in the rotated frame
    z_start = min([float(pv[:, 2].min())] + [float(local(o)[:, 2].min()) for o in [*others, *passable]]) - 1.0
    relevant = []
    for other in others:
        olo, ohi = local(other).min(axis=0), local(other).max(axis=0)
        if not (np.any(olo[:2] > hi[:2] + ring) or np.any(ohi[:2] < lo[:2] - ring) or olo[2] > hi[2]):
            relevant.append(other)

    def hits(mesh, uv):
        origins = np.column_stack([uv, np.full(len(uv), z_start)]) @ rot
        return [z_start + t for t in meshops.line_hits(mesh, origins, d)]

    def clear(uv):
        """(own hits, blocked, crossing) of lines at ``uv``."""
        own = hits(part, uv)
        mine = np.array([zs[0] if len(zs) else np.inf for zs in own])
        blocked = np.array([len(zs) < 2 for zs in own])
        crossing = np.zeros(len(uv))
        for other in relevant:
            for k, zs in enumerate(hits(other, uv)):
                if len(zs) and zs[0] < mine[k]:
                    blocked[k] = True
        for other in passable:
            for k, zs in enumerate(hits(other, uv)):
                below = zs[zs < mine[k]]
                if len(below) % 2 == 1:   # the part would sit inside or touch the other one
                    blocked[k] = True
                elif len(below):
                    crossing[k] += float(np.sum(below[1::2] - below[0::2]))
        return own, blocked, crossing

    # centre lines first; the post's disc only where the centre line is clear
    own_c, blocked_c, _ = clear(centres)
    ok = ~blocked_c & np.array([len(zs) >= 2 and zs[1] - zs[0] >= PEG_LENGTH_MM + 1.5 for zs in own_c], bool)
    centres = centres[ok]
    if not len(centres):
        return []
    samples = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    own, blocked, crossing = clear(samples)
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
        axis_point = lambda z: rot.T @ np.array([centres[c, 0], centres[c, 1], z])  # noqa: E731
        # where the post's axis meets the base's top (a vertical post: straight below)
        foot = axis_point(contact)
        t_base = (foot[2] - base_top) / d[2]
        bottom = foot - t_base * d
        if any(_segment_distance(bottom, foot, p0, p1) < POST_D_MM + 2.0 for p0, p1 in posts):
            continue
        sites.append({"u": float(centres[c, 0]), "v": float(centres[c, 1]), "entry": float(entry),
                      "contact": float(contact), "thick": float(exit_inner - entry),
                      "crossing": float(max(crossing[k] for k in idx)), "rot": rot,
                      "bottom": bottom, "foot": foot, "length": float(np.linalg.norm(foot - bottom))})
    if not sites:
        return []
    uv = np.array([[s["u"], s["v"]] for s in sites])
    centroid = (rot @ part.centroid)[:2]
    cost = np.array([s["crossing"] for s in sites])
    # first post: near the part's centre of mass, where the bone is thick and little else is crossed;
    # second: farthest from it among the cheap ones (and not near the other posts)
    score = np.linalg.norm(uv - centroid, axis=1) - 0.2 * np.array([s["thick"] for s in sites]) + 2.0 * cost
    first = int(np.argmin(score))
    chosen = [sites[first]]
    dist = np.linalg.norm(uv - uv[first], axis=1)
    f = sites[first]
    clear = np.array([_segment_distance(f["bottom"], f["foot"], s["bottom"], s["foot"]) >= POST_D_MM + 2.0
                      for s in sites])
    if np.any(clear & (dist >= POST_D_MM + 3.0)):
        chosen.append(sites[int(np.argmax(np.where(clear, dist - 2.0 * cost, -np.inf)))])
    return chosen


def _elbow(site: dict[str, Any], meshes: Sequence["trimesh.Trimesh"], base_top: float,
           posts: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    """Shorten a tilted post into a dogleg: the tilted arm from the part only as long as needed for a
    vertical column from its lower end down to the base to clear every part and post (keeps the base
    small under tall scenes). Sets ``site["elbow"]`` and ``site["segments"]``."""
    d = site["rot"][2]
    site["segments"] = [(site["bottom"], site["foot"])]
    if d[2] > 0.999:
        return
    ring = POST_D_MM / 2 + 1.0
    disc = np.vstack([[0, 0], [[ring * math.cos(a), ring * math.sin(a)] for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)]])
    for arm in (12.0, 20.0, 30.0, 45.0, 65.0, 90.0):
        if arm >= site["length"] - 5.0:
            return
        elbow = site["foot"] - arm * d
        z_start = base_top - 1.0
        xy = elbow[:2] + disc
        clear = True
        for mesh in meshes:
            for zs in meshops.vertical_hits(mesh, xy, z_start):
                if len(zs) and zs[0] < elbow[2] + ring:
                    clear = False
                    break
            if not clear:
                break
        column = (np.array([elbow[0], elbow[1], base_top]), elbow)
        if clear and all(_segment_distance(*column, p0, p1) >= POST_D_MM + 2.0 for p0, p1 in posts):
            site["elbow"] = elbow
            site["segments"] = [column, (elbow, site["foot"])]
            site["bottom"] = column[0]
            return


def _union(meshes):
    import manifold3d

    return manifold3d.Manifold.batch_boolean([meshops.to_manifold(m) for m in meshes], manifold3d.OpType.Add)


def _post_and_socket(site: dict[str, Any], base_top: float, clearance: float, twin: bool = False):
    """(post + peg meshes for the base, socket cutting tools for the part, Joints' numbers) of a site:
    the post runs along the site's axis from under the base's top to ``clearance`` below the part;
    one peg (Ø :data:`PEG_D_MM`) or, ``twin``, two keyed pegs (Ø :data:`TWIN_PEG_D_MM`)."""
    import trimesh

    rot = site["rot"]
    d = rot[2]
    at = lambda du, dv, z: rot.T @ np.array([site["u"] + du, site["v"] + dv, z])  # noqa: E731

    def cyl(r, z0, z1, du=0.0, dv=0.0):
        return trimesh.creation.cylinder(radius=r, segment=[at(du, dv, z0), at(du, dv, z1)], sections=32)

    shoulder = site["contact"] - clearance
    peg_top = site["entry"] + PEG_LENGTH_MM
    # the post's foot goes below the base's top (excess under the base is trimmed with the base)
    below = site["length"] + 1.0 + POST_D_MM
    pegs = [(0.0, PEG_D_MM / 2)] if not twin else [(-TWIN_PEG_OFFSET_MM, TWIN_PEG_D_MM / 2),
                                                     (TWIN_PEG_OFFSET_MM, TWIN_PEG_D_MM / 2)]
    def post(r):
        if "elbow" in site:  # dogleg: vertical column, a ball at the elbow, the tilted arm
            e = site["elbow"]
            z_top = rot @ e
            return [cyl(r, z_top[2], shoulder), trimesh.creation.icosphere(subdivisions=3, radius=r).apply_translation(e),
                    trimesh.creation.cylinder(radius=r, segment=[(e[0], e[1], base_top - 2.0), e], sections=32)]
        return [cyl(r, shoulder - below, shoulder)]

    add = post(POST_D_MM / 2)
    keepout = post(POST_D_MM / 2 + POST_KEEPOUT_MM)
    cut = [cyl(POST_D_MM / 2 + clearance, shoulder - 20.0, shoulder)]
    joints = []
    for du, r in pegs:
        add.append(cyl(r, shoulder - 0.5, peg_top, du))
        cut.append(cyl(r + clearance, shoulder - 2.0, peg_top + clearance, du))
        joints.append((at(du, 0.0, peg_top), d, r))
    return add, cut, joints, keepout


# ----------------------------------------------------------------------------- label


def label_lines(implant: "Implant", scale: float) -> list[str]:
    from ..registry import get

    template = get(implant.type_id)
    values = implant.params.model_dump(mode="json")
    keys = [k for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
            and k.endswith(("_mm", "_deg"))][:4]
    def fmt(k):
        unit = "mm" if k.endswith("_mm") else "deg"
        return f"{k.rsplit('_', 1)[0].replace('_', ' ')} {values[k]:g} {unit}"
    ratio = f"{scale:g}:1" if scale >= 1 else f"1:{1 / scale:g}"
    return [f"{template.title}"[:60], f"{implant.type_id} / {implant.preset or template.default_preset} / scale {ratio}",
            ", ".join(fmt(k) for k in keys[:2]), ", ".join(fmt(k) for k in keys[2:4]), "NOT A MEDICAL DEVICE"]


def _text_mesh(lines: list[str], x0: float, y_top: float, z0: float, font: float) -> "trimesh.Trimesh":
    """Embossed text lines (CadQuery's bundled font) as one mesh; top-left at (x0, y_top)."""
    import cadquery as cq
    import trimesh

    from ..writers.tessellate import tessellate

    meshes = []
    for k, line in enumerate(l for l in lines if l):
        y = y_top - (k + 1) * font * 1.45
        shape = cq.Workplane("XY").text(line, font, LABEL_EMBOSS_MM + 0.3, halign="left", valign="bottom").val()
        m = tessellate(shape, 0.03).mesh
        m.apply_translation((x0, y, z0 - 0.3))
        meshes.append(m)
    return trimesh.util.concatenate(meshes)


def _text_width(lines: list[str], font: float) -> float:
    return max(len(l) for l in lines) * 0.62 * font


# ----------------------------------------------------------------------------- split


def _split_bone(part: Part, frame: np.ndarray, clearance: float) -> list[Part]:
    """Split a bone on its transverse mid-plane (frame origin, normal = frame z) with two dowel holes of
    different diameters; returns the two halves and the two dowel pins."""
    import trimesh

    origin, normal = frame[:3, 3], frame[:3, 2] / np.linalg.norm(frame[:3, 2])
    x_axis = frame[:3, 0] / np.linalg.norm(frame[:3, 0])
    y_axis = np.cross(normal, x_axis)
    size = part.mesh.extents
    spots = [origin + 0.18 * size.min() * x_axis + 0.2 * size.min() * y_axis,
             origin + 0.18 * size.min() * x_axis - 0.25 * size.min() * y_axis]
    holes, pins = [], []
    for d, p in zip(DOWEL_D_MM, spots):
        r_hole = d / 2 + clearance
        holes.append(trimesh.creation.cylinder(radius=r_hole, segment=[p - normal * (DOWEL_DEPTH_MM + clearance),
                                                                         p + normal * (DOWEL_DEPTH_MM + clearance)],
                                               sections=32))
        pins.append(trimesh.creation.cylinder(radius=d / 2, segment=[p - normal * DOWEL_DEPTH_MM,
                                                                     p + normal * DOWEL_DEPTH_MM], sections=32))
    cut = meshops.boolean(part.mesh, cut=holes)
    solid = meshops.to_manifold(cut)
    # the transverse plane nearest the body's mid-height that leaves each half in one piece
    centre = float(origin @ normal)
    height = float(np.ptp(part.mesh.vertices @ normal))
    upper = lower = None
    for shift in sorted(np.linspace(-0.35, 0.35, 15) * height, key=abs):
        upper, lower = solid.split_by_plane(tuple(map(float, normal)), centre + float(shift))
        if len(upper.decompose()) == 1 and len(lower.decompose()) == 1:
            break
    halves = []
    for tag, half, down in (("superior", upper, -normal), ("inferior", lower, normal)):
        mesh, dropped = meshops.largest_body(meshops.from_manifold(half))
        p = Part(f"{part.name}.{tag}", "bone", mesh, notes=[f"half of {part.name}, cut face down"])
        p.notes.append("_down:" + ",".join(map(str, down)))
        if dropped:
            p.notes.append(f"{dropped} small fragment(s) dropped")
        halves.append(p)
    out = halves
    for d, pin in zip(DOWEL_D_MM, pins):
        out.append(Part(f"{part.name}.dowel_{d:g}mm", "pin", pin, notes=[f"dowel Ø{d:g} mm keying {part.name}"]))
    return out


# ----------------------------------------------------------------------------- main


def build_demonstrator(implant: "Implant", scale: float = 1.0, vertebrae: Sequence[Path] | None = None,
                       clearance_mm: float = 0.2, bed_mm: tuple[float, float] = (220.0, 220.0),
                       split: bool | None = None) -> Demonstrator:
    """All parts of the demonstrator of ``implant``; see the module docstring. ``split=None`` splits the
    vertebrae whose overhang exceeds :data:`SPLIT_OVERHANG_FRACTION` of their area."""
    import trimesh

    from ..placement.rules import layout_for
    from .printability import printability_check

    if not 0.1 <= scale <= 10.0:
        raise ParameterError(f"--scale = {scale}: allowed 0.1 to 10")
    if not 0.0 <= clearance_mm <= 1.0:
        raise ParameterError(f"clearance_mm = {clearance_mm}: allowed 0 to 1 mm")
    if not (50 <= bed_mm[0] <= 1000 and 50 <= bed_mm[1] <= 1000):
        raise ParameterError(f"--bed {bed_mm[0]:g}x{bed_mm[1]:g}: allowed 50 to 1000 mm per side")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    notes: list[str] = []
    layout, has_rule = layout_for(implant)
    if not has_rule:
        notes.append(layout.note)
    implants = implant_meshes(implant)
    for mesh in implants.values():
        mesh.apply_transform(layout.implant_transform)
    implant_centre = np.mean([m.centroid for m in implants.values()], axis=0)
    bones_in = [b for b in layout.bones if b.opacity >= 1.0]
    if len(bones_in) < len(layout.bones):
        notes.append(f"{len(layout.bones) - len(bones_in)} resected/osteolytic level(s) of the scene left out")
    if vertebrae and len(vertebrae) != len(bones_in):
        raise ParameterError(f"--vertebrae: {implant.type_id} fits {len(bones_in)} vertebra(e) "
                             f"({', '.join(b.name for b in bones_in) or 'none: no in-situ rule'}); "
                             f"{len(vertebrae)} mesh(es) given")
    bones: dict[str, trimesh.Trimesh] = {}
    frames: dict[str, np.ndarray] = {}
    for k, bone in enumerate(bones_in):
        synth, frame = _synthetic_bone(bone, implant_centre)
        mesh = _user_bone(vertebrae[k], synth) if vertebrae else synth
        # imprint: the implant sits in the bone; bones of the scene that touch (facet joints) are cut
        # where they overlap, the bone placed earlier keeps its shape
        overlap = [m for m in bones.values()
                   if (meshops.to_manifold(m) ^ meshops.to_manifold(mesh)).volume() > 1e-6]
        if overlap:
            notes.append(f"bone.{bone.name}: cut where it overlaps the vertebra above (facet joint)")
        mesh = meshops.boolean(mesh, cut=list(implants.values()) + overlap)
        mesh, dropped = meshops.largest_body(mesh)
        bones[f"bone.{bone.name}"] = mesh
        frames[f"bone.{bone.name}"] = frame
        if dropped:
            notes.append(f"bone.{bone.name}: {dropped} fragment(s) cut off by the implant dropped")
    seconds["anatomy"] = time.perf_counter() - t0
    # print scale
    s = np.diag([scale, scale, scale, 1.0])
    for mesh in list(implants.values()) + list(bones.values()):
        mesh.apply_transform(s)
    for name in frames:
        frames[name] = s @ frames[name]
    implant_centre_s = implant_centre * scale
    def assemble(bones: dict, implants: dict, notes: list) -> tuple[list, list, list]:
        t1 = time.perf_counter()
        everything = list(implants.values()) + list(bones.values())
        z_low = min(m.bounds[0, 2] for m in everything)
        base_top = z_low - BASE_GAP_MM
        # posts: under each bone, or under the implant(s) when there is no bone
        supported = dict(bones) if bones else dict(implants)
        add: list = []
        cuts: dict[str, list] = {name: [] for name in supported}
        joints: list[Joint] = []
        posts: list[tuple[np.ndarray, np.ndarray]] = []   # (bottom, top) of every post's axis
        feet: list[np.ndarray] = []
        keepouts: list[tuple[str, list]] = []
        directions = post_directions()
        # lowest part first; each part: a vertical post line clear of everything, else a tilted one (up to
        # 40°, printable), else (vertical) through a clearance hole in the bones below
        for name in sorted(supported, key=lambda n: supported[n].bounds[0, 2]):
            mesh = supported[name]
            others = [m for n, m in {**implants, **bones}.items() if n != name]
            sites: list = []
            single: list = []
            for direction in directions:
                found = _post_sites(mesh, others, base_top, direction, posts=posts)
                if len(found) == 2:
                    sites = found
                    break
                if found and not single:
                    single = found
            sites = sites or single
            if not sites:  # a small bone: accept sockets whose wall is open on one side
                for direction in directions:
                    sites = _post_sites(mesh, others, base_top, direction, posts=posts, strict=False)
                    if sites:
                        notes.append(f"{name}: socket wall partly open (small bone)")
                        break
            crossed: list[str] = []
            if not sites and bones:  # pass through the bones below, through a clearance hole
                passable = {n: m for n, m in bones.items() if n != name}
                sites = _post_sites(mesh, list(implants.values()), base_top, passable=list(passable.values()),
                                    posts=posts)
                crossed = list(passable)
            if not sites:
                raise ExportError(f"demonstrator: no place for a post under {name} (every line to the base up to "
                                  f"{POST_TILTS_DEG[-1]:g}° from vertical is blocked by another part)")
            for site in sites:
                _elbow(site, [*others, mesh], base_top, posts)
            twin = len(sites) < 2
            if twin:
                notes.append(f"{name}: one post with two keyed Ø{TWIN_PEG_D_MM:g} mm pegs (no second site)")
            for site in sites:
                add_, tools, pegs, keepout = _post_and_socket(site, base_top, clearance_mm, twin)
                add += add_
                keepouts.append((name, keepout))
                cuts[name] += list(tools)
                posts.extend(site.get("segments", [(site["bottom"], site["foot"])]))
                feet.append(site["bottom"])
                for top, axis, r in pegs:
                    joints.append(Joint(name, tuple(map(float, top)), tuple(map(float, axis)), r, r + clearance_mm))
                tilt = math.degrees(math.acos(min(1.0, float(site["rot"][2][2]))))
                if tilt > 1.0:
                    notes.append(f"{name}: post tilted {tilt:.0f}° from vertical" + (" (dogleg: vertical column, "
                                 "tilted arm)" if "elbow" in site else "") + " (the vertical line is blocked)")
                if site.get("crossing", 0.0) > 0:
                    hole = meshops.cylinder(POST_D_MM / 2 + 1.0, base_top - 1.0, site["contact"] - 0.5,
                                            site["foot"][0], site["foot"][1])
                    for other in crossed:
                        cuts.setdefault(other, []).append(hole)
                    notes.append(f"{name}: post at ({site['foot'][0]:.0f}, {site['foot'][1]:.0f}) passes through a Ø"
                                 f"{POST_D_MM + 2:g} mm hole in the bone below")
        for name in {**implants, **bones}:  # a post grazing another part notches it
            near = [m for owner, ms in keepouts if owner != name for m in ms]
            if near:
                target = bones.get(name, implants.get(name))
                if (meshops.to_manifold(target) ^ _union(near)).volume() > 1e-3:
                    cuts.setdefault(name, []).extend(near)
                    notes.append(f"{name}: notched where another part's post passes close by")
        for name, tools in cuts.items():
            if not tools:
                continue
            cut = meshops.boolean(bones.get(name, implants.get(name)), cut=tools)
            if name in bones:
                bones[name] = cut
            else:
                implants[name] = cut
        seconds["posts"] = time.perf_counter() - t1
        # base with the label
        t2 = time.perf_counter()
        lines = label_lines(implant, scale)
        lo = np.min([m.bounds[0] for m in everything], axis=0)[:2] - BASE_MARGIN_MM
        hi = np.max([m.bounds[1] for m in everything], axis=0)[:2] + BASE_MARGIN_MM
        for foot in feet:  # a tilted post crosses the plate's thickness beside its foot
            reach = POST_D_MM / 2 + BASE_THICKNESS_MM + BASE_MARGIN_MM
            lo = np.minimum(lo, foot[:2] - reach)
            hi = np.maximum(hi, foot[:2] + reach)
        font = LABEL_FONT_MM
        width_needed = _text_width(lines, font) + 2 * BASE_MARGIN_MM
        if width_needed > hi[0] - lo[0]:
            font = max(LABEL_MIN_FONT_MM, font * (hi[0] - lo[0]) / width_needed)
            width_needed = _text_width(lines, font) + 2 * BASE_MARGIN_MM
            if width_needed > hi[0] - lo[0]:
                extra = width_needed - (hi[0] - lo[0])
                lo[0] -= extra / 2
                hi[0] += extra / 2
        strip = len(lines) * font * 1.45 + 2 * BASE_MARGIN_MM / 1.5
        lo[1] -= strip
        size = hi - lo
        base = trimesh.creation.box(extents=(size[0], size[1], BASE_THICKNESS_MM))
        base.apply_translation(((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, base_top - BASE_THICKNESS_MM / 2))
        text = _text_mesh(lines, lo[0] + BASE_MARGIN_MM, lo[1] + strip - BASE_MARGIN_MM / 3, base_top, font)
        base_mesh = meshops.boolean(base, add=[text, *add])
        # trim what the posts' feet leave under the plate
        floor = trimesh.creation.box(extents=(size[0] + 4 * POST_D_MM, size[1] + 4 * POST_D_MM, 2 * POST_D_MM + 20))
        floor.apply_translation(((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, base_top - BASE_THICKNESS_MM - POST_D_MM - 10))
        base_mesh = meshops.boolean(base_mesh, cut=[floor])
        seconds["base"] = time.perf_counter() - t2
        parts = [Part(name, "implant", m) for name, m in implants.items()]
        parts += [Part(name, "bone", m) for name, m in bones.items()]
        parts.append(Part("base", "base", base_mesh, notes=[f"label font {font:.1f} mm, emboss {LABEL_EMBOSS_MM} mm"]))
        # orientation (and split of bones that print badly in one piece)
        t3 = time.perf_counter()
        final: list[Part] = []
        for part in parts:
            _orient(part, bed_mm)
            if part.role == "bone" and split is not False and (split or part.overhang_fraction > SPLIT_OVERHANG_FRACTION):
                pieces = _split_bone(part, frames[part.name], clearance_mm)
                for piece in pieces:
                    preferred = None
                    for n in piece.notes:
                        if n.startswith("_down:"):
                            preferred = np.array([float(v) for v in n[6:].split(",")])
                    piece.notes = [n for n in piece.notes if not n.startswith("_down:")]
                    _orient(piece, bed_mm, preferred)
                halves = [piece for piece in pieces if piece.role == "bone"]
                for joint in joints:  # the socket is in the half nearest the peg's end
                    if joint.part == part.name:
                        gaps = [float(h.mesh.nearest.on_surface([joint.peg_top])[1][0]) for h in halves]
                        joint.part = halves[int(np.argmin(gaps))].name
                pieces[0].notes.append(f"{part.name} split: one piece would need {part.overhang_mm2:.0f} mm² of "
                                       f"support ({part.overhang_fraction:.0%} of its area)")
                final += pieces
            else:
                final.append(part)
        seconds["orient"] = time.perf_counter() - t3
        _pack(final, bed_mm)
        return final, joints, lines

    # a plate that does not fit the bed: leave out the bone farthest from the implant, one at a time
    pristine_bones, pristine_implants = dict(bones), dict(implants)
    dropped: list[str] = []
    while True:
        attempt_notes: list[str] = []
        try:
            final, joints, lines = assemble(dict(pristine_bones), dict(pristine_implants), attempt_notes)
            break
        except _DoesNotFit as error:
            if len(pristine_bones) <= 1:
                raise ExportError(str(error)) from None
            # a left/right pair goes together (one wing alone keeps the plate as wide)
            groups: dict[str, list[str]] = {}
            for n in pristine_bones:
                groups.setdefault(n.removesuffix(".left").removesuffix(".right"), []).append(n)
            far = max(groups.values(), key=lambda g: max(
                float(np.linalg.norm(pristine_bones[n].centroid - implant_centre_s)) for n in g))
            if len(far) == len(pristine_bones):
                raise ExportError(str(error)) from None
            for n in far:
                del pristine_bones[n]
            dropped.extend(far)
    notes += attempt_notes
    if dropped:
        notes.append(f"left out {', '.join(dropped)} (farthest from the implant): with them the parts do not fit "
                     f"the {bed_mm[0]:g} × {bed_mm[1]:g} mm bed at scale {scale:g} (use a larger --bed to keep them)")
    demo = Demonstrator(implant.type_id, implant.preset, scale, final, joints, tuple(bed_mm), clearance_mm, lines,
                        printability_check(implant, scale), seconds, notes)
    seconds["total"] = time.perf_counter() - t0
    return demo


def _orient(part: Part, bed_mm, preferred: np.ndarray | None = None) -> None:
    transform, area, _ = meshops.orient_for_print(part.mesh, bed_mm, preferred)
    if preferred is not None:  # a cut half: cut face down unless another candidate is clearly better
        down = meshops.rotation_to_down(preferred)
        moved = part.mesh.copy()
        moved.apply_transform(down)
        cut_area = meshops.overhang_area(moved)
        if cut_area <= area + 0.05 * part.mesh.area:
            lo, hi = moved.bounds
            shift = np.eye(4)
            shift[:3, 3] = [-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]]
            transform, area = shift @ down, cut_area
    part.print_transform = transform
    part.overhang_mm2 = float(area)
    part.overhang_fraction = float(area / part.mesh.area)


def _turn(part: Part) -> None:
    """Turn a part's print pose by 90° about z (footprint x ↔ y)."""
    turn = np.array([[0.0, -1.0, 0, 0], [1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    part.print_transform = turn @ part.print_transform


def _bottom_left(sizes: list[tuple[float, float]], w: float, h: float) -> list[tuple[float, float, bool]] | None:
    """Bottom-left placement of rectangles (in the given order) on a ``w`` × ``h`` bed with
    :data:`PLATE_SPACING_MM` between them and half of it at the edges: per rectangle (x0, y0, turned),
    or None when one does not fit. Candidate corners: the bed's corner and the right/top corners of
    the rectangles placed so far."""
    gap = PLATE_SPACING_MM
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for ex, ey in sizes:
        best = None
        corners = [(gap / 2, gap / 2)] + [(r[2] + gap, r[1]) for r in placed] + [(r[0], r[3] + gap) for r in placed]
        for turned, (sx, sy) in ((False, (ex, ey)), (True, (ey, ex))):
            for x, y in corners:
                if x + sx > w - gap / 2 + 1e-9 or y + sy > h - gap / 2 + 1e-9:
                    continue
                if any(x < r[2] + gap - 1e-9 and r[0] < x + sx + gap - 1e-9 and y < r[3] + gap - 1e-9
                       and r[1] < y + sy + gap - 1e-9 for r in placed):
                    continue
                key = (y + sy, x + sx)
                if best is None or key < best[0]:
                    best = (key, x, y, sx, sy, turned)
        if best is None:
            return None
        _, x, y, sx, sy, turned = best
        placed.append((x, y, x + sx, y + sy))
        out.append((x, y, turned))
    return out


def _pack(parts: list[Part], bed_mm) -> None:
    """Lay the parts' footprints on the bed (bottom-left placement, each footprint turned by 90° where
    that packs better; several orders tried, largest first); _DoesNotFit naming the first part that
    does not fit."""
    import itertools

    w, h = bed_mm
    sizes = [tuple(map(float, p.print_mesh.extents[:2])) for p in parts]
    area = [a * b for a, b in sizes]
    orders = [sorted(range(len(parts)), key=lambda k: -area[k]),
              sorted(range(len(parts)), key=lambda k: -max(sizes[k])),
              sorted(range(len(parts)), key=lambda k: -min(sizes[k]))]
    big = orders[0][:min(6, len(parts))]
    rest = orders[0][len(big):]
    orders += [list(perm) + rest for perm in itertools.islice(itertools.permutations(big), 720)]
    for order in orders:
        placement = _bottom_left([sizes[k] for k in order], w, h)
        if placement is None:
            continue
        for k, (x, y, turned) in zip(order, placement):
            if turned:
                _turn(parts[k])
            ex, ey = parts[k].print_mesh.extents[:2]
            parts[k].plate_xy = (x + ex / 2, y + ey / 2)
        return
    worst = max(range(len(parts)), key=lambda k: area[k])
    ex, ey = sizes[worst]
    raise _DoesNotFit(f"demonstrator: {parts[worst].name} ({ex:.0f} × {ey:.0f} mm) does not fit on the "
                      f"{w:g} × {h:g} mm bed with the other parts; use a larger --bed or a smaller --scale")


def plate_overlaps(parts: Sequence[Part]) -> list[tuple[str, str]]:
    """Pairs of parts whose plate footprints (xy boxes) overlap."""
    boxes = [(p.name, p.plate_mesh.bounds) for p in parts]
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (a, ba), (b, bb) = boxes[i], boxes[j]
            if np.all(ba[0, :2] < bb[1, :2]) and np.all(bb[0, :2] < ba[1, :2]):
                out.append((a, b))
    return out


def write_demonstrator(demo: Demonstrator, out_dir: Path, pictures: bool = True) -> dict[str, Path]:
    """Write ``<type>_demonstrator.3mf``, one STL per part (print orientation), ``<type>_assembled.png``,
    ``<type>_plate.png`` and ``<type>_demonstrator.json``; returns name → path."""
    import json

    from ..writers.atomic import write_files
    from ..writers.meshes import stl_bytes
    from .threemf import demonstrator_3mf

    t0 = time.perf_counter()
    stem = f"{demo.type_id}_demonstrator"
    files = {f"{stem}.3mf": demonstrator_3mf(demo)}
    for part in demo.parts:
        files[f"{stem}_{part.name}.stl"] = stl_bytes(part.print_mesh, header=f"spine-implants {part.name} mm")
    files[f"{stem}.json"] = json.dumps(demo.summary(), indent=2).encode()
    paths = write_files(out_dir, files)
    if pictures:
        from ..render.pictures import MeshItem, render_items

        rgb = lambda p: tuple(c / 255 for c in p.colour)  # noqa: E731
        out = Path(out_dir)
        render_items([MeshItem(p.mesh, rgb(p)) for p in demo.parts if p.role != "pin"],
                     out / f"{demo.type_id}_assembled.png", view="iso",
                     title=f"{demo.type_id} demonstrator (assembled)")
        w, h = demo.bed_mm
        import trimesh

        bed = trimesh.creation.box(extents=(w, h, 0.5))
        bed.apply_translation((w / 2, h / 2, -0.3))
        render_items([MeshItem(bed, (0.92, 0.92, 0.92))] + [MeshItem(p.plate_mesh, rgb(p)) for p in demo.parts],
                     out / f"{demo.type_id}_plate.png", view="iso", title=f"build plate {w:g} × {h:g} mm")
        paths["assembled.png"] = out / f"{demo.type_id}_assembled.png"
        paths["plate.png"] = out / f"{demo.type_id}_plate.png"
    demo.seconds["write"] = time.perf_counter() - t0
    return paths
