"""A synthetic patient as meshes: the packaged vertebrae of a segment deformed to a
:class:`~.patient.Patient` and placed around the requested disc, then measured back (layer: anatomy).

Frames: the packaged level's patient frame (+x anterior, +y patient-left, +z superior, mm);
each endplate's local frame is the one :func:`~.endplates.extract_endplate` reports (x anterior,
y patient-left, z along the mean normal towards patient +z).

**Morph** (:func:`morph_vertebra`): one thin-plate-spline space deformation
(:func:`~.morph.landmark_morph`) of the whole vertebra, driven by landmarks computed from the
base vertebra's own extracted endplates:

* **rim**: 24 points of each endplate's outline, scaled about the outline's box centre in the
  endplate's local x (depth) and y (width) to the requested extents;
* **surface**: a grid inside each rim moved along the local z onto *ruler − bowl*: the ruler is
  the upper convex hull of the base endplate (what the concavity is measured against), the bowl
  a smooth cap ``c (1 − ρ²)²`` of the requested depth ``c`` whose top is at the requested apex
  (ρ = 0) and which vanishes at the rim (ρ = 1, ρ measured along rays from the apex): the base
  concavity is replaced by the requested one;
* **body corners**: the rim points 3 mm inside the bone (the wall under the rim follows the
  rim) and a ring midway between the endplates;
* **arch**: 40 points of the posterior elements, moved by the body's mean change (posterior wall
  shift, mean width scale, height scale), so the arch follows without bending.

The superior and inferior landmarks are shifted along the body axis so the rim-to-rim body height
is the requested one. **Placement** (:func:`patient_segment`): the upper vertebra is moved rigidly
(rotations about the disc-space frame's y and x axes, a shift along its z) until
:func:`~.disc_space.disc_space` of the two facing endplates gives the requested disc height,
sagittal and coronal angle. **Measured back** (:func:`measure_segment`): a fresh extraction of
all four endplates on the final meshes, in the field names of :class:`~.patient.Patient`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import trimesh
from scipy.spatial import ConvexHull

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.local_frame import Frame
from . import packaged
from .disc_space import DiscSpace, disc_space
from .endplates import Endplate, extract_endplate
from .morph import landmark_morph
from .patient import SIDES, Patient

#: Rim landmarks per endplate (every n-th of the outline's 96 points).
RIM_STEP = 4
#: Depth (mm, along the endplate normal into the bone) of the wall landmarks under the rim.
WALL_DEPTH_MM = 3.0
#: Surface landmarks: grid spacing as a fraction of the endplate's smaller extent.
GRID_FRACTION = 1 / 7
#: Inset rings of surface landmarks: their distances inside the rim, fractions of the smaller
#: extent (they hold the band next to the rim, corners and notches included, on the ruler).
INSET_FRACTIONS = (0.06, 0.12)
#: Arch (posterior elements) landmarks per vertebra.
ARCH_POINTS = 40
#: Iterations of the rigid placement of the upper vertebra.
PLACEMENT_STEPS = 4


@dataclass(frozen=True, eq=False)
class BaseVertebra:
    """A packaged vertebra and its two extracted endplates (patient frame)."""

    level: str
    mesh: trimesh.Trimesh
    superior: Endplate
    inferior: Endplate


@lru_cache(maxsize=8)
def base_vertebra(level: str) -> BaseVertebra:
    """The packaged ``level`` with its endplates (extracted once per process)."""
    mesh = packaged.load(level)
    return BaseVertebra(level, mesh, extract_endplate(mesh, "superior"), extract_endplate(mesh, "inferior"))


def endplate_measures(endplate: Endplate) -> dict[str, float]:
    """width_mm, depth_mm, concavity_mm, apex_ap_pct (behind the anterior rim, % of depth) and
    apex_lr_pct (left of the middle, % of width) of an extracted endplate."""
    rim = endplate.outline_local
    lo, hi = rim.min(axis=0), rim.max(axis=0)
    depth, width = hi - lo
    apex = endplate.apex_local
    return {"width_mm": float(width), "depth_mm": float(depth), "concavity_mm": float(endplate.concavity_mm),
            "apex_ap_pct": float(100 * (hi[0] - apex[0]) / depth),
            "apex_lr_pct": float(100 * (apex[1] - (lo[1] + hi[1]) / 2) / width)}


def body_axis(superior: Endplate, inferior: Endplate) -> np.ndarray:
    """Unit body axis (towards superior) from the two endplate normals."""
    axis = superior.normal - inferior.normal
    return axis / np.linalg.norm(axis)


def body_height(superior: Endplate, inferior: Endplate) -> float:
    """Mean rim-to-rim height (mm) of a vertebral body along its axis."""
    return float((superior.outline.mean(axis=0) - inferior.outline.mean(axis=0)) @ body_axis(superior, inferior))


def _ruler(endplate: Endplate):
    """z (local) of the ruler resting on the endplate's disc side (its upper/lower convex hull)."""
    sign = 1.0 if endplate.side == "superior" else -1.0
    local = endplate.frame.to_local(endplate.mesh.vertices) * [1.0, 1.0, sign]
    facets = ConvexHull(local).equations
    facets = facets[facets[:, 2] > 1e-9]

    def ruler(xy: np.ndarray) -> np.ndarray:
        return sign * (-(xy @ facets[:, :2].T + facets[:, 3]) / facets[:, 2]).min(axis=1)

    return ruler


