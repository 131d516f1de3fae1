"""The Examples sections of the public entry points run as doctests on lifecircle.testing's network."""

from __future__ import annotations

import doctest
import importlib

import pytest

#: Modules whose docstrings carry Examples.
MODULES = [
    "lifecircle.pipeline",
    "lifecircle.model",
    "lifecircle.tables",
    "lifecircle.options",
    "lifecircle.testing",
    "lifecircle.layers.facilities",
    "lifecircle.spatial.access",
    "lifecircle.spatial.area",
    "lifecircle.spatial.scenarios",
    "lifecircle.layers.thresholds",
    "lifecircle.layers.units",
    "lifecircle.layers.indicators",
    "lifecircle.spatial.hierarchy",
    "lifecircle.publish",
    "lifecircle.layers.open_land",
    "lifecircle.spatial.small_sites",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see output above)"
