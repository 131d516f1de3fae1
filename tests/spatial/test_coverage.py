from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.spatial.coverage import (
    assign_communities,
    category_summary,
    flag_underserved,
    summarise_communities,
    weighted_quantile,
)
from tests.synthetic import CRS


def _cells() -> gpd.GeoDataFrame:
    # Six 100 m cells in a row: x centres 50..550; community A holds the first three.
    geoms = [shapely.box(i * 100, 0, i * 100 + 100, 100) for i in range(6)]
    return gpd.GeoDataFrame({
        "cell_id": [f"c{i}" for i in range(6)],
        "population": [100.0, 50.0, 0.0, 10.0, 40.0, 30.0],
        "access": ["network", "network", "no_access", "network", "network", "network"],
        "minutes_to_clinic": [5.0, 20.0, np.nan, 12.0, np.nan, 15.0],
        "minutes_to_park": [np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        "minutes_to_school": [3.0, 4.0, np.nan, 30.0, 2.0, 1.0],
    }, geometry=geoms, crs=CRS)


def test_flag_underserved_lists_missing_but_never_no_data_or_no_access() -> None:
    flags = flag_underserved(_cells(), categories=["clinic", "park", "school"], threshold_minutes=15,
                             no_data=["park"])
    assert flags["underserved"].tolist() == [False, True, False, True, True, False]
    assert flags["missing"].tolist() == ["", "clinic", "", "school", "clinic", ""]


def test_weighted_quantile() -> None:
    v = np.array([1.0, 2.0, 3.0, np.inf])
    assert weighted_quantile(v, np.array([1, 1, 1, 1.0]), 0.5) == 2.0
    assert weighted_quantile(v, np.array([0, 0, 0, 10.0]), 0.5) == np.inf
    assert weighted_quantile(v, np.zeros(4), 0.9) == np.inf  # equal weights fallback


def test_community_summary_matches_a_direct_count() -> None:
    cells = _cells()
    comm = gpd.GeoDataFrame({"name": ["A", "B"]},
                            geometry=[shapely.box(0, 0, 300, 100), shapely.box(300, 0, 600, 100)], crs=CRS)
    cells["community"] = assign_communities(cells, comm)
    assert cells["community"].tolist() == ["A", "A", "A", "B", "B", "B"]
    out = summarise_communities(cells, comm, categories=["clinic", "school"], threshold_minutes=15,
                                coverage_target=0.8)
    a, b = out.iloc[0], out.iloc[1]
    # A: network cells c0 (100 people, 5 min) and c1 (50, 20 min): clinic share 100/150.
    assert a["share_clinic"] == pytest.approx(100 / 150)
    assert a["share_school"] == pytest.approx(1.0)
    assert a["population"] == 150 and a["no_access_cells"] == 1
    assert a["has"] == "school" and a["lacks"] == "clinic"
    # B: c3 (10, 12 min), c4 (40, unreachable), c5 (30, 15 min): clinic share 40/80.
    assert b["share_clinic"] == pytest.approx(40 / 80)
    assert b["median_clinic"] == 15.0  # weights 10@12, 30@15, 40@inf: half of 80 reached at 15
    assert np.isnan(b["p90_clinic"])  # the 90th percentile is unreachable: reported as empty
    assert b["share_school"] == pytest.approx(70 / 80)
    assert b["has"] == "school" and b["lacks"] == "clinic"


def test_category_summary_counts_people_served() -> None:
    cells = _cells()
    s = category_summary(cells, categories=["clinic", "park"], threshold_minutes=15, no_data=["park"],
                         facility_counts={"clinic": 2})
    assert s["clinic"]["people_served"] == 100 + 10 + 30
    assert s["clinic"]["share_served"] == pytest.approx(140 / 230)
    assert s["park"]["no_data"] is True and s["park"]["people_served"] is None
