"""The ``implants`` command line (typer + rich).

Exit codes: 0 success, 2 usage error, 3 invalid parameters or input file, 4 build failed in
the CAD kernel, 5 checks failed, 6 export failed. User errors print one line to stderr and
never a traceback. The CAD kernel is imported only by verbs that build or read B-rep.
"""

from __future__ import annotations

import json
import sys
import tomllib
from contextlib import nullcontext
from functools import wraps
from pathlib import Path
from typing import Any, Callable, Optional

import typer
import yaml
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import EXIT_CODES, ImplantError, ParameterError
from .params import NOT_A_MEDICAL_DEVICE
from .registry import get, parameter_rows, templates

app = typer.Typer(
    name="implants",
    help=("Parametric patient-specific spinal implants: build, export (STEP, STL, 3MF, GLB) and check.\n\n"
          f"{NOT_A_MEDICAL_DEVICE}\n\nExit codes: "
          + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: "-1:+1:1" must not become an emoji
)
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True)


def user_errors(command: Callable) -> Callable:
    """Turn package errors into one line on stderr and the documented exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ImplantError as error:
            errors.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        console.print(f"spine-implants {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit.")) -> None:
    """Parametric patient-specific spinal implants. Not a medical device."""


def emit_json(data: Any) -> None:
    """Print JSON to stdout without rich markup."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command("list")
@user_errors
def list_types(as_json: bool = typer.Option(False, "--json", help="Output JSON.")) -> None:
    """List the implant types and their presets."""
    rows = [{"type": t.type_id, "title": t.title, "review": t.review_wording, "default_preset": t.default_preset,
             "presets": list(t.presets)} for t in templates()]
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Implant types")
    for column in ("type", "title", "presets (default first)"):
        table.add_column(column)
    for row in rows:
        presets = [row["default_preset"]] + [p for p in row["presets"] if p != row["default_preset"]]
        table.add_row(row["type"], row["title"], ", ".join(presets))
    console.print(table)


@app.command()
@user_errors
def show(type_id: str = typer.Argument(..., metavar="TYPE", help="Implant type id (see `implants list`)."),
         as_json: bool = typer.Option(False, "--json", help="Output the JSON Schema and presets.")) -> None:
    """Show a type's parameters (unit, default, range, description) and presets."""
    template = get(type_id)
    if as_json:
        emit_json({"type": template.type_id, "title": template.title, "description": template.description,
                   "schema": template.params.model_json_schema(), "presets": dict(template.presets),
                   "default_preset": template.default_preset})
        return
    console.print(f"[bold]{template.title}[/bold] ({template.type_id}): {template.description}")
    table = Table(title=f"Parameters of {type_id}")
    for column in ("name", "unit", "default", "range", "description"):
        table.add_column(column)
    for row in parameter_rows(type_id):
        table.add_row(*(str(row[k]) for k in ("name", "unit", "default", "range", "description")))
    console.print(table)
    console.print("Presets: " + ", ".join(template.presets) + f" (default {template.default_preset})")


