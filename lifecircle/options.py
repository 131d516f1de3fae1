"""The options of a run, checked, and the user's input files, read before any long step.

:class:`RunOptions` holds every option (the command line's and the notebook's);
:func:`validate_options` checks them and resolves defaults; :func:`read_inputs` reads the
small input files (boundary, facilities, communities, population) so that a bad file fails
in seconds; :func:`load_extract` reads the OSM data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import shapely

from lifecircle import settings
from lifecircle._errors import (
    BoundaryError,
    DemError,
    InputFileError,
    InputNotFoundError,
    NoCrsError,
    OptionError,
    shorten,
)
from lifecircle.layers.catalogue import load_catalogue, select
from lifecircle.layers.communities import Boundary, far_boundary_parts, read_boundary, read_communities
from lifecircle.layers.download import download_extract
from lifecircle.layers.facilities import check_facilities_near_area, read_facilities_file
from lifecircle.layers.indicators import load_indicators
from lifecircle.layers.osm import OsmExtract, read_osm
from lifecircle.layers.population import read_population, read_population_totals
from lifecircle.layers.profiles import get_profile, load_profiles
from lifecircle.layers.sample import default_sample_path
from lifecircle.layers.thresholds import parse_thresholds
from lifecircle.layers.units import parse_unit_spec, read_unit_levels
from lifecircle.spatial.costs import check_speed
from lifecircle.spatial.grid import check_grid_budget
from lifecircle.spatial.network import utm_crs_for
from lifecircle.spatial.terrain import DEM_VERTICAL_ERROR_M, check_vertical_error
from lifecircle.spatial.travel import available_memory_bytes

__all__ = ["RunOptions", "validate_options", "InputLayers", "read_inputs", "check_inputs", "load_extract",
           "boundary_label", "check_boundary_grid_budget", "input_warnings"]

#: What ``boundary`` may be: a polygon file, a GeoDataFrame, or a shapely geometry (EPSG:4326).
BoundaryLike = Any


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
    boundary : path, geopandas.GeoDataFrame or shapely geometry, optional
        Polygon clipping the study area: a file, a GeoDataFrame (with a CRS; its polygons
        are merged), or a shapely geometry in longitude/latitude (EPSG:4326).
    communities : path, optional
        Polygons with a name column; without it, neighbourhood units are derived.
    population : path, optional
        CSV of lon/lat/population points, a GeoTIFF raster, or polygons with totals.
    population_total : float, optional
        People in the study area (a control total): the population input's cells are
        rescaled to sum to it.
    population_totals : path, optional
        People per unit (CSV/XLSX of name or code + total, matched to ``communities``;
        or unit polygons with a total): cells are rescaled within each unit.
    facilities : path, optional
        Extra facilities (CSV lon/lat, GeoJSON, GeoPackage) with a category column.
    facilities_crs : str, optional
        ``"gcj02"`` or ``"bd09"`` for facility files in Chinese web-map coordinates.
    categories : sequence of str, optional
        Categories to compute; default those marked ``default`` in the catalogue.
    catalogue : path, optional
        Extra category catalogue (YAML) merged over the bundled one.
    cell_size_m, minutes, max_access_m, isochrone_buffer_m, coverage_target : float, optional
        Default: :mod:`lifecircle.settings` as it is when the options are made.
    speed_kmh : float, optional
        Flat walking speed; default the profile's ``flat_speed_kmh``.
    profile : str, optional
        Walking profile name (``adult``, ``elderly``, ``wheelchair``...); default
        :data:`lifecircle.settings.profile`.
    profiles : path, optional
        Extra profile catalogue (YAML).
    dem : path, optional
        Elevation GeoTIFF for terrain-aware walking.
    facility_isochrones : bool, default False
        Also compute one isochrone per facility (the category unions are always computed).
        Off by default: one search and one outline per facility is most of a city-wide
        run's time, and the map and the gap lists need only the category unions.
    road_tunnels, foot_no : str
        Contested ways: see :func:`lifecircle.layers.osm.choose_ways`.
    gates : str
        ``"open"`` (default) or ``"closed"`` to through walkers
        (:func:`lifecircle.spatial.network.close_gates`).
    measure_choices : bool
        Repeat the search with each of those choices flipped and record the shares
        (:func:`lifecircle.choices.choice_effects`; about one extra search per choice).
    dem_vertical_error_m : float
        The DEM's vertical error in metres (``--dem-vertical-error``): rises and falls
        smaller than this are noise. Default
        :data:`lifecircle.spatial.terrain.DEM_VERTICAL_ERROR_M` (6 m, SRTM).
    units : sequence of str
        The governance hierarchy, top level first: ``FILE[:name=COL,code=COL,parent=COL,...]``
        per level (:mod:`lifecircle.layers.units`); the last level takes the place of
        ``communities``.
    thresholds : str or mapping, optional
        Each category's own thresholds, ``"clinic=5,10,15;park=300m"`` or
        ``{"clinic": [5, 10, 15]}`` (:mod:`lifecircle.layers.thresholds`), over the catalogue's.
    indicators : path, optional
        A city's own indicators (YAML), added to the bundled presets
        (:mod:`lifecircle.layers.indicators`).
    """

    osm: str | Path | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    boundary: str | Path | gpd.GeoDataFrame | shapely.Geometry | None = None
    communities: str | Path | None = None
    population: str | Path | None = None
    population_total: float | None = None
    population_totals: str | Path | None = None
    facilities: str | Path | None = None
    facilities_crs: str | None = None
    categories: Sequence[str] | None = None
    catalogue: str | Path | None = None
    # Defaults read lifecircle.settings when the options are made, not when this module
    # is imported: a change of a setting counts for every run set up after it.
    cell_size_m: float = field(default_factory=lambda: settings.cell_size_m)
    speed_kmh: float | None = None
    minutes: float = field(default_factory=lambda: settings.threshold_minutes)
    max_access_m: float = field(default_factory=lambda: settings.max_access_distance_m)
    isochrone_buffer_m: float = field(default_factory=lambda: settings.isochrone_buffer_m)
    coverage_target: float = field(default_factory=lambda: settings.coverage_target)
    profile: str = field(default_factory=lambda: settings.profile)
    profiles: str | Path | None = None
    dem: str | Path | None = None
    facility_isochrones: bool = False
    road_tunnels: str = "closed"
    foot_no: str = "honour"
    gates: str = "open"
    measure_choices: bool = False
    dem_vertical_error_m: float = DEM_VERTICAL_ERROR_M
    units: Sequence[str | Path] = ()
    thresholds: Any = None
    indicators: str | Path | None = None

    def as_record(self) -> dict[str, Any]:
        """The options as JSON-ready values."""
        out = {}
        for key in (f.name for f in fields(self)):
            value = getattr(self, key)
            if key == "boundary" and value is not None and not isinstance(value, (str, Path)):
                value = boundary_label(value)
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, (tuple, list)):
                value = [str(v) if isinstance(v, Path) else v for v in value]
            out[key] = value
        return out



