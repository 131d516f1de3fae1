"""The walking network: nodes and edges in a metric CRS, built from flat way arrays.

A :class:`WalkNetwork` is two GeoDataFrames in one local UTM CRS:

``nodes``
    index ``0..n-1`` (the node's position in every array lifecircle computes), columns
    ``osm_id``, ``component`` (connected-component label, 0 = the largest), ``geometry``.
``edges``
    index ``0..m-1``; columns ``u``, ``v`` (node positions; the geometry runs from ``u``
    to ``v``), ``osm_way_id``, ``length_m``, the way tags of
    :data:`lifecircle.layers.osm.WAY_TAG_COLUMNS`, ``geometry``. Every edge is walkable
    in both directions; the cost of each direction lives in a separate table (see
    :mod:`lifecircle.spatial.costs`), so one network serves every walking profile.

Ways are split only where they meet other ways (or end), as osmnx's simplified graphs
are, so an edge keeps the full curve of the street between two junctions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle._errors import NoWalkableWaysError

__all__ = [
    "WalkNetwork",
    "utm_crs_for",
    "build_walk_network",
    "clip_network",
    "to_networkx",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalkNetwork:
    """A walking network in a metric CRS. See the module docstring for the columns.

    Attributes
    ----------
    nodes : geopandas.GeoDataFrame
    edges : geopandas.GeoDataFrame
    crs : pyproj.CRS
        The metric CRS of both tables (a UTM zone).
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    crs: pyproj.CRS

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of (undirected, two-way) edges."""
        return len(self.edges)

    def summary(self) -> dict[str, int | float]:
        """Counts for logs and the run record."""
        comp = self.nodes["component"].to_numpy()
        n_comp = int(comp.max()) + 1 if len(comp) else 0
        return {
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "length_km": round(float(self.edges["length_m"].sum()) / 1000.0, 3),
            "components": n_comp,
            "nodes_outside_largest_component": int((comp != 0).sum()),
        }


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS84 UTM zone CRS that contains a point.

    Parameters
    ----------
    lon, lat : float
        Degrees (EPSG:4326).

    Returns
    -------
    pyproj.CRS
        EPSG:326zz north of the equator, EPSG:327zz south of it.
    """
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _component_labels(n_nodes: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected components, relabelled so that 0 is the largest (ties by lowest node)."""
    graph = sparse.csr_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n_nodes, n_nodes))
    _, labels = csgraph.connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    first_node = np.full(len(sizes), n_nodes, dtype=np.int64)
    np.minimum.at(first_node, labels, np.arange(n_nodes))
    order = np.lexsort((first_node, -sizes))  # largest first, deterministic tie-break
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels]


def build_walk_network(
    *,
    way_ids: np.ndarray,
    way_offsets: np.ndarray,
    node_ids: np.ndarray,
    node_lon: np.ndarray,
    node_lat: np.ndarray,
    way_tags: pd.DataFrame,
    crs: pyproj.CRS | str | None = None,
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from walkable ways given as flat node arrays.

    Parameters
    ----------
    way_ids : numpy.ndarray
        OSM id per way, shape ``(W,)``.
    way_offsets : numpy.ndarray
        Start of each way in the node arrays, shape ``(W+1,)``.
    node_ids, node_lon, node_lat : numpy.ndarray
        The ways' vertices in order: OSM node id and WGS84 coordinates.
    way_tags : pandas.DataFrame
        One row per way; its columns are copied to the way's edges.
    crs : pyproj.CRS or str, optional
        Metric CRS to compute in. Default: the UTM zone of the data's centre.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    NoWalkableWaysError
        No way has two distinct vertices.
    """
    way_offsets = np.asarray(way_offsets, dtype=np.int64)
    node_ids = np.asarray(node_ids, dtype=np.int64)
    n_ways = len(way_offsets) - 1
    if n_ways <= 0 or len(node_ids) < 2:
        raise NoWalkableWaysError("No walkable way with at least two nodes: cannot build a network.")
    if crs is None:
        crs = utm_crs_for(float(np.mean(node_lon)), float(np.mean(node_lat)))
    crs = pyproj.CRS(crs)
    to_metric = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = to_metric.transform(np.asarray(node_lon), np.asarray(node_lat))

    lengths = np.diff(way_offsets)
    way_of_vertex = np.repeat(np.arange(n_ways), lengths)
    first = way_offsets[:-1]
    last = way_offsets[1:] - 1

    # A vertex is a graph node when it ends a way or is shared by several ways (or visited
    # twice by one): count each (way, node) visit, so a closed ring's start counts as a split.
    _, inverse, occurrences = np.unique(node_ids, return_inverse=True, return_counts=True)
    is_split = occurrences[inverse] > 1
    is_split[first] = True
    is_split[last] = True

    # Segment j joins vertex j and j+1 of the same way.
    seg_start = np.arange(len(node_ids) - 1)
    seg_start = seg_start[way_of_vertex[seg_start] == way_of_vertex[seg_start + 1]]
    seg_len = np.hypot(x[seg_start + 1] - x[seg_start], y[seg_start + 1] - y[seg_start])
    # Edge number of each segment: a new edge starts at every split vertex.
    starts_edge = is_split[seg_start]
    seg_edge = np.cumsum(starts_edge) - 1

    n_edges_raw = int(seg_edge[-1]) + 1
    edge_first_seg = np.flatnonzero(starts_edge)
    edge_last_seg = np.r_[edge_first_seg[1:] - 1, len(seg_start) - 1]
    u_vertex = seg_start[edge_first_seg]
    v_vertex = seg_start[edge_last_seg] + 1
    edge_len = np.bincount(seg_edge, weights=seg_len, minlength=n_edges_raw)

    # Geometry: each edge's vertices are its segments' starts plus the last segment's end.
    vert_idx = np.concatenate([seg_start, v_vertex])
    vert_edge = np.concatenate([seg_edge, np.arange(n_edges_raw)])
    order = np.lexsort((vert_idx, vert_edge))
    vert_idx = vert_idx[order]
    vert_edge = vert_edge[order]
    geoms = shapely.linestrings(x[vert_idx], y[vert_idx], indices=vert_edge)

    # Nodes: the distinct OSM ids at edge ends, in ascending OSM id for determinism.
    end_ids = np.concatenate([node_ids[u_vertex], node_ids[v_vertex]])
    node_osm, first_pos = np.unique(end_ids, return_index=True)
    end_vertex = np.concatenate([u_vertex, v_vertex])[first_pos]
    u = np.searchsorted(node_osm, node_ids[u_vertex])
    v = np.searchsorted(node_osm, node_ids[v_vertex])

    # Drop degenerate edges: zero length (duplicate nodes) or a loop back to its own node,
    # which no shortest path uses.
    keep = (edge_len > 0) & (u != v)
    edge_way = way_of_vertex[u_vertex]
    tags = way_tags.reset_index(drop=True).iloc[edge_way[keep]].reset_index(drop=True)
    edges = gpd.GeoDataFrame(
        {
            "u": u[keep].astype(np.int64),
            "v": v[keep].astype(np.int64),
            "osm_way_id": np.asarray(way_ids, dtype=np.int64)[edge_way[keep]],
            "length_m": edge_len[keep],
        },
        geometry=geoms[keep],
        crs=crs,
    )
    edges = pd.concat([edges, tags], axis=1)
    edges = gpd.GeoDataFrame(edges, geometry="geometry", crs=crs)

    # Nodes no kept edge touches (only degenerate edges) are removed and positions renumbered.
    used = np.zeros(len(node_osm), dtype=bool)
    used[edges["u"].to_numpy()] = True
    used[edges["v"].to_numpy()] = True
    renumber = np.cumsum(used) - 1
    edges["u"] = renumber[edges["u"].to_numpy()]
    edges["v"] = renumber[edges["v"].to_numpy()]
    node_osm = node_osm[used]
    end_vertex = end_vertex[used]
    if len(edges) == 0:
        raise NoWalkableWaysError("Every walkable way has zero length: cannot build a network.")

    labels = _component_labels(len(node_osm), edges["u"].to_numpy(), edges["v"].to_numpy())
    nodes = gpd.GeoDataFrame(
        {"osm_id": node_osm, "component": labels},
        geometry=shapely.points(x[end_vertex], y[end_vertex]),
        crs=crs,
    )
    network = WalkNetwork(nodes=nodes, edges=edges, crs=crs)
    s = network.summary()
    log.info(
        "Built walking network: %s nodes, %s edges, %.1f km; %s components (%s nodes outside the largest)",
        f"{s['nodes']:,}", f"{s['edges']:,}", s["length_km"], s["components"],
        f"{s['nodes_outside_largest_component']:,}",
    )
    return network


def clip_network(network: WalkNetwork, area: shapely.Geometry) -> WalkNetwork:
    """Keep the edges that intersect an area (in the network's CRS), renumbering nodes.

    Edges crossing the boundary are kept whole, so a street leaving the area still
    connects the places inside it that it links.

    Parameters
    ----------
    network : WalkNetwork
    area : shapely.Geometry
        Polygon in ``network.crs``.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    NoWalkableWaysError
        No edge intersects the area.
    """
    hits = network.edges.sindex.query(area, predicate="intersects")
    if len(hits) == 0:
        raise NoWalkableWaysError("No walkable way intersects the study area.")
    edges = network.edges.iloc[np.sort(hits)].reset_index(drop=True)
    used = np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))
    renumber = np.full(network.n_nodes, -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    edges["u"] = renumber[edges["u"].to_numpy()]
    edges["v"] = renumber[edges["v"].to_numpy()]
    nodes = network.nodes.iloc[used].reset_index(drop=True)
    nodes["component"] = _component_labels(len(nodes), edges["u"].to_numpy(), edges["v"].to_numpy())
    return WalkNetwork(nodes=nodes, edges=edges, crs=network.crs)


def to_networkx(network: WalkNetwork, costs: pd.DataFrame | None = None):  # noqa: ANN201
    """Return the network as a ``networkx.MultiDiGraph`` (one arc per direction).

    Parameters
    ----------
    network : WalkNetwork
    costs : pandas.DataFrame, optional
        Edge costs with ``seconds_uv`` and ``seconds_vu``; stored as arc attribute
        ``seconds``. Infinite costs (impassable directions) give no arc.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes keyed by position with ``x``, ``y``, ``osm_id``; arcs with ``length``,
        ``edge`` (edge row) and ``seconds`` when costs were given.
    """
    import networkx as nx

    graph = nx.MultiDiGraph(crs=network.crs)
    xy = shapely.get_coordinates(network.nodes.geometry.to_numpy())
    graph.add_nodes_from(
        (i, {"x": xy[i, 0], "y": xy[i, 1], "osm_id": int(o)})
        for i, o in enumerate(network.nodes["osm_id"].to_numpy())
    )
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    length = network.edges["length_m"].to_numpy()
    fwd = costs["seconds_uv"].to_numpy() if costs is not None else np.zeros(len(u))
    bwd = costs["seconds_vu"].to_numpy() if costs is not None else np.zeros(len(u))
    for i in range(len(u)):
        if np.isfinite(fwd[i]):
            graph.add_edge(int(u[i]), int(v[i]), edge=i, length=float(length[i]), seconds=float(fwd[i]))
        if np.isfinite(bwd[i]):
            graph.add_edge(int(v[i]), int(u[i]), edge=i, length=float(length[i]), seconds=float(bwd[i]))
    return graph
