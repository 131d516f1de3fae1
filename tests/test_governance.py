"""A run with two governance levels, per-category thresholds and indicators, through every output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

import lifecircle
from lifecircle.scripts.cli import main
from lifecircle.testing import small_network_file
from tests.conftest import REPO
from tests.layers.test_units import write_levels

THRESHOLDS = "clinic=5,10,15;school=300m"


@pytest.fixture(scope="module")
def levels(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    s, c = write_levels(tmp_path_factory.mktemp("levels"))
    return [f"{s}:level=street,label=街道,name=街道名,code=jd_code",
            f"{c}:level=community,label=社区,name=社区名,code=code,parent=jd"]


@pytest.fixture(scope="module")
def result(levels: list[str]) -> lifecircle.RunResult:
    return lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], units=levels,
                          thresholds=THRESHOLDS, progress=False)


@pytest.fixture(scope="module")
def out(result: lifecircle.RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("out")
    lifecircle.write_outputs(result, folder, lang="zh")
    return folder


def test_street_figures_are_the_sums_of_their_communities(result: lifecircle.RunResult) -> None:
    street, comm = (lv["table"] for lv in result.governance.levels)
    assert list(street["code"]) == ["500103001", "500103002"] and list(comm["code"]) == ["C1", "C2", "C3"]
    sums = comm.groupby("parent_code")[["population", "underserved_people", "cells", "within_clinic",
                                        "within_clinic_5min", "within_school_300m"]].sum()
    mine = street.set_index("code")[sums.columns].loc[sums.index]
    pd.testing.assert_frame_equal(mine, sums, check_names=False, check_dtype=False)
    # Shares are the sums' ratio; the cells say the same.
    cells = result.cells
    west = cells["street_code"] == "500103001"
    within = (cells.loc[west, "minutes_to_clinic"] <= 5).sum()
    assert street.set_index("code").loc["500103001", "share_clinic_5min"] == pytest.approx(within / west.sum())
    assert set(cells["community_code"]) == {"C1", "C2", "C3"}
    # The community layer of the run is the lowest level.
    assert list(result.communities["name"]) == ["一社区", "二社区", "三社区"]


def test_codes_thresholds_and_indicators_reach_every_output(out: Path) -> None:
    gaps = pd.read_csv(out / "gaps.csv", dtype=str)
    assert {"街道代码", "社区代码", "诊所/医疗可达档位", "学校可达档位"} <= set(gaps.columns)
    assert set(gaps["街道代码"]) <= {"500103001", "500103002"} and gaps["学校可达档位"].str.match("≤|超过").all()
    comm = pd.read_csv(out / "community_gaps.csv", dtype={"街道代码": str})
    assert {"诊所/医疗覆盖率（5分钟）", "诊所/医疗覆盖率（10分钟）", "学校覆盖率（300米）", "社区代码"} <= set(comm.columns)
    streets = pd.read_csv(out / "units_street.csv", dtype={"街道代码": str})
    assert list(streets["街道代码"].sort_values()) == ["500103001", "500103002"]
    assert "诊所/医疗覆盖率（5分钟）" in streets.columns and "服务不足片块人口" in streets.columns
    areas = pd.read_csv(out / "gap_areas.csv", dtype=str)
    assert "街道代码" in areas.columns
    book = openpyxl.load_workbook(out / "gaps.xlsx", read_only=True)
    assert {"街道", "指标"} <= set(book.sheetnames)
    rows = list(book["指标"].values)
    assert rows[0][:3] == ("指标", "统计口径", "阈值") and len(rows) > 5
    assert all(r[9] for r in rows[1:])  # every indicator has its source
    layers = dict(pyogrio.list_layers(out / "results.gpkg"))
    assert {"units_street", "units_community", "indicators"} <= set(layers) and layers["indicators"] is None
    gpkg_streets = pyogrio.read_dataframe(out / "results.gpkg", layer="units_street")
    assert "share_clinic_10min" in gpkg_streets and set(gpkg_streets["code"]) == {"500103001", "500103002"}
    cells = pyogrio.read_dataframe(out / "results.gpkg", layer="cells", read_geometry=False)
    assert {"street_code", "community_code"} <= set(cells.columns)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert [lv["key"] for lv in record["hierarchy"]] == ["street", "community"]
    assert [t["label"] for t in record["thresholds"]["clinic"]] == ["5min", "10min", "15min"]
    assert record["thresholds"]["school"][0]["minutes"] == 4.0 and "km/h" in record["thresholds"]["school"][0]["converted"]
    assert set(record["summary"]["categories"]["clinic"]["thresholds"]) == {"5min", "10min", "15min"}
    assert record["indicators"][0]["measured"] == "clinic"  # community_health not computed: the fallback
    assert "levels" in record and "cells_joined" in record["levels"]  # the network's level record is kept


def test_map_switches_level_and_bands_follow_thresholds(out: Path) -> None:
    page = (out / "map.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', page, re.S)[1])
    assert [lv["label"] for lv in data["levels"]] == ["街道", "社区"]
    assert {f["properties"]["c"] for f in data["levels"][0]["units"]["features"]} == {"500103001", "500103002"}
    # The clinic's own bands colour its cells' images (test_travel_time_image_bands_follow_own_thresholds); the page
    # carries no data its script does not read.
    script = (REPO / "maps" / "static" / "lifecircle.js").read_text(encoding="utf-8")
    assert [key for key in data if f"D.{key}" not in script] == []
    assert "步行15分钟可达社区卫生服务设施的居民比例" in data["indicatorsHtml"]
    clinic = data["categories"].index(next(c for c in data["categories"] if c["name"] == "clinic"))
    assert "≤ 5分钟" in data["legendBandsHtml"][clinic] and "≤ 2 × 15分钟" in data["legendBandsHtml"][clinic]


def test_figures_band_by_own_thresholds(result: lifecircle.RunResult, tmp_path: Path) -> None:
    from lifecircle.outputs import _labels_of
    from lifecircle.report_figures import write_figures
    from tests.maps.test_figures import pdf_text

    written = write_figures(result, tmp_path, lang="en", labels=_labels_of(result.model.catalogue), categories=["clinic"])
    text = pdf_text(next(p for p in written if p.suffix == ".pdf"))
    assert "≤ 5min" in text and "≤ 15min" in text and "> 2 × 15min" in text and "0–5" not in text


def test_command_line_levels_and_bad_spec(levels: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["run", "--osm", str(small_network_file()), "--categories", "clinic,school", "--units", levels[0],
                 "--units", levels[1], "--thresholds", THRESHOLDS, "--out", str(tmp_path / "o"), "-q"])
    assert code == 0 and (tmp_path / "o" / "units_street.csv").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--osm", str(small_network_file()), "--units", "a.gpkg:colour=red", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2 and "unknown key 'colour'" in capsys.readouterr().err
    code = main(["run", "--osm", str(small_network_file()), "--categories", "clinic", "--thresholds", "park=5",
                 "--out", str(tmp_path / "y"), "-q"])
    assert code == 2 and "--thresholds names park" in capsys.readouterr().err


def test_without_files_derived_units_stay_one_level(tmp_path: Path) -> None:
    result = lifecircle.run(osm=small_network_file(), categories=["clinic"], progress=False)
    assert [lv["key"] for lv in result.governance.levels] == ["unit"]
    table = result.governance.levels[0]["table"]
    assert np.isclose(table["population"].sum(), result.cells["population"].sum())


def test_a_later_run_without_levels_removes_their_lists(result: lifecircle.RunResult, tmp_path: Path) -> None:
    lifecircle.write_outputs(result, tmp_path, lang="en", write_map=False)
    assert (tmp_path / "units_street.csv").exists()
    plain = lifecircle.run(osm=small_network_file(), categories=["clinic"], progress=False)
    lifecircle.write_outputs(plain, tmp_path, lang="en", write_map=False)
    assert not (tmp_path / "units_street.csv").exists() and (tmp_path / "units_unit.csv").exists()


def test_chinese_headers_hold_no_english() -> None:
    from lifecircle import i18n

    zh = [*i18n.LEVEL_HEADERS["zh"].values(), *i18n.INDICATOR_HEADERS["zh"].values(), *i18n.LEVEL_TEXT["zh"].values()]
    assert [s for s in zh if re.search(r"[A-Za-z]{2,}", s.replace("{level}", "").replace("{child}", "")
                                       .replace("{tier}", "").replace("{t}", ""))] == []
    assert set(i18n.LEVEL_HEADERS["zh"]) == set(i18n.LEVEL_HEADERS["en"])
    assert set(i18n.INDICATOR_HEADERS["zh"]) == set(i18n.INDICATOR_HEADERS["en"])
    assert i18n.threshold_text("300m", "zh") == "300米" and i18n.threshold_text("5min", "zh") == "5分钟"


def test_communities_file_is_one_level_with_its_codes(levels: list[str], tmp_path: Path) -> None:
    communities = levels[1].split(":")[0]
    result = lifecircle.run(osm=small_network_file(), categories=["clinic"], communities=communities, progress=False)
    (level,) = result.governance.levels
    assert level["key"] == "community" and list(level["table"]["code"]) == ["C1", "C2", "C3"]
    assert set(result.cells["community_code"]) == {"C1", "C2", "C3"}
    with pytest.raises(lifecircle.LifecircleError, match="either --communities .* or --units"):
        lifecircle.run(osm=small_network_file(), communities=communities, units=levels, progress=False)


def test_a_missing_unit_file_stops_before_the_data_is_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["run", "--osm", str(tmp_path / "no.osm.pbf"), "--units", str(tmp_path / "streets.gpkg:code=c"),
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err
    code = main(["run", "--osm", str(small_network_file()), "--units", f"{tmp_path / 'none.gpkg'}:name=n",
                 "--out", str(tmp_path / "o")])
    assert code == 2 and "--units file" in capsys.readouterr().err


def test_travel_time_image_bands_follow_own_thresholds() -> None:
    from lifecircle.maps.cell_layer import NO_MINUTES, _colour_classes

    tenths = np.array([0, 50, 51, 100, 150, 151, 300, 301, NO_MINUTES], dtype=np.uint16)
    own = _colour_classes(tenths, np.ones(len(tenths), bool), False, [5.0, 10.0, 15.0])
    assert own.tolist() == [1, 1, 2, 2, 3, 5, 5, 6, 7]  # ≤5, ≤10, ≤15 green; ≤30 orange; beyond red; unreachable
    default = _colour_classes(tenths, np.ones(len(tenths), bool), False)
    assert default.tolist() != own.tolist()
