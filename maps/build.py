"""The interactive map of a run: one self-contained, offline HTML file.

:func:`build_map` draws results the pipeline computed (it computes nothing itself):
travel time per category in minute bands with one category selector, under-served
cells, isochrones and facilities per category, communities coloured by coverage with
has/lacks popups, a legend, a summary panel and the attributions. :func:`save_map`
writes the page atomically after checking that it links nothing from outside.

How the page is put together
----------------------------
* Leaflet is the only library; its script and stylesheet are inlined from the installed
  ``XStatic-Leaflet`` (:mod:`lifecircle.maps.assets`). folium's CDN links (jQuery,
  Bootstrap, Font Awesome, awesome-markers) are removed per map instance.
* The data go once into a ``<script type="application/json">`` block. The grid cells are
  images, one per layer (travel time per category, under-served, lost to terrain), placed
  with ``L.imageOverlay``, with per-cell values as base64 typed arrays that the page looks
  up under the pointer for the tooltip and popup (:mod:`lifecircle.maps.cell_layer`,
  :mod:`lifecircle.maps.raster`: the images are warped to Web Mercator, cell edges within
  an eighth of a cell). Communities, facilities, isochrones and streets are one GeoJSON
  FeatureCollection each, with compact properties; one facilities/isochrone layer per
  category is built from them in the browser by filter. Coordinates are rounded to 6
  decimals (0.1 m) after simplification in the input's metric CRS; isochrones are
  simplified to the map's resolution (half a pixel of the cell images: 12.5 m at 100 m
  cells, at least 3 m).
* No text from data passes through a template engine. folium/branca (Jinja) render only
  a frame holding three fixed markers; the title, Leaflet, the page's own stylesheet and
  script (package files in ``maps/static``) and the data block are put in at those markers
  afterwards by plain string operations (:class:`_Page`). Jinja would otherwise compile
  ``{{ }}``, ``{% %}`` and ``{#`` in a name: branca compiles a macro's output again.
* Safety: every text from data is either escaped in Python with :func:`html.escape`
  (popups, legend, summary: JSON keys ending in ``html``) or escaped in the browser by
  the page's ``esc()`` before it reaches ``innerHTML``. The JSON block escapes ``<``,
  ``>`` and ``&`` so that no data can close the element.
* Streets are drawn on a canvas in a pane that ignores the pointer (fast, never steals
  clicks); interactive layers are SVG so that layers stacked in panes all stay clickable.

Inputs
------
cells
    Grid cells of a regular grid (:func:`lifecircle.spatial.grid.make_grid`; any CRS):
    ``community``, ``population``, ``access`` (``"network"``/``"no_access"``),
    ``minutes_to_<cat>`` (:func:`lifecircle.schema.minutes_column`) per category (NaN =
    unreachable or no access), ``underserved`` (bool), ``missing`` (comma-separated
    categories); optionally ``terrain_lost`` (comma-separated categories the cell reaches
    within the threshold as a flat adult but not for this run's walker on the terrain):
    a layer then hatches the cells that lose coverage and their popups list what they lose.
communities
    ``name``, ``population``, ``share_<cat>`` (0..1), ``median_<cat>``, ``p90_<cat>``,
    ``has`` and ``lacks`` (comma-separated), polygons.
facilities
    ``category``, ``name`` (may be None; drawn as text), ``osm_id``, points or polygons.
isochrones
    ``category``, ``facility`` (-1 marks the union of a category), ``minutes``, polygons.
    The map draws the unions; a category without a union row draws its per-facility rows.
    The per-facility rows of categories with a union form one more layer, off by default,
    that follows the category selector (``facility_isochrones``).
edges
    The walking network's lines (``highway`` optional); the base when ``basemap="none"``.
summary
    ``study_area``, ``profile``, ``population_source``, ``date`` (str), ``data_sources``
    (list of str); shown in ``lang`` from the facts ``area`` (``{"boundary", "source"}``),
    ``population`` (:func:`lifecircle.i18n.population_sentence`) and ``osm_date`` where
    given, and per category ``{"facilities", "people_served", "share_served", "no_data"}``
    under ``summary["categories"][cat]`` or ``summary[cat]``. A category is drawn as "no
    data" when its ``no_data`` is true, when it is in the list ``summary["no_data"]``, or
    when ``facilities`` holds none of it. Optionally ``terrain_comparison``
    (``{category: {"share_flat_adult", "share_terrain_adult", "share_terrain_elderly",
    "share_terrain_wheelchair"}}``) and ``cells_losing_coverage_to_terrain`` (int).
labels
    ``{name: {"zh": label, "en": label, "colour": "#rrggbb"}}`` per category (the
    catalogue's, :func:`lifecircle.outputs.category_labels`) and per requirement key of
    ``tiers`` (labels only); a name without a label is shown as is, a category without a
    colour gets one of a palette.
sites
    ``category``, ``rank``, ``marginal_gain`` (people newly served), optionally
    ``cumulative``; points (other geometries at a representative point).
tiers
    Per community (:func:`lifecircle.spatial.standards.score_communities`): ``community``
    (matched to ``communities["name"]``), ``tier`` (e.g. ``"15min"``), ``status``
    (``"pass"``, ``"fail"``, ``"unknown"``, ``"insufficient_data"``), ``missing`` (tuple or
    comma-separated requirement keys), optionally ``tier_name`` and ``not_assessed``.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from lifecircle import i18n, schema
from lifecircle._errors import MapAssetError, NoCrsError, OptionError
from lifecircle.layers.chinese_coords import wgs84_to_gcj02
from lifecircle.maps import style
from lifecircle.maps.assets import leaflet_assets, write_page
from lifecircle.maps.basemaps import Basemap, resolve_basemap
from lifecircle.maps.cell_layer import cell_layer, split_names
from lifecircle.maps.streets import street_arrays

__all__ = ["build_map", "save_map", "OSM_ATTRIBUTION", "COORD_DECIMALS", "governance_parts"]

log = logging.getLogger(__name__)

#: Always shown: the map's streets, facilities and (mostly) the analysis come from OSM.
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
#: Decimals of longitude/latitude kept in the page: 1e-6 degree is about 0.1 m.
COORD_DECIMALS = 6

# Simplification tolerances in metres, applied in the input's metric CRS: far below what a
# screen shows at street zoom, large enough to drop the vertices of buffered curves.
_SIMPLIFY_M = {"communities": 2.0, "isochrones": 3.0, "facilities": 1.0}
#: Per-facility isochrones are an overview drawn as thin outlines: simplified harder, and
#: harder again (next tolerance) while their data exceed the budget; left out beyond the
#: last one so that a district with thousands of facilities still gives a page of a few MB.
#: Yuzhong (61 facilities, raster isochrones): 0.28 MB at 5 m against 1.0 MB at 3 m.
_FACILITY_ISO_SIMPLIFY_M = (5.0, 10.0, 20.0)
_FACILITY_ISO_BUDGET_BYTES = 3_000_000
_TIER_STATUSES = ("pass", "fail", "unknown", "insufficient_data")
_TERRAIN_SCENARIOS = ("flat_adult", "terrain_adult", "terrain_elderly", "terrain_wheelchair")

#: Labels and colours per category or requirement key: ``{name: {"zh", "en", "colour"}}``.
Labels = Mapping[str, Mapping[str, str]]


# --------------------------------------------------------------------------------------
# Input checks and geometry preparation
# --------------------------------------------------------------------------------------


def _check_frame(frame: Any, name: str, columns: Iterable[str], *, optional: bool = True) -> gpd.GeoDataFrame:
    """Validate one input: a GeoDataFrame with a CRS and the named columns (None -> empty)."""
    if frame is None:
        if not optional:
            raise OptionError(f"{name} is required; found None.")
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
    if not isinstance(frame, gpd.GeoDataFrame):
        raise OptionError(f"{name} must be a GeoDataFrame; found {type(frame).__name__}.")
    if frame.crs is None and len(frame):
        raise NoCrsError(f"{name} has no CRS; the map needs to know what its coordinates are (a metric CRS).")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise OptionError(f"{name} lacks column(s) {', '.join(missing)}; found columns {', '.join(map(str, frame.columns))}.")
    return frame


def _display_geometries(frame: gpd.GeoDataFrame, *, simplify_m: float, shift: str, keep_topology: bool = True) -> np.ndarray:
    """Geometries simplified, reprojected to EPSG:4326, shifted for display and rounded.

    ``keep_topology=False`` simplifies 8 times faster (Douglas-Peucker without repairs): for
    outlines drawn on their own (isochrones), where a rare self-touching ring does not matter.
    """
    if len(frame) == 0:
        return np.array([], dtype=object)
    geoms = frame.geometry
    if simplify_m > 0:
        tol = simplify_m if geoms.crs.is_projected else simplify_m / 111_000.0
        simple = shapely.simplify(np.asarray(geoms.values, dtype=object), tol, preserve_topology=keep_topology)
        geoms = gpd.GeoSeries(simple, index=geoms.index, crs=geoms.crs)
    values = np.asarray(geoms.to_crs("EPSG:4326").values, dtype=object)

    def convert(coords: np.ndarray) -> np.ndarray:
        if shift == "gcj02":
            lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
            coords = np.column_stack([lon, lat])
        return np.round(coords, COORD_DECIMALS)

    # One vectorised call over every vertex of every geometry.
    return shapely.transform(values, convert)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_LONG_NUMBER = re.compile(r"-?\d+\.\d{7,}")


def _short_numbers(geojson: str) -> str:
    # GEOS writes 17 significant digits (29.557123 -> 29.557122999999997); keep 6 decimals.
    return _LONG_NUMBER.sub(lambda m: f"{float(m.group(0)):.{COORD_DECIMALS}f}".rstrip("0").rstrip("."), geojson)


def _feature_collection(geoms: np.ndarray, properties: list[dict[str, Any]]) -> str:
    """A GeoJSON FeatureCollection as compact text; empty geometries are left out."""
    texts = [_short_numbers(t) if t else t for t in shapely.to_geojson(geoms)] if len(geoms) else []
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.array([], dtype=bool)
    features = [
        f'{{"type":"Feature","geometry":{g},"properties":{_json(p)}}}'
        for g, p, k in zip(texts, properties, keep, strict=True)
        if k
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def _num(value: Any, digits: int = 1) -> float | None:
    """A finite float rounded for display, else None (JSON null)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return round(x, digits) if math.isfinite(x) else None


