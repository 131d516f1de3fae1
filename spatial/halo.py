"""The halo of an area: how far beyond its border a walker within the threshold can reach.

A district run on its own must still see the clinic just across the district line. Each
area of a batch is therefore computed with the network and facilities within its halo (the
area grown by the distance the fastest walker covers in the threshold, plus the longest
walk from a facility to the network) while its cells, communities and results stay inside
the area itself.

Examples
--------
>>> round(halo_reach_m(minutes=15, speed_kmh=4.8, access_m=150), 1)
1350.0
"""

from __future__ import annotations

import math

import geopandas as gpd
import pyproj
import shapely

from lifecircle._errors import OptionError, shorten

__all__ = ["halo_reach_m", "halo_polygons", "halo_bounds_lonlat"]


def halo_reach_m(*, minutes: float, speed_kmh: float, access_m: float = 0.0) -> float:
    """Metres beyond an area's border that a walk of ``minutes`` can start or end at.

    Parameters
    ----------
    minutes : float
        The threshold (a walk longer than it is not counted as within reach anyway).
    speed_kmh : float
        The fastest walking speed of the run (the walker's flat speed; with terrain costs,
        the fastest downhill speed).
    access_m : float, default 0
        The longest straight walk between a facility and the network (``--max-access``).

    Returns
    -------
    float

    Raises
    ------
    OptionError
        A value is not a finite number >= 0 (speed and minutes > 0).
    """
    for name, value, low in (("minutes", minutes, 0.0), ("speed_kmh", speed_kmh, 0.0)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low:
            raise OptionError(f"{name} must be a number > 0 for the halo; found {shorten(value)}.")
    if not isinstance(access_m, (int, float)) or not math.isfinite(access_m) or access_m < 0:
        raise OptionError(f"access_m must be a number >= 0 for the halo; found {shorten(access_m)}.")
    return float(minutes) * 60.0 * float(speed_kmh) / 3.6 + float(access_m)


def halo_polygons(areas: gpd.GeoSeries, *, reach_m: float, crs: pyproj.CRS) -> gpd.GeoSeries:
    """Each area grown by ``reach_m`` metres, in the metric ``crs`` (one polygon per area).

    Parameters
    ----------
    areas : geopandas.GeoSeries
        The area outlines in any CRS.
    reach_m : float
        From :func:`halo_reach_m`.
    crs : pyproj.CRS
        A metric CRS for the buffer (the data's local UTM zone).

    Returns
    -------
    geopandas.GeoSeries
    """
    metric = areas.to_crs(crs)
    return gpd.GeoSeries(shapely.buffer(metric.geometry.to_numpy(), reach_m), index=areas.index, crs=crs)


def halo_bounds_lonlat(areas: gpd.GeoSeries, *, reach_m: float, crs: pyproj.CRS
                       ) -> list[tuple[float, float, float, float]]:
    """West, south, east, north (degrees) of each area's halo: what a cut of the OSM data
    for that area must hold (e.g. ``osmium extract -b W,S,E,N``).

    Parameters
    ----------
    areas : geopandas.GeoSeries
    reach_m : float
    crs : pyproj.CRS
        As :func:`halo_polygons`.

    Returns
    -------
    list of tuple of float
    """
    halos = halo_polygons(areas, reach_m=reach_m, crs=crs).to_crs(4326)
    return [tuple(round(float(v), 6) for v in b) for b in halos.bounds.to_numpy()]  # type: ignore[misc]

