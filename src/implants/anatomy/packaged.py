"""Real vertebra meshes shipped inside the package: the catalogue, loading by level name, export.

Layer: anatomy (reads package data with numpy and trimesh; no CAD kernel).

Every packaged bone is stored in ``anatomy/data/<name>.npz`` (float32 vertices in mm, int32
triangles), already in the patient frame (+x anterior, +y patient-left, +z superior) and
closed (watertight, outward winding, one shell). Bones of one source share one frame, so
adjacent levels sit in anatomical position next to each other: the cervical set (C1–C7 and
their discs) in one frame, the Visible Human lumbar set (L1–L5, sacrum, pelvis) in another,
the lumbar mean shape (mean-L2 … mean-L5) in a third. Sources, licences and citations are in
:data:`SOURCES` and the licence texts in ``anatomy/data/licenses/``; ``implants anatomy list``
prints them.

A packaged name works wherever a vertebra mesh path is accepted (``--upper-vertebra L4``):
see :func:`implants.anatomy.meshes.load_mesh`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import trimesh

from ..errors import ParameterError


@dataclass(frozen=True)
class Source:
    """Where a set of packaged meshes comes from and under which licence."""

    key: str
    title: str
    repository: str
    commit: str
    licence: str
    attribution: str
    licence_files: tuple[str, ...]
    source_axes: str  # axes code of the source files (see meshes.axes_matrix); the package stores ALS


SOURCES: dict[str, Source] = {s.key: s for s in (
    Source("cervical-cbct", "C1–C7 and discs of one 35-year-old male (cone-beam CT), ArtiSynth dynjaw model",
           "artisynth/artisynth_models", "bcda205032fb338e6bf00f3b81e60e9a0826641a",
           "ArtiSynth Models BSD-style licence",
           "ArtiSynth Models (artisynth.org), dynjaw model geometry; academic publications must cite the "
           "original work as indicated on the ArtiSynth Models download site.",
           ("artisynth_models_LICENSE.txt", "artisynth_models_dynjaw_AmiraJawAbout.txt"), "LPS"),
    Source("vhm-lumbosacral", "L1–L5, sacrum and pelvis of the Visible Human Male (symmetrised), "
           "hybrid lumbosacral spine model", "RemusR9/artisynth_lumbosacralSpineModel",
           "bb81cb1f75c2d756a0d1a853954837435d2ebc14", "BSD-3-Clause, (c) 2021 Robin Remus",
           "Remus R, Lipphaus A, Neumann M, Bender B (2021) PLoS ONE 16(4): e0250456; geometry from the "
           "NLM Visible Human Project.",
           ("artisynth_lumbosacralSpineModel_LICENSE_BSD3.txt",
            "artisynth_lumbosacralSpineModel_README_citation.txt"), "ALS"),
    Source("lumbar-mean", "Mean shape of L2–L5 from CTs of 87 patients (morphable lumbar model)",
           "aclouthier/morphable-lumbar-model", "d2275b056baa65db825524e77a899e9aa5a7be3c",
           "MIT, (c) 2022 Allison Clouthier", "Clouthier AL et al. (2023) J Biomech 146:111421.",
           ("morphable-lumbar-model_LICENSE_MIT.txt",), "ALS"),
)}


@dataclass(frozen=True)
class Level:
    """One packaged bone: its name (``"L4"``, ``"C2-C3-disc"``, ``"mean-L4"``), what it is,
    its source and the source file it was converted from."""

    name: str
    region: str
    description: str
    source: str
    source_file: str


def _levels() -> dict[str, Level]:
    cervical = [Level(f"C{i}", "cervical", desc, "cervical-cbct", f"cervical_c{i}_mm.stl") for i, desc in (
        (1, "atlas"), (2, "axis (dens)"), (3, "C3"), (4, "C4"), (5, "C5"), (6, "C6"), (7, "C7 (vertebra prominens)"))]
    discs = [Level(f"C{i}-C{i + 1}-disc", "cervical", f"C{i}/C{i + 1} intervertebral disc", "cervical-cbct",
                   f"cervical_c{i}c{i + 1}disc_mm.stl") for i in range(2, 7)]
    lumbar = [Level(f"L{i}", "lumbar", f"full L{i} (body and posterior elements)", "vhm-lumbosacral",
                    f"lumbar_vhm_L{i}_mm.stl") for i in range(1, 6)]
    pelvic = [Level("sacrum", "sacral", "sacrum (S1 endplate, canal and foramina open)", "vhm-lumbosacral",
                    "sacrum_vhm_mm.stl"),
              Level("pelvis", "pelvic", "both hip bones joined at the symphysis (without the sacrum)",
                    "vhm-lumbosacral", "pelvis_vhm_mm.stl")]
    mean = [Level(f"mean-L{i}", "lumbar", f"mean-shape L{i} of 87 patients (concave endplates)", "lumbar-mean",
                  f"lumbar_mean_L{i}_mm.stl") for i in range(2, 6)]
    return {level.name: level for level in cervical + discs + lumbar + pelvic + mean}


#: Every packaged bone by name, cranial to caudal within each source.
LEVELS: dict[str, Level] = _levels()


def _data() -> Path:
    return Path(str(resources.files("implants.anatomy") / "data"))


def data_file(name: str) -> Path:
    """The ``.npz`` file of a packaged level."""
    return _data() / f"{level(name).name}.npz"


def licence_folder() -> Path:
    """Folder of the licence texts of the packaged meshes."""
    return _data() / "licenses"


def level(name: str) -> Level:
    """The catalogue entry of ``name`` (case-insensitive); ParameterError listing the names otherwise."""
    key = {k.lower(): k for k in LEVELS}.get(str(name).strip().lower())
    if key is None:
        raise ParameterError(f"anatomy level {name!r} is not packaged (allowed: {', '.join(LEVELS)})")
    return LEVELS[key]


def is_packaged(name: object, folder: str | Path = ".") -> bool:
    """True if ``name`` names a packaged level and is not an existing file in ``folder`` (a file
    of that name wins): where a mesh path is accepted, such a name reads the packaged bone."""
    if not isinstance(name, (str, Path)) or (Path(folder) / name).exists():
        return False
    return str(name).strip().lower() in {k.lower() for k in LEVELS}


def read_npz(path: str | Path) -> trimesh.Trimesh:
    """A mesh stored as ``vertices`` (float32, mm) and ``faces`` (int32) in an ``.npz`` file."""
    with np.load(path) as data:
        return trimesh.Trimesh(data["vertices"].astype(float), data["faces"].astype(np.int64), process=False)


def load(name: str) -> trimesh.Trimesh:
    """The packaged mesh of ``name`` in the patient frame (mm), closed, one shell."""
    mesh = read_npz(data_file(name))
    mesh.metadata["name"] = f"packaged level {level(name).name}"
    return mesh


def sha256(name: str) -> str:
    """sha256 of the packaged data file (recorded in manifests as the input's fingerprint)."""
    return hashlib.sha256(data_file(name).read_bytes()).hexdigest()


def catalogue() -> list[dict]:
    """One row per packaged level: name, region, description, triangles, source, licence, citation."""
    rows = []
    for entry in LEVELS.values():
        source = SOURCES[entry.source]
        with np.load(data_file(entry.name)) as data:
            triangles = int(len(data["faces"]))
        rows.append({"level": entry.name, "region": entry.region, "description": entry.description,
                     "triangles": triangles, "source": source.key, "source_title": source.title,
                     "repository": f"{source.repository}@{source.commit[:12]}", "licence": source.licence,
                     "attribution": source.attribution, "licence_files": list(source.licence_files)})
    return rows
