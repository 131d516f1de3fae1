"""The grid cells' part of the map's data: images per layer and compact arrays per cell.

:func:`cell_layer` turns the cells of a run into what the page draws and looks up:

* one colour image per category (minute bands, unreachable, no access, no data), one of
  the under-served cells (tinted, outlined) and, with a ``terrain_lost`` column, one of the
  cells that lose coverage to terrain (hatched, outlined); 8-bit palette PNGs inlined as
  ``data:`` URIs and placed with ``L.imageOverlay`` (see :mod:`lifecircle.maps.raster` for
  the projection and its error);
* per cell, in lattice order (north row first, west to east), base64 little-endian arrays:
  minutes per category in tenths (uint16, 65535 = unreachable or no data), flags (uint8:
  1 on the network, 2 under-served), the missing categories and those lost to terrain as
  bit sets (``ceil(categories / 8)`` bytes per cell), the community (index + 1 into a list
  of names, 0 = none) and the population in whole people (uint16, or uint32 when a cell
  holds 65,535 or more; the largest value = unknown); plus a bit mask of the
  lattice positions that hold a cell, from which the page builds its position → cell table.

The page shows the same minutes, community, population, missing and terrain-lost
categories as the cell popups always did; every value comes from the cells' columns.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle import schema
from lifecircle._errors import OptionError
from lifecircle.maps import raster, style

__all__ = ["cell_layer", "NO_MINUTES", "split_names"]

log = logging.getLogger(__name__)

#: Stored for "no minutes" (unreachable, no access, no data); minutes are stored in tenths
#: and capped just below (6,553.4 min, far beyond any walk).
NO_MINUTES = 65535
_UNREACHABLE, _NO_ACCESS, _NO_DATA = 7, 8, 9  # palette indices after the 6 bands (1-6)


def _rgba(colour: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), round(alpha * 255)


def split_names(value: Any) -> list[str]:
    """Comma-separated names -> list (empty for "", None, NaN; lists and tuples as they are).

    Parameters
    ----------
    value : str, sequence or None

    Returns
    -------
    list of str

    Examples
    --------
    >>> split_names("clinic, school,"), split_names(None), split_names(float("nan")), split_names(("a", " b"))
    (['clinic', 'school'], [], [], ['a', 'b'])
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _bitsets(values: Sequence[Any], index: Mapping[str, int], drawn: Sequence[bool]) -> np.ndarray:
    """``(n, ceil(k / 8))`` bytes: bit ``j`` set when category ``j`` (drawn) is named in the value."""
    n_bytes = max(1, (len(drawn) + 7) // 8)
    bits = np.zeros((len(values), n_bytes * 8), dtype=bool)
    # Few distinct texts (combinations of categories): split each once.
    series = pd.Series(list(values), dtype=object)
    try:
        codes, uniques = pd.factorize(series)
    except TypeError:  # lists or tuples of names: as text first
        codes, uniques = pd.factorize(series.map(lambda v: ",".join(split_names(v))))
    table = np.zeros((len(uniques), n_bytes * 8), dtype=bool)
    for u, text in enumerate(uniques):
        for name in split_names(text):
            j = index.get(name)
            if j is not None and drawn[j]:
                table[u, j] = True
    valid = codes >= 0
    bits[valid] = table[codes[valid]]
    return np.packbits(bits, axis=1, bitorder="little")


def _minutes(cells: gpd.GeoDataFrame, cats: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(n, k)`` uint16 tenths of minutes (NO_MINUTES for none), rounded as the page shows them."""
    out = np.full((len(cells), len(cats)), NO_MINUTES, dtype=np.uint16)
    for j, c in enumerate(cats):
        col = schema.minutes_column(c["name"])
        if col not in cells.columns:
            if not c["noData"]:
                raise OptionError(
                    f"cells lacks column {col} for category {c['name']!r}; found columns {', '.join(map(str, cells.columns))}."
                )
            continue
        if c["noData"]:
            continue
        tenths = np.round(pd.to_numeric(cells[col], errors="coerce").to_numpy(dtype=float) * 10.0)
        ok = np.isfinite(tenths) & (tenths >= 0)
        out[ok, j] = np.minimum(tenths[ok], NO_MINUTES - 1).astype(np.uint16)
    return out


def _colour_classes(minutes: np.ndarray, on_network: np.ndarray, no_data: bool,
                    own: Sequence[float] | None = None) -> np.ndarray:
    """Palette index per cell for one category: band 1-6, unreachable, no access or no data.

    ``own``: the category's own thresholds (minutes, ascending): greens within each (bands
    1-3), orange up to twice the largest (5), red beyond (6).
    """
    if no_data:
        return np.full(len(minutes), _NO_DATA, dtype=np.uint8)
    if own:
        limits = np.array([*own, 2 * own[-1]]) * 10.0
        step = np.searchsorted(limits, minutes.astype(float), side="left")  # within a threshold: at most it
        band = np.where(step < len(own), np.minimum(step, 2) + 1, np.where(step == len(own), 5, 6))
    else:
        highs = np.array([b.high * 10.0 for b in style.MINUTE_BANDS])
        band = np.minimum(np.searchsorted(highs, minutes.astype(float), side="right"), len(highs) - 1) + 1
    classes = np.where(minutes == NO_MINUTES, _UNREACHABLE, band).astype(np.uint8)
    classes[~on_network] = _NO_ACCESS
    return classes


_TRAVEL_PALETTE = [
    (0, 0, 0, 0),
    *(_rgba(b.color) for b in style.MINUTE_BANDS),
    _rgba(style.UNREACHABLE_COLOR),
    _rgba(style.NO_ACCESS_COLOR),
    _rgba(style.NO_DATA_COLOR),
]


def _png_uri(pixels: np.ndarray, palette: list[tuple[int, int, int, int]]) -> str:
    return "data:image/png;base64," + raster.b64(raster.palette_png(pixels, palette))


def _travel_images(index: np.ndarray, classes: list[np.ndarray]) -> list[str]:
    """PNG data URIs of the travel time per category (palette :data:`_TRAVEL_PALETTE`)."""
    inside = index >= 0
    safe = np.where(inside, index, 0)
    return [_png_uri(np.where(inside, c[safe], 0).astype(np.uint8), _TRAVEL_PALETTE) for c in classes]


def _flag_images(index: np.ndarray, underserved: np.ndarray, lost: np.ndarray | None, *, detailed: bool) -> dict[str, Any]:
    """PNG data URIs of the under-served cells (a red tint) and of those lost to terrain (brown).

    With ``detailed`` (6 or more pixels per cell side) each cell is outlined with one pixel
    and the terrain cells are hatched at 45° (a stripe every 4 pixels); else both are tints,
    which at such sizes are all a screen shows.
    """
    inside = index >= 0
    safe = np.where(inside, index, 0)

    def marked(flag: np.ndarray, fill: np.ndarray | int) -> np.ndarray:
        """2 on outline pixels of flagged cells, ``fill`` inside them, 0 elsewhere."""
        on = np.where(inside, flag[safe], False)
        edge = raster.edge_mask(np.where(on, index, -1)) if detailed else np.zeros(index.shape, dtype=bool)
        return np.where(edge, 2, np.where(on, fill, 0)).astype(np.uint8)

    red, brown = style.UNDERSERVED_COLOR, style.TERRAIN_LOST_COLOR
    images: dict[str, Any] = {
        "underserved": _png_uri(marked(underserved, 1), [(0, 0, 0, 0), _rgba(red, 0.25 if detailed else 0.4), _rgba(red, 0.9)]),
        "terrain": None,
    }
    if lost is not None:
        rows, cols = np.indices(index.shape)
        stripe = np.where((rows + cols) % 4 == 0, 3, 1) if detailed else 1
        palette = [(0, 0, 0, 0), (255, 255, 255, 64) if detailed else _rgba(brown, 0.45), _rgba(brown, 0.95), _rgba(brown, 0.85)]
        images["terrain"] = _png_uri(marked(lost, stripe), palette)
    return images


def _lattice_order(layout: raster.GridLayout) -> tuple[np.ndarray, np.ndarray]:
    """Input rows in lattice order (first of any repeated position), and the position → cell table."""
    position = layout.row * layout.cols + layout.col
    order = np.lexsort((np.arange(len(position)), position))
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = position[order][1:] != position[order][:-1]
    if not keep.all():
        log.warning("map: %d cells repeat another cell's place on the grid; the first of each is drawn", int((~keep).sum()))
    order = order[keep]
    lookup = np.full(layout.rows * layout.cols, -1, dtype=np.int32)
    lookup[position[order]] = np.arange(len(order), dtype=np.int32)
    return order, lookup.reshape(layout.rows, layout.cols)


def _cell_arrays(cells: gpd.GeoDataFrame, cats: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per cell, in the frame's order: minutes, flags, bit sets, community and population."""
    index = {c["name"]: j for j, c in enumerate(cats)}
    drawn = [not c["noData"] for c in cats]
    on_network = cells["access"].astype(str).to_numpy() == "network"
    missing = _bitsets(cells["missing"].tolist(), index, drawn)
    # Under-served as drawn: on the network and missing a category that has data.
    underserved = cells["underserved"].fillna(False).astype(bool).to_numpy() & on_network & missing.any(axis=1)
    codes, names = pd.factorize(cells["community"].astype(object))  # None and NaN: code -1, "no community"
    return {
        "minutes": _minutes(cells, cats),
        "on_network": on_network,
        "underserved": underserved,
        "missing": missing,
        "lost": _bitsets(cells["terrain_lost"].tolist(), index, drawn) if "terrain_lost" in cells.columns else None,
        "community": (codes + 1).astype(np.uint32),
        "names": [str(n) for n in names],
        "population": _people(pd.to_numeric(cells["population"], errors="coerce").to_numpy(dtype=float)),
    }


def _people(population: np.ndarray) -> np.ndarray:
    """Population rounded to whole people as the page shows it: uint16 (uint32 past 65,534), the top value = unknown."""
    dtype = np.uint16 if np.nanmax(population, initial=0) < 65534.5 else np.uint32
    unknown = np.iinfo(dtype).max
    known = np.isfinite(population) & (population >= 0)
    out = np.full(len(population), unknown, dtype=dtype)
    out[known] = np.minimum(np.rint(population[known]), unknown - 1).astype(dtype)
    return out


def cell_layer(cells: gpd.GeoDataFrame, cats: Sequence[Mapping[str, Any]], *, shift: str = "none") -> tuple[dict[str, Any] | None, int]:
    """The cells' images and arrays for the page's data block.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Grid cells (see :func:`lifecircle.maps.build_map`): ``community``, ``population``,
        ``access``, ``underserved``, ``missing``, ``minutes_to_<cat>`` per category with
        data, optionally ``terrain_lost``; a regular grid (:func:`raster.grid_layout`).
    cats : sequence of mapping
        Per category in display order: ``name`` and ``noData``.
    shift : {"none", "gcj02"}, default "none"
        Display shift for Gaode's tiles.

    Returns
    -------
    (dict or None, int)
        JSON-ready data (None when there are no cells) and the number of cells that lose
        coverage to terrain.

    Raises
    ------
    OptionError
        A category with data lacks its minutes column, or the cells are not a regular grid.
    """
    if len(cells) == 0:
        return None, 0
    layout = raster.grid_layout(cells)
    arrays = _cell_arrays(cells, cats)  # validates the columns before the images are made
    order, lookup = _lattice_order(layout)
    transform = raster.display_transform(layout, shift=shift)
    factor, pixel = raster.choose_oversample(layout, transform)
    index, bounds = raster.warp_index(layout, transform, lookup, pixel=pixel)
    minutes = arrays["minutes"][order]
    on_network, underserved = arrays["on_network"][order], arrays["underserved"][order]
    lost = None if arrays["lost"] is None else arrays["lost"][order]
    classes = [_colour_classes(minutes[:, j], on_network, bool(c["noData"]), c.get("bands")) for j, c in enumerate(cats)]
    # The under-served and terrain images are mostly transparent: finer where the budget allows.
    fine, fine_pixel = raster.choose_oversample(layout, transform, factors=(8, 6, factor))
    fine_index, fine_bounds = (index, bounds) if fine == factor else raster.warp_index(layout, transform, lookup, pixel=fine_pixel)
    images = {"travel": _travel_images(index, classes),
              **_flag_images(fine_index, underserved, None if lost is None else lost.any(axis=1), detailed=fine >= 6)}
    ground = min(layout.dx, layout.dy) / factor
    n_names = len(arrays["names"])
    community = arrays["community"][order].astype(np.uint16 if n_names < 65535 else np.uint32)
    data = {
        "lattice": {"cols": layout.cols, "rows": layout.rows, "west": layout.west, "north": layout.north,
                    "dx": layout.dx, "dy": layout.dy},
        "transform": transform.as_json(),
        "placementError": round(transform.error, 4),
        "pixel": round(ground, 3),
        "bounds": bounds,
        "flagBounds": fine_bounds,
        "count": len(order),
        "occupied": raster.b64(np.packbits(lookup.ravel() >= 0, bitorder="little")),
        "minutes": [None if c["noData"] else raster.b64(minutes[:, j]) for j, c in enumerate(cats)],
        "flags": raster.b64(on_network.astype(np.uint8) | (underserved.astype(np.uint8) << 1)),
        "bytesPerSet": int(arrays["missing"].shape[1]),
        "missing": raster.b64(arrays["missing"][order]),
        "lost": None if lost is None else raster.b64(lost),
        "community": raster.b64(community),
        "communityBytes": community.dtype.itemsize,
        "communities": arrays["names"],
        "population": raster.b64(arrays["population"][order]),
        "populationBytes": arrays["population"].dtype.itemsize,
        "images": images,
    }
    log.info(
        "map: %d cells on a %d x %d grid, drawn as images of %d x %d pixels (%d per cell side: edges within %.1f m), "
        "placed within %.3g grid units", len(order), layout.cols, layout.rows, index.shape[1], index.shape[0], factor,
        ground / 2, transform.error,
    )
    return data, 0 if lost is None else int(lost.any(axis=1).sum())
