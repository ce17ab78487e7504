"""Write a group of files atomically (layer: writers).

Every file is first written in full to a hidden temporary file in the target folder
(same file system, so the final rename is atomic), flushed to disk, and only when all
of them are written are they renamed into place with ``os.replace``. On any failure
the temporary files are removed and the renames already done are rolled back (a file
that existed before is restored from a hard-link backup): a failure leaves no partial
file and an existing file is untouched, never truncated.
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
    backups: dict[str, str] = {}
    try:
        for name, data in files.items():
            fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            temps[name] = temp
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o644)
        for name in temps:  # every target checked before the first rename: all files or none
            if (out / name).is_dir():
                raise ExportError(f"cannot write {str(out / name)!r}: a folder of that name exists")
        done: dict[str, Path] = {}
        existed: set[str] = set()
        try:
            for name, temp in list(temps.items()):
                target = out / name
                if target.exists():  # keep the previous file until the whole group is in place
                    existed.add(name)
                    try:
                        os.link(target, f"{temp}.previous")
                        backups[name] = f"{temp}.previous"
                    except OSError:  # no hard links here: the previous file is wholly replaced
                        pass
                os.replace(temp, target)
                del temps[name]
                done[name] = target
        except OSError:
            for name, target in done.items():  # roll back: previous files restored, new ones removed
                if name in backups:
                    os.replace(backups.pop(name), target)
                elif name not in existed:
                    target.unlink(missing_ok=True)
            raise
        return done
    except OSError as error:
        raise ExportError(f"cannot write into {str(out)!r}: {error.strerror or error}") from None
    finally:
        for backup in backups.values():
            try:
                os.unlink(backup)
            except OSError:
                pass
        for temp in temps.values():
            try:
                os.unlink(temp)
            except OSError:
                pass
