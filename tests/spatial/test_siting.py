"""Tests of greedy site suggestion (lifecircle.spatial.siting)."""

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
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.network import WalkNetwork
from lifecircle.spatial.siting import candidate_coverage, node_candidates, site_suggestions, suggest_sites
from lifecircle.spatial.travel import (
    facility_access_points,
    locate_on_network,
    nearest_facility,
    origin_seconds,
    reverse_graph,
)
from tests.synthetic import network_from_extract

CRS = pyproj.CRS.from_epsg(32648)
X0, Y0 = 500000.0, 3270000.0
SPEED = 4.5  # km/h = 1.25 m/s: a 100 m edge takes 80 s


def _network(xy: list[tuple[float, float]], pairs: list[tuple[int, int]], component: list[int] | None = None) -> WalkNetwork:
    nodes = gpd.GeoDataFrame(
        {"osm_id": np.arange(len(xy), dtype=np.int64) + 1, "component": component or [0] * len(xy)},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS,
    )
    geoms = [shapely.LineString([nodes.geometry[u], nodes.geometry[v]]) for u, v in pairs]
    edges = gpd.GeoDataFrame(
        {
            "u": [u for u, _ in pairs], "v": [v for _, v in pairs],
            "osm_way_id": np.arange(len(pairs), dtype=np.int64) + 100,
            "length_m": [g.length for g in geoms],
        },
        geometry=geoms, crs=CRS,
    )
    return WalkNetwork(nodes=nodes, edges=edges, crs=CRS)


def _line() -> WalkNetwork:
    """Nodes 0-1-2-3 along x at 0, 100, 200, 300 m."""
    return _network([(0, 0), (100, 0), (200, 0), (300, 0)], [(0, 1), (1, 2), (2, 3)])


def _grid(n: int = 6, step: float = 100.0) -> WalkNetwork:
    xy = [(i * step, j * step) for j in range(n) for i in range(n)]
    pairs = [(j * n + i, j * n + i + 1) for j in range(n) for i in range(n - 1)]
    pairs += [(j * n + i, (j + 1) * n + i) for j in range(n - 1) for i in range(n)]
    return _network(xy, pairs)


def _points(xy: list[tuple[float, float]]) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


# --- suggest_sites on hand-made coverage ------------------------------------------------


def test_greedy_gains_hand_made() -> None:
    # cells:        0   1   2   3   4 (already served)
    pop = np.array([10, 20, 30, 40, 50.0])
    served = np.array([False, False, False, False, True])
    cover = sparse.csr_matrix(np.array([
        [1, 1, 1, 0, 0],  # c0: 10+20+30 = 60
        [0, 0, 1, 1, 1],  # c1: 30+40 (+ cell 4 already served) = 70
        [1, 1, 0, 0, 0],  # c2: 30
        [0, 0, 0, 1, 0],  # c3: 40
    ], dtype=bool))
    out = suggest_sites(cover, pop, served, count=4, candidate_ids=np.array(["a", "b", "c", "d"]))
    # Pick c1 (70); then c0 and c2 both add 10+20 = 30: the tie goes to the lower row c0;
    # then nobody is left unserved, so the search stops after 2 of the 4 sites asked for.
    assert out["candidate"].tolist() == [1, 0]
    assert out["site"].tolist() == ["b", "a"]
    assert out["marginal_gain"].tolist() == [70.0, 30.0]
    assert out["cumulative"].tolist() == [70.0, 100.0]
    assert out["new_cells"].tolist() == [2, 2]
    assert out["rank"].tolist() == [1, 2]


def test_ties_go_to_lowest_row_and_count_limits() -> None:
    cover = sparse.csr_matrix(np.array([[0, 1], [1, 0], [1, 0]], dtype=bool))
    out = suggest_sites(cover, np.array([5.0, 5.0]), np.zeros(2, bool), count=1)
    assert out["candidate"].tolist() == [0]
    empty = suggest_sites(cover, np.array([5.0, 5.0]), np.ones(2, bool), count=3)
    assert len(empty) == 0 and list(empty.columns) == ["rank", "candidate", "site", "marginal_gain", "cumulative", "new_cells"]


