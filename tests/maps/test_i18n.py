"""The Chinese map and lists speak Chinese: no English word in what a zh reader sees.

Allowed: numbers and units, proper names (OpenStreetMap and its licence, data products,
file names), and data text (community and facility names are the data's own).
"""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest

from lifecircle import i18n
from lifecircle.layers.catalogue import load_catalogue
from lifecircle.layers.standards import load_standard
from lifecircle.maps import build_map
from lifecircle.outputs import category_labels, community_gap_table, gap_table, tiers_in_words
from tests.maps.conftest import HOSTILE, HOSTILE_COMMUNITY

#: Proper names and units that stay as they are in Chinese text.
ALLOWED = {
    "OpenStreetMap", "OSM", "contributors", "ODbL", "GHS", "POP", "JRC", "NASA", "SRTM", "CC", "BY",
    "European", "Commission", "WorldPop", "min", "km", "pbf", "osm", "tif", "csv", "Leaflet",
}
_WORD = re.compile(r"[A-Za-z]{2,}")


def _english_words(text: str) -> set[str]:
    """ASCII words of a text after removing tags, entities, file names and format fields."""
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    text = re.sub(r"[\w.-]+\.(?:pbf|csv|tif|gpkg|geojson)(?![A-Za-z])", " ", text, flags=re.ASCII)  # file names
    text = re.sub(r"\{\w*\}", " ", text)  # format fields, filled in with data
    return {w for w in _WORD.findall(text) if w not in ALLOWED}


def _zh_summary() -> dict:
    """A summary as a run makes it, with the facts the map words in Chinese."""
    return {
        "study_area": "boundary.geojson within yuzhong.osm.pbf",
        "area": {"boundary": "boundary.geojson", "source": "yuzhong.osm.pbf"},
        "profile": "adult",
        "threshold_minutes": 15,
        "population_source": "population from ghs.csv (points, 1,234 people in the file)",
        "population_facts": {"method": "file", "file": "ghs.csv", "kind": "points", "total": 1234.0},
        "date": "OSM data date not recorded in the file",
        "osm_date": None,
        "categories": {
            "clinic": {"facilities": 2, "people_served": 1543.0, "share_served": 0.62, "no_data": False},
            "school": {"facilities": 1, "people_served": 1180.0, "share_served": 0.475, "no_data": False},
            "park": {"facilities": 0, "people_served": 0.0, "share_served": 0.0, "no_data": True},
        },
        "data_sources": ["© OpenStreetMap contributors (ODbL)", "GHS-POP, European Commission JRC (CC BY 4.0)",
                         "facilities.csv (user data)"],
    }


def _page_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', page, re.S)
    assert match, "the page carries its data block"
    return json.loads(match.group(1))


def test_translation_tables_have_the_same_keys_in_both_languages() -> None:
    for table in (i18n.MAP_TEXT, i18n.GAP_HEADERS, i18n.PLANNING_HEADERS, i18n.SHEET_NAMES, i18n.SUMMARY_TEXT):
        assert set(table["zh"]) == set(table["en"])
    for table in (i18n.WEIGHT_HEADERS, i18n.PROFILE_NAMES):
        assert all(set(v) == {"zh", "en"} for v in table.values())


def test_zh_strings_hold_no_english() -> None:
    zh = [*i18n.MAP_TEXT["zh"].values(), *i18n.GAP_HEADERS["zh"].values(), *i18n.PLANNING_HEADERS["zh"].values(),
          *i18n.SHEET_NAMES["zh"].values(), *i18n.SUMMARY_TEXT["zh"].values(),
          *(v["zh"] for v in i18n.WEIGHT_HEADERS.values()), *(v["zh"] for v in i18n.PROFILE_NAMES.values()),
          *(c.label_zh for c in load_catalogue().categories.values())]
    found = {s: _english_words(s) for s in zh if _english_words(s)}
    assert found == {}


@pytest.mark.parametrize("method", ["file", "floor_area", "equal"])
def test_population_sentence_in_chinese(method: str) -> None:
    facts = {"method": method, "file": "ghs.csv", "kind": "raster", "total": 5e5,
             "default_levels": 6.0, "cells_with_homes": 3, "cells": 9}
    zh = i18n.population_sentence(facts, "zh")
    assert zh and not _english_words(zh)
    assert i18n.population_sentence(facts, "en") != zh


def test_zh_map_shows_no_english(map_inputs: dict) -> None:
    page = build_map(**{**map_inputs, "summary": _zh_summary()}).get_root().render()
    data = _page_data(page)
    shown = [
        data["summaryHtml"], data["legendHtml"], *data["text"].values(), *data["labels"].values(),
        *(c[k] for c in data["categories"] for k in ("label", "isoLabel", "facLabel")),
        *(f["properties"]["html"] for f in data["communities"]["features"]),
        *(f["properties"]["html"] for f in data["facilities"]["features"]),
        re.search(r"<title>(.*?)</title>", page, re.S).group(1),  # type: ignore[union-attr]
    ]
    # The fixture's names are data (hostile on purpose), not text of lifecircle's.
    text = " ".join(shown).replace(html.escape(HOSTILE_COMMUNITY), " ").replace(html.escape(HOSTILE), " ")
    assert _english_words(text) == set()
    # The facts are said in Chinese, not copied from the English summary.
    assert "成人" in data["summaryHtml"] and "文件未记录OSM数据日期" in data["summaryHtml"]
    assert "人口来自ghs.csv（点，文件共1,234人）" in data["summaryHtml"]
    assert "facilities.csv（用户数据）" in data["summaryHtml"]
    # In English the map says what the run's summary says.
    en = _page_data(build_map(**{**map_inputs, "summary": _zh_summary()}, lang="en").get_root().render())
    assert "population from ghs.csv (points, 1,234 people in the file)" in en["summaryHtml"]
    assert "OSM data date not recorded in the file" in en["summaryHtml"]


def test_zh_gap_lists_show_no_english(map_inputs: dict) -> None:
    labels = category_labels()
    cells = map_inputs["cells"]
    tables = [gap_table(cells, categories=["clinic", "school"], lang="zh", labels=labels),
              gap_table(cells, categories=["clinic"], lang="zh", labels=labels, population_kind="floor_area"),
              community_gap_table(map_inputs["communities"], cells, categories=["clinic", "school"], lang="zh",
                                  labels=labels)]
    for table in tables:
        assert _english_words(" ".join(map(str, table.columns))) == set()
        missing = table.get(i18n.GAP_HEADERS["zh"]["missing"])
        if missing is not None:
            assert _english_words(" ".join(map(str, missing))) == set()


def test_map_tiers_name_requirements_as_the_gap_lists_do() -> None:
    std = load_standard("gb50180")
    tier = std.tiers[-1]
    first, second = tier.requirements[0], tier.requirements[1]
    tiers = pd.DataFrame({"community": ["A", "B"], "tier": [tier.key, tier.key], "status": ["fail", "unknown"],
                          "missing": [(first.key,), ()], "not_assessed": [(), f"{second.key}"]})
    zh = tiers_in_words(tiers, std, "zh")
    assert zh["missing"].tolist() == [(first.name,), ()]
    assert zh["not_assessed"].tolist() == [(), (second.name,)]
    assert tiers_in_words(tiers, std, "en") is tiers  # English lists keep the keys
    assert tiers["missing"].tolist() == [(first.key,), ()]  # the input is not modified
