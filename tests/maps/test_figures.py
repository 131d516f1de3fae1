"""Print-ready report figures: A3 PNG and PDF per category and a chart of shares, offline."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from lifecircle._errors import MapAssetError
from lifecircle.maps import figures as figs

A3_POINTS = (420 / 25.4 * 72, 297 / 25.4 * 72)


def _unescape(raw: bytes) -> bytes:
    """A PDF literal string's bytes (backslash escapes resolved)."""
    out, i = bytearray(), 0
    simple = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):
            n = raw[i + 1]
            if n in simple:
                out += simple[n]
                i += 2
            elif 0x30 <= n <= 0x37:
                m = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
                out.append(int(m.group(0), 8) & 0xFF)  # type: ignore[union-attr]
                i += 1 + len(m.group(0))  # type: ignore[union-attr]
            else:
                out.append(n)
                i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def pdf_text(path: Path) -> str:
    """The text a PDF of matplotlib (TrueType, two-byte Unicode codes) shows, one line per TJ/Tj."""
    data = path.read_bytes()
    lines = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for array in re.findall(rb"\[((?:\((?:\\.|[^\\)])*\)|[^\]])*)\]\s*TJ", content, re.S):
            parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)", array, re.S)
            lines.append("".join(_unescape(p).decode("utf-16-be", errors="replace") for p in parts))
        for single in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
            lines.append(_unescape(single).decode("utf-16-be", errors="replace"))
    return "\n".join(lines)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def pdf_media_box(path: Path) -> tuple[float, float]:
    box = re.search(rb"/MediaBox \[ ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) \]", path.read_bytes())
    assert box is not None
    return float(box.group(3)), float(box.group(4))


