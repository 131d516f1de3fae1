"""The map's optional layers: cells lost to terrain, suggested sites, a standard's tiers in
community popups, and per-facility isochrones (HTML level; the browser is in test_browser)."""

from __future__ import annotations

import json
import logging
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from lifecircle._errors import OptionError
from lifecircle.maps import build as build_mod
from lifecircle.maps import build_map, check_offline, style
from tests.maps.conftest import HOSTILE_COMMUNITY, HOSTILE_REQ, HOSTILE_SITE, LABELS, image_colour_at, synthetic_cells_by_id

_DATA_RE = re.compile(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', re.S)


def _page(m) -> str:
    return m.get_root().render()


def _data(page: str) -> dict:
    return json.loads(_DATA_RE.findall(page)[0])


@pytest.fixture()
def full_page(full_inputs: dict) -> str:
    return _page(build_map(**full_inputs))


# --- terrain --------------------------------------------------------------------------


def test_no_terrain_column_no_terrain_layer(map_inputs: dict) -> None:
    page = _page(build_map(**map_inputs))
    data = _data(page)
    assert data["grid"]["images"]["terrain"] is None and data["grid"]["lost"] is None
    assert all(c["t"] == [] for c in synthetic_cells_by_id(data).values())
    assert style.text("terrain_lost", "zh") not in data["legendHtml"]
    assert "lc-terrain-table" not in data["summaryHtml"]
    # A run without a DEM writes the keys as None: still no table.
    summary = dict(map_inputs["summary"], terrain_comparison=None, cells_losing_coverage_to_terrain=None)
    assert "lc-terrain-table" not in _data(_page(build_map(**{**map_inputs, "summary": summary})))["summaryHtml"]


def test_terrain_lost_cells_by_hand(full_page: str, full_inputs: dict) -> None:
    data = _data(full_page)
    lost = {cid: c["t"] for cid, c in synthetic_cells_by_id(data).items() if c["t"]}
    # 13 lists only the no-data park and 17 an unknown category: not drawn.
    assert lost == {4: [0], 12: [1], 16: [0, 1]}
    # The terrain image covers exactly those cells (hatched: not transparent at their centres).
    centres = full_inputs["cells"].to_crs("EPSG:4326").geometry.representative_point()
    shown = {cid for cid in range(24)
             if image_colour_at(data, data["grid"]["images"]["terrain"], centres.iloc[cid].x, centres.iloc[cid].y)[3] > 0}
    assert shown == {4, 12, 16}
    assert data["labels"]["terrain"] == "计入地形后失去覆盖的网格"
    assert "计入地形后失去覆盖的网格" in data["legendHtml"] and "平地成人15分钟内可达" in data["legendHtml"]
    assert 'addOverlay("terrain"' in full_page


def test_terrain_summary_table(full_page: str) -> None:
    summary = _data(full_page)["summaryHtml"]
    assert "地形的影响：15分钟内可达人口比例" in summary
    assert "<th>平地·成人</th><th>地形·成人</th><th>地形·老人</th><th>地形·轮椅</th>" in summary
    assert "<tr><th>诊所/医疗</th><td>80%</td><td>62%</td><td>41%</td><td>5%</td></tr>" in summary
    # NaN shows as a dash; 0.475 rounds to 48%, 0 is 0%.
    assert "<tr><th>学校</th><td>55%</td><td>48%</td><td>–</td><td>0%</td></tr>" in summary
    assert '<th>公园</th><td colspan="4">无数据</td>' in summary
    assert "计入地形后失去覆盖的网格数: <b>3</b>" in summary


def test_terrain_english(full_inputs: dict) -> None:
    data = _data(_page(build_map(**full_inputs, lang="en")))
    assert data["labels"]["terrain"] == "Cells that lose coverage when terrain is counted"
    assert "<th>flat adult</th><th>terrain adult</th><th>terrain elderly</th><th>terrain wheelchair</th>" in data["summaryHtml"]


# --- suggested sites ------------------------------------------------------------------


def test_sites_numbered_sorted_and_escaped(full_page: str, full_inputs: dict) -> None:
    assert HOSTILE_SITE not in full_page and "<img" not in full_page.lower()
    feats = _data(full_page)["sites"]["features"]
    # Drawn categories in their order (clinic, school), then others; by rank within.
    assert [f["properties"]["r"] for f in feats] == ["1", "2", "1", "1"]
    assert [f["properties"]["col"] for f in feats[:3]] == [
        LABELS["clinic"]["colour"], LABELS["clinic"]["colour"], LABELS["school"]["colour"],
    ]
    first = feats[0]["properties"]["html"]
    assert "建议新增设施点 #1" in first and "<div>诊所/医疗</div>" in first
    assert "新增覆盖人口: <b>1,322</b>" in first  # 1321.5 people
    assert "新增覆盖人口: <b>88</b>" in feats[2]["properties"]["html"]
    assert "&lt;img src=z onerror=alert(3)&gt;" in feats[3]["properties"]["html"]
    assert all(f["geometry"]["type"] == "Point" for f in feats)
    # The plot (a polygon) is drawn at a point inside it.
    plot = full_inputs["sites"].to_crs("EPSG:4326").geometry.iloc[3]
    assert plot.contains(shapely.Point(feats[0]["geometry"]["coordinates"]))
    assert "建议新增设施点" in _data(full_page)["legendHtml"]


def test_no_sites_no_layer(map_inputs: dict) -> None:
    data = _data(_page(build_map(**map_inputs)))
    assert data["sites"] is None and "建议新增设施点" not in data["legendHtml"]
    empty = gpd.GeoDataFrame({"category": [], "rank": [], "marginal_gain": []}, geometry=[], crs="EPSG:32648")
    assert _data(_page(build_map(**map_inputs, sites=empty)))["sites"]["features"] == []


def test_bad_sites(map_inputs: dict, full_inputs: dict) -> None:
    with pytest.raises(OptionError, match="sites lacks column.*marginal_gain"):
        build_map(**map_inputs, sites=full_inputs["sites"].drop(columns="marginal_gain"))
    with pytest.raises(OptionError, match="sites must be a GeoDataFrame"):
        build_map(**map_inputs, sites=pd.DataFrame(full_inputs["sites"].drop(columns="geometry")))


# --- standard tiers -------------------------------------------------------------------


def test_tiers_in_community_popups(full_page: str) -> None:
    comms = {f["properties"]["n"]: f["properties"]["html"] for f in _data(full_page)["communities"]["features"]}
    west = comms["解放碑社区"]
    assert "<b>生活圈标准</b>" in west
    assert '<tr class="lc-tier-pass"><th>15分钟生活圈</th><td style="color:#1a7837"><b>达标</b></td><td></td></tr>' in west
    assert "<th>10分钟生活圈</th>" in west and "<b>未达标</b>" in west
    assert '<span class="lc-lacks"><b>缺少</b>: 菜市场/超市、小学</span>' in west
    east = comms[HOSTILE_COMMUNITY]
    assert "<b>未知</b>" in east and "未评估: 社区卫生服务中心" in east
    assert "<b>缺少</b>: 幼儿园、&lt;b&gt;x&lt;/b&gt;" in east
    assert HOSTILE_REQ not in full_page
    # The standard's order of tiers within a community is kept (15 then 10).
    assert west.index("15分钟生活圈") < west.index("10分钟生活圈")


def test_tier_counts_in_summary(full_page: str) -> None:
    summary = _data(full_page)["summaryHtml"]
    # "Nowhere" is not a community of the map: not counted.
    assert "<tr><th>15分钟生活圈</th><td>达标 1 · 未达标 0 · 未知 1 · 数据不足 0</td></tr>" in summary
    assert "<tr><th>10分钟生活圈</th><td>达标 0 · 未达标 1 · 未知 0 · 数据不足 0</td></tr>" in summary
    assert "<tr><th>5分钟生活圈</th><td>达标 0 · 未达标 1 · 未知 0 · 数据不足 0</td></tr>" in summary


def test_tiers_english_and_names(full_inputs: dict) -> None:
    tiers = full_inputs["tiers"].assign(tier=["15min", "10min", "15min", "t5", "15min"], tier_name=["a", "b", "c", "Five", "e"])
    data = _data(_page(build_map(**{**full_inputs, "tiers": tiers}, lang="en")))
    east = next(f["properties"]["html"] for f in data["communities"]["features"] if f["properties"]["n"] == HOSTILE_COMMUNITY)
    assert "<th>15-min life circle</th>" in east and "<b>unknown</b>" in east
    assert "<th>Five</th>" in east  # a key that is not "<n>min" shows the tier's name
    assert "<b>Missing</b>: Kindergarten, &lt;b&gt;x&lt;/b&gt;" in east


def test_no_tiers_no_block(map_inputs: dict) -> None:
    data = _data(_page(build_map(**map_inputs)))
    assert all("生活圈标准" not in f["properties"]["html"] for f in data["communities"]["features"])
    assert "生活圈标准" not in data["summaryHtml"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.drop(columns="missing"), "tiers lacks column.*missing"),
        (lambda t: t.assign(status=["pass", "ok", "fail", "fail", "pass"]), "status must be one of pass, fail, unknown, insufficient_data; found 'ok'"),
        (lambda t: t.to_dict("list"), "tiers must be a DataFrame"),
    ],
)
def test_bad_tiers(full_inputs: dict, change, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        build_map(**{**full_inputs, "tiers": change(full_inputs["tiers"])})


# --- per-facility isochrones ----------------------------------------------------------


def test_facility_isochrones_layer(full_page: str, map_inputs: dict) -> None:
    data = _data(full_page)
    # The clinic's two per-facility rows; the school has no union, so its row is the main layer.
    assert [f["properties"] for f in data["facilityIsochrones"]["features"]] == [{"k": 0}, {"k": 0}]
    assert data["labels"]["facilityIsochrones"] == "各设施15分钟等时圈（当前类型）"
    assert "各设施15分钟等时圈（当前类型）" in data["legendHtml"]
    # Simplified at least as hard as the unions (the map's resolution, 12.5 m here): never more vertices per ring.
    union = data["isochrones"]["features"][0]["geometry"]
    per = data["facilityIsochrones"]["features"][0]["geometry"]
    assert len(per["coordinates"][0]) <= len(union["coordinates"][0])
    assert _data(_page(build_map(**map_inputs, facility_isochrones=False)))["facilityIsochrones"] is None


def test_facility_isochrones_over_budget_left_out(
    map_inputs: dict, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(build_mod, "_FACILITY_ISO_BUDGET_BYTES", 100)
    with caplog.at_level(logging.WARNING, logger="lifecircle.maps.build"):
        data = _data(_page(build_map(**map_inputs)))
    assert data["facilityIsochrones"] is None
    assert "2 per-facility isochrones exceed" in caplog.text
    assert "各设施" not in data["legendHtml"]


# --- the page as a whole --------------------------------------------------------------


def test_full_page_offline_deterministic_small(full_inputs: dict, full_page: str) -> None:
    check_offline(full_page)
    assert _page(build_map(**full_inputs)) == full_page
    assert len(full_page.encode("utf-8")) < 400_000


def test_full_inputs_not_modified(full_inputs: dict) -> None:
    before = {k: v.copy() for k, v in full_inputs.items() if isinstance(v, pd.DataFrame)}
    summary = json.dumps(full_inputs["summary"], sort_keys=True, default=str)
    build_map(**full_inputs)
    for key, frame in before.items():
        assert frame.equals(full_inputs[key]), key
    assert json.dumps(full_inputs["summary"], sort_keys=True, default=str) == summary
