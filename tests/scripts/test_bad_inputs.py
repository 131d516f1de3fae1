"""Every bad input stops with a clean message and exit 2 (never a traceback), or, where the run
can go on, warns loudly and records it in run.json (never a silently wrong answer).

The inputs are the small valid city of :mod:`tests.small_inputs`, each spoiled one way.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lifecircle.scripts.cli import main
from tests import small_inputs as city
from tests.scripts.test_cli import _assert_refused

#: Python parameter names that must never reach a command-line user.
PYTHON_NAMES = ("crs_hint", "value_column", "name_column", "cell_size_m", "max_access_m", "speed_kmh", "np.float64",
                "Traceback")


def _city(tmp_path: Path, spoil: Callable[[dict[str, Path]], None] | None = None) -> tuple[list[str], Path]:
    files = city.write_all(tmp_path / "in")
    if spoil is not None:
        spoil(files)
    out = tmp_path / "out"
    return city.cli_args(files, out), out


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", "-q", *args])
    err = capsys.readouterr().err
    for name in PYTHON_NAMES:
        assert name not in err, f"{name!r} in the message: {err}"
    return code, err


def _replace(key: str, old: str, new: str) -> Callable[[dict[str, Path]], None]:
    def spoil(files: dict[str, Path]) -> None:
        text = files[key].read_text(encoding="utf-8")
        assert old in text
        files[key].write_text(text.replace(old, new, 1), encoding="utf-8")
    return spoil


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], spoil: Callable | None, *words: str,
             extra: tuple[str, ...] = ()) -> str:
    args, out = _city(tmp_path, spoil)
    code, err = _cli([*args, *extra], capsys)
    assert code == 2, err
    _assert_refused(out, code, err, *words)
    return err


def test_the_small_city_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args, out = _city(tmp_path)
    code, err = _cli(args, capsys)
    assert code == 0, err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["input_warnings"] == []
    assert record["facilities"] == {"clinic": 2, "school": 2, "park": 1}


# ----------------------------------------------------------------------------- OSM XML


@pytest.mark.parametrize("bad", ['lat="nan"', 'lat="inf"', 'lat="-inf"', 'lat="95.5"x', 'lon="400"'])
def test_unusable_node_coordinates(tmp_path: Path, capsys, bad: str) -> None:
    attr = bad.split("=")[0]
    old = f'{attr}="{city.LAT0:.6f}"' if attr == "lat" else f'{attr}="{city.LON0:.6f}"'
    new = bad.rstrip("x")
    if bad.endswith("x"):  # in range for libosmium's parser, out of range for the Earth: dropped, run goes on
        args, out = _city(tmp_path, _replace("osm", old, new))
        code, err = _cli(args, capsys)
        assert code in (0, 2), err
        return
    _refused(tmp_path, capsys, _replace("osm", old, new), "city.osm", "coordinates are not usable", "-90..90")


def test_ten_thousand_character_tag_value(tmp_path: Path, capsys) -> None:
    err = _refused(tmp_path, capsys, _replace("osm", 'v="社区诊所"', 'v="' + "x" * 10_000 + '"'),
                   "city.osm", "255 characters")
    assert len(err) < 600


# ----------------------------------------------------------------------------- boundary


def _utm_boundary(files: dict[str, Path]) -> None:
    ring = [[657000, 3270000], [657500, 3270000], [657500, 3270500], [657000, 3270500], [657000, 3270000]]
    files["boundary"].write_text(json.dumps({"type": "Feature", "properties": {},
                                             "geometry": {"type": "Polygon", "coordinates": [ring]}}))


def test_boundary_in_metres_without_crs_member(tmp_path: Path, capsys) -> None:
    _refused(tmp_path, capsys, _utm_boundary, "area.geojson", "projected metres", "657000", "'crs' member")


def test_boundary_with_latitude_first(tmp_path: Path, capsys) -> None:
    _refused(tmp_path, capsys, lambda f: f["boundary"].write_text(city.boundary_geojson(swap=True)),
             "area.geojson", "longitude and latitude look swapped")


def test_swapped_boundary_with_plausible_numbers_is_named_against_the_data(tmp_path: Path, capsys,
                                                                            helsinki_pbf) -> None:
    # Helsinki swapped (lat 24.9, lon 60.2) is a valid place in the Indian Ocean: only the data tells.
    f = tmp_path / "hel.geojson"
    ring = [[60.16, 24.93], [60.16, 24.96], [60.18, 24.96], [60.18, 24.93], [60.16, 24.93]]
    f.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}))
    out = tmp_path / "out"
    code, err = _cli(["--osm", str(helsinki_pbf), "--boundary", str(f), "--out", str(out)], capsys)
    _assert_refused(out, code, err, "hel.geojson", "does not overlap", "look swapped")


def test_boundary_part_far_away_is_named_as_such(tmp_path: Path, capsys) -> None:
    def far_part(files: dict[str, Path]) -> None:
        w, s, e, n = city.LON0, city.LAT0, city.LON0 + 0.005, city.LAT0 + 0.005
        ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
        far = [[x + 10, y + 3] for x, y in ring]  # about 1,000 km east-north-east
        files["boundary"].write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": {
            "type": "MultiPolygon", "coordinates": [[ring], [far]]}}))

    err = _refused(tmp_path, capsys, far_part, "area.geojson", "part 2 of its 2 polygons", "km from the largest part")
    assert "--cell-size" not in err


# ----------------------------------------------------------------------------- population


def test_random_bytes_as_population(tmp_path: Path, capsys) -> None:
    _refused(tmp_path, capsys, lambda f: f["population"].write_bytes(bytes(range(256)) * 20),
             "people.csv", "--population")


def test_population_all_outside_the_area(tmp_path: Path, capsys) -> None:
    _refused(tmp_path, capsys,
             lambda f: f["population"].write_text("lon,lat,population\n100,20,5000\n101,21,300\n", encoding="utf-8"),
             "people.csv", "none of its 5,300 people lies inside the study area")


@pytest.mark.parametrize(("value", "words"), [("1e308", ("1e+308", "line 2", "world's population")),
                                              ("inf", ("infinity", "line 2")),
                                              ("-5", ("must not be negative", "-5", "line 2"))])
def test_impossible_people_name_the_row(tmp_path: Path, capsys, value: str, words: tuple[str, ...]) -> None:
    _refused(tmp_path, capsys, _replace("population", ",10\n", f",{value}\n"), "people.csv", *words)


def test_nan_population_row_is_dropped_loudly_and_recorded(tmp_path: Path, capsys, caplog) -> None:
    args, out = _city(tmp_path, _replace("population", ",10\n", ",nan\n"))
    with caplog.at_level(logging.WARNING):
        code, err = _cli(args, capsys)
    assert code == 0, err
    assert "dropped 1 row(s) with no 'population' value" in caplog.text and "line 2" in caplog.text
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert {"input": "--population", "rows_dropped_without_population": 1} in record["input_warnings"]


# ----------------------------------------------------------------------------- facilities, options


def test_facility_far_outside_is_warned_and_recorded(tmp_path: Path, capsys, caplog) -> None:
    args, out = _city(tmp_path, lambda f: f["facilities"].write_text(
        city.facilities_csv() + "120.0,35.0,clinic,far away\n", encoding="utf-8"))
    with caplog.at_level(logging.WARNING):
        code, err = _cli(args, capsys)
    assert code == 0, err
    assert "1 of 3 facilities lie outside the study area" in caplog.text and "row 4" in caplog.text
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (warning,) = [w for w in record["input_warnings"] if w["input"] == "--facilities"]
    assert warning["facilities_outside_area"] == 1 and 1000 < warning["farthest_km"] < 2000
    assert record["facilities"]["clinic"] == 2  # the far one is not counted


def test_all_facilities_far_outside_is_an_error(tmp_path: Path, capsys) -> None:
    _refused(tmp_path, capsys,
             lambda f: f["facilities"].write_text("lon,lat,category\n120.0,35.0,clinic\n", encoding="utf-8"),
             "extra.csv", "none of its 1 facilities", "--facilities-crs")


def test_facility_coordinates_out_of_range_name_the_cli_option(tmp_path: Path, capsys) -> None:
    _refused(tmp_path, capsys,
             lambda f: f["facilities"].write_text("lon,lat,category\n29.55,206.57,clinic\n", encoding="utf-8"),
             "extra.csv", "row 2", "--facilities-crs", "lat=206.57")


@pytest.mark.parametrize("value", [",", "", " , ,"])
def test_categories_naming_nothing_is_an_error_not_the_defaults(tmp_path: Path, capsys, value: str) -> None:
    args, out = _city(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["run", "-q", *args, "--categories", value])
    assert info.value.code == 2
    assert "--categories" in capsys.readouterr().err and not out.exists()
    from lifecircle._errors import OptionError
    from lifecircle.pipeline import RunOptions, validate_options

    with pytest.raises(OptionError, match="--categories names no category"):
        validate_options(RunOptions(categories=[]))


def test_unknown_capacity_column_is_reported_before_the_run(tmp_path: Path, capsys, monkeypatch) -> None:
    import lifecircle.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pytest.fail("the run started"))
    _refused(tmp_path, capsys, None, "--capacity 'clinic=beds'", "no column 'beds'", "extra.csv",
             "no object in the OSM file 'city.osm' has a 'beds' tag", extra=("--capacity", "clinic=beds"))
    _refused(tmp_path / "b", capsys, None, "'market' is not one of the run's categories",
             extra=("--capacity", "market=beds"))


def test_user_catalogue_overrides_one_category_and_keeps_the_others(tmp_path: Path, capsys) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("categories:\n  clinic:\n    label_zh: 诊所\n    label_en: Clinic\n    colour: \"#aa0000\"\n"
                    "    rules:\n      - amenity: school\n"  # this city's clinics are tagged as schools
                    "  library:\n    label_zh: 图书馆\n    label_en: Library\n    colour: \"#112233\"\n"
                    "    rules:\n      - amenity: library\n", encoding="utf-8")
    args, out = _city(tmp_path, lambda f: f.pop("facilities"))
    args = [a if a != "clinic,school,park" else "clinic,school,park,library" for a in args]
    code, err = _cli([*args, "--catalogue", str(mine)], capsys)
    assert code == 0, err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    # clinic follows the user's rule (the school node), school and park the bundled ones.
    assert record["facilities"] == {"clinic": 1, "school": 1, "park": 1, "library": 0}
    assert record["summary"]["categories"]["library"]["no_data"] is True


def test_offline_bbox_fails_in_seconds(tmp_path: Path, capsys, monkeypatch) -> None:
    import osmnx  # noqa: F401 - imported before the clock starts: the wait measured is the network's

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty download cache
    from lifecircle import settings

    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    out = tmp_path / "out"
    start = time.perf_counter()
    code, err = _cli(["--bbox", "106.54,29.54,106.59,29.57", "--out", str(out)], capsys)
    elapsed = time.perf_counter() - start
    _assert_refused(out, code, err, "no network", "--osm")
    assert code == 2 and elapsed < 10, f"offline --bbox took {elapsed:.1f} s"


def test_boundary_with_a_nan_coordinate(tmp_path: Path, capsys) -> None:
    # Found by tests/test_fuzz.py: GEOS raised on the NaN while repairing the polygon.
    text = city.boundary_geojson()
    second = text.index("], [") + 4  # the ring's second point
    _refused(tmp_path, capsys, lambda f: f["boundary"].write_text(text[:second] + "NaN" + text[text.index(",", second):]),
             "area.geojson", "feature 1", "not finite numbers")


def test_dem_in_millimetres_is_refused_naming_the_option(tmp_path: Path, capsys) -> None:
    import numpy as np
    import pyproj

    from tests.synthetic import write_geotiff

    x, y = pyproj.Transformer.from_crs(4326, 32648, always_xy=True).transform(city.LON0 - 0.01, city.LAT0 + 0.02)
    rows = np.arange(60, dtype=np.float32)[:, None]
    heights_mm = (250_000 + 1_000 * rows + np.zeros((60, 60), dtype=np.float32)).astype(np.float32)  # 250-310 m
    dem = write_geotiff(tmp_path / "dem_mm.tif", heights_mm, x0=x, y0=y, cell=30.0)
    err = _refused(tmp_path, capsys, None, "--dem", "dem_mm.tif", "millimetres", extra=("--dem", str(dem)))
    assert "heights from" in err and "not plausible" in err


def test_boundary_with_one_wrong_coordinate_is_named_not_the_cell_size(tmp_path: Path, capsys) -> None:
    # Found by tests/test_fuzz.py: one longitude 106.57 -> -1 made a polygon 10,000 km wide, reported as memory.
    text = city.boundary_geojson()
    err = _refused(tmp_path, capsys, lambda f: f["boundary"].write_text(text.replace("], [106.57499999999999,", "], [-1,", 1)),
                   "area.geojson", "spans about", "coordinates wrong")
    assert "larger --cell-size" not in err
