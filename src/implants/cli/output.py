"""What the command line prints (layer: cli): the stdout and stderr consoles, package errors as
one line on stderr with the documented exit code, JSON, tables and the busy spinner."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager, nullcontext
from functools import wraps
from typing import Any, Callable, Iterable

import typer
from rich.console import Console
from rich.table import Table

from ..errors import ImplantError

#: Tables and progress for people (120 columns when stdout is not a terminal).
console = Console(width=None if sys.stdout.isatty() else 120)
#: Errors, warnings and progress bars: stderr, so that ``--json`` output stays clean.
errors = Console(stderr=True)


def to_stderr(line: str) -> None:
    """One plain line on stderr: no rich markup, no highlighting, no wrapping."""
    errors.print(line, markup=False, highlight=False, soft_wrap=True)


def user_errors(command: Callable) -> Callable:
    """Turn package errors into one line on stderr and the documented exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ImplantError as error:
            to_stderr(f"error: {error}")
            raise typer.Exit(error.exit_code) from None

    return wrapper


def emit_json(data: Any) -> None:
    """Print JSON to stdout without rich markup."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def new_table(title: str, columns: Iterable[str], no_wrap: Iterable[str] = ()) -> Table:
    """A rich table with these columns (the ones in ``no_wrap`` never wrap)."""
    table = Table(title=title)
    keep = set(no_wrap)
    for column in columns:
        table.add_column(column, no_wrap=column in keep)
    return table


def busy(message: str, quiet: bool = False) -> AbstractContextManager:
    """A spinner with ``message`` while the block runs; nothing when ``quiet`` (``--json``)."""
    return nullcontext() if quiet else console.status(message, spinner="dots")
