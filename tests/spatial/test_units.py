"""Neighbourhood units: hand-checkable squares, properties, and the real Yuzhong district."""

from __future__ import annotations

import logging
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lifecircle._errors import BoundaryError, LifecircleError, NoCrsError, OptionError
from lifecircle._names import make_unique_names
from lifecircle.layers.features import select_places, select_water
from lifecircle.spatial.units import PLACE_RANKS, derive_neighbourhood_units

UTM = "EPSG:32648"
# A 1 km x 1 km study area: x 0..1000, y 0..1000 metres.
SQUARE = shapely.box(0, 0, 1000, 1000)


def roads(*rows: tuple[str, str | None, list[tuple[float, float]]], crs: str = UTM) -> gpd.GeoDataFrame:
    """Major roads from (highway, name, coordinates) rows."""
    return gpd.GeoDataFrame(
        {"highway": [r[0] for r in rows], "name": [r[1] for r in rows]},
        geometry=[shapely.LineString(r[2]) for r in rows],
        crs=crs,
    )


# A "+" of two roads running past the square's edges: 民族路 north-south at x = 400,
# 解放碑路 west-east at y = 700. Four blocks, areas by hand:
#   NW 400 x 300 = 120,000   NE 600 x 300 = 180,000
#   SW 400 x 700 = 280,000   SE 600 x 700 = 420,000
PLUS = (
    ("primary", "民族路", [(400, -100), (400, 1100)]),
    ("secondary", "解放碑路", [(-100, 700), (1100, 700)]),
)


def assert_partition(units: gpd.GeoDataFrame, expected: shapely.Geometry, tol: float = 1e-3) -> None:
    """The units do not overlap and their union is `expected` (within tol m²)."""
    geoms = units.geometry.to_numpy()
    union = shapely.union_all(geoms)
    assert shapely.symmetric_difference(union, expected).area < tol
    # No overlaps: the areas add up to the union's area, and no pair shares area.
    assert abs(shapely.area(geoms).sum() - union.area) < tol
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    if pairs.any():
        assert shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])).max() < tol


def test_plus_of_two_roads_gives_four_blocks_with_hand_computed_areas_and_road_names():
    units = derive_neighbourhood_units(SQUARE, major_roads=roads(*PLUS), crs=UTM)
    assert list(units.columns) == ["name", "unit_id", "area_m2", "geometry"]
    assert units.crs.equals(UTM)
    # Reading order: north row (NW, NE), then south row (SW, SE).
    assert list(units["unit_id"]) == ["unit-001", "unit-002", "unit-003", "unit-004"]
    np.testing.assert_allclose(units["area_m2"], [120_000, 180_000, 280_000, 420_000])
    np.testing.assert_allclose(units.geometry.area, units["area_m2"])
    assert units.geometry.iloc[0].equals(shapely.box(0, 700, 400, 1000))
    assert units.geometry.iloc[3].equals(shapely.box(400, 0, 1000, 700))
    # Names: the road running longer along the block first. NW: 解放碑路 400 m > 民族路 300 m;
    # NE: 600 > 300; SW: 民族路 700 > 解放碑路 400; SE: 700 > 600. Units sharing a name
    # are told apart by where they lie in their group: west and east.
    assert list(units["name"]) == [
        "解放碑路–民族路 西片区",
        "解放碑路–民族路 东片区",
        "民族路–解放碑路 西片区",
        "民族路–解放碑路 东片区",
    ]
    assert_partition(units, SQUARE)


def test_sliver_between_parallel_roads_is_merged_into_the_neighbour_with_the_longest_border():
    # A third road at x = 980 cuts a 20 m strip off the east side: 20 x 700 = 14,000 m² (south)
    # and 20 x 300 = 6,000 m² (north), both under 100,000 m². The south strip shares 700 m with
    # SE and 20 m with the north strip, so it joins SE; the north strip joins NE (300 m).
    extra = ("secondary", "滨江路", [(980, -100), (980, 1100)])
    units = derive_neighbourhood_units(SQUARE, major_roads=roads(*PLUS, extra), crs=UTM)
    np.testing.assert_allclose(units["area_m2"], [120_000, 180_000, 280_000, 420_000])
    assert units.geometry.iloc[3].normalize().equals(shapely.box(400, 0, 1000, 700).normalize())
    # The strip's road now runs inside SE; it touches the outline only at its ends, so the
    # name still comes from 民族路 and 解放碑路.
    assert units["name"].iloc[3] == "民族路–解放碑路 东片区"
    assert_partition(units, SQUARE)


