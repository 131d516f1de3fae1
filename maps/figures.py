"""Print-ready figures for reports (一张图): a static map per category and a chart of shares.

Drawn offline with matplotlib (no pyplot state: each figure is its own ``Figure``), on A3
landscape (420 × 297 mm). Drawing only: the caller hands over the cells with their minutes,
the units, the facilities and every word (from :mod:`lifecircle.i18n`); nothing is computed
here beyond placing things on the page. Chinese text needs a CJK font found on the system
(:func:`find_cjk_font`); none found stops with a message naming the fonts to install.

Files are deterministic where matplotlib allows: PNG carries no date, the PDF's creation and
modification dates are left out and its fonts are embedded as TrueType subsets.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import MapAssetError
from lifecircle.i18n import figure_text
from lifecircle.maps.style import MINUTE_BANDS, NO_ACCESS_COLOR, NO_DATA_COLOR, UNREACHABLE_COLOR, check_lang

__all__ = [
    "A3_LANDSCAPE_INCHES",
    "CJK_FONT_NAMES",
    "find_cjk_font",
    "figure_font",
    "figure_style",
    "category_figure",
    "share_chart",
    "save_figure",
]

#: A3 landscape, 420 × 297 mm, in inches.
A3_LANDSCAPE_INCHES: tuple[float, float] = (420 / 25.4, 297 / 25.4)
#: Font families with Chinese glyphs, in order of preference.
CJK_FONT_NAMES: tuple[str, ...] = (
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
    "Source Han Sans CN", "Noto Serif CJK SC", "SimHei", "Microsoft YaHei", "PingFang SC", "Droid Sans Fallback",
    "AR PL UMing CN", "AR PL UKai CN",
)
_DPI = 150
_PAGE_DATE = None  # PDF dates left out: the same run gives the same bytes


def find_cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs (matplotlib's font list), or ``None``.

    Returns
    -------
    str or None
        The first of :data:`CJK_FONT_NAMES` installed, else any family whose name says CJK
        (``CJK``, ``Hei``, ``Song``...), first by name; ``None`` when there is none.
    """
    from matplotlib import font_manager  # noqa: PLC0415 - matplotlib loads only when figures are drawn

    names = {f.name for f in font_manager.fontManager.ttflist}
    for wanted in CJK_FONT_NAMES:
        if wanted in names:
            return wanted
    for name in sorted(names):  # any other CJK family by its name
        if any(word in name for word in ("CJK", "Hei", "Song", "Ming", "Kai", "WenQuanYi")):
            return name
    return None


def figure_font(lang: str) -> str | None:
    """The font family figures in ``lang`` use: a CJK font (required for Chinese), else ``None``.

    Parameters
    ----------
    lang : {"zh", "en"}
        The figures' language.

    Returns
    -------
    str or None
        The CJK family (:func:`find_cjk_font`), also used for English when installed;
        ``None`` for English without one (matplotlib's DejaVu Sans is used).

    Raises
    ------
    MapAssetError
        ``lang == "zh"`` and no CJK font is installed (the message names what to install).
    """
    check_lang(lang)
    font = find_cjk_font()
    if font is None and lang == "zh":
        raise MapAssetError(f"--figures: {figure_text('no_cjk_font', 'en')}")
    return font


@contextlib.contextmanager
def figure_style(font: str | None) -> Iterator[None]:
    """Draw and save figures inside this block: the font, TrueType embedding, no PDF dates.

    Parameters
    ----------
    font : str or None
        The font family first tried (:func:`figure_font`); DejaVu Sans after it, or alone
        when ``None``.

    Yields
    ------
    None
        Inside the block matplotlib's settings are the figures'; restored after it.

    Examples
    --------
    >>> import matplotlib
    >>> with figure_style(None):
    ...     matplotlib.rcParams["pdf.fonttype"], matplotlib.rcParams["font.family"]
    (42, ['DejaVu Sans'])
    """
    import matplotlib  # noqa: PLC0415 - matplotlib loads only when figures are drawn

    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": family, "pdf.fonttype": 42, "ps.fonttype": 42,
                                "axes.unicode_minus": False, "svg.hashsalt": "lifecircle",
                                "path.simplify": True}):
        yield


