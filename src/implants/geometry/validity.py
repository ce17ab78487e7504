"""B-rep validity (``BRepCheck_Analyzer``) answered once per shape (layer: geometry).

Builders check a solid after a boolean, the export checks the implant's shape before tessellating
and again before writing STEP: the same shape, analysed up to four times (0.05 to 0.3 s each on a
column). The answer is kept per shape (same TShape, location and orientation) for the most recent
:data:`CACHE_SIZE` shapes; the cache holds a reference to each shape, so a TShape it knows cannot
be freed and its address reused by another shape while the answer is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from OCP.BRepCheck import BRepCheck_Analyzer

#: Shapes whose validity is remembered (the latest ones).
CACHE_SIZE = 64

_answers: OrderedDict[int, tuple[Any, bool]] = OrderedDict()
_lock = threading.Lock()


def is_valid(shape: Any) -> bool:
    """True when OCCT's ``BRepCheck_Analyzer`` finds ``shape`` (a CadQuery shape or a
    ``TopoDS_Shape``) valid; analysed once per shape (see the module docstring)."""
    wrapped = getattr(shape, "wrapped", shape)
    key = hash(wrapped)
    with _lock:
        known = _answers.get(key)
        if known is not None and known[0].IsEqual(wrapped):
            _answers.move_to_end(key)
            return known[1]
    valid = bool(BRepCheck_Analyzer(wrapped).IsValid())
    with _lock:
        _answers[key] = (wrapped, valid)
        while len(_answers) > CACHE_SIZE:
            _answers.popitem(last=False)
    return valid
