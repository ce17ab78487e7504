"""Plots of a sweep's results table (layer: sweep): a metric against one parameter (line + points) or two
parameters (filled contour when the points form a grid, coloured scatter otherwise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .results import RESULTS_CSV, RESULTS_PARQUET


def read_results(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """A results table from a DataFrame, a results.parquet/.csv file or a sweep folder."""
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if path.is_dir():
        for name in (RESULTS_PARQUET, RESULTS_CSV):
            if (path / name).is_file():
                path = path / name
                break
    if not path.is_file():
        raise ParameterError(f"results '{source}' not found (give results.parquet, results.csv or the sweep folder)")
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as error:  # unreadable file: a user error
        raise ParameterError(f"results '{path}' cannot be read: {type(error).__name__}: {error}") from None


def _column(frame: pd.DataFrame, name: str, what: str) -> str:
    for candidate in (name, f"check.{name}", f"template.{name}", f"contact.{name}"):
        if candidate in frame.columns:
            return candidate
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "fiub"]
    raise ParameterError(f"{what} '{name}' is not a column of the results (numeric columns: {', '.join(numeric)})")


def plot_results(results: str | Path | pd.DataFrame, metric: str, x: str, out: str | Path,
                 y: str | None = None, title: str | None = None) -> Path:
    """Draw ``metric`` against parameter ``x`` (and ``y``) for the successful variants; write PNG ``out``."""
    import matplotlib  # matplotlib, and its switch to the headless backend, only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = read_results(results)
    if "status" in frame.columns:
        frame = frame[frame["status"] == "ok"]
    m, cx = _column(frame, metric, "--metric"), _column(frame, x, "--x")
    cy = _column(frame, y, "--y") if y else None
    columns = [c for c in (m, cx, cy) if c]
    data = frame[columns].apply(pd.to_numeric, errors="coerce").dropna()
    if data.empty:
        raise ParameterError(f"no successful variant has numeric values for {', '.join(columns)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    if cy is None:
        data = data.sort_values(cx)
        groups = data.groupby(cx)[m]
        ax.plot(data[cx], data[m], "o", alpha=0.5, color="tab:blue", label="variants")
        ax.plot(groups.mean().index, groups.mean().values, "-", color="tab:blue", label="mean")
        ax.set_ylabel(m)
        ax.legend()
    else:
        xs, ys = np.unique(data[cx]), np.unique(data[cy])
        table = data.pivot_table(index=cy, columns=cx, values=m, aggfunc="mean")
        if len(xs) > 1 and len(ys) > 1 and not table.isna().any().any():
            filled = ax.contourf(table.columns.values, table.index.values, table.values, levels=12, cmap="viridis")
            fig.colorbar(filled, ax=ax, label=m)
            ax.plot(data[cx], data[cy], "k.", markersize=3)
        else:
            points = ax.scatter(data[cx], data[cy], c=data[m], cmap="viridis", s=40)
            fig.colorbar(points, ax=ax, label=m)
        ax.set_ylabel(cy)
    ax.set_xlabel(cx)
    ax.set_title(title or (f"{m} vs {cx}" + (f" and {cy}" if cy else "")) + f" ({len(data)} variants)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
