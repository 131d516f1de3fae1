"""Defaults used across lifecircle, with the reason for each value.

Like osmnx's ``settings`` module these are plain typed module attributes. Functions
take their options as keyword arguments whose defaults come from here, so a script can
either pass an option explicitly or change the default once, e.g.::

    import lifecircle.settings
    lifecircle.settings.walking_speed_kmh = 4.0
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "walking_speed_kmh",
    "threshold_minutes",
    "cell_size_m",
    "max_access_distance_m",
    "isochrone_buffer_m",
    "coverage_target",
    "polygon_snap_tolerance_m",
    "memory_fraction",
    "cache_folder",
    "default_categories",
    "use_progress_bars",
]

#: Flat walking speed of the default (adult) walker, km/h. 4.5 km/h = 1.25 m/s sits at the
#: lower end of adults' comfortable gait speed (about 1.2-1.4 m/s for ages 20-69 in
#: Bohannon & Williams Andrews, "Normal walking speed: a descriptive meta-analysis",
#: Physiotherapy 97(3), 2011) which leaves room for kerbs, crossings and waiting that the
#: network does not model; 15 minutes at this speed is 1,125 m, close to the 800-1,000 m
#: walking radius GB 50180-2018 gives for the 15-minute life circle once detours count.
walking_speed_kmh: float = 4.5

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

#: Categories computed when the user names none.
default_categories: tuple[str, ...] = ("clinic", "school", "park")

#: Show tqdm progress bars (they stay silent anyway when stderr is not a terminal).
use_progress_bars: bool = True
