"""Sweep benchmark: a 24-variant lumbar cage sweep (STEP + STL + checks) with 1 and 2 local
workers (speed-up, throughput in variants/min, wall time including worker start), and a rerun of
the finished sweep (everything reused, nothing built)."""

from __future__ import annotations

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


def _timed(out: Path, workers: int):
    from implants.sweep.runner import run_sweep

    start = time.perf_counter()
    frame = run_sweep(SPEC, out, workers=workers)
    return frame, time.perf_counter() - start


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        seconds = {}
        for workers in (1, 2):
            frame, wall = _timed(Path(tmp) / f"w{workers}", workers)
            seconds[workers] = wall
            ok = int((frame["status"] == "ok").sum())
            rows.append({"benchmark": "sweep", "case": f"24 cage variants, STEP+STL+checks, {workers} worker(s)",
                         "variants": len(frame), "ok": ok, "wall_s": round(wall, 2),
                         "variants_per_min": round(60.0 * len(frame) / wall, 1),
                         "mean_variant_s": round(float(frame["total_s"].mean()), 3)})
        rows.append({"benchmark": "sweep", "case": "speed-up 2 workers vs 1",
                     "speedup": round(seconds[1] / seconds[2], 2)})
        frame, wall = _timed(Path(tmp) / "w2", 2)
        rows.append({"benchmark": "sweep", "case": "rerun of the finished 24-variant sweep",
                     "reused": int(frame["reused"].sum()), "wall_s": round(wall, 3),
                     "fraction_of_first_run": round(wall / seconds[2], 4)})
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
