"""Other walkers on the same network: population groups and the terrain comparison.

A straight 2,000 m footway (flat, no stairs); a clinic at its west end; two cells centred
ON the street at 600 m and 1,000 m from the clinic (no off-network leg). In 15 minutes
the adult (4.5 km/h) walks 1,125 m, the elderly walker (3.6 km/h) 900 m and the wheelchair
user (3.0 km/h) 750 m: the adult reaches both cells, the others only the near one.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle.layers.profiles import load_profiles
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.scenarios import (
    TERRAIN_SCENARIOS,
    group_coverage,
    lost_to_terrain,
    terrain_comparison,
    within_threshold,
)
from lifecircle.spatial.travel import facility_access_points, locate_on_network
from tests.synthetic import CRS, ORIGIN, at, network_from_lines

PROFILES = load_profiles()


@pytest.fixture(scope="module")
def street():
    net = network_from_lines([(0, 0), (2000, 0)], [(0, 1)])
    facilities = gpd.GeoDataFrame({"category": ["clinic"], "name": ["c"]}, geometry=[at(0, 0)], crs=CRS)
    access = {"clinic": facility_access_points(facilities, net, max_distance_m=150)}
    centres = gpd.GeoSeries(shapely.points(np.array([600.0, 1000.0]) + ORIGIN[0], [ORIGIN[1]] * 2), crs=CRS)
    origins = locate_on_network(centres, net, max_distance_m=150)
    return net, facilities, access, origins


def test_the_profiles_walk_the_speeds_the_module_docstring_uses() -> None:
    assert [PROFILES[n].flat_speed_kmh for n in ("adult", "elderly", "wheelchair")] == [4.5, 3.6, 3.0]


def test_within_threshold_marks_what_each_walker_reaches(street) -> None:
    net, facilities, access, origins = street
    adult = within_threshold(net, flat_costs(net, speed_kmh=4.5), facilities, access, origins,
                             categories=["clinic"], minutes=15, leg_speed_kmh=4.5)
    elderly = within_threshold(net, flat_costs(net, speed_kmh=3.6), facilities, access, origins,
                               categories=["clinic"], minutes=15, leg_speed_kmh=3.6)
    assert adult[:, 0].tolist() == [True, True]
    assert elderly[:, 0].tolist() == [True, False]


def test_older_residents_are_counted_with_their_own_walker(street) -> None:
    net, facilities, access, origins = street
    groups = {"60plus": np.array([10.0, 40.0]), "0_14": np.array([5.0, 5.0])}
    out = group_coverage(net, facilities, access, origins, groups,
                         profiles={"60plus": PROFILES["elderly"], "0_14": PROFILES["adult"]},
                         categories=["clinic"], minutes=15, elevation=None)
    assert out["60plus"]["profile"] == "elderly"
    assert out["60plus"]["people"] == 50.0
    assert out["60plus"]["categories"]["clinic"] == {"people_served": 10.0, "share_served": 0.2}
    assert out["0_14"]["profile"] == "adult"
    assert out["0_14"]["categories"]["clinic"] == {"people_served": 10.0, "share_served": 1.0}


def test_terrain_table_people_and_shares_per_walker(street) -> None:
    net, facilities, access, origins = street
    table, within = terrain_comparison(net, facilities, access, origins, np.array([100.0, 50.0]),
                                       profiles=PROFILES, categories=["clinic"], minutes=15, elevation=None)
    row = table.iloc[0]
    assert set(within) == {label for label, _, _ in TERRAIN_SCENARIOS}
    assert row["people_flat_adult"] == 150.0 and row["share_flat_adult"] == 1.0
    assert row["people_terrain_adult"] == 150.0  # no stairs or slopes: the terrain costs the adult nothing
    assert row["people_terrain_elderly"] == 100.0 and row["share_terrain_elderly"] == pytest.approx(100 / 150)
    assert row["people_terrain_wheelchair"] == 100.0


def test_a_category_without_facilities_has_no_terrain_shares(street) -> None:
    net, facilities, access, origins = street
    empty = {"clinic": access["clinic"], "school": access["clinic"].iloc[:0]}
    table, _ = terrain_comparison(net, facilities, empty, origins, np.array([1.0, 1.0]), profiles=PROFILES,
                                  categories=["clinic", "school"], minutes=15, elevation=None)
    assert table.set_index("category").loc["school"].isna().all()


def test_lost_to_terrain_lists_categories_reached_only_on_the_flat() -> None:
    flat = np.array([[True, True, True], [False, True, False]])
    terrain = np.array([[False, True, False], [False, False, False]])
    assert lost_to_terrain(flat, terrain, categories=["a", "b", "c"]) == ["a,c", "b"]
    assert lost_to_terrain(flat, terrain, categories=["a", "b", "c"], no_data=["c"]) == ["a", "b"]
