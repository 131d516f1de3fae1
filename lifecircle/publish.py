"""Publishing an output set into PostGIS, for a governance platform or QGIS to read live.

:func:`publish_folder` writes every layer of an output folder's ``results.gpkg`` (cells,
units, facilities, gap areas, and whatever other layers the run wrote: indicators,
scenario changes...) into one table per layer in a schema of a PostgreSQL database with
PostGIS. Every table starts with the same key columns:

- ``run_id`` (text): the run's id from ``run.json`` (:func:`run_id_of`: a hash of the
  inputs' contents and the options, so the same run has the same id wherever it ran);
- ``fid`` (bigint): the feature's row in the GeoPackage layer; ``(run_id, fid)`` is the
  primary key;
- ``unit_code`` (text): the unit the row belongs to (:func:`unit_code_column` says which
  column gives it), indexed with ``run_id``;

then the layer's own columns (numbers, booleans and text; new columns are added to an
existing table; whole numbers widen to decimals, any other change of type makes the column
text) and ``geom``
(``geometry(Geometry, SRID)`` with a GiST index), written as EWKB with the layer's SRID.

Publishing is idempotent: a run's rows are deleted and written again in **one
transaction**, so a reader sees the previous rows or the new ones, never a mix, and a
failure part-way leaves the previous rows. ``lifecircle_runs`` lists each run published
(its layers and its ``run.json`` without the timings). Concurrent publishers queue on an
advisory lock.

A connection string is a secret: it is never written to ``run.json``, a log or a message
(:func:`redact` hides the password); prefer ``PGPASSWORD`` or ``~/.pgpass`` to a password
in the URL, which other users of the machine can see in the process list.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lifecircle._errors import OptionError, PublishError, shorten

__all__ = [
    "DEFAULT_SCHEMA",
    "RUNS_TABLE",
    "PublishReport",
    "check_database_url",
    "check_schema_name",
    "redact",
    "run_id_of",
    "unit_code_column",
    "read_output_set",
    "publish_folder",
    "publish_layers",
]

log = logging.getLogger(__name__)

#: Schema the tables go into unless ``--schema`` names another.
DEFAULT_SCHEMA = "lifecircle"
#: The table listing the runs published into a schema.
RUNS_TABLE = "lifecircle_runs"
#: Columns every published table starts with (a layer's own column of one of these names is
#: stored as ``data_<name>``, except ``unit_code``, which then is the unit code itself).
KEY_COLUMNS = ("run_id", "fid", "unit_code", "geom")
_MAX_IDENTIFIER = 63  # bytes: PostgreSQL cuts longer names silently, so two layers could collide
_LOCK_KEY = 0x6C69_6665_6369_7263 & 0x7FFF_FFFF_FFFF_FFFF  # "lifecirc": publishers queue on it
_SCHEMES = ("postgresql", "postgres")
_SECRET_WORDS = ("password", "passwd", "pwd", "sslpassword")


# --------------------------------------------------------------------------- secrets and names

_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s?#]*:)(?P<secret>[^@\s/]*)(?P<tail>@)", re.I)
_KEY_PASSWORD = re.compile(r"(?P<head>\b(?:" + "|".join(_SECRET_WORDS) + r")\s*=\s*)"
                           r"(?P<secret>'(?:[^'\\]|\\.)*'|[^\s&;]*)", re.I)


def redact(text: str) -> str:
    """``text`` with any password of a connection string replaced by ``***``.

    Covers ``scheme://user:password@host`` and ``password=...`` (query parameters and
    libpq's ``key=value`` form).

    Parameters
    ----------
    text : str
        Any text that may hold a connection string (an error message, a URL, a run record as
        JSON); a non-string is converted with ``str``.

    Returns
    -------
    str
        The same text with each password replaced by ``***``; the rest is unchanged.

    Examples
    --------
    >>> redact("postgresql://planner:s3cret@db.example/city?sslmode=require")
    'postgresql://planner:***@db.example/city?sslmode=require'
    >>> redact("postgresql:///city?host=/run/pg&password=s3cret")
    'postgresql:///city?host=/run/pg&password=***'
    """
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", str(text))
    return _KEY_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def check_database_url(url: str, *, option: str = "--to-postgis") -> str:
    """Check that ``url`` is a PostgreSQL connection URL; returns it unchanged.

    Expected ``postgresql://[user[:password]@][host][:port]/database[?key=value...]``
    (``postgres://`` too; a Unix socket as ``?host=/path``). Nothing is connected here.

    Parameters
    ----------
    url : str
        The connection URL as given on the command line.
    option : str, optional
        The command-line option named in error messages.

    Returns
    -------
    str
        ``url`` unchanged.

    Raises
    ------
    OptionError
        Naming ``option``, what was expected and what was found (password hidden).

    Examples
    --------
    >>> check_database_url("postgresql://planner@db.example:5432/city")
    'postgresql://planner@db.example:5432/city'
    """
    expected = "expected postgresql://[user@]host[:port]/database (or ?host=/socket/folder)"
    if not isinstance(url, str) or not url.strip():
        raise OptionError(f"{option} is empty: {expected}.")
    if len(url) > 4000 or any(ord(c) < 32 for c in url):
        raise OptionError(f"{option} is not a connection URL ({expected}); found {shorten(redact(url))}.")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a non-numeric port
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise OptionError(f"{option} cannot be read as a connection URL ({expected}): {exc}; found "
                          f"{shorten(redact(url))}.") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise OptionError(f"{option} must start with postgresql:// ({expected}); found "
                          f"{shorten(redact(url))}.")
    database = parts.path.lstrip("/") or dict(query).get("dbname", "")
    if not database:
        raise OptionError(f"{option} names no database ({expected}); found {shorten(redact(url))}.")
    if port is not None and not 0 < port < 65536:
        raise OptionError(f"{option}: the port must be 1-65535; found {port}.")
    return url


def check_schema_name(schema: str, *, option: str = "--schema") -> str:
    """A schema name PostgreSQL keeps as written (1-63 bytes, no NUL); returns it.

    Parameters
    ----------
    schema : str
        The schema name as given on the command line (quoted as an identifier when used, so
        any case and characters but NUL are kept).
    option : str, optional
        The command-line option named in error messages.

    Returns
    -------
    str
        ``schema`` unchanged.

    Raises
    ------
    OptionError
        The name is empty, holds a NUL or is longer than 63 bytes in UTF-8.

    Examples
    --------
    >>> check_schema_name("规划_2026")
    '规划_2026'
    """
    if not isinstance(schema, str) or not schema.strip() or "\x00" in schema:
        raise OptionError(f"{option} must name a database schema, e.g. {DEFAULT_SCHEMA}; found {shorten(schema)}.")
    if len(schema.encode("utf-8")) > _MAX_IDENTIFIER:
        raise OptionError(f"{option} is longer than PostgreSQL's {_MAX_IDENTIFIER} bytes; found {shorten(schema)}.")
    return schema


_INPUT_KEYS = ("osm", "boundary", "communities", "population", "facilities", "catalogue", "dem", "profiles")


def run_id_of(record: Mapping[str, Any]) -> str:
    """A stable id for a run: 16 hex digits of a hash of its inputs and options.

    Hashed: the options (an input file's path replaced by the sha256 of its content, so
    the same files give the same id in any folder), the output options and the plan (the
    standard, suggested sites and capacity asked for). Not hashed: timings, versions, the
    command line. The same inputs and options always give the same id.

    Parameters
    ----------
    record : Mapping[str, Any]
        A run's record as in its ``run.json`` (keys ``options``, ``inputs``,
        ``output_options``, ``plan``; missing keys count as empty).

    Returns
    -------
    str
        16 lower-case hexadecimal digits.

    Examples
    --------
    >>> a = {"options": {"osm": "/a/x.pbf", "minutes": 15}, "inputs": {"osm": {"sha256": "ab"}}}
    >>> b = {"options": {"osm": "/b/x.pbf", "minutes": 15}, "inputs": {"osm": {"sha256": "ab"}}}
    >>> run_id_of(a) == run_id_of(b), run_id_of(a) == run_id_of({**a, "options": {"minutes": 10}})
    (True, False)
    """
    options = dict(record.get("options") or {})
    inputs = record.get("inputs") or {}
    for key in _INPUT_KEYS:
        if isinstance(inputs.get(key), Mapping) and "sha256" in inputs[key]:
            options[key] = {"sha256": inputs[key]["sha256"]}
    basis = {"options": options, "output_options": record.get("output_options") or {},
             "plan": record.get("plan") or {}}
    text = json.dumps(basis, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


#: Columns holding a unit's code, in order of preference.
UNIT_CODE_COLUMNS = ("unit_code", "code", "community_code", "unit")
#: Layers that are units themselves: their ``name`` is their key when they carry no code.
UNIT_LAYERS = ("communities", "units")


def unit_code_column(layer: str, columns: Sequence[str]) -> str | None:
    """The column of a layer that names the unit a row belongs to, or ``None``.

    A code column (``unit_code``, ``code``, ``community_code``, ``unit``, then any column
    ending in ``_code``) first; else ``community`` (cells, gap areas); else ``name`` for the
    unit layers themselves (``communities``, ``units``, ``units_<level>``).

    Parameters
    ----------
    layer : str
        The layer's name in ``results.gpkg``.
    columns : Sequence[str]
        The layer's attribute columns (geometry excluded).

    Returns
    -------
    str or None
        The column's name; ``None`` when the layer's rows belong to no unit (its
        ``unit_code`` is then stored empty).

    Examples
    --------
    >>> unit_code_column("cells", ["cell_id", "community", "population"])
    'community'
    >>> unit_code_column("units_street", ["name", "code", "parent_code"])
    'code'
    >>> unit_code_column("facilities", ["category", "name"]) is None
    True
    """
    cols = list(columns)
    for name in UNIT_CODE_COLUMNS:
        if name in cols:
            return name
    coded = [c for c in cols if str(c).endswith("_code") and not str(c).startswith("parent")]
    if coded:
        return coded[0]
    if "community" in cols:
        return "community"
    if (layer in UNIT_LAYERS or layer.startswith("units_")) and "name" in cols:
        return "name"
    return None


# --------------------------------------------------------------------------- reading the set

@dataclass(frozen=True)
class _Layer:
    """One layer ready for the database: names, types, rows as plain Python values."""

    name: str
    columns: tuple[str, ...]  # the layer's own columns, as stored
    types: tuple[str, ...]  # PostgreSQL type of each
    unit: str | None  # stored column giving unit_code
    srid: int | None  # None: no geometry
    rows: list[tuple[Any, ...]] = field(repr=False)  # fid, unit_code, *columns, geom (hex EWKB)


@dataclass(frozen=True)
class PublishReport:
    """What :func:`publish_folder` wrote: the run id, the schema, and rows per table."""

    run_id: str
    schema: str
    tables: dict[str, int]


def _pg_type(dtype: Any) -> str:
    import pandas as pd  # noqa: PLC0415 - the command's --help answers without loading pandas

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    return "text"


def _values(series: Any, pg_type: str) -> list[Any]:
    """Plain Python values of a column for its database type (missing values as ``None``)."""
    import pandas as pd  # noqa: PLC0415 - the command's --help answers without loading pandas

    values = series.astype(object).where(series.notna(), None).tolist()
    if pg_type == "boolean":
        return [None if v is None else bool(v) for v in values]
    if pg_type == "bigint":
        return [None if v is None else int(v) for v in values]
    if pg_type == "double precision":
        return [None if v is None or v != v else float(v) for v in values]
    return [None if v is None or (isinstance(v, float) and v != v) else
            (v.isoformat() if isinstance(v, pd.Timestamp) else str(v)) for v in values]


def _check_identifier(name: str, what: str, path: Path) -> str:
    if not name or "\x00" in name or len(name.encode("utf-8")) > _MAX_IDENTIFIER:
        raise PublishError(f"{path}: {what} {shorten(name)} cannot be a PostgreSQL name: expected 1 to "
                           f"{_MAX_IDENTIFIER} bytes without NUL.")
    return name


def _read_layer(path: Path, name: str) -> _Layer:
    import numpy as np  # noqa: PLC0415 - the command's --help answers without loading numpy
    import pyogrio  # noqa: PLC0415 - the command's --help answers without loading GDAL
    import shapely  # noqa: PLC0415 - the command's --help answers without loading GEOS

    frame = pyogrio.read_dataframe(path, layer=name, fid_as_index=True)
    geometry = None
    srid = None
    if hasattr(frame, "geometry") and getattr(frame, "_geometry_column_name", None) in frame.columns:
        geometry = frame.geometry.to_numpy()
        crs = frame.crs
        srid = (crs.to_epsg() if crs is not None else None) or 0
        frame = frame.drop(columns=[frame.geometry.name])
    own = [str(c) for c in frame.columns]
    stored = [c if c not in KEY_COLUMNS or c == "unit_code" else f"data_{c}" for c in own]
    for c in stored:
        _check_identifier(c, f"layer {name!r}: column", path)
    if len(set(stored)) != len(stored):
        raise PublishError(f"{path}: layer {name!r} has two columns with one name; found {shorten(stored)}.")
    types = [_pg_type(frame[c].dtype) for c in frame.columns]
    unit = unit_code_column(name, stored)
    columns = [_values(frame[c], t) for c, t in zip(frame.columns, types)]
    codes = (columns[stored.index(unit)] if unit is not None else [None] * len(frame))
    codes = [None if v is None else str(v) for v in codes]
    fids = [int(v) for v in np.asarray(frame.index)]
    if geometry is not None:
        geoms = shapely.to_wkb(shapely.set_srid(geometry, srid), hex=True, include_srid=True)
        geoms = [None if g is None else str(g) for g in geoms]
    else:
        geoms = [None] * len(frame)
    if unit == "unit_code":  # the layer's own code column is the key column itself
        keep = [i for i, c in enumerate(stored) if c != "unit_code"]
        stored = [stored[i] for i in keep]
        types = [types[i] for i in keep]
        columns = [columns[i] for i in keep]
    rows = list(zip(fids, codes, *columns, geoms, strict=True)) if columns else list(zip(fids, codes, geoms,
                                                                                          strict=True))
    return _Layer(name, tuple(stored), tuple(types), unit, srid if geometry is not None else None, rows)


def read_output_set(out_dir: str | Path) -> tuple[dict[str, Any], dict[str, _Layer]]:
    """``run.json`` and every layer of ``results.gpkg`` of an output folder.

    Parameters
    ----------
    out_dir : str or Path
        The ``--out`` folder of a lifecircle run.

    Returns
    -------
    tuple of (dict, dict)
        The run record read from ``run.json``, and the layers by name, each with its columns,
        column types, unit-code column, SRID (``None`` for a table without geometry) and rows.

    Raises
    ------
    PublishError
        The folder, ``run.json`` or ``results.gpkg`` is missing or unreadable.
    """
    import pyogrio  # noqa: PLC0415 - the command's --help answers without loading GDAL

    out = Path(out_dir)
    if not out.is_dir():
        raise PublishError(f"OUT_DIR {str(out)!r} is not a folder: expected the --out folder of a lifecircle run.")
    manifest, gpkg = out / "run.json", out / "results.gpkg"
    for needed in (manifest, gpkg):
        if not needed.is_file():
            raise PublishError(f"{str(needed)!r} does not exist: expected the output set of a lifecircle run "
                               "(run.json and results.gpkg).")
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PublishError(f"{str(manifest)!r} cannot be read as JSON: {shorten(str(exc))}.") from None
    if not isinstance(record, dict):
        raise PublishError(f"{str(manifest)!r}: expected a JSON object; found {type(record).__name__}.")
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
    except Exception as exc:
        raise PublishError(f"{str(gpkg)!r} cannot be read as a GeoPackage: {shorten(str(exc))}.") from None
    layers = {}
    for name in sorted(names):
        _check_identifier(name, "layer", gpkg)
        if name == RUNS_TABLE:
            raise PublishError(f"{str(gpkg)!r}: a layer is named {RUNS_TABLE!r}, the table listing the runs.")
        layers[name] = _read_layer(gpkg, name)
    return record, layers


# --------------------------------------------------------------------------- writing

def _connect(url: str, option: str) -> Any:
    import psycopg  # noqa: PLC0415 - only publishing needs the database driver

    try:
        return psycopg.connect(url, connect_timeout=15, application_name="lifecircle")
    except psycopg.Error as exc:
        raise PublishError(f"{option}: cannot connect to {redact(url)}: {redact(str(exc)).strip()}") from None


def _ensure_postgis(cur: Any) -> None:
    cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
    if cur.fetchone() is None:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def _existing_columns(cur: Any, schema: str, table: str) -> dict[str, str]:
    cur.execute("SELECT column_name, CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END "
                "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s", (schema, table))
    return {str(name): str(kind) for name, kind in cur.fetchall()}


def _index_name(table: str, what: str) -> str:
    return f"lc_{hashlib.sha1(table.encode('utf-8')).hexdigest()[:12]}_{what}"


def _prepare_table(cur: Any, schema: str, layer: _Layer) -> list[str]:
    """Create the layer's table and indexes if missing, add or widen columns; the stored types."""
    from psycopg import sql  # noqa: PLC0415 - only publishing needs the database driver

    table = sql.Identifier(schema, layer.name)
    geom = (sql.SQL(", geom geometry(Geometry, {})").format(sql.Literal(layer.srid))
            if layer.srid is not None else sql.SQL(""))
    cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (run_id text NOT NULL, fid bigint NOT NULL, "
                        "unit_code text{}, PRIMARY KEY (run_id, fid))").format(table, geom))
    cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (run_id, unit_code)").format(
        sql.Identifier(_index_name(layer.name, "unit")), table))
    existing = _existing_columns(cur, schema, layer.name)
    if layer.srid is not None:
        if "geom" not in existing:
            cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN geom geometry(Geometry, {})").format(
                table, sql.Literal(layer.srid)))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist (geom)").format(
            sql.Identifier(_index_name(layer.name, "geom")), table))
    types = []
    for column, kind in zip(layer.columns, layer.types):
        have = existing.get(column)
        if have is None:
            cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(table, sql.Identifier(column),
                                                                          sql.SQL(kind)))
            have = kind
        elif {have, kind} == {"bigint", "double precision"}:  # whole and decimal numbers: keep numbers
            if have == "bigint":
                cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE double precision").format(
                    table, sql.Identifier(column)))
                have = "double precision"
        elif have != kind and have != "text":  # earlier runs stored another type: keep both as text
            cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE text USING {}::text").format(
                table, sql.Identifier(column), sql.Identifier(column)))
            have = "text"
        types.append(have)
    return types


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _copy_rows(cur: Any, schema: str, layer: _Layer, run_id: str, stored_types: Sequence[str]) -> int:
    from psycopg import sql  # noqa: PLC0415 - only publishing needs the database driver

    names = ["run_id", "fid", "unit_code", *layer.columns, *(["geom"] if layer.srid is not None else [])]
    text_at = [i + 3 for i, (kind, mine) in enumerate(zip(stored_types, layer.types))
               if kind != mine and kind == "text"]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(schema, layer.name),
                                                           sql.SQL(", ").join(map(sql.Identifier, names)))
    with cur.copy(statement) as copy:
        for row in layer.rows:
            values = [run_id, *row] if layer.srid is not None else [run_id, *row[:-1]]
            for i in text_at:
                values[i] = _as_text(values[i])
            copy.write_row(values)
    return len(layer.rows)


