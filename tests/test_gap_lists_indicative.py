"""The gap lists say when the terrain results are indicative (the DEM failed the plausibility check)."""

from __future__ import annotations

import pandas as pd

from lifecircle.i18n import INDICATIVE_TEXT
from lifecircle.outputs import mark_indicative


def test_gap_lists_name_the_indicative_walkers_in_their_language() -> None:
    table = pd.DataFrame({"rank": [1, 2], "people": [10.0, 5.0]})
    en = mark_indicative(table, ["elderly", "wheelchair"], lang="en")
    assert list(en.columns) == ["rank", "people", "terrain_indicative"]
    assert en["terrain_indicative"].tolist() == ["elderly, wheelchair"] * 2
    zh = mark_indicative(table, ["elderly", "wheelchair"], lang="zh")
    assert zh[INDICATIVE_TEXT["zh"]["header"]].tolist() == ["老年人、轮椅使用者"] * 2
    assert list(table.columns) == ["rank", "people"]  # input unchanged


def test_a_plausible_dem_leaves_the_lists_as_they_were() -> None:
    table = pd.DataFrame({"rank": [1]})
    assert mark_indicative(table, [], lang="en") is table
    empty = mark_indicative(table.iloc[:0], ["elderly"], lang="en")
    assert list(empty.columns) == ["rank", "terrain_indicative"] and len(empty) == 0
