"""Other walkers and other plans: population groups, the cost of the terrain, and what a plan changes.

The run's own search (:mod:`lifecircle.spatial.access`) answers for one walker. The first
functions repeat the threshold test with other walking costs on the same network, the
same facility access points and the same origins (cells located on the network once,
:func:`lifecircle.spatial.travel.locate_on_network`).

Plans (城市更新 scenarios): :func:`edit_network` closes ways and gates and adds links (a
stairway, a lift, a footbridge, a passage) to a network and its cost table, timing only
the new edges; :func:`plan_facilities` adds and removes facilities and says where they join
the network; :func:`add_people` spreads new housing's people over the cells;
:func:`cell_changes` and :func:`community_changes` say what changed, cell by cell and per
community. Composition (what to recompute) is :mod:`lifecircle.scenario`'s.

A new link's ends join the network at the nearest node within :data:`NODE_SNAP_M`, else at
the nearest point of the nearest walkable edge within :data:`LINK_JOIN_M` (that edge is
split there); farther is an error. A lift takes :data:`lifecircle.spatial.terrain.LIFT_WAIT_S`
plus its height at :data:`~lifecircle.spatial.terrain.LIFT_SPEED_MS` either way (the ride of
the existing lift model); a stairway with a height is timed by the stairs model with
``height / step_riser_m`` steps, half up and half down each way unless drawn bottom to top
(it is then timed climbing from its first point); other links are timed by the walker's
terrain model on their tags (no DEM on new edges).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import PlanFileError
from lifecircle.schema import (
    CHANGE_COMMUNITY_COLUMNS,
    CHANGE_TOTAL_ROW,
    GAINED,
    LOST,
    change_columns,
    newly_within_column,
    share_column,
)
from lifecircle.spatial.network import WalkNetwork, _component_labels, _split_edges_at, close_gates, is_lift_link
from lifecircle.spatial.terrain import LIFT_SPEED_MS, LIFT_WAIT_S, flat_costs_with_lifts, terrain_costs
from lifecircle.spatial.travel import (
    EdgeLocation,
    nearest_facility,
    origin_seconds,
    reverse_graph,
)

if TYPE_CHECKING:  # the profile record type, for hints only
    from lifecircle.layers.profiles import WalkingProfile

__all__ = [
    "within_threshold",
    "group_coverage",
    "TERRAIN_SCENARIOS",
    "terrain_comparison",
    "lost_to_terrain",
    "LINK_JOIN_M",
    "NODE_SNAP_M",
    "CLOSE_LINE_TOLERANCE_M",
    "GATE_MATCH_M",
    "REMOVE_MATCH_M",
    "LINK_TAGS",
    "NetworkEdit",
    "edit_network",
    "remap_locations",
    "plan_facilities",
    "add_people",
    "cell_changes",
    "community_changes",
]


def within_threshold(network: WalkNetwork, costs: pd.DataFrame, facilities: gpd.GeoDataFrame,
                     access: Mapping[str, pd.DataFrame], origins: EdgeLocation, *, categories: Sequence[str],
                     minutes: float, leg_speed_kmh: float) -> np.ndarray:
    """Boolean ``(origins, categories)``: origin within ``minutes`` of the category under ``costs``.

    Parameters
    ----------
    network : WalkNetwork
        The walking network, in its metric CRS.
    costs : pandas.DataFrame
        Seconds per edge and direction (:func:`lifecircle.spatial.costs.flat_costs`,
        :func:`lifecircle.spatial.terrain.terrain_costs`).
    facilities : geopandas.GeoDataFrame
        All facilities (their count sizes the search).
    access : mapping of str to pandas.DataFrame
        Per category, where its facilities join the network
        (:func:`lifecircle.spatial.travel.facility_access_points`).
    origins : EdgeLocation
        The origins on the network; origins without network access are never within.
    categories : sequence of str
        The categories, in output order.
    minutes : float
        The walking-time threshold, minutes.
    leg_speed_kmh : float
        Speed on the off-network legs.

    Returns
    -------
    numpy.ndarray
        Boolean, one row per origin, one column per category.
    """
    graph = reverse_graph(network, costs)
    hit = np.zeros((len(origins.edge), len(categories)), dtype=bool)
    for j, cat in enumerate(categories):
        secs, _ = nearest_facility(graph, access[cat], n_facilities=len(facilities), leg_speed_kmh=leg_speed_kmh)
        cell_secs = origin_seconds(graph, secs, origins, access=access[cat], leg_speed_kmh=leg_speed_kmh)
        hit[:, j] = origins.matched & (cell_secs <= minutes * 60.0)
    return hit


def group_coverage(  # noqa: PLR0913 - the model's search pieces, then keyword-only options
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    access: Mapping[str, pd.DataFrame],
    origins: EdgeLocation,
    group_people: Mapping[str, np.ndarray],
    *,
    profiles: Mapping[str, WalkingProfile],
    categories: Sequence[str],
    minutes: float,
    elevation: pd.DataFrame | None,
) -> dict[str, dict[str, Any]]:
    """Coverage of population groups, each with the walking profile that matches it.

    Parameters
    ----------
    network, facilities, access, origins
        As in :func:`within_threshold`.
    group_people : mapping of str to numpy.ndarray
        People of each group per origin (cell).
    profiles : mapping of str to WalkingProfile
        The walker of each group (terrain model: stairs, ``incline`` tags, and slopes from
        ``elevation`` when given).
    categories : sequence of str
        The categories, in output order.
    minutes : float
        The walking-time threshold, minutes.
    elevation : pandas.DataFrame or None
        From :func:`lifecircle.spatial.terrain.edge_elevation_profile`.

    Returns
    -------
    dict
        ``{group: {"profile", "people", "categories": {category: {"people_served", "share_served"}}}}``
        (categories with no facility on the network are left out).
    """
    out: dict[str, dict[str, Any]] = {}
    for group, people in group_people.items():
        profile = profiles[group]
        costs, _ = terrain_costs(network, profile=profile, elevation=elevation)
        hit = within_threshold(network, costs, facilities, access, origins, categories=categories, minutes=minutes,
                               leg_speed_kmh=profile.flat_speed_kmh)
        reachable = np.nan_to_num(people) * origins.matched
        total = float(reachable.sum())
        out[group] = {
            "profile": profile.name,
            "people": float(np.nan_to_num(people).sum()),
            "categories": {
                cat: {"people_served": float(reachable[hit[:, j]].sum()),
                      "share_served": float(reachable[hit[:, j]].sum() / total) if total > 0 else None}
                for j, cat in enumerate(categories) if len(access[cat])
            },
        }
    return out


#: The scenarios of the terrain table: (label, profile, terrain counted).
TERRAIN_SCENARIOS: tuple[tuple[str, str, bool], ...] = (
    ("flat_adult", "adult", False),
    ("terrain_adult", "adult", True),
    ("terrain_elderly", "elderly", True),
    ("terrain_wheelchair", "wheelchair", True),
)


def terrain_comparison(  # noqa: PLR0913 - the model's search pieces, then keyword-only options
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    access: Mapping[str, pd.DataFrame],
    origins: EdgeLocation,
    population: np.ndarray,
    *,
    profiles: Mapping[str, WalkingProfile],
    categories: Sequence[str],
    minutes: float,
    elevation: pd.DataFrame | None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """What the terrain costs: share of people within the threshold per category under a
    flat adult walk and terrain-aware adult, elderly and wheelchair walks.

    The flat walk times lifts as the terrain walks do (a wait plus their height at lift
    speed, :func:`lifecircle.spatial.terrain.flat_costs_with_lifts`), so the difference is
    the walking slopes and stairs alone.

    Parameters
    ----------
    network, facilities, access, origins
        As in :func:`within_threshold`.
    population : numpy.ndarray
        People per origin (NaN counts as 0); without anyone, every origin weighs 1.
    profiles : mapping of str to WalkingProfile
        At least the profiles named in :data:`TERRAIN_SCENARIOS`, by name.
    categories : sequence of str
        The categories, in output order.
    minutes : float
        The walking-time threshold, minutes.
    elevation : pandas.DataFrame or None
        Without it only stairs and ``incline`` tags count.

    Returns
    -------
    table : pandas.DataFrame
        One row per category; columns ``share_<scenario>`` and ``people_<scenario>`` for the
        scenarios of :data:`TERRAIN_SCENARIOS`.
    within : dict of str to numpy.ndarray
        Per scenario, a boolean ``(origins, categories)`` array: origin within the threshold.
    """
    pop = np.nan_to_num(np.asarray(population, dtype=float))
    weights = pop if pop.sum() > 0 else np.ones(len(pop))
    on_net = origins.matched
    rows: dict[str, dict[str, Any]] = {cat: {"category": cat} for cat in categories}
    within: dict[str, np.ndarray] = {}
    for label, name, terrain in TERRAIN_SCENARIOS:
        profile = profiles[name]
        if terrain:
            costs, _ = terrain_costs(network, profile=profile, elevation=elevation)
        else:
            costs = flat_costs_with_lifts(network, profile=profile, elevation=elevation)
        hit = within_threshold(network, costs, facilities, access, origins, categories=categories, minutes=minutes,
                               leg_speed_kmh=profile.flat_speed_kmh)
        for j, cat in enumerate(categories):
            rows[cat][f"people_{label}"] = float(pop[hit[:, j]].sum())
            rows[cat][share_column(label)] = float(weights[hit[:, j]].sum() / weights[on_net].sum()) if on_net.any() else np.nan
        within[label] = hit
    table = pd.DataFrame(list(rows.values()))
    # A category with no facility at all has no share to compare: no data, not 0 %.
    empty = [cat for cat in categories if len(access[cat]) == 0]
    table.loc[table["category"].isin(empty), [c for c in table.columns if c != "category"]] = np.nan
    return table, within


def lost_to_terrain(on_flat: np.ndarray, on_terrain: np.ndarray, *, categories: Sequence[str],
                    no_data: Sequence[str] = ()) -> list[str]:
    """Per origin, the categories reached on the flat but not on the terrain.

    Parameters
    ----------
    on_flat, on_terrain : numpy.ndarray
        Boolean ``(origins, categories)`` (:func:`within_threshold`).
    categories : sequence of str
        The categories, in output order.
    no_data : sequence of str
        Categories without facilities: never lost.

    Returns
    -------
    list of str
        Comma-separated category names per origin (``""``: nothing lost).

    Examples
    --------
    >>> import numpy as np
    >>> lost_to_terrain(np.array([[True, True]]), np.array([[False, True]]), categories=["clinic", "park"])
    ['clinic']
    """
    lost = on_flat & ~on_terrain
    lost[:, [list(categories).index(c) for c in no_data]] = False
    return [",".join(c for c, x in zip(categories, row) if x) for row in lost]


# --------------------------------------------------------------------------- plans

#: A new link's end joins the network within this distance (metres), else the plan is refused.
#: ASSUMPTION: 30 m, a planner's sketch on a basemap; a longer gap is a missing link of its own.
LINK_JOIN_M: float = 30.0
#: ... at an existing node this close (metres) rather than by splitting the nearest edge.
NODE_SNAP_M: float = 5.0
#: A way is closed by a line when its edge's midpoint lies this close to the line (metres).
CLOSE_LINE_TOLERANCE_M: float = 10.0
#: A facility is removed by a point when it lies within this distance of it (metres).
REMOVE_MATCH_M: float = 50.0
#: A gate is closed by a point when a network node lies this close to it (metres).
GATE_MATCH_M: float = 10.0
#: The OSM tags a new link gets, per kind (a lift is also ``covered`` so no home joins it).
LINK_TAGS: dict[str, dict[str, str]] = {
    "stairway": {"highway": "steps"},
    "lift": {"highway": "elevator", "covered": "yes"},
    "footbridge": {"highway": "footway", "bridge": "yes", "layer": "1"},
    "passage": {"highway": "footway"},
    "footway": {"highway": "footway"},
}
#: OSM ids given to what a plan adds (negative, far from OSM's and the lift model's own).
_PLAN_WAY_ID = -7_000_000_000_000
_PLAN_NODE_ID = -8_000_000_000_000


@dataclass(frozen=True)
class NetworkEdit:
    """A network after a plan's closures and links, with its costs.

    Attributes
    ----------
    network : WalkNetwork
    costs : pandas.DataFrame
        ``seconds_uv``/``seconds_vu`` per edge: the base's for edges kept (split edges share
        theirs by length), the new links' timed alone.
    changed : bool
        Whether anything changed (without closures or links the inputs come back).
    links : geopandas.GeoDataFrame
        The new link edges (``feature``, ``kind``, ``name``, ``length_m``, ``seconds_uv``,
        ``seconds_vu``, geometry in the network's CRS).
    closed : geopandas.GeoDataFrame
        The edges closed (``feature``, ``osm_way_id``, geometry).
    report : dict
        Counts: ``ways_closed``, ``edges_closed``, ``gates_closed``, ``links_added``,
        ``edges_split``.
    edge_base : numpy.ndarray
        Per edge, its row in the input network (``-1``: a new link).
    edge_span : numpy.ndarray
        Per edge, ``(start, end)`` fractions of that input edge it covers (``(0, 1)`` unless split).
    """

    network: WalkNetwork
    costs: pd.DataFrame
    changed: bool
    links: gpd.GeoDataFrame
    closed: gpd.GeoDataFrame
    report: dict[str, int]
    edge_base: np.ndarray
    edge_span: np.ndarray


def _where(row: Mapping[str, Any]) -> str:
    layer = row.get("layer") or ""
    return f"feature {int(row['feature'])}" + (f" of layer {layer!r}" if layer else "")


def _close_ways(network: WalkNetwork, costs: pd.DataFrame, closures: gpd.GeoDataFrame, *,
                label: str) -> tuple[WalkNetwork, pd.DataFrame, gpd.GeoDataFrame, int, np.ndarray]:
    edges = network.edges
    way = edges["osm_way_id"].to_numpy()
    mids = shapely.line_interpolate_point(edges.geometry.to_numpy(), 0.5, normalized=True)
    close = np.zeros(len(edges), dtype=bool)
    which = np.zeros(len(edges), dtype=np.int64)
    ways = 0
    for row in closures.to_dict("records"):
        if row.get("osm_id") is not None and row["osm_id"] is not pd.NA:
            hit = way == int(row["osm_id"])
            what = f"OSM way {int(row['osm_id'])}"
        else:
            line = row["geometry"]
            near = edges.sindex.query(line, predicate="dwithin", distance=CLOSE_LINE_TOLERANCE_M)
            hit = np.zeros(len(edges), dtype=bool)
            hit[near[shapely.distance(mids[near], line) <= CLOSE_LINE_TOLERANCE_M]] = True
            what = f"a walkable way whose middle lies within {CLOSE_LINE_TOLERANCE_M:g} m of the line"
        if not hit.any():
            raise PlanFileError(f"{label}: {_where(row)} (close_way): expected {what} on the network; found none.")
        ways += len(np.unique(way[hit]))
        which[hit & ~close] = int(row["feature"])
        close |= hit
    closed = gpd.GeoDataFrame({"feature": which[close], "osm_way_id": way[close]},
                              geometry=edges.geometry.to_numpy()[close], crs=network.crs)
    keep = ~close
    kept = edges[keep].reset_index(drop=True)
    nodes = network.nodes.copy()
    nodes["component"] = _component_labels(len(nodes), kept["u"].to_numpy(), kept["v"].to_numpy())
    out = WalkNetwork(nodes=nodes, edges=gpd.GeoDataFrame(kept, geometry="geometry", crs=network.crs),
                      crs=network.crs)
    return out, costs[keep].reset_index(drop=True), closed, ways, keep


def _gate_ids(network: WalkNetwork, gates: gpd.GeoDataFrame, *, label: str) -> np.ndarray:
    node_osm = network.nodes["osm_id"].to_numpy()
    ids = []
    for row in gates.to_dict("records"):
        if row.get("osm_id") is not None and row["osm_id"] is not pd.NA:
            if not (node_osm == int(row["osm_id"])).any():
                raise PlanFileError(f"{label}: {_where(row)} (close_gate): expected OSM node {int(row['osm_id'])} "
                                    "on the walking network; found no such node.")
            ids.append(int(row["osm_id"]))
            continue
        pos, dist = network.nodes.sindex.nearest(row["geometry"], return_distance=True, return_all=False)
        if len(dist) == 0 or dist[0] > GATE_MATCH_M:
            found = "no node" if len(dist) == 0 else f"the nearest {dist[0]:.0f} m away"
            raise PlanFileError(f"{label}: {_where(row)} (close_gate): expected a network node within "
                                f"{GATE_MATCH_M:g} m of the point; found {found}.")
        ids.append(int(node_osm[pos[1][0]]))
    return np.asarray(ids, dtype=np.int64)


def _join(network: WalkNetwork, costs: pd.DataFrame, point: shapely.Point, *, label: str, where: str,
          end: str, new_id: int) -> tuple[WalkNetwork, pd.DataFrame, int, int, float]:
    """The node a link's end joins (an existing node, or a new one splitting the nearest edge)."""
    pos, dist = network.nodes.sindex.nearest(point, return_distance=True, return_all=False)
    if len(dist) and dist[0] <= NODE_SNAP_M:
        return network, costs, int(pos[1][0]), -1, 0.0
    edges = network.edges
    ordinary = ~is_lift_link(edges)
    near = edges.sindex.query(point, predicate="dwithin", distance=LINK_JOIN_M)
    near = near[ordinary[near]]
    if len(near) == 0:
        raise PlanFileError(f"{label}: {where} (add_link): its {end} must lie within {LINK_JOIN_M:g} m of a "
                            f"walkable way to join the network; found none within {LINK_JOIN_M:g} m.")
    d = shapely.distance(edges.geometry.to_numpy()[near], point)
    e = int(near[np.lexsort((near, d))[0]])
    frac = float(shapely.line_locate_point(edges.geometry.iat[e], point, normalized=True))
    if frac <= 1e-6 or frac >= 1 - 1e-6:
        return network, costs, int(edges["u"].iat[e] if frac <= 1e-6 else edges["v"].iat[e]), -1, 0.0
    out, new_pos = _split_edges_at(network, np.array([e]), np.array([frac]), np.array([new_id], dtype=np.int64))
    s_uv, s_vu = costs["seconds_uv"].to_numpy(float), costs["seconds_vu"].to_numpy(float)
    # The two halves share the edge's seconds by length (exact on the flat and on uniform slopes).
    head = costs.copy()
    head.loc[e, "seconds_uv"] = s_uv[e] * frac
    head.loc[e, "seconds_vu"] = s_vu[e] * frac
    tail = pd.DataFrame({"seconds_uv": [s_uv[e] * (1 - frac)], "seconds_vu": [s_vu[e] * (1 - frac)]})
    return out, pd.concat([head, tail], ignore_index=True), int(new_pos[0]), e, frac


def _link_costs(rows: gpd.GeoDataFrame, crs: Any, profile: WalkingProfile, heights: np.ndarray,
                kinds: np.ndarray) -> pd.DataFrame:
    """Seconds on the new links alone: the terrain model on their tags; lifts by the lift model."""
    mini = WalkNetwork(nodes=gpd.GeoDataFrame({"osm_id": [0], "component": [0]}, geometry=[shapely.Point(0, 0)],
                                              crs=crs),
                       edges=rows, crs=crs)
    costs, _ = terrain_costs(mini, profile=profile, elevation=None)
    ride = LIFT_WAIT_S + heights / LIFT_SPEED_MS
    lift = kinds == "lift"
    seconds = np.where(lift, ride if profile.can_use_elevators else np.inf, np.nan)
    costs["seconds_uv"] = np.where(lift, seconds, costs["seconds_uv"].to_numpy(float))
    costs["seconds_vu"] = np.where(lift, seconds, costs["seconds_vu"].to_numpy(float))
    return costs.reset_index(drop=True)


def _add_links(network: WalkNetwork, costs: pd.DataFrame, links: gpd.GeoDataFrame, *, profile: WalkingProfile,
               label: str, base: np.ndarray, span: np.ndarray
               ) -> tuple[WalkNetwork, pd.DataFrame, gpd.GeoDataFrame, int, np.ndarray, np.ndarray]:
    split = 0
    base, span = base.copy(), span.copy()
    ends, lines = [], []
    for k, row in enumerate(links.to_dict("records")):
        where = _where(row)
        line = row["geometry"]
        coords = shapely.get_coordinates(line)
        nodes_at = []
        for j, (end, xy) in enumerate((("start", coords[0]), ("end", coords[-1]))):
            network, costs, node, cut, frac = _join(network, costs, shapely.Point(xy), label=label, where=where,
                                                    end=end, new_id=_PLAN_NODE_ID - 2 * k - j)
            if cut >= 0:  # the head keeps the row, the tail is appended: both still cover their input edge
                split += 1
                start, stop = span[cut]
                middle = start + frac * (stop - start)
                span[cut] = (start, middle)
                base = np.append(base, base[cut])
                span = np.vstack([span, [middle, stop]])
            nodes_at.append(node)
        if nodes_at[0] == nodes_at[1]:
            raise PlanFileError(f"{label}: {where} (add_link): both ends join the network at the same point; "
                                "expected a link between two different places.")
        ends.append(nodes_at)
        lines.append(coords)
    node_xy = shapely.get_coordinates(network.nodes.geometry.to_numpy())
    geoms = []
    for (a, b), coords in zip(ends, lines):
        pts = np.vstack([node_xy[a], coords, node_xy[b]])
        keep = np.r_[True, np.any(np.abs(np.diff(pts, axis=0)) > 1e-9, axis=1)]
        geoms.append(shapely.LineString(pts[keep]))
    edges = network.edges
    kinds = links["kind"].astype(str).to_numpy()
    heights = pd.to_numeric(links["height_m"], errors="coerce").to_numpy(float)
    rows = pd.DataFrame({c: pd.Series([None] * len(links), dtype=object) for c in edges.columns
                         if c not in ("u", "v", "osm_way_id", "length_m", "geometry", "lift_node")})
    for col in {t for tags in LINK_TAGS.values() for t in tags}:
        values = [LINK_TAGS[k].get(col) for k in kinds]
        if col in rows or any(v is not None for v in values):
            rows[col] = values
    rows["name"] = [None if n is None or (isinstance(n, float) and np.isnan(n)) else str(n) for n in links["name"]]
    stair_height = (kinds == "stairway") & np.isfinite(heights)
    if stair_height.any() or "step_count" in rows:
        # The stairs model counts steps of the walker's riser height: a planned height is that many steps.
        steps = np.where(stair_height, np.round(np.nan_to_num(heights) / profile.step_riser_m), np.nan)
        rows["step_count"] = [None if not np.isfinite(s) else str(max(int(s), 1)) for s in steps]
    rows["u"] = np.array([a for a, _ in ends], dtype=np.int64)
    rows["v"] = np.array([b for _, b in ends], dtype=np.int64)
    rows["osm_way_id"] = _PLAN_WAY_ID - links["feature"].to_numpy(dtype=np.int64)
    rows["length_m"] = shapely.length(np.asarray(geoms, dtype=object))
    if "lift_node" in edges:
        rows["lift_node"] = pd.array([pd.NA] * len(rows), dtype="Int64")
    rows = gpd.GeoDataFrame(rows[list(edges.columns.drop("geometry"))], geometry=geoms, crs=network.crs)
    link_costs = _link_costs(rows, network.crs, profile, heights, kinds)
    out_edges = gpd.GeoDataFrame(pd.concat([edges, rows], ignore_index=True), geometry="geometry", crs=network.crs)
    nodes = network.nodes.copy()
    nodes["component"] = _component_labels(len(nodes), out_edges["u"].to_numpy(), out_edges["v"].to_numpy())
    drawn = gpd.GeoDataFrame({"feature": links["feature"].to_numpy(), "kind": kinds, "name": rows["name"].to_numpy(),
                              "length_m": rows["length_m"].to_numpy(), "seconds_uv": link_costs["seconds_uv"].to_numpy(),
                              "seconds_vu": link_costs["seconds_vu"].to_numpy()}, geometry=geoms, crs=network.crs)
    base = np.append(base, np.full(len(rows), -1, dtype=np.int64))
    span = np.vstack([span, np.tile([0.0, 1.0], (len(rows), 1))])
    return (WalkNetwork(nodes=nodes, edges=out_edges, crs=network.crs),
            pd.concat([costs, link_costs[["seconds_uv", "seconds_vu"]]], ignore_index=True), drawn, split, base, span)


def edit_network(network: WalkNetwork, costs: pd.DataFrame, *, close_ways: gpd.GeoDataFrame | None = None,
                 close_gate: gpd.GeoDataFrame | None = None, links: gpd.GeoDataFrame | None = None,
                 profile: WalkingProfile, label: str = "plan") -> NetworkEdit:
    """A network with a plan's ways and gates closed and its links added (inputs unchanged).

    Closures come first (ways, then gates), links join what is left.

    Parameters
    ----------
    network : WalkNetwork
    costs : pandas.DataFrame
        The run's seconds per edge (kept for every edge the plan does not touch).
    close_ways, close_gate, links : geopandas.GeoDataFrame, optional
        Plan features in ``network.crs`` (:func:`lifecircle.layers.plans.read_plan`, one
        action each): ``feature`` and ``osm_id`` or geometry; links with ``kind``,
        ``height_m``, ``name`` and a line.
    profile : WalkingProfile
        The walker timing the new links.
    label : str
        Names the plan file in messages.

    Returns
    -------
    NetworkEdit

    Raises
    ------
    PlanFileError
        A closure finds nothing to close, or a link's end lies farther than
        :data:`LINK_JOIN_M` from any walkable way.
    """
    empty_links = gpd.GeoDataFrame({"feature": [], "kind": [], "name": [], "length_m": [], "seconds_uv": [],
                                    "seconds_vu": []}, geometry=[], crs=network.crs)
    closed = gpd.GeoDataFrame({"feature": [], "osm_way_id": []}, geometry=[], crs=network.crs)
    report = {"ways_closed": 0, "edges_closed": 0, "gates_closed": 0, "links_added": 0, "edges_split": 0}
    changed = False
    base = np.arange(network.n_edges, dtype=np.int64)
    span = np.tile([0.0, 1.0], (network.n_edges, 1))
    if close_ways is not None and len(close_ways):
        network, costs, closed, report["ways_closed"], keep = _close_ways(network, costs, close_ways, label=label)
        base, span = base[keep], span[keep]
        report["edges_closed"] = len(closed)
        changed = True
    if close_gate is not None and len(close_gate):
        ids = _gate_ids(network, close_gate, label=label)
        network, report["gates_closed"] = close_gates(network, ids)  # edge rows unchanged: costs stay aligned
        changed = True
    drawn = empty_links
    if links is not None and len(links):
        network, costs, drawn, report["edges_split"], base, span = _add_links(network, costs, links, profile=profile,
                                                                             label=label, base=base, span=span)
        report["links_added"] = len(drawn)
        changed = True
    return NetworkEdit(network=network, costs=costs, changed=changed, links=drawn, closed=closed, report=report,
                       edge_base=base, edge_span=span)


def remap_locations(edit: NetworkEdit, edge: np.ndarray, fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions on the input network carried onto the edited one.

    A position on an edge kept stays where it was (on the part of a split edge that holds
    it, the fraction rescaled), so the walks from it are the same as before; a position on
    a closed edge is lost.

    Parameters
    ----------
    edit : NetworkEdit
    edge, fraction : numpy.ndarray
        Edge rows of the input network (``-1``: none) and fractions along them.

    Returns
    -------
    edge, fraction : numpy.ndarray
        On the edited network; ``edge == -1`` where the input edge was closed (or was -1).

    Examples
    --------
    An edge split at its middle: a quarter of the way along is half-way along the head.

    >>> import numpy as np
    >>> e = NetworkEdit(None, None, True, None, None, {}, np.array([0, 0]), np.array([[0.0, 0.5], [0.5, 1.0]]))
    >>> remap_locations(e, np.array([0, 0]), np.array([0.25, 0.75]))
    (array([0, 1]), array([0.5, 0.5]))
    """
    edge = np.asarray(edge, dtype=np.int64)
    fraction = np.asarray(fraction, dtype=float)
    rows = np.flatnonzero(edit.edge_base >= 0)
    # One sorted key per edited edge: its input edge, then where it starts along it.
    key = edit.edge_base[rows] * 2.0 + edit.edge_span[rows, 0]
    order = np.argsort(key, kind="stable")
    rows, key = rows[order], key[order]
    at = np.searchsorted(key, edge * 2.0 + fraction, side="right") - 1
    cand = rows[np.clip(at, 0, max(len(rows) - 1, 0))] if len(rows) else np.zeros(len(edge), dtype=np.int64)
    ok = (edge >= 0) & (at >= 0) & (len(rows) > 0)
    ok &= edit.edge_base[cand] == edge if len(rows) else ok
    start, stop = edit.edge_span[cand, 0], edit.edge_span[cand, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        new_fraction = np.clip((fraction - start) / (stop - start), 0.0, 1.0)
    return np.where(ok, cand, -1), np.where(ok, new_fraction, 0.0)


def plan_facilities(facilities: gpd.GeoDataFrame, *, added: gpd.GeoDataFrame | None = None,
                    removed: gpd.GeoDataFrame | None = None, categories: Sequence[str],
                    label: str = "plan") -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The facilities after a plan: the run's (removed ones marked), then the plan's new ones.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        The run's (``category``, ``name``, ``osm_id``, geometry; metric CRS).
    added : geopandas.GeoDataFrame, optional
        ``add_facility`` features in the same CRS (``category``, ``name``, ``capacity``).
    removed : geopandas.GeoDataFrame, optional
        ``remove_facility`` features: the category's facility with that ``osm_id``, else
        the category's facility nearest the point within
        :data:`REMOVE_MATCH_M`.
    categories : sequence of str
        The run's categories: a plan's facility of another category is refused.
    label : str
        The plan file's name, named in error messages.

    Returns
    -------
    facilities : geopandas.GeoDataFrame
        The run's rows (same order and index positions) then the added ones; a ``plan``
        column: ``""``, ``"added"`` or ``"removed"``; ``capacity`` where given.
    removed_rows : numpy.ndarray
        Rows of the facilities removed.

    Raises
    ------
    PlanFileError
        A feature's category is not computed in this run, or a facility to remove is not
        found (by ``osm_id``, or within :data:`REMOVE_MATCH_M` of the point).
    """
    out = facilities.reset_index(drop=True).copy()
    out["plan"] = ""
    cats = list(categories)
    removed_rows: list[int] = []
    for frame, action in ((added, "add_facility"), (removed, "remove_facility")):
        for row in ([] if frame is None else frame.to_dict("records")):
            if row["category"] not in cats:
                raise PlanFileError(f"{label}: {_where(row)} ({action}): category {row['category']!r} is not "
                                    f"computed in this run; expected one of {', '.join(cats)} (or add it to "
                                    "--categories).")
    for row in ([] if removed is None else removed.to_dict("records")):
        of_cat = np.flatnonzero(out["category"].to_numpy() == row["category"])
        if row.get("osm_id") is not None and row["osm_id"] is not pd.NA:
            match = of_cat[out["osm_id"].to_numpy()[of_cat] == int(row["osm_id"])] if "osm_id" in out else of_cat[:0]
            if len(match) == 0:
                raise PlanFileError(f"{label}: {_where(row)} (remove_facility): expected a {row['category']} with "
                                    f"osm_id {int(row['osm_id'])}; found none.")
            removed_rows.extend(int(m) for m in match)
            continue
        d = shapely.distance(out.geometry.to_numpy()[of_cat], row["geometry"]) if len(of_cat) else np.zeros(0)
        if len(d) == 0 or d.min() > REMOVE_MATCH_M:
            found = "none" if len(d) == 0 else f"the nearest {d.min():.0f} m away"
            raise PlanFileError(f"{label}: {_where(row)} (remove_facility): expected a {row['category']} within "
                                f"{REMOVE_MATCH_M:g} m of the point; found {found}.")
        removed_rows.append(int(of_cat[np.lexsort((of_cat, d))[0]]))
    rows = np.unique(np.asarray(removed_rows, dtype=np.int64))
    out.loc[rows, "plan"] = "removed"
    if added is not None and len(added):
        new = gpd.GeoDataFrame({"category": added["category"].to_numpy(),
                                "name": [None if n is None or (isinstance(n, float) and np.isnan(n)) else str(n)
                                         for n in added["name"]],
                                "source": "plan", "plan": "added",
                                "capacity": pd.to_numeric(added["capacity"], errors="coerce").to_numpy(float)},
                               geometry=added.geometry.to_numpy(), crs=out.crs)
        out = gpd.GeoDataFrame(pd.concat([out, new], ignore_index=True), geometry="geometry", crs=out.crs)
    return out, rows


def add_people(cells: gpd.GeoDataFrame, housing: gpd.GeoDataFrame, *, groups: Sequence[str] = (),
               group_shares: Mapping[str, float] | None = None, label: str = "plan"
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """New housing's people per cell, spread by the share of each polygon's area in the cell.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        The grid (polygons, metric CRS).
    housing : geopandas.GeoDataFrame
        ``add_people`` features in the same CRS: ``population``, optionally
        ``people_60plus`` / ``people_0_14``.
    groups : sequence of str
        The run's population groups (``60plus``, ``0_14``).
    group_shares : mapping of str to float, optional
        A group's share of the people where a feature does not give its number (the study
        area's share in the run).
    label : str

    Returns
    -------
    people : numpy.ndarray
        People added per cell.
    group_people : dict of str to numpy.ndarray
        Per group, people added per cell.

    Raises
    ------
    PlanFileError
        A polygon overlaps no cell (it lies outside the study area).
    """
    n = len(cells)
    people = np.zeros(n)
    by_group = {g: np.zeros(n) for g in groups}
    cell_geoms = cells.geometry.to_numpy()
    for row in housing.to_dict("records"):
        poly = row["geometry"]
        hit = cells.sindex.query(poly, predicate="intersects")
        area = shapely.area(shapely.intersection(cell_geoms[hit], poly)) if len(hit) else np.zeros(0)
        if area.sum() <= 0:
            raise PlanFileError(f"{label}: {_where(row)} (add_people): expected a polygon inside the study area's "
                                "grid; found it overlaps no cell.")
        weight = area / area.sum()
        total = float(row["population"])
        np.add.at(people, hit, weight * total)
        for g in groups:
            given = row.get(f"people_{g}")
            number = float(given) if given is not None and np.isfinite(given) else \
                total * float((group_shares or {}).get(g, 0.0))
            np.add.at(by_group[g], hit, weight * number)
    return people, by_group


def _within(minutes: np.ndarray, threshold: float) -> np.ndarray:
    return np.nan_to_num(np.asarray(minutes, dtype=float), nan=np.inf) <= threshold


def cell_changes(cells: pd.DataFrame, before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray], *,
                 people_before: np.ndarray, people_after: np.ndarray, threshold_minutes: float,
                 groups_after: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Per cell and category: minutes before and after, their change, and gained/lost.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``cell_id`` and ``community`` per cell (the order of every array).
    before, after : mapping of str to numpy.ndarray
        Minutes per cell per category (NaN: unreachable or no access).
    people_before, people_after : numpy.ndarray
        People (or weight) per cell.
    threshold_minutes : float
    groups_after : mapping of str to numpy.ndarray, optional
        People of each group per cell after the plan (kept as ``population_<group>``).

    Returns
    -------
    pandas.DataFrame
        ``cell_id``, ``community``, ``population_before``, ``population_after``, the groups,
        then per category :func:`lifecircle.schema.change_columns`: minutes before, after,
        change (after minus before; NaN unless both are reached) and status
        (:data:`~lifecircle.schema.GAINED` newly within the threshold,
        :data:`~lifecircle.schema.LOST` no longer within, ``""`` otherwise).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = cell_changes(pd.DataFrame({"cell_id": [0, 1], "community": ["a", "a"]}),
    ...                  {"clinic": np.array([20.0, 5.0])}, {"clinic": np.array([12.0, 5.0])},
    ...                  people_before=np.ones(2), people_after=np.ones(2), threshold_minutes=15)
    >>> t["change_minutes_clinic"].tolist(), t["change_clinic"].tolist()
    ([-8.0, 0.0], ['gained', ''])
    """
    out = pd.DataFrame({"cell_id": np.asarray(cells["cell_id"]), "community": np.asarray(cells["community"]),
                        "population_before": np.asarray(people_before, dtype=float),
                        "population_after": np.asarray(people_after, dtype=float)})
    for g, values in (groups_after or {}).items():
        out[f"population_{g}"] = np.asarray(values, dtype=float)
    for cat in after:
        b = np.asarray(before[cat], dtype=float)
        a = np.asarray(after[cat], dtype=float)
        cols = change_columns(cat)
        in_b, in_a = _within(b, threshold_minutes), _within(a, threshold_minutes)
        out[cols["before"]] = b
        out[cols["after"]] = a
        out[cols["change"]] = a - b
        out[cols["status"]] = np.where(in_a & ~in_b, GAINED, np.where(in_b & ~in_a, LOST, ""))
    return out


def community_changes(changes: pd.DataFrame, *, categories: Sequence[str], threshold_minutes: float,
                      groups: Sequence[str] = (), no_data: Sequence[str] = ()) -> pd.DataFrame:
    """Per community and category (and for the whole area): people and shares within the
    threshold before and after, people newly (and no longer) within, cells gained and lost,
    and the people-weighted mean change in minutes of the cells reached both times.

    Parameters
    ----------
    changes : pandas.DataFrame
        From :func:`cell_changes`.
    categories : sequence of str
    threshold_minutes : float
    groups : sequence of str
        Population groups with a ``population_<group>`` column: ``newly_within_<group>``.
    no_data : sequence of str
        Categories without any facility before and after: left out.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`lifecircle.schema.CHANGE_COMMUNITY_COLUMNS` then ``newly_within_<group>``;
        one row per community and category, then the study area's rows
        (:data:`lifecircle.schema.CHANGE_TOTAL_ROW`).
    """
    pop_b = np.nan_to_num(changes["population_before"].to_numpy(float))
    pop_a = np.nan_to_num(changes["population_after"].to_numpy(float))
    comm = changes["community"].astype(str).to_numpy()
    rows = []
    for cat in categories:
        if cat in no_data:
            continue
        cols = change_columns(cat)
        b = changes[cols["before"]].to_numpy(float)
        a = changes[cols["after"]].to_numpy(float)
        status = changes[cols["status"]].to_numpy()
        frame = pd.DataFrame({"community": comm, "pb": pop_b, "pa": pop_a,
                              "in_b": pop_b * _within(b, threshold_minutes),
                              "in_a": pop_a * _within(a, threshold_minutes)})
        frame["gained"] = pop_a * (status == GAINED)
        frame["lost"] = pop_a * (status == LOST)
        frame["cells_gained"] = (status == GAINED).astype(int)
        frame["cells_lost"] = (status == LOST).astype(int)
        both = np.isfinite(a) & np.isfinite(b)
        frame["dw"] = np.where(both, (a - b) * pop_a, 0.0)
        frame["w"] = np.where(both, pop_a, 0.0)
        for g in groups:
            frame[g] = np.nan_to_num(changes[f"population_{g}"].to_numpy(float)) * (status == GAINED)
        sums = frame.drop(columns="community").groupby(frame["community"], sort=True).sum()
        sums.loc[CHANGE_TOTAL_ROW] = frame.drop(columns="community").sum()
        for name, s in sums.iterrows():
            share_b = s["in_b"] / s["pb"] if s["pb"] > 0 else np.nan
            share_a = s["in_a"] / s["pa"] if s["pa"] > 0 else np.nan
            row = {"community": name, "category": cat, "people_before": s["pb"], "people_after": s["pa"],
                   "share_before": share_b, "share_after": share_a, "change_share": share_a - share_b,
                   "people_newly_within": s["gained"], "people_no_longer_within": s["lost"],
                   "cells_gained": int(s["cells_gained"]), "cells_lost": int(s["cells_lost"]),
                   "mean_change_minutes": s["dw"] / s["w"] if s["w"] > 0 else np.nan}
            row.update({newly_within_column(g): s[g] for g in groups})
            rows.append(row)
    columns = [*CHANGE_COMMUNITY_COLUMNS, *[newly_within_column(g) for g in groups]]
    return pd.DataFrame(rows, columns=columns)
