"""Selections from OSM features by their tags: water, named places, buildings.

The tag parsing for the computations lives here, in the data layer; the computations in
:mod:`lifecircle.spatial` receive the selected features, and for buildings clean columns
(``residential``, ``levels``) instead of tags.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = [
    "PLACE_KEYS",
    "RESIDENTIAL_BUILDINGS",
    "NON_RESIDENTIAL_BUILDINGS",
    "select_water",
    "select_places",
    "select_buildings",
    "building_levels",
    "is_residential",
]

#: ``place=*`` values that can name a neighbourhood unit
#: (ranked in :data:`lifecircle.spatial.units.PLACE_RANKS`).
PLACE_KEYS: tuple[str, ...] = ("neighbourhood", "quarter", "suburb", "village", "hamlet", "locality")

#: ``building=*`` values that are homes.
RESIDENTIAL_BUILDINGS: frozenset[str] = frozenset({
    "residential", "apartments", "house", "detached", "semidetached_house", "terrace",
    "dormitory", "bungalow", "cabin", "farm", "houseboat", "static_caravan", "hut",
    "stilt_house", "tree_house",
})
#: ``building=*`` values never counted as homes; ``building=yes`` (untyped, the most
#: common value) counts as residential unless the building also carries one of
#: :data:`_NON_RESIDENTIAL_KEYS` (``amenity``, ``shop``, ``office`` ...).
NON_RESIDENTIAL_BUILDINGS: frozenset[str] = frozenset({
    "commercial", "retail", "office", "industrial", "warehouse", "hospital", "school",
    "university", "college", "kindergarten", "church", "cathedral", "chapel", "mosque",
    "temple", "shrine", "synagogue", "religious", "public", "civic", "government",
    "train_station", "transportation", "stadium", "sports_hall", "sports_centre", "museum",
    "hotel", "garage", "garages", "parking", "carport", "roof", "construction", "service",
    "shed", "hangar", "barn", "greenhouse", "toilets", "kiosk", "bridge", "tower",
    "water_tower", "bunker", "ruins", "historic", "supermarket", "fire_station",
    "grandstand", "pavilion", "gatehouse", "transformer_tower", "digester", "silo", "no",
})
_NON_RESIDENTIAL_KEYS: tuple[str, ...] = (
    "amenity", "shop", "office", "tourism", "healthcare", "leisure", "craft", "man_made",
    "railway", "public_transport", "power",
)

#: Water tags (as in :func:`select_water`): natural=water, waterway=river/riverbank/canal.
_WATERWAYS = frozenset({"river", "riverbank", "canal"})


def _tags_column(gdf: gpd.GeoDataFrame, key: str) -> pd.Series:
    """The values of ``key`` from a ``key`` column or from the ``tags`` dicts of OSM features."""
    if key in gdf.columns:
        return gdf[key]
    if "tags" in gdf.columns:
        # A list built in one pass, typed as Series.map types it: a city has 100,000s of features.
        return pd.Series([t.get(key) if isinstance(t, dict) else None for t in gdf["tags"].to_numpy()], index=gdf.index)
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
    """Select the features tagged ``building=*``, with their tags read into clean columns.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features with a ``tags`` column of dicts (as
        :attr:`lifecircle.layers.osm.OsmExtract.features`), any CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The building rows, same CRS and columns, plus ``residential`` (bool, see
        :func:`is_residential`) and ``levels`` (float storeys, NaN where untagged or
        unreadable, see :func:`building_levels`); the input is not modified.

    Examples
    --------
    >>> import shapely
    >>> features = gpd.GeoDataFrame(
    ...     {"tags": [{"building": "apartments", "building:levels": "6;7"}, {"building": "yes", "shop": "bakery"},
    ...               {"highway": "footway"}]},
    ...     geometry=[shapely.box(0, 0, 10, 10)] * 3, crs="EPSG:32648")
    >>> select_buildings(features)[["residential", "levels"]].to_dict("list")
    {'residential': [True, False], 'levels': [6.0, nan]}
    """
    is_building = features["tags"].map(lambda t: "building" in t).to_numpy()
    out = features[is_building]
    return out.assign(residential=is_residential(out["tags"]), levels=building_levels(out["tags"]))


def building_levels(tags: pd.Series) -> np.ndarray:
    """``building:levels`` of OSM tag dicts as storeys.

    The first number of the value counts (``"6;7"`` and ``"6-8"`` are 6); a count below 1
    (underground only), above 200 or not a number is unknown.

    Parameters
    ----------
    tags : pandas.Series
        OSM tag dicts (non-dicts count as untagged).

    Returns
    -------
    numpy.ndarray
        float64 storeys per row, NaN where unknown.

    Examples
    --------
    >>> building_levels(pd.Series([{"building:levels": "6-8"}, {"building:levels": "0"}, {}, None])).tolist()
    [6.0, nan, nan, nan]
    """
    raw = tags.map(lambda t: t.get("building:levels") if isinstance(t, dict) else None)
    text = raw.astype("string").str.extract(r"(\d+(?:\.\d+)?)", expand=False)
    levels = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(levels) & (levels >= 1) & (levels <= 200), levels, np.nan)


def _is_home(tags: object) -> bool:
    if not isinstance(tags, dict):
        return False
    value = tags.get("building")
    if value is None:
        return False
    value = str(value).strip().lower()
    if value in RESIDENTIAL_BUILDINGS:
        return True
    if value in NON_RESIDENTIAL_BUILDINGS:
        return False
    return not any(k in tags for k in _NON_RESIDENTIAL_KEYS)


def is_residential(tags: pd.Series) -> np.ndarray:
    """Whether OSM tag dicts describe a home.

    ``building`` in :data:`RESIDENTIAL_BUILDINGS` counts; ``building=yes`` (and other
    values not in :data:`NON_RESIDENTIAL_BUILDINGS`) counts unless the feature also carries
    a facility key such as ``amenity`` or ``shop``. Whether the geometry is a footprint is
    for the computation to check.

    Parameters
    ----------
    tags : pandas.Series
        OSM tag dicts (non-dicts and dicts without ``building`` are no homes).

    Returns
    -------
    numpy.ndarray
        bool per row.

    Examples
    --------
    >>> is_residential(pd.Series([{"building": "House"}, {"building": "yes", "amenity": "school"},
    ...                           {"building": "yes"}, {"building": "retail"}])).tolist()
    [True, False, True, False]
    """
    return tags.map(_is_home).to_numpy(dtype=bool)
