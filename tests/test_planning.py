"""Planning on a run (lifecircle.planning): standards, capacity, site suggestion, renewal lists.

The hand-made run
-----------------
One straight street along y = 100 m from x = 0 to x = 1,000 m, nodes every 100 m (ten
edges of 100 m; at 4.5 km/h = 75 m/min an edge takes 80 s = 4/3 min). The study area is
the box (0, 0)-(1000, 200); with 200 m cells that gives five cells whose centres lie ON the
street at x = 100, 300, 500, 700, 900 (no off-network leg), with 100, 200, 300, 400 and 500
people. Community "west" holds the cells at 100 and 300, "east" the other three.

Facilities: one clinic at x = 0; a small park of 0.36 ha (60 x 60 m, x 0..60) 10 m north of
the street's west end (entered from the street wherever it is within 20 m: x 0..60, the gap walked); a big park of 2.4 ha (200 x 120 m) spanning
the street from x = 800 to 1,000 (reached at x = 800, nodes 900 and 1,000 inside). No school.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle import outputs, planning
from lifecircle._errors import OptionError
from lifecircle.layers.standards import load_standard
from lifecircle.pipeline import RunOptions, RunResult, run
from lifecircle.spatial.access import compute_cells
from lifecircle.spatial.coverage import assign_communities, flag_underserved, summarise_communities
from lifecircle.spatial.travel import facility_access_points, nearest_facility, origin_seconds, reverse_graph
from lifecircle.testing import model_from_network
from tests.synthetic import CRS, ORIGIN, at, network_from_lines

CELL_X = np.array([100.0, 300.0, 500.0, 700.0, 900.0])
PEOPLE = np.array([100.0, 200.0, 300.0, 400.0, 500.0])

TOY = """
id: toy
title: toy standard
tiers:
  - key: a
    name: 甲级
    verified: true
    requirements:
      - {key: clinic_near, name: 诊所, category: clinic, threshold_m: 400, verified: true}
      - {key: big_park, name: 大公园, category: park, threshold_minutes: 5, min_area_m2: 10000, verified: true}
  - key: b
    verified: true
    requirements:
      - {key: clinic_any, category: clinic, threshold_minutes: 15, verified: true}
      - {key: kg, category: kindergarten, threshold_m: 300, verified: true}
      - {key: middle, category: middle_school, fallback_categories: [school], threshold_m: 1000, verified: true}
"""


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(ORIGIN[0] + x0, ORIGIN[1] + y0, ORIGIN[0] + x1, ORIGIN[1] + y1)


def street_result(*, minutes: float = 15.0, facilities: gpd.GeoDataFrame | None = None,
                  options: dict | None = None, extract: object = None) -> RunResult:
    """The hand-made run of the module docstring, built with the pipeline's own steps."""
    network = network_from_lines([(x, 100.0) for x in range(0, 1001, 100)], [(i, i + 1) for i in range(10)])
    if facilities is None:
        facilities = gpd.GeoDataFrame(
            {"category": ["clinic", "park", "park"], "name": ["c0", "small", "big"], "source": "osm",
             "osm_type": ["node", "way", "way"], "osm_id": [1, 2, 3]},
            geometry=[at(0, 100), _box(0, 110, 60, 170), _box(800, 40, 1000, 160)], crs=CRS)
    categories = ("clinic", "school", "park")
    model = model_from_network(network, facilities, area=_box(0, 0, 1000, 200), categories=categories,
                               cell_size_m=200, speed_kmh=4.5, minutes=minutes,
                               extract=extract if extract is not None else SimpleNamespace(features=_no_features()),
                               options=options)
    cells, _ = compute_cells(model.graph, model.grid, model.origins, model.access,
                             n_facilities=len(model.facilities), categories=categories, leg_speed_kmh=4.5)
    assert np.allclose(cells["x"] - ORIGIN[0], CELL_X) and np.allclose(cells["y"] - ORIGIN[1], 100)
    cells["population"] = PEOPLE
    communities = gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[_box(0, 0, 400, 200), _box(400, 0, 1000, 200)],
                                   crs=CRS)
    cells["community"] = assign_communities(cells, communities)
    no_data = ("school",)
    model = replace(model, no_data=no_data)
    flags = flag_underserved(cells, categories=categories, threshold_minutes=minutes, no_data=no_data)
    cells["underserved"] = flags["underserved"].to_numpy()
    cells["missing"] = flags["missing"].to_numpy()
    summary = summarise_communities(cells, communities, categories=categories, threshold_minutes=minutes,
                                    no_data=no_data, coverage_target=0.8)
    return RunResult(model=model, cells=cells, communities=summary, isochrones=gpd.GeoDataFrame(geometry=[], crs=CRS),
                     summary=None, record={})


