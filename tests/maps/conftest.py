"""Synthetic map inputs around Jiefangbei (Yuzhong, Chongqing) in UTM 48N (EPSG:32648).

A 6 x 4 grid of 100 m cells (24 cells) split between two communities, three categories
of which ``park`` has no facility at all (it must show as "no data"), one clinic whose
name is hostile HTML, one unnamed clinic and one school campus polygon. Every value is
written out so that the tests can check it by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from lifecircle.layers.standards import load_standard
from lifecircle.outputs import category_labels, requirement_labels

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_COMMUNITY = 'Hostile <b>"community"</b> & co'
CRS = "EPSG:32648"
CATEGORIES = ["clinic", "school", "park"]
#: The bundled catalogue's labels and colours, as the writer passes them to the map.
LABELS = category_labels()
CHROMIUM = Path("/usr/bin/chromium")
#: Headless chromium that never phones home (updates, sync, safe browsing...).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# Jiefangbei, 106.5770 E 29.5570 N, in UTM 48N, snapped to the 100 m grid.
_X0, _Y0 = (round(v, -2) for v in pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(106.5770, 29.5570))
NX, NY, SIZE = 6, 4, 100.0


def _cells() -> gpd.GeoDataFrame:
    rows = []
    for j in range(NY):
        for i in range(NX):
            x, y = _X0 + i * SIZE, _Y0 + j * SIZE
            cid = j * NX + i
            clinic = 2.0 + 4.0 * i  # 2, 6, 10, 14, 18, 22 minutes along x
            school = 3.0 + 9.0 * j  # 3, 12, 21, 30 minutes along y
            access = "network"
            if cid == 23:  # the far corner is a river: no access
                access, clinic, school = "no_access", math.nan, math.nan
            if cid == 5:  # on the network, but no school can be reached from it
                school = math.nan
            missing = [c for c, v in (("clinic", clinic), ("school", school)) if access == "network" and not (v <= 15)]
            rows.append(
                {
                    "cell_id": cid,
                    "community": "解放碑社区" if i < 3 else HOSTILE_COMMUNITY,
                    "population": 100.0 + cid,
                    "access": access,
                    "minutes_to_clinic": clinic,
                    "minutes_to_school": school,
                    "minutes_to_park": math.nan,
                    # park has no data: the pipeline may or may not list it; the map must ignore it
                    "underserved": bool(missing),
                    "missing": ",".join([*missing, "park"] if access == "network" else []),
                    "geometry": shapely.box(x, y, x + SIZE, y + SIZE),
                }
            )
    return gpd.GeoDataFrame(rows, crs=CRS)


def _communities() -> gpd.GeoDataFrame:
    west = shapely.box(_X0, _Y0, _X0 + 3 * SIZE, _Y0 + NY * SIZE)
    east = shapely.box(_X0 + 3 * SIZE, _Y0, _X0 + NX * SIZE, _Y0 + NY * SIZE)
    return gpd.GeoDataFrame(
        {
            "name": ["解放碑社区", HOSTILE_COMMUNITY],
            "population": [1230.0, 1254.0],
            "share_clinic": [1.0, 0.25],
            "share_school": [0.5, 0.45],
            "share_park": [np.nan, np.nan],
            "median_clinic": [6.0, 18.0],
            "median_school": [12.0, 12.0],
            "median_park": [np.nan, np.nan],
            "p90_clinic": [10.0, 22.0],
            "p90_school": [21.0, 21.0],
            "p90_park": [np.nan, np.nan],
            "has": ["clinic", ""],
            "lacks": ["school", "clinic,school"],
        },
        geometry=[west, east],
        crs=CRS,
    )


def _facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "category": ["clinic", "clinic", "school"],
            "name": [HOSTILE, None, "人民小学"],
            "osm_id": [1001, 1002, 2001],
        },
        geometry=[
            shapely.Point(_X0 + 50, _Y0 + 150),
            shapely.Point(_X0 + 60, _Y0 + 350),
            shapely.box(_X0 + 200, _Y0 + 20, _X0 + 280, _Y0 + 80),
        ],
        crs=CRS,
    )


def _isochrones() -> gpd.GeoDataFrame:
    a = shapely.Point(_X0 + 50, _Y0 + 150).buffer(250)
    b = shapely.Point(_X0 + 60, _Y0 + 350).buffer(250)
    s = shapely.box(_X0 + 200, _Y0 + 20, _X0 + 280, _Y0 + 80).buffer(200)
    return gpd.GeoDataFrame(
        {
            "category": ["clinic", "clinic", "clinic", "school"],
            "facility": [0, 1, -1, 2],
            "minutes": [15.0] * 4,
        },
        geometry=[a, b, a.union(b), s],
        crs=CRS,
    )


def _edges() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"highway": ["residential", "footway", "steps"]},
        geometry=[
            shapely.LineString([(_X0, _Y0 + 150), (_X0 + 600, _Y0 + 150)]),
            shapely.LineString([(_X0 + 250, _Y0), (_X0 + 250, _Y0 + 400)]),
            shapely.LineString([(_X0 + 400, _Y0 + 150), (_X0 + 450, _Y0 + 300)]),
        ],
        crs=CRS,
    )


def _summary() -> dict:
    return {
        "study_area": "渝中区 <Yuzhong>",
        "profile": "adult",
        "threshold_minutes": 15,
        "population_source": "GHS-POP 2015",
        "categories": {
            "clinic": {"facilities": 2, "people_served": 1543.0, "share_served": 0.62, "no_data": False},
            "school": {"facilities": 1, "people_served": 1180.0, "share_served": 0.475, "no_data": False},
            "park": {"facilities": 0, "people_served": 0.0, "share_served": 0.0, "no_data": True},
        },
        "data_sources": ["© OpenStreetMap contributors (ODbL)", "GHS-POP (European Commission JRC)", "NASA SRTM"],
        "date": "2026-11-22",
    }


@pytest.fixture()
def map_inputs() -> dict:
    """Keyword arguments for build_map (fresh copies per test)."""
    return {
        "cells": _cells(),
        "communities": _communities(),
        "facilities": _facilities(),
        "isochrones": _isochrones(),
        "edges": _edges(),
        "summary": _summary(),
        "categories": list(CATEGORIES),
        "threshold_minutes": 15,
        "labels": LABELS,
    }


#: Hostile text reaching the page through the new inputs (a site's category, a missing requirement).
HOSTILE_SITE = "<img src=z onerror=alert(3)>"
HOSTILE_REQ = "<b>x</b>"
#: Cells that lose coverage to terrain, by hand, consistent with the minutes above (the
#: lost category is beyond 15 min here): 4 clinic (18 min), 12 school (21 min), 16 both.
#: Cell 13 lists only the no-data park and cell 17 an unknown category: neither is drawn.
TERRAIN_LOST = {4: "clinic", 12: "school", 16: "clinic,school", 13: "park", 17: "mystery"}


def _terrain_comparison() -> dict:
    return {
        "clinic": {"share_flat_adult": 0.8, "share_terrain_adult": 0.62, "share_terrain_elderly": 0.414,
                   "share_terrain_wheelchair": 0.05, "people_flat_adult": 1987.2},
        "school": {"share_flat_adult": 0.55, "share_terrain_adult": 0.475, "share_terrain_elderly": math.nan,
                   "share_terrain_wheelchair": 0.0, "people_flat_adult": 1366.2},
        "park": {"share_flat_adult": None, "share_terrain_adult": None, "share_terrain_elderly": None,
                 "share_terrain_wheelchair": None},
    }


def _sites() -> gpd.GeoDataFrame:
    # Given out of order: the map sorts them by drawn category, then rank.
    return gpd.GeoDataFrame(
        {
            "category": ["school", "clinic", HOSTILE_SITE, "clinic"],
            "rank": [1, 2, 1, 1],
            "marginal_gain": [88.4, 120.6, 5.0, 1321.5],
        },
        geometry=[
            shapely.Point(_X0 + 350, _Y0 + 350),
            shapely.Point(_X0 + 450, _Y0 + 50),
            shapely.Point(_X0 + 150, _Y0 + 250),
            shapely.box(_X0 + 520, _Y0 + 120, _X0 + 580, _Y0 + 180),  # a plot: drawn at a point inside
        ],
        crs=CRS,
    )


def _tiers():
    import pandas as pd

    return pd.DataFrame(
        {
            "community": ["解放碑社区", "解放碑社区", HOSTILE_COMMUNITY, HOSTILE_COMMUNITY, "Nowhere"],
            "tier": ["15min", "10min", "15min", "5min", "15min"],
            "status": ["pass", "fail", "unknown", "fail", "pass"],
            "missing": [(), ("market", "primary_school"), "", f"kindergarten,{HOSTILE_REQ}", ()],
            "not_assessed": [(), (), ("health_centre",), (), ()],
        }
    )


@pytest.fixture()
def full_inputs(map_inputs: dict) -> dict:
    """map_inputs plus what a run with a DEM, a standard and site suggestions adds."""
    cells = map_inputs["cells"].copy()
    cells["terrain_lost"] = [TERRAIN_LOST.get(i, "") for i in cells["cell_id"]]
    summary = dict(map_inputs["summary"], terrain_comparison=_terrain_comparison(), cells_losing_coverage_to_terrain=3)
    labels = {**requirement_labels(load_standard("gb50180")), **LABELS}
    return {**map_inputs, "cells": cells, "summary": summary, "sites": _sites(), "tiers": _tiers(), "labels": labels}


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; browser tests skip with a reason when it is absent, except in CI
    (``LIFECIRCLE_REQUIRE_BROWSER=1``, set by ``.ci/run``) where that is a failure."""
    import os

    if not CHROMIUM.exists():
        if os.environ.get("LIFECIRCLE_REQUIRE_BROWSER") == "1":
            pytest.fail("LIFECIRCLE_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: .ci/run should install it")
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium fonts-wqy-microhei)")
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _array(text: str, dtype: str) -> np.ndarray:
    import base64

    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def decode_cells(data: dict) -> list[dict]:
    """The cells of a page's data block as the page reads them, in grid order (north row
    first, west to east): ``row``, ``col``, minutes ``m`` (None for none), on the network
    ``a``, under-served ``u``, missing ``x`` and terrain-lost ``t`` category indices,
    community ``c`` and population ``p``."""
    g = data["grid"]
    cols, rows = g["lattice"]["cols"], g["lattice"]["rows"]
    occupied = np.unpackbits(_array(g["occupied"], "u1"), bitorder="little")[: cols * rows].astype(bool)
    positions = np.flatnonzero(occupied)
    assert len(positions) == g["count"]
    minutes = [None if m is None else _array(m, "<u2") for m in g["minutes"]]
    flags = _array(g["flags"], "u1")
    width = g["bytesPerSet"]

    def bits(text: str | None) -> np.ndarray:
        if text is None:
            return np.zeros((len(positions), len(minutes)), dtype=bool)
        return np.unpackbits(_array(text, "u1").reshape(-1, width), axis=1, bitorder="little")[:, : len(minutes)].astype(bool)

    missing, lost = bits(g["missing"]), bits(g["lost"])
    community = _array(g["community"], "<u2" if g["communityBytes"] == 2 else "<u4")
    population = _array(g["population"], "<u2" if g["populationBytes"] == 2 else "<u4")
    unknown = np.iinfo(population.dtype).max
    return [
        {
            "row": int(pos // cols), "col": int(pos % cols),
            "m": [None if a is None or a[i] == 65535 else a[i] / 10 for a in minutes],
            "a": int(flags[i] & 1), "u": int((flags[i] >> 1) & 1),
            "x": [int(j) for j in np.flatnonzero(missing[i])], "t": [int(j) for j in np.flatnonzero(lost[i])],
            "c": g["communities"][community[i] - 1] if community[i] else None,
            "p": None if population[i] == unknown else int(population[i]),
        }
        for i, pos in enumerate(positions)
    ]


def synthetic_cells_by_id(data: dict) -> dict[int, dict]:
    """:func:`decode_cells` of a page built from :func:`_cells`, keyed by ``cell_id``."""
    return {(NY - 1 - c["row"]) * NX + c["col"]: c for c in decode_cells(data)}


def image_pixels(data_uri: str) -> np.ndarray:
    """RGBA pixels of a ``data:image/png;base64,`` image (decoded with Pillow)."""
    import base64
    import io

    from PIL import Image

    assert data_uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))).convert("RGBA"))


def image_colour_at(data: dict, image: str, lon: float, lat: float) -> tuple[int, int, int, int]:
    """The RGBA colour an image of the grid shows at a WGS84 point (displayed coordinates)."""
    pixels = image_pixels(image)
    (south, west), (north, east) = data["grid"]["bounds"]
    to_merc = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to_merc.transform([west, east], [south, north])
    x, y = to_merc.transform(lon, lat)
    height, width = pixels.shape[:2]
    col, row = int((x - x0) / (x1 - x0) * width), int((y1 - y) / (y1 - y0) * height)
    return tuple(int(v) for v in pixels[row, col])
