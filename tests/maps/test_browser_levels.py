"""Governance levels, threshold bands and the indicator panel in a real browser (offline, hostile names)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest

import lifecircle
from lifecircle.testing import small_network_file
from tests.layers.test_units import write_levels
from tests.maps.conftest import CHROMIUM_ARGS
from tests.maps.test_browser import Page

pytestmark = pytest.mark.browser

HOSTILE_STREET = '<img src=x onerror="alert(1)">{{ 7*7 }}'


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_levels_switch_and_names_stay_text(browser: object, tmp_path: Path) -> None:
    s, c = write_levels(tmp_path)
    streets = gpd.read_file(s)
    streets.loc[0, "街道名"] = HOSTILE_STREET
    streets.to_file(tmp_path / "hostile.geojson")
    result = lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], progress=False,
                            units=[f"{tmp_path / 'hostile.geojson'}:level=street,label=街道,name=街道名,code=jd_code",
                                   f"{c}:level=community,label=社区,name=社区名,code=code,parent=jd"],
                            thresholds="clinic=5,10,15")
    lifecircle.write_outputs(result, tmp_path / "out", lang="zh")
    page = Page(browser, tmp_path / "out" / "map.html")
    labels = [t.strip() for t in page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert "街道" in labels and "社区" in labels
    page.toggle("街道")
    assert page.count(".leaflet-lc-levels-pane path") == 2  # both streets drawn
    page.page.locator(".lc-indicators summary").click()  # closed at first
    panel = page.page.locator(".lc-indicators").inner_text()
    assert "步行15分钟可达社区卫生服务设施的居民比例" in panel and "5min / 10min / 15min" not in panel
    assert "5分钟 / 10分钟 / 15分钟" in panel
    page.page.evaluate("() => { var l = window.lifecircle.layers['level:street']; l.eachLayer(function (f) {"
                       " f.openPopup(); }); }")
    popups = page.page.locator(".leaflet-popup-content").all_inner_texts()
    assert any(HOSTILE_STREET in p and "500103001" in p for p in popups)
    assert page.count(".leaflet-popup-content img") == 0  # the name is text, not markup
    page.clean()