def _no_features() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"osm_type": [], "osm_id": [], "name": [], "tags": []}, geometry=[], crs=4326)


@pytest.fixture(scope="module")
def toy_standard(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("std") / "toy.yaml"
    path.write_text(textwrap.dedent(TOY), encoding="utf-8")
    return load_standard(path)


def _served_people(result: RunResult, category: str, extra: gpd.GeoSeries | None = None) -> float:
    """People within the threshold when ``extra`` sites join the category's facilities: an
    independent search with the run's costs (the check of the suggested gains)."""
    fac = result.facilities
    geoms = list(fac.geometry[fac["category"] == category])
    if extra is not None:
        geoms += list(extra.to_crs(result.network.crs))
    facilities = gpd.GeoDataFrame(geometry=geoms, crs=result.network.crs)
    graph = reverse_graph(result.network, result.costs)
    speed = result.options.speed_kmh
    access = facility_access_points(facilities, result.network, max_distance_m=result.options.max_access_m,
                                    entrances=result.model.entrances)
    secs, _ = nearest_facility(graph, access, n_facilities=len(facilities), leg_speed_kmh=speed)
    cells = result.cells
    from lifecircle.spatial.travel import locate_on_network

    where = locate_on_network(gpd.GeoSeries(shapely.points(cells["x"], cells["y"]), crs=result.network.crs),
                              result.network, max_distance_m=result.options.max_access_m)
    t = origin_seconds(graph, secs, where, access=access, leg_speed_kmh=speed)
    pop = np.nan_to_num(cells["population"].to_numpy(dtype=float))
    return float(pop[np.nan_to_num(t, nan=np.inf) <= result.options.minutes * 60.0].sum())


def _check_gains_reproduce(result: RunResult, sites: gpd.GeoDataFrame, category: str) -> None:
    before = _served_people(result, category)
    assert before == pytest.approx(sites.attrs["people_served_before"], rel=1e-12)
    for k in range(1, len(sites) + 1):
        after = _served_people(result, category, sites.geometry.iloc[:k])
        assert after - before == pytest.approx(sites["cumulative"].iloc[k - 1], rel=1e-9, abs=1e-6), k
    assert sites.attrs["people_served_after"] == pytest.approx(
        _served_people(result, category, sites.geometry), rel=1e-9)


# --------------------------------------------------------------------------- standards


def test_standard_scores_match_a_direct_count(toy_standard) -> None:
    """Hand distances: clinic at x=0, so the cells are 100, 300, 500, 700, 900 m from it; the
    big park is reached at x=800 (cells 700, 300, 100, 100(inside: 0), ...)."""
    result = street_result()
    reqs, tiers = planning.standard_scores(result, toy_standard)

    def share(comm: str, req: str) -> float:
        row = reqs[(reqs["community"] == comm) & (reqs["requirement"] == req)]
        return float(row["share"].iloc[0])

    # clinic <= 400 m: west's cells at 100 m and 300 m both meet it; east's 500-900 m none.
    assert share("west", "clinic_near") == 1.0 and share("east", "clinic_near") == 0.0
    # big park (>= 1 ha) <= 5 min = 375 m from x=800: cells at 500 (300 m), 700, 900 (inside) meet it;
    # west's cells (500 m and 700 m away) do not, although the small park is at their door.
    assert share("west", "big_park") == 0.0 and share("east", "big_park") == 1.0
    # The small park counts there: entered from the street 10 m south of it, at its nearest point
    # to the cell (x = 60): 40 m along the street plus the 10 m leg = 50 m = 2/3 min.
    assert result.cells["minutes_to_park"].iloc[0] == pytest.approx(50 / 75)
    # clinic <= 15 min = 1,125 m: everybody.
    assert share("west", "clinic_any") == 1.0 and share("east", "clinic_any") == 1.0
    # No kindergarten category computed and no OSM data; school has no facility: not assessed, never failed.
    for req in ("kg", "middle"):
        rows = reqs[reqs["requirement"] == req]
        assert not rows["assessed"].any() and rows["share"].isna().all()
    people = reqs[(reqs["community"] == "east") & (reqs["requirement"] == "big_park")]["people_within"].iloc[0]
    assert people == 300 + 400 + 500

    status = tiers.set_index(["community", "tier"])["status"].to_dict()
    # Tier b: none of its requirements can be assessed: insufficient data, not unknown or fail.
    assert status == {("east", "a"): "fail", ("east", "b"): "insufficient_data", ("west", "a"): "fail",
                      ("west", "b"): "insufficient_data"}
    missing = tiers.set_index(["community", "tier"])["missing"].to_dict()
    assert missing[("west", "a")] == ("big_park",) and missing[("east", "a")] == ("clinic_near",)
    assert tiers.attrs["cell_failures"] == [(("a", "big_park"),)] * 2 + [(("a", "clinic_near"),)] * 3


def test_standard_scores_total_and_gb50180_runs() -> None:
    result = street_result()
    reqs, tiers = planning.standard_scores(result, "gb50180", total_label="total")
    total = reqs[reqs["community"] == "total"]
    # Health station (fallback clinic) <= 300 m = 4 min: the cells at 100 m and at exactly 300 m
    # (240 s, "at most" the threshold counts); 300 of 1,500 people.
    row = total[total["requirement"] == "health_station"].iloc[0]
    assert row["category"] == "clinic" and row["people_within"] == 300.0
    assert row["share"] == pytest.approx(300 / 1500)
    assert not total[total["requirement"] == "kindergarten"]["assessed"].any()
    assert set(tiers["status"]) <= {"pass", "fail", "unknown", "insufficient_data"}
    # A tier is "insufficient data" exactly when fewer than half its requirements are assessed.
    scarce = tiers["assessed"] < tiers["requirements"] / 2
    assert ((tiers["status"] == "insufficient_data") == scarce).all()


def test_standard_minutes_reuses_run_columns() -> None:
    result = street_result()
    minutes = planning.standard_minutes(result, "gb50180")
    np.testing.assert_array_equal(minutes["minutes_to_clinic"], result.cells["minutes_to_clinic"])
    assert "minutes_to_school" not in minutes  # no facility: no column, so not assessed
    # Parks >= 5 ha: none here (the big park is 2.4 ha) -> no column; >= 1 ha: searched.
    assert "minutes_to_park_ge50000m2" not in minutes
    np.testing.assert_allclose(minutes["minutes_to_park_ge10000m2"], np.array([700, 500, 300, 100, 0]) / 75.0)


# --------------------------------------------------------------------------- capacity

# Cell-to-clinic distances (m) with clinics at x = 0, 500, 1000 and cells at 100..900, and the
# band weight of each time (0-5 min = 0-375 m: 1.00; 5-10 min = 750 m: 0.68; 10-15 min: 0.22):
#   cell 100: 100, 400, 900 -> 1.00, 0.68, 0.22
#   cell 300: 300, 200, 700 -> 1.00, 1.00, 0.68
#   cell 500: 500,   0, 500 -> 0.68, 1.00, 0.68
#   cell 700: 700, 200, 300 -> 0.68, 1.00, 1.00
#   cell 900: 900, 400, 100 -> 0.22, 0.68, 1.00
HAND_W = np.array([[1.00, 0.68, 0.22], [1.00, 1.00, 0.68], [0.68, 1.00, 0.68], [0.68, 1.00, 1.00],
                   [0.22, 0.68, 1.00]])
BEDS = np.array([10.0, 20.0, 30.0])


def _three_clinics(**columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"category": ["clinic"] * 3, "name": ["w", "m", "e"], "source": "osm",
                             "osm_type": ["node"] * 3, "osm_id": [11, 12, 13], **columns},
                            geometry=[at(0, 100), at(500, 100), at(1000, 100)], crs=CRS)


