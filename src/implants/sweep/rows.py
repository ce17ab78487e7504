"""The row every sweep worker returns (layer: sweep): the identifying columns of a variant, and
a failure recorded in it as one line naming the stage, so that the variant and the population
workers (:mod:`.worker`, :mod:`.patient_worker`) fill and fail their rows the same way.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ImplantError


def new_row(task: dict[str, Any]) -> dict[str, Any]:
    """The columns every result row starts with: index, variant name, key, ``status`` ``"ok"``, no
    error, and the worker (``host:pid``) that ran it."""
    return {"index": task["index"], "variant": task["name"], "key": task["key"], "status": "ok", "error": None,
            "worker": f"{os.uname().nodename}:{os.getpid()}"}


def record_failure(row: dict[str, Any], stage: str, error: Exception) -> None:
    """Mark ``row`` failed with the first line of ``"<stage>: <message>"`` (the project's own
    errors by their message, anything else prefixed by its type)."""
    message = str(error) if isinstance(error, ImplantError) else f"{type(error).__name__}: {error}"
    row["status"] = "failed"
    row["error"] = f"{stage}: {message}".splitlines()[0]
