"""Tests of community scoring against a standard (lifecircle.spatial.standards)."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle._errors import NoCrsError, OptionError
from lifecircle.layers.standards import Standard, load_standard
from lifecircle.spatial.standards import (
    minutes_column,
    requirement_facilities,
    score_communities,
    score_requirements,
)
from tests.synthetic import network_from_extract

TOY = """
id: toy
title: toy standard
tiers:
  - key: t10
    verified: true
    requirements:
      - {key: kg, category: kindergarten, threshold_m: 300, verified: true}
      - {key: school, category: primary_school, fallback_categories: [school], threshold_minutes: 10, verified: false}
  - key: t15
    verified: true
    requirements:
      - {key: park, category: park, threshold_minutes: 15, min_area_m2: 10000, verified: true}
      - {key: clinic, category: clinic, threshold_minutes: 15, verified: true}
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Standard:
    path = tmp_path_factory.mktemp("std") / "toy.yaml"
    path.write_text(textwrap.dedent(TOY), encoding="utf-8")
    return load_standard(path)


def _cells() -> pd.DataFrame:
    """Community A: 1,000 people in 3 cells; B: 100 in 2; C: nobody; one cell in no community.

    Kindergarten threshold 300 m = 4.0 min at 4.5 km/h: A's cells at 3.9 and 4.0 min meet it
    (400 people), the one at 4.01 does not; both of B's meet it.
    School (only the fallback column minutes_to_school exists), 10 min: all of A (10 <= 10), half of B.
    Parks >= 1 ha, 15 min: A's 100 + 600 people (the NaN cell is unreachable); all of B.
    """
    return pd.DataFrame({
        "community": ["A", "A", "A", "B", "B", "C", None],
        "population": [100.0, 300.0, 600.0, 50.0, 50.0, 0.0, 1000.0],
        "minutes_to_kindergarten": [3.9, 4.0, 4.01, 1.0, 2.0, 1.0, 1.0],
        "minutes_to_school": [1.0, 10.0, 5.0, 11.0, 3.0, 1.0, 1.0],
        "minutes_to_park_ge10000m2": [14.0, np.nan, 15.0, 1.0, 1.0, 1.0, 1.0],
    })


def _share(long: pd.DataFrame, community: str, requirement: str) -> float:
    row = long[(long["community"] == community) & (long["requirement"] == requirement)]
    assert len(row) == 1
    return float(row["share"].iloc[0])


def test_shares_match_direct_count(toy: Standard) -> None:
    long = score_requirements(_cells(), toy, speed_kmh=4.5)
    assert list(long["community"].unique()) == ["A", "B", "C"]  # the no-community cell is left out
    assert list(long["requirement"][:4]) == ["kg", "school", "park", "clinic"]
    assert _share(long, "A", "kg") == pytest.approx(400 / 1000)
    assert _share(long, "B", "kg") == pytest.approx(1.0)
    assert _share(long, "A", "school") == pytest.approx(1.0)
    assert _share(long, "B", "school") == pytest.approx(0.5)
    assert _share(long, "A", "park") == pytest.approx(700 / 1000)
    assert np.isnan(_share(long, "A", "clinic"))  # no minutes_to_clinic column
    # Unreachable may also be written as inf: same result as NaN.
    inf = score_requirements(_cells().replace({"minutes_to_park_ge10000m2": {np.nan: np.inf}}), toy, speed_kmh=4.5)
    assert _share(inf, "A", "park") == pytest.approx(700 / 1000)
    a_school = long[(long["community"] == "A") & (long["requirement"] == "school")].iloc[0]
    assert a_school["category"] == "school" and a_school["column"] == "minutes_to_school"
    assert a_school["population"] == 1000 and a_school["people_within"] == 1000
    a_kg = long[(long["community"] == "A") & (long["requirement"] == "kg")].iloc[0]
    assert a_kg["threshold_minutes"] == pytest.approx(4.0)
    assert not bool(a_kg["meets_target"])
    assert long.loc[long["community"] == "C", "meets_target"].isna().all()


