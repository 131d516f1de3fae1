"""Neighbourhood units derived from the data, for studies that have no community boundaries.

A planner reports access per community (社区). When no community file is given,
lifecircle divides the study area into *neighbourhood units*: the areas enclosed by
major roads, rivers and the study boundary, the way a planner would sketch 片区 on a
map. The recipe:

1. node the linework of the major roads, the water outlines (river lines and the rings
   of water polygons) and the study-area boundary into one set of lines
   (:func:`shapely.union_all`), and polygonize it (:func:`shapely.polygonize`): every
   face enclosed by those lines is a candidate unit;
2. keep the faces inside the study area and drop those inside water polygons;
3. merge slivers (faces smaller than ``min_area_m2``: motorway ramps, the strip between
   the two carriageways of a dual road, a corner cut by a river) into the neighbour
   they share the longest border with, repeating until no sliver has a neighbour;
4. with people per cell, size the units toward a community's 5,000-12,000 people
   (:func:`size_units_by_people`): split the large along minor streets, merge the small
   into neighbours;
5. name each unit after a place (``place=neighbourhood|quarter|suburb``) inside it
   (``"<place>片区"``), else after the two named major roads running longest along its
   edge (``"<road A>–<road B> 片区"``), else after the named minor streets inside it, else
   ``"片区 007"``; units sharing a name are told
   apart by direction (``"<road A>–<road B> 东片区"``) or, where directions repeat, by
   number (``"... 一片区"``, ``"... 二片区"``).

Each unit also has an English-safe id, ``unit-001`` ... numbered in reading order
(north to south, then west to east, by the centroid).

Everything here works in one metric CRS; inputs in another CRS are reprojected to it.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle._errors import BoundaryError, NoCrsError, OptionError
from lifecircle._names import make_unique_names

__all__ = [
    "DEFAULT_MIN_UNIT_AREA_M2",
    "UNIT_BARRIER_HIGHWAYS",
    "PLACE_RANKS",
    "derive_neighbourhood_units",
    "UNIT_PEOPLE_RANGE",
    "SPLIT_HIGHWAYS",
    "people_in_units",
    "size_units_by_people",
    "direction_names",
]

log = logging.getLogger(__name__)

#: Smallest neighbourhood unit kept on its own, m². 100,000 m² = 10 ha, about a
#: 300 m x 300 m block: the lower end of a 5-minute neighbourhood (五分钟生活圈居住区,
#: 0.5-1.2 ha per thousand people, 5,000-12,000 people, GB 50180-2018) and small enough
#: that a unit's statistics stay local; faces smaller than this are ramps, road medians
#: and corners, which read as noise on a map.
DEFAULT_MIN_UNIT_AREA_M2: float = 100_000.0

#: ``highway`` values whose lines bound units. Ramps (``*_link``) are left out: they
#: cut interchanges into slivers but do not separate neighbourhoods.
UNIT_BARRIER_HIGHWAYS: frozenset[str] = frozenset(
    {"motorway", "trunk", "primary", "secondary"}
)

#: Preference among ``place=*`` values naming a unit: the most local name wins.
PLACE_RANKS: dict[str, int] = {
    "neighbourhood": 0,
    "quarter": 1,
    "suburb": 2,
    "village": 3,
    "hamlet": 4,
    "locality": 5,
}

#: People per derived unit aimed for: 5,000-12,000, a 5-minute life circle's residential
#: area (五分钟生活圈居住区, GB 50180-2018 Table 3.0.4) and the usual size of a 社区
#: (residents' committee). Units under the lower bound merge into a neighbour; units over
#: the upper bound are split along minor roads (:data:`SPLIT_HIGHWAYS`) where the data has
#: them, and the pieces merged back up to the range.
UNIT_PEOPLE_RANGE: tuple[float, float] = (5_000.0, 12_000.0)

#: ``highway`` values along which a unit with too many people is split: minor streets and,
#: in a hill city like Chongqing, the footways, steps and service lanes that separate
#: blocks (many blocks are enclosed only by them). The resulting blocks are merged back
#: up to :data:`UNIT_PEOPLE_RANGE`, so a path through a courtyard cuts nothing for good.
#: On Yuzhong (GHS-POP 2015), streets alone leave a unit of 55,000 people; with the paths
#: the largest holds about 27,000 (a dense block with no enclosing path in the data).
SPLIT_HIGHWAYS: frozenset[str] = frozenset({
    "tertiary", "unclassified", "residential", "living_street", "service", "pedestrian", "footway", "steps",
})

# Roads within this distance of a unit's outline run along it (noding moves lines by
# far less; dual carriageways sit 10-30 m apart, and the nearer one is on the edge).
_ALONG_TOLERANCE_M = 1.0


def _to_crs(gdf: gpd.GeoDataFrame | None, crs: pyproj.CRS, what: str) -> gpd.GeoDataFrame | None:
    """Reproject an input layer to the working CRS, refusing a layer without a CRS."""
    if gdf is None or len(gdf) == 0:
        return None
    if gdf.crs is None:
        raise NoCrsError(
            f"{what} has no CRS: expected a GeoDataFrame with a CRS (the working CRS is {crs.name})."
        )
    if not pyproj.CRS(gdf.crs).equals(crs):
        gdf = gdf.to_crs(crs)
    keep = gdf.geometry.notna().to_numpy() & ~gdf.geometry.is_empty.to_numpy()
    return gdf.loc[keep] if not keep.all() else gdf


def _check_area(area: Any, crs: Any) -> tuple[shapely.Geometry, pyproj.CRS]:
    """Validate the study area and its CRS before any work."""
    if crs is None:
        raise NoCrsError("derive_neighbourhood_units: crs is None; expected the metric CRS of `area`.")
    try:
        crs = pyproj.CRS(crs)
    except pyproj.exceptions.CRSError as exc:
        raise NoCrsError(f"derive_neighbourhood_units: crs {crs!r} is not a CRS ({exc}).") from exc
    if not crs.is_projected:
        raise OptionError(
            f"derive_neighbourhood_units: crs must be a projected, metric CRS (e.g. a UTM zone); "
            f"found {crs.name!r}."
        )
    if not isinstance(area, (shapely.Polygon, shapely.MultiPolygon)):
        raise BoundaryError(
            "derive_neighbourhood_units: area must be a shapely Polygon or MultiPolygon; "
            f"found {type(area).__name__}."
        )
    if area.is_empty or area.area <= 0:
        raise BoundaryError("derive_neighbourhood_units: area is empty (zero area).")
    if not area.is_valid:
        area = shapely.make_valid(area)
        area = shapely.union_all(
            [g for g in shapely.get_parts(area) if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))]
        )
    return area, crs


def _barrier_lines(geoms: np.ndarray) -> np.ndarray:
    """The linework of lines and of polygon outlines, as an array of line geometries."""
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    kind = shapely.get_type_id(geoms)
    polygonal = np.isin(kind, (3, 6))  # Polygon, MultiPolygon
    out = geoms.copy()
    out[polygonal] = shapely.boundary(geoms[polygonal])
    # Points (a stray node) are no barrier; collections are reduced to their lines.
    linear = np.isin(shapely.get_type_id(out), (1, 2, 5))
    return out[linear]


def _surface_barriers(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The roads that divide neighbourhoods: major classes, not ramps, not in tunnels."""
    keep = np.ones(len(roads), dtype=bool)
    if "highway" in roads.columns:
        keep &= roads["highway"].isin(UNIT_BARRIER_HIGHWAYS).to_numpy()
    # A road in a tunnel (Chongqing has many under its hills) divides nothing above it.
    if "tunnel" in roads.columns:
        tunnel = roads["tunnel"]
        keep &= ~(tunnel.notna() & ~tunnel.isin(("no", "", None))).to_numpy()
    if "layer" in roads.columns:
        layer = pd.to_numeric(roads["layer"], errors="coerce")
        keep &= ~(layer < 0).to_numpy()
    return roads.loc[keep]


