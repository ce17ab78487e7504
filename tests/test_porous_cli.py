"""Porous cages exported from the command line: the README's lattice line writes its files.

The manifold3d intersection of the lattice with the cage leaves needles and specks of
~1e-11 mm² where the two surfaces cross next to each other's vertices; unrepaired, the
exporter's zero-area check refused the porous ALIF cage (exit 5, nothing written). The
cervical cage at the same lattice has them too (2 below 1e-9 mm²) and runs in the fast tier.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from implants import tolerances
from implants.cli import app

runner = CliRunner()


def _build(out: Path, *args: str) -> dict:
    result = runner.invoke(app, ["build", "interbody-cage", "--lattice", "gyroid-skeletal", "--porosity", "0.65",
                                 "--pore", "0.5", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifests = sorted(out.glob("*manifest*.json"))
    assert len(manifests) == 1, sorted(p.name for p in out.iterdir())
    return json.loads(manifests[0].read_text())


def _assert_porous_export(out: Path, manifest: dict, formats: tuple[str, ...]) -> None:
    from implants.writers.meshes import load_mesh_bytes

    checks = manifest["checks"]
    assert checks["ok"] and checks["failed"] == [], checks["failed"]
    groups = [g for g in ("mesh", "volume", "step") if g in checks]
    assert all(checks[g]["ok"] and checks[g]["failed"] == [] for g in groups), {g: checks[g]["failed"] for g in groups}
    mesh = checks["mesh"]
    assert mesh["degenerate_triangles"] == 0 and mesh["no_degenerate_triangles"]
    assert mesh["watertight"] and mesh["winding_consistent"] and mesh["manifold"] and mesh["bodies"] == 1
    lattice = checks["lattice"]
    repaired = lattice["degenerate_triangles_repaired"]
    assert repaired["remaining"] == 0
    assert abs(lattice["porosity_measured"] - 0.65) <= 0.03, lattice
    assert abs(lattice["pore_measured_mm"] - 0.5) <= 0.15 * 0.5, lattice
    for fmt in formats:
        files = sorted(out.glob(f"*.{fmt}"))
        assert len(files) == 1 and files[0].stat().st_size > 0, fmt
    # the STL that ships is the checked porous mesh: same triangles, none of zero area
    stl = load_mesh_bytes(next(out.glob("*.stl")).read_bytes(), "stl")
    assert len(stl.faces) == mesh["triangles"] == lattice["triangles"]
    assert stl.is_watertight
    assert float(np.min(stl.area_faces)) >= tolerances.DEGENERATE_AREA_MM2
    assert stl.volume == pytest.approx(mesh["volume_mm3"], rel=1e-5)
    assert stl.volume < 0.7 * checks["volume"]["brep_volume_mm3"]  # porous: far lighter than the envelope


def test_porous_cervical_cage_exports_from_the_cli(tmp_path):
    """Fast tier: the same CLI path on the small cervical cage (STL and 3MF only, no picture)."""
    manifest = _build(tmp_path, "--preset", "cervical-acdf", "--format", "stl,3mf", "--no-picture")
    _assert_porous_export(tmp_path, manifest, ("stl", "3mf"))


@pytest.mark.slow
def test_readme_porous_alif_cage_exports_from_the_cli(tmp_path):
    """The README line (default preset lumbar-alif, every format and the picture): ~2.8 M triangles."""
    manifest = _build(tmp_path)
    assert manifest["preset"] == "lumbar-alif"
    _assert_porous_export(tmp_path, manifest, ("step", "stl", "3mf", "glb", "png"))
