"""``upper-cervical-docking`` template: the patient-specific saddle (``saddle_profile = fitted``,
``build(saddle_field=...)``) without any mesh. The fit to the real C1 lives in test_cervical_fit.py."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from implants import ParameterError
from implants.geometry import outlines
from implants.params import validate
from implants.implant_types.upper_cervical_docking import DockingParams, build, derive

#: A groove 2 mm across at its bottom line, rising along x like a parabola and gently along y: the
#: seat (lowest point, z = height_mm) at x = X0, y = 0; the body top (horns) cuts it 3 mm higher.
X0, CURV_X, CURV_Y = -0.5, 0.4, 0.01


def groove(seat: float):
    def field(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return seat + CURV_X * (x - X0) ** 2 + CURV_Y * y ** 2
    return field


@functools.cache
def fitted():
    p = validate(DockingParams, dict(saddle_profile="fitted"))
    return build(p, saddle_field=groove(derive(p).seat_z_mm))


def _grid_integral(outline: np.ndarray, f, n: int = 600) -> float:
    """∫ f over the footprint (numerical, independent of the kernel)."""
    xs = np.linspace(outline[:, 0].min(), outline[:, 0].max(), n)
    ys = np.linspace(outline[:, 1].min(), outline[:, 1].max(), n)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    inside = outlines.contains(outline, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    return float((f(gx, gy) * inside).sum() * (xs[1] - xs[0]) * (ys[1] - ys[0]))


def test_fitted_saddle_is_one_valid_solid_with_the_groove_faces():
    implant = fitted()
    p, g = implant.params, derive(implant.params)
    assert implant.shape.isValid() and len(implant.shape.Solids()) == 1
    dock = implant.features["docking.c1"]
    assert dock.info["profile"] == "fitted" and dock.faces
    assert all(f.geomType() == "BSPLINE" for f in dock.faces)
    pts = np.array([v.toTuple() for f in dock.faces for v in f.tessellate(0.01, 0.1)[0]])
    # the faces are the field itself, from the seat up to the horns
    assert np.abs(pts[:, 2] - groove(g.seat_z_mm)(pts[:, 0], pts[:, 1])).max() < 0.01
    assert pts[:, 2].min() == pytest.approx(g.seat_z_mm, abs=0.01)
    assert pts[:, 2].max() == pytest.approx(g.seat_z_mm + p.saddle_depth_mm, abs=1e-3)
    # the groove's width at the bottom of the horns: 2 sqrt(depth / curvature) across x
    rim = np.array([e.positionAt(t).toTuple() for f in dock.faces for e in f.Edges() for t in np.linspace(0, 1, 400)])
    mid = np.abs(rim[:, 1]) < 0.05
    expected = 2 * np.sqrt((p.saddle_depth_mm - CURV_Y * 0.05 ** 2) / CURV_X)
    assert np.ptp(rim[mid, 0]) == pytest.approx(expected, abs=0.02)
    # the feature's origin is the seat (the field's lowest sample over the footprint)
    assert dock.origin[0] == pytest.approx(X0, abs=0.25) and dock.origin[1] == pytest.approx(0.0, abs=0.25)
    assert dock.origin[2] == pytest.approx(g.seat_z_mm)
    vertices, _ = implant.shape.tessellate(0.01, 0.1)
    assert max(v.z for v in vertices) == pytest.approx(g.top_z_mm, abs=1e-3)  # the horns are the top


def test_fitted_saddle_volume_above_the_seat():
    """Material above the seat = ∫ (min(field, horns) − seat) over the footprint (the screw channels
    are far below); the rest of the body is unchanged."""
    import cadquery as cq

    implant = fitted()
    p, g = implant.params, derive(implant.params)
    top = g.seat_z_mm + p.saddle_depth_mm
    field = groove(g.seat_z_mm)
    expected = _grid_integral(g.outline, lambda x, y: np.minimum(field(x, y), top) - g.seat_z_mm)
    box = cq.Solid.makeBox(60, 60, 20, cq.Vector(-30, -30, g.seat_z_mm))
    above = implant.shape.intersect(box).Volume()
    assert above == pytest.approx(expected, rel=0.005)
    # below the seat the body is the plain (v-profile or round) body's: same screws, same lower face
    plain = build(validate(DockingParams, dict(saddle_profile="v", arch_radius_mm=1.0, saddle_depth_mm=2.0)))
    below = cq.Solid.makeBox(60, 60, 60, cq.Vector(-30, -30, g.seat_z_mm - 60))
    assert implant.shape.intersect(below).Volume() == pytest.approx(plain.shape.intersect(below).Volume(), rel=1e-6)


def test_fitted_saddle_exports_with_every_check(tmp_path):
    from implants.pipeline import export

    result = export(fitted(), tmp_path, formats=("step", "stl"))
    assert result.manifest["checks"]["ok"] and result.manifest["bodies"] == 1


def test_fitted_profile_needs_its_field():
    p = validate(DockingParams, dict(saddle_profile="fitted"))
    with pytest.raises(ParameterError, match="saddle_field"):
        build(p)
    # a field is only for the fitted profile
    with pytest.raises(ParameterError, match="saddle_field"):
        build(validate(DockingParams, {}), saddle_field=groove(22.0))
    with pytest.raises(ParameterError, match="saddle_field"):
        build(validate(DockingParams, dict(docking="t-expansion")), saddle_field=groove(22.0))


def test_fitted_field_must_seat_at_height_mm():
    p = validate(DockingParams, dict(saddle_profile="fitted", height_mm=22.0))
    # lowest point 1 mm below (or above) the seat: rejected naming the field and height_mm
    for seat in (21.0, 23.0):
        with pytest.raises(ParameterError, match="height_mm"):
            build(p, saddle_field=groove(seat))
    with pytest.raises(ParameterError, match="saddle_field"):
        build(p, saddle_field=lambda x, y: np.full(np.shape(x), np.nan))


def test_fitted_profile_cannot_lean():
    with pytest.raises(ParameterError, match="saddle_tilt_deg"):
        validate(DockingParams, dict(saddle_profile="fitted", saddle_tilt_deg=10.0))
    # the analytic groove-width rule does not apply to the fitted groove (its width comes from the field)
    assert validate(DockingParams, dict(saddle_profile="fitted", arch_radius_mm=7.0, saddle_depth_mm=6.0))
