"""The occiput (C0): published skull-base dimensions, C1's superior facets and the landmarks of the
packaged C0 (layer: anatomy).

The packaged ``C0`` (``anatomy/data/C0.npz``, written by ``tools/generate_occiput.py``) is a
parametric skull base, not a scan: no permissively licensed skull of the cervical set's subject
exists (the ArtiSynth dynjaw model has only an open, coarse vault above the skull base and an open
maxilla/temporal surface; see docs/anatomy.md). It is built in the frame of the packaged cervical
set (patient frame: mm, +x anterior, +y left, +z superior), so it sits on the packaged real C1:
its condyles are shaped on C1's superior articular facets (:func:`c1_superior_facets`) and rest
on them across a thin gap (:data:`CONDYLE_GAP_MM`).

:data:`DIMENSIONS` lists every published dimension the model uses, with its source;
:func:`landmarks` returns the model's landmarks (foramen magnum centre and axes, basion,
opisthion, clivus apex, condyle contacts), stored beside the mesh in ``C0.npz``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .packaged import data_file


@dataclass(frozen=True)
class Dimension:
    """One published dimension of the skull base: its value, unit and where it comes from."""

    value: float
    unit: str
    what: str
    source: str


_TURKISH_FM = ("Morphometric analysis of 100 dry occipital bones (Turkish population), "
               "MOJ Anatomy & Physiology 2017 (medcraveonline.com/MOJAP/MOJAP-03-00117)")

#: Published dimensions used by the parametric C0, with their sources.
DIMENSIONS: dict[str, Dimension] = {
    "foramen_magnum_length": Dimension(35.2, "mm", "basion–opisthion (35.17 ± 2.94)", _TURKISH_FM),
    "foramen_magnum_width": Dimension(29.7, "mm", "largest transverse diameter (29.73 ± 2.53)", _TURKISH_FM),
    "condyle_length": Dimension(23.5, "mm", "occipital condyle, long axis (23.47 ± 2.44)", _TURKISH_FM),
    "condyle_width": Dimension(11.4, "mm", "occipital condyle, across (11.40 ± 1.41)", _TURKISH_FM),
    "condyle_axis_angle": Dimension(32.5, "deg", "condyle long axis to the sagittal plane, converging anteriorly "
                                    "(31.7 ± 3.5 right, 33.3 ± 3.3 left)", _TURKISH_FM),
    "clivus_length": Dimension(45.0, "mm", "basion to dorsum sellae (45.7 men, 41.6 women)",
                               "CBCT of 130 adults, Caspian J Dent Res 2021 (doaj.org)"),
    "clivus_width": Dimension(24.0, "mm", "breadth of the clivus (24.05 ± 1.23)",
                              "Kumaran & Babu, J Res Med Dent Sci (jrmds.in), 30 skulls"),
    "clivus_to_foramen_plane": Dimension(54.0, "deg", "180° − Boogaard angle (basion–opisthion line to "
                                         "dorsum sellae–basion line, 126 ± 6°, normal 120–135°)",
                                         "radiographia.info/article/ugol-bogarta; Koenigsberg et al. AJNR 2005"),
    "basion_dens_interval": Dimension(7.0, "mm", "design value inside the adult CT normal range (≤ 8.5 mm)",
                                      "Rojas et al., AJNR 2007 (basion–dens interval on CT)"),
}

#: Gap (mm) left between the condyles' articular surfaces and C1's superior facets (cartilage-free
#: bone-to-bone contact within the 0.5 mm the tests allow).
CONDYLE_GAP_MM = 0.3


@dataclass(frozen=True)
class Facet:
    """A superior articular facet of C1 (patient frame, mm)."""

    side: str                 # "left" (+y) or "right" (−y)
    faces: np.ndarray         # indices of C1's faces on the facet
    centroid: np.ndarray      # area centroid
    normal: np.ndarray        # unit mean normal, out of the bone (up and medial)
    long_axis: np.ndarray     # unit, in the facet plane, pointing anteriorly
    length_mm: float          # extent along long_axis
    width_mm: float           # extent across, in the facet plane

    @property
    def axis_angle_deg(self) -> float:
        """Angle of the long axis to the sagittal plane (deg); positive when it converges anteriorly."""
        toward_midline = -np.sign(self.centroid[1]) * self.long_axis[1]
        return float(np.degrees(np.arctan2(toward_midline, self.long_axis[0])))


def c1_superior_facets(c1: trimesh.Trimesh) -> dict[str, Facet]:
    """C1's two superior articular facets: the largest smooth patch on each lateral mass (upper
    half, outside the middle 20 % of the width) whose faces look up (normal z > 0.5) and medially."""
    normals, centres = c1.face_normals, c1.triangles_center
    half_width = float(np.ptp(c1.vertices[:, 1])) / 2
    upper = centres[:, 2] > np.median(c1.vertices[:, 2])
    adjacency = c1.face_adjacency
    facets = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        mask = (normals[:, 2] > 0.5) & (sign * centres[:, 1] > 0.2 * half_width) & (sign * normals[:, 1] < 0) & upper
        both = mask[adjacency[:, 0]] & mask[adjacency[:, 1]]
        graph = coo_matrix((np.ones(both.sum()), (adjacency[both, 0], adjacency[both, 1])), shape=(len(normals),) * 2)
        labels = connected_components(graph, directed=False)[1]
        candidates = np.unique(labels[mask])
        areas = [c1.area_faces[mask & (labels == label)].sum() for label in candidates]
        faces = np.flatnonzero(mask & (labels == candidates[int(np.argmax(areas))]))
        area = c1.area_faces[faces]
        centroid = (centres[faces] * area[:, None]).sum(axis=0) / area.sum()
        normal = (normals[faces] * area[:, None]).sum(axis=0)
        normal /= np.linalg.norm(normal)
        in_plane = centres[faces] - centroid
        in_plane -= np.outer(in_plane @ normal, normal)
        axis = np.linalg.eigh((in_plane * area[:, None]).T @ in_plane)[1][:, 2]
        axis *= np.sign(axis[0])
        across = np.cross(normal, axis)
        facets[side] = Facet(side, faces, centroid, normal, axis, float(np.ptp(in_plane @ axis)),
                             float(np.ptp(in_plane @ across)))
    return facets


def landmarks() -> dict[str, np.ndarray]:
    """Landmarks of the packaged C0 (patient frame of the cervical set, mm): ``foramen_centre``,
    ``foramen_normal`` (unit, up through the foramen), ``foramen_anterior`` (unit, towards the
    basion), ``basion``, ``opisthion``, ``clivus_apex`` (the clivus line's end, published length and
    angle) and ``condyle_contact_left``/``_right`` (centres of C1's facets, where the condyles rest)."""
    with np.load(data_file("C0")) as data:
        return {str(name): np.asarray(point, float) for name, point in zip(data["landmark_names"], data["landmarks"])}
