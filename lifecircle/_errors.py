"""Exceptions raised by lifecircle.

Every failure lifecircle can diagnose has its own class, and every class derives from
:class:`LifecircleError`, so that a script can catch them all with one ``except``.
Where a failure is also a familiar Python failure (a bad value, a missing file) the
class derives from that built-in too, in the manner of r5py's
``class NoCrsError(ValueError, R5pyError)``.

Messages name the file or parameter, what was expected and what was found.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from typing import cast

__all__ = [
    "shorten",
    "plain_number",
    "LifecircleError",
    "InputFileError",
    "InputNotFoundError",
    "OsmFileError",
    "NoWalkableWaysError",
    "BoundaryError",
    "NoCrsError",
    "FacilitiesFileError",
    "PlanFileError",
    "UnknownCategoryError",
    "CatalogueError",
    "OptionError",
    "MemoryBudgetError",
    "PopulationError",
    "CommunitiesError",
    "DemError",
    "ProfileError",
    "StandardsError",
    "MapAssetError",
    "DownloadError",
    "IndicatorsError",
    "OutputError",
    "OutputLockedError",
    "PublishError",
]


class LifecircleError(Exception):
    """Base class of every error lifecircle raises on purpose."""


class InputFileError(ValueError, LifecircleError):
    """An input file exists but cannot be used (empty, corrupt, wrong content)."""


class InputNotFoundError(FileNotFoundError, LifecircleError):
    """An input file named by the user does not exist."""


class OsmFileError(InputFileError):
    """An OpenStreetMap file is empty, truncated, corrupt or of an unknown format."""


class NoWalkableWaysError(InputFileError):
    """The data holds no way a pedestrian may use inside the study area."""


class BoundaryError(InputFileError):
    """The study-area boundary is unusable or does not overlap the data."""


class NoCrsError(InputFileError):
    """A spatial input has no coordinate reference system and none can be assumed."""


class FacilitiesFileError(InputFileError):
    """A user-supplied facilities file lacks a required column or geometry."""


class UnknownCategoryError(ValueError, LifecircleError):
    """A facility category is not in the catalogue."""


class CatalogueError(InputFileError):
    """A catalogue file (categories, profiles, standards) is malformed."""


class OptionError(ValueError, LifecircleError):
    """An option has a value outside its allowed range."""


class MemoryBudgetError(MemoryError, LifecircleError):
    """The requested computation would need more memory than the machine has."""


class PopulationError(InputFileError):
    """A population input is malformed or does not overlap the study area."""


class CommunitiesError(InputFileError):
    """A communities file is malformed (no polygons, no name column, no CRS)."""


class DemError(InputFileError):
    """An elevation model is malformed, has no CRS or does not cover the area."""


class ProfileError(ValueError, LifecircleError):
    """A walking profile is unknown or its parameters are invalid."""


class StandardsError(ValueError, LifecircleError):
    """A planning standard is unknown or malformed."""


class MapAssetError(LifecircleError):
    """A script or stylesheet the offline map needs cannot be found to inline."""


class DownloadError(LifecircleError):
    """Downloading OpenStreetMap data (``--place`` / ``--bbox``) failed."""


class IndicatorsError(InputFileError):
    """An indicator file (``--indicators``) is malformed."""


class OutputError(OSError, LifecircleError):
    """The output folder cannot be created, written or replaced (disk full, locked file, not a folder)."""


class PlanFileError(InputFileError):
    """A scenario plan file (``--scenario``) cannot be used as given."""


class OutputLockedError(OutputError):
    """Another run holds the output folder's lock."""


class PublishError(LifecircleError):
    """An output set cannot be published to a database (bad URL, unreachable server, refused write)."""


#: Longest shown form of one user value in a message.
SHORTEN_LIMIT = 80

_repr = reprlib.Repr()
_repr.maxstring = SHORTEN_LIMIT
_repr.maxother = SHORTEN_LIMIT
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 6
_repr.maxlevel = 3


def plain_number(value: float) -> str:
    """A number as a person writes it: ``12``, ``0.25``, ``1e+308``, ``NaN``, ``infinity``.

    Never ``np.float64(12.0)``: numpy scalars are written as plain numbers too.

    Parameters
    ----------
    value : float
        Any real number (bool, int, float, numpy scalar).

    Returns
    -------
    str
        Integers without a decimal point; others to 6 significant digits.

    Examples
    --------
    >>> import numpy as np
    >>> plain_number(np.float64(12.0)), plain_number(0.25), plain_number(float("inf"))
    ('12', '0.25', 'infinity')
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "infinity" if v > 0 else "-infinity"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return format(v, ".6g")


def shorten(value: object, limit: int = SHORTEN_LIMIT) -> str:
    """A user value for an error message, bounded.

    Numbers plain, text quoted and cut to ``limit`` characters (``...`` marks the cut),
    containers shortened without walking them whole (a YAML bomb or a 10,000-character tag
    must not blow up the message itself).

    Parameters
    ----------
    value : object
        Whatever the user gave.
    limit : int
        Longest result, characters.

    Returns
    -------
    str
        At most ``limit`` characters.

    Examples
    --------
    >>> shorten("x" * 100, limit=10), shorten(4.50)
    ("'xxxxx...", '4.5')
    """
    if isinstance(value, numbers.Real):
        return plain_number(cast(float, value))  # bool, int, float and numpy numbers are Reals
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    else:
        text = _repr.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
