"""What each contested-way choice changes: the run repeated with one choice flipped.

A planner choosing whether road tunnels are walkable, whether ``foot=no`` on a surface street
counts, or whether gates are closed should see what the choice does to the numbers they
publish. :func:`choice_effects` rebuilds the network with each choice flipped (the rest of the
run unchanged: same grid, people, facilities, profile, DEM) and reports the share of people
within the threshold per category, against the run's own.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.layers.osm import choose_ways, entrance_nodes
from lifecircle.model import load_extract, network_heights, prepare_network, walking_costs
from lifecircle.spatial.access import compute_cells
from lifecircle.spatial.coverage import minutes_column
from lifecircle.spatial.travel import facility_access_points, locate_on_network, reverse_graph

__all__ = ["FLIPS", "choice_effects", "share_within"]

log = logging.getLogger(__name__)

#: The choice flipped from each default, as (option, alternative value).
FLIPS: tuple[tuple[str, str], ...] = (("road_tunnels", "walk"), ("foot_no", "ignore"), ("gates", "closed"))


def share_within(cells: pd.DataFrame, population: np.ndarray, *, categories: tuple[str, ...],
                 minutes: float) -> dict[str, float | None]:
    """Share of all the grid's people within ``minutes`` of each category.

    Cells without access are included, so two networks compare on one denominator.

    Parameters
    ----------
    cells : pandas.DataFrame
        The cells with ``minutes_to_<category>`` columns (NaN where unreachable).
    population : numpy.ndarray
        People (or weight) per cell row; NaN counts 0.
    categories : tuple of str
        The categories to report.
    minutes : float
        The threshold, minutes.

    Returns
    -------
    dict of str to float or None
        Share rounded to 4 decimals; ``None`` with no people or when no cell reaches the
        category at all (no data).

    Examples
    --------
    >>> cells = pd.DataFrame({"minutes_to_clinic": [3.0, 20.0, np.nan], "minutes_to_park": [np.nan] * 3})
    >>> share_within(cells, np.array([10.0, 20.0, 10.0]), categories=("clinic", "park"), minutes=15)
    {'clinic': 0.25, 'park': None}
    """
    pop = np.nan_to_num(np.asarray(population, dtype=float))
    total = pop.sum()
    out: dict[str, float | None] = {}
    for cat in categories:
        values = cells[minutes_column(cat)].to_numpy(dtype=float)
        within = values <= minutes
        out[cat] = round(float(pop[within].sum() / total), 4) if total > 0 and np.isfinite(values).any() else None
    return out


def choice_effects(model: Any, cells: pd.DataFrame) -> dict[str, Any]:
    """The run's share of people within the threshold per category, and the same with each
    choice of :data:`FLIPS` that differs from the run's flipped.

    Parameters
    ----------
    model : lifecircle.model.Model
        The run's model (options, area, facilities, walker, grid).
    cells : pandas.DataFrame
        The run's cells (``population`` and ``minutes_to_<category>``).

    Returns
    -------
    dict
        ``{"run": {category: share}, "<option>=<value>": {category: share}, ...}``.
    """
    options, categories, crs = model.options, model.categories, model.crs
    population = cells["population"].to_numpy(dtype=float)
    out: dict[str, Any] = {"run": share_within(cells, population, categories=categories, minutes=options.minutes),
                           "denominator": "all people in the study area's cells"}
    raw_extract = load_extract(options)
    entrances = entrance_nodes(raw_extract).to_crs(crs)
    centres = gpd.GeoSeries(shapely.points(model.grid["x"].to_numpy(), model.grid["y"].to_numpy()), crs=crs)
    for option, value in FLIPS:
        if getattr(options, option) == value:
            continue
        alt = replace(options, **{option: value})
        extract, _ = choose_ways(raw_extract, road_tunnels=alt.road_tunnels, foot_no=alt.foot_no)
        network = prepare_network(extract, area=model.area, reach_m=model.reach_m, crs=crs, gates=alt.gates)
        elevation = network_heights(network, extract, options, area=model.area)[0]
        costs, _ = walking_costs(network, model.profile, elevation=elevation)
        graph = reverse_graph(network, costs)
        facilities = model.facilities
        access_all = facility_access_points(facilities, network, max_distance_m=options.max_access_m,
                                            entrances=entrances)
        cat_of = facilities["category"].to_numpy()[access_all["facility"].to_numpy()]
        access = {c: access_all[cat_of == c] for c in categories}
        origins = locate_on_network(centres, network, max_distance_m=options.max_access_m)
        alt_cells, _ = compute_cells(graph, model.grid, origins, access, n_facilities=len(facilities),
                                     categories=categories, leg_speed_kmh=model.speed_kmh)
        out[f"{option}={value}"] = share_within(alt_cells, population, categories=categories,
                                                minutes=options.minutes)
    log.info("Choices measured: %s", "; ".join(f"{k}: {v}" for k, v in out.items() if k != "denominator"))
    return out
