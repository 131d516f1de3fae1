"""Pipeline steps that combine layers: group coverage, terrain comparison, facilities, run record."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle import pipeline
from lifecircle.layers.profiles import get_profile
from lifecircle.spatial.travel import facility_access_points
from tests.synthetic import CRS, ORIGIN, at, network_from_lines


def _street_and_cells():  # noqa: ANN202
    # A straight 2,000 m street; a clinic at its west end; two 100 m cells centred ON the street
    # at 600 m and 1,000 m from the clinic (no off-network leg).
    net = network_from_lines([(0, 0), (2000, 0)], [(0, 1)])
    facilities = gpd.GeoDataFrame({"category": ["clinic"], "name": ["c"]}, geometry=[at(0, 0)], crs=CRS)
    access = {"clinic": facility_access_points(facilities, net, max_distance_m=150)}
    xs = np.array([600.0, 1000.0]) + ORIGIN[0]
    ys = np.array([0.0, 0.0]) + ORIGIN[1]
    cells = gpd.GeoDataFrame({"x": xs, "y": ys, "population": [100.0, 50.0]},
                             geometry=shapely.box(xs - 50, ys - 50, xs + 50, ys + 50), crs=CRS)
    return net, facilities, access, cells


def test_older_residents_are_counted_with_the_elderly_profile() -> None:
    net, facilities, access, cells = _street_and_cells()
    groups = {"60plus": np.array([10.0, 40.0]), "0_14": np.array([5.0, 5.0])}
    out = pipeline.group_coverage(net, facilities, access, cells, groups, categories=["clinic"], minutes=15,
                                  max_access_m=150, options=pipeline.RunOptions(), elevation=None)
    elderly = get_profile("elderly").flat_speed_kmh / 3.6
    adult = get_profile("adult").flat_speed_kmh / 3.6
    # On a flat street a cell is within 15 minutes when its distance <= speed * 900 s.
    expect_old = 10.0 * (600 <= elderly * 900) + 40.0 * (1000 <= elderly * 900)
    expect_young = 5.0 * (600 <= adult * 900) + 5.0 * (1000 <= adult * 900)
    assert out["60plus"]["profile"] == "elderly"
    assert out["60plus"]["categories"]["clinic"]["people_served"] == pytest.approx(expect_old)
    assert out["0_14"]["profile"] == "adult"
    assert out["0_14"]["categories"]["clinic"]["people_served"] == pytest.approx(expect_young)
    # The elderly walk slower, so the far cell is lost for them but not for children.
    assert expect_old < 50 and expect_young == 10


def test_terrain_comparison_shares_fall_from_flat_to_wheelchair() -> None:
    net, facilities, access, cells = _street_and_cells()
    table, within = pipeline.terrain_comparison(net, facilities, access, cells, categories=["clinic"], minutes=15,
                                                max_access_m=150, elevation=None)
    row = table.iloc[0]
    shares = [row[f"share_{label}"] for label, _, _ in pipeline.TERRAIN_SCENARIOS]
    assert shares == sorted(shares, reverse=True)  # slower walkers never cover more
    assert row["share_flat_adult"] == pytest.approx(1.0)  # both cells within 1,125 m
    assert set(within) == {label for label, _, _ in pipeline.TERRAIN_SCENARIOS}
