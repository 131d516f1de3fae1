"""Terrain-aware costs: slope model, stairs, tags, DEM sampling, travel times on hills."""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecircle._errors import DemError, OptionError, ProfileError
from lifecircle.layers.elevation import read_dem
from lifecircle.layers.profiles import get_profile
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.network import WalkNetwork, to_networkx
from lifecircle.spatial.terrain import (
    DEFAULT_INCLINE_GRADE,
    DEFAULT_STAIR_GRADE,
    edge_elevation_profile,
    parse_incline,
    sample_dem,
    slope_speed_factor,
    terrain_costs,
)
from lifecircle.spatial.travel import nearest_facility, reverse_graph
from tests.synthetic import network_from_extract, write_geotiff

CRS = pyproj.CRS.from_epsg(32648)
X0, Y0 = 600_000.0, 3_270_000.0  # a spot in UTM 48N (Chongqing's zone)
TAGS = ("highway", "incline", "step_count", "bridge", "tunnel", "layer", "conveying", "handrail",
        "wheelchair", "ramp:wheelchair")


def tobler_kmh(s: float) -> float:
    """Tobler (1993) W = 6 exp(-3.5 |S + 0.05|) km/h, written out independently of the code."""
    return 6.0 * math.exp(-3.5 * abs(s + 0.05))


def make_network(node_xy, edge_list, tags=None, lines=None) -> WalkNetwork:
    """A WalkNetwork from node offsets (metres from X0, Y0) and (u, v) pairs."""
    tags = tags or {}
    nodes = gpd.GeoDataFrame(
        {"osm_id": np.arange(len(node_xy)) + 1, "component": 0},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in node_xy], crs=CRS,
    )
    geoms = []
    for i, (a, b) in enumerate(edge_list):
        if lines and i in lines:
            geoms.append(shapely.LineString([(X0 + x, Y0 + y) for x, y in lines[i]]))
        else:
            geoms.append(shapely.LineString([(X0 + node_xy[a][0], Y0 + node_xy[a][1]),
                                             (X0 + node_xy[b][0], Y0 + node_xy[b][1])]))
    table = {
        "u": [a for a, _ in edge_list], "v": [b for _, b in edge_list],
        "osm_way_id": np.arange(len(edge_list)) + 100,
        "length_m": [g.length for g in geoms],
    }
    for col in TAGS:
        table[col] = tags.get(col, [None] * len(edge_list))
    if "highway" not in tags:
        table["highway"] = ["footway"] * len(edge_list)
    edges = gpd.GeoDataFrame(table, geometry=geoms, crs=CRS)
    return WalkNetwork(nodes=nodes, edges=edges, crs=CRS)


def write_dem(path, func, *, crs=CRS, x0=X0 - 500, y0=Y0 + 500, cell=10.0, n=100, nodata=None):
    """Write a GeoTIFF whose cell centres hold func(x_offset, y_offset) (offsets from X0, Y0)."""
    cols = np.arange(n) * cell + cell / 2 + x0 - X0
    rows = y0 - Y0 - (np.arange(n) * cell + cell / 2)
    xx, yy = np.meshgrid(cols, rows)
    z = func(xx, yy).astype(np.float32)
    return write_geotiff(path, z, x0=x0, y0=y0, cell=cell, crs=crs, nodata=nodata)


def hill_elevation(network: WalkNetwork, z_node: np.ndarray) -> pd.DataFrame:
    """An elevation table for straight edges of uniform grade between node heights."""
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    length = network.edges["length_m"].to_numpy()
    dz = z_node[v] - z_node[u]
    return pd.DataFrame({
        "rise_m": np.maximum(dz, 0), "fall_m": np.maximum(-dz, 0),
        "up_length_m": np.where(dz > 0, length, 0.0), "down_length_m": np.where(dz < 0, length, 0.0),
        "grade_max": np.abs(dz) / length, "z_u": z_node[u], "z_v": z_node[v],
        "elevation_source": pd.Categorical(["endpoints"] * len(u), categories=["dem", "partial", "endpoints", "flat"]),
    }, index=network.edges.index)


