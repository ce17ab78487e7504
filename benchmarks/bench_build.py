"""Per preset of every registered type: build, export (STEP+STL+3MF+GLB with checks) times;
cold start of `implants --help` and `implants list`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cold(*args: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "implants.cli", *args], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def run() -> list[dict]:
    import implants
    from implants.pipeline import export

    rows = [{"benchmark": "cli", "case": "implants --help (cold, best of 3)", "seconds": _cold("--help")},
            {"benchmark": "cli", "case": "implants list (cold, best of 3)", "seconds": _cold("list")}]
    with tempfile.TemporaryDirectory() as tmp:
        for template in implants.templates():
            for preset in template.presets:
                start = time.perf_counter()
                implant = implants.build(template.type_id, preset=preset)
                built = time.perf_counter()
                export(implant, Path(tmp) / template.type_id / preset)
                done = time.perf_counter()
                rows.append({"benchmark": "build+export", "case": f"{template.type_id}/{preset}",
                             "build_s": round(built - start, 3), "export_checks_s": round(done - built, 3)})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
