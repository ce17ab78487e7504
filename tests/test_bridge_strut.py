"""bridge-strut (type 7): validity, volume by Pappus, placement, path radius, platform normals,
screw channels, presets, bad input for every bound and cross-field rule."""

from __future__ import annotations

import functools
import math

import cadquery as cq
import numpy as np
import pytest
from bounds import out_of_bounds

import implants
from implants.errors import ParameterError
from implants.geometry.outlines import rounded_rectangle_area
from implants.implant_types import bridge_strut as bs

TEMPLATE = implants.get("bridge-strut")


@functools.cache
def built(preset: str | None = None, **overrides):
    return TEMPLATE.build(TEMPLATE.make_params(preset, **overrides))


def plain(**overrides):
    """Default span without screws/flanges: volume has a closed form."""
    return built(None, screws_per_platform=0, **overrides)


def span_c7_t10() -> float:
    """Independent sum: bodies C7..T10 plus the discs C6/C7 .. T10/T11 (table values)."""
    names = ["C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10"]
    bodies = sum(bs.LEVELS[n][0] for n in names)
    discs = sum(bs.LEVELS[n][3] for n in ["C6"] + names)
    return bodies + discs


def platform_area(level: str, fraction: float = 0.85) -> float:
    _, depth, width, _ = bs.LEVELS[level]
    d, w = fraction * depth, fraction * width
    return rounded_rectangle_area(d, w, 0.3 * min(d, w))


@pytest.mark.parametrize("preset", list(TEMPLATE.presets))
def test_every_preset_builds_one_valid_solid(preset):
    implant = built(preset)
    assert implant.shape.isValid()
    assert implant.bodies == 1
    assert implant.volume_mm3() > 0
    n = TEMPLATE.make_params(preset).screws_per_platform
    names = set(implant.features)
    assert {"contact.superior", "contact.inferior", "path"} <= names
    assert {f"screw.{i}" for i in range(1, 2 * n + 1)} <= names
    for name in ("contact.superior", "contact.inferior"):
        assert implant.features[name].faces, name


def test_default_span_is_c7_t10_fixed_to_c6_and_t11():
    implant = built()
    assert implant.metrics["fixation_levels"] == {"superior": "C6", "inferior": "T11"}
    assert implant.metrics["path_length_mm"] == pytest.approx(span_c7_t10())
    assert 200 < span_c7_t10() < 320  # C7–T10 of an adult: roughly a quarter metre


@pytest.mark.parametrize("section,width,depth", [("round", 12.0, 12.0), ("oval", 14.0, 10.0)])
def test_volume_pappus_plus_platforms(section, width, depth):
    implant = plain(section=section, section_width_mm=width, section_depth_mm=depth)
    t, r = 4.0, 300.0
    arc = span_c7_t10() - 2 * t  # straight through each platform, arc between them
    area = math.pi * width * depth / 4
    expected = t * (platform_area("T11") + platform_area("C6")) + area * arc
    assert implant.volume_mm3() == pytest.approx(expected, rel=1e-5)


def test_rounded_rectangle_section_volume():
    implant = plain(section="rounded-rectangle", section_width_mm=12.0, section_depth_mm=9.0,
                    section_corner_radius_mm=2.0)
    t = 4.0
    area = 12.0 * 9.0 - (4 - math.pi) * 4.0
    expected = t * (platform_area("T11") + platform_area("C6")) + area * (span_c7_t10() - 2 * t)
    assert implant.volume_mm3() == pytest.approx(expected, rel=1e-5)


def test_bounding_box_matches_documented_placement():
    implant = plain()
    bb = implant.shape.BoundingBox()
    t, r = 4.0, 300.0
    theta = (span_c7_t10() - 2 * t) / r
    end = np.array([r * (1 - math.cos(theta)), 0.0, t + r * math.sin(theta)])
    up = np.array([math.sin(theta), 0.0, math.cos(theta)])
    centre = end + t * up  # superior bearing centre
    d_sup = 0.85 * bs.LEVELS["C6"][1]
    d_inf, w_inf = 0.85 * bs.LEVELS["T11"][1], 0.85 * bs.LEVELS["T11"][2]
    assert bb.zmin == pytest.approx(0.0, abs=1e-6)                # inferior bearing plane
    assert bb.zmax == pytest.approx(centre[2] + d_sup / 2 * math.sin(theta), abs=1e-3)
    assert bb.xmax == pytest.approx(centre[0] + d_sup / 2 * math.cos(theta), abs=1e-3)
    assert bb.xmin == pytest.approx(-d_inf / 2, abs=1e-3)
    assert bb.ymin == pytest.approx(-w_inf / 2, abs=1e-3) and bb.ymax == pytest.approx(w_inf / 2, abs=1e-3)


