"""The cell images' geometry: the grid recognised, the polynomial placing it, the warp, the PNG."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle._errors import OptionError
from lifecircle.layers.chinese_coords import gcj02_to_wgs84
from lifecircle.maps import raster
from lifecircle.spatial.grid import make_grid

UTM = "EPSG:32648"


@pytest.fixture(scope="module")
def district() -> gpd.GeoDataFrame:
    """A 30 km × 20 km district around Chongqing's centre, 100 m cells, with a hole (a river)."""
    x0, y0 = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(106.40, 29.45)
    area = shapely.box(x0, y0, x0 + 30_000, y0 + 20_000).difference(shapely.box(x0 + 10_000, y0, x0 + 10_500, y0 + 20_000))
    return make_grid(area, cell_size_m=100.0, crs=UTM)


def test_layout_of_make_grid(district: gpd.GeoDataFrame) -> None:
    layout = raster.grid_layout(district)
    assert (layout.dx, layout.dy) == (100.0, 100.0)
    assert layout.cols == 300 and layout.rows == 200
    # cell_id "r<row>c<col>" counts rows from the south; the layout from the north.
    rows = district["cell_id"].str.extract(r"r(-?\d+)c(-?\d+)").astype(int)
    assert np.array_equal(layout.col, rows[1] - rows[1].min())
    assert np.array_equal(layout.row, rows[0].max() - rows[0])


def test_layout_of_reprojected_grid_is_found_in_utm(district: gpd.GeoDataFrame) -> None:
    small = district.iloc[:500]
    layout = raster.grid_layout(small.to_crs("EPSG:4326"))
    assert layout.crs.utm_zone == "48N"
    assert np.array_equal(layout.col, raster.grid_layout(small).col)


def test_not_a_grid_is_refused(district: gpd.GeoDataFrame) -> None:
    shifted = district.iloc[:10].copy()
    shifted.loc[shifted.index[3], "geometry"] = shapely.affinity.translate(shifted.geometry.iloc[3], 37.0, 0.0)
    with pytest.raises(OptionError, match="regular grid"):
        raster.grid_layout(shifted)
    with pytest.raises(OptionError, match="regular grid"):
        raster.grid_layout(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0).buffer(50)], crs=UTM).iloc[:0])


@pytest.mark.parametrize(("shift", "bound"), [("none", 0.01), ("gcj02", 5.0)])
def test_polynomial_matches_the_exact_transformation(district: gpd.GeoDataFrame, shift: str, bound: float) -> None:
    layout = raster.grid_layout(district)
    transform = raster.display_transform(layout, shift=shift)
    assert transform.error < bound  # metres: sub-centimetre in UTM; a twentieth of a cell with GCJ-02
    # Check independently at random points of the extent.
    rng = np.random.default_rng(1)
    xmin, ymin, xmax, ymax = transform.bounds
    x, y = rng.uniform(xmin, xmax, 2000), rng.uniform(ymin, ymax, 2000)
    lon, lat = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True).transform(x, y)
    if shift == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    e, n = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(lon, lat)
    pe, pn = transform(x, y)
    assert np.hypot(pe - e, pn - n).max() <= max(transform.error * 1.5, 1e-3)


def test_warp_shows_each_pixel_s_cell(district: gpd.GeoDataFrame) -> None:
    layout = raster.grid_layout(district)
    transform = raster.display_transform(layout)
    factor, pixel = raster.choose_oversample(layout, transform)
    assert factor == 4  # 60,000 cells: 4 × 4 pixels each fit the budget
    lookup = np.full((layout.rows, layout.cols), -1, dtype=np.int32)
    lookup[layout.row, layout.col] = np.arange(len(district))
    index, bounds = raster.warp_index(layout, transform, lookup, pixel=pixel)
    # Every cell appears (about 16 pixels each), none is skipped.
    counts = np.bincount(index[index >= 0], minlength=len(district))
    assert counts.min() >= 9 and abs(counts.mean() - 16) < 1
    # Pixel centres, projected exactly, fall in the cell the image shows (or within an
    # eighth of a cell of it: nearest-pixel sampling at 4 pixels per cell).
    rng = np.random.default_rng(2)
    rows, cols = rng.integers(0, index.shape[0], 3000), rng.integers(0, index.shape[1], 3000)
    xmin, _, _, ymax = transform.bounds
    x, y = xmin + (cols + 0.5) * pixel, ymax - (rows + 0.5) * pixel
    lon, lat = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True).transform(x, y)
    e, n = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(lon, lat)
    shown = index[rows, cols]
    cells = shapely.points(e, n)
    inside = shown >= 0
    assert shapely.contains(district.geometry.values[shown[inside]], cells[inside]).all()
    # Pixels shown empty are outside every cell (the river and the margins).
    hit = district.sindex.query(cells[~inside], predicate="within")
    assert hit.size == 0
    assert bounds[0][0] < bounds[1][0] and bounds[0][1] < bounds[1][1]


def test_oversampling_drops_for_big_grids(district: gpd.GeoDataFrame) -> None:
    layout = raster.grid_layout(district)
    transform = raster.display_transform(layout)
    assert raster.choose_oversample(layout, transform, budget=400_000)[0] == 2
    assert raster.choose_oversample(layout, transform, budget=10)[0] == 1


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(2, 12), st.randoms(use_true_random=False))
def test_palette_png_round_trip(height: int, width: int, colours: int, rnd) -> None:
    from PIL import Image

    pixels = np.array([[rnd.randrange(colours) for _ in range(width)] for _ in range(height)], dtype=np.uint8)
    palette = [(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) for _ in range(colours)]
    png = raster.palette_png(pixels, palette)
    assert png == raster.palette_png(pixels.copy(), list(palette))  # same pixels, same bytes
    decoded = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    assert np.array_equal(decoded, np.array(palette, dtype=np.uint8)[pixels])


def test_edge_mask_outlines_cells() -> None:
    index = np.array([[-1, -1, -1, -1, -1], [-1, 0, 0, 1, 1], [-1, 0, 0, 1, 1], [-1, 0, 0, -1, -1], [-1, -1, -1, -1, -1]])
    edge = raster.edge_mask(index)
    # One pixel wide: the line between cells 0 and 1 is drawn once (on 1's side); outer sides inside the cells.
    assert edge.astype(int).tolist() == [
        [0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1],
        [0, 1, 0, 1, 1],
        [0, 1, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ]