def test_min_area_below_the_smallest_face_keeps_the_sliver():
    extra = ("secondary", "滨江路", [(980, -100), (980, 1100)])
    units = derive_neighbourhood_units(SQUARE, major_roads=roads(*PLUS, extra), min_area_m2=0, crs=UTM)
    assert len(units) == 6
    assert sorted(np.round(units["area_m2"]).astype(int)) == sorted(
        [120_000, 180_000 - 6_000, 6_000, 280_000, 420_000 - 14_000, 14_000]
    )


def test_chain_of_slivers_merges_until_every_unit_is_large_enough():
    # min area above every block but below the square: merging repeats until one unit is left.
    units = derive_neighbourhood_units(SQUARE, major_roads=roads(*PLUS), min_area_m2=600_000, crs=UTM)
    assert len(units) == 1
    assert units.geometry.iloc[0].normalize().equals(SQUARE.normalize())


def test_ramps_and_tunnels_do_not_bound_units():
    ramp = ("primary_link", "匝道", [(200, -100), (200, 1100)])
    tunnel = gpd.GeoDataFrame(
        {"highway": ["trunk"], "name": ["隧道"], "tunnel": ["yes"]},
        geometry=[shapely.LineString([(-100, 300), (1100, 300)])],
        crs=UTM,
    )
    major = gpd.GeoDataFrame(pd.concat([roads(*PLUS, ramp).assign(tunnel=None), tunnel], ignore_index=True))
    units = derive_neighbourhood_units(SQUARE, major_roads=major, crs=UTM)
    np.testing.assert_allclose(units["area_m2"], [120_000, 180_000, 280_000, 420_000])


def test_no_roads_gives_the_whole_area_with_a_numbered_name():
    units = derive_neighbourhood_units(SQUARE, major_roads=None, crs=UTM)
    assert len(units) == 1
    assert units["name"].iloc[0] == "片区 001"
    assert units["unit_id"].iloc[0] == "unit-001"
    assert units.geometry.iloc[0].normalize().equals(SQUARE.normalize())


def test_small_island_without_neighbour_stays_on_its_own():
    island = shapely.box(2000, 0, 2100, 100)  # 10,000 m², touches nothing
    area = shapely.MultiPolygon([SQUARE, island])
    units = derive_neighbourhood_units(area, major_roads=roads(*PLUS), crs=UTM)
    assert len(units) == 5
    assert 10_000 in np.round(units["area_m2"]).astype(int).tolist()
    assert_partition(units, area)


def test_water_polygon_is_removed_and_river_line_divides():
    # A river 50 m wide (y 450..500) crosses the square; a canal line runs north-south at x = 500.
    # Land: north 1000 x 500, south 1000 x 450, each halved by the canal line.
    water = gpd.GeoDataFrame(
        {"tags": [{"natural": "water", "water": "river"}, {"waterway": "canal"}, {"amenity": "bench"}]},
        geometry=[shapely.box(-50, 450, 1050, 500), shapely.LineString([(500, -10), (500, 1010)]),
                  shapely.Point(10, 10)],
        crs=UTM,
    )
    selected = select_water(water)
    assert len(selected) == 2
    units = derive_neighbourhood_units(SQUARE, major_roads=None, water=selected, crs=UTM)
    np.testing.assert_allclose(sorted(units["area_m2"]), [225_000, 225_000, 250_000, 250_000])
    assert_partition(units, SQUARE.difference(shapely.box(-50, 450, 1050, 500)))


def test_area_wholly_in_water_is_an_error():
    water = gpd.GeoDataFrame({"natural": ["water"]}, geometry=[SQUARE.buffer(10)], crs=UTM)
    with pytest.raises(BoundaryError, match="water"):
        derive_neighbourhood_units(SQUARE, major_roads=None, water=water, crs=UTM)


def test_places_name_units_most_local_first():
    places = gpd.GeoDataFrame(
        {
            "name": ["较场口", "渝中半岛", "", "大坪"],
            "tags": [{"place": "neighbourhood"}, {"place": "suburb"}, {"place": "quarter"},
                     {"place": "city"}],
        },
        geometry=[shapely.Point(100, 900), shapely.Point(300, 800), shapely.Point(900, 900),
                  shapely.Point(800, 100)],
        crs=UTM,
    )
    selected = select_places(places)
    # The blank name and place=city are not unit names.
    assert list(selected["name"]) == ["较场口", "渝中半岛"]
    units = derive_neighbourhood_units(SQUARE, major_roads=roads(*PLUS), places=selected, crs=UTM)
    # NW holds a neighbourhood and a suburb: the neighbourhood names it.
    assert units["name"].iloc[0] == "较场口片区"
    assert units["name"].iloc[1] == "解放碑路–民族路 片区"


