"""Synthetic domed endplates (SPEC.md §3): a concave end surface of a vertebral body. Numpy only.

An endplate is an ellipse of ``depth_mm`` (antero-posterior, x) by ``width_mm``
(medio-lateral, y) centred on the origin, whose surface is recessed into the bone by
``concavity_mm`` at the apex (x = ``apex_x_mm``, y = 0) and by 0 at the rim. The recess
is returned as a positive depth; the caller adds it upwards (an inferior endplate of
the vertebra above) or downwards (a superior endplate of the vertebra below).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Concavity depths (mm) from SPEC.md §3 by region: (superior endplate, inferior endplate).
CONCAVITY_MM = {"cervical": (1.0, 2.4), "lumbar": (1.5, 0.7)}
#: Endplate size (mm): (AP depth, ML width); mid-cervical C5 and mid-lumbar L4 bodies.
ENDPLATE_SIZE_MM = {"cervical": (16.0, 18.0), "lumbar": (35.0, 50.0)}
#: Apex offset along x as a fraction of the AP half-depth (negative = posterior half).
APEX_FRACTION = {"cervical": -0.3, "lumbar": -0.1}


@dataclass(frozen=True)
class SyntheticEndplate:
    """A domed endplate recess; see the module docstring for placement."""

    depth_mm: float
    width_mm: float
    concavity_mm: float
    apex_x_mm: float = 0.0

    def recess(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Recess depth (mm, ≥ 0 inside the rim) at points (x, y): a paraboloid whose apex
        sits at ``apex_x_mm``, stretched to meet the elliptic rim on either side."""
        a = self.depth_mm / 2.0
        x = np.asarray(x, float)
        half = np.where(x >= self.apex_x_mm, a - self.apex_x_mm, a + self.apex_x_mm)
        u = (x - self.apex_x_mm) / half
        v = np.asarray(y, float) / (self.width_mm / 2.0)
        return self.concavity_mm * (1.0 - u * u - v * v)

    def contains(self, x: np.ndarray, y: np.ndarray, margin_mm: float = 0.0) -> np.ndarray:
        """True where (x, y) lies inside the rim shrunk by ``margin_mm``."""
        a = self.depth_mm / 2.0 - margin_mm
        b = self.width_mm / 2.0 - margin_mm
        return (np.asarray(x) / a) ** 2 + (np.asarray(y) / b) ** 2 <= 1.0