def test_column_follows_requested_radius():
    """Cut the B-rep with radial planes through the arc centre: each cross-section's centroid
    lies on the requested radius, in the sagittal plane."""
    r, t = 300.0, 4.0
    implant = plain(curve_radius_mm=r)
    theta = (span_c7_t10() - 2 * t) / r
    centre = np.array([r, 0.0, t])
    for fraction in (0.1, 0.35, 0.6, 0.9):
        a = fraction * theta
        radial = np.array([-math.cos(a), 0.0, math.sin(a)])   # from the centre towards the path
        normal = np.array([math.sin(a), 0.0, math.cos(a)])    # the path tangent there
        plane = cq.Face.makePlane(60, 60, cq.Vector(*(centre + r * radial)), cq.Vector(*normal))
        section = implant.shape.intersect(plane)
        c = np.array(section.Center().toTuple())
        assert section.Area() == pytest.approx(math.pi * 36, rel=1e-3)
        assert np.linalg.norm(c - centre) == pytest.approx(r, abs=0.01)
        assert c[1] == pytest.approx(0.0, abs=1e-3)


def test_platform_normals_and_kyphosis_measured_on_faces():
    implant = built()
    t, r = 4.0, 300.0
    theta = math.degrees((span_c7_t10() - 2 * t) / r)
    normals = {}
    for name in ("contact.inferior", "contact.superior"):
        feature = implant.features[name]
        face = max(feature.faces, key=lambda f: f.Area())
        n = np.array(face.normalAt().toTuple())
        assert np.dot(n, feature.direction) == pytest.approx(1.0, abs=1e-9)
        normals[name] = n
    assert normals["contact.inferior"] == pytest.approx([0, 0, -1], abs=1e-9)
    angle = math.degrees(math.acos(np.dot(-normals["contact.inferior"], normals["contact.superior"])))
    assert angle == pytest.approx(theta, abs=1e-6)
    assert implant.metrics["kyphosis_deg"] == pytest.approx(theta, abs=1e-3)
    # the superior normal tips anteriorly (+x): a kyphosis
    assert normals["contact.superior"][0] > 0


def test_contact_face_area_is_the_platform():
    implant = plain()
    area = sum(f.Area() for f in implant.features["contact.inferior"].faces)
    assert area == pytest.approx(platform_area("T11"), rel=1e-6)
    area = sum(f.Area() for f in implant.features["contact.superior"].faces)
    assert area == pytest.approx(platform_area("C6"), rel=1e-6)


def test_screw_channels_axes_and_open_bore():
    implant = built()
    screws = [implant.features[f"screw.{i}"] for i in range(1, 5)]
    half_depth_t11 = bs.LEVELS["T11"][1] / 2
    for screw in screws[:2]:  # inferior: into T11, below the bearing plane, driven posteriorly
        assert screw.diameter_mm == 4.0
        assert screw.origin[0] == pytest.approx(half_depth_t11 + 3.0)
        assert screw.origin[2] == pytest.approx(-11.0 / 2)
        assert math.degrees(math.acos(-screw.direction[0])) == pytest.approx(10.0)   # convergence
    assert screws[0].direction[1] * screws[0].origin[1] < 0  # converging towards the midline
    sup = implant.features["contact.superior"]
    for screw in screws[2:]:  # superior: into C6, beyond the superior bearing plane
        depth = np.dot(np.subtract(screw.origin, sup.origin), sup.direction)
        assert depth == pytest.approx(11.0 / 2)
        assert np.dot(screw.direction, sup.direction) == pytest.approx(0.0, abs=1e-9)
    # each channel has a cylindrical face of the screw radius on the requested axis
    cylinders = []
    for face in implant.shape.Faces():
        if face.geomType() == "CYLINDER":
            gc = face._geomAdaptor().Cylinder()
            ax = gc.Axis()
            cylinders.append((gc.Radius(), np.array(ax.Location().Coord()), np.array(ax.Direction().Coord())))
    for screw in screws:
        o, d = np.array(screw.origin), np.array(screw.direction)
        hits = [c for c in cylinders if abs(c[0] - 2.0) < 1e-6 and abs(abs(np.dot(c[2], d)) - 1) < 1e-9
                and np.linalg.norm(np.cross(o - c[1], d)) < 1e-6]
        assert hits, screw.name
        mid = o + d * 1.5  # half-way through the 3 mm flange: inside the bore, not in metal
        assert not implant.shape.isInside(cq.Vector(*mid))
        side = np.cross(d, [0, 0, 1.0])
        assert implant.shape.isInside(cq.Vector(*(mid + 2.6 * side / np.linalg.norm(side))))


