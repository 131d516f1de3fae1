"""What the level rules did in a run: joins by level, facilities off the ground, lifts and passages.

The rules themselves live where they act: :func:`lifecircle.spatial.network.edge_level`
(which edges are underground or elevated), :func:`lifecircle.spatial.network.add_lift_links`
(lifts mapped as nodes) and :func:`lifecircle.spatial.travel.locate_on_network` /
:func:`~lifecircle.spatial.travel.facility_access_points` (who joins what). This module only
counts, for the run record and the log.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.network import ELEVATED, UNDERGROUND, WalkNetwork, edge_level, is_lift_link, per_distinct_value
from lifecircle.spatial.travel import (
    SNAP_BRIDGE_FALLBACK,
    SNAP_GROUND,
    EdgeLocation,
    facilities_off_ground,
    nearest_facility,
    origin_nearest,
    reverse_graph,
)

__all__ = ["network_level_counts", "level_record", "SUSPECT_ROUTE_RATIO", "suspect_connectivity", "long_edges",
           "gate_record"]

log = logging.getLogger(__name__)


def _km(edges: pd.DataFrame, mask: np.ndarray) -> float:
    return round(float(edges["length_m"].to_numpy()[mask].sum()) / 1000.0, 3)


def network_level_counts(network: WalkNetwork) -> dict[str, Any]:
    """Lifts, escalators and passages in the network, and its length by level.

    Counted on the main (largest) component, the part residents actually use; ``*_total``
    counts the whole network.

    Parameters
    ----------
    network : WalkNetwork
        The walking network (edges with ``highway`` and the level tags ``tunnel``,
        ``conveying``, ``indoor``, ``lift_node`` where present; nodes with ``component``).

    Returns
    -------
    dict
        ``lifts_linked``, ``lifts_linked_total``, ``lift_links``, ``elevator_ways``,
        ``escalator_edges``, ``passage_edges`` (counts) and ``passage_km``, ``ground_km``,
        ``elevated_km``, ``underground_km`` (kilometres).

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> counts = network_level_counts(small_model().network)
    >>> counts["lifts_linked"], counts["ground_km"], counts["elevated_km"]
    (0, 2.0, 0.0)
    """
    edges = network.edges
    lv = edge_level(edges)
    main = (network.nodes["component"].to_numpy()[edges["u"].to_numpy()] == 0)
    highway, tunnel, conveying, indoor = (_tag_text(edges, name) for name in ("highway", "tunnel", "conveying", "indoor"))
    lift = is_lift_link(edges)
    escalator = (highway == "steps") & (conveying != "") & (conveying != "no")
    passage = (tunnel == "building_passage") | (highway == "corridor") | ((indoor != "") & (indoor != "no"))
    lift_nodes = edges["lift_node"].to_numpy()[lift] if lift.any() else np.zeros(0)
    lift_nodes_main = edges["lift_node"].to_numpy()[lift & main] if lift.any() else np.zeros(0)
    return {
        "lifts_linked": len(pd.unique(lift_nodes_main)),
        "lifts_linked_total": len(pd.unique(lift_nodes)),
        "lift_links": int((lift & main).sum()),
        "elevator_ways": int(((highway == "elevator") & ~lift & main).sum()),
        "escalator_edges": int((escalator & main).sum()),
        "passage_edges": int((passage & main).sum()),
        "passage_km": _km(edges, passage & main),
        "ground_km": _km(edges, lv == 0),
        "elevated_km": _km(edges, lv == ELEVATED),
        "underground_km": _km(edges, (lv == UNDERGROUND) & ~lift),
    }


def _tag_text(edges: pd.DataFrame, name: str) -> np.ndarray:
    """A tag column as text per edge, ``""`` where absent (converted once per distinct value)."""
    if name not in edges:
        return np.full(len(edges), "", dtype=object)
    return per_distinct_value(edges[name], lambda s: s.astype("string").fillna("").to_numpy(dtype=object))


def level_record(network: WalkNetwork, facilities: gpd.GeoDataFrame, access: pd.DataFrame,
                 cells: pd.DataFrame, *, max_access_m: float) -> dict[str, Any]:
    """The run record's ``levels`` section; warns about facilities reachable only through a
    tunnel or from a bridge.

    Parameters
    ----------
    network : WalkNetwork
        The walking network, in its metric CRS.
    facilities : geopandas.GeoDataFrame
        The facilities in the network's CRS; row positions identify them.
    access : pandas.DataFrame
        From :func:`lifecircle.spatial.travel.facility_access_points`.
    cells : pandas.DataFrame
        With ``snap_way`` and ``snap_level`` (:func:`lifecircle.spatial.travel.snap_columns`).
    max_access_m : float
        Farthest a cell centre or facility may lie from the network, metres.

    Returns
    -------
    dict
        Counts of the network's levels and of facilities and cells joined off the ground, for ``run.json``.
    """
    lv = edge_level(network.edges)
    under_ways = np.unique(network.edges["osm_way_id"].to_numpy()[(lv == UNDERGROUND) & ~is_lift_link(network.edges)])
    level = cells["snap_level"].to_numpy()
    off = facilities_off_ground(facilities, network, access, max_distance_m=max_access_m)
    listed = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in off.to_dict("records")]
    if len(off):
        log.warning(
            "%d facilit%s reachable only through a tunnel or from a bridge (run.json levels.facilities_off_ground): %s",
            len(off), "y is" if len(off) == 1 else "ies are",
            "; ".join(f"{r.get('name') or r.get('osm_id', r['facility'])} ({r['reason']})" for r in listed[:5]),
        )
    return {
        "cells_joined": {
            "ground": int((level == SNAP_GROUND).sum()),
            "bridge_fallback": int((level == SNAP_BRIDGE_FALLBACK).sum()),
            "tunnel_or_covered": int(np.isin(cells["snap_way"].to_numpy(), under_ways).sum()),
        },
        "facility_access_points": {
            "ground": int((access["level"] == SNAP_GROUND).sum()) if "level" in access else None,
            "bridge_fallback": int((access["level"] == SNAP_BRIDGE_FALLBACK).sum()) if "level" in access else None,
        },
        "facilities_off_ground": listed,
        **network_level_counts(network),
    }


#: A cell is "suspect connectivity" where its walking route to the nearest facility of a
#: category is more than this many times the straight line: usually a link OSM lacks (a
#: missing footpath, a gate, a stair) rather than a real detour.
SUSPECT_ROUTE_RATIO: float = 3.0
#: Below this straight-line distance the ratio says little (the legs to the network dominate).
_SUSPECT_MIN_STRAIGHT_M = 100.0


def suspect_connectivity(network: WalkNetwork, facilities: gpd.GeoDataFrame, access: dict[str, pd.DataFrame],
                         centres: gpd.GeoSeries, where: EdgeLocation, *, categories: tuple[str, ...] | list[str],
                         ratio: float = SUSPECT_ROUTE_RATIO) -> np.ndarray:
    """Categories per cell whose walking route is more than ``ratio`` x the straight line.

    The route is the shortest walk *by length* (not time: terrain never flags a cell) from
    the cell centre to the nearest facility of the category, legs included; the straight
    line runs from the centre to that facility's geometry; only straight lines of at least
    100 m count.

    Parameters
    ----------
    network : WalkNetwork
        The walking network, metric CRS.
    facilities : geopandas.GeoDataFrame
        The facilities in ``network.crs``; row positions are the ``facility`` of ``access``.
    access : dict of str to pandas.DataFrame
        Access points per category (:func:`lifecircle.spatial.travel.facility_access_points`).
    centres : geopandas.GeoSeries
        Cell centres in ``network.crs``.
    where : EdgeLocation
        Where each centre joins the network (:func:`lifecircle.spatial.travel.locate_on_network`).
    categories : sequence of str
        The categories checked; one without access points is never flagged.
    ratio : float
        Route length over straight-line distance above which a cell is flagged.

    Returns
    -------
    numpy.ndarray
        One comma-separated string of categories per cell (``""`` where none).

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> centres = model.grid.geometry.centroid
    >>> flags = suspect_connectivity(model.network, model.facilities, model.access, centres, model.origins,
    ...                              categories=model.categories)
    >>> flags[8], flags[17]  # north-east cell: 190 m from the school as the crow flies, 1.1 km round by the path
    ('school', '')
    """
    metres = flat_costs(network, speed_kmh=3.6)  # 1 m/s: seconds are metres
    graph = reverse_graph(network, metres)
    geoms = facilities.geometry.to_numpy()
    out = np.full(len(centres), "", dtype=object)
    centre_geoms = np.asarray(centres.geometry.to_numpy())
    centre_box, facility_box = shapely.bounds(centre_geoms), shapely.bounds(geoms)
    for cat in categories:
        acc = access.get(cat)
        if acc is None or len(acc) == 0:
            continue
        node_m, node_fac = nearest_facility(graph, acc, n_facilities=len(facilities), leg_speed_kmh=3.6)
        route, fac = origin_nearest(graph, node_m, node_fac, where, access=acc, leg_speed_kmh=3.6)
        ok = np.isfinite(route) & (fac >= 0)
        # The straight line is no shorter than the gap between the two bounding boxes: where
        # even that gap times the ratio exceeds the route (with a margin for rounding), the cell
        # cannot be flagged and GEOS need not measure the line.
        ok_rows = np.flatnonzero(ok)
        gap = _box_gap(centre_box[ok_rows], facility_box[fac[ok_rows]])
        measure = ok_rows[gap * ratio <= route[ok_rows] * (1 + 1e-9) + 1e-6]
        straight = np.full(len(route), np.nan)
        straight[measure] = shapely.distance(centre_geoms[measure], geoms[fac[measure]])
        flag = ok & (straight >= _SUSPECT_MIN_STRAIGHT_M) & (route > ratio * straight)
        out[flag] = np.where(out[flag] == "", cat, out[flag] + "," + cat)
    return out


def _box_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between bounding boxes (rows ``minx, miny, maxx, maxy``): a lower bound of the
    distance between what they bound."""
    dx = np.maximum(np.maximum(b[:, 0] - a[:, 2], a[:, 0] - b[:, 2]), 0.0)
    dy = np.maximum(np.maximum(b[:, 1] - a[:, 3], a[:, 1] - b[:, 3]), 0.0)
    return np.hypot(dx, dy)


