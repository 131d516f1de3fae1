"""Terrain-aware walking costs: slopes, stairs, elevators and escalators, per profile.

Two steps, both vectorised over all edges (no Python loop per edge):

1. :func:`edge_elevation_profile` samples a DEM along every edge's geometry and returns,
   per edge, the metres climbed and descended walking ``u -> v`` and the horizontal
   length over which that happens, plus the steepest grade.
2. :func:`terrain_costs` turns that (or only the OSM tags, without a DEM) into a cost
   table (:mod:`lifecircle.spatial.costs`) for one walking profile
   (:mod:`lifecircle.layers.profiles`).

Slope model
-----------
Tobler's hiking function (W. Tobler, "Three presentations on geographical analysis and
modeling", NCGIA Technical Report 93-1, 1993)::

    W = 6 exp(-3.5 |S + 0.05|) km/h,   S = dh/dx (rise over horizontal distance)

is scaled so that the speed on the flat equals the profile's ``flat_speed_kmh``, with the
exponent allowed to differ uphill and downhill of Tobler's optimum ``S = -offset``::

    f(S) = exp(-k (|S + offset| - offset)),   k = k_up where S >= -offset, else k_down
    speed(S) = flat_speed * min(max_speed_factor, f(S))

With ``k_up = k_down = 3.5``, ``offset = 0.05`` and no cap, ``f`` is Tobler's ``W`` divided by
its flat value ``6 exp(-0.175)`` (so ``f(0) = 1``). The profiles' default cap
``max_speed_factor = 1`` stops walkers from going faster than on the flat on gentle
descents (Tobler's data are mountain trails, not city pavements); with it, time never
falls as a grade gets steeper in either direction, nor as ``k_up``/``k_down`` grow (with a
cap above 1, a larger ``k`` is faster just below the optimum, as in Tobler's curve, and
``k_up != k_down`` leaves a step at ``S = -offset``). Distances are horizontal
(``length_m``), as in Tobler's function.

An edge's climbing part is walked at its mean grade: ``rise_m`` over ``up_length_m`` uphill,
``fall_m`` over ``down_length_m`` downhill, the rest at the flat speed.

Stairs (``highway=steps``)
--------------------------
Timed per step: ``N = height / step_riser_m`` steps at ``stairs_seconds_per_step_up`` (or
``_down``; never less than walking one ``step_tread_m`` on the flat), times ``stairs_no_handrail_factor`` where ``handrail=no``, plus the length the
steps do not cover (``length - N * step_tread_m``, landings) at the flat speed. The height
comes, in order of preference, from

1. ``step_count`` x ``step_riser_m`` (0.15 m), in the direction given by ``incline`` or the
   DEM; with no direction known, half the steps count as up and half as down, so both
   directions take the mean of climbing and descending (a round trip is exact);
2. the DEM (climb and descent sampled along the way) or a numeric ``incline``;
3. a default: the whole way climbs at :data:`DEFAULT_STAIR_GRADE` (0.17, Yuzhong's median
   stairway grade; a single flight's 0.5 overstated whole stairways with their landings threefold),
   used only with no ``step_count``, DEM or numeric ``incline``; counted in the report
   (``stairs_height_source``).

Tags
----
``incline``: ``up``/``down`` (direction relative to the way, i.e. ``u -> v``), ``12%``,
``-12 %``, ``5°``/``5deg``. A numeric incline overrides the DEM (it is surveyed); ``up``/``down``
sets the direction of the DEM's climb (swapping climb and descent where the coarse DEM
disagrees) or, without a DEM, a grade of :data:`DEFAULT_INCLINE_GRADE`. ``no`` means not
inclined and is ignored. Any other value, or a grade steeper than 100 %, is malformed: the
tag is ignored (DEM or flat used), and the count and examples are logged as a warning and
returned in the report.

``highway=elevator`` ways: ``elevator_seconds`` either way. Lift links (lifts mapped as nodes,
:func:`lifecircle.spatial.network.add_lift_links`): a wait plus the height between levels at
lift speed (:func:`lift_link_seconds`). ``conveying=forward/backward`` on
``highway=steps``: an escalator at ``escalator_speed_ms * cos 30deg`` horizontally, impassable
against its direction; ``yes``/``reversible``: usable both ways. ``conveying`` on other ways is a
moving walkway (``length / max(flat speed, belt speed)``).

Impassable (``numpy.inf``, both directions) for a profile: steps where ``can_use_stairs`` is
false (unless the way is tagged ``wheelchair=yes/designated`` or ``ramp:wheelchair=yes`` for a
``wheelchair_user``), grades above ``max_grade`` (same exception), elevators and escalators
the profile cannot use, and ``wheelchair=no`` for a wheelchair user.

Bridges and tunnels (``bridge``/``tunnel`` other than ``no``, or ``layer`` other than 0) do
not follow the ground under them: they take a uniform grade from their end points. Their
end nodes that touch no ground-level edge (a junction on a viaduct or in a tunnel) get
their height by interpolating, linearly by length along the elevated ways, between the
ground-level nodes they connect to (a harmonic solve on the elevated subgraph).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import spsolve

from lifecircle._errors import DemError, OptionError
from lifecircle.spatial.network import WalkNetwork, distinct_values, is_lift_link, per_distinct_value

if TYPE_CHECKING:  # record types of the data layer, for hints only
    from lifecircle.layers.elevation import Dem
    from lifecircle.layers.profiles import WalkingProfile

__all__ = [
    "ELEVATION_COLUMNS",
    "ELEVATION_SOURCES",
    "DEFAULT_INCLINE_GRADE",
    "MAX_INCLINE_GRADE",
    "STEEP_GRADE",
    "sample_dem",
    "edge_elevation_profile",
    "elevation_summary",
    "parse_incline",
    "slope_speed_factor",
    "terrain_costs",
    "LIFT_WAIT_S",
    "LIFT_SPEED_MS",
    "STOREY_HEIGHT_M",
    "LAYER_HEIGHT_M",
    "LIFT_DEFAULT_RISE_M",
    "lift_link_seconds",
    "lift_level_heights",
    "LIFT_HEIGHT_SOURCES",
    "parse_ele",
    "MIN_ELE_M",
    "MAX_ELE_M",
    "mapped_node_heights",
    "with_mapped_heights",
    "flat_costs_with_lifts",
    "DEM_VERTICAL_ERROR_M",
    "MAX_DEM_VERTICAL_ERROR_M",
    "check_vertical_error",
    "ROAD_CLASS_MAX_GRADE",
    "DEFAULT_STAIR_GRADE",
    "PLAUSIBLE_PRIMARY_STEEP_SHARE",
    "dem_plausibility",
]

log = logging.getLogger(__name__)

#: Columns of the table :func:`edge_elevation_profile` returns.
ELEVATION_COLUMNS: tuple[str, ...] = (
    "rise_m", "fall_m", "up_length_m", "down_length_m", "grade_max", "z_u", "z_v", "elevation_source",
)
#: Where an edge's heights come from (``elevation_source``): ``tags`` are mapped ``ele`` heights
#: (:func:`with_mapped_heights`), preferred to the DEM.
ELEVATION_SOURCES: list[str] = ["dem", "partial", "endpoints", "tags", "flat"]

#: Grade assumed for ``incline=up``/``down`` when there is no DEM to measure it: ASSUMPTION
#: 10 %, a slope noticeable enough that mappers tag it (the OSM wiki gives no default).
DEFAULT_INCLINE_GRADE: float = 0.10

#: Tagged inclines steeper than this (100 % = 45 degrees) are treated as malformed.
MAX_INCLINE_GRADE: float = 1.0

#: Grade above which the report counts an edge as steep: 8 %, the wheelchair ramp limit
#: (ADA 405.2 1:12, GB 50763-2012 3.4.4), rounded down.
STEEP_GRADE: float = 0.08

#: Escalator incline: 30 degrees, the usual (and, above 0.5 m/s, the maximum) angle of
#: EN 115-1 / GB 16899-2011.
_ESCALATOR_ANGLE = math.radians(30.0)

_NO_VALUES = frozenset({"no", "none", "false", "0"})

#: Vertical error of the DEM: rises and falls smaller than this along a way are noise, not
#: hills (a hysteresis filter ignores them; the net height change is always kept). 6 m is
#: SRTM's measured absolute height error for Eurasia (90 % linear error 6.2 m, Rodriguez et al.
#: 2006, "An assessment of the SRTM topographic products", JPL D-31639), rounded down;
#: ``verified: false``. For a survey or lidar bare-earth DEM pass its own (e.g. 0.5 m).
DEM_VERTICAL_ERROR_M: float = 6.0

#: Largest vertical error accepted (``--dem-vertical-error``): 50 m, beyond which a DEM
#: cannot tell a street's hills at all (GTOPO30's stated RMSE is 30 m).
MAX_DEM_VERTICAL_ERROR_M: float = 50.0

#: Maximum longitudinal grade by OSM road class, from the design speeds CJJ 37-2012
#: (城市道路工程设计规范) assigns to each class and its table of maximum grades ("limit"
#: values: 60 km/h 6 %, 40 km/h 7 %, 30 km/h 8 %), taking each class's lowest design speed:
#: expressways (trunk/motorway) 60 km/h, arterials (primary) 40 km/h, sub-arterials
#: (secondary) 30 km/h. Where a DEM gives such a road a steeper grade, the DEM is wrong (a
#: building or a cut slope in the surface model) and the grade is capped. Branch roads
#: (tertiary and below) are not capped: Chongqing's older lanes predate the code and are
#: steeper. ``verified: false`` (figures from the code's table as commonly quoted).
ROAD_CLASS_MAX_GRADE: dict[str, float] = {
    "motorway": 0.06, "motorway_link": 0.06, "trunk": 0.06, "trunk_link": 0.06,
    "primary": 0.07, "primary_link": 0.07, "secondary": 0.08, "secondary_link": 0.08,
}

#: Grade of a stairway with no ``step_count``, numeric ``incline`` or DEM: 0.17, the median
#: grade (height over whole length, landings included) of Yuzhong's (Chongqing) stairways on
#: the SRTM DEM: 0.16 over the 323 steps edges (269 ways) fully on the DEM with the fitted
#: profile, 0.17 from the raw 10 m samples. ASSUMPTION (a measured local figure, not a
#: standard); a single flight is steeper (GB 50352-2019 outdoor steps: riser
#: <= 0.15 m, tread >= 0.30 m, grade 0.5) but stairways include landings and flat stretches.
DEFAULT_STAIR_GRADE: float = 0.17

#: The DEM is implausible for the streets when more than this share of primary-road length
#: comes out steeper than :data:`STEEP_GRADE` (8 %) before capping: no arterial is designed
#: above 7 % (CJJ 37-2012). The elderly and wheelchair results are then marked indicative.
PLAUSIBLE_PRIMARY_STEEP_SHARE: float = 0.10

#: Mean wait for a public lift. ASSUMPTION: 30 s, the wait part of the profiles'
#: ``elevator_seconds``; CIBSE Guide D gives 20-30 s average waits as good service for offices,
#: and a busy public lift at peak may be slower. ``verified: false``.
LIFT_WAIT_S: float = 30.0
#: Lift car speed: 1.0 m/s, a rated speed of ISO 4190-1 (0.63, 1.0, 1.6, 2.5 m/s) usual for
#: low- and mid-rise passenger lifts; ``verified: false`` for Chongqing's public lifts.
LIFT_SPEED_MS: float = 1.0
#: Height of one ``level`` step where a lift's levels are tagged but no DEM is given.
#: ASSUMPTION: 3.5 m, a storey of a public building.
STOREY_HEIGHT_M: float = 3.5
#: Height of one ``layer`` step (a footbridge deck over a street). ASSUMPTION: 5 m, the 4.5 m
#: vehicle headroom of CJJ 37-2012 plus the deck (``verified: false``).
LAYER_HEIGHT_M: float = 5.0
#: Rise of a lift whose levels' heights are unknown (no DEM, no ``level``/``layer`` tags).
#: ASSUMPTION: 10 m, about three storeys.
LIFT_DEFAULT_RISE_M: float = 10.0


# --------------------------------------------------------------------------- DEM sampling


def check_vertical_error(value: Any, *, option: str = "--dem-vertical-error") -> float:
    """Validate a DEM's vertical error in metres and return it as a float.

    Parameters
    ----------
    value : float
        Metres; 0 counts every wiggle of the fitted profile.
    option : str, default ``"--dem-vertical-error"``
        The option's name, for the message.

    Returns
    -------
    float

    Raises
    ------
    OptionError
        Not a finite number from 0 to :data:`MAX_DEM_VERTICAL_ERROR_M`.
    """
    expected = (f"{option} must be the DEM's vertical error in metres, from 0 to {MAX_DEM_VERTICAL_ERROR_M:g} "
                f"(SRTM: {DEM_VERTICAL_ERROR_M:g}; a survey or lidar bare-earth DEM: about 0.5)")
    if isinstance(value, bool):
        raise OptionError(f"{expected}; found {value!r}.")
    try:
        metres = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{expected}; found {str(value)[:40]!r}.") from None
    if not np.isfinite(metres) or not 0 <= metres <= MAX_DEM_VERTICAL_ERROR_M:
        raise OptionError(f"{expected}; found {value!r}.")
    return metres



def sample_dem(dem: Dem, x: np.ndarray, y: np.ndarray, crs: pyproj.CRS | str | int) -> np.ndarray:
    """Heights at points, by bilinear interpolation between cell centres.

    Points are transformed from ``crs`` into the DEM's CRS first. Where one of the four
    surrounding cells is nodata the nearest cell's value is used; points outside the
    raster (or on a nodata cell) get ``NaN``.

    Parameters
    ----------
    dem : Dem
    x, y : numpy.ndarray
        Coordinates in ``crs``.
    crs : pyproj.CRS, str or int

    Returns
    -------
    numpy.ndarray
        Metres, ``float64``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    crs = pyproj.CRS.from_user_input(crs)
    if not crs.equals(dem.crs):
        tr = pyproj.Transformer.from_crs(crs, dem.crs, always_xy=True)
        x, y = tr.transform(x, y)
    a, b, c, d, e, f = tuple(~dem.transform)[:6]
    col = a * x + b * y + c
    row = d * x + e * y + f
    n_rows, n_cols = dem.array.shape
    out = np.full(x.shape, np.nan)
    inside = (col >= 0) & (col <= n_cols) & (row >= 0) & (row <= n_rows) & np.isfinite(col) & np.isfinite(row)
    if not inside.any():
        return out
    ci, ri = col[inside], row[inside]
    arr = dem.array
    # Bilinear between the centres of the four nearest cells (edge cells replicated).
    fx, fy = ci - 0.5, ri - 0.5
    x0 = np.floor(fx).astype(np.int64)
    y0 = np.floor(fy).astype(np.int64)
    wx, wy = fx - x0, fy - y0
    x0c, x1c = np.clip(x0, 0, n_cols - 1), np.clip(x0 + 1, 0, n_cols - 1)
    y0c, y1c = np.clip(y0, 0, n_rows - 1), np.clip(y0 + 1, 0, n_rows - 1)
    z = (
        arr[y0c, x0c] * (1 - wx) * (1 - wy) + arr[y0c, x1c] * wx * (1 - wy)
        + arr[y1c, x0c] * (1 - wx) * wy + arr[y1c, x1c] * wx * wy
    )
    nearest = arr[np.clip(ri.astype(np.int64), 0, n_rows - 1), np.clip(ci.astype(np.int64), 0, n_cols - 1)]
    z = np.where(np.isfinite(z), z, nearest)
    out[inside] = z
    return out


