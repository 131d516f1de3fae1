"""Tests for lifecircle.layers.population: reading points, rasters and polygons."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle._errors import InputNotFoundError, LifecircleError, NoCrsError, PopulationError
from lifecircle.layers.population import PopulationInput, read_population


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


# ------------------------------------------------------------------ CSV points


def test_csv_points_with_aliases_and_bom(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "LNG,Y,Pop\n106.5,29.55,10\n106.51,29.56,2.5\n", encoding="utf-8-sig")
    pop = read_population(p)
    assert isinstance(pop, PopulationInput)
    assert pop.kind == "points"
    assert pop.crs.to_epsg() == 4326
    assert pop.frame.crs.to_epsg() == 4326
    assert pop.total == pytest.approx(12.5)
    assert pop.frame["population"].dtype == np.float64
    assert pop.frame.geometry.iloc[0].equals(shapely.Point(106.5, 29.55))
    assert pop.source == p
    assert pop.groups == ()


def test_csv_value_column_chooses_the_column(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "lon,lat,population,night\n106.5,29.55,10,3\n")
    assert read_population(p, value_column="night").total == 3.0
    with pytest.raises(PopulationError, match="'day'.*columns found"):
        read_population(p, value_column="day")


def test_csv_groups_from_shares_and_counts(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "p.csv",
        "lon,lat,population,share_60plus,pop_0_14\n106.5,29.55,200,0.25,50\n106.51,29.56,0,0.1,0\n",
    )
    pop = read_population(p)
    assert set(pop.groups) == {"share_60plus", "share_0_14"}
    np.testing.assert_allclose(pop.frame["share_60plus"], [0.25, 0.1])
    # 50 children of 200 people = 0.25; a row without people has share 0.
    np.testing.assert_allclose(pop.frame["share_0_14"], [0.25, 0.0])


def test_csv_group_count_above_population_is_an_error(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "lon,lat,population,pop_60plus\n106.5,29.55,10,11\n")
    with pytest.raises(PopulationError, match="pop_60plus"):
        read_population(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="nope.csv"):
        read_population(tmp_path / "nope.csv")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(PopulationError, match="empty"):
        read_population(_write(tmp_path / "e.csv", ""))


def test_no_population_column_names_the_columns(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "lon,lat,households\n106.5,29.55,10\n")
    with pytest.raises(PopulationError, match=r"columns found: \['lon', 'lat', 'households'\]"):
        read_population(p)


def test_no_coordinates(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "easting,northing,population\n1,2,3\n")
    with pytest.raises(PopulationError, match="longitude and latitude"):
        read_population(p)


def test_negative_population(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "lon,lat,population\n106.5,29.55,10\n106.5,29.55,-1\n")
    with pytest.raises(PopulationError, match="negative.*-1 in line 3"):
        read_population(p)


def test_non_numeric_population(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "lon,lat,population\n106.5,29.55,many\n")
    with pytest.raises(PopulationError, match="must hold numbers.*'many' in line 2"):
        read_population(p)


def test_projected_coordinates_in_csv_are_refused(tmp_path: Path) -> None:
    p = _write(tmp_path / "p.csv", "x,y,population\n650000,3270000,5\n")
    with pytest.raises(NoCrsError, match="EPSG:4326"):
        read_population(p)


def test_errors_share_the_base_class(tmp_path: Path) -> None:
    with pytest.raises(LifecircleError):
        read_population(tmp_path / "nope.tif")


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(PopulationError, match="unknown population file type"):
        read_population(_write(tmp_path / "p.xyz", "x"))


# ----------------------------------------------------------------- vector files


def test_polygons_geojson(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["a", "b"], "常住人口": [1200, 800]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        crs="EPSG:32648",
    )
    p = tmp_path / "units.gpkg"
    gdf.to_file(p)
    pop = read_population(p)
    assert pop.kind == "polygons"
    assert pop.crs.to_epsg() == 32648
    assert pop.total == 2000.0
    np.testing.assert_array_equal(pop.frame["population"], [1200.0, 800.0])


def test_points_geojson(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"pop": [1.0, 2.0]}, geometry=[shapely.Point(106.5, 29.5), shapely.Point(106.6, 29.6)], crs=4326)
    p = tmp_path / "pts.geojson"
    gdf.to_file(p)
    pop = read_population(p)
    assert pop.kind == "points" and pop.total == 3.0


def test_vector_without_crs(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "nocrs.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"population":5},'
        '"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}',
    )
    # GeoJSON without "crs" is EPSG:4326 by the RFC; a shapefile without .prj is not.
    gdf = gpd.GeoDataFrame({"population": [5]}, geometry=[shapely.box(0, 0, 1, 1)], crs=None)
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(shp)
    with pytest.raises(NoCrsError, match="no CRS"):
        read_population(shp)
    assert read_population(p).crs.to_epsg() == 4326


def test_mixed_geometries_refused(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"population": [1, 2]}, geometry=[shapely.Point(0, 0), shapely.box(0, 0, 1, 1)], crs=4326)
    p = tmp_path / "mixed.geojson"
    gdf.to_file(p)
    with pytest.raises(PopulationError, match="all points or all polygons"):
        read_population(p)


# ---------------------------------------------------------------------- rasters


def _raster(path: Path, array: np.ndarray, *, crs: str | None, nodata: float | None, x0=600000.0, y0=3270000.0, px=100.0) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
        dtype="float32", crs=crs, transform=from_origin(x0, y0, px, px), nodata=nodata,
    ) as dst:
        dst.write(array.astype("float32"), 1)
    return path


def test_raster_nodata_becomes_zero(tmp_path: Path) -> None:
    arr = np.array([[1.0, -9999.0], [np.nan, 4.5]])
    pop = read_population(_raster(tmp_path / "r.tif", arr, crs="EPSG:32648", nodata=-9999.0))
    assert pop.kind == "raster"
    assert pop.frame is None
    assert pop.crs.to_epsg() == 32648
    assert pop.total == pytest.approx(5.5)
    np.testing.assert_array_equal(pop.array, [[1.0, 0.0], [0.0, 4.5]])
    assert pop.transform.a == 100.0


def test_raster_ghs_fill_without_declared_nodata(tmp_path: Path) -> None:
    arr = np.array([[-200.0, 2.0], [3.0, 0.0]])
    pop = read_population(_raster(tmp_path / "r.tif", arr, crs="EPSG:32648", nodata=None))
    assert pop.total == 5.0


def test_raster_negative_values_refused(tmp_path: Path) -> None:
    arr = np.array([[-3.0, 2.0]])
    with pytest.raises(PopulationError, match="negative"):
        read_population(_raster(tmp_path / "r.tif", arr, crs="EPSG:32648", nodata=-9999.0))


def test_raster_without_crs(tmp_path: Path) -> None:
    with pytest.raises(NoCrsError, match="no CRS"):
        read_population(_raster(tmp_path / "r.tif", np.ones((2, 2)), crs=None, nodata=None))


def test_raster_bbox_reads_a_window(tmp_path: Path) -> None:
    # 0.01-degree pixels over 106-107 E, 29-30 N, each pixel holding 1 person.
    arr = np.ones((100, 100))
    p = _raster(tmp_path / "r.tif", arr, crs="EPSG:4326", nodata=None, x0=106.0, y0=30.0, px=0.01)
    full = read_population(p)
    part = read_population(p, bbox=(106.5, 29.5, 106.6, 29.6))
    assert full.total == 10000
    # The 10 x 10 pixels of the box plus at most one pixel of margin each side.
    assert 100 <= part.total <= 144
    assert part.array.shape[0] <= 12 and part.array.shape[1] <= 12


# --------------------------------------------------------------------- real data


def test_real_ghs_pop_csv(yuzhong_population: Path) -> None:
    pop = read_population(yuzhong_population)
    assert pop.kind == "points"
    assert len(pop.frame) == 4037  # README: 4,037 points
    assert pop.total == pytest.approx(720_000, rel=0.01)  # README: about 720,000 people
    b = pop.frame.total_bounds
    assert 106.46 < b[0] < b[2] < 106.61 and 29.51 < b[1] < b[3] < 29.59
