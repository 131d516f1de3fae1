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
    """The first column whose name (trimmed, any case) is one of ``aliases``; ``None`` if none is."""
    folded = {str(c).strip().casefold(): c for c in reversed(list(columns))}
    for alias in aliases:
        if alias.casefold() in folded:
            return folded[alias.casefold()]
    return None
