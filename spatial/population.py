"""People per grid cell from a population input, and the fallback without one.

How each kind of input reaches the cells
----------------------------------------
``points``
    Each point's people go to the cell containing it. On a regular grid (equal,
    axis-aligned squares, as :func:`lifecircle.spatial.grid.make_grid` makes) the cell is
    found by floor-dividing coordinates; otherwise by an STRtree query. A point on a
    shared edge goes to the cell whose lower-left corner is nearest below-left (grid) or
    to the lowest cell row (other polygons). Points outside every cell are dropped.
``raster``
    Each pixel is split into ``k x k`` equal sub-pixels (``k`` such that a sub-pixel is at
    most half a cell wide, at most 10), each carrying ``1/k**2`` of the pixel's people at
    its centre, reprojected to the cells' CRS and counted like points. This approximates
    area weighting, so a 1 km pixel spreads over the 100 m cells it covers instead of
    landing in one of them, and conserves every pixel's people exactly.
``polygons``
    Each polygon's total is spread to the residential buildings whose representative
    point lies inside it, in proportion to floor area (footprint area x
    ``building:levels``, :data:`DEFAULT_LEVELS` where missing); each building's people are
    then split over the cells its footprint overlaps by overlap area. A polygon with no
    residential building spreads its people over the cells it overlaps by area.

Totals are conserved: the sum over cells equals the people of the input that lie inside
the cells (points and sub-pixel centres inside a cell, polygon/building area inside the
cells). What fell outside is logged.

Without a population input, :func:`population_fallback` gives residential floor area per
cell (or, without buildings, equal weights) plus a sentence stating that fallback, which
the pipeline writes into every output (``run.json``, map legend, gap list header).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle._errors import NoCrsError, OptionError, PopulationError

if TYPE_CHECKING:  # the data layer's record type, for hints only
    from lifecircle.layers.population import PopulationInput

__all__ = [
    "DEFAULT_LEVELS",
    "RESIDENTIAL_BUILDINGS",
    "NON_RESIDENTIAL_BUILDINGS",
    "population_to_cells",
    "residential_buildings",
    "floor_area",
    "floor_area_weights",
    "PopulationFallback",
    "population_fallback",
]

log = logging.getLogger(__name__)

#: Storeys assumed for a residential building without ``building:levels``. An assumption,
#: not a measured Chongqing figure: 6 storeys is the tallest "multi-storey" (多层) block,
#: the walk-up housing that GB 50096-2011 (Design code for residential buildings, 6.4.1)
#: allows without a lift -- from 7 storeys a lift is required -- and the common older
#: housing stock of Chinese cities. In the Yuzhong OSM extract only 716 of 2,043 buildings
#: carry levels, and most of those say 1 (sheds, roofs), so the data cannot supply a
#: better default. Change it per call with ``default_levels=``.
DEFAULT_LEVELS: float = 6.0

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
#: At most ``_MAX_SPLIT**2`` sub-pixels per raster pixel.
_MAX_SPLIT = 10


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True, eq=False)
class _Grid:
    """Lookup from coordinates to cell rows: regular-grid arithmetic or an STRtree."""

    geoms: np.ndarray
    crs: pyproj.CRS
    size: float | None  # side of a regular grid's squares, else None
    x0: float = 0.0
    y0: float = 0.0
    nx: int = 0
    ny: int = 0
    lookup: np.ndarray | None = None  # (ny, nx) -> cell row, -1 where no cell

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell row of each point, ``-1`` outside every cell."""
        out = np.full(len(x), -1, dtype=np.int64)
        if len(x) == 0 or len(self.geoms) == 0:
            return out
        if self.size is not None:
            ix = np.floor((x - self.x0) / self.size).astype(np.int64)
            iy = np.floor((y - self.y0) / self.size).astype(np.int64)
            ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
            out[ok] = self.lookup[iy[ok], ix[ok]]
            return out
        pts = shapely.points(x, y)
        tree = shapely.STRtree(self.geoms)
        p_idx, c_idx = tree.query(pts, predicate="intersects")
        if len(p_idx):
            # A point on a shared edge touches two cells: keep the lowest cell row.
            order = np.lexsort((c_idx, p_idx))
            p_idx, c_idx = p_idx[order], c_idx[order]
            first = np.r_[True, p_idx[1:] != p_idx[:-1]]
            out[p_idx[first]] = c_idx[first]
        return out


