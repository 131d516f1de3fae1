"""Benchmark: walking minutes from every network node TO its nearest facility.

Compares, on the same reversed walking graph and the same facility nodes:

``lifecircle``
    :func:`lifecircle.spatial.travel.reverse_graph` + :func:`facility_access_points` +
    :func:`nearest_facility` (graph build and access points included in the time).
``lifecircle_limit``
    the same, with ``limit_seconds`` = the threshold (like-for-like with pandana).
``scipy``
    one bare ``scipy.sparse.csgraph.dijkstra(min_only=True)`` on a prebuilt CSR matrix:
    the floor (its "prep" is the CSR build, not counted in the floor).
``networkx``
    ``multi_source_dijkstra_path_length`` on a ``DiGraph`` (graph build is "prep").
``igraph``
    ``Graph.distances`` from one virtual super-source joined to every facility by
    zero-cost arcs (igraph has no multi-source call).
``pandana``
    ``Network(...)`` (contraction hierarchy) + ``precompute(horizon)`` + ``set_pois`` +
    ``nearest_pois``; the horizon is the threshold (pandana answers "nearest within
    the horizon", so it is compared on nodes within it).
``ego_graph``
    the osmnx-tutorial isochrone method: ``networkx.ego_graph(G, facility,
    radius=threshold)`` per facility, union of reached nodes. It gives only coverage
    (the node set within the threshold), compared as a set. On large networks it runs on
    an evenly spaced subset of facilities and its search time is scaled to all of them.

Problems:

(a) ``yuzhong``: the Yuzhong (Chongqing) extract, ``read_osm`` -> ``build_walk_network``
    -> ``flat_costs`` (4.5 km/h), every component kept.
(b) ``tiled``: the largest connected component of (a) copied on a grid of tiles (offset in
    x/y) until at least ``--min-nodes`` nodes, adjacent tiles stitched by straight
    footway edges between boundary nodes so the fabric is one connected component.

Facilities: the extract's hospital and school building footprints
(``building=hospital|school``), ``amenity=marketplace`` and ``shop=supermarket``, each
snapped (by its representative point) to the nearest node of the largest component,
duplicates merged. Every tool then starts from exactly the same nodes; lifecircle gets
them as point facilities lying on those nodes (so its access points coincide with the
nodes). On (b) the facility nodes are tiled with the network.

Each method runs in its own subprocess (clean timings; peak memory = the process's peak
resident set, reset after loading the problem, minus the resident set before the
method ran). Wall times use ``time.perf_counter``, CPU times ``time.process_time`` (all
threads of the process; a steadier figure on a shared machine, and larger than wall for
multi-threaded pandana); a method whose run takes under ``--repeat-below`` seconds is
repeated (best of 3 by wall time).

Printed columns: ``prep s`` (graph build, precompute, access points), ``search s``,
``total s`` (wall), ``cpu s`` (total CPU), ``x scipy`` = total / bare scipy search (the
floor), ``x lifecirc`` = total / lifecircle total, ``peak MB``, and the agreement check.
Below each table: lifecircle's phases and the two targets (lifecircle within
3x of the bare scipy search; pandana, precompute included, at least 20x slower than
lifecircle), in wall and CPU time.

Run::

    /work/venv/bin/python benchmarks/bench_nearest.py            # full run (1.5-5 min on 2 cores)
    /work/venv/bin/python benchmarks/bench_nearest.py --quick    # small tiled network

Results are printed and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.network import WalkNetwork

__all__ = [
    "METHODS",
    "Problem",
    "MethodRun",
    "shared_data_dir",
    "yuzhong_problem",
    "largest_component",
    "tile_network",
    "problem_from_network",
    "reference_seconds",
    "run_method",
    "compare",
    "benchmark_problem",
    "format_table",
    "main",
]

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SPEED_KMH = 4.5
THRESHOLD_MIN = 15.0

#: Methods in the order they are run and printed.
METHODS: tuple[str, ...] = (
    "lifecircle", "lifecircle_limit", "scipy", "networkx", "igraph", "pandana", "ego_graph",
)


def shared_data_dir() -> Path:
    """The shared real-data folder: ``$LIFECIRCLE_SHARED_DATA``, else ``../shared/data``."""
    env = os.environ.get("LIFECIRCLE_SHARED_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


# --------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """One benchmark input: a network, its costs and the facility nodes.

    ``rows``/``cols``/``weights`` are the arcs of the reversed graph (arc ``b -> a``
    costs walking ``a -> b``), parallel arcs reduced to their minimum. They are built
    here with pandas, independently of lifecircle's own ``reverse_graph``, and fed to
    every non-lifecircle method.
    """

    name: str
    description: str
    network: WalkNetwork | None
    costs: pd.DataFrame | None
    facility_nodes: np.ndarray
    rows: np.ndarray = field(repr=False)
    cols: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    xy: np.ndarray = field(repr=False)
    threshold_s: float = THRESHOLD_MIN * 60.0
    ego_facilities: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    def facilities(self) -> gpd.GeoDataFrame:
        """The facilities as points lying exactly on their nodes (network CRS)."""
        return gpd.GeoDataFrame(
            {"node": self.facility_nodes},
            geometry=self.network.nodes.geometry.to_numpy()[self.facility_nodes],
            crs=self.network.crs,
        )


def _reference_arcs(network: WalkNetwork, costs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reversed arcs with parallel arcs reduced to the minimum (pandas, not lifecircle)."""
    u = network.edges["u"].to_numpy(dtype=np.int64)
    v = network.edges["v"].to_numpy(dtype=np.int64)
    table = pd.DataFrame({
        "row": np.concatenate([v, u]),
        "col": np.concatenate([u, v]),
        "w": np.concatenate([costs["seconds_uv"].to_numpy(float), costs["seconds_vu"].to_numpy(float)]),
    })
    table = table[np.isfinite(table["w"].to_numpy())]
    arcs = table.groupby(["row", "col"], sort=True)["w"].min().reset_index()
    return arcs["row"].to_numpy(np.int64), arcs["col"].to_numpy(np.int64), arcs["w"].to_numpy(np.float64)


