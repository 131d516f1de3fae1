"""Defaults used across lifecircle, with the reason for each value.

Like osmnx's ``settings`` module these are plain typed module attributes, read when a
function runs (never frozen at import). Functions take their options as keyword
arguments whose default (``None``) means "from here, now", so a script can either pass
an option explicitly or change the default once, e.g.::

    import lifecircle.settings
    lifecircle.settings.threshold_minutes = 10.0
    lifecircle.settings.profile = "elderly"

Two defaults live with their data instead: the walking speed is the walking profile's
``flat_speed_kmh`` (``layers/profiles.yaml``; ``--speed`` overrides it for one run), and
the categories computed when none are named are those marked ``default`` in the facility
catalogue (``layers/categories.yaml``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "profile",
    "threshold_minutes",
    "cell_size_m",
    "max_access_distance_m",
    "isochrone_buffer_m",
    "coverage_target",
    "polygon_snap_tolerance_m",
    "memory_fraction",
    "cache_folder",
    "use_progress_bars",
]

#: Walking profile of a run when none is named (``--profile``); its ``flat_speed_kmh`` in
#: ``layers/profiles.yaml`` is the default walking speed (adult: 4.5 km/h, with its source).
profile: str = "adult"

#: The life-circle threshold, minutes of walking.
threshold_minutes: float = 15.0

#: Side of a square grid cell, metres. 100 m matches the GHS-POP / WorldPop grids.
cell_size_m: float = 100.0

#: A cell centre farther than this from every walkable way has "no access" (river, cliff,
#: rail yard): it is reported as such, never as under-served. Metres.
max_access_distance_m: float = 150.0

#: Buffer around reachable street lines that makes an isochrone polygon, metres: about the
#: depth of a street block's frontage that is reached from the street.
isochrone_buffer_m: float = 50.0

#: A community "has" a category when at least this share of its people are within the
#: threshold of it, and "lacks" it otherwise.
coverage_target: float = 0.8

#: Network points within this distance of a polygon facility's outline count as being at
#: the facility (its gate is on the pavement next to the wall), metres.
polygon_snap_tolerance_m: float = 15.0

#: Refuse work whose estimated memory exceeds this fraction of the machine's available RAM.
memory_fraction: float = 0.6

#: Where downloads by place name or bbox (through osmnx) are cached.
cache_folder: Path = Path.home() / ".cache" / "lifecircle"

#: Show tqdm progress bars (they stay silent anyway when stderr is not a terminal).
use_progress_bars: bool = True
