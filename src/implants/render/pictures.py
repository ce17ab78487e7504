"""Headless PNG pictures of implants and meshes, rendered off-screen with VTK (layer: render).

A picture is one view, or the four standard views on a 2×2 sheet, each viewport with an
orthographic camera (:mod:`implants.render.views`), the same light kit, a scale bar of a round
number of mm, a title and a small "not a medical device" caption. What is drawn (mesh items,
highlighted contact faces, screw/guide axes) comes from :mod:`implants.render.items`, the VTK
actors from :mod:`implants.render.actors`.

VTK is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..checks.meshfile import read_mesh
from ..errors import ExportError, ParameterError
from .actors import add_lights, add_text, axis_actor, mesh_actor
from .items import IMPLANT_COLOUR, Axis, MeshItem, implant_items
from .views import SHEET_VIEWPORTS, VIEW_NAMES, aim_camera, check_view, scene_bounds, view_list

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant
    from ..writers.tessellate import Tessellation

#: the picture API; ``VIEW_NAMES``, ``MeshItem`` and ``implant_items`` are re-exported from
#: :mod:`~implants.render.views` and :mod:`~implants.render.items` for the callers of pictures
__all__ = ["DEFAULT_SIZE", "VIEW_NAMES", "MeshItem", "RenderStats", "implant_items", "implant_png", "nice_length",
           "picture_for_manifest", "png_pixels", "render_file", "render_implant", "render_items", "render_meshes",
           "view_list"]

BACKGROUND = (1.0, 1.0, 1.0)
BACKGROUND_TOP = (0.86, 0.89, 0.93)
#: picture size (pixels) of one view; the sheet of all views is twice as wide and high
DEFAULT_SIZE = (800, 600)
CAPTION = "Not a medical device"  # short form of implants.params.NOT_A_MEDICAL_DEVICE


@dataclass
class RenderStats:
    """What a render produced: files and seconds per view."""

    paths: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------- one viewport


def nice_length(target: float) -> float:
    """The largest 1-2-5 × 10^k length not above ``target`` (mm)."""
    if target <= 0:
        return 1.0
    exponent = math.floor(math.log10(target))
    for step in (5.0, 2.0, 1.0):
        value = step * 10.0 ** exponent
        if value <= target:
            return value
    return 10.0 ** exponent


def _scale_bar(renderer, width_px: int, height_px: int, parallel_scale: float, viewport: Sequence[float]) -> float:
    """A bar of a round number of mm (about a quarter of the viewport width) in the lower-left
    corner of the viewport, and its label; returns its length (mm)."""
    import vtk

    vp_w = width_px * (viewport[2] - viewport[0])
    vp_h = height_px * (viewport[3] - viewport[1])
    mm_per_px = 2.0 * parallel_scale / vp_h
    length_mm = nice_length(0.25 * vp_w * mm_per_px)
    length_px = length_mm / mm_per_px
    x0, y0 = 0.05 * vp_w, 0.06 * vp_h
    points = vtk.vtkPoints()
    for x, y in ((x0, y0), (x0 + length_px, y0), (x0, y0 - 4), (x0, y0 + 4),
                 (x0 + length_px, y0 - 4), (x0 + length_px, y0 + 4)):
        points.InsertNextPoint(x, y, 0)
    lines = vtk.vtkCellArray()
    for a, b in ((0, 1), (2, 3), (4, 5)):
        lines.InsertNextCell(2)
        lines.InsertCellPoint(a)
        lines.InsertCellPoint(b)
    poly = vtk.vtkPolyData()
    poly.SetPoints(points)
    poly.SetLines(lines)
    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    bar = vtk.vtkActor2D()
    bar.SetMapper(mapper)
    bar.GetProperty().SetColor(0.1, 0.1, 0.1)
    bar.GetProperty().SetLineWidth(2.0)
    renderer.AddViewProp(bar)
    add_text(renderer, f"{length_mm:g} mm", int(x0), int(y0 + 7), max(10, int(vp_h / 32)), colour=(0.1, 0.1, 0.1))
    return length_mm


def _renderer(items, axes, view, window_size, viewport, title: str | None, caption: bool, scale_bar: bool):
    """A ``vtkRenderer`` for one viewport (fractions of the window): gradient background, the
    actors, lights, camera from ``view``, scale bar, caption and the title (or the view name)."""
    import vtk

    renderer = vtk.vtkRenderer()
    renderer.SetViewport(*viewport)
    renderer.SetBackground(*BACKGROUND)
    renderer.SetBackground2(*BACKGROUND_TOP)
    renderer.GradientBackgroundOn()
    for item in items:
        renderer.AddActor(mesh_actor(item))
    for axis in axes:
        renderer.AddActor(axis_actor(axis))
    add_lights(renderer)
    w = window_size[0] * (viewport[2] - viewport[0])
    h = window_size[1] * (viewport[3] - viewport[1])
    scale = aim_camera(renderer, view, scene_bounds(items, axes), w / h)
    if scale_bar:
        _scale_bar(renderer, window_size[0], window_size[1], scale, viewport)
    font = max(9, int(h / 48))
    if caption:
        add_text(renderer, CAPTION, int(w - 6), 4, font, right=True)
    label = view if title is None else f"{title} ({view})"
    add_text(renderer, label, 8, int(h - font * 1.8), int(font * 1.3), colour=(0.15, 0.15, 0.15))
    return renderer


# ----------------------------------------------------------------------------- window and PNG


def _window(size: tuple[int, int]):
    """An off-screen ``vtkRenderWindow`` of ``size`` pixels (EGL when there is no display)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        # headless: go straight to EGL instead of failing on X first (and warning on stderr)
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import vtk

    window = vtk.vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(*size)
    window.SetMultiSamples(8)
    return window


