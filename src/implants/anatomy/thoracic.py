"""Generated thoracic levels T1–T12: a real lumbar template deformed to per-level thoracic
morphometry (layer: anatomy).

**Template.** The Visible Human L1 (packaged level ``"L1"``, BSD-3-Clause, symmetrised). It was
chosen over C7 because L1 is the thoracolumbar neighbour of T12 and already has what a thoracic
vertebra has (one body, round pedicles, laminae, a single long spinous process, transverse
processes without foramina); C7's foramina transversaria and uncinate processes cannot be
removed by a smooth deformation. One template for all twelve levels keeps the set consistent.

**Level frame** (every generated level, mm): origin at the body centre (midway between the
centroids of the superior and inferior endplates), +z along the body axis (superior), +x
anterior, +y patient-left. The whole-spine assembler places levels by their endplates
(:func:`implants.anatomy.endplates.extract_endplate`).

**Steps** (:func:`build_level`), each a smooth map of space, so the closed template stays closed:

1. the template in its level frame (rigid);
2. body and arch scaled separately (blended at the pedicle roots) to the endplate depth/width,
   the anterior/posterior body heights (wedge) and the canal width/depth of the table; the body
   narrowed anteriorly into the thoracic heart shape;
3. spinous process thinned, lengthened and bent down to its length and inclination
   (:func:`implants.anatomy.morph.bend`); transverse processes lengthened to their span and
   turned backwards and upwards;
4. articular processes turned towards the thoracic near-coronal orientation, each about a
   vertical axis through its facet (:func:`implants.anatomy.morph.twist`, a one-to-one map of
   space): superior facets from facing medially (lumbar) to facing posteriorly, inferior facets
   from facing laterally to facing anteriorly (T12 keeps lumbar-type inferior facets). The twist
   is limited to what the template's triangles take without crossing (:data:`FACET_TWIST_DEG`);
5. costal facets pressed into the body (demifacets at the superior and inferior posterolateral
   margins, whole facets at T1/T10–T12) and the transverse-process tips (T1–T10)
   (:func:`implants.anatomy.morph.dimple`);
6. the endplates brought to the table's depth and width with a landmark thin-plate spline
   (:func:`implants.anatomy.morph.landmark_morph`): rim landmarks moved, arch landmarks fixed.

Numbers and their sources: :mod:`implants.anatomy.morphometry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import trimesh

from . import morph
from .endplates import extract_endplate
from .morphometry import COSTAL_FACETS, dimensions, level_index
from .packaged import load

TEMPLATE = "L1"
#: Thinning of the spinous process's cranio-caudal height (lumbar hatchet → thoracic rod).
SPINOUS_THINNING = 0.55
#: Costal facet depth (mm) and radius as a fraction of the posterior body height.
FACET_DEPTH_MM = 2.5
DEMIFACET_RADIUS = 0.24
WHOLE_FACET_RADIUS = 0.30
TRANSVERSE_FACET_RADIUS_MM = 3.5
#: Anterior narrowing of the body (heart shape): width lost at the front, as a fraction.
HEART_TAPER = 0.22
#: Passes of the endplate fit (step 5): the second corrects the rim the first one moved (T11: 1.8 → <1 mm).
ENDPLATE_FIT_PASSES = 2
#: Shortest a transverse process may be made (fraction of its template length): shorter folds the
#: surface where the process meets the superior articular process (measured on T11/T12).
MIN_TRANSVERSE_STRETCH = 0.8
#: Twist (deg, about the body axis, sign for the left side; mirrored on the right) of the superior
#: and inferior articular processes, and the twist's rigid radius, falloff and axial ramp (mm: the
#: twist starts this far on the root side of the facet's root end and is complete this far into it). Larger twists or tighter falloffs cross
#: triangles of the 8k-triangle template (measured on T6: 115° with a 7 mm rigid radius → 36 crossing
#: pairs). The falloff is per level: the widest that leaves no crossing triangles (fold_report, measured
#: for 7–12 mm); a wider falloff turns the facet further (T6 superior facet 23° from coronal at 8 mm,
#: 2–9° at 10 mm, where T6 has one crossing pair).
FACET_TWIST_DEG = {"superior": -110.0, "inferior": -90.0}
#: Per-level exceptions: at T1 (the shortest body) a larger inferior twist brings the undersides of the
#: twisted processes into the patch extract_endplate takes for the inferior endplate (41 mm deep at -75°).
FACET_TWIST_EXCEPTIONS_DEG = {("T1", "inferior"): -60.0}
FACET_TWIST_RADIUS_MM = 6.0
FACET_TWIST_FALLOFF_MM = {"T1": 10.0, "T2": 10.0, **{f"T{i}": 8.0 for i in range(3, 9)}, "T9": 10.0, "T10": 9.0,
                          "T11": 10.0, "T12": 11.0}
FACET_TWIST_RAMP_MM = (8.0, 3.0)
#: Levels whose inferior articular processes keep the lumbar (template) form: the thoracolumbar transition.
LUMBAR_INFERIOR_FACETS = ("T12",)


@dataclass(frozen=True)
class TemplateFrame:
    """The template in its level frame and the points the steps hinge on (template mm)."""

    vertices: np.ndarray
    faces: np.ndarray
    wall_x: float            # posterior body wall, midline
    lamina_x: float          # posterior canal wall (laminae), midline
    canal_width: float
    body_depth: tuple[float, float]   # superior, inferior endplate depth
    body_width: tuple[float, float]
    body_height: float


def _level_frame(mesh: trimesh.Trimesh) -> np.ndarray:
    """Vertices of ``mesh`` in its level frame (origin body centre, z body axis, x anterior)."""
    superior, inferior = extract_endplate(mesh, "superior"), extract_endplate(mesh, "inferior")
    centre = (superior.centroid + inferior.centroid) / 2
    z = superior.normal - inferior.normal
    z /= np.linalg.norm(z)
    x = np.array([1.0, 0.0, 0.0]) - z[0] * z
    x /= np.linalg.norm(x)
    return (np.asarray(mesh.vertices) - centre) @ np.array([x, np.cross(z, x), z]).T


@lru_cache(maxsize=1)
def template() -> TemplateFrame:
    """The L1 template in its level frame, measured."""
    mesh = load(TEMPLATE)
    v = _level_frame(mesh)
    framed = trimesh.Trimesh(v, mesh.faces, process=False)
    midline = np.sort(v[(np.abs(v[:, 1]) < 3) & (np.abs(v[:, 2]) < 5) & (v[:, 0] < 0), 0])
    gap = int(np.argmax(np.diff(midline)))
    lamina_x, wall_x = float(midline[gap]), float(midline[gap + 1])
    ring = v[(np.abs(v[:, 0] - (wall_x + lamina_x) / 2) < 2.5) & (np.abs(v[:, 2]) < 4)]
    canal_width = float(ring[ring[:, 1] > 0, 1].min() - ring[ring[:, 1] < 0, 1].max())
    ends = [extract_endplate(framed, side) for side in ("superior", "inferior")]
    return TemplateFrame(v, np.asarray(mesh.faces), wall_x, lamina_x, canal_width,
                         tuple(e.size_mm[0] for e in ends), tuple(e.size_mm[1] for e in ends),
                         float(ends[0].centroid[2] - ends[1].centroid[2]))


@lru_cache(maxsize=1)
def facet_patches() -> dict[str, np.ndarray]:
    """Vertex masks of the four articular facets on the template (and so on every generated
    level, which keeps the template's vertices): ``superior_left`` … ``inferior_right``; the
    template surface facing the joint (medially on a superior, laterally on an inferior process)."""
    t = template()
    v = t.vertices
    normals = trimesh.Trimesh(v, t.faces, process=False).vertex_normals
    patches = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        patches[f"superior_{side}"] = ((v[:, 2] > 8.0) & (sign * v[:, 1] > 6.0) & (v[:, 0] < t.wall_x - 8.0)
                                       & (-sign * normals[:, 1] > 0.6))
        patches[f"inferior_{side}"] = ((v[:, 2] < -18.0) & (sign * v[:, 1] > 5.0) & (v[:, 0] < t.lamina_x + 5.0)
                                       & (sign * normals[:, 1] > 0.6))
    return patches


def facet_normals(mesh: trimesh.Trimesh) -> dict[str, np.ndarray]:
    """Area-weighted unit normal of each articular facet patch (:func:`facet_patches`) of a
    generated level (or the template), in its level frame."""
    out = {}
    for name, mask in facet_patches().items():
        inside = mask[mesh.faces].all(axis=1)
        normal = (mesh.face_normals[inside] * mesh.area_faces[inside][:, None]).sum(axis=0)
        out[name] = normal / np.linalg.norm(normal)
    return out


def _articular(v: np.ndarray, level: str) -> np.ndarray:
    """Step 4: each articular process twisted about a vertical axis through its facet."""
    for name, mask in facet_patches().items():
        kind, side = name.split("_")
        if kind == "inferior" and level in LUMBAR_INFERIOR_FACETS:
            continue
        centre = v[mask].mean(axis=0)
        outside, inside = FACET_TWIST_RAMP_MM
        if kind == "superior":  # from below the facet's lowest point (root) up into the facet
            end = float(v[mask, 2].min() - centre[2])
            start, full = end - outside, end + inside
        else:  # from above the facet's highest point (root) down into the facet
            end = float(v[mask, 2].max() - centre[2])
            start, full = end + outside, end - inside
        angle = FACET_TWIST_EXCEPTIONS_DEG.get((level, kind), FACET_TWIST_DEG[kind])
        angle *= 1.0 if side == "left" else -1.0
        v = morph.twist(v, centre, (0.0, 0.0, 1.0), angle, FACET_TWIST_RADIUS_MM, FACET_TWIST_FALLOFF_MM[level],
                        start, full)
    return v


def _regions(t: TemplateFrame) -> dict[str, np.ndarray]:
    """Soft region weights (0…1) on the template vertices."""
    x, y, z = t.vertices.T
    post = morph.smoothstep(x, t.wall_x + 1.0, t.wall_x - 5.0)
    spinous = morph.smoothstep(x, t.lamina_x - 6.0, t.lamina_x - 14.0) * morph.smoothstep(np.abs(y), 9.0, 5.0)
    transverse = post * morph.smoothstep(np.abs(y), 22.0, 27.0) * morph.smoothstep(z, 12.0, 8.0)
    return {"post": post, "spinous": spinous, "transverse": transverse}


def _scale(t: TemplateFrame, w: dict, d: dict) -> np.ndarray:
    """Step 2: body and arch scaled to the table, body wedge and heart shape."""
    x, y, z = t.vertices.T
    depth = (d["endplate_depth_upper"] + d["endplate_depth_lower"]) / 2
    width = (d["endplate_width_upper"] + d["endplate_width_lower"]) / 2
    sx = depth / np.mean(t.body_depth)
    sy = width / np.mean(t.body_width)
    front, back = x.max() * sx, t.wall_x * sx
    body_x = x * sx
    share = np.clip((body_x - back) / (front - back), 0.0, 1.0)
    height = d["body_height_posterior"] + share * (d["body_height_anterior"] - d["body_height_posterior"])
    body = np.column_stack([body_x, y * sy * (1 - HEART_TAPER * morph.smoothstep(share, 0.45, 1.0)),
                            z * height / t.body_height])
    canal_depth = t.wall_x - t.lamina_x
    arch = np.column_stack([back + (x - t.wall_x) * d["canal_depth"] / canal_depth,
                            y * d["canal_width"] / t.canal_width,
                            z * d["body_height_posterior"] / t.body_height])
    return body + w["post"][:, None] * (arch - body)


def _spinous(v: np.ndarray, w: np.ndarray, d: dict, root_wall: np.ndarray) -> np.ndarray:
    """Step 3a: thin, lengthen and bend the spinous process to its length and inclination."""
    active = w > 0.5
    root = np.array([v[active, 0].max(), 0.0, float(np.median(v[active & (v[:, 0] > v[active, 0].max() - 3), 2]))])
    tip = v[np.argmin(v[:, 0])]
    axis_z = root[2] + (v[:, 0] - root[0]) * (tip[2] - root[2]) / (tip[0] - root[0]) * 0.5
    v = v.copy()
    v[:, 2] = axis_z + (v[:, 2] - axis_z) * (1 - w * (1 - SPINOUS_THINNING))
    out = v
    for _ in range(4):  # fixed point on length and inclination measured from the canal wall
        tip = out[np.argmax(np.linalg.norm(out - root_wall, axis=1) * (w > 0.9))]
        length = np.linalg.norm(tip - root_wall)
        incline = np.degrees(np.arctan2(root[2] - tip[2], root[0] - tip[0]))
        stretch = d["spinous_length"] / length
        v[:, 0] = root[0] + (v[:, 0] - root[0]) * (1 + w * (stretch - 1))
        v[:, 2] = root[2] + (v[:, 2] - root[2]) * (1 + w * (stretch - 1))
        out = morph.bend(v, w, root, (0.0, 1.0, 0.0), -(d["spinous_inclination"] - incline))
        v = out
    return out


def _transverse(v: np.ndarray, w: np.ndarray, d: dict, template_y: np.ndarray) -> np.ndarray:
    """Step 3b: transverse processes to the span, backwards and upwards. The root is where the
    region's weight starts, the tip the template's most lateral vertex (tracked by index)."""
    v = v.copy()
    for side in (1.0, -1.0):
        ws = w * (np.sign(template_y) == side)
        root = v[(ws > 0.02) & (ws < 0.15)].mean(axis=0)
        tip_index = int(np.argmax(side * template_y))
        stretch = (d["transverse_span"] / 2 - abs(root[1])) / (abs(v[tip_index, 1]) - abs(root[1]))
        stretch = float(np.clip(stretch, MIN_TRANSVERSE_STRETCH, None))
        v = root + (v - root) * (1 + ws[:, None] * (np.array([0.0, stretch, 0.0]) - np.array([0.0, 1.0, 0.0])))
        tip = v[tip_index]
        backward = np.degrees(np.arctan2(root[0] - tip[0], abs(tip[1] - root[1])))
        upward = np.degrees(np.arctan2(tip[2] - root[2], abs(tip[1] - root[1])))
        v = morph.bend(v, ws, root, (0, 0, 1), side * (d["transverse_backward_angle"] - backward))
        v = morph.bend(v, ws, root, (1, 0, 0), -side * (d["transverse_upward_angle"] - upward))
    return v


def _ray_hit(mesh: trimesh.Trimesh, origin, direction) -> np.ndarray | None:
    hits, _, _ = mesh.ray.intersects_location([origin], [direction])
    if not len(hits):
        return None
    return hits[np.argmin(np.linalg.norm(hits - origin, axis=1))]


def _costal_facets(mesh: trimesh.Trimesh, level: str, d: dict, wall_x: float) -> trimesh.Trimesh:
    """Step 5: costal facets (dimples) on the body and the transverse-process tips."""
    facets = COSTAL_FACETS[level]
    height = d["body_height_posterior"]
    x_margin = wall_x + 0.18 * (d["endplate_depth_upper"] + d["endplate_depth_lower"]) / 2
    places = []
    for side_name, sign in (("body_superior", 1.0), ("body_inferior", -1.0)):
        kind = facets[side_name]
        if kind == "demi":
            places.append(((x_margin, sign * (height / 2 - 0.12 * height)), DEMIFACET_RADIUS * height))
        elif kind == "whole":
            z = sign * (height / 2 - 0.3 * height) if level in ("T1", "T10") else 0.05 * height
            x = x_margin if level in ("T1", "T10") else wall_x + 1.5
            places.append(((x, z), WHOLE_FACET_RADIUS * height))
    for (x, z), radius in places:
        for lateral in (1.0, -1.0):
            hit = _ray_hit(mesh, np.array([x, 0.0, z]), np.array([0.0, lateral, 0.0]))
            mesh = trimesh.Trimesh(morph.dimple(mesh, hit, radius, FACET_DEPTH_MM), mesh.faces, process=False)
    if facets["transverse"]:
        for lateral in (1.0, -1.0):
            tip = mesh.vertices[np.argmax(lateral * mesh.vertices[:, 1])]
            inward = tip - np.array([0.0, 2.5 * lateral, 0.0])
            hit = _ray_hit(mesh, inward + np.array([15.0, 0.0, 0.0]), np.array([-1.0, 0.0, 0.0]))
            if hit is not None:
                mesh = trimesh.Trimesh(morph.dimple(mesh, hit, TRANSVERSE_FACET_RADIUS_MM, 1.0), mesh.faces,
                                       process=False)
    return mesh


def _fit_endplates(mesh: trimesh.Trimesh, d: dict, wall_x: float) -> morph.MorphResult:
    """Step 6: thin-plate spline that brings each endplate's measured depth and width to the
    table (rim landmarks scaled about the endplate centre; posterior-arch landmarks fixed)."""
    v = np.asarray(mesh.vertices)
    sources, targets = [], []
    for side, suffix in (("superior", "upper"), ("inferior", "lower")):
        plate = extract_endplate(mesh, side)
        depth, width = plate.size_mm
        if plate.centroid[0] < wall_x or width > 1.3 * d[f"endplate_width_{suffix}"]:
            continue  # the extraction found a patch of the arch, not the body: leave that side as it is
        rim = plate.outline[:: max(1, len(plate.outline) // 24)]
        centre = plate.outline.mean(axis=0)
        scale = np.array([d[f"endplate_depth_{suffix}"] / depth, d[f"endplate_width_{suffix}"] / width, 1.0])
        sources.append(rim)
        targets.append(centre + (rim - centre) * scale)
    arch = v[v[:, 0] < wall_x - 4.0][::15]
    sources.append(arch)
    targets.append(arch)
    return morph.landmark_morph(mesh, np.concatenate(sources), np.concatenate(targets))


def build_level(level: str, costal_facets: bool = True) -> trimesh.Trimesh:
    """The generated thoracic vertebra ``level`` ("T1" … "T12") in its level frame (module
    docstring), closed, one shell, in mm. ``costal_facets=False`` leaves out step 5 (the same
    triangles, for comparison)."""
    index = level_index(level)
    name = f"T{index + 1}"
    d = dimensions(name)
    t = template()
    w = _regions(t)
    v = _scale(t, w, d)
    wall_x = t.wall_x * (d["endplate_depth_upper"] + d["endplate_depth_lower"]) / 2 / np.mean(t.body_depth)
    canal_wall = np.array([wall_x - d["canal_depth"], 0.0, 0.0])
    v = _spinous(v, w["spinous"], d, canal_wall)
    v = _transverse(v, w["transverse"], d, t.vertices[:, 1])
    v = _articular(v, name)
    mesh = trimesh.Trimesh(v, t.faces, process=False)
    if costal_facets:
        mesh = _costal_facets(mesh, name, d, wall_x)
    for _ in range(ENDPLATE_FIT_PASSES):  # the rim is re-extracted after each fit
        mesh = _fit_endplates(mesh, d, wall_x).mesh
    mesh.metadata["name"] = f"generated thoracic level {name}"
    return mesh
