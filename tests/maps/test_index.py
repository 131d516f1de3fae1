"""The index map of a batch: offline, every area drawn and linked, text from the data inert."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import shapely

from lifecircle.maps.index import build_index_map, inert_json


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "name": ["渝中区", '</script><script>alert("x")</script>'], "code": ["500103", "<i>"],
        "status": ["done", "failed"], "link": ["areas/area=500103/map.html", ""], "attempts": [1, 2],
        "error": ["", "no walkable way & <b>nothing</b>"], "cells": [120, np.nan], "people": [5000.0, np.nan],
        "underserved_cells": [12, np.nan], "share_clinic": [0.91, np.nan],
    }, geometry=[shapely.box(106.5, 29.5, 106.6, 29.6), shapely.box(106.6, 29.5, 106.7, 29.6)], crs=4326)


def test_every_area_is_drawn_listed_and_linked() -> None:
    html = build_index_map(_areas(), categories=["clinic"], minutes=15,
                           labels={"clinic": {"zh": "诊所", "en": "Clinic"}}, lang="zh")
    assert html.count("<path ") == 2 and html.count("<tr id=\"area-") == 2
    assert 'href="areas/area=500103/map.html"' in html
    assert "91.0%" in html and "15分钟内：诊所" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # offline: nothing to fetch
    data = json.loads(re.search(r'<script type="application/json" id="areas">(.*?)</script>', html, re.S).group(1))
    assert [d["status"] for d in data] == ["done", "failed"] and data[1]["attempts"] == 2


def test_text_from_the_data_is_escaped() -> None:
    html = build_index_map(_areas(), categories=["clinic"], minutes=15, lang="en")
    assert html.count("<script") == 1  # only the inert data block
    assert "<b>nothing</b>" not in html and "&lt;b&gt;nothing&lt;/b&gt;" in html
    assert "<i>" not in html
    weights = build_index_map(_areas().assign(population_kind=["floor_area", None]), categories=[], minutes=15,
                              lang="en")
    assert "weight (not people)" in weights and "weight" not in html
    assert "\\u003c/script\\u003e" in inert_json({"n": "</script>"})