def read_parameter_file(path: Path) -> dict[str, Any]:
    """Parameters from a YAML, JSON or TOML file (by extension); ParameterError if unreadable."""
    if not path.is_file():
        raise ParameterError(f"parameter file '{path}' does not exist or is not a file")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (ValueError, RecursionError, yaml.YAMLError) as error:  # RecursionError: absurdly deep nesting
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ParameterError(f"parameter file '{path}' is malformed: {first}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file '{path}' must hold a mapping of parameter: value")
    bad_keys = [key for key in data if not isinstance(key, str)]
    if bad_keys:
        raise ParameterError(f"parameter file '{path}': parameter names must be text, got {bad_keys[0]!r}")
    return data


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as YAML scalars (12 → int, 1.5 → float, true → bool)."""
    values = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--set expects key=value, got '{item}'")
        try:
            values[key.strip()] = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            values[key.strip()] = raw
    return values


FORMATS = ("step", "stl", "3mf", "glb")


def parse_formats(text: str) -> tuple[str, ...]:
    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ParameterError(f"--format {text!r}: allowed formats are {', '.join(FORMATS)}")
    return chosen


@app.command()
@user_errors
def build(
    type_id: str = typer.Argument(..., metavar="TYPE", help="Implant type id (see `implants list`)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Named preset (default: the type's default)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Parameter override key=value (repeatable)."),
    params_file: Optional[Path] = typer.Option(None, "--params", help="Parameter file (YAML, JSON or TOML)."),
    formats: str = typer.Option(",".join(FORMATS), "--format", help="Comma-separated formats: step,stl,3mf,glb."),
    deflection: Optional[float] = typer.Option(None, "--deflection", help="Absolute chord deflection of the mesh (mm)."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder."),
    picture: bool = typer.Option(True, "--picture/--no-picture", help="Write a PNG picture beside the files."),
    lattice: Optional[str] = typer.Option(None, "--lattice", help="Porous lattice type (gyroid, gyroid-skeletal, "
                                          "diamond, diamond-skeletal, cubic, bcc) in the meshes."),
    porosity: float = typer.Option(0.65, "--porosity", help="Lattice porosity (0.50-0.80)."),
    pore: float = typer.Option(0.5, "--pore", help="Lattice pore size (mm, 0.3-0.9)."),
    upper_vertebra: Optional[Path] = typer.Option(None, "--upper-vertebra", help="interbody-cage: upper vertebra "
                                                  "mesh (STL/PLY/OBJ, mm) or packaged level (mean-L4, L4, C2...); "
                                                  "faces fitted to the real endplates."),
    lower_vertebra: Optional[Path] = typer.Option(None, "--lower-vertebra", help="interbody-cage: lower vertebra mesh or packaged level."),
    axes: str = typer.Option("ALS", "--axes", help="Axes of the vertebra meshes (ALS = patient frame; RAS, LPS...)."),
    frame: str = typer.Option("mesh", "--frame", help="Frame of a part fitted to vertebra meshes: 'mesh' (overlays "
                              "the input meshes) or 'patient' (+x anterior, +y left, +z superior)."),
    target_sagittal: Optional[float] = typer.Option(None, "--target-sagittal", help="Planned sagittal angle (deg) "
                                                    "for a cage fitted to vertebrae."),
    target_coronal: Optional[float] = typer.Option(None, "--target-coronal", help="Planned coronal angle (deg)."),
    surface_points: Optional[Path] = typer.Option(None, "--surface-points", help="anterior-plate: contour the plate "
                                                  "to the surface through these points (CSV/TXT/JSON/NPY of x,y,z in "
                                                  "mm, patient frame)."),
    vertebra: list[Path] = typer.Option([], "--vertebra", help="anterior-plate: contour the plate to the anterior "
                                        "surface of this vertebra mesh or packaged level (repeatable; axes from --axes; without "
                                        "--preset a subaxial plate of one level per mesh)."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Build an implant and export it with its manifest and checks."""
    template = get(type_id)
    anatomical = upper_vertebra is not None or lower_vertebra is not None
    if anatomical and (type_id != "interbody-cage" or upper_vertebra is None or lower_vertebra is None):
        raise ParameterError("--upper-vertebra and --lower-vertebra go together and apply to interbody-cage only")
    contoured = surface_points is not None or bool(vertebra)
    if contoured and type_id != "anterior-plate":
        raise ParameterError("--surface-points and --vertebra apply to anterior-plate only")
    if surface_points is not None and vertebra:
        raise ParameterError("give either --surface-points or --vertebra, not both")
    if frame not in ("mesh", "patient"):
        raise ParameterError(f"--frame {frame!r}: allowed mesh, patient")
    lattice_params = None
    if lattice is not None:
        from .params import validate
        from .porous.params import LatticeParams

        lattice_params = validate(LatticeParams, {"type": lattice, "porosity": porosity, "pore_mm": pore})
    overrides = read_parameter_file(params_file) if params_file else {}
    overrides.update(parse_assignments(set_))
    chosen = parse_formats(formats)
    if deflection is not None and not 0.001 <= deflection <= 1.0:
        raise ParameterError(f"--deflection = {deflection}: allowed 0.001 to 1.0 mm")
    from .pipeline import export
    from .render.pictures import implant_png
    from .tolerances import DEFAULT_DEFLECTION_MM

    with console.status(f"building {type_id}…", spinner="dots") if not as_json else nullcontext():
        if anatomical:
            from .fit.congruence import congruent_cage

            implant = congruent_cage(upper_vertebra, lower_vertebra, _anatomy_params(preset, overrides),
                                     target_sagittal_deg=target_sagittal, target_coronal_deg=target_coronal, axes=axes)
        elif contoured:
            implant = _contoured_plate(template, preset, overrides, surface_points, vertebra, axes)
        else:
            implant = template.make(template.make_params(preset, **overrides), preset)
        if (anatomical or vertebra) and frame == "mesh":
            from .anatomy.meshes import in_mesh_frame

            implant = in_mesh_frame(implant, axes)
        result = export(implant, out, formats=chosen, deflection_mm=deflection or DEFAULT_DEFLECTION_MM,
                        picture=implant_png if picture else None, lattice=lattice_params)
    if as_json:
        emit_json(result.manifest)
        return
    console.print(summary_table([result.manifest], title=f"Built {type_id}"))
    if anatomical:
        angles = implant.metrics["segmental_angle_deg"]
        console.print(f"  sagittal: current {angles['sagittal_current']:.2f}°, target {angles['sagittal_target']}, "
                      f"measured {angles['sagittal_measured']:.2f}°; coronal: current {angles['coronal_current']:.2f}°, "
                      f"target {angles['coronal_target']}, measured {angles['coronal_measured']:.2f}°")
    if contoured:
        surf = implant.metrics["surface"]
        console.print(f"  surface: {surf['source']}, {surf['points_fitted']} points fitted, rms residual "
                      f"{surf['rms_residual_mm']:.2f} mm, seated {surf['seat_lift_mm']:.2f} mm off the highest point")
        if "fit" in implant.metrics:
            fit = implant.metrics["fit"]
            console.print(f"  gap to bone: mean {fit['gap']['mean_mm']:.2f}, p90 {fit['gap']['p90_mm']:.2f}, max "
                          f"{fit['gap']['max_mm']:.2f} mm (over the bodies: p90 {fit['gap_bodies']['p90_mm']:.2f} mm); "
                          f"penetration {fit['penetration_mm']:.2f} mm; screws into bone {fit['screws_in_bone']}/"
                          f"{fit['screw_count']}")
    for path in result.paths.values():
        console.print(f"  {path}")


