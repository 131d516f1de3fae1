"""Read a digital elevation model (DEM) and check that it covers the study area.

A DEM is any single-band raster GDAL reads (normally a GeoTIFF) with a coordinate
reference system; it may be in any CRS: :mod:`lifecircle.spatial.terrain` transforms the
network's points into the DEM's CRS before sampling it, so the raster is never resampled.

The whole raster is read into memory as ``float64`` with ``NaN`` for nodata: a city-sized
DEM (Yuzhong's SRTM tile is 343 x 145 cells; a 30 m DEM of a 50 km square is 2.8 million
cells, 22 MB) fits easily.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import rasterio
import shapely
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.windows import Window, from_bounds

from lifecircle._errors import DemError, InputNotFoundError, shorten

__all__ = ["Dem", "read_dem", "check_dem_overlap"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dem:
    """An elevation raster in memory.

    Attributes
    ----------
    array : numpy.ndarray
        Heights in metres, shape ``(rows, cols)``, ``float64``, ``NaN`` where nodata.
    transform : affine.Affine
        Maps (col, row) of a cell's upper-left corner to (x, y) in ``crs``.
    crs : pyproj.CRS
        The raster's CRS.
    path : pathlib.Path
        The file it was read from (for messages and the run record).
    """

    array: np.ndarray
    transform: Affine
    crs: pyproj.CRS
    path: Path

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        rows, cols = self.array.shape
        return int(rows), int(cols)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the raster's outline in its own CRS."""
        rows, cols = self.array.shape
        xs, ys = zip(*(self.pixel_to_xy(c, r) for c, r in ((0, 0), (cols, 0), (0, rows), (cols, rows))))
        return (min(xs), min(ys), max(xs), max(ys))

    def pixel_to_xy(self, col: float, row: float) -> tuple[float, float]:
        """(x, y) in ``crs`` of a position in (fractional) column, row units."""
        a, b, c, d, e, f = tuple(self.transform)[:6]
        return (a * col + b * row + c, d * col + e * row + f)

    def valid_footprint(self) -> shapely.Polygon:
        """The bounding rectangle (in ``crs``) of the cells that hold data."""
        valid = np.isfinite(self.array)
        rows = np.flatnonzero(valid.any(axis=1))
        cols = np.flatnonzero(valid.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        corners = [self.pixel_to_xy(c, r) for c, r in ((c0, r0), (c1, r0), (c1, r1), (c0, r1))]
        return shapely.Polygon(corners)

    def summary(self) -> dict[str, Any]:
        """Facts for logs and the run record."""
        valid = np.isfinite(self.array)
        return {
            "path": str(self.path),
            "crs": self.crs.to_string(),
            "shape": list(self.array.shape),
            "cell_size": [abs(self.transform.a), abs(self.transform.e)],
            "nodata_share": round(float(1.0 - valid.mean()), 4),
            "min_m": float(np.nanmin(self.array)),
            "max_m": float(np.nanmax(self.array)),
        }


def read_dem(
    path: str | Path,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    bounds_crs: pyproj.CRS | str | int | None = None,
) -> Dem:
    """Read band 1 of a DEM file, optionally only the part around an area.

    Parameters
    ----------
    path : str or pathlib.Path
        A GeoTIFF (or any raster GDAL reads) with a CRS.
    bounds : tuple of float, optional
        ``(minx, miny, maxx, maxy)`` of the study area: only the cells covering it (plus
        two cells of margin for interpolation) are read, so a province-wide DEM does not
        have to fit in memory.
    bounds_crs : pyproj.CRS, str or int, optional
        CRS of ``bounds``; required with ``bounds``.

    Returns
    -------
    Dem
        Heights as ``float64`` with nodata (the file's nodata value, and any non-finite
        value) as ``NaN``.

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    DemError
        The file cannot be read as a raster, has no CRS, holds no valid height, or does
        not reach ``bounds``.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"DEM file {path} does not exist.")
    if path.is_dir():
        raise DemError(f"DEM {path} is a folder: expected a GeoTIFF file.")
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise DemError(
                    f"DEM {path} has no CRS: expected a GeoTIFF with a coordinate reference system "
                    "(assign one, e.g. `gdal_edit.py -a_srs EPSG:32648 file.tif`)."
                )
            if src.count > 1:
                log.warning("DEM %s has %d bands: using band 1.", path, src.count)
            window = None
            if bounds is not None:
                window = _window_for(src, bounds, bounds_crs, path)
            data = src.read(1, masked=True, window=window)
            transform = src.transform
            if window is not None:  # shift the origin to the window (no Affine `*`: deprecated)
                a, b, c, d, e, f = tuple(transform)[:6]
                co, ro = window.col_off, window.row_off
                transform = Affine(a, b, a * co + b * ro + c, d, e, d * co + e * ro + f)
            crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
    except DemError:
        raise
    except (RasterioError, OSError) as exc:
        raise DemError(f"DEM {path} cannot be read as a raster: {shorten(str(exc), limit=200)}") from None
    array = np.ma.filled(data.astype(np.float64), np.nan)
    array[~np.isfinite(array)] = np.nan
    if transform.is_degenerate:
        raise DemError(f"DEM {path} has a degenerate geotransform {tuple(transform)[:6]}: expected cells of non-zero size.")
    if not np.isfinite(array).any():
        raise DemError(f"DEM {path} holds only nodata cells: expected heights in metres.")
    _check_heights(array, path)
    dem = Dem(array=array, transform=transform, crs=crs, path=path)
    s = dem.summary()
    log.info(
        "Read DEM %s: %d x %d cells of %.1f x %.1f in %s, heights %.0f-%.0f m, %.1f%% nodata",
        path.name, array.shape[0], array.shape[1], s["cell_size"][0], s["cell_size"][1],
        s["crs"], s["min_m"], s["max_m"], 100 * s["nodata_share"],
    )
    return dem


def _window_for(src, bounds, bounds_crs, path: Path):
    """The raster window covering ``bounds`` (given in ``bounds_crs``) plus two cells."""
    if bounds_crs is None:
        raise DemError(f"read_dem({path}): bounds given without bounds_crs.")
    crs = pyproj.CRS.from_user_input(bounds_crs)
    to_dem = pyproj.Transformer.from_crs(crs, pyproj.CRS.from_user_input(src.crs.to_wkt()), always_xy=True)
    left, bottom, right, top = bounds
    minx, miny, maxx, maxy = to_dem.transform_bounds(left, bottom, right, top, densify_pts=21)
    win = from_bounds(minx, miny, maxx, maxy, transform=src.transform)
    col0 = int(np.floor(win.col_off)) - 2
    row0 = int(np.floor(win.row_off)) - 2
    col1 = int(np.ceil(win.col_off + win.width)) + 2
    row1 = int(np.ceil(win.row_off + win.height)) + 2
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, src.width), min(row1, src.height)
    if col1 <= col0 or row1 <= row0:
        raise DemError(
            f"DEM {path} does not overlap the study area: the area's bounds {tuple(round(b, 3) for b in bounds)} "
            f"({crs.to_string()}) fall outside the raster {tuple(round(b, 3) for b in src.bounds)} ({src.crs})."
        )
    return Window(col0, row0, col1 - col0, row1 - row0)


#: Heights no place on the Earth's surface reaches, in metres: above Everest (8,849 m), a
#: median above the highest towns, below the deepest ocean floor.
MAX_HEIGHT_M, MAX_MEDIAN_HEIGHT_M, MIN_HEIGHT_M = 9_000.0, 6_000.0, -11_000.0


def _check_heights(array: np.ndarray, path: Path) -> None:
    """Refuse heights that cannot be metres of the Earth's surface (a DEM in millimetres or
    centimetres, or an undeclared nodata filler): every slope would come out 1,000 times steeper."""
    valid = array[np.isfinite(array)]
    top, median, low = float(valid.max()), float(np.median(valid)), float(valid.min())
    if top > MAX_HEIGHT_M or median > MAX_MEDIAN_HEIGHT_M or low < MIN_HEIGHT_M:
        raise DemError(
            f"--dem {str(path)!r}: heights from {low:,.0f} to {top:,.0f} (median {median:,.0f}) are not plausible "
            f"metres for the Earth's surface (Everest is 8,849 m). Is the DEM in millimetres or centimetres, or is "
            "its nodata value not declared? Expected heights in metres."
        )


def check_dem_overlap(dem: Dem, area_polygon: shapely.Geometry, area_crs: pyproj.CRS | str | int) -> float:
    """Check that a DEM's data covers (part of) a study area.

    Parameters
    ----------
    dem : Dem
        The elevation raster (:func:`lifecircle.layers.elevation.read_dem`).
    area_polygon : shapely.Geometry
        The study area (or the network's extent).
    area_crs : pyproj.CRS, str or int
        CRS of ``area_polygon``.

    Returns
    -------
    float
        Share (0-1] of the area's surface inside the DEM's valid-data rectangle. A share
        below 1 is logged as a warning: the uncovered part will be walked as flat.

    Raises
    ------
    DemError
        The DEM's data does not overlap the area at all.

    Examples
    --------
    A 3 x 2 raster of 30 m cells, heights rising 10 m a column, written to a temporary file:

    >>> import tempfile, rasterio
    >>> from affine import Affine
    >>> path = Path(tempfile.mkdtemp()) / "dem.tif"
    >>> heights = np.array([[200.0, 210.0, 220.0], [200.0, 210.0, -9999.0]], dtype=np.float32)
    >>> with rasterio.open(path, "w", driver="GTiff", width=3, height=2, count=1, dtype="float32", nodata=-9999.0,
    ...                    crs="EPSG:32648", transform=Affine(30, 0, 600_000, 0, -30, 3_270_060)) as out:
    ...     out.write(heights, 1)
    >>> dem = read_dem(path)
    >>> dem.shape, dem.crs.to_epsg(), dem.array[1].tolist()
    ((2, 3), 32648, [200.0, 210.0, nan])
    >>> round(check_dem_overlap(dem, shapely.box(600_000, 3_270_000, 600_090, 3_270_060), 32648), 2)
    1.0
    """
    area_crs = pyproj.CRS.from_user_input(area_crs)
    if area_polygon is None or shapely.is_empty(area_polygon):
        raise DemError("check_dem_overlap: the study area is empty.")
    to_dem = pyproj.Transformer.from_crs(area_crs, dem.crs, always_xy=True)
    # Densify first so that curved outlines stay faithful after reprojection.
    area = shapely.segmentize(area_polygon, max_segment_length=_densify_step(area_polygon))
    area_dem = shapely.transform(area, lambda xy: np.column_stack(to_dem.transform(xy[:, 0], xy[:, 1])))
    footprint = dem.valid_footprint()
    if not shapely.is_valid(area_dem):
        area_dem = shapely.make_valid(area_dem)
    inter = shapely.intersection(area_dem, footprint)
    area_size = shapely.area(area_dem)
    if area_size == 0:  # a line or point area: test intersection instead
        if not shapely.intersects(area_dem, footprint):
            raise _no_overlap(dem, area_dem)
        return 1.0
    share = float(shapely.area(inter) / area_size)
    if share <= 0:
        raise _no_overlap(dem, area_dem)
    if share < 0.999:
        log.warning(
            "DEM %s covers %.1f%% of the study area: ways outside it are walked as flat.",
            dem.path.name, 100 * share,
        )
    return min(share, 1.0)


def _densify_step(geom: shapely.Geometry) -> float:
    minx, miny, maxx, maxy = shapely.bounds(geom)
    return max(maxx - minx, maxy - miny, 1e-9) / 50.0


def _no_overlap(dem: Dem, area_dem: shapely.Geometry) -> DemError:
    b = tuple(round(float(x), 3) for x in dem.valid_footprint().bounds)
    a = tuple(round(float(x), 3) for x in shapely.bounds(area_dem))
    return DemError(
        f"DEM {dem.path} does not overlap the study area: its data covers {b} but the area spans "
        f"{a} (both in {dem.crs.to_string()}). Expected a DEM of the same place."
    )
