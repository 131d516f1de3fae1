"""Scale test data: the Yuzhong extract repeated k×k times side by side.

Real street patterns, stairs, tags and facilities at any size: tile ``(i, j)`` is the
original extract shifted east by ``i`` and north by ``j`` extract widths (plus a gap, so
tiles do not touch), with every OSM id offset so that ids stay unique. The tiled district
outlines (one polygon per tile, each named and coded) serve as district boundaries.

Usage::

    python -m benchmarks.tiling 4 /tmp/yuzhong_4x4.osm.pbf   # writes also ..._boundary.geojson

Examples
--------
>>> from benchmarks.tiling import tile_offsets
>>> tile_offsets(2, width=0.1, height=0.05, gap=0.01)
[(0.0, 0.0), (0.0, 0.06), (0.11, 0.0), (0.11, 0.06)]
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import osmium
import shapely
from osmium.osm.mutable import Node, Relation, Way

__all__ = ["tile_offsets", "write_tiled_osm", "write_tiled_boundaries", "tiled_yuzhong"]

#: OSM ids are offset by this much per tile (node ids in Yuzhong stay below 2**34).
ID_STEP = 2**34
#: Tiles are separated by this many degrees so that no way of one tile meets another.
GAP_DEG = 0.005


def tile_offsets(k: int, *, width: float, height: float, gap: float = GAP_DEG) -> list[tuple[float, float]]:
    """(dx, dy) in degrees for each of the k×k tiles, column by column."""
    return [(round(i * (width + gap), 9), round(j * (height + gap), 9)) for i in range(k) for j in range(k)]


class _Reader(osmium.SimpleHandler):  # type: ignore[misc]
    """Keeps the extract in memory as plain tuples (it is small)."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[tuple[int, float, float, dict[str, str]]] = []
        self.ways: list[tuple[int, list[int], dict[str, str]]] = []
        self.relations: list[tuple[int, list[tuple[str, int, str]], dict[str, str]]] = []

    def node(self, n: osmium.osm.Node) -> None:
        if n.location.valid():
            self.nodes.append((n.id, n.location.lon, n.location.lat, dict(n.tags)))

    def way(self, w: osmium.osm.Way) -> None:
        self.ways.append((w.id, [r.ref for r in w.nodes], dict(w.tags)))

    def relation(self, r: osmium.osm.Relation) -> None:
        self.relations.append((r.id, [(m.type, m.ref, m.role) for m in r.members], dict(r.tags)))


def _bounds(reader: _Reader) -> tuple[float, float, float, float]:
    lons = [n[1] for n in reader.nodes]
    lats = [n[2] for n in reader.nodes]
    return min(lons), min(lats), max(lons), max(lats)


def write_tiled_osm(source: Path, k: int, destination: Path) -> list[tuple[float, float]]:
    """Write ``source`` repeated k×k times to ``destination`` (.osm.pbf); return the offsets."""
    reader = _Reader()
    reader.apply_file(str(source), locations=False)
    west, south, east, north = _bounds(reader)
    offsets = tile_offsets(k, width=east - west, height=north - south)
    destination.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(destination))
    try:
        for t, (dx, dy) in enumerate(offsets):
            base = t * ID_STEP
            for nid, lon, lat, tags in reader.nodes:
                writer.add_node(Node(id=nid + base, location=(lon + dx, lat + dy), tags=tags, version=1))
        for t in range(len(offsets)):
            base = t * ID_STEP
            for wid, refs, tags in reader.ways:
                writer.add_way(Way(id=wid + base, nodes=[r + base for r in refs], tags=tags, version=1))
        for t in range(len(offsets)):
            base = t * ID_STEP
            for rid, members, tags in reader.relations:
                writer.add_relation(Relation(id=rid + base, members=[(m, ref + base, role) for m, ref, role in members],
                                             tags=tags, version=1))
    finally:
        writer.close()
    return offsets


def write_tiled_boundaries(boundary: Path, offsets: list[tuple[float, float]], destination: Path) -> gpd.GeoDataFrame:
    """The district outline once per tile, named ``渝中-i`` and coded ``5001030i``, as GeoJSON."""
    outline = gpd.read_file(boundary).to_crs(4326).geometry.union_all()
    tiles = gpd.GeoDataFrame(
        {"name": [f"渝中-{t}" for t in range(len(offsets))], "code": [f"500103{t:04d}" for t in range(len(offsets))]},
        geometry=[shapely.affinity.translate(outline, dx, dy) for dx, dy in offsets], crs=4326)
    destination.unlink(missing_ok=True)
    tiles.to_file(destination, driver="GeoJSON")
    return tiles


def tiled_yuzhong(k: int, folder: Path, *, data: Path) -> tuple[Path, Path]:
    """The k×k tiled Yuzhong extract and its district outlines in ``folder`` (made once, then reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    osm = folder / f"yuzhong_{k}x{k}.osm.pbf"
    boundaries = folder / f"yuzhong_{k}x{k}_districts.geojson"
    if not (osm.exists() and boundaries.exists()):
        offsets = write_tiled_osm(data / "yuzhong" / "yuzhong.osm.pbf", k, osm)
        write_tiled_boundaries(data / "yuzhong" / "yuzhong_boundary.geojson", offsets, boundaries)
    return osm, boundaries


if __name__ == "__main__":
    k, out = int(sys.argv[1]), Path(sys.argv[2])
    offs = write_tiled_osm(Path(sys.argv[3]) if len(sys.argv) > 3 else
                           Path(__file__).resolve().parents[2] / "shared/data/yuzhong/yuzhong.osm.pbf", k, out)
    print(f"wrote {out} ({k}x{k} tiles)")
