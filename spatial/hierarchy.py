"""Figures per unit of every level of the governance hierarchy, rolled up exactly.

Cells belong to the lowest level only; a unit of a higher level owns the cells of its
children. Every level's table is therefore computed the same way from the same cells:
a street's people and people within reach are the sums of its communities' (exactly), and
its shares are those sums' ratio. All grouping is vectorised (one sort and a few
``bincount`` per category and threshold), never a Python loop over a city's cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lifecircle.schema import (
    median_column,
    minutes_column,
    p90_column,
    share_column,
    threshold_share_column,
    within_column,
)

__all__ = ["group_quantiles", "unit_table", "cell_unit_codes",
           "share_within_any",
           "threshold_shares"]


def group_quantiles(groups: np.ndarray, values: np.ndarray, weights: np.ndarray, n_groups: int,
                    q: float | Sequence[float]) -> np.ndarray:
    """Weighted lower quantile per group, as :func:`lifecircle.spatial.coverage.weighted_quantile`
    computes it for one group, for every group at once.

    Parameters
    ----------
    groups : numpy.ndarray of int
        Group of each value, ``0 .. n_groups - 1``.
    values : numpy.ndarray
        May hold ``inf``; ``nan`` values are ignored.
    weights : numpy.ndarray
        Non-negative; a group whose weights sum to zero weighs its values equally.
    n_groups : int
    q : float or sequence of float
        One quantile, or several sharing one sort.

    Returns
    -------
    numpy.ndarray
        One value per group (a row per quantile when ``q`` is a sequence), ``nan`` for
        groups without values.

    Examples
    --------
    >>> group_quantiles(np.array([0, 0, 0, 1]), np.array([1.0, 2.0, 3.0, 7.0]), np.array([1.0, 1.0, 2.0, 0.0]), 2, 0.5)
    array([2., 7.])
    """
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    ok = ~np.isnan(values)
    g, v, w = groups[ok], values[ok], weights[ok].astype(float)
    out = np.full((len(qs), n_groups), np.nan)
    if len(g):
        total = np.bincount(g, weights=w, minlength=n_groups)
        w = np.where(total[g] > 0, w, 1.0)
        # By group, then value: a quicksort of the values, then a stable sort of the groups
        # (radix for small integers). Ties may come in any order: they share their value.
        order = np.argsort(v)
        small = np.uint16 if n_groups <= np.iinfo(np.uint16).max else np.int64
        order = order[np.argsort(g.astype(small)[order], kind="stable")]
        g, v, w = g[order], v[order], w[order]
        counts = np.bincount(g, minlength=n_groups)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        cum = np.cumsum(w)
        before = np.r_[0.0, cum][starts]  # weight of the groups before each group
        within = cum - before[g]  # running weight inside the group
        whole = np.bincount(g, weights=w, minlength=n_groups)
        has = counts > 0
        for i, qi in enumerate(qs):
            below = within < qi * whole[g]  # positions before the quantile
            pos = starts + np.minimum(np.bincount(g, weights=below, minlength=n_groups).astype(np.int64),
                                      np.maximum(counts - 1, 0))
            out[i, has] = v[pos[has]]
    return out if np.ndim(q) else out[0]


def cell_unit_codes(lowest_of_cell: np.ndarray, parents: Sequence[Mapping[str, str]]) -> list[np.ndarray]:
    """Each cell's unit code at every level, lowest first then upwards.

    Parameters
    ----------
    lowest_of_cell : numpy.ndarray of str
        The code of each cell's lowest-level unit.
    parents : sequence of mapping
        For each level above the lowest, bottom-up: child code → parent code.

    Returns
    -------
    list of numpy.ndarray
        Codes per cell: ``[lowest, its parent level, ...]``; ``""`` where a cell has no unit.
    """
    inverse, uniq = pd.factorize(pd.Series(np.asarray(lowest_of_cell, dtype=object)).fillna(""), sort=False)
    level = np.array([str(u) for u in uniq], dtype=object)  # each distinct code once, not per cell
    out = [level[inverse]]
    for mapping in parents:
        level = np.array([mapping.get(u, "") for u in level], dtype=object)
        out.append(level[inverse])
    return out


def threshold_shares(cells: pd.DataFrame, thresholds: Mapping[str, Sequence[tuple[str, float]]], *,
                     no_data: Sequence[str] = ()) -> dict[str, dict[str, dict[str, float | None]]]:
    """Study-area people and share within each threshold of each category.

    Only network cells (``access == "network"``) count; they are weighted by their
    people, or equally when the study area has no people at all.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``access``, ``population`` (NaN: none) and ``minutes_to_<category>`` (walking
        minutes, NaN: unreachable).
    thresholds : mapping
        Per category, ``(label, minutes)`` of each threshold
        (:func:`lifecircle.layers.thresholds.thresholds_in_minutes`).
    no_data : sequence of str, default ()
        Categories without any facility in the data.

    Returns
    -------
    dict
        ``{category: {label: {"minutes", "people_within", "share"}}}``; ``None`` for
        categories with no data.
    """
    net = cells["access"].to_numpy() == "network"
    pop = np.nan_to_num(cells["population"].to_numpy(dtype=float))[net]
    weights = pop if pop.sum() > 0 else np.ones(int(net.sum()))
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for cat, pairs in thresholds.items():
        minutes = cells[minutes_column(cat)].to_numpy(dtype=float)[net]
        out[cat] = {}
        for label, limit in pairs:
            served = minutes <= limit
            nothing = cat in no_data
            out[cat][label] = {
                "minutes": round(float(limit), 3),
                "people_within": None if nothing else float(pop[served].sum()),
                "share": None if nothing or weights.sum() == 0 else float(weights[served].sum() / weights.sum()),
            }
    return out


def _unit_positions(unit_of_cell: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each cell's row in the level's units (int64, ``-1``: none), from codes or from rows."""
    given = np.asarray(unit_of_cell)
    if given.dtype.kind in "iu":  # positions in ``units`` already (-1: none)
        return given.astype(np.int64)
    inverse, uniq = pd.factorize(pd.Series(given.astype(object)), sort=False)
    return np.where(inverse >= 0, pd.Index(codes).get_indexer([str(u) for u in uniq])[np.maximum(inverse, 0)], -1)


