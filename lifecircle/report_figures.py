"""The report figures of a run (``--figures``): what each figure shows, handed to the drawing.

Per category ``figure_<category>.png`` and ``.pdf`` (A3 landscape map: walking-time bands,
unit outlines and names, facilities, suggested sites numbered 园1, 园2..., legend, scale bar,
north arrow, data sources and the category's data completeness), and ``figure_shares.png`` /
``.pdf`` (share of people within the threshold per unit and category). The drawing is in
:mod:`lifecircle.maps.figures`; files are written into the output set's staging folder
(:func:`lifecircle.outfolder.writing`), so they are replaced with the rest of the set.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecircle.i18n import figure_text, population_sentence, source_text
from lifecircle.maps.figures import category_figure, figure_font, figure_style, save_figure, share_chart
from lifecircle.outfolder import writing
from lifecircle.planning import site_labels
from lifecircle.schema import minutes_column, share_column

__all__ = ["FIGURE_PREFIX", "figure_names", "completeness_note", "check_figures", "write_figures"]

#: Figure files start with this (``figure_clinic.png``, ``figure_shares.pdf``).
FIGURE_PREFIX = "figure_"


def figure_names(categories: list[str]) -> list[str]:
    """The files :func:`write_figures` writes for these categories.

    Parameters
    ----------
    categories : list of str
        Category keys, in the order their maps are drawn.

    Returns
    -------
    list of str
        File names (no folder): a PNG and a PDF per category, then the share chart's two.

    Examples
    --------
    >>> figure_names(["clinic"])
    ['figure_clinic.png', 'figure_clinic.pdf', 'figure_shares.png', 'figure_shares.pdf']
    """
    stems = [f"{FIGURE_PREFIX}{c}" for c in categories] + [f"{FIGURE_PREFIX}shares"]
    return [f"{s}.{ext}" for s in stems for ext in ("png", "pdf")]


def completeness_note(summary: Mapping[str, Any], category: str, lang: str) -> str:
    """One line on how complete the category's data look (``summary.completeness``).

    Parameters
    ----------
    summary : Mapping[str, Any]
        The run summary as a dict; its ``completeness`` maps a category to ``per_10k``
        (facilities per 10,000 people), ``expected_per_10k`` and ``likely_incomplete``.
    category : str
        The category key.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The note drawn under the category's map; "not judged" when either rate is missing
        (``None``: no population data).

    Examples
    --------
    >>> facts = {"completeness": {"clinic": {"per_10k": 0.5, "expected_per_10k": 1, "likely_incomplete": True}}}
    >>> completeness_note(facts, "clinic", "en")  # doctest: +ELLIPSIS
    'Data completeness: 0.50 per 10,000 people (standard about 1): likely incomplete, ...'
    >>> completeness_note({}, "clinic", "en")
    'Data completeness: not judged (no population data)'
    """
    facts = (summary.get("completeness") or {}).get(category) or {}
    if facts.get("per_10k") is None or facts.get("expected_per_10k") is None:
        return figure_text("not_judged", lang)
    key = "incomplete" if facts.get("likely_incomplete") else "complete"
    return figure_text(key, lang, per_10k=f"{float(facts['per_10k']):.2f}",
                       expected=f"{float(facts['expected_per_10k']):g}")


def _label(category: str, lang: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    return str(labels.get(category, {}).get(lang, category))


def _sites_of(plan: Any, category: str, lang: str, catalogue: Any) -> Any:
    """The plan's suggested sites of the category with their ``label`` (园1, P1), or ``None``."""
    sites = getattr(plan, "sites", None) if plan is not None else None
    if sites is None or not len(sites):
        return None
    mine = sites[sites["category"] == category]
    if not len(mine):
        return None
    labels = (mine[f"label_{lang}"].tolist() if f"label_{lang}" in mine.columns
              else site_labels(mine, lang=lang, catalogue=catalogue))
    return mine.assign(label=labels)


