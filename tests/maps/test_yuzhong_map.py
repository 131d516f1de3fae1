"""The map at the size of a real district: Yuzhong's streets, grid and building facilities.

The streets, the study area and the facilities (hospital and school footprints, markets)
are the real OSM data; the minutes are a stand-in (straight-line distance x 1.4 at
75 m/min) because this test is about drawing, not about the computation. It checks the
size budget (under 10 MB), that the page stays offline and error-free in chromium, and
saves a screenshot of the Yuzhong map to tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.maps import build_map, external_resources, save_map
from lifecircle.schema import minutes_column
from tests.maps.conftest import decode_cells
from tests.synthetic import network_from_extract

pytestmark = pytest.mark.slow

CATEGORIES = ["clinic", "school", "market", "park"]  # park: none in this extract -> "no data"
THRESHOLD = 15.0


def _facilities(features: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    tags = features["tags"]

    def has(key: str, values: tuple[str, ...]) -> pd.Series:
        return tags.map(lambda t: isinstance(t, dict) and t.get(key) in values)

    picks = [
        ("clinic", has("building", ("hospital",)) | has("amenity", ("clinic", "doctors", "hospital"))),
        ("school", has("building", ("school",)) | has("amenity", ("school",))),
        ("market", has("amenity", ("marketplace",)) | has("shop", ("supermarket", "greengrocer"))),
    ]
    parts = []
    for cat, mask in picks:
        sel = features.loc[mask.to_numpy(), ["osm_id", "name", "geometry"]].copy()
        sel["category"] = cat
        parts.append(sel)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326").to_crs(crs)
    out.loc[0, "name"] = "<img src=x onerror=alert(1)>"  # the hostile name, in real company
    return out


@pytest.fixture(scope="module")
def yuzhong_inputs(yuzhong_pbf: Path, yuzhong_boundary: Path) -> dict:
    from lifecircle.layers.osm import read_osm
    from lifecircle.spatial.grid import make_grid

    osm = read_osm(yuzhong_pbf, progress=False)
    net = network_from_extract(osm)
    crs = net.crs
    area = gpd.read_file(yuzhong_boundary).to_crs(crs).union_all()
    cells = make_grid(area, cell_size_m=100.0, crs=crs)
    fac = _facilities(osm.features, crs)
    centres = shapely.centroid(cells.geometry.values)
    edge_tree = shapely.STRtree(net.edges.geometry.values)
    _, dist_edge = edge_tree.query_nearest(centres, return_distance=True, all_matches=False)
    on_network = dist_edge <= 150.0
    minutes = {}
    for cat in CATEGORIES:
        geoms = fac.geometry[fac["category"] == cat].values
        if len(geoms) == 0:
            minutes[cat] = np.full(len(cells), np.nan)
            continue
        _, d = shapely.STRtree(geoms).query_nearest(centres, return_distance=True, all_matches=False)
        m = d * 1.4 / 75.0
        m[~on_network] = np.nan
        minutes[cat] = m
    cells = cells[["cell_id", "geometry"]].copy()
    cells["access"] = np.where(on_network, "network", "no_access")
    cells["population"] = 100.0
    names = []
    bounds = area.bounds
    xs = np.linspace(bounds[0], bounds[2], 6)
    ys = np.linspace(bounds[1], bounds[3], 4)
    comm_geoms = []
    for i in range(5):
        for j in range(3):
            piece = shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]).intersection(area)
            if not piece.is_empty:
                comm_geoms.append(piece)
                names.append(f"社区{i}-{j}")
    communities = gpd.GeoDataFrame({"name": names}, geometry=comm_geoms, crs=crs)
    which = gpd.sjoin(gpd.GeoDataFrame(geometry=centres, crs=crs), communities, predicate="within", how="left")
    which = which[~which.index.duplicated()]
    cells["community"] = which["name"].fillna("").to_numpy()
    missing = []
    for k in range(len(cells)):
        lacking = [c for c in CATEGORIES[:3] if on_network[k] and not (minutes[c][k] <= THRESHOLD)]
        missing.append(",".join(lacking))
    for cat in CATEGORIES:
        cells[minutes_column(cat)] = minutes[cat]
    cells["missing"] = missing
    cells["underserved"] = cells["missing"] != ""
    for cat in CATEGORIES:
        share = cells.groupby("community")[minutes_column(cat)].agg(lambda s: float((s <= THRESHOLD).mean()))
        communities[f"share_{cat}"] = communities["name"].map(share)
        communities[f"median_{cat}"] = communities["name"].map(cells.groupby("community")[minutes_column(cat)].median())
        communities[f"p90_{cat}"] = communities["name"].map(cells.groupby("community")[minutes_column(cat)].quantile(0.9))
    communities["population"] = communities["name"].map(cells.groupby("community")["population"].sum())
    communities["has"] = [",".join(c for c in CATEGORIES[:3] if r[f"share_{c}"] >= 0.8) for _, r in communities.iterrows()]
    communities["lacks"] = [",".join(c for c in CATEGORIES[:3] if not r[f"share_{c}"] >= 0.8) for _, r in communities.iterrows()]
    # Isochrone stand-ins as complex as real ones: street lines near a category's facilities, buffered 50 m.
    iso_rows = []
    for cat in CATEGORIES[:3]:
        near = shapely.STRtree(net.edges.geometry.values).query(fac.geometry[fac["category"] == cat].buffer(900).union_all(), predicate="intersects")
        poly = shapely.union_all(shapely.buffer(net.edges.geometry.values[near], 50.0, quad_segs=4))
        iso_rows.append({"category": cat, "facility": -1, "minutes": THRESHOLD, "geometry": poly})
    # Per-facility stand-ins: the category's area clipped to 900 m around each facility.
    for cat, union in [(r["category"], r["geometry"]) for r in iso_rows]:
        for k, geom in zip(np.flatnonzero(fac["category"] == cat), fac.geometry[fac["category"] == cat], strict=True):
            iso_rows.append({"category": cat, "facility": int(k), "minutes": THRESHOLD,
                             "geometry": union.intersection(geom.centroid.buffer(900.0))})
    isochrones = gpd.GeoDataFrame(iso_rows, crs=crs)
    # Terrain stand-in: cells 10-15 min from a clinic or school "lose" it on the slopes.
    cells["terrain_lost"] = [
        ",".join(c for c in ("clinic", "school") if 10.0 < minutes[c][k] <= THRESHOLD) for k in range(len(cells))
    ]
    summary = {
        "study_area": "渝中区, 重庆市",
        "profile": "adult",
        "threshold_minutes": THRESHOLD,
        "population_source": "equal weights (test stand-in)",
        "categories": {
            c: {
                "facilities": int((fac["category"] == c).sum()),
                "people_served": float(cells.loc[cells[minutes_column(c)] <= THRESHOLD, "population"].sum()),
                "share_served": float((cells[minutes_column(c)] <= THRESHOLD).mean()),
                "no_data": int((fac["category"] == c).sum()) == 0,
            }
            for c in CATEGORIES
        },
        "data_sources": ["© OpenStreetMap contributors (ODbL)", "NASA SRTM"],
        "date": "2026-11-22",
    }
    return {
        "cells": cells,
        "communities": communities,
        "facilities": fac,
        "isochrones": isochrones,
        "edges": net.edges[["highway", "geometry"]],
        "summary": summary,
        "categories": CATEGORIES,
        "threshold_minutes": THRESHOLD,
    }


@pytest.fixture(scope="module")
def yuzhong_map(yuzhong_inputs: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    path = tmp_path_factory.mktemp("yuzhong") / "map.html"
    start = time.perf_counter()
    save_map(build_map(**yuzhong_inputs), path)
    return path, time.perf_counter() - start


def test_yuzhong_map_size_and_offline(yuzhong_map: tuple[Path, float], yuzhong_inputs: dict) -> None:
    path, seconds = yuzhong_map
    size = path.stat().st_size
    print(f"Yuzhong map: {size / 1e6:.2f} MB, {len(yuzhong_inputs['cells'])} cells, "
          f"{len(yuzhong_inputs['edges'])} street edges, built and saved in {seconds:.1f} s")
    assert size < 10_000_000
    page = path.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(block)
    parts = {k: len(json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode()) for k, v in data.items()}
    print("  data parts (MB): " + ", ".join(f"{k} {v / 1e6:.2f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])[:6]))
    assert len(data["facilityIsochrones"]["features"]) == int((yuzhong_inputs["isochrones"]["facility"] >= 0).sum())
    cells = decode_cells(data)
    assert len(cells) == len(yuzhong_inputs["cells"])
    assert sum(1 for c in cells if c["t"]) == int((yuzhong_inputs["cells"]["terrain_lost"] != "").sum())
    assert data["grid"]["placementError"] < 0.01  # metres
    assert max(len(i) for i in data["grid"]["images"]["travel"]) < 300_000
    assert external_resources(page) == []
    assert "<img src=x" not in page
    assert seconds < 30


@pytest.mark.browser
def test_yuzhong_map_in_browser(yuzhong_map: tuple[Path, float], chromium: Path, artifacts_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.maps.conftest import CHROMIUM_ARGS

    path, _ = yuzhong_map
    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file://", "data:")) else (outside.append(r.request.url), r.abort()))
        start = time.perf_counter()
        page.goto(path.resolve().as_uri())
        page.wait_for_function("window.lifecircle !== undefined", timeout=30_000)
        load_s = time.perf_counter() - start
        n_cells = page.evaluate("JSON.parse(document.getElementById('lifecircle-data').textContent).grid.count")
        assert page.locator(".leaflet-lc-cells-pane img.lc-raster").count() == 1
        # Switching the category swaps the cells' image; it must stay quick.
        start = time.perf_counter()
        page.evaluate("window.lifecircle.setCategory(1)")
        switch_s = time.perf_counter() - start
        page.evaluate("window.lifecircle.setCategory(0)")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts_dir / "map_yuzhong.png"))
        browser.close()
    print(f"Yuzhong map: loaded in {load_s:.1f} s, {n_cells} cells, category switch {switch_s * 1000:.0f} ms")
    assert outside == [] and errors == []
    assert n_cells > 1000
    assert switch_s < 1.0
    assert load_s < 5.0
