"""Parameter sweeps and size kits (layer: sweep; SPEC.md §6): ``run_sweep(spec, out_dir) -> DataFrame``,
``make_kit(type_id, vary, out_dir) -> DataFrame``, ``plot_results``, ``load_spec``, ``expand``.

The package attributes import their module on first use, so that ``implants.sweep.plot`` or
``implants.sweep.spec`` alone does not load the runner, whose workers import the CAD kernel."""

from __future__ import annotations

from typing import Any

__all__ = ["run_sweep", "load_spec", "expand", "make_kit", "plot_results", "SweepSpec"]


def __getattr__(name: str) -> Any:
    if name in ("load_spec", "expand", "SweepSpec"):
        from . import spec

        return getattr(spec, name)
    if name == "run_sweep":
        from .runner import run_sweep

        return run_sweep
    if name == "make_kit":
        from .kit import make_kit

        return make_kit
    if name == "plot_results":
        from .plot import plot_results

        return plot_results
    raise AttributeError(name)
