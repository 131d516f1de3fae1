"""Gap lists: rows without people left out, derived units named 片区, the gap-area list."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from lifecircle.outputs import gap_area_table, gap_table
from lifecircle.spatial.coverage import gap_areas
from tests.synthetic import CRS, ORIGIN


def _cells() -> gpd.GeoDataFrame:
    x0, y0 = ORIGIN
    geoms = [shapely.box(x0 + i * 100, y0, x0 + i * 100 + 100, y0 + 100) for i in range(4)]
    return gpd.GeoDataFrame({
        "cell_id": ["a", "b", "c", "d"],
        "community": ["解放碑片区"] * 4,
        "population": [30.0, 0.0, np.nan, 5.0],
        "underserved": [True, True, True, False],
        "missing": ["clinic", "clinic", "clinic", ""],
        "minutes_to_clinic": [20.0, 25.0, 30.0, 3.0],
        "x": [x0 + 50 + i * 100 for i in range(4)],
        "y": [y0 + 50] * 4,
    }, geometry=geoms, crs=CRS)


def test_gap_list_leaves_out_cells_without_people() -> None:
    table = gap_table(_cells(), categories=["clinic"], lang="en")
    assert list(table["cell_id"]) == ["a"]  # b has 0 people, c none known, d is served
    assert list(table["rank"]) == [1]


def test_derived_units_are_pian_qu_not_she_qu() -> None:
    zh = gap_table(_cells(), categories=["clinic"], lang="zh", community_kind="neighbourhood_unit")
    assert "片区" in zh.columns and "社区" not in zh.columns
    en = gap_table(_cells(), categories=["clinic"], lang="en", community_kind="neighbourhood_unit")
    assert "neighbourhood_unit" in en.columns and "community" not in en.columns
    assert "社区" in gap_table(_cells(), categories=["clinic"], lang="zh").columns


def test_gap_area_list() -> None:
    areas = gap_areas(_cells(), cell_size_m=100)
    table = gap_area_table(areas, lang="zh", community_kind="neighbourhood_unit")
    # a, b and c touch and miss the same: one area of 3 cells and 30 people.
    assert len(table) == 1
    row = table.iloc[0]
    assert row["人口"] == 30 and row["网格数"] == 3 and row["面积(公顷)"] == 3 and row["片区"] == "解放碑片区"
    assert "最近建议新址" not in table.columns  # no suggested sites: no empty column


def test_gap_area_list_names_the_nearest_site_in_the_list_language() -> None:
    x0, y0 = ORIGIN
    sites = gpd.GeoDataFrame({"category": ["clinic"], "rank": [2]}, geometry=[shapely.Point(x0, y0)], crs=CRS)
    areas = gap_areas(_cells(), cell_size_m=100, sites=sites)
    labels = {"clinic": {"zh": "诊所/医疗", "en": "clinic"}}
    zh = gap_area_table(areas, lang="zh", labels=labels)
    assert list(zh["最近建议新址"]) == ["诊所/医疗 #2"] and list(zh["缺少的设施"]) == ["诊所/医疗"]
    assert list(gap_area_table(areas, lang="en", labels=labels)["nearest_suggested_site"]) == ["clinic #2"]


def test_no_gap_areas_give_an_empty_list_with_headers() -> None:
    served = _cells().assign(underserved=False, missing="")
    areas = gap_areas(served, cell_size_m=100)
    table = gap_area_table(areas, lang="en")
    assert len(table) == 0 and {"rank", "area_id", "people", "community", "missing"} <= set(table.columns)
