"""The main job, step by step: OSM data to travel times, gaps and summaries.

Every step is a function that takes and returns plain objects (networks, GeoDataFrames),
so an analyst can run them one at a time in Jupyter::

    from lifecircle import pipeline
    opts = pipeline.RunOptions(osm="yuzhong.osm.pbf", categories=("clinic", "school"))
    result = pipeline.run(opts)            # everything, as Python objects
    result.cells.plot(column="minutes_to_clinic")

:func:`run` validates every input before any expensive work, then reads, computes and
returns a :class:`RunResult`; :func:`lifecircle.outputs.write_outputs` writes the files.

CRS: computations run in the local UTM zone of the data; every GeoDataFrame in a
:class:`RunResult` is in that metric CRS (``result.network.crs``). Files are written in
EPSG:4326.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle import settings
from lifecircle._errors import (
    BoundaryError,
    InputNotFoundError,
    NoWalkableWaysError,
    OptionError,
)
from lifecircle.spatial.costs import check_speed, flat_costs
from lifecircle.spatial.coverage import (
    assign_communities,
    category_summary,
    flag_underserved,
    minutes_column,
    summarise_communities,
)
from lifecircle.spatial.grid import check_grid_budget, make_grid
from lifecircle.spatial.isochrones import isochrone_polygon
from lifecircle.spatial.network import WalkNetwork, build_walk_network, clip_network, utm_crs_for
from lifecircle.layers.osm import OsmExtract
from lifecircle.spatial.travel import (
    EdgeLocation,
    ReverseGraph,
    available_memory_bytes,
    facility_access_points,
    locate_on_network,
    nearest_facility,
    origin_nearest,
    origin_seconds,
    per_facility_node_seconds,
    reverse_graph,
)

__all__ = [
    "RunOptions",
    "RunResult",
    "Timings",
    "validate_options",
    "InputLayers",
    "read_inputs",
    "load_extract",
    "study_area",
    "prepare_network",
    "run_profile",
    "edge_elevations",
    "walking_costs",
    "TERRAIN_SCENARIOS",
    "terrain_comparison",
    "within_threshold",
    "GROUP_PROFILES",
    "group_coverage",
    "find_facilities",
    "compute_cells",
    "compute_isochrones",
    "communities_for",
    "run",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """Every option of a run. Paths may be ``str`` or :class:`pathlib.Path`.

    Attributes
    ----------
    osm : path, optional
        Local OSM file. With neither ``osm``, ``place`` nor ``bbox``, the bundled sample.
    place : str, optional
        Place name to download through osmnx (online), e.g. ``"渝中区, 重庆市"``.
    bbox : tuple of float, optional
        ``(west, south, east, north)`` to download through osmnx (online).
    boundary : path, optional
        Polygon file clipping the study area.
    communities : path, optional
        Polygons with a name column; without it, neighbourhood units are derived.
    population : path, optional
        CSV of lon/lat/population points, a GeoTIFF raster, or polygons with totals.
    facilities : path, optional
        Extra facilities (CSV lon/lat, GeoJSON, GeoPackage) with a category column.
    facilities_crs : str, optional
        ``"gcj02"`` or ``"bd09"`` for facility files in Chinese web-map coordinates.
    categories : sequence of str, optional
        Categories to compute; default :data:`lifecircle.settings.default_categories`.
    catalogue : path, optional
        Extra category catalogue (YAML) merged over the bundled one.
    cell_size_m, speed_kmh, minutes, max_access_m, isochrone_buffer_m, coverage_target
        See :mod:`lifecircle.settings`.
    profile : str
        Walking profile name (``adult``, ``elderly``, ``wheelchair``...).
    profiles : path, optional
        Extra profile catalogue (YAML).
    dem : path, optional
        Elevation GeoTIFF for terrain-aware walking.
    facility_isochrones : bool
        Also compute one isochrone per facility (the category unions are always computed).
    """

    osm: str | Path | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    boundary: str | Path | None = None
    communities: str | Path | None = None
    population: str | Path | None = None
    facilities: str | Path | None = None
    facilities_crs: str | None = None
    categories: Sequence[str] | None = None
    catalogue: str | Path | None = None
    cell_size_m: float = settings.cell_size_m
    speed_kmh: float | None = None
    minutes: float = settings.threshold_minutes
    max_access_m: float = settings.max_access_distance_m
    isochrone_buffer_m: float = settings.isochrone_buffer_m
    coverage_target: float = settings.coverage_target
    profile: str = "adult"
    profiles: str | Path | None = None
    dem: str | Path | None = None
    facility_isochrones: bool = True

    def as_record(self) -> dict[str, Any]:
        """The options as JSON-ready values."""
        out = {}
        for key, value in asdict(self).items():
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


@dataclass
class Timings:
    """Seconds spent per step, in order."""

    steps: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str) -> _Timer:
        """Context manager adding the time of a block under ``name``."""
        return _Timer(self, name)


class _Timer:
    def __init__(self, timings: Timings, name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> _Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timings.steps[self.name] = round(self.timings.steps.get(self.name, 0.0) + time.perf_counter() - self.start, 4)


@dataclass(frozen=True)
class RunResult:
    """Everything a run computed. GeoDataFrames are in ``network.crs`` (metric UTM).

    Attributes
    ----------
    options : RunOptions
        The options, with defaults resolved.
    network : WalkNetwork
    costs : pandas.DataFrame
        Seconds per edge and direction for the run's profile.
    facilities : geopandas.GeoDataFrame
        ``category``, ``name``, ``source``, ``osm_type``, ``osm_id``, ``reachable``.
    cells : geopandas.GeoDataFrame
        The grid with ``cell_id``, ``community``, ``population``, ``access``,
        ``minutes_to_<category>``, ``underserved``, ``missing``.
    communities : geopandas.GeoDataFrame
        Per community summary (see :func:`lifecircle.spatial.coverage.summarise_communities`).
    isochrones : geopandas.GeoDataFrame
        ``category``, ``facility`` (row in ``facilities``, ``-1`` for the category union),
        ``minutes``, ``geometry``.
    summary : dict
        Study-area totals per category and run facts, for the map and the record.
    record : dict
        Inputs, counts and timings for ``run.json`` (completed by the writer).
    categories : tuple of str
        The categories computed, in order.
    no_data : tuple of str
        Categories with no reachable facility in the data.
    extract : OsmExtract
        The OSM data read (features for further categories, buildings, roads).
    access : dict of str to pandas.DataFrame
        Per category, where its facilities join the network
        (:func:`lifecircle.spatial.travel.facility_access_points`).
    """

    options: RunOptions
    network: WalkNetwork
    costs: pd.DataFrame
    facilities: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    summary: dict[str, Any]
    record: dict[str, Any]
    categories: tuple[str, ...]
    no_data: tuple[str, ...]
    extract: OsmExtract | None = None
    access: dict[str, pd.DataFrame] = field(default_factory=dict)


# --------------------------------------------------------------------------- validation


def _existing(path: str | Path | None, option: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{option} file {str(p)!r} does not exist.")
    if p.is_file() and p.stat().st_size == 0:
        from lifecircle._errors import InputFileError

        raise InputFileError(f"{option} file {str(p)!r} is empty (0 bytes).")
    return p


def _positive(value: float, option: str, *, upper: float | None = None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a number; found {value!r}.") from None
    if not np.isfinite(v) or v <= 0 or (upper is not None and v > upper):
        bound = f" and at most {upper:g}" if upper is not None else ""
        raise OptionError(f"{option} must be greater than 0{bound}; found {value!r}.")
    return v


def validate_options(options: RunOptions) -> RunOptions:
    """Check every option and input path before any expensive work.

    Returns
    -------
    RunOptions
        With defaults resolved (speed, categories, the sample file when no source given).

    Raises
    ------
    OptionError, InputNotFoundError, InputFileError, UnknownCategoryError, ProfileError
    """
    sources = [s for s in (options.osm, options.place, options.bbox) if s is not None]
    if len(sources) > 1:
        raise OptionError("Give only one of --osm, --place and --bbox.")
    osm = options.osm
    if not sources:
        from lifecircle.layers.sample import default_sample_path

        osm = default_sample_path()
    _existing(osm, "--osm")
    if options.bbox is not None:
        w, s, e, n = (float(x) for x in options.bbox)
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise OptionError(f"--bbox must be W,S,E,N in degrees with W<E and S<N; found {options.bbox!r}.")
    for path, name in ((options.boundary, "--boundary"), (options.communities, "--communities"),
                       (options.population, "--population"), (options.facilities, "--facilities"),
                       (options.catalogue, "--catalogue"), (options.dem, "--dem"), (options.profiles, "--profiles")):
        _existing(path, name)
    _positive(options.cell_size_m, "--cell-size")
    minutes = _positive(options.minutes, "--minutes", upper=240)
    _positive(options.max_access_m, "--max-access")
    _positive(options.isochrone_buffer_m, "--isochrone-buffer")
    target = float(options.coverage_target)
    if not 0 < target <= 1:
        raise OptionError(f"--coverage-target must be in (0, 1]; found {options.coverage_target!r}.")
    if options.facilities_crs not in (None, "wgs84", "gcj02", "bd09"):
        raise OptionError(f"--facilities-crs must be wgs84, gcj02 or bd09; found {options.facilities_crs!r}.")

    from lifecircle.layers.catalogue import load_catalogue, select
    from lifecircle.layers.profiles import get_profile, load_profiles

    catalogue = load_catalogue(options.catalogue) if options.catalogue else load_catalogue()
    names = list(options.categories) if options.categories else list(settings.default_categories)
    categories = tuple(c.name for c in select(catalogue, names))
    profile = get_profile(options.profile, catalogue=load_profiles(extra=options.profiles) if options.profiles else None)
    speed = check_speed(options.speed_kmh if options.speed_kmh is not None else profile.flat_speed_kmh, name="--speed")
    return replace(options, osm=osm, categories=categories, speed_kmh=speed, minutes=minutes)


@dataclass(frozen=True)
class InputLayers:
    """The user's small input files, read and checked before any long step.

    Attributes
    ----------
    boundary : lifecircle.layers.communities.Boundary or None
    facilities : geopandas.GeoDataFrame or None
        ``--facilities`` (EPSG:4326), categories checked against the catalogue.
    communities : geopandas.GeoDataFrame or None
        ``--communities`` (its own CRS), ``name`` and ``geometry``.
    population : lifecircle.layers.population.PopulationInput or None
    """

    boundary: Any = None
    facilities: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    population: Any = None


def read_inputs(options: RunOptions) -> InputLayers:
    """Read and check the boundary, facilities, communities and population files, and the
    DEM's header, before the OSM data is read: a bad file fails in seconds, not after the run.

    With a boundary, the grid's memory is estimated here too.

    Raises
    ------
    BoundaryError, FacilitiesFileError, UnknownCategoryError, NoCrsError, CommunitiesError,
    PopulationError, DemError, MemoryBudgetError
    """
    boundary = facilities = communities = population = None
    if options.boundary is not None:
        from lifecircle.layers.communities import read_boundary

        boundary = read_boundary(options.boundary)
        c = gpd.GeoSeries([boundary.geometry], crs=boundary.crs).to_crs(4326).iloc[0].centroid
        metric = gpd.GeoSeries([boundary.geometry], crs=boundary.crs).to_crs(utm_crs_for(c.x, c.y)).iloc[0]
        check_grid_budget(metric, cell_size_m=options.cell_size_m, available_bytes=available_memory_bytes(),
                          fraction=settings.memory_fraction)
    if options.facilities is not None:
        from lifecircle.layers.catalogue import load_catalogue
        from lifecircle.layers.facilities import read_facilities_file

        catalogue = load_catalogue(options.catalogue) if options.catalogue else load_catalogue()
        facilities = read_facilities_file(
            options.facilities, catalogue=catalogue,
            crs_hint=None if options.facilities_crs in (None, "wgs84") else options.facilities_crs)
    if options.communities is not None:
        from lifecircle.layers.communities import read_communities

        communities = read_communities(options.communities)
    if options.population is not None:
        from lifecircle.layers.population import read_population

        population = read_population(options.population)
    if options.dem is not None:
        _check_dem_header(options.dem)
    return InputLayers(boundary=boundary, facilities=facilities, communities=communities, population=population)


def _check_dem_header(path: str | Path) -> None:
    """The DEM opens as a raster and has a CRS (its pixels are read later, around the network)."""
    import rasterio

    from lifecircle._errors import DemError

    try:
        with rasterio.open(path) as src:
            crs = src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise DemError(f"--dem {str(path)!r} is not a readable raster: {exc}. Expected a GeoTIFF.") from exc
    if crs is None:
        raise DemError(f"DEM {str(path)!r} has no CRS: expected a GeoTIFF with a coordinate reference system.")


# --------------------------------------------------------------------------- steps


def load_extract(options: RunOptions) -> OsmExtract:
    """Read the OSM data: a local file, or a download by place name / bbox through osmnx."""
    if options.place is not None or options.bbox is not None:
        from lifecircle.layers.download import download_extract

        return download_extract(place=options.place, bbox=options.bbox)
    from lifecircle.layers.osm import read_osm

    return read_osm(options.osm)


def study_area(extract: OsmExtract, network_crs: pyproj.CRS, *, boundary: Any = None,
               label: str | Path | None = None) -> shapely.Geometry:
    """The study area polygon in the metric CRS: the boundary, else the data's extent.

    ``boundary`` is a file path or a :class:`~lifecircle.layers.communities.Boundary`;
    ``label`` names it in messages (default the path).

    Raises
    ------
    BoundaryError
        The boundary does not overlap the data.
    """
    to_metric = pyproj.Transformer.from_crs(4326, network_crs, always_xy=True)
    x, y = to_metric.transform(extract.node_lon, extract.node_lat)
    data_box = shapely.box(float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y)))
    if boundary is None:
        if extract.bbox is not None:
            header = gpd.GeoSeries([shapely.box(*extract.bbox)], crs=4326).to_crs(network_crs).iloc[0]
            if header.intersects(data_box):
                return header.intersection(data_box)
        return data_box
    from lifecircle.layers.communities import Boundary, read_boundary

    polygon, crs = boundary if isinstance(boundary, Boundary) else read_boundary(boundary)
    name = str(label if label is not None else ("the boundary" if isinstance(boundary, Boundary) else boundary))
    area = gpd.GeoSeries([polygon], crs=crs).to_crs(network_crs).iloc[0]
    if not area.intersects(data_box):
        raise BoundaryError(
            f"--boundary {name!r} does not overlap the OSM data: the boundary covers "
            f"{_lonlat_bounds(polygon, crs)} but the data covers "
            f"{tuple(round(v, 4) for v in (np.min(extract.node_lon), np.min(extract.node_lat), np.max(extract.node_lon), np.max(extract.node_lat)))}."
        )
    share = area.intersection(data_box).area / area.area if area.area > 0 else 0.0
    if share < 0.95:
        log.warning(
            "--boundary %r: only %.0f%% of it lies within the OSM data's extent; cells outside the data "
            "will show as 'no access'. Use an extract that covers the whole boundary.", name, 100 * share,
        )
    return area


def _lonlat_bounds(geom: shapely.Geometry, crs: Any) -> tuple[float, ...]:
    b = gpd.GeoSeries([geom], crs=crs).to_crs(4326).total_bounds
    return tuple(round(float(v), 4) for v in b)


def prepare_network(extract: OsmExtract, *, area: shapely.Geometry | None = None, reach_m: float = 0.0,
                    crs: pyproj.CRS | None = None) -> WalkNetwork:
    """Build the walking network and keep the part within ``reach_m`` of the study area.

    The margin lets people near the edge reach facilities just outside the area.
    """
    network = build_walk_network(
        way_ids=extract.way_ids, way_offsets=extract.way_offsets, node_ids=extract.node_ids,
        node_lon=extract.node_lon, node_lat=extract.node_lat, way_tags=extract.way_tags, crs=crs,
    )
    if area is not None:
        try:
            network = clip_network(network, area.buffer(reach_m) if reach_m > 0 else area)
        except NoWalkableWaysError:
            raise NoWalkableWaysError(
                f"No walkable way in {extract.source!r} lies within the study area "
                f"(plus {reach_m:.0f} m): expected footways, paths, steps or streets there."
            ) from None
    return network


def run_profile(options: RunOptions):  # noqa: ANN201 - returns WalkingProfile
    """The run's walking profile, with ``--speed`` applied to its flat speed."""
    from lifecircle.layers.profiles import get_profile, load_profiles

    profile = get_profile(options.profile, catalogue=load_profiles(extra=options.profiles) if options.profiles else None)
    if options.speed_kmh is not None and options.speed_kmh != profile.flat_speed_kmh:
        profile = replace(profile, flat_speed_kmh=float(options.speed_kmh))
    return profile