def _runs_table(cur: Any, schema: str) -> None:
    from psycopg import sql  # noqa: PLC0415 - only publishing needs the database driver

    cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (run_id text PRIMARY KEY, layers text[] NOT NULL, "
                        "record jsonb NOT NULL)").format(sql.Identifier(schema, RUNS_TABLE)))


def _delete_run(cur: Any, schema: str, run_id: str, tables: Iterable[str]) -> None:
    """Delete the run's rows from its tables (those published before, and those of now)."""
    from psycopg import sql  # noqa: PLC0415 - only publishing needs the database driver

    cur.execute(sql.SQL("SELECT layers FROM {} WHERE run_id = %s").format(sql.Identifier(schema, RUNS_TABLE)),
                (run_id,))
    found = cur.fetchone()
    before = set(found[0]) if found else set()
    for table in sorted(before | set(tables)):
        cur.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                    "AND column_name = 'run_id'", (schema, table))
        if cur.fetchone() is not None:
            cur.execute(sql.SQL("DELETE FROM {} WHERE run_id = %s").format(sql.Identifier(schema, table)),
                        (run_id,))


def _public_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """``run.json`` for the runs table: without timings and with any password hidden."""
    out = {k: v for k, v in record.items() if k not in ("timings_s",)}
    text = redact(json.dumps(out, ensure_ascii=False, default=str, sort_keys=True))
    return json.loads(text)


