"""The options shared by every ``lifecircle`` command, and the run options they make."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lifecircle import settings
from lifecircle._errors import OptionError, shorten
from lifecircle.layers.catalogue import load_catalogue, select
from lifecircle.options import RunOptions

__all__ = ["add_common_arguments", "add_format_argument", "options_from_args", "add_scenario_argument"]


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--bbox must be W,S,E,N numbers; found {shorten(text)}") from None
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"--bbox must have 4 numbers W,S,E,N; found {shorten(text)}")
    west, south, east, north = parts
    return west, south, east, north


def _out_folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected the path of an output folder; found {text!r}")
    return Path(text)


def _categories(text: str) -> list[str]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        defaults = ",".join(c.name for c in select(load_catalogue(), None))
        raise argparse.ArgumentTypeError(f"names no category; expected a comma-separated list such as "
                                         f"{defaults}, found {shorten(text)}")
    return names


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Add the data, analysis and output options shared by ``lifecircle run`` and ``lifecircle suggest``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser, changed in place: argument groups ``data``, ``analysis`` and
        ``output``, the governance options, ``--quiet`` and ``--verbose``. Analysis options left
        out parse as None (filled by :func:`options_from_args`); ``--out`` defaults to ``out``
        and ``--lang`` to ``zh``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="lifecircle run")
    >>> add_common_arguments(parser)
    >>> args = parser.parse_args(["--minutes", "10", "--categories", "clinic,school"])
    >>> args.minutes, args.categories, args.cell_size, str(args.out), args.lang
    (10.0, ['clinic', 'school'], None, 'out', 'zh')
    """
    src = p.add_argument_group("data")
    src.add_argument("--osm", type=Path, help="local OSM file (.osm.pbf, .osm, .osm.bz2, .osm.gz); default: bundled Helsinki sample")
    src.add_argument("--place", help='place name to download through osmnx (online), e.g. "渝中区, 重庆市"')
    src.add_argument("--bbox", type=_bbox, help="W,S,E,N in degrees to download through osmnx (online)")
    src.add_argument("--boundary", type=Path, help="polygon file clipping the study area")
    src.add_argument("--communities", type=Path, help="community (社区) polygons with a name column")
    src.add_argument("--population", type=Path, help="CSV lon/lat/population points, GeoTIFF raster, or polygons with totals")
    src.add_argument("--population-total", type=float, metavar="N",
                     help="people in the study area (e.g. the district's census figure): rescale --population to it")
    src.add_argument("--population-totals", type=Path, metavar="FILE",
                     help="people per unit (CSV/XLSX with name or code + total, matched to --communities; or "
                          "polygons with a total): rescale --population within each unit")
    src.add_argument("--facilities", type=Path, help="extra facilities: CSV lon/lat (or a location lng,lat column), GeoJSON or GeoPackage with a "
                     "category column, or an Amap/Baidu POI export with type/typecode columns")
    src.add_argument("--facilities-crs", choices=["wgs84", "gcj02", "bd09"], help="coordinates of --facilities (Amap/Gaode: gcj02, Baidu: bd09)")
    src.add_argument("--catalogue", type=Path, help="extra facility-category catalogue (YAML)")
    src.add_argument("--dem", type=Path, help="elevation GeoTIFF for terrain-aware walking")
    src.add_argument("--profiles", type=Path, help="extra walking-profile catalogue (YAML)")
    src.add_argument("--dem-vertical-error", type=float, metavar="METRES",
                     help="vertical error of --dem: rises and falls smaller than this are noise (default 6, "
                          "SRTM's measured 90%% error for Eurasia, Rodriguez et al. 2006; about 0.5 for lidar)")
    opt = p.add_argument_group("analysis")
    # Defaults stay None here and are filled when the run's options are made (lifecircle.settings,
    # the catalogue's default categories, the profile's speed).
    opt.add_argument("--categories", type=_categories,
                     help="comma-separated categories (default: those marked default in the catalogue)")
    opt.add_argument("--profile", help=f"walking profile: adult, elderly, wheelchair, ... (default {settings.profile})")
    opt.add_argument("--speed", type=float, help="flat walking speed, km/h (default: the profile's flat_speed_kmh)")
    opt.add_argument("--minutes", type=float, help=f"walking-time threshold (default {settings.threshold_minutes:g})")
    opt.add_argument("--cell-size", type=float, help=f"grid cell size, metres (default {settings.cell_size_m:g})")
    opt.add_argument("--max-access", type=float, help="cells farther than this from any walkable way have no access, "
                     f"metres (default {settings.max_access_distance_m:g})")
    opt.add_argument("--isochrone-buffer", type=float, help=f"metres (default {settings.isochrone_buffer_m:g})")
    opt.add_argument("--coverage-target", type=float,
                     help="share of a community's people within the threshold for it to 'have' a category "
                          f"(default {settings.coverage_target:g})")
    opt.add_argument("--road-tunnels", choices=["closed", "walk"], default="closed",
                     help="road tunnels without foot/sidewalk tags: closed to walkers (default) or walked")
    opt.add_argument("--foot-no", choices=["honour", "ignore"], default="honour",
                     help="foot=no on surface streets: honour (default) or walk them anyway")
    opt.add_argument("--gates", choices=["open", "closed"], default="open",
                     help="barrier=gate|lift_gate: open (default) or closed to through walkers")
    opt.add_argument("--measure-choices", action="store_true",
                     help="repeat the search with each of --road-tunnels/--foot-no/--gates flipped; shares in run.json")
    iso = opt.add_mutually_exclusive_group()
    iso.add_argument("--facility-isochrones", action="store_true",
                     help="also one isochrone per facility (default: only the category unions)")
    iso.add_argument("--no-facility-isochrones", action="store_true", help="only the category unions (the default)")
    out = p.add_argument_group("output")
    out.add_argument("--out", type=_out_folder, default=Path("out"), help="output folder (default out/)")
    out.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the map and gap lists (default zh)")
    out.add_argument("--basemap", choices=["none", "osm", "tianditu", "gaode"], default="none",
                     help="map background (default none: offline, the street network)")
    out.add_argument("--tianditu-key", help="your Tianditu key for --basemap tianditu")
    _add_governance_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """The run options of parsed command-line arguments.

    Options left out keep :class:`~lifecircle.options.RunOptions`' defaults
    (:mod:`lifecircle.settings` as it is when the options are made).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser with :func:`add_common_arguments` (``--population-total``,
        ``--population-totals`` and ``--dem-vertical-error`` may be absent).

    Returns
    -------
    RunOptions
        The options of the run; ``speed_kmh`` None (not given) means the profile's flat speed.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="lifecircle run")
    >>> add_common_arguments(parser)
    >>> options = options_from_args(parser.parse_args(["--minutes", "10"]))
    >>> options.minutes, options.cell_size_m, options.profile
    (10.0, 100.0, 'adult')
    """
    defaulted = {"cell_size_m": args.cell_size, "minutes": args.minutes, "max_access_m": args.max_access,
                 "isochrone_buffer_m": args.isochrone_buffer, "coverage_target": args.coverage_target,
                 "profile": args.profile}
    return RunOptions(
        osm=args.osm, place=args.place, bbox=args.bbox, boundary=args.boundary, communities=args.communities,
        population=args.population, population_total=getattr(args, "population_total", None),
        population_totals=getattr(args, "population_totals", None), facilities=args.facilities, facilities_crs=args.facilities_crs,
        categories=args.categories, catalogue=args.catalogue, speed_kmh=args.speed, profiles=args.profiles,
        dem=args.dem, facility_isochrones=args.facility_isochrones,
        road_tunnels=args.road_tunnels, foot_no=args.foot_no, gates=args.gates,
        measure_choices=args.measure_choices,
        **({} if getattr(args, "dem_vertical_error", None) is None else {"dem_vertical_error_m": args.dem_vertical_error}),
        **_governance_options(args),
        **{k: v for k, v in defaulted.items() if v is not None},
    )


