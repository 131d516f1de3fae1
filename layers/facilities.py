"""Read a user's own facilities file (``--facilities FILE``).

A planner often has a better list of clinics or schools than OpenStreetMap: a CSV
exported from a spreadsheet or a map service, a GeoJSON or a GeoPackage. Each row is
one facility with a category column naming a category of the catalogue (its name such
as ``school``, or its label such as ``学校`` / ``School``).

Formats
-------
CSV (``.csv``, ``.txt``, ``.tsv``)
    Point facilities from a longitude and a latitude column, in degrees of WGS84
    (EPSG:4326) unless ``crs_hint`` says otherwise. Column names are matched
    case-insensitively: longitude ``lon``, ``lng``, ``long``, ``longitude``, ``x``,
    ``经度``; latitude ``lat``, ``latitude``, ``y``, ``纬度``. Encoding UTF-8 (with or
    without BOM), else GB18030 (files saved by Excel on Chinese Windows).
GeoJSON (``.geojson``, ``.json``)
    Always WGS84 (RFC 7946); a legacy ``crs`` member is honoured by the reader.
GeoPackage, Shapefile, FlatGeobuf (``.gpkg``, ``.shp``, ``.fgb``)
    Must carry a CRS (else :class:`~lifecircle._errors.NoCrsError`, unless
    ``crs_hint`` supplies one). A file with several layers needs ``layer``.

Geometries may be points or polygons (a park outline: it is reached at its edge).

Chinese coordinates
-------------------
Lists exported from Amap/Gaode or Tencent are in GCJ-02, from Baidu in BD-09: offsets of
several hundred metres from WGS84, a large share of a 15-minute walk.
``crs_hint="gcj02"`` or ``"bd09"`` converts them to WGS84 with
:func:`lifecircle.layers.chinese_coords.gcj02_to_wgs84` /
:func:`~lifecircle.layers.chinese_coords.bd09_to_wgs84` (imported when needed).

The result is always in EPSG:4326, the CRS of :func:`lifecircle.layers.osm.read_osm`'s
features, so both sources combine directly.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError

from lifecircle._errors import (
    FacilitiesFileError,
    InputNotFoundError,
    NoCrsError,
    OptionError,
    UnknownCategoryError,
    plain_number,
    shorten,
)
from lifecircle.layers._columns import LAT_ALIASES, LON_ALIASES, find_column
from lifecircle.layers.catalogue import Catalogue, assess_completeness, match_sites, resolve_category, select
from lifecircle.layers.poi_types import classify_poi, load_poi_types

__all__ = [
    "CSV_SUFFIXES",
    "LAT_ALIASES",
    "LOCATION_ALIASES",
    "LON_ALIASES",
    "NAME_ALIASES",
    "TYPECODE_ALIASES",
    "TYPE_ALIASES",
    "VECTOR_SUFFIXES",
    "completeness_for",
    "find_facilities",
    "find_facility_sites",
    "read_facilities_file",
    "check_facilities_near_area",
    "check_capacity_sources",
]

log = logging.getLogger(__name__)

CSV_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".tsv")
VECTOR_SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".gpkg", ".shp", ".fgb")
#: Accepted name column names (case-insensitive), in order of preference; lon/lat: layers/_columns.py.
NAME_ALIASES: tuple[str, ...] = ("name", "名称", "名字", "name_zh", "title")
#: A single "longitude,latitude" column (Amap exports: ``location``).
LOCATION_ALIASES: tuple[str, ...] = ("location", "lnglat", "lonlat", "坐标", "经纬度")
#: POI type text columns (Amap ``type``, Baidu ``tag``), used when there is no category column.
TYPE_ALIASES: tuple[str, ...] = ("type", "tag", "类型", "分类", "poi_type")
#: POI type code columns (Amap ``typecode``).
TYPECODE_ALIASES: tuple[str, ...] = ("typecode", "type_code", "typecodes", "类型编码", "分类编码")
_CHINESE = ("gcj02", "bd09")
_ALLOWED_TYPES = {0: "Point", 3: "Polygon", 4: "MultiPoint", 6: "MultiPolygon"}
_MAX_LISTED = 8


def _rows(positions: np.ndarray, offset: int) -> str:
    """``'rows 3, 7, 12 (and 4 more)'`` for messages; ``offset`` turns positions into file rows."""
    shown = ", ".join(str(int(p) + offset) for p in positions[:_MAX_LISTED])
    more = f" (and {len(positions) - _MAX_LISTED} more)" if len(positions) > _MAX_LISTED else ""
    return f"{'row' if len(positions) == 1 else 'rows'} {shown}{more}"


def _normalise_hint(crs_hint: str | None) -> tuple[str | None, Any]:
    """Return (chinese system or None, pyproj CRS or None) for ``crs_hint``."""
    if crs_hint is None:
        return None, None
    if not isinstance(crs_hint, str) or not crs_hint.strip():
        raise OptionError(f"--facilities-crs (crs_hint): expected 'gcj02', 'bd09', 'wgs84' or a CRS such as 'EPSG:4547', "
                          f"found {shorten(crs_hint)}.")
    key = crs_hint.strip().lower().replace("-", "").replace("_", "")
    if key in _CHINESE:
        return key, None
    if key in ("wgs84", "epsg4326"):
        return None, "EPSG:4326"

    try:
        return None, CRS.from_user_input(crs_hint.strip())
    except CRSError as exc:
        raise OptionError(
            f"--facilities-crs (crs_hint): {shorten(crs_hint)} is neither 'gcj02', 'bd09', 'wgs84' nor a CRS pyproj knows."
        ) from exc


def _read_csv(path: Path) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    last: Exception | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, sep=sep, encoding=encoding, dtype=str,
                               keep_default_na=False, skipinitialspace=True)
        except UnicodeDecodeError as exc:
            last = exc
        except pd.errors.EmptyDataError as exc:
            raise FacilitiesFileError(f"Facilities file {str(path)!r} is empty (no header, no rows).") from exc
        except (pd.errors.ParserError, csv.Error) as exc:
            raise FacilitiesFileError(f"Facilities file {str(path)!r} is not a readable CSV table: {shorten(str(exc), limit=200)}") from exc
    raise FacilitiesFileError(f"Facilities file {str(path)!r} is neither UTF-8 nor GB18030 text: {last}.")


def _split_location(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, str | None]:
    """A copy with ``lon``/``lat`` columns split from a one-column ``"lng,lat"`` location."""
    columns = list(df.columns)
    if find_column(columns, LON_ALIASES) is not None and find_column(columns, LAT_ALIASES) is not None:
        return df, None
    loc_col = find_column(columns, LOCATION_ALIASES)
    if loc_col is None:
        return df, None
    parts = df[loc_col].astype(str).str.strip().str.split(r"\s*[,，]\s*", regex=True)
    bad = np.flatnonzero(parts.map(len).to_numpy() != 2)
    if len(bad):
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r}: {_rows(bad, 2)} have a {str(loc_col)!r} that is not "
            f"\"longitude,latitude\" (first: {df[loc_col].iloc[bad[0]]!r})."
        )
    out = df.drop(columns=[loc_col]).copy()
    out["lon"] = parts.str[0].to_numpy()
    out["lat"] = parts.str[1].to_numpy()
    return out, str(loc_col)


def _points_from_csv(df: pd.DataFrame, path: Path, hint_crs: Any) -> gpd.GeoDataFrame:
    df, _ = _split_location(df, path)
    columns = list(df.columns)
    lon_col = find_column(columns, LON_ALIASES)
    lat_col = find_column(columns, LAT_ALIASES)
    if lon_col is None or lat_col is None:
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r} has no {'longitude' if lon_col is None else 'latitude'} column: "
            f"expected one of {LON_ALIASES if lon_col is None else LAT_ALIASES} (any case), or one "
            f"\"lng,lat\" column named one of {LOCATION_ALIASES} (Amap's location); "
            f"found columns {[str(c) for c in columns]}."
        )
    lon = pd.to_numeric(df[lon_col].str.strip(), errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(df[lat_col].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
    if len(bad):
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r}: {_rows(bad, 2)} have no numeric {lon_col!r}/{lat_col!r} "
            f"(first: {shorten(df[lon_col].iloc[bad[0]])}, {shorten(df[lat_col].iloc[bad[0]])})."
        )
    crs = hint_crs if hint_crs is not None else "EPSG:4326"

    if CRS.from_user_input(crs).is_geographic:
        _check_lonlat(lon, lat, path, row_offset=2, columns=(lon_col, lat_col))
    return gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=gpd.points_from_xy(lon, lat), crs=crs)


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, path: Path, *, row_offset: int,
                  columns: tuple[Any, Any] = ("longitude", "latitude")) -> None:
    bad = np.flatnonzero(~((np.abs(lon) <= 180) & (np.abs(lat) <= 90)))
    if len(bad):
        i = bad[0]
        swapped = " (are longitude and latitude swapped?)" if abs(lat[i]) <= 180 and abs(lon[i]) <= 90 else ""
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r}: {_rows(bad, row_offset)} have coordinates outside "
            f"longitude -180..180 / latitude -90..90 (first: {str(columns[0])[:40]}={plain_number(lon[i])}, "
            f"{str(columns[1])[:40]}={plain_number(lat[i])})"
            f"{swapped}. Expected WGS84 degrees (Amap/Baidu ones with --facilities-crs gcj02 or bd09); save projected "
            "coordinates as a GeoPackage with their CRS."
        )


def _read_vector(path: Path, layer: str | int | None) -> gpd.GeoDataFrame:
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise FacilitiesFileError(f"Facilities file {str(path)!r} cannot be read as {path.suffix} data: {shorten(str(exc), limit=200)}") from exc
    if len(layers) == 0:
        raise FacilitiesFileError(f"Facilities file {str(path)!r} holds no layer.")
    if layer is None and len(layers) > 1:
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r} holds {len(layers)} layers ({', '.join(str(n) for n in layers[:, 0])}); "
            "name the one with the facilities (layer=...)."
        )
    try:
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise FacilitiesFileError(f"Facilities file {str(path)!r} cannot be read: {shorten(str(exc), limit=200)}") from exc


def _categories_from_poi_types(gdf: gpd.GeoDataFrame, path: Path, catalogue: Catalogue,
                               category_column: str) -> tuple[gpd.GeoDataFrame, dict[str, str], str]:
    """Categories of a POI export from its type text / type code columns; unmatched rows dropped."""
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    type_col = find_column(columns, TYPE_ALIASES)
    code_col = find_column(columns, TYPECODE_ALIASES)
    if type_col is None and code_col is None:
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r} has no {category_column!r} column and no POI type column; found "
            f"columns {[str(c) for c in columns]}. Add a column naming each facility's category "
            f"({', '.join(catalogue.names)}), or keep the type/typecode columns of an Amap or Baidu export "
            f"(type: one of {TYPE_ALIASES}, code: one of {TYPECODE_ALIASES})."
        )

    table = load_poi_types(catalogue.poi_types)

    def text(col: Any) -> list[Any]:
        if col is None:
            return []
        return [v if isinstance(v, str) else (None if v is None or (isinstance(v, float) and np.isnan(v))
                                              else str(v)) for v in gdf[col].tolist()]

    found = classify_poi(text(type_col), text(code_col), table)
    known = np.array([c is not None and c in catalogue for c in found], dtype=bool)
    if not known.any():
        seen = pd.Series(text(type_col) or text(code_col)).value_counts().head(5)
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r} has no {category_column!r} column (found columns "
            f"{[str(c) for c in columns]}), and none of its {len(gdf)} rows has a POI type that maps to a "
            f"category (most common: {', '.join(f'{k!r} ({v})' for k, v in seen.items())}). Add a column naming "
            f"each facility's category ({', '.join(catalogue.names)}), or map the types in your catalogue file "
            "under 'poi_types' (see layers/poi_types.yaml)."
        )
    if (~known).any():
        log.info("%s: %d of %d POIs have a type that is not an everyday facility or is not in the type table; "
                 "skipped", path.name, int((~known).sum()), len(gdf))
    out = gdf.loc[known].copy()
    out["category"] = found[known]
    cats = list(dict.fromkeys(out["category"].tolist()))
    return out.reset_index(drop=True), {c: c for c in cats}, "category"


def _convert_chinese(gdf: gpd.GeoDataFrame, system: str, path: Path) -> gpd.GeoDataFrame:
    try:
        from lifecircle.layers import chinese_coords  # noqa: PLC0415 - optional here: a missing module is a clear error, not a failed import
    except ImportError as exc:  # the module is optional at this layer
        raise OptionError(
            f"--facilities-crs {system} for {str(path)!r} needs lifecircle.layers.chinese_coords, which is not installed."
        ) from exc
    convert = chinese_coords.gcj02_to_wgs84 if system == "gcj02" else chinese_coords.bd09_to_wgs84

    def _fn(xy: np.ndarray) -> np.ndarray:
        lon, lat = convert(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    out = gdf.copy()
    out.geometry = gpd.GeoSeries(shapely.transform(gdf.geometry.to_numpy(), _fn), crs="EPSG:4326")
    log.info("Converted %d facilities of %s from %s to WGS84", len(out), path.name, system.upper())
    return out


def _checked_suffix(path: Path) -> str:
    """The file's type (lower-case suffix), after checking it exists, is a file, is known and not empty."""
    if not path.exists():
        raise InputNotFoundError(f"Facilities file {str(path)!r} does not exist.")
    if not path.is_file():
        raise FacilitiesFileError(f"Facilities file {str(path)!r} is not a file.")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + VECTOR_SUFFIXES:
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r} has an unsupported type {suffix or '(no suffix)'!r}; expected "
            f"CSV ({', '.join(CSV_SUFFIXES)}) with lon/lat columns, GeoJSON or GeoPackage "
            f"({', '.join(VECTOR_SUFFIXES)})."
        )
    if path.stat().st_size == 0:
        raise FacilitiesFileError(f"Facilities file {str(path)!r} is empty (0 bytes).")
    return suffix