_split = split_names


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _category_stats(summary: Mapping[str, Any], category: str) -> dict[str, Any]:
    """The summary's per-category dict: ``summary["categories"][cat]`` or ``summary[cat]``."""
    nested = summary.get("categories")
    if isinstance(nested, Mapping) and isinstance(nested.get(category), Mapping):
        return dict(nested[category])
    if isinstance(summary.get(category), Mapping):
        return dict(summary[category])
    return {}


# --------------------------------------------------------------------------------------
# HTML fragments built in Python (every data text escaped here)
# --------------------------------------------------------------------------------------


def _join(labels: list[str], lang: str) -> str:
    return i18n.list_separator(lang).join(labels)


def _fmt_int(value: Any) -> str:
    x = _num(value, 0)
    return "–" if x is None else f"{x:,.0f}"


def _fmt_share(value: Any) -> str:
    x = _num(value, 4)
    return "–" if x is None else f"{x:.0%}"


def _fmt_min(value: Any) -> str:
    x = _num(value, 1)
    return "–" if x is None else f"{x:.1f}"


def _tier_label(tier: Any, tier_name: Any, lang: str) -> str:
    """``"15min"`` -> "15分钟生活圈"; else the tier's own name, else its key (unescaped)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:min|mins|minutes?|分钟)\s*", str(tier))
    if match:
        return style.text("tier_minutes", lang, minutes=match.group(1))
    if tier_name is not None and not (isinstance(tier_name, float) and math.isnan(tier_name)) and str(tier_name).strip():
        return str(tier_name)
    return str(tier)


def _tiers_html(rows: list[Mapping[str, Any]], lang: str, names: Labels | None = None) -> str:
    """A community's tiers: pass/fail/unknown and the missing (and unassessed) requirements."""
    t = lambda key, **kw: _esc(style.text(key, lang, **kw))  # noqa: E731
    labels = lambda items: _esc(_join([style.category_label(i, lang, names) for i in items], lang))  # noqa: E731
    lines = []
    for r in rows:
        status = r["status"]
        line = (
            f'<tr class="lc-tier-{status}"><th>{_esc(_tier_label(r["tier"], r.get("tier_name"), lang))}</th>'
            f'<td style="color:{style.TIER_STATUS_COLORS[status]}"><b>{t(status)}</b></td><td>'
        )
        missing, unassessed = _split(r.get("missing")), _split(r.get("not_assessed"))
        notes = []
        if missing:
            notes.append(f'<span class="lc-lacks"><b>{t("missing")}</b>: {labels(missing)}</span>')
        if unassessed:
            notes.append(f'<span class="lc-nodata">{t("not_assessed")}: {labels(unassessed)}</span>')
        lines.append(line + "<br>".join(notes) + "</td></tr>")
    return f'<div class="lc-tiers"><b>{t("tiers")}</b><table class="lc-table lc-tier-table">{"".join(lines)}</table></div>'


def _community_html(
    row: pd.Series,
    cats: list[dict[str, Any]],
    lang: str,
    threshold: float,
    tiers: list[Mapping[str, Any]] | None = None,
    labels: Labels | None = None,
) -> tuple[str, str]:
    """Popup of one community, and its short has/lacks block reused in cell popups."""
    t = lambda key, **kw: _esc(style.text(key, lang, **kw))  # noqa: E731
    label = {c["name"]: c["label"] for c in cats}
    no_data = {c["name"] for c in cats if c["noData"]}
    has = [c for c in _split(row.get("has")) if c not in no_data]
    lacks = [c for c in _split(row.get("lacks")) if c not in no_data]
    names = lambda items: _esc(_join([label.get(c, c) for c in items], lang)) if items else t("none")  # noqa: E731
    hl = (
        f'<div class="lc-has"><b>{t("has")}</b>: {names(has)}</div>'
        f'<div class="lc-lacks"><b>{t("lacks")}</b>: {names(lacks)}</div>'
    )
    if no_data:
        hl += f'<div class="lc-nodata"><b>{t("no_data")}</b>: {names(sorted(no_data, key=[c["name"] for c in cats].index))}</div>'
    rows = []
    for c in cats:
        if c["noData"]:
            cells = f'<td colspan="3">{t("no_data")}</td>'
        else:
            n = c["name"]
            cells = (
                f"<td>{_fmt_share(row.get(schema.share_column(n)))}</td>"
                f"<td>{_fmt_min(row.get(schema.median_column(n)))}</td>"
                f"<td>{_fmt_min(row.get(schema.p90_column(n)))}</td>"
            )
        rows.append(f"<tr><th>{_esc(c['label'])}</th>{cells}</tr>")
    table = (
        f'<table class="lc-table"><tr><th></th><th>{t("share")}</th><th>{t("median")}</th><th>{t("p90")}</th></tr>'
        + "".join(rows)
        + "</table>"
    )
    popup = (
        f'<div class="lc-popup"><div class="lc-popup-title">{_esc(row.get("name"))}</div>'
        f'<div>{t("population")}: {_fmt_int(row.get("population"))}</div>'
        f"{table}{hl}{_tiers_html(tiers, lang, labels) if tiers else ''}</div>"
    )
    return popup, hl


def _facility_html(row: pd.Series, cat: dict[str, Any], lang: str) -> str:
    name = row.get("name")
    if name is None or (isinstance(name, float) and math.isnan(name)) or str(name).strip() == "":
        name_html = f'<i>{_esc(i18n.summary_text("unnamed", lang))}</i>'
    else:
        name_html = _esc(name)
    osm_id = row.get("osm_id")
    osm = "" if osm_id is None or (isinstance(osm_id, float) and math.isnan(osm_id)) else f'<div class="lc-note">OSM {_esc(osm_id)}</div>'
    return f'<div class="lc-popup"><div class="lc-popup-title">{name_html}</div><div>{_esc(cat["label"])}</div>{osm}</div>'


