"""The index map of a batch of areas: one offline page with every area's outline, its status
and headline figures, each linking to the area's own map.

Kept deliberately plain: an inline SVG drawn from the outlines (no tiles, no script
library), a table, and the same figures as inert JSON (``<script type="application/json">``,
never executed) for tools. Every text from the data (area names, codes, error messages) is
escaped; no template engine is involved.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from lifecircle.i18n import BATCH_TEXT
from lifecircle.maps.assets import write_page

__all__ = ["build_index_map", "save_index_map", "inert_json"]

_WIDTH = 900  # SVG pixels across
_COLOURS = {"done": "#2b8cbe", "failed": "#d7301f"}


def inert_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` and line
    separators escaped, so no text from the data can close the element or start markup.

    Parameters
    ----------
    data : object
        JSON-ready values.

    Returns
    -------
    str

    Examples
    --------
    >>> inert_json({"name": "</script><b>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, sort_keys=True)
    for raw, safe in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                      ("\u2029", "\\u2029")):
        text = text.replace(raw, safe)
    return text


def _share_colour(share: float | None) -> str:
    """Light to dark green by the share of people within the threshold (grey: unknown)."""
    if share is None or not math.isfinite(share):
        return "#bdbdbd"
    steps = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"]
    return steps[min(int(share * len(steps)), len(steps) - 1)]


def _paths(geoms: np.ndarray, bounds: tuple[float, float, float, float]) -> tuple[list[str], int]:
    """SVG path data of each outline, scaled into the page (x east, y south); the height."""
    west, south, east, north = bounds
    kx = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * kx, 1e-9)
    scale = (_WIDTH - 20) / span_x
    height = int(max((north - south) * scale, 1) + 20)
    out = []
    for geom in geoms:
        parts = []
        for ring in shapely.get_rings(shapely.get_parts(geom)) if geom is not None else []:
            xy = shapely.get_coordinates(ring)
            px = 10 + (xy[:, 0] - west) * kx * scale
            py = 10 + (north - xy[:, 1]) * scale
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py)) + " Z")
        out.append(" ".join(parts))
    return out, height


def build_index_map(areas: gpd.GeoDataFrame, *, categories: Sequence[str], minutes: float,
                    labels: Mapping[str, Mapping[str, str]] | None = None, lang: str = "zh") -> str:
    """The index page of a batch as HTML text.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        One row per area with ``name``, ``code``, ``status`` (``done`` / ``failed``), ``link``
        (relative path of the area's map, empty when none), ``attempts``, ``error``, ``cells``,
        ``people``, ``underserved_cells`` and ``share_<category>`` (share of people within
        the threshold, 0-1 or NaN); any CRS (drawn in longitude/latitude). With a
        ``population_kind`` other than ``people`` the people column is headed as a weight.
    categories : sequence of str
        The categories to show, in order.
    minutes : float
        The threshold, for the column headers.
    labels : mapping, optional
        Category labels per language (the catalogue's); default the names.
    lang : {"zh", "en"}

    Returns
    -------
    str
    """
    t = BATCH_TEXT[lang]
    esc = html.escape
    label = {c: str((labels or {}).get(c, {}).get(lang, c)) for c in categories}
    wgs = areas.to_crs(4326) if areas.crs is not None else areas
    geoms = wgs.geometry.to_numpy()
    valid = [g for g in geoms if g is not None and not g.is_empty]
    west, south, east, north = (float(v) for v in shapely.total_bounds(valid)) if valid else (0.0, 0.0, 1.0, 1.0)
    bounds = (west, south, east, north)
    paths, height = _paths(geoms, bounds)
    first = categories[0] if categories else None
    rows, shapes, data = [], [], []
    for i, (row, path) in enumerate(zip(wgs.itertuples(index=False), paths)):
        status = str(row.status)
        shares = {c: _float(getattr(row, f"share_{c}", None)) for c in categories}
        fill = _share_colour(shares[first] if first else None) if status == "done" else _COLOURS["failed"]
        title = f"{row.name} ({row.code}): {t.get(status, status)}"
        link = str(row.link or "")
        shape = (f'<path d="{esc(path)}" fill="{fill}" stroke="#333" stroke-width="0.8">'
                 f"<title>{esc(title)}</title></path>")
        shapes.append(f'<a href="{esc(link)}">{shape}</a>' if link else shape)
        cells = [esc(str(row.name)), esc(str(row.code)), esc(t.get(status, status)), esc(str(row.attempts)),
                 _num(row.cells), _num(row.people), _num(row.underserved_cells),
                 *[("" if shares[c] is None else f"{shares[c]:.1%}") for c in categories],
                 f'<a href="{esc(link)}">{esc(t["open_map"])}</a>' if link else esc(_short(row.error))]
        rows.append(f'<tr id="area-{i}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        data.append({"name": str(row.name), "code": str(row.code), "status": status, "link": link,
                     "attempts": int(row.attempts), "error": _short(row.error), "cells": _int(row.cells),
                     "people": _float(row.people), "underserved_cells": _int(row.underserved_cells),
                     "shares": shares})
    done = sum(1 for d in data if d["status"] == "done")
    failed = sum(1 for d in data if d["status"] == "failed")
    kinds = set(areas["population_kind"].dropna()) if "population_kind" in areas else {"people"}
    people = t["people"] if kinds <= {"people"} else t["weight"]
    heads = [t["area"], t["area_code"], t["status"], t["attempts"], t["cells"], people, t["underserved_cells"],
             *[t["share"].format(minutes=minutes, category=label[c]) for c in categories], ""]
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"", "zh-CN" if lang == "zh" else "en", "\"><head><meta charset=\"utf-8\">",
        f"<title>{esc(t['title'])}</title>",
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}svg a path:hover{stroke-width:2.5}</style>",
        "</head><body>",
        f"<h1>{esc(t['title'])}</h1>",
        f"<p>{esc(t['summary'].format(done=done, total=len(data), failed=failed))}</p>",
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}">', *shapes, "</svg>",
        "<table><thead><tr>", *[f"<th>{esc(h)}</th>" for h in heads], "</tr></thead><tbody>", *rows,
        "</tbody></table>",
        f'<script type="application/json" id="areas">{inert_json(data)}</script>',
        "</body></html>\n",
    ])


def save_index_map(text: str, path: str | Path) -> Path:
    """Write the index page atomically (UTF-8), after checking it links nothing from outside.

    Parameters
    ----------
    text : str
        From :func:`build_index_map`.
    path : path

    Returns
    -------
    pathlib.Path
    """
    return write_page(text, path)


def _float(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(value: Any) -> int | None:
    v = _float(value)
    return None if v is None else int(v)


def _num(value: Any) -> str:
    v = _float(value)
    return "" if v is None else f"{v:,.0f}"


def _short(value: Any, limit: int = 300) -> str:
    text = "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
