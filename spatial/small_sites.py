"""Small sites (pocket parks, a health station in a leftover lot): plot size, spacing, capacity.

The greedy maximal covering of :mod:`lifecircle.spatial.siting` with three constraints a
planner sets for small sites:

- **minimum plot area** (:func:`plots_at_least`): a pocket park needs some 400 m²;
- **minimum spacing** between suggested sites: once a site is chosen, every candidate
  closer to it than the spacing (edge to edge, metres) leaves the pool;
- **capacity per site**: a site newly serves at most this many people, the nearest first
  (by walking time; ties by cell order). A cell partly served keeps the rest of its people
  for the next sites.

Without spacing and capacity the choice is exactly
:func:`lifecircle.spatial.siting.suggest_sites`'s (the tests check it).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from lifecircle._errors import OptionError

__all__ = ["plots_at_least", "spaced_sites"]

log = logging.getLogger(__name__)


def plots_at_least(plots: gpd.GeoDataFrame, *, min_area_m2: float) -> gpd.GeoDataFrame:
    """The polygon plots of at least ``min_area_m2``, with their ``area_m2``.

    Parameters
    ----------
    plots : geopandas.GeoDataFrame
        Candidate plots in a metric (projected) CRS. Points and lines have no area and
        are left out (counted in ``attrs["without_area"]``).
    min_area_m2 : float
        Smallest plot kept, square metres (> 0).

    Returns
    -------
    geopandas.GeoDataFrame
        The kept rows (same columns, plus ``area_m2``), in their order, index 0..n-1;
        ``attrs`` hold ``plots``, ``too_small`` and ``without_area``.

    Raises
    ------
    OptionError
        ``min_area_m2`` is not a number > 0, or the plots are not in a projected CRS.

    Examples
    --------
    >>> import shapely
    >>> p = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10), shapely.box(0, 0, 30, 20),
    ...                                shapely.Point(5, 5)], crs=32648)
    >>> kept = plots_at_least(p, min_area_m2=400)
    >>> kept["area_m2"].tolist(), kept.attrs["too_small"], kept.attrs["without_area"]
    ([600.0], 1, 1)
    """
    if not np.isfinite(min_area_m2) or min_area_m2 <= 0:
        raise OptionError(f"--min-area must be square metres > 0; found {min_area_m2!r}.")
    if plots.crs is None or not plots.crs.is_projected:
        raise OptionError(f"plots must be in a metric CRS to measure their area; found {plots.crs}.")
    kinds = shapely.get_type_id(plots.geometry.to_numpy())
    polygon = np.isin(kinds, (3, 6))
    area = np.where(polygon, shapely.area(plots.geometry.to_numpy()), 0.0)
    keep = polygon & (area >= min_area_m2)
    out = plots.loc[keep].copy()
    out["area_m2"] = np.round(area[keep], 1)
    out = out.reset_index(drop=True)
    out.attrs.update({"plots": len(plots), "too_small": int((polygon & ~keep).sum()),
                      "without_area": int((~polygon).sum())})
    return out


def _check_inputs(seconds: sparse.spmatrix | sparse.sparray, pop: np.ndarray, served: np.ndarray,
                  geometries: np.ndarray | None, capacity: np.ndarray | None) -> None:
    n_cand, n_cells = seconds.shape
    if pop.shape != (n_cells,) or served.shape != (n_cells,):
        raise OptionError(f"cell_population and already_served need {n_cells} values; found {pop.shape} and "
                          f"{served.shape}.")
    if not np.isfinite(pop).all() or (pop < 0).any():
        raise OptionError("cell_population must be finite numbers >= 0.")
    if geometries is not None and len(geometries) != n_cand:
        raise OptionError(f"geometries has {len(geometries)} rows; there are {n_cand} candidates.")
    if capacity is not None and (capacity.shape != (n_cand,) or not (capacity >= 0).all()):
        raise OptionError(f"capacity needs {n_cand} numbers >= 0 (people per site); found {capacity.shape} with "
                          "negative or missing values.")


def _check_choice(count: int, min_spacing_m: float | None, geometries: np.ndarray | None) -> None:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise OptionError(f"count must be a whole number >= 1; found {count!r}.")
    if min_spacing_m is not None and (not np.isfinite(min_spacing_m) or min_spacing_m <= 0):
        raise OptionError(f"--min-spacing must be metres > 0; found {min_spacing_m!r}.")
    if min_spacing_m is not None and geometries is None:
        raise OptionError("a minimum spacing needs the candidates' geometries.")


def _people_taken(times: sparse.csr_matrix, best: int, remaining: np.ndarray,
                  capacity: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The cells a site reaches (nearest first) and the people it newly serves in each."""
    lo, hi = times.indptr[best], times.indptr[best + 1]
    cells, secs = times.indices[lo:hi], times.data[lo:hi]
    order = np.lexsort((cells, secs))  # nearest first, then cell order
    cells = cells[order]
    people = remaining[cells]
    if capacity is None:
        return cells, people
    before = np.concatenate([[0.0], np.cumsum(people)[:-1]])  # the nearest people until the site is full
    return cells, np.clip(capacity - before, 0.0, people)


