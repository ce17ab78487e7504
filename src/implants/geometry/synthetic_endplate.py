"""Synthetic domed endplates (SPEC.md §3): a concave end surface of a vertebral body. Numpy only.

An endplate is an ellipse of ``depth_mm`` (antero-posterior, x) by ``width_mm``
(medio-lateral, y) centred on the origin, whose surface is recessed into the bone by
``concavity_mm`` at the apex (x = ``apex_x_mm``, y = 0, at most 0.4 of the half-depth from
the centre) and by 0 at the rim. The recess
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

    #: Largest apex offset as a fraction of the AP half-depth that keeps the recess one dome.
    MAX_APEX_FRACTION = 0.4

    def recess(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Recess depth (mm, ≥ 0 inside the rim, 0 on it) at points (x, y).

        A cubic dome (1 − s² − t²)(1 + k·s) with s = x/a, t = y/b: zero on the elliptic rim,
        smooth everywhere (a B-spline of degree 3 represents it exactly), with k set so that
        the apex lies at x = ``apex_x_mm`` and scaled so the apex depth is ``concavity_mm``.
        """
        a, b = self.depth_mm / 2.0, self.width_mm / 2.0
        s0 = self.apex_x_mm / a
        k = 2.0 * s0 / (1.0 - s0 * s0)
        s, t = np.asarray(x, float) / a, np.asarray(y, float) / b
        return self.concavity_mm * (1.0 - s * s - t * t) * (1.0 + k * s) / (1.0 + s0 * s0)

    def contains(self, x: np.ndarray, y: np.ndarray, margin_mm: float = 0.0) -> np.ndarray:
        """True where (x, y) lies inside the rim shrunk by ``margin_mm``."""
        a = self.depth_mm / 2.0 - margin_mm
        b = self.width_mm / 2.0 - margin_mm
        return (np.asarray(x) / a) ** 2 + (np.asarray(y) / b) ** 2 <= 1.0
