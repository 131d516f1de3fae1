"""The main job as a short composition of public steps: OSM data to travel times, gaps and summaries.

Data flows one way: the options are checked and the input files read
(:mod:`lifecircle.options`), the model is built once (:func:`lifecircle.model.build_model`:
area, network, costs, facilities, cells on the network), the computations run on it
(:mod:`lifecircle.spatial`), the summary is assembled (:mod:`lifecircle.tables`), and
:func:`lifecircle.outputs.write_outputs` writes the files::

    import lifecircle
    result = lifecircle.run(osm="yuzhong.osm.pbf", categories=["clinic", "school"])
    result.cells.plot(column="minutes_to_clinic")

CRS: computations run in the local UTM zone of the data; every GeoDataFrame in a
:class:`RunResult` is in that metric CRS (``result.model.crs``). Files are written in
EPSG:4326.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle._errors import CommunitiesError, OptionError
from lifecircle._progress import Timings
from lifecircle.choices import choice_effects
from lifecircle.layers.facilities import completeness_for
from lifecircle.layers.features import select_buildings, select_places, select_water
from lifecircle.layers.osm import OsmExtract, gate_nodes
from lifecircle.layers.population import PopulationInput, check_people_in_area
from lifecircle.model import Model, build_model, group_profiles
from lifecircle.options import (
    InputLayers,
    RunOptions,
    check_inputs,
    load_extract,
    read_inputs,
    validate_options,
)
from lifecircle.schema import minutes_column, population_column, unit_code_column
from lifecircle.spatial.access import compute_cells, compute_isochrones
from lifecircle.spatial.coverage import (
    assign_communities,
    category_summary,
    complete_assignment,
    flag_underserved,
    summarise_communities,
)
from lifecircle.spatial.levels import SUSPECT_ROUTE_RATIO, gate_record, level_record, long_edges, suspect_connectivity
from lifecircle.spatial.population import people_in_cells, population_fallback, spread_population
from lifecircle.spatial.scenarios import (
    group_coverage,
    lost_to_terrain,
    terrain_comparison,
    within_threshold,
)
from lifecircle.spatial.terrain import flat_costs_with_lifts
from lifecircle.spatial.travel import snap_columns
from lifecircle.spatial.units import derive_neighbourhood_units
from lifecircle.tables import Governance, RunSummary, governance, run_summary

__all__ = [
    "RunOptions",
    "RunResult",
    "Timings",
    "validate_options",
    "InputLayers",
    "read_inputs",
    "check_inputs",
    "load_extract",
    "communities_for",
    "population_for",
    "run",
    "CellPeople",
    "CommunityUnits",
    "Coverage",
    "cell_travel_times",
    "cell_people",
    "community_units",
    "coverage_for",
    "group_coverage_for",
    "terrain_for",
    "isochrones_for",
    "cell_columns",
    "summary_for",
    "run_record",
    "governance_for",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """Everything a run computed: its model, the result frames and a summary.

    GeoDataFrames are in ``model.crs`` (metric UTM).

    Attributes
    ----------
    model : lifecircle.model.Model
        Area, network, costs, reversed graph, facilities, cells on the network, catalogue,
        profiles: what the planning steps reuse.
    cells : geopandas.GeoDataFrame
        The grid with ``cell_id``, ``community``, ``population``, ``access``,
        ``minutes_to_<category>``, ``underserved``, ``missing``.
    communities : geopandas.GeoDataFrame
        Per community summary (see :func:`lifecircle.spatial.coverage.summarise_communities`).
    isochrones : geopandas.GeoDataFrame
        ``category``, ``facility`` (row in ``facilities``, ``-1`` for the category union),
        ``minutes``, ``geometry``.
    summary : lifecircle.tables.RunSummary
        Study-area totals per category and run facts.
    record : dict
        Inputs, counts and timings for ``run.json`` (completed by the writer).
    """

    model: Model
    cells: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    summary: RunSummary
    record: dict[str, Any]
    #: The governance levels' tables, thresholds and indicators (:class:`lifecircle.tables.Governance`).
    governance: Governance | None = None

    @property
    def options(self) -> RunOptions:
        """The checked options (``model.options``)."""
        return self.model.options

    @property
    def facility_qa(self) -> gpd.GeoDataFrame | None:
        """Features merged into sites or excluded, and why (``model.facility_qa``)."""
        return self.model.facility_qa

    @property
    def network(self) -> Any:
        """The walking network (``model.network``)."""
        return self.model.network

    @property
    def costs(self) -> pd.DataFrame:
        """The walker's seconds per edge (``model.costs``)."""
        return self.model.costs

    @property
    def facilities(self) -> gpd.GeoDataFrame:
        """The facilities (``model.facilities``)."""
        return self.model.facilities

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories computed, in order."""
        return self.model.categories

    @property
    def no_data(self) -> tuple[str, ...]:
        """Categories with no reachable facility in the data."""
        return self.model.no_data

    @property
    def extract(self) -> OsmExtract:
        """The OSM data read."""
        return self.model.extract


def communities_for(extract: OsmExtract, *, area: shapely.Geometry, crs: pyproj.CRS,
                    communities: gpd.GeoDataFrame | None = None, label: str | Path | None = None,
                    cells: gpd.GeoDataFrame | None = None,
                    minor_roads: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Community polygons: the user's, else neighbourhood units (片区) derived from the data,
    sized toward 5,000-12,000 people when ``cells`` carry people (``population``), split
    along ``minor_roads`` where too large.

    Parameters
    ----------
    extract : OsmExtract
        Major roads, water and places for the derived units.
    area : shapely.Geometry
        The study area in ``crs``.
    crs : pyproj.CRS
    communities : geopandas.GeoDataFrame, optional
        The user's communities (:func:`lifecircle.layers.communities.read_communities`).
    label : path, optional
        Names the communities file in messages.
    cells : geopandas.GeoDataFrame, optional
        The grid, with cell centres ``x`` / ``y`` in ``crs`` metres and, when known, ``population``
        (missing people read as 0): derived units are then sized by people. None, or no
        ``population`` column: units are not sized by people. Unused when ``communities`` is given.
    minor_roads : geopandas.GeoDataFrame, optional
        Minor streets along which units too large are split; None: no such split. Unused when
        ``communities`` is given.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name`` and geometry in ``crs`` (and ``code`` when the user's communities carry one);
        derived units keep their sizing record in ``attrs["sizing"]``.

    Raises
    ------
    CommunitiesError
        No community overlaps the study area.
    """
    if communities is not None:
        comm = communities.to_crs(crs)
        comm = comm[comm.intersects(area)].reset_index(drop=True)
        if len(comm) == 0:
            raise CommunitiesError(f"--communities {str(label)!r}: no community overlaps the study area.")
        return comm[[c for c in ("name", "code", "geometry") if c in comm]]  # codes go to the governance tables
    water = select_water(extract.features).to_crs(crs)
    places = select_places(extract.features).to_crs(crs)
    roads = extract.major_roads.to_crs(crs)
    people = None
    if cells is not None and "population" in cells:
        people = (cells["x"].to_numpy(), cells["y"].to_numpy(), np.nan_to_num(cells["population"].to_numpy(float)))
    units = derive_neighbourhood_units(area, major_roads=roads, water=water, places=places, crs=crs,
                                       cell_people=people, minor_roads=minor_roads)
    out = units[["name", "geometry"]]
    out.attrs["sizing"] = units.attrs.get("sizing", {})
    return out


