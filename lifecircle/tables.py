"""The run's summary: study-area totals and facts, for the map, the record and the reader.

:func:`run_summary` assembles a :class:`RunSummary` from the model and the result frames;
:meth:`RunSummary.as_dict` is what ``run.json`` and the map receive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle import i18n
from lifecircle.layers.osm import OsmExtract
from lifecircle.options import RunOptions

__all__ = ["RunSummary", "run_summary", "data_sources", "describe_area", "area_facts", "KNOWN_SOURCES"]


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
    n_communities : int
    population_source : str
        Where the people numbers come from, in English.
    population_kind : str
    groups : dict or None
    terrain_table : pandas.DataFrame or None
    completeness : dict or None
        Per category, :func:`lifecircle.layers.catalogue.assess_completeness`.
    population_facts : dict, optional
        The same as facts, for the map to word in its language
        (:func:`lifecircle.i18n.population_sentence`).

    Returns
    -------
    RunSummary
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
    extract : OsmExtract

    Returns
    -------
    str
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
    extract : OsmExtract

    Returns
    -------
    dict
        ``boundary``: the boundary file's name (``None`` without one, or for a boundary
        given as an object); ``source``: the OSM file's name.
    """
    boundary = options.boundary
    return {"boundary": Path(boundary).name if isinstance(boundary, (str, Path)) else None,
            "source": Path(extract.source).name}
