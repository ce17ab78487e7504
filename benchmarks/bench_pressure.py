"""Elastic-foundation pressure solve on a ~100k-triangle implant against a ~50k-triangle endplate
(the case of ``bench_contact.py``: a cage-like block whose top is congruent to a domed endplate
slab), under 1000 N axial with and without moments; target ≤ 0.5 s per solve (issue 20).

Run alone: ``python benchmarks/bench_pressure.py``; ``benchmarks/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_contact import contact_case  # noqa: E402  (the shared benchmark case)


def run() -> list[dict]:
    from implants.checks.pressure import LoadCase, pressure_on_bone

    implant, endplate = contact_case()
    pressure_on_bone(implant, endplate, LoadCase(1000.0))  # warm-up
    rows = []
    for load in (LoadCase(1000.0), LoadCase(1000.0, 7.5, 3.0)):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            result = pressure_on_bone(implant, endplate, load)
            times.append(time.perf_counter() - start)
        f = result.figures
        rows.append({"benchmark": "pressure", "case": f"{len(implant.faces)} implant tris vs {len(endplate.faces)} "
                     f"endplate tris, {load.force_n:g} N, FE {load.moment_fe_nm:g} N·m, LB {load.moment_lb_nm:g} N·m",
                     "seconds": round(min(times), 3), "springs": f["springs"], "iterations": f["iterations"],
                     "peak_mpa": f["peak_mpa"], "mean_mpa": f["mean_mpa"], "loaded_mm2": f["loaded_area_mm2"]})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