def test_inputs_in_another_crs_are_reprojected_and_not_modified():
    # Put the UTM square somewhere real (Chongqing, zone 48N) so the round trip is meaningful.
    offset = (660_000, 3_270_000)
    shifted = roads(*[(h, n, [(x + offset[0], y + offset[1]) for x, y in c]) for h, n, c in PLUS])
    wgs = shifted.to_crs("EPSG:4326")
    before = wgs.copy()
    area = shapely.transform(SQUARE, lambda xy: xy + np.array(offset))
    units = derive_neighbourhood_units(area, major_roads=wgs, crs=UTM)
    np.testing.assert_allclose(units["area_m2"], [120_000, 180_000, 280_000, 420_000], rtol=1e-6)
    assert wgs.equals(before)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"crs": None}, NoCrsError, "crs is None"),
        ({"crs": "EPSG:4326"}, OptionError, "projected"),
        ({"crs": UTM, "min_area_m2": -1}, OptionError, "min_area_m2"),
        ({"crs": UTM, "min_area_m2": float("nan")}, OptionError, "min_area_m2"),
    ],
)
def test_bad_options_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        derive_neighbourhood_units(SQUARE, major_roads=None, **kwargs)


def test_bad_area_and_layer_without_crs_are_refused():
    with pytest.raises(BoundaryError, match="Polygon"):
        derive_neighbourhood_units(shapely.LineString([(0, 0), (1, 1)]), major_roads=None, crs=UTM)
    with pytest.raises(BoundaryError, match="empty"):
        derive_neighbourhood_units(shapely.Polygon(), major_roads=None, crs=UTM)
    no_crs = roads(*PLUS).set_crs(None, allow_override=True)
    with pytest.raises(NoCrsError, match="major_roads"):
        derive_neighbourhood_units(SQUARE, major_roads=no_crs, crs=UTM)
    assert issubclass(NoCrsError, LifecircleError)


def test_place_keys_are_the_ranked_places():
    from lifecircle.layers.features import PLACE_KEYS

    assert tuple(PLACE_RANKS) == PLACE_KEYS


def test_make_unique_names():
    assert make_unique_names(["a", "b", "a", "a (2)", "a"]) == ["a", "b", "a (3)", "a (2)", "a (4)"]
    assert make_unique_names([]) == []


segment = st.tuples(
    st.floats(-200, 1200), st.floats(-200, 1200), st.floats(-200, 1200), st.floats(-200, 1200)
).filter(lambda s: abs(s[0] - s[2]) + abs(s[1] - s[3]) > 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A road clipping the corner leaves a face of ~1e-212 m² sharing ~1e-106 m of border: it must
# still merge (found by hypothesis).
@example(segments=[(1.0, -1.0, 0.0, 3.564447969462979e-106)], min_area=20_000.0)
@given(segments=st.lists(segment, min_size=0, max_size=8), min_area=st.sampled_from([0.0, 20_000.0, 100_000.0]))
def test_units_partition_the_area_whatever_the_roads(segments, min_area):
    major = roads(*[("primary", f"路{i}", [(a, b), (c, d)]) for i, (a, b, c, d) in enumerate(segments)])
    units = derive_neighbourhood_units(SQUARE, major_roads=major, min_area_m2=min_area, crs=UTM)
    assert_partition(units, SQUARE, tol=1e-2)
    assert units["name"].is_unique and (units["name"].str.len() > 0).all()
    assert units["unit_id"].is_unique
    # Every unit is large enough, unless it is the only one left.
    if len(units) > 1:
        assert (units["area_m2"] >= min_area - 1e-6).all()
    # Deterministic: the same input gives the same output.
    again = derive_neighbourhood_units(SQUARE, major_roads=major, min_area_m2=min_area, crs=UTM)
    assert list(again["name"]) == list(units["name"])
    assert all(a.equals(b) for a, b in zip(again.geometry, units.geometry))


@pytest.fixture(scope="module")
def yuzhong_inputs(yuzhong_pbf, yuzhong_boundary):
    from lifecircle.layers.osm import read_osm

    extract = read_osm(yuzhong_pbf, progress=False)
    boundary = gpd.read_file(yuzhong_boundary).to_crs(UTM)
    return extract, shapely.union_all(boundary.geometry.to_numpy())


def test_yuzhong_units(yuzhong_inputs, caplog):
    extract, area = yuzhong_inputs
    start = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="lifecircle.spatial.units"):
        units = derive_neighbourhood_units(
            area,
            major_roads=extract.major_roads,
            water=select_water(extract.features),
            places=select_places(extract.features),
            crs=UTM,
        )
    elapsed = time.perf_counter() - start
    assert elapsed < 5
    assert "neighbourhood units" in caplog.text
    # 23.5 km² cut by its trunk and primary roads: tens of units, not one and not hundreds.
    assert 10 <= len(units) <= 150
    assert units["name"].is_unique and (units["name"].str.strip().str.len() > 0).all()
    assert units.crs.equals(UTM)
    assert (units["area_m2"] >= 100_000).all()
    assert units["area_m2"].median() < 2_000_000
    assert_partition(units, area, tol=1.0)
    # Most units are named after the roads around them (the extract has no place nodes).
    assert units["name"].str.endswith("片区").mean() > 0.9
    assert not units["name"].str.contains(r"\(\d+\)").any()


