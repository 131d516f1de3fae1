"""Tests for lifecircle.spatial.population: people per grid cell, and the fallback."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings, strategies as st

from lifecircle._errors import NoCrsError, OptionError, PopulationError
from lifecircle.layers.population import PopulationInput, read_population
from lifecircle.spatial.population import (
    DEFAULT_LEVELS,
    floor_area,
    floor_area_weights,
    population_fallback,
    population_to_cells,
    residential_buildings,
)

UTM = "EPSG:32648"  # UTM 48N, the zone of Chongqing
X0, Y0 = 600_000.0, 3_270_000.0  # grid origin, a multiple of 100 m


def squares(nx: int, ny: int, *, size: float = 100.0, x0: float = X0, y0: float = Y0, crs: str = UTM) -> gpd.GeoDataFrame:
    """Square cells, row-major from the south-west: cell ``iy * nx + ix``."""
    iy, ix = np.divmod(np.arange(nx * ny), nx)
    geoms = shapely.box(x0 + ix * size, y0 + iy * size, x0 + (ix + 1) * size, y0 + (iy + 1) * size)
    return gpd.GeoDataFrame({"cell_id": np.arange(nx * ny)}, geometry=geoms, crs=crs)


def points_input(xy: list[tuple[float, float]], values: list[float], *, crs: str = UTM, **extra: list[float]) -> PopulationInput:
    frame = gpd.GeoDataFrame(
        {"population": np.asarray(values, dtype=float), **{k: np.asarray(v, float) for k, v in extra.items()}},
        geometry=[shapely.Point(x, y) for x, y in xy],
        crs=crs,
    )
    groups = tuple(k for k in extra if k.startswith("share_"))
    return PopulationInput(kind="points", source=Path("test"), total=float(sum(values)), crs=pyproj.CRS(crs), frame=frame, groups=groups)


def buildings_frame(rows: list[tuple[shapely.Geometry, dict[str, str]]], crs: str = UTM) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"osm_type": "way", "osm_id": np.arange(len(rows)), "tags": [t for _, t in rows]},
        geometry=[g for g, _ in rows],
        crs=crs,
    )


# ---------------------------------------------------------------------- points


def test_points_hand_counts() -> None:
    cells = squares(3, 2)
    pop = points_input(
        [
            (X0 + 50, Y0 + 50),     # cell 0
            (X0 + 150, Y0 + 50),    # cell 1
            (X0 + 150, Y0 + 150),   # cell 4
            (X0 + 100, Y0 + 50),    # on the edge of cells 0 and 1: floor division puts it in 1
            (X0 - 10, Y0 + 50),     # west of the grid: dropped
            (X0 + 250, Y0 + 150),   # cell 5
            (X0 + 260, Y0 + 160),   # cell 5 again
        ],
        [10, 5, 7, 3, 100, 1, 2],
    )
    got = population_to_cells(pop, cells)
    np.testing.assert_array_equal(got, [10, 5 + 3, 0, 0, 7, 1 + 2])
    assert got.dtype == np.float64


def test_points_cell_order_is_respected() -> None:
    cells = squares(3, 2).iloc[[5, 0, 3, 1, 4, 2]].reset_index(drop=True)
    pop = points_input([(X0 + 50, Y0 + 50), (X0 + 250, Y0 + 150)], [4, 9])
    # Row 0 is cell 5, row 1 is cell 0.
    np.testing.assert_array_equal(population_to_cells(pop, cells), [9, 4, 0, 0, 0, 0])


def test_points_on_irregular_cells_use_the_tree() -> None:
    cells = squares(3, 2)
    # Replace cell 5 by the triangle of its lower-right half: no longer a regular grid.
    cells.loc[5, "geometry"] = shapely.Polygon([(X0 + 200, Y0 + 100), (X0 + 300, Y0 + 100), (X0 + 300, Y0 + 200)])
    pop = points_input([(X0 + 50, Y0 + 50), (X0 + 290, Y0 + 110), (X0 + 210, Y0 + 190)], [1, 2, 4])
    # The third point lies in cell 5's square but not in its triangle.
    np.testing.assert_array_equal(population_to_cells(pop, cells), [1, 0, 0, 0, 0, 2])


def test_points_in_lon_lat_reach_utm_cells() -> None:
    cells = squares(10, 10)
    to_ll = pyproj.Transformer.from_crs(UTM, 4326, always_xy=True)
    lon, lat = to_ll.transform([X0 + 450.0, X0 + 950.0], [Y0 + 550.0, Y0 + 50.0])
    pop = points_input(list(zip(lon, lat)), [3, 8], crs="EPSG:4326")
    got = population_to_cells(pop, cells)
    assert got[5 * 10 + 4] == 3 and got[0 * 10 + 9] == 8 and got.sum() == 11


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-50, 550, allow_nan=False), st.floats(-50, 350, allow_nan=False), st.floats(0, 1e4, allow_nan=False)),
        min_size=0, max_size=60,
    )
)
def test_points_total_conserved(rows: list[tuple[float, float, float]]) -> None:
    cells = squares(5, 3)
    xy = [(X0 + x, Y0 + y) for x, y, _ in rows]
    vals = [v for _, _, v in rows]
    got = population_to_cells(points_input(xy, vals), cells) if rows else np.zeros(15)
    # Inside the grid's extent, judged on the coordinates actually used (X0 + x rounds).
    inside = sum(v for (px, py), v in zip(xy, vals) if X0 <= px < X0 + 500 and Y0 <= py < Y0 + 300)
    assert got.sum() == pytest.approx(inside, rel=1e-12, abs=1e-9)
    # The tree path (cells no longer regular) gives the same counts away from edges.
    if rows and all((x % 100) and (y % 100) for x, y, _ in rows):
        irregular = cells.copy()
        # Cell 14 (the north-east corner) becomes a triangle: the lookup must use the tree.
        irregular.loc[14, "geometry"] = shapely.Polygon([(X0 + 400, Y0 + 200), (X0 + 500, Y0 + 200), (X0 + 500, Y0 + 300)])
        np.testing.assert_allclose(population_to_cells(points_input(xy, vals), irregular)[:14], got[:14])


def test_group_people() -> None:
    pop = points_input([(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50)], [200, 100], share_60plus=[0.25, 0.5])
    np.testing.assert_allclose(population_to_cells(pop, squares(2, 1), group="60plus"), [50, 50])
    np.testing.assert_allclose(population_to_cells(pop, squares(2, 1), group="share_60plus"), [50, 50])
    with pytest.raises(PopulationError, match="no group '0_14'.*share_60plus"):
        population_to_cells(pop, squares(2, 1), group="0_14")


def test_cells_must_have_a_metric_crs() -> None:
    pop = points_input([(X0, Y0)], [1])
    with pytest.raises(NoCrsError):
        population_to_cells(pop, squares(2, 2, crs=None))
    with pytest.raises(OptionError, match="metric"):
        population_to_cells(pop, squares(2, 2, size=0.001, x0=106.5, y0=29.5, crs="EPSG:4326"))


# ---------------------------------------------------------------------- rasters


def _write_raster(path: Path, array: np.ndarray, *, crs: str, west: float, north: float, px: float, nodata: float | None = -1.0) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
        dtype="float64", crs=crs, transform=from_origin(west, north, px, px), nodata=nodata,
    ) as dst:
        dst.write(array.astype("float64"), 1)
    return path


def test_raster_aligned_pixels_land_in_their_cells(tmp_path: Path) -> None:
    # 3 x 2 pixels of 100 m whose outline is the grid; raster row 0 is the northern row (cells 3-5).
    arr = np.array([[1.0, 2.0, -1.0], [4.0, 5.0, 6.0]])
    pop = read_population(_write_raster(tmp_path / "r.tif", arr, crs=UTM, west=X0, north=Y0 + 200, px=100))
    np.testing.assert_allclose(population_to_cells(pop, squares(3, 2)), [4, 5, 6, 1, 2, 0])


def test_coarse_raster_spreads_over_small_cells(tmp_path: Path) -> None:
    # One 1 km pixel of 100 people over a 10 x 10 grid of 100 m cells: 1 person per cell.
    pop = read_population(_write_raster(tmp_path / "r.tif", np.array([[100.0]]), crs=UTM, west=X0, north=Y0 + 1000, px=1000))
    np.testing.assert_allclose(population_to_cells(pop, squares(10, 10)), np.ones(100))


def test_raster_in_lon_lat_total_conserved(tmp_path: Path) -> None:
    # A 0.001-degree raster (about 100 m) well inside a 3 km UTM grid.
    to_ll = pyproj.Transformer.from_crs(UTM, 4326, always_xy=True)
    west, north = to_ll.transform(X0 + 1000, Y0 + 2000)
    rng = np.random.default_rng(1)
    arr = rng.uniform(0, 50, size=(8, 9))
    pop = read_population(_write_raster(tmp_path / "r.tif", arr, crs="EPSG:4326", west=west, north=north, px=0.001))
    got = population_to_cells(pop, squares(30, 30))
    assert got.sum() == pytest.approx(arr.sum(), rel=1e-12)
    assert (got > 0).sum() > 8 * 9 * 0.5  # spread over many cells, not piled up


def test_raster_partly_outside_keeps_only_inside(tmp_path: Path) -> None:
    # Two pixels of 100 m: one over cell 0, one west of the grid.
    pop = read_population(_write_raster(tmp_path / "r.tif", np.array([[7.0, 3.0]]), crs=UTM, west=X0 - 100, north=Y0 + 100, px=100))
    np.testing.assert_allclose(population_to_cells(pop, squares(2, 1)), [3, 0])
    with pytest.raises(PopulationError, match="raster carries no group"):
        population_to_cells(pop, squares(2, 1), group="60plus")


# --------------------------------------------------------------- polygons, buildings


def _polygon_case() -> tuple[PopulationInput, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    b = lambda x0, y0, x1, y1: shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)  # noqa: E731
    units = gpd.GeoDataFrame(
        {"population": [1000.0, 300.0, 100.0]},
        geometry=[b(0, 0, 200, 100), b(200, 0, 300, 100), b(250, 100, 350, 200)],
        crs=UTM,
    )
    pop = PopulationInput(kind="polygons", source=Path("units"), total=1400.0, crs=pyproj.CRS(UTM), frame=units)
    buildings = buildings_frame([
        (b(10, 10, 30, 30), {"building": "residential", "building:levels": "5"}),    # 400 m² x 5 = 2000, cell 0
        (b(120, 20, 140, 40), {"building": "yes"}),                                # 400 m² x 6 (default) = 2400, cell 1
        (b(90, 60, 110, 80), {"building": "apartments", "building:levels": "2"}),  # 400 m² x 2 = 800, half in cells 0 and 1
        (b(40, 40, 80, 80), {"building": "school", "building:levels": "4"}),       # not a home
        (b(150, 60, 170, 80), {"building": "yes", "amenity": "clinic"}),           # not a home
    ])
    return pop, units, buildings


def test_polygons_spread_to_buildings_by_floor_area() -> None:
    pop, _, buildings = _polygon_case()
    got = population_to_cells(pop, squares(3, 2), buildings=buildings)
    # Unit 1 (1000 people) has homes of 2000 + 2400 + 800 = 5200 m² floor area.
    cell0 = 1000 * (2000 + 800 / 2) / 5200
    cell1 = 1000 * (2400 + 800 / 2) / 5200
    # Unit 2 (300) has no homes: by area, all in cell 2. Unit 3 (100) is half outside
    # the grid: its western half (50 people) falls in cell 5.
    np.testing.assert_allclose(got, [cell0, cell1, 300, 0, 0, 50], rtol=1e-12)
    # Conserved: everything inside the grid.
    assert got.sum() == pytest.approx(1000 + 300 + 50, rel=1e-12)


def test_polygons_without_buildings_spread_by_area() -> None:
    pop, _, _ = _polygon_case()
    got = population_to_cells(pop, squares(3, 2))
    np.testing.assert_allclose(got, [500, 500, 300, 0, 0, 50], rtol=1e-12)


def test_polygons_with_buildings_in_lon_lat() -> None:
    pop, _, buildings = _polygon_case()
    got = population_to_cells(pop, squares(3, 2), buildings=buildings.to_crs(4326))
    # Reprojection changes areas by a tiny common factor only.
    assert got.sum() == pytest.approx(1350, rel=1e-6)
    assert got[0] == pytest.approx(1000 * 2400 / 5200, rel=1e-4)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 250), st.floats(0, 150), st.floats(1, 50), st.integers(0, 30), st.floats(0, 1e4)), min_size=1, max_size=15))
def test_polygons_total_conserved(rows: list[tuple[float, float, float, int, float]]) -> None:
    # One unit covering the 3 x 2 grid; random homes inside it.
    units = gpd.GeoDataFrame({"population": [5000.0]}, geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 200)], crs=UTM)
    pop = PopulationInput(kind="polygons", source=Path("u"), total=5000.0, crs=pyproj.CRS(UTM), frame=units)
    homes = buildings_frame([
        (shapely.box(X0 + x, Y0 + y, X0 + x + s, Y0 + y + s), {"building": "residential", **({"building:levels": str(lv)} if lv else {})})
        for x, y, s, lv, _ in rows
    ])
    got = population_to_cells(pop, squares(3, 2), buildings=homes)
    assert got.sum() == pytest.approx(5000.0, rel=1e-9)
    assert (got >= 0).all()


# ------------------------------------------------------------- fallback weights


def test_residential_mask_and_floor_area() -> None:
    _, _, buildings = _polygon_case()
    np.testing.assert_array_equal(residential_buildings(buildings), [True, True, True, False, False])
    np.testing.assert_allclose(floor_area(buildings), [2000, 400 * DEFAULT_LEVELS, 800, 1600 * 4, 400 * DEFAULT_LEVELS])
    odd = buildings_frame([
        (shapely.box(0, 0, 10, 10), {"building": "house", "building:levels": "3;4"}),
        (shapely.box(0, 0, 10, 10), {"building": "house", "building:levels": "many"}),
        (shapely.box(0, 0, 10, 10), {"building": "house", "building:levels": "0"}),
        (shapely.Point(0, 0), {"building": "house"}),
    ])
    np.testing.assert_allclose(floor_area(odd, default_levels=2), [300, 200, 200, 0])
    assert residential_buildings(odd).tolist() == [True, True, True, False]  # a point is no footprint


def test_floor_area_weights_hand_values() -> None:
    _, _, buildings = _polygon_case()
    got = floor_area_weights(buildings, squares(3, 2))
    np.testing.assert_allclose(got, [2000 + 400, 2400 + 400, 0, 0, 0, 0])


def test_fallback_states_what_it_is() -> None:
    _, _, buildings = _polygon_case()
    fb = population_fallback(squares(3, 2), buildings)
    assert fb.method == "floor_area"
    np.testing.assert_allclose(fb.values, [2400, 2800, 0, 0, 0, 0])
    assert "No population input" in fb.note and "floor area" in fb.note and "not counts of people" in fb.note
    eq = population_fallback(squares(3, 2), None)
    assert eq.method == "equal"
    np.testing.assert_array_equal(eq.values, np.ones(6))
    assert "same weight" in eq.note
    # Buildings that are no homes give equal weights too.
    assert population_fallback(squares(3, 2), buildings.iloc[[3, 4]]).method == "equal"


# -------------------------------------------------------------------- real data


def _aligned_grid(bounds: np.ndarray, size: float = 100.0) -> gpd.GeoDataFrame:
    x0 = np.floor(bounds[0] / size) * size
    y0 = np.floor(bounds[1] / size) * size
    nx = int(np.ceil((bounds[2] - x0) / size)) + 1
    ny = int(np.ceil((bounds[3] - y0) / size)) + 1
    return squares(nx, ny, size=size, x0=x0, y0=y0)


def test_real_ghs_pop_to_100m_grid(yuzhong_population: Path) -> None:
    pop = read_population(yuzhong_population)
    pts = pop.frame.to_crs(UTM)
    cells = _aligned_grid(pts.total_bounds)
    got = population_to_cells(pop, cells)
    # Every point lies inside the grid: the whole file's people, about 720,000 (README).
    assert got.sum() == pytest.approx(pop.total, rel=1e-9)
    assert got.sum() == pytest.approx(720_000, rel=0.01)
    # Cross-check against a spatial join done by geopandas.
    joined = gpd.sjoin(pts, cells, predicate="within", how="inner")
    by_cell = joined.groupby("index_right")["population"].sum()
    np.testing.assert_allclose(got[by_cell.index.to_numpy()], by_cell.to_numpy(), rtol=1e-9)


def test_real_ghs_pop_over_the_district(yuzhong_population: Path, yuzhong_boundary: Path) -> None:
    pop = read_population(yuzhong_population)
    area = gpd.read_file(yuzhong_boundary).to_crs(UTM).geometry.union_all()
    cells = _aligned_grid(np.asarray(area.bounds))
    cells = cells[cells.intersects(area)].reset_index(drop=True)
    got = population_to_cells(pop, cells)
    pts = pop.frame.to_crs(UTM)
    inside = pts[pts.within(shapely.union_all(cells.geometry.to_numpy()))]["population"].sum()
    assert got.sum() == pytest.approx(inside, rel=1e-6)
    # GHS-POP 2015 puts about 310,000 people in the district's cells; the file's other
    # points lie across the rivers, outside Yuzhong.
    assert 250_000 < got.sum() < pop.total
