"""The package's structure (docs/architecture.md): imports point down the layers of the import-linter
contract in pyproject.toml, no module imports itself back through others, and `implants --help`
stays off the CAD kernel (tests/test_cli.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
#: A module tells one story in a few hundred lines (docs/architecture.md).
MAX_MODULE_LINES = 410


def test_layers_point_down():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is in the dev extra"
    run = subprocess.run([lint, "--no-cache", "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "Contracts: 1 kept, 0 broken." in run.stdout


def test_contract_ignores_nothing():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "ignore_imports" not in text


def test_no_file_level_import_cycle():
    graph = grimp.build_graph("implants")
    modules = nx.DiGraph()
    for module in graph.modules:
        modules.add_edges_from((module, imported) for imported in graph.find_modules_directly_imported_by(module))
    cycles = [sorted(group) for group in nx.strongly_connected_components(modules) if len(group) > 1]
    assert cycles == []


def test_modules_are_small_and_say_where_they_sit():
    for path in sorted((ROOT / "src" / "implants").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.name}: {len(text.splitlines())} lines"
        assert text.lstrip().startswith('"""'), f"{path.relative_to(ROOT)} has no module docstring"
