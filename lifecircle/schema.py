"""Names of every column lifecircle writes: the one place a column name is spelled.

The grid cells (``cells`` layer of ``results.gpkg``), the community summary
(``communities`` layer, ``community_gaps.csv``) and the facility and isochrone layers use
these names; the computing code (:mod:`lifecircle.spatial`), the map
(:mod:`lifecircle.maps`) and the writers import them from here. The module has no
dependencies so that every layer of the package may import it.

Per-category columns are built by a function of the category name, e.g.
``minutes_column("clinic") == "minutes_to_clinic"``.
"""

from __future__ import annotations

__all__ = [
    "CHANGE_CELL_COLUMNS",
    "CHANGE_COMMUNITY_COLUMNS",
    "CHANGE_TOTAL_ROW",
    "GAINED",
    "LOST",
    "change_columns",
    "newly_within_column",
    "CELL_ID",
    "COMMUNITY",
    "POPULATION",
    "ACCESS",
    "ACCESS_NETWORK",
    "SNAP_M",
    "UNDERSERVED",
    "MISSING",
    "TERRAIN_LOST",
    "NAME",
    "HAS",
    "LACKS",
    "NO_DATA",
    "CATEGORY",
    "FACILITY",
    "MINUTES",
    "MINUTES_PREFIX",
    "SHARE_PREFIX",
    "MEDIAN_PREFIX",
    "P90_PREFIX",
    "FACILITIES_PREFIX",
    "POPULATION_PREFIX",
    "minutes_column",
    "share_column",
    "median_column",
    "p90_column",
    "facilities_column",
    "population_column",
    "threshold_share_column",
    "within_column",
    "unit_code_column",
]

# --------------------------------------------------------------------------- cells

#: Identifier of a grid cell (row-major, stable for one grid).
CELL_ID = "cell_id"
#: Community (社区) a cell belongs to.
COMMUNITY = "community"
#: Residents of a cell (or the weight used instead of people).
POPULATION = "population"
#: How a cell reaches the network: ``"network"`` or ``"none"`` (too far from any way).
ACCESS = "access"
#: The value of :data:`ACCESS` for cells on the network.
ACCESS_NETWORK = "network"
#: Distance from the cell centre to the network, metres.
SNAP_M = "snap_m"
#: True where a cell lacks at least one category within the threshold.
UNDERSERVED = "underserved"
#: Comma-separated categories a cell lacks.
MISSING = "missing"
#: Comma-separated categories lost to terrain (reached on the flat, not on the slope).
TERRAIN_LOST = "terrain_lost"

# --------------------------------------------------------------------------- communities

#: Community name.
NAME = "name"
#: Comma-separated categories a community has (share within reach at least the target).
HAS = "has"
#: Comma-separated categories a community lacks.
LACKS = "lacks"
#: Comma-separated categories with no facility in the data.
NO_DATA = "no_data"

# --------------------------------------------------------------------------- facilities, isochrones

#: Facility category.
CATEGORY = "category"
#: Row of a facility in the facilities layer (``-1``: the union of a category).
FACILITY = "facility"
#: Minutes of an isochrone.
MINUTES = "minutes"

# --------------------------------------------------------------------------- per category

#: Prefix of the minutes to the nearest facility of a category (cells).
MINUTES_PREFIX = "minutes_to_"
#: Prefix of the share of a community's people within the threshold of a category.
SHARE_PREFIX = "share_"
#: Prefix of a community's weighted median minutes to a category.
MEDIAN_PREFIX = "median_"
#: Prefix of a community's weighted 90th-percentile minutes to a category.
P90_PREFIX = "p90_"
#: Prefix of a community's count of facilities of a category.
FACILITIES_PREFIX = "facilities_"
#: Prefix of a cell's people of one population group (e.g. ``population_60plus``).
POPULATION_PREFIX = "population_"


def minutes_column(category: str) -> str:
    """Column of minutes to the nearest facility of ``category`` (or a standard's search key).

    Parameters
    ----------
    category : str
        A category name (``clinic``) or search key (``park_ge50000m2``).

    Returns
    -------
    str
        The column name.

    Examples
    --------
    >>> minutes_column("clinic")
    'minutes_to_clinic'
    """
    return f"{MINUTES_PREFIX}{category}"


def share_column(category: str) -> str:
    """Column of a community's share of people within the threshold of ``category``.

    Parameters
    ----------
    category : str
        A category name.

    Returns
    -------
    str
        The column name.

    Examples
    --------
    >>> share_column("school")
    'share_school'
    """
    return f"{SHARE_PREFIX}{category}"


