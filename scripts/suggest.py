"""``lifecircle suggest``: where the next facilities of a category should go.

Runs the main job with the usual options, then chooses ``--count`` sites that bring the
most not-yet-served people within the threshold (greedy maximal covering, existing
facilities fixed; :func:`lifecircle.planning.suggest`), and writes ``sites.gpkg`` and
``sites.csv`` (UTF-8 with BOM, for Excel) into ``--out``, atomically, with the sites as a
plan file (``sites_plan.geojson``, :func:`lifecircle.scenario.sites_plan`) to edit and run
again with ``lifecircle run ... --scenario``.

Registered on the ``lifecircle`` command by :mod:`lifecircle.scripts.cli`::

    from lifecircle.scripts import suggest as suggest_cmd
    suggest_cmd.add_parser(sub)                      # in build_parser()
    ...
    if args.command == "suggest":                    # in main()
        return suggest_cmd.main(args)
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from lifecircle._errors import OptionError
from lifecircle.scripts.arguments import add_common_arguments, add_small_site_arguments, options_from_args

__all__ = ["SITE_FILES", "add_parser", "main"]

log = logging.getLogger(__name__)

#: The files ``lifecircle suggest`` writes.
SITE_FILES: tuple[str, ...] = ("sites.gpkg", "sites.csv", "sites_plan.geojson")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--count must be a whole number >= 1; found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--count must be a whole number >= 1; found {text!r}")
    return value


def _spacing(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--spacing must be metres > 0; found {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--spacing must be metres > 0; found {text!r}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``lifecircle suggest`` (with every option of ``lifecircle run``).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``lifecircle`` parser's subcommands.

    Returns
    -------
    argparse.ArgumentParser
        The ``suggest`` parser (``command="suggest"`` once parsed).

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="lifecircle")
    >>> _ = add_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["suggest", "--category", "clinic", "--count", "3"])
    >>> args.command, args.category, args.count
    ('suggest', 'clinic', 3)
    """
    p = subparsers.add_parser(
        "suggest",
        help="propose new sites for a category that serve the most people not yet within the threshold",
        description="Greedy maximal covering: each site adds the most newly served people, existing facilities "
                    "fixed. Writes sites.gpkg and sites.csv to --out.",
    )
    site = p.add_argument_group("sites")
    site.add_argument("--category", required=True, help="category to site, e.g. clinic")
    site.add_argument("--count", type=_count, default=5, help="number of sites (default 5)")
    site.add_argument("--candidates", type=Path,
                      help="available plots: GeoPackage/GeoJSON (points or polygons) or CSV lon/lat; "
                           "default: street-network nodes")
    site.add_argument("--candidates-crs", choices=["wgs84", "gcj02", "bd09"],
                      help="coordinates of --candidates (Amap/Gaode: gcj02, Baidu: bd09)")
    site.add_argument("--spacing", type=_spacing,
                      help="with network-node candidates, keep one node per square of this many metres")
    add_small_site_arguments(p)
    add_common_arguments(p)
    p.set_defaults(command="suggest")
    return p


def _for_file(sites):
    out = sites.to_crs(4326)
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None else str(v))
    return out


def _small_site_options(args: argparse.Namespace) -> dict:
    """The small-site constraints given (empty: the plain greedy search)."""
    given = {"min_area_m2": getattr(args, "min_area", None), "min_spacing_m": getattr(args, "min_spacing", None),
             "capacity": getattr(args, "site_capacity", None)}
    return {k: v for k, v in given.items() if v is not None} and given


def _labelled(sites, lang: str):
    """Sites with ``label`` (园1 / P1) in the language of the run, first after the category."""
    column = f"label_{lang}"
    if column not in sites.columns:
        return sites
    out = sites.drop(columns=[c for c in ("label_zh", "label_en") if c in sites.columns])
    out.insert(1, "label", sites[column].to_numpy())
    out.attrs = dict(sites.attrs)
    return out


def _figure_files(args: argparse.Namespace) -> tuple[str, ...]:
    """The figure files ``--figures`` writes (none without it)."""
    if not getattr(args, "figures", False):
        return ()
    from lifecircle.report_figures import figure_names  # noqa: PLC0415 - --help answers without matplotlib

    return tuple(figure_names([args.category]))


def _write_figures(args: argparse.Namespace, result: Any, sites: Any, stage: Path) -> None:
    """The category's map with its numbered sites, and the chart of shares, into the staging folder."""
    from types import SimpleNamespace  # noqa: PLC0415 - only figures need it

    from lifecircle.outputs import category_labels  # noqa: PLC0415 - --help answers without loading the pipeline
    from lifecircle.report_figures import write_figures  # noqa: PLC0415 - --help answers without matplotlib

    write_figures(result, stage, lang=args.lang, labels=category_labels(args.catalogue),
                  plan=SimpleNamespace(sites=sites), categories=[args.category])


