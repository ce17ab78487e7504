"""Contact pressure (elastic foundation, implants.checks.pressure): validation against closed forms
(flat punch: uniform F/A; punch under a moment: the linear distribution that balances it, and the
triangular one after lift-off; sphere: the elastic-foundation closed form, with its convergence
order under refinement), the axial gap query against Embree ray casting, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from implants import ParameterError
from implants.anatomy.packaged import load
from implants.checks.axial_gaps import axial_gaps
from implants.checks.pressure import Foundation, LoadCase, load_case, pressure_on_bone

K = Foundation().stiffness_mpa_per_mm


def punch(length=20.0, width=10.0, height=5.0, lift=0.0) -> trimesh.Trimesh:
    """A box punch, ``length`` along x (anterior), bottom face at z = ``lift``."""
    box = trimesh.creation.box((length, width, height))
    box.apply_translation((0, 0, height / 2 + lift))
    return box


def slab(size=80.0, top=0.0) -> trimesh.Trimesh:
    """A flat foundation: a box whose top face is at z = ``top``."""
    box = trimesh.creation.box((size, size, 10.0))
    box.apply_translation((0, 0, top - 5.0))
    return box


def test_foundation_stiffness_is_two_layers_in_series():
    f = Foundation(endplate_modulus_mpa=1000, endplate_thickness_mm=0.5, cancellous_modulus_mpa=100,
                   cancellous_thickness_mm=10, poisson=0.3)
    one = lambda e, h: (1 - 0.3) * e / ((1 + 0.3) * (1 - 0.6) * h)  # noqa: E731
    assert f.stiffness_mpa_per_mm == pytest.approx(1 / (1 / one(1000, 0.5) + 1 / one(100, 10)), rel=1e-12)
    assert Foundation(endplate_thickness_mm=0).stiffness_mpa_per_mm == pytest.approx(one(100, 10), rel=1e-12)


def test_flat_punch_gives_uniform_pressure_force_over_area():
    result = pressure_on_bone(punch(), slab(), LoadCase(1000.0))
    f = result.figures
    assert result.face == "inferior"
    assert f["bearing_area_mm2"] == pytest.approx(200.0, rel=1e-9)
    np.testing.assert_allclose(result.pressure_mpa, 1000.0 / 200.0, rtol=1e-9)
    assert f["peak_mpa"] == f["p95_mpa"] == f["mean_mpa"] == pytest.approx(5.0, rel=1e-6)
    assert f["approach_mm"] == pytest.approx(5.0 / K, rel=1e-4)
    assert f["cop_offset_mm"] == {"anterior": 0.0, "left": 0.0}
    # uniform pressure: the rim carries the rim's share of the area; on a 20 x 10 face the rim is
    # a quarter of the inscribed radius (5 mm) wide: 1.25 mm (± the 0.25 mm raster)
    assert f["rim_width_mm"] == pytest.approx(1.25, abs=0.25)
    assert f["rim_share"] == pytest.approx(f["rim_area_share"], abs=1e-4)
    assert f["rim_area_share"] == pytest.approx(1 - 17.5 * 7.5 / 200, abs=0.04)


@pytest.mark.parametrize("fe, lb", [(2.0, 0.0), (0.0, -1.0), (1.5, 0.8)])
def test_punch_under_moments_gives_the_linear_distribution_that_balances_them(fe, lb):
    """p = F/A + M_fe·x/I_y + M_lb·y/I_x while the whole face stays in contact: within 0.1 % of F/A with
    the continuous second moments (b L³ / 12), to 1e-7 (the solver residual) with the springs' own moments
    (p = c0 + c1 x + c2 y solving the three equilibrium equations over the springs)."""
    force, length, width = 1000.0, 20.0, 10.0
    result = pressure_on_bone(punch(length, width), slab(), LoadCase(force, fe, lb))
    centres = result.triangles.mean(axis=1)
    i_y, i_x = width * length ** 3 / 12, length * width ** 3 / 12
    expected = force / (length * width) + 1000 * fe * centres[:, 0] / i_y + 1000 * lb * centres[:, 1] / i_x
    assert expected.min() > 0  # the case stays in full contact
    np.testing.assert_allclose(result.pressure_mpa, expected, atol=1e-3 * force / (length * width))
    basis = np.column_stack([np.ones(len(centres)), centres[:, :2]])
    coef = np.linalg.solve((basis * result.area_mm2[:, None]).T @ basis, [force, 1000 * fe, 1000 * lb])
    np.testing.assert_allclose(result.pressure_mpa, basis @ coef, rtol=1e-7)
    a = result.area_mm2 * result.pressure_mpa
    assert a.sum() == pytest.approx(force, rel=1e-9)
    assert (a * centres[:, 0]).sum() == pytest.approx(1000 * fe, abs=1e-6 * force)
    assert (a * centres[:, 1]).sum() == pytest.approx(1000 * lb, abs=1e-6 * force)
    assert result.figures["cop_offset_mm"]["anterior"] == pytest.approx(1000 * fe / force, abs=1e-3)
    assert result.figures["cop_offset_mm"]["left"] == pytest.approx(1000 * lb / force, abs=1e-3)


def test_tilted_punch_lifts_off_into_the_triangular_distribution():
    """e = M/F > L/6: contact over 3(L/2 − e) with a peak 2F / (3 b (L/2 − e)) (rigid punch on a
    Winkler foundation); discretisation error O(spring size) at the lift-off line."""
    force, length, width, moment_nm = 1000.0, 20.0, 10.0, 5.0     # e = 5 mm > L/6 = 3.33 mm
    result = pressure_on_bone(punch(length, width), slab(), LoadCase(force, moment_nm), spacing_mm=0.25)
    e = 1000 * moment_nm / force
    contact = 3 * (length / 2 - e)
    f = result.figures
    assert f["peak_mpa"] == pytest.approx(2 * force / (3 * width * (length / 2 - e)), rel=0.02)
    assert f["loaded_area_mm2"] == pytest.approx(contact * width, rel=0.02)
    assert f["cop_offset_mm"]["anterior"] == pytest.approx(e, abs=1e-3)


def sphere_case(subdivisions: int, radius: float = 20.0, force: float = 1000.0):
    ball = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    ball.apply_translation((0, 0, radius))           # touches z = 0 at its lowest vertex
    result = pressure_on_bone(ball, slab(), LoadCase(force), spacing_mm=50.0)
    # closed form (column springs): F = k × cap volume = k π δ² (R − δ/3); peak k δ
    delta = _cap_depth(force / K, radius)
    return result, delta


def _cap_depth(volume: float, radius: float) -> float:
    lo, hi = 0.0, radius
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.pi * mid ** 2 * (radius - mid / 3) < volume else (lo, mid)
    return 0.5 * (lo + hi)


def test_sphere_on_flat_foundation_converges_to_the_closed_form():
    """Peak pressure and approach against k δ and δ; the error falls with the square of the
    triangle size (icosphere levels 4, 5, 6: edge halves per level). Measured (R 20 mm, 1000 N,
    δ 1.100 mm): peak errors 1.7e-2, 3.8e-3, 9.1e-4 (orders 2.2, 2.1; level 7: 2.5e-4, 1.9);
    approach 1.6e-2, 4.5e-3, 1.2e-3; loaded area 2.4e-2, 1.3e-2, 4.2e-3 (the contact edge: order 1-2)."""
    peak, approach = [], []
    for level in (4, 5, 6):
        result, delta = sphere_case(level)
        peak.append(abs(result.figures["peak_mpa"] - K * delta) / (K * delta))
        approach.append(abs(result.figures["approach_mm"] - delta) / delta)
        assert result.figures["loaded_area_mm2"] == pytest.approx(math.pi * delta * (40.0 - delta), rel=0.03)
        assert (result.pressure_mpa * result.area_mm2).sum() == pytest.approx(1000.0, rel=1e-9)
    assert peak[-1] < 1.5e-3 and approach[-1] < 2e-3
    for errors in (peak, approach):
        orders = [math.log2(errors[i] / errors[i + 1]) for i in range(len(errors) - 1)]
        assert min(orders) > 1.8, orders


def test_axial_gaps_match_embree_ray_casting():
    bone = load("mean-L5")
    rng = np.random.default_rng(3)
    lo, hi = bone.bounds
    points = np.column_stack([rng.uniform(lo[0], hi[0], 3000), rng.uniform(lo[1], hi[1], 3000),
                              np.full(3000, hi[2] + 4.0)])
    gaps = axial_gaps(points, bone, np.array([0.0, 0.0, -1.0]), 3.0)
    where, ray, _ = bone.ray.intersects_location(points, np.tile([0.0, 0.0, -1.0], (3000, 1)), multiple_hits=False)
    expected = np.full(3000, np.inf)
    expected[ray] = points[ray, 2] - where[:, 2]
    assert np.isfinite(gaps).sum() > 1000
    assert np.array_equal(np.isfinite(gaps), np.isfinite(expected))
    np.testing.assert_allclose(gaps[np.isfinite(gaps)], expected[np.isfinite(expected)], atol=1e-9)
    inverted = bone.copy()
    inverted.invert()
    np.testing.assert_allclose(axial_gaps(points, inverted, np.array([0.0, 0.0, -1.0]), 3.0), gaps, atol=1e-9)


def test_penetration_is_a_negative_gap_and_carries_more_load():
    result = pressure_on_bone(punch(lift=-0.1), slab(), LoadCase(1000.0), tolerance_mm=0.25)
    assert result.figures["min_gap_mm"] == pytest.approx(-0.1, abs=1e-9)
    np.testing.assert_allclose(result.pressure_mpa, 5.0, rtol=1e-9)


def test_seat_moves_a_floating_implant_onto_the_bone():
    result = pressure_on_bone(punch(lift=4.0), slab(), LoadCase(1000.0, seat=True))
    assert result.figures["seat_shift_mm"] == pytest.approx(4.0, abs=1e-9)
    np.testing.assert_allclose(result.pressure_mpa, 5.0, rtol=1e-9)


def test_bone_above_bears_on_the_superior_face():
    bone = slab(top=0.0)
    bone.apply_translation((0, 0, 15.0))          # bottom face at z = 5 = the punch's top
    result = pressure_on_bone(punch(), trimesh.Trimesh(bone.vertices, bone.faces), 300.0)
    assert result.face == "superior"
    np.testing.assert_allclose(result.pressure_mpa, 1.5, rtol=1e-9)


@pytest.mark.parametrize("load, match", [
    (-1000.0, "load force = -1000.0 N: allowed above 0"),
    (0.0, "load force = 0.0 N"),
    (float("nan"), "load force = nan: must be a finite number"),
    (50_000.0, "load force = 50000.0 N: allowed above 0 up to 10000 N"),
    ("heavy", "load = 'heavy': give a force in N or one of lumbar, cervical"),
    ({"force_n": 1000, "torque": 3}, "unknown field"),
])
def test_bad_load_values_raise_a_one_line_parameter_error(load, match):
    with pytest.raises(ParameterError, match=match) as error:
        load_case(load)
    assert "\n" not in str(error.value)


def test_absurd_moments_and_named_loads():
    with pytest.raises(ParameterError, match="flexion-extension moment = 80.0 N·m: allowed -50 to 50"):
        LoadCase(1000.0, 80.0)
    with pytest.raises(ParameterError, match="lateral-bending moment = -51"):
        load_case(150.0, 0.0, -51)
    assert load_case("Lumbar").force_n == 1000.0 and load_case("cervical").force_n == 150.0
    assert load_case("800").force_n == 800.0


@pytest.mark.parametrize("kwargs, match", [
    ({"endplate_modulus_mpa": -5}, "endplate_modulus_mpa = -5"),
    ({"cancellous_thickness_mm": 500}, "cancellous_thickness_mm = 500"),
    ({"poisson": 0.5}, "poisson = 0.5"),
])
def test_bad_foundation_raises(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        Foundation(**kwargs)


def test_implant_not_touching_the_bone_is_refused():
    with pytest.raises(ParameterError, match=r"does not touch the bone: its nearest bearing triangle is 2.00 mm"):
        pressure_on_bone(punch(lift=2.0), slab(), 1000.0)


def test_load_with_no_contact_is_refused():
    far = slab()
    far.apply_translation((500.0, 0, 0))        # nowhere under (or over) the implant
    with pytest.raises(ParameterError, match="load with no contact"):
        pressure_on_bone(punch(), far, 1000.0)
    with pytest.raises(ParameterError, match="load with no contact"):
        pressure_on_bone(punch(), slab(), 1000.0, mask=np.zeros(12, dtype=bool))


def test_moment_beyond_the_footprint_has_no_equilibrium():
    with pytest.raises(ParameterError, match=r"lies 2\.\d\d mm outside the bearing footprint"):
        pressure_on_bone(punch(), slab(), LoadCase(1000.0, 12.0))  # e = 12 mm, half-length 10 mm


def test_large_flat_triangles_bear_where_their_pieces_lie_over_the_bone():
    """A 40 x 40 mm punch (two triangles per face, centroids ±6.7 mm off the middle) on a 10 x 10 mm
    pillar: the centroids miss the pillar, the refined pieces do not; the pillar carries F over its
    own area."""
    pillar = trimesh.creation.box((10.0, 10.0, 10.0))
    pillar.apply_translation((0, 0, -5.0))
    face = pressure_on_bone(punch(40.0, 40.0), pillar, 1000.0)
    assert face.figures["loaded_area_mm2"] == pytest.approx(100.0, rel=0.03)
    assert face.figures["mean_mpa"] == pytest.approx(1000.0 / 100.0, rel=0.03)
    assert np.unique(face.parent).size == 2            # the two triangles of the punch's bottom face
