"""Reading DEMs: CRS, nodata, bad files, overlap with the study area."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely

from lifecircle._errors import DemError, InputNotFoundError
from lifecircle.layers.elevation import check_dem_overlap, read_dem
from tests.synthetic import write_geotiff

X0, Y0 = 600_000.0, 3_270_000.0


def write(path, z, *, crs="EPSG:32648", nodata=None, cell=10.0):
    return write_geotiff(path, z, x0=X0, y0=Y0, cell=cell, crs=crs, nodata=nodata)


def test_read_int16_with_nodata_gives_float_nan(tmp_path):
    z = np.array([[100, 101, -32768], [102, 103, 104]], dtype=np.int16)
    dem = read_dem(write(tmp_path / "d.tif", z, nodata=-32768))
    assert dem.array.dtype == np.float64
    assert np.isnan(dem.array[0, 2]) and dem.array[1, 2] == 104.0
    assert dem.crs == pyproj.CRS.from_epsg(32648)
    assert dem.bounds == (X0, Y0 - 20, X0 + 30, Y0)
    assert dem.summary()["nodata_share"] == pytest.approx(1 / 6, abs=1e-4)


def test_dem_without_crs_is_an_error(tmp_path):
    path = write(tmp_path / "nocrs.tif", np.ones((3, 3), dtype=np.float32), crs=None)
    with pytest.raises(DemError, match=r"nocrs\.tif has no CRS: expected a GeoTIFF with a coordinate reference system"):
        read_dem(path)


def test_missing_unreadable_and_empty_dems(tmp_path):
    with pytest.raises(InputNotFoundError, match="absent.tif"):
        read_dem(tmp_path / "absent.tif")
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster", encoding="utf-8")
    with pytest.raises(DemError, match="cannot be read as a raster"):
        read_dem(bad)
    empty = write(tmp_path / "empty.tif", np.full((3, 3), -9999, dtype=np.float32), nodata=-9999)
    with pytest.raises(DemError, match="only nodata"):
        read_dem(empty)


def test_real_dem(yuzhong_dem):
    dem = read_dem(yuzhong_dem)
    s = dem.summary()
    assert s["crs"] == "EPSG:32648" and s["shape"] == [145, 343]
    assert 130 <= s["min_m"] < s["max_m"] <= 420  # README: heights 136-416 m


def test_overlap_check(tmp_path):
    dem = read_dem(write(tmp_path / "d.tif", np.ones((100, 100), dtype=np.float32)))  # 1 km square
    inside = shapely.box(X0 + 100, Y0 - 900, X0 + 900, Y0 - 100)
    assert check_dem_overlap(dem, inside, "EPSG:32648") == pytest.approx(1.0)
    half = shapely.box(X0 + 500, Y0 - 900, X0 + 1500, Y0 - 100)
    assert check_dem_overlap(dem, half, "EPSG:32648") == pytest.approx(0.5, abs=1e-6)
    # The same area given in degrees is reprojected before the test.
    to_ll = pyproj.Transformer.from_crs(32648, 4326, always_xy=True)
    inside_ll = shapely.transform(inside, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    assert check_dem_overlap(dem, inside_ll, 4326) == pytest.approx(1.0, abs=1e-3)
    far = shapely.box(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000)
    with pytest.raises(DemError, match="does not overlap the study area"):
        check_dem_overlap(dem, far, "EPSG:32648")


def test_yuzhong_dem_covers_most_of_the_district(yuzhong_dem, yuzhong_boundary):
    import geopandas as gpd

    dem = read_dem(yuzhong_dem)
    area = gpd.read_file(yuzhong_boundary)
    share = check_dem_overlap(dem, area.union_all(), area.crs)
    assert 0.5 < share <= 1.0


def test_read_only_the_window_around_an_area(tmp_path):
    z = (np.arange(100)[None, :] / 100 + 80 * np.arange(100)[:, None]).astype(np.float32)  # z = col/100 + 80 row
    path = write(tmp_path / "big.tif", z)
    box = (X0 + 200, Y0 - 300, X0 + 400, Y0 - 200)  # cols 20-40, rows 20-30
    dem = read_dem(path, bounds=box, bounds_crs="EPSG:32648")
    assert dem.array.shape == (10 + 4, 20 + 4)  # plus two cells each side
    assert dem.array[0, 0] == pytest.approx(18 / 100 + 80 * 18)
    full = read_dem(path)
    from lifecircle.spatial.terrain import sample_dem

    xs, ys = np.array([X0 + 255.0, X0 + 312.0]), np.array([Y0 - 222.0, Y0 - 281.0])
    np.testing.assert_allclose(sample_dem(dem, xs, ys, "EPSG:32648"), sample_dem(full, xs, ys, "EPSG:32648"))
    with pytest.raises(DemError, match="does not overlap"):
        read_dem(path, bounds=(X0 + 5e4, Y0, X0 + 5.1e4, Y0 + 10), bounds_crs="EPSG:32648")


@pytest.mark.parametrize("scale", [1000.0, 100.0])
def test_heights_in_millimetres_or_centimetres_are_refused(tmp_path, scale):
    z = (200.0 + 5 * np.arange(100)[None, :] + 3 * np.arange(100)[:, None]).astype(np.float32)  # 200-1000 m
    assert read_dem(write(tmp_path / "m.tif", z)).array.max() < 1000  # metres pass
    with pytest.raises(DemError, match=r"--dem .*mm.tif.*not plausible.*millimetres"):
        read_dem(write(tmp_path / "mm.tif", z * scale))
