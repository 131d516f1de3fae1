"""Publishing an output set into a real PostgreSQL + PostGIS (started by the tests, no mock)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from lifecircle._errors import OptionError, PublishError
from lifecircle.publish import (
    RUNS_TABLE,
    check_database_url,
    publish_folder,
    read_output_set,
    redact,
    run_id_of,
    unit_code_column,
)
from tests.postgis import postgis_server

psycopg = pytest.importorskip("psycopg")

HOSTILE = ["'); DROP TABLE cells; --", "{{ 7*7 }}", 'a "quoted" name', "=HYPERLINK(\"x\")", "社区\t\n\\N", ""]


@pytest.fixture(scope="module")
def db_url() -> str:
    with postgis_server() as url:
        yield url


def _write_set(folder: Path, *, people: float = 10.0, record: dict | None = None) -> Path:
    """A small output set written by hand: cells and units in EPSG:4326, facilities in UTM,
    a table without geometry, hostile text everywhere text can go."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "results.gpkg"
    gpkg.unlink(missing_ok=True)
    boxes = [shapely.box(106.55 + i * 0.001, 29.55, 106.551 + i * 0.001, 29.551) for i in range(6)]
    cells = gpd.GeoDataFrame({"cell_id": range(6), "community": HOSTILE, "population": [people * i for i in range(6)],
                              "minutes_to_clinic": [1.5, None, 3.0, 4.0, 5.0, 6.0],
                              "underserved": [False, True, False, False, True, False]},
                             geometry=boxes, crs="EPSG:4326")
    units = gpd.GeoDataFrame({"name": HOSTILE[:2], "code": ["500103001", "500103002"], "population": [1.0, 2.0]},
                             geometry=[shapely.MultiPolygon([boxes[0], boxes[2]]), boxes[1]], crs="EPSG:4326")
    facilities = gpd.GeoDataFrame({"category": ["clinic", "school"], "name": HOSTILE[2:4]},
                                  geometry=[shapely.Point(600_100.5, 3_270_200.25), shapely.Point(600_900, 3_270_000)],
                                  crs="EPSG:32648")
    cells.to_file(gpkg, layer="cells", driver="GPKG", engine="pyogrio")
    units.to_file(gpkg, layer="communities", driver="GPKG", engine="pyogrio")
    facilities.to_file(gpkg, layer="facilities", driver="GPKG", engine="pyogrio")
    import pyogrio

    table = pd.DataFrame({"indicator": ["share; DROP TABLE x", "医疗"], "value": [0.5, 0.25]})
    pyogrio.write_dataframe(table, gpkg, layer="indicators 指标; --", driver="GPKG")
    (folder / "run.json").write_text(json.dumps(record or {"options": {"minutes": 15}, "run_id": "abc123"}),
                                     encoding="utf-8")
    return folder


def _rows(url: str, table: str, schema: str = "lifecircle") -> list[tuple]:
    from psycopg import sql

    with psycopg.connect(url) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s "
            "ORDER BY ordinal_position", (schema, table)).fetchall()]
        shown = [sql.SQL("ST_AsEWKB({})").format(sql.Identifier(c)) if c == "geom" else sql.Identifier(c)
                 for c in cols]
        query = sql.SQL("SELECT {} FROM {} ORDER BY run_id, fid").format(sql.SQL(", ").join(shown),
                                                                         sql.Identifier(schema, table))
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in conn.execute(query)]


def test_publishing_twice_gives_the_same_rows(db_url: str, tmp_path: Path) -> None:
    out = _write_set(tmp_path / "set")
    first = publish_folder(out, db_url, schema="twice")
    tables = {name: _rows(db_url, name, "twice") for name in first.tables}
    second = publish_folder(out, db_url, schema="twice")
    assert first == second
    assert first.run_id == "abc123"
    assert first.tables == {"cells": 6, "communities": 2, "facilities": 2, "indicators 指标; --": 2}
    for name, rows in tables.items():
        assert _rows(db_url, name, "twice") == rows
        assert len(rows) == first.tables[name]
    with psycopg.connect(db_url) as conn:
        runs = conn.execute(f'SELECT run_id, layers FROM twice."{RUNS_TABLE}"').fetchall()
    assert runs == [("abc123", sorted(first.tables))]


