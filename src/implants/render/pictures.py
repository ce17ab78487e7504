"""Headless pictures of implants and meshes with VTK off-screen rendering.

Orthographic (parallel) cameras, so the scale bar in mm is exact; a light kit for the same
lighting in every picture; standard views in the patient frame (+x anterior, +y patient-left,
+z superior): ``anterior`` (looking from +x), ``lateral`` (from patient-left, +y, anterior
to the left), ``superior`` (from +z, anterior up) and ``iso`` (anterior-left-superior).
Optional highlighting colours the contact faces and draws screw/guide axes as thin
cylinders. A "not a medical device" caption sits small in a corner.

VTK is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from ..errors import ExportError, ParameterError

if TYPE_CHECKING:
    import trimesh

    from ..model import Implant

#: view name → (direction from the target to the camera, view-up)
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "anterior": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "lateral": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "superior": ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0)),
    "iso": ((1.0, 0.75, 0.6), (0.0, 0.0, 1.0)),
}
VIEW_NAMES = tuple(VIEWS)
#: extra views (not in ``--view all``): in-situ scenes of posterior implants are drawn from behind
VIEWS["posterior-iso"] = ((-1.0, 0.45, 0.5), (0.0, 0.0, 1.0))

#: RGB colours (0..1)
IMPLANT_COLOUR = (0.70, 0.74, 0.80)     # titanium grey-blue
PEEK_COLOUR = (0.85, 0.80, 0.66)        # PEEK beige
BONE_COLOUR = (0.93, 0.89, 0.78)        # bone ivory
CONTACT_COLOUR = (0.95, 0.55, 0.15)     # contact faces: orange
CHANNEL_COLOUR = (0.80, 0.10, 0.10)     # screw axes: red
GUIDE_COLOUR = (0.10, 0.45, 0.85)       # guide axes: blue
BACKGROUND = (1.0, 1.0, 1.0)
BACKGROUND_TOP = (0.86, 0.89, 0.93)

DEFAULT_SIZE = (800, 600)
CAPTION = "Not a medical device"  # short form of implants.params.NOT_A_MEDICAL_DEVICE
PICTURE_DEFLECTION_MM = 0.05


@dataclass
class Axis:
    """A line drawn as a thin cylinder (screw or guide axis): from ``start`` to ``end`` (mm)."""

    start: Sequence[float]
    end: Sequence[float]
    colour: tuple[float, float, float] = CHANNEL_COLOUR
    radius_mm: float = 0.4


@dataclass
class MeshItem:
    """A mesh to draw: one colour, or per-face colours (``face_colours`` N×3, 0..1)."""

    mesh: "trimesh.Trimesh"
    colour: tuple[float, float, float] = IMPLANT_COLOUR
    face_colours: np.ndarray | None = None
    opacity: float = 1.0


@dataclass
class RenderStats:
    """What a render produced: files and seconds per view."""

    paths: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------- meshes


def mesh_of_shape(shape: Any, deflection_mm: float = PICTURE_DEFLECTION_MM):
    """(trimesh, face_index or None) of a CadQuery shape, with the export pipeline's tessellation."""
    try:
        from ..writers.tessellate import tessellate
    except ImportError:  # pragma: no cover - the export pipeline is missing
        tessellate = None
    if tessellate is not None:
        tess = tessellate(shape, deflection_mm)
        return tess.mesh, np.asarray(tess.face_index)
    import trimesh

    vertices, triangles = shape.tessellate(deflection_mm, 0.2)
    mesh = trimesh.Trimesh(np.array([(v.x, v.y, v.z) for v in vertices]), np.asarray(triangles), process=True)
    return mesh, None


def colour_for(implant: "Implant") -> tuple[float, float, float]:
    material = getattr(getattr(implant.params, "material", None), "value", "")
    return PEEK_COLOUR if material == "peek" else IMPLANT_COLOUR


