"""A small, valid set of input files (a few hundred metres of Chongqing streets) for CLI and
fuzz tests: an OSM XML grid with a clinic, a school and a park, a boundary, population points
and a facilities CSV. A run on them takes about a second.

The street grid is ``N`` x ``N`` nodes ``STEP`` degrees apart from (``LON0``, ``LAT0``).
"""

from __future__ import annotations

import json
from pathlib import Path

LON0, LAT0 = 106.5700, 29.5500
STEP = 0.001  # about 97 m east-west, 111 m north-south
N = 6


def osm_xml() -> str:
    """The street grid with a clinic (node), a school (node) and a park (closed way)."""
    nodes, ways = [], []
    nid = lambda i, j: 1 + i * N + j  # noqa: E731
    for i in range(N):
        for j in range(N):
            nodes.append(f'<node id="{nid(i, j)}" lat="{LAT0 + i * STEP:.6f}" lon="{LON0 + j * STEP:.6f}"/>')
    wid = 1000
    for i in range(N):
        refs = "".join(f'<nd ref="{nid(i, j)}"/>' for j in range(N))
        ways.append(f'<way id="{wid}">{refs}<tag k="highway" v="residential"/><tag k="name" v="街{i}"/></way>')
        wid += 1
    for j in range(N):
        refs = "".join(f'<nd ref="{nid(i, j)}"/>' for i in range(N))
        ways.append(f'<way id="{wid}">{refs}<tag k="highway" v="footway"/></way>')
        wid += 1
    nodes.append(f'<node id="500" lat="{LAT0 + 1.5 * STEP:.6f}" lon="{LON0 + 1.5 * STEP:.6f}">'
                 '<tag k="amenity" v="clinic"/><tag k="name" v="社区诊所"/></node>')
    nodes.append(f'<node id="501" lat="{LAT0 + 3.5 * STEP:.6f}" lon="{LON0 + 3.5 * STEP:.6f}">'
                 '<tag k="amenity" v="school"/><tag k="name" v="小学"/></node>')
    park = [(600 + k, LAT0 + a * STEP, LON0 + b * STEP) for k, (a, b) in
            enumerate([(4.2, 0.2), (4.2, 0.8), (4.8, 0.8), (4.8, 0.2)])]
    nodes.extend(f'<node id="{k}" lat="{la:.6f}" lon="{lo:.6f}"/>' for k, la, lo in park)
    refs = "".join(f'<nd ref="{k}"/>' for k, _, _ in park) + f'<nd ref="{park[0][0]}"/>'
    ways.append(f'<way id="2000">{refs}<tag k="leisure" v="park"/><tag k="name" v="公园"/></way>')
    return '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n' + "\n".join(nodes + ways) + "\n</osm>\n"


def boundary_geojson(*, swap: bool = False, crs_member: str | None = None) -> str:
    """The grid's extent as a GeoJSON polygon (``swap``: lat/lon order, a common mistake)."""
    w, s, e, n = LON0, LAT0, LON0 + (N - 1) * STEP, LAT0 + (N - 1) * STEP
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    if swap:
        ring = [[y, x] for x, y in ring]
    doc: dict = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "area"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    if crs_member:
        doc["crs"] = {"type": "name", "properties": {"name": crs_member}}
    return json.dumps(doc)


def population_csv() -> str:
    rows = ["lon,lat,population"]
    for i in range(N - 1):
        for j in range(N - 1):
            rows.append(f"{LON0 + (j + 0.5) * STEP:.6f},{LAT0 + (i + 0.5) * STEP:.6f},{10 * (i + j + 1)}")
    return "\n".join(rows) + "\n"


def facilities_csv() -> str:
    return ("lon,lat,category,name\n"
            f"{LON0 + 4.5 * STEP:.6f},{LAT0 + 0.5 * STEP:.6f},clinic,街道卫生站\n"
            f"{LON0 + 0.5 * STEP:.6f},{LAT0 + 2.5 * STEP:.6f},school,幼儿园\n")


def write_all(folder: Path) -> dict[str, Path]:
    """Write the four files into ``folder``; return their paths by option name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"osm": ("city.osm", osm_xml()), "boundary": ("area.geojson", boundary_geojson()),
             "population": ("people.csv", population_csv()), "facilities": ("extra.csv", facilities_csv())}
    out = {}
    for key, (name, text) in files.items():
        p = folder / name
        p.write_text(text, encoding="utf-8")
        out[key] = p
    return out


def cli_args(files: dict[str, Path], out: Path) -> list[str]:
    """``lifecircle run`` options for the files of :func:`write_all` (fast settings)."""
    args = []
    for key, path in files.items():
        args += [f"--{key}", str(path)]
    return [*args, "--categories", "clinic,school,park", "--no-facility-isochrones", "--out", str(out)]
