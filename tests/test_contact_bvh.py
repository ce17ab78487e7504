"""Contact area with libigl's AABB tree (issue 18): the pseudo-normal sign at edges and corners of
a coarse closed endplate, and the refinement's area against exact strips (checks.contact)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from implants.checks.contact import bisect_once, contact_area

TOL = 0.25


def square(centre, normal, side: float = 2.0, n: int = 8) -> trimesh.Trimesh:
    """A flat square sheet (2 n² triangles, open) of ``side`` mm centred at ``centre``, facing ``normal``."""
    normal = np.asarray(normal, float) / np.linalg.norm(normal)
    u = np.cross(normal, [0.0, 0.0, 1.0] if abs(normal[1]) > 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    s = np.linspace(-side / 2, side / 2, n + 1)
    gu, gv = np.meshgrid(s, s, indexing="ij")
    vertices = np.asarray(centre, float) + gu.reshape(-1, 1) * u + gv.reshape(-1, 1) * v
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    return trimesh.Trimesh(vertices, faces, process=False)


def cube() -> trimesh.Trimesh:
    """A closed 10 mm cube of 12 triangles centred at 5, 5, 5: closest features are often its
    edges and corners."""
    return trimesh.creation.box(extents=(10.0, 10.0, 10.0), transform=trimesh.transformations.translation_matrix((5, 5, 5)))


@pytest.mark.parametrize("offset, sunk", [(0.1, False), (-0.1, True)])
def test_sign_at_an_edge_of_a_coarse_closed_endplate(offset, sunk):
    # a sheet across the cube's edge x = z = 10, facing along the edge's bisector, offset
    # mm outside (+) or inside (−): outside, every closest point lies on the edge (the
    # pseudo-normal is the sum of the two faces' normals) and nothing is sunk
    bisector = np.array([1.0, 0.0, 1.0]) / np.sqrt(2.0)
    sheet = square(np.array([10.0, 5.0, 10.0]) + offset * bisector, bisector, side=0.1, n=2)
    result = contact_area(sheet, cube(), TOL)
    assert result.area_mm2 == pytest.approx(0.01, rel=1e-9)  # the whole sheet is within 0.25 mm
    if sunk:  # inside, the deepest point is the sheet's centre line, 0.1 / sqrt 2 from both faces;
        # the centroids sampled lie within a third of its 0.05 mm triangles of it
        assert 0.05 < result.max_penetration_mm <= 0.1 / np.sqrt(2.0) + 1e-9
    else:
        assert result.max_penetration_mm == 0.0


def test_sign_at_a_corner_of_a_coarse_closed_endplate():
    # a small sheet just outside the corner (10, 10, 10), facing the diagonal: closest points
    # at the corner itself (angle-weighted vertex normal), nothing sunk
    diagonal = np.ones(3) / np.sqrt(3.0)
    sheet = square(np.full(3, 10.0) + 0.1 * diagonal, diagonal, side=0.02, n=1)
    result = contact_area(sheet, cube(), TOL)
    assert result.area_mm2 == pytest.approx(0.0004, rel=1e-9)
    assert result.max_penetration_mm == 0.0


def test_refined_strip_of_a_sheet_standing_on_a_face():
    # a 2 mm sheet standing upright on the cube's top face (z = 10 .. 12): the strip within
    # 0.25 mm is 2 x 0.25 mm², integrated by bisection to 0.1 mm sides: within one sample row
    sheet = square((5.0, 5.0, 11.0), (0.0, 1.0, 0.0), side=2.0, n=3)
    result = contact_area(sheet, cube(), TOL)
    assert result.area_mm2 == pytest.approx(2.0 * TOL, abs=0.1)
    assert result.max_penetration_mm == 0.0


def test_bisect_once_halves_the_longest_edge_and_keeps_area_and_orientation():
    tri = np.array([[[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    halves = bisect_once(tri)
    assert halves.shape == (2, 3, 3)
    normals = np.cross(halves[:, 1] - halves[:, 0], halves[:, 2] - halves[:, 0])
    assert np.allclose(normals[:, 2], 2.0)  # each half has half the area, same orientation (+z)
    assert any(np.allclose(v, [2.0, 0.5, 0.0]) for v in halves.reshape(-1, 3))  # midpoint of the 4.12 mm edge
