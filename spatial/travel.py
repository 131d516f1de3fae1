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
from lifecircle.spatial.network import WalkNetwork

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
    """

    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray

    @property
    def matched(self) -> np.ndarray:
        """Boolean mask of points that joined the network."""
        return self.edge >= 0


def locate_on_network(
    points: gpd.GeoSeries,
    network: WalkNetwork,
    *,
    max_distance_m: float,
    prefer_main_component: bool = True,
) -> EdgeLocation:
    """Join each point to the nearest point of the nearest edge within a distance.

    Parameters
    ----------
    points : geopandas.GeoSeries
        Points in ``network.crs``.
    network : WalkNetwork
    max_distance_m : float
        Points farther than this from every edge stay unmatched (``edge == -1``).
    prefer_main_component : bool, default True
        When the nearest edge lies on a fragment cut off from the main (largest) network
        (a courtyard path whose link OSM lacks), join the nearest main-network edge instead
        if one is within ``max_distance_m``: a resident there can walk across to the street.
        Fragments stay the answer where nothing else is within reach (a true island).

    Returns
    -------
    EdgeLocation
        Ties between equally near edges go to the lowest edge row (deterministic).
    """
    n = len(points)
    edge = np.full(n, -1, dtype=np.int64)
    fraction = np.zeros(n)
    distance = np.full(n, np.inf)
    if n == 0:
        return EdgeLocation(edge, fraction, distance)
    geoms = np.asarray(points.geometry.to_numpy() if hasattr(points, "geometry") else points)
    # The edges' spatial index is built once and cached by geopandas on the table.
    (pt_idx, edge_idx), dist = network.edges.sindex.nearest(
        geoms, max_distance=max_distance_m, return_distance=True, return_all=True
    )
    if len(pt_idx):
        # return_all gives every equally-near edge: keep the lowest edge row per point.
        order = np.lexsort((edge_idx, pt_idx))
        pt_idx, edge_idx, dist = pt_idx[order], edge_idx[order], dist[order]
        first = np.r_[True, pt_idx[1:] != pt_idx[:-1]]
        pt_idx, edge_idx, dist = pt_idx[first], edge_idx[first], dist[first]
        edge[pt_idx] = edge_idx
        distance[pt_idx] = dist
    if prefer_main_component and len(pt_idx):
        on_main = network.nodes["component"].to_numpy()[network.edges["u"].to_numpy()] == 0
        stray = np.flatnonzero((edge >= 0) & ~on_main[np.maximum(edge, 0)])
        if len(stray):
            q_idx, cand = network.edges.sindex.query(geoms[stray], predicate="dwithin", distance=max_distance_m)
            keep = on_main[cand]
            q_idx, cand = q_idx[keep], cand[keep]
            if len(q_idx):
                d = shapely.distance(geoms[stray][q_idx], network.edges.geometry.to_numpy()[cand])
                order = np.lexsort((cand, d, q_idx))
                q_idx, cand, d = q_idx[order], cand[order], d[order]
                first = np.r_[True, q_idx[1:] != q_idx[:-1]]
                rows = stray[q_idx[first]]
                edge[rows] = cand[first]
                distance[rows] = d[first]
    matched = np.flatnonzero(edge >= 0)
    if len(matched):
        lines = network.edges.geometry.to_numpy()[edge[matched]]
        fraction[matched] = np.clip(shapely.line_locate_point(lines, geoms[matched], normalized=True), 0.0, 1.0)
    return EdgeLocation(edge, fraction, distance)


def _node_as_edge_position(network: WalkNetwork, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Express network nodes as (edge, fraction) on one incident edge each."""
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    n_nodes = network.n_nodes
    edge_of = np.full(n_nodes, -1, dtype=np.int64)
    frac_of = np.zeros(n_nodes)
    rows = np.arange(len(u))
    # Later assignments win; assign v first, then u, so a node prefers an edge it starts.
    edge_of[v[::-1]] = rows[::-1]
    frac_of[v[::-1]] = 1.0
    edge_of[u[::-1]] = rows[::-1]
    frac_of[u[::-1]] = 0.0
    return edge_of[nodes], frac_of[nodes]


