"""Write a run's results: map.html, results.gpkg, gaps.csv / gaps.xlsx, run.json.

The output set is replaced whole or not at all (:mod:`lifecircle.outfolder`): every file
is first written into a staging folder inside the output folder, then the previous set is
swapped for the new one, with roll-back on any error; ``run.json`` lists the set's files.
Files are in EPSG:4326 (longitude/latitude).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from lifecircle._errors import OptionError
from lifecircle.columnar import (
    PARQUET_LAYERS,
    lonlat_polygon_wkb,
    parquet_name,
    parse_formats,
    to_lonlat,
    write_geoparquet,
)
from lifecircle.gpkg_process import start_layer_process
from lifecircle.i18n import (
    ABOUT_TEXT,
    GAP_AREA_HEADERS,
    GAP_HEADERS,
    INDICATIVE_TEXT,
    INDICATOR_HEADERS,
    LEVEL_HEADERS,
    PLANNING_HEADERS,
    SHEET_NAMES,
    UNIT_HEADERS,
    WEIGHT_HEADERS,
    level_label,
    list_separator,
    profile_label,
    text,
    threshold_text,
)
from lifecircle.layers.catalogue import Catalogue, load_catalogue
from lifecircle.layers.standards import Standard, load_standard
from lifecircle.maps import build_map, save_map
from lifecircle.outfolder import atomic_staging, check_output_folder, writing
from lifecircle.pipeline import RunOptions, RunResult
from lifecircle.planning import PlanResult, served_by_sites
from lifecircle.publish import redact, run_id_of
from lifecircle.report_figures import FIGURE_PREFIX, write_figures
from lifecircle.scenario import CHANGE_FILES, sites_plan, write_change_files
from lifecircle.schema import median_column, minutes_column, p90_column, share_column, threshold_share_column
from lifecircle.spatial.coverage import gap_areas
from lifecircle.spreadsheets import write_csv, write_xlsx

__all__ = [
    "OUTPUT_FILES",
    "PARQUET_FILES",
    "GAP_HEADERS",
    "PLANNING_HEADERS",
    "WEIGHT_HEADERS",
    "people_header",
    "sha256_of",
    "category_labels",
    "requirement_labels",
    "tiers_in_words",
    "gap_table",
    "gap_area_table",
    "gap_headers",
    "UNIT_HEADERS",
    "GAP_AREA_HEADERS",
    "community_gap_table",
    "planning_gap_tables",
    "write_outputs",
    "atomic_staging",
    "check_output_folder",
    "writing",
    "facility_qa_table",
    "likely_incomplete",
    "mark_incomplete",
    "INCOMPLETE_NOTE",
    "mark_indicative",
    "level_gap_table",
    "indicator_sheet",
    "governance_outputs",
    "with_governance_columns",
]

log = logging.getLogger(__name__)

#: The files a run writes (a stable contract).
OUTPUT_FILES: tuple[str, ...] = ("map.html", "results.gpkg", "gaps.csv", "gaps.xlsx", "community_gaps.csv",
                                  "facility_qa.csv", "gap_areas.csv", "run.json")
#: The GeoParquet files a run writes with ``formats`` holding ``"parquet"``.
PARQUET_FILES: tuple[str, ...] = tuple(parquet_name(layer) for layer in PARQUET_LAYERS)

def gap_headers(lang: str, community_kind: str = "community") -> dict[str, str]:
    """:data:`GAP_HEADERS` of a language, naming derived units 片区 / neighbourhood units.

    Parameters
    ----------
    lang : {"en", "zh"}
        Language of the headers (a key of :data:`GAP_HEADERS`).
    community_kind : {"community", "neighbourhood_unit"}, default "community"
        ``"neighbourhood_unit"`` when the communities were derived from streets: the community
        columns are then headed 片区 / neighbourhood_unit (:data:`UNIT_HEADERS`).

    Returns
    -------
    dict of str to str
        A new dict, header by key (``"rank"``, ``"community"``, ``"minutes"`` with a ``{}``
        for the category, ...); :data:`GAP_HEADERS` itself is not changed.

    Examples
    --------
    >>> gap_headers("en")["community"], gap_headers("en", "neighbourhood_unit")["community"]
    ('community', 'neighbourhood_unit')
    >>> gap_headers("zh", "neighbourhood_unit")["name"]
    '片区'
    """
    h = dict(GAP_HEADERS[lang])
    if community_kind == "neighbourhood_unit":
        h.update(UNIT_HEADERS[lang])
    return h


def people_header(lang: str, population_kind: str = "people") -> str:
    """Header of the people column: people, or the stated fallback weight.

    Parameters
    ----------
    lang : {"en", "zh"}
        Language of the header.
    population_kind : {"people", "floor_area", "equal"}, default "people"
        What the cells' ``population`` holds: people, or a fallback weight (residential floor
        area in m², or 1 per cell) that must not be read as people.

    Returns
    -------
    str
        ``"people"`` / ``"人口"``, or the weight's header from :data:`WEIGHT_HEADERS`.
    """
    if population_kind in WEIGHT_HEADERS:
        return WEIGHT_HEADERS[population_kind][lang]
    return GAP_HEADERS[lang]["people"]


#: Fixed GeoPackage timestamp so the same inputs give byte-identical files.
_GPKG_DATE = "2000-01-01T00:00:00.000Z"


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file.

    Parameters
    ----------
    path : str or pathlib.Path
        File to hash, read in blocks of 1 MiB (any size).

    Returns
    -------
    str
        64 lower-case hexadecimal digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def category_labels(catalogue_path: str | Path | None = None) -> dict[str, dict[str, str]]:
    """``{category: {"zh": label, "en": label, "colour": "#rrggbb"}}`` from the catalogue
    (bundled plus the user's): the one source of the categories' names and colours.

    Parameters
    ----------
    catalogue_path : str or pathlib.Path, optional
        A user's catalogue YAML added to the bundled one (``--catalogue``); None: the bundled
        catalogue only.

    Returns
    -------
    dict of str to dict of str to str
        Per category key its Chinese and English labels and its map colour.
    """
    return _labels_of(load_catalogue(extra=catalogue_path))


def _labels_of(catalogue: Catalogue) -> dict[str, dict[str, str]]:
    return {name: {"zh": cat.label_zh, "en": cat.label_en, "colour": cat.colour} for name, cat in catalogue.categories.items()}


def requirement_labels(standard: Any) -> dict[str, dict[str, str]]:
    """``{requirement key: {"zh": name, "en": name}}`` of a standard (its YAML's names; the
    map's tier popups); empty for ``None``.

    Parameters
    ----------
    standard : lifecircle.planning.Standard or None
        A loaded standard (tiers of requirements); None when the run scored none.

    Returns
    -------
    dict of str to dict of str to str
        Per requirement key its Chinese (``name``) and English (``name_en``) name; a key used
        in several tiers keeps the last tier's names.
    """
    if standard is None:
        return {}
    return {r.key: {"zh": r.name, "en": r.name_en} for t in standard.tiers for r in t.requirements}


def tiers_in_words(tiers: pd.DataFrame, standard: Any, lang: str) -> pd.DataFrame:
    """Tiers with their missing and unassessed requirements named as the standard names them
    in Chinese (as the gap lists do); in English the keys stay, as in the gap lists.

    Parameters
    ----------
    tiers : pandas.DataFrame
        The ``tiers`` of :func:`lifecircle.planning.standard_scores`: a ``tier`` column and
        ``missing`` / ``not_assessed`` columns of requirement keys (tuples or comma-separated text).
    standard : lifecircle.planning.Standard or None
        The standard the tiers were scored on; None: ``tiers`` is returned as it is.
    lang : {"en", "zh"}
        Only ``"zh"`` renames; any other language returns ``tiers`` as it is.

    Returns
    -------
    pandas.DataFrame
        A copy whose ``missing`` and ``not_assessed`` hold tuples of Chinese requirement names
        (a key the standard does not name stays a key), or ``tiers`` itself when nothing is renamed.
    """
    if standard is None or lang != "zh":
        return tiers
    names = {(t.key, r.key): r.name for t in standard.tiers for r in t.requirements}
    out = tiers.copy()
    for col in ("missing", "not_assessed"):
        if col in out.columns:
            out[col] = [tuple(names.get((str(tier), k), k) for k in _keys(keys)) for tier, keys in zip(out["tier"], out[col])]
    return out


def _keys(value: Any) -> list[str]:
    """Requirement keys from a tuple or a comma-separated text (none for empty or missing)."""
    if isinstance(value, (tuple, list)):
        return [str(v) for v in value]
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _label(category: str, lang: str, labels: dict[str, dict[str, str]] | None) -> str:
    return (labels or {}).get(category, {}).get(lang, category)


def _translate_list(value: str, lang: str, labels: dict[str, dict[str, str]] | None) -> str:
    if not value or lang == "en":
        return value
    return list_separator(lang).join(_label(v, lang, labels) for v in value.split(","))


def gap_table(cells: gpd.GeoDataFrame, *, categories: Sequence[str], lang: str = "en",
              labels: dict[str, dict[str, str]] | None = None, population_kind: str = "people",
              community_kind: str = "community") -> pd.DataFrame:
    """Under-served cells with people, ranked by people affected (then by categories
    missing, then id). Cells without people (parks, rivers, roads) are left out of the
    list; they stay in the GeoPackage's ``cells`` layer.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        A run's cells (any CRS).
    categories : sequence of str
        Categories to list minutes for (leave out those with no data).
    lang : {"en", "zh"}
    labels : dict, optional
        Category labels per language (:func:`category_labels`); default the raw names.
    population_kind : str
        ``"people"``, or a fallback weight (``"floor_area"``, ``"equal"``) whose column
        header then says it is not people.
    community_kind : str
        ``"community"`` or ``"neighbourhood_unit"`` (derived 片区): the header naming them.

    Returns
    -------
    pandas.DataFrame
        rank, cell_id, community, people, missing, n_missing, minutes per category, lon, lat.
    """
    h = gap_headers(lang, community_kind)
    # Listed people are rounded to 0.1: a cell that would show 0.0 has nobody to list.
    people = np.round(np.nan_to_num(cells["population"].to_numpy(dtype=float)), 1)
    gaps = cells[cells["underserved"].to_numpy(dtype=bool) & (people > 0)].copy()
    centres = gpd.GeoSeries(gaps.geometry.centroid, crs=cells.crs).to_crs(4326)
    gaps["lon"] = centres.x.round(6)
    gaps["lat"] = centres.y.round(6)
    gaps["n_missing"] = gaps["missing"].str.count(",") + (gaps["missing"] != "").astype(int)
    gaps["people"] = gaps["population"].astype(float).round(1)
    gaps = gaps.sort_values(["people", "n_missing", "cell_id"], ascending=[False, False, True], kind="stable")
    gaps["rank"] = np.arange(1, len(gaps) + 1)
    out = pd.DataFrame({
        h["rank"]: gaps["rank"].to_numpy(),
        h["cell_id"]: gaps["cell_id"].to_numpy(),
        h["community"]: gaps["community"].to_numpy(),
        h["people"]: gaps["people"].to_numpy(),
        h["missing"]: [_translate_list(m, lang, labels) for m in gaps["missing"]],
        h["n_missing"]: gaps["n_missing"].to_numpy(),
    })
    for cat in categories:
        out[h["minutes"].format(_label(cat, lang, labels))] = gaps[minutes_column(cat)].round(1).to_numpy()
    out[h["lon"]] = gaps["lon"].to_numpy()
    out[h["lat"]] = gaps["lat"].to_numpy()
    return out.rename(columns={h["people"]: people_header(lang, population_kind)})


def community_gap_table(communities: gpd.GeoDataFrame, cells: pd.DataFrame, *, categories: Sequence[str],
                        lang: str = "en", labels: dict[str, dict[str, str]] | None = None,
                        population_kind: str = "people", community_kind: str = "community") -> pd.DataFrame:
    """Communities (or derived 片区) ranked by people in under-served cells: has, lacks, shares.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        One row per community: ``name``, ``population``, ``has`` and ``lacks`` (comma-separated
        category keys, missing read as none) and a share column
        (:func:`lifecircle.schema.share_column`) per category in ``categories``.
    cells : pandas.DataFrame
        The run's cells: ``community`` (the name of the community holding the cell),
        ``population`` and ``underserved`` (bool).
    categories : sequence of str
        Categories whose share of people within the threshold gets a column, in this order.
    lang : {"en", "zh"}, default "en"
        Language of the headers and, in Chinese, of the category names.
    labels : dict, optional
        :func:`category_labels`; None: categories keep their keys.
    population_kind : {"people", "floor_area", "equal"}, default "people"
        A fallback weight renames the people columns so they are not read as people.
    community_kind : {"community", "neighbourhood_unit"}, default "community"
        See :func:`gap_headers`.

    Returns
    -------
    pandas.DataFrame
        One row per community, ranked (1, 2, ...) by people in under-served cells, most
        first, ties by name; people rounded to 0.1, shares (0 to 1) to 0.001.
    """
    h = gap_headers(lang, community_kind)
    under = cells[cells["underserved"]].groupby("community")
    people = under["population"].sum()
    n_cells = under.size()
    table = pd.DataFrame({
        h["name"]: communities["name"].to_numpy(),
        h["population"]: communities["population"].round(1).to_numpy(),
        h["underserved_people"]: communities["name"].map(people).fillna(0).round(1).to_numpy(),
        h["underserved_cells"]: communities["name"].map(n_cells).fillna(0).astype(int).to_numpy(),
        h["has"]: [_translate_list(v, lang, labels) for v in communities["has"].fillna("")],
        h["lacks"]: [_translate_list(v, lang, labels) for v in communities["lacks"].fillna("")],
    })
    for cat in categories:
        col = share_column(cat)
        table[h["share"].format(_label(cat, lang, labels))] = communities[col].round(3).to_numpy()
    table = table.sort_values([h["underserved_people"], h["name"]], ascending=[False, True], kind="stable")
    table.insert(0, h["rank"], np.arange(1, len(table) + 1))
    if population_kind in WEIGHT_HEADERS:
        weight = people_header(lang, population_kind)
        table = table.rename(columns={h["population"]: weight,
                                      h["underserved_people"]: f"{h['underserved_people']}: {weight}"})
    return table.reset_index(drop=True)


def planning_gap_tables(
    result: Any,
    *,
    tiers: pd.DataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    served_by_site: np.ndarray | None = None,
    lang: str = "en",
    standard: str | Path | Standard | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The urban-renewal lists: cells and communities ranked by people affected.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
    tiers : pandas.DataFrame, optional
        The ``tiers`` of :func:`lifecircle.planning.standard_scores`: adds each cell's unmet requirements (``tier:requirement``)
        and each community's failed tiers with what they miss.
    sites : geopandas.GeoDataFrame, optional
        From :func:`lifecircle.planning.suggest`: adds each cell's nearest suggested site (rank, straight-line metres) and
        the rank of the first site bringing it within the threshold (blank if none); per community the sites in it and the people they newly serve.
    served_by_site : numpy.ndarray, optional
        :func:`lifecircle.planning.served_by_sites` of ``sites``; computed when not given.
    lang : {"en", "zh"}
        Headers and category / requirement names (:data:`PLANNING_HEADERS`).
    standard : str, pathlib.Path or Standard, optional
        For the names of tiers and requirements; default the one ``tiers`` was scored on.

    Returns
    -------
    cells_table : pandas.DataFrame
        Cells that are under-served (some category beyond the threshold) or fail a requirement of the standard, ranked by
        people, then number of missing categories, then cell id: the columns of :func:`gap_table` plus
        ``tier_failures``, ``suggested_site``, ``suggested_site_m``, ``served_by_site``.
    communities_table : pandas.DataFrame
        The columns of :func:`community_gap_table` plus ``failed_tiers``,
        ``suggested_sites_in_community``, ``people_served_by_sites``; ranked as it is.

    Raises
    ------
    OptionError
        ``tiers`` were scored on other cells than the run's, or ``lang`` is unknown.
    """
    h, unit_kind = _planning_headers(result, lang)
    cells, labels = result.cells, _labels_of(result.model.catalogue)
    measured = [c for c in result.categories if c not in result.no_data]
    describe = _failure_words(standard, tiers, lang)
    failures: list[tuple[tuple[str, str], ...]] = [()] * len(cells)
    if tiers is not None:
        failures = list(tiers.attrs.get("cell_failures") or failures)
        if len(failures) != len(cells):
            raise OptionError(f"tiers were scored on {len(failures)} cells; this run has {len(cells)}.")
    # A city has few distinct failure sets: word each once, then look them up.
    codes, distinct = pd.factorize(pd.Series(failures, dtype=object))
    fail_text = np.array([describe(f) for f in distinct], dtype=object)[codes] if len(cells) else np.empty(0, object)
    has_fail = np.array([len(f) > 0 for f in distinct], dtype=bool)[codes] if len(cells) else np.empty(0, bool)
    pop = np.nan_to_num(cells["population"].to_numpy(dtype=np.float64), nan=0.0)
    listed = cells["underserved"].to_numpy(dtype=bool) | (has_fail & (pop > 0))

    base = gap_table(cells.assign(underserved=listed), categories=measured, lang=lang, labels=labels,
                     community_kind=unit_kind)
    pos = pd.Index(cells["cell_id"]).get_indexer(base[h["cell_id"]])
    base.insert(base.columns.get_loc(h["n_missing"]) + 1, h["tier_failures"], fail_text[pos])
    served_by = np.zeros(len(cells), dtype=np.int64)
    if sites is not None and len(sites):
        served_by = served_by_site if served_by_site is not None else served_by_sites(result, sites)
        _add_site_columns(base, cells, sites.to_crs(result.network.crs), served_by, pos, h)

    comm = community_gap_table(result.communities, cells, categories=measured, lang=lang, labels=labels,
                               community_kind=unit_kind)
    if tiers is not None and len(tiers):
        failed = tiers[tiers["status"] == "fail"]
        text = failed.groupby("community", sort=False).apply(
            lambda g: describe([(t, r) for t, miss in zip(g["tier"], g["missing"]) for r in miss]),
            include_groups=False,
        )
        comm[h["failed_tiers"]] = comm[h["name"]].map(text).fillna("").to_numpy()
    if sites is not None and len(sites):
        _add_community_site_columns(comm, result.communities, cells, sites.to_crs(result.network.crs),
                                    pop * (served_by > 0), h)
    return base, comm


def _planning_headers(result: Any, lang: str) -> tuple[dict[str, str], str]:
    """The gap lists' headers in ``lang`` (片区 wording for derived units) and the unit kind."""
    if lang not in PLANNING_HEADERS:
        raise OptionError(f"--lang must be one of {sorted(PLANNING_HEADERS)}; found {lang!r}.")
    unit_kind = (getattr(result, "summary", None) or {}).get("community_kind", "community")
    h = dict(PLANNING_HEADERS[lang])
    if unit_kind == "neighbourhood_unit":
        h.update(UNIT_HEADERS[lang])
    return h, unit_kind


def _failure_words(standard: str | Path | Standard | None, tiers: pd.DataFrame | None, lang: str
                   ) -> Callable[[Sequence[tuple[str, str]]], str]:
    """A function wording ``(tier, requirement)`` pairs as ``"tier: req, req; tier: req"``
    in the standard's order, with the standard's names in ``lang``."""
    std = None
    if standard is not None:
        std = standard if isinstance(standard, Standard) else load_standard(standard)
    elif tiers is not None and tiers.attrs.get("path"):
        std = load_standard(Path(tiers.attrs["path"]))
    names: dict[tuple[str, str], str] = {}
    tier_names: dict[str, str] = {}
    if std is not None:
        for t, r in std.requirements():
            names[(t.key, r.key)] = r.name if lang == "zh" else r.key
            tier_names[t.key] = t.name if lang == "zh" else t.key
    sep = list_separator(lang)

    def describe(pairs: Sequence[tuple[str, str]]) -> str:
        by_tier: dict[str, list[str]] = {}
        for t, r in pairs:
            by_tier.setdefault(t, []).append(names.get((t, r), r))
        return "; ".join(f"{tier_names.get(t, t)}: {sep.join(rs)}" for t, rs in by_tier.items())

    return describe


def _add_site_columns(base: pd.DataFrame, cells: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                      served_by: np.ndarray, pos: np.ndarray, h: dict[str, str]) -> None:
    """Each listed cell's nearest suggested site (rank, straight-line metres) and the
    first site that would serve it (in place)."""
    centres = shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy())
    c_idx, s_idx = shapely.STRtree(sites.geometry.to_numpy()).query_nearest(
        centres, return_distance=False, all_matches=False)
    nearest = np.zeros(len(cells), dtype=np.int64)
    nearest[c_idx] = sites["rank"].to_numpy()[s_idx]
    dist = np.full(len(cells), np.nan)
    dist[c_idx] = shapely.distance(centres[c_idx], sites.geometry.to_numpy()[s_idx])
    base[h["site"]] = nearest[pos]
    base[h["site_m"]] = np.round(dist[pos], 0)
    base[h["served_by_site"]] = pd.array(np.where(served_by[pos] > 0, served_by[pos], None), dtype="Int64")


def _add_community_site_columns(comm: pd.DataFrame, polys: gpd.GeoDataFrame, cells: gpd.GeoDataFrame,
                                sites: gpd.GeoDataFrame, gained_people: np.ndarray, h: dict[str, str]) -> None:
    """Per community the suggested sites inside it and the people they would newly serve (in place)."""
    s_idx, p_idx = shapely.STRtree(polys.geometry.to_numpy()).query(sites.geometry.to_numpy(), predicate="intersects")
    inside = pd.Series(sites["rank"].to_numpy()[s_idx]).groupby(polys["name"].to_numpy()[p_idx]).apply(
        lambda r: ",".join(str(v) for v in sorted(set(r))))
    comm[h["sites_in"]] = comm[h["name"]].map(inside).fillna("").to_numpy()
    gained = pd.Series(gained_people).groupby(cells["community"].to_numpy()).sum()
    comm[h["people_served_by_sites"]] = comm[h["name"]].map(gained).fillna(0.0).round(1).to_numpy()


#: Added to a category's column headers when its data is likely incomplete.
INCOMPLETE_NOTE: dict[str, str] = {"en": " (likely incomplete data: coverage is a lower bound, ≥)",
                                   "zh": "（数据可能不全：覆盖率为下限，≥）"}


def likely_incomplete(summary: dict[str, Any]) -> list[str]:
    """Categories whose facility data the run judged likely incomplete (``summary["completeness"]``).

    Parameters
    ----------
    summary : dict
        A run summary (as in ``run.json``); a missing or empty ``completeness`` means none.

    Returns
    -------
    list of str
        Category keys whose verdict says ``likely_incomplete``, in the summary's order.

    Examples
    --------
    >>> likely_incomplete({"completeness": {"clinic": {"likely_incomplete": True},
    ...                                     "school": {"likely_incomplete": False}}})
    ['clinic']
    >>> likely_incomplete({})
    []
    """
    verdicts = summary.get("completeness") or {}
    return [c for c, v in verdicts.items() if isinstance(v, dict) and v.get("likely_incomplete")]


def mark_incomplete(table: pd.DataFrame, categories: Sequence[str], *, lang: str,
                    labels: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """Rename the minutes and share columns of ``categories`` to say the data is likely incomplete.

    Parameters
    ----------
    table : pandas.DataFrame
        A gap list or community list with :data:`GAP_HEADERS` column names.
    categories : sequence of str
        :func:`likely_incomplete`; empty: ``table`` is returned as it is.
    lang : {"en", "zh"}
        Language of ``table``'s headers.
    labels : dict, optional
        :func:`category_labels`, as the table was written with; None: category keys.

    Returns
    -------
    pandas.DataFrame
        A renamed copy: :data:`INCOMPLETE_NOTE` appended to each such header present (others,
        and the values, unchanged).
    """
    if not categories:
        return table
    h = GAP_HEADERS[lang]
    renames = {}
    for cat in categories:
        label = _label(cat, lang, labels)
        for key in ("minutes", "share"):
            header = h[key].format(label)
            if header in table.columns:
                renames[header] = header + INCOMPLETE_NOTE[lang]
    return table.rename(columns=renames)


def mark_indicative(table: pd.DataFrame, profiles: Sequence[str], *, lang: str) -> pd.DataFrame:
    """Add a column naming the walkers whose terrain results are indicative.

    Parameters
    ----------
    table : pandas.DataFrame
        A gap list.
    profiles : sequence of str
        ``summary.terrain_indicative`` (the DEM failed the plausibility check); empty:
        the table is returned unchanged.
    lang : {"en", "zh"}

    Returns
    -------
    pandas.DataFrame
        A copy with the column :data:`lifecircle.i18n.INDICATIVE_TEXT` ``header`` last, the same
        value (``elderly, wheelchair``) on every row, as run.json, the map and the printout say it.
    """
    if not profiles:
        return table
    out = table.copy()
    out[INDICATIVE_TEXT[lang]["header"]] = list_separator(lang).join(profile_label(p, lang) for p in profiles)
    return out


def facility_qa_table(qa: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """``facility_qa.csv``: every feature merged into a site or excluded, and why.

    Columns osm_type, osm_id, name, category, action (``site``: the main part of a site
    of several parts, ``merged``, ``excluded``), reason, site_id, source, lon, lat (a
    point on the feature, WGS84). Written with :func:`lifecircle.spreadsheets.write_csv`,
    so no name from the data becomes a live formula.

    Parameters
    ----------
    qa : geopandas.GeoDataFrame or None
        The facility clean-up's record (any projected or geographic CRS); missing columns are
        left blank. None or empty: a table with the columns and no rows.

    Returns
    -------
    pandas.DataFrame
        One row per feature; ``osm_id`` a nullable integer (``Int64``), lon / lat rounded to
        7 decimals.
    """
    columns = ["osm_type", "osm_id", "name", "category", "action", "reason", "site_id", "source", "lon", "lat"]
    if qa is None or len(qa) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    pts = qa.geometry.to_crs(4326).representative_point()
    out = pd.DataFrame({c: qa[c].to_numpy(dtype=object) if c in qa.columns else None for c in columns[:-2]})
    out["osm_id"] = pd.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)
                              for v in out["osm_id"]], dtype="Int64")  # ids stay integers beside blanks
    out["lon"], out["lat"] = pts.x.round(7).to_numpy(), pts.y.round(7).to_numpy()
    return out