def _hand_e2sfca() -> tuple[np.ndarray, np.ndarray]:
    demand = (PEOPLE[:, None] * HAND_W).sum(axis=0)
    ratio = BEDS / demand
    return (HAND_W * ratio[None, :]).sum(axis=1), ratio


def test_capacity_matches_hand_computation() -> None:
    result = street_result(facilities=_three_clinics(beds=BEDS))
    score, ratio, over = planning.capacity_scores(result, category="clinic", capacity_column="beds")
    want_score, want_ratio = _hand_e2sfca()
    np.testing.assert_allclose(ratio, want_ratio, rtol=1e-12)
    np.testing.assert_allclose(score, want_score, rtol=1e-12)
    # The weights are shared by both steps, so people x score sums to the beds.
    assert (PEOPLE * score).sum() == pytest.approx(BEDS.sum())
    ref = (PEOPLE * want_score).sum() / PEOPLE.sum()
    assert over.reference == pytest.approx(ref)
    np.testing.assert_array_equal(over.cells, want_score < 0.5 * ref)
    np.testing.assert_array_equal(over.facilities, want_ratio < 0.5 * ref)
    # Explicit values give the same.
    s2, r2, _ = planning.capacity_scores(result, category="clinic", capacities=BEDS)
    np.testing.assert_allclose(s2, score)


