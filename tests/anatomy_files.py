"""The real vertebra meshes as STL files in their source frames, for tests that read mesh files.

Made from the repository alone: the packaged levels (``implants.anatomy.packaged``) written
back in the axes of their source (cervical ``LPS``, lumbar ``ALS``) under the file names of
the anatomy MANIFEST (``cervical_c2_mm.stl``, ``lumbar_mean_L4_mm.stl``...), plus the test-only
meshes of ``tests/data/anatomy`` (VerSe'19 L2 and its caps, CC BY-SA 4.0; the flat-endplate
VHM bodies). Written once per content into a folder of the system's temporary directory.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import trimesh

from implants.anatomy.meshes import export_level
from implants.anatomy.packaged import LEVELS, SOURCES, data_file, read_npz
from implants.writers.atomic import write_files

TEST_DATA = Path(__file__).parent / "data" / "anatomy"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted([data_file(name) for name in LEVELS] + list(TEST_DATA.glob("*.npz"))):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _materialise() -> Path:
    folder = Path(tempfile.gettempdir()) / f"implants-test-anatomy-{_fingerprint()}"
    done = folder / ".complete"
    if done.exists():
        return folder
    for level in (entry for entry in LEVELS.values() if entry.source_file):  # generated levels have no source file
        export_level(level.name, folder, SOURCES[level.source].source_axes, level.source_file)
    for npz in TEST_DATA.glob("*.npz"):
        write_files(folder, {f"{npz.stem}.stl": trimesh.exchange.stl.export_stl(read_npz(npz))})
    done.touch()
    return folder


#: Folder of every real mesh under its MANIFEST file name, in its source frame.
ANATOMY = _materialise()
