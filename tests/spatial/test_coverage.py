from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- people outside the communities, gap areas ----------------------------------------


def test_cells_outside_a_communities_file_become_unassigned_not_dropped(caplog: pytest.LogCaptureFixture) -> None:
    from lifecircle.spatial.coverage import UNASSIGNED, complete_assignment

    cells = _cells()
    comm = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(0, 0, 300, 100)], crs=CRS)
    names, out, facts = complete_assignment(cells, comm, assign_communities(cells, comm), derived=False)
    assert list(names) == ["A", "A", "A", UNASSIGNED, UNASSIGNED, UNASSIGNED]
    assert facts == {"cells_unassigned": 3, "people_unassigned": 80.0}
    assert list(out["name"]) == ["A", UNASSIGNED]
    assert out.geometry.iloc[1].area == pytest.approx(300 * 100)
    assert "80 people in 3 cells" in caplog.text
    # The community table then counts everyone.
    summary = summarise_communities(cells.assign(community=names), out, categories=["clinic"], threshold_minutes=15)
    assert summary["population"].sum() == pytest.approx(cells["population"].sum())
    # Derived units are meant to cover the area: leftover cells join the nearest unit.
    names, out, facts = complete_assignment(cells, comm, assign_communities(cells, comm), derived=True)
    assert list(names) == ["A"] * 6 and len(out) == 1 and facts["people_unassigned"] == 0


def _gap_grid() -> gpd.GeoDataFrame:
    """A 4 x 3 grid of 100 m cells (row-major from the south-west) with what each misses:

        y=2:  s   s   c   -
        y=1:  cs  cs  c   c
        y=0:  cs  -   c   c      (c: clinic, s: school, cs: both, -: served)

    People: 10 per cell, except the "cs" cell at (0, 0) with 0 and the "s" at (1, 2) with 0.
    """
    layout = ["cs", "", "c", "c", "cs", "cs", "c", "c", "s", "s", "c", ""]
    people = [0, 10, 10, 10, 10, 10, 10, 10, 10, 0, 10, 10]
    iy, ix = np.divmod(np.arange(12), 4)
    miss = [",".join({"c": ["clinic"], "s": ["school"], "cs": ["clinic", "school"], "": []}[m]) for m in layout]
    return gpd.GeoDataFrame({
        "cell_id": [f"r{y}c{x}" for y, x in zip(iy, ix)],
        "x": ix * 100.0 + 50, "y": iy * 100.0 + 50,
        "population": np.asarray(people, float),
        "underserved": [m != "" for m in layout],
        "missing": miss,
        "community": ["W" if x < 2 else "E" for x in ix],
    }, geometry=[shapely.box(x * 100, y * 100, x * 100 + 100, y * 100 + 100) for y, x in zip(iy, ix)], crs=CRS)


def test_gap_areas_group_touching_cells_with_the_same_missing_set() -> None:
    from lifecircle.spatial.coverage import gap_areas

    areas = gap_areas(_gap_grid(), cell_size_m=100)
    # clinic-only: 5 touching cells (50 people); clinic+school: 3 cells (20 people: one has
    # none); school-only: 2 cells (10 people).
    assert list(areas["missing"]) == ["clinic", "clinic,school", "school"]
    assert list(areas["people"]) == [50, 20, 10]
    assert list(areas["cells"]) == [5, 3, 2]
    assert list(areas["area_ha"]) == [5, 3, 2]
    assert list(areas["area_id"]) == ["G001", "G002", "G003"] and list(areas["rank"]) == [1, 2, 3]
    assert list(areas["community"]) == ["E", "W", "W"]
    assert areas.geometry.iloc[0].area == pytest.approx(50_000)
    # People-weighted centre of the clinic+school area: cells (0,1) and (1,1) carry its people.
    assert (areas["x"].iloc[1], areas["y"].iloc[1]) == pytest.approx((100, 150))
    # "any": every under-served cell touching another forms one area, split at the community
    # border by default (W: 5 cells, 30 people; E: 5 cells, 50 people).
    anything = gap_areas(_gap_grid(), cell_size_m=100, by="any", per_community=False)
    assert len(anything) == 1 and anything["people"].iloc[0] == 80 and anything["cells"].iloc[0] == 10
    assert anything["missing"].iloc[0] == "clinic,school"
    assert anything["communities"].iloc[0] == "E,W"
    split = gap_areas(_gap_grid(), cell_size_m=100, by="any")
    assert list(split["people"]) == [50, 30] and list(split["community"]) == ["E", "W"]
    assert list(split["missing"]) == ["clinic", "clinic,school"]


def test_gap_areas_rook_and_queen_and_empty_areas() -> None:
    from lifecircle.spatial.coverage import gap_areas

    # Two clinic cells touching only at a corner: two areas (rook), one (queen).
    grid = _gap_grid()
    diagonal = grid.assign(underserved=False, missing="")
    diagonal.loc[[0, 5], ["underserved", "missing", "population"]] = [[True, "clinic", 5.0], [True, "clinic", 7.0]]
    assert list(gap_areas(diagonal, cell_size_m=100)["people"]) == [7, 5]
    assert list(gap_areas(diagonal, cell_size_m=100, connectivity="queen")["people"]) == [12]
    # An area without people is not listed.
    nobody = diagonal.assign(population=0.0)
    assert len(gap_areas(nobody, cell_size_m=100)) == 0