def population_for(cells: gpd.GeoDataFrame, extract: OsmExtract, *, population: Any = None,
                   label: str | Path | None = None, total: float | None = None, totals: Any = None,
                   communities: gpd.GeoDataFrame | None = None,
                   ) -> tuple[np.ndarray, str, dict[str, np.ndarray], str, dict[str, Any]]:
    """People per cell from the population input, else a stated fallback weight.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        The grid.
    extract : OsmExtract
        Its buildings place raster and point people, and make the fallback.
    population : lifecircle.layers.population.PopulationInput, optional
    label : path, optional
        The population file (named in the source sentence).
    total, totals, communities
        ``--population-total``, ``--population-totals`` and the communities file
        (:func:`lifecircle.spatial.population.people_in_cells`).

    Returns
    -------
    values : numpy.ndarray
        People (or weight) per cell.
    source : str
        A sentence saying where the numbers come from.
    groups : dict of str to numpy.ndarray
        People per cell of each group of the input (``60plus``, ``0_14``).
    kind : str
        ``"people"``, or the fallback ``"floor_area"`` / ``"equal"``.
    record : dict
        People in the study area, the source, method and control total; for the fallback
        its facts (``method``, and for floor area the storeys assumed and cells with homes).
    """
    buildings = select_buildings(extract.features).to_crs(cells.crs)
    if population is not None:
        spread = spread_population(population, cells, buildings=buildings)
        if isinstance(population, PopulationInput):
            check_people_in_area(population, spread.values)
        groups = {g.removeprefix("share_"): spread_population(population, cells, buildings=buildings, group=g).values
                  for g in population.groups}
        people = people_in_cells(population, spread, cells, total=total, totals=totals, communities=communities)
        groups = {g: v * people.factor for g, v in groups.items()}
        return people.values, people.note, groups, "people", people.record
    fallback = population_fallback(cells, buildings=buildings)
    return fallback.values, fallback.note, {}, fallback.method, dict(fallback.facts)


