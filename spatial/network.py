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

Levels: :func:`edge_level` says which edges are underground (tunnels, covered and indoor
ways) or elevated (bridges, viaducts); :func:`add_lift_links` turns lifts mapped as nodes into
link edges (column ``lift_node``) between the levels they serve; :func:`close_gates` cuts
gates for through walkers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.ops import substring

from lifecircle._errors import NoWalkableWaysError

__all__ = [
    "WalkNetwork",
    "utm_crs_for",
    "build_walk_network",
    "clip_network",
    "to_networkx",
    "edge_level",
    "GROUND",
    "ELEVATED",
    "UNDERGROUND",
    "LIFT_LINK_REACH_M",
    "add_lift_links",
    "is_lift_link",
    "close_gates",
    "per_distinct_value",
    "distinct_values",
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
        """Number of nodes.

        Returns
        -------
        int
        """
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of (undirected, two-way) edges.

        Returns
        -------
        int
        """
        return len(self.edges)

    def summary(self) -> dict[str, int | float]:
        """Counts for logs and the run record.

        Returns
        -------
        dict
            ``nodes``, ``edges``, ``length_km``, ``components`` and
            ``nodes_outside_largest_component``.
        """
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

    Examples
    --------
    Chongqing (zone 48 north) and Buenos Aires (zone 21 south):

    >>> utm_crs_for(106.55, 29.56).to_epsg(), utm_crs_for(-58.4, -34.6).to_epsg()
    (32648, 32721)
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
    split_node_ids: np.ndarray | None = None,
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
    split_node_ids : numpy.ndarray, optional
        OSM node ids that become graph nodes even inside a single way (lifts mapped as a
        node on a path, so :func:`add_lift_links` can attach to them; gates; nodes with a
        mapped height).

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
    way_of_vertex = np.repeat(np.arange(n_ways), np.diff(way_offsets))
    is_split = _split_vertices(node_ids, way_offsets, split_node_ids)
    u_vertex, v_vertex, edge_len, geoms = _raw_edges(x, y, way_of_vertex, is_split)

    node_osm, end_vertex, u, v = _end_nodes(node_ids, u_vertex, v_vertex)
    # Drop degenerate edges: zero length (duplicate nodes) or a loop back to its own node,
    # which no shortest path uses.
    keep = (edge_len > 0) & (u != v)
    if not keep.any():
        raise NoWalkableWaysError("Every walkable way has zero length: cannot build a network.")
    edge_way = way_of_vertex[u_vertex][keep]
    tags = way_tags.reset_index(drop=True).iloc[edge_way].reset_index(drop=True)
    edges = gpd.GeoDataFrame(
        {"u": u[keep].astype(np.int64), "v": v[keep].astype(np.int64),
         "osm_way_id": np.asarray(way_ids, dtype=np.int64)[edge_way], "length_m": edge_len[keep]},
        geometry=geoms[keep], crs=crs,
    )
    edges = gpd.GeoDataFrame(pd.concat([edges, tags], axis=1), geometry="geometry", crs=crs)
    nodes = gpd.GeoDataFrame({"osm_id": node_osm, "component": 0},
                             geometry=shapely.points(x[end_vertex], y[end_vertex]), crs=crs)
    # Nodes no kept edge touches (only degenerate edges) are removed and positions renumbered.
    network = _without_unused_nodes(nodes, edges, crs)
    s = network.summary()
    log.info("Built walking network: %s nodes, %s edges, %.1f km; %s components (%s nodes outside the largest)",
             f"{s['nodes']:,}", f"{s['edges']:,}", s["length_km"], s["components"],
             f"{s['nodes_outside_largest_component']:,}")
    return network


def _end_nodes(node_ids: np.ndarray, u_vertex: np.ndarray,
               v_vertex: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The graph's nodes: the distinct OSM ids at edge ends, in ascending OSM id for
    determinism; their first vertex; each edge's end positions."""
    end_ids = np.concatenate([node_ids[u_vertex], node_ids[v_vertex]])
    node_osm, first_pos = np.unique(end_ids, return_index=True)
    end_vertex = np.concatenate([u_vertex, v_vertex])[first_pos]
    return (node_osm, end_vertex, np.searchsorted(node_osm, node_ids[u_vertex]),
            np.searchsorted(node_osm, node_ids[v_vertex]))


def _split_vertices(node_ids: np.ndarray, way_offsets: np.ndarray, split_node_ids: np.ndarray | None) -> np.ndarray:
    """Vertices that are graph nodes: a way's ends, nodes shared by several ways (or visited
    twice by one: a closed ring's start counts) and ``split_node_ids``."""
    _, inverse, occurrences = np.unique(node_ids, return_inverse=True, return_counts=True)
    is_split = occurrences[inverse] > 1
    is_split[way_offsets[:-1]] = True
    is_split[way_offsets[1:] - 1] = True
    if split_node_ids is not None and len(split_node_ids):
        is_split |= np.isin(node_ids, np.asarray(split_node_ids, dtype=np.int64))
    return is_split


def _raw_edges(x: np.ndarray, y: np.ndarray, way_of_vertex: np.ndarray,
               is_split: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges between consecutive split vertices of each way: first and last vertex, length and
    line geometry of each."""
    # Segment j joins vertex j and j+1 of the same way; a new edge starts at every split vertex.
    seg_start = np.arange(len(x) - 1)
    seg_start = seg_start[way_of_vertex[seg_start] == way_of_vertex[seg_start + 1]]
    seg_len = np.hypot(x[seg_start + 1] - x[seg_start], y[seg_start + 1] - y[seg_start])
    starts_edge = is_split[seg_start]
    seg_edge = np.cumsum(starts_edge) - 1
    n_edges = int(seg_edge[-1]) + 1
    edge_first_seg = np.flatnonzero(starts_edge)
    edge_last_seg = np.r_[edge_first_seg[1:] - 1, len(seg_start) - 1]
    u_vertex = seg_start[edge_first_seg]
    v_vertex = seg_start[edge_last_seg] + 1
    edge_len = np.bincount(seg_edge, weights=seg_len, minlength=n_edges)
    # Geometry: each edge's vertices are its segments' starts plus the last segment's end.
    vert_idx = np.concatenate([seg_start, v_vertex])
    vert_edge = np.concatenate([seg_edge, np.arange(n_edges)])
    order = np.lexsort((vert_idx, vert_edge))
    geoms = shapely.linestrings(x[vert_idx[order]], y[vert_idx[order]], indices=vert_edge[order])
    return u_vertex, v_vertex, edge_len, geoms


def _without_unused_nodes(nodes: gpd.GeoDataFrame, edges: pd.DataFrame, crs: pyproj.CRS) -> WalkNetwork:
    """The network without nodes no edge touches, positions renumbered, components labelled."""
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    used = np.zeros(len(nodes), dtype=bool)
    used[u] = True
    used[v] = True
    renumber = np.cumsum(used) - 1
    edges = gpd.GeoDataFrame(edges.assign(u=renumber[u], v=renumber[v]), geometry="geometry", crs=crs)
    nodes = nodes[used].reset_index(drop=True)
    nodes["component"] = _component_labels(len(nodes), edges["u"].to_numpy(), edges["v"].to_numpy())
    return WalkNetwork(nodes=nodes, edges=edges, crs=crs)


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


def to_networkx(network: WalkNetwork, costs: pd.DataFrame | None = None):
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


#: Level classes of :func:`edge_level`.
GROUND, ELEVATED, UNDERGROUND = 0, 1, -1

_NO = ("no", "false", "0")


def per_distinct_value(values: pd.Series | np.ndarray, parse: Callable[[pd.Series], Any]) -> np.ndarray:
    """Apply a vectorised parser to the distinct values of a column only, and spread its answers back.

    A city's edges carry a handful of distinct tag values (``layer`` is ``-1``, ``1``, ``2``
    or missing), so parsing each distinct value once costs next to nothing where string
    operations over every row cost seconds. ``parse`` sees the distinct values in order of
    first appearance, missing values (``None``/``NaN``/``NA``) as one ``None`` (last), and
    every distinct value present: a parser whose answer for one value depends on which other
    values it is given (``pandas.to_numeric`` picks its number type from all of them) answers
    as it would for the whole column.

    Parameters
    ----------
    values : pandas.Series or numpy.ndarray
        One value per row: text or missing (OSM tags); equal values are one distinct value.
    parse : callable
        Takes the distinct values as an object ``pandas.Series`` (index ``0..k-1``) and returns
        one answer per value (array-like of length ``k``).

    Returns
    -------
    numpy.ndarray
        ``parse``'s answer for each row's value.

    Raises
    ------
    ValueError
        ``parse`` gave a different number of answers than it was given values.

    Examples
    --------
    >>> layer = pd.Series(["1", None, "-1;0", "1", None])
    >>> per_distinct_value(layer, lambda s: pd.to_numeric(s.str.split(";").str[0], errors="coerce")).tolist()
    [1.0, nan, -1.0, 1.0, nan]
    """
    codes, distinct = distinct_values(values)
    answers = np.asarray(parse(distinct))
    if len(answers) != len(distinct):
        raise ValueError(f"parse gave {len(answers)} answers for {len(distinct)} distinct values")
    return answers[codes]


def distinct_values(values: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """The distinct values of a column and each row's position among them.

    Parameters
    ----------
    values : pandas.Series or numpy.ndarray
        One value per row: text or missing (``None``/``NaN``/``NA``, all one value).

    Returns
    -------
    codes : numpy.ndarray
        Per row, the position of its value in ``distinct``.
    distinct : pandas.Series
        The distinct values (object dtype, index ``0..k-1``) in order of first appearance;
        missing values are one ``None``, last.

    Examples
    --------
    >>> codes, distinct = distinct_values(pd.Series(["b", None, "a", "b"]))
    >>> codes.tolist(), distinct.tolist()
    ([0, 2, 1, 0], ['b', 'a', None])
    """
    codes, uniques = pd.factorize(values if isinstance(values, pd.Series) else np.asarray(values, dtype=object),
                                  use_na_sentinel=True)
    distinct = list(np.asarray(uniques, dtype=object))
    missing = codes < 0
    if missing.any():
        codes = np.where(missing, len(distinct), codes)
        distinct.append(None)
    return codes, pd.Series(distinct, dtype=object)


def _as_tag_text(values: pd.Series) -> pd.Series:
    """Tag values as ``str`` objects, ``""`` where absent."""
    return values.astype("string").fillna("").astype(object)


def _tag(edges: pd.DataFrame, name: str) -> pd.Series:
    """A tag column as strings, ``""`` where absent."""
    if name in edges:
        return pd.Series(per_distinct_value(edges[name], _as_tag_text), index=edges.index, dtype=object)
    return pd.Series([""] * len(edges), index=edges.index, dtype=object)


def _per_tag_value(edges: pd.DataFrame, name: str, func: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """``func`` (elementwise, on tag text as :func:`_tag` gives it) per edge, worked out once
    per distinct value of the tag: a city's hundreds of thousands of edges share a few."""
    if name not in edges:
        return func(_tag(edges, name)).to_numpy()
    return per_distinct_value(edges[name], lambda distinct: func(_as_tag_text(distinct)).to_numpy())


def _layer_number(edges: pd.DataFrame) -> np.ndarray:
    """Numeric ``layer`` per edge (0 where absent or malformed; ``"-1;0"`` takes the first)."""
    def number(tag: pd.Series) -> pd.Series:
        text = tag.astype(str).str.split(";").str[0].str.strip()
        return pd.to_numeric(text, errors="coerce").fillna(0.0).astype(float)

    return _per_tag_value(edges, "layer", number).astype(float)


def edge_level(edges: pd.DataFrame) -> np.ndarray:
    """Where each edge lies relative to the ground a resident steps out onto.

    ``UNDERGROUND`` (-1): ``tunnel=*`` (road tunnels, underpasses, building passages),
    ``covered=yes``, ``location=underground|indoor``, ``indoor=*`` (corridors), ``layer < 0``,
    or a lift link. ``ELEVATED`` (1): ``bridge=*`` (bridges, viaducts) or ``layer > 0``.
    ``GROUND`` (0): the rest. Values ``no`` of ``tunnel``/``bridge``/``covered``/``indoor`` do
    not count. Tunnels win over bridges (a ``layer=1`` tunnel is still covered).

    Parameters
    ----------
    edges : pandas.DataFrame
        ``network.edges`` (missing tag columns count as absent tags).

    Returns
    -------
    numpy.ndarray
        int8 per edge: ``GROUND``, ``ELEVATED`` or ``UNDERGROUND``.
    """
    # Each tag is parsed once per distinct value (a handful), not once per edge.
    def present(name: str) -> np.ndarray:
        def test(tag: pd.Series) -> pd.Series:
            col = tag.str.lower()
            return (col != "") & ~col.isin(_NO)

        return _per_tag_value(edges, name, test).astype(bool)

    def one_of(name: str, words: list[str]) -> np.ndarray:
        return _per_tag_value(edges, name, lambda tag: tag.astype(str).str.lower().isin(words)).astype(bool)

    layer = _layer_number(edges)
    covered = one_of("covered", ["yes"])
    location = one_of("location", ["underground", "indoor"])
    under = present("tunnel") | covered | location | present("indoor") | (layer < 0) | is_lift_link(edges)
    over = present("bridge") | (layer > 0)
    out = np.full(len(edges), GROUND, dtype=np.int8)
    out[over] = ELEVATED
    out[under] = UNDERGROUND
    return out


#: A lift node also joins every other way passing or ending this close to it (metres): the
#: upper and lower paths of a lift are often mapped next to the lift rather than through
#: it. ASSUMPTION: a lift tower's footprint and landing, about 10 m.
LIFT_LINK_REACH_M: float = 10.0


def is_lift_link(edges: pd.DataFrame) -> np.ndarray:
    """Edges that :func:`add_lift_links` added (``highway=elevator`` with ``lift_node`` set).

    Parameters
    ----------
    edges : pandas.DataFrame
        ``network.edges``.

    Returns
    -------
    numpy.ndarray
        Boolean per edge.
    """
    if "lift_node" not in edges:
        return np.zeros(len(edges), dtype=bool)
    return edges["lift_node"].notna().to_numpy(dtype=bool)


def _split_edges_at(network: WalkNetwork, edge_rows: np.ndarray, fractions: np.ndarray,
                    new_osm_ids: np.ndarray) -> tuple[WalkNetwork, np.ndarray]:
    """Split edges at fractions (one split per row, rows distinct); returns the network and
    the new nodes' positions. Only a handful of edges (one per lift) are split."""
    edges = network.edges
    geoms = edges.geometry.to_numpy()
    n_nodes = network.n_nodes
    new_pos = n_nodes + np.arange(len(edge_rows))
    first_half = [substring(geoms[e], 0.0, f, normalized=True) for e, f in zip(edge_rows, fractions)]
    second_half = [substring(geoms[e], f, 1.0, normalized=True) for e, f in zip(edge_rows, fractions)]
    head = edges.copy()
    head.loc[edge_rows, "v"] = new_pos
    head.loc[edge_rows, "geometry"] = first_half
    tail = edges.iloc[edge_rows].copy()
    tail["u"] = new_pos
    tail["geometry"] = second_half
    out = gpd.GeoDataFrame(pd.concat([head, tail], ignore_index=True), geometry="geometry", crs=network.crs)
    out["length_m"] = shapely.length(out.geometry.to_numpy())
    points = shapely.get_point(np.asarray(first_half, dtype=object), -1)
    nodes = gpd.GeoDataFrame(
        pd.concat([network.nodes, gpd.GeoDataFrame({"osm_id": new_osm_ids, "component": 0},
                                                   geometry=points, crs=network.crs)], ignore_index=True),
        geometry="geometry", crs=network.crs)
    return WalkNetwork(nodes=nodes, edges=out, crs=network.crs), new_pos


def _lift_positions(network: WalkNetwork, lift_ids: np.ndarray) -> np.ndarray:
    """Node position of each lift's OSM node, ``-1`` where the lift is not a graph node."""
    node_osm = network.nodes["osm_id"].to_numpy()
    order = np.argsort(node_osm, kind="stable")
    pos = np.clip(np.searchsorted(node_osm[order], lift_ids), 0, len(order) - 1)
    hit = node_osm[order][pos] == lift_ids
    return np.where(hit, order[pos], -1)


def _ways_within_reach(network: WalkNetwork, lift_ids: np.ndarray, lift_pts: np.ndarray,
                       reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(lift, edge) pairs: per lift, the nearest edge of every way within reach that does not
    already meet at the lift node (those are levels at the node)."""
    at = _lift_positions(network, lift_ids)
    edges = network.edges
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    q, cand = edges.sindex.query(lift_pts, predicate="dwithin", distance=reach_m)
    touches_lift = np.isin(u[cand], at[at >= 0]) | np.isin(v[cand], at[at >= 0])
    q, cand = q[~touches_lift], cand[~touches_lift]
    # A way already serving the lift at its node is not a second level.
    node_lift = {int(p): i for i, p in enumerate(at) if p >= 0}
    member_ways = set()
    for col in (u, v):
        rows = np.flatnonzero(np.isin(col, at[at >= 0]))
        member_ways |= {(node_lift[int(col[r])], int(edges["osm_way_id"].iat[r])) for r in rows}
    way_of = edges["osm_way_id"].to_numpy()
    not_member = np.array([(int(a), int(w)) not in member_ways for a, w in zip(q, way_of[cand])], dtype=bool)
    q, cand = q[not_member], cand[not_member]
    dist = shapely.distance(edges.geometry.to_numpy()[cand], lift_pts[q])
    order = np.lexsort((cand, dist, way_of[cand], q))
    q, cand = q[order], cand[order]
    first = np.r_[True, (q[1:] != q[:-1]) | (way_of[cand][1:] != way_of[cand][:-1])] if len(q) else np.zeros(0, bool)
    return q[first], cand[first]


def _levels_nearby(network: WalkNetwork, lift_ids: np.ndarray, lift_pts: np.ndarray,
                   reach_m: float) -> tuple[WalkNetwork, np.ndarray, np.ndarray, np.ndarray]:
    """Levels beside each lift: its nearest way ends within reach, else the nearest point of
    the way (the edge is split there). Returns the network and per level its lift, its
    node and the edge it came from."""
    q, cand = _ways_within_reach(network, lift_ids, lift_pts, reach_m)
    edges = network.edges
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    lift_xy = shapely.get_coordinates(lift_pts)
    node_xy = shapely.get_coordinates(network.nodes.geometry.to_numpy())
    du = np.hypot(*(node_xy[u[cand]] - lift_xy[q]).T) if len(q) else np.zeros(0)
    dv = np.hypot(*(node_xy[v[cand]] - lift_xy[q]).T) if len(q) else np.zeros(0)
    attach = np.where(du <= dv, u[cand], v[cand])
    end_ok = np.minimum(du, dv) <= reach_m
    # Split the rest at their nearest point (an edge chosen by two lifts is split once: first lift).
    split = np.flatnonzero(~end_ok)
    split = split[np.r_[True, cand[split][1:] != cand[split][:-1]]] if len(split) else split
    _, uniq = np.unique(cand[split], return_index=True)
    split = split[np.sort(uniq)]
    if len(split):
        frac = shapely.line_locate_point(edges.geometry.to_numpy()[cand[split]], lift_pts[q[split]], normalized=True)
        frac = np.clip(frac, 1e-6, 1 - 1e-6)
        network, new_pos = _split_edges_at(network, cand[split], frac, -(lift_ids[q[split]] * 100 + 50))
        attach[split] = new_pos
    keep = end_ok.copy()
    keep[split] = True
    return network, q[keep], attach[keep], cand[keep]


def _levels_at_node(network: WalkNetwork, lift_ids: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ways meeting at each lift node, grouped into levels: one per distinct
    ``(layer, level)`` where they differ, else one per way. Returns the members (``lift``,
    ``key``, ``edge``, ``end``: 0 where the edge starts at the lift) and the levels (``lift``,
    ``key``), sorted."""
    edges = network.edges
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    at = _lift_positions(network, lift_ids)
    node_to_lift = np.full(network.n_nodes, -1, dtype=np.int64)
    node_to_lift[at[at >= 0]] = np.flatnonzero(at >= 0)
    rows_u = np.flatnonzero(node_to_lift[u] >= 0)
    rows_v = np.flatnonzero(node_to_lift[v] >= 0)
    m_lift = np.concatenate([node_to_lift[u[rows_u]], node_to_lift[v[rows_v]]])
    m_edge = np.concatenate([rows_u, rows_v])
    layer, level = _tag(edges, "layer").to_numpy(), _tag(edges, "level").to_numpy()
    key_tags = pd.Series(layer[m_edge], dtype=object).str.cat(pd.Series(level[m_edge], dtype=object), sep="|").to_numpy()
    distinct = (pd.Series(key_tags).groupby(m_lift).transform("nunique").to_numpy() if len(m_lift)
                else np.zeros(0, dtype=np.int64))
    group_key = np.where(distinct > 1, key_tags, edges["osm_way_id"].to_numpy()[m_edge].astype(str)).astype(object)
    members = pd.DataFrame({"lift": m_lift, "key": group_key, "edge": m_edge,
                            "end": np.r_[np.zeros(len(rows_u), np.int8), np.ones(len(rows_v), np.int8)]})
    levels = members[["lift", "key"]].drop_duplicates().sort_values(["lift", "key"]).reset_index(drop=True)
    return members, levels


def _link_edges(edges: pd.DataFrame, lifts: gpd.GeoDataFrame, ends: dict[str, np.ndarray],
                xy: np.ndarray) -> pd.DataFrame:
    """The link edges (``highway=elevator``) from each level's node to its lift's hub, with the
    ``layer``/``level`` of the edge the level came from and the lift's ``wheelchair``/``name``."""
    link_u, link_v, link_lift, link_src = ends["u"], ends["v"], ends["lift"], ends["source"]
    starts, stops = xy[link_u], xy[link_v]
    # A zero-length link keeps a 1 cm geometry so spatial indexes stay valid.
    same = np.all(np.isclose(starts, stops), axis=1)
    stops = np.where(same[:, None], stops + np.array([0.0, 0.01]), stops)
    geoms = shapely.linestrings(np.stack([starts, stops], axis=1))
    tag_cols = [c for c in edges.columns if c not in ("u", "v", "osm_way_id", "length_m", "geometry", "lift_node")]
    link = pd.DataFrame({c: pd.Series([None] * len(link_u), dtype=object) for c in tag_cols})
    for col in ("layer", "level"):
        if col in edges:
            link[col] = edges[col].to_numpy()[link_src]
    lift_tags = lifts["tags"].tolist()
    lift_ids = lifts["osm_id"].to_numpy(dtype=np.int64)
    link["highway"] = "elevator"
    link["wheelchair"] = [lift_tags[i].get("wheelchair") for i in link_lift]
    link["name"] = [lift_tags[i].get("name") for i in link_lift]
    link["u"], link["v"] = link_u, link_v
    link["osm_way_id"] = -lift_ids[link_lift]
    link["length_m"] = np.where(same, 0.0, shapely.length(geoms))
    link["lift_node"] = pd.array(lift_ids[link_lift], dtype="Int64")
    link["geometry"] = geoms
    return link


def _reattached(edges: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """The edges with their ends at a lift node moved to their level's spoke node."""
    new_u, new_v = edges["u"].to_numpy().copy(), edges["v"].to_numpy().copy()
    at_u = members["end"].to_numpy() == 0
    new_u[members["edge"].to_numpy()[at_u]] = members["spoke"].to_numpy()[at_u]
    new_v[members["edge"].to_numpy()[~at_u]] = members["spoke"].to_numpy()[~at_u]
    return edges.assign(u=new_u, v=new_v)


def add_lift_links(network: WalkNetwork, lifts: gpd.GeoDataFrame, *,
                   reach_m: float = LIFT_LINK_REACH_M) -> WalkNetwork:
    """Join lifts mapped as nodes to the ways they serve, one vertical link per level.

    A ``highway=elevator`` node usually sits where a path on the upper level and one on the
    lower level end, so a plain graph walks through it for free, and often the other level's
    way only passes next to it. Here each lift becomes a *hub* node (OSM id of the lift)
    joined by a link edge (``highway=elevator``, ``lift_node`` = the lift's OSM id,
    ``osm_way_id`` = minus that id, ``level``/``layer`` of the level it serves,
    ``wheelchair``/``name`` of the lift) to each *level*:

    - the ways meeting at the lift node: one level per distinct ``(layer, level)`` pair
      when they differ, else one level per way; a way passing through the lift node (split
      there with ``build_walk_network(split_node_ids=...)``) stays one level, so walking past
      costs nothing;
    - every other way within ``reach_m`` of the lift: one level per way, joined at its
      nearest end node within reach, else at its nearest point (the edge is split there).

    Lifts with fewer than two levels add nothing. How long a ride takes is decided per
    profile by :func:`lifecircle.spatial.terrain.terrain_costs` (wait plus height over lift
    speed); who may ride by the profile's ``can_use_elevators`` and the lift's
    ``wheelchair`` tag.

    Parameters
    ----------
    network : WalkNetwork
    lifts : geopandas.GeoDataFrame
        ``osm_id``, ``tags`` (dict) and point geometry in ``network.crs``
        (:func:`lifecircle.layers.osm.lift_nodes`).
    reach_m : float, default :data:`LIFT_LINK_REACH_M`

    Returns
    -------
    WalkNetwork
        A new network (inputs unchanged).
    """
    if len(lifts) == 0 or network.n_edges == 0:
        return network
    lifts = lifts.reset_index(drop=True)
    lift_ids, lift_pts = lifts["osm_id"].to_numpy(dtype=np.int64), np.asarray(lifts.geometry.to_numpy())
    network, b_lift, b_node, b_edge = _levels_nearby(network, lift_ids, lift_pts, reach_m)
    members, levels = _levels_at_node(network, lift_ids)
    useful = (np.bincount(levels["lift"].to_numpy(), minlength=len(lifts))
              + np.bincount(b_lift, minlength=len(lifts))) >= 2
    if not useful.any():
        return network
    levels = levels[useful[levels["lift"].to_numpy()]].reset_index(drop=True)
    keep = useful[b_lift]
    b_lift, b_node, b_edge = b_lift[keep], b_node[keep], b_edge[keep]
    n_nodes, hubs = network.n_nodes, np.flatnonzero(useful)
    hub_pos = np.full(len(lifts), -1, dtype=np.int64)
    hub_pos[hubs] = n_nodes + np.arange(len(hubs))
    spoke_pos = n_nodes + len(hubs) + np.arange(len(levels))
    members = members[useful[members["lift"].to_numpy()]].merge(levels.assign(spoke=spoke_pos), on=["lift", "key"],
                                                                 how="left")
    edges = network.edges
    # Link edges: spoke -> hub for levels at the node, attach node -> hub for levels beside it.
    level_lift = levels["lift"].to_numpy()
    ends = {"u": np.concatenate([spoke_pos, b_node]).astype(np.int64),
            "v": np.concatenate([hub_pos[level_lift], hub_pos[b_lift]]).astype(np.int64),
            "lift": np.concatenate([level_lift, b_lift]).astype(np.int64),
            "source": np.concatenate([members.drop_duplicates("spoke").set_index("spoke")["edge"].reindex(spoke_pos)
                                      .to_numpy(), b_edge]).astype(np.int64)}
    lift_xy = shapely.get_coordinates(lift_pts)
    xy_all = np.vstack([shapely.get_coordinates(network.nodes.geometry.to_numpy()), lift_xy[hubs], lift_xy[level_lift]])
    link = _link_edges(edges, lifts, ends, xy_all)
    base = _reattached(edges, members)
    if "lift_node" not in base:
        base["lift_node"] = pd.array([pd.NA] * len(base), dtype="Int64")
    out_edges = gpd.GeoDataFrame(pd.concat([base, link[list(base.columns)]], ignore_index=True),
                                 geometry="geometry", crs=network.crs)
    new_nodes = gpd.GeoDataFrame(
        {"osm_id": np.concatenate([lift_ids[hubs], -(lift_ids[level_lift] * 100) - 1
                                   - levels.groupby("lift").cumcount().to_numpy()]), "component": 0},
        geometry=shapely.points(xy_all[n_nodes:]), crs=network.crs)
    log.info("Lifts: %d lift node(s) linked to %d level(s)", len(hubs), len(ends["u"]))
    # The old lift nodes are now unused (their edges moved to spokes): drop them and renumber.
    return _without_unused_nodes(gpd.GeoDataFrame(pd.concat([network.nodes, new_nodes], ignore_index=True),
                                                  geometry="geometry", crs=network.crs), out_edges, network.crs)


def close_gates(network: WalkNetwork, gate_ids: np.ndarray) -> tuple[WalkNetwork, int]:
    """Close gates to through walkers: every way meeting at a gate node ends there on its own.

    A gated compound's paths stay walkable up to the gate from either side, but nobody
    passes through it. Gates in the middle of a way must be graph nodes
    (``build_walk_network(split_node_ids=gate_ids)``).

    Parameters
    ----------
    network : WalkNetwork
    gate_ids : numpy.ndarray
        OSM node ids of the gates (:func:`lifecircle.layers.osm.gate_nodes`).

    Returns
    -------
    network : WalkNetwork
        A new network (input unchanged); the nodes that replace a gate carry its OSM id in
        a ``closed_gate`` column.
    closed : int
        Gates found on the network and closed.
    """
    node_osm = network.nodes["osm_id"].to_numpy()
    is_gate = np.isin(node_osm, np.asarray(gate_ids, dtype=np.int64))
    if not is_gate.any():
        return network, 0
    edges = network.edges
    u, v = edges["u"].to_numpy().copy(), edges["v"].to_numpy().copy()
    n = network.n_nodes
    ends_u = np.flatnonzero(is_gate[u])
    ends_v = np.flatnonzero(is_gate[v])
    old = np.concatenate([u[ends_u], v[ends_v]])
    new = n + np.arange(len(old))
    u[ends_u] = new[: len(ends_u)]
    v[ends_v] = new[len(ends_u):]
    added = network.nodes.iloc[old].copy()
    added["closed_gate"] = added["osm_id"].to_numpy()
    added["osm_id"] = -(added["osm_id"].to_numpy() * 100) - 1 - np.arange(len(old))
    nodes = gpd.GeoDataFrame(pd.concat([network.nodes, added], ignore_index=True), geometry="geometry",
                             crs=network.crs)
    closed = int(is_gate.sum())
    log.info("Closed %d gate(s) to through walkers", closed)
    return _without_unused_nodes(nodes, edges.assign(u=u, v=v), network.crs), closed
