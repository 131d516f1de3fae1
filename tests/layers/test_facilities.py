"""Tests of reading a user's facilities file (CSV, GeoJSON, GeoPackage)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from lifecircle._errors import (
    FacilitiesFileError,
    InputFileError,
    InputNotFoundError,
    LifecircleError,
    NoCrsError,
    OptionError,
    UnknownCategoryError,
)
from lifecircle.layers.catalogue import Catalogue, load_catalogue
from lifecircle.layers.facilities import read_facilities_file


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def write_csv(tmp_path: Path, text: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def xy(gdf: gpd.GeoDataFrame) -> list[tuple[float, float]]:
    return [(round(g.x, 9), round(g.y, 9)) for g in gdf.geometry]


# --------------------------------------------------------------------------- CSV


def test_csv_basic(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "name,category,lon,lat\n人和街小学,school,106.57,29.55\n诊所A,clinic,106.58,29.56\n"
                            ",park,106.5,29.5\n")
    out = read_facilities_file(p, catalogue=catalogue)
    assert list(out.columns) == ["category", "name", "geometry"]
    assert out["category"].tolist() == ["school", "clinic", "park"]
    assert out["name"].tolist() == ["人和街小学", "诊所A", None]
    assert xy(out) == [(106.57, 29.55), (106.58, 29.56), (106.5, 29.5)]
    assert out.crs == "EPSG:4326"
    assert out.index.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [("lng", "lat"), ("Longitude", "LATITUDE"), ("x", "y"), ("LON", "Lat"), ("经度", "纬度"), ("long", "latitude")],
)
def test_csv_coordinate_aliases(tmp_path: Path, catalogue: Catalogue, lon: str, lat: str) -> None:
    p = write_csv(tmp_path, f"category,{lon},{lat}\nmarket,106.5,29.5\n")
    assert xy(read_facilities_file(p, catalogue=catalogue)) == [(106.5, 29.5)]


def test_csv_labels_case_and_whitespace(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "Category,lon,lat,名称\n 学校 ,106.5,29.5,甲\nPARK,106.6,29.6,乙\n菜市场/超市,106.4,29.4,丙\n")
    out = read_facilities_file(p, catalogue=catalogue)
    assert out["category"].tolist() == ["school", "park", "market"]
    assert out["name"].tolist() == ["甲", "乙", "丙"]


def test_csv_excel_chinese_encodings(tmp_path: Path, catalogue: Catalogue) -> None:
    text = "名称,category,lon,lat\n解放碑诊所,clinic,106.577,29.557\n"
    for enc, name in (("utf-8-sig", "bom.csv"), ("gb18030", "gbk.csv")):
        out = read_facilities_file(write_csv(tmp_path, text, name, enc), catalogue=catalogue)
        assert out["name"].tolist() == ["解放碑诊所"], enc


def test_tsv(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "category\tlon\tlat\nschool\t106.5\t29.5\n", "f.tsv")
    assert xy(read_facilities_file(p, catalogue=catalogue)) == [(106.5, 29.5)]


def test_csv_projected_with_crs_hint(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "category,x,y\nschool,600000,3270000\n")
    out = read_facilities_file(p, catalogue=catalogue, crs_hint="EPSG:32648")
    assert out.crs == "EPSG:4326"
    back = out.to_crs("EPSG:32648").geometry.iloc[0]
    assert back.x == pytest.approx(600000, abs=1e-3) and back.y == pytest.approx(3270000, abs=1e-3)
    # Zone 48N's central meridian is 105 E; 100 km east of it at ~29.5 N is about 106.03 E.
    assert 105.9 < out.geometry.iloc[0].x < 106.2
    with pytest.raises(FacilitiesFileError, match="outside longitude"):
        read_facilities_file(p, catalogue=catalogue)  # the same numbers read as degrees


def test_user_category(tmp_path: Path) -> None:
    cat = load_catalogue(extra={"categories": {"library": {
        "label_zh": "图书馆", "label_en": "Library", "colour": "#000000", "rules": [{"amenity": "library"}]}}})
    p = write_csv(tmp_path, "category,lon,lat\n图书馆,106.5,29.5\n")
    assert read_facilities_file(p, catalogue=cat)["category"].tolist() == ["library"]


# --------------------------------------------------------------------------- Chinese coordinates


@pytest.mark.parametrize("system", ["gcj02", "bd09", "GCJ-02", "BD09"])
def test_chinese_coordinates_converted(tmp_path: Path, catalogue: Catalogue, system: str) -> None:
    from lifecircle.layers import chinese_coords as cc

    p = write_csv(tmp_path, "category,lon,lat\nclinic,106.5770,29.5570\n")
    out = read_facilities_file(p, catalogue=catalogue, crs_hint=system)
    lon, lat = out.geometry.x.to_numpy(), out.geometry.y.to_numpy()
    forward = cc.wgs84_to_gcj02 if "gcj" in system.lower() else cc.wgs84_to_bd09
    f_lon, f_lat = forward(lon, lat)  # converting back must give the file's numbers
    assert f_lon[0] == pytest.approx(106.5770, abs=1e-8) and f_lat[0] == pytest.approx(29.5570, abs=1e-8)
    # The offsets are hundreds of metres in Chongqing: the point must have moved.
    assert abs(lon[0] - 106.5770) > 1e-3


def test_chinese_hint_on_polygons_geojson(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "parks.geojson"
    gpd.GeoDataFrame({"category": ["park"]}, geometry=[box(106.5, 29.5, 106.501, 29.501)], crs=4326).to_file(p)
    plain = read_facilities_file(p, catalogue=catalogue)
    moved = read_facilities_file(p, catalogue=catalogue, crs_hint="gcj02")
    assert moved.geom_type.tolist() == ["Polygon"]
    assert shapely.get_num_coordinates(moved.geometry.iloc[0]) == shapely.get_num_coordinates(plain.geometry.iloc[0])
    assert not moved.geometry.iloc[0].equals(plain.geometry.iloc[0])


# --------------------------------------------------------------------------- GeoJSON / GeoPackage


def test_geojson_points_and_polygons(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "f.geojson"
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"category": "school", "name": "A"},
         "geometry": {"type": "Point", "coordinates": [106.5, 29.5]}},
        {"type": "Feature", "properties": {"category": "park", "name": None},
         "geometry": {"type": "Polygon", "coordinates": [[[106.5, 29.5], [106.51, 29.5], [106.51, 29.51],
                                                          [106.5, 29.5]]]}},
    ]}
    p.write_text(json.dumps(fc), encoding="utf-8")
    out = read_facilities_file(p, catalogue=catalogue)
    assert out["category"].tolist() == ["school", "park"]
    assert out["name"].tolist() == ["A", None]
    assert out.geom_type.tolist() == ["Point", "Polygon"]
    assert out.crs == "EPSG:4326"


def test_geopackage_reprojected(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "f.gpkg"
    src = gpd.GeoDataFrame({"kind": ["clinic", "market"], "名称": ["甲", "乙"]},
                           geometry=[Point(600000, 3270000), box(600100, 3270100, 600200, 3270200)], crs=32648)
    src.to_file(p, layer="facilities")
    out = read_facilities_file(p, catalogue=catalogue, category_column="kind")
    assert out.crs == "EPSG:4326"
    assert out["category"].tolist() == ["clinic", "market"]
    assert out["name"].tolist() == ["甲", "乙"]
    back = out.to_crs(32648)
    assert back.geometry.iloc[0].distance(Point(600000, 3270000)) < 1e-3
    assert back.geometry.iloc[1].area == pytest.approx(100 * 100, rel=1e-6)


def test_geopackage_without_crs(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning):
        gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(106.5, 29.5)]).to_file(p)
    with pytest.raises(NoCrsError, match="nocrs.gpkg") as info:
        read_facilities_file(p, catalogue=catalogue)
    assert isinstance(info.value, InputFileError)
    out = read_facilities_file(p, catalogue=catalogue, crs_hint="wgs84")
    assert xy(out) == [(106.5, 29.5)]


def test_geopackage_several_layers(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "two.gpkg"
    gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(106.5, 29.5)], crs=4326).to_file(p, layer="schools")
    gpd.GeoDataFrame({"category": ["park"]}, geometry=[Point(106.6, 29.6)], crs=4326).to_file(p, layer="parks")
    with pytest.raises(FacilitiesFileError, match="2 layers") as info:
        read_facilities_file(p, catalogue=catalogue)
    assert "schools" in str(info.value) and "parks" in str(info.value)
    assert read_facilities_file(p, catalogue=catalogue, layer="parks")["category"].tolist() == ["park"]


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(InputNotFoundError, match="nope.csv"):
        read_facilities_file(tmp_path / "nope.csv", catalogue=catalogue)


def test_directory_and_unknown_suffix(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(FacilitiesFileError, match="not a file"):
        read_facilities_file(tmp_path, catalogue=catalogue)
    p = write_csv(tmp_path, "x", "f.xlsx")
    with pytest.raises(FacilitiesFileError, match="unsupported type '.xlsx'"):
        read_facilities_file(p, catalogue=catalogue)


@pytest.mark.parametrize("name", ["empty.csv", "empty.geojson", "empty.gpkg"])
def test_zero_byte_file(tmp_path: Path, catalogue: Catalogue, name: str) -> None:
    p = write_csv(tmp_path, "", name)
    with pytest.raises(FacilitiesFileError, match="empty") as info:
        read_facilities_file(p, catalogue=catalogue)
    assert name in str(info.value)


def test_header_only_and_empty_collection(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(FacilitiesFileError, match="no rows"):
        read_facilities_file(write_csv(tmp_path, "category,lon,lat\n"), catalogue=catalogue)
    p = tmp_path / "none.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(FacilitiesFileError, match="no features"):
        read_facilities_file(p, catalogue=catalogue)


def test_corrupt_geopackage(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "bad.gpkg"
    p.write_bytes(b"this is not a geopackage" * 40)
    with pytest.raises(FacilitiesFileError, match="bad.gpkg"):
        read_facilities_file(p, catalogue=catalogue)


def test_no_category_column_lists_columns(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "name,type,lon,lat\nA,school,106.5,29.5\n")
    with pytest.raises(FacilitiesFileError) as info:
        read_facilities_file(p, catalogue=catalogue)
    msg = str(info.value)
    assert "'category'" in msg and "['name', 'type']" in msg and "f.csv" in msg
    out = read_facilities_file(p, catalogue=catalogue, category_column="type")
    assert out["category"].tolist() == ["school"]


def test_no_coordinate_columns(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "category,address\nschool,解放碑\n")
    with pytest.raises(FacilitiesFileError, match="no longitude column") as info:
        read_facilities_file(p, catalogue=catalogue)
    assert "['category', 'address']" in str(info.value)


def test_unknown_category_names_values_and_known(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "category,lon,lat\nschool,106.5,29.5\nhospitalz,106.5,29.5\n动物园,106.5,29.5\n"
                            "hospitalz,106.5,29.5\n")
    with pytest.raises(UnknownCategoryError) as info:
        read_facilities_file(p, catalogue=catalogue)
    msg = str(info.value)
    assert "'hospitalz'" in msg and "'动物园'" in msg and "'school'" not in msg.split("known")[0]
    for name in catalogue.names:
        assert name in msg
    assert "f.csv" in msg
    assert isinstance(info.value, LifecircleError)


def test_empty_category_values(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "category,lon,lat\nschool,106.5,29.5\n,106.5,29.5\n  ,106.5,29.5\n")
    with pytest.raises(FacilitiesFileError, match="rows 3, 4 have an empty 'category'"):
        read_facilities_file(p, catalogue=catalogue)


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("school,abc,29.5", "no numeric"),
        ("school,,29.5", "no numeric"),
        ("school,106.5,inf", "no numeric"),
        ("school,186.5,29.5", "outside longitude"),
        ("school,106.5,-95", "outside longitude"),
    ],
)
def test_invalid_coordinates(tmp_path: Path, catalogue: Catalogue, row: str, needle: str) -> None:
    p = write_csv(tmp_path, f"category,lon,lat\nschool,106.5,29.5\n{row}\n")
    with pytest.raises(FacilitiesFileError, match=needle) as info:
        read_facilities_file(p, catalogue=catalogue)
    assert "row 3" in str(info.value)


def test_swapped_coordinates_hint(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "category,lat,lon\nschool,106.5,29.5\n")
    with pytest.raises(FacilitiesFileError, match="swapped"):
        read_facilities_file(p, catalogue=catalogue)


def test_bad_geometries(tmp_path: Path, catalogue: Catalogue) -> None:
    p = tmp_path / "lines.geojson"
    gpd.GeoDataFrame({"category": ["school", "park"]},
                     geometry=[Point(106.5, 29.5), LineString([(106.5, 29.5), (106.6, 29.6)])], crs=4326).to_file(p)
    with pytest.raises(FacilitiesFileError, match="row 2 have geometries of type \\['LINESTRING'\\]"):
        read_facilities_file(p, catalogue=catalogue)
    q = tmp_path / "null.geojson"
    q.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"category": "school"}, "geometry": None}]}), encoding="utf-8")
    with pytest.raises(FacilitiesFileError, match="row 1 have no geometry"):
        read_facilities_file(q, catalogue=catalogue)


def test_wrong_recorded_crs(tmp_path: Path, catalogue: Catalogue) -> None:
    # UTM numbers recorded as if they were degrees: the result would be meaningless.
    p = tmp_path / "wrong.gpkg"
    gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(600000, 3270000)], crs=4326).to_file(p)
    with pytest.raises(FacilitiesFileError, match="recorded CRS"):
        read_facilities_file(p, catalogue=catalogue)


def test_bad_options(tmp_path: Path, catalogue: Catalogue) -> None:
    p = write_csv(tmp_path, "category,lon,lat\nschool,106.5,29.5\n")
    with pytest.raises(OptionError, match="crs_hint"):
        read_facilities_file(p, catalogue=catalogue, crs_hint="mars")
    with pytest.raises(OptionError, match="catalogue"):
        read_facilities_file(p, catalogue=None)  # type: ignore[arg-type]
    q = tmp_path / "utm.gpkg"
    gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(600000, 3270000)], crs=32648).to_file(q)
    with pytest.raises(OptionError, match="projected"):
        read_facilities_file(q, catalogue=catalogue, crs_hint="gcj02")


def test_input_file_untouched(tmp_path: Path, catalogue: Catalogue) -> None:
    text = "category,lon,lat\nschool,106.5,29.5\n"
    p = write_csv(tmp_path, text)
    read_facilities_file(p, catalogue=catalogue, crs_hint="wgs84")
    assert p.read_text(encoding="utf-8") == text
    assert np.array_equal(sorted(q.name for q in tmp_path.iterdir()), ["f.csv"])
