"""Several thresholds per category: minutes, or metres as a standard states them.

A category may be measured against several thresholds at once (a clinic at 5, 10 and 15
minutes; a small park within 300 m). They come from the catalogue (a category's
``thresholds: [5, 10, 15]`` or ``thresholds: ["300 m", "500 m"]``) or from the command line
(``--thresholds "clinic=5,10,15;park=300m,500m"``, which wins for the categories it names).
A distance is converted to minutes at the walker's flat speed, and every output says so
(:func:`threshold_record`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lifecircle._errors import OptionError, shorten

__all__ = ["Threshold", "parse_threshold", "parse_thresholds", "thresholds_in_minutes", "threshold_record",
           "MAX_THRESHOLDS"]

#: Most thresholds one category may carry (each adds columns to every table).
MAX_THRESHOLDS = 6

_VALUE = re.compile(r"^\s*(?P<value>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>min|m|分钟|米)?\s*$", re.IGNORECASE)
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Threshold:
    """One threshold as stated: a number of minutes, or a walking distance in metres.

    Attributes
    ----------
    value : float
        The number as stated.
    unit : {"min", "m"}
    """

    value: float
    unit: str = "min"

    @property
    def label(self) -> str:
        """``"5min"`` or ``"300m"``: the suffix of the threshold's columns."""
        return f"{self.value:g}{self.unit}"

    def minutes(self, speed_kmh: float) -> float:
        """The threshold in walking minutes at ``speed_kmh`` (metres converted)."""
        if self.unit == "min":
            return float(self.value)
        return float(self.value) / (float(speed_kmh) * 1000.0 / 60.0)


def parse_threshold(value: Any, *, where: str, error: type[Exception] = OptionError) -> Threshold:
    """One threshold from a number (minutes) or a text ``"10"``, ``"10min"``, ``"300 m"``, ``"300米"``.

    Parameters
    ----------
    value : Any
        The threshold as given (hostile: any value); a bare number is minutes.
    where : str
        Where it was given (the CLI option or file and category), named in messages.
    error : type of Exception, default OptionError
        The :class:`lifecircle.LifecircleError` subclass raised for a bad value
        (:class:`lifecircle.CatalogueError` for the catalogue's thresholds).

    Returns
    -------
    Threshold
        The number and unit as stated (``"min"`` or ``"m"``), not converted.

    Raises
    ------
    error
        Not a positive number of minutes (at most 240) or metres (at most 20,000).
    """
    if isinstance(value, bool):
        raise error(f"{where}: expected minutes (e.g. 10) or metres (e.g. \"300 m\"); found {shorten(value)}.")
    if isinstance(value, (int, float)):
        number, unit = float(value), "min"
    else:
        match = _VALUE.match(str(value))
        if match is None:
            raise error(f"{where}: expected minutes (e.g. 10) or metres (e.g. \"300 m\"); found {shorten(value)}.")
        number = float(match["value"])
        unit = {"min": "min", "分钟": "min", "m": "m", "米": "m"}.get((match["unit"] or "min").lower(), "min")
    upper = 240.0 if unit == "min" else 20_000.0
    if not math.isfinite(number) or number <= 0 or number > upper:
        raise error(f"{where}: a threshold must be greater than 0 and at most {upper:g} "
                    f"{'minutes' if unit == 'min' else 'metres'}; found {shorten(value)}.")
    return Threshold(number, unit)


def _threshold_list(values: Iterable[Any], *, where: str, error: type[Exception]) -> tuple[Threshold, ...]:
    out = tuple(parse_threshold(v, where=where, error=error) for v in values)
    if not out:
        raise error(f"{where}: names no threshold; expected e.g. 5,10,15.")
    if len(out) > MAX_THRESHOLDS:
        raise error(f"{where}: at most {MAX_THRESHOLDS} thresholds per category; found {len(out)}.")
    if len({t.label for t in out}) != len(out):
        raise error(f"{where}: a threshold is repeated ({', '.join(t.label for t in out)}).")
    return out


