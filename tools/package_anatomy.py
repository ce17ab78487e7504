"""Convert the workshop's real vertebra meshes (``../shared/anatomy``) into the package data.

Developer tool, not part of the product: run it once when the source meshes change::

    .venv/bin/python tools/package_anatomy.py ../shared/anatomy

Each packaged level (``implants.anatomy.packaged.LEVELS``) is loaded with the project's own
loader (duplicate vertices merged, outward winding), turned into the patient frame from its
source axes and written as ``src/implants/anatomy/data/<level>.npz`` (float32 vertices,
int32 triangles, compressed). The test-only meshes (VerSe'19 L2 with its end caps, CC BY-SA;
the flat-endplate VHM bodies) go to ``tests/data/anatomy/`` in their source frame.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

from implants.anatomy.meshes import load_mesh
from implants.anatomy.packaged import LEVELS, SOURCES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = ROOT / "src" / "implants" / "anatomy" / "data"
TEST_DATA = ROOT / "tests" / "data" / "anatomy"
TEST_ONLY = ("verse004_L2_mm", "verse004_L2_cap_a_mm", "verse004_L2_cap_b_mm",
             "lumbar_vhm_L4_body_flat_mm", "lumbar_vhm_L5_body_flat_mm")


def _write(path: Path, mesh) -> None:
    np.savez_compressed(path, vertices=np.asarray(mesh.vertices, np.float32),
                        faces=np.asarray(mesh.faces, np.int32))


def main(source: Path) -> None:
    for level in (entry for entry in LEVELS.values() if not SOURCES[entry.source].generator):
        mesh = load_mesh(source / level.source_file, SOURCES[level.source].source_axes)
        _write(PACKAGE_DATA / f"{level.name}.npz", mesh)
        print(f"{level.name:12s} {len(mesh.faces):7d} triangles  {mesh.volume / 1000:8.2f} cm3")
    for stem in TEST_ONLY:
        _write(TEST_DATA / f"{stem}.npz", load_mesh(source / f"{stem}.stl"))
    shutil.copy(source / "licenses" / "spineFE-benchmark_README_license_section.txt", TEST_DATA)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "anatomy"))