def _ray_fraction(rim: np.ndarray, apex: np.ndarray, points: np.ndarray) -> np.ndarray:
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
    return 1.0 / t.min(axis=1)


def _endplate_landmarks(endplate: Endplate, want: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) landmarks in the endplate's local frame: rim, wall under the rim and
    the surface grid (see the module docstring)."""
    rim = endplate.outline_local
    lo, hi = rim.min(axis=0), rim.max(axis=0)
    centre = (lo + hi) / 2
    scale = np.array([want["depth_mm"], want["width_mm"]]) / (hi - lo)
    new_rim = centre + (rim - centre) * scale
    new_lo, new_hi = new_rim.min(axis=0), new_rim.max(axis=0)
    apex = np.array([new_hi[0] - want["apex_ap_pct"] / 100 * (new_hi[0] - new_lo[0]),
                     (new_lo[1] + new_hi[1]) / 2 + want["apex_lr_pct"] / 100 * (new_hi[1] - new_lo[1])])
    into_bone = -1.0 if endplate.side == "superior" else 1.0

    ruler = _ruler(endplate)
    ring = rim[::RIM_STEP]
    ring_z = endplate.height(ring[:, 0], ring[:, 1])
    moved_ring = centre + (ring - centre) * scale
    step = GRID_FRACTION * float(min(hi - lo))
    gx, gy = np.meshgrid(np.arange(lo[0] + step / 2, hi[0], step), np.arange(lo[1] + step / 2, hi[1], step))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    # an inset ring one band inside the rim holds the rim region (corners, notches) on the ruler too
    inward = (centre - ring) / np.linalg.norm(centre - ring, axis=1)[:, None]
    insets = [ring + inward * fraction * float(min(hi - lo)) for fraction in INSET_FRACTIONS]
    surface = np.vstack([grid, *insets])
    surface = surface[outlines.contains(rim, surface)]
    surface = surface[outlines.min_distance_to_edges(rim, surface) >= 0.5 * min(INSET_FRACTIONS) * float(min(hi - lo))]
    moved_surface = centre + (surface - centre) * scale
    rho = np.clip(_ray_fraction(new_rim, apex, moved_surface), 0.0, 1.0)
    bowl = want["concavity_mm"] * (1.0 - rho ** 2) ** 2
    rim_z = ring_z  # the rim keeps its height; the surface inside goes onto ruler − bowl (bone side)

    source = np.vstack([np.column_stack([ring, ring_z]), np.column_stack([ring, ring_z + into_bone * WALL_DEPTH_MM]),
                        np.column_stack([surface, endplate.height(surface[:, 0], surface[:, 1])])])
    target = np.vstack([np.column_stack([moved_ring, rim_z]),
                        np.column_stack([moved_ring, rim_z + into_bone * WALL_DEPTH_MM]),
                        np.column_stack([moved_surface, ruler(surface) + into_bone * bowl])])
    return source, target


def _arch_points(base: BaseVertebra) -> np.ndarray:
    """ARCH_POINTS vertices of the posterior elements (behind the body's posterior rim by 5 mm)."""
    local = base.superior.frame.to_local(base.mesh.vertices)
    posterior = float(base.superior.outline_local[:, 0].min()) - 5.0
    behind = np.flatnonzero(local[:, 0] < posterior)
    order = behind[np.argsort(local[behind, 0] * 1000 + local[behind, 1])]  # deterministic spread
    return base.mesh.vertices[order[np.linspace(0, len(order) - 1, ARCH_POINTS).astype(int)]]


def morph_vertebra(level: str, superior: dict[str, float], inferior: dict[str, float],
                   body_height_mm: float) -> tuple[trimesh.Trimesh, float]:
    """The packaged ``level`` deformed to the requested endplates (each a dict as
    :meth:`~.patient.Patient.endplate`) and body height; returns the mesh and the largest
    landmark residual (mm)."""
    base = base_vertebra(level)
    axis = body_axis(base.superior, base.inferior)
    wants = {"superior": superior, "inferior": inferior}
    pairs = {side: _endplate_landmarks(getattr(base, side), wants[side]) for side in SIDES}
    patient = {side: (getattr(base, side).frame.to_patient(s), getattr(base, side).frame.to_patient(t))
               for side, (s, t) in pairs.items()}
    rims = {side: patient[side][1][: len(getattr(base, side).outline_local[::RIM_STEP])] for side in SIDES}
    achieved = float((rims["superior"].mean(axis=0) - rims["inferior"].mean(axis=0)) @ axis)
    shift = (body_height_mm - achieved) / 2
    source, target = [], []
    for side, sign in (("superior", 1.0), ("inferior", -1.0)):
        source.append(patient[side][0])
        target.append(patient[side][1] + sign * shift * axis)
    n_ring = len(rims["superior"])
    # pair each superior rim point with the inferior one below it (nearest across the body axis)
    across = np.eye(3) - np.outer(axis, axis)
    sup, inf = patient["superior"][0][:n_ring], patient["inferior"][0][:n_ring]
    below = np.argmin(np.linalg.norm((sup[:, None] - inf[None]) @ across, axis=2), axis=1)
    mid_source = (sup + inf[below]) / 2
    mid_target = (target[0][:n_ring] + target[1][:n_ring][below]) / 2
    source.append(mid_source)
    target.append(mid_target)
    # arch: posterior wall shift, mean width scale, height scale (about the body centre)
    centre = (base.superior.centroid + base.inferior.centroid) / 2
    frame = Frame(centre, base.superior.frame.axes)
    arch = frame.to_local(_arch_points(base))
    old = [endplate_measures(getattr(base, side)) for side in SIDES]
    width_scale = np.mean([wants[s]["width_mm"] / o["width_mm"] for s, o in zip(SIDES, old)])
    wall_shift = np.mean([(wants[s]["depth_mm"] - o["depth_mm"]) / 2 for s, o in zip(SIDES, old)])
    height_scale = body_height_mm / body_height(base.superior, base.inferior)
    moved_arch = arch * [1.0, width_scale, height_scale] - [wall_shift, 0.0, 0.0]
    source.append(frame.to_patient(arch))
    target.append(frame.to_patient(moved_arch))
    result = landmark_morph(base.mesh, np.vstack(source), np.vstack(target))
    return result.mesh, result.max_residual_mm


def moved_endplate(endplate: Endplate, rotation: np.ndarray, translation: np.ndarray) -> Endplate:
    """``endplate`` moved rigidly (x → R x + t, patient frame); its local shape is unchanged."""
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    return replace(endplate, mesh=endplate.mesh.copy().apply_transform(matrix),
                   outline=endplate.outline @ rotation.T + translation,
                   apex=rotation @ endplate.apex + translation, centroid=rotation @ endplate.centroid + translation,
                   normal=rotation @ endplate.normal,
                   frame=Frame(rotation @ endplate.frame.origin + translation, endplate.frame.axes @ rotation.T))


def _rotation(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    return trimesh.transformations.rotation_matrix(np.radians(angle_deg), axis)[:3, :3]


#: Measured-back tolerances (mm, deg; apex in % of the endplate extent) the corrections aim at.
TOLERANCES = {"width_mm": 0.3, "depth_mm": 0.3, "concavity_mm": 0.2, "body_height_mm": 0.3, "apex_ap_pct": 5.0,
              "apex_lr_pct": 5.0, "disc_height_mm": 0.3, "disc_sagittal_deg": 0.5, "disc_coronal_deg": 0.5}
#: Endplate measures the corrections chase (the apex is not: its measure is the mean of the
#: near-deepest points, which jumps between separate hollows when the concavity is shallow).
CORRECTED = ("width_mm", "depth_mm", "concavity_mm")
#: Largest number of re-morphs of a vertebra with its requested values corrected by the measured error.
CORRECTIONS = 3


def fitted_vertebra(level: str, superior: dict[str, float], inferior: dict[str, float], body_height_mm: float
                    ) -> tuple[trimesh.Trimesh, dict[str, Endplate], float]:
    """:func:`morph_vertebra`, then measure the morphed endplates and re-morph with the requests
    shifted by the measured errors (a fixed-point step; the extraction's rim and apex respond
    slightly differently from the landmarks) until every measure is within half its tolerance or
    after :data:`CORRECTIONS` steps; the best step wins. Returns the mesh, its extracted endplates
    and the landmark residual."""
    wanted = {"superior": dict(superior), "inferior": dict(inferior), "body": body_height_mm}
    asked = {"superior": dict(superior), "inferior": dict(inferior), "body": body_height_mm}
    best: tuple[float, trimesh.Trimesh, dict[str, Endplate], float] | None = None
    for step in range(CORRECTIONS + 1):
        mesh, residual = morph_vertebra(level, asked["superior"], asked["inferior"], asked["body"])
        try:
            found = {side: extract_endplate(mesh, side) for side in SIDES}
        except ParameterError:
            if best is None:
                raise
            break  # a correction went too far for the extraction: keep the best so far
        measured = {side: endplate_measures(found[side]) for side in SIDES}
        height_error = wanted["body"] - body_height(found["superior"], found["inferior"])
        worst = max([abs(height_error) / TOLERANCES["body_height_mm"]] + [
            abs(wanted[side][k] - measured[side][k]) / TOLERANCES[k] for side in SIDES for k in CORRECTED])
        if best is None or worst < best[0]:
            best = (worst, mesh, found, residual)
        if worst <= 0.5:
            break
        for side in SIDES:
            for k in CORRECTED:
                asked[side][k] += wanted[side][k] - measured[side][k]
            asked[side]["concavity_mm"] = max(asked[side]["concavity_mm"], 0.05)
        asked["body"] += height_error
    return best[1], best[2], best[3]


@dataclass(frozen=True, eq=False)
class PatientSegment:
    """A patient's two vertebrae (patient frame, mm) placed around the requested disc."""

    patient: Patient
    upper_mesh: trimesh.Trimesh
    lower_mesh: trimesh.Trimesh
    disc: DiscSpace                 # from the facing endplates of the final meshes
    max_residual_mm: float          # largest landmark residual of the two morphs


def patient_segment(patient: Patient) -> PatientSegment:
    """Morph the region's two packaged vertebrae to ``patient`` and place the upper one so the
    disc has the requested height and angles (see the module docstring)."""
    fitted = [fitted_vertebra(level, patient.endplate(vertebra, "superior"), patient.endplate(vertebra, "inferior"),
                              getattr(patient, f"{vertebra}_body_height_mm"))
              for vertebra, level in zip(("upper", "lower"), patient.levels)]
    (upper, upper_endplates, upper_residual), (lower, lower_endplates, lower_residual) = fitted
    up0, lo = upper_endplates["inferior"], lower_endplates["superior"]
    rotation, translation = np.eye(3), np.zeros(3)
    disc = disc_space(up0, lo)
    for _ in range(PLACEMENT_STEPS):
        turn = (_rotation(disc.frame.axes[1], -(patient.disc_sagittal_deg - disc.sagittal_deg))
                @ _rotation(disc.frame.axes[0], patient.disc_coronal_deg - disc.coronal_deg))
        pivot = disc.frame.origin
        rotation = turn @ rotation
        translation = turn @ (translation - pivot) + pivot
        translation = translation + disc.frame.axes[2] * (patient.disc_height_mm - disc.height_mm)
        disc = disc_space(moved_endplate(up0, rotation, translation), lo)
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    placed = upper.copy()
    placed.apply_transform(matrix)
    return PatientSegment(patient, placed, lower, disc, float(max(upper_residual, lower_residual)))


def measure_segment(upper_mesh: trimesh.Trimesh, lower_mesh: trimesh.Trimesh) -> dict[str, float]:
    """Every :class:`~.patient.Patient` field except ``region_lordosis_deg``, measured on the meshes
    (four fresh endplate extractions and their disc space)."""
    values: dict[str, float] = {}
    endplates = {}
    for vertebra, mesh in (("upper", upper_mesh), ("lower", lower_mesh)):
        for side in SIDES:
            endplates[vertebra, side] = extract_endplate(mesh, side)
            values.update({f"{vertebra}_{side}_{k}": v for k, v in endplate_measures(endplates[vertebra, side]).items()})
        values[f"{vertebra}_body_height_mm"] = body_height(endplates[vertebra, "superior"],
                                                            endplates[vertebra, "inferior"])
    disc = disc_space(endplates["upper", "inferior"], endplates["lower", "superior"])
    values.update(disc_height_mm=disc.height_mm, disc_sagittal_deg=disc.sagittal_deg,
                  disc_coronal_deg=disc.coronal_deg)
    return values
