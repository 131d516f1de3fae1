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
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import (
    CatalogueError,
    InputNotFoundError,
    NoCrsError,
    OptionError,
    UnknownCategoryError,
)

__all__ = [
    "BUNDLED_CATALOGUE",
    "Catalogue",
    "Category",
    "Condition",
    "Rule",
    "load_catalogue",
    "match_features",
    "resolve_category",
    "select",
]

log = logging.getLogger(__name__)

#: The catalogue that ships with lifecircle.
BUNDLED_CATALOGUE: Path = Path(__file__).with_name("categories.yaml")

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_CATEGORY_KEYS = frozenset({"label_zh", "label_en", "colour", "rules", "exclude", "default", "description"})
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


@dataclass(frozen=True)
class Catalogue:
    """The categories known to a run, by name, in catalogue order.

    Attributes
    ----------
    categories : Mapping of str to Category
        Read-only mapping; bundled entries first, then new entries of the extra files.
    sources : tuple of str
        The files merged, in order (for the run record).
    """

    categories: Mapping[str, Category] = field(default_factory=lambda: MappingProxyType({}))
    sources: tuple[str, ...] = ()

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
        raise CatalogueError(f"{where}: tag keys must be non-empty strings, found {key!r}.")
    if isinstance(value, str):
        if value == "*":
            return Condition(key)
        if not value:
            raise CatalogueError(f"{where}: key {key!r} has an empty value; expected a value, a list or \"*\".")
        return Condition(key, (value,))
    if isinstance(value, list):
        if not value:
            raise CatalogueError(f"{where}: key {key!r} has an empty list of values.")
        bad = [v for v in value if not isinstance(v, str) or not v]
        if bad:
            raise CatalogueError(
                f"{where}: key {key!r} has values {bad!r} that are not non-empty strings; "
                "quote values YAML reads as numbers or booleans (\"1\", \"no\", \"yes\")."
            )
        if "*" in value:
            raise CatalogueError(f"{where}: key {key!r}: \"*\" must stand alone, not inside a list.")
        return Condition(key, tuple(dict.fromkeys(value)))
    if isinstance(value, dict):
        if set(value) != {"regex"} or not isinstance(value["regex"], str) or not value["regex"]:
            raise CatalogueError(
                f"{where}: key {key!r} has mapping {value!r}; the only mapping form is {{regex: \"pattern\"}}."
            )
        try:
            re.compile(value["regex"])
        except re.error as exc:
            raise CatalogueError(f"{where}: key {key!r} has an invalid regex {value['regex']!r}: {exc}.") from exc
        return Condition(key, None, value["regex"])
    raise CatalogueError(
        f"{where}: key {key!r} has value {value!r} ({type(value).__name__}); expected a string, "
        "a list of strings, \"*\" or {regex: \"pattern\"} (quote numbers and yes/no)."
    )


def _parse_conditions(mapping: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(mapping, dict) or not mapping:
        raise CatalogueError(f"{where}: expected a non-empty mapping of tag key to values, found {mapping!r}.")
    return tuple(_parse_condition(k, v, where) for k, v in mapping.items())


def _parse_rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict) or not raw:
        raise CatalogueError(f"{where}: a rule must be a non-empty mapping of tag key to values, found {raw!r}.")
    tags = {k: v for k, v in raw.items() if k not in _RULE_RESERVED}
    if not tags:
        raise CatalogueError(f"{where}: the rule has no tag condition (only {sorted(raw)!r}).")
    conditions = _parse_conditions(tags, where)
    exclusions = _parse_conditions(raw["not"], f"{where}, 'not'") if "not" in raw else ()
    min_area = raw.get("min_area_m2")
    if min_area is not None:
        if isinstance(min_area, bool) or not isinstance(min_area, (int, float)) or not np.isfinite(min_area) \
                or min_area < 0:
            raise CatalogueError(f"{where}: min_area_m2 must be a number >= 0, found {min_area!r}.")
        min_area = float(min_area)
    return Rule(conditions, exclusions, min_area)


