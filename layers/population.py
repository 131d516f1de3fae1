"""Read resident-population inputs: points, rasters or polygons with totals.

Three kinds of input are accepted, each returned as a :class:`PopulationInput`:

``points``
    A CSV with longitude / latitude / population columns in EPSG:4326 (like the GHS-POP
    extract in ``../shared/data/yuzhong``), or a vector file (GeoJSON, GeoPackage,
    Shapefile) of points with a population column.
``raster``
    A GeoTIFF of people per pixel (WorldPop, GHS-POP). The nodata value, NaN and -- when
    the file declares no nodata -- GHS-POP's ``-200`` fill count as zero people.
``polygons``
    A vector file of areas with a total each (census units, 社区 with 常住人口). Their
    people are spread to residential buildings by floor area later, in
    :func:`lifecircle.spatial.population.population_to_cells`.

Optional age groups
-------------------
Columns ``share_60plus`` / ``share_0_14`` (fractions 0-1) or counts ``pop_60plus`` /
``pop_0_14`` (also ``count_*``, ``population_*``) are carried along. Counts are converted
to shares of the row's population, so every input carries groups as ``share_<group>``.

Column names are matched case-insensitively; :data:`POPULATION_ALIASES`,
:data:`LON_ALIASES` and :data:`LAT_ALIASES` list the names recognised.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely
from affine import Affine
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from lifecircle._errors import InputNotFoundError, NoCrsError, PopulationError, plain_number, shorten
from lifecircle.layers._columns import LAT_ALIASES, LON_ALIASES, find_column

__all__ = [
    "PopulationInput",
    "POPULATION_ALIASES",
    "LON_ALIASES",
    "LAT_ALIASES",
    "GROUPS",
    "read_population",
    "check_people_in_area",
    "UNIT_KEY_ALIASES",
    "TOTAL_ALIASES",
    "PopulationTotals",
    "read_population_totals",
]

log = logging.getLogger(__name__)

#: Column names taken as the population count (first match wins, case-insensitive).
POPULATION_ALIASES: tuple[str, ...] = (
    "population", "pop", "value", "people", "residents", "count", "total",
    "常住人口", "人口", "户籍人口",
)
#: Population groups that may be carried as shares: name -> accepted column names.
GROUPS: dict[str, tuple[str, ...]] = {
    "60plus": ("share_60plus", "pop_60plus", "count_60plus", "population_60plus"),
    "0_14": ("share_0_14", "pop_0_14", "count_0_14", "population_0_14"),
}

_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml", ".zip"}
_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img"}
#: GHS-POP GeoTIFFs fill "no data" with -200 and sometimes declare no nodata value.
_GHS_FILL = -200.0


@dataclass(frozen=True, eq=False)
class PopulationInput:
    """A population input, read and checked, in its own CRS.

    Attributes
    ----------
    kind : str
        ``"points"``, ``"raster"`` or ``"polygons"``.
    source : pathlib.Path
        The file read.
    total : float
        Sum of people in the input (after nodata became zero).
    frame : geopandas.GeoDataFrame or None
        For points and polygons: a float ``population`` column, any ``share_<group>``
        columns and ``geometry``, in the file's CRS (EPSG:4326 for a CSV). ``None`` for a
        raster.
    array : numpy.ndarray or None
        For a raster: people per pixel, float64, nodata set to 0.
    transform : affine.Affine or None
        For a raster: pixel-to-CRS transform of ``array``.
    crs : pyproj.CRS
        CRS of ``frame`` or ``array``; never missing.
    groups : tuple of str
        Names of the carried group share columns (``share_60plus`` ...).
    dropped_rows : int
        Rows dropped because their population was empty or NaN (warned, and recorded in
        ``run.json``).
    """

    kind: str
    source: Path
    total: float
    crs: pyproj.CRS
    frame: gpd.GeoDataFrame | None = None
    array: np.ndarray | None = field(default=None, repr=False)
    transform: Affine | None = None
    groups: tuple[str, ...] = ()
    dropped_rows: int = 0


#: Most people one row or pixel can hold: more than the world's population is a broken file
#: (1e308, a filler value), and such numbers overflow the sums downstream.
MAX_PEOPLE_PER_ROW = 1e10


def _where(i: int, kind: str) -> str:
    """A row for messages: the CSV line (header is line 1) or the feature's number."""
    return f"line {i + 2}" if kind == "csv" else f"feature {i + 1}"