def test_pass_fail_missing(toy: Standard) -> None:
    out = score_communities(_cells(), toy, speed_kmh=4.5)
    rows = {(r.community, r.tier): r for r in out.itertuples()}
    assert rows[("A", "t10")].status == "fail" and rows[("A", "t10")].missing == ("kg",)
    assert rows[("B", "t10")].status == "fail" and rows[("B", "t10")].missing == ("school",)
    assert rows[("A", "t15")].status == "fail" and rows[("A", "t15")].missing == ("park",)
    assert rows[("A", "t15")].not_assessed == ("clinic",)
    assert rows[("B", "t15")].status == "unknown" and rows[("B", "t15")].missing == ()  # clinic unknown
    assert rows[("C", "t10")].status == "unknown" and rows[("C", "t10")].population == 0
    assert rows[("A", "t10")].met == 1 and rows[("A", "t10")].min_share == pytest.approx(0.4)
    assert rows[("A", "t10")].shares == {"kg": pytest.approx(0.4), "school": pytest.approx(1.0)}
    assert not out["passes"][out["status"] != "pass"].any()


SPARSE = """
id: sparse
title: a tier whose data are mostly missing
tiers:
  - key: t5
    verified: true
    requirements:
      - {key: kg, category: kindergarten, threshold_minutes: 5, verified: true}
      - {key: care, category: elderly_care, threshold_minutes: 5, verified: true}
      - {key: station, category: health_station, threshold_minutes: 5, verified: true}
"""


def test_tier_with_most_requirements_unassessed_is_insufficient_data(tmp_path) -> None:
    path = tmp_path / "sparse.yaml"
    path.write_text(textwrap.dedent(SPARSE), encoding="utf-8")
    std = load_standard(path)
    # Only kindergartens are in the data; A's people are all beyond 5 minutes of one.
    cells = pd.DataFrame({"community": ["A", "B"], "population": [100.0, 100.0],
                          "minutes_to_kindergarten": [9.0, 1.0]})
    out = score_communities(cells, std, speed_kmh=4.5).set_index("community")
    # 1 of 3 assessed: neither a fail (A) nor a pass-in-waiting (B), but insufficient data;
    # what failed and what was not assessed stay apart.
    assert out.loc["A", "status"] == "insufficient_data" and out.loc["B", "status"] == "insufficient_data"
    assert out.loc["A", "missing"] == ("kg",) and out.loc["A", "not_assessed"] == ("care", "station")
    assert out.loc["B", "missing"] == () and out.loc["A", "assessed"] == 1
    # With two of three assessed the tier is scored: A fails on its kindergarten.
    both = score_communities(cells.assign(minutes_to_elderly_care=[1.0, 1.0]), std, speed_kmh=4.5).set_index("community")
    assert both.loc["A", "status"] == "fail" and both.loc["B", "status"] == "unknown"
    # The share of requirements needed is a parameter.
    assert score_communities(cells, std, min_assessed=0.3, speed_kmh=4.5).set_index("community").loc["A", "status"] == "fail"
    with pytest.raises(OptionError, match="min_assessed"):
        score_communities(cells, std, min_assessed=2, speed_kmh=4.5)


def test_target_is_a_parameter(toy: Standard) -> None:
    out = score_communities(_cells(), toy, target=0.5, speed_kmh=4.5)
    rows = {(r.community, r.tier): r for r in out.itertuples()}
    assert rows[("B", "t10")].status == "pass" and rows[("B", "t10")].passes  # 0.5 >= 0.5
    assert rows[("A", "t10")].status == "fail"  # 0.4 < 0.5
    for bad in (0, 1.5, "x"):
        with pytest.raises(OptionError, match="target"):
            score_communities(_cells(), toy, target=bad, speed_kmh=4.5)


def test_pass_when_every_requirement_assessed(toy: Standard) -> None:
    cells = _cells().assign(minutes_to_clinic=[1.0, 1.0, 20.0, 15.0, 2.0, 1.0, 1.0])
    out = score_communities(cells, toy, speed_kmh=4.5)
    b15 = out[(out["community"] == "B") & (out["tier"] == "t15")].iloc[0]
    assert b15["status"] == "pass" and b15["passes"] and b15["missing"] == () and b15["not_assessed"] == ()
    a15 = out[(out["community"] == "A") & (out["tier"] == "t15")].iloc[0]
    assert a15["missing"] == ("park", "clinic")  # clinic 400/1000


def test_speed_converts_metres_only(toy: Standard) -> None:
    slow = score_requirements(_cells(), toy, speed_kmh=3.6)  # 300 m = 5 min
    assert _share(slow, "A", "kg") == pytest.approx(1.0)
    assert _share(slow, "A", "park") == pytest.approx(0.7)  # minutes threshold unchanged
    with pytest.raises(OptionError, match="speed_kmh"):
        score_requirements(_cells(), toy, speed_kmh=-1)


def test_primary_column_wins_over_fallback(toy: Standard) -> None:
    cells = _cells().assign(minutes_to_primary_school=[99.0] * 7)
    long = score_requirements(cells, toy, speed_kmh=4.5)
    assert _share(long, "A", "school") == 0.0
    assert set(long.loc[long["requirement"] == "school", "column"]) == {"minutes_to_primary_school"}


