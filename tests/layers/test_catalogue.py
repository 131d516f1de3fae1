"""Tests of the facility category catalogue: loading, validation, selection and matching."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from lifecircle._errors import (
    CatalogueError,
    InputNotFoundError,
    LifecircleError,
    NoCrsError,
    OptionError,
    UnknownCategoryError,
)
from lifecircle.layers.catalogue import (
    BUNDLED_CATALOGUE,
    Catalogue,
    Category,
    load_catalogue,
    match_features,
    match_sites,
    resolve_category,
    select,
)

REQUIRED = {
    "clinic": "诊所/医疗",
    "school": "学校",
    "kindergarten": "幼儿园",
    "park": "公园",
    "market": "菜市场/超市",
    "elderly_care": "养老",
}

# Synthetic geometry lives in UTM 48N (EPSG:32648), near Yuzhong, so sizes are metres.
X0, Y0 = 600_000.0, 3_270_000.0


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def square(x: float, y: float, side: float) -> shapely.Polygon:
    """An axis-aligned square of ``side`` metres with its lower-left corner at (X0+x, Y0+y)."""
    return box(X0 + x, Y0 + y, X0 + x + side, Y0 + y + side)


def pt(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def feats(rows: list[tuple[str, int, dict[str, str], shapely.Geometry]], crs: str = "EPSG:32648") -> gpd.GeoDataFrame:
    """Features shaped like read_osm's: osm_type, osm_id, name, tags, geometry."""
    return gpd.GeoDataFrame(
        {
            "osm_type": [r[0] for r in rows],
            "osm_id": np.array([r[1] for r in rows], dtype=np.int64),
            "name": [r[2].get("name") for r in rows],
            "tags": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=crs,
    )


def ids(result: gpd.GeoDataFrame, category: str) -> list[int]:
    return result.loc[result["category"] == category, "osm_id"].tolist()


# --------------------------------------------------------------------------- bundled file


def test_bundled_catalogue_has_required_categories(catalogue: Catalogue) -> None:
    for name, label in REQUIRED.items():
        assert name in catalogue
        assert catalogue[name].label_zh == label
        assert catalogue[name].label_en
    assert catalogue.sources == (str(BUNDLED_CATALOGUE),)
    assert catalogue.names[:6] == list(REQUIRED)


def test_bundled_colours_are_distinct_hex(catalogue: Catalogue) -> None:
    colours = [c.colour for c in catalogue]
    assert len(set(colours)) == len(colours)
    assert all(len(c) == 7 and c.startswith("#") for c in colours)


def test_catalogue_is_read_only(catalogue: Catalogue) -> None:
    with pytest.raises(TypeError):
        catalogue.categories["x"] = catalogue["park"]  # type: ignore[index]


def test_yaml_is_packaged_next_to_module() -> None:
    # pyproject ships layers/*.yaml as package data; the loader must find it there.
    assert BUNDLED_CATALOGUE.name == "categories.yaml"
    assert BUNDLED_CATALOGUE.parent.name == "layers"
    assert BUNDLED_CATALOGUE.is_file()


# --------------------------------------------------------------------------- rules on synthetic features


def test_clinic_rules(catalogue: Catalogue) -> None:
    f = feats([
        ("node", 1, {"amenity": "clinic"}, pt(0, 0)),
        ("node", 2, {"amenity": "doctors"}, pt(100, 0)),
        ("node", 3, {"amenity": "hospital"}, pt(200, 0)),
        ("node", 4, {"healthcare": "centre"}, pt(300, 0)),
        ("node", 5, {"healthcare": "pharmacy", "shop": "chemist"}, pt(400, 0)),  # not a doctor's care
        ("node", 6, {"amenity": "pharmacy"}, pt(500, 0)),
        ("way", 7, {"building": "hospital"}, square(600, 0, 20)),
        ("node", 8, {"amenity": "clinic", "access": "private"}, pt(700, 0)),  # category-wide exclusion
        ("node", 9, {"amenity": "clinic;pharmacy"}, pt(800, 0)),  # multi-valued tag
        ("node", 10, {"amenity": "dentist", "healthcare": "dentist"}, pt(900, 0)),
        ("node", 11, {"building": "yes"}, pt(1000, 0)),
    ])
    out = match_features(f, [catalogue["clinic"]])
    assert ids(out, "clinic") == [1, 2, 3, 4, 9, 7]  # nodes by id, then the way
    assert list(out.columns) == ["category", "name", "osm_type", "osm_id", "geometry"]


def test_school_kindergarten_market_rules(catalogue: Catalogue) -> None:
    f = feats([
        ("way", 1, {"amenity": "school"}, square(0, 0, 100)),
        ("way", 2, {"building": "school"}, square(500, 0, 30)),
        ("node", 3, {"amenity": "university"}, pt(900, 0)),
        ("node", 4, {"amenity": "kindergarten"}, pt(1000, 0)),
        ("node", 5, {"amenity": "marketplace"}, pt(1100, 0)),
        ("node", 6, {"shop": "supermarket"}, pt(1200, 0)),
        ("node", 7, {"shop": "greengrocer"}, pt(1300, 0)),
        ("node", 8, {"shop": "convenience"}, pt(1400, 0)),
    ])
    out = match_features(f, select(catalogue, "school,kindergarten,market"))
    assert ids(out, "school") == [1, 2]
    assert ids(out, "kindergarten") == [4]
    assert ids(out, "market") == [5, 6, 7]
    assert out["category"].tolist() == ["school", "school", "kindergarten", "market", "market", "market"]


def test_park_rules_area_and_privacy(catalogue: Catalogue) -> None:
    f = feats([
        ("way", 1, {"leisure": "park"}, square(0, 0, 10)),  # a park of any size: 100 m²
        ("way", 2, {"leisure": "park", "access": "private"}, square(100, 0, 50)),
        ("way", 3, {"leisure": "park", "access": "no"}, square(200, 0, 50)),
        ("way", 4, {"leisure": "garden"}, square(300, 0, 21)),  # 441 m² >= 400
        ("way", 5, {"leisure": "garden"}, square(400, 0, 19)),  # 361 m² < 400
        ("node", 6, {"leisure": "garden"}, pt(500, 0)),  # a point has no area
        ("way", 7, {"leisure": "garden", "garden:type": "residential"}, square(600, 0, 50)),
        ("node", 8, {"leisure": "park"}, pt(700, 0)),
        ("way", 9, {"leisure": "playground"}, square(800, 0, 50)),
    ])
    out = match_features(f, [catalogue["park"]])
    assert ids(out, "park") == [8, 1, 4]


def test_park_garden_area_in_geographic_crs(catalogue: Catalogue) -> None:
    # The same 441 m² / 361 m² gardens, in EPSG:4326: areas must be measured in metres.
    f = feats([
        ("way", 4, {"leisure": "garden"}, square(300, 0, 21)),
        ("way", 5, {"leisure": "garden"}, square(400, 0, 19)),
    ]).to_crs("EPSG:4326")
    out = match_features(f, [catalogue["park"]])
    assert ids(out, "park") == [4]
    assert out.crs == f.crs


def test_elderly_care_rules(catalogue: Catalogue) -> None:
    f = feats([
        ("node", 1, {"amenity": "nursing_home"}, pt(0, 0)),
        ("node", 2, {"amenity": "social_facility", "social_facility:for": "senior"}, pt(100, 0)),
        ("node", 3, {"social_facility": "day_care", "social_facility:for": "senior"}, pt(200, 0)),
        ("node", 4, {"amenity": "social_facility", "social_facility": "day_care",
                     "social_facility:for": "child"}, pt(300, 0)),
        ("node", 5, {"amenity": "social_facility", "social_facility": "outreach",
                     "social_facility:for": "diseased"}, pt(400, 0)),
        ("node", 6, {"social_facility": "assisted_living", "social_facility:for": "senior;disabled"}, pt(500, 0)),
        ("node", 7, {"amenity": "social_facility", "social_facility": "nursing_home"}, pt(600, 0)),
    ])
    out = match_features(f, [catalogue["elderly_care"]])
    assert ids(out, "elderly_care") == [1, 2, 3, 6, 7]


def test_primary_and_middle_school_rules(catalogue: Catalogue) -> None:
    f = feats([
        ("way", 1, {"amenity": "school", "name": "人和街小学"}, square(0, 0, 50)),
        ("way", 2, {"amenity": "school", "name": "巴蜀中学"}, square(100, 0, 50)),
        ("way", 3, {"amenity": "school", "isced:level": "1;2"}, square(200, 0, 50)),
        ("way", 4, {"amenity": "school", "school": "primary"}, square(300, 0, 50)),
        ("way", 5, {"amenity": "school", "name": "Example Primary School"}, square(400, 0, 50)),
        ("way", 6, {"amenity": "school"}, square(500, 0, 50)),
        ("way", 7, {"building": "school", "name": "求精中学教学楼"}, square(600, 0, 50)),
    ])
    out = match_features(f, select(catalogue, "primary_school,middle_school"))
    assert ids(out, "primary_school") == [1, 3, 4, 5]
    assert ids(out, "middle_school") == [2, 3, 7]
    assert out.loc[out.osm_id == 1, "name"].tolist() == ["人和街小学"]
    assert out.loc[out.osm_id == 3, "name"].tolist() == [None, None]  # unnamed: None, not NaN


def test_feature_in_several_categories(catalogue: Catalogue) -> None:
    f = feats([
        ("node", 1, {"amenity": "social_facility", "social_facility": "nursing_home",
                     "social_facility:for": "senior", "healthcare": "nursing_home"}, pt(0, 0)),
    ])
    out = match_features(f, select(catalogue, "elderly_care,clinic"))
    assert out["category"].tolist() == ["elderly_care", "clinic"]  # order asked
    assert out["osm_id"].tolist() == [1, 1]


def test_values_are_exact_and_case_sensitive(catalogue: Catalogue) -> None:
    f = feats([
        ("node", 1, {"amenity": "Clinic"}, pt(0, 0)),
        ("node", 2, {"amenity": " clinic "}, pt(10, 0)),
        ("node", 3, {"amenity": "clinical_waste"}, pt(20, 0)),
        ("node", 4, {"amenity": "pharmacy; clinic"}, pt(30, 0)),  # parts are stripped
    ])
    assert ids(match_features(f, [catalogue["clinic"]]), "clinic") == [4]


def test_rows_without_tags_dict_match_nothing(catalogue: Catalogue) -> None:
    f = feats([("node", 1, {"amenity": "clinic"}, pt(0, 0)), ("node", 2, {}, pt(10, 0))])
    f["tags"] = [{"amenity": "clinic"}, None]
    assert ids(match_features(f, [catalogue["clinic"]]), "clinic") == [1]


# --------------------------------------------------------------------------- deduplication


def test_node_inside_polygon_of_same_category_counts_once(catalogue: Catalogue) -> None:
    f = feats([
        ("way", 10, {"building": "hospital"}, square(0, 0, 100)),
        ("node", 1, {"amenity": "hospital"}, pt(50, 50)),  # inside way 10: dropped
        ("node", 2, {"amenity": "clinic"}, pt(150, 50)),  # outside: kept
        ("node", 3, {"shop": "supermarket"}, pt(60, 60)),  # inside, other category: kept
    ])
    out = match_features(f, select(catalogue, "clinic,market"))
    assert ids(out, "clinic") == [2, 10]
    assert ids(out, "market") == [3]
    kept = match_features(f, select(catalogue, "clinic,market"), deduplicate=False)
    assert ids(kept, "clinic") == [1, 2, 10]


def test_building_inside_grounds_counts_once(catalogue: Catalogue) -> None:
    f = feats([
        ("way", 20, {"amenity": "school"}, square(0, 0, 200)),
        ("way", 21, {"building": "school"}, square(20, 20, 30)),  # inside the grounds
        ("way", 22, {"building": "school"}, square(150, 150, 100)),  # centre outside the grounds
        ("relation", 30, {"building": "school"}, square(500, 0, 40)),  # same outline as way 31
        ("way", 31, {"building": "school"}, square(500, 0, 40)),
    ])
    out = match_features(f, [catalogue["school"]])
    # Equal areas tie-break on (osm_type, osm_id): the relation sorts first and stays.
    assert sorted(ids(out, "school")) == [20, 22, 30]


def test_only_kept_polygons_absorb(catalogue: Catalogue) -> None:
    f = feats([
        ("way", 1, {"amenity": "school"}, square(0, 0, 100)),  # 10,000 m²
        # 9,000 m², centre (95, 50) inside way 1 but reaching out to x = 140: dropped.
        ("way", 2, {"building": "school"}, box(X0 + 50, Y0, X0 + 140, Y0 + 100)),
        # Inside way 2 only (centre (120, 50)): way 2 is gone, so it stays.
        ("way", 3, {"building": "school"}, square(110, 40, 20)),
        ("node", 4, {"amenity": "school"}, pt(20, 20)),  # inside way 1: dropped
    ])
    assert ids(match_features(f, [catalogue["school"]]), "school") == [1, 3]


def test_invalid_polygon_is_handled(catalogue: Catalogue) -> None:
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    f = feats([
        ("way", 1, {"building": "hospital"}, bowtie),
        ("node", 2, {"amenity": "clinic"}, pt(90, 50)),  # inside the right-hand lobe
    ])
    out = match_features(f, [catalogue["clinic"]])
    assert ids(out, "clinic") == [1]


# --------------------------------------------------------------------------- output contract


def test_empty_inputs_give_empty_typed_result(catalogue: Catalogue) -> None:
    f = feats([("node", 1, {"shop": "bakery"}, pt(0, 0))])
    out = match_features(f, [catalogue["clinic"]])
    assert len(out) == 0
    assert list(out.columns) == ["category", "name", "osm_type", "osm_id", "geometry"]
    assert out.crs == f.crs
    assert len(match_features(f.iloc[:0], [catalogue["clinic"]])) == 0
    assert len(match_features(f, [])) == 0


def test_input_not_modified(catalogue: Catalogue) -> None:
    f = feats([("node", 1, {"amenity": "clinic"}, pt(0, 0)), ("way", 2, {"building": "hospital"}, square(-5, -5, 10))])
    before = f.copy(deep=True)
    match_features(f, list(catalogue))
    assert f.equals(before)
    assert f["tags"].tolist() == before["tags"].tolist()


def test_bad_features_rejected(catalogue: Catalogue) -> None:
    f = feats([("node", 1, {"amenity": "clinic"}, pt(0, 0))])
    with pytest.raises(OptionError, match="tags"):
        match_features(f.drop(columns="tags"), [catalogue["clinic"]])
    with pytest.raises(NoCrsError):
        match_features(f.set_crs(None, allow_override=True), [catalogue["clinic"]])
    with pytest.raises(OptionError):
        match_features(f, ["clinic"])  # type: ignore[list-item]
    with pytest.raises(OptionError):
        match_features(f.drop(columns="geometry"), [catalogue["clinic"]])  # type: ignore[arg-type]


TAG_CHOICES = [
    {"amenity": "clinic"}, {"amenity": "school"}, {"building": "school"}, {"building": "hospital"},
    {"leisure": "park"}, {"leisure": "garden"}, {"shop": "supermarket"}, {"amenity": "bank"},
    {"amenity": "clinic", "access": "private"}, {"healthcare": "doctor"},
]


@st.composite
def feature_tables(draw: st.DrawFn) -> gpd.GeoDataFrame:
    n = draw(st.integers(1, 25))
    rows = []
    for i in range(n):
        tags = dict(draw(st.sampled_from(TAG_CHOICES)))
        x = draw(st.integers(0, 20)) * 25.0
        y = draw(st.integers(0, 20)) * 25.0
        if draw(st.booleans()):
            rows.append(("way", 1000 + i, tags, square(x, y, draw(st.sampled_from([10.0, 30.0, 80.0, 200.0])))))
        else:
            rows.append(("node", 1000 + i, tags, pt(x + 1.0, y + 1.0)))
    return feats(rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=feature_tables(), seed=st.integers(0, 2**31 - 1))
def test_properties_order_independent_and_subset(catalogue: Catalogue, table: gpd.GeoDataFrame, seed: int) -> None:
    cats = select(catalogue, "all")
    out = match_features(table, cats)
    shuffled = table.sample(frac=1.0, random_state=seed)
    again = match_features(shuffled, cats)
    # Deterministic: the row order of the input does not matter.
    assert out.drop(columns="geometry").equals(again.drop(columns="geometry"))
    assert out.geometry.geom_equals(again.geometry).all()
    # Sorted by category (catalogue order), osm_type, osm_id; each (category, feature) once.
    order = {c.name: i for i, c in enumerate(cats)}
    keys = list(zip(out["category"].map(order), out["osm_type"], out["osm_id"]))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # Deduplication only removes: the result is a subset of the undeduplicated matches.
    full = match_features(table, cats, deduplicate=False)
    full_keys = set(zip(full["category"], full["osm_id"]))
    assert set(zip(out["category"], out["osm_id"])) <= full_keys
    # Every dropped feature lies inside a kept polygon of its category, and no kept
    # feature lies inside a larger kept polygon of its category.
    kept = set(zip(out["category"], out["osm_id"]))
    probe = shapely.point_on_surface(out.geometry.to_numpy())
    area = np.where(out.geom_type.isin(["Polygon", "MultiPolygon"]), out.area, -1.0)
    for i in range(len(out)):
        same = (out["category"].to_numpy() == out["category"].iloc[i]) & (area > max(area[i], 0))
        assert not shapely.within(probe[i], out.geometry.to_numpy()[same]).any()
    for cat, oid in full_keys - kept:
        g = table.loc[table.osm_id == oid].geometry.iloc[0]
        polys = out[(out.category == cat) & out.geom_type.isin(["Polygon", "MultiPolygon"])].geometry
        assert polys.contains(shapely.point_on_surface(g)).any()


# --------------------------------------------------------------------------- loading and validation


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


GOOD_EXTRA = """
categories:
  library:
    label_zh: 图书馆
    label_en: Library
    colour: "#123456"
    rules:
      - amenity: library
  park:
    label_zh: 公园绿地
    label_en: Park or green
    colour: "#00aa00"
    rules:
      - leisure: [park, garden]
      - landuse: grass
"""


def test_extra_file_adds_and_replaces(tmp_path: Path) -> None:
    extra = write(tmp_path, GOOD_EXTRA)
    cat = load_catalogue(extra=extra)
    assert cat.names[-1] == "library"
    assert cat["park"].label_zh == "公园绿地"  # replaced as a whole
    assert cat["park"].exclude == ()
    assert cat.names.index("park") == 3  # keeps its place
    assert cat.sources == (str(BUNDLED_CATALOGUE), str(extra))
    assert cat["library"].source == str(extra)
    f = feats([("node", 1, {"amenity": "library"}, pt(0, 0)), ("way", 2, {"landuse": "grass"}, square(10, 10, 5))])
    out = match_features(f, select(cat, "library,park"))
    assert out["osm_id"].tolist() == [1, 2]


def test_extra_mapping_and_base_path(tmp_path: Path) -> None:
    cat = load_catalogue(extra={"categories": {"bank": {
        "label_zh": "银行", "label_en": "Bank", "colour": "#abcdef", "rules": [{"amenity": "bank"}]}}})
    assert "bank" in cat and cat.sources[-1] == "<mapping>"
    base = write(tmp_path, GOOD_EXTRA, "base.yaml")
    only = load_catalogue(base)
    assert only.names == ["library", "park"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("categories:\n  park:\n    label_en: P\n    colour: '#000000'\n    rules: [{leisure: park}]\n",
         "missing ['label_zh']"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: green\n    rules: [{leisure: park}]\n",
         "colour"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n    rules: []\n",
         "rules must be a non-empty list"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n    rules: [{leisure: park}]\n"
         "    colour_hint: 1\n", "unknown keys ['colour_hint']"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{isced:level: [1]}]\n", "quote values"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{name: {regex: '(['}}]\n", "invalid regex"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{min_area_m2: 5}]\n", "no tag condition"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{leisure: garden, min_area_m2: -1}]\n", "min_area_m2"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{leisure: ['*', park]}]\n", "must stand alone"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{leisure: park}]\n    default: maybe\n", "default must be true or false"),
        ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{leisure: park}]\n    exclude: {}\n", "exclude"),
        ("categories:\n  Green-Space:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
         "    rules: [{leisure: park}]\n", "lower-case"),
    ],
)
def test_malformed_entries_name_file_and_entry(tmp_path: Path, body: str, needle: str) -> None:
    p = write(tmp_path, body)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(extra=p)
    msg = str(info.value)
    assert str(p) in msg
    assert needle in msg
    assert "park" in msg or "Green-Space" in msg


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("categories: [\n", "not valid YAML"),
        ("- a\n- b\n", "'categories' key"),
        ("version: 2\ncategories:\n  x: {}\n", "version 2"),
        ("categories: {}\n", "non-empty mapping"),
        ("categorys:\n  x: {}\n", "'categories' key"),
    ],
)
def test_malformed_documents(tmp_path: Path, body: str, needle: str) -> None:
    p = write(tmp_path, body)
    with pytest.raises(CatalogueError, match=needle) as info:
        load_catalogue(p)
    assert str(p) in str(info.value)
    assert isinstance(info.value, LifecircleError)


