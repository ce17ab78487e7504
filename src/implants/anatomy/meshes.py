"""Load vertebra meshes and place them in the patient frame (layer: anatomy). trimesh + numpy.

Files are read by :func:`implants.checks.meshfile.read_mesh` (STL, 3MF, OBJ, PLY, GLB, glTF,
OFF; its formats and error messages), then cleaned and required to be closed.

Patient frame: +x anterior, +y patient-left, +z superior (cranial), millimetres.

A mesh stored in another frame is placed by stating its axes, either

* as a three-letter code naming the patient direction each mesh axis *increases towards*
  (the radiology convention: ``"RAS"`` means +x right, +y anterior, +z superior; DICOM is
  ``"LPS"``); the patient frame itself is ``"ALS"``. Letters: A/P (anterior/posterior),
  L/R (left/right), S/I (superior/inferior); each pair exactly once. A left-handed code
  (a mirror) is accepted: the face winding is flipped so the mesh stays outward-facing;
* or as a 3×3 matrix whose rows are the mesh's x, y, z axes written in the patient frame
  (``patient = mesh_point @ matrix``), which must be a rotation or a reflection.

A packaged level name (``"L4"``, ``"C2"``, ``"mean-L4"``: :mod:`implants.anatomy.packaged`)
is accepted wherever a path is: those meshes ship in the patient frame. :func:`input_record`
fingerprints a mesh input (file name and sha256) for file names and manifests.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from ..checks.meshfile import read_mesh
from ..errors import ParameterError
from ..writers.atomic import write_files
from . import packaged

if TYPE_CHECKING:
    from ..model import Implant

#: Patient direction (unit vector in the patient frame) for each axis letter.
_LETTER = {"A": (1, 0, 0), "P": (-1, 0, 0), "L": (0, 1, 0), "R": (0, -1, 0), "S": (0, 0, 1), "I": (0, 0, -1)}
#: The patient frame's own axis code.
PATIENT_AXES = "ALS"


def axes_matrix(axes: str | np.ndarray) -> np.ndarray:
    """3×3 matrix whose rows are the mesh axes in the patient frame (``patient = p @ M``).

    ``axes`` is a three-letter code (see the module docstring) or a 3×3 orthogonal matrix.
    """
    if isinstance(axes, str):
        code = axes.strip().upper()
        if len(code) != 3 or any(c not in _LETTER for c in code):
            raise ParameterError(f"axes: {axes!r} is not a three-letter code of A/P, L/R, S/I (e.g. 'ALS', 'RAS', 'LPS')")
        pairs = [{"A": 0, "P": 0, "L": 1, "R": 1, "S": 2, "I": 2}[c] for c in code]
        if sorted(pairs) != [0, 1, 2]:
            raise ParameterError(f"axes: {axes!r} must name each of A/P, L/R and S/I exactly once")
        return np.array([_LETTER[c] for c in code], float)
    m = np.asarray(axes, float)
    if m.shape != (3, 3) or not np.all(np.isfinite(m)):
        raise ParameterError(f"axes: expected a three-letter code or a 3x3 matrix, got shape {m.shape}")
    if not np.allclose(m @ m.T, np.eye(3), atol=1e-6):
        raise ParameterError("axes: the 3x3 matrix must be orthonormal (a rotation or a reflection, rows = mesh axes)")
    return m


def to_patient_frame(mesh: trimesh.Trimesh, axes: str | np.ndarray = PATIENT_AXES,
                     translation: np.ndarray | None = None) -> trimesh.Trimesh:
    """A copy of ``mesh`` re-expressed in the patient frame (``axes`` as in :func:`axes_matrix`),
    then moved by ``translation`` (mm, patient frame). Outward winding is kept under a mirror."""
    m = axes_matrix(axes)
    t = np.eye(4)
    t[:3, :3] = m.T
    if translation is not None:
        t[:3, 3] = np.asarray(translation, float)
    out = mesh.copy()
    out.apply_transform(t)  # trimesh flips the winding when the determinant is negative
    return out


def load_mesh(path: str | Path, axes: str | np.ndarray = PATIENT_AXES, *, translation=None,
              require_closed: bool = True) -> trimesh.Trimesh:
    """Read a vertebra mesh file (mm; formats of :func:`~implants.checks.meshfile.read_mesh`) and
    place it in the patient frame.

    ``path`` is a file or a packaged level name (see :mod:`implants.anatomy.packaged`; an
    existing file of that name wins); packaged meshes are in the patient frame already, so
    ``axes`` must then be the patient frame's ``"ALS"``.
    Duplicate vertices are merged (OBJ triangle soup), degenerate and duplicate faces dropped.
    :class:`ParameterError` for a missing, empty, unreadable or non-mesh file and, when
    ``require_closed``, for a mesh that is not closed (watertight with consistent winding).
    """
    p = Path(path)
    if packaged.is_packaged(path):
        if not (isinstance(axes, str) and axes.strip().upper() == PATIENT_AXES):
            raise ParameterError(f"axes: packaged level {str(path)!r} is in the patient frame ({PATIENT_AXES}); "
                                 "--axes applies to mesh files only")
        return to_patient_frame(packaged.load(str(path)), PATIENT_AXES, translation)
    mesh = clean(read_mesh(p))
    if len(mesh.faces) == 0:
        raise ParameterError(f"mesh file: {p.name!r} holds only degenerate triangles")
    if require_closed:
        require_closed_mesh(mesh, p.name)
    return to_patient_frame(mesh, axes, translation)


def clean(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Merge duplicate vertices (exact up to 1e-6 mm), drop degenerate/duplicate faces, fix winding."""
    m = trimesh.Trimesh(np.asarray(mesh.vertices, float), np.asarray(mesh.faces), process=False)
    if not np.all(np.isfinite(m.vertices)):
        raise ParameterError("mesh: vertices contain NaN or infinite coordinates")
    m.merge_vertices(digits_vertex=6)
    m.update_faces(m.nondegenerate_faces(height=1e-9))
    m.update_faces(m.unique_faces())
    m.remove_unreferenced_vertices()
    if len(m.faces) and m.is_watertight:
        trimesh.repair.fix_normals(m)  # consistent outward winding
    return m


