"""Planning on top of a run: standards tier by tier, capacity, new sites, renewal lists.

Joins a finished :class:`lifecircle.pipeline.RunResult` to the building blocks in :mod:`lifecircle.spatial.standards`, :mod:`lifecircle.spatial.capacity`
and :mod:`lifecircle.spatial.siting`::

    import lifecircle
    from lifecircle import planning
    result = lifecircle.run(osm="yuzhong.osm.pbf", population="ghs.csv")
    requirements, tiers = planning.standard_scores(result, "gb50180")
    sites = planning.suggest(result, category="clinic", count=5)

Every function reuses the run's model (:class:`lifecircle.model.Model`): its reversed
graph (the walker's costs, terrain included), the cells located on the network, the
catalogue, the study area, the facilities and the options (threshold, speed, access
distance); nothing is read or rebuilt again. Facilities of categories the run did not
compute are found in the model's OSM features and ``--facilities`` file as the run finds
them. Headers and translations belong to the writers (:mod:`lifecircle.outputs`).
Inputs are never modified. GeoDataFrames returned are in the run's metric CRS
(``result.network.crs``); tables carry longitude/latitude in EPSG:4326.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import FacilitiesFileError, InputNotFoundError, NoCrsError, OptionError, UnknownCategoryError
from lifecircle.layers.chinese_coords import bd09_to_wgs84, gcj02_to_wgs84
from lifecircle.layers.facilities import LAT_ALIASES, LON_ALIASES, find_facilities
from lifecircle.layers.standards import Standard, load_standard
from lifecircle.schema import minutes_column
from lifecircle.spatial.capacity import (
    DEFAULT_BANDS,
    Oversubscription,
    cell_facility_seconds,
    e2sfca,
    oversubscribed,
)
from lifecircle.spatial.siting import candidate_coverage, node_candidates, site_suggestions
from lifecircle.spatial.standards import (
    requirement_facilities,
    resolve_requirement,
    score_communities,
    score_requirements,
)
from lifecircle.spatial.travel import facility_access_points, nearest_facility, origin_seconds

__all__ = [
    "standard_minutes",
    "standard_scores",
    "facility_capacities",
    "capacity_scores",
    "read_candidates",
    "suggest",
    "served_by_sites",
    "PlanResult",
    "plan",
    "site_labels",
    "suggest_small_sites",
]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- helpers


def _check_result(result: Any) -> None:
    for name in ("model", "cells", "communities"):
        if not hasattr(result, name):
            raise OptionError(f"result must be a lifecircle.pipeline.RunResult; it has no {name!r}.")


def _population(result: Any) -> np.ndarray:
    return np.nan_to_num(result.cells["population"].to_numpy(dtype=np.float64), nan=0.0)


def _category_facilities(result: Any, category: str) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The category's facilities (the run's if it computed them, else found as the run would
    have), index 0..n-1, and each one's row in the ``--facilities`` file (-1: OSM)."""
    model = result.model
    if category in model.categories:
        mask = model.facilities["category"].to_numpy() == category
        return model.category_facilities(category), model.facility_file_rows[mask]
    opts = model.options
    found = find_facilities(model.extract.features, catalogue=model.catalogue, categories=(category,), crs=model.crs,
                            area=model.area, reach_m=model.reach_m, user_facilities=model.user_facilities,
                            source_name=Path(opts.facilities).name if opts.facilities is not None else None,
                            file_row_column="file_row")
    rows = found.pop("file_row").to_numpy(dtype=np.int64)
    return found.reset_index(drop=True), rows


# --------------------------------------------------------------------------- standards


def _as_standard(standard: str | Path | Standard) -> Standard:
    return standard if isinstance(standard, Standard) else load_standard(standard)