def test_missing_catalogue_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="nope.yaml"):
        load_catalogue(extra=tmp_path / "nope.yaml")


def test_rule_line_numbers_in_message(tmp_path: Path) -> None:
    body = ("categories:\n  park:\n    label_zh: 公园\n    label_en: P\n    colour: '#000000'\n"
            "    rules:\n      - leisure: park\n      - leisure: 7\n")
    with pytest.raises(CatalogueError, match="rule 2"):
        load_catalogue(extra=write(tmp_path, body))


# --------------------------------------------------------------------------- selecting


def test_select(catalogue: Catalogue) -> None:
    # The YAML's `default:` flags decide the categories of a run that names none.
    assert [c.name for c in select(catalogue, None)] == ["clinic", "school", "park"]
    assert [c.name for c in select(catalogue, None)] == ["clinic", "school", "park"]
    assert [c.name for c in select(catalogue, "clinic, school,park")] == ["clinic", "school", "park"]
    assert [c.name for c in select(catalogue, ["PARK", "学校", "park"])] == ["park", "school"]
    assert [c.name for c in select(catalogue, "all")] == catalogue.names
    assert resolve_category(catalogue, "Kindergarten") == "kindergarten"
    assert resolve_category(catalogue, "幼儿园") == "kindergarten"
    assert resolve_category(catalogue, "zoo") is None
    assert all(isinstance(c, Category) for c in select(catalogue, "market"))


