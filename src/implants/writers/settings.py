"""What an export may be asked for (layer: writers): the formats it writes and the chord
deflection of its one tessellation, with the one rule (and the one default) of the deflection.

Light on purpose (no kernel, no trimesh): the command line and sweep specs check a user's
values with it before anything is built.
"""

from __future__ import annotations

from .. import tolerances
from ..errors import ParameterError

#: Formats an export can write, in the order they are written.
FORMATS = ("step", "stl", "3mf", "glb")

#: Chord deflections (mm) a user may ask for: finer than 1 µm only multiplies triangles (the
#: merge tolerance is 1e-6 mm), coarser than 1 mm no longer follows 2 mm screw channels.
DEFLECTION_RANGE_MM = (0.001, 1.0)


def checked_deflection(deflection_mm: float | None, field: str = "deflection") -> float:
    """The absolute chord deflection to mesh with (mm): :data:`~implants.tolerances.DEFAULT_DEFLECTION_MM`
    for None, else ``deflection_mm`` when it lies in :data:`DEFLECTION_RANGE_MM`;
    :class:`ParameterError` naming ``field``, the value and the allowed range otherwise."""
    if deflection_mm is None:
        return tolerances.DEFAULT_DEFLECTION_MM
    low, high = DEFLECTION_RANGE_MM
    if not (isinstance(deflection_mm, (int, float)) and low <= deflection_mm <= high):
        raise ParameterError(f"{field} = {deflection_mm}: allowed {low} to {high} mm")
    return float(deflection_mm)