# --------------------------------------------------------------------------- validation


def _existing(path: str | Path | None, option: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{option} file {str(p)!r} does not exist.")
    if p.is_file() and p.stat().st_size == 0:
        raise InputFileError(f"{option} file {str(p)!r} is empty (0 bytes).")
    return p


def _positive(value: float, option: str, *, upper: float | None = None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a number; found {shorten(value)}.") from None
    if not np.isfinite(v) or v <= 0 or (upper is not None and v > upper):
        bound = f" and at most {upper:g}" if upper is not None else ""
        raise OptionError(f"{option} must be greater than 0{bound}; found {shorten(value)}.")
    return v


def validate_options(options: RunOptions) -> RunOptions:
    """Check every option and input path before any expensive work.

    Parameters
    ----------
    options : RunOptions
        The run's options.

    Returns
    -------
    RunOptions
        With defaults resolved (speed, categories, the sample file when no source given).

    Raises
    ------
    OptionError, InputNotFoundError, InputFileError, UnknownCategoryError, ProfileError
    """
    return _validated(options)[0]


def _validated(options: RunOptions) -> tuple[RunOptions, Any, Any]:
    """The checked options, the category catalogue and the walking profiles."""
    sources = [s for s in (options.osm, options.place, options.bbox) if s is not None]
    if len(sources) > 1:
        raise OptionError("Give only one of --osm, --place and --bbox.")
    osm = options.osm
    if not sources:
        osm = default_sample_path()
    _existing(osm, "--osm")
    if options.bbox is not None:
        w, s, e, n = (float(x) for x in options.bbox)
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise OptionError(f"--bbox must be W,S,E,N in degrees with W<E and S<N; found {shorten(options.bbox)}.")
    boundary_path = options.boundary if isinstance(options.boundary, (str, Path)) else None
    for path, name in ((boundary_path, "--boundary"), (options.communities, "--communities"),
                       (options.population, "--population"), (options.facilities, "--facilities"),
                       (options.catalogue, "--catalogue"), (options.dem, "--dem"), (options.profiles, "--profiles"),
                       (options.population_totals, "--population-totals")):
        _existing(path, name)
    for value, allowed, name in ((options.road_tunnels, ("closed", "walk"), "--road-tunnels"),
                                 (options.foot_no, ("honour", "ignore"), "--foot-no"),
                                 (options.gates, ("open", "closed"), "--gates")):
        if value not in allowed:
            raise OptionError(f"{name} must be one of {', '.join(allowed)}; found {value!r}.")
    _check_population_controls(options)
    _check_governance_options(options)
    _positive(options.cell_size_m, "--cell-size")
    minutes = _positive(options.minutes, "--minutes", upper=240)
    _positive(options.max_access_m, "--max-access")
    _positive(options.isochrone_buffer_m, "--isochrone-buffer")
    check_vertical_error(options.dem_vertical_error_m, option="--dem-vertical-error")
    target = float(options.coverage_target)
    if not 0 < target <= 1:
        raise OptionError(f"--coverage-target must be in (0, 1]; found {shorten(options.coverage_target)}.")
    if options.facilities_crs not in (None, "wgs84", "gcj02", "bd09"):
        raise OptionError(f"--facilities-crs must be wgs84, gcj02 or bd09; found {shorten(options.facilities_crs)}.")

    catalogue = load_catalogue(extra=options.catalogue)
    if options.categories is not None and not [c for c in options.categories if str(c).strip()]:
        raise OptionError("--categories names no category: expected a comma-separated list such as "
                          f"{','.join(c.name for c in select(catalogue, None))}.")
    categories = tuple(c.name for c in select(catalogue, list(options.categories) if options.categories else None))
    unknown = sorted(set(parse_thresholds(options.thresholds)) - set(categories)) if options.thresholds else []
    if unknown:
        raise OptionError(f"--thresholds names {', '.join(unknown)}, not among the run's categories "
                          f"({', '.join(categories)}); add them to --categories or leave them out.")
    profiles = load_profiles(extra=options.profiles) if options.profiles else load_profiles()
    profile = get_profile(options.profile, catalogue=profiles)
    speed = check_speed(options.speed_kmh if options.speed_kmh is not None else profile.flat_speed_kmh, name="--speed")
    return replace(options, osm=osm, categories=categories, speed_kmh=speed, minutes=minutes), catalogue, profiles


def _check_governance_options(options: RunOptions) -> None:
    """``--units`` replaces ``--communities``; ``--thresholds`` and ``--indicators`` parse."""
    if options.units and options.communities is not None:
        raise OptionError("Give either --communities (one level) or --units (the levels, lowest last), not both.")
    for spec in options.units or ():
        _existing(parse_unit_spec(spec).path, "--units")
    if options.thresholds is not None:
        parse_thresholds(options.thresholds)
    if options.indicators is not None:
        _existing(options.indicators, "--indicators")
        load_indicators(options.indicators)


def _check_population_controls(options: RunOptions) -> None:
    """``--population-total`` / ``--population-totals`` need people to rescale, and only one of them."""
    if options.population_total is None and options.population_totals is None:
        return
    which = "--population-total" if options.population_total is not None else "--population-totals"
    if options.population is None:
        raise OptionError(f"{which} rescales a population input: pass --population too.")
    if options.population_total is not None and options.population_totals is not None:
        raise OptionError("Give only one of --population-total and --population-totals.")
    if options.population_total is not None:
        _positive(options.population_total, "--population-total")


def check_inputs(options: RunOptions) -> tuple[RunOptions, InputLayers]:
    """:func:`validate_options`, then :func:`read_inputs`, reading the catalogue and profiles once.

    Parameters
    ----------
    options : RunOptions
        The run's options.

    Returns
    -------
    options : RunOptions
        With defaults resolved.
    inputs : InputLayers
        The input files read and checked.
    """
    checked, catalogue, profiles = _validated(options)
    return checked, read_inputs(checked, catalogue=catalogue, profiles=profiles)


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
    population_totals : lifecircle.layers.population.PopulationTotals or None
    catalogue : lifecircle.layers.catalogue.Catalogue or None
        The category catalogue (bundled plus ``--catalogue``), read once for the run.
    profiles : dict of str to WalkingProfile or None
        The walking profiles (bundled plus ``--profiles``), read once for the run.
    units : tuple of lifecircle.layers.units.UnitLevel or None
        ``--units``, top level first; ``communities`` is then the lowest level.
    """

    boundary: Any = None
    facilities: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    population: Any = None
    population_totals: Any = None
    catalogue: Any = None
    profiles: Any = None
    units: Any = None


def read_inputs(options: RunOptions, *, catalogue: Any = None, profiles: Any = None) -> InputLayers:
    """Read and check the boundary, facilities, communities and population files, and the
    DEM's header, before the OSM data is read: a bad file fails in seconds, not after the run.

    With a boundary, the grid's memory is estimated here too. The category catalogue and the
    walking profiles are read here, once for the run.

    Parameters
    ----------
    options : RunOptions
        Checked (:func:`validate_options`).
    catalogue, profiles : optional
        Already read (:func:`check_inputs`); read here otherwise.

    Returns
    -------
    InputLayers
        The input files read: boundary, facilities, communities, population, catalogue, profiles.

    Raises
    ------
    BoundaryError, FacilitiesFileError, UnknownCategoryError, NoCrsError, CommunitiesError,
    PopulationError, DemError, MemoryBudgetError
        An input file that cannot be used (the message names the file and option).
    OptionError
        ``--capacity`` names a category or column found nowhere.
    """
    if catalogue is None:
        catalogue = load_catalogue(extra=options.catalogue)
    if profiles is None:
        profiles = load_profiles(extra=options.profiles) if options.profiles else load_profiles()
    boundary = facilities = communities = population = None
    if options.boundary is not None:
        boundary = _boundary(options.boundary)
        c = gpd.GeoSeries([boundary.geometry], crs=boundary.crs).to_crs(4326).iloc[0].centroid
        metric = gpd.GeoSeries([boundary.geometry], crs=boundary.crs).to_crs(utm_crs_for(c.x, c.y)).iloc[0]
        check_boundary_grid_budget(metric, options, boundary)
    if options.facilities is not None:
        facilities = read_facilities_file(
            options.facilities, catalogue=catalogue,
            crs_hint=options.facilities_crs)
    if options.communities is not None:
        communities = read_communities(options.communities)
    levels = read_unit_levels(list(options.units)) if options.units else None
    if levels:
        communities = levels[-1].units[["name", "code", "geometry"]]
    if options.population is not None:
        population = read_population(options.population)
    totals = None
    if options.population_totals is not None:
        totals = read_population_totals(options.population_totals)
        if totals.units is None and communities is None:
            raise OptionError(f"--population-totals {str(options.population_totals)!r} names units without "
                              "outlines: pass --communities with those names, or give the units as polygons.")
    if options.dem is not None:
        _check_dem_header(options.dem)
    return InputLayers(boundary=boundary, facilities=facilities, communities=communities, population=population,
                       population_totals=totals, catalogue=catalogue, profiles=profiles, units=levels)


def _check_dem_header(path: str | Path) -> None:
    """The DEM opens as a raster and has a CRS (its pixels are read later, around the network)."""
    try:
        with rasterio.open(path) as src:
            crs = src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise DemError(f"--dem {str(path)!r} is not a readable raster: {exc}. Expected a GeoTIFF.") from exc
    if crs is None:
        raise DemError(f"DEM {str(path)!r} has no CRS: expected a GeoTIFF with a coordinate reference system.")



def load_extract(options: RunOptions) -> OsmExtract:
    """Read the OSM data: a local file, or a download by place name / bbox through osmnx.

    Parameters
    ----------
    options : RunOptions
        Checked (:func:`validate_options`): ``osm``, ``place`` or ``bbox``.

    Returns
    -------
    OsmExtract
        The OSM data of ``--osm``, ``--place`` or ``--bbox`` (the bundled sample without any).
    """
    if options.place is not None or options.bbox is not None:
        return download_extract(place=options.place, bbox=options.bbox)
    return read_osm(options.osm if options.osm is not None else default_sample_path())


def boundary_label(boundary: Any) -> str:
    """How messages and the run record name a boundary: its path, or what object it is.

    Parameters
    ----------
    boundary : path, geopandas.GeoDataFrame, shapely geometry or None
        The ``--boundary`` value: a path, a GeoDataFrame, a shapely geometry, or None for none.

    Returns
    -------
    str
        A short name for messages and the run record (the file name, or what was given).

    Examples
    --------
    >>> import shapely
    >>> boundary_label("district.geojson"), boundary_label(shapely.box(0, 0, 1, 1))
    ('district.geojson', '<Polygon>')
    """
    if boundary is None or isinstance(boundary, (str, Path)):
        return str(boundary)
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        return f"<{type(boundary).__name__} of {len(boundary)} rows>"
    return f"<{getattr(boundary, 'geom_type', type(boundary).__name__)}>"


def _boundary(boundary: Any) -> Any:
    """The boundary as a :class:`lifecircle.layers.communities.Boundary` (polygon and CRS)."""
    if isinstance(boundary, (str, Path)):
        return read_boundary(boundary)
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        if boundary.crs is None:
            raise NoCrsError("boundary GeoDataFrame has no CRS; set one (e.g. gdf.set_crs(4326)).")
        geoms = boundary.geometry if isinstance(boundary, gpd.GeoDataFrame) else boundary
        polygons = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(polygons) == 0:
            raise OptionError(f"boundary holds no polygon; found {sorted(set(geoms.geom_type))}.")
        return Boundary(shapely.union_all(polygons.to_numpy()), pyproj.CRS.from_user_input(boundary.crs))
    if isinstance(boundary, shapely.Geometry):
        if boundary.geom_type not in ("Polygon", "MultiPolygon") or boundary.is_empty:
            raise OptionError(f"boundary must be a polygon in longitude/latitude; found {boundary.geom_type}.")
        return Boundary(boundary, pyproj.CRS.from_epsg(4326))
    raise OptionError(
        f"boundary must be a polygon file, a GeoDataFrame or a shapely polygon; found {type(boundary).__name__}."
    )


def check_boundary_grid_budget(area: Any, options: RunOptions, boundary: Any) -> None:
    """:func:`~lifecircle.spatial.grid.check_grid_budget` for a run's study area.

    Names a stray or wrong boundary coordinate as the cause where there is one (rather
    than asking for a larger ``--cell-size``).

    Parameters
    ----------
    area : shapely.Geometry
        The study area, metric CRS.
    options : RunOptions
        The run's options (``cell_size_m``, ``boundary``).
    boundary : Boundary or None
        The boundary as read, to look for stray parts.

    Raises
    ------
    BoundaryError
        A boundary part lies far from the others, or one polygon spans a continent.
    MemoryBudgetError
        The grid would not fit in memory otherwise.
    """
    # A stray part or a wrong coordinate is named as such, whether or not the grid would fit:
    # the grid now counts cells from the area, and a study area 1,000 km wide is an error.
    far = far_boundary_parts(boundary) if isinstance(boundary, Boundary) else None
    if far is not None:
        raise BoundaryError(f"--boundary {boundary_label(options.boundary)!r}: {far}? That stretches the study "
                            "area too far: remove the stray part or fix its coordinates.")
    check_grid_budget(area, cell_size_m=options.cell_size_m, available_bytes=available_memory_bytes(),
                      fraction=settings.memory_fraction)


def input_warnings(inputs: InputLayers, *, categories: Any, reach_area: Any, crs: Any,
                   facilities_path: Any) -> tuple[dict[str, Any], ...]:
    """What the input checks let through with a warning, for ``run.json``.

    Population rows dropped, facilities outside the area; raises where nothing usable is
    left.

    Parameters
    ----------
    inputs : InputLayers
        The inputs as read (:func:`read_inputs`).
    categories : sequence of str
        The run's categories.
    reach_area : shapely.Geometry
        The study area plus the walking reach, in ``crs``.
    crs : pyproj.CRS
        The run's metric CRS.
    facilities_path : str or pathlib.Path, optional
        The ``--facilities`` file (None: no user facilities to check).

    Returns
    -------
    tuple of dict
        One record per warning (``input`` and what was found).

    Raises
    ------
    FacilitiesFileError
        None of the user's facilities of the run's categories is within reach.

    Examples
    --------
    >>> from lifecircle.testing import small_model
    >>> model = small_model()
    >>> input_warnings(check_inputs(model.options)[1], categories=model.categories, reach_area=model.area, crs=model.crs,
    ...                facilities_path=None)
    ()
    """
    out: list[dict[str, Any]] = []
    if inputs.population is not None and getattr(inputs.population, "dropped_rows", None):
        out.append({"input": "--population", "rows_dropped_without_population": inputs.population.dropped_rows})
    if inputs.facilities is not None and facilities_path is not None:
        far = check_facilities_near_area(inputs.facilities, categories=categories, reach_area=reach_area, crs=crs,
                                         path=facilities_path)
        out.extend([far] if far else [])
    return tuple(out)
