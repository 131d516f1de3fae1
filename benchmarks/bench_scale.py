"""Benchmark: the whole ``lifecircle run`` at city scale, on the Yuzhong extract tiled k×k.

For each size, the tiled extract (:func:`benchmarks.tiling.tiled_yuzhong`) is run through the
command line in a child process (``lifecircle run --osm ... --out ...``); the child's peak
resident memory comes from the kernel (``os.wait4``'s ``ru_maxrss``), its wall time from the
parent, the step breakdown from the run's own ``run.json`` (``timings_s``), and the counts
(nodes, cells) from ``run.json`` too. Beside it, a peer tool runs the nearest-facility search
on the same walking network (read and built by lifecircle, flat costs, the extract's
hospitals, schools and markets as facility nodes): pandana by default (contraction
hierarchy, precompute included), or igraph / networkx; the ratio is the peer's time over
lifecircle's for that search (see ``bench_nearest.py`` for the method).

Printed: tiles, nodes, cells, wall, peak RSS, map.html and results.gpkg sizes, the biggest
steps, and the peer's search against lifecircle's. JSON goes to ``benchmarks/results/``.

Usage::

    /work/venv/bin/python benchmarks/bench_scale.py                        # 1, 4, 16, 64 tiles
    /work/venv/bin/python benchmarks/bench_scale.py --tiles 1,4 --peer none
    /work/venv/bin/python benchmarks/bench_scale.py --tiles 256 --boundary --cell-size 100

Tile counts must be squares (k×k). The tiled extracts are made once in ``--tiles-dir``
(default ``/tmp/tiles``) and reused.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: ``benchmarks`` importable as a package
    sys.path.insert(0, str(REPO))

from benchmarks.tiling import tiled_yuzhong  # noqa: E402 - after the path fix above

__all__ = [
    "DEFAULT_CATEGORIES",
    "SizeResult",
    "run_size",
    "peer_search",
    "format_table",
    "main",
]

#: Ten categories of the catalogue: the target's "10 categories".
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "clinic", "school", "kindergarten", "park", "market", "elderly_care", "primary_school", "middle_school",
    "community_health", "sports_ground",
)
PEERS: tuple[str, ...] = ("pandana", "igraph", "networkx", "none")


@dataclass
class SizeResult:
    """One size's figures (``None`` where not measured)."""

    tiles: int
    nodes: int | None = None
    edges: int | None = None
    cells: int | None = None
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    files_mb: dict[str, float] = field(default_factory=dict)
    steps_s: dict[str, float] = field(default_factory=dict)
    exit_code: int | None = None
    error: str | None = None
    peer: dict = field(default_factory=dict)


def shared_data_dir() -> Path:
    """The shared real-data folder: ``$LIFECIRCLE_SHARED_DATA``, else ``../shared/data``."""
    env = os.environ.get("LIFECIRCLE_SHARED_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


def _side(tiles: int) -> int:
    k = math.isqrt(tiles)
    if k * k != tiles or k < 1:
        raise SystemExit(f"--tiles: each size must be a square number of tiles (1, 4, 16, 64, 256); found {tiles}.")
    return k


def run_command(osm: Path, out: Path, *, categories: Sequence[str], boundary: Path | None, cell_size: float,
                extra: Sequence[str] = ()) -> list[str]:
    """The ``lifecircle run`` command line for one size (run through this interpreter).

    Parameters
    ----------
    osm, out : pathlib.Path
        The extract and the output folder.
    categories : sequence of str
    boundary : pathlib.Path or None
        District outlines for ``--boundary``.
    cell_size : float
        Metres.
    extra : sequence of str
        More arguments for ``lifecircle run``.

    Returns
    -------
    list of str
    """
    cmd = [sys.executable, "-c", "import sys; from lifecircle.scripts.cli import console_main; "
           "sys.argv[0] = 'lifecircle'; console_main()", "run", "--osm", str(osm), "--out", str(out),
           "--categories", ",".join(categories), "--cell-size", f"{cell_size:g}"]
    if boundary is not None:
        cmd += ["--boundary", str(boundary)]
    return [*cmd, *extra]


def run_child(cmd: Sequence[str], *, timeout_s: float, log_path: Path) -> tuple[int, float, float, float]:
    """Run ``cmd`` in a child process, output to ``log_path``, killed after ``timeout_s``.

    Parameters
    ----------
    cmd : sequence of str
    timeout_s : float
    log_path : pathlib.Path

    Returns
    -------
    tuple
        Exit code, wall seconds, peak resident memory (MB) and CPU seconds (user + system),
        the last two from the kernel's accounting of the child (``os.wait4``).
    """
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        child = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT)
        deadline = start + timeout_s
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
    return child.returncode, wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB


def _file_mb(path: Path) -> float | None:
    return round(path.stat().st_size / 1e6, 2) if path.exists() else None


def run_size(  # noqa: PLR0913 - one size and where its inputs and outputs live
    tiles: int, *, categories: Sequence[str], boundary: bool, cell_size: float, tiles_dir: Path,
    out_root: Path, data: Path, timeout_s: float = 1800.0, extra: Sequence[str] = ()) -> SizeResult:
    """One ``lifecircle run`` on the k×k tiled extract, measured in a child process.

    Parameters
    ----------
    tiles : int
        A square number of tiles.
    categories : sequence of str
    boundary : bool
        Clip to the tiled district outlines.
    cell_size : float
    tiles_dir, out_root, data : pathlib.Path
        Where the tiled extracts live, where the outputs go, the shared data.
    timeout_s : float
    extra : sequence of str
        More arguments for ``lifecircle run``.

    Returns
    -------
    SizeResult
    """
    osm, districts = tiled_yuzhong(_side(tiles), tiles_dir, data=data)
    out = out_root / f"tiles_{tiles}"
    cmd = run_command(osm, out, categories=categories, boundary=districts if boundary else None,
                      cell_size=cell_size, extra=extra)
    out_root.mkdir(parents=True, exist_ok=True)
    code, wall, peak, cpu = run_child(cmd, timeout_s=timeout_s, log_path=out_root / f"tiles_{tiles}.log")
    result = SizeResult(tiles=tiles, wall_s=round(wall, 2), cpu_s=round(cpu, 2), peak_rss_mb=round(peak, 1),
                        exit_code=code)
    record_path = out / "run.json"
    if code != 0 or not record_path.exists():
        tail = (out_root / f"tiles_{tiles}.log").read_text(errors="replace").strip().splitlines()[-2:]
        result.error = f"exit {code}: {' | '.join(tail)}"
        return result
    record = json.loads(record_path.read_text())
    network = record.get("network", {})
    result.nodes, result.edges = network.get("nodes"), network.get("edges")
    result.cells = (record.get("summary") or {}).get("cells")
    result.steps_s = {k: float(v) for k, v in (record.get("timings_s") or {}).items()}
    for name in ("map.html", "results.gpkg", "results.parquet", "gaps.xlsx"):
        size = _file_mb(out / name)
        if size is not None:
            result.files_mb[name] = size
    return result


