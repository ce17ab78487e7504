"""monolithic (type 8): validity, one body, branch count, seat positions and axes measured on the
B-rep, hook throat, mirror symmetry, volume against an independent mesh boolean, bad input."""

from __future__ import annotations

import functools
import math

import cadquery as cq
import numpy as np
import pytest
from bounds import out_of_bounds

import implants
from implants.errors import ParameterError
from implants.implant_types import monolithic as mono

TEMPLATE = implants.get("monolithic")


@functools.cache
def built(preset: str | None = None, **overrides):
    return TEMPLATE.build(TEMPLATE.make_params(preset, **overrides))


@pytest.mark.parametrize("preset", list(TEMPLATE.presets))
def test_every_preset_builds_one_valid_solid(preset):
    implant = built(preset)
    assert implant.shape.isValid()
    assert implant.bodies == 1
    assert "rod" in implant.features


def requested_seats(p) -> list[tuple[str, np.ndarray, float, float]]:
    """Seat points and (caudal, lateral) screw angles straight from the parameters."""
    s = p.side.sign
    return [("S2", np.array([-6.0, s * p.s2_lateral_mm, p.s2_z_mm]), p.s2_caudal_deg, p.s2_lateral_deg),
            ("iliac upper", np.array([-p.iliac_dorsal_mm, s * p.iliac_lateral_mm, p.iliac_z_mm]),
             p.iliac_caudal_deg, p.iliac_lateral_deg),
            ("iliac lower", np.array([-p.iliac_dorsal_mm, s * p.iliac_lateral_mm, p.iliac_z_mm - p.iliac_spacing_mm]),
             p.iliac_caudal_deg, p.iliac_lateral_deg)]


def _analytic_faces(shape, kind):
    out = []
    for face in shape.Faces():
        if face.geomType() == "SPHERE" and kind == "sphere":
            sp = face._geomAdaptor().Sphere()
            out.append((sp.Radius(), np.array(sp.Location().Coord()), None))
        if face.geomType() == "CYLINDER" and kind == "cylinder":
            cy = face._geomAdaptor().Cylinder()
            out.append((cy.Radius(), np.array(cy.Axis().Location().Coord()), np.array(cy.Axis().Direction().Coord())))
    return out


@pytest.mark.parametrize("preset", ["lumbosacral-revision-left", "lumbosacral-revision-right"])
def test_lumbosacral_branches_and_seats_measured_on_the_brep(preset):
    implant = built(preset)
    p = implant.params
    assert implant.metrics["branches"] == 2
    assert {f"seat.{i}" for i in (1, 2, 3)} <= set(implant.features)
    assert {"branch.1", "branch.2"} <= set(implant.features)
    spheres = _analytic_faces(implant.shape, "sphere")
    cylinders = _analytic_faces(implant.shape, "cylinder")
    s = p.side.sign
    for i, (screw, point, caudal, lateral) in enumerate(requested_seats(p), 1):
        seat = implant.features[f"seat.{i}"]
        assert seat.info["screw"] == screw
        assert np.linalg.norm(np.array(seat.origin) - point) < 0.2
        assert seat.diameter_mm == p.seat_bore_mm
        d = np.array(seat.direction)
        # axis from the requested angles: caudal inclination, lateral angulation, anterior (into bone)
        assert math.degrees(math.asin(-d[2])) == pytest.approx(caudal, abs=1e-6)
        assert math.degrees(math.atan2(s * d[1], d[0])) == pytest.approx(lateral, abs=1e-6)
        # the head cup: a sphere of the head radius centred on the requested point
        cups = [c for r, c, _ in spheres if abs(r - p.seat_head_diameter_mm / 2) < 1e-6]
        assert min(np.linalg.norm(c - point) for c in cups) < 0.2
        # the bore: a cylinder of the bore radius on the requested axis through the point
        bores = [(c, a) for r, c, a in cylinders if abs(r - p.seat_bore_mm / 2) < 1e-6
                 and math.degrees(math.acos(min(1.0, abs(np.dot(a, d))))) < 0.5]
        assert min(np.linalg.norm(np.cross(point - c, a)) for c, a in bores) < 0.2
        # open bore: the axis below the cup is empty, the ring wall beside it is metal
        below = point + d * (p.seat_height_mm - 1.0)
        assert not implant.shape.isInside(cq.Vector(*below))
        side = np.cross(d, [1.0, 0.0, 0.0])
        side /= np.linalg.norm(side)
        ring = below + side * (p.seat_bore_mm + p.seat_outer_diameter_mm) / 4
        assert implant.shape.isInside(cq.Vector(*ring))


