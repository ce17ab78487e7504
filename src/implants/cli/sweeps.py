"""``implants sweep``, ``implants sweep-plot`` and ``implants kit`` (layer: cli): parameter sweeps,
their plots and size kits. The sweep package (pandas, the kernel in the workers) is imported
inside the verbs, so that ``implants --help`` loads none of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .inputs import parse_assignments, parse_formats
from .output import console, emit_json, new_table, to_stderr


def sweep(
    spec_file: Path = typer.Argument(..., metavar="SPEC.yaml", help="Sweep spec (YAML): type, preset, axes, outputs, metrics."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (results.csv/.parquet at its top)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local worker processes (default: CPU count)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Per-variant time limit in s (default: the spec's)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Rebuild variants recorded as failed or timed out."),
    as_json: bool = typer.Option(False, "--json", help="Print the status counts as JSON."),
) -> None:
    """Run a parameter sweep (parallel, resumable); one row per variant in OUT/results.csv and .parquet."""
    from ..sweep.results import RESULTS_CSV, summary
    from ..sweep.runner import run_sweep

    frame = run_sweep(spec_file, out, workers=workers, scheduler=scheduler, timeout=timeout,
                      progress=not as_json, retry_failed=retry_failed)
    counts = summary(frame)
    if as_json:
        emit_json({**counts, "results": str(out / RESULTS_CSV)})
    else:
        table = new_table(f"Sweep {spec_file.name} → {out}/results.csv, results.parquet",
                          ("variants", "ok", "failed", "invalid", "timeout", "reused from a previous run"))
        table.add_row(str(counts["total"]), *(str(counts.get(k, 0)) for k in ("ok", "failed", "invalid", "timeout")),
                      str(counts["reused"]))
        console.print(table)
        for _, row in frame[frame["status"] != "ok"].head(10).iterrows():
            to_stderr(f"{row['variant']}: {row['status']}: {row['error']}")
    _sweep_outcome(counts)


def _sweep_outcome(counts: dict[str, int]) -> None:
    """Say loudly when variants failed; exit 3 (all invalid) or 4 when no variant was built."""
    bad = counts["total"] - counts.get("ok", 0)
    if bad == 0:
        return
    if counts.get("ok", 0) == 0:
        to_stderr(f"error: every variant of the sweep failed ({bad} of {counts['total']}); no results to use")
        raise typer.Exit(3 if counts.get("invalid", 0) == bad else 4)
    to_stderr(f"warning: {bad} of {counts['total']} variants failed (status column of results.csv)")


def sweep_plot(
    results: Path = typer.Argument(..., metavar="RESULTS", help="results.parquet, results.csv or the sweep folder."),
    metric: str = typer.Option(..., "--metric", "-m", help="Metric column to plot (e.g. volume_mm3)."),
    x: str = typer.Option(..., "--x", help="Parameter on the x axis."),
    y: Optional[str] = typer.Option(None, "--y", help="Second parameter (y axis; the metric becomes colour)."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file to write."),
) -> None:
    """Draw a sweep metric against one or two parameters as a PNG."""
    from ..sweep.plot import plot_results

    console.print(str(plot_results(results, metric, x, out, y=y)))


def kit(
    type_id: str = typer.Argument(..., metavar="TYPE", help="Implant type id (see `implants list`)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Nominal preset (default: the type's default)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Nominal parameter override key=value (repeatable)."),
    vary: list[str] = typer.Option(..., "--vary", help="key=-1:+1:1 (offsets from nominal) or key=a,b,c; "
                                   "link keys with + (depth_mm+width_mm=-2:+2:2). Repeatable: product."),
    formats: str = typer.Option("step,stl", "--format", help="Comma-separated formats: step,stl,3mf,glb."),
    out: Path = typer.Option(..., "--out", "-o", help="Kit folder."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local worker processes."),
    as_json: bool = typer.Option(False, "--json", help="Print the kit table as JSON."),
) -> None:
    """Build a size kit: graded variants around a nominal, a kit table (kit.csv) and a picture (kit.png)."""
    from ..sweep.kit import make_kit

    table = make_kit(type_id, vary, out, preset=preset, params=parse_assignments(set_),
                     formats=parse_formats(formats), workers=workers, progress=not as_json)
    if as_json:
        emit_json(json.loads(table.to_json(orient="records")))
        return
    shown = new_table(f"Kit of {type_id} in {out}/ (kit.csv, kit.png; not a medical device)",
                      ("variant", "size", "nominal", "status", "volume mm³", "Ti-6Al-4V g", "checks"))
    for _, row in table.iterrows():
        ok = row["status"] == "ok"
        shown.add_row(row["variant"], row["label"], "●" if row["nominal"] else "", row["status"],
                      f"{row['volume_mm3']:.0f}" if ok else "", f"{row['mass_ti6al4v_g']:.2f}" if ok else "",
                      ("pass" if row["checks_ok"] else "FAIL") if ok else str(row["error"]))
    console.print(shown)
    if not (table["status"] == "ok").all():
        raise typer.Exit(5)
