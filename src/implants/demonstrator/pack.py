"""Laying the oriented parts of a demonstrator out on the build plate (layer: demonstrator): bottom-left
placement of their footprints (each turned by 90° where that packs better), several orders tried.
Plate coordinates in mm from the bed's corner; a part's ``plate_xy`` is its footprint's centre.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from ..errors import ExportError
from .model import Part

PLATE_SPACING_MM = 5.0
#: the largest parts whose orders are all tried (6! = 720 permutations)
PERMUTED_PARTS = 6

#: 4×4 turn by 90° about z (footprint x ↔ y)
_QUARTER_TURN = np.array([[0.0, -1.0, 0, 0], [1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])


class DoesNotFit(ExportError):
    """The parts do not fit the bed (the builder may leave a bone out and try again)."""


def _bottom_left(sizes: list[tuple[float, float]], w: float, h: float) -> list[tuple[float, float, bool]] | None:
    """Bottom-left placement of rectangles (in the given order) on a ``w`` × ``h`` bed with
    :data:`PLATE_SPACING_MM` between them and half of it at the edges: per rectangle (x0, y0, turned),
    or None when one does not fit. Candidate corners: the bed's corner and the right/top corners of
    the rectangles placed so far."""
    gap = PLATE_SPACING_MM
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for ex, ey in sizes:
        best = None
        corners = [(gap / 2, gap / 2)] + [(r[2] + gap, r[1]) for r in placed] + [(r[0], r[3] + gap) for r in placed]
        for turned, (sx, sy) in ((False, (ex, ey)), (True, (ey, ex))):
            for x, y in corners:
                if x + sx > w - gap / 2 + 1e-9 or y + sy > h - gap / 2 + 1e-9:
                    continue
                if any(x < r[2] + gap - 1e-9 and r[0] < x + sx + gap - 1e-9 and y < r[3] + gap - 1e-9
                       and r[1] < y + sy + gap - 1e-9 for r in placed):
                    continue
                key = (y + sy, x + sx)
                if best is None or key < best[0]:
                    best = (key, x, y, sx, sy, turned)
        if best is None:
            return None
        _, x, y, sx, sy, turned = best
        placed.append((x, y, x + sx, y + sy))
        out.append((x, y, turned))
    return out


def pack(parts: Sequence[Part], bed_mm: tuple[float, float]) -> None:
    """Set every part's ``plate_xy`` (and turn its print pose where that packs better) so the footprints
    lie on the ``bed_mm`` bed without overlap; orders tried: largest area, longest side, shortest side
    first, then every order of the :data:`PERMUTED_PARTS` largest. DoesNotFit names the largest part."""
    w, h = bed_mm
    sizes = [tuple(map(float, p.print_mesh.extents[:2])) for p in parts]
    area = [a * b for a, b in sizes]
    orders = [sorted(range(len(parts)), key=lambda k: -area[k]),
              sorted(range(len(parts)), key=lambda k: -max(sizes[k])),
              sorted(range(len(parts)), key=lambda k: -min(sizes[k]))]
    big = orders[0][:min(PERMUTED_PARTS, len(parts))]
    rest = orders[0][len(big):]
    orders += [list(perm) + rest for perm in itertools.islice(itertools.permutations(big), 720)]
    for order in orders:
        placement = _bottom_left([sizes[k] for k in order], w, h)
        if placement is None:
            continue
        for k, (x, y, turned) in zip(order, placement):
            if turned:
                parts[k].print_transform = _QUARTER_TURN @ parts[k].print_transform
            ex, ey = parts[k].print_mesh.extents[:2]
            parts[k].plate_xy = (x + ex / 2, y + ey / 2)
        return
    worst = max(range(len(parts)), key=lambda k: area[k])
    ex, ey = sizes[worst]
    raise DoesNotFit(f"demonstrator: {parts[worst].name} ({ex:.0f} × {ey:.0f} mm) does not fit on the "
                     f"{w:g} × {h:g} mm bed with the other parts; use a larger --bed or a smaller --scale")


def plate_overlaps(parts: Sequence[Part]) -> list[tuple[str, str]]:
    """Pairs of parts whose plate footprints (xy boxes) overlap."""
    boxes = [(p.name, p.plate_mesh.bounds) for p in parts]
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (a, ba), (b, bb) = boxes[i], boxes[j]
            if np.all(ba[0, :2] < bb[1, :2]) and np.all(bb[0, :2] < ba[1, :2]):
                out.append((a, b))
    return out