def test_gap_areas_name_the_nearest_suggested_site_of_a_missing_category() -> None:
    from lifecircle.spatial.coverage import gap_areas

    sites = gpd.GeoDataFrame({"category": ["clinic", "school", "clinic"], "rank": [1, 1, 2]},
                             geometry=[shapely.Point(1000, 1000), shapely.Point(0, 250), shapely.Point(400, 0)],
                             crs=CRS)
    areas = gap_areas(_gap_grid(), cell_size_m=100, sites=sites).set_index("missing")
    assert areas.loc["clinic", "nearest_site"] == "clinic #2"
    # clinic+school: school #1 at (0, 250) is nearer its centre (100, 150) than clinic #2.
    assert areas.loc["clinic,school", "nearest_site"] == "school #1"
    assert areas.loc["clinic,school", "nearest_site_m"] == pytest.approx(round(np.hypot(100, 100)))
    assert areas.loc["school", "nearest_site"] == "school #1"


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.2, 0.9), st.sampled_from(["missing", "any"]), st.booleans())
def test_gap_area_outlines_traced_on_the_grid_are_the_union_of_their_cells(seed: int, density: float, by: str,
                                                                          per_community: bool) -> None:
    from lifecircle.spatial import coverage
    from lifecircle.spatial.grid import make_grid

    rng = np.random.default_rng(seed)
    cells = make_grid(shapely.box(500_000, 3_300_000, 501_200, 3_300_900), cell_size_m=100, crs=CRS)
    n = len(cells)
    cells["population"] = rng.integers(0, 3, n).astype(float)
    cells["underserved"] = rng.random(n) < density
    cells["missing"] = np.where(cells["underserved"], rng.choice(["clinic", "school", "clinic,school"], n), "")
    cells["community"] = np.where(cells["x"].to_numpy() < 500_600, "W", "E")
    traced = coverage.gap_areas(cells, cell_size_m=100, by=by, per_community=per_community)
    under = cells[cells["underserved"]].copy()
    under["area"] = coverage._touching_groups(
        np.rint((cells["x"] - cells["x"].min()) / 100).astype(int).to_numpy(),
        np.rint((cells["y"] - cells["y"].min()) / 100).astype(int).to_numpy(),
        coverage._area_codes(cells, cells["underserved"].to_numpy(), cells["missing"].to_numpy(), by=by,
                             per_community=per_community),
        cells["underserved"].to_numpy(), queen=False)[cells["underserved"].to_numpy()]
    assert len(traced) == 0 or shapely.is_valid(traced.geometry.to_numpy()).all()
    for geom, cell_count in zip(traced.geometry, traced["cells"]):
        assert geom.area == pytest.approx(cell_count * 100 * 100)
    # The same polygons as one union of the area's squares, vertex for vertex once normalised.
    areas = np.unique(under["area"])
    fast = coverage._area_outlines(cells, under, areas, cell_size_m=100)
    slow = coverage._area_outlines(cells, under, areas, cell_size_m=100, traced=False)
    assert shapely.equals_exact(shapely.normalize(fast), shapely.normalize(slow), tolerance=0).all()


def test_gap_area_outlines_of_cells_off_one_grid_are_unions() -> None:
    from lifecircle.spatial import coverage

    cells = _gap_grid()
    cells.loc[0, "geometry"] = shapely.box(0, 0, 100.000001, 100)  # not sharing its side exactly
    rows = cells[cells["underserved"]].assign(area=1)
    out = coverage._area_outlines(cells, rows, np.array([1]), cell_size_m=100)
    assert out[0].equals(shapely.union_all(cells.geometry[cells["underserved"]].to_numpy()))
    assert coverage._traced_outlines(cells.geometry.to_numpy()[cells["underserved"].to_numpy()],
                                     rows.reset_index(drop=True), np.array([1]), 100.0) is None


_lattice = st.integers(0, 20).map(float)


@settings(max_examples=60, deadline=None)
@given(
    polygons=st.lists(st.lists(st.tuples(_lattice, _lattice), min_size=3, max_size=6), min_size=1, max_size=6),
    centres=st.lists(st.tuples(st.one_of(_lattice, st.floats(0.0, 20.0)), st.one_of(_lattice, st.floats(0.0, 20.0))),
                     min_size=1, max_size=40),
)
def test_assign_communities_is_first_community_holding_the_centre(polygons, centres):
    """Each cell goes to the first community (by row) whose interior holds its centre; a centre
    on an outline or a vertex is not inside (the plain point-by-point "within" test)."""
    geoms = [shapely.make_valid(shapely.Polygon(p)) for p in polygons]
    geoms = [g if g.geom_type in ("Polygon", "MultiPolygon") else shapely.Polygon() for g in geoms]
    comm = gpd.GeoDataFrame({"name": [f"c{i}" for i in range(len(geoms))]}, geometry=geoms, crs=CRS)
    cells = gpd.GeoDataFrame(geometry=[shapely.box(x - 0.5, y - 0.5, x + 0.5, y + 0.5) for x, y in centres], crs=CRS)
    expected = []
    for centre in shapely.centroid(cells.geometry.to_numpy()):
        inside = [name for name, g in zip(comm["name"], geoms) if shapely.within(centre, g)]
        expected.append(inside[0] if inside else None)
    assert assign_communities(cells, comm).tolist() == expected
