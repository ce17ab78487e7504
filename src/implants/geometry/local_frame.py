"""A local orthonormal frame in the patient frame (layer: geometry): the frame of an endplate, a
disc space or a fitted implant. numpy only; mm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Frame:
    """An orthonormal frame: ``origin`` and rows ``axes`` = (ex, ey, ez) in the patient frame."""

    origin: np.ndarray
    axes: np.ndarray

    def to_local(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, float) - self.origin) @ self.axes.T

    def to_patient(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, float) @ self.axes + self.origin

    def moved_to(self, point: Sequence[float]) -> Frame:
        """The frame with the same axes and its origin at ``point`` (coordinates in this frame)."""
        return Frame(self.to_patient(np.array([point], float))[0], self.axes)

    @property
    def matrix(self) -> np.ndarray:
        """4×4 homogeneous transform local → patient."""
        t = np.eye(4)
        t[:3, :3] = self.axes.T
        t[:3, 3] = self.origin
        return t