def edge_elevations(network: WalkNetwork, dem_path: str | Path, *,
                    area: shapely.Geometry | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rise and fall of every edge from a DEM (read only around the network).

    ``area`` (the study area, in ``network.crs``) is what the coverage share and its
    warning refer to; edges beyond the DEM are counted separately by the terrain model.
    """
    from lifecircle.layers.elevation import check_dem_overlap, read_dem
    from lifecircle.spatial.terrain import edge_elevation_profile

    # Read only the DEM's window around the network: a province-wide DEM need not fit in memory.
    dem = read_dem(dem_path, bounds=tuple(network.edges.total_bounds), bounds_crs=network.crs)
    coverage = check_dem_overlap(dem, area if area is not None else shapely.box(*network.edges.total_bounds),
                                 network.crs)
    return edge_elevation_profile(network, dem), {"dem_coverage_share_of_study_area": coverage}


def walking_costs(network: WalkNetwork, options: RunOptions, *,
                  elevation: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Seconds per edge and direction for the run's profile.

    Plain distance over speed for an adult on data with no stairs, slopes or DEM; otherwise
    the terrain model of :func:`lifecircle.spatial.terrain.terrain_costs` (stairs, ``incline``
    tags, and slopes from ``elevation`` when given).
    """
    profile = run_profile(options)
    report: dict[str, Any] = {"profile_parameters": profile.as_dict()}
    if elevation is None and options.profile == "adult" and not _has_incline_or_steps(network):
        report["model"] = "flat"
        return flat_costs(network, speed_kmh=profile.flat_speed_kmh), report
    from lifecircle.spatial.terrain import terrain_costs

    costs, terrain_report = terrain_costs(network, profile=profile, elevation=elevation)
    report.update(terrain_report)
    report["model"] = "terrain" if elevation is not None else "tags"
    return costs, report


def within_threshold(network: WalkNetwork, costs: pd.DataFrame, facilities: gpd.GeoDataFrame,
                     access: dict[str, pd.DataFrame], where: EdgeLocation, *, categories: Sequence[str], minutes: float,
                     leg_speed_kmh: float) -> np.ndarray:
    """Boolean ``(origins, categories)``: origin within ``minutes`` of the category under ``costs``.

    ``where`` is the origins' :class:`~lifecircle.spatial.travel.EdgeLocation`; origins
    without network access are never within.
    """
    graph = reverse_graph(network, costs)
    hit = np.zeros((len(where.edge), len(categories)), dtype=bool)
    for j, cat in enumerate(categories):
        secs, _ = nearest_facility(graph, access[cat], n_facilities=len(facilities), leg_speed_kmh=leg_speed_kmh)
        cell_secs = origin_seconds(graph, secs, where, access=access[cat], leg_speed_kmh=leg_speed_kmh)
        hit[:, j] = where.matched & (cell_secs <= minutes * 60.0)
    return hit


#: Walking profile used for each population group's coverage.
GROUP_PROFILES: dict[str, str | None] = {"60plus": "elderly", "0_14": None}  # None: the run's profile


def group_coverage(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    access: dict[str, pd.DataFrame],
    cells: gpd.GeoDataFrame,
    group_people: dict[str, np.ndarray],
    *,
    categories: Sequence[str],
    minutes: float,
    max_access_m: float,
    options: RunOptions,
    elevation: pd.DataFrame | None,
) -> dict[str, dict[str, Any]]:
    """Coverage of population groups with the walking profile that matches them.

    Older residents (60+) are counted with the ``elderly`` profile (on the terrain when a DEM
    is given); other groups with the run's profile.

    Returns
    -------
    dict
        ``{group: {"profile", "people", "categories": {category: {"people_served", "share_served"}}}}``.
    """
    from lifecircle.layers.profiles import get_profile, load_profiles
    from lifecircle.spatial.terrain import terrain_costs

    catalogue = load_profiles(extra=options.profiles) if options.profiles else None
    centres = gpd.GeoSeries(shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy()), crs=network.crs)
    where = locate_on_network(centres, network, max_distance_m=max_access_m)
    out: dict[str, dict[str, Any]] = {}
    for group, people in group_people.items():
        name = GROUP_PROFILES.get(group)
        # Groups without a profile of their own walk as the run's walker (--speed included).
        profile = get_profile(name, catalogue=catalogue) if name else run_profile(options)
        name = name or options.profile
        costs, _ = terrain_costs(network, profile=profile, elevation=elevation)
        hit = within_threshold(network, costs, facilities, access, where, categories=categories, minutes=minutes,
                               leg_speed_kmh=profile.flat_speed_kmh)
        reachable = np.nan_to_num(people) * where.matched
        total = float(reachable.sum())
        out[group] = {
            "profile": name,
            "people": float(np.nan_to_num(people).sum()),
            "categories": {
                cat: {"people_served": float(reachable[hit[:, j]].sum()),
                      "share_served": float(reachable[hit[:, j]].sum() / total) if total > 0 else None}
                for j, cat in enumerate(categories) if len(access[cat])
            },
        }
    return out