def _cell_grid(cells: gpd.GeoDataFrame) -> _Grid:
    """Check the cells and prepare a point lookup."""
    if not isinstance(cells, gpd.GeoDataFrame) or "geometry" not in cells:
        raise OptionError("cells must be a GeoDataFrame with a 'geometry' column of square polygons.")
    if cells.crs is None:
        raise NoCrsError("cells have no CRS; expected a metric CRS such as the local UTM zone.")
    crs = pyproj.CRS(cells.crs)
    if not crs.is_projected:
        raise OptionError(f"cells must be in a metric (projected) CRS; found {crs.name}.")
    geoms = cells.geometry.to_numpy()
    if len(geoms) == 0:
        return _Grid(geoms=geoms, crs=crs, size=None)
    b = shapely.bounds(geoms)
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    size = float(np.median(w))
    regular = (
        size > 0
        and np.allclose(w, size, rtol=1e-9, atol=1e-6)
        and np.allclose(h, size, rtol=1e-9, atol=1e-6)
        and np.allclose(shapely.area(geoms), size * size, rtol=1e-9)
    )
    if regular:
        x0 = float(b[:, 0].min())
        y0 = float(b[:, 1].min())
        fx = (b[:, 0] - x0) / size
        fy = (b[:, 1] - y0) / size
        ix = np.rint(fx).astype(np.int64)
        iy = np.rint(fy).astype(np.int64)
        aligned = np.allclose(fx, ix, atol=1e-6) and np.allclose(fy, iy, atol=1e-6)
        nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
        if aligned and nx * ny <= 50 * len(geoms) + 1_000_000:
            lookup = np.full((ny, nx), -1, dtype=np.int64)
            # Duplicated cells: the lowest row wins (assign in reverse order).
            lookup[iy[::-1], ix[::-1]] = np.arange(len(geoms))[::-1]
            return _Grid(geoms=geoms, crs=crs, size=size, x0=x0, y0=y0, nx=nx, ny=ny, lookup=lookup)
    return _Grid(geoms=geoms, crs=crs, size=None)


def _sum_points(grid: _Grid, x: np.ndarray, y: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, float]:
    """People per cell from points; also the people that fell outside every cell."""
    row = grid.locate(x, y)
    inside = row >= 0
    out = np.bincount(row[inside], weights=values[inside], minlength=len(grid.geoms)).astype(np.float64)
    return out, float(values[~inside].sum())


def _area_split(grid: _Grid, geoms: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, float]:
    """Spread each polygon's value over the cells by overlap area.

    A polygon's share in a cell is overlap area / polygon area, so the part of a polygon
    outside every cell is lost (and returned as the second value). Zero-area geometries
    go whole to the cell containing their representative point.
    """
    n_cells = len(grid.geoms)
    out = np.zeros(n_cells)
    keep = values > 0
    geoms, values = geoms[keep], values[keep]
    if len(geoms) == 0 or n_cells == 0:
        return out, float(values.sum())
    area = shapely.area(geoms)
    flat = area <= 0
    if flat.any():
        rp = shapely.point_on_surface(geoms[flat])
        part, _ = _sum_points(grid, shapely.get_x(rp), shapely.get_y(rp), values[flat])
        out += part
    poly = np.flatnonzero(~flat)
    if len(poly):
        tree = shapely.STRtree(grid.geoms)
        g_idx, c_idx = tree.query(geoms[poly], predicate="intersects")
        if len(g_idx):
            inter = shapely.area(shapely.intersection(geoms[poly][g_idx], grid.geoms[c_idx]))
            share = inter / area[poly][g_idx]
            np.add.at(out, c_idx, values[poly][g_idx] * share)
    lost = float(values.sum() - out.sum())
    return out, max(lost, 0.0)