def test_select_unknown_lists_known(catalogue: Catalogue) -> None:
    with pytest.raises(UnknownCategoryError) as info:
        select(catalogue, "clinic,hospitals,zoo")
    msg = str(info.value)
    assert "'hospitals'" in msg and "'zoo'" in msg
    for name in catalogue.names:
        assert name in msg


def test_select_nothing(catalogue: Catalogue) -> None:
    with pytest.raises(OptionError):
        select(catalogue, "")
    with pytest.raises(OptionError):
        select(catalogue, [" ", ","])


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def yuzhong_features(yuzhong_pbf: Path) -> gpd.GeoDataFrame:
    from lifecircle.layers.osm import read_osm

    return read_osm(yuzhong_pbf, progress=False).features


@pytest.fixture(scope="module")
def helsinki_features(helsinki_pbf: Path) -> gpd.GeoDataFrame:
    from lifecircle.layers.osm import read_osm

    return read_osm(helsinki_pbf, progress=False).features


def _tag_count(features: gpd.GeoDataFrame, key: str, value: str) -> int:
    return int(sum(t.get(key) == value for t in features["tags"]))


def test_yuzhong_categories(catalogue: Catalogue, yuzhong_features: gpd.GeoDataFrame) -> None:
    # ../shared/data/README.md: 38 building=hospital and 14 building=school footprints,
    # 2 amenity=marketplace and 7 shop=supermarket; no clinic/school/kindergarten points, no park.
    out = match_features(yuzhong_features, select(catalogue, "all"))
    counts = out["category"].value_counts().to_dict()
    assert counts.get("clinic") == 38
    assert counts.get("school") == 14
    # Less the wholesale markets (大正小商品市场, 菜园坝水果市场) and a department store
    # tagged shop=supermarket (Galerie ROBINSON).
    assert counts.get("market") == 2 + 7 - 3
    for empty in ("kindergarten", "park", "elderly_care"):
        assert empty not in counts
    clinic = out[out.category == "clinic"]
    assert set(clinic.geom_type) == {"MultiPolygon"}
    assert "①门诊楼" in set(clinic["name"])
    market = out[out.category == "market"]
    assert {"永辉超市", "学田湾大阳沟菜市场"} <= set(market["name"])
    assert not {"菜园坝水果市场", "大正小商品市场", "Galerie ROBINSON"} & set(market["name"])
    assert out.crs == yuzhong_features.crs


