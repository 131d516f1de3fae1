"""``lifecircle run`` on inputs whose names, labels and file names look like templates
(Jinja's ``{{ }}``, ``{% %}``, ``{#``) or like spreadsheet formulas: the run succeeds,
every output holds the text as written, and nothing from the data is executed."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import pytest

from lifecircle.scripts.cli import main

_DATA_RE = re.compile(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', re.S)

#: A 6 x 6 grid of footways, 0.001 degrees apart, in central Helsinki.
_LON0, _LAT0, _STEP, _N = 24.940, 60.165, 0.001, 6


def _payload(target: Path) -> str:
    return "{{ lipsum.__globals__.os.mkdir('" + str(target) + "') }}"


def _osm_xml(clinic_name: str, kiosk_name: str) -> str:
    from xml.sax.saxutils import quoteattr

    nodes, ways = [], []
    node_id = lambda i, j: 1 + i * _N + j  # noqa: E731
    for i in range(_N):
        for j in range(_N):
            nodes.append(f'<node id="{node_id(i, j)}" version="1" lat="{_LAT0 + i * _STEP:.6f}" lon="{_LON0 + j * _STEP:.6f}"/>')
    way = 1000
    for i in range(_N):
        way += 1
        refs = "".join(f'<nd ref="{node_id(i, j)}"/>' for j in range(_N))
        ways.append(f'<way id="{way}" version="1">{refs}<tag k="highway" v="footway"/></way>')
    for j in range(_N):
        way += 1
        refs = "".join(f'<nd ref="{node_id(i, j)}"/>' for i in range(_N))
        ways.append(f'<way id="{way}" version="1">{refs}<tag k="highway" v="residential"/></way>')
    pois = [
        (900, _LAT0 + 1.5 * _STEP, _LON0 + 1.5 * _STEP, [("amenity", "clinic"), ("name", clinic_name)]),
        (901, _LAT0 + 3.5 * _STEP, _LON0 + 3.5 * _STEP, [("shop", "kiosk"), ("name", kiosk_name)]),
    ]
    for pid, lat, lon, tags in pois:
        tag_xml = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags)
        nodes.append(f'<node id="{pid}" version="1" lat="{lat:.6f}" lon="{lon:.6f}">{tag_xml}</node>')
    return '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">' + "".join(nodes + ways) + "</osm>\n"


def _polygon(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]}


@pytest.mark.slow
def test_template_and_formula_text_in_every_input_is_written_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = {k: tmp_path / f"pwned_{k}" for k in ("osm", "facility", "community", "label")}
    clinic_name = "{{ 7*7 }} " + _payload(targets["osm"])
    kiosk_name = "=HYPERLINK(\"http://x\",\"y\") {# x"
    osm = tmp_path / "area.osm"
    osm.write_text(_osm_xml(clinic_name, kiosk_name), encoding="utf-8")
    facility_name = "{% for x in range(3) %}loop{% endfor %} " + _payload(targets["facility"])
    facilities = tmp_path / "extra.csv"
    with facilities.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["lon", "lat", "category", "name"],
                                  [_LON0 + 4.2 * _STEP, _LAT0 + 1.2 * _STEP, "clinic", facility_name]])
    community_names = ["{{ 6*7 }} west", "=1+1 " + _payload(targets["community"])]
    mid = _LON0 + 2.5 * _STEP
    end_lon, end_lat = _LON0 + (_N - 1) * _STEP, _LAT0 + (_N - 1) * _STEP
    communities = tmp_path / "communities.geojson"
    communities.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": community_names[0]}, "geometry": _polygon(_LON0, _LAT0, mid, end_lat)},
        {"type": "Feature", "properties": {"name": community_names[1]}, "geometry": _polygon(mid, _LAT0, end_lon, end_lat)},
    ]}), encoding="utf-8")
    boundary = tmp_path / "{{ 7*7 }} {# x.geojson"
    boundary.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": _polygon(_LON0, _LAT0, end_lon, end_lat)}]}), encoding="utf-8")
    label = "{% if true %}yes{% endif %} " + _payload(targets["label"])
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(
        "version: 1\ncategories:\n"
        f"  clinic:\n    label_zh: {json.dumps(label)}\n    label_en: {json.dumps(label)}\n    colour: \"#d62728\"\n"
        "    rules:\n      - amenity: [clinic]\n"
        "  kiosk:\n    label_zh: \"@kiosk {{ 7*7 }}\"\n    label_en: \"@kiosk {{ 7*7 }}\"\n    colour: \"#2ca02c\"\n"
        "    rules:\n      - shop: [kiosk]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["run", "-q", "--osm", str(osm), "--boundary", str(boundary), "--communities", str(communities),
                 "--facilities", str(facilities), "--catalogue", str(catalogue), "--categories", "clinic,kiosk",
                 "--cell-size", "50", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert not any(t.exists() for t in targets.values()), "text from the data was executed"

    page = (out / "map.html").read_text(encoding="utf-8")
    data = json.loads(_DATA_RE.search(page).group(1))
    popups = " ".join(f["properties"]["html"] for f in data["facilities"]["features"])
    assert "{{ 7*7 }} {{ lipsum.__globals__.os.mkdir(&#x27;" in popups  # the OSM name
    assert "{% for x in range(3) %}loop{% endfor %}" in popups  # the facilities file's name
    assert "{# x" in popups
    assert [f["properties"]["n"] for f in data["communities"]["features"]] == community_names
    # Category labels on the map: the catalogue's where the map shows them, else its own.
    assert data["categories"][0]["label"] in (label, "医疗卫生")
    assert data["categories"][1]["label"] in ("@kiosk {{ 7*7 }}", "kiosk")
    assert "{{ 7*7 }} {# x.geojson" in data["summaryHtml"]  # the boundary's file name
    # The title names the study area in Chinese: "<OSM file>中<boundary file>范围内".
    assert re.search(r"<title>15分钟生活圈步行可达性 · [^<]*中\{\{ 7\*7 \}\} \{# x\.geojson范围内</title>", page)
    assert "looplooploop" not in page and ">yes " not in page

    # The spreadsheets: the names stay text, quoted in the CSVs, string cells in the workbook.
    with (out / "community_gaps.csv").open(encoding="utf-8-sig") as fh:
        names = [row[1] for row in csv.reader(fh)][1:]
    assert sorted(names) == sorted(["{{ 6*7 }} west", "'" + community_names[1]])
    with (out / "gaps.csv").open(encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    assert f"到{label}步行分钟" in header and "到@kiosk {{ 7*7 }}步行分钟" in header  # the catalogue's labels
    with zipfile.ZipFile(out / "gaps.xlsx") as z:
        sheets = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheets  # no formula cell anywhere