def _terrain_summary_html(summary: Mapping[str, Any], cats: list[dict[str, Any]], lang: str, threshold: float) -> str:
    """Shares within the threshold per category: flat adult against terrain adult, elderly
    and wheelchair walks (``summary["terrain_comparison"]``), and the count of cells lost."""
    t = lambda key, **kw: _esc(style.text(key, lang, **kw))  # noqa: E731
    table = summary.get("terrain_comparison")
    if not isinstance(table, Mapping):
        return ""
    rows = []
    for c in cats:
        entry = table.get(c["name"])
        if not isinstance(entry, Mapping):
            continue
        shares = [_num(entry.get(schema.share_column(s)), 4) for s in _TERRAIN_SCENARIOS]
        if c["noData"] or all(x is None for x in shares):
            rows.append(f'<tr class="lc-nodata-row"><th>{_esc(c["label"])}</th><td colspan="4">{t("no_data")}</td></tr>')
        else:
            rows.append(f'<tr><th>{_esc(c["label"])}</th>' + "".join(f"<td>{_fmt_share(x)}</td>" for x in shares) + "</tr>")
    if not rows:
        return ""
    head = "<tr><th></th>" + "".join(f"<th>{t(s)}</th>" for s in _TERRAIN_SCENARIOS) + "</tr>"
    lost = summary.get("cells_losing_coverage_to_terrain")
    lost_html = "" if _num(lost, 0) is None else f'<div>{t("cells_losing")}: <b>{_fmt_int(lost)}</b></div>'
    if summary.get("terrain_indicative"):
        lost_html += f'<div class="lc-note">{t("terrain_indicative")}</div>'
    return (
        f'<div class="lc-terrain-summary"><div class="lc-summary-title">{t("terrain_table", threshold=f"{threshold:g}")}</div>'
        f'<table class="lc-table lc-terrain-table">{head}{"".join(rows)}</table>{lost_html}</div>'
    )


def _tier_summary_html(tiers: pd.DataFrame | None, lang: str, names: Iterable[str] | None = None) -> str:
    """Communities passing, failing and unknown per tier (of the map's communities, ``names``, if any)."""
    if tiers is not None and names is not None:
        tiers = tiers[tiers["community"].astype(str).isin(set(names))]
    if tiers is None or len(tiers) == 0:
        return ""
    t = lambda key, **kw: _esc(style.text(key, lang, **kw))  # noqa: E731
    rows = []
    for tier, group in tiers.groupby("tier", sort=False):
        counts = group["status"].value_counts()
        name = group["tier_name"].iloc[0] if "tier_name" in group.columns else None
        rows.append(
            f"<tr><th>{_esc(_tier_label(tier, name, lang))}</th><td>"
            + t("tier_counts", pass_=int(counts.get("pass", 0)), fail=int(counts.get("fail", 0)),
                unknown=int(counts.get("unknown", 0)), insufficient=int(counts.get("insufficient_data", 0)))
            + "</td></tr>"
        )
    return f'<div class="lc-summary-title">{t("tiers")}</div><table class="lc-table lc-kv lc-tier-summary">{"".join(rows)}</table>'


def _summary_html(
    summary: Mapping[str, Any],
    cats: list[dict[str, Any]],
    lang: str,
    threshold: float,
    tiers: pd.DataFrame | None = None,
    community_names: Iterable[str] | None = None,
) -> str:
    t = lambda key, **kw: _esc(style.text(key, lang, **kw))  # noqa: E731
    items = []
    facts = _summary_facts(summary, lang)
    for key in ("study_area", "profile", "population_source", "date"):
        if facts.get(key) not in (None, ""):
            items.append(f"<tr><th>{t(key)}</th><td>{_esc(facts.get(key))}</td></tr>")
    items.insert(min(2, len(items)), f"<tr><th>{t('threshold')}</th><td>{_esc(f'{threshold:g}')} {t('minutes')}</td></tr>")
    # Without a population input the numbers are fallback weights: say so in the header.
    served_key = "people_served" if summary.get("population_kind", "people") == "people" else "weight_served"
    rows = []
    for c in cats:
        st = c["stats"]
        if c["noData"]:
            rows.append(
                f'<tr class="lc-nodata-row"><th>{_esc(c["label"])}</th><td>{_fmt_int(st.get("facilities", c["count"]))}</td>'
                f'<td colspan="2">{t("no_data")}</td></tr>'
            )
        else:
            rows.append(
                f'<tr><th>{_esc(c["label"])}</th><td>{_fmt_int(st.get("facilities", c["count"]))}</td>'
                f'<td>{_fmt_int(st.get("people_served"))}</td><td>{_fmt_share(st.get("share_served"))}</td></tr>'
            )
            if st.get("likely_incomplete"):  # too few facilities for the standard: a lower bound
                rows[-1] = rows[-1].replace(
                    f'<td>{_fmt_share(st.get("share_served"))}</td></tr>',
                    f'<td>≥ {_fmt_share(st.get("share_served"))} <small class="lc-incomplete">'
                    f'({t("likely_incomplete")})</small></td></tr>')
    per_cat = (
        f'<table class="lc-table"><tr><th></th><th>{t("facility_count")}</th><th>{t(served_key)}</th>'
        f'<th>{t("share_served")}</th></tr>' + "".join(rows) + "</table>"
    )
    src = "".join(f"<li>{_esc(s)}</li>" for s in _sources(summary, lang))
    return (
        f'<details open><summary>{t("summary")}</summary>'
        f'<div class="lc-summary-title">{t("title")}</div>'
        f'<table class="lc-table lc-kv">{"".join(items)}</table>{per_cat}'
        f"{_terrain_summary_html(summary, cats, lang, threshold)}{_tier_summary_html(tiers, lang, community_names)}"
        f'<div class="lc-sources"><b>{t("data_sources")}</b><ul>{src}</ul></div></details>'
    )