# --------------------------------------------------------------------------- governance levels, thresholds, indicators


def _unit_spec(text: str) -> str:
    """``FILE[:key=value,...]``, its syntax checked now (files are read with the inputs)."""
    from lifecircle._errors import OptionError  # noqa: PLC0415 - light; kept beside its one use
    from lifecircle.layers.units import parse_unit_spec  # noqa: PLC0415 - --help answers without loading geopandas

    try:
        parse_unit_spec(text)
    except OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--units ")) from None
    return text


def _add_governance_arguments(p: argparse.ArgumentParser) -> None:
    """``--units``, ``--thresholds`` and ``--indicators``."""
    gov = p.add_argument_group("governance levels, thresholds and indicators")
    gov.add_argument("--units", type=_unit_spec, action="append", metavar="FILE[:KEY=VALUE,...]",
                     help="one polygon file per governance level, top level first (street, then community); keys: "
                          "level=KEY, label=TEXT, name=COLUMN, code=COLUMN, parent=COLUMN (the parent's code), "
                          "parent_name=COLUMN (one file making two levels). Replaces --communities")
    gov.add_argument("--thresholds", metavar="CAT=T,...;CAT=T,...",
                     help='each category\'s own thresholds, minutes or metres: "clinic=5,10,15;park=300m,500m" '
                          "(metres converted at the walker's flat speed)")
    gov.add_argument("--indicators", type=Path, metavar="FILE",
                     help="a city's own indicators (YAML), added to the bundled life-circle presets")


