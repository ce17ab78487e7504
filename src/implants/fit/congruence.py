"""Congruent interbody cages from real anatomy, and their contact compared with a flat cage (layer: fit).

Frames: meshes in the patient frame (+x anterior, +y left, +z superior, mm). The cage is built
in the **cage frame** (:mod:`.cage_placement`: the disc-space frame moved to the centroid of the
usable footprint) and moved into the patient frame, between the meshes (:mod:`.cage_build`).

* :func:`congruent_cage`: bearing surfaces = the endplate surfaces as height fields in the
  cage frame (:mod:`.cage_fields`), each moved away from the bone by the deepest vertex that
  would otherwise penetrate (so the cage touches without cutting into bone). Optional
  **planned correction**: the upper field is rotated about a hinge (sagittal: a y line at the
  posterior edge of the footprint on the upper surface; coronal: an x line at the side that
  stays put) until the plane-fit angle between the faces equals the target, and re-sampled as
  a height field.
* :func:`flat_cage`: the same footprint with planar faces: the least-squares planes of the
  endplate fields over the footprint, each shifted until it touches without penetrating.
* :func:`measure_contact` / :func:`compare_contact` / :func:`contact_map_png`: contact area, % of
  footprint, % of endplate, penetration and the congruent/flat ratio (:mod:`.cage_contact`),
  plus a top-view map.

Angles (deg) as in :mod:`.cage_fields`: sagittal positive lordotic, coronal positive taller on
the left, from least-squares planes over the bearing region (footprint without graft windows).
"""

from __future__ import annotations

import io
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..implant_types.interbody_cage import CageParams
from ..model import Implant
from ..tolerances import CONTACT_TOLERANCE_MM
from ..writers.atomic import write_files
from .cage_build import build_cage
from .cage_contact import Comparison, cage_contact
from .cage_fields import CageSite, PlaneField, cage_site, field_angles, shifted
from .cage_placement import default_params
from .facing_surface import Field, seat
from .footprint import plane_fit
from .inputs import Anatomy, anatomy, disc_inputs


def _rotated(field: Field, axis: int, hinge: tuple[float, float], angle_deg: float) -> Field:
    """The surface z = field rotated by ``angle_deg`` about a horizontal line through the hinge
    (``axis`` 1: a line along y at x = hinge[0], z = hinge[1], positive raises +x;
    ``axis`` 0: a line along x at y = hinge[0], positive raises +y), as a height field."""
    a = np.radians(angle_deg)
    ca, sa = np.cos(a), np.sin(a)
    h, zh = hinge

    def rotated(x, y):
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        q = x if axis == 1 else y   # the coordinate that moves
        s = q.copy()                # the source coordinate, found by fixed-point iteration
        for _ in range(30):
            z = field(s, y) if axis == 1 else field(x, s)
            s_new = h + (q - h + (z - zh) * sa) / ca
            if np.max(np.abs(s_new - s)) < 1e-9:
                s = s_new
                break
            s = s_new
        z = field(s, y) if axis == 1 else field(x, s)
        return zh + (s - h) * sa + (z - zh) * ca

    return rotated


