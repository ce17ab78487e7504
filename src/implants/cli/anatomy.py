"""``implants anatomy list|export`` and ``implants contact-compare`` (layer: cli): the packaged
real vertebra meshes, and congruent against flat cages in a real disc space. The anatomy and
fitting layers (trimesh, the CAD kernel) are imported inside the verbs, so that
``implants --help`` loads none of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .. import tolerances
from ..writers.atomic import write_files
from .inputs import anatomical_cage_params, checked_tolerance, parse_assignments
from .output import busy, console, emit_json, new_table


def anatomy_list(as_json: bool = typer.Option(False, "--json", help="Output JSON.")) -> None:
    """List the packaged levels: name, what it is, triangles, source and licence."""
    from ..anatomy.packaged import catalogue

    rows = catalogue()
    if as_json:
        emit_json(rows)
        return
    table = new_table("Packaged anatomy (patient frame: +x anterior, +y left, +z superior; mm)",
                      ("level", "description", "triangles", "source", "licence"), no_wrap=("level",))
    for row in rows:
        table.add_row(row["level"], row["description"], str(row["triangles"]), row["source"], row["licence"])
    console.print(table)
    console.print("Cite the sources in work that shows these meshes: implants anatomy list --json gives the "
                  "attributions; licence texts ship in implants/anatomy/data/licenses.")


def anatomy_export(
    levels: list[str] = typer.Argument(..., metavar="LEVEL", help="Packaged level names (see `implants anatomy list`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one <LEVEL>.stl each)."),
    axes: str = typer.Option("ALS", "--axes", help="Axes to write the vertices in (ALS = patient frame; RAS, LPS...)."),
) -> None:
    """Write packaged levels as binary STL (mm) with the licence texts beside them."""
    from ..anatomy.meshes import axes_matrix, export_level
    from ..anatomy.packaged import SOURCES, level, licence_folder

    entries = [level(name) for name in levels]  # unknown names fail before anything is written
    axes_matrix(axes)
    licences = {f for e in entries for f in SOURCES[e.source].licence_files}
    for entry in entries:
        console.print(f"  {export_level(entry.name, out, axes)}")
    write_files(out, {f"LICENSE-{name}": (licence_folder() / name).read_bytes() for name in sorted(licences)})


def contact_compare(
    upper_vertebra: Path = typer.Option(..., "--upper-vertebra", help="Upper vertebra mesh (STL/PLY/OBJ, mm) or packaged level."),
    lower_vertebra: Path = typer.Option(..., "--lower-vertebra", help="Lower vertebra mesh (STL/PLY/OBJ, mm) or packaged level."),
    axes: str = typer.Option("ALS", "--axes", help="Axes of the meshes: three letters (patient frame ALS; RAS, LPS...)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="interbody-cage preset (default: sized to the disc)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Cage parameter override key=value (repeatable)."),
    tolerance: float = typer.Option(tolerances.CONTACT_TOLERANCE_MM, "--tolerance",
                                    help="Contact distance tolerance (mm)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (contact.json, contact_map.png)."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Congruent vs flat cage of the same footprint in a real disc space: contact area, % footprint,
    % endplate, penetration and ratio; writes contact.json and contact_map.png."""
    checked_tolerance(tolerance)
    params = anatomical_cage_params(preset, parse_assignments(set_))
    from ..fit.congruence import contact_map_png, measure_contact

    with busy("building and measuring both cages…", quiet=as_json):
        comparison = measure_contact(upper_vertebra, lower_vertebra, params, tolerance, axes=axes)
        data = comparison.to_json()
        png = contact_map_png(comparison, out / "contact_map.png")
        write_files(out, {"contact.json": (json.dumps(data, indent=2, default=str) + "\n").encode()})
    if as_json:
        emit_json(data)
        return
    table = new_table(f"Contact within {tolerance} mm (not a medical device)",
                      ("cage", "face", "contact mm²", "% footprint", "% endplate", "penetration mm"))
    for cage in ("congruent", "flat"):
        for side in ("superior", "inferior"):
            f = data[cage][side]
            table.add_row(cage, side, f"{f['contact_area_mm2']:.1f}", f"{f['pct_footprint']:.1f}",
                          f"{f['pct_endplate']:.1f}", f"{f['max_penetration_mm']:.3f}")
    console.print(table)
    ratio = data["ratio_congruent_to_flat"]
    console.print(f"  congruent/flat: superior {ratio['superior']}, inferior {ratio['inferior']}, total {ratio['total']}")
    console.print(f"  {out / 'contact.json'}\n  {png}")


