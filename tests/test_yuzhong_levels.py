"""Yuzhong end to end: levels, lifts and the DEM check on the real data (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from lifecircle.pipeline import RunOptions, run
from lifecircle.spatial.network import UNDERGROUND, edge_level


@pytest.mark.slow
def test_yuzhong_cells_stay_on_the_ground_and_lifts_are_used(yuzhong_pbf, yuzhong_boundary, yuzhong_dem) -> None:
    result = run(RunOptions(osm=yuzhong_pbf, boundary=yuzhong_boundary, dem=yuzhong_dem,
                            categories=("clinic", "school"), facility_isochrones=False,
                            measure_choices=True), progress=False)
    levels = result.record["levels"]
    cells = result.cells
    assert levels["cells_joined"]["tunnel_or_covered"] == 0
    edges = result.network.edges
    under_ways = edges["osm_way_id"].to_numpy()[edge_level(edges) == UNDERGROUND]
    assert not np.isin(cells["snap_way"].to_numpy(), under_ways).any()
    # Bridges only as counted fallbacks.
    assert (cells["snap_level"] == "bridge_fallback").sum() == levels["cells_joined"]["bridge_fallback"]
    assert set(cells["snap_level"]) <= {"ground", "bridge_fallback", ""}
    assert levels["lifts_linked"] >= 10
    # The hospital over 向阳隧道 is entered from ground-level streets only.
    fac = result.facilities
    # The building is one part of a hospital campus: find the site it was merged into.
    qa = result.model.facility_qa
    part = qa[(qa["osm_type"] == "way") & (qa["osm_id"] == 704009343)]
    site_id = part["site_id"].iloc[0] if len(part) else "clinic/way/704009343"
    row = int(np.flatnonzero(fac["site_id"].to_numpy() == site_id)[0])
    acc = result.model.access["clinic"]
    entry = acc[acc["facility"] == row]
    assert len(entry) and (entry["level"] == "ground").all()
    assert 51325666 not in set(edges["osm_way_id"].to_numpy()[entry["edge"].to_numpy()])
    # SRTM fails the plausibility check; after the cap, primary roads are within their bound.
    quality = result.record["costs"]["dem_quality"]
    assert not quality["plausible"] and quality["primary_steep_share"] <= 0.10
    assert result.summary.terrain_indicative == ["elderly", "wheelchair"]
    assert result.record["ways"]["road_tunnels_without_foot_or_sidewalk"]["km"] > 20
    # Walking road tunnels only adds edges no home or facility joins: nobody is slower.
    # Closing gates only removes connections: nobody is quicker.
    effects = result.record["ways"]["effects"]
    for cat in ("clinic", "school"):
        assert effects["road_tunnels=walk"][cat] >= effects["run"][cat] >= effects["gates=closed"][cat]
    assert set(effects) == {"run", "denominator", "road_tunnels=walk", "foot_no=ignore", "gates=closed"}
