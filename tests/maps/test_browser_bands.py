"""The legend follows a category's own thresholds, and suggested sites show their labels
(医1, C1), in a real browser, offline; text from data stays text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecircle.maps import build_map, save_map
from tests.maps.conftest import CHROMIUM_ARGS
from tests.maps.test_browser import Page

pytestmark = pytest.mark.browser

_HOSTILE_LABEL = "<img src=q onerror=alert(5)>"


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _legend_rows(page: Page) -> list[str]:
    return [s.strip() for s in page.page.locator(".lc-legend-bands > div").all_inner_texts()]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_legend_bands_switch_with_the_category(browser: object, map_inputs: dict, tmp_path: Path, lang: str) -> None:
    own = {"school": [("10min", 10.0), ("500m", 6.25), ("<b>x</b>", 12.0)]}
    path = tmp_path / f"map_{lang}.html"
    save_map(build_map(**{**map_inputs, "lang": lang}, category_thresholds=own), path)
    page = Page(browser, path)
    fixed = _legend_rows(page)  # clinic: no thresholds of its own, the fixed minute bands
    assert fixed[:2] == ["0–5", "5–10"]
    page.page.evaluate("window.lifecircle.setCategory(1)")  # school
    # The thresholds as the language writes them (5分钟, 300米 in Chinese).
    near, far = ("500米", "10分钟") if lang == "zh" else ("500m", "10min")
    assert _legend_rows(page) == [f"≤ {near}", f"≤ {far}", "≤ <b>x</b>", "≤ 2 × <b>x</b>", "> 2 × <b>x</b>"]
    assert page.count(".lc-legend-bands b") == 0  # a hostile label stays text
    page.page.evaluate("window.lifecircle.setCategory(0)")
    assert _legend_rows(page) == fixed
    page.clean()


def test_site_labels_show_in_their_popups(browser: object, full_inputs: dict, tmp_path: Path) -> None:
    sites = full_inputs["sites"].assign(label_zh=["学1", "医2", _HOSTILE_LABEL, "医1"], label_en=["S1", "C2", "X1", "C1"])
    path = tmp_path / "map_sites.html"
    save_map(build_map(**{**full_inputs, "sites": sites}), path)
    page = Page(browser, path)
    assert page.count("img[src='q']") == 0
    texts = page.page.evaluate(
        "(() => { var out = []; window.lifecircle.layers.sites.eachLayer(function (l) {"
        " l.openPopup(); out.push(l.getPopup().getElement().innerText); l.closePopup(); }); return out; })()")
    assert any(t.startswith("建议新增设施点 #1\n医1 · ") for t in texts)
    assert any(f"{_HOSTILE_LABEL} · " in t for t in texts)
    assert page.count("img[src='q']") == 0
    page.page.wait_for_timeout(200)
    page.clean()