def _site_label(value: str, lang: str, labels: dict[str, dict[str, str]] | None) -> str:
    """``"clinic #2"`` with the category in the list's language (``"诊所/医疗 #2"``)."""
    if not value or " #" not in value:
        return value
    cat, rank = value.rsplit(" #", 1)
    return f"{_label(cat, lang, labels)} #{rank}"


def gap_area_table(areas: gpd.GeoDataFrame, *, lang: str = "en", labels: dict[str, dict[str, str]] | None = None,
                   population_kind: str = "people", community_kind: str = "community") -> pd.DataFrame:
    """The gap areas (:func:`lifecircle.spatial.coverage.gap_areas`) as a list: ranked by
    people, with community, what is missing and the nearest suggested site.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        :func:`lifecircle.spatial.coverage.gap_areas`, in a projected CRS: ``rank``, ``area_id``,
        ``people``, ``cells``, ``area_ha``, ``community``, ``communities`` (comma-separated),
        ``missing``, ``nearest_site`` (``"clinic #2"`` or blank), ``nearest_site_m`` and the
        centre ``x`` / ``y`` in the CRS's metres.
    lang : {"en", "zh"}, default "en"
        Language of the headers (:data:`GAP_AREA_HEADERS`) and, in Chinese, of category names.
    labels : dict, optional
        :func:`category_labels`; None: categories keep their keys.
    population_kind : {"people", "floor_area", "equal"}, default "people"
        See :func:`people_header`.
    community_kind : {"community", "neighbourhood_unit"}, default "community"
        See :func:`gap_headers`.

    Returns
    -------
    pandas.DataFrame
        One row per area in ``areas``' order; people rounded to 0.1, hectares to 0.01, the
        centre as WGS84 lon / lat rounded to 6 decimals; the nearest-site columns are left out
        when no area has a suggested site.
    """
    h = GAP_AREA_HEADERS[lang]
    community = gap_headers(lang, community_kind)["community"]
    centres = gpd.GeoSeries(gpd.points_from_xy(areas["x"], areas["y"]), crs=areas.crs).to_crs(4326)
    out = pd.DataFrame({
        h["rank"]: areas["rank"].to_numpy(),
        h["area_id"]: areas["area_id"].to_numpy(),
        people_header(lang, population_kind): areas["people"].astype(float).round(1).to_numpy(),
        h["cells"]: areas["cells"].to_numpy(),
        h["area_ha"]: areas["area_ha"].astype(float).round(2).to_numpy(),
        community: areas["community"].to_numpy(),
        h["n_communities"]: areas["communities"].fillna("").astype(str).str.count(",").to_numpy() + 1,
        h["missing"]: [_translate_list(m, lang, labels) for m in areas["missing"]],
        h["nearest_site"]: [_site_label(v, lang, labels) for v in areas["nearest_site"]],
        h["nearest_site_m"]: areas["nearest_site_m"].to_numpy(),
        h["lon"]: centres.x.round(6).to_numpy(),
        h["lat"]: centres.y.round(6).to_numpy(),
    })
    if not areas["nearest_site"].astype(bool).any():
        out = out.drop(columns=[h["nearest_site"], h["nearest_site_m"]])
    return out


