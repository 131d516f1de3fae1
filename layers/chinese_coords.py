"""Chinese map coordinates: GCJ-02 (Amap/Gaode, Tencent) and BD-09 (Baidu) <-> WGS84.

Facility lists exported from Amap/Gaode carry GCJ-02 ("Mars") coordinates and those
from Baidu carry BD-09. Both are deliberate, non-linear offsets of WGS84 of a few hundred
metres: at Jiefangbei in Chongqing (106.5770 E, 29.5570 N) GCJ-02 lies 480 m from
WGS84 and BD-09 about 1,050 m (see :func:`offset_m`), which is a large share of a 15-minute walk (1,125 m), so such files
must be converted before use, and a GCJ-02 basemap (Gaode tiles) needs WGS84 overlays
shifted the other way for display.

The forward transforms are the public formula (the same constants as every open
implementation, e.g. ``eviltransform``/``coordtransform``). The inverse transforms have no
closed form; they are solved by fixed-point iteration ``x <- x - (f(x) - target)``,
which converges to well below a millimetre in a few steps because ``f`` is close to a
translation. Outside China's rough bounding box GCJ-02 equals WGS84, as in the formula's
reference implementations.

All functions are vectorised over numpy arrays (or scalars) of longitudes and latitudes
in degrees and return new arrays; inputs are never modified.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

from lifecircle._errors import OptionError

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "out_of_china",
    "offset_m",
    "to_wgs84",
    "from_wgs84",
    "CHINESE_SYSTEMS",
]

log = logging.getLogger(__name__)

#: Names accepted for the ``system`` argument of :func:`to_wgs84` / :func:`from_wgs84`.
CHINESE_SYSTEMS: tuple[str, ...] = ("gcj02", "bd09", "wgs84")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_EARTH_RADIUS_M = 6371008.8


def _arrays(lon: np.typing.ArrayLike, lat: np.typing.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.shape != lat_a.shape:
        raise OptionError(f"lon and lat must have the same shape; found {lon_a.shape} and {lat_a.shape}.")
    return lon_a, lat_a


def out_of_china(lon: np.typing.ArrayLike, lat: np.typing.ArrayLike) -> np.ndarray:
    """True where a point lies outside the rough box in which GCJ-02 differs from WGS84.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray
        bool per point.

    Examples
    --------
    >>> out_of_china([106.57, 24.94], [29.56, 60.17]).tolist()  # Chongqing, Helsinki
    [False, True]
    """
    lon_a, lat_a = _arrays(lon, lat)
    return (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 in degrees at a WGS84 point (zero outside China)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: np.typing.ArrayLike, lat: np.typing.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 (the public forward formula).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude, degrees, same shape.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude.
    """
    lon_a, lat_a = _arrays(lon, lat)
    dlon, dlat = _delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def _invert(forward, lon: np.ndarray, lat: np.ndarray, *, tolerance_deg: float, max_iter: int):
    # Fixed point of x = x - (f(x) - target): f is a translation plus a slowly varying
    # term, so each step shrinks the error by orders of magnitude.
    x_lon, x_lat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = forward(x_lon, x_lat)
        e_lon, e_lat = f_lon - lon, f_lat - lat
        x_lon = x_lon - e_lon
        x_lat = x_lat - e_lat
        if not np.any((np.abs(e_lon) > tolerance_deg) | (np.abs(e_lat) > tolerance_deg)):
            break
    return x_lon, x_lat