#: The scenarios of the terrain table: (label, profile, terrain counted).
TERRAIN_SCENARIOS: tuple[tuple[str, str, bool], ...] = (
    ("flat_adult", "adult", False),
    ("terrain_adult", "adult", True),
    ("terrain_elderly", "elderly", True),
    ("terrain_wheelchair", "wheelchair", True),
)


def terrain_comparison(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    access: dict[str, pd.DataFrame],
    cells: gpd.GeoDataFrame,
    *,
    categories: Sequence[str],
    minutes: float,
    max_access_m: float,
    elevation: pd.DataFrame | None,
    profiles_path: str | Path | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """What the terrain costs: share of people within the threshold per category under a
    flat adult walk and terrain-aware adult, elderly and wheelchair walks.

    Parameters
    ----------
    network, facilities, access
        As in :func:`run`.
    cells : geopandas.GeoDataFrame
        The grid with ``population`` and ``access``.
    categories : sequence of str
    minutes : float
    max_access_m : float
    elevation : pandas.DataFrame or None
        From :func:`edge_elevations`; without it only stairs and ``incline`` tags count.
    profiles_path : path, optional
        Extra profile catalogue.

    Returns
    -------
    table : pandas.DataFrame
        One row per category; columns ``share_<scenario>`` and ``people_<scenario>`` for the
        scenarios of :data:`TERRAIN_SCENARIOS`.
    within : dict of str to numpy.ndarray
        Per scenario, a boolean ``(cells, categories)`` array: cell within the threshold.
    """
    from lifecircle.layers.profiles import get_profile, load_profiles
    from lifecircle.spatial.terrain import terrain_costs

    catalogue = load_profiles(extra=profiles_path) if profiles_path else None
    centres = gpd.GeoSeries(shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy()), crs=network.crs)
    where = locate_on_network(centres, network, max_distance_m=max_access_m)
    pop = np.nan_to_num(cells["population"].to_numpy(dtype=float))
    weights = pop if pop.sum() > 0 else np.ones(len(cells))
    on_net = where.matched
    rows: dict[str, dict[str, float]] = {cat: {"category": cat} for cat in categories}
    within: dict[str, np.ndarray] = {}
    for label, name, terrain in TERRAIN_SCENARIOS:
        profile = get_profile(name, catalogue=catalogue)
        if terrain:
            costs, _ = terrain_costs(network, profile=profile, elevation=elevation)
        else:
            costs = flat_costs(network, speed_kmh=profile.flat_speed_kmh)
        hit = within_threshold(network, costs, facilities, access, where, categories=categories, minutes=minutes,
                               leg_speed_kmh=profile.flat_speed_kmh)
        for j, cat in enumerate(categories):
            rows[cat][f"people_{label}"] = float(pop[hit[:, j]].sum())
            rows[cat][f"share_{label}"] = float(weights[hit[:, j]].sum() / weights[on_net].sum()) if on_net.any() else np.nan
        within[label] = hit
    table = pd.DataFrame(list(rows.values()))
    # A category with no facility at all has no share to compare: no data, not 0 %.
    empty = [cat for cat in categories if len(access[cat]) == 0]
    table.loc[table["category"].isin(empty), [c for c in table.columns if c != "category"]] = np.nan
    return table, within


