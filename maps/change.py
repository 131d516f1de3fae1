"""The change map of a plan (or of two runs compared): one self-contained, offline HTML page.

:func:`build_change_map` draws what :mod:`lifecircle.scenario` computed: per category (one
selector), the cells newly within the threshold (gained), no longer within (lost) and
reached faster without changing status; the new links, closed ways, added and removed
facilities and new housing; and the area's totals. It computes nothing.

Safety as in :mod:`lifecircle.maps.build`: Leaflet is inlined from the installed package
(:func:`lifecircle.maps.assets.leaflet_assets`), the data go once into a
``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped (no text from
data can close the element), no template engine sees any text, and the page's script puts
every text from data into the page through ``esc()`` (popups) or ``textContent``.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle._errors import OptionError
from lifecircle.i18n import CHANGE_TEXT
from lifecircle.maps.assets import leaflet_assets, write_page
from lifecircle.maps.build import _display_geometries, _feature_collection, _num
from lifecircle.schema import CHANGE_TOTAL_ROW, GAINED, LOST, change_columns

__all__ = ["build_change_map", "save_change_map", "CHANGE_COLOURS", "CONTEXT_CELLS_MAX"]

#: Colours of the change map: gained, lost, faster, links, closed ways, added and removed
#: facilities, housing.
CHANGE_COLOURS: dict[str, str] = {"gained": "#1a9641", "lost": "#d7191c", "faster": "#a6d96a", "link": "#2b83ba",
                                  "closed": "#7b3294", "added": "#1a9641", "removed": "#d7191c", "housing": "#fdae61",
                                  "cell": "#bbbbbb"}

_FASTER_MIN = 0.5  # a cell counts as faster from half a minute saved
#: Up to this many cells, every cell is drawn as a faint backdrop (beyond it only changed cells: the
#: page stays a few megabytes for a whole city).
CONTEXT_CELLS_MAX = 50_000

_SCRIPT = r"""
(function () {
  var D = JSON.parse(document.getElementById("change-data").textContent);
  var W = D.words, C = D.colours;
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function fmt(x, d) { return x === null || x === undefined ? "-" : Number(x).toFixed(d); }
  var map = L.map("map", {zoomControl: true});
  var base = L.geoJSON(D.cells, {style: function () { return {color: C.cell, weight: 0.3, fillOpacity: 0.05}; },
                                 interactive: false}).addTo(map);
  var changed = L.geoJSON(null, {
    style: function (f) {
      var s = f.properties.s[D.cat];
      var col = s === 1 ? C.gained : s === -1 ? C.lost : s === 2 ? C.faster : null;
      return col ? {color: col, weight: 0.5, fillColor: col, fillOpacity: 0.65} : {opacity: 0, fillOpacity: 0};
    },
    onEachFeature: function (f, layer) {
      layer.bindPopup(function () {
        var i = D.categories.indexOf(D.cat), p = f.properties;
        return "<b>" + esc(D.labels[i]) + "</b><br>" + esc(W.before) + ": " + fmt(p.b[i], 1) + " " + esc(W.minutes) +
          "<br>" + esc(W.after) + ": " + fmt(p.a[i], 1) + " " + esc(W.minutes) + "<br>" + esc(W.people) + ": " +
          fmt(p.p, 0) + "<br>" + esc(p.c);
      });
    }
  }).addTo(map);
  function showCells() {
    changed.clearLayers();
    var i = D.categories.indexOf(D.cat);
    changed.addData({type: "FeatureCollection", features: D.changed.features.map(function (f) {
      var s = {}; s[D.cat] = f.properties.st[i];
      return {type: "Feature", geometry: f.geometry, properties: {s: s, b: f.properties.b, a: f.properties.a,
              p: f.properties.p, c: f.properties.c}};
    }).filter(function (f) { return f.properties.s[D.cat] !== 0; })});
    var t = D.totals[D.cat] || {};
    var box = document.getElementById("change-summary");
    box.textContent = "";
    var rows = [[W.threshold, fmt(D.threshold, 0) + " " + W.minutes], [W.before, fmt(100 * t.share_before, 1) + " %"],
                [W.after, fmt(100 * t.share_after, 1) + " %"], [W.gained, fmt(t.people_newly_within, 0)],
                [W.lost, fmt(t.people_no_longer_within, 0)]];
    rows.forEach(function (r) {
      var line = document.createElement("div");
      line.textContent = r[0] + ": " + r[1];
      box.appendChild(line);
    });
  }
  var pop = function (kind) {
    return function (f, layer) {
      layer.bindPopup(function () {
        var p = f.properties;
        return "<b>" + esc(W[kind] || kind) + "</b>" + (p.k ? "<br>" + esc(p.k) : "") + (p.n ? "<br>" + esc(p.n) : "") +
          (p.t ? "<br>" + esc(p.t) : "");
      });
    };
  };
  L.geoJSON(D.housing, {style: {color: C.housing, weight: 2, fillOpacity: 0.3}, onEachFeature: pop("housing")}).addTo(map);
  L.geoJSON(D.closed, {style: {color: C.closed, weight: 4, dashArray: "6 4"}, onEachFeature: pop("closed")}).addTo(map);
  L.geoJSON(D.links, {style: {color: C.link, weight: 5}, onEachFeature: pop("link")}).addTo(map);
  L.geoJSON(D.facilities, {
    pointToLayer: function (f, ll) {
      var col = f.properties.m === "removed" ? C.removed : C.added;
      return L.circleMarker(ll, {radius: 8, color: "#000", weight: 1, fillColor: col, fillOpacity: 0.9});
    },
    style: function (f) { return {color: f.properties.m === "removed" ? C.removed : C.added, weight: 2}; },
    onEachFeature: function (f, layer) {
      layer.bindPopup(function () {
        var p = f.properties;
        return "<b>" + esc(W[p.m] || p.m) + "</b><br>" + esc(p.k) + (p.n ? "<br>" + esc(p.n) : "");
      });
    }
  }).addTo(map);
  var select = document.getElementById("change-category");
  D.categories.forEach(function (c, i) {
    var o = document.createElement("option");
    o.value = c; o.textContent = D.labels[i]; select.appendChild(o);
  });
  select.value = D.cat;
  select.addEventListener("change", function () { D.cat = select.value; showCells(); });
  showCells();
  var legend = document.getElementById("change-legend");
  [["gained", C.gained], ["lost", C.lost], ["faster", C.faster], ["link", C.link], ["closed", C.closed],
   ["added", C.added], ["removed", C.removed], ["housing", C.housing]].forEach(function (r) {
    var line = document.createElement("div"), sw = document.createElement("span");
    sw.className = "sw"; sw.style.background = r[1];
    line.appendChild(sw); line.appendChild(document.createTextNode(W[r[0]]));
    legend.appendChild(line);
  });
  var b = base.getBounds();
  if (b.isValid()) { map.fitBounds(b); } else { map.setView([0, 0], 2); }
})();
"""

_STYLE = """
html, body, #map { height: 100%; margin: 0; }
#change-panel { position: absolute; top: 10px; right: 10px; z-index: 1000; background: #fff; padding: 8px 10px;
  font: 13px/1.4 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,.4); max-width: 280px; }
