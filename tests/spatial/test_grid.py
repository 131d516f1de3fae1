from __future__ import annotations

import numpy as np
import pytest
import shapely

from lifecircle._errors import MemoryBudgetError, OptionError
from lifecircle.spatial.grid import check_grid_budget, make_grid
from tests.synthetic import CRS


def test_grid_cells_are_aligned_and_inside() -> None:
    area = shapely.box(1050, 2050, 1460, 2330)
    grid = make_grid(area, cell_size_m=100, crs=CRS)
    # Centres at 1050..1450 step 100 that fall inside: x in {1050,...,1450}, y in {2050,...,2250}
    assert len(grid) == 5 * 3
    assert np.allclose(grid["x"] % 100, 50) and np.allclose(grid["y"] % 100, 50)
    assert shapely.area(grid.geometry.to_numpy()).tolist() == [10_000.0] * 15
    assert grid["cell_id"].is_unique
    again = make_grid(area, cell_size_m=100, crs=CRS)
    assert grid.equals(again)


@pytest.mark.parametrize("size", [0, -5, float("nan"), "abc"])
def test_bad_cell_size(size) -> None:
    with pytest.raises(OptionError, match="--cell-size"):
        make_grid(shapely.box(0, 0, 100, 100), cell_size_m=size, crs=CRS)


def test_budget_refuses_a_grid_that_does_not_fit() -> None:
    area = shapely.box(0, 0, 100_000, 100_000)
    with pytest.raises(MemoryBudgetError, match="--cell-size"):
        check_grid_budget(area, cell_size_m=1, available_bytes=8 * 1024**3)
    assert check_grid_budget(area, cell_size_m=1000, available_bytes=8 * 1024**3) == 101 * 101


def test_budget_counts_cells_from_the_area_not_the_bounding_box() -> None:
    # Two 10 km squares at opposite corners of a 1,000 km box: 2 x 10,000 cells of 100 m,
    # not the box's 100 million.
    parts = shapely.MultiPolygon([shapely.box(0, 0, 10_000, 10_000), shapely.box(990_000, 990_000, 1_000_000, 1_000_000)])
    n = check_grid_budget(parts, cell_size_m=100, available_bytes=8 * 1024**3)
    grid = make_grid(parts, cell_size_m=100, crs=CRS)
    assert len(grid) <= n <= 1.1 * len(grid)