def _own_thresholds(result: Any, category: str) -> list[tuple[str, float]] | None:
    """The category's own thresholds, ``(label, minutes)``, that band its figure; ``None`` when it has none."""
    gov = getattr(result, "governance", None)
    pairs = (getattr(gov, "thresholds", None) or {}).get(category) if gov is not None else None
    return [(str(n), float(m)) for n, m in pairs] if pairs else None


def check_figures(lang: str) -> None:
    """Before a run with ``--figures``: the font the figures need is installed (else MapAssetError).

    Parameters
    ----------
    lang : str
        The figures' language, ``"zh"`` (needs a CJK font) or ``"en"``.
    """
    figure_font(lang)


def write_figures(result: Any, stage: Path, *, lang: str, labels: Mapping[str, Mapping[str, str]],
                  plan: Any = None, categories: list[str] | None = None) -> list[Path]:
    """Draw and write every figure of a run into ``stage``; the paths written.

    ``plan`` is anything with a ``sites`` table (a :class:`lifecircle.planning.PlanResult`);
    ``categories`` limits the maps to these (default: the run's).

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
        The run: its cells (projected CRS, metres), communities, facilities, options,
        summary, categories and categories without data.
    stage : Path
        The output set's staging folder.
    lang : str
        ``"zh"`` or ``"en"``.
    labels : Mapping[str, Mapping[str, str]]
        Per category its label per language and its ``colour`` (hex; a default when missing).
    plan : PlanResult, optional
        Anything with a ``sites`` table; ``None`` draws no suggested sites.
    categories : list of str, optional
        The categories to map; ``None`` maps every category of the run.

    Returns
    -------
    list of Path
        The files written (in the staging folder), as :func:`figure_names` lists them.

    Raises
    ------
    MapAssetError
        Chinese figures and no CJK font on the system (the message names what to install).
    """
    font = figure_font(lang)
    summary = result.summary.as_dict()
    cells, units = result.cells, result.communities
    minutes = float(result.options.minutes)
    people = population_sentence(summary.get("population_facts") or {}, lang) or ""
    sources = figure_text("sources", lang, sources="; ".join(source_text(s, lang) for s in summary["data_sources"]))
    subtitle = figure_text("map_subtitle", lang, area=summary.get("study_area", ""), cell=float(summary["cell_size_m"]),
                           people="")
    access = (cells["access"] == "network").to_numpy()
    written: list[Path] = []
    categories = list(result.categories) if categories is None else list(categories)
    with figure_style(font):
        for category in categories:
            label = _label(category, lang, labels)
            title = figure_text("map_title", lang, category=label, minutes=minutes)
            facilities = result.facilities[result.facilities["category"] == category]
            fig = category_figure(
                cells=cells[["geometry"]], minutes=cells[minutes_column(category)].to_numpy(dtype=float),
                access=access, units=units[["name", "geometry"]], facilities=facilities,
                sites=_sites_of(plan, category, lang, result.model.catalogue), colour=labels.get(category, {}).get("colour", "#08519c"),
                lang=lang, title=title, subtitle=subtitle.strip(),
                notes=[people, completeness_note(summary, category, lang), sources, figure_text("made_with", lang)],
                no_data=category in result.no_data, cell_size=float(result.options.cell_size_m),
                bands=_own_thresholds(result, category))
            for ext in ("png", "pdf"):
                written.append(save_figure(fig, writing(stage / f"{FIGURE_PREFIX}{category}.{ext}"), title=title))
        measured = [c for c in categories if c not in result.no_data]
        shares = pd.DataFrame({_label(c, lang, labels): units[share_column(c)].to_numpy(dtype=float)
                               for c in measured}, index=units["name"].astype(str).to_numpy())
        colours = {_label(c, lang, labels): labels.get(c, {}).get("colour", "#777777") for c in measured}
        title = figure_text("share_title", lang, minutes=minutes)
        fig = share_chart(shares if len(measured) else shares.assign(**{"": np.nan}), colours=colours, lang=lang,
                          title=title, note=figure_text("share_note", lang, people=people) + "    " + sources,
                          target=float(result.options.coverage_target))
        for ext in ("png", "pdf"):
            written.append(save_figure(fig, writing(stage / f"{FIGURE_PREFIX}shares.{ext}"), title=title))
    return written
