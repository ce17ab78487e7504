"""Every ``implants`` command line of the README and of ``docs/`` runs, as a new user would type it.

Each line of a ```bash block that starts with ``implants`` (continuation lines joined) is one test:
it runs in a fresh temporary folder holding a copy of the repository's ``examples/`` and nothing
else, with the package's own ``implants`` on PATH. A line that reads what an earlier documented
line writes (``out/interbody-cage-*.stl``, ``bones/C2.stl``) first runs that line (``NEEDS``).
The test asserts exit code 0 and that every ``--out`` folder the line names was filled; the
slowest lines are in the slow tier (``SLOW``), with at least one lattice, one fitted, one sweep
and one demonstrator line in the fast tier.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: Lines that take minutes (every type built, rendered and viewed) or repeat a fast-tier line: slow tier.
SLOW = ("implants gallery", "implants render vertebral-body-replacement --scene --view all",
        "implants sweep examples/cage_lordosis_sweep.yaml --out out/cage-sweep", "implants sweep-plot",
        "implants kit interbody-cage --preset cervical-acdf", "implants kit interbody-cage --vary depth_mm+width_mm=-2",
        "implants sweep examples/patients_alif_l4l5_small.yaml")
#: Documented lines a line depends on, by the start of the dependent line.
NEEDS = {
    "implants check out/interbody-cage-*.stl": "implants build interbody-cage --preset cervical-acdf",
    "implants build anterior-plate --vertebra bones/": "implants anatomy export C2 C3 --axes LPS",
    "implants sweep-plot out/cage-sweep": "implants sweep examples/cage_lordosis_sweep.yaml --out out/cage-sweep",
    "implants check fitted/interbody-cage-*.stl": "implants build interbody-cage --upper-vertebra mean-L4 "
                                                  "--lower-vertebra mean-L5 --out fitted/",
    "implants check fitted-c/interbody-cage-*.stl": "implants build interbody-cage --upper-vertebra C2 "
                                                    "--lower-vertebra C3 --out fitted-c/",
}


def documented_commands() -> dict[str, str]:
    """Command line (comment stripped) → the document it appears in first."""
    found: dict[str, str] = {}
    for doc in DOCUMENTS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                command = line.split(" #", 1)[0].strip()
                if command.startswith("implants "):
                    found.setdefault(" ".join(command.split()), doc.name)
    return found


COMMANDS = documented_commands()


def _run(command: str, folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=900)


def _prerequisite(command: str) -> str | None:
    start = next((need for prefix, need in NEEDS.items() if command.startswith(prefix)), None)
    if start is None:
        return None
    return next(c for c in COMMANDS if c.startswith(start))


def test_the_documents_hold_the_promised_command_lines():
    """The README's headline lines are among the tested ones (a lattice, a fit, a sweep, a demonstrator)."""
    for needed in ("implants build interbody-cage --lattice", "implants build interbody-cage --upper-vertebra",
                   "implants sweep examples/", "implants demonstrator", "implants check",
                   "implants build anterior-plate --vertebra", "implants anatomy list"):
        assert any(c.startswith(needed) for c in COMMANDS), needed
    assert all(_prerequisite(c) in COMMANDS for c in COMMANDS if _prerequisite(c) is not None)


@pytest.mark.parametrize("command", [pytest.param(c, id=c[:90], marks=[pytest.mark.slow] if c.startswith(SLOW) else [])
                                     for c in COMMANDS])
def test_documented_command_runs(command, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    before = _prerequisite(command)
    if before is not None:
        done = _run(before, tmp_path)
        assert done.returncode == 0, f"{before}\n{done.stderr[-2000:]}"
    result = _run(command, tmp_path)
    assert result.returncode == 0, f"{command} ({COMMANDS[command]}) exited {result.returncode}:\n{result.stderr[-3000:]}"
    words = shlex.split(command)
    for flag in ("--out", "-o"):
        if flag in words:
            target = tmp_path / words[words.index(flag) + 1]
            assert target.exists() and (target.is_file() or any(target.iterdir())), f"{command}: {target} is empty"