# --- sizing by people -------------------------------------------------------------------


def _people_at(points: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arr = np.asarray(points, dtype=float)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def test_small_units_merge_into_the_neighbour_that_keeps_them_in_range():
    # The "+" blocks with people: NW 1,000 (too few), NE 6,000, SW 8,000, SE 11,000.
    # NW borders NE (300 m) and SW (400 m); joining SW would pass 12,000 (9,000 fits too,
    # but SW shares the longer border: 1,000 + 8,000 = 9,000 <= 12,000), so NW joins SW.
    people = _people_at([(200, 850, 1000), (700, 850, 6000), (200, 350, 8000), (700, 350, 11000)])
    units = derive_neighbourhood_units(SQUARE, major_roads=roads(*PLUS), crs=UTM, cell_people=people)
    assert sorted(units["people"]) == [6000, 9000, 11000]
    merged = units[units["people"] == 9000].geometry.iloc[0]
    assert merged.area == pytest.approx(120_000 + 280_000)
    assert units.attrs["sizing"]["people_per_unit_before"]["under_5000"] == 1
    assert units.attrs["sizing"]["people_per_unit_after"]["under_5000"] == 0
    assert_partition(units, SQUARE)


def test_no_fitting_neighbour_joins_the_smallest():
    # NW 1,000 borders NE 11,500 and SW 11,800: neither stays under 12,000, so the smaller wins.
    people = _people_at([(200, 850, 1000), (700, 850, 11500), (200, 350, 11800), (700, 350, 9000)])
    units = derive_neighbourhood_units(SQUARE, major_roads=roads(*PLUS), crs=UTM, cell_people=people)
    assert sorted(units["people"]) == [9000, 11800, 12500]


def test_large_unit_is_split_along_minor_streets_and_pieces_regrouped():
    # No major road: one unit of 24,000 people. A residential street at x = 500 splits it
    # into halves of 12,000 each; a footway at y = 500 then makes quarters of 6,000, which
    # are >= 5,000 and stay: four units. Without minor streets it stays whole.
    people = _people_at([(250, 250, 6000), (750, 250, 6000), (250, 750, 6000), (750, 750, 6000)])
    minor = gpd.GeoDataFrame({"highway": ["residential", "footway", "residential"],
                              "tunnel": [None, None, "yes"]},
                             geometry=[shapely.LineString([(500, -10), (500, 1010)]),
                                       shapely.LineString([(-10, 500), (1010, 500)]),
                                       shapely.LineString([(-10, 300), (1010, 300)])], crs=UTM)
    whole = derive_neighbourhood_units(SQUARE, major_roads=None, crs=UTM, cell_people=people)
    assert list(whole["people"]) == [24000]
    split = derive_neighbourhood_units(SQUARE, major_roads=None, crs=UTM, cell_people=people, minor_roads=minor)
    assert sorted(split["people"]) == [6000] * 4  # the street in a tunnel cuts nothing
    assert split.attrs["sizing"]["units_split"] == 1
    assert_partition(split, SQUARE)


def test_direction_names_tell_repeats_apart_or_number_them():
    from lifecircle.spatial.units import direction_names

    assert direction_names(np.array([0.0, 100.0]), np.array([0.0, 0.0])) == ["西", "东"]
    assert direction_names(np.array([0.0, 0.0]), np.array([0.0, 100.0])) == ["南", "北"]
    # Three in a row west-east: the middle one sits on the centre and repeats a word, so
    # all three are numbered in reading order (west to east here).
    assert direction_names(np.array([0.0, 100.0, 200.0]), np.array([0.0, 0.0, 0.0])) == ["一", "二", "三"]


def test_unit_without_place_or_major_road_is_named_after_its_inner_streets():
    minor = gpd.GeoDataFrame({"highway": ["residential", "footway"], "name": ["和平路", "石阶巷"]},
                             geometry=[shapely.LineString([(100, 500), (900, 500)]),
                                       shapely.LineString([(500, 100), (500, 300)])], crs=UTM)
    units = derive_neighbourhood_units(SQUARE, major_roads=None, crs=UTM, minor_roads=minor)
    assert list(units["name"]) == ["和平路–石阶巷 片区"]  # 800 m inside, then 200 m
