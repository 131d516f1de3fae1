"""Where to put the next facilities: greedy maximal covering.

Given existing facilities (fixed) and candidate sites, choose ``count`` sites one at a time,
each time the one that brings the most not-yet-served people within the walking threshold
(Church & ReVelle's maximal covering location problem, solved greedily). The greedy choice
is the standard heuristic for this problem: its total is at least ``1 - 1/e`` (63 %) of the
best possible one (Nemhauser, Wolsey & Fisher 1978), and every site's *marginal gain* is
exactly the number of people it newly serves given the sites chosen before it, so the gains
can be checked by re-running the access computation with the sites added as facilities.

The coverage matrix
-------------------
``coverage`` is a ``scipy.sparse`` boolean matrix of shape ``(candidates, cells)``:
``coverage[i, j]`` is true when cell ``j`` is within the threshold of candidate ``i``
(walking from the cell to the candidate). :func:`candidate_coverage` builds it with the same
search as :func:`lifecircle.spatial.travel.nearest_facility` and
:func:`~lifecircle.spatial.travel.origin_seconds`, so a cell counted as covered by a site is
exactly a cell whose time to that site, computed as a facility, is within the threshold.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse

from lifecircle._errors import OptionError
from lifecircle.spatial.capacity import cell_facility_seconds
from lifecircle.spatial.network import WalkNetwork
from lifecircle.spatial.travel import (
    EdgeLocation,
    ReverseGraph,
    facility_access_points,
    nearest_facility,
    origin_seconds,
)

__all__ = ["suggest_sites", "candidate_coverage", "node_candidates", "site_suggestions"]

log = logging.getLogger(__name__)


def _check_count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise OptionError(f"count must be a whole number >= 1; found {count!r}.")
    return int(count)


def _check_greedy_inputs(cell_population: np.ndarray, already_served: np.ndarray,
                         candidate_ids: np.ndarray | pd.Index | None, n_cand: int, n_cells: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate :func:`suggest_sites`' arrays against the matrix; return people, served, labels."""
    pop = np.asarray(cell_population, dtype=np.float64)
    served = np.asarray(already_served, dtype=bool)
    if pop.shape != (n_cells,):
        raise OptionError(f"cell_population has shape {pop.shape}; coverage has {n_cells} cells.")
    if served.shape != (n_cells,):
        raise OptionError(f"already_served has shape {served.shape}; coverage has {n_cells} cells.")
    if not np.isfinite(pop).all() or (pop < 0).any():
        raise OptionError("cell_population must be finite numbers >= 0.")
    if candidate_ids is None:
        return pop, served, np.arange(n_cand)
    ids = np.asarray(candidate_ids)
    if ids.shape != (n_cand,):
        raise OptionError(f"candidate_ids has {len(ids)} labels; coverage has {n_cand} candidates.")
    return pop, served, ids


