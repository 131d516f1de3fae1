"""Small sites: plot area, minimum spacing and capacity per site, on hand-made matrices."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from lifecircle._errors import OptionError
from lifecircle.spatial.siting import suggest_sites
from lifecircle.spatial.small_sites import plots_at_least, spaced_sites

# Five cells of 100, 50, 30, 20 and 10 people; four candidates:
#   0 serves cells 0, 1      (150 people)       at x = 0
#   1 serves cells 0, 1, 2   (180)              at x = 100
#   2 serves cells 3, 4      (30)               at x = 150
#   3 serves cells 2, 3      (50)               at x = 1000
POP = np.array([100.0, 50.0, 30.0, 20.0, 10.0])
ROWS = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3])
COLS = np.array([0, 1, 0, 1, 2, 3, 4, 2, 3])
VALUES = np.array([0.0, 60.0, 10.0, 20.0, 30.0, 5.0, 6.0, 40.0, 50.0])
SECONDS = sparse.csr_matrix((VALUES, (ROWS, COLS)), shape=(4, 5))  # the zero at (0, 0) stored: a cell at a site
GEOMS = shapely.points([0.0, 100.0, 150.0, 1000.0], [0.0, 0.0, 0.0, 0.0])
NOBODY = np.zeros(5, bool)


def test_without_constraints_the_choice_is_the_plain_greedy_one() -> None:
    chosen = spaced_sites(SECONDS, POP, NOBODY, count=4)
    assert chosen["candidate"].tolist() == [1, 2]  # then nobody is left: 3 would add 0
    assert chosen["marginal_gain"].tolist() == [180.0, 30.0]
    plain = suggest_sites(SECONDS, POP, NOBODY, count=4)
    assert plain["candidate"].tolist() == chosen["candidate"].tolist()
    assert plain["marginal_gain"].tolist() == chosen["marginal_gain"].tolist()


def test_spacing_removes_the_candidates_near_a_chosen_site() -> None:
    # After 1 (x = 100): 0 (100 m) and 2 (50 m) are closer than 200 m; 3 is left, adds cell 3.
    chosen = spaced_sites(SECONDS, POP, NOBODY, count=4, geometries=GEOMS, min_spacing_m=200)
    assert chosen["candidate"].tolist() == [1, 3]
    assert chosen["marginal_gain"].tolist() == [180.0, 20.0]
    # 40 m keeps 2 (50 m away): the unconstrained choice.
    assert spaced_sites(SECONDS, POP, NOBODY, count=4, geometries=GEOMS, min_spacing_m=40)["candidate"].tolist() == [1, 2]


def test_capacity_caps_each_site_and_the_rest_stays_for_the_next() -> None:
    # Capacity 120 each: 0 and 1 tie at 120, the lower row wins; 0 serves cell 0 (100,
    # nearest) and 20 of cell 1's 50. Then 1 serves the 30 left in cell 1 and cell 2's 30
    # (60); then 2 serves cells 3, 4 (30); 3 has no one left.
    chosen = spaced_sites(SECONDS, POP, NOBODY, count=5, capacity=np.full(4, 120.0))
    assert chosen["candidate"].tolist() == [0, 1, 2]
    assert chosen["marginal_gain"].tolist() == [120.0, 60.0, 30.0]
    assert chosen["new_cells"].tolist() == [2, 2, 2]
    assert chosen["capacity"].tolist() == [120.0] * 3


def test_capacity_serves_the_nearest_people_first() -> None:
    # Two cells of 100. Site 0 reaches cell 1 at once and cell 0 in 5 minutes, capacity 150;
    # site 1 reaches only cell 0. Site 0 takes cell 1 whole and 50 of cell 0, so site 1
    # still serves 50 (farthest first would have left it nobody).
    seconds = sparse.csr_matrix((np.array([300.0, 0.0, 0.0]), (np.array([0, 0, 1]), np.array([0, 1, 0]))),
                                shape=(2, 2))
    chosen = spaced_sites(seconds, np.array([100.0, 100.0]), np.zeros(2, bool), count=2,
                          capacity=np.array([150.0, 1000.0]))
    assert chosen["candidate"].tolist() == [0, 1]
    assert chosen["marginal_gain"].tolist() == [150.0, 50.0]


def test_people_already_served_count_for_nothing() -> None:
    served = np.array([True, True, False, False, False])
    chosen = spaced_sites(SECONDS, POP, served, count=4)
    assert chosen["candidate"].tolist() == [3, 2]  # 3: cells 2, 3 (50); then 2: cell 4 (10)
    assert chosen["marginal_gain"].tolist() == [50.0, 10.0]


def test_bad_constraints_are_refused() -> None:
    with pytest.raises(OptionError, match="--min-spacing"):
        spaced_sites(SECONDS, POP, NOBODY, count=1, geometries=GEOMS, min_spacing_m=-1)
    with pytest.raises(OptionError, match="geometries"):
        spaced_sites(SECONDS, POP, NOBODY, count=1, min_spacing_m=10)
    with pytest.raises(OptionError, match="capacity"):
        spaced_sites(SECONDS, POP, NOBODY, count=1, capacity=np.array([1.0, -1.0, 1.0, 1.0]))


def test_plots_at_least_keeps_big_polygons() -> None:
    plots = gpd.GeoDataFrame({"id": ["a", "b", "c", "d"]},
                             geometry=[shapely.box(0, 0, 10, 10), shapely.box(0, 0, 20, 20), shapely.Point(0, 0),
                                       shapely.box(0, 0, 40, 10)], crs=32648)
    kept = plots_at_least(plots, min_area_m2=400)
    assert kept["id"].tolist() == ["b", "d"] and kept["area_m2"].tolist() == [400.0, 400.0]
    assert (kept.attrs["too_small"], kept.attrs["without_area"]) == (1, 1)
    with pytest.raises(OptionError, match="metric"):
        plots_at_least(plots.set_crs(4326, allow_override=True), min_area_m2=400)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(1, 500), st.floats(10, 2000))
def test_spacing_and_capacity_always_hold(seed: int, spacing: float, cap: float) -> None:
    rng = np.random.default_rng(seed)
    n_cand, n_cells = 12, 30
    dense = np.where(rng.random((n_cand, n_cells)) < 0.3, rng.random((n_cand, n_cells)) * 900, np.nan)
    r, c = np.nonzero(~np.isnan(dense))
    seconds = sparse.csr_matrix((dense[r, c], (r, c)), shape=dense.shape)
    pop = rng.integers(0, 200, n_cells).astype(float)
    geoms = shapely.points(rng.random(n_cand) * 2000, rng.random(n_cand) * 2000)
    chosen = spaced_sites(seconds, pop, np.zeros(n_cells, bool), count=6, geometries=geoms, min_spacing_m=spacing,
                          capacity=np.full(n_cand, cap))
    picked = geoms[chosen["candidate"].to_numpy()]
    for i in range(len(picked)):
        for j in range(i + 1, len(picked)):
            assert shapely.distance(picked[i], picked[j]) >= spacing
    assert (chosen["marginal_gain"] <= cap + 1e-9).all()
    assert chosen["cumulative"].iloc[-1] <= pop.sum() + 1e-9 if len(chosen) else True
