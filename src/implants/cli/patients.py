"""``implants anatomy patient`` (layer: cli): a synthetic population of motion segments written as
meshes with their requested and measured values. The anatomy layer (trimesh, scipy) is imported
inside the verb, so that ``implants --help`` loads none of it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import typer

from ..errors import ParameterError
from ..writers.atomic import write_files
from .inputs import parse_assignments
from .output import busy, console, emit_json

REGIONS = ("lumbar", "cervical")


def anatomy_patient(
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: patient-NNN-<level>.stl, patients.csv, patients.json."),
    sample: int = typer.Option(1, "--sample", "-n", help="Number of patients to draw (1–500)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same patients)."),
    region: str = typer.Option("lumbar", "--region", help="lumbar (L4/L5 mean shape) or cervical (C5/C6)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Fix a patient field in every patient, key=value "
                                   "(e.g. disc_height_mm=9; fields: docs/patients.md)."),
    as_json: bool = typer.Option(False, "--json", help="Print the requested and measured values as JSON."),
) -> None:
    """Synthetic patients: the packaged vertebrae morphed to anatomy drawn from published population
    distributions, measured back with the project's endplate extraction. Not a medical device."""
    if region not in REGIONS:
        raise ParameterError(f"--region {region!r}: allowed {', '.join(REGIONS)}")
    if not 1 <= sample <= 500:
        raise ParameterError(f"--sample {sample}: allowed 1 to 500 patients")
    if seed < 0:
        raise ParameterError(f"--seed {seed}: allowed an integer ≥ 0")
    from ..anatomy.patient import Patient
    from ..anatomy.patient_segment import patient_segment

    fixed = parse_assignments(set_)
    patients = [Patient.of(region, **{**p.model_dump(), **fixed}) if fixed else p
                for p in Patient.sample(sample, seed, region)]  # a bad field fails before any morph
    files: dict[str, bytes] = {}
    rows = []
    with busy(f"morphing {sample} {region} patient(s)…", quiet=as_json):
        for number, patient in enumerate(patients, start=1):
            segment = patient_segment(patient)
            measured = segment.measured()
            names = {}
            for level, mesh in zip(patient.levels, (segment.upper_mesh, segment.lower_mesh)):
                names[level] = f"patient-{number:03d}-{level}.stl"
                files[names[level]] = mesh.export(file_type="stl")
            rows.append({"patient": number, "region": region, "seed": seed, "files": list(names.values()),
                         "requested": patient.model_dump(),
                         "measured": {k: round(v, 3) for k, v in measured.items()}})
    files["patients.json"] = (json.dumps({"region": region, "seed": seed, "patients": rows}, indent=2) + "\n").encode()
    files["patients.csv"] = _csv(rows).encode()
    written = write_files(out, files)
    if as_json:
        emit_json(rows)
        return
    console.print(f"  {len(rows)} {region} patient(s), seed {seed}: {len(written)} files in {out}")


def _csv(rows: list[dict]) -> str:
    """One line per patient: requested_<field> and measured_<field> side by side."""
    buffer = io.StringIO()
    fields = list(rows[0]["requested"])
    header = ["patient", "region", "seed"] + [f"{kind}_{name}" for name in fields for kind in ("requested", "measured")]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row["patient"], row["region"], row["seed"]] + [
            row[kind].get(name, "") for name in fields for kind in ("requested", "measured")])
    return buffer.getvalue()