def _population_facts(record: dict[str, Any], population: Any, label: str | Path | None) -> dict[str, Any]:
    """Where the people come from, as facts :func:`lifecircle.i18n.population_sentence` words in
    each language: the file's name, kind and people, or the fallback's own facts."""
    if population is None:
        return dict(record)
    return {"method": "file", "file": Path(label).name if label is not None else "the input",
            "kind": population.kind, "total": float(population.total)}


def run(options: RunOptions | None = None, *, progress: bool = True, extract: OsmExtract | None = None,
        **fields: Any) -> RunResult:
    """Run the whole job and return its results as Python objects.

    Parameters
    ----------
    options : RunOptions, optional
        Every option at once (the command line's way).
    progress : bool, default True
        Show progress bars (silent anyway when stderr is not a terminal).
    extract : OsmExtract, optional
        The OSM data of ``options.osm`` already read (reused across the areas of a batch).
    **fields
        Or the options as keywords, as :class:`~lifecircle.options.RunOptions` names them:
        ``osm``, ``boundary`` (a file, a GeoDataFrame or a shapely polygon),
        ``categories``, ``population``, ``dem``, ``minutes``, ``profile`` ...

    Returns
    -------
    RunResult

    Raises
    ------
    OptionError
        Both ``options`` and keywords are given.
    LifecircleError
        Any invalid option or input, before the long steps.

    Examples
    --------
    >>> import lifecircle
    >>> from lifecircle.testing import small_network_file
    >>> result = lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], progress=False)
    >>> result.cells[["minutes_to_clinic", "minutes_to_school"]].iloc[9:12].round(1).values.tolist()
    [[1.6, 12.3], [2.9, 10.9], [4.3, 9.6]]
    >>> result.summary.cells, result.summary.cells_underserved
    (18, 9)
    """
    if options is None:
        options = RunOptions(**fields)
    elif fields:
        raise OptionError("Give either options or keywords, not both.")
    timings = Timings()
    with timings.measure("validate"):
        options, inputs = check_inputs(options)
    model = build_model(options, inputs=inputs, timings=timings, extract=extract)
    with timings.measure("travel_times"):
        cells, node_seconds = cell_travel_times(model)
    with timings.measure("population"):
        people = cell_people(model, cells, inputs)
        cells = cells.assign(**people.columns())
    with timings.measure("communities"):
        units = community_units(model, cells, inputs, people_kind=people.kind)
        cells = cells.assign(community=units.names)
    with timings.measure("coverage"):
        coverage = coverage_for(model, cells, units.polygons, people_kind=people.kind)
        cells = cells.assign(underserved=coverage.underserved, missing=coverage.missing)
    groups = None
    if people.groups:
        with timings.measure("group_coverage"):
            groups = group_coverage_for(model, people.groups)
    terrain_table = None
    if options.dem is not None:
        with timings.measure("terrain_comparison"):
            terrain_table, lost = terrain_for(model, cells)
            cells = cells.assign(terrain_lost=lost)
    choices = None
    if options.measure_choices:
        with timings.measure("choice_effects"):
            choices = choice_effects(model, cells)
    with timings.measure("isochrones"):
        isochrones = isochrones_for(model, node_seconds, progress=progress)
    cells = cells[cell_columns(model, cells, people.groups)]
    with timings.measure("governance"):
        cells, gov = governance_for(model, inputs, cells, units.polygons, coverage, people_kind=people.kind)
    summary = summary_for(model, cells, people=people, units=units, coverage=coverage, groups=groups,
                          terrain_table=terrain_table)
    record = {**run_record(model, cells, timings=timings, choices=choices), **gov.record()}
    return RunResult(model=model, cells=cells, communities=coverage.communities, isochrones=isochrones,
                     summary=summary, record=record, governance=gov)


