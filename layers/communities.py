"""Read community boundaries (``--communities FILE``) and study-area boundaries (``--boundary FILE``).

A communities file holds polygons with a name: the 社区 (residents' committee areas) or
街道 of a district, as a planning office keeps them. Any format GDAL reads works
(GeoPackage, GeoJSON, Shapefile ...). lifecircle keeps the file's CRS here; the
pipeline reprojects to its metric CRS.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.ops
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle._errors import BoundaryError, CommunitiesError, InputNotFoundError, NoCrsError, plain_number, shorten
from lifecircle._names import make_unique_names

__all__ = [
    "NAME_COLUMN_CANDIDATES",
    "CODE_COLUMN_CANDIDATES",
    "Boundary",
    "read_communities",
    "read_boundary",
    "boundary_mismatch_hint",
    "far_boundary_parts",
]

log = logging.getLogger(__name__)

#: Columns tried, in this order, as the community name when ``name_column`` is not given.
#: The match ignores case (``NAME`` and ``Name`` match ``name``).
NAME_COLUMN_CANDIDATES: tuple[str, ...] = (
    "name", "名称", "社区名称", "社区名", "社区", "community", "community_name", "shequ",
    "居委会", "村社区", "街道", "name_zh", "name:zh", "name_en", "name:en",
)

#: Columns tried, in this order, as the community's code (统计用区划代码 ...); optional.
CODE_COLUMN_CANDIDATES: tuple[str, ...] = ("code", "区划代码", "统计用区划代码", "社区代码", "代码", "adcode")

_POLYGONAL = ("Polygon", "MultiPolygon")


class Boundary(NamedTuple):
    """A study-area boundary read from a file.

    Attributes
    ----------
    geometry : shapely.Polygon or shapely.MultiPolygon
        The union of the file's polygons, in ``crs``.
    crs : pyproj.CRS
        The file's CRS.
    """

    geometry: shapely.Polygon | shapely.MultiPolygon
    crs: pyproj.CRS


def _read_vector(path: Path, error: type[Exception], what: str) -> gpd.GeoDataFrame:
    """Read a vector file, turning a missing or unreadable file into a lifecircle error."""
    if not path.exists():
        raise InputNotFoundError(f"{what} file {str(path)!r} does not exist.")
    if path.is_dir() and path.suffix.lower() not in (".gdb",):
        raise error(f"{what} file {str(path)!r} is a folder; expected a GeoPackage, GeoJSON or Shapefile.")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio/GDAL raise several classes for unreadable data
        raise error(
            f"{what} file {str(path)!r} could not be read as a vector layer ({shorten(str(exc), limit=200)}); expected "
            "polygons in a GeoPackage, GeoJSON, Shapefile or another format GDAL reads."
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
        raise error(f"{what} file {str(path)!r} has no geometry column; expected polygons.")
    return gdf


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (``make_valid`` can return lines beside them)."""
    parts = shapely.get_parts(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _check_finite(geoms: np.ndarray, error: type[Exception], what: str) -> None:
    """Refuse NaN or infinite coordinates (GEOS cannot compute with them)."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        raise error(f"{what}: feature {int(owner[np.flatnonzero(bad)[0]]) + 1} has coordinates that are not finite "
                    "numbers (NaN or infinity); expected longitude/latitude or metres.")


def _repair(geoms: np.ndarray) -> tuple[np.ndarray, int]:
    """Repair invalid polygons with :func:`shapely.make_valid`; return them and the count."""
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms, 0
    geoms = geoms.copy()
    fixed = shapely.make_valid(geoms[invalid])
    geoms[invalid] = [_polygonal_part(g) for g in fixed]
    return geoms, int(invalid.sum())


def _find_name_column(gdf: gpd.GeoDataFrame, path: Path, name_column: str | None) -> str:
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if name_column is not None:
        if name_column not in columns:
            raise CommunitiesError(
                f"communities file {str(path)!r} has no column {shorten(name_column)} (name_column); "
                f"its columns are: {', '.join(map(str, columns)) or '(none)'}."
            )
        return name_column
    lowered = {str(c).lower(): c for c in reversed(columns)}  # first wins on case clashes
    for candidate in NAME_COLUMN_CANDIDATES:
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    raise CommunitiesError(
        f"communities file {str(path)!r} has no name column: expected one of "
        f"{', '.join(NAME_COLUMN_CANDIDATES)} (any case): rename the column holding the names to 'name'; "
        f"its columns are: {shorten(', '.join(map(str, columns)), limit=200) or '(none)'}."
    )


def _names(values: pd.Series) -> list[str]:
    """Community names as clean strings; blanks become ``社区 <row>`` with a warning."""
    out: list[str] = []
    blank = 0
    for i, value in enumerate(values.tolist(), start=1):
        if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
            out.append(f"社区 {i:03d}")
            blank += 1
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # numeric codes read as 101.0 are named 101
        out.append(str(value).strip())
    if blank:
        log.warning("%d communities have no name; named by row number (社区 001 ...)", blank)
    return out


def _polygon_rows(geoms: np.ndarray, path: Path) -> np.ndarray:
    """Which rows hold a geometry (bool per row), once every geometry is known to be polygonal."""
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        raise CommunitiesError(
            f"communities file {str(path)!r} holds no polygons ({len(geoms)} rows, all without geometry)."
        )
    kinds = pd.Series(shapely.get_type_id(geoms[present])).map(
        dict(enumerate(("Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection")))
    )
    other = sorted(set(kinds) - set(_POLYGONAL))
    if other:
        counts = kinds[kinds.isin(other)].value_counts()
        raise CommunitiesError(
            f"communities file {str(path)!r} must hold polygons only; found "
            + ", ".join(f"{n} {kind}" for kind, n in counts.items())
            + f" besides {int(kinds.isin(_POLYGONAL).sum())} polygons."
        )
    return present


def _code_and_kept(gdf: gpd.GeoDataFrame, present: np.ndarray, path: Path, *, name_column: str,
                   code_column: str | None, keep_columns: tuple[str, ...]) -> dict[str, list[str]]:
    """The ``code`` column (given, or found among :data:`CODE_COLUMN_CANDIDATES` unless it is
    the name column) and the kept columns, as text, for the rows with a geometry."""
    columns: dict[str, list[str]] = {}
    folded = {str(c).strip().casefold(): c for c in gdf.columns if c != gdf.geometry.name}
    for wanted, role in ((code_column, "code_column"), *((k, "keep_columns") for k in keep_columns)):
        if wanted is not None and wanted not in gdf.columns:
            raise CommunitiesError(
                f"communities file {str(path)!r} has no column {shorten(wanted)} ({role}); its columns are: "
                f"{shorten(', '.join(map(str, (c for c in gdf.columns if c != gdf.geometry.name))), limit=200)}.")
    code = code_column or next((folded[c.casefold()] for c in CODE_COLUMN_CANDIDATES if c.casefold() in folded), None)
    if code is not None and (code != name_column or code_column is not None):
        columns["code"] = _names(gdf[code][present])
    for keep in keep_columns:
        columns[keep] = _names(gdf[keep][present])
    return columns


def read_communities(path: str | Path, *, name_column: str | None = None, code_column: str | None = None,
                     keep_columns: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """Read community polygons with their names.

    Parameters
    ----------
    path : str or pathlib.Path
        A vector file (GeoPackage, GeoJSON, Shapefile ...) of polygons with a CRS.
    name_column : str, optional
        The column holding the names. When not given the first column matching
        :data:`NAME_COLUMN_CANDIDATES` (ignoring case) is used.
    code_column : str, optional
        The column holding the codes. When not given the first column matching
        :data:`CODE_COLUMN_CANDIDATES` (ignoring case) is used, if any.
    keep_columns : tuple of str, default ()
        Further columns to keep, as text (the governance levels' parent codes and names).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name`` (unique strings), ``code`` (text, when the file has a column of
        :data:`CODE_COLUMN_CANDIDATES` or ``code_column`` is given; used to match
        ``--population-totals`` by code), each of ``keep_columns`` (text) and
        ``geometry`` (valid Polygon or MultiPolygon), in the file's CRS, in the file's row
        order. Rows with an empty
        geometry are dropped (logged); invalid polygons are repaired with
        :func:`shapely.make_valid`; repeated names get ``" (2)"``, ``" (3)"`` ...
        (logged); a blank name becomes ``"社区 <row>"``.

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    NoCrsError
        The file has no CRS.
    CommunitiesError
        The file cannot be read, holds no polygons, holds other geometries (points,
        lines), has no name column, or lacks ``code_column`` or one of ``keep_columns``.
    """
    path = Path(path)
    gdf = _read_vector(path, CommunitiesError, "communities")
    if gdf.crs is None:
        raise NoCrsError(
            f"communities file {str(path)!r} has no CRS; expected a file with a coordinate "
            "reference system (e.g. EPSG:4326 or EPSG:4547). Add a .prj or set the CRS in GIS."
        )
    column = _find_name_column(gdf, path, name_column)
    geoms = gdf.geometry.to_numpy()
    present = _polygon_rows(geoms, path)
    if not present.all():
        log.warning("communities file %s: dropped %d rows without geometry", path.name, int((~present).sum()))
    names = _names(gdf[column][present])
    _check_finite(geoms[present], CommunitiesError, f"communities file {str(path)!r}")
    geoms, repaired = _repair(geoms[present])
    if repaired:
        log.warning("communities file %s: repaired %d invalid polygons with make_valid", path.name, repaired)
    unique = make_unique_names(names)
    renamed = sum(a != b for a, b in zip(names, unique))
    if renamed:
        log.warning(
            "communities file %s: %d repeated names made unique with a suffix (e.g. %r)",
            path.name, renamed, next(b for a, b in zip(names, unique) if a != b),
        )
    columns = {"name": unique, **_code_and_kept(gdf, present, path, name_column=column, code_column=code_column,
                                                keep_columns=keep_columns)}
    result = gpd.GeoDataFrame(columns, geometry=geoms, crs=gdf.crs)
    log.info("Read %d communities from %s (name column %r)", len(result), path.name, column)
    return result


def read_boundary(path: str | Path) -> Boundary:
    """Read a study-area boundary: the union of every polygon in a vector file.

    Parameters
    ----------
    path : str or pathlib.Path
        A vector file (GeoPackage, GeoJSON, Shapefile ...) with a CRS. Points and lines
        in it are ignored (logged).

    Returns
    -------
    Boundary
        ``(geometry, crs)``: the valid union of the polygons in the file's CRS.

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    BoundaryError
        The file cannot be read, has no CRS, holds no polygons, or their union is empty.
    """
    path = Path(path)
    gdf = _read_vector(path, BoundaryError, "boundary")
    if gdf.crs is None:
        raise BoundaryError(
            f"boundary file {str(path)!r} has no CRS; expected a file with a coordinate "
            "reference system (e.g. EPSG:4326)."
        )
    geoms = gdf.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    _check_finite(geoms, BoundaryError, f"boundary file {str(path)!r}")
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygonal.any():
        raise BoundaryError(
            f"boundary file {str(path)!r} holds no polygons ({len(gdf)} rows, "
            f"{len(geoms)} non-empty geometries); expected the study area as one or more polygons."
        )
    if not polygonal.all():
        log.warning("boundary file %s: ignored %d non-polygon geometries", path.name, int((~polygonal).sum()))
    polygons, repaired = _repair(geoms[polygonal])
    if repaired:
        log.warning("boundary file %s: repaired %d invalid polygons with make_valid", path.name, repaired)
    union = _polygonal_part(shapely.union_all(polygons))
    if union.is_empty or union.area <= 0:
        raise BoundaryError(f"boundary file {str(path)!r}: the polygons enclose no area.")
    crs = pyproj.CRS(gdf.crs)
    _check_boundary_coordinates(union, crs, path)
    log.info("Read boundary %s: %d polygons", path.name, len(polygons))
    return Boundary(geometry=union, crs=crs)


def _span(lo: float, hi: float) -> str:
    return f"{plain_number(round(lo, 4))} to {plain_number(round(hi, 4))}"


def _check_boundary_coordinates(geom: shapely.Geometry, crs: pyproj.CRS, path: Path) -> None:
    """Refuse coordinates that cannot be what the CRS says: projected metres in a file read as
    longitude/latitude (a GeoJSON without a ``crs`` member always is), or latitude first."""
    minx, miny, maxx, maxy = (float(v) for v in geom.bounds)
    found = f"x from {_span(minx, maxx)}, y from {_span(miny, maxy)}"
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        raise BoundaryError(f"boundary file {str(path)!r} has coordinates that are not numbers ({found}).")
    if crs.is_geographic:
        if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90:
            return
        if max(abs(minx), abs(maxx)) <= 90 and max(abs(miny), abs(maxy)) <= 180:
            raise BoundaryError(
                f"boundary file {str(path)!r}: longitude and latitude look swapped ({found}, but latitude "
                "must lie within -90..90). GeoJSON lists longitude first: [lon, lat]."
            )
        raise BoundaryError(
            f"boundary file {str(path)!r} is read as longitude/latitude ({crs.to_string()}), but its coordinates "
            f"look like projected metres ({found}). A GeoJSON without a 'crs' member is always longitude/latitude: "
            "save the boundary with its CRS (e.g. as a GeoPackage with EPSG:32648) or in longitude/latitude."
        )
    lon_lat = gpd.GeoSeries([geom], crs=crs).to_crs(4326).total_bounds
    if not np.isfinite(lon_lat).all():
        raise BoundaryError(
            f"boundary file {str(path)!r}: its coordinates ({found}) do not convert to longitude/latitude from its "
            f"CRS {crs.to_string()}; is the recorded CRS right?"
        )


def boundary_mismatch_hint(geom: shapely.Geometry, crs: pyproj.CRS,
                           data_bounds: tuple[float, float, float, float]) -> str:
    """Why a boundary that misses the OSM data probably does.

    Latitude and longitude swapped, or a wrong CRS putting it far away.

    Parameters
    ----------
    geom : shapely.Geometry
        The boundary polygon, in ``crs``.
    crs : pyproj.CRS
        The boundary file's CRS.
    data_bounds : tuple of float
        The OSM data's (west, south, east, north), degrees.

    Returns
    -------
    str
        A sentence (with a leading space) to append to the error message.

    Examples
    --------
    >>> swapped = shapely.box(29.5, 106.5, 29.6, 106.6)  # lat, lon
    >>> boundary_mismatch_hint(swapped, pyproj.CRS(4326), (106.5, 29.5, 106.6, 29.6))
    ' Its longitude and latitude look swapped: swapped, it overlaps the data. GeoJSON lists longitude first: [lon, lat].'
    """
    box = shapely.box(*data_bounds)
    if crs.is_geographic:
        swapped = shapely.transform(geom, lambda xy: xy[:, ::-1])
        if swapped.intersects(box):
            return (" Its longitude and latitude look swapped: swapped, it overlaps the data. GeoJSON lists "
                    "longitude first: [lon, lat].")
    lon_lat = gpd.GeoSeries([geom], crs=crs).to_crs(4326).iloc[0]
    geod = pyproj.Geod(ellps="WGS84")
    a, b = lon_lat.centroid, box.centroid
    km = geod.inv(a.x, a.y, b.x, b.y)[2] / 1000.0
    return f" The boundary lies about {km:,.0f} km from the data; is its CRS ({crs.to_string()}) right?"


def far_boundary_parts(boundary: Boundary, *, limit_km: float = 50.0) -> str | None:
    """Describe boundary parts lying far from its largest part, or ``None``.

    A stray part far away (a wrong coordinate, a part of another district) makes the study
    area's extent huge; the message says so instead of blaming the cell size. A single
    polygon spanning more than ten times ``limit_km`` is described too.

    Parameters
    ----------
    boundary : Boundary
        From :func:`read_boundary`.
    limit_km : float
        Distance from the largest part (km) beyond which a part is stray.

    Returns
    -------
    str or None
        A clause for the error message (without a capital or full stop), ``None`` when
        nothing is far.

    Examples
    --------
    >>> near = Boundary(geometry=shapely.box(106.5, 29.5, 106.6, 29.6), crs=pyproj.CRS(4326))
    >>> far_boundary_parts(near) is None
    True
    """
    lon_lat = gpd.GeoSeries([boundary.geometry], crs=boundary.crs).to_crs(4326).iloc[0]
    parts = [p for p in shapely.get_parts(lon_lat) if not p.is_empty]
    geod = pyproj.Geod(ellps="WGS84")
    far_part = _far_part(parts, geod, limit_km) if len(parts) > 1 else None
    if far_part is not None:
        return far_part
    w, s, e, n = lon_lat.bounds
    km = max(geod.inv(w, (s + n) / 2, e, (s + n) / 2)[2], geod.inv((w + e) / 2, s, (w + e) / 2, n)[2]) / 1000.0
    if km <= 10 * limit_km:
        return None
    return (f"it spans about {km:,.0f} km (longitude {w:.4f} to {e:.4f}, latitude {s:.4f} to {n:.4f}): "
            "is one of its coordinates wrong")


def _far_part(parts: list, geod: pyproj.Geod, limit_km: float) -> str | None:
    # Parts chained by gaps under limit_km (districts side by side, islands off a coast) belong
    # together; a part no chain reaches from the largest one is stray. The search in degrees is
    # wide enough for the highest latitude, so it never misses a pair closer than limit_km.
    areas = [abs(geod.geometry_area_perimeter(p)[0]) for p in parts]
    main = int(np.argmax(areas))
    max_lat = min(max(abs(b) for p in parts for b in (p.bounds[1], p.bounds[3])), 89.0)
    reach_deg = limit_km / (111.32 * np.cos(np.radians(max_lat)))
    left, right = shapely.STRtree(parts).query(parts, predicate="dwithin", distance=reach_deg)
    links = sparse.coo_matrix((np.ones(len(left)), (left, right)), shape=(len(parts), len(parts)))
    _, cluster = csgraph.connected_components(links, directed=False)
    stray = np.flatnonzero(cluster != cluster[main])
    if not len(stray):
        return None
    c = parts[int(stray[0])].centroid
    a, b = shapely.ops.nearest_points(parts[main], parts[int(stray[0])])
    km = geod.inv(a.x, a.y, b.x, b.y)[2] / 1000.0
    more = f" ({len(stray)} parts lie farther than {limit_km:g} km from the rest)" if len(stray) > 1 else ""
    return (f"part {int(stray[0]) + 1} of its {len(parts)} polygons (around lon {c.x:.4f}, lat {c.y:.4f}) lies "
            f"about {km:,.0f} km from the largest part{more}: is it meant to be there")
