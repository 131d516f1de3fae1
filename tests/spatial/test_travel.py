"""Travel times: exact minutes on hand-checkable graphs, agreement with networkx, invariants."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.network import to_networkx
from lifecircle.spatial.travel import (
    facility_access_points,
    locate_on_network,
    nearest_facility,
    origin_seconds,
    per_facility_node_seconds,
    reverse_graph,
)
from tests.synthetic import CRS, SPEED_MS, at, grid_network, network_from_extract, network_from_lines, square_network


def _facilities(*geoms: shapely.Geometry) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"f{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=CRS)


def _search(network, facilities, costs=None):
    costs = flat_costs(network, speed_kmh=4.5) if costs is None else costs
    graph = reverse_graph(network, costs)
    access = facility_access_points(facilities, network, max_distance_m=150)
    secs, which = nearest_facility(graph, access, n_facilities=len(facilities), leg_speed_kmh=4.5)
    return graph, access, secs, which


def test_square_times_to_a_point_facility_at_c() -> None:
    net = square_network()
    _, _, secs, which = _search(net, _facilities(at(300, 400)))
    # C itself 0; B 400 m; D 300 m; A: diagonal 500 m beats 300+400 either way round.
    np.testing.assert_allclose(secs, np.array([500, 400, 0, 300]) / SPEED_MS, atol=1e-9)
    assert (which == 0).all()


def test_origin_adds_its_off_network_leg_and_best_end() -> None:
    net = square_network()
    graph, access, secs, _ = _search(net, _facilities(at(300, 400)))
    # Cell centre 30 m below the middle of A-B: 30 m leg, then 150 m to B and 400 m on to C.
    where = locate_on_network(gpd.GeoSeries([at(150, -30)], crs=CRS), net, max_distance_m=150)
    assert where.edge[0] == 0 and where.fraction[0] == pytest.approx(0.5)
    got = origin_seconds(graph, secs, where, access=access, leg_speed_kmh=4.5)
    assert got[0] == pytest.approx((30 + 150 + 400) / SPEED_MS)


def test_origin_beyond_max_distance_has_no_access() -> None:
    net = square_network()
    graph, access, secs, _ = _search(net, _facilities(at(300, 400)))
    where = locate_on_network(gpd.GeoSeries([at(150, -200)], crs=CRS), net, max_distance_m=150)
    assert where.edge[0] == -1
    assert np.isnan(origin_seconds(graph, secs, where, access=access, leg_speed_kmh=4.5)[0])


def test_facility_on_an_edge_is_reached_along_that_edge() -> None:
    net = square_network()
    # Facility in the middle of B-C (200 m from each end); an origin 10 m off B-C at 100 m from B.
    graph, access, secs, _ = _search(net, _facilities(at(300, 200)))
    np.testing.assert_allclose(secs[[1, 2]], [200 / SPEED_MS, 200 / SPEED_MS])
    # A: 300 + 200 via B; D: 300 + 200 via C.
    np.testing.assert_allclose(secs[[0, 3]], [500 / SPEED_MS, 500 / SPEED_MS])
    where = locate_on_network(gpd.GeoSeries([at(310, 100)], crs=CRS), net, max_distance_m=150)
    got = origin_seconds(graph, secs, where, access=access, leg_speed_kmh=4.5)
    # Direct along the shared edge: 10 m leg + 100 m, not 100 m back to B and 200 m on.
    assert got[0] == pytest.approx((10 + 100) / SPEED_MS)


def test_polygon_facility_is_reached_at_its_outline_not_its_centroid() -> None:
    net = square_network()
    park = shapely.box(*at(100, 100).coords[0], *at(200, 300).coords[0])
    graph, access, secs, _ = _search(net, _facilities(park))
    # The diagonal A-C (500 m, slope 4/3) crosses the park's west side x=100 at y=133.3 and its
    # east side x=200 at y=266.7: 166.7 m from A and from C. The centroid would be 250 m away.
    assert sorted(np.round(access["fraction"], 6)) == [pytest.approx(1 / 3), pytest.approx(2 / 3)]
    assert secs[0] == pytest.approx(500 / 3 / SPEED_MS)
    assert secs[2] == pytest.approx(500 / 3 / SPEED_MS)
    # B: 300 m to A then 166.7 m (466.7) beats 400 m to C then 166.7 m.
    assert secs[1] == pytest.approx((300 + 500 / 3) / SPEED_MS)


def test_polygon_touching_no_edge_is_reached_at_its_nearest_outline_point() -> None:
    net = network_from_lines([(0, 0), (400, 0)], [(0, 1)])
    hospital = shapely.box(*at(100, 20).coords[0], *at(200, 80).coords[0])  # 20 m north of the street
    _, access, secs, _ = _search(net, _facilities(hospital))
    assert len(access) == 1 and access["leg_m"].iloc[0] == pytest.approx(20)
    # From node 0: along the street to x=100 (nearest point of the outline is its south-west
    # corner's foot... any point of x in [100, 200] is 20 m away; the lowest x is picked).
    assert secs[0] <= (200 + 20) / SPEED_MS + 1e-9
    assert secs[0] >= (100 + 20) / SPEED_MS - 1e-9


def test_every_part_of_a_multipolygon_site_is_an_entrance() -> None:
    # Street 0-1 along y=0 (400 m). A hospital site of two buildings: one the street crosses
    # (x 0..40), one 20 m north of the street's far end that no edge touches (x 300..360).
    net = network_from_lines([(0, 0), (400, 0)], [(0, 1)])
    crossed = shapely.box(*at(0, -10).coords[0], *at(40, 10).coords[0])
    aside = shapely.box(*at(300, 20).coords[0], *at(360, 60).coords[0])
    _, access, secs, _ = _search(net, _facilities(shapely.MultiPolygon([crossed, aside])))
    assert (access["facility"] == 0).all()
    # The far building is reached at the street point below it (20 m leg), not only at the
    # near building 360 m away: node 1 (x=400) walks 40 m to x=360, then 20 m.
    assert access["leg_m"].max() == pytest.approx(20)
    assert secs[1] == pytest.approx((40 + 20) / SPEED_MS)


def test_parallel_edges_take_the_minimum_not_the_sum() -> None:
    straight = shapely.LineString([at(0, 0), at(300, 0)])
    detour = shapely.LineString([at(0, 0), at(150, 200), at(300, 0)])  # 500 m
    net = network_from_lines([(0, 0), (300, 0)], [(0, 1), (0, 1)], geometries=[straight, detour])
    _, _, secs, _ = _search(net, _facilities(at(300, 0)))
    assert secs[0] == pytest.approx(300 / SPEED_MS)


def test_direction_matters_on_the_reversed_search() -> None:
    net = network_from_lines([(0, 0), (100, 0)], [(0, 1)])
    costs = pd.DataFrame({"seconds_uv": [100.0], "seconds_vu": [40.0]})  # uphill u->v is slower
    graph, access, secs, _ = _search(net, _facilities(at(100, 0)), costs)
    assert secs[0] == pytest.approx(100.0)  # home at u walks u->v to the facility at v
    graph, access, secs, _ = _search(net, _facilities(at(0, 0)), costs)
    assert secs[1] == pytest.approx(40.0)


def test_unreachable_component_is_infinite_and_has_no_facility() -> None:
    net = network_from_lines([(0, 0), (100, 0), (1000, 0), (1100, 0)], [(0, 1), (2, 3)])
    _, _, secs, which = _search(net, _facilities(at(0, 0)))
    assert np.isinf(secs[[2, 3]]).all() and (which[[2, 3]] == -1).all()


def test_no_facilities_gives_all_infinite() -> None:
    net = square_network()
    _, _, secs, which = _search(net, _facilities())
    assert np.isinf(secs).all() and (which == -1).all()


def test_per_facility_searches_match_single_searches() -> None:
    net = square_network()
    facilities = _facilities(at(300, 400), at(0, 0))
    graph = reverse_graph(net, flat_costs(net, speed_kmh=4.5))
    access = facility_access_points(facilities, net, max_distance_m=150)
    rows = dict(per_facility_node_seconds(graph, access, n_facilities=2, limit_seconds=np.inf, memory_budget_bytes=64, leg_speed_kmh=4.5))
    for fac in (0, 1):
        alone, _ = nearest_facility(graph, access[access["facility"] == fac], n_facilities=2, leg_speed_kmh=4.5)
        np.testing.assert_allclose(rows[fac], alone)
    both, _ = nearest_facility(graph, access, n_facilities=2, leg_speed_kmh=4.5)
    np.testing.assert_allclose(both, np.minimum(rows[0], rows[1]))


def _networkx_forward_times(net, costs, access, origins):
    """Independent check: search FORWARD from each origin node to a super target."""
    g = to_networkx(net, costs)
    for r in access.itertuples():
        u, v = int(net.edges["u"].iloc[r.edge]), int(net.edges["v"].iloc[r.edge])
        leg = r.leg_m / SPEED_MS
        g.add_edge(u, "T", seconds=leg + r.fraction * costs["seconds_uv"].iloc[r.edge])
        g.add_edge(v, "T", seconds=leg + (1 - r.fraction) * costs["seconds_vu"].iloc[r.edge])
    out = []
    for o in origins:
        try:
            out.append(nx.dijkstra_path_length(g, int(o), "T", weight="seconds"))
        except nx.NetworkXNoPath:
            out.append(np.inf)
    return np.array(out)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 5),
    factors=st.lists(st.floats(1.0, 3.0), min_size=40, max_size=40),
    fac_nodes=st.sets(st.integers(0, 24), min_size=1, max_size=4),
    extra=st.integers(0, 24),
    asym=st.lists(st.floats(0.5, 2.0), min_size=40, max_size=40),
)
def test_adding_a_facility_never_increases_any_time(n, factors, fac_nodes, extra, asym) -> None:
    net = grid_network(n, 100.0, np.array(factors[: 2 * n * (n - 1)]))
    m = len(net.edges)
    costs = pd.DataFrame({"seconds_uv": net.edges["length_m"].to_numpy() / SPEED_MS * np.array(asym[:m]),
                          "seconds_vu": net.edges["length_m"].to_numpy() / SPEED_MS})
    pts = net.nodes.geometry.to_numpy()
    chosen = sorted(f % (n * n) for f in fac_nodes)
    before = _facilities(*pts[chosen])
    after = _facilities(*pts[chosen], pts[extra % (n * n)])
    _, acc_b, secs_b, _ = _search(net, before, costs)
    _, acc_a, secs_a, _ = _search(net, after, costs)
    assert (secs_a <= secs_b + 1e-9).all()
    # And the reversed multi-source search equals a forward networkx search from each node.
    ref = _networkx_forward_times(net, costs, acc_a, range(n * n))
    np.testing.assert_allclose(secs_a, ref, rtol=1e-9, atol=1e-9)


def test_agrees_with_networkx_on_random_origins_of_yuzhong(yuzhong_pbf) -> None:
    from lifecircle.layers.osm import read_osm

    ext = read_osm(yuzhong_pbf, progress=False)
    net = network_from_extract(ext)
    costs = flat_costs(net, speed_kmh=4.5)
    rng = np.random.default_rng(20261122)
    facilities = _facilities(*net.nodes.geometry.to_numpy()[rng.choice(net.n_nodes, 25, replace=False)])
    graph, access, secs, _ = _search(net, facilities, costs)
    origins = rng.choice(net.n_nodes, 40, replace=False)
    ref = _networkx_forward_times(net, costs, access, origins)
    np.testing.assert_allclose(secs[origins], ref, rtol=1e-9)
    assert np.isfinite(ref).sum() > 30  # most random nodes reach a facility: a meaningful check
    # Random cell-like origins off the network: compare with networkx through the origin's edge ends.
    xs = rng.uniform(*net.edges.total_bounds[[0, 2]], 30)
    ys = rng.uniform(*net.edges.total_bounds[[1, 3]], 30)
    where = locate_on_network(gpd.GeoSeries(shapely.points(xs, ys), crs=CRS), net, max_distance_m=150)
    got = origin_seconds(graph, secs, where, access=access, leg_speed_kmh=4.5)
    for k in np.flatnonzero(where.matched):
        e, f = where.edge[k], where.fraction[k]
        u, v = int(net.edges["u"].iloc[e]), int(net.edges["v"].iloc[e])
        tu, tv = _networkx_forward_times(net, costs, access, [u, v])
        expect = where.distance_m[k] / SPEED_MS + min(f * costs["seconds_vu"].iloc[e] + tu,
                                                      (1 - f) * costs["seconds_uv"].iloc[e] + tv)
        same_edge = access[access["edge"] == e]
        for r in same_edge.itertuples():
            d = r.fraction - f
            direct = (d * costs["seconds_uv"].iloc[e] if d >= 0 else -d * costs["seconds_vu"].iloc[e]) + r.leg_m / SPEED_MS
            expect = min(expect, where.distance_m[k] / SPEED_MS + direct)
        assert got[k] == pytest.approx(expect, rel=1e-9)


def test_facility_at_a_node_of_an_impassable_edge_is_still_reached() -> None:
    # u(0)-v(1) is stairs a wheelchair cannot use (inf both ways); w(2)-u(0) is a 100 m path.
    net = network_from_lines([(0, 0), (100, 0), (0, 100)], [(0, 1), (2, 0)])
    costs = pd.DataFrame({"seconds_uv": [np.inf, 80.0], "seconds_vu": [np.inf, 80.0]})
    graph = reverse_graph(net, costs)
    fac = _facilities(at(0, 0))
    access = pd.DataFrame({"facility": [0], "edge": [0], "fraction": [0.0], "leg_m": [0.0]})
    secs, which = nearest_facility(graph, access, n_facilities=1, leg_speed_kmh=4.5)
    assert secs[0] == 0.0 and secs[2] == pytest.approx(80.0)
    assert np.isinf(secs[1]) and which[1] == -1
    del fac


def test_only_impassable_access_gives_unreachable_not_a_crash() -> None:
    net = network_from_lines([(0, 0), (100, 0)], [(0, 1)])
    costs = pd.DataFrame({"seconds_uv": [np.inf], "seconds_vu": [np.inf]})
    graph = reverse_graph(net, costs)
    access = pd.DataFrame({"facility": [0], "edge": [0], "fraction": [0.5], "leg_m": [0.0]})
    secs, which = nearest_facility(graph, access, n_facilities=1, leg_speed_kmh=4.5)
    assert np.isinf(secs).all() and (which == -1).all()


def test_origins_prefer_the_main_network_over_a_cut_off_fragment() -> None:
    # A long main street (component 0) and a 20 m courtyard path 30 m away from a point
    # that is 60 m from the street: the point joins the street, not the fragment.
    net = network_from_lines([(0, 0), (1000, 0), (490, 90), (510, 90)], [(0, 1), (2, 3)])
    assert net.nodes["component"].tolist() == [0, 0, 1, 1]
    pts = gpd.GeoSeries([at(500, 60), at(500, 400)], crs=CRS)
    near = locate_on_network(pts, net, max_distance_m=150, prefer_main_component=False)
    assert near.edge.tolist() == [1, -1]
    main = locate_on_network(pts, net, max_distance_m=150)
    assert main.edge.tolist() == [0, -1] and main.distance_m[0] == pytest.approx(60)
    # With the street out of reach, the fragment is still the answer.
    far = locate_on_network(gpd.GeoSeries([at(500, 100)], crs=CRS), net, max_distance_m=50)
    assert far.edge.tolist() == [1]


def test_nearest_facility_of_an_origin_counts_the_direct_walk_along_its_edge() -> None:
    from lifecircle.spatial.travel import origin_nearest

    # Two facilities: f0 at node A (0,0); f1 in the middle of B-C at (300, 200).
    net = square_network()
    facilities = _facilities(at(0, 0), at(300, 200))
    graph, access, secs, which = _search(net, facilities)
    # Origin 10 m off B-C at 100 m from B: f1 is 100 m away along the edge; via B then A 400 m.
    where = locate_on_network(gpd.GeoSeries([at(310, 100), at(150, -10)], crs=CRS), net, max_distance_m=150)
    got, fac = origin_nearest(graph, secs, which, where, access=access, leg_speed_kmh=4.5)
    assert fac.tolist() == [1, 0]
    assert got[0] == pytest.approx((10 + 100) / SPEED_MS)
    assert got[1] == pytest.approx((10 + 150) / SPEED_MS)
    np.testing.assert_allclose(got, origin_seconds(graph, secs, where, access=access, leg_speed_kmh=4.5))


# ------------------------------------------------ nearest edges by candidate search

_coord = st.floats(min_value=0.0, max_value=400.0, allow_nan=False, allow_infinity=False)
_grid_coord = st.integers(min_value=0, max_value=40).map(lambda i: i * 10.0)  # exact ties on a lattice


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.lists(st.tuples(st.one_of(_coord, _grid_coord), st.one_of(_coord, _grid_coord)),
                            min_size=2, max_size=5), min_size=1, max_size=25),
    points=st.lists(st.tuples(st.one_of(_coord, _grid_coord), st.one_of(_coord, _grid_coord)),
                    min_size=1, max_size=40),
    max_distance=st.sampled_from([5.0, 30.0, 50.0, 75.0, 150.0]),
)
# Least distance exactly at the first reach and at the limit; two edges tied.
@example(lines=[[(50.0, 0.0), (50.0, 100.0)], [(-50.0, 0.0), (-50.0, 100.0)]], points=[(0.0, 50.0)], max_distance=150.0)
@example(lines=[[(150.0, 0.0), (150.0, 100.0)]], points=[(0.0, 50.0)], max_distance=150.0)
def test_nearest_within_equals_query_nearest(lines, points, max_distance):
    """The staged candidate search finds exactly what GEOS's nearest-neighbour search finds:
    the same edges at the least distance (all ties), the same distances, nothing beyond reach."""
    from lifecircle.spatial.travel import _nearest_within

    edges = np.array([shapely.LineString(line) for line in lines], dtype=object)
    pts = shapely.points(np.asarray(points))
    tree = shapely.STRtree(edges)
    (p0, e0), d0 = tree.query_nearest(pts, max_distance=max_distance, return_distance=True, all_matches=True)
    p1, e1, d1 = _nearest_within(tree, pts, edges, max_distance)
    o0, o1 = np.lexsort((e0, p0)), np.lexsort((e1, p1))
    np.testing.assert_array_equal(p1[o1], p0[o0])
    np.testing.assert_array_equal(e1[o1], e0[o0])
    assert d1[o1].tobytes() == d0[o0].tobytes()


_utm = st.floats(min_value=0.0, max_value=400.0, allow_nan=False, allow_infinity=False).map(lambda v: 3_250_000.0 + v)


@settings(max_examples=80, deadline=None)
@given(
    lines=st.lists(st.lists(st.tuples(st.one_of(_coord, _grid_coord), st.one_of(_coord, _grid_coord)),
                            min_size=2, max_size=5), min_size=1, max_size=25),
    points=st.lists(st.tuples(st.one_of(_coord, _grid_coord), st.one_of(_coord, _grid_coord)),
                    min_size=1, max_size=40),
    max_distance=st.sampled_from([5.0, 30.0, 50.0, 75.0, 150.0]),
    offset=st.sampled_from([0.0, 3_250_000.0]),
)
@example(lines=[[(50.0, 0.0), (50.0, 100.0)], [(-50.0, 0.0), (-50.0, 100.0)]], points=[(0.0, 50.0)],
         max_distance=150.0, offset=0.0)
@example(lines=[[(150.0, 0.0), (150.0, 100.0)]], points=[(0.0, 50.0)], max_distance=150.0, offset=0.0)
@example(lines=[[(10.0, 10.0), (10.0, 10.0), (60.0, 10.0)]], points=[(10.0, 40.0), (35.0, 40.0)],
         max_distance=50.0, offset=3_250_000.0)  # a repeated vertex: a segment of no length
def test_nearest_segments_equals_query_nearest(lines, points, max_distance, offset):
    """Measuring segments with arrays finds exactly what GEOS's nearest-neighbour search finds:
    the same lines at the least distance (all ties), the same distances to the last bit, also
    at a metric CRS's large coordinates."""
    from lifecircle.spatial.travel import _nearest_segments, _plain_points_and_lines

    edges = np.array([shapely.LineString(np.asarray(line) + offset) for line in lines], dtype=object)
    xy = np.asarray(points) + offset
    pts = shapely.points(xy)
    assert _plain_points_and_lines(pts, edges)
    (p0, e0), d0 = shapely.STRtree(edges).query_nearest(pts, max_distance=max_distance, return_distance=True,
                                                        all_matches=True)
    p1, e1, d1 = _nearest_segments(xy[:, 0], xy[:, 1], edges, max_distance)
    key1 = np.unique(np.c_[p1, e1], axis=0, return_index=True)[1]  # a line tied at two segments counts once
    p1, e1, d1 = p1[key1], e1[key1], d1[key1]
    o0, o1 = np.lexsort((e0, p0)), np.lexsort((e1, p1))
    np.testing.assert_array_equal(p1[o1], p0[o0])
    np.testing.assert_array_equal(e1[o1], e0[o0])
    assert d1[o1].tobytes() == d0[o0].tobytes()


def test_point_segment_distance_has_geos_bits() -> None:
    """The array distance equals shapely's to the last bit on random city-scale coordinates."""
    from lifecircle.spatial.travel import _point_segment_distance

    rng = np.random.default_rng(7)
    base = np.array([500_000.0, 3_250_000.0])
    a, b, p = (base + rng.uniform(-300, 300, (20_000, 2)) for _ in range(3))
    b[:50] = a[:50]  # segments of no length
    expected = shapely.distance(shapely.points(p), shapely.linestrings(np.stack([a, b], axis=1)))
    got = _point_segment_distance(p[:, 0], p[:, 1], a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert got.tobytes() == expected.tobytes()
