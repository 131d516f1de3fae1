"""People per grid cell from a population input, and the fallback without one.

How each kind of input reaches the cells
----------------------------------------
``points`` on a regular lattice (a gridded product such as GHS-POP or WorldPop
    exported as points)
    The lattice is detected (:func:`detect_lattice`: spacing from nearest-neighbour
    steps, then a regularity test) and each point's people are spread over the cells
    by the area of its lattice cell (a rectangle around the point, one lattice step by
    one row spacing; :func:`lattice_cells`) that overlaps each cell. Counting each point in one cell instead
    aliases two grids of nearly the same spacing: GHS-POP's ~95 x 105 m lattice binned
    into 100 m cells leaves stripes of empty cells beside cells holding two points.
``points`` (scattered)
    Each point's people go to the cell containing it. On a regular grid (equal,
    axis-aligned squares, as :func:`lifecircle.spatial.grid.make_grid` makes) the cell is
    found by floor-dividing coordinates; otherwise by an STRtree query. A point on a
    shared edge goes to the cell whose lower-left corner is nearest below-left (grid) or
    to the lowest cell row (other polygons). Points outside every cell are dropped.
``raster``
    Each populated pixel (its four corners reprojected to the cells' CRS) is spread over
    the cells by overlap area, so a 1 km pixel covers the 100 m cells under it and a
    100 m pixel straddling four cells is shared among them.
``polygons``
    Each polygon's total is spread to the residential buildings whose representative
    point lies inside it, in proportion to floor area (footprint area x storeys, which
    the data layer reads from ``building:levels``; :data:`DEFAULT_LEVELS` where missing);
    each building's people are then split over the cells its footprint overlaps by
    overlap area. A polygon with no residential building spreads its people over the
    cells it overlaps by area.

Totals are conserved: the sum over cells equals the people of the input that lie inside
the cells (points inside a cell; lattice-cell, pixel, polygon and building area inside the
cells). What fell outside is logged.

Without a population input, :func:`population_fallback` gives residential floor area per
cell (or, without buildings, equal weights) plus a sentence stating that fallback, which
the pipeline writes into every output (``run.json``, map legend, gap list header).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from lifecircle import i18n
from lifecircle._errors import NoCrsError, OptionError, PopulationError
from lifecircle.spatial.coverage import assign_communities

if TYPE_CHECKING:  # the data layer's record type, for hints only
    from lifecircle.layers.population import PopulationInput

__all__ = [
    "DEFAULT_LEVELS",
    "population_to_cells",
    "spread_population",
    "PopulationCells",
    "Lattice",
    "detect_lattice",
    "lattice_cells",
    "LATTICE_TOLERANCE",
    "LATTICE_MIN_SHARE",
    "LATTICE_MIN_POINTS",
    "PopulationControl",
    "control_population",
    "PeopleInCells",
    "people_in_cells",
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
        if self.size is not None and self.lookup is not None:
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
        g_idx, c_idx, inter = _overlaps(grid, geoms[poly])
        if len(g_idx):
            share = inter / area[poly][g_idx]
            np.add.at(out, c_idx, values[poly][g_idx] * share)
    lost = float(values.sum() - out.sum())
    return out, max(lost, 0.0)


def _overlaps(grid: _Grid, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (polygon, cell) pair that intersect, by polygon then cell order of the tree, and
    the area of their intersection. A polygon inside one cell (most buildings) skips the
    overlay: :func:`_area_as_overlay` gives the very area GEOS's intersection would."""
    sole, rings = _sole_cell(grid, geoms)
    inside = np.flatnonzero(sole >= 0)
    sole_area = _area_as_overlay(rings[inside])
    if len(inside) and not _same_as_overlay(geoms[inside], grid.geoms[sole[inside]], sole_area):
        inside, sole_area = inside[:0], sole_area[:0]
    rest = np.setdiff1d(np.arange(len(geoms)), inside)
    g_idx, c_idx = shapely.STRtree(grid.geoms).query(geoms[rest], predicate="intersects")
    g_idx = rest[g_idx]
    inter = shapely.area(shapely.intersection(geoms[g_idx], grid.geoms[c_idx]))
    # Cells add their shares polygon by polygon as before, so sums keep their order to the last bit.
    g_idx, c_idx = np.concatenate([inside, g_idx]), np.concatenate([sole[inside], c_idx])
    order = np.argsort(g_idx, kind="stable")
    return g_idx[order], c_idx[order], np.concatenate([sole_area, inter])[order]