def test_yuzhong_hospital_campuses_are_sites(catalogue: Catalogue, yuzhong_features: gpd.GeoDataFrame) -> None:
    # 38 building=hospital footprints of a few campuses (①门诊楼…⑧康复楼; 第一住院部A/B/C区, many
    # unnamed): counted per site, every footprint kept as a part and listed in the report.
    sites, qa = match_sites(yuzhong_features, select(catalogue, "clinic,market"))
    clinic = sites[sites["category"] == "clinic"]
    assert 3 <= len(clinic) <= 6
    assert int(clinic["parts"].sum()) == 38
    ward = clinic[clinic["parts"] == clinic["parts"].max()]
    assert ward["parts"].iloc[0] >= 20
    first = qa[(qa["category"] == "clinic") & qa["name"].isin(["①门诊楼", "⑧康复楼"])]
    assert len(first) == 2 and first["site_id"].nunique() == 1
    assert set(qa.loc[qa["category"] == "clinic", "action"]) == {"site", "merged"}
    # Every footprint of a multi-part site is listed (a single-footprint site is not).
    assert len(qa[(qa["category"] == "clinic")]) == 38 - int((clinic["parts"] == 1).sum())
    # Parts stay separate polygons so that each outline is an entrance.
    parts_geoms = sum(len(g.geoms) for g in clinic.geometry)
    assert parts_geoms == 38
    excluded = qa[(qa["category"] == "market") & (qa["action"] == "excluded")]
    assert set(excluded["name"]) == {"菜园坝水果市场", "大正小商品市场", "Galerie ROBINSON"}
    assert excluded["reason"].str.len().gt(0).all()