# --------------------------------------------------------------------------- slope model


def test_slope_factor_is_tobler_scaled_to_flat_speed():
    adult = get_profile("adult")
    pure = dataclasses.replace(adult, max_speed_factor=10.0)  # no cap: Tobler's curve as is
    grades = np.array([-0.3, -0.1, -0.05, 0.0, 0.05, 0.1, 0.3])
    expected = np.array([tobler_kmh(s) / tobler_kmh(0.0) for s in grades])
    np.testing.assert_allclose(slope_speed_factor(pure, grades), expected, rtol=1e-12)
    # The catalogue's adult is never faster than on the flat.
    np.testing.assert_allclose(slope_speed_factor(adult, grades), np.minimum(expected, 1.0), rtol=1e-12)
    assert slope_speed_factor(adult, np.array([0.0]))[0] == 1.0


# --------------------------------------------------------------------------- synthetic hill


@pytest.fixture
def plane_dem(tmp_path):
    """A plane rising 0.1 m per metre eastwards (10 % grade), 1 km square, 10 m cells."""
    return read_dem(write_dem(tmp_path / "plane.tif", lambda x, y: 200.0 + 0.1 * x))


def test_hill_home_at_bottom_takes_longer_to_clinic_than_back(plane_dem):
    # Home at node 0 (x=0, bottom), clinic at node 1 (x=100, top): one 100 m edge climbing 10 m.
    net = make_network([(0, 0), (100, 0)], [(0, 1)])
    elev = edge_elevation_profile(net, plane_dem, sample_spacing_m=10.0)
    assert elev.loc[0, "rise_m"] == pytest.approx(10.0, abs=1e-6)
    assert elev.loc[0, "fall_m"] == pytest.approx(0.0, abs=1e-6)
    assert elev.loc[0, "up_length_m"] == pytest.approx(100.0)
    assert elev.loc[0, "grade_max"] == pytest.approx(0.1, abs=1e-9)
    assert elev.loc[0, "elevation_source"] == "dem"

    costs, report = terrain_costs(net, profile=get_profile("adult"), elevation=elev)
    v_flat = 4.5 / 3.6
    up_expected = 100.0 / (v_flat * tobler_kmh(0.1) / tobler_kmh(0.0))  # 113.53 s
    down_expected = 100.0 / (v_flat * min(1.0, tobler_kmh(-0.1) / tobler_kmh(0.0)))  # 80 s
    assert costs.loc[0, "seconds_uv"] == pytest.approx(up_expected, rel=1e-9)
    assert costs.loc[0, "seconds_vu"] == pytest.approx(down_expected, rel=1e-9)
    assert up_expected == pytest.approx(80.0 / math.exp(-0.35))  # 113.53 s

    graph = reverse_graph(net, costs)
    clinic_on_top = pd.DataFrame({"facility": [0], "edge": [0], "fraction": [1.0], "leg_m": [0.0]})
    secs, fac = nearest_facility(graph, clinic_on_top, n_facilities=1, leg_speed_kmh=4.5)
    assert secs[0] == pytest.approx(up_expected)  # home (bottom) -> clinic (top): uphill
    assert fac[0] == 0
    clinic_at_bottom = pd.DataFrame({"facility": [0], "edge": [0], "fraction": [0.0], "leg_m": [0.0]})
    secs_back, _ = nearest_facility(graph, clinic_at_bottom, n_facilities=1, leg_speed_kmh=4.5)
    assert secs_back[1] == pytest.approx(down_expected)  # home (top) -> clinic (bottom): downhill
    assert secs[0] > secs_back[1]
    assert report["steep_edges"] == 1


