"""Score communities against a planning standard, tier by tier.

Input
-----
A table of population cells (``pandas.DataFrame``), one row per cell, with

``community``
    the community (社区) the cell belongs to; cells with a missing community are left out;
``population``
    residents of the cell (finite, >= 0);
``minutes_to_<search key>``
    walking minutes from the cell to the nearest facility of that set, ``NaN`` where no
    such facility is reachable or the cell has no access to the network. The search key of
    a requirement is its category (``minutes_to_kindergarten``), or for a requirement with a
    minimum facility size the category and size (``minutes_to_park_ge50000m2``: times to parks
    of at least 5 ha; build that set with :func:`requirement_facilities`). See
    :attr:`lifecircle.layers.standards.Requirement.search_key`.

Leave a column out when the data hold no facility of that set: the requirement is then
reported as *not assessed*, never as failed by everyone (the OSM extract may simply not
map that kind of facility). A requirement falls back to its ``fallback_categories`` (e.g.
``minutes_to_school`` for a primary school) when its own column is absent.

Thresholds
----------
A threshold in metres is network walking distance; it is compared with the cells' minutes
after conversion at the walking speed (``speed_kmh``; an adult's 4.5 km/h is 75 m a minute,
300 m = 4 min). A threshold in minutes is used as is. A cell meets a requirement when its
minutes are at most the threshold. Pass the flat speed of the walking profile the minutes
were computed with, so that "300 m" means the time *that* walker needs for a flat 300 m
(slopes and stairs on the real route then count against the radius, as they should in a
mountain city).

Pass and fail
-------------
The share of a community's people meeting a requirement is the population-weighted share of
its cells that meet it. A tier's status is, in this order:

``insufficient_data``
    fewer than ``min_assessed`` (default :data:`MIN_ASSESSED_SHARE`, a half) of its
    requirements could be assessed: whatever the assessed ones show, the data cannot tell
    whether the tier is met, and a "fail" would blame the place for the data's gaps;
``unknown``
    the community has no residents, or none of the assessed requirements failed but some
    could not be assessed;
``fail``
    an assessed requirement is below ``target`` (default
    :data:`lifecircle.settings.coverage_target`, 0.8);
``pass``
    every requirement was assessed and reaches the target.

Failed (``missing``) and not-assessed (``not_assessed``) requirements are always listed
apart.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle import settings
from lifecircle._errors import NoCrsError, OptionError
from lifecircle.schema import MINUTES_PREFIX, minutes_column
from lifecircle.spatial.costs import check_speed

if TYPE_CHECKING:  # record types of the data layer, for hints only
    from lifecircle.layers.standards import Requirement, Standard

__all__ = [
    "MINUTES_PREFIX",
    "MIN_ASSESSED_SHARE",
    "TIER_STATUSES",
    "minutes_column",
    "resolve_requirement",
    "score_requirements",
    "score_communities",
    "requirement_facilities",
]

log = logging.getLogger(__name__)


#: A tier with fewer than this share of its requirements assessed is ``insufficient_data``.
MIN_ASSESSED_SHARE: float = 0.5

#: Every status a tier can have.
TIER_STATUSES: tuple[str, ...] = ("pass", "fail", "unknown", "insufficient_data")

# Shares are compared with the target with this slack so that e.g. 4/5 meets 0.8 exactly.
_EPS = 1e-9


def _meets(share: np.ndarray, goal: float) -> pd.arrays.BooleanArray:
    """Share at least the goal (with slack), ``<NA>`` where the share is ``NaN``."""
    meets = pd.array(share >= goal - _EPS, dtype="boolean")
    meets[np.isnan(share)] = pd.NA
    return meets


def _check_target(target: float | None) -> float:
    value = settings.coverage_target if target is None else target
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"target must be a share between 0 and 1; found {target!r}.") from None
    if not np.isfinite(value) or value <= 0 or value > 1:
        raise OptionError(f"target must be a share in (0, 1]; found {target!r}.")
    return value


def _validated_cells(cells: pd.DataFrame, community_col: str, population_col: str) -> pd.DataFrame:
    if not isinstance(cells, pd.DataFrame):
        raise OptionError(f"cells must be a pandas DataFrame; found {type(cells).__name__}.")
    for col, param in ((community_col, "community_col"), (population_col, "population_col")):
        if col not in cells.columns:
            raise OptionError(f"cells has no column {col!r} ({param}); its columns are {list(cells.columns)}.")
    pop = pd.to_numeric(cells[population_col], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        raise OptionError(
            f"cells[{population_col!r}] must be finite numbers >= 0; found {int(bad.sum())} other values "
            f"(first at row {int(np.flatnonzero(bad)[0])})."
        )
    for col in cells.columns:
        if isinstance(col, str) and col.startswith(MINUTES_PREFIX):
            values = pd.to_numeric(cells[col], errors="coerce").to_numpy(dtype=np.float64)
            if (values < 0).any():
                raise OptionError(f"cells[{col!r}] has negative minutes; expected times >= 0 or NaN.")
    keep = cells[community_col].notna().to_numpy()
    if not keep.all():
        log.info("Scoring leaves out %d cells that lie in no community", int((~keep).sum()))
    return cells.loc[keep]


def resolve_requirement(requirement: Requirement, columns: pd.Index) -> tuple[str | None, str | None]:
    """The (category, column) a requirement is scored on, or (None, None).

    Parameters
    ----------
    requirement : Requirement
        One requirement of a standard (its category, threshold and minimum size).
    columns : pandas.Index
        The columns of the minutes table (``minutes_to_<search_key>``).

    Returns
    -------
    tuple
        The first of the requirement's categories (its own, then its fallbacks) whose
        column is present, and that column; ``(None, None)`` when none is.
    """
    for category, key in zip(requirement.categories(), requirement.search_keys()):
        col = minutes_column(key)
        if col in columns:
            return category, col
    return None, None


def score_requirements(
    cells: pd.DataFrame,
    standard: Standard,
    *,
    community_col: str = "community",
    population_col: str = "population",
    speed_kmh: float,
    target: float | None = None,
    total_label: str | None = None,
) -> pd.DataFrame:
    """Share of each community's people meeting each requirement of a standard.

    Parameters
    ----------
    cells : pandas.DataFrame
        Population cells; see the module docstring for the columns.
    standard : Standard
        From :func:`lifecircle.layers.standards.load_standard`.
    community_col, population_col : str
        Names of the community and population columns.
    speed_kmh : float
        Walking speed converting metre thresholds to minutes (the walker's flat speed).
    target : float, optional
        Share a requirement must reach; default :data:`lifecircle.settings.coverage_target`.
    total_label : str, optional
        When given, an extra community of that name holds every scored cell (the whole
        study area).

    Returns
    -------
    pandas.DataFrame
        One row per community, tier and requirement (communities sorted, tiers and requirements
        in the standard's order): ``community``, ``tier``, ``requirement``, ``name``, ``category``
        (scored; ``None`` when not assessed), ``column``, ``threshold_minutes``, ``population``,
        ``people_within``, ``share`` (``NaN`` when not assessed or no residents), ``meets_target``
        (boolean, ``<NA>`` when ``share`` is ``NaN``), ``assessed``, ``verified``.

    Raises
    ------
    OptionError
        A missing column, a negative or non-finite population, negative minutes, or
        ``speed_kmh`` / ``target`` out of range.
    """
    speed = check_speed(speed_kmh, name="speed_kmh")
    goal = _check_target(target)
    data = _validated_cells(cells, community_col, population_col)
    pop = pd.to_numeric(data[population_col]).to_numpy(dtype=np.float64)
    codes, names, pop = _community_codes(data[community_col].to_numpy(), pop, total_label)
    n_comm = len(names)
    comm_pop, frames = np.bincount(codes, weights=pop, minlength=n_comm), []
    for tier, req in standard.requirements():
        category, col = resolve_requirement(req, data.columns)
        threshold = req.minutes(speed)
        within = _people_within(data, col, codes, pop, threshold, n_comm, doubled=total_label is not None)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(comm_pop > 0, within / comm_pop, np.nan)
        frames.append(pd.DataFrame({
            "community": names,
            "tier": tier.key,
            "requirement": req.key,
            "name": req.name,
            "category": category,
            "column": col,
            "threshold_minutes": threshold,
            "population": comm_pop,
            "people_within": within,
            "share": share,
            "meets_target": _meets(share, goal),
            "assessed": col is not None,
            "verified": req.verified,
        }))
        if col is None:
            log.info("Requirement %s/%s not assessed: no column among %s", tier.key, req.key,
                     ", ".join(minutes_column(k) for k in req.search_keys()))
    out = pd.concat(frames, ignore_index=True)
    # Communities first, then the standard's order of tiers and requirements.
    out["_c"] = np.tile(np.arange(n_comm), len(frames))
    out["_r"] = np.repeat(np.arange(len(frames)), n_comm)
    out = out.sort_values(["_c", "_r"], kind="stable").drop(columns=["_c", "_r"]).reset_index(drop=True)
    return out


def _community_codes(community: np.ndarray, pop: np.ndarray,
                     total_label: str | None) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Community code per cell row, the sorted names, and the people per row.

    With ``total_label`` every cell appears twice, the second time in the study-area total
    (the last name).
    """
    if total_label is not None:
        if (community == total_label).any():
            raise OptionError(f"total_label {total_label!r} is also the name of a community in cells.")
        community = np.concatenate([community, np.full(len(community), total_label, dtype=object)])
        pop = np.concatenate([pop, pop])
    codes, names = pd.factorize(pd.Series(community), sort=True)
    if total_label is not None:
        # The study-area total goes last, after the sorted communities.
        order = [n for n in names if n != total_label] + [total_label]
        position = {n: i for i, n in enumerate(order)}
        remap = np.array([position[n] for n in names], dtype=np.int64)
        codes, names = remap[codes], pd.Index(order, dtype=object)
    return codes, names, pop


def _people_within(data: pd.DataFrame, col: str | None, codes: np.ndarray, pop: np.ndarray,
                   threshold: float, n_comm: int, *, doubled: bool) -> np.ndarray:
    """People per community within ``threshold`` minutes of ``col`` (NaN when not assessed)."""
    if col is None:
        return np.full(n_comm, np.nan)
    minutes = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=np.float64)
    if doubled:
        minutes = np.concatenate([minutes, minutes])
    meets = np.nan_to_num(minutes, nan=np.inf) <= threshold + _EPS
    return np.bincount(codes, weights=pop * meets, minlength=n_comm)


def score_communities(
    cells: pd.DataFrame,
    standard: Standard,
    *,
    community_col: str = "community",
    population_col: str = "population",
    speed_kmh: float,
    target: float | None = None,
    total_label: str | None = None,
    min_assessed: float = MIN_ASSESSED_SHARE,
) -> pd.DataFrame:
    """Pass or fail of each community, tier by tier, with what is missing.

    Parameters
    ----------
    cells : pandas.DataFrame
        Population cells; see the module docstring for the columns.
    standard : Standard
        From :func:`lifecircle.layers.standards.load_standard`.
    community_col, population_col : str
        Names of the community and population columns.
    speed_kmh : float
        Walking speed converting metre thresholds to minutes (the walker's flat speed).
    target : float, optional
        Share a requirement must reach; default :data:`lifecircle.settings.coverage_target`.
    total_label : str, optional
        When given, an extra community of that name holds every scored cell (the whole
        study area).
    min_assessed : float
        Share of a tier's requirements that must be assessed for it to pass or fail (see
        the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per community and tier: ``community``, ``tier``, ``tier_name``,
        ``population``, ``requirements`` (count), ``met`` (count meeting the target),
        ``assessed`` (count assessed), ``min_share`` (lowest assessed share), ``status``
        (``"pass"``, ``"fail"``, ``"unknown"`` or ``"insufficient_data"``; see the module
        docstring), ``passes`` (``status == "pass"``),
        ``missing`` (tuple of requirement keys below target, in the standard's order),
        ``not_assessed`` (tuple of requirement keys without data) and ``shares`` (dict of
        requirement key to share).

    Raises
    ------
    OptionError
        ``min_assessed`` outside [0, 1], and as :func:`score_requirements`.

    Examples
    --------
    >>> from lifecircle.layers.standards import load_standard, standard_path
    >>> standard = load_standard(standard_path("gb50180"))
    >>> cells = pd.DataFrame({"community": ["A", "A", "B"], "population": [100.0, 100.0, 50.0],
    ...                       "minutes_to_school": [3.0, 12.0, 20.0], "minutes_to_clinic": [2.0, 5.0, 9.0],
    ...                       "minutes_to_market": [4.0, 6.0, 30.0]})
    >>> scores = score_communities(cells, standard, speed_kmh=4.5)
    >>> tier = scores[scores["tier"] == "10min"].set_index("community")
    >>> tier["status"].to_dict(), tier["missing"].to_dict(), tier.loc["A", "not_assessed"]
    ({'A': 'fail', 'B': 'fail'}, {'A': ('primary_school',), 'B': ('primary_school', 'market')}, ('park',))
    """
    goal = _check_target(target)
    if not (0.0 <= float(min_assessed) <= 1.0):
        raise OptionError(f"min_assessed must be a share in [0, 1]; found {min_assessed!r}.")
    long = score_requirements(
        cells, standard, community_col=community_col, population_col=population_col,
        speed_kmh=speed_kmh, target=goal, total_label=total_label,
    )
    tier_names = {t.key: t.name for t in standard.tiers}
    # Row blocks are contiguous per (community, tier) in score_requirements' order.
    rows = [_tier_row(comm, tier, tier_names[tier], g, min_assessed=float(min_assessed))
            for (comm, tier), g in long.groupby(["community", "tier"], sort=False)]
    out = pd.DataFrame(rows)
    counts = out["status"].value_counts().to_dict() if len(out) else {}
    log.info("Scored %d communities on %s: %s", out["community"].nunique() if len(out) else 0, standard.code,
             ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return out


def _tier_row(comm: object, tier: str, tier_name: str, g: pd.DataFrame, *, min_assessed: float) -> dict[str, object]:
    """One community's tier of :func:`score_communities` from its requirement rows ``g``."""
    meets = g["meets_target"]
    assessed = g["assessed"].to_numpy()
    has_people = float(g["population"].iloc[0]) > 0
    missing = tuple(g.loc[(meets == False).fillna(False).to_numpy(), "requirement"])  # noqa: E712
    not_assessed = tuple(g.loc[~assessed, "requirement"])
    if assessed.sum() < min_assessed * len(g) - _EPS:
        status = "insufficient_data"
    elif not has_people:
        status = "unknown"
    elif missing:
        status = "fail"
    elif not_assessed:
        status = "unknown"
    else:
        status = "pass"
    shares = g["share"].to_numpy()
    return {
        "community": comm,
        "tier": tier,
        "tier_name": tier_name,
        "population": float(g["population"].iloc[0]),
        "requirements": len(g),
        "met": int((meets == True).fillna(False).sum()),  # noqa: E712
        "assessed": int(assessed.sum()),
        "min_share": float(np.nanmin(shares)) if np.isfinite(shares).any() else np.nan,
        "status": status,
        "passes": status == "pass",
        "missing": missing,
        "not_assessed": not_assessed,
        "shares": dict(zip(g["requirement"], shares.tolist())),
    }


def _metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in a metric CRS (itself if already metric, else its UTM zone)."""
    crs = gdf.crs
    if crs is None:
        raise NoCrsError("facilities have no CRS: cannot measure their areas (set one, e.g. EPSG:4326).")
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return gdf
    return gdf.to_crs(gdf.estimate_utm_crs())


def requirement_facilities(
    facilities: gpd.GeoDataFrame,
    requirement: Requirement,
    *,
    area_col: str | None = None,
) -> gpd.GeoDataFrame:
    """The facilities that count for a requirement (those of its minimum area).

    Run the search for a requirement with ``min_area_m2`` on this subset and store the
    minutes as ``minutes_to_<requirement.search_key>``.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        Facilities of the requirement's category, in any CRS (areas are measured in a
        metric CRS: the frame's own if metric, else its UTM zone).
    requirement : Requirement
        One requirement of a standard (its category, threshold and minimum size).
    area_col : str, optional
        A column of areas in m² (from a user's facilities file) used where it holds a
        number; elsewhere the polygon's area is measured. Points and lines have no area.

    Returns
    -------
    geopandas.GeoDataFrame
        The qualifying rows (original index, CRS and columns) plus ``area_m2``. Every row
        when the requirement has no minimum area.

    Raises
    ------
    NoCrsError
        The facilities have no CRS and areas must be measured.
    OptionError
        ``area_col`` is not a column.
    """
    if area_col is not None and area_col not in facilities.columns:
        raise OptionError(f"area_col {area_col!r} is not a column of the facilities; found {list(facilities.columns)}.")
    out = facilities.copy()
    if len(out) == 0:
        out["area_m2"] = pd.Series(dtype=float)
        return out
    geoms = out.geometry.to_numpy()
    is_poly = np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    area = np.full(len(out), np.nan)
    if is_poly.any():
        area[is_poly] = _metric(out.loc[is_poly]).geometry.area.to_numpy()
    if area_col is not None:
        given = pd.to_numeric(out[area_col], errors="coerce").to_numpy(dtype=np.float64)
        area = np.where(np.isfinite(given), given, area)
    out["area_m2"] = area
    if requirement.min_area_m2 is None:
        return out
    keep = np.nan_to_num(area, nan=-1.0) >= requirement.min_area_m2
    log.info("%s: %d of %d facilities have at least %.0f m² (%s)", requirement.key, int(keep.sum()), len(out),
             requirement.min_area_m2, requirement.search_key)
    return out.loc[keep]
