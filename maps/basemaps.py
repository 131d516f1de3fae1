"""Basemaps the map can show under its layers.

``none`` (the default) needs no network: the walking network is drawn as a light base
layer over a plain background. ``osm``, ``tianditu`` and ``gaode`` load tiles from their
servers when the page is opened online; those tile URLs are the only outside addresses
a map may contain, and only when chosen. Gaode tiles are in GCJ-02, so for that basemap
the overlays are shifted WGS84 -> GCJ-02 for display (the saved data stay WGS84).
Tianditu's CGCS2000 differs from WGS84 by centimetres and needs no shift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lifecircle._errors import OptionError

__all__ = ["TileSource", "Basemap", "BASEMAPS", "resolve_basemap"]


@dataclass(frozen=True)
class TileSource:
    """One tile layer: URL template, subdomains and attribution (HTML, trusted constants)."""

    url: str
    attribution: str
    subdomains: str = ""
    max_zoom: int = 19


@dataclass(frozen=True)
class Basemap:
    """A basemap choice: its tile layers (none for the offline base) and display shift."""

    name: str
    tiles: tuple[TileSource, ...]
    shift: str  # "wgs84" (no shift) or "gcj02": the system overlays are drawn in
    needs_key: bool = False


_OSM = TileSource(
    url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    attribution="tiles &copy; openstreetmap.org",
)
_GAODE = TileSource(
    url="https://webrd0{s}.is.autonavi.com/appmaptile?lang={lang}&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
    attribution="&copy; 高德地图 AutoNavi (GCJ-02)",
    subdomains="1234",
    max_zoom=18,
)
_TIANDITU_VEC = TileSource(
    url=(
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
    ),
    attribution="&copy; 天地图 Tianditu (国家地理信息公共服务平台)",
    subdomains="01234567",
    max_zoom=18,
)


def _tianditu_labels(lang: str) -> TileSource:
    layer = "cva" if lang == "zh" else "eva"
    return TileSource(
        url=_TIANDITU_VEC.url.replace("vec_w", f"{layer}_w").replace("LAYER=vec", f"LAYER={layer}"),
        attribution="",
        subdomains=_TIANDITU_VEC.subdomains,
        max_zoom=18,
    )


#: Names accepted by ``basemap=``.
BASEMAPS: tuple[str, ...] = ("none", "osm", "tianditu", "gaode")

_KEY_RE = re.compile(r"^[A-Za-z0-9]{8,64}$")


def resolve_basemap(name: str, *, lang: str = "zh", tianditu_key: str | None = None) -> Basemap:
    """The tile layers of basemap ``name``, with the Tianditu key filled in.

    Parameters
    ----------
    name : {"none", "osm", "tianditu", "gaode"}
        The basemap's name (``--basemap``).
    lang : {"zh", "en"}
        Language of the labels layer where the source offers a choice.
    tianditu_key : str, optional
        The user's Tianditu key (required for ``tianditu``; letters and digits only).

    Returns
    -------
    Basemap
        The tile sources and the coordinate system they are drawn in (``wgs84`` or
        ``gcj02``; the map shifts what it draws to match).

    Raises
    ------
    OptionError
        Unknown basemap, or ``tianditu`` without a valid key.

    Examples
    --------
    >>> basemap = resolve_basemap("gaode", lang="en")
    >>> basemap.name, basemap.shift, "lang=en" in basemap.tiles[0].url
    ('gaode', 'gcj02', True)
    """
    if name not in BASEMAPS:
        raise OptionError(f"basemap must be one of {', '.join(BASEMAPS)}; found {name!r}.")
    if name == "none":
        return Basemap("none", (), "wgs84")
    if name == "osm":
        return Basemap("osm", (_OSM,), "wgs84")
    if name == "gaode":
        tile = TileSource(
            url=_GAODE.url.replace("{lang}", "zh_cn" if lang == "zh" else "en"),
            attribution=_GAODE.attribution,
            subdomains=_GAODE.subdomains,
            max_zoom=_GAODE.max_zoom,
        )
        return Basemap("gaode", (tile,), "gcj02")
    if not tianditu_key:
        raise OptionError(
            "basemap 'tianditu' needs the user's Tianditu key (tianditu_key / --tianditu-key); "
            "get one at console.tianditu.gov.cn. Found none."
        )
    if not _KEY_RE.match(str(tianditu_key)):
        raise OptionError(f"tianditu_key must be 8-64 letters and digits; found {len(str(tianditu_key))} characters including others.")
    tiles = tuple(
        TileSource(url=t.url.replace("{key}", str(tianditu_key)), attribution=t.attribution, subdomains=t.subdomains, max_zoom=t.max_zoom)
        for t in (_TIANDITU_VEC, _tianditu_labels(lang))
    )
    return Basemap("tianditu", tiles, "wgs84", needs_key=True)
