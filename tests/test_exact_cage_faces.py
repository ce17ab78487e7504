"""Exact bearing faces of fitted cages (issue 17, speed): a grid-spline field becomes its own B-spline
face and a plane a planar face (``geometry.solids.height_field_face``), the fitted placement and
endplate fields are computed once and shared (``fit.cage_fields.cage_site``), and the stock cage of
the population sweep is built with planar faces on that shared site."""

from __future__ import annotations

import numpy as np
import pytest
from OCP.BRep import BRep_Tool
from OCP.GeomAPI import GeomAPI_ProjectPointOnSurf
from OCP.gp import gp_Pnt

from implants.errors import GeometryError
from implants.fit.cage_fields import cage_site
from implants.fit.cage_placement import default_params
from implants.fit.inputs import anatomy
from implants.fit.stock_cage import stock_cage
from implants.geometry.grid_surface import GridSpline
from implants.geometry.solids import height_field_face


def _spline() -> GridSpline:
    rng = np.random.default_rng(7)
    xs, ys = np.linspace(-12.0, 14.0, 27), np.linspace(-9.0, 10.0, 20)
    return GridSpline(xs, ys, rng.normal(0.0, 0.8, (27, 20)))


def _distances(face, field, points: np.ndarray) -> np.ndarray:
    """Distance (mm) from the field's points (x, y, field(x, y)) to the face's surface."""
    surface = BRep_Tool.Surface_s(face.wrapped)
    out = []
    for x, y in points:
        projection = GeomAPI_ProjectPointOnSurf(gp_Pnt(float(x), float(y), float(field(x, y))), surface)
        out.append(projection.LowerDistance())
    return np.array(out)


def _surface_points(face, points: np.ndarray) -> np.ndarray:
    """The face's surface at parameters (u, v) = (x, y)."""
    surface = BRep_Tool.Surface_s(face.wrapped)
    return np.array([[p.X(), p.Y(), p.Z()] for p in (surface.Value(float(x), float(y)) for x, y in points)])


def test_grid_spline_face_is_the_field_itself():
    field = _spline().shifted(-1.25)
    assert field(np.array(3.0), np.array(2.0)) == pytest.approx(_spline()(np.array(3.0), np.array(2.0)) - 1.25)
    face = height_field_face(field, (-10.0, 12.0), (-7.0, 8.0), method="bspline")
    points = np.random.default_rng(1).uniform([-12.0, -9.0], [14.0, 10.0], (150, 2))
    on_face = _surface_points(face, points)  # u = x and v = y exactly (poles at the Greville abscissae)
    assert np.abs(on_face[:, :2] - points).max() < 1e-9
    assert np.abs(on_face[:, 2] - field(points[:, 0], points[:, 1])).max() < 1e-9
    tx, ty, poles = field.control_net()
    assert poles.shape == (len(tx) - 4, len(ty) - 4, 3) == (27, 20, 3)  # one pole per node, not per sample


def test_grid_spline_face_refuses_a_rectangle_beyond_its_grid_and_other_fields():
    with pytest.raises(GeometryError, match="does not cover"):
        height_field_face(_spline(), (-13.0, 12.0), (-7.0, 8.0), method="bspline")
    with pytest.raises(GeometryError, match="needs a GridSpline"):
        height_field_face(lambda x, y: 0.0 * x, (0.0, 1.0), (0.0, 1.0), method="bspline")


def test_plane_face_is_planar_and_exact_and_refuses_a_curved_field():
    def plane(x, y):
        return 2.0 + 0.1 * np.asarray(x) - 0.05 * np.asarray(y)

    face = height_field_face(plane, (-20.0, 20.0), (-15.0, 15.0), samples=9, method="plane")
    assert face.geomType() == "PLANE"
    assert face.Area() == pytest.approx(40.0 * 30.0 * np.sqrt(1 + 0.1 ** 2 + 0.05 ** 2), rel=1e-9)
    points = np.random.default_rng(2).uniform([-20.0, -15.0], [20.0, 15.0], (50, 2))
    assert _distances(face, plane, points).max() < 1e-9
    with pytest.raises(GeometryError, match="not a plane"):
        height_field_face(lambda x, y: 0.01 * np.asarray(x) ** 2, (-5.0, 5.0), (-5.0, 5.0), method="plane")


def test_stock_cage_on_the_shared_site_has_planar_faces_and_the_same_result():
    anat = anatomy("mean-L4", "mean-L5")
    params = default_params(anat.disc)
    site = cage_site(anat, params=params)
    assert site.params.depth_mm == params.depth_mm and len(site.upper_points) > 100
    shared = stock_cage(site, None, "lumbar")
    alone = stock_cage(anat, params, "lumbar")
    for face in ("contact.superior", "contact.inferior"):
        faces = shared.implant.features[face].faces
        assert faces and all(f.geomType() == "PLANE" for f in faces)
    assert (shared.height_mm, shared.lordosis_deg, shared.press_mm) == (alone.height_mm, alone.lordosis_deg,
                                                                         alone.press_mm)
    for side in ("superior", "inferior"):
        assert shared.contact.figures[side]["contact_area_mm2"] == alone.contact.figures[side]["contact_area_mm2"]
    assert shared.implant.shape.Volume() == pytest.approx(alone.implant.shape.Volume(), rel=1e-9)
    # the planar faces are exactly the planes: the measured stock angle is the stock lordosis
    angles = shared.implant.metrics["segmental_angle_deg"]
    assert angles["sagittal_measured"] == pytest.approx(shared.lordosis_deg, abs=1e-3)
    assert angles["coronal_measured"] == pytest.approx(0.0, abs=1e-3)
