"""Planning standards as data: life-circle tiers and the facilities each tier must reach.

A standard is a YAML file (the format is described at the top of the bundled
``standards_gb50180.yaml``). ``load_standard("gb50180")`` reads the bundled GB 50180-2018
catalogue; ``load_standard("path/to/chongqing.yaml")`` reads a city's own guideline written
in the same format. The result is a tree of frozen dataclasses:
:class:`Standard` -> :class:`Tier` -> :class:`Requirement`.

A requirement's threshold is either metres of network walking distance (``threshold_m``)
or minutes of walking (``threshold_minutes``); :meth:`Requirement.minutes` converts metres
to minutes at a walking speed. A requirement with ``min_area_m2`` counts only facilities of
at least that area (a park of 5 ha): such a requirement is searched as its own facility set,
named by :attr:`Requirement.search_key`.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lifecircle._errors import InputNotFoundError, StandardsError, shorten
from lifecircle.layers._yaml import read_yaml

__all__ = [
    "Requirement",
    "Tier",
    "Standard",
    "load_standard",
    "bundled_standards",
    "standard_path",
    "requirements_table",
]

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
_PREFIX = "standards_"
_KEY_RE = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Requirement:
    """One facility a tier must reach, and within what.

    Attributes
    ----------
    key : str
        Short id, unique within its tier (``"primary_school"``).
    name, name_en : str
        The facility as the standard names it, and in English.
    category : str
        lifecircle facility category searched for it.
    fallback_categories : tuple of str
        Categories used, in order, when the run has no result for ``category``.
    threshold_m : float or None
        Network walking distance, metres (exactly one of the two thresholds is set).
    threshold_minutes : float or None
        Walking time, minutes.
    min_area_m2 : float or None
        Only facilities of at least this area count.
    clause, source, note : str
        Where the values come from.
    verified : bool
        Whether the values were checked against (a copy of) the standard's text.
    """

    key: str
    name: str
    name_en: str
    category: str
    fallback_categories: tuple[str, ...]
    threshold_m: float | None
    threshold_minutes: float | None
    min_area_m2: float | None
    clause: str
    verified: bool
    source: str
    note: str

    def minutes(self, speed_kmh: float) -> float:
        """The threshold in minutes: given minutes, or metres at ``speed_kmh``.

        Metres become minutes at the flat walking speed (4.5 km/h = 75 m/min), so a
        300 m radius is 4 minutes. When the run's times include slopes and stairs, a steep
        route therefore "uses up" the radius sooner than its plan length would: the radius
        is read as the time a flat walk of that length takes.
        """
        if self.threshold_minutes is not None:
            return float(self.threshold_minutes)
        if not (isinstance(speed_kmh, (int, float)) and math.isfinite(speed_kmh) and speed_kmh > 0):
            raise StandardsError(f"speed_kmh must be a positive number of km/h; found {shorten(speed_kmh)}.")
        return float(self.threshold_m) / (float(speed_kmh) * 1000.0 / 60.0)  # type: ignore[arg-type]

    def categories(self) -> tuple[str, ...]:
        """``category`` followed by the fallbacks, in order of preference."""
        return (self.category, *self.fallback_categories)

    @property
    def search_key(self) -> str:
        """Name of the facility set this requirement is searched on.

        The category itself, or ``"<category>_ge<area>m2"`` when a minimum area applies
        (``park_ge50000m2``), since only facilities of that size count.
        """
        return _search_key(self.category, self.min_area_m2)

    def search_keys(self) -> tuple[str, ...]:
        """:attr:`search_key` for ``category`` and each fallback, in order."""
        return tuple(_search_key(c, self.min_area_m2) for c in self.categories())

    def describe(self) -> str:
        """Short human description, e.g. ``"幼儿园 ≤ 300 m"``."""
        limit = f"≤ {self.threshold_m:g} m" if self.threshold_m is not None else f"≤ {self.threshold_minutes:g} min"
        area = f", ≥ {self.min_area_m2 / 10000:g} ha" if self.min_area_m2 else ""
        return f"{self.name} {limit}{area}"


def _search_key(category: str, min_area_m2: float | None) -> str:
    if min_area_m2 is None:
        return category
    return f"{category}_ge{min_area_m2:.0f}m2"


@dataclass(frozen=True)
class Tier:
    """A life-circle tier: its size and its requirements.

    Attributes
    ----------
    key : str
        Short id (``"15min"``).
    name, name_en : str
    walking_minutes : float or None
    walking_distance_m : tuple of (float, float) or None
        ``(min, max)`` walking distance.
    population, dwellings : tuple of (int, int) or None
        ``(min, max)`` planned residents / dwellings.
    clause, source, note : str
    verified : bool
    requirements : tuple of Requirement
    """

    key: str
    name: str
    name_en: str
    walking_minutes: float | None
    walking_distance_m: tuple[float, float] | None
    population: tuple[int, int] | None
    dwellings: tuple[int, int] | None
    clause: str
    verified: bool
    source: str
    note: str
    requirements: tuple[Requirement, ...]

    def requirement(self, key: str) -> Requirement:
        """The requirement with this key (``StandardsError`` if there is none)."""
        for r in self.requirements:
            if r.key == key:
                return r
        raise StandardsError(
            f"tier {shorten(self.key)} has no requirement {shorten(key)}; it has {', '.join(r.key for r in self.requirements)}."
        )


@dataclass(frozen=True)
class Standard:
    """A planning standard: tiers of requirements, read from a YAML file.

    Attributes
    ----------
    id : str
        Short id (``"gb50180"``).
    code, title, title_en, url, notes : str
    tiers : tuple of Tier
    path : pathlib.Path
        The file it was read from.
    """

    id: str
    code: str
    title: str
    title_en: str
    url: str
    notes: str
    tiers: tuple[Tier, ...]
    path: Path

    def tier(self, key: str) -> Tier:
        """The tier with this key (``StandardsError`` if there is none)."""
        for t in self.tiers:
            if t.key == key:
                return t
        raise StandardsError(f"{self.path.name}: no tier {shorten(key)}; it has {', '.join(t.key for t in self.tiers)}.")

    def categories(self) -> tuple[str, ...]:
        """Every category the requirements name (fallbacks included), in first-use order."""
        seen: dict[str, None] = {}
        for t in self.tiers:
            for r in t.requirements:
                for c in r.categories():
                    seen.setdefault(c, None)
        return tuple(seen)

    def requirements(self) -> tuple[tuple[Tier, Requirement], ...]:
        """Every ``(tier, requirement)`` pair, in file order."""
        return tuple((t, r) for t in self.tiers for r in t.requirements)

    def search_keys(self) -> tuple[str, ...]:
        """Every facility set a full scoring needs (:attr:`Requirement.search_keys`), in order."""
        seen: dict[str, None] = {}
        for _, r in self.requirements():
            for k in r.search_keys():
                seen.setdefault(k, None)
        return tuple(seen)

    def summary(self) -> dict[str, Any]:
        """Counts for logs and the run record."""
        reqs = self.requirements()
        return {
            "standard": self.id,
            "code": self.code,
            "tiers": len(self.tiers),
            "requirements": len(reqs),
            "verified_requirements": sum(r.verified for _, r in reqs),
            "path": str(self.path),
        }


def requirements_table(standard: Standard) -> pd.DataFrame:
    """Every requirement of a standard as one table, for reports and the run record.

    Parameters
    ----------
    standard : Standard
        The planning standard (:func:`load_standard`).

    Returns
    -------
    pandas.DataFrame
        One row per (tier, requirement) in file order: ``tier``, ``tier_name``,
        ``requirement``, ``name``, ``name_en``, ``category``, ``fallback_categories``
        (joined by ``", "``), ``threshold_m``, ``threshold_minutes``, ``min_area_m2``,
        ``search_key``, ``clause``, ``verified``, ``source``.
    """
    rows = [
        {
            "tier": t.key, "tier_name": t.name, "requirement": r.key, "name": r.name, "name_en": r.name_en,
            "category": r.category, "fallback_categories": ", ".join(r.fallback_categories),
            "threshold_m": r.threshold_m, "threshold_minutes": r.threshold_minutes,
            "min_area_m2": r.min_area_m2, "search_key": r.search_key, "clause": r.clause,
            "verified": r.verified, "source": r.source,
        }
        for t, r in standard.requirements()
    ]
    return pd.DataFrame(rows).astype({"threshold_m": float, "threshold_minutes": float, "min_area_m2": float})


# --------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------


def bundled_standards() -> tuple[str, ...]:
    """Names of the standards that ship with lifecircle.

    Returns
    -------
    tuple of str
        Sorted names, each usable as ``--standard``.

    Examples
    --------
    >>> bundled_standards()
    ('gb50180',)
    """
    return tuple(sorted(p.stem[len(_PREFIX):] for p in _HERE.glob(f"{_PREFIX}*.yaml")))


def standard_path(name_or_path: str | Path) -> Path:
    """Resolve a standard's name (``"gb50180"``) or a file path to a YAML path.

    A bundled name wins over a relative file of the same name; anything that looks like a
    path (has a suffix or a separator) is taken as a path.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A bundled standard's name (case, spaces and hyphens ignored: ``"GB 50180"``) or a
        YAML file.

    Returns
    -------
    pathlib.Path
        The YAML file to load.

    Raises
    ------
    InputNotFoundError
        A path was given and does not exist.
    StandardsError
        Neither a bundled name nor a path.

    Examples
    --------
    >>> standard_path("GB-50180").name
    'standards_gb50180.yaml'
    """
    text = str(name_or_path)
    key = text.strip().lower().replace("-", "").replace(" ", "")
    if not isinstance(name_or_path, Path) and key in bundled_standards():
        return _HERE / f"{_PREFIX}{key}.yaml"
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or path.suffix or "/" in text or "\\" in text:
        if not path.exists():
            raise InputNotFoundError(f"Standard file {path} does not exist.")
        return path
    raise StandardsError(
        f"Unknown standard {shorten(text)}: expected one of {', '.join(bundled_standards())} "
        f"or the path of a YAML file in the same format."
    )


def load_standard(name_or_path: str | Path) -> Standard:
    """Read a planning standard from the bundled catalogue or a YAML file.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A bundled name (``"gb50180"``; case and hyphens ignored: ``"GB-50180"`` works) or
        the path of a YAML file in the format of ``standards_gb50180.yaml``.

    Returns
    -------
    Standard
        The standard's tiers and requirements, validated.

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    StandardsError
        Unknown name, unreadable YAML, or a missing / malformed value; the message names
        the file and the key (``tiers[1].requirements[0].threshold_m``).
    """
    path = standard_path(name_or_path)

    raw = read_yaml(path, error=StandardsError, what="Standard file")
    standard = _parse_standard(raw, path)
    s = standard.summary()
    log.info(
        "Loaded standard %s (%s): %d tiers, %d requirements (%d verified against the text)",
        standard.id, standard.code, s["tiers"], s["requirements"], s["verified_requirements"],
    )
    return standard


class _Ctx:
    """Names the file and key path in error messages."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str, found: Any) -> StandardsError:
        return StandardsError(f"{self.path}: {key}: expected {expected}; found {shorten(found)}.")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _get(ctx: _Ctx, mapping: dict, key: str, where: str, *, required: bool = True) -> Any:
    if key not in mapping or mapping[key] is None:
        if required:
            raise StandardsError(f"{ctx.path}: {_join(where, key)}: required key is missing.")
        return None
    return mapping[key]


