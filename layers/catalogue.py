"""The facility category catalogue: which OpenStreetMap objects count as which service.

Categories live in a YAML file (``layers/categories.yaml``, bundled), not in code. Its
syntax is documented at the top of that file; in short, a category holds labels, a
colour and a list of rules, a feature belongs to the category when any rule matches,
and a rule matches when all of its tag conditions hold and none of its exclusions do::

    categories:
      park:
        label_zh: 公园
        label_en: Park
        colour: "#2ca02c"
        rules:
          - leisure: park
          - leisure: garden
            min_area_m2: 400
        exclude:
          access: [private, "no"]

Users add or replace categories with their own YAML file in the same syntax
(``load_catalogue(extra=...)``): an entry there replaces the bundled entry of the same
name as a whole.

:func:`match_features` applies categories to the ``features`` GeoDataFrame of
:func:`lifecircle.layers.osm.read_osm`, one vectorised pass per rule (never a Python
loop over rules x features), and removes duplicates: a point or a polygon lying inside
a larger polygon of the same category (a hospital node in its hospital's footprint, a
school building in its school grounds) is the same facility and counts once, as the
polygon.

:func:`match_sites` goes further, as a run does: the parts of one facility (the building
footprints of a hospital campus, a shop mapped as a node and a way) become one *site*
that keeps every part's outline, and a quality report lists every feature merged or
excluded, with the reason. ``exclude`` may also be a list of entries, each excluding a
feature when all its conditions hold, with a ``reason``; ``expected_per_10k`` states how
many facilities per 10,000 people a planning standard expects (:func:`assess_completeness`).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import (
    CatalogueError,
    NoCrsError,
    OptionError,
    UnknownCategoryError,
    shorten,
)
from lifecircle.layers._yaml import read_yaml
from lifecircle.layers.thresholds import Threshold, parse_thresholds

__all__ = [
    "BUNDLED_CATALOGUE",
    "INCOMPLETE_BELOW",
    "QA_COLUMNS",
    "Catalogue",
    "Category",
    "Condition",
    "Exclusion",
    "ExpectedDensity",
    "Rule",
    "assess_completeness",
    "load_catalogue",
    "match_features",
    "match_sites",
    "resolve_category",
    "select",
]

log = logging.getLogger(__name__)

#: The catalogue that ships with lifecircle.
BUNDLED_CATALOGUE: Path = Path(__file__).with_name("categories.yaml")

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_CATEGORY_KEYS = frozenset({"label_zh", "label_en", "colour", "rules", "exclude", "default", "description",
                            "expected_per_10k", "thresholds"}) | {"short_zh", "short_en"}
_RULE_RESERVED = frozenset({"not", "min_area_m2"})


@dataclass(frozen=True)
class Condition:
    """One tag condition: ``key`` present with one of ``values`` (or any value, or a regex).

    Attributes
    ----------
    key : str
        The OSM tag key.
    values : tuple of str or None
        Accepted values; ``None`` accepts any value (the YAML ``"*"``).
    regex : str or None
        When set, the value must contain a match of this pattern (``re.search``);
        ``values`` is then ``None``.
    """

    key: str
    values: tuple[str, ...] | None = None
    regex: str | None = None


@dataclass(frozen=True)
class Rule:
    """Conditions that must all hold, exclusions none of which may hold, an optional area.

    Attributes
    ----------
    conditions : tuple of Condition
        All must hold.
    exclusions : tuple of Condition
        The rule fails if any holds.
    min_area_m2 : float or None
        When set, only polygons of at least this area (square metres) match.
    """

    conditions: tuple[Condition, ...]
    exclusions: tuple[Condition, ...] = ()
    min_area_m2: float | None = None


@dataclass(frozen=True)
class Exclusion:
    """A reason never to count a feature in a category: all its conditions hold.

    Attributes
    ----------
    conditions : tuple of Condition
        All must hold for the feature to be excluded.
    reason : str
        Why, in words (written to ``facility_qa.csv``); default: the conditions.
    """

    conditions: tuple[Condition, ...]
    reason: str = ""

    def describe(self) -> str:
        """The reason, or the conditions in words when no reason was given."""
        return self.reason or " and ".join(_describe_condition(c) for c in self.conditions)


@dataclass(frozen=True)
class ExpectedDensity:
    """How many facilities of a category a planning standard expects per 10,000 people.

    Attributes
    ----------
    value : float
        Facilities per 10,000 residents the standard implies.
    source : str
        Where the value comes from (standard and clause, or the reasoning).
    verified : bool
        False where the value could not be checked against the standard's text.
    """

    value: float
    source: str = ""
    verified: bool = False


def _describe_condition(cond: Condition) -> str:
    if cond.regex is not None:
        return f"{cond.key} matches {cond.regex!r}"
    if cond.values is None:
        return f"{cond.key}=*"
    return f"{cond.key}={'|'.join(cond.values)}"


@dataclass(frozen=True)
class Category:
    """A facility category.

    Attributes
    ----------
    name : str
        Identifier (lower-case letters, digits, ``_``); used in output column names.
    label_zh, label_en : str
        Labels for Chinese and English reports and maps.
    colour : str
        ``#rrggbb``.
    rules : tuple of Rule
        A feature belongs to the category if any rule matches.
    exclude : tuple of Condition
        A feature matching any of these never belongs to the category.
    default : bool
        Part of a run when the user picks no categories.
    description : str
        Free text explaining the choice of tags.
    source : str
        The file (or ``"<mapping>"``) the entry came from.
    exclusions : tuple of Exclusion
        The exclusions with their reasons; when empty, each condition of ``exclude`` is
        one exclusion.
    expected : ExpectedDensity or None
        Facilities per 10,000 people a planning standard expects (for the completeness check).
    short_zh, short_en : str
        Short labels numbering suggested sites (园1, P1); default the first character of
        ``label_zh`` and the first letter of ``label_en`` (:meth:`short_label`).
    """

    name: str
    label_zh: str
    label_en: str
    colour: str
    rules: tuple[Rule, ...]
    exclude: tuple[Condition, ...] = ()
    default: bool = True
    description: str = ""
    source: str = ""
    exclusions: tuple[Exclusion, ...] = ()
    expected: ExpectedDensity | None = None
    #: Thresholds of its own (minutes, or metres as a standard states them); empty: the run's.
    thresholds: tuple[Threshold, ...] = ()
    short_zh: str = ""
    short_en: str = ""

    @property
    def all_exclusions(self) -> tuple[Exclusion, ...]:
        """Every exclusion, whichever way it was given."""
        return self.exclusions or tuple(Exclusion((c,)) for c in self.exclude)

    def short_label(self, lang: str) -> str:
        """The short label numbering suggested sites: ``short_zh`` / ``short_en``, else the first
        character of ``label_zh`` / the first letter of ``label_en`` in upper case."""
        if lang == "zh":
            return self.short_zh or self.label_zh[:1]
        return self.short_en or self.label_en[:1].upper()


@dataclass(frozen=True)
class Catalogue:
    """The categories known to a run, by name, in catalogue order.

    Attributes
    ----------
    categories : Mapping of str to Category
        Read-only mapping; bundled entries first, then new entries of the extra files.
    sources : tuple of str
        The files merged, in order (for the run record).
    poi_types : Mapping of str to str or None
        Extra POI type codes or type texts (Amap/Baidu exports) mapped to category names,
        from the catalogues' ``poi_types`` key (see :mod:`lifecircle.layers.poi_types`).
    """

    categories: Mapping[str, Category] = field(default_factory=lambda: MappingProxyType({}))
    sources: tuple[str, ...] = ()
    poi_types: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))

    def __getitem__(self, name: str) -> Category:
        return self.categories[name]

    def __contains__(self, name: object) -> bool:
        return name in self.categories

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories.values())

    def __len__(self) -> int:
        return len(self.categories)

    @property
    def names(self) -> list[str]:
        """Category names in catalogue order."""
        return list(self.categories)


# --------------------------------------------------------------------------- loading


def _parse_condition(key: Any, value: Any, where: str) -> Condition:
    if not isinstance(key, str) or not key.strip():
        raise CatalogueError(f"{where}: tag keys must be non-empty strings, found {shorten(key)}.")
    if isinstance(value, str):
        if value == "*":
            return Condition(key)
        if not value:
            raise CatalogueError(f"{where}: key {shorten(key)} has an empty value; expected a value, a list or \"*\".")
        return Condition(key, (value,))
    if isinstance(value, list):
        if not value:
            raise CatalogueError(f"{where}: key {shorten(key)} has an empty list of values.")
        bad = [v for v in value if not isinstance(v, str) or not v]
        if bad:
            raise CatalogueError(
                f"{where}: key {shorten(key)} has values {shorten(bad)} that are not non-empty strings; "
                "quote values YAML reads as numbers or booleans (\"1\", \"no\", \"yes\")."
            )
        if "*" in value:
            raise CatalogueError(f"{where}: key {shorten(key)}: \"*\" must stand alone, not inside a list.")
        return Condition(key, tuple(dict.fromkeys(value)))
    if isinstance(value, dict):
        if set(value) != {"regex"} or not isinstance(value["regex"], str) or not value["regex"]:
            raise CatalogueError(
                f"{where}: key {shorten(key)} has mapping {shorten(value)}; the only mapping form is {{regex: \"pattern\"}}."
            )
        try:
            re.compile(value["regex"])
        except re.error as exc:
            raise CatalogueError(f"{where}: key {shorten(key)} has an invalid regex {shorten(value['regex'])}: {exc}.") from exc
        return Condition(key, None, value["regex"])
    raise CatalogueError(
        f"{where}: key {shorten(key)} has value {shorten(value)} ({type(value).__name__}); expected a string, "
        "a list of strings, \"*\" or {regex: \"pattern\"} (quote numbers and yes/no)."
    )


def _parse_conditions(mapping: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(mapping, dict) or not mapping:
        raise CatalogueError(f"{where}: expected a non-empty mapping of tag key to values, found {shorten(mapping)}.")
    return tuple(_parse_condition(k, v, where) for k, v in mapping.items())


def _parse_rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict) or not raw:
        raise CatalogueError(f"{where}: a rule must be a non-empty mapping of tag key to values, found {shorten(raw)}.")
    tags = {k: v for k, v in raw.items() if k not in _RULE_RESERVED}
    if not tags:
        raise CatalogueError(f"{where}: the rule has no tag condition (only {shorten(sorted(map(str, raw)))}).")
    conditions = _parse_conditions(tags, where)
    exclusions = _parse_conditions(raw["not"], f"{where}, 'not'") if "not" in raw else ()
    min_area = raw.get("min_area_m2")
    if min_area is not None:
        if isinstance(min_area, bool) or not isinstance(min_area, (int, float)) or not np.isfinite(min_area) \
                or min_area < 0:
            raise CatalogueError(f"{where}: min_area_m2 must be a number >= 0, found {shorten(min_area)}.")
        min_area = float(min_area)
    return Rule(conditions, exclusions, min_area)


def _parse_category(name: Any, raw: Any, source: str) -> Category:
    where = f"catalogue {source}, category {shorten(name)}"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise CatalogueError(
            f"{where}: category names must be lower-case letters, digits and '_' starting with a letter "
            "(they become column names)."
        )
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping with label_zh, label_en, colour, rules; found {shorten(raw)}.")
    unknown = sorted(set(raw) - _CATEGORY_KEYS)
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {unknown}; allowed: {sorted(_CATEGORY_KEYS)}.")
    missing = [k for k in ("label_zh", "label_en", "colour", "rules") if k not in raw]
    if missing:
        raise CatalogueError(f"{where}: missing {missing}.")
    for key in ("label_zh", "label_en"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise CatalogueError(f"{where}: {key} must be a non-empty string, found {shorten(raw[key])}.")
    colour = raw["colour"]
    if not isinstance(colour, str) or not _COLOUR_RE.match(colour):
        raise CatalogueError(f"{where}: colour must be \"#rrggbb\" (quoted), found {shorten(colour)}.")
    rules_raw = raw["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise CatalogueError(f"{where}: rules must be a non-empty list, found {shorten(rules_raw)}.")
    rules = tuple(_parse_rule(r, f"{where}, rule {i + 1}") for i, r in enumerate(rules_raw))
    exclude, exclusions = _parse_exclude(raw.get("exclude"), where)
    expected = _parse_expected(raw.get("expected_per_10k"), where)
    default = raw.get("default", True)
    if not isinstance(default, bool):
        raise CatalogueError(f"{where}: default must be true or false, found {shorten(default)}.")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise CatalogueError(f"{where}: description must be text, found {shorten(description)}.")
    thresholds: tuple[Threshold, ...] = ()
    if raw.get("thresholds") is not None:
        values = raw["thresholds"] if isinstance(raw["thresholds"], list) else [raw["thresholds"]]
        thresholds = parse_thresholds({name: values}, option=f"{where}, 'thresholds'", error=CatalogueError)[name]
    shorts = {k: raw.get(k, "") for k in ("short_zh", "short_en")}
    for key, value in shorts.items():
        if not isinstance(value, str) or len(value.strip()) > 4:
            raise CatalogueError(f"{where}: {key} must be a short text (up to 4 characters), found {shorten(value)}.")
    return Category(name, raw["label_zh"].strip(), raw["label_en"].strip(), colour.lower(), rules,
                    exclude, default, description.strip(), source, exclusions, expected, thresholds,
                    shorts["short_zh"].strip(), shorts["short_en"].strip())


def _parse_exclude(raw: Any, where: str) -> tuple[tuple[Condition, ...], tuple[Exclusion, ...]]:
    """``exclude`` as a mapping (any condition excludes) or a list of {conditions..., reason}."""
    if raw is None:
        return (), ()
    if isinstance(raw, list):
        if not raw:
            raise CatalogueError(f"{where}, 'exclude': an empty list; leave the key out instead.")
        out = []
        for i, item in enumerate(raw):
            at = f"{where}, 'exclude' entry {i + 1}"
            if not isinstance(item, dict):
                raise CatalogueError(f"{at}: expected a mapping of tag conditions (and a reason), found {item!r}.")
            reason = item.get("reason", "")
            if not isinstance(reason, str):
                raise CatalogueError(f"{at}: reason must be text, found {reason!r}.")
            conds = {k: v for k, v in item.items() if k != "reason"}
            out.append(Exclusion(_parse_conditions(conds, at), reason.strip()))
        return (), tuple(out)
    conditions = _parse_conditions(raw, f"{where}, 'exclude'")
    return conditions, tuple(Exclusion((c,)) for c in conditions)


def _parse_expected(raw: Any, where: str) -> ExpectedDensity | None:
    if raw is None:
        return None
    at = f"{where}, 'expected_per_10k'"
    if not isinstance(raw, dict) or "value" not in raw or set(raw) - {"value", "source", "verified"}:
        raise CatalogueError(f"{at}: expected a mapping with value (and source, verified), found {raw!r}.")
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise CatalogueError(f"{at}: value must be a number > 0 (facilities per 10,000 people), found {value!r}.")
    source = raw.get("source", "")
    verified = raw.get("verified", False)
    if not isinstance(source, str) or not isinstance(verified, bool):
        raise CatalogueError(f"{at}: source must be text and verified true or false, found {source!r}, {verified!r}.")
    return ExpectedDensity(float(value), source.strip(), verified)


def _read_yaml(path: str | Path) -> tuple[dict[str, Any], str]:
    return read_yaml(path, error=CatalogueError, what="Catalogue file"), str(path)


def _parse_document(data: Any, source: str) -> dict[str, Category]:
    if not isinstance(data, dict) or "categories" not in data:
        raise CatalogueError(
            f"Catalogue {source}: expected a mapping with a 'categories' key "
            f"(see {BUNDLED_CATALOGUE.name}), found {type(data).__name__}."
        )
    unknown = sorted(set(data) - {"version", "categories", "poi_types"})
    if unknown:
        raise CatalogueError(
            f"Catalogue {source}: unknown top-level keys {unknown}; allowed: categories, poi_types, version."
        )
    version = data.get("version", 1)
    if version != 1:
        raise CatalogueError(f"Catalogue {source}: version {shorten(version)} is not supported (expected 1).")
    cats = data["categories"]
    if not isinstance(cats, dict) or not cats:
        raise CatalogueError(f"Catalogue {source}: 'categories' must be a non-empty mapping, found {shorten(cats)}.")
    return {name: _parse_category(name, raw, source) for name, raw in cats.items()}


def load_catalogue(
    path: str | Path | None = None,
    *,
    extra: str | Path | Mapping[str, Any] | Sequence[str | Path | Mapping[str, Any]] | None = None,
) -> Catalogue:
    """Read a category catalogue, with the user's categories merged over it.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The base catalogue; default the bundled ``layers/categories.yaml``.
    extra : path, mapping or sequence of them, optional
        User catalogues in the same syntax (a YAML file or an already-parsed mapping),
        applied in order: an entry replaces the entry of the same name as a whole; new
        names are appended.

    Returns
    -------
    Catalogue
        The categories in file order, each with its labels, colour and rules.

    Raises
    ------
    InputNotFoundError
        A catalogue file does not exist.
    CatalogueError
        A catalogue is malformed; the message names the file, the category and the rule.
    """
    base, source = _read_yaml(BUNDLED_CATALOGUE if path is None else path)
    merged = _parse_document(base, source)
    sources = [source]
    poi_types: dict[str, str | None] = _parse_poi_types(base, source)
    if extra is None:
        extras: list[Any] = []
    elif isinstance(extra, (str, Path, Mapping)):
        extras = [extra]
    else:
        extras = list(extra)
    for item in extras:
        if isinstance(item, Mapping):
            data, src = dict(item), "<mapping>"
        elif isinstance(item, (str, Path)):
            data, src = _read_yaml(item)
        else:
            raise CatalogueError(f"extra catalogue must be a path or a mapping, found {type(item).__name__}.")
        entries = _parse_document(data, src)
        poi_types.update(_parse_poi_types(data, src))
        replaced = sorted(set(entries) & set(merged))
        if replaced:
            log.info("Catalogue %s replaces categories %s", src, ", ".join(replaced))
        merged.update(entries)
        sources.append(src)
    log.info("Catalogue: %d categories (%s)", len(merged), ", ".join(merged))
    unknown_targets = sorted({c for c in poi_types.values() if c is not None and c not in merged})
    if unknown_targets:
        raise CatalogueError(
            f"Catalogue poi_types map to unknown categories {unknown_targets}; known: {', '.join(merged)}."
        )
    return Catalogue(MappingProxyType(merged), tuple(sources), MappingProxyType(poi_types))


def _parse_poi_types(data: Any, source: str) -> dict[str, str | None]:
    """The optional ``poi_types`` mapping: a type code (``"090300"``) or type text -> category."""
    raw = data.get("poi_types") if isinstance(data, dict) else None
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and k.strip()
                                            and (v is None or (isinstance(v, str) and v.strip()))
                                            for k, v in raw.items()):
        raise CatalogueError(
            f"Catalogue {source}: poi_types must map type codes or type texts (quoted strings, e.g. "
            f"\"090300\" or \"诊所\") to category names or null (not a facility); found {raw!r}."
        )
    return {k.strip(): (v.strip() if isinstance(v, str) else None) for k, v in raw.items()}


# --------------------------------------------------------------------------- selecting


def resolve_category(catalogue: Catalogue, value: str) -> str | None:
    """Return the category name ``value`` designates, or ``None``.

    Parameters
    ----------
    catalogue : Catalogue
        The categories to look in.
    value : str
        A category name (case-insensitive) or label (``学校``, ``School``); trimmed.

    Returns
    -------
    str or None
        The category's name, ``None`` when nothing matches.

    Examples
    --------
    >>> catalogue = load_catalogue()
    >>> resolve_category(catalogue, " School "), resolve_category(catalogue, "诊所/医疗"), resolve_category(catalogue, "zoo")
    ('school', 'clinic', None)
    """
    text = str(value).strip()
    if text in catalogue.categories:
        return text
    folded = text.casefold()
    for cat in catalogue:
        if folded in (cat.name.casefold(), cat.label_zh.casefold(), cat.label_en.casefold()):
            return cat.name
    return None


def select(catalogue: Catalogue, names: str | Iterable[str] | None) -> list[Category]:
    """Pick categories by name.

    Parameters
    ----------
    catalogue : Catalogue
        The category catalogue (:func:`lifecircle.layers.catalogue.load_catalogue`).
    names : str, iterable of str or None
        ``None``: the categories marked ``default`` in the catalogue (bundled: clinic,
        school, park). A string is split on commas (``"clinic,school,park"``);
        ``"all"`` picks every category. Names are case-insensitive; labels (``学校``) work too.

    Returns
    -------
    list of Category
        In the order asked, without repeats.

    Raises
    ------
    UnknownCategoryError
        A name is not in the catalogue; the message lists the known names.
    OptionError
        ``names`` picks nothing (an empty string or list).
    """
    if names is None:
        return [c for c in catalogue if c.default]
    raw = [names] if isinstance(names, str) else list(names)
    items = [part.strip() for item in raw for part in str(item).split(",") if part.strip()]
    if not items:
        raise OptionError(f"categories: no category named (got {shorten(names)}); known: {', '.join(catalogue.names)}.")
    if any(n.casefold() == "all" for n in items):
        return list(catalogue)
    resolved = [(n, resolve_category(catalogue, n)) for n in items]
    unknown = [n for n, r in resolved if r is None]
    if unknown:
        raise UnknownCategoryError(
            f"categories: unknown {', '.join(repr(u) for u in unknown)}; "
            f"known categories: {', '.join(catalogue.names)} (or 'all')."
        )
    return [catalogue[r] for r in dict.fromkeys(r for _, r in resolved if r is not None)]


# --------------------------------------------------------------------------- matching


class _TagTable:
    """Per-key value codes built once from the ``tags`` dicts, plus lazily computed areas.

    Each key's values are factorised once (``codes[i]`` indexes ``uniques``; -1 = tag
    absent), so a condition is evaluated on the few distinct values and spread to all
    features by indexing: no Python loop over features per rule.
    """

    def __init__(self, features: gpd.GeoDataFrame, keys: Iterable[str]) -> None:
        tags = features["tags"].tolist()
        self.n = len(tags)
        self.codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        for key in sorted(set(keys)):
            try:  # every row a dict (as read from OSM): dict.get in C, no Python frame per feature
                vals = list(map(dict.get, tags, repeat(key)))
            except TypeError:
                try:
                    vals = [t.get(key) for t in tags]
                except AttributeError:  # a row without a tags dict (None, NaN): no tags
                    vals = [t.get(key) if isinstance(t, dict) else None for t in tags]
            codes, uniques = pd.factorize(np.array(vals, dtype=object), use_na_sentinel=True)
            self.codes[key] = (np.asarray(codes), [str(u) for u in uniques])
        self.geometry = np.asarray(features.geometry.array, dtype=object)
        self.crs = features.crs
        self.is_polygon = np.isin(shapely.get_type_id(self.geometry), [3, 6])
        self._area = np.full(self.n, np.nan)

    def test(self, cond: Condition) -> np.ndarray:
        codes, uniques = self.codes[cond.key]
        if cond.values is None and cond.regex is None:
            return codes >= 0
        if cond.regex is not None:
            pattern = re.compile(cond.regex)
            ok = [pattern.search(u) is not None for u in uniques]
        else:
            wanted = frozenset(cond.values or ())
            # "clinic;pharmacy": any part of a multi-valued tag may match.
            ok = [u in wanted or (";" in u and any(p.strip() in wanted for p in u.split(";"))) for u in uniques]
        # Sentinel slot at the end: code -1 (tag absent) never matches.
        lookup = np.array([*ok, False], dtype=bool)
        return lookup[codes]

    @functools.cached_property
    def _utm(self) -> str:
        # The UTM zone of the data's centre; computed directly because pyproj's
        # estimate_utm_crs queries its database (~0.1 s a call).
        west, south, east, north = shapely.total_bounds(self.geometry)
        lon, lat = (west + east) / 2, (south + north) / 2
        zone = int(np.clip(np.floor((lon + 180.0) / 6.0) + 1, 1, 60))
        return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"

    def metric(self, rows: np.ndarray) -> np.ndarray:
        """Geometries of ``rows`` in metres (the data's UTM zone when it is in degrees)."""
        geoms = gpd.GeoSeries(self.geometry[rows], crs=self.crs)
        if self.crs is not None and self.crs.is_geographic:
            geoms = geoms.to_crs(self._utm)
        return np.asarray(geoms.array, dtype=object)

    def from_metric(self, geom: Any) -> Any:
        """One geometry from :meth:`metric`'s CRS back to the data's CRS."""
        if self.crs is None or not self.crs.is_geographic:
            return geom
        return gpd.GeoSeries([geom], crs=self._utm).to_crs(self.crs).iloc[0]

    def area_m2(self, mask: np.ndarray) -> np.ndarray:
        """Metric areas of the polygons in ``mask`` (0 for points and lines)."""
        todo = mask & np.isnan(self._area)
        if todo.any():
            geoms = gpd.GeoSeries(self.geometry[todo], crs=self.crs)
            if self.crs.is_geographic:
                geoms = geoms.to_crs(self._utm)
            self._area[todo] = np.where(self.is_polygon[todo], geoms.area.to_numpy(), 0.0)
        return self._area


def _as_categories(categories: Category | Catalogue | Iterable[Category]) -> list[Category]:
    if isinstance(categories, Category):
        return [categories]
    cats = list(categories)
    bad = [c for c in cats if not isinstance(c, Category)]
    if bad:
        raise OptionError(f"categories: expected Category objects (see select()), found {bad[:3]!r}.")
    return cats


def _empty_result(crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"category": pd.Series([], dtype=object), "name": pd.Series([], dtype=object),
         "osm_type": pd.Series([], dtype=object), "osm_id": pd.Series([], dtype=np.int64)},
        geometry=gpd.GeoSeries([], crs=crs), crs=crs,
    )