def implant_items(implant: "Implant", highlight: bool = False, transform: np.ndarray | None = None,
                  deflection_mm: float = PICTURE_DEFLECTION_MM) -> tuple[list[MeshItem], list[Axis]]:
    """Mesh items and feature axes of an implant (optionally moved by a 4×4 ``transform``)."""
    mesh, face_index = mesh_of_shape(implant.shape, deflection_mm)
    base = colour_for(implant)
    face_colours = None
    axes: list[Axis] = []
    if highlight:
        face_colours = np.tile(np.asarray(base, float), (len(mesh.faces), 1))
        if face_index is not None:
            from ..writers.tessellate import feature_mask

            for feature in implant.features.values():
                if feature.kind == "surface" and feature.faces and feature.name.startswith(("contact", "docking")):
                    try:
                        face_colours[feature_mask(_tess(mesh, face_index), implant.shape, feature)] = CONTACT_COLOUR
                    except Exception:  # a feature that cannot be mapped is drawn in the base colour
                        continue
        for feature in implant.features.values():
            if feature.kind != "channel" or feature.direction is None:
                continue
            if not feature.name.startswith(("screw", "guide", "channel", "k_wire", "wire")):
                continue
            length = max(feature.length_mm or 0.0, 20.0)
            origin = np.asarray(feature.origin)
            direction = np.asarray(feature.direction)
            colour = GUIDE_COLOUR if feature.name.startswith("guide") else CHANNEL_COLOUR
            axes.append(Axis(origin - 2.0 * direction, origin + length * direction, colour,
                             max(0.25, 0.12 * (feature.diameter_mm or 3.0))))
    if transform is not None:
        mesh = mesh.copy()
        mesh.apply_transform(transform)
        for axis in axes:
            axis.start = _apply(transform, axis.start)
            axis.end = _apply(transform, axis.end)
    return [MeshItem(mesh, base, face_colours)], axes


def _tess(mesh, face_index):
    from ..writers.tessellate import Tessellation

    return Tessellation(mesh=mesh, face_index=face_index, deflection_mm=PICTURE_DEFLECTION_MM)


def _apply(transform: np.ndarray, point: Sequence[float]) -> np.ndarray:
    p = np.append(np.asarray(point, float), 1.0)
    return (transform @ p)[:3]


def load_mesh_file(path: Path):
    """A mesh file (STL, 3MF, OBJ, PLY, GLB, OFF) as one trimesh; ParameterError if unreadable."""
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"mesh file '{path}' does not exist or is not a file")
    try:
        loaded = trimesh.load(str(path), force="mesh")
    except Exception as error:
        raise ParameterError(f"mesh file '{path}' cannot be read: {type(error).__name__}: {error}") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ParameterError(f"mesh file '{path}' holds no triangles")
    return loaded


# ----------------------------------------------------------------------------- VTK


def _polydata(item: MeshItem):
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    mesh = item.mesh
    points = vtk.vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(mesh.vertices, dtype=np.float64), deep=True))
    faces = np.asarray(mesh.faces, dtype=np.int64)
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cell_array = vtk.vtkCellArray()
    cell_array.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                       numpy_to_vtkIdTypeArray(np.ascontiguousarray(faces.ravel()), deep=True))
    poly = vtk.vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(cell_array)
    if item.face_colours is not None:
        rgb = np.clip(np.asarray(item.face_colours) * 255.0, 0, 255).astype(np.uint8)
        colours = numpy_to_vtk(np.ascontiguousarray(rgb), deep=True)
        colours.SetName("colours")
        poly.GetCellData().SetScalars(colours)
    # smooth shading on curved faces, crisp edges at sharp corners
    normals = vtk.vtkPolyDataNormals()
    normals.SetInputData(poly)
    normals.SetFeatureAngle(35.0)
    normals.SplittingOn()
    normals.ConsistencyOff()
    normals.AutoOrientNormalsOff()
    normals.Update()
    return normals.GetOutput()


def _mesh_actor(item: MeshItem):
    import vtk

    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputData(_polydata(item))
    if item.face_colours is not None:
        mapper.SetScalarModeToUseCellData()
        mapper.SetColorModeToDirectScalars()
        mapper.ScalarVisibilityOn()
    else:
        mapper.ScalarVisibilityOff()
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*item.colour)
    prop.SetAmbient(0.2)
    prop.SetDiffuse(0.8)
    prop.SetSpecular(0.25)
    prop.SetSpecularPower(30.0)
    prop.SetOpacity(item.opacity)
    return actor