def _summary_facts(summary: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The summary's study area, walker, population source and OSM date in ``lang``.

    Built from the run's facts (``area``, ``profile``, ``population_facts``, ``osm_date``) where
    the summary has them, else the summary's own (English) sentences.
    """
    facts: dict[str, Any] = {key: summary.get(key) for key in ("study_area", "profile", "population_source", "date")}
    area = summary.get("area")
    if isinstance(area, Mapping) and area.get("boundary") and area.get("source"):
        facts["study_area"] = i18n.summary_text("area_within", lang, boundary=area["boundary"], source=area["source"])
    if summary.get("profile"):
        facts["profile"] = i18n.profile_label(str(summary["profile"]), lang)
    population = summary.get("population_facts")
    if isinstance(population, Mapping):
        facts["population_source"] = i18n.population_sentence(population, lang) or facts["population_source"]
    if "osm_date" in summary:
        date = summary["osm_date"]
        facts["date"] = i18n.summary_text("osm_date", lang, date=date) if date else i18n.summary_text("osm_date_unknown", lang)
    return facts


def _sources(summary: Mapping[str, Any], lang: str = "en") -> list[str]:
    """OSM's attribution first, then the summary's data sources (in ``lang``), without repeats."""
    out = [OSM_ATTRIBUTION]
    for source in summary.get("data_sources") or []:
        text_ = i18n.source_text(str(source), lang).strip()
        if text_ and text_ not in out:
            out.append(text_)
    return out


def _swatch(color: str, *, kind: str = "fill", extra: str = "") -> str:
    css = {
        "fill": f"background:{color}",
        "outline": f"border:2px solid {color};background:transparent",
        "dot": f"background:{color};border-radius:50%;border:1.5px solid #fff;box-shadow:0 0 0 1px #555",
        "dash": f"border:1.5px dashed {color};background:{color}22",
        "line": f"border:1px solid {color};background:transparent;height:9px;border-radius:40%",
        "hatch": f"border:1.5px dashed {color};background:repeating-linear-gradient(45deg,{color} 0 1.5px,transparent 1.5px 4.5px)",
    }[kind]
    return f'<i class="lc-swatch" style="{css};{extra}"></i>'


def _bands_html(cat: Mapping[str, Any]) -> str:
    """The legend's travel-time rows of one category: the fixed minute bands, or the
    bands of its own thresholds as :func:`lifecircle.maps.cell_layer.cell_layer` colours them
    (greens within each threshold, orange up to twice the largest, red beyond)."""
    own, names = cat.get("bands"), cat.get("bandNames")
    if not own:
        return "".join(f"<div>{_swatch(b.color)}{_esc(b.label())}</div>" for b in style.MINUTE_BANDS)
    names = names or [f"{m:g}" for m in own]
    colours = [b.color for b in style.MINUTE_BANDS]
    rows = [f"<div>{_swatch(colours[min(i, 2)])}{_esc(f'≤ {n}')}</div>" for i, n in enumerate(names)]
    rows.append(f"<div>{_swatch(colours[4])}{_esc(f'≤ 2 × {names[-1]}')}</div>")
    rows.append(f"<div>{_swatch(colours[5])}{_esc(f'> 2 × {names[-1]}')}</div>")
    return "".join(rows)


def _legend_html(
    cats: list[dict[str, Any]], lang: str, threshold: float, *, terrain: bool = False, sites: bool = False, facility_iso: bool = False,
    units: bool = False,
) -> str:
    t = lambda key, **kw: _esc(style.text(key, lang, **kw))  # noqa: E731
    first = _esc(cats[0]["label"]) if cats else ""
    lines = [f'<details open><summary>{t("legend")}</summary>']
    # The category name sits in a span the selector rewrites (textContent) when it changes.
    cat_span = f'<span class="lc-legend-cat">{first}</span>'
    lines.append(f'<div class="lc-legend-title">{_esc(style.text("travel_time_to", lang, cat="§")).replace("§", cat_span)}</div>')
    rows = _bands_html(cats[0] if cats else {})
    own = any(c.get("bands") for c in cats)  # the rows switch with the category (legendBandsHtml)
    lines.append(f'<div class="lc-legend-bands">{rows}</div>' if own else rows)
    lines.append(f'<div>{_swatch(style.UNREACHABLE_COLOR)}{t("unreachable")}</div>')
    lines.append(f'<div>{_swatch(style.NO_ACCESS_COLOR, extra="opacity:.6")}{t("no_access")}</div>')
    lines.append(f'<div>{_swatch(style.NO_DATA_COLOR)}{t("no_data")}</div>')
    lines.append(f'<div class="lc-legend-title">{t("underserved")}</div>')
    lines.append(f'<div>{_swatch(style.UNDERSERVED_COLOR, kind="outline")}{t("underserved_note", threshold=f"{threshold:g}")}</div>')
    if terrain:
        lines.append(f'<div class="lc-legend-title">{t("terrain_lost")}</div>')
        lines.append(f'<div>{_swatch(style.TERRAIN_LOST_COLOR, kind="hatch")}{t("terrain_lost_note", threshold=f"{threshold:g}")}</div>')
    lines.append(f'<div class="lc-legend-title">{_esc(style.text("facilities", lang, cat="")).rstrip(": ：")}</div>')
    for c in cats:
        note = f' ({t("no_data")})' if c["noData"] else ""
        lines.append(f'<div>{_swatch(c["color"], kind="dot")}{_esc(c["label"])}{note}</div>')
    lines.append(f'<div>{_swatch("#555555", kind="dash")}{t("isochrone", threshold=f"{threshold:g}", cat="").rstrip(": ：")}</div>')
    if facility_iso:
        lines.append(f'<div>{_swatch("#555555", kind="line")}{t("facility_isochrones", threshold=f"{threshold:g}")}</div>')
    if sites:
        lines.append(f'<div><i class="lc-swatch lc-site-swatch">1</i>{t("sites")}</div>')
    cov = _esc(style.text("coverage", lang, threshold=f"{threshold:g}", cat="§")).replace("§", cat_span)
    lines.append(f'<div class="lc-legend-title">{t("units" if units else "communities")}</div><div class="lc-note">{cov}</div>')
    bounds = [b for b, _ in style.COVERAGE_BINS] + [1.0]
    for (low, color), high in zip(style.COVERAGE_BINS, bounds[1:], strict=True):
        label = f"≥ {low:.0%}" if high == 1.0 else f"{low:.0%}–{high:.0%}"
        lines.append(f"<div>{_swatch(color)}{_esc(label)}</div>")
    lines.append(f'<div>{_swatch(style.NO_DATA_COLOR)}{t("no_data")}</div>')
    lines.append("</details>")
    return "".join(lines)


# --------------------------------------------------------------------------------------
# One GeoJSON FeatureCollection per data set
# --------------------------------------------------------------------------------------


def _category_info(
    categories: list[str],
    *,
    summary: Mapping[str, Any],
    facilities: gpd.GeoDataFrame,
    lang: str,
    threshold: float,
    labels: Labels | None = None,
) -> list[dict[str, Any]]:
    """Per category: labels, colour, counts and whether it is "no data"."""
    fac_counts = facilities["category"].astype(str).value_counts() if len(facilities) else pd.Series(dtype=int)
    listed = summary.get("no_data")
    cats: list[dict[str, Any]] = []
    for name in categories:
        stats = _category_stats(summary, name)
        count = int(fac_counts.get(name, 0))
        no_data = (
            (isinstance(listed, (list, tuple, set)) and name in listed)
            or bool(stats.get("no_data", False))
            or (len(facilities) > 0 and count == 0)
            or (len(facilities) == 0 and int(stats.get("facilities", 0) or 0) == 0)
        )
        label = style.category_label(name, lang, labels)
        no_data_note = f" ({style.text('no_data', lang)})" if no_data else ""
        cats.append(
            {
                "name": name,
                "label": label,
                "color": style.category_color(name, categories, labels),
                "noData": no_data,
                "count": count,
                "stats": stats,
                "isoLabel": style.text("isochrone", lang, threshold=f"{threshold:g}", cat=label),
                "facLabel": style.text("facilities", lang, cat=label) + no_data_note,
            }
        )
        if no_data:
            log.warning("map: category %r has no (reachable) facility in the data; drawn as 'no data'", name)
    return cats


def _community_collection(
    communities: gpd.GeoDataFrame,
    cats: list[dict[str, Any]],
    *,
    lang: str,
    threshold: float,
    shift: str,
    tiers: pd.DataFrame | None = None,
    labels: Labels | None = None,
) -> tuple[str, np.ndarray]:
    """Communities: name (``n``), share per category (``s``), popup (with the standard's
    tiers when given) and has/lacks HTML."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    if tiers is not None:
        for rec in tiers.to_dict("records"):
            by_name.setdefault(str(rec["community"]), []).append(rec)
        unknown = sorted(set(by_name) - set(communities["name"].astype(str)))
        if unknown:
            log.info("map: tiers of %d name(s) not among the communities left out (%s)", len(unknown), ", ".join(unknown[:5]))
    props = []
    for _, row in communities.iterrows():
        popup, hl = _community_html(row, cats, lang, threshold, by_name.get(str(row.get("name"))), labels)
        name = row.get("name")
        props.append(
            {
                "n": None if name is None else str(name),
                "s": [None if c["noData"] else _num(row.get(schema.share_column(c["name"])), 4) for c in cats],
                "html": popup,
                "hl": hl,
            }
        )
    geoms = _display_geometries(communities, simplify_m=_SIMPLIFY_M["communities"], shift=shift)
    return _feature_collection(geoms, props), geoms


def _facility_collection(
    facilities: gpd.GeoDataFrame, cats: list[dict[str, Any]], *, lang: str, shift: str
) -> tuple[str, np.ndarray, int]:
    """Facilities of the drawn categories (``k`` = category index) with escaped popups.

    A polygon (park, hospital campus) is sent with a dot on its surface as a
    GeometryCollection, so that it remains visible when zoomed out.
    """
    index = {c["name"]: i for i, c in enumerate(cats)}
    fac = facilities[facilities["category"].astype(str).isin(index)] if len(facilities) else facilities
    if len(fac) < len(facilities):
        others = sorted(set(facilities["category"].astype(str)) - set(index))
        log.info("map: %d facilities of categories not drawn (%s) left out", len(facilities) - len(fac), ", ".join(others))
    geoms = _display_geometries(fac, simplify_m=_SIMPLIFY_M["facilities"], shift=shift)
    if len(geoms):
        is_area = shapely.get_type_id(geoms) >= 3
        if is_area.any():
            dots = shapely.transform(shapely.point_on_surface(geoms[is_area]), lambda c: np.round(c, COORD_DECIMALS))
            geoms = geoms.copy()
            geoms[is_area] = shapely.geometrycollections(list(zip(geoms[is_area], dots, strict=True)))
    props = [
        {"k": index[cat], "html": _facility_html(row, cats[index[cat]], lang)}
        for cat, (_, row) in zip(fac["category"].astype(str), fac.iterrows(), strict=True)
    ]
    return _feature_collection(geoms, props), geoms, len(props)


def _isochrone_collection(
    isochrones: gpd.GeoDataFrame, cats: list[dict[str, Any]], *, shift: str, simplify_m: float
) -> tuple[str, np.ndarray]:
    """Isochrones (``k`` = category index): the category unions (``facility == -1``) where present,
    simplified at ``simplify_m`` metres."""
    index = {c["name"]: i for i, c in enumerate(cats)}
    iso = isochrones[isochrones["category"].astype(str).isin(index)] if len(isochrones) else isochrones
    if len(iso) and "facility" in iso.columns:
        union = pd.to_numeric(iso["facility"], errors="coerce") == -1
        has_union = iso.loc[union, "category"].astype(str).unique()
        iso = iso[union | ~iso["category"].astype(str).isin(has_union)]
    geoms = _display_geometries(iso, simplify_m=simplify_m, shift=shift, keep_topology=False)
    props = [{"k": index[c]} for c in iso["category"].astype(str)]
    return _feature_collection(geoms, props), geoms


def _facility_isochrone_collection(
    isochrones: gpd.GeoDataFrame, cats: list[dict[str, Any]], *, shift: str, simplify_m: float = 0.0
) -> tuple[str, int]:
    """Per-facility isochrones (``k`` = category index) of categories whose union is drawn.

    Simplified at the first tolerance of :data:`_FACILITY_ISO_SIMPLIFY_M` (at least
    ``simplify_m``) that keeps their data within :data:`_FACILITY_ISO_BUDGET_BYTES`; left out
    (empty collection) if none does.
    """
    empty = '{"type":"FeatureCollection","features":[]}'
    if len(isochrones) == 0 or "facility" not in isochrones.columns:
        return empty, 0
    index = {c["name"]: i for i, c in enumerate(cats)}
    cat = isochrones["category"].astype(str)
    facility = pd.to_numeric(isochrones["facility"], errors="coerce")
    has_union = cat[facility == -1].unique()
    iso = isochrones[cat.isin(index) & cat.isin(has_union) & (facility >= 0)]
    if len(iso) == 0:
        return empty, 0
    # Facility order within a category: the same drawing order for the same inputs.
    order = np.lexsort((pd.to_numeric(iso["facility"]).to_numpy(), iso["category"].astype(str).map(index).to_numpy()))
    iso = iso.iloc[order]
    props = [{"k": index[c]} for c in iso["category"].astype(str)]
    for tol in sorted({max(t, simplify_m) for t in _FACILITY_ISO_SIMPLIFY_M}):
        fc = _feature_collection(_display_geometries(iso, simplify_m=tol, shift=shift, keep_topology=False), props)
        if len(fc.encode("utf-8")) <= _FACILITY_ISO_BUDGET_BYTES:
            log.info("map: %d per-facility isochrones, simplified at %g m: %.2f MB", len(iso), tol, len(fc.encode("utf-8")) / 1e6)
            return fc, len(iso)
    log.warning(
        "map: %d per-facility isochrones exceed %.1f MB even simplified at %g m; left out of the map (they are in the results file)",
        len(iso), _FACILITY_ISO_BUDGET_BYTES / 1e6, _FACILITY_ISO_SIMPLIFY_M[-1],
    )
    return empty, 0


def _site_html(row: Mapping[str, Any], label: str, lang: str) -> str:
    t = lambda key, **kw: _esc(style.text(key, lang, **kw))  # noqa: E731
    own = row.get(f"label_{lang}")  # numbered per category: 医1, C1
    if isinstance(own, str) and own:
        label = f"{own} · {label}"
    extra = ""
    if "cumulative" in row:
        extra = f'<div>{t("cumulative_gain")}: {_fmt_int(row.get("cumulative"))}</div>'
    return (
        f'<div class="lc-popup"><div class="lc-popup-title">{t("site_title", rank=_rank_text(row.get("rank")))}</div>'
        f"<div>{_esc(label)}</div>"
        f'<div>{t("marginal_gain")}: <b>{_fmt_int(row.get("marginal_gain"))}</b></div>{extra}</div>'
    )


def _rank_text(rank: Any) -> str:
    x = _num(rank, 3)
    if x is None:
        return "" if rank is None else str(rank)
    return f"{x:g}"


def _site_collection(
    sites: gpd.GeoDataFrame,
    cats: list[dict[str, Any]],
    categories: list[str],
    *,
    lang: str,
    shift: str,
    labels: Labels | None = None,
) -> tuple[str, int]:
    """Suggested sites: rank (``r``), colour (``col``), popup (``html``); points (the
    representative point of any other geometry), drawn categories first in their order,
    then by rank."""
    if len(sites) == 0:
        return '{"type":"FeatureCollection","features":[]}', 0
    index = {c["name"]: i for i, c in enumerate(cats)}
    cat = sites["category"].astype(str)
    rank = pd.to_numeric(sites["rank"], errors="coerce").fillna(np.inf).to_numpy()
    order = np.lexsort((np.arange(len(sites)), rank, cat.map(lambda c: index.get(c, len(index))).to_numpy()))
    sites = sites.iloc[order]
    pts = sites.geometry.copy()
    not_point = ~pts.geom_type.isin(["Point"]) & ~pts.is_empty & pts.notna()
    if not_point.any():
        pts[not_point] = pts[not_point].representative_point()
    geoms = _display_geometries(gpd.GeoDataFrame(geometry=pts, crs=sites.crs), simplify_m=0.0, shift=shift)
    all_cats = list(dict.fromkeys([*categories, *cat.tolist()]))
    props = []
    for rec in sites.drop(columns=sites.geometry.name).to_dict("records"):
        c = str(rec["category"])
        label = cats[index[c]]["label"] if c in index else style.category_label(c, lang, labels)
        props.append(
            {
                "r": _rank_text(rec.get("rank")),
                "col": cats[index[c]]["color"] if c in index else style.category_color(c, all_cats, labels),
                "html": _site_html(rec, label, lang),
            }
        )
        if isinstance(rec.get(f"label_{lang}"), str) and rec[f"label_{lang}"]:
            props[-1]["lb"] = rec[f"label_{lang}"]  # shown beside the marker, escaped in the browser
    return _feature_collection(geoms, props), len(props)


def _check_tiers(tiers: Any) -> pd.DataFrame | None:
    """Validate the per-community standard results (``community``, ``tier``, ``status``, ``missing``)."""
    if tiers is None:
        return None
    if not isinstance(tiers, pd.DataFrame):
        raise OptionError(f"tiers must be a DataFrame; found {type(tiers).__name__}.")
    missing = [c for c in ("community", "tier", "status", "missing") if c not in tiers.columns]
    if missing:
        raise OptionError(f"tiers lacks column(s) {', '.join(missing)}; found columns {', '.join(map(str, tiers.columns))}.")
    bad = sorted(set(tiers["status"].astype(str)) - set(_TIER_STATUSES))
    if bad:
        raise OptionError(f"tiers status must be one of {', '.join(_TIER_STATUSES)}; found {', '.join(map(repr, bad))}.")
    return tiers


def _view_bounds(*layers: np.ndarray) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the first non-empty layer (the cells first)."""
    for geoms in layers:
        if len(geoms):
            minx, miny, maxx, maxy = shapely.total_bounds(geoms)
            if np.all(np.isfinite([minx, miny, maxx, maxy])):
                return [[float(miny), float(minx)], [float(maxy), float(maxx)]]
    return None


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------

_STATIC = "lifecircle.maps"
#: Markers in the rendered folium page where the page's own parts go. The frame that
#: folium/branca render holds no text from data, so each marker is found exactly once.
_TITLE_MARK = "<!--lifecircle:title-->"
_META_MARK = "<!--lifecircle:meta-->"
_HEAD_MARK = "<!--lifecircle:head-->"
_BODY_MARK = "<!--lifecircle:body-->"
_SCRIPT_MARK = "/*lifecircle:script*/"


@functools.cache
def _static_text(name: str) -> str:
    """The page's own script or stylesheet, shipped as package data in ``maps/static``."""
    try:
        return resources.files(_STATIC).joinpath("static", name).read_text(encoding="utf-8")
    except OSError as exc:
        raise MapAssetError(
            f"the map's {name} is missing from the installed package ({exc}); reinstall lifecircle."
        ) from None


class _Markers(MacroElement):
    """Places the three markers in folium's page; their content comes after rendering.

    Its template is a constant: no value from data ever reaches Jinja, which would compile
    ``{{ }}``, ``{% %}`` and ``{# #}`` in it (branca compiles a macro's output again).
    """

    _template = Template(
        f"""
        {{% macro header(this, kwargs) %}}
{_HEAD_MARK}
        {{% endmacro %}}
        {{% macro html(this, kwargs) %}}
{_BODY_MARK}
        {{% endmacro %}}
        {{% macro script(this, kwargs) %}}
{_SCRIPT_MARK}
        {{% endmacro %}}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "LifecircleLayers"
        self._id = "lifecircle"


class _Page(Figure):
    """The HTML page: folium renders the frame, then the title, Leaflet, the page's styles,
    the data block and the page's script are put in at the markers by plain string
    operations, so no text from data passes through a template engine."""

    def __init__(self, *, title: str, meta: str, head: str, body: str, script: str) -> None:
        # branca writes ``title`` as a value (never compiled); the marker keeps even that out.
        super().__init__(title=_TITLE_MARK)
        self.header.add_child(Element(_META_MARK), name="generator")
        self._inserts = {_TITLE_MARK: title, _META_MARK: meta, _HEAD_MARK: head, _BODY_MARK: body, _SCRIPT_MARK: script}

    def render(self, **kwargs: Any) -> str:
        return _fill(super().render(**kwargs), self._inserts)


def _fill(frame: str, inserts: Mapping[str, str]) -> str:
    """``frame`` with each marker replaced by its text, in one pass (inserted text is never searched)."""
    pieces = re.split("(" + "|".join(re.escape(k) for k in inserts) + ")", frame)
    found = pieces[1::2]
    if sorted(found) != sorted(inserts):
        raise MapAssetError(f"the rendered map page holds the markers {found}; expected each of {list(inserts)} once.")
    return "".join(inserts[p] if i % 2 else p for i, p in enumerate(pieces))


def _script_safe(text: str) -> str:
    """JSON text that cannot end its ``<script>`` element nor break JavaScript parsing."""
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@dataclass(frozen=True)
class _Inputs:
    """Validated inputs of :func:`build_map` (frames never None, options resolved)."""

    cells: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame | None
    tiers: pd.DataFrame | None
    summary: Mapping[str, Any]
    categories: list[str]
    threshold: float
    labels: Labels | None
    lang: str
    base: Basemap


def _check_inputs(  # noqa: PLR0913 - the arguments of build_map, checked in one place
    *, cells: Any, communities: Any, facilities: Any, isochrones: Any, edges: Any, summary: Any, categories: Any,
    threshold_minutes: Any, labels: Labels | None, lang: str, basemap: str, tianditu_key: str | None, sites: Any, tiers: Any,
) -> _Inputs:
    """Every argument of :func:`build_map` checked before any work (see its Raises)."""
    lang = style.check_lang(lang)
    base = resolve_basemap(basemap, lang=lang, tianditu_key=tianditu_key)
    try:
        threshold = float(threshold_minutes)
    except (TypeError, ValueError):
        raise OptionError(f"threshold_minutes must be a number of minutes; found {threshold_minutes!r}.") from None
    if not math.isfinite(threshold) or threshold <= 0:
        raise OptionError(f"threshold_minutes must be a positive number of minutes; found {threshold_minutes!r}.")
    if isinstance(categories, str) or not all(isinstance(c, str) and c for c in categories):
        raise OptionError(f"categories must be a list of category names; found {categories!r}.")
    if not isinstance(summary, Mapping):
        raise OptionError(f"summary must be a dict; found {type(summary).__name__}.")
    return _Inputs(
        cells=_check_frame(cells, "cells", ["community", "population", "access", "underserved", "missing"], optional=False),
        communities=_check_frame(communities, "communities", ["name"]),
        facilities=_check_frame(facilities, "facilities", ["category"]),
        isochrones=_check_frame(isochrones, "isochrones", ["category"]),
        edges=_check_frame(edges, "edges", []),
        sites=None if sites is None else _check_frame(sites, "sites", ["category", "rank", "marginal_gain"]),
        tiers=_check_tiers(tiers),
        summary=summary, categories=list(dict.fromkeys(categories)), threshold=threshold, labels=labels, lang=lang,
        base=base,
    )


def _layer_data(inp: _Inputs, cats: list[dict[str, Any]], *, facility_isochrones: bool) -> dict[str, Any]:
    """The data of every drawn layer, as JSON text or JSON-ready values, and their counts."""
    shift = inp.base.shift
    grid, n_terrain = cell_layer(inp.cells, cats, shift=shift)
    # Outlines are simplified to the map's resolution: half a pixel of the cell images.
    iso_m = max(_SIMPLIFY_M["isochrones"], grid["pixel"] / 2 if grid else 0.0)
    comm_fc, comm_geoms = _community_collection(
        inp.communities, cats, lang=inp.lang, threshold=inp.threshold, shift=shift, tiers=inp.tiers, labels=inp.labels
    )
    fac_fc, fac_geoms, n_fac = _facility_collection(inp.facilities, cats, lang=inp.lang, shift=shift)
    iso_fc, iso_geoms = _isochrone_collection(inp.isochrones, cats, shift=shift, simplify_m=iso_m)
    fiso_fc, n_fiso = (
        _facility_isochrone_collection(inp.isochrones, cats, shift=shift, simplify_m=iso_m) if facility_isochrones else ("", 0)
    )
    sites_fc, n_sites = (None, 0) if inp.sites is None else _site_collection(
        inp.sites, cats, inp.categories, lang=inp.lang, shift=shift, labels=inp.labels
    )
    # Streets: only as the offline base.
    streets = street_arrays(inp.edges, shift=shift) if inp.base.name == "none" and len(inp.edges) else None
    bounds = grid["bounds"] if grid else _view_bounds(comm_geoms, fac_geoms, iso_geoms)
    return {
        "grid": grid, "terrain_cells": n_terrain, "communities": comm_fc, "facilities": fac_fc, "n_facilities": n_fac,
        "isochrones": iso_fc, "n_isochrones": len(iso_geoms), "iso_simplify_m": iso_m, "facility_isochrones": fiso_fc,
        "n_facility_isochrones": n_fiso, "sites": sites_fc, "n_sites": n_sites, "edges": streets, "bounds": bounds,
    }


def _ui_text(summary: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The interface words in ``lang``; derived neighbourhood units (片区) are not called communities (社区)."""
    ui_text = dict(style.TEXT[lang])
    if summary.get("community_kind") == "neighbourhood_unit":
        ui_text["community"], ui_text["communities"] = ui_text["unit"], ui_text["units"]
    ui_text["sep"] = i18n.list_separator(lang)
    return ui_text


def _panels(inp: _Inputs, cats: list[dict[str, Any]], layers: Mapping[str, Any]) -> dict[str, str]:
    """Legend, summary panel and the labels of the optional layers (escaped HTML / text)."""
    lang, threshold, summary = inp.lang, inp.threshold, inp.summary
    names = inp.communities["name"].astype(str).tolist() if len(inp.communities) else None
    return {
        "labels": _json({
            "terrain": style.text("terrain_lost", lang),
            "sites": style.text("sites", lang),
            "facilityIsochrones": style.text("facility_isochrones", lang, threshold=f"{threshold:g}"),
            "terrainLost": style.text("terrain_lost_cats", lang),
        }),
        "legendHtml": _json(_legend_html(
            cats, lang, threshold, terrain="terrain_lost" in inp.cells.columns, sites=layers["sites"] is not None,
            facility_iso=layers["n_facility_isochrones"] > 0, units=summary.get("community_kind") == "neighbourhood_unit",
        )),
        "summaryHtml": _json(_summary_html(summary, cats, lang, threshold, inp.tiers, names)),
    }


def _data_block(inp: _Inputs, cats: list[dict[str, Any]], layers: Mapping[str, Any], *,
                extra: Mapping[str, str] | None = None) -> str:
    """The page's data as one JSON text that cannot end its ``<script>`` element."""
    base = inp.base
    attributions = [_esc(s) for s in _sources(inp.summary, inp.lang)]
    attributions += [t.attribution for t in base.tiles if t.attribution]  # trusted constants
    public_cats = [{k: c[k] for k in ("name", "label", "color", "noData", "isoLabel", "facLabel")} for c in cats]
    colors = {"unreachable": style.UNREACHABLE_COLOR, "noAccess": style.NO_ACCESS_COLOR, "noData": style.NO_DATA_COLOR,
              "underserved": style.UNDERSERVED_COLOR, "terrain": style.TERRAIN_LOST_COLOR}
    parts = {
        "categories": _json(public_cats),
        "text": _json(_ui_text(inp.summary, inp.lang)),
        "colors": _json(colors),
        "bands": _json([{"high": None if math.isinf(b.high) else b.high, "color": b.color} for b in style.MINUTE_BANDS]),
        "coverage": _json([list(b) for b in style.COVERAGE_BINS]),
        "grid": _json(layers["grid"]),
        "communities": layers["communities"],
        "facilities": layers["facilities"],
        "isochrones": layers["isochrones"],
        "facilityIsochrones": layers["facility_isochrones"] if layers["n_facility_isochrones"] else "null",
        "sites": layers["sites"] if layers["sites"] is not None else "null",
        "edges": _json(layers["edges"]),
        "tiles": _json([{"url": t.url, "subdomains": t.subdomains, "maxZoom": t.max_zoom, "attribution": t.attribution}
                        for t in base.tiles]),
        "basemapLabel": _json(base.name),
        "attributions": _json(attributions),
        **_panels(inp, cats, layers),
        "bounds": _json(layers["bounds"]),
        "lang": _json(inp.lang),
        **(extra or {}),
    }
    if any(c.get("bands") for c in cats):  # the legend's rows per category, switched with it
        parts["legendBandsHtml"] = _json([_bands_html(c) for c in cats])
    return _script_safe("{" + ",".join(f'"{k}":{v}' for k, v in parts.items()) + "}")


def _assemble(inp: _Inputs, data_json: str, bounds: list[list[float]] | None) -> folium.Map:
    """The folium map whose page gets the title, Leaflet, the page's files and the data at render time."""
    assets = leaflet_assets()
    page_css, page_js = _static_text("lifecircle.css"), _static_text("lifecircle.js")
    center = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [29.557, 106.577]
    m = folium.Map(location=center, zoom_start=14, tiles=None, control_scale=False, prefer_canvas=False)
    m._id = "lifecircle"  # stable element names: the same inputs give the same bytes
    # folium's defaults link jQuery, Bootstrap, Font Awesome and Leaflet from CDNs; the page
    # needs only Leaflet, which is inlined.
    m.default_js = []
    m.default_css = []
    study = _summary_facts(inp.summary, inp.lang).get("study_area")
    title = _esc(style.text("title", inp.lang) + (f" · {study}" if study else ""))
    meta = f'<meta name="generator" content="lifecircle (Leaflet {_esc(assets.version)})" />'
    head = f"<style>{assets.css}</style>\n<script>{assets.js}</script>\n<style>{page_css}</style>"
    body = f'<script type="application/json" id="lifecircle-data">{data_json}</script>'
    script = page_js.replace("__MAP__", m.get_name())
    # Data reach the page only at render time, by string operations after folium's Jinja.
    _Page(title=title, meta=meta, head=head, body=body, script=script).add_child(m)
    m.add_child(_Markers())
    return m


def _log_summary(inp: _Inputs, cats: list[dict[str, Any]], layers: Mapping[str, Any], data_json: str) -> None:
    log.info(
        "map: %d cells (%s losing coverage to terrain), %d communities%s, %d facilities, %d isochrones (simplified at "
        "%.1f m) + %d per facility, %d suggested sites, %d street lines, %d categories (%s), basemap %s, %.1f MB of data",
        len(inp.cells), layers["terrain_cells"] if "terrain_lost" in inp.cells.columns else "no terrain column",
        len(inp.communities), "" if inp.tiers is None else f" ({inp.tiers['tier'].nunique()} standard tiers)",
        layers["n_facilities"], layers["n_isochrones"], layers["iso_simplify_m"], layers["n_facility_isochrones"],
        layers["n_sites"], 0 if layers["edges"] is None else len(inp.edges), len(cats), inp.lang, inp.base.name,
        len(data_json.encode("utf-8")) / 1e6,
    )


def _banded_categories(inp: _Inputs, category_thresholds: Mapping[str, Sequence[tuple[str, float]]] | None,
                       ) -> list[dict[str, Any]]:
    """The map's categories (:func:`_category_info`); one with thresholds of its own gets
    ``bands``, those thresholds in minutes (ascending), which its cells' colours follow."""
    cats = _category_info(inp.categories, summary=inp.summary, facilities=inp.facilities, lang=inp.lang,
                          threshold=inp.threshold, labels=inp.labels)
    for c in cats:
        if (category_thresholds or {}).get(c["name"]):
            pairs = sorted(category_thresholds[c["name"]], key=lambda p: float(p[1]))  # type: ignore[index]
            c["bands"] = [float(m) for _, m in pairs]
            c["bandNames"] = [i18n.threshold_text(str(n), inp.lang) for n, _ in pairs]  # 5分钟 in Chinese
    return cats


def build_map(  # noqa: PLR0913 - one keyword argument per drawn layer
    *,
    cells: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None, facilities: gpd.GeoDataFrame | None,
    isochrones: gpd.GeoDataFrame | None, edges: gpd.GeoDataFrame | None,
    summary: Mapping[str, Any], categories: list[str] | tuple[str, ...], threshold_minutes: float,
    labels: Labels | None = None, lang: str = "zh", basemap: str = "none", tianditu_key: str | None = None,
    sites: gpd.GeoDataFrame | None = None, tiers: pd.DataFrame | None = None, facility_isochrones: bool = True,
    levels: Sequence[Mapping[str, Any]] | None = None,
    category_thresholds: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    indicators: pd.DataFrame | None = None,
) -> folium.Map:
    """Draw a run's results as an interactive, self-contained Leaflet map.

    The columns each frame needs are listed in the module's docstring ("Inputs").

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Grid cells of a regular grid (any CRS), drawn as images.
    communities, facilities, isochrones, edges : geopandas.GeoDataFrame or None
        Communities with coverage, facilities, isochrones (unions: ``facility == -1``) and
        the streets (drawn as the base when ``basemap="none"``).
    summary : mapping
        The run's summary (facts, per-category counts, optional terrain comparison).
    categories : list of str
        Categories in display order.
    threshold_minutes : float
        The life-circle threshold shown in labels.
    labels : mapping, optional
        ``{name: {"zh", "en", "colour"}}`` per category and requirement key (the catalogue's).
    lang : {"zh", "en"}, default "zh"
    basemap : {"none", "osm", "tianditu", "gaode"}, default "none"
    tianditu_key : str, optional
        Required for ``basemap="tianditu"``.
    sites : geopandas.GeoDataFrame, optional
        Suggested new facility sites, drawn as numbered markers.
    tiers : pandas.DataFrame, optional
        Per-community results of a life-circle standard, listed in community popups.
    facility_isochrones : bool, default True
        Send the per-facility isochrones (left out when larger than about 3 MB).
    levels : sequence of mapping, optional
        Governance levels (``key``, ``label``, ``table``: units with ``name``, ``code``,
        ``population``, ``underserved_people``, ``share_<c>``, geometry): one layer each in
        the layer control.
    category_thresholds : mapping, optional
        Per category, ``(label, minutes)`` of its own thresholds: its travel-time bands follow them.
    indicators : pandas.DataFrame, optional
        Official indicators (name, threshold, value, target) for a panel.

    Returns
    -------
    folium.Map
        A map whose page needs nothing outside itself except the chosen basemap's tiles;
        write it with :func:`save_map`.

    Raises
    ------
    OptionError
        Bad ``lang``, ``basemap``, key, threshold or categories, an input lacking a column,
        or cells that are not a regular grid.
    NoCrsError
        An input without a CRS.
    MapAssetError
        Leaflet cannot be found to inline.
    """
    inp = _check_inputs(
        cells=cells, communities=communities, facilities=facilities, isochrones=isochrones, edges=edges, summary=summary,
        categories=categories, threshold_minutes=threshold_minutes, labels=labels, lang=lang, basemap=basemap,
        tianditu_key=tianditu_key, sites=sites, tiers=tiers,
    )
    leaflet_assets(), _static_text("lifecircle.css"), _static_text("lifecircle.js")  # fail before the work if missing
    cats = _banded_categories(inp, category_thresholds)
    layers = _layer_data(inp, cats, facility_isochrones=facility_isochrones)
    extra = governance_parts(cats, levels=levels, thresholds=category_thresholds, indicators=indicators,
                             lang=inp.lang, shift=inp.base.shift)
    data_json = _data_block(inp, cats, layers, extra=extra)
    m = _assemble(inp, data_json, layers["bounds"])
    _log_summary(inp, cats, layers, data_json)
    return m


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> None:
    """Write the map as one self-contained HTML file, atomically.

    The page is rendered, checked to link no outside script, stylesheet or image
    (:func:`lifecircle.maps.assets.check_offline`), written to a temporary file in the
    target folder and moved into place with :func:`os.replace`, so that a failed run
    never leaves a half-written map.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`build_map`.
    path : path-like
        Output file (its folder must exist).

    Raises
    ------
    MapAssetError
        The page would load something from outside.
    OptionError
        The folder of ``path`` does not exist.

    Examples
    --------
    The small network's run drawn on its streets, with no outside script, stylesheet or image:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import lifecircle
    >>> from lifecircle.testing import small_network_file
    >>> result = lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], progress=False)
    >>> fmap = build_map(cells=result.cells, communities=None, facilities=None, isochrones=None,
    ...                  edges=result.network.edges, summary=result.summary.as_dict(),
    ...                  categories=["clinic", "school"], threshold_minutes=15, lang="en")
    >>> path = Path(tempfile.mkdtemp()) / "map.html"
    >>> save_map(fmap, path)
    >>> html = path.read_text(encoding="utf-8")
    >>> html.startswith("<!DOCTYPE html>"), 'src="http' in html
    (True, False)
    """
    target = write_page(m.get_root().render(), path)
    log.info("map %s: %.2f MB, self-contained", target.name, target.stat().st_size / 1e6)


# --------------------------------------------------------------------------- governance levels, thresholds, indicators

def _level_collection(level: Mapping[str, Any], cats: list[dict[str, Any]], lang: str, shift: str) -> str:
    """One governance level's units: outline and an escaped popup (name, code, people, shares)."""
    table = level["table"]
    t = style.TEXT[lang]
    props = []
    for row in table.to_dict("records"):
        rows = "".join(f"<tr><th>{_esc(c['label'])}</th><td>{_fmt_share(row.get(schema.share_column(c['name'])))}</td></tr>"
                       for c in cats if not c["noData"])
        html = (f'<div class="lc-popup"><div class="lc-popup-title">{_esc(row.get("name"))}</div>'
                f'<div>{_esc(level["label"])} · {_esc(row.get("code"))}</div>'
                f'<div>{_esc(t["population"])}: {_fmt_int(row.get("population"))}</div>'
                f'<div>{_esc(i18n.LEVEL_HEADERS[lang]["underserved_people"])}: '
                f'{_fmt_int(row.get("underserved_people"))}</div>'
                f'<table class="lc-table">{rows}</table></div>')
        props.append({"n": str(row.get("name")), "c": str(row.get("code")), "html": html})
    geoms = _display_geometries(table, simplify_m=_SIMPLIFY_M["communities"], shift=shift)
    return _feature_collection(geoms, props)


def _indicators_html(indicators: pd.DataFrame | None, thresholds: Mapping[str, Sequence[tuple[str, float]]],
                     cats: list[dict[str, Any]], lang: str) -> str:
    """The indicator panel (name, threshold, value, target) and each category's own thresholds."""
    words = i18n.INDICATOR_HEADERS[lang]
    level_words = i18n.LEVEL_TEXT[lang]
    parts = []
    if indicators is not None and len(indicators):
        rows = []
        for rec in indicators.to_dict("records"):
            value = rec.get("value")
            shown = _fmt_share(value) if value is not None and value == value else _esc(level_words["not_assessed"])
            target = rec.get("target")
            aim = f" / {_fmt_share(target)}" if target is not None and target == target else ""
            rows.append(f"<tr><th>{_esc(rec['name_zh' if lang == 'zh' else 'name_en'])}</th>"
                        f"<td>{_esc(i18n.threshold_text(rec.get('threshold'), lang))}</td><td>{shown}{aim}</td></tr>")
        parts.append(f'<table class="lc-table lc-indicator-table"><tr><th></th><th>{_esc(words["threshold"])}</th>'
                     f'<th>{_esc(words["value"])}</th></tr>{"".join(rows)}</table>')
    own = [(c, thresholds.get(c["name"], ())) for c in cats if len(thresholds.get(c["name"], ())) > 1
           or any(not str(lbl).endswith("min") for lbl, _ in thresholds.get(c["name"], ()))]
    if own:
        lines = "".join(f"<div>{_esc(c['label'])}: {_esc(' / '.join(i18n.threshold_text(lbl, lang) for lbl, _ in pairs))}</div>"
                        for c, pairs in own)
        parts.append(f'<div class="lc-summary-title">{_esc(level_words["thresholds"])}</div>{lines}')
    if not parts:
        return ""
    # Closed at first: the panel sits below the summary and must not cover the map.
    return f'<details><summary>{_esc(level_words["indicators"])}</summary>{"".join(parts)}</details>'


def governance_parts(cats: list[dict[str, Any]], *, levels: Sequence[Mapping[str, Any]] | None,
                     thresholds: Mapping[str, Sequence[tuple[str, float]]] | None,
                     indicators: pd.DataFrame | None, lang: str, shift: str) -> dict[str, str]:
    """The page's data for the governance levels (one layer-control entry each) and the
    indicator panel (escaped, inert JSON).

    A category's own thresholds colour its cells through the category's ``bands``
    (:mod:`lifecircle.maps.cell_layer`), not through this data.

    Parameters
    ----------
    cats : list of dict
        The map's categories (``name``, ``label``, ``noData`` ...), in the selector's order.
    levels : sequence of mapping, optional
        The governance levels, top first: ``key``, ``label`` and ``table`` (the units'
        outlines in a projected CRS, with :func:`lifecircle.spatial.hierarchy.unit_table`'s
        columns); a level without units is left out. ``None``: no levels.
    thresholds : mapping, optional
        Per category, ``(label, minutes)`` of its own thresholds, listed in the panel when
        more than one or in metres. ``None``: none.
    indicators : pandas.DataFrame, optional
        :func:`lifecircle.tables.indicator_table`; ``None`` or empty: no indicator rows.
    lang : {"zh", "en"}
        The language of the popups and the panel.
    shift : {"wgs84", "gcj02"}
        The system the basemap's tiles are drawn in (:class:`lifecircle.maps.basemaps.Basemap`):
        outlines are shifted to GCJ-02 for ``"gcj02"``, left in WGS 84 otherwise.

    Returns
    -------
    dict of str to str
        ``levels`` (a JSON list of ``{"key", "label", "units"}``, ``units`` a GeoJSON
        FeatureCollection in WGS 84 with escaped popups) and ``indicatorsHtml`` (a JSON
        string, empty when there is nothing to show).
    """
    thresholds = thresholds or {}
    level_data = [{"key": str(lv["key"]), "label": str(lv["label"]),
                   "units": json.loads(_level_collection(lv, cats, lang, shift))}
                  for lv in (levels or ()) if len(lv["table"])]
    return {"levels": _json(level_data),
            "indicatorsHtml": _json(_indicators_html(indicators, thresholds, cats, lang))}