def gcj02_to_wgs84(
    lon: np.typing.ArrayLike, lat: np.typing.ArrayLike, *, tolerance_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS84 by iterating the forward formula (error far below 1 mm).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude, degrees.
    tolerance_deg : float, default 1e-10
        Stop when re-projecting the estimate misses the input by less than this (about 0.01 mm).
    max_iter : int, default 30
        Iterations at most.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS84 longitude and latitude.
    """
    lon_a, lat_a = _arrays(lon, lat)
    return _invert(wgs84_to_gcj02, lon_a, lat_a, tolerance_deg=tolerance_deg, max_iter=max_iter)


def gcj02_to_bd09(lon: np.typing.ArrayLike, lat: np.typing.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (Baidu's public forward formula).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 degrees.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(106.57, 29.56)
    >>> 0.006 < float(lon) - 106.57 < 0.007, 0.006 < float(lat) - 29.56 < 0.007  # Baidu's shift of about 0.0065°
    (True, True)
    """
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: np.typing.ArrayLike, lat: np.typing.ArrayLike, *, tolerance_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02: the usual approximate inverse, refined by iteration to exactness.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude, degrees.
    tolerance_deg : float
        Stop when :func:`gcj02_to_bd09` of the result is this close (degrees) to the input.
    max_iter : int
        Iterations at most.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 degrees.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(*gcj02_to_bd09(106.57, 29.56))
    >>> round(float(lon), 9), round(float(lat), 9)
    (106.57, 29.56)
    """
    bd_lon, bd_lat = _arrays(lon, lat)
    x = bd_lon - 0.0065
    y = bd_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    start_lon, start_lat = z * np.cos(theta), z * np.sin(theta)

    # Iterate from the approximate inverse: x <- x - (f(x) - target).
    g_lon, g_lat = start_lon, start_lat
    for _ in range(max_iter):
        f_lon, f_lat = gcj02_to_bd09(g_lon, g_lat)
        e_lon, e_lat = f_lon - bd_lon, f_lat - bd_lat
        g_lon, g_lat = g_lon - e_lon, g_lat - e_lat
        if not np.any((np.abs(e_lon) > tolerance_deg) | (np.abs(e_lat) > tolerance_deg)):
            break
    return g_lon, g_lat


def wgs84_to_bd09(lon: np.typing.ArrayLike, lat: np.typing.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 degrees.

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(106.57, 29.56)
    >>> 800 < float(offset_m(106.57, 29.56, lon, lat)) < 1300  # Baidu's offset in Chongqing, metres
    True
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: np.typing.ArrayLike, lat: np.typing.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> WGS84 (through GCJ-02, both inverses iterated).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 degrees.

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(*wgs84_to_bd09(106.57, 29.56))
    >>> round(float(lon), 7), round(float(lat), 7)
    (106.57, 29.56)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def offset_m(
    lon1: np.typing.ArrayLike, lat1: np.typing.ArrayLike, lon2: np.typing.ArrayLike, lat2: np.typing.ArrayLike
) -> np.ndarray:
    """Great-circle distance between two sets of points, metres (haversine, mean Earth radius).

    Parameters
    ----------
    lon1, lat1 : array_like
        The first points, degrees.
    lon2, lat2 : array_like
        The second points, degrees (broadcast against the first).

    Returns
    -------
    numpy.ndarray
        float64 metres.

    Examples
    --------
    >>> round(float(offset_m(106.57, 29.56, 106.57, 29.57)))  # 0.01 degree of latitude
    1112
    """
    lon1_a, lat1_a = _arrays(lon1, lat1)
    lon2_a, lat2_a = _arrays(lon2, lat2)
    p1, p2 = np.radians(lat1_a), np.radians(lat2_a)
    dp = p2 - p1
    dl = np.radians(lon2_a - lon1_a)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _check_system(system: str) -> str:
    name = str(system).lower().replace("-", "").replace("_", "")
    if name not in CHINESE_SYSTEMS:
        raise OptionError(f"coordinate system must be one of {', '.join(CHINESE_SYSTEMS)}; found {system!r}.")
    return name


def _transform_geoseries(geoms: gpd.GeoSeries, func) -> gpd.GeoSeries:
    def apply(coords: np.ndarray) -> np.ndarray:
        out_lon, out_lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([out_lon, out_lat])

    # shapely.transform passes all vertices of all geometries at once: one vectorised call.
    values = shapely.transform(np.asarray(geoms.values, dtype=object), apply)
    return gpd.GeoSeries(values, index=geoms.index, crs="EPSG:4326")


def to_wgs84(frame: gpd.GeoDataFrame | gpd.GeoSeries, system: str) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Convert geometries whose coordinates are GCJ-02 or BD-09 degrees to WGS84 (EPSG:4326).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame or geopandas.GeoSeries
        Geometries with longitude/latitude in ``system`` (their declared CRS, if any, is
        EPSG:4326 or missing: Chinese offset systems have no EPSG code).
    system : {"gcj02", "bd09", "wgs84"}
        The coordinate system the numbers are really in.

    Returns
    -------
    geopandas.GeoDataFrame or geopandas.GeoSeries
        Same type as ``frame``, a copy in EPSG:4326.

    Raises
    ------
    OptionError
        An unknown ``system``, or ``frame`` in a CRS other than EPSG:4326.

    Examples
    --------
    >>> import shapely
    >>> amap = gpd.GeoSeries([shapely.Point(106.57, 29.56)])  # an Amap (GCJ-02) point
    >>> point = to_wgs84(amap, "gcj02").iloc[0]
    >>> 300 < float(offset_m(106.57, 29.56, point.x, point.y)) < 700  # GCJ-02's offset in Chongqing, metres
    True
    """
    name = _check_system(system)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        raise OptionError(
            f"GCJ-02/BD-09 coordinates must be longitude/latitude degrees (EPSG:4326 or no CRS); found {frame.crs}."
        )
    geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if name == "wgs84":
        converted = gpd.GeoSeries(geoms.values, index=geoms.index, crs="EPSG:4326")
    else:
        converted = _transform_geoseries(geoms, _TO_WGS84[name])
        log.info("converted %d geometries from %s to WGS84", len(converted), name)
    if isinstance(frame, gpd.GeoDataFrame):
        return frame.set_geometry(converted.values, crs="EPSG:4326")
    return converted


def from_wgs84(frame: gpd.GeoDataFrame | gpd.GeoSeries, system: str) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Shift WGS84 geometries into GCJ-02 or BD-09 degrees (for display on Chinese basemaps only).

    The result is still labelled EPSG:4326 because the offset systems have no CRS of their
    own; never save it as data.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame or geopandas.GeoSeries
        Geometries in any CRS (reprojected to EPSG:4326 first).
    system : {"gcj02", "bd09", "wgs84"}
        The system of the basemap they will be drawn on.

    Returns
    -------
    geopandas.GeoDataFrame or geopandas.GeoSeries
        Same type as ``frame``, shifted, labelled EPSG:4326.

    Examples
    --------
    >>> import shapely
    >>> shifted = from_wgs84(gpd.GeoSeries([shapely.Point(106.57, 29.56)], crs=4326), "gcj02").iloc[0]
    >>> back = to_wgs84(gpd.GeoSeries([shifted], crs=4326), "gcj02").iloc[0]
    >>> round(back.x, 7), round(back.y, 7)
    (106.57, 29.56)
    """
    name = _check_system(system)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if name == "wgs84":
        converted = gpd.GeoSeries(geoms.values, index=geoms.index, crs="EPSG:4326")
    else:
        converted = _transform_geoseries(geoms, _FROM_WGS84[name])
    if isinstance(frame, gpd.GeoDataFrame):
        return frame.set_geometry(converted.values, crs="EPSG:4326")
    return converted
