"""The map in a real browser (Debian's headless chromium through Playwright), offline.

Every request that is not the file itself (or an inline ``data:`` URI) is blocked and
recorded; the tests assert there are none, that the page raises no JavaScript error,
and that the layers, the layer toggle, the category selector and the popups work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecircle.maps import build_map, save_map, style
from tests.maps.conftest import CHROMIUM_ARGS, HOSTILE, HOSTILE_COMMUNITY

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A loaded map page with what it tried to fetch and what went wrong."""

    def __init__(self, browser: object, path: Path) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("window.lifecircle !== undefined", timeout=10_000)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()

    def container_point(self, lon: float, lat: float) -> tuple[float, float]:
        """Page pixel of a WGS84 point, after centring the map on it (clear of the controls)."""
        pt = self.page.evaluate(
            "([lat, lon]) => { var m = window.lifecircle.map; m.panTo([lat, lon], {animate: false});"
            " var p = m.latLngToContainerPoint([lat, lon]);"
            " var r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
            [lat, lon],
        )
        return float(pt[0]), float(pt[1])

    def toggle(self, label: str) -> None:
        self.page.locator(".leaflet-control-layers-overlays label", has_text=label).locator("input").click()

    def clean(self) -> None:
        assert self.outside == [], f"the page tried to load from outside: {self.outside}"
        assert self.errors == [], f"JavaScript errors: {self.errors}"
        assert self.dialogs == [], f"a dialog opened (injected script?): {self.dialogs}"


@pytest.fixture()
def map_file(map_inputs: dict, tmp_path: Path) -> Path:
    path = tmp_path / "map.html"
    save_map(build_map(**map_inputs), path)
    return path


def _wgs84_point(frame, row: int) -> tuple[float, float]:
    p = frame.to_crs("EPSG:4326").geometry.iloc[row].representative_point()
    return p.x, p.y


def test_offline_page_draws_every_layer(browser: object, map_file: Path, artifacts_dir: Path) -> None:
    page = Page(browser, map_file)
    page.page.wait_for_timeout(300)
    page.clean()
    labels = page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    labels = [s.strip() for s in labels]
    assert labels == [
        "步行路网",
        "步行时间（分钟）",
        "社区覆盖率",
        "服务不足的网格",
        "15分钟等时圈：诊所/医疗",
        "15分钟等时圈：学校",
        "15分钟等时圈：公园",
        "各设施15分钟等时圈（当前类型）",  # the clinic's two per-facility rows (school: no union)
        "设施：诊所/医疗",
        "设施：学校",
        "设施：公园 (无数据)",
    ]
    assert page.count(".leaflet-lc-cells-pane img.lc-raster") == 1  # one image for all the cells
    assert page.count(".leaflet-lc-community-fill-pane path") == 2
    assert page.count(".leaflet-lc-community-line-pane path") == 2
    # 2 clinic dots + the school campus polygon and its dot; park has no data and no layer content.
    assert page.count(".leaflet-lc-facilities-pane path") == 4
    assert page.count(".leaflet-lc-edges-pane canvas") >= 1  # street tiles
    assert page.count(".leaflet-lc-underserved-pane img") == 0  # off by default
    text = page.page.locator(".lc-summary").inner_text()
    assert "渝中区 <Yuzhong>" in text and "无数据" in text
    assert "© OpenStreetMap contributors (ODbL)" in page.page.locator(".leaflet-control-attribution").inner_text()
    assert "NASA SRTM" in page.page.locator(".leaflet-control-attribution").inner_text()
    page.page.screenshot(path=str(artifacts_dir / "map_synthetic.png"))
    page.clean()


def test_layer_toggle(browser: object, map_file: Path) -> None:
    page = Page(browser, map_file)
    page.toggle(style.text("underserved", "zh"))
    assert page.count(".leaflet-lc-underserved-pane img.lc-raster") == 1  # the 15 cells counted by hand in test_build
    fill = "() => Array.from(document.querySelectorAll('.leaflet-lc-community-fill-pane path')).map(p => p.getAttribute('fill-opacity'))"
    assert page.page.evaluate(fill) == ["0", "0"]  # hidden under the cells: it would only tint them
    page.toggle(style.text("travel_time", "zh"))
    assert page.count(".leaflet-lc-cells-pane img") == 0
    assert page.page.evaluate(fill) == ["0.55", "0.55"]  # coverage shows once the cells are off
    page.toggle(style.text("travel_time", "zh"))
    assert page.count(".leaflet-lc-cells-pane img") == 1
    page.toggle("15分钟等时圈：诊所/医疗")
    assert page.count(".leaflet-lc-isochrones-pane path") == 1  # the clinic union only
    page.clean()