def _faces(area: shapely.Geometry, lines: np.ndarray, water_area: shapely.Geometry | None) -> np.ndarray:
    """Polygonize the noded linework and keep the faces inside the area and outside water."""
    # Clip far-away linework first (cheaper noding); lines cut there dangle outside the
    # area, and dangles do not enclose faces.
    window = area.envelope.buffer(50.0)
    lines = _barrier_lines(shapely.intersection(lines, window)) if len(lines) else lines
    linework = np.concatenate([lines, [area.boundary]])
    noded = shapely.get_parts(shapely.union_all(linework))
    noded = noded[np.isin(shapely.get_type_id(noded), (1, 2))]
    faces = shapely.get_parts(shapely.polygonize(noded))
    if len(faces) == 0:  # cannot happen for a valid area; keep the area whole regardless
        faces = np.array([area], dtype=object)
    # Every face lies wholly inside or wholly outside the area and the water, because
    # their outlines are part of the noded linework: one interior point decides.
    with np.errstate(over="ignore", invalid="ignore"):  # degenerate corner faces (area ~1e-200)
        points = shapely.point_on_surface(faces)
    shapely.prepare(area)
    keep = shapely.contains(area, points)
    if water_area is not None and not water_area.is_empty:
        shapely.prepare(water_area)
        keep &= ~shapely.contains(water_area, points)
    return faces[keep]


