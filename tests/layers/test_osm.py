"""Reading OSM files: every format gives the same data; the walkable filter; clipped ways."""

from __future__ import annotations

import bz2
import gzip
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecircle.layers.osm import is_walkable, read_osm, walkable_mask


def test_pbf_bz2_and_gz_give_the_same_network(yuzhong_pbf, yuzhong_bz2, tmp_path: Path) -> None:
    gz = tmp_path / "yuzhong.osm.gz"
    gz.write_bytes(gzip.compress(bz2.decompress(Path(yuzhong_bz2).read_bytes())))
    a, b, c = (read_osm(p, progress=False) for p in (yuzhong_pbf, yuzhong_bz2, gz))
    for other in (b, c):
        np.testing.assert_array_equal(a.way_ids, other.way_ids)
        np.testing.assert_array_equal(a.node_ids, other.node_ids)
        np.testing.assert_allclose(a.node_lon, other.node_lon, atol=1e-7)
        assert len(a.features) == len(other.features)
    # The data README: 3,201 highway ways, 345 of them steps; foot=no, motorways etc. excluded.
    assert 2900 < a.counts["walkable_ways"] <= 3201
    assert (a.way_tags["highway"] == "steps").sum() == 345


def test_clipped_ways_keep_their_located_pieces(tmp_path: Path) -> None:
    f = tmp_path / "clipped.osm"
    f.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="60.0" lon="24.0"/><node id="2" lat="60.001" lon="24.0"/>'
        '<node id="4" lat="60.003" lon="24.0"/><node id="5" lat="60.004" lon="24.0"/>'
        # node 3 is missing, as at an extract's edge: the way is kept as two pieces.
        '<way id="9"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/>'
        '<tag k="highway" v="footway"/></way></osm>', encoding="utf-8")
    ext = read_osm(f, progress=False)
    assert ext.way_ids.tolist() == [9, 9]
    assert ext.node_ids.tolist() == [1, 2, 4, 5]
    assert ext.counts["ways_missing_nodes"] == 1


def test_vectorised_walkable_mask_equals_the_rule() -> None:
    highways = ["footway", "steps", "residential", "service", "trunk", "motorway_link", "construction", None]
    rows = [dict(highway=h, foot=f, access=a, service=s) for h, f, a, s in itertools.product(
        highways, [None, "no", "yes", "private", "designated"], [None, "private", "no", "yes"], [None, "private"])]
    mask = walkable_mask(pd.DataFrame(rows))
    assert mask.tolist() == [is_walkable({k: v for k, v in r.items() if v is not None}) for r in rows]
    assert is_walkable({"highway": "trunk", "foot": "yes"}) and not is_walkable({"highway": "trunk"})
    assert not is_walkable({"highway": "footway", "foot": "no"})
    assert not is_walkable({"highway": "service", "access": "private"})
    assert is_walkable({"highway": "service", "access": "private", "foot": "yes"})


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    from lifecircle._errors import OsmFileError

    f = tmp_path / "data.shp"
    f.write_bytes(b"x")
    with pytest.raises(OsmFileError, match="unknown extension"):
        read_osm(f)