def standard_minutes(result: Any, standard: str | Path | Standard = "gb50180") -> pd.DataFrame:
    """Minutes from every cell to each facility set a standard asks for.

    A requirement is searched on ``minutes_to_<search_key>`` (its category, or
    ``<category>_ge<area>m2`` when only parks of a minimum size count), then on its
    fallback categories. Columns the run already holds are reused as they are; every
    other set is searched with the run's network, walking costs, access distance and
    speed (the same search as the run's): facilities of categories the run did not
    compute are found in ``result.model.extract`` (plus the run's ``--facilities`` file) as
    the run finds them; parks of a minimum size are those of
    :func:`lifecircle.spatial.standards.requirement_facilities` (polygon areas measured
    in the metric CRS).

    A set with no facility (in the data, or reachable from the network) gets **no
    column**, so the requirement falls back or is reported *not assessed*, never failed.
    A category missing from the catalogue is skipped the same way.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        A finished run (:func:`lifecircle.run`).
    standard : str, pathlib.Path or Standard, default "gb50180"
        A bundled standard's name, a YAML file, or a loaded :class:`Standard`.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``result.cells`` (same index): ``community``, ``population`` and one
        ``minutes_to_<search_key>`` per facility set found (NaN: no network access;
        ``inf`` never appears, unreachable is NaN as in the run's cells).
    """
    _check_result(result)
    std = _as_standard(standard)
    cells = result.cells
    out = pd.DataFrame({"community": cells["community"].to_numpy(), "population": _population(result)},
                       index=cells.index)
    model = result.model
    known = set(model.catalogue.names)
    no_data = set(model.no_data)
    wanted: list[tuple[str, Any, str]] = []  # (search_key, requirement, category) to search
    seen: set[str] = set()
    for _, req in std.requirements():
        for cat, key in zip(req.categories(), req.search_keys()):
            if key in seen:
                continue
            seen.add(key)
            col = minutes_column(key)
            if key == cat and cat in model.categories and col in cells.columns:
                if cat not in no_data:
                    out[col] = cells[col].to_numpy(dtype=np.float64)
                continue
            if cat not in known:
                log.info("Standard %s: category %r is not in the catalogue; %s not assessed on it", std.id, cat, req.key)
                continue
            wanted.append((key, req, cat))
    if not wanted:
        return out
    graph, origins, speed = model.graph, model.origins, model.speed_kmh
    by_category: dict[str, gpd.GeoDataFrame] = {}
    for key, req, cat in wanted:
        if cat not in by_category:
            by_category[cat] = _category_facilities(result, cat)[0]
        fac = by_category[cat]
        if req.min_area_m2 is not None and key != cat:
            fac = requirement_facilities(fac, _with_area(req, cat)).reset_index(drop=True)
        access = facility_access_points(fac, model.network, max_distance_m=model.max_access_m,
                                    entrances=model.entrances)
        if len(access) == 0:
            log.warning("Standard %s: no reachable facility for %s (%d in the data): not assessed on it",
                        std.id, key, len(fac))
            continue
        secs, _ = nearest_facility(graph, access, n_facilities=len(fac), leg_speed_kmh=speed)
        cell_secs = origin_seconds(graph, secs, origins, access=access, leg_speed_kmh=speed)
        minutes = cell_secs / 60.0
        minutes[~np.isfinite(minutes)] = np.nan
        out[minutes_column(key)] = minutes
        log.info("Standard %s: searched %s on %d facilities", std.id, key, len(fac))
    return out


def _with_area(req: Any, category: str) -> Any:
    """The requirement with ``category`` in place of its own (for a fallback's minimum area)."""
    return req if req.category == category else replace(req, category=category, fallback_categories=())


def _cell_failures(minutes: pd.DataFrame, std: Standard, speed_kmh: float,
                   on_network: np.ndarray) -> list[tuple[tuple[str, str], ...]]:
    """Per cell, the (tier, requirement) pairs it does not meet (assessed ones only).

    A cell on the network fails a requirement when its minutes exceed the threshold or no
    facility is reachable (NaN); a cell without network access is listed as such by the
    run, not as failing.
    """
    columns: list[np.ndarray] = []
    pairs: list[tuple[str, str]] = []
    for tier, req in std.requirements():
        _, col = resolve_requirement(req, minutes.columns)
        if col is None:
            continue
        m = np.nan_to_num(minutes[col].to_numpy(dtype=np.float64), nan=np.inf)
        columns.append(on_network & ~(m <= req.minutes(speed_kmh) + 1e-9))
        pairs.append((tier.key, req.key))
    if not columns:
        return [()] * len(minutes)
    fails = np.column_stack(columns)
    return [tuple(p for p, f in zip(pairs, row) if f) for row in fails]