def test_lateral_fixation_puts_flanges_on_the_left():
    implant = built("thoracolumbar-t11-l2-lateral")
    for i in range(1, 5):
        screw = implant.features[f"screw.{i}"]
        assert screw.origin[1] > 15
        assert screw.direction[1] < -0.98


def test_path_points_mode():
    pts = TEMPLATE.presets["thoracic-points"]["path_points_mm"]
    implant = built("thoracic-points")
    path = implant.features["path"]
    assert np.allclose(path.info["points_mm"][0], pts[0]) and np.allclose(path.info["points_mm"][-1], pts[-1], atol=1e-3)
    assert implant.features["contact.superior"].origin == pytest.approx(pts[-1])
    line = np.array(path.info["points_mm"])
    first = (line[1] - line[0]) / np.linalg.norm(line[1] - line[0])  # the curve's tangent at the start
    assert np.dot(implant.features["contact.inferior"].direction, first) == pytest.approx(-1.0, abs=1e-6)
    given = np.subtract(pts[1], pts[0]) / np.linalg.norm(np.subtract(pts[1], pts[0]))
    assert np.dot(first, given) > math.cos(math.radians(5))
    # the centre line passes through every given point
    for p in pts:
        assert np.linalg.norm(line - p, axis=1).min() < 1e-6


def test_derive_does_not_import_the_kernel():
    import subprocess
    import sys

    code = ("import sys, implants; from implants.implant_types import bridge_strut as b; "
            "b.derive(implants.get('bridge-strut').make_params()); print('cadquery' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("field,value", list(out_of_bounds(bs.BridgeStrutParams)))
def test_out_of_bounds_named(field, value):
    with pytest.raises(ParameterError, match=field):
        TEMPLATE.make_params(**{field: value})


@pytest.mark.parametrize("overrides,field", [
    (dict(bridged_from="T10", bridged_to="T5"), "bridged_from"),
    (dict(bridged_from="C3"), "bridged_from"),
    (dict(bridged_from="C4", bridged_to="L5"), "bridged_to"),
    (dict(curve_radius_mm=60.0), "curve_radius_mm"),
    (dict(section_width_mm=20.0), "section_width_mm"),
    (dict(screws_per_platform=3, screw_diameter_mm=6.5), "flange_width_mm"),
    (dict(flange_height_mm=20.0), "flange_height_mm"),
    (dict(screw_diameter_mm=6.5, flange_width_mm=20.0, flange_height_mm=10.0), "flange_height_mm"),
    (dict(path_points_mm=((0, 0, 0), (0, 0, 50), (0, 0, 10))), "path_points_mm"),
    (dict(path_points_mm=((0, 0, 0), (0, 0, 50), (3, 0, 52), (0, 0, 100))), "path_points_mm"),
    (dict(path_points_mm=((0, 0, 0), (0, 0, 5), (0, 0, 100))), "path_points_mm"),
    (dict(bridged_from="T20"), "bridged_from"),
    (dict(span_mm=25.0, platform_thickness_mm=8.0), "span_mm"),
    (dict(sectoin="oval"), "sectoin"),
])
def test_bad_combinations_named(overrides, field):
    with pytest.raises(ParameterError, match=field):
        TEMPLATE.make_params(**overrides)


def test_export_passes_checks(tmp_path):
    result = implants.export(built("thoracic-t5-t9-oval"), tmp_path, formats=("step", "stl"))
    assert result.manifest["checks"]["ok"]
    assert result.paths["stl"].exists() and result.paths["step"].exists()
