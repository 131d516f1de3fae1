"""Tests for lifecircle.spatial.capacity: E2SFCA, over-subscription, cell-facility times."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from lifecircle._errors import OptionError
from lifecircle.spatial.capacity import (
    DEFAULT_BANDS,
    band_weights,
    cell_facility_seconds,
    e2sfca,
    oversubscribed,
)
from lifecircle.spatial.network import WalkNetwork
from lifecircle.spatial.travel import facility_access_points, locate_on_network, reverse_graph
from tests.synthetic import network_from_extract

INF = np.inf


def test_default_bands_are_luo_qi_weights_on_5_minute_zones() -> None:
    assert DEFAULT_BANDS == ((0.0, 5.0, 1.0), (5.0, 10.0, 0.68), (10.0, 15.0, 0.22))


def test_band_edges() -> None:
    minutes = np.array([0, 2, 5, 5.01, 10, 10.5, 15, 15.01, INF, np.nan])
    np.testing.assert_array_equal(band_weights(minutes), [1, 1, 1, 0.68, 0.68, 0.22, 0.22, 0, 0, 0])
    # A gap between bands weighs nothing.
    np.testing.assert_array_equal(band_weights(np.array([1, 3, 4]), ((0, 2, 1.0), (3.5, 5, 0.5))), [1, 0, 0.5])


@pytest.mark.parametrize("bands", [(), ((0, 5, 1.5),), ((5, 0, 1.0),), ((0, 5, 1.0), (4, 8, 0.5)), ((-1, 5, 1.0),), "x"])
def test_bad_bands(bands) -> None:
    with pytest.raises(OptionError, match="band"):
        e2sfca(np.ones(1), np.zeros((1, 1)), np.ones(1), bands=bands)


# The hand example: 5 cells, 3 facilities, minutes (-- = unreachable).
#            f0    f1    f2
#   c0        2     8    --      population 1000
#   c1        6    --    20      population  500
#   c2       12     3    --      population 2000
#   c3       --    14     0      population 1500
#   c4       --    --    --      population  800
# capacities f0 = 10, f1 = 20, f2 = 5.
MINUTES = np.array([[2, 8, INF], [6, INF, 20], [12, 3, INF], [INF, 14, 0], [INF, INF, INF]])
POP = np.array([1000.0, 500.0, 2000.0, 1500.0, 800.0])
CAP = np.array([10.0, 20.0, 5.0])

# Weights: 0-5 min 1.00, 5-10 min 0.68, 10-15 min 0.22, beyond 15 min 0.
# Step 1, weighted demand per facility:
D0 = 1000 * 1.00 + 500 * 0.68 + 2000 * 0.22  # c0 at 2, c1 at 6, c2 at 12 min = 1780
D1 = 1000 * 0.68 + 2000 * 1.00 + 1500 * 0.22  # c0 at 8, c2 at 3, c3 at 14 min = 3010
D2 = 1500 * 1.00  # c3 at 0 min; c1 at 20 min is beyond the last band = 1500
R = np.array([10 / D0, 20 / D1, 5 / D2])
# Step 2, score per cell:
A = np.array([
    R[0] * 1.00 + R[1] * 0.68,  # c0
    R[0] * 0.68,  # c1 (f2 at 20 min weighs 0)
    R[0] * 0.22 + R[1] * 1.00,  # c2
    R[1] * 0.22 + R[2] * 1.00,  # c3
    0.0,  # c4 reaches nothing
])


def test_e2sfca_hand_example_dense() -> None:
    assert D0 == pytest.approx(1780) and D1 == pytest.approx(3010)
    score, ratio = e2sfca(POP, MINUTES * 60.0, CAP)
    np.testing.assert_allclose(ratio, R, rtol=1e-12)
    np.testing.assert_allclose(score, A, rtol=1e-12)
    # Both steps use the same weights, so people x score sums to the capacity.
    assert (POP * score).sum() == pytest.approx(CAP.sum(), rel=1e-12)


def test_e2sfca_hand_example_sparse_with_explicit_zero() -> None:
    rows, cols = np.nonzero(np.isfinite(MINUTES))
    m = sparse.csr_matrix((MINUTES[rows, cols] * 60.0, (rows, cols)), shape=MINUTES.shape)
    assert m.nnz == 8  # the 0-minute pair (c3, f2) is stored explicitly
    score, ratio = e2sfca(POP, m, CAP)
    np.testing.assert_allclose(score, A, rtol=1e-12)
    np.testing.assert_allclose(ratio, R, rtol=1e-12)
    # Dropping the explicit zero makes f2 unreachable for c3: f2 has no demand at all.
    m2 = m.copy()
    m2.eliminate_zeros()
    score2, ratio2 = e2sfca(POP, m2, CAP)
    assert np.isnan(ratio2[2])
    assert score2[3] == pytest.approx(R[1] * 0.22)


def test_e2sfca_facility_without_people_adds_nothing() -> None:
    # One cell with no people reaches a facility nobody else reaches.
    score, ratio = e2sfca(np.array([0.0, 10.0]), np.array([[60.0, INF], [INF, 60.0]]), np.array([3.0, 2.0]))
    assert np.isnan(ratio[0]) and ratio[1] == pytest.approx(0.2)
    np.testing.assert_allclose(score, [0.0, 0.2])


def test_e2sfca_input_checks() -> None:
    with pytest.raises(OptionError, match="shape"):
        e2sfca(POP, MINUTES[:4] * 60, CAP)
    with pytest.raises(OptionError, match="cell_population"):
        e2sfca(-POP, MINUTES * 60, CAP)
    with pytest.raises(OptionError, match="negative"):
        e2sfca(POP, -MINUTES * 60, CAP)
    dup = sparse.coo_matrix((np.array([1.0, 2.0]), (np.array([0, 0]), np.array([0, 0]))), shape=(5, 3))
    with pytest.raises(OptionError, match="duplicate"):
        e2sfca(POP, dup, CAP)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.integers(1, 5).flatmap(
            lambda m: st.tuples(
                st.lists(st.floats(0, 1e4), min_size=n, max_size=n),
                st.lists(st.floats(0, 100), min_size=m, max_size=m),
                st.lists(st.lists(st.one_of(st.just(INF), st.floats(0, 20)), min_size=m, max_size=m), min_size=n, max_size=n),
            )
        )
    )
)
def test_e2sfca_people_times_score_is_reached_capacity(case) -> None:
    pop, cap, minutes = (np.asarray(x, dtype=float) for x in case)
    score, ratio = e2sfca(pop, minutes * 60.0, cap)
    reached = np.isfinite(ratio)
    assert (pop * score).sum() == pytest.approx(cap[reached].sum(), rel=1e-9, abs=1e-9)
    assert (score >= 0).all()
    # Sparse and dense give the same answer.
    rows, cols = np.nonzero(np.isfinite(minutes))
    m = sparse.csr_matrix((minutes[rows, cols] * 60.0, (rows, cols)), shape=minutes.shape)
    np.testing.assert_allclose(e2sfca(pop, m, cap)[0], score, rtol=1e-12)


def test_oversubscribed_hand_example() -> None:
    score, ratio = e2sfca(POP, MINUTES * 60.0, CAP)
    over = oversubscribed(score, MINUTES * 60.0, cell_population=POP, facility_ratio=ratio, share=0.7)
    # Reference: capacity per resident of the area = 35 / 5800.
    assert over.reference == pytest.approx(35 / 5800)
    bar = 0.7 * 35 / 5800  # 0.004224
    # Scores: c0 0.0101, c1 0.0038, c2 0.0079, c3 0.0048, c4 0 (but c4 reaches nothing).
    assert A[1] < bar < A[3]
    np.testing.assert_array_equal(over.cells, [False, True, False, False, False])
    # Ratios: f0 0.0056, f1 0.0066, f2 0.0033: f2's catchment is crowded.
    np.testing.assert_array_equal(over.facilities, [False, False, True])
    # With a planner's target of 0.005 per resident (share 1), c1 and c3 fall short.
    target = oversubscribed(score, MINUTES * 60.0, cell_population=POP, facility_ratio=ratio, share=1.0, reference=0.005)
    np.testing.assert_array_equal(target.cells, [False, True, False, True, False])
    # A 5-minute "within reach" leaves c1 (6 min to f0) out.
    near = oversubscribed(score, MINUTES * 60.0, cell_population=POP, facility_ratio=ratio, share=0.7, threshold_minutes=5)
    np.testing.assert_array_equal(near.cells, [False, False, False, False, False])
    with pytest.raises(OptionError, match="share"):
        oversubscribed(score, MINUTES * 60.0, cell_population=POP, facility_ratio=ratio, share=0)


# ------------------------------------------------------- cell x facility time matrix


def _line_network() -> WalkNetwork:
    """Nodes 0-1-2-3 on the x axis, 100 m apart; edge i runs i -> i+1 (u at the west)."""
    crs = pyproj.CRS("EPSG:32648")
    xs = np.array([0.0, 100.0, 200.0, 300.0])
    nodes = gpd.GeoDataFrame({"osm_id": np.arange(4), "component": 0}, geometry=shapely.points(xs, 0.0), crs=crs)
    u, v = np.arange(3), np.arange(1, 4)
    edges = gpd.GeoDataFrame(
        {"u": u, "v": v, "osm_way_id": 1, "length_m": 100.0},
        geometry=[shapely.LineString([(xs[a], 0), (xs[b], 0)]) for a, b in zip(u, v)],
        crs=crs,
    )
    return WalkNetwork(nodes=nodes, edges=edges, crs=crs)


def test_cell_facility_seconds_hand_times() -> None:
    net = _line_network()
    # Walking east (u -> v) takes 1 s per metre, walking west 2 s per metre (uphill).
    costs = pd.DataFrame({"seconds_uv": [100.0, 100.0, 100.0], "seconds_vu": [200.0, 200.0, 200.0]})
    graph = reverse_graph(net, costs)
    facilities = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(300, 0)], crs=net.crs)  # A west, B east
    access = facility_access_points(facilities, net, max_distance_m=50)
    origins = locate_on_network(
        gpd.GeoSeries(shapely.points([0, 150, 250, 0], [0, 0, 10, 1000]), crs=net.crs), net, max_distance_m=50
    )
    m = cell_facility_seconds(graph, access, origins, n_facilities=2, limit_seconds=400, leg_speed_kmh=3.6)
    assert sparse.issparse(m) and m.shape == (4, 2)
    dense = np.full((4, 2), INF)
    coo = m.tocoo()
    dense[coo.row, coo.col] = coo.data
    expected = np.array([
        [0.0, 300.0],  # at A; to B 300 m east at 1 s/m
        [300.0, 150.0],  # 150 m west at 2 s/m; 150 m east at 1 s/m
        [INF, 60.0],  # to A 250 m west = 500 s + 10 m leg at 1 m/s = 510 > limit; to B 50 + 10
        [INF, INF],  # 1 km off the network: no access
    ])
    np.testing.assert_allclose(dense, expected)
    assert m.nnz == 5  # the zero time at A is stored explicitly
    # And E2SFCA reads it as reachable in the first band.
    score, ratio = e2sfca(np.array([10.0, 0, 0, 0]), m, np.array([1.0, 1.0]))
    assert ratio[0] == pytest.approx(0.1)


def test_cell_facility_seconds_matches_nearest_facility() -> None:
    from lifecircle.spatial.travel import nearest_facility, origin_seconds

    rng = np.random.default_rng(3)
    net = _line_network()
    costs = pd.DataFrame({"seconds_uv": rng.uniform(50, 150, 3), "seconds_vu": rng.uniform(50, 150, 3)})
    graph = reverse_graph(net, costs)
    facilities = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(0, 300, 3), rng.uniform(-20, 20, 3)), crs=net.crs)
    access = facility_access_points(facilities, net, max_distance_m=50)
    origins = locate_on_network(gpd.GeoSeries(shapely.points(rng.uniform(0, 300, 20), rng.uniform(-30, 30, 20)), crs=net.crs), net, max_distance_m=50)
    m = cell_facility_seconds(graph, access, origins, n_facilities=3, limit_seconds=1e6, leg_speed_kmh=4.5)
    # The row minimum equals the multi-source nearest-facility time.
    node_s, _ = nearest_facility(graph, access, n_facilities=3, leg_speed_kmh=4.5)
    nearest = origin_seconds(graph, node_s, origins, access=access, leg_speed_kmh=4.5)
    dense = m.toarray()
    dense[dense == 0] = INF
    coo = m.tocoo()
    dense[coo.row, coo.col] = coo.data
    np.testing.assert_allclose(dense.min(axis=1), nearest, rtol=1e-12)


@pytest.mark.slow
def test_real_yuzhong_hospitals(yuzhong_pbf, yuzhong_population, yuzhong_boundary) -> None:
    """Real network, GHS-POP people and the 38 hospital footprints (capacity = footprint m²)."""
    from lifecircle import settings as lc_settings
    from lifecircle.layers.osm import read_osm
    from lifecircle.layers.population import read_population
    from lifecircle.spatial.costs import flat_costs
    from lifecircle.spatial.population import population_to_cells
    from lifecircle.spatial.travel import nearest_facility, origin_seconds

    extract = read_osm(yuzhong_pbf, progress=False)
    net = network_from_extract(extract)
    area = gpd.read_file(yuzhong_boundary).to_crs(net.crs).geometry.union_all()
    x0, y0, x1, y1 = (np.floor(np.asarray(area.bounds) / 100) * 100).tolist()
    nx, ny = int((x1 - x0) / 100) + 1, int((y1 - y0) / 100) + 1
    iy, ix = np.divmod(np.arange(nx * ny), nx)
    cells = gpd.GeoDataFrame(geometry=shapely.box(x0 + ix * 100, y0 + iy * 100, x0 + ix * 100 + 100, y0 + iy * 100 + 100), crs=net.crs)
    cells = cells[cells.intersects(area)].reset_index(drop=True)
    people = population_to_cells(read_population(yuzhong_population), cells)

    feats = extract.features
    hospitals = feats[feats["tags"].map(lambda t: t.get("building") == "hospital")].to_crs(net.crs).reset_index(drop=True)
    assert len(hospitals) == 38  # README
    graph = reverse_graph(net, flat_costs(net, speed_kmh=4.5))
    access = facility_access_points(hospitals, net)
    origins = locate_on_network(cells.geometry.centroid, net, max_distance_m=lc_settings.max_access_distance_m)
    limit = 15 * 60.0
    m = cell_facility_seconds(graph, access, origins, n_facilities=len(hospitals), limit_seconds=limit, leg_speed_kmh=4.5)
    assert m.shape == (len(cells), len(hospitals))

    # Per-facility times agree with the one multi-source search: the row minimum is the nearest.
    node_s, _ = nearest_facility(graph, access, n_facilities=len(hospitals), leg_speed_kmh=4.5)
    nearest = origin_seconds(graph, node_s, origins, access=access, leg_speed_kmh=4.5)
    within = np.isfinite(nearest) & (nearest <= limit)
    reached = np.diff(m.indptr) > 0
    np.testing.assert_array_equal(reached, within)
    row_min = np.minimum.reduceat(m.data, m.indptr[:-1][reached]) if reached.any() else np.array([])
    np.testing.assert_allclose(row_min, nearest[within], rtol=1e-9)

    capacity = shapely.area(hospitals.geometry.to_numpy())
    score, ratio = e2sfca(people, m, capacity)
    ok = np.isfinite(ratio)
    assert (people * score).sum() == pytest.approx(capacity[ok].sum(), rel=1e-9)
    assert (score[~reached] == 0).all()