def test_left_and_right_are_mirror_images():
    left, right = built("lumbosacral-revision-left"), built("lumbosacral-revision-right")
    assert left.volume_mm3() == pytest.approx(right.volume_mm3(), rel=1e-5)
    bl, br = left.shape.BoundingBox(), right.shape.BoundingBox()
    assert bl.ymin == pytest.approx(-br.ymax, abs=1e-3) and bl.ymax == pytest.approx(-br.ymin, abs=1e-3)
    assert bl.zmin == pytest.approx(br.zmin, abs=1e-3) and bl.zmax == pytest.approx(br.zmax, abs=1e-3)


def test_lumbosacral_bounding_box_from_placement():
    implant = built()
    p = implant.params
    bb = implant.shape.BoundingBox()
    assert bb.zmax == pytest.approx(p.rod_cranial_mm, abs=p.rod_diameter_mm / 2)  # rod's cranial end
    assert bb.ymin > 0  # left-sided implant: entirely left of the midline
    # the lowest point is the bone-side rim of the lowest seat ring (a circle tilted by the screw axis)
    lowest = []
    for i in (1, 2, 3):
        seat = implant.features[f"seat.{i}"]
        d = np.array(seat.direction)
        floor = np.array(seat.origin) + d * p.seat_height_mm
        lowest.append(floor[2] - p.seat_outer_diameter_mm / 2 * math.sqrt(1 - d[2] ** 2))
    assert bb.zmin == pytest.approx(min(lowest), abs=0.05)


def test_volume_matches_an_independent_mesh_boolean():
    """Union and cuts redone on meshes with manifold3d (not OCCT): volumes agree within 0.5 %."""
    import manifold3d as m3d

    from implants.writers.tessellate import tessellate
    from implants.geometry import paths, solids

    p = TEMPLATE.make_params()
    g = mono.derive(p)

    def to_manifold(shape):
        mesh = tessellate(shape, 0.01).mesh
        return m3d.Manifold(m3d.Mesh(vert_properties=np.asarray(mesh.vertices, np.float32),
                                     tri_verts=np.asarray(mesh.faces, np.uint32)))

    body = to_manifold(paths.tube(g.rod, p.rod_diameter_mm))
    for seat in g.seats:
        if seat.branch is not None:
            body = body + to_manifold(paths.tube(seat.branch, p.branch_diameter_mm))
        body = body + to_manifold(solids.cylinder(seat.point, seat.axis, p.seat_outer_diameter_mm, p.seat_height_mm))
    for seat in g.seats:
        body = body - to_manifold(solids.channel(seat.point, seat.axis, p.seat_bore_mm, p.seat_height_mm))
        body = body - to_manifold(cq.Solid.makeSphere(p.seat_head_diameter_mm / 2, cq.Vector(*seat.point),
                                                      angleDegrees1=-90, angleDegrees2=90))  # whole sphere
    assert built().volume_mm3() == pytest.approx(body.volume(), rel=5e-3)


def test_iliac_hook_throat_and_placement():
    implant = built("iliac-hook-infant")
    p = implant.params
    hook = implant.features["hook"]
    assert implant.metrics["branches"] == 0 and implant.metrics["seats"] == 0
    crest = np.array([-6.0, p.crest_lateral_mm, p.crest_z_mm])
    assert np.allclose(hook.origin, crest)
    assert hook.diameter_mm == p.hook_throat_mm and hook.direction == (0.0, 0.0, -1.0)
    lateral = np.array([0.0, 1.0, 0.0])
    half, t = p.hook_throat_mm / 2, p.hook_thickness_mm
    shape = implant.shape

    def inside(v):
        return shape.isInside(cq.Vector(*v))

    assert not inside(crest)                                   # the crest sits in an empty throat
    for side in (1, -1):
        assert not inside(crest + side * (half - 0.2) * lateral)
        assert inside(crest + side * (half + 0.3) * lateral)   # the blade's inner face at throat/2
        assert inside(crest + side * (half + t / 2) * lateral - [0, 0, p.hook_leg_mm - 0.3])  # legs
        assert not inside(crest + side * (half + t + 0.3) * lateral)
    assert inside(crest + [0, 0, half + t / 2])                # the bridge over the crest
    assert not inside(crest + [0, 0, half - 0.2])
    bb = shape.BoundingBox()
    assert bb.zmin == pytest.approx(p.crest_z_mm - p.hook_leg_mm, abs=1e-3)
    assert bb.zmax == pytest.approx(p.crest_z_mm + p.rod_cranial_mm, abs=p.rod_diameter_mm / 2)
    assert bb.xmax - bb.xmin < 12.0  # low profile: no connector block