def _parse_category(name: Any, raw: Any, source: str) -> Category:
    where = f"catalogue {source}, category {name!r}"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise CatalogueError(
            f"{where}: category names must be lower-case letters, digits and '_' starting with a letter "
            "(they become column names)."
        )
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping with label_zh, label_en, colour, rules; found {raw!r}.")
    unknown = sorted(set(raw) - _CATEGORY_KEYS)
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {unknown}; allowed: {sorted(_CATEGORY_KEYS)}.")
    missing = [k for k in ("label_zh", "label_en", "colour", "rules") if k not in raw]
    if missing:
        raise CatalogueError(f"{where}: missing {missing}.")
    for key in ("label_zh", "label_en"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise CatalogueError(f"{where}: {key} must be a non-empty string, found {raw[key]!r}.")
    colour = raw["colour"]
    if not isinstance(colour, str) or not _COLOUR_RE.match(colour):
        raise CatalogueError(f"{where}: colour must be \"#rrggbb\" (quoted), found {colour!r}.")
    rules_raw = raw["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise CatalogueError(f"{where}: rules must be a non-empty list, found {rules_raw!r}.")
    rules = tuple(_parse_rule(r, f"{where}, rule {i + 1}") for i, r in enumerate(rules_raw))
    exclude = _parse_conditions(raw["exclude"], f"{where}, 'exclude'") if "exclude" in raw else ()
    default = raw.get("default", True)
    if not isinstance(default, bool):
        raise CatalogueError(f"{where}: default must be true or false, found {default!r}.")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise CatalogueError(f"{where}: description must be text, found {description!r}.")
    return Category(name, raw["label_zh"].strip(), raw["label_en"].strip(), colour.lower(), rules,
                    exclude, default, description.strip(), source)


def _read_yaml(path: str | Path) -> tuple[dict[str, Any], str]:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"Catalogue file {str(path)!r} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"Catalogue file {str(path)!r} is not UTF-8 text: {exc}.") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"Catalogue file {str(path)!r} is not valid YAML: {exc}") from exc
    return data, str(path)


def _parse_document(data: Any, source: str) -> dict[str, Category]:
    if not isinstance(data, dict) or "categories" not in data:
        raise CatalogueError(
            f"Catalogue {source}: expected a mapping with a 'categories' key "
            f"(see {BUNDLED_CATALOGUE.name}), found {type(data).__name__}."
        )
    unknown = sorted(set(data) - {"version", "categories"})
    if unknown:
        raise CatalogueError(f"Catalogue {source}: unknown top-level keys {unknown}; allowed: categories, version.")
    version = data.get("version", 1)
    if version != 1:
        raise CatalogueError(f"Catalogue {source}: version {version!r} is not supported (expected 1).")
    cats = data["categories"]
    if not isinstance(cats, dict) or not cats:
        raise CatalogueError(f"Catalogue {source}: 'categories' must be a non-empty mapping, found {cats!r}.")
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
        replaced = sorted(set(entries) & set(merged))
        if replaced:
            log.info("Catalogue %s replaces categories %s", src, ", ".join(replaced))
        merged.update(entries)
        sources.append(src)
    log.info("Catalogue: %d categories (%s)", len(merged), ", ".join(merged))
    return Catalogue(MappingProxyType(merged), tuple(sources))


# --------------------------------------------------------------------------- selecting


def resolve_category(catalogue: Catalogue, value: str) -> str | None:
    """Return the category name ``value`` designates, or ``None``.

    Accepts a name (case-insensitive) or a label (``学校``, ``School``).
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
    names : str, iterable of str or None
        ``None``: the categories marked ``default`` in the catalogue (bundled: clinic,
        school, park, as :data:`lifecircle.settings.default_categories`). A string is split on commas (``"clinic,school,park"``);
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
        raise OptionError(f"categories: no category named (got {names!r}); known: {', '.join(catalogue.names)}.")
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
            wanted = frozenset(cond.values)
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
    if not cats or len(features) == 0:
        return _empty_result(features.crs)

    keys: set[str] = set()
    for cat in cats:
        keys.update(c.key for c in cat.exclude)
        for rule in cat.rules:
            keys.update(c.key for c in rule.conditions + rule.exclusions)
    table = _TagTable(features, keys)
    cache: dict[Condition, np.ndarray] = {}

    def test(cond: Condition) -> np.ndarray:
        if cond not in cache:
            cache[cond] = table.test(cond)
        return cache[cond]

    osm_type = features["osm_type"].astype(str).to_numpy()
    osm_id = features["osm_id"].to_numpy()
    names = features["name"].to_numpy(dtype=object) if "name" in features.columns else np.full(table.n, None)
    pieces: list[tuple[str, np.ndarray]] = []
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
        for cond in cat.exclude:
            mask &= ~test(cond)
        rows = np.flatnonzero(mask)
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
