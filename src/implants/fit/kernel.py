"""A template's build run for a fit (layer: fit), under the library's error contract: the CAD
kernel failing on accepted input is a :class:`~implants.errors.GeometryError` naming the fit.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import GeometryError, ParameterError
from ..model import Implant


def kernel_build(what: str, build: Callable[..., Implant], *args: Any, **kwargs: Any) -> Implant:
    """``build(*args, **kwargs)``; ParameterError and GeometryError pass, any other exception
    becomes a GeometryError "``what``: the CAD kernel failed (...)"."""
    try:
        return build(*args, **kwargs)
    except (ParameterError, GeometryError):
        raise
    except Exception as error:  # the kernel failing on accepted input is a geometry failure
        raise GeometryError(f"{what}: the CAD kernel failed ({type(error).__name__}: {error})") from error
