"""Smoke test of benchmarks/bench_nearest.py: tiny inputs, every method must agree.

No timing is asserted: the benchmark itself prints and records the figures. The
synthetic base network is a 3 x 3 grid of 100 m streets (hand-checkable: at 4.5 km/h =
1.25 m/s one block takes 80 s), tiled into a small stitched fabric.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle.spatial.network import WalkNetwork

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_nearest.py"
CRS = "EPSG:32648"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_nearest", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_nearest"] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def _grid(n_side: int = 3, spacing: float = 100.0) -> WalkNetwork:
    """Grid streets: node ``r * n_side + c`` at (c * spacing, r * spacing)."""
    ids = np.arange(n_side * n_side)
    x = (ids % n_side) * spacing
    y = (ids // n_side) * spacing
    horizontal = [(i, i + 1) for i in ids if i % n_side < n_side - 1]
    vertical = [(i, i + n_side) for i in ids if i + n_side < n_side * n_side]
    uv = np.array(horizontal + vertical)
    edges = gpd.GeoDataFrame(
        {"u": uv[:, 0], "v": uv[:, 1], "osm_way_id": np.arange(len(uv)), "length_m": np.full(len(uv), spacing),
         "highway": "residential"},
        geometry=shapely.linestrings(np.stack([np.c_[x[uv[:, 0]], y[uv[:, 0]]], np.c_[x[uv[:, 1]], y[uv[:, 1]]]],
                                              axis=1)),
        crs=CRS,
    )
    nodes = gpd.GeoDataFrame({"osm_id": ids + 1000, "component": 0}, geometry=shapely.points(x, y), crs=CRS)
    return WalkNetwork(nodes=nodes, edges=edges, crs=edges.crs)


def _available(methods: tuple[str, ...]) -> list[str]:
    optional = {"igraph": "igraph", "pandana": "pandana"}
    return [m for m in methods if m not in optional or importlib.util.find_spec(optional[m]) is not None]


def test_tile_network_is_one_stitched_fabric() -> None:
    base = _grid()
    tiled, n_tiles = bench.tile_network(base, min_nodes=40, gap_m=50.0, links_per_side=3)
    assert n_tiles == 5  # ceil(40 / 9)
    assert tiled.n_nodes == 45
    # 12 grid edges per tile; tiles sit on a 3-column grid: (0,1),(1,2),(3,4) side by side,
    # (0,3),(1,4) one above the other; 3 links per facing side.
    n_stitch = (3 + 2) * 3
    assert tiled.n_edges == 5 * 12 + n_stitch
    assert set(tiled.nodes["component"]) == {0}
    stitch = tiled.edges[tiled.edges["osm_way_id"] == -1]
    assert len(stitch) == n_stitch
    # The tile to the right is offset by the grid's width (200 m) plus the gap (50 m): the
    # east node of a band (x=200) meets the west node (x=0) of the next tile 50 m away.
    tile_of = tiled.nodes["tile"].to_numpy()
    horizontal = stitch[tile_of[stitch["v"].to_numpy()] - tile_of[stitch["u"].to_numpy()] == 1]
    assert len(horizontal) == 3 * 3
    assert np.allclose(horizontal["length_m"], 50.0)
    # Lengths match geometries; tile 4's copy of node 8 sits at (1 * 250 + 200, 1 * 250 + 200).
    assert np.allclose(tiled.edges.geometry.length, tiled.edges["length_m"])
    assert tiled.nodes.geometry.iloc[4 * 9 + 8].equals(shapely.Point(450.0, 450.0))


def test_lifecircle_minutes_on_grid_are_exact() -> None:
    p = bench.problem_from_network("grid", _grid(), np.array([0]))
    run = bench.run_method(p, "lifecircle", max_repeats=1)
    # From node (r, c) to node 0: r + c blocks of 80 s.
    ids = np.arange(9)
    expected = ((ids % 3) + (ids // 3)) * 80.0
    assert np.allclose(run.values, expected)


def test_all_methods_agree_on_small_tiled_network() -> None:
    base = _grid(4)
    tiled, n_tiles = bench.tile_network(base, min_nodes=60, gap_m=40.0, links_per_side=2)
    facilities = (np.array([0, 10])[None, :] + (np.arange(n_tiles) * base.n_nodes)[:, None]).ravel()
    # Threshold 3 min = 180 s = 2.25 blocks, so coverage is partial; ego_graph runs on a
    # subset of 3 facilities to exercise the scaled-subset path.
    p = bench.problem_from_network("small", tiled, facilities, threshold_min=3.0, ego_max_facilities=3)
    record = bench.benchmark_problem(p, _available(bench.METHODS), in_process=True, repeat_below_s=0.0,
                                     log=lambda s: None)
    assert {"lifecircle", "scipy", "networkx", "ego_graph"} <= set(record["methods"])
    for method, entry in record["methods"].items():
        assert "error" not in entry, (method, entry)
        assert entry["check"]["agree"], (method, entry["check"])
    assert record["methods"]["networkx"]["check"]["max_abs_diff_vs_lifecircle_min"] < 1e-9
    ego = record["methods"]["ego_graph"]
    assert 0 < ego["check"]["covered"] < p.n_nodes
    assert "3 of" in ego["note"]
    table = bench.format_table(record)
    for method in record["methods"]:
        assert method in table


def test_compare_detects_a_wrong_answer() -> None:
    p = bench.problem_from_network("grid", _grid(), np.array([0]))
    reference = bench.reference_seconds(p)
    wrong = reference.copy()
    wrong[4] += 30.0
    run = bench.MethodRun("scipy", wrong, 0.0, 0.0, 0.0)
    check = bench.compare(p, run, reference)
    assert not check["agree"]
    assert check["max_abs_diff_min"] == pytest.approx(0.5)
