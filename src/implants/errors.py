"""Error contract of the package and the exit codes of the ``implants`` command.

Every error a user can cause is a :class:`ParameterError`; the kernel failing on
parameters the models accepted is a :class:`GeometryError` (a bug to report with
the parameters); writing files is :class:`ExportError`; a mesh that fails its
checks is :class:`CheckError`.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")


class ImplantError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


class ParameterError(ImplantError, ValueError):
    """Bad input: the message names the field, the value and the allowed range with its unit."""

    exit_code = 3


class GeometryError(ImplantError):
    """The CAD kernel failed for parameters that passed validation."""

    exit_code = 4


class CheckError(ImplantError):
    """A built or loaded mesh failed a required check."""

    exit_code = 5


class ExportError(ImplantError):
    """A file could not be written (nothing partial is left behind)."""

    exit_code = 6


#: Documented exit codes of the command line (README, ``implants --help``).
EXIT_CODES = {
    0: "success",
    2: "usage error (unknown command or option)",
    3: "invalid parameters or input file",
    4: "build failed in the CAD kernel",
    5: "checks failed",
    6: "export failed",
}


def kernel_guard(what: str, call: Callable[..., T], *args: Any, context: str = "", **kwargs: Any) -> T:
    """``call(*args, **kwargs)`` under the error contract: this package's errors pass; any other
    exception (the CAD kernel failing on accepted input) becomes a :class:`GeometryError`
    ``"<what> (<Exception>: <message>)<context>"``."""
    try:
        return call(*args, **kwargs)
    except ImplantError:
        raise
    except Exception as error:  # the kernel raising on accepted input is a bug to report
        raise GeometryError(f"{what} ({type(error).__name__}: {error}){context}") from error