def _has_incline_or_steps(network: WalkNetwork) -> bool:
    edges = network.edges
    return bool(edges["highway"].isin(["steps", "elevator"]).any() or edges["incline"].notna().any()
                or ("conveying" in edges and edges["conveying"].notna().any()))


def find_facilities(extract: OsmExtract, *, categories: Sequence[str], network_crs: pyproj.CRS, area: shapely.Geometry,
                    reach_m: float, catalogue_path: str | Path | None = None,
                    facilities_file: str | Path | None = None, facilities_crs: str | None = None,
                    user_facilities: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Facilities of the chosen categories from the OSM features and the user's file.

    Facilities within ``reach_m`` of the study area count (a clinic just across the
    boundary serves people inside it).

    Returns
    -------
    geopandas.GeoDataFrame
        ``category``, ``name``, ``source`` (``osm`` or the file name), ``osm_type``,
        ``osm_id``, geometry in ``network_crs``; ordered by category then source and id.
    """
    from lifecircle.layers.catalogue import load_catalogue, match_features, select

    catalogue = load_catalogue(catalogue_path) if catalogue_path else load_catalogue()
    chosen = select(catalogue, list(categories))
    found = match_features(extract.features, chosen)
    found = found.assign(source="osm")
    frames = [found]
    if facilities_file is not None:
        if user_facilities is None:
            from lifecircle.layers.facilities import read_facilities_file

            user_facilities = read_facilities_file(facilities_file, catalogue=catalogue,
                                                   crs_hint=None if facilities_crs in (None, "wgs84") else facilities_crs)
        user = user_facilities[user_facilities["category"].isin(list(categories))]
        user = user.assign(source=Path(facilities_file).name, osm_type=None, osm_id=None)
        frames.append(user.to_crs(found.crs))
    allf = pd.concat(frames, ignore_index=True)
    allf = gpd.GeoDataFrame(allf, geometry="geometry", crs=found.crs).to_crs(network_crs)
    near = allf.intersects(area.buffer(reach_m))
    allf = allf[near.to_numpy()].copy()
    allf["category"] = pd.Categorical(allf["category"], categories=list(categories), ordered=True)
    allf = allf.sort_values(["category", "source", "osm_type", "osm_id"], na_position="last", kind="stable")
    allf["category"] = allf["category"].astype(str)
    cols = ["category", "name", "source", "osm_type", "osm_id", "geometry"]
    allf = allf[[c for c in cols if c in allf.columns]].reset_index(drop=True)
    counts = allf["category"].value_counts()
    log.info("Facilities: %s", ", ".join(f"{c} {int(counts.get(c, 0)):,}" for c in categories))
    return allf


def compute_cells(
    network: WalkNetwork,
    graph: ReverseGraph,
    facilities: gpd.GeoDataFrame,
    access: dict[str, pd.DataFrame],
    *,
    area: shapely.Geometry,
    categories: Sequence[str],
    cell_size_m: float,
    max_access_m: float,
    leg_speed_kmh: float,
) -> tuple[gpd.GeoDataFrame, dict[str, np.ndarray]]:
    """The grid with minutes to the nearest facility of each category.

    Returns
    -------
    cells : geopandas.GeoDataFrame
        ``cell_id``, ``x``, ``y``, ``access``, ``snap_m``, ``minutes_to_<category>``,
        ``nearest_<category>`` (row in ``facilities``, -1 when none), geometry.
    node_seconds : dict
        Seconds from every node to the nearest facility, per category.
    """
    cells = make_grid(area, cell_size_m=cell_size_m, crs=network.crs)
    centres = gpd.GeoSeries(shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy()), crs=network.crs)
    where = locate_on_network(centres, network, max_distance_m=max_access_m)
    cells["access"] = np.where(where.matched, "network", "no_access")
    cells["snap_m"] = np.where(where.matched, where.distance_m, np.nan)
    node_seconds: dict[str, np.ndarray] = {}
    for cat in categories:
        acc = access[cat]
        n_fac = len(facilities)
        secs, nearest_fac = nearest_facility(graph, acc, n_facilities=n_fac, leg_speed_kmh=leg_speed_kmh)
        node_seconds[cat] = secs
        cell_secs, cell_fac = origin_nearest(graph, secs, nearest_fac, where, access=acc, leg_speed_kmh=leg_speed_kmh)
        minutes = cell_secs / 60.0
        minutes[~np.isfinite(minutes)] = np.nan  # unreachable and no-access cells are empty
        cells[minutes_column(cat)] = minutes
        cells[f"nearest_{cat}"] = cell_fac
    return cells, node_seconds


def compute_isochrones(
    network: WalkNetwork,
    graph: ReverseGraph,
    facilities: gpd.GeoDataFrame,
    access: dict[str, pd.DataFrame],
    node_seconds: dict[str, np.ndarray],
    *,
    categories: Sequence[str],
    minutes: float,
    buffer_m: float,
    leg_speed_kmh: float,
    per_facility: bool = True,
    progress: bool = True,
) -> gpd.GeoDataFrame:
    """Isochrones per category (union of its facilities) and, optionally, per facility."""
    from lifecircle._progress import progress_bar

    limit = minutes * 60.0
    rows: list[dict[str, Any]] = []
    for cat in categories:
        acc = access[cat]
        if len(acc) == 0:
            continue
        geom = isochrone_polygon(network, graph, node_seconds[cat], limit_seconds=limit, buffer_m=buffer_m,
                                 access=acc, leg_speed_kmh=leg_speed_kmh)
        rows.append({"category": cat, "facility": -1, "name": None, "minutes": minutes, "geometry": geom})
        if not per_facility:
            continue
        by_facility = dict(tuple(acc.groupby("facility")))
        searches = per_facility_node_seconds(graph, acc, n_facilities=len(facilities), limit_seconds=limit,
                                             leg_speed_kmh=leg_speed_kmh)
        n = acc["facility"].nunique()
        for fac, secs in progress_bar(searches, total=n, desc=f"isochrones {cat}", enabled=progress and n >= 50):
            geom = isochrone_polygon(network, graph, secs, limit_seconds=limit, buffer_m=buffer_m,
                                     access=by_facility[fac], leg_speed_kmh=leg_speed_kmh)
            rows.append({"category": cat, "facility": fac, "name": facilities["name"].iloc[fac],
                         "minutes": minutes, "geometry": geom})
    if not rows:
        return gpd.GeoDataFrame({"category": [], "facility": [], "name": [], "minutes": []},
                                geometry=[], crs=network.crs)
    iso = gpd.GeoDataFrame(rows, geometry="geometry", crs=network.crs)
    iso["facility"] = iso["facility"].astype(np.int64)
    return iso


def communities_for(extract: OsmExtract, *, area: shapely.Geometry, network_crs: pyproj.CRS,
                    communities_file: str | Path | None = None,
                    communities: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Community polygons: the user's file (or its pre-read table), else neighbourhood units
    derived from the data."""
    if communities_file is not None:
        from lifecircle.layers.communities import read_communities

        comm = (communities if communities is not None else read_communities(communities_file)).to_crs(network_crs)
        comm = comm[comm.intersects(area)].reset_index(drop=True)
        if len(comm) == 0:
            from lifecircle._errors import CommunitiesError

            raise CommunitiesError(f"--communities {str(communities_file)!r}: no community overlaps the study area.")
        return comm[["name", "geometry"]]
    from lifecircle.spatial.units import derive_neighbourhood_units, select_places, select_water

    water = select_water(extract.features).to_crs(network_crs)
    places = select_places(extract.features).to_crs(network_crs)
    roads = extract.major_roads.to_crs(network_crs)
    units = derive_neighbourhood_units(area, major_roads=roads, water=water, places=places, crs=network_crs)
    return units[["name", "geometry"]]


def _population_for(cells: gpd.GeoDataFrame, extract: OsmExtract, options: RunOptions, population: Any = None
                    ) -> tuple[np.ndarray, str, dict[str, np.ndarray], str]:
    """People per cell, a sentence saying where the numbers come from, group people per cell,
    and what the numbers are: ``"people"``, or the fallback ``"floor_area"`` / ``"equal"``."""
    from lifecircle.spatial.population import population_fallback, population_to_cells

    feats = extract.features
    is_building = feats["tags"].map(lambda t: "building" in t).to_numpy()
    buildings = feats[is_building].to_crs(cells.crs)
    if options.population is not None:
        from lifecircle.layers.population import read_population

        pop = population if population is not None else read_population(options.population)
        values = population_to_cells(pop, cells, buildings=buildings)
        groups = {g.removeprefix("share_"): population_to_cells(pop, cells, buildings=buildings, group=g)
                  for g in pop.groups}
        return (values, f"population from {Path(options.population).name} ({pop.kind}, "
                f"{pop.total:,.0f} people in the file)", groups, "people")
    fallback = population_fallback(cells, buildings=buildings)
    return fallback.values, fallback.note, {}, fallback.method


def run(options: RunOptions, *, progress: bool = True) -> RunResult:
    """Run the whole job and return its results as Python objects.

    Parameters
    ----------
    options : RunOptions
    progress : bool, default True
        Show progress bars (silent anyway when stderr is not a terminal).

    Returns
    -------
    RunResult
    """
    timings = Timings()
    with timings.measure("validate"):
        options = validate_options(options)
        inputs = read_inputs(options)
    categories = tuple(options.categories or ())
    speed = float(options.speed_kmh)
    reach_m = options.minutes * 60.0 * speed / 3.6  # a walker can cross the boundary

    with timings.measure("read_osm"):
        extract = load_extract(options)
    with timings.measure("network"):
        c_lon, c_lat = float(np.median(extract.node_lon)), float(np.median(extract.node_lat))
        crs = utm_crs_for(c_lon, c_lat)
        area = study_area(extract, crs, boundary=inputs.boundary, label=options.boundary)
        check_grid_budget(area, cell_size_m=options.cell_size_m, available_bytes=available_memory_bytes(),
                          fraction=settings.memory_fraction)
        network = prepare_network(extract, area=area, reach_m=reach_m, crs=crs)
    with timings.measure("costs"):
        elevation, dem_report = (edge_elevations(network, options.dem, area=area) if options.dem is not None
                                 else (None, {}))
        costs, cost_report = walking_costs(network, options, elevation=elevation)
        cost_report.update(dem_report)
        graph = reverse_graph(network, costs)
    with timings.measure("facilities"):
        facilities = find_facilities(extract, categories=categories, network_crs=crs, area=area, reach_m=reach_m,
                                     catalogue_path=options.catalogue, facilities_file=options.facilities,
                                     facilities_crs=options.facilities_crs, user_facilities=inputs.facilities)
        access_all = facility_access_points(facilities, network, max_distance_m=options.max_access_m)
        facilities["reachable"] = np.isin(np.arange(len(facilities)), access_all["facility"].to_numpy())
        access = {cat: access_all[facilities["category"].to_numpy()[access_all["facility"].to_numpy()] == cat]
                  for cat in categories}
        counts = {cat: int((facilities["category"] == cat).sum()) for cat in categories}
        no_data = tuple(cat for cat in categories if len(access[cat]) == 0)
        for cat in no_data:
            log.warning(
                "NO DATA for category %r: %s in the data%s. It is reported as 'no data', not as under-served.",
                cat, "no facility" if counts[cat] == 0 else f"{counts[cat]} facilities but none",
                "" if counts[cat] == 0 else f" within {options.max_access_m:g} m of a walkable way",
            )
    with timings.measure("travel_times"):
        cells, node_seconds = compute_cells(network, graph, facilities, access, area=area, categories=categories,
                                            cell_size_m=options.cell_size_m, max_access_m=options.max_access_m,
                                            leg_speed_kmh=speed)
    if not (cells["access"] == "network").any():
        raise OptionError(
            f"No grid cell lies within --max-access {options.max_access_m:g} m of a walkable way: nothing can be "
            "measured. Expected a distance of tens to hundreds of metres (default 150)."
        )
    with timings.measure("population"):
        population, population_source, group_people, population_kind = _population_for(
            cells, extract, options, population=inputs.population)
        cells["population"] = population
        for group, people in group_people.items():
            cells[f"population_{group}"] = people
    with timings.measure("communities"):
        communities = communities_for(extract, area=area, network_crs=crs, communities_file=options.communities,
                                      communities=inputs.communities)
        cells["community"] = assign_communities(cells, communities)
    with timings.measure("coverage"):
        flags = flag_underserved(cells, categories=categories, threshold_minutes=options.minutes, no_data=no_data)
        cells["underserved"] = flags["underserved"].to_numpy()
        cells["missing"] = flags["missing"].to_numpy()
        fac_comm = gpd.sjoin(gpd.GeoDataFrame(facilities[["category"]], geometry=facilities.geometry.representative_point(), crs=crs),
                             communities[["name", "geometry"]], predicate="within", how="inner")
        fac_counts = fac_comm.groupby(["name", "category"]).size().unstack(fill_value=0) if len(fac_comm) else None
        comm_summary = summarise_communities(cells, communities, categories=categories,
                                             threshold_minutes=options.minutes, no_data=no_data,
                                             coverage_target=options.coverage_target, facility_counts=fac_counts)
        per_cat = category_summary(cells, categories=categories, threshold_minutes=options.minutes, no_data=no_data,
                                   facility_counts=counts)
    groups = None
    if group_people:
        with timings.measure("group_coverage"):
            groups = group_coverage(network, facilities, access, cells, group_people, categories=categories,
                                    minutes=options.minutes, max_access_m=options.max_access_m, options=options,
                                    elevation=elevation)
    terrain_table = None
    if options.dem is not None:
        with timings.measure("terrain_comparison"):
            terrain_table, within = terrain_comparison(
                network, facilities, access, cells, categories=categories, minutes=options.minutes,
                max_access_m=options.max_access_m, elevation=elevation, profiles_path=options.profiles)
            # Cells this run's walker reaches on the flat but not on the terrain: the same profile
            # and speed both times, so the difference is the terrain's alone.
            walker = run_profile(options)
            centres = gpd.GeoSeries(shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy()), crs=crs)
            where = locate_on_network(centres, network, max_distance_m=options.max_access_m)
            on_flat = within_threshold(network, flat_costs(network, speed_kmh=walker.flat_speed_kmh), facilities,
                                       access, where, categories=categories, minutes=options.minutes,
                                       leg_speed_kmh=walker.flat_speed_kmh)
            here = np.column_stack([cells[minutes_column(c)].to_numpy(dtype=float) <= options.minutes
                                    for c in categories]) if categories else np.zeros((len(cells), 0), bool)
            lost = on_flat & ~here
            lost[:, [categories.index(c) for c in no_data]] = False
            cells["terrain_lost"] = [",".join(c for c, x in zip(categories, row) if x) for row in lost]
    with timings.measure("isochrones"):
        isochrones = compute_isochrones(network, graph, facilities, access, node_seconds, categories=categories,
                                        minutes=options.minutes, buffer_m=options.isochrone_buffer_m,
                                        leg_speed_kmh=speed, per_facility=options.facility_isochrones,
                                        progress=progress)

    cell_order = ["cell_id", "community", "population", *[f"population_{g}" for g in group_people], "access", *[minutes_column(c) for c in categories],
                  "underserved", "missing", *(["terrain_lost"] if "terrain_lost" in cells else []), "snap_m",
                  *[f"nearest_{c}" for c in categories], "x", "y", "geometry"]
    cells = cells[cell_order]
    summary = {
        "study_area": _describe_area(options, extract),
        "profile": options.profile,
        "speed_kmh": speed,
        "threshold_minutes": options.minutes,
        "cell_size_m": options.cell_size_m,
        "population_source": population_source,
        "population_kind": population_kind,
        "categories": per_cat,
        "no_data": list(no_data),
        "cells": int(len(cells)),
        "cells_no_access": int((cells["access"] == "no_access").sum()),
        "cells_underserved": int(cells["underserved"].sum()),
        "people_underserved": float(np.nan_to_num(cells.loc[cells["underserved"], "population"]).sum()),
        "communities": int(len(communities)),
        "community_source": "file" if options.communities else "derived from major roads, rivers and the boundary",
        "data_sources": _data_sources(options),
        "groups": groups,
        "terrain_comparison": None if terrain_table is None else terrain_table.set_index("category").to_dict("index"),
        "cells_losing_coverage_to_terrain": None if terrain_table is None else int((cells["terrain_lost"] != "").sum()),
        "date": f"OSM data of {extract.date}" if getattr(extract, "date", None) else "OSM data date not recorded in the file",
    }
    record = {
        "options": options.as_record(),
        "source": extract.source,
        "osm_counts": extract.counts,
        "network": network.summary(),
        "crs": network.crs.to_string(),
        "costs": cost_report,
        "facilities": counts,
        "facilities_unreachable": int((~facilities["reachable"]).sum()),
        "timings_s": timings.steps,
    }
    return RunResult(options=options, network=network, costs=costs, facilities=facilities, cells=cells,
                     communities=comm_summary, isochrones=isochrones, summary=summary, record=record,
                     categories=categories, no_data=no_data, extract=extract, access=access)


#: Attribution for well-known open population and elevation products, matched on file names.
_KNOWN_SOURCES: tuple[tuple[str, str], ...] = (
    ("ghs", "GHS-POP, European Commission JRC (CC BY 4.0)"),
    ("worldpop", "WorldPop (CC BY 4.0)"),
    ("srtm", "NASA SRTM"),
)


def _data_sources(options: RunOptions) -> list[str]:
    """Attribution lines for the map and the record."""
    sources = ["© OpenStreetMap contributors (ODbL)"]
    for path in (options.population, options.dem, options.communities, options.facilities):
        if path is None:
            continue
        name = Path(path).name
        known = [text for key, text in _KNOWN_SOURCES if key in name.lower()]
        sources.extend(known or [f"{name} (user data)"])
    return sources


def _describe_area(options: RunOptions, extract: OsmExtract) -> str:
    if options.boundary is not None:
        return f"{Path(options.boundary).name} within {Path(extract.source).name}"
    if options.place is not None:
        return str(options.place)
    return Path(extract.source).name
