"""The walking network as compact arrays, drawn by the page on canvas tiles.

A city has hundreds of thousands of street lines: as GeoJSON text they would be most of
the page, and as one Leaflet layer each they would make panning crawl. Here every line
is simplified at 1 m in its metric CRS, projected to the map's Web Mercator metres
(shifted to GCJ-02 for Gaode's tiles), rounded to 0.5 m (a pixel at zoom 18 is 0.5 m at
Chongqing's latitude) and written as base64 little-endian arrays: per line its vertex
count (uint32), its first vertex (int32, half metres from the extent's south-west corner)
and the step flag (uint8, stairs are drawn dashed); per following vertex the difference
from the previous one (int16 pairs, or int32 when a step exceeds 16 km). The page draws
them into 256-pixel canvas tiles on demand (``L.GridLayer``), keeping at each zoom only
the vertices at least a pixel apart, so the streets are simplified by zoom as they are drawn.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from lifecircle.layers.chinese_coords import wgs84_to_gcj02
from lifecircle.maps.raster import b64

__all__ = ["street_arrays", "STREET_SIMPLIFY_M", "STREET_UNIT_M"]

#: Simplification tolerance in the metric CRS, metres.
STREET_SIMPLIFY_M = 1.0
#: Web Mercator metres per stored unit.
STREET_UNIT_M = 0.5


def street_arrays(edges: gpd.GeoDataFrame, *, shift: str = "none") -> dict[str, object] | None:
    """The streets as the page's compact arrays.

    Parameters
    ----------
    edges : geopandas.GeoDataFrame
        Lines (``highway`` optional: ``"steps"`` are flagged), with a CRS.
    shift : {"none", "gcj02"}, default "none"

    Returns
    -------
    dict or None
        ``origin`` (Web Mercator metres), ``unit``, ``count``, ``counts``, ``firsts``,
        ``deltas``, ``deltaBytes``, ``steps`` (base64); None when no line has two vertices.

    Examples
    --------
    A straight 600 m footway (its middle vertex simplified away) and a flight of steps:

    >>> import base64
    >>> import geopandas as gpd, numpy as np, shapely
    >>> edges = gpd.GeoDataFrame({"highway": ["footway", "steps"]}, crs="EPSG:32648", geometry=[
    ...     shapely.LineString([(0, 0), (300, 0), (600, 0)]), shapely.LineString([(0, 0), (0, 200)])])
    >>> arrays = street_arrays(edges)
    >>> arrays["count"], arrays["deltaBytes"]
    (2, 2)
    >>> np.frombuffer(base64.b64decode(arrays["counts"]), "<u4").tolist()
    [2, 2]
    >>> np.frombuffer(base64.b64decode(arrays["steps"]), "u1").tolist()
    [0, 1]
    >>> street_arrays(edges.iloc[:0]) is None
    True
    """
    geoms = edges.geometry
    tol = STREET_SIMPLIFY_M if geoms.crs.is_projected else STREET_SIMPLIFY_M / 111_000.0
    simple = shapely.simplify(np.asarray(geoms.values, dtype=object), tol, preserve_topology=False)
    steps = edges["highway"].astype(str).to_numpy() == "steps" if "highway" in edges.columns else np.zeros(len(edges), bool)
    parts, owner = shapely.get_parts(simple, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.get_num_coordinates(parts) >= 2)
    parts, owner = parts[keep], owner[keep]
    if len(parts) == 0:
        return None
    coords, line = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(line, minlength=len(parts))
    lon, lat = pyproj.Transformer.from_crs(geoms.crs, "EPSG:4326", always_xy=True).transform(coords[:, 0], coords[:, 1])
    if shift == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    origin = (float(np.floor(np.min(x))), float(np.floor(np.min(y))))
    qx = np.rint((np.asarray(x) - origin[0]) / STREET_UNIT_M).astype(np.int64)
    qy = np.rint((np.asarray(y) - origin[1]) / STREET_UNIT_M).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first = np.zeros(len(qx), dtype=bool)
    first[starts] = True
    dx, dy = np.diff(qx, prepend=0), np.diff(qy, prepend=0)
    deltas = np.column_stack([dx, dy])[~first]
    wide = bool(np.abs(deltas).max(initial=0) > np.iinfo(np.int16).max)
    return {
        "origin": list(origin),
        "unit": STREET_UNIT_M,
        "count": int(len(parts)),
        "counts": b64(counts.astype(np.uint32)),
        "firsts": b64(np.column_stack([qx[starts], qy[starts]]).astype(np.int32).ravel()),
        "deltas": b64(deltas.astype(np.int32 if wide else np.int16).ravel()),
        "deltaBytes": 4 if wide else 2,
        "steps": b64(steps[owner].astype(np.uint8)),
    }