def _dedupe(rows: np.ndarray, table: _TagTable, osm_type: np.ndarray, osm_id: np.ndarray) -> np.ndarray:
    """Drop features of one category that lie inside a larger polygon of the same category.

    A feature is dropped when its representative point lies within a polygon that ranks
    before it: polygons rank by area (largest first), then every point/line; ties break
    by (osm_type, osm_id). So a node in a footprint, a building in its campus and a
    way duplicated by a relation count once, as the outermost polygon.
    """
    poly = table.is_polygon[rows]
    if not poly.any() or len(rows) < 2:
        return rows
    area = np.where(poly, table.area_m2(np.isin(np.arange(table.n), rows[poly]))[rows], 0.0)
    order = np.lexsort((osm_id[rows], osm_type[rows], -area, ~poly))
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(rows))
    geoms = table.geometry[rows]
    poly_idx = np.flatnonzero(poly)
    poly_geoms = geoms[poly_idx]
    invalid = ~shapely.is_valid(poly_geoms)
    if invalid.any():
        poly_geoms = poly_geoms.copy()
        poly_geoms[invalid] = shapely.make_valid(poly_geoms[invalid])
    tree = shapely.STRtree(poly_geoms)
    probe = shapely.point_on_surface(geoms)
    inner, outer = tree.query(probe, predicate="within")
    container = poly_idx[outer]
    beaten = rank[container] < rank[inner]
    inner, container = inner[beaten], container[beaten]
    # Only a kept polygon can absorb others: a building half inside a campus is dropped,
    # but a kiosk inside that building yet outside the campus stays. Kept-ness depends
    # only on better-ranked polygons, so this iteration settles within the nesting depth.
    dropped = np.zeros(len(rows), dtype=bool)
    for _ in range(len(rows) + 1):
        new = np.zeros(len(rows), dtype=bool)
        new[inner[~dropped[container]]] = True
        if np.array_equal(new, dropped):
            break
        dropped = new
    return rows[~dropped]


