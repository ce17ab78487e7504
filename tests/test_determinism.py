"""Determinism across processes (robustness issue, item 4).

The same parameters, built by two separate ``implants build`` processes (different hash seeds,
working folders and output folders), give byte-identical STL, 3MF and STEP files and manifests
that are identical apart from the ``created`` time stamp. Two registered types, from the registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import implants

#: Two types from the registry (the first and the last registered), each with a non-default preset.
TYPES = [implants.type_ids()[0], implants.type_ids()[-1]]
FORMATS = ("stl", "3mf", "step")


def _preset(type_id: str) -> str:
    template = implants.get(type_id)
    others = [p for p in template.presets if p != template.default_preset]
    return others[0] if others else template.default_preset


def _build_twice(tmp_path: Path, type_id: str) -> tuple[Path, Path]:
    implants_exe = Path(sys.executable).with_name("implants")
    command = [str(implants_exe), "build", type_id, "--preset", _preset(type_id), "--format", ",".join(FORMATS),
               "--json"]
    runs = []
    for k, seed in enumerate(("1", "98765")):
        work = tmp_path / f"cwd{k}"
        work.mkdir()
        out = tmp_path / f"out{k}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        runs.append((subprocess.Popen([*command, "--out", str(out)], cwd=work, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True), out))
    for process, _ in runs:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-2000:]
        json.loads(stdout)  # --json prints the manifest
    return runs[0][1], runs[1][1]


@pytest.mark.parametrize("type_id", TYPES)
def test_two_processes_give_identical_files(tmp_path, type_id):
    first, second = _build_twice(tmp_path, type_id)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for fmt in FORMATS:
        (a,) = [n for n in names if n.endswith(f".{fmt}")]
        assert (first / a).read_bytes() == (second / a).read_bytes(), f"{a} differs between processes"
    (manifest,) = [n for n in names if n.endswith(".manifest.json")]
    m1, m2 = (json.loads((folder / manifest).read_text()) for folder in (first, second))
    assert m1.pop("created") and m2.pop("created")
    assert m1 == m2
    for fmt in FORMATS:  # the manifest's hashes are those of the files
        import hashlib

        data = (first / m1["files"][fmt]["name"]).read_bytes()
        assert m1["files"][fmt]["sha256"] == hashlib.sha256(data).hexdigest()