def median_column(category: str) -> str:
    """Column of a community's weighted median minutes to ``category``.

    Parameters
    ----------
    category : str
        A category name.

    Returns
    -------
    str
        The column name.

    Examples
    --------
    >>> median_column("park")
    'median_park'
    """
    return f"{MEDIAN_PREFIX}{category}"


def p90_column(category: str) -> str:
    """Column of a community's weighted 90th-percentile minutes to ``category``.

    Parameters
    ----------
    category : str
        A category name.

    Returns
    -------
    str
        The column name.

    Examples
    --------
    >>> p90_column("park")
    'p90_park'
    """
    return f"{P90_PREFIX}{category}"


def facilities_column(category: str) -> str:
    """Column of the number of facilities of ``category`` in a community.

    Parameters
    ----------
    category : str
        A category name.

    Returns
    -------
    str
        The column name.

    Examples
    --------
    >>> facilities_column("market")
    'facilities_market'
    """
    return f"{FACILITIES_PREFIX}{category}"


def population_column(group: str) -> str:
    """Column of the people of a population group in a cell.

    Parameters
    ----------
    group : str
        A group carried by the population file (``60plus``, ``0_14``).

    Returns
    -------
    str
        The column name.

    Examples
    --------
    >>> population_column("60plus")
    'population_60plus'
    """
    return f"{POPULATION_PREFIX}{group}"


def threshold_share_column(category: str, label: str) -> str:
    """Column of the share of people within one of a category's own thresholds
    (``share_clinic_5min``, ``share_park_300m``).

    Parameters
    ----------
    category : str
        The category's name (``clinic``).
    label : str
        The threshold's label (``5min``, ``300m``:
        :attr:`lifecircle.layers.thresholds.Threshold.label`).

    Returns
    -------
    str
        The column's name.
    """
    return f"{SHARE_PREFIX}{category}_{label}"


def within_column(category: str, label: str = "") -> str:
    """Column of the people within the run's threshold of ``category`` (``within_clinic``), or
    within one of its own thresholds (``within_clinic_5min``).

    Parameters
    ----------
    category : str
        The category's name (``clinic``).
    label : str, default ""
        The threshold's label (``5min``, ``300m``); empty for the run's one threshold
        (``--minutes``).

    Returns
    -------
    str
        The column's name.
    """
    return f"within_{category}_{label}" if label else f"within_{category}"


def unit_code_column(level: str) -> str:
    """Column of a cell's (or a unit's) code at a level of the hierarchy (``street_code``).

    Parameters
    ----------
    level : str
        The level's key (``street``, ``community`` ...).

    Returns
    -------
    str
        The column's name.
    """
    return f"{level}_code"


# --------------------------------------------------------------------------- plans and scenarios
#: Columns of the change tables (before and after a plan, or two runs compared).
CHANGE_CELL_COLUMNS: tuple[str, ...] = ("cell_id", "community", "population_before", "population_after")
CHANGE_COMMUNITY_COLUMNS: tuple[str, ...] = (
    "community", "category", "people_before", "people_after", "share_before", "share_after", "change_share",
    "people_newly_within", "people_no_longer_within", "cells_gained", "cells_lost", "mean_change_minutes",
)
#: Name of the study-area row of the community change table.
CHANGE_TOTAL_ROW = "(all)"
#: Values of a cell's change of status: newly within the threshold, no longer within it.
GAINED, LOST = "gained", "lost"


def change_columns(category: str) -> dict[str, str]:
    """A category's columns in the cell change table: minutes before and after, their
    difference, and the change of status (:data:`GAINED`, :data:`LOST` or ``""``).

    Parameters
    ----------
    category : str
        The category key.

    Returns
    -------
    dict[str, str]
        Column names by role: ``before`` and ``after`` (walking minutes, float, NaN when
        unreachable), ``change`` (after minus before, minutes) and ``status``.

    Examples
    --------
    >>> change_columns("clinic")["change"]
    'change_minutes_clinic'
    """
    return {"before": f"minutes_before_{category}", "after": f"minutes_after_{category}",
            "change": f"change_minutes_{category}", "status": f"change_{category}"}


def newly_within_column(group: str) -> str:
    """Column of the people of a population group newly within the threshold.

    Parameters
    ----------
    group : str
        The population group's key (e.g. ``"elderly"``).

    Returns
    -------
    str
        The column name in the community change table.

    Examples
    --------
    >>> newly_within_column("elderly")
    'newly_within_elderly'
    """
    return f"newly_within_{group}"