def test_total_label(toy: Standard) -> None:
    long = score_requirements(_cells(), toy, total_label="全区", speed_kmh=4.5)
    assert list(long["community"].unique()) == ["A", "B", "C", "全区"]
    assert _share(long, "全区", "kg") == pytest.approx((400 + 100) / 1100)
    with pytest.raises(OptionError, match="total_label"):
        score_requirements(_cells(), toy, total_label="A", speed_kmh=4.5)


def test_gb50180_runs_and_reports_unassessed() -> None:
    std = load_standard("gb50180")
    cells = pd.DataFrame({
        "community": ["x", "x"], "population": [10.0, 30.0],
        minutes_column("kindergarten"): [3.0, 5.0], minutes_column("school"): [6.0, 7.0],
    })
    out = score_communities(cells, std, speed_kmh=4.5)
    assert list(out["tier"]) == ["15min", "10min", "5min"]
    five = out.iloc[2]
    assert five["missing"] == ("kindergarten",)  # 10 of 40 within 4 min
    assert set(five["not_assessed"]) == {"health_station", "elderly_care", "park"}
    ten = score_requirements(cells, std, speed_kmh=4.5)
    prim = ten[ten["requirement"] == "primary_school"].iloc[0]
    assert prim["share"] == pytest.approx(10 / 40)  # 500 m = 6.67 min: only the 6-minute cell


def test_input_validation(toy: Standard) -> None:
    with pytest.raises(OptionError, match="'people'"):
        score_communities(_cells(), toy, population_col="people", speed_kmh=4.5)
    with pytest.raises(OptionError, match="finite numbers >= 0"):
        score_communities(_cells().assign(population=[1, -1, 1, 1, 1, 1, 1]), toy, speed_kmh=4.5)
    with pytest.raises(OptionError, match="finite numbers >= 0"):
        score_communities(_cells().assign(population=[1, np.nan, 1, 1, 1, 1, 1]), toy, speed_kmh=4.5)
    with pytest.raises(OptionError, match="negative minutes"):
        score_communities(_cells().assign(minutes_to_kindergarten=-1.0), toy, speed_kmh=4.5)
    with pytest.raises(OptionError, match="DataFrame"):
        score_communities([1, 2], toy, speed_kmh=4.5)  # type: ignore[arg-type]
    before = _cells()
    score_communities(before, toy, speed_kmh=4.5)
    pd.testing.assert_frame_equal(before, _cells())  # input not modified


@settings(max_examples=30, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.floats(0, 1000, allow_nan=False),
            st.one_of(st.just(float("nan")), st.floats(0, 30, allow_nan=False)),
        ),
        min_size=1, max_size=30,
    ),
    target=st.floats(0.05, 1.0),
)
def test_property_shares_are_direct_counts(toy: Standard, data: list, target: float) -> None:
    cells = pd.DataFrame(data, columns=["community", "population", "minutes_to_clinic"])
    long = score_requirements(cells, toy, target=target, speed_kmh=4.5)
    clinic = long[long["requirement"] == "clinic"].set_index("community")
    for comm, g in cells.groupby("community"):
        pop = g["population"].sum()
        within = g.loc[g["minutes_to_clinic"] <= 15, "population"].sum()
        row = clinic.loc[comm]
        assert row["people_within"] == pytest.approx(within)
        assert row["people_within"] <= row["population"] + 1e-9
        if pop > 0:
            assert row["share"] == pytest.approx(within / pop)
            assert 0 <= row["share"] <= 1 + 1e-12
            assert bool(row["meets_target"]) == (within / pop >= target - 1e-9)
        else:
            assert np.isnan(row["share"])


# --- requirement_facilities --------------------------------------------------------------


def _parks(crs: str = "EPSG:32648") -> gpd.GeoDataFrame:
    x0, y0 = 500000.0, 3270000.0
    geoms = [
        shapely.box(x0, y0, x0 + 120, y0 + 100),          # 1.2 ha
        shapely.box(x0, y0, x0 + 50, y0 + 50),            # 0.25 ha
        shapely.box(x0, y0, x0 + 250, y0 + 200),          # 5 ha
        shapely.Point(x0, y0),                             # no area
    ]
    gdf = gpd.GeoDataFrame({"name": ["p12", "p025", "p5", "pt"]}, geometry=geoms, crs="EPSG:32648",
                           index=[10, 11, 12, 13])
    return gdf.to_crs(crs)


