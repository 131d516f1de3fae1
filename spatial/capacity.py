"""Supply-to-demand accessibility with capacities: the enhanced two-step floating catchment.

E2SFCA (Luo & Qi 2009)
----------------------
Luo, W. & Qi, Y. (2009), "An enhanced two-step floating catchment area (E2SFCA) method
for measuring spatial accessibility to primary care physicians", *Health & Place* 15(4),
1100-1107. With travel-time bands ``r`` and weights ``W_r``:

1. For every facility ``j`` with capacity ``S_j`` (beds, seats, doctors), the weighted
   demand is ``D_j = sum_k P_k * W(t_kj)`` over the cells ``k`` within its catchment, and
   its supply-to-demand ratio is ``R_j = S_j / D_j``.
2. For every cell ``i``, the score is ``A_i = sum_j R_j * W(t_ij)`` over the facilities
   within its catchment: capacity per resident (multiply by 1,000 for "per 1,000
   residents").

Luo & Qi used three 10-minute driving zones, 0-10, 10-20 and 20-30 minutes, weighted
1.00, 0.68 and 0.22, values they took from a Gaussian distance-decay function. (Checked
against secondary sources and code reusing the same step weights, not against the paper's
full text, which was not available offline.) A 15-minute walking life circle is half that span, so
:data:`DEFAULT_BANDS` keeps the three weights and scales each zone to 5 minutes:
0-5 min 1.00, 5-10 min 0.68, 10-15 min 0.22. A band ``(lo, hi, w)`` holds times
``lo < t <= hi`` (the first band also holds ``t == lo``); times outside every band weigh 0.
Because both steps use the same weights, ``sum_i P_i A_i = sum_j S_j`` over facilities
with demand: the population-weighted mean score is the area's capacity per resident.

Over-subscribed places
----------------------
:func:`oversubscribed` flags a cell that has a facility within the threshold but whose
score is below ``share`` (default 50 %) of a reference score -- by default the area's
population-weighted mean score, i.e. its capacity per resident -- and a facility whose
ratio ``R_j`` is below ``share`` of the same reference (its weighted catchment holds more
than twice the people per unit of capacity than the area as a whole). A planner's target
(e.g. 0.0015 beds per resident) may be given as ``reference`` instead.

Time matrices
-------------
Functions take ``times_seconds`` of shape ``(n_cells, n_facilities)`` either dense (``inf``
or ``nan`` = unreachable) or scipy.sparse, where **stored entries are the reachable
pairs and an absent entry means unreachable**. A cell at a facility has time 0, which a
sparse matrix must store explicitly (``eliminate_zeros()`` would drop it);
:func:`cell_facility_seconds` builds such a matrix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from lifecircle import settings
from lifecircle._errors import OptionError
from lifecircle._progress import progress_bar
from lifecircle.spatial.travel import EdgeLocation, ReverseGraph, origin_seconds, per_facility_node_seconds

__all__ = [
    "DEFAULT_BANDS",
    "band_weights",
    "e2sfca",
    "Oversubscription",
    "oversubscribed",
    "cell_facility_seconds",
]

log = logging.getLogger(__name__)

#: ``(lo_minutes, hi_minutes, weight)``: Luo & Qi's (2009) weights 1.00 / 0.68 / 0.22 for
#: 0-10 / 10-20 / 20-30 min zones, scaled to 5-minute walking zones within 15 minutes.
DEFAULT_BANDS: tuple[tuple[float, float, float], ...] = ((0.0, 5.0, 1.0), (5.0, 10.0, 0.68), (10.0, 15.0, 0.22))


def _check_bands(bands: tuple[tuple[float, float, float], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        arr = np.asarray(bands, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"bands must be (lo_minutes, hi_minutes, weight) triples; got {bands!r}.") from exc
    if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) == 0:
        raise OptionError(f"bands must be a non-empty sequence of (lo_minutes, hi_minutes, weight); got {bands!r}.")
    lo, hi, w = arr[:, 0], arr[:, 1], arr[:, 2]
    if not (np.all(np.isfinite(arr)) and np.all(lo >= 0) and np.all(hi > lo) and np.all(lo[1:] >= hi[:-1])):
        raise OptionError(f"bands must be finite, start at >= 0 minutes, have hi > lo and not overlap, in order; got {bands!r}.")
    if np.any(w < 0) or np.any(w > 1):
        raise OptionError(f"band weights must lie in 0-1; got {w.tolist()}.")
    return lo, hi, w


def band_weights(minutes: np.ndarray, bands: tuple[tuple[float, float, float], ...] = DEFAULT_BANDS) -> np.ndarray:
    """Distance-decay weight of each travel time (minutes), 0 outside every band.

    A band ``(lo, hi, w)`` holds ``lo < t <= hi``; the first band also holds ``t == lo``.

    Parameters
    ----------
    minutes : numpy.ndarray
        Travel times in minutes, any shape; ``inf`` / NaN (not reached) weigh 0.
    bands : tuple of (lo_minutes, hi_minutes, weight), default :data:`DEFAULT_BANDS`
        Non-overlapping bands in increasing order, ``0 <= lo < hi``, weights in 0-1.

    Returns
    -------
    numpy.ndarray
        float64 weights, the shape of ``minutes``.

    Raises
    ------
    OptionError
        ``bands`` is empty, not finite, overlapping, out of order or has a weight outside 0-1.

    Examples
    --------
    >>> import numpy as np
    >>> band_weights(np.array([0.0, 5.0, 5.5, 10.0, 15.0, np.inf]), ((0, 5, 1.0), (5, 10, 0.5))).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    """
    lo, hi, w = _check_bands(bands)
    m = np.asarray(minutes, dtype=np.float64)
    idx = np.searchsorted(hi, m, side="left")  # first band whose upper edge is >= m
    inside = idx < len(hi)
    j = np.minimum(idx, len(hi) - 1)
    above_lo = np.where(j == 0, m >= lo[0], m > lo[j])
    return np.where(inside & above_lo & np.isfinite(m), w[j], 0.0)


def _pairs(times_seconds, n_cells: int, n_facilities: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell, facility, seconds) of every reachable pair."""
    if sparse.issparse(times_seconds):
        coo = sparse.coo_matrix(times_seconds)
        shape = coo.shape
        rows, cols, t = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
        if len(rows):
            key = rows * max(shape[1], 1) + cols
            if len(np.unique(key)) != len(key):
                raise OptionError("times_seconds has duplicate (cell, facility) entries; sum_duplicates would add times.")
    else:
        arr = np.asarray(times_seconds, dtype=np.float64)
        if arr.ndim != 2:
            raise OptionError(f"times_seconds must be a 2-D (cells x facilities) matrix; got shape {arr.shape}.")
        shape = arr.shape
        rows, cols = np.nonzero(np.isfinite(arr))
        t = arr[rows, cols]
    if shape != (n_cells, n_facilities):
        raise OptionError(
            f"times_seconds has shape {shape}; expected (cells, facilities) = ({n_cells}, {n_facilities})."
        )
    keep = np.isfinite(t)
    if np.any(t[keep] < 0):
        raise OptionError(f"times_seconds must not be negative; found {t[keep].min()}.")
    return rows[keep], cols[keep], t[keep]


