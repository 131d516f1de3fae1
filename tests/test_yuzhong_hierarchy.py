"""Two governance levels on the real Yuzhong data: streets roll up exactly from their communities."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from lifecircle.scripts.cli import main
from tests.conftest import YUZHONG

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (YUZHONG / "yuzhong.osm.pbf").exists(), reason=f"no Yuzhong data in {YUZHONG}")]


def _grid(area: shapely.Geometry, nx: int, ny: int) -> list[shapely.Geometry]:
    w, s, e, n = area.bounds
    xs, ys = np.linspace(w, e, nx + 1), np.linspace(s, n, ny + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(ny) for i in range(nx)]
    return [b.intersection(area) for b in boxes]


def test_yuzhong_streets_equal_the_sum_of_their_communities(tmp_path: Path) -> None:
    boundary = gpd.read_file(YUZHONG / "yuzhong_boundary.geojson").to_crs(32648)
    area = shapely.union_all(boundary.geometry.to_numpy())
    streets = gpd.GeoDataFrame({"街道名": ["西南", "东南", "西北", "东北"], "code": ["S1", "S2", "S3", "S4"]},
                               geometry=_grid(area, 2, 2), crs=32648)
    comm = gpd.GeoDataFrame(geometry=_grid(area, 8, 4), crs=32648)
    comm = comm[~comm.is_empty & (comm.area > 1)].reset_index(drop=True)
    comm["name"] = [f"社区{i:02d}" for i in range(len(comm))]
    comm["code"] = [f"500103{i:03d}" for i in range(len(comm))]
    streets[~streets.is_empty].to_file(tmp_path / "streets.gpkg")
    comm.to_file(tmp_path / "communities.gpkg")
    out = tmp_path / "out"
    code = main(["run", "--osm", str(YUZHONG / "yuzhong.osm.pbf"), "--boundary", str(YUZHONG / "yuzhong_boundary.geojson"),
                 "--population", str(YUZHONG / "yuzhong_population_ghspop2015.csv"), "--categories", "clinic,school",
                 "--no-facility-isochrones", "--units", f"{tmp_path / 'streets.gpkg'}:level=street,name=街道名,code=code",
                 "--units", f"{tmp_path / 'communities.gpkg'}:level=community,name=name,code=code",
                 "--thresholds", "clinic=5,10,15;school=500m,1000m", "--out", str(out), "-q"])
    assert code == 0
    street = pyogrio.read_dataframe(out / "results.gpkg", layer="units_street", read_geometry=False)
    community = pyogrio.read_dataframe(out / "results.gpkg", layer="units_community", read_geometry=False)
    additive = [c for c in community.columns if c.startswith("within_")] + ["population", "underserved_people",
                                                                             "cells", "underserved_cells"]
    sums = community.groupby("parent_code")[additive].sum()
    mine = street.set_index("code")[additive].loc[sums.index]
    pd.testing.assert_frame_equal(mine, sums, check_names=False, check_dtype=False, rtol=1e-12, atol=1e-6)
    assert street["population"].sum() == pytest.approx(307_834, rel=1e-3)
    # A street's share is its communities' people-weighted mean: between their lowest and highest.
    bounds = community.groupby("parent_code")["share_clinic_10min"].agg(["min", "max"]).loc[sums.index]
    share = street.set_index("code")["share_clinic_10min"].loc[sums.index]
    assert ((share >= bounds["min"] - 1e-12) & (share <= bounds["max"] + 1e-12)).all()
    assert (street["share_clinic_5min"] <= street["share_clinic_10min"]).all()