def test_yuzhong_small_garden_is_not_a_park(catalogue: Catalogue, yuzhong_features: gpd.GeoDataFrame) -> None:
    # The extract's one leisure=garden is a small unnamed courtyard; it must fall under
    # the 400 m² floor, or the README's "no park" would be wrong for another reason.
    gardens = yuzhong_features[[t.get("leisure") == "garden" for t in yuzhong_features["tags"]]]
    assert len(gardens) == 1
    area = float(gardens.to_crs("EPSG:32648").area.iloc[0])
    assert 0 < area < 400
    assert len(match_features(gardens, [catalogue["park"]])) == 0


def test_helsinki_categories(catalogue: Catalogue, helsinki_features: gpd.GeoDataFrame) -> None:
    out = match_features(helsinki_features, select(catalogue, "all"))
    counts = out["category"].value_counts().to_dict()
    # README: 3 clinics and 3 doctors; every one of them must be in the clinic category.
    n_points = _tag_count(helsinki_features, "amenity", "clinic") + _tag_count(helsinki_features, "amenity", "doctors")
    assert n_points == 6
    clinic = out[out.category == "clinic"]
    assert (clinic.osm_type == "node").sum() >= 6
    assert {"Diacor Keskusta", "Vita Lääkäriasema"} <= set(clinic["name"])
    assert "Sanomatalon veripalvelutoimisto" not in set(clinic["name"])  # blood donation
    # Schools: 3 amenity=school grounds; buildings inside them are the same school.
    assert counts["school"] >= 3
    assert {"Ressun lukio", "Kaisaniemen ala-aste"} <= set(out.loc[out.category == "school", "name"])
    n_school_grounds = _tag_count(helsinki_features, "amenity", "school")
    n_school_buildings = _tag_count(helsinki_features, "building", "school")
    assert counts["school"] < n_school_grounds + n_school_buildings
    # Parks: every leisure=park polygon is a park (none is private), minus parks inside parks.
    n_parks = _tag_count(helsinki_features, "leisure", "park")
    assert n_parks >= 10
    assert n_parks <= counts["park"] <= n_parks + _tag_count(helsinki_features, "leisure", "garden")
    assert {"Esplanadinpuisto", "Kaisaniemen puisto"} <= set(out.loc[out.category == "park", "name"])
    assert counts["market"] >= 7