def _metric(frame: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame | None:
    if frame is None:
        return None
    return frame.to_crs(crs) if frame.crs is not None and crs is not None and frame.crs != crs else frame


def _nice_length(width_m: float) -> float:
    """A round scale-bar length of at most a fifth of the map's width."""
    target = max(width_m / 5.0, 1.0)
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2.5, 2, 1):
        if step * power <= target:
            return step * power
    return power


def _scale_bar(ax: Any, *, extent: tuple[float, float, float, float], axes_width_mm: float) -> None:
    from matplotlib.patches import Rectangle  # noqa: PLC0415 - matplotlib loads only when figures are drawn

    xmin, ymin, xmax, ymax = extent
    width, height = xmax - xmin, ymax - ymin
    length = _nice_length(width)
    x0, y0, h = xmin + 0.03 * width, ymin + 0.035 * height, 0.008 * height
    for i in range(4):
        ax.add_patch(Rectangle((x0 + i * length / 4, y0), length / 4, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=10))
    unit = (lambda v: f"{v / 1000:g} km") if length >= 1000 else (lambda v: f"{v:g} m")
    for v in (0, length / 2, length):
        ax.text(x0 + v, y0 + 1.8 * h, unit(v) if v else "0", ha="center", va="bottom", fontsize=8, zorder=10)
    scale = width / (axes_width_mm / 1000.0)
    ax.text(x0, y0 - 0.9 * h, f"1:{round(scale, -int(math.floor(math.log10(scale))) + 1):,.0f}", ha="left",
            va="top", fontsize=8, zorder=10)


def _north_arrow(ax: Any, label: str) -> None:
    ax.annotate("", xy=(0.965, 0.93), xytext=(0.965, 0.86), xycoords="axes fraction", zorder=10,
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 4, "headwidth": 12, "headlength": 12})
    ax.text(0.965, 0.94, label, transform=ax.transAxes, ha="center", va="bottom", fontsize=14, zorder=10)


def _grid_image(ax: Any, centres: np.ndarray, fills: np.ndarray, size: float) -> None:
    """Square cells of one grid as one image, each pixel a cell (empty where there is none)."""
    from matplotlib.colors import to_rgba_array  # noqa: PLC0415 - matplotlib loads only when figures are drawn

    x0, y0 = centres.min(axis=0)
    col = np.rint((centres[:, 0] - x0) / size).astype(np.int64)
    row = np.rint((centres[:, 1] - y0) / size).astype(np.int64)
    image = np.zeros((int(row.max()) + 1, int(col.max()) + 1, 4))
    image[row, col] = to_rgba_array(list(fills))
    half = size / 2.0
    ax.imshow(image, origin="lower", interpolation="nearest", zorder=1,
              extent=(x0 - half, x0 + half + col.max() * size, y0 - half, y0 + half + row.max() * size))


def _own_bands(bands: Sequence[tuple[str, float]] | None) -> list[tuple[str, float, str]]:
    """A category's own thresholds as ``(label, upper minutes, colour)`` bands, as the map
    colours them: greens within each threshold, orange up to twice the largest, red beyond."""
    pairs = sorted(((str(n), float(m)) for n, m in bands or ()), key=lambda p: p[1])
    if not pairs:
        return []
    colours = [b.color for b in MINUTE_BANDS]
    out = [(f"≤ {n}", m, colours[min(i, 2)]) for i, (n, m) in enumerate(pairs)]
    last, most = pairs[-1]
    return [*out, (f"≤ 2 × {last}", 2 * most, colours[4]), (f"> 2 × {last}", float("inf"), colours[5])]


