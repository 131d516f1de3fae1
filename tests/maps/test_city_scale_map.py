"""The map of a city-sized grid: 300,000 cells open in headless chromium within seconds.

The grid (600 × 500 cells of 100 m, 60 km × 50 km around Chongqing's centre, less a river)
and its values are made with numpy in a second; the minutes follow a formula so that any
cell's can be checked by hand: clinic ``(col % 50) / 2``, school ``(row % 40) / 2 + 0.04``
minutes; every 7th column of row 3 reaches no school; rows 250-254 are the river (no
access). Communities are blocks of 100 × 100 cells; the streets, a lattice of 12,000 lines.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from lifecircle.maps import build_map, save_map
from tests.maps.conftest import CHROMIUM_ARGS, decode_cells

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CRS = "EPSG:32648"
COLS, ROWS, SIZE = 600, 500, 100.0
RIVER = range(250, 255)
X0, Y0 = (round(v, -2) for v in pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(106.25, 29.80))
#: Load-time bound (navigation until the page's script has run and a frame is painted).
LOAD_S = 5.0


def _clinic(col: np.ndarray) -> np.ndarray:
    return (col % 50) / 2.0


def _school(row: np.ndarray) -> np.ndarray:
    return (row % 40) / 2.0 + 0.04


def _inputs() -> dict:
    col, row = (a.ravel() for a in np.meshgrid(np.arange(COLS), np.arange(ROWS)))
    x, y = X0 + col * SIZE, Y0 - (row + 1) * SIZE
    river = np.isin(row, list(RIVER))
    clinic, school = _clinic(col).astype(float), _school(row)
    school[(row == 3) & (col % 7 == 0)] = np.nan
    clinic[river], school[river] = np.nan, np.nan
    missing = np.where(~river & ((clinic > 15) | ~(school <= 15)), "clinic", "")
    community = (row // 100) * 10 + col // 100
    cells = gpd.GeoDataFrame(
        {
            "cell_id": np.arange(len(col)),
            "community": np.char.add("社区", community.astype(str)),
            "population": (col % 9).astype(float) * 10.0,
            "access": np.where(river, "no_access", "network"),
            "minutes_to_clinic": clinic,
            "minutes_to_school": school,
            "underserved": missing != "",
            "missing": missing,
        },
        geometry=shapely.box(x, y, x + SIZE, y + SIZE),
        crs=CRS,
    )
    blocks = np.arange(50)
    bx, by = X0 + (blocks % 10) * 100 * SIZE, Y0 - (blocks // 10) * 100 * SIZE
    communities = gpd.GeoDataFrame(
        {"name": [f"社区{b}" for b in blocks], "population": 1000.0, "share_clinic": 0.5, "share_school": 0.6,
         "has": "clinic", "lacks": "school"},
        geometry=shapely.box(bx, by - 100 * SIZE, bx + 100 * SIZE, by), crs=CRS,
    )
    k = np.arange(6000)
    streets = np.concatenate([
        shapely.linestrings(np.stack([np.column_stack([X0 + (k % 600) * SIZE + 50] * 2),
                                      np.column_stack([Y0 - (k // 600) * 5000 - 10, Y0 - (k // 600 + 1) * 5000])], axis=2)),
        shapely.linestrings(np.stack([np.column_stack([X0 + (k // 500) * 5000, X0 + (k // 500 + 1) * 5000 - 10]),
                                      np.column_stack([Y0 - (k % 500) * SIZE - 50] * 2)], axis=2)),
    ])
    return {
        "cells": cells,
        "communities": communities,
        "facilities": gpd.GeoDataFrame({"category": ["clinic", "school"], "name": ["A", "B"]},
                                       geometry=[shapely.Point(X0 + 500, Y0 - 500), shapely.Point(X0 + 900, Y0 - 900)], crs=CRS),
        "isochrones": None,
        "edges": gpd.GeoDataFrame({"highway": ["footway"] * len(streets)}, geometry=streets, crs=CRS),
        "summary": {"study_area": "synthetic city", "categories": {"clinic": {"facilities": 1}, "school": {"facilities": 1}}},
        "categories": ["clinic", "school"],
        "threshold_minutes": 15,
    }


@pytest.fixture(scope="module")
def city_map(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, float]:
    inputs = _inputs()
    path = tmp_path_factory.mktemp("city") / "map.html"
    start = time.perf_counter()
    save_map(build_map(**inputs), path)
    return path, inputs, time.perf_counter() - start


def test_city_map_is_small_and_complete(city_map: tuple[Path, dict, float]) -> None:
    path, inputs, seconds = city_map
    size = path.stat().st_size
    print(f"city map: {len(inputs['cells']):,} cells, {size / 1e6:.1f} MB, built and written in {seconds:.1f} s")
    assert size < 12_000_000
    page = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', page, re.S).group(1))
    cells = decode_cells(data)
    assert len(cells) == COLS * ROWS
    # Every cell's values as the page reads them, against the formula.
    col = np.array([c["col"] for c in cells])
    row = np.array([c["row"] for c in cells])
    river = np.isin(row, list(RIVER))
    clinic = np.array([np.nan if c["m"][0] is None else c["m"][0] for c in cells])
    assert np.array_equal(np.isnan(clinic), river)
    assert np.allclose(clinic[~river], _clinic(col[~river]))
    school = np.array([np.nan if c["m"][1] is None else c["m"][1] for c in cells])
    assert np.allclose(school[~np.isnan(school)], np.round(_school(row[~np.isnan(school)]), 1))
    assert cells[3 * COLS + 14]["m"][1] is None and cells[3 * COLS + 14]["u"] == 1
    assert cells[7 * COLS + 123]["c"] == "社区1"


def test_city_map_loads_fast_and_tooltips_show_minutes(city_map: tuple[Path, dict, float], chromium: Path) -> None:
    from playwright.sync_api import sync_playwright

    path, inputs, _ = city_map
    errors: list[str] = []
    # A known cell: column 123, row 7 -> clinic 11.5, school 3.5 min, community 社区1.
    centre = inputs["cells"].geometry.iloc[7 * COLS + 123].centroid
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(centre.x, centre.y)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
        start = time.perf_counter()
        page.goto(path.resolve().as_uri(), timeout=60_000)
        page.wait_for_function("window.lifecircle !== undefined", timeout=60_000, polling=50)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        load_s = time.perf_counter() - start
        assert page.evaluate(f"window.lifecircle.cellTooltip({lat}, {lon})").count("11.5 分钟") == 1
        # Hovering over the cell on screen shows its tooltip, with the selected category's minutes.
        page.evaluate(f"window.lifecircle.map.setView([{lat}, {lon}], 16, {{animate: false}})")
        box = page.locator("#map_lifecircle").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tip = page.locator(".lc-cell-tip")
        tip.wait_for(timeout=5_000)
        assert "社区1" in tip.inner_text() and "11.5 分钟" in tip.inner_text()
        page.select_option("#lc-category", index=1)
        page.mouse.move(box["x"] + box["width"] / 2 + 1, box["y"] + box["height"] / 2)
        page.wait_for_timeout(100)
        assert "3.5 分钟" in tip.inner_text()
        browser.close()
    print(f"city map: loaded in {load_s:.2f} s")
    assert errors == []
    assert load_s < LOAD_S
