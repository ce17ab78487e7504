"""Run a sweep (layer: sweep): expand the spec, reuse what a previous run recorded, run the rest
on a local pool or a Dask cluster (:mod:`implants.sweep.pool`), and write the results table.

Results are appended to ``DIR/results.jsonl`` as each variant finishes (:mod:`implants.sweep.results`).
A rerun reuses every recorded variant whose key (hash of its full parameters, outputs and
metrics settings) matches and whose output manifest still exists; an interrupted sweep thus
continues with nothing lost or duplicated. ``DIR/results.csv`` and ``DIR/results.parquet`` hold
one row per variant at the end; each variant's files are in ``DIR/variants/<variant>/``.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ..errors import ParameterError
from .patient_plot import SUMMARY_PNG, plot_patient_summary
from .patients import expand_patients
from .pool import run_dask, run_local
from .results import RESULTS_JSONL, Journal, read_rows, results_table, write_table
from .spec import SweepSpec, Variant, expand, load_spec, resolve_template, stable_hash

VARIANTS_DIR = "variants"


def _reusable(row: dict[str, Any] | None, variant: Variant, root: Path, retry_failed: bool) -> bool:
    if row is None:
        return False
    if row.get("status") == "invalid":
        return not variant.ok
    if row.get("status") != "ok":
        return not retry_failed
    manifest = row.get("path_manifest")
    if not manifest or not (root / manifest).is_file():
        return False
    if any(not (root / v).is_file() for k, v in row.items() if k.startswith("path_") and v):
        return False
    try:
        recorded = json.loads((root / manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    # the manifest's parameter hash must be this variant's (ImplantParams.params_hash of the same JSON)
    return variant.params is not None and recorded.get("params_hash") == stable_hash(variant.params)


def _task(spec: SweepSpec, variant: Variant, root: Path, preset: str) -> dict[str, Any]:
    contact = spec.metrics.contact
    return {"index": variant.index, "name": variant.name, "key": variant.key, "type": spec.type, "preset": preset,
            "params": variant.params, "root": str(root), "rel_dir": f"{VARIANTS_DIR}/{variant.name}",
            "formats": list(spec.outputs.formats), "pictures": spec.outputs.pictures,
            "deflection_mm": spec.outputs.deflection_mm, "checks": spec.metrics.checks, "mass": spec.metrics.mass,
            "contact": None if contact is None else contact.model_dump(),
            "patient": None if spec.patient is None else spec.patient.model_dump(mode="json")}


class _VariantsPerMinute(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("– variants/min" if speed is None else f"{speed * 60:.1f} variants/min")


def _progress(enabled: bool):
    """A progress bar on stderr (variants done, rate, ETA), or a context of None when disabled."""
    if not enabled:
        return nullcontext(None)
    return Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), _VariantsPerMinute(),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))


def run_sweep(spec: str | Path | dict[str, Any] | SweepSpec, out_dir: str | Path, workers: int | None = None,
              scheduler: Any = None, timeout: float | None = None, progress: bool = False,
              retry_failed: bool = False, on_row: Callable[[dict[str, Any]], None] | None = None) -> pd.DataFrame:
    """Run a sweep into ``out_dir`` and return its results table (one row per variant).

    ``workers``: local processes (default: CPU count); ``scheduler``: a Dask scheduler address or
    ``distributed.Client`` instead of the local pool; ``timeout``: per-variant time limit in
    seconds (default: the spec's ``timeout_s``); ``retry_failed``: rebuild variants recorded as
    failed or timed out (they are kept otherwise). Column ``reused`` is True for variants taken
    from a previous run.
    """
    spec = load_spec(spec)
    if workers is not None and not 1 <= workers <= 256:
        raise ParameterError(f"--workers = {workers}: allowed 1 to 256")
    limit = float(timeout if timeout is not None else spec.timeout_s)
    if not limit > 0:
        raise ParameterError(f"--timeout = {timeout}: must be > 0 s")
    # every variant validated before anything is built
    variants = expand_patients(spec) if spec.patient is not None else expand(spec)
    root = Path(out_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "sweep.json").write_text(json.dumps(spec.model_dump(mode="json"), indent=2))
    preset = spec.preset or resolve_template(spec.type).default_preset
    journal_path = root / RESULTS_JSONL
    previous = read_rows(journal_path)
    rows: dict[str, dict[str, Any]] = {}
    journal = Journal(journal_path)
    try:
        todo = []
        for variant in variants:
            old = previous.get(variant.key)
            if _reusable(old, variant, root, retry_failed):
                rows[variant.key] = {**old, "reused": True}
            elif not variant.ok:
                row = {"index": variant.index, "variant": variant.name, "key": variant.key, "status": "invalid",
                       "error": variant.error}
                journal.append(row)
                rows[variant.key] = row
            else:
                todo.append(_task(spec, variant, root, preset))
        with _progress(progress) as bar:
            task_id = bar.add_task("sweep", total=len(todo)) if bar is not None else None
            if todo:
                stream = (run_dask(todo, scheduler, limit) if scheduler is not None
                          else run_local(todo, workers or os.cpu_count() or 1, limit))
                for row in stream:
                    journal.append(row)
                    rows[row["key"]] = row
                    if bar is not None:
                        bar.advance(task_id)
                    if on_row is not None:
                        on_row(row)
    finally:
        journal.close()
        frame = results_table(variants, rows)
        write_table(frame, root)
    if spec.patient is not None:
        plot_patient_summary(frame, root / SUMMARY_PNG)
    return frame
