"""Tests for lifecircle.spatial.population: people per grid cell, and the fallback."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle._errors import NoCrsError, OptionError, PopulationError
from lifecircle.layers.features import select_buildings
from lifecircle.layers.population import PopulationInput, read_population
from lifecircle.spatial.population import (
    DEFAULT_LEVELS,
    detect_lattice,
    floor_area,
    floor_area_weights,
    lattice_cells,
    population_fallback,
    population_to_cells,
    residential_buildings,
    spread_population,
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
    """OSM building features as the data layer hands them on (tags read into columns)."""
    return select_buildings(gpd.GeoDataFrame(
        {"osm_type": "way", "osm_id": np.arange(len(rows)), "tags": [t for _, t in rows]},
        geometry=[g for g, _ in rows],
        crs=crs,
    ))


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


# ---------------------------------------------------------------------- lattices


def lattice_points(nx: int, ny: int, *, dx: float, dy: float, x0: float, y0: float,
                   values: np.ndarray | None = None) -> PopulationInput:
    iy, ix = np.divmod(np.arange(nx * ny), nx)
    vals = np.full(nx * ny, 4.0) if values is None else np.asarray(values, float)
    return points_input(list(zip(x0 + ix * dx, y0 + iy * dy)), list(vals))


def test_lattice_points_spread_by_area_hand_values() -> None:
    # A 4 x 4 lattice of 100 m steps whose points sit on the corners of the 5 x 5 cells
    # (at X0+100 ... X0+400): each point's 100 m square straddles four cells, a quarter each.
    pop = lattice_points(4, 4, dx=100, dy=100, x0=X0 + 100, y0=Y0 + 100)
    got = spread_population(pop, squares(5, 5))
    assert got.method == "lattice" and got.lattice is not None
    assert sorted(got.lattice.spacing_m) == pytest.approx([100, 100])
    corner, edge, inner = 1.0, 2.0, 4.0  # 4 people: a quarter from 1, 2 or 4 points
    expected = np.array([
        [corner, edge, edge, edge, corner],
        [edge, inner, inner, inner, edge],
        [edge, inner, inner, inner, edge],
        [edge, inner, inner, inner, edge],
        [corner, edge, edge, edge, corner],
    ]).ravel()
    np.testing.assert_allclose(got.values, expected)
    assert got.values.sum() == pytest.approx(64) and got.outside == pytest.approx(0, abs=1e-9)
    # Counting each point in one cell instead piles them up (the old aliasing).
    binned = spread_population(pop, squares(5, 5), lattice=False).values
    assert binned.max() == 4 and (binned == 0).sum() == 9


def test_lattice_of_95_by_105_leaves_no_empty_stripes() -> None:
    # GHS-POP's lattice seen in UTM: 95 m x 105 m steps binned into 100 m cells.
    pop = lattice_points(30, 30, dx=95, dy=105, x0=X0 + 47.5, y0=Y0 + 52.5)
    cells = squares(30, 32)
    inner = np.zeros((32, 30), bool)
    inner[2:29, 2:27] = True  # away from the lattice's edge
    binned = spread_population(pop, cells, lattice=False).values.reshape(32, 30)
    spread = spread_population(pop, cells).values.reshape(32, 30)
    assert (binned[inner] == 0).sum() > 20  # stripes of empty cells
    assert (spread[inner] == 0).sum() == 0
    # Every interior cell holds 100 m x 100 m of people at 4 per 95 x 105 m.
    np.testing.assert_allclose(spread[inner], 4 * 100 * 100 / (95 * 105), rtol=1e-9)
    assert spread.sum() == pytest.approx(4 * 900)


def test_staggered_rotated_lattice_is_found() -> None:
    # Rows 105 m apart along a direction 20° off east, every other row shifted half a step.
    a = 105 * np.array([np.cos(np.radians(20)), np.sin(np.radians(20))])
    b = 0.5 * a + 94 * np.array([-np.sin(np.radians(20)), np.cos(np.radians(20))])
    ij = np.array([(i, j) for i in range(12) for j in range(12)], float)
    xy = ij @ np.vstack([a, b])
    found = detect_lattice(xy[:, 0], xy[:, 1])
    assert found is not None
    assert found.cell_area_m2 == pytest.approx(105 * 94, rel=1e-6)
    rects = lattice_cells(xy[:, 0], xy[:, 1], found)
    # The rectangles tile the plane: no overlap, so the union is as large as their sum.
    assert shapely.union_all(rects).area == pytest.approx(shapely.area(rects).sum(), rel=1e-9)


def test_scattered_points_are_no_lattice() -> None:
    rng = np.random.default_rng(3)
    assert detect_lattice(rng.uniform(0, 2000, 300), rng.uniform(0, 2000, 300)) is None
    assert detect_lattice(np.arange(20) * 100.0, np.zeros(20)) is None  # one row only
    assert detect_lattice(np.array([0.0, 100, 0, 100]), np.array([0.0, 0, 100, 100])) is None  # too few
    # A lattice with a third of its points jittered by 30 m is not regular.
    iy, ix = np.divmod(np.arange(100), 10)
    x, y = ix * 100.0, iy * 100.0
    x[::3] += 30
    assert detect_lattice(x, y) is None


@settings(max_examples=30, deadline=None)
@given(
    dx=st.floats(60, 140), dy=st.floats(60, 140),
    ox=st.floats(0, 100), oy=st.floats(0, 100),
    values=st.lists(st.floats(0, 5000, allow_nan=False), min_size=36, max_size=36),
)
def test_lattice_total_conserved(dx: float, dy: float, ox: float, oy: float, values: list[float]) -> None:
    pop = lattice_points(6, 6, dx=dx, dy=dy, x0=X0 + 200 + ox, y0=Y0 + 200 + oy, values=np.asarray(values))
    got = spread_population(pop, squares(14, 14))  # 1.4 km: the lattice and its cells fit
    assert got.method == "lattice"
    assert got.values.sum() == pytest.approx(sum(values), rel=1e-9, abs=1e-6)
    assert (got.values >= 0).all()


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


def test_raster_pixels_straddling_cells_are_shared_by_area(tmp_path: Path) -> None:
    # One 100 m pixel of 8 people shifted 50 m east and 50 m north of the cell grid.
    pop = read_population(_write_raster(tmp_path / "r.tif", np.array([[8.0]]), crs=UTM, west=X0 + 50, north=Y0 + 150, px=100))
    np.testing.assert_allclose(population_to_cells(pop, squares(2, 2)), [2, 2, 2, 2])


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
    cells = _aligned_grid(pts.total_bounds + np.array([-200, -200, 200, 200]))
    got = spread_population(pop, cells)
    # GHS-POP's points form a lattice of about 105 m x 94 m in UTM (Mollweide 100 m).
    assert got.method == "lattice"
    assert min(got.lattice.spacing_m) == pytest.approx(105, abs=3)
    assert got.lattice.cell_area_m2 == pytest.approx(10_000, rel=0.03)
    # Every lattice cell lies inside the grid: the whole file's people, about 720,000 (README).
    assert got.values.sum() == pytest.approx(pop.total, rel=1e-9)
    assert got.values.sum() == pytest.approx(720_000, rel=0.01)
    # Counting points per cell agrees with a spatial join done by geopandas.
    binned = spread_population(pop, cells, lattice=False).values
    joined = gpd.sjoin(pts, cells, predicate="within", how="inner")
    by_cell = joined.groupby("index_right")["population"].sum()
    np.testing.assert_allclose(binned[by_cell.index.to_numpy()], by_cell.to_numpy(), rtol=1e-9)


def test_real_ghs_pop_over_the_district(yuzhong_population: Path, yuzhong_boundary: Path) -> None:
    pop = read_population(yuzhong_population)
    area = gpd.read_file(yuzhong_boundary).to_crs(UTM).geometry.union_all()
    cells = _aligned_grid(np.asarray(area.bounds))
    cells = cells[cells.intersects(area)].reset_index(drop=True)
    got = spread_population(pop, cells)
    assert got.values.sum() + got.outside == pytest.approx(pop.total, rel=1e-9)
    # GHS-POP 2015 puts about 310,000 people in the district's cells; the file's other
    # points lie across the rivers, outside Yuzhong.
    assert 250_000 < got.values.sum() < pop.total
    # No aliasing stripes: every cell whose centre lies within 75 m of a populated point
    # has people; binning the points left about 200 of them empty.
    populated = pop.frame[pop.frame["population"] > 0].to_crs(UTM)
    near = cells.centroid.to_frame("geometry").sjoin_nearest(populated, max_distance=75.0, how="inner")
    near_rows = np.unique(near.index.to_numpy())
    binned = spread_population(pop, cells, lattice=False).values
    assert (got.values[near_rows] == 0).sum() == 0
    assert (binned[near_rows] == 0).sum() > 150


# ------------------------------------------------------------------- control totals


def test_control_total_rescales_every_cell() -> None:
    from lifecircle.spatial.population import control_population

    cells = squares(2, 2)
    got = control_population(np.array([10.0, 30.0, 0.0, 60.0]), cells, total=500.0, source="census")
    np.testing.assert_allclose(got.values, [50, 150, 0, 300])
    np.testing.assert_allclose(got.factor, 5.0)
    assert got.record["people_before"] == 100 and got.record["people_after"] == 500
    assert "500 people" in got.note and "census" in got.note
    with pytest.raises(OptionError, match="exactly one"):
        control_population(np.ones(4), cells)
    with pytest.raises(OptionError, match="no people"):
        control_population(np.zeros(4), cells, total=10.0)


def test_control_per_unit_rescales_within_each_unit() -> None:
    from lifecircle.spatial.population import control_population

    # 3 x 1 cells; unit "west" holds cells 0-1, unit "east" cell 2; a fourth cell lies in no unit.
    cells = squares(4, 1)
    units = gpd.GeoDataFrame(
        {"name": ["west", "east", "park"]},
        geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 100), shapely.box(X0 + 200, Y0, X0 + 300, Y0 + 100),
                  shapely.box(X0 + 300, Y0 + 500, X0 + 400, Y0 + 600)],
        crs=UTM,
    )
    values = np.array([10.0, 30.0, 0.0, 7.0])
    got = control_population(values, cells, unit_totals={"west": 200.0, "east": 50.0, "nowhere": 9.0}, units=units)
    # west: 10:30 of 200; east had nobody in the grid: its 50 spread evenly; cell 3 unchanged.
    np.testing.assert_allclose(got.values, [50, 150, 50, 7])
    np.testing.assert_allclose(got.factor, [5, 5, 0, 1])
    assert got.record["totals_without_unit"] == ["nowhere"]
    assert got.record["units_without_total"] == ["park"]
    assert got.record["units_spread_evenly"] == ["east"]
    assert got.record["people_outside_units_with_totals"] == 7
    with pytest.raises(OptionError, match="no unit name"):
        control_population(values, cells, unit_totals={"x": 1.0}, units=units)


def test_read_population_totals_table_and_codes(tmp_path: Path) -> None:
    from lifecircle.layers.population import read_population_totals

    path = tmp_path / "census.csv"
    path.write_text("社区名称,常住人口\n解放碑社区,8123\n500103001,5000\n", encoding="utf-8")
    totals = read_population_totals(path)
    assert totals.totals == {"解放碑社区": 8123.0, "500103001": 5000.0} and totals.units is None
    bad = tmp_path / "bad.csv"
    bad.write_text("名称,备注\nA,x\n", encoding="utf-8")
    with pytest.raises(PopulationError, match="total column"):
        read_population_totals(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("name,total\nA,1\nA,2\n", encoding="utf-8")
    with pytest.raises(PopulationError, match="more than once"):
        read_population_totals(dup)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=4, max_size=4).filter(lambda v: sum(v) > 1e-6),
       st.floats(1, 1e6))
def test_control_total_is_met_exactly(values: list[float], total: float) -> None:
    from lifecircle.spatial.population import control_population

    got = control_population(np.asarray(values), squares(2, 2), total=total)
    assert got.values.sum() == pytest.approx(total, rel=1e-9)


def test_read_population_totals_polygons(tmp_path: Path) -> None:
    from lifecircle.layers.population import read_population_totals
    from lifecircle.spatial.population import control_population

    path = tmp_path / "streets.geojson"
    gpd.GeoDataFrame({"街道": ["解放碑街道"], "常住人口": [900]},
                     geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 100)], crs=UTM).to_crs(4326).to_file(path)
    totals = read_population_totals(path)
    assert totals.totals == {"解放碑街道": 900.0} and list(totals.units["name"]) == ["解放碑街道"]
    got = control_population(np.array([1.0, 2.0, 5.0]), squares(3, 1), unit_totals=totals.totals, units=totals.units)
    np.testing.assert_allclose(got.values, [300, 600, 5])


def test_unit_totals_match_community_codes(tmp_path: Path) -> None:
    from lifecircle.layers.communities import read_communities
    from lifecircle.spatial.population import control_population

    path = tmp_path / "communities.geojson"
    gpd.GeoDataFrame({"名称": ["七星岗社区", "较场口社区"], "区划代码": ["500103001001", "500103001002"]},
                     geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
                     crs=UTM).to_file(path)
    units = read_communities(path)
    assert list(units["code"]) == ["500103001001", "500103001002"]
    got = control_population(np.array([1.0, 3.0]), squares(2, 1),
                             unit_totals={"500103001002": 600.0, "七星岗社区": 100.0}, units=units)
    np.testing.assert_allclose(got.values, [100, 600])


def test_population_totals_of_random_bytes_is_a_clean_error(tmp_path) -> None:
    from lifecircle._errors import PopulationError
    from lifecircle.layers.population import read_population_totals

    bad = tmp_path / "totals.csv"
    bad.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(PopulationError, match="--population-totals .*neither UTF-8 nor GB18030"):
        read_population_totals(bad)


def test_buildings_come_with_clean_columns_from_the_data_layer() -> None:
    """The computation reads storeys and homes from columns; raw OSM tags are the data layer's to read."""
    raw = gpd.GeoDataFrame({"tags": [{"building": "house", "building:levels": "3"}]},
                           geometry=[shapely.box(0, 0, 10, 10)], crs=UTM)
    with pytest.raises(OptionError, match="select_buildings"):
        floor_area(raw)
    clean = select_buildings(raw)
    assert clean["levels"].tolist() == [3.0] and clean["residential"].tolist() == [True]
    assert "levels" not in raw.columns  # the input is not modified
    np.testing.assert_allclose(floor_area(clean), [300.0])


