"""GeoParquet output beside the GeoPackage: same layers, CRS kept, same bytes for the same run."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import lifecircle
from lifecircle._errors import OptionError
from lifecircle.columnar import PARQUET_LAYERS, parquet_name, parse_formats
from lifecircle.outputs import PARQUET_FILES, write_outputs
from lifecircle.scripts.cli import main
from lifecircle.testing import small_network_file


@pytest.fixture(scope="module")
def small_result() -> lifecircle.RunResult:
    return lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], cell_size_m=100.0,
                          progress=False)


def test_formats_are_checked_and_ordered() -> None:
    assert parse_formats("parquet,gpkg") == ("gpkg", "parquet")
    assert parse_formats(["PARQUET"]) == ("parquet",)
    for bad in ("", "csv", "gpkg,shp"):
        with pytest.raises(OptionError, match="--format"):
            parse_formats(bad)


def test_default_writes_no_parquet(small_result: lifecircle.RunResult, tmp_path: Path) -> None:
    paths = write_outputs(small_result, tmp_path / "out", lang="en", write_map=False)
    assert "results.gpkg" in paths
    assert not set(PARQUET_FILES) & {p.name for p in (tmp_path / "out").iterdir()}


def test_parquet_round_trip_matches_the_geopackage(small_result: lifecircle.RunResult, tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = write_outputs(small_result, out, lang="en", write_map=False, formats=("gpkg", "parquet"))
    assert set(PARQUET_FILES) <= set(paths)
    for layer in PARQUET_LAYERS:
        from_parquet = gpd.read_parquet(out / parquet_name(layer))
        from_gpkg = gpd.read_file(out / "results.gpkg", layer=layer)
        assert from_parquet.crs.to_epsg() == 4326
        plain = [c for c in from_parquet.columns if c != "geometry"]
        assert plain == [c for c in from_gpkg.columns if c != "geometry"]
        assert len(from_parquet) == len(from_gpkg) > 0
        assert from_parquet.geometry.geom_equals_exact(from_gpkg.geometry, tolerance=1e-9).all()
        pd.testing.assert_frame_equal(from_parquet[plain].astype(str), from_gpkg[plain].astype(str))
    cells = gpd.read_parquet(out / "cells.parquet")
    pd.testing.assert_series_equal(cells["minutes_to_clinic"],
                                   small_result.cells["minutes_to_clinic"].reset_index(drop=True),
                                   check_names=False)


def test_same_run_gives_the_same_parquet_bytes(small_result: lifecircle.RunResult, tmp_path: Path) -> None:
    write_outputs(small_result, tmp_path / "a", lang="en", write_map=False, formats=("parquet",))
    write_outputs(small_result, tmp_path / "b", lang="en", write_map=False, formats=("parquet",))
    for name in PARQUET_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not (tmp_path / "a" / "results.gpkg").exists()


def test_parquet_files_belong_to_the_set(small_result: lifecircle.RunResult, tmp_path: Path) -> None:
    """A later run without parquet replaces the whole set: no stale GeoParquet stays beside it."""
    out = tmp_path / "out"
    write_outputs(small_result, out, lang="en", write_map=False, formats=("gpkg", "parquet"))
    write_outputs(small_result, out, lang="en", write_map=False)
    assert not set(PARQUET_FILES) & {p.name for p in out.iterdir()}


def test_cli_refuses_an_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--format", "gpkg,csv", "--out", str(tmp_path / "out")])
    assert "--format" in capsys.readouterr().err and "csv" not in {p.name for p in tmp_path.iterdir()}


def test_files_carry_standard_geoparquet_metadata(small_result: lifecircle.RunResult, tmp_path: Path) -> None:
    """What DuckDB, GDAL/QGIS and other readers go by: GeoParquet 1.0 ``geo`` metadata, WKB, EPSG:4326."""
    import json

    import pyarrow.parquet as pq

    write_outputs(small_result, tmp_path, lang="en", write_map=False, formats=("parquet",))
    for name in PARQUET_FILES:
        meta = json.loads(pq.read_schema(tmp_path / name).metadata[b"geo"])
        column = meta["columns"][meta["primary_column"]]
        assert meta["version"] == "1.0.0" and column["encoding"] == "WKB"
        assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
        assert "__index_level_0__" not in pq.read_schema(tmp_path / name).names
