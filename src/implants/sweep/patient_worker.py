"""The worker side of a population sweep (layer: sweep): one synthetic patient, in a pool process or
on a Dask worker.

Per patient: morph the region's packaged vertebrae to the patient
(:func:`~implants.anatomy.patient_segment.patient_segment`) and measure them back
(:func:`~implants.anatomy.patient_segment.measure_segment`); fit the congruent cage
(:func:`~implants.fit.congruence.congruent_cage`, the region's footprint scaled into the disc,
:func:`~implants.fit.cage_placement.default_params`, then the spec's cage parameters) and the
stock comparator of the same footprint (:func:`~implants.fit.stock_cage.stock_cage`); measure both
(contact within the tolerance, share of the footprint, penetration, planned and measured sagittal
angle) and, with a ``load``, the contact pressure on the four bearing faces of each cage
(:func:`~implants.fit.load_transfer.cage_pressure`, along the cage axis; the stock cage under the
upper vertebra as it rests on it), and time every stage (wall clock; ``cpu_s``: the patient's CPU
time, the figure to compare on a shared machine). Writes ``patient.json`` (the record a rerun
checks) and, with ``meshes``, the bones and both cages as STL (patient frame, mm). :func:`run_patient` never raises:
a failure is a row with ``status`` ``"failed"`` and a one-line error naming the stage.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..anatomy.patient import Patient
from ..checks.pressure import Foundation, LoadCase
from ..anatomy.patient_segment import patient_segment
from ..fit.cage_contact import CageContact, cage_contact
from ..fit.cage_fields import cage_site
from ..fit.cage_placement import default_params
from ..fit.congruence import congruent_cage
from ..fit.inputs import Anatomy
from ..fit.load_transfer import CagePressure, cage_pressure
from ..fit.stock_cage import stock_cage
from ..implant_types.interbody_cage import CageParams
from ..params import NOT_A_MEDICAL_DEVICE, validate
from ..writers.atomic import write_files
from .rows import new_row, record_failure
from .spec import stable_hash

#: Keys of a population variant's parameters that are not cage parameters.
PATIENT_PREFIX = "patient."
META_KEYS = ("patient_id", "region")
MANIFEST = "patient.json"


def split_params(params: dict[str, Any]) -> tuple[str, dict[str, float], dict[str, Any]]:
    """(region, patient fields, cage parameter overrides) of a population variant's parameters."""
    patient = {k[len(PATIENT_PREFIX):]: v for k, v in params.items() if k.startswith(PATIENT_PREFIX)}
    cage = {k: v for k, v in params.items() if k not in META_KEYS and not k.startswith(PATIENT_PREFIX)}
    return params["region"], patient, cage


def cage_figures(kind: str, contact: CageContact) -> dict[str, Any]:
    """Headline columns of one cage: contact area (mm², both faces and each), % of footprint,
    deepest penetration (mm), planned and measured segmental angles (deg), height at the centre."""
    faces = contact.figures
    area = sum(f["contact_area_mm2"] for f in faces.values())
    footprint = sum(f["footprint_mm2"] for f in faces.values())
    angles = contact.implant.metrics["segmental_angle_deg"]
    return {f"{kind}_contact_mm2": round(area, 2),
            f"{kind}_contact_superior_mm2": faces["superior"]["contact_area_mm2"],
            f"{kind}_contact_inferior_mm2": faces["inferior"]["contact_area_mm2"],
            f"{kind}_contact_pct_footprint": round(100 * area / footprint, 2),
            f"{kind}_max_penetration_mm": max(f["max_penetration_mm"] for f in faces.values()),
            f"{kind}_sagittal_planned_deg": angles["sagittal_planned"],
            f"{kind}_sagittal_measured_deg": angles["sagittal_measured"],
            f"{kind}_coronal_planned_deg": angles["coronal_planned"],
            f"{kind}_coronal_measured_deg": angles["coronal_measured"],
            f"{kind}_height_mm": contact.implant.metrics["height_at_centre_mm"]}


def pressure_figures(kind: str, pressure: CagePressure) -> dict[str, float]:
    """Pressure columns of one cage: the higher of its two bearing faces' peak and 95th-percentile
    pressure (MPa) and rim share of the load, and the smaller loaded area (mm²)."""
    faces = [face.figures for face in pressure.faces.values()]
    return {f"{kind}_peak_mpa": max(f["peak_mpa"] for f in faces), f"{kind}_p95_mpa": max(f["p95_mpa"] for f in faces),
            f"{kind}_rim_share": max(f["rim_share"] for f in faces),
            f"{kind}_loaded_area_mm2": min(f["loaded_area_mm2"] for f in faces)}


