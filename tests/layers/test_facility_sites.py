"""Facilities as sites: campus merging, exclusions with reasons, POI exports, completeness.

Synthetic features live in UTM 48N (EPSG:32648) near Yuzhong, so sizes are metres.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from lifecircle._errors import CatalogueError, FacilitiesFileError, OptionError
from lifecircle.layers.catalogue import (
    Catalogue,
    ExpectedDensity,
    assess_completeness,
    load_catalogue,
    match_sites,
    select,
)
from lifecircle.layers.chinese_coords import wgs84_to_gcj02
from lifecircle.layers.facilities import (
    completeness_for,
    find_facility_sites,
    read_facilities_file,
)
from lifecircle.layers.poi_types import classify_poi, load_poi_types
from lifecircle.outputs import facility_qa_table, mark_incomplete

X0, Y0 = 600_000.0, 3_270_000.0


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def square(x: float, y: float, side: float) -> shapely.Polygon:
    return box(X0 + x, Y0 + y, X0 + x + side, Y0 + y + side)


def feats(rows: list[tuple[str, int, dict[str, str], shapely.Geometry]], crs: str = "EPSG:32648") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"osm_type": [r[0] for r in rows], "osm_id": np.array([r[1] for r in rows], dtype=np.int64),
         "name": [r[2].get("name") for r in rows], "tags": [r[2] for r in rows]},
        geometry=[r[3] for r in rows], crs=crs,
    )


# --------------------------------------------------------------------------- campus merge

def campus() -> gpd.GeoDataFrame:
    """Two hospital campuses 500 m apart, plus a named clinic next to the second.

    Campus A: four building=hospital footprints of 30 m with 20 m gaps (①门诊楼, ②住院楼,
    two unnamed) in a row; campus B: two unnamed footprints 10 m apart at x=600. The
    clinic "仁和诊所" (amenity=clinic, a node) is 30 m from campus B's east building.
    A fifth hospital building stands alone 200 m north of campus A.
    """
    h = {"building": "hospital"}
    return feats([
        ("way", 1, {**h, "name": "①门诊楼"}, square(0, 0, 30)),
        ("way", 2, {**h, "name": "②住院楼"}, square(50, 0, 30)),
        ("way", 3, dict(h), square(100, 0, 30)),
        ("way", 4, dict(h), square(150, 0, 30)),
        ("way", 5, dict(h), square(600, 0, 30)),
        ("way", 6, dict(h), square(640, 0, 30)),
        ("node", 7, {"amenity": "clinic", "name": "仁和诊所"}, Point(X0 + 700, Y0 + 15)),
        ("way", 8, dict(h), square(0, 230, 30)),
    ])


def test_campus_buildings_become_one_site_each(catalogue: Catalogue) -> None:
    sites, qa = match_sites(campus(), [catalogue["clinic"]])
    # A (4 parts), B (2 parts) joined to the named clinic 30 m away, the lone building.
    assert sorted(sites["parts"].tolist()) == [1, 3, 4]
    assert len(sites) == 3
    a = sites[sites["parts"] == 4].iloc[0]
    assert a["osm_id"] in (1, 2, 3, 4) and a["name"] in ("①门诊楼", "②住院楼")
    # The parts stay separate outlines (entrances), not one dissolved blob.
    assert isinstance(a.geometry, shapely.MultiPolygon) and len(a.geometry.geoms) == 4
    assert a.geometry.area == pytest.approx(4 * 900)
    b = sites[sites["parts"] == 3].iloc[0]
    assert (b["osm_type"], b["osm_id"], b["name"]) == ("node", 7, "仁和诊所")  # the facility, not a part
    assert b["site_id"] == "clinic/node/7"
    # Every merged feature is listed with its site and reason; single-part sites are not.
    merged = qa[qa["action"] == "merged"]
    assert sorted(merged["osm_id"].tolist()) == sorted({1, 2, 3, 4, 5, 6} - {a["osm_id"]})
    assert merged["reason"].str.contains("within 50 m").all()
    assert set(qa.loc[qa["osm_id"].isin([5, 6]), "site_id"]) == {"clinic/node/7"}
    assert 8 not in qa["osm_id"].tolist()


def test_part_distance_is_the_rule(catalogue: Catalogue) -> None:
    # With 10 m, only campus B's buildings (10 m apart) stay together, now out of the
    # clinic's reach (30 m); campus A's 20 m gaps split it into four.
    sites, _ = match_sites(campus(), [catalogue["clinic"]], part_distance_m=10)
    assert sorted(sites["parts"].tolist()) == [1, 1, 1, 1, 1, 1, 2]


def test_parts_never_bridge_two_named_facilities(catalogue: Catalogue) -> None:
    h = {"building": "hospital"}
    f = feats([
        ("node", 1, {"amenity": "hospital", "name": "甲医院"}, Point(X0, Y0)),
        ("way", 2, dict(h), square(20, -10, 20)),
        ("way", 3, dict(h), square(60, -10, 20)),
        ("node", 4, {"amenity": "hospital", "name": "乙医院"}, Point(X0 + 100, Y0)),
    ])
    sites, _ = match_sites(f, [catalogue["clinic"]])
    assert sorted(sites["name"].tolist()) == ["乙医院", "甲医院"]
    assert sites["parts"].sum() == 4


def test_inside_a_site_polygon_and_same_name(catalogue: Catalogue) -> None:
    f = feats([
        ("way", 1, {"amenity": "hospital", "name": "第一人民医院"}, square(0, 0, 200)),
        ("way", 2, {"building": "hospital", "name": "第一人民医院门诊部"}, square(10, 10, 30)),
        ("node", 3, {"amenity": "hospital", "name": "第一人民医院"}, Point(X0 + 260, Y0 + 100)),  # 60 m out
        ("node", 4, {"amenity": "hospital", "name": "第一人民医院"}, Point(X0 + 500, Y0 + 100)),  # 300 m out
    ])
    sites, qa = match_sites(f, [catalogue["clinic"]])
    assert sorted(sites["parts"].tolist()) == [1, 3]
    reasons = dict(zip(qa["osm_id"], qa["reason"]))
    assert reasons[2].startswith("inside way/1")
    assert reasons[3].startswith("same name")
    # The building inside the campus adds no outline of its own.
    big = sites[sites["parts"] == 3].geometry.iloc[0]
    assert len(big.geoms) == 2 and big.area == pytest.approx(200 * 200 + np.pi * 4, rel=1e-2)


def test_sites_in_degrees_measure_metres(catalogue: Catalogue) -> None:
    f = campus().to_crs(4326)
    sites, qa = match_sites(f, [catalogue["clinic"]])
    assert sorted(sites["parts"].tolist()) == [1, 3, 4]
    assert sites.crs == f.crs and qa.crs == f.crs


def test_bad_distance_rejected(catalogue: Catalogue) -> None:
    with pytest.raises(OptionError, match="part_distance_m"):
        match_sites(campus(), [catalogue["clinic"]], part_distance_m=-1)


# --------------------------------------------------------------------------- exclusions

def test_market_excludes_wholesale_and_department_stores(catalogue: Catalogue) -> None:
    f = feats([
        ("node", 1, {"amenity": "marketplace", "name": "大阳沟菜市场"}, Point(X0, Y0)),
        ("node", 2, {"amenity": "marketplace", "name": "大正小商品市场"}, Point(X0 + 500, Y0)),
        ("way", 3, {"amenity": "marketplace", "name": "菜园坝水果市场"}, square(1000, 0, 300)),
        ("node", 4, {"shop": "supermarket", "name": "Galerie ROBINSON"}, Point(X0 + 2000, Y0)),
        ("node", 5, {"shop": "supermarket", "name": "重庆百货超市"}, Point(X0 + 2500, Y0)),
        ("node", 6, {"shop": "supermarket", "wholesale": "yes", "name": "永辉"}, Point(X0 + 3000, Y0)),
        ("node", 7, {"shop": "supermarket", "name": "永辉超市"}, Point(X0 + 3500, Y0)),
    ])
    sites, qa = match_sites(f, [catalogue["market"]])
    assert sorted(sites["osm_id"].tolist()) == [1, 7]
    excluded = qa[qa["action"] == "excluded"].set_index("osm_id")
    assert sorted(excluded.index) == [2, 3, 4, 5, 6]
    assert "wholesale" in excluded.loc[6, "reason"]
    assert "department store" in excluded.loc[4, "reason"]
    assert "批发" in excluded.loc[2, "reason"] or "wholesale" in excluded.loc[2, "reason"]
    assert excluded["site_id"].isna().all()


def test_primary_care_excludes_dental_and_cosmetic(catalogue: Catalogue) -> None:
    f = feats([
        ("node", 1, {"amenity": "clinic", "name": "解放碑社区卫生服务中心"}, Point(X0, Y0)),
        ("node", 2, {"amenity": "clinic", "name": "华美口腔门诊"}, Point(X0 + 500, Y0)),
        ("node", 3, {"amenity": "hospital", "name": "艺星医疗美容医院"}, Point(X0 + 1000, Y0)),
        ("node", 4, {"amenity": "clinic", "healthcare": "dentist"}, Point(X0 + 1500, Y0)),
        ("node", 5, {"amenity": "hospital", "name": "爱尔眼科医院"}, Point(X0 + 2000, Y0)),
    ])
    sites, qa = match_sites(f, select(catalogue, "clinic,community_health"))
    assert sites.loc[sites["category"] == "clinic", "osm_id"].tolist() == [1]
    assert sites.loc[sites["category"] == "community_health", "osm_id"].tolist() == [1]
    ex = qa[(qa["action"] == "excluded") & (qa["category"] == "clinic")]
    assert sorted(ex["osm_id"]) == [2, 3, 4, 5]


def test_exclude_list_with_reasons_in_user_catalogue(tmp_path: Path) -> None:
    p = tmp_path / "mine.yaml"
    p.write_text(
        "categories:\n  market:\n    label_zh: 市场\n    label_en: Market\n    colour: \"#123456\"\n"
        "    rules: [{amenity: marketplace}]\n    exclude:\n      - name: {regex: 夜市}\n"
        "        reason: night market\n      - amenity: marketplace\n        opening_hours: \"Su 06:00-09:00\"\n",
        encoding="utf-8")
    cat = load_catalogue(extra=p)
    f = feats([
        ("node", 1, {"amenity": "marketplace", "name": "南滨夜市"}, Point(X0, Y0)),
        ("node", 2, {"amenity": "marketplace", "opening_hours": "Su 06:00-09:00"}, Point(X0 + 500, Y0)),
        ("node", 3, {"amenity": "marketplace"}, Point(X0 + 900, Y0)),
    ])
    sites, qa = match_sites(f, [cat["market"]])
    assert sites["osm_id"].tolist() == [3]
    reasons = dict(zip(qa["osm_id"], qa["reason"]))
    assert reasons[1] == "night market"
    assert reasons[2] == "amenity=marketplace and opening_hours=Su 06:00-09:00"


@pytest.mark.parametrize("bad", ["exclude: []", "exclude: [3]", "exclude:\n      - name: x\n        reason: 5",
                                 "expected_per_10k: 2", "expected_per_10k: {value: -1}",
                                 "expected_per_10k: {value: 1, verified: maybe}"])
def test_bad_exclude_and_expected_rejected(tmp_path: Path, bad: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("categories:\n  x:\n    label_zh: 甲\n    label_en: X\n    colour: \"#123456\"\n"
                 f"    rules: [{{amenity: x}}]\n    {bad}\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="bad.yaml"):
        load_catalogue(extra=p)


def test_qa_table_is_spreadsheet_safe(catalogue: Catalogue, tmp_path: Path) -> None:
    from lifecircle.spreadsheets import write_csv

    f = feats([("node", 1, {"amenity": "marketplace", "name": "=HYPERLINK(\"x\") 批发"}, Point(X0, Y0))])
    _, qa = match_sites(f.to_crs(4326), [catalogue["market"]])
    table = facility_qa_table(qa.assign(source="osm"))
    write_csv(table, tmp_path / "facility_qa.csv")  # as write_outputs does
    written = pd.read_csv(tmp_path / "facility_qa.csv", encoding="utf-8-sig")
    assert written.loc[0, "name"].startswith("'=")
    assert table.loc[0, "action"] == "excluded"
    assert list(table.columns[:7]) == ["osm_type", "osm_id", "name", "category", "action", "reason", "site_id"]
    assert 106 < table.loc[0, "lon"] < 107


# --------------------------------------------------------------------------- Amap / Baidu exports

AMAP = """id,name,type,typecode,address,location
B001,较场口社区卫生服务中心,医疗保健服务;综合医院;卫生院,090102,较场口,"{0}"
B002,李氏口腔诊所,医疗保健服务;诊所;诊所,090300,民生路,"{1}"
B003,大阳沟菜市场,购物服务;综合市场;菜市场,060703,学田湾,"{2}"
B004,大正小商品市场,购物服务;综合市场;小商品市场,060701,朝天门,"{3}"
B005,人和街小学,科教文化服务;学校;小学,141203,人和街,"{4}"
B006,某某宾馆,住宿服务;宾馆酒店;宾馆酒店,100100,中山路,"{5}"
"""
WGS = [(106.5780, 29.5560), (106.5750, 29.5600), (106.5640, 29.5650), (106.5860, 29.5680),
       (106.5500, 29.5600), (106.5600, 29.5550)]


def amap_csv(tmp_path: Path) -> Path:
    lon, lat = wgs84_to_gcj02(np.array([p[0] for p in WGS]), np.array([p[1] for p in WGS]))
    p = tmp_path / "amap_pois.csv"
    p.write_text(AMAP.format(*[f"{x:.6f},{y:.6f}" for x, y in zip(lon, lat)]), encoding="utf-8")
    return p


def test_amap_export_read_by_type_and_code(tmp_path: Path, catalogue: Catalogue) -> None:
    out = read_facilities_file(amap_csv(tmp_path), catalogue=catalogue, crs_hint="gcj02")
    assert out["name"].tolist() == ["较场口社区卫生服务中心", "李氏口腔诊所", "大阳沟菜市场", "人和街小学"]
    assert out["category"].tolist() == ["clinic", "clinic", "market", "school"]
    # GCJ-02 "lng,lat" in one column, converted back to WGS84 (sub-metre).
    for g, (x, y) in zip(out.geometry, [WGS[i] for i in (0, 1, 2, 4)]):
        assert abs(g.x - x) < 1e-5 and abs(g.y - y) < 1e-5
    raw = read_facilities_file(amap_csv(tmp_path), catalogue=catalogue)  # no hint: offsets of ~500 m stay
    assert abs(raw.geometry.iloc[0].x - WGS[0][0]) > 1e-3


def test_amap_two_columns_and_user_types(tmp_path: Path) -> None:
    p = tmp_path / "baidu.csv"
    p.write_text("名称,tag,经度,纬度\n甲诊所,医疗;诊所,106.57,29.55\n乙驿站,生活服务;驿站,106.58,29.56\n",
                 encoding="utf-8")
    cat = load_catalogue()
    out = read_facilities_file(p, catalogue=cat, crs_hint="bd09")
    assert out["category"].tolist() == ["clinic"]
    mine = tmp_path / "mine.yaml"
    mine.write_text("categories:\n  post:\n    label_zh: 驿站\n    label_en: Parcel station\n"
                    "    colour: \"#654321\"\n    rules: [{amenity: post_office}]\n"
                    "poi_types:\n  驿站: post\n  诊所: null\n", encoding="utf-8")
    out2 = read_facilities_file(p, catalogue=load_catalogue(extra=mine))
    assert out2["category"].tolist() == ["post"]


def test_poi_lookup_order() -> None:
    table = load_poi_types({"060703": "park"})
    got = classify_poi(["购物服务;综合市场;菜市场", "购物服务;综合市场;小商品市场", "购物服务;综合市场;综合市场",
                        "医疗保健服务;专科医院;口腔医院", "", "风景名胜;公园广场;公园"],
                       ["060703", "060701", "", "090202", "141204", "110101"], table)
    # A user code wins; 小商品市场 says "not a facility" before 综合市场 says market; the
    # middle level is the last resort; specialist hospitals are not primary care.
    assert got.tolist() == ["park", None, "market", None, "kindergarten", "park"]
    assert "090300" in load_poi_types().unverified and "110101" not in load_poi_types().unverified


def test_poi_file_without_known_types_is_refused(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "x.csv"
    p.write_text("name,type,location\n宾馆,住宿服务;宾馆酒店;宾馆酒店,\"106.5,29.5\"\n", encoding="utf-8")
    with pytest.raises(FacilitiesFileError, match="poi_types"):
        read_facilities_file(p, catalogue=catalogue)
    p.write_text("name,type,location\n宾馆,住宿服务,106.5\n", encoding="utf-8")
    with pytest.raises(FacilitiesFileError, match="longitude,latitude"):
        read_facilities_file(p, catalogue=catalogue)


def test_poi_names_go_through_exclusions(tmp_path: Path, catalogue: Catalogue) -> None:
    features = feats([], crs="EPSG:4326")
    user = read_facilities_file(amap_csv(tmp_path), catalogue=catalogue, crs_hint="gcj02")
    allf, qa = find_facility_sites(features, catalogue=catalogue, categories=["clinic", "market"], crs="EPSG:32648",
                                   area=box(X0, Y0 - 50_000, X0 + 100_000, Y0 + 50_000), reach_m=0.0,
                                   user_facilities=user, source_name="amap_pois.csv")
    assert allf["name"].tolist() == ["较场口社区卫生服务中心", "大阳沟菜市场"]
    assert allf["site_id"].tolist() == ["clinic/amap_pois.csv/1", "market/amap_pois.csv/3"]
    assert qa[["name", "action"]].values.tolist() == [["李氏口腔诊所", "excluded"]]
    assert "dental" in qa["reason"].iloc[0]
    # Written beside OSM rows, the ids stay integers and the file's rows have none.
    osm = feats([("node", 12020336069, {"shop": "supermarket", "name": "Galerie ROBINSON"},
                  Point(X0, Y0))]).to_crs(4326)
    _, qa_osm = match_sites(osm, [load_catalogue()["market"]])
    both = facility_qa_table(pd.concat([qa_osm.assign(source="osm"), qa.to_crs(4326)], ignore_index=True))
    text = both.to_csv(index=False)
    assert "node,12020336069,Galerie ROBINSON" in text and ".0," not in text
    assert both["osm_id"].isna().tolist() == [False, True]


# --------------------------------------------------------------------------- completeness

def test_completeness_flags_far_below_expectation(catalogue: Catalogue) -> None:
    cats = select(catalogue, "clinic,school,market,elderly_care")
    got = assess_completeness({"clinic": 4, "school": 10, "market": 2}, 200_000, cats)
    # clinic: 0.2 per 10,000 against 1.0 -> 20 %: likely incomplete.
    assert got["clinic"]["per_10k"] == pytest.approx(0.2)
    assert got["clinic"]["ratio"] == pytest.approx(0.2) and got["clinic"]["likely_incomplete"] is True
    # school: 0.5 per 10,000 against 0.5 -> complete enough.
    assert got["school"]["likely_incomplete"] is False
    assert got["market"]["likely_incomplete"] is True
    assert got["elderly_care"]["facilities"] == 0 and got["elderly_care"]["likely_incomplete"] is True
    assert got["clinic"]["expected_verified"] is False and "GB 50180" in got["clinic"]["expected_source"]
    # Without people (weights), nothing can be judged.
    assert assess_completeness({"clinic": 4}, None, cats)["clinic"]["likely_incomplete"] is None


def test_completeness_threshold_is_half_by_default() -> None:
    from lifecircle.layers.catalogue import Category, Condition, Rule

    c = Category("x", "甲", "X", "#123456", (Rule((Condition("amenity", ("x",)),)),),
                 expected=ExpectedDensity(1.0, "test", True))
    # 4 per 100,000 people = 0.4 per 10,000 = 40 % of 1.0: below half.
    assert assess_completeness({"x": 4}, 100_000, [c])["x"]["likely_incomplete"] is True
    assert assess_completeness({"x": 5}, 100_000, [c])["x"]["ratio"] == pytest.approx(0.5)
    assert assess_completeness({"x": 5}, 100_000, [c])["x"]["likely_incomplete"] is False
    assert assess_completeness({"x": 4}, 100_000, [c], below=0.3)["x"]["likely_incomplete"] is False
    with pytest.raises(OptionError):
        assess_completeness({}, 1.0, [c], below=0)


def test_completeness_counts_sites_inside_the_area(catalogue: Catalogue) -> None:
    fac = gpd.GeoDataFrame({"category": ["clinic", "clinic", "clinic"]},
                           geometry=[Point(10, 10), Point(20, 20), Point(500, 500)], crs="EPSG:32648")
    got = completeness_for(fac, area=box(0, 0, 100, 100), people=20_000, categories=["clinic"],
                           catalogue=catalogue)
    assert got["clinic"]["facilities"] == 2 and got["clinic"]["likely_incomplete"] is False


def test_incomplete_headers_say_lower_bound() -> None:
    table = pd.DataFrame({"share_within_clinic": [0.3], "share_within_school": [0.5], "minutes_to_clinic": [3.0]})
    out = mark_incomplete(table, ["clinic"], lang="en")
    assert list(out.columns) == ["share_within_clinic (likely incomplete data: coverage is a lower bound, ≥)",
                                 "share_within_school",
                                 "minutes_to_clinic (likely incomplete data: coverage is a lower bound, ≥)"]
    assert out.iloc[0, 0] == 0.3


# --------------------------------------------------------------------------- invariants

_BUILDINGS = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(5, 40), st.sampled_from(["", "①门诊楼", "甲医院"])),
    min_size=1, max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blocks=_BUILDINGS, seed=st.integers(0, 1000))
def test_every_feature_in_exactly_one_site_whatever_the_order(blocks: list, seed: int) -> None:
    clinic = load_catalogue()["clinic"]
    rows = []
    for i, (x, y, side, name) in enumerate(blocks):
        tags = {"building": "hospital", **({"name": name} if name else {})}
        rows.append(("way", i + 1, tags, square(x * 25.0, y * 25.0, float(side))))
    f = feats(rows)
    sites, qa = match_sites(f, [clinic])
    assert int(sites["parts"].sum()) == len(f)
    assert sites["site_id"].is_unique
    listed = qa[qa["action"].isin(["site", "merged"])]
    assert len(listed) == int(sites.loc[sites["parts"] > 1, "parts"].sum())
    assert set(listed["site_id"]) == set(sites.loc[sites["parts"] > 1, "site_id"])
    shuffled = f.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    again, _ = match_sites(shuffled, [clinic])
    assert again["site_id"].tolist() == sites["site_id"].tolist()
    assert again["parts"].tolist() == sites["parts"].tolist()


def test_school_excludes_driving_training_and_colleges(catalogue: Catalogue) -> None:
    names = ["人和街小学", "重庆师范大学附属小学", "巴蜀中学", "东方驾校", "新东方培训学校", "重庆医科大学",
             "重庆工商职业技术学院"]
    f = feats([("node", i + 1, {"amenity": "school", "name": n}, Point(X0 + 500 * i, Y0)) for i, n in enumerate(names)])
    sites, qa = match_sites(f, [catalogue["school"]])
    assert sites["name"].tolist() == names[:3]
    assert sorted(qa.loc[qa["action"] == "excluded", "name"]) == sorted(names[3:])