def test_category_selector_switches_image_tooltip_and_legend(browser: object, map_file: Path, map_inputs: dict) -> None:
    page = Page(browser, map_file)
    images = page.page.evaluate("JSON.parse(document.getElementById('lifecircle-data').textContent).grid.images.travel")
    src = "() => document.querySelector('.leaflet-lc-cells-pane img').getAttribute('src')"
    assert page.page.evaluate(src) == images[0]
    lon, lat = _wgs84_point(map_inputs["cells"], 5)
    tip = f"window.lifecircle.cellTooltip({lat}, {lon})"
    assert "诊所/医疗: 22.0 分钟" in page.page.evaluate(tip)  # clinic 22 min
    page.page.select_option("#lc-category", label="学校")
    assert page.page.evaluate(src) == images[1]
    assert "学校: 不可达" in page.page.evaluate(tip)  # no school reachable from cell 5
    assert page.page.locator(".lc-legend-cat").first.inner_text() == "学校"
    page.page.select_option("#lc-category", label="公园 (无数据)")
    assert page.page.evaluate(src) == images[2]
    assert "公园: 无数据" in page.page.evaluate(tip)  # not "everything under-served"
    page.clean()


def test_hover_shows_the_cell_tooltip(browser: object, map_file: Path, map_inputs: dict) -> None:
    page = Page(browser, map_file)
    x, y = page.container_point(*_wgs84_point(map_inputs["cells"], 14))
    page.page.mouse.move(x, y)
    tip = page.page.locator(".lc-cell-tip")
    tip.wait_for(timeout=5_000)
    text = tip.inner_text()
    assert "解放碑社区" in text and "诊所/医疗: 10.0 分钟" in text and "缺少: 学校" in text  # school 21 min: under-served
    x, y = page.container_point(*_wgs84_point(map_inputs["cells"], 0))
    text = _hover_text(page, x, y, lambda text: "2.0 分钟" in text)
    assert "诊所/医疗: 2.0 分钟" in text and "缺少" not in text
    # Over a community outside the cells (cells off), the tooltip names the community.
    page.toggle(style.text("travel_time", "zh"))
    x, y = page.container_point(*_wgs84_point(map_inputs["cells"], 14))
    assert _hover_text(page, x, y, lambda text: text == "解放碑社区") == "解放碑社区"
    page.clean()


def _hover_text(page: Page, x: float, y: float, done: object, tries: int = 10) -> str:
    """The cell tooltip's text once ``done(text)`` holds, nudging the pointer by a pixel between
    tries: the page draws the tip on the next mouse move after its data are ready."""
    text = ""
    for i in range(tries):
        page.page.mouse.move(x + 1 + (i % 2), y)
        page.page.wait_for_timeout(150)
        tips = page.page.locator(".lc-cell-tip")
        text = tips.first.inner_text() if tips.count() else ""
        if done(text):  # type: ignore[operator]
            return text
    return text


def test_community_popup_lists_has_and_lacks(browser: object, map_file: Path, map_inputs: dict) -> None:
    page = Page(browser, map_file)
    page.toggle(style.text("travel_time", "zh"))  # uncover the community fill
    x, y = page.container_point(*_wgs84_point(map_inputs["communities"], 1))
    page.page.mouse.click(x, y)
    popup = page.page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert page.page.locator(".leaflet-popup-content .lc-popup-title").inner_text() == HOSTILE_COMMUNITY
    assert "有: 无" in text and "缺: 诊所/医疗、学校" in text and "无数据: 公园" in text
    assert "25%" in text and "18.0" in text
    assert page.count(".leaflet-popup-content b:text-is('\"community\"')") == 0  # the <b> stayed text
    page.clean()


def test_cell_popup_has_minutes_and_community(browser: object, map_file: Path, map_inputs: dict) -> None:
    page = Page(browser, map_file)
    x, y = page.container_point(*_wgs84_point(map_inputs["cells"], 5))
    page.page.mouse.click(x, y)
    popup = page.page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "22.0 分钟" in text and "不可达" in text and "缺少: 诊所/医疗、学校" in text
    assert HOSTILE_COMMUNITY in text and "缺: 诊所/医疗、学校" in text
    page.clean()


