"""Generate the packaged occiput ``C0`` (``src/implants/anatomy/data/C0.npz``) from published dimensions.

Developer tool, not part of the product: run it when the model or the packaged C1 changes::

    .venv/bin/python tools/generate_occiput.py

No permissively licensed skull of the cervical set's subject exists (the ArtiSynth dynjaw model,
artisynth/artisynth_models@bcda2050, has ``cranium.obj``: an open 538-vertex vault above z = 90 mm,
and ``maxilla.obj``: an open surface of 76 pieces, with no occipital bone), so the skull base is a
smooth implicit model: a signed distance field (negative inside) sampled on a 0.5 mm grid, meshed
by marching cubes (scikit-image), simplified by manifold3d and written in the frame of the
packaged cervical set (patient frame, mm). Its parts, smoothly united:

* the **posterior cranial base**: a 6 mm shell of an ellipsoid whose bottom is the foramen-magnum
  plane, cropped to the occipital squama below the inion and in front to the condyles;
* a 9 mm **plate** around the foramen magnum, through which the **foramen magnum** (an ellipse of
  the published length × width) is cut with rounded margins;
* the **clivus**: a wedge rising anterosuperiorly from the basion at the published angle to the
  foramen-magnum plane, as long and as wide as published, 6 mm thick at the basion and 13 mm at its apex;
* the **condyles**: ellipsoids of the published length and width whose long axes follow C1's
  superior facets (:func:`implants.anatomy.occiput.c1_superior_facets`); each is carved by C1
  grown by :data:`~implants.anatomy.occiput.CONDYLE_GAP_MM`, so its articular surface is the
  facet's own shape, resting on it.

The foramen magnum's centre lies in the mid-sagittal plane, behind the condyles' centres, at the
height that leaves the published basion–dens interval above the tip of the packaged C2's dens.
"""

from __future__ import annotations

import sys
from pathlib import Path

import manifold3d
import numpy as np
import trimesh
from scipy.interpolate import RegularGridInterpolator
from skimage.measure import marching_cubes

from implants.anatomy.occiput import CONDYLE_GAP_MM, DIMENSIONS, c1_superior_facets
from implants.anatomy.packaged import load

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "implants" / "anatomy" / "data" / "C0.npz"
GRID_MM = 0.5
SMOOTH_MM = 4.0          # blending radius of the smooth unions
SHELL_MM = 6.0           # thickness of the occipital squama
PLATE_HALF_MM = 4.5      # half thickness of the plate around the foramen magnum
CLIVUS_APEX_MM = 13.0    # thickness of the clivus at its apex (wedge from the basion)
CONDYLE_HEIGHT_MM = 10.0  # condyle, articular surface to its base (design value)
CONDYLE_BEHIND_FM_MM = 7.0  # foramen-magnum centre behind the condyle centres (condyles flank its anterior half)


def dim(name: str) -> float:
    return DIMENSIONS[name].value


def smin(a, b, k=SMOOTH_MM):
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1 - h)


def smax(a, b, k=SMOOTH_MM):
    return -smin(-a, -b, k)