@pytest.fixture(scope="module")
def figure_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small network run with --figures (Chinese), with one suggested site per category."""
    if figs.find_cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-wqy-microhei): Chinese figures cannot be drawn")
    import lifecircle
    from lifecircle.outputs import write_outputs
    from lifecircle.planning import plan
    from lifecircle.testing import small_network_file

    result = lifecircle.run(osm=small_network_file(), categories=["clinic", "school"], progress=False)
    out = tmp_path_factory.mktemp("figures")
    write_outputs(result, out, lang="zh", figures=True, write_map=False,
                  plan=plan(result, suggest_count=1))
    return out


def test_every_figure_is_written_on_a3(figure_set: Path) -> None:
    names = sorted(p.name for p in figure_set.glob("figure_*"))
    assert names == sorted(f"figure_{s}.{e}" for s in ("clinic", "school", "shares") for e in ("png", "pdf"))
    import json

    listed = json.loads((figure_set / "run.json").read_text(encoding="utf-8"))["outputs"]
    assert set(names) <= set(listed)  # part of the output set: replaced with it
    for name in names:
        path = figure_set / name
        if name.endswith(".png"):
            w, h = png_size(path)
            assert (w, h) == (round(A3_POINTS[0] / 72 * 150), round(A3_POINTS[1] / 72 * 150) - 1) or \
                abs(w / 150 * 25.4 - 420) < 0.5 and abs(h / 150 * 25.4 - 297) < 0.5
        else:
            w, h = pdf_media_box(path)
            assert abs(w - A3_POINTS[0]) < 0.01 and abs(h - A3_POINTS[1]) < 0.01


def test_pdf_text_holds_the_chinese_title_legend_and_site_label(figure_set: Path) -> None:
    text = pdf_text(figure_set / "figure_clinic.pdf")
    assert "诊所/医疗：步行15分钟可达性" in text
    assert "步行时间（分钟）" in text and "北" in text
    school = pdf_text(figure_set / "figure_school.pdf")
    # Every clinic cell is served already; the school's suggested site is numbered with the
    # catalogue's short label.
    assert "建议新址" in school and "学1" in school and "建议新址" not in text
    assert "数据来源" in text and "OpenStreetMap" in text and "数据完整性" in text
    assert "片区" in text  # the unit's name on the map
    shares = pdf_text(figure_set / "figure_shares.pdf")
    assert "各单元15分钟步行可达人口比例" in shares and "学校" in shares


def test_figures_are_deterministic(tmp_path: Path) -> None:
    import geopandas as gpd
    import numpy as np
    import shapely

    cells = gpd.GeoDataFrame(geometry=[shapely.box(x, y, x + 100, y + 100) for x in range(0, 500, 100)
                                       for y in range(0, 300, 100)], crs=32648)
    units = gpd.GeoDataFrame({"name": ["解放碑片区"]}, geometry=[shapely.box(0, 0, 500, 300)], crs=32648)
    facilities = gpd.GeoDataFrame(geometry=[shapely.Point(50, 50)], crs=32648)
    minutes = np.linspace(0, 40, len(cells))
    minutes[3] = np.nan
    access = np.ones(len(cells), bool)
    access[4] = False
    font = figs.find_cjk_font()
    outputs = []
    for run in range(2):
        with figs.figure_style(font):
            fig = figs.category_figure(cells=cells, minutes=minutes, access=access, units=units, facilities=facilities,
                                       lang="en" if font is None else "zh", title="T 公园", notes=["数据来源"],
                                       cell_size=100.0)
            for ext in ("png", "pdf"):
                outputs.append(figs.save_figure(fig, tmp_path / f"{run}.{ext}", title="T").read_bytes())
    assert outputs[0] == outputs[2]
    assert outputs[1] == outputs[3]
    assert b"CreationDate" not in outputs[1]


def test_no_cjk_font_is_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(figs, "find_cjk_font", lambda: None)
    with pytest.raises(MapAssetError, match="fonts-wqy-microhei"):
        figs.figure_font("zh")
    assert figs.figure_font("en") is None  # English figures draw with matplotlib's own font
    from lifecircle.scripts.cli import main

    assert main(["run", "--figures", "--out", str(tmp_path / "x"), "-q"]) == 2
    assert main(["run", "--figures", "--lang", "en", "--out", str(tmp_path / "y"), "--osm",
                 str(tmp_path / "missing.pbf"), "-q"]) == 2  # English passes the font check, stops at --osm


def test_run_refuses_figures_without_font_before_the_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(figs, "find_cjk_font", lambda: None)
    from lifecircle.scripts.cli import main

    assert main(["run", "--osm", str(tmp_path / "missing.osm.pbf"), "--figures", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--figures" in err and "fonts-wqy-microhei" in err  # the font, not the missing OSM file, first


def test_own_thresholds_band_the_cells_and_the_legend(tmp_path: Path) -> None:
    import geopandas as gpd
    import numpy as np
    import shapely

    from lifecircle.maps.style import MINUTE_BANDS, NO_ACCESS_COLOR, UNREACHABLE_COLOR

    own = figs._own_bands([("10min", 10.0), ("300m", 5.0)])  # given out of order
    minutes = np.array([0.0, 5.0, 5.1, 10.0, 20.0, 20.5, np.nan, 3.0])
    access = np.array([True] * 7 + [False])
    green1, green2, _, _, orange, red = (b.color for b in MINUTE_BANDS)
    assert list(figs._band_colours(minutes, access, False, own)) == [
        green1, green1, green2, green2, orange, red, UNREACHABLE_COLOR, NO_ACCESS_COLOR]
    # Without thresholds of its own the fixed minute bands: 5 minutes is in the 5-10 band.
    assert figs._band_colours(minutes, access, False)[1] == green2
    cells = gpd.GeoDataFrame(geometry=[shapely.box(x, 0, x + 100, 100) for x in range(0, 800, 100)], crs=32648)
    units = gpd.GeoDataFrame({"name": ["Area"]}, geometry=[shapely.box(0, 0, 800, 100)], crs=32648)
    facilities = gpd.GeoDataFrame(geometry=[shapely.Point(50, 50)], crs=32648)
    with figs.figure_style(None):
        fig = figs.category_figure(cells=cells, minutes=minutes, access=access, units=units, facilities=facilities,
                                   lang="en", title="Parks", cell_size=100.0, bands=[("10min", 10.0), ("300m", 5.0)])
        text = pdf_text(figs.save_figure(fig, tmp_path / "own.pdf", title="Parks"))
    for entry in ("≤ 300m", "≤ 10min", "≤ 2 × 10min", "> 2 × 10min"):
        assert entry in text
    assert "0–5" not in text
