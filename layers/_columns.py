"""Column names recognised in user tables (CSV lon/lat files), shared by the layer readers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["LON_ALIASES", "LAT_ALIASES", "find_column"]

#: Longitude column names (any case), in order of preference.
LON_ALIASES: tuple[str, ...] = ("lon", "lng", "long", "longitude", "x", "经度")
#: Latitude column names (any case), in order of preference.
LAT_ALIASES: tuple[str, ...] = ("lat", "latitude", "y", "纬度")


def find_column(columns: Sequence[Any], aliases: Sequence[str]) -> Any | None:
    """The first column whose name (trimmed, any case) is one of ``aliases``.

    Parameters
    ----------
    columns : sequence
        Column names as found in a file (any type; compared as trimmed text).
    aliases : sequence of str
        Accepted names, most preferred first.

    Returns
    -------
    object or None
        The column as spelled in ``columns`` (the first of equal spellings), or ``None``
        when no alias matches.

    Examples
    --------
    >>> find_column([" Lon ", "LAT", "name"], ("longitude", "lon"))
    ' Lon '
    >>> find_column(["x", "y"], ("lat",)) is None
    True
    """
    folded = {str(c).strip().casefold(): c for c in reversed(list(columns))}
    for alias in aliases:
        if alias.casefold() in folded:
            return folded[alias.casefold()]
    return None