def test_another_run_keeps_its_own_rows_and_a_layer_dropped_by_the_run_goes(db_url: str, tmp_path: Path) -> None:
    a = _write_set(tmp_path / "a", record={"options": {"minutes": 15}, "run_id": "run-a"})
    b = _write_set(tmp_path / "b", record={"options": {"minutes": 10}, "run_id": "run-b"})
    publish_folder(a, db_url, schema="two")
    publish_folder(b, db_url, schema="two")
    with psycopg.connect(db_url) as conn:
        counts = conn.execute("SELECT run_id, count(*) FROM two.cells GROUP BY run_id ORDER BY run_id").fetchall()
    assert counts == [("run-a", 6), ("run-b", 6)]
    import pyogrio

    gpkg = b / "results.gpkg"
    kept = {n: pyogrio.read_dataframe(gpkg, layer=n) for n, _ in pyogrio.list_layers(gpkg) if n != "facilities"}
    gpkg.unlink()
    for name, frame in kept.items():
        pyogrio.write_dataframe(frame, gpkg, layer=name, driver="GPKG")
    publish_folder(b, db_url, schema="two")
    with psycopg.connect(db_url) as conn:
        left = conn.execute("SELECT run_id, count(*) FROM two.facilities GROUP BY run_id").fetchall()
    assert left == [("run-a", 2)]


def test_a_failure_part_way_leaves_the_previous_rows(db_url: str, tmp_path: Path) -> None:
    out = _write_set(tmp_path / "set")
    publish_folder(out, db_url, schema="atomic")
    before = {name: _rows(db_url, name, "atomic") for name in ("cells", "communities", "facilities")}
    # The platform forbids what the new rows hold in a table written after "cells" and
    # "communities": the write fails part-way, inside the transaction.
    with psycopg.connect(db_url) as conn:
        conn.execute("ALTER TABLE atomic.facilities ADD CONSTRAINT no_new CHECK (fid < 0) NOT VALID")
    _write_set(tmp_path / "set", people=99.0)
    with pytest.raises(PublishError, match="nothing of this run was changed"):
        publish_folder(out, db_url, schema="atomic")
    after = {name: _rows(db_url, name, "atomic") for name in before}
    assert after == before
    with psycopg.connect(db_url) as conn:
        people = conn.execute("SELECT population FROM atomic.cells ORDER BY fid").fetchall()
    assert [p for (p,) in people] == [10.0 * i for i in range(6)]  # the old values, not 99 per cell


def test_geometries_and_crs_round_trip(db_url: str, tmp_path: Path) -> None:
    out = _write_set(tmp_path / "set")
    publish_folder(out, db_url, schema="geo")
    gpkg = out / "results.gpkg"
    with psycopg.connect(db_url) as conn:
        for layer, epsg in (("cells", 4326), ("communities", 4326), ("facilities", 32648)):
            rows = conn.execute(f"SELECT fid, ST_SRID(geom), ST_AsBinary(geom) FROM geo.{layer} ORDER BY fid").fetchall()
            expected = gpd.read_file(gpkg, layer=layer, engine="pyogrio")
            assert [r[1] for r in rows] == [epsg] * len(expected)
            got = shapely.from_wkb([bytes(r[2]) for r in rows])
            assert shapely.equals_exact(got, expected.geometry.to_numpy(), tolerance=0).all()
            typmod = conn.execute("SELECT srid FROM geometry_columns WHERE f_table_schema='geo' AND "
                                  "f_table_name=%s", (layer,)).fetchone()
            assert typmod == (epsg,)
            index = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname='geo' AND tablename=%s "
                                 "AND indexdef LIKE '%%gist%%'", (layer,)).fetchall()
            assert len(index) == 1