def long_edges(network: WalkNetwork, *, min_length_m: float = 1000.0) -> list[dict[str, Any]]:
    """Edges longer than ``min_length_m`` with no junction along them.

    Such an edge (a riverside path) can give a cell a long way round.

    Parameters
    ----------
    network : WalkNetwork
        The walking network; its edges carry ``osm_way_id``, ``highway``, ``name``, ``length_m``.
    min_length_m : float
        Length in metres an edge must exceed.

    Returns
    -------
    list of dict
        ``osm_way_id``, ``highway``, ``name`` (None when unnamed), ``length_m`` (rounded to
        0.1 m) per edge, longest first.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> long_edges(small_model().network, min_length_m=1000)
    [{'osm_way_id': 101, 'highway': 'footway', 'name': None, 'length_m': 1100.0}]
    """
    edges = network.edges
    hit = np.flatnonzero(edges["length_m"].to_numpy() > min_length_m)
    hit = hit[np.argsort(-edges["length_m"].to_numpy()[hit], kind="stable")]
    way, highway = edges["osm_way_id"].to_numpy()[hit], edges["highway"].to_numpy(dtype=object)[hit]
    name, length = edges["name"].to_numpy(dtype=object)[hit], edges["length_m"].to_numpy()[hit]
    return [{"osm_way_id": int(w), "highway": h, "name": None if pd.isna(n) else n, "length_m": round(float(m), 1)}
            for w, h, n, m in zip(way, highway, name, length)]