def _band_colours(minutes: np.ndarray, access: np.ndarray, no_data: bool,
                  own: Sequence[tuple[str, float, str]] = ()) -> np.ndarray:
    """Fill colour of each cell: its minute band (``own`` bands when given), unreachable,
    no access, or no data."""
    values = np.asarray(minutes, dtype=float)
    if own:  # within a threshold: at most it
        colours = np.array([c for _, _, c in own], dtype=object)
        band = np.searchsorted(np.array([m for _, m, _ in own[:-1]]), np.nan_to_num(values, nan=0.0), side="left")
    else:
        lows = np.array([b.low for b in MINUTE_BANDS])
        colours = np.array([b.color for b in MINUTE_BANDS], dtype=object)
        band = np.clip(np.searchsorted(lows, np.nan_to_num(values, nan=0.0), side="right") - 1, 0, len(lows) - 1)
    out = colours[band]
    out[~np.isfinite(values)] = NO_DATA_COLOR if no_data else UNREACHABLE_COLOR
    out[~np.asarray(access, dtype=bool)] = NO_ACCESS_COLOR
    return out


def category_figure(  # noqa: PLR0913 - one page holds all of these, each keyword-only
    *,
    cells: gpd.GeoDataFrame,
    minutes: np.ndarray,
    access: np.ndarray,
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    colour: str = "#08519c",
    lang: str = "zh",
    title: str,
    subtitle: str = "",
    notes: Sequence[str] = (),
    no_data: bool = False,
    cell_size: float | None = None,
    bands: Sequence[tuple[str, float]] | None = None,
) -> Any:
    """A3 landscape map of one category's walking times, ready to print.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Cell polygons in a metric CRS (the run's); drawn in that CRS.
    minutes, access : numpy.ndarray
        Per cell: minutes to the category (NaN unreachable) and whether it joins the network.
    units : geopandas.GeoDataFrame
        Unit outlines with a ``name`` column (drawn and labelled).
    facilities : geopandas.GeoDataFrame
        The category's facilities.
    sites : geopandas.GeoDataFrame, optional
        Suggested sites with a ``label`` column (园1, P1...).
    colour : str
        The category's colour (the catalogue's).
    lang : {"zh", "en"}
    title, subtitle : str
    notes : sequence of str
        Lines at the foot of the side panel: data sources, completeness, attribution.
    no_data : bool
        The category has no facility in the data (said in the legend).
    cell_size : float, optional
        The cells are squares of this size on one grid: drawn as one image (fast, and one
        crisp image in the PDF) instead of one polygon each.
    bands : sequence of (str, float), optional
        The category's own thresholds, ``(label, minutes)``: its cells and legend are
        banded by them (as on the map) instead of the fixed minute bands.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib loads only when figures are drawn

    check_lang(lang)
    crs = cells.crs
    if crs is not None and crs.is_geographic:
        crs = cells.estimate_utm_crs()
        cells = cells.to_crs(crs)
    units, facilities, sites = _metric(units, crs), _metric(facilities, crs), _metric(sites, crs)
    fig = Figure(figsize=A3_LANDSCAPE_INCHES, dpi=_DPI)
    left, bottom, width, height = 0.03, 0.05, 0.70, 0.84
    ax = fig.add_axes((left, bottom, width, height))
    fig.text(0.03, 0.965, title, fontsize=24, va="top")
    if subtitle:
        fig.text(0.03, 0.918, subtitle, fontsize=12, va="top", color="#333333")
    own = _own_bands(bands)
    _draw_layers(ax, cells, _band_colours(minutes, access, no_data, own), cell_size=cell_size, units=units,
                 facilities=facilities, sites=sites, colour=colour)
    _frame(fig, ax, [cells, units, facilities, sites], width=width, height=height, lang=lang)
    fig.legend(handles=_legend_handles(colour=colour, no_data=no_data, with_sites=sites is not None and len(sites) > 0,
                                       lang=lang, own=own),
               loc="upper left", bbox_to_anchor=(0.76, 0.89), frameon=False, fontsize=11,
               title=figure_text("legend_minutes", lang), title_fontsize=12, alignment="left")
    fig.text(0.76, 0.05, "\n".join(_wrap(n, 30 if lang == "zh" else 58) for n in notes if n), fontsize=9, va="bottom",
             color="#333333", linespacing=1.5)
    return fig


def _draw_layers(ax: Any, cells: gpd.GeoDataFrame, fills: np.ndarray, *, cell_size: float | None,
                 units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None,
                 colour: str) -> None:
    """The cells, unit outlines, facilities, numbered sites and unit names, bottom to top."""
    if cell_size is not None and len(cells):
        _grid_image(ax, shapely.get_coordinates(cells.geometry.centroid.to_numpy()), fills, cell_size)
    else:
        cells.plot(ax=ax, color=list(fills), linewidth=0)
    units.boundary.plot(ax=ax, color="#222222", linewidth=1.0)
    if len(facilities):
        points = facilities.geometry.representative_point()
        ax.scatter(points.x, points.y, s=60, marker="o", facecolor=colour, edgecolor="white", linewidth=1.2, zorder=6)
    if sites is not None and len(sites):
        points = sites.geometry.representative_point()
        ax.scatter(points.x, points.y, s=130, marker="*", facecolor="#e31a1c", edgecolor="black", linewidth=0.6,
                   zorder=7)
        for x, y, label in zip(points.x, points.y, sites["label"].astype(str)):
            ax.annotate(label, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=10,
                        zorder=8, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#e31a1c", "lw": 0.6})
    for name, point in zip(units["name"].astype(str), units.geometry.representative_point()):
        ax.text(point.x, point.y, name, fontsize=7, ha="center", va="center", color="#111111", zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})


def _frame(fig: Any, ax: Any, frames: list[gpd.GeoDataFrame | None], *, width: float, height: float,
           lang: str) -> None:
    """Fit the map to everything drawn, without ticks, and add the scale bar and north arrow."""
    bounds = np.array([f.total_bounds for f in frames if f is not None and len(f)])
    xmin, ymin = (float(v) for v in np.nanmin(bounds[:, :2], axis=0))
    xmax, ymax = (float(v) for v in np.nanmax(bounds[:, 2:], axis=0))
    pad = 0.03 * max(xmax - xmin, ymax - ymin, 1.0)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.canvas.draw_idle()
    # The axes keep the map's aspect inside their box: the scale is the wider of the two fits.
    xl, yl = ax.get_xlim(), ax.get_ylim()
    fit = max((xl[1] - xl[0]) / (width * 420.0), (yl[1] - yl[0]) / (height * 297.0))  # metres per mm
    _scale_bar(ax, extent=(xl[0], yl[0], xl[1], yl[1]), axes_width_mm=(xl[1] - xl[0]) / fit)
    _north_arrow(ax, figure_text("north", lang))


def _legend_handles(*, colour: str, no_data: bool, with_sites: bool, lang: str,
                    own: Sequence[tuple[str, float, str]] = ()) -> list[Any]:
    """The legend's entries: the minute bands, unreachable or no data, no access, units, facilities, sites."""
    from matplotlib.lines import Line2D  # noqa: PLC0415 - matplotlib loads only when figures are drawn
    from matplotlib.patches import Patch  # noqa: PLC0415 - matplotlib loads only when figures are drawn

    bands = [(n, c) for n, _, c in own] or [(b.label(), b.color) for b in MINUTE_BANDS]
    handles: list[Any] = [Patch(facecolor=c, edgecolor="none", label=n) for n, c in bands]
    handles += [Patch(facecolor=NO_DATA_COLOR if no_data else UNREACHABLE_COLOR, edgecolor="none",
                      label=figure_text("no_data" if no_data else "unreachable", lang)),
                Patch(facecolor=NO_ACCESS_COLOR, edgecolor="none", label=figure_text("no_access", lang)),
                Patch(facecolor="none", edgecolor="#222222", label=figure_text("units", lang)),
                Line2D([], [], marker="o", linestyle="none", markersize=9, markerfacecolor=colour,
                       markeredgecolor="white", label=figure_text("facilities", lang))]
    if with_sites:
        handles.append(Line2D([], [], marker="*", linestyle="none", markersize=13, markerfacecolor="#e31a1c",
                              markeredgecolor="black", label=figure_text("sites", lang)))
    return handles


