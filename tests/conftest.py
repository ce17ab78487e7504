"""Shared test fixtures. The real vertebra meshes come from the package data and tests/data
(see anatomy_files.py): nothing outside the repository is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from anatomy_files import ANATOMY


@pytest.fixture(scope="session")
def anatomy_dir() -> Path:
    """Folder of the real vertebra meshes under their anatomy-MANIFEST file names, source frames."""
    return ANATOMY


@pytest.fixture(scope="session")
def anatomy_mesh():
    """``anatomy_mesh("lumbar_mean_L3_mm")``: path of that real mesh (STL, source frame)."""
    return lambda stem: ANATOMY / f"{stem}.stl"
