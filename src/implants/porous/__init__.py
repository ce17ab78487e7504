"""Porous lattice zones on the mesh side (STL/3MF/GLB); the STEP stays the solid envelope.

``apply_lattice(mesh, implant, LatticeParams(...)) -> (mesh, figures)``: sheet and skeletal
gyroid / diamond TPMS and cubic / body-centred strut lattices, with porosity and pore size
measured on the result (see :mod:`implants.porous.lattice`).
"""

from __future__ import annotations

from .params import LatticeParams, LatticeType, Zone

__all__ = ["LatticeParams", "LatticeType", "Zone", "apply_lattice", "cell_size"]


def apply_lattice(mesh, implant, params):
    """See :func:`implants.porous.lattice.apply_lattice`."""
    from .lattice import apply_lattice as _apply

    return _apply(mesh, implant, params)


def cell_size(params):
    """(cell, pore, thinnest wall) in mm: see :func:`implants.porous.lattice.cell_size`."""
    from .lattice import cell_size as _cell_size

    return _cell_size(params)
