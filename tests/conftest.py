"""Shared test fixtures. Real vertebra meshes live in ../shared/anatomy next to the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

ANATOMY = Path(__file__).resolve().parents[2] / "shared" / "anatomy"


@pytest.fixture(scope="session")
def anatomy_dir() -> Path:
    """Folder of the shared real vertebra meshes (see its MANIFEST.md)."""
    assert ANATOMY.is_dir(), f"shared anatomy folder missing: {ANATOMY}"
    return ANATOMY
