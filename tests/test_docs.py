"""Docs: ``mkdocs build --strict`` passes, every registered type has a generated page that is
up to date with the registry, the pictures exist and are small, and every example runs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import implants

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
MAX_PNG_BYTES = 150 * 1024


def _gen_pages():
    spec = importlib.util.spec_from_file_location("gen_pages", DOCS / "gen_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                          "-d", str(site)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    for type_id in implants.type_ids():
        page = site / "types" / type_id / "index.html"
        assert page.is_file(), f"no built page for {type_id}"
        assert f"{type_id}.png" in page.read_text(encoding="utf-8")
    for name in ("getting-started", "checks", "sweeps", "api", "cli", "not-a-medical-device"):
        assert (site / name / "index.html").is_file(), name
    assert (site / "images" / "gallery.png").is_file()


def test_every_type_has_a_page_in_the_nav():
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    pages = {page for entry in nav for value in entry.values()
             for page in ([value] if isinstance(value, str) else [p for item in value for p in item.values()])}
    for type_id in implants.type_ids():
        assert f"types/{type_id}.md" in pages, f"{type_id} missing from the mkdocs nav"
        assert (DOCS / "types" / f"{type_id}.md").is_file()


def test_type_pages_match_the_registry():
    """The committed pages are what the generator writes now (parameters, presets, review text)."""
    gen = _gen_pages()
    import json

    features = json.loads((DOCS / "types" / "features.json").read_text(encoding="utf-8"))
    refs = gen.load_references()
    stale = []
    for template in implants.templates():
        page = DOCS / "types" / f"{template.type_id}.md"
        if page.read_text(encoding="utf-8") != gen.type_page(template, features.get(template.type_id), refs):
            stale.append(template.type_id)
        text = page.read_text(encoding="utf-8")
        for row in template.params.model_fields:
            assert f"`{row}`" in text, f"{template.type_id}: parameter {row} not on its page"
        assert template.review_wording in text
    assert not stale, f"stale pages {stale}: run .venv/bin/python docs/gen_pages.py --no-render"
    assert set(features) == set(implants.type_ids()), "features.json: run docs/gen_pages.py"


def test_pictures_exist_and_are_small():
    images = sorted((DOCS / "images").rglob("*.png"))
    for type_id in implants.type_ids():
        assert (DOCS / "images" / f"{type_id}.png").is_file(), type_id
    pages = [ROOT / "README.md", *DOCS.glob("*.md"), *(DOCS / "types").glob("*.md")]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    for path in images:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path.name
        assert path.stat().st_size <= MAX_PNG_BYTES, f"{path.name}: {path.stat().st_size} bytes"
        # every picture is shown somewhere (no stale pictures left in the repository)
        assert f"images/{path.relative_to(DOCS / 'images').as_posix()}" in text, f"{path.name} is shown nowhere"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for ref in ("docs/images/interbody-cage.png", "docs/images/gallery.png", "docs/images/scenes.png",
                "docs/images/demonstrators.png"):
        assert ref in readme and (ROOT / ref).is_file(), ref


SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def test_examples_exist():
    assert {p.name for p in SCRIPTS} >= {"build_cage.py", "compare_materials.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_script_runs(script, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, str(script), str(out)] if script.name == "build_cage.py"
                         else [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip()
    if script.name == "build_cage.py":
        suffixes = {p.suffix for p in out.iterdir()}
        assert {".step", ".stl", ".3mf", ".glb", ".json"} <= suffixes
        assert "checks pass" in run.stdout
    if script.name == "compare_materials.py":
        lines = run.stdout.strip().splitlines()
        assert len(lines) == 1 + len(implants.type_ids())


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*_sweep.yaml")), ids=lambda p: p.name)
def test_example_sweep_spec_expands(spec):
    """YAML sweep specs are validated and expanded (every variant valid) without building."""
    from implants.sweep.spec import expand, load_spec

    variants = expand(load_spec(spec))
    assert variants
    assert all(v.error is None for v in variants), [v.error for v in variants if v.error]