def require_closed_mesh(mesh: trimesh.Trimesh, name: str = "mesh") -> None:
    """:class:`ParameterError` unless ``mesh`` is watertight, consistently wound, of positive volume."""
    if not mesh.is_watertight:
        edges = trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)
        raise ParameterError(f"mesh file: {name!r} is not closed ({len(edges)} open edges); "
                             "repair it (fill holes) before using it as a vertebra")
    if not mesh.is_winding_consistent or mesh.volume <= 0:
        raise ParameterError(f"mesh file: {name!r} has inconsistent winding or non-positive volume")


def input_record(source: "str | Path | trimesh.Trimesh", axes: str | np.ndarray = PATIENT_AXES) -> dict:
    """What identifies a mesh input: ``{"file" | "packaged" | "mesh", "sha256", "axes"}``.

    The sha256 is that of the file's bytes (of the package data file for a packaged level, of
    the float64 vertices and int64 triangles for an in-memory mesh), so two different meshes
    never share a record and a renamed copy of the same file does.
    """
    code = axes.strip().upper() if isinstance(axes, str) else np.round(np.asarray(axes, float), 9).tolist()
    if isinstance(source, trimesh.Trimesh):
        digest = hashlib.sha256(np.ascontiguousarray(source.vertices, np.float64).tobytes()
                                + np.ascontiguousarray(source.faces, np.int64).tobytes()).hexdigest()
        return {"mesh": f"{len(source.faces)} triangles (in memory)", "sha256": digest, "axes": code}
    p = Path(source)
    if packaged.is_packaged(source):
        name = packaged.level(str(source)).name
        return {"packaged": name, "sha256": packaged.sha256(name), "axes": PATIENT_AXES}
    return {"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "axes": code}


def export_level(name: str, out_dir: str | Path, axes: str = PATIENT_AXES, file_name: str | None = None) -> Path:
    """Write the packaged level ``name`` as binary STL ``<out_dir>/<file_name>`` (default
    ``<name>.stl``, written atomically), its vertices expressed in ``axes`` (the patient frame
    ``"ALS"`` by default; e.g. ``"LPS"`` for DICOM)."""
    mesh = to_patient_frame(packaged.load(name), axes_matrix(axes).T)  # patient -> the axes asked for
    target = file_name or f"{packaged.level(name).name}.stl"
    return write_files(Path(out_dir), {target: trimesh.exchange.stl.export_stl(mesh)})[target]


def in_mesh_frame(implant: "Implant", axes: str | np.ndarray) -> "Implant":
    """``implant`` (built in the patient frame from meshes read with ``axes``) moved into the
    frame of those meshes, so the written files overlay them; ``inputs["frame"]`` records the
    frame and the 4×4 transform from the patient frame (column vectors). Unchanged when the
    meshes are in the patient frame. A left-handed (mirror) axes code is refused: a solid
    cannot be written mirrored."""
    m = axes_matrix(axes)
    if np.allclose(m, np.eye(3)):
        return implant
    if np.linalg.det(m) < 0:
        raise ParameterError(f"axes: {axes!r} is a mirror of the patient frame; a part cannot be written in it "
                             "(use the patient frame: --frame patient)")
    transform = np.eye(4)
    transform[:3, :3] = m  # mesh point (column) = m @ patient point, since patient (row) = mesh (row) @ m
    frame = {"name": "input meshes", "axes": axes.strip().upper() if isinstance(axes, str) else m.tolist(),
             "units": "mm", "from_patient": transform.tolist(),
             "note": "files and features in the frame of the input meshes; the metrics stay in the "
                     "patient frame (+x anterior, +y patient-left, +z superior)"}
    return replace(implant.transformed(transform), inputs={**implant.inputs, "frame": frame})
