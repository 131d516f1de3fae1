"""The grid cells of a run as images placed on the web map, and the lookup back to a cell.

A city's grid has hundreds of thousands of cells; one vector polygon per cell makes a page
of hundreds of MB that a browser cannot open. Instead each cell layer is one image, and the
page finds the cell under the pointer itself:

* :func:`grid_layout` recognises the cells as a regular lattice of axis-aligned cells in
  their CRS (as :func:`lifecircle.spatial.grid.make_grid` makes them; cells reprojected to
  another CRS are recognised in their local UTM zone) and gives each its column and row.
* :func:`display_transform` fits a polynomial from the map's coordinates (Web Mercator
  metres, EPSG:3857, as Leaflet projects; GCJ-02 shifted for Gaode's tiles) to the grid's
  CRS. Exact coordinates (pyproj, and the GCJ-02 inverse) are sampled over the grid's
  extent; the degree grows from 3 until the largest error on a finer check lattice is
  under a twentieth of a cell (a few centimetres for a district in UTM: the error is
  measured and reported, :attr:`DisplayTransform.error`).
* :func:`warp_index` samples that mapping at each pixel centre of an image laid out in
  Web Mercator (what :js:`L.imageOverlay` stretches linearly between its bounds), with
  ``oversample`` pixels per cell side (up to 4, fewer for very large grids), so a cell
  edge is drawn within half a pixel: at most an eighth of a cell (12.5 m at 100 m cells).
  The UTM grid is turned against the map's north by the meridian convergence (0.74° at
  Chongqing), which an image of one pixel per cell could not show without such warping.
* The browser evaluates the same polynomial for the pointer's position, so the tooltip
  names the cell the image shows there.

Images are 8-bit palette PNGs written here with :mod:`zlib` (same inputs, same bytes).
Nothing about access is computed: colours come from the minutes and flags of the cells.
"""

from __future__ import annotations

import base64
import logging
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from lifecircle._errors import OptionError
from lifecircle.layers.chinese_coords import gcj02_to_wgs84, wgs84_to_gcj02

__all__ = [
    "GridLayout",
    "DisplayTransform",
    "grid_layout",
    "display_transform",
    "warp_index",
    "choose_oversample",
    "palette_png",
    "edge_mask",
    "b64",
    "MAX_IMAGE_PIXELS",
]

log = logging.getLogger(__name__)

#: Pixels of one cell layer image at most: the oversampling drops (4, 3, 2, 1 pixels per
#: cell side) until the image fits. 6 M pixels decode in tens of milliseconds.
MAX_IMAGE_PIXELS = 6_000_000
#: Relative tolerance for cells to count as one lattice (edges on multiples of the size).
_LATTICE_RTOL = 1e-3
_WEB_MERCATOR = pyproj.CRS.from_epsg(3857)
_WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass(frozen=True)
class GridLayout:
    """Where each cell sits on its lattice.

    Attributes
    ----------
    crs : pyproj.CRS
        The CRS the lattice is regular in (the cells' own, or their local UTM zone).
    west, north : float
        Coordinates of the lattice's north-west corner (column 0, row 0), in ``crs``.
    dx, dy : float
        Cell width and height in ``crs`` units.
    cols, rows : int
        Size of the lattice.
    col, row : numpy.ndarray
        Column and row of each input cell (int64, in the frame's order).
    """

    crs: pyproj.CRS
    west: float
    north: float
    dx: float
    dy: float
    cols: int
    rows: int
    col: np.ndarray
    row: np.ndarray


