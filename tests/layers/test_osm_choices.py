"""Contested ways and level features read from a small hand-written OSM file.

The file (all at latitude 29.56, one node every 0.001 degrees of longitude, about 97 m)::

    1 --- 2(gate) --- 3 ==tunnel== 4 --foot=no-- 5 --- 6(lift) --- 7
      way 100 residential   way 101      way 102      103 footway  104 footway level=1

Way 101 is a secondary road in a tunnel (layer -1) without foot or sidewalk tags; way 102 a
primary street tagged foot=no; node 2 a gate on way 100; node 6 a lift between ways 103/104.
A second road tunnel, way 105 (nodes 8-9), has a sidewalk and stays walkable.
"""

from __future__ import annotations

import numpy as np
import pytest

from lifecircle._errors import OptionError
from lifecircle.layers.osm import choose_ways, gate_nodes, lift_nodes, read_osm, road_tunnel_mask
from lifecircle.model import prepare_network
from lifecircle.spatial.network import is_lift_link

LAT = 29.56


def _node(i: int, tags: dict[str, str] | None = None, lat: float = LAT) -> str:
    body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
    return f'<node id="{i}" version="1" lat="{lat}" lon="{106.55 + 0.001 * i:.4f}">{body}</node>'


def _way(i: int, nodes: list[int], tags: dict[str, str]) -> str:
    refs = "".join(f'<nd ref="{n}"/>' for n in nodes)
    body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{i}" version="1">{refs}{body}</way>'


@pytest.fixture
def osm_file(tmp_path):
    nodes = [_node(1), _node(2, {"barrier": "gate"}), _node(3), _node(4), _node(5),
             _node(6, {"highway": "elevator", "wheelchair": "yes"}), _node(7),
             _node(8, lat=LAT + 0.001), _node(9, lat=LAT + 0.001)]
    ways = [
        _way(100, [1, 2, 3], {"highway": "residential"}),
        _way(101, [3, 4], {"highway": "secondary", "tunnel": "yes", "layer": "-1"}),
        _way(102, [4, 5], {"highway": "primary", "foot": "no", "name": "长江二路"}),
        _way(103, [5, 6], {"highway": "footway"}),
        _way(104, [6, 7], {"highway": "footway", "level": "1"}),
        _way(105, [8, 9], {"highway": "secondary", "tunnel": "yes", "sidewalk": "both"}),
        _way(106, [1, 8], {"highway": "residential"}),
    ]
    path = tmp_path / "choices.osm"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">'
                    + "".join(nodes) + "".join(ways) + "</osm>", encoding="utf-8")
    return path


def test_lifts_gates_and_refused_ways_are_read(osm_file) -> None:
    ex = read_osm(osm_file, progress=False)
    assert lift_nodes(ex)["osm_id"].tolist() == [6]
    assert gate_nodes(ex)["osm_id"].tolist() == [2]
    assert ex.refused is not None
    assert ex.refused.way_ids.tolist() == [102]
    assert ex.refused.way_tags["reason"].tolist() == ["foot=no"]
    assert 102 not in ex.way_ids


def test_road_tunnels_are_closed_by_default_and_open_on_request(osm_file) -> None:
    ex = read_osm(osm_file, progress=False)
    assert ex.way_ids[road_tunnel_mask(ex.way_tags)].tolist() == [101]  # 105 has a sidewalk
    closed, report = choose_ways(ex)
    assert 101 not in closed.way_ids and 105 in closed.way_ids
    tunnels = report["road_tunnels_without_foot_or_sidewalk"]
    assert tunnels["ways"] == 1 and tunnels["walkable"] is False
    assert tunnels["km"] == pytest.approx(0.097, abs=0.002)  # 0.001 degrees of longitude at 29.56 N
    assert report["excluded_by_reason"]["road tunnel without foot or sidewalk tag"]["ways"] == 1
    walked, report = choose_ways(ex, road_tunnels="walk")
    assert 101 in walked.way_ids
    assert "road tunnel without foot or sidewalk tag" not in report["excluded_by_reason"]
    # The input extract is not modified.
    assert 101 in ex.way_ids


def test_foot_no_is_honoured_listed_and_can_be_ignored(osm_file) -> None:
    ex = read_osm(osm_file, progress=False)
    honoured, report = choose_ways(ex)
    listed = report["foot_no_surface_streets"]["list"]
    assert [w["osm_id"] for w in listed] == [102] and listed[0]["name"] == "长江二路"
    assert 102 not in honoured.way_ids
    ignored, report = choose_ways(ex, foot_no="ignore")
    assert 102 in ignored.way_ids
    assert report["foot_no_surface_streets"]["walkable"] is True
    assert "foot=no" not in report["excluded_by_reason"]
    with pytest.raises(OptionError, match="--foot-no"):
        choose_ways(ex, foot_no="maybe")


def test_a_closed_gate_stops_through_walkers(osm_file) -> None:
    ex, _ = choose_ways(read_osm(osm_file, progress=False), road_tunnels="walk", foot_no="ignore")
    open_net = prepare_network(ex)
    closed_net = prepare_network(ex, gates="closed")
    # Open: one network. Closed: way 100 is cut at the gate, node 1's side (with 105, 106)
    # and node 3's side (the tunnel onwards) fall apart.
    assert open_net.nodes["component"].max() == 0
    assert closed_net.nodes["component"].max() == 1
    assert closed_net.edges["length_m"].sum() == pytest.approx(open_net.edges["length_m"].sum())
    assert closed_net.nodes["closed_gate"].dropna().unique().tolist() == [2]


def test_the_lift_node_joins_its_two_levels(osm_file) -> None:
    ex, _ = choose_ways(read_osm(osm_file, progress=False))
    net = prepare_network(ex)
    links = net.edges[is_lift_link(net.edges)]
    assert len(links) == 2
    assert set(links["lift_node"].astype(int)) == {6}
    assert set(links["wheelchair"]) == {"yes"}
    assert np.isin([103, 104], net.edges["osm_way_id"]).all()