def test_suggest_validation() -> None:
    cover = sparse.csr_matrix(np.eye(3, dtype=bool))
    with pytest.raises(OptionError, match="count"):
        suggest_sites(cover, np.ones(3), np.zeros(3, bool), count=0)
    with pytest.raises(OptionError, match="cell_population"):
        suggest_sites(cover, np.ones(2), np.zeros(3, bool), count=1)
    with pytest.raises(OptionError, match="already_served"):
        suggest_sites(cover, np.ones(3), np.zeros(4, bool), count=1)
    with pytest.raises(OptionError, match="finite"):
        suggest_sites(cover, np.array([1, -1, 1.0]), np.zeros(3, bool), count=1)
    with pytest.raises(OptionError, match="candidate_ids"):
        suggest_sites(cover, np.ones(3), np.zeros(3, bool), count=1, candidate_ids=[1])


@settings(max_examples=60, deadline=None)
@given(
    matrix=st.integers(1, 6).flatmap(
        lambda c: st.integers(1, 8).flatmap(
            lambda n: st.tuples(
                st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=c, max_size=c),
                st.lists(st.integers(0, 100), min_size=n, max_size=n),
                st.lists(st.booleans(), min_size=n, max_size=n),
            )
        )
    ),
    count=st.integers(1, 6),
)
def test_property_greedy(matrix: tuple, count: int) -> None:
    cov_list, pop_list, served_list = matrix
    cov = np.array(cov_list, dtype=bool)
    pop = np.array(pop_list, dtype=float)
    served = np.array(served_list, dtype=bool)
    out = suggest_sites(sparse.csr_matrix(cov), pop, served, count=count)
    gains = out["marginal_gain"].to_numpy()
    assert len(out) <= count
    assert (gains > 0).all()
    assert (np.diff(gains) <= 1e-9).all()  # coverage is submodular: greedy gains never grow
    chosen = out["candidate"].to_numpy()
    union = cov[chosen].any(axis=0) if len(chosen) else np.zeros(cov.shape[1], bool)
    total = float(out["cumulative"].iloc[-1]) if len(out) else 0.0
    assert total == pytest.approx(pop[union & ~served].sum())
    # Each step takes a best candidate given the steps before (brute force).
    remaining = np.where(served, 0.0, pop)
    for c, g in zip(chosen, gains):
        brute = (cov * remaining).sum(axis=1)
        assert g == pytest.approx(brute.max()) and brute[c] == pytest.approx(brute.max())
        assert c == int(np.flatnonzero(np.isclose(brute, brute.max()))[0])
        remaining[cov[c]] = 0
    if len(out) < count:  # stopped early only because nobody else can be served
        assert ((cov * remaining).sum(axis=1) <= 0).all()


# --- candidate_coverage on synthetic networks -------------------------------------------


def test_coverage_hand_computed_times() -> None:
    net = _line()
    graph = reverse_graph(net, flat_costs(net, speed_kmh=SPEED))
    # Origin at x=50, 10 m off the street: 8 s leg. Candidate 0 at node 3 (x=300): 8 + 40 +
    # 160 = 208 s. Candidate 1 on the same edge at x=80: direct 30 m along it = 24 s, + 8 = 32 s.
    origins = locate_on_network(_points([(50, 10)]), net, max_distance_m=50)
    cands = gpd.GeoDataFrame(geometry=_points([(300, 0), (80, 0)]), crs=CRS)
    access = facility_access_points(cands, net, max_distance_m=50)
    for limit, expected in ((208.0, [True, True]), (207.9, [False, True]), (32.0, [False, True]), (31.9, [False, False])):
        cov = candidate_coverage(graph, origins, access, limit_seconds=limit, n_candidates=2, leg_speed_kmh=SPEED)
        assert cov.shape == (2, 1)
        assert cov.toarray()[:, 0].tolist() == expected, limit


def _grid_case(seed: int = 7) -> dict:
    net = _grid()
    graph = reverse_graph(net, flat_costs(net, speed_kmh=SPEED))
    rng = np.random.default_rng(seed)
    # Cell centres every 50 m, off the streets; one far away (unmatched, no access).
    cells_xy = [(25 + 50 * i, 12 + 50 * j) for j in range(10) for i in range(10)] + [(5000, 5000)]
    origins = locate_on_network(_points(cells_xy), net, max_distance_m=40)
    pop = rng.integers(0, 100, size=len(cells_xy)).astype(float)
    existing = gpd.GeoDataFrame(geometry=_points([(0, 0)]), crs=CRS)
    return {"net": net, "graph": graph, "origins": origins, "pop": pop, "existing": existing}