def _for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """EPSG:4326 copy with object columns made file-friendly (no dicts, no mixed types)."""
    out = to_lonlat(gdf)  # a city's cells share their corners: each reprojected once
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = _file_text(out[col])
    return out


def _file_text(column: pd.Series) -> pd.Series:
    """Text or None per value: a column already holding only text (a city grid's names and
    lists) in one vectorised pass, any other through ``str`` value by value."""
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        values = column.to_numpy(dtype=object, na_value=None)
        return pd.Series(values, index=column.index, dtype=object)
    return column.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


def _with_capacity(result: RunResult, plan: PlanResult | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Cells and facilities with the plan's capacity scores as columns (copies)."""
    cells, facilities = result.cells, result.facilities
    if plan is None or not plan.capacity:
        return cells, facilities
    cells, facilities = cells.copy(), facilities.copy()
    for cat, cap in plan.capacity.items():
        cells[f"capacity_score_{cat}"] = cap["score"]
        cells[f"oversubscribed_{cat}"] = cap["oversubscribed"].cells
        rows = np.flatnonzero(facilities["category"].to_numpy() == cat)
        if len(rows) == len(cap["ratio"]):
            if "supply_ratio" not in facilities:
                facilities["supply_ratio"] = np.nan
                facilities["oversubscribed"] = False
            facilities.loc[facilities.index[rows], "supply_ratio"] = cap["ratio"]
            facilities.loc[facilities.index[rows], "oversubscribed"] = cap["oversubscribed"].facilities
    return cells, facilities


def _plan_record(plan: PlanResult, result: RunResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if plan.tiers is not None:
        counts = plan.tiers.groupby(["tier", "status"]).size().unstack(fill_value=0)
        out["standard"] = {"id": getattr(plan.standard, "id", None),
                           "tiers": {t: {k: int(v) for k, v in row.items()} for t, row in counts.iterrows()}}
    if plan.sites is not None:
        lonlat = plan.sites.to_crs(4326)
        out["sites"] = [{"category": r.category, "rank": int(r.rank), "marginal_gain": float(r.marginal_gain),
                         "lon": round(g.x, 6), "lat": round(g.y, 6)}
                        for r, g in zip(plan.sites.itertuples(), lonlat.geometry.representative_point())]
    if plan.capacity:
        out["capacity"] = {c: {"column": v["column"], "reference_capacity_per_resident": v["oversubscribed"].reference,
                               "cells_oversubscribed": int(v["oversubscribed"].cells.sum()),
                               "facilities_oversubscribed": int(v["oversubscribed"].facilities.sum())}
                           for c, v in plan.capacity.items()}
    return out


def _gpkg_layers(result: RunResult, *, cells: gpd.GeoDataFrame | None = None,
                 facilities: gpd.GeoDataFrame | None = None, plan: PlanResult | None = None,
                 areas: gpd.GeoDataFrame | None = None, extra_layers: dict[str, Any] | None = None,
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """The GeoPackage's layers in file order, and the metadata written with each."""
    cells = (result.cells if cells is None else cells).drop(columns=["x", "y"])
    layers = {
        "cells": cells,
        "communities": result.communities,
        "facilities": result.facilities if facilities is None else facilities,
        "isochrones": result.isochrones,
    }
    if plan is not None and plan.sites is not None:
        layers["sites"] = plan.sites
    if getattr(result, "facility_qa", None) is not None:
        layers["facility_qa"] = result.facility_qa


    if areas is not None:
        layers["gap_areas"] = areas
    if plan is not None and plan.tiers is not None:
        tiers = plan.tiers.copy()
        for col in tiers.columns:
            if tiers[col].map(lambda v: isinstance(v, (tuple, list, dict))).any():
                tiers[col] = tiers[col].map(lambda v: ",".join(map(str, v)) if isinstance(v, (tuple, list))
                                            else json.dumps(v, ensure_ascii=False, default=_json_default))
        geoms = result.communities.set_index("name").geometry
        layers["community_tiers"] = gpd.GeoDataFrame(
            tiers, geometry=tiers["community"].map(geoms).to_numpy(), crs=result.communities.crs)
    # Say where the people numbers come from in the file itself (GeoPackage metadata).
    about = {"population_source": str(result.summary.population_source),
             "population_kind": str(result.summary.population_kind),
             "attribution": "; ".join(result.summary.data_sources)}
    return {**layers, **(extra_layers or {})}, about


#: SQLite's fsync at each layer's commit is left out: the output set is flushed to disk once,
#: whole, before it replaces the previous one (:mod:`lifecircle.outfolder`). The file's
#: content does not depend on it. The date makes the same run give the same bytes.
_GPKG_CONFIG = {"OGR_CURRENT_DATE": _GPKG_DATE, "OGR_SQLITE_SYNCHRONOUS": "OFF"}


@contextlib.contextmanager
def _gdal_gpkg_settings() -> Iterator[None]:
    """GDAL's settings for writing the GeoPackage, for the duration of the block."""
    synchronous = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options(_GPKG_CONFIG)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": synchronous})


def _write_gpkg_layers(layers: dict[str, Any], path: Path, *, about: dict[str, str]) -> None:
    for name, gdf in layers.items():
        if not isinstance(gdf, gpd.GeoDataFrame):  # an attribute table (the indicators)
            pyogrio.write_dataframe(gdf.astype({c: object for c in gdf.columns if gdf[c].dtype == object}), path,
                                    layer=name, driver="GPKG", layer_metadata=about)
            continue
        grid = _grid_table(gdf, layer=name, about=about)
        if grid is not None:
            pyogrio.write_arrow(grid[0], path, **grid[1])
            continue
        # Through Arrow: columns written whole (about 2x faster on a city grid, same schema and values).
        _for_file(gdf).to_file(path, layer=name, driver="GPKG", engine="pyogrio", layer_metadata=about, use_arrow=True)


def _grid_table(gdf: gpd.GeoDataFrame, *, layer: str, about: dict[str, str]
                ) -> tuple[pa.Table, dict[str, Any]] | None:
    """A large layer of plain polygons (a city's cells) as one Arrow table, with the
    arguments of :func:`pyogrio.write_arrow`; None for any other layer.

    The table is the one ``to_file(..., use_arrow=True)`` hands to GDAL after ``_for_file``:
    the same columns in the same order and types, the geometry as the same WKB bytes, layer
    type ``Polygon`` and EPSG:4326; but the WKB is built from the reprojected coordinates
    (:func:`lifecircle.columnar.lonlat_polygon_wkb`) without making a polygon object per
    cell, and the geometry types are not listed again.
    """
    index_written = list(gdf.index.names) != [None] or not pd.api.types.is_integer_dtype(gdf.index.dtype)
    plain = all((isinstance(t, np.dtype) and t.kind in "biuf") or pd.api.types.is_object_dtype(t)
                or str(t) in ("string", "str") for c, t in gdf.dtypes.items() if c != gdf.geometry.name)
    if index_written or not plain or not gdf.columns.is_unique:
        return None
    wkb = lonlat_polygon_wkb(gdf)
    if wkb is None:
        return None
    geometry = gdf.geometry.name
    attributes = pd.DataFrame({c: _file_text(gdf[c]) if gdf[c].dtype == object or str(gdf[c].dtype) in ("string", "str")
                               else gdf[c] for c in gdf.columns if c != geometry})
    table = pa.Table.from_pandas(attributes, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):  # a column of None only: text, as pyogrio writes it
            table = table.set_column(i, field.with_type(pa.string()), table[i].cast(pa.string()))
    table = table.add_column(list(gdf.columns).index(geometry), pa.field(geometry, pa.binary()), wkb)
    return table, {"layer": layer, "driver": "GPKG", "geometry_name": geometry, "geometry_type": "Polygon",
                   "crs": "EPSG:4326", "layer_metadata": about}


#: From this many cells, the cells layer is written by a second process (:mod:`lifecircle.gpkg_process`)
#: while this one writes the gap lists and the map: GDAL holds Python's GIL while it writes, so
#: a thread would not run beside it. Below, starting the process costs more than it saves.
BACKGROUND_CELLS_FROM = 100_000


def _cores() -> int:
    """CPU cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


@contextlib.contextmanager
def _gpkg_written(result: RunResult, path: Path, *, timings: dict[str, float], **parts: Any) -> Iterator[None]:
    """Write ``results.gpkg`` while the block runs: the cells layer in a second process when
    the grid is large, the other layers after the block, in the same order as a write in
    this process (so the same bytes). On any error the second process is stopped;
    its failure is raised here, naming the file (the output set is then discarded)."""
    t = time.perf_counter()
    layers, about = _gpkg_layers(result, **parts)
    grid = (_grid_table(layers["cells"], layer="cells", about=about)
            if len(layers["cells"]) >= BACKGROUND_CELLS_FROM and _cores() > 1 else None)
    if grid is None:
        with _gdal_gpkg_settings():
            _write_gpkg_layers(layers, path, about=about)
        timings["write_gpkg"] = round(time.perf_counter() - t, 4)
        yield
        return
    job = start_layer_process(grid[0], path, config=_GPKG_CONFIG, options=grid[1])
    del grid
    timings["write_gpkg"] = 0.0  # its place in run.json; the seconds come when it is done
    spent = time.perf_counter() - t
    try:
        yield
    except BaseException:
        job.stop()
        raise
    t = time.perf_counter()
    writing(path)  # a failure of the second process names the GeoPackage
    job.wait()
    with _gdal_gpkg_settings():
        _write_gpkg_layers({k: v for k, v in layers.items() if k != "cells"}, path, about=about)
    timings["write_gpkg"] = round(spent + time.perf_counter() - t, 4)
    timings["write_gpkg_cells_process"] = round(job.seconds, 4)


def _versions() -> dict[str, str]:
    names = ["lifecircle", "numpy", "scipy", "pandas", "shapely", "pyproj", "geopandas", "pyogrio", "osmium",
             "osmnx", "networkx", "rasterio", "folium", "openpyxl", "PyYAML", "tqdm", "pyrosm"]
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def _input_files(options: RunOptions) -> dict[str, dict[str, Any]]:
    files = {}
    for key in ("osm", "boundary", "communities", "population", "facilities", "catalogue", "dem", "profiles"):
        value = getattr(options, key, None)
        if isinstance(value, (str, Path)) and Path(value).is_file():
            p = Path(value)
            files[key] = {"path": str(p), "bytes": p.stat().st_size, "sha256": sha256_of(p)}
    return files


def _clean(value: Any) -> Any:
    """JSON-ready copy: NaN and infinities become null, numpy scalars plain Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def write_outputs(  # noqa: PLR0913 - keyword-only; each an optional part of the output set
    result: RunResult, out_dir: str | Path, *, lang: str = "zh", basemap: str = "none",
    tianditu_key: str | None = None, write_map: bool = True,
    plan: PlanResult | None = None, figures: bool = False, scenario: Any = None,
    formats: Sequence[str] = ("gpkg",),
) -> dict[str, Path]:
    """Write every output file of a run atomically.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
    out_dir : str or pathlib.Path
        The output folder; its previous output set is replaced whole or not at all.
    lang : {"zh", "en"}
        Language of the map and of the gap lists' headers.
    basemap : str
        See :func:`lifecircle.maps.build_map`.
    tianditu_key : str, optional
    write_map : bool, default True
    plan : lifecircle.planning.PlanResult, optional
        Standards tiers, suggested sites and capacity scores to add: layers ``sites`` and
        ``community_tiers`` in the GeoPackage, columns in the gap lists and on the map.
    figures : bool, default False
        Also the print-ready figures (:func:`lifecircle.report_figures.write_figures`).
    scenario : lifecircle.scenario.ScenarioResult, optional
        What a plan changes: the change files (:data:`lifecircle.scenario.CHANGE_FILES`), a
        change sheet in ``gaps.xlsx`` and the plan in ``run.json``.
    formats : sequence of str, default ("gpkg",)
        Result layers as ``results.gpkg`` and/or ``cells.parquet``, ``communities.parquet``,
        ``facilities.parquet``, ``gap_areas.parquet`` (:mod:`lifecircle.columnar`).

    Returns
    -------
    dict of str to pathlib.Path
        Final paths by file name.

    Raises
    ------
    OptionError
        ``lang`` is not a language of :data:`GAP_HEADERS` (checked before anything is written).
    """
    if lang not in GAP_HEADERS:
        raise OptionError(f"--lang must be one of {sorted(GAP_HEADERS)}; found {lang!r}.")
    formats = parse_formats(formats)
    timings: dict[str, float] = {}
    out = Path(out_dir)
    cells, facilities = _with_capacity(result, plan)
    areas = _gap_areas(result, plan)
    levels = governance_outputs(result, lang=lang, plan=plan, taken_sheets=[*SHEET_NAMES[lang].values(), "note 说明"])
    with atomic_staging(out, replaces=OUTPUT_FILES + PARQUET_FILES, manifest="run.json") as stage:
        with (_gpkg_written(result, writing(stage / "results.gpkg"), timings=timings, cells=cells,
                            facilities=facilities, plan=plan, areas=areas,
                            extra_layers={**levels[2], **_change_layers(scenario)})
              if "gpkg" in formats else contextlib.nullcontext()):
            if "parquet" in formats:
                timings["write_parquet"] = _write_parquet(stage, cells=cells, facilities=facilities, areas=areas,
                                                          communities=result.communities)
            t = time.perf_counter()
            gap_rows = _write_gap_lists(result, stage, areas=areas, plan=plan, lang=lang, levels=levels,
                                        scenario=scenario)
            timings["write_gaps"] = round(time.perf_counter() - t, 4)
            if write_map:
                t = time.perf_counter()
                _write_map(result, stage, cells=cells, facilities=facilities, plan=plan, lang=lang, basemap=basemap,
                           tianditu_key=tianditu_key)
                timings["write_map"] = round(time.perf_counter() - t, 4)
            if figures:
                t = time.perf_counter()
                write_figures(result, stage, lang=lang, labels=_labels_of(result.model.catalogue), plan=plan)
                timings["write_figures"] = round(time.perf_counter() - t, 4)
        record = _output_record(result, stage, areas=areas, gap_rows=gap_rows, plan=plan, timings=timings,
                                lang=lang, basemap=basemap)
        _write_record(record, writing(stage / "run.json"), scenario=scenario, formats=formats)
    final = {p.name: out / p.name for p in sorted(out.iterdir())
             if p.name in OUTPUT_FILES + PARQUET_FILES or p.name in levels[0]
             or p.name in (*CHANGE_FILES, "sites_plan.geojson") or (figures and p.name.startswith(FIGURE_PREFIX))}
    log.info("Wrote %s to %s", ", ".join(final), out)
    return final


def _change_layers(scenario: Any) -> dict[str, Any]:
    """What a plan changes, as GeoPackage layers (so it reaches PostGIS with the rest): every
    cell with its before/after columns and polygon (``change_cells.csv`` lists only the changed
    ones), and the per-community table."""
    if scenario is None:
        return {}
    return {"change_cells": scenario.cells, "change_communities": pd.DataFrame(scenario.communities)}


def _write_record(record: dict[str, Any], path: Path, *, scenario: Any, formats: Sequence[str]) -> None:
    """``run.json`` with the scenario's record and the formats: strict JSON (no NaN), UTF-8 text as it is."""
    record = dict(record)
    if scenario is not None:
        record["scenario"] = scenario.record
    if tuple(formats) != ("gpkg",):
        record["output_options"] = {**record["output_options"], "formats": list(formats)}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_clean(record), fh, ensure_ascii=False, indent=2, default=_json_default, allow_nan=False)
        fh.write("\n")


def _write_parquet(stage: Path, *, cells: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                   areas: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> float:
    """The result layers as GeoParquet files (:mod:`lifecircle.columnar`); the seconds taken."""
    t = time.perf_counter()
    write_geoparquet({"cells": cells.drop(columns=["x", "y"]), "communities": communities,
                      "facilities": facilities, "gap_areas": areas}, stage, mark=writing)
    return round(time.perf_counter() - t, 4)


def _write_gap_lists(result: RunResult, stage: Path, *, areas: gpd.GeoDataFrame, plan: PlanResult | None,
                     lang: str, levels: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None,
                     scenario: Any = None) -> int:
    """The gap lists as CSV and as one workbook; returns the number of cell gap rows."""
    labels = _labels_of(result.model.catalogue)
    measured = [c for c in result.categories if c not in result.no_data]
    kind = result.summary.get("population_kind", "people")
    unit_kind = result.summary.get("community_kind", "community")
    if plan is not None and (plan.tiers is not None or plan.sites is not None):
        gaps, comm_gaps = planning_gap_tables(result, tiers=plan.tiers, sites=plan.sites,
                                              served_by_site=plan.served_by_site, lang=lang,
                                              standard=plan.standard)
    else:
        gaps = gap_table(result.cells, categories=measured, lang=lang, labels=labels, population_kind=kind,
                         community_kind=unit_kind)
        comm_gaps = community_gap_table(result.communities, result.cells, categories=measured, lang=lang,
                                        labels=labels, population_kind=kind, community_kind=unit_kind)
    incomplete = likely_incomplete(result.summary.as_dict())
    gaps = mark_incomplete(gaps, incomplete, lang=lang, labels=labels)
    comm_gaps = mark_incomplete(comm_gaps, incomplete, lang=lang, labels=labels)
    area_list = gap_area_table(areas, lang=lang, labels=labels, population_kind=kind, community_kind=unit_kind)
    indicative = list(result.summary.get("terrain_indicative") or [])
    gaps, comm_gaps, area_list = (mark_indicative(t, indicative, lang=lang) for t in (gaps, comm_gaps, area_list))
    gaps, comm_gaps, area_list = with_governance_columns(result, gaps, comm_gaps, area_list, areas, lang=lang)
    level_csvs, level_sheets, _ = levels or ({}, {}, {})
    for name, table in level_csvs.items():
        write_csv(table, writing(stage / name))
    write_csv(gaps, writing(stage / "gaps.csv"))
    write_csv(comm_gaps, writing(stage / "community_gaps.csv"))
    write_csv(area_list, writing(stage / "gap_areas.csv"))
    write_csv(facility_qa_table(getattr(result, "facility_qa", None)), writing(stage / "facility_qa.csv"))
    sheets = SHEET_NAMES[lang]
    units_sheet = gap_headers(lang, unit_kind)["name"] if lang == "zh" else (
        sheets["units"] if unit_kind == "neighbourhood_unit" else sheets["communities"])
    if plan is not None and plan.sites is not None and len(plan.sites):  # to edit and run with --scenario
        sites_plan(plan.sites, writing(stage / "sites_plan.geojson"))
    change_sheet = {} if scenario is None else dict([write_change_files(stage, scenario, lang=lang, labels=labels,
                                                                        mark=writing)])
    _write_xlsx(writing(stage / "gaps.xlsx"), {sheets["cells"]: gaps, sheets["gap_areas"]: area_list,
                                               units_sheet: comm_gaps, **level_sheets, **change_sheet,
                                               sheets["about"]: _about_table(result, lang)},
                full_copies={sheets["cells"]: "gaps.csv", sheets["gap_areas"]: "gap_areas.csv",
                             units_sheet: "community_gaps.csv"})
    return len(gaps)


def _write_map(result: RunResult, stage: Path, *, cells: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
               plan: PlanResult | None, lang: str, basemap: str, tianditu_key: str | None) -> None:
    """The interactive map, with the plan's sites and tiers when there is a plan."""
    extra: dict[str, Any] = {}
    if plan is not None and plan.sites is not None:
        extra["sites"] = plan.sites
    if plan is not None and plan.tiers is not None:
        extra["tiers"] = tiers_in_words(plan.tiers, plan.standard, lang)
    fmap = build_map(
        **extra,
        cells=cells, communities=result.communities, facilities=facilities,
        isochrones=result.isochrones, edges=result.network.edges[["highway", "geometry"]],
        summary=result.summary.as_dict(), categories=list(result.categories),
        threshold_minutes=result.options.minutes, labels=_labels_of(result.model.catalogue),
        lang=lang, basemap=basemap, tianditu_key=tianditu_key, **_map_governance(result, lang),
    )
    save_map(fmap, writing(stage / "map.html"))


def _output_record(result: RunResult, stage: Path, *, areas: gpd.GeoDataFrame, gap_rows: int,
                   plan: PlanResult | None, timings: dict[str, float], lang: str, basemap: str) -> dict[str, Any]:
    """The run record completed with inputs, counts, versions and the output set."""
    record = dict(result.record)
    record["inputs"] = _input_files(result.options)
    record["output_options"] = {"lang": lang, "basemap": basemap}
    record["summary"] = result.summary.as_dict()
    record["counts"] = {
        "nodes": result.network.n_nodes, "edges": result.network.n_edges,
        "facilities": record.get("facilities"), "cells": int(len(result.cells)),
        "communities": int(len(result.communities)), "isochrones": int(len(result.isochrones)),
        "gap_areas": int(len(areas)),
        "gap_rows": int(gap_rows),
    }
    record["timings_s"] = {**record.get("timings_s", {}), **timings}
    qa = getattr(result, "facility_qa", None)
    if qa is not None:
        record["facility_qa"] = {action: qa.loc[qa["action"] == action, "category"].value_counts().sort_index().to_dict()
                                 for action in ("site", "merged", "excluded")}
    if plan is not None:
        record["plan"] = _plan_record(plan, result)
    record["versions"] = _versions()
    record["command"] = [redact(a) for a in sys.argv]  # a database URL's password stays out
    record["run_id"] = run_id_of(record)  # the key of the run's rows in a database
    record["outputs"] = sorted({p.name for p in stage.iterdir()} | {"run.json"})  # the set, for the next run
    return record


def _gap_areas(result: RunResult, plan: PlanResult | None) -> gpd.GeoDataFrame:
    """Contiguous under-served areas of the run, with the plan's suggested sites if any."""
    sites = plan.sites if plan is not None and plan.sites is not None else None
    return gap_areas(result.cells, cell_size_m=float(result.options.cell_size_m), sites=sites)


def _about_table(result: RunResult, lang: str) -> pd.DataFrame:
    """What the numbers are: people source and control total, communities, unassigned people."""
    s = result.summary
    pop = s.get("population") or {}
    unassigned = s.get("communities_unassigned") or {}
    t = ABOUT_TEXT[lang]
    rows = [
        (t["population"], str(s.get("population_source", ""))),
        (t["people_in_area"], "" if pop.get("people_in_study_area") is None else f"{pop['people_in_study_area']:,.0f}"),
        (t["control_total"],
         t["none"] if not pop.get("control") else str(pop.get("control_total") or pop.get("source") or pop["control"])),
        (t["communities"], str(s.get("community_source", ""))),
        (t["unassigned"], f"{unassigned.get('people_unassigned', 0):,.0f}"),
        (t["gap_lists"], t["gap_lists_note"]),
    ]
    if s.get("terrain_indicative"):
        rows.append((INDICATIVE_TEXT[lang]["about"], text("terrain_indicative", lang)))
    return pd.DataFrame(rows, columns=[t["item"], t["value"]])


def _write_xlsx(path: Path, sheets: dict[str, pd.DataFrame], *, full_copies: dict[str, str] | None = None) -> None:
    """The gap lists as an .xlsx: string cells, Excel's limits, fixed bytes (:func:`write_xlsx`)."""
    write_xlsx(path, sheets, full_copies=full_copies)


# --------------------------------------------------------------------------- governance levels, thresholds, indicators


def _level_name(level: dict[str, Any], lang: str) -> str:
    return level_label(str(level["key"]), str(level["label"]), lang)


def _codes_by_name(gov: Any, names: Sequence[Any]) -> dict[str, np.ndarray]:
    """Unit codes of every level, top first, for lowest-level unit names (``""`` where none)."""
    lowest = gov.levels[-1]["table"]
    by_name = dict(zip(lowest["name"].astype(str), lowest["code"].astype(str)))
    codes = np.array([by_name.get(str(n), "") for n in names], dtype=object)
    out = {gov.levels[-1]["key"]: codes}
    for level, child in zip(reversed(gov.levels[:-1]), reversed(gov.levels[1:])):
        parent = dict(zip(child["table"]["code"].astype(str), child["table"]["parent_code"].astype(str)))
        codes = np.array([parent.get(c, "") for c in codes], dtype=object)
        out[level["key"]] = codes
    return {lv["key"]: out[lv["key"]] for lv in gov.levels}


def _insert_codes(table: pd.DataFrame, after: str, codes: dict[str, np.ndarray], gov: Any, lang: str) -> pd.DataFrame:
    """``table`` with a code column per level after column ``after`` (top level first)."""
    out = table.copy()
    at = out.columns.get_loc(after) + 1 if after in out.columns else len(out.columns)
    for i, level in enumerate(gov.levels):
        header = LEVEL_HEADERS[lang]["code"].format(level=_level_name(level, lang))
        if header not in out.columns:
            out.insert(int(at) + i, header, codes[level["key"]])
    return out


def _reach_text(minutes: np.ndarray, pairs: Sequence[tuple[str, float]], lang: str) -> np.ndarray:
    """The smallest threshold a cell's minutes meet (``≤5min``), else ``beyond <largest>``."""
    out = np.full(len(minutes), LEVEL_HEADERS[lang]["beyond"].format(t=threshold_text(pairs[-1][0], lang)), dtype=object)
    for label, limit in reversed(pairs):
        out = np.where(minutes <= limit, f"≤{threshold_text(label, lang)}", out)
    return out


def level_gap_table(  # noqa: PLR0913 - keyword-only; the list's options one by one
        level: dict[str, Any], *, categories: Sequence[str], thresholds: dict[str, Any], lang: str,
                    labels: dict[str, dict[str, str]] | None = None, population_kind: str = "people",
                    tiers: pd.DataFrame | None = None, tier_codes: np.ndarray | None = None,
                    child_label: str = "") -> pd.DataFrame:
    """One governance level's gap list: units ranked by people in gap areas, with codes, people,
    shares (each threshold), median / p90 minutes, has / lacks and, with a standard, tiers.

    ``tiers`` (per lowest unit) with ``tier_codes`` (their unit's code at this level) add,
    per tier, the number of lowest units failing it (``child_label`` names them).

    Parameters
    ----------
    level : dict
        One of :attr:`lifecircle.tables.Governance.levels`: ``key``, ``label`` and ``table``
        (:func:`lifecircle.spatial.hierarchy.unit_table`).
    categories : sequence of str
        The categories with data, in the run's order (one group of columns each).
    thresholds : dict
        Per category, ``(label, minutes)`` of its own thresholds; a threshold whose share
        column the table lacks is left out.
    lang : {"zh", "en"}
        The language of the headers and of the category names.
    labels : dict, optional
        Per category, its name per language (the catalogue's); ``None``: the built-in names.
    population_kind : str, default "people"
        What ``population`` counts; names the people column.
    tiers : pandas.DataFrame, optional
        The planning standard's verdict per lowest unit (``tier``, ``status``); ``None``:
        no tier columns.
    tier_codes : numpy.ndarray, optional
        For each row of ``tiers``, its unit's code at this level; ``None``: no tier columns.
    child_label : str, default ""
        How the lowest level is named in the tier columns' headers (``社区``).

    Returns
    -------
    pandas.DataFrame
        One row per unit, headers in ``lang``, ranked (first column) by people in gap areas
        (descending), then by code; shares rounded to 3 decimals, minutes and people to 1.
    """
    h = LEVEL_HEADERS[lang]
    t = level["table"]
    name = _level_name(level, lang)
    out = pd.DataFrame({
        h["code"].format(level=name): t["code"].astype(str).to_numpy(),
        h["name"].format(level=name): t["name"].astype(str).to_numpy(),
        h["parent_code"]: t["parent_code"].astype(str).to_numpy(),
        people_header(lang, population_kind): t["population"].round(1).to_numpy(),
        h["underserved_people"]: t["underserved_people"].round(1).to_numpy(),
        h["underserved_cells"]: t["underserved_cells"].to_numpy(),
        h["has"]: [_translate_list(v, lang, labels) for v in t["has"].fillna("")],
        h["lacks"]: [_translate_list(v, lang, labels) for v in t["lacks"].fillna("")],
    })
    for cat in categories:
        label = _label(cat, lang, labels)
        out[h["share"].format(label)] = t[share_column(cat)].round(3).to_numpy()
        for tl, _ in thresholds.get(cat, ()):
            col = threshold_share_column(cat, tl)
            if col in t:
                out[h["share_at"].format(label, t=threshold_text(tl, lang))] = t[col].round(3).to_numpy()
        out[h["median"].format(label)] = t[median_column(cat)].round(1).to_numpy()
        out[h["p90"].format(label)] = t[p90_column(cat)].round(1).to_numpy()
    if tiers is not None and tier_codes is not None and len(tiers):
        failed = pd.DataFrame({"code": tier_codes, "tier": tiers["tier"].astype(str).to_numpy(),
                               "fail": (tiers["status"] == "fail").to_numpy()})
        counts = failed.groupby(["code", "tier"], sort=False)["fail"].sum().unstack(fill_value=0)
        for tier in pd.unique(failed["tier"]):
            header = h["units_failing"].format(child=child_label, tier=tier)
            out[header] = t["code"].astype(str).map(counts[tier]).fillna(0).astype(int).to_numpy()
    out = out.sort_values([h["underserved_people"], h["code"].format(level=name)], ascending=[False, True],
                          kind="stable")
    out.insert(0, h["rank"], np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


def indicator_sheet(indicators: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The official indicators as a sheet in ``lang``: name, basis, threshold, value, target,
    data completeness, source, clause, verified.

    Parameters
    ----------
    indicators : pandas.DataFrame
        :func:`lifecircle.tables.indicator_table`.
    lang : {"zh", "en"}
        The language of the headers, names, basis and yes / no.

    Returns
    -------
    pandas.DataFrame
        One row per indicator, in the table's order; ``meets_target`` blank when there is
        no value or no target.
    """
    h = INDICATOR_HEADERS[lang]
    yes_no = {True: h["yes"], False: h["no"]}
    return pd.DataFrame({
        h["name"]: indicators["name_zh" if lang == "zh" else "name_en"].to_numpy(),
        h["basis"]: [h.get(b, b) for b in indicators["basis"]],
        h["threshold"]: [threshold_text(v, lang) for v in indicators["threshold"]],
        h["threshold_minutes"]: indicators["threshold_minutes"].to_numpy(),
        h["measured"]: indicators["measured"].to_numpy(),
        h["value"]: indicators["value"].to_numpy(),
        h["target"]: indicators["target"].to_numpy(),
        h["meets_target"]: [yes_no.get(v, "") if v is not None and v == v else "" for v in indicators["meets_target"]],
        h["completeness"]: indicators["completeness"].to_numpy(),
        h["source"]: indicators["source"].to_numpy(),
        h["clause"]: indicators["clause"].to_numpy(),
        h["verified"]: [yes_no[bool(v)] for v in indicators["verified"]],
        h["note"]: indicators["note"].to_numpy(),
    })


def _sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unused Excel sheet name (no ``[]:*?/\\``, at most 31 characters)."""
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in text)[:31] or "level"
    base, k = name, 2
    while name in taken:
        name = f"{base[:27]} ({k})"
        k += 1
    return name


def governance_outputs(result: RunResult, *, lang: str, plan: PlanResult | None = None,
                       taken_sheets: Sequence[str] = ()) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame],
                                                                  dict[str, gpd.GeoDataFrame]]:
    """The governance levels' and indicators' files of a run.

    Parameters
    ----------
    result : RunResult
        The run; ``result.governance`` is ``None`` when no ``--units`` were given.
    lang : {"zh", "en"}
        The language of the headers and sheet names.
    plan : PlanResult, optional
        The planning standard's verdict; with tiers, the levels above the lowest count
        the lowest units failing each tier. ``None``: no standard.
    taken_sheets : sequence of str, default ()
        Sheet names of ``gaps.xlsx`` already used; new names avoid them.

    Returns
    -------
    csvs : dict
        ``units_<level>.csv`` per level: :func:`level_gap_table`.
    sheets : dict
        Sheets for ``gaps.xlsx``: each level above the lowest (the lowest is the
        communities sheet) and the indicators.
    layers : dict
        GeoPackage layers ``units_<level>`` (every column, codes included) and the
        attribute table ``indicators``.

    All three are empty when the run has no governance levels.
    """
    gov = result.governance
    if gov is None:
        return {}, {}, {}
    labels = _labels_of(result.model.catalogue)
    measured = [c for c in result.categories if c not in result.no_data]
    kind = result.summary.get("population_kind", "people")
    tiers = plan.tiers if plan is not None and plan.tiers is not None and len(plan.tiers) else None
    tier_codes = _codes_by_name(gov, tiers["community"].astype(str).tolist()) if tiers is not None else {}
    child = _level_name(gov.levels[-1], lang)
    incomplete = likely_incomplete(result.summary.as_dict())
    csvs: dict[str, pd.DataFrame] = {}
    sheets: dict[str, pd.DataFrame] = {}
    layers: dict[str, gpd.GeoDataFrame] = {}
    taken = set(taken_sheets)
    for i, level in enumerate(gov.levels):
        lowest = i == len(gov.levels) - 1
        table = level_gap_table(level, categories=measured, thresholds=gov.thresholds, lang=lang, labels=labels,
                                population_kind=kind, tiers=None if lowest else tiers,
                                tier_codes=tier_codes.get(level["key"]), child_label=child)
        table = mark_incomplete(table, incomplete, lang=lang, labels=labels)
        csvs[f"units_{level['key']}.csv"] = table
        if not lowest:
            name = _sheet_name(_level_name(level, lang), taken)
            taken.add(name)
            sheets[name] = table
        layers[f"units_{level['key']}"] = level["table"]
    sheets[_sheet_name(INDICATOR_HEADERS[lang]["sheet"], taken)] = indicator_sheet(gov.indicators, lang)
    layers["indicators"] = gov.indicators
    return csvs, sheets, layers


def with_governance_columns(result: RunResult, gaps: pd.DataFrame, comm_gaps: pd.DataFrame, area_list: pd.DataFrame,
                            areas: gpd.GeoDataFrame, *, lang: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The gap lists with every level's unit code and each category's own thresholds: the
    threshold each cell meets, and each community's share within each threshold.

    Parameters
    ----------
    result : RunResult
        The run; ``result.governance`` is ``None`` when no ``--units`` were given.
    gaps : pandas.DataFrame
        The under-served cells' list (headers in ``lang``); gets a code column per level
        after the community column, and a reach column per category with thresholds of
        its own.
    comm_gaps : pandas.DataFrame
        The communities' gap list; gets a share column per own threshold and a code
        column per level after the name.
    area_list : pandas.DataFrame
        The gap areas' list; gets a code column per level after the community.
    areas : geopandas.GeoDataFrame
        The gap areas, in ``area_list``'s order (their ``community`` gives the codes).
    lang : {"zh", "en"}
        The language of the headers.

    Returns
    -------
    gaps, comm_gaps, area_list : pandas.DataFrame
        The three lists with the added columns; returned unchanged when the run has no
        governance levels.
    """
    gov = result.governance
    if gov is None:
        return gaps, comm_gaps, area_list
    labels = _labels_of(result.model.catalogue)
    unit_kind = result.summary.get("community_kind", "community")
    g, lh = gap_headers(lang, unit_kind), LEVEL_HEADERS[lang]
    cells = result.cells
    pos = pd.Index(cells["cell_id"]).get_indexer(gaps[g["cell_id"]]) if len(gaps) else np.array([], dtype=np.int64)
    cell_codes = {k: np.asarray(v, dtype=object)[pos] for k, v in gov.cell_codes.items()}
    gaps = _insert_codes(gaps, g["community"], cell_codes, gov, lang)
    lowest = gov.levels[-1]["table"]
    for cat, pairs in gov.thresholds.items():
        if cat in result.no_data or not any(threshold_share_column(cat, tl) in lowest for tl, _ in pairs):
            continue
        minutes = cells[minutes_column(cat)].to_numpy(dtype=float)[pos]
        gaps[lh["reach"].format(_label(cat, lang, labels))] = _reach_text(minutes, list(pairs), lang)
        by_name = lowest.set_index(lowest["name"].astype(str))
        for tl, _ in pairs:
            header = lh["share_at"].format(_label(cat, lang, labels), t=threshold_text(tl, lang))
            comm_gaps[header] = comm_gaps[g["name"]].astype(str).map(
                by_name[threshold_share_column(cat, tl)]).round(3).to_numpy()
    comm_gaps = _insert_codes(comm_gaps, g["name"], _codes_by_name(gov, comm_gaps[g["name"]].tolist()), gov, lang)
    community = g["community"]
    area_codes = _codes_by_name(gov, areas["community"].tolist()) if len(areas) else {
        lv["key"]: np.array([], dtype=object) for lv in gov.levels}
    area_list = _insert_codes(area_list, community, area_codes, gov, lang)
    return gaps, comm_gaps, area_list


def _map_governance(result: RunResult, lang: str) -> dict[str, Any]:
    """The map's governance levels (every level when there are several), the categories' own
    thresholds (for their bands) and the indicators."""
    gov = result.governance
    if gov is None:
        return {}
    levels = [{"key": lv["key"], "label": _level_name(lv, lang), "table": lv["table"]}
              for lv in gov.levels] if len(gov.levels) > 1 else []
    own = {c: pairs for c, pairs in gov.thresholds.items()
           if any(threshold_share_column(c, tl) in gov.levels[-1]["table"] for tl, _ in pairs)}
    return {"levels": levels, "category_thresholds": own, "indicators": gov.indicators}