def _read_table(
    path: Path, suffix: str, *, layer: str | int | None, chinese: str | None, hint_crs: Any
) -> tuple[gpd.GeoDataFrame, int]:
    """The file's rows with geometries and a CRS, and the offset from row index to the row
    number a user sees (CSV: header line and 1-based lines)."""
    if suffix in CSV_SUFFIXES:
        table = _read_csv(path)
        if len(table) == 0:
            raise FacilitiesFileError(
                f"Facilities file {str(path)!r} has a header ({[str(c) for c in table.columns]}) but no rows."
            )
        return _points_from_csv(table, path, hint_crs), 2
    gdf = _read_vector(path, layer)
    if len(gdf) == 0:
        raise FacilitiesFileError(f"Facilities file {str(path)!r} holds no features.")
    if gdf.crs is None:
        if hint_crs is None and chinese is None:
            raise NoCrsError(
                f"Facilities file {str(path)!r} has no coordinate reference system; expected one "
                "recorded in the file (or, for longitude/latitude, --facilities-crs wgs84, gcj02 or bd09)."
            )
        gdf = gdf.set_crs(hint_crs if hint_crs is not None else "EPSG:4326")
    return gdf, 1


def read_facilities_file(
    path: str | Path,
    *,
    catalogue: Catalogue,
    category_column: str = "category",
    crs_hint: str | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a user's facilities file into the catalogue's categories.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV with longitude/latitude columns, a GeoJSON, a GeoPackage (or Shapefile,
        FlatGeobuf). See the module documentation for the accepted column names.
    catalogue : Catalogue
        The categories the values of ``category_column`` must name (name or label).
    category_column : str, default "category"
        Column holding each facility's category (matched case-insensitively).
    crs_hint : str, optional
        ``"gcj02"`` or ``"bd09"``: the coordinates are Chinese map coordinates (Amap,
        Baidu) and are converted to WGS84. ``"wgs84"`` or a CRS (``"EPSG:4547"``): the
        CRS of a CSV's x/y columns, or of a GeoPackage/Shapefile that has none (a CRS
        recorded in the file wins). Default: CSV is EPSG:4326; other files must carry a CRS.
    layer : str or int, optional
        The layer to read from a file with several.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category`` (catalogue names), ``name`` (``None`` where the file has no
        name column or an empty name) and ``geometry`` (points or polygons), EPSG:4326,
        in file order, index 0..n-1.

    Raises
    ------
    InputNotFoundError
        ``path`` does not exist.
    FacilitiesFileError
        Empty file or table, unknown format, no category or coordinate column (the
        message lists the columns found), empty category values, missing or
        non-numeric coordinates, coordinates outside -180..180 / -90..90, missing or
        unsupported geometries.
    NoCrsError
        A GeoPackage/Shapefile without CRS and no ``crs_hint``.
    UnknownCategoryError
        Category values not in the catalogue (the message names them and the known ones).
    OptionError
        ``crs_hint`` is not understood.
    """
    if not isinstance(catalogue, Catalogue):
        raise OptionError(f"catalogue: expected a Catalogue (load_catalogue()), found {type(catalogue).__name__}.")
    path = Path(path)
    suffix = _checked_suffix(path)
    chinese, hint_crs = _normalise_hint(crs_hint)
    gdf, row_offset = _read_table(path, suffix, layer=layer, chinese=chinese, hint_crs=hint_crs)

    gdf, raw, mapping, cat_col = _category_values(gdf, path, catalogue, category_column, row_offset)
    _check_geometries(gdf.geometry.to_numpy(), path, row_offset)
    if chinese is not None:
        if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") and gdf.crs.is_geographic is False:
            raise OptionError(
                f"--facilities-crs {shorten(crs_hint)}: {str(path)!r} is in projected {gdf.crs.to_string()}, but "
                "GCJ-02/BD-09 coordinates are longitude/latitude degrees."
            )
        gdf = _convert_chinese(gdf.to_crs("EPSG:4326"), chinese, path)
    elif gdf.crs is None or not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    if suffix not in CSV_SUFFIXES:
        _check_recorded_crs(gdf, path, row_offset)
    out = gpd.GeoDataFrame(
        # object dtype keeps None for a missing name (pandas would turn it into NaN).
        {"category": pd.Series([mapping[v] for v in raw], dtype=object),
         "name": pd.Series(_names_of(gdf, cat_col), dtype=object)},
        geometry=gpd.GeoSeries(gdf.geometry.to_numpy(), crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    log.info("Read %d facilities from %s: %s", len(out), path.name,
             ", ".join(f"{k} {v}" for k, v in out["category"].value_counts().items()))
    return out


def _category_values(gdf: gpd.GeoDataFrame, path: Path, catalogue: Catalogue, category_column: str,
                     row_offset: int) -> tuple[gpd.GeoDataFrame, np.ndarray, dict[str, str], Any]:
    """Each row's category value, the catalogue name of each value, and the column read.

    Without a category column, the POI type columns of an Amap/Baidu export decide.
    """
    cat_col = category_column if category_column in gdf.columns else find_column(
        [c for c in gdf.columns if c != gdf.geometry.name], (category_column,)
    )
    if cat_col is None:
        gdf, mapping, cat_col = _categories_from_poi_types(gdf, path, catalogue, category_column)
        return gdf, gdf[cat_col].to_numpy(dtype=object), mapping, cat_col
    raw = gdf[cat_col].astype(object).where(gdf[cat_col].notna(), "").astype(str).str.strip().to_numpy()
    empty = np.flatnonzero(raw == "")
    if len(empty):
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r}: {_rows(empty, row_offset)} have an empty {str(cat_col)!r}; "
            f"expected one of {', '.join(catalogue.names)}."
        )
    distinct = list(dict.fromkeys(raw.tolist()))
    resolved = {v: resolve_category(catalogue, v) for v in distinct}
    unknown = [v for v, r in resolved.items() if r is None]
    mapping = {v: r for v, r in resolved.items() if r is not None}
    if unknown:
        raise UnknownCategoryError(
            f"Facilities file {str(path)!r}, column {str(cat_col)!r}: unknown categories "
            f"{', '.join(repr(u) for u in unknown)}; known categories: {', '.join(catalogue.names)} "
            "(names or their labels; add new ones with your own catalogue file)."
        )
    return gdf, raw, mapping, cat_col


def _check_geometries(geoms: np.ndarray, path: Path, row_offset: int) -> None:
    """Every row has a point or polygon geometry."""
    missing = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(missing):
        raise FacilitiesFileError(f"Facilities file {str(path)!r}: {_rows(missing, row_offset)} have no geometry.")
    type_ids = shapely.get_type_id(geoms)
    wrong = np.flatnonzero(~np.isin(type_ids, list(_ALLOWED_TYPES)))
    if len(wrong):
        found = sorted({shapely.get_type_id(g) for g in geoms[wrong]})
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r}: {_rows(wrong, row_offset)} have geometries of type "
            f"{[shapely.GeometryType(t).name for t in found]}; expected points or polygons."
        )


def _check_recorded_crs(gdf: gpd.GeoDataFrame, path: Path, row_offset: int) -> None:
    """Coordinates of files with a CRS, now in EPSG:4326: catch an inf/NaN or a wrong recorded CRS."""
    b = shapely.bounds(gdf.geometry.to_numpy())
    bad = np.flatnonzero(~(np.isfinite(b).all(axis=1) & (np.abs(b[:, [0, 2]]) <= 180).all(axis=1)
                           & (np.abs(b[:, [1, 3]]) <= 90).all(axis=1)))
    if len(bad):
        raise FacilitiesFileError(
            f"Facilities file {str(path)!r}: {_rows(bad, row_offset)} have coordinates that are not valid "
            f"longitude/latitude in its CRS {gdf.crs.to_string() if gdf.crs else None}; is the recorded CRS right?"
        )


def _names_of(gdf: gpd.GeoDataFrame, cat_col: Any) -> np.ndarray:
    """Each row's name, stripped (None where the file has no name column or the name is empty)."""
    name_col = find_column([c for c in gdf.columns if c not in (cat_col, gdf.geometry.name)], NAME_ALIASES)
    if name_col is None:
        return np.full(len(gdf), None, dtype=object)
    names = gdf[name_col].astype(object).where(gdf[name_col].notna(), None).to_numpy()
    return np.array([None if (n is None or str(n).strip() == "") else str(n).strip() for n in names], dtype=object)