def _served(case: dict, facilities: gpd.GeoDataFrame, limit: float) -> np.ndarray:
    access = facility_access_points(facilities, case["net"], max_distance_m=40)
    node_s, _ = nearest_facility(case["graph"], access, n_facilities=len(facilities), leg_speed_kmh=SPEED)
    t = origin_seconds(case["graph"], node_s, case["origins"], access=access, leg_speed_kmh=SPEED)
    return np.nan_to_num(t, nan=np.inf) <= limit


def test_coverage_matches_single_facility_searches() -> None:
    case = _grid_case()
    cands = node_candidates(case["net"])
    access = facility_access_points(cands, case["net"], max_distance_m=40)
    limit = 160.0
    cov = candidate_coverage(case["graph"], case["origins"], access, limit_seconds=limit,
                             n_candidates=len(cands), leg_speed_kmh=SPEED).toarray()
    for i in range(len(cands)):
        expected = _served(case, cands.iloc[[i]], limit)
        assert (cov[i] == expected).all(), i
    assert not cov[:, -1].any()  # the unmatched cell is never covered
    assert cov.any(axis=1).all()


def test_rerun_with_suggested_sites_reproduces_gains() -> None:
    case = _grid_case()
    limit = 180.0
    served = _served(case, case["existing"], limit)
    cands = node_candidates(case["net"])
    access = facility_access_points(cands, case["net"], max_distance_m=40)
    cov = candidate_coverage(case["graph"], case["origins"], access, limit_seconds=limit,
                             n_candidates=len(cands), leg_speed_kmh=SPEED)
    out = suggest_sites(cov, case["pop"], served, count=3, candidate_ids=cands["node"].to_numpy())
    assert len(out) == 3 and out["marginal_gain"].gt(0).all()
    before = case["pop"][served].sum()
    for k in range(1, len(out) + 1):
        sites = cands.iloc[out["candidate"].to_numpy()[:k]]
        facilities = pd.concat([case["existing"], sites[["geometry"]]], ignore_index=True)
        after = case["pop"][_served(case, facilities, limit)].sum()
        assert after - before == pytest.approx(out["cumulative"].iloc[k - 1])
    assert out["cumulative"].iloc[-1] == pytest.approx(out["marginal_gain"].sum())


def test_coverage_validation() -> None:
    case = _grid_case()
    access = facility_access_points(node_candidates(case["net"]), case["net"], max_distance_m=40)
    with pytest.raises(OptionError, match="limit_seconds"):
        candidate_coverage(case["graph"], case["origins"], access, limit_seconds=0, n_candidates=36, leg_speed_kmh=4.5)
    with pytest.raises(OptionError, match="n_candidates"):
        candidate_coverage(case["graph"], case["origins"], access, limit_seconds=10, n_candidates=3, leg_speed_kmh=4.5)


def test_node_candidates_thinning() -> None:
    net = _network([(0, 0), (10, 0), (150, 0), (160, 5), (400, 0)], [(0, 1), (1, 2), (2, 3), (3, 4)],
                   component=[0, 0, 0, 0, 1])
    every = node_candidates(net, largest_component_only=False)
    assert every["node"].tolist() == [0, 1, 2, 3, 4] and every.crs == CRS
    assert node_candidates(net)["node"].tolist() == [0, 1, 2, 3]
    # 100 m squares: {0, 1} share one, {2, 3} share another; the lowest node of each is kept.
    assert node_candidates(net, spacing_m=100)["node"].tolist() == [0, 2]
    with pytest.raises(OptionError, match="spacing_m"):
        node_candidates(net, spacing_m=-5)


# --- real data: Yuzhong, Chongqing --------------------------------------------------------


