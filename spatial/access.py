"""The run's two searches: minutes from every cell to the nearest facility, and isochrones.

Both run on the reversed graph (:func:`lifecircle.spatial.travel.reverse_graph`), from
facility access points (:func:`lifecircle.spatial.travel.facility_access_points`) to
cell origins located on the network once (:func:`lifecircle.spatial.travel.locate_on_network`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle._progress import progress_bar
from lifecircle.schema import minutes_column
from lifecircle.spatial.isochrones import isochrone_polygon
from lifecircle.spatial.network import WalkNetwork
from lifecircle.spatial.travel import (
    EdgeLocation,
    ReverseGraph,
    nearest_facility,
    origin_nearest,
    per_facility_node_seconds,
)

__all__ = ["compute_cells", "compute_isochrones"]


def compute_cells(
    graph: ReverseGraph,
    grid: gpd.GeoDataFrame,
    origins: EdgeLocation,
    access: Mapping[str, pd.DataFrame],
    *,
    n_facilities: int,
    categories: Sequence[str],
    leg_speed_kmh: float,
) -> tuple[gpd.GeoDataFrame, dict[str, np.ndarray]]:
    """The grid with minutes to the nearest facility of each category.

    Parameters
    ----------
    graph : ReverseGraph
        The run's reversed graph.
    grid : geopandas.GeoDataFrame
        Cells (:func:`lifecircle.spatial.grid.make_grid`).
    origins : EdgeLocation
        The cell centres on the network (same order as ``grid``).
    access : mapping of str to pandas.DataFrame
        Per category, where its facilities join the network.
    n_facilities : int
        Number of facilities (``access["facility"]`` indexes them).
    categories : sequence of str
        The categories, in output order.
    leg_speed_kmh : float
        Speed on the off-network legs.

    Returns
    -------
    cells : geopandas.GeoDataFrame
        A copy of ``grid`` with ``access`` (``network`` / ``no_access``), ``snap_m``,
        ``minutes_to_<category>`` (NaN: unreachable or no access) and ``nearest_<category>``
        (row of the facility, -1 when none).
    node_seconds : dict of str to numpy.ndarray
        Seconds from every node to the nearest facility, per category.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> cells, _ = compute_cells(model.graph, model.grid, model.origins, model.access,
    ...                          n_facilities=len(model.facilities), categories=model.categories,
    ...                          leg_speed_kmh=model.speed_kmh)
    >>> cells["minutes_to_clinic"].round(1).tolist()[9:12]  # the cells along the street, from the west
    [1.6, 2.9, 4.3]
    """
    cells = grid.copy()
    cells["access"] = np.where(origins.matched, "network", "no_access")
    cells["snap_m"] = np.where(origins.matched, origins.distance_m, np.nan)
    node_seconds: dict[str, np.ndarray] = {}
    for cat in categories:
        acc = access[cat]
        secs, nearest_fac = nearest_facility(graph, acc, n_facilities=n_facilities, leg_speed_kmh=leg_speed_kmh)
        node_seconds[cat] = secs
        cell_secs, cell_fac = origin_nearest(graph, secs, nearest_fac, origins, access=acc,
                                             leg_speed_kmh=leg_speed_kmh)
        minutes = cell_secs / 60.0
        minutes[~np.isfinite(minutes)] = np.nan  # unreachable and no-access cells are empty
        cells[minutes_column(cat)] = minutes
        cells[f"nearest_{cat}"] = cell_fac
    return cells, node_seconds


def compute_isochrones(  # noqa: PLR0913 - the model's search pieces, then keyword-only options
    network: WalkNetwork,
    graph: ReverseGraph,
    facilities: gpd.GeoDataFrame,
    access: Mapping[str, pd.DataFrame],
    node_seconds: Mapping[str, np.ndarray],
    *,
    categories: Sequence[str],
    minutes: float,
    buffer_m: float,
    leg_speed_kmh: float,
    per_facility: bool = False,
    progress: bool = True,
) -> gpd.GeoDataFrame:
    """Isochrones per category (union of its facilities) and, optionally, per facility.

    Parameters
    ----------
    network : WalkNetwork
        The walking network, in its metric CRS.
    graph : ReverseGraph
        The reversed search graph (:func:`lifecircle.spatial.travel.reverse_graph`).
    facilities : geopandas.GeoDataFrame
        With a ``name`` column.
    access : mapping of str to pandas.DataFrame
        Access points per category (:func:`lifecircle.spatial.travel.facility_access_points`).
    node_seconds : mapping of str to numpy.ndarray
        From :func:`compute_cells`.
    categories : sequence of str
        The categories, in output order.
    minutes : float
        The threshold.
    buffer_m : float
        Half-width of the band drawn around reached edges.
    leg_speed_kmh : float
        Walking speed (km/h) on the legs between the network and origins or facilities.
    per_facility : bool, default False
        Also one isochrone per facility (one search and one outline each).
    progress : bool, default True
        Show a progress bar (silent when stderr is no terminal).

    Returns
    -------
    geopandas.GeoDataFrame
        ``category``, ``facility`` (row in ``facilities``, ``-1`` for the category union),
        ``name``, ``minutes``, geometry in ``network.crs``.
    """
    limit = minutes * 60.0
    rows: list[dict[str, Any]] = []
    for cat in categories:
        acc = access[cat]
        if len(acc) == 0:
            continue
        geom = isochrone_polygon(network, graph, node_seconds[cat], limit_seconds=limit, buffer_m=buffer_m,
                                 access=acc, leg_speed_kmh=leg_speed_kmh)
        rows.append({"category": cat, "facility": -1, "name": None, "minutes": minutes, "geometry": geom})
        if not per_facility:
            continue
        by_facility = dict(tuple(acc.groupby("facility")))
        searches = per_facility_node_seconds(graph, acc, n_facilities=len(facilities), limit_seconds=limit,
                                             leg_speed_kmh=leg_speed_kmh)
        n = acc["facility"].nunique()
        for fac, secs in progress_bar(searches, total=n, desc=f"isochrones {cat}", enabled=progress and n >= 50):
            geom = isochrone_polygon(network, graph, secs, limit_seconds=limit, buffer_m=buffer_m,
                                     access=by_facility[fac], leg_speed_kmh=leg_speed_kmh)
            rows.append({"category": cat, "facility": fac, "name": facilities["name"].iloc[fac],
                         "minutes": minutes, "geometry": geom})
    if not rows:
        return gpd.GeoDataFrame({"category": [], "facility": [], "name": [], "minutes": []},
                                geometry=[], crs=network.crs)
    iso = gpd.GeoDataFrame(rows, geometry="geometry", crs=network.crs)
    iso["facility"] = iso["facility"].astype(np.int64)
    return iso