def find_facilities(  # noqa: PLR0913 - keyword-only; the user file's three are optional
    features: gpd.GeoDataFrame,
    *,
    catalogue: Catalogue,
    categories: list[str] | tuple[str, ...],
    crs: Any,
    area: shapely.Geometry,
    reach_m: float,
    user_facilities: gpd.GeoDataFrame | None = None,
    source_name: str | None = None,
    file_row_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Facilities of the chosen categories from the OSM features and the user's file.

    Facilities within ``reach_m`` of the study area count (a clinic just across the
    boundary serves people inside it). OSM features of one facility (the buildings of a
    hospital campus) are one site (:func:`lifecircle.layers.catalogue.match_sites`).

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features (:attr:`lifecircle.layers.osm.OsmExtract.features`), EPSG:4326.
    catalogue : Catalogue
        The category catalogue (:func:`lifecircle.layers.catalogue.load_catalogue`).
    categories : sequence of str
        Categories to keep, in output order.
    crs : pyproj.CRS
        The metric CRS of ``area`` and of the result.
    area : shapely.Geometry
        The study area in ``crs``.
    reach_m : float
        Margin (metres) around the area within which facilities count.
    user_facilities : geopandas.GeoDataFrame, optional
        The user's facilities (:func:`read_facilities_file`); None: OSM only.
    source_name : str, optional
        The ``source`` value of the user's facilities (their file name).
    file_row_column : str, optional
        Also return, in a column of this name, each facility's row in ``user_facilities``
        (-1 for OSM facilities).

    Returns
    -------
    geopandas.GeoDataFrame
        The facilities of :func:`find_facility_sites`, without its quality report.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> found = find_facilities(model.extract.features, catalogue=model.catalogue, categories=["clinic"],
    ...                         crs=model.crs, area=model.area, reach_m=model.reach_m)
    >>> found[["category", "name", "source"]].values.tolist()
    [['clinic', 'West clinic', 'osm']]
    """
    return find_facility_sites(features, catalogue=catalogue, categories=categories, crs=crs, area=area,
                               reach_m=reach_m, user_facilities=user_facilities, source_name=source_name,
                               file_row_column=file_row_column)[0]


def find_facility_sites(  # noqa: PLR0913 - keyword-only; the user file's three are optional
    features: gpd.GeoDataFrame,
    *,
    catalogue: Catalogue,
    categories: list[str] | tuple[str, ...],
    crs: Any,
    area: shapely.Geometry,
    reach_m: float,
    user_facilities: gpd.GeoDataFrame | None = None,
    source_name: str | None = None,
    file_row_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Facilities (as sites) of the chosen categories, and the quality report.

    OSM features go through :func:`lifecircle.layers.catalogue.match_sites` (exclusions,
    then the parts of one facility merged into a site). Rows of the user's file are
    facilities as given, except that a category's exclusions on ``name`` apply to them
    too (a POI export's 诊所 named 口腔诊所 is dental care).

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features (:attr:`lifecircle.layers.osm.OsmExtract.features`).
    catalogue : Catalogue
        The category catalogue (:func:`lifecircle.layers.catalogue.load_catalogue`).
    categories : sequence of str
        Categories to keep, in output order.
    crs : pyproj.CRS
        The metric CRS of ``area`` and of the result.
    area : shapely.Geometry
        The study area in ``crs``.
    reach_m : float
        Margin around the area within which facilities count.
    user_facilities : geopandas.GeoDataFrame, optional
        The user's facilities (:func:`read_facilities_file`), added to the OSM ones.
    source_name : str, optional
        The ``source`` value of the user's facilities (their file name).
    file_row_column : str, optional
        Also return, in a column of this name, each facility's row in ``user_facilities``
        (-1 for OSM facilities).

    Returns
    -------
    facilities : geopandas.GeoDataFrame
        ``category``, ``name``, ``source`` (``osm`` or ``source_name``), ``osm_type``,
        ``osm_id``, ``site_id``, ``parts``, geometry in ``crs``; ordered by category then
        source and id.
    qa : geopandas.GeoDataFrame
        Features merged or excluded (:data:`lifecircle.layers.catalogue.QA_COLUMNS`,
        ``source``), geometry in ``crs``.
    """
    chosen = select(catalogue, list(categories))
    found, qa = match_sites(features, chosen)
    found = found.assign(source="osm")
    qa = qa.assign(source="osm")
    if file_row_column is not None:
        found[file_row_column] = -1
    frames, qa_frames = [found], [qa]
    if user_facilities is not None:
        user, user_qa = _user_sites(user_facilities, catalogue, categories, label=source_name or "facilities file",
                                    file_row_column=file_row_column)
        frames.append(user.to_crs(found.crs))
        qa_frames.extend([user_qa.to_crs(found.crs)] if user_qa is not None else [])
    allf = pd.concat(frames, ignore_index=True)
    allf = gpd.GeoDataFrame(allf, geometry="geometry", crs=found.crs).to_crs(crs)
    allq = gpd.GeoDataFrame(pd.concat(qa_frames, ignore_index=True), geometry="geometry", crs=found.crs).to_crs(crs)
    reach = area.buffer(reach_m)
    allf = allf[allf.intersects(reach).to_numpy()].copy()
    allq = allq[allq.intersects(reach).to_numpy()].reset_index(drop=True)
    allf = _ordered_sites(allf, categories, file_row_column)
    counts = allf["category"].value_counts()
    log.info("Facilities: %s", ", ".join(f"{c} {int(counts.get(c, 0)):,}" for c in categories))
    return allf, allq


def _user_sites(user_facilities: gpd.GeoDataFrame, catalogue: Catalogue, categories: Sequence[str], *,
                label: str, file_row_column: str | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """The user's facilities of the chosen categories as sites, and the rows a name rule excludes."""
    user = user_facilities
    if file_row_column is not None:
        user = user.assign(**{file_row_column: np.arange(len(user))})
    user = user[user["category"].isin(list(categories))].reset_index(drop=True)
    user = user.assign(source=label, osm_type=None, osm_id=None, parts=1,
                       site_id=[f"{c}/{label}/{r}" for c, r in zip(user["category"], np.arange(len(user)) + 1)])
    reasons = _name_exclusions(user, catalogue)
    dropped = reasons != ""
    qa = None
    if dropped.any():
        q = user.loc[dropped, ["category", "name", "geometry"]].copy()
        q["action"], q["reason"], q["site_id"] = "excluded", reasons[dropped], None
        q["osm_type"], q["osm_id"], q["source"] = None, None, label
        qa = gpd.GeoDataFrame(q, geometry="geometry", crs=user.crs)
        log.info("%s: %d rows excluded by the catalogue's name rules (see facility_qa.csv)", label,
                 int(dropped.sum()))
    return user.loc[~dropped], qa


def _ordered_sites(allf: gpd.GeoDataFrame, categories: Sequence[str], file_row_column: str | None) -> gpd.GeoDataFrame:
    """The facilities' columns in order, sorted by category (in the order asked), source and id."""
    allf["parts"] = allf["parts"].astype(np.int64)
    allf["category"] = pd.Categorical(allf["category"], categories=list(categories), ordered=True)
    allf = allf.sort_values(["category", "source", "osm_type", "osm_id"], na_position="last", kind="stable")
    allf["category"] = allf["category"].astype(str)
    cols = ["category", "name", "source", "osm_type", "osm_id", "site_id", "parts",
            *([file_row_column] if file_row_column else []), "geometry"]
    return allf[[c for c in cols if c in allf.columns]].reset_index(drop=True)


def _name_exclusions(frame: pd.DataFrame, catalogue: Catalogue) -> np.ndarray:
    """The reason each row's name excludes it from its category ("" if none)."""
    out = np.full(len(frame), "", dtype=object)
    names = frame["name"].to_numpy(dtype=object)
    cats = frame["category"].to_numpy(dtype=object)
    for name in dict.fromkeys(cats.tolist()):
        for excl in catalogue[name].all_exclusions:
            if any(c.key != "name" for c in excl.conditions):
                continue
            hit = (cats == name) & (out == "")
            for cond in excl.conditions:
                if cond.regex is not None:
                    pattern = re.compile(cond.regex)
                    ok = np.array([isinstance(v, str) and pattern.search(v) is not None for v in names], dtype=bool)
                elif cond.values is not None:
                    ok = np.isin(names, list(cond.values))
                else:
                    ok = np.array([isinstance(v, str) and bool(v) for v in names], dtype=bool)
                hit &= ok
            out[hit] = excl.describe()
    return out


def completeness_for(
    facilities: gpd.GeoDataFrame,
    *,
    area: Any,
    people: float | None,
    categories: Sequence[str],
    catalogue: Catalogue,
) -> dict[str, dict[str, Any]]:
    """:func:`lifecircle.layers.catalogue.assess_completeness` for a run's facilities.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        The run's facilities (sites) with a ``category`` column.
    area : shapely.Geometry
        The study area in the CRS of ``facilities``; a site counts when its representative
        point lies inside.
    people : float or None
        Residents of that area; ``None`` when the run has weights instead of people
        (nothing is assessed).
    categories : sequence of str
        The run's categories.
    catalogue : Catalogue
        Where the expected densities come from.

    Returns
    -------
    dict
        Per category, as :func:`lifecircle.layers.catalogue.assess_completeness`.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> area = model.area.buffer(50)  # the clinic stands 20 m outside the data's extent
    >>> facts = completeness_for(model.facilities, area=area, people=None, categories=["clinic"],
    ...                          catalogue=model.catalogue)
    >>> facts["clinic"]["facilities"], facts["clinic"]["likely_incomplete"]  # without people: not assessed
    (1, None)
    """
    inside = facilities.geometry.representative_point().within(area).to_numpy() if len(facilities) else np.zeros(0, bool)
    counts = facilities.loc[inside, "category"].value_counts().to_dict() if len(facilities) else {}
    return assess_completeness(counts, people, select(catalogue, list(categories)))


def check_facilities_near_area(facilities: gpd.GeoDataFrame, *, categories: Any, reach_area: shapely.Geometry,
                               crs: Any, path: str | Path) -> dict[str, Any] | None:
    """Check that a user's facilities of the run's categories lie within reach of the study area.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        From :func:`read_facilities_file`.
    categories : sequence of str
        The run's categories (others are not used, so not checked).
    reach_area : shapely.Geometry
        The study area plus the walking reach, in ``crs``: facilities outside it are ignored.
    crs : pyproj.CRS
        The run's metric CRS, of ``reach_area``.
    path : path
        The ``--facilities`` file, for messages.

    Returns
    -------
    dict or None
        ``{"input", "facilities_outside_area", "facilities", "farthest_km"}`` when some
        lie outside (also logged as a warning), else ``None``.

    Raises
    ------
    FacilitiesFileError
        Every facility of the run's categories lies outside (a wrong file, swapped or
        Chinese-map coordinates without ``--facilities-crs``).
    """
    chosen = facilities[facilities["category"].isin(list(categories))]
    if len(chosen) == 0:
        return None
    geoms = chosen.to_crs(crs).geometry
    outside = ~geoms.intersects(reach_area).to_numpy()
    n = int(outside.sum())
    if n == 0:
        return None
    km = float(geoms[outside].distance(reach_area).max()) / 1000.0
    rows = _rows(np.flatnonzero(facilities["category"].isin(list(categories)).to_numpy())[outside], 2 if
                 Path(path).suffix.lower() in CSV_SUFFIXES else 1)
    if n == len(chosen):
        raise FacilitiesFileError(
            f"--facilities {str(path)!r}: none of its {len(chosen)} facilities of the chosen categories lies in or "
            f"near the study area (up to {km:,.1f} km beyond the walking reach). Expected facilities of the area "
            "analysed: is it the right file, are longitude and latitude swapped, or are the coordinates Amap/Baidu "
            "ones needing --facilities-crs?"
        )
    log.warning("--facilities %s: %d of %d facilities lie outside the study area and its walking reach (up to "
                "%.1f km beyond; %s): ignored.", Path(path).name, n, len(chosen), km, rows)
    return {"input": "--facilities", "facilities_outside_area": n, "facilities": int(len(chosen)),
            "farthest_km": round(km, 1)}


def _file_columns(path: Path) -> list[str]:
    """Column names of a facilities file (empty when it cannot be read: reading it reports that)."""
    try:
        if path.suffix.lower() in CSV_SUFFIXES:
            return [str(c) for c in _read_csv(path).columns]

        return [str(c) for c in pyogrio.read_info(path)["fields"]]
    except Exception:
        return []


def _osm_has_key(path: Path, key: str) -> bool | None:
    """Whether any object of a local OSM file carries tag ``key``; ``None`` when unknown."""
    try:
        for _ in osmium.FileProcessor(str(path)).with_filter(osmium.filter.KeyFilter(key)):
            return True
        return False
    except Exception:
        return None


def check_capacity_sources(capacity: dict[str, str], *, categories: Any, facilities_path: str | Path | None,
                           osm_path: str | Path | None) -> None:
    """Check ``--capacity CATEGORY=COLUMN`` before the run.

    The category must be one of the run's and the column exist in the ``--facilities``
    file or as a tag in the OSM file.

    Parameters
    ----------
    capacity : dict of str to str
        Column (or OSM tag) holding each category's capacity.
    categories : sequence of str
        The run's categories.
    facilities_path : str or pathlib.Path, optional
        The ``--facilities`` file; None when the run has none.
    osm_path : str or pathlib.Path, optional
        The OSM file; ``None`` for downloaded data (its tags cannot be known yet).

    Raises
    ------
    OptionError
        A category outside the run, or a column found nowhere.
    """
    for category, column in capacity.items():
        option = f"--capacity {shorten(f'{category}={column}')}"
        if category not in list(categories):
            raise OptionError(f"{option}: {shorten(category)} is not one of the run's categories "
                              f"({', '.join(categories)}); add it to --categories.")
        looked = []
        if facilities_path is not None:
            columns = _file_columns(Path(facilities_path))
            if find_column(columns, (column,)) is not None:
                continue
            shown = ", ".join(shorten(c, limit=40) for c in columns[:12]) + (" ..." if len(columns) > 12 else "")
            looked.append(f"no column {shorten(column)} in --facilities {str(facilities_path)!r} (its columns: "
                          f"{shown or 'none'})")
        if osm_path is None:
            continue  # downloaded data: its tags are only known after the download
        has_tag = _osm_has_key(Path(osm_path), column)
        if has_tag is None or has_tag:
            continue
        looked.append(f"no object in the OSM file {Path(osm_path).name!r} has a {shorten(column)} tag")
        raise OptionError(f"{option}: {'; '.join(looked)}. Expected the name of a capacity column or OSM tag "
                          "such as beds or capacity.")