def test_yuzhong_suggestions_reproduce_on_rerun(yuzhong_pbf, yuzhong_population) -> None:
    """Hospital footprints as clinics, GHS-POP points as homes, 10-minute threshold."""
    from lifecircle.layers.osm import read_osm

    ex = read_osm(yuzhong_pbf, progress=False)
    net = network_from_extract(ex)
    graph = reverse_graph(net, flat_costs(net, speed_kmh=4.5))
    table = pd.read_csv(yuzhong_population)
    homes = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=4326).to_crs(net.crs)
    origins = locate_on_network(homes, net, max_distance_m=150)
    people = table["population"].to_numpy(dtype=float)
    is_hospital = ex.features["tags"].map(lambda t: t.get("building") == "hospital").to_numpy()
    clinics = ex.features.loc[is_hospital, ["geometry"]].to_crs(net.crs).reset_index(drop=True)
    assert len(clinics) >= 30  # the extract holds 38 hospital footprints
    limit = 600.0

    def served(facilities: gpd.GeoDataFrame) -> np.ndarray:
        access = facility_access_points(facilities, net)
        node_s, _ = nearest_facility(graph, access, n_facilities=len(facilities), leg_speed_kmh=4.5)
        return np.nan_to_num(origin_seconds(graph, node_s, origins, access=access, leg_speed_kmh=4.5), nan=np.inf) <= limit

    before = served(clinics)
    cands = node_candidates(net, spacing_m=200)
    cov = candidate_coverage(graph, origins, facility_access_points(cands, net), limit_seconds=limit,
                             n_candidates=len(cands), leg_speed_kmh=4.5)
    out = suggest_sites(cov, people, before, count=3, candidate_ids=cands["node"].to_numpy())
    assert len(out) == 3 and (np.diff(out["marginal_gain"].to_numpy()) <= 0).all()
    assert out["marginal_gain"].iloc[0] > 1000  # central Chongqing is dense: thousands per site
    sites = cands.iloc[out["candidate"].to_numpy()][["geometry"]]
    after = served(pd.concat([clinics, sites], ignore_index=True))
    assert people[after].sum() - people[before].sum() == pytest.approx(out["cumulative"].iloc[-1])


def test_site_suggestions_joins_the_steps() -> None:
    case = _grid_case()
    cands = node_candidates(case["net"])
    out = site_suggestions(case["net"], case["graph"], case["origins"], case["pop"], case["existing"], cands,
                           threshold_minutes=3.0, count=3, leg_speed_kmh=SPEED, max_access_distance_m=40)
    # Same answer as the separate steps.
    served = _served(case, case["existing"], 180.0)
    access = facility_access_points(cands, case["net"], max_distance_m=40)
    cov = candidate_coverage(case["graph"], case["origins"], access, limit_seconds=180.0,
                             n_candidates=len(cands), leg_speed_kmh=SPEED)
    steps = suggest_sites(cov, case["pop"], served, count=3)
    assert out["candidate"].tolist() == steps["candidate"].tolist()
    assert out["marginal_gain"].tolist() == steps["marginal_gain"].tolist()
    assert out["node"].tolist() == cands["node"].to_numpy()[steps["candidate"]].tolist()
    assert out.crs == CRS and out.geometry.geom_type.eq("Point").all()
    assert out.attrs["people_served_before"] == pytest.approx(case["pop"][served].sum())
    assert out.attrs["people_served_after"] - out.attrs["people_served_before"] == pytest.approx(out["cumulative"].iloc[-1])
    # With no existing facility, everyone starts unserved.
    none = site_suggestions(case["net"], case["graph"], case["origins"], case["pop"], case["existing"].iloc[:0], cands,
                            threshold_minutes=3.0, count=1, leg_speed_kmh=SPEED, max_access_distance_m=40)
    assert none.attrs["people_served_before"] == 0 and none["marginal_gain"].iloc[0] >= out["marginal_gain"].iloc[0]
    with pytest.raises(OptionError, match="CRS"):
        site_suggestions(case["net"], case["graph"], case["origins"], case["pop"], case["existing"].to_crs(4326),
                         cands, threshold_minutes=3.0, count=1, leg_speed_kmh=4.5)
    with pytest.raises(OptionError, match="threshold_minutes"):
        site_suggestions(case["net"], case["graph"], case["origins"], case["pop"], case["existing"], cands,
                         threshold_minutes=0, count=1, leg_speed_kmh=4.5)


def test_polygon_candidates() -> None:
    """A plot (polygon) is reached where streets touch it: the cells near it are covered."""
    net = _line()
    graph = reverse_graph(net, flat_costs(net, speed_kmh=SPEED))
    origins = locate_on_network(_points([(0, 10), (290, 10)]), net, max_distance_m=50)
    plot = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 250, Y0 - 40, X0 + 330, Y0 - 5)], crs=CRS)
    out = site_suggestions(net, graph, origins, np.array([5.0, 7.0]), plot.iloc[:0], plot,
                           threshold_minutes=1.0, count=1, leg_speed_kmh=SPEED, max_access_distance_m=50)
    # The plot lies 5 m south of the street, from x=250 to 330 (the street ends at 300): the
    # origin at x=290 is at most 10 + 40 + 5 m from it (44 s), the one at x=0 at least 250 m
    # (200 s). Only the second origin's 7 people are within the minute.
    assert out["marginal_gain"].tolist() == [7.0]