def _contoured_plate(template, preset, overrides, surface_points, vertebra, axes):
    """anterior-plate on a point list or on vertebra meshes (``anatomy.anterior_surface``)."""
    from dataclasses import replace

    from .fit import anterior_surface

    if vertebra and preset is None and "levels" not in overrides and "layout" not in overrides:
        overrides = {**overrides, "levels": min(max(len(vertebra), 2), 6)}
    params = template.make_params(preset, **overrides)
    if surface_points is not None:
        implant = anterior_surface.plate_on_points(surface_points, params)
    else:
        implant = anterior_surface.fit_anterior_plate(list(vertebra), params, axes=axes)
    return replace(implant, preset=preset or template.default_preset)


def summary_table(manifests: list[dict[str, Any]], title: str) -> Table:
    """One row per built implant: type, preset, volume, masses, bodies, checks."""
    table = Table(title=title)
    for column in ("type", "preset", "volume mm³", "Ti-6Al-4V g", "PEEK g", "bodies", "checks"):
        table.add_column(column, no_wrap=column in ("type", "preset"))
    for m in manifests:
        table.add_row(m["type"], str(m.get("preset")), f"{m['checks']['mesh']['volume_mm3']:.0f}",
                      f"{m['mass_g']['ti6al4v']:.2f}", f"{m['mass_g']['peek']:.2f}", str(m["bodies"]),
                      "pass" if m["checks"]["ok"] else "FAIL")
    return table


@app.command()
@user_errors
def check(
    files: list[Path] = typer.Argument(..., metavar="FILE", help="Mesh files to check (STL, 3MF, OBJ, PLY, GLB, "
                                       "STEP); several give one table and, with --json, one list."),
    endplate: Optional[Path] = typer.Option(None, "--endplate", help="Endplate mesh (or packaged level) for the contact area."),
    tolerance: float = typer.Option(0.25, "--tolerance", help="Contact distance tolerance (mm)."),
    bodies: Optional[int] = typer.Option(None, "--bodies", help="Expected number of bodies."),
    as_json: bool = typer.Option(False, "--json", help="Output JSON."),
) -> None:
    """Check meshes: watertight, winding, volume, bodies, manifold; contact area against an endplate
    (a mesh file or a packaged level such as mean-L5)."""
    from .checks.report import check_file, reports_table

    if not 0.0 < tolerance <= 5.0:
        raise ParameterError(f"--tolerance = {tolerance}: allowed 0 to 5 mm")
    from .anatomy.packaged import is_packaged, load

    bone = load(str(endplate)) if endplate is not None and not endplate.exists() and is_packaged(endplate) else endplate
    reports = [check_file(file, endplate=bone, tolerance_mm=tolerance, expected_bodies=bodies) for file in files]
    if as_json:
        emit_json(reports[0].to_json() if len(reports) == 1 else [r.to_json() for r in reports])
    else:
        console.print(reports[0].table() if len(reports) == 1 else reports_table(reports))
    if not all(r.ok for r in reports):
        raise typer.Exit(5)