def test_edge_that_climbs_and_descends_is_sampled_along_its_length(tmp_path):
    # A ridge: z rises 0.2 m/m up to x=50 then falls; the edge's two ends are at the same height.
    dem = read_dem(write_dem(tmp_path / "ridge.tif", lambda x, y: 100.0 - 0.2 * np.abs(x - 50.0)))
    net = make_network([(0, 0), (100, 0), (0, 50), (100, 50)], [(0, 1), (2, 3)],
                       tags={"bridge": [None, "yes"]})
    elev = edge_elevation_profile(net, dem, sample_spacing_m=5.0)
    # Ground edge: 10 m up then 10 m down (bilinear is exact on each linear side; the cell
    # at the ridge line blurs the peak, so allow a metre).
    assert elev.loc[0, "rise_m"] == pytest.approx(10.0, abs=1.0)
    assert elev.loc[0, "fall_m"] == pytest.approx(10.0, abs=1.0)
    assert elev.loc[0, "elevation_source"] == "dem"
    # Bridge across the same ridge: grade from its (equal) end heights only.
    assert elev.loc[1, "rise_m"] == 0.0 and elev.loc[1, "fall_m"] == 0.0
    assert elev.loc[1, "elevation_source"] == "endpoints"
    adult = get_profile("adult")
    costs, _ = terrain_costs(net, profile=adult, elevation=elev)
    assert costs.loc[1, "seconds_uv"] == pytest.approx(100.0 / adult.flat_speed_ms)
    assert costs.loc[0, "seconds_uv"] > costs.loc[1, "seconds_uv"]
    assert costs.loc[0, "seconds_uv"] == pytest.approx(costs.loc[0, "seconds_vu"], rel=0.02)


def test_viaduct_junction_height_interpolated_between_ground_ends(tmp_path):
    # Valley: ground at x=0 and x=200 is 50 m, at x=100 (under the viaduct's junction) 0 m.
    dem = read_dem(write_dem(tmp_path / "valley.tif", lambda x, y: 0.5 * np.abs(x - 100.0)))
    # 0 -(ground)- 1 -(bridge)- 2 -(bridge)- 3 -(ground)- 4 ; node 2 is mid-viaduct.
    net = make_network([(-50, 0), (0, 0), (100, 0), (200, 0), (250, 0)],
                       [(0, 1), (1, 2), (2, 3), (3, 4)], tags={"bridge": [None, "viaduct", "viaduct", None]})
    elev = edge_elevation_profile(net, dem)
    assert elev.loc[1, "z_u"] == pytest.approx(50.0, abs=0.01)
    assert elev.loc[1, "z_v"] == pytest.approx(50.0, abs=0.01)  # not the 0 m valley floor
    assert elev.loc[1, "rise_m"] == pytest.approx(0.0, abs=0.01)
    assert elev.loc[2, "fall_m"] == pytest.approx(0.0, abs=0.01)


def test_dem_in_another_crs_gives_the_same_heights(tmp_path):
    import pyproj

    # The same plane, written in EPSG:4326: a 0.0005 degree grid around the UTM spot.
    to_ll = pyproj.Transformer.from_crs(CRS, 4326, always_xy=True)
    to_utm = pyproj.Transformer.from_crs(4326, CRS, always_xy=True)
    lon0, lat0 = to_ll.transform(X0 - 400, Y0 + 400)
    cell = 0.0001
    n = 100
    lons = lon0 + (np.arange(n) + 0.5) * cell
    lats = lat0 - (np.arange(n) + 0.5) * cell
    ll, la = np.meshgrid(lons, lats)
    ux, _ = to_utm.transform(ll, la)
    z = (200.0 + 0.1 * (ux - X0)).astype(np.float32)
    path = tmp_path / "plane_ll.tif"
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(cell, 0.0, lon0, 0.0, -cell, lat0)) as dst:
        dst.write(z, 1)
    dem = read_dem(path)
    xs = np.array([X0, X0 + 50, X0 + 100])
    ys = np.array([Y0, Y0, Y0])
    np.testing.assert_allclose(sample_dem(dem, xs, ys, CRS), [200.0, 205.0, 210.0], atol=0.05)
    net = make_network([(0, 0), (100, 0)], [(0, 1)])
    elev = edge_elevation_profile(net, dem)
    assert elev.loc[0, "rise_m"] == pytest.approx(10.0, abs=0.1)


