"""Numbers of the upper cervical docking implant that do not depend on its parameter model (layer: implant_types).

The option enums, the record of derived numbers (:class:`DockingGeometry`), the cross-section of the
saddle groove (height across the groove and its chord at the horns, in plain numbers so a fit can
search them), the docking-screw axes of each variant and the sampling of a fitted saddle field over
the body. Numpy only; millimetres and degrees; frame of ``upper_cervical_docking`` (origin at the centre
of the lower vertebra's superior endplate, +x anterior, +y patient-left, +z superior).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

import numpy as np

from ..errors import ParameterError
from ..geometry import outlines
from ..geometry.frames import unit
from ..geometry.synthetic_endplate import SyntheticEndplate

#: Height field z = f(x, y) (mm): the lower face of the body, or a fitted saddle surface.
Surface = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Docking(str, Enum):
    SADDLE = "saddle"
    T_EXPANSION = "t-expansion"
    C0_PLATE = "c0-plate"
    LATERAL_MASS = "lateral-mass"


class SaddleProfile(str, Enum):
    ROUND = "round"
    V = "v"
    FITTED = "fitted"  # patient-specific: build(saddle_field=...)


class LowerVertebra(str, Enum):
    C2 = "c2"  # only for the lateral-mass variant
    C3 = "c3"
    C4 = "c4"
    C5 = "c5"
    T1 = "t1"


class C0Target(str, Enum):
    CLIVUS = "clivus"
    CONDYLES = "condyles"


#: Largest distance (mm) between the lowest point of a fitted saddle field over the footprint and
#: the seat ``height_mm`` (the fit passes the field's own minimum; sampling moves it by far less).
FITTED_SEAT_TOL_MM = 0.1


@dataclass(frozen=True)
class DockingGeometry:
    """The numbers of a docking implant (numpy only)."""

    outline: np.ndarray            # body footprint (x, y), already offset for the lateral-mass column
    centre_y_mm: float             # y of the body centre
    width_mm: float
    seat_z_mm: float               # docking seat height (groove bottom / body top)
    top_z_mm: float                # highest point of the body prism (saddle horns / body top)
    lower: Surface
    endplate: SyntheticEndplate | None
    screws: tuple[tuple[np.ndarray, np.ndarray], ...]          # base screws: (entry, unit direction)
    screw_exit_x_mm: float          # x where the base screw axes cross z = 0
    docking_screws: tuple[tuple[np.ndarray, np.ndarray], ...]  # docking screws (T, C0)
    groove_chord_mm: float
    groove_sagitta_mm: float        # how far the curved groove runs back at the body's sides
    seat_point: np.ndarray           # lowest point of the saddle / centre of the docking surface
    cup_centre: np.ndarray | None
    cup_chord_mm: float


def groove_height(profile: str, r: float, d: float, v_angle_deg: float) -> Callable[[np.ndarray], np.ndarray]:
    """Height of the saddle's material surface above the groove bottom as a function of the
    horizontal distance ``h`` across the groove (from its bottom line), capped at the horns (depth
    ``d``): a circular arc of radius ``r`` (profile ``"round"``) or a tip rounded with ``r``
    continued by straight flanks ``v_angle_deg`` apart (profile ``"v"``)."""
    half = np.radians(v_angle_deg) / 2
    h_t = r * np.cos(half)                      # v: where the tip circle meets the flanks
    z_t = r * (1 - np.sin(half))

    def height(h):
        a = np.abs(np.asarray(h, float))
        circle = np.where(a < r, r - np.sqrt(np.maximum(r * r - a * a, 0.0)), np.inf)
        if profile == "v":
            z = np.where(a <= h_t, circle, z_t + (a - h_t) / np.tan(half))
        else:
            z = circle
        return np.minimum(z, d)

    return height


def groove_chord(profile: str, r: float, d: float, v_angle_deg: float) -> float:
    """Width of the saddle groove at the horns (mm); arguments as :func:`groove_height`."""
    if profile == "v":
        half = np.radians(v_angle_deg) / 2
        h_t, z_t = r * np.cos(half), r * (1 - np.sin(half))
        if d > z_t:
            return float(2 * (h_t + (d - z_t) * np.tan(half)))
    d = min(d, r)
    return float(2 * np.sqrt(max(r * r - (r - d) ** 2, 0.0)))


def crossbar_screws(front_x: float, z: float, spacing_mm: float, cranial_deg: float,
                    divergence_deg: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Two screws through the T crossbar into the C1 lateral masses: entries on its anterior face
    (x = ``front_x``) at height ``z``, ``spacing_mm`` apart; directions posterior, tilted towards +z
    by ``cranial_deg`` and away from the midline by ``divergence_deg``. (entry, unit direction),
    left then right."""
    screws = []
    for s in (1, -1):
        direction = unit(np.array([-1.0, 0.0, 0.0]) + np.tan(np.radians(cranial_deg)) * np.array([0, 0, 1.0])
                         + np.tan(np.radians(s * divergence_deg)) * np.array([0, 1.0, 0]))
        screws.append((np.array([front_x, s * spacing_mm / 2, z]), direction))
    return tuple(screws)


