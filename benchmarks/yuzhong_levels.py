"""Two governance levels for Yuzhong, for trying ``--units`` on real data: the derived
neighbourhood units of a run as "communities" (coded 500103001 ...) and the boundary's four
quadrants as "streets" (S01-S04; the communities join them by place).

Usage::

    lifecircle run --osm yuzhong.osm.pbf --boundary yuzhong_boundary.geojson ... --out /tmp/base
    python -m benchmarks.yuzhong_levels /tmp/base yuzhong_boundary.geojson /tmp/levels
    lifecircle run ... --units "/tmp/levels/streets.gpkg:level=street,label=街道,name=街道名,code=code" \\
        --units "/tmp/levels/communities.gpkg:level=community,label=社区,name=name,code=code"
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import shapely

__all__ = ["write_levels"]


def write_levels(base: Path, boundary: Path, out: Path) -> tuple[Path, Path]:
    """Write ``streets.gpkg`` and ``communities.gpkg`` into ``out`` from the run in ``base``."""
    out.mkdir(parents=True, exist_ok=True)
    units = gpd.read_file(base / "results.gpkg", layer="communities")[["name", "geometry"]]
    units["code"] = [f"500103{i:03d}" for i in range(1, len(units) + 1)]
    area = shapely.union_all(gpd.read_file(boundary).to_crs(units.crs).geometry.to_numpy())
    w, s, e, n = area.bounds
    mx, my = (w + e) / 2, (s + n) / 2
    boxes = [shapely.box(w, my, mx, n), shapely.box(mx, my, e, n), shapely.box(w, s, mx, my), shapely.box(mx, s, e, my)]
    streets = gpd.GeoDataFrame({"街道名": ["西北街道", "东北街道", "西南街道", "东南街道"],
                                "code": ["S01", "S02", "S03", "S04"]},
                               geometry=[b.intersection(area) for b in boxes], crs=units.crs)
    streets = streets[~streets.is_empty]
    units.to_file(out / "communities.gpkg")
    streets.to_file(out / "streets.gpkg")
    return out / "streets.gpkg", out / "communities.gpkg"


if __name__ == "__main__":
    print(*write_levels(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