def _write_png(window, path: Path) -> None:
    """The rendered window as the PNG ``path``; ExportError if nothing was written."""
    import vtk

    grab = vtk.vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.ReadFrontBufferOff()
    grab.Update()
    writer = vtk.vtkPNGWriter()
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.SetFileName(str(path))
    writer.SetInputConnection(grab.GetOutputPort())
    writer.Write()
    if not path.is_file() or path.stat().st_size == 0:
        raise ExportError(f"could not write the picture '{path}'")


def png_pixels(path: Path) -> np.ndarray:
    """An RGB(A) PNG as a uint8 array (rows top to bottom), read with VTK."""
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkPNGReader()
    reader.SetFileName(str(path))
    reader.Update()
    image = reader.GetOutput()
    w, h, _ = image.GetDimensions()
    scalars = image.GetPointData().GetScalars()
    if scalars is None:
        raise ExportError(f"'{path}' is not a readable PNG")
    array = vtk_to_numpy(scalars).reshape(h, w, -1)
    return array[::-1]


# ----------------------------------------------------------------------------- pictures


def render_items(items: Sequence[MeshItem], out: Path, view: str = "iso", axes: Sequence[Axis] = (),
                 size: tuple[int, int] = DEFAULT_SIZE, title: str | None = None, caption: bool = True,
                 scale_bar: bool = True) -> Path:
    """Render mesh items (and axes) from one view to the PNG ``out``.

    ``view="sheet"`` draws the four standard views in a 2×2 grid in one picture."""
    if view != "sheet":
        check_view(view)
    if not (64 <= size[0] <= 8192 and 64 <= size[1] <= 8192):
        raise ParameterError(f"picture size {size}: allowed 64 to 8192 pixels per side")
    out = Path(out)
    window = _window(size)
    try:
        if view == "sheet":
            for name, viewport in SHEET_VIEWPORTS.items():
                window.AddRenderer(_renderer(items, axes, name, size, viewport, title if name == "anterior" else None,
                                             caption and name == "iso", scale_bar))
        else:
            window.AddRenderer(_renderer(items, axes, view, size, (0, 0, 1, 1), title, caption, scale_bar))
        window.Render()
        _write_png(window, out)
    finally:
        window.Finalize()
    return out


