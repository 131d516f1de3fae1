"""DEM profiles a planner can trust: building spikes, noise, road-class grade caps, plausibility.

Streets run along y=0 from x=0 (metres from ``tests.synthetic.ORIGIN``); DEMs are 30 m
grids (SRTM-like) written as GeoTIFFs, their heights given as functions of the local x.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import shapely

from lifecircle.layers.elevation import read_dem
from lifecircle.spatial.terrain import (
    DEM_VERTICAL_ERROR_M,
    ROAD_CLASS_MAX_GRADE,
    dem_plausibility,
    edge_elevation_profile,
    sample_dem,
)
from tests.synthetic import CRS, ORIGIN, network_from_lines, write_geotiff

CELL = 30.0
X0, Y0 = ORIGIN[0] - 300.0, ORIGIN[1] + 300.0  # top-left corner of a 1,500 m x 600 m grid


def dem_file(tmp_path, height, name="dem.tif"):
    cols, rows = 50, 20
    xc = X0 + CELL * (np.arange(cols) + 0.5) - ORIGIN[0]
    yc = Y0 - CELL * (np.arange(rows) + 0.5) - ORIGIN[1]
    z = height(xc[None, :] + 0 * yc[:, None], yc[:, None] + 0 * xc[None, :]).astype("float32")
    return read_dem(write_geotiff(tmp_path / name, z, x0=X0, y0=Y0, cell=CELL))


def street(length: float = 600.0, highway: str = "residential"):
    return network_from_lines([(0, 0), (length, 0)], [(0, 1)], tags=[{"highway": highway}])


def raw_climb(net, dem) -> tuple[float, float]:
    """Rise and fall summed over the raw 10 m samples (the old reading)."""
    line = shapely.segmentize(net.edges.geometry.iloc[0], 10.0)
    xy = shapely.get_coordinates(line)
    dz = np.diff(sample_dem(dem, xy[:, 0], xy[:, 1], CRS))
    return float(dz[dz > 0].sum()), float(-dz[dz < 0].sum())


def test_buildings_in_a_surface_model_do_not_make_a_street_climb(tmp_path) -> None:
    # A 5 % slope with two 25 m tall buildings (one 30 m cell each) on the street at x=195 and 405.
    def height(x, y):
        ground = 100.0 + 0.05 * x
        building = (np.abs(x - 195) < 1) | (np.abs(x - 405) < 1)
        return ground + np.where(building & (np.abs(y) < 16), 25.0, 0.0)

    dem = dem_file(tmp_path, height)
    net = street()
    raw_rise, raw_fall = raw_climb(net, dem)
    assert raw_rise > 30 + 30 and raw_fall > 30  # each building adds most of its height up and down
    elev = edge_elevation_profile(net, dem)
    assert elev.loc[0, "rise_m"] == pytest.approx(0.05 * 600, abs=1.5)
    assert elev.loc[0, "fall_m"] == pytest.approx(0.0, abs=1.5)
    # The raw samples climb 25 m within 30 m; the fitted profile keeps at most slope x window
    # (0.05 x 80 m = 4 m) of a building on a slope: the steepest 90 m stays under 9 %.
    assert elev.loc[0, "grade_max"] < 0.09


def test_wiggles_within_the_vertical_error_are_ignored_and_the_net_change_kept(tmp_path) -> None:
    # Gentle 1 % rise plus a 2 m sinusoid of wavelength 240 m (too wide for the opening).
    dem = dem_file(tmp_path, lambda x, y: 100.0 + 0.01 * x + 2.0 * np.sin(2 * np.pi * x / 240.0))
    net = street()
    filtered = edge_elevation_profile(net, dem)
    every = edge_elevation_profile(net, dem, vertical_error_m=0)
    assert DEM_VERTICAL_ERROR_M > 4  # a 4 m peak-to-trough wiggle is within it
    # Each wiggle descends up to 4 - 0.01 x 120 = 2.8 m (less where tolerance 0 still lets the
    # opening shave the crests). Filtered: only the tail after the last crest remains.
    assert filtered.loc[0, "fall_m"] < 2.8
    assert every.loc[0, "fall_m"] > filtered.loc[0, "fall_m"] + 1
    net_change = filtered.loc[0, "z_v"] - filtered.loc[0, "z_u"]
    assert filtered.loc[0, "rise_m"] - filtered.loc[0, "fall_m"] == pytest.approx(net_change, abs=0.5)
    assert every.loc[0, "rise_m"] - every.loc[0, "fall_m"] == pytest.approx(net_change, abs=0.5)


def test_a_primary_road_is_capped_at_its_design_grade_a_lane_is_not(tmp_path) -> None:
    dem = dem_file(tmp_path, lambda x, y: 100.0 + 0.12 * x)
    primary = edge_elevation_profile(street(highway="primary"), dem)
    lane = edge_elevation_profile(street(highway="residential"), dem)
    cap = ROAD_CLASS_MAX_GRADE["primary"]
    assert cap == 0.07
    assert bool(primary.loc[0, "grade_capped"]) and not bool(lane.loc[0, "grade_capped"])
    assert primary.loc[0, "grade_max"] == pytest.approx(cap)
    assert primary.loc[0, "rise_m"] == pytest.approx(cap * primary.loc[0, "up_length_m"])
    assert primary.loc[0, "grade_max_dem"] == pytest.approx(0.12, abs=0.005)
    assert lane.loc[0, "rise_m"] == pytest.approx(0.12 * 600, abs=1.0)


def test_an_implausible_dem_is_flagged_and_a_bare_earth_one_is_not(tmp_path, caplog) -> None:
    steep = dem_file(tmp_path, lambda x, y: 100.0 + 0.12 * x, name="steep.tif")
    gentle = dem_file(tmp_path, lambda x, y: 100.0 + 0.03 * x, name="gentle.tif")
    net = street(highway="primary")
    with caplog.at_level(logging.WARNING):
        bad = dem_plausibility(net, edge_elevation_profile(net, steep))
    assert not bad["plausible"] and bad["indicative"] == ["elderly", "wheelchair"]
    assert bad["primary_steep_share_dem"] == pytest.approx(1.0) and bad["primary_steep_share"] == 0.0
    assert "implausible" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        good = dem_plausibility(net, edge_elevation_profile(net, gentle))
    assert good["plausible"] and good["indicative"] == [] and good["edges_capped"] == 0
    assert "implausible" not in caplog.text
