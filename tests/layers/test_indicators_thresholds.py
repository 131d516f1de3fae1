"""Official indicator presets and a city's own, and several thresholds per category."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecircle._errors import CatalogueError, IndicatorsError, OptionError
from lifecircle.layers.catalogue import load_catalogue
from lifecircle.layers.indicators import load_indicators
from lifecircle.layers.thresholds import Threshold, parse_thresholds, threshold_record, thresholds_in_minutes

OWN = """
version: 1
indicators:
  - key: clinic_10min
    name_zh: 步行10分钟可达诊所的居民比例
    name_en: Residents within 10 minutes of a clinic
    basis: people
    categories: [clinic]
    threshold: 10
    target: 0.9
    source: 某市社区生活圈导则
    clause: "3.2"
    verified: false
"""


def test_presets_carry_sources_and_verified_flags() -> None:
    presets = load_indicators()
    keys = {i.key for i in presets}
    assert {"health_15min", "primary_school_10min", "middle_school_15min", "elderly_care_15min",
            "park_1ha_10min", "park_radius_land"} <= keys
    assert all(i.source and i.clause for i in presets)
    assert {i.basis for i in presets} == {"people", "residential_land"}
    verified = [i for i in presets if i.verified]
    assert verified and all("zgbk.com" in i.note or "tihaiku" in i.note for i in verified)  # cited exactly
    assert next(i for i in presets if i.key == "primary_school_10min").threshold == Threshold(500.0, "m")


def test_a_city_file_adds_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "city.yaml"
    path.write_text(OWN + OWN.split("indicators:\n", 1)[1].replace("clinic_10min", "health_15min"), encoding="utf-8")
    merged = load_indicators(path)
    assert merged[0].key == "health_15min" and merged[0].source == "某市社区生活圈导则"  # replaced in place
    assert merged[-1].key == "clinic_10min" and merged[-1].target == 0.9


@pytest.mark.parametrize(("change", "expected"), [
    (("basis: people", "basis: land"), "basis must be one of people, residential_land"),
    (("target: 0.9", "target: 90"), "target must be a share in (0, 1]"),
    (("verified: false", "verified: no_idea"), "verified must be true or false"),
    (("    clause: \"3.2\"\n", "    clause: \"3.2\"\n    colour: red\n"), "unknown keys ['colour']"),
    (("threshold: 10", "threshold: ten"), "expected minutes"),
    (("categories: [clinic]", "categories: [Clinic!]"), "category names"),
])
def test_strict_validation_names_file_indicator_and_value(tmp_path: Path, change: tuple[str, str],
                                                          expected: str) -> None:
    path = tmp_path / "city.yaml"
    path.write_text(OWN.replace(*change), encoding="utf-8")
    with pytest.raises(IndicatorsError) as err:
        load_indicators(path)
    assert expected in str(err.value) and "city.yaml" in str(err.value)


def test_yaml_anchors_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "city.yaml"
    path.write_text(OWN.replace("source: 某市社区生活圈导则", "source: &s 某市").replace('clause: "3.2"', "clause: *s"),
                    encoding="utf-8")
    with pytest.raises(IndicatorsError, match="anchors and aliases"):
        load_indicators(path)


def test_thresholds_from_the_command_line() -> None:
    parsed = parse_thresholds("clinic=5,10,15; park=300m,500 m")
    assert [t.label for t in parsed["clinic"]] == ["5min", "10min", "15min"]
    assert parsed["park"] == (Threshold(300.0, "m"), Threshold(500.0, "m"))
    minutes = thresholds_in_minutes(parsed, categories=["clinic", "park", "school"], main_minutes=15, speed_kmh=4.5)
    assert minutes["park"] == (("300m", 4.0), ("500m", pytest.approx(500 / 75)))  # 75 m a minute at 4.5 km/h
    assert minutes["school"] == (("15min", 15.0),)  # no thresholds of its own: the run's
    record = threshold_record(parsed, categories=["park"], main_minutes=15, speed_kmh=4.5)
    assert record["park"][0]["converted"] == "300 m at 4.5 km/h (the walker's flat speed)"


@pytest.mark.parametrize(("text", "expected"), [
    ("clinic", "expected CATEGORY=MINUTES"),
    ("clinic=0", "greater than 0"),
    ("clinic=5,5", "repeated"),
    ("clinic=5;clinic=10", "given twice"),
    ("Clinic=5", "not a category name"),
    ("clinic=1,2,3,4,5,6,7", "at most 6"),
])
def test_bad_thresholds_are_refused(text: str, expected: str) -> None:
    with pytest.raises(OptionError, match="--thresholds") as err:
        parse_thresholds(text)
    assert expected in str(err.value)


def test_catalogue_categories_may_carry_thresholds() -> None:
    extra = {"version": 1, "categories": {"clinic": {
        "label_zh": "诊所", "label_en": "Clinic", "colour": "#d62728", "rules": [{"amenity": "clinic"}],
        "thresholds": [5, "300 m"]}}}
    assert load_catalogue(extra=extra).categories["clinic"].thresholds == (Threshold(5.0), Threshold(300.0, "m"))
    extra["categories"]["clinic"]["thresholds"] = ["far"]
    with pytest.raises(CatalogueError, match="thresholds"):
        load_catalogue(extra=extra)
