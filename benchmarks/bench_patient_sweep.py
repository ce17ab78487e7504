"""Population-sweep worker (issue 17): per synthetic patient, the stages of
``implants.sweep.patient_worker.run_patient`` as a sweep runs them: morph, measure back, the
congruent cage (shared placement and endplate fields, build, contact) and the stock cage (sizing,
seating, build, contact). The issue's pair (morph two vertebrae, fit and build the congruent cage,
build the flat one, measure both) is morph + congruent + stock; target ≤ 3 s on one core. Lumbar
ALIF (examples/patients_alif_l4l5.yaml) and cervical ACDF (examples/patients_acdf_c5c6.yaml) with a
fresh seed; the base vertebrae are prepared once per process before timing (as in a warm worker).
Stage times are wall clock; ``cpu_s`` is the CPU time of the whole patient (``time.process_time``),
the figure to compare on a shared machine.

Run alone: ``python benchmarks/bench_patient_sweep.py [N]``; ``benchmarks/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECS = (("lumbar", "examples/patients_alif_l4l5.yaml"), ("cervical", "examples/patients_acdf_c5c6.yaml"))
STAGES = ("morph_s", "measure_back_s", "congruent_s", "stock_s", "total_s")


def run(count: int = 2) -> list[dict]:
    import yaml

    from implants.anatomy.patient import Patient
    from implants.anatomy.patient_morph import base_vertebra
    from implants.sweep.patient_worker import run_patient
    from implants.sweep.patients import expand_patients
    from implants.sweep.spec import load_spec
    from implants.sweep.worker import single_threaded_kernel

    single_threaded_kernel()  # OCCT on one thread, as in a sweep worker (one core per patient)

    rows = []
    seed = int(time.time()) % 100_000  # a fresh population each run
    for region, path in SPECS:
        raw = yaml.safe_load((ROOT / path).read_text())
        raw["patient"]["sample"] = {"n": count, "seed": seed}
        spec = load_spec(raw)
        for level in Patient.of(region).levels:
            base_vertebra(level).spline  # prepared once per process: not part of a pair
        with tempfile.TemporaryDirectory() as out:
            for variant in expand_patients(spec):
                task = {"index": variant.index, "name": variant.name, "key": variant.key, "params": variant.params,
                        "root": out, "rel_dir": f"variants/{variant.name}",
                        "patient": spec.patient.model_dump(mode="json")}
                cpu = time.process_time()
                row = run_patient(task)
                figures = {k: row.get(k) for k in STAGES}
                figures["cpu_s"] = round(time.process_time() - cpu, 2)  # the machine may be shared: CPU too
                if row["status"] == "ok":
                    figures["pair_s"] = round(row["morph_s"] + row["congruent_s"] + row["stock_s"], 2)
                    figures["contact_ratio"] = row["contact_ratio"]
                else:
                    figures["failed"] = str(row["error"])[:120]
                rows.append({"benchmark": "patient-sweep", "case": f"{region} seed {seed} #{variant.index}",
                             **figures})
    return rows


if __name__ == "__main__":
    for result in run(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        print(result)
