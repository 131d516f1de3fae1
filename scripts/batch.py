"""``lifecircle batch``: every area of a polygon file (districts, counties) as its own run, on Dask.

Each area is the boundary of one normal run (network and facilities from the threshold's
reach beyond its border); the results land in ``--out/areas/area=<key>/`` and are merged
into ranked gap lists, ``run.json`` with every area's status, and an index ``map.html``
(:mod:`lifecircle.batch`).

Registered on the ``lifecircle`` command by :mod:`lifecircle.scripts.cli`::

    batch_cmd.add_parser(sub)                        # in build_parser()
    if args.command == "batch":                      # in main()
        return batch_cmd.main(args)
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from lifecircle._errors import OptionError
from lifecircle.scripts.arguments import add_common_arguments, add_format_argument, options_from_args

__all__ = ["add_parser", "main"]

log = logging.getLogger(__name__)


def _whole(name: str, low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number >= {low}; found {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number >= {low}; found {value}")
        return value
    return parse


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``lifecircle batch`` to the command's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> args = add_parser(sub).parse_args(["--units", "districts.gpkg", "--workers", "4"])
    >>> str(args.batch_units), args.workers, args.formats, args.retries
    ('districts.gpkg', 4, ('parquet',), 1)
    """
    # "resolve": here --units names the areas, replacing the governance levels' --units of
    # `lifecircle run` (each area's run then has no governance levels).
    p = sub.add_parser("batch", help="one run per area of a polygon file (districts) on Dask, merged into one set",
                       conflict_handler="resolve")
    add_common_arguments(p)
    add_format_argument(p, default="parquet")
    areas = p.add_argument_group("areas and workers")
    areas.add_argument("--units", dest="batch_units", type=Path, required=True, metavar="FILE",
                       help="polygons, one per area (GeoPackage, GeoJSON, shapefile), e.g. districts.gpkg")
    areas.add_argument("--name-column", help="column naming each area (default: name)")
    areas.add_argument("--code-column", help="column coding each area, used for its folder (default: code)")
    areas.add_argument("--areas", type=lambda t: [v.strip() for v in t.split(",") if v.strip()],
                       help="only these areas: comma-separated names or codes (default: all)")
    areas.add_argument("--workers", type=_whole("--workers", 1), default=2,
                       help="workers of the local Dask cluster (default 2)")
    areas.add_argument("--scheduler", metavar="ADDRESS",
                       help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786, instead of a local cluster")
    areas.add_argument("--retries", type=_whole("--retries", 0), default=1,
                       help="extra attempts for an area that fails (default 1)")
    areas.add_argument("--resume", action="store_true",
                       help="keep areas already complete in --out for the same options and outline")
    areas.add_argument("--no-area-maps", action="store_true", help="no map.html per area (the index map stays)")
    return p


def main(args: argparse.Namespace) -> int:
    """Run ``lifecircle batch``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by the parser of :func:`add_parser`.

    Returns
    -------
    int
        0 when every area is done, 1 when some failed (each reported).

    Raises
    ------
    OptionError
        No ``--osm`` (and any bad option, before a job starts).
    """
    from lifecircle.batch import read_areas, run_batch  # noqa: PLC0415 - --help answers without loading dask

    if not args.verbose:  # the cluster's own chatter (workers starting, closing) only with -v
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.WARNING if not args.quiet else logging.ERROR)
    if args.osm is None:
        raise OptionError("lifecircle batch needs --osm: a local OSM file covering every area and its surroundings.")
    areas = read_areas(args.batch_units, name_column=args.name_column, code_column=args.code_column, only=args.areas)
    result = run_batch(areas, options=options_from_args(args), out_dir=args.out, workers=args.workers,
                       scheduler=args.scheduler, retries=args.retries, resume=args.resume, formats=args.formats,
                       lang=args.lang, area_maps=not args.no_area_maps)
    for area in result.areas:
        how = "kept" if area.get("resumed") else f"{area.get('attempts', 0)} attempt(s)"
        if area["status"] == "done":
            print(f"  {area['name']} ({area['code']}): done, {area.get('cells', 0):,} cells, "
                  f"{area.get('underserved_cells', 0):,} under-served; {how}")
        else:
            print(f"  {area['name']} ({area['code']}): FAILED after {how}: {area.get('error', '')}")
    done = len(result.areas) - len(result.failed)
    print(f"{done} of {len(result.areas)} areas done in {result.seconds:.1f} s. "
          f"Files: {', '.join(str(p) for p in result.paths.values())}")
    return 1 if result.failed else 0
