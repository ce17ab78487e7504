"""Upper-cervical implants fitted to the real C1, C2, C3 meshes packaged with the library (LPS files, anatomy_files.py) (issue 4):
the docking implant's base bears on the C3 superior endplate and its saddle seats under the C1
anterior arch without penetrating bone; the transarticular template's frame rests on the C1
posterior arch with its guide axes through the C1–C2 joints."""

from __future__ import annotations

import numpy as np
import pytest

from implants.fit.cervical_docking import fit_docking_implant
from implants.fit.transarticular import fit_transarticular_template
from implants.anatomy.meshes import load_mesh
from implants.errors import ParameterError
from implants.implant_types.c1c2_transarticular_template import TransarticularParams
from implants.implant_types.upper_cervical_docking import DockingParams

#: Issue 4: largest penetration into bone outside screw paths (mm) and saddle seating distance (mm).
MAX_PENETRATION_MM = 0.3
SADDLE_GAP_MM = 0.5
#: Analytic groove (``saddle="analytic"``), measured 90th percentile of the groove-to-arch distance
#: over the groove: 0.62 mm with the leaning v groove (0.77 upright v, 0.88 best round groove). The
#: arch's lower border is W-shaped along the groove (lowest ~4 mm either side of the midline, 0.2 mm
#: higher at the midline, ~1 mm higher at the body's sides), which a groove bottom rising like y²
#: only approximates: hence the patient-specific (fitted) saddle, the default.
SADDLE_GAP_P90_MM = 0.65
#: Fitted saddle: default clearance below the arch (mm); measured gap mean 0.11, p90 0.12, max 0.18 mm.
CLEARANCE_MM = 0.12


@pytest.fixture(scope="module")
def meshes(anatomy_dir):
    return {k: load_mesh(anatomy_dir / f"cervical_{k}_mm.stl", "LPS") for k in ("c1", "c2", "c3")}


@pytest.fixture(scope="module")
def fitted(meshes):
    """The default fit: the patient-specific saddle."""
    return fit_docking_implant(meshes["c3"], meshes["c1"])


@pytest.fixture(scope="module")
def analytic(meshes):
    """The grid-searched revolved groove (round or v), kept as the parametric comparison."""
    return fit_docking_implant(meshes["c3"], meshes["c1"], saddle="analytic")


