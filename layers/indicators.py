"""Official life-circle indicators: the bundled presets and a city's own (``--indicators FILE``).

An indicator is the share of residents (``basis: people``) or of residential land
(``basis: residential_land``) within a walking threshold of any of some facility
categories, with its target, source, clause and a ``verified`` flag (see
``indicators_lifecircle.yaml`` for the format and what was checked).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecircle._errors import IndicatorsError, shorten
from lifecircle.layers._yaml import read_yaml
from lifecircle.layers.thresholds import Threshold, parse_threshold

__all__ = ["Indicator", "BUNDLED_INDICATORS", "BASES", "load_indicators", "parse_indicators"]

#: The bundled presets.
BUNDLED_INDICATORS = Path(__file__).with_name("indicators_lifecircle.yaml")
#: What an indicator's share is of.
BASES: tuple[str, ...] = ("people", "residential_land")

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_REQUIRED = ("key", "name_zh", "name_en", "basis", "categories", "threshold", "source", "verified")
_ALLOWED = frozenset((*_REQUIRED, "fallback_categories", "target", "clause", "note"))


@dataclass(frozen=True)
class Indicator:
    """One indicator (see the module's text).

    Attributes
    ----------
    key, name_zh, name_en : str
    basis : {"people", "residential_land"}
    categories : tuple of str
        A place is served when any of them is within the threshold.
    fallback_categories : tuple of str
        Measured instead when the run computed none of ``categories``.
    threshold : Threshold
    target : float or None
        Share asked for (0..1).
    source, clause, note : str
    verified : bool
    origin : str
        The file it came from.
    """

    key: str
    name_zh: str
    name_en: str
    basis: str
    categories: tuple[str, ...]
    threshold: Threshold
    source: str
    verified: bool
    fallback_categories: tuple[str, ...] = ()
    target: float | None = None
    clause: str = ""
    note: str = ""
    origin: str = ""


def _text(raw: dict[str, Any], key: str, where: str, *, required: bool) -> str:
    value = raw.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise IndicatorsError(f"{where}: {key} must be {'non-empty ' if required else ''}text; found {shorten(value)}.")
    return " ".join(value.split())


def _names(raw: Any, key: str, where: str, *, required: bool) -> tuple[str, ...]:
    if raw is None and not required:
        return ()
    values = raw if isinstance(raw, list) else [raw]
    if (required and not values) or not all(isinstance(v, str) and _KEY.match(v) for v in values):
        raise IndicatorsError(f"{where}: {key} must be a list of category names such as [clinic, community_health]; "
                              f"found {shorten(raw)}.")
    return tuple(values)


def _parse_one(raw: Any, where: str, origin: str) -> Indicator:
    if not isinstance(raw, dict):
        raise IndicatorsError(f"{where}: expected a mapping with {', '.join(_REQUIRED)}; found {shorten(raw)}.")
    unknown = sorted(map(str, set(raw) - _ALLOWED))
    if unknown:
        raise IndicatorsError(f"{where}: unknown keys {unknown}; allowed: {sorted(_ALLOWED)}.")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise IndicatorsError(f"{where}: missing {missing}.")
    key = raw["key"]
    if not isinstance(key, str) or not _KEY.match(key):
        raise IndicatorsError(f"{where}: key must be lower-case letters, digits and '_' starting with a letter; "
                              f"found {shorten(key)}.")
    where = f"{where} ({key})"
    basis = raw["basis"]
    if basis not in BASES:
        raise IndicatorsError(f"{where}: basis must be one of {', '.join(BASES)}; found {shorten(basis)}.")
    target = raw.get("target")
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target) \
                or not 0 < target <= 1:
            raise IndicatorsError(f"{where}: target must be a share in (0, 1] (e.g. 0.8 for 80%) or null; "
                                  f"found {shorten(target)}.")
        target = float(target)
    verified = raw["verified"]
    if not isinstance(verified, bool):
        raise IndicatorsError(f"{where}: verified must be true or false; found {shorten(verified)}.")
    return Indicator(
        key=key, name_zh=_text(raw, "name_zh", where, required=True), name_en=_text(raw, "name_en", where, required=True),
        basis=str(basis), categories=_names(raw["categories"], "categories", where, required=True),
        threshold=parse_threshold(raw["threshold"], where=f"{where}, threshold", error=IndicatorsError),
        source=_text(raw, "source", where, required=True), verified=verified,
        fallback_categories=_names(raw.get("fallback_categories"), "fallback_categories", where, required=False),
        target=target, clause=_text(raw, "clause", where, required=False), note=_text(raw, "note", where, required=False),
        origin=origin,
    )


def parse_indicators(data: Any, *, origin: str) -> tuple[Indicator, ...]:
    """Indicators from a parsed YAML document (``version: 1``, ``indicators: [...]``).

    Parameters
    ----------
    data : Any
        The document as :func:`yaml.safe_load` returns it (hostile: any structure).
    origin : str
        Where it comes from (a file path, or the bundled file's name), named in messages
        and kept in each indicator.

    Returns
    -------
    tuple of Indicator
        In the document's order; keys are unique.

    Raises
    ------
    IndicatorsError
        Any key, value or structure that is not as documented; a repeated key.
    """
    where = f"indicator file {origin!r}"
    if not isinstance(data, dict) or "indicators" not in data:
        raise IndicatorsError(f"{where}: expected a mapping with 'version: 1' and an 'indicators' list; "
                              f"found {shorten(data)}.")
    unknown = sorted(map(str, set(data) - {"version", "indicators"}))
    if unknown:
        raise IndicatorsError(f"{where}: unknown top-level keys {unknown}; allowed: indicators, version.")
    if data.get("version", 1) != 1:
        raise IndicatorsError(f"{where}: version {shorten(data.get('version'))} is not supported (expected 1).")
    items = data["indicators"]
    if not isinstance(items, list) or not items:
        raise IndicatorsError(f"{where}: 'indicators' must be a non-empty list; found {shorten(items)}.")
    out = tuple(_parse_one(item, f"{where}, indicator {i + 1}", origin) for i, item in enumerate(items))
    keys = [i.key for i in out]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise IndicatorsError(f"{where}: keys must be unique; repeated: {', '.join(repeated)}.")
    return out


def load_indicators(extra: str | Path | None = None) -> tuple[Indicator, ...]:
    """The bundled presets, then a city's own file (an entry with a preset's key replaces it).

    Parameters
    ----------
    extra : path, optional
        ``--indicators FILE`` (plain YAML: no anchors or aliases, at most 2 MB).

    Returns
    -------
    tuple of Indicator

    Examples
    --------
    >>> [i.key for i in load_indicators()][:2]
    ['health_15min', 'primary_school_10min']
    """
    bundled = parse_indicators(read_yaml(BUNDLED_INDICATORS, error=IndicatorsError, what="indicator file"),
                               origin=BUNDLED_INDICATORS.name)
    if extra is None:
        return bundled
    own = parse_indicators(read_yaml(extra, error=IndicatorsError, what="--indicators file"), origin=str(extra))
    mine = {i.key: i for i in own}
    merged = [mine.pop(i.key, i) for i in bundled]
    return (*merged, *mine.values())
