"""Parameters of a porous lattice zone (mm, fractions) (layer: porous)."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class LatticeType(str, Enum):
    """Lattice families: sheet / skeletal triply periodic minimal surfaces and strut lattices."""

    GYROID_SHEET = "gyroid"              # sheet gyroid: solid |g| <= t (two interwoven pore labyrinths)
    GYROID_SKELETAL = "gyroid-skeletal"  # skeletal gyroid: solid g <= t (one network of struts)
    DIAMOND_SHEET = "diamond"            # sheet Schwarz diamond
    DIAMOND_SKELETAL = "diamond-skeletal"
    CUBIC = "cubic"                      # cylindrical struts along the edges of a cubic cell
    BCC = "bcc"                          # body-centred cubic: struts along the cell's body diagonals

    @property
    def is_tpms(self) -> bool:
        return self not in (LatticeType.CUBIC, LatticeType.BCC)

    @property
    def is_sheet(self) -> bool:
        return self in (LatticeType.GYROID_SHEET, LatticeType.DIAMOND_SHEET)


class Zone(str, Enum):
    """Which part of the body is porous."""

    CORE = "core"        # everything inside an outer solid wall of ``wall_mm``
    WHOLE = "whole"      # the whole body, lattice open at every outer surface
    BEARING = "bearing"  # only a layer of ``bearing_depth_mm`` under the contact.* surfaces


class LatticeParams(BaseModel):
    """A porous zone: lattice type, porosity, pore (or cell) size and the solid skins kept."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False)

    type: LatticeType = Field(LatticeType.GYROID_SHEET, description="Lattice type")
    porosity: float = Field(0.65, ge=0.50, le=0.80, description="Void fraction of the lattice zone")
    pore_mm: float = Field(0.5, ge=0.3, le=0.9, description="Pore size: diameter of the largest sphere passing through the pores")
    cell_mm: float | None = Field(None, ge=0.5, le=8.0, description="Unit-cell size; if set it replaces pore_mm (pore then follows)")
    skin_mm: float = Field(0.5, ge=0.0, le=3.0, description="Solid skin kept around screw channels, docking and guide features")
    wall_mm: float = Field(0.8, ge=0.0, le=5.0, description="Solid outer wall around a core zone")
    bearing_depth_mm: float = Field(1.5, ge=0.3, le=5.0, description="Depth of the porous layer under the bearing surfaces (zone=bearing)")
    zone: Zone = Field(Zone.CORE, description="Porous zone: core, whole body or bearing surfaces only")
    min_wall_mm: float | None = Field(None, ge=0.05, le=2.0, description="Printable strut/wall limit; default: the material's (0.3 Ti, 0.8 PEEK)")
    voxel_mm: float | None = Field(None, ge=0.02, le=0.5, description="Marching-cubes grid step; default from cell size and surface error")
