"""The run's model and the keyword API, on lifecircle.testing's small network.

The network (see :mod:`lifecircle.testing`): a 900 m street N1-N4 along y = 0 and a
parallel one N0-N5 along y = 200 m joined at the west end; a clinic 20 m south of N1 and a
school 20 m south of N4. The data's extent is 900 m x 200 m: 18 cells of 100 m.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

import lifecircle
from lifecircle._errors import NoCrsError, OptionError
from lifecircle.testing import assert_minutes_equal, small_model, small_network_file


@pytest.fixture(scope="module")
def model() -> lifecircle.Model:
    return small_model()


@pytest.fixture(scope="module")
def result() -> lifecircle.RunResult:
    return lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], cell_size_m=100, progress=False)


def test_model_knows_its_crs_and_reach(model) -> None:
    assert model.crs.to_epsg() == 32648  # Chongqing's UTM zone, from the data alone
    assert model.input_crs == pyproj.CRS.from_epsg(4326)
    assert model.reach_m == pytest.approx(15 * 75.0)  # 15 minutes at 4.5 km/h
    assert model.speed_kmh == 4.5 and model.profile.name == "adult"
    assert model.area.bounds[2] - model.area.bounds[0] == pytest.approx(900, abs=0.5)
    assert model.area.bounds[3] - model.area.bounds[1] == pytest.approx(200, abs=0.5)


def test_model_is_frozen(model) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.costs = None  # type: ignore[misc]


def test_model_facilities_and_their_access(model) -> None:
    assert model.facilities[["category", "name", "source"]].values.tolist() == [
        ["clinic", "West clinic", "osm"], ["school", "East school", "osm"]]
    assert model.facilities["reachable"].tolist() == [True, True]
    assert model.facility_file_rows.tolist() == [-1, -1]
    assert model.facility_counts == {"clinic": 1, "school": 1}
    assert model.no_data == ()
    assert len(model.origins.edge) == len(model.grid) == 18 and model.origins.matched.all()


def test_run_reuses_the_model_and_measures_hand_checkable_minutes(result) -> None:
    # Cells of the southern row lie 50 m north of the street; their centres at x = 50 ... 850.
    # The clinic joins the street 20 m south of N1; a cell is 50 m off the street; 75 m/min.
    south = result.cells.iloc[9:]
    expected = [(20 + x + 50) / 75 for x in range(50, 900, 100)]
    assert_minutes_equal(south, "clinic", expected)
    assert_minutes_equal(south, "school", expected[::-1])
    assert result.options is result.model.options and result.network is result.model.network
    assert result.categories == ("clinic", "school") and result.no_data == ()


def test_summary_is_typed_and_keeps_its_order(result) -> None:
    summary = result.summary
    assert isinstance(summary, lifecircle.RunSummary)
    d = summary.as_dict()
    assert list(d)[:3] == ["study_area", "profile", "speed_kmh"]
    # The facts about people and communities follow the data's date, then those the map words.
    assert list(d)[list(d).index("date") + 1:] == ["population", "community_kind", "communities_unassigned",
                                                   "unit_sizing", "population_facts", "osm_date", "area"]
    assert d["cells"] == 18 == summary.cells
    assert summary.cells_underserved == int(result.cells["underserved"].sum())


def test_boundary_as_file_geodataframe_or_shapely_gives_the_same_cells(tmp_path) -> None:
    lonlat = gpd.GeoSeries([shapely.box(-100, -100, 500, 300)], crs=32648)
    # Local metres (as in lifecircle.testing) to the true UTM coordinates, then to degrees.
    polygon_utm = shapely.affinity.translate(lonlat.iloc[0], 600_000, 3_270_000)
    frame = gpd.GeoDataFrame({"name": ["west half"]}, geometry=[polygon_utm], crs=32648)
    path = tmp_path / "west.geojson"
    frame.to_crs(4326).to_file(path)
    polygon = frame.to_crs(4326).geometry.iloc[0]
    runs = [lifecircle.run(osm=small_network_file(), boundary=b, categories=["clinic"], progress=False)
            for b in (path, frame, polygon)]
    for other in runs[1:]:
        assert other.cells["cell_id"].tolist() == runs[0].cells["cell_id"].tolist()
        np.testing.assert_allclose(other.cells["minutes_to_clinic"], runs[0].cells["minutes_to_clinic"], rtol=1e-9)
    assert runs[1].model.input_crs.to_epsg() == 32648 and runs[2].model.input_crs.to_epsg() == 4326
    assert runs[1].record["options"]["boundary"] == "<GeoDataFrame of 1 rows>"


def test_bad_boundaries_and_mixed_calls_are_refused() -> None:
    with pytest.raises(NoCrsError):
        lifecircle.run(osm=small_network_file(), boundary=gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))
    with pytest.raises(OptionError, match="polygon"):
        lifecircle.run(osm=small_network_file(), boundary=shapely.Point(0, 0))
    with pytest.raises(OptionError, match="not both"):
        lifecircle.run(lifecircle.RunOptions(), osm=small_network_file())
    with pytest.raises(TypeError):
        lifecircle.run(osm=small_network_file(), no_such_option=1)


def test_communities_for_derives_units_without_a_file(model) -> None:
    units = lifecircle.communities_for(model.extract, area=model.area, crs=model.crs)
    assert list(units.columns) == ["name", "geometry"] and len(units) >= 1
    assert units.union_all().area == pytest.approx(model.area.area, rel=1e-6)


def test_population_for_falls_back_to_a_stated_weight(model) -> None:
    values, source, groups, kind, record = lifecircle.population_for(model.grid, model.extract)
    assert record == {"method": kind}
    assert kind in ("floor_area", "equal") and groups == {} and len(values) == len(model.grid)
    assert source


def test_walkthrough_needs_at_most_three_imports() -> None:
    import ast

    from tests.conftest import REPO

    tree = ast.parse((REPO / "examples" / "walkthrough.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert len(imports) <= 3
    code = (REPO / "examples" / "walkthrough.py").read_text(encoding="utf-8")
    assert "utm_crs_for" not in code and "reach_m=" not in code  # the model knows its CRS and reach