def _count_columns(units: pd.DataFrame, codes: np.ndarray, g: np.ndarray, pop: np.ndarray, net: np.ndarray,
                   under: np.ndarray) -> pd.DataFrame:
    """The level's units with their cells, cells without network access, people, people and
    cells under-served (``g``: each assigned cell's unit row; the rest per assigned cell)."""
    n = len(codes)
    table = pd.DataFrame({"code": codes, "name": units["name"].astype(str).to_numpy(),
                          "parent_code": units["parent_code"].astype(str).to_numpy()})
    table["cells"] = np.bincount(g, minlength=n).astype(np.int64)
    table["no_access_cells"] = np.bincount(g[~net], minlength=n).astype(np.int64)
    table["population"] = np.bincount(g, weights=pop, minlength=n)
    table["underserved_people"] = np.bincount(g[under], weights=pop[under], minlength=n)
    table["underserved_cells"] = np.bincount(g[under], minlength=n).astype(np.int64)
    return table


def _has_and_lacks(has: np.ndarray, lacks: np.ndarray, cat: str, meets: np.ndarray,
                   weighed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cat`` appended to the comma-separated ``has`` of the units meeting the target and to
    ``lacks`` of the other units with anything to weigh."""
    has_out = np.where(meets, np.where(has == "", cat, has + "," + cat), has)
    lacks_out = np.where(weighed & ~meets, np.where(lacks == "", cat, lacks + "," + cat), lacks)
    return has_out, lacks_out


def _threshold_figures(ok: np.ndarray, gn: np.ndarray, w: np.ndarray, pn: np.ndarray,
                       wsum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the weighted share (NaN: nothing to weigh) and the people within one threshold.

    ``ok``: which network cells are within it; ``gn``, ``w``, ``pn``: those cells' unit rows,
    weights and people; ``wsum``: each unit's whole weight (its length is the units').
    """
    n = len(wsum)
    share = np.where(wsum > 0, np.bincount(gn[ok], weights=w[ok], minlength=n) / np.where(wsum > 0, wsum, 1), np.nan)
    return share, np.bincount(gn[ok], weights=pn[ok], minlength=n)


def unit_table(
    cells: pd.DataFrame,
    unit_of_cell: np.ndarray,
    units: pd.DataFrame,
    *,
    categories: Sequence[str],
    thresholds: Mapping[str, Sequence[tuple[str, float]]],
    main_minutes: float,
    no_data: Sequence[str] = (),
    coverage_target: float = 0.8,
) -> pd.DataFrame:
    """One level's table: people, shares, median / p90 minutes, has / lacks, people in gap areas.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``population``, ``access``, ``underserved``, ``minutes_to_<category>``.
    unit_of_cell : numpy.ndarray of str or int
        Each cell's unit code at this level (``""``: none), or its row in ``units``
        (``-1``: none).
    units : pandas.DataFrame
        ``code`` (unique), ``name``, ``parent_code``: the level's units, in order.
    categories : sequence of str
        The categories, in the columns' order.
    thresholds : mapping
        Per category, ``(label, minutes)`` of each threshold
        (:func:`lifecircle.layers.thresholds.thresholds_in_minutes`).
    main_minutes : float
        The run's threshold: ``share_<c>``, has and lacks.
    no_data : sequence of str, default ()
        Categories without any facility in the data: their figures are NaN, and they are
        neither had nor lacked.
    coverage_target : float, default 0.8
        The share within the run's threshold from which a unit has a category.

    Returns
    -------
    pandas.DataFrame
        In the units' order: ``code``, ``name``, ``parent_code``, ``cells``,
        ``no_access_cells``, ``population``, ``underserved_people`` (people in under-served
        cells: the gap areas' people), ``underserved_cells``, ``weighting``; per category
        ``share_<c>`` and ``within_<c>`` (the run's threshold), per threshold
        ``share_<c>_<label>`` and ``within_<c>_<label>``, ``median_<c>``, ``p90_<c>``;
        ``has``, ``lacks``, ``no_data``. People are sums over the unit's cells, so a
        parent's equal its children's.
    """
    codes = units["code"].astype(str).to_numpy()
    g_all = _unit_positions(unit_of_cell, codes)
    n = len(codes)
    member = g_all >= 0
    g = g_all[member]
    pop = np.nan_to_num(cells["population"].to_numpy(dtype=float))[member]
    net = (cells["access"].to_numpy() == "network")[member]
    under = cells["underserved"].to_numpy(dtype=bool)[member]
    table = _count_columns(units, codes, g, pop, net, under)
    gn, pn = g[net], pop[net]
    net_people = np.bincount(gn, weights=pn, minlength=n)
    weighted = net_people > 0
    w = np.where(weighted[gn], pn, 1.0)  # a unit without people weighs its cells equally
    wsum = np.bincount(gn, weights=w, minlength=n)
    table["weighting"] = np.where(weighted, "population", np.where(wsum > 0, "cells", "none"))
    has = lacks = np.full(n, "", dtype=object)  # replaced, never changed in place
    for cat in categories:
        minutes = cells[minutes_column(cat)].to_numpy(dtype=float)[member][net]
        finite = np.where(np.isnan(minutes), np.inf, minutes)
        blank = cat in no_data
        for label, limit in [("", float(main_minutes)), *(thresholds.get(cat) or ())]:
            share, people = _threshold_figures(finite <= limit, gn, w, pn, wsum)
            table[share_column(cat) if not label else threshold_share_column(cat, label)] = np.nan if blank else share
            table[within_column(cat, label)] = np.nan if blank else people
            if not label and not blank:
                has, lacks = _has_and_lacks(has, lacks, cat, (wsum > 0) & (share >= coverage_target), wsum > 0)
        both = group_quantiles(gn, finite, w, n, (0.5, 0.9)) if not blank else np.full((2, n), np.nan)
        for col, values in zip((median_column(cat), p90_column(cat)), both):
            table[col] = np.where(np.isinf(values), np.nan, values)
    table["has"] = has
    table["lacks"] = lacks
    table["no_data"] = ",".join(c for c in categories if c in no_data)
    return table


def share_within_any(cells: pd.DataFrame, categories: Sequence[str], minutes: float, *,
                     basis: str = "people") -> tuple[float | None, float, float]:
    """Share of people (or of residential land) within ``minutes`` of any of ``categories``.

    ``basis="people"`` weighs the network cells by their people; ``"residential_land"``
    counts the network cells holding residents (equal cells, so their area).

    Parameters
    ----------
    cells : pandas.DataFrame
        ``access``, ``population`` (NaN: none) and ``minutes_to_<category>`` (walking
        minutes, NaN: unreachable) for each of ``categories``.
    categories : sequence of str
        The categories any of which serves a cell; empty: no cell is served.
    minutes : float
        The threshold in walking minutes (a cell at exactly ``minutes`` is served).
    basis : {"people", "residential_land"}, default "people"
        What is weighed.

    Returns
    -------
    share : float or None
        ``None`` when there is nothing to weigh.
    within, total : float
        The weight within reach and the whole weight.
    """
    net = cells["access"].to_numpy() == "network"
    pop = np.nan_to_num(cells["population"].to_numpy(dtype=float))[net]
    weights = pop if basis == "people" else (pop > 0).astype(float)
    best = np.full(int(net.sum()), np.inf)
    for cat in categories:
        m = cells[minutes_column(cat)].to_numpy(dtype=float)[net]
        best = np.fmin(best, np.where(np.isnan(m), np.inf, m))
    total = float(weights.sum())
    within = float(weights[best <= minutes].sum())
    return (within / total if total > 0 else None), within, total
