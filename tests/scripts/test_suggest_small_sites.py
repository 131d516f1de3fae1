"""``lifecircle suggest --category park --min-area ... --min-spacing ... --site-capacity ...`` end to end.

The small test network (:mod:`lifecircle.testing`) has a bottom footway N1 (0, 0) – N4 (900, 0)
and a top one N0 (0, 200) – N5 (900, 200) joined only at the west end. Plots lie at the east
end, one above the top way and one below the bottom way: 230 m apart edge to edge but
more than 2 km apart on foot, so each serves cells the other cannot, and a 300 m minimum
spacing lets only one of them in. A third plot is 100 m² (below --min-area 400), a fourth
is a sports pitch (in use).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import pyproj
import shapely

from lifecircle.scripts.cli import main
from lifecircle.testing import small_network_file

ORIGIN = (600_000.0, 3_270_000.0)
PLOTS = {  # name: (tags, (x0, y0, x1, y1) metres from the origin)
    "top": ({"landuse": "brownfield"}, (860, 215, 900, 255)),
    "bottom": ({"landuse": "grass"}, (860, -55, 900, -15)),
    "tiny": ({"landuse": "vacant"}, (450, -30, 460, -20)),
    "pitch": ({"landuse": "grass", "leisure": "pitch"}, (40, -55, 80, -15)),
}


def _osm_with_plots(folder: Path) -> Path:
    to_wgs = pyproj.Transformer.from_crs(32648, 4326, always_xy=True)
    text = small_network_file().read_text(encoding="utf-8")
    extra, node = [], 900
    for way, (name, (tags, (x0, y0, x1, y1))) in enumerate(PLOTS.items(), start=800):
        refs = []
        for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
            lon, lat = to_wgs.transform(ORIGIN[0] + x, ORIGIN[1] + y)
            extra.append(f'  <node id="{node}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
            refs.append(node)
            node += 1
        extra.append(f'  <way id="{way}" version="1">')
        extra += [f'    <nd ref="{r}"/>' for r in (*refs, refs[0])]
        extra += [f'    <tag k="{k}" v="{v}"/>' for k, v in {**tags, "name": name}.items()]
        extra.append("  </way>")
    path = folder / "plots.osm"
    path.write_text(text.replace("</osm>", "\n".join(extra) + "\n</osm>"), encoding="utf-8")
    return path


def _sites(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "sites.csv").read_text(encoding="utf-8-sig"))))


def test_pocket_parks_from_osm_open_land(tmp_path: Path, capsys) -> None:
    osm = _osm_with_plots(tmp_path)
    base = ["suggest", "--osm", str(osm), "--category", "park", "--count", "3", "--min-area", "400",
            "--minutes", "4", "-q"]
    assert main([*base, "--out", str(tmp_path / "free")]) == 0
    free = _sites(tmp_path / "free")
    # Open land of at least 400 m² not in use: the two east plots; both are worth a site.
    assert sorted(r["name"] for r in free) == ["bottom", "top"]
    assert [r["label"] for r in free] == ["园1", "园2"]
    assert all(abs(float(r["area_m2"]) - 1600.0) < 5 for r in free)  # 40 m x 40 m, coordinates rounded in OSM
    assert all(r["source"].startswith("OSM landuse=") for r in free)
    # Mirror images of each other (50 m from their ways' cells, same walk): the same gain.
    assert float(free[0]["marginal_gain"]) == float(free[1]["marginal_gain"]) > 0
    assert "site 园1" in capsys.readouterr().out

    assert main([*base, "--min-spacing", "300", "--out", str(tmp_path / "spaced"), "--lang", "en"]) == 0
    spaced = _sites(tmp_path / "spaced")
    assert [r["name"] for r in spaced] == [free[0]["name"]]  # the second is 230 m from the first
    assert [r["label"] for r in spaced] == ["P1"]
    assert "only 1 of 3 sites" in capsys.readouterr().out

    # With --figures: the park's A3 map with its numbered sites, and the chart of shares.
    assert main([*base, "--min-spacing", "300", "--figures", "--out", str(tmp_path / "drawn")]) == 0
    drawn = sorted(p.name for p in (tmp_path / "drawn").iterdir())
    assert drawn == ["figure_park.pdf", "figure_park.png", "figure_shares.pdf", "figure_shares.png", "sites.csv",
                     "sites.gpkg", "sites_plan.geojson"]
    from tests.maps.test_figures import pdf_text

    text = pdf_text(tmp_path / "drawn" / "figure_park.pdf")
    assert "园1" in text and "建议新址" in text and "园2" not in text

    assert main([*base, "--site-capacity", "0.5", "--out", str(tmp_path / "capped")]) == 0
    capped = _sites(tmp_path / "capped")
    assert all(float(r["marginal_gain"]) <= 0.5 + 1e-9 for r in capped)
    assert all(float(r["capacity"]) == 0.5 for r in capped)


def test_pocket_parks_from_a_plots_file_with_capacities(tmp_path: Path) -> None:
    plots = gpd.GeoDataFrame(
        {"plot": [n for n in PLOTS], "people": [1.0, 2.0, 50.0, 50.0]},
        geometry=[shapely.box(ORIGIN[0] + x0, ORIGIN[1] + y0, ORIGIN[0] + x1, ORIGIN[1] + y1)
                  for _, (x0, y0, x1, y1) in PLOTS.values()], crs=32648)
    path = tmp_path / "plots.gpkg"
    plots.to_file(path, driver="GPKG")
    out = tmp_path / "out"
    assert main(["suggest", "--osm", str(small_network_file()), "--category", "park", "--count", "4",
                 "--candidates", str(path), "--min-area", "400", "--site-capacity", "people", "--minutes", "4",
                 "--out", str(out), "-q"]) == 0
    sites = _sites(out)
    assert "tiny" not in [r["plot"] for r in sites]  # 100 m²
    for r in sites:
        assert float(r["marginal_gain"]) <= float(r["people"]) + 1e-9
        assert float(r["capacity"]) == float(r["people"])
    assert [r["label"] for r in sites] == [f"园{i}" for i in range(1, len(sites) + 1)]
    layer = gpd.read_file(out / "sites.gpkg")
    assert layer["label"].tolist() == [r["label"] for r in sites]


def test_small_site_options_are_checked(tmp_path: Path, capsys) -> None:
    common = ["suggest", "--osm", str(small_network_file()), "--category", "park", "--out", str(tmp_path / "o")]
    assert main([*common, "--min-spacing", "200", "--spacing", "50"]) == 2
    assert "--min-spacing" in capsys.readouterr().err
    assert main([*common, "--site-capacity", "people"]) == 2
    assert "needs --candidates" in capsys.readouterr().err
    assert main([*common, "--min-area", "400"]) == 2  # the small network has no open land
    err = capsys.readouterr().err
    assert "No candidate plot" in err and "--candidates" in err
