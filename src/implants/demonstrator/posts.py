"""Posts, pegs and sockets that hold every part of a demonstrator above its base (layer: demonstrator).

Each vertebra (or, without vertebrae, each implant part) stands on two posts from the base whose pegs
(Ø :data:`PEG_D_MM`) enter sockets in the part with ``clearance_mm`` radial and end gap; a part with
room for one post only gets two keyed pegs on it. Parts are supported lowest first; a part that no
vertical line reaches gets a tilted (≤ 40°) or dogleg post, else a vertical post through a clearance
hole in the bones below. A post grazing another part notches it. Millimetres at print scale, +z up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

from ..errors import ExportError
from . import meshops
from .model import Joint
from .post_sites import (
    PEG_LENGTH_MM,
    POST_D_MM,
    POST_TILTS_DEG,
    PostSite,
    Segment,
    bend_into_dogleg,
    post_directions,
    post_sites,
)

PEG_D_MM = 4.0
#: a part found only one post site gets two pegs of this diameter, this far apart, on the post's top
#: (a keyed joint: the part cannot spin about the post)
TWIN_PEG_D_MM = 3.0
TWIN_PEG_OFFSET_MM = 2.0
#: a post passing close by another part cuts it this far around (the line search samples the disc)
POST_KEEPOUT_MM = 0.5


@dataclass
class Supports:
    """What the posts add to the base (posts and pegs), the joints, and each post's foot on the base."""

    add: list[trimesh.Trimesh] = field(default_factory=list)
    joints: list[Joint] = field(default_factory=list)
    feet: list[np.ndarray] = field(default_factory=list)


@dataclass
class _PostMeshes:
    add: list[trimesh.Trimesh]       # post and peg(s), for the base
    cut: list[trimesh.Trimesh]       # the socket's cutting tools, for the part
    keepout: list[trimesh.Trimesh]   # the post grown by POST_KEEPOUT_MM, cut from parts it grazes
    pegs: list[tuple[np.ndarray, np.ndarray, float]]   # (peg top, axis, peg radius)


def _post_and_socket(site: PostSite, base_top: float, clearance: float, twin: bool = False) -> _PostMeshes:
    """The post along the site's axis from under the base's top to ``clearance`` below the part, with
    one peg (Ø :data:`PEG_D_MM`) or, ``twin``, two keyed pegs (Ø :data:`TWIN_PEG_D_MM`), and its socket."""
    rot = site.rot

    def cyl(r, z0, z1, du=0.0, dv=0.0):
        return meshops.rod(r, site.point(du, dv, z0), site.point(du, dv, z1))

    shoulder = site.contact - clearance
    peg_top = site.entry + PEG_LENGTH_MM
    # the post's foot goes below the base's top (excess under the base is trimmed with the base)
    below = site.length + 1.0 + POST_D_MM
    pegs = [(0.0, PEG_D_MM / 2)] if not twin else [(-TWIN_PEG_OFFSET_MM, TWIN_PEG_D_MM / 2),
                                                     (TWIN_PEG_OFFSET_MM, TWIN_PEG_D_MM / 2)]

    def post(r):
        if site.elbow is not None:  # dogleg: vertical column, a ball at the elbow, the tilted arm
            e = site.elbow
            z_top = rot @ e
            return [cyl(r, z_top[2], shoulder), trimesh.creation.icosphere(subdivisions=3, radius=r).apply_translation(e),
                    meshops.rod(r, (e[0], e[1], base_top - 2.0), e)]
        return [cyl(r, shoulder - below, shoulder)]

    out = _PostMeshes(post(POST_D_MM / 2), [cyl(POST_D_MM / 2 + clearance, shoulder - 20.0, shoulder)],
                      post(POST_D_MM / 2 + POST_KEEPOUT_MM), [])
    for du, r in pegs:
        out.add.append(cyl(r, shoulder - 0.5, peg_top, du))
        out.cut.append(cyl(r + clearance, shoulder - 2.0, peg_top + clearance, du))
        out.pegs.append((site.point(du, 0.0, peg_top), site.axis, r))
    return out


