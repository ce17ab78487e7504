"""Directions and rotations in the patient frame (+x anterior, +y left, +z superior). Numpy only."""

from __future__ import annotations

import numpy as np


def unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def direction_from_angles(sagittal_deg: float, medial_deg: float, *, base=(1.0, 0.0, 0.0),
                          side: int = 1) -> np.ndarray:
    """Unit vector tilted from the horizontal ``base`` by ``sagittal_deg`` towards +z and turned
    by ``medial_deg`` towards the midline (y = 0) for a screw entering on ``side`` (+1 left, −1 right).
    For ``base`` = −x (driven posteriorly from an anterior entry) a positive sagittal angle aims cranially.
    """
    b = unit((base[0], base[1], 0.0))
    medial = np.cross((0.0, 0.0, 1.0), b)
    if medial[1] * side > 0:
        medial = -medial
    sag, med = np.radians(sagittal_deg), np.radians(medial_deg)
    horizontal = np.cos(med) * b + np.sin(med) * medial
    return unit(np.cos(sag) * horizontal + np.sin(sag) * np.array([0.0, 0.0, 1.0]))


def rotation_matrix(axis, angle_deg: float) -> np.ndarray:
    """Right-handed rotation of ``angle_deg`` about ``axis`` (Rodrigues)."""
    k = unit(axis)
    a = np.radians(angle_deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def angle_between_deg(a, b) -> float:
    """Angle between two vectors (deg)."""
    c = np.clip(np.dot(unit(a), unit(b)), -1.0, 1.0)
    return float(np.degrees(np.arccos(c)))
