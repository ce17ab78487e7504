"""Numbers of the vertebral body replacement that do not depend on its parameter model (layer: implant_types).

Region morphometry (``REGIONS``), the option enums, the wall limits, the record of derived numbers
(:class:`VBRGeometry`) and where the attachments sit on the column outline: pedicle-screw wings,
wire eyelets, rod-clamp knuckles and the keys of the two-piece joint. Numpy only; millimetres and
degrees; frame of ``vertebral_body_replacement`` (origin at the centre of the defect, +x anterior,
+y patient-left, +z superior).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

import numpy as np

from ..geometry.frames import direction_from_angles, unit
from ..geometry.synthetic_endplate import SyntheticEndplate

#: End-face height field z = f(x, y) (mm), or a recess depth field of the same signature.
Recess = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RegionSize:
    """Size defaults of one region (mm, deg)."""

    endplate_depth: float
    endplate_width: float
    body_height: float
    disc_height: float
    max_levels: int
    concavity: tuple[float, float]  # (superior endplate, inferior endplate) of a vertebra
    apex_fraction: float
    lordosis_per_segment: float
    graft_channel: float
    screw: float
    flange_extension: float
    pedicle_screw: float
    pedicle_medial: float
    rod: float
    rod_spacing: float
    rod_offset: float


#: Region → size defaults. Cervical up to six levels (C3–T1, Yang et al. [34]); lumbar L1–L5.
REGIONS: dict[str, RegionSize] = {
    "cervical": RegionSize(16.0, 18.0, 14.0, 5.0, 6, (1.0, 2.4), -0.3, 3.0, 7.0, 3.5, 8.0, 3.5, 40.0, 3.5, 36.0, 20.0),
    "thoracic": RegionSize(27.0, 31.0, 20.0, 5.0, 6, (1.2, 1.0), -0.2, -4.0, 12.0, 4.5, 10.0, 5.0, 10.0, 5.5, 40.0, 28.0),
    "lumbar": RegionSize(35.0, 50.0, 27.0, 10.0, 5, (1.5, 0.7), -0.1, 8.0, 16.0, 5.5, 12.0, 6.5, 15.0, 5.5, 50.0, 35.0),
}

#: Footprint as a fraction of the endplate (the platform stays inside the cortical rim).
FOOTPRINT_FRACTION = 0.85
#: Thinnest wall round the graft channel and the keys (mm).
MIN_WALL_MM = 1.5
#: Wall round pedicle holes and clamp bores (mm).
BOSS_WALL_MM = 2.0
#: Corner radii and column insets below this are built as 0 (a 1e-6 mm fillet made an invalid
#: solid, a 2e-16 mm inset a broken ring cut; issue 9) (mm).
MIN_CORNER_RADIUS_MM = MIN_INSET_MM = 0.01
#: Wall of a wire eyelet (mm).
EYELET_WALL_MM = 1.5
#: Wall round the hinge pin bore of a clamp knuckle (mm).
KNUCKLE_WALL_MM = 2.5


class Footprint(str, Enum):
    BOX = "box"        # rounded rectangle (cervical bodies)
    KIDNEY = "kidney"  # recessed posterior wall (thoracic, lumbar bodies)


class ScrewFixation(str, Enum):
    NONE = "none"
    FLANGE = "flange"
    ZERO_PROFILE = "zero-profile"


class Joint(str, Enum):
    DOVETAIL = "dovetail"
    TONGUE = "tongue"


@dataclass(frozen=True)
class VBRGeometry:
    """The numbers of a body replacement (numpy only)."""

    region: RegionSize
    footprint: Footprint
    depth: float
    width: float
    outline: np.ndarray          # footprint (xy)
    inset_outline: np.ndarray    # column between the platforms
    smooth: bool
    inset: float                 # column inset (0: a straight prism)
    corner_radius: float         # corner radius of a box footprint (0: sharp)
    inset_corner_radius: float   # the same for the inset column
    height_mm: float
    lordosis_deg: float
    upper: Recess                # end-face height fields z = f(x, y)
    lower: Recess
    upper_plane: Recess          # the same without the domes (platform undersides)
    lower_plane: Recess
    superior_endplate: SyntheticEndplate | None
    inferior_endplate: SyntheticEndplate | None
    min_height_mm: float
    channel_mm: float
    channel_x: float
    channel_wall_mm: float
    front_x: float               # most anterior point of the footprint
    back_x: float
    screws: tuple[tuple[str, np.ndarray, np.ndarray], ...]  # (end, entry, direction)
    screw_diameter: float
    flange_extension: float
    level_centres_z: tuple[float, ...]
    pedicle: tuple[tuple[int, int, np.ndarray, np.ndarray], ...]  # (level, side, wing centre, direction)
    pedicle_diameter: float
    eyelets: tuple[tuple[np.ndarray, int], ...]  # (centre, side)
    rod_diameter: float
    rod_bore: float
    rod_spacing: float
    rod_offset: float
    clamps: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (side, knuckle centre xy, rod centre xy)
    keys: tuple[float, ...]      # x centres of the keys on the split plane
    key_size: tuple[float, float, float]  # neck, head, depth
    keys_fit: bool
    key_walls: tuple[float, float]


def crossing_x(outline: np.ndarray, y: float, front: bool = True) -> float:
    """x where the line at ``y`` crosses the outline, the most anterior (or posterior) crossing."""
    x0, y0 = outline[:, 0], outline[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    hit = (y0 - y) * (y1 - y) <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y1 != y0, (y - y0) / (y1 - y0), 0.0)
    xs = (x0 + t * (x1 - x0))[hit]
    return float(xs.max() if front else xs.min())


def posterolateral_corner(outline: np.ndarray, side: int) -> np.ndarray:
    """Outline point furthest posterior and towards ``side`` (+1 left, −1 right)."""
    return outline[np.argmax(-outline[:, 0] + side * outline[:, 1])]


def pedicle_wings(inset: np.ndarray, level_centres_z, pedicle_diameter_mm: float,
                  medial_deg: float) -> tuple[tuple[int, int, np.ndarray, np.ndarray], ...]:
    """Pedicle-screw wings at the posterolateral corners of the inset column, one per side and
    replaced level, on the pedicle axis (posterior entry, aimed anteromedially):
    (level from 1, side, wing centre, direction)."""
    boss_r = pedicle_diameter_mm / 2 + BOSS_WALL_MM
    wings = []
    for k, z in enumerate(level_centres_z):
        for side in (1, -1):
            corner = posterolateral_corner(inset, side)
            out = unit((-1.0, side, 0.0))
            centre = np.array([corner[0], corner[1], z]) + out * (boss_r - 1.5)
            direction = direction_from_angles(0.0, medial_deg, base=(1, 0, 0), side=side)
            wings.append((k + 1, side, centre, direction))
    return tuple(wings)


def eyelet_centres(inset: np.ndarray, channel_x: float, wire_hole_mm: float, platform_thickness_mm: float,
                   upper_plane: Recess, lower_plane: Recess) -> tuple[tuple[np.ndarray, int], ...]:
    """Wire eyelets on both lateral walls at the graft channel's x, below the upper and above the
    lower platform: (centre, side)."""
    eye_r = wire_hole_mm / 2 + EYELET_WALL_MM
    eyelets = []
    for side in (1, -1):
        y_side = crossing_x(inset[:, ::-1], channel_x, front=side > 0)  # lateral wall at the channel's x
        for up in (1, -1):
            plane = upper_plane if up > 0 else lower_plane
            z = float(plane(np.array(channel_x), 0.0)) - up * (platform_thickness_mm + eye_r + 2.0)
            eyelets.append((np.array([channel_x, y_side + side * (wire_hole_mm / 2 + 0.6), z]), side))
    return tuple(eyelets)


def clamp_positions(inset: np.ndarray, hinge_pin_mm: float, back_x: float, rod_offset_mm: float,
                    rod_spacing_mm: float) -> tuple[tuple[int, np.ndarray, np.ndarray], ...]:
    """Hinged rod clamps, left and right: (side, knuckle centre xy at the column's posterolateral
    corner, rod centre xy ``rod_offset_mm`` behind the posterior wall)."""
    clamps = []
    for side in (1, -1):
        knuckle = np.array(posterolateral_corner(inset, side)) + unit((-1.0, side)) * (hinge_pin_mm / 2 + 0.8)
        clamps.append((side, knuckle, np.array([back_x - rod_offset_mm, side * rod_spacing_mm / 2])))
    return tuple(clamps)


def joint_keys(inset: np.ndarray, channel_mm: float, channel_x: float
               ) -> tuple[tuple[float, float], tuple[float, float, float], bool, tuple[float, float]]:
    """Keys of the two-piece joint in the anterior and posterior walls on the split plane:
    (x centres, (neck, head, depth), whether both walls are thick enough, (anterior, posterior) wall)."""
    front0, back0 = crossing_x(inset, 0.0), crossing_x(inset, 0.0, False)
    channel = channel_mm > 0
    walls = ((front0 - (channel_x + channel_mm / 2), (channel_x - channel_mm / 2) - back0) if channel
             else (front0 - back0, 0.0))
    key_wall = max(min(walls[0], walls[1]) if channel else walls[0], 0.1)
    head = min(0.5 * key_wall, 4.0)
    neck, key_depth = 0.6 * head, min(0.5 * head + 0.5, 2.5)
    if channel:
        key_x = (channel_x + channel_mm / 2 + walls[0] / 2, channel_x - channel_mm / 2 - walls[1] / 2)
    else:
        key_x = (front0 - walls[0] / 4, back0 + walls[0] / 4)
    keys_fit = min(walls[0], walls[1] if channel else walls[0]) >= 2 * MIN_WALL_MM + 1.0
    return key_x, (neck, head, key_depth), bool(keys_fit), (float(walls[0]), float(walls[1]))
