"""Plan files: the three formats read the same features; every rule refused with the file, the
feature, what was expected and what was found."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from lifecircle._errors import InputNotFoundError, PlanFileError
from lifecircle.layers.plans import ACTIONS, plan_record, read_plan, write_plan

YAML = """\
name: test plan
features:
  - {action: add_facility, category: clinic, name: 新站, capacity: 20, point: [106.57, 29.56]}
  - {action: remove_facility, category: school, osm_id: 123}
  - {action: add_link, kind: lift, height_m: 35, line: [[106.57, 29.56], [106.571, 29.561]]}
  - {action: close_way, osm_id: 456}
  - {action: close_gate, point: [106.572, 29.562]}
  - {action: add_people, population: 1200, people_60plus: 300,
     polygon: [[106.57, 29.56], [106.571, 29.56], [106.571, 29.561]]}
"""


@pytest.fixture
def yaml_plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def _geojson(tmp_path: Path, features: list[dict], name: str = "plan.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


POINT = {"type": "Point", "coordinates": [106.57, 29.56]}


def test_yaml_plan_features_and_counts(yaml_plan: Path) -> None:
    plan = read_plan(yaml_plan)
    assert plan.counts == dict.fromkeys(ACTIONS, 1)
    f = plan.features.set_index("action")
    assert f.loc["add_facility", "name"] == "新站" and f.loc["add_facility", "capacity"] == 20.0
    assert f.loc["add_link", "height_m"] == 35.0 and f.loc["add_link"].geometry.geom_type == "LineString"
    assert f.loc["close_way", "osm_id"] == 456 and f.loc["close_way"].geometry is None
    assert plan.features.crs.to_epsg() == 4326 and len(plan.sha256) == 64


def test_the_three_formats_read_the_same_plan(yaml_plan: Path, tmp_path: Path) -> None:
    plan = read_plan(yaml_plan)
    geojson = read_plan(write_plan(plan.features, tmp_path / "again.geojson"))
    plan.features.to_file(tmp_path / "again.gpkg", layer="plan", driver="GPKG")
    gpkg = read_plan(tmp_path / "again.gpkg")
    for other in (geojson, gpkg):
        cols = ["action", "category", "kind", "osm_id", "population"]
        assert other.features[cols].astype(str).equals(plan.features[cols].astype(str))
        assert all(shapely.equals_exact(a, b, 1e-7) if a is not None else b is None
                   for a, b in zip(plan.features.geometry, other.features.geometry))


def test_geopackage_layers_named_after_actions(tmp_path: Path) -> None:
    path = tmp_path / "plan.gpkg"
    gpd.GeoDataFrame({"category": ["clinic"]}, geometry=[shapely.Point(106.57, 29.56)], crs=4326).to_file(
        path, layer="add_facility")
    gpd.GeoDataFrame({"kind": ["passage"]}, geometry=[shapely.LineString([(106.57, 29.56), (106.58, 29.56)])],
                     crs=4326).to_file(path, layer="add_link")
    plan = read_plan(path)
    assert sorted(plan.features["action"]) == ["add_facility", "add_link"]
    assert "layer 'add_link'" in plan.where(plan.of("add_link").iloc[0])


def test_run_record_names_the_file_and_hash(yaml_plan: Path) -> None:
    record = plan_record(read_plan(yaml_plan))
    assert record["file"] == "plan.yaml" and record["counts"]["add_link"] == 1
    assert record["features"][0]["geometry"] == {"type": "Point", "coordinates": [106.57, 29.56]}
    json.dumps(record, allow_nan=False)  # plain JSON, no NaN


@pytest.mark.parametrize(("props", "geometry", "words"), [
    ({"action": "build_mall"}, POINT, "feature 1: action must be one of add_facility,"),
    ({"action": "add_facility"}, POINT, r"feature 1 \(add_facility\): expected a category \(e.g. clinic\); found none"),
    ({"action": "add_facility", "category": "clinic"}, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
     "expected a Point or Polygon or MultiPolygon geometry; found a LineString"),
    ({"action": "add_link", "kind": "lift"}, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
     r"height_m must be the lift's rise in metres \(> 0\); found"),
    ({"action": "add_link", "kind": "tunnel"}, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
     "kind must be one of stairway, lift, footbridge, passage, footway; found 'tunnel'"),
    ({"action": "close_way"}, None, "expected an OSM way id .osm_id. or a line along the ways; found neither"),
    ({"action": "close_way", "osm_id": "12a"}, None, "osm_id must be a whole number; found '12a'"),
    ({"action": "add_people", "population": -5}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
     "population must be >= 0; found -5"),
    ({"action": "add_people", "population": 10, "people_60plus": 20},
     {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, r"people_60plus \(20\) exceeds the population \(10\)"),
    ({"action": "add_facility", "category": "clinic", "colour": "red"}, POINT, "unknown field 'colour'; expected fields action,"),
])
def test_each_rule_is_refused_naming_file_feature_expected_and_found(tmp_path: Path, props, geometry, words) -> None:
    path = _geojson(tmp_path, [_feature(props, geometry)])
    with pytest.raises(PlanFileError, match=words) as info:
        read_plan(path)
    assert str(path) in str(info.value)


def test_hostile_text_is_shortened_in_messages(tmp_path: Path) -> None:
    path = _geojson(tmp_path, [_feature({"action": "<script>" + "x" * 5000}, POINT)])
    with pytest.raises(PlanFileError) as info:
        read_plan(path)
    assert len(str(info.value)) < 600 and "..." in str(info.value)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_geopackage_without_crs_or_with_a_stray_layer(tmp_path: Path) -> None:
    path = tmp_path / "plan.gpkg"
    gpd.GeoDataFrame({"action": ["add_facility"], "category": ["clinic"]}, geometry=[shapely.Point(0, 0)]).to_file(
        path, layer="plan")
    with pytest.raises(PlanFileError, match="layer 'plan' has no CRS; expected one recorded in the file"):
        read_plan(path)
    other = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(other, layer="roads")
    with pytest.raises(PlanFileError, match="layer 'roads' is not a plan layer; expected a layer named 'plan'"):
        read_plan(other)


def test_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="does not exist"):
        read_plan(tmp_path / "missing.geojson")
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(PlanFileError, match=r"is empty \(0 bytes\)"):
        read_plan(empty)
    csv = tmp_path / "plan.csv"
    csv.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"expected a .geojson, .gpkg, .yaml or .yml file; found '.csv'"):
        read_plan(csv)
    bad = tmp_path / "bad.yaml"
    bad.write_text("features:\n  - {action: add_facility, category: clinic, point: [1]}\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"feature 1 point: expected \[lon, lat\]; found"):
        read_plan(bad)
    nothing = _geojson(tmp_path, [], name="nothing.geojson")
    with pytest.raises(PlanFileError, match="holds no feature"):
        read_plan(nothing)


def test_the_readme_yaml_plan_reads(tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Plans and scenarios"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "plan.yaml"
    path.write_text(block, encoding="utf-8")
    counts = read_plan(path).counts
    assert counts == {"add_facility": 1, "remove_facility": 0, "add_link": 2, "close_way": 1, "close_gate": 0,
                      "add_people": 1}


def test_the_example_plan_reads() -> None:
    plan = read_plan(Path(__file__).resolve().parents[2] / "examples" / "yuzhong_plan.geojson")
    assert plan.counts["add_facility"] == 1 and plan.counts["add_link"] == 2
    assert sorted(plan.of("add_link")["kind"]) == ["lift", "passage"]
