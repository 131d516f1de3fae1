"""Walking profiles: the catalogue of who walks (adult, elderly, wheelchair user, ...).

The catalogue ships as ``profiles.yaml`` next to this module; its comments give the
source of every number. A user adds profiles (or replaces a shipped one) with a YAML file
of the same form::

    version: 1
    profiles:
      frail:
        base: elderly          # start from a known profile, change some keys
        flat_speed_kmh: 2.5
        description: "Frail older resident"

and passes it as ``extra=`` to :func:`load_profiles` (``--profiles FILE`` on the command
line). How the numbers are used is documented in :mod:`lifecircle.spatial.terrain`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lifecircle import settings
from lifecircle._errors import CatalogueError, ProfileError, shorten
from lifecircle.layers._yaml import read_yaml

__all__ = ["WalkingProfile", "DEFAULT_CATALOGUE", "load_profiles", "get_profile", "default_speed_kmh"]

log = logging.getLogger(__name__)

#: The catalogue shipped with lifecircle.
DEFAULT_CATALOGUE: Path = Path(__file__).with_name("profiles.yaml")


@dataclass(frozen=True)
class WalkingProfile:
    """How one kind of pedestrian moves: speeds, slope sensitivity, what they can use.

    Attributes
    ----------
    name : str
    description : str
    flat_speed_kmh : float
        Speed on level ground.
    slope_k_up, slope_k_down, slope_offset : float
        Exponents and offset of the scaled Tobler function (Tobler 1993: 3.5, 3.5, 0.05);
        see :func:`lifecircle.spatial.terrain.slope_speed_factor`.
    max_speed_factor : float
        Cap on speed / flat speed (1.0: never faster than on the flat).
    can_use_stairs : bool
    stairs_seconds_per_step_up, stairs_seconds_per_step_down : float
        Time per step climbed / descended.
    stairs_no_handrail_factor : float
        Multiplier on stair time where a way is tagged ``handrail=no``.
    step_riser_m, step_tread_m : float
        Step geometry used to turn a height into steps and steps into length
        (0.15 m / 0.30 m: GB 50352-2019 6.7.1, outdoor steps).
    max_grade : float or None
        Ways steeper than this (rise / run) are impassable both ways; ``None``: no limit.
    can_use_elevators : bool
    elevator_seconds : float
        Time to use one ``highway=elevator`` way: ASSUMPTION 60 s, i.e. about 30 s waiting
        for the car plus boarding and a ride of some 10 floors at 1 m/s
        (GB/T 10058-2009 lists 1.0 m/s as a common rated speed).
    can_use_escalators : bool
    escalator_speed_ms : float
        Nominal speed along an escalator's incline (0.5 m/s: the common rated speed;
        GB 16899-2011 / EN 115-1 allow at most 0.75 m/s up to 30 degrees). Its horizontal
        speed is ``escalator_speed_ms * cos(30 deg)``.
    wheelchair_user : bool
        Honour ``wheelchair=yes/no`` and ``ramp:wheelchair=yes`` way tags.
    sources : tuple of str
        Where the numbers come from.
    """

    name: str
    description: str = ""
    flat_speed_kmh: float = 4.5
    slope_k_up: float = 3.5
    slope_k_down: float = 3.5
    slope_offset: float = 0.05
    max_speed_factor: float = 1.0
    can_use_stairs: bool = True
    stairs_seconds_per_step_up: float = 0.65
    stairs_seconds_per_step_down: float = 0.45
    stairs_no_handrail_factor: float = 1.0
    step_riser_m: float = 0.15
    step_tread_m: float = 0.30
    max_grade: float | None = None
    can_use_elevators: bool = True
    elevator_seconds: float = 60.0
    can_use_escalators: bool = True
    escalator_speed_ms: float = 0.5
    wheelchair_user: bool = False
    sources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def flat_speed_ms(self) -> float:
        """Speed on level ground in m/s."""
        return self.flat_speed_kmh / 3.6

    def as_dict(self) -> dict[str, Any]:
        """Every parameter as plain JSON-ready values (for ``run.json``)."""
        d = asdict(self)
        d["sources"] = list(self.sources)
        d["slope_model"] = "Tobler (1993) hiking function scaled to flat_speed_kmh"
        return d


_FIELDS = {f.name: f for f in fields(WalkingProfile)}
_FLOAT_KEYS = {
    "flat_speed_kmh", "slope_k_up", "slope_k_down", "slope_offset", "max_speed_factor",
    "stairs_seconds_per_step_up", "stairs_seconds_per_step_down", "stairs_no_handrail_factor",
    "step_riser_m", "step_tread_m", "elevator_seconds", "escalator_speed_ms",
}
_BOOL_KEYS = {"can_use_stairs", "can_use_elevators", "can_use_escalators", "wheelchair_user"}
# (min, max) of each number; a value outside is an error naming file, profile and key.
_RANGES: dict[str, tuple[float, float]] = {
    "flat_speed_kmh": (0.1, 30.0),
    "slope_k_up": (0.0, 50.0),
    "slope_k_down": (0.0, 50.0),
    "slope_offset": (0.0, 0.5),
    "max_speed_factor": (1.0, 3.0),
    "stairs_seconds_per_step_up": (0.0, 30.0),
    "stairs_seconds_per_step_down": (0.0, 30.0),
    "stairs_no_handrail_factor": (1.0, 10.0),
    "step_riser_m": (0.05, 0.5),
    "step_tread_m": (0.1, 1.0),
    "elevator_seconds": (0.0, 3600.0),
    "escalator_speed_ms": (0.05, 5.0),
    "max_grade": (0.0, 5.0),
}


def _profile_from_mapping(name: str, raw: Mapping[str, Any], *, source: str, known: Mapping[str, WalkingProfile]) -> WalkingProfile:
    where = f"{source}: profile {shorten(name)}"
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where} must be a mapping of keys to values; found {type(raw).__name__}.")
    values: dict[str, Any] = {}
    base_name = raw.get("base")
    if base_name is not None:
        if base_name not in known:
            raise CatalogueError(
                f"{where}: key 'base' names unknown profile {shorten(base_name)}; known: {', '.join(sorted(known))}."
            )
        values = {k: v for k, v in asdict(known[base_name]).items() if k != "name"}
    for key, value in raw.items():
        if key == "base":
            continue
        if key not in _FIELDS or key == "name":
            raise CatalogueError(
                f"{where}: unknown key {shorten(key)}; expected some of {', '.join(k for k in _FIELDS if k != 'name')}, base."
            )
        values[key] = _check_value(key, value, where)
    profile = WalkingProfile(name=name, **values)
    if profile.can_use_stairs and (profile.stairs_seconds_per_step_up <= 0 or profile.stairs_seconds_per_step_down <= 0):
        raise CatalogueError(
            f"{where}: can_use_stairs is true, so stairs_seconds_per_step_up and _down must be > 0; "
            f"found {profile.stairs_seconds_per_step_up} and {profile.stairs_seconds_per_step_down}."
        )
    return profile


def _check_value(key: str, value: Any, where: str) -> Any:
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise CatalogueError(f"{where}: key {shorten(key)} must be true or false; found {shorten(value)}.")
        return value
    if key == "description":
        if not isinstance(value, str):
            raise CatalogueError(f"{where}: key 'description' must be text; found {shorten(value)}.")
        return value
    if key == "sources":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise CatalogueError(f"{where}: key 'sources' must be a list of text; found {shorten(value)}.")
        return tuple(value)
    if key == "max_grade" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CatalogueError(f"{where}: key {shorten(key)} must be a finite number; found {shorten(value)}.")
    lo, hi = _RANGES[key]
    if not lo <= value <= hi:
        raise CatalogueError(f"{where}: key {shorten(key)} must be between {lo} and {hi}; found {shorten(value)}.")
    return float(value)


def _read_catalogue(path: Path, known: Mapping[str, WalkingProfile]) -> dict[str, WalkingProfile]:
    doc = read_yaml(path, error=CatalogueError, what="Profile catalogue")
    if not isinstance(doc, Mapping) or not isinstance(doc.get("profiles"), Mapping):
        raise CatalogueError(
            f"Profile catalogue {path}: expected a top-level key 'profiles' mapping names to profiles; "
            f"found {type(doc).__name__ if not isinstance(doc, Mapping) else sorted(doc)}."
        )
    extra_keys = set(doc) - {"version", "profiles"}
    if extra_keys:
        raise CatalogueError(f"Profile catalogue {path}: unknown top-level key(s) {sorted(extra_keys)}; expected version, profiles.")
    if doc.get("version", 1) != 1:
        raise CatalogueError(f"Profile catalogue {path}: key 'version' must be 1; found {shorten(doc.get('version'))}.")
    out: dict[str, WalkingProfile] = {}
    for name, raw in doc["profiles"].items():
        if not isinstance(name, str) or not name.strip():
            raise CatalogueError(f"Profile catalogue {path}: profile names must be non-empty text; found {shorten(name)}.")
        out[name] = _profile_from_mapping(name, raw, source=str(path), known={**known, **out})
    return out


def load_profiles(path: str | Path | None = None, *, extra: str | Path | None = None) -> dict[str, WalkingProfile]:
    """Read the profile catalogue, plus a user's file of additional profiles.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        Catalogue to read; default the shipped :data:`DEFAULT_CATALOGUE`.
    extra : str or pathlib.Path, optional
        A user's YAML file (same form) whose profiles are added; a profile with the name
        of a catalogue profile replaces it (logged as a warning). Its profiles may use
        ``base: NAME`` to start from any catalogue profile.

    Returns
    -------
    dict of str to WalkingProfile
        In file order (catalogue first).

    Raises
    ------
    InputNotFoundError
        A file does not exist.
    CatalogueError
        A file is not valid YAML, or a profile has an unknown key or a bad value (the
        message names the file, the profile and the key).
    """
    catalogue = _read_catalogue(Path(path) if path is not None else DEFAULT_CATALOGUE, {})
    if extra is not None:
        added = _read_catalogue(Path(extra), catalogue)
        replaced = sorted(set(added) & set(catalogue))
        if replaced:
            log.warning("Profiles file %s replaces catalogue profile(s): %s", extra, ", ".join(replaced))
        catalogue = {**catalogue, **added}
        log.info("Added %d walking profile(s) from %s", len(added), extra)
    return catalogue


def get_profile(name: str | WalkingProfile, *, catalogue: Mapping[str, WalkingProfile] | None = None) -> WalkingProfile:
    """Return one profile by name.

    Parameters
    ----------
    name : str or WalkingProfile
        A profile name (a :class:`WalkingProfile` is returned unchanged).
    catalogue : mapping, optional
        From :func:`load_profiles`; default the shipped catalogue.

    Returns
    -------
    WalkingProfile
        The profile (frozen).

    Raises
    ------
    ProfileError
        The name is not in the catalogue; the message lists the known names.

    Examples
    --------
    >>> get_profile("elderly").flat_speed_kmh < get_profile("adult").flat_speed_kmh
    True
    """
    if isinstance(name, WalkingProfile):
        return name
    catalogue = load_profiles() if catalogue is None else catalogue
    if not isinstance(name, str) or name not in catalogue:
        raise ProfileError(
            f"Unknown walking profile {shorten(name)}: expected one of {', '.join(catalogue)} "
            "(add your own with a profiles YAML file)."
        )
    return catalogue[name]


def default_speed_kmh() -> float:
    """The default flat walking speed, km/h (the run's, when neither ``--speed`` nor ``--profile`` is given).

    The ``flat_speed_kmh`` of the shipped profile :data:`lifecircle.settings.profile`
    (adult: 4.5 km/h), read at call time so that changing the setting counts.

    Returns
    -------
    float
        km/h.

    Examples
    --------
    >>> default_speed_kmh()
    4.5
    """
    return get_profile(settings.profile).flat_speed_kmh
