"""Reading walkable and refused ways: whole ways (coordinates from libosmium's line WKB) and
clipped ways (read node by node) interleave in file order with the file's exact coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecircle.layers.osm import read_osm

#: A way's tags: walkable, refused with a reason, or no pedestrian route at all.
TAGS = [{"highway": "footway"}, {"highway": "residential", "layer": "1"}, {"highway": "steps", "incline": "up"},
        {"highway": "residential", "foot": "no"}, {"highway": "trunk"}, {"highway": "construction"}]
WALKABLE, REFUSED = (0, 1, 2), (3, 4)

node_ids = st.integers(min_value=1, max_value=12)
ways = st.lists(st.tuples(st.lists(node_ids, min_size=1, max_size=7), st.integers(0, len(TAGS) - 1)),
                min_size=1, max_size=6)
# Coordinates in OSM's fixed precision (1e-7 degrees), as libosmium stores them.
fixed = st.tuples(st.integers(1_060_000_000, 1_070_000_000), st.integers(290_000_000, 300_000_000))


def _write(path: Path, located: dict[int, tuple[int, int]], way_list: list[tuple[list[int], int]]) -> None:
    nodes = "".join(f'<node id="{n}" lon="{x / 1e7:.7f}" lat="{y / 1e7:.7f}"/>' for n, (x, y) in sorted(located.items()))
    body = "".join(
        f'<way id="{100 + i}">' + "".join(f'<nd ref="{r}"/>' for r in refs)
        + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in TAGS[t].items()) + "</way>"
        for i, (refs, t) in enumerate(way_list))
    path.write_text(f'<?xml version="1.0"?><osm version="0.6">{nodes}{body}</osm>', encoding="utf-8")


def _expected_pieces(located: dict[int, tuple[int, int]], way_list: list[tuple[list[int], int]],
                     kinds: tuple[int, ...], *, split: bool) -> tuple[list[int], list[int]]:
    """Way id per piece and node ids in order: runs of located nodes (split at a missing node,
    or all located nodes joined for refused ways), at least two nodes each."""
    piece_ways: list[int] = []
    piece_nodes: list[int] = []
    for i, (refs, t) in enumerate(way_list):
        if t not in kinds:
            continue
        runs: list[list[int]] = [[]]
        for r in refs:
            if r in located:
                runs[-1].append(r)
            elif split:
                runs.append([])
        for run in runs:
            if len(run) >= 2:
                piece_ways.append(100 + i)
                piece_nodes.extend(run)
    return piece_ways, piece_nodes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(located=st.dictionaries(node_ids, fixed, min_size=2, max_size=12), way_list=ways)
def test_pieces_and_coordinates_follow_the_file(tmp_path: Path, located: dict[int, tuple[int, int]],
                                                way_list: list[tuple[list[int], int]]) -> None:
    path = tmp_path / "ways.osm"
    _write(path, located, way_list)
    want_ways, want_nodes = _expected_pieces(located, way_list, WALKABLE, split=True)
    if not want_ways:
        return  # no walkable way: read_osm refuses the file (tested elsewhere)
    ext = read_osm(path, progress=False)
    assert ext.way_ids.tolist() == want_ways
    assert ext.node_ids.tolist() == want_nodes
    assert np.diff(ext.way_offsets).sum() == len(want_nodes) and ext.way_offsets[0] == 0
    # Exactly libosmium's doubles: the fixed-point value over 1e7.
    assert ext.node_lon.tolist() == [located[n][0] / 1e7 for n in want_nodes]
    assert ext.node_lat.tolist() == [located[n][1] / 1e7 for n in want_nodes]
    assert ext.way_tags["highway"].tolist() == [TAGS[way_list[w - 100][1]]["highway"] for w in want_ways]
    refused_ways, refused_nodes = _expected_pieces(located, way_list, REFUSED, split=False)
    if not refused_ways:
        assert ext.refused is None
    else:
        assert ext.refused is not None
        assert ext.refused.way_ids.tolist() == refused_ways
        assert ext.refused.node_ids.tolist() == refused_nodes
        assert ext.refused.node_lon.tolist() == [located[n][0] / 1e7 for n in refused_nodes]
        assert ext.refused.node_lat.tolist() == [located[n][1] / 1e7 for n in refused_nodes]
    clipped = sum(1 for refs, t in way_list if t in WALKABLE and any(r not in located for r in refs))
    assert ext.counts["ways_missing_nodes"] == clipped