def congruent_cage(upper_mesh_or_path: Any, lower_mesh_or_path: Any = None, params: CageParams | None = None, *,
                   target_sagittal_deg: float | None = None, target_coronal_deg: float | None = None,
                   axes: str | np.ndarray = "ALS", margin_mm: float = 2.0) -> Implant:
    """An ``interbody-cage`` whose bearing faces are fitted to the two vertebrae (patient frame).

    ``upper_mesh_or_path`` may also be an :class:`~.inputs.Anatomy` (then ``lower_mesh_or_path`` is
    ignored) or a :class:`~.cage_fields.CageSite` (then ``params`` too: the site's are used).
    ``target_sagittal_deg`` / ``target_coronal_deg``: planned correction (see the module docstring).
    """
    started = time.perf_counter()
    site = cage_site(upper_mesh_or_path, lower_mesh_or_path, params, axes, margin_mm)
    anat, p, g, centre, frame, region = site.anat, site.params, site.geometry, site.centre, site.frame, site.region
    du, gaps_u = seat(site.upper, site.upper_over, +1, "cage footprint")
    dl, gaps_l = seat(site.lower, site.lower_over, -1, "cage footprint")
    upper, lower = shifted(site.upper, -du), shifted(site.lower, +dl)
    sag0, cor0 = field_angles(upper, lower, region)
    for target, name, bound in ((target_sagittal_deg, "target_sagittal_deg", 30.0),
                                (target_coronal_deg, "target_coronal_deg", 15.0)):
        if target is not None and not -bound <= target <= bound:
            raise ParameterError(f"{name} = {target}: allowed -{bound} to {bound} deg")
    # planned correction: rotate the upper field about the hinge until the plane fit hits the target
    if target_sagittal_deg is not None and abs(target_sagittal_deg - sag0) > 1e-6:
        xh = float(g.outline[:, 0].min())
        hinge = (xh, float(upper(np.array(xh), np.array(0.0))))
        upper = _corrected(upper, lower, region, 1, hinge, target_sagittal_deg, target_sagittal_deg - sag0)
    if target_coronal_deg is not None and abs(target_coronal_deg - field_angles(upper, lower, region)[1]) > 1e-6:
        now = field_angles(upper, lower, region)[1]
        yh = float(g.outline[:, 1].min() if target_coronal_deg > now else g.outline[:, 1].max())
        hinge = (yh, float(upper(np.array(0.0), np.array(yh))))
        upper = _corrected(upper, lower, region, 0, hinge, target_coronal_deg, target_coronal_deg - now)
    sag_t, cor_t = field_angles(upper, lower, region)
    info = {"kind": "congruent",
            "seat_shift_mm": {"superior": round(du, 4), "inferior": round(dl, 4)},
            "fit_gap_p95_mm": {"superior": round(float(np.percentile(gaps_u, 95)), 4),
                               "inferior": round(float(np.percentile(gaps_l, 95)), 4)}}
    implant = build_cage(anat, p, g, centre, frame, upper, lower, region, (sag0, cor0),
                         (target_sagittal_deg, target_coronal_deg), (sag_t, cor_t), info, started)
    return replace(implant, inputs=disc_inputs(_source(upper_mesh_or_path), lower_mesh_or_path, axes, margin_mm,
                                               target_sagittal_deg=target_sagittal_deg,
                                               target_coronal_deg=target_coronal_deg))


def _source(upper: Any) -> Any:
    """What :func:`~.inputs.disc_inputs` records for the first argument of a cage builder."""
    return upper.anat if isinstance(upper, CageSite) else upper


def _corrected(upper: Field, lower: Field, region: np.ndarray, axis: int, hinge: tuple[float, float],
               target_deg: float, delta_deg: float) -> Field:
    """``upper`` rotated about the hinge (:func:`_rotated`) until the sagittal (``axis`` 1) or
    coronal (``axis`` 0) angle to ``lower`` over ``region`` is ``target_deg``, starting at ``delta_deg``."""
    angle = 0 if axis == 1 else 1
    for _ in range(4):
        rotated = _rotated(upper, axis, hinge, delta_deg)
        delta_deg += target_deg - field_angles(rotated, lower, region)[angle]
    return _rotated(upper, axis, hinge, delta_deg)


def flat_cage(upper_mesh_or_path: Any, lower_mesh_or_path: Any = None, params: CageParams | None = None, *,
              axes: str | np.ndarray = "ALS", margin_mm: float = 2.0) -> Implant:
    """A serial-style cage of the same footprint: planar faces = least-squares planes of the
    endplate fields over the footprint, each shifted to touch the bone without penetrating
    (arguments as :func:`congruent_cage`)."""
    started = time.perf_counter()
    site = cage_site(upper_mesh_or_path, lower_mesh_or_path, params, axes, margin_mm)
    anat, p, g, centre, frame, region = site.anat, site.params, site.geometry, site.centre, site.frame, site.region
    fu, fl = site.upper, site.lower
    planes = []
    for field, over, sign in ((fu, site.upper_over, +1), (fl, site.lower_over, -1)):
        plane = PlaneField(*map(float, plane_fit(field, region)))
        depth, _ = seat(plane, over, sign, "cage footprint")
        planes.append(plane.shifted(-sign * depth))
    upper, lower = planes
    sag0, cor0 = field_angles(fu, fl, region)
    info = {"kind": "flat"}
    implant = build_cage(anat, p, g, centre, frame, upper, lower, region, (sag0, cor0), (None, None),
                         field_angles(upper, lower, region), info, started)
    return replace(implant, inputs=disc_inputs(_source(upper_mesh_or_path), lower_mesh_or_path, axes, margin_mm))


