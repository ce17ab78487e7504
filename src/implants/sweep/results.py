"""A sweep's results on disk (layer: sweep): the journal ``DIR/results.jsonl`` and the table
``DIR/results.csv`` / ``DIR/results.parquet``.

Rows are appended to the journal as each variant finishes (flushed and fsynced), so an
interrupted sweep loses nothing; a rerun reads them back by key (:func:`read_rows`). At the end
the table holds one row per variant: lead columns, parameters, metrics, timings, output paths.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .spec import Variant

RESULTS_JSONL = "results.jsonl"
RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
#: Leading columns of the results table, in order.
LEAD_COLUMNS = ("index", "variant", "status", "error", "reused")
TIMING_COLUMNS = ("build_s", "export_s", "metrics_s", "total_s")


def read_rows(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of a results.jsonl by key (last wins); a torn last line is ignored."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "key" in row:
            rows[row["key"]] = row
    return rows


class Journal:
    """Append-only JSON lines, each flushed and fsynced as soon as it is written."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "a+b")
        self.file.seek(0, os.SEEK_END)
        if self.file.tell():  # a run killed mid-line leaves a torn line: start on a fresh one
            self.file.seek(-1, os.SEEK_END)
            if self.file.read(1) != b"\n":
                self.file.write(b"\n")

    def append(self, row: dict[str, Any]) -> None:
        self.file.write((json.dumps(row, default=str) + "\n").encode())
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def results_table(variants: list[Variant], rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per variant: lead columns, parameters, metrics, timings, output paths."""
    records = []
    param_names: list[str] = []
    for variant in variants:
        row = dict(rows.get(variant.key) or {"status": "missing"})
        params = variant.params if variant.params is not None else variant.values
        for name in params:
            if name not in param_names:
                param_names.append(name)
        record = {"index": variant.index, "variant": variant.name, "status": row.get("status"),
                  "error": row.get("error"), "reused": bool(row.get("reused", False))}
        record.update(params)
        record.update({k: v for k, v in row.items() if k not in record and k not in ("key", "index", "variant")})
        record["key"] = variant.key
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    rest = [c for c in frame.columns if c not in LEAD_COLUMNS and c not in param_names]
    paths = [c for c in rest if c.startswith("path_")]
    timings = [c for c in rest if c in TIMING_COLUMNS]
    metrics = [c for c in rest if c not in paths and c not in timings and c not in ("key", "worker")]
    order = [*LEAD_COLUMNS, *param_names, *metrics, *timings, *paths, "worker", "key"]
    return frame[[c for c in order if c in frame.columns]]


def write_table(frame: pd.DataFrame, root: Path) -> None:
    """results.csv and results.parquet, each written atomically."""
    csv_tmp = root / f".{RESULTS_CSV}.tmp"
    frame.to_csv(csv_tmp, index=False)
    os.replace(csv_tmp, root / RESULTS_CSV)
    parquet_tmp = root / f".{RESULTS_PARQUET}.tmp"
    try:
        frame.to_parquet(parquet_tmp, index=False)
    except Exception:  # mixed-type object columns: store them as text
        safe = frame.copy()
        for column in safe.columns[safe.dtypes == object]:
            safe[column] = safe[column].map(lambda v: None if v is None else str(v))
        safe.to_parquet(parquet_tmp, index=False)
    os.replace(parquet_tmp, root / RESULTS_PARQUET)


def summary(frame: pd.DataFrame) -> dict[str, int]:
    """Counts of variants by status, and how many were reused from a previous run."""
    counts = {str(k): int(v) for k, v in frame["status"].value_counts().items()}
    counts["reused"] = int(frame["reused"].sum())
    counts["total"] = int(len(frame))
    return counts
