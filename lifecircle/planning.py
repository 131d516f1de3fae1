"""Planning on top of a run: standards tier by tier, capacity, new sites, renewal lists.

Issue 4 ("people, standards and plans") joins a finished :class:`lifecircle.pipeline.RunResult`
to the building blocks in :mod:`lifecircle.spatial.standards`, :mod:`lifecircle.spatial.capacity`
and :mod:`lifecircle.spatial.siting`::

    from lifecircle import pipeline, planning
    result = pipeline.run(pipeline.RunOptions(osm="yuzhong.osm.pbf", population="ghs.csv"))
    requirements, tiers = planning.standard_scores(result, "gb50180")
    sites = planning.suggest(result, category="clinic", count=5)
    cells_table, communities_table = planning.planning_gap_tables(result, tiers=tiers, sites=sites)

Every function reuses the run's network, walking costs (its profile, terrain included),
cells, population and options (threshold, speed, access distance); nothing is read again
except OSM features for categories the run did not compute (from ``result.extract``).
Inputs are never modified. GeoDataFrames returned are in the run's metric CRS
(``result.network.crs``); tables carry longitude/latitude in EPSG:4326.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import FacilitiesFileError, InputNotFoundError, NoCrsError, OptionError
from lifecircle.layers.standards import Standard, load_standard
from lifecircle.spatial.capacity import (
    DEFAULT_BANDS,
    Oversubscription,
    cell_facility_seconds,
    e2sfca,
    oversubscribed,
)
from lifecircle.spatial.coverage import minutes_column
from lifecircle.spatial.siting import candidate_coverage, node_candidates, site_suggestions
from lifecircle.spatial.standards import requirement_facilities, score_communities, score_requirements
from lifecircle.spatial.travel import (
    EdgeLocation,
    ReverseGraph,
    facility_access_points,
    locate_on_network,
    nearest_facility,
    origin_seconds,
    reverse_graph,
)

__all__ = [
    "PLANNING_HEADERS",
    "standard_minutes",
    "standard_scores",
    "facility_capacities",
    "capacity_scores",
    "read_candidates",
    "suggest",
    "planning_gap_tables",
    "PlanResult",
    "plan",
]

log = logging.getLogger(__name__)

def _planning_headers() -> dict[str, dict[str, str]]:
    from lifecircle.outputs import GAP_HEADERS

    extra = {
        "en": {"tier_failures": "tier_failures", "site": "suggested_site", "site_m": "suggested_site_m",
               "served_by_site": "served_by_site", "sites_in": "suggested_sites_in_community",
               "people_served_by_sites": "people_served_by_sites", "failed_tiers": "failed_tiers"},
        "zh": {"tier_failures": "未达标要求", "site": "最近建议新址", "site_m": "距建议新址(米)",
               "served_by_site": "可由建议新址服务", "sites_in": "社区内建议新址",
               "people_served_by_sites": "建议新址新增服务人口", "failed_tiers": "未达标生活圈"},
    }
    return {lang: {**GAP_HEADERS[lang], **extra[lang]} for lang in GAP_HEADERS}


#: Headers of the planning lists per language: those of :data:`lifecircle.outputs.GAP_HEADERS`
#: plus the columns added here.
PLANNING_HEADERS: dict[str, dict[str, str]] = _planning_headers()


# --------------------------------------------------------------------------- helpers


def _check_result(result: Any) -> None:
    for name in ("options", "network", "costs", "facilities", "cells", "communities", "categories"):
        if not hasattr(result, name):
            raise OptionError(f"result must be a lifecircle.pipeline.RunResult; it has no {name!r}.")


def _speed(result: Any) -> float:
    return float(result.options.speed_kmh)


def _origins(result: Any) -> EdgeLocation:
    """Cell centres on the network, exactly as the run joined them."""
    cells = result.cells
    centres = gpd.GeoSeries(shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy()), crs=result.network.crs)
    return locate_on_network(centres, result.network, max_distance_m=result.options.max_access_m)


def _population(result: Any) -> np.ndarray:
    return np.nan_to_num(result.cells["population"].to_numpy(dtype=np.float64), nan=0.0)


class _NoExtract(OptionError):
    """A category the run did not compute, and no OSM data to find it in."""


def _extra_facilities(result: Any, category: str, extract: Any = None) -> gpd.GeoDataFrame:
    """Facilities of a category the run did not compute, found as the run would have."""
    from lifecircle.pipeline import find_facilities, study_area

    extract = extract if extract is not None else getattr(result, "extract", None)
    if extract is None:
        raise _NoExtract(
            f"category {category!r} was not computed by the run and the run holds no OSM extract: "
            "pass extract= (lifecircle.pipeline.load_extract(result.options))."
        )
    opts = result.options
    area = study_area(extract, result.network.crs, boundary=opts.boundary)
    reach_m = opts.minutes * 60.0 * _speed(result) / 3.6
    return find_facilities(extract, categories=(category,), network_crs=result.network.crs, area=area,
                           reach_m=reach_m, catalogue_path=opts.catalogue, facilities_file=opts.facilities,
                           facilities_crs=opts.facilities_crs)


def _category_facilities(result: Any, category: str, extract: Any = None) -> gpd.GeoDataFrame:
    """The category's facilities (the run's if it computed them), index 0..n-1."""
    if category in tuple(result.categories):
        fac = result.facilities
        return fac[fac["category"].to_numpy() == category].reset_index(drop=True)
    return _extra_facilities(result, category, extract).reset_index(drop=True)


def _known_categories(result: Any) -> set[str]:
    from lifecircle.layers.catalogue import load_catalogue

    cat = load_catalogue(result.options.catalogue) if result.options.catalogue else load_catalogue()
    return set(cat.names)


# --------------------------------------------------------------------------- standards


def _as_standard(standard: str | Path | Standard) -> Standard:
    return standard if isinstance(standard, Standard) else load_standard(standard)


def standard_minutes(result: Any, standard: str | Path | Standard = "gb50180", *,
                     extract: Any = None) -> pd.DataFrame:
    """Minutes from every cell to each facility set a standard asks for.

    A requirement is searched on ``minutes_to_<search_key>`` (its category, or
    ``<category>_ge<area>m2`` when only parks of a minimum size count), then on its
    fallback categories. Columns the run already holds are reused as they are; every
    other set is searched with the run's network, walking costs, access distance and
    speed (the same search as the run's): facilities of categories the run did not
    compute are found in ``result.extract`` (plus the run's ``--facilities`` file) as
    the run finds them; parks of a minimum size are those of
    :func:`lifecircle.spatial.standards.requirement_facilities` (polygon areas measured
    in the metric CRS).

    A set with no facility (in the data, or reachable from the network) gets **no
    column**, so the requirement falls back or is reported *not assessed*, never failed.
    A category missing from the catalogue is skipped the same way.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
    standard : str, pathlib.Path or Standard, default "gb50180"
        A bundled standard's name, a YAML file, or a loaded :class:`Standard`.
    extract : OsmExtract, optional
        The run's OSM data, when ``result.extract`` is not set.

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
    known = _known_categories(result)
    no_data = set(getattr(result, "no_data", ()))
    wanted: list[tuple[str, Any, str]] = []  # (search_key, requirement, category) to search
    seen: set[str] = set()
    for _, req in std.requirements():
        for cat, key in zip(req.categories(), req.search_keys()):
            if key in seen:
                continue
            seen.add(key)
            col = minutes_column(key)
            if key == cat and cat in result.categories and col in cells.columns:
                if cat not in no_data:
                    out[col] = cells[col].to_numpy(dtype=np.float64)
                continue
            if cat not in known:
                log.info("Standard %s: category %r is not in the catalogue; %s not assessed on it", std.id, cat, req.key)
                continue
            wanted.append((key, req, cat))
    if not wanted:
        return out
    graph = reverse_graph(result.network, result.costs)
    origins = _origins(result)
    speed = _speed(result)
    by_category: dict[str, gpd.GeoDataFrame | None] = {}
    for key, req, cat in wanted:
        if cat not in by_category:
            try:
                by_category[cat] = _category_facilities(result, cat, extract)
            except _NoExtract:
                log.warning("Standard %s: %s not computed by the run and no OSM extract to find it in: "
                            "not assessed on it", std.id, cat)
                by_category[cat] = None
        fac = by_category[cat]
        if fac is None:
            continue
        if req.min_area_m2 is not None and key != cat:
            fac = requirement_facilities(fac, _with_area(req, cat)).reset_index(drop=True)
        access = facility_access_points(fac, result.network, max_distance_m=result.options.max_access_m)
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
    from dataclasses import replace

    return req if req.category == category else replace(req, category=category, fallback_categories=())


def _cell_failures(minutes: pd.DataFrame, std: Standard, speed_kmh: float,
                   on_network: np.ndarray) -> list[tuple[tuple[str, str], ...]]:
    """Per cell, the (tier, requirement) pairs it does not meet (assessed ones only).

    A cell on the network fails a requirement when its minutes exceed the threshold or no
    facility is reachable (NaN); a cell without network access is listed as such by the
    run, not as failing.
    """
    from lifecircle.spatial.standards import _resolve  # the scorer's own choice of column

    columns: list[np.ndarray] = []
    pairs: list[tuple[str, str]] = []
    for tier, req in std.requirements():
        _, col = _resolve(req, minutes.columns)
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
    extract: Any = None,
    total_label: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every community against a planning standard, tier by tier.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
    standard : str, pathlib.Path or Standard, default "gb50180"
    target : float, optional
        Share of a community's people a requirement must reach; default the run's
        ``coverage_target``.
    extract : OsmExtract, optional
        When ``result.extract`` is not set and the standard needs other categories.
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
    minutes = standard_minutes(result, std, extract=extract)
    speed = _speed(result)
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
       came from it (matched on position: the file's rows of this category, in file
       order, within the study area's reach, are the run's rows of that source);
    3. the OSM tag of that key (``beds``, ``capacity``, ``capacity:persons`` ...) on the
       facility's OSM object (``result.extract.features``).

    Values are read as the first number in the text (``"120"``, ``"约120张"``); anything
    else is unknown.

    Returns
    -------
    numpy.ndarray
        One value per facility of ``category`` in ``result.facilities`` order.
    """
    fac = _category_facilities(result, category)
    cap = np.full(len(fac), np.nan)
    if capacity_column in fac.columns:
        cap = np.array([_parse_number(v) for v in fac[capacity_column]], dtype=np.float64)
    src = result.options.facilities
    if src is not None and np.isnan(cap).any():
        path = Path(src)
        mine = np.flatnonzero(fac["source"].to_numpy() == path.name) if "source" in fac.columns else np.array([], int)
        if len(mine):
            table = _read_table(path)
            col = next((c for c in table.columns if str(c).strip().lower() == capacity_column.lower()), None)
            if col is not None:
                from lifecircle.layers.catalogue import load_catalogue
                from lifecircle.layers.facilities import read_facilities_file

                catalogue = load_catalogue(result.options.catalogue) if result.options.catalogue else load_catalogue()
                crs_hint = None if result.options.facilities_crs in (None, "wgs84") else result.options.facilities_crs
                user = read_facilities_file(path, catalogue=catalogue, crs_hint=crs_hint)
                rows = np.flatnonzero(user["category"].to_numpy() == category)
                # The run kept the rows near the study area; match them by geometry.
                geoms = user.geometry.iloc[rows].to_crs(result.network.crs).to_numpy()
                tree = shapely.STRtree(geoms)
                f_idx, g_idx = tree.query(fac.geometry.to_numpy()[mine], predicate="dwithin", distance=0.01)
                values = table[col].to_numpy(dtype=object)[rows]
                first = pd.Series(g_idx).groupby(f_idx).min()
                for i, g in first.items():
                    if np.isnan(cap[mine[i]]):
                        cap[mine[i]] = _parse_number(values[g])
    extract = getattr(result, "extract", None)
    if extract is not None and np.isnan(cap).any() and "osm_id" in fac.columns:
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

    Raises
    ------
    OptionError
        Neither or both of ``capacity_column`` and ``capacities``; wrong length; no
        facility of the category has a capacity.
    """
    _check_result(result)
    if (capacity_column is None) == (capacities is None):
        raise OptionError("Give exactly one of capacity_column (a column or OSM tag) and capacities (values).")
    fac = _category_facilities(result, category)
    if capacities is not None:
        cap = np.asarray(capacities, dtype=np.float64)
        if cap.shape != (len(fac),):
            raise OptionError(f"capacities has {cap.size} values; the run has {len(fac)} {category} facilities.")
    else:
        cap = facility_capacities(result, category=category, capacity_column=capacity_column)
    known = np.isfinite(cap) & (cap >= 0)
    if not known.any():
        raise OptionError(
            f"No {category} facility has a capacity {capacity_column!r}: looked in the facilities' columns, "
            f"the --facilities file and the OSM tags of {len(fac)} facilities."
        )
    use_bands = DEFAULT_BANDS if bands is None else tuple(bands)
    limit = float(np.asarray(use_bands, dtype=float)[:, 1].max()) * 60.0
    graph = reverse_graph(result.network, result.costs)
    origins = _origins(result)
    sub = fac.iloc[np.flatnonzero(known)].reset_index(drop=True)
    access = facility_access_points(sub, result.network, max_distance_m=result.options.max_access_m)
    times = cell_facility_seconds(graph, access, origins, n_facilities=len(sub), limit_seconds=limit,
                                  leg_speed_kmh=_speed(result))
    pop = _population(result)
    score, ratio_known = e2sfca(pop, times, cap[known], bands=use_bands)
    over = oversubscribed(score, times, cell_population=pop, facility_ratio=ratio_known,
                          threshold_minutes=result.options.minutes, share=share, reference=reference)
    ratio = np.full(len(fac), np.nan)
    ratio[known] = ratio_known
    fac_flags = np.zeros(len(fac), dtype=bool)
    fac_flags[known] = over.facilities
    over = Oversubscription(cells=over.cells, facilities=fac_flags, reference=over.reference, share=over.share)
    return score, ratio, over


# --------------------------------------------------------------------------- site suggestion


def read_candidates(path: str | Path, *, crs_hint: str | None = None) -> gpd.GeoDataFrame:
    """Candidate plots from a file: GeoPackage / GeoJSON / Shapefile, or CSV lon/lat points.

    A vector file must carry a CRS (else ``crs_hint``); a CSV has longitude/latitude
    columns (the names :mod:`lifecircle.layers.facilities` accepts) in WGS84. Extra
    columns (a plot id, its name) are kept.

    Raises
    ------
    InputNotFoundError, FacilitiesFileError, NoCrsError
    """
    from lifecircle.layers.facilities import LAT_ALIASES, LON_ALIASES

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
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
            raise FacilitiesFileError(f"--candidates file {str(p)!r} cannot be read as a vector file ({exc}).") from None
        if out.crs is None:
            if crs_hint is None:
                raise NoCrsError(f"--candidates file {str(p)!r} has no CRS; expected one recorded in the file.")
            out = out.set_crs(crs_hint)
    if len(out) == 0:
        raise FacilitiesFileError(f"--candidates file {str(p)!r} holds no plots.")
    if crs_hint in ("gcj02", "bd09"):
        from lifecircle.layers.chinese_coords import bd09_to_wgs84, gcj02_to_wgs84

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
    extract: Any = None,
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
    category : str
        A category of the catalogue (the run's, or found in ``result.extract``).
    count : int
        Sites wanted; fewer when no candidate serves anyone new.
    candidates : geopandas.GeoDataFrame, optional
        Available plots (points or polygons, any CRS); default network nodes of the
        largest connected component (:func:`lifecircle.spatial.siting.node_candidates`).
    spacing_m : float, optional
        With node candidates, keep one node per square of this size (fewer searches).
    extract : OsmExtract, optional
        For a category the run did not compute, when ``result.extract`` is not set.

    Returns
    -------
    geopandas.GeoDataFrame
        In ``result.network.crs``, one row per site in the order chosen: ``category``,
        ``rank``, ``marginal_gain``, ``cumulative``, ``new_cells``, ``candidate`` (row in
        the candidates), the candidates' own columns, ``geometry``. ``attrs`` hold
        ``people``, ``people_served_before``, ``people_served_after``, ``category``,
        ``threshold_minutes`` and ``candidates`` (how many were searched).
    """
    _check_result(result)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise OptionError(f"--count must be a whole number >= 1; found {count!r}.")
    if category not in _known_categories(result):
        from lifecircle._errors import UnknownCategoryError

        raise UnknownCategoryError(f"--category {category!r} is not in the catalogue.")
    network = result.network
    if candidates is None:
        cand = node_candidates(network, spacing_m=spacing_m)
    else:
        if not isinstance(candidates, gpd.GeoDataFrame):
            raise OptionError(f"candidates must be a GeoDataFrame; found {type(candidates).__name__}.")
        if candidates.crs is None:
            raise NoCrsError("candidates have no CRS; set one (e.g. EPSG:4326).")
        if len(candidates) == 0:
            raise OptionError("candidates is empty: expected at least one plot.")
        cand = candidates.to_crs(network.crs).reset_index(drop=True)
    existing = _category_facilities(result, category, extract)
    existing = gpd.GeoDataFrame(existing[["geometry"]], geometry="geometry", crs=network.crs)
    graph = reverse_graph(network, result.costs)
    sites = site_suggestions(
        network, graph, _origins(result), _population(result), existing, cand,
        threshold_minutes=float(result.options.minutes), count=int(count), leg_speed_kmh=_speed(result),
        max_access_distance_m=result.options.max_access_m,
    )
    attrs = dict(sites.attrs)
    sites = sites.drop(columns=[c for c in ("category",) if c in sites.columns])
    sites.insert(0, "category", category)
    first = ["category", "rank", "marginal_gain", "cumulative", "new_cells", "candidate"]
    sites = sites[first + [c for c in sites.columns if c not in first]]
    attrs.update({"category": category, "threshold_minutes": float(result.options.minutes), "candidates": len(cand)})
    sites.attrs = attrs
    for _, row in sites.iterrows():
        log.info("Site %d for %s: +%.0f people (cumulative %.0f)", row["rank"], category, row["marginal_gain"],
                 row["cumulative"])
    return sites


def _served_now(result: Any, category: str, graph: ReverseGraph, origins: EdgeLocation) -> np.ndarray:
    """Cells within the threshold of an existing facility of the category."""
    limit = float(result.options.minutes)
    col = minutes_column(category)
    if category in tuple(result.categories) and col in result.cells.columns:
        return np.nan_to_num(result.cells[col].to_numpy(dtype=np.float64), nan=np.inf) <= limit
    existing = _category_facilities(result, category)
    access = facility_access_points(existing, result.network, max_distance_m=result.options.max_access_m)
    secs, _ = nearest_facility(graph, access, n_facilities=len(existing), leg_speed_kmh=_speed(result),
                               limit_seconds=limit * 60.0)
    times = origin_seconds(graph, secs, origins, access=access, leg_speed_kmh=_speed(result))
    return np.nan_to_num(times, nan=np.inf) <= limit * 60.0


def _served_by_sites(result: Any, sites: gpd.GeoDataFrame) -> np.ndarray:
    """Per cell, the rank of the first suggested site that newly brings it within the threshold (0: none)."""
    graph = reverse_graph(result.network, result.costs)
    origins = _origins(result)
    category = str(sites.attrs.get("category", sites["category"].iloc[0]))
    taken = _served_now(result, category, graph, origins)
    sites = sites.to_crs(result.network.crs).reset_index(drop=True)
    access = facility_access_points(sites, result.network, max_distance_m=result.options.max_access_m)
    coverage = candidate_coverage(graph, origins, access, limit_seconds=float(result.options.minutes) * 60.0,
                                  n_candidates=len(sites), leg_speed_kmh=_speed(result))
    out = np.zeros(len(result.cells), dtype=np.int64)
    for i in np.argsort(sites["rank"].to_numpy(), kind="stable"):
        cells = coverage.indices[coverage.indptr[i]: coverage.indptr[i + 1]]
        new = cells[~taken[cells]]
        out[new] = int(sites["rank"].iloc[i])
        taken[new] = True
    return out


# --------------------------------------------------------------------------- renewal lists


def planning_gap_tables(
    result: Any,
    *,
    tiers: pd.DataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    lang: str = "en",
    standard: str | Path | Standard | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The urban-renewal lists: cells and communities ranked by people affected.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
    tiers : pandas.DataFrame, optional
        The ``tiers`` of :func:`standard_scores`: adds each cell's unmet requirements
        (``tier:requirement``) and each community's failed tiers with what they miss.
    sites : geopandas.GeoDataFrame, optional
        From :func:`suggest`: adds each cell's nearest suggested site (rank and
        straight-line metres) and whether a site would bring it within the threshold
        (rank of the first that does, blank if none); per community the sites inside it
        and the people they would newly serve there.
    lang : {"en", "zh"}
        Headers and category / requirement names (as :data:`lifecircle.outputs.GAP_HEADERS`,
        plus :data:`PLANNING_HEADERS`).
    standard : str, pathlib.Path or Standard, optional
        For the names of tiers and requirements; default the one ``tiers`` was scored on.

    Returns
    -------
    cells_table : pandas.DataFrame
        Cells that are under-served (some category beyond the threshold) or fail a
        requirement of the standard, ranked by people, then number of missing categories,
        then cell id: the columns of :func:`lifecircle.outputs.gap_table` plus
        ``tier_failures``, ``suggested_site``, ``suggested_site_m``, ``served_by_site``.
    communities_table : pandas.DataFrame
        The columns of :func:`lifecircle.outputs.community_gap_table` plus
        ``failed_tiers``, ``suggested_sites_in_community``, ``people_served_by_sites``;
        ranked by people in under-served cells.
    """
    from lifecircle.outputs import category_labels, community_gap_table, gap_table

    _check_result(result)
    if lang not in PLANNING_HEADERS:
        raise OptionError(f"--lang must be one of {sorted(PLANNING_HEADERS)}; found {lang!r}.")
    h = PLANNING_HEADERS[lang]
    cells = result.cells
    labels = category_labels(result.options.catalogue)
    measured = [c for c in result.categories if c not in result.no_data]

    std = None
    if standard is not None:
        std = _as_standard(standard)
    elif tiers is not None and tiers.attrs.get("path"):
        std = load_standard(Path(tiers.attrs["path"]))
    names: dict[tuple[str, str], str] = {}
    tier_names: dict[str, str] = {}
    if std is not None:
        for t, r in std.requirements():
            names[(t.key, r.key)] = r.name if lang == "zh" else r.key
            tier_names[t.key] = t.name if lang == "zh" else t.key
    sep = "、" if lang == "zh" else ", "

    failures: list[tuple] = [()] * len(cells)
    if tiers is not None:
        failures = list(tiers.attrs.get("cell_failures") or failures)
        if len(failures) != len(cells):
            raise OptionError(f"tiers were scored on {len(failures)} cells; this run has {len(cells)}.")
    def describe(pairs: Sequence[tuple[str, str]]) -> str:
        """``"tier: req, req; tier: req"`` in the standard's order."""
        by_tier: dict[str, list[str]] = {}
        for t, r in pairs:
            by_tier.setdefault(t, []).append(names.get((t, r), r))
        return "; ".join(f"{tier_names.get(t, t)}: {sep.join(rs)}" for t, rs in by_tier.items())

    fail_text = np.array([describe(f) for f in failures], dtype=object)
    has_fail = np.array([len(f) > 0 for f in failures], dtype=bool)
    pop = _population(result)
    listed = cells["underserved"].to_numpy(dtype=bool) | (has_fail & (pop > 0))

    base = gap_table(cells.assign(underserved=listed), categories=measured, lang=lang, labels=labels)
    pos = pd.Index(cells["cell_id"]).get_indexer(base[h["cell_id"]])
    insert_at = base.columns.get_loc(h["n_missing"]) + 1
    base.insert(insert_at, h["tier_failures"], fail_text[pos])

    served_by = np.zeros(len(cells), dtype=np.int64)
    if sites is not None and len(sites):
        site_m = sites.to_crs(result.network.crs)
        centres = shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy())
        tree = shapely.STRtree(site_m.geometry.to_numpy())
        c_idx, s_idx = tree.query_nearest(centres, return_distance=False, all_matches=False)
        nearest = np.zeros(len(cells), dtype=np.int64)
        nearest[c_idx] = site_m["rank"].to_numpy()[s_idx]
        dist = np.full(len(cells), np.nan)
        dist[c_idx] = shapely.distance(centres[c_idx], site_m.geometry.to_numpy()[s_idx])
        served_by = _served_by_sites(result, sites)
        base[h["site"]] = nearest[pos]
        base[h["site_m"]] = np.round(dist[pos], 0)
        base[h["served_by_site"]] = pd.array(np.where(served_by[pos] > 0, served_by[pos], None), dtype="Int64")
    cells_table = base

    comm = community_gap_table(result.communities, cells, categories=measured, lang=lang, labels=labels)
    if tiers is not None and len(tiers):
        failed = tiers[tiers["status"] == "fail"]
        text = failed.groupby("community", sort=False).apply(
            lambda g: describe([(t, r) for t, miss in zip(g["tier"], g["missing"]) for r in miss]),
            include_groups=False,
        )
        comm[h["failed_tiers"]] = comm[h["name"]].map(text).fillna("").to_numpy()
    if sites is not None and len(sites):
        site_m = sites.to_crs(result.network.crs)
        polys = result.communities
        s_idx, p_idx = shapely.STRtree(polys.geometry.to_numpy()).query(site_m.geometry.to_numpy(),
                                                                        predicate="intersects")
        inside = pd.Series(site_m["rank"].to_numpy()[s_idx]).groupby(polys["name"].to_numpy()[p_idx]).apply(
            lambda r: ",".join(str(v) for v in sorted(set(r))))
        comm[h["sites_in"]] = comm[h["name"]].map(inside).fillna("").to_numpy()
        gained = pd.Series(pop * (served_by > 0)).groupby(cells["community"].to_numpy()).sum()
        comm[h["people_served_by_sites"]] = comm[h["name"]].map(gained).fillna(0.0).round(1).to_numpy()
    return cells_table, comm


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
    """

    standard: Standard | None = None
    requirements: pd.DataFrame | None = None
    tiers: pd.DataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    capacity: dict[str, dict[str, Any]] = field(default_factory=dict)


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
    return PlanResult(standard=std, requirements=requirements, tiers=tiers, sites=sites, capacity=cap)
