"""Write a group of files atomically.

Every file is first written in full to a hidden temporary file in the target folder
(same file system, so the final rename is atomic), flushed to disk, and only when all
of them are written are they renamed into place with ``os.replace``. On any failure
the temporary files are removed: a failure leaves no partial file and an existing file
is either untouched or wholly replaced, never truncated.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping

from ..errors import ExportError


def prepare_dir(out_dir: str | os.PathLike) -> Path:
    """Create ``out_dir`` if needed and make sure files can be written in it (ExportError if not)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"output folder {str(out)!r} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create output folder {str(out)!r}: {error.strerror or error}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"output folder {str(out)!r} is not writable")
    return out


def write_files(out_dir: str | os.PathLike, files: Mapping[str, bytes]) -> dict[str, Path]:
    """Write ``files`` (file name → bytes) into ``out_dir`` atomically; returns name → path.

    Names must be plain file names (no folders). Raises :class:`ExportError` with a clear
    message (folder is a file, not writable, disk full...) and leaves nothing behind.
    """
    out = prepare_dir(out_dir)
    for name in files:
        if not name or Path(name).name != name or name in (".", ".."):
            raise ExportError(f"invalid output file name {name!r}")
    temps: dict[str, str] = {}
    try:
        for name, data in files.items():
            fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            temps[name] = temp
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o644)
        done: dict[str, Path] = {}
        for name, temp in list(temps.items()):
            target = out / name
            if target.is_dir():
                raise ExportError(f"cannot write {str(target)!r}: a folder of that name exists")
            os.replace(temp, target)
            del temps[name]
            done[name] = target
        return done
    except OSError as error:
        raise ExportError(f"cannot write into {str(out)!r}: {error.strerror or error}") from None
    finally:
        for temp in temps.values():
            try:
                os.unlink(temp)
            except OSError:
                pass