def _numeric(values: pd.Series, *, name: str, path: Path, kind: str = "csv",
             missing_ok: bool = True, option: str = "--population") -> tuple[np.ndarray, np.ndarray]:
    """Column as float64 and a mask of empty / NaN cells (their values are 0 here).

    Text that is not a number, infinity, a negative number or more than
    :data:`MAX_PEOPLE_PER_ROW` is an error naming the row.
    """
    num = pd.to_numeric(values, errors="coerce")
    missing = values.isna().to_numpy() | (values.astype(str).str.strip().str.lower().isin(["", "nan"])).to_numpy()
    arr = num.to_numpy(dtype=np.float64, na_value=np.nan)
    text = np.isnan(arr) & ~missing
    checks = (
        (text, "must hold numbers; found text"),
        (np.isinf(arr), "must hold finite numbers; found"),
        (arr < 0, "must not be negative; found"),
        (arr > MAX_PEOPLE_PER_ROW, f"must hold at most {MAX_PEOPLE_PER_ROW:g} people a row (more than the "
                                  "world's population); found"),
    )
    for bad, what in checks:
        bad = bad & ~missing
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            shown = shorten(values.iloc[i]) if text[i] else plain_number(arr[i])
            more = f" ({int(bad.sum())} rows in all)" if bad.sum() > 1 else ""
            raise PopulationError(f"{option} {str(path)!r}: column {shorten(name)} {what} {shown} "
                                  f"in {_where(i, kind)}{more}.")
    if missing.any() and not missing_ok:
        i = int(np.flatnonzero(missing)[0])
        raise PopulationError(f"{option} {str(path)!r}: column {shorten(name)} is empty in {_where(i, kind)}.")
    return np.where(missing, 0.0, arr), missing


def _population_column(columns: list[str], value_column: str | None, path: Path) -> str:
    if value_column is not None:
        col = find_column(columns, (value_column,))
        if col is None:
            raise PopulationError(
                f"{path}: value_column {shorten(value_column)} is not a column; columns found: {shorten(list(columns))}."
            )
        return col
    col = find_column(columns, POPULATION_ALIASES)
    if col is None:
        raise PopulationError(
            f"{path}: no population column; expected one of {list(POPULATION_ALIASES)} "
            f"(rename the column holding people to 'population'); columns found: {shorten(list(columns))}."
        )
    return col


def _group_shares(table: pd.DataFrame, population: np.ndarray, path: Path) -> dict[str, np.ndarray]:
    """Share columns per group, from shares (0-1) or counts (<= population)."""
    out: dict[str, np.ndarray] = {}
    columns = list(table.columns)
    for group, names in GROUPS.items():
        col = find_column(columns, names)
        if col is None:
            continue
        vals, _ = _numeric(table[col], name=str(col), path=path)
        if str(col).lower().startswith("share_"):
            if (vals > 1.0 + 1e-9).any():
                raise PopulationError(f"{path}: column {shorten(col)} holds shares and must lie in 0-1; found max {plain_number(vals.max())}.")
            share = vals
        else:
            if (vals > population * (1 + 1e-9) + 1e-9).any():
                i = int(np.flatnonzero(vals > population * (1 + 1e-9) + 1e-9)[0])
                raise PopulationError(
                    f"{path}: column {col!r} counts people of group {group} and cannot exceed the "
                    f"population; row {i + 1} has {plain_number(vals[i])} of {plain_number(population[i])}."
                )
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(population > 0, vals / np.where(population > 0, population, 1.0), 0.0)
        out[f"share_{group}"] = np.clip(share, 0.0, 1.0)
    return out


