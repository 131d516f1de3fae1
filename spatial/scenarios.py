"""Who reaches what under other walkers: population groups and the cost of the terrain.

The run's own search (:mod:`lifecircle.spatial.access`) answers for one walker. These
functions repeat the threshold test with other walking costs on the same network, the
same facility access points and the same origins (cells located on the network once,
:func:`lifecircle.spatial.travel.locate_on_network`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle.schema import share_column
from lifecircle.spatial.network import WalkNetwork
from lifecircle.spatial.terrain import flat_costs_with_lifts, terrain_costs
from lifecircle.spatial.travel import (
    EdgeLocation,
    nearest_facility,
    origin_seconds,
    reverse_graph,
)

if TYPE_CHECKING:  # the profile record type, for hints only
    from lifecircle.layers.profiles import WalkingProfile

__all__ = ["within_threshold", "group_coverage", "TERRAIN_SCENARIOS", "terrain_comparison", "lost_to_terrain"]


def within_threshold(network: WalkNetwork, costs: pd.DataFrame, facilities: gpd.GeoDataFrame,
                     access: Mapping[str, pd.DataFrame], origins: EdgeLocation, *, categories: Sequence[str],
                     minutes: float, leg_speed_kmh: float) -> np.ndarray:
    """Boolean ``(origins, categories)``: origin within ``minutes`` of the category under ``costs``.

    Parameters
    ----------
    network : WalkNetwork
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
    minutes : float
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
    minutes : float
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
    minutes : float
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