def test_derive_does_not_import_the_kernel():
    import subprocess
    import sys

    code = ("import sys, implants; from implants.implant_types import monolithic as m; "
            "m.derive(implants.get('monolithic').make_params()); print('cadquery' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("field,value", list(out_of_bounds(mono.MonolithicParams)))
def test_out_of_bounds_named(field, value):
    with pytest.raises(ParameterError, match=field):
        TEMPLATE.make_params(**{field: value})


@pytest.mark.parametrize("overrides,field", [
    (dict(branch_diameter_mm=5.5), "branch_diameter_mm"),
    (dict(seat_head_diameter_mm=8.0), "seat_head_diameter_mm"),
    (dict(seat_outer_diameter_mm=11.0), "seat_outer_diameter_mm"),
    (dict(seat_height_mm=6.0), "seat_height_mm"),
    (dict(iliac_lateral_mm=24.0, iliac_dorsal_mm=2.0), "iliac_lateral_mm"),   # a branch seat inside the rod
    (dict(iliac_spacing_mm=10.0), "iliac_spacing_mm"),                       # two rings overlap
    (dict(iliac_z_mm=-40.0, s2_z_mm=-10.0), "s2_z_mm"),
    (dict(variant="hook"), "variant"),
    (dict(side="middle"), "side"),
])
def test_bad_combinations_named(overrides, field):
    with pytest.raises(ParameterError, match=field):
        TEMPLATE.make_params(**overrides)


def test_export_passes_checks(tmp_path):
    result = implants.export(built("iliac-hook-infant"), tmp_path, formats=("step", "stl"))
    assert result.manifest["checks"]["ok"]
    assert result.paths["stl"].exists()


# Robustness regressions (issue 9): samples from tests/test_robustness.py that once failed; each must build a
# valid, watertight single solid at the export deflection (or be rejected with a ParameterError naming fields).
ROBUSTNESS_REGRESSIONS = [
    # clean() (UnifySameDomain) left the S2 seat's spherical cup invalid after a valid cut
    ("lumbosacral-revision-left",
     {'side': 'right', 'iliac_dorsal_mm': 21.11, 's2_z_mm': -14.0, 'seat_bore_mm': 3.389, 's2_lateral_mm': 18.12,
      'iliac_lateral_mm': 54.34, 'crest_lateral_mm': 62.59, 'seat_height_mm': 12.43, 'rod_diameter_mm': 6.717,
      'branch_rise_mm': 20.92, 'iliac_spacing_mm': 31.32, 'hook_throat_mm': 9.09, 'seat_head_diameter_mm': 9.086,
      'hook_thickness_mm': 2.0, 's2_caudal_deg': 0, 'branch_diameter_mm': 6.232, 'iliac_lateral_deg': 52.34,
      'crest_z_mm': 27.84, 'seat_outer_diameter_mm': 12.497, 'variant': 'lumbosacral-revision',
      'iliac_caudal_deg': 12.18, 'rod_cranial_mm': 65.39, 'hook_leg_mm': 13.98, 'iliac_z_mm': 0,
      'hook_width_mm': 4.416, 's2_lateral_deg': 14.52}),
    # long rods: every sweep law 1-4e-4 off section x length, over the old 1e-4 sweep tolerance
    ("lumbosacral-revision-right", {'rod_cranial_mm': 180.0, 'iliac_dorsal_mm': 23.217659431679476}),
    ("iliac-hook-infant",
     {'branch_rise_mm': 7.365226034946055, 'material': 'peek', 'iliac_lateral_deg': 23.698824394286028,
      'variant': 'lumbosacral-revision', 'hook_throat_mm': 10.725659014670564, 'hook_thickness_mm': 7.411811615217106,
      's2_lateral_mm': 34.75624884691871, 'iliac_z_mm': 16.248041356244812, 'side': 'right',
      'rod_cranial_mm': 155.11473667884087}),
    ("lumbosacral-revision-left",
     {'hook_width_mm': 4.0, 'iliac_caudal_deg': 7.230724291364734, 's2_caudal_deg': 45.0, 'iliac_spacing_mm': 20.0}),
]


@pytest.mark.parametrize("preset,overrides", ROBUSTNESS_REGRESSIONS)
def test_robustness_regressions_build_watertight(preset, overrides):
    from implants.checks.mesh import check_mesh
    from implants.writers.tessellate import tessellate
    from implants.tolerances import DEFAULT_DEFLECTION_MM

    implant = TEMPLATE.build(TEMPLATE.make_params(preset, **overrides))
    assert implant.shape.isValid()
    assert implant.bodies == 1
    report = check_mesh(tessellate(implant.shape, DEFAULT_DEFLECTION_MM).mesh, expected_bodies=1)
    assert report["watertight"] and report["winding_consistent"]
    assert report["volume_mm3"] > 0