def _text(ctx: _Ctx, mapping: dict, key: str, where: str, *, required: bool = True, default: str = "") -> str:
    value = _get(ctx, mapping, key, where, required=required)
    if value is None:
        return default
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ctx.fail(_join(where, key), "text", value)
    return str(value).strip()


def _ident(ctx: _Ctx, mapping: dict, key: str, where: str) -> str:
    value = _text(ctx, mapping, key, where)
    if not _KEY_RE.match(value):
        raise ctx.fail(_join(where, key), "an identifier of letters, digits and '_'", value)
    return value


def _positive(ctx: _Ctx, mapping: dict, key: str, where: str, *, required: bool = False) -> float | None:
    value = _get(ctx, mapping, key, where, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ctx.fail(_join(where, key), "a positive number", value)
    return float(value)


def _range(ctx: _Ctx, mapping: dict, key: str, where: str, cast: type) -> tuple | None:
    value = _get(ctx, mapping, key, where, required=False)
    if value is None:
        return None
    ok = (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in value)
        and value[0] <= value[1]
    )
    if not ok:
        raise ctx.fail(_join(where, key), "[min, max] of two positive numbers with min <= max", value)
    return (cast(value[0]), cast(value[1]))


def _bool(ctx: _Ctx, mapping: dict, key: str, where: str) -> bool:
    value = _get(ctx, mapping, key, where, required=True)
    if not isinstance(value, bool):
        raise ctx.fail(_join(where, key), "true or false", value)
    return value


