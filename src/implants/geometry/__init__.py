"""Shared builders (layer: geometry): outlines, solids, plates, swept paths, columns, synthetic endplate domes,
local frames and grid surfaces, in the patient frame (mm)."""
