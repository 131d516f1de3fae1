"""Isochrones follow the network: cut edges, holes, no convex hulls."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.ops import substring

from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.isochrones import isochrone_polygon, line_substrings, reachable_intervals
from lifecircle.spatial.travel import facility_access_points, nearest_facility, reverse_graph
from tests.synthetic import CRS, SPEED_MS, at, network_from_extract, network_from_lines, square_network


def _setup(net, point):
    graph = reverse_graph(net, flat_costs(net, speed_kmh=4.5))
    fac = gpd.GeoDataFrame({"name": ["f"]}, geometry=[point], crs=CRS)
    access = facility_access_points(fac, net, max_distance_m=150)
    secs, _ = nearest_facility(graph, access, n_facilities=1, leg_speed_kmh=4.5)
    return graph, access, secs


def test_edges_are_cut_where_the_time_runs_out() -> None:
    # A straight 1,000 m street with the facility at its west end: 5 minutes = 375 m.
    net = network_from_lines([(0, 0), (1000, 0)], [(0, 1)])
    graph, access, secs = _setup(net, at(0, 0))
    iv = reachable_intervals(graph, secs, limit_seconds=300, access=access, leg_speed_kmh=4.5)
    assert iv["end"].max() == pytest.approx(375 / 1000)
    exact = isochrone_polygon(net, graph, secs, limit_seconds=300, buffer_m=10, access=access, method="vector",
                              simplify_m=0, leg_speed_kmh=4.5)
    minx, _, maxx, _ = exact.bounds
    assert maxx - at(0, 0).x == pytest.approx(385, abs=0.01)
    assert at(0, 0).x - minx == pytest.approx(10, abs=0.01)
    fast = isochrone_polygon(net, graph, secs, limit_seconds=300, buffer_m=10, access=access, resolution_m=0.5, leg_speed_kmh=4.5)
    minx, _, maxx, _ = fast.bounds
    assert maxx - at(0, 0).x == pytest.approx(385, abs=1.0)  # within two pixels
    assert at(0, 0).x - minx == pytest.approx(10, abs=1.0)


def test_facility_in_the_middle_of_a_long_edge_reaches_both_ways() -> None:
    net = network_from_lines([(0, 0), (2000, 0)], [(0, 1)])
    graph, access, secs = _setup(net, at(1000, 0))
    assert np.isinf(secs).all() or secs.min() > 300  # both ends 1 km away: beyond 5 minutes
    iv = reachable_intervals(graph, secs, limit_seconds=300, access=access, leg_speed_kmh=4.5)
    assert iv["start"].min() == pytest.approx((1000 - 375) / 2000)
    assert iv["end"].max() == pytest.approx((1000 + 375) / 2000)


def test_ring_street_keeps_its_hole_and_is_no_convex_hull() -> None:
    # A 400 x 400 m block ringed by streets; its inside is 300 m from every street.
    net = network_from_lines([(0, 0), (400, 0), (400, 400), (0, 400)], [(0, 1), (1, 2), (2, 3), (3, 0)])
    graph, access, secs = _setup(net, at(0, 0))
    poly = isochrone_polygon(net, graph, secs, limit_seconds=3600, buffer_m=50, access=access, leg_speed_kmh=4.5)
    assert len(poly.interiors if poly.geom_type == "Polygon" else poly.geoms[0].interiors) == 1
    assert poly.area < shapely.convex_hull(poly).area * 0.8
    assert not poly.contains(at(200, 200))


def test_unreachable_gives_empty() -> None:
    net = network_from_lines([(0, 0), (100, 0), (5000, 0), (5100, 0)], [(0, 1), (2, 3)])
    graph, access, secs = _setup(net, at(0, 0))
    poly = isochrone_polygon(net, graph, secs, limit_seconds=600, buffer_m=50, access=access, leg_speed_kmh=4.5)
    assert not poly.intersects(shapely.LineString([at(5000, 0), at(5100, 0)]))


def test_square_isochrone_reaches_exactly_the_expected_points() -> None:
    net = square_network()
    graph, access, secs = _setup(net, at(300, 400))
    limit = 350 / SPEED_MS  # 350 m of walking
    poly = isochrone_polygon(net, graph, secs, limit_seconds=limit, buffer_m=1, access=access, method="vector",
                             simplify_m=0, leg_speed_kmh=4.5)
    # On B-C (x=300) the reachable part runs 350 m down from C to y=50, not to B.
    assert poly.contains(at(300, 60)) and not poly.contains(at(300, 40))
    # On C-D (300 m) the whole edge is reached; on D-A, 50 m below D.
    assert poly.contains(at(0, 355)) and not poly.contains(at(0, 340))


def test_vectorised_substring_matches_shapely() -> None:
    rng = np.random.default_rng(1)
    lines = np.array([shapely.LineString(rng.random((k, 2)) * 100) for k in rng.integers(2, 9, 300)])
    s = rng.random(300) * 0.5
    t = s + rng.random(300) * 0.5
    got = line_substrings(lines, s, t)
    for g, line, a, b in zip(got, lines, s, t):
        ref = substring(line, a, b, normalized=True)
        assert shapely.hausdorff_distance(g, ref) < 1e-9


@pytest.mark.parametrize("limit_m", [400, 900, 2000])
def test_raster_and_vector_methods_agree_on_a_real_network(helsinki_pbf, limit_m) -> None:
    from lifecircle.layers.osm import read_osm

    ext = read_osm(helsinki_pbf, progress=False)
    net = network_from_extract(ext)
    graph, access, secs = _setup(net, net.nodes.geometry.iloc[len(net.nodes) // 2])
    kw = dict(limit_seconds=limit_m / SPEED_MS, buffer_m=50, access=access, leg_speed_kmh=4.5)
    exact = isochrone_polygon(net, graph, secs, method="vector", **kw)
    fast = isochrone_polygon(net, graph, secs, **kw)
    assert fast.symmetric_difference(exact).area < 0.03 * exact.area
    # Each outline lies within one and a half 5 m pixels of the other (holes narrower than
    # that may close).
    assert exact.difference(fast.buffer(7.5)).area < 1.0  # m², pixel-corner specks at most
    assert fast.difference(exact.buffer(7.5)).area < 1.0


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(2, 5),
    factors=st.lists(st.floats(1.0, 2.5), min_size=40, max_size=40),
    source=st.integers(0, 24),
    limit_m=st.floats(50, 800),
)
def test_isochrone_holds_every_reached_node_and_no_unreached_one(n, factors, source, limit_m) -> None:
    from tests.synthetic import grid_network

    net = grid_network(n, 100.0, np.array(factors[: 2 * n * (n - 1)]))
    graph, access, secs = _setup(net, net.nodes.geometry.iloc[source % (n * n)])
    limit = limit_m / SPEED_MS
    poly = isochrone_polygon(net, graph, secs, limit_seconds=limit, buffer_m=5, access=access, method="vector",
                             simplify_m=0, leg_speed_kmh=4.5)
    nodes = net.nodes.geometry.to_numpy()
    reached = secs <= limit
    assert shapely.contains_xy(poly.buffer(1e-6), shapely.get_x(nodes[reached]), shapely.get_y(nodes[reached])).all()
    # On a straight lattice (no kinked edge passing near other nodes) a node more than the
    # buffer beyond the limit is outside.
    net = grid_network(n, 100.0)
    graph, access, secs = _setup(net, net.nodes.geometry.iloc[source % (n * n)])
    poly = isochrone_polygon(net, graph, secs, limit_seconds=limit, buffer_m=5, access=access, method="vector",
                             simplify_m=0, leg_speed_kmh=4.5)
    nodes = net.nodes.geometry.to_numpy()
    far = secs > limit + 10 / SPEED_MS
    assert not shapely.contains_xy(poly, shapely.get_x(nodes[far]), shapely.get_y(nodes[far])).any()


# ------------------------------------------------- raster steps: same numbers, fewer objects

@settings(max_examples=40, deadline=None)
@given(cells=st.lists(st.booleans(), min_size=64, max_size=64))
def test_traced_polygons_equal_shapes(cells):
    """Traced outlines become the very polygons ``shape()`` builds one by one (rings, holes, order)."""
    import rasterio.features
    from affine import Affine
    from shapely.geometry import shape

    from lifecircle.spatial.isochrones import _polygons_of

    mask = np.asarray(cells, dtype=bool).reshape(8, 8)
    traced = [g for g, _ in rasterio.features.shapes(mask.astype("uint8"), mask=mask,
                                                       transform=Affine(2.5, 0, 100, 0, -2.5, 300), connectivity=4)]
    expected = np.array([shape(g) for g in traced], dtype=object)
    got = _polygons_of([g["coordinates"] for g in traced])
    assert shapely.to_wkb(got).tolist() == shapely.to_wkb(expected).tolist()


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(st.lists(st.tuples(st.floats(0, 50), st.floats(0, 50)), min_size=2, max_size=6),
                      min_size=1, max_size=30))
def test_line_batches_burn_the_same_pixels(lines):
    """Lines handed to the rasteriser as listed coordinates burn the pixels their shapely form burns."""
    import rasterio.features
    from affine import Affine

    from lifecircle.spatial import isochrones

    geoms = np.array([shapely.LineString(line) for line in lines], dtype=object)
    kwargs = {"out_shape": (25, 25), "transform": Affine(2.0, 0, 0, 0, -2.0, 50), "all_touched": True, "dtype": "uint8"}
    parts = shapely.get_parts(geoms)
    plain = rasterio.features.rasterize([(shapely.multilinestrings(parts), 1)], **kwargs)
    listed = rasterio.features.rasterize([(g, 1) for g in isochrones._line_batches(geoms)], **kwargs)
    np.testing.assert_array_equal(listed, plain)
