"""Per preset of every registered type: build, export (STEP+STL+3MF+GLB with checks) times and
CPU seconds, with the ratio to the figures saved before issue 18 (``baseline-before-issue18.json``,
a quieter machine: on a loaded one compare ``cpu_s``, which waiting does not inflate); cold start
of `implants --help` and `implants list`; `implants demo` (every type's default model, all formats
and pictures, 2 workers) cold, wall and CPU seconds of all its processes."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = Path(__file__).parent / "baseline-before-issue18.json"


def baseline_seconds() -> dict[str, float]:
    """Build + export seconds per ``type/preset`` saved before issue 18."""
    rows = json.loads(BASELINE.read_text()) if BASELINE.exists() else []
    return {r["case"]: r["build_s"] + r["export_checks_s"] for r in rows if r["benchmark"] == "build+export"}


def _cold(*args: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "implants.cli", *args], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def _demo() -> dict:
    """`implants demo` in a fresh process: wall seconds and the CPU seconds of it and its workers."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "implants.cli", "demo", "--out", tmp, "--json"], check=True,
                       capture_output=True)
        seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    row = {"benchmark": "demo", "case": "implants demo (8 types, all formats, pictures, 2 workers, cold)",
           "seconds": round(seconds, 3), "cpu_s": round(cpu, 3)}
    baseline = [r for r in json.loads(BASELINE.read_text()) if r["benchmark"] == "demo"] if BASELINE.exists() else []
    if baseline:
        row["baseline_s"] = baseline[0]["seconds"]
        row["ratio_baseline_over_now"] = round(baseline[0]["seconds"] / seconds, 2)
    return row


def run() -> list[dict]:
    import implants
    from implants.pipeline import export

    rows = [{"benchmark": "cli", "case": "implants --help (cold, best of 3)", "seconds": _cold("--help")},
            {"benchmark": "cli", "case": "implants list (cold, best of 3)", "seconds": _cold("list")}]
    before = baseline_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        for template in implants.templates():
            for preset in template.presets:
                start, cpu = time.perf_counter(), time.process_time()
                implant = implants.build(template.type_id, preset=preset)
                built = time.perf_counter()
                export(implant, Path(tmp) / template.type_id / preset)
                done = time.perf_counter()
                case = f"{template.type_id}/{preset}"
                row = {"benchmark": "build+export", "case": case, "build_s": round(built - start, 3),
                       "export_checks_s": round(done - built, 3), "cpu_s": round(time.process_time() - cpu, 3)}
                if case in before:
                    row["baseline_s"] = round(before[case], 3)
                    row["ratio_baseline_over_now"] = round(before[case] / (done - start), 2)
                    row["ratio_baseline_over_cpu"] = round(before[case] / row["cpu_s"], 2)
                rows.append(row)
    rows.append(_demo())
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