def _normal_text(values: pd.Series) -> pd.Series:
    """Tag values as lower-case stripped strings (``NA`` where missing)."""
    return values.astype("string").str.strip().str.lower()


def _per_tag(edges: pd.DataFrame, name: str, parse: Callable[[pd.Series], Any]) -> np.ndarray:
    """``parse`` of a tag column as lower-case stripped strings (``NA`` where missing or
    untagged), evaluated once per distinct value (a handful) and spread to every edge."""
    values = edges[name] if name in edges else np.full(len(edges), None, dtype=object)
    return per_distinct_value(values, lambda s: np.asarray(parse(_normal_text(s))))


def _tag_is(edges: pd.DataFrame, name: str, test: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """``test`` of a tag column (see :func:`_per_tag`) per edge, ``False`` where it says ``NA``."""
    return _per_tag(edges, name, lambda t: test(t).fillna(False).to_numpy(dtype=bool)).astype(bool)


def _tag_number(edges: pd.DataFrame, name: str, text: Callable[[pd.Series], pd.Series] = lambda t: t) -> np.ndarray:
    """A numeric tag per edge (``NaN`` where missing or not a number)."""
    return _per_tag(edges, name, lambda t: pd.to_numeric(text(t), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)).astype(np.float64)


def _first_of_list(text: pd.Series) -> pd.Series:
    """The first of ``;``-separated values (``"-1;0"`` gives ``"-1"``)."""
    return text.str.split(";").str[0]


def _is_elevated(edges: pd.DataFrame) -> np.ndarray:
    """Bridges, tunnels and ways on a layer other than 0."""
    bridge = _tag_is(edges, "bridge", lambda t: t.notna() & ~t.isin(_NO_VALUES))
    tunnel = _tag_is(edges, "tunnel", lambda t: t.notna() & ~t.isin(_NO_VALUES))
    layer = _tag_number(edges, "layer")
    return bridge | tunnel | (~np.isnan(layer) & (layer != 0))


def _dem_cell_size_m(dem: Dem, crs: pyproj.CRS) -> float:
    """Approximate DEM cell size in metres of ``crs`` (the DEM may be in degrees)."""
    rows, cols = dem.array.shape
    a, b, c, d, e, f = tuple(dem.transform)[:6]
    cx, cy = a * cols / 2 + b * rows / 2 + c, d * cols / 2 + e * rows / 2 + f
    px, py = cx + a, cy + d  # one column further
    tr = pyproj.Transformer.from_crs(dem.crs, crs, always_xy=True)
    (x0, x1), (y0, y1) = tr.transform(np.array([cx, px]), np.array([cy, py]))
    size = float(np.hypot(x1 - x0, y1 - y0))
    return size if np.isfinite(size) and size > 0 else 30.0


def _harmonic_node_heights(n_nodes: int, u: np.ndarray, v: np.ndarray, length: np.ndarray,
                           elevated: np.ndarray, z_ground: np.ndarray) -> np.ndarray:
    """Heights of nodes touched only by elevated edges, interpolated along those edges.

    Nodes touching any ground-level edge keep their DEM height. The others solve the
    graph Laplace equation on the elevated edges (weights 1 / length), i.e. heights vary
    linearly with length along a chain of bridge or tunnel edges between ground nodes.
    Groups of elevated nodes reaching no ground node with a known height keep the DEM.
    """
    z = z_ground.copy()
    ground = np.zeros(n_nodes, dtype=bool)
    ground[u[~elevated]] = True
    ground[v[~elevated]] = True
    touched = np.zeros(n_nodes, dtype=bool)
    touched[u[elevated]] = True
    touched[v[elevated]] = True
    unknown = touched & ~ground
    if not unknown.any():
        return z
    known = ground & np.isfinite(z_ground)
    eu, ev, w = u[elevated], v[elevated], 1.0 / np.maximum(length[elevated], 1e-3)
    # Groups of unknown nodes (linked through elevated edges among unknowns) that touch no
    # known node cannot be solved: they keep the DEM height.
    both_unknown = unknown[eu] & unknown[ev]
    g = sparse.csr_matrix((np.ones(both_unknown.sum()), (eu[both_unknown], ev[both_unknown])), shape=(n_nodes, n_nodes))
    _, label = csgraph.connected_components(g, directed=False)
    anchored_label = np.zeros(label.max() + 1, dtype=bool)
    a1 = unknown[eu] & known[ev]
    a2 = unknown[ev] & known[eu]
    anchored_label[label[eu[a1]]] = True
    anchored_label[label[ev[a2]]] = True
    solve = unknown & anchored_label[label]
    if not solve.any():
        return z
    pos = np.full(n_nodes, -1, dtype=np.int64)
    pos[solve] = np.arange(solve.sum())
    m = int(solve.sum())
    # Laplacian rows for unknowns: sum_w z_i - sum_w z_j = 0, known z_j moved to the right.
    rows, cols, vals = [], [], []
    rhs = np.zeros(m)
    for a, b in ((eu, ev), (ev, eu)):
        sel = solve[a]
        ia = pos[a[sel]]
        wb = w[sel]
        rows.append(ia)
        cols.append(ia)
        vals.append(wb)
        b_sel = b[sel]
        b_unknown = solve[b_sel]
        rows.append(ia[b_unknown])
        cols.append(pos[b_sel[b_unknown]])
        vals.append(-wb[b_unknown])
        b_known = known[b_sel] & ~b_unknown
        np.add.at(rhs, ia[b_known], wb[b_known] * z_ground[b_sel[b_known]])
        # Neighbours neither solved nor known (NaN ground height) are left out: the node
        # is then interpolated from its other neighbours only; drop their weight too.
        other = ~b_unknown & ~b_known
        rows.append(ia[other])
        cols.append(ia[other])
        vals.append(-wb[other])
    mat = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, m)
    )
    z[solve] = spsolve(mat.tocsc(), rhs)
    return z