def test_edges_off_the_dem_are_flat_and_counted(tmp_path, caplog):
    dem = read_dem(write_dem(tmp_path / "small.tif", lambda x, y: 0.1 * x, x0=X0 - 50, y0=Y0 + 50, n=20, cell=10))
    # Edge 0 on the DEM (x 0..100 within -50..150), edge 1 far east of it.
    net = make_network([(0, 0), (100, 0), (1000, 0), (1100, 0)], [(0, 1), (2, 3)])
    with caplog.at_level(logging.WARNING, logger="lifecircle.spatial.terrain"):
        elev = edge_elevation_profile(net, dem)
    assert list(elev["elevation_source"]) == ["dem", "flat"]
    assert elev.loc[1, "rise_m"] == 0 and elev.loc[1, "fall_m"] == 0
    assert "1 edge(s) have no DEM height" in caplog.text
    _, report = terrain_costs(net, profile=get_profile("adult"), elevation=elev)
    assert report["elevation"]["flat"] == 1 and report["elevation"]["dem"] == 1


def test_nodata_cells_fall_back_to_flat(tmp_path):
    path = write_dem(tmp_path / "holes.tif", lambda x, y: np.where(x > 500, -9999.0, 0.1 * x), nodata=-9999.0)
    dem = read_dem(path)
    net = make_network([(0, 0), (100, 0), (600, 0), (700, 0)], [(0, 1), (2, 3)])
    elev = edge_elevation_profile(net, dem)
    assert list(elev["elevation_source"]) == ["dem", "flat"]


# --------------------------------------------------------------------------- tags


def test_stairs_timed_per_step_with_step_count_and_incline():
    riser, tread = 0.15, 0.30
    tags = {"highway": ["steps", "steps", "steps"], "step_count": ["40", "40", None],
            "incline": ["up", None, "down"]}
    net = make_network([(0, 0), (20, 0), (0, 10), (20, 10), (0, 20), (20, 20)], [(0, 1), (2, 3), (4, 5)], tags=tags)
    adult = get_profile("adult")
    costs, report = terrain_costs(net, profile=adult)
    v0 = 4.5 / 3.6
    # Edge 0: 40 steps up (6 m), 40 * 0.30 = 12 m of treads, 8 m of landings at the flat speed.
    up = 40 * adult.stairs_seconds_per_step_up + 8.0 / v0
    down = 40 * adult.stairs_seconds_per_step_down + 8.0 / v0
    assert costs.loc[0, "seconds_uv"] == pytest.approx(up)
    assert costs.loc[0, "seconds_vu"] == pytest.approx(down)
    # Edge 1: direction unknown: both ways the mean of climbing and descending.
    assert costs.loc[1, "seconds_uv"] == pytest.approx((up + down) / 2)
    assert costs.loc[1, "seconds_vu"] == pytest.approx((up + down) / 2)
    # Edge 2: no step_count, no DEM: the default stair grade 0.17 gives 3.4 m, 22.7 steps of
    # 0.15 m going down u->v, 6.8 m of treads and 13.2 m of landings.
    assert DEFAULT_STAIR_GRADE == 0.17
    n_steps = 20 * DEFAULT_STAIR_GRADE / riser
    landing = (20 - n_steps * tread) / v0
    assert costs.loc[2, "seconds_uv"] == pytest.approx(n_steps * adult.stairs_seconds_per_step_down + landing)
    assert costs.loc[2, "seconds_vu"] == pytest.approx(n_steps * adult.stairs_seconds_per_step_up + landing)
    assert report["stairs_edges"] == 3
    assert report["stairs_height_source"] == {"step_count": 2, "dem_or_incline": 0, "tags": 0, "default": 1}
    assert riser == adult.step_riser_m and tread == adult.step_tread_m


