"""Robustness table: per registered type, N parameter samples drawn across the declared envelope
(the strategy and the per-sample check of tests/test_robustness.py, imported, not copied), counted
as built, rejected (ParameterError naming the fields) or failed (anything else: a bug).

    python benchmarks/bench_robustness.py [--samples 25] [--types a,b] [--timeout 120]

Each sample runs in a worker process with a time limit; a hang is stopped and counted as failed.

``run()`` (for benchmarks/run.py) uses the default 25 samples per type.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLES = 25


def _robustness_module():
    """tests/test_robustness.py, imported under its own name (tests/ is not a package) so that its
    worker process can import it too."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    return importlib.import_module("test_robustness")


def sample_type(type_id: str, samples: int = DEFAULT_SAMPLES, timeout: float | None = None,
                runner=None) -> dict:
    """Draw ``samples`` parameter sets for ``type_id`` (derandomized, as the test's CI tier) and count
    outcomes; each sample runs in the test's time-limited worker (a hang counts as a failure)."""
    from hypothesis import HealthCheck, Phase, given, settings

    robustness = _robustness_module()
    own = runner is None
    if own:
        runner = robustness.SampleRunner(timeout or robustness.SAMPLE_TIMEOUT_S)
    counts = {"tried": 0, "built": 0, "rejected": 0, "failed": 0}
    failures: list[str] = []
    slowest = [0.0]

    @settings(max_examples=samples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(robustness.parameter_overrides(type_id))
    def draw(drawn):
        preset, overrides = drawn
        counts["tried"] += 1
        start = time.perf_counter()
        try:
            counts[runner.run(type_id, preset, overrides)] += 1
        except robustness.SampleFailure as error:  # every other outcome is a failure to report
            counts["failed"] += 1
            failures.append(f"{preset} {overrides}: {str(error)[:300]}")
        slowest[0] = max(slowest[0], time.perf_counter() - start)

    start = time.perf_counter()
    try:
        draw()
    finally:
        if own:
            runner.close()
    return {"benchmark": "robustness", "case": type_id, **counts,
            "seconds": round(time.perf_counter() - start, 1), "slowest_s": round(slowest[0], 1), "failures": failures}


def run(samples: int = DEFAULT_SAMPLES, types: list[str] | None = None, timeout: float | None = None) -> list[dict]:
    import implants

    robustness = _robustness_module()
    runner = robustness.SampleRunner(timeout or robustness.SAMPLE_TIMEOUT_S)
    try:
        return [sample_type(type_id, samples, runner=runner) for type_id in (types or implants.type_ids())]
    finally:
        runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="samples per type (default 25)")
    parser.add_argument("--types", default="", help="comma-separated type ids (default: every registered type)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="per-sample time limit in s (default: the test's SAMPLE_TIMEOUT_S); longer is a failure")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    types = [t.strip() for t in args.types.split(",") if t.strip()] or None
    rows = run(args.samples, types, args.timeout)
    table = Table(title=f"Robustness: {args.samples} samples per type")
    columns = ("tried", "built", "rejected", "failed", "seconds", "slowest_s")
    for column in ("type",) + columns:
        table.add_column(column, justify="left" if column == "type" else "right")
    for row in rows:
        table.add_row(row["case"], *(str(row[k]) for k in columns))
    total = {k: sum(r[k] for r in rows) for k in ("tried", "built", "rejected", "failed", "seconds")}
    table.add_row("total", *(str(round(total[k], 1)) for k in columns[:-1]), str(max(r["slowest_s"] for r in rows)))
    console = Console()
    console.print(table)
    for row in rows:
        for failure in row["failures"]:
            console.print(f"FAILED {row['case']}: {failure}", markup=False, highlight=False)


if __name__ == "__main__":
    main()
