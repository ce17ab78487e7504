"""``implants build`` and ``implants demo`` (layer: cli): build implants, export them with their
manifest and checks, and print a summary.

The library layers these verbs drive (pipeline, fitting, anatomy, pictures, lattices) are
imported inside them, so that ``implants --help`` and ``implants list`` load neither the CAD
kernel nor trimesh.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import Progress
from rich.table import Table

from ..errors import ParameterError
from ..params import validate
from ..registry import get, templates
from ..writers.settings import FORMATS, checked_deflection
from .inputs import anatomical_cage_params, parse_assignments, parse_formats, read_parameter_file
from .output import busy, console, emit_json, errors, new_table


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
        from ..porous.params import LatticeParams

        lattice_params = validate(LatticeParams, {"type": lattice, "porosity": porosity, "pore_mm": pore})
    overrides = read_parameter_file(params_file) if params_file else {}
    overrides.update(parse_assignments(set_))
    chosen = parse_formats(formats)
    deflection_mm = checked_deflection(deflection, "--deflection")
    from ..pipeline import export
    from ..render.pictures import implant_png

    with busy(f"building {type_id}…", quiet=as_json):
        if anatomical:
            from ..fit.congruence import congruent_cage

            implant = congruent_cage(upper_vertebra, lower_vertebra, anatomical_cage_params(preset, overrides),
                                     target_sagittal_deg=target_sagittal, target_coronal_deg=target_coronal, axes=axes)
        elif contoured:
            implant = _contoured_plate(template, preset, overrides, surface_points, vertebra, axes)
        else:
            implant = template.make(template.make_params(preset, **overrides), preset)
        if (anatomical or vertebra) and frame == "mesh":
            from ..anatomy.meshes import in_mesh_frame

            implant = in_mesh_frame(implant, axes)
        result = export(implant, out, formats=chosen, deflection_mm=deflection_mm,
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
    """anterior-plate on a point list or on vertebra meshes (``fit.anterior_surface``)."""
    from ..fit import anterior_surface

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
    table = new_table(title, ("type", "preset", "volume mm³", "Ti-6Al-4V g", "PEEK g", "bodies", "checks"),
                      no_wrap=("type", "preset"))
    for m in manifests:
        table.add_row(m["type"], str(m.get("preset")), f"{m['checks']['mesh']['volume_mm3']:.0f}",
                      f"{m['mass_g']['ti6al4v']:.2f}", f"{m['mass_g']['peek']:.2f}", str(m["bodies"]),
                      "pass" if m["checks"]["ok"] else "FAIL")
    return table


#: CPU seconds the default model of each type took to build, export and picture in ``implants
#: demo`` (issue 18, this 2-core machine): the demo hands out the longest first so that the workers
#: finish together (a type not listed goes first).
DEMO_SECONDS = {"monolithic": 2.2, "anterior-plate": 1.7, "c1c2-transarticular-template": 1.6,
                "vertebral-body-replacement": 1.2, "interbody-cage": 1.1, "upper-cervical-docking": 1.1,
                "bridge-strut": 0.8, "distraction-spacer": 0.7}


def demo_one(type_id: str, out: str) -> dict[str, Any]:
    """Build the default model of ``type_id`` and export it with its picture into ``out/type_id``;
    returns the manifest (one task of :func:`demo`, run in a worker process)."""
    from ..pipeline import export
    from ..render.pictures import implant_png

    template = get(type_id)
    implant = template.make(template.make_params())
    return export(implant, Path(out) / type_id, picture=implant_png).manifest


def demo(out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder."),
         workers: int = typer.Option(2, "--workers", "-w", min=1, max=64, help="Worker processes (one type each)."),
         as_json: bool = typer.Option(False, "--json", help="Print the manifests as JSON.")) -> None:
    """Build the default model of every implant type into OUT and print a summary table."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from ..pipeline import export  # noqa: F401  imported once here, inherited by the forked workers
    from ..sweep.worker import single_threaded_kernel

    type_ids = [template.type_id for template in templates()]
    longest_first = sorted(type_ids, key=lambda type_id: -DEMO_SECONDS.get(type_id, float("inf")))
    by_type: dict[str, dict[str, Any]] = {}
    # forked from this process, which has imported the kernel and the exporter (the sweeps' fork
    # server, sweep.pool.worker_context, would import them a second time: +2 s), before the progress
    # bar starts its thread; OCCT single-threaded in each worker
    with ProcessPoolExecutor(max_workers=min(workers, len(type_ids)), mp_context=multiprocessing.get_context("fork"),
                             initializer=single_threaded_kernel) as pool:
        futures = {pool.submit(demo_one, type_id, str(out)): type_id for type_id in longest_first}
        with Progress(console=errors, transient=True) as progress:
            task = progress.add_task("building", total=len(type_ids))
            for future in as_completed(futures):
                by_type[futures[future]] = future.result()
                progress.update(task, description=f"built {futures[future]}")
                progress.advance(task)
    manifests = [by_type[type_id] for type_id in type_ids]
    if as_json:
        emit_json(manifests)
    else:
        console.print(summary_table(manifests, title=f"Default implants in {out}/ (not a medical device)"))
    if not all(m["checks"]["ok"] for m in manifests):
        raise typer.Exit(5)
