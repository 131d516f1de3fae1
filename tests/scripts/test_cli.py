"""The command line end to end, and every kind of bad input it must refuse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.outputs import people_header, sha256_of
from lifecircle.scripts.cli import main

OUTPUTS = {"map.html", "results.gpkg", "gaps.csv", "gaps.xlsx", "community_gaps.csv", "gap_areas.csv", "run.json"}


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", "-q", *args])
    err = capsys.readouterr().err
    return code, err


def _assert_refused(out: Path, code: int, err: str, *words: str) -> None:
    assert code != 0
    for w in words:
        assert w in err, f"{w!r} not in error message: {err}"
    assert not out.exists() or not any(out.iterdir()), f"partial output left in {out}: {list(out.iterdir())}"


@pytest.mark.slow
def test_default_sample_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, err = _run(["--out", str(out), "--lang", "en"], capsys)
    assert code == 0, err
    assert OUTPUTS <= {p.name for p in out.iterdir()}
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["inputs"]["osm"]["path"].endswith("Helsinki.osm.pbf")
    assert record["inputs"]["osm"]["sha256"] == sha256_of(record["inputs"]["osm"]["path"])
    assert record["counts"]["nodes"] > 1000 and record["counts"]["cells"] > 100
    assert set(record["facilities"]) == {"clinic", "school", "park"}
    assert all(k in record["timings_s"] for k in ("read_osm", "travel_times", "isochrones", "write_gpkg"))
    assert record["versions"]["numpy"] == np.__version__
    cells = gpd.read_file(out / "results.gpkg", layer="cells")
    for col in ("cell_id", "community", "population", "access", "minutes_to_clinic", "minutes_to_school",
                "minutes_to_park", "underserved", "missing"):
        assert col in cells.columns
    assert cells.crs.to_epsg() == 4326
    assert set(cells["access"]) <= {"network", "no_access"}
    for layer in ("communities", "facilities", "isochrones"):
        assert len(gpd.read_file(out / "results.gpkg", layer=layer)) > 0
    raw = (out / "gaps.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel on Chinese Windows
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    assert list(gaps["rank"]) == list(range(1, len(gaps) + 1))
    # No population input: the column says it holds floor-area weights, not people.
    assert record["summary"]["population_kind"] == "floor_area"
    weight = people_header("en", "floor_area")
    assert weight in gaps.columns and "people" not in gaps.columns
    assert gaps[weight].is_monotonic_decreasing
    # Under-served cells with a weight are listed, those without (no homes) are not.
    assert len(gaps) == int((cells["underserved"] & (cells["population"].round(1) > 0)).sum())
    assert (gaps[weight] > 0).all()
    sheets = pd.read_excel(out / "gaps.xlsx", sheet_name=None)
    # Helsinki has no communities file: its units are derived neighbourhood units.
    assert list(sheets) == ["cells", "gap areas", "neighbourhood units", "indicators", "about"]
    pd.testing.assert_frame_equal(sheets["cells"].astype(str), gaps.astype(str), check_dtype=False)
    communities = pd.read_csv(out / "community_gaps.csv", encoding="utf-8-sig")
    assert {"neighbourhood_unit", "has", "lacks"} <= set(communities.columns)
    assert len(communities) == len(gpd.read_file(out / "results.gpkg", layer="communities"))
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in html


@pytest.mark.slow
def test_same_inputs_give_the_same_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    digests = []
    for name in ("a", "b"):
        out = tmp_path / name
        code, err = _run(["--out", str(out), "--categories", "clinic,park", "--no-facility-isochrones"], capsys)
        assert code == 0, err
        digests.append({f: sha256_of(out / f)
                        for f in ("results.gpkg", "gaps.csv", "gaps.xlsx", "community_gaps.csv", "map.html")})
    assert digests[0] == digests[1]


@pytest.mark.slow
def test_yuzhong_end_to_end(tmp_path: Path, capsys, yuzhong_pbf, yuzhong_boundary, yuzhong_population) -> None:
    out = tmp_path / "yz"
    code, err = _run(["--osm", str(yuzhong_pbf), "--boundary", str(yuzhong_boundary), "--population",
                      str(yuzhong_population), "--categories", "clinic,school,park,market", "--out", str(out)], capsys)
    assert code == 0, err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    summary = record["summary"]
    # The extract has no parks: reported as no data, never as everyone under-served.
    assert summary["categories"]["park"]["no_data"] is True
    # 38 hospital footprints of a few campuses, counted per site.
    assert 3 <= summary["categories"]["clinic"]["facilities"] <= 6
    assert record["facilities"]["clinic"] == summary["categories"]["clinic"]["facilities"]
    # 2 marketplaces + 7 supermarkets, less two wholesale markets and a department store.
    assert summary["categories"]["market"]["facilities"] == 6
    qa = pd.read_csv(out / "facility_qa.csv", encoding="utf-8-sig")
    excluded = set(qa.loc[(qa["category"] == "market") & (qa["action"] == "excluded"), "name"])
    assert {"大正小商品市场", "菜园坝水果市场", "Galerie ROBINSON"} == excluded
    assert (qa.loc[qa["category"] == "clinic", "action"] == "merged").sum() >= 30
    assert len(gpd.read_file(out / "results.gpkg", layer="facility_qa")) == len(qa)
    # Four hospitals for 300,000 people: far below the standard's expectation, so flagged.
    assert summary["completeness"]["clinic"]["likely_incomplete"] is True
    assert summary["categories"]["clinic"]["likely_incomplete"] is True
    cells = gpd.read_file(out / "results.gpkg", layer="cells")
    assert not cells["missing"].str.contains("park").any()
    assert cells["minutes_to_park"].isna().all()
    # People within the district from GHS-POP (the file's 720,000 spill across both rivers),
    # and the outputs say so: people in the study area, not in the file.
    assert 250_000 < cells["population"].sum() < 400_000
    people = summary["population"]
    assert people["method"] == "lattice" and people["control"] is None
    assert people["people_in_study_area"] == pytest.approx(cells["population"].sum(), rel=1e-6)
    assert f"{people['people_in_study_area']:,.0f} people in the study area" in summary["population_source"]
    share = summary["categories"]["clinic"]["share_served"]
    assert 0.05 < share < 0.95
    # GHS-POP's lattice spread by area: most reachable cells have people (binning its points
    # left 974 of 2,143 empty).
    net = cells[cells["access"] == "network"]
    assert (net["population"] == 0).sum() < 0.25 * len(net)
    # No gap-list row without people; tens of gap areas, not thousands of cells.
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    assert (gaps["人口"] > 0).all()
    areas = pd.read_csv(out / "gap_areas.csv", encoding="utf-8-sig")
    assert 10 <= len(areas) < 300 and areas["人口"].is_monotonic_decreasing
    assert areas["人口"].sum() == pytest.approx(gaps["人口"].sum(), rel=0.01)
    # Derived units are 片区 sized toward 5,000-12,000 people.
    sizing = summary["unit_sizing"]
    assert sizing["people_per_unit_after"]["under_5000"] == 0
    assert sizing["people_per_unit_after"]["max"] < sizing["people_per_unit_before"]["max"]
    assert "片区" in gaps.columns and "社区" not in gaps.columns


@pytest.mark.slow
def test_yuzhong_partial_communities_keep_everyone(tmp_path: Path, capsys, yuzhong_pbf, yuzhong_boundary,
                                                    yuzhong_population) -> None:
    # Two communities covering only the district's west: everyone else is "unassigned".
    area = gpd.read_file(yuzhong_boundary).to_crs(32648).geometry.union_all()
    x0, y0, x1, y1 = area.bounds
    mid = (x0 + x1) / 2
    west = shapely.box(x0, y0, mid, (y0 + y1) / 2), shapely.box(x0, (y0 + y1) / 2, mid, y1)
    comm = gpd.GeoDataFrame({"名称": ["西南社区", "西北社区"]}, geometry=list(west), crs=32648).to_crs(4326)
    comm_path = tmp_path / "west.geojson"
    comm.to_file(comm_path, driver="GeoJSON")
    totals = tmp_path / "census.csv"
    totals.write_text("社区名称,常住人口\n西南社区,50000\n西北社区,70000\n", encoding="utf-8")
    out = tmp_path / "yz"
    code, err = _run(["--osm", str(yuzhong_pbf), "--boundary", str(yuzhong_boundary), "--population",
                      str(yuzhong_population), "--categories", "clinic,market", "--communities", str(comm_path),
                      "--population-totals", str(totals), "--no-facility-isochrones", "--out", str(out)], capsys)
    assert code == 0, err
    summary = json.loads((out / "run.json").read_text(encoding="utf-8"))["summary"]
    unassigned = summary["communities_unassigned"]
    cells = gpd.read_file(out / "results.gpkg", layer="cells")
    east = cells["community"] == "未归属 / unassigned"
    assert unassigned["people_unassigned"] == pytest.approx(cells.loc[east, "population"].sum(), rel=1e-6)
    assert unassigned["people_unassigned"] > 50_000
    communities = pd.read_csv(out / "community_gaps.csv", encoding="utf-8-sig").set_index("社区")
    assert communities["人口"].sum() == pytest.approx(cells["population"].sum(), rel=1e-4)
    # The census totals hold within their communities; the rest keeps GHS-POP's estimate.
    assert communities.loc["西南社区", "人口"] == pytest.approx(50_000, abs=1)
    assert communities.loc["西北社区", "人口"] == pytest.approx(70_000, abs=1)
    assert summary["population"]["control"] == "units" and summary["population"]["units_matched"] == 2


def test_help_lists_the_main_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--osm", "--place", "--bbox", "--boundary", "--categories", "--cell-size", "--speed", "--minutes",
                "--communities", "--population", "--facilities", "--out"):
        assert opt in text


# ----------------------------------------------------------------------------- bad input


def test_missing_osm_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = _run(["--osm", str(tmp_path / "nowhere.osm.pbf"), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "nowhere.osm.pbf", "does not exist")


def test_empty_osm_file(tmp_path: Path, capsys) -> None:
    f = tmp_path / "empty.osm.pbf"
    f.write_bytes(b"")
    out = tmp_path / "out"
    code, err = _run(["--osm", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "empty.osm.pbf", "empty")


@pytest.mark.parametrize("suffix", [".osm.pbf", ".osm.bz2"])
def test_truncated_osm_file(tmp_path: Path, capsys, yuzhong_pbf, yuzhong_bz2, suffix) -> None:
    src = yuzhong_pbf if suffix == ".osm.pbf" else yuzhong_bz2
    f = tmp_path / f"cut{suffix}"
    data = Path(src).read_bytes()
    f.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    code, err = _run(["--osm", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, f.name, "truncated or corrupt")


def test_corrupt_osm_file(tmp_path: Path, capsys) -> None:
    f = tmp_path / "noise.osm.pbf"
    f.write_bytes(np.random.default_rng(0).bytes(4096))
    out = tmp_path / "out"
    code, err = _run(["--osm", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "noise.osm.pbf")


def test_area_without_walkable_ways(tmp_path: Path, capsys) -> None:
    f = tmp_path / "building.osm"
    f.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="29.55" lon="106.57"/><node id="2" lat="29.551" lon="106.571"/>'
        '<node id="3" lat="29.551" lon="106.570"/>'
        '<way id="5"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>'
        '<way id="6"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way></osm>', encoding="utf-8")
    out = tmp_path / "out"
    code, err = _run(["--osm", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "building.osm", "pedestrian")


def test_boundary_that_does_not_overlap(tmp_path: Path, capsys, helsinki_pbf) -> None:
    f = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"name": ["far"]}, geometry=[shapely.box(106.5, 29.5, 106.6, 29.6)], crs=4326).to_file(f)
    out = tmp_path / "out"
    code, err = _run(["--osm", str(helsinki_pbf), "--boundary", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "far.geojson", "does not overlap")


def test_facilities_without_crs(tmp_path: Path, capsys) -> None:
    f = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"category": ["clinic"]}, geometry=[shapely.Point(24.94, 60.17)]).to_file(f)
    out = tmp_path / "out"
    code, err = _run(["--facilities", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "nocrs.gpkg", "coordinate reference system")


def test_facilities_without_category_column(tmp_path: Path, capsys) -> None:
    f = tmp_path / "nocat.csv"
    f.write_text("lon,lat,kind\n24.94,60.17,clinic\n", encoding="utf-8")
    out = tmp_path / "out"
    code, err = _run(["--facilities", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "nocat.csv", "category")


def test_facilities_with_unknown_category(tmp_path: Path, capsys) -> None:
    f = tmp_path / "odd.csv"
    f.write_text("lon,lat,category\n24.94,60.17,spaceport\n", encoding="utf-8")
    out = tmp_path / "out"
    code, err = _run(["--facilities", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "spaceport")


def test_unknown_category_option(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = _run(["--categories", "clinic,spaceport", "--out", str(out)], capsys)
    _assert_refused(out, code, err, "spaceport", "clinic")


@pytest.mark.parametrize("size", ["0", "-100"])
def test_cell_size_not_positive(tmp_path: Path, capsys, size: str) -> None:
    out = tmp_path / "out"
    code, err = _run([f"--cell-size={size}", "--out", str(out)], capsys)
    _assert_refused(out, code, err, "--cell-size", "greater than 0")


def test_cell_size_needing_more_memory_than_the_machine(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = _run(["--cell-size", "0.01", "--out", str(out)], capsys)
    _assert_refused(out, code, err, "--cell-size", "GiB")


def test_console_script_exits_non_zero(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lifecircle.scripts.cli", "run", "--osm", str(tmp_path / "missing.osm.pbf"),
         "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "missing.osm.pbf" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_crash_while_writing_leaves_no_partial_files(tmp_path: Path, monkeypatch, capsys) -> None:
    import lifecircle.outputs as outputs

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outputs, "_write_xlsx", boom)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk full"):
        main(["run", "-q", "--categories", "clinic", "--no-facility-isochrones", "--out", str(out)])
    assert not out.exists()  # the folder this run created is removed again, empty


@pytest.mark.slow
def test_planning_options_add_tiers_sites_and_capacity(tmp_path: Path, capsys) -> None:
    out = tmp_path / "plan"
    code, err = _run(["--categories", "clinic,school", "--standard", "gb50180", "--suggest", "2",
                      "--no-facility-isochrones", "--lang", "en", "--out", str(out)], capsys)
    assert code == 0, err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    sites = record["plan"]["sites"]
    assert {s["category"] for s in sites} <= {"clinic", "school"} and sites
    gains = [s["marginal_gain"] for s in sites if s["category"] == sites[0]["category"]]
    assert gains == sorted(gains, reverse=True)  # greedy gains never grow
    layers = gpd.read_file(out / "results.gpkg", layer="sites")
    assert len(layers) == len(sites)
    tiers = gpd.read_file(out / "results.gpkg", layer="community_tiers")
    assert set(tiers["status"]) <= {"pass", "fail", "unknown"}
    assert set(tiers["tier"]) == {"15min", "10min", "5min"}
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    assert "tier_failures" in gaps.columns or any("tier" in c for c in gaps.columns)


def test_unknown_standard_is_refused_before_the_run(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = _run(["--standard", "gb99999", "--out", str(out)], capsys)
    _assert_refused(out, code, err, "gb99999")


def test_malformed_capacity_option(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--capacity", "beds"])
    assert info.value.code == 2
    assert "CATEGORY=COLUMN" in capsys.readouterr().err


def test_dem_that_does_not_overlap(tmp_path: Path, capsys, yuzhong_dem) -> None:
    out = tmp_path / "out"
    code, err = _run(["--dem", str(yuzhong_dem), "--out", str(out)], capsys)  # Chongqing DEM, Helsinki sample
    _assert_refused(out, code, err, yuzhong_dem.name, "overlap")


def test_unknown_profile(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = _run(["--profile", "astronaut", "--out", str(out)], capsys)
    _assert_refused(out, code, err, "astronaut", "elderly")


def test_out_that_is_a_file_is_refused_before_the_run(tmp_path: Path, capsys, monkeypatch) -> None:
    import lifecircle.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pytest.fail("the run started"))
    afile = tmp_path / "afile"
    afile.write_text("keep me", encoding="utf-8")
    code, err = _run(["--out", str(afile)], capsys)
    assert code == 2 and "is not a folder" in err
    assert afile.read_text(encoding="utf-8") == "keep me"


def test_no_cell_with_network_access_is_an_error_not_a_crash(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = _run(["--max-access", "0.0001", "--categories", "clinic", "--no-facility-isochrones",
                      "--out", str(out)], capsys)
    _assert_refused(out, code, err, "--max-access", "No grid cell")


def test_bad_input_files_fail_before_the_osm_data_is_read(tmp_path: Path, capsys, monkeypatch) -> None:
    import lifecircle.layers.osm as osm

    monkeypatch.setattr(osm, "read_osm", lambda *a, **k: pytest.fail("read the OSM data before checking inputs"))
    facilities = tmp_path / "nocat.csv"
    facilities.write_text("lon,lat,kind\n24.94,60.17,clinic\n", encoding="utf-8")
    communities = tmp_path / "noname.geojson"
    gpd.GeoDataFrame({"code": [1]}, geometry=[shapely.box(24.93, 60.16, 24.96, 60.18)], crs=4326).to_file(communities)
    population = tmp_path / "nopop.csv"
    population.write_text("lon,lat,height\n24.94,60.17,3\n", encoding="utf-8")
    for args, word in ((["--facilities", str(facilities)], "category"), (["--communities", str(communities)], "name"),
                       (["--population", str(population)], "population")):
        out = tmp_path / "out"
        code, err = _run([*args, "--out", str(out)], capsys)
        _assert_refused(out, code, err, word)


def test_boundary_partly_outside_the_data_warns(tmp_path: Path, caplog, helsinki_pbf) -> None:
    import logging

    from lifecircle.layers.communities import read_boundary
    from lifecircle.layers.osm import read_osm
    from lifecircle.spatial.area import study_area
    from lifecircle.spatial.network import utm_crs_for

    f = tmp_path / "half.geojson"
    gpd.GeoDataFrame({"name": ["half"]}, geometry=[shapely.box(24.945, 60.165, 24.99, 60.175)], crs=4326).to_file(f)
    ext = read_osm(helsinki_pbf, progress=False)
    boundary = read_boundary(f)
    with caplog.at_level(logging.WARNING, logger="lifecircle.spatial.area"):
        study_area(ext.node_lon, ext.node_lat, crs=utm_crs_for(24.94, 60.17), boundary=boundary.geometry,
                   boundary_crs=boundary.crs, label=str(f))
    assert "half.geojson" in caplog.text and "lies within the OSM data" in caplog.text


def test_population_controls_are_checked_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, err = _run(["--population-total", "500000", "--out", str(out)], capsys)
    _assert_refused(out, code, err, "--population-total", "--population")
    pop = tmp_path / "pop.csv"
    pop.write_text("lon,lat,population\n24.94,60.17,10\n", encoding="utf-8")
    code, err = _run(["--population", str(pop), "--population-total", "-3", "--out", str(out)], capsys)
    _assert_refused(out, code, err, "--population-total", "greater than 0")
    totals = tmp_path / "census.csv"
    totals.write_text("name,total\nA,100\n", encoding="utf-8")
    code, err = _run(["--population", str(pop), "--population-totals", str(totals), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "--population-totals", "--communities")
