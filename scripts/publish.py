"""``lifecircle publish OUT_DIR URL``: an output set into PostGIS, and ``run --to-postgis``.

Every layer of ``OUT_DIR/results.gpkg`` goes into a table of ``--schema`` keyed by the run's
id (``run.json``) and unit code; re-publishing the same run replaces its rows in one
transaction (:func:`lifecircle.publish.publish_folder`). The URL's password is never printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifecircle._errors import PublishError
from lifecircle.publish import DEFAULT_SCHEMA, check_database_url, check_schema_name, publish_folder, redact

__all__ = ["add_parser", "main", "check_run_options", "publish_after_run"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``lifecircle publish``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``lifecircle`` command's subcommands.

    Returns
    -------
    argparse.ArgumentParser
        The ``publish`` parser; its namespace has ``command == "publish"``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="lifecircle")
    >>> _ = add_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["publish", "out", "postgresql://planner@db.example/city"])
    >>> args.command, str(args.out_dir), args.schema
    ('publish', 'out', 'lifecircle')
    >>> check_run_options(argparse.Namespace(figures=False, to_postgis=args.url, schema=args.schema))
    """
    p = subparsers.add_parser(
        "publish",
        help="write an output folder's layers into PostGIS tables keyed by run id and unit code",
        description="Publish every layer of OUT_DIR/results.gpkg into PostGIS; re-publishing a run replaces its "
                    "rows in one transaction. Put the password in PGPASSWORD or ~/.pgpass, not in the URL.",
    )
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="the --out folder of a lifecircle run")
    p.add_argument("url", metavar="URL", help="postgresql://[user@]host[:port]/database (or ?host=/socket/folder)")
    p.add_argument("--schema", default=DEFAULT_SCHEMA, help=f"database schema (default {DEFAULT_SCHEMA})")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(command="publish")
    return p


def _print(report, url: str) -> None:
    rows = ", ".join(f"{name} {n:,}" for name, n in report.tables.items())
    print(f"Published run {report.run_id} to {redact(url)}, schema {report.schema}: {rows}.")


def main(args: argparse.Namespace) -> int:
    """Publish ``args.out_dir`` to ``args.url``; returns the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by :func:`add_parser`: ``out_dir``, ``url`` and ``schema``.

    Returns
    -------
    int
        0 once every layer is published.

    Raises
    ------
    LifecircleError
        A bad URL or schema, an unreadable output set, or a refused write.
    """
    from lifecircle.outfolder import output_lock  # noqa: PLC0415 - --help answers without loading the package

    check_database_url(args.url, option="URL")
    check_schema_name(args.schema)
    if not Path(args.out_dir).is_dir():
        publish_folder(args.out_dir, args.url, schema=args.schema, option="URL")  # raises, naming OUT_DIR
    with output_lock(args.out_dir):  # no run replaces the set while it is read
        report = publish_folder(args.out_dir, args.url, schema=args.schema, option="URL")
    _print(report, args.url)
    return 0


def check_run_options(args: argparse.Namespace) -> None:
    """``run --to-postgis`` / ``--figures``: the URL, the schema and the figures' font checked before the run.

    Parameters
    ----------
    args : argparse.Namespace
        The ``run`` options: ``figures`` and ``lang``, ``to_postgis`` (``None``: not
        publishing) and ``schema``; missing attributes count as not asked for.
    """
    if getattr(args, "figures", False):
        from lifecircle.report_figures import check_figures  # noqa: PLC0415 - --help answers without matplotlib

        check_figures(args.lang)
    if getattr(args, "to_postgis", None) is not None:
        check_database_url(args.to_postgis, option="--to-postgis")
        check_schema_name(args.schema)


def publish_after_run(args: argparse.Namespace) -> None:
    """``run --to-postgis``: publish the output set just written.

    Parameters
    ----------
    args : argparse.Namespace
        The ``run`` options: ``out``, ``to_postgis`` (``None``: nothing is done) and ``schema``.

    Raises
    ------
    PublishError
        Publishing failed; the message adds that the output set is complete and how to
        publish it again.
    """
    if getattr(args, "to_postgis", None) is None:
        return
    try:
        report = publish_folder(args.out, args.to_postgis, schema=args.schema, option="--to-postgis")
    except PublishError as exc:
        raise PublishError(f"{exc} The output set in --out {str(args.out)!r} is complete; publish it again with "
                           f"`lifecircle publish {args.out} URL`.") from None
    _print(report, args.to_postgis)