# ----------------------------------------------------------------------- buildings


def _levels(tags: pd.Series, default_levels: float) -> np.ndarray:
    """``building:levels`` as floats (first number of values like "6;7" or "6-8")."""
    raw = tags.map(lambda t: t.get("building:levels") if isinstance(t, dict) else None)
    text = raw.astype("string").str.extract(r"(\d+(?:\.\d+)?)", expand=False)
    lv = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    # A level count of 0 (underground-only) or absurd values fall back to the default.
    lv = np.where(np.isfinite(lv) & (lv >= 1) & (lv <= 200), lv, default_levels)
    return lv


def residential_buildings(buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean mask of buildings counted as homes.

    ``building`` in :data:`RESIDENTIAL_BUILDINGS` counts; ``building=yes`` (and other
    values not in :data:`NON_RESIDENTIAL_BUILDINGS`) count unless the feature also carries
    a facility key such as ``amenity`` or ``shop``; polygon geometries only.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        OSM features with a ``tags`` dict column (``read_osm(...).features``).
    """
    if "tags" not in buildings:
        raise OptionError("buildings need a 'tags' column of OSM tag dicts (read_osm(...).features).")
    tags = buildings["tags"]

    def _is_home(t: object) -> bool:
        if not isinstance(t, dict):
            return False
        value = t.get("building")
        if value is None:
            return False
        value = str(value).strip().lower()
        if value in RESIDENTIAL_BUILDINGS:
            return True
        if value in NON_RESIDENTIAL_BUILDINGS:
            return False
        return not any(k in t for k in _NON_RESIDENTIAL_KEYS)

    homes = tags.map(_is_home).to_numpy(dtype=bool)
    polys = np.isin(shapely.get_type_id(buildings.geometry.to_numpy()), [3, 6])
    return homes & polys


def floor_area(buildings: gpd.GeoDataFrame, *, default_levels: float = DEFAULT_LEVELS) -> np.ndarray:
    """Floor area of each building, m²: footprint area x ``building:levels``.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        In a metric CRS, with a ``tags`` dict column.
    default_levels : float
        Storeys where ``building:levels`` is missing or unreadable (see
        :data:`DEFAULT_LEVELS`).
    """
    if not default_levels > 0:
        raise OptionError(f"default_levels must be > 0; got {default_levels!r}.")
    if buildings.crs is None or not pyproj.CRS(buildings.crs).is_projected:
        raise OptionError("floor_area needs buildings in a metric (projected) CRS.")
    return shapely.area(buildings.geometry.to_numpy()) * _levels(buildings["tags"], default_levels)


def _homes_in(buildings: gpd.GeoDataFrame, crs: pyproj.CRS, default_levels: float) -> tuple[np.ndarray, np.ndarray]:
    """Residential footprints in ``crs`` and their floor areas."""
    if buildings.crs is None:
        raise NoCrsError("buildings have no CRS; read them with read_osm (EPSG:4326).")
    homes = buildings[residential_buildings(buildings)]
    if len(homes) == 0:
        return np.array([], dtype=object), np.array([])
    homes = homes.to_crs(crs)
    geoms = shapely.make_valid(homes.geometry.to_numpy())
    homes = homes.set_geometry(gpd.GeoSeries(geoms, index=homes.index, crs=crs))
    fa = floor_area(homes, default_levels=default_levels)
    keep = fa > 0
    return geoms[keep], fa[keep]


def floor_area_weights(
    buildings: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    default_levels: float = DEFAULT_LEVELS,
) -> np.ndarray:
    """Residential floor area per cell, m²: the fallback weight without population.

    Each residential building's floor area (footprint x ``building:levels``, see
    :func:`floor_area`) is split over the cells its footprint overlaps, by overlap area.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        OSM features with ``tags`` (non-buildings and non-homes are ignored), any CRS.
    cells : geopandas.GeoDataFrame
        Square cells in a metric CRS.
    default_levels : float
        See :data:`DEFAULT_LEVELS`.

    Returns
    -------
    numpy.ndarray
        Floor area (m²) per cell row; a relative weight, not a number of people.
    """
    grid = _cell_grid(cells)
    geoms, fa = _homes_in(buildings, grid.crs, default_levels)
    out, lost = _area_split(grid, geoms, fa)
    log.info("floor-area weights: %d residential buildings, %.0f m² in cells, %.0f m² outside", len(geoms), out.sum(), lost)
    return out


@dataclass(frozen=True, eq=False)
class PopulationFallback:
    """Cell weights used when no population input is given, and how to say so.

    Attributes
    ----------
    values : numpy.ndarray
        Weight per cell (m² of residential floor area, or 1.0 per cell).
    method : str
        ``"floor_area"`` or ``"equal"``.
    note : str
        One sentence for every output stating that these are not counts of people.
    """

    values: np.ndarray
    method: str
    note: str


def population_fallback(
    cells: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    *,
    default_levels: float = DEFAULT_LEVELS,
) -> PopulationFallback:
    """Weights per cell without a population input: floor area, else equal weights.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
    buildings : geopandas.GeoDataFrame, optional
        OSM features with ``tags``; without residential buildings inside the cells the
        fallback is one equal weight per cell.
    default_levels : float

    Returns
    -------
    PopulationFallback
    """
    if buildings is not None and len(buildings):
        w = floor_area_weights(buildings, cells, default_levels=default_levels)
        if w.sum() > 0:
            n = int((w > 0).sum())
            return PopulationFallback(
                values=w,
                method="floor_area",
                note=(
                    "No population input: cells are weighted by residential floor area from "
                    f"OpenStreetMap buildings (footprint x building:levels, {default_levels:g} "
                    f"storeys where untagged; {n} of {len(w)} cells have homes). Weights are "
                    "relative, not counts of people."
                ),
            )
    return PopulationFallback(
        values=np.ones(len(cells)),
        method="equal",
        note=(
            "No population input and no residential buildings: every cell has the same weight; "
            "shares are shares of cells, not of people."
        ),
    )


# ---------------------------------------------------------------------- population


def _to_crs_xy(x: np.ndarray, y: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    if src == dst:
        return x, y
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return tr.transform(x, y)


def _raster_points(population: PopulationInput, grid: _Grid, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sub-pixel centres (in the cells' CRS) and their people."""
    rows, cols = np.nonzero(values > 0)
    if len(rows) == 0:
        return np.array([]), np.array([]), np.array([])
    t = population.transform
    # Pixel size in the cells' CRS, measured at the middle populated pixel.
    r, c = rows[len(rows) // 2], cols[len(cols) // 2]
    corners_c = np.array([c, c + 1, c])
    corners_r = np.array([r, r, r + 1])
    cx, cy = t @ (corners_c, corners_r)
    mx, my = _to_crs_xy(np.asarray(cx, float), np.asarray(cy, float), population.crs, grid.crs)
    pixel = max(math.hypot(mx[1] - mx[0], my[1] - my[0]), math.hypot(mx[2] - mx[0], my[2] - my[0]))
    cell = grid.size if grid.size is not None else float(np.sqrt(np.median(shapely.area(grid.geoms))))
    k = int(min(_MAX_SPLIT, max(1, math.ceil(2.0 * pixel / cell)))) if cell > 0 else 1
    offs = (np.arange(k) + 0.5) / k
    sub_c = (cols[:, None, None] + offs[None, None, :]).repeat(k, axis=1).ravel()
    sub_r = (rows[:, None, None] + offs[None, :, None]).repeat(k, axis=2).ravel()
    vals = np.repeat(values[rows, cols] / (k * k), k * k)
    px, py = t @ (sub_c, sub_r)
    x, y = _to_crs_xy(np.asarray(px, float), np.asarray(py, float), population.crs, grid.crs)
    return np.asarray(x), np.asarray(y), vals


def _polygon_people(
    population: PopulationInput,
    grid: _Grid,
    values: np.ndarray,
    buildings: gpd.GeoDataFrame | None,
    default_levels: float,
) -> tuple[np.ndarray, float]:
    frame = population.frame.to_crs(grid.crs)
    polys = shapely.make_valid(frame.geometry.to_numpy())
    pieces: list[np.ndarray] = []
    piece_values: list[np.ndarray] = []
    has_homes = np.zeros(len(polys), dtype=bool)
    n_used = 0
    if buildings is not None and len(buildings):
        homes, fa = _homes_in(buildings, grid.crs, default_levels)
        if len(homes):
            rep = shapely.point_on_surface(homes)
            tree = shapely.STRtree(polys)
            b_idx, p_idx = tree.query(rep, predicate="intersects")
            if len(b_idx):
                # A home whose point sits on a border between two polygons joins the lower row.
                order = np.lexsort((p_idx, b_idx))
                b_idx, p_idx = b_idx[order], p_idx[order]
                first = np.r_[True, b_idx[1:] != b_idx[:-1]]
                b_idx, p_idx = b_idx[first], p_idx[first]
                fa_sum = np.bincount(p_idx, weights=fa[b_idx], minlength=len(polys))
                has_homes = fa_sum > 0
                people = values[p_idx] * fa[b_idx] / fa_sum[p_idx]
                pieces.append(homes[b_idx])
                piece_values.append(people)
                n_used = len(b_idx)
    bare = ~has_homes
    pieces.append(polys[bare])
    piece_values.append(values[bare])
    log.info(
        "population polygons: %d of %d spread to %d residential buildings by floor area, %d by area",
        int(has_homes.sum()), len(polys), n_used, int(bare.sum()),
    )
    return _area_split(grid, np.concatenate(pieces), np.concatenate(piece_values))


def population_to_cells(
    population: PopulationInput,
    cells: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    group: str | None = None,
    default_levels: float = DEFAULT_LEVELS,
) -> np.ndarray:
    """People per cell.

    Parameters
    ----------
    population : PopulationInput
        From :func:`lifecircle.layers.population.read_population`.
    cells : geopandas.GeoDataFrame
        Square cells (``geometry``) in a metric CRS; results follow their row order.
    buildings : geopandas.GeoDataFrame, optional
        OSM features with a ``tags`` dict column; used only for polygon inputs, to spread
        each polygon's people to its residential buildings by floor area.
    group : str, optional
        A carried group share column (e.g. ``"share_60plus"``, or just ``"60plus"``):
        return that group's people (population x share) instead of everyone.
    default_levels : float
        Storeys of buildings without ``building:levels`` (see :data:`DEFAULT_LEVELS`).

    Returns
    -------
    numpy.ndarray
        float64 people per cell row; the sum equals the input's people inside the cells
        (see the module notes).

    Raises
    ------
    PopulationError
        Unknown ``group`` or population kind.
    NoCrsError, OptionError
        Cells without a CRS or not in a metric CRS.
    """
    grid = _cell_grid(cells)
    if population.kind == "raster":
        if group is not None:
            raise PopulationError(f"{population.source}: a raster carries no group shares (asked for {group!r}).")
        x, y, vals = _raster_points(population, grid, population.array)
        out, lost = _sum_points(grid, x, y, vals)
    elif population.kind in ("points", "polygons"):
        values = population.frame["population"].to_numpy(dtype=np.float64)
        if group is not None:
            col = group if group.startswith("share_") else f"share_{group}"
            if col not in population.frame:
                raise PopulationError(
                    f"{population.source}: no group {group!r}; groups carried: {list(population.groups) or 'none'}."
                )
            values = values * population.frame[col].to_numpy(dtype=np.float64)
        if population.kind == "points":
            geoms = population.frame.geometry.to_numpy()
            x, y = _to_crs_xy(shapely.get_x(geoms), shapely.get_y(geoms), population.crs, grid.crs)
            out, lost = _sum_points(grid, np.asarray(x), np.asarray(y), values)
        else:
            out, lost = _polygon_people(population, grid, values, buildings, default_levels)
    else:
        raise PopulationError(f"{population.source}: unknown population kind {population.kind!r}.")
    log.info(
        "population to %d cells: %.0f people inside, %.0f outside the cells (%s input)",
        len(out), out.sum(), lost, population.kind,
    )
    return out