@dataclass(frozen=True)
class CellPeople:
    """People per cell and where they come from (:func:`cell_people`)."""

    values: np.ndarray
    source: str
    groups: dict[str, np.ndarray]
    kind: str
    record: dict[str, Any]
    facts: dict[str, Any]

    def columns(self) -> dict[str, np.ndarray]:
        """The cell columns: ``population`` and one per group of the input."""
        return {"population": self.values, **{population_column(g): v for g, v in self.groups.items()}}


@dataclass(frozen=True)
class CommunityUnits:
    """The community polygons and each cell's community (:func:`community_units`)."""

    polygons: gpd.GeoDataFrame
    names: np.ndarray
    unassigned: Any
    sizing: dict[str, Any]


@dataclass(frozen=True)
class Coverage:
    """Under-served flags per cell and the coverage summaries (:func:`coverage_for`)."""

    underserved: np.ndarray
    missing: np.ndarray
    communities: gpd.GeoDataFrame
    per_category: dict[str, Any]
    completeness: dict[str, Any]


def cell_travel_times(model: Model) -> tuple[gpd.GeoDataFrame, dict[str, np.ndarray]]:
    """Walking minutes from every cell to the nearest facility of each category, with the
    cell's join to the network and its connectivity flag.

    Parameters
    ----------
    model : Model
        The run's model (:func:`lifecircle.model.build_model`).

    Returns
    -------
    cells : geopandas.GeoDataFrame
        The grid in ``model.crs`` with ``minutes_to_<category>``, ``nearest_<category>``,
        ``access``, ``snap_m``, ``snap_way``, ``snap_level`` and ``suspect_connectivity``.
    node_seconds : dict of str to numpy.ndarray
        Per category, seconds from every network node to the nearest facility (for isochrones).

    Raises
    ------
    OptionError
        No cell lies within ``--max-access`` of a walkable way.
    """
    cells, node_seconds = compute_cells(model.graph, model.grid, model.origins, model.access,
                                        n_facilities=len(model.facilities), categories=model.categories,
                                        leg_speed_kmh=model.speed_kmh)
    cells = cells.assign(**snap_columns(model.origins, model.network))
    centres = gpd.GeoSeries(shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy()), crs=model.crs)
    cells["suspect_connectivity"] = suspect_connectivity(model.network, model.facilities, model.access, centres,
                                                         model.origins, categories=model.categories)
    if not (cells["access"] == "network").any():
        raise OptionError(
            f"No grid cell lies within --max-access {model.options.max_access_m:g} m of a walkable way: nothing can "
            "be measured. Expected a distance of tens to hundreds of metres (default 150)."
        )
    return cells, node_seconds


def cell_people(model: Model, cells: gpd.GeoDataFrame, inputs: InputLayers) -> CellPeople:
    """People per cell (and per age group) from the population input, else a stated fallback.

    Parameters
    ----------
    model : Model
        The run's model (its OSM buildings place the people).
    cells : geopandas.GeoDataFrame
        The grid (:func:`cell_travel_times`).
    inputs : InputLayers
        The read input files (population, totals, communities).

    Returns
    -------
    CellPeople
    """
    options = model.options
    values, source, groups, kind, record = population_for(
        cells, model.extract, population=inputs.population, label=options.population,
        total=options.population_total, totals=inputs.population_totals,
        communities=None if inputs.communities is None else inputs.communities.to_crs(model.crs))
    return CellPeople(values=values, source=source, groups=groups, kind=kind, record=record,
                      facts=_population_facts(record, inputs.population, options.population))