def test_wheelchair_cannot_use_steps_or_escalators_but_can_use_elevators_and_ramps():
    tags = {"highway": ["steps", "elevator", "steps", "footway", "steps", "footway"],
            "conveying": [None, None, "forward", None, None, None],
            "ramp:wheelchair": [None, None, None, None, "yes", None],
            "wheelchair": [None, None, None, None, None, "no"]}
    pts = [(0, 0), (10, 0), (0, 10), (10, 10), (0, 20), (30, 20), (0, 30), (30, 30), (0, 40), (30, 40), (0, 50), (30, 50)]
    net = make_network(pts, [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)], tags=tags)
    wc = get_profile("wheelchair")
    costs, report = terrain_costs(net, profile=wc)
    assert np.isinf(costs.loc[0]).all()            # steps
    assert costs.loc[1, "seconds_uv"] == wc.elevator_seconds
    assert np.isinf(costs.loc[2]).all()            # escalator
    assert np.isfinite(costs.loc[3]).all()
    assert np.isfinite(costs.loc[4]).all()         # steps with a wheelchair ramp
    assert np.isinf(costs.loc[5]).all()            # wheelchair=no
    assert report["impassable_by_reason"] == {"steps": 1, "steeper_than_max_grade": 0, "elevator": 0,
                                              "escalator": 1, "wheelchair_no": 1}
    # The adult uses the escalator only in its direction, at 0.5 m/s * cos 30 horizontally.
    adult_costs, rep = terrain_costs(net, profile=get_profile("adult"))
    assert adult_costs.loc[2, "seconds_uv"] == pytest.approx(30.0 / (0.5 * math.cos(math.radians(30))))
    assert np.isinf(adult_costs.loc[2, "seconds_vu"])
    assert rep["escalator_edges"] == 1 and rep["one_way_edges"] == 1


def test_wheelchair_blocked_above_max_grade_both_ways():
    net = make_network([(0, 0), (100, 0), (0, 10), (100, 10)], [(0, 1), (2, 3)],
                       tags={"incline": ["7%", "-9%"]})
    costs, report = terrain_costs(net, profile=get_profile("wheelchair"))
    assert np.isfinite(costs.loc[0]).all()
    assert np.isinf(costs.loc[1]).all()
    assert report["impassable_by_reason"]["steeper_than_max_grade"] == 1
    # A 7 % climb for the wheelchair profile, worked out from its parameters.
    wc = get_profile("wheelchair")
    expected = 100.0 / (wc.flat_speed_ms * math.exp(-wc.slope_k_up * 0.07))
    assert costs.loc[0, "seconds_uv"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "direction", "grade", "malformed"),
    [("up", 1, np.nan, False), ("DOWN", -1, np.nan, False), ("12%", 1, 0.12, False), ("-5 %", -1, -0.05, False),
     ("10°", 1, math.tan(math.radians(10)), False), ("no", 0, np.nan, False), (None, 0, np.nan, False),
     ("steep", 0, np.nan, True), ("12", 0, np.nan, True), ("150%", 0, np.nan, True), ("up;down", 0, np.nan, True)],
)
def test_parse_incline(value, direction, grade, malformed):
    out = parse_incline(pd.Series([value], dtype=object))
    assert out.loc[0, "direction"] == direction
    assert out.loc[0, "malformed"] == malformed
    if np.isnan(grade):
        assert np.isnan(out.loc[0, "grade"])
    else:
        assert out.loc[0, "grade"] == pytest.approx(grade)


def test_malformed_incline_falls_back_to_flat_counted_and_logged(caplog):
    net = make_network([(0, 0), (100, 0), (200, 0), (300, 0)], [(0, 1), (1, 2), (2, 3)],
                       tags={"incline": ["steep", "12", "up"]})
    with caplog.at_level(logging.WARNING, logger="lifecircle.spatial.terrain"):
        costs, report = terrain_costs(net, profile=get_profile("adult"))
    flat = flat_costs(net, speed_kmh=4.5)
    np.testing.assert_allclose(costs.loc[[0, 1]].to_numpy(), flat.loc[[0, 1]].to_numpy())
    assert report["incline_malformed"] == 2
    assert report["incline_malformed_examples"] == ["12", "steep"]
    assert "malformed incline" in caplog.text and "'steep'" in caplog.text
    # incline=up without a DEM: the documented default grade, uphill u -> v only.
    adult = get_profile("adult")
    assert costs.loc[2, "seconds_uv"] == pytest.approx(100.0 / (adult.flat_speed_ms * math.exp(-3.5 * DEFAULT_INCLINE_GRADE)))
    assert costs.loc[2, "seconds_vu"] == pytest.approx(100.0 / adult.flat_speed_ms)
    assert report["incline_default_grade"] == 1


