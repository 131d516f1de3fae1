"""Walking times from origins TO the nearest facility, searched in compiled code.

How the search works
--------------------
A facility is joined to the network at one or more *access points*: a point on an edge
(edge row, fraction along it from ``u``) plus an off-network leg in metres. Each facility
becomes one virtual node with arcs to the two ends of each of its access edges. Because
times run *from home to the facility* (uphill and downhill differ once terrain counts),
the search runs on the **reversed** graph: the arc ``v -> u`` carries the cost of walking
``u -> v``. One ``scipy.sparse.csgraph.dijkstra`` call with every facility node as a source
and ``min_only=True`` gives, for every node, the time to its nearest facility and which
facility that is. The result equals a plain Dijkstra's (the tests check it against
networkx).

An origin (a grid cell centre) joins the network at the nearest point of the nearest
edge; its time is the off-network leg at walking speed plus the cheaper way along its
edge to either end and on from there; when a facility's access point lies on the same
edge the direct walk along the edge is considered too. Within one edge, time is taken
as proportional to distance along it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle import settings
from lifecircle._errors import OptionError
from lifecircle.spatial.costs import check_speed
from lifecircle.spatial.network import ELEVATED, GROUND, UNDERGROUND, WalkNetwork, edge_level

__all__ = [
    "EdgeLocation",
    "locate_on_network",
    "facility_access_points",
    "ReverseGraph",
    "reverse_graph",
    "nearest_facility",
    "origin_seconds",
    "origin_nearest",
    "per_facility_node_seconds",
    "available_memory_bytes",
    "SNAP_GROUND",
    "SNAP_BRIDGE_FALLBACK",
    "snap_columns",
    "POLYGON_ENTRY_DISTANCE_M",
    "facilities_off_ground",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeLocation:
    """Where points join the network: one entry per point.

    Attributes
    ----------
    edge : numpy.ndarray
        Edge row (``-1`` where the point is farther than the allowed distance).
    fraction : numpy.ndarray
        Position along the edge from ``u`` (0) to ``v`` (1), by length.
    distance_m : numpy.ndarray
        Straight-line distance from the point to that position (``inf`` where unmatched).
    level : numpy.ndarray, optional
        Per point: ``"ground"``, ``"bridge_fallback"`` (joined to a bridge or elevated way
        because nothing at ground level was within reach) or ``""`` (unmatched); ``None``
        when the join ignored levels.
    """

    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    level: np.ndarray | None = None

    @property
    def matched(self) -> np.ndarray:
        """Boolean mask of points that joined the network."""
        return self.edge >= 0


#: ``EdgeLocation.level`` values.
SNAP_GROUND, SNAP_BRIDGE_FALLBACK = "ground", "bridge_fallback"


#: First search radius of :func:`_nearest_within` (metres): most homes lie this close to
#: a street, so few candidate edges are measured for them; the rest search the full reach.
_NEAR_REACH_M = 50.0
#: Slack on the candidate search: GEOS's distance-within test and its distance may differ
#: in the last bits; candidates come from a slightly wider reach and are then measured.
_REACH_SLACK_M = 0.01


def _nearest_within(tree: object, geoms: np.ndarray, tree_geoms: np.ndarray, max_distance_m: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every tree item at the least distance (at most ``max_distance_m``) from each geometry:
    ``(geometry index, tree index, distance)``, as ``STRtree.query_nearest(all_matches=True)``
    gives them (the same GEOS distance, the same ties), in another order.

    Candidates within a short reach are measured first; only geometries with none that close
    search the full reach. An item at the least distance ``d <= reach`` is within the reach,
    so it is among the candidates: the answer is exact, not approximate.
    """
    pending = np.arange(len(geoms))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for reach in sorted({min(_NEAR_REACH_M, max_distance_m), max_distance_m}):
        if len(pending) == 0:
            break
        p, item = tree.query(geoms[pending], predicate="dwithin", distance=reach + _REACH_SLACK_M)  # type: ignore[attr-defined]
        dist = shapely.distance(geoms[pending[p]], tree_geoms[item])
        near = dist <= reach
        p, item, dist = p[near], item[near], dist[near]
        pending = _keep_least(pending, p, item, dist, found)
    return _joined(found)


def _keep_least(pending: np.ndarray, p: np.ndarray, item: np.ndarray, dist: np.ndarray,
                found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Append each pending point's pairs at its least distance (ties kept) to ``found``;
    return the points that had no pair within this reach."""
    best = np.full(len(pending), np.inf)
    np.minimum.at(best, p, dist)
    least = dist == best[p]
    found.append((pending[p[least]], item[least], dist[least]))
    return pending[~np.isfinite(best)]


def _joined(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points, items and distances of every reach, in the order they were found."""
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return (np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]),
            np.concatenate([f[2] for f in found]))


#: Point-segment pairs measured at once by :func:`_nearest_segments`: bounds its memory.
_PAIR_BATCH = 4_000_000
#: Most bins :func:`_nearest_segments` keeps a look-up table for (two integers each).
_MAX_BINS = 4_000_000