def _axis_actor(axis: Axis):
    import vtk

    line = vtk.vtkLineSource()
    line.SetPoint1(*map(float, axis.start))
    line.SetPoint2(*map(float, axis.end))
    tube = vtk.vtkTubeFilter()
    tube.SetInputConnection(line.GetOutputPort())
    tube.SetRadius(axis.radius_mm)
    tube.SetNumberOfSides(16)
    tube.CappingOn()
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputConnection(tube.GetOutputPort())
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*axis.colour)
    actor.GetProperty().SetAmbient(0.3)
    return actor


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


def _scale_bar(renderer, width_px: int, height_px: int, parallel_scale: float, viewport: Sequence[float]):
    """A bar of a round number of mm in the lower-left corner of the viewport, and its label."""
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
    label = vtk.vtkTextActor()
    label.SetInput(f"{length_mm:g} mm")
    label.GetTextProperty().SetFontSize(max(10, int(vp_h / 32)))
    label.GetTextProperty().SetColor(0.1, 0.1, 0.1)
    label.GetPositionCoordinate().SetCoordinateSystemToViewport()
    label.SetPosition(int(x0), int(y0 + 7))
    renderer.AddViewProp(label)
    return length_mm


def _text(renderer, text: str, x: int, y: int, size: int, right: bool = False, colour=(0.35, 0.35, 0.35)):
    import vtk

    actor = vtk.vtkTextActor()
    actor.SetInput(text)
    prop = actor.GetTextProperty()
    prop.SetFontSize(size)
    prop.SetColor(*colour)
    if right:
        prop.SetJustificationToRight()
    actor.GetPositionCoordinate().SetCoordinateSystemToViewport()
    actor.SetPosition(x, y)
    renderer.AddViewProp(actor)


def _bounds(items: Sequence[MeshItem], axes: Sequence[Axis]) -> np.ndarray:
    points = [np.asarray(i.mesh.vertices) for i in items if len(i.mesh.vertices)]
    points += [np.asarray([a.start, a.end], float) for a in axes]
    if not points:
        raise ParameterError("nothing to render: no triangles")
    allp = np.concatenate(points)
    return np.array([allp.min(axis=0), allp.max(axis=0)])


