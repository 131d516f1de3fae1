"""What a plan changes, on hand-checkable networks.

``streets()`` (metres from ``ORIGIN``, flat, the adult at 4.5 km/h = 75 m/min)::

    C(50,250) ----------- 1000 m ----------- D(1050,250)   <- the one cell, centred on D
      |
    200 m
      |
    A(50,50) ------------ 1000 m ----------- B(1050,50)    <- the clinic, on B

Edges: 0 A-B (way 1), 1 C-D (way 2), 2 A-C (way 3). From D the clinic is 1000 + 200 +
1000 = 2,200 m: 29.33 minutes. A passage D-B (200 m) makes it 2.67 minutes; a lift D-B of
30 m rise takes the lift model's 30 s wait + 30 s ride = 1 minute; a passage at x = 550
whose ends lie 10 m beyond both streets splits them and is 10 + 220 + 10 m long: 500 + 240 +
500 = 1,240 m = 16.53 minutes.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecircle._errors import PlanFileError
from lifecircle.layers.plans import Plan
from lifecircle.layers.profiles import load_profiles
from lifecircle.scenario import run_scenario
from lifecircle.schema import GAINED, LOST, change_columns
from lifecircle.spatial.access import compute_cells
from lifecircle.spatial.scenarios import LINK_JOIN_M, add_people, cell_changes, community_changes, edit_network
from lifecircle.spatial.terrain import LIFT_SPEED_MS, LIFT_WAIT_S
from lifecircle.testing import model_from_network
from tests.synthetic import CRS, ORIGIN, at, grid_network, network_from_lines

MIN_PER_M = 1 / 75.0
FIELDS = ("action", "category", "name", "capacity", "kind", "height_m", "osm_id", "population", "people_60plus",
          "people_0_14")


def streets():
    return network_from_lines([(50, 50), (1050, 50), (50, 250), (1050, 250)], [(0, 1), (2, 3), (0, 2)])


def line(*pts):
    return shapely.LineString([(ORIGIN[0] + x, ORIGIN[1] + y) for x, y in pts])


def result_of(network, facilities, area, categories=("clinic",)):
    model = model_from_network(network, facilities, area=area, categories=categories)
    cells, _ = compute_cells(model.graph, model.grid, model.origins, model.access, n_facilities=len(model.facilities),
                             categories=model.categories, leg_speed_kmh=model.speed_kmh)
    cells["population"] = 10.0
    cells["population_60plus"] = 2.0
    cells["community"] = "c"
    return SimpleNamespace(model=model, cells=cells)


def plan_of(*rows, crs=CRS):
    """A Plan from (fields dict, geometry) pairs in metric coordinates."""
    table = gpd.GeoDataFrame([{**{f: None for f in FIELDS}, **r} for r, _ in rows],
                             geometry=[g for _, g in rows], crs=crs)
    table.insert(0, "layer", "")
    table.insert(0, "feature", np.arange(1, len(rows) + 1))
    for col in ("capacity", "height_m", "population", "people_60plus", "people_0_14"):
        table[col] = table[col].astype(float)
    table["osm_id"] = pd.array(table["osm_id"].tolist(), dtype="Int64")
    return Plan(features=table.to_crs(4326), path=Path("plan.geojson"), sha256="0" * 64)


@pytest.fixture(scope="module")
def base():
    clinic = gpd.GeoDataFrame({"category": ["clinic"], "name": ["B"], "osm_id": [99]}, geometry=[at(1050, 50)], crs=CRS)
    area = shapely.box(ORIGIN[0] + 1000, ORIGIN[1] + 200, ORIGIN[0] + 1100, ORIGIN[1] + 300)
    return result_of(streets(), clinic, area)


def minutes_after(base, plan):
    change = run_scenario(base, plan)
    return float(change.cells[change_columns("clinic")["after"]].iloc[0]), change


def test_the_one_cell_sits_on_d_and_walks_2200_m(base) -> None:
    assert len(base.cells) == 1
    assert base.cells["minutes_to_clinic"].iloc[0] == pytest.approx(2200 * MIN_PER_M)


def test_a_passage_between_two_nodes_shortens_the_walk_to_its_length(base) -> None:
    after, change = minutes_after(base, plan_of(({"action": "add_link", "kind": "passage"},
                                                 line((1050, 250), (1050, 50)))))
    assert after == pytest.approx(200 * MIN_PER_M)
    assert change.cells[change_columns("clinic")["status"]].iloc[0] == GAINED
    assert change.cells[change_columns("clinic")["change"]].iloc[0] == pytest.approx(-2000 * MIN_PER_M)
    assert change.record["network_edit"]["links_added"] == 1 and change.record["network_edit"]["edges_split"] == 0


def test_a_lift_takes_the_wait_plus_its_height_at_lift_speed(base) -> None:
    after, change = minutes_after(base, plan_of(({"action": "add_link", "kind": "lift", "height_m": 30.0},
                                                 line((1050, 250), (1050, 50)))))
    assert LIFT_WAIT_S == 30.0 and LIFT_SPEED_MS == 1.0  # the numbers the docstring's minute uses
    assert after == pytest.approx((LIFT_WAIT_S + 30.0 / LIFT_SPEED_MS) / 60.0)
    assert change.links["seconds_uv"].iloc[0] == pytest.approx(60.0)


def test_a_stairway_with_a_height_is_timed_by_the_stairs_model(base) -> None:
    adult = load_profiles()["adult"]
    after, _ = minutes_after(base, plan_of(({"action": "add_link", "kind": "stairway", "height_m": 30.0},
                                            line((1050, 250), (1050, 50)))))
    steps = round(30.0 / adult.step_riser_m)  # half climbed, half descended either way (no direction known)
    up = max(adult.stairs_seconds_per_step_up, adult.step_tread_m / adult.flat_speed_ms)
    down = max(adult.stairs_seconds_per_step_down, adult.step_tread_m / adult.flat_speed_ms)
    landing = max(200.0 - steps * adult.step_tread_m, 0.0) / adult.flat_speed_ms
    assert after == pytest.approx((steps / 2 * up + steps / 2 * down + landing) / 60.0)


def test_a_link_whose_ends_lie_off_the_streets_splits_them(base) -> None:
    after, change = minutes_after(base, plan_of(({"action": "add_link", "kind": "passage"},
                                                 line((550, 260), (550, 40)))))
    assert change.record["network_edit"]["edges_split"] == 2
    assert change.links["length_m"].iloc[0] == pytest.approx(240.0)
    assert after == pytest.approx(1240 * MIN_PER_M)


def test_a_link_end_far_from_any_way_is_refused_with_the_distance(base) -> None:
    with pytest.raises(PlanFileError, match=rf"feature 1 \(add_link\): its end must lie within {LINK_JOIN_M:g} m"):
        run_scenario(base, plan_of(({"action": "add_link", "kind": "passage"}, line((1050, 250), (1050, 150)))))


@pytest.mark.parametrize("closure", [
    ({"action": "close_way", "osm_id": 3}, None),
    ({"action": "close_way"}, line((50, 60), (50, 240))),
    ({"action": "close_gate", "osm_id": 3}, None),  # node C: the north street no longer meets A-C
])
def test_closing_the_only_link_leaves_the_cell_without_the_clinic(base, closure) -> None:
    after, change = minutes_after(base, plan_of(closure))
    assert np.isnan(after)
    assert change.cells[change_columns("clinic")["status"]].iloc[0] == ""  # it was not within 15 minutes either


def test_closing_a_way_that_is_not_there_is_refused(base) -> None:
    with pytest.raises(PlanFileError, match=r"feature 1 \(close_way\): expected OSM way 77 on the network; found none"):
        run_scenario(base, plan_of(({"action": "close_way", "osm_id": 77}, None)))


def test_facilities_added_and_removed(base) -> None:
    after, change = minutes_after(base, plan_of(({"action": "add_facility", "category": "clinic"}, at(1050, 250))))
    assert after == pytest.approx(0.0, abs=1e-9) and change.record["recomputed"]["network"] is False
    after, _ = minutes_after(base, plan_of(({"action": "remove_facility", "category": "clinic", "osm_id": 99}, None)))
    assert np.isnan(after)
    after, _ = minutes_after(base, plan_of(({"action": "remove_facility", "category": "clinic"}, at(1040, 60))))
    assert np.isnan(after)
    with pytest.raises(PlanFileError, match="category 'school' is not computed in this run"):
        run_scenario(base, plan_of(({"action": "add_facility", "category": "school"}, at(0, 0))))


def test_new_housing_adds_its_people_and_its_elderly(base) -> None:
    _, change = minutes_after(base, plan_of(({"action": "add_people", "population": 300.0, "people_60plus": 90.0},
                                             shapely.box(ORIGIN[0] + 1000, ORIGIN[1] + 200, ORIGIN[0] + 1100,
                                                         ORIGIN[1] + 300))))
    assert change.cells["population_after"].iloc[0] == 310.0
    assert change.cells["population_60plus"].iloc[0] == 92.0
    assert change.record["recomputed"]["categories"] == []  # people alone need no search


def test_people_newly_within_by_age_group(base) -> None:
    _, change = minutes_after(base, plan_of(({"action": "add_link", "kind": "passage"},
                                             line((1050, 250), (1050, 50)))))
    total = change.communities.set_index("community").loc["(all)"]
    assert total["people_newly_within"] == 10.0 and total["newly_within_60plus"] == 2.0
    assert total["share_before"] == 0.0 and total["share_after"] == 1.0


def test_change_tables_by_hand() -> None:
    cells = pd.DataFrame({"cell_id": [1, 2, 3, 4], "community": ["a", "a", "b", "b"]})
    t = cell_changes(cells, {"x": np.array([20.0, 10.0, np.nan, 14.0])}, {"x": np.array([10.0, 10.0, 12.0, 16.0])},
                     people_before=np.array([1.0, 2.0, 3.0, 4.0]), people_after=np.array([1.0, 2.0, 3.0, 4.0]),
                     threshold_minutes=15)
    assert t[change_columns("x")["status"]].tolist() == [GAINED, "", GAINED, LOST]
    c = community_changes(t, categories=["x"], threshold_minutes=15).set_index("community")
    assert c.loc["a", "share_before"] == pytest.approx(2 / 3) and c.loc["a", "share_after"] == 1.0
    assert c.loc["b", "people_newly_within"] == 3.0 and c.loc["b", "people_no_longer_within"] == 4.0
    assert c.loc["(all)", "cells_gained"] == 2 and c.loc["(all)", "cells_lost"] == 1
    assert c.loc["a", "mean_change_minutes"] == pytest.approx((-10 * 1 + 0 * 2) / 3)


def test_housing_outside_the_grid_is_refused() -> None:
    grid = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=CRS)
    housing = gpd.GeoDataFrame({"feature": [4], "population": [10.0]}, geometry=[shapely.box(500, 500, 600, 600)],
                               crs=CRS)
    with pytest.raises(PlanFileError, match=r"feature 4 \(add_people\).*overlaps no cell"):
        add_people(grid, housing)


def test_the_input_network_is_left_unchanged(base) -> None:
    net, costs = base.model.network, base.model.costs
    before = (net.edges.copy(), costs.copy())
    links = plan_of(({"action": "add_link", "kind": "passage"}, line((550, 260), (550, 40)))).features.to_crs(CRS)
    edit_network(net, costs, links=links, profile=base.model.profile)
    assert net.edges.equals(before[0]) and costs.equals(before[1])


# --------------------------------------------------------------------------- invariants on a 4 x 4 grid

GRID = grid_network(4, 100.0)
GRID_AREA = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 300, ORIGIN[1] + 300)


@pytest.fixture(scope="module")
def grid_base():
    clinic = gpd.GeoDataFrame({"category": ["clinic"], "name": ["c"], "osm_id": [1]}, geometry=[at(0, 0)], crs=CRS)
    return result_of(GRID, clinic, GRID_AREA)


def _minutes(change, when):
    return np.nan_to_num(change.cells[change_columns("clinic")[when]].to_numpy(float), nan=np.inf)


node = st.integers(0, 15)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=node, b=node, x=st.floats(0, 300), y=st.floats(0, 300), kind=st.sampled_from(["passage", "lift", "stairway"]))
def test_adding_a_facility_or_a_link_never_lengthens_a_walk(grid_base, a, b, x, y, kind) -> None:
    change = run_scenario(grid_base, plan_of(({"action": "add_facility", "category": "clinic"}, at(x, y))))
    assert (_minutes(change, "after") <= _minutes(change, "before") + 1e-9).all()
    if a != b:
        pa, pb = divmod(a, 4), divmod(b, 4)
        link = line((pa[1] * 100, pa[0] * 100), (pb[1] * 100, pb[0] * 100))
        change = run_scenario(grid_base, plan_of(({"action": "add_link", "kind": kind, "height_m": 10.0}, link)))
        assert (_minutes(change, "after") <= _minutes(change, "before") + 1e-9).all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ways=st.sets(st.integers(1, GRID.n_edges), min_size=1, max_size=6), gate=st.integers(1, 16))
def test_closing_never_shortens_a_walk(grid_base, ways, gate) -> None:
    rows = [({"action": "close_way", "osm_id": w}, None) for w in sorted(ways)]
    change = run_scenario(grid_base, plan_of(*rows))
    closed = np.isin(GRID.edges["osm_way_id"].to_numpy(), sorted(ways))
    # A cell whose own way is closed steps onto the next one: only the others are compared.
    stays = ~closed[grid_base.model.origins.edge]
    assert (_minutes(change, "after")[stays] >= _minutes(change, "before")[stays] - 1e-9).all()
    change = run_scenario(grid_base, plan_of(({"action": "close_gate", "osm_id": gate}, None)))
    assert (_minutes(change, "after") >= _minutes(change, "before") - 1e-9).all()