def test_capacity_unknown_values_leave_the_facility_out() -> None:
    result = street_result(facilities=_three_clinics(beds=["10", "约20张", None]))
    np.testing.assert_array_equal(planning.facility_capacities(result, category="clinic", capacity_column="beds"),
                                  [10.0, 20.0, np.nan])
    score, ratio, over = planning.capacity_scores(result, category="clinic", capacity_column="beds")
    w = HAND_W[:, :2]
    r = BEDS[:2] / (PEOPLE[:, None] * w).sum(axis=0)
    np.testing.assert_allclose(ratio[:2], r)
    assert np.isnan(ratio[2]) and not over.facilities[2]
    np.testing.assert_allclose(score, (w * r).sum(axis=1))


def test_capacity_from_osm_tags_and_from_the_facilities_file(tmp_path: Path) -> None:
    feats = gpd.GeoDataFrame({"osm_type": ["node"] * 3, "osm_id": [11, 12, 13],
                              "tags": [{"beds": "10"}, {"beds": "20;5"}, {"amenity": "clinic"}]},
                             geometry=[at(0, 100), at(500, 100), at(1000, 100)], crs=CRS).to_crs(4326)
    result = street_result(facilities=_three_clinics(), extract=SimpleNamespace(features=feats))
    np.testing.assert_array_equal(planning.facility_capacities(result, category="clinic", capacity_column="beds"),
                                  [10.0, 20.0, np.nan])
    # The third clinic comes from the user's file, with a "seats"-like column.
    lonlat = gpd.GeoSeries([at(1000, 100), at(600, 100)], crs=CRS).to_crs(4326)
    csv = tmp_path / "my_clinics.csv"
    pd.DataFrame({"category": ["clinic", "clinic"], "name": ["e", "x"], "lon": lonlat.x, "lat": lonlat.y,
                  "beds": [30, 99]}).to_csv(csv, index=False)
    fac = _three_clinics()
    fac.loc[2, ["source", "osm_type", "osm_id"]] = [csv.name, None, None]
    result = street_result(facilities=fac, extract=SimpleNamespace(features=feats),
                           options={"facilities": csv})
    # The run remembers where each facility came from: the third clinic is the file's first row.
    result = replace(result, model=replace(result.model, facility_file_rows=np.array([-1, -1, 0])))
    np.testing.assert_array_equal(planning.facility_capacities(result, category="clinic", capacity_column="beds"),
                                  [10.0, 20.0, 30.0])
    with pytest.raises(OptionError, match="capacity"):
        planning.capacity_scores(result, category="clinic", capacity_column="seats")
    with pytest.raises(OptionError, match="exactly one"):
        planning.capacity_scores(result, category="clinic")


# --------------------------------------------------------------------------- suggestion