#change-panel h1 { font-size: 15px; margin: 0 0 6px; }
#change-legend .sw { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: middle; }
"""


def _escape(json_text: str) -> str:
    """JSON text that cannot end the script element or start markup inside it."""
    return json_text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _inert_json(value: Any) -> str:
    return _escape(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def _collection(frame: gpd.GeoDataFrame | None, props: list[dict[str, Any]]) -> str:
    if frame is None or len(frame) == 0:
        return '{"type":"FeatureCollection","features":[]}'
    geoms = _display_geometries(frame, simplify_m=0.0, shift="none")
    return _feature_collection(geoms, props)


def build_change_map(  # noqa: PLR0913 - one keyword argument per drawn layer
    cells: gpd.GeoDataFrame,
    *,
    categories: Sequence[str],
    threshold_minutes: float,
    facilities: gpd.GeoDataFrame | None = None,
    links: gpd.GeoDataFrame | None = None,
    closed: gpd.GeoDataFrame | None = None,
    housing: gpd.GeoDataFrame | None = None,
    communities: pd.DataFrame | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    lang: str = "zh",
) -> str:
    """The change map as HTML text.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        The cell change table with cell polygons (any CRS):
        :func:`lifecircle.spatial.scenarios.cell_changes`'s columns.
    categories : sequence of str
        The categories offered in the selector, in this order (the first shown).
    threshold_minutes : float
        The walking-time threshold, minutes (shown in the panel).
    facilities : geopandas.GeoDataFrame, optional
        ``category``, ``name``, ``plan`` (``added``/``removed``).
    links, closed, housing : geopandas.GeoDataFrame, optional
        New links (``kind``, ``name``), closed edges, new housing (``population``).
    communities : pandas.DataFrame, optional
        The community change table; its whole-area rows feed the summary panel.
    labels : mapping, optional
        ``{category: {lang: label}}``; ``None`` shows category keys.
    lang : {"zh", "en"}
        The page's language.

    Returns
    -------
    str
        A complete HTML page (UTF-8 text) with Leaflet inlined: it loads nothing from outside.

    Raises
    ------
    OptionError
        ``lang`` is not a language of the change text, or ``cells`` have no CRS.

    Examples
    --------
    >>> import shapely
    >>> cells = gpd.GeoDataFrame({"community": ["A", "B"], "population_after": [120.0, 80.0],
    ...                           "minutes_before_clinic": [np.nan, 9.0], "minutes_after_clinic": [12.0, 9.0],
    ...                           "change_clinic": ["gained", ""]},
    ...                          geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=32648)
    >>> page = build_change_map(cells, categories=["clinic"], threshold_minutes=15, lang="en")
    >>> page.startswith("<!DOCTYPE html>"), "<title>What the plan changes</title>" in page
    (True, True)
    """
    if lang not in CHANGE_TEXT:
        raise OptionError(f"lang must be one of {sorted(CHANGE_TEXT)}; found {lang!r}.")
    if cells.crs is None:
        raise OptionError("cells have no CRS.")
    cats = list(categories)
    words = CHANGE_TEXT[lang]
    names = [str(((labels or {}).get(c) or {}).get(lang, c)) for c in cats]
    collections = _collections(cells, cats, facilities=facilities, links=links, closed=closed, housing=housing,
                               labels=labels, lang=lang)
    data = {"categories": cats, "labels": names, "cat": cats[0] if cats else "", "threshold": float(threshold_minutes),
            "totals": _totals(communities), "words": words, "colours": CHANGE_COLOURS}
    # The GeoJSON texts (shapely's and build's JSON) join the object as they are, escaped the same way.
    text = _inert_json(data)[:-1] + "".join(f',"{key}":{_escape(value)}' for key, value in collections.items()) + "}"
    return _page(html.escape(words["title"]), text)


def _collections(cells: gpd.GeoDataFrame, cats: list[str], *, facilities: gpd.GeoDataFrame | None,
                 links: gpd.GeoDataFrame | None, closed: gpd.GeoDataFrame | None, housing: gpd.GeoDataFrame | None,
                 labels: Mapping[str, Mapping[str, str]] | None, lang: str) -> dict[str, str]:
    """The GeoJSON text of every drawn layer: backdrop cells, changed cells, facilities, links, ways, housing."""
    before, after, code = _change_codes(cells, cats)
    any_change = (code != 0).any(axis=1) if cats else np.zeros(len(cells), dtype=bool)
    changed = cells[any_change]
    people = cells["population_after"].to_numpy(float)[any_change]
    comm = cells["community"].astype(str).to_numpy()[any_change]
    changed_props = [{"st": code[i].tolist(), "b": [_num(x) for x in before[i]], "a": [_num(x) for x in after[i]],
                      "p": _num(p, 0), "c": c}
                     for i, p, c in zip(np.flatnonzero(any_change), people, comm)]
    fac_props, link_props, closed_props, housing_props = _layer_props(facilities, links, closed, housing,
                                                                      labels=labels, lang=lang)
    base = '{"type":"FeatureCollection","features":[]}'
    return {
        # Every cell as a faint backdrop, unless that would make a city-sized page: then the changed ones.
        "cells": (_collection(cells, [{} for _ in range(len(cells))]) if 0 < len(cells) <= CONTEXT_CELLS_MAX
                  else _collection(changed, [{} for _ in range(len(changed))]) if len(changed) else base),
        "changed": _collection(changed, changed_props) if len(changed) else base,
        "facilities": _collection(facilities, fac_props),
        "links": _collection(links, link_props),
        "closed": _collection(closed, closed_props),
        "housing": _collection(housing, housing_props),
    }


def _change_codes(cells: gpd.GeoDataFrame, cats: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minutes before and after per cell and category, and the change code (1 gained, -1 lost, 2 faster)."""
    before = np.column_stack([cells[change_columns(c)["before"]].to_numpy(float) for c in cats]) if cats else \
        np.zeros((len(cells), 0))
    after = np.column_stack([cells[change_columns(c)["after"]].to_numpy(float) for c in cats]) if cats else \
        np.zeros((len(cells), 0))
    status = np.column_stack([cells[change_columns(c)["status"]].to_numpy() for c in cats]) if cats else \
        np.zeros((len(cells), 0), dtype=object)
    code = np.where(status == GAINED, 1, np.where(status == LOST, -1,
                    np.where(np.nan_to_num(before - after, nan=0.0) >= _FASTER_MIN, 2, 0)))
    return before, after, code