def _camera(renderer, view: str, bounds: np.ndarray, aspect: float, margin: float = 1.12) -> float:
    """Orthographic camera looking at the bounding box from ``view``; returns the parallel scale."""
    direction, up = VIEWS[view]
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    u = np.asarray(up, float)
    u = u - d * (u @ d)
    u /= np.linalg.norm(u)
    right = np.cross(-d, u)
    centre = bounds.mean(axis=0)
    corners = np.array([[bounds[i, 0], bounds[j, 1], bounds[k, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    rel = corners - centre
    half_w = np.abs(rel @ right).max()
    half_h = np.abs(rel @ u).max()
    diag = float(np.linalg.norm(bounds[1] - bounds[0])) or 1.0
    camera = renderer.GetActiveCamera()
    camera.ParallelProjectionOn()
    camera.SetFocalPoint(*centre)
    camera.SetPosition(*(centre + d * 3.0 * diag))
    camera.SetViewUp(*u)
    scale = margin * max(half_h, half_w / aspect, 1.0)
    camera.SetParallelScale(scale)
    renderer.ResetCameraClippingRange()
    return scale


def _lights(renderer) -> None:
    import vtk

    kit = vtk.vtkLightKit()
    kit.SetKeyLightIntensity(0.85)
    kit.AddLightsToRenderer(renderer)


def _renderer(items, axes, view, window_size, viewport, title: str | None, caption: bool, scale_bar: bool):
    import vtk

    renderer = vtk.vtkRenderer()
    renderer.SetViewport(*viewport)
    renderer.SetBackground(*BACKGROUND)
    renderer.SetBackground2(*BACKGROUND_TOP)
    renderer.GradientBackgroundOn()
    for item in items:
        renderer.AddActor(_mesh_actor(item))
    for axis in axes:
        renderer.AddActor(_axis_actor(axis))
    _lights(renderer)
    w = window_size[0] * (viewport[2] - viewport[0])
    h = window_size[1] * (viewport[3] - viewport[1])
    scale = _camera(renderer, view, _bounds(items, axes), w / h)
    if scale_bar:
        _scale_bar(renderer, window_size[0], window_size[1], scale, viewport)
    font = max(9, int(h / 48))
    if caption:
        _text(renderer, CAPTION, int(w - 6), 4, font, right=True)
    label = view if title is None else f"{title} ({view})"
    _text(renderer, label, 8, int(h - font * 1.8), int(font * 1.3), colour=(0.15, 0.15, 0.15))
    return renderer


def _write_png(window, path: Path) -> None:
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


def _window(size: tuple[int, int]):
    import os

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        # headless: go straight to EGL instead of failing on X first (and warning on stderr)
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import vtk

    window = vtk.vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(*size)
    window.SetMultiSamples(8)
    return window


def render_items(items: Sequence[MeshItem], out: Path, view: str = "iso", axes: Sequence[Axis] = (),
                 size: tuple[int, int] = DEFAULT_SIZE, title: str | None = None, caption: bool = True,
                 scale_bar: bool = True) -> Path:
    """Render mesh items (and axes) from one view to the PNG ``out``.

    ``view="sheet"`` draws the four standard views in a 2×2 grid in one picture."""
    if view != "sheet" and view not in VIEWS:
        raise ParameterError(f"--view {view!r}: allowed {', '.join(VIEW_NAMES)}, all")
    if not (64 <= size[0] <= 8192 and 64 <= size[1] <= 8192):
        raise ParameterError(f"picture size {size}: allowed 64 to 8192 pixels per side")
    out = Path(out)
    window = _window(size)
    try:
        if view == "sheet":
            ports = {"anterior": (0, 0.5, 0.5, 1), "lateral": (0.5, 0.5, 1, 1), "superior": (0, 0, 0.5, 0.5),
                     "iso": (0.5, 0, 1, 0.5)}
            for name, viewport in ports.items():
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


def view_list(view: str) -> list[str]:
    if view in ("all", "sheet"):
        return list(VIEW_NAMES) if view == "all" else ["sheet"]
    if view not in VIEWS:
        raise ParameterError(f"--view {view!r}: allowed {', '.join(VIEW_NAMES)}, all")
    return [view]


def implant_png(implant: "Implant") -> bytes:
    """PNG bytes of the implant (isometric view, features highlighted), rendered off-screen: the
    picture :func:`implants.pipeline.export` writes beside the files."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "picture.png"
        render_implant(implant, target, view="iso", highlight=True)
        return target.read_bytes()


def render_implant(implant: "Implant", out: Path, view: str = "iso", highlight: bool = False,
                   size: tuple[int, int] = DEFAULT_SIZE) -> RenderStats:
    """Render an implant. ``out`` is a PNG for one view (or the 2×2 sheet when ``view="all"``
    and ``out`` ends in .png) or a folder that receives ``<type>_<view>.png`` per view."""
    items, axes = implant_items(implant, highlight)
    title = f"{implant.type_id}" + (f" · {implant.preset}" if implant.preset else "")
    return _render_views(items, axes, Path(out), view, size, title, implant.type_id)


def render_file(path: Path, out: Path, view: str = "iso", size: tuple[int, int] = DEFAULT_SIZE) -> RenderStats:
    """Render a mesh file (STL, 3MF, OBJ, PLY, GLB)."""
    mesh = load_mesh_file(path)
    return _render_views([MeshItem(mesh, IMPLANT_COLOUR)], [], Path(out), view, size, Path(path).name,
                         Path(path).stem)


def _render_views(items, axes, out: Path, view: str, size, title, stem) -> RenderStats:
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


def picture_for_manifest(implant: "Implant", out_dir: Path) -> Path:
    """Write ``<type>.png`` (iso view, features highlighted) into ``out_dir`` beside the model
    files and return its path; ``build``/``demo`` call this after exporting."""
    out_dir = Path(out_dir)
    target = out_dir / f"{implant.type_id}.png"
    render_implant(implant, target, view="iso", highlight=True)
    return target


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