def test_incline_tag_sets_direction_of_dem_climb(plane_dem):
    # The plane rises eastwards, but the way is tagged as going down from u (west) to v (east).
    net = make_network([(0, 0), (100, 0)], [(0, 1)], tags={"incline": ["down"]})
    elev = edge_elevation_profile(net, plane_dem)
    costs, report = terrain_costs(net, profile=get_profile("adult"), elevation=elev)
    assert costs.loc[0, "seconds_uv"] < costs.loc[0, "seconds_vu"]
    assert report["incline_overrode_dem_direction"] == 1


def test_bad_arguments():
    net = make_network([(0, 0), (100, 0)], [(0, 1)])
    with pytest.raises(ProfileError, match="adult, elderly, wheelchair"):
        get_profile("marathon")
    with pytest.raises(OptionError, match="get_profile"):
        terrain_costs(net, profile="adult")
    with pytest.raises(OptionError, match="edge_elevation_profile"):
        terrain_costs(net, profile=get_profile("adult"), elevation=pd.DataFrame({"rise_m": [1.0, 2.0]}))


def test_dem_not_overlapping_network_is_an_error(tmp_path):
    far = read_dem(write_dem(tmp_path / "far.tif", lambda x, y: x * 0 + 10, x0=X0 + 50_000, y0=Y0 + 50_000))
    net = make_network([(0, 0), (100, 0)], [(0, 1)])
    with pytest.raises(DemError, match="does not overlap"):
        edge_elevation_profile(net, far)
    with pytest.raises(OptionError, match="sample_spacing_m"):
        edge_elevation_profile(net, far, sample_spacing_m=0)


# --------------------------------------------------------------------------- properties


GRID = 4  # a 4 x 4 grid of 60 m blocks