def problem_from_network(
    name: str,
    network: WalkNetwork,
    facility_nodes: np.ndarray,
    *,
    description: str = "",
    speed_kmh: float = SPEED_KMH,
    threshold_min: float = THRESHOLD_MIN,
    ego_max_facilities: int | None = None,
) -> Problem:
    """Wrap a network and facility nodes as a :class:`Problem` with flat costs."""
    costs = flat_costs(network, speed_kmh=speed_kmh)
    rows, cols, w = _reference_arcs(network, costs)
    fac = np.unique(np.asarray(facility_nodes, dtype=np.int64))
    ego = fac
    if ego_max_facilities is not None and len(fac) > ego_max_facilities:
        # Evenly spaced, deterministic subset.
        ego = fac[np.unique(np.linspace(0, len(fac) - 1, ego_max_facilities).round().astype(np.int64))]
    return Problem(
        name=name,
        description=description,
        network=network,
        costs=costs,
        facility_nodes=fac,
        rows=rows,
        cols=cols,
        weights=w,
        xy=shapely.get_coordinates(network.nodes.geometry.to_numpy()),
        threshold_s=threshold_min * 60.0,
        ego_facilities=ego,
    )


def largest_component(network: WalkNetwork) -> WalkNetwork:
    """The sub-network of component 0 (the largest), nodes renumbered in order."""
    keep = network.nodes["component"].to_numpy() == 0
    renumber = np.cumsum(keep) - 1
    u = network.edges["u"].to_numpy()
    edges = network.edges[keep[u]].reset_index(drop=True)
    edges["u"] = renumber[edges["u"].to_numpy()]
    edges["v"] = renumber[edges["v"].to_numpy()]
    nodes = network.nodes[keep].reset_index(drop=True)
    return WalkNetwork(nodes=nodes, edges=edges, crs=network.crs)


def _side_nodes(coord_along: np.ndarray, coord_across: np.ndarray, n_bands: int, *, take_max: bool) -> pd.Series:
    """Per band of ``coord_along``, the node with the largest (or smallest) ``coord_across``."""
    lo, hi = coord_along.min(), coord_along.max()
    band = np.minimum(((coord_along - lo) / max(hi - lo, 1e-9) * n_bands).astype(np.int64), n_bands - 1)
    frame = pd.DataFrame({"band": band, "c": coord_across})
    grouped = frame.groupby("band")["c"]
    return grouped.idxmax() if take_max else grouped.idxmin()


