"""Who is served: under-served cells and what each community has and lacks (有什么、缺什么)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle import settings
from lifecircle.schema import facilities_column, median_column, minutes_column, p90_column, share_column
from lifecircle.spatial.outlines import grid_edges, grid_outlines

__all__ = [
    "minutes_column",
    "weighted_quantile",
    "flag_underserved",
    "assign_communities",
    "UNASSIGNED",
    "complete_assignment",
    "gap_areas",
    "summarise_communities",
    "category_summary",
]

log = logging.getLogger(__name__)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted quantile (lower, no interpolation); ``inf`` values count as the largest.

    Parameters
    ----------
    values : numpy.ndarray
        May hold ``inf`` (unreachable); ``nan`` values are ignored.
    weights : numpy.ndarray
        Non-negative; when they sum to zero, every value weighs the same.
    q : float
        In [0, 1].

    Returns
    -------
    float
        ``nan`` when no value is left.
    """
    ok = ~np.isnan(values)
    values, weights = values[ok], weights[ok]
    if len(values) == 0:
        return float("nan")
    if weights.sum() <= 0:
        weights = np.ones_like(values)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    pos = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(values[order][min(pos, len(values) - 1)])


def flag_underserved(
    cells: pd.DataFrame,
    *,
    categories: Sequence[str],
    threshold_minutes: float,
    no_data: Sequence[str] = (),
) -> pd.DataFrame:
    """Flag cells beyond the threshold of a category and list what they miss.

    A cell is under-served for a category when its minutes exceed the threshold or no
    facility is reachable. Categories without any facility in the data (``no_data``) are
    never counted as missing: there is nothing to measure against. Cells with no access to
    the network are never under-served.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``access`` and ``minutes_to_<category>`` columns.
    categories : sequence of str
        The categories, in output order.
    threshold_minutes : float
        The walking-time threshold, minutes.
    no_data : sequence of str
        Categories with no facility at all.

    Returns
    -------
    pandas.DataFrame
        ``underserved`` (bool) and ``missing`` (comma-separated categories), indexed like
        ``cells``.
    """
    on_network = (cells["access"] == "network").to_numpy()
    missing = np.full(len(cells), "", dtype=object)
    any_missing = np.zeros(len(cells), dtype=bool)
    for cat in categories:
        if cat in no_data:
            continue
        minutes = cells[minutes_column(cat)].to_numpy(dtype=float)
        lacks = on_network & ~(minutes <= threshold_minutes)  # nan (unreachable) lacks too
        missing = np.where(lacks, np.where(any_missing, missing + "," + cat, cat), missing)
        any_missing |= lacks
    return pd.DataFrame({"underserved": any_missing, "missing": missing}, index=cells.index)


