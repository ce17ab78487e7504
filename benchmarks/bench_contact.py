"""Contact-area computation on a ~100k-triangle implant against a ~50k-triangle endplate
(time and peak memory) side by side with three baselines in the same run (the libigl method
queried at node centroids that it replaced, kept in ``contact_centroid_baseline.py``; the R-tree
method before that, kept in ``contact_rtree_baseline.py``; plain ``trimesh.proximity.closest_point``),
and tessellation + export times of a filleted solid.

Run alone: ``python benchmarks/bench_contact.py``; ``benchmarks/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))  # contact_rtree_baseline.py beside this file


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


def sampled_closest_point_area(implant, endplate, tol: float, spacing: float, sample: int = 20_000,
                               chunk: int = 2_000) -> tuple[float, float, int]:
    """The straightforward baseline: every implant triangle near the endplate cut (longest-edge
    bisection) to sides <= ``spacing``, each piece counted when its centroid is within ``tol``
    of the endplate (``trimesh.proximity.closest_point`` in chunks of ``chunk`` points).
    All pieces would take minutes and gigabytes here, so a seeded sample of ``sample`` pieces
    is queried: returns (estimated seconds for all pieces = measured rate × count, estimated
    area = total area × contact fraction of the sample, number of pieces)."""
    import trimesh
    from contact_rtree_baseline import bisect_long_triangles

    tris = implant.triangles
    lo, hi = tris.min(axis=1), tris.max(axis=1)
    near = np.flatnonzero(np.all((hi >= endplate.bounds[0] - tol) & (lo <= endplate.bounds[1] + tol), axis=1))
    pieces, _ = bisect_long_triangles(tris[near], near, spacing)
    areas = 0.5 * np.linalg.norm(np.cross(pieces[:, 1] - pieces[:, 0], pieces[:, 2] - pieces[:, 0]), axis=1)
    chosen = np.random.default_rng(0).choice(len(pieces), size=min(sample, len(pieces)), replace=False)
    centroids = pieces[chosen].mean(axis=1)
    start = time.perf_counter()
    dist = np.concatenate([trimesh.proximity.closest_point(endplate, centroids[s:s + chunk])[1]
                           for s in range(0, len(centroids), chunk)])
    seconds = (time.perf_counter() - start) * len(pieces) / len(chosen)
    area = float(areas.sum() * areas[chosen][dist <= tol].sum() / areas[chosen].sum())
    return seconds, area, len(pieces)


def _timed(fn, repeats: int) -> tuple[float, float, object]:
    """Best wall time and its CPU time over ``repeats`` calls (a loaded machine: the best is the
    least disturbed), and the last result."""
    best, best_cpu, out = float("inf"), 0.0, None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - start
        if wall < best:
            best, best_cpu = wall, time.process_time() - cpu
    return best, best_cpu, out


def contact_rows(repeats: int = 5, with_closest_point: bool = True) -> list[dict]:
    """The corner-distance refinement (``implants.checks.contact``) against the centroid-queried
    libigl method and the R-tree method it replaced (in the same run) and against plain
    ``trimesh.proximity.closest_point`` on centroids of pieces cut to the sample spacing; ratios
    baseline / new, and each area's relative difference from a reference of the new method at
    an eighth of the sample spacing."""
    from contact_centroid_baseline import contact_area_centroid
    from contact_rtree_baseline import contact_area_rtree

    from implants import tolerances
    from implants.checks.contact import contact_area
    from implants.checks.footprint import footprint_area

    implant, endplate = contact_case()
    top = implant.face_normals[:, 2] > 0.5
    footprint = footprint_area(implant, top)
    reference = contact_area(implant, endplate, spacing_mm=tolerances.CONTACT_SAMPLE_SPACING_MM / 8).area_mm2
    contact_area_centroid(implant, endplate)  # warm-up (imports, first allocations)
    contact_area_rtree(implant, endplate)
    new_s, new_cpu, result = _timed(lambda: contact_area(implant, endplate, footprint_mm2=footprint), repeats)
    tracemalloc.start()  # a further run for the peak memory (tracing slows it down)
    contact_area(implant, endplate, footprint_mm2=footprint)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    case = f"{len(implant.faces)} implant tris vs {len(endplate.faces)} endplate tris"

    def off(area: float) -> float:
        return float(f"{abs(area - reference) / reference:.2e}")

    rows = [{"benchmark": "contact", "case": case + ": corner distances, libigl AABB (library)",
             "seconds": round(new_s, 3), "cpu_s": round(new_cpu, 3), "peak_mb": round(peak / 2**20, 1),
             "contact_mm2": round(result.area_mm2, 3), "reference_mm2": round(reference, 3),
             "area_rel_diff": off(result.area_mm2), "footprint_mm2": round(footprint, 2),
             "pct_footprint": round(result.pct_footprint, 2),
             "max_penetration_mm": round(result.max_penetration_mm, 5), "samples": result.samples}]
    for name, method in (("centroids, libigl AABB (baseline, before the corner distances)", contact_area_centroid),
                         ("R-tree candidate sets (baseline, before issue 18)", contact_area_rtree)):
        old_s, old_cpu, old = _timed(lambda m=method: m(implant, endplate, footprint_mm2=footprint), repeats)
        rows.append({"benchmark": "contact", "case": f"{case}: {name}", "seconds": round(old_s, 3),
                     "cpu_s": round(old_cpu, 3), "contact_mm2": round(old.area_mm2, 3),
                     "area_rel_diff": off(old.area_mm2), "max_penetration_mm": round(old.max_penetration_mm, 5),
                     "ratio_baseline_over_new": round(old_s / new_s, 2),
                     "cpu_ratio_baseline_over_new": round(old_cpu / new_cpu, 2)})
    if with_closest_point:
        cp_s, cp_area, pieces = sampled_closest_point_area(implant, endplate, tolerances.CONTACT_TOLERANCE_MM,
                                                           tolerances.CONTACT_SAMPLE_SPACING_MM)
        rows.append({"benchmark": "contact",
                     "case": case + f": trimesh closest_point on {pieces} pieces of 0.1 mm (baseline, 20k sampled)",
                     "seconds_estimated": round(cp_s, 2), "contact_mm2_estimated": round(cp_area, 1),
                     "ratio_baseline_over_new": round(cp_s / new_s, 1), "area_rel_diff": off(cp_area)})
    return rows


def run() -> list[dict]:
    import cadquery as cq

    from implants.writers.meshes import glb_bytes, stl_bytes, threemf_bytes
    from implants.writers.step import step_bytes
    from implants.writers.tessellate import tessellate

    rows = contact_rows()
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