def test_hostile_names_are_stored_as_text(db_url: str, tmp_path: Path) -> None:
    out = _write_set(tmp_path / "set")
    publish_folder(out, db_url, schema='x"; DROP SCHEMA public; --')
    with psycopg.connect(db_url) as conn:
        cells = conn.execute('SELECT community, unit_code FROM "x""; DROP SCHEMA public; --".cells ORDER BY fid'
                             ).fetchall()
        units = conn.execute('SELECT name, unit_code FROM "x""; DROP SCHEMA public; --".communities ORDER BY fid'
                             ).fetchall()
        table = conn.execute('SELECT indicator FROM "x""; DROP SCHEMA public; --"."indicators 指标; --" ORDER BY fid'
                             ).fetchall()
        public = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone()
    assert [c for c, _ in cells] == [h if h else None for h in HOSTILE] or [c for c, _ in cells] == HOSTILE
    assert [u for _, u in cells] == [c for c, _ in cells]  # the unit of a cell: its community
    assert units == [(HOSTILE[0], "500103001"), (HOSTILE[1], "500103002")]  # a unit's code
    assert table == [("share; DROP TABLE x",), ("医疗",)]
    assert public == (1,)


def test_urls_are_checked_before_work_and_passwords_never_shown(tmp_path: Path) -> None:
    for bad in ("", "mysql://u@h/db", "postgresql://host:99999/db", "postgresql://host/", "not a url"):
        with pytest.raises(OptionError, match="--to-postgis"):
            check_database_url(bad, option="--to-postgis")
    with pytest.raises(OptionError) as info:
        check_database_url("mysql://planner:s3cret@h/db")
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in redact("postgresql://planner:s3cret@h/db?password=s3cret")
    with pytest.raises(PublishError, match="run.json"):
        read_output_set(tmp_path)


def test_unreachable_server_is_a_message_without_the_password(tmp_path: Path) -> None:
    out = _write_set(tmp_path / "set")
    url = f"postgresql://planner:s3cret@/db?host={tmp_path}/nowhere&connect_timeout=2"
    with pytest.raises(PublishError, match="cannot connect") as info:
        publish_folder(out, url, option="URL")
    assert "s3cret" not in str(info.value)


def test_run_ids_depend_on_content_and_options_only() -> None:
    a = {"options": {"osm": "/x/a.pbf", "minutes": 15}, "inputs": {"osm": {"sha256": "f00"}}, "timings_s": {"a": 1}}
    b = {"options": {"osm": "/y/b.pbf", "minutes": 15}, "inputs": {"osm": {"sha256": "f00"}}, "timings_s": {"a": 2}}
    assert run_id_of(a) == run_id_of(b)
    assert run_id_of(a) != run_id_of({**a, "inputs": {"osm": {"sha256": "bar"}}})
    assert len(run_id_of(a)) == 16


def test_unit_code_columns() -> None:
    assert unit_code_column("cells", ["cell_id", "community"]) == "community"
    assert unit_code_column("units_community", ["name", "street_code"]) == "street_code"
    assert unit_code_column("communities", ["name", "population"]) == "name"
    assert unit_code_column("isochrones", ["category", "minutes"]) is None