@dataclass(frozen=True)
class DisplayTransform:
    """A polynomial from the map's coordinates to the grid's (see :func:`display_transform`).

    Attributes
    ----------
    center, scale : tuple of float
        ``u = (X - center[0]) / scale``, ``v = (Y - center[1]) / scale``, with ``X, Y``
        in Web Mercator metres of the displayed (possibly shifted) position.
    powers : list of (int, int)
        Exponents ``(i, j)`` of the terms ``u**i * v**j``.
    east, north : numpy.ndarray
        Coefficients of the grid CRS's x and y per term.
    error : float
        Largest distance (grid CRS units) between the polynomial and the exact
        transformation on a check lattice of 101 × 101 points over the extent.
    bounds : tuple of float
        ``(xmin, ymin, xmax, ymax)`` of the grid in Web Mercator metres (displayed).
    """

    center: tuple[float, float]
    scale: float
    powers: list[tuple[int, int]]
    east: np.ndarray
    north: np.ndarray
    error: float
    bounds: tuple[float, float, float, float]

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid CRS coordinates of Web Mercator points.

        Parameters
        ----------
        x, y : numpy.ndarray
            Web Mercator metres (displayed), arrays of any shape that broadcast.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            x and y in the grid's CRS.
        """
        u = (np.asarray(x, dtype=float) - self.center[0]) / self.scale
        v = (np.asarray(y, dtype=float) - self.center[1]) / self.scale
        e = np.zeros(np.broadcast(u, v).shape)
        n = np.zeros_like(e)
        for (i, j), ce, cn in zip(self.powers, self.east, self.north, strict=True):
            term = u**i * v**j
            e += ce * term
            n += cn * term
        return e, n

    def as_json(self) -> dict[str, object]:
        """The polynomial as plain numbers for the page's script.

        Returns
        -------
        dict
            ``center``, ``scale``, ``powers``, ``east``, ``north``.
        """
        return {
            "center": [float(c) for c in self.center],
            "scale": float(self.scale),
            "powers": [list(p) for p in self.powers],
            "east": [float(c) for c in self.east],
            "north": [float(c) for c in self.north],
        }


def _lattice(bounds: np.ndarray, areas: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray] | None:
    """(dx, dy, col, row) when the bounds are equal axis-aligned rectangles on one lattice."""
    width, height = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    dx, dy = float(np.median(width)), float(np.median(height))
    if not (dx > 0 and dy > 0):
        return None
    same = np.allclose(width, dx, rtol=_LATTICE_RTOL, atol=0) and np.allclose(height, dy, rtol=_LATTICE_RTOL, atol=0)
    if not same or not np.allclose(areas, dx * dy, rtol=10 * _LATTICE_RTOL, atol=0):
        return None
    col_f = (bounds[:, 0] - bounds[:, 0].min()) / dx
    row_f = (bounds[:, 3].max() - bounds[:, 3]) / dy
    col, row = np.rint(col_f), np.rint(row_f)
    if np.abs(col_f - col).max() > 10 * _LATTICE_RTOL or np.abs(row_f - row).max() > 10 * _LATTICE_RTOL:
        return None
    return dx, dy, col.astype(np.int64), row.astype(np.int64)


def grid_layout(cells: gpd.GeoDataFrame) -> GridLayout:
    """Column and row of every cell of a regular grid.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Non-empty cells with a CRS: equal axis-aligned rectangles whose edges lie on one
        lattice in the cells' CRS, or in their local UTM zone (cells reprojected after
        :func:`lifecircle.spatial.grid.make_grid`).

    Returns
    -------
    GridLayout

    Raises
    ------
    OptionError
        The cells are not such a grid (the message says what was found).
    """
    geoms = np.asarray(cells.geometry.values, dtype=object)
    if len(geoms) == 0 or bool(np.any(shapely.is_missing(geoms) | shapely.is_empty(geoms))):
        raise OptionError("cells must be non-empty polygons of a regular grid; found empty or missing geometries.")
    candidates = [cells.crs]
    if not cells.crs.is_projected or cells.crs.utm_zone is None:
        candidates.append(cells.estimate_utm_crs())
    for crs in candidates:
        frame_geoms = geoms if crs == cells.crs else np.asarray(cells.geometry.to_crs(crs).values, dtype=object)
        bounds = shapely.bounds(frame_geoms)
        found = _lattice(bounds, shapely.area(frame_geoms))
        if found is not None:
            dx, dy, col, row = found
            return GridLayout(
                crs=pyproj.CRS(crs), west=float(bounds[:, 0].min()), north=float(bounds[:, 3].max()), dx=dx, dy=dy,
                cols=int(col.max()) + 1, rows=int(row.max()) + 1, col=col, row=row,
            )
    raise OptionError(
        "cells must be a regular grid of equal axis-aligned squares or rectangles (as lifecircle.spatial.grid.make_grid "
        f"makes them) in their CRS or in their local UTM zone; found cells of {len(geoms)} shapes that are not "
        f"(widths {float(np.ptp(shapely.bounds(geoms)[:, 2] - shapely.bounds(geoms)[:, 0])):g} apart at most)."
    )


def _to_display(layout: GridLayout, x: np.ndarray, y: np.ndarray, shift: str) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = pyproj.Transformer.from_crs(layout.crs, _WGS84, always_xy=True).transform(x, y)
    if shift == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return pyproj.Transformer.from_crs(_WGS84, _WEB_MERCATOR, always_xy=True).transform(lon, lat)


def _from_display(layout: GridLayout, x: np.ndarray, y: np.ndarray, shift: str) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = pyproj.Transformer.from_crs(_WEB_MERCATOR, _WGS84, always_xy=True).transform(x, y)
    if shift == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    return pyproj.Transformer.from_crs(_WGS84, layout.crs, always_xy=True).transform(lon, lat)


def _design(u: np.ndarray, v: np.ndarray, powers: Sequence[tuple[int, int]]) -> np.ndarray:
    return np.stack([u**i * v**j for i, j in powers], axis=1)


def display_transform(layout: GridLayout, *, shift: str = "none", max_degree: int = 7) -> DisplayTransform:
    """Fit the polynomial from the map's Web Mercator metres to the grid's CRS.

    Parameters
    ----------
    layout : GridLayout
    shift : {"none", "gcj02"}, default "none"
        Whether the map shows the grid shifted to GCJ-02 (for Gaode's tiles).
    max_degree : int, default 7
        Highest total degree tried; the first degree from 3 whose error is under a
        twentieth of the smaller cell side is kept (else the most accurate one).

    Returns
    -------
    DisplayTransform
    """
    # The grid's outline, densified, gives the displayed extent.
    t = np.linspace(0.0, 1.0, 33)
    east_edge = layout.west + layout.cols * layout.dx
    south_edge = layout.north - layout.rows * layout.dy
    ox = np.concatenate([layout.west + t * (east_edge - layout.west), np.full_like(t, east_edge),
                         east_edge - t * (east_edge - layout.west), np.full_like(t, layout.west)])
    oy = np.concatenate([np.full_like(t, layout.north), layout.north - t * (layout.north - south_edge),
                         np.full_like(t, south_edge), south_edge + t * (layout.north - south_edge)])
    mx, my = _to_display(layout, ox, oy, shift)
    bounds = (float(mx.min()), float(my.min()), float(mx.max()), float(my.max()))
    center = ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    scale = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 2 or 1.0
    fit_u, fit_v = (a.ravel() for a in np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41)))
    chk_u, chk_v = (a.ravel() for a in np.meshgrid(np.linspace(-1, 1, 101), np.linspace(-1, 1, 101)))
    fit_e, fit_n = _from_display(layout, center[0] + fit_u * scale, center[1] + fit_v * scale, shift)
    chk_e, chk_n = _from_display(layout, center[0] + chk_u * scale, center[1] + chk_v * scale, shift)
    wanted = min(layout.dx, layout.dy) / 20.0
    best: DisplayTransform | None = None
    for degree in range(3, max(3, max_degree) + 1):
        powers = [(i, d - i) for d in range(degree + 1) for i in range(d, -1, -1)]
        a = _design(fit_u, fit_v, powers)
        ce = np.linalg.lstsq(a, fit_e, rcond=None)[0]
        cn = np.linalg.lstsq(a, fit_n, rcond=None)[0]
        check = _design(chk_u, chk_v, powers)
        error = float(np.hypot(check @ ce - chk_e, check @ cn - chk_n).max())
        candidate = DisplayTransform(center=center, scale=scale, powers=powers, east=ce, north=cn, error=error, bounds=bounds)
        if best is None or error < best.error:
            best = candidate
        if error <= wanted:
            break
    assert best is not None  # the loop runs at least once
    if best.error > wanted:
        log.warning("map: the cell layer is placed within %.2f (grid units), more than a twentieth of a cell", best.error)
    return best


def choose_oversample(
    layout: GridLayout, transform: DisplayTransform, *, budget: int = MAX_IMAGE_PIXELS, factors: Sequence[int] = (4, 3, 2, 1)
) -> tuple[int, float]:
    """Pixels per cell side (the first of ``factors``) so that the image holds at most ``budget`` pixels.

    Parameters
    ----------
    layout : GridLayout
    transform : DisplayTransform
    budget : int, default MAX_IMAGE_PIXELS
    factors : sequence of int, default (4, 3, 2, 1)
        Candidates, best first; 1 is used when none fits.

    Returns
    -------
    (int, float)
        The oversampling and the image's pixel size in Web Mercator metres.
    """
    xmin, ymin, xmax, ymax = transform.bounds
    # A cell's side in Web Mercator metres, at the grid's middle.
    mid_col, mid_row = layout.cols / 2, layout.rows / 2
    cx = layout.west + np.array([mid_col, mid_col + 1, mid_col]) * layout.dx
    cy = layout.north - np.array([mid_row, mid_row, mid_row + 1]) * layout.dy
    mx, my = _to_display(layout, cx, cy, "none")
    cell = float(min(np.hypot(mx[1] - mx[0], my[1] - my[0]), np.hypot(mx[2] - mx[0], my[2] - my[0])))
    for factor in factors:
        pixel = cell / factor
        if np.ceil((xmax - xmin) / pixel) * np.ceil((ymax - ymin) / pixel) <= budget:
            return factor, pixel
    return 1, cell


def warp_index(layout: GridLayout, transform: DisplayTransform, lookup: np.ndarray, *, pixel: float) -> tuple[np.ndarray, list[list[float]]]:
    """Which cell each pixel of the displayed image shows.

    Parameters
    ----------
    layout : GridLayout
    transform : DisplayTransform
    lookup : numpy.ndarray
        ``(rows, cols)`` int array: the cell at each lattice position, -1 for none.
    pixel : float
        Pixel size in Web Mercator metres.

    Returns
    -------
    (numpy.ndarray, list)
        ``(height, width)`` int array of cells (-1: transparent), north row first, and
        the image's bounds ``[[south, west], [north, east]]`` in degrees (displayed).
    """
    xmin, ymin, xmax, ymax = transform.bounds
    width, height = int(np.ceil((xmax - xmin) / pixel)), int(np.ceil((ymax - ymin) / pixel))
    # The polynomial separates: u depends on the column only, v on the row only, so the
    # whole image is two small matrix products (powers of v) @ coefficients @ (powers of u).
    degree = max(i + j for i, j in transform.powers)
    u = (xmin + (np.arange(width) + 0.5) * pixel - transform.center[0]) / transform.scale
    upow = u[None, :] ** np.arange(degree + 1)[:, None]  # (degree + 1, width)
    ce = np.zeros((degree + 1, degree + 1))
    cn = np.zeros_like(ce)
    for (i, j), e_coef, n_coef in zip(transform.powers, transform.east, transform.north, strict=True):
        ce[j, i], cn[j, i] = e_coef, n_coef
    out = np.empty((height, width), dtype=np.int32)
    step = max(1, 2_000_000 // max(width, 1))  # rows per block: bounded memory
    for start in range(0, height, step):
        ys = ymax - (np.arange(start, min(height, start + step)) + 0.5) * pixel
        vpow = ((ys - transform.center[1]) / transform.scale)[:, None] ** np.arange(degree + 1)[None, :]
        e, n = vpow @ ce @ upow, vpow @ cn @ upow
        col = np.floor((e - layout.west) / layout.dx).astype(np.int64)
        row = np.floor((layout.north - n) / layout.dy).astype(np.int64)
        inside = (col >= 0) & (col < layout.cols) & (row >= 0) & (row < layout.rows)
        block = np.full(col.shape, -1, dtype=np.int32)
        block[inside] = lookup[row[inside], col[inside]]
        out[start : start + len(block)] = block
    x1, y1 = xmin + width * pixel, ymax - height * pixel
    to_degrees = pyproj.Transformer.from_crs(_WEB_MERCATOR, _WGS84, always_xy=True)
    (west, south), (east, north) = to_degrees.transform(xmin, y1), to_degrees.transform(x1, ymax)
    return out, [[float(south), float(west)], [float(north), float(east)]]


def edge_mask(index: np.ndarray) -> np.ndarray:
    """Each cell's outline in an image of cells, one pixel wide.

    Parameters
    ----------
    index : numpy.ndarray
        ``(height, width)`` cell per pixel (-1 for none).

    Returns
    -------
    numpy.ndarray
        True on a cell's pixels whose left or upper neighbour shows another cell, or whose
        right or lower neighbour shows none: a line between two cells is drawn once.
    """
    edge = np.zeros(index.shape, dtype=bool)
    edge[:, 1:] |= index[:, 1:] != index[:, :-1]
    edge[1:, :] |= index[1:, :] != index[:-1, :]
    edge[:, 0] = True
    edge[0, :] = True
    edge[:, :-1] |= index[:, 1:] < 0
    edge[:-1, :] |= index[1:, :] < 0
    edge[:, -1] = True
    edge[-1, :] = True
    return edge & (index >= 0)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def palette_png(pixels: np.ndarray, palette: Sequence[tuple[int, int, int, int]]) -> bytes:
    """An 8-bit palette PNG (with transparency) of ``pixels`` (uint8 indices into ``palette``).

    Parameters
    ----------
    pixels : numpy.ndarray
        ``(height, width)`` palette indices.
    palette : sequence of (r, g, b, a)
        At most 256 colours, 0-255 each.

    Returns
    -------
    bytes
        The PNG file; the same pixels give the same bytes.

    Raises
    ------
    OptionError
        ``palette`` is empty or has more than 256 colours.

    Examples
    --------
    One row of two pixels, transparent then opaque red: the header says 2 x 1 pixels.

    >>> import struct
    >>> import numpy as np
    >>> png = palette_png(np.array([[0, 1]], dtype=np.uint8), [(0, 0, 0, 0), (255, 0, 0, 255)])
    >>> png[1:4], png[12:16], struct.unpack(">II", png[16:24])
    (b'PNG', b'IHDR', (2, 1))
    """
    if not 0 < len(palette) <= 256:
        raise OptionError(f"a palette PNG holds 1 to 256 colours; found {len(palette)}.")
    height, width = pixels.shape
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # filter byte 0 ("none") per row
    rows[:, 1:] = pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    plte = bytes(c for r, g, b, _ in palette for c in (r, g, b))
    trns = bytes(a for *_, a in palette)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", plte)
        + _chunk(b"tRNS", trns)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))  # level 9: 30x slower for 15% less
        + _chunk(b"IEND", b"")
    )


def b64(data: bytes | np.ndarray) -> str:
    """Base64 text of bytes or of an array's little-endian bytes.

    Parameters
    ----------
    data : bytes or numpy.ndarray

    Returns
    -------
    str
        ASCII base64, as the page's ``atob`` reads it.
    """
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data.astype(data.dtype.newbyteorder("<"), copy=False)).tobytes()
    return base64.b64encode(data).decode("ascii")