def _check_features(features: Any) -> None:
    """``features`` is a GeoDataFrame as :func:`lifecircle.layers.osm.read_osm` returns it."""
    if not isinstance(features, gpd.GeoDataFrame):
        raise OptionError(f"features: expected a GeoDataFrame, found {type(features).__name__}.")
    missing = [c for c in ("osm_type", "osm_id", "tags") if c not in features.columns]
    if missing:
        raise OptionError(
            f"features: missing columns {missing} (expected osm_type, osm_id, name, tags, geometry "
            f"as read_osm returns); found {list(features.columns)}."
        )
    if features.crs is None and len(features):
        raise NoCrsError("features: the GeoDataFrame has no CRS (read_osm returns EPSG:4326).")


@dataclass
class _Matched:
    """Rows of ``features`` per category after the rules and exclusions (no deduplication)."""

    table: _TagTable | None
    osm_type: np.ndarray
    osm_id: np.ndarray
    names: np.ndarray
    rows: list[np.ndarray]


def _match(features: gpd.GeoDataFrame, cats: list[Category]) -> tuple[_Matched, list[tuple[str, int, str]]]:
    """Apply the rules and exclusions; return the rows per category and the excluded (category, row, reason)."""
    _check_features(features)
    n = len(features)
    osm_type = features["osm_type"].astype(str).to_numpy() if n else np.array([], dtype=object)
    osm_id = features["osm_id"].to_numpy() if n else np.array([], dtype=np.int64)
    names = features["name"].to_numpy(dtype=object) if "name" in features.columns else np.full(n, None)
    if not cats or n == 0:
        return _Matched(None, osm_type, osm_id, names, [np.array([], dtype=np.int64) for _ in cats]), []
    keys: set[str] = {"building", *_FACILITY_KEYS}
    for cat in cats:
        for excl in cat.all_exclusions:
            keys.update(c.key for c in excl.conditions)
        for rule in cat.rules:
            keys.update(c.key for c in rule.conditions + rule.exclusions)
    table = _TagTable(features, keys)
    cache: dict[Condition, np.ndarray] = {}

    def test(cond: Condition) -> np.ndarray:
        if cond not in cache:
            cache[cond] = table.test(cond)
        return cache[cond]

    per_cat: list[np.ndarray] = []
    excluded: list[tuple[str, int, str]] = []
    for cat in cats:
        mask = np.zeros(table.n, dtype=bool)
        for rule in cat.rules:
            hit = np.ones(table.n, dtype=bool)
            for cond in rule.conditions:
                hit &= test(cond)
            for cond in rule.exclusions:
                hit &= ~test(cond)
            if rule.min_area_m2 is not None and hit.any():
                hit &= table.is_polygon
                hit &= table.area_m2(hit) >= rule.min_area_m2
            mask |= hit
        for excl in cat.all_exclusions:
            hit = mask.copy()
            for cond in excl.conditions:
                hit &= test(cond)
            excluded.extend((cat.name, int(r), excl.describe()) for r in np.flatnonzero(hit))
            mask &= ~hit
        per_cat.append(np.flatnonzero(mask))
    return _Matched(table, osm_type, osm_id, names, per_cat), excluded