def _totals(communities: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """Per category the whole area's shares and people newly / no longer within."""
    totals: dict[str, dict[str, Any]] = {}
    if communities is not None and len(communities):
        rows = communities[communities["community"] == CHANGE_TOTAL_ROW]
        for rec in rows.to_dict("records"):
            totals[str(rec["category"])] = {k: _num(rec.get(k), 4) for k in
                                            ("share_before", "share_after", "people_newly_within",
                                             "people_no_longer_within")}
    return totals


def _layer_props(facilities: gpd.GeoDataFrame | None, links: gpd.GeoDataFrame | None,
                 closed: gpd.GeoDataFrame | None, housing: gpd.GeoDataFrame | None, *,
                 labels: Mapping[str, Mapping[str, str]] | None, lang: str) -> tuple[list[dict[str, Any]], ...]:
    """The popup properties of the facilities, links, closed ways and housing drawn."""
    fac_props = [] if facilities is None else [
        {"k": str(((labels or {}).get(str(r["category"])) or {}).get(lang, r["category"])), "n": _text(r.get("name")),
         "m": str(r.get("plan"))} for r in facilities.drop(columns=facilities.geometry.name).to_dict("records")]
    link_props = [] if links is None else [
        {"k": str(r.get("kind")), "n": _text(r.get("name")),
         "t": None if _num(r.get("seconds_uv")) is None else f"{_num(r.get('seconds_uv'), 0):g} s"}
        for r in links.drop(columns=links.geometry.name).to_dict("records")]
    closed_props = [] if closed is None else [{"n": _text(r.get("osm_way_id"))} for r in
                                              closed.drop(columns=closed.geometry.name).to_dict("records")]
    housing_props = [] if housing is None else [{"n": f"{_num(r.get('population'), 0):g}"} for r in
                                                housing.drop(columns=housing.geometry.name).to_dict("records")]
    return fac_props, link_props, closed_props, housing_props


def _page(title: str, text: str) -> str:
    """The page around the escaped title and the inert JSON data, with Leaflet inlined."""
    assets = leaflet_assets()
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{title}</title><style>{assets.css}</style><style>{_STYLE}</style></head><body>"
        "<div id=\"map\"></div><div id=\"change-panel\">"
        f"<h1>{title}</h1><select id=\"change-category\"></select><div id=\"change-summary\"></div>"
        "<div id=\"change-legend\"></div></div>"
        f"<script type=\"application/json\" id=\"change-data\">{text}</script>"
        f"<script>{assets.js}</script><script>{_SCRIPT}</script></body></html>\n"
    )


def save_change_map(page: str, path: str | os.PathLike[str]) -> None:
    """Write the change map atomically after checking it links nothing from outside.

    Parameters
    ----------
    page : str
        The page, as :func:`build_change_map` returns it.
    path : str or os.PathLike
        The ``.html`` file to write (UTF-8, ``\\n`` line ends, mode 0644); replaced whole or
        not at all.

    Raises
    ------
    MapAssetError
        The page would load something from outside.
    OptionError
        The folder of ``path`` does not exist.
    """
    write_page(page, path)