def publish_layers(connection: Any, layers: Mapping[str, _Layer], *, run_id: str, record: Mapping[str, Any],
                   schema: str = DEFAULT_SCHEMA) -> dict[str, int]:
    """Replace one run's rows in every layer's table in one transaction; rows per table.

    The connection's transaction is committed at the end; on any error it is rolled back
    (the previous rows of the run stay) and the error raised.

    Parameters
    ----------
    connection : psycopg.Connection
        An open connection to a database with PostGIS available (created if missing).
    layers : Mapping[str, _Layer]
        The layers to publish by name, as read by :func:`read_output_set`.
    run_id : str
        The run's id (:func:`run_id_of`): its earlier rows in every table are replaced.
    record : Mapping[str, Any]
        The run's record, stored in the runs table with passwords redacted and timings left out.
    schema : str, optional
        The schema the tables go into (created if missing).

    Returns
    -------
    dict[str, int]
        Rows written per layer name.
    """
    from psycopg import sql  # noqa: PLC0415 - only publishing needs the database driver
    from psycopg.types.json import Jsonb  # noqa: PLC0415 - only publishing needs the database driver

    written: dict[str, int] = {}
    with connection.transaction(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        _ensure_postgis(cur)
        _runs_table(cur, schema)
        prepared = {name: _prepare_table(cur, schema, layer) for name, layer in layers.items()}
        _delete_run(cur, schema, run_id, layers)
        for name, layer in layers.items():
            written[name] = _copy_rows(cur, schema, layer, run_id, prepared[name])
        cur.execute(sql.SQL("INSERT INTO {} (run_id, layers, record) VALUES (%s, %s, %s) ON CONFLICT (run_id) "
                            "DO UPDATE SET layers = EXCLUDED.layers, record = EXCLUDED.record").format(
                                sql.Identifier(schema, RUNS_TABLE)),
                    (run_id, sorted(layers), Jsonb(_public_record(record))))
    return written


def publish_folder(out_dir: str | Path, url: str, *, schema: str = DEFAULT_SCHEMA,
                   option: str = "URL") -> PublishReport:
    """Publish the output set of ``out_dir`` into PostGIS at ``url`` (idempotent, one transaction).

    Parameters
    ----------
    out_dir : str or pathlib.Path
        A run's output folder (``run.json`` and ``results.gpkg``).
    url : str
        ``postgresql://...`` (:func:`check_database_url`); never logged with its password.
    schema : str, default ``"lifecircle"``
        Created if missing, as are the tables, their indexes and the PostGIS extension
        (which needs the right to create it when it is not there yet).
    option : str
        How the command line names ``url`` in messages (``--to-postgis`` or ``URL``).

    Returns
    -------
    PublishReport

    Raises
    ------
    OptionError
        A bad URL or schema name (before anything is read).
    PublishError
        The output set cannot be read, the server cannot be reached, or it refused the
        write (nothing of this run changed in the database then).
    """
    import psycopg  # noqa: PLC0415 - only publishing needs the database driver

    check_database_url(url, option=option)
    check_schema_name(schema)
    record, layers = read_output_set(out_dir)
    run_id = str(record.get("run_id") or run_id_of(record))
    connection = _connect(url, option)
    try:
        tables = publish_layers(connection, layers, run_id=run_id, record=record, schema=schema)
    except psycopg.Error as exc:
        raise PublishError(f"{option}: the database refused the run's rows ({redact(str(exc)).strip()}); "
                           "nothing of this run was changed in the database.") from None
    finally:
        connection.close()
    log.info("Published run %s to %s, schema %s: %s", run_id, redact(url), schema,
             ", ".join(f"{k} {v:,}" for k, v in tables.items()))
    return PublishReport(run_id=run_id, schema=schema, tables=tables)