def test_planning_reuses_the_model_and_reads_nothing_again(monkeypatch, toy_standard) -> None:
    import importlib

    result = street_result(facilities=_three_clinics())

    def refuse(*args, **kwargs):
        raise AssertionError("planning rebuilt or re-read something the model holds")

    for module in ("lifecircle.planning", "lifecircle.spatial.siting", "lifecircle.spatial.capacity",
                   "lifecircle.spatial.travel", "lifecircle.layers.catalogue", "lifecircle.layers.facilities",
                   "lifecircle.layers.communities", "lifecircle.layers.profiles"):
        mod = importlib.import_module(module)
        for name in ("reverse_graph", "load_catalogue", "read_facilities_file", "read_boundary", "load_profiles"):
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, refuse)
    planning.plan(result, standard=toy_standard, suggest_count=1, suggest_categories=["clinic"])
    planning.capacity_scores(result, category="clinic", capacities=BEDS)


def test_suggest_on_the_street_by_hand() -> None:
    """5-minute threshold (375 m): the clinic at x=0 serves the cells at 100 and 300 (300 people).
    Nodes at x = 600, 700, 800 each bring all three eastern cells within 375 m (1,200 people);
    ties go to the lowest node, x = 600. Nobody is left, so a second site is not proposed."""
    result = street_result(minutes=5)
    sites = planning.suggest(result, category="clinic", count=3)
    assert list(sites.columns[:4]) == ["category", "rank", "marginal_gain", "cumulative"]
    assert len(sites) == 1 and sites["marginal_gain"].iloc[0] == 1200.0
    assert sites.geometry.iloc[0].equals_exact(at(600, 100), 1e-6)
    assert sites.attrs["people_served_before"] == 300.0 and sites.attrs["people_served_after"] == 1500.0
    assert sites.crs == CRS
    _check_gains_reproduce(result, sites, "clinic")


def test_suggest_with_candidate_plots() -> None:
    result = street_result(minutes=5)
    plots = gpd.GeoDataFrame({"plot": ["far", "mid", "east"]},
                             geometry=[_box(50, 120, 90, 160), at(500, 100), at(700, 130)], crs=CRS).to_crs(4326)
    sites = planning.suggest(result, category="clinic", count=2, candidates=plots)
    # "mid" (x=500) serves 500 (0 m), 700 (200 m) = 700 people; "east" at x=700 (30 m off the street)
    # serves 500, 700, 900: 200+30, 30, 200+30 m -> 1,200 people; then "mid" adds nothing.
    assert list(sites["plot"]) == ["east"] and sites["marginal_gain"].iloc[0] == 1200.0
    _check_gains_reproduce(result, sites, "clinic")
    with pytest.raises(OptionError, match="count"):
        planning.suggest(result, category="clinic", count=0)


@pytest.fixture(scope="module")
def helsinki_clinic(helsinki_pbf: Path) -> RunResult:
    # 5 minutes: at 15 the small sample is served by one new site; 5 leaves room for several.
    return run(RunOptions(osm=helsinki_pbf, categories=("clinic",), minutes=5, facility_isochrones=False),
               progress=False)


def test_suggest_gains_reproduce_on_helsinki(helsinki_clinic: RunResult) -> None:
    sites = planning.suggest(helsinki_clinic, category="clinic", count=5, spacing_m=50)
    assert len(sites) == 5
    assert sites["marginal_gain"].is_monotonic_decreasing and (sites["marginal_gain"] > 0).all()
    _check_gains_reproduce(helsinki_clinic, sites, "clinic")


def test_planning_gap_tables_on_helsinki(helsinki_clinic: RunResult) -> None:
    _, tiers = planning.standard_scores(helsinki_clinic, "gb50180")
    sites = planning.suggest(helsinki_clinic, category="clinic", count=3, spacing_m=50)
    cells, comms = outputs.planning_gap_tables(helsinki_clinic, tiers=tiers, sites=sites, lang="en")
    h = outputs.PLANNING_HEADERS["en"]
    assert list(cells[h["rank"]]) == list(range(1, len(cells) + 1))
    assert cells[h["people"]].is_monotonic_decreasing
    # Every under-served cell with people is listed, none without; served_by_site totals the
    # suggested gains.
    run_cells = helsinki_clinic.cells
    under = run_cells[run_cells["underserved"] & (run_cells["population"] > 0)]
    assert set(under["cell_id"]) <= set(cells[h["cell_id"]])
    empty = set(run_cells.loc[run_cells["population"].fillna(0) <= 0, "cell_id"])
    assert empty and not empty & set(cells[h["cell_id"]])
    assert comms[h["people_served_by_sites"]].sum() == pytest.approx(sites["cumulative"].iloc[-1], rel=1e-6)
    ranks = set(cells[h["served_by_site"]].dropna().astype(int))
    assert ranks <= set(sites["rank"])
    assert (cells[h["site_m"]] >= 0).all()
    zh_cells, zh_comms = outputs.planning_gap_tables(helsinki_clinic, tiers=tiers, sites=sites, lang="zh")
    # Helsinki's units are derived from the data: 片区, not 社区.
    assert "未达标要求" in zh_cells.columns and "片区" in zh_comms.columns and zh_cells.shape == cells.shape
    assert "社区" not in zh_comms.columns and "片区" in zh_cells.columns
    with pytest.raises(OptionError, match="lang"):
        outputs.planning_gap_tables(helsinki_clinic, lang="fr")