def standard_scores(
    result: Any,
    standard: str | Path | Standard = "gb50180",
    *,
    target: float | None = None,
    total_label: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every community against a planning standard, tier by tier.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        A finished run (:func:`lifecircle.run`).
    standard : str, pathlib.Path or Standard, default "gb50180"
        The planning standard (:func:`lifecircle.layers.standards.load_standard`, or its name).
    target : float, optional
        Share of a community's people a requirement must reach; default the run's
        ``coverage_target``.
    total_label : str, optional
        Also score the whole study area as a community of this name.

    Returns
    -------
    requirements : pandas.DataFrame
        :func:`lifecircle.spatial.standards.score_requirements` on
        :func:`standard_minutes`: per community, tier and requirement, people within the
        threshold and their share (metre thresholds converted at the run's speed).
    tiers : pandas.DataFrame
        :func:`lifecircle.spatial.standards.score_communities`: pass / fail / unknown per
        community and tier, with what is missing. ``tiers.attrs`` holds ``standard`` (its
        id), ``path`` and ``cell_failures``: per cell of ``result.cells`` (same order) the
        tuple of ``(tier, requirement)`` keys the cell does not meet, used by
        :func:`planning_gap_tables`.
    """
    _check_result(result)
    std = _as_standard(standard)
    goal = result.options.coverage_target if target is None else target
    minutes = standard_minutes(result, std)
    speed = result.model.speed_kmh
    reqs = score_requirements(minutes, std, speed_kmh=speed, target=goal, total_label=total_label)
    tiers = score_communities(minutes, std, speed_kmh=speed, target=goal, total_label=total_label)
    tiers.attrs.update({"standard": std.id, "path": str(std.path),
                        "cell_failures": _cell_failures(minutes, std, speed,
                                                        result.cells["access"].to_numpy() == "network")})
    return reqs, tiers


# --------------------------------------------------------------------------- capacity

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _parse_number(value: Any) -> float:
    """First number in a tag or cell value (``"120"``, ``"120;30"``, ``"约120张"``), else NaN."""
    if value is None:
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value) if np.isfinite(value) and value >= 0 else np.nan
    match = _NUMBER.search(str(value).replace(",", ""))
    if not match:
        return np.nan
    v = float(match.group())
    return v if v >= 0 else np.nan


def _read_table(path: Path) -> pd.DataFrame:
    """A facilities file's attribute table in file order (CSV or any vector format)."""
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return pd.read_csv(path, encoding=enc, sep="\t" if path.suffix.lower() == ".tsv" else ",", dtype=str)
            except UnicodeDecodeError:
                continue
        raise FacilitiesFileError(f"Facilities file {str(path)!r} is neither UTF-8 nor GB18030 text.")
    return pd.DataFrame(gpd.read_file(path).drop(columns="geometry"))


def facility_capacities(result: Any, *, category: str, capacity_column: str) -> np.ndarray:
    """Capacity of each of a category's facilities (NaN where unknown).

    Looked up, in this order, per facility:

    1. a column ``capacity_column`` of ``result.facilities`` (when the run kept one);
    2. the column of that name in the run's ``--facilities`` file, for the facilities that
       came from it (each facility remembers its row in the file: :attr:`lifecircle.model.Model.facility_file_rows`);
    3. the OSM tag of that key (``beds``, ``capacity``, ``capacity:persons`` ...) on the
       facility's OSM object (``result.model.extract.features``).

    Values are read as the first number in the text (``"120"``, ``"约120张"``); anything
    else is unknown.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        A finished run.
    category : str
        The category whose facilities are looked up.
    capacity_column : str
        Column or OSM tag holding the capacity (``beds``, ``seats``, ``capacity``).

    Returns
    -------
    numpy.ndarray
        One value per facility of ``category`` in ``result.facilities`` order.
    """
    fac, file_rows = _category_facilities(result, category)
    cap = np.full(len(fac), np.nan)
    if capacity_column in fac.columns:
        cap = np.array([_parse_number(v) for v in fac[capacity_column]], dtype=np.float64)
    src = result.model.options.facilities
    mine = np.flatnonzero(file_rows >= 0)
    if src is not None and len(mine) and np.isnan(cap).any():
        # Only the capacity column is read here; the facilities themselves are the model's.
        table = _read_table(Path(src))
        col = next((c for c in table.columns if str(c).strip().lower() == capacity_column.lower()), None)
        if col is not None:
            values = table[col].to_numpy(dtype=object)[file_rows[mine]]
            for i, value in zip(mine, values):
                if np.isnan(cap[i]):
                    cap[i] = _parse_number(value)
    extract = result.model.extract
    if np.isnan(cap).any() and "osm_id" in fac.columns:
        feats = extract.features
        tag_value = feats["tags"].map(lambda t: t.get(capacity_column) if isinstance(t, dict) else None)
        known = tag_value.notna().to_numpy()
        if known.any():
            lookup = {(str(t), int(i)): v for t, i, v in zip(feats["osm_type"].to_numpy()[known],
                                                             feats["osm_id"].to_numpy()[known],
                                                             tag_value.to_numpy()[known])}
            for k, (t, i) in enumerate(zip(fac["osm_type"].to_numpy(), fac["osm_id"].to_numpy())):
                if np.isnan(cap[k]) and t is not None and i is not None and not pd.isna(i):
                    cap[k] = _parse_number(lookup.get((str(t), int(i))))
    log.info("Capacity %r for %s: known for %d of %d facilities", capacity_column, category,
             int(np.isfinite(cap).sum()), len(cap))
    return cap


def capacity_scores(
    result: Any,
    *,
    category: str,
    capacity_column: str | None = None,
    capacities: np.ndarray | Sequence[float] | None = None,
    bands: tuple[tuple[float, float, float], ...] | None = None,
    share: float = 0.5,
    reference: float | None = None,
) -> tuple[np.ndarray, np.ndarray, Oversubscription]:
    """Supply-to-demand accessibility (E2SFCA) of one category's capacities, per cell.

    Walking times are the run's (its network, profile and terrain), from every cell to
    every facility within the last band (:func:`lifecircle.spatial.capacity.cell_facility_seconds`);
    the score is :func:`lifecircle.spatial.capacity.e2sfca` with the bands
    :data:`lifecircle.spatial.capacity.DEFAULT_BANDS` (0-5 min weight 1.00, 5-10 min 0.68,
    10-15 min 0.22, Luo & Qi 2009 scaled to walking), and over-subscribed places are
    :func:`lifecircle.spatial.capacity.oversubscribed` at the run's threshold.

    Facilities of unknown capacity are left out of both steps (their ratio is NaN): they
    neither add supply nor take demand. Say so when reporting.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        A finished run (:func:`lifecircle.run`).
    category : str
        The category whose capacities are compared (clinic beds, school seats).
    capacity_column : str, optional
        Where capacities are found, see :func:`facility_capacities` (a column of the
        user's facilities file such as ``beds`` / ``seats``, or an OSM tag such as
        ``beds`` / ``capacity``).
    capacities : array-like, optional
        The capacities themselves, one per facility of ``category`` in
        ``result.facilities`` order (instead of ``capacity_column``).
    bands : sequence of (lo_minutes, hi_minutes, weight), optional
        Distance-decay bands in minutes with their weights; default :data:`lifecircle.spatial.capacity.DEFAULT_BANDS`.
    share, reference : float
        See :func:`lifecircle.spatial.capacity.oversubscribed`.

    Returns
    -------
    cell_score : numpy.ndarray
        Capacity per resident reachable from each cell (``result.cells`` order).
    facility_ratio : numpy.ndarray
        Capacity per weighted resident of each facility's catchment, one per facility of
        ``category`` (NaN: unknown capacity or nobody within the bands).
    oversubscription : Oversubscription
        Over-subscribed cells and facilities at the run's threshold.

    Raises
    ------
    OptionError
        Neither or both of ``capacity_column`` and ``capacities``; wrong length; no
        facility of the category has a capacity.
    """
    _check_result(result)
    if (capacity_column is None) == (capacities is None):
        raise OptionError("Give exactly one of capacity_column (a column or OSM tag) and capacities (values).")
    model = result.model
    fac = _category_facilities(result, category)[0]
    cap = _known_capacities(result, fac, category=category, capacity_column=capacity_column, capacities=capacities)
    known = np.isfinite(cap) & (cap >= 0)
    use_bands = DEFAULT_BANDS if bands is None else tuple(bands)
    limit = float(np.asarray(use_bands, dtype=float)[:, 1].max()) * 60.0
    sub = fac.iloc[np.flatnonzero(known)].reset_index(drop=True)
    access = facility_access_points(sub, model.network, max_distance_m=model.max_access_m,
                                    entrances=model.entrances)
    times = cell_facility_seconds(model.graph, access, model.origins, n_facilities=len(sub), limit_seconds=limit,
                                  leg_speed_kmh=model.speed_kmh)
    pop = _population(result)
    score, ratio_known = e2sfca(pop, times, cap[known], bands=use_bands)
    over = oversubscribed(score, times, cell_population=pop, facility_ratio=ratio_known,
                          threshold_minutes=model.minutes, share=share, reference=reference)
    ratio = np.full(len(fac), np.nan)
    ratio[known] = ratio_known
    fac_flags = np.zeros(len(fac), dtype=bool)
    fac_flags[known] = over.facilities
    over = Oversubscription(cells=over.cells, facilities=fac_flags, reference=over.reference, share=over.share)
    return score, ratio, over


def _known_capacities(result: Any, fac: gpd.GeoDataFrame, *, category: str, capacity_column: str | None,
                      capacities: np.ndarray | Sequence[float] | None) -> np.ndarray:
    """Capacity per facility of the category (NaN: unknown), given or looked up; some must be known."""
    if capacities is not None:
        cap = np.asarray(capacities, dtype=np.float64)
        if cap.shape != (len(fac),):
            raise OptionError(f"capacities has {cap.size} values; the run has {len(fac)} {category} facilities.")
    else:
        cap = facility_capacities(result, category=category, capacity_column=cast(str, capacity_column))
    if not (np.isfinite(cap) & (cap >= 0)).any():
        raise OptionError(
            f"No {category} facility has a capacity {capacity_column!r}: looked in the facilities' columns, "
            f"the --facilities file and the OSM tags of {len(fac)} facilities."
        )
    return cap


# --------------------------------------------------------------------------- site suggestion


def read_candidates(path: str | Path, *, crs_hint: str | None = None) -> gpd.GeoDataFrame:
    """Candidate plots from a file: GeoPackage / GeoJSON / Shapefile, or CSV lon/lat points.

    A vector file must carry a CRS (else ``crs_hint``); a CSV has longitude/latitude
    columns (the names :mod:`lifecircle.layers.facilities` accepts) in WGS84. Extra
    columns (a plot id, its name) are kept.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``--candidates`` file.
    crs_hint : str, optional
        The CRS of a vector file that records none (``"EPSG:4547"``).

    Returns
    -------
    geopandas.GeoDataFrame
        The plots (points or polygons) in the file's CRS (EPSG:4326 for a CSV), with the
        file's other columns.

    Raises
    ------
    InputNotFoundError, FacilitiesFileError, NoCrsError
        The file is missing, empty, without coordinates, or without a CRS.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "plots.csv"
    >>> pd.DataFrame({"plot": ["A"], "lon": [106.57], "lat": [29.56]}).to_csv(path, index=False)
    >>> plots = read_candidates(path)
    >>> plots["plot"].tolist(), plots.crs.to_epsg()
    (['A'], 4326)
    """
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"--candidates file {str(p)!r} does not exist.")
    if p.stat().st_size == 0:
        raise FacilitiesFileError(f"--candidates file {str(p)!r} is empty (0 bytes).")
    if p.suffix.lower() in (".csv", ".txt", ".tsv"):
        table = _read_table(p)
        lower = {str(c).strip().lower(): c for c in table.columns}
        lon = next((lower[a] for a in LON_ALIASES if a in lower), None)
        lat = next((lower[a] for a in LAT_ALIASES if a in lower), None)
        if lon is None or lat is None:
            raise FacilitiesFileError(
                f"--candidates file {str(p)!r} needs longitude and latitude columns; found {list(table.columns)}."
            )
        x = pd.to_numeric(table[lon], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(table[lat], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)))
        if len(bad):
            raise FacilitiesFileError(
                f"--candidates file {str(p)!r}: rows {', '.join(str(b + 2) for b in bad[:8])} have no valid lon/lat."
            )
        out = gpd.GeoDataFrame(table.drop(columns=[lon, lat]), geometry=shapely.points(x, y), crs="EPSG:4326")
    else:
        try:
            out = gpd.read_file(p)
        except Exception as exc:
            raise FacilitiesFileError(f"--candidates file {str(p)!r} cannot be read as a vector file ({exc}).") from None
        if out.crs is None:
            if crs_hint is None:
                raise NoCrsError(f"--candidates file {str(p)!r} has no CRS; expected one recorded in the file.")
            out = out.set_crs(crs_hint)
    if len(out) == 0:
        raise FacilitiesFileError(f"--candidates file {str(p)!r} holds no plots.")
    if crs_hint in ("gcj02", "bd09"):
        fn = gcj02_to_wgs84 if crs_hint == "gcj02" else bd09_to_wgs84
        out = out.to_crs(4326)
        out = out.set_geometry(shapely.transform(out.geometry.to_numpy(),
                                                 lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1]))))
    empty = shapely.is_missing(out.geometry.to_numpy()) | shapely.is_empty(out.geometry.to_numpy())
    if empty.any():
        raise FacilitiesFileError(f"--candidates file {str(p)!r}: {int(empty.sum())} rows have no geometry.")
    return out.reset_index(drop=True)