def edge_elevation_profile(
    network: WalkNetwork,
    dem: Dem,
    *,
    sample_spacing_m: float = 10.0,
    grade_window_m: float | None = None,
    vertical_error_m: float = DEM_VERTICAL_ERROR_M,
    cap_road_grades: bool = True,
) -> pd.DataFrame:
    """Climb, descent and steepest grade of every edge, from a DEM sampled along it.

    Parameters
    ----------
    network : WalkNetwork
    dem : Dem
        In any CRS; points are transformed into it.
    sample_spacing_m : float, default 10
        Samples at most this far apart along each edge (its own vertices kept).
    grade_window_m : float, optional
        ``grade_max`` is the steepest grade over any stretch at least this long (the whole
        edge when shorter): shorter stretches than a DEM cell measure only its noise.
        Default three DEM cells (90 m for SRTM 30 m).
    vertical_error_m : float, default :data:`DEM_VERTICAL_ERROR_M`
        The profile is first fitted (a morphological opening over about three DEM cells, so
        a building under a sample cannot make a street climb), then a hysteresis filter
        ignores rises and falls smaller than this; the net change between the ends always
        counts. ``0`` counts every wiggle of the fitted profile (``--dem-vertical-error``).
    cap_road_grades : bool, default True
        Cap grades of trunk, primary and secondary roads at their design limits
        (:data:`ROAD_CLASS_MAX_GRADE`, CJJ 37-2012), scaling their climb and descent.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``network.edges``: ``rise_m``, ``fall_m`` (metres climbed / descended
        walking ``u -> v``; ``v -> u`` swaps them), ``up_length_m``, ``down_length_m``
        (horizontal length of the climb / descent), ``grade_max`` (steepest absolute
        grade), ``z_u``, ``z_v`` (end heights), ``grade_max_dem`` (before the road-class
        cap), ``grade_capped``, and ``elevation_source``: ``"dem"`` (every sample on
        data), ``"partial"`` (stretches off the DEM count as flat), ``"endpoints"``
        (bridge, tunnel or layer != 0: uniform grade between the end heights), ``"flat"``
        (no height); :func:`with_mapped_heights` adds ``"tags"``.

    Raises
    ------
    OptionError
        ``sample_spacing_m`` or ``grade_window_m`` is not a positive number, or
        ``vertical_error_m`` is not from 0 to :data:`MAX_DEM_VERTICAL_ERROR_M`.
    DemError
        No edge gets a height: the DEM does not overlap the network.
    """
    _check_profile_options(sample_spacing_m, grade_window_m, vertical_error_m)
    n = network.n_edges
    cell = _dem_cell_size_m(dem, network.crs)
    idx, xy, z, source = _sample_edges(network, dem, float(sample_spacing_m))
    # Fit along the way: an opening over about three DEM cells removes building bumps, then
    # only rises and falls larger than the DEM's vertical error count (the net change always does).
    half = max(1, int(round(1.5 * cell / float(sample_spacing_m))))
    z_fit, z_open = _fit_profile(idx, z, half, float(vertical_error_m))
    climb = dict(zip(_CLIMB_COLUMNS, _hysteresis_climb(idx, xy, z_fit, n, float(vertical_error_m))))
    window = float(grade_window_m) if grade_window_m is not None else 3.0 * cell
    climb["grade_max"] = _windowed_grade_max(idx, xy, z_open, n, window)
    z_node = _elevated_from_ends(network, dem, climb, source)
    climb["grade_max"] = np.nan_to_num(climb["grade_max"], nan=0.0)
    grade_dem = climb["grade_max"].copy()
    capped = _cap_road_grades(network.edges, climb) if cap_road_grades else np.zeros(n, dtype=bool)
    u, v = network.edges["u"].to_numpy(dtype=np.int64), network.edges["v"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({**climb, "grade_max_dem": grade_dem, "grade_capped": capped, "z_u": z_node[u],
                        "z_v": z_node[v], "elevation_source": pd.Categorical(source, categories=ELEVATION_SOURCES)},
                       index=network.edges.index)
    _check_elevation(out, dem, network)
    return out


#: The climb columns of :func:`edge_elevation_profile`, in order.
_CLIMB_COLUMNS: tuple[str, ...] = ("rise_m", "fall_m", "up_length_m", "down_length_m")


def _check_profile_options(sample_spacing_m: Any, grade_window_m: Any, vertical_error_m: Any) -> None:
    """:func:`edge_elevation_profile`'s options, checked before any sampling."""
    for name, value in (("sample_spacing_m", sample_spacing_m), ("grade_window_m", grade_window_m)):
        if value is None and name == "grade_window_m":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise OptionError(f"{name} must be a positive number of metres; found {value!r}.")
    check_vertical_error(vertical_error_m, option="vertical_error_m")


def _sample_edges(network: WalkNetwork, dem: Dem, spacing: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every sample of every edge at once: edge of each sample, coordinates, DEM heights,
    and per edge ``"dem"`` (all samples on data), ``"partial"`` or ``"flat"``."""
    n = network.n_edges
    dense = shapely.segmentize(network.edges.geometry.to_numpy(), max_segment_length=spacing)
    xy, idx = shapely.get_coordinates(dense, return_index=True)
    z = sample_dem(dem, xy[:, 0], xy[:, 1], network.crs)
    same = idx[1:] == idx[:-1]
    ok = np.isfinite(np.diff(z))[same]
    pair_edge = idx[:-1][same]
    n_pairs = np.bincount(pair_edge, minlength=n)
    n_ok = np.bincount(pair_edge, weights=ok.astype(np.float64), minlength=n)
    source = np.where(n_ok == n_pairs, "dem", np.where(n_ok > 0, "partial", "flat")).astype(object)
    return idx, xy, z, source


def _elevated_from_ends(network: WalkNetwork, dem: Dem, climb: dict[str, np.ndarray],
                        source: np.ndarray) -> np.ndarray:
    """Node heights; bridges and tunnels (updated in place in ``climb`` and ``source``) take a
    uniform grade between their ends' heights, interpolated along elevated chains."""
    edges = network.edges
    length = edges["length_m"].to_numpy(dtype=np.float64)
    u, v = edges["u"].to_numpy(dtype=np.int64), edges["v"].to_numpy(dtype=np.int64)
    node_xy = shapely.get_coordinates(network.nodes.geometry.to_numpy())
    z_node = sample_dem(dem, node_xy[:, 0], node_xy[:, 1], network.crs)
    elevated = _is_elevated(edges)
    if elevated.any():
        z_node = _harmonic_node_heights(network.n_nodes, u, v, length, elevated, z_node)
        dz = z_node[v[elevated]] - z_node[u[elevated]]
        _set_uniform_grade(climb, elevated, np.where(np.isfinite(dz), dz, 0.0), length[elevated])
        source[elevated] = np.where(np.isfinite(dz), "endpoints", "flat")
    # Rounding of summed float lengths must not make the climbing part exceed the edge.
    climb["up_length_m"] = np.minimum(climb["up_length_m"], length)
    climb["down_length_m"] = np.minimum(climb["down_length_m"], length - climb["up_length_m"])
    return z_node


def _set_uniform_grade(climb: dict[str, np.ndarray], rows: np.ndarray, dz: np.ndarray, length: np.ndarray) -> None:
    """Climb columns of ``rows`` (in place): a straight grade ``dz`` over ``length``."""
    climb["rise_m"][rows] = np.maximum(dz, 0.0)
    climb["fall_m"][rows] = np.maximum(-dz, 0.0)
    climb["up_length_m"][rows] = np.where(dz > 0, length, 0.0)
    climb["down_length_m"][rows] = np.where(dz < 0, length, 0.0)
    climb["grade_max"][rows] = np.abs(dz) / np.maximum(length, 1e-9)


def _cap_road_grades(edges: pd.DataFrame, climb: dict[str, np.ndarray]) -> np.ndarray:
    """Cap the grades of road classes with a design limit (in place); the edges capped."""
    limit = _per_tag(edges, "highway", lambda t: t.map(ROAD_CLASS_MAX_GRADE).astype(float).to_numpy()).astype(float)
    rise, fall, up_len, down_len = (climb[c] for c in _CLIMB_COLUMNS)
    with np.errstate(invalid="ignore", divide="ignore"):
        up_g = np.where(up_len > 0, rise / up_len, 0.0)
        down_g = np.where(down_len > 0, fall / down_len, 0.0)
    capped = np.isfinite(limit) & ((climb["grade_max"] > limit) | (up_g > limit) | (down_g > limit))
    if capped.any():
        lim = np.where(capped, limit, 0.0)
        climb["rise_m"] = np.where(capped, np.minimum(rise, lim * up_len), rise)
        climb["fall_m"] = np.where(capped, np.minimum(fall, lim * down_len), fall)
        climb["grade_max"] = np.where(capped, np.minimum(climb["grade_max"], lim), climb["grade_max"])
    return capped


def _check_elevation(out: pd.DataFrame, dem: Dem, network: WalkNetwork) -> None:
    """Refuse a DEM that gives no edge a height; log what it covers."""
    s = elevation_summary(out)
    if s["edges_with_height"] == 0:
        raise DemError(
            f"DEM {dem.path} gives no height for any of the {len(out):,} walkable edges: it does not overlap "
            f"the network (DEM CRS {dem.crs.to_string()}, network CRS {pyproj.CRS.from_user_input(network.crs).to_string()})."
        )
    log.info(
        "Elevation along %s edges: %s from the DEM, %s partly covered, %s bridges/tunnels from end points, "
        "%s flat for lack of DEM data",
        f"{len(out):,}", f"{s['dem']:,}", f"{s['partial']:,}", f"{s['endpoints']:,}", f"{s['flat']:,}",
    )
    if s["flat"] or s["partial"]:
        log.warning(
            "%s edge(s) have no DEM height and %s only part: those stretches are walked as flat.",
            f"{s['flat']:,}", f"{s['partial']:,}",
        )


def _running(idx: np.ndarray, z: np.ndarray, half: int, reduce) -> np.ndarray:
    """``reduce`` (nanmin, nanmax) over each sample's window of ``half`` samples each side;
    beyond an edge's ends the profile is continued by point reflection about the end sample
    (``2 z_end - z``), so a straight slope passes unchanged."""
    m = len(idx)
    if m == 0 or half <= 0:
        return z.copy()
    starts = np.r_[True, idx[1:] != idx[:-1]]
    first = np.flatnonzero(starts)
    last = np.r_[first[1:] - 1, m - 1]
    run = np.cumsum(starts) - 1
    lo, hi = first[run][:, None], last[run][:, None]
    pos = np.arange(m)[:, None] + np.arange(-half, half + 1)[None, :]
    below, above = pos < lo, pos > hi
    mirror = np.where(below, 2 * lo - pos, np.where(above, 2 * hi - pos, pos))
    mirror = np.clip(mirror, lo, hi)  # edges shorter than the window
    values = z[mirror]
    anchor = np.where(below, z[lo], np.where(above, z[hi], 0.0))
    values = np.where(below | above, 2 * anchor - values, values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        return reduce(values, axis=1)


def _fit_profile(idx: np.ndarray, z: np.ndarray, half: int, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The ground under a way from surface-model samples: a morphological opening (running
    minimum, then running maximum, over ``2 half + 1`` samples) removes bumps narrower than
    the window (buildings, trees, bridges over the way in a surface model such as SRTM) and
    keeps straight slopes (Zhang et al. 2003, "A progressive morphological filter for
    removing nonground measurements from airborne LIDAR data", IEEE TGRS 41(4), in 1-D).
    As there, only samples more than ``tolerance`` above the opened profile are taken as
    objects and replaced; the rest (a crest the opening would shave) is kept.

    Returns the fitted profile (for climb and descent) and the opened one (for the steepest
    grade, which the flanks of a building left within the tolerance would still distort).
    """
    opened = _running(idx, _running(idx, z, half, np.nanmin), half, np.nanmax)
    with np.errstate(invalid="ignore"):
        return np.where(z - opened > tolerance, opened, z), opened


def _hysteresis_climb(idx: np.ndarray, xy: np.ndarray, z: np.ndarray, n: int,
                      tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Climb, descent and the lengths they happen over, per edge, ignoring reversals smaller
    than ``tolerance`` (the net change between the first and last valid sample is kept).

    Runs position by position along all edges at once (a loop over the longest edge's sample
    count, vectorised over edges), in chunks that bound memory.
    """
    rise, fall = np.zeros(n), np.zeros(n)
    up_len, down_len = np.zeros(n), np.zeros(n)
    m = len(idx)
    if m == 0:
        return rise, fall, up_len, down_len
    step = np.r_[0.0, np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))]
    starts = np.r_[True, idx[1:] != idx[:-1]]
    step[starts] = 0.0
    first = np.flatnonzero(starts)
    counts = np.diff(np.r_[first, m])
    edge_ids = idx[first]
    s_along = np.cumsum(step) - np.repeat(np.cumsum(step)[first], counts)
    # Edges of similar sample counts together (powers of two), so short edges do not wait
    # for the longest; blocks bounded in size.
    bucket = np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    budget = 2_000_000
    for b in np.unique(bucket):
        members = np.flatnonzero(bucket == b)
        width = int(counts[members].max())
        per_block = max(1, budget // max(width, 1))
        for lo in range(0, len(members), per_block):
            chunk = members[lo:lo + per_block]
            k = len(chunk)
            Z = np.full((k, width), np.nan)
            S = np.full((k, width), np.nan)
            col = np.arange(width)
            valid = col[None, :] < counts[chunk][:, None]
            src = (first[chunk][:, None] + col[None, :])[valid]
            Z[valid] = z[src]
            S[valid] = s_along[src]
            r, f, ul, dl = _hysteresis_rows(Z, S, tolerance)
            e = edge_ids[chunk]
            rise[e], fall[e], up_len[e], down_len[e] = r, f, ul, dl
    return rise, fall, up_len, down_len


def _hysteresis_rows(Z: np.ndarray, S: np.ndarray, tol: float) -> tuple[np.ndarray, ...]:
    """:func:`_hysteresis_climb` on a padded (edges x samples) block; NaN samples skipped."""
    k, width = Z.shape
    rise, fall, up_len, down_len = (np.zeros(k) for _ in range(4))
    ext_z = np.full(k, np.nan)   # last confirmed extreme
    ext_s = np.zeros(k)
    cand_z = np.full(k, np.nan)  # running candidate extreme in the current direction
    cand_s = np.zeros(k)
    last_z = np.full(k, np.nan)
    last_s = np.zeros(k)
    first_s = np.full(k, np.nan)
    direction = np.zeros(k, dtype=np.int8)
    for j in range(width):
        zj, sj = Z[:, j], S[:, j]
        ok = np.isfinite(zj)
        if not ok.any():
            continue
        new = ok & np.isnan(ext_z)
        ext_z[new], ext_s[new], cand_z[new], cand_s[new] = zj[new], sj[new], zj[new], sj[new]
        first_s[new] = sj[new]
        live = ok & ~new
        # Undecided: start a direction once the change from the start exceeds the tolerance.
        und = live & (direction == 0)
        go_up = und & (zj - ext_z > tol)
        go_dn = und & (ext_z - zj > tol)
        direction[go_up], direction[go_dn] = 1, -1
        cand_z[go_up | go_dn], cand_s[go_up | go_dn] = zj[go_up | go_dn], sj[go_up | go_dn]
        # Rising: extend the peak, or confirm it when the fall from it exceeds the tolerance.
        up = live & (direction == 1) & ~go_up
        higher = up & (zj > cand_z)
        cand_z[higher], cand_s[higher] = zj[higher], sj[higher]
        turn = up & (cand_z - zj > tol)
        rise[turn] += cand_z[turn] - ext_z[turn]
        up_len[turn] += cand_s[turn] - ext_s[turn]
        ext_z[turn], ext_s[turn] = cand_z[turn], cand_s[turn]
        cand_z[turn], cand_s[turn] = zj[turn], sj[turn]
        direction[turn] = -1
        # Falling: the mirror image.
        dn = live & (direction == -1) & ~go_dn & ~turn
        lower = dn & (zj < cand_z)
        cand_z[lower], cand_s[lower] = zj[lower], sj[lower]
        turn2 = dn & (zj - cand_z > tol)
        fall[turn2] += ext_z[turn2] - cand_z[turn2]
        down_len[turn2] += cand_s[turn2] - ext_s[turn2]
        ext_z[turn2], ext_s[turn2] = cand_z[turn2], cand_s[turn2]
        cand_z[turn2], cand_s[turn2] = zj[turn2], sj[turn2]
        direction[turn2] = 1
        last_z[ok], last_s[ok] = zj[ok], sj[ok]
    have = np.isfinite(ext_z)
    # Close: the pending leg to the candidate, then the tail to the last sample (net kept).
    for d, sign in ((1, 1.0), (-1, -1.0)):
        sel = have & (direction == d)
        leg = (cand_z[sel] - ext_z[sel]) * sign
        if d == 1:
            rise[sel] += leg
            up_len[sel] += cand_s[sel] - ext_s[sel]
        else:
            fall[sel] += leg
            down_len[sel] += cand_s[sel] - ext_s[sel]
        ext_z[sel], ext_s[sel] = cand_z[sel], cand_s[sel]
    tail = np.where(have, last_z - ext_z, 0.0)
    tail_len = np.where(have, last_s - ext_s, 0.0)
    rise += np.maximum(tail, 0.0)
    fall += np.maximum(-tail, 0.0)
    up_len += np.where(tail > 0, tail_len, 0.0)
    down_len += np.where(tail < 0, tail_len, 0.0)
    return rise, fall, up_len, down_len


def dem_plausibility(network: WalkNetwork, elevation: pd.DataFrame, *,
                     max_share: float = PLAUSIBLE_PRIMARY_STEEP_SHARE,
                     vertical_error_m: float = DEM_VERTICAL_ERROR_M) -> dict[str, Any]:
    """Is the DEM plausible for the streets? Share of primary-road length steeper than 8 %.

    Arterials are designed at 7 % at most (CJJ 37-2012): where more than ``max_share`` of
    primary-road length (``primary``/``primary_link``, bridges and tunnels excluded, DEM
    covered) comes out steeper than :data:`STEEP_GRADE` before the road-class cap, the DEM
    measures buildings or cuttings, not streets (SRTM is a surface model), and a warning is
    logged; the elderly and wheelchair results are then indicative.

    Parameters
    ----------
    network : WalkNetwork
    elevation : pandas.DataFrame
        :func:`edge_elevation_profile` (before mapped heights).
    max_share : float, default :data:`PLAUSIBLE_PRIMARY_STEEP_SHARE`
    vertical_error_m : float, default :data:`DEM_VERTICAL_ERROR_M`
        The vertical error the profile was fitted with, recorded with the verdict.

    Returns
    -------
    dict
        ``primary_km``, ``primary_steep_share_dem`` (before the cap), ``primary_steep_share``
        (after), ``edges_capped``, ``threshold``, ``plausible`` (bool), ``indicative``
        (profiles whose results are indicative: ``[]`` when plausible).
    """
    edges = network.edges
    length = edges["length_m"].to_numpy(dtype=float)
    primary = _tag_is(edges, "highway", lambda t: t.isin(["primary", "primary_link"]))
    primary = primary & ~_is_elevated(edges) & (elevation["elevation_source"].astype(str) == "dem").to_numpy()
    raw = elevation["grade_max_dem"].to_numpy(dtype=float) if "grade_max_dem" in elevation else elevation["grade_max"].to_numpy(dtype=float)
    final = elevation["grade_max"].to_numpy(dtype=float)
    total = float(length[primary].sum())
    share_raw = float(length[primary & (raw > STEEP_GRADE)].sum() / total) if total else 0.0
    share_final = float(length[primary & (final > STEEP_GRADE)].sum() / total) if total else 0.0
    plausible = share_raw <= max_share
    capped = int(elevation["grade_capped"].sum()) if "grade_capped" in elevation else 0
    if not plausible:
        log.warning(
            "The DEM is implausible for the streets: %.0f%% of primary-road length comes out steeper than %.0f%% "
            "(arterials are designed at 7%% at most, CJJ 37-2012); it likely measures buildings (a surface model "
            "such as SRTM). Road grades were capped by class on %d edges; elderly and wheelchair results are "
            "INDICATIVE. Use a bare-earth DEM where you have one.",
            100 * share_raw, 100 * STEEP_GRADE, capped,
        )
    return {
        "primary_km": round(total / 1000, 3),
        "primary_steep_share_dem": round(share_raw, 4),
        "primary_steep_share": round(share_final, 4),
        "edges_capped": capped,
        "threshold": max_share,
        "plausible": bool(plausible),
        "indicative": [] if plausible else ["elderly", "wheelchair"],
        "vertical_error_m": float(vertical_error_m),
        "road_class_max_grade": ROAD_CLASS_MAX_GRADE,
        "verified": False,
    }


def _windowed_grade_max(idx: np.ndarray, xy: np.ndarray, z: np.ndarray, n: int, window: float) -> np.ndarray:
    """Steepest |dz| / run over stretches >= ``window`` long (the whole edge if shorter)."""
    m = len(idx)
    step = np.r_[0.0, np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))]
    step[np.r_[True, idx[1:] != idx[:-1]]] = 0.0
    cum = np.cumsum(step)
    first = np.r_[0, np.flatnonzero(idx[1:] != idx[:-1]) + 1]
    start_of = np.zeros(m, dtype=np.int64)
    start_of[first] = first
    start_of = np.maximum.accumulate(start_of)
    s = cum - cum[start_of]  # distance along the edge
    span = float(s.max()) + window + 1.0
    key = idx * span + s  # sorted: idx ascending, s ascending within an edge
    j = np.searchsorted(key, key + window - 1e-9, side="left")
    j_ok = j < m
    jj = np.where(j_ok, j, m - 1)
    valid = j_ok & (idx[jj] == idx) & (jj > np.arange(m))
    grade = np.full(m, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        grade[valid] = np.abs(z[jj[valid]] - z[valid]) / (s[jj[valid]] - s[valid])
    gmax = np.full(n, np.nan)
    g_ok = np.isfinite(grade)
    np.fmax.at(gmax, idx[g_ok], grade[g_ok])
    # Edges shorter than the window: the grade between their two ends.
    last = np.r_[first[1:] - 1, m - 1]
    edge_of_first = idx[first]
    total = s[last]
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = np.abs(z[last] - z[first]) / total
    short = np.isnan(gmax[edge_of_first])
    gmax[edge_of_first[short]] = whole[short]
    return gmax


def elevation_summary(elevation: pd.DataFrame) -> dict[str, Any]:
    """Counts of edges by elevation source, for logs and the run record.

    Parameters
    ----------
    elevation : pandas.DataFrame
        From :func:`edge_elevation_profile`.

    Returns
    -------
    dict
        ``dem``, ``partial``, ``endpoints``, ``tags`` (mapped ``ele``), ``flat`` (edge
        counts), ``edges_with_height``, ``edges``.
    """
    counts = elevation["elevation_source"].value_counts()
    out: dict[str, Any] = {k: int(counts.get(k, 0)) for k in ELEVATION_SOURCES}
    out["edges"] = int(len(elevation))
    out["edges_with_height"] = out["edges"] - out["flat"]
    return out


# --------------------------------------------------------------------------- tags and costs


def parse_incline(values: pd.Series) -> pd.DataFrame:
    """Parse OSM ``incline`` values (vectorised).

    Parameters
    ----------
    values : pandas.Series
        Raw tag values (``NA``/``None`` where untagged).

    Returns
    -------
    pandas.DataFrame
        Same index; columns ``direction`` (+1 up along the way, -1 down, 0 none or
        unknown), ``grade`` (signed grade along the way where numeric, else ``NaN``) and
        ``malformed`` (bool: a value that is neither up/down/no nor a plausible percent or
        degree value).

    Examples
    --------
    >>> import pandas as pd
    >>> parsed = parse_incline(pd.Series(["up", "10%", "-5°", "steep", None]))
    >>> parsed["direction"].tolist(), parsed["grade"].round(3).tolist(), parsed["malformed"].tolist()
    ([1, 1, -1, 0, 0], [nan, 0.1, -0.087, nan, nan], [False, False, False, True, False])
    """
    # Parsed once per distinct value (a handful on a city's edges), then spread to the rows.
    codes, distinct = distinct_values(values)
    parsed = _parse_incline_values(distinct)
    return pd.DataFrame({col: parsed[col].to_numpy()[codes] for col in parsed.columns}, index=values.index)


def _parse_incline_values(values: pd.Series) -> pd.DataFrame:
    """:func:`parse_incline` of every value, one by one."""
    s = values.astype("string").str.strip().str.lower()
    present = s.notna() & (s != "")
    num = s.str.extract(r"^([+-]?\d+(?:[.,]\d+)?)\s*(%|°|deg|degree|degrees)$")
    value = pd.to_numeric(num[0].str.replace(",", ".", regex=False), errors="coerce")
    is_deg = num[1].isin(["°", "deg", "degree", "degrees"])
    grade = np.where(is_deg.fillna(False), np.tan(np.radians(value.clip(-89, 89))), value / 100.0)
    grade = pd.Series(grade, index=values.index, dtype="float64")
    numeric_ok = grade.notna() & (grade.abs() <= MAX_INCLINE_GRADE)
    is_up = (s == "up").fillna(False)
    is_down = (s == "down").fillna(False)
    is_no = s.isin(_NO_VALUES).fillna(False)
    malformed = present.fillna(False) & ~is_up & ~is_down & ~is_no & ~numeric_ok.fillna(False)
    direction = np.where(is_up, 1, np.where(is_down, -1, np.where(numeric_ok, np.sign(grade.fillna(0.0)), 0)))
    return pd.DataFrame(
        {"direction": direction.astype(np.int8), "grade": grade.where(numeric_ok), "malformed": malformed.to_numpy(dtype=bool)},
        index=values.index,
    )


def slope_speed_factor(profile: WalkingProfile, grade: np.ndarray) -> np.ndarray:
    """Speed on a grade as a share of the profile's flat speed (scaled Tobler 1993).

    Parameters
    ----------
    profile : WalkingProfile
    grade : numpy.ndarray
        Signed grade in the walking direction (rise / run; 0.1 = 10 % uphill).

    Returns
    -------
    numpy.ndarray
        ``min(max_speed_factor, f(grade))``, see the module docstring; 1 on the flat.
    """
    g = np.asarray(grade, dtype=np.float64)
    s0, ku, kd = profile.slope_offset, profile.slope_k_up, profile.slope_k_down
    k = np.where(g >= -s0, ku, kd)
    f = np.exp(-k * (np.abs(g + s0) - s0))
    return np.minimum(profile.max_speed_factor, f)


def _walk_seconds(profile: WalkingProfile, length, up_len, rise, down_len, fall) -> np.ndarray:
    """Seconds to walk a stretch climbing ``rise`` over ``up_len`` and descending ``fall`` over ``down_len``."""
    v0 = profile.flat_speed_ms
    with np.errstate(invalid="ignore", divide="ignore"):
        g_up = np.where(up_len > 0, rise / up_len, 0.0)
        g_down = np.where(down_len > 0, fall / down_len, 0.0)
    t_up = np.where(up_len > 0, up_len / (v0 * slope_speed_factor(profile, g_up)), 0.0)
    t_down = np.where(down_len > 0, down_len / (v0 * slope_speed_factor(profile, -g_down)), 0.0)
    flat = np.maximum(length - up_len - down_len, 0.0)
    return t_up + t_down + flat / v0


# --------------------------------------------------------------------------- mapped heights


def parse_ele(values: pd.Series) -> np.ndarray:
    """Parse OSM ``ele`` values: metres above sea level (vectorised).

    Parameters
    ----------
    values : pandas.Series
        Raw tag values: ``"239"``, ``"239.5"``, ``"239 m"``; a list (``"239;240"``) takes
        its first value.

    Returns
    -------
    numpy.ndarray
        Metres, ``float64``; ``NaN`` where untagged or not a height from
        :data:`MIN_ELE_M` to :data:`MAX_ELE_M` (feet and other units are refused).

    Examples
    --------
    >>> import pandas as pd
    >>> parse_ele(pd.Series(["239", "239.5 m", "240;241", "800 ft", None])).tolist()
    [239.0, 239.5, 240.0, nan, nan]
    """
    s = values.astype("string").str.split(";").str[0].str.strip().str.lower()
    number = s.str.extract(r"^([+-]?\d+(?:\.\d+)?)\s*(?:m)?$")[0]
    metres = pd.to_numeric(number, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where((metres >= MIN_ELE_M) & (metres <= MAX_ELE_M), metres, np.nan)


#: Plausible ``ele`` values (metres): the Dead Sea shore to Everest.
MIN_ELE_M: float = -450.0
MAX_ELE_M: float = 8900.0


def mapped_node_heights(network: WalkNetwork, node_ele: pd.Series | None) -> np.ndarray:
    """Mapped heights (``ele`` tags) of the network's nodes.

    A lift's hub node carries the lift node's OSM id, so a lift mapped with ``ele`` gets it
    (:func:`lift_link_seconds` takes it as the height of one level the ways do not give).

    Parameters
    ----------
    network : WalkNetwork
    node_ele : pandas.Series or None
        Raw ``ele`` values indexed by OSM node id
        (:attr:`lifecircle.layers.osm.OsmExtract.node_ele`).

    Returns
    -------
    numpy.ndarray
        Metres per node, ``NaN`` where none is mapped (or the value is malformed).
    """
    out = np.full(network.n_nodes, np.nan)
    if node_ele is None or len(node_ele) == 0:
        return out
    ids = np.asarray(node_ele.index, dtype=np.int64)
    heights = parse_ele(pd.Series(node_ele.to_numpy(), dtype=object))
    order = np.argsort(ids, kind="stable")
    ids, heights = ids[order], heights[order]
    osm = network.nodes["osm_id"].to_numpy(dtype=np.int64)
    pos = np.clip(np.searchsorted(ids, osm), 0, len(ids) - 1)
    hit = ids[pos] == osm
    out[hit] = heights[pos[hit]]
    return out


def with_mapped_heights(network: WalkNetwork, elevation: pd.DataFrame | None,
                        node_heights: np.ndarray) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Prefer mapped heights to the DEM: edges whose two ends carry ``ele`` take a uniform
    grade between them (``elevation_source`` ``"tags"``, no road-class cap: a mapped height
    is surveyed). ``z_u``/``z_v`` stay the DEM's; ``ele_u``/``ele_v`` are the mapped ones.

    Nodes in the middle of a way with ``ele`` are graph nodes
    (``build_walk_network(split_node_ids=...)``), so each stretch between two mapped
    heights is its own edge. An edge with one mapped end keeps the DEM (or, without a DEM,
    the tags-only model: stairs' default grade).

    Parameters
    ----------
    network : WalkNetwork
    elevation : pandas.DataFrame or None
        :func:`edge_elevation_profile`, or ``None`` without a DEM.
    node_heights : numpy.ndarray
        :func:`mapped_node_heights`.

    Returns
    -------
    elevation : pandas.DataFrame or None
        A new table with the columns of :func:`edge_elevation_profile` plus ``ele_u``,
        ``ele_v`` (mapped heights of the ends, ``NaN`` where none); ``None`` when there is
        neither a DEM nor any mapped height on the network.
    report : dict
        ``nodes_with_ele``, ``edges_from_tags``, ``edges_from_dem`` (``dem``, ``partial``
        and ``endpoints`` edges).
    """
    edges = network.edges
    u, v = edges["u"].to_numpy(dtype=np.int64), edges["v"].to_numpy(dtype=np.int64)
    ele_u, ele_v = node_heights[u], node_heights[v]
    both = np.isfinite(ele_u) & np.isfinite(ele_v) & ~is_lift_link(edges)
    report: dict[str, Any] = {"nodes_with_ele": int(np.isfinite(node_heights).sum()), "edges_from_tags": int(both.sum())}
    if elevation is None and not np.isfinite(node_heights).any():
        report["edges_from_dem"] = 0
        return None, report
    out = elevation.copy() if elevation is not None else _flat_elevation(edges)
    length = edges["length_m"].to_numpy(dtype=np.float64)
    climb = {c: out[c].to_numpy(dtype=np.float64).copy() for c in (*_CLIMB_COLUMNS, "grade_max")}
    if both.any():
        _set_uniform_grade(climb, both, (ele_v - ele_u)[both], length[both])
    for c, values in climb.items():
        out[c] = values
    out["grade_max_dem"] = np.where(both, out["grade_max"], out["grade_max_dem"])
    out["grade_capped"] = np.where(both, False, out["grade_capped"].to_numpy(dtype=bool))
    out["ele_u"], out["ele_v"] = ele_u, ele_v
    source = out["elevation_source"].astype(object).to_numpy()
    out["elevation_source"] = pd.Categorical(np.where(both, "tags", source), categories=ELEVATION_SOURCES)
    report["edges_from_dem"] = int(np.isin(out["elevation_source"].astype(str), ["dem", "partial", "endpoints"]).sum())
    return out, report


def _flat_elevation(edges: pd.DataFrame) -> pd.DataFrame:
    """An elevation table with no height anywhere (the base for mapped heights without a DEM)."""
    n = len(edges)
    zeros = {c: np.zeros(n) for c in (*_CLIMB_COLUMNS, "grade_max", "grade_max_dem")}
    return pd.DataFrame({**zeros, "grade_capped": np.zeros(n, dtype=bool), "z_u": np.full(n, np.nan),
                         "z_v": np.full(n, np.nan),
                         "elevation_source": pd.Categorical(["flat"] * n, categories=ELEVATION_SOURCES)},
                        index=edges.index)


# --------------------------------------------------------------------------- lifts


#: Where a lift's level heights come from (:func:`lift_level_heights`), in order of preference.
LIFT_HEIGHT_SOURCES: tuple[str, ...] = ("tags", "dem", "level", "layer", "default")


def _far_end_mean(network: WalkNetwork, z_u: np.ndarray, z_v: np.ndarray, ordinary: np.ndarray) -> np.ndarray:
    """Per node: mean height of the far ends of its ordinary edges (``NaN`` where none known)."""
    u, v = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    near = np.concatenate([u[ordinary], v[ordinary]])
    far_z = np.concatenate([z_v[ordinary], z_u[ordinary]])
    ok = np.isfinite(far_z)
    total = np.bincount(near[ok], weights=far_z[ok], minlength=network.n_nodes)
    count = np.bincount(near[ok], minlength=network.n_nodes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _column(elevation: pd.DataFrame | None, name: str, n: int) -> np.ndarray:
    """A float column of the elevation table, all ``NaN`` where absent."""
    if elevation is None or name not in elevation:
        return np.full(n, np.nan)
    return elevation[name].to_numpy(dtype=float)


def _mapped_level_heights(network: WalkNetwork, elevation: pd.DataFrame | None, link: np.ndarray,
                          lift: np.ndarray) -> np.ndarray:
    """Per lift link: its level's mapped height (its node's ``ele``, else the mean ``ele`` of the
    nodes its paths lead to); the lift node's own ``ele`` fills the one level of a lift that
    has none (a lift mapped with ``ele`` stands at one of its levels)."""
    n = len(link)
    ele_u, ele_v = _column(elevation, "ele_u", n), _column(elevation, "ele_v", n)
    u = network.edges["u"].to_numpy()
    far = _far_end_mean(network, ele_u, ele_v, ~link)
    own = np.where(np.isfinite(ele_u), ele_u, far[u])[link]
    lift_ele = ele_v[link]  # the hub is the lift node
    missing = pd.Series(~np.isfinite(own)).groupby(lift).transform("sum").to_numpy()
    return np.where(np.isfinite(own), own, np.where(missing == 1, lift_ele, np.nan))


def lift_level_heights(network: WalkNetwork, elevation: pd.DataFrame | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Height of the level each lift link serves, and where it comes from.

    One source for all levels of a lift, the first that gives every level a height (the
    DEM and the tags need only one level with a height):

    1. ``tags``: mapped ``ele`` (:func:`with_mapped_heights`): the level's node, else the
       mean of the nodes its paths lead to, the lift node's own ``ele`` filling one level;
    2. ``dem``: the mean DEM height of the nodes its paths lead to away from the lift (the DEM
       at the lift itself cannot tell its levels apart; bridge decks carry interpolated
       heights, see :func:`edge_elevation_profile`);
    3. ``level``: its ``level`` tag x :data:`STOREY_HEIGHT_M`, where any level is tagged
       (untagged levels count as 0);
    4. ``layer``: ``layer`` x :data:`LAYER_HEIGHT_M`, likewise;
    5. ``default``: unknown. A level without a height (here, or one the DEM misses) counts
       half of :data:`LIFT_DEFAULT_RISE_M` above the lowest.

    Parameters
    ----------
    network : WalkNetwork
    elevation : pandas.DataFrame, optional
        :func:`edge_elevation_profile` and/or :func:`with_mapped_heights`.

    Returns
    -------
    rise : numpy.ndarray
        Per lift link, metres above the lift's lowest level.
    source : numpy.ndarray
        Per lift link, one of :data:`LIFT_HEIGHT_SOURCES`.
    """
    edges = network.edges
    link = is_lift_link(edges)
    n = len(edges)
    lift = edges["lift_node"].to_numpy()[link]
    far = _far_end_mean(network, _column(elevation, "z_u", n), _column(elevation, "z_v", n), ~link)
    candidates = {
        "tags": _mapped_level_heights(network, elevation, link, lift),
        "dem": far[edges["u"].to_numpy()][link],
        "level": _tag_number(edges, "level", _first_of_list)[link] * STOREY_HEIGHT_M,
        "layer": _tag_number(edges, "layer", _first_of_list)[link] * LAYER_HEIGHT_M,
    }
    height = np.full(len(lift), np.nan)
    source = np.full(len(lift), "default", dtype=object)
    decided = np.zeros(len(lift), dtype=bool)
    for name, h in candidates.items():
        known = pd.Series(np.isfinite(h)).groupby(lift)
        usable = (known.transform("all") if name == "tags" else known.transform("any")).to_numpy(dtype=bool)
        take = usable & ~decided
        # Untagged levels of a tagged lift stand at 0; a level the DEM misses is unknown.
        height[take] = h[take] if name == "dem" else np.where(np.isfinite(h[take]), h[take], 0.0)
        source[take] = name
        decided |= take
    low = pd.Series(height).groupby(lift).transform("min").to_numpy()
    rise = np.where(np.isfinite(height), height - low, LIFT_DEFAULT_RISE_M / 2)
    return rise, source


def lift_link_seconds(network: WalkNetwork, elevation: pd.DataFrame | None = None) -> np.ndarray:
    """Seconds to ride each lift link of :func:`lifecircle.spatial.network.add_lift_links`.

    A ride between two levels of a lift takes :data:`LIFT_WAIT_S` plus the height between
    them at :data:`LIFT_SPEED_MS`; it is split over the two links (level to hub, hub to level):
    a link costs ``LIFT_WAIT_S / 2 + (h - h_low) / LIFT_SPEED_MS``, ``h_low`` the lowest level
    of the lift (exact for two levels; rides between two upper levels are counted from the
    lowest). Heights: :func:`lift_level_heights`.

    Parameters
    ----------
    network : WalkNetwork
    elevation : pandas.DataFrame, optional
        :func:`edge_elevation_profile` and/or :func:`with_mapped_heights`.

    Returns
    -------
    numpy.ndarray
        Seconds per edge (the same both ways); ``nan`` for edges that are not lift links.
    """
    link = is_lift_link(network.edges)
    out = np.full(len(link), np.nan)
    if link.any():
        out[link] = LIFT_WAIT_S / 2 + lift_level_heights(network, elevation)[0] / LIFT_SPEED_MS
    return out


def _lift_report(network: WalkNetwork, elevation: pd.DataFrame | None) -> dict[str, Any]:
    """Lifts linked, their links, and lifts by height source."""
    edges = network.edges
    link = is_lift_link(edges)
    by_source = dict.fromkeys(LIFT_HEIGHT_SOURCES, 0)
    if link.any():
        _, source = lift_level_heights(network, elevation)
        per_lift = pd.Series(source).groupby(edges["lift_node"].to_numpy()[link]).first()
        by_source.update({k: int(c) for k, c in per_lift.value_counts().items()})
    return {
        "lift_links": int(link.sum()),
        "lifts": len(pd.unique(edges["lift_node"].to_numpy()[link])) if link.any() else 0,
        "lift_height_source": by_source,
        "lift_model": {"wait_s": LIFT_WAIT_S, "speed_ms": LIFT_SPEED_MS, "storey_height_m": STOREY_HEIGHT_M,
                       "layer_height_m": LAYER_HEIGHT_M, "default_rise_m": LIFT_DEFAULT_RISE_M,
                       "verified": False},
    }


def flat_costs_with_lifts(network: WalkNetwork, *, profile: WalkingProfile,
                          elevation: pd.DataFrame | None = None) -> pd.DataFrame:
    """The flat walk (distance over the profile's flat speed), with lifts timed as on the terrain.

    Lift links cost a wait plus their height at lift speed (:func:`lift_link_seconds`, with
    the same heights as :func:`terrain_costs`) and ``highway=elevator`` ways the profile's
    ``elevator_seconds``: so flat against terrain compares walking slopes and stairs, not
    lift timing (a lift walked at its few metres of length would be almost free).

    Parameters
    ----------
    network : WalkNetwork
    profile : WalkingProfile
        The walker; only ``flat_speed_kmh`` and ``elevator_seconds`` count.
    elevation : pandas.DataFrame, optional
        :func:`edge_elevation_profile` and/or :func:`with_mapped_heights`.

    Returns
    -------
    pandas.DataFrame
        ``seconds_uv``, ``seconds_vu`` indexed like ``network.edges``.
    """
    seconds = network.edges["length_m"].to_numpy(dtype=np.float64) / profile.flat_speed_ms
    kinds = _edge_kinds(network.edges)
    seconds = np.where(kinds["elevator"], profile.elevator_seconds, seconds)
    link = is_lift_link(network.edges)
    if link.any():
        seconds = np.where(link, lift_link_seconds(network, elevation), seconds)
    return pd.DataFrame({"seconds_uv": seconds, "seconds_vu": seconds.copy()}, index=network.edges.index)


# --------------------------------------------------------------------------- costs, step by step


def _check_cost_inputs(network: WalkNetwork, profile: Any, elevation: pd.DataFrame | None) -> None:
    """:func:`terrain_costs`' inputs, checked before any work."""
    if isinstance(profile, str):
        raise OptionError(
            f"profile must be a WalkingProfile; found the name {profile!r}: pass "
            f"lifecircle.layers.profiles.get_profile({profile!r})."
        )
    if elevation is None:
        return
    missing = [c for c in (*_CLIMB_COLUMNS, "grade_max", "elevation_source") if c not in elevation]
    if missing:
        raise OptionError(f"elevation lacks column(s) {missing}: expected the table from edge_elevation_profile.")
    if len(elevation) != network.n_edges or not elevation.index.equals(network.edges.index):
        raise OptionError(
            f"elevation has {len(elevation)} rows but the network has {network.n_edges} edges (or another index): "
            "compute it with edge_elevation_profile on this network."
        )


def _edge_heights(edges: pd.DataFrame, elevation: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Climb columns per edge (zeros without heights), ``has_height`` and ``from_tags``."""
    n = len(edges)
    if elevation is None:
        out = {c: np.zeros(n) for c in (*_CLIMB_COLUMNS, "grade_max")}
        out["has_height"] = out["from_tags"] = np.zeros(n, dtype=bool)
        return out
    out = {c: elevation[c].to_numpy(dtype=np.float64).copy() for c in (*_CLIMB_COLUMNS, "grade_max")}
    source = elevation["elevation_source"].astype(str).to_numpy()
    out["has_height"] = source != "flat"
    out["from_tags"] = source == "tags"
    return out


def _edge_kinds(edges: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean masks (and the conveyor direction) of the tags that change walking costs."""
    steps, elevator = _tag_is(edges, "highway", lambda t: t == "steps"), _tag_is(edges, "highway", lambda t: t == "elevator")
    conv = _tag_is(edges, "conveying", lambda t: t.notna() & ~t.isin(_NO_VALUES)) & ~elevator
    conv_dir = np.where(_tag_is(edges, "conveying", lambda t: t == "forward"), 1,
                        np.where(_tag_is(edges, "conveying", lambda t: t == "backward"), -1, 0))
    return {
        "steps": steps, "elevator": elevator, "conveying": conv, "conv_dir": np.where(conv, conv_dir, 0),
        "escalator": conv & steps, "walkway": conv & ~steps,
        "handrail_no": _tag_is(edges, "handrail", lambda t: t == "no"),
        "step_free": (_tag_is(edges, "wheelchair", lambda t: t.isin(["yes", "designated"]))
                      | _tag_is(edges, "ramp:wheelchair", lambda t: t == "yes")),
        "wheelchair_no": _tag_is(edges, "wheelchair", lambda t: t == "no"),
        "lift_link": is_lift_link(edges),
    }


def _apply_inclines(edges: pd.DataFrame, h: dict[str, np.ndarray]) -> dict[str, Any]:
    """``incline`` tags over the heights (in place): a numeric incline replaces the profile,
    ``up``/``down`` fixes the direction of the measured climb or, without a height, sets
    :data:`DEFAULT_INCLINE_GRADE`. Returns the parsed tags and counts for the report."""
    length = edges["length_m"].to_numpy(dtype=np.float64)
    raw = edges["incline"] if "incline" in edges else pd.Series(pd.NA, index=edges.index)
    inc = parse_incline(raw)
    direction = inc["direction"].to_numpy()
    tag_grade = inc["grade"].to_numpy(dtype=np.float64)
    numeric = np.isfinite(tag_grade)
    updown = (direction != 0) & ~numeric
    if numeric.any():  # surveyed: replaces the DEM's profile of the edge
        _set_uniform_grade(h, numeric, tag_grade[numeric] * length[numeric], length[numeric])
    net = h["rise_m"] - h["fall_m"]
    swap = updown & h["has_height"] & (np.sign(net) == -direction) & (net != 0)
    h["rise_m"], h["fall_m"] = np.where(swap, h["fall_m"], h["rise_m"]), np.where(swap, h["rise_m"], h["fall_m"])
    h["up_length_m"], h["down_length_m"] = (np.where(swap, h["down_length_m"], h["up_length_m"]),
                                            np.where(swap, h["up_length_m"], h["down_length_m"]))
    dflt = updown & ~h["has_height"]
    if dflt.any():
        _set_uniform_grade(h, dflt, direction[dflt] * DEFAULT_INCLINE_GRADE * length[dflt], length[dflt])
    malformed = inc["malformed"].to_numpy()
    return {"direction": direction, "numeric": numeric, "updown": updown, "swap": swap, "default": dflt,
            "malformed": malformed, "examples": sorted(set(raw[malformed].astype(str)))[:10]}


def _stairs_seconds(profile: WalkingProfile, edges: pd.DataFrame, h: dict[str, np.ndarray],
                    kinds: dict[str, np.ndarray], incline: dict[str, Any]) -> dict[str, np.ndarray]:
    """Seconds up and down each stairway (timed per step) and where its height came from."""
    length = edges["length_m"].to_numpy(dtype=np.float64)
    steps = kinds["steps"]
    riser, tread = profile.step_riser_m, profile.step_tread_m
    step_count = _tag_number(edges, "step_count")
    has_count = steps & np.isfinite(step_count) & (step_count > 0)
    measured = steps & ~has_count & (h["has_height"] | incline["numeric"])
    st_dir = np.where(incline["direction"] != 0, incline["direction"],
                      np.where(h["has_height"], np.sign(h["rise_m"] - h["fall_m"]), 0))
    h_total = np.where(has_count, step_count * riser, length * DEFAULT_STAIR_GRADE)
    half = st_dir == 0
    h_up = np.where(measured, h["rise_m"], np.where(st_dir > 0, h_total, np.where(half, h_total / 2, 0.0)))
    h_down = np.where(measured, h["fall_m"], np.where(st_dir < 0, h_total, np.where(half, h_total / 2, 0.0)))
    n_up, n_down = h_up / riser, h_down / riser
    hand = np.where(kinds["handrail_no"], profile.stairs_no_handrail_factor, 1.0)
    # A step is never quicker than walking its tread on the flat, so more steps never save time.
    s_up = max(profile.stairs_seconds_per_step_up, tread / profile.flat_speed_ms)
    s_down = max(profile.stairs_seconds_per_step_down, tread / profile.flat_speed_ms)
    landing = np.maximum(length - (n_up + n_down) * tread, 0.0) / profile.flat_speed_ms
    return {
        "uv": (n_up * s_up + n_down * s_down) * hand + landing,
        "vu": (n_down * s_up + n_up * s_down) * hand + landing,
        "has_count": has_count, "from_tags": measured & h["from_tags"], "measured": measured,
        "default": steps & ~has_count & ~measured, "direction_unknown": steps & ~measured & half,
        "count_bad": steps & ~has_count & _tag_is(edges, "step_count", lambda t: t.notna()),
    }


def _blocked(profile: WalkingProfile, grade_max: np.ndarray, kinds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the profile cannot pass, in either direction, by reason."""
    exempt = profile.wheelchair_user & kinds["step_free"]
    steep = np.zeros(len(grade_max), dtype=bool)
    if profile.max_grade is not None:
        steep = (grade_max > profile.max_grade) & ~kinds["steps"] & ~kinds["elevator"] & ~kinds["conveying"] & ~exempt
    return {
        "steps": kinds["steps"] & ~kinds["conveying"] & (not profile.can_use_stairs) & ~exempt,
        "steeper_than_max_grade": steep,
        "elevator": kinds["elevator"] & (not profile.can_use_elevators),
        "escalator": kinds["escalator"] & (not profile.can_use_escalators),
        "wheelchair_no": kinds["wheelchair_no"] & profile.wheelchair_user,
    }


def _edge_seconds(profile: WalkingProfile, network: WalkNetwork, elevation: pd.DataFrame | None,
                  h: dict[str, np.ndarray], kinds: dict[str, np.ndarray],
                  stairs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Seconds each way: slopes, then stairs, lifts and conveyors over them."""
    length = network.edges["length_m"].to_numpy(dtype=np.float64)
    rise, fall, up_len, down_len = (h[c] for c in _CLIMB_COLUMNS)
    t_uv = _walk_seconds(profile, length, up_len, rise, down_len, fall)
    t_vu = _walk_seconds(profile, length, down_len, fall, up_len, rise)
    # A wheelchair user on a tagged step-free way (ramp) is timed by the slope model.
    use_stairs = kinds["steps"] & ~(profile.wheelchair_user & kinds["step_free"])
    t_uv, t_vu = np.where(use_stairs, stairs["uv"], t_uv), np.where(use_stairs, stairs["vu"], t_vu)
    t_uv = np.where(kinds["elevator"], profile.elevator_seconds, t_uv)
    t_vu = np.where(kinds["elevator"], profile.elevator_seconds, t_vu)
    if kinds["lift_link"].any():
        lift_t = lift_link_seconds(network, elevation)
        t_uv, t_vu = np.where(kinds["lift_link"], lift_t, t_uv), np.where(kinds["lift_link"], lift_t, t_vu)
    esc_t = length / (profile.escalator_speed_ms * math.cos(_ESCALATOR_ANGLE))
    conv_t = np.where(kinds["escalator"], esc_t, length / max(profile.flat_speed_ms, profile.escalator_speed_ms))
    conv, conv_dir = kinds["conveying"], kinds["conv_dir"]
    t_uv = np.where(conv, np.where(conv_dir < 0, np.inf, conv_t), t_uv)
    t_vu = np.where(conv, np.where(conv_dir > 0, np.inf, conv_t), t_vu)
    return t_uv, t_vu


def terrain_costs(
    network: WalkNetwork,
    *,
    profile: WalkingProfile,
    elevation: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Seconds to walk every edge each way for one walking profile, with terrain and tags.

    Parameters
    ----------
    network : WalkNetwork
    profile : WalkingProfile
        The walker (:func:`lifecircle.layers.profiles.get_profile`).
    elevation : pandas.DataFrame, optional
        From :func:`edge_elevation_profile` and/or :func:`with_mapped_heights`. Without
        it, only the tags (``incline``, ``highway=steps``/``elevator``, ``conveying``,
        ramps, ``wheelchair``) make the costs differ from flat walking.

    Returns
    -------
    costs : pandas.DataFrame
        ``seconds_uv``, ``seconds_vu`` indexed like ``network.edges`` (``numpy.inf`` where the
        profile cannot pass); see :mod:`lifecircle.spatial.costs`.
    report : dict
        Profile and parameters, counts (steep, stairs, lifts by height source, escalators,
        impassable edges, incline tags and malformed ones with examples, stairs by height
        source) and the elevation summary.

    Raises
    ------
    OptionError
        ``profile`` is a name, not a profile, or ``elevation`` does not match the network's edges.
    """
    _check_cost_inputs(network, profile, elevation)
    edges = network.edges
    h = _edge_heights(edges, elevation)
    kinds = _edge_kinds(edges)
    incline = _apply_inclines(edges, h)
    stairs = _stairs_seconds(profile, edges, h, kinds, incline)
    t_uv, t_vu = _edge_seconds(profile, network, elevation, h, kinds, stairs)
    blocked_by = _blocked(profile, h["grade_max"], kinds)
    blocked = np.logical_or.reduce(list(blocked_by.values()))
    t_uv, t_vu = np.where(blocked, np.inf, t_uv), np.where(blocked, np.inf, t_vu)
    costs = pd.DataFrame({"seconds_uv": t_uv.astype(np.float64), "seconds_vu": t_vu.astype(np.float64)},
                         index=edges.index)
    report = _costs_report(network, profile, elevation, h, kinds, incline, stairs, blocked_by, (t_uv, t_vu))
    log.info(
        "Terrain costs for profile %r: %s edges, %s steep (> %.0f%%), %s stairs, %s impassable",
        profile.name, f"{len(edges):,}", f"{report['steep_edges']:,}", 100 * STEEP_GRADE,
        f"{report['stairs_edges']:,}", f"{report['impassable_edges']:,}",
    )
    return costs, report


def _costs_report(network: WalkNetwork, profile: WalkingProfile, elevation: pd.DataFrame | None,  # noqa: PLR0913 - the steps' results, each once
                  h: dict[str, np.ndarray], kinds: dict[str, np.ndarray], incline: dict[str, Any],
                  stairs: dict[str, np.ndarray], blocked_by: dict[str, np.ndarray],
                  seconds: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """The run record's account of :func:`terrain_costs`; warns about unusable tags."""
    length = network.edges["length_m"].to_numpy(dtype=np.float64)
    n = len(length)
    n_malformed = int(incline["malformed"].sum())
    if n_malformed:
        log.warning("%d edge(s) carry a malformed incline value (e.g. %s): ignored, grade taken from the %s.",
                    n_malformed, ", ".join(repr(x) for x in incline["examples"][:5]),
                    "DEM" if elevation is not None else "flat default")
    if stairs["count_bad"].any():
        log.warning("%d steps edge(s) have an unusable step_count: height taken from the DEM or the default.",
                    int(stairs["count_bad"].sum()))
    steep = h["grade_max"] > STEEP_GRADE
    t_uv, t_vu = seconds
    flat_t = length / profile.flat_speed_ms
    finite = np.isfinite(t_uv) & np.isfinite(t_vu)
    change = (t_uv + t_vu) / 2 - flat_t
    blocked = np.logical_or.reduce(list(blocked_by.values()))
    return {
        "profile": profile.name,
        "parameters": profile.as_dict(),
        "terrain_model": {
            "slope": "Tobler (1993) W = 6 exp(-3.5 |S + 0.05|) km/h, scaled to the profile's flat speed",
            "default_incline_grade": DEFAULT_INCLINE_GRADE, "max_incline_grade": MAX_INCLINE_GRADE,
            "steep_grade": STEEP_GRADE, "escalator_angle_deg": 30.0,
        },
        "edges": n,
        "elevation": elevation_summary(elevation) if elevation is not None else None,
        "steep_edges": int(steep.sum()),
        "steep_edge_share": round(float(steep.mean()), 4) if n else 0.0,
        "steep_length_share": round(float(length[steep].sum() / length.sum()), 4) if n else 0.0,
        "stairs_edges": int(kinds["steps"].sum()),
        "stairs_height_source": {
            "step_count": int(stairs["has_count"].sum()),
            "dem_or_incline": int((stairs["measured"] & ~stairs["from_tags"]).sum()),
            "tags": int(stairs["from_tags"].sum()),
            "default": int(stairs["default"].sum()),
        },
        "stairs_direction_unknown": int(stairs["direction_unknown"].sum()),
        "elevator_edges": int((kinds["elevator"] & ~kinds["lift_link"]).sum()),
        **_lift_report(network, elevation),
        "escalator_edges": int(kinds["escalator"].sum()),
        "moving_walkway_edges": int(kinds["walkway"].sum()),
        "incline_tagged": int((incline["direction"] != 0).sum() + n_malformed),
        "incline_numeric": int(incline["numeric"].sum()),
        "incline_up_down": int(incline["updown"].sum()),
        "incline_default_grade": int(incline["default"].sum()),
        "incline_overrode_dem_direction": int(incline["swap"].sum()),
        "incline_malformed": n_malformed,
        "incline_malformed_examples": incline["examples"],
        "step_count_unusable": int(stairs["count_bad"].sum()),
        "impassable_edges": int(blocked.sum()),
        "impassable_by_reason": {k: int(v.sum()) for k, v in blocked_by.items()},
        "one_way_edges": int((np.isinf(t_uv) ^ np.isinf(t_vu)).sum()),
        "median_change_seconds_vs_flat": round(float(np.median(change[finite])), 2) if finite.any() else None,
        "total_seconds_ratio_vs_flat": (
            round(float((t_uv[finite] + t_vu[finite]).sum() / (2 * flat_t[finite].sum())), 4) if finite.any() else None
        ),
    }
