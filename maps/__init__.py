"""Drawing: the interactive, self-contained (offline) HTML map of a run.

Public API::

    from lifecircle.maps import build_map, save_map
    m = build_map(cells=..., communities=..., facilities=..., isochrones=..., edges=...,
                  summary=..., categories=[...], threshold_minutes=15, lang="zh", basemap="none")
    save_map(m, "out/map.html")
"""

from __future__ import annotations

from lifecircle.maps.assets import check_offline, external_resources, leaflet_assets
from lifecircle.maps.basemaps import BASEMAPS, resolve_basemap
from lifecircle.maps.build import OSM_ATTRIBUTION, build_map, save_map
from lifecircle.maps.style import LANGS, MINUTE_BANDS, category_label

__all__ = [
    "build_map",
    "save_map",
    "BASEMAPS",
    "LANGS",
    "MINUTE_BANDS",
    "OSM_ATTRIBUTION",
    "category_label",
    "check_offline",
    "external_resources",
    "leaflet_assets",
    "resolve_basemap",
]