def main(args: argparse.Namespace) -> int:
    """Run the job, suggest sites, write ``sites.gpkg`` / ``sites.csv``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by the parser of :func:`add_parser`.

    Returns
    -------
    int
        The exit status (0).

    Raises
    ------
    OptionError
        ``--spacing`` together with ``--candidates``.
    LifecircleError
        Any bad input (the ``lifecircle`` entry point prints it and exits with 2).
    """
    import pandas as pd  # noqa: PLC0415 - --help answers without loading pandas
    import pyogrio  # noqa: PLC0415 - --help answers without loading GDAL

    from lifecircle.outputs import atomic_staging, check_output_folder, writing  # noqa: PLC0415 - --help answers without loading the pipeline
    from lifecircle.pipeline import run  # noqa: PLC0415 - --help answers without loading the pipeline
    from lifecircle.planning import read_candidates, suggest  # noqa: PLC0415 - --help answers without loading the pipeline
    from lifecircle.scenario import sites_plan  # noqa: PLC0415 - --help answers without loading the pipeline
    from lifecircle.spreadsheets import write_csv  # noqa: PLC0415 - --help answers without loading the pipeline

    check_output_folder(args.out)
    if getattr(args, "figures", False):
        from lifecircle.report_figures import check_figures  # noqa: PLC0415 - --help answers without matplotlib

        check_figures(args.lang)  # a missing CJK font fails now, not after the run
    if args.candidates is not None and args.spacing is not None:
        raise OptionError("--spacing thins network-node candidates; it cannot be used with --candidates.")
    if _small_site_options(args) and args.spacing is not None:
        raise OptionError("--spacing thins network-node candidates; small sites (--min-area, --min-spacing, "
                          "--site-capacity) are plots: use --min-spacing between sites instead.")
    if isinstance(args.site_capacity, str) and args.candidates is None:
        raise OptionError(f"--site-capacity {args.site_capacity!r} names a column: it needs --candidates.")
    candidates = None
    if args.candidates is not None:
        hint = None if args.candidates_crs in (None, "wgs84") else args.candidates_crs
        candidates = read_candidates(args.candidates, crs_hint=hint)  # checked before the long run
    options = options_from_args(args)
    # The category must be computed to know who is already served; without --categories only it.
    cats = tuple(options.categories or ())
    options = replace(options, categories=cats if args.category in cats else (*cats, args.category))
    result = run(options)
    small = _small_site_options(args)
    if small:
        from lifecircle.planning import suggest_small_sites  # noqa: PLC0415 - --help answers without loading the pipeline

        sites = suggest_small_sites(result, category=args.category, count=args.count, candidates=candidates, **small)
    else:
        sites = suggest(result, category=args.category, count=args.count, candidates=candidates,
                        spacing_m=args.spacing)
    labelled, sites = sites, _labelled(sites, args.lang)

    files = _for_file(sites)
    table = pd.DataFrame(files.drop(columns=files.geometry.name))
    table["lon"] = files.geometry.representative_point().x.round(6)
    table["lat"] = files.geometry.representative_point().y.round(6)
    figure_files = _figure_files(args)
    with atomic_staging(args.out, replaces=(*SITE_FILES, *figure_files)) as stage:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
        files.to_file(writing(stage / "sites.gpkg"), layer="sites", driver="GPKG", engine="pyogrio")
        write_csv(table, writing(stage / "sites.csv"))
        if len(sites):  # the sites as a plan to edit and run: lifecircle run ... --scenario sites_plan.geojson
            sites_plan(sites, writing(stage / "sites_plan.geojson"))
        if figure_files:
            _write_figures(args, result, labelled, stage)

    _report(sites, table, args, minutes=options.minutes, figure_files=figure_files)
    return 0


def _report(sites: Any, table: Any, args: argparse.Namespace, *, minutes: float,
            figure_files: tuple[str, ...] = ()) -> None:
    """Print who the sites serve and where the files are."""
    a = sites.attrs
    print(f"{args.category}: {a['people_served_before']:,.0f} of {a['people']:,.0f} people within "
          f"{minutes:g} min now; {len(sites)} sites from {a['candidates']:,} candidates:")
    for row in table.itertuples(index=False):
        print(f"  site {row.label}: +{row.marginal_gain:,.0f} people (total +{row.cumulative:,.0f}) "
              f"at {row.lon:.6f}, {row.lat:.6f}")
    if len(sites) < args.count:
        print(f"  only {len(sites)} of {args.count} sites: no other candidate serves anyone new")
    names = (*SITE_FILES[:2], *(SITE_FILES[2:] if len(sites) else ()), *figure_files)
    print(f"After: {a['people_served_after']:,.0f} people ({a['people_served_after'] / max(a['people'], 1e-12):.1%}). "
          f"Files: {', '.join(str(Path(args.out) / n) for n in names)}")