#: Vertices per piece when outlines are cut for the border search: pieces this short make
#: each candidate intersection cheap, however long the outline they come from.
_BORDER_PIECE_VERTICES = 32


def _outline_pieces(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's outline cut into pieces of at most :data:`_BORDER_PIECE_VERTICES`
    vertices (consecutive pieces share their end vertex), and the unit of each piece.

    One outline crossing thousands of small faces (the area outside the major roads of a
    city without a boundary) is thus never copied or intersected whole per neighbour.
    """
    rings, ring_unit = shapely.get_parts(shapely.boundary(units), return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    if len(coords) == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    first = np.searchsorted(ring, np.arange(len(rings)))
    pos = np.arange(len(coords)) - first[ring]  # vertex position along its ring
    last = np.r_[ring[1:] != ring[:-1], True]
    step = _BORDER_PIECE_VERTICES - 1
    # Segment starting at vertex i belongs to piece (ring, pos // step); a piece is the
    # starts of its segments plus the end of its last one.
    starts = ~last
    seg_piece = pos[starts] // step
    piece_key = ring[starts] * (int(pos.max()) // step + 2) + seg_piece
    _, piece = np.unique(piece_key, return_inverse=True)
    seg_idx = np.flatnonzero(starts)
    end_of_piece = np.r_[piece[1:] != piece[:-1], True]
    xy = np.concatenate([coords[seg_idx], coords[seg_idx[end_of_piece] + 1]])
    owner = np.concatenate([piece, piece[end_of_piece]])
    order = np.concatenate([pos[seg_idx], pos[seg_idx[end_of_piece]] + 1])
    sort = np.lexsort((order, owner))
    pieces = shapely.linestrings(xy[sort], indices=owner[sort])
    piece_ring = np.zeros(len(pieces), dtype=np.int64)
    piece_ring[piece] = ring[starts]
    return pieces, ring_unit[piece_ring]


def _shared_borders(units: np.ndarray, of: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Border length shared by touching units: ``(a, b, length)`` with ``length > 0``.

    Pairs are ordered ``a < b`` when ``of`` is None; else ``a`` runs over the units in
    ``of`` (each pair then appears from each of its units in ``of``). A touch at a point
    is no border. The length is the sum over pieces of the outlines
    (:func:`_outline_pieces`): the same as intersecting the whole outlines, in time and
    memory linear in their vertices.
    """
    pieces, owner = _outline_pieces(units)
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    if len(pieces) == 0:
        return empty
    query = np.arange(len(pieces)) if of is None else np.flatnonzero(np.isin(owner, of))
    i, j = shapely.STRtree(pieces).query(pieces[query], predicate="intersects")
    i = query[i]
    a, b = owner[i], owner[j]
    keep = a < b if of is None else a != b
    i, j, a, b = i[keep], j[keep], a[keep], b[keep]
    if len(i) == 0:
        return empty
    length = shapely.length(shapely.intersection(pieces[i], pieces[j]))
    table = pd.DataFrame({"a": a, "b": b, "length": length}).groupby(["a", "b"], sort=True)["length"].sum()
    table = table[table > 0]
    return (table.index.get_level_values(0).to_numpy(np.int64), table.index.get_level_values(1).to_numpy(np.int64),
            table.to_numpy(float))


def _merge_slivers(faces: np.ndarray, min_area: float) -> tuple[np.ndarray, int]:
    """Merge faces under ``min_area`` into the neighbour sharing the longest border.

    Each round joins every sliver to its best neighbour at once (a connected-components
    pass over the sliver -> neighbour links), dissolves the groups and repeats while
    some sliver still has a neighbour. Returns the units and how many faces were merged.
    """
    units = faces
    merged = 0
    while True:
        areas = shapely.area(units)
        small = np.flatnonzero(areas < min_area)
        if len(small) == 0 or len(units) < 2:
            break
        src, dst, border = _shared_borders(units, of=small)
        if len(src) == 0:
            break
        # Longest border per sliver; ties go to the larger neighbour, then the lower index.
        order = np.lexsort((dst, -areas[dst], -border, src))
        src, dst = src[order], dst[order]
        first = np.r_[True, src[1:] != src[:-1]]
        src, dst = src[first], dst[first]
        n = len(units)
        graph = sparse.coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
        _, labels = csgraph.connected_components(graph, directed=False)
        groups = pd.Series(np.arange(n)).groupby(labels).agg(list)
        new_units = np.empty(len(groups), dtype=object)
        for i, members in enumerate(groups):
            new_units[i] = units[members[0]] if len(members) == 1 else shapely.union_all(units[members])
        merged += n - len(new_units)
        units = new_units
    return units, merged


def _road_names(units: np.ndarray, roads: gpd.GeoDataFrame | None) -> list[list[str]]:
    """For each unit, the names of the major roads along its outline, longest first."""
    out: list[list[str]] = [[] for _ in range(len(units))]
    if roads is None:
        return out
    names = roads["name"] if "name" in roads.columns else pd.Series(None, index=roads.index)
    named = names.notna().to_numpy() & (names.astype(str).str.strip() != "").to_numpy()
    if not named.any():
        return out
    road_geom = roads.geometry.to_numpy()[named]
    road_name = names.astype(str).str.strip().to_numpy()[named]
    # The outline in short pieces: a city-long outline is never intersected whole per road.
    pieces, owner = _outline_pieces(units)
    edges = shapely.buffer(pieces, _ALONG_TOLERANCE_M, cap_style="flat")
    tree = shapely.STRtree(road_geom)
    piece_i, road_i = tree.query(edges, predicate="intersects")
    if len(piece_i) == 0:
        return out
    along = shapely.length(shapely.intersection(road_geom[road_i], edges[piece_i]))
    table = pd.DataFrame({"unit": owner[piece_i], "road": road_name[road_i], "along": along})
    table = table[table["along"] > 0].groupby(["unit", "road"], as_index=False)["along"].sum()
    table = table.sort_values(["unit", "along", "road"], ascending=[True, False, True])
    for unit, group in table.groupby("unit", sort=False):
        out[int(unit)] = group["road"].tolist()
    return out


def _inner_street_names(units: np.ndarray, streets: gpd.GeoDataFrame | None) -> list[list[str]]:
    """For each unit, the names of the streets inside it, longest stretch first."""
    out: list[list[str]] = [[] for _ in range(len(units))]
    if streets is None or "name" not in streets.columns or len(units) == 0:
        return out
    names = streets["name"]
    named = names.notna().to_numpy() & (names.astype(str).str.strip() != "").to_numpy()
    if not named.any():
        return out
    geoms = streets.geometry.to_numpy()[named]
    street_name = names.astype(str).str.strip().to_numpy()[named]
    unit_i, street_i = shapely.STRtree(geoms).query(units, predicate="intersects")
    if len(unit_i) == 0:
        return out
    inside = shapely.length(shapely.intersection(geoms[street_i], units[unit_i]))
    table = pd.DataFrame({"unit": unit_i, "street": street_name[street_i], "inside": inside})
    table = table[table["inside"] > 0].groupby(["unit", "street"], as_index=False)["inside"].sum()
    table = table.sort_values(["unit", "inside", "street"], ascending=[True, False, True])
    for unit, group in table.groupby("unit", sort=False):
        out[int(unit)] = group["street"].tolist()
    return out


def _place_names(units: np.ndarray, places: gpd.GeoDataFrame | None) -> list[str | None]:
    """For each unit, the most local named place inside it (nearest its centroid on ties)."""
    out: list[str | None] = [None] * len(units)
    if places is None or "name" not in places.columns:
        return out
    names = places["name"]
    named = names.notna().to_numpy() & (names.astype(str).str.strip() != "").to_numpy()
    if not named.any():
        return out
    points = shapely.point_on_surface(places.geometry.to_numpy()[named])
    place_name = names.astype(str).str.strip().to_numpy()[named]
    kind = (places["place"] if "place" in places.columns else pd.Series(None, index=places.index, dtype=object)).to_numpy()[named]
    rank = np.array([PLACE_RANKS.get(k, len(PLACE_RANKS)) for k in kind])
    tree = shapely.STRtree(units)
    point_i, unit_i = tree.query(points, predicate="within")
    if len(point_i) == 0:
        return out
    dist = shapely.distance(points[point_i], shapely.centroid(units[unit_i]))
    table = pd.DataFrame({"unit": unit_i, "rank": rank[point_i], "dist": dist, "name": place_name[point_i]})
    table = table.sort_values(["unit", "rank", "dist", "name"]).drop_duplicates("unit")
    for unit, name in zip(table["unit"], table["name"]):
        out[int(unit)] = name
    return out


def people_in_units(units: np.ndarray, x: np.ndarray, y: np.ndarray, people: np.ndarray) -> np.ndarray:
    """People per unit: the sum over the points (cell centres) inside each unit.

    A point on a shared border counts once, in the lowest unit row.

    Parameters
    ----------
    units : numpy.ndarray of shapely polygons
        The units, in the same metric CRS as the points.
    x, y : numpy.ndarray
        Point coordinates (cell centres) in that CRS's metres.
    people : numpy.ndarray
        People (or weight) per point, read as float; a point in no unit counts nowhere.

    Returns
    -------
    numpy.ndarray
        float64 people per unit, in ``units``' order (zeros when there are no units or points).

    Examples
    --------
    Two 100 m squares side by side; the point at x = 100 is on their border:

    >>> import numpy as np, shapely
    >>> units = np.array([shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> x, y = np.array([50.0, 100.0, 150.0, 500.0]), np.full(4, 50.0)
    >>> people_in_units(units, x, y, np.array([10.0, 5.0, 7.0, 99.0])).tolist()
    [15.0, 7.0]
    """
    out = np.zeros(len(units))
    if len(units) == 0 or len(x) == 0:
        return out
    pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
    p_idx, u_idx = shapely.STRtree(units).query(pts, predicate="intersects")
    if len(p_idx):
        order = np.lexsort((u_idx, p_idx))
        p_idx, u_idx = p_idx[order], u_idx[order]
        first = np.r_[True, p_idx[1:] != p_idx[:-1]]
        np.add.at(out, u_idx[first], np.asarray(people, float)[p_idx[first]])
    return out


def _split_by_roads(unit: shapely.Geometry, roads: np.ndarray) -> np.ndarray:
    """The faces of ``unit`` cut by ``roads`` (lines); the unit itself when they do not cut it."""
    if len(roads) == 0:
        return np.array([unit], dtype=object)
    lines = _barrier_lines(shapely.intersection(roads, unit))
    lines = lines[~shapely.is_empty(lines)] if len(lines) else lines
    if len(lines) == 0:
        return np.array([unit], dtype=object)
    noded = shapely.get_parts(shapely.union_all(np.concatenate([lines, [unit.boundary]])))
    noded = noded[np.isin(shapely.get_type_id(noded), (1, 2))]
    faces = shapely.get_parts(shapely.polygonize(noded))
    if len(faces) < 2:
        return np.array([unit], dtype=object)
    with np.errstate(over="ignore", invalid="ignore"):
        inside = shapely.contains(unit, shapely.point_on_surface(faces))
    faces = faces[inside & (shapely.area(faces) > 1.0)]
    return faces if len(faces) >= 2 else np.array([unit], dtype=object)


def _borders(units: np.ndarray) -> dict[int, dict[int, float]]:
    """Shared border length between touching units (a touch at a point is no border)."""
    a, b, length = _shared_borders(units)
    out: dict[int, dict[int, float]] = {i: {} for i in range(len(units))}
    for i, j, n in zip(a.tolist(), b.tolist(), length.tolist()):
        out[i][j] = out[j][i] = n
    return out


def _split_large(units: np.ndarray, people: np.ndarray, split_roads: np.ndarray | None,
                 high: float) -> tuple[np.ndarray, int]:
    """Units with more than ``high`` people cut along ``split_roads`` into their blocks;
    returns the pieces and how many units were cut."""
    if split_roads is None or not len(split_roads):
        return units, 0
    pieces: list[np.ndarray] = []
    n_split = 0
    for unit, n in zip(units, people):  # per unit (tens to hundreds), not per cell
        parts = _split_by_roads(unit, split_roads) if n > high else np.array([unit], dtype=object)
        n_split += int(len(parts) > 1)
        pieces.append(parts)
    return np.concatenate(pieces), n_split


def _merge_small(units: np.ndarray, pop: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Repeatedly join the unit with the fewest people under ``low`` into a neighbour
    (see :func:`size_units_by_people`); returns the dissolved units and their people."""
    border = _borders(units) if len(units) > 1 else {0: {}}
    group = list(range(len(units)))  # representative of each unit's group
    members: dict[int, list[int]] = {i: [i] for i in range(len(units))}
    size = {i: float(pop[i]) for i in range(len(units))}
    while True:
        small = [i for i in members if size[i] < low and border[i]]
        if not small:
            break
        i = min(small, key=lambda k: (size[k], k))
        fits = [j for j in border[i] if size[i] + size[j] <= high]
        if fits:
            j = max(fits, key=lambda k: (border[i][k], -k))
        else:
            j = min(border[i], key=lambda k: (size[k], k))
        # Join i into j: j's group takes i's members, people and borders.
        members[j].extend(members.pop(i))
        size[j] += size.pop(i)
        for k, n in border.pop(i).items():
            if k == j:
                continue
            border[k].pop(i, None)
            border[j][k] = border[j].get(k, 0.0) + n
            border[k][j] = border[k].get(j, 0.0) + n
        border[j].pop(i, None)
        for m in members[j]:
            group[m] = j
    keys = sorted(members)
    out = np.empty(len(keys), dtype=object)
    for n, key in enumerate(keys):
        ids = members[key]
        out[n] = units[ids[0]] if len(ids) == 1 else shapely.union_all(units[ids])
    return out, np.array([size[k] for k in keys])


def size_units_by_people(
    units: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    people: np.ndarray,
    *,
    people_range: tuple[float, float] = UNIT_PEOPLE_RANGE,
    split_roads: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Bring units toward a community's number of people: split the large, merge the small.

    1. A unit with more than ``people_range[1]`` people is cut along ``split_roads``
       (minor streets) into its blocks.
    2. Repeatedly, the unit with the fewest people under ``people_range[0]`` joins a
       neighbour: among those it can join without passing ``people_range[1]``, the one
       sharing the longest border; if none, the neighbour with the fewest people. A unit
       without a neighbour (an island) stays as it is.

    The merging walks the units' adjacency (tens to hundreds of units), not the grid;
    geometries are dissolved once at the end.

    Parameters
    ----------
    units : numpy.ndarray of shapely polygons
        In a metric CRS, not overlapping.
    x, y, people : numpy.ndarray
        Cell centres and their people.
    people_range : tuple of float
        Lower and upper bound, :data:`UNIT_PEOPLE_RANGE` by default.
    split_roads : numpy.ndarray of shapely lines, optional
        Minor roads along which large units may be cut.

    Returns
    -------
    numpy.ndarray, dict
        The new units, and facts: units and people per unit before and after.

    Raises
    ------
    OptionError
        ``people_range`` is not ``(low, high)`` with ``0 <= low <= high``.
    """
    low, high = (float(v) for v in people_range)
    if not (0 <= low <= high):
        raise OptionError(f"people_range must be (low, high) with 0 <= low <= high; found {people_range!r}.")
    units = np.asarray(units, dtype=object)
    before = people_in_units(units, x, y, people)
    units, n_split = _split_large(units, before, split_roads, high)
    out, after = _merge_small(units, people_in_units(units, x, y, people), low, high)
    facts = {
        "people_range": [low, high],
        "units_before": int(len(before)),
        "units_after": int(len(out)),
        "units_split": n_split,
        "people_per_unit_before": _quantiles(before),
        "people_per_unit_after": _quantiles(after),
    }
    return out, facts


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    q = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0])
    return {"min": float(q[0]), "p25": float(q[1]), "median": float(q[2]), "p75": float(q[3]), "max": float(q[4]),
            "under_1000": int((values < 1000).sum()), "under_5000": int((values < 5000).sum()),
            "over_12000": int((values > 12000).sum())}


