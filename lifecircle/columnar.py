"""Column-wise output: a run's layers as GeoParquet files, beside (or instead of) the GeoPackage.

GeoParquet is read in one go by geopandas (``geopandas.read_parquet``), DuckDB (spatial
extension: ``SELECT * FROM 'cells.parquet'``) and QGIS (GDAL 3.5 or newer), and it writes
and reads far faster than a GeoPackage for hundreds of thousands of cells. Files are in
EPSG:4326, like the GeoPackage; the CRS is recorded in the file's ``geo`` metadata.

The same frame gives the same bytes: no timestamps are written, the row order is the
frame's, and the library versions recorded in the metadata are fixed for an installation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from lifecircle._errors import OptionError, shorten

__all__ = ["FORMATS", "PARQUET_LAYERS", "parquet_name", "parse_formats", "write_geoparquet", "read_geoparquet",
           "to_lonlat", "lonlat_polygon_wkb"]

#: Output formats of the result layers: ``gpkg`` (one GeoPackage) and ``parquet`` (one GeoParquet per layer).
FORMATS: tuple[str, ...] = ("gpkg", "parquet")

#: The layers written as GeoParquet (file ``<layer>.parquet``).
PARQUET_LAYERS: tuple[str, ...] = ("cells", "communities", "facilities", "gap_areas")


def parquet_name(layer: str) -> str:
    """The file name of a layer in GeoParquet.

    Parameters
    ----------
    layer : str

    Returns
    -------
    str

    Examples
    --------
    >>> parquet_name("cells")
    'cells.parquet'
    """
    return f"{layer}.parquet"


def parse_formats(value: str | Iterable[str], *, option: str = "--format") -> tuple[str, ...]:
    """Checked output formats, in :data:`FORMATS` order, from ``"gpkg,parquet"`` or a list.

    Parameters
    ----------
    value : str or iterable of str
    option : str
        The option named in messages.

    Returns
    -------
    tuple of str

    Raises
    ------
    OptionError
        Empty, or a name that is not one of :data:`FORMATS`.

    Examples
    --------
    >>> parse_formats("parquet, gpkg")
    ('gpkg', 'parquet')
    """
    names = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        found = shorten(",".join(unknown)) if unknown else "nothing"
        raise OptionError(f"{option} must be a comma-separated list of {', '.join(FORMATS)}; found {found}.")
    return tuple(f for f in FORMATS if f in names)


#: Below this many geometries, reprojecting each vertex is as quick as finding the shared ones.
_SHARED_VERTICES_FROM = 10_000


def to_lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf.to_crs(4326)``, each distinct vertex reprojected once.

    A grid's square cells share their corners: a city's cells hold five vertices each but
    about one distinct corner per cell, so this reprojects about a fifth of the points. Each
    point goes through the same transformation as in ``to_crs``, so the coordinates are the
    same, bit for bit.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        With a CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326.

    Examples
    --------
    >>> cells = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[shapely.box(500_000, 3_300_000, 500_100, 3_300_100),
    ...                           shapely.box(500_100, 3_300_000, 500_200, 3_300_100)], crs="EPSG:32648")
    >>> to_lonlat(cells).geometry.equals(cells.to_crs(4326).geometry)
    True
    """
    geoms = gdf.geometry.to_numpy()
    data = np.asarray(geoms, dtype=object)
    if (gdf.crs is None or len(data) < _SHARED_VERTICES_FROM or shapely.is_missing(data).any()
            or shapely.has_z(data).any() or gdf.crs.equals(pyproj.CRS.from_user_input(4326))):
        return gdf.to_crs(4326)
    moved = _with_coordinates(data, _lonlat_coordinates(data, gdf.crs))
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(moved, index=gdf.index, crs=4326)
    return out.set_crs(4326, allow_override=True)


