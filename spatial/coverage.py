"""Who is served: under-served cells and what each community has and lacks (有什么、缺什么)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle import settings

__all__ = [
    "minutes_column",
    "weighted_quantile",
    "flag_underserved",
    "assign_communities",
    "summarise_communities",
    "category_summary",
]

log = logging.getLogger(__name__)


def minutes_column(category: str) -> str:
    """Name of the column holding minutes to the nearest facility of a category."""
    return f"minutes_to_{category}"


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted quantile (lower, no interpolation); ``inf`` values count as the largest.

    Parameters
    ----------
    values : numpy.ndarray
        May hold ``inf`` (unreachable); ``nan`` values are ignored.
    weights : numpy.ndarray
        Non-negative; when they sum to zero, every value weighs the same.
    q : float
        In [0, 1].

    Returns
    -------
    float
        ``nan`` when no value is left.
    """
    ok = ~np.isnan(values)
    values, weights = values[ok], weights[ok]
    if len(values) == 0:
        return float("nan")
    if weights.sum() <= 0:
        weights = np.ones_like(values)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    pos = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(values[order][min(pos, len(values) - 1)])


def flag_underserved(
    cells: pd.DataFrame,
    *,
    categories: Sequence[str],
    threshold_minutes: float,
    no_data: Sequence[str] = (),
) -> pd.DataFrame:
    """Flag cells beyond the threshold of a category and list what they miss.

    A cell is under-served for a category when its minutes exceed the threshold or no
    facility is reachable. Categories without any facility in the data (``no_data``) are
    never counted as missing: there is nothing to measure against. Cells with no access to
    the network are never under-served.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``access`` and ``minutes_to_<category>`` columns.
    categories : sequence of str
    threshold_minutes : float
    no_data : sequence of str
        Categories with no facility at all.

    Returns
    -------
    pandas.DataFrame
        ``underserved`` (bool) and ``missing`` (comma-separated categories), indexed like
        ``cells``.
    """
    on_network = (cells["access"] == "network").to_numpy()
    missing = np.full(len(cells), "", dtype=object)
    any_missing = np.zeros(len(cells), dtype=bool)
    for cat in categories:
        if cat in no_data:
            continue
        minutes = cells[minutes_column(cat)].to_numpy(dtype=float)
        lacks = on_network & ~(minutes <= threshold_minutes)  # nan (unreachable) lacks too
        missing = np.where(lacks, np.where(any_missing, missing + "," + cat, cat), missing)
        any_missing |= lacks
    return pd.DataFrame({"underserved": any_missing, "missing": missing}, index=cells.index)