def test_hostile_facility_name_shows_as_text(browser: object, map_file: Path, map_inputs: dict) -> None:
    page = Page(browser, map_file)
    x, y = page.container_point(*_wgs84_point(map_inputs["facilities"], 0))
    page.page.mouse.click(x, y)
    title = page.page.locator(".leaflet-popup-content .lc-popup-title")
    title.wait_for(timeout=5_000)
    assert title.inner_text() == HOSTILE
    # The facility's tooltip, not the cell's under it (the cell's hover may have drawn first).
    page.page.wait_for_function("document.querySelectorAll('.lc-cell-tip').length === 0", timeout=3_000)
    assert page.count(".leaflet-popup-content img") == 0
    assert page.count(".leaflet-container img[src='x']") == 0
    page.page.wait_for_timeout(200)
    page.clean()  # includes: no alert dialog


def test_english_page(browser: object, map_inputs: dict, tmp_path: Path) -> None:
    path = tmp_path / "map_en.html"
    save_map(build_map(**map_inputs, lang="en"), path)
    page = Page(browser, path)
    labels = [s.strip() for s in page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert labels[:4] == ["Walking network", "Walking time (minutes)", "Community coverage", "Under-served cells"]
    assert "Walking time to Clinic / health care (minutes)" in page.page.locator(".lc-legend").inner_text()
    page.clean()


def test_online_basemap_blocked_offline_still_works(browser: object, map_inputs: dict, tmp_path: Path) -> None:
    # With basemap=osm the only outside requests are tiles; everything else still draws.
    path = tmp_path / "map_osm.html"
    save_map(build_map(**map_inputs, basemap="osm"), path)
    page = Page(browser, path)
    page.page.wait_for_timeout(300)
    assert page.outside and all(u.startswith("https://tile.openstreetmap.org/") for u in page.outside)
    assert page.count(".leaflet-lc-cells-pane img") == 1
    assert [e for e in page.errors if "ERR_FAILED" not in e and "Failed to load resource" not in e] == []


def test_hostile_category_name_stays_text(browser: object, map_inputs: dict, tmp_path: Path) -> None:
    # A user's own catalogue may name a category anything; it reaches the layer control,
    # the selector, the legend and popups, always as text.
    bad = "<img src=y onerror=alert(2)>"
    map_inputs["categories"] = ["clinic", bad]
    map_inputs["cells"][f"minutes_to_{bad}"] = 4.0
    map_inputs["facilities"].loc[2, "category"] = bad
    path = tmp_path / "map_bad.html"
    save_map(build_map(**map_inputs), path)
    page = Page(browser, path)
    labels = [s.strip() for s in page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert f"设施：{bad}" in labels
    page.page.select_option("#lc-category", label=bad)
    assert page.page.locator(".lc-legend-cat").first.inner_text() == bad
    assert page.count("img[src='y']") == 0
    page.page.wait_for_timeout(200)
    page.clean()


def test_terrain_sites_and_facility_isochrones(browser: object, full_inputs: dict, tmp_path: Path) -> None:
    from tests.maps.conftest import HOSTILE_SITE

    path = tmp_path / "map_full.html"
    save_map(build_map(**full_inputs), path)
    page = Page(browser, path)
    labels = [s.strip() for s in page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert labels.index("服务不足的网格") + 1 == labels.index("计入地形后失去覆盖的网格")
    assert labels[-1] == "建议新增设施点"
    # Terrain layer: off by default; on, it hatches the 3 cells counted by hand (test_build_extras).
    assert page.count(".leaflet-lc-terrain-pane img") == 0
    page.toggle("计入地形后失去覆盖的网格")
    assert page.count(".leaflet-lc-terrain-pane img.lc-raster") == 1  # the 3 cells counted by hand (test_build_extras)
    # A suggested site's marker may be drawn over this cell: hide the sites so the click reaches the cell.
    page.toggle("建议新增设施点")
    x, y = page.container_point(*_wgs84_point(full_inputs["cells"], 16))
    page.page.mouse.click(x, y)
    popup = page.page.locator(".leaflet-popup-content").last
    page.page.locator(".leaflet-popup-content", has_text="计入地形后失去").wait_for(timeout=5_000)
    assert "计入地形后失去: 诊所/医疗、学校" in popup.inner_text()
    page.page.evaluate("window.lifecircle.map.closePopup()")
    page.toggle("建议新增设施点")
    # Suggested sites: on by default, one numbered marker each; popups are text.
    assert page.count(".leaflet-lc-sites-pane .lc-site") == 4
    assert sorted(page.page.locator(".lc-site span").all_inner_texts()) == ["1", "1", "1", "2"]
    x, y = page.container_point(*_wgs84_point(full_inputs["sites"], 3))  # the clinic plot, rank 1
    page.page.mouse.click(x, y)
    title = page.page.locator(".leaflet-popup-content .lc-popup-title")
    title.wait_for(timeout=5_000)
    assert title.inner_text() == "建议新增设施点 #1"
    assert "新增覆盖人口: 1,322" in page.page.locator(".leaflet-popup-content").inner_text()
    page.page.evaluate("window.lifecircle.map.closePopup()")
    x, y = page.container_point(*_wgs84_point(full_inputs["sites"], 2))
    page.page.mouse.click(x, y)
    page.page.locator(".leaflet-popup-content", has_text=HOSTILE_SITE).wait_for(timeout=5_000)
    assert page.count("img[src='z']") == 0
    # Per-facility isochrones follow the category selector.
    page.toggle("各设施15分钟等时圈（当前类型）")
    assert page.count(".leaflet-lc-facility-isochrones-pane path") == 2
    page.page.select_option("#lc-category", label="学校")
    assert page.count(".leaflet-lc-facility-isochrones-pane path") == 0
    page.page.select_option("#lc-category", label="诊所/医疗")
    assert page.count(".leaflet-lc-facility-isochrones-pane path") == 2
    # Tiers in the community popup.
    page.toggle(style.text("travel_time", "zh"))
    page.toggle("计入地形后失去覆盖的网格")
    page.page.evaluate("window.lifecircle.map.closePopup()")
    x, y = page.container_point(*_wgs84_point(full_inputs["communities"], 0))
    page.page.mouse.click(x, y)
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "15分钟生活圈" in text and "达标" in text and "缺少: 菜市场/超市、小学" in text
    page.page.wait_for_timeout(200)
    page.page.screenshot(path=str(tmp_path / "full.png"))
    page.clean()


def test_template_and_script_text_in_names_stays_text(browser: object, map_inputs: dict, tmp_path: Path) -> None:
    # Names that look like a template, or that try to end the data block and start a script,
    # show as written in the popup, the tooltip and the summary; nothing runs.
    math_name, img, close = "{{ 7*7 }} {# x", "<img src=x onerror=window.__pwned=1>", "</script><script>window.__pwned=1</script>"
    map_inputs["facilities"].loc[0, "name"] = f"{math_name} {img}"
    map_inputs["communities"].loc[1, "name"] = close
    map_inputs["cells"]["community"] = map_inputs["cells"]["community"].replace(HOSTILE_COMMUNITY, close)
    map_inputs["summary"]["study_area"] = "{% for x in range(3) %}loop{% endfor %}"
    path = tmp_path / "map_template.html"
    save_map(build_map(**map_inputs), path)
    page = Page(browser, path)
    x, y = page.container_point(*_wgs84_point(map_inputs["facilities"], 0))
    page.page.mouse.click(x, y)
    title = page.page.locator(".leaflet-popup-content .lc-popup-title")
    title.wait_for(timeout=5_000)
    assert title.inner_text() == f"{math_name} {img}"
    page.page.evaluate("window.lifecircle.map.closePopup()")
    page.toggle(style.text("travel_time", "zh"))  # uncover the community fill
    x, y = page.container_point(*_wgs84_point(map_inputs["communities"], 1))
    page.page.mouse.click(x, y)
    title.wait_for(timeout=5_000)
    assert title.inner_text() == close
    assert page.page.title() == "15分钟生活圈步行可达性 · {% for x in range(3) %}loop{% endfor %}"
    assert "{% for x in range(3) %}loop{% endfor %}" in page.page.locator(".lc-summary").inner_text()
    page.page.wait_for_timeout(200)
    assert page.page.evaluate("typeof window.__pwned") == "undefined"
    assert page.count("img[src='x']") == 0
    page.clean()