def community_units(model: Model, cells: gpd.GeoDataFrame, inputs: InputLayers, *,
                    people_kind: str) -> CommunityUnits:
    """The communities (the user's, or derived neighbourhood units) and each cell's community.

    Parameters
    ----------
    model : Model
        The run's model (area, roads, water and places for derived units).
    cells : geopandas.GeoDataFrame
        The grid with ``population``.
    inputs : InputLayers
        The read input files (the communities file, if any).
    people_kind : str
        ``"people"`` when ``population`` counts people: derived units are then sized by people.

    Returns
    -------
    CommunityUnits
    """
    edges = model.network.edges
    polygons = communities_for(model.extract, area=model.area, crs=model.crs, communities=inputs.communities,
                               label=model.options.communities,
                               cells=cells if people_kind == "people" else None,
                               minor_roads=edges[[c for c in ("highway", "name", "tunnel", "geometry") if c in edges]])
    sizing = polygons.attrs.get("sizing", {})
    names, polygons, unassigned = complete_assignment(
        cells, polygons, assign_communities(cells, polygons),
        derived=model.options.communities is None and not model.options.units)
    return CommunityUnits(polygons=polygons, names=np.asarray(names), unassigned=unassigned, sizing=sizing)


def coverage_for(model: Model, cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *,
                 people_kind: str) -> Coverage:
    """Under-served cells, the per-community and per-category summaries and the data completeness.

    Parameters
    ----------
    model : Model
        The run's model.
    cells : geopandas.GeoDataFrame
        The grid with minutes, ``population`` and ``community``.
    communities : geopandas.GeoDataFrame
        The community polygons (:func:`community_units`).
    people_kind : str
        ``"people"`` when ``population`` counts people (completeness is then judged per person).

    Returns
    -------
    Coverage
        Coverage from data that is likely incomplete is marked as a lower bound
        (``likely_incomplete`` per category).
    """
    options, categories, no_data = model.options, model.categories, model.no_data
    flags = flag_underserved(cells, categories=categories, threshold_minutes=options.minutes, no_data=no_data)
    flagged = cells.assign(underserved=flags["underserved"].to_numpy(), missing=flags["missing"].to_numpy())
    comm_summary = summarise_communities(flagged, communities, categories=categories,
                                         threshold_minutes=options.minutes, no_data=no_data,
                                         coverage_target=options.coverage_target,
                                         facility_counts=_facilities_per_community(model, communities))
    per_cat = category_summary(flagged, categories=categories, threshold_minutes=options.minutes, no_data=no_data,
                               facility_counts=model.facility_counts)
    completeness = completeness_for(
        model.facilities, area=model.area, categories=categories, catalogue=model.catalogue,
        people=float(np.nan_to_num(cells["population"]).sum()) if people_kind == "people" else None)
    for cat, verdict in completeness.items():  # coverage from incomplete data is a lower bound
        per_cat[cat]["likely_incomplete"] = verdict["likely_incomplete"]
    return Coverage(underserved=flagged["underserved"].to_numpy(), missing=flagged["missing"].to_numpy(),
                    communities=comm_summary, per_category=per_cat, completeness=completeness)


def group_coverage_for(model: Model, group_people: dict[str, np.ndarray]) -> Any:
    """Shares within the threshold for each age group of the population input, each walking
    with its own profile (older people with the elderly profile).

    Parameters
    ----------
    model : Model
        The run's model.
    group_people : dict of str to numpy.ndarray
        People per cell of each group (:attr:`CellPeople.groups`).

    Returns
    -------
    dict
        :func:`lifecircle.spatial.scenarios.group_coverage`.
    """
    return group_coverage(model.network, model.facilities, model.access, model.origins, group_people,
                          profiles=group_profiles(model.profile, model.profiles, list(group_people)),
                          categories=model.categories, minutes=model.options.minutes, elevation=model.elevation)


def isochrones_for(model: Model, node_seconds: dict[str, np.ndarray], *, progress: bool = True) -> gpd.GeoDataFrame:
    """The threshold isochrones per category (and per facility when asked for).

    Parameters
    ----------
    model : Model
        The run's model.
    node_seconds : dict of str to numpy.ndarray
        Per category, seconds from every node to the nearest facility (:func:`cell_travel_times`).
    progress : bool, default True
        Show a progress bar.

    Returns
    -------
    geopandas.GeoDataFrame
        ``category``, ``facility`` (``-1`` for the category union), ``minutes``, geometry in ``model.crs``.
    """
    options = model.options
    return compute_isochrones(model.network, model.graph, model.facilities, model.access, node_seconds,
                              categories=model.categories, minutes=options.minutes,
                              buffer_m=options.isochrone_buffer_m, leg_speed_kmh=model.speed_kmh,
                              per_facility=options.facility_isochrones, progress=progress)