def _wrap(text: str, width: int) -> str:
    """Lines of at most ``width`` characters (Chinese has no spaces to break at)."""
    out: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line = ""
        for word in paragraph.split(" ") if " " in paragraph else list(paragraph):
            joiner = " " if " " in paragraph and line else ""
            if len(line) + len(joiner) + len(word) > width and line:
                out.append(line)
                line = word
            else:
                line = f"{line}{joiner}{word}"
        out.append(line)
    return "\n".join(out)


def share_chart(shares: pd.DataFrame, *, colours: Mapping[str, str], lang: str = "zh", title: str,
                note: str = "", target: float | None = None) -> Any:
    """A3 landscape bar chart: per unit (rows of ``shares``) the share of people of each category.

    Parameters
    ----------
    shares : pandas.DataFrame
        Index: unit names (drawn top to bottom in this order); columns: category labels;
        values: shares 0–1 (NaN: no data, no bar).
    colours : mapping
        Colour of each column.
    lang : {"zh", "en"}
    title, note : str
    target : float, optional
        A share to mark with a line (the coverage target).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib loads only when figures are drawn
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415 - matplotlib loads only when figures are drawn

    check_lang(lang)
    fig = Figure(figsize=A3_LANDSCAPE_INCHES, dpi=_DPI)
    n_units, n_cats = shares.shape
    ax = fig.add_axes((0.22, 0.08, 0.74, 0.80))
    fig.text(0.03, 0.965, title, fontsize=22, va="top")
    if note:
        fig.text(0.03, 0.025, note, fontsize=9, color="#333333", va="bottom")
    bar = 0.8 / max(n_cats, 1)
    rows = np.arange(n_units)
    for j, column in enumerate(shares.columns):
        values = shares[column].to_numpy(dtype=float)
        ys = rows - 0.4 + bar * (j + 0.5)
        ax.barh(ys, np.nan_to_num(values), height=bar, color=colours.get(column, "#777777"), label=str(column))
        if n_units * n_cats <= 160:  # the value at each bar while they stay readable
            for y, v in zip(ys, values):
                if np.isfinite(v):
                    ax.text(min(v, 0.93) + 0.005, y, f"{v:.0%}", va="center", fontsize=8, color="#222222")
    if target is not None:
        ax.axvline(target, color="#444444", linestyle="--", linewidth=1)
    ax.set_yticks(rows, [str(v) for v in shares.index], fontsize=max(5, min(11, int(600 / max(n_units, 1)))))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(figure_text("share_axis", lang), fontsize=11)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if any(str(c) for c in shares.columns):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.06), ncol=max(1, min(n_cats, 6)), frameon=False,
                  fontsize=11)
    return fig


def save_figure(fig: Any, path: str | Path, *, title: str = "") -> Path:
    """Write ``fig`` as PNG or PDF (by the suffix), without dates, so the same figure gives the same file.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure of :func:`category_figure` or :func:`share_chart`.
    path : str or Path
        The file; ``.pdf`` (any case) writes a PDF, any other suffix a PNG at 150 dpi.
    title : str, optional
        The document title stored in the file's metadata (none when empty, for PNG).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        metadata: dict[str, Any] = {"Title": title, "Creator": "lifecircle", "Producer": None,
                                    "CreationDate": _PAGE_DATE, "ModDate": _PAGE_DATE}
        fig.savefig(path, format="pdf", metadata=metadata)
    else:
        fig.savefig(path, format="png", dpi=_DPI, metadata={"Software": None, "Title": title or None})
    return path
