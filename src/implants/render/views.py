"""Standard views and the orthographic camera of a picture (layer: render).

Views in the patient frame (+x anterior, +y patient-left, +z superior): ``anterior`` (looking
from +x), ``lateral`` (from patient-left, +y, anterior to the left), ``superior`` (from +z,
anterior up) and ``iso`` (anterior-left-superior). The camera is parallel (orthographic), so
the scale bar in mm is exact. No VTK import: the camera is set on a renderer made elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError
from .items import Axis, MeshItem

#: view name → (direction from the target to the camera, view-up)
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "anterior": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "lateral": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "superior": ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0)),
    "iso": ((1.0, 0.75, 0.6), (0.0, 0.0, 1.0)),
}
VIEW_NAMES = tuple(VIEWS)
#: extra views (not in ``--view all``): in-situ scenes of posterior implants are drawn from behind
VIEWS["posterior-iso"] = ((-1.0, 0.45, 0.5), (0.0, 0.0, 1.0))

#: the 2×2 sheet: view → viewport (x0, y0, x1, y1 as fractions of the window)
SHEET_VIEWPORTS = {"anterior": (0, 0.5, 0.5, 1), "lateral": (0.5, 0.5, 1, 1), "superior": (0, 0, 0.5, 0.5),
                   "iso": (0.5, 0, 1, 0.5)}


def check_view(view: str) -> None:
    """ParameterError unless ``view`` is one of :data:`VIEWS`."""
    if view not in VIEWS:
        raise ParameterError(f"--view {view!r}: allowed {', '.join(VIEW_NAMES)}, all")


def view_list(view: str) -> list[str]:
    """The views of a ``--view`` option: ``all`` → the standard views, ``sheet`` → the 2×2 sheet."""
    if view in ("all", "sheet"):
        return list(VIEW_NAMES) if view == "all" else ["sheet"]
    check_view(view)
    return [view]


def scene_bounds(items: Sequence[MeshItem], axes: Sequence[Axis]) -> np.ndarray:
    """[min, max] corners (mm) of everything drawn that the camera frames (:attr:`MeshItem.framed`);
    ParameterError when there is nothing."""
    points = [np.asarray(i.mesh.vertices) for i in items if len(i.mesh.vertices) and i.framed]
    points += [np.asarray([a.start, a.end], float) for a in axes]
    if not points:
        raise ParameterError("nothing to render: no triangles")
    allp = np.concatenate(points)
    return np.array([allp.min(axis=0), allp.max(axis=0)])


def aim_camera(renderer, view: str, bounds: np.ndarray, aspect: float, margin: float = 1.12) -> float:
    """Point the renderer's camera (orthographic) at the bounding box from ``view``, the box
    filling the viewport of width/height ``aspect`` up to ``margin``; returns the parallel scale
    (half the viewport height, mm)."""
    direction, up = VIEWS[view]
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    u = np.asarray(up, float)
    u = u - d * (u @ d)
    u /= np.linalg.norm(u)
    right = np.cross(-d, u)
    centre = bounds.mean(axis=0)
    corners = np.array([[bounds[i, 0], bounds[j, 1], bounds[k, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    rel = corners - centre
    half_w = np.abs(rel @ right).max()
    half_h = np.abs(rel @ u).max()
    diag = float(np.linalg.norm(bounds[1] - bounds[0])) or 1.0
    camera = renderer.GetActiveCamera()
    camera.ParallelProjectionOn()
    camera.SetFocalPoint(*centre)
    camera.SetPosition(*(centre + d * 3.0 * diag))
    camera.SetViewUp(*u)
    scale = margin * max(half_h, half_w / aspect, 1.0)
    camera.SetParallelScale(scale)
    renderer.ResetCameraClippingRange()
    return scale