def cell_columns(model: Model, cells: gpd.GeoDataFrame, group_people: dict[str, np.ndarray]) -> list[str]:
    """The cell table's columns in their published order.

    Parameters
    ----------
    model : Model
        The run's model (its categories).
    cells : geopandas.GeoDataFrame
        The computed cells (``terrain_lost`` is listed when present).
    group_people : dict of str to numpy.ndarray
        The population groups (one ``population_<group>`` column each).

    Returns
    -------
    list of str
    """
    categories = model.categories
    return ["cell_id", "community", "population", *[population_column(g) for g in group_people], "access",
            *[minutes_column(c) for c in categories], "underserved", "missing",
            *(["terrain_lost"] if "terrain_lost" in cells else []), "snap_m",
            "snap_way", "snap_level", "suspect_connectivity",
            *[f"nearest_{c}" for c in categories], "x", "y", "geometry"]


def summary_for(model: Model, cells: gpd.GeoDataFrame, *, people: CellPeople, units: CommunityUnits,
                coverage: Coverage, groups: Any, terrain_table: pd.DataFrame | None) -> RunSummary:
    """The run's typed summary (:class:`lifecircle.tables.RunSummary`).

    Parameters
    ----------
    model : Model
        The run's model.
    cells : geopandas.GeoDataFrame
        The finished cell table.
    people, units, coverage
        The results of :func:`cell_people`, :func:`community_units` and :func:`coverage_for`.
    groups : dict, optional
        :func:`group_coverage_for`.
    terrain_table : pandas.DataFrame, optional
        :func:`terrain_for`'s table.

    Returns
    -------
    RunSummary
    """
    options = model.options
    summary = run_summary(options, model.extract, cells=cells, categories_summary=coverage.per_category,
                          no_data=model.no_data, n_communities=len(units.polygons), population_source=people.source,
                          population_kind=people.kind, groups=groups, terrain_table=terrain_table,
                          completeness=coverage.completeness, population_facts=people.facts)
    summary = replace(summary, population=people.record,
                      community_kind="community" if options.communities or options.units else "neighbourhood_unit",
                      communities_unassigned=units.unassigned, unit_sizing=units.sizing or None)
    indicative = (model.cost_report.get("dem_quality") or {}).get("indicative", [])
    return replace(summary, terrain_indicative=list(indicative)) if indicative else summary


def run_record(model: Model, cells: gpd.GeoDataFrame, *, timings: Timings, choices: Any = None) -> dict[str, Any]:
    """The run record for ``run.json``: options, sources, counts, levels and timings.

    Parameters
    ----------
    model : Model
        The run's model.
    cells : geopandas.GeoDataFrame
        The finished cell table.
    timings : Timings
        The steps' wall-clock times.
    choices : dict, optional
        :func:`lifecircle.choices.choice_effects` (with ``--measure-choices``).

    Returns
    -------
    dict
    """
    record = {
        "options": model.options.as_record(),
        "source": model.extract.source,
        "osm_counts": model.extract.counts,
        "network": model.network.summary(),
        "crs": model.network.crs.to_string(),
        "costs": model.cost_report,
        "facilities": model.facility_counts,
        "facilities_unreachable": int((~model.facilities["reachable"]).sum()),
        "input_warnings": list(model.input_warnings),
        **_level_records(model, cells),
        "timings_s": timings.steps,
    }
    if choices is not None:
        record["ways"]["effects"] = choices
    return record


