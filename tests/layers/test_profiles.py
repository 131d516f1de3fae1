"""The walking-profile catalogue: shipped profiles, user additions, validation."""

from __future__ import annotations

import json

import pytest

from lifecircle._errors import CatalogueError, InputNotFoundError, ProfileError
from lifecircle.layers.profiles import DEFAULT_CATALOGUE, WalkingProfile, get_profile, load_profiles


def test_shipped_catalogue_has_the_three_profiles_in_order_of_ability():
    cat = load_profiles()
    assert {"adult", "elderly", "wheelchair"} <= set(cat)
    adult, elderly, wc = cat["adult"], cat["elderly"], cat["wheelchair"]
    assert adult.flat_speed_kmh == 4.5  # the settings default walker
    assert elderly.flat_speed_kmh < adult.flat_speed_kmh
    assert elderly.slope_k_up > adult.slope_k_up
    assert elderly.stairs_seconds_per_step_up > adult.stairs_seconds_per_step_up
    assert adult.slope_k_up == 3.5 and adult.slope_offset == 0.05  # Tobler 1993
    assert wc.can_use_stairs is False and wc.can_use_escalators is False and wc.can_use_elevators is True
    assert wc.max_grade == 0.08
    assert adult.max_grade is None
    assert adult.step_riser_m == 0.15 and adult.step_tread_m == 0.30
    for p in cat.values():
        assert p.sources, f"profile {p.name} names no source"


def test_as_dict_is_json_ready_and_complete():
    d = get_profile("elderly").as_dict()
    text = json.dumps(d)
    assert '"flat_speed_kmh": 3.6' in text
    assert d["name"] == "elderly" and "Tobler" in d["slope_model"]


def test_unknown_profile_lists_known_names():
    with pytest.raises(ProfileError, match=r"'runner'.*adult, elderly, wheelchair"):
        get_profile("runner")
    assert isinstance(ProfileError("x"), ValueError)


def test_profile_object_passes_through():
    p = WalkingProfile(name="mine", flat_speed_kmh=3.0)
    assert get_profile(p) is p


def test_user_file_adds_profiles_with_base(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "version: 1\nprofiles:\n  frail:\n    base: elderly\n    flat_speed_kmh: 2.5\n"
        "  stroller:\n    base: adult\n    can_use_stairs: false\n    max_grade: 0.12\n",
        encoding="utf-8",
    )
    cat = load_profiles(extra=extra)
    assert list(cat)[:3] == ["adult", "elderly", "wheelchair"]
    frail = get_profile("frail", catalogue=cat)
    assert frail.flat_speed_kmh == 2.5
    assert frail.slope_k_up == cat["elderly"].slope_k_up  # inherited
    assert cat["stroller"].can_use_stairs is False and cat["stroller"].max_grade == 0.12


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("profiles:\n  x:\n    flat_speed: 3\n", r"mine\.yaml: profile 'x': unknown key 'flat_speed'"),
        ("profiles:\n  x:\n    flat_speed_kmh: -1\n", r"profile 'x': key 'flat_speed_kmh' must be between"),
        ("profiles:\n  x:\n    flat_speed_kmh: fast\n", r"key 'flat_speed_kmh' must be a finite number"),
        ("profiles:\n  x:\n    can_use_stairs: 'yes'\n", r"key 'can_use_stairs' must be true or false"),
        ("profiles:\n  x:\n    base: nobody\n", r"key 'base' names unknown profile 'nobody'"),
        ("profiles:\n  x:\n    stairs_seconds_per_step_up: 0\n", r"stairs_seconds_per_step_up and _down must be > 0"),
        ("walkers:\n  x: {}\n", r"expected a top-level key 'profiles'"),
        ("profiles: [\n", r"not valid YAML"),
    ],
)
def test_bad_user_file_names_file_profile_and_key(tmp_path, body, match):
    path = tmp_path / "mine.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogueError, match=match):
        load_profiles(extra=path)


def test_missing_user_file(tmp_path):
    with pytest.raises(InputNotFoundError, match="nope.yaml"):
        load_profiles(extra=tmp_path / "nope.yaml")


def test_catalogue_ships_next_to_module():
    assert DEFAULT_CATALOGUE.name == "profiles.yaml" and DEFAULT_CATALOGUE.exists()