def _governance_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"units": tuple(getattr(args, "units", None) or ()), "thresholds": getattr(args, "thresholds", None),
            "indicators": getattr(args, "indicators", None)}


def add_publishing_arguments(p: argparse.ArgumentParser) -> None:
    """Add the report-figure and database options of ``lifecircle run``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The ``run`` parser; ``--figures``, ``--to-postgis`` and ``--schema`` go into one
        argument group (checked before the run by
        :func:`lifecircle.scripts.publish.check_run_options`).
    """
    pub = p.add_argument_group("figures and publishing")
    pub.add_argument("--figures", action="store_true",
                     help="also write print-ready figures per category (A3 PNG and PDF) and a chart of shares "
                          "per unit into --out/figures-*.{png,pdf}")
    pub.add_argument("--to-postgis", metavar="URL",
                     help="after writing --out, publish every layer into PostGIS (postgresql://[user@]host/db); "
                          "re-publishing a run replaces its rows. Put the password in PGPASSWORD or ~/.pgpass")
    pub.add_argument("--schema", default="lifecircle", help="database schema of --to-postgis (default lifecircle)")


def _positive_number(option: str, unit: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be {unit} > 0; found {shorten(text)}") from None
        if not (value > 0 and value < float("inf")):
            raise argparse.ArgumentTypeError(f"{option} must be {unit} > 0; found {shorten(text)}")
        return value
    return parse


def _capacity_value(text: str) -> float | str:
    try:
        value = float(text)
    except ValueError:
        if not text.strip():
            raise argparse.ArgumentTypeError("--site-capacity must be people > 0 or a column of --candidates; "
                                             "found ''") from None
        return text.strip()
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"--site-capacity must be people > 0 or a column of --candidates; "
                                         f"found {shorten(text)}")
    return value


def add_small_site_arguments(p: argparse.ArgumentParser) -> None:
    """Add the small-site options of ``lifecircle suggest`` (pocket parks and other small plots).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The ``suggest`` parser; ``--min-area`` (m²) and ``--min-spacing`` (m) must be numbers
        > 0, ``--site-capacity`` people > 0 or a column name, checked as they are parsed.
    """
    small = p.add_argument_group("small sites (pocket parks)")
    small.add_argument("--min-area", type=_positive_number("--min-area", "square metres"), metavar="M2",
                       help="only plots of at least this area (polygons); without --candidates the plots are OSM "
                            "open land: landuse=brownfield|greenfield|grass|vacant not in use")
    small.add_argument("--min-spacing", type=_positive_number("--min-spacing", "metres"), metavar="METRES",
                       help="no two suggested sites closer than this (edge to edge)")
    small.add_argument("--site-capacity", type=_capacity_value, metavar="PEOPLE|COLUMN",
                       help="people one site can newly serve (nearest first): a number, or a column of --candidates")
    small.add_argument("--figures", action="store_true",
                       help="also an A3 map of the category with the numbered sites and a chart of shares "
                            "(figure_<category>.png/.pdf, figure_shares.png/.pdf)")


def add_scenario_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--scenario PLAN`` (``lifecircle run``): a plan file whose changes are measured
    against the run (:mod:`lifecircle.layers.plans`).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The ``run`` parser; ``--scenario`` is parsed as a path (``None`` when not given).
    """
    p.add_argument_group("plans and scenarios").add_argument(
        "--scenario", type=Path, metavar="PLAN",
        help="plan file (GeoJSON, GeoPackage or YAML): facilities added/removed, new links (stairway, lift, "
             "footbridge, passage), closed ways/gates, new housing; writes the change per cell and community "
             "(change_*.csv, change.html, a change sheet in gaps.xlsx)")


def _formats(text: str) -> tuple[str, ...]:
    from lifecircle.columnar import parse_formats  # noqa: PLC0415 - --help answers without loading geopandas

    try:
        return parse_formats(text)
    except OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--format ")) from None


def add_format_argument(p: argparse.ArgumentParser, *, default: str = "gpkg") -> None:
    """``--format``: the result layers as a GeoPackage, GeoParquet files, or both.

    Parameters
    ----------
    p : argparse.ArgumentParser
    default : str
        ``gpkg``, ``parquet`` or ``gpkg,parquet``.
    """
    p.add_argument("--format", dest="formats", type=_formats, default=tuple(default.split(",")), metavar="FORMATS",
                   help=f"result layers as gpkg (results.gpkg), parquet (cells/communities/facilities/gap_areas "
                        f".parquet, GeoParquet for DuckDB/QGIS/geopandas) or gpkg,parquet (default {default})")
