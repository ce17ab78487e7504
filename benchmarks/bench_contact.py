"""Contact-area computation on a ~100k-triangle implant against a ~50k-triangle endplate
(time and peak memory), and tessellation + export times of a filleted solid.

Run alone: ``python benchmarks/bench_contact.py``; ``benchmarks/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np


def _dome(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Inferior endplate of the upper vertebra (mm): domed 1.5 mm over a 40 × 30 mm footprint."""
    return 6.0 + 1.5 * (1.0 - (x / 22.0) ** 2 - (y / 17.0) ** 2)


def heightfield_block(x_range, y_range, nx: int, ny: int, top, bottom, offset: float = 0.0):
    """Closed triangle mesh between ``bottom(x, y)`` and ``top(x, y)`` over a grid of
    nx × ny cells (``offset`` shifts the grid by a fraction of a cell)."""
    import trimesh

    xs = np.linspace(*x_range, nx + 1)
    ys = np.linspace(*y_range, ny + 1)
    if offset:
        xs[1:-1] += offset * (xs[1] - xs[0])
        ys[1:-1] += offset * (ys[1] - ys[0])
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    n = (nx + 1) * (ny + 1)
    top_v = np.column_stack([gx.ravel(), gy.ravel(), top(gx, gy).ravel()])
    bot_v = np.column_stack([gx.ravel(), gy.ravel(), bottom(gx, gy).ravel()])
    idx = np.arange(n).reshape(nx + 1, ny + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    top_f = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    bot_f = top_f[:, ::-1] + n
    ring = np.concatenate([idx[:, 0], idx[-1, 1:], idx[::-1, -1][1:], idx[0, ::-1][1:-1]])
    nxt = np.roll(ring, -1)
    side = np.concatenate([np.column_stack([ring, ring + n, nxt]), np.column_stack([nxt, ring + n, nxt + n])])
    mesh = trimesh.Trimesh(np.vstack([top_v, bot_v]), np.vstack([top_f, bot_f, side]), process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def contact_case():
    """A cage-like block (~100k triangles) whose top is congruent to a domed endplate slab
    (~50k triangles, a different grid) that it touches."""
    implant = heightfield_block((-20, 20), (-15, 15), 180, 140, _dome, lambda x, y: -6.0 + 0 * x)
    endplate = heightfield_block((-25, 25), (-20, 20), 113, 110, lambda x, y: 20.0 + 0 * x, _dome, offset=0.37)
    return implant, endplate


def run() -> list[dict]:
    import cadquery as cq

    from implants.checks.contact import contact_area
    from implants.checks.footprint import footprint_area
    from implants.writers.meshes import glb_bytes, stl_bytes, threemf_bytes
    from implants.writers.step import step_bytes
    from implants.writers.tessellate import tessellate

    rows = []
    implant, endplate = contact_case()
    top = implant.face_normals[:, 2] > 0.5
    footprint = footprint_area(implant, top)
    contact_area(implant, endplate)  # warm-up (imports, R-tree library)
    start, cpu = time.perf_counter(), time.process_time()
    result = contact_area(implant, endplate, footprint_mm2=footprint)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tracemalloc.start()  # a second run for the peak memory (tracing slows it down)
    contact_area(implant, endplate, footprint_mm2=footprint)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows.append({"benchmark": "contact", "case": f"{len(implant.faces)} implant tris vs {len(endplate.faces)} endplate tris",
                 "seconds": round(seconds, 3), "cpu_s": round(cpu, 3), "peak_mb": round(peak / 2**20, 1),
                 "contact_mm2": round(result.area_mm2, 2), "footprint_mm2": round(footprint, 2),
                 "pct_footprint": round(result.pct_footprint, 2), "samples": result.samples})

    solid = cq.Workplane().box(40, 30, 12).edges("|Z").fillet(5).faces(">Z or <Z").edges().fillet(1.0).val()
    for deflection in (0.02, 0.005):
        start = time.perf_counter()
        tess = tessellate(solid, deflection)
        t_tess = time.perf_counter() - start
        timings = {}
        for name, writer in (("stl", stl_bytes), ("3mf", threemf_bytes), ("glb", glb_bytes)):
            start = time.perf_counter()
            writer(tess.mesh)
            timings[f"{name}_s"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        step_bytes(solid)
        timings["step_s"] = round(time.perf_counter() - start, 3)
        rows.append({"benchmark": "tessellate+export", "case": f"filleted box 40x30x12, deflection {deflection} mm",
                     "triangles": len(tess.mesh.faces), "tessellate_s": round(t_tess, 3), **timings})
    return rows


if __name__ == "__main__":
    from rich.console import Console
    from rich.table import Table

    table = Table(title="contact area and export benchmark")
    for column in ("benchmark", "case", "figures"):
        table.add_column(column)
    for row in run():
        figures = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("benchmark", "case"))
        table.add_row(row["benchmark"], row["case"], figures)
    Console().print(table)
