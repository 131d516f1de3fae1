"""Unit tests of the map page's HTML: offline, escaped, complete, small, deterministic."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle._errors import MapAssetError, NoCrsError, OptionError
from lifecircle.layers.chinese_coords import wgs84_to_gcj02
from lifecircle.maps import assets as assets_mod
from lifecircle.maps import build_map, check_offline, external_resources, save_map, style
from tests.maps.conftest import HOSTILE, HOSTILE_COMMUNITY, image_colour_at, synthetic_cells_by_id

_DATA_RE = re.compile(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', re.S)


def _page(m: folium.Map) -> str:
    return m.get_root().render()


def _data(page: str) -> dict:
    blocks = _DATA_RE.findall(page)
    assert len(blocks) == 1, "one data block per page"
    return json.loads(blocks[0])


@pytest.fixture()
def page(map_inputs: dict) -> str:
    return _page(build_map(**map_inputs))


def test_page_links_nothing_outside(page: str) -> None:
    assert external_resources(page) == []
    check_offline(page)
    assert not re.search(r"<script[^>]+src=", page, re.I)
    assert not re.search(r"<link[^>]+href=", page, re.I)
    for cdn in ("cdn.jsdelivr", "code.jquery", "cdnjs", "bootstrapcdn", "unpkg", "fontawesome"):
        assert cdn not in page
    # Leaflet itself is inside the page, with its images as data URIs.
    assert "L.version" in page or 'version="1.9' in page.replace(" ", "")
    assert "data:image/png;base64," in page


def test_external_resources_finds_cdn_links() -> None:
    html = (
        '<script src="https://cdn.example.org/x.js"></script><link rel="stylesheet" href="//cdn.example.org/x.css">'
        "<style>@import url(https://fonts.example.org/f.css); .a{background:url(data:image/png;base64,AA)}</style>"
        '<script type="application/json">{"n": "<script src=\\"https://evil\\">"}</script>'
    )
    assert external_resources(html) == ["//cdn.example.org/x.css", "https://cdn.example.org/x.js", "https://fonts.example.org/f.css"]
    with pytest.raises(MapAssetError, match="3 resource"):
        check_offline(html)


def test_hostile_names_are_escaped(page: str) -> None:
    # The raw markup never appears anywhere in the file, neither does any "<" from data.
    assert HOSTILE not in page
    assert "<img" not in page.lower()
    assert "<b>" not in _DATA_RE.findall(page)[0]
    data = _data(page)
    popups = [f["properties"]["html"] for f in data["facilities"]["features"]]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in p for p in popups)
    east = next(f["properties"] for f in data["communities"]["features"] if f["properties"]["n"] == HOSTILE_COMMUNITY)
    assert "Hostile &lt;b&gt;&quot;community&quot;&lt;/b&gt; &amp; co" in east["html"]
    assert "渝中区 &lt;Yuzhong&gt;" in data["summaryHtml"]
    # The title element is escaped too.
    assert "<title>15分钟生活圈步行可达性 · 渝中区 &lt;Yuzhong&gt;</title>" in page


def test_layers_and_features(page: str) -> None:
    data = _data(page)
    assert [c["name"] for c in data["categories"]] == ["clinic", "school", "park"]
    assert [c["noData"] for c in data["categories"]] == [False, False, True]
    assert data["grid"]["count"] == 24 and data["grid"]["lattice"] | {"west": 0, "north": 0} == {
        "cols": 6, "rows": 4, "west": 0, "north": 0, "dx": 100.0, "dy": 100.0}
    assert len(data["grid"]["images"]["travel"]) == 3 and data["grid"]["images"]["terrain"] is None
    assert len(data["communities"]["features"]) == 2
    assert sorted(f["properties"]["k"] for f in data["facilities"]["features"]) == [0, 0, 1]
    # Per-facility clinic isochrones are replaced by the clinic union; the school has its own union-less row.
    assert sorted(f["properties"]["k"] for f in data["isochrones"]["features"]) == [0, 1]
    streets = data["edges"]
    assert streets["count"] == 3
    counts = np.frombuffer(base64.b64decode(streets["counts"]), "<u4")
    assert counts.tolist() == [2, 2, 2]  # straight lines: two vertices each
    assert np.frombuffer(base64.b64decode(streets["steps"]), "u1").tolist() == [0, 0, 1]
    # The first street runs 600 m east: 1,200 half-metre units times the Web Mercator scale (1/cos 29.56°).
    deltas = np.frombuffer(base64.b64decode(streets["deltas"]), "<i2").reshape(-1, 2)
    assert deltas[0, 0] == pytest.approx(1200 / np.cos(np.radians(29.5584)), abs=4)
    assert 14 < abs(deltas[0, 1]) < 24  # UTM's east is turned 0.78° from the map's here (meridian convergence)
    # The school campus polygon carries a dot so that it shows when zoomed out.
    school = next(f for f in data["facilities"]["features"] if f["properties"]["k"] == 1)
    assert school["geometry"]["type"] == "GeometryCollection"
    assert [g["type"] for g in school["geometry"]["geometries"]] == ["Polygon", "Point"]
    # The script builds every layer the map promises.
    for layer_id in ('"edges"', "layers.travel", "layers.underserved", "layers.communities", '"isochrone:"', '"facilities:"'):
        assert layer_id in page
    assert "L.control.layers(" in page


def test_cell_properties_by_hand(page: str) -> None:
    cells = synthetic_cells_by_id(_data(page))
    assert sorted(cells) == list(range(24))
    # clinic = 2 + 4 i, school = 3 + 9 j (cell = 6 j + i); park has no data -> always null.
    assert cells[0]["m"] == [2.0, 3.0, None]
    assert cells[14]["m"] == [10.0, 21.0, None]
    assert cells[5]["m"] == [22.0, None, None]  # school unreachable from cell 5
    assert cells[23]["a"] == 0 and cells[23]["m"] == [None, None, None]
    # Under-served: clinic > 15 (i >= 4) or school > 15 / unreachable (j >= 2, cell 5),
    # never the no-access cell 23, and never for the "no data" park alone.
    expected = {c for c in range(24) if (c % 6 >= 4 or c // 6 >= 2 or c == 5) and c != 23}
    assert len(expected) == 15
    assert {c for c, p in cells.items() if p["u"] == 1} == expected
    assert cells[0]["x"] == [] and cells[0]["u"] == 0  # only "park" was listed as missing
    assert cells[5]["x"] == [0, 1]
    assert cells[0]["c"] == "解放碑社区" and cells[0]["p"] == 100
    assert cells[5]["c"] == HOSTILE_COMMUNITY and cells[23]["p"] == 123


def test_images_show_each_cell_in_its_band(map_inputs: dict, page: str) -> None:
    # At every cell's centre each category's image shows the colour of the cell's band.
    data = _data(page)
    centres = map_inputs["cells"].to_crs("EPSG:4326").geometry.representative_point()
    bands = lambda m: next(b.color for b in style.MINUTE_BANDS if m < b.high)  # noqa: E731
    for cid, row in map_inputs["cells"].iterrows():
        point = centres.iloc[cid]
        for k, cat in enumerate(("clinic", "school", "park")):
            minutes = row[f"minutes_to_{cat}"]
            if cat == "park":
                colour = style.NO_DATA_COLOR
            elif row["access"] != "network":
                colour = style.NO_ACCESS_COLOR
            else:
                colour = style.UNREACHABLE_COLOR if np.isnan(minutes) else bands(minutes)
            rgba = image_colour_at(data, data["grid"]["images"]["travel"][k], point.x, point.y)
            assert "#{:02x}{:02x}{:02x}".format(*rgba[:3]) == colour and rgba[3] == 255, (cid, cat)
        under = image_colour_at(data, data["grid"]["images"]["underserved"], point.x, point.y)
        assert (under[3] > 0) == (cid in {c for c in range(24) if (c % 6 >= 4 or c // 6 >= 2 or c == 5) and c != 23})
    # Outside the grid the images are transparent.
    (south, west), _ = data["grid"]["bounds"]
    assert image_colour_at(data, data["grid"]["images"]["travel"][0], west + 1e-6, south + 1e-6)[3] == 0


def test_community_popups_list_has_and_lacks(page: str) -> None:
    comms = {f["properties"]["n"]: f["properties"] for f in _data(page)["communities"]["features"]}
    west = comms["解放碑社区"]
    assert "<b>有</b>: 诊所/医疗" in west["html"]
    assert "<b>缺</b>: 学校" in west["html"]
    assert "<b>无数据</b>: 公园" in west["html"]
    assert west["s"] == [1.0, 0.5, None]
    east = comms[HOSTILE_COMMUNITY]
    assert "<b>有</b>: 无" in east["html"] and "<b>缺</b>: 诊所/医疗、学校" in east["html"]
    assert "<td>25%</td><td>18.0</td><td>22.0</td>" in east["html"]
    assert east["hl"] in east["html"]


def test_summary_and_attribution(page: str) -> None:
    data = _data(page)
    assert data["attributions"] == [
        "© OpenStreetMap contributors (ODbL)",
        "GHS-POP (European Commission JRC)",
        "NASA SRTM",
    ]
    summary = data["summaryHtml"]
    assert "<td>2</td><td>1,543</td><td>62%</td>" in summary
    assert "<td>1</td><td>1,180</td><td>48%</td>" in summary  # 0.475 rounds to 48%
    assert "公园</th><td>0</td><td colspan=\"2\">无数据" in summary
    assert "2026-11-22" in summary and "GHS-POP 2015" in summary


def test_english_labels(map_inputs: dict) -> None:
    data = _data(_page(build_map(**map_inputs, lang="en")))
    assert [c["label"] for c in data["categories"]] == ["Clinic / health care", "School", "Park"]
    assert data["text"]["travel_time"] == "Walking time (minutes)"
    assert "Share served" in data["summaryHtml"] and "<b>Lacks</b>: Clinic / health care, School" in json.dumps(data, ensure_ascii=False)


def test_unknown_category_uses_raw_name_escaped(map_inputs: dict) -> None:
    map_inputs["categories"] = ["clinic", "<x>"]
    map_inputs["cells"]["minutes_to_<x>"] = 1.0
    map_inputs["facilities"].loc[2, "category"] = "<x>"
    page = _page(build_map(**map_inputs))
    assert "<x>" not in page
    data = _data(page)
    assert data["categories"][1]["label"] == "<x>"  # raw in JSON (escaped \u003c), escaped by esc() in the page
    assert "&lt;x&gt;" in data["legendHtml"]


def test_coordinates_rounded_and_page_small(page: str) -> None:
    block = _DATA_RE.findall(page)[0]
    coords = re.findall(r"\[(1\d\d\.\d+),(\d\d\.\d+)\]", block)
    assert len(coords) > 50
    assert max(len(x.split(".")[1]) for pair in coords for x in pair) <= 6
    assert len(page.encode("utf-8")) < 400_000  # Leaflet (~150 kB) + a few kB of data


def test_same_inputs_same_bytes(map_inputs: dict) -> None:
    assert _page(build_map(**map_inputs)) == _page(build_map(**map_inputs))


def test_inputs_not_modified(map_inputs: dict) -> None:
    before = {k: v.copy() for k, v in map_inputs.items() if isinstance(v, gpd.GeoDataFrame)}
    build_map(**map_inputs, basemap="gaode")
    for key, frame in before.items():
        assert frame.equals(map_inputs[key]), key


def test_reprojects_any_crs(map_inputs: dict) -> None:
    a = _data(_page(build_map(**map_inputs)))
    map_inputs["cells"] = map_inputs["cells"].to_crs("EPSG:4547")  # CGCS2000 / 3-degree GK CM 105E
    b = _data(_page(build_map(**map_inputs)))
    # Recognised as the same grid in its UTM zone: the same cells, images and place (to 1e-9°).
    assert synthetic_cells_by_id(a) == synthetic_cells_by_id(b)
    assert a["grid"]["images"] == b["grid"]["images"]
    assert np.abs(np.array(a["grid"]["bounds"]) - np.array(b["grid"]["bounds"])).max() < 1e-9


def test_cells_must_be_a_grid(map_inputs: dict) -> None:
    cells = map_inputs["cells"].copy()
    cells.loc[3, "geometry"] = shapely.box(0, 0, 50, 50).buffer(1)  # a circle among the squares
    with pytest.raises(OptionError, match="regular grid"):
        build_map(**{**map_inputs, "cells": cells})


def test_save_writes_atomically(map_inputs: dict, tmp_path: Path) -> None:
    m = build_map(**map_inputs)
    out = tmp_path / "map.html"
    save_map(m, out)
    assert out.read_text(encoding="utf-8") == _page(m)
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    # A page that would load a CDN script is refused; the previous file stays and no temp file is left.
    m.get_root().header.add_child(folium.Element('<script src="https://cdn.example.org/x.js"></script>'))
    with pytest.raises(MapAssetError, match="cdn.example.org"):
        save_map(m, out)
    assert "cdn.example.org" not in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    with pytest.raises(OptionError, match="does not exist"):
        save_map(m, tmp_path / "nope" / "map.html")


def test_missing_leaflet_is_a_clear_error(map_inputs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xstatic.pkg.leaflet as xleaflet

    monkeypatch.setattr(xleaflet, "BASE_DIR", str(tmp_path))
    assets_mod.leaflet_assets.cache_clear()
    try:
        with pytest.raises(MapAssetError, match="leaflet.js"):
            build_map(**map_inputs)
    finally:
        monkeypatch.undo()
        assets_mod.leaflet_assets.cache_clear()


def test_online_basemaps(map_inputs: dict) -> None:
    osm = _page(build_map(**map_inputs, basemap="osm"))
    assert external_resources(osm) == []  # tile URLs are not page resources
    data = _data(osm)
    assert data["tiles"][0]["url"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert data["edges"] is None  # the street base layer is only for basemap "none"
    key = "0123456789abcdef0123456789abcdef"
    tdt = _data(_page(build_map(**map_inputs, basemap="tianditu", tianditu_key=key)))
    assert len(tdt["tiles"]) == 2 and all(f"tk={key}" in t["url"] for t in tdt["tiles"])
    assert "LAYER=cva" in tdt["tiles"][1]["url"]
    assert any("天地图" in a for a in tdt["attributions"])
    with pytest.raises(OptionError, match="Tianditu key"):
        build_map(**map_inputs, basemap="tianditu")
    with pytest.raises(OptionError, match="letters and digits"):
        build_map(**map_inputs, basemap="tianditu", tianditu_key='abc"def;alert(1)')


def test_gaode_shifts_overlays_for_display_only(map_inputs: dict) -> None:
    plain = _data(_page(build_map(**map_inputs)))
    gaode = _data(_page(build_map(**map_inputs, basemap="gaode")))
    p = plain["facilities"]["features"][0]["geometry"]["coordinates"]
    g = gaode["facilities"]["features"][0]["geometry"]["coordinates"]
    lon, lat = wgs84_to_gcj02(p[0], p[1])
    assert g == pytest.approx([float(lon), float(lat)], abs=1.1e-6)
    assert abs(g[0] - p[0]) > 0.003  # about 360 m east at Jiefangbei: a real shift
    # The cell images move with them, within a pixel, and show the same cells there.
    (south, west), (north, east) = plain["grid"]["bounds"]
    (gs, gw), (gn, ge) = gaode["grid"]["bounds"]
    slon, slat = wgs84_to_gcj02((west + east) / 2, (south + north) / 2)
    assert (gw + ge) / 2 == pytest.approx(float(slon), abs=3e-4) and (gs + gn) / 2 == pytest.approx(float(slat), abs=3e-4)
    cell = map_inputs["cells"].to_crs("EPSG:4326").geometry.representative_point().iloc[5]
    shifted = wgs84_to_gcj02(cell.x, cell.y)
    assert image_colour_at(gaode, gaode["grid"]["images"]["travel"][0], float(shifted[0]), float(shifted[1])) == \
        image_colour_at(plain, plain["grid"]["images"]["travel"][0], cell.x, cell.y)
    # The inputs (the data that get saved) are untouched: still UTM.
    assert map_inputs["facilities"].crs == "EPSG:32648"


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"lang": "fr"}, OptionError, "lang must be one of zh, en"),
        ({"basemap": "google"}, OptionError, "basemap must be one of"),
        ({"threshold_minutes": 0}, OptionError, "threshold_minutes"),
        ({"categories": "clinic"}, OptionError, "categories"),
        ({"summary": None}, OptionError, "summary"),
    ],
)
def test_bad_options(map_inputs: dict, change: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        build_map(**{**map_inputs, **change})


def test_bad_frames(map_inputs: dict) -> None:
    cells = map_inputs["cells"]
    with pytest.raises(OptionError, match="cells lacks column minutes_to_school"):
        build_map(**{**map_inputs, "cells": cells.drop(columns="minutes_to_school")})
    with pytest.raises(OptionError, match="cells lacks column.*underserved"):
        build_map(**{**map_inputs, "cells": cells.drop(columns="underserved")})
    with pytest.raises(NoCrsError, match="cells has no CRS"):
        build_map(**{**map_inputs, "cells": gpd.GeoDataFrame(cells.drop(columns="geometry"), geometry=list(cells.geometry))})
    # The no-data category needs no minutes column.
    build_map(**{**map_inputs, "cells": cells.drop(columns="minutes_to_park")})


def test_optional_layers_may_be_absent(map_inputs: dict) -> None:
    page = _page(build_map(**{**map_inputs, "communities": None, "isochrones": None, "edges": None}))
    data = _data(page)
    assert data["communities"]["features"] == [] and data["isochrones"]["features"] == [] and data["edges"] is None


def test_band_labels_and_colours() -> None:
    assert [b.label() for b in style.MINUTE_BANDS] == ["0–5", "5–10", "10–15", "15–20", "20–30", "30+"]
    assert len({b.color for b in style.MINUTE_BANDS}) == 6
    labels = {"clinic": {"zh": "诊所", "en": "Clinic", "colour": "#123456"}}
    assert style.category_label("clinic", "zh", labels) == "诊所" and style.category_label("mystery", "en", labels) == "mystery"
    colours = [style.category_color(c, ["clinic", "a", "b"], labels) for c in ("clinic", "a", "b")]
    assert colours[0] == "#123456" and len(set(colours)) == 3


def test_empty_geometry_rows_are_skipped(map_inputs: dict) -> None:
    fac = map_inputs["facilities"].copy()
    fac.loc[1, "geometry"] = shapely.Point()  # an empty point cannot be drawn
    data = _data(_page(build_map(**{**map_inputs, "facilities": fac})))
    assert len(data["facilities"]["features"]) == 2


def test_no_data_from_summary_list(map_inputs: dict) -> None:
    # The pipeline's summary lists categories whose facilities are all off the network.
    summary = dict(map_inputs["summary"], no_data=["school", "park"])
    summary["categories"] = {k: dict(v) for k, v in summary["categories"].items()}
    summary["categories"]["school"]["no_data"] = False
    data = _data(_page(build_map(**{**map_inputs, "summary": summary})))
    assert [c["noData"] for c in data["categories"]] == [False, True, True]
    cells = synthetic_cells_by_id(data)
    assert cells[5]["x"] == [0]  # only the clinic counts as missing now
    assert "学校</th><td>1</td><td colspan=\"2\">无数据" in data["summaryHtml"]


def test_pipeline_column_names(map_inputs: dict) -> None:
    # lifecircle.spatial.coverage names the columns minutes_to_<category>.
    cells = map_inputs["cells"].rename(columns={f"minutes_{c}": f"minutes_to_{c}" for c in ("clinic", "school", "park")})
    data = _data(_page(build_map(**{**map_inputs, "cells": cells})))
    assert synthetic_cells_by_id(data)[14]["m"] == [10.0, 21.0, None]


def test_fallback_weights_are_not_called_people(map_inputs: dict) -> None:
    people = _page(build_map(**map_inputs, lang="en"))
    # The summary panel travels inside the page's JSON, with < and > escaped.
    cell = "\\u003cth\\u003e{}\\u003c/th\\u003e"
    assert cell.format("People served") in people and cell.format("Weight served (not people)") not in people
    summary = dict(map_inputs["summary"], population_kind="floor_area")
    weights = _page(build_map(**{**map_inputs, "summary": summary}, lang="en"))
    assert cell.format("Weight served (not people)") in weights and cell.format("People served") not in weights


def test_likely_incomplete_share_is_a_lower_bound(map_inputs: dict) -> None:
    map_inputs["summary"]["categories"]["clinic"]["likely_incomplete"] = True
    summary = _data(_page(build_map(**map_inputs)))["summaryHtml"]
    assert "<td>≥ 62% <small class=\"lc-incomplete\">(数据可能不全，覆盖率为下限)</small></td>" in summary
    assert "<td>1</td><td>1,180</td><td>48%</td>" in summary  # school: not flagged, unchanged
    english = _data(_page(build_map(**map_inputs, lang="en")))["summaryHtml"]
    assert "≥ 62% <small class=\"lc-incomplete\">(likely incomplete data: coverage is a lower bound)" in english


def test_no_cells_no_grid(map_inputs: dict) -> None:
    data = _data(_page(build_map(**{**map_inputs, "cells": map_inputs["cells"].iloc[:0]})))
    assert data["grid"] is None
    assert data["bounds"] is not None  # the view falls back to the communities
