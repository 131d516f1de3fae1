"""Open land from OSM tags: the plots a small site could use."""

from __future__ import annotations

import geopandas as gpd
import shapely

from lifecircle.layers.open_land import open_land_plots


def test_open_land_is_vacant_or_leftover_land_not_in_use() -> None:
    box = shapely.box(0, 0, 10, 10)
    rows = [
        ({"landuse": "brownfield"}, box, True),
        ({"landuse": "greenfield", "name": "地块"}, box, True),
        ({"landuse": "grass"}, box, True),
        ({"landuse": "vacant"}, box, True),
        ({"landuse": "grass", "leisure": "park"}, box, False),  # a park already
        ({"landuse": "grass", "leisure": "pitch"}, box, False),
        ({"landuse": "brownfield", "access": "private"}, box, False),
        ({"landuse": "brownfield", "building": "yes"}, box, False),
        ({"landuse": "residential"}, box, False),
        ({"landuse": "brownfield"}, shapely.Point(0, 0), False),  # no outline
        ({"landuse": "grass"}, shapely.LineString([(0, 0), (1, 1)]), False),
    ]
    features = gpd.GeoDataFrame({"osm_type": ["way"] * len(rows), "osm_id": range(len(rows)),
                                 "name": [t.get("name") for t, _, _ in rows], "tags": [t for t, _, _ in rows]},
                                geometry=[g for _, g, _ in rows], crs=32648)
    plots = open_land_plots(features)
    assert plots["osm_id"].tolist() == [i for i, (_, _, keep) in enumerate(rows) if keep]
    assert plots["landuse"].tolist() == ["brownfield", "greenfield", "grass", "vacant"]
    assert plots["source"].iloc[0] == "OSM landuse=brownfield"
    assert plots["name"].iloc[1] == "地块"
    assert plots.crs == features.crs
    assert len(open_land_plots(features.iloc[:0])) == 0