def gate_record(network: WalkNetwork, gates: gpd.GeoDataFrame, *, closed: bool) -> dict[str, Any]:
    """Gates mapped, on the network, and whether they are closed to through walkers.

    Parameters
    ----------
    network : WalkNetwork
        The walking network, metric CRS.
    gates : geopandas.GeoDataFrame
        Gate points in ``network.crs`` (:func:`lifecircle.layers.osm.gate_nodes`); a gate
        within 0.5 m of a walkable edge is on the network.
    closed : bool
        Whether the run closes gates to through walkers (``--gates closed``).

    Returns
    -------
    dict
        ``mapped``, ``on_network`` (counts) and ``closed_to_through_walkers``.

    Examples
    --------
    >>> import shapely
    >>> from lifecircle.testing import small_model
    >>> network = small_model().network
    >>> gates = gpd.GeoDataFrame(geometry=[network.nodes.geometry.iloc[0], shapely.Point(0, 0)], crs=network.crs)
    >>> gate_record(network, gates, closed=False)
    {'mapped': 2, 'on_network': 1, 'closed_to_through_walkers': False}
    """
    on_network = 0
    if len(gates):
        q, _ = network.edges.sindex.query(gates.geometry.to_numpy(), predicate="dwithin", distance=0.5)
        on_network = int(len(np.unique(q)))
    return {"mapped": int(len(gates)), "on_network": on_network, "closed_to_through_walkers": bool(closed)}
