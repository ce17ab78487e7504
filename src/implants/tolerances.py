"""Every numeric tolerance of the package, each with the reason it has its value (layer: tolerances)."""

#: Default absolute chord deflection of the tessellation (mm). Measured on the cage presets:
#: mesh volume within 0.002-0.41 % of the B-rep (inside the area × deflection bound), a few
#: thousand triangles per implant, meshed in well under a second.
DEFAULT_DEFLECTION_MM = 0.02

#: Angular deflection of the tessellation (rad): limits facet angle on small radii
#: (screw channels of 2 mm) where the chord deflection alone would leave few facets.
ANGULAR_DEFLECTION_RAD = 0.2

#: Vertices closer than this are merged after meshing (mm): far below any feature and
#: far above the round-off of OCCT's shared edge discretisation.
MERGE_TOLERANCE_MM = 1e-6

#: Triangles with less area are dropped after meshing (mm²): zero-area slivers where
#: fillets meet break watertightness, lib3mf and slicers (ARCHITECTURE.md pitfalls).
DEGENERATE_AREA_MM2 = 1e-10

#: Holes left by OCCT's mesher in very thin faces (slivers 0.006 mm wide between serrations
#: and a rounded corner, measured: loops of 4-10 vertices, perimeter 0.4-1.4 mm) are filled
#: when their perimeter is under this (mm); larger openings are real defects and fail the checks.
HOLE_FILL_MAX_PERIMETER_MM = 2.0

#: Default distance under which implant surface counts as touching bone (mm): SPEC.md §4.
CONTACT_TOLERANCE_MM = 0.25

#: STEP re-read must give the B-rep volume within this relative bound: SPEC.md §4.
STEP_VOLUME_REL_TOL = 0.005

#: Allowed segmental angle error of a built cage against the request (deg): SPEC.md §4.
ANGLE_TOLERANCE_DEG = 0.5

#: Guide-tube axes must match the requested trajectory within this angle (deg): SPEC.md §4.
AXIS_TOLERANCE_DEG = 0.5

#: Side of the sub-triangles used to integrate contact area (mm): one tenth of a
#: millimetre keeps the boundary error of the contact patch under 1 % for patches > 50 mm².
CONTACT_SAMPLE_SPACING_MM = 0.1


def mesh_volume_tolerance(area_mm2: float, deflection_mm: float) -> float:
    """Largest expected |mesh volume − B-rep volume| (mm³) for a chord deflection.

    A chordal mesh lies at most ``deflection_mm`` from the true surface everywhere, so
    the volume between them is bounded by surface area × deflection.
    """
    return area_mm2 * deflection_mm
