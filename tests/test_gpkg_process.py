"""The GeoPackage's cells layer written by a second process: same files, and a failure
anywhere discards the whole output set and keeps the previous one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

import lifecircle
from lifecircle import columnar, outputs
from lifecircle._errors import OutputError
from lifecircle.columnar import lonlat_polygon_wkb, to_lonlat
from lifecircle.outputs import write_outputs
from lifecircle.testing import small_network_file


@pytest.fixture(scope="module")
def small_result() -> lifecircle.RunResult:
    return lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], cell_size_m=100.0,
                          progress=False)


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def _record(data: bytes) -> dict[str, Any]:
    record = json.loads(data)
    for key in ("timings_s", "command"):
        record.pop(key, None)
    return record


@pytest.fixture
def in_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a small grid takes the second process (and the WKB built from coordinates)."""
    monkeypatch.setattr(outputs, "BACKGROUND_CELLS_FROM", 0)
    monkeypatch.setattr(columnar, "_SHARED_VERTICES_FROM", 0)


def test_small_grids_are_written_in_this_process(small_result: lifecircle.RunResult, tmp_path: Path) -> None:
    assert len(small_result.cells) < outputs.BACKGROUND_CELLS_FROM
    write_outputs(small_result, tmp_path, lang="en", write_map=False)
    timings = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["timings_s"]
    assert "write_gpkg" in timings and "write_gpkg_cells_process" not in timings


def test_the_second_process_writes_the_same_files(small_result: lifecircle.RunResult, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_outputs(small_result, tmp_path / "here", lang="en")
    with monkeypatch.context() as m:
        m.setattr(outputs, "BACKGROUND_CELLS_FROM", 0)
        m.setattr(columnar, "_SHARED_VERTICES_FROM", 0)
        write_outputs(small_result, tmp_path / "beside", lang="en")
    here, beside = _files(tmp_path / "here"), _files(tmp_path / "beside")
    assert sorted(here) == sorted(beside)
    assert "write_gpkg_cells_process" in json.loads(beside["run.json"])["timings_s"]
    assert _record(here.pop("run.json")) == _record(beside.pop("run.json"))
    for name in here:  # the GeoPackage too, byte for byte
        assert here[name] == beside[name], name
    assert not [p for p in (tmp_path / "beside").iterdir() if p.name.startswith(".")]


def _previous_set(small_result: lifecircle.RunResult, out: Path) -> dict[str, bytes]:
    write_outputs(small_result, out, lang="en", write_map=False)
    return _files(out)


def test_a_failing_background_write_keeps_the_previous_set(small_result: lifecircle.RunResult, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           in_background: None) -> None:
    out = tmp_path / "out"
    before = _previous_set(small_result, out)
    real = outputs._grid_table

    def unwritable(*args: Any, **kwargs: Any) -> Any:
        table, options = real(*args, **kwargs)
        return table, {**options, "geometry_type": "NoSuchType"}  # GDAL refuses it in the second process

    monkeypatch.setattr(outputs, "_grid_table", unwritable)
    with pytest.raises(OutputError, match="results.gpkg") as caught:
        write_outputs(small_result, out, lang="en", write_map=False)
    assert "NoSuchType" in str(caught.value)  # what GDAL said, from the second process
    assert _files(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)  # no staging folder, no table left


def test_a_failure_beside_the_background_write_stops_it_and_keeps_the_previous_set(
        small_result: lifecircle.RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        in_background: None) -> None:
    out = tmp_path / "out"
    before = _previous_set(small_result, out)
    started = []
    real = outputs.start_layer_process

    def start(*args: Any, **kwargs: Any) -> Any:
        started.append(real(*args, **kwargs))
        return started[-1]

    def broken_map(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # as Ctrl-C while the map is written

    monkeypatch.setattr(outputs, "start_layer_process", start)
    monkeypatch.setattr(outputs, "_write_map", broken_map)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(small_result, out, lang="en")
    assert len(started) == 1 and started[0]._process.poll() is not None  # ended, not left running
    assert _files(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)


def test_polygon_wkb_from_coordinates_is_what_geos_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "_SHARED_VERTICES_FROM", 0)
    rng = np.random.default_rng(7)
    cells = [shapely.box(500_000 + 100 * i, 3_300_000, 500_100 + 100 * i, 3_300_100) for i in range(20)]
    clipped = [shapely.Point(500_000 + x, 3_300_000 + y).buffer(r, quad_segs=int(q))
               for x, y, r, q in zip(rng.uniform(0, 2_000, 20), rng.uniform(0, 2_000, 20), rng.uniform(1, 90, 20),
                                     rng.integers(1, 9, 20))]
    gdf = gpd.GeoDataFrame(geometry=cells + clipped, crs="EPSG:32648")
    wkb = lonlat_polygon_wkb(gdf)
    assert wkb is not None
    assert wkb.to_pylist() == list(shapely.to_wkb(to_lonlat(gdf).geometry.to_numpy()))


@pytest.mark.parametrize("geometry", [shapely.box(0, 0, 1, 1).difference(shapely.box(0.2, 0.2, 0.4, 0.4)),
                                      shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]), None,
                                      shapely.Polygon()])
def test_polygon_wkb_leaves_other_geometries_to_geos(geometry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "_SHARED_VERTICES_FROM", 0)
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(500_000, 3_300_000, 500_100, 3_300_100),
                                     shapely.affinity.translate(geometry, 500_000, 3_300_000)
                                     if geometry is not None else None], crs="EPSG:32648")
    assert lonlat_polygon_wkb(gdf) is None


def test_one_core_writes_the_geopackage_in_this_process(small_result: lifecircle.RunResult, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch, in_background: None) -> None:
    monkeypatch.setattr(outputs, "_cores", lambda: 1)  # a second process would only wait for the core
    write_outputs(small_result, tmp_path, lang="en", write_map=False)
    timings = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["timings_s"]
    assert "write_gpkg" in timings and "write_gpkg_cells_process" not in timings
