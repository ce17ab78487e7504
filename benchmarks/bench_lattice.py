"""Lattice benchmark: lumbar ALIF cage time and peak memory, and the porosity/pore matrix per type.

``run() -> list[dict]``; each case runs in a fresh subprocess so ``ru_maxrss`` is its own peak
(and no result is kept in memory between cases). ``python benchmarks/run.py lattice`` prints
both; ``python benchmarks/bench_lattice.py [alif|matrix]`` prints JSON lines. Each ALIF case is
followed by the straightforward baseline (plain marching cubes over the bounding box + one
manifold3d mesh boolean, at the same surface error: :mod:`lattice_mc_baseline`) and the ratios.

Matrix: every lattice type at porosity 0.50 / 0.65 / 0.80 and the default pore 0.5 mm on a
10 mm cube (zone=whole). Where the titanium limit (0.3 mm) refuses the request, the case is
run with the documented ``min_wall_mm`` override (0.05 mm) and the row says so
(``min_wall_override``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ALIF = r"""
import json, resource, sys, time
import implants
from implants.writers.tessellate import tessellate
from implants.porous import LatticeParams, apply_lattice
kw = json.loads(sys.argv[1])
cage = implants.build("interbody-cage", preset="lumbar-alif")
mesh = tessellate(cage.shape).mesh
t = time.perf_counter(); c = time.process_time()
try:
    out, fig = apply_lattice(mesh, cage, LatticeParams(**kw))
    fig = {k: fig[k] for k in ("type", "porosity_measured", "pore_measured_mm", "cell_mm", "samples_per_cell",
                               "lattice_triangles", "triangles", "surface_error_max_mm", "timings_s")}
    fig["watertight"] = bool(out.is_watertight)
except Exception as e:  # reported, not hidden
    fig = {"error": f"{type(e).__name__}: {e}"}
fig["lattice_s"] = round(time.perf_counter() - t, 3)
fig["lattice_cpu_s"] = round(time.process_time() - c, 3)
fig["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps({"params": kw, **fig}))
"""

BASELINE = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
import implants
from implants.writers.tessellate import tessellate
from implants.porous import LatticeParams
from lattice_mc_baseline import straightforward_lattice
kw = json.loads(sys.argv[1])
cage = implants.build("interbody-cage", preset="lumbar-alif")
mesh = tessellate(cage.shape).mesh
c = time.process_time()
try:
    fig = straightforward_lattice(mesh.vertices, mesh.faces, LatticeParams(**kw))
except Exception as e:  # reported, not hidden
    fig = {"error": f"{type(e).__name__}: {e}"}
fig["cpu_s"] = round(time.process_time() - c, 3)
fig["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(fig))
"""

MATRIX = r"""
import json, resource, sys, time
import numpy as np
import cadquery as cq
import manifold3d as m3d
from implants.errors import ParameterError
from implants.writers.tessellate import tessellate
from implants.model import Implant
from implants.params import ImplantParams
from implants.porous import LatticeParams, apply_lattice
kw = json.loads(sys.argv[1])
shape = cq.Workplane().box(10.0, 10.0, 10.0).val()
mesh = tessellate(shape).mesh
implant = Implant("test-cube", ImplantParams(), shape, {})
row = {"type": kw["type"], "porosity": kw["porosity"], "pore_mm": kw["pore_mm"]}
t = time.perf_counter()
try:
    try:
        out, fig = apply_lattice(mesh, implant, LatticeParams(zone="whole", **kw))
    except ParameterError as e:
        row["refused_ti"] = str(e).split(";")[0]
        row["min_wall_override"] = 0.05
        out, fig = apply_lattice(mesh, implant, LatticeParams(zone="whole", min_wall_mm=0.05, **kw))
    man = m3d.Manifold(m3d.Mesh(vert_properties=np.asarray(out.vertices, np.float32),
                                tri_verts=np.asarray(out.faces, np.uint32)))
    bodies = len([p for p in man.decompose() if p.volume() > 0])
    row.update(porosity_measured=fig["porosity_measured"], pore_measured_mm=fig["pore_measured_mm"],
               cell_mm=fig["cell_mm"], wall_calibrated_mm=fig["min_wall_calibrated_mm"],
               watertight=bool(out.is_watertight and out.is_winding_consistent),
               manifold3d_ok=man.status() == m3d.Error.NoError, bodies=bodies,
               surface_error_max_mm=fig["surface_error_max_mm"], triangles=fig["triangles"])
    row["porosity_ok"] = abs(fig["porosity_measured"] - kw["porosity"]) <= 0.03
    row["pore_ok"] = abs(fig["pore_measured_mm"] - kw["pore_mm"]) <= 0.15 * kw["pore_mm"]
except Exception as e:  # reported, not hidden
    row["error"] = f"{type(e).__name__}: {e}"
row["time_s"] = round(time.perf_counter() - t, 3)
row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(row))
"""

ALIF_CASES = [
    {"type": "gyroid-skeletal"},                          # default porosity / pore, Ti limit met
    {"type": "gyroid"},                                   # the default: refused in Ti (0.161 mm wall)
    {"type": "gyroid", "pore_mm": 0.9, "porosity": 0.6},  # a sheet gyroid printable in Ti (0.36 mm walls)
]
# Not run by default: {"type": "gyroid", "min_wall_mm": 0.15} (the sheet gyroid with the limit
# relaxed) needs 13 samples per 1.63 mm cell (0.16 mm walls), ~3100 triangles per cell, ~5 M triangles
# on the ALIF cage: far beyond the 5 s / 1.5 GB budget with manifold3d's import (~1.2 us per triangle).
TYPES = ("gyroid", "gyroid-skeletal", "diamond", "diamond-skeletal", "cubic", "bcc")
MATRIX_CASES = [{"type": t, "porosity": p, "pore_mm": 0.5} for t in TYPES for p in (0.50, 0.65, 0.80)]


def _run(script: str, kw: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(kw), str(Path(__file__).parent)],
                          capture_output=True, text=True)
    out = proc.stdout.strip()
    return json.loads(out.splitlines()[-1]) if out else {"params": kw, "error": proc.stderr[-500:]}


def alif(cases=ALIF_CASES) -> list[dict]:
    """The project's lattice and, right after it in the same run, the straightforward baseline
    (:mod:`lattice_mc_baseline`) on the same cage; ratios baseline / project (wall and CPU)."""
    rows = []
    for kw in cases:
        row = {"benchmark": "lattice-alif", "case": json.dumps(kw), **_run(ALIF, kw)}
        if "error" not in row:
            base = _run(BASELINE, kw)
            row["baseline"] = base
            if "seconds" in base:
                row["ratio_baseline_over_now"] = round(base["seconds"] / row["lattice_s"], 2)
                row["ratio_baseline_over_now_cpu"] = round(base["cpu_s"] / row["lattice_cpu_s"], 2)
        rows.append(row)
    return rows


def matrix(cases=MATRIX_CASES) -> list[dict]:
    rows = []
    for kw in cases:
        row = _run(MATRIX, kw)
        rows.append({"benchmark": "lattice-matrix", "case": f"{kw['type']} {kw['porosity']:.2f}", **row})
    return rows


def run() -> list[dict]:
    return alif() + matrix()


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    rows = alif() if which == "alif" else matrix() if which == "matrix" else run()
    for row in rows:
        print(json.dumps(row))
