"""The study area: its metric CRS and its polygon.

Computations run in the local UTM zone of the data (metres); the study area is the
user's boundary reprojected to it, or the data's extent.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from lifecircle._errors import BoundaryError
from lifecircle.spatial.network import utm_crs_for

__all__ = ["local_metric_crs", "study_area"]

log = logging.getLogger(__name__)


def local_metric_crs(lon: np.ndarray, lat: np.ndarray) -> pyproj.CRS:
    """The UTM zone of the median point of some longitude/latitude coordinates.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Coordinates in degrees (EPSG:4326), e.g. the OSM nodes.

    Returns
    -------
    pyproj.CRS
        The UTM CRS (metres) of the median point.

    Examples
    --------
    >>> import numpy as np
    >>> local_metric_crs(np.array([106.57, 106.58]), np.array([29.55, 29.56])).to_epsg()
    32648
    """
    return utm_crs_for(float(np.median(lon)), float(np.median(lat)))


def study_area(
    node_lon: np.ndarray,
    node_lat: np.ndarray,
    *,
    crs: pyproj.CRS,
    boundary: shapely.Geometry | None = None,
    boundary_crs: Any = None,
    header_bbox: tuple[float, float, float, float] | None = None,
    label: str = "the boundary",
) -> shapely.Geometry:
    """The study area polygon in the metric CRS: the boundary, else the data's extent.

    Parameters
    ----------
    node_lon, node_lat : numpy.ndarray
        The data's node coordinates in degrees; their bounding box is the data's extent.
    crs : pyproj.CRS
        The metric CRS to return the area in (:func:`local_metric_crs`).
    boundary : shapely geometry, optional
        The user's boundary polygon, in ``boundary_crs``.
    boundary_crs : pyproj.CRS or str, optional
        CRS of ``boundary`` (required with it).
    header_bbox : tuple of float, optional
        ``(west, south, east, north)`` recorded in the data file's header: without a
        boundary, the area is the header box cut to the data's extent.
    label : str
        How messages name the boundary (its file name).

    Returns
    -------
    shapely.Geometry
        The area in ``crs``.

    Raises
    ------
    BoundaryError
        The boundary does not overlap the data.

    Examples
    --------
    >>> import numpy as np
    >>> lon, lat = np.array([24.94, 24.95]), np.array([60.16, 60.17])
    >>> crs = local_metric_crs(lon, lat)
    >>> round(study_area(lon, lat, crs=crs).area / 1e6, 2)  # km² of the data's extent
    0.65
    """
    to_metric = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = to_metric.transform(node_lon, node_lat)
    data_box = shapely.box(float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y)))
    if boundary is None:
        if header_bbox is not None:
            header = gpd.GeoSeries([shapely.box(*header_bbox)], crs=4326).to_crs(crs).iloc[0]
            if header.intersects(data_box):
                return header.intersection(data_box)
        return data_box
    area = gpd.GeoSeries([boundary], crs=boundary_crs).to_crs(crs).iloc[0]
    if not area.intersects(data_box):
        raise BoundaryError(
            f"--boundary {label!r} does not overlap the OSM data: the boundary covers "
            f"{_lonlat_bounds(boundary, boundary_crs)} but the data covers "
            f"{tuple(round(float(v), 4) for v in (np.min(node_lon), np.min(node_lat), np.max(node_lon), np.max(node_lat)))}."
        )
    share = area.intersection(data_box).area / area.area if area.area > 0 else 0.0
    if share < 0.95:
        log.warning(
            "--boundary %r: only %.0f%% of it lies within the OSM data's extent; cells outside the data "
            "will show as 'no access'. Use an extract that covers the whole boundary.", label, 100 * share,
        )
    return area


def _lonlat_bounds(geom: shapely.Geometry, crs: Any) -> tuple[float, ...]:
    b = gpd.GeoSeries([geom], crs=crs).to_crs(4326).total_bounds
    return tuple(round(float(v), 4) for v in b)
