"""Column-wise output: a run's layers as GeoParquet files, beside (or instead of) the GeoPackage.

GeoParquet is read in one go by geopandas (``geopandas.read_parquet``), DuckDB (spatial
extension: ``SELECT * FROM 'cells.parquet'``) and QGIS (GDAL 3.5 or newer), and it writes
and reads far faster than a GeoPackage for hundreds of thousands of cells. Files are in
EPSG:4326, like the GeoPackage; the CRS is recorded in the file's ``geo`` metadata.

The same frame gives the same bytes: no timestamps are written, the row order is the
frame's, and the library versions recorded in the metadata are fixed for an installation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle._errors import OptionError, shorten

__all__ = ["FORMATS", "PARQUET_LAYERS", "parquet_name", "parse_formats", "write_geoparquet", "read_geoparquet"]

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


def _plain(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """EPSG:4326 copy with a plain index and object columns as text (Arrow needs one type per column)."""
    out = gdf.to_crs(4326).reset_index(drop=True)
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