def clivus_screws(front_x: float, seat_z: float, tilt_deg: float, plate_height_mm: float, spacing_mm: float,
                  cranial_deg: float, divergence_deg: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Two screws through the clivus plate (leaning back by ``tilt_deg`` from its foot at
    (``front_x``, 0, ``seat_z``)) into the clivus: entries at mid-height of the plate, ``spacing_mm``
    apart; directions along the inward plate normal, tilted up the plate by ``cranial_deg`` and
    away from the midline by ``divergence_deg``. (entry, unit direction), left then right."""
    tilt = np.radians(tilt_deg)
    normal = np.array([np.cos(tilt), 0.0, -np.sin(tilt)])         # outward: anterior-inferior, off the clivus
    up = np.array([np.sin(tilt), 0.0, np.cos(tilt)])               # along the plate: up and forward like the clivus
    mid = np.array([front_x, 0.0, seat_z]) + up * (plate_height_mm / 2)
    screws = []
    for s in (1, -1):
        d_in = unit(-normal + np.tan(np.radians(cranial_deg)) * up
                    + np.tan(np.radians(s * divergence_deg)) * np.array([0, 1.0, 0]))
        screws.append((mid + np.array([0, s * spacing_mm / 2, 0]), d_in))
    return tuple(screws)


def condyle_screws(seat_z: float, spacing_mm: float, posterior_deg: float,
                   divergence_deg: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Two vertical screws from the condyle crossbar (at height ``seat_z``, ``spacing_mm`` apart)
    into the occipital condyles, tilted posteriorly by ``posterior_deg`` and away from the midline
    by ``divergence_deg``. (entry, unit direction), left then right."""
    screws = []
    for s in (1, -1):
        direction = unit(np.array([0, 0, 1.0]) + np.tan(np.radians(posterior_deg)) * np.array([-1.0, 0, 0])
                         + np.tan(np.radians(s * divergence_deg)) * np.array([0, 1.0, 0]))
        screws.append((np.array([0.0, s * spacing_mm / 2, seat_z]), direction))
    return tuple(screws)


def fitted_saddle_samples(g: DockingGeometry, field: Surface, spacing_mm: float):
    """Sampling box ((x0, x1), (y0, y1), samples) of a fitted saddle field over the footprint (1 mm
    margin) and the (x, y) of its lowest point; ParameterError when the field is not finite there
    or its lowest point over the footprint is not the seat ``height_mm``."""
    lo, hi = g.outline.min(axis=0) - 1.0, g.outline.max(axis=0) + 1.0
    samples = int(np.clip(np.ceil(float(np.max(hi - lo)) / spacing_mm) + 1, 21, 121))
    xs, ys = np.linspace(lo[0], hi[0], samples), np.linspace(lo[1], hi[1], samples)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    gz = np.asarray(field(gx, gy), float)
    if gz.shape != gx.shape or not np.all(np.isfinite(gz)):
        raise ParameterError("saddle_field must return finite heights z = f(x, y) over the body's footprint "
                             "(1 mm margin)")
    inside = outlines.contains(g.outline, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    k = np.argmin(np.where(inside, gz, np.inf))
    low = float(gz.ravel()[k])
    if abs(low - g.seat_z_mm) > FITTED_SEAT_TOL_MM:
        raise ParameterError(f"saddle_field: its lowest point over the footprint is {low:.2f} mm, not the seat "
                             f"height_mm = {g.seat_z_mm:.2f} (within {FITTED_SEAT_TOL_MM} mm)")
    return ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])), samples), (float(gx.ravel()[k]), float(gy.ravel()[k]))