def suggest_sites(
    coverage: sparse.spmatrix | sparse.sparray,
    cell_population: np.ndarray,
    already_served: np.ndarray,
    *,
    count: int,
    candidate_ids: np.ndarray | pd.Index | None = None,
) -> pd.DataFrame:
    """Choose sites greedily, each adding the most newly served people.

    Parameters
    ----------
    coverage : scipy.sparse matrix or array, shape (n_candidates, n_cells)
        ``True`` (non-zero) where a cell is within the threshold of a candidate.
    cell_population : numpy.ndarray, shape (n_cells,)
        Residents per cell (finite, >= 0).
    already_served : numpy.ndarray of bool, shape (n_cells,)
        Cells already within the threshold of an existing facility; they add nothing.
    count : int
        Number of sites wanted. Fewer are returned when no remaining candidate serves
        anyone new.
    candidate_ids : array-like, optional
        Label of each candidate for the ``site`` column; default the candidate's row.

    Returns
    -------
    pandas.DataFrame
        One row per chosen site in the order chosen: ``rank`` (1..), ``candidate`` (row in
        ``coverage``), ``site`` (its label), ``marginal_gain`` (people newly served by this
        site given the earlier ones), ``cumulative`` (running total of gains),
        ``new_cells`` (cells newly served).

    Notes
    -----
    Each iteration is one sparse matrix-vector product (the gains of all candidates on the
    still-unserved population), so the cost is ``count`` times the matrix's non-zeros.
    Ties go to the lowest candidate row, so results are deterministic.
    """
    k = _check_count(count)
    cov = sparse.csr_matrix(coverage, dtype=bool, copy=True)  # sum_duplicates works in place
    n_cand, n_cells = cov.shape
    pop, served, ids = _check_greedy_inputs(cell_population, already_served, candidate_ids, n_cand, n_cells)
    cov.sum_duplicates()
    cov.eliminate_zeros()
    weights = cov.astype(np.float64)

    remaining = np.where(served, 0.0, pop)
    rows: list[dict] = []
    cumulative = 0.0
    for rank in range(1, k + 1):
        # Gains of every candidate on the people still unserved: one sparse product.
        gains = weights @ remaining
        best = int(np.argmax(gains)) if n_cand else -1  # first maximum: lowest row wins ties
        if best < 0 or gains[best] <= 0:
            log.info("Site suggestion stopped after %d sites: no candidate serves anyone new", rank - 1)
            break
        cells = cov.indices[cov.indptr[best] : cov.indptr[best + 1]]
        newly = cells[remaining[cells] > 0]
        gain = float(remaining[newly].sum())
        remaining[cells] = 0.0
        cumulative += gain
        rows.append({
            "rank": rank, "candidate": best, "site": ids[best], "marginal_gain": gain,
            "cumulative": cumulative, "new_cells": int(len(newly)),
        })
    out = pd.DataFrame(rows, columns=["rank", "candidate", "site", "marginal_gain", "cumulative", "new_cells"])
    out = out.astype({"rank": np.int64, "candidate": np.int64, "marginal_gain": float, "cumulative": float,
                      "new_cells": np.int64})
    log.info("Suggested %d sites from %d candidates: %.0f people newly served", len(out), n_cand, cumulative)
    return out


def candidate_coverage(
    graph: ReverseGraph,
    origins: EdgeLocation,
    candidates_access: pd.DataFrame,
    *,
    limit_seconds: float,
    n_candidates: int,
    leg_speed_kmh: float,
    memory_budget_bytes: int | None = None,
) -> sparse.csr_matrix:
    """Which origins (cells) are within ``limit_seconds`` of each candidate site.

    Each candidate is searched as a facility on its own (one bounded Dijkstra per candidate,
    in batches, via :func:`lifecircle.spatial.travel.per_facility_node_seconds`); an origin's
    time is then computed exactly as :func:`~lifecircle.spatial.travel.origin_seconds` does
    (off-network leg, along its edge to either end, or directly along a shared edge).

    Parameters
    ----------
    graph : ReverseGraph
        From :func:`lifecircle.spatial.travel.reverse_graph`.
    origins : EdgeLocation
        Cell centres on the network (:func:`~lifecircle.spatial.travel.locate_on_network`).
    candidates_access : pandas.DataFrame
        Access points of the candidates, as from
        :func:`~lifecircle.spatial.travel.facility_access_points` (``facility`` = candidate row).
    limit_seconds : float
        The walking threshold; a cell is covered when its time is at most this.
    n_candidates : int
        Number of candidates (rows of the matrix); candidates without access points cover
        nothing.
    leg_speed_kmh : float
        Speed of the off-network legs (the walker's flat speed, km/h).
    memory_budget_bytes : int, optional
        Passed to :func:`~lifecircle.spatial.travel.per_facility_node_seconds`.

    Returns
    -------
    scipy.sparse.csr_matrix
        Boolean, shape ``(n_candidates, n_origins)``.

    Raises
    ------
    OptionError
        ``limit_seconds`` is not a positive finite number, ``n_candidates`` is not a whole
        number >= 0, or ``candidates_access`` names a candidate at or beyond ``n_candidates``.
    """
    if not np.isfinite(limit_seconds) or limit_seconds <= 0:
        raise OptionError(f"limit_seconds must be a positive finite number; found {limit_seconds!r}.")
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, (int, np.integer)) or n_candidates < 0:
        raise OptionError(f"n_candidates must be a whole number >= 0; found {n_candidates!r}.")
    n_orig = len(origins.edge)
    if len(candidates_access) and int(candidates_access["facility"].max()) >= n_candidates:
        raise OptionError(
            f"candidates_access names candidate {int(candidates_access['facility'].max())} but n_candidates is {n_candidates}."
        )
    # The origins x candidates times within the limit, one bounded search per candidate (the
    # same arithmetic as every other origin time: lifecircle.spatial.travel.origin_seconds).
    times = cell_facility_seconds(graph, candidates_access, origins, n_facilities=n_candidates,
                                  limit_seconds=limit_seconds, leg_speed_kmh=leg_speed_kmh,
                                  memory_budget_bytes=memory_budget_bytes).tocsc()
    # Its CSC arrays are the CSR arrays of the transpose; every stored entry (explicit zeros
    # too) is a covered pair.
    matrix = sparse.csr_matrix((np.ones(times.nnz, dtype=bool), times.indices, times.indptr),
                               shape=(n_candidates, n_orig))
    log.info("Candidate coverage: %d candidates x %d cells, %d pairs within %.0f s",
             n_candidates, n_orig, matrix.nnz, limit_seconds)
    return matrix


