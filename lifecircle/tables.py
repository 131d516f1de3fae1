"""The run's summary: study-area totals and facts, for the map, the record and the reader.

:func:`run_summary` assembles a :class:`RunSummary` from the model and the result frames;
:meth:`RunSummary.as_dict` is what ``run.json`` and the map receive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle import i18n
from lifecircle._errors import OptionError
from lifecircle.layers.indicators import load_indicators
from lifecircle.layers.osm import OsmExtract
from lifecircle.layers.thresholds import parse_thresholds, threshold_record, thresholds_in_minutes
from lifecircle.options import RunOptions
from lifecircle.spatial.coverage import UNASSIGNED
from lifecircle.spatial.hierarchy import cell_unit_codes, share_within_any, threshold_shares, unit_table

__all__ = ["RunSummary", "run_summary", "data_sources", "describe_area", "area_facts", "KNOWN_SOURCES",
           "Governance", "governance", "category_thresholds", "indicator_table"]


@dataclass(frozen=True)
class RunSummary:
    """Study-area totals per category and the facts of a run.

    Attributes
    ----------
    study_area : str
        What was studied (file names or place).
    profile : str
    speed_kmh : float
    threshold_minutes : float
    cell_size_m : float
    population_source : str
        Where the people numbers come from (English; :func:`lifecircle.i18n.population_sentence`
        says it in each language from ``population_facts``).
    population_kind : str
        ``people``, or the fallback ``floor_area`` / ``equal``.
    categories : dict
        Per category: facilities, people and cells within the threshold
        (:func:`lifecircle.spatial.coverage.category_summary`).
    no_data : list of str
    cells, cells_no_access, cells_underserved : int
    people_underserved : float
    communities : int
    community_source : str
    data_sources : list of str
        Attribution lines.
    groups : dict or None
        Coverage of population groups (:func:`lifecircle.spatial.scenarios.group_coverage`).
    terrain_comparison : dict or None
        Per category, the shares of :func:`lifecircle.spatial.scenarios.terrain_comparison`.
    cells_losing_coverage_to_terrain : int or None
    completeness : dict or None
        Per category, facilities per 10,000 people against the standard's expectation
        (:func:`lifecircle.layers.catalogue.assess_completeness`).
    date : str
        The OSM data's date, in words.
    population : dict or None
        People in the study area, in the file, the source, method and control total
        (:func:`lifecircle.spatial.population.people_in_cells`).
    community_kind : str
        ``"community"`` (a communities file) or ``"neighbourhood_unit"`` (derived 片区).
    communities_unassigned : dict or None
        Cells and people outside every community of the file.
    unit_sizing : dict or None
        People per derived unit before and after sizing.
    population_facts : dict
        Where the people numbers come from, as facts the map words in its language
        (:func:`lifecircle.i18n.population_sentence`): ``method``, and the file's name,
        kind and total, or the fallback's counts.
    osm_date : str or None
        The OSM data's date as recorded in the file.
    area : dict
        File names of the study area's ``boundary`` (``None`` without a boundary file) and
        OSM ``source``, for the map to word in its language.
    """

    study_area: str
    profile: str
    speed_kmh: float
    threshold_minutes: float
    cell_size_m: float
    population_source: str
    population_kind: str
    categories: dict[str, Any]
    no_data: list[str]
    cells: int
    cells_no_access: int
    cells_underserved: int
    people_underserved: float
    communities: int
    community_source: str
    data_sources: list[str]
    groups: dict[str, Any] | None
    terrain_comparison: dict[str, Any] | None
    cells_losing_coverage_to_terrain: int | None
    completeness: dict[str, Any] | None
    #: Profiles whose terrain shares are indicative (the DEM failed the plausibility check).
    terrain_indicative: list[str]
    date: str
    population: dict[str, Any] | None = None
    community_kind: str = "community"
    communities_unassigned: dict[str, Any] | None = None
    unit_sizing: dict[str, Any] | None = None
    population_facts: dict[str, Any] = field(default_factory=dict)
    osm_date: str | None = None
    area: dict[str, str | None] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """A field by name, like ``dict.get`` (``default`` when there is no such field)."""
        return getattr(self, key, default)

    def as_dict(self) -> dict[str, Any]:
        """The summary as a plain dict, in field order (``run.json`` → ``summary``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def run_summary(  # noqa: PLR0913 - keyword-only; the summary's facts one by one
    options: RunOptions,
    extract: OsmExtract,
    *,
    cells: gpd.GeoDataFrame,
    categories_summary: dict[str, Any],
    no_data: tuple[str, ...],
    n_communities: int,
    population_source: str,
    population_kind: str,
    groups: dict[str, Any] | None,
    terrain_table: pd.DataFrame | None,
    completeness: dict[str, Any] | None = None,
    population_facts: dict[str, Any] | None = None,
) -> RunSummary:
    """Assemble the summary of a run.

    Parameters
    ----------
    options : RunOptions
        The checked options.
    extract : OsmExtract
        The OSM data (its file and date).
    cells : geopandas.GeoDataFrame
        The run's cells (``access``, ``underserved``, ``population``, ``terrain_lost``).
    categories_summary : dict
        :func:`lifecircle.spatial.coverage.category_summary`.
    no_data : tuple of str
        Categories without a facility in the data: reported as no data, not as gaps.
    n_communities : int
        Number of communities in the run.
    population_source : str
        Where the people numbers come from, in English.
    population_kind : str
        ``people``, or the fallback weight ``floor_area`` / ``equal``.
    groups : dict or None
        People per cell of each population group (``60plus`` ...); None without groups.
    terrain_table : pandas.DataFrame or None
        Shares within the threshold on flat ground and with terrain per walker; None without a DEM.
    completeness : dict or None
        Per category, :func:`lifecircle.layers.catalogue.assess_completeness`.
    population_facts : dict, optional
        The same as facts, for the map to word in its language
        (:func:`lifecircle.i18n.population_sentence`).

    Returns
    -------
    RunSummary
        The summary every output repeats (typed; ``as_dict()`` for ``run.json``).
    """
    return RunSummary(
        study_area=describe_area(options, extract),
        profile=options.profile,
        speed_kmh=float(cast(float, options.speed_kmh)),  # validate_options set it
        threshold_minutes=options.minutes,
        cell_size_m=options.cell_size_m,
        population_source=population_source,
        population_kind=population_kind,
        categories=categories_summary,
        no_data=list(no_data),
        cells=len(cells),
        cells_no_access=int((cells["access"] == "no_access").sum()),
        cells_underserved=int(cells["underserved"].sum()),
        people_underserved=float(np.nan_to_num(cells.loc[cells["underserved"], "population"]).sum()),
        communities=int(n_communities),
        community_source="file" if options.communities else "derived from major roads, rivers and the boundary",
        data_sources=data_sources(options),
        groups=groups,
        terrain_comparison=None if terrain_table is None else terrain_table.set_index("category").to_dict("index"),
        cells_losing_coverage_to_terrain=None if terrain_table is None else int((cells["terrain_lost"] != "").sum()),
        completeness=completeness,
        terrain_indicative=[],
        date=(i18n.summary_text("osm_date", "en", date=extract.date) if getattr(extract, "date", None)
              else i18n.summary_text("osm_date_unknown", "en")),
        population_facts=dict(population_facts or {}),
        osm_date=getattr(extract, "date", None),
        area=area_facts(options, extract),
    )


#: Attribution for well-known open population and elevation products, matched on file names.
KNOWN_SOURCES: tuple[tuple[str, str], ...] = (
    ("ghs", "GHS-POP, European Commission JRC (CC BY 4.0)"),
    ("worldpop", "WorldPop (CC BY 4.0)"),
    ("srtm", "NASA SRTM"),
)


def data_sources(options: RunOptions) -> list[str]:
    """Attribution lines for the map and the record.

    Parameters
    ----------
    options : RunOptions
        The run's options.

    Returns
    -------
    list of str
        OpenStreetMap's, then one per input file (a known product's attribution, else the
        file's name marked as user data).

    Examples
    --------
    >>> data_sources(RunOptions(population="ghs_pop_2020.csv"))
    ['© OpenStreetMap contributors (ODbL)', 'GHS-POP, European Commission JRC (CC BY 4.0)']
    """
    sources = ["© OpenStreetMap contributors (ODbL)"]
    for path in (options.population, options.dem, options.communities, options.facilities):
        if path is None:
            continue
        name = Path(path).name
        known = [text for key, text in KNOWN_SOURCES if key in name.lower()]
        sources.extend(known or [i18n.summary_text("user_data", "en", name=name)])
    return sources


def describe_area(options: RunOptions, extract: OsmExtract) -> str:
    """What was studied, in words: ``"<boundary> within <data file>"``, the place, or the file.

    Parameters
    ----------
    options : RunOptions
        The run's options.
    extract : OsmExtract
        The OSM data (:func:`lifecircle.layers.osm.read_osm`).

    Returns
    -------
    str
        One line naming the data and the study area.
    """
    if options.boundary is not None:
        what = Path(options.boundary).name if isinstance(options.boundary, (str, Path)) else "boundary"
        return i18n.summary_text("area_within", "en", boundary=what, source=Path(extract.source).name)
    if options.place is not None:
        return str(options.place)
    return Path(extract.source).name


def area_facts(options: RunOptions, extract: OsmExtract) -> dict[str, str | None]:
    """File names of the study area's boundary and OSM source, for the map to word.

    Parameters
    ----------
    options : RunOptions
        The run's options.
    extract : OsmExtract
        The OSM data (:func:`lifecircle.layers.osm.read_osm`).

    Returns
    -------
    dict
        ``boundary``: the boundary file's name (``None`` without one, or for a boundary
        given as an object); ``source``: the OSM file's name.
    """
    boundary = options.boundary
    return {"boundary": Path(boundary).name if isinstance(boundary, (str, Path)) else None,
            "source": Path(extract.source).name}


# --------------------------------------------------------------------------- hierarchy, thresholds, indicators


@dataclass(frozen=True)
class Governance:
    """The governance levels' tables, the categories' thresholds and the official indicators.

    Attributes
    ----------
    levels : tuple of dict
        Top level first: ``key``, ``label``, ``source`` and ``table`` (a GeoDataFrame of
        :func:`lifecircle.spatial.hierarchy.unit_table` with the units' outlines). The
        last is the level cells are assigned to.
    cell_codes : dict of str to numpy.ndarray
        Each cell's unit code per level key.
    thresholds : dict
        Per category, ``(label, minutes)`` of each threshold.
    threshold_record : dict
        Per category, each threshold as stated and in minutes (metres converted).
    threshold_shares : dict
        Per category and threshold, people and share within
        (:func:`lifecircle.spatial.hierarchy.threshold_shares`).
    indicators : pandas.DataFrame
        :func:`indicator_table`.
    """

    levels: tuple[dict[str, Any], ...]
    cell_codes: dict[str, np.ndarray]
    thresholds: dict[str, tuple[tuple[str, float], ...]]
    threshold_record: dict[str, Any]
    threshold_shares: dict[str, Any]
    indicators: pd.DataFrame

    def record(self) -> dict[str, Any]:
        """The ``run.json`` sections: ``hierarchy``, ``thresholds`` and ``indicators``."""
        levels = [{"key": lv["key"], "label": lv["label"], "source": lv["source"], "units": int(len(lv["table"])),
                   "people": float(lv["table"]["population"].sum())} for lv in self.levels]
        thresholds = {c: [{**row, **(self.threshold_shares.get(c, {}).get(row["label"]) or {})} for row in rows]
                      for c, rows in self.threshold_record.items()}
        return {"hierarchy": levels, "thresholds": thresholds,
                "indicators": self.indicators.to_dict("records")}


def category_thresholds(options: RunOptions, catalogue: Any, categories: Sequence[str]) -> dict[str, Any]:
    """Each category's own thresholds: the catalogue's, replaced by ``--thresholds`` where it
    names the category (:class:`lifecircle.layers.thresholds.Threshold` tuples).

    Parameters
    ----------
    options : RunOptions
        The run's options; ``options.thresholds`` is the ``--thresholds`` text or mapping
        (``None``: not given).
    catalogue : Catalogue
        The facility catalogue; a category's ``thresholds`` (possibly empty) are its own.
    categories : sequence of str
        The categories the run computes.

    Returns
    -------
    dict
        ``{category: tuple of Threshold}`` for each category with thresholds of its own, as
        stated (minutes or metres, not yet converted); a category absent from it uses the
        run's one threshold (``--minutes``).

    Raises
    ------
    OptionError
        ``--thresholds`` names a category the run does not compute.
    """
    own = {c: catalogue.categories[c].thresholds for c in categories
           if c in catalogue.categories and catalogue.categories[c].thresholds}
    given = parse_thresholds(options.thresholds) if options.thresholds is not None else {}
    unknown = sorted(set(given) - set(categories))
    if unknown:
        raise OptionError(f"--thresholds names {', '.join(unknown)}, not among the run's categories "
                          f"({', '.join(categories)}); add them to --categories or leave them out.")
    return {**own, **given}


def indicator_table(cells: pd.DataFrame, indicators: Sequence[Any], *, categories: Sequence[str],
                    no_data: Sequence[str], completeness: dict[str, Any] | None, speed_kmh: float,
                    population_kind: str) -> pd.DataFrame:
    """The official indicators of a run: name, basis, threshold, value, target, data completeness.

    A place counts as served when any of the indicator's categories the run computed is
    within the threshold (a distance converted at ``speed_kmh``). When the run computed
    none of them, its fallback categories are measured (``measured`` says which); when
    neither, the value stays empty and ``completeness`` says which category to add.

    Parameters
    ----------
    cells : pandas.DataFrame
        The run's cells: ``access``, ``population`` and ``minutes_to_<category>`` (walking
        minutes, NaN: unreachable).
    indicators : sequence of Indicator
        The indicators to evaluate (:func:`lifecircle.layers.indicators.parse_indicators`).
    categories : sequence of str
        The categories the run computed.
    no_data : sequence of str
        The computed categories without any facility in the data.
    completeness : dict or None
        Per category, the facility data's completeness check (``likely_incomplete``);
        ``None`` when the run made none.
    speed_kmh : float
        Walking speed on the flat (km/h) converting a threshold in metres to minutes.
    population_kind : str
        What the cells' ``population`` counts (``people``, or a proxy such as buildings'
        floor area); a people-based value weighted otherwise says so in ``completeness``.

    Returns
    -------
    pandas.DataFrame
        ``key``, ``name_zh``, ``name_en``, ``basis``, ``threshold`` (as stated),
        ``threshold_minutes``, ``categories``, ``measured``, ``value``, ``target``,
        ``meets_target``, ``completeness``, ``source``, ``clause``, ``verified``, ``note``.
    """
    rows = []
    for ind in indicators:
        measured = [c for c in ind.categories if c in categories]
        if not measured:
            measured = [c for c in ind.fallback_categories if c in categories]
        with_data = [c for c in measured if c not in no_data]
        minutes = ind.threshold.minutes(speed_kmh)
        value = None
        if not measured:
            state = "not_computed: add --categories " + ",".join(ind.categories)
        elif not with_data:
            state = "no_data: no facility of " + ",".join(measured) + " in the data"
        else:
            value = share_within_any(cells, with_data, minutes, basis=ind.basis)[0]
            weak = [c for c in with_data if ((completeness or {}).get(c) or {}).get("likely_incomplete")]
            state = ("likely_incomplete (a lower bound): " + ",".join(weak)) if weak else "complete"
            if ind.basis == "people" and population_kind != "people":
                state += f"; weighted by {population_kind}, not people"
        threshold = ind.threshold.label if ind.threshold.unit == "min" else f"{ind.threshold.value:g} m"
        rows.append({
            "key": ind.key, "name_zh": ind.name_zh, "name_en": ind.name_en, "basis": ind.basis,
            "threshold": threshold, "threshold_minutes": round(minutes, 2), "categories": ",".join(ind.categories),
            "measured": ",".join(measured), "value": None if value is None else round(float(value), 4),
            "target": ind.target,
            "meets_target": None if value is None or ind.target is None else bool(value >= ind.target),
            "completeness": state, "source": ind.source, "clause": ind.clause, "verified": ind.verified,
            "note": ind.note,
        })
    return pd.DataFrame(rows, columns=["key", "name_zh", "name_en", "basis", "threshold", "threshold_minutes",
                                       "categories", "measured", "value", "target", "meets_target", "completeness",
                                       "source", "clause", "verified", "note"])


def _level_units(units: gpd.GeoDataFrame | None, codes: np.ndarray, crs: Any,
                 unassigned: Any) -> gpd.GeoDataFrame:
    """The units of a level that hold cells, in the file's order, and an unassigned row if needed."""
    present = set(map(str, codes))
    if units is None:
        units = gpd.GeoDataFrame({"code": [], "name": [], "parent_code": []}, geometry=[], crs=crs)
    out = units.to_crs(crs)
    out = out[out["code"].astype(str).isin(present)].reset_index(drop=True)
    if "" in present:
        row = gpd.GeoDataFrame({"code": [""], "name": [UNASSIGNED], "parent_code": [""]}, geometry=[unassigned], crs=crs)
        out = gpd.GeoDataFrame(pd.concat([out, row], ignore_index=True), geometry="geometry", crs=crs)
    return out


def governance(  # noqa: PLR0913 - keyword-only; the run's facts one by one
        options: RunOptions, *, cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, levels: Any,
               catalogue: Any, categories: Sequence[str], no_data: Sequence[str], speed_kmh: float,
               completeness: dict[str, Any] | None, population_kind: str) -> Governance:
    """The tables of every governance level, the categories' thresholds and the indicators.

    Parameters
    ----------
    options : RunOptions
    cells : geopandas.GeoDataFrame
        The run's cells, ``community`` assigned and ``underserved`` flagged.
    communities : geopandas.GeoDataFrame
        The lowest level's polygons as assigned (``name``, maybe ``code``; with the
        unassigned row, if any).
    levels : tuple of lifecircle.layers.units.UnitLevel or None
        ``--units``; ``None``: one level, the communities (codes from the file) or the
        derived units (named, the names serving as codes).
    catalogue, categories, no_data, speed_kmh, completeness, population_kind
        Of the run.

    Returns
    -------
    Governance
    """
    own = category_thresholds(options, catalogue, categories)
    pairs = thresholds_in_minutes(own, categories=categories, main_minutes=options.minutes, speed_kmh=speed_kmh)
    extra = {c: tuple(p for p in pairs[c] if c in own) for c in categories}
    crs = cells.crs
    if levels:
        specs = [{"key": lv.key, "label": lv.label, "source": lv.source, "units": lv.units} for lv in levels]
    else:
        key = "community" if options.communities is not None else "unit"
        comm = communities[communities["name"] != UNASSIGNED]
        code = comm["code"] if "code" in comm else comm["name"]
        units = gpd.GeoDataFrame({"code": code.astype(str).to_numpy(), "name": comm["name"].astype(str).to_numpy(),
                                  "parent_code": ""}, geometry=comm.geometry.to_numpy(), crs=comm.crs)
        source = str(options.communities) if options.communities is not None else "derived"
        specs = [{"key": key, "label": key, "source": source, "units": units}]
    lowest = specs[-1]["units"]
    by_name = dict(zip(lowest["name"].astype(str), lowest["code"].astype(str)))
    # One hash pass over the cells' names; the levels are then worked out per distinct name.
    inverse, names = pd.factorize(cells["community"].astype(object), sort=False)
    parents = [dict(zip(s["units"]["code"].astype(str), s["units"]["parent_code"].astype(str)))
               for s in reversed(specs[1:])]
    per_level = cell_unit_codes(np.array([by_name.get(str(n), "") for n in names], dtype=object),
                                parents)[::-1]  # per distinct name, top level first
    unassigned_rows = communities[communities["name"] == UNASSIGNED]
    unassigned = unassigned_rows.geometry.iloc[0] if len(unassigned_rows) else None
    out_levels = []
    cell_codes: dict[str, np.ndarray] = {}
    for spec, codes in zip(specs, per_level):
        units = _level_units(spec["units"], codes, crs, unassigned)
        position = pd.Index(units["code"].astype(str)).get_indexer(codes.astype(str))
        unit_of_cell = np.where(inverse >= 0, position[np.maximum(inverse, 0)], -1)
        table = unit_table(cells, unit_of_cell, units, categories=categories, thresholds=extra,
                           main_minutes=options.minutes, no_data=no_data, coverage_target=options.coverage_target)
        table.insert(0, "level", spec["key"])
        out_levels.append({"key": spec["key"], "label": spec["label"], "source": spec["source"],
                           "table": gpd.GeoDataFrame(table, geometry=units.geometry.to_numpy(), crs=crs)})
        cell_codes[spec["key"]] = codes[np.maximum(inverse, 0)] if len(codes) else np.full(len(cells), "", object)
    indicators = indicator_table(cells, load_indicators(options.indicators), categories=categories, no_data=no_data,
                                 completeness=completeness, speed_kmh=speed_kmh, population_kind=population_kind)
    return Governance(levels=tuple(out_levels), cell_codes=cell_codes, thresholds=pairs,
                      threshold_record=threshold_record(own, categories=categories, main_minutes=options.minutes,
                                                        speed_kmh=speed_kmh),
                      threshold_shares=threshold_shares(cells, pairs, no_data=no_data), indicators=indicators)