def test_run_to_postgis_end_to_end(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lifecircle.scripts.cli import main
    from lifecircle.testing import small_network_file

    out = tmp_path / "out"
    url = db_url + "&password=s3cret"  # trust authentication ignores it; it must not show anywhere
    args = ["run", "--osm", str(small_network_file()), "--categories", "clinic,school", "--out", str(out), "-q",
            "--to-postgis", url, "--schema", "city"]
    assert main(args) == 0
    printed = capsys.readouterr()
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert "s3cret" not in (out / "run.json").read_text(encoding="utf-8")
    assert "s3cret" not in printed.out + printed.err
    assert record["run_id"] in printed.out
    import pyogrio

    layers = sorted(n for n, _ in pyogrio.list_layers(out / "results.gpkg"))
    with psycopg.connect(db_url) as conn:
        tables = sorted(r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='city'").fetchall())
        cells = conn.execute("SELECT count(*), min(run_id), max(run_id) FROM city.cells").fetchone()
        stored = conn.execute("SELECT record::text FROM city.lifecircle_runs").fetchone()[0]
    assert tables == sorted([*layers, RUNS_TABLE])
    assert cells == (18, record["run_id"], record["run_id"])
    assert "s3cret" not in stored
    # The same run again: the same id, the same rows.
    assert main(args) == 0
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["run_id"] == record["run_id"]
    assert main(["publish", str(out), url, "--schema", "city", "-q"]) == 0
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM city.cells").fetchone() == (18,)
    assert main(["publish", str(out), "mysql://x:s3cret@h/db"]) == 2
    err = capsys.readouterr().err
    assert "URL" in err and "s3cret" not in err


def test_run_with_an_unreachable_database_keeps_its_files_and_says_how_to_publish(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lifecircle.scripts.cli import main
    from lifecircle.testing import small_network_file

    out = tmp_path / "out"
    url = f"postgresql://planner:s3cret@/city?host={tmp_path}/no-server&connect_timeout=2"
    assert main(["run", "--osm", str(small_network_file()), "--categories", "clinic", "--out", str(out), "-q",
                 "--to-postgis", url]) == 2
    err = capsys.readouterr().err
    assert "--to-postgis" in err and "lifecircle publish" in err and "s3cret" not in err
    assert (out / "results.gpkg").is_file() and "s3cret" not in (out / "run.json").read_text(encoding="utf-8")
    assert main(["run", "--to-postgis", "mysql://x@h/db", "--out", str(tmp_path / "never"), "-q"]) == 2
    assert "--to-postgis must start with postgresql://" in capsys.readouterr().err
    assert not (tmp_path / "never" / "run.json").exists()


def test_columns_whose_type_changes_between_runs(db_url: str, tmp_path: Path) -> None:
    import pyogrio

    box = shapely.box(106.55, 29.55, 106.551, 29.551)
    for run_id, people, flag in (("ints", [1, 2], [True, False]), ("floats", [1.5, 2.5], ["yes", "no"])):
        folder = tmp_path / run_id
        folder.mkdir()
        frame = gpd.GeoDataFrame({"people": people, "flag": flag}, geometry=[box, box], crs="EPSG:4326")
        pyogrio.write_dataframe(frame, folder / "results.gpkg", layer="units", driver="GPKG")
        (folder / "run.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
        publish_folder(folder, db_url, schema="types")
    with psycopg.connect(db_url) as conn:
        kinds = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                                  "table_schema='types' AND table_name='units'").fetchall())
        rows = conn.execute("SELECT run_id, people, flag FROM types.units ORDER BY run_id DESC, fid").fetchall()
    assert kinds["people"] == "double precision"  # whole numbers widened to decimals: still numbers
    assert kinds["flag"] == "text"  # booleans, then words: both kept as text
    assert rows == [("ints", 1.0, "true"), ("ints", 2.0, "false"), ("floats", 1.5, "yes"), ("floats", 2.5, "no")]


def test_a_scenario_run_publishes_its_changes(db_url: str, tmp_path: Path) -> None:
    from lifecircle.scripts.cli import main
    from lifecircle.testing import small_network_file
    from tests.test_scenario import _at, _plan

    plan = _plan(tmp_path / "plan.geojson", [{"action": "add_facility", "category": "school", "name": "new"}],
                 [_at(900, 220)])
    out = tmp_path / "out"
    assert main(["run", "--osm", str(small_network_file()), "--categories", "clinic,school", "--out", str(out), "-q",
                 "--no-facility-isochrones", "--scenario", str(plan), "--to-postgis", db_url,
                 "--schema", "plans"]) == 0
    changed = pd.read_csv(out / "change_cells.csv", encoding="utf-8-sig")
    with psycopg.connect(db_url) as conn:
        cells = conn.execute("SELECT count(*), min(ST_SRID(geom)) FROM plans.change_cells").fetchone()
        communities = conn.execute("SELECT count(*) FROM plans.change_communities").fetchone()[0]
    layer = gpd.read_file(out / "results.gpkg", layer="change_cells")  # every cell, before and after
    assert cells == (len(layer), 4326) and len(layer) >= len(changed) > 0
    assert communities == len(pd.read_csv(out / "change_communities.csv", encoding="utf-8-sig"))