def _parse_requirement(ctx: _Ctx, raw: Any, where: str) -> Requirement:
    if not isinstance(raw, dict):
        raise ctx.fail(where, "a mapping of requirement keys", raw)
    key = _ident(ctx, raw, "key", where)
    category = _ident(ctx, raw, "category", where)
    fallback_raw = _get(ctx, raw, "fallback_categories", where, required=False) or []
    if not isinstance(fallback_raw, list) or not all(isinstance(c, str) and _KEY_RE.match(c) for c in fallback_raw):
        raise ctx.fail(f"{where}.fallback_categories", "a list of category names", fallback_raw)
    t_m = _positive(ctx, raw, "threshold_m", where)
    t_min = _positive(ctx, raw, "threshold_minutes", where)
    if (t_m is None) == (t_min is None):
        raise StandardsError(
            f"{ctx.path}: {where}: expected exactly one of threshold_m (metres) or threshold_minutes; "
            f"found {'both' if t_m is not None else 'neither'}."
        )
    return Requirement(
        key=key,
        name=_text(ctx, raw, "name", where, required=False, default=key),
        name_en=_text(ctx, raw, "name_en", where, required=False, default=key),
        category=category,
        fallback_categories=tuple(c for c in fallback_raw if c != category),
        threshold_m=t_m,
        threshold_minutes=t_min,
        min_area_m2=_positive(ctx, raw, "min_area_m2", where),
        clause=_text(ctx, raw, "clause", where, required=False),
        verified=_bool(ctx, raw, "verified", where),
        source=_text(ctx, raw, "source", where, required=False),
        note=_text(ctx, raw, "note", where, required=False),
    )