def node_candidates(
    network: WalkNetwork,
    *,
    spacing_m: float | None = None,
    largest_component_only: bool = True,
) -> gpd.GeoDataFrame:
    """Network nodes as candidate sites, optionally thinned to one per grid square.

    Parameters
    ----------
    network : WalkNetwork
    spacing_m : float, optional
        Keep at most one node per ``spacing_m`` square (the lowest node position in each),
        which bounds the number of searches; default keep every node.
    largest_component_only : bool, default True
        Leave out nodes outside the largest connected component (islands of footpaths
        where a new facility would serve almost no one).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``node`` (node position), ``osm_id``, ``geometry`` (points in
        ``network.crs``), ordered by node position.

    Raises
    ------
    OptionError
        ``spacing_m`` is given and is not a positive finite number.

    Examples
    --------
    The small network keeps three nodes: N1 (OSM id 11), N4 (14) and N5 (15), 200 m north
    of N4. In 700 m squares N4 and N5 share one, and the lower node position stays:

    >>> from lifecircle.testing import small_model
    >>> network = small_model().network
    >>> node_candidates(network)["osm_id"].tolist()
    [11, 14, 15]
    >>> node_candidates(network, spacing_m=700)["osm_id"].tolist()
    [11, 14]
    """
    nodes = network.nodes
    keep = np.ones(len(nodes), dtype=bool)
    if largest_component_only:
        keep &= nodes["component"].to_numpy() == 0
    idx = np.flatnonzero(keep)
    if spacing_m is not None:
        if not np.isfinite(spacing_m) or spacing_m <= 0:
            raise OptionError(f"spacing_m must be a positive number of metres; found {spacing_m!r}.")
        xy = shapely.get_coordinates(nodes.geometry.to_numpy()[idx])
        gx = np.floor(xy[:, 0] / spacing_m).astype(np.int64)
        gy = np.floor(xy[:, 1] / spacing_m).astype(np.int64)
        _, first = np.unique(np.stack([gx, gy], axis=1), axis=0, return_index=True)
        idx = idx[np.sort(first)]
    return gpd.GeoDataFrame(
        {"node": idx, "osm_id": nodes["osm_id"].to_numpy()[idx]},
        geometry=nodes.geometry.to_numpy()[idx],
        crs=network.crs,
    )


