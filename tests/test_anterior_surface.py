"""anterior-plate contoured to a measured anterior surface (issue 4): from a list of points (fitted
B-spline) and from vertebra meshes (the real C2 and C3 packaged with the library, written as LPS files by anatomy_files.py); bad input; the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from implants.fit import anterior_surface as surf
from implants.anatomy.meshes import load_mesh
from implants.cli import app
from implants.errors import ParameterError
from implants.geometry.frames import angle_between_deg, direction_from_angles, rotation_matrix
from implants.implant_types.anterior_plate import PlateParams, derive

#: Cylinder of the analytic test: radius (mm) of a vertebral body's coronal curvature, axis along z
#: through (x, y) = (−R, 0) (the surface's front at x = 0), sampled on a 0.5 mm grid.
R_MM = 20.0
#: The posterior face must lie on the cylinder within this (mm): the fitted bicubic spline (2 mm
#: knots) of an exact cylinder deviates ~1e-3 mm; the interpolated B-rep face through 41 × 41
#: samples adds the same order.
CYLINDER_TOL_MM = 0.02
#: Issue 4: largest penetration of a fitted implant into bone (mm).
MAX_PENETRATION_MM = 0.3
#: Real C2–C3 fit. Measured: gap over the vertebral bodies (face points more than 3 mm from the
#: disc level) mean 0.23, p90 0.38 mm; over the whole face mean 0.30, p90 0.82, max 1.79 mm — the
#: plate bridges the C2/C3 disc space (a band ±3 mm about the disc level where the C2 lip and the
#: C3 rim leave up to 1.4 mm under it; it must not dip into the disc), penetration 0.05 mm (the fit
#: is seated on the most prominent bone; the residue is the B-rep face's interpolation and the
#: mesh's facets). Bounds: the issue's 0.5 mm seating over the bones, 1.0 mm p90 with the disc.
BODY_GAP_P90_MM = 0.5
GAP_P90_MM = 1.0
GAP_MEAN_MM = 0.4

runner = CliRunner()


def cylinder_points(centre_yz=(0.0, 0.0), half_y=14.0, half_z=22.0, step=0.5, radius=R_MM) -> np.ndarray:
    y, z = np.meshgrid(np.arange(-half_y, half_y + 1e-9, step), np.arange(-half_z, half_z + 1e-9, step))
    y, z = y.ravel(), z.ravel()
    x = np.sqrt(radius ** 2 - y ** 2) - radius
    return np.column_stack([x, y + centre_yz[0], z + centre_yz[1]])


def face_points(implant) -> np.ndarray:
    return np.vstack([np.array([v.toTuple() for v in f.tessellate(0.01, 0.1)[0]])
                      for f in implant.features["contact.posterior"].faces])


def assert_one_valid_solid(implant):
    shape = implant.shape
    assert shape.isValid()
    assert len(shape.Solids()) == 1


@pytest.fixture(scope="module")
def two_level():
    return PlateParams(layout="subaxial", levels=2)


@pytest.fixture(scope="module")
def on_cylinder(two_level):
    return surf.plate_on_points(cylinder_points((3.0, 40.0)), two_level, centre_yz=(3.0, 40.0))


@pytest.fixture(scope="module")
def c2c3(anatomy_dir):
    return [load_mesh(anatomy_dir / f"cervical_{k}_mm.stl", "LPS") for k in ("c2", "c3")]


@pytest.fixture(scope="module")
def on_c2c3(c2c3):
    return surf.fit_anterior_plate(c2c3)


# ------------------------------------------------------------------ from a list of points

def test_plate_on_cylinder_points_lies_on_the_cylinder(on_cylinder, two_level):
    assert_one_valid_solid(on_cylinder)
    pts = face_points(on_cylinder)
    radial = np.hypot(pts[:, 0] + R_MM, pts[:, 1] - 3.0)
    assert np.abs(radial - R_MM).max() < CYLINDER_TOL_MM
    # the face covers the plate outline: its extent in z is the plate's length about the centre
    g = derive(two_level)
    assert pts[:, 2].min() == pytest.approx(40.0 + g.bottom_mm, abs=0.05)
    assert pts[:, 2].max() == pytest.approx(40.0 + g.top_mm, abs=0.05)
    info = on_cylinder.metrics["surface"]
    assert info["seat_lift_mm"] < 0.01 and info["points_rejected"] == 0
    assert info["tilt_deg"] < 0.1


def test_plate_on_cylinder_keeps_the_thickness_and_volume(on_cylinder, two_level):
    # both faces are the cylinder and its copy 2 mm along x: the plate is a shear of a 2 mm slab over
    # the (y, z) outline (volume = area × 2); each hole removes π r² · 2 / cos(angle of its axis to x)
    yz = derive(two_level).outline_yz
    area = abs(float(np.sum(yz[:, 0] * np.roll(yz[:, 1], -1) - np.roll(yz[:, 0], -1) * yz[:, 1]))) / 2
    t, r = two_level.thickness_mm, two_level.hole_diameter_mm / 2
    holes = sum(np.pi * r ** 2 * t / abs(f.direction[0]) for f in on_cylinder.features.values() if f.kind == "channel")
    assert on_cylinder.shape.Volume() == pytest.approx(area * t - holes, rel=0.01)


def test_screw_angles_are_measured_from_the_fitted_surface_frame(on_cylinder, two_level):
    for i, (y, z, _) in enumerate(derive(two_level).holes, 1):
        f = on_cylinder.features[f"screw.{i}"]
        side = 1 if y > 0 else -1
        expected = direction_from_angles(f.info["cranial_deg"], f.info["medial_deg"], base=(-1.0, 0.0, 0.0), side=side)
        assert angle_between_deg(f.direction, expected) < 0.1
        # entry on the outer face: the cylinder at the hole moved 2 mm along x (the plate's w)
        assert f.origin[0] == pytest.approx(np.sqrt(R_MM ** 2 - y ** 2) - R_MM + two_level.thickness_mm, abs=0.01)
        assert (f.origin[1], f.origin[2]) == pytest.approx((3.0 + y, 40.0 + z), abs=0.3)


def test_plate_on_a_tilted_surface_takes_its_frame(two_level):
    # the cylinder leaning 20 deg (lordotic segment): the plate frame's normal follows, the face
    # stays on the cylinder and the screws keep their angles in the plate's frame
    tilt = rotation_matrix((0.0, 1.0, 0.0), 20.0)
    implant = surf.plate_on_points(cylinder_points(half_z=25.0) @ tilt.T, two_level, centre_yz=(0.0, 0.0))
    assert_one_valid_solid(implant)
    assert implant.metrics["surface"]["tilt_deg"] == pytest.approx(20.0, abs=0.05)
    back = face_points(implant) @ tilt  # into the cylinder's own frame
    assert np.abs(np.hypot(back[:, 0] + R_MM, back[:, 1]) - R_MM).max() < CYLINDER_TOL_MM
    for i, (y, _, _) in enumerate(derive(two_level).holes, 1):
        f = implant.features[f"screw.{i}"]
        upright = direction_from_angles(f.info["cranial_deg"], f.info["medial_deg"], base=(-1.0, 0.0, 0.0),
                                        side=1 if y > 0 else -1)
        assert angle_between_deg(f.direction, tilt @ upright) < 0.1


def test_support_layout_on_fitted_points():
    from implants.implant_types.anterior_plate import PRESETS

    p = PlateParams(**PRESETS["transoral-c1c3-support"])
    wide = cylinder_points(half_y=26.0, half_z=40.0, step=0.7, radius=40.0)  # the 42 mm head needs a wider body
    implant = surf.plate_on_points(wide, p, centre_yz=(0.0, -5.0))
    assert_one_valid_solid(implant)
    support = implant.features["support"]
    assert len(support.faces) == 2
    # its top under the C1 articular surfaces: 3 mm below the C1 holes (z = 10 about the origin)
    assert support.origin == pytest.approx((0.0, 0.0, -5.0 + 7.0), abs=0.02)
    bb = implant.shape.BoundingBox()
    assert bb.xmin < -p.support_depth_mm, "the support projects behind the plate"


def test_points_file_formats_give_the_same_points(tmp_path):
    pts = cylinder_points(step=2.0)
    (tmp_path / "p.csv").write_text("x,y,z\n" + "\n".join(",".join(f"{c:.9f}" for c in p) for p in pts))
    (tmp_path / "p.json").write_text(json.dumps({"points": pts.tolist()}))
    np.save(tmp_path / "p.npy", pts)
    (tmp_path / "p.txt").write_text("# x y z\n" + "\n".join(" ".join(f"{c:.9f}" for c in p) for p in pts))
    for name in ("p.csv", "p.json", "p.npy", "p.txt"):
        assert np.allclose(surf.read_points(tmp_path / name), pts, atol=1e-8), name


@pytest.mark.parametrize("content, match", [
    (None, "does not exist"),
    ("", "is empty"),
    ("x,y,z\n1,2,3\nfoo,bar,baz\n", "malformed"),
    ("1,2\n3,4\n", r"3 values .*shape \(2, 2\)"),
    ("1,2,3\n" * 10, "10 points, at least 25"),
    ("\n".join(["1,2,3"] * 30 + ["nan,1,2"]), "row 31 holds NaN"),
])
def test_bad_points_files(tmp_path, content, match):
    path = tmp_path / "points.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ParameterError, match=match):
        surf.read_points(path)


def test_bad_points_file_kinds(tmp_path):
    (tmp_path / "p.json").write_text('{"pts": []}')
    with pytest.raises(ParameterError, match=r"p\.json.*malformed.*points"):
        surf.read_points(tmp_path / "p.json")
    (tmp_path / "p.stl").write_text("solid")
    with pytest.raises(ParameterError, match="extension '.stl' not supported"):
        surf.read_points(tmp_path / "p.stl")


def test_points_that_do_not_cover_the_plate_are_rejected(two_level):
    short = cylinder_points(half_z=8.0)  # the two-level plate is 28 mm long
    with pytest.raises(ParameterError, match="do not cover the plate outline.*within 4.0 mm"):
        surf.plate_on_points(short, two_level)
    holed = cylinder_points()
    holed = holed[np.hypot(holed[:, 1], holed[:, 2]) > 6.0]  # a 12 mm hole under the plate centre
    with pytest.raises(ParameterError, match="do not cover the plate outline"):
        surf.plate_on_points(holed, two_level)
    elsewhere = cylinder_points((0.0, 100.0))
    with pytest.raises(ParameterError, match="points lie under the plate.*at least 25"):
        surf.plate_on_points(elsewhere, two_level, centre_yz=(0.0, 0.0))


def test_surface_must_face_anteriorly(two_level):
    pts = cylinder_points()
    sideways = pts.copy()
    sideways[:, 0] = pts[:, 1] * 2.0  # a plane facing 63 deg away from +x
    with pytest.raises(ParameterError, match="faces 63 deg away from anterior"):
        surf.plate_on_points(sideways, two_level)


def test_bad_point_arrays():
    with pytest.raises(ParameterError, match="shape"):
        surf.check_points(np.zeros((30, 2)))
    with pytest.raises(ParameterError, match="smoothing"):
        surf.fit_surface(cylinder_points(), derive(PlateParams(levels=2)).outline_yz, smoothing=-1.0)


# ------------------------------------------------------------------ from the real C2 and C3

def test_real_c2c3_plate_is_one_valid_solid_on_the_bodies(on_c2c3, c2c3):
    assert_one_valid_solid(on_c2c3)
    assert on_c2c3.params.levels == 2
    bb = on_c2c3.shape.BoundingBox()
    lo, hi = np.array([bb.xmin, bb.ymin, bb.zmin]), np.array([bb.xmax, bb.ymax, bb.zmax])
    # on the bodies' front (~ x = -37..-39 mm at the midline; the plate's sides follow the bodies'
    # coronal curve back ~6 mm at |y| = 9 mm), between the C3 body and the C2 body
    assert -48.0 < lo[0] and hi[0] < -34.0
    assert hi[1] - lo[1] == pytest.approx(on_c2c3.params.width_mm, abs=1.0)
    assert c2c3[1].bounds[0, 2] < lo[2] and hi[2] < c2c3[0].bounds[1, 2]
    screws = sorted(f.origin[2] for f in on_c2c3.features.values() if f.kind == "channel")
    assert screws[0] < 20.0 < screws[-1], "one screw row in C3, one in C2"


def test_real_c2c3_plate_lies_on_the_bone(on_c2c3):
    fit = on_c2c3.metrics["fit"]
    assert fit["penetration_mm"] <= MAX_PENETRATION_MM
    assert fit["gap_bodies"]["p90_mm"] <= BODY_GAP_P90_MM
    assert fit["gap"]["p90_mm"] <= GAP_P90_MM
    assert fit["gap"]["mean_mm"] <= GAP_MEAN_MM
    assert fit["gap_bodies"]["points"] > 0.6 * fit["gap"]["points"]


def test_real_c2c3_screws_enter_bone(on_c2c3):
    fit = on_c2c3.metrics["fit"]
    assert fit["screw_count"] == 4 and fit["screws_in_bone"] == 4
    for s in fit["screws"].values():  # bone right behind the 2 mm plate
        assert s["bone_at_mm"] == pytest.approx(on_c2c3.params.thickness_mm, abs=0.5)


def test_real_c2c3_plate_exports_with_every_check(on_c2c3, tmp_path):
    from implants.pipeline import export

    result = export(on_c2c3, tmp_path, formats=("step", "stl"))
    assert result.manifest["checks"]["ok"] and result.manifest["bodies"] == 1


def test_missing_vertebra_mesh(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        surf.fit_anterior_plate([tmp_path / "c2.stl"])
    with pytest.raises(ParameterError, match="at least one vertebra mesh"):
        surf.fit_anterior_plate([])


# ------------------------------------------------------------------ CLI

def test_cli_builds_a_plate_on_a_points_file(tmp_path):
    np.save(tmp_path / "anterior.npy", cylinder_points(step=1.0))
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", "anterior-plate", "--surface-points", str(tmp_path / "anterior.npy"),
                                 "--set", "levels=2", "--format", "stl", "--no-picture", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output)
    assert manifest["checks"]["ok"] and manifest["bodies"] == 1
    assert (out / manifest["files"]["stl"]["name"]).is_file()


@pytest.mark.parametrize("args, match", [
    (["--surface-points", "{tmp}/missing.csv"], "does not exist"),
    (["--surface-points", "{tmp}/empty.csv"], "is empty"),
    (["--surface-points", "{tmp}/bad.csv"], "3 values"),
    (["--vertebra", "{tmp}/missing.stl"], "does not exist"),
    (["--surface-points", "{tmp}/empty.csv", "--vertebra", "{tmp}/missing.stl"], "not both"),
])
def test_cli_bad_surface_input(tmp_path, args, match):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "bad.csv").write_text("x,y,z\n1,2\n")
    out = tmp_path / "out"
    argv = ["build", "anterior-plate", *[a.format(tmp=tmp_path) for a in args], "--out", str(out)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 3
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert match in lines[0]
    assert not out.exists() or not any(out.iterdir()), "no partial files"


def test_cli_surface_options_apply_to_the_plate_only(tmp_path):
    result = runner.invoke(app, ["build", "interbody-cage", "--vertebra", str(tmp_path / "c3.stl"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 3 and "anterior-plate only" in result.output
