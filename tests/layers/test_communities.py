"""Reading community polygons and study-area boundaries from files."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
import shapely

from lifecircle._errors import (
    BoundaryError,
    CommunitiesError,
    InputFileError,
    InputNotFoundError,
    LifecircleError,
    NoCrsError,
)
from lifecircle.layers.communities import Boundary, read_boundary, read_communities

# CGCS2000 / 3-degree Gauss-Kruger CM 105E: the metric CRS Chongqing's planning offices use.
CGCS = "EPSG:4547"


def write(tmp_path: Path, data: dict, geoms: list, *, crs: str | None = CGCS, name: str = "c.gpkg") -> Path:
    path = tmp_path / name
    gpd.GeoDataFrame(data, geometry=geoms, crs=crs).to_file(path)
    return path


def squares(n: int) -> list[shapely.Polygon]:
    """n unit-100 m squares side by side along x."""
    return [shapely.box(100 * i, 0, 100 * (i + 1), 100) for i in range(n)]


@pytest.mark.parametrize("column", ["name", "NAME", "名称", "社区", "Community", "shequ"])
def test_name_column_is_found_and_crs_kept(tmp_path, column):
    path = write(tmp_path, {"code": [1, 2], column: ["七星岗社区", "较场口社区"]}, squares(2))
    result = read_communities(path)
    # The file's code column is kept (to match population totals by code).
    assert list(result.columns) == ["name", "code", "geometry"]
    assert list(result["name"]) == ["七星岗社区", "较场口社区"] and list(result["code"]) == ["1", "2"]
    assert result.crs.equals(CGCS)
    assert result.geometry.iloc[1].equals(shapely.box(100, 0, 200, 100))


def test_explicit_name_column_wins_over_detection(tmp_path):
    path = write(tmp_path, {"name": ["a", "b"], "社区名": ["甲", "乙"]}, squares(2))
    assert list(read_communities(path, name_column="社区名")["name"]) == ["甲", "乙"]
    assert list(read_communities(path)["name"]) == ["a", "b"]


def test_missing_explicit_column_lists_the_columns(tmp_path):
    path = write(tmp_path, {"code": [1], "label": ["x"]}, squares(1))
    with pytest.raises(CommunitiesError, match=r"no column 'nom'.*code, label"):
        read_communities(path, name_column="nom")


def test_no_name_column_lists_the_columns(tmp_path):
    path = write(tmp_path, {"code": [1], "label": ["x"]}, squares(1))
    with pytest.raises(CommunitiesError, match=r"no name column.*code, label") as info:
        read_communities(path)
    assert str(path) in str(info.value)


def test_duplicate_names_are_suffixed_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, {"name": ["解放碑", "解放碑", "朝天门", "解放碑"]}, squares(4))
    with caplog.at_level(logging.WARNING, logger="lifecircle.layers.communities"):
        result = read_communities(path)
    assert list(result["name"]) == ["解放碑", "解放碑 (2)", "朝天门", "解放碑 (3)"]
    assert "2 repeated names" in caplog.text


def test_blank_names_are_numbered_and_names_stripped(tmp_path, caplog):
    path = write(tmp_path, {"name": ["a", None, "  石油路  ", " "]}, squares(4))
    with caplog.at_level(logging.WARNING, logger="lifecircle.layers.communities"):
        result = read_communities(path)
    assert list(result["name"]) == ["a", "社区 002", "石油路", "社区 004"]
    assert "2 communities have no name" in caplog.text


def test_numeric_codes_become_plain_strings(tmp_path):
    # A float column (as a Shapefile's numeric field reads) names 101, not 101.0.
    path = write(tmp_path, {"name": [101.0, 102.5]}, squares(2))
    assert list(read_communities(path)["name"]) == ["101", "102.5"]


def test_invalid_polygon_is_repaired(tmp_path, caplog):
    # A bow-tie (self-crossing ring) is two triangles of 50 x 100 / 2 = 2,500 m² each.
    bowtie = shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    assert not bowtie.is_valid
    path = write(tmp_path, {"name": ["bow", "ok"]}, [bowtie, shapely.box(200, 0, 300, 100)])
    with caplog.at_level(logging.WARNING, logger="lifecircle.layers.communities"):
        result = read_communities(path)
    assert result.geometry.is_valid.all()
    assert result.geometry.iloc[0].geom_type == "MultiPolygon"
    assert result.geometry.iloc[0].area == pytest.approx(5_000)
    assert result.geometry.iloc[1].area == pytest.approx(10_000)
    assert "repaired 1 invalid" in caplog.text


def test_rows_without_geometry_are_dropped(tmp_path):
    path = write(tmp_path, {"name": ["a", "b"]}, [shapely.box(0, 0, 1, 1), None])
    assert list(read_communities(path)["name"]) == ["a"]


def test_points_are_refused(tmp_path):
    path = write(tmp_path, {"name": ["a", "b", "c"]},
                 [shapely.box(0, 0, 1, 1), shapely.Point(5, 5), shapely.Point(6, 6)], name="mixed.geojson",
                 crs="EPSG:4326")
    with pytest.raises(CommunitiesError, match=r"polygons only; found 2 Point besides 1 polygons"):
        read_communities(path)


def test_all_empty_is_refused(tmp_path):
    path = write(tmp_path, {"name": ["a"]}, [None])
    with pytest.raises(CommunitiesError, match="no polygons"):
        read_communities(path)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs_is_refused(tmp_path):
    path = write(tmp_path, {"name": ["a"]}, squares(1), crs=None)
    with pytest.raises(NoCrsError, match="no CRS") as info:
        read_communities(path)
    assert str(path) in str(info.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(InputNotFoundError) as info:
        read_communities(tmp_path / "nope.gpkg")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, LifecircleError)
    bad = tmp_path / "bad.geojson"
    bad.write_text("{ this is not json", encoding="utf-8")
    with pytest.raises(CommunitiesError, match="could not be read"):
        read_communities(bad)
    with pytest.raises(CommunitiesError, match="folder"):
        read_communities(tmp_path)
    assert issubclass(CommunitiesError, InputFileError)


def test_input_file_is_not_modified(tmp_path):
    path = write(tmp_path, {"name": ["a", "a"]}, squares(2))
    before = path.read_bytes()
    read_communities(path)
    assert path.read_bytes() == before


# --- read_boundary -----------------------------------------------------------------


def test_boundary_is_the_union_of_the_polygons(tmp_path):
    # Two adjacent 100 m squares and a separate one: 30,000 m² in two parts.
    geoms = [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100), shapely.box(500, 0, 600, 100)]
    path = write(tmp_path, {"id": [1, 2, 3]}, geoms)
    boundary = read_boundary(path)
    assert isinstance(boundary, Boundary)
    geometry, crs = boundary
    assert crs.equals(pyproj.CRS(CGCS))
    assert geometry.geom_type == "MultiPolygon"
    assert geometry.area == pytest.approx(30_000)
    assert len(geometry.geoms) == 2


def test_boundary_ignores_lines_beside_polygons(tmp_path):
    path = write(tmp_path, {"id": [1, 2]}, [shapely.box(0, 0, 10, 10), shapely.LineString([(0, 0), (50, 50)])],
                 name="b.geojson", crs="EPSG:4326")
    assert read_boundary(path).geometry.area == pytest.approx(100)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
@pytest.mark.parametrize(
    ("geoms", "crs", "match"),
    [
        ([shapely.LineString([(0, 0), (1, 1)])], CGCS, "no polygons"),
        ([None], CGCS, "no polygons"),
        ([shapely.box(0, 0, 1, 1)], None, "no CRS"),
    ],
)
def test_bad_boundaries(tmp_path, geoms, crs, match):
    path = write(tmp_path, {"id": list(range(len(geoms)))}, geoms, crs=crs)
    with pytest.raises(BoundaryError, match=match) as info:
        read_boundary(path)
    assert str(path) in str(info.value)


def test_boundary_missing_file(tmp_path):
    with pytest.raises(InputNotFoundError):
        read_boundary(tmp_path / "none.geojson")


def test_real_yuzhong_boundary(yuzhong_boundary):
    geometry, crs = read_boundary(yuzhong_boundary)
    assert crs.equals(pyproj.CRS("EPSG:4326"))
    assert geometry.is_valid and geometry.geom_type in ("Polygon", "MultiPolygon")
    # The data README gives 23.5 km² for the district outline.
    projected = gpd.GeoSeries([geometry], crs=crs).to_crs("EPSG:32648").area.iloc[0]
    assert projected == pytest.approx(23.5e6, rel=0.01)
    communities = read_communities(yuzhong_boundary)
    assert list(communities["name"]) == ["Yuzhong District"]


def test_districts_side_by_side_are_not_stray_but_a_far_exclave_is() -> None:
    import pyproj
    import shapely

    from lifecircle.layers.communities import Boundary, far_boundary_parts

    # Ten districts in a row, 0.1 degree wide with 0.01 degree gaps: 120 km from end to end,
    # each part within 2 km of the next, so none is stray however far from the largest.
    row = [shapely.box(106.0 + 0.11 * i, 29.5, 106.1 + 0.11 * i + (0.01 if i == 0 else 0), 29.6) for i in range(10)]
    assert far_boundary_parts(Boundary(geometry=shapely.MultiPolygon(row), crs=pyproj.CRS(4326))) is None
    exclave = shapely.box(116.0, 32.5, 116.05, 32.55)  # about 1,000 km away
    text = far_boundary_parts(Boundary(geometry=shapely.MultiPolygon([*row, exclave]), crs=pyproj.CRS(4326)))
    assert text is not None and "part 11 of its 11 polygons" in text and "km from the largest part" in text