def site_suggestions(  # noqa: PLR0913 - keyword-only tuning options with defaults
    network: WalkNetwork,
    graph: ReverseGraph,
    origins: EdgeLocation,
    cell_population: np.ndarray,
    existing: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    threshold_minutes: float,
    count: int,
    leg_speed_kmh: float,
    max_access_distance_m: float | None = None,
    entrances: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Suggest ``count`` new sites for one category, existing facilities fixed.

    Joins the steps: who the existing facilities already serve
    (:func:`~lifecircle.spatial.travel.nearest_facility`), which cells each candidate would
    serve (:func:`candidate_coverage`) and the greedy choice (:func:`suggest_sites`).

    Parameters
    ----------
    network : WalkNetwork
    graph : ReverseGraph
        The search graph of the walking profile in use.
    origins : EdgeLocation
        The cells' centres on the network.
    cell_population : numpy.ndarray
        People per cell (same order as ``origins``).
    existing : geopandas.GeoDataFrame
        The category's facilities, in ``network.crs`` (may be empty).
    candidates : geopandas.GeoDataFrame
        Candidate sites in ``network.crs``: points (e.g. :func:`node_candidates`) or
        polygons of available plots (reached where paths cross their outline).
    threshold_minutes : float
        A cell is served when its walk to a facility takes at most this.
    count : int
        Sites wanted.
    leg_speed_kmh : float
        Speed of off-network legs (the walker's flat speed, km/h).
    max_access_distance_m : float, optional
        How far a facility or candidate may lie from the network; default
        :data:`lifecircle.settings.max_access_distance_m`.
    entrances : geopandas.GeoDataFrame, optional
        Mapped entrance points (``network.crs``) where polygon facilities are entered
        first, as in the run.

    Returns
    -------
    geopandas.GeoDataFrame
        The chosen candidates' rows (their columns and geometry, ``network.crs``) in the
        order chosen, with ``rank``, ``candidate`` (row in ``candidates``),
        ``marginal_gain``, ``cumulative`` and ``new_cells`` first. ``attrs`` hold
        ``people``, ``people_served_before`` and ``people_served_after``.
    """
    pop = _check_siting_inputs(network, origins, cell_population, existing, candidates, threshold_minutes)
    limit = float(threshold_minutes) * 60.0
    existing_access = facility_access_points(existing, network, max_distance_m=max_access_distance_m,
                                             entrances=entrances)
    node_s, _ = nearest_facility(graph, existing_access, n_facilities=len(existing), leg_speed_kmh=leg_speed_kmh,
                                 limit_seconds=limit)
    times = origin_seconds(graph, node_s, origins, access=existing_access, leg_speed_kmh=leg_speed_kmh)
    served = np.nan_to_num(times, nan=np.inf) <= limit
    cand_access = facility_access_points(candidates, network, max_distance_m=max_access_distance_m,
                                         entrances=entrances)
    coverage = candidate_coverage(graph, origins, cand_access, limit_seconds=limit, n_candidates=len(candidates),
                                  leg_speed_kmh=leg_speed_kmh)
    chosen = suggest_sites(coverage, pop, served, count=count)
    out = _chosen_rows(chosen, candidates, network.crs)
    before = float(pop[served].sum())
    out.attrs.update({
        "people": float(pop.sum()),
        "people_served_before": before,
        "people_served_after": before + (float(chosen["cumulative"].iloc[-1]) if len(chosen) else 0.0),
    })
    return out


def _check_siting_inputs(network: WalkNetwork, origins: EdgeLocation, cell_population: np.ndarray,
                         existing: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, threshold_minutes: float
                         ) -> np.ndarray:
    """Validate :func:`site_suggestions`' inputs before any search; return the people per cell."""
    if not np.isfinite(threshold_minutes) or threshold_minutes <= 0:
        raise OptionError(f"threshold_minutes must be a positive number; found {threshold_minutes!r}.")
    pop = np.asarray(cell_population, dtype=np.float64)
    if pop.shape != (len(origins.edge),):
        raise OptionError(f"cell_population has {pop.size} values; there are {len(origins.edge)} origins.")
    for frame, name in ((existing, "existing"), (candidates, "candidates")):
        if frame.crs is None or pyproj.CRS(frame.crs) != pyproj.CRS(network.crs):
            raise OptionError(f"{name} must be in the network's CRS ({network.crs.to_string()}); found {frame.crs}.")
    return pop


def _chosen_rows(chosen: pd.DataFrame, candidates: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """The chosen candidates' rows, the choice's columns first."""
    rows = candidates.iloc[chosen["candidate"].to_numpy()].reset_index(drop=True)
    rows = rows.drop(columns=[c for c in chosen.columns if c in rows.columns and c != "geometry"])
    out = pd.concat([chosen.drop(columns=["site"]).reset_index(drop=True), rows], axis=1)
    return gpd.GeoDataFrame(out, geometry=rows.geometry.name, crs=crs)