def tile_network(
    base: WalkNetwork,
    *,
    min_nodes: int,
    gap_m: float = 200.0,
    links_per_side: int = 12,
) -> tuple[WalkNetwork, int]:
    """Copy a network on a grid of tiles and stitch neighbouring tiles together.

    Tile ``k`` sits at column ``k % n_cols``, row ``k // n_cols`` of a near-square grid
    (the last row may be partial), offset by the base's extent plus ``gap_m``. Its node
    ``i`` becomes node ``k * base.n_nodes + i``, its edge ``j`` edge ``k * base.n_edges +
    j`` (geometry translated). Each pair of side-by-side tiles is joined by up to
    ``links_per_side`` straight footway edges: the side is cut into that many bands and
    the outermost node of each band on one tile is joined to the outermost node of the
    same band on the facing side of the neighbour. Everything is vectorised.

    Parameters
    ----------
    base : WalkNetwork
        Usually :func:`largest_component` of a real network (so the result is connected).
    min_nodes : int
        Number of nodes to reach at least.

    Returns
    -------
    (WalkNetwork, int)
        The tiled network (``nodes`` gain a ``tile`` column; stitch edges have
        ``osm_way_id == -1`` and ``highway == "footway"``) and the number of tiles.
    """
    n, m = base.n_nodes, base.n_edges
    n_tiles = max(1, math.ceil(min_nodes / n))
    n_cols = math.ceil(math.sqrt(n_tiles))
    tile = np.arange(n_tiles)
    col, row = tile % n_cols, tile // n_cols

    xy = shapely.get_coordinates(base.nodes.geometry.to_numpy())
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    offsets = np.column_stack([col * (x1 - x0 + gap_m), row * (y1 - y0 + gap_m)])
    all_xy = (xy[None, :, :] + offsets[:, None, :]).reshape(-1, 2)

    # Edges of every tile: same topology shifted by k*n, same geometry shifted by offset k.
    u = base.edges["u"].to_numpy(np.int64)
    v = base.edges["v"].to_numpy(np.int64)
    shift = (tile * n)[:, None]
    tu = (u[None, :] + shift).ravel()
    tv = (v[None, :] + shift).ravel()
    coords, idx = shapely.get_coordinates(base.edges.geometry.to_numpy(), return_index=True)
    line_coords = (coords[None, :, :] + offsets[:, None, :]).reshape(-1, 2)
    line_idx = (idx[None, :] + (tile * m)[:, None]).ravel()
    tiled_geoms = shapely.linestrings(line_coords, indices=line_idx)

    # Stitch edges between facing sides of neighbouring tiles.
    east = _side_nodes(xy[:, 1], xy[:, 0], links_per_side, take_max=True)
    west = _side_nodes(xy[:, 1], xy[:, 0], links_per_side, take_max=False)
    north = _side_nodes(xy[:, 0], xy[:, 1], links_per_side, take_max=True)
    south = _side_nodes(xy[:, 0], xy[:, 1], links_per_side, take_max=False)
    ew = pd.concat([east.rename("a"), west.rename("b")], axis=1, join="inner")
    ns = pd.concat([north.rename("a"), south.rename("b")], axis=1, join="inner")
    right = tile[(col < n_cols - 1) & (tile + 1 < n_tiles)]
    up = tile[tile + n_cols < n_tiles]
    su = np.concatenate([
        (ew["a"].to_numpy()[None, :] + (right * n)[:, None]).ravel(),
        (ns["a"].to_numpy()[None, :] + (up * n)[:, None]).ravel(),
    ])
    sv = np.concatenate([
        (ew["b"].to_numpy()[None, :] + ((right + 1) * n)[:, None]).ravel(),
        (ns["b"].to_numpy()[None, :] + ((up + n_cols) * n)[:, None]).ravel(),
    ])
    s_len = np.hypot(*(all_xy[sv] - all_xy[su]).T)
    s_geoms = shapely.linestrings(
        np.stack([all_xy[su], all_xy[sv]], axis=1).reshape(-1, 2), indices=np.repeat(np.arange(len(su)), 2)
    )

    tag_cols = [c for c in base.edges.columns if c not in ("u", "v", "osm_way_id", "length_m", "geometry")]
    tags = pd.DataFrame(base.edges[tag_cols]).iloc[np.tile(np.arange(m), n_tiles)].reset_index(drop=True)
    stitch_tags = pd.DataFrame({c: [None] * len(su) for c in tag_cols}, dtype=object)
    stitch_tags["highway"] = "footway"
    table = pd.DataFrame({
        "u": np.concatenate([tu, su]),
        "v": np.concatenate([tv, sv]),
        "osm_way_id": np.concatenate([np.tile(base.edges["osm_way_id"].to_numpy(np.int64), n_tiles),
                                      np.full(len(su), -1, np.int64)]),
        "length_m": np.concatenate([np.tile(base.edges["length_m"].to_numpy(float), n_tiles), s_len]),
    })
    table = pd.concat([table, pd.concat([tags, stitch_tags], ignore_index=True)], axis=1)
    edges = gpd.GeoDataFrame(table, geometry=np.concatenate([tiled_geoms, s_geoms]), crs=base.crs)

    n_total = n * n_tiles
    graph = sparse.csr_matrix((np.ones(len(table), np.int8), (table["u"].to_numpy(), table["v"].to_numpy())),
                              shape=(n_total, n_total))
    n_comp, labels = csgraph.connected_components(graph, directed=False)
    # Relabel so the largest component is 0, as WalkNetwork documents.
    sizes = np.bincount(labels)
    rank = np.empty(n_comp, np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(n_comp)
    nodes = gpd.GeoDataFrame(
        {"osm_id": np.tile(base.nodes["osm_id"].to_numpy(), n_tiles), "component": rank[labels],
         "tile": np.repeat(tile, n)},
        geometry=shapely.points(all_xy),
        crs=base.crs,
    )
    return WalkNetwork(nodes=nodes, edges=edges, crs=base.crs), n_tiles


def _yuzhong_facility_points(features: gpd.GeoDataFrame, crs) -> gpd.GeoSeries:
    """Hospital/school footprints, marketplaces and supermarkets, as representative points."""
    tags = features["tags"]
    building = tags.map(lambda t: t.get("building"))
    amenity = tags.map(lambda t: t.get("amenity"))
    shop = tags.map(lambda t: t.get("shop"))
    chosen = building.isin(["hospital", "school"]) | (amenity == "marketplace") | (shop == "supermarket")
    return features[chosen.to_numpy()].to_crs(crs).representative_point()


def _snap_to_component0(points: gpd.GeoSeries, network: WalkNetwork) -> np.ndarray:
    """Nearest component-0 node (position in ``network``) of each point, deduplicated."""
    comp0 = np.flatnonzero(network.nodes["component"].to_numpy() == 0)
    tree = shapely.STRtree(network.nodes.geometry.to_numpy()[comp0])
    nearest = tree.query_nearest(points.to_numpy(), all_matches=False)[1]
    return np.unique(comp0[nearest])


def yuzhong_problem(
    pbf: Path,
    *,
    min_nodes: int,
    ego_max_facilities: int = 200,
    threshold_min: float = THRESHOLD_MIN,
) -> tuple[Problem, Problem]:
    """Build problem (a), the Yuzhong network, and (b), its tiled copy."""
    from lifecircle.layers.osm import read_osm
    from lifecircle.spatial.network import build_walk_network

    info: dict = {}
    t0 = time.perf_counter()
    extract = read_osm(pbf, progress=False)
    t1 = time.perf_counter()
    network = build_walk_network(
        way_ids=extract.way_ids, way_offsets=extract.way_offsets, node_ids=extract.node_ids,
        node_lon=extract.node_lon, node_lat=extract.node_lat, way_tags=extract.way_tags,
    )
    t2 = time.perf_counter()
    info["read_osm_s"] = t1 - t0
    info["build_walk_network_s"] = t2 - t1
    points = _yuzhong_facility_points(extract.features, network.crs)
    info["facility_features"] = int(len(points))
    fac = _snap_to_component0(points, network)
    a = problem_from_network(
        "yuzhong", network, fac, threshold_min=threshold_min,
        description=(f"Yuzhong network ({network.n_nodes:,} nodes, {network.n_edges:,} edges, all components); "
                     f"{len(fac)} facility nodes from {len(points)} hospital/school footprints + markets"),
    )
    a.info.update(info)

    t3 = time.perf_counter()
    base = largest_component(network)
    base_fac = _snap_to_component0(points, base)
    tiled, n_tiles = tile_network(base, min_nodes=min_nodes)
    tiled_fac = (base_fac[None, :] + (np.arange(n_tiles) * base.n_nodes)[:, None]).ravel()
    t4 = time.perf_counter()
    n_comp = int(tiled.nodes["component"].max()) + 1
    b = problem_from_network(
        "tiled", tiled, tiled_fac, threshold_min=threshold_min, ego_max_facilities=ego_max_facilities,
        description=(f"Yuzhong largest component ({base.n_nodes:,} nodes) x {n_tiles} tiles, stitched: "
                     f"{tiled.n_nodes:,} nodes, {tiled.n_edges:,} edges, {n_comp} component(s); "
                     f"{len(tiled_fac):,} facility nodes"),
    )
    b.info.update({"tiles": n_tiles, "base_nodes": base.n_nodes, "tile_build_s": t4 - t3, "components": n_comp})
    return a, b


# --------------------------------------------------------------------------- methods


@dataclass
class MethodRun:
    """One method's output on one problem.

    ``values`` is seconds per node (``inf`` = no facility reached) or, for ``ego_graph``,
    a boolean coverage mask. Times are from the fastest repetition: ``prep_s`` (graph
    build, precompute, access points), ``search_s`` (the search itself) and ``total_s``
    (end to end; scaled to every facility for a subset ``ego_graph``), wall clock;
    ``*_cpu_s`` the same in CPU seconds of the process (all threads). ``phases`` holds
    the wall time of each named phase, ``phases_cpu`` its CPU time.
    """

    method: str
    values: np.ndarray
    prep_s: float
    search_s: float
    total_s: float
    phases: dict[str, float] = field(default_factory=dict)
    phases_cpu: dict[str, float] = field(default_factory=dict)
    prep_cpu_s: float = 0.0
    search_cpu_s: float = 0.0
    total_cpu_s: float = 0.0
    repeats: int = 1
    peak_mb: float | None = None
    note: str = ""


class _Laps:
    """Wall and CPU seconds of consecutive named phases. The phase named ``search`` is the
    search; every other phase counts as preparation."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._t, self._c = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        self.wall[name] = t - self._t
        self.cpu[name] = c - self._c
        self._t, self._c = t, c

    def split(self, which: dict[str, float]) -> tuple[float, float]:
        """(prep, search) seconds."""
        return sum(v for k, v in which.items() if k != "search"), which.get("search", 0.0)


def _csr(p: Problem) -> sparse.csr_matrix:
    return sparse.csr_matrix((p.weights, (p.rows, p.cols)), shape=(p.n_nodes, p.n_nodes))


def _lifecircle(p: Problem, *, limit: bool = False) -> tuple[np.ndarray, _Laps]:
    from lifecircle.spatial.travel import facility_access_points, nearest_facility, reverse_graph

    facilities = p.facilities()
    laps = _Laps()
    graph = reverse_graph(p.network, p.costs)
    laps.lap("reverse_graph")
    # Facilities sit on nodes here, as for the peers: join them there, whatever the level.
    access = facility_access_points(facilities, p.network, max_distance_m=1.0, respect_levels=False)
    laps.lap("facility_access_points")
    seconds, _ = nearest_facility(
        graph, access, n_facilities=len(facilities), leg_speed_kmh=SPEED_KMH,
        limit_seconds=p.threshold_s if limit else np.inf,
    )
    laps.lap("search")  # nearest_facility
    return seconds, laps


def _scipy(p: Problem) -> tuple[np.ndarray, _Laps]:
    laps = _Laps()
    matrix = _csr(p)
    laps.lap("csr_matrix")
    seconds = csgraph.dijkstra(matrix, directed=True, indices=p.facility_nodes, min_only=True)
    laps.lap("search")
    return seconds, laps


def _nx_graph(p: Problem):
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(range(p.n_nodes))
    graph.add_weighted_edges_from(zip(p.rows.tolist(), p.cols.tolist(), p.weights.tolist()), weight="seconds")
    return graph


def _networkx(p: Problem) -> tuple[np.ndarray, _Laps]:
    import networkx as nx

    laps = _Laps()
    graph = _nx_graph(p)
    laps.lap("digraph")
    found = nx.multi_source_dijkstra_path_length(graph, set(p.facility_nodes.tolist()), weight="seconds")
    seconds = np.full(p.n_nodes, np.inf)
    seconds[np.fromiter(found.keys(), np.int64, len(found))] = np.fromiter(found.values(), float, len(found))
    laps.lap("search")
    return seconds, laps


def _igraph(p: Problem) -> tuple[np.ndarray, _Laps]:
    import igraph

    laps = _Laps()
    # Node n is a virtual super-source with a zero-cost arc to every facility.
    src = p.facility_nodes
    edges = np.column_stack([np.concatenate([p.rows, np.full(len(src), p.n_nodes)]),
                             np.concatenate([p.cols, src])])
    weights = np.concatenate([p.weights, np.zeros(len(src))])
    graph = igraph.Graph(n=p.n_nodes + 1, edges=edges, directed=True)
    graph.es["w"] = weights
    laps.lap("graph")
    seconds = np.asarray(graph.distances(source=[p.n_nodes], weights="w", mode="out")[0][: p.n_nodes], float)
    laps.lap("search")
    return seconds, laps


def _pandana(p: Problem) -> tuple[np.ndarray, _Laps]:
    import pandana

    horizon = p.threshold_s
    laps = _Laps()
    net = pandana.Network(
        pd.Series(p.xy[:, 0]), pd.Series(p.xy[:, 1]), pd.Series(p.rows), pd.Series(p.cols),
        pd.DataFrame({"seconds": p.weights}), twoway=False,
    )
    laps.lap("network_ch")
    net.precompute(horizon)
    laps.lap("precompute")
    src = p.facility_nodes
    net.set_pois("facility", horizon, 1, pd.Series(p.xy[src, 0]), pd.Series(p.xy[src, 1]))
    found = net.nearest_pois(horizon, "facility", num_pois=1, max_distance=np.inf)
    seconds = found[1].to_numpy(dtype=float)
    laps.lap("search")  # set_pois + nearest_pois
    return seconds, laps


def _ego_graph(p: Problem) -> tuple[np.ndarray, _Laps]:
    import networkx as nx

    laps = _Laps()
    graph = _nx_graph(p)
    laps.lap("digraph")
    covered = np.zeros(p.n_nodes, dtype=bool)
    for facility in p.ego_facilities.tolist():
        reached = nx.ego_graph(graph, facility, radius=p.threshold_s, distance="seconds")
        covered[np.fromiter(reached.nodes, np.int64, reached.number_of_nodes())] = True
    laps.lap("search")
    return covered, laps


_IMPLS: dict[str, Callable[[Problem], tuple[np.ndarray, _Laps]]] = {
    "lifecircle": _lifecircle,
    "lifecircle_limit": lambda p: _lifecircle(p, limit=True),
    "scipy": _scipy,
    "networkx": _networkx,
    "igraph": _igraph,
    "pandana": _pandana,
    "ego_graph": _ego_graph,
}


def _rss_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def run_method(p: Problem, method: str, *, repeat_below_s: float = 2.0, max_repeats: int = 3,
               measure_memory: bool = False) -> MethodRun:
    """Run one method on a problem; repeat (best of ``max_repeats``) when it is quick."""
    impl = _IMPLS[method]
    gc.collect()
    base_kib = _rss_kib("VmRSS") if measure_memory else None
    reset = _reset_peak_rss() if measure_memory else False
    best: tuple[np.ndarray, _Laps] | None = None
    runs = 0
    while runs < max_repeats:
        values, laps = impl(p)
        runs += 1
        total = sum(laps.wall.values())
        if best is None or total < sum(best[1].wall.values()):
            best = (values, laps)
        if total >= repeat_below_s:
            break
    values, laps = best
    peak_mb = None
    if measure_memory and base_kib is not None:
        peak_kib = _rss_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = max(0.0, (peak_kib - base_kib) / 1024.0) if peak_kib is not None else None
    prep, search = laps.split(laps.wall)
    prep_cpu, search_cpu = laps.split(laps.cpu)
    scale, note = 1.0, ""
    if method == "ego_graph" and len(p.ego_facilities) < len(p.facility_nodes):
        n_all, n_sub = len(p.facility_nodes), len(p.ego_facilities)
        scale = n_all / n_sub
        note = f"search on {n_sub} of {n_all} facilities, time scaled x{scale:.1f}"
    if method in ("pandana", "lifecircle_limit"):
        note = f"horizon {p.threshold_s / 60:.0f} min"
    return MethodRun(
        method, values, prep, search, prep + search * scale,
        phases={k: float(v) for k, v in laps.wall.items()}, phases_cpu={k: float(v) for k, v in laps.cpu.items()},
        prep_cpu_s=prep_cpu, search_cpu_s=search_cpu, total_cpu_s=prep_cpu + search_cpu * scale,
        repeats=runs, peak_mb=peak_mb, note=note,
    )


# --------------------------------------------------------------------------- checks


def reference_seconds(p: Problem, *, sources: np.ndarray | None = None, limit: float = np.inf) -> np.ndarray:
    """Plain multi-source Dijkstra (scipy) on the reference arcs: the truth to compare with."""
    src = p.facility_nodes if sources is None else sources
    return csgraph.dijkstra(_csr(p), directed=True, indices=src, min_only=True, limit=limit)


def compare(p: Problem, run: MethodRun, reference: np.ndarray, *, tol_s: float = 1e-6) -> dict:
    """How a method's output differs from the reference.

    Seconds: ``max_abs_diff_min`` over nodes finite in both and ``inf_mismatch`` (nodes
    reached by one and not the other). Methods with a horizon (pandana,
    lifecircle_limit) are compared with the reference cut at the horizon; nodes within
    ``tol_s`` of the horizon are not counted as mismatches. ``ego_graph``: the covered
    set against the reference's nodes within the threshold (from the same facilities).
    """
    if run.method == "ego_graph":
        ref_sub = reference_seconds(p, sources=p.ego_facilities, limit=p.threshold_s * 1.001)
        expected = ref_sub <= p.threshold_s
        differ = expected != run.values
        near_edge = np.abs(ref_sub - p.threshold_s) <= tol_s
        bad = int((differ & ~near_edge).sum())
        return {"covered": int(run.values.sum()), "expected_covered": int(expected.sum()),
                "set_difference": int(differ.sum()), "set_difference_off_boundary": bad, "agree": bad == 0}
    ref = reference
    near_edge = np.zeros(len(ref), dtype=bool)
    if run.method in ("pandana", "lifecircle_limit"):
        near_edge = np.abs(ref - p.threshold_s) <= max(tol_s, 0.05)
        ref = np.where(ref <= p.threshold_s, ref, np.inf)
    got = run.values
    both = np.isfinite(ref) & np.isfinite(got)
    diff = float(np.abs(ref[both] - got[both]).max() / 60.0) if both.any() else 0.0
    mismatch = int(((np.isfinite(ref) != np.isfinite(got)) & ~near_edge).sum())
    # pandana works in single precision internally: allow 0.01 min (0.6 s).
    tol_min = 0.01 if run.method == "pandana" else 1e-6
    return {"max_abs_diff_min": diff, "inf_mismatch": mismatch, "nodes_compared": int(both.sum()),
            "agree": diff <= tol_min and mismatch == 0}


# --------------------------------------------------------------------------- orchestration


def _worker(problem_path: Path, method: str, out_prefix: Path, repeat_below_s: float) -> None:
    with open(problem_path, "rb") as fh:
        p = pickle.load(fh)
    run = run_method(p, method, repeat_below_s=repeat_below_s, measure_memory=True)
    np.save(str(out_prefix) + ".npy", run.values)
    meta = {k: getattr(run, k) for k in ("method", "prep_s", "search_s", "total_s", "phases", "phases_cpu",
                                           "prep_cpu_s", "search_cpu_s", "total_cpu_s", "repeats", "peak_mb",
                                           "note")}
    Path(str(out_prefix) + ".json").write_text(json.dumps(meta))


def _run_in_subprocess(problem_path: Path, method: str, workdir: Path, repeat_below_s: float,
                       timeout_s: float) -> MethodRun | str:
    prefix = workdir / f"{problem_path.stem}_{method}"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, "--problem", str(problem_path),
           "--out-prefix", str(prefix), "--repeat-below", str(repeat_below_s)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return f"failed (exit {done.returncode}): {' | '.join(tail)}"
    meta = json.loads(Path(str(prefix) + ".json").read_text())
    return MethodRun(values=np.load(str(prefix) + ".npy"), **meta)


def benchmark_problem(
    p: Problem,
    methods: Sequence[str] = METHODS,
    *,
    in_process: bool = False,
    workdir: Path | None = None,
    repeat_below_s: float = 2.0,
    timeout_s: float = 600.0,
    log: Callable[[str], None] = print,
) -> dict:
    """Run methods on one problem, check agreement with a plain Dijkstra, return a record.

    With ``in_process=False`` each method runs in a fresh subprocess (clean timing and a
    peak-memory figure); ``in_process=True`` is for tests (no memory figure).
    """
    reference = reference_seconds(p)
    record: dict = {"problem": p.name, "description": p.description, "nodes": p.n_nodes,
                    "edges": p.network.n_edges if p.network is not None else None, "arcs": int(len(p.rows)),
                    "facilities": int(len(p.facility_nodes)),
                    "ego_facilities": int(len(p.ego_facilities)), "threshold_min": p.threshold_s / 60,
                    "reference_reached_nodes": int(np.isfinite(reference).sum()),
                    "reference_max_min": float(reference[np.isfinite(reference)].max() / 60),
                    "setup": p.info, "methods": {}}
    paths: dict[bool, Path] = {}
    if not in_process:
        if workdir is None:
            raise ValueError("benchmark_problem needs a workdir unless in_process=True")
        # Only lifecircle needs the GeoDataFrames; the other tools get the arrays alone
        # (much quicker to load in each subprocess).
        paths[True] = workdir / f"{p.name}_full.pkl"
        paths[False] = workdir / f"{p.name}_arrays.pkl"
        with open(paths[True], "wb") as fh:
            pickle.dump(p, fh, protocol=pickle.HIGHEST_PROTOCOL)
        with open(paths[False], "wb") as fh:
            pickle.dump(replace(p, network=None, costs=None), fh, protocol=pickle.HIGHEST_PROTOCOL)
    for method in methods:
        log(f"  {p.name}: {method} ...")
        if in_process:
            try:
                run: MethodRun | str = run_method(p, method, repeat_below_s=repeat_below_s)
            except Exception as exc:
                run = f"failed: {type(exc).__name__}: {exc}"
        else:
            run = _run_in_subprocess(paths[method.startswith("lifecircle")], method, workdir, repeat_below_s,
                                     timeout_s)
        if isinstance(run, str):
            record["methods"][method] = {"error": run}
            log(f"    {run}")
            continue
        entry = {"prep_s": run.prep_s, "search_s": run.search_s, "total_s": run.total_s,
                 "prep_cpu_s": run.prep_cpu_s, "search_cpu_s": run.search_cpu_s, "total_cpu_s": run.total_cpu_s,
                 "phases": run.phases, "phases_cpu": run.phases_cpu, "repeats": run.repeats,
                 "peak_mb": run.peak_mb, "note": run.note, "check": compare(p, run, reference)}
        record["methods"][method] = entry
        record.setdefault("_values", {})[method] = run.values
    floor = record["methods"].get("scipy", {}).get("search_s")
    floor_cpu = record["methods"].get("scipy", {}).get("search_cpu_s")
    lc = record["methods"].get("lifecircle", {}).get("total_s")
    lc_cpu = record["methods"].get("lifecircle", {}).get("total_cpu_s")
    for entry in record["methods"].values():
        if "total_s" in entry:
            entry["x_scipy_search"] = entry["total_s"] / floor if floor else None
            entry["x_lifecircle"] = entry["total_s"] / lc if lc else None
            entry["x_scipy_search_cpu"] = entry["total_cpu_s"] / floor_cpu if floor_cpu else None
            entry["x_lifecircle_cpu"] = entry["total_cpu_s"] / lc_cpu if lc_cpu else None
    # Cross-check: every seconds-method against lifecircle directly (not only the reference).
    values = record.pop("_values", {})
    if "lifecircle" in values:
        for method, vals in values.items():
            if method in ("lifecircle", "ego_graph", "pandana", "lifecircle_limit"):
                continue
            a, b = values["lifecircle"], vals
            both = np.isfinite(a) & np.isfinite(b)
            record["methods"][method]["check"]["max_abs_diff_vs_lifecircle_min"] = (
                float(np.abs(a[both] - b[both]).max() / 60) if both.any() else 0.0)
    return record


def format_table(record: dict) -> str:
    """The printed table for one problem."""
    lines = [f"({record['problem']}) {record['description']}",
             f"  threshold {record['threshold_min']:.0f} min; reference: {record['reference_reached_nodes']:,} "
             f"nodes reach a facility, farthest {record['reference_max_min']:.1f} min",
             f"  {'method':<17}{'prep s':>9}{'search s':>10}{'total s':>10}{'cpu s':>8}{'x scipy':>9}"
             f"{'x lifecirc':>11}{'peak MB':>9}  agreement"]
    for method, e in record["methods"].items():
        if "error" in e:
            lines.append(f"  {method:<17}{e['error']}")
            continue
        c = e["check"]
        if method == "ego_graph":
            agree = (f"covered {c['covered']:,} vs {c['expected_covered']:,}; set diff {c['set_difference']} "
                     f"({c['set_difference_off_boundary']} off boundary)")
        else:
            agree = f"max|d| {c['max_abs_diff_min']:.2g} min, inf mismatch {c['inf_mismatch']}"
        agree = ("OK   " if c["agree"] else "DIFF ") + agree
        peak = f"{e['peak_mb']:.0f}" if e.get("peak_mb") is not None else "-"
        xs = f"{e['x_scipy_search']:.1f}" if e.get("x_scipy_search") else "-"
        xl = f"{e['x_lifecircle']:.2f}" if e.get("x_lifecircle") else "-"
        cpu = f"{e['total_cpu_s']:.2f}"
        lines.append(f"  {method:<17}{e['prep_s']:>9.3f}{e['search_s']:>10.3f}{e['total_s']:>10.3f}{cpu:>8}"
                     f"{xs:>9}{xl:>11}"
                     f"{peak:>9}  {agree}" + (f"  [{e['note']}]" if e["note"] else ""))
    m = record["methods"]
    ok = {k: v for k, v in m.items() if "total_s" in v}
    if "lifecircle" in ok:
        lc = ok["lifecircle"]
        ph, pc = lc["phases"], lc["phases_cpu"]
        lines.append("  lifecircle phases (wall / cpu s): " + ", ".join(
            f"{'nearest_facility' if k == 'search' else k} {ph[k]:.3f} / {pc[k]:.3f}" for k in ph))
        if "scipy" in ok:
            sc = ok["scipy"]
            r, rc = lc["total_s"] / sc["search_s"], lc["total_cpu_s"] / max(sc["search_cpu_s"], 1e-9)
            r2, r2c = lc["search_s"] / sc["search_s"], lc["search_cpu_s"] / max(sc["search_cpu_s"], 1e-9)
            lines.append(f"  target lifecircle <= 3x bare scipy search: total {r:.2f}x wall, {rc:.2f}x cpu "
                         f"({'met' if max(r, rc) <= 3 else 'NOT met' if min(r, rc) > 3 else 'borderline'}); "
                         f"nearest_facility alone {r2:.2f}x wall, {r2c:.2f}x cpu")
        if "pandana" in ok:
            pa = ok["pandana"]
            r, rc = pa["total_s"] / lc["total_s"], pa["total_cpu_s"] / lc["total_cpu_s"]
            extra = ""
            if "lifecircle_limit" in ok:
                ll = ok["lifecircle_limit"]
                extra = (f"; vs lifecircle with the same {record['threshold_min']:.0f}-min horizon "
                         f"{pa['total_s'] / ll['total_s']:.1f}x wall, {pa['total_cpu_s'] / ll['total_cpu_s']:.1f}x cpu")
            lines.append(f"  target pandana (incl. precompute) >= 20x slower than lifecircle: {r:.1f}x wall, "
                         f"{rc:.1f}x cpu ({'met' if min(r, rc) >= 20 else 'NOT met'}){extra}")
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "machine": platform.machine(), "cpus": str(os.cpu_count())}
    for name in ("numpy", "scipy", "pandas", "shapely", "geopandas", "networkx", "igraph", "pandana", "osmium"):
        try:
            out[name] = __import__(name).__version__
        except Exception:
            out[name] = "not installed"
    return out


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pbf", type=Path, default=None, help="OSM extract (default: the shared Yuzhong .osm.pbf)")
    parser.add_argument("--min-nodes", type=int, default=250_000, help="nodes of the tiled network (default 250000)")
    parser.add_argument("--quick", action="store_true", help="tiled network of 20,000 nodes")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--problems", default="yuzhong,tiled")
    parser.add_argument("--ego-max-facilities", type=int, default=200)
    parser.add_argument("--repeat-below", type=float, default=2.0,
                        help="repeat a method (best of 3) when one run takes less than this many seconds")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-method time limit, seconds")
    parser.add_argument("--in-process", action="store_true", help="no subprocesses (no memory figures)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--problem", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out-prefix", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        _worker(args.problem, args.worker, args.out_prefix, args.repeat_below)
        return 0

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown method(s) {unknown}; expected some of {list(METHODS)}")
    pbf = args.pbf or shared_data_dir() / "yuzhong" / "yuzhong.osm.pbf"
    if not pbf.exists():
        parser.error(f"OSM extract {pbf} not found: pass --pbf or set LIFECIRCLE_SHARED_DATA")
    min_nodes = 20_000 if args.quick else args.min_nodes

    started = time.perf_counter()
    load0 = _loadavg()
    print(f"Preparing problems from {pbf} ...", flush=True)
    a, b = yuzhong_problem(pbf, min_nodes=min_nodes, ego_max_facilities=args.ego_max_facilities)
    print(f"  read_osm {a.info['read_osm_s']:.2f} s, build_walk_network {a.info['build_walk_network_s']:.2f} s, "
          f"tiling {b.info['tile_build_s']:.2f} s", flush=True)
    problems = [p for p in (a, b) if p.name in args.problems.split(",")]
    records = []
    with tempfile.TemporaryDirectory(prefix="bench_nearest_") as tmp:
        for p in problems:
            print(f"Running on {p.name}: {p.description}", flush=True)
            records.append(benchmark_problem(
                p, methods, in_process=args.in_process, workdir=Path(tmp),
                repeat_below_s=args.repeat_below, timeout_s=args.timeout,
                log=lambda s: print(s, flush=True)))
    print()
    for record in records:
        print(format_table(record))
        print()
    elapsed = time.perf_counter() - started
    print(f"Whole benchmark: {elapsed:.0f} s; load average at start {load0}, at end {_loadavg()}")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"bench_nearest_{stamp}.json"
    out.write_text(json.dumps({"created_utc": stamp, "command": sys.argv, "versions": _versions(),
                               "speed_kmh": SPEED_KMH, "elapsed_s": elapsed, "loadavg_start": load0,
                               "loadavg_end": _loadavg(), "problems": records},
                              indent=2, default=float))
    print(f"Wrote {out}")
    all_agree = all(e.get("check", {}).get("agree", False) for r in records for e in r["methods"].values()
                    if "error" not in e)
    return 0 if all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