@pytest.fixture(scope="module", params=["fitted", "analytic"])
def docking(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def template(meshes):
    return fit_transarticular_template(meshes["c1"], meshes["c2"])


def test_docking_is_one_valid_solid_between_c3_and_c1(docking, meshes):
    implant, report = docking
    assert implant.shape.isValid() and len(implant.shape.Solids()) == 1
    assert implant.params.docking.value == "saddle" and implant.params.lower_vertebra.value == "c3"
    bb = implant.shape.BoundingBox()
    # between the C3 endplate (its centroid ~23 mm up) and the C1 anterior arch (~45-50 mm up)
    assert meshes["c3"].bounds[0, 2] < bb.zmin < meshes["c3"].bounds[1, 2]
    assert meshes["c1"].bounds[0, 2] < bb.zmax < meshes["c1"].bounds[1, 2]
    assert {"screw.1", "screw.2", "contact.inferior", "docking.c1"} <= set(implant.features)
    assert implant.features["contact.inferior"].faces and implant.features["docking.c1"].faces
    # the body stands along the C3 endplate normal (tilted ~16 deg anteriorly)
    assert np.dot(report["axis"], report["endplate"]["normal"]) == pytest.approx(1.0, abs=1e-3)


def test_docking_base_bears_on_c3(docking):
    c3 = docking[1]["c3"]
    assert c3["contact_mm2"] > 50.0
    assert 20.0 < c3["pct_footprint"] <= 100.0
    assert c3["max_penetration_mm"] <= MAX_PENETRATION_MM


def test_docking_saddle_seats_under_the_c1_arch(docking):
    implant, report = docking
    gap = report["saddle_gap_mm"]
    # the arch rests in the groove: closest approach within 0.5 mm, contact reported, no penetration
    assert 0.0 <= min(gap["midline_min"], gap["groove_min"]) <= SADDLE_GAP_MM
    assert report["c1"]["contact_mm2"] > 0.0
    assert report["c1"]["max_penetration_mm"] <= MAX_PENETRATION_MM
    assert report["max_penetration_mm"] <= MAX_PENETRATION_MM
    # the groove follows the measured arch: radius in the template's range, seat where the arch is
    assert 1.0 <= implant.params.arch_radius_mm <= 7.0
    assert implant.params.height_mm == pytest.approx(report["seat_height_mm"], abs=1e-3)


def test_fitted_saddle_seats_within_half_a_millimetre(fitted):
    """Issue 4's target with no press fit: the patient-specific groove (the arch's underside, ray-cast,
    CLEARANCE_MM below it) is within 0.5 mm of the arch over the whole groove (90th percentile, and
    even its largest gap), no point of it inside C1, penetration into bone <= 0.3 mm outside screw paths."""
    implant, report = fitted
    gap = report["saddle_gap_mm"]
    assert implant.params.saddle_profile.value == "fitted" and report["saddle"]["profile"] == "fitted"
    assert report["press_fit_mm"] == 0.0 and report["saddle"]["clearance_mm"] == CLEARANCE_MM
    assert gap["groove_points"] > 1000 and gap["midline_points"] > 50
    assert gap["groove_p90"] <= SADDLE_GAP_MM and gap["groove_mean"] <= SADDLE_GAP_MM
    assert gap["midline_max"] <= SADDLE_GAP_MM and gap["groove_max"] <= SADDLE_GAP_MM
    # the clearance is kept: no groove point inside the arch, none much farther than the clearance
    assert 0.0 <= gap["groove_min"] and 0.0 <= gap["midline_min"]
    assert gap["groove_mean"] == pytest.approx(CLEARANCE_MM, abs=0.05)
    assert report["c1"]["max_penetration_mm"] <= MAX_PENETRATION_MM
    assert report["max_penetration_mm"] <= MAX_PENETRATION_MM
    # the arch rests in the groove over a real area (within the 0.25 mm contact tolerance)
    assert report["c1"]["contact_mm2"] > 50.0
    # a saddle, not a token notch: the groove is wider than the analytic one, the horns 3 mm high
    assert gap["groove_chord_mm"] >= 3.0 and implant.params.saddle_depth_mm == pytest.approx(3.0)
    # docking.c1 carries the final B-spline groove faces, lowest at the seat, highest at the horns
    faces = implant.features["docking.c1"].faces
    assert faces and all(f.geomType() == "BSPLINE" for f in faces)
    axes = np.asarray(implant.metrics["frame_matrix"], float)[:3, :3]
    origin = np.asarray(implant.metrics["frame_matrix"], float)[:3, 3]
    points = np.array([v.toTuple() for f in faces for v in f.tessellate(0.01, 0.1)[0]])
    local = (points - origin) @ axes
    # lowest at the seat (the lowest ray; the B-spline through 0.4 mm samples stays within 0.05 mm of it)
    assert local[:, 2].min() == pytest.approx(implant.params.height_mm, abs=0.05)
    assert local[:, 2].max() == pytest.approx(implant.params.height_mm + implant.params.saddle_depth_mm, abs=0.01)
    # horns on both sides: the groove stays 1 mm (MIN_WALL_MM) inside the body's front and back
    assert -implant.params.depth_mm / 2 + 1.0 < local[:, 0].min() < local[:, 0].max() < implant.params.depth_mm / 2 - 1.0


def test_fitted_saddle_exports_with_every_check(fitted, tmp_path):
    from implants.pipeline import export

    implant, _ = fitted
    result = export(implant, tmp_path, formats=("step", "stl"))
    assert result.manifest["checks"]["ok"] and result.manifest["bodies"] == 1


def test_docking_saddle_follows_the_arch_over_the_groove(analytic):
    """Seating measure: exact distances from points on the built groove faces (``docking.c1``, inside
    |y| <= width/2 - 1 in the implant frame; the arch lies above all of them) to the C1 mesh. The arch's
    lower border is a ~90 deg v with a sharp tip rising towards the sides (real C1), so the fit picks
    the v profile with a leaning axis; the mean distance over the groove is within the issue's 0.5 mm,
    its 90th percentile is not (SADDLE_GAP_P90_MM)."""
    implant, report = analytic
    gap = report["saddle_gap_mm"]
    assert implant.params.saddle_profile.value == "v" and 70.0 <= implant.params.saddle_v_angle_deg <= 120.0
    assert gap["groove_points"] > 300 and gap["midline_points"] > 20
    assert gap["groove_mean"] <= SADDLE_GAP_MM
    assert gap["midline_mean"] <= SADDLE_GAP_P90_MM
    assert implant.params.saddle_tilt_deg > 0.0
    assert gap["groove_p90"] <= SADDLE_GAP_P90_MM
    # the groove cradles the arch (not a token notch): at least 3 mm wide, 1.5 mm deep
    assert gap["groove_chord_mm"] >= 3.0 and implant.params.saddle_depth_mm >= 1.5


def test_docking_rejects_other_variants(meshes):
    with pytest.raises(ParameterError, match="docking"):
        fit_docking_implant(meshes["c3"], meshes["c1"], DockingParams(docking="t-expansion"))


def test_template_rests_on_the_c1_posterior_arch(template):
    implant, report = template
    assert implant.shape.isValid() and len(implant.shape.Solids()) == 1
    assert report["c1"]["arch_contact_mm2"] > 0.0
    assert report["c1"]["max_penetration_mm"] <= MAX_PENETRATION_MM
    assert report["c2"]["max_penetration_mm"] <= MAX_PENETRATION_MM
    # the arch plate lies posterior of the C1 ring, the origin between the C2 entries
    assert implant.params.arch_offset_x_mm < 0


def test_template_guides_pass_through_the_c1c2_joints(template):
    implant, report = template
    for name in ("left", "right"):
        assert report["guide_axis_to_joint_mm"][name] < 1.0
        g = implant.features[f"guide.{name}"]
        # trajectory unchanged by the fit (the template is translated only): Magerl 57 deg / 8 deg
        d = np.asarray(g.direction)
        assert np.degrees(np.arcsin(d[2])) == pytest.approx(implant.params.sagittal_deg, abs=0.5)


def test_template_rejects_wrong_params(meshes):
    with pytest.raises(ParameterError, match="params"):
        fit_transarticular_template(meshes["c1"], meshes["c2"], DockingParams())
    assert isinstance(TransarticularParams(), TransarticularParams)


#: Press fit used to meet the issue's 0.5 mm over the groove: the saddle raised 0.2 mm above its contact
#: seat, pressing into the arch's lowest points by less than the issue's 0.3 mm penetration allowance.
PRESS_FIT_MM = 0.2


def test_docking_saddle_press_fit_seats_within_half_a_millimetre(meshes):
    """The analytic groove pressed into the arch (the fitted saddle needs no press fit)."""
    implant, report = fit_docking_implant(meshes["c3"], meshes["c1"], press_fit_mm=PRESS_FIT_MM, saddle="analytic")
    gap = report["saddle_gap_mm"]
    assert report["press_fit_mm"] == PRESS_FIT_MM
    assert gap["groove_p90"] <= SADDLE_GAP_MM and gap["groove_mean"] <= SADDLE_GAP_MM
    assert gap["midline_mean"] <= SADDLE_GAP_MM
    # pressed in, but not beyond the allowance (outside screw paths), and the base still bears on C3
    assert 0.0 < report["c1"]["max_penetration_mm"] <= MAX_PENETRATION_MM
    assert report["max_penetration_mm"] <= MAX_PENETRATION_MM
    assert report["c3"]["contact_mm2"] > 50.0 and report["c3"]["max_penetration_mm"] <= MAX_PENETRATION_MM
    with pytest.raises(ParameterError, match="press_fit_mm"):
        fit_docking_implant(meshes["c3"], meshes["c1"], press_fit_mm=0.5)
    with pytest.raises(ParameterError, match="saddle_clearance_mm"):
        fit_docking_implant(meshes["c3"], meshes["c1"], saddle_clearance_mm=-0.1)
    with pytest.raises(ParameterError, match="saddle"):
        fit_docking_implant(meshes["c3"], meshes["c1"], saddle="round")


def test_v_saddle_profile_template():
    """The v groove the fit uses (template side): one valid solid, the groove bottom at the seat on the
    midline, flanks at the requested angle, rising towards the sides when the axis leans; the round
    profile keeps its 2.5 mm minimum radius and cannot lean."""
    from implants.params import validate
    from implants.implant_types.upper_cervical_docking import build, derive, groove_chord_mm

    base = dict(saddle_profile="v", arch_radius_mm=1.0, saddle_depth_mm=2.0, saddle_v_angle_deg=90.0)
    upright = build(validate(DockingParams, base))
    leaning = build(validate(DockingParams, {**base, "saddle_tilt_deg": 20.0}))
    for implant in (upright, leaning):
        assert implant.shape.isValid() and len(implant.shape.Solids()) == 1
        faces = implant.features["docking.c1"].faces
        assert len(faces) == 3 and implant.features["docking.c1"].info["profile"] == "v"
        assert min(f.BoundingBox().zmin for f in faces) == pytest.approx(derive(implant.params).seat_z_mm, abs=1e-3)
    # chord of a 90 deg v with a 1 mm tip, 2 mm deep: 2 * (r cos45 + (d - r (1 - sin45)) tan45)
    r, d = 1.0, 2.0
    assert groove_chord_mm(upright.params) == pytest.approx(2 * (r * np.sqrt(0.5) + d - r * (1 - np.sqrt(0.5))))
    # the leaning groove is shallower at the sides: less material removed
    assert leaning.shape.Volume() > upright.shape.Volume() + 1.0
    with pytest.raises(ParameterError, match="arch_radius_mm"):
        validate(DockingParams, dict(arch_radius_mm=2.0, saddle_depth_mm=1.5))
    with pytest.raises(ParameterError, match="saddle_tilt_deg"):
        validate(DockingParams, dict(saddle_tilt_deg=10.0))