def assign_communities(cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the community holding each cell's centre (``None`` outside every community).

    Where communities overlap, the first one (by row) wins, deterministically.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Cell polygons (a CRS is required); their centroids are located.
    communities : geopandas.GeoDataFrame
        ``name`` and polygon ``geometry``, any CRS (reprojected to the cells' CRS).

    Returns
    -------
    numpy.ndarray
        object array, one community name (or ``None``) per cell row.

    Examples
    --------
    >>> import shapely
    >>> cells = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
    ...                          crs="EPSG:32648")
    >>> communities = gpd.GeoDataFrame({"name": ["East"]}, geometry=[shapely.box(100, 0, 300, 100)], crs="EPSG:32648")
    >>> assign_communities(cells, communities).tolist()
    [None, 'East']
    """
    centres = gpd.GeoSeries(cells.geometry.centroid, crs=cells.crs)
    comm = communities.to_crs(cells.crs) if communities.crs != cells.crs else communities
    # Each community (prepared once) tests the centres its box holds: the same pairs as each
    # centre tested "within" every community box holding it, at a fraction of the cost.
    comm_idx, cell_idx = shapely.STRtree(centres.to_numpy()).query(comm.geometry.to_numpy(), predicate="contains")
    out = np.full(len(cells), None, dtype=object)
    order = np.lexsort((comm_idx, cell_idx))
    cell_idx, comm_idx = cell_idx[order], comm_idx[order]
    first = np.r_[True, cell_idx[1:] != cell_idx[:-1]] if len(cell_idx) else np.array([], dtype=bool)
    out[cell_idx[first]] = comm["name"].to_numpy()[comm_idx[first]]
    return out


#: Community name of the cells outside every polygon of a communities file.
UNASSIGNED: str = "未归属 / unassigned"


def complete_assignment(
    cells: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    assigned: np.ndarray,
    *,
    derived: bool,
) -> tuple[np.ndarray, gpd.GeoDataFrame, dict[str, float]]:
    """Give every cell a community, so nobody drops out of the community tables.

    Cells whose centre lies outside every community (from :func:`assign_communities`):

    - with derived units (``derived=True``), which are meant to cover the study area,
      join the nearest unit (cells in a river, at the boundary's edge);
    - with a communities file, join a community named :data:`UNASSIGNED` added as the
      last row, whose outline is the union of those cells. A warning gives their people.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        ``geometry`` and ``population``, metric CRS.
    communities : geopandas.GeoDataFrame
        ``name`` and ``geometry``.
    assigned : numpy.ndarray
        Community name per cell, ``None`` outside.
    derived : bool
        Whether the communities were derived from the street network (no communities file).

    Returns
    -------
    numpy.ndarray, geopandas.GeoDataFrame, dict
        Names per cell (no ``None``), the communities (with the added row, if any) and
        ``{"cells_unassigned", "people_unassigned"}``.
    """
    names = np.asarray(assigned, dtype=object).copy()
    outside = np.array([v is None for v in names], dtype=bool)
    people = np.nan_to_num(cells["population"].to_numpy(dtype=float)) if "population" in cells else np.zeros(len(cells))
    facts = {"cells_unassigned": int(outside.sum()), "people_unassigned": float(people[outside].sum())}
    if not outside.any() or len(communities) == 0:
        return names, communities, facts
    comm = communities.to_crs(cells.crs) if communities.crs != cells.crs else communities
    centres = gpd.GeoDataFrame(geometry=cells.geometry.centroid[outside].to_numpy(), crs=cells.crs)
    if derived:
        near = centres.sjoin_nearest(comm[["name", "geometry"]], how="left")
        near = near[~near.index.duplicated(keep="first")]
        names[np.flatnonzero(outside)] = near["name"].to_numpy()
        facts = {"cells_unassigned": 0, "people_unassigned": 0.0, "cells_joined_to_nearest_unit": int(outside.sum())}
        return names, communities, facts
    names[outside] = UNASSIGNED
    row = gpd.GeoDataFrame({"name": [UNASSIGNED]},
                           geometry=[shapely.union_all(cells.geometry.to_numpy()[outside])], crs=cells.crs)
    out = pd.concat([communities, row.to_crs(communities.crs)], ignore_index=True)
    log.warning(
        "%s people in %d cells lie outside every polygon of the communities file; they are listed as "
        "community %r instead of being left out.", f"{facts['people_unassigned']:,.0f}", facts["cells_unassigned"],
        UNASSIGNED,
    )
    return names, gpd.GeoDataFrame(out, geometry="geometry", crs=communities.crs), facts


def summarise_communities(
    cells: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    *,
    categories: Sequence[str],
    threshold_minutes: float,
    no_data: Sequence[str] = (),
    coverage_target: float | None = None,
    facility_counts: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Per community: people, share within the threshold, median and 90th-percentile minutes.

    Shares and percentiles are weighted by the cells' ``population``; where a community's
    cells carry no population at all, every cell weighs the same (and ``weighting`` says
    so). Cells with no network access are left out of shares and percentiles (they are
    counted in ``no_access_cells``). A community *has* a category when at least
    ``coverage_target`` of its people are within the threshold, and *lacks* it otherwise;
    categories with no facility in the data are listed under ``no_data``.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``community``, ``population``, ``access``, ``minutes_to_<category>``.
    communities : geopandas.GeoDataFrame
        ``name``, ``geometry``.
    categories : sequence of str
        The categories, in output order.
    threshold_minutes : float
        The walking-time threshold, minutes.
    no_data : sequence of str
        Categories without a facility in the data: reported as no data, not as gaps.
    coverage_target : float, optional
        Default :data:`lifecircle.settings.coverage_target` (0.8).
    facility_counts : pandas.DataFrame, optional
        Facilities per community (index name) and category (columns), reported as
        ``facilities_<category>``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per community, in the communities' order and CRS.
    """
    target = settings.coverage_target if coverage_target is None else float(coverage_target)
    columns = _CommunityColumns.of(cells, categories)
    codes, uniques = pd.factorize(cells["community"], sort=False)
    order = np.argsort(codes, kind="stable")  # each community's cells together, in their row order
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    where = pd.Index(uniques).get_indexer(communities["name"])
    rows = [_community_row(name, None if k < 0 else order[bounds[k]:bounds[k + 1]], columns, categories=categories,
                           threshold_minutes=threshold_minutes, no_data=no_data, target=target)
            for name, k in zip(communities["name"], where)]
    table = pd.DataFrame(rows)
    for cat in categories:
        for col in (median_column(cat), p90_column(cat)):
            table[col] = table[col].replace(np.inf, np.nan) if col in table else np.nan
        if facility_counts is not None:
            counts = facility_counts[cat] if cat in facility_counts else pd.Series(dtype=float)
            table[facilities_column(cat)] = table["name"].map(counts).fillna(0).astype(int)
    return gpd.GeoDataFrame(table, geometry=communities.geometry.to_numpy(), crs=communities.crs)


class _CommunityColumns(NamedTuple):
    """The cells' columns a community row reads, as arrays (read once, sliced per community)."""

    network: np.ndarray
    population: np.ndarray
    minutes: dict[str, np.ndarray]

    @classmethod
    def of(cls, cells: pd.DataFrame, categories: Sequence[str]) -> _CommunityColumns:
        return cls(network=(cells["access"] == "network").to_numpy(dtype=bool),
                   population=cells["population"].to_numpy(dtype=float),
                   minutes={cat: cells[minutes_column(cat)].to_numpy(dtype=float) for cat in categories
                            if minutes_column(cat) in cells})


def _community_row(name: object, members: np.ndarray | None, columns: _CommunityColumns, *,
                   categories: Sequence[str], threshold_minutes: float, no_data: Sequence[str],
                   target: float) -> dict[str, object]:
    """One community's row of :func:`summarise_communities` from its cells' rows, in row
    order (None: no cell); the same sums over the same values as a per-community frame."""
    row: dict[str, object] = {"name": name}
    if members is None or len(members) == 0:
        row.update({"cells": 0, "no_access_cells": 0, "population": 0.0, "weighting": "none"})
        for cat in categories:
            row.update({share_column(cat): np.nan, median_column(cat): np.nan, p90_column(cat): np.nan})
        row.update({"has": "", "lacks": "", "no_data": ",".join(c for c in categories if c in no_data)})
        return row
    on_network = columns.network[members]
    net = members[on_network]
    pop = np.nan_to_num(columns.population[net], nan=0.0)
    weighted = pop.sum() > 0
    w = pop if weighted else np.ones(len(net))
    row.update({
        "cells": int(len(members)),
        "no_access_cells": int((~on_network).sum()),
        "population": float(np.nan_to_num(columns.population[members]).sum()),
        "weighting": "population" if weighted else "cells",
    })
    has: list[str] = []
    lacks: list[str] = []
    for cat in categories:
        if cat in no_data or len(net) == 0:
            row.update({share_column(cat): np.nan, median_column(cat): np.nan, p90_column(cat): np.nan})
            continue
        minutes = columns.minutes[cat][net]
        finite = np.where(np.isnan(minutes), np.inf, minutes)
        share = float(w[finite <= threshold_minutes].sum() / w.sum()) if w.sum() > 0 else np.nan
        row[share_column(cat)] = share
        row[median_column(cat)] = weighted_quantile(finite, w, 0.5)
        row[p90_column(cat)] = weighted_quantile(finite, w, 0.9)
        (has if share >= target else lacks).append(cat)
    row["has"] = ",".join(has)
    row["lacks"] = ",".join(lacks)
    row["no_data"] = ",".join(c for c in categories if c in no_data)
    return row


def category_summary(
    cells: pd.DataFrame,
    *,
    categories: Sequence[str],
    threshold_minutes: float,
    no_data: Sequence[str] = (),
    facility_counts: dict[str, int] | None = None,
) -> dict[str, dict[str, object]]:
    """Study-area totals per category: facilities, people served and their share.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell with ``access`` (``"network"`` where the cell reaches the
        network), ``population`` (people or a fallback weight; NaN counts 0) and
        ``minutes_to_<category>`` (NaN where unreachable).
    categories : sequence of str
        The categories to total.
    threshold_minutes : float
        A cell is served when its minutes are at most this.
    no_data : sequence of str
        Categories without a facility in the data: reported with ``None`` figures.
    facility_counts : dict of str to int, optional
        Facilities per category; None counts 0 for each.

    Returns
    -------
    dict
        ``{category: {"facilities", "people_served", "share_served", "cells_served",
        "no_data"}}``; shares are over the people (or cells, when there are no people) in
        cells with network access.

    Examples
    --------
    >>> cells = pd.DataFrame({"access": ["network", "network", "none"], "population": [30.0, 10.0, 5.0],
    ...                       "minutes_to_clinic": [4.0, 20.0, np.nan]})
    >>> category_summary(cells, categories=["clinic"], threshold_minutes=15, facility_counts={"clinic": 1})["clinic"]
    {'facilities': 1, 'no_data': False, 'people_served': 30.0, 'share_served': 0.75, 'cells_served': 1}
    """
    net = cells[cells["access"] == "network"]
    pop = np.nan_to_num(net["population"].to_numpy(dtype=float))
    weights = pop if pop.sum() > 0 else np.ones(len(net))
    out: dict[str, dict[str, object]] = {}
    for cat in categories:
        minutes = net[minutes_column(cat)].to_numpy(dtype=float)
        served = minutes <= threshold_minutes
        out[cat] = {
            "facilities": int((facility_counts or {}).get(cat, 0)),
            "no_data": cat in no_data,
            "people_served": None if cat in no_data else float(pop[served].sum()),
            "share_served": None if cat in no_data or weights.sum() == 0 else float(weights[served].sum() / weights.sum()),
            "cells_served": None if cat in no_data else int(served.sum()),
        }
    return out


def gap_areas(
    cells: gpd.GeoDataFrame,
    *,
    cell_size_m: float,
    by: str = "missing",
    connectivity: str = "rook",
    sites: gpd.GeoDataFrame | None = None,
    per_community: bool = True,
) -> gpd.GeoDataFrame:
    """Contiguous under-served cells as areas a renewal team can act on, ranked by people.

    Under-served cells (``underserved``) are grouped into areas of touching cells on the
    grid (connected components of the links between grid neighbours):

    - ``by="missing"`` (default): touching cells that miss the *same* set of categories
      form an area, so each area has one answer (e.g. "a clinic and a school");
    - ``by="any"``: all touching under-served cells form one area, whatever they miss
      (fewer, larger areas; ``missing`` then lists every category missed in it).

    ``connectivity="rook"`` joins cells sharing an edge; ``"queen"`` also corners. With
    ``per_community`` (default) an area also stops at community borders, so each area
    belongs to one community (or 片区), the level at which renewal is organised; on Yuzhong
    this splits one 112,000-person sweep across 13 units into its parts. Areas without
    people are left out (they stay visible cell by cell in the GeoPackage).

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        A run's cells: ``cell_id``, ``x``, ``y`` (centres, metric CRS), ``population``,
        ``underserved``, ``missing``, ``community``, ``geometry``.
    cell_size_m : float
        The grid's cell size.
    by : {"missing", "any"}
    connectivity : {"rook", "queen"}
    per_community : bool
        Stop areas at community borders (see above).
    sites : geopandas.GeoDataFrame, optional
        Suggested sites (``category``, ``rank``, ``geometry``): each area gets the
        nearest suggested site of a category it misses, and its distance from the area's
        people-weighted centre.

    Returns
    -------
    geopandas.GeoDataFrame
        In the cells' CRS, ranked by people (then cells, then first cell id): ``rank``,
        ``area_id`` (``"G001"`` ...), ``people``, ``cells``, ``area_ha``, ``community``
        (the one holding most of the area's people), ``communities`` (all it touches,
        most people first, comma-separated),
        ``missing``, ``nearest_site``, ``nearest_site_m``, ``x``, ``y`` (people-weighted
        centre) and ``geometry`` (the union of the cells).
    """
    for name, value, allowed in (("by", by, ("missing", "any")), ("connectivity", connectivity, ("rook", "queen"))):
        if value not in allowed:
            raise ValueError(f"{name} must be '{allowed[0]}' or '{allowed[1]}'; found {value!r}.")
    columns = ["rank", "area_id", "people", "cells", "area_ha", "community", "communities", "missing",
               "nearest_site", "nearest_site_m", "x", "y"]
    under = cells["underserved"].to_numpy(dtype=bool)
    if not under.any():
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=cells.crs)
    size = float(cell_size_m)
    x, y = cells["x"].to_numpy(dtype=float), cells["y"].to_numpy(dtype=float)
    ix = np.rint((x - x.min()) / size).astype(np.int64)
    iy = np.rint((y - y.min()) / size).astype(np.int64)
    missing = cells["missing"].fillna("").astype(str).to_numpy()
    codes = _area_codes(cells, under, missing, by=by, per_community=per_community)
    area_of_cell = _touching_groups(ix, iy, codes, under, queen=connectivity == "queen")
    rows, table = _area_sums(cells, area_of_cell, under, missing)
    if len(table) == 0:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=cells.crs)
    table["x"] = table["wx"] / table["people"]
    table["y"] = table["wy"] / table["people"]
    _add_area_words(table, rows, missing[under])
    table["area_ha"] = table["cells"] * size * size / 10_000.0
    table = table.reset_index().sort_values(["people", "cells", "first_cell"], ascending=[False, False, True],
                                            kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    table["area_id"] = [f"G{r:03d}" for r in table["rank"]]
    table["nearest_site"], table["nearest_site_m"] = _nearest_sites(table, sites, cells.crs)
    table["geometry"] = _area_outlines(cells, rows, table["area"].to_numpy(), cell_size_m=size, traced=connectivity == "rook")
    return gpd.GeoDataFrame(table[columns + ["geometry"]], geometry="geometry", crs=cells.crs)


def _area_sums(cells: gpd.GeoDataFrame, area_of_cell: np.ndarray, under: np.ndarray, missing: np.ndarray
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The under-served cells with their area, and per area with people: people, cells,
    first cell id and people-weighted coordinate sums."""
    x, y = cells["x"].to_numpy(dtype=float), cells["y"].to_numpy(dtype=float)
    people = np.nan_to_num(cells["population"].to_numpy(dtype=float))
    rows = pd.DataFrame({
        "area": area_of_cell, "people": people, "x": x, "y": y, "missing": missing,
        "community": cells["community"].astype(object).where(cells["community"].notna(), "").astype(str).to_numpy(),
        "cell_id": cells["cell_id"].to_numpy(),
    })[under]
    rows["wx"], rows["wy"] = rows["x"] * rows["people"], rows["y"] * rows["people"]
    table = rows.groupby("area", sort=True).agg(
        people=("people", "sum"), cells=("people", "size"), first_cell=("cell_id", "min"),
        wx=("wx", "sum"), wy=("wy", "sum"), mx=("x", "mean"), my=("y", "mean"))
    return rows, table[np.round(table["people"], 1) > 0]  # an area that would list 0.0 people has nobody


def _area_codes(cells: gpd.GeoDataFrame, under: np.ndarray, missing: np.ndarray, *, by: str,
                per_community: bool) -> np.ndarray:
    """A code per cell: cells of one code may form an area ("" for served cells)."""
    key = np.where(under, missing if by == "missing" else "any", "").astype(object)
    if per_community:
        comm = cells["community"].astype(object).where(cells["community"].notna(), "").astype(str).to_numpy()
        key = np.where(under, key + "|" + comm, "")
    return pd.factorize(key)[0]


def _add_area_words(table: pd.DataFrame, rows: pd.DataFrame, missing: np.ndarray) -> None:
    """Each area's communities (most people first), main community and missing categories
    (in order of first appearance), in place."""
    by_comm = rows.groupby(["area", "community"], sort=False)["people"].sum().reset_index()
    by_comm = by_comm.sort_values(["area", "people", "community"], ascending=[True, False, True])
    named = by_comm[by_comm["community"] != ""]
    table["communities"] = _joined(named["area"].to_numpy(), named["community"].to_numpy(dtype=object), table.index)
    table["community"] = table["communities"].str.split(",").str[0]
    # Each area's distinct missing sets (a few per area, not one per cell), split into categories.
    sets = rows[["area", "missing"]].drop_duplicates()
    cats = sets.assign(cat=sets["missing"].str.split(",")).explode("cat")
    cats = cats[cats["cat"].fillna("") != ""].drop_duplicates(["area", "cat"])
    order = {c: i for i, c in enumerate(dict.fromkeys(",".join(pd.unique(missing)).split(",")))}
    rank = cats["cat"].map(lambda c: order.get(c, len(order))).to_numpy()
    cats = cats.iloc[np.lexsort((rank, cats["area"].to_numpy()))]
    table["missing"] = _joined(cats["area"].to_numpy(), cats["cat"].to_numpy(dtype=object), table.index)


def _joined(keys: np.ndarray, words: np.ndarray, index: pd.Index) -> pd.Series:
    """``words`` joined with commas per key (``keys`` sorted), on ``index`` ("" for a key
    without words): one pass over all words, no Python call per group."""
    out = pd.Series("", index=index, dtype=object)
    if len(keys) == 0:
        return out.astype(str)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    text = np.add.reduceat(words + ",", starts)
    joined = pd.Series([t[:-1] for t in text], index=keys[starts])
    out.loc[out.index.intersection(joined.index)] = joined
    return out.astype(str)


def _touching_groups(ix: np.ndarray, iy: np.ndarray, codes: np.ndarray, under: np.ndarray, *,
                     queen: bool) -> np.ndarray:
    """Group number (from 1) of each under-served cell among touching cells of the same
    code on the grid (0 for the others): one connected-components pass over the links
    between grid neighbours, whatever the number of codes."""
    n = len(ix)
    index = np.full((int(iy.max()) + 2, int(ix.max()) + 3), -1, dtype=np.int64)  # a free border all round
    index[iy, ix + 1] = np.arange(n)
    steps = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if queen else [])
    src, dst = [], []
    for dy, dx in steps:  # a few neighbour directions, each vectorised over every cell
        other = index[iy + dy, ix + 1 + dx]
        link = under & (other >= 0)
        link[link] &= under[other[link]] & (codes[other[link]] == codes[link])
        src.append(np.flatnonzero(link))
        dst.append(other[link])
    i, j = np.concatenate(src), np.concatenate(dst)
    graph = sparse.coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, component = csgraph.connected_components(graph, directed=False)
    out = np.zeros(n, dtype=np.int64)
    out[under] = pd.factorize(component[under])[0] + 1
    return out


def _area_outlines(cells: gpd.GeoDataFrame, rows: pd.DataFrame, areas: np.ndarray, *, cell_size_m: float,
                   traced: bool = True) -> np.ndarray:
    """The union of each area's cells (``rows``: the under-served cells, in order).

    Traced on the grid (:func:`lifecircle.spatial.outlines.grid_outlines`: the same
    polygons, far faster) when the cells are axis-aligned squares sharing their sides
    exactly; otherwise (or with ``traced=False``) one ``union_all`` per area."""
    cell_geoms = cells.geometry.to_numpy()[cells["underserved"].to_numpy(dtype=bool)]
    rows = rows.reset_index(drop=True)
    if traced:
        outlines = _traced_outlines(cell_geoms, rows, areas, cell_size_m)
        if outlines is not None:
            return outlines
    members = rows.groupby("area").indices
    out = np.empty(len(areas), dtype=object)
    for k, a in enumerate(areas):  # one union per gap area, not per cell
        out[k] = shapely.union_all(cell_geoms[members[a]])
    return out


def _traced_outlines(cell_geoms: np.ndarray, rows: pd.DataFrame, areas: np.ndarray, size: float) -> np.ndarray | None:
    """The areas' outlines traced on the grid, or None when the cells are not one grid of
    axis-aligned squares sharing their sides exactly (rook areas: one shell each)."""
    group = pd.Index(areas).get_indexer(rows["area"].to_numpy())
    keep = group >= 0  # cells of areas without people have no outline
    if not keep.any():
        return np.empty(0, dtype=object)
    geoms, group = cell_geoms[keep], group[keep]
    if not _axis_aligned_squares(geoms):
        return None
    bounds = shapely.bounds(geoms)
    cols = np.rint((bounds[:, 0] - bounds[:, 0].min()) / size).astype(np.int64)
    rows_ = np.rint((bounds[:, 1] - bounds[:, 1].min()) / size).astype(np.int64)
    x_edges = grid_edges(cols, bounds[:, 0], bounds[:, 2])
    y_edges = grid_edges(rows_, bounds[:, 1], bounds[:, 3])
    one_step = (np.array_equal(np.rint((bounds[:, 2] - bounds[:, 0].min()) / size), cols + 1)
                and np.array_equal(np.rint((bounds[:, 3] - bounds[:, 1].min()) / size), rows_ + 1))
    if x_edges is None or y_edges is None or not one_step:
        return None
    return grid_outlines(cols, rows_, group, x_edges=x_edges, y_edges=y_edges)


def _axis_aligned_squares(geoms: np.ndarray) -> bool:
    """Whether every geometry is a polygon of four sides, each parallel to an axis."""
    if not (shapely.get_type_id(geoms) == 3).all() or (shapely.get_num_interior_rings(geoms) > 0).any():
        return False
    if not (shapely.get_num_coordinates(geoms) == 5).all():
        return False
    xy = shapely.get_coordinates(geoms).reshape(len(geoms), 5, 2)
    step = np.diff(xy, axis=1)
    along_x, along_y = step[..., 0] != 0, step[..., 1] != 0
    return bool((along_x ^ along_y).all() and (along_x[:, 1:] != along_x[:, :-1]).all())


def _nearest_sites(table: pd.DataFrame, sites: gpd.GeoDataFrame | None, crs: object) -> tuple[list, np.ndarray]:
    """Per area, the nearest suggested site of a category it misses: ``"<category> #<rank>"``."""
    label = [""] * len(table)
    dist = np.full(len(table), np.nan)
    if sites is None or len(sites) == 0:
        return label, dist
    sites = sites.to_crs(crs) if sites.crs != crs else sites
    centres = shapely.points(table["x"].to_numpy(), table["y"].to_numpy())
    site_pts = shapely.point_on_surface(sites.geometry.to_numpy())
    for cat in pd.unique(sites["category"]):
        pick = np.flatnonzero(sites["category"].to_numpy() == cat)
        wants = np.array([cat in m.split(",") for m in table["missing"]], dtype=bool)
        if not wants.any():
            continue
        tree = shapely.STRtree(site_pts[pick])
        a_idx, s_idx = tree.query_nearest(centres[wants], return_distance=False, all_matches=False)
        rows = np.flatnonzero(wants)[a_idx]
        d = shapely.distance(centres[rows], site_pts[pick][s_idx])
        better = ~(d >= dist[rows])  # NaN (no site yet) or nearer
        for r, s, dd, b in zip(rows, pick[s_idx], d, better):
            if b:
                dist[r] = dd
                label[r] = f"{cat} #{int(sites['rank'].iloc[s])}"
    return label, np.round(dist, 0)