def facility_access_points(
    facilities: gpd.GeoDataFrame,
    network: WalkNetwork,
    *,
    max_distance_m: float | None = None,
    polygon_tolerance_m: float | None = None,
) -> pd.DataFrame:
    """Where each facility is reached from the network.

    A point facility is reached at the nearest point of the nearest edge. A polygon
    facility (a park, a hospital campus) is reached where walkable edges cross its
    outline and at every network node inside it (or within ``polygon_tolerance_m`` of
    it), never at its centroid; a polygon no edge touches is reached at the network point
    nearest its outline, with the gap walked as an off-network leg. Each polygon of a
    MultiPolygon (the parts of one site) counts on its own.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        Facilities in ``network.crs``; row positions identify them in the result.
    network : WalkNetwork
    max_distance_m : float, optional
        Facilities farther than this from every edge are unreachable (absent from the
        result). Default :data:`lifecircle.settings.max_access_distance_m`.
    polygon_tolerance_m : float, optional
        Default :data:`lifecircle.settings.polygon_snap_tolerance_m`.

    Returns
    -------
    pandas.DataFrame
        Columns ``facility`` (row position in ``facilities``), ``edge``, ``fraction``,
        ``leg_m``; sorted, deterministic.
    """
    max_d = settings.max_access_distance_m if max_distance_m is None else float(max_distance_m)
    tol = settings.polygon_snap_tolerance_m if polygon_tolerance_m is None else float(polygon_tolerance_m)
    geoms = facilities.geometry.to_numpy()
    if len(geoms) == 0:
        return pd.DataFrame({"facility": [], "edge": [], "fraction": [], "leg_m": []}).astype(
            {"facility": np.int64, "edge": np.int64, "fraction": float, "leg_m": float}
        )
    is_poly = np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    parts: list[pd.DataFrame] = []

    # Points (and lines, by their nearest point): nearest edge within max_d.
    point_rows = np.flatnonzero(~is_poly)
    if len(point_rows):
        loc = locate_on_network(gpd.GeoSeries(geoms[point_rows], crs=network.crs), network, max_distance_m=max_d)
        ok = loc.matched
        parts.append(pd.DataFrame({
            "facility": point_rows[ok], "edge": loc.edge[ok], "fraction": loc.fraction[ok], "leg_m": loc.distance_m[ok],
        }))

    poly_rows = np.flatnonzero(is_poly)
    if len(poly_rows):
        # Each polygon of a MultiPolygon (the buildings of one hospital site) is reached at
        # its own outline: a part no edge touches still gets its nearest network point.
        polys, part_of = shapely.get_parts(geoms[poly_rows], return_index=True)
        poly_rows = poly_rows[part_of]
        # Nodes inside or within tol of the outline.
        p_idx, n_idx = network.nodes.sindex.query(polys, predicate="dwithin", distance=tol)
        if len(p_idx):
            e, f = _node_as_edge_position(network, n_idx)
            parts.append(pd.DataFrame({"facility": poly_rows[p_idx], "edge": e, "fraction": f, "leg_m": 0.0}))
        # Where edges cross the outline.
        outlines = shapely.boundary(polys)
        edge_geoms = network.edges.geometry.to_numpy()
        p_idx2, e_idx = network.edges.sindex.query(outlines, predicate="intersects")
        if len(p_idx2):
            crossings = shapely.intersection(edge_geoms[e_idx], outlines[p_idx2])
            pts, which = shapely.get_parts(shapely.extract_unique_points(crossings), return_index=True)
            fr = shapely.line_locate_point(edge_geoms[e_idx[which]], pts, normalized=True)
            parts.append(pd.DataFrame({
                "facility": poly_rows[p_idx2[which]], "edge": e_idx[which], "fraction": np.clip(fr, 0, 1), "leg_m": 0.0,
            }))
        # Polygons nothing touches: nearest network point to the outline.
        touched = np.zeros(len(poly_rows), dtype=bool)
        touched[p_idx] = True
        touched[p_idx2] = True
        lonely = np.flatnonzero(~touched)
        if len(lonely):
            (q_idx, e_idx3), dist = network.edges.sindex.nearest(
                polys[lonely], max_distance=max_d, return_distance=True, return_all=False
            )
            if len(q_idx):
                lines = shapely.shortest_line(edge_geoms[e_idx3], polys[lonely][q_idx])
                start = shapely.get_point(lines, 0)
                fr = shapely.line_locate_point(edge_geoms[e_idx3], start, normalized=True)
                parts.append(pd.DataFrame({
                    "facility": poly_rows[lonely[q_idx]], "edge": e_idx3, "fraction": np.clip(fr, 0, 1), "leg_m": dist,
                }))

    access = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["facility", "edge", "fraction", "leg_m"])
    access = access.astype({"facility": np.int64, "edge": np.int64, "fraction": float, "leg_m": float})
    access = access.sort_values(["facility", "edge", "fraction", "leg_m"]).drop_duplicates(["facility", "edge", "fraction"])
    return access.reset_index(drop=True)


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
    costs : pandas.DataFrame
        ``seconds_uv`` / ``seconds_vu`` per edge (see :mod:`lifecircle.spatial.costs`).

    Returns
    -------
    ReverseGraph
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
    leg_speed_kmh: float | None = None,
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
    leg_speed_kmh : float, optional
        Speed of the off-network leg; default the flat walking speed setting.
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
    speed = check_speed(settings.walking_speed_kmh if leg_speed_kmh is None else leg_speed_kmh, name="leg_speed_kmh") / 3.6
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
    leg_speed_kmh: float | None = None,
) -> np.ndarray:
    """Seconds from each origin to the nearest facility, given the node times.

    Parameters
    ----------
    graph : ReverseGraph
    node_seconds : numpy.ndarray
        From :func:`nearest_facility` (or one row of :func:`per_facility_node_seconds`).
    origins : EdgeLocation
        From :func:`locate_on_network`; unmatched origins get ``nan``.
    access : pandas.DataFrame, optional
        The facilities' access points, to count a direct walk along a shared edge.
    leg_speed_kmh : float, optional
        Speed of the off-network legs; default the flat walking speed setting.

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
    leg_speed_kmh: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from each origin to the nearest facility, and which facility that is.

    As :func:`origin_seconds`, plus the facility: the one nearest to the better end of the
    origin's edge (``node_facility`` from :func:`nearest_facility`), or the facility whose
    access point on the same edge is reached directly when that is quicker.

    Returns
    -------
    seconds : numpy.ndarray
        As :func:`origin_seconds`.
    facility : numpy.ndarray
        Facility row per origin; ``-1`` where none is reachable, the origin has no access,
        or ``node_facility`` is ``None``.
    """
    speed = check_speed(settings.walking_speed_kmh if leg_speed_kmh is None else leg_speed_kmh, name="leg_speed_kmh") / 3.6
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
        left = pd.DataFrame({"o": np.arange(len(e)), "edge": e, "f": f})
        pairs = left.merge(access[["edge", "fraction", "leg_m", "facility"]], on="edge", how="inner")
        if len(pairs):
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
    out[ok] = best + origins.distance_m[ok] / speed
    which[ok] = np.where(np.isfinite(best), fac, -1)
    return out, which


def available_memory_bytes() -> int:
    """Memory the OS reports as available (``MemAvailable``), or total RAM as a fallback."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def per_facility_node_seconds(
    graph: ReverseGraph,
    access: pd.DataFrame,
    *,
    n_facilities: int,
    limit_seconds: float,
    leg_speed_kmh: float | None = None,
    memory_budget_bytes: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(facility row, node seconds)`` for each reachable facility, one search each.

    Searches run in batches (one csgraph call per batch, bounded by ``limit_seconds``) sized
    so that a batch's dense result fits the memory budget.

    Parameters
    ----------
    graph : ReverseGraph
    access : pandas.DataFrame
    n_facilities : int
    limit_seconds : float
        Search radius; nodes beyond it are ``inf``.
    leg_speed_kmh : float, optional
    memory_budget_bytes : int, optional
        Default: a quarter of the available memory, at most 512 MiB.

    Yields
    ------
    tuple of (int, numpy.ndarray)
    """
    if len(access) == 0:
        return
    speed = check_speed(settings.walking_speed_kmh if leg_speed_kmh is None else leg_speed_kmh, name="leg_speed_kmh") / 3.6
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
