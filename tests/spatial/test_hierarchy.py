"""Figures per governance level: hand-checked tables and an exact roll-up (streets = sum of communities)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle.spatial.coverage import weighted_quantile
from lifecircle.spatial.hierarchy import cell_unit_codes, group_quantiles, share_within_any, unit_table

# Six cells: communities C1, C2 in street S1, C3 in street S2. Minutes to the clinic and
# people are chosen so every share can be checked by hand.
CELLS = pd.DataFrame({
    "population": [10.0, 30.0, 20.0, 0.0, 40.0, 5.0],
    "access": ["network", "network", "network", "no_access", "network", "network"],
    "underserved": [False, True, False, False, True, True],
    "minutes_to_clinic": [4.0, 20.0, 9.0, np.nan, np.nan, 14.0],
})
COMMUNITY_OF_CELL = np.array(["C1", "C1", "C2", "C2", "C3", "C3"], dtype=object)
COMMUNITIES = pd.DataFrame({"code": ["C1", "C2", "C3"], "name": ["一社区", "二社区", "三社区"],
                            "parent_code": ["S1", "S1", "S2"]})
STREETS = pd.DataFrame({"code": ["S1", "S2"], "name": ["甲街道", "乙街道"], "parent_code": ["", ""]})
PAIRS = {"clinic": (("5min", 5.0), ("10min", 10.0), ("15min", 15.0))}


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    low, street = cell_unit_codes(COMMUNITY_OF_CELL, [dict(zip(COMMUNITIES["code"], COMMUNITIES["parent_code"]))])
    kw = {"categories": ["clinic"], "thresholds": PAIRS, "main_minutes": 15.0, "coverage_target": 0.5}
    return unit_table(CELLS, low, COMMUNITIES, **kw), unit_table(CELLS, street, STREETS, **kw)


def test_community_table_by_hand() -> None:
    comm, _ = _tables()
    c1 = comm.set_index("code").loc["C1"]
    assert c1["population"] == 40.0 and c1["underserved_people"] == 30.0 and c1["underserved_cells"] == 1
    assert c1["share_clinic"] == pytest.approx(10 / 40)  # 4 min in, 20 min out
    assert c1["share_clinic_5min"] == pytest.approx(10 / 40)
    c2 = comm.set_index("code").loc["C2"]
    assert c2["no_access_cells"] == 1 and c2["share_clinic_10min"] == 1.0 and c2["share_clinic_5min"] == 0.0
    c3 = comm.set_index("code").loc["C3"]
    assert c3["share_clinic"] == pytest.approx(5 / 45)  # the unreachable cell counts as beyond
    assert c3["median_clinic"] != c3["median_clinic"]  # nan: most people cannot reach one
    assert list(comm["has"]) == ["", "clinic", ""] and list(comm["lacks"]) == ["clinic", "", "clinic"]


def test_streets_roll_up_exactly_from_communities() -> None:
    comm, street = _tables()
    summed = comm.groupby("parent_code")[["population", "underserved_people", "underserved_cells", "cells",
                                          "within_clinic", "within_clinic_5min", "within_clinic_10min",
                                          "within_clinic_15min"]].sum()
    mine = street.set_index("code")[summed.columns]
    pd.testing.assert_frame_equal(mine.loc[summed.index], summed, check_names=False, check_dtype=False)
    s1 = street.set_index("code").loc["S1"]
    assert s1["share_clinic"] == pytest.approx((10 + 20) / 60)  # the sums' ratio, not a mean of shares
    net = (CELLS["access"] == "network").to_numpy() & np.isin(COMMUNITY_OF_CELL, ["C1", "C2"])
    expected = weighted_quantile(CELLS["minutes_to_clinic"].to_numpy()[net], CELLS["population"].to_numpy()[net], 0.5)
    assert s1["median_clinic"] == expected == 9.0


def test_cells_without_unit_are_left_out_and_codes_follow_parents() -> None:
    low, up = cell_unit_codes(np.array(["C1", "", "C3"], dtype=object), [{"C1": "S1", "C3": "S2"}])
    assert low.tolist() == ["C1", "", "C3"] and up.tolist() == ["S1", "", "S2"]


def test_share_within_any_people_and_land() -> None:
    cells = CELLS.assign(minutes_to_park=[30.0, 3.0, np.nan, np.nan, np.nan, np.nan])
    share, within, total = share_within_any(cells, ["clinic", "park"], 5.0)
    assert (within, total) == (40.0, 105.0) and share == pytest.approx(40 / 105)
    land, _, cells_total = share_within_any(cells, ["clinic", "park"], 5.0, basis="residential_land")
    assert cells_total == 5 and land == pytest.approx(2 / 5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([1.0, 2.0, 7.5, np.inf, np.nan, 12.0]),
                          st.sampled_from([0.0, 1.0, 2.5, 40.0])), min_size=1, max_size=40),
       st.sampled_from([0.0, 0.5, 0.9, 1.0]))
def test_group_quantiles_equal_the_one_group_quantile(rows: list, q: float) -> None:
    g = np.array([r[0] for r in rows])
    v = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows])
    expected = np.array([weighted_quantile(v[g == i], w[g == i], q) for i in range(6)])
    np.testing.assert_array_equal(group_quantiles(g, v, w, 6, q), expected)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.floats(0, 500), st.floats(0, 40), st.booleans()),
                min_size=1, max_size=60))
def test_roll_up_holds_for_any_cells(rows: list) -> None:
    comm_of = np.array([f"C{r[0]}" for r in rows], dtype=object)
    cells = pd.DataFrame({"population": [r[1] for r in rows], "minutes_to_clinic": [r[2] for r in rows],
                          "access": ["network"] * len(rows), "underserved": [r[3] for r in rows]})
    communities = pd.DataFrame({"code": ["C0", "C1", "C2", "C3"], "name": list("abcd"),
                                "parent_code": ["S1", "S1", "S2", "S2"]})
    streets = pd.DataFrame({"code": ["S1", "S2"], "name": ["x", "y"], "parent_code": ["", ""]})
    low, up = cell_unit_codes(comm_of, [dict(zip(communities["code"], communities["parent_code"]))])
    kw = {"categories": ["clinic"], "thresholds": {"clinic": (("10min", 10.0),)}, "main_minutes": 15.0}
    comm, street = unit_table(cells, low, communities, **kw), unit_table(cells, up, streets, **kw)
    for col in ("population", "underserved_people", "within_clinic", "within_clinic_10min"):
        np.testing.assert_allclose(street[col].to_numpy(), comm.groupby("parent_code")[col].sum().reindex(
            streets["code"]).to_numpy(), rtol=1e-12, atol=1e-9)
    assert street["population"].sum() == pytest.approx(cells["population"].sum())
