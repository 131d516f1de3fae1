"""Walking costs: seconds to walk each edge, in each direction.

A cost table is a ``pandas.DataFrame`` aligned with ``network.edges`` (same index) with
two float columns:

``seconds_uv``
    seconds to walk the edge from ``u`` to ``v`` (along its geometry);
``seconds_vu``
    seconds from ``v`` to ``u``.

``numpy.inf`` marks a direction that cannot be walked (for a profile that cannot use
stairs, say). Keeping costs apart from the network lets one network serve several
walking profiles in one run. Terrain-aware costs are in :mod:`lifecircle.spatial.terrain`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifecircle._errors import OptionError, shorten
from lifecircle.spatial.network import WalkNetwork

__all__ = ["COST_COLUMNS", "flat_costs", "check_speed"]

COST_COLUMNS: tuple[str, str] = ("seconds_uv", "seconds_vu")


def check_speed(speed_kmh: float, *, name: str = "speed") -> float:
    """Validate a walking speed in km/h and return it as a float.

    Parameters
    ----------
    speed_kmh : float
        The speed, km/h (anything ``float()`` accepts).
    name : str
        The option or parameter named in the error message (e.g. ``"--speed"``).

    Returns
    -------
    float
        The speed in km/h.

    Raises
    ------
    OptionError
        The speed is not a finite number in (0, 30] km/h.

    Examples
    --------
    >>> check_speed("4.5")
    4.5
    >>> check_speed(0, name="--speed")
    Traceback (most recent call last):
    ...
    lifecircle._errors.OptionError: --speed must be a walking speed in km/h between 0 and 30; found 0.
    """
    try:
        value = float(speed_kmh)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number of km/h; found {shorten(speed_kmh)}.") from None
    if not np.isfinite(value) or value <= 0 or value > 30:
        raise OptionError(f"{name} must be a walking speed in km/h between 0 and 30; found {shorten(speed_kmh)}.")
    return value


def flat_costs(network: WalkNetwork, *, speed_kmh: float) -> pd.DataFrame:
    """Seconds to walk each edge at one constant speed, the same both ways.

    Parameters
    ----------
    network : WalkNetwork
        The walking network, in its metric CRS.
    speed_kmh : float
        Walking speed (the walker's flat speed, e.g. a profile's ``flat_speed_kmh``).

    Returns
    -------
    pandas.DataFrame
        ``seconds_uv`` and ``seconds_vu``, indexed like ``network.edges``.
    """
    speed = check_speed(speed_kmh)
    seconds = network.edges["length_m"].to_numpy(dtype=np.float64) / (speed / 3.6)
    return pd.DataFrame({"seconds_uv": seconds, "seconds_vu": seconds.copy()}, index=network.edges.index)
