"""End frames and derived numbers of the bridge strut (layer: implant_types).

Each contact end of the strut has a frame (:class:`EndFrame`): its bearing centre, the path's tangent
there and the adjacent vertebra's anterior direction; platforms and flanges are built in that frame's
canonical coordinates and moved into the patient frame. :class:`BridgeGeometry` holds what
``bridge_strut.derive`` computes. Numpy only; millimetres; frame of ``bridge_strut`` (origin at the
centre of the inferior contact face, +x anterior, +y patient-left, +z superior).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EndFrame:
    """One contact end: bearing centre, the path's unit tangent there (pointing superior),
    the vertebra's anterior direction, and +1 (inferior: the implant lies along +tangent) or −1."""

    centre: np.ndarray
    up: np.ndarray
    anterior: np.ndarray
    sign: int

    @property
    def left(self) -> np.ndarray:
        return np.cross(self.up, self.anterior)

    @property
    def outward(self) -> np.ndarray:
        """Outward normal of the bearing face (into the fixation vertebra)."""
        return -self.sign * self.up

    def to_global(self, local) -> np.ndarray:
        """Map canonical coordinates (x anterior, y left, z up along the path) to the patient frame."""
        local = np.asarray(local, float)
        return self.centre + local[..., 0:1] * self.anterior + local[..., 1:2] * self.left + local[..., 2:3] * self.up


@dataclass(frozen=True)
class BridgeGeometry:
    """The numbers of a bridge strut (numpy only)."""

    centre_line: np.ndarray          # bearing centre (inferior) to bearing centre (superior), dense
    path_length_mm: float            # along the centre line, endplate to endplate
    kyphosis_deg: float              # angle between the two bearing planes
    arc: bool
    inferior: EndFrame
    superior: EndFrame
    platform_sizes: tuple[tuple[float, float], tuple[float, float]]  # (depth, width): inferior, superior
    fixation_levels: tuple[str, str]  # (inferior vertebra, superior vertebra)
    fixation_heights: tuple[float, float]
    endplate_sizes: tuple[tuple[float, float], tuple[float, float]]
    screws: tuple[tuple[np.ndarray, np.ndarray, str], ...]  # (entry, direction, end)
    flange_out: tuple[np.ndarray, np.ndarray]  # canonical outward direction of each flange


def minimal_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrix turning unit vector ``a`` onto ``b`` about their common normal."""
    v, c = np.cross(a, b), float(np.dot(a, b))
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)
