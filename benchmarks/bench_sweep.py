"""Sweep benchmark: a 24-variant lumbar cage sweep (STEP + STL + checks) with 1 and 2 local
workers, each run in a fresh Python process so both pay the same start-up (interpreter, fork
server importing the kernel, workers warming up); then a rerun of the finished sweep (everything
reused, nothing built). Reports wall time with and without start-up, throughput and speed-up.

    python benchmarks/bench_sweep.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = {
    "type": "interbody-cage",
    "preset": "lumbar-alif",
    "axes": {"lordosis_deg": [4.0, 6.0, 8.0, 10.0, 12.0, 14.0], "height_mm": [10.0, 11.0, 12.0, 13.0]},
    "outputs": {"formats": ["step", "stl"]},
    "metrics": {"checks": True, "mass": True},
}


def _child(out: str, workers: int) -> None:
    """Run the sweep in this (fresh) process and print its figures as JSON."""
    start = time.perf_counter()
    from implants.sweep.runner import run_sweep

    first_row: list[float] = []
    frame = run_sweep(SPEC, out, workers=workers,
                      on_row=lambda row: first_row or first_row.append(time.perf_counter()))
    end = time.perf_counter()
    print(json.dumps({"wall_s": end - start, "variants": len(frame), "ok": int((frame["status"] == "ok").sum()),
                      "reused": int(frame["reused"].sum()), "mean_variant_s": float(frame["total_s"].mean()),
                      "first_row_s": (first_row or [end])[0] - start}))


def _timed(out: Path, workers: int) -> dict:
    """Start a fresh interpreter (its start counts) that runs the sweep into ``out``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(out), str(workers)],
                          check=True, capture_output=True, text=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {**figures, "wall_s": time.perf_counter() - start}


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        results = {workers: _timed(Path(tmp) / f"w{workers}", workers) for workers in (1, 2)}
        for workers, r in results.items():
            # steady state: from the first finished variant to the last (start-up excluded)
            steady = (r["variants"] - 1) * 60.0 / max(r["wall_s"] - r["first_row_s"], 1e-9)
            rows.append({"benchmark": "sweep", "case": f"24 cage variants, STEP+STL+checks, {workers} worker(s)",
                         "variants": r["variants"], "ok": r["ok"], "wall_s": round(r["wall_s"], 2),
                         "start_to_first_variant_s": round(r["first_row_s"], 2),
                         "variants_per_min": round(60.0 * r["variants"] / r["wall_s"], 1),
                         "steady_variants_per_min": round(steady, 1),
                         "mean_variant_s": round(r["mean_variant_s"], 3)})
        rows.append({"benchmark": "sweep", "case": "speed-up 2 workers vs 1 (fresh process each, start-up included)",
                     "speedup": round(results[1]["wall_s"] / results[2]["wall_s"], 2)})
        rerun = _timed(Path(tmp) / "w2", 2)
        rows.append({"benchmark": "sweep", "case": "rerun of the finished 24-variant sweep (fresh process)",
                     "reused": rerun["reused"], "wall_s": round(rerun["wall_s"], 3),
                     "fraction_of_first_run": round(rerun["wall_s"] / results[2]["wall_s"], 4)})
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        print(json.dumps(run(), indent=2))
