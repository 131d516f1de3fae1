"""``lifecircle compare BEFORE_DIR AFTER_DIR --out DIR``: what changed between two runs.

Reads two output folders of ``lifecircle run`` on the same grid (same study area and cell
size; refused otherwise) and writes the change tables and the change map
(:func:`lifecircle.scenario.compare_outputs`): ``change_cells.csv``,
``change_communities.csv``, ``change.html``, ``changes.xlsx`` and ``compare.json``, atomically.

Registered on the ``lifecircle`` command by :mod:`lifecircle.scripts.cli`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["COMPARE_FILES", "add_parser", "main"]

#: The files ``lifecircle compare`` writes.
COMPARE_FILES: tuple[str, ...] = ("change_cells.csv", "change_communities.csv", "change.html", "changes.xlsx",
                                  "compare.json")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``lifecircle compare``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``lifecircle`` command's subcommands.

    Returns
    -------
    argparse.ArgumentParser
        The ``compare`` parser; its namespace has ``command == "compare"``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="lifecircle")
    >>> _ = add_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["compare", "before", "after", "--out", "change", "--lang", "en"])
    >>> args.command, str(args.before), str(args.out), args.lang
    ('compare', 'before', 'change', 'en')
    """
    p = subparsers.add_parser(
        "compare", help="compare two output folders (before and after a plan) on the same grid",
        description="Per cell and community: the change in minutes, share within the threshold and people newly "
                    "within it, from two runs' output folders on the same grid. Writes the change tables and map.")
    p.add_argument("before", type=Path, metavar="BEFORE_DIR", help="output folder of the run before")
    p.add_argument("after", type=Path, metavar="AFTER_DIR", help="output folder of the run after")
    p.add_argument("--out", type=Path, required=True, help="folder for the change tables and map")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the tables and map (default zh)")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(command="compare")
    return p


def main(args: argparse.Namespace) -> int:
    """Compare, write the files, print the area's totals; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by :func:`add_parser`: ``before`` and ``after`` (output folders), ``out``
        (the folder written, replaced as a whole) and ``lang``.

    Returns
    -------
    int
        0; refused inputs raise a :class:`lifecircle.LifecircleError` the command reports.
    """
    from lifecircle.outfolder import atomic_staging, check_output_folder, writing  # noqa: PLC0415 - --help answers without loading geopandas
    from lifecircle.outputs import category_labels  # noqa: PLC0415 - --help answers without loading geopandas
    from lifecircle.scenario import compare_outputs, write_change_files  # noqa: PLC0415 - --help answers without loading geopandas
    from lifecircle.schema import CHANGE_TOTAL_ROW  # noqa: PLC0415 - --help answers without loading the package
    from lifecircle.spreadsheets import write_xlsx  # noqa: PLC0415 - --help answers without loading geopandas

    check_output_folder(args.out)
    change = compare_outputs(args.before, args.after)
    with atomic_staging(args.out, replaces=COMPARE_FILES) as stage:
        sheet, table = write_change_files(stage, change, lang=args.lang, labels=category_labels(), mark=writing)
        write_xlsx(writing(stage / "changes.xlsx"), {sheet: table}, full_copies={sheet: "change_communities.csv"})
        with open(writing(stage / "compare.json"), "w", encoding="utf-8") as fh:
            json.dump(change.record, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    total = change.communities[change.communities["community"] == CHANGE_TOTAL_ROW]
    for row in total.itertuples(index=False):
        print(f"  {row.category:<14} {row.share_before:.1%} -> {row.share_after:.1%} within "
              f"{change.threshold_minutes:g} min; +{row.people_newly_within:,.0f} / "
              f"-{row.people_no_longer_within:,.0f} people")
    print(f"Files: {', '.join(str(Path(args.out) / f) for f in COMPARE_FILES)}")
    return 0
