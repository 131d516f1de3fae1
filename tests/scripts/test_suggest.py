"""``lifecircle suggest`` on the bundled sample: sites.gpkg / sites.csv, printed gains, bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from lifecircle._errors import FacilitiesFileError, InputNotFoundError, OptionError
from lifecircle.scripts import suggest as suggest_cmd


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lifecircle")
    sub = parser.add_subparsers(dest="command")
    suggest_cmd.add_parser(sub)
    return parser.parse_args(["suggest", *argv])


def test_parser_has_run_options_and_site_options() -> None:
    args = _args(["--category", "clinic"])
    # --minutes left out stays None: the run reads lifecircle.settings when it starts.
    assert args.count == 5 and args.candidates is None and args.minutes is None and args.out == Path("out")
    with pytest.raises(SystemExit):
        _args(["--category", "clinic", "--count", "0"])
    with pytest.raises(SystemExit):
        _args(["--count", "3"])  # --category is required


def test_suggest_on_the_sample_writes_sites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = _args(["--category", "clinic", "--count", "3", "--minutes", "5", "--spacing", "50",
                  "--no-facility-isochrones", "--out", str(out)])
    assert suggest_cmd.main(args) == 0
    printed = capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == set(suggest_cmd.SITE_FILES)  # staging folder gone
    sites = gpd.read_file(out / "sites.gpkg", layer="sites")
    assert sites.crs.to_epsg() == 4326 and len(sites) == 3
    assert list(sites["rank"]) == [1, 2, 3] and (sites["category"] == "clinic").all()
    assert sites["marginal_gain"].is_monotonic_decreasing
    raw = (out / "sites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert {"rank", "marginal_gain", "cumulative", "lon", "lat"} <= set(table.columns)
    assert table["cumulative"].iloc[-1] == pytest.approx(sites["marginal_gain"].sum())
    for gain in sites["marginal_gain"]:
        assert f"+{gain:,.0f} people" in printed


def test_suggest_with_candidate_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plots = tmp_path / "plots.csv"
    # Three plots in central Helsinki (lon/lat): around the railway station, Kaisaniemi park, the harbour.
    pd.DataFrame({"plot": ["station", "kaisaniemi", "harbour"], "lon": [24.9414, 24.9466, 24.9525],
                  "lat": [60.1710, 60.1750, 60.1675]}).to_csv(plots, index=False)
    out = tmp_path / "out"
    args = _args(["--category", "clinic", "--count", "2", "--minutes", "5", "--candidates", str(plots),
                  "--no-facility-isochrones", "--out", str(out)])
    assert suggest_cmd.main(args) == 0
    table = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert set(table["plot"]) <= {"station", "kaisaniemi", "harbour"} and 1 <= len(table) <= 2


def test_bad_candidates_are_refused_before_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputNotFoundError, match="candidates"):
        suggest_cmd.main(_args(["--category", "clinic", "--candidates", str(tmp_path / "nope.gpkg"),
                                "--out", str(out)]))
    plots = tmp_path / "plots.csv"
    plots.write_text("x_coord,y_coord\n1,2\n", encoding="utf-8")
    with pytest.raises(FacilitiesFileError, match="longitude and latitude"):
        suggest_cmd.main(_args(["--category", "clinic", "--candidates", str(plots), "--out", str(out)]))
    with pytest.raises(OptionError, match="--spacing"):
        suggest_cmd.main(_args(["--category", "clinic", "--candidates", str(plots), "--spacing", "50",
                                "--out", str(out)]))
    assert not out.exists()
