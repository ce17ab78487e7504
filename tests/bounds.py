"""Out-of-bounds values for every bounded field of a parameter model (shared by template tests)."""

from __future__ import annotations


def out_of_bounds(model):
    """(field, value) just below each ``ge`` and just above each ``le`` bound (±1 for integers)."""
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if getattr(meta, "ge", None) is not None:
                yield name, meta.ge - (1 if isinstance(meta.ge, int) else 0.01)
            if getattr(meta, "le", None) is not None:
                yield name, meta.le + (1 if isinstance(meta.le, int) else 0.01)