def spaced_sites(
    seconds: sparse.spmatrix | sparse.sparray,
    cell_population: np.ndarray,
    already_served: np.ndarray,
    *,
    count: int,
    geometries: np.ndarray | None = None,
    min_spacing_m: float | None = None,
    capacity: np.ndarray | None = None,
) -> pd.DataFrame:
    """Choose sites greedily under a minimum spacing and a capacity per site.

    Parameters
    ----------
    seconds : scipy.sparse matrix, shape (n_candidates, n_cells)
        Walking seconds from each cell to each candidate, stored only where within the
        threshold (explicit zeros count: a cell at the candidate).
    cell_population : numpy.ndarray, shape (n_cells,)
        People per cell (finite, >= 0).
    already_served : numpy.ndarray of bool, shape (n_cells,)
        Cells within the threshold of an existing facility.
    count : int
        Sites wanted; fewer when no available candidate serves anyone new.
    geometries : numpy.ndarray of shapely geometries, optional
        The candidates in a metric CRS, for the spacing.
    min_spacing_m : float, optional
        No two chosen sites closer than this (edge to edge); needs ``geometries``.
    capacity : numpy.ndarray, optional
        People each candidate can newly serve (its nearest first).

    Returns
    -------
    pandas.DataFrame
        One row per site in the order chosen: ``rank``, ``candidate``, ``marginal_gain``
        (people newly served by it), ``cumulative``, ``new_cells`` (cells it serves people
        of), ``capacity`` (NaN without one).

    Raises
    ------
    OptionError
        A count, spacing, population, geometry or capacity that does not fit (named).

    Notes
    -----
    Ties go to the lowest candidate row: the result is deterministic.
    """
    _check_choice(count, min_spacing_m, geometries)
    times = sparse.csr_matrix(seconds, dtype=np.float64)
    times.sort_indices()
    pop = np.asarray(cell_population, dtype=np.float64)
    served = np.asarray(already_served, dtype=bool)
    cap = None if capacity is None else np.asarray(capacity, dtype=np.float64)
    _check_inputs(times, pop, served, geometries, cap)
    n_cand = times.shape[0]
    weights = sparse.csr_matrix((np.ones(times.nnz), times.indices, times.indptr), shape=times.shape)
    remaining = np.where(served, 0.0, pop)
    available = np.ones(n_cand, dtype=bool)
    rows: list[dict] = []
    cumulative = 0.0
    for rank in range(1, int(count) + 1):
        gains = weights @ remaining
        if cap is not None:
            gains = np.minimum(gains, cap)
        gains[~available] = -1.0
        best = int(np.argmax(gains)) if n_cand else -1
        if best < 0 or gains[best] <= 0:
            log.info("Small-site suggestion stopped after %d sites: no available candidate serves anyone new", rank - 1)
            break
        cells, take = _people_taken(times, best, remaining, None if cap is None else float(cap[best]))
        remaining[cells] -= take
        gain = float(take.sum())
        cumulative += gain
        rows.append({"rank": rank, "candidate": best, "marginal_gain": gain, "cumulative": cumulative,
                     "new_cells": int((take > 0).sum()), "capacity": np.nan if cap is None else float(cap[best])})
        available[best] = False
        if min_spacing_m is not None and geometries is not None:
            available &= ~(shapely.distance(geometries, geometries[best]) < min_spacing_m)
    out = pd.DataFrame(rows, columns=["rank", "candidate", "marginal_gain", "cumulative", "new_cells", "capacity"])
    return out.astype({"rank": np.int64, "candidate": np.int64, "marginal_gain": float, "cumulative": float,
                       "new_cells": np.int64, "capacity": float})
