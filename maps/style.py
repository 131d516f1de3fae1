"""Colours, minute bands and the Chinese/English labels of the map.

Everything a reader sees on the map that is not data lives here, so that the wording and
the colours can be reviewed in one place. Data text (names, user categories) is escaped
where it is drawn (:mod:`lifecircle.maps.build`), never here.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    "CATEGORY_LABELS",
    "CATEGORY_COLORS",
    "TEXT",
    "check_lang",
    "category_label",
    "category_color",
    "text",
]

#: Languages the map's labels exist in.
LANGS: tuple[str, ...] = ("zh", "en")


@dataclass(frozen=True)
class Band:
    """A travel-time band ``[low, high)`` minutes and its fill colour."""

    low: float
    high: float  # np.inf for the open last band
    color: str

    def label(self) -> str:
        """The band as text, e.g. ``"5–10"`` or ``"30+"``."""
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

#: Display names of the catalogue's categories; unknown categories show their raw name.
CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "clinic": {"zh": "医疗卫生", "en": "Clinic"},
    "hospital": {"zh": "医院", "en": "Hospital"},
    "school": {"zh": "学校", "en": "School"},
    "primary_school": {"zh": "小学", "en": "Primary school"},
    "middle_school": {"zh": "中学", "en": "Middle school"},
    "kindergarten": {"zh": "幼儿园", "en": "Kindergarten"},
    "park": {"zh": "公园绿地", "en": "Park"},
    "market": {"zh": "菜市场/超市", "en": "Market"},
    "elderly_care": {"zh": "养老服务", "en": "Elderly care"},
    "elderly": {"zh": "养老服务", "en": "Elderly care"},
    "pharmacy": {"zh": "药店", "en": "Pharmacy"},
    "sports": {"zh": "体育设施", "en": "Sports"},
    "community_centre": {"zh": "社区服务中心", "en": "Community centre"},
    "bus_stop": {"zh": "公交站", "en": "Bus stop"},
    # Requirement keys of the GB 50180 standard catalogue (lifecircle.layers.standards).
    "health_centre": {"zh": "社区卫生服务中心", "en": "Community health centre"},
    "health_station": {"zh": "社区卫生服务站", "en": "Community health station"},
}

#: Facility colours of the catalogue's categories (distinct hues, none of them the
#: travel-time greens or reds' exact values); other categories cycle through _PALETTE.
CATEGORY_COLORS: dict[str, str] = {
    "clinic": "#e6194b",
    "hospital": "#e6194b",
    "school": "#4363d8",
    "kindergarten": "#f58231",
    "park": "#2e8b57",
    "market": "#911eb4",
    "elderly_care": "#0fa3b1",
    "elderly": "#0fa3b1",
}
_PALETTE: tuple[str, ...] = ("#f032e6", "#9a6324", "#000075", "#808000", "#469990", "#800000", "#e6beff", "#ffd8b1")

#: Interface text, per language.
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "15分钟生活圈步行可达性",
        "category": "设施类型",
        "travel_time": "步行时间（分钟）",
        "travel_time_to": "步行至{cat}的时间（分钟）",
        "minutes": "分钟",
        "unreachable": "不可达",
        "no_access": "无步行通道",
        "no_data": "无数据",
        "likely_incomplete": "数据可能不全，覆盖率为下限",
        "no_data_note": "数据中没有该类设施：显示为“无数据”，不计为服务不足",
        "underserved": "服务不足的网格",
        "underserved_note": "{threshold}分钟内缺少至少一类设施",
        "isochrone": "{threshold}分钟等时圈：{cat}",
        "facilities": "设施：{cat}",
        "communities": "社区覆盖率",
        "coverage": "{threshold}分钟内可达{cat}的人口比例",
        "street_network": "步行路网",
        "legend": "图例",
        "summary": "概况",
        "study_area": "研究范围",
        "profile": "步行者",
        "threshold": "时间阈值",
        "population_source": "人口数据",
        "facility_count": "设施数",
        "people_served": "覆盖人口",
        "weight_served": "覆盖权重(非人口)",
        "share_served": "覆盖比例",
        "data_sources": "数据来源",
        "date": "日期",
        "community": "社区",
        "unit": "片区",
        "units": "片区覆盖率",
        "population": "人口",
        "has": "有",
        "lacks": "缺",
        "missing": "缺少",
        "none": "无",
        "median": "中位数",
        "p90": "90%分位",
        "share": "覆盖",
        "cell": "网格",
        "access_network": "可步行",
        "basemap_none": "无底图（离线）",
        "basemap": "底图",
        "steps": "台阶",
        "terrain_lost": "计入地形后失去覆盖的网格",
        "terrain_lost_note": "平地成人{threshold}分钟内可达，计入地形（坡度、台阶）后本次步行者不可达",
        "terrain_lost_cats": "计入地形后失去",
        "terrain_table": "地形的影响：{threshold}分钟内可达人口比例",
        "flat_adult": "平地·成人",
        "terrain_adult": "地形·成人",
        "terrain_elderly": "地形·老人",
        "terrain_wheelchair": "地形·轮椅",
        "cells_losing": "计入地形后失去覆盖的网格数",
        "terrain_indicative": "高程数据与道路不符（主干路坡度过大），老年人与轮椅结果仅供参考",
        "sites": "建议新增设施点",
        "site_title": "建议新增设施点 #{rank}",
        "marginal_gain": "新增覆盖人口",
        "cumulative_gain": "累计新增覆盖人口",
        "facility_isochrones": "各设施{threshold}分钟等时圈（当前类型）",
        "tiers": "生活圈标准",
        "tier_minutes": "{minutes}分钟生活圈",
        "pass": "达标",
        "fail": "未达标",
        "unknown": "未知",
        "not_assessed": "未评估",
        "insufficient_data": "数据不足",
        "tier_counts": "达标 {pass_} · 未达标 {fail} · 未知 {unknown} · 数据不足 {insufficient}",
    },
    "en": {
        "title": "15-minute life circle: walking access",
        "category": "Category",
        "travel_time": "Walking time (minutes)",
        "travel_time_to": "Walking time to {cat} (minutes)",
        "minutes": "min",
        "unreachable": "unreachable",
        "no_access": "no access",
        "no_data": "no data",
        "likely_incomplete": "likely incomplete data: coverage is a lower bound",
        "no_data_note": "no facility of this category in the data: shown as no data, not as under-served",
        "underserved": "Under-served cells",
        "underserved_note": "lacking at least one category within {threshold} min",
        "isochrone": "{threshold}-min isochrone: {cat}",
        "facilities": "Facilities: {cat}",
        "communities": "Community coverage",
        "coverage": "Share of people within {threshold} min of {cat}",
        "street_network": "Walking network",
        "legend": "Legend",
        "summary": "Summary",
        "study_area": "Study area",
        "profile": "Walker",
        "threshold": "Threshold",
        "population_source": "Population",
        "facility_count": "Facilities",
        "people_served": "People served",
        "weight_served": "Weight served (not people)",
        "share_served": "Share served",
        "data_sources": "Data sources",
        "date": "Date",
        "community": "Community",
        "unit": "Neighbourhood unit",
        "units": "Neighbourhood-unit coverage",
        "population": "People",
        "has": "Has",
        "lacks": "Lacks",
        "missing": "Missing",
        "none": "none",
        "median": "median",
        "p90": "90th pct",
        "share": "share",
        "cell": "Cell",
        "access_network": "on network",
        "basemap_none": "No basemap (offline)",
        "basemap": "Basemap",
        "steps": "steps",
        "terrain_lost": "Cells that lose coverage when terrain is counted",
        "terrain_lost_note": "within {threshold} min for a flat adult, not for this walker on the terrain (slopes, stairs)",
        "terrain_lost_cats": "Lost to terrain",
        "terrain_table": "Terrain: share of people within {threshold} min",
        "flat_adult": "flat adult",
        "terrain_adult": "terrain adult",
        "terrain_elderly": "terrain elderly",
        "terrain_wheelchair": "terrain wheelchair",
        "cells_losing": "Cells losing coverage to terrain",
        "terrain_indicative": "The DEM does not fit the streets (primary roads too steep): elderly and wheelchair shares are indicative",
        "sites": "Suggested sites",
        "site_title": "Suggested site #{rank}",
        "marginal_gain": "People newly served",
        "cumulative_gain": "Newly served, cumulative",
        "facility_isochrones": "{threshold}-min isochrone per facility (selected category)",
        "tiers": "Life-circle standard",
        "tier_minutes": "{minutes}-min life circle",
        "pass": "pass",
        "fail": "fail",
        "unknown": "unknown",
        "not_assessed": "not assessed",
        "insufficient_data": "insufficient data",
        "tier_counts": "pass {pass_} · fail {fail} · unknown {unknown} · insufficient data {insufficient}",
    },
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if the map has labels in it, else raise :class:`OptionError`."""
    if lang not in LANGS:
        raise OptionError(f"lang must be one of {', '.join(LANGS)}; found {lang!r}.")
    return lang


def category_label(category: str, lang: str) -> str:
    """Display name of a category (unescaped); the raw name when the category is unknown."""
    return CATEGORY_LABELS.get(category, {}).get(lang, category)


def category_color(category: str, categories: list[str] | tuple[str, ...]) -> str:
    """Facility colour of a category, stable for a given category list."""
    if category in CATEGORY_COLORS:
        return CATEGORY_COLORS[category]
    others = [c for c in categories if c not in CATEGORY_COLORS]
    position = others.index(category) if category in others else 0
    return _PALETTE[position % len(_PALETTE)]


def text(key: str, lang: str, **fields: object) -> str:
    """Interface text ``key`` in ``lang`` with ``{fields}`` filled in (unescaped)."""
    return TEXT[lang][key].format(**fields)