def match_features(
    features: gpd.GeoDataFrame,
    categories: Category | Catalogue | Iterable[Category],
    *,
    deduplicate: bool = True,
) -> gpd.GeoDataFrame:
    """Assign OSM features to facility categories.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        As :attr:`lifecircle.layers.osm.OsmExtract.features`: columns ``osm_type``,
        ``osm_id``, ``name``, ``tags`` (dict) and ``geometry``, with a CRS.
    categories : Category, Catalogue or iterable of Category
        What to look for (see :func:`select`).
    deduplicate : bool, default True
        Drop a feature lying inside a larger polygon of the same category (a hospital
        node in its footprint, a school building in its grounds): the polygon is kept.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category``, ``name``, ``osm_type``, ``osm_id``, ``geometry``, in the
        CRS of ``features``, one row per (category, feature): a feature in several
        categories appears once in each. Sorted by category (in the order given), then
        ``osm_type`` and ``osm_id``; index 0..n-1. A category with no match simply has no
        rows (the caller reports it as "no data").

    Raises
    ------
    OptionError
        ``features`` is not a GeoDataFrame or lacks a column; ``categories`` holds
        something other than Category objects.
    NoCrsError
        ``features`` has no CRS.
    """
    cats = _as_categories(categories)
    _check_features(features)
    if not cats or len(features) == 0:
        return _empty_result(features.crs)

    matched, _ = _match(features, cats)
    if matched.table is None:
        return _empty_result(features.crs)
    table, osm_type, osm_id, names = matched.table, matched.osm_type, matched.osm_id, matched.names
    pieces: list[tuple[str, np.ndarray]] = []
    for cat, rows in zip(cats, matched.rows):
        n_matched = len(rows)
        if deduplicate:
            rows = _dedupe(rows, table, osm_type, osm_id)
        rows = rows[np.lexsort((osm_id[rows], osm_type[rows]))]
        log.info("Category %s: %d features (%d matched, %d inside a larger one of the same category)",
                 cat.name, len(rows), n_matched, n_matched - len(rows))
        if not len(rows):
            log.warning("Category %s: no facilities in the data", cat.name)
        pieces.append((cat.name, rows))

    all_rows = np.concatenate([r for _, r in pieces]) if pieces else np.array([], dtype=np.int64)
    if not len(all_rows):
        return _empty_result(features.crs)
    labels = np.concatenate([np.full(len(r), name, dtype=object) for name, r in pieces])
    return gpd.GeoDataFrame(
        {
            # object dtype keeps None for a missing name (pandas would turn it into NaN).
            "category": pd.Series(labels, dtype=object),
            "name": pd.Series([v if isinstance(v, str) and v else None for v in names[all_rows]], dtype=object),
            "osm_type": pd.Series(osm_type[all_rows], dtype=object),
            "osm_id": osm_id[all_rows],
        },
        geometry=gpd.GeoSeries(table.geometry[all_rows], crs=features.crs),
        crs=features.crs,
    )


