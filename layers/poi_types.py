"""Map POI types of Chinese map services (Amap/Gaode, Baidu) to facility categories.

A POI export from Amap carries a ``type`` text such as ``医疗保健服务;诊所;诊所`` and a
six-digit ``typecode`` (``090300``); Baidu exports carry a two-level tag such as
``医疗;诊所``. The bundled table ``layers/poi_types.yaml`` (documented at its top, each
entry marked ``verified`` or not) maps codes and type texts to category names; a user
catalogue extends it with a top-level ``poi_types`` mapping
(:attr:`lifecircle.layers.catalogue.Catalogue.poi_types`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from lifecircle._errors import CatalogueError

__all__ = ["BUNDLED_POI_TYPES", "PoiTypes", "classify_poi", "load_poi_types"]

log = logging.getLogger(__name__)

#: The bundled table of POI types.
BUNDLED_POI_TYPES: Path = Path(__file__).with_name("poi_types.yaml")


@dataclass(frozen=True)
class PoiTypes:
    """POI type codes and texts mapped to a category name (``None``: not a facility).

    Attributes
    ----------
    codes : Mapping of str to str or None
        Six-digit type codes.
    texts : Mapping of str to str or None
        Whole type texts or one of their levels.
    unverified : frozenset of str
        Codes and texts marked ``verified: false`` in the bundled table.
    """

    codes: Mapping[str, str | None]
    texts: Mapping[str, str | None]
    unverified: frozenset[str] = frozenset()


def _entries(raw: Any, what: str) -> tuple[dict[str, str | None], set[str]]:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{BUNDLED_POI_TYPES.name}: '{what}' must be a mapping, found {type(raw).__name__}.")
    out: dict[str, str | None] = {}
    unverified: set[str] = set()
    for key, value in raw.items():
        if not isinstance(value, dict) or "category" not in value:
            raise CatalogueError(f"{BUNDLED_POI_TYPES.name}: {what} {key!r} needs a 'category' (a name or null).")
        out[str(key)] = value["category"]
        if not value.get("verified", False):
            unverified.add(str(key))
    return out, unverified


@functools.lru_cache(maxsize=1)
def _bundled() -> PoiTypes:
    data = yaml.safe_load(BUNDLED_POI_TYPES.read_text(encoding="utf-8"))
    codes, u1 = _entries(data.get("codes", {}), "codes")
    texts, u2 = _entries(data.get("types", {}), "types")
    return PoiTypes(MappingProxyType(codes), MappingProxyType(texts), frozenset(u1 | u2))


def load_poi_types(extra: Mapping[str, str | None] | None = None) -> PoiTypes:
    """The bundled POI type table, with ``extra`` entries (code or text -> category) over it.

    A key of six digits is a type code, anything else a type text (whole or one level).

    Parameters
    ----------
    extra : mapping of str to str or None, optional
        Entries added over the bundled ones; a value of None says "not a facility".

    Returns
    -------
    PoiTypes
        The code and text tables (read-only).

    Examples
    --------
    >>> table = load_poi_types({"141200": "school"})
    >>> table.codes["141200"]
    'school'
    """
    base = _bundled()
    if not extra:
        return base
    codes, texts = dict(base.codes), dict(base.texts)
    for key, value in extra.items():
        k = str(key).strip()
        (codes if k.isdigit() and len(k) == 6 else texts)[k] = value
    return PoiTypes(MappingProxyType(codes), MappingProxyType(texts), base.unverified)


def _lookup(table: Mapping[str, str | None], key: str) -> tuple[bool, str | None]:
    if key and key in table:
        return True, table[key]
    return False, None


def classify_poi(type_texts: Sequence[Any], typecodes: Sequence[Any], table: PoiTypes) -> np.ndarray:
    """The category of each POI (``None`` where no entry says, or where it says "not a facility").

    The lookup order is documented in ``layers/poi_types.yaml``: code, whole text, last
    level, middle-class code, middle level. A multi-valued code (``090300|090100``)
    tries each value.

    Parameters
    ----------
    type_texts : sequence
        Amap/Baidu type texts (``医疗保健服务;诊所;诊所``), or empty to classify by code only.
    typecodes : sequence
        Six-digit type codes (text; ``|`` or ``,`` between several), or empty.
    table : PoiTypes
        From :func:`load_poi_types`.

    Returns
    -------
    numpy.ndarray
        object array of category names or None, one per POI.

    Examples
    --------
    >>> classify_poi(["医疗保健服务;诊所;诊所", "餐饮服务;中餐厅;火锅店"], [], load_poi_types()).tolist()
    ['clinic', None]
    """
    n = max(len(type_texts), len(typecodes))
    texts = list(type_texts) if len(type_texts) else [None] * n
    codes = list(typecodes) if len(typecodes) else [None] * n
    out = np.full(n, None, dtype=object)
    for i, (text, code) in enumerate(zip(texts, codes)):
        text_s = str(text).strip() if isinstance(text, str) else ""
        levels = [p.strip() for p in text_s.split(";") if p.strip()]
        code_values = [c.strip() for c in str(code).replace(",", "|").split("|")] if isinstance(code, str) else []
        code_values = [c.zfill(6) for c in code_values if c.isdigit()]
        steps = [(table.codes, c) for c in code_values]
        steps += [(table.texts, text_s)]
        steps += [(table.texts, levels[-1])] if levels else []
        steps += [(table.codes, c[:4] + "00") for c in code_values]
        steps += [(table.texts, levels[1])] if len(levels) > 2 else []
        for mapping, key in steps:
            found, category = _lookup(mapping, key)
            if found:
                out[i] = category
                break
    return out
