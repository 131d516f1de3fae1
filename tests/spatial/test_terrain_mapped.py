"""Mapped heights (``ele``) before the DEM, the DEM's vertical error as an option, and lifts
timed alike on the flat and on the terrain.

Hand-checkable networks from :mod:`tests.synthetic` (lengths in the docstrings of each test).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle._errors import OptionError
from lifecircle.layers.elevation import read_dem
from lifecircle.layers.osm import read_osm
from lifecircle.layers.profiles import get_profile
from lifecircle.model import prepare_network
from lifecircle.options import RunOptions, validate_options
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.network import add_lift_links, is_lift_link
from lifecircle.spatial.terrain import (
    DEM_VERTICAL_ERROR_M,
    LIFT_SPEED_MS,
    LIFT_WAIT_S,
    STOREY_HEIGHT_M,
    check_vertical_error,
    edge_elevation_profile,
    flat_costs_with_lifts,
    lift_level_heights,
    lift_link_seconds,
    mapped_node_heights,
    parse_ele,
    terrain_costs,
    with_mapped_heights,
)
from lifecircle.testing import _lonlat
from tests.spatial.test_levels import two_level_lift
from tests.synthetic import CRS, ORIGIN, at, network_from_lines, write_geotiff


def test_ele_values_are_parsed_as_metres() -> None:
    raw = pd.Series(["239", "239.5", "239 m", " 12m ", "240;250", "-3", "1000 ft", "high", None, "9999"])
    expected = [239.0, 239.5, 239.0, 12.0, 240.0, -3.0, np.nan, np.nan, np.nan, np.nan]
    np.testing.assert_array_equal(parse_ele(raw), np.array(expected))


def _stairs(ele: dict[int, str]):
    """A 40 m stairway (way 1) from node 1 (0, 0) to node 2 (40, 0), heights tagged as given."""
    net = network_from_lines([(0, 0), (40, 0)], [(0, 1)], tags=[{"highway": "steps"}])
    heights = mapped_node_heights(net, pd.Series(ele, dtype=object))
    return net, heights


def test_stairs_climb_the_height_between_their_tagged_ends() -> None:
    # 200 m at the foot, 208 m at the top: 8 m / 0.15 m = 53.3 steps up walking u -> v; the
    # 0.30 m treads cover 16 m of the 40 m, the 24 m of landings are walked on the flat.
    net, heights = _stairs({1: "200", 2: "208 m"})
    elevation, report = with_mapped_heights(net, None, heights)
    assert report == {"nodes_with_ele": 2, "edges_from_tags": 1, "edges_from_dem": 0}
    assert elevation["elevation_source"].astype(str).tolist() == ["tags"]
    assert elevation[["rise_m", "fall_m", "up_length_m"]].iloc[0].tolist() == pytest.approx([8.0, 0.0, 40.0])
    adult = get_profile("adult")
    costs, cost_report = terrain_costs(net, profile=adult, elevation=elevation)
    n = 8.0 / adult.step_riser_m
    landing = (40.0 - n * adult.step_tread_m) / adult.flat_speed_ms
    assert costs.loc[0, "seconds_uv"] == pytest.approx(n * adult.stairs_seconds_per_step_up + landing)
    assert costs.loc[0, "seconds_vu"] == pytest.approx(n * adult.stairs_seconds_per_step_down + landing)
    assert cost_report["stairs_height_source"] == {"step_count": 0, "dem_or_incline": 0, "tags": 1, "default": 0}
    assert cost_report["elevation"]["tags"] == 1


def test_one_tagged_end_is_not_enough_and_nothing_mapped_means_no_table() -> None:
    net, heights = _stairs({1: "200"})
    elevation, report = with_mapped_heights(net, None, heights)
    assert report["edges_from_tags"] == 0
    assert elevation["elevation_source"].astype(str).tolist() == ["flat"]  # the stairs default applies
    _, cost_report = terrain_costs(net, profile=get_profile("adult"), elevation=elevation)
    assert cost_report["stairs_height_source"]["default"] == 1
    net, heights = _stairs({})
    assert with_mapped_heights(net, None, heights)[0] is None


def test_mapped_heights_win_over_the_dem(tmp_path) -> None:
    # A DEM climbing 1 m per 10 m eastwards says the stairs rise 4 m; the tags say they fall 5 m.
    # 10 m cells, 1 m per cell eastwards: 95 m at the centre of the first (x = -45 m), so
    # 99.5 m at the stairs' foot (x = 0) and 103.5 m at their top (x = 40).
    z = np.tile(100.0 + np.arange(-5, 10, dtype=np.float32), (6, 1)).astype(np.float32)
    path = write_geotiff(tmp_path / "dem.tif", z, x0=ORIGIN[0] - 50, y0=ORIGIN[1] + 30, cell=10.0)
    net, heights = _stairs({1: "105", 2: "100"})
    dem_table = edge_elevation_profile(net, read_dem(path), vertical_error_m=0.0, grade_window_m=10.0,
                                       cap_road_grades=False)
    assert dem_table["rise_m"].iloc[0] == pytest.approx(4.0)
    elevation, report = with_mapped_heights(net, dem_table, heights)
    assert report["edges_from_tags"] == 1 and report["edges_from_dem"] == 0
    assert elevation[["rise_m", "fall_m", "down_length_m", "ele_u", "ele_v"]].iloc[0].tolist() == pytest.approx(
        [0.0, 5.0, 40.0, 105.0, 100.0])
    assert elevation[["z_u", "z_v"]].iloc[0].tolist() == pytest.approx([99.5, 103.5])  # the DEM's, kept
    assert not dem_table.equals(elevation)  # the DEM's table is not modified
    assert dem_table["elevation_source"].astype(str).tolist() == ["dem"]


def test_a_tagged_vertex_inside_a_way_splits_it(tmp_path) -> None:
    # Stairway way 200 over nodes 1 (0,0) ele 200, 2 (30,0) ele 206, 3 (60,0) ele 206: two edges,
    # the first climbing 6 m over 30 m, the second level.
    nodes = [(1, 0.0, "200"), (2, 30.0, "206"), (3, 60.0, "206")]
    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for node_id, x, ele in nodes:
        lon, lat = _lonlat(x, 0.0)
        xml.append(f'<node id="{node_id}" version="1" lat="{lat}" lon="{lon}"><tag k="ele" v="{ele}"/></node>')
    xml.append('<way id="200" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
               '<tag k="highway" v="steps"/></way></osm>')
    path = tmp_path / "stairs.osm"
    path.write_text("\n".join(xml), encoding="utf-8")
    extract = read_osm(path, progress=False)
    assert extract.node_ele is not None and extract.node_ele.to_dict() == {1: "200", 2: "206", 3: "206"}
    net = prepare_network(extract, crs=CRS)
    assert net.n_edges == 2
    elevation, report = with_mapped_heights(net, None, mapped_node_heights(net, extract.node_ele))
    assert report["edges_from_tags"] == 2
    by_start = elevation.assign(start=net.nodes["osm_id"].to_numpy()[net.edges["u"]]).set_index("start")
    assert by_start.loc[1, "rise_m"] + by_start.loc[1, "fall_m"] == pytest.approx(6.0)
    assert by_start.loc[2, ["rise_m", "fall_m"]].tolist() == pytest.approx([0.0, 0.0])


def _lift_with_ele(ele: dict[int, str]):
    """:func:`tests.spatial.test_levels.two_level_lift` (levels 0 and 3, lift node 2) with heights."""
    net, lifts = two_level_lift()
    linked = add_lift_links(net, lifts)
    elevation, _ = with_mapped_heights(linked, None, mapped_node_heights(linked, pd.Series(ele, dtype=object)))
    return linked, elevation


def test_a_lift_rides_the_height_between_its_mapped_levels() -> None:
    # Paths lead from the lift to node 1 at 250 m and node 3 at 280 m: a 30 m ride, 30 s at
    # 1 m/s plus the 30 s wait, not the 3 storeys x 3.5 m of the level tags.
    linked, elevation = _lift_with_ele({1: "250", 3: "280"})
    rise, source = lift_level_heights(linked, elevation)
    assert sorted(rise.tolist()) == pytest.approx([0.0, 30.0]) and set(source) == {"tags"}
    links = is_lift_link(linked.edges)
    assert lift_link_seconds(linked, elevation)[links].sum() == pytest.approx(LIFT_WAIT_S + 30.0 / LIFT_SPEED_MS)
    _, report = terrain_costs(linked, profile=get_profile("adult"), elevation=elevation)
    assert report["lift_height_source"] == {"tags": 1, "dem": 0, "level": 0, "layer": 0, "default": 0}


def test_the_lift_nodes_own_ele_fills_one_level() -> None:
    # Only the upper path's end (280 m) is tagged; the lift node stands at 250 m.
    linked, elevation = _lift_with_ele({2: "250", 3: "280"})
    rise, source = lift_level_heights(linked, elevation)
    assert sorted(rise.tolist()) == pytest.approx([0.0, 30.0]) and set(source) == {"tags"}
    # Without the lift's own height one level is unknown: the level tags decide (3 x 3.5 m).
    linked, elevation = _lift_with_ele({3: "280"})
    rise, source = lift_level_heights(linked, elevation)
    assert sorted(rise.tolist()) == pytest.approx([0.0, 3 * STOREY_HEIGHT_M]) and set(source) == {"level"}


def test_the_flat_walk_times_lifts_as_the_terrain_walk_does() -> None:
    net, lifts = two_level_lift()
    linked = add_lift_links(net, lifts)
    adult = get_profile("adult")
    flat = flat_costs_with_lifts(linked, profile=adult)
    terrain, _ = terrain_costs(linked, profile=adult)
    links = is_lift_link(linked.edges)
    np.testing.assert_allclose(flat.loc[links].to_numpy(), terrain.loc[links].to_numpy())
    # Level 3 is 10.5 m above level 0: the two links make a 30 s wait and 10.5 s of travel.
    assert flat.loc[links, "seconds_uv"].sum() == pytest.approx(LIFT_WAIT_S + 3 * STOREY_HEIGHT_M / LIFT_SPEED_MS)
    plain = flat_costs(linked, speed_kmh=adult.flat_speed_kmh)
    np.testing.assert_allclose(flat.loc[~links].to_numpy(), plain.loc[~links].to_numpy())


@settings(max_examples=30, deadline=None)
@given(heights=st.lists(st.one_of(st.none(), st.floats(-400, 8000)), min_size=4, max_size=4),
       steps=st.lists(st.booleans(), min_size=3, max_size=3))
def test_mapped_edges_climb_exactly_the_difference_of_their_ends(heights, steps) -> None:
    """Invariant: an edge with two mapped ends rises minus falls exactly ele_v - ele_u over its
    whole length, one way only; the others keep no height without a DEM."""
    net = network_from_lines([(0, 0), (50, 0), (50, 70), (0, 70)], [(0, 1), (1, 2), (2, 3)],
                             tags=[{"highway": "steps" if s else "footway"} for s in steps])
    ele = {i + 1: f"{h:.2f}" for i, h in enumerate(heights) if h is not None}
    node_h = mapped_node_heights(net, pd.Series(ele, dtype=object))
    elevation, report = with_mapped_heights(net, None, node_h)
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    both = np.isfinite(node_h[u]) & np.isfinite(node_h[v])
    assert report["edges_from_tags"] == int(both.sum())
    if elevation is None:
        assert not np.isfinite(node_h).any()
        return
    net_change = (elevation["rise_m"] - elevation["fall_m"]).to_numpy()
    np.testing.assert_allclose(net_change[both], (node_h[v] - node_h[u])[both], atol=1e-9)
    assert ((elevation["rise_m"] == 0) | (elevation["fall_m"] == 0)).all()
    assert (elevation["rise_m"].to_numpy()[~both] == 0).all() and (elevation["fall_m"].to_numpy()[~both] == 0).all()
    costs, _ = terrain_costs(net, profile=get_profile("adult"), elevation=elevation)
    assert np.isfinite(costs.to_numpy()).all()


def test_the_vertical_error_is_an_option_checked_by_name() -> None:
    assert RunOptions().dem_vertical_error_m == DEM_VERTICAL_ERROR_M == 6.0
    assert check_vertical_error(0) == 0.0 and check_vertical_error("0.5") == 0.5
    for bad in (-1, 51, float("nan"), "six", True):
        with pytest.raises(OptionError, match=r"--dem-vertical-error must be .* from 0 to 50 .*; found"):
            check_vertical_error(bad)
    with pytest.raises(OptionError, match="--dem-vertical-error"):
        validate_options(RunOptions(dem_vertical_error_m=-2.0))


def test_the_cli_passes_the_vertical_error(tmp_path) -> None:
    from lifecircle.scripts.arguments import options_from_args
    from lifecircle.scripts.cli import build_parser

    args = build_parser().parse_args(["run", "--dem-vertical-error", "0.5", "--out", str(tmp_path / "o")])
    assert options_from_args(args).dem_vertical_error_m == 0.5
    args = build_parser().parse_args(["run", "--out", str(tmp_path / "o")])
    assert options_from_args(args).dem_vertical_error_m == DEM_VERTICAL_ERROR_M


@settings(max_examples=25, deadline=None)
@given(levels=st.tuples(st.integers(-3, 8), st.integers(-3, 8)), lift_ele=st.one_of(st.none(), st.floats(0, 500)),
       end_ele=st.one_of(st.none(), st.floats(0, 500)))
def test_on_level_ground_terrain_and_flat_differ_by_nothing(levels, lift_ele, end_ele) -> None:
    """Invariant: without slopes or stairs the adult's terrain walk equals the flat walk edge for
    edge, lifts included, so the flat/terrain comparison measures slopes and stairs only."""
    net = network_from_lines([(0, 0), (100, 0), (200, 0)], [(0, 1), (1, 2)],
                             tags=[{"level": str(levels[0])}, {"level": str(levels[1])}])
    lifts = gpd.GeoDataFrame({"osm_id": [2], "tags": [{"highway": "elevator"}]}, geometry=[at(100, 0)], crs=CRS)
    linked = add_lift_links(net, lifts)
    ele = {k: f"{h:.1f}" for k, h in ((2, lift_ele), (3, end_ele)) if h is not None}
    elevation, _ = with_mapped_heights(linked, None, mapped_node_heights(linked, pd.Series(ele, dtype=object)))
    adult = get_profile("adult")
    terrain, _ = terrain_costs(linked, profile=adult, elevation=elevation)
    flat = flat_costs_with_lifts(linked, profile=adult, elevation=elevation)
    np.testing.assert_allclose(terrain.to_numpy(), flat.to_numpy(), rtol=1e-12)
