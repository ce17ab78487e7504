"""STEP (AP214, millimetres) from the B-rep, and reading STEP back (layer: writers).

The B-rep is checked with ``BRepCheck_Analyzer`` before export (STEP readers heal some
defects on import, so a re-read alone would hide them: ARCHITECTURE.md pitfalls). The
time stamp OCCT writes in the header is replaced by a fixed one so the same shape gives
the same bytes (the manifest holds the only time stamp).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import cadquery as cq
from OCP.IFSelect import IFSelect_RetDone
from OCP.Interface import Interface_Static
from OCP.Message import Message
from OCP.STEPControl import STEPControl_AsIs, STEPControl_Reader, STEPControl_Writer

from ..errors import ExportError, GeometryError, ParameterError
from ..geometry.validity import is_valid

__all__ = ["FIXED_TIMESTAMP", "is_valid", "read_step", "read_step_bytes", "step_bytes"]

#: Header time stamp written into every STEP file (determinism; see module docstring).
FIXED_TIMESTAMP = "2000-01-01T00:00:00"

_TIMESTAMP = re.compile(rb"(FILE_NAME\s*\(\s*'(?:[^']|'')*'\s*,\s*)'[^']*'")
#: OCCT numbers product names per process ('name 1', 'name 2', ...): reset to the plain name.
_PRODUCT = re.compile(rb"(=\s*PRODUCT\s*\()'[^']*'\s*,\s*'[^']*'")


def step_bytes(shape: cq.Shape, product_name: str = "implant") -> bytes:
    """The STEP file of ``shape`` as bytes; :class:`GeometryError` if the B-rep is invalid."""
    wrapped = getattr(shape, "wrapped", shape)
    if wrapped is None or wrapped.IsNull():
        raise GeometryError("STEP export: the shape is empty")
    if not is_valid(wrapped):
        raise GeometryError("STEP export refused: the B-rep is not valid (BRepCheck_Analyzer)")
    writer = STEPControl_Writer()
    Interface_Static.SetCVal_s("write.step.schema", "AP214IS")
    Interface_Static.SetCVal_s("xstep.cascade.unit", "MM")
    Interface_Static.SetCVal_s("write.step.unit", "MM")
    Interface_Static.SetIVal_s("write.surfacecurve.mode", 1)
    Interface_Static.SetIVal_s("write.precision.mode", 0)
    Interface_Static.SetCVal_s("write.step.product.name", product_name)
    if writer.Transfer(wrapped, STEPControl_AsIs) != IFSelect_RetDone:
        raise GeometryError("STEP export: transfer of the shape failed")
    fd, name = tempfile.mkstemp(suffix=".step")
    os.close(fd)
    try:
        if writer.Write(name) != IFSelect_RetDone:
            raise ExportError("STEP export: the writer failed")
        data = Path(name).read_bytes()
    finally:
        os.unlink(name)
    data = _TIMESTAMP.sub(lambda m: m.group(1) + b"'" + FIXED_TIMESTAMP.encode() + b"'", data, count=1)
    quoted = product_name.replace("'", "''").encode("ascii", "replace")
    return _PRODUCT.sub(lambda m: m.group(1) + b"'" + quoted + b"','" + quoted + b"'", data)


def read_step(path: str | os.PathLike) -> cq.Shape:
    """Read a STEP file into one CadQuery shape (a Solid, or a Compound of several).

    A missing or unreadable file is a :class:`ParameterError` (bad input).
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"STEP file {str(path)!r} does not exist")
    reader = STEPControl_Reader()
    if _quiet_read(reader, path) != IFSelect_RetDone:
        raise ParameterError(f"STEP file {str(path)!r} could not be read as STEP")
    if reader.TransferRoots() == 0:
        raise ParameterError(f"STEP file {str(path)!r} holds no shape")
    return cq.Shape.cast(reader.OneShape())


def _quiet_read(reader, path: Path):
    """``reader.ReadFile`` without OCCT's parser messages on stdout (the caller reports one line)."""
    messenger = Message.DefaultMessenger_s()
    printers = list(messenger.Printers())
    for printer in printers:
        messenger.RemovePrinter(printer)
    try:
        return reader.ReadFile(str(path))
    finally:
        for printer in printers:
            messenger.AddPrinter(printer)


def read_step_bytes(data: bytes) -> cq.Shape:
    """Read STEP bytes (through a temporary file: OCCT's reader needs a path)."""
    fd, name = tempfile.mkstemp(suffix=".step")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return read_step(name)
    finally:
        os.unlink(name)
