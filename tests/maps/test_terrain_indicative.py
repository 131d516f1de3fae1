"""The map says when the DEM does not fit the streets (elderly and wheelchair shares indicative)."""

from __future__ import annotations

import json
import re

from lifecircle.maps import build_map

_DATA_RE = re.compile(r'<script type="application/json" id="lifecircle-data">(.*?)</script>', re.S)


def _summary_html(inputs: dict, **kw: object) -> str:
    page = build_map(**inputs, **kw).get_root().render()
    return json.loads(_DATA_RE.findall(page)[0])["summaryHtml"]


def test_indicative_note_only_when_the_dem_is_implausible(full_inputs: dict) -> None:
    assert "仅供参考" not in _summary_html(full_inputs)
    flagged = dict(full_inputs, summary=dict(full_inputs["summary"], terrain_indicative=["elderly", "wheelchair"]))
    assert "老年人与轮椅结果仅供参考" in _summary_html(flagged)
    assert "elderly and wheelchair shares are indicative" in _summary_html(flagged, lang="en")