def _parse_tier(ctx: _Ctx, raw: Any, where: str) -> Tier:
    if not isinstance(raw, dict):
        raise ctx.fail(where, "a mapping of tier keys", raw)
    key = _ident(ctx, raw, "key", where)
    reqs_raw = _get(ctx, raw, "requirements", where)
    if not isinstance(reqs_raw, list) or not reqs_raw:
        raise ctx.fail(f"{where}.requirements", "a non-empty list", reqs_raw)
    reqs = tuple(_parse_requirement(ctx, r, f"{where}.requirements[{i}]") for i, r in enumerate(reqs_raw))
    keys = [r.key for r in reqs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ctx.fail(f"{where}.requirements", "unique requirement keys", dup)
    pop = _range(ctx, raw, "population", where, int)
    dwell = _range(ctx, raw, "dwellings", where, int)
    return Tier(
        key=key,
        name=_text(ctx, raw, "name", where, required=False, default=key),
        name_en=_text(ctx, raw, "name_en", where, required=False, default=key),
        walking_minutes=_positive(ctx, raw, "walking_minutes", where),
        walking_distance_m=_range(ctx, raw, "walking_distance_m", where, float),
        population=pop,
        dwellings=dwell,
        clause=_text(ctx, raw, "clause", where, required=False),
        verified=_bool(ctx, raw, "verified", where),
        source=_text(ctx, raw, "source", where, required=False),
        note=_text(ctx, raw, "note", where, required=False),
        requirements=reqs,
    )


def _parse_standard(raw: Any, path: Path) -> Standard:
    ctx = _Ctx(path)
    if not isinstance(raw, dict):
        raise ctx.fail("(top level)", "a mapping with id, code, title and tiers", type(raw).__name__)
    tiers_raw = _get(ctx, raw, "tiers", "")
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise ctx.fail("tiers", "a non-empty list", tiers_raw)
    tiers = tuple(_parse_tier(ctx, t, f"tiers[{i}]") for i, t in enumerate(tiers_raw))
    keys = [t.key for t in tiers]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ctx.fail("tiers", "unique tier keys", dup)
    return Standard(
        id=_ident(ctx, raw, "id", ""),
        code=_text(ctx, raw, "code", "", required=False),
        title=_text(ctx, raw, "title", ""),
        title_en=_text(ctx, raw, "title_en", "", required=False),
        url=_text(ctx, raw, "url", "", required=False),
        notes=_text(ctx, raw, "notes", "", required=False),
        tiers=tiers,
        path=path,
    )