# ------------------------------------------- buildings inside one cell skip the overlay

def _star(cx: float, cy: float, radii: list[float], turn: float, ccw: bool) -> shapely.Polygon:
    """A simple polygon around (cx, cy): one vertex per radius at evenly spread angles."""
    angles = turn + np.arange(len(radii)) * 2 * np.pi / len(radii)
    xy = np.column_stack([cx + np.asarray(radii) * np.cos(angles), cy + np.asarray(radii) * np.sin(angles)])
    return shapely.Polygon(xy if ccw else xy[::-1])


_building = st.builds(
    _star,
    cx=st.floats(2_000.0, 2_400.0), cy=st.floats(3_000.0, 3_300.0),
    radii=st.lists(st.floats(0.5, 40.0), min_size=3, max_size=12),
    turn=st.floats(0.0, 6.3), ccw=st.booleans(),
)


def _plain_area_split(cells: np.ndarray, geoms: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Every polygon intersected with every cell it touches (no shortcut)."""
    out = np.zeros(len(cells))
    g_idx, c_idx = shapely.STRtree(cells).query(geoms, predicate="intersects")
    inter = shapely.area(shapely.intersection(geoms[g_idx], cells[c_idx]))
    np.add.at(out, c_idx, values[g_idx] * (inter / shapely.area(geoms)[g_idx]))
    return out


@settings(max_examples=60, deadline=None)
@given(buildings=st.lists(_building, min_size=1, max_size=30),
       multi=st.booleans(), levels=st.lists(st.floats(1.0, 30.0), min_size=30, max_size=30))
def test_area_split_equals_plain_intersection(buildings, multi, levels):
    """Floor area spread over 100 m cells equals, to the last bit, intersecting every building
    with every cell, whether a building lies inside one cell (shortcut) or straddles several."""
    from lifecircle.spatial.grid import make_grid
    from lifecircle.spatial.population import _area_split, _cell_grid

    cells = make_grid(shapely.box(1_950.0, 2_950.0, 2_450.0, 3_350.0), cell_size_m=100.0, crs="EPSG:32648")
    geoms = np.array([shapely.MultiPolygon([b]) if multi else b for b in buildings], dtype=object)
    geoms = shapely.make_valid(geoms)
    values = np.asarray(levels[:len(geoms)]) * shapely.area(geoms)
    out, _ = _area_split(_cell_grid(cells), geoms, values)
    keep = values > 0
    expected = _plain_area_split(cells.geometry.to_numpy(), geoms[keep], values[keep])
    assert out.tobytes() == expected.tobytes()


@settings(max_examples=60, deadline=None)
@given(building=_building.filter(lambda b: b.is_valid))
def test_area_as_overlay_is_the_overlay_area(building):
    """The shortcut's area of a polygon inside a cell is GEOS's intersection area, bit for bit."""
    from lifecircle.spatial.population import _area_as_overlay

    ring = shapely.Polygon(shapely.get_coordinates(building.exterior)[::-1]) if not building.exterior.is_ccw else building
    cell = shapely.box(1_900.0, 2_900.0, 2_500.0, 3_400.0)
    assert _area_as_overlay(np.array([ring.exterior]))[0] == shapely.area(shapely.intersection(ring, cell))
