"""Levels of a mountain city: tunnels, viaducts and lifts on hand-built networks.

Coordinates are metres from ``tests.synthetic.ORIGIN``; edge lengths are written next to
each network so every expectation can be checked by hand.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle.layers.profiles import get_profile
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.levels import long_edges, network_level_counts, suspect_connectivity
from lifecircle.spatial.network import (
    ELEVATED,
    GROUND,
    UNDERGROUND,
    add_lift_links,
    edge_level,
    is_lift_link,
)
from lifecircle.spatial.terrain import (
    LIFT_SPEED_MS,
    LIFT_WAIT_S,
    STOREY_HEIGHT_M,
    terrain_costs,
)
from lifecircle.spatial.travel import (
    facilities_off_ground,
    facility_access_points,
    locate_on_network,
    nearest_facility,
    reverse_graph,
    snap_columns,
)
from tests.synthetic import CRS, at, network_from_lines


def _pts(*xy: tuple[float, float]) -> gpd.GeoSeries:
    return gpd.GeoSeries([at(x, y) for x, y in xy], crs=CRS)


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(*at(x0, y0).coords[0], *at(x1, y1).coords[0])


def street_and_tunnel():
    """Edges (row: way, what, length):

    0: way 1, street y=0 x=0..400 (400 m)
    1: way 2, road tunnel (layer -2) y=50 x=0..400 (400 m)
    2: way 3, viaduct (bridge, layer 1) y=150 x=600..1000 (400 m)
    3: way 4, the street continued under the viaduct, y=0 x=400..1000 (600 m)
    4: way 5, the tunnel's ramp up to the street, x=400 y=50..0 (50 m)
    5: way 6, the viaduct's ramp down to the street, x=1000 y=150..0 (150 m)
    """
    return network_from_lines(
        [(0, 0), (400, 0), (0, 50), (400, 50), (600, 150), (1000, 150), (1000, 0)],
        [(0, 1), (2, 3), (4, 5), (1, 6), (3, 1), (5, 6)],
        tags=[{"highway": "residential"},
              {"highway": "secondary", "tunnel": "yes", "layer": "-2"},
              {"highway": "secondary", "bridge": "viaduct", "layer": "1"},
              {"highway": "residential"}, {"highway": "residential"}, {"highway": "residential"}],
    )


def test_edge_level_classes() -> None:
    net = network_from_lines(
        [(0, 0), (10, 0)] * 1 + [(0, 10), (10, 10)] * 1,
        [(0, 1), (2, 3), (0, 1), (2, 3), (0, 1), (2, 3), (0, 1), (2, 3)],
        tags=[{"tunnel": "building_passage"}, {"covered": "yes"}, {"layer": "-1"}, {"indoor": "yes"},
              {"bridge": "yes"}, {"layer": "2"}, {"tunnel": "no", "bridge": "no", "layer": "0"},
              {"location": "underground"}],
    )
    assert edge_level(net.edges).tolist() == [UNDERGROUND] * 4 + [ELEVATED] * 2 + [GROUND, UNDERGROUND]


def test_a_cell_next_to_a_tunnel_joins_the_street_not_the_tunnel() -> None:
    net = street_and_tunnel()
    # 5 m from the tunnel, 45 m from the street.
    where = locate_on_network(_pts((200, 45)), net, max_distance_m=150)
    assert where.edge.tolist() == [0]
    assert where.distance_m[0] == pytest.approx(45.0)
    assert where.level.tolist() == ["ground"]
    cols = snap_columns(where, net)
    assert cols["snap_way"].tolist() == [1]
    # Level-blind joining (the old rule) took the tunnel.
    assert locate_on_network(_pts((200, 45)), net, max_distance_m=150, respect_levels=False).edge.tolist() == [1]


def test_a_point_only_a_tunnel_reaches_is_not_joined() -> None:
    net = street_and_tunnel()
    # Point at (200, 120): 70 m from the tunnel, 120 m from the street, far from the rest.
    where = locate_on_network(_pts((200, 120)), net, max_distance_m=100)
    assert where.edge.tolist() == [-1]
    assert where.level.tolist() == [""]


def test_viaduct_only_as_a_counted_fallback() -> None:
    net = street_and_tunnel()
    # 10 m beside the viaduct deck, 160 m from the street: with 150 m reach only the viaduct.
    fallback = locate_on_network(_pts((800, 160)), net, max_distance_m=150)
    assert fallback.edge.tolist() == [2]
    assert fallback.level.tolist() == ["bridge_fallback"]
    # 10 m from the viaduct but 140 m from the street: the street wins within reach.
    ground = locate_on_network(_pts((800, 140)), net, max_distance_m=150)
    assert ground.edge.tolist() == [3]
    assert ground.level.tolist() == ["ground"]


def test_a_tunnel_under_a_polygon_is_not_its_entrance() -> None:
    net = street_and_tunnel()
    # A hospital over the tunnel: x 150..250, y 40..140; the street runs 40 m south of it.
    hospital = gpd.GeoDataFrame({"name": ["hospital"]}, geometry=[_box(150, 40, 250, 140)], crs=CRS)
    access = facility_access_points(hospital, net, max_distance_m=150)
    assert set(access["edge"]) == {0}
    assert access["leg_m"].tolist() == pytest.approx([40.0])
    assert access["level"].tolist() == ["ground"]
    # The old rule entered it from the tunnel, at no leg.
    old = facility_access_points(hospital, net, max_distance_m=150, respect_levels=False)
    assert 1 in set(old["edge"])


def test_a_polygon_is_entered_from_every_ground_way_within_the_entry_distance() -> None:
    # Street 1 at y=0 and street 2 at y=130, a campus between them (y 10..120): 10 m from each.
    net = network_from_lines([(0, 0), (400, 0), (0, 130), (400, 130)], [(0, 1), (2, 3), (0, 2)])
    campus = gpd.GeoDataFrame({"name": ["campus"]}, geometry=[_box(100, 10, 300, 120)], crs=CRS)
    access = facility_access_points(campus, net, max_distance_m=150)
    assert sorted(set(access["edge"])) == [0, 1]
    assert access["leg_m"].tolist() == pytest.approx([10.0, 10.0])
    # A street 25 m away (beyond the 20 m entry distance) is not an entrance when another is nearer.
    far = gpd.GeoDataFrame({"name": ["campus"]}, geometry=[_box(100, 10, 300, 105)], crs=CRS)
    assert set(facility_access_points(far, net, max_distance_m=150)["edge"]) == {0}


def test_mapped_entrances_come_first() -> None:
    net = network_from_lines([(0, 0), (400, 0), (0, 130), (400, 130)], [(0, 1), (2, 3), (0, 2)])
    campus = gpd.GeoDataFrame({"name": ["campus"]}, geometry=[_box(100, 10, 300, 120)], crs=CRS)
    # One gate on the north side, at (200, 120); an emergency exit on the south side is ignored.
    entrances = gpd.GeoDataFrame({"tags": [{"entrance": "main"}, {"entrance": "emergency"}]},
                                 geometry=[at(200, 120), at(200, 10)], crs=CRS)
    access = facility_access_points(campus, net, max_distance_m=150, entrances=entrances)
    assert access["edge"].tolist() == [1]
    assert access["fraction"].tolist() == pytest.approx([0.5])
    assert access["leg_m"].tolist() == pytest.approx([10.0])


def test_facilities_reachable_only_through_a_tunnel_or_from_a_bridge_are_listed() -> None:
    net = street_and_tunnel()
    facilities = gpd.GeoDataFrame(
        {"name": ["over the tunnel", "under the viaduct", "on the street"]},
        geometry=[at(200, 120), at(800, 160), at(200, 5)], crs=CRS)
    access = facility_access_points(facilities, net, max_distance_m=100)
    assert sorted(set(access["facility"])) == [1, 2]
    off = facilities_off_ground(facilities, net, access, max_distance_m=100)
    assert off[["facility", "reason"]].values.tolist() == [[0, "tunnel only"], [1, "bridge only"]]


def two_level_lift():
    """Lower path (way 1, level 0): node 1 (0,0) to the lift node 2 (100,0), 100 m; upper path
    (way 2, level 3): lift node 2 to node 3 (200,0), 100 m. The lift is OSM node 2."""
    net = network_from_lines([(0, 0), (100, 0), (200, 0)], [(0, 1), (1, 2)],
                             tags=[{"level": "0"}, {"level": "3"}])
    lifts = gpd.GeoDataFrame({"osm_id": [2], "tags": [{"highway": "elevator", "wheelchair": "yes"}]},
                             geometry=[at(100, 0)], crs=CRS)
    return net, lifts


def _seconds_between(network, costs, a: int, b: int) -> float:
    """Seconds from node a to a facility standing on node b."""
    graph = reverse_graph(network, costs)
    target = gpd.GeoDataFrame({"name": ["b"]}, geometry=[network.nodes.geometry.iloc[b]], crs=CRS)
    access = facility_access_points(target, network, max_distance_m=1)
    secs, _ = nearest_facility(graph, access, n_facilities=1, leg_speed_kmh=4.5)
    return float(secs[a])


def test_a_lift_node_between_two_levels_becomes_a_timed_ride() -> None:
    net, lifts = two_level_lift()
    linked = add_lift_links(net, lifts)
    links = is_lift_link(linked.edges)
    assert links.sum() == 2  # level 0 -> hub, level 3 -> hub
    assert linked.n_nodes == 3 - 1 + 1 + 2  # lift node replaced by a hub and two levels
    assert (linked.nodes["component"] == 0).all()
    low = int(np.flatnonzero(linked.nodes["osm_id"].to_numpy() == 1)[0])
    high = int(np.flatnonzero(linked.nodes["osm_id"].to_numpy() == 3)[0])
    walk = 200 / get_profile("wheelchair").flat_speed_ms
    ride = LIFT_WAIT_S + 3 * STOREY_HEIGHT_M / LIFT_SPEED_MS
    costs, report = terrain_costs(linked, profile=get_profile("wheelchair"))
    assert report["lifts"] == 1 and report["lift_links"] == 2
    assert _seconds_between(linked, costs, low, high) == pytest.approx(walk + ride)
    assert _seconds_between(linked, costs, high, low) == pytest.approx(walk + ride)
    # Without the links the lift was walked through for free.
    plain, _ = terrain_costs(net, profile=get_profile("wheelchair"))
    assert _seconds_between(net, plain, 0, 2) == pytest.approx(walk)
    # A profile that cannot use lifts cannot get up.
    no_lift = dataclasses.replace(get_profile("adult"), can_use_elevators=False)
    blocked, _ = terrain_costs(linked, profile=no_lift)
    assert np.isinf(blocked.loc[links, "seconds_uv"]).all()
    counts = network_level_counts(linked)
    assert counts["lifts_linked"] == 1 and counts["lift_links"] == 2


def test_a_lift_joins_a_street_passing_next_to_it() -> None:
    # Footway (way 1) from (100, 60) down to the lift node at (100, 0); a street (way 2) passes
    # 8 m below, y=-8, x=0..200 (200 m). The street is split at (100, -8) and linked.
    net = network_from_lines([(100, 60), (100, 0), (0, -8), (200, -8)], [(0, 1), (2, 3)],
                             tags=[{"highway": "footway"}, {"highway": "residential"}])
    lifts = gpd.GeoDataFrame({"osm_id": [2], "tags": [{"highway": "elevator"}]}, geometry=[at(100, 0)], crs=CRS)
    linked = add_lift_links(net, lifts)
    links = is_lift_link(linked.edges)
    assert links.sum() == 2
    street = linked.edges[linked.edges["osm_way_id"] == 2]
    assert len(street) == 2 and street["length_m"].sum() == pytest.approx(200.0)
    assert linked.nodes["component"].max() == 0  # one connected network
    # Inputs are not modified.
    assert len(net.edges) == 2 and "lift_node" not in net.edges


def test_a_lift_with_one_level_adds_nothing() -> None:
    net = network_from_lines([(0, 0), (100, 0)], [(0, 1)])
    lifts = gpd.GeoDataFrame({"osm_id": [2], "tags": [{"highway": "elevator"}]}, geometry=[at(100, 0)], crs=CRS)
    assert add_lift_links(net, lifts) is net


def test_cells_never_join_lift_links() -> None:
    net, lifts = two_level_lift()
    linked = add_lift_links(net, lifts)
    where = locate_on_network(_pts((100, 1)), linked, max_distance_m=50)
    assert not is_lift_link(linked.edges)[where.edge].any()
    flat = flat_costs(linked, speed_kmh=4.5)
    assert np.isfinite(flat["seconds_uv"]).all()


def test_a_cell_facing_a_facility_across_a_gap_is_suspect() -> None:
    # Two streets, y=0 and y=200, x=0..1200, joined only at x=1200 (200 m): a clinic at
    # (0, 200). From (0, 10) the walk is 10 + 1200 + 200 + 1200 = 2610 m for 190 m straight.
    net = network_from_lines([(0, 0), (1200, 0), (0, 200), (1200, 200)], [(0, 1), (2, 3), (1, 3)])
    clinic = gpd.GeoDataFrame({"name": ["clinic"], "category": ["clinic"]}, geometry=[at(0, 200)], crs=CRS)
    access = {"clinic": facility_access_points(clinic, net, max_distance_m=150)}
    centres = _pts((0, 10), (600, 150), (1150, 100))
    where = locate_on_network(centres, net, max_distance_m=150)
    flags = suspect_connectivity(net, clinic, access, centres, where, categories=["clinic"])
    # (600, 150): 50 + 600 = 650 m for 618 m straight; (1150, 100): 50 + 200 + 1150 = 1400 m
    # for 1154 m straight: neither is suspect.
    assert flags.tolist() == ["clinic", "", ""]
    assert [e["length_m"] for e in long_edges(net)] == [1200.0, 1200.0]


@settings(max_examples=40, deadline=None)
@given(levels=st.lists(st.sampled_from([{}, {"tunnel": "yes"}, {"bridge": "yes", "layer": "1"}, {"covered": "yes"}]),
                       min_size=12, max_size=12),
       xy=st.lists(st.tuples(st.floats(-50, 350), st.floats(-50, 350)), min_size=1, max_size=20))
def test_points_never_join_underground_and_bridges_only_as_fallback(levels, xy) -> None:
    # A 3 x 3 lattice, 150 m spacing (12 edges), each edge a random level.
    nodes = [(j * 150.0, i * 150.0) for i in range(3) for j in range(3)]
    edges = [(k, k + 1) for k in range(9) if k % 3 != 2] + [(k, k + 3) for k in range(6)]
    net = network_from_lines(nodes, edges, tags=[{"highway": "residential", **t} for t in levels])
    lv = edge_level(net.edges)
    where = locate_on_network(_pts(*xy), net, max_distance_m=60)
    joined = where.edge[where.matched]
    assert not (lv[joined] == UNDERGROUND).any()
    fallback = where.level[where.matched] == "bridge_fallback"
    assert (lv[joined][fallback] == ELEVATED).all() and (lv[joined][~fallback] == GROUND).all()
    # A fallback point has no ground edge within reach.
    ground = net.edges.geometry.to_numpy()[lv == GROUND]
    for p in np.asarray(_pts(*xy).to_numpy())[where.matched][fallback]:
        assert not len(ground) or shapely.distance(ground, p).min() > 60


_TAG_VALUES = st.sampled_from([None, "", "yes", "Yes", "no", "NO", "0", "false", "1", "-1", " -2 ", "1;0", "-1;0",
                               "x", "building_passage", "underground", "Indoor", "viaduct", "nan"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_TAG_VALUES, _TAG_VALUES, _TAG_VALUES, _TAG_VALUES), min_size=1, max_size=40))
def test_tag_tests_worked_out_per_distinct_value_match_edge_by_edge(rows: list[tuple]) -> None:
    import pandas as pd

    from lifecircle.spatial import network as net

    edges = pd.DataFrame(rows, columns=["layer", "tunnel", "covered", "location"]).astype("str")
    edges = edges.where(pd.DataFrame(rows, columns=edges.columns).notna(), None)
    tests = {"layer": lambda tag: pd.to_numeric(tag.astype(str).str.split(";").str[0].str.strip(),
                                                errors="coerce").fillna(0.0),
             "tunnel": lambda tag: (tag.str.lower() != "") & ~tag.str.lower().isin(["no", "false", "0"]),
             "covered": lambda tag: tag.astype(str).str.lower().isin(["yes"]),
             "location": lambda tag: tag.astype(str).str.lower().isin(["underground", "indoor"]),
             "bridge": lambda tag: tag.str.lower() != ""}  # a tag absent from the edges
    for name, func in tests.items():
        fast = net._per_tag_value(edges, name, func)
        slow = func(net._tag(edges, name)).to_numpy()
        assert np.array_equal(fast, slow), name