def ellipsoid(p, centre, radii, axes=np.eye(3)):
    """Approximate signed distance to an ellipsoid (exact zero set); ``axes`` rows are its axes."""
    q = (p - centre) @ axes.T
    k0 = np.linalg.norm(q / radii, axis=-1)
    k1 = np.linalg.norm(q / radii**2, axis=-1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def frame_of_foramen(facets, dens_tip):
    """Foramen-magnum centre in the patient frame: mid-sagittal, CONDYLE_BEHIND_FM_MM behind the condyle
    centres, the basion at the published basion–dens interval above the dens tip (horizontal plane)."""
    condyle_x = np.mean([f.centroid[0] for f in facets.values()])
    centre_x = condyle_x - CONDYLE_BEHIND_FM_MM
    basion_x = centre_x + dim("foramen_magnum_length") / 2
    rise = np.sqrt(max(dim("basion_dens_interval") ** 2 - (basion_x - dens_tip[0]) ** 2, 0.0))
    return np.array([centre_x, 0.0, dens_tip[2] + rise])


def occiput_field(p, origin, facets, c1_distance):
    """Signed distance (mm, negative inside) of the skull base at patient-frame points ``p``."""
    x, y, z = (p - origin).T
    half_l, half_w = dim("foramen_magnum_length") / 2, dim("foramen_magnum_width") / 2
    # posterior cranial base: ellipsoid shell, bottom on the foramen-magnum plane, cropped to a rounded
    # outline behind the condyles and below the inion
    centre = np.array([2.0, 0.0, 60.0])  # mid-surface 1 mm above the foramen plane at its lowest
    shell = np.abs(ellipsoid(p - origin, centre, np.array([62.0, 56.0, 59.0]))) - SHELL_MM / 2
    outline = ellipsoid(p - origin, np.array([-22.0, 0.0, 30.0]), np.array([58.0, 46.0, 80.0]))
    shell = smax(smax(shell, outline, 6.0), z - 48.0, 6.0)
    inion = ellipsoid(p - origin, np.array([-59.0, 0.0, 36.0]), np.array([6.0, 14.0, 8.0]))  # external protuberance
    shell = smin(shell, inion, 3.0)
    plate = ellipsoid(p - origin, np.array([-1.0, 0.0, 1.0]), np.array([half_l + 7.0, half_w + 14.0, PLATE_HALF_MM]))
    bone = smin(shell, plate)
    # clivus: wedge from the basion along the published angle, tapering from 24 mm to 18 mm wide,
    # its edges rounded by smooth maxima
    angle = np.radians(dim("clivus_to_foramen_plane"))
    along, out = np.array([np.cos(angle), np.sin(angle)]), np.array([np.sin(angle), -np.cos(angle)])
    rel = np.stack([x - half_l, z], axis=-1)
    t = rel @ along
    depth = rel @ out                                         # anterior-inferior of the endocranial surface
    length = dim("clivus_length")
    thickness = CLIVUS_APEX_MM * np.clip(0.45 + t / length, 0.45, 1.0)
    half_width = dim("clivus_width") / 2 * (1.0 - 0.25 * np.clip(t / length, 0.0, 1.0))
    clivus = smax(smax(t - length, -depth - 1.0, 3.0), smax(depth - thickness, np.abs(y) - half_width, 3.0), 3.0)
    bone = smin(bone, smax(clivus, -t - 4.0, 3.0), 5.0)
    # condyles on C1's facets
    for facet in facets.values():
        axes = np.stack([facet.long_axis, np.cross(facet.normal, facet.long_axis), facet.normal])
        radii = np.array([dim("condyle_length") / 2, dim("condyle_width") / 2, CONDYLE_HEIGHT_MM / 2])
        condyle = ellipsoid(p, facet.centroid + facet.normal * (radii[2] - 1.5), radii, axes)
        bone = smin(bone, condyle, 3.0)
    bone = smax(bone, -(c1_distance(p) - CONDYLE_GAP_MM), 0.3)  # rest on C1, never into it
    # foramen magnum: elliptical hole through the base, rounded margins
    hole = (np.sqrt((x / half_l) ** 2 + (y / half_w) ** 2) - 1.0) * min(half_l, half_w)
    return smax(bone, -hole, 1.5)


def c1_distance_field(c1, facets, origin):
    """Signed distance to C1 (positive outside), sampled at 1 mm where C1 meets the skull base, else 1 m."""
    lo = np.array([c1.bounds[0][0], c1.bounds[0][1], origin[2] - 20.0])
    hi = np.array([c1.bounds[1][0], c1.bounds[1][1], c1.bounds[1][2] + 2.0])
    axes = [np.arange(a, b + 1.0, 1.0) for a, b in zip(lo, hi)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = -trimesh.proximity.signed_distance(c1, grid)  # trimesh: positive inside
    interpolate = RegularGridInterpolator(axes, inside.reshape([len(a) for a in axes]), bounds_error=False,
                                          fill_value=1e3)
    return interpolate


def build():
    c1, c2 = load("C1"), load("C2")
    facets = c1_superior_facets(c1)
    dens_tip = c2.vertices[np.argmax(c2.vertices[:, 2])]
    origin = frame_of_foramen(facets, dens_tip)
    c1_distance = c1_distance_field(c1, facets, origin)
    lo = origin + np.array([-80.0, -70.0, -22.0])
    hi = origin + np.array([60.0, 70.0, 52.0])
    axes = [np.arange(a, b + GRID_MM, GRID_MM) for a, b in zip(lo, hi)]
    field = np.empty([len(a) for a in axes], np.float32)
    for i, x in enumerate(axes[0]):  # one x slice at a time keeps the memory small
        slab = np.stack(np.meshgrid([x], axes[1], axes[2], indexing="ij"), axis=-1).reshape(-1, 3)
        field[i] = occiput_field(slab, origin, facets, c1_distance).reshape(len(axes[1]), len(axes[2]))
    verts, faces, _, _ = marching_cubes(field, 0.0, spacing=(GRID_MM,) * 3)
    verts += lo
    solid = manifold3d.Manifold(manifold3d.Mesh(verts.astype(np.float32), faces.astype(np.uint32)))
    pieces = solid.decompose()
    solid = max(pieces, key=lambda m: m.volume()).simplify(0.04)
    out = solid.to_mesh()
    mesh = trimesh.Trimesh(np.asarray(out.vert_properties[:, :3], float), np.asarray(out.tri_verts), process=True)
    angle = np.radians(dim("clivus_to_foramen_plane"))
    basion = origin + [dim("foramen_magnum_length") / 2, 0, 0]
    marks = {"foramen_centre": origin, "foramen_normal": np.array([0.0, 0.0, 1.0]),
             "foramen_anterior": np.array([1.0, 0.0, 0.0]), "basion": basion,
             "opisthion": origin - [dim("foramen_magnum_length") / 2, 0, 0],
             "clivus_apex": basion + dim("clivus_length") * np.array([np.cos(angle), 0.0, np.sin(angle)]),
             "condyle_contact_left": facets["left"].centroid, "condyle_contact_right": facets["right"].centroid}
    return mesh, marks, len(pieces), facets


def main() -> None:
    mesh, marks, pieces, facets = build()
    np.savez_compressed(OUT, vertices=np.asarray(mesh.vertices, np.float32), faces=np.asarray(mesh.faces, np.int32),
                        landmark_names=np.array(list(marks)), landmarks=np.array(list(marks.values()), np.float64))
    print(f"C0: {len(mesh.faces)} triangles, {mesh.volume / 1000:.1f} cm3, watertight {mesh.is_watertight}, "
          f"bodies {mesh.body_count} (marching cubes gave {pieces}), bounds {np.round(mesh.bounds, 1).tolist()}")
    for side, facet in facets.items():
        print(f"C1 {side} facet {facet.length_mm:.1f} x {facet.width_mm:.1f} mm, axis {facet.axis_angle_deg:.1f} deg")


if __name__ == "__main__":
    main()
    sys.exit(0)
