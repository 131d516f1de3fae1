"""``lifecircle batch``: areas on a local Dask cluster, the halo across borders, merging,
retries and resuming.

The fast tests use a cluster of two threads (``processes=False``: in-process transport, no
socket); one slow test uses worker processes, which talk to the scheduler over loopback
(left open by the ``_no_network`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import lifecircle
from lifecircle._errors import OptionError
from lifecircle.batch import area_folder, read_areas, read_layer, run_batch
from lifecircle.options import RunOptions
from lifecircle.schema import minutes_column
from lifecircle.scripts.cli import main
from lifecircle.testing import small_network_file
from tests.conftest import shared_data_dir

UTM = "EPSG:32648"
X0, Y0 = 600_000.0, 3_270_000.0  # the small network's origin (lifecircle.testing)


@pytest.fixture(autouse=True)
def _loopback_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's in-process transport names itself after the machine's outward address, found by
    a UDP connect to 8.8.8.8 (nothing is sent, but the tests' socket guard refuses it); the
    name only has to be unique in this process, so loopback is given instead."""
    monkeypatch.setattr("distributed.comm.inproc.get_ip", lambda *args, **kwargs: "127.0.0.1")


def _box(x0: float, x1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 - 100.0, X0 + x1, Y0 + 300.0)


@pytest.fixture
def halves() -> gpd.GeoDataFrame:
    """The small network cut at x = 500 m: the clinic (x 0) lies in the west, the school (x 900) in the east."""
    return gpd.GeoDataFrame({"name": ["west", "east"], "code": ["W1", "E2"]},
                            geometry=[_box(-100, 500), _box(500, 1000)], crs=UTM)


def _options(**extra: object) -> RunOptions:
    return RunOptions(osm=small_network_file(), categories=("clinic", "school"), cell_size_m=100.0, **extra)


def _batch(areas: gpd.GeoDataFrame, out: Path, **kw: object) -> lifecircle.batch.BatchResult:
    kw = {"workers": 2, "processes": False, "area_maps": False, "lang": "en", **kw}
    return run_batch(read_areas(areas), options=kw.pop("options", _options()), out_dir=out, **kw)  # type: ignore[arg-type]


def _centres(cells: gpd.GeoDataFrame) -> pd.Index:
    pts = cells.geometry.to_crs(UTM).centroid
    return pd.Index(list(zip(np.round(pts.x.to_numpy(), 1), np.round(pts.y.to_numpy(), 1))))


def test_areas_are_read_and_checked(halves: gpd.GeoDataFrame, tmp_path: Path) -> None:
    areas = read_areas(halves)
    assert list(areas["key"]) == ["W1", "E2"] and areas.crs.to_epsg() == 4326
    assert list(read_areas(halves, only=["east"])["code"]) == ["E2"]
    hostile = halves.assign(code=["../up", "E2"])
    assert list(read_areas(hostile)["key"]) == ["area-0", "E2"]  # never a path outside --out
    with pytest.raises(OptionError, match="unique"):
        read_areas(halves.assign(name=["same", "same"]))
    with pytest.raises(OptionError, match="--name-column"):
        read_areas(halves, name_column="district")
    with pytest.raises(OptionError, match="polygon"):
        read_areas(gpd.GeoDataFrame({"name": ["p"]}, geometry=[shapely.Point(X0, Y0)], crs=UTM))
    with pytest.raises(OptionError, match="--areas"):
        read_areas(halves, only=["north"])