def measure_contact(upper: Any, lower: Any = None, params: CageParams | None = None,
                    tolerance_mm: float = CONTACT_TOLERANCE_MM,
                    *, axes: str | np.ndarray = "ALS", margin_mm: float = 2.0) -> Comparison:
    """Build the congruent and the flat cage of the same footprint and measure their contact."""
    if not 0.0 < tolerance_mm <= 5.0:
        raise ParameterError(f"tolerance_mm = {tolerance_mm}: allowed 0 to 5 mm")
    anat = upper if isinstance(upper, Anatomy) else anatomy(upper, lower, axes, margin_mm)
    if params is None:
        params = default_params(anat.disc)
    site = cage_site(anat, None, params, axes, margin_mm)
    congruent, flat = congruent_cage(site), flat_cage(site)
    return Comparison(anat, cage_contact(congruent, anat, tolerance_mm), cage_contact(flat, anat, tolerance_mm),
                      tolerance_mm, site.frame)


def compare_contact(upper: Any, lower: Any = None, params: CageParams | None = None,
                    tolerance_mm: float = CONTACT_TOLERANCE_MM,
                    *, axes: str | np.ndarray = "ALS", margin_mm: float = 2.0) -> dict:
    """JSON-ready comparison of the congruent and the flat cage (see :class:`~.cage_contact.Comparison`)."""
    return measure_contact(upper, lower, params, tolerance_mm, axes=axes, margin_mm=margin_mm).to_json()


def contact_map_png(comparison: Comparison, path: str | Path) -> Path:
    """Top view (cage frame, anterior up) of where each cage's bearing faces touch bone:
    rows congruent / flat, columns upper vertebra (superior face) / lower vertebra (inferior face)."""
    import matplotlib  # only this picture needs matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    fig, axes = plt.subplots(2, 2, figsize=(10, 10 * 0.95))
    disc = comparison.anatomy.disc
    centre = comparison.frame.to_local(disc.frame.origin[None])[0, :2]
    for row, (name, cage) in enumerate((("congruent", comparison.congruent), ("flat", comparison.flat))):
        local = comparison.frame.to_local(cage.mesh.vertices)
        for col, side in enumerate(("superior", "inferior")):
            ax = axes[row, col]
            mask = cage.masks[side]
            tris = local[cage.mesh.faces[mask]][:, :, :2]
            frac = cage.results[side].triangle_area_mm2[mask] / np.maximum(cage.mesh.area_faces[mask], 1e-12)
            # plot with anterior (+x) up and patient-left (+y) to the left: (u, v) = (-y, x)
            polys = tris[:, :, ::-1] * [-1, 1]
            ax.add_collection(PolyCollection(polys, array=np.clip(frac, 0, 1), cmap="RdYlGn", clim=(0, 1),
                                             edgecolors="none"))
            foot = disc.footprint - centre
            ax.plot(np.append(-foot[:, 1], -foot[0, 1]), np.append(foot[:, 0], foot[0, 0]), "k--", lw=0.8,
                    label="usable footprint")
            f = cage.figures[side]
            ax.set_title(f"{name}, {side} face: {f['contact_area_mm2']:.0f} mm² "
                         f"({f['pct_footprint']:.0f} % of footprint)", fontsize=10)
            ax.set_aspect("equal")
            ax.autoscale_view()
            ax.set_xlabel("← patient left   (mm)   patient right →")
            ax.set_ylabel("anterior ↑ x (mm)")
    fig.suptitle(f"Contact within {comparison.tolerance_mm} mm (green) — not a medical device", fontsize=11)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    target = Path(path)
    return write_files(target.parent, {target.name: buffer.getvalue()})[target.name]
