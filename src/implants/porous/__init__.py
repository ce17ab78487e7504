"""Porous lattice zones on the mesh side (STL/3MF/GLB); the STEP stays the solid envelope
(layer: porous).

``apply_lattice(mesh, implant, LatticeParams(...)) -> (mesh, figures)``: sheet and skeletal
gyroid / diamond TPMS and cubic / body-centred strut lattices, with porosity and pore size
measured on the result (see :mod:`implants.porous.lattice`).
"""

from __future__ import annotations

from .lattice import apply_lattice, cell_size
from .params import LatticeParams, LatticeType, Zone

__all__ = ["LatticeParams", "LatticeType", "Zone", "apply_lattice", "cell_size"]
