"""The change map: inert data, escaped text, offline; in a real browser the category selector
redraws the gained and lost cells and no text from the plan runs as markup."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle.maps.assets import check_offline
from lifecircle.maps.change import build_change_map, save_change_map
from lifecircle.schema import GAINED, LOST, change_columns
from tests.maps.conftest import CHROMIUM_ARGS, HOSTILE

X0, Y0 = 651_900.0, 3_270_600.0  # Jiefangbei, UTM 48N


def _inputs() -> dict:
    cells = gpd.GeoDataFrame({"cell_id": ["a", "b", "c"], "community": [HOSTILE, "x", "y"],
                              "population_before": [10.0, 20.0, 30.0], "population_after": [10.0, 20.0, 130.0]},
                             geometry=[shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)],
                             crs=32648)
    for cat, before, after, status in (("clinic", [20.0, 10.0, 5.0], [10.0, 20.0, 5.0], [GAINED, LOST, ""]),
                                       ("school", [9.0, 9.0, np.nan], [9.0, 5.0, 12.0], ["", "", GAINED])):
        cols = change_columns(cat)
        cells[cols["before"]], cells[cols["after"]] = before, after
        cells[cols["change"]] = np.array(after) - np.array(before)
        cells[cols["status"]] = status
    facilities = gpd.GeoDataFrame({"category": ["clinic"], "name": [HOSTILE], "plan": ["added"]},
                                  geometry=[shapely.Point(X0 + 50, Y0 + 50)], crs=32648)
    links = gpd.GeoDataFrame({"kind": ["lift"], "name": ["</script><script>alert(2)</script>"], "length_m": [50.0],
                              "seconds_uv": [60.0], "seconds_vu": [60.0]},
                             geometry=[shapely.LineString([(X0, Y0), (X0 + 300, Y0 + 100)])], crs=32648)
    return {"cells": cells, "categories": ["clinic", "school"], "threshold_minutes": 15.0, "facilities": facilities,
            "links": links, "lang": "en", "labels": {"clinic": {"en": "Clinic"}, "school": {"en": "School"}}}


def test_data_block_is_inert_json_and_the_page_offline(tmp_path: Path) -> None:
    page = build_change_map(**_inputs())
    check_offline(page)
    block = re.search(r'<script type="application/json" id="change-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block
    data = json.loads(block)
    assert data["categories"] == ["clinic", "school"]
    assert [f["properties"]["st"] for f in data["changed"]["features"]] == [[1, 0], [-1, 2], [0, 1]]
    assert data["links"]["features"][0]["properties"]["n"] == "</script><script>alert(2)</script>"
    save_change_map(page, tmp_path / "change.html")
    assert (tmp_path / "change.html").read_text(encoding="utf-8") == page


@pytest.mark.browser
def test_in_a_browser_the_selector_redraws_and_nothing_runs(chromium: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = tmp_path / "change.html"
    save_change_map(build_change_map(**_inputs()), path)
    outside: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file://", "data:"))
                   else (outside.append(r.request.url), r.abort()))
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("#change-category option", state="attached")
        filled = "path.leaflet-interactive[fill='#1a9641'], path.leaflet-interactive[fill='#d7191c']"
        clinic = page.locator(filled).count()
        page.select_option("#change-category", "school")
        school = page.locator(filled).count()
        summary = page.locator("#change-summary").inner_text()
        browser.close()
    assert outside == [] and problems == []
    # clinic: one gained, one lost; school: one gained (the other only faster); plus the added clinic's green marker
    assert clinic == 3 and school == 2
    assert "threshold: 15 minutes" in summary


def test_a_city_sized_grid_draws_only_the_changed_cells_as_backdrop(monkeypatch: pytest.MonkeyPatch) -> None:
    from lifecircle.maps import change

    inputs = _inputs()
    cols = change_columns("school")
    inputs["cells"].loc[2, [cols["before"], cols["after"], cols["change"], cols["status"]]] = [5.0, 5.0, 0.0, ""]
    inputs["cells"].loc[2, change_columns("clinic")["status"]] = ""  # cell c: nothing changes

    def drawn() -> tuple[int, int]:
        page = build_change_map(**inputs)
        data = json.loads(re.search(r'id="change-data">(.*?)</script>', page, re.S).group(1))
        return len(data["cells"]["features"]), len(data["changed"]["features"])

    assert drawn() == (3, 2)
    monkeypatch.setattr(change, "CONTEXT_CELLS_MAX", 2)
    assert drawn() == (2, 2)
