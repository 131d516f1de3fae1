"""Scenarios end to end: a plan against a run equals a run with the plan's facility, suggested
sites reproduce their gains as plans, the files of a scenario run and of ``lifecircle compare``,
and the Yuzhong plan of the README."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
import shapely

import lifecircle
from lifecircle import planning
from lifecircle.layers.plans import read_plan, write_plan
from lifecircle.maps.assets import check_offline
from lifecircle.outputs import write_outputs
from lifecircle.scenario import CHANGE_FILES, run_scenario, sites_plan
from lifecircle.schema import CHANGE_TOTAL_ROW, change_columns
from lifecircle.scripts.cli import main
from lifecircle.testing import small_network_file

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "yuzhong_plan.geojson"
_TO_LONLAT = pyproj.Transformer.from_crs(32648, 4326, always_xy=True)


def _at(x: float, y: float) -> shapely.Point:
    """A point of the small network's frame (metres from 600,000 E, 3,270,000 N) in WGS84."""
    return shapely.Point(_TO_LONLAT.transform(600_000.0 + x, 3_270_000.0 + y))


def _plan(path: Path, rows: list[dict], geoms: list) -> Path:
    return write_plan(gpd.GeoDataFrame(rows, geometry=geoms, crs=4326), path)


@pytest.fixture(scope="module")
def small_run():
    return lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], progress=False)


@pytest.fixture
def hostile_plan(tmp_path: Path) -> Path:
    return _plan(tmp_path / "plan.geojson",
                 [{"action": "add_link", "kind": "passage", "name": "</script><script>alert(1)</script>"},
                  {"action": "add_facility", "category": "school", "name": '"><img src=x onerror=alert(1)>'},
                  {"action": "add_people", "population": 500.0}],
                 [shapely.LineString([_at(900, 200), _at(900, 0)]), _at(900, 220),
                  shapely.box(*_at(600, 100).coords[0], *_at(800, 200).coords[0])])


def test_a_facility_plan_gives_the_minutes_of_a_run_with_that_facility(small_run, tmp_path: Path) -> None:
    plan = _plan(tmp_path / "clinic.geojson", [{"action": "add_facility", "category": "clinic", "name": "new"}],
                 [_at(900, 220)])
    change = run_scenario(small_run, plan)
    extra = tmp_path / "extra.csv"
    p = _at(900, 220)
    pd.DataFrame({"lon": [p.x], "lat": [p.y], "category": ["clinic"], "name": ["new"]}).to_csv(extra, index=False)
    full = lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], facilities=extra, progress=False)
    np.testing.assert_allclose(change.cells[change_columns("clinic")["after"]].to_numpy(float),
                               full.cells["minutes_to_clinic"].to_numpy(float), atol=1e-3)  # plan files keep 1 cm
    assert change.record["recomputed"] == {"network": False, "categories": ["clinic"], "cells_joined_again": 0}


def _reproduce_gains(result, sites, tmp_path: Path, category: str) -> None:
    all_sites = read_plan(sites_plan(sites, tmp_path / "sites_plan.geojson"))
    assert list(all_sites.features["action"]) == ["add_facility"] * len(sites)
    for k in range(1, len(sites) + 1):
        plan = write_plan(all_sites.features.iloc[:k], tmp_path / f"first_{k}.geojson")
        change = run_scenario(result, plan)
        total = change.communities.set_index(["community", "category"]).loc[(CHANGE_TOTAL_ROW, category)]
        assert total["people_newly_within"] == pytest.approx(sites["cumulative"].iloc[k - 1], rel=1e-9, abs=1e-6)
        assert total["people_no_longer_within"] == 0


def test_suggested_sites_reproduce_their_gains_as_plans(tmp_path: Path) -> None:
    result = lifecircle.run(osm=small_network_file(), categories=["school"], minutes=5, progress=False)
    candidates = gpd.GeoDataFrame(geometry=[_at(x, y) for y in (0, 200) for x in range(0, 901, 100)], crs=4326)
    sites = planning.suggest(result, category="school", count=3, candidates=candidates)
    assert len(sites) == 3 and (sites["marginal_gain"] > 0).all()
    _reproduce_gains(result, sites, tmp_path, "school")


@pytest.mark.slow
def test_suggested_sites_on_the_sample_reproduce_their_gains(helsinki_pbf: Path, tmp_path: Path) -> None:
    result = lifecircle.run(osm=helsinki_pbf, categories=["clinic"], minutes=5, facility_isochrones=False,
                            progress=False)
    sites = planning.suggest(result, category="clinic", count=3, spacing_m=50)
    assert len(sites) == 3
    _reproduce_gains(result, sites, tmp_path, "clinic")


