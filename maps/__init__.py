"""Drawing: the interactive, self-contained (offline) HTML map of a run.

Public API::

    from lifecircle.maps import build_map, save_map
    m = build_map(cells=..., communities=..., facilities=..., isochrones=..., edges=...,
                  summary=..., categories=[...], threshold_minutes=15,
                  labels=lifecircle.outputs.category_labels(), lang="zh", basemap="none")
    save_map(m, "out/map.html")

The map draws what it is given: category names and colours come in ``labels`` (the
facility catalogue's), every interface word from :mod:`lifecircle.i18n`.

Modules
-------
build
    :func:`build_map` and :func:`save_map`.
style
    Colours and minute bands.
basemaps
    The offline base and the online tile services.
assets
    Leaflet inlined from the installed ``xstatic-leaflet``; the offline check.
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
