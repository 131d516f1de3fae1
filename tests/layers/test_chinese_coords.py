"""GCJ-02 / BD-09 <-> WGS84: offsets of the right size, inverses to well under a metre."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle._errors import OptionError
from lifecircle.layers.chinese_coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    offset_m,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

JIEFANGBEI = (106.5770, 29.5570)

lons = st.floats(min_value=73.0, max_value=135.0)
lats = st.floats(min_value=18.0, max_value=53.0)


def test_offset_at_jiefangbei_is_about_480_m() -> None:
    lon, lat = wgs84_to_gcj02(*JIEFANGBEI)
    d = float(offset_m(*JIEFANGBEI, lon, lat))
    assert 450 < d < 510  # ~480 m: a third of a 15-minute walk (1,125 m)
    # GCJ-02 lies east-south-east of WGS84 here (positive dlon, negative dlat).
    assert lon > JIEFANGBEI[0] and lat < JIEFANGBEI[1]
    # Baidu adds its own ~0.0065/0.006 degree shift on top: roughly 1 km in all.
    blon, blat = wgs84_to_bd09(*JIEFANGBEI)
    assert 900 < float(offset_m(*JIEFANGBEI, blon, blat)) < 1200


def test_offset_m_by_hand() -> None:
    # One degree of latitude on a sphere of radius 6,371,008.8 m is 111,195 m.
    assert float(offset_m(0.0, 0.0, 0.0, 1.0)) == pytest.approx(111_195.08, abs=0.05)
    assert float(offset_m(*JIEFANGBEI, *JIEFANGBEI)) == 0.0


def test_outside_china_is_unchanged() -> None:
    lon, lat = np.array([24.94, -74.0]), np.array([60.17, 40.7])  # Helsinki, New York
    assert out_of_china(lon, lat).all()
    g = wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(g[0], lon)
    np.testing.assert_array_equal(g[1], lat)
    w = gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(w[0], lon)


@settings(max_examples=200, deadline=None)
@given(lons, lats)
def test_gcj02_round_trip_under_a_millimetre(lon: float, lat: float) -> None:
    g = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(*g)
    assert float(offset_m(lon, lat, *back)) < 1e-3
    # and the other way round
    w = gcj02_to_wgs84(lon, lat)
    assert float(offset_m(lon, lat, *wgs84_to_gcj02(*w))) < 1e-3


@settings(max_examples=200, deadline=None)
@given(lons, lats)
def test_bd09_round_trips_under_a_millimetre(lon: float, lat: float) -> None:
    b = gcj02_to_bd09(lon, lat)
    assert float(offset_m(lon, lat, *bd09_to_gcj02(*b))) < 1e-3
    w = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert float(offset_m(lon, lat, *w)) < 1e-3


def test_vectorised_and_inputs_untouched() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(106.4, 106.7, 10_000)
    lat = rng.uniform(29.4, 29.7, 10_000)
    lon0, lat0 = lon.copy(), lat.copy()
    g = wgs84_to_gcj02(lon, lat)
    w = gcj02_to_wgs84(*g)
    np.testing.assert_array_equal(lon, lon0)
    np.testing.assert_array_equal(lat, lat0)
    assert g[0].shape == (10_000,)
    assert offset_m(lon, lat, *w).max() < 1e-3
    # Over Chongqing the shift varies slowly: 430-530 m everywhere in this box.
    d = offset_m(lon, lat, *g)
    assert 400 < d.min() and d.max() < 560


def test_shape_mismatch() -> None:
    with pytest.raises(OptionError, match="same shape"):
        wgs84_to_gcj02([1.0, 2.0], [1.0])


def test_geodataframe_conversion() -> None:
    lon, lat = wgs84_to_gcj02(*JIEFANGBEI)
    frame = gpd.GeoDataFrame(
        {"name": ["解放碑"]},
        geometry=[shapely.Point(float(lon), float(lat))],
    )  # no CRS: an Amap export
    out = to_wgs84(frame, "gcj02")
    assert out.crs == "EPSG:4326" and frame.crs is None  # input untouched
    assert float(offset_m(*JIEFANGBEI, out.geometry.x.iloc[0], out.geometry.y.iloc[0])) < 1e-3
    assert out["name"].tolist() == ["解放碑"]
    # Polygons: every vertex converted in one call; display shift back gives the input.
    poly = gpd.GeoSeries([shapely.box(106.57, 29.55, 106.58, 29.56)], crs="EPSG:4326")
    again = to_wgs84(from_wgs84(poly, "GCJ-02"), "gcj02")
    assert shapely.hausdorff_distance(again.iloc[0], poly.iloc[0]) < 1e-9
    with pytest.raises(OptionError, match="must be one of"):
        to_wgs84(frame, "wgs72")
    with pytest.raises(OptionError, match="degrees"):
        to_wgs84(frame.set_crs("EPSG:4326").to_crs("EPSG:32648"), "bd09")
