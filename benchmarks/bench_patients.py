"""Synthetic patient pairs (issue 17): per patient, the morph of two vertebrae with measured-back
corrections and the placement (``patient_segment``), then the congruent and the flat cage built
and measured in that disc space (``measure_contact``); target ≤ 3 s per pair on one core. Also
reports the measured-back errors of a fresh seed (the tests use fixed seeds): per pair the
worst per kind, per region a last row with the worst of every field. The base
vertebrae (endplates, landmarks, spline operator) are prepared once per process before timing.

Run alone: ``python benchmarks/bench_patients.py [N]``; ``benchmarks/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import sys
import time

REGIONS = (("lumbar", 2), ("cervical", 2))


def run(count: int | None = None) -> list[dict]:
    from implants.anatomy.patient import Patient
    from implants.anatomy.patient_morph import base_vertebra
    from implants.anatomy.patient_segment import patient_segment
    from implants.errors import ImplantError
    from implants.fit.congruence import measure_contact
    from implants.fit.inputs import Anatomy

    rows = []
    seed = int(time.time()) % 100_000  # a fresh population each run
    for region, default_count in REGIONS:
        worst: dict[str, float] = {}
        for level in Patient.of(region).levels:
            assert base_vertebra(level).spline.operator.size  # prepared once per process: not part of a pair
        for patient in Patient.sample(count or default_count, seed, region):
            start = time.perf_counter()
            try:
                segment = patient_segment(patient)
            except ImplantError as error:  # a failed morph is a row, not the end of the benchmark
                rows.append({"benchmark": "patients", "case": f"{region} seed {seed}",
                             "seconds": round(time.perf_counter() - start, 2), "failed": str(error)[:120]})
                continue
            morphed = time.perf_counter()
            try:
                ratio = measure_contact(Anatomy(segment.upper_mesh, segment.lower_mesh,
                                                segment.disc)).to_json()["ratio_congruent_to_flat"]["total"]
            except ImplantError as error:  # recorded, not fatal (as a sweep would)
                ratio = f"failed: {error}"[:120]
            done = time.perf_counter()
            measured = segment.measured()
            measure_s = time.perf_counter() - done
            wanted = patient.model_dump()
            errors = {k: abs(measured[k] - wanted[k]) for k in measured}
            worst.update({k: max(v, worst.get(k, 0.0)) for k, v in errors.items()})
            rows.append({"benchmark": "patients", "case": f"{region} seed {seed}",
                         "seconds": round(done - start, 2), "morph_and_place_s": round(morphed - start, 2),
                         "cages_and_contact_s": round(done - morphed, 2), "measure_back_s": round(measure_s, 2),
                         "worst_size_err_mm": round(max(v for k, v in errors.items()
                                                        if k.endswith(("width_mm", "depth_mm", "height_mm"))), 2),
                         "worst_concavity_err_mm": round(max(v for k, v in errors.items() if "concavity" in k), 2),
                         "worst_angle_err_deg": round(max(v for k, v in errors.items() if k.endswith("_deg")), 2),
                         "contact_ratio": ratio})
        rows.append({"benchmark": "patients", "case": f"{region} seed {seed}: worst measured-back error per field",
                     **{k: round(v, 2) for k, v in worst.items()}})
    return rows


if __name__ == "__main__":
    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(row)