#: ``implants anatomy spine`` options and the SpineCurve fields they set.
SPINE_OPTIONS = {"--cervical-lordosis": "cervical_lordosis_deg", "--thoracic-kyphosis": "thoracic_kyphosis_deg",
                 "--lumbar-lordosis": "lumbar_lordosis_deg"}


def anatomy_spine(
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: the bones, spine_frames.json (and spine.png)."),
    cervical_lordosis: Optional[float] = typer.Option(None, "--cervical-lordosis", help="C2–C7 lordosis, deg (default 15)."),
    thoracic_kyphosis: Optional[float] = typer.Option(None, "--thoracic-kyphosis", help="T1–T12 kyphosis, deg (default 40)."),
    lumbar_lordosis: Optional[float] = typer.Option(None, "--lumbar-lordosis", help="L1–S1 lordosis, deg (default 50)."),
    file_format: str = typer.Option("stl", "--format", help="stl (one <LEVEL>.stl per bone) or glb (spine.glb, a node per bone)."),
    picture: bool = typer.Option(False, "--picture", help="Also write spine.png (lateral and anterior views)."),
    as_json: bool = typer.Option(False, "--json", help="Print the placed frames as JSON."),
) -> None:
    """The whole spine, C0 to pelvis, on a sagittal curve: every packaged bone placed by its endplates
    (patient frame of the Visible Human lumbosacral set, mm). Not a medical device."""
    from ..errors import ParameterError
    from ..params import validate

    values = {field: value for field, value in zip(SPINE_OPTIONS.values(), (cervical_lordosis, thoracic_kyphosis,
                                                                            lumbar_lordosis)) if value is not None}
    if file_format not in ("stl", "glb"):
        raise ParameterError(f"--format {file_format!r}: allowed stl, glb")
    from ..anatomy.spine import SpineCurve, assemble
    from ..anatomy.spine_report import bone_files, frames_json

    try:
        curve = validate(SpineCurve, values)
    except ParameterError as error:
        message = str(error)
        for option, field in SPINE_OPTIONS.items():
            message = message.replace(field, option).replace(" deg) deg", " deg)")
        raise ParameterError(message) from None
    with busy("placing the bones…", quiet=as_json):
        spine = assemble(curve)
        files = bone_files(spine, file_format)
        data = frames_json(spine)
        files["spine_frames.json"] = (json.dumps(data, indent=2) + "\n").encode()
        if picture:
            import tempfile

            from ..render.spine_picture import render_spine

            with tempfile.TemporaryDirectory() as folder:
                png = render_spine([(b.name, b.mesh) for b in spine.bones], Path(folder) / "spine.png",
                                   title="Spine C0–pelvis")
                files["spine.png"] = png.read_bytes()
        written = write_files(out, files)
    if as_json:
        emit_json(data)
        return
    measured = data["measured"]
    console.print(f"  {len(spine.bones)} bones; measured: cervical lordosis {measured['cervical_lordosis_deg']:.1f}°, "
                  f"thoracic kyphosis {measured['thoracic_kyphosis_deg']:.1f}°, "
                  f"lumbar lordosis {measured['lumbar_lordosis_deg']:.1f}°")
    for path in written.values():
        console.print(f"  {path}")
