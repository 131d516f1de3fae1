"""Open land from OSM tags: candidate plots for small sites (pocket parks, a clinic's pavilion).

Vacant or leftover land as mappers tag it: ``landuse=brownfield`` (cleared, awaiting new
use), ``landuse=greenfield`` (planned for building, not yet built), ``landuse=grass`` (mown
grass: verges, leftover corners) and ``landuse=vacant`` (idle lots, a rarer tag). A plot
is left out when something already uses it or it is not public: any ``leisure=*`` (it is a
park or a pitch already), ``amenity=*``, ``building=*``, ``access=private|no`` or
``military=*``. Polygons only; a planner still has to check ownership on the ground.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["OPEN_LANDUSE", "open_land_plots"]

#: ``landuse=*`` values taken as open land a small site could use.
OPEN_LANDUSE: tuple[str, ...] = ("brownfield", "greenfield", "grass", "vacant")
#: Keys that mean the land is in use already (any value).
_IN_USE_KEYS: tuple[str, ...] = ("leisure", "amenity", "building", "military", "shop", "tourism")
_NOT_PUBLIC = frozenset({"private", "no"})


def open_land_plots(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Select open-land polygons from OSM features.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features with ``osm_type``, ``osm_id``, ``name`` and a ``tags`` column of dicts
        (as :attr:`lifecircle.layers.osm.OsmExtract.features`).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_type``, ``osm_id``, ``name``, ``landuse``, ``source``
        (``"OSM landuse=brownfield"``), ``geometry``; same CRS, in the features' order.

    Examples
    --------
    >>> import shapely
    >>> f = gpd.GeoDataFrame({"osm_type": ["way", "way"], "osm_id": [1, 2], "name": [None, "Park"],
    ...                       "tags": [{"landuse": "brownfield"}, {"landuse": "grass", "leisure": "park"}]},
    ...                      geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)], crs=3857)
    >>> open_land_plots(f)[["osm_id", "landuse"]].values.tolist()
    [[1, 'brownfield']]
    """
    if len(features) == 0 or "tags" not in features.columns:
        return _empty(features.crs)
    tags = features["tags"].map(lambda t: t if isinstance(t, dict) else {})
    landuse = tags.map(lambda t: t.get("landuse"))
    in_use = tags.map(lambda t: any(k in t for k in _IN_USE_KEYS) or t.get("access") in _NOT_PUBLIC)
    kinds = shapely.get_type_id(features.geometry.to_numpy())
    polygon = np.isin(kinds, (3, 6))  # Polygon, MultiPolygon
    keep = (landuse.isin(OPEN_LANDUSE) & ~in_use).to_numpy(dtype=bool) & polygon
    chosen = features.loc[keep]
    names = chosen["name"] if "name" in chosen.columns else pd.Series(None, index=chosen.index, dtype=object)
    return gpd.GeoDataFrame(
        {"osm_type": chosen["osm_type"].to_numpy() if "osm_type" in chosen else None,
         "osm_id": chosen["osm_id"].to_numpy() if "osm_id" in chosen else None,
         "name": names.astype(object).where(names.notna(), None).to_numpy(),
         "landuse": landuse[keep].to_numpy(),
         "source": ("OSM landuse=" + landuse[keep].astype(str)).to_numpy()},
        geometry=chosen.geometry.to_numpy(), crs=features.crs,
    ).reset_index(drop=True)


def _empty(crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in ("osm_type", "osm_id", "name", "landuse", "source")},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)