def test_halo_reaches_across_the_border_and_merge_equals_the_areas(halves: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _batch(halves, out)
    assert [a["status"] for a in result.areas] == ["done", "done"]
    whole = lifecircle.run(_options(boundary=gpd.GeoDataFrame(geometry=[halves.union_all()], crs=UTM)),
                           progress=False)
    whole_cells = whole.cells.set_index(_centres(whole.cells))
    east = gpd.read_parquet(area_folder(out, "E2") / "cells.parquet")
    clinic = whole.facilities[whole.facilities["category"] == "clinic"].to_crs(UTM).geometry.iloc[0]
    assert not clinic.within(halves.geometry.iloc[1])  # the east's nearest clinic is across the border
    reached = east[minutes_column("clinic")].to_numpy()
    assert np.isfinite(reached).all() and (reached <= 15).any()
    expected = whole_cells.loc[_centres(east), minutes_column("clinic")].to_numpy()
    np.testing.assert_allclose(reached, expected, rtol=0, atol=1e-6)
    # The merged layer is the areas' layers, each row tagged with its area.
    merged = read_layer(out, "cells")
    parts = [gpd.read_parquet(area_folder(out, k) / "cells.parquet") for k in ("E2", "W1")]
    assert len(merged) == sum(len(p) for p in parts) == len(whole.cells)
    assert merged.groupby("area").size().to_dict() == {"E2": len(parts[0]), "W1": len(parts[1])}
    pd.testing.assert_frame_equal(merged[merged["area"] == "E2"].drop(columns="area").reset_index(drop=True),
                                  parts[0], check_like=False)
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    per_area = [pd.read_csv(area_folder(out, k) / "gaps.csv", encoding="utf-8-sig") for k in ("W1", "E2")]
    assert len(gaps) == sum(len(p) for p in per_area)
    assert list(gaps["rank"]) == list(range(1, len(gaps) + 1))
    east_rows = gaps[gaps["area code"] == "E2"].drop(columns=["rank", "area", "area code"])
    pd.testing.assert_frame_equal(east_rows.reset_index(drop=True),
                                  per_area[1].drop(columns="rank").reset_index(drop=True), check_dtype=False)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["batch"]["done"] == 2 and record["batch"]["halo_m"] == pytest.approx(15 * 60 * 4.5 / 3.6)
    assert {"gaps.csv", "gaps.xlsx", "map.html", "run.json"} <= set(record["outputs"])
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "west" in html and "east" in html


def test_a_failing_area_is_retried_reported_and_the_others_kept(halves: gpd.GeoDataFrame, tmp_path: Path) -> None:
    nowhere = gpd.GeoDataFrame({"name": ["<b>far</b>"], "code": ["X9"]}, geometry=[_box(50_000, 50_500)], crs=UTM)
    areas = pd.concat([halves, nowhere], ignore_index=True)
    result = _batch(areas, tmp_path / "out", retries=2)
    status = {a["code"]: a for a in result.areas}
    assert status["W1"]["status"] == status["E2"]["status"] == "done"
    assert status["X9"]["status"] == "failed" and status["X9"]["attempts"] == 3
    assert status["X9"]["error"]
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["batch"]["failed"] == 1
    assert [a["status"] for a in record["areas"]] == ["done", "done", "failed"]
    assert not area_folder(tmp_path / "out", "X9").exists()
    html = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    assert "<b>far</b>" not in html and "&lt;b&gt;far&lt;/b&gt;" in html


def test_resume_skips_complete_areas(halves: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _batch(halves, out)
    stamps = {k: (area_folder(out, k) / "cells.parquet").stat().st_mtime_ns for k in ("W1", "E2")}
    again = _batch(halves, out, resume=True)
    assert [(a["resumed"], a["attempts"]) for a in again.areas] == [(True, 0), (True, 0)]
    assert {k: (area_folder(out, k) / "cells.parquet").stat().st_mtime_ns for k in stamps} == stamps
    # Other options: the stored areas do not fit them, so both are computed again.
    changed = _batch(halves, out, resume=True, options=_options(minutes=10.0))
    assert [(a["resumed"], a["attempts"]) for a in changed.areas] == [(False, 1), (False, 1)]


def test_cli_batch_exit_status_and_options(halves: gpd.GeoDataFrame, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    units = tmp_path / "units.gpkg"
    halves.to_file(units, driver="GPKG")
    code = main(["batch", "-q", "--units", str(units), "--osm", str(small_network_file()), "--out",
                 str(tmp_path / "none"), "--boundary", str(units)])
    assert code == 2 and "--boundary" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["batch", "--units", str(units), "--workers", "0"])


@pytest.mark.slow
def test_tiled_districts_on_worker_processes(tmp_path: Path) -> None:
    """Four tiled Yuzhong districts on two worker processes: every area done, the layers merged."""
    tiling = pytest.importorskip("benchmarks.tiling")
    data = shared_data_dir()
    if not (data / "yuzhong" / "yuzhong.osm.pbf").exists():
        pytest.skip(f"real data not found at {data}")
    osm, districts = tiling.tiled_yuzhong(2, tmp_path / "tiles", data=data)
    out = tmp_path / "out"
    code = main(["batch", "-q", "--units", str(districts), "--osm", str(osm), "--categories", "clinic,school",
                 "--workers", "2", "--out", str(out), "--lang", "en", "--no-area-maps"])
    assert code == 0
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["batch"]["done"] == 4
    cells = read_layer(out, "cells")
    assert cells.groupby("area").size().to_dict() == {a["key"]: a["cells"] for a in record["areas"]}
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    assert len(gaps) == sum(len(pd.read_csv(area_folder(out, a["key"]) / "gaps.csv", encoding="utf-8-sig"))
                            for a in record["areas"])
