"""The halo of an area: the threshold's reach beyond its border."""

from __future__ import annotations

import geopandas as gpd
import pyproj
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from lifecircle._errors import OptionError
from lifecircle.spatial.halo import halo_bounds_lonlat, halo_polygons, halo_reach_m

UTM = pyproj.CRS.from_epsg(32648)


def test_reach_is_minutes_times_speed_plus_access() -> None:
    # 15 min at 4.5 km/h = 1,125 m; a facility may sit 150 m off the network.
    assert halo_reach_m(minutes=15, speed_kmh=4.5) == pytest.approx(1125.0)
    assert halo_reach_m(minutes=15, speed_kmh=4.5, access_m=150) == pytest.approx(1275.0)
    for bad in ({"minutes": 0, "speed_kmh": 4.5}, {"minutes": 15, "speed_kmh": float("nan")},
                {"minutes": 15, "speed_kmh": 4.5, "access_m": -1}):
        with pytest.raises(OptionError):
            halo_reach_m(**bad)


@given(st.floats(10, 5_000), st.floats(10, 5_000), st.floats(1, 3_000))
def test_halo_holds_every_point_within_reach(width: float, height: float, reach: float) -> None:
    area = shapely.box(600_000, 3_270_000, 600_000 + width, 3_270_000 + height)
    halo = halo_polygons(gpd.GeoSeries([area], crs=UTM), reach_m=reach, crs=UTM).iloc[0]
    outside = shapely.Point(600_000 + width + reach * 0.999, 3_270_000)  # just within reach east of the border
    assert halo.contains(area) and halo.contains(outside)
    assert not halo.contains(shapely.Point(600_000 + width + reach * 1.01, 3_270_000 + height / 2))


def test_bounds_in_degrees_enclose_the_halo() -> None:
    area = gpd.GeoSeries([shapely.box(600_000, 3_270_000, 601_000, 3_271_000)], crs=UTM)
    (west, south, east, north), = halo_bounds_lonlat(area, reach_m=1_000, crs=UTM)
    halo = halo_polygons(area, reach_m=1_000, crs=UTM).to_crs(4326).iloc[0]
    assert shapely.box(west - 1e-6, south - 1e-6, east + 1e-6, north + 1e-6).contains(halo)
    assert west < area.to_crs(4326).total_bounds[0]