def peer_search(osm: Path, peer: str) -> dict:
    """lifecircle's nearest-facility search and a peer's on the same network (in this process).

    The network is read and built once by lifecircle with flat costs; facilities are the
    extract's hospital and school footprints, marketplaces and supermarkets snapped to their
    nearest node on a copy of the largest component. Both answers are compared with a plain Dijkstra.

    Parameters
    ----------
    osm : pathlib.Path
    peer : {"pandana", "igraph", "networkx"}

    Returns
    -------
    dict
        ``nodes``, ``facility_nodes``, per method ``prep_s``, ``search_s``, ``total_s`` and
        ``agree``, and ``ratio`` (peer / lifecircle).
    """
    import numpy as np
    import shapely

    from benchmarks import bench_nearest as bn
    from lifecircle.layers.osm import read_osm
    from lifecircle.spatial.network import build_walk_network

    extract = read_osm(osm, progress=False)
    network = build_walk_network(way_ids=extract.way_ids, way_offsets=extract.way_offsets,
                                 node_ids=extract.node_ids, node_lon=extract.node_lon, node_lat=extract.node_lat,
                                 way_tags=extract.way_tags)
    points = bn._yuzhong_facility_points(extract.features, network.crs)
    # Facilities on the tiles' copies of the largest component (as bench_nearest.py does on
    # one tile): a node of a stray island may join another edge first in lifecircle.
    component = network.nodes["component"].to_numpy()
    sizes = np.bincount(component)
    main = np.flatnonzero(sizes[component] >= sizes.max() // 2)
    tree = shapely.STRtree(network.nodes.geometry.to_numpy()[main])
    fac = np.unique(main[tree.query_nearest(points.to_numpy(), all_matches=False)[1]])
    problem = bn.problem_from_network("tiled", network, fac)
    reference = bn.reference_seconds(problem)
    out: dict = {"nodes": problem.n_nodes, "facility_nodes": int(len(fac))}
    for method in ("lifecircle", peer):
        run = bn.run_method(problem, method, repeat_below_s=0.0, max_repeats=1)
        out[method] = {"prep_s": round(run.prep_s, 3), "search_s": round(run.search_s, 3),
                       "total_s": round(run.total_s, 3), "agree": bool(bn.compare(problem, run, reference)["agree"])}
    out["ratio"] = round(out[peer]["total_s"] / max(out["lifecircle"]["total_s"], 1e-9), 1)
    return out


def _peer_in_child(osm: Path, peer: str, *, timeout_s: float, log_path: Path) -> dict:
    result_path = log_path.with_suffix(".json")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--peer-worker", str(osm), "--peer", peer,
           "--peer-out", str(result_path)]
    code, _, peak, _ = run_child(cmd, timeout_s=timeout_s, log_path=log_path)
    if code != 0 or not result_path.exists():
        return {"peer": peer, "error": f"exit {code}"}
    return {"peer": peer, **json.loads(result_path.read_text()), "peak_rss_mb": round(peak, 1)}


