"""Lattice benchmark: ALIF sheet-gyroid cage time and peak memory, porosity/pore table per type.

``run() -> list[dict]``; each case runs in a fresh subprocess so ``ru_maxrss`` is its own peak.
"""

from __future__ import annotations

import json
import subprocess
import sys

CASE = r"""
import json, resource, sys, time
import implants
from implants.export.tessellate import tessellate
from implants.porous import LatticeParams, apply_lattice
kw = json.loads(sys.argv[1])
cage = implants.build("interbody-cage", preset="lumbar-alif")
mesh = tessellate(cage.shape).mesh
t = time.perf_counter()
try:
    out, fig = apply_lattice(mesh, cage, LatticeParams(**kw))
    fig = {k: fig[k] for k in ("type", "porosity_measured", "pore_measured_mm", "cell_mm", "triangles",
                               "surface_error_max_mm", "surface_error_p99_mm", "timings_s")}
    fig["watertight"] = bool(out.is_watertight)
except Exception as e:  # reported, not hidden
    fig = {"error": f"{type(e).__name__}: {e}"}
fig["lattice_s"] = round(time.perf_counter() - t, 3)
fig["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps({"params": kw, **fig}))
"""

CASES = [
    {"type": "gyroid"},                                   # the default (unprintable in Ti at 0.3 mm)
    {"type": "gyroid", "min_wall_mm": 0.15},              # same geometry, limit relaxed
    {"type": "gyroid", "pore_mm": 0.9, "porosity": 0.6},  # a printable sheet gyroid
    {"type": "gyroid-skeletal"},
]


def run(cases=CASES) -> list[dict]:
    rows = []
    for kw in cases:
        proc = subprocess.run([sys.executable, "-c", CASE, json.dumps(kw)], capture_output=True, text=True)
        line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else json.dumps({"error": proc.stderr[-500:]})
        rows.append(json.loads(line))
    return rows


if __name__ == "__main__":
    for row in run([json.loads(a) for a in sys.argv[1:]] or CASES):
        print(json.dumps(row))