def test_a_scenario_run_writes_change_files_sheet_and_record(small_run, hostile_plan: Path, tmp_path: Path) -> None:
    change = run_scenario(small_run, hostile_plan)
    paths = write_outputs(small_run, tmp_path / "out", lang="en", scenario=change)
    assert set(CHANGE_FILES) <= set(paths)
    book = openpyxl.load_workbook(paths["gaps.xlsx"], read_only=True)
    assert "change" in book.sheetnames
    record = json.loads(paths["run.json"].read_text(encoding="utf-8"))["scenario"]
    assert record["sha256"] == hashlib.sha256(hostile_plan.read_bytes()).hexdigest()
    assert record["counts"]["add_link"] == 1 and record["network_edit"]["links_added"] == 1
    page = paths["change.html"].read_text(encoding="utf-8")
    check_offline(page)
    assert "<img src=x" not in page and "</script><script>alert" not in page
    assert page.count("</script>") == 3  # data, Leaflet, the page's script: nothing from the plan closes one
    table = pd.read_csv(paths["change_communities.csv"], encoding="utf-8-sig")
    whole = table[table["community"] == "(whole area)"].set_index("category")
    assert whole.loc["School", "share within before"] == 0.5 and whole.loc["School", "share within after"] == 1.0
    # The changes are GeoPackage layers too (and so reach PostGIS with every other layer).
    gpkg_cells = gpd.read_file(paths["results.gpkg"], layer="change_cells")
    assert len(gpkg_cells) == len(change.cells) and gpkg_cells.crs.to_epsg() == 4326
    gpkg_comm = gpd.read_file(paths["results.gpkg"], layer="change_communities")
    assert len(gpkg_comm) == len(change.communities)


def test_cli_run_with_a_scenario_and_a_bad_plan(hostile_plan: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["run", "-q", "--osm", str(small_network_file()), "--categories", "clinic,school", "--out", str(out),
            "--no-facility-isochrones", "--lang", "en"]
    assert main([*argv, "--scenario", str(hostile_plan)]) == 0
    printed = capsys.readouterr().out
    assert "Scenario plan.geojson: add_facility 1, add_link 1, add_people 1" in printed
    assert "school         50.0% -> 100.0%" in printed
    bad = tmp_path / "bad.yaml"
    bad.write_text("features:\n  - {action: add_link, kind: lift, line: [[0, 0], [1, 1]]}\n", encoding="utf-8")
    assert main([*argv, "--out", str(tmp_path / "out2"), "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "feature 1 (add_link, lift): height_m must be" in err
    assert not (tmp_path / "out2" / "run.json").exists()


def test_compare_two_output_folders_and_refuse_other_grids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = tmp_path / "extra.csv"
    p = _at(900, 220)
    pd.DataFrame({"lon": [p.x], "lat": [p.y], "category": ["clinic"], "name": ["new"]}).to_csv(extra, index=False)
    base = ["run", "-q", "--osm", str(small_network_file()), "--categories", "clinic,school", "--lang", "en",
            "--no-facility-isochrones"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--out", str(tmp_path / "b"), "--facilities", str(extra)]) == 0
    assert main([*base, "--out", str(tmp_path / "c"), "--cell-size", "50"]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "ab"),
                 "--lang", "en"]) == 0
    assert {"change_cells.csv", "change_communities.csv", "change.html", "changes.xlsx", "compare.json"} <= {
        f.name for f in (tmp_path / "ab").iterdir()}
    cells = pd.read_csv(tmp_path / "ab" / "change_cells.csv", encoding="utf-8-sig")
    assert (cells["change_minutes_clinic"] < 0).sum() > 0  # the new clinic shortens walks in the east
    table = pd.read_csv(tmp_path / "ab" / "change_communities.csv", encoding="utf-8-sig")
    assert "Clinic / health care" in set(table["category"])  # the catalogue's label
    assert "new" in (tmp_path / "ab" / "change.html").read_text(encoding="utf-8")  # the added facility, drawn
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "c"), "--out", str(tmp_path / "ac")]) == 2
    assert "are not on the same grid: 18 and 72 cells" in capsys.readouterr().err


@pytest.mark.slow
def test_yuzhong_plan_health_station_lift_and_passage(yuzhong_pbf: Path, yuzhong_boundary: Path,
                                                      yuzhong_population: Path, tmp_path: Path) -> None:
    result = lifecircle.run(osm=yuzhong_pbf, boundary=yuzhong_boundary, population=yuzhong_population,
                            categories=["clinic", "market"], facility_isochrones=False, progress=False)
    change = run_scenario(result, EXAMPLE)
    links = change.links.set_index("kind")
    assert links.loc["lift", "seconds_uv"] == pytest.approx(30.0 + 62.0)  # wait + 62 m at 1 m/s
    assert links.loc["passage", "length_m"] < 35.0
    comm = change.communities[change.communities["category"] == "clinic"].set_index("community")
    gained = comm.drop(index=CHANGE_TOTAL_ROW)
    assert (gained["people_newly_within"] > 0).sum() >= 5 and (gained["people_no_longer_within"] == 0).all()
    assert comm.loc[CHANGE_TOTAL_ROW, "people_newly_within"] == pytest.approx(gained["people_newly_within"].sum())
    assert comm.loc[CHANGE_TOTAL_ROW, "share_after"] > comm.loc[CHANGE_TOTAL_ROW, "share_before"]
    paths = write_outputs(result, tmp_path / "out", scenario=change, write_map=False)
    assert paths["change.html"].stat().st_size > 10_000


def test_run_with_suggest_writes_the_sites_as_a_plan(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", "-q", "--osm", str(small_network_file()), "--categories", "school", "--minutes", "5",
                 "--suggest", "1", "--no-facility-isochrones", "--out", str(out)]) == 0
    plan = read_plan(out / "sites_plan.geojson")
    sites = gpd.read_file(out / "results.gpkg", layer="sites")
    assert plan.counts["add_facility"] == len(sites) == 1
    assert plan.features["category"].tolist() == ["school"]
    assert shapely.distance(plan.features.geometry.iloc[0], sites.geometry.iloc[0]) < 1e-6
