"""Selections from OSM features by their tags: water, named places, buildings.

The tag parsing for the computations lives here, in the data layer; the computations in
:mod:`lifecircle.spatial` receive the selected features.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

__all__ = ["PLACE_KEYS", "select_water", "select_places", "select_buildings"]

#: ``place=*`` values that can name a neighbourhood unit
#: (ranked in :data:`lifecircle.spatial.units.PLACE_RANKS`).
PLACE_KEYS: tuple[str, ...] = ("neighbourhood", "quarter", "suburb", "village", "hamlet", "locality")

#: Water tags (as in :func:`select_water`): natural=water, waterway=river/riverbank/canal.
_WATERWAYS = frozenset({"river", "riverbank", "canal"})


def _tags_column(gdf: gpd.GeoDataFrame, key: str) -> pd.Series:
    """The values of ``key`` from a ``key`` column or from the ``tags`` dicts of OSM features."""
    if key in gdf.columns:
        return gdf[key]
    if "tags" in gdf.columns:
        return gdf["tags"].map(lambda t: t.get(key) if isinstance(t, dict) else None)
    return pd.Series([None] * len(gdf), index=gdf.index, dtype=object)


def select_water(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Select the rivers and water bodies from OSM features.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features with a ``tags`` column of dicts (as
        :attr:`lifecircle.layers.osm.OsmExtract.features`) or ``natural`` / ``waterway``
        columns.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows tagged ``natural=water`` or ``waterway=river|riverbank|canal`` (lines
        and polygons), same CRS and columns.
    """
    natural = _tags_column(features, "natural")
    waterway = _tags_column(features, "waterway")
    keep = (natural == "water") | waterway.isin(_WATERWAYS)
    return features.loc[keep.to_numpy(dtype=bool)].copy()


def select_places(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Select named places that can name a unit from OSM features.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features with ``name`` and a ``tags`` column of dicts or a ``place`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name``, ``place``, ``geometry`` for the named features whose ``place``
        is one of :data:`PLACE_KEYS`, same CRS.
    """
    place = _tags_column(features, "place")
    name = features["name"] if "name" in features.columns else pd.Series(None, index=features.index)
    named = name.notna() & (name.astype(str).str.strip() != "")
    keep = (place.isin(PLACE_KEYS) & named).to_numpy(dtype=bool)
    out = gpd.GeoDataFrame(
        {"name": name[keep].astype(str).str.strip().to_numpy(), "place": place[keep].to_numpy()},
        geometry=features.geometry[keep].to_numpy(),
        crs=features.crs,
    )
    return out


def select_buildings(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Select the features tagged ``building=*``.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features with a ``tags`` column of dicts.

    Returns
    -------
    geopandas.GeoDataFrame
        The building rows, same CRS and columns.
    """
    is_building = features["tags"].map(lambda t: "building" in t).to_numpy()
    return features[is_building]
