"""The flagship fit through the command line on every real pair of the packaged anatomy: a congruent cage
between the mean-shape L3/L4 and L4/L5, the Visible Human L3/L4 and L4/L5, and the cervical C2/C3 given as
LPS files (as a CT segmentation comes); the export checks pass (the B-rep volume of the fitted cage used to
be wrong by 2.7 % on L3/L4) and the congruent faces touch the bone over their whole footprint without
pressing into it, where a flat cage of the same footprint touches a few per cent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from implants.anatomy.meshes import export_level
from implants.cli import app

PAIRS = {"mean-L3/L4": ("mean-L3", "mean-L4"), "mean-L4/L5": ("mean-L4", "mean-L5"),
         "VHM-L3/L4": ("L3", "L4"), "VHM-L4/L5": ("L4", "L5"), "C2/C3-LPS": ("C2", "C3")}
SLOW = {"mean-L4/L5", "VHM-L3/L4", "VHM-L4/L5"}


def _arguments(pair: str, folder) -> list[str]:
    upper, lower = PAIRS[pair]
    if not pair.endswith("LPS"):
        return ["--upper-vertebra", upper, "--lower-vertebra", lower]
    for level in (upper, lower):
        export_level(level, folder, "LPS")
    return ["--upper-vertebra", str(folder / f"{upper}.stl"), "--lower-vertebra", str(folder / f"{lower}.stl"),
            "--axes", "LPS"]


@pytest.mark.parametrize("pair", [pytest.param(p, marks=[pytest.mark.slow] if p in SLOW else []) for p in PAIRS])
def test_fitted_cage_builds_and_touches_the_bone(pair, tmp_path):
    runner = CliRunner()
    args = _arguments(pair, tmp_path)
    built = runner.invoke(app, ["build", "interbody-cage", *args, "--format", "step,stl", "--no-picture", "--json",
                                "--out", str(tmp_path / "cage")])
    assert built.exit_code == 0, built.output
    manifest = json.loads(built.stdout)
    checks = manifest["checks"]
    assert checks["ok"] and checks["failed"] == []
    assert checks["volume"]["volume_difference_rel"] < 0.005  # mesh and B-rep agree
    assert checks["step"]["step_volume_ok"] and manifest["bodies"] == 1
    compared = runner.invoke(app, ["contact-compare", *args, "--json", "--out", str(tmp_path / "cmp")])
    assert compared.exit_code == 0, compared.output
    data = json.loads(compared.stdout)
    for side in ("superior", "inferior"):
        congruent, flat = data["congruent"][side], data["flat"][side]
        assert congruent["pct_footprint"] > 95.0, (side, congruent)
        assert flat["pct_footprint"] < 25.0, (side, flat)
        assert congruent["max_penetration_mm"] <= 0.05
    assert data["ratio_congruent_to_flat"]["total"] > 5.0