def _lonlat_coordinates(data: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """``shapely.get_coordinates(data)`` in EPSG:4326, each distinct vertex reprojected once
    (the same transformation, so the same bits, as ``to_crs``)."""
    coords = shapely.get_coordinates(data)
    bits = coords.view(np.int64)  # distinct by their exact bits (-0.0 is not 0.0)
    x_code, _ = pd.factorize(bits[:, 0])
    y_code, y_uniques = pd.factorize(bits[:, 1])
    vertex, first = _first_of_each(x_code, y_code, len(y_uniques))
    transformer = pyproj.Transformer.from_crs(crs, pyproj.CRS.from_user_input(4326), always_xy=True)
    lon, lat = transformer.transform(coords[first, 0], coords[first, 1])
    return np.column_stack([lon, lat])[vertex]


def _simple_polygons(data: np.ndarray) -> bool:
    """Every geometry a 2D polygon without holes, none missing or empty (a grid's cells)."""
    return bool(len(data) and not shapely.is_missing(data).any()
                and (shapely.get_type_id(data) == shapely.GeometryType.POLYGON).all()
                and not shapely.has_z(data).any() and not shapely.is_empty(data).any()
                and not shapely.get_num_interior_rings(data).any())


def lonlat_polygon_wkb(gdf: gpd.GeoDataFrame) -> pa.Array | None:
    """The geometries of ``gdf`` in EPSG:4326 as WKB, built from the coordinates in one pass.

    Only for a large layer of 2D polygons without holes in a projected CRS (a city's grid
    cells); ``None`` otherwise. The bytes are those of ``shapely.to_wkb(to_lonlat(gdf))``
    (little-endian ISO WKB, the byte order GEOS writes on this machine): no polygon object
    is made for the reprojected cells.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame

    Returns
    -------
    pyarrow.Array of binary, or None

    Examples
    --------
    >>> cells = gpd.GeoDataFrame(geometry=[shapely.box(500_000 + 100 * i, 3_300_000, 500_100 + 100 * i, 3_300_100)
    ...                                    for i in range(_SHARED_VERTICES_FROM)], crs="EPSG:32648")
    >>> wkb = lonlat_polygon_wkb(cells)
    >>> wkb.to_pylist() == list(shapely.to_wkb(to_lonlat(cells).geometry.to_numpy()))
    True
    """
    data = np.asarray(gdf.geometry.to_numpy(), dtype=object)
    if (gdf.crs is None or len(data) < _SHARED_VERTICES_FROM or sys.byteorder != "little"
            or gdf.crs.equals(pyproj.CRS.from_user_input(4326)) or not _simple_polygons(data)):
        return None
    coords = _lonlat_coordinates(data, gdf.crs)
    points = shapely.get_num_coordinates(data).astype(np.int64)
    sizes = 13 + 16 * points  # byte order, type, ring count, point count, x y per point
    ends = np.cumsum(sizes)
    starts = ends - sizes
    if ends[-1] >= 2**31:
        return None
    head = np.empty((len(data), 13), dtype=np.uint8)
    head[:, 0] = 1  # little-endian
    head[:, 1:5] = np.frombuffer(np.uint32(shapely.GeometryType.POLYGON).tobytes(), dtype=np.uint8)
    head[:, 5:9] = np.frombuffer(np.uint32(1).tobytes(), dtype=np.uint8)
    head[:, 9:13] = points.astype("<u4").view(np.uint8).reshape(-1, 4)
    buffer = np.empty(int(ends[-1]), dtype=np.uint8)
    in_head = np.zeros(len(buffer), dtype=bool)
    at = (starts[:, None] + np.arange(13)).ravel()
    in_head[at] = True
    buffer[at] = head.ravel()
    buffer[~in_head] = np.ascontiguousarray(coords, dtype="<f8").view(np.uint8).ravel()
    offsets = np.r_[0, ends].astype(np.int32)
    return pa.Array.from_buffers(pa.binary(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(buffer)])


def _with_coordinates(data: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """The geometries with new coordinates (in ``shapely.get_coordinates`` order): polygons
    without holes built whole from flat arrays (a grid's cells), others one by one."""
    polygons = (shapely.get_type_id(data) == shapely.GeometryType.POLYGON).all()
    if polygons and not shapely.get_num_interior_rings(data).any() and not shapely.is_empty(data).any():
        ends = np.r_[0, np.cumsum(shapely.get_num_coordinates(data))]
        return shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ends, np.arange(len(data) + 1)))
    return shapely.set_coordinates(data.copy(), coords)


def _first_of_each(x_code: np.ndarray, y_code: np.ndarray, n_y: int) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the number of its distinct (x, y) pair, and a point of each pair."""
    vertex, uniques = pd.factorize(x_code.astype(np.int64) * n_y + y_code)
    first = np.empty(len(uniques), dtype=np.int64)
    first[vertex] = np.arange(len(vertex))  # any point of a pair will do: they hold the same bits
    return vertex, first


def _plain(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """EPSG:4326 copy with a plain index and object columns as text (Arrow needs one type per column)."""
    out = to_lonlat(gdf).reset_index(drop=True)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return out


def write_geoparquet(layers: Mapping[str, gpd.GeoDataFrame], folder: Path, *,
                     mark: object = None) -> list[Path]:
    """Write each layer to ``folder/<layer>.parquet`` (EPSG:4326, zstd, no index).

    Parameters
    ----------
    layers : mapping of str to geopandas.GeoDataFrame
        The frames by layer name, in any CRS.
    folder : pathlib.Path
        Where to write (the staging folder of an output set).
    mark : callable, optional
        Called with each path before it is written (:func:`lifecircle.outfolder.writing`,
        so that an error names the file).

    Returns
    -------
    list of pathlib.Path
    """
    paths = []
    for name, gdf in layers.items():
        path = folder / parquet_name(name)
        if callable(mark):
            mark(path)
        _plain(gdf).to_parquet(path, index=False, compression="zstd", schema_version="1.0.0")
        paths.append(path)
    return paths


def read_geoparquet(paths: Sequence[str | Path], *, key: str | None = None,
                    keys: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """Read GeoParquet files into one frame; with ``key``, a column naming each file's part.

    Parameters
    ----------
    paths : sequence of path
    key : str, optional
        Name of the column to add (e.g. ``area``).
    keys : sequence of str, optional
        One value per path for that column.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    frames = []
    for i, path in enumerate(paths):
        gdf = gpd.read_parquet(path)
        if key is not None and keys is not None:
            gdf.insert(0, key, keys[i])
        frames.append(gdf)
    if not frames:
        return gpd.GeoDataFrame({key: []} if key else {}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