def _find_sites(name: str, mesh: trimesh.Trimesh, implants: dict[str, trimesh.Trimesh],
                bones: dict[str, trimesh.Trimesh], base_top: float, posts: list[Segment],
                notes: list[str], centre: np.ndarray | None) -> tuple[list[PostSite], list[str]]:
    """(sites, names of the bones the posts pass through) for part ``name`` (``mesh``): two sites along
    the least tilted direction that has two, else one; else with a partly open socket wall; else
    vertical through the bones below; the first one near ``centre`` (the body of a vertebra).
    ExportError when no line reaches the part."""
    others = [m for n, m in {**implants, **bones}.items() if n != name]
    directions = post_directions()
    sites: list[PostSite] = []
    single: list[PostSite] = []
    for direction in directions:
        found = post_sites(mesh, others, base_top, direction, posts=posts, centre=centre)
        if len(found) == 2:
            sites = found
            break
        if found and not single:
            single = found
    sites = sites or single
    if not sites:  # a small bone: accept sockets whose wall is open on one side
        for direction in directions:
            sites = post_sites(mesh, others, base_top, direction, posts=posts, strict=False, centre=centre)
            if sites:
                notes.append(f"{name}: socket wall partly open (small bone)")
                break
    crossed: list[str] = []
    if not sites and bones:  # pass through the bones below, through a clearance hole
        passable = {n: m for n, m in bones.items() if n != name}
        sites = post_sites(mesh, list(implants.values()), base_top, passable=list(passable.values()), posts=posts,
                           centre=centre)
        crossed = list(passable)
    if not sites:
        raise ExportError(f"demonstrator: no place for a post under {name} (every line to the base up to "
                          f"{POST_TILTS_DEG[-1]:g}° from vertical is blocked by another part)")
    for site in sites:
        bend_into_dogleg(site, [*others, mesh], base_top, posts)
    return sites, crossed


def support_parts(implants: dict[str, trimesh.Trimesh], bones: dict[str, trimesh.Trimesh], base_top: float,
                  clearance_mm: float, notes: list[str], centres: dict[str, np.ndarray] | None = None) -> Supports:
    """Posts under each bone (under the implant parts when there is no bone) from a base whose top is at
    z = ``base_top``, the first post of a bone near its ``centres`` entry (its body centre). Cuts the
    sockets, post holes and notches into the parts: replaces the meshes in
    ``implants`` and ``bones`` in place. Appends a note for every adapted post."""
    supported = dict(bones) if bones else dict(implants)
    out = Supports()
    cuts: dict[str, list[trimesh.Trimesh]] = {name: [] for name in supported}
    posts: list[Segment] = []   # (bottom, top) of every post's axis
    keepouts: list[tuple[str, list[trimesh.Trimesh]]] = []
    for name in sorted(supported, key=lambda n: supported[n].bounds[0, 2]):
        sites, crossed = _find_sites(name, supported[name], implants, bones, base_top, posts, notes,
                                     (centres or {}).get(name))
        twin = len(sites) < 2
        if twin:
            notes.append(f"{name}: one post with two keyed Ø{TWIN_PEG_D_MM:g} mm pegs (no second site)")
        for site in sites:
            made = _post_and_socket(site, base_top, clearance_mm, twin)
            out.add += made.add
            keepouts.append((name, made.keepout))
            cuts[name] += made.cut
            posts.extend(site.segments)
            out.feet.append(site.bottom)
            for top, axis, r in made.pegs:
                out.joints.append(Joint(name, tuple(map(float, top)), tuple(map(float, axis)), r, r + clearance_mm))
            if site.tilt_deg > 1.0:
                notes.append(f"{name}: post tilted {site.tilt_deg:.0f}° from vertical" + (" (dogleg: vertical column, "
                             "tilted arm)" if site.elbow is not None else "") + " (the vertical line is blocked)")
            if site.crossing > 0:
                hole = meshops.cylinder(POST_D_MM / 2 + 1.0, base_top - 1.0, site.contact - 0.5,
                                        site.foot[0], site.foot[1])
                for other in crossed:
                    cuts.setdefault(other, []).append(hole)
                notes.append(f"{name}: post at ({site.foot[0]:.0f}, {site.foot[1]:.0f}) passes through a Ø"
                             f"{POST_D_MM + 2:g} mm hole in the bone below")
    for name in {**implants, **bones}:  # a post grazing another part notches it
        near = [m for owner, ms in keepouts if owner != name for m in ms]
        if near:
            target = bones.get(name, implants.get(name))
            if (meshops.to_manifold(target) ^ meshops.union(near)).volume() > 1e-3:
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
    return out