def test_requirement_facilities_filters_by_area() -> None:
    std = load_standard("gb50180")
    parks = _parks()
    ten = requirement_facilities(parks, std.tier("10min").requirement("park"))   # >= 1 ha
    assert list(ten["name"]) == ["p12", "p5"] and list(ten.index) == [10, 12]
    assert ten["area_m2"].tolist() == pytest.approx([12000, 50000])
    fifteen = requirement_facilities(parks, std.tier("15min").requirement("park"))  # >= 5 ha
    assert list(fifteen["name"]) == ["p5"]
    everything = requirement_facilities(parks, std.tier("5min").requirement("kindergarten"))
    assert len(everything) == 4 and np.isnan(everything["area_m2"].iloc[3])
    assert "area_m2" not in parks.columns  # input not modified


def test_requirement_facilities_geographic_crs_and_area_column() -> None:
    req = load_standard("gb50180").tier("10min").requirement("park")
    geo = _parks("EPSG:4326")
    out = requirement_facilities(geo, req)
    assert list(out["name"]) == ["p12", "p5"] and out.crs == geo.crs
    assert out["area_m2"].tolist() == pytest.approx([12000, 50000], rel=1e-3)
    geo["area"] = [np.nan, np.nan, np.nan, 20000.0]  # a user's file gives the point's area
    assert list(requirement_facilities(geo, req, area_col="area")["name"]) == ["p12", "p5", "pt"]
    with pytest.raises(OptionError, match="area_col"):
        requirement_facilities(geo, req, area_col="size")
    with pytest.raises(NoCrsError):
        requirement_facilities(geo.set_crs(None, allow_override=True), req)


# --- real data: Yuzhong, Chongqing ------------------------------------------------------


def test_yuzhong_market_scoring(yuzhong_pbf, yuzhong_population) -> None:
    """Markets and supermarkets of the extract against GB 50180's 500 m, per 1 km square."""
    from lifecircle.layers.osm import read_osm
    from lifecircle.spatial.costs import flat_costs
    from lifecircle.spatial.travel import (
        facility_access_points,
        locate_on_network,
        nearest_facility,
        origin_seconds,
        reverse_graph,
    )

    ex = read_osm(yuzhong_pbf, progress=False)
    net = network_from_extract(ex)
    graph = reverse_graph(net, flat_costs(net, speed_kmh=4.5))
    tags = ex.features["tags"]
    is_market = tags.map(lambda t: t.get("amenity") == "marketplace" or t.get("shop") == "supermarket").to_numpy()
    markets = ex.features.loc[is_market, ["geometry"]].to_crs(net.crs).reset_index(drop=True)
    access = facility_access_points(markets, net)
    node_s, _ = nearest_facility(graph, access, n_facilities=len(markets), leg_speed_kmh=4.5)
    table = pd.read_csv(yuzhong_population)
    homes = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=4326).to_crs(net.crs)
    minutes = origin_seconds(graph, node_s, locate_on_network(homes, net, max_distance_m=150), access=access, leg_speed_kmh=4.5) / 60
    square = (np.floor(homes.x / 1000).astype(int).astype(str) + "_" + np.floor(homes.y / 1000).astype(int).astype(str))
    cells = pd.DataFrame({"community": square.to_numpy(), "population": table["population"].to_numpy(),
                          minutes_column("market"): minutes})
    std = load_standard("gb50180")
    long = score_requirements(cells, std, total_label="all", speed_kmh=4.5)
    market = long[long["requirement"] == "market"].set_index("community")
    threshold = 500 / 75  # 500 m at 4.5 km/h
    for comm, g in cells.groupby("community"):
        within = g.loc[g[minutes_column("market")] <= threshold, "population"].sum()
        assert market.loc[comm, "people_within"] == pytest.approx(within)
    total_within = cells.loc[cells[minutes_column("market")] <= threshold, "population"].sum()
    assert market.loc["all", "share"] == pytest.approx(total_within / cells["population"].sum())
    assert 0 < market.loc["all", "share"] < 0.5  # 9 markets cannot serve most of 720,000 people
    summary = score_communities(cells, std, total_label="all", speed_kmh=4.5)
    ten_all = summary[(summary["community"] == "all") & (summary["tier"] == "10min")].iloc[0]
    # Only 1 of 3 requirements can be assessed: insufficient data, not a fail; the market
    # still shows as missing and the others as not assessed.
    assert ten_all["status"] == "insufficient_data" and ten_all["missing"] == ("market",)
    assert set(ten_all["not_assessed"]) == {"primary_school", "park"}  # no such data: not failed
