"""User YAML files (catalogue, profiles, standards): plain YAML only, bounded messages."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lifecircle._errors import CatalogueError, StandardsError, plain_number, shorten
from lifecircle.layers.catalogue import load_catalogue
from lifecircle.layers.profiles import load_profiles
from lifecircle.layers.standards import load_standard

#: "Billion laughs": nine levels of nine aliases expand to 9**9 strings.
BOMB = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
)


def _bomb_in(path: Path, body: str, where: str) -> Path:
    """``body`` with the bomb's anchors defined at the top and its last alias at ``where``."""
    path.write_text("x-bomb:\n" + "\n".join("  " + line for line in BOMB.splitlines()) + "\n"
                    + body.replace(where, "*a8"), encoding="utf-8")
    return path


CATEGORY = """categories:
  library:
    label_zh: 图书馆
    label_en: Library
    colour: "#112233"
    rules:
      - amenity: library
    description: HERE
"""
PROFILE = """profiles:
  frail:
    base: elderly
    flat_speed_kmh: 2.5
    sources: HERE
"""


def test_billion_laughs_in_a_catalogue_description_is_refused_at_once(tmp_path: Path) -> None:
    path = _bomb_in(tmp_path / "bomb.yaml", CATEGORY, "HERE")
    start = time.perf_counter()
    with pytest.raises(CatalogueError, match=r"bomb\.yaml.*anchors and aliases .* not accepted.*line 2") as info:
        load_catalogue(extra=path)
    assert time.perf_counter() - start < 2
    assert len(str(info.value)) < 400


def test_billion_laughs_in_profile_sources_is_refused_at_once(tmp_path: Path) -> None:
    path = _bomb_in(tmp_path / "bomb.yaml", PROFILE, "HERE")
    start = time.perf_counter()
    with pytest.raises(CatalogueError, match=r"Profile catalogue .*bomb\.yaml.*anchors and aliases"):
        load_profiles(extra=path)
    assert time.perf_counter() - start < 2


def test_a_single_alias_is_refused_in_a_standard(tmp_path: Path) -> None:
    path = tmp_path / "std.yaml"
    path.write_text("id: &x mine\ncode: *x\n", encoding="utf-8")
    with pytest.raises(StandardsError, match=r"std\.yaml.*anchors and aliases.*line 1"):
        load_standard(path)


def test_python_tags_and_huge_files_are_refused(tmp_path: Path) -> None:
    tagged = tmp_path / "tag.yaml"
    tagged.write_text("categories: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load_catalogue(extra=tagged)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 3_000_000 + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="bytes"):
        load_catalogue(extra=big)


def test_bundled_files_still_load() -> None:
    assert {"clinic", "school", "park"} <= set(load_catalogue().names)
    assert list(load_profiles())[:3] == ["adult", "elderly", "wheelchair"]
    assert load_standard("gb50180").id


def test_a_user_catalogue_merges_over_the_bundled_one(tmp_path: Path) -> None:
    from lifecircle.pipeline import RunOptions, validate_options

    mine = tmp_path / "mine.yaml"
    mine.write_text(CATEGORY.replace("HERE", "books"), encoding="utf-8")
    opts = validate_options(RunOptions(catalogue=mine, categories=("library", "clinic", "market")))
    assert opts.categories == ("library", "clinic", "market")  # new one and bundled ones together


def test_brief_bounds_every_value() -> None:
    assert shorten("x" * 10_000).endswith("...") and len(shorten("x" * 10_000)) == 80
    nested: list = ["lol"] * 9
    for _ in range(8):
        nested = [nested] * 9  # 9**9 leaves, shared: repr would never finish
    assert len(shorten(nested)) <= 80
    import numpy as np

    assert shorten(np.float64(2.5)) == "2.5" and shorten(np.float64("inf")) == "infinity"
    assert plain_number(np.float64(1e308)) == "1e+308" and plain_number(np.int64(7)) == "7"
    assert plain_number(float("nan")) == "NaN" and plain_number(12.0) == "12"
