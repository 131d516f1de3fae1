"""The governance hierarchy (街道 → 社区 → 网格): unit files with names and codes, checked and nested.

``--units`` names one polygon layer per level, from the top down; the last one is the
lowest level, the one the grid cells are assigned to. Each is written
``FILE[:key=value,...]``::

    --units streets.gpkg:level=street,name=街道名,code=街道代码
    --units communities.gpkg:level=community,name=社区名,code=社区代码,parent=街道代码

Keys (all optional):

``level``
    The level's key in outputs (``street`` → ``units_street.csv``, ``street_code``);
    lower-case letters, digits and ``_``. Default ``level1``, ``level2`` ... from the top.
``label``
    The level's name in tables and on the map (``街道``). Default the key.
``name`` / ``code``
    The columns holding each unit's name and code (统计用区划代码 ...). Default: the
    first of :data:`~lifecircle.layers.communities.NAME_COLUMN_CANDIDATES` /
    :data:`~lifecircle.layers.communities.CODE_COLUMN_CANDIDATES`; without a code column
    the names serve as codes (a warning says so).
``parent``
    The column holding the code of the unit one level up. Without it, a unit belongs to
    the unit of the level above that holds a point inside it.
``parent_name``
    Only with ``parent`` on the top file: that file alone makes two levels, the upper one
    being its units merged by parent code and named from this column (one file with a
    parent-code column). ``parent_level`` / ``parent_label`` name that upper level.

Every lower unit has exactly one parent, so figures roll up exactly: cells are assigned
to the lowest level only, and each higher level sums its children's cells.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import CommunitiesError, OptionError, shorten
from lifecircle.layers.communities import read_communities

__all__ = ["UnitSpec", "UnitLevel", "parse_unit_spec", "read_unit_levels", "UNIT_SPEC_KEYS", "MAX_LEVELS"]

log = logging.getLogger(__name__)

#: Keys a ``--units`` value may carry after the file name.
UNIT_SPEC_KEYS: tuple[str, ...] = ("level", "label", "name", "code", "parent", "parent_name", "parent_level",
                                   "parent_label")
#: Most levels of one run (市 → 区县 → 街道 → 社区 → 网格).
MAX_LEVELS = 5
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True)
class UnitSpec:
    """One ``--units`` value: a file and how to read it (see the module's text)."""

    path: Path
    level: str | None = None
    label: str | None = None
    name: str | None = None
    code: str | None = None
    parent: str | None = None
    parent_name: str | None = None
    parent_level: str | None = None
    parent_label: str | None = None
    text: str = ""


@dataclass(frozen=True)
class UnitLevel:
    """One level of the hierarchy.

    Attributes
    ----------
    key : str
        ``street``, ``community`` ... (column prefixes and file names).
    label : str
        How tables and the map name the level.
    units : geopandas.GeoDataFrame
        ``code``, ``name``, ``parent_code`` (``""`` at the top) and ``geometry``, in the
        file's CRS; codes unique within the level.
    source : str
        The file (for messages and ``run.json``).
    """

    key: str
    label: str
    units: gpd.GeoDataFrame = field(repr=False)
    source: str = ""


def parse_unit_spec(text: str | Path | UnitSpec, *, option: str = "--units") -> UnitSpec:
    """Read one ``FILE[:key=value,...]`` value.

    The keys follow the last ``:`` whose remainder holds ``=`` (so ``C:\\data\\a.gpkg`` and
    file names with colons stay file names).

    Parameters
    ----------
    text : str or pathlib.Path or UnitSpec
        The value as given; a :class:`UnitSpec` is returned as it is.
    option : str, default "--units"
        The CLI option the value came from, named in messages.

    Returns
    -------
    UnitSpec
        The file's path and the keys given (``None`` for those not given); the file is not
        read here.

    Raises
    ------
    OptionError
        An unknown key, a key without ``=``, a repeated key or a bad level key.

    Examples
    --------
    >>> parse_unit_spec("streets.gpkg:level=street,name=街道名,code=code").name
    '街道名'
    """
    if isinstance(text, UnitSpec):
        return text
    raw = str(text)
    path_text, options = raw, ""
    head, sep, tail = raw.rpartition(":")
    if sep and "=" in tail:
        path_text, options = head, tail
    if not path_text.strip():
        raise OptionError(f"{option} {shorten(raw)}: expected FILE[:name=COLUMN,code=COLUMN,...]; found no file.")
    values: dict[str, str] = {}
    for part in (p for p in options.split(",") if p.strip()):
        if "=" not in part:
            raise OptionError(f"{option} {shorten(raw)}: expected key=value after the file, keys "
                              f"{', '.join(UNIT_SPEC_KEYS)}; found {shorten(part.strip())}.")
        key, value = (s.strip() for s in part.split("=", 1))
        if key not in UNIT_SPEC_KEYS:
            raise OptionError(f"{option} {shorten(raw)}: unknown key {shorten(key)}; expected one of "
                              f"{', '.join(UNIT_SPEC_KEYS)}.")
        if key in values:
            raise OptionError(f"{option} {shorten(raw)}: key {key!r} is given twice.")
        if not value:
            raise OptionError(f"{option} {shorten(raw)}: key {key!r} has no value.")
        values[key] = value
    for key in ("level", "parent_level"):
        if key in values and not _KEY.match(values[key]):
            raise OptionError(f"{option} {shorten(raw)}: {key} must be lower-case letters, digits and '_' "
                              f"starting with a letter (it names columns and files); found {shorten(values[key])}.")
    if "parent_name" in values and "parent" not in values:
        raise OptionError(f"{option} {shorten(raw)}: parent_name needs parent=COLUMN (the parent's code).")
    return UnitSpec(path=Path(path_text), text=raw, **values)


def _codes(units: gpd.GeoDataFrame, spec: UnitSpec, option: str) -> gpd.GeoDataFrame:
    """``code`` present and unique (names stand in, with a warning, where the file has none)."""
    out = units.copy()
    if "code" not in out:
        log.warning("%s %s: no code column; the names serve as codes (name the column with code=COLUMN)",
                    option, spec.path.name)
        out["code"] = out["name"].astype(str)
    out["code"] = out["code"].astype(str).str.strip()
    repeated = out["code"][out["code"].duplicated()]
    if len(repeated):
        raise CommunitiesError(
            f"{option} {str(spec.path)!r}: codes must be unique within a level; {len(repeated)} repeated, e.g. "
            f"{shorten(repeated.iloc[0])}. Expected one polygon per unit (merge a unit's parts into one feature).")
    return out


def _read_level(spec: UnitSpec, index: int, option: str) -> gpd.GeoDataFrame:
    keep = (spec.parent,) if spec.parent else ()
    if spec.parent_name:
        keep = (*keep, spec.parent_name)
    try:
        units = read_communities(spec.path, name_column=spec.name, code_column=spec.code, keep_columns=keep)
    except CommunitiesError as exc:
        raise CommunitiesError(f"{option} (level {index + 1}): {exc}") from None
    return _codes(units, spec, option)


def _merged_parents(units: gpd.GeoDataFrame, spec: UnitSpec) -> gpd.GeoDataFrame:
    """The level above a file with a parent-code column: its units merged by parent code."""
    parent, pname = str(spec.parent), str(spec.parent_name)
    groups = units.groupby(parent, sort=False)
    codes = list(groups.groups)
    geoms = [shapely.union_all(units.geometry.to_numpy()[idx]) for idx in groups.indices.values()]
    names = groups[pname].first().reindex(codes).astype(str).to_numpy()
    return gpd.GeoDataFrame({"code": [str(c) for c in codes], "name": names}, geometry=geoms, crs=units.crs)


def _link(lower: gpd.GeoDataFrame, upper: gpd.GeoDataFrame, *, spec: UnitSpec, upper_source: str,
          option: str) -> np.ndarray:
    """The parent code of each lower unit: from its parent column, else the upper unit
    holding a point inside it (the nearest, with a warning, when none does)."""
    if spec.parent:
        parent = lower[spec.parent].astype(str).str.strip().to_numpy()
        unknown = sorted(set(parent) - set(upper["code"]))
        if unknown:
            raise CommunitiesError(
                f"{option} {str(spec.path)!r}: column {spec.parent!r} names {len(unknown)} parent code(s) not among "
                f"the codes of {upper_source!r}, e.g. {shorten(unknown[0])}; expected codes such as "
                f"{shorten(', '.join(upper['code'].astype(str).head(3)))}.")
        return parent
    up = upper.to_crs(lower.crs) if upper.crs != lower.crs else upper
    points = shapely.point_on_surface(lower.geometry.to_numpy())
    low_idx, up_idx = up.sindex.query(points, predicate="within")
    out = np.full(len(lower), None, dtype=object)
    order = np.lexsort((up_idx, low_idx))
    low_idx, up_idx = low_idx[order], up_idx[order]
    first = np.r_[True, low_idx[1:] != low_idx[:-1]] if len(low_idx) else np.array([], dtype=bool)
    out[low_idx[first]] = up["code"].to_numpy()[up_idx[first]]
    outside = np.flatnonzero(pd.isna(out))
    if len(outside):
        near = gpd.GeoDataFrame(geometry=points[outside], crs=lower.crs).sjoin_nearest(up[["code", "geometry"]])
        near = near[~near.index.duplicated(keep="first")]
        out[outside] = near["code"].to_numpy()
        log.warning("%s %s: %d unit(s) lie outside every unit of %s and join the nearest (e.g. %s)", option,
                    spec.path.name, len(outside), Path(upper_source).name, lower["name"].iloc[outside[0]])
    return out.astype(str)


def read_unit_levels(specs: Sequence[str | Path | UnitSpec], *, option: str = "--units") -> tuple[UnitLevel, ...]:
    """Read the unit files of the hierarchy, top level first, and nest each level in the one above.

    Parameters
    ----------
    specs : sequence of str, pathlib.Path or UnitSpec
        One ``FILE[:key=value,...]`` per level, top down (see the module's text).
    option : str
        How messages name the option.

    Returns
    -------
    tuple of UnitLevel
        Top level first; every unit's ``parent_code`` is a code of the level above.

    Raises
    ------
    OptionError
        A bad value, too many levels, or repeated level keys.
    CommunitiesError
        A file without polygons, names or a named column; repeated codes; parent codes
        that name no unit of the level above.
    InputNotFoundError, NoCrsError
        A missing file, or one without a CRS.
    """
    parsed = [parse_unit_spec(s, option=option) for s in specs]
    if not parsed:
        raise OptionError(f"{option}: expected at least one polygon file.")
    for s in parsed[1:]:
        if s.parent_name:
            raise OptionError(f"{option} {shorten(s.text)}: parent_name (one file making two levels) is for the "
                              "top file only; for lower files, parent=COLUMN links them to the file above.")
    if parsed[0].parent and not parsed[0].parent_name:
        raise OptionError(f"{option} {shorten(parsed[0].text)}: the top file has no level above it to link to; "
                          "add parent_name=COLUMN to make its parents a level, or leave parent out.")
    levels: list[UnitLevel] = []
    for i, spec in enumerate(parsed):
        units = _read_level(spec, i, option)
        if i == 0 and spec.parent_name:
            upper = _codes(_merged_parents(units, spec), spec, option)
            upper["parent_code"] = ""
            key = spec.parent_level or "level1"
            levels.append(UnitLevel(key, spec.parent_label or key, upper[["code", "name", "parent_code", "geometry"]],
                                    str(spec.path)))
        parent = (_link(units, levels[-1].units, spec=spec, upper_source=levels[-1].source, option=option)
                  if levels else np.full(len(units), "", dtype=object))
        units = units.assign(parent_code=parent)
        key = spec.level or f"level{len(levels) + 1}"
        levels.append(UnitLevel(key, spec.label or key, units[["code", "name", "parent_code", "geometry"]],
                                str(spec.path)))
    keys = [lv.key for lv in levels]
    if len(set(keys)) != len(keys):
        raise OptionError(f"{option}: level keys must differ; found {', '.join(keys)} (set level=KEY per file).")
    if len(levels) > MAX_LEVELS:
        raise OptionError(f"{option}: at most {MAX_LEVELS} levels; found {len(levels)}.")
    for lv in levels:
        log.info("%s: level %s (%s), %d units from %s", option, lv.key, lv.label, len(lv.units), Path(lv.source).name)
    return tuple(levels)
