"""Run every benchmark and print one table: `python benchmarks/run.py` (or `make bench`).

Each ``bench_*.py`` module in this folder exposes ``run() -> list[dict]``; every dict is a row
with at least ``benchmark``, ``case`` and one or more measured figures.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(selected: list[str]) -> None:
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        if selected and path.stem.removeprefix("bench_") not in selected:
            continue
        rows.extend(load(path).run())
    table = Table(title="spine-implants benchmarks (this machine)")
    for column in ("benchmark", "case", "figures"):
        table.add_column(column)
    for row in rows:
        figures = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("benchmark", "case"))
        table.add_row(str(row["benchmark"]), str(row["case"]), figures)
    Console().print(table)
    (HERE / "last-run.json").write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
