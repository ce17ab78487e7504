"""Export of implants: one tessellation, STEP, STL, 3MF, GLB, manifest, atomic writes.

``implants.export(implant, out_dir, ...)`` is the public entry point
(:func:`implants.export.pipeline.export`); this package is callable for that reason (see
:mod:`implants._callable`).
"""

from __future__ import annotations

from .._callable import make_callable


def _pipeline_export():
    from .pipeline import export

    return export


make_callable(__name__, _pipeline_export)