def _vector(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise OptionError(f"{name} must be one value per row; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise OptionError(f"{name} must be finite and >= 0; found min {np.nanmin(arr) if arr.size else 'n/a'}, "
                          f"nan/inf present: {not np.all(np.isfinite(arr))}.")
    return arr


def e2sfca(
    cell_population: np.ndarray,
    times_seconds,
    facility_capacity: np.ndarray,
    *,
    bands: tuple[tuple[float, float, float], ...] = DEFAULT_BANDS,
) -> tuple[np.ndarray, np.ndarray]:
    """Enhanced two-step floating catchment accessibility (Luo & Qi 2009).

    Parameters
    ----------
    cell_population : numpy.ndarray
        People (or weights) per cell, shape ``(n_cells,)``.
    times_seconds : numpy.ndarray or scipy.sparse matrix
        Walking seconds from each cell to each facility, shape ``(n_cells, n_facilities)``;
        see the module notes for how unreachable pairs and zeros are written.
    facility_capacity : numpy.ndarray
        Capacity per facility (beds, seats ...), shape ``(n_facilities,)``.
    bands : sequence of (lo_minutes, hi_minutes, weight)
        Travel-time bands and weights; default :data:`DEFAULT_BANDS`.

    Returns
    -------
    cell_score : numpy.ndarray
        ``A_i``, capacity per resident reachable from each cell (0 where no facility is
        within the bands).
    facility_ratio : numpy.ndarray
        ``R_j``, capacity per weighted resident of each facility's catchment; ``nan`` for
        a facility nobody (with people) is within the bands of. Such a facility adds
        nothing to any cell's score.
    """
    pop = _vector(cell_population, "cell_population")
    cap = _vector(facility_capacity, "facility_capacity")
    _check_bands(bands)
    rows, cols, t = _pairs(times_seconds, len(pop), len(cap))
    w = band_weights(t / 60.0, bands)
    use = w > 0
    rows, cols, w = rows[use], cols[use], w[use]
    demand = np.bincount(cols, weights=pop[rows] * w, minlength=len(cap))
    # over: a vanishing (denormal) demand gives an infinite ratio, dropped below as non-finite.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(demand > 0, cap / np.where(demand > 0, demand, 1.0), np.nan)
    contrib = ratio[cols] * w
    ok = np.isfinite(contrib)
    score = np.bincount(rows[ok], weights=contrib[ok], minlength=len(pop))
    log.info(
        "E2SFCA: %d cells, %d facilities, %d weighted pairs, %d facilities without demand",
        len(pop), len(cap), len(rows), int(np.isnan(ratio).sum()),
    )
    return score, ratio


@dataclass(frozen=True, eq=False)
class Oversubscription:
    """Which cells and facilities are within reach but over-subscribed.

    Attributes
    ----------
    cells : numpy.ndarray
        Bool per cell: a facility within the threshold, score below ``share x reference``.
    facilities : numpy.ndarray
        Bool per facility: ratio ``R_j`` below ``share x reference`` (``False`` where
        ``R_j`` is nan).
    reference : float
        The reference score used (capacity per resident).
    share : float
    """

    cells: np.ndarray
    facilities: np.ndarray
    reference: float
    share: float


def oversubscribed(
    cell_score: np.ndarray,
    times_seconds,
    *,
    cell_population: np.ndarray,
    facility_ratio: np.ndarray,
    threshold_minutes: float | None = None,
    share: float = 0.5,
    reference: float | None = None,
) -> Oversubscription:
    """Flag cells within reach of a facility whose capacity is spread too thin.

    Parameters
    ----------
    cell_score, facility_ratio : numpy.ndarray
        From :func:`e2sfca`.
    times_seconds : numpy.ndarray or scipy.sparse matrix
        The matrix given to :func:`e2sfca`.
    cell_population : numpy.ndarray
        The population given to :func:`e2sfca` (for the default reference).
    threshold_minutes : float, optional
        "Within reach" limit; default :data:`lifecircle.settings.threshold_minutes`.
    share : float, default 0.5
        Flag scores below this share of the reference (0 < share <= 1).
    reference : float, optional
        Capacity per resident regarded as adequate. Default: the population-weighted
        mean cell score, which equals the reached capacity per resident of the area.

    Returns
    -------
    Oversubscription
        Boolean masks of the flagged cells (within reach of some facility and scoring below
        ``share * reference``) and facilities (finite ratio below it), with the reference and share used.

    Raises
    ------
    OptionError
        Lengths of ``cell_population`` and ``cell_score`` differ, ``share`` is outside (0, 1],
        ``threshold_minutes`` is not > 0, ``reference`` is negative or not finite, or
        ``times_seconds`` is not a (cells x facilities) matrix of times >= 0.
    """
    score = _vector(cell_score, "cell_score")
    pop = _vector(cell_population, "cell_population")
    ratio = np.asarray(facility_ratio, dtype=np.float64)
    if len(pop) != len(score):
        raise OptionError(f"cell_population has {len(pop)} values but cell_score has {len(score)}.")
    if not 0 < share <= 1:
        raise OptionError(f"share must lie in (0, 1]; got {share!r}.")
    limit = settings.threshold_minutes if threshold_minutes is None else float(threshold_minutes)
    if not limit > 0:
        raise OptionError(f"threshold_minutes must be > 0; got {threshold_minutes!r}.")
    if reference is None:
        reference = float((pop * score).sum() / pop.sum()) if pop.sum() > 0 else 0.0
    elif not (np.isfinite(reference) and reference >= 0):
        raise OptionError(f"reference must be a finite score >= 0; got {reference!r}.")
    rows, _, t = _pairs(times_seconds, len(score), len(ratio))
    within = np.zeros(len(score), dtype=bool)
    within[rows[t <= limit * 60.0]] = True
    bar = share * reference
    cells = within & (score < bar)
    facilities = np.isfinite(ratio) & (ratio < bar)
    log.info(
        "over-subscribed: %d of %d cells within reach, %d of %d facilities (reference %.6g per resident, share %.2f)",
        int(cells.sum()), int(within.sum()), int(facilities.sum()), len(ratio), reference, share,
    )
    return Oversubscription(cells=cells, facilities=facilities, reference=float(reference), share=float(share))


def cell_facility_seconds(
    graph: ReverseGraph,
    access: pd.DataFrame,
    origins: EdgeLocation,
    *,
    n_facilities: int,
    limit_seconds: float,
    leg_speed_kmh: float,
    memory_budget_bytes: int | None = None,
) -> sparse.csr_matrix:
    """Seconds from every origin to every facility within a limit, as a sparse matrix.

    One bounded search per facility (:func:`lifecircle.spatial.travel.per_facility_node_seconds`),
    then each origin's time from its position on its edge
    (:func:`lifecircle.spatial.travel.origin_seconds`, counting a direct walk along an
    edge the facility is reached on).

    Parameters
    ----------
    graph : ReverseGraph
    access : pandas.DataFrame
        From :func:`lifecircle.spatial.travel.facility_access_points`.
    origins : EdgeLocation
        Cell centres joined to the network; unmatched origins get no entries.
    n_facilities : int
        Rows of the facilities table (columns of the result).
    limit_seconds : float
        Keep times ``<= limit_seconds`` (e.g. the last band's upper edge x 60).
    leg_speed_kmh : float
        Speed of the off-network leg (the walker's flat speed, km/h).
    memory_budget_bytes : int, optional
        Passed to ``per_facility_node_seconds``.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(n_origins, n_facilities)``, float64. Stored entries are exactly the
        reachable pairs within the limit; a time of 0 (origin at the facility) is stored
        as an explicit zero, so do not call ``eliminate_zeros()`` on it.

    Raises
    ------
    OptionError
        ``limit_seconds`` is not a finite number > 0.
    """
    if not (limit_seconds > 0 and np.isfinite(limit_seconds)):
        raise OptionError(f"limit_seconds must be a finite number > 0; got {limit_seconds!r}.")
    n_origins = len(origins.edge)
    data: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    counts = np.zeros(n_facilities, dtype=np.int64)
    facs: list[int] = []
    matched = np.flatnonzero(origins.matched)
    edge = origins.edge[matched]
    by_facility = {int(f): g for f, g in access.groupby("facility", sort=True)}
    searches = per_facility_node_seconds(
        graph, access, n_facilities=n_facilities, limit_seconds=limit_seconds,
        leg_speed_kmh=leg_speed_kmh, memory_budget_bytes=memory_budget_bytes,
    )
    for fac, node_seconds in progress_bar(
        searches, total=len(by_facility), desc="cell-facility times", unit="facility",
    ):
        acc = by_facility[fac]
        # Only origins on an edge with a reached end, or on one of the facility's own edges.
        near = np.isfinite(node_seconds[graph.u[edge]]) | np.isfinite(node_seconds[graph.v[edge]])
        near |= np.isin(edge, acc["edge"].to_numpy())
        sub = matched[near]
        if len(sub) == 0:
            continue
        loc = EdgeLocation(origins.edge[sub], origins.fraction[sub], origins.distance_m[sub])
        sec = origin_seconds(graph, node_seconds, loc, access=acc, leg_speed_kmh=leg_speed_kmh)
        ok = np.isfinite(sec) & (sec <= limit_seconds)
        indices.append(sub[ok])
        data.append(sec[ok])
        counts[fac] = int(ok.sum())
        facs.append(fac)
    csc = _facility_columns(facs, data, indices, counts, n_origins)
    out = csc.tocsr()
    log.info("cell-facility times: %d origins x %d facilities, %d pairs within %.0f s", n_origins, n_facilities, out.nnz, limit_seconds)
    return out


def _facility_columns(facs: list[int], data: list[np.ndarray], indices: list[np.ndarray], counts: np.ndarray,
                      n_origins: int) -> sparse.csc_matrix:
    """The per-facility times as one CSC matrix, column by column (facilities ascending),
    so that explicit zeros (an origin at the facility) survive."""
    n_facilities = len(counts)
    order = np.argsort(np.asarray(facs, dtype=np.int64), kind="stable")
    indptr = np.zeros(n_facilities + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return sparse.csc_matrix(
        (
            np.concatenate([data[k] for k in order]) if data else np.zeros(0),
            np.concatenate([indices[k] for k in order]).astype(np.int64) if indices else np.zeros(0, dtype=np.int64),
            indptr,
        ),
        shape=(n_origins, n_facilities),
    )
