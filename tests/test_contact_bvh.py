"""Contact area with libigl's AABB tree (issue 18): the pseudo-normal sign at edges and corners of
a coarse closed endplate (checks.closest_point), the refinement's area against exact strips, the
clipped area of coarse nodes where the distance is linear, penetration far from every endplate
triangle, and the longest-edge split with shared midpoints (checks.contact)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from implants.checks.closest_point import ClosestPointTree
from implants.checks.contact import (
    contact_area,
    distance_bounds,
    edge_lengths2,
    split_longest_edges,
)

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


def test_split_halves_the_longest_edge_keeps_area_and_orientation_and_shares_midpoints():
    # two triangles sharing their longest edge (the diagonal of a 4 x 1 rectangle) and a third
    # whose longest edge is its own: the diagonal's midpoint is made once
    points = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [4.0, 1.0, 0.0], [0.0, 1.0, 0.0], [9.0, 0.0, 0.0]])
    nodes = np.array([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    halves, new_points = split_longest_edges(nodes, points)
    assert halves.shape == (6, 3) and len(new_points) == 2
    assert any(np.allclose(p, [2.0, 0.5, 0.0]) for p in new_points)  # the shared diagonal's midpoint
    assert any(np.allclose(p, [6.5, 0.5, 0.0]) for p in new_points)  # the third's long side (5.1 mm)
    corners = np.concatenate([points, new_points])[halves]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    parents = np.cross(points[nodes][:, 1] - points[nodes][:, 0], points[nodes][:, 2] - points[nodes][:, 0])
    assert np.allclose(normals, np.repeat(parents / 2, 2, axis=0))  # half the area each, same orientation (+z)
    # both halves of the first two share the diagonal's one midpoint (numbered first: its edge sorts first)
    assert halves[0, 1] == halves[1, 0] == halves[2, 1] == halves[3, 0] == len(points)


def test_coarse_nodes_are_clipped_exactly_where_the_distance_is_linear():
    # a single 10 x 10 mm sheet (two triangles) tilted 10 % over the flat top of a closed slab:
    # the distance is linear over it, so clipping each node at the interpolated tolerance line
    # gives the strip within 0.25 mm exactly, even with nodes of 5 mm (a centroid rule would be
    # off by up to a node's area)
    slab = trimesh.creation.box(extents=(60, 60, 5), transform=trimesh.transformations.translation_matrix((0, 0, -2.5)))
    angle = np.arctan(0.1)
    sheet = trimesh.Trimesh([[0, -5, 0.05], [10, -5, 0.05 + 1.0], [10, 5, 1.05], [0, 5, 0.05]], [[0, 1, 2], [0, 2, 3]])
    result = contact_area(sheet, slab, TOL, spacing_mm=5.0)
    strip = 10.0 * (TOL - 0.05) / np.sin(angle)  # z = 0.05 + 0.1 x <= 0.25 along the 10 mm width
    assert result.area_mm2 == pytest.approx(strip, rel=1e-9)
    assert result.max_penetration_mm == 0.0


def test_penetration_deep_inside_far_from_every_endplate_triangle():
    # a small sheet at the centre of the 10 mm cube: no endplate triangle comes near it, so no
    # area; its corners lie 4.95 mm inside, measured against the whole mesh
    sheet = square((5.0, 5.0, 5.0), (0.0, 0.0, 1.0), side=0.1, n=1)
    result = contact_area(sheet, cube(), TOL)
    assert result.area_mm2 == 0.0 and result.samples == 0
    assert result.max_penetration_mm == pytest.approx(4.95, abs=1e-12)


def test_closest_point_tree_distances_and_sides_of_a_cube():
    tree = ClosestPointTree(cube().vertices, cube().faces)
    points = np.array([[5.0, 5.0, 12.0], [12.0, 5.0, 12.0], [13.0, 13.0, 13.0], [5.0, 5.0, 9.0], [9.5, 5.0, 9.0]])
    d2, tri, closest = tree.nearest(points)
    # above the top face, off the edge x = z = 10, off the corner, inside under the top, inside near the edge
    assert np.sqrt(d2) == pytest.approx([2.0, np.sqrt(8.0), np.sqrt(27.0), 1.0, 0.5])
    side = tree.side(points, tri, closest)
    assert (side[:3] > 0).all() and (side[3:] < 0).all()


def test_distance_bounds_hold_inside_random_triangles_and_slivers():
    # the distance to a point cloud (1-Lipschitz, like the distance to a mesh) at random points of
    # random triangles, a third of them slivers, lies within the bounds from the corner values
    rng = np.random.default_rng(1)
    tris = rng.normal(size=(3000, 3, 3)) * rng.uniform(0.01, 2.0, size=(3000, 1, 1))
    tris[::3, 2] = tris[::3, 0] + rng.uniform(0, 1, (1000, 1)) * (tris[::3, 1] - tris[::3, 0]) + 1e-3 * rng.normal(size=(1000, 3))
    cloud = rng.normal(size=(40, 3)) * 2.0

    def dist(p):
        return np.linalg.norm(p[:, None, :] - cloud[None], axis=2).min(axis=1)

    area = 0.5 * np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
    lower, upper = distance_bounds(edge_lengths2(tris), area, dist(tris.reshape(-1, 3)).reshape(-1, 3))
    inner = np.einsum("kmi,kij->kmj", rng.dirichlet([1, 1, 1], size=(3000, 30)), tris)
    d = dist(inner.reshape(-1, 3)).reshape(3000, 30)
    assert (d >= lower[:, None] - 1e-12).all() and (d <= upper[:, None] + 1e-12).all()
    # and they are useful: the bracket of a small well-shaped triangle is about its size
    small = np.flatnonzero(np.sqrt(edge_lengths2(tris).max(axis=1)) < 0.1)
    assert np.median((upper - lower)[small]) < 0.2
