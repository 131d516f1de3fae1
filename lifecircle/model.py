"""The model of a run: everything the computations share, built once.

:func:`build_model` reads nothing twice: from the checked options and the input layers it
fixes the study area (in the data's local metric CRS, the input CRS recorded), the
walking network, the walker's edge costs and the reversed graph, the facilities and where
they join the network, and the grid cells located on the network. Every later step (the
travel times, population groups, terrain comparison, standards, capacity, new sites)
takes these parts from the :class:`Model` instead of rebuilding them, in the spirit of
cityseer's network structure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle._errors import BoundaryError, NoWalkableWaysError, OptionError
from lifecircle._progress import Timings
from lifecircle.layers.catalogue import Catalogue
from lifecircle.layers.communities import Boundary, boundary_mismatch_hint
from lifecircle.layers.elevation import check_dem_overlap, read_dem
from lifecircle.layers.facilities import find_facility_sites
from lifecircle.layers.osm import OsmExtract, choose_ways, entrance_nodes, gate_nodes, lift_nodes
from lifecircle.layers.profiles import WalkingProfile, get_profile, load_profiles
from lifecircle.options import (
    InputLayers,
    RunOptions,
    boundary_label,
    check_boundary_grid_budget,
    check_inputs,
    input_warnings,
    load_extract,
)
from lifecircle.spatial.area import local_metric_crs, study_area
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.grid import make_grid
from lifecircle.spatial.network import WalkNetwork, add_lift_links, build_walk_network, clip_network, close_gates
from lifecircle.spatial.terrain import (
    DEM_VERTICAL_ERROR_M,
    dem_plausibility,
    edge_elevation_profile,
    mapped_node_heights,
    terrain_costs,
    with_mapped_heights,
)
from lifecircle.spatial.travel import (
    EdgeLocation,
    ReverseGraph,
    facility_access_points,
    locate_on_network,
    reverse_graph,
)

__all__ = [
    "Model",
    "build_model",
    "prepare_network",
    "run_profile",
    "edge_elevations",
    "network_heights",
    "walking_costs",
    "GROUP_PROFILES",
    "group_profiles",
]

log = logging.getLogger(__name__)

#: Walking profile used for each population group's coverage (None: the run's walker).
GROUP_PROFILES: dict[str, str | None] = {"60plus": "elderly", "0_14": None}


@dataclass(frozen=True)
class Model:
    """What every step of a run shares, built once by :func:`build_model`.

    GeoDataFrames and the area are in ``crs`` (the data's local UTM zone, metres).

    Attributes
    ----------
    options : RunOptions
        The checked options, defaults resolved.
    crs : pyproj.CRS
        The metric CRS of every computation.
    input_crs : pyproj.CRS
        The CRS the boundary came in (EPSG:4326 without a boundary: the OSM data's).
    area : shapely.Geometry
        The study area in ``crs``.
    reach_m : float
        How far a walker gets within the threshold: the network and the facilities are
        kept this far beyond the area.
    extract : OsmExtract
        The OSM data read.
    network : WalkNetwork
    costs : pandas.DataFrame
        Seconds per edge and direction for the run's walker.
    cost_report : dict
        How the costs were made (model, profile parameters, terrain counts).
    elevation : pandas.DataFrame or None
        Rise and fall per edge from the DEM.
    graph : ReverseGraph
        The reversed graph of ``costs`` (searches run from facilities to homes).
    catalogue : Catalogue
        Facility categories (bundled plus ``--catalogue``).
    profile : WalkingProfile
        The run's walker (``--speed`` applied).
    profiles : dict of str to WalkingProfile
        Every walking profile known (bundled plus ``--profiles``).
    categories : tuple of str
    facilities : geopandas.GeoDataFrame
        ``category``, ``name``, ``source``, ``osm_type``, ``osm_id``, ``reachable``.
    facility_file_rows : numpy.ndarray
        Per facility, its row in the ``--facilities`` file (-1: from OSM).
    user_facilities : geopandas.GeoDataFrame or None
        The ``--facilities`` file as read (EPSG:4326).
    access : dict of str to pandas.DataFrame
        Per category, where its facilities join the network.
    no_data : tuple of str
        Categories with no facility on the network.
    grid : geopandas.GeoDataFrame
        The cells: ``cell_id``, ``x``, ``y``, geometry.
    origins : EdgeLocation
        The cell centres located on the network (``grid`` order).
    facility_qa : geopandas.GeoDataFrame or None
        Features merged into sites or excluded, and why (``facility_qa.csv``).
    entrances : geopandas.GeoDataFrame or None
        Mapped ``entrance=*`` nodes (metric CRS): polygons are entered there first, by the
        run and by every planning step alike.
    input_warnings : tuple of dict
        What the input checks let through with a warning, for ``run.json``.
    """

    options: RunOptions
    crs: pyproj.CRS
    input_crs: pyproj.CRS
    area: shapely.Geometry
    reach_m: float
    extract: OsmExtract
    network: WalkNetwork
    costs: pd.DataFrame
    cost_report: dict[str, Any]
    elevation: pd.DataFrame | None
    graph: ReverseGraph
    catalogue: Catalogue
    profile: WalkingProfile
    profiles: Mapping[str, WalkingProfile]
    categories: tuple[str, ...]
    facilities: gpd.GeoDataFrame
    facility_file_rows: np.ndarray
    user_facilities: gpd.GeoDataFrame | None
    access: dict[str, pd.DataFrame]
    no_data: tuple[str, ...]
    grid: gpd.GeoDataFrame
    origins: EdgeLocation
    facility_qa: gpd.GeoDataFrame | None = None
    #: What the input checks let through with a warning (rows dropped, facilities outside), for run.json.
    input_warnings: tuple[dict[str, Any], ...] = ()
    entrances: gpd.GeoDataFrame | None = None

    @property
    def speed_kmh(self) -> float:
        """The walker's flat speed (also the speed of the off-network legs)."""
        return float(self.profile.flat_speed_kmh)

    @property
    def minutes(self) -> float:
        """The threshold in minutes."""
        return float(self.options.minutes)

    @property
    def max_access_m(self) -> float:
        """Farthest a cell or facility may lie from a walkable way."""
        return float(self.options.max_access_m)

    @property
    def facility_counts(self) -> dict[str, int]:
        """Facilities per category in the data (reachable or not)."""
        return {cat: int((self.facilities["category"] == cat).sum()) for cat in self.categories}

    def category_facilities(self, category: str) -> gpd.GeoDataFrame:
        """One computed category's facilities, index 0..n-1 (order of :attr:`facilities`)."""
        fac = self.facilities
        return fac[fac["category"].to_numpy() == category].reset_index(drop=True)


def prepare_network(extract: OsmExtract, *, area: shapely.Geometry | None = None, reach_m: float = 0.0,
                    crs: pyproj.CRS | None = None, gates: str = "open") -> WalkNetwork:
    """Build the walking network and keep the part within ``reach_m`` of the study area.

    The margin lets people near the edge reach facilities just outside the area.

    Parameters
    ----------
    extract : OsmExtract
        The OSM data (:func:`lifecircle.layers.osm.read_osm`).
    area : shapely.Geometry, optional
        The study area in ``crs``; without it the whole network is kept.
    reach_m : float, default 0
        Margin around the area (metres) whose ways are kept.
    crs : pyproj.CRS, optional
        The metric CRS; default the data's UTM zone.
    gates : {"open", "closed"}
        ``closed`` splits the ways at mapped gates and closes them to through walkers
        (``--gates``).

    Returns
    -------
    WalkNetwork
        The network clipped to the area plus ``reach_m``, lifts linked, gates closed as asked, in ``crs``.

    Raises
    ------
    NoWalkableWaysError
        No walkable way lies within the area (plus the margin).
    """
    lifts = lift_nodes(extract)
    gate_ids = gate_nodes(extract)["osm_id"].to_numpy() if gates == "closed" else np.zeros(0, dtype=np.int64)
    network = build_walk_network(
        way_ids=extract.way_ids, way_offsets=extract.way_offsets, node_ids=extract.node_ids,
        node_lon=extract.node_lon, node_lat=extract.node_lat, way_tags=extract.way_tags, crs=crs,
        split_node_ids=np.concatenate([lifts["osm_id"].to_numpy(dtype=np.int64), gate_ids, _ele_node_ids(extract)]),
    )
    if area is not None:
        try:
            network = clip_network(network, area.buffer(reach_m) if reach_m > 0 else area)
        except NoWalkableWaysError:
            raise NoWalkableWaysError(
                f"No walkable way in {extract.source!r} lies within the study area "
                f"(plus {reach_m:.0f} m): expected footways, paths, steps or streets there."
            ) from None
    network = add_lift_links(network, lifts.to_crs(network.crs))
    return close_gates(network, gate_ids)[0] if len(gate_ids) else network


def _ele_node_ids(extract: OsmExtract) -> np.ndarray:
    """Nodes with a mapped height: graph nodes, so each stretch between two heights is an edge."""
    ele = getattr(extract, "node_ele", None)
    return np.zeros(0, dtype=np.int64) if ele is None else np.asarray(ele.index, dtype=np.int64)


def run_profile(options: RunOptions, profiles: Mapping[str, WalkingProfile] | None = None) -> WalkingProfile:
    """The run's walking profile, with ``--speed`` applied to its flat speed.

    Parameters
    ----------
    options : RunOptions
        The run's options.
    profiles : mapping of str to WalkingProfile, optional
        The profile catalogue; default the bundled one plus ``options.profiles``.

    Returns
    -------
    WalkingProfile
        The profile at the run's speed (``--speed`` overrides its flat speed).
    """
    if profiles is None:
        profiles = load_profiles(extra=options.profiles) if options.profiles else None
    profile = get_profile(options.profile, catalogue=profiles)
    if options.speed_kmh is not None and options.speed_kmh != profile.flat_speed_kmh:
        profile = replace(profile, flat_speed_kmh=float(options.speed_kmh))
    return profile


def group_profiles(walker: WalkingProfile, profiles: Mapping[str, WalkingProfile],
                   groups: list[str] | tuple[str, ...]) -> dict[str, WalkingProfile]:
    """The walker of each population group (:data:`GROUP_PROFILES`; others walk as ``walker``).

    Parameters
    ----------
    walker : WalkingProfile
        The run's walker.
    profiles : mapping of str to WalkingProfile
        Walking profiles by name (:func:`lifecircle.layers.profiles.load_profiles`).
    groups : sequence of str
        Group names (``60plus``, ``0_14``).

    Returns
    -------
    dict of str to WalkingProfile
        The walker of each population group, by group name.
    """
    out = {}
    for group in groups:
        name = GROUP_PROFILES.get(group)
        out[group] = get_profile(name, catalogue=profiles) if name else walker
    return out


def edge_elevations(network: WalkNetwork, dem_path: str | Path, *, area: shapely.Geometry | None = None,
                    vertical_error_m: float = DEM_VERTICAL_ERROR_M) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rise and fall of every edge from a DEM (read only around the network).

    Parameters
    ----------
    network : WalkNetwork
        The walking network, in its metric CRS.
    dem_path : path
        Elevation GeoTIFF.
    area : shapely.Geometry, optional
        The study area in ``network.crs``: what the coverage share and its warning refer
        to; edges beyond the DEM are counted separately by the terrain model.
    vertical_error_m : float, default :data:`lifecircle.spatial.terrain.DEM_VERTICAL_ERROR_M`
        The DEM's vertical error (``--dem-vertical-error``).

    Returns
    -------
    elevation : pandas.DataFrame
        :func:`lifecircle.spatial.terrain.edge_elevation_profile`.
    report : dict
        ``dem_coverage_share_of_study_area``.
    """
    # Read only the DEM's window around the network: a province-wide DEM need not fit in memory.
    dem = read_dem(dem_path, bounds=tuple(network.edges.total_bounds), bounds_crs=network.crs)
    coverage = check_dem_overlap(dem, area if area is not None else shapely.box(*network.edges.total_bounds),
                                 network.crs)

    profile = edge_elevation_profile(network, dem, vertical_error_m=vertical_error_m)
    return profile, {"dem_coverage_share_of_study_area": coverage,
                     "dem_quality": dem_plausibility(network, profile, vertical_error_m=vertical_error_m)}


def network_heights(network: WalkNetwork, extract: OsmExtract, options: RunOptions, *,
                    area: shapely.Geometry | None = None) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Heights of the edges: the DEM's (``--dem``) with mapped ``ele`` heights preferred.

    Parameters
    ----------
    network : WalkNetwork
    extract : OsmExtract
        Its ``node_ele`` are the mapped heights.
    options : RunOptions
        ``dem`` and ``dem_vertical_error_m``.
    area : shapely.Geometry, optional
        As in :func:`edge_elevations`.

    Returns
    -------
    elevation : pandas.DataFrame or None
        :func:`lifecircle.spatial.terrain.with_mapped_heights`; ``None`` with neither a DEM
        nor a mapped height.
    report : dict
        :func:`edge_elevations`' report plus ``mapped_heights`` (edges from tags vs DEM).
    """
    elevation, report = (edge_elevations(network, options.dem, area=area,
                                         vertical_error_m=getattr(options, "dem_vertical_error_m", DEM_VERTICAL_ERROR_M))
                         if options.dem is not None else (None, {}))
    elevation, report["mapped_heights"] = with_mapped_heights(
        network, elevation, mapped_node_heights(network, getattr(extract, "node_ele", None)))
    return elevation, report


def walking_costs(network: WalkNetwork, profile: WalkingProfile, *,
                  elevation: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Seconds per edge and direction for a walker.

    Plain distance over speed for an adult on data with no stairs, slopes or DEM; otherwise
    the terrain model of :func:`lifecircle.spatial.terrain.terrain_costs` (stairs, ``incline``
    tags, and slopes from ``elevation`` when given).

    Parameters
    ----------
    network : WalkNetwork
        The walking network, in its metric CRS.
    profile : WalkingProfile
        The walker (:func:`run_profile`).
    elevation : pandas.DataFrame, optional
        From :func:`edge_elevations`.

    Returns
    -------
    costs : pandas.DataFrame
        ``seconds_uv``, ``seconds_vu`` per edge.
    report : dict
        ``model`` (``flat``, ``tags`` or ``terrain``), ``profile_parameters`` and the
        terrain model's counts.
    """
    report: dict[str, Any] = {"profile_parameters": profile.as_dict()}
    if elevation is None and profile.name == "adult" and not _has_incline_or_steps(network):
        report["model"] = "flat"
        return flat_costs(network, speed_kmh=profile.flat_speed_kmh), report

    costs, terrain_report = terrain_costs(network, profile=profile, elevation=elevation)
    report.update(terrain_report)
    # The three labels used everywhere: "flat", "stairs only" (stairs, incline tags, mapped heights
    # and lifts, no DEM) and "terrain" (with a DEM).
    from_dem = elevation is not None and elevation["elevation_source"].isin(["dem", "partial", "endpoints"]).any()
    report["model"] = "terrain" if from_dem else "stairs only"
    return costs, report


def _has_incline_or_steps(network: WalkNetwork) -> bool:
    edges = network.edges
    return bool(edges["highway"].isin(["steps", "elevator"]).any() or edges["incline"].notna().any()
                or ("conveying" in edges and edges["conveying"].notna().any()))


def build_model(options: RunOptions | None = None, *, inputs: InputLayers | None = None,
                extract: OsmExtract | None = None, timings: Timings | None = None, **fields: Any) -> Model:
    """Build the model of a run: area, network, costs, reversed graph, facilities, cells.

    Parameters
    ----------
    options : RunOptions, optional
        The run's options; or give them as keywords (``osm=...``, ``categories=[...]``, see
        :class:`lifecircle.options.RunOptions`).
    inputs : InputLayers, optional
        The input files already read (:func:`lifecircle.options.read_inputs`); read here
        otherwise.
    extract : OsmExtract, optional
        The OSM data already read; read here otherwise.
    timings : lifecircle._progress.Timings, optional
        Seconds per step are added to it.
    **fields
        :class:`~lifecircle.options.RunOptions` fields, instead of ``options``.

    Returns
    -------
    Model
        Everything the run's steps share, built once (frozen).

    Raises
    ------
    OptionError
        Both ``options`` and keywords given.
    BoundaryError
        The boundary misses the OSM data (the message says why it probably does).
    LifecircleError
        Any other invalid option or input (checked before the OSM data is read).

    Examples
    --------
    >>> from lifecircle.testing import small_network_file
    >>> model = build_model(osm=small_network_file(), categories=["clinic", "school"])
    >>> model.crs.to_epsg(), model.network.n_nodes, model.categories
    (32648, 3, ('clinic', 'school'))
    >>> model.facilities["name"].tolist()
    ['West clinic', 'East school']
    """
    if options is None:
        options = RunOptions(**fields)
    elif fields:
        raise OptionError("Give either options or keywords, not both.")
    timings = timings if timings is not None else Timings()
    if inputs is None:
        with timings.measure("validate"):
            options, inputs = check_inputs(options)
    categories, walker = tuple(options.categories or ()), run_profile(options, inputs.profiles)
    reach_m = options.minutes * 60.0 * float(cast(float, options.speed_kmh)) / 3.6  # a walker can cross the boundary
    if extract is None:
        with timings.measure("read_osm"):
            extract = load_extract(options)

    extract, way_report = choose_ways(extract, road_tunnels=options.road_tunnels, foot_no=options.foot_no)
    with timings.measure("network"):
        crs = local_metric_crs(extract.node_lon, extract.node_lat)
        area = _study_area(extract, inputs.boundary, crs=crs, label=boundary_label(options.boundary))
        check_boundary_grid_budget(area, options, inputs.boundary)
        network = prepare_network(extract, area=area, reach_m=reach_m, crs=crs, gates=options.gates)
    with timings.measure("costs"):
        elevation, costs, cost_report, graph = _model_costs(network, walker, extract, options, area=area,
                                                            way_report=way_report)
    with timings.measure("facilities"):
        warnings = input_warnings(inputs, categories=categories, reach_area=area.buffer(reach_m), crs=crs,
                                  facilities_path=options.facilities)
        found = _model_facilities(extract, inputs, network, options=options, categories=categories, crs=crs,
                                  area=area, reach_m=reach_m)
    with timings.measure("travel_times"):
        grid = make_grid(area, cell_size_m=options.cell_size_m, crs=crs)
        centres = gpd.GeoSeries(shapely.points(grid["x"].to_numpy(), grid["y"].to_numpy()), crs=crs)
        origins = locate_on_network(centres, network, max_distance_m=options.max_access_m)
    return Model(
        options=options, crs=crs, input_crs=inputs.boundary.crs if inputs.boundary is not None else pyproj.CRS.from_epsg(4326),
        area=area, reach_m=reach_m, extract=extract, network=network, costs=costs, cost_report=cost_report,
        elevation=elevation, graph=graph, catalogue=inputs.catalogue, profile=walker, profiles=inputs.profiles,
        categories=categories, user_facilities=inputs.facilities, grid=grid, origins=origins, input_warnings=warnings, **found,
    )


def _model_costs(network: WalkNetwork, walker: WalkingProfile, extract: OsmExtract, options: RunOptions, *,
                 area: shapely.Geometry, way_report: dict[str, Any],
                 ) -> tuple[pd.DataFrame | None, pd.DataFrame, dict[str, Any], ReverseGraph]:
    """Edge heights (DEM and mapped), the walker's costs, their report and the reversed graph."""
    elevation, dem_report = network_heights(network, extract, options, area=area)
    costs, cost_report = walking_costs(network, walker, elevation=elevation)
    cost_report.update(dem_report)
    cost_report["ways"] = way_report
    return elevation, costs, cost_report, reverse_graph(network, costs)


def _study_area(extract: OsmExtract, boundary: Boundary | None, *, crs: pyproj.CRS, label: str) -> shapely.Geometry:
    """The study area in ``crs``; a boundary missing the data says why it probably does."""
    try:
        return study_area(extract.node_lon, extract.node_lat, crs=crs,
                          boundary=None if boundary is None else boundary.geometry,
                          boundary_crs=None if boundary is None else boundary.crs,
                          header_bbox=extract.bbox, label=label)
    except BoundaryError as exc:
        if boundary is None:
            raise
        lon, lat = extract.node_lon, extract.node_lat
        raise BoundaryError(str(exc) + boundary_mismatch_hint(
            boundary.geometry, boundary.crs, (float(lon.min()), float(lat.min()), float(lon.max()),
                                              float(lat.max())))) from None


def _model_facilities(extract: OsmExtract, inputs: InputLayers, network: WalkNetwork, *, options: RunOptions,
                      categories: tuple[str, ...], crs: pyproj.CRS, area: shapely.Geometry,
                      reach_m: float) -> dict[str, Any]:
    """The model's facilities, their access points per category and what is missing (Model fields)."""
    facilities, facility_qa = find_facility_sites(
        extract.features, catalogue=inputs.catalogue, categories=categories, crs=crs, area=area, reach_m=reach_m,
        user_facilities=inputs.facilities,
        source_name=Path(options.facilities).name if options.facilities is not None else None,
        file_row_column="file_row")
    file_rows = facilities.pop("file_row").to_numpy(dtype=np.int64)
    entrances = entrance_nodes(extract).to_crs(crs)
    access_all = facility_access_points(facilities, network, max_distance_m=options.max_access_m,
                                        entrances=entrances)
    facilities["reachable"] = np.isin(np.arange(len(facilities)), access_all["facility"].to_numpy())
    access = {cat: access_all[facilities["category"].to_numpy()[access_all["facility"].to_numpy()] == cat]
              for cat in categories}
    no_data = tuple(cat for cat in categories if len(access[cat]) == 0)
    _warn_no_data(facilities, no_data, max_access_m=options.max_access_m)
    return {"facilities": facilities, "facility_file_rows": file_rows, "access": access, "no_data": no_data,
            "facility_qa": facility_qa, "entrances": entrances}


def _warn_no_data(facilities: gpd.GeoDataFrame, no_data: tuple[str, ...], *, max_access_m: float) -> None:
    for cat in no_data:
        count = int((facilities["category"] == cat).sum())
        log.warning(
            "NO DATA for category %r: %s in the data%s. It is reported as 'no data', not as under-served.",
            cat, "no facility" if count == 0 else f"{count} facilities but none",
            "" if count == 0 else f" within {max_access_m:g} m of a walkable way",
        )