def governance_for(model: Model, inputs: InputLayers, cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                   coverage: Coverage, *, people_kind: str) -> tuple[gpd.GeoDataFrame, Governance]:
    """Every governance level's table, the categories' thresholds and the indicators; the cells
    get their unit code at each level, and each category's summary its shares per threshold.

    Parameters
    ----------
    model : Model
        The run's options, catalogue, categories, categories without data and walking speed.
    inputs : InputLayers
        The read inputs; ``inputs.units`` are the ``--units`` levels (top first).
    cells : geopandas.GeoDataFrame
        The computed cells (minutes per category, people, access, under-served).
    communities : geopandas.GeoDataFrame
        The communities as assigned to the cells (``name``, maybe ``code``): the lowest
        level when no ``--units`` are given.
    coverage : Coverage
        The coverage step's result; ``coverage.per_category[c]["thresholds"]`` is set here
        (the summary's shares per own threshold).
    people_kind : str
        What the cells' ``population`` counts (``people`` or a proxy).

    Returns
    -------
    cells : geopandas.GeoDataFrame
        A copy of ``cells`` with a ``<level>_code`` column (text) per level.
    governance : Governance
        :func:`lifecircle.tables.governance`.
    """
    gov = governance(model.options, cells=cells, communities=communities, levels=inputs.units,
                     catalogue=model.catalogue, categories=model.categories, no_data=model.no_data,
                     speed_kmh=model.speed_kmh, completeness=coverage.completeness, population_kind=people_kind)
    for cat, shares in gov.threshold_shares.items():
        coverage.per_category[cat]["thresholds"] = shares
    codes = {unit_code_column(key): values for key, values in gov.cell_codes.items()}
    return cells.assign(**codes), gov


def _level_records(model: Model, cells: gpd.GeoDataFrame) -> dict[str, Any]:
    """The run record's sections on levels, contested ways, gates and connectivity."""
    access_all = pd.concat([a for a in model.access.values()], ignore_index=True) if model.access else pd.DataFrame()
    access_all = access_all.drop_duplicates() if len(access_all) else access_all
    return {
        "levels": level_record(model.network, model.facilities, access_all, cells,
                               max_access_m=model.options.max_access_m),
        "ways": dict(model.cost_report.get("ways") or {}),
        "gates": gate_record(model.network, gate_nodes(model.extract).to_crs(model.crs),
                             closed=model.options.gates == "closed"),
        "suspect_connectivity": {"ratio": SUSPECT_ROUTE_RATIO,
                                 "cells": int((cells["suspect_connectivity"] != "").sum())},
        "edges_over_1km": long_edges(model.network),
    }


def _facilities_per_community(model: Model, communities: gpd.GeoDataFrame) -> pd.DataFrame | None:
    """Facilities of each category inside each community (by a point on the facility)."""
    facilities = model.facilities
    fac_comm = gpd.sjoin(gpd.GeoDataFrame(facilities[["category"]], geometry=facilities.geometry.representative_point(),
                                          crs=model.crs),
                         communities[["name", "geometry"]], predicate="within", how="inner")
    return fac_comm.groupby(["name", "category"]).size().unstack(fill_value=0) if len(fac_comm) else None


def terrain_for(model: Model, cells: gpd.GeoDataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The flat-versus-terrain comparison, and per cell the categories the walker loses to the terrain.

    Parameters
    ----------
    model : Model
        The run's model (with a DEM).
    cells : geopandas.GeoDataFrame
        The grid with minutes and ``population``.

    Returns
    -------
    table : pandas.DataFrame
        :func:`lifecircle.spatial.scenarios.terrain_comparison`.
    lost : list of str
        Per cell, the categories within the threshold on the flat but not on the terrain.
    """
    categories, minutes = model.categories, model.minutes
    table, within = terrain_comparison(model.network, model.facilities, model.access, model.origins,
                                       cells["population"].to_numpy(dtype=float), profiles=model.profiles,
                                       categories=categories, minutes=minutes, elevation=model.elevation)
    # Cells this run's walker reaches on the flat but not on the terrain: the same profile and
    # speed both times, so the difference is the terrain's alone. The flat adult scenario is
    # that walk already when the walker walks at the adult's speed.
    walker_speed = model.profile.flat_speed_kmh
    if walker_speed == model.profiles["adult"].flat_speed_kmh:
        on_flat = within["flat_adult"]
    else:
        on_flat = within_threshold(model.network, flat_costs_with_lifts(model.network, profile=model.profile,
                                                                        elevation=model.elevation),
                                   model.facilities, model.access, model.origins, categories=categories,
                                   minutes=minutes, leg_speed_kmh=walker_speed)
    here = (np.column_stack([cells[minutes_column(c)].to_numpy(dtype=float) <= minutes for c in categories])
            if categories else np.zeros((len(cells), 0), bool))
    return table, lost_to_terrain(on_flat, here, categories=categories, no_data=model.no_data)
