"""Governance unit files: the --units syntax, codes, and nesting each level in the one above."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from lifecircle._errors import CommunitiesError, OptionError
from lifecircle.layers.units import parse_unit_spec, read_unit_levels

CRS = "EPSG:32648"


def _box(x0: float, x1: float) -> shapely.Polygon:
    return shapely.box(600_000 + x0, 3_270_000 - 500, 600_000 + x1, 3_270_000 + 700)


def write_levels(folder: Path) -> tuple[Path, Path]:
    """Two streets (S1 west, S2 east) and three communities, C1 and C2 in S1, C3 in S2."""
    streets = gpd.GeoDataFrame({"街道名": ["甲街道", "乙街道"], "jd_code": ["500103001", "500103002"]},
                               geometry=[_box(-500, 600), _box(600, 1500)], crs=CRS)
    communities = gpd.GeoDataFrame({"社区名": ["一社区", "二社区", "三社区"], "code": ["C1", "C2", "C3"],
                                    "jd": ["500103001", "500103001", "500103002"]},
                                   geometry=[_box(-500, 300), _box(300, 600), _box(600, 1500)], crs=CRS)
    s, c = folder / "streets.geojson", folder / "communities.gpkg"
    streets.to_crs(4326).to_file(s)
    communities.to_file(c)
    return s, c


def test_spec_keys_and_paths() -> None:
    spec = parse_unit_spec("streets.gpkg:level=street,label=街道,name=街道名,code=code")
    assert (str(spec.path), spec.level, spec.label, spec.name, spec.code) == ("streets.gpkg", "street", "街道",
                                                                              "街道名", "code")
    assert str(parse_unit_spec("C:/data/a.gpkg:name=n").path) == "C:/data/a.gpkg"
    assert str(parse_unit_spec("odd:name.gpkg").path) == "odd:name.gpkg"  # no '=' after the colon: all file


@pytest.mark.parametrize(("text", "expected"), [
    ("a.gpkg:colour=red", "unknown key 'colour'"),
    ("a.gpkg:name=x,name=y", "given twice"),
    ("a.gpkg:name=x,code", "expected key=value"),
    ("a.gpkg:level=Street", "lower-case"),
    ("a.gpkg:parent_name=x", "parent_name needs parent"),
    (":name=x", "found no file"),
])
def test_bad_specs_name_the_option_and_what_was_found(text: str, expected: str) -> None:
    with pytest.raises(OptionError, match="--units") as err:
        parse_unit_spec(text)
    assert expected in str(err.value)


def test_two_files_linked_by_parent_column(tmp_path: Path) -> None:
    s, c = write_levels(tmp_path)
    levels = read_unit_levels([f"{s}:level=street,label=街道,name=街道名,code=jd_code",
                               f"{c}:level=community,name=社区名,code=code,parent=jd"])
    assert [lv.key for lv in levels] == ["street", "community"]
    assert levels[0].units["code"].tolist() == ["500103001", "500103002"]
    assert levels[1].units["parent_code"].tolist() == ["500103001", "500103001", "500103002"]


def test_two_files_linked_by_place_when_there_is_no_parent_column(tmp_path: Path) -> None:
    s, c = write_levels(tmp_path)
    levels = read_unit_levels([f"{s}:name=街道名,code=jd_code", f"{c}:name=社区名,code=code"])
    assert [lv.key for lv in levels] == ["level1", "level2"]
    assert levels[1].units["parent_code"].tolist() == ["500103001", "500103001", "500103002"]


def test_one_file_with_a_parent_code_column_makes_two_levels(tmp_path: Path) -> None:
    _, c = write_levels(tmp_path)
    gdf = gpd.read_file(c).assign(街道=["甲街道", "甲街道", "乙街道"])
    gdf.to_file(tmp_path / "both.gpkg")
    levels = read_unit_levels([f"{tmp_path / 'both.gpkg'}:level=community,name=社区名,code=code,parent=jd,"
                               "parent_name=街道,parent_level=street"])
    assert [lv.key for lv in levels] == ["street", "community"]
    street = levels[0].units.set_index("code")
    assert street.loc["500103001", "name"] == "甲街道"
    assert street.loc["500103001", "geometry"].area == pytest.approx(1100 * 1200)  # C1 and C2 merged


def test_unknown_parent_code_names_file_column_and_codes(tmp_path: Path) -> None:
    s, c = write_levels(tmp_path)
    gdf = gpd.read_file(c)
    gdf.loc[2, "jd"] = "999"
    gdf.to_file(tmp_path / "bad.gpkg")
    with pytest.raises(CommunitiesError) as err:
        read_unit_levels([f"{s}:name=街道名,code=jd_code", f"{tmp_path / 'bad.gpkg'}:name=社区名,code=code,parent=jd"])
    text = str(err.value)
    assert "bad.gpkg" in text and "'jd'" in text and "999" in text and "500103001" in text


def test_repeated_codes_and_missing_columns_are_refused(tmp_path: Path) -> None:
    s, c = write_levels(tmp_path)
    gdf = gpd.read_file(c).assign(code=["C1", "C1", "C3"])
    gdf.to_file(tmp_path / "dup.gpkg")
    with pytest.raises(CommunitiesError, match="codes must be unique.*'C1'"):
        read_unit_levels([f"{tmp_path / 'dup.gpkg'}:name=社区名,code=code"])
    with pytest.raises(CommunitiesError, match="no column 'nope'"):
        read_unit_levels([f"{c}:name=社区名,code=nope"])


def test_level_keys_must_differ(tmp_path: Path) -> None:
    s, c = write_levels(tmp_path)
    with pytest.raises(OptionError, match="level keys must differ"):
        read_unit_levels([f"{s}:level=x,name=街道名,code=jd_code", f"{c}:level=x,name=社区名,code=code"])