# --------------------------------------------------------------------------- sites

#: Columns of the quality report of :func:`match_sites` (``facility_qa.csv``).
QA_COLUMNS: tuple[str, ...] = ("osm_type", "osm_id", "name", "category", "action", "reason", "site_id")

#: Tags that make a building a facility of its own rather than a part of one.
_FACILITY_KEYS: tuple[str, ...] = ("amenity", "healthcare", "shop", "leisure", "social_facility", "office")
#: A building whose name says what facility it is (a hospital, a school) anchors a site; a
#: building named 门诊楼, ③急诊楼 or 第一住院部A区 is a part of one.
_FACILITY_NAME_RE = re.compile(
    r"医院|卫生院|卫生服务|卫生室|卫生站|诊所|学校|小学|中学|学院|幼儿园|托儿所|托育|养老|敬老|福利院|市场|超市"
    r"|(?i:hospital|clinic|school|kindergarten|market)"
)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def roots(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)


def _osm_label(osm_type: Any, osm_id: Any) -> str:
    return f"{osm_type}/{osm_id}"


def _group_sites(rows: np.ndarray, table: _TagTable, names: np.ndarray, operators: np.ndarray,
                 osm_type: np.ndarray, osm_id: np.ndarray, *, part_distance_m: float,
                 same_name_distance_m: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Group one category's features into sites.

    Returns the site number of each row (0..k-1, in the order of each site's first
    member), whether each row is a building part, and the reason each row joined its site
    ("" for a row alone).
    """
    n = len(rows)
    uf = _UnionFind(n)
    reason = [""] * n
    geoms = table.metric(rows)
    poly = table.is_polygon[rows]
    is_part = poly & _building_parts(rows, table, names)
    label = [_osm_label(osm_type[r], osm_id[r]) for r in rows]
    # (a) Inside a larger polygon of the same category: one site with it.
    if poly.any() and n > 1:
        _join_inside(uf, reason, geoms, poly, label)
    # (b) The same name or operator close by: one facility mapped twice or in several objects.
    tree = shapely.STRtree(geoms)
    if n > 1:
        _join_same_name(uf, reason, tree, geoms, (_name_key(names[rows]), _name_key(operators[rows])), label,
                        same_name_distance_m)
    # (c) Building parts (footprints tagged only as a building of the facility's kind) close
    # to each other form a site; (d) such a group joins the nearest anchored site in reach.
    if is_part.any() and n > 1:
        _join_parts(uf, reason, tree, geoms, is_part, label, part_distance_m)
    roots = uf.roots()
    _, site = np.unique(roots, return_inverse=True)
    return site, is_part, reason


def _building_parts(rows: np.ndarray, table: _TagTable, names: np.ndarray) -> np.ndarray:
    """Rows tagged ``building`` with no key or name that makes a facility of their own."""
    has_building = table.codes["building"][0][rows] >= 0
    own_facility = np.zeros(len(rows), dtype=bool)
    for key in _FACILITY_KEYS:
        own_facility |= table.codes[key][0][rows] >= 0
    named_as_facility = np.array([isinstance(v, str) and _FACILITY_NAME_RE.search(v) is not None
                                  for v in names[rows]], dtype=bool)
    return has_building & ~own_facility & ~named_as_facility


def _name_key(values: np.ndarray) -> np.ndarray:
    """Names compared without white space or case ("" for none)."""
    return np.array(["".join(str(v).split()).casefold() if isinstance(v, str) and v.strip() else ""
                     for v in values], dtype=object)


def _join_inside(uf: _UnionFind, reason: list[str], geoms: np.ndarray, poly: np.ndarray, label: list[str]) -> None:
    """Rule (a): each feature joins the largest polygon of the category containing it."""
    area = np.where(poly, shapely.area(geoms), 0.0)
    poly_idx = np.flatnonzero(poly)
    poly_geoms = geoms[poly_idx].copy()
    invalid = ~shapely.is_valid(poly_geoms)
    if invalid.any():
        poly_geoms[invalid] = shapely.make_valid(poly_geoms[invalid])
    inner, outer = shapely.STRtree(poly_geoms).query(shapely.point_on_surface(geoms), predicate="within")
    container = poly_idx[outer]
    keep = (container != inner) & (area[container] > area[inner])
    inner, container = inner[keep], container[keep]
    if len(inner):
        # The largest container holds the whole site (a campus around its buildings).
        order = np.lexsort((-area[container], inner))
        first = np.unique(inner[order], return_index=True)[1]
        for i, c in zip(inner[order][first], container[order][first]):
            uf.union(int(i), int(c))
            reason[i] = f"inside {label[c]} of the same category"


def _join_same_name(uf: _UnionFind, reason: list[str], tree: shapely.STRtree, geoms: np.ndarray,
                    keys: tuple[np.ndarray, np.ndarray], label: list[str], same_name_distance_m: float) -> None:
    """Rule (b): features with the same name or operator within the distance are one site."""
    name_key, operator_key = keys
    a, b = tree.query(geoms, predicate="dwithin", distance=same_name_distance_m)
    keep = a < b
    a, b = a[keep], b[keep]
    same = ((name_key[a] != "") & (name_key[a] == name_key[b])) | \
           ((operator_key[a] != "") & (operator_key[a] == operator_key[b]))
    for i, j in zip(a[same], b[same]):
        uf.union(int(i), int(j))
        why = "same operator" if operator_key[i] and operator_key[i] == operator_key[j] else "same name"
        for x, y in ((i, j), (j, i)):
            if not reason[x]:
                reason[x] = f"{why} as {label[y]} within {same_name_distance_m:g} m"


def _join_parts(uf: _UnionFind, reason: list[str], tree: shapely.STRtree, geoms: np.ndarray,
                is_part: np.ndarray, label: list[str], part_distance_m: float) -> None:
    """Rules (c) and (d): building parts near each other chain into a site, which joins the
    nearest site anchored by a facility of its own within the distance."""
    n = len(is_part)
    a, b = tree.query(geoms, predicate="dwithin", distance=part_distance_m)
    keep = a != b
    a, b = a[keep], b[keep]
    roots = uf.roots()
    anchored = np.zeros(n, dtype=bool)
    anchored[np.unique(roots[~is_part])] = True
    free = ~anchored[roots]
    pp = (a < b) & is_part[a] & is_part[b] & free[a] & free[b]
    for i, j in zip(a[pp], b[pp]):
        uf.union(int(i), int(j))
        for x, y in ((i, j), (j, i)):
            if not reason[x]:
                reason[x] = f"building of the same kind within {part_distance_m:g} m of {label[y]}"
    roots = uf.roots()
    to_anchor = is_part[a] & free[a] & ~free[b]
    if to_anchor.any():
        pa, pb = a[to_anchor], b[to_anchor]
        dist = shapely.distance(geoms[pa], geoms[pb])
        order = np.lexsort((pb, dist, roots[pa]))
        first = np.unique(roots[pa][order], return_index=True)[1]
        for i, j in zip(pa[order][first], pb[order][first]):
            uf.union(int(i), int(j))
            reason[i] = f"building of the same kind within {part_distance_m:g} m of {label[j]}"


def match_sites(
    features: gpd.GeoDataFrame,
    categories: Category | Catalogue | Iterable[Category],
    *,
    part_distance_m: float = 50.0,
    same_name_distance_m: float = 100.0,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Assign OSM features to categories and merge the parts of one facility into a site.

    A hospital mapped as eight building footprints is one hospital: counts, gaps and
    completeness are per site. Within one category, features are one site when

    (a) one lies inside a larger polygon of the category (a building in its campus, a
        node in its footprint);
    (b) they have the same name or the same ``operator`` and lie within
        ``same_name_distance_m`` of each other (a node and a way of one shop);
    (c) they are *building parts*: polygons with a ``building`` tag, none of the tags
        that make a facility of their own (``amenity``, ``healthcare``, ``shop``,
        ``leisure``, ``social_facility``, ``office``) and no name saying what facility
        they are (医院, 诊所, 学校 ...; a building named 门诊楼 or 第一住院部A区 is a part),
        within ``part_distance_m`` of each other (outline to outline, chained); a group
        of parts joins the nearest other site within ``part_distance_m``, so parts never
        bridge two named facilities.

    A site keeps its parts: its geometry is a MultiPolygon of the parts' outlines (not
    dissolved; points as ~2 m discs; parts inside another part left out), so every part's
    outline is an entrance for reaching it.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        As for :func:`match_features`.
    categories : Category, Catalogue or iterable of Category
        The categories whose rules are applied (sites come out in this order).
    part_distance_m, same_name_distance_m : float
        Distances of rules (c) and (b), metres.

    Returns
    -------
    sites : geopandas.GeoDataFrame
        As :func:`match_features`, one row per site, plus ``site_id``
        (``<category>/<osm_type>/<osm_id>`` of its main part) and ``parts`` (number of
        features merged).
    qa : geopandas.GeoDataFrame
        One row per feature excluded (it matched a rule but an ``exclude`` entry too),
        merged into a site, or kept as a site of several parts: columns
        :data:`QA_COLUMNS` and the feature's geometry, in the CRS of ``features``.

    Raises
    ------
    OptionError
        A distance that is not a number of metres >= 0.
    """
    cats = _as_categories(categories)
    for value, option in ((part_distance_m, "part_distance_m"), (same_name_distance_m, "same_name_distance_m")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise OptionError(f"{option}: expected a distance in metres >= 0, found {value!r}.")
    matched, excluded = _match(features, cats)
    crs = features.crs
    out = _SiteRows()
    if matched.table is None:
        return _site_result(crs), _qa_frame(out.qa_rows, out.qa_geoms, crs, excluded, matched)
    operators = np.array([t.get("operator") if isinstance(t, dict) else None for t in features["tags"]], dtype=object)
    for cat, rows in zip(cats, matched.rows):
        if not len(rows):
            continue
        _add_category_sites(out, cat, rows, matched, operators, part_distance_m=float(part_distance_m),
                            same_name_distance_m=float(same_name_distance_m))
    sites = _sites_frame(out, cats, matched, crs)
    for cat in cats:
        n_sites = int((sites["category"] == cat.name).sum())
        n_parts = int(sites.loc[sites["category"] == cat.name, "parts"].sum())
        if n_parts > n_sites:
            log.info("Category %s: %d features merged into %d sites", cat.name, n_parts, n_sites)
    return sites, _qa_frame(out.qa_rows, out.qa_geoms, crs, excluded, matched)


@dataclass
class _SiteRows:
    """The sites of :func:`match_sites` as they are found (one entry per site), and their QA rows."""

    cat: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    geom: list[Any] = field(default_factory=list)
    name: list[Any] = field(default_factory=list)
    parts: list[int] = field(default_factory=list)
    site: list[str] = field(default_factory=list)
    qa_rows: list[dict[str, Any]] = field(default_factory=list)
    qa_geoms: list[Any] = field(default_factory=list)


def _add_category_sites(out: _SiteRows, cat: Category, rows: np.ndarray, matched: _Matched,
                        operators: np.ndarray, *, part_distance_m: float, same_name_distance_m: float) -> None:
    """Group one category's features into sites and append them (and their QA rows) to ``out``."""
    table, osm_type, osm_id, names = matched.table, matched.osm_type, matched.osm_id, matched.names
    if table is None:  # no feature matched at all (the caller returns before)
        return
    site, is_part, reason = _group_sites(rows, table, names, operators, osm_type, osm_id,
                                         part_distance_m=part_distance_m, same_name_distance_m=same_name_distance_m)
    poly = table.is_polygon[rows]
    area = np.where(poly, table.area_m2(np.isin(np.arange(table.n), rows[poly]))[rows], 0.0)
    # Main part: a facility of its own before a building part, polygons before points,
    # the largest first, then by OSM id.
    rank = np.lexsort((osm_id[rows], osm_type[rows], -area, ~poly, is_part))
    # Members of each site in rank order, sites contiguous (one sort, not one scan per site).
    by_site = rank[np.argsort(site[rank], kind="stable")]
    bounds = np.flatnonzero(np.diff(site[by_site])) + 1
    for members in np.split(by_site, bounds):
        main = members[0]
        r = rows[main]
        sid = f"{cat.name}/{_osm_label(osm_type[r], osm_id[r])}"
        named = [names[rows[m]] for m in members if isinstance(names[rows[m]], str) and names[rows[m]]]
        out.cat.append(cat.name)
        out.rows.append(int(r))
        out.name.append(named[0] if named else None)
        out.parts.append(len(members))
        out.site.append(sid)
        if len(members) == 1:
            out.geom.append(table.geometry[r])
            continue
        # Parts inside another part (a building in its campus) add no entrance.
        outer = [m for m in members if not reason[m].startswith("inside ")] or [main]
        out.geom.append(_parts_outline(table.geometry[rows[outer]], table.is_polygon[rows[outer]],
                                       disc=2e-5 if table.crs is not None and table.crs.is_geographic else 2.0))
        out.qa_rows.append({"osm_type": osm_type[r], "osm_id": osm_id[r], "name": names[r], "category": cat.name,
                            "action": "site", "reason": f"main part of a site of {len(members)} parts",
                            "site_id": sid})
        out.qa_geoms.append(table.geometry[r])
        for m in members[1:]:
            q = rows[m]
            out.qa_rows.append({"osm_type": osm_type[q], "osm_id": osm_id[q], "name": names[q],
                                "category": cat.name, "action": "merged", "reason": reason[m], "site_id": sid})
            out.qa_geoms.append(table.geometry[q])


def _sites_frame(out: _SiteRows, cats: list[Category], matched: _Matched, crs: Any) -> gpd.GeoDataFrame:
    """The sites in catalogue order of their category, then by OSM type and id."""
    osm_type, osm_id = matched.osm_type, matched.osm_id
    order = np.lexsort((np.array(osm_id[out.rows]), np.array(osm_type[out.rows], dtype=str),
                        np.array([[c.name for c in cats].index(c) for c in out.cat])))
    return gpd.GeoDataFrame(
        {"category": pd.Series(np.array(out.cat, dtype=object)[order], dtype=object),
         "name": pd.Series([v if isinstance(v, str) and v else None for v in np.array(out.name, dtype=object)[order]],
                           dtype=object),
         "osm_type": pd.Series(osm_type[out.rows][order], dtype=object),
         "osm_id": osm_id[out.rows][order],
         "site_id": pd.Series(np.array(out.site, dtype=object)[order], dtype=object),
         "parts": np.array(out.parts, dtype=np.int64)[order]},
        geometry=gpd.GeoSeries(np.array(out.geom, dtype=object)[order], crs=crs), crs=crs,
    )


def _parts_outline(geoms: np.ndarray, is_polygon: np.ndarray, *, disc: float) -> Any:
    """A MultiPolygon of the parts' own polygons (not dissolved, so each part keeps its
    outline and :func:`lifecircle.spatial.travel.facility_access_points` reaches each one); a point
    or line part becomes a tiny disc (about 2 m) around it."""
    parts: list[Any] = []
    for g, is_poly in zip(geoms, is_polygon):
        if not is_poly:
            g = shapely.buffer(g, disc)  # ~2 m (in degrees or metres): a marker, not a footprint
        parts.extend(p for p in shapely.get_parts(g) if shapely.get_type_id(p) == 3)
    return shapely.MultiPolygon(parts)


def _site_result(crs: Any) -> gpd.GeoDataFrame:
    empty = _empty_result(crs)
    empty["site_id"] = pd.Series([], dtype=object)
    empty["parts"] = pd.Series([], dtype=np.int64)
    return empty[["category", "name", "osm_type", "osm_id", "site_id", "parts", "geometry"]]


def _qa_frame(rows: list[dict[str, Any]], geoms: list[Any], crs: Any, excluded: list[tuple[str, int, str]],
              matched: _Matched) -> gpd.GeoDataFrame:
    for cat, r, why in excluded:
        rows.append({"osm_type": matched.osm_type[r], "osm_id": matched.osm_id[r], "name": matched.names[r],
                     "category": cat, "action": "excluded", "reason": why, "site_id": None})
        geoms.append(matched.table.geometry[r] if matched.table is not None else None)
    frame = pd.DataFrame(rows, columns=list(QA_COLUMNS))
    frame["name"] = [v if isinstance(v, str) and v else None for v in frame["name"]]
    frame = frame.astype({"osm_type": object, "name": object, "category": object, "action": object,
                          "reason": object, "site_id": object})
    qa = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    qa = qa.sort_values(["category", "action", "site_id", "osm_type", "osm_id"], na_position="last", kind="stable")
    return qa.reset_index(drop=True)


# --------------------------------------------------------------------------- completeness

#: A category with fewer facilities per 10,000 people than this share of the standard's
#: expectation is reported as "likely incomplete" data.
INCOMPLETE_BELOW: float = 0.5


def assess_completeness(
    counts: Mapping[str, int],
    people: float | None,
    categories: Iterable[Category],
    *,
    below: float = INCOMPLETE_BELOW,
) -> dict[str, dict[str, Any]]:
    """Facilities per 10,000 people against each category's expected density.

    Parameters
    ----------
    counts : Mapping of str to int
        Facilities (sites) per category inside the study area.
    people : float or None
        Residents of the study area; ``None`` or 0 when the run has no population
        (weights are not people): nothing can be assessed.
    categories : iterable of Category
        The run's categories; those without ``expected`` are not assessed.
    below : float, default :data:`INCOMPLETE_BELOW`
        Ratio (found / expected) under which the data is "likely incomplete".

    Returns
    -------
    dict
        Per category: ``facilities``, ``per_10k`` (``None`` without people),
        ``expected_per_10k``, ``expected_source``, ``expected_verified``, ``ratio`` and
        ``likely_incomplete`` (``True``/``False``; ``None`` when not assessable). When
        the data is likely incomplete, coverage computed from it is a lower bound.

    Raises
    ------
    OptionError
        ``below`` outside (0, 1].

    Examples
    --------
    >>> clinic = select(load_catalogue(), ["clinic"])
    >>> facts = assess_completeness({"clinic": 3}, 50_000.0, clinic)["clinic"]
    >>> facts["per_10k"], facts["likely_incomplete"] in (True, False, None)
    (0.6, True)
    """
    if not 0 < below <= 1:
        raise OptionError(f"below: expected a ratio in (0, 1], found {below!r}.")
    out: dict[str, dict[str, Any]] = {}
    for cat in categories:
        n = int(counts.get(cat.name, 0))
        per_10k = n / people * 10_000 if people else None
        exp = cat.expected
        ratio = per_10k / exp.value if (exp is not None and per_10k is not None) else None
        out[cat.name] = {
            "facilities": n,
            "per_10k": None if per_10k is None else round(per_10k, 3),
            "expected_per_10k": None if exp is None else exp.value,
            "expected_source": None if exp is None else exp.source,
            "expected_verified": None if exp is None else exp.verified,
            "ratio": None if ratio is None else round(ratio, 3),
            "likely_incomplete": None if ratio is None else bool(ratio < below),
        }
        if exp is not None and ratio is not None and ratio < below:
            log.warning(
                "Category %s: %d facilities, %.2f per 10,000 people, %.0f%% of the %.2g a standard expects: the "
                "data is likely incomplete and its coverage is a lower bound.", cat.name, n, per_10k, ratio * 100,
                exp.value)
    return out