def _csv_table(path: Path, *, option: str = "--population",
               expected: str = "longitude, latitude and population") -> pd.DataFrame:
    """The CSV as a table: UTF-8, else GB18030 (Excel on Chinese Windows); anything else is an error."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except (pd.errors.EmptyDataError, pd.errors.ParserError, csv.Error, ValueError, OverflowError) as exc:
            raise PopulationError(f"{option} {str(path)!r} is not a readable CSV table "
                                  f"({shorten(str(exc), limit=160)}).") from None
    raise PopulationError(f"{option} {str(path)!r} is neither UTF-8 nor GB18030 text: expected a CSV table of "
                          f"{expected}.")


def _read_csv(path: Path, value_column: str | None) -> PopulationInput:
    table = _csv_table(path)
    columns = list(table.columns)
    lon_col = find_column(columns, LON_ALIASES)
    lat_col = find_column(columns, LAT_ALIASES)
    if lon_col is None or lat_col is None:
        raise PopulationError(
            f"{path}: a population CSV needs longitude and latitude columns (EPSG:4326), e.g. "
            f"{list(LON_ALIASES)} and {list(LAT_ALIASES)}; columns found: {shorten(columns)}."
        )
    pop_col = _population_column(columns, value_column, path)
    if len(table) == 0:
        raise PopulationError(f"{path}: the CSV has a header but no rows.")
    pop, missing = _numeric(table[pop_col], name=str(pop_col), path=path)
    lon = pd.to_numeric(table[lon_col], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(table[lat_col], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PopulationError(f"--population {str(path)!r}: {int(bad.sum())} row(s) have no numeric "
                              f"{shorten(lon_col)}/{shorten(lat_col)}, e.g. {_where(i, 'csv')}.")
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        raise NoCrsError(
            f"--population {str(path)!r}: columns {shorten(lon_col)}/{shorten(lat_col)} must be longitude/latitude in "
            f"EPSG:4326 (found x from {plain_number(lon.min())} to {plain_number(lon.max())}, y from "
            f"{plain_number(lat.min())} to {plain_number(lat.max())}); "
            "save projected coordinates as a GeoPackage or GeoJSON with a CRS instead."
        )
    data = {"population": pop, **_group_shares(table, pop, path)}
    frame = gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    return _finish("points", path, _drop_missing(frame, missing, path, pop_col, "csv"))


def _drop_missing(frame: gpd.GeoDataFrame, missing: np.ndarray, path: Path, column: object,
                  kind: str) -> gpd.GeoDataFrame:
    """Drop rows without a population value, loudly (the count goes to run.json)."""
    if not missing.any():
        return frame
    n = int(missing.sum())
    if n == len(frame):
        raise PopulationError(f"--population {str(path)!r}: column {shorten(column)} is empty (or NaN) in every row.")
    first = _where(int(np.flatnonzero(missing)[0]), kind)
    log.warning("--population %s: dropped %d row(s) with no %s value (empty or NaN), first at %s",
                path.name, n, shorten(column), first)
    out = frame[~missing].reset_index(drop=True)
    out.attrs["dropped_rows"] = n
    return out


def _finish(kind: str, path: Path, frame: gpd.GeoDataFrame) -> PopulationInput:
    groups = tuple(c for c in frame.columns if str(c).startswith("share_"))
    total = float(frame["population"].sum())
    if not np.isfinite(total):
        raise PopulationError(f"--population {str(path)!r}: the people in the file add up to more than a number can "
                              "hold; expected counts of people.")
    log.info("population %s: %d %s, %.0f people, groups %s", path.name, len(frame), kind, total, list(groups))
    return PopulationInput(kind=kind, source=path, total=total, crs=pyproj.CRS(frame.crs), frame=frame, groups=groups,
                           dropped_rows=int(frame.attrs.get("dropped_rows", 0)))


def _read_vector(path: Path, value_column: str | None, bbox: tuple[float, float, float, float] | None) -> PopulationInput:
    try:
        raw = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise PopulationError(f"{path}: cannot read as a vector file ({shorten(str(exc), limit=200)}).") from exc
    if raw.crs is None:
        raise NoCrsError(f"{path}: the population file has no CRS; save it with one (e.g. EPSG:4326 or EPSG:4490).")
    raw = raw[~(raw.geometry.isna() | raw.geometry.is_empty)]
    if len(raw) == 0:
        raise PopulationError(f"{path}: no features with a geometry.")
    coords, owner = shapely.get_coordinates(raw.geometry.to_numpy(), return_index=True)
    if not np.isfinite(coords).all():
        i = int(owner[np.flatnonzero(~np.isfinite(coords).all(axis=1))[0]])
        raise PopulationError(f"--population {str(path)!r}: {_where(i, 'vector')} has coordinates that are not "
                              "finite numbers (NaN or infinity).")
    if bbox is not None:
        box = gpd.GeoSeries([shapely.box(*bbox)], crs=4326).to_crs(raw.crs).iloc[0]
        raw = raw[raw.geometry.intersects(box)]
    columns = [c for c in raw.columns if c != raw.geometry.name]
    pop_col = _population_column(columns, value_column, path)
    pop, missing = _numeric(raw[pop_col], name=str(pop_col), path=path, kind="vector")
    types = set(raw.geometry.geom_type)
    if types <= {"Point", "MultiPoint"}:
        kind = "points"
        geoms = raw.geometry.to_numpy()
        if "MultiPoint" in types:  # a MultiPoint's people sit at its centroid
            geoms = shapely.centroid(geoms)
    elif types <= {"Polygon", "MultiPolygon"}:
        kind = "polygons"
        geoms = shapely.make_valid(raw.geometry.to_numpy())
    else:
        raise PopulationError(
            f"{path}: population features must be all points or all polygons; found {sorted(types)}."
        )
    data = {"population": pop, **_group_shares(raw, pop, path)}
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, index=raw.index, crs=raw.crs).to_numpy(), crs=raw.crs)
    return _finish(kind, path, _drop_missing(frame.reset_index(drop=True), missing, path, pop_col, "vector"))


def _read_raster(path: Path, bbox: tuple[float, float, float, float] | None) -> PopulationInput:
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise PopulationError(f"{path}: cannot read as a raster ({shorten(str(exc), limit=200)}).") from exc
    with src:
        if src.crs is None:
            raise NoCrsError(f"{path}: the population raster has no CRS; WorldPop/GHS-POP GeoTIFFs carry one.")
        window = None
        if bbox is not None:
            left, bottom, right, top = transform_bounds("EPSG:4326", src.crs, *bbox, densify_pts=21)
            w = from_bounds(left, bottom, right, top, transform=src.transform)
            # Round outwards by a pixel and clip to the raster.
            col0 = max(0, int(np.floor(w.col_off)) - 1)
            row0 = max(0, int(np.floor(w.row_off)) - 1)
            col1 = min(src.width, int(np.ceil(w.col_off + w.width)) + 1)
            row1 = min(src.height, int(np.ceil(w.row_off + w.height)) + 1)
            window = Window(col0, row0, max(0, col1 - col0), max(0, row1 - row0))
        array = src.read(1, window=window, masked=False).astype(np.float64)
        transform = src.window_transform(window) if window is not None else src.transform
        nodata = src.nodata
        crs = pyproj.CRS(src.crs.to_wkt())
    missing = ~np.isfinite(array)
    if nodata is not None and np.isfinite(nodata):
        missing |= array == nodata
    elif nodata is None:
        missing |= array == _GHS_FILL
    if (array[~missing] < 0).any():
        neg = array[~missing][array[~missing] < 0]
        raise PopulationError(
            f"--population {str(path)!r}: {neg.size} pixel(s) hold negative people (e.g. {plain_number(neg[0])}) "
            f"and are not the nodata value ({'none' if nodata is None else plain_number(nodata)}); expected counts "
            "of people per pixel."
        )
    if (array[~missing] > MAX_PEOPLE_PER_ROW).any():
        big = array[~missing][array[~missing] > MAX_PEOPLE_PER_ROW]
        raise PopulationError(
            f"--population {str(path)!r}: {big.size} pixel(s) hold more than {MAX_PEOPLE_PER_ROW:g} people "
            f"(e.g. {plain_number(big[0])}); expected counts of people per pixel (is the nodata value declared?)."
        )
    array[missing] = 0.0
    total = float(array.sum())
    log.info("population %s: raster %dx%d, %.0f people, %d nodata pixels", path.name, array.shape[1], array.shape[0], total, int(missing.sum()))
    return PopulationInput(kind="raster", source=path, total=total, crs=crs, array=array, transform=transform)


def read_population(
    path: str | Path,
    *,
    value_column: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> PopulationInput:
    """Read a population file: CSV points, GeoTIFF raster, or vector points/polygons.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv`` (lon/lat/population in EPSG:4326), ``.tif``/``.tiff`` (people per
        pixel), or a vector file (``.geojson``, ``.gpkg``, ``.shp`` ...) of points or
        polygons with a population column.
    value_column : str, optional
        Name of the population column; by default the first of
        :data:`POPULATION_ALIASES` present. Ignored for rasters (band 1 is read).
    bbox : tuple of float, optional
        ``(west, south, east, north)`` in EPSG:4326: read only a raster window covering
        it (plus a pixel), or only vector features intersecting it. Useful for
        country-sized rasters. CSV points are never filtered here.

    Returns
    -------
    PopulationInput
        The people as points, polygons or raster pixels, with their CRS and total.

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    NoCrsError
        A vector or raster file has no CRS, or CSV coordinates are not longitude/latitude.
    PopulationError
        No population column (the message lists the columns found), a non-numeric or
        negative value, mixed geometry types, an unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"population file not found: {path}")
    if path.is_dir() and path.suffix.lower() != ".gdb":
        raise PopulationError(f"{path}: is a folder; expected a CSV, GeoTIFF or vector file.")
    if path.is_file() and path.stat().st_size == 0:
        raise PopulationError(f"{path}: the file is empty.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        result = _read_csv(path, value_column)
    elif suffix in _RASTER_SUFFIXES:
        result = _read_raster(path, bbox)
    elif suffix in _VECTOR_SUFFIXES or suffix == ".gdb" or re.search(r"\.geojson", path.name, re.I):
        result = _read_vector(path, value_column, bbox)
    else:
        raise PopulationError(
            f"{path}: unknown population file type {suffix!r}; expected .csv, .tif/.tiff, "
            ".geojson, .gpkg or .shp."
        )
    if result.total <= 0:
        log.warning("population %s holds no people (total 0)", path)
    return result


def check_people_in_area(population: PopulationInput, people_in_cells: np.ndarray) -> float:
    """Share of the file's people that fell inside the study area's cells.

    Parameters
    ----------
    population : PopulationInput
        The population input as read (its ``total``, ``source`` and points).
    people_in_cells : numpy.ndarray
        People per cell after spreading (NaN counts 0).

    Returns
    -------
    float
        People inside the cells over the file's people (0.0 for a file with no people).

    Raises
    ------
    PopulationError
        The file holds people but none of them lies inside the study area (another
        district's file, swapped coordinates): the run would report shares of nobody.

    Examples
    --------
    >>> import shapely
    >>> pop = PopulationInput(kind="points", source=Path("people.csv"), total=100.0, crs=pyproj.CRS(4326),
    ...                       frame=gpd.GeoDataFrame({"population": [100.0]}, geometry=[shapely.Point(106.5, 29.5)], crs=4326))
    >>> check_people_in_area(pop, np.array([60.0, 15.0, np.nan]))
    0.75
    """
    inside = float(np.nansum(people_in_cells))
    if population.total <= 0:
        return 0.0
    if inside <= 0:
        where = ""
        if population.frame is not None and len(population.frame):
            b = population.frame.to_crs(4326).total_bounds
            where = (f" (its points cover longitude {plain_number(round(b[0], 4))} to {plain_number(round(b[2], 4))}, "
                     f"latitude {plain_number(round(b[1], 4))} to {plain_number(round(b[3], 4))})")
        raise PopulationError(
            f"--population {str(population.source)!r}: none of its {population.total:,.0f} people lies inside the "
            f"study area{where}. Expected the population of the area analysed: is it the right file, or are "
            "longitude and latitude swapped?"
        )
    share = inside / population.total
    log.info("population %s: %.1f%% of the file's people lie inside the study area", population.source.name,
             100 * share)
    return share


# ------------------------------------------------------------------- control totals

#: Columns naming the unit in a table of totals (first match wins, any case).
UNIT_KEY_ALIASES: tuple[str, ...] = (
    "name", "名称", "社区", "社区名称", "社区名", "街道", "街道名称", "居委会", "unit", "community",
    "code", "区划代码", "统计用区划代码", "代码", "id",
)
#: Columns holding the unit's total (first match wins, any case).
TOTAL_ALIASES: tuple[str, ...] = (
    "total", "population", "常住人口", "人口", "总人口", "pop", "people", "residents",
)


@dataclass(frozen=True, eq=False)
class PopulationTotals:
    """Control totals per unit (e.g. 七普 census figures per 街道 or 社区).

    Attributes
    ----------
    source : pathlib.Path
    totals : dict of str to float
        Total people per unit name or code, as written in the file.
    units : geopandas.GeoDataFrame or None
        For a vector file: ``name`` and ``geometry`` of each unit (its own CRS). For a
        table: ``None``; the names or codes are matched to the ``--communities`` file.
    """

    source: Path
    totals: dict[str, float]
    units: gpd.GeoDataFrame | None = None


def _unit_keys(values: pd.Series) -> list[str]:
    """Unit names as text; numeric codes read as 500103001.0 become 500103001."""
    out = []
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(str(v).strip())
    return out


def read_population_totals(path: str | Path) -> PopulationTotals:
    """Read a table of people per unit: CSV / XLSX (name or code + total) or polygons.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV or Excel table with a unit column (one of :data:`UNIT_KEY_ALIASES`) and a
        total column (one of :data:`TOTAL_ALIASES`); or a vector file (GeoPackage,
        GeoJSON, Shapefile) of unit polygons with a total column (name column optional).

    Returns
    -------
    PopulationTotals
        People per unit name or code, and for a vector file the units' polygons.

    Raises
    ------
    InputNotFoundError, PopulationError, NoCrsError
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"--population-totals file not found: {path}")
    suffix = path.suffix.lower()
    units = None
    if suffix in (".csv", ".txt"):
        table = _csv_table(path, option="--population-totals", expected="unit names or codes and totals")
    elif suffix in (".xlsx", ".xls"):
        table = pd.read_excel(path)
    elif suffix in _VECTOR_SUFFIXES:
        try:
            table = gpd.read_file(path)
        except Exception as exc:  # pyogrio raises its own DataSourceError family
            raise PopulationError(f"--population-totals {path}: cannot read as a vector file "
                                  f"({shorten(str(exc), limit=200)}).") from exc
        if table.crs is None:
            raise NoCrsError(f"--population-totals {path}: the file has no CRS; save it with one (e.g. EPSG:4490).")
    else:
        raise PopulationError(
            f"--population-totals {path}: unknown file type {suffix!r}; expected .csv, .xlsx or polygons "
            "(.gpkg, .geojson, .shp)."
        )
    columns = [c for c in table.columns if c != "geometry"]
    total_col = find_column(columns, TOTAL_ALIASES)
    key_col = find_column(columns, UNIT_KEY_ALIASES)
    is_vector = isinstance(table, gpd.GeoDataFrame)
    if total_col is None or (key_col is None and not is_vector):
        raise PopulationError(
            f"--population-totals {path}: expected a unit column (one of {list(UNIT_KEY_ALIASES)}) and a "
            f"total column (one of {list(TOTAL_ALIASES)}); columns found: {columns}."
        )
    if len(table) == 0:
        raise PopulationError(f"--population-totals {path}: no rows.")
    totals, _ = _numeric(table[total_col], name=str(total_col), path=path, missing_ok=False,
                         option="--population-totals")
    keys = _unit_keys(table[key_col]) if key_col is not None else [f"unit {i + 1}" for i in range(len(table))]
    dup = pd.Series(keys)[pd.Series(keys).duplicated()]
    if len(dup):
        raise PopulationError(f"--population-totals {path}: unit {dup.iloc[0]!r} appears more than once in {key_col!r}.")
    if is_vector:
        units = gpd.GeoDataFrame({"name": keys}, geometry=shapely.make_valid(table.geometry.to_numpy()), crs=table.crs)
    log.info("population totals %s: %d units, %.0f people", path.name, len(keys), totals.sum())
    return PopulationTotals(source=path, totals=dict(zip(keys, totals.tolist())), units=units)
