"""Text from data that looks like a template (Jinja's ``{{ }}``, ``{% %}``, ``{# #}``) is
written into the map as it is: never compiled, never executed, never a crash."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lifecircle._errors import MapAssetError
from lifecircle.maps import build as build_mod
from lifecircle.maps import build_map, save_map
from lifecircle.schema import minutes_column

_DATA_RE = re.compile(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', re.S)

MATH = "{{ 7*7 }}"
LOOP = "{% for x in range(3) %}loop{% endfor %}"
OPEN_LOOP = "{% for %}"
COMMENT = "{# x"
MARKERS = "<!--lifecircle:head--> /*lifecircle:script*/ <!--lifecircle:body-->"


def _exec_payload(target: Path) -> str:
    """Template text that would create ``target`` if anything compiled and ran it."""
    return "{{ lipsum.__globals__.os.mkdir('" + str(target) + "') }}"


@pytest.fixture()
def hostile(map_inputs: dict, tmp_path: Path) -> tuple[dict, list[Path]]:
    """The synthetic inputs with template text in every place data text reaches the map."""
    targets = [tmp_path / f"pwned{i}" for i in range(4)]
    fac = map_inputs["facilities"]
    fac.loc[0, "name"] = MATH
    fac.loc[1, "name"] = _exec_payload(targets[0])
    fac.loc[2, "name"] = COMMENT
    comm = map_inputs["communities"]
    comm.loc[0, "name"] = _exec_payload(targets[1])
    comm.loc[1, "name"] = OPEN_LOOP
    cells = map_inputs["cells"]
    cells["community"] = [OPEN_LOOP if c not in set(map_inputs["communities"]["name"]) else c for c in cells["community"]]
    # A user's category (as a user catalogue may name one) with a template-like name.
    map_inputs["categories"] = ["clinic", "school", LOOP]
    cells[minutes_column(LOOP)] = 5.0
    map_inputs["facilities"] = pd.concat([fac, fac.iloc[[2]].assign(category=LOOP, name=MARKERS)], ignore_index=True)
    summary = map_inputs["summary"]
    summary["study_area"] = f"{MATH} {_exec_payload(targets[2])}"
    summary["population_source"] = COMMENT
    summary["data_sources"] = [*summary["data_sources"], _exec_payload(targets[3]), LOOP]
    return map_inputs, targets


def _data(page: str) -> dict:
    blocks = _DATA_RE.findall(page)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_template_text_is_written_literally_and_never_run(hostile: tuple[dict, list[Path]], tmp_path: Path) -> None:
    inputs, targets = hostile
    out = tmp_path / "map.html"
    save_map(build_map(**inputs), out)  # "{# x" used to stop the run here
    page = out.read_text(encoding="utf-8")
    assert not any(t.exists() for t in targets), "template text from data was executed"
    data = _data(page)
    popups = [f["properties"]["html"] for f in data["facilities"]["features"]]
    assert any(f">{MATH}<" in p for p in popups)
    assert any(f">{COMMENT}<" in p for p in popups)
    assert any("{{ lipsum.__globals__.os.mkdir(&#x27;" in p for p in popups)
    assert any(MARKERS.replace("<", "&lt;").replace(">", "&gt;") in p for p in popups)
    assert [f["properties"]["n"] for f in data["communities"]["features"]] == [
        _exec_payload(targets[1]),
        OPEN_LOOP,
    ]
    assert data["categories"][2]["label"] == LOOP
    assert MATH in data["summaryHtml"] and COMMENT in data["summaryHtml"] and LOOP in data["summaryHtml"]
    assert any(LOOP in a for a in data["attributions"])
    assert f"<title>15分钟生活圈步行可达性 · {MATH} {{{{ lipsum" in page
    assert "looplooploop" not in page  # the loop never ran
    # Each marker was replaced exactly once; the data's copies of them stay in the data block.
    block = _DATA_RE.search(page)
    outside = page[: block.start()] + page[block.end() :]
    assert not re.search(r"lifecircle:(title|meta|head|body|script)", outside)
    assert block.group(1).count("/*lifecircle:script*/") == 1


def test_the_frame_folium_renders_holds_no_data(hostile: tuple[dict, list[Path]]) -> None:
    # The page's frame (before the data and scripts go in) is the same for any data text.
    inputs, _ = hostile
    m = build_map(**inputs)
    frame = build_mod.Figure.render(m.get_root())
    for text in (MATH, COMMENT, OPEN_LOOP, "lipsum", "lifecircle-data"):
        assert text not in frame
    for marker in (build_mod._TITLE_MARK, build_mod._META_MARK, build_mod._HEAD_MARK, build_mod._BODY_MARK, build_mod._SCRIPT_MARK):
        assert frame.count(marker) == 1


def test_missing_or_repeated_marker_is_an_error() -> None:
    inserts = {"<!--a-->": "A", "<!--b-->": "B"}
    assert build_mod._fill("x<!--a-->y<!--b-->z", inserts) == "xAyBz"
    assert build_mod._fill("<!--b--><!--a-->", {"<!--a-->": "<!--b-->", "<!--b-->": "<!--a-->"}) == "<!--a--><!--b-->"
    with pytest.raises(MapAssetError, match="markers"):
        build_mod._fill("x<!--a-->y", inserts)
    with pytest.raises(MapAssetError, match="markers"):
        build_mod._fill("<!--a--><!--a--><!--b-->", inserts)


def test_page_script_and_styles_come_from_package_files() -> None:
    from importlib import resources

    static = resources.files("lifecircle.maps").joinpath("static")
    js = static.joinpath("lifecircle.js").read_text(encoding="utf-8")
    css = static.joinpath("lifecircle.css").read_text(encoding="utf-8")
    assert "__MAP__" in js and "lifecircle-data" in js
    assert ".lc-popup-title" in css
    assert build_mod._static_text("lifecircle.js") == js
    with pytest.raises(MapAssetError, match="nope.js"):
        build_mod._static_text("nope.js")


def test_page_files_are_declared_as_package_data() -> None:
    # A non-editable install ships only declared data files: every file in maps/static must be.
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"]["lifecircle.maps"] == "maps"
    patterns = config["package-data"]["lifecircle.maps"]
    files = sorted(p.relative_to(root / "maps").as_posix() for p in (root / "maps" / "static").iterdir())
    assert files == ["static/lifecircle.css", "static/lifecircle.js"]
    assert all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files)
