"""Export of implants: one tessellation, STEP, STL, 3MF, GLB, manifest, atomic writes.

``implants.export(implant, out_dir, ...)`` is the public entry point. Importing any module of
this package (``implants.export.pipeline``...) makes Python bind the attribute ``export`` of
the ``implants`` package to this package, hiding the function of the same name; this package
is therefore callable and delegates to :func:`implants.export.pipeline.export`, so
``implants.export(...)`` works either way.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, implant: Any, out_dir: Any, **options: Any):
        from .pipeline import export

        return export(implant, out_dir, **options)


sys.modules[__name__].__class__ = _CallableModule