def test_gap_tables_tier_failures_on_the_street(toy_standard) -> None:
    result = street_result()
    _, tiers = planning.standard_scores(result, toy_standard)
    cells, comms = outputs.planning_gap_tables(result, tiers=tiers, lang="zh")
    # Nobody is under-served at 15 minutes, but every cell fails a requirement of tier a.
    assert len(cells) == 5 and list(cells["人口"]) == [500.0, 400.0, 300.0, 200.0, 100.0]
    assert list(cells["未达标要求"]) == ["甲级: 诊所"] * 3 + ["甲级: 大公园"] * 2
    failed = dict(zip(comms["社区"], comms["未达标生活圈"]))
    assert failed == {"east": "甲级: 诊所", "west": "甲级: 大公园"}


@pytest.mark.slow
def test_yuzhong_figures_and_suggestions(yuzhong_pbf: Path, yuzhong_boundary: Path, yuzhong_population: Path) -> None:
    result = run(RunOptions(osm=yuzhong_pbf, boundary=yuzhong_boundary, population=yuzhong_population,
                            categories=("clinic", "school"), facility_isochrones=False), progress=False)
    pop = result.cells["population"].to_numpy(dtype=float)
    assert 250_000 < pop.sum() < 720_000  # GHS-POP inside the district (the file covers more)
    for cat in ("clinic", "school"):
        served = _served_people(result, cat)
        assert 0 < served < pop.sum()
        assert served == pytest.approx(result.summary.categories[cat]["people_served"], rel=1e-9)
    sites = planning.suggest(result, category="clinic", count=5, spacing_m=100)
    assert len(sites) == 5 and (sites["marginal_gain"] > 0).all()
    _check_gains_reproduce(result, sites, "clinic")


def test_read_candidates(tmp_path: Path) -> None:
    from lifecircle._errors import FacilitiesFileError
    from lifecircle.layers.chinese_coords import wgs84_to_gcj02

    lon, lat = np.array([106.5700, 106.5800]), np.array([29.5550, 29.5600])
    glon, glat = wgs84_to_gcj02(lon, lat)
    csv = tmp_path / "plots.csv"
    pd.DataFrame({"地块": ["A", "B"], "经度": glon, "纬度": glat}).to_csv(csv, index=False, encoding="utf-8-sig")
    plots = planning.read_candidates(csv, crs_hint="gcj02")
    assert list(plots["地块"]) == ["A", "B"] and plots.crs.to_epsg() == 4326
    # GCJ-02 is ~300-500 m off in Chongqing; back in WGS84 within a millimetre-scale tolerance.
    np.testing.assert_allclose(plots.geometry.x, lon, atol=1e-7)
    np.testing.assert_allclose(plots.geometry.y, lat, atol=1e-7)
    gpkg = tmp_path / "plots.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[_box(0, 0, 50, 50)], crs=CRS).to_file(gpkg)
    assert planning.read_candidates(gpkg).crs == CRS
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat\n106.5,abc\n", encoding="utf-8")
    with pytest.raises(FacilitiesFileError, match="rows 2"):
        planning.read_candidates(bad)
    (tmp_path / "empty.gpkg").write_bytes(b"")
    with pytest.raises(FacilitiesFileError, match="empty"):
        planning.read_candidates(tmp_path / "empty.gpkg")
