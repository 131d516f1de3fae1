"""Tests of the planning-standard catalogue (lifecircle.layers.standards)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from lifecircle._errors import InputNotFoundError, LifecircleError, StandardsError
from lifecircle.layers.standards import (
    Requirement,
    bundled_standards,
    load_standard,
    requirements_table,
    standard_path,
)


def _write(tmp_path: Path, text: str, name: str = "city.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINIMAL = """
id: city
title: 某市十五分钟生活圈导则
tiers:
  - key: t15
    verified: false
    requirements:
      - key: clinic
        category: clinic
        threshold_minutes: 15
        verified: false
"""


# --- the bundled GB 50180-2018 catalogue ------------------------------------------------


def test_bundled_gb50180_tiers_and_sizes() -> None:
    std = load_standard("gb50180")
    assert "gb50180" in bundled_standards()
    assert std.id == "gb50180" and std.code == "GB 50180-2018"
    assert [t.key for t in std.tiers] == ["15min", "10min", "5min"]
    t15, t10, t5 = std.tiers
    # Values of GB 50180-2018 table 3.0.4.
    assert t15.walking_distance_m == (800.0, 1000.0) and t15.population == (50000, 100000)
    assert t10.walking_distance_m == (500.0, 500.0) and t10.population == (15000, 25000)
    assert t5.walking_distance_m == (300.0, 300.0) and t5.population == (5000, 12000)
    assert (t15.walking_minutes, t10.walking_minutes, t5.walking_minutes) == (15.0, 10.0, 5.0)


def test_bundled_gb50180_requirements() -> None:
    std = load_standard("gb50180")
    expected_m = {
        ("15min", "middle_school"): 1000, ("15min", "health_centre"): 1000,
        ("10min", "primary_school"): 500, ("10min", "market"): 500,
        ("5min", "kindergarten"): 300, ("5min", "health_station"): 300, ("5min", "elderly_care"): 300,
    }
    for (tier, key), metres in expected_m.items():
        req = std.tier(tier).requirement(key)
        assert req.threshold_m == metres and req.threshold_minutes is None
    parks = {t.key: t.requirement("park") for t in std.tiers}
    assert {k: p.min_area_m2 for k, p in parks.items()} == {"15min": 50000, "10min": 10000, "5min": 4000}
    assert {k: p.threshold_minutes for k, p in parks.items()} == {"15min": 15, "10min": 10, "5min": 5}
    # Every value says where it comes from and whether it was checked.
    for tier, req in std.requirements():
        assert req.clause and req.source, (tier.key, req.key)
        assert isinstance(req.verified, bool)
    assert std.tier("10min").requirement("primary_school").fallback_categories == ("school",)
    assert set(std.categories()) >= {"kindergarten", "park", "market", "elderly_care", "school", "clinic"}


def test_name_resolution_variants(tmp_path: Path) -> None:
    a = load_standard("GB-50180")
    b = load_standard(standard_path("gb50180"))  # a Path to the bundled file
    assert a == b
    city = load_standard(_write(tmp_path, MINIMAL))
    assert city.id == "city" and city.tiers[0].requirements[0].category == "clinic"
    assert city.path.name == "city.yaml"


def test_unknown_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StandardsError, match="Unknown standard 'gb99999'.*gb50180"):
        load_standard("gb99999")
    with pytest.raises(InputNotFoundError, match="nope.yaml"):
        load_standard(tmp_path / "nope.yaml")
    with pytest.raises(InputNotFoundError):
        load_standard("missing/guideline.yaml")


def test_minutes_conversion() -> None:
    req = load_standard("gb50180").tier("5min").requirement("kindergarten")
    assert req.minutes(4.5) == pytest.approx(4.0)  # 300 m at 75 m/min
    assert req.minutes(3.6) == pytest.approx(5.0)  # 300 m at 60 m/min
    park = load_standard("gb50180").tier("10min").requirement("park")
    assert park.minutes(4.5) == 10.0 and park.minutes(2.0) == 10.0
    with pytest.raises(StandardsError):
        req.minutes(0)


def test_search_keys() -> None:
    std = load_standard("gb50180")
    assert std.tier("15min").requirement("park").search_key == "park_ge50000m2"
    assert std.tier("5min").requirement("kindergarten").search_key == "kindergarten"
    assert std.tier("15min").requirement("middle_school").search_keys() == ("middle_school", "school")
    assert "park_ge4000m2" in std.search_keys()


def test_requirements_table() -> None:
    table = requirements_table(load_standard("gb50180"))
    assert len(table) == 10
    assert table["tier"].tolist()[:3] == ["15min"] * 3
    row = table[(table["tier"] == "5min") & (table["requirement"] == "park")].iloc[0]
    assert row["min_area_m2"] == 4000 and row["search_key"] == "park_ge4000m2" and row["clause"].startswith("4.0.4")
    assert table["verified"].dtype == bool and table["threshold_m"].isna().sum() == 3  # the parks


def test_frozen() -> None:
    std = load_standard("gb50180")
    with pytest.raises(dataclasses.FrozenInstanceError):
        std.tiers[0].requirements[0].threshold_m = 5  # type: ignore[misc]
    assert isinstance(std.tiers[0].requirements[0], Requirement)


# --- validation: messages name the file and the key -------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("threshold_minutes: 15", "threshold_minutes: -3", "tiers[0].requirements[0].threshold_minutes"),
        ("threshold_minutes: 15", "threshold_minutes: fifteen", "tiers[0].requirements[0].threshold_minutes"),
        ("threshold_minutes: 15", "threshold_minutes: 15\n        threshold_m: 900", "tiers[0].requirements[0]"),
        ("threshold_minutes: 15", "min_area_m2: 100", "tiers[0].requirements[0]"),
        ("        verified: false\n", "        verified: maybe\n", "tiers[0].requirements[0].verified"),
        ("category: clinic", "category: 'clinic tag'", "tiers[0].requirements[0].category"),
        ("key: t15", "key: t15\n    population: [9000, 100]", "tiers[0].population"),
        ("id: city", "id: ''", "id"),
    ],
)
def test_invalid_values_name_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in MINIMAL
    path = _write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(StandardsError) as info:
        load_standard(path)
    message = str(info.value)
    assert str(path) in message and key in message


def test_missing_keys_and_duplicates(tmp_path: Path) -> None:
    with pytest.raises(StandardsError, match=r"city.yaml: tiers: required key is missing"):
        load_standard(_write(tmp_path, "id: city\ntitle: x\n"))
    with pytest.raises(StandardsError, match=r"tiers\[0\].requirements: expected a non-empty list"):
        load_standard(_write(tmp_path, "id: c\ntitle: x\ntiers:\n  - key: a\n    verified: true\n    requirements: []\n"))
    dup = MINIMAL + "  - key: t15\n    verified: false\n    requirements:\n      - {key: a, category: a, threshold_m: 5, verified: true}\n"
    with pytest.raises(StandardsError, match="unique tier keys"):
        load_standard(_write(tmp_path, dup))
    with pytest.raises(StandardsError, match="not valid YAML"):
        load_standard(_write(tmp_path, "id: [unclosed\n"))
    with pytest.raises(StandardsError, match="top level"):
        load_standard(_write(tmp_path, "- just\n- a list\n"))


def test_errors_are_lifecircle_and_value_errors(tmp_path: Path) -> None:
    with pytest.raises(LifecircleError):
        load_standard("nonsense")
    with pytest.raises(ValueError):
        load_standard("nonsense")
