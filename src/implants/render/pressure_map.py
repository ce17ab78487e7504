"""Pictures of endplate contact pressure (layer: render): a top-view pressure map (PNG, colour
bar in MPa, endplate outline, centre of pressure) of one or several bearing faces side by side on
one colour scale, and a coloured GLB of the implant (pressure on its bearing springs) with the bone.

Views look along the load axis with anterior up and the patient's left on the left (the plane
basis of :func:`implants.checks.axial_gaps.plane_basis`: u anterior, v left; drawn at (−v, u)).
Unloaded bearing triangles are light grey. matplotlib is imported inside the functions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh

from ..anatomy.endplates import extract_endplate
from ..checks.pressure import FacePressure
from ..errors import ParameterError
from .items import BONE_COLOUR, IMPLANT_COLOUR

#: Colour map of the pressure (perceptually uniform, readable in grey print).
COLOUR_MAP = "inferno"
UNLOADED_GREY = "#d9d9d9"


@dataclass(frozen=True, eq=False)
class Panel:
    """One map: a title, the face's pressure and the endplate rim it bears on (N, 3, or None)."""

    title: str
    face: FacePressure
    outline: np.ndarray | None = None


def endplate_outline(bone: trimesh.Trimesh, face: FacePressure) -> np.ndarray | None:
    """The rim (N, 3) of the bone's endplate facing ``face`` (the superior endplate under an
    inferior face), or None when the bone has no recognisable vertebral endplate."""
    try:
        return extract_endplate(bone, "superior" if face.face == "inferior" else "inferior").outline
    except ParameterError:
        return None


def _plane(face: FacePressure, points: np.ndarray) -> np.ndarray:
    """Drawing coordinates (x = −left, y = anterior) of 3-D points (…, 3)."""
    uv = points @ face.basis.T
    return np.stack([-uv[..., 1], uv[..., 0]], axis=-1)


def pressure_map_png(panels: Sequence[Panel], title: str, vmax_mpa: float | None = None, columns: int = 2,
                     dpi: int = 110) -> bytes:
    """PNG of the panels on one colour scale (0 to ``vmax_mpa``, default the highest peak)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    if not panels:
        raise ParameterError("pressure map: no faces to draw")
    vmax = vmax_mpa if vmax_mpa is not None else max(p.face.peak_mpa for p in panels)
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns + 1.2, 4.4 * rows + 1.0), squeeze=False,
                             layout="constrained")
    cmap = matplotlib.colormaps[COLOUR_MAP].with_extremes(under=UNLOADED_GREY)
    image = None
    for ax, panel in zip(axes.ravel(), panels):
        face, f = panel.face, panel.face.figures
        image = PolyCollection(_plane(face, face.triangles), array=np.where(face.pressure_mpa > 0,
                               face.pressure_mpa, -1.0), cmap=cmap, clim=(1e-9, vmax), edgecolors="face",
                               linewidths=0.05)
        ax.add_collection(image)
        if panel.outline is not None:
            rim = _plane(face, np.vstack([panel.outline, panel.outline[:1]]))
            ax.plot(rim[:, 0], rim[:, 1], "k--", lw=0.9, label="endplate rim")
        cop = _plane(face, np.asarray(f["centre_of_pressure_mm"], float))
        ax.plot(*cop, marker="+", color="#00a0ff", ms=14, mew=2.2, ls="none", label="centre of pressure")
        ax.set_title(f"{panel.title}\npeak {f['peak_mpa']:.2f}, p95 {f['p95_mpa']:.2f}, mean {f['mean_mpa']:.2f} MPa\n"
                     f"loaded {f['loaded_area_mm2']:.0f} mm² ({f['pct_loaded']:.0f} %), rim share "
                     f"{100 * f['rim_share']:.0f} %", fontsize=9)
        ax.set_aspect("equal")
        ax.autoscale_view()
        ax.set_xlabel("← patient left   (mm)   patient right →", fontsize=8)
        ax.set_ylabel("anterior ↑ (mm)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
    bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, extend="min")
    bar.set_label("contact pressure (MPa); grey: bearing face not touching", fontsize=9)
    fig.suptitle(f"{title}\nelastic-foundation model, not a medical device", fontsize=11)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def pressure_glb(implant: trimesh.Trimesh, faces: Sequence[FacePressure], bones: Sequence[trimesh.Trimesh] = (),
                 vmax_mpa: float | None = None) -> bytes:
    """Binary glTF (mm): the implant in grey with its bearing springs coloured by pressure (same
    colour map as the PNG, unloaded grey), and the bones in ivory."""
    import matplotlib

    cmap = matplotlib.colormaps[COLOUR_MAP]
    vmax = vmax_mpa if vmax_mpa is not None else max(face.peak_mpa for face in faces)
    scene = trimesh.Scene()
    replaced = np.zeros(len(implant.faces), dtype=bool)
    for face in faces:
        replaced[face.parent] = True
        n = len(face.triangles)
        rgba = np.where((face.pressure_mpa > 0)[:, None], cmap(np.clip(face.pressure_mpa / vmax, 0, 1)),
                        matplotlib.colors.to_rgba(UNLOADED_GREY))
        springs = trimesh.Trimesh(face.triangles.reshape(-1, 3), np.arange(3 * n).reshape(-1, 3), process=False)
        springs.visual = trimesh.visual.ColorVisuals(springs, vertex_colors=np.repeat(
            np.round(255 * rgba).astype(np.uint8), 3, axis=0))
        scene.add_geometry(springs, node_name=f"pressure.{face.face}", geom_name=f"pressure.{face.face}")
    rest = trimesh.Trimesh(implant.vertices, np.asarray(implant.faces)[~replaced], process=False)
    rest.visual.face_colors = [int(255 * c) for c in IMPLANT_COLOUR] + [255]
    scene.add_geometry(rest, node_name="implant", geom_name="implant")
    for i, bone in enumerate(bones):
        plain = trimesh.Trimesh(bone.vertices, bone.faces, process=False)
        plain.visual.face_colors = [int(255 * c) for c in BONE_COLOUR] + [255]
        scene.add_geometry(plain, node_name=f"bone.{i + 1}", geom_name=f"bone.{i + 1}")
    return trimesh.exchange.gltf.export_glb(scene, include_normals=False)
