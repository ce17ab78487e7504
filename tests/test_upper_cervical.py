"""Upper-cervical family: upper-cervical-docking (type 1), c1c2-transarticular-template (type 2),
anterior-plate (type 6). Geometry, features, measured guide axes, volumes, presets, bad input."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import implants
from implants import ParameterError, tolerances
from implants.geometry.synthetic_endplate import SyntheticEndplate
from implants.geometry import outlines
from implants.geometry.frames import angle_between_deg
from implants.geometry.plates import cylinder_axis_from_faces
from implants.implant_types import anterior_plate as plate_mod
from implants.implant_types import c1c2_transarticular_template as guide_mod
from implants.implant_types import upper_cervical_docking as dock_mod

DOCK, GUIDE, PLATE = dock_mod.TYPE_ID, guide_mod.TYPE_ID, plate_mod.TYPE_ID
MODULES = {DOCK: dock_mod, GUIDE: guide_mod, PLATE: plate_mod}
#: Slack on bounding boxes: OCCT's bounding box of B-spline faces is not tight (mm).
BBOX_SLACK_MM = 0.2


@functools.cache
def built(type_id: str, preset: str, **overrides):
    return implants.build(type_id, preset=preset, **overrides)


_BOUNDS: dict[int, np.ndarray] = {}


def _mesh_bounds(implant):
    from implants.writers.tessellate import tessellate

    if id(implant) not in _BOUNDS:  # implants built by built() live for the whole module
        _BOUNDS[id(implant)] = tessellate(implant.shape).mesh.bounds
    return _BOUNDS[id(implant)]


def bbox(implant):
    """Tight bounding box from the tessellation (OCCT's B-rep box of B-spline faces is loose)."""
    lo, hi = _mesh_bounds(implant)
    return np.array(lo), np.array(hi)


def assert_bbox(implant, lo, hi, slack=BBOX_SLACK_MM):
    got_lo, got_hi = bbox(implant)
    for axis, (g, e) in enumerate(zip(got_lo, lo)):
        if e is not None:
            assert e - slack - 1e-6 <= g <= e + 1e-6 + slack, f"min axis {axis}: {g} vs {e}"
    for axis, (g, e) in enumerate(zip(got_hi, hi)):
        if e is not None:
            assert e - slack - 1e-6 <= g <= e + slack + 1e-6, f"max axis {axis}: {g} vs {e}"


ALL_PRESETS = [(t, name) for t, m in MODULES.items() for name in m.PRESETS]


@pytest.mark.parametrize("type_id,preset", ALL_PRESETS)
def test_every_preset_builds_one_valid_solid(type_id, preset):
    implant = built(type_id, preset)
    assert implant.shape.isValid()
    assert implant.bodies == 1
    assert implant.volume_mm3() > 0
    for name, feature in implant.features.items():
        if feature.kind == "surface":
            assert feature.faces, f"{type_id}/{preset}: {name} has no faces"
        if feature.kind == "channel":
            assert feature.diameter_mm > 0 and abs(np.linalg.norm(feature.direction) - 1) < 1e-9


def test_registered_in_spec_order():
    ids = implants.type_ids()
    for type_id in (DOCK, GUIDE, PLATE):
        assert implants.get(type_id).type_id == type_id
    assert ids.index(DOCK) < ids.index(GUIDE) < ids.index(PLATE)


def test_exported_meshes_are_watertight_single_bodies():
    """The tessellation that export writes is watertight, manifold, one body, volume ≈ B-rep."""
    from implants.checks.mesh import check_mesh
    from implants.writers.tessellate import tessellate

    for type_id, preset in ((DOCK, "c1-saddle"), (GUIDE, "magerl"), (PLATE, "klippel-feil-scoliotic")):
        implant = built(type_id, preset)
        tess = tessellate(implant.shape)
        report = check_mesh(tess.mesh, expected_bodies=1)
        assert report["ok"], (type_id, report)
        bound = tolerances.mesh_volume_tolerance(report["area_mm2"], tess.deflection_mm)
        assert abs(report["volume_mm3"] - implant.volume_mm3()) <= bound


# ------------------------------------------------------------------ type 1: docking implant

def _dome_volume(endplate: SyntheticEndplate, outline: np.ndarray, n: int = 400) -> float:
    """∫ recess over the footprint (numerical, independent of the kernel)."""
    xs = np.linspace(outline[:, 0].min(), outline[:, 0].max(), n)
    ys = np.linspace(outline[:, 1].min(), outline[:, 1].max(), n)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    inside = outlines.contains(outline, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    return float((endplate.recess(gx, gy) * inside).sum() * cell)


def test_docking_saddle_volume_bbox_and_features():
    implant = built(DOCK, "c1-saddle")
    p = implant.params
    g = dock_mod.derive(p)
    area = outlines.rounded_rectangle_area(p.depth_mm, p.width_mm, p.corner_radius_mm)
    prism = area * g.top_z_mm + _dome_volume(g.endplate, g.outline)
    r, d = p.arch_radius_mm, p.saddle_depth_mm
    segment = r * r * math.acos((r - d) / r) - (r - d) * math.sqrt(2 * r * d - d * d)
    groove = segment * p.width_mm  # the curved groove crosses the body once
    screw_len = p.screw_entry_height_mm / math.sin(math.radians(p.screw_caudal_deg))
    channels = 2 * math.pi * (p.screw_diameter_mm / 2) ** 2 * screw_len
    expected = prism - groove - channels
    assert implant.volume_mm3() == pytest.approx(expected, rel=0.02)

    # placement: centred on the lower endplate, seat 22 mm above C3, horns 3 mm higher, dome below z = 0
    assert g.seat_z_mm == pytest.approx(22.0)
    dome = g.endplate.recess(np.array([g.endplate.apex_x_mm]), np.array([0.0]))[0]
    assert_bbox(implant, (-p.depth_mm / 2, -p.width_mm / 2, -dome), (p.depth_mm / 2, p.width_mm / 2, 25.0))

    f = implant.features
    assert set(f) == {"screw.1", "screw.2", "contact.inferior", "docking.c1"}
    for name, side in (("screw.1", 1), ("screw.2", -1)):
        s = f[name]
        assert s.origin == pytest.approx((p.depth_mm / 2, side * p.screw_spacing_mm / 2, p.screw_entry_height_mm))
        assert s.direction[0] < 0 and s.direction[2] < 0, "base screws aim posteriorly and caudally into C3"
        assert math.degrees(math.asin(-s.direction[2])) == pytest.approx(p.screw_caudal_deg, abs=1e-6)
        assert s.diameter_mm == 3.5
    # the docking faces are the toroidal saddle: lowest point at the seat, concave across the arch
    dock = f["docking.c1"]
    pts = np.vstack([np.array([v.toTuple() for v in face.tessellate(0.02)[0]]) for face in dock.faces])
    assert pts[:, 2].min() == pytest.approx(g.seat_z_mm, abs=0.05)
    mid = pts[np.abs(pts[:, 1]) < 0.5]
    # concave across (x): points on the mid-section lie on a circle of the arch radius around (x0, z0 + r)
    centre = np.array([p.saddle_offset_x_mm, g.seat_z_mm + p.arch_radius_mm])
    assert np.abs(np.hypot(mid[:, 0] - centre[0], mid[:, 2] - centre[1]) - p.arch_radius_mm).max() < 0.05
    # curved along: the groove bottom at the body's side lies behind the midline bottom (follows the arch)
    side = pts[np.abs(pts[:, 1]) > p.width_mm / 2 - 1.0]
    assert side[np.argmin(side[:, 2]), 0] < -0.5
    # lower face bears on the synthetic endplate
    lower = f["contact.inferior"]
    lp = np.vstack([np.array([v.toTuple() for v in face.tessellate(0.05)[0]]) for face in lower.faces])
    assert np.abs(lp[:, 2] + g.endplate.recess(lp[:, 0], lp[:, 1])).max() < 0.01


@pytest.mark.slow
def test_docking_levels_set_body_length():
    c3, c4, c5 = (built(DOCK, "c1-saddle", lower_vertebra=v) for v in ("c3", "c4", "c5"))
    tops = [bbox(i)[1][2] for i in (c3, c4, c5)]
    assert tops[1] - tops[0] == pytest.approx(dock_mod.LEVEL_PITCH_MM, abs=0.05)
    assert tops[2] - tops[0] == pytest.approx(2 * dock_mod.LEVEL_PITCH_MM, abs=0.05)
    t1 = built(DOCK, "c0-clivus-t1")
    assert dock_mod.derive(t1.params).seat_z_mm == pytest.approx(22 + 5 * 17 + 10)
    assert c4.metrics["levels_spanned"] == 2


def test_docking_t_expansion():
    implant = built(DOCK, "c1-t-expansion")
    p = implant.params
    seat = dock_mod.derive(p).seat_z_mm
    assert_bbox(implant, (-p.depth_mm / 2, -p.t_span_mm / 2, None), (p.depth_mm / 2, p.t_span_mm / 2, seat + p.t_height_mm))
    f = implant.features
    assert {"screw.3", "screw.4", "docking.c1"} <= set(f)
    for name, side in (("screw.3", 1), ("screw.4", -1)):
        s = f[name]
        assert s.origin[1] == pytest.approx(side * p.lateral_screw_spacing_mm / 2)
        assert s.origin[2] == pytest.approx(seat + p.t_height_mm / 2)
        assert s.direction[0] < -0.9 and np.sign(s.direction[1]) == side  # posterior, diverging laterally
        assert s.info["target"] == "c1 lateral mass"
    # docking face: posterior face of the crossbar above the body, facing the lateral masses
    for face in f["docking.c1"].faces:
        assert face.normalAt().x == pytest.approx(-1.0) and face.Center().z > seat


def test_docking_c0_variants():
    clivus = built(DOCK, "c0-clivus")
    p = clivus.params
    seat = dock_mod.derive(p).seat_z_mm
    t = math.radians(p.c0_plate_tilt_deg)
    top = seat + p.c0_plate_height_mm * math.cos(t) + p.c0_plate_thickness_mm * math.sin(t)
    front = p.depth_mm / 2 + p.c0_plate_height_mm * math.sin(t)
    assert_bbox(clivus, (None, -p.c0_plate_width_mm / 2, None), (front, p.c0_plate_width_mm / 2, top))
    s3 = clivus.features["screw.3"]
    assert s3.direction[0] < 0 and s3.direction[2] > 0, "clivus screws aim posteriorly and cranially"
    assert clivus.features["docking.c0"].info["target"] == "clivus"

    condyles = built(DOCK, "c0-condyles")
    p = condyles.params
    seat = dock_mod.derive(p).seat_z_mm
    assert_bbox(condyles, (None, -p.t_span_mm / 2, None), (None, p.t_span_mm / 2, seat + p.c0_plate_thickness_mm))
    for name, side in (("screw.3", 1), ("screw.4", -1)):
        s = condyles.features[name]
        assert s.direction[2] > 0.9 and np.sign(s.direction[1]) == side
        assert abs(s.origin[1]) == pytest.approx(p.lateral_screw_spacing_mm / 2)


def test_lateral_mass_prosthesis():
    implant = built(DOCK, "lateral-mass-left")
    p = implant.params
    g = dock_mod.derive(p)
    assert g.centre_y_mm == pytest.approx(p.lateral_offset_mm)
    assert_bbox(implant, (-p.depth_mm / 2, p.lateral_offset_mm - p.width_mm / 2, None),
                (p.depth_mm / 2, p.lateral_offset_mm + p.width_mm / 2, dock_mod.LATERAL_MASS_HEIGHT_MM))
    cup = implant.features["docking.c0"]
    assert cup.faces and cup.info["side"] == "left"
    right = built(DOCK, "lateral-mass-left", side="right")
    assert bbox(right)[1][1] == pytest.approx(-p.lateral_offset_mm + p.width_mm / 2, abs=BBOX_SLACK_MM)


def test_docking_flat_base_is_flat():
    implant = built(DOCK, "c1-saddle", endplate="flat")
    lower = implant.features["contact.inferior"]
    assert len(lower.faces) == 1 and lower.faces[0].normalAt().z == pytest.approx(-1.0)
    assert bbox(implant)[0][2] == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------ type 2: transarticular template

def _requested(sag: float, med: float, side: int) -> np.ndarray:
    """Trajectory from the angles, written out independently of the template's helper."""
    s, m = math.radians(sag), math.radians(med)
    return np.array([math.cos(s) * math.cos(m), -side * math.cos(s) * math.sin(m), math.sin(s)])


@pytest.mark.parametrize("preset", list(guide_mod.PRESETS))
def test_guide_axes_measured_from_brep(preset):
    implant = built(GUIDE, preset)
    p = implant.params
    cylinders = cylinder_axis_from_faces(implant.shape.Faces(), p.bore / 2)
    assert cylinders, "no bore cylinder on the built template"
    for name, side in (("left", 1), ("right", -1)):
        feature = implant.features[f"guide.{name}"]
        entry = np.array(feature.origin)
        assert entry == pytest.approx((0.0, side * p.entry_spacing_mm / 2, 0.0))
        want = _requested(p.sagittal_deg, p.medial_deg, side)
        assert angle_between_deg(feature.direction, want) < 1e-6
        # the built bore: a cylindrical B-rep face of the bore radius whose axis passes through the entry
        hits = []
        for point, axis, _ in cylinders:
            off = entry - point
            if np.linalg.norm(off - np.dot(off, axis) * axis) < 0.01:
                hits.append(min(angle_between_deg(axis, want), angle_between_deg(-axis, want)))
        assert hits and max(hits) < 0.5, (name, hits)
        assert feature.diameter_mm == pytest.approx(p.screw_diameter_mm + p.clearance_mm)
        assert feature.length_mm == p.screw_length_mm


def test_guide_template_placement_and_parts():
    implant = built(GUIDE, "magerl")
    p = implant.params
    f = implant.features
    assert {"guide.left", "guide.right", "fixation.1", "fixation.2", "pad.c2", "contact.arch"} <= set(f)
    # the frame sits posterior to the entries, reaching up to the top of the arch plate
    lo, hi = bbox(implant)
    assert hi[2] == pytest.approx(p.arch_offset_z_mm + p.arch_plate_height_mm / 2, abs=BBOX_SLACK_MM)
    assert lo[0] == pytest.approx(p.arch_offset_x_mm - p.plate_thickness_mm - p.pad_length_mm * 0 - 0.0, abs=3.5)
    assert hi[0] < 3.0, "nothing but the tube tips reaches the entry plane"
    # the tubes end at the stand-off before the entry, and extend caudally and posteriorly from it
    for name in ("left", "right"):
        tip = np.array(f[f"guide.{name}"].info["tube_tip_mm"])
        assert np.linalg.norm(tip - np.array(f[f"guide.{name}"].origin)) == pytest.approx(p.tube_standoff_mm, abs=1e-3)
    # fixation holes go anteriorly into the posterior arch, through the plate at the arch height
    for i in (1, 2):
        s = f[f"fixation.{i}"]
        assert s.direction[0] > 0.9 and s.origin[2] == pytest.approx(p.arch_offset_z_mm)
        assert s.diameter_mm == p.arch_screw_diameter_mm
    # the bearing face on the arch lies on the arch surface (posterior surface of C1 at x = arch_offset_x_mm)
    arch = f["contact.arch"]
    xs = np.vstack([np.array([v.toTuple() for v in face.tessellate(0.05)[0]]) for face in arch.faces])
    R = p.arch_curve_radius_mm  # the arch curves forward laterally: x = x0 + R − sqrt(R² − y²)
    assert np.abs(xs[:, 0] - (p.arch_offset_x_mm + R - np.sqrt(R * R - xs[:, 1] ** 2))).max() < 0.01
    assert xs[:, 0].min() == pytest.approx(p.arch_offset_x_mm, abs=0.01)
    assert f["pad.c2"].faces
    assert "pad.c2" not in built(GUIDE, "lamina-only").features


def test_guide_template_volume_sanity():
    """Sum of the parts (arch plate, tubes, legs, stem, pad) minus bores and holes; the parts overlap
    a little where they join (leg ends inside the tubes and plate), so allow 8 %."""
    implant = built(GUIDE, "magerl")
    p = implant.params
    g = guide_mod.derive(p)
    plate = outlines.rounded_rectangle_area(p.arch_plate_height_mm, p.arch_plate_width_mm, 2.0) * p.plate_thickness_mm
    plate -= p.arch_screw_count * math.pi * (p.arch_screw_diameter_mm / 2) ** 2 * p.plate_thickness_mm
    tube = math.pi / 4 * ((p.bore + 2 * p.tube_wall_mm) ** 2 - p.bore ** 2) * p.tube_length_mm
    # legs counted up to the plate's lower edge (their ends are sunk into the plate)
    edge_z = p.arch_offset_z_mm - p.arch_plate_height_mm / 2
    legs = sum(math.pi * (p.leg_diameter_mm / 2) ** 2 * np.linalg.norm(b - a) * (edge_z - a[2]) / (b[2] - a[2])
               for a, b in g.leg_ends.values())
    pad = (p.pad_length_mm * p.pad_width_mm - (4 - math.pi) * 4) * p.plate_thickness_mm
    stem_len = np.linalg.norm(np.array([p.arch_offset_x_mm - p.plate_thickness_mm / 2, 0, p.arch_offset_z_mm - p.arch_plate_height_mm / 2 + 1])
                              - np.array([p.pad_x_mm, 0, p.pad_z_mm + p.plate_thickness_mm / 2]))
    stem = math.pi * (p.leg_diameter_mm / 2) ** 2 * stem_len
    expected = plate + 2 * tube + legs + pad + stem
    assert implant.volume_mm3() == pytest.approx(expected, rel=0.08)


def test_guide_angles_follow_parameters():
    implant = built(GUIDE, "magerl", sagittal_deg=48.0, medial_deg=12.0)
    measured = implant.metrics["guide_left_measured_deg"]
    assert measured["sagittal"] == pytest.approx(48.0, abs=0.5)
    assert measured["medial"] == pytest.approx(12.0, abs=0.5)


# ------------------------------------------------------------------ type 6: anterior plate



@pytest.mark.parametrize("preset", ["subaxial-3-level", "transoral-c1c2", "klippel-feil-scoliotic"])
def test_plate_volume_is_area_times_thickness(preset):
    """A plate between S and S + t (along x) over its outline holds area × t exactly; each oblique
    hole removes about π r² t / cos(angle between the screw and x)."""
    implant = built(PLATE, preset)
    p = implant.params
    g = plate_mod.derive(p)
    expected = outlines.polygon_area(g.outline_yz) * p.thickness_mm
    surface = plate_mod.bone_surface(p, g.length_mm)
    h = 1e-4
    for name, f in implant.features.items():
        if name.startswith("screw."):
            y, z = np.array([f.origin[1]]), np.array([f.origin[2]])
            dy = (surface(y + h, z) - surface(y - h, z))[0] / (2 * h)
            dz = (surface(y, z + h) - surface(y, z - h))[0] / (2 * h)
            n = np.array([1.0, -dy, -dz]) / np.linalg.norm([1.0, -dy, -dz])
            # slab of normal thickness t·n_x crossed by a cylinder at angle acos|d·n| to the normal
            expected -= math.pi * (p.hole_diameter_mm / 2) ** 2 * p.thickness_mm * n[0] / abs(np.dot(f.direction, n))
    assert implant.volume_mm3() == pytest.approx(expected, rel=0.015)


def test_plate_subaxial_placement_and_holes():
    implant = built(PLATE, "subaxial-3-level")
    p = implant.params
    g = plate_mod.derive(p)
    half = p.width_mm / 2
    surface = plate_mod.bone_surface(p, g.length_mm)
    lowest = float(surface(np.array([half]), np.array([g.top_mm]))[0])
    assert_bbox(implant, (lowest, -half, g.bottom_mm), (p.thickness_mm, half, g.top_mm), slack=0.6)
    screws = [f for n, f in implant.features.items() if n.startswith("screw.")]
    assert len(screws) == 2 * p.levels
    zs = sorted({round(f.origin[2], 6) for f in screws})
    assert np.diff(zs) == pytest.approx([plate_mod.LEVEL_PITCH_MM] * (p.levels - 1))
    for f in screws:
        assert f.direction[0] < -0.8, "screws go posteriorly into the bodies"
        # entry on the plate's outer face: S(y, z) + thickness along x
        assert f.origin[0] == pytest.approx(float(surface(np.array([f.origin[1]]), np.array([f.origin[2]]))[0]) + p.thickness_mm, abs=1e-6)
        assert np.sign(f.direction[1]) == -np.sign(f.origin[1]), "default screws converge medially"
    # contact.posterior lies on the bone surface
    pts = np.vstack([np.array([v.toTuple() for v in face.tessellate(0.05)[0]]) for face in implant.features["contact.posterior"].faces])
    assert np.abs(pts[:, 0] - surface(pts[:, 1], pts[:, 2])).max() < 0.01


def test_plate_per_hole_angulation():
    cranial = (15.0, 15.0, 0.0, 0.0, -20.0, -20.0)
    medial = (5.0, 5.0, 0.0, 0.0, 10.0, 10.0)
    implant = built(PLATE, "subaxial-3-level", screw_cranial_deg=cranial, screw_medial_deg=medial)
    screws = [implant.features[f"screw.{i}"] for i in range(1, 7)]
    for f, cr in zip(screws, cranial):
        assert f.info["cranial_deg"] == cr
        assert np.sign(f.direction[2]) == np.sign(cr) or cr == 0.0
    # measure the built hole axis from the B-rep for hole 5 (−20° caudal)
    f5 = screws[4]
    axes = cylinder_axis_from_faces(implant.shape.Faces(), implant.params.hole_diameter_mm / 2)
    best = min(axes, key=lambda a: np.linalg.norm(np.cross(np.array(f5.origin) - a[0], a[1])))
    assert min(angle_between_deg(best[1], f5.direction), angle_between_deg(-best[1], f5.direction)) < 0.5


@pytest.mark.slow
def test_plate_scoliotic_surface_bends_and_twists():
    straight = built(PLATE, "subaxial-3-level", levels=4)
    kf = built(PLATE, "klippel-feil-scoliotic")
    g = plate_mod.derive(kf.params)
    # hole centres follow the lateral bend c(z) = z²/(2R)
    ys = {round(f.origin[2], 3): [] for n, f in kf.features.items() if n.startswith("screw.")}
    for n, f in kf.features.items():
        if n.startswith("screw."):
            ys[round(f.origin[2], 3)].append(f.origin[1])
    for z, pair in ys.items():
        assert np.mean(pair) == pytest.approx(z * z / (2 * kf.params.scoliosis_radius_mm), abs=1e-6)
    lo, hi = bbox(kf)
    slo, shi = bbox(straight)
    assert hi[1] - shi[1] > 5.0, "the scoliotic plate bends towards the convex side"
    # twist: the surface slopes across at the top and bottom with opposite signs
    s = plate_mod.bone_surface(kf.params, g.length_mm)
    top = s(np.array([2.0]), np.array([20.0]))[0] - s(np.array([-2.0]), np.array([20.0]))[0]
    c = 20.0 ** 2 / (2 * kf.params.scoliosis_radius_mm)
    top = s(np.array([c + 2.0]), np.array([20.0]))[0] - s(np.array([c - 2.0]), np.array([20.0]))[0]
    bottom = s(np.array([c + 2.0]), np.array([-20.0]))[0] - s(np.array([c - 2.0]), np.array([-20.0]))[0]
    assert top > 0 > bottom


def test_plate_transoral_layouts():
    c1c2 = built(PLATE, "transoral-c1c2")
    f = c1c2.features
    targets = [f[f"screw.{i}"].info["target"] for i in range(1, 5)]
    assert targets == ["c1 lateral mass"] * 2 + ["c2 body"] * 2
    p = c1c2.params
    assert abs(f["screw.1"].origin[1]) == pytest.approx(p.lateral_mass_spacing_mm / 2)
    assert np.sign(f["screw.1"].direction[1]) == np.sign(f["screw.1"].origin[1]), "C1 lateral-mass screws aim laterally"
    assert bbox(c1c2)[1][1] == pytest.approx(p.head_width_mm / 2, abs=0.6)
    assert "support" not in f

    sup = built(PLATE, "transoral-c1c3-support")
    f = sup.features
    assert [f[f"screw.{i}"].info["target"] for i in (3, 4)] == ["c3 body"] * 2
    support = f["support"]
    z0, z1 = support.info["bottom_z_mm"], support.info["top_z_mm"]
    zs = sorted(face.Center().z for face in support.faces)
    assert zs == pytest.approx([z0, z1])
    assert z1 - z0 > 20.0
    lo, _ = bbox(sup)
    assert lo[0] < -sup.params.support_depth_mm, "the support projects behind the plate"


# ------------------------------------------------------------------ bad input

def _bounds(model):
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if getattr(meta, "ge", None) is not None:
                yield name, meta.ge, "ge"
            if getattr(meta, "le", None) is not None:
                yield name, meta.le, "le"


BAD = [(t, field, bound, kind) for t, m in MODULES.items()
       for field, bound, kind in _bounds(next(v for k, v in vars(m).items() if k.endswith("Params") and k != "ImplantParams"))]


@pytest.mark.parametrize("type_id,field,bound,kind", BAD)
def test_every_bound_is_enforced(type_id, field, bound, kind):
    step = 1 if isinstance(bound, int) and not isinstance(bound, bool) else max(abs(bound) * 0.01, 0.01)
    value = bound - step if kind == "ge" else bound + step
    template = implants.get(type_id)
    with pytest.raises(ParameterError, match=field):
        template.make_params(None, **{field: value})


@pytest.mark.parametrize("type_id,overrides,field", [
    (GUIDE, dict(bore_diameter_mm=3.0), "bore_diameter_mm"),
    (GUIDE, dict(arch_screw_spacing_mm=30.0), "arch_screw_spacing_mm"),
    (GUIDE, dict(arch_plate_width_mm=40.0, arch_curve_radius_mm=20.0), "arch_plate_width_mm"),
    (DOCK, dict(height_mm=40.0), "height_mm"),
    (DOCK, dict(lower_vertebra="c4", height_mm=20.0), "height_mm"),
    (DOCK, dict(lower_vertebra="c2"), "lower_vertebra"),
    (DOCK, dict(saddle_depth_mm=5.0, arch_radius_mm=4.0), "saddle_depth_mm"),
    (DOCK, dict(arch_radius_mm=7.0, saddle_depth_mm=6.0), "depth_mm"),
    (DOCK, dict(screw_spacing_mm=14.0), "screw_spacing_mm"),
    (DOCK, dict(screw_entry_height_mm=12.0, screw_caudal_deg=20.0), "screw_entry_height_mm"),
    (DOCK, dict(docking="t-expansion", lateral_screw_spacing_mm=40.0), "lateral_screw_spacing_mm"),
    (PLATE, dict(hole_spacing_mm=14.0), "hole_diameter_mm"),
    (PLATE, dict(screw_cranial_deg=(0.0, 0.0)), "screw_cranial_deg"),
    (PLATE, dict(screw_medial_deg=(50.0,) * 6), "screw_medial_deg"),
    (PLATE, dict(waist_mm=20.0), "waist_mm"),
])
def test_cross_field_rules(type_id, overrides, field):
    with pytest.raises(ParameterError, match=field):
        implants.get(type_id).make_params(None, **overrides)


def test_unknown_parameter_rejected():
    with pytest.raises(ParameterError, match="docking_height"):
        implants.get(DOCK).make_params(None, docking_height=3)