def suggest(
    result: Any,
    *,
    category: str,
    count: int,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Where ``count`` new facilities of a category would serve the most people.

    Greedy maximal covering (:func:`lifecircle.spatial.siting.site_suggestions`) with the
    run's existing facilities of the category fixed, on the run's network, walking costs,
    cells, population, threshold and access distance. Each site's ``marginal_gain`` is
    the number of people it newly brings within the threshold given the sites ranked
    before it.

    **Re-running reproduces the gains**: add the first ``k`` sites (their geometry) to the
    category's facilities and search again (:func:`lifecircle.spatial.travel.facility_access_points`,
    :func:`~lifecircle.spatial.travel.nearest_facility`, :func:`~lifecircle.spatial.travel.origin_seconds`
    with the run's costs and speed): the people within the threshold grow from
    ``attrs["people_served_before"]`` by exactly ``cumulative`` of rank ``k`` (the tests
    check this on the Helsinki sample and on Yuzhong).

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        A finished run (:func:`lifecircle.run`).
    category : str
        A category of the catalogue (the run's, or found in the model's OSM features).
    count : int
        Sites wanted; fewer when no candidate serves anyone new.
    candidates : geopandas.GeoDataFrame, optional
        Available plots (points or polygons, any CRS); default network nodes of the
        largest connected component (:func:`lifecircle.spatial.siting.node_candidates`).
    spacing_m : float, optional
        With node candidates, keep one node per square of this size (fewer searches).

    Returns
    -------
    geopandas.GeoDataFrame
        In ``result.network.crs``, one row per site in the order chosen: ``category``,
        ``rank``, ``marginal_gain``, ``cumulative``, ``new_cells``, ``candidate`` (row in
        the candidates), the candidates' own columns, ``geometry``. ``attrs`` hold
        ``people``, ``people_served_before``, ``people_served_after``, ``category``,
        ``threshold_minutes`` and ``candidates`` (how many were searched).

    Raises
    ------
    OptionError
        ``count`` is not a whole number >= 1, or the candidates are no GeoDataFrame or empty.
    UnknownCategoryError
        ``category`` is not in the catalogue.
    NoCrsError
        The candidates have no CRS.
    """
    _check_result(result)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise OptionError(f"--count must be a whole number >= 1; found {count!r}.")
    model = result.model
    if category not in model.catalogue:
        raise UnknownCategoryError(f"--category {category!r} is not in the catalogue.")
    network, cand = model.network, _candidate_plots(model.network, candidates, spacing_m=spacing_m)
    existing = _category_facilities(result, category)[0]
    existing = gpd.GeoDataFrame(existing[["geometry"]], geometry="geometry", crs=network.crs)
    sites = site_suggestions(
        network, model.graph, model.origins, _population(result), existing, cand,
        threshold_minutes=model.minutes, count=int(count), leg_speed_kmh=model.speed_kmh,
        max_access_distance_m=model.max_access_m, entrances=model.entrances,
    )
    attrs = dict(sites.attrs)
    attrs.update({"category": category, "threshold_minutes": model.minutes, "candidates": len(cand)})
    sites = _ordered_sites(sites, category=category, catalogue=model.catalogue)
    sites.attrs = attrs
    for _, row in sites.iterrows():
        log.info("Site %d for %s: +%.0f people (cumulative %.0f)", row["rank"], category, row["marginal_gain"],
                 row["cumulative"])
    return sites


def _ordered_sites(sites: gpd.GeoDataFrame, *, category: str, catalogue: Any) -> gpd.GeoDataFrame:
    """The sites with ``category`` and the choice columns first, and their labels last."""
    sites = sites.drop(columns=[c for c in ("category",) if c in sites.columns])
    sites.insert(0, "category", category)
    first = ["category", "rank", "marginal_gain", "cumulative", "new_cells", "candidate"]
    sites = sites[first + [c for c in sites.columns if c not in first]]
    for lang in ("zh", "en"):  # numbered per category with the catalogue's short labels: 医1, C1
        sites[f"label_{lang}"] = site_labels(sites, lang=lang, catalogue=catalogue)
    return sites


def _served_now(result: Any, category: str) -> np.ndarray:
    """Cells within the threshold of an existing facility of the category."""
    model = result.model
    limit = model.minutes
    col = minutes_column(category)
    if category in model.categories and col in result.cells.columns:
        return np.nan_to_num(result.cells[col].to_numpy(dtype=np.float64), nan=np.inf) <= limit
    existing = _category_facilities(result, category)[0]
    access = facility_access_points(existing, model.network, max_distance_m=model.max_access_m,
                                    entrances=model.entrances)
    secs, _ = nearest_facility(model.graph, access, n_facilities=len(existing), leg_speed_kmh=model.speed_kmh,
                               limit_seconds=limit * 60.0)
    times = origin_seconds(model.graph, secs, model.origins, access=access, leg_speed_kmh=model.speed_kmh)
    return np.nan_to_num(times, nan=np.inf) <= limit * 60.0


def _candidate_plots(network: Any, candidates: gpd.GeoDataFrame | None, *, spacing_m: float | None) -> gpd.GeoDataFrame:
    """The candidates in the network's CRS, or network nodes when none are given."""
    if candidates is None:
        return node_candidates(network, spacing_m=spacing_m)
    if not isinstance(candidates, gpd.GeoDataFrame):
        raise OptionError(f"candidates must be a GeoDataFrame; found {type(candidates).__name__}.")
    if candidates.crs is None:
        raise NoCrsError("candidates have no CRS; set one (e.g. EPSG:4326).")
    if len(candidates) == 0:
        raise OptionError("candidates is empty: expected at least one plot.")
    return candidates.to_crs(network.crs).reset_index(drop=True)


def served_by_sites(result: Any, sites: gpd.GeoDataFrame) -> np.ndarray:
    """Per cell, the rank of the first suggested site that newly brings it within the threshold.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        A finished run (:func:`lifecircle.run`).
    sites : geopandas.GeoDataFrame
        From :func:`suggest` (one category).

    Returns
    -------
    numpy.ndarray
        ``int64`` per cell of ``result.cells``: the site's rank, 0 when no site brings it
        newly within the threshold.
    """
    model = result.model
    category = str(sites.attrs.get("category", sites["category"].iloc[0]))
    taken = _served_now(result, category)
    sites = sites.to_crs(model.crs).reset_index(drop=True)
    access = facility_access_points(sites, model.network, max_distance_m=model.max_access_m,
                                    entrances=model.entrances)
    coverage = candidate_coverage(model.graph, model.origins, access, limit_seconds=model.minutes * 60.0,
                                  n_candidates=len(sites), leg_speed_kmh=model.speed_kmh)
    out = np.zeros(len(result.cells), dtype=np.int64)
    for i in np.argsort(sites["rank"].to_numpy(), kind="stable"):
        cells = coverage.indices[coverage.indptr[i]: coverage.indptr[i + 1]]
        new = cells[~taken[cells]]
        out[new] = int(sites["rank"].iloc[i])
        taken[new] = True
    return out


@dataclass(frozen=True)
class PlanResult:
    """What :func:`plan` adds to a run. Any part not asked for is ``None``.

    Attributes
    ----------
    standard : Standard or None
    requirements, tiers : pandas.DataFrame or None
        From :func:`standard_scores`.
    sites : geopandas.GeoDataFrame or None
        Suggested sites of every category asked for, ranked per category (run's CRS).
    capacity : dict
        Per category: ``{"score": cell array, "ratio": facility array, "oversubscribed":
        Oversubscription, "column": capacity column}``.
    served_by_site : numpy.ndarray or None
        Per cell, the rank of the first suggested site that newly brings
        it within the threshold (:func:`served_by_sites`; 0: none), for the renewal lists.
    """

    standard: Standard | None = None
    requirements: pd.DataFrame | None = None
    tiers: pd.DataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    capacity: dict[str, dict[str, Any]] = field(default_factory=dict)
    served_by_site: np.ndarray | None = None


def plan(
    result: Any,
    *,
    standard: str | Path | None = None,
    suggest_count: int = 0,
    suggest_categories: Sequence[str] | None = None,
    capacity: dict[str, str] | None = None,
) -> PlanResult:
    """Run the planning steps asked for on a finished run.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        A finished run (:func:`lifecircle.run`).
    standard : str or path, optional
        ``"gb50180"`` or a guideline YAML: communities scored tier by tier.
    suggest_count : int, default 0
        Sites to suggest per category (0: none).
    suggest_categories : sequence of str, optional
        Categories to suggest sites for; default every measured category of the run.
    capacity : dict of str to str, optional
        ``{category: capacity column}`` for the E2SFCA supply-to-demand score.

    Returns
    -------
    PlanResult
        What was asked for: scores, suggested sites, capacity; None where not asked.

    Raises
    ------
    OptionError
        A negative ``suggest_count``, and as the steps asked for.
    """
    _check_result(result)
    if suggest_count < 0:
        raise OptionError(f"--suggest must be a number of sites >= 0; found {suggest_count!r}.")
    std = requirements = tiers = sites = None
    if standard is not None:
        std = _as_standard(standard)
        requirements, tiers = standard_scores(result, std)
    if suggest_count > 0:
        cats = list(suggest_categories) if suggest_categories else [c for c in result.categories if c not in result.no_data]
        frames = [suggest(result, category=c, count=suggest_count) for c in cats]
        frames = [f for f in frames if len(f)]
        if frames:
            sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    cap: dict[str, dict[str, Any]] = {}
    for category, column in (capacity or {}).items():
        score, ratio, over = capacity_scores(result, category=category, capacity_column=column)
        cap[category] = {"score": score, "ratio": ratio, "oversubscribed": over, "column": column}
    served = served_by_sites(result, sites) if sites is not None and len(sites) else None
    return PlanResult(standard=std, requirements=requirements, tiers=tiers, sites=sites, capacity=cap,
                      served_by_site=served)


# --------------------------------------------------------------------------- small sites and site labels


def site_labels(sites: pd.DataFrame, *, lang: str, catalogue: Any) -> list[str]:
    """Each suggested site's label: the category's short label and its rank (园1, 医2; P1, C2).

    Parameters
    ----------
    sites : pandas.DataFrame
        With ``category`` and ``rank`` columns (as :func:`suggest` returns).
    lang : {"zh", "en"}
    catalogue : lifecircle.layers.catalogue.Catalogue
        Gives each category's short label (``short_zh`` / ``short_en``).

    Returns
    -------
    list of str
        One label per row of ``sites``, in their order; a category missing from the
        catalogue is shortened to its first letter, upper-cased.
    """
    out = []
    for category, rank in zip(sites["category"].astype(str), sites["rank"]):
        cat = catalogue.categories.get(category) if hasattr(catalogue, "categories") else None
        short = cat.short_label(lang) if cat is not None else category[:1].upper()
        out.append(f"{short}{int(rank)}")
    return out


def _site_capacity(capacity: float | str | None, candidates: gpd.GeoDataFrame) -> np.ndarray | None:
    """People per candidate: one number for all, or a column of the candidates."""
    if capacity is None:
        return None
    if isinstance(capacity, str):
        if capacity not in candidates.columns:
            raise OptionError(f"--site-capacity {capacity!r} is not a column of the candidate plots; found "
                              f"{list(candidates.columns)[:12]}.")
        values = pd.to_numeric(candidates[capacity], errors="coerce").to_numpy(dtype=float)
        if not (np.isfinite(values) & (values >= 0)).all():
            bad = int((~(np.isfinite(values) & (values >= 0))).sum())
            raise OptionError(f"--site-capacity column {capacity!r}: {bad} plots have no number >= 0.")
        return values
    value = float(capacity)
    if not np.isfinite(value) or value <= 0:
        raise OptionError(f"--site-capacity must be people > 0 or a column name; found {capacity!r}.")
    return np.full(len(candidates), value)


def suggest_small_sites(
    result: Any,
    *,
    category: str,
    count: int,
    candidates: gpd.GeoDataFrame | None = None,
    min_area_m2: float | None = None,
    min_spacing_m: float | None = None,
    capacity: float | str | None = None,
) -> gpd.GeoDataFrame:
    """Suggest small sites (pocket parks...) on plots of a minimum size, spaced, with a capacity each.

    Without ``candidates`` the plots are open land from the run's OSM data
    (:func:`lifecircle.layers.open_land.open_land_plots`: brownfield, greenfield, grass,
    vacant lots not in use). The choice is :func:`lifecircle.spatial.small_sites.spaced_sites`
    on the run's walking times, existing facilities of the category fixed.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        The run whose walking times (minutes threshold, network, population) are used.
    category : str
        The catalogue category the sites are for (its existing facilities stay fixed).
    count : int
        How many sites to suggest, >= 1 (fewer when no more plot adds people).
    candidates : geopandas.GeoDataFrame, optional
        Plots (any CRS); default OSM open land.
    min_area_m2 : float, optional
        Keep plots of at least this area (polygons only).
    min_spacing_m : float, optional
        Minimum distance between suggested sites, edge to edge.
    capacity : float or str, optional
        People a site can newly serve: a number, or a column of ``candidates``.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`suggest`, plus ``capacity`` and ``label_zh`` / ``label_en`` (园1 / P1);
        ``attrs`` as :func:`suggest`'s plus ``plots``, ``too_small``, ``without_area``.

    Raises
    ------
    OptionError
        ``count`` is not a whole number >= 1, no plot is left, or ``capacity`` is invalid.
    UnknownCategoryError
        ``category`` is not in the run's catalogue.
    NoCrsError
        ``candidates`` have no CRS.
    """
    from lifecircle.spatial.small_sites import spaced_sites  # noqa: PLC0415 - only small sites need it

    _check_result(result)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise OptionError(f"--count must be a whole number >= 1; found {count!r}.")
    model = result.model
    if category not in model.catalogue:
        raise UnknownCategoryError(f"--category {category!r} is not in the catalogue.")
    plots, attrs = _small_site_plots(model, category=category, candidates=candidates, min_area_m2=min_area_m2)
    cap = _site_capacity(capacity, plots)
    limit = model.minutes * 60.0
    served = _served_now(result, category)
    access = facility_access_points(plots, model.network, max_distance_m=model.max_access_m,
                                    entrances=model.entrances)
    seconds = cell_facility_seconds(model.graph, access, model.origins, n_facilities=len(plots),
                                    limit_seconds=limit, leg_speed_kmh=model.speed_kmh).T.tocsr()
    pop = _population(result)
    chosen = spaced_sites(seconds, pop, served, count=int(count), geometries=plots.geometry.to_numpy(),
                          min_spacing_m=min_spacing_m, capacity=cap)
    sites = _small_site_table(chosen, plots, category=category, model=model)
    before = float(pop[served].sum())
    attrs.update({"people": float(pop.sum()), "people_served_before": before,
                  "people_served_after": before + (float(chosen["cumulative"].iloc[-1]) if len(chosen) else 0.0),
                  "category": category, "threshold_minutes": model.minutes, "candidates": len(plots)})
    sites.attrs = attrs
    return sites


def _small_site_plots(model: Any, *, category: str, candidates: gpd.GeoDataFrame | None,
                      min_area_m2: float | None) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The candidate plots in the model's CRS (OSM open land or ``candidates``) and their counts."""
    from lifecircle.layers.open_land import open_land_plots  # noqa: PLC0415 - only small sites read open land
    from lifecircle.spatial.small_sites import plots_at_least  # noqa: PLC0415 - as above

    if candidates is None:
        plots = open_land_plots(model.extract.features).to_crs(model.crs)
        # Plots in the study area or within reach of it (a lot across its edge street).
        near = plots.distance(model.area).to_numpy() <= model.max_access_m if len(plots) else []
        plots = plots[near].reset_index(drop=True) if len(plots) else plots
        where = "OSM open land (landuse=brownfield|greenfield|grass|vacant, not in use)"
    else:
        if candidates.crs is None:
            raise NoCrsError("candidates have no CRS; set one (e.g. EPSG:4326).")
        plots = candidates.to_crs(model.crs).reset_index(drop=True)
        where = "--candidates"
    attrs: dict[str, Any] = {"plots": len(plots), "too_small": 0, "without_area": 0}
    if min_area_m2 is not None:
        plots = plots_at_least(plots, min_area_m2=min_area_m2)
        attrs.update(plots.attrs)
    if len(plots) == 0:
        raise OptionError(f"No candidate plot for {category!r} in {where}: {attrs['plots']} plots, "
                          f"{attrs['too_small']} smaller than --min-area {min_area_m2 or 0:g} m², "
                          f"{attrs['without_area']} without an area (points). Give plots with --candidates.")
    return plots, attrs


def _small_site_table(chosen: pd.DataFrame, plots: gpd.GeoDataFrame, *, category: str,
                      model: Any) -> gpd.GeoDataFrame:
    """The chosen plots with their choice columns, category first and labels (园1 / P1) last."""
    rows = plots.iloc[chosen["candidate"].to_numpy()].reset_index(drop=True)
    rows = rows.drop(columns=[c for c in (*chosen.columns, "category") if c in rows.columns and c != "geometry"])
    sites = gpd.GeoDataFrame(pd.concat([chosen.reset_index(drop=True), rows], axis=1), geometry=rows.geometry.name,
                             crs=model.crs)
    sites.insert(0, "category", category)
    for lang in ("zh", "en"):
        sites[f"label_{lang}"] = site_labels(sites, lang=lang, catalogue=model.catalogue)
    return sites