#: Compass words for unit names, by 45° sector counter-clockwise from east.
_COMPASS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
_NUMERALS = "一二三四五六七八九十"


def direction_names(x: np.ndarray, y: np.ndarray) -> list[str]:
    """Words telling apart units that share a name: 东/西/南/北 (or 东北 ...) of the group's
    centre; where two would get the same word, the group is numbered 一, 二, 三 ... in
    reading order (north to south, then west to east) instead.

    Parameters
    ----------
    x, y : numpy.ndarray
        Centres of the units sharing a name, in a metric CRS (y northward).

    Returns
    -------
    list of str
        One word per unit, in the order given.

    Examples
    --------
    >>> import numpy as np
    >>> direction_names(np.array([0.0, 100.0]), np.array([0.0, 0.0]))
    ['西', '东']
    >>> direction_names(np.array([0.0, 100.0, 200.0]), np.zeros(3))
    ['一', '二', '三']
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx, dy = x - x.mean(), y - y.mean()
    sector = np.rint(np.degrees(np.arctan2(dy, dx)) / 45.0).astype(int) % 8
    words = [_COMPASS[k] for k in sector]
    if len(set(words)) == len(words) and len(words) > 1:
        return words
    order = np.lexsort((np.round(x, 3), -np.round(y, 3)))
    out = [""] * len(x)
    for rank, i in enumerate(order):
        out[i] = _NUMERALS[rank] if rank < len(_NUMERALS) else str(rank + 1)
    return out


def _unit_names(stems: list[str], centroids: np.ndarray) -> list[str]:
    """``<stem>片区``, told apart by direction words (or numbers) where stems repeat;
    units with no stem are numbered ``片区 001`` in reading order."""
    names = [""] * len(stems)
    table = pd.DataFrame({"stem": stems, "x": shapely.get_x(centroids), "y": shapely.get_y(centroids)})
    for stem, group in table.groupby("stem", sort=False):
        rows = group.index.to_numpy()
        if stem == "":
            for i in rows:
                names[i] = f"片区 {i + 1:03d}"
            continue
        words = [""] if len(rows) == 1 else direction_names(group["x"].to_numpy(), group["y"].to_numpy())
        sep = " " if stem[-1].isascii() and stem[-1].isalnum() else ""  # "Keskusta 片区", "较场口片区"
        for i, word in zip(rows, words):
            names[i] = f"{stem}{sep}{word}片区"
    return make_unique_names(names)


def _barriers(roads: gpd.GeoDataFrame | None, water: gpd.GeoDataFrame | None
              ) -> tuple[np.ndarray, shapely.Geometry | None]:
    """The lines bounding units (roads, river lines, water outlines) and the water area."""
    barriers: list[np.ndarray] = []
    if roads is not None:
        barriers.append(_barrier_lines(roads.geometry.to_numpy()))
    water_area = None
    if water is not None:
        water_geoms = water.geometry.to_numpy()
        barriers.append(_barrier_lines(water_geoms))
        polygonal = np.isin(shapely.get_type_id(water_geoms), (3, 6))
        if polygonal.any():
            water_area = shapely.union_all(shapely.make_valid(water_geoms[polygonal]))
    return (np.concatenate(barriers) if barriers else np.empty(0, dtype=object)), water_area


def _split_lines(minor_roads: gpd.GeoDataFrame | None, crs: pyproj.CRS) -> np.ndarray | None:
    """The minor streets along which a unit with too many people may be cut (not in tunnels)."""
    if minor_roads is None or not len(minor_roads):
        return None
    minor = cast(gpd.GeoDataFrame, _to_crs(minor_roads, crs, "minor_roads"))  # not empty: checked above
    keep = (minor["highway"].isin(SPLIT_HIGHWAYS).to_numpy(copy=True) if "highway" in minor
            else np.ones(len(minor), dtype=bool))
    if "tunnel" in minor:
        tunnel = minor["tunnel"]
        keep &= ~(tunnel.notna() & ~tunnel.isin(("no", "", None))).to_numpy()
    return _barrier_lines(minor.geometry.to_numpy()[keep])


def _name_units(units: np.ndarray, *, places: gpd.GeoDataFrame | None, roads: gpd.GeoDataFrame | None,
                minor_roads: gpd.GeoDataFrame | None, crs: pyproj.CRS) -> tuple[list[str], int, int]:
    """Each unit's name (a place, the major roads along it, else the streets inside it),
    and how many are named after places and after roads."""
    place_names = _place_names(units, places)
    road_names = _road_names(units, roads)
    stems: list[str] = []
    n_place = n_road = 0
    for place, rnames in zip(place_names, road_names):
        if place:
            stems.append(place)
            n_place += 1
        elif len(rnames) >= 2:
            stems.append(f"{rnames[0]}–{rnames[1]} ")
            n_road += 1
        elif len(rnames) == 1:
            stems.append(f"{rnames[0]} ")
            n_road += 1
        else:
            stems.append("")
    # A unit with no place and no named major road along it is named after the named
    # minor streets running longest inside it.
    unnamed = [i for i, stem in enumerate(stems) if not stem]
    if unnamed and minor_roads is not None and len(minor_roads):
        inner = _inner_street_names(units[unnamed], _to_crs(minor_roads, crs, "minor_roads"))
        for i, rnames in zip(unnamed, inner):
            if rnames:
                stems[i] = "–".join(rnames[:2]) + " "
                n_road += 1
    names = _unit_names(stems, shapely.centroid(units))
    return names, n_place, n_road


def derive_neighbourhood_units(  # noqa: PLR0913 - keyword-only options with defaults; split, merge and size in one pass over the pieces
    area: shapely.Polygon | shapely.MultiPolygon,
    *,
    major_roads: gpd.GeoDataFrame | None,
    water: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    min_area_m2: float = DEFAULT_MIN_UNIT_AREA_M2,
    crs: Any,
    cell_people: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    minor_roads: gpd.GeoDataFrame | None = None,
    people_range: tuple[float, float] = UNIT_PEOPLE_RANGE,
) -> gpd.GeoDataFrame:
    """Divide a study area into neighbourhood units bounded by major roads and rivers.

    Parameters
    ----------
    area : shapely.Polygon or shapely.MultiPolygon
        The study area, in ``crs``.
    major_roads : geopandas.GeoDataFrame or None
        Road lines with ``highway`` and ``name`` (as :attr:`lifecircle.layers.osm.OsmExtract.major_roads`),
        reprojected if needed. Only :data:`UNIT_BARRIER_HIGHWAYS` bound units (ramps do not;
        without a ``highway`` column every line does). ``None`` or empty: no road barriers.
    water : geopandas.GeoDataFrame or None, optional
        Rivers and water bodies (:func:`lifecircle.layers.features.select_water`): lines and
        polygon outlines bound units; water polygons are removed from the units.
    places : geopandas.GeoDataFrame or None, optional
        Named places with ``name`` and ``place`` (:func:`lifecircle.layers.features.select_places`).
    min_area_m2 : float, default :data:`DEFAULT_MIN_UNIT_AREA_M2` (10 ha)
        Smaller faces join the neighbour sharing the longest border (an island stays).
    crs : pyproj.CRS or str or int
        The metric (projected) CRS of ``area``, also the CRS of the result.
    cell_people : tuple of numpy.ndarray, optional
        ``(x, y, people)`` of the cells' centres (in ``crs``): the units are then sized toward
        ``people_range`` (:func:`size_units_by_people`) and get a ``people`` column.
    minor_roads : geopandas.GeoDataFrame, optional
        Streets (``highway``): those in :data:`SPLIT_HIGHWAYS` may cut units with too many people.
    people_range : tuple of float
        See :data:`UNIT_PEOPLE_RANGE`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit, in ``crs``: ``name`` (unique), ``unit_id`` (``"unit-001"`` ...),
        ``area_m2`` (and ``people`` with ``cell_people``), ``geometry``; north to south then
        west to east by centroid. The units do not overlap and together cover ``area``
        minus the water polygons. ``attrs["sizing"]``: people per unit before and after sizing.

    Raises
    ------
    NoCrsError
        ``crs`` is missing or not a CRS, or an input layer has no CRS.
    OptionError
        ``crs`` is not projected, or ``min_area_m2`` is negative or not finite.
    BoundaryError
        ``area`` is not a non-empty polygon.
    """
    area, crs = _check_area(area, crs)
    if not np.isfinite(min_area_m2) or min_area_m2 < 0:
        raise OptionError(f"min_area_m2 must be a finite number >= 0 (square metres); found {min_area_m2!r}.")
    roads = _to_crs(major_roads, crs, "major_roads")
    roads = _surface_barriers(roads) if roads is not None else None
    places = _to_crs(places, crs, "places")
    faces = _land_faces(area, roads, _to_crs(water, crs, "water"))
    units, merged = _merge_slivers(faces, float(min_area_m2))
    sizing: dict[str, Any] = {}
    if cell_people is not None:
        units, sizing = size_units_by_people(units, *cell_people, people_range=people_range,
                                             split_roads=_split_lines(minor_roads, crs))
    units = _reading_order(units)
    names, n_place, n_road = _name_units(units, places=places, roads=roads, minor_roads=minor_roads, crs=crs)
    columns: dict[str, Any] = {"name": names, "unit_id": [f"unit-{i + 1:03d}" for i in range(len(units))],
                               "area_m2": shapely.area(units)}
    if cell_people is not None:
        columns["people"] = people_in_units(units, *cell_people)
    result = gpd.GeoDataFrame(columns, geometry=units, crs=crs)
    result.attrs["sizing"] = sizing
    log.info("Derived %d neighbourhood units from %d faces (%d slivers under %s m² merged); "
             "%d named after places, %d after roads, %d numbered", len(result), len(faces), merged,
             f"{min_area_m2:,.0f}", n_place, n_road, len(result) - n_place - n_road)
    return result


def _land_faces(area: shapely.Geometry, roads: gpd.GeoDataFrame | None, water: gpd.GeoDataFrame | None) -> np.ndarray:
    """The faces the barriers enclose inside the area and outside the water."""
    lines, water_area = _barriers(roads, water)
    faces = _faces(area, lines, water_area)
    if len(faces) == 0:
        raise BoundaryError(
            "derive_neighbourhood_units: the whole area lies inside the water polygons; "
            "no land is left to divide into units."
        )
    return faces


def _reading_order(units: np.ndarray) -> np.ndarray:
    """North to south, then west to east, by centroid (rounded to a millimetre so that
    float noise cannot reorder equal rows)."""
    centroids = shapely.centroid(units)
    return units[np.lexsort((np.round(shapely.get_x(centroids), 3), -np.round(shapely.get_y(centroids), 3)))]
