"""lifecircle.settings is read when a run starts, never frozen at import."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import lifecircle
from lifecircle import settings
from lifecircle.layers.profiles import default_speed_kmh, get_profile, load_profiles
from lifecircle.model import group_profiles
from lifecircle.options import validate_options
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.scenarios import group_coverage
from lifecircle.spatial.travel import facility_access_points, locate_on_network
from tests.synthetic import CRS, ORIGIN, at, network_from_lines


def _street():
    # A straight 2,000 m street; a clinic at its west end; two cells centred ON the street at
    # 600 m and 1,000 m from the clinic (no off-network leg).
    net = network_from_lines([(0, 0), (2000, 0)], [(0, 1)])
    facilities = gpd.GeoDataFrame({"category": ["clinic"], "name": ["c"]}, geometry=[at(0, 0)], crs=CRS)
    access = {"clinic": facility_access_points(facilities, net, max_distance_m=150)}
    centres = gpd.GeoSeries(shapely.points(np.array([600.0, 1000.0]) + ORIGIN[0], [ORIGIN[1]] * 2), crs=CRS)
    return net, facilities, access, locate_on_network(centres, net, max_distance_m=150)


def test_run_options_take_settings_when_made_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    before = lifecircle.RunOptions()  # made before the settings change: keeps what it was given
    monkeypatch.setattr(settings, "threshold_minutes", 10.0)
    monkeypatch.setattr(settings, "cell_size_m", 250.0)
    monkeypatch.setattr(settings, "profile", "elderly")
    assert before.minutes == 15.0 and before.profile == "adult"
    resolved = validate_options(lifecircle.RunOptions())
    assert resolved.minutes == 10.0 and resolved.cell_size_m == 250.0
    assert resolved.profile == "elderly"
    assert resolved.speed_kmh == get_profile("elderly").flat_speed_kmh  # the speed is the profile's
    # An explicit option still wins over the settings, --speed over the profile.
    explicit = validate_options(lifecircle.RunOptions(minutes=20, speed_kmh=5.0))
    assert explicit.minutes == 20 and explicit.speed_kmh == 5.0


def test_changing_the_profile_setting_after_import_changes_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    net, facilities, access, origins = _street()
    groups = {"0_14": np.array([5.0, 5.0])}  # walks as the run's walker

    def served() -> float:
        options = validate_options(lifecircle.RunOptions())
        profiles = load_profiles()
        walker = get_profile(options.profile, catalogue=profiles)
        out = group_coverage(net, facilities, access, origins, groups,
                             profiles=group_profiles(walker, profiles, list(groups)),
                             categories=["clinic"], minutes=options.minutes, elevation=None)
        return out["0_14"]["categories"]["clinic"]["people_served"]

    # Cells 600 m and 1,000 m from the clinic: an adult (1,125 m in 15 min) reaches both,
    # a wheelchair user (3.0 km/h: 750 m) only the near one.
    assert served() == 10.0
    monkeypatch.setattr(settings, "profile", "wheelchair")
    assert served() == 5.0


def test_the_computations_take_the_speed_they_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # The walking speed comes from the profile (or --speed) through the run: the computing
    # layer has no default of its own that could disagree with it.
    net, _, _, _ = _street()
    with pytest.raises(TypeError):
        flat_costs(net)  # type: ignore[call-arg]
    assert default_speed_kmh() == get_profile("adult").flat_speed_kmh
    monkeypatch.setattr(settings, "profile", "elderly")
    assert default_speed_kmh() == get_profile("elderly").flat_speed_kmh
    adult = flat_costs(net, speed_kmh=get_profile("adult").flat_speed_kmh)["seconds_uv"].to_numpy()
    elderly = flat_costs(net, speed_kmh=default_speed_kmh())["seconds_uv"].to_numpy()
    ratio = get_profile("adult").flat_speed_kmh / get_profile("elderly").flat_speed_kmh
    np.testing.assert_allclose(elderly, adult * ratio)


def test_settings_hold_no_walking_speed_or_default_categories() -> None:
    # The profile (layers/profiles.yaml) and the catalogue (layers/categories.yaml) are the
    # one source of these; a second copy here would silently disagree.
    assert not hasattr(settings, "walking_speed_kmh")
    assert not hasattr(settings, "default_categories")


@pytest.mark.slow
def test_threshold_setting_changes_a_whole_run(monkeypatch: pytest.MonkeyPatch, helsinki_pbf: Path) -> None:
    def options() -> lifecircle.RunOptions:
        return lifecircle.RunOptions(osm=helsinki_pbf, categories=("clinic",), facility_isochrones=False)

    wide = lifecircle.run(options(), progress=False)
    monkeypatch.setattr(settings, "threshold_minutes", 3.0)
    narrow = lifecircle.run(options(), progress=False)
    assert wide.options.minutes == 15.0 and narrow.options.minutes == 3.0
    assert narrow.summary.threshold_minutes == 3.0
    assert narrow.summary.cells_underserved > wide.summary.cells_underserved