def grid_network(steps_mask: list[bool]) -> WalkNetwork:
    """A grid of 60 m blocks plus a flat 10 m stub (last edge) from node 0 to the facility's node."""
    pts = [(60.0 * (i % GRID), 60.0 * (i // GRID)) for i in range(GRID * GRID)] + [(-10.0, 0.0)]
    edges = [(i, i + 1) for i in range(GRID * GRID) if i % GRID != GRID - 1]
    edges += [(i, i + GRID) for i in range(GRID * (GRID - 1))]
    hw = ["steps" if s else "footway" for s in steps_mask[: len(edges)]] + ["footway"]
    edges.append((GRID * GRID, 0))
    return make_network(pts, edges, tags={"highway": hw})


N_GRID_EDGES = 2 * GRID * (GRID - 1)
heights = st.lists(st.floats(0, 25, allow_nan=False), min_size=GRID * GRID, max_size=GRID * GRID).map(
    lambda z: z + [z[0]]  # the stub is level
)
steps_masks = st.lists(st.booleans(), min_size=N_GRID_EDGES, max_size=N_GRID_EDGES)
# The facility sits at the stub's far end, which every profile can reach.
FACILITY = pd.DataFrame({"facility": [0], "edge": [N_GRID_EDGES], "fraction": [0.0], "leg_m": [0.0]})


def node_times(net, costs):
    secs, _ = nearest_facility(reverse_graph(net, costs), FACILITY, n_facilities=1, leg_speed_kmh=4.5)
    return secs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(z=heights, steps=steps_masks, slow=st.floats(1.0, 3.0), harder=st.floats(1.0, 3.0))
def test_slower_profile_never_gives_shorter_times(z, steps, slow, harder):
    net = grid_network(steps)
    elev = hill_elevation(net, np.array(z))
    adult = get_profile("adult")
    slower = dataclasses.replace(
        adult, name="slower", flat_speed_kmh=adult.flat_speed_kmh / slow,
        slope_k_up=adult.slope_k_up * harder, slope_k_down=adult.slope_k_down * harder,
        stairs_seconds_per_step_up=adult.stairs_seconds_per_step_up * slow,
        stairs_seconds_per_step_down=adult.stairs_seconds_per_step_down * slow,
    )
    fast, _ = terrain_costs(net, profile=adult, elevation=elev)
    slow_c, _ = terrain_costs(net, profile=slower, elevation=elev)
    assert (slow_c.to_numpy() >= fast.to_numpy() - 1e-9).all()
    t_fast, t_slow = node_times(net, fast), node_times(net, slow_c)
    assert (t_slow >= t_fast - 1e-9).all()
    for limit in (60.0, 120.0, 300.0):  # so never covers more nodes
        assert (t_slow <= limit).sum() <= (t_fast <= limit).sum()
    # The catalogue's profiles are ordered too: elderly never faster than adult.
    eld, _ = terrain_costs(net, profile=get_profile("elderly"), elevation=elev)
    assert (eld.to_numpy() >= fast.to_numpy() - 1e-9).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(z=heights, steps=steps_masks, edge=st.integers(0, N_GRID_EDGES - 1), factor=st.floats(1.0, 5.0),
       profile=st.sampled_from(["adult", "elderly", "wheelchair"]).map(get_profile))
def test_making_an_edge_steeper_never_shortens_any_time(z, steps, edge, factor, profile):
    net = grid_network(steps)
    elev = hill_elevation(net, np.array(z))
    steeper = elev.copy()
    for col in ("rise_m", "fall_m", "grade_max"):
        steeper.loc[edge, col] = elev.loc[edge, col] * factor
    if steeper.loc[edge, "rise_m"] == 0 and steeper.loc[edge, "fall_m"] == 0:
        steeper.loc[edge, ["rise_m", "up_length_m", "grade_max"]] = [factor, 60.0, factor / 60.0]
    base, _ = terrain_costs(net, profile=profile, elevation=elev)
    more, _ = terrain_costs(net, profile=profile, elevation=steeper)
    assert (more.to_numpy() >= base.to_numpy() - 1e-9).all()
    assert (node_times(net, more) >= node_times(net, base) - 1e-9).all()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(z=heights, steps=steps_masks)
def test_wheelchair_routes_never_use_steps(z, steps):
    net = grid_network(steps)
    elev = hill_elevation(net, np.array(z))
    costs, _ = terrain_costs(net, profile=get_profile("wheelchair"), elevation=elev)
    is_steps = (net.edges["highway"] == "steps").to_numpy()
    assert np.isinf(costs.loc[is_steps].to_numpy()).all()
    graph = to_networkx(net, costs)
    paths = nx.single_source_dijkstra_path(graph, 0, weight="seconds")
    for path in paths.values():
        for a, b in zip(path[:-1], path[1:]):
            used = min(graph[a][b].values(), key=lambda d: d["seconds"])["edge"]
            assert not is_steps[used]


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def yuzhong(yuzhong_pbf, yuzhong_dem):
    from lifecircle.layers.osm import read_osm

    ex = read_osm(yuzhong_pbf, progress=False)
    net = network_from_extract(ex)
    return net, read_dem(yuzhong_dem), ex.features


def test_yuzhong_terrain_differs_from_flat(yuzhong, record_property):
    net, dem, feats = yuzhong
    t0 = time.perf_counter()
    elev = edge_elevation_profile(net, dem)
    adult, rep = terrain_costs(net, profile=get_profile("adult"), elevation=elev)
    elapsed = time.perf_counter() - t0
    assert elapsed < 10  # vectorised: under a second for 6,000 edges
    flat = flat_costs(net, speed_kmh=4.5)
    # Most of the network gets heights; the extract reaches beyond the DEM's tile.
    s = rep["elevation"]
    assert s["dem"] + s["partial"] + s["endpoints"] > 0.75 * rep["edges"]
    slower_way = np.maximum(adult["seconds_uv"], adult["seconds_vu"]).to_numpy()
    changed = slower_way > 1.05 * flat["seconds_uv"].to_numpy()
    assert changed.mean() > 0.3, changed.mean()
    # Plausible for a steep city: many steep edges, yet not all; slower on the whole.
    assert 0.1 < rep["steep_edge_share"] < 0.9
    assert 1.05 < rep["total_seconds_ratio_vs_flat"] < 2.0
    assert rep["stairs_edges"] > 300
    # Times to the hospitals (building footprints): the median node needs more time.
    from lifecircle.spatial.travel import facility_access_points

    hosp = feats[feats["tags"].map(lambda t: t.get("building") == "hospital")].to_crs(net.crs)
    access = facility_access_points(hosp, net)
    t_flat, _ = nearest_facility(reverse_graph(net, flat), access, n_facilities=len(hosp), leg_speed_kmh=4.5)
    t_adult, _ = nearest_facility(reverse_graph(net, adult), access, n_facilities=len(hosp), leg_speed_kmh=4.5)
    eld, _ = terrain_costs(net, profile=get_profile("elderly"), elevation=elev)
    t_eld, _ = nearest_facility(reverse_graph(net, eld), access, n_facilities=len(hosp), leg_speed_kmh=4.5)
    ok = np.isfinite(t_flat)
    change_min = np.median(t_adult[ok] - t_flat[ok]) / 60
    assert 0.5 < change_min < 30
    assert (t_eld[ok] >= t_adult[ok] - 1e-6).all()
    assert (t_adult[ok] <= 900).sum() < (t_flat[ok] <= 900).sum()  # terrain costs coverage
    record_property("steep_edge_share", rep["steep_edge_share"])
    record_property("median_change_minutes_to_hospital_adult", round(float(change_min), 2))

    wc, wrep = terrain_costs(net, profile=get_profile("wheelchair"), elevation=elev)
    steps = (net.edges["highway"] == "steps").to_numpy()
    assert np.isinf(wc.loc[steps].to_numpy()).all()
    assert wrep["impassable_by_reason"]["steps"] + wrep["escalator_edges"] == rep["stairs_edges"]


def test_no_dem_no_tags_is_flat_at_profile_speed():
    net = make_network([(0, 0), (100, 0), (100, 50)], [(0, 1), (1, 2)])
    for name in ("adult", "elderly", "wheelchair"):
        costs, report = terrain_costs(net, profile=get_profile(name))
        speed = get_profile(name).flat_speed_kmh
        np.testing.assert_allclose(costs.to_numpy(), flat_costs(net, speed_kmh=speed).to_numpy())
        assert report["elevation"] is None and report["impassable_edges"] == 0
        assert report["parameters"]["name"] == name


def test_handrail_missing_slows_elderly_on_stairs_only():
    tags = {"highway": ["steps", "steps"], "step_count": ["20", "20"], "handrail": ["no", "yes"], "incline": ["up", "up"]}
    net = make_network([(0, 0), (6, 0), (0, 10), (6, 10)], [(0, 1), (2, 3)], tags=tags)
    eld = get_profile("elderly")
    costs, _ = terrain_costs(net, profile=eld)
    assert costs.loc[1, "seconds_uv"] == pytest.approx(20 * eld.stairs_seconds_per_step_up)  # 20 treads = 6 m
    assert costs.loc[0, "seconds_uv"] == pytest.approx(20 * eld.stairs_seconds_per_step_up * eld.stairs_no_handrail_factor)
    adult_costs, _ = terrain_costs(net, profile=get_profile("adult"))
    assert adult_costs.loc[0, "seconds_uv"] == pytest.approx(adult_costs.loc[1, "seconds_uv"])