def render_meshes(meshes: Iterable[tuple["trimesh.Trimesh", Sequence[float]]], out: Path, view: str = "iso",
                  size: tuple[int, int] = DEFAULT_SIZE, title: str | None = None,
                  axes: Sequence[Axis] = ()) -> Path:
    """Render a scene given as ``[(trimesh, rgb colour 0..1 or 0..255), ...]`` to the PNG ``out``."""
    items = []
    for mesh, colour in meshes:
        rgb = np.asarray(colour, float)[:3]
        if rgb.max() > 1.0:
            rgb = rgb / 255.0
        items.append(MeshItem(mesh, tuple(rgb)))
    return render_items(items, out, view=view, size=size, title=title, axes=axes)


def render_implant(implant: "Implant", out: Path, view: str = "iso", highlight: bool = False,
                   size: tuple[int, int] = DEFAULT_SIZE, tessellation: "Tessellation | None" = None) -> RenderStats:
    """Render an implant. ``out`` is a PNG for one view (or the 2×2 sheet when ``view="all"``
    and ``out`` ends in .png) or a folder that receives ``<type>_<view>.png`` per view.
    ``tessellation``: a mesh of the implant's shape already made (the export's), drawn instead of
    meshing the shape again."""
    items, axes = implant_items(implant, highlight, tessellation=tessellation)
    title = f"{implant.type_id}" + (f" · {implant.preset}" if implant.preset else "")
    return _render_views(items, axes, Path(out), view, size, title, implant.type_id)


def render_file(path: Path, out: Path, view: str = "iso", size: tuple[int, int] = DEFAULT_SIZE) -> RenderStats:
    """Render a mesh file (formats of :func:`implants.checks.meshfile.read_mesh`); ParameterError
    if it cannot be read."""
    mesh = read_mesh(path)
    return _render_views([MeshItem(mesh, IMPLANT_COLOUR)], [], Path(out), view, size, Path(path).name,
                         Path(path).stem)


def _render_views(items, axes, out: Path, view: str, size, title, stem) -> RenderStats:
    """The pictures of ``--view``: one PNG ``out`` (``all`` → the sheet, at twice the default
    size) or one ``<stem>_<view>.png`` per view in the folder ``out``."""
    stats = RenderStats()
    single_file = out.suffix.lower() == ".png"
    if view == "all" and single_file:
        views = ["sheet"]
        size = (size[0] * 2, size[1] * 2) if size == DEFAULT_SIZE else size
    else:
        views = view_list(view)
    for name in views:
        target = out if single_file else out / f"{stem}_{name}.png"
        start = time.perf_counter()
        render_items(items, target, view=name, axes=axes, size=size, title=title)
        stats.seconds[name] = round(time.perf_counter() - start, 3)
        stats.paths.append(target)
    return stats


def implant_png(implant: "Implant", tessellation: "Tessellation | None" = None) -> bytes:
    """PNG bytes of the implant (isometric view, features highlighted), rendered off-screen: the
    picture :func:`implants.pipeline.export` writes beside the files, drawn from the export's
    ``tessellation`` when it is given (no second meshing of the shape)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "picture.png"
        render_implant(implant, target, view="iso", highlight=True, tessellation=tessellation)
        return target.read_bytes()


def picture_for_manifest(implant: "Implant", out_dir: Path) -> Path:
    """Write ``<type>.png`` (iso view, features highlighted) into ``out_dir`` beside the model
    files and return its path; ``build``/``demo`` call this after exporting."""
    out_dir = Path(out_dir)
    target = out_dir / f"{implant.type_id}.png"
    render_implant(implant, target, view="iso", highlight=True)
    return target