def assign_communities(cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the community holding each cell's centre (``None`` outside every community).

    Where communities overlap, the first one (by row) wins, deterministically.
    """
    centres = gpd.GeoSeries(cells.geometry.centroid, crs=cells.crs)
    comm = communities.to_crs(cells.crs) if communities.crs != cells.crs else communities
    cell_idx, comm_idx = comm.sindex.query(centres.to_numpy(), predicate="within")
    out = np.full(len(cells), None, dtype=object)
    order = np.lexsort((comm_idx, cell_idx))
    cell_idx, comm_idx = cell_idx[order], comm_idx[order]
    first = np.r_[True, cell_idx[1:] != cell_idx[:-1]] if len(cell_idx) else np.array([], dtype=bool)
    out[cell_idx[first]] = comm["name"].to_numpy()[comm_idx[first]]
    return out


def summarise_communities(
    cells: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    *,
    categories: Sequence[str],
    threshold_minutes: float,
    no_data: Sequence[str] = (),
    coverage_target: float | None = None,
    facility_counts: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Per community: people, share within the threshold, median and 90th-percentile minutes.

    Shares and percentiles are weighted by the cells' ``population``; where a community's
    cells carry no population at all, every cell weighs the same (and ``weighting`` says
    so). Cells with no network access are left out of shares and percentiles (they are
    counted in ``no_access_cells``). A community *has* a category when at least
    ``coverage_target`` of its people are within the threshold, and *lacks* it otherwise;
    categories with no facility in the data are listed under ``no_data``.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``community``, ``population``, ``access``, ``minutes_to_<category>``.
    communities : geopandas.GeoDataFrame
        ``name``, ``geometry``.
    categories : sequence of str
    threshold_minutes : float
    no_data : sequence of str
    coverage_target : float, optional
        Default :data:`lifecircle.settings.coverage_target` (0.8).
    facility_counts : pandas.DataFrame, optional
        Facilities per community (index name) and category (columns), reported as
        ``facilities_<category>``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per community, in the communities' order and CRS.
    """
    target = settings.coverage_target if coverage_target is None else float(coverage_target)
    rows = []
    grouped = {name: frame for name, frame in cells.groupby("community", sort=False)}
    for name in communities["name"]:
        group = grouped.get(name)
        row: dict[str, object] = {"name": name}
        if group is None or len(group) == 0:
            row.update({"cells": 0, "no_access_cells": 0, "population": 0.0, "weighting": "none"})
            for cat in categories:
                row.update({f"share_{cat}": np.nan, f"median_{cat}": np.nan, f"p90_{cat}": np.nan})
            row.update({"has": "", "lacks": "", "no_data": ",".join(c for c in categories if c in no_data)})
            rows.append(row)
            continue
        net = group[group["access"] == "network"]
        pop = net["population"].to_numpy(dtype=float)
        pop = np.nan_to_num(pop, nan=0.0)
        weighted = pop.sum() > 0
        w = pop if weighted else np.ones(len(net))
        row.update({
            "cells": int(len(group)),
            "no_access_cells": int((group["access"] != "network").sum()),
            "population": float(np.nan_to_num(group["population"].to_numpy(dtype=float)).sum()),
            "weighting": "population" if weighted else "cells",
        })
        has, lacks = [], []
        for cat in categories:
            minutes = net[minutes_column(cat)].to_numpy(dtype=float)
            finite = np.where(np.isnan(minutes), np.inf, minutes)
            if cat in no_data or len(net) == 0:
                row.update({f"share_{cat}": np.nan, f"median_{cat}": np.nan, f"p90_{cat}": np.nan})
                continue
            share = float(w[finite <= threshold_minutes].sum() / w.sum()) if w.sum() > 0 else np.nan
            row[f"share_{cat}"] = share
            row[f"median_{cat}"] = weighted_quantile(finite, w, 0.5)
            row[f"p90_{cat}"] = weighted_quantile(finite, w, 0.9)
            (has if share >= target else lacks).append(cat)
        row["has"] = ",".join(has)
        row["lacks"] = ",".join(lacks)
        row["no_data"] = ",".join(c for c in categories if c in no_data)
        rows.append(row)
    table = pd.DataFrame(rows)
    for cat in categories:
        for prefix in ("median_", "p90_"):
            col = f"{prefix}{cat}"
            table[col] = table[col].replace(np.inf, np.nan) if col in table else np.nan
        if facility_counts is not None:
            counts = facility_counts[cat] if cat in facility_counts else pd.Series(dtype=float)
            table[f"facilities_{cat}"] = table["name"].map(counts).fillna(0).astype(int)
    return gpd.GeoDataFrame(table, geometry=communities.geometry.to_numpy(), crs=communities.crs)


def category_summary(
    cells: pd.DataFrame,
    *,
    categories: Sequence[str],
    threshold_minutes: float,
    no_data: Sequence[str] = (),
    facility_counts: dict[str, int] | None = None,
) -> dict[str, dict[str, object]]:
    """Study-area totals per category: facilities, people served and their share.

    Returns
    -------
    dict
        ``{category: {"facilities", "people_served", "share_served", "cells_served",
        "no_data"}}``; shares are over the people (or cells, when there are no people) in
        cells with network access.
    """
    net = cells[cells["access"] == "network"]
    pop = np.nan_to_num(net["population"].to_numpy(dtype=float))
    weights = pop if pop.sum() > 0 else np.ones(len(net))
    out: dict[str, dict[str, object]] = {}
    for cat in categories:
        minutes = net[minutes_column(cat)].to_numpy(dtype=float)
        served = minutes <= threshold_minutes
        out[cat] = {
            "facilities": int((facility_counts or {}).get(cat, 0)),
            "no_data": cat in no_data,
            "people_served": None if cat in no_data else float(pop[served].sum()),
            "share_served": None if cat in no_data or weights.sum() == 0 else float(weights[served].sum() / weights.sum()),
            "cells_served": None if cat in no_data else int(served.sum()),
        }
    return out
