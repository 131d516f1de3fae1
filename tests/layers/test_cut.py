"""The part of an OSM extract around one area (what a district of a batch gets)."""

from __future__ import annotations

import numpy as np

from lifecircle.layers.cut import extract_within
from lifecircle.layers.osm import read_osm
from lifecircle.testing import small_network_file


def test_cut_keeps_what_meets_the_box_and_leaves_the_input_alone() -> None:
    whole = read_osm(small_network_file(), progress=False)
    before = whole.node_lon.copy()
    west, south = float(whole.node_lon.min()), float(whole.node_lat.min())
    east, north = float(whole.node_lon.max()), float(whole.node_lat.max())
    middle = (west + east) / 2
    # A thin box in the middle: no vertex of either way lies in it (the ways' vertices are at
    # x 0, 300, 600, 900 m and x 0, 900 m), yet both ways cross it and are kept whole.
    box = (middle - 1e-5, south - 0.01, middle + 1e-5, north + 0.01)
    assert not ((whole.node_lon >= box[0]) & (whole.node_lon <= box[2])).any()
    cut = extract_within(whole, box)
    assert sorted(cut.way_ids.tolist()) == sorted(whole.way_ids.tolist())
    np.testing.assert_array_equal(cut.node_ids, whole.node_ids)
    assert len(cut.features) == 0  # the clinic and the school lie at the ends
    # East of everything: nothing is kept, and the arrays stay consistent.
    empty = extract_within(whole, (east + 0.01, south, east + 0.02, north))
    assert len(empty.way_ids) == 0 and list(empty.way_offsets) == [0] and len(empty.node_ids) == 0
    # The east end: the long way and the school; the footway N0-N5 reaches it too (N5 at x 900).
    eastern = extract_within(whole, (east - 1e-4, south - 0.01, east + 0.01, north + 0.01))
    assert sorted(eastern.features["name"]) == ["East school"]
    assert eastern.way_offsets[-1] == len(eastern.node_ids) == len(eastern.node_lon)
    np.testing.assert_array_equal(whole.node_lon, before)