def parse_thresholds(spec: str | Mapping[str, Any] | None, *, option: str = "--thresholds",
                     error: type[Exception] = OptionError) -> dict[str, tuple[Threshold, ...]]:
    """Thresholds per category from ``"clinic=5,10,15;park=300m,500m"`` or a mapping
    ``{"clinic": [5, 10, 15]}``.

    Parameters
    ----------
    spec : str or mapping or None
        The ``--thresholds`` text, or a mapping from category to one threshold or a list of
        them (a catalogue's or a settings file's); ``None``: none given.
    option : str, default "--thresholds"
        Where ``spec`` was given, named in messages.
    error : type of Exception, default OptionError
        The :class:`lifecircle.LifecircleError` subclass raised for a bad value.

    Returns
    -------
    dict
        ``{category: tuple of Threshold}`` in the order given (see
        :func:`parse_threshold`); empty when ``spec`` is ``None``.

    Raises
    ------
    error
        Not ``CATEGORY=VALUE,...`` parts, no category, a bad or repeated category name, a
        bad, missing or repeated threshold, or more than :data:`MAX_THRESHOLDS` for one category.

    Examples
    --------
    >>> {c: [t.label for t in ts] for c, ts in parse_thresholds("clinic=5,10,15;park=300m").items()}
    {'clinic': ['5min', '10min', '15min'], 'park': ['300m']}
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        items: list[tuple[Any, Any]] = list(spec.items())
    else:
        items = []
        for part in str(spec).split(";"):
            if not part.strip():
                continue
            if "=" not in part:
                raise error(f"{option}: expected CATEGORY=MINUTES,... separated by ';' (e.g. "
                            f"clinic=5,10,15;park=300m,500m); found {shorten(part.strip())}.")
            key, text = part.split("=", 1)
            items.append((key.strip(), [v for v in text.split(",") if v.strip()]))
        if not items:
            raise error(f"{option}: names no category; expected e.g. clinic=5,10,15;park=300m,500m.")
    out: dict[str, tuple[Threshold, ...]] = {}
    for name, given in items:
        values = given
        if not isinstance(name, str) or not _CATEGORY.match(name):
            raise error(f"{option}: {shorten(name)} is not a category name (lower-case letters, digits, '_').")
        if name in out:
            raise error(f"{option}: category {name!r} is given twice.")
        if isinstance(values, (str, int, float)):
            values = [values]
        if not isinstance(values, Sequence):
            raise error(f"{option}, {name}: expected a list of thresholds; found {shorten(values)}.")
        out[name] = _threshold_list(values, where=f"{option}, {name}", error=error)
    return out


def thresholds_in_minutes(thresholds: Mapping[str, Sequence[Threshold]], *, categories: Sequence[str],
                          main_minutes: float, speed_kmh: float) -> dict[str, tuple[tuple[str, float], ...]]:
    """Per category, ``(label, minutes)`` of each threshold, ascending; a category without
    thresholds of its own gets the run's one threshold (``--minutes``).

    Parameters
    ----------
    thresholds : mapping
        ``{category: sequence of Threshold}`` as stated (:func:`parse_thresholds`).
    categories : sequence of str
        The categories the run computes, in the run's order.
    main_minutes : float
        The run's one threshold in walking minutes (``--minutes``).
    speed_kmh : float
        Walking speed on the flat (km/h) converting metres to minutes.

    Returns
    -------
    dict
        ``{category: ((label, minutes), ...)}`` for every one of ``categories``, minutes as
        floats, ascending.
    """
    out: dict[str, tuple[tuple[str, float], ...]] = {}
    for cat in categories:
        own = thresholds.get(cat)
        if not own:
            out[cat] = ((Threshold(float(main_minutes)).label, float(main_minutes)),)
            continue
        pairs = sorted(((t.label, t.minutes(speed_kmh)) for t in own), key=lambda p: p[1])
        out[cat] = tuple(pairs)
    return out


def threshold_record(thresholds: Mapping[str, Sequence[Threshold]], *, categories: Sequence[str],
                     main_minutes: float, speed_kmh: float) -> dict[str, list[dict[str, Any]]]:
    """Per category, each threshold as stated and in minutes, with how metres were converted.

    Parameters
    ----------
    thresholds : mapping
        ``{category: sequence of Threshold}`` as stated (:func:`parse_thresholds`).
    categories : sequence of str
        The categories the run computes, in the run's order.
    main_minutes : float
        The run's one threshold in walking minutes (``--minutes``), for a category without
        thresholds of its own.
    speed_kmh : float
        Walking speed on the flat (km/h) converting metres to minutes.

    Returns
    -------
    dict
        ``{category: [{"label", "stated", "unit", "minutes"[, "converted"]}, ...]}``, ascending
        in minutes (rounded to 3 decimals); ``converted`` (text) only for metres. For the
        run record (``run.json``).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for cat in categories:
        own = thresholds.get(cat) or (Threshold(float(main_minutes)),)
        rows = []
        for t in sorted(own, key=lambda t: t.minutes(speed_kmh)):
            row: dict[str, Any] = {"label": t.label, "stated": t.value, "unit": t.unit,
                                   "minutes": round(t.minutes(speed_kmh), 3)}
            if t.unit == "m":
                row["converted"] = f"{t.value:g} m at {speed_kmh:g} km/h (the walker's flat speed)"
            rows.append(row)
        out[cat] = rows
    return out
