"""Download OpenStreetMap data by place name or bounding box through osmnx (online).

The download is turned into the same :class:`~lifecircle.layers.osm.OsmExtract` a local
file gives, so everything downstream is identical. osmnx caches the Overpass responses
under :data:`lifecircle.settings.cache_folder`, so a second run is offline.
"""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle import settings
from lifecircle._errors import DownloadError, NoWalkableWaysError, plain_number, shorten
from lifecircle.layers.osm import FEATURE_KEYS, MAJOR_ROAD_HIGHWAYS, WAY_TAG_COLUMNS, OsmExtract, walkable_mask

__all__ = ["download_extract", "extract_from_osmnx"]

log = logging.getLogger(__name__)

#: Overpass filter: every highway that may be walkable; :func:`is_walkable` decides after.
_HIGHWAY_FILTER = '["highway"]["highway"!~"construction|proposed|raceway|bus_guideway|abandoned|platform"]'


def extract_from_osmnx(graph, features: gpd.GeoDataFrame | None, *, source: str) -> OsmExtract:
    """Turn an unsimplified-or-simplified osmnx graph and features into an :class:`OsmExtract`.

    Each edge of the graph becomes one "way" whose interior vertices get unique negative
    ids, so :func:`lifecircle.spatial.network.build_walk_network` splits it only at real
    OSM nodes.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        osmnx graph in EPSG:4326.
    features : geopandas.GeoDataFrame or None
        From ``osmnx.features_from_*`` (index ``element``/``id``; tag columns).
    source : str
        Description for the run record.

    Returns
    -------
    OsmExtract
        The downloaded data in the form :func:`lifecircle.layers.osm.read_osm` returns.

    Raises
    ------
    NoWalkableWaysError
        The graph has no edge.
    """
    import osmnx as ox  # noqa: PLC0415 - osmnx is only needed online and slow to import

    nodes, edges = ox.convert.graph_to_gdfs(graph)
    edges = edges.reset_index()
    a = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    b = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    # osmnx gives edge lengths in metres; the geometry is in degrees.
    edges = edges.assign(_a=a, _b=b, _len=edges["length"]).sort_values(["_a", "_b", "_len", "key"])
    edges = edges.drop_duplicates(["_a", "_b", "_len"]).reset_index(drop=True)

    def first(value):
        return value[0] if isinstance(value, list) else value

    tag_table = pd.DataFrame({c: edges[c].map(first) if c in edges else None for c in WAY_TAG_COLUMNS})
    extra = pd.DataFrame({c: edges[c].map(first) if c in edges else None for c in ("foot", "access", "service")})
    walkable = walkable_mask(pd.concat([tag_table[["highway"]], extra], axis=1))
    edges, tag_table = edges[walkable].reset_index(drop=True), tag_table[walkable].reset_index(drop=True)
    if len(edges) == 0:
        raise NoWalkableWaysError(f"The download for {source} holds no walkable way.")
    coords, owner = shapely.get_coordinates(edges.geometry.to_numpy(), return_index=True)
    counts = np.bincount(owner, minlength=len(edges))
    offsets = np.zeros(len(edges) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    node_ids = -np.arange(1, len(coords) + 1, dtype=np.int64)  # interior vertices: unique negatives
    node_ids[offsets[:-1]] = edges["u"].to_numpy()
    node_ids[offsets[1:] - 1] = edges["v"].to_numpy()
    major = edges[tag_table["highway"].isin(list(MAJOR_ROAD_HIGHWAYS)).to_numpy()]
    major_roads = gpd.GeoDataFrame(
        {"osm_id": major["osmid"].map(first).astype(np.int64).to_numpy(), "highway": major["highway"].map(first).to_numpy(),
         "name": major["name"].map(first).to_numpy() if "name" in major else None},
        geometry=major.geometry.to_numpy(), crs="EPSG:4326",
    )
    feats = _features_table(features)
    del nodes
    return OsmExtract(
        source=source,
        way_ids=edges["osmid"].map(first).astype(np.int64).to_numpy(),
        way_offsets=offsets,
        node_ids=node_ids,
        node_lon=coords[:, 0].copy(),
        node_lat=coords[:, 1].copy(),
        way_tags=tag_table,
        features=feats,
        major_roads=major_roads,
        bbox=None,
        counts={"walkable_ways": int(len(edges)), "features": int(len(feats))},
    )


def _features_table(features: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if features is None or len(features) == 0:
        return gpd.GeoDataFrame({"osm_type": [], "osm_id": [], "name": [], "tags": []}, geometry=[], crs="EPSG:4326")
    f = features.to_crs(4326).reset_index()
    type_col = "element" if "element" in f else "element_type"
    tag_cols = [c for c in f.columns if c not in (type_col, "id", "osmid", "geometry", "nodes", "ways")]
    tags = [{k: str(v) for k, v in row.items() if isinstance(v, str)} for row in f[tag_cols].to_dict("records")]
    id_col = "id" if "id" in f else "osmid"
    return gpd.GeoDataFrame(
        {"osm_type": f[type_col].astype(str).to_numpy(), "osm_id": f[id_col].astype(np.int64).to_numpy(),
         "name": [t.get("name") for t in tags], "tags": tags},
        geometry=f.geometry.to_numpy(), crs="EPSG:4326",
    )


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _reachable(url: str, *, timeout_s: float = 5.0) -> bool:
    """Whether a TCP connection to the URL's host opens within ``timeout_s``."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
            return True
    except Exception:
        return False


def download_extract(*, place: str | None = None, bbox: tuple[float, float, float, float] | None = None) -> OsmExtract:
    """Download the walking network and features of a place or bbox (online, cached).

    Parameters
    ----------
    place : str, optional
        A geocodable place name, e.g. ``"渝中区, 重庆市"``.
    bbox : tuple of float, optional
        ``(west, south, east, north)`` in degrees.

    Returns
    -------
    OsmExtract
        The downloaded data in the form :func:`lifecircle.layers.osm.read_osm` returns.

    Raises
    ------
    DownloadError
        Neither or both of ``place`` and ``bbox``; geocoding or the Overpass download failed
        (offline, unknown place, server error).

    Examples
    --------
    The arguments are checked before anything is imported or downloaded:

    >>> download_extract(place="渝中区, 重庆市", bbox=(106.54, 29.54, 106.59, 29.57))
    Traceback (most recent call last):
    ...
    lifecircle._errors.DownloadError: Give exactly one of place or bbox to download.
    """
    if (place is None) == (bbox is None):
        raise DownloadError("Give exactly one of place or bbox to download.")
    import osmnx as ox  # noqa: PLC0415 - osmnx is only needed online and slow to import

    ox.settings.use_cache = True
    ox.settings.cache_folder = str(settings.cache_folder / "osmnx")
    ox.settings.useful_tags_way = sorted(set(ox.settings.useful_tags_way) | set(WAY_TAG_COLUMNS) | {"foot", "access", "service"})
    tags: dict[str, bool | str | list[str]] = {k: True for k in FEATURE_KEYS}
    source = f"place {shorten(place)}" if place else f"bbox {tuple(plain_number(v) for v in bbox)}"  # type: ignore[union-attr]
    online = _reachable(ox.settings.overpass_url)
    if not online:
        # Offline, osmnx would wait 60 s for Overpass's status before every request; without the
        # wait a cached area still loads at once and anything else fails at once.
        log.info("Overpass (%s) is not reachable: using the download cache only", ox.settings.overpass_url)
    rate_limit = ox.settings.overpass_rate_limit
    ox.settings.overpass_rate_limit = rate_limit and online
    try:
        if place is not None:
            polygon = ox.geocode_to_gdf(place).to_crs(4326).union_all()
        else:
            w, s, e, n = bbox  # type: ignore[misc]
            polygon = shapely.box(w, s, e, n)
        graph = ox.graph_from_polygon(polygon, custom_filter=_HIGHWAY_FILTER, simplify=True, retain_all=True,
                                      truncate_by_edge=True)
        try:
            features = ox.features_from_polygon(polygon, tags=tags)
        except ox._errors.InsufficientResponseError:
            features = None
    except Exception as exc:
        cause = ("no network: Overpass (" + _host(ox.settings.overpass_url) + ") cannot be reached" if not online
                 else shorten(str(exc), limit=200))
        raise DownloadError(
            f"Could not download OpenStreetMap data for {source}: {cause}. This needs internet access "
            "(Nominatim and Overpass); offline, pass a local file with --osm."
        ) from exc
    finally:
        ox.settings.overpass_rate_limit = rate_limit
    log.info("Downloaded %s: %s nodes, %s edges", source, f"{len(graph.nodes):,}", f"{len(graph.edges):,}")
    return extract_from_osmnx(graph, features, source=source)
