"""Congruent cages on real anatomy (issue 3, items 4-5) and on the synthetic domed endplate (issue 2).

Figures: contact of the bearing faces within 0.25 mm of the vertebra meshes (checks.contact, exact to
1 %), penetration into the closed vertebra meshes, plane-fit segmental angles of the built faces.
Ground truth for the contact measure: the real C2/C3 disc and the VerSe PMMA end caps, bodies that
conform to their neighbour.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from implants.fit import congruence as C
from implants.anatomy.meshes import load_mesh
from synthetic_endplates import synthetic_endplate_mesh
from implants.checks.contact import contact_area
from implants.errors import ParameterError
from implants.geometry import outlines
from implants.implant_types import interbody_cage as ic

from anatomy_files import ANATOMY  # the real meshes, made from the repository's data

TOL = 0.25
PAIRS = {"L3L4": ("lumbar_mean_L3", "lumbar_mean_L4", "ALS"),
         "L4L5": ("lumbar_mean_L4", "lumbar_mean_L5", "ALS"),
         "C2C3": ("cervical_c2", "cervical_c3", "LPS")}


@cache
def anatomy(pair: str) -> C.Anatomy:
    upper, lower, axes = PAIRS[pair]
    return C.anatomy(ANATOMY / f"{upper}_mm.stl", ANATOMY / f"{lower}_mm.stl", axes)


@cache
def comparison(pair: str) -> C.Comparison:
    return C.measure_contact(anatomy(pair))


# --- congruent vs flat on real disc spaces --------------------------------------------------------

@pytest.mark.parametrize("pair", [pytest.param("L3L4", marks=pytest.mark.slow), "L4L5", "C2C3"])
def test_congruent_cage_fits_the_endplates(pair, capsys):
    data = comparison(pair).to_json()
    for side in ("superior", "inferior"):
        c, f = data["congruent"][side], data["flat"][side]
        assert c["pct_bearing"] >= 90.0, (pair, side, c)
        assert c["max_penetration_mm"] <= 0.1
        assert f["max_penetration_mm"] <= 0.1          # the flat cage is seated, touching
        assert 0.0 < f["contact_area_mm2"] < c["contact_area_mm2"]
        assert c["pct_endplate"] == pytest.approx(100 * c["contact_area_mm2"] / c["endplate_area_mm2"], rel=1e-3)
    if pair != "C2C3":
        assert data["ratio_congruent_to_flat"]["total"] >= 1.5
    flat, congruent = comparison(pair).flat.implant, comparison(pair).congruent.implant
    for side in ("superior", "inferior"):   # flat faces are built as planes, fitted ones as the fields' B-splines
        assert {f.geomType() for f in flat.features[f"contact.{side}"].faces} == {"PLANE"}
        assert {f.geomType() for f in congruent.features[f"contact.{side}"].faces} == {"BSPLINE"}
    with capsys.disabled():  # the figures for the closing note
        print(f"\n{pair}: " + "; ".join(
            f"{cage} {side} {data[cage][side]['contact_area_mm2']:.0f} mm² {data[cage][side]['pct_footprint']:.0f} % "
            f"fp {data[cage][side]['pct_endplate']:.1f} % ep pen {data[cage][side]['max_penetration_mm']:.3f}"
            for cage in ("congruent", "flat") for side in ("superior", "inferior"))
            + f"; ratio {data['ratio_congruent_to_flat']}; build {data['congruent']['build_s']} s")


def test_cage_sits_between_the_vertebrae():
    comp = comparison("L4L5")
    implant, disc = comp.congruent.implant, comp.anatomy.disc
    assert implant.shape.isValid() and len(implant.shape.Solids()) == 1
    # in the patient frame: the cage centre lies on the disc-space mid-plane, inside the disc footprint
    centre = np.array(implant.shape.Center().toTuple())
    local = disc.frame.to_local(centre[None])[0]
    assert abs(local[2]) < 1.0 and outlines.contains(disc.footprint, local[None, :2])[0]
    # bearing features point out of the cage along the disc-space z
    up = np.array(implant.features["contact.superior"].direction)
    assert up @ disc.frame.axes[2] == pytest.approx(1.0, abs=1e-9)
    # between the meshes: every cage vertex lies between the two endplate surfaces (disc frame)
    v = disc.frame.to_local(comp.congruent.mesh.vertices)
    assert (v[:, 2] < disc.upper_z(v[:, 0], v[:, 1]) + 0.3).all()
    assert (v[:, 2] > disc.lower_z(v[:, 0], v[:, 1]) - 0.3).all()
    # the unchanged angles: the built faces measure the same plane-fit angle as the endplate fields
    angles = implant.metrics["segmental_angle_deg"]
    assert angles["sagittal_measured"] == pytest.approx(angles["sagittal_current"], abs=0.5)
    assert 3.0 < angles["sagittal_current"] < 14.0


def test_planned_correction_plus_5_deg_on_l4_l5(capsys):
    current = comparison("L4L5").congruent.implant.metrics["segmental_angle_deg"]["sagittal_current"]
    cage = C.congruent_cage(anatomy("L4L5"), target_sagittal_deg=current + 5.0)
    angles = cage.metrics["segmental_angle_deg"]
    assert angles["sagittal_target"] == pytest.approx(current + 5.0)
    assert angles["sagittal_measured"] == pytest.approx(current + 5.0, abs=0.5)
    assert angles["coronal_measured"] == pytest.approx(angles["coronal_current"], abs=0.5)
    with capsys.disabled():
        print(f"\nL4/L5 correction: current {current:.2f}°, target {current + 5:.2f}°, measured "
              f"{angles['sagittal_measured']:.2f}°, build {cage.metrics['build_s']} s")


def test_fitted_l3_l4_cage_brep_volume_matches_a_fine_mesh(anatomy_mesh, tmp_path):
    """Regression: OCCT put the fitted L3/L4 cage at 4866 mm³ (4565 mm³ with BRepGProp eps 1e-6)
    where the mesh converges to 4740 mm³: its one closed side face, trimmed by the fitted B-spline
    faces, was mis-integrated (solids.divide_closed_faces), and the export refused the cage
    (volume.volume_matches_brep)."""
    from implants.pipeline import export
    from implants.writers.tessellate import tessellate

    cage = C.congruent_cage(anatomy_mesh("lumbar_mean_L3_mm"), anatomy_mesh("lumbar_mean_L4_mm"))
    fine = tessellate(cage.shape, 0.005).mesh
    assert fine.is_watertight and fine.is_winding_consistent
    assert cage.volume_mm3() == pytest.approx(fine.volume, rel=0.005)
    checks = export(cage, tmp_path / "cage", formats=("step", "stl")).manifest["checks"]
    assert checks["ok"], checks["failed"]
    assert checks["volume"]["volume_difference_rel"] < 0.005


def test_rotated_field_is_a_rigid_rotation():
    """Hinge rotation of a plane z = 0.1 x by 5° about x = -10 gives the plane tilted by 5° through the hinge."""
    field = C._rotated(lambda x, y: 0.1 * np.asarray(x) + 0 * np.asarray(y), 1, (-10.0, -1.0), 5.0)
    xs = np.linspace(-10, 15, 6)
    slope = np.tan(np.arctan(0.1) + np.radians(5))
    assert np.allclose(field(xs, 0 * xs), -1.0 + slope * (xs + 10), atol=1e-9)


# --- bad input: clear error, no output ------------------------------------------------------------

def _moved(stem: str, axes: str, shift, tmp_path: Path) -> Path:
    m = load_mesh(ANATOMY / f"{stem}_mm.stl", axes)
    m.apply_translation(shift)
    path = tmp_path / f"{stem}_moved_{shift[2]:+.1f}.stl"
    m.export(path)
    return path


def test_bad_anatomy_input(tmp_path):
    upper, lower = ANATOMY / "lumbar_mean_L3_mm.stl", ANATOMY / "lumbar_mean_L4_mm.stl"
    empty = tmp_path / "empty.stl"
    empty.write_bytes(b"")
    m = load_mesh(lower)
    m.update_faces(np.arange(len(m.faces)) > 10)  # drop 11 triangles: open
    open_mesh = tmp_path / "open.stl"
    m.export(open_mesh)
    cases = [(upper, empty, "empty"), (upper, open_mesh, "not closed"),
             (upper, _moved("lumbar_mean_L4", "ALS", (0, 0, 10.5), tmp_path), "overlap"),
             (upper, _moved("lumbar_mean_L4", "ALS", (0, 0, -30.0), tmp_path), "too far")]
    for up, lo, match in cases:
        with pytest.raises(ParameterError, match=match):
            C.congruent_cage(up, lo)
    big = ic.TEMPLATE.make_params("lumbar-alif", depth_mm=40.0, width_mm=55.0)
    with pytest.raises(ParameterError, match="depth_mm"):
        C.congruent_cage(anatomy("L3L4"), params=big)
    with pytest.raises(ParameterError, match="target_sagittal_deg"):
        C.congruent_cage(anatomy("L3L4"), target_sagittal_deg=45.0)


def test_cli_bad_input_writes_nothing(tmp_path):
    from implants.cli import app

    empty = tmp_path / "empty.stl"
    empty.write_bytes(b"")
    for verb in (("build", "interbody-cage"), ("contact-compare",)):
        out = tmp_path / verb[0]
        result = CliRunner().invoke(app, [*verb, "--upper-vertebra", str(ANATOMY / "lumbar_mean_L3_mm.stl"),
                                          "--lower-vertebra", str(empty), "--out", str(out)])
        assert result.exit_code == 3 and "empty" in result.output
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_cli_contact_compare_and_congruent_cage(tmp_path):
    import json

    from implants.cli import app

    args = ["--upper-vertebra", str(ANATOMY / "cervical_c2_mm.stl"),
            "--lower-vertebra", str(ANATOMY / "cervical_c3_mm.stl"), "--axes", "LPS"]
    result = CliRunner().invoke(app, ["contact-compare", *args, "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "cmp" / "contact.json").read_text())
    assert data["congruent"]["superior"]["pct_bearing"] >= 90
    assert (tmp_path / "cmp" / "contact_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = CliRunner().invoke(app, ["build", "interbody-cage", *args, "--target-sagittal", "12", "--format", "stl",
                                      "--out", str(tmp_path / "cage"), "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output)
    assert manifest["checks"]["ok"] and manifest["bodies"] == 1
    assert manifest["metrics"]["segmental_angle_deg"]["sagittal_measured"] == pytest.approx(12.0, abs=0.5)


def test_contact_map_png(tmp_path):
    path = C.contact_map_png(comparison("C2C3"), tmp_path / "map.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


# --- ground truth for the contact measure: real conforming bodies ----------------------------------

def test_conforming_c2_c3_disc_shows_near_full_contact():
    disc = load_mesh(ANATOMY / "cervical_c2c3disc_mm.stl", "LPS")
    for stem, facing, share in (("cervical_c2", disc.face_normals[:, 2] > 0.5, 0.7),
                                ("cervical_c3", disc.face_normals[:, 2] < -0.5, 0.85)):
        result = contact_area(disc, load_mesh(ANATOMY / f"{stem}_mm.stl", "LPS"), TOL)
        touching = result.triangle_area_mm2[facing].sum()
        assert touching > share * disc.area_faces[facing].sum()          # the conforming face touches
        assert result.area_mm2 - touching < 0.1 * result.area_mm2         # little else does


def test_verse_end_caps_show_near_full_contact():
    vertebra = load_mesh(ANATOMY / "verse004_L2_mm.stl", "LAS")
    for cap in ("a", "b"):
        c = load_mesh(ANATOMY / f"verse004_L2_cap_{cap}_mm.stl", "LAS")
        below = c.centroid[2] < vertebra.centroid[2]
        facing = c.face_normals[:, 2] > 0.5 if below else c.face_normals[:, 2] < -0.5
        result = contact_area(c, vertebra, TOL)
        assert result.triangle_area_mm2[facing].sum() > 0.85 * c.area_faces[facing].sum()
        assert result.max_penetration_mm < 0.1


# --- issue 2: congruent vs flat cage on the synthetic domed endplate --------------------------------

def _sheared(mesh, ts: float, tc: float, sign: int):
    """The endplate sheet moved onto the cage's tilted face: z += sign·(ts·x + tc·y)."""
    out = mesh.copy()
    v = out.vertices.copy()
    v[:, 2] += sign * (ts * v[:, 0] + tc * v[:, 1])
    out.vertices = v
    return out