def _point_segment_distance(x: np.ndarray, y: np.ndarray, ax: np.ndarray, ay: np.ndarray,
                            bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Distance from each point to each segment, computed as GEOS computes it
    (``Distance::pointToSegment``: the same operations in the same order, hence the same
    bits as ``shapely.distance`` between the point and a line through the segment)."""
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ((x - ax) * dx + (y - ay) * dy) / len2
        perp = np.abs(((ay - y) * dx - (ax - x) * dy) / len2) * np.sqrt(len2)
    to_a = np.sqrt((x - ax) * (x - ax) + (y - ay) * (y - ay))
    to_b = np.sqrt((x - bx) * (x - bx) + (y - by) * (y - by))
    return np.where(((ax == bx) & (ay == by)) | (r <= 0.0), to_a, np.where(r >= 1.0, to_b, perp))


def _nearest_segments(x: np.ndarray, y: np.ndarray, lines: np.ndarray, max_distance_m: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_nearest_within` for points given by coordinates and plain 2-D line strings,
    without a geometry per point: segments and points meet in square bins of the reach,
    each pair is measured as GEOS measures it (:func:`_point_segment_distance`; a line's
    distance is the least over its segments, exactly), in batches of bounded memory.

    Returns ``(point index, line index, distance)`` for every line at the least distance
    (at most ``max_distance_m``) from each point: the same triples as :func:`_nearest_within`.
    """
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    seg = np.flatnonzero(owner[1:] == owner[:-1])
    ax, ay, bx, by, seg_line = coords[seg, 0], coords[seg, 1], coords[seg + 1, 0], coords[seg + 1, 1], owner[seg]
    pending = np.arange(len(x))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for reach in sorted({min(_NEAR_REACH_M, max_distance_m), max_distance_m}):
        if len(pending) == 0 or len(seg) == 0:
            break
        px, py = x[pending], y[pending]
        # Bins of the reach, wider where the points spread so far that a look-up table per
        # bin would outgrow :data:`_MAX_BINS` (any bin size finds every pair in reach).
        extent = float(np.ptp(px) + 1.0) * float(np.ptp(py) + 1.0)
        size, pad = max(reach, 1.0, float(np.sqrt(extent / _MAX_BINS))), reach + _REACH_SLACK_M
        col, row = np.floor(px / size).astype(np.int64), np.floor(py / size).astype(np.int64)
        c0, r0 = col.min(), row.min()
        span = int(row.max() - r0) + 1
        key = (col - c0) * span + (row - r0)
        order = np.argsort(key, kind="stable")
        # Where each bin's points start in ``order``, and how many: one look-up per bin.
        bin_count = np.bincount(key, minlength=(int(col.max() - c0) + 1) * span)
        bin_start = np.cumsum(bin_count) - bin_count
        # Bins each segment's box, widened by the reach, covers (clipped to the points' bins).
        lo_c = np.maximum(np.floor((np.minimum(ax, bx) - pad) / size).astype(np.int64), c0)
        hi_c = np.minimum(np.floor((np.maximum(ax, bx) + pad) / size).astype(np.int64), col.max())
        lo_r = np.maximum(np.floor((np.minimum(ay, by) - pad) / size).astype(np.int64), r0)
        hi_r = np.minimum(np.floor((np.maximum(ay, by) + pad) / size).astype(np.int64), row.max())
        n_c, n_r = np.maximum(hi_c - lo_c + 1, 0), np.maximum(hi_r - lo_r + 1, 0)
        n_bins = n_c * n_r
        p_all: list[np.ndarray] = []
        l_all: list[np.ndarray] = []
        d_all: list[np.ndarray] = []
        bounds = np.searchsorted(np.cumsum(n_bins), np.arange(0, int(n_bins.sum()), _PAIR_BATCH // 4), side="right")
        for s0, s1 in zip(np.r_[0, bounds[1:]], np.r_[bounds[1:], len(seg)], strict=True):
            sid = np.repeat(np.arange(s0, s1), n_bins[s0:s1])
            k = np.arange(len(sid)) - np.repeat(np.cumsum(n_bins[s0:s1]) - n_bins[s0:s1], n_bins[s0:s1])
            bin_key = (lo_c[sid] + k // n_r[sid] - c0) * span + (lo_r[sid] + k % n_r[sid] - r0)
            start, count = bin_start[bin_key], bin_count[bin_key]
            sid, start, count = sid[count > 0], start[count > 0], count[count > 0]
            pair_seg = np.repeat(sid, count)
            pair_pt = order[np.repeat(start - np.cumsum(count) + count, count) + np.arange(int(count.sum()))]
            dist = _point_segment_distance(px[pair_pt], py[pair_pt], ax[pair_seg], ay[pair_seg],
                                           bx[pair_seg], by[pair_seg])
            near = dist <= reach
            p_all.append(pair_pt[near])
            l_all.append(seg_line[pair_seg[near]])
            d_all.append(dist[near])
        p, item, dist = np.concatenate(p_all), np.concatenate(l_all), np.concatenate(d_all)
        pending = _keep_least(pending, p, item, dist, found)
    return _joined(found)


def _plain_points_and_lines(geoms: np.ndarray, lines: np.ndarray) -> bool:
    """True when every geometry is a non-empty 2-D point and every line a 2-D line string:
    :func:`_nearest_segments` then measures exactly as GEOS does."""
    return bool(len(geoms) and len(lines)
                and (shapely.get_type_id(geoms) == 0).all() and not shapely.is_empty(geoms).any()
                and (shapely.get_type_id(lines) == 1).all() and not shapely.has_z(lines).any()
                and not shapely.has_z(geoms).any())


def _nearest_among(geoms: np.ndarray, network: WalkNetwork, candidates: np.ndarray, max_distance_m: float,
                   prefer_main_component: bool) -> tuple[np.ndarray, np.ndarray]:
    """Nearest edge row (from ``candidates``) within reach per point, ``-1`` where none."""
    n = len(geoms)
    edge = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.inf)
    if len(candidates) == 0 or n == 0:
        return edge, distance
    edge_geoms = network.edges.geometry.to_numpy()
    # Arrays pay per segment of the network, the tree per point: a grid of cells (more
    # points than edges) goes by arrays, a few facilities by the tree.
    if len(geoms) >= len(candidates) and _plain_points_and_lines(geoms, edge_geoms[candidates]):
        pt_idx, local, dist = _nearest_segments(shapely.get_x(geoms), shapely.get_y(geoms), edge_geoms[candidates],
                                                max_distance_m)
    else:
        tree = network.edges.sindex if len(candidates) == len(edge_geoms) else shapely.STRtree(edge_geoms[candidates])
        pt_idx, local, dist = _nearest_within(tree, geoms, edge_geoms[candidates], max_distance_m)
    edge_idx = candidates[local]
    if len(pt_idx):
        # Every equally-near edge comes back: keep the lowest edge row per point.
        order = np.lexsort((edge_idx, pt_idx))
        pt_idx, edge_idx, dist = pt_idx[order], edge_idx[order], dist[order]
        first = np.r_[True, pt_idx[1:] != pt_idx[:-1]]
        edge[pt_idx[first]] = edge_idx[first]
        distance[pt_idx[first]] = dist[first]
    if prefer_main_component and len(pt_idx):
        on_main = network.nodes["component"].to_numpy()[network.edges["u"].to_numpy()] == 0
        stray = np.flatnonzero((edge >= 0) & ~on_main[np.maximum(edge, 0)])
        main_cand = candidates[on_main[candidates]]
        if len(stray) and len(main_cand):
            main_tree = shapely.STRtree(edge_geoms[main_cand])
            q_idx, local = main_tree.query(geoms[stray], predicate="dwithin", distance=max_distance_m)
            cand = main_cand[local]
            if len(q_idx):
                d = shapely.distance(geoms[stray][q_idx], edge_geoms[cand])
                order = np.lexsort((cand, d, q_idx))
                q_idx, cand, d = q_idx[order], cand[order], d[order]
                first = np.r_[True, q_idx[1:] != q_idx[:-1]]
                rows = stray[q_idx[first]]
                edge[rows] = cand[first]
                distance[rows] = d[first]
    return edge, distance


def locate_on_network(
    points: gpd.GeoSeries,
    network: WalkNetwork,
    *,
    max_distance_m: float,
    prefer_main_component: bool = True,
    respect_levels: bool = True,
) -> EdgeLocation:
    """Join each point to the nearest point of the nearest edge within a distance.

    Parameters
    ----------
    points : geopandas.GeoSeries
        Points in ``network.crs``.
    network : WalkNetwork
        The walking network, in its metric CRS.
    max_distance_m : float
        Points farther than this from every edge stay unmatched (``edge == -1``).
    prefer_main_component : bool, default True
        When the nearest edge lies on a fragment cut off from the main (largest) network
        (a courtyard path whose link OSM lacks), join the nearest main-network edge instead
        if one is within ``max_distance_m``: a resident there can walk across to the street.
        Fragments stay the answer where nothing else is within reach (a true island).
    respect_levels : bool, default True
        A home or a shop opens onto the ground: points never join tunnels, covered,
        underground or indoor ways, or lift links (:func:`lifecircle.spatial.network.edge_level`),
        and join a bridge or elevated way only when no ground-level edge is within
        ``max_distance_m`` (``level == "bridge_fallback"``). ``False`` joins the nearest edge
        of any level (``level`` is then ``None``).

    Returns
    -------
    EdgeLocation
        Ties between equally near edges go to the lowest edge row (deterministic).
    """
    n = len(points)
    if n == 0:
        return EdgeLocation(np.full(0, -1, dtype=np.int64), np.zeros(0), np.zeros(0),
                            np.zeros(0, dtype=object) if respect_levels else None)
    geoms = np.asarray(points.geometry.to_numpy() if hasattr(points, "geometry") else points)
    all_rows = np.arange(network.n_edges)
    level = None
    if respect_levels:
        lv = edge_level(network.edges)
        edge, distance = _nearest_among(geoms, network, all_rows[lv == GROUND], max_distance_m, prefer_main_component)
        level = np.where(edge >= 0, SNAP_GROUND, "").astype(object)
        rest = np.flatnonzero(edge < 0)
        if len(rest):
            e2, d2 = _nearest_among(geoms[rest], network, all_rows[lv == ELEVATED], max_distance_m,
                                    prefer_main_component)
            edge[rest], distance[rest] = e2, d2
            level[rest[e2 >= 0]] = SNAP_BRIDGE_FALLBACK
    else:
        edge, distance = _nearest_among(geoms, network, all_rows, max_distance_m, prefer_main_component)
    fraction = np.zeros(n)
    matched = np.flatnonzero(edge >= 0)
    if len(matched):
        lines = network.edges.geometry.to_numpy()[edge[matched]]
        fraction[matched] = np.clip(shapely.line_locate_point(lines, geoms[matched], normalized=True), 0.0, 1.0)
    return EdgeLocation(edge, fraction, distance, level)


def snap_columns(where: EdgeLocation, network: WalkNetwork) -> dict[str, np.ndarray]:
    """Per-point columns saying where each point joined the network.

    Parameters
    ----------
    where : EdgeLocation
        From :func:`locate_on_network`.
    network : WalkNetwork
        The network ``where`` refers to (its edges' ``osm_way_id``).

    Returns
    -------
    dict of str to numpy.ndarray
        ``snap_way`` (int64 OSM way id, -1 where unmatched) and ``snap_level`` (``ground``,
        ``bridge_fallback``, ``any`` when levels were not respected, or empty where unmatched).

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> columns = snap_columns(model.origins, model.network)
    >>> columns["snap_way"][[0, 17]].tolist(), columns["snap_level"][0]
    ([101, 100], 'ground')
    """
    ways = network.edges["osm_way_id"].to_numpy(dtype=np.int64)
    snap_way = np.where(where.matched, ways[np.maximum(where.edge, 0)], -1)
    level = where.level if where.level is not None else np.where(where.matched, "any", "")
    return {"snap_way": snap_way, "snap_level": np.asarray(level, dtype=object)}


def _node_as_edge_position(network: WalkNetwork, nodes: np.ndarray,
                           usable: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Express network nodes as (edge, fraction) on one incident edge each (``usable`` edges
    only when given; ``-1`` for nodes no usable edge touches)."""
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    rows = np.arange(len(u))
    if usable is not None:
        u, v, rows = u[usable], v[usable], rows[usable]
    n_nodes = network.n_nodes
    edge_of = np.full(n_nodes, -1, dtype=np.int64)
    frac_of = np.zeros(n_nodes)
    # Later assignments win; assign v first, then u, so a node prefers an edge it starts.
    edge_of[v[::-1]] = rows[::-1]
    frac_of[v[::-1]] = 1.0
    edge_of[u[::-1]] = rows[::-1]
    frac_of[u[::-1]] = 0.0
    return edge_of[nodes], frac_of[nodes]


#: A polygon facility (a hospital, a school campus) is entered from every ground-level
#: walkable way within this distance of its outline, the gap walked as an off-network leg.
#: ASSUMPTION: 20 m covers a building's forecourt or setback from the street (urban
#: building setbacks along roads are commonly 5-15 m) without reaching across a block.
POLYGON_ENTRY_DISTANCE_M: float = 20.0

#: An ``entrance=*`` node belongs to a polygon when it lies within this distance of it
#: (entrances are mapped on the building outline; allow for rounding).
_ENTRANCE_ON_OUTLINE_M = 2.0
_NOT_ENTRANCES = frozenset({"emergency", "no", "exit"})


def _access_frame(facility: np.ndarray, edge: np.ndarray, fraction: np.ndarray, leg: np.ndarray,
                  level: np.ndarray | str) -> pd.DataFrame:
    return pd.DataFrame({"facility": facility, "edge": edge, "fraction": fraction, "leg_m": leg,
                         "level": np.broadcast_to(np.asarray(level, dtype=object), np.shape(facility))})


def facility_access_points(
    facilities: gpd.GeoDataFrame,
    network: WalkNetwork,
    *,
    max_distance_m: float | None = None,
    polygon_tolerance_m: float | None = None,
    entry_distance_m: float = POLYGON_ENTRY_DISTANCE_M,
    entrances: gpd.GeoSeries | None = None,
    respect_levels: bool = True,
) -> pd.DataFrame:
    """Where each facility is reached from the network.

    A point facility is reached at the nearest point of the nearest edge, by the level rules
    of :func:`locate_on_network` (never a tunnel; a bridge only when nothing at ground level
    is within reach). A polygon facility (a park, a hospital campus) is entered

    1. at its mapped entrances (``entrances``: ``entrance=*`` points within 2 m of it, except
       ``emergency``/``exit``/``no``), each joined like a point, where it has any; else
    2. from ground-level edges only: where they cross its outline, at network nodes inside
       it (or within ``polygon_tolerance_m``), and from every ground-level edge within
       ``entry_distance_m`` of it (at the edge's nearest point, the gap walked); a tunnel
       under it or a viaduct over it is not an entrance; else
    3. at the nearest ground-level point within ``max_distance_m`` (the gap walked), or a
       bridge's when no ground-level edge is within reach.

    Each polygon of a MultiPolygon (the parts of one site) counts on its own.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        Facilities in ``network.crs``; row positions identify them in the result.
    network : WalkNetwork
        The walking network, in its metric CRS.
    max_distance_m : float, optional
        Facilities farther than this from every edge are unreachable (absent from the
        result). Default :data:`lifecircle.settings.max_access_distance_m`.
    polygon_tolerance_m : float, optional
        Default :data:`lifecircle.settings.polygon_snap_tolerance_m`.
    entry_distance_m : float, default :data:`POLYGON_ENTRY_DISTANCE_M`
        Metres from a polygon within which a ground-level edge is an entrance.
    entrances : geopandas.GeoSeries, optional
        ``entrance=*`` points in ``network.crs`` (their tags as a ``tags`` column of a
        GeoDataFrame are honoured when given).
    respect_levels : bool, default True
        ``False`` restores the level-blind join (any edge is an entrance).

    Returns
    -------
    pandas.DataFrame
        Columns ``facility`` (row position in ``facilities``), ``edge``, ``fraction``,
        ``leg_m``, ``level`` (``ground``/``bridge_fallback``); sorted, deterministic.
    """
    max_d = settings.max_access_distance_m if max_distance_m is None else float(max_distance_m)
    tol = settings.polygon_snap_tolerance_m if polygon_tolerance_m is None else float(polygon_tolerance_m)
    geoms = facilities.geometry.to_numpy()
    empty = pd.DataFrame({"facility": [], "edge": [], "fraction": [], "leg_m": [], "level": []}).astype(
        {"facility": np.int64, "edge": np.int64, "fraction": float, "leg_m": float, "level": object})
    if len(geoms) == 0:
        return empty
    is_poly = np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    lv = edge_level(network.edges) if respect_levels else np.full(network.n_edges, GROUND, dtype=np.int8)
    parts: list[pd.DataFrame] = []
    # Points (and lines, by their nearest point).
    point_rows = np.flatnonzero(~is_poly)
    if len(point_rows):
        parts.append(_join_points(point_rows, geoms[point_rows], network, max_d, respect_levels))
    poly_rows = np.flatnonzero(is_poly)
    if len(poly_rows) and entrances is not None and len(entrances):
        via = _join_entrances(poly_rows, geoms[poly_rows], entrances, network, max_d, respect_levels)
        if via is not None:
            parts.append(via)
            poly_rows = np.setdiff1d(poly_rows, via["facility"].to_numpy())
    if len(poly_rows):
        parts.extend(_polygon_entries(poly_rows, geoms[poly_rows], network, lv, tol=tol,
                                      entry_distance_m=entry_distance_m, max_distance_m=max_d))
    access = pd.concat(parts, ignore_index=True) if parts else empty
    access = access.astype({"facility": np.int64, "edge": np.int64, "fraction": float, "leg_m": float})
    access = access.sort_values(["facility", "edge", "fraction", "leg_m"]).drop_duplicates(["facility", "edge", "fraction"])
    return access.reset_index(drop=True)


def _join_points(rows: np.ndarray, pts: np.ndarray, network: WalkNetwork, max_d: float,
                 respect_levels: bool) -> pd.DataFrame:
    """Access rows of points (facility ``rows``), each joined by :func:`locate_on_network`."""
    loc = locate_on_network(gpd.GeoSeries(pts, crs=network.crs), network, max_distance_m=max_d,
                            respect_levels=respect_levels)
    ok = loc.matched
    level = loc.level[ok] if loc.level is not None else SNAP_GROUND
    return _access_frame(rows[ok], loc.edge[ok], loc.fraction[ok], loc.distance_m[ok], level)


def _join_entrances(poly_rows: np.ndarray, polys: np.ndarray, entrances: gpd.GeoSeries, network: WalkNetwork,
                    max_d: float, respect_levels: bool) -> pd.DataFrame | None:
    """Access rows of polygons through their mapped entrances (None: no usable entrance on any)."""
    ent = entrances
    if isinstance(ent, gpd.GeoDataFrame) and "tags" in ent:
        kind = ent["tags"].map(lambda t: t.get("entrance") if isinstance(t, dict) else None)
        blocked = ent["tags"].map(lambda t: isinstance(t, dict) and t.get("access") in ("no", "private"))
        ent = ent[~kind.isin(list(_NOT_ENTRANCES)).to_numpy() & ~blocked.to_numpy(dtype=bool)]
    ent_geoms = np.asarray(ent.geometry.to_numpy())
    p_idx, e_idx = shapely.STRtree(ent_geoms).query(polys, predicate="dwithin", distance=_ENTRANCE_ON_OUTLINE_M)
    if not len(p_idx):
        return None
    return _join_points(poly_rows[p_idx], ent_geoms[e_idx], network, max_d, respect_levels)


def _polygon_entries(poly_rows: np.ndarray, geoms: np.ndarray, network: WalkNetwork, lv: np.ndarray, *,
                     tol: float, entry_distance_m: float, max_distance_m: float) -> list[pd.DataFrame]:
    """Access rows of polygons without entrances: nodes inside, crossings, edges near, else nearest."""
    # Each polygon of a MultiPolygon (the buildings of one hospital site) is reached at
    # its own outline: a part no edge touches still gets its nearest network point.
    polys, part_of = shapely.get_parts(geoms, return_index=True)
    poly_rows = poly_rows[part_of]
    ground = lv == GROUND
    ground_rows = np.flatnonzero(ground)
    edge_geoms = network.edges.geometry.to_numpy()
    touched = np.zeros(len(poly_rows), dtype=bool)
    parts: list[pd.DataFrame] = []
    # Nodes inside or within tol of the outline, placed on a ground-level edge.
    p_idx, n_idx = network.nodes.sindex.query(polys, predicate="dwithin", distance=tol)
    if len(p_idx):
        e, f = _node_as_edge_position(network, n_idx, ground)
        ok = e >= 0
        parts.append(_access_frame(poly_rows[p_idx[ok]], e[ok], f[ok], np.zeros(int(ok.sum())), SNAP_GROUND))
        touched[p_idx[ok]] = True
    if len(ground_rows):
        parts.extend(_ground_edges_at(poly_rows, polys, edge_geoms, ground_rows, entry_distance_m, touched))
    # Polygons nothing touches: the nearest point within reach (ground first, then bridges).
    lonely = np.flatnonzero(~touched)
    for rows, level in ((ground_rows, SNAP_GROUND), (np.flatnonzero(lv == ELEVATED), SNAP_BRIDGE_FALLBACK)):
        if not len(lonely) or not len(rows):
            continue
        (q_idx, local), dist = shapely.STRtree(edge_geoms[rows]).query_nearest(
            polys[lonely], max_distance=max_distance_m, return_distance=True, all_matches=False)
        if len(q_idx):
            e3 = rows[local]
            lines = shapely.shortest_line(edge_geoms[e3], polys[lonely][q_idx])
            fr = shapely.line_locate_point(edge_geoms[e3], shapely.get_point(lines, 0), normalized=True)
            parts.append(_access_frame(poly_rows[lonely[q_idx]], e3, np.clip(fr, 0, 1), dist, level))
            lonely = np.setdiff1d(lonely, lonely[q_idx])
    return parts


def _ground_edges_at(poly_rows: np.ndarray, polys: np.ndarray, edge_geoms: np.ndarray,
                     ground_rows: np.ndarray, entry_distance_m: float, touched: np.ndarray) -> list[pd.DataFrame]:
    """Access rows where ground-level edges cross each outline or pass within the entry
    distance; marks the polygons reached in ``touched`` (updated in place, a local array)."""
    parts = []
    tree = shapely.STRtree(edge_geoms[ground_rows])
    # Where ground-level edges cross the outline.
    outlines = shapely.boundary(polys)
    p_idx2, local = tree.query(outlines, predicate="intersects")
    e_idx = ground_rows[local]
    if len(p_idx2):
        crossings = shapely.intersection(edge_geoms[e_idx], outlines[p_idx2])
        pts, which = shapely.get_parts(shapely.extract_unique_points(crossings), return_index=True)
        fr = shapely.line_locate_point(edge_geoms[e_idx[which]], pts, normalized=True)
        parts.append(_access_frame(poly_rows[p_idx2[which]], e_idx[which], np.clip(fr, 0, 1),
                                   np.zeros(len(which)), SNAP_GROUND))
        touched[p_idx2] = True
    # Every ground-level edge within the entry distance, at its nearest point.
    p_idx3, local = tree.query(polys, predicate="dwithin", distance=entry_distance_m)
    e_idx3 = ground_rows[local]
    if len(p_idx3):
        lines = shapely.shortest_line(edge_geoms[e_idx3], polys[p_idx3])
        fr = shapely.line_locate_point(edge_geoms[e_idx3], shapely.get_point(lines, 0), normalized=True)
        parts.append(_access_frame(poly_rows[p_idx3], e_idx3, np.clip(fr, 0, 1), shapely.length(lines),
                                   SNAP_GROUND))
        touched[p_idx3] = True
    return parts


def facilities_off_ground(
    facilities: gpd.GeoDataFrame,
    network: WalkNetwork,
    access: pd.DataFrame,
    *,
    max_distance_m: float | None = None,
) -> pd.DataFrame:
    """Facilities a pedestrian could reach only through a tunnel or from a bridge.

    ``"bridge only"``: every access point is a bridge fallback. ``"tunnel only"``: no access
    point at all, but a tunnel, covered or underground way lies within ``max_distance_m``
    (the level rules refuse it as an entrance).

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        Facilities in ``network.crs``; row positions identify them in ``access``.
    network : WalkNetwork
        The walking network, metric CRS.
    access : pandas.DataFrame
        Their access points (:func:`facility_access_points`, with its ``level`` column).
    max_distance_m : float, optional
        Metres within which a refused tunnel counts; default
        :data:`lifecircle.settings.max_access_distance_m`.

    Returns
    -------
    pandas.DataFrame
        ``facility`` (row), ``reason``, and ``category``, ``name``, ``osm_type``, ``osm_id``
        where ``facilities`` has them; sorted by row.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> access = facility_access_points(model.facilities, model.network)
    >>> len(facilities_off_ground(model.facilities, model.network, access))  # both sit beside a ground-level path
    0
    """
    max_d = settings.max_access_distance_m if max_distance_m is None else float(max_distance_m)
    rows: list[np.ndarray] = []
    reasons: list[np.ndarray] = []
    if len(access) and "level" in access:
        on_ground = (access["level"] == SNAP_GROUND).groupby(access["facility"]).any()
        bridge_only = on_ground.index.to_numpy()[~on_ground.to_numpy(dtype=bool)]
        rows.append(bridge_only)
        reasons.append(np.full(len(bridge_only), "bridge only", dtype=object))
    unreached = np.setdiff1d(np.arange(len(facilities)), access["facility"].to_numpy() if len(access) else [])
    under = np.flatnonzero(edge_level(network.edges) == UNDERGROUND)
    if len(unreached) and len(under):
        q, _ = shapely.STRtree(network.edges.geometry.to_numpy()[under]).query(
            facilities.geometry.to_numpy()[unreached], predicate="dwithin", distance=max_d)
        tunnel_only = unreached[np.unique(q)]
        rows.append(tunnel_only)
        reasons.append(np.full(len(tunnel_only), "tunnel only", dtype=object))
    out = pd.DataFrame({"facility": np.concatenate(rows) if rows else np.zeros(0, np.int64),
                        "reason": np.concatenate(reasons) if reasons else np.zeros(0, object)})
    out = out.astype({"facility": np.int64}).sort_values("facility").reset_index(drop=True)
    for col in ("category", "name", "osm_type", "osm_id"):
        if col in facilities:
            out[col] = facilities[col].to_numpy()[out["facility"].to_numpy()]
    return out


@dataclass(frozen=True)
class ReverseGraph:
    """The network's arcs reversed, as compact CSR arrays ready for csgraph.

    Arc ``b -> a`` carries the cost of walking ``a -> b``. Parallel arcs are reduced to
    their minimum (a sparse matrix built from a multigraph would sum them). Infinite
    (impassable) directions are left out.
    """

    n_nodes: int
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    seconds_uv: np.ndarray
    seconds_vu: np.ndarray
    u: np.ndarray
    v: np.ndarray


def _min_csr_arrays(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays with the minimum weight of duplicate (row, col) pairs kept.

    One sort on a combined integer key, then ``minimum.reduceat`` over equal keys: a sparse
    matrix built from a multigraph's arcs would *sum* parallel arcs instead.
    """
    if len(rows) == 0:
        return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
    n_cols = int(cols.max()) + 1
    key = rows.astype(np.int64) * n_cols + cols.astype(np.int64)
    index_bits = int(len(key)).bit_length()
    if (int(n_rows) * n_cols).bit_length() + index_bits <= 63:
        # Sort (key, position) packed in one int64: a plain sort is ~5x faster than argsort.
        packed = (key << index_bits) | np.arange(len(key), dtype=np.int64)
        packed.sort()
        order = packed & ((1 << index_bits) - 1)
        key = packed >> index_bits
    else:  # pragma: no cover - networks beyond ~10^9 node pairs x 10^6 arcs
        order = np.argsort(key, kind="stable")
        key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    weights = np.minimum.reduceat(weights[order].astype(np.float64), starts)
    key = key[starts]
    rows, cols = key // n_cols, key % n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, cols.astype(np.int32), weights


def reverse_graph(network: WalkNetwork, costs: pd.DataFrame) -> ReverseGraph:
    """Build the reversed search graph of a network under a cost table.

    Parameters
    ----------
    network : WalkNetwork
        The walking network.
    costs : pandas.DataFrame
        ``seconds_uv`` / ``seconds_vu`` per edge, in the network's edge order (see
        :mod:`lifecircle.spatial.costs`); an infinite cost closes that direction.

    Returns
    -------
    ReverseGraph
        The CSR graph with arcs reversed (a search from the facilities gives times *to*
        them), plus the per-edge seconds and ends.

    Raises
    ------
    OptionError
        ``costs`` does not have one row per edge.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> from lifecircle.spatial.costs import flat_costs
    >>> model = small_model()
    >>> graph = reverse_graph(model.network, flat_costs(model.network, speed_kmh=4.5))
    >>> graph.n_nodes, round(float(graph.seconds_uv[0]))  # 900 m at 1.25 m/s
    (3, 720)
    """
    u = network.edges["u"].to_numpy(dtype=np.int64)
    v = network.edges["v"].to_numpy(dtype=np.int64)
    s_uv = costs["seconds_uv"].to_numpy(dtype=np.float64)
    s_vu = costs["seconds_vu"].to_numpy(dtype=np.float64)
    if len(s_uv) != len(u):
        raise OptionError(f"costs has {len(s_uv)} rows but the network has {len(u)} edges.")
    # Walking u -> v becomes the reversed arc v -> u, and the other way round.
    rows = np.concatenate([v, u])
    cols = np.concatenate([u, v])
    w = np.concatenate([s_uv, s_vu])
    finite = np.isfinite(w)
    indptr, indices, data = _min_csr_arrays(rows[finite], cols[finite], w[finite], network.n_nodes)
    return ReverseGraph(network.n_nodes, indptr, indices, data, s_uv, s_vu, u, v)


def _with_facility_nodes(graph: ReverseGraph, access: pd.DataFrame, n_facilities: int, leg_speed_ms: float) -> sparse.csr_matrix:
    """Append one virtual node per facility with arcs to its access edges' ends."""
    edge = access["edge"].to_numpy(dtype=np.int64)
    frac = access["fraction"].to_numpy(dtype=np.float64)
    leg = access["leg_m"].to_numpy(dtype=np.float64) / leg_speed_ms
    fac = access["facility"].to_numpy(dtype=np.int64)
    # Walking from u to the access point costs frac * seconds_uv; from v, (1-frac) * seconds_vu.
    rows = np.concatenate([fac, fac]) + graph.n_nodes
    cols = np.concatenate([graph.u[edge], graph.v[edge]])
    # An access point AT an end node costs nothing to reach from that node even when the
    # edge itself is impassable (0 * inf would be nan and drop the arc).
    with np.errstate(invalid="ignore"):
        to_u = np.where(frac == 0.0, 0.0, frac * graph.seconds_uv[edge])
        to_v = np.where(frac == 1.0, 0.0, (1.0 - frac) * graph.seconds_vu[edge])
    w = np.concatenate([leg + to_u, leg + to_v])
    finite = np.isfinite(w)
    n_total = graph.n_nodes + n_facilities
    f_indptr, f_indices, f_data = _min_csr_arrays(rows[finite] - graph.n_nodes, cols[finite], w[finite], n_facilities)
    indptr = np.concatenate([graph.indptr, graph.indptr[-1] + f_indptr[1:]])
    indices = np.concatenate([graph.indices, f_indices])
    data = np.concatenate([graph.data, f_data])
    return sparse.csr_matrix((data, indices, indptr), shape=(n_total, n_total))


def nearest_facility(
    graph: ReverseGraph,
    access: pd.DataFrame,
    *,
    n_facilities: int,
    leg_speed_kmh: float,
    limit_seconds: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from every node to its nearest facility, and which facility that is.

    One multi-source Dijkstra in compiled code (``scipy.sparse.csgraph``).

    Parameters
    ----------
    graph : ReverseGraph
        From :func:`reverse_graph`.
    access : pandas.DataFrame
        From :func:`facility_access_points`.
    n_facilities : int
        Number of facilities (rows of the facilities table).
    leg_speed_kmh : float
        Speed of the off-network leg (the walker's flat speed, km/h).
    limit_seconds : float, default inf
        Stop searching beyond this time (nodes beyond are ``inf``).

    Returns
    -------
    seconds : numpy.ndarray
        Shape ``(n_nodes,)``; ``inf`` where no facility is reachable.
    facility : numpy.ndarray
        Row of the nearest facility, ``-1`` where none is reachable.
    """
    n = graph.n_nodes
    if len(access) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    speed = check_speed(leg_speed_kmh, name="leg_speed_kmh") / 3.6
    matrix = _with_facility_nodes(graph, access, n_facilities, speed)
    sources = np.unique(access["facility"].to_numpy()) + n
    dist, _, source = csgraph.dijkstra(
        matrix, directed=True, indices=sources, min_only=True, return_predecessors=True, limit=limit_seconds
    )
    facility = np.where(source[:n] >= 0, source[:n] - n, -1)
    return dist[:n], facility.astype(np.int64)


def origin_seconds(
    graph: ReverseGraph,
    node_seconds: np.ndarray,
    origins: EdgeLocation,
    *,
    access: pd.DataFrame | None = None,
    leg_speed_kmh: float,
) -> np.ndarray:
    """Seconds from each origin to the nearest facility, given the node times.

    Parameters
    ----------
    graph : ReverseGraph
        The reversed search graph (:func:`lifecircle.spatial.travel.reverse_graph`).
    node_seconds : numpy.ndarray
        From :func:`nearest_facility` (or one row of :func:`per_facility_node_seconds`).
    origins : EdgeLocation
        From :func:`locate_on_network`; unmatched origins get ``nan``.
    access : pandas.DataFrame, optional
        The facilities' access points, to count a direct walk along a shared edge.
    leg_speed_kmh : float
        Speed of the off-network legs (the walker's flat speed, km/h).

    Returns
    -------
    numpy.ndarray
        Seconds per origin: ``inf`` where no facility is reachable, ``nan`` where the
        origin has no access to the network.
    """
    seconds, _ = origin_nearest(graph, node_seconds, None, origins, access=access, leg_speed_kmh=leg_speed_kmh)
    return seconds


def origin_nearest(
    graph: ReverseGraph,
    node_seconds: np.ndarray,
    node_facility: np.ndarray | None,
    origins: EdgeLocation,
    *,
    access: pd.DataFrame | None = None,
    leg_speed_kmh: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from each origin to the nearest facility, and which facility that is.

    As :func:`origin_seconds`, plus the facility: the one nearest to the better end of the
    origin's edge (``node_facility`` from :func:`nearest_facility`), or the facility whose
    access point on the same edge is reached directly when that is quicker.

    Parameters
    ----------
    graph : ReverseGraph
        From :func:`reverse_graph`.
    node_seconds : numpy.ndarray
        Seconds from each node to the nearest facility (:func:`nearest_facility`).
    node_facility : numpy.ndarray or None
        The facility row nearest to each node (-1 where none); None leaves ``facility`` at -1.
    origins : EdgeLocation
        Where the origins (cell centres) join the network (:func:`locate_on_network`).
    access : pandas.DataFrame, optional
        The facilities' access points, to catch a facility on the origin's own edge.
    leg_speed_kmh : float
        Walking speed (km/h) on the legs off the network and along the origin's edge.

    Returns
    -------
    seconds : numpy.ndarray
        As :func:`origin_seconds`.
    facility : numpy.ndarray
        Facility row per origin; ``-1`` where none is reachable, the origin has no access,
        or ``node_facility`` is ``None``.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> node_s, node_fac = nearest_facility(model.graph, model.access["school"], n_facilities=2, leg_speed_kmh=4.5)
    >>> seconds, facility = origin_nearest(model.graph, node_s, node_fac, model.origins,
    ...                                    access=model.access["school"], leg_speed_kmh=4.5)
    >>> facility[[9, 17]].tolist(), (seconds[[9, 17]] / 60).round(1).tolist()  # 50 + 850 + 20 m; 50 + 50 + 20 m
    ([1, 1], [12.3, 1.6])
    """
    speed = check_speed(leg_speed_kmh, name="leg_speed_kmh") / 3.6
    out = np.full(len(origins.edge), np.nan)
    which = np.full(len(origins.edge), -1, dtype=np.int64)
    ok = origins.matched
    e = origins.edge[ok]
    f = origins.fraction[ok]
    # From the origin's point to u walks the edge backwards (v -> u direction), to v forwards.
    with np.errstate(invalid="ignore"):
        via_u = np.where(f == 0.0, 0.0, f * graph.seconds_vu[e]) + node_seconds[graph.u[e]]
        via_v = np.where(f == 1.0, 0.0, (1.0 - f) * graph.seconds_uv[e]) + node_seconds[graph.v[e]]
    via_u = np.where(np.isnan(via_u), np.inf, via_u)
    via_v = np.where(np.isnan(via_v), np.inf, via_v)
    best = np.minimum(via_u, via_v)
    fac = np.full(len(e), -1, dtype=np.int64)
    if node_facility is not None:
        fac = np.where(via_u <= via_v, node_facility[graph.u[e]], node_facility[graph.v[e]])
    if access is not None and len(access):
        _take_direct_walks(graph, e, f, access, speed, best, fac)
    out[ok] = best + origins.distance_m[ok] / speed
    which[ok] = np.where(np.isfinite(best), fac, -1)
    return out, which


def _take_direct_walks(graph: ReverseGraph, e: np.ndarray, f: np.ndarray,
                       access: pd.DataFrame, speed: float, best: np.ndarray, fac: np.ndarray) -> None:
    """Where a facility's access point on the origin's own edge is reached directly quicker
    than through the edge's ends, take that walk: updates the local ``best`` and ``fac``."""
    left = pd.DataFrame({"o": np.arange(len(e)), "edge": e, "f": f})
    pairs = left.merge(access[["edge", "fraction", "leg_m", "facility"]], on="edge", how="inner")
    if not len(pairs):
        return
    pe = pairs["edge"].to_numpy()
    d = pairs["fraction"].to_numpy() - pairs["f"].to_numpy()
    with np.errstate(invalid="ignore"):  # 0 * inf on impassable edges: handled below
        direct = np.where(d >= 0, d * graph.seconds_uv[pe], -d * graph.seconds_vu[pe])
    direct = np.where(d == 0, 0.0, direct)
    direct = direct + pairs["leg_m"].to_numpy() / speed
    direct = np.where(np.isnan(direct), np.inf, direct)
    # Best direct walk per origin (ties: lowest facility row), then keep it where quicker.
    order = np.lexsort((pairs["facility"].to_numpy(), direct, pairs["o"].to_numpy()))
    o_sorted = pairs["o"].to_numpy()[order]
    first = order[np.r_[True, o_sorted[1:] != o_sorted[:-1]]]
    o_first = pairs["o"].to_numpy()[first]
    quicker = direct[first] < best[o_first]
    best[o_first[quicker]] = direct[first][quicker]
    fac[o_first[quicker]] = pairs["facility"].to_numpy()[first][quicker]


def available_memory_bytes() -> int:
    """Memory the OS reports as available (``MemAvailable``), or total RAM as a fallback.

    Returns
    -------
    int
        Bytes; 8 GiB when the OS tells neither.

    Examples
    --------
    >>> available_memory_bytes() > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def per_facility_node_seconds(
    graph: ReverseGraph,
    access: pd.DataFrame,
    *,
    n_facilities: int,
    limit_seconds: float,
    leg_speed_kmh: float,
    memory_budget_bytes: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(facility row, node seconds)`` for each reachable facility, one search each.

    Searches run in batches (one csgraph call per batch, bounded by ``limit_seconds``) sized
    so that a batch's dense result fits the memory budget.

    Parameters
    ----------
    graph : ReverseGraph
        The reversed search graph (:func:`lifecircle.spatial.travel.reverse_graph`).
    access : pandas.DataFrame
        Access points of the facilities (``facility``, ``edge``, ``fraction``, ``leg_m``; :func:`lifecircle.spatial.travel.facility_access_points`).
    n_facilities : int
        Number of facilities (rows the ``facility`` of ``access`` refers to).
    limit_seconds : float
        Search radius; nodes beyond it are ``inf``.
    leg_speed_kmh : float
        Speed of the off-network leg (the walker's flat speed, km/h).
    memory_budget_bytes : int, optional
        Default: a quarter of the available memory, at most 512 MiB.

    Yields
    ------
    tuple of (int, numpy.ndarray)
    """
    if len(access) == 0:
        return
    speed = check_speed(leg_speed_kmh, name="leg_speed_kmh") / 3.6
    matrix = _with_facility_nodes(graph, access, n_facilities, speed)
    n_total = matrix.shape[0]
    budget = memory_budget_bytes or min(512 * 1024**2, available_memory_bytes() // 4)
    # A batch's dense result is 8 bytes per node per facility (doubled for csgraph's work arrays).
    batch = max(1, int(budget // (8 * n_total * 2)))
    facilities = np.unique(access["facility"].to_numpy())
    for start in range(0, len(facilities), batch):
        chunk = facilities[start : start + batch]
        dist = csgraph.dijkstra(matrix, directed=True, indices=chunk + graph.n_nodes, limit=limit_seconds)
        for row, fac in enumerate(chunk):
            yield int(fac), dist[row, : graph.n_nodes]