@app.command()
@user_errors
def demo(out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder."),
         as_json: bool = typer.Option(False, "--json", help="Print the manifests as JSON.")) -> None:
    """Build the default model of every implant type into OUT and print a summary table."""
    from rich.progress import Progress

    from .pipeline import export
    from .render.pictures import implant_png

    manifests = []
    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task("building", total=len(templates()))
        for template in templates():
            progress.update(task, description=f"building {template.type_id}")
            implant = template.make(template.make_params())
            manifests.append(export(implant, out / template.type_id, picture=implant_png).manifest)
            progress.advance(task)
    if as_json:
        emit_json(manifests)
    else:
        console.print(summary_table(manifests, title=f"Default implants in {out}/ (not a medical device)"))
    if not all(m["checks"]["ok"] for m in manifests):
        raise typer.Exit(5)


MESH_SUFFIXES = (".stl", ".3mf", ".obj", ".ply", ".glb", ".gltf", ".off")


@app.command()
@user_errors
def render(
    target: str = typer.Argument(..., metavar="TYPE|FILE", help="Implant type id or a mesh file (STL, 3MF, OBJ, PLY, GLB)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Named preset (types only)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Parameter override key=value (repeatable)."),
    view: str = typer.Option("iso", "--view", help="anterior, lateral, superior, iso or all."),
    highlight: bool = typer.Option(False, "--highlight", help="Colour contact faces, draw screw/guide axes."),
    scene: bool = typer.Option(False, "--scene", help="Render the in-situ scene (implant on its vertebrae) instead."),
    anatomy: Optional[Path] = typer.Option(None, "--anatomy", help="Folder of real vertebra meshes for --scene "
                                           "holding lumbar_mean_L4_mm.stl and lumbar_mean_L5_mm.stl (the lumbar cage's real-mesh scene)."),
    width: int = typer.Option(800, "--width", help="Picture width (pixels)."),
    height: int = typer.Option(600, "--height", help="Picture height (pixels)."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file, or a folder for one PNG per view."),
) -> None:
    """Render a PNG of an implant type or a mesh file (headless, orthographic, scale bar in mm)."""
    from .registry import type_ids
    from .render import pictures

    size = (width, height)
    path = Path(target)
    if target not in type_ids() and (path.suffix.lower() in MESH_SUFFIXES or path.exists()):
        if preset or set_ or scene:
            raise ParameterError("--preset, --set and --scene apply to implant types, not to mesh files")
        stats = pictures.render_file(path, out, view=view, size=size)
    else:
        template = get(target)
        params = template.make_params(preset, **parse_assignments(set_))
        implant = template.make(params, preset)
        if scene:
            from .render.scenes import scene_items

            if anatomy is not None and not anatomy.is_dir():
                raise ParameterError(f"--anatomy '{anatomy}' is not a folder")
            layout, _, items, axes, bones = scene_items(implant, highlight=highlight, anatomy_dir=anatomy)
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
            stats = pictures.render_implant(implant, out, view=view, highlight=highlight, size=size)
    for png in stats.paths:
        console.print(f"  {png}")


@app.command()
@user_errors
def gallery(
    out: Path = typer.Option(Path("site"), "--out", "-o", help="Output folder of the static site."),
    types: Optional[str] = typer.Option(None, "--types", help="Comma-separated type ids (default: all)."),
) -> None:
    """Write an offline static gallery: every type's picture, 3D scene viewer, parameters and downloads."""
    from .registry import type_ids
    from .render.gallery import build_gallery, site_size_bytes

    chosen = [t.strip() for t in types.split(",") if t.strip()] if types else type_ids()
    for type_id in chosen:
        get(type_id)  # unknown ids → ParameterError before building anything
    with console.status("building the gallery…", spinner="dots"):
        entries = build_gallery(out, chosen)
    table = Table(title=f"Gallery in {out}/ ({site_size_bytes(out) / 1e6:.1f} MB)")
    for column in ("type", "seconds", "scene", "status"):
        table.add_column(column)
    for e in entries:
        table.add_row(e.type_id, f"{e.seconds:.1f}", e.note, "ok" if not e.error else f"FAILED: {e.error}")
    console.print(table)
    console.print(f"  {out / 'index.html'}")
    if any(e.error for e in entries):
        raise typer.Exit(4)


@app.command()
@user_errors
def sweep(
    spec_file: Path = typer.Argument(..., metavar="SPEC.yaml", help="Sweep spec (YAML): type, preset, axes, outputs, metrics."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (results.csv/.parquet at its top)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local worker processes (default: CPU count)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Per-variant time limit in s (default: the spec's)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Rebuild variants recorded as failed or timed out."),
    as_json: bool = typer.Option(False, "--json", help="Print the status counts as JSON."),
) -> None:
    """Run a parameter sweep (parallel, resumable); one row per variant in OUT/results.csv and .parquet."""
    from .sweep.runner import run_sweep, summary

    frame = run_sweep(spec_file, out, workers=workers, scheduler=scheduler, timeout=timeout,
                      progress=not as_json, retry_failed=retry_failed)
    counts = summary(frame)
    if as_json:
        emit_json({**counts, "results": str(out / "results.csv")})
    else:
        table = Table(title=f"Sweep {spec_file.name} → {out}/results.csv, results.parquet")
        for column in ("variants", "ok", "failed", "invalid", "timeout", "reused from a previous run"):
            table.add_column(column)
        table.add_row(str(counts["total"]), *(str(counts.get(k, 0)) for k in ("ok", "failed", "invalid", "timeout")),
                      str(counts["reused"]))
        console.print(table)
        for _, row in frame[frame["status"] != "ok"].head(10).iterrows():
            errors.print(f"{row['variant']}: {row['status']}: {row['error']}", markup=False, highlight=False,
                         soft_wrap=True)
    _sweep_outcome(counts)


def _sweep_outcome(counts: dict[str, int]) -> None:
    """Say loudly when variants failed; exit 3 (all invalid) or 4 when no variant was built."""
    bad = counts["total"] - counts.get("ok", 0)
    if bad == 0:
        return
    if counts.get("ok", 0) == 0:
        errors.print(f"error: every variant of the sweep failed ({bad} of {counts['total']}); no results to use",
                     markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(3 if counts.get("invalid", 0) == bad else 4)
    errors.print(f"warning: {bad} of {counts['total']} variants failed (status column of results.csv)",
                 markup=False, highlight=False, soft_wrap=True)


@app.command("sweep-plot")
@user_errors
def sweep_plot(
    results: Path = typer.Argument(..., metavar="RESULTS", help="results.parquet, results.csv or the sweep folder."),
    metric: str = typer.Option(..., "--metric", "-m", help="Metric column to plot (e.g. volume_mm3)."),
    x: str = typer.Option(..., "--x", help="Parameter on the x axis."),
    y: Optional[str] = typer.Option(None, "--y", help="Second parameter (y axis; the metric becomes colour)."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file to write."),
) -> None:
    """Draw a sweep metric against one or two parameters as a PNG."""
    from .sweep.plot import plot_results

    console.print(str(plot_results(results, metric, x, out, y=y)))


@app.command()
@user_errors
def kit(
    type_id: str = typer.Argument(..., metavar="TYPE", help="Implant type id (see `implants list`)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Nominal preset (default: the type's default)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Nominal parameter override key=value (repeatable)."),
    vary: list[str] = typer.Option(..., "--vary", help="key=-1:+1:1 (offsets from nominal) or key=a,b,c; "
                                   "link keys with + (depth_mm+width_mm=-2:+2:2). Repeatable: product."),
    formats: str = typer.Option("step,stl", "--format", help="Comma-separated formats: step,stl,3mf,glb."),
    out: Path = typer.Option(..., "--out", "-o", help="Kit folder."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local worker processes."),
    as_json: bool = typer.Option(False, "--json", help="Print the kit table as JSON."),
) -> None:
    """Build a size kit: graded variants around a nominal, a kit table (kit.csv) and a picture (kit.png)."""
    from .sweep.kit import make_kit

    table = make_kit(type_id, vary, out, preset=preset, params=parse_assignments(set_),
                     formats=parse_formats(formats), workers=workers, progress=not as_json)
    if as_json:
        emit_json(json.loads(table.to_json(orient="records")))
        return
    shown = Table(title=f"Kit of {type_id} in {out}/ (kit.csv, kit.png; not a medical device)")
    for column in ("variant", "size", "nominal", "status", "volume mm³", "Ti-6Al-4V g", "checks"):
        shown.add_column(column)
    for _, row in table.iterrows():
        ok = row["status"] == "ok"
        shown.add_row(row["variant"], row["label"], "●" if row["nominal"] else "", row["status"],
                      f"{row['volume_mm3']:.0f}" if ok else "", f"{row['mass_ti6al4v_g']:.2f}" if ok else "",
                      ("pass" if row["checks_ok"] else "FAIL") if ok else str(row["error"]))
    console.print(shown)
    if not (table["status"] == "ok").all():
        raise typer.Exit(5)


@app.command()
@user_errors
def demonstrator(
    type_id: str = typer.Argument(..., metavar="TYPE", help="Implant type id (see `implants list`)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Named preset (default: the type's default)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Parameter override key=value (repeatable)."),
    scale: float = typer.Option(1.0, "--scale", help="Uniform print scale (2 = 2:1, e.g. for cervical implants)."),
    vertebrae: str = typer.Option("synthetic", "--vertebrae",
                                  help="'synthetic' or comma-separated meshes U.stl,L.stl,... (cranial first)."),
    bed: str = typer.Option("220x220", "--bed", help="Build plate size WxH in mm."),
    clearance: float = typer.Option(0.2, "--clearance", help="Peg/socket clearance (mm)."),
    no_pictures: bool = typer.Option(False, "--no-pictures", help="Skip the PNGs."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the demonstrator summary as JSON."),
) -> None:
    """Printable teaching demonstrator: the implant, its vertebrae and a labelled base as one coloured 3MF
    plate, one STL per part and pictures. Not a medical device."""
    from .demonstrator import build_demonstrator, write_demonstrator

    template = get(type_id)
    try:
        bed_mm = tuple(float(v) for v in bed.lower().split("x"))
    except ValueError:
        bed_mm = ()
    if len(bed_mm) != 2:
        raise ParameterError(f"--bed {bed!r}: expected WxH in mm, e.g. 220x220")
    meshes = None if vertebrae.strip().lower() == "synthetic" else [Path(v.strip()) for v in vertebrae.split(",") if v.strip()]
    params = template.make_params(preset, **parse_assignments(set_))
    with console.status(f"building the {type_id} demonstrator…", spinner="dots") if not as_json else nullcontext():
        implant = template.make(params, preset)
        demo = build_demonstrator(implant, scale=scale, vertebrae=meshes, clearance_mm=clearance, bed_mm=bed_mm)
        paths = write_demonstrator(demo, out, pictures=not no_pictures)
    summary = demo.summary()
    if as_json:
        emit_json(summary | {"files": {k: str(v) for k, v in paths.items()}})
    else:
        table = Table(title=f"{type_id} demonstrator, scale {scale:g}, bed {bed_mm[0]:g} × {bed_mm[1]:g} mm "
                            f"(not a medical device)")
        for column in ("part", "role", "volume mm³", "print size mm", "overhang >45° mm²", "notes"):
            table.add_column(column)
        for part in summary["parts"]:
            table.add_row(part["name"], part["role"], f"{part['volume_mm3']:.0f}",
                          " × ".join(f"{v:.0f}" for v in part["print_size_mm"]), f"{part['overhang_mm2']:.0f}",
                          "; ".join(part["notes"]))
        console.print(table)
        for note in demo.notes:
            console.print(f"  note: {note}", markup=False)
        for path in paths.values():
            console.print(f"  {path}")
    for message in demo.printability["messages"]:
        errors.print(f"printability at scale {scale:g}: {message}", markup=False, highlight=False, soft_wrap=True)


def _anatomy_params(preset: Optional[str], overrides: dict[str, Any]):
    """Cage parameters for an anatomical cage: None (sized to the disc space) unless a preset or
    overrides are given."""
    if preset is None and not overrides:
        return None
    return get("interbody-cage").make_params(preset, **overrides)


anatomy_app = typer.Typer(help="Real vertebra meshes shipped with the package: list them, export them as STL.",
                          no_args_is_help=True, rich_markup_mode=None)
app.add_typer(anatomy_app, name="anatomy")


@anatomy_app.command("list")
@user_errors
def anatomy_list(as_json: bool = typer.Option(False, "--json", help="Output JSON.")) -> None:
    """List the packaged levels: name, what it is, triangles, source and licence."""
    from .anatomy.packaged import catalogue

    rows = catalogue()
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Packaged anatomy (patient frame: +x anterior, +y left, +z superior; mm)")
    for column in ("level", "description", "triangles", "source", "licence"):
        table.add_column(column, no_wrap=column == "level")
    for row in rows:
        table.add_row(row["level"], row["description"], str(row["triangles"]), row["source"], row["licence"])
    console.print(table)
    console.print("Cite the sources in work that shows these meshes: implants anatomy list --json gives the "
                  "attributions; licence texts ship in implants/anatomy/data/licenses.")


@anatomy_app.command("export")
@user_errors
def anatomy_export(
    levels: list[str] = typer.Argument(..., metavar="LEVEL", help="Packaged level names (see `implants anatomy list`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one <LEVEL>.stl each)."),
    axes: str = typer.Option("ALS", "--axes", help="Axes to write the vertices in (ALS = patient frame; RAS, LPS...)."),
) -> None:
    """Write packaged levels as binary STL (mm) with the licence texts beside them."""
    from .anatomy.meshes import axes_matrix, export_level
    from .anatomy.packaged import SOURCES, level, licence_folder
    from .writers.atomic import write_files

    entries = [level(name) for name in levels]  # unknown names fail before anything is written
    axes_matrix(axes)
    licences = {f for e in entries for f in SOURCES[e.source].licence_files}
    for entry in entries:
        console.print(f"  {export_level(entry.name, out, axes)}")
    write_files(out, {f"LICENSE-{name}": (licence_folder() / name).read_bytes() for name in sorted(licences)})


@app.command("contact-compare")
@user_errors
def contact_compare_command(
    upper_vertebra: Path = typer.Option(..., "--upper-vertebra", help="Upper vertebra mesh (STL/PLY/OBJ, mm) or packaged level."),
    lower_vertebra: Path = typer.Option(..., "--lower-vertebra", help="Lower vertebra mesh (STL/PLY/OBJ, mm) or packaged level."),
    axes: str = typer.Option("ALS", "--axes", help="Axes of the meshes: three letters (patient frame ALS; RAS, LPS...)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="interbody-cage preset (default: sized to the disc)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Cage parameter override key=value (repeatable)."),
    tolerance: float = typer.Option(0.25, "--tolerance", help="Contact distance tolerance (mm)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (contact.json, contact_map.png)."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Congruent vs flat cage of the same footprint in a real disc space: contact area, % footprint,
    % endplate, penetration and ratio; writes contact.json and contact_map.png."""
    if not 0.0 < tolerance <= 5.0:
        raise ParameterError(f"--tolerance = {tolerance}: allowed 0 to 5 mm")
    params = _anatomy_params(preset, parse_assignments(set_))
    from .fit.congruence import contact_map_png, measure_contact
    from .writers.atomic import write_files

    with console.status("building and measuring both cages…", spinner="dots") if not as_json else nullcontext():
        comparison = measure_contact(upper_vertebra, lower_vertebra, params, tolerance, axes=axes)
        data = comparison.to_json()
        png = contact_map_png(comparison, out / "contact_map.png")
        write_files(out, {"contact.json": (json.dumps(data, indent=2, default=str) + "\n").encode()})
    if as_json:
        emit_json(data)
        return
    table = Table(title=f"Contact within {tolerance} mm (not a medical device)")
    for column in ("cage", "face", "contact mm²", "% footprint", "% endplate", "penetration mm"):
        table.add_column(column)
    for cage in ("congruent", "flat"):
        for side in ("superior", "inferior"):
            f = data[cage][side]
            table.add_row(cage, side, f"{f['contact_area_mm2']:.1f}", f"{f['pct_footprint']:.1f}",
                          f"{f['pct_endplate']:.1f}", f"{f['max_penetration_mm']:.3f}")
    console.print(table)
    ratio = data["ratio_congruent_to_flat"]
    console.print(f"  congruent/flat: superior {ratio['superior']}, inferior {ratio['inferior']}, total {ratio['total']}")
    console.print(f"  {out / 'contact.json'}\n  {png}")


if __name__ == "__main__":  # pragma: no cover
    app()