@pytest.mark.parametrize("preset", ["lumbar-alif", "cervical-acdf"])
def test_congruent_cage_on_the_synthetic_domed_endplate(preset, capsys):
    from implants.checks.footprint import footprint_area
    from implants.writers.tessellate import feature_mask, tessellate

    p = ic.TEMPLATE.make_params(preset)
    g = ic.derive(p)
    upper_ep, lower_ep = ic.endplates(p)
    ts, tc = np.tan(np.radians(p.lordosis_deg) / 2), np.tan(np.radians(p.coronal_deg) / 2)
    sheets = {"contact.superior": _sheared(synthetic_endplate_mesh(upper_ep, False, p.height_mm / 2, 0.25), ts, tc, 1),
              "contact.inferior": _sheared(synthetic_endplate_mesh(lower_ep, True, -p.height_mm / 2, 0.25), ts, tc, -1)}
    # seat for the flat cage: the dome rises above its rim over the whole footprint, so the flat
    # faces touch only once the endplate comes down by the smallest recess over the footprint
    xs = np.arange(g.outline[:, 0].min(), g.outline[:, 0].max(), 0.2)
    ys = np.arange(g.outline[:, 1].min(), g.outline[:, 1].max(), 0.2)
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    grid = np.vstack([grid[outlines.contains(g.outline, grid)], g.outline])
    seat = {"contact.superior": float(upper_ep.recess(grid[:, 0], grid[:, 1]).min()),
            "contact.inferior": float(lower_ep.recess(grid[:, 0], grid[:, 1]).min())}
    figures = {}
    for kind, params in (("congruent", p), ("flat", p.model_copy(update={"endplate": ic.EndplateShape.FLAT}))):
        implant = ic.build(params)
        tess = tessellate(implant.shape, 0.01)
        for name, sheet in sheets.items():
            mask = feature_mask(tess, implant.shape, implant.features[name])
            if kind == "flat":
                sheet = sheet.copy()
                sheet.apply_translation((0, 0, -seat[name] if name == "contact.superior" else seat[name]))
            result = contact_area(tess.mesh, sheet, TOL)
            foot = footprint_area(tess.mesh, mask)
            figures[kind, name] = 100 * result.triangle_area_mm2[mask].sum() / foot
            # touching, not penetrating: no bearing point beyond the sheet
            v = tess.mesh.triangles_center[mask]
            field = (p.height_mm / 2 + ts * v[:, 0] + tc * v[:, 1]) if name == "contact.superior" else \
                (-p.height_mm / 2 - ts * v[:, 0] - tc * v[:, 1])
            ep = upper_ep if name == "contact.superior" else lower_ep
            sign = 1 if name == "contact.superior" else -1
            surface = field + sign * (np.clip(ep.recess(v[:, 0], v[:, 1]), 0, None)
                                      - (seat[name] if kind == "flat" else 0.0))
            assert (sign * (v[:, 2] - surface)).max() < 0.02
    for name in sheets:
        assert figures["congruent", name] >= 95.0
        assert figures["flat", name] < 0.6 * figures["congruent", name]
    with capsys.disabled():
        print(f"\nsynthetic {preset}: " + ", ".join(f"{k} {n.split('.', 1)[1]} {v:.1f} %"
                                                    for (k, n), v in figures.items()))