def _sole_cell(grid: _Grid, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cell row of each polygon lying strictly inside one cell of a regular grid, as one
    ring without holes, drawn counter-clockwise, without repeated vertices (``-1`` otherwise),
    and that ring (``None`` otherwise)."""
    out = np.full(len(geoms), -1, dtype=np.int64)
    out_rings = np.full(len(geoms), None, dtype=object)
    if grid.size is None or grid.lookup is None or len(geoms) == 0:
        return out, out_rings
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):  # empty geometries have NaN bounds
        ix = np.floor((b[:, 0] - grid.x0) / grid.size)
        iy = np.floor((b[:, 1] - grid.y0) / grid.size)
        rows = np.flatnonzero((ix >= 0) & (ix < grid.nx) & (iy >= 0) & (iy < grid.ny))
    cell = grid.lookup[iy[rows].astype(np.int64), ix[rows].astype(np.int64)]
    rows, cell = rows[cell >= 0], cell[cell >= 0]
    cb, gb = shapely.bounds(grid.geoms[cell]), b[rows]
    strict = (gb[:, 0] > cb[:, 0]) & (gb[:, 1] > cb[:, 1]) & (gb[:, 2] < cb[:, 2]) & (gb[:, 3] < cb[:, 3])
    rows, cell = rows[strict], cell[strict]
    parts = shapely.get_geometry(geoms[rows], 0)
    simple = ((shapely.get_num_geometries(geoms[rows]) == 1) & (shapely.get_type_id(parts) == 3)
              & (shapely.get_num_interior_rings(parts) == 0) & ~shapely.has_z(parts))
    rows, cell, parts = rows[simple], cell[simple], parts[simple]
    rings = shapely.get_exterior_ring(parts)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    repeated = np.zeros(len(rows), dtype=bool)
    same = (xy[1:] == xy[:-1]).all(axis=1) & (ring[1:] == ring[:-1])
    repeated[ring[1:][same]] = True
    keep = shapely.is_ccw(rings) & ~repeated
    out[rows[keep]] = cell[keep]
    out_rings[rows[keep]] = rings[keep]
    return out, out_rings


def _area_as_overlay(rings: np.ndarray) -> np.ndarray:
    """Area of the polygon of each ring (counter-clockwise, as :func:`_sole_cell` picks) as
    GEOS's overlay returns it when the polygon lies inside the other operand: the ring
    clockwise from its last vertex. Summed from the same start in the same direction, the
    area is the same to the last bit (a polygon's area otherwise differs in the last bits)."""
    if len(rings) == 0:
        return np.zeros(0)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[ring[1:] != ring[:-1], True]
    xy, ring = xy[~last][::-1], ring[~last][::-1]  # drop the closing vertex; walk backwards
    reversed_rings = shapely.linearrings(xy, indices=len(rings) - 1 - ring)  # closed again on its first vertex
    return shapely.area(shapely.polygons(reversed_rings))[::-1]


#: Polygons whose shortcut area is checked against GEOS's intersection on every call.
_OVERLAY_CHECKS = 64


def _same_as_overlay(polygons: np.ndarray, cells: np.ndarray, areas: np.ndarray) -> bool:
    """Whether the shortcut matches GEOS's intersection on a sample (a GEOS release that
    builds overlay rings differently turns the shortcut off rather than change results)."""
    pick = np.linspace(0, len(polygons) - 1, min(len(polygons), _OVERLAY_CHECKS)).astype(np.int64)
    exact = shapely.area(shapely.intersection(polygons[pick], cells[pick]))
    same = bool(np.array_equal(exact, areas[pick]))
    if not same:
        log.debug("overlay areas differ from the ring-order shortcut; intersecting every polygon")
    return same


# ------------------------------------------------------------------------- lattices

#: A neighbour vector fits the lattice when it is this close (as a share of the shorter
#: spacing) to a whole-number combination of the two basis vectors.
LATTICE_TOLERANCE: float = 0.1
#: Share of points whose neighbours all fit, for points to count as a regular lattice.
LATTICE_MIN_SHARE: float = 0.9
#: Fewer points than this are never taken for a lattice (a 3 x 3 block at least).
LATTICE_MIN_POINTS: int = 9


@dataclass(frozen=True)
class Lattice:
    """A regular lattice found in point input, in the cells' metric CRS.

    Attributes
    ----------
    a, b : tuple of float
        The two basis vectors (metres): the steps to the nearest lattice neighbours.
    regular_share : float
        Share of points whose nearest neighbours all sit on the lattice.
    n_points : int
        Points tested.
    """

    a: tuple[float, float]
    b: tuple[float, float]
    regular_share: float
    n_points: int

    @property
    def spacing_m(self) -> tuple[float, float]:
        """Lengths of ``a`` and ``b``, metres."""
        return (math.hypot(*self.a), math.hypot(*self.b))

    @property
    def cell_size_m(self) -> tuple[float, float]:
        """Sides of a lattice cell's rectangle (:func:`lattice_cells`): the step along a
        row (the shorter basis step) and the spacing between rows, metres."""
        step = min(self.spacing_m)
        return (step, self.cell_area_m2 / step)

    @property
    def cell_area_m2(self) -> float:
        """Area of one lattice cell (the parallelogram spanned by ``a`` and ``b``), m²."""
        return abs(self.a[0] * self.b[1] - self.a[1] * self.b[0])

    def describe(self) -> str:
        """One phrase for the outputs, e.g. ``"regular ~105 x 94 m lattice"``."""
        sa, sb = self.cell_size_m
        return f"regular ~{sa:.0f} x {sb:.0f} m lattice"


def _axial_distance_deg(theta: np.ndarray, ref: float) -> np.ndarray:
    """Angle between undirected directions (degrees, 0-90)."""
    d = np.abs((theta - ref) % 180.0)
    return np.minimum(d, 180.0 - d)


def _dominant_vector(vectors: np.ndarray) -> np.ndarray | None:
    """The shortest common step among ``vectors``: the median of the most frequent
    direction (5° bins of undirected angle), among its shortest members."""
    if len(vectors) == 0:
        return None
    theta = np.degrees(np.arctan2(vectors[:, 1], vectors[:, 0])) % 180.0
    bins = np.floor(theta / 5.0).astype(np.int64) % 36
    counts = np.bincount(bins, minlength=36)
    # Neighbouring bins count together, so a direction on a bin edge is not split in two.
    smooth = counts + np.roll(counts, 1) + np.roll(counts, -1)
    ref = (int(np.argmax(smooth)) + 0.5) * 5.0
    members = vectors[_axial_distance_deg(theta, ref) <= 10.0]
    if len(members) == 0:
        return None
    direction = np.array([math.cos(math.radians(ref)), math.sin(math.radians(ref))])
    members = np.where((members @ direction)[:, None] < 0, -members, members)
    length = np.hypot(members[:, 0], members[:, 1])
    shortest = members[length <= 1.25 * np.quantile(length, 0.1)]
    return np.median(shortest, axis=0)


def detect_lattice(
    x: np.ndarray,
    y: np.ndarray,
    *,
    tolerance: float = LATTICE_TOLERANCE,
    min_share: float = LATTICE_MIN_SHARE,
    min_points: int = LATTICE_MIN_POINTS,
) -> Lattice | None:
    """Find a regular lattice in point coordinates (a gridded product given as points).

    The spacing comes from nearest-neighbour steps: the most frequent direction of the
    steps to each point's four nearest neighbours gives the first basis vector, the most
    frequent direction at least 25° away the second (each the median of the shortest
    steps in that direction). The regularity test is local, so a lattice that bends
    slowly after reprojection (GHS-POP's Mollweide grid seen in UTM) still passes: a
    point is regular when every step to its near neighbours (within 1.5 x the longer
    spacing) lies within ``tolerance`` x the shorter spacing of a whole-number
    combination of the basis; the points form a lattice when at least ``min_share`` of
    them are regular.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates in a metric CRS.
    tolerance : float
        See :data:`LATTICE_TOLERANCE`.
    min_share : float
        See :data:`LATTICE_MIN_SHARE`.
    min_points : int
        See :data:`LATTICE_MIN_POINTS`.

    Returns
    -------
    Lattice or None
        ``None`` for scattered points (addresses, building centroids), a single row of
        points, or fewer than ``min_points`` distinct points.
    """
    xy = np.unique(np.column_stack([np.asarray(x, float), np.asarray(y, float)]), axis=0)
    if len(xy) < max(min_points, 5):
        return None
    tree = cKDTree(xy)
    dist, idx = tree.query(xy, k=5)
    steps = (xy[idx[:, 1:]] - xy[:, None, :]).reshape(-1, 2)
    a = _dominant_vector(steps)
    if a is None or not np.hypot(*a) > 0:
        return None
    theta = np.degrees(np.arctan2(steps[:, 1], steps[:, 0])) % 180.0
    theta_a = math.degrees(math.atan2(a[1], a[0])) % 180.0
    b = _dominant_vector(steps[_axial_distance_deg(theta, theta_a) > 25.0])
    if b is None:
        return None
    basis = np.column_stack([a, b])
    det = float(np.linalg.det(basis))
    la, lb = float(np.hypot(*a)), float(np.hypot(*b))
    if abs(det) < 1e-6 * la * lb:
        return None
    near = dist[:, 1:] <= 1.5 * max(la, lb)
    coef = np.linalg.solve(basis, steps.T).T
    resid = np.hypot(*(steps - np.rint(coef) @ basis.T).T).reshape(-1, 4)
    fits = (resid <= tolerance * min(la, lb)) | ~near
    regular = fits.all(axis=1) & near.any(axis=1)
    share = float(regular.mean())
    if share < min_share:
        log.debug("points are not a lattice: %.0f%% regular (needs %.0f%%)", 100 * share, 100 * min_share)
        return None
    return Lattice(a=(float(a[0]), float(a[1])), b=(float(b[0]), float(b[1])), regular_share=share, n_points=len(xy))


def lattice_cells(x: np.ndarray, y: np.ndarray, lattice: Lattice) -> np.ndarray:
    """The lattice cell around each point: a rectangle centred on it.

    Its long side is the shorter basis step (the lattice's rows), its other side the row
    spacing (cell area / row step), so the rectangles tile the plane -- also for
    staggered rows, as GHS-POP's Mollweide grid shows in UTM -- and each has the area of
    one lattice cell.

    Parameters
    ----------
    x, y : numpy.ndarray
        Point coordinates in the metric CRS the lattice was detected in.
    lattice : Lattice
        From :func:`detect_lattice`.

    Returns
    -------
    numpy.ndarray
        One shapely polygon per point, of area ``lattice.cell_area_m2``.

    Examples
    --------
    >>> square = Lattice(a=(100.0, 0.0), b=(0.0, 100.0), regular_share=1.0, n_points=4)
    >>> cell = lattice_cells(np.array([50.0]), np.array([50.0]), square)[0]
    >>> cell.bounds, cell.area
    ((0.0, 0.0, 100.0, 100.0), 10000.0)
    """
    a, b = np.asarray(lattice.a), np.asarray(lattice.b)
    row = a if np.hypot(*a) <= np.hypot(*b) else b
    length = float(np.hypot(*row))
    along = row / 2.0
    across = np.array([-row[1], row[0]]) / length * (lattice.cell_area_m2 / length) / 2.0
    p = np.column_stack([x, y])[:, None, :]
    corners = p + np.array([-along - across, along - across, along + across, -along + across])[None, :, :]
    return shapely.polygons(corners)


# ----------------------------------------------------------------------- buildings


def _require_building_columns(buildings: gpd.GeoDataFrame) -> None:
    missing = [c for c in ("residential", "levels") if c not in buildings.columns]
    if missing:
        raise OptionError(f"buildings need the columns {', '.join(missing)} "
                          "(lifecircle.layers.features.select_buildings adds them from OSM tags).")


def residential_buildings(buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean mask of buildings counted as homes: residential and a footprint.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        With a bool ``residential`` column
        (:func:`lifecircle.layers.features.select_buildings`), any CRS; only polygon
        and multipolygon rows can be homes.

    Returns
    -------
    numpy.ndarray
        bool per row.

    Raises
    ------
    OptionError
        Without the ``residential`` or ``levels`` column.

    Examples
    --------
    >>> import shapely
    >>> buildings = gpd.GeoDataFrame({"residential": [True, True, False], "levels": [6.0, None, 2.0]},
    ...                              geometry=[shapely.box(0, 0, 10, 10), shapely.Point(0, 0), shapely.box(0, 0, 5, 5)],
    ...                              crs="EPSG:32648")
    >>> residential_buildings(buildings).tolist()
    [True, False, False]
    """
    _require_building_columns(buildings)
    homes = buildings["residential"].to_numpy(dtype=bool)
    polys = np.isin(shapely.get_type_id(buildings.geometry.to_numpy()), [3, 6])
    return homes & polys


def floor_area(buildings: gpd.GeoDataFrame, *, default_levels: float = DEFAULT_LEVELS) -> np.ndarray:
    """Floor area of each building, m²: footprint area x storeys.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        In a metric CRS, with a float ``levels`` column (storeys, NaN where unknown;
        :func:`lifecircle.layers.features.select_buildings`).
    default_levels : float
        Storeys where ``levels`` is NaN (see :data:`DEFAULT_LEVELS`).

    Returns
    -------
    numpy.ndarray
        float64 m² per row (0 for points and lines).

    Raises
    ------
    OptionError
        If ``default_levels`` is not positive, the CRS is not metric, or a column is missing.

    Examples
    --------
    >>> import shapely
    >>> buildings = gpd.GeoDataFrame({"residential": [True, True], "levels": [2.0, None]},
    ...                              geometry=[shapely.box(0, 0, 10, 10)] * 2, crs="EPSG:32648")
    >>> floor_area(buildings, default_levels=6).tolist()
    [200.0, 600.0]
    """
    if not default_levels > 0:
        raise OptionError(f"default_levels must be > 0; got {default_levels!r}.")
    if buildings.crs is None or not pyproj.CRS(buildings.crs).is_projected:
        raise OptionError("floor_area needs buildings in a metric (projected) CRS.")
    _require_building_columns(buildings)
    levels = buildings["levels"].to_numpy(dtype=float)
    return shapely.area(buildings.geometry.to_numpy()) * np.where(np.isfinite(levels), levels, default_levels)


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

    Each residential building's floor area (footprint x storeys, see :func:`floor_area`)
    is split over the cells its footprint overlaps, by overlap area.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Buildings with ``residential`` and ``levels`` columns
        (:func:`lifecircle.layers.features.select_buildings`; non-homes are ignored), any CRS.
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
        One sentence for every output stating that these are not counts of people
        (English; :func:`lifecircle.i18n.population_sentence` says it in each language
        from :attr:`facts`).
    facts : dict
        ``method``, and for ``"floor_area"`` ``default_levels``, ``cells_with_homes`` and
        ``cells``.
    """

    values: np.ndarray
    method: str
    note: str
    facts: dict[str, Any] = field(default_factory=dict)


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
        Square cells in a metric CRS; the weights follow their row order.
    buildings : geopandas.GeoDataFrame, optional
        Buildings with ``residential`` and ``levels`` columns
        (:func:`lifecircle.layers.features.select_buildings`), any CRS; None, or no
        residential building inside the cells, gives one equal weight per cell.
    default_levels : float
        Storeys of homes whose ``levels`` is NaN (see :data:`DEFAULT_LEVELS`).

    Returns
    -------
    PopulationFallback
        The weights (m² of floor area or 1.0 per cell), the method and the sentence saying so.

    Examples
    --------
    >>> import shapely
    >>> from lifecircle.layers.features import select_buildings
    >>> cells = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
    ...                          crs="EPSG:32648")
    >>> homes = select_buildings(gpd.GeoDataFrame({"tags": [{"building": "house", "building:levels": "2"}]},
    ...                                           geometry=[shapely.box(90, 0, 110, 10)], crs="EPSG:32648"))
    >>> fallback = population_fallback(cells, homes)
    >>> fallback.method, fallback.values.tolist()
    ('floor_area', [200.0, 200.0])
    >>> population_fallback(cells).values.tolist()
    [1.0, 1.0]
    """
    if buildings is not None and len(buildings):
        w = floor_area_weights(buildings, cells, default_levels=default_levels)
        if w.sum() > 0:
            facts = {"method": "floor_area", "default_levels": float(default_levels),
                     "cells_with_homes": int((w > 0).sum()), "cells": len(w)}
            return PopulationFallback(values=w, method="floor_area", note=_note(facts), facts=facts)
    facts = {"method": "equal"}
    return PopulationFallback(values=np.ones(len(cells)), method="equal", note=_note(facts), facts=facts)


def _note(facts: dict[str, Any]) -> str:
    return i18n.population_sentence(facts, "en") or ""


# ---------------------------------------------------------------------- population


def _to_crs_xy(x: np.ndarray, y: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    if src == dst:
        return x, y
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return tr.transform(x, y)


def _frame_of(population: PopulationInput) -> gpd.GeoDataFrame:
    """The table of a point or polygon input."""
    if population.frame is None:
        raise PopulationError(f"{population.source}: a {population.kind} input without its table.")
    return population.frame


def _raster_pixels(population: PopulationInput, grid: _Grid, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outlines (in the cells' CRS) of the populated pixels, and their people.

    A pixel's four corners are reprojected; its edges stay straight, which is exact for a
    raster already in the cells' CRS and within centimetres for a 100 m pixel elsewhere.
    """
    rows, cols = np.nonzero(values > 0)
    if len(rows) == 0:
        return np.array([], dtype=object), np.array([])
    t: Any = population.transform  # affine maps arrays of points at run time; its stubs say single points
    if t is None:
        raise PopulationError(f"{population.source}: a raster input without its pixel transform.")
    cc = np.column_stack([cols, cols + 1, cols + 1, cols]).astype(float)
    rr = np.column_stack([rows, rows, rows + 1, rows + 1]).astype(float)
    px, py = t @ (cc.ravel(), rr.ravel())
    x, y = _to_crs_xy(np.asarray(px, float), np.asarray(py, float), population.crs, grid.crs)
    corners = np.stack([np.asarray(x).reshape(-1, 4), np.asarray(y).reshape(-1, 4)], axis=-1)
    return shapely.polygons(corners), values[rows, cols].astype(np.float64)


def _polygon_people(
    population: PopulationInput,
    grid: _Grid,
    values: np.ndarray,
    buildings: gpd.GeoDataFrame | None,
    default_levels: float,
) -> tuple[np.ndarray, float]:
    frame = _frame_of(population).to_crs(grid.crs)
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


@dataclass(frozen=True, eq=False)
class PopulationCells:
    """People per cell and how they got there.

    Attributes
    ----------
    values : numpy.ndarray
        People per cell row (float64).
    outside : float
        People of the input that fell outside every cell (beyond the study area).
    method : str
        ``"lattice"`` (gridded points spread by area), ``"points"`` (each point to its
        cell), ``"raster"`` (pixels spread by area) or ``"polygons"``.
    lattice : Lattice or None
        The lattice found in point input.
    """

    values: np.ndarray
    outside: float
    method: str
    lattice: Lattice | None = None

    def describe(self) -> str:
        """A phrase saying how the input reached the cells."""
        if self.method == "lattice" and self.lattice is not None:
            return (f"points on a {self.lattice.describe()}, each spread over the cells by the area "
                    "of its lattice cell")
        return {"points": "each point counted in the cell holding it",
                "raster": "pixels spread over the cells by overlap area",
                "polygons": "areas spread to residential buildings by floor area, else by area"}.get(self.method, self.method)


def spread_population(
    population: PopulationInput,
    cells: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    group: str | None = None,
    default_levels: float = DEFAULT_LEVELS,
    lattice: bool = True,
) -> PopulationCells:
    """People per cell, with what fell outside and the method used.

    Parameters
    ----------
    population : PopulationInput
        From :func:`lifecircle.layers.population.read_population` (points, raster or
        polygons, with the CRS they were read in).
    cells : geopandas.GeoDataFrame
        Square cells (``geometry``) in a metric CRS; results follow their row order.
    buildings : geopandas.GeoDataFrame, optional
        Buildings with ``residential`` and ``levels`` columns
        (:func:`lifecircle.layers.features.select_buildings`); used only for polygon
        inputs. None spreads polygons over the cells by area.
    group : str, optional
        A carried group share column (``"share_60plus"`` or ``"60plus"``): that group's
        people instead of everyone.
    default_levels : float
        Storeys of homes whose ``levels`` is NaN (see :data:`DEFAULT_LEVELS`).
    lattice : bool
        Detect a regular lattice in point input (:func:`detect_lattice`) and spread each
        point's people over its lattice cell by area; ``False`` counts every point in the
        cell holding it.

    Returns
    -------
    PopulationCells
        People per cell row (float64), the people outside the cells, the method and the
        lattice found (None unless points on a lattice).

    Raises
    ------
    PopulationError
        Unknown ``group``, a raster asked for a group or without its pixel values, or an
        unknown population kind.

    Examples
    --------
    >>> import shapely
    >>> from lifecircle.layers.population import PopulationInput
    >>> points = gpd.GeoDataFrame({"population": [10.0, 5.0]}, geometry=[shapely.Point(50, 50), shapely.Point(450, 50)],
    ...                           crs="EPSG:32648")
    >>> pop = PopulationInput(kind="points", source="people.csv", total=15.0, crs=points.crs, frame=points)
    >>> cells = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs="EPSG:32648")
    >>> spread = spread_population(pop, cells)
    >>> spread.values.tolist(), spread.method
    ([10.0, 0.0], 'points')
    """
    grid = _cell_grid(cells)
    found: Lattice | None = None
    if population.kind == "raster":
        out, lost = _spread_raster(population, grid, group)
        method = "raster"
    elif population.kind in ("points", "polygons"):
        frame = _frame_of(population)
        values = _group_values(population, frame, group)
        if population.kind == "points":
            out, lost, found = _spread_points(population, frame, values, grid, lattice=lattice)
            method = "lattice" if found is not None else "points"
        else:
            out, lost = _polygon_people(population, grid, values, buildings, default_levels)
            method = "polygons"
    else:
        raise PopulationError(f"{population.source}: unknown population kind {population.kind!r}.")
    log.info(
        "population to %d cells: %.0f people inside, %.0f outside the cells (%s input, %s)",
        len(out), out.sum(), lost, population.kind, method if found is None else found.describe(),
    )
    return PopulationCells(values=out, outside=lost, method=method, lattice=found)


def _spread_raster(population: PopulationInput, grid: _Grid, group: str | None) -> tuple[np.ndarray, float]:
    """Each populated pixel spread over the cells by overlap area."""
    if group is not None:
        raise PopulationError(f"{population.source}: a raster carries no group shares (asked for {group!r}).")
    if population.array is None:
        raise PopulationError(f"{population.source}: a raster input without its pixel values.")
    polys, vals = _raster_pixels(population, grid, population.array)
    return _area_split(grid, polys, vals)


def _group_values(population: PopulationInput, frame: gpd.GeoDataFrame, group: str | None) -> np.ndarray:
    """People per row of a points or polygons input, or of one group when ``group`` is given."""
    values = frame["population"].to_numpy(dtype=np.float64)
    if group is None:
        return values
    col = group if group.startswith("share_") else f"share_{group}"
    if col not in frame:
        raise PopulationError(
            f"{population.source}: no group {group!r}; groups carried: {list(population.groups) or 'none'}."
        )
    return values * frame[col].to_numpy(dtype=np.float64)


def _spread_points(population: PopulationInput, frame: gpd.GeoDataFrame, values: np.ndarray, grid: _Grid, *,
                   lattice: bool) -> tuple[np.ndarray, float, Lattice | None]:
    """Points by lattice cell area when they form a lattice, else each to the cell holding it."""
    geoms = frame.geometry.to_numpy()
    x, y = _to_crs_xy(shapely.get_x(geoms), shapely.get_y(geoms), population.crs, grid.crs)
    x, y = np.asarray(x, float), np.asarray(y, float)
    found = detect_lattice(x, y) if lattice else None
    if found is not None:
        keep = values > 0
        out, lost = _area_split(grid, lattice_cells(x[keep], y[keep], found), values[keep])
        return out, lost, found
    out, lost = _sum_points(grid, x, y, values)
    return out, lost, None


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
        Buildings with ``residential`` and ``levels`` columns
        (:func:`lifecircle.layers.features.select_buildings`); used only for polygon
        inputs, to spread each polygon's people to its residential buildings by floor area.
    group : str, optional
        A carried group share column (e.g. ``"share_60plus"``, or just ``"60plus"``):
        return that group's people (population x share) instead of everyone.
    default_levels : float
        Storeys of homes whose ``levels`` is NaN (see :data:`DEFAULT_LEVELS`).

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
    return spread_population(population, cells, buildings=buildings, group=group,
                             default_levels=default_levels).values


# ------------------------------------------------------------------- control totals


@dataclass(frozen=True, eq=False)
class PopulationControl:
    """People per cell rescaled to known totals.

    Attributes
    ----------
    values : numpy.ndarray
        People per cell after rescaling.
    factor : numpy.ndarray
        New / old people per cell (1 where unchanged, 0 where a cell had none): multiply
        group counts (60+, 0-14) by it.
    note : str
        One sentence for the outputs saying which control total was used.
    record : dict
        Facts for ``run.json``: totals before and after, units matched and not.
    """

    values: np.ndarray
    factor: np.ndarray
    note: str
    record: dict


def control_population(
    values: np.ndarray,
    cells: gpd.GeoDataFrame,
    *,
    total: float | None = None,
    unit_totals: dict[str, float] | None = None,
    units: gpd.GeoDataFrame | None = None,
    source: str = "",
) -> PopulationControl:
    """Rescale people per cell to a control total, or to a total per unit.

    With ``total``, every cell is multiplied by ``total / values.sum()``: the gridded
    input then only says *where* people live, the control total *how many* (e.g. the
    district's 七普 figure). With ``unit_totals``, the cells whose centre lies in a unit
    of ``units`` are multiplied so that they sum to the unit's total; a unit whose cells
    hold no people in the gridded input shares its total equally among its cells. Cells
    outside every listed unit keep their values; units without a total, and totals
    without a unit, are reported.

    Parameters
    ----------
    values : numpy.ndarray
        People per cell (the gridded estimate).
    cells : geopandas.GeoDataFrame
        The cells (metric CRS), same rows as ``values``.
    total : float, optional
        People in the study area.
    unit_totals : dict of str to float, optional
        People per unit name (or code, as the units are named).
    units : geopandas.GeoDataFrame, optional
        ``name`` and ``geometry`` of the units (any CRS), optionally ``code``: a total
        keyed by a unit's code counts for that unit. Needed with ``unit_totals``.
    source : str
        Where the totals come from (a file name), for the note.

    Returns
    -------
    PopulationControl
        The rescaled people per cell, the factor per cell, a note and a record of what matched.

    Raises
    ------
    OptionError
        Both or neither of ``total`` and ``unit_totals``, a negative or non-finite
        total, ``unit_totals`` without ``units``, or no unit name in common.
    """
    values = np.asarray(values, dtype=np.float64)
    if (total is None) == (unit_totals is None):
        raise OptionError("give exactly one of total (--population-total) and unit_totals (--population-totals).")
    if total is not None:
        return _control_to_total(values, float(total), source)
    if units is None or "name" not in units:
        raise OptionError("--population-totals: a table of names or codes needs unit polygons (--communities).")
    return _control_to_units(values, cells, unit_totals or {}, units, source)


def _control_to_total(values: np.ndarray, total: float, source: str) -> PopulationControl:
    """Every cell multiplied by ``total / values.sum()``."""
    before = float(values.sum())
    if not np.isfinite(total) or total < 0:
        raise OptionError(f"--population-total must be a number >= 0; found {total!r}.")
    if not np.isfinite(total / before) if before > 0 else True:
        raise OptionError("--population-total: the population input has no people inside the study area to rescale.")
    factor = np.full(len(values), total / before)
    note = f"rescaled to a control total of {total:,.0f} people{f' ({source})' if source else ''}"
    record: dict[str, Any] = {"control": "total", "control_total": total, "people_before": before, "people_after": total}
    return PopulationControl(values=values * factor, factor=factor, note=note, record=record)


def _totals_by_unit_name(unit_totals: dict[str, float], units: gpd.GeoDataFrame,
                         unit_names: set[str], source: str) -> tuple[dict[str, float], list[str]]:
    """The totals keyed by unit name (a key may be a unit's code), and the names matched."""
    # A total may name its unit by code (统计用区划代码) when the units carry a ``code``.
    by_code = dict(zip(units["code"].astype(str), units["name"].astype(str))) if "code" in units else {}
    totals = {by_code.get(str(k), str(k)) if str(k) not in unit_names else str(k): float(v)
              for k, v in unit_totals.items()}
    matched = sorted(set(totals) & unit_names)
    if not matched:
        raise OptionError(
            f"--population-totals{f' {source}' if source else ''}: no unit name or code matches a community "
            f"name; totals name e.g. {sorted(totals)[:3]}, communities are named e.g. {sorted(unit_names)[:3]}."
        )
    return totals, matched


def _control_to_units(values: np.ndarray, cells: gpd.GeoDataFrame, unit_totals: dict[str, float],
                      units: gpd.GeoDataFrame, source: str) -> PopulationControl:
    """The cells of each unit with a total multiplied to sum to it (spread evenly where empty)."""
    before = float(values.sum())
    unit_of_cell = assign_communities(cells, units[["name", "geometry"]])
    names = pd.Series(unit_of_cell, dtype=object).map(lambda v: None if v is None else str(v))
    unit_names = set(units["name"].astype(str))
    totals, matched = _totals_by_unit_name(unit_totals, units, unit_names, source)
    in_table = names.isin(matched).to_numpy()
    sums = pd.Series(values[in_table]).groupby(names[in_table].to_numpy()).sum()
    counts = names[in_table].value_counts()
    target = names.map(totals).to_numpy(dtype=float)
    unit_sum = names.map(sums).to_numpy(dtype=float)
    unit_n = names.map(counts).to_numpy(dtype=float)
    out = values.copy()
    factor = np.ones(len(values))
    weighted = in_table & (unit_sum > 0)
    factor[weighted] = target[weighted] / unit_sum[weighted]
    out[weighted] = values[weighted] * factor[weighted]
    even = in_table & ~(unit_sum > 0)
    out[even] = target[even] / unit_n[even]
    factor[even] = 0.0
    no_cells = sorted(set(matched) - set(names[in_table]))
    record = {
        "control": "units",
        "source": source,
        "people_before": before,
        "people_after": float(out.sum()),
        "units_matched": len(matched) - len(no_cells),
        "totals_without_unit": sorted(set(totals) - unit_names),
        "units_without_total": sorted(unit_names - set(totals)),
        "units_without_cells": no_cells,
        "units_spread_evenly": sorted(set(names[even])),
        "cells_outside_units_with_totals": int((~in_table).sum()),
        "people_outside_units_with_totals": float(values[~in_table].sum()),
    }
    _warn_unit_control(record)
    note = (f"rescaled within {record['units_matched']} units to their totals"
            f"{f' from {source}' if source else ''} ({float(out[in_table].sum()):,.0f} people)")
    return PopulationControl(values=out, factor=factor, note=note, record=record)


def _warn_unit_control(record: dict[str, Any]) -> None:
    """Log what the totals per unit could not place."""
    if record["people_outside_units_with_totals"] > 0:
        log.warning("--population-totals: %s people in %d cells lie in no unit with a total and keep the gridded "
                    "estimate", f"{record['people_outside_units_with_totals']:,.0f}",
                    record["cells_outside_units_with_totals"])
    for key, what in (("totals_without_unit", "totals name no community"),
                      ("units_without_total", "communities have no total and keep the gridded estimate"),
                      ("units_without_cells", "units with a total hold no cell centre"),
                      ("units_spread_evenly", "units have no people in the gridded input; their total is spread evenly")):
        if record[key]:
            log.warning("--population-totals: %d %s: %s", len(record[key]), what, ", ".join(record[key][:10]))


@dataclass(frozen=True, eq=False)
class PeopleInCells:
    """People per cell of a run, with the sentence and facts every output repeats.

    Attributes
    ----------
    values : numpy.ndarray
        People per cell, after any control total.
    factor : numpy.ndarray
        Rescaling per cell (1 without a control total); apply it to group counts.
    note : str
        E.g. "310,512 people in the study area: GHS-POP ... (points on a regular ~105 x
        94 m lattice, ...); no control total".
    record : dict
        ``people_in_study_area``, ``people_in_file``, ``people_outside_study_area``,
        ``source``, ``kind``, ``method``, ``lattice_m``, ``control``.
    """

    values: np.ndarray
    factor: np.ndarray
    note: str
    record: dict


def people_in_cells(
    population: PopulationInput,
    spread: PopulationCells,
    cells: gpd.GeoDataFrame,
    *,
    total: float | None = None,
    totals: Any = None,
    communities: gpd.GeoDataFrame | None = None,
) -> PeopleInCells:
    """Apply a control total (if any) to spread people and say what the numbers are.

    Parameters
    ----------
    population : PopulationInput
        The population input as read (:func:`lifecircle.layers.population.read_population`).
    spread : PopulationCells
        From :func:`spread_population` of ``population`` over ``cells``.
    cells : geopandas.GeoDataFrame
        The grid cells, metric CRS, one row per cell.
    total : float, optional
        ``--population-total``.
    totals : lifecircle.layers.population.PopulationTotals, optional
        ``--population-totals``; a table of names is matched to ``communities``.
    communities : geopandas.GeoDataFrame, optional
        ``name`` and ``geometry`` of the communities file.

    Returns
    -------
    PeopleInCells
        People per cell, the sentence saying where they come from, and the facts for ``run.json``.
    """
    values = spread.values
    factor = np.ones(len(values))
    source = population.source.name
    control: dict = {"control": None}
    control_note = "no control total"
    if total is not None or totals is not None:
        if totals is not None:
            units = totals.units if totals.units is not None else communities
            result = control_population(values, cells, unit_totals=totals.totals, units=units,
                                        source=totals.source.name)
        else:
            result = control_population(values, cells, total=total, source="--population-total")
        values, factor, control, control_note = result.values, result.factor, result.record, result.note
    inside = float(values.sum())
    record: dict[str, Any] = {
        "people_in_study_area": inside,
        "people_in_file": float(population.total),
        "people_from_file_in_study_area": float(spread.values.sum()),
        "people_outside_study_area": float(spread.outside),
        "source": source,
        "kind": population.kind,
        "method": spread.method,
        "lattice_m": None if spread.lattice is None else [round(v, 1) for v in spread.lattice.cell_size_m],
        **control,
    }
    note = (f"{inside:,.0f} people in the study area: {source} ({population.kind}; {spread.describe()}); "
            f"{control_note}")
    return PeopleInCells(values=values, factor=factor, note=note, record=record)
