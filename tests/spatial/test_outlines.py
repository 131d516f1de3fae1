"""Outlines traced on the grid are the polygons shapely's union of the squares gives."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from lifecircle.spatial.outlines import grid_edges, grid_outlines


def _union_per_group(cols: np.ndarray, rows: np.ndarray, groups: np.ndarray, xe: np.ndarray, ye: np.ndarray) -> list:
    boxes = shapely.box(xe[cols], ye[rows], xe[cols + 1], ye[rows + 1])
    return [shapely.union_all(boxes[groups == g]) for g in range(int(groups.max()) + 1)]


def _same(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=0))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 10), st.integers(1, 10), st.integers(0, 2**32 - 1), st.floats(0.05, 0.95),
       st.sampled_from([1.0, 100.0, 0.1, 250.0]))
def test_traced_outlines_are_the_union_of_the_squares(height: int, width: int, seed: int, density: float,
                                                      size: float) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((height, width)) < density
    labels = rng.integers(1, 3, (height, width)) * mask  # two kinds of cell: groups of one kind touch the other
    groups_grid = np.zeros((height, width), dtype=np.int64)
    count = 0
    for kind in (1, 2):
        lab, n = ndimage.label(labels == kind)  # rook neighbours
        groups_grid[lab > 0] = lab[lab > 0] + count
        count += n
    if count == 0:
        return
    rows, cols = np.nonzero(groups_grid)
    groups = groups_grid[rows, cols] - 1
    xe = 500_000.0 + np.arange(width + 1) * size  # UTM-like coordinates: the same floats as the cells'
    ye = 3_250_000.0 + np.arange(height + 1) * size
    traced = grid_outlines(cols, rows, groups, x_edges=xe, y_edges=ye)
    unions = _union_per_group(cols, rows, groups, xe, ye)
    assert len(traced) == count
    assert all(_same(t, u) for t, u in zip(traced, unions))
    assert shapely.is_valid(traced).all()


def test_a_hole_touching_the_shell_at_a_corner_is_a_hole() -> None:
    # A ring of 8 cells round (1, 1), open at its north-east corner by a diagonal touch.
    cells = [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2), (1, 2)]
    cols, rows = (np.array(v) for v in zip(*cells))
    edges = np.arange(4) * 10.0
    [polygon] = grid_outlines(cols, rows, np.zeros(len(cells), dtype=int), x_edges=edges, y_edges=edges)
    assert len(polygon.interiors) == 1 and polygon.is_valid
    assert polygon.area == 700.0
    assert _same(polygon, _union_per_group(cols, rows, np.zeros(len(cells), dtype=int), edges, edges)[0])


def test_a_group_in_two_pieces_is_refused() -> None:
    edges = np.arange(4) * 1.0
    with pytest.raises(ValueError, match="connected through cell sides"):
        grid_outlines(np.array([0, 2]), np.array([0, 0]), np.array([0, 0]), x_edges=edges, y_edges=edges)


def test_grid_edges_need_shared_bounds() -> None:
    assert grid_edges(np.array([1, 0, 1]), np.array([1.0, 0.0, 1.0]), np.array([2.0, 1.0, 2.0])).tolist() == [0, 1, 2]
    assert grid_edges(np.array([0, 0]), np.array([0.0, 0.0]), np.array([1.0, 1.0 + 1e-9])) is None