def _stl(mesh) -> bytes:
    return mesh.export(file_type="stl")


def run_patient(task: dict[str, Any]) -> dict[str, Any]:
    """Morph, fit, seat and measure one patient; never raises: failures come back as a row."""
    start, cpu = time.perf_counter(), time.process_time()
    row = new_row(task)
    settings = task["patient"]
    tolerance = settings["tolerance_mm"]
    root = Path(task["root"])
    stage = "patient"
    try:
        region, fields, overrides = split_params(task["params"])
        patient = Patient.of(region, **fields)
        stage = "morph"
        segment = patient_segment(patient)
        row["morph_s"] = round(time.perf_counter() - start, 3)
        row["morph_residual_mm"] = round(segment.max_residual_mm, 4)
        stage = "measure back"
        mark = time.perf_counter()
        measured = segment.measured()
        row.update({f"measured.{k}": round(float(v), 3) for k, v in measured.items()})
        row["measure_back_s"] = round(time.perf_counter() - mark, 3)
        anat = Anatomy(segment.upper_mesh, segment.lower_mesh, segment.disc)
        stage = "congruent cage"
        mark = time.perf_counter()
        base = default_params(anat.disc)
        params = validate(CageParams, {**base.model_dump(mode="json"), **overrides})
        site = cage_site(anat, params=params)  # placement and endplate fields, shared by both cages
        congruent = cage_contact(congruent_cage(site), anat, tolerance)
        row.update(cage_depth_mm=params.depth_mm, cage_width_mm=params.width_mm, **cage_figures("congruent", congruent))
        row["congruent_s"] = round(time.perf_counter() - mark, 3)
        stage = "stock cage"
        mark = time.perf_counter()
        stock = stock_cage(site, None, region, tolerance, distraction_mm=settings["stock"]["distraction_mm"],
                           lordosis_set=tuple(settings["stock"]["lordosis_set_deg"] or ()) or None)
        row.update(cage_figures("stock", stock.contact))
        row.update(stock_nominal_height_mm=stock.height_mm, stock_lordosis_deg=stock.lordosis_deg,
                   stock_distraction_mm=stock.distraction_mm, stock_press_mm=stock.press_mm,
                   segment_sagittal_before_deg=stock.segment_sagittal_before_deg,
                   segment_sagittal_after_stock_deg=stock.segment_sagittal_after_deg)
        row["stock_s"] = round(time.perf_counter() - mark, 3)
        flat_area = row["stock_contact_mm2"]
        row["contact_ratio"] = round(row["congruent_contact_mm2"] / flat_area, 3) if flat_area > 0 else None
        if settings.get("load"):
            stage = "pressure"
            mark = time.perf_counter()
            case, axis = LoadCase(**settings["load"]), np.asarray(site.frame.matrix, dtype=np.float64)[:3, 2]
            for kind, contact, bones in (("congruent", congruent, anat), ("stock", stock.contact, stock.seated)):
                row.update(pressure_figures(kind, cage_pressure(contact.implant, bones, case, Foundation(), axis,
                                                                tolerance, contact)))
            row["peak_ratio"] = round(row["stock_peak_mpa"] / row["congruent_peak_mpa"], 3)
            row["pressure_s"] = round(time.perf_counter() - mark, 3)
        stage = "write"
        files = {MANIFEST: b""}
        if settings.get("meshes"):
            files.update({"upper.stl": _stl(segment.upper_mesh), "lower.stl": _stl(segment.lower_mesh),
                          "congruent-cage.stl": _stl(congruent.mesh), "stock-cage.stl": _stl(stock.contact.mesh),
                          "upper-on-stock.stl": _stl(stock.seated.upper_mesh)})
        out_dir = root / task["rel_dir"]
        names = sorted(files)
        row.update({f"path_{Path(n).stem.replace('-', '_')}": os.path.relpath(out_dir / n, root) for n in names
                    if n != MANIFEST})
        row["path_manifest"] = os.path.relpath(out_dir / MANIFEST, root)
        record = {"params_hash": stable_hash(task["params"]), "not_a_medical_device": NOT_A_MEDICAL_DEVICE,
                  "patient": patient.values(), "measured": measured,
                  "cage_params": params.model_dump(mode="json"),
                  "results": {k: v for k, v in row.items() if not k.startswith(("path_", "measured."))}}
        files[MANIFEST] = json.dumps(record, indent=2, default=float).encode()
        write_files(out_dir, files)
    except Exception as error:  # recorded, not fatal
        record_failure(row, stage, error)
    row["total_s"] = round(time.perf_counter() - start, 3)
    row["cpu_s"] = round(time.process_time() - cpu, 3)  # this process's CPU: the figure on a shared machine
    return row
