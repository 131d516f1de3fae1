"""Every translated string of lifecircle, in Chinese and English: the one place to review them.

The map's interface (:data:`MAP_TEXT`), the gap lists' column headers
(:data:`GAP_HEADERS`, :data:`WEIGHT_HEADERS`, :data:`PLANNING_HEADERS`), the spreadsheet's
sheet names, the walking profiles' names and the sentences of a run's summary
(:func:`summary_text`) live here; the map (:mod:`lifecircle.maps`) and the writers
(:mod:`lifecircle.outputs`, :mod:`lifecircle.planning`) look them up. Category labels are
data and come from the facility catalogue (``layers/categories.yaml``), standard
requirement names from the standard's YAML file.

The module depends only on :mod:`lifecircle.schema`, so that every layer of the package
may import it. Text from data (names, user categories) filled into these strings is
escaped where it is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lifecircle.schema import MINUTES_PREFIX

__all__ = [
    "LANGS",
    "BATCH_TEXT",
    "MAP_TEXT",
    "GAP_HEADERS",
    "WEIGHT_HEADERS",
    "PLANNING_HEADERS",
    "SHEET_NAMES",
    "ABOUT_TEXT",
    "INDICATIVE_TEXT",
    "UNIT_HEADERS",
    "GAP_AREA_HEADERS",
    "PROFILE_NAMES",
    "SUMMARY_TEXT",
    "CHANGE_TEXT",
    "text",
    "list_separator",
    "profile_label",
    "summary_text",
    "population_sentence",
    "source_text",
    "LEVEL_HEADERS",
    "INDICATOR_HEADERS",
    "LEVEL_TEXT",
    "level_label",
    "threshold_text",
    "FIGURE_TEXT",
    "figure_text",
]

#: Languages lifecircle's reports exist in.
LANGS: tuple[str, ...] = ("zh", "en")

#: Interface text of the map, per language.
MAP_TEXT: dict[str, dict[str, str]] = {
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


#: Column headers of the gap lists per language (``{}``: the category's label).
GAP_HEADERS: dict[str, dict[str, str]] = {
    "en": {"rank": "rank", "cell_id": "cell_id", "community": "community", "people": "people",
           "missing": "missing", "n_missing": "n_missing", "lon": "lon", "lat": "lat", "minutes": MINUTES_PREFIX + "{}",
           "population": "people", "lacks": "lacks", "has": "has", "share": "share_within_{}",
           "underserved_people": "people_underserved", "underserved_cells": "cells_underserved",
           "name": "community"},
    "zh": {"rank": "排名", "cell_id": "网格编号", "community": "社区", "people": "人口",
           "missing": "缺少的设施", "n_missing": "缺少类别数", "lon": "经度", "lat": "纬度", "minutes": "到{}步行分钟",
           "population": "人口", "lacks": "缺什么", "has": "有什么", "share": "{}覆盖率",
           "underserved_people": "服务不足人口", "underserved_cells": "服务不足网格数",
           "name": "社区"},
}

#: Headers naming derived neighbourhood units (片区), which are not 社区 (residents' committees).
UNIT_HEADERS: dict[str, dict[str, str]] = {
    "en": {"community": "neighbourhood_unit", "name": "neighbourhood_unit", "sites_in": "suggested_sites_in_unit"},
    "zh": {"community": "片区", "name": "片区", "sites_in": "片区内建议新址"},
}

#: Headers of the gap-area list per language.
GAP_AREA_HEADERS: dict[str, dict[str, str]] = {
    "en": {"rank": "rank", "area_id": "area_id", "people": "people", "cells": "cells", "area_ha": "area_ha",
           "n_communities": "communities_touched",
           "missing": "missing", "nearest_site": "nearest_suggested_site", "nearest_site_m": "nearest_suggested_site_m",
           "lon": "lon", "lat": "lat"},
    "zh": {"rank": "排名", "area_id": "片块编号", "people": "人口", "cells": "网格数", "area_ha": "面积(公顷)",
           "n_communities": "涉及社区/片区数",
           "missing": "缺少的设施", "nearest_site": "最近建议新址", "nearest_site_m": "距建议新址(米)",
           "lon": "经度", "lat": "纬度"},
}

#: Header of the people columns when no population was given (the weights are not people).
WEIGHT_HEADERS: dict[str, dict[str, str]] = {
    "floor_area": {"en": "weight (residential floor area m², not people)", "zh": "权重(住宅建筑面积m²,非人口)"},
    "equal": {"en": "weight (1 per cell, not people)", "zh": "权重(每网格1,非人口)"},
}

_PLANNING_EXTRA: dict[str, dict[str, str]] = {
    "en": {"tier_failures": "tier_failures", "site": "suggested_site", "site_m": "suggested_site_m",
           "served_by_site": "served_by_site", "sites_in": "suggested_sites_in_community",
           "people_served_by_sites": "people_served_by_sites", "failed_tiers": "failed_tiers"},
    "zh": {"tier_failures": "未达标要求", "site": "最近建议新址", "site_m": "距建议新址(米)",
           "served_by_site": "可由建议新址服务", "sites_in": "社区内建议新址",
           "people_served_by_sites": "建议新址新增服务人口", "failed_tiers": "未达标生活圈"},
}

#: Headers of the planning lists per language: those of :data:`GAP_HEADERS` plus the
#: columns planning adds (tiers failed, suggested sites).
PLANNING_HEADERS: dict[str, dict[str, str]] = {lang: {**GAP_HEADERS[lang], **_PLANNING_EXTRA[lang]} for lang in GAP_HEADERS}

#: Sheet names of ``gaps.xlsx``.
SHEET_NAMES: dict[str, dict[str, str]] = {
    "en": {"cells": "cells", "communities": "communities", "units": "neighbourhood units", "gap_areas": "gap areas",
           "about": "about"},
    "zh": {"cells": "网格", "communities": "社区", "units": "片区", "gap_areas": "服务不足片块", "about": "说明"},
}

#: Display names of the bundled walking profiles (``layers/profiles.yaml``); a user's own
#: profile shows its name.
PROFILE_NAMES: dict[str, dict[str, str]] = {
    "adult": {"zh": "成人", "en": "adult"},
    "elderly": {"zh": "老年人", "en": "elderly"},
    "wheelchair": {"zh": "轮椅使用者", "en": "wheelchair"},
}

#: The "about" sheet of the gap spreadsheet: what the numbers are.
ABOUT_TEXT: dict[str, dict[str, str]] = {
    "en": {"item": "item", "value": "value", "population": "population", "people_in_area": "people in the study area",
           "control_total": "control total", "none": "none", "communities": "communities",
           "unassigned": "people outside every community", "gap_lists": "gap lists",
           "gap_lists_note": "cells and areas without people are left out (see results.gpkg)"},
    "zh": {"item": "项目", "value": "内容", "population": "人口数据", "people_in_area": "研究范围内人口",
           "control_total": "控制总数", "none": "none", "communities": "社区/片区",
           "unassigned": "未归属社区的人口", "gap_lists": "服务不足清单",
           "gap_lists_note": "不含无人口的网格与片块（见 results.gpkg）"},
}

#: Sentences of a run's summary (study area, population source, OSM date, sources).
SUMMARY_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "area_within": "{source}中{boundary}范围内",
        "osm_date": "OSM数据日期：{date}",
        "osm_date_unknown": "文件未记录OSM数据日期",
        "population_file": "人口来自{file}（{kind}，文件共{total}人）",
        "kind_points": "点",
        "kind_polygons": "面",
        "kind_raster": "栅格",
        "population_floor_area": (
            "未提供人口数据：按OpenStreetMap建筑的住宅建筑面积（占地面积×层数，未标注层数按{levels}层计；"
            "{homes}/{cells}个网格有住宅）加权。权重为相对值，不是人数。"
        ),
        "population_equal": "未提供人口数据，也没有住宅建筑：每个网格权重相同，比例为网格比例，不是人口比例。",
        "user_data": "{name}（用户数据）",
        "unnamed": "未命名",
    },
    "en": {
        "area_within": "{boundary} within {source}",
        "osm_date": "OSM data of {date}",
        "osm_date_unknown": "OSM data date not recorded in the file",
        "population_file": "population from {file} ({kind}, {total} people in the file)",
        "kind_points": "points",
        "kind_polygons": "polygons",
        "kind_raster": "raster",
        "population_floor_area": (
            "No population input: cells are weighted by residential floor area from OpenStreetMap "
            "buildings (footprint x building:levels, {levels} storeys where untagged; {homes} of "
            "{cells} cells have homes). Weights are relative, not counts of people."
        ),
        "population_equal": (
            "No population input and no residential buildings: every cell has the same weight; "
            "shares are shares of cells, not of people."
        ),
        "user_data": "{name} (user data)",
        "unnamed": "unnamed",
    },
}


def text(key: str, lang: str, **fields: object) -> str:
    """Map interface text ``key`` in ``lang`` with ``{fields}`` filled in (unescaped).

    Parameters
    ----------
    key : str
        A key of :data:`MAP_TEXT`.
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
    >>> text("title", "en")
    '15-minute life circle: walking access'
    """
    return MAP_TEXT[lang][key].format(**fields)


def list_separator(lang: str) -> str:
    """Separator between the items of a list in running text.

    Parameters
    ----------
    lang : {"zh", "en"}
        The language.

    Returns
    -------
    str
        ``"、"`` in Chinese, ``", "`` in English.

    Examples
    --------
    >>> list_separator("zh").join(["诊所", "学校"])
    '诊所、学校'
    """
    return "、" if lang == "zh" else ", "


def profile_label(name: str, lang: str) -> str:
    """Display name of a walking profile; a user's profile keeps its own name.

    Parameters
    ----------
    name : str
        The profile's name in the catalogue.
    lang : {"zh", "en"}
        The language.

    Returns
    -------
    str
        The name to show.

    Examples
    --------
    >>> profile_label("elderly", "zh"), profile_label("my_profile", "zh")
    ('老年人', 'my_profile')
    """
    return PROFILE_NAMES.get(name, {}).get(lang, name)


def summary_text(key: str, lang: str, **fields: object) -> str:
    """A summary sentence ``key`` in ``lang`` with ``{fields}`` filled in (unescaped).

    Parameters
    ----------
    key : str
        A key of :data:`SUMMARY_TEXT`.
    lang : {"zh", "en"}
        The language.
    **fields
        Values for the sentence's ``{placeholders}``.

    Returns
    -------
    str
        The sentence.

    Examples
    --------
    >>> summary_text("osm_date", "zh", date="2024-01-01")
    'OSM数据日期：2024-01-01'
    """
    return SUMMARY_TEXT[lang][key].format(**fields)


def population_sentence(facts: Mapping[str, Any], lang: str) -> str | None:
    """Where a run's people come from, from the summary's ``population`` facts.

    Parameters
    ----------
    facts : mapping
        ``method`` (``"file"``, ``"floor_area"`` or ``"equal"``) and for a file ``file``,
        ``kind`` and ``total``; for floor area ``default_levels``, ``cells_with_homes`` and
        ``cells``.
    lang : {"zh", "en"}
        The language.

    Returns
    -------
    str or None
        The sentence; ``None`` when the method is unknown.

    Examples
    --------
    >>> population_sentence({"method": "equal"}, "en")
    'No population input and no residential buildings: every cell has the same weight; shares are shares of cells, not of people.'
    """
    method = facts.get("method")
    if method == "file":
        kind = str(facts.get("kind", ""))
        kind_text = SUMMARY_TEXT[lang].get(f"kind_{kind}", kind)
        return summary_text("population_file", lang, file=facts.get("file", ""), kind=kind_text,
                            total=f"{float(facts.get('total') or 0):,.0f}")
    if method == "floor_area":
        return summary_text("population_floor_area", lang, levels=f"{float(facts.get('default_levels') or 0):g}",
                            homes=facts.get("cells_with_homes", ""), cells=facts.get("cells", ""))
    if method == "equal":
        return summary_text("population_equal", lang)
    return None


def source_text(source: str, lang: str) -> str:
    """A data-source line of the summary (written in English) in ``lang``.

    A user's file (``"<name> (user data)"``) is said in ``lang``; other lines are proper
    names and stay as they are.

    Parameters
    ----------
    source : str
        One line of the summary's data sources.
    lang : {"zh", "en"}
        The language.

    Returns
    -------
    str
        The line to show.

    Examples
    --------
    >>> source_text("clinics.csv (user data)", "en"), source_text("OpenStreetMap", "zh")
    ('clinics.csv (user data)', 'OpenStreetMap')
    """
    suffix = SUMMARY_TEXT["en"]["user_data"].format(name="")
    if source.endswith(suffix):
        return summary_text("user_data", lang, name=source[: -len(suffix)])
    return source


#: The gap lists' mark when the terrain results are indicative (the DEM failed the
#: plausibility check): a column naming the walkers concerned, and the about sheet's row
#: (its sentence is the map's ``terrain_indicative``).
INDICATIVE_TEXT: dict[str, dict[str, str]] = {
    "en": {"header": "terrain_indicative", "about": "terrain (DEM)"},
    "zh": {"header": "地形结果仅供参考", "about": "地形（高程数据）"},
}


# --------------------------------------------------------------------------- governance levels, thresholds, indicators

#: Headers of the per-level unit lists (``units_<level>.csv`` and their sheets); ``{level}`` is
#: the level's label, ``{}`` a category's label, ``{t}`` a threshold (``5min``, ``300m``).
LEVEL_HEADERS: dict[str, dict[str, str]] = {
    "en": {"rank": "rank", "code": "{level}_code", "name": "{level}", "parent_code": "parent_code",
           "population": "people", "underserved_people": "people_in_gap_areas",
           "underserved_cells": "cells_underserved", "has": "has", "lacks": "lacks",
           "share": "share_within_{}", "share_at": "share_within_{}_{t}", "median": "median_minutes_{}",
           "p90": "p90_minutes_{}", "reach": "{}_reached_within", "beyond": "beyond {t}",
           "failed_tiers": "failed_tiers", "units_failing": "{child}_failing_{tier}"},
    "zh": {"rank": "排名", "code": "{level}代码", "name": "{level}", "parent_code": "上级代码",
           "population": "人口", "underserved_people": "服务不足片块人口",
           "underserved_cells": "服务不足网格数", "has": "有什么", "lacks": "缺什么",
           "share": "{}覆盖率", "share_at": "{}覆盖率（{t}）", "median": "到{}中位分钟",
           "p90": "到{}第90百分位分钟", "reach": "{}可达档位", "beyond": "超过{t}",
           "failed_tiers": "未达标生活圈", "units_failing": "未达{tier}的{child}数"},
}

#: Headers and words of the official indicator sheet.
INDICATOR_HEADERS: dict[str, dict[str, str]] = {
    "en": {"sheet": "indicators", "name": "indicator", "basis": "basis", "threshold": "threshold",
           "threshold_minutes": "threshold_minutes", "measured": "categories_measured", "value": "value",
           "target": "target", "meets_target": "meets_target", "completeness": "data_completeness",
           "source": "source", "clause": "clause", "verified": "verified", "note": "note",
           "people": "share of residents", "residential_land": "share of residential land",
           "yes": "yes", "no": "no"},
    "zh": {"sheet": "指标", "name": "指标", "basis": "统计口径", "threshold": "阈值", "threshold_minutes": "阈值（分钟）",
           "measured": "计算所用设施", "value": "数值", "target": "目标值", "meets_target": "是否达标",
           "completeness": "数据完整性", "source": "来源", "clause": "条款", "verified": "已核实", "note": "备注",
           "people": "居民人口比例", "residential_land": "居住用地比例", "yes": "是", "no": "否"},
}

#: Level names of the hierarchy (a ``--units`` level key's default label) and the map's words.
LEVEL_TEXT: dict[str, dict[str, str]] = {
    "en": {"unit": "neighbourhood unit", "community": "community", "street": "street", "district": "district",
           "grid": "grid", "level": "level", "indicators": "Indicators", "thresholds": "Thresholds",
           "not_assessed": "not assessed"},
    "zh": {"unit": "片区", "community": "社区", "street": "街道", "district": "区县", "grid": "网格",
           "level": "层级", "indicators": "指标", "thresholds": "阈值", "not_assessed": "未评估"},
}


def level_label(key: str, label: str, lang: str) -> str:
    """How tables and the map name a level: the user's label, else the known key's word.

    Parameters
    ----------
    key : str
        The level's key (``street``, ``community`` ...), as in its columns and file names.
    label : str
        The label given with ``--units`` (``label=...``); empty, or equal to ``key``, when
        none was given.
    lang : {"zh", "en"}
        The language of the outputs.

    Returns
    -------
    str
        ``label`` when one was given; else the word :data:`LEVEL_TEXT` knows for ``key`` in
        ``lang`` (``街道``, ``Street``); else ``key`` itself.
    """
    if label and label != key:
        return label
    return LEVEL_TEXT[lang].get(key, key)


def threshold_text(label: str, lang: str) -> str:
    """A threshold's label (``5min``, ``300m``, ``300 m``) as the language writes it (``5分钟``, ``300米``).

    Parameters
    ----------
    label : str
        A threshold as labelled in the columns (:attr:`lifecircle.layers.thresholds.Threshold.label`)
        or as the indicator table states it (``"300 m"``).
    lang : {"zh", "en"}
        The language of the outputs.

    Returns
    -------
    str
        In Chinese the unit written as a word (``分钟``, ``米``); in English, and for a label
        without a known unit, ``label`` unchanged.
    """
    text = str(label)
    if lang != "zh":
        return text
    for suffix, word in (("min", "分钟"), ("m", "米")):
        if text.endswith(suffix):
            return text[: -len(suffix)].strip() + word
    return text


# --------------------------------------------------------------------------- report figures and site labels

#: Words of the print-ready figures (``--figures``) and of suggested sites.
FIGURE_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "map_title": "{category}：步行{minutes:g}分钟可达性",
        "map_subtitle": "{area}　每格{cell:g}米　{people}",
        "legend_minutes": "步行时间（分钟）",
        "unreachable": "不可达",
        "no_access": "无步行通道",
        "no_data": "无数据：数据中没有该类设施",
        "facilities": "现有设施",
        "sites": "建议新址",
        "units": "单元边界",
        "north": "北",
        "sources": "数据来源：{sources}",
        "complete": "数据完整性：每万人{per_10k}处（标准约{expected}处），未见明显缺漏",
        "incomplete": "数据完整性：每万人{per_10k}处（标准约{expected}处），数据可能不全，覆盖率为下限",
        "not_judged": "数据完整性：无人口数据，未评估",
        "share_title": "各单元{minutes:g}分钟步行可达人口比例",
        "share_axis": "可达人口比例",
        "share_note": "{people}",
        "made_with": "lifecircle 生成",
        "no_cjk_font": ("中文图件需要中文字体，系统中未找到（已查找 WenQuanYi、Noto CJK、Source Han、SimHei 等）："
                        "请安装 fonts-wqy-microhei 或 fonts-noto-cjk，或改用 --lang en。"),
    },
    "en": {
        "map_title": "{category}: walking access within {minutes:g} minutes",
        "map_subtitle": "{area}   {cell:g} m cells   {people}",
        "legend_minutes": "Walking time (minutes)",
        "unreachable": "Unreachable",
        "no_access": "No walking access",
        "no_data": "No data: the data hold no facility of this category",
        "facilities": "Existing facilities",
        "sites": "Suggested sites",
        "units": "Unit outlines",
        "north": "N",
        "sources": "Data sources: {sources}",
        "complete": "Data completeness: {per_10k} per 10,000 people (standard about {expected}); no sign of gaps",
        "incomplete": ("Data completeness: {per_10k} per 10,000 people (standard about {expected}): likely "
                       "incomplete, coverage is a lower bound"),
        "not_judged": "Data completeness: not judged (no population data)",
        "share_title": "Share of people within a {minutes:g}-minute walk, per unit",
        "share_axis": "Share of people",
        "share_note": "{people}",
        "made_with": "made with lifecircle",
        "no_cjk_font": ("Chinese figures need a CJK font and none was found on this system (looked for WenQuanYi, "
                        "Noto CJK, Source Han, SimHei...): install fonts-wqy-microhei or fonts-noto-cjk, or use "
                        "--lang en."),
    },
}


def figure_text(key: str, lang: str, **fields: object) -> str:
    """Figure text ``key`` in ``lang`` with ``{fields}`` filled in (unescaped; drawn as text).

    Parameters
    ----------
    key : str
        A key of :data:`FIGURE_TEXT` (``"map_title"``, ``"sources"``...).
    lang : str
        ``"zh"`` or ``"en"``.
    **fields : object
        The values of the text's ``{placeholders}`` (e.g. ``category``, ``minutes`` in minutes).

    Returns
    -------
    str
        The text to draw; data in ``fields`` is inserted as is (figures draw text, never markup).

    Examples
    --------
    >>> figure_text("map_title", "en", category="Clinic", minutes=15.0)
    'Clinic: walking access within 15 minutes'
    """
    return FIGURE_TEXT[lang][key].format(**fields)

# --------------------------------------------------------------------------- plans and scenarios
#: Headers of the community change table (``change_communities.csv``, the change sheet), and
#: the change map's words.
CHANGE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "sheet": "change", "community": "community", "category": "category", "people_before": "people before",
        "people_after": "people after", "share_before": "share within before", "share_after": "share within after",
        "change_share": "change in share", "people_newly_within": "people newly within",
        "people_no_longer_within": "people no longer within", "cells_gained": "cells gained",
        "cells_lost": "cells lost", "mean_change_minutes": "mean change (min)", "newly_within": "newly within",
        "total": "(whole area)", "title": "What the plan changes", "gained": "newly within the threshold",
        "lost": "no longer within the threshold", "faster": "faster, status unchanged",
        "link": "new link", "closed": "closed way", "added": "new facility", "removed": "removed facility",
        "housing": "new housing", "minutes": "minutes", "before": "before", "after": "after",
        "people": "people", "threshold": "threshold",
    },
    "zh": {
        "sheet": "方案变化", "community": "社区", "category": "设施类别", "people_before": "方案前人口",
        "people_after": "方案后人口", "share_before": "方案前覆盖率", "share_after": "方案后覆盖率",
        "change_share": "覆盖率变化", "people_newly_within": "新增覆盖人口", "people_no_longer_within": "失去覆盖人口",
        "cells_gained": "新增覆盖网格", "cells_lost": "失去覆盖网格", "mean_change_minutes": "平均时间变化（分钟）",
        "newly_within": "新增覆盖", "total": "（全区）", "title": "方案带来的变化", "gained": "新进入步行阈值",
        "lost": "不再处于步行阈值内", "faster": "时间缩短，覆盖状态不变", "link": "新建连接",
        "closed": "封闭道路", "added": "新增设施", "removed": "撤除设施", "housing": "新增住宅",
        "minutes": "分钟", "before": "方案前", "after": "方案后", "people": "人口", "threshold": "阈值",
    },
}


# --------------------------------------------------------------------------- many districts (batch)

#: The merged lists and the index map of ``lifecircle batch``: the area columns and the index's words.
BATCH_TEXT: dict[str, dict[str, str]] = {
    "en": {"area": "area", "area_code": "area code", "title": "Walking access by area",
           "status": "status", "done": "done", "failed": "failed", "cells": "cells", "people": "people",
           "underserved_cells": "under-served cells", "share": "within {minutes:g} min: {category}",
           "open_map": "open the map", "attempts": "attempts", "error": "error",
           "summary": "{done} of {total} areas done, {failed} failed.", "weight": "weight (not people)"},
    "zh": {"area": "区域", "area_code": "区域代码", "title": "各区域步行可达性",
           "status": "状态", "done": "完成", "failed": "失败", "cells": "网格数", "people": "人口",
           "underserved_cells": "服务不足网格", "share": "{minutes:g}分钟内：{category}",
           "open_map": "打开地图", "attempts": "尝试次数", "error": "错误",
           "summary": "共{total}个区域：完成{done}个，失败{failed}个。", "weight": "权重（非人口）"},
}