def _biggest_steps(steps: dict[str, float], n: int = 5) -> str:
    top = sorted(steps.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{name} {secs:.1f}" for name, secs in top) + " s" if top else ""


def _k(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e4 else f"{n / 1e3:.1f}k"


def format_table(results: Sequence[SizeResult]) -> str:
    """The Markdown table: tiles, nodes, cells, wall, CPU, peak RSS, file sizes, steps, peer.

    Parameters
    ----------
    results : sequence of SizeResult

    Returns
    -------
    str
    """
    lines = ["| tiles | nodes | cells | wall | CPU | peak RSS | map.html | results.gpkg | biggest steps "
             "| search: lifecircle / peer |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.error:
            lines.append(f"| {r.tiles} | | | {r.wall_s:.0f} s | {r.cpu_s or 0:.0f} s | {(r.peak_rss_mb or 0) / 1024:.2f} GB "
                         f"| | | {r.error} | |")
            continue
        peer = ""
        if r.peer.get("peer") and "error" not in r.peer:
            name = r.peer["peer"]
            peer = (f"{r.peer['lifecircle']['total_s']:.2f} s / {name} {r.peer[name]['total_s']:.1f} s "
                    f"(×{r.peer['ratio']:g})")
        elif r.peer.get("error"):
            peer = f"{r.peer.get('peer')}: {r.peer['error']}"
        lines.append(
            f"| {r.tiles} | {_k(r.nodes)} | {_k(r.cells)} | {r.wall_s:.1f} s | {r.cpu_s or 0:.1f} s "
            f"| {(r.peak_rss_mb or 0) / 1024:.2f} GB "
            f"| {r.files_mb.get('map.html', 0):.1f} MB | {r.files_mb.get('results.gpkg', 0):.1f} MB "
            f"| {_biggest_steps(r.steps_s)} | {peer} |")
    return "\n".join(lines)


def growth_exponents(results: Sequence[SizeResult], *, key: str = "wall_s") -> list[float]:
    """log(time ratio) / log((nodes + cells) ratio) between consecutive sizes: 1 is linear.

    Parameters
    ----------
    results : sequence of SizeResult
    key : {"wall_s", "cpu_s"}
        CPU seconds are steadier on a shared machine.

    Returns
    -------
    list of float
    """
    ok = [r for r in results if not r.error and r.nodes and r.cells and getattr(r, key)]
    out = []
    for a, b in zip(ok, ok[1:]):
        size_ratio = (b.nodes + b.cells) / (a.nodes + a.cells)
        if size_ratio > 1:
            out.append(round(math.log(getattr(b, key) / getattr(a, key)) / math.log(size_ratio), 2))
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiles", default="1,4,16,64", help="tile counts, squares (default 1,4,16,64)")
    p.add_argument("--categories", default=",".join(DEFAULT_CATEGORIES), help="categories (default: ten)")
    p.add_argument("--boundary", action="store_true", help="clip to the tiled district outlines")
    p.add_argument("--cell-size", type=float, default=100.0)
    p.add_argument("--peer", choices=PEERS, default="pandana", help="peer for the search (default pandana)")
    p.add_argument("--tiles-dir", type=Path, default=Path("/tmp/tiles"))
    p.add_argument("--out-root", type=Path, default=Path("/tmp/lifecircle_bench_scale"))
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per child")
    p.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "scale.json")
    p.add_argument("--run-arg", action="append", default=[], help="extra argument for lifecircle run (repeatable)")
    p.add_argument("--peer-worker", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--peer-out", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None, *, log: Callable[[str], None] = print) -> int:
    """Run the benchmark; print the table; write the JSON record."""
    args = _parser().parse_args(argv)
    if args.peer_worker is not None:
        args.peer_out.write_text(json.dumps(peer_search(args.peer_worker, args.peer)))
        return 0
    sizes = [int(t) for t in args.tiles.split(",") if t.strip()]
    for tiles in sizes:
        _side(tiles)
    categories = [c.strip() for c in args.categories.split(",") if c.strip()]
    data = shared_data_dir()
    results: list[SizeResult] = []
    for tiles in sizes:
        log(f"tiles {tiles}: lifecircle run ...")
        result = run_size(tiles, categories=categories, boundary=args.boundary, cell_size=args.cell_size,
                          tiles_dir=args.tiles_dir, out_root=args.out_root, data=data, timeout_s=args.timeout,
                          extra=args.run_arg)
        if args.peer != "none" and not result.error:
            log(f"tiles {tiles}: search, lifecircle and {args.peer} ...")
            osm, _ = tiled_yuzhong(_side(tiles), args.tiles_dir, data=data)
            result.peer = _peer_in_child(osm, args.peer, timeout_s=args.timeout,
                                         log_path=args.out_root / f"tiles_{tiles}_peer.log")
        results.append(result)
    table = format_table(results)
    log(f"\n{len(categories)} categories, {'district boundaries' if args.boundary else 'no boundary'}, "
        f"{args.cell_size:g} m cells, {os.cpu_count()} CPUs\n")
    log(table)
    exponents = {key: growth_exponents(results, key=key) for key in ("wall_s", "cpu_s")}
    if exponents["wall_s"]:
        log(f"\ngrowth exponent against nodes + cells, size to size (1 = linear): wall {exponents['wall_s']}, "
            f"CPU {exponents['cpu_s']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"categories": categories, "boundary": args.boundary,
                                     "cell_size_m": args.cell_size, "results": [asdict(r) for r in results],
                                     "growth_exponents": exponents}, indent=1))
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
