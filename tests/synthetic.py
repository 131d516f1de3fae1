"""Hand-checkable synthetic networks with documented edge lengths (cityseer style).

All coordinates are metres in EPSG:32648 (UTM 48N, Chongqing's zone) relative to
``ORIGIN``; at the default 4.5 km/h (1.25 m/s) 100 m takes 80 s.

``square_network()``::

    D(0,400) ---- 300 m ---- C(300,400)
      |                    / |
    400 m      500 m  /     400 m
      |          /           |
    A(0,0) ----- 300 m ---- B(300,0)

Edges (row: u-v, length): 0: A-B 300, 1: B-C 400, 2: C-D 300, 3: D-A 400, 4: A-C 500
(the diagonal). Node positions: A=0, B=1, C=2, D=3.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle.layers.osm import WAY_TAG_COLUMNS
from lifecircle.spatial.network import WalkNetwork, _component_labels, build_walk_network

CRS = pyproj.CRS.from_epsg(32648)
ORIGIN = (600_000.0, 3_270_000.0)
SPEED_MS = 4.5 / 3.6


def at(x: float, y: float) -> shapely.Point:
    """A point at local coordinates (metres from ORIGIN)."""
    return shapely.Point(ORIGIN[0] + x, ORIGIN[1] + y)


def network_from_extract(extract: object) -> WalkNetwork:
    """The whole walking network of an OSM extract (no clipping), in the data's UTM zone."""
    return build_walk_network(
        way_ids=extract.way_ids, way_offsets=extract.way_offsets, node_ids=extract.node_ids,  # type: ignore[attr-defined]
        node_lon=extract.node_lon, node_lat=extract.node_lat, way_tags=extract.way_tags,  # type: ignore[attr-defined]
    )


def network_from_lines(
    nodes_xy: Sequence[tuple[float, float]],
    edges: Sequence[tuple[int, int]],
    *,
    tags: Sequence[dict[str, str]] | None = None,
    geometries: Sequence[shapely.LineString] | None = None,
) -> WalkNetwork:
    """A WalkNetwork from local node coordinates and (u, v) pairs (straight edges unless given)."""
    xy = np.asarray(nodes_xy, dtype=float) + np.asarray(ORIGIN)
    if geometries is None:
        geometries = [shapely.LineString([xy[u], xy[v]]) for u, v in edges]
    rows = []
    for i in range(len(edges)):
        row = {c: None for c in WAY_TAG_COLUMNS}
        row["highway"] = "footway"
        if tags is not None:
            row.update(tags[i])
        rows.append(row)
    tag_table = pd.DataFrame(rows, columns=list(WAY_TAG_COLUMNS))
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    geoms = np.asarray(geometries, dtype=object)
    edge_table = gpd.GeoDataFrame(
        {"u": u, "v": v, "osm_way_id": np.arange(1, len(edges) + 1), "length_m": shapely.length(geoms)},
        geometry=geoms, crs=CRS,
    )
    edge_table = gpd.GeoDataFrame(pd.concat([edge_table, tag_table], axis=1), geometry="geometry", crs=CRS)
    node_table = gpd.GeoDataFrame(
        {"osm_id": np.arange(1, len(xy) + 1), "component": _component_labels(len(xy), u, v)},
        geometry=shapely.points(xy), crs=CRS,
    )
    return WalkNetwork(nodes=node_table, edges=edge_table, crs=CRS)


def square_network() -> WalkNetwork:
    """The square with a diagonal drawn in the module docstring."""
    return network_from_lines([(0, 0), (300, 0), (300, 400), (0, 400)], [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)])


def grid_network(n: int, spacing: float, lengths: np.ndarray | None = None) -> WalkNetwork:
    """An n x n lattice; node i*n+j at (j*spacing, i*spacing). Optional per-edge length factors
    (>= 1) bend edges into detours by scaling their geometry through a midpoint."""
    nodes = [(j * spacing, i * spacing) for i in range(n) for j in range(n)]
    edges = []
    for i in range(n):
        for j in range(n):
            k = i * n + j
            if j + 1 < n:
                edges.append((k, k + 1))
            if i + 1 < n:
                edges.append((k, k + n))
    geoms = None
    if lengths is not None:
        xy = np.asarray(nodes) + np.asarray(ORIGIN)
        geoms = []
        for (u, v), factor in zip(edges, lengths):
            a, b = xy[u], xy[v]
            mid = (a + b) / 2
            half = spacing / 2
            # A kink of height h makes the path 2*sqrt(half^2 + h^2) = factor * spacing long.
            h = np.sqrt(max((factor * spacing / 2) ** 2 - half**2, 0.0))
            normal = np.array([-(b - a)[1], (b - a)[0]]) / spacing
            geoms.append(shapely.LineString([a, mid + normal * h, b]))
    return network_from_lines(nodes, edges, geometries=geoms)


def write_geotiff(path, z: np.ndarray, *, x0: float, y0: float, cell: float,
                  crs: str | None = "EPSG:32648", nodata: float | None = None):
    """Write a one-band GeoTIFF whose top-left corner is (x0, y0); ``crs=None`` leaves it out."""
    import rasterio
    from affine import Affine

    profile = {"driver": "GTiff", "width": z.shape[1], "height": z.shape[0], "count": 1, "dtype": str(z.dtype),
               "transform": Affine(cell, 0.0, x0, 0.0, -cell, y0)}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path
