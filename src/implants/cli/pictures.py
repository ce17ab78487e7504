"""``implants render`` and ``implants gallery`` (layer: cli): PNG pictures of implant types and
mesh files, and the offline static gallery. The renderer (VTK) and the CAD kernel are imported
inside the verbs, so that ``implants --help`` loads neither."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ParameterError
from ..registry import get, type_ids
from .inputs import parse_assignments
from .output import busy, console, new_table

#: Extensions that make ``implants render`` read its target as a mesh file, not a type id.
MESH_SUFFIXES = (".stl", ".3mf", ".obj", ".ply", ".glb", ".gltf", ".off")


def render(
    target: str = typer.Argument(..., metavar="TYPE|FILE", help="Implant type id or a mesh file (STL, 3MF, OBJ, PLY, GLB)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Named preset (types only)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Parameter override key=value (repeatable)."),
    view: Optional[str] = typer.Option(None, "--view", help="anterior, lateral, superior, iso, posterior-iso or "
                                       "all (default: iso; with --scene, the view the scene's rule names)."),
    highlight: bool = typer.Option(False, "--highlight", help="Colour contact faces, draw screw/guide axes."),
    scene: bool = typer.Option(False, "--scene", help="Render the in-situ scene (implant on the real vertebrae it fits) instead."),
    width: int = typer.Option(800, "--width", help="Picture width (pixels)."),
    height: int = typer.Option(600, "--height", help="Picture height (pixels)."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file, or a folder for one PNG per view."),
) -> None:
    """Render a PNG of an implant type or a mesh file (headless, orthographic, scale bar in mm)."""
    from ..render import pictures

    size = (width, height)
    path = Path(target)
    if target not in type_ids() and (path.suffix.lower() in MESH_SUFFIXES or path.exists()):
        if preset or set_ or scene:
            raise ParameterError("--preset, --set and --scene apply to implant types, not to mesh files")
        stats = pictures.render_file(path, out, view=view or "iso", size=size)
    else:
        template = get(target)
        params = template.make_params(preset, **parse_assignments(set_))
        implant = template.make(params, preset)
        if scene:
            from ..render.scenes import scene_items

            layout, _, items, axes, bones = scene_items(implant, highlight=highlight)
            view = view or layout.view
            views = ["sheet"] if view == "all" and out.suffix.lower() == ".png" else pictures.view_list(view)
            stats = pictures.RenderStats()
            for name in views:
                target_png = out if out.suffix.lower() == ".png" else out / f"{target}_scene_{name}.png"
                pictures.render_items(bones + items, target_png, view=name, axes=axes, size=size,
                                      title=f"{target} in situ")
                stats.paths.append(target_png)
            if layout.note:
                console.print(f"scene: {layout.note}")
        else:
            stats = pictures.render_implant(implant, out, view=view or "iso", highlight=highlight, size=size)
    for png in stats.paths:
        console.print(f"  {png}")


def gallery(
    out: Path = typer.Option(Path("site"), "--out", "-o", help="Output folder of the static site."),
    types: Optional[str] = typer.Option(None, "--types", help="Comma-separated type ids (default: all)."),
) -> None:
    """Write an offline static gallery: every type's picture, 3D scene viewer, parameters and downloads."""
    from ..render.gallery import build_gallery, site_size_bytes

    chosen = [t.strip() for t in types.split(",") if t.strip()] if types else type_ids()
    for type_id in chosen:
        get(type_id)  # unknown ids → ParameterError before building anything
    with busy("building the gallery…"):
        entries = build_gallery(out, chosen)
    table = new_table(f"Gallery in {out}/ ({site_size_bytes(out) / 1e6:.1f} MB)",
                      ("type", "seconds", "scene", "status"))
    for e in entries:
        table.add_row(e.type_id, f"{e.seconds:.1f}", e.note, "ok" if not e.error else f"FAILED: {e.error}")
    console.print(table)
    console.print(f"  {out / 'index.html'}")
    if any(e.error for e in entries):
        raise typer.Exit(4)
