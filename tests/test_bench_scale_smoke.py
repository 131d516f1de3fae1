"""Smoke test of benchmarks/bench_scale.py: the measuring parts on tiny inputs.

No timing is asserted: the benchmark prints the figures. The child-process accounting is
checked against a child that holds a known amount of memory; the peer search against a
plain Dijkstra on the untiled Yuzhong extract (skipped without the shared data).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import bench_scale as bench

DATA = bench.shared_data_dir()


def test_child_peak_memory_and_cpu_come_from_the_kernel(tmp_path: Path) -> None:
    # The child holds 200 MB of written bytes: its peak resident memory is at least that.
    code, wall, peak_mb, cpu_s = bench.run_child(
        [sys.executable, "-c", "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"],
        timeout_s=600, log_path=tmp_path / "child.log")
    assert code == 0
    assert peak_mb >= 200  # (at most the parent's size more: Linux keeps a forked child's peak across exec)
    assert wall > 0 and cpu_s >= 0


def test_child_exit_code_is_reported(tmp_path: Path) -> None:
    code, *_ = bench.run_child([sys.executable, "-c", "raise SystemExit(3)"], timeout_s=60,
                               log_path=tmp_path / "child.log")
    assert code == 3


def test_tile_counts_must_be_squares() -> None:
    assert bench._side(64) == 8
    with pytest.raises(SystemExit, match="square"):
        bench._side(32)


def test_table_and_growth() -> None:
    small = bench.SizeResult(tiles=1, nodes=5_000, edges=6_000, cells=11_000, wall_s=10.0, cpu_s=9.0,
                             peak_rss_mb=400.0, files_mb={"map.html": 5.8, "results.gpkg": 5.5},
                             steps_s={"read_osm": 1.0, "write_map": 3.0, "isochrones": 2.0})
    big = bench.SizeResult(tiles=4, nodes=20_000, edges=24_000, cells=44_000, wall_s=40.0, cpu_s=36.0,
                           peak_rss_mb=800.0, steps_s={"write_map": 12.0},
                           peer={"peer": "pandana", "lifecircle": {"total_s": 0.5}, "pandana": {"total_s": 20.0},
                                 "ratio": 40.0})
    failed = bench.SizeResult(tiles=16, wall_s=5.0, cpu_s=4.0, peak_rss_mb=100.0, error="exit 2: boom")
    table = bench.format_table([small, big, failed])
    lines = table.splitlines()
    assert len(lines) == 5
    assert "| 1 | 5.0k | 11k | 10.0 s | 9.0 s | 0.39 GB | 5.8 MB | 5.5 MB | write_map 3.0, isochrones 2.0" in lines[2]
    assert "pandana 20.0 s (×40)" in lines[3]
    assert "exit 2: boom" in lines[4]
    # Four times the nodes + cells in four times the wall: linear.
    assert bench.growth_exponents([small, big, failed]) == [1.0]


@pytest.mark.skipif(not (DATA / "yuzhong" / "yuzhong.osm.pbf").exists(), reason="shared Yuzhong data not found")
def test_peer_search_agrees_with_lifecircle(tmp_path: Path) -> None:
    osm, _ = bench.tiled_yuzhong(1, tmp_path, data=DATA)
    record = bench.peer_search(osm, "networkx")
    assert record["nodes"] > 1_000 and record["facility_nodes"] > 10
    # The peer answers the bare graph exactly; lifecircle joins facilities to the network by
    # its own rules (ground-level ways first), so only its timing is compared here.
    assert record["networkx"]["agree"]
    assert "agree" in record["lifecircle"] and record["ratio"] > 0
