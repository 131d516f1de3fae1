"""Colours, minute bands and the Chinese/English labels of the map.

The colours a reader sees on the map that are not data live here, so that they can be
reviewed in one place; the wording lives with every other translated string in
:mod:`lifecircle.i18n`, the categories' labels and colours in the facility catalogue
(passed in by the caller). Data text (names, user categories) is escaped
where it is drawn (:mod:`lifecircle.maps.build`), never here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lifecircle import i18n
from lifecircle._errors import OptionError

__all__ = [
    "LANGS",
    "Band",
    "MINUTE_BANDS",
    "UNREACHABLE_COLOR",
    "NO_ACCESS_COLOR",
    "NO_DATA_COLOR",
    "UNDERSERVED_COLOR",
    "TERRAIN_LOST_COLOR",
    "TIER_STATUS_COLORS",
    "COVERAGE_BINS",
    "TEXT",
    "check_lang",
    "category_label",
    "category_color",
    "text",
]

#: Languages the map's labels exist in.
LANGS: tuple[str, ...] = i18n.LANGS


@dataclass(frozen=True)
class Band:
    """A travel-time band ``[low, high)`` minutes and its fill colour."""

    low: float
    high: float  # np.inf for the open last band
    color: str

    def label(self) -> str:
        """The band as text.

        Returns
        -------
        str
            E.g. ``"5–10"`` or ``"30+"``.
        """
        if self.high == float("inf"):
            return f"{self.low:g}+"
        return f"{self.low:g}–{self.high:g}"


#: Minute bands of the travel-time layer: green within the 15-minute life circle, warm
#: beyond it (ColorBrewer RdYlGn, reversed, colour-blind safe at these six steps).
MINUTE_BANDS: tuple[Band, ...] = (
    Band(0, 5, "#1a9850"),
    Band(5, 10, "#66bd63"),
    Band(10, 15, "#d9ef8b"),
    Band(15, 20, "#fee08b"),
    Band(20, 30, "#fc8d59"),
    Band(30, float("inf"), "#d73027"),
)
#: Cells on the network from which no facility of the category can be reached.
UNREACHABLE_COLOR = "#6a3d9a"
#: Cells too far from any walkable way (river, cliff, rail yard): not under-served, no access.
NO_ACCESS_COLOR = "#bdbdbd"
#: A category with no facility in the data at all.
NO_DATA_COLOR = "#8c8c8c"
#: Outline of under-served cells.
UNDERSERVED_COLOR = "#b2182b"
#: Hatching and dashed outline of cells that lose coverage when terrain is counted (a dark
#: brown: earth, and apart from the travel-time bands and the under-served red).
TERRAIN_LOST_COLOR = "#543005"
#: Pass/fail/unknown of a community against a life-circle tier.
TIER_STATUS_COLORS: dict[str, str] = {"pass": "#1a7837", "fail": "#b2182b", "unknown": "#777777",
                                      "insufficient_data": "#8c6bb1"}

#: Community coverage (share of people within the threshold) bins: (lower bound, colour).
COVERAGE_BINS: tuple[tuple[float, str], ...] = (
    (0.0, "#d7191c"),
    (0.5, "#fdae61"),
    (0.8, "#a6d96a"),
    (0.95, "#1a9641"),
)

#: Facility colours for categories the caller gives no colour for (the catalogue gives
#: every category one: ``colour`` in ``layers/categories.yaml``); cycled in order.
_PALETTE: tuple[str, ...] = ("#f032e6", "#9a6324", "#000075", "#808000", "#469990", "#800000", "#e6beff", "#ffd8b1")

#: Interface text of the map, per language (kept in :mod:`lifecircle.i18n`).
TEXT: dict[str, dict[str, str]] = i18n.MAP_TEXT


def check_lang(lang: str) -> str:
    """Return ``lang`` if the map has labels in it.

    Parameters
    ----------
    lang : str
        A language code.

    Returns
    -------
    str
        ``lang``.

    Raises
    ------
    OptionError
        The map has no labels in ``lang``.

    Examples
    --------
    >>> check_lang("zh")
    'zh'
    """
    if lang not in LANGS:
        raise OptionError(f"lang must be one of {', '.join(LANGS)}; found {lang!r}.")
    return lang


def category_label(category: str, lang: str, labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Display name of a category (unescaped), the raw name when it has none.

    Parameters
    ----------
    category : str
        The category's name.
    lang : {"zh", "en"}
        The language.
    labels : mapping, optional
        ``{name: {"zh": ..., "en": ...}}``, the catalogue's labels.

    Returns
    -------
    str
        The label; escaping for HTML is the caller's job.

    Examples
    --------
    >>> category_label("clinic", "zh", {"clinic": {"zh": "诊所/医疗", "en": "Clinic"}}), category_label("zoo", "zh")
    ('诊所/医疗', 'zoo')
    """
    return str((labels or {}).get(category, {}).get(lang, category))


def category_color(
    category: str, categories: Sequence[str], labels: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """Facility colour of a category.

    Its ``"colour"`` in ``labels`` (the catalogue's), else one of a palette, stable for a
    given category list.

    Parameters
    ----------
    category : str
        The category's name.
    categories : sequence of str
        The run's categories (the palette is dealt out in this order to those without a colour).
    labels : mapping, optional
        ``{name: {"colour": "#rrggbb", ...}}``, the catalogue's labels.

    Returns
    -------
    str
        A CSS colour.

    Examples
    --------
    >>> labels = {"clinic": {"colour": "#e41a1c"}}
    >>> category_color("clinic", ["clinic", "zoo"], labels), category_color("zoo", ["clinic", "zoo"], labels)
    ('#e41a1c', '#f032e6')
    """
    given = (labels or {}).get(category, {}).get("colour")
    if given:
        return str(given)
    others = [c for c in categories if not (labels or {}).get(c, {}).get("colour")]
    position = others.index(category) if category in others else 0
    return _PALETTE[position % len(_PALETTE)]


def text(key: str, lang: str, **fields: object) -> str:
    """Interface text ``key`` in ``lang`` with ``{fields}`` filled in (unescaped).

    Parameters
    ----------
    key : str
        A key of :data:`lifecircle.i18n.MAP_TEXT`.
    lang : {"zh", "en"}
        The language.
    **fields
        Values for the text's ``{placeholders}``.

    Returns
    -------
    str
        The text; escaping for HTML is the caller's job.

    Examples
    --------
    >>> text("minutes", "zh")
    '分钟'
    """
    return i18n.text(key, lang, **fields)
